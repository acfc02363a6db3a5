/* SPDX-License-Identifier: MIT */
/* Access to one target core, whatever drives it: lode's Cortex-M layer over ADIv5 (CMSIS-DAP),
 * a probe's own high-level commands (ST-Link, GDB remote), or the simulator's back door. The
 * flash runner, `lode run` and the debugger use only this. Register numbers are DCRSR.REGSEL
 * (0-12, 13 SP, 14 LR, 15 PC, 16 xPSR, 17 MSP, 18 PSP, 20 CONTROL/FAULTMASK/BASEPRI/PRIMASK,
 * 33 FPSCR, 64-95 S0-S31). */
#ifndef LODE_CORE_H
#define LODE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_core_state_s {
    bool halted;
    bool lockup;
    bool sleeping;
    uint32_t dfsr;      /* debug fault status: why it halted (BKPT 0x2, HALTED 0x1, DWTTRAP 0x4, VCATCH 0x8) */
    bool exited;        /* the program is gone (a GDB server's 'W'): nothing runs any more */
    int exit_code;      /* its exit status then */
} lode_core_state_s;

/* One run of aligned 32-bit words for the pipelined memory operations. */
typedef struct lode_mem_op_s {
    uint32_t addr;   /* 4-byte aligned */
    uint32_t *words; /* read into / written from; valid until the unit is collected */
    uint32_t n;
    bool write;
} lode_mem_op_s;

typedef struct lode_core_ops_s {
    int (*halt)(void *ctx);
    int (*resume)(void *ctx); /* also clears the recorded halt reason (DFSR) */
    int (*step)(void *ctx);
    int (*state)(void *ctx, lode_core_state_s *st);
    int (*reg_read)(void *ctx, unsigned regsel, uint32_t *val);
    int (*reg_write)(void *ctx, unsigned regsel, uint32_t val);
    /* optional (may be NULL): several registers in one round trip */
    int (*regs_read)(void *ctx, const unsigned *regsel, uint32_t *vals, size_t n);
    int (*regs_write)(void *ctx, const unsigned *regsel, const uint32_t *vals, size_t n);
    /* optional: write registers and resume in as few round trips as the probe allows */
    int (*resume_regs)(void *ctx, const unsigned *regsel, const uint32_t *vals, size_t n);
    int (*mem_read)(void *ctx, uint32_t addr, void *buf, size_t len);
    int (*mem_write)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /* system reset; with halt: stop at the reset vector (vector catch) */
    int (*reset)(void *ctx, bool halt);
    /* optional: reset and halt as reset(ctx, true), then n (at most 32) word writes
     * w[i] = {address, value} in order, only once the halt was reached, in as few probe round
     * trips as the probe allows (with the reset's own clean-up) */
    int (*reset_halt_writes)(void *ctx, const uint32_t (*w)[2], size_t n);
    /* optional (NULL if the driver cannot): hardware breakpoints and data watchpoints
     * (kind: 1 read, 2 write, 3 access), and DEMCR vector catch bits (set, then clear) */
    int (*bp_set)(void *ctx, uint32_t addr);
    int (*bp_clear)(void *ctx, uint32_t addr);
    int (*wp_set)(void *ctx, uint32_t addr, uint32_t len, int kind);
    int (*wp_clear)(void *ctx, uint32_t addr);
    int (*vector_catch)(void *ctx, uint32_t set, uint32_t clear);
    /* optional (NULL if the probe cannot pipeline): streaming memory access. mem_submit sends
     * `n` word runs as one unit without waiting for it (a unit holds what one probe command
     * carries, about 100 words on a 512-byte CMSIS-DAP packet: LODE_E_RANGE beyond);
     * mem_collect waits for the oldest unit and returns its outcome (its read words are in
     * place then). At most mem_depth() units are outstanding (LODE_E_STATE beyond). Other
     * operations may be mixed in; they run after what was submitted. */
    int (*mem_submit)(void *ctx, const lode_mem_op_s *ops, size_t n);
    int (*mem_collect)(void *ctx);
    unsigned (*mem_depth)(void *ctx);
    /* with mem_submit: true when the probe does not keep units in flight but merges the
     * outstanding ones into one command at the first mem_collect (a bit-level probe such as
     * the J-Link): one large unit then does what several overlapping ones would */
    bool mem_merged;
    /* time: microseconds on the target's clock (virtual time for the simulator, a monotonic
     * clock for hardware), and a wait that lets that time pass */
    uint64_t (*now_us)(void *ctx);
    void (*delay_us)(void *ctx, uint32_t us);
    /* optional (NULL: r0-r12, sp, lr, pc, xpsr): the registers this core has, as a person reads
     * them (r0-r12, sp, lr, pc, xpsr, the special registers; then S0-S31 and FPSCR with an FPU).
     * Stores at most max, returns how many there are. */
    size_t (*reg_list)(void *ctx, unsigned *regsel, size_t max);
    void *ctx;
} lode_core_ops_s;

/* The registers of the core (ops->reg_list, else r0-r12, sp, lr, pc, xpsr): stores at most max,
 * returns how many there are. */
size_t lode_core_regs(const lode_core_ops_s *ops, unsigned *regsel, size_t max);
/* Reads n registers: in one round trip when the core can (regs_read), else one by one. */
int lode_core_regs_read(const lode_core_ops_s *ops, const unsigned *regsel, uint32_t *vals, size_t n);
/* A register's name ("r0", "sp", "primask", "s31", "fpscr"), or NULL */
const char *lode_core_reg_name(unsigned regsel);
/* true for the FP extension's registers (S0-S31, FPSCR) */
bool lode_core_reg_is_fp(unsigned regsel);

#ifdef __cplusplus
}
#endif
#endif
