/* SPDX-License-Identifier: MIT */
/* Cortex-M debug through a MEM-AP (ARMv7-M ARM DDI 0403E part C; ARMv6-M and ARMv8-M where
 * they agree): halt, resume, step, reset, core registers (DCRSR/DCRDR), FPB breakpoints, DWT
 * watchpoints and fault-status decoding.
 *
 * A lode_cortexm_s borrows its lode_adi_s (and log) until lode_cortexm_free(). It keeps the
 * breakpoint/watchpoint tables it programmed; anything else is read from the target. */
#ifndef LODE_CORTEXM_H
#define LODE_CORTEXM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/adi.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_cortexm_s lode_cortexm_s;

/* ---- architectural addresses and bits (DDI 0403E B3.2, C1.6) -------------------------- */
#define LODE_CM_CPUID 0xE000ED00u
#define LODE_CM_AIRCR 0xE000ED0Cu
#define LODE_CM_CFSR 0xE000ED28u
#define LODE_CM_HFSR 0xE000ED2Cu
#define LODE_CM_DFSR 0xE000ED30u
#define LODE_CM_MMFAR 0xE000ED34u
#define LODE_CM_BFAR 0xE000ED38u
#define LODE_CM_CPACR 0xE000ED88u
#define LODE_CM_DHCSR 0xE000EDF0u
#define LODE_CM_DCRSR 0xE000EDF4u
#define LODE_CM_DCRDR 0xE000EDF8u
#define LODE_CM_DEMCR 0xE000EDFCu
#define LODE_CM_MVFR0 0xE000EF40u
#define LODE_CM_FP_CTRL 0xE0002000u
#define LODE_CM_DWT_CTRL 0xE0001000u

#define LODE_CM_DHCSR_DBGKEY 0xA05F0000u
#define LODE_CM_DHCSR_C_DEBUGEN (1u << 0)
#define LODE_CM_DHCSR_C_HALT (1u << 1)
#define LODE_CM_DHCSR_C_STEP (1u << 2)
#define LODE_CM_DHCSR_C_MASKINTS (1u << 3)
#define LODE_CM_DHCSR_S_REGRDY (1u << 16)
#define LODE_CM_DHCSR_S_HALT (1u << 17)
#define LODE_CM_DHCSR_S_SLEEP (1u << 18)
#define LODE_CM_DHCSR_S_LOCKUP (1u << 19)
#define LODE_CM_DHCSR_S_RETIRE_ST (1u << 24)
#define LODE_CM_DHCSR_S_RESET_ST (1u << 25)

#define LODE_CM_DFSR_HALTED (1u << 0)
#define LODE_CM_DFSR_BKPT (1u << 1)
#define LODE_CM_DFSR_DWTTRAP (1u << 2)
#define LODE_CM_DFSR_VCATCH (1u << 3)
#define LODE_CM_DFSR_EXTERNAL (1u << 4)

#define LODE_CM_DEMCR_VC_CORERESET (1u << 0)
#define LODE_CM_DEMCR_VC_MMERR (1u << 4)
#define LODE_CM_DEMCR_VC_NOCPERR (1u << 5)
#define LODE_CM_DEMCR_VC_CHKERR (1u << 6)
#define LODE_CM_DEMCR_VC_STATERR (1u << 7)
#define LODE_CM_DEMCR_VC_BUSERR (1u << 8)
#define LODE_CM_DEMCR_VC_INTERR (1u << 9)
#define LODE_CM_DEMCR_VC_HARDERR (1u << 10)
#define LODE_CM_DEMCR_TRCENA (1u << 24)

/* ---- core identification ---------------------------------------------------------------- */
typedef enum lode_cortexm_core_e {
    LODE_CM_CORE_UNKNOWN = 0,
    LODE_CM_CORE_M0,
    LODE_CM_CORE_M0PLUS,
    LODE_CM_CORE_M1,
    LODE_CM_CORE_M3,
    LODE_CM_CORE_M4,
    LODE_CM_CORE_M7,
    LODE_CM_CORE_M23,
    LODE_CM_CORE_M33,
} lode_cortexm_core_e;

typedef struct lode_cortexm_info_s {
    uint32_t cpuid;
    lode_cortexm_core_e core;
    const char *name;  /* "Cortex-M4", "unknown Cortex-M" */
    unsigned variant;  /* the rNpM of the core: r<variant>p<revision> */
    unsigned revision;
    bool fpu;          /* FP extension present (MVFR0, else CPACR probe) */
    bool fpu_double;   /* double precision (MVFR0) */
    bool v6m;          /* ARMv6-M / ARMv8-M Baseline: no CFSR/HFSR/MMFAR/BFAR */
} lode_cortexm_info_s;

