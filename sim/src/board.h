/* SPDX-License-Identifier: MIT */
/* The board's private state, shared by board.c (memory map, clock, run loop, public API) and
 * scs.c (the Cortex-M System Control Space: NVIC, SCB, SysTick, debug, FPB, DWT, ITM). */
#ifndef LODE_SIM_BOARD_H
#define LODE_SIM_BOARD_H

#include "cpu.h"
#include "lode/sim.h"
#include "simi.h"
#include "swdp.h"

#define SIM_MAX_REGIONS 96
#define SIM_MAX_NOR 4
#define SIM_MAX_FIX 16
#define SIM_NEXC 256 /* exception numbers 0..255 (16 + up to 240 IRQs) */
#define SIM_SWO_MAX (64 * 1024)

typedef enum sim_region_kind_e {
    SIM_RK_RAM,
    SIM_RK_FLASH,
    SIM_RK_PERIPH,
    SIM_RK_UNMODELED,
} sim_region_kind_e;

typedef struct sim_region_s {
    const char *name;
    uint32_t base;
    uint32_t size;
    sim_region_kind_e kind;
    uint8_t *mem;             /* RAM / FLASH: host memory */
    sim_nor_s *nor;           /* FLASH */
    const sim_periph_ops_s *ops; /* PERIPH */
    void *ctx;
    bool owns_mem;
} sim_region_s;

/* Exception numbers (ARMv7-M B1.5.2) */
enum {
    EXC_RESET = 1,
    EXC_NMI = 2,
    EXC_HARDFAULT = 3,
    EXC_MEMMANAGE = 4,
    EXC_BUSFAULT = 5,
    EXC_USAGEFAULT = 6,
    EXC_SVCALL = 11,
    EXC_DEBUGMON = 12,
    EXC_PENDSV = 14,
    EXC_SYSTICK = 15,
    EXC_IRQ0 = 16,
};

/* DFSR bits */
#define DFSR_HALTED (1u << 0)
#define DFSR_BKPT (1u << 1)
#define DFSR_DWTTRAP (1u << 2)
#define DFSR_VCATCH (1u << 3)
#define DFSR_EXTERNAL (1u << 4)

typedef struct sim_scs_s {
    /* NVIC + system exceptions */
    uint8_t prio[SIM_NEXC];    /* configured priority byte per exception (fixed ones unused) */
    bool enabled[SIM_NEXC];    /* IRQs: NVIC_ISER; faults: SHCSR enables */
    bool pending[SIM_NEXC];
    bool active[SIM_NEXC];
    unsigned nexc;             /* 16 + number of IRQs */
    uint32_t vtor, aircr_prigroup, scr, ccr, cpacr;
    uint32_t cfsr, hfsr, dfsr, mmfar, bfar, afsr;
    /* SysTick */
    uint32_t syst_csr, syst_rvr;
    uint64_t syst_epoch;       /* ps when the counter was last loaded with RVR (VAL = RVR) */
    uint64_t syst_cycles_at_epoch;
    bool syst_countflag;
    sim_timer_s syst_timer;
    /* debug */
    uint32_t dhcsr;            /* control bits C_* as written (without DBGKEY) */
    uint32_t dcrdr;
    uint32_t demcr;
    bool s_reset_st, s_retire_st, s_regrdy;
    bool halt_after_step;
    /* FPB */
    uint32_t fp_ctrl, fp_remap, fp_comp[16];
    unsigned fp_ncode, fp_nlit;
    /* DWT */
    uint32_t dwt_ctrl, dwt_comp[4], dwt_mask[4], dwt_function[4];
    uint64_t dwt_cyccnt_base;  /* instructions+idle cycle count when CYCCNT was 0 */
    uint32_t dwt_cyccnt_written;
    unsigned dwt_ncomp;
    /* ITM */
    uint32_t itm_ter, itm_tpr, itm_tcr;
    bool itm_unlocked;
    uint8_t swo[SIM_SWO_MAX];
    size_t swo_len;
    bool swo_overflow;
} sim_scs_s;

struct sim_board_s {
    lode_sim_config_s cfg;
    const sim_chip_desc_s *chip;
    sim_cpu_s *cpu;
    unsigned prio_bits;
    bool has_fpu;

    sim_region_s regions[SIM_MAX_REGIONS];
    unsigned nregions;
    sim_nor_s nor[SIM_MAX_NOR];
    const sim_flashctl_ops_s *flashctl[SIM_MAX_NOR];
    void *flashctl_ctx[SIM_MAX_NOR];
    unsigned nnor;
    uint32_t page; /* CPU backend page size for mappings */

