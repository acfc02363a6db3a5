/* SPDX-License-Identifier: MIT */
/* Running firmware like a host program: resume the core and serve it until it exits through
 * semihosting, faults, hits a stop, times out or is interrupted; meanwhile drain RTT, feed
 * input, and report breakpoint/watchpoint hits. Works over any lode_core_ops_s. */
#ifndef LODE_RUN_H
#define LODE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/log.h"
#include "lode/semihost.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lode_run_end_e {
    LODE_RUN_EXITED = 0,   /* the firmware exited through semihosting (exit_code) */
    LODE_RUN_FAULT,        /* HardFault taken (vector catch) or lockup */
    LODE_RUN_HALTED,       /* halted for another reason: a BKPT, a stop on a hit, a debugger */
    LODE_RUN_TIMEOUT,      /* timeout_us passed on the target's clock */
    LODE_RUN_INTERRUPTED,  /* *interrupt became non-zero (Ctrl-C) */
} lode_run_end_e;

typedef enum lode_run_hit_kind_e { LODE_RUN_HIT_BREAK, LODE_RUN_HIT_WATCH } lode_run_hit_kind_e;

typedef struct lode_run_point_s {
    const char *name;      /* for reports (symbol or address text) */
    uint32_t addr;
    uint32_t len;          /* watchpoints: 1, 2 or 4 */
    int kind;              /* watchpoints: 1 read, 2 write, 3 access */
} lode_run_point_s;

typedef struct lode_run_hit_s {
    lode_run_hit_kind_e kind;
    const lode_run_point_s *point;
    uint32_t regs[17];     /* r0-r12, sp, lr, pc, xpsr at the hit */
    uint32_t old_value, new_value; /* watchpoints: the watched location before and after */
    unsigned count;        /* hits of this point so far */
} lode_run_hit_s;

/* Return true to continue after the hit, false to stop (LODE_RUN_HALTED). */
typedef bool (*lode_run_hit_fn)(void *user, const lode_run_hit_s *hit);
/* Non-blocking input for RTT down channel 0: bytes available now (0 = none, <0 = closed). */
typedef long (*lode_run_input_fn)(void *user, uint8_t *buf, size_t cap);

struct lode_rtt_s;
typedef void (*lode_run_rtt_fn)(void *user, unsigned channel, const uint8_t *data, size_t len);

typedef struct lode_run_config_s {
    const lode_core_ops_s *core;
    lode_semihost_s *sh;            /* NULL: a semihosting call ends the run as HALTED */
    bool reset_first;               /* reset the core before running (else: attach) */
    uint64_t timeout_us;            /* 0: none */
    volatile int *interrupt;        /* set to non-zero to stop (from a signal handler) */
    uint32_t poll_us;               /* 0: 1000 */
    const lode_run_point_s *breaks; /* --break */
    size_t nbreaks;
    const lode_run_point_s *watches;/* --watch */
    size_t nwatches;
    lode_run_hit_fn on_hit;         /* NULL: stop at the first hit */
    void *hit_user;
    /* RTT (optional): a handle already configured for this target; attached lazily */
    struct lode_rtt_s *rtt;
    lode_run_rtt_fn rtt_out;
    lode_run_input_fn input;
    void *io_user;
    /* called once per poll while the core runs (may be NULL): e.g. to drain an SWO capture */
    void (*tick)(void *user);
    lode_log_s log;
} lode_run_config_s;

typedef struct lode_run_result_s {
    lode_run_end_e end;
    int exit_code;              /* LODE_RUN_EXITED */
    /* LODE_RUN_EXITED, as the firmware gave them: the ADP_Stopped_* reason (ApplicationExit for
     * a GDB server's exit status) and the full 32-bit code (SYS_EXIT_EXTENDED's subcode, the
     * GDB server's status; 0 for SYS_EXIT) */
    uint32_t exit_reason;
    uint32_t exit_value;
    /* LODE_RUN_HALTED when attaching (reset_first false): the core was already stopped at the
     * firmware's SYS_EXIT / SYS_EXIT_EXTENDED (it finished before; nothing was resumed) */
    bool exited_before;
    uint32_t pc, lr, sp, xpsr;  /* where the core stopped */
    uint32_t dfsr;
    /* LODE_RUN_FAULT: the fault status and the frame stacked by the faulting context */
    bool lockup;
    uint32_t cfsr, hfsr, bfar, mmfar;
    bool frame_valid;
    uint32_t frame[8];          /* r0 r1 r2 r3 r12 lr pc xpsr of the interrupted context */
    char fault_text[256];
    uint64_t semihost_calls;
    uint64_t us;                /* target time from start to end */
} lode_run_result_s;

/* Run. Returns LODE_OK when the run ended for one of the reasons above (see res->end), or an
 * error when the probe/target failed. */
int lode_run(const lode_run_config_s *cfg, lode_run_result_s *res);

#ifdef __cplusplus
}
#endif
#endif