/* Reads CPUID (and MVFR0 / CPACR), the core need not be halted. `adi` must be connected. */
int lode_cortexm_new(lode_adi_s *adi, unsigned ap, const lode_log_s *log, lode_cortexm_s **out);
void lode_cortexm_free(lode_cortexm_s *cm); /* accepts NULL; leaves the core as it is */
const lode_cortexm_info_s *lode_cortexm_info(const lode_cortexm_s *cm);

/* ---- run control ------------------------------------------------------------------------ */
/* Each polls a bounded number of times and returns LODE_E_TIMEOUT when the core does not
 * get there. */
int lode_cortexm_halt(lode_cortexm_s *cm);
/* Clears DFSR, steps over an FPB breakpoint at the PC, lets the core run. */
int lode_cortexm_resume(lode_cortexm_s *cm);
/* Write registers, then resume (a semihosting call's result and PC + 2): with a probe that
 * pipelines (CMSIS-DAP) one probe command whose value-match read of S_REGRDY after each
 * register guards the resume; otherwise regs_write + resume. */
int lode_cortexm_resume_regs(lode_cortexm_s *cm, const unsigned *regs, const uint32_t *vals, size_t n);
/* One instruction (the core must be halted; LODE_E_STATE otherwise). With mask_ints,
 * PendSV/SysTick/interrupts are not taken during the step (DHCSR.C_MASKINTS). */
int lode_cortexm_step(lode_cortexm_s *cm, bool mask_ints);

typedef struct lode_cortexm_status_s {
    uint32_t dhcsr;
    uint32_t dfsr;
    bool halted, lockup, sleeping;
    bool reset_seen;   /* S_RESET_ST: a reset happened since the last DHCSR read */
    bool retired;      /* S_RETIRE_ST */
} lode_cortexm_status_s;
int lode_cortexm_status(lode_cortexm_s *cm, lode_cortexm_status_s *st);
int lode_cortexm_is_halted(lode_cortexm_s *cm, bool *halted);
/* DFSR as words: "breakpoint", "watchpoint (DWT)", "vector catch", "halt request",
 * "external (EDBGRQ)" joined with ", "; "none" for 0. Always NUL-terminates (len > 0). */
void lode_cortexm_dfsr_describe(uint32_t dfsr, char *buf, size_t len);

/* System reset through AIRCR.SYSRESETREQ; waits for DHCSR.S_RESET_ST. The core runs after it
 * (unless it was halted and stays halted, as the architecture allows). */
int lode_cortexm_reset(lode_cortexm_s *cm);
/* Reset and halt at the reset vector: DEMCR.VC_CORERESET, SYSRESETREQ, wait for the halt,
 * restore DEMCR. */
int lode_cortexm_reset_halt(lode_cortexm_s *cm);
/* The same, then n (at most 32) word writes w[i] = {address, value} in order, only once the
 * halt was reached, with the reset's own clean-up (the same probe command where the probe
 * allows: CMSIS-DAP's, the ST-Link's RW_MISC batch). */
int lode_cortexm_reset_halt_writes(lode_cortexm_s *cm, const uint32_t (*w)[2], size_t n);
/* Set or clear vector catch bits (LODE_CM_DEMCR_VC_*, and TRCENA) in DEMCR, keeping the
 * others. */
int lode_cortexm_vector_catch(lode_cortexm_s *cm, uint32_t set, uint32_t clear);

/* ---- core registers (DCRSR.REGSEL numbers, DDI 0403E C1.6.3) ------------------------------ */
#define LODE_CM_REG_R0 0u      /* R0..R12 = 0..12 */
#define LODE_CM_REG_SP 13u
#define LODE_CM_REG_LR 14u
#define LODE_CM_REG_PC 15u     /* DebugReturnAddress */
#define LODE_CM_REG_XPSR 16u
#define LODE_CM_REG_MSP 17u
#define LODE_CM_REG_PSP 18u
#define LODE_CM_REG_CFBP 20u   /* CONTROL[31:24] FAULTMASK[23:16] BASEPRI[15:8] PRIMASK[7:0] */
#define LODE_CM_REG_FPSCR 33u
#define LODE_CM_REG_S0 64u     /* S0..S31 = 64..95 */
/* Pseudo registers: one byte of REGSEL 20, read-modify-write on writes. */
#define LODE_CM_REG_PRIMASK 0x200u
#define LODE_CM_REG_BASEPRI 0x201u
#define LODE_CM_REG_FAULTMASK 0x202u
#define LODE_CM_REG_CONTROL 0x203u