    /* time */
    uint32_t cpu_hz;        /* current core clock */
    uint32_t pending_hz;    /* clock change requested during a CPU run (0 = none) */
    uint64_t now;           /* ps */
    uint64_t frac;          /* remainder of cycle->ps conversion, in units of 1/hz ps */
    uint64_t cycles;        /* core clock cycles elapsed while not halted (CYCCNT source) */
    uint64_t insns;         /* instructions retired */
    uint64_t cpu_runs;      /* calls of the backend's run (lode_sim_cpu_runs) */
    sim_timer_s *timers;
    uint64_t flash_busy_until;

    /* CPU store into flash: content to restore after the raw store lands */
    struct {
        uint32_t addr;
        uint8_t bytes[4];
        unsigned n;
        sim_nor_s *nor;
    } fix[SIM_MAX_FIX];
    unsigned nfix;

    /* core state */
    bool halted;
    bool sleeping;
    bool lockup;
    bool in_reset;          /* nRST held */
    bool core_held;         /* the core runs code modelled in C (the system bootloader): time
                               passes and cycles count, nothing executes */
    bool reset_request;     /* system reset requested */
    sim_reset_cause_e reset_cause; /* of the reset in progress or the last one */
    const char *reset_why;
    bool powerloss_pending;
    bool bus_fault_pending;
    bool bus_fault_write;
    uint32_t bus_fault_addr;
    bool in_cpu_run;
    bool stepping;
    sim_scs_s scs;

    /* debug port */
    sim_swdp_s *dp;
    uint32_t swd_hz;
    unsigned inject_reset_after;
    bool disconnected;
    unsigned powerloss_countdown;

    struct {
        const char *port;
        sim_uart_rx_fn fn;
        sim_uart_pending_fn pending;
        sim_uart_ready_fn ready;
        sim_uart_usb_fn usb;
        void *ctx;
    } uart_rx[8];
    unsigned nuart_rx;

    uint32_t rng;
    uint32_t unmodeled_logged[32];
    unsigned nunmodeled_logged;
};

/* board.c */
void simi_board_halt(sim_board_s *b, uint32_t dfsr_bits);
void simi_board_resume(sim_board_s *b);
void simi_board_system_reset(sim_board_s *b, bool power_on);
void simi_advance_cycles(sim_board_s *b, uint64_t cycles);
void simi_update_precise(sim_board_s *b);
/* The board of a public handle. */
sim_board_s *simi_board_of(lode_sim_s *sim);
/* Hold (true) or release the core for a model written in C that stands for code the chip runs
 * (sim_an3155.c: the STM32 system bootloader); while held, time passes as in WFI. */
void simi_board_hold_core(sim_board_s *b, bool held);
/* Let the board run (timers, flash operations, the core unless held) until `until_ps`. */
void simi_run_until(sim_board_s *b, uint64_t until_ps);
bool simi_timers_idle(const sim_board_s *b); /* no timer armed: nothing scheduled will happen */
uint64_t simi_next_event(const sim_board_s *b); /* the next timer's time (UINT64_MAX: none) */
/* Core clock cycles elapsed (not counting halted time), including the current run's. */
uint64_t simi_cycles(const sim_board_s *b);

/* the SWD wire (swdwire.c) in front of the DP */
void simi_board_wire_cycles(sim_board_s *b, uint64_t cycles); /* the core runs for them */
/* A request header on the wire: the injected disconnect (no ACK) and reset-after, then
 * simi_swdp_header. No wire time (the caller counts cycles). */
int simi_board_swd_header(sim_board_s *b, bool apndp, bool rnw, uint8_t a, uint32_t *data);

/* scs.c */
void simi_scs_init(sim_board_s *b);
void simi_scs_reset(sim_board_s *b, bool power_on); /* system reset: NVIC/SCB; power-on also debug */
int simi_scs_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, sim_initiator_e who);
int simi_scs_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who);
bool simi_scs_owns(const sim_board_s *b, uint32_t addr); /* addresses of the core's own PPB components */
/* Exception engine */
void simi_exc_pend(sim_board_s *b, unsigned exc);
/* Take the highest-priority pending exception if it can preempt; returns true if taken. */
bool simi_exc_take_pending(sim_board_s *b);
bool simi_exc_wake_pending(sim_board_s *b); /* would a pending exception wake WFI? */
void simi_exc_return(sim_board_s *b, uint32_t exc_return);
/* A synchronous fault; `cfsr_bits`/`hfsr_bits` recorded, escalated as ARMv7-M says. */
void simi_exc_fault(sim_board_s *b, unsigned exc, uint32_t cfsr_bits);
void simi_core_reset_from_vectors(sim_board_s *b);
void simi_scs_halted_changed(sim_board_s *b);
void simi_scs_clock_changed(sim_board_s *b); /* re-plan SysTick after a core clock change */
/* FPB/DWT event hooks */
void simi_dwt_watch_hit(sim_board_s *b, unsigned slot, uint32_t addr, unsigned size, bool write);
uint32_t simi_dwt_cyccnt(sim_board_s *b);

#endif
