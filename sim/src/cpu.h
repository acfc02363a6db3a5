/* SPDX-License-Identifier: MIT */
/* The CPU backend interface: the only part of the sim that knows which emulator runs the
 * instructions. The board owns the exception model, memory map and debug logic; the backend
 * only executes Thumb code for a budget and reports why it stopped. */
#ifndef LODE_SIM_CPU_H
#define LODE_SIM_CPU_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sim_board_s sim_board_s;
typedef struct sim_cpu_s sim_cpu_s;

typedef enum sim_reg_e {
    SIM_REG_R0 = 0, /* R0..R12 = 0..12 */
    SIM_REG_SP = 13,
    SIM_REG_LR = 14,
    SIM_REG_PC = 15,
    SIM_REG_XPSR = 16,
    SIM_REG_MSP = 17,
    SIM_REG_PSP = 18,
    SIM_REG_PRIMASK = 19,
    SIM_REG_BASEPRI = 20,
    SIM_REG_FAULTMASK = 21,
    SIM_REG_CONTROL = 22,
    SIM_REG_IPSR = 23,
    SIM_REG_FPSCR = 24,
    SIM_REG_S0 = 32, /* S0..S31 = 32..63 */
} sim_reg_e;

typedef enum sim_cpu_exit_e {
    SIM_CPU_EXIT_LIMIT = 0,    /* the instruction budget is used up */
    SIM_CPU_EXIT_STOP,         /* the board asked to stop (simi_cpu_request_stop) */
    SIM_CPU_EXIT_BKPT,         /* PC at a BKPT instruction (not executed); info = imm8 */
    SIM_CPU_EXIT_SVC,          /* PC after an SVC instruction */
    SIM_CPU_EXIT_EXC_RETURN,   /* a branch to an EXC_RETURN value in handler mode; info = value */
    SIM_CPU_EXIT_UNDEF,        /* PC at an undefined instruction */
    SIM_CPU_EXIT_INVSTATE,     /* an attempt to leave Thumb state; PC at the target */
    SIM_CPU_EXIT_FETCH_FAULT,  /* instruction fetch from a non-executable address; info = address */
    SIM_CPU_EXIT_BREAKPOINT,   /* PC at an armed breakpoint address (not executed) */
    SIM_CPU_EXIT_WFI,          /* a WFI/WFE retired; PC after it */
    SIM_CPU_EXIT_ERROR,        /* the emulator failed */
} sim_cpu_exit_e;

typedef enum sim_cpu_model_e { SIM_CPU_M0P, SIM_CPU_M3, SIM_CPU_M4F } sim_cpu_model_e;

typedef struct sim_cpu_ops_s {
    void (*free)(sim_cpu_s *cpu);
    /* Host memory the CPU accesses directly. Writes to a read-only mapping call
     * simi_cpu_cb_rom_write before the store. */
    int (*map_ram)(sim_cpu_s *cpu, uint32_t base, uint32_t size, uint8_t *host, bool writable);
    /* An address range whose every access calls simi_cpu_cb_mmio_read / _write. */
    int (*map_mmio)(sim_cpu_s *cpu, uint32_t base, uint64_t size);
    /* Execute at most `max_insns` instructions. *executed = instructions retired. */
    sim_cpu_exit_e (*run)(sim_cpu_s *cpu, uint64_t max_insns, uint64_t *executed, uint32_t *info);
    /* From inside a callback during run(): instructions retired so far in this run (exact in
     * precise mode; up to the start of the current block otherwise). A call from inside an
     * MMIO read tells the backend that the value read depends on time. */
    uint64_t (*executed_so_far)(sim_cpu_s *cpu);
    /* From inside a memory callback: end the run at the next point where that is safe. */
    void (*request_stop)(sim_cpu_s *cpu);
    int (*reg_read)(sim_cpu_s *cpu, sim_reg_e reg, uint32_t *val);
    int (*reg_write)(sim_cpu_s *cpu, sim_reg_e reg, uint32_t val);
    /* Code in [base, base+size) changed: drop translations of it. */
    void (*invalidate)(sim_cpu_s *cpu, uint32_t base, uint32_t size);
    /* Instruction breakpoints (FPB comparators): slot < 16. */
    int (*set_breakpoint)(sim_cpu_s *cpu, unsigned slot, uint32_t addr, bool enable);
    /* Data watchpoints (DWT comparators): slot < 8; calls simi_cpu_cb_watch on access. */
    int (*set_watchpoint)(sim_cpu_s *cpu, unsigned slot, uint32_t addr, uint32_t len, bool enable);
    /* Per-instruction precision: stops land exactly between instructions (single step,
     * watchpoints). Slower; the board enables it only while needed. */
    void (*set_precise)(sim_cpu_s *cpu, bool on);
    /* Busy-wait fast-forward (on by default); instructions skipped so far. */
    void (*set_fast_forward)(sim_cpu_s *cpu, bool on);
    uint64_t (*fast_forwarded)(const sim_cpu_s *cpu);
    /* While on, a run ends right after any instruction that may write PRIMASK, BASEPRI or
     * FAULTMASK (CPS, MSR), so the board takes an exception it unmasks before the next one.
     * The board turns it on for runs that start with an exception pending but masked. */
    void (*set_mask_watch)(sim_cpu_s *cpu, bool on);
} sim_cpu_ops_s;

struct sim_cpu_s {
    const sim_cpu_ops_s *ops;
    uint32_t page; /* the backend's mapping granule: every RAM/flash region is aligned to it */
};

sim_cpu_s *simi_cpu_unicorn_new(sim_board_s *b, sim_cpu_model_e model, char *err, unsigned errlen);

/* Callbacks from the CPU backend into the board (board.c). *stable is set true when the value
 * read can only change through a write or a scheduled timer event (not with time itself, not
 * by reading: no clock, cycle count or random number was consulted, not the PPB). */
int simi_cpu_cb_mmio_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, bool *stable);
int simi_cpu_cb_mmio_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val);
/* A CPU store into a read-only mapping (flash). The store then lands in the host buffer;
 * the board restores the array's true content via simi_cpu_cb_fixup at the next stop point. */
void simi_cpu_cb_rom_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val);
/* Called at safe points (block or instruction boundaries) when the backend was told a fixup
 * is pending (simi_cpu_fixup_pending). */
void simi_cpu_cb_fixup(sim_board_s *b);
void simi_cpu_cb_watch(sim_board_s *b, unsigned slot, uint32_t addr, unsigned size, bool write,
                       uint32_t value);

#endif