/* Register number of a name (case-insensitive: r0-r12, sp/r13/msp-as-sp, lr/r14, pc/r15,
 * xpsr/psr, msp, psp, primask, basepri, faultmask, control, fpscr, s0-s31).
 * LODE_E_INVALID_ARG if unknown. */
int lode_cortexm_reg_number(const char *name, unsigned *reg);
/* Canonical lower-case name of a register number, NULL if none. */
const char *lode_cortexm_reg_name(unsigned reg);

/* The core must be halted (LODE_E_STATE otherwise). FP registers need an FPU
 * (LODE_E_UNSUPPORTED otherwise). */
int lode_cortexm_reg_read(lode_cortexm_s *cm, unsigned reg, uint32_t *val);
int lode_cortexm_reg_write(lode_cortexm_s *cm, unsigned reg, uint32_t val);
/* Several registers in one queued run (falls back to one at a time if the core was slow). */
int lode_cortexm_regs_read(lode_cortexm_s *cm, const unsigned *regs, uint32_t *vals, size_t n);
/* Several registers in one queued run (in order; falls back to one at a time if the core
 * was slow). */
int lode_cortexm_regs_write(lode_cortexm_s *cm, const unsigned *regs, const uint32_t *vals,
                            size_t n);

/* A probe with its own core register commands (ST-Link READREG/WRITEREG: DCRSR, S_REGRDY
 * polling and DCRDR in one round trip): the register functions above then use them for the
 * transfer itself, after their own checks. `sel` is the DCRSR.REGSEL value, `raw` the DCRDR
 * value. NULL removes them. */
typedef struct lode_cortexm_regio_s {
    int (*read)(void *ctx, unsigned sel, uint32_t *raw);
    int (*write)(void *ctx, unsigned sel, uint32_t raw);
    void *ctx;
} lode_cortexm_regio_s;
void lode_cortexm_set_regio(lode_cortexm_s *cm, const lode_cortexm_regio_s *io);

/* ---- breakpoints (FPB, DDI 0403E C1.11) ----------------------------------------------- */
/* A hardware breakpoint at a halfword-aligned instruction address. FPBv1 (Cortex-M3/M4)
 * matches only the code region (addr < 0x20000000; LODE_E_RANGE otherwise).
 * LODE_E_NOMEM when all comparators are in use; setting one twice is not an error. */
int lode_cortexm_bp_set(lode_cortexm_s *cm, uint32_t addr);
int lode_cortexm_bp_clear(lode_cortexm_s *cm, uint32_t addr); /* LODE_E_INVALID_ARG if none */
int lode_cortexm_bp_clear_all(lode_cortexm_s *cm);
/* Number of instruction comparators (reads FP_CTRL on first use). */
int lode_cortexm_bp_count(lode_cortexm_s *cm, unsigned *n);

/* ---- watchpoints (DWT, DDI 0403E C1.8) ------------------------------------------------- */
typedef enum lode_cortexm_watch_e {
    LODE_CM_WATCH_READ = 5,   /* DWT_FUNCTION values */
    LODE_CM_WATCH_WRITE = 6,
    LODE_CM_WATCH_ACCESS = 7,
} lode_cortexm_watch_e;
/* Data watchpoint on [addr, addr+size): size a power of two (1, 2, 4, ... 32768), addr
 * aligned to it. Sets DEMCR.TRCENA. The core halts after the access (DFSR.DWTTRAP). */
int lode_cortexm_wp_set(lode_cortexm_s *cm, uint32_t addr, uint32_t size,
                        lode_cortexm_watch_e kind);
int lode_cortexm_wp_clear(lode_cortexm_s *cm, uint32_t addr); /* LODE_E_INVALID_ARG if none */
int lode_cortexm_wp_count(lode_cortexm_s *cm, unsigned *n);

/* ---- faults (DDI 0403E B3.2.15-B3.2.18) ------------------------------------------------- */
typedef struct lode_cortexm_fault_s {
    uint32_t cfsr, hfsr, dfsr, mmfar, bfar;
} lode_cortexm_fault_s;
/* Read CFSR, HFSR, DFSR, MMFAR, BFAR in one run (ARMv6-M has only DFSR: the others are 0). */
int lode_cortexm_fault_read(lode_cortexm_s *cm, lode_cortexm_fault_s *f);
/* Words for the fault status: "precise data bus error at 0x30000000 (BFAR); forced
 * (escalated to HardFault)" ... "no fault recorded" when all are 0. Always NUL-terminates
 * (len > 0); LODE_E_NOMEM if the text was cut short. */
int lode_cortexm_fault_describe(uint32_t cfsr, uint32_t hfsr, uint32_t bfar, uint32_t mmfar,
                                char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
