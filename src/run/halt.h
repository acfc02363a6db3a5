/* SPDX-License-Identifier: MIT */
/* The halted-core service (private to liblode): why a core halted and what to do about it,
 * shared by the run loop (run.c) and the GDB server (gdb/server.c).
 *  - examine: the registers in one round trip where the core allows it; at a BKPT the
 *    instruction and, for a semihosting call, what r1 points to (lode_semihost_param_bytes)
 *    in one pipelined unit, handed to the semihosting host as read-ahead;
 *  - semihosting: the call served, r0 and the PC written and the core resumed together
 *    (resume_regs: one round trip with a pipelining probe);
 *  - watchpoints: which one fired, from the values seen at the last resume;
 *  - faults: the fault status registers, the stacked frame and a description. */
#ifndef LODE_RUN_HALT_H
#define LODE_RUN_HALT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/semihost.h"

struct lode_target_chip_s;

typedef struct lodei_halt_s {
    uint32_t dfsr;        /* as the core reported it */
    uint32_t regs[17];    /* r0-r12, sp, lr, pc, xpsr (r0, r1, sp, pc until lodei_halt_rest) */
    bool semihost;        /* a BKPT 0xAB at pc: op in regs[0], parameter in regs[1] */
    bool fault;           /* HardFault entry caught by the vector catch (after lodei_halt_rest) */
    /* what examine read ahead at r1 (also handed to the semihosting host) */
    uint32_t ahead_addr, ahead_len;
    uint8_t ahead[LODE_SH_PREFETCH_MAX];
} lodei_halt_s;

/* Read r0-r12, sp, lr, pc, xpsr into regs[17]. */
int lodei_halt_regs(const lode_core_ops_s *c, uint32_t *regs);

/* The core halted with state `st`: read what a semihosting call needs (r0, r1, sp, pc: one
 * round trip where the core reads registers in batches) and tell whether it is one (h
 * written on success). With `sh` (NULL: semihosting not served, nothing read ahead) and a
 * pipelining core, the call's parameter block comes with the instruction, as read-ahead for
 * `sh`, when it lies in RAM: in a RAM region of `chip`, or (chip NULL) in 0x20000000-
 * 0x3FFFFFFF; otherwise the instruction is read first (r1 may name a peripheral). Returns a
 * core error only when the registers cannot be read. */
int lodei_halt_examine(const lode_core_ops_s *c, lode_semihost_s *sh,
                       const struct lode_target_chip_s *chip, const lode_core_state_s *st,
                       lodei_halt_s *h);
/* Target memory [addr, addr + len): from what examine read ahead when that covers it, else
 * from the core. */
int lodei_halt_read(const lode_core_ops_s *c, const lodei_halt_s *h, uint32_t addr, void *buf,
                    size_t len);
/* The other registers (r2-r12, lr, xpsr) into h, and whether it is a HardFault entry. */
int lodei_halt_rest(const lode_core_ops_s *c, lodei_halt_s *h);

/* Return from the semihosting call at `pc`: r0 = result, pc + 2; with `resume` the core is
 * resumed too, in as few round trips as it allows. */
int lodei_halt_return(const lode_core_ops_s *c, uint32_t pc, uint32_t r0, bool resume);

typedef enum lodei_sh_end_e {
    LODEI_SH_DONE = 0,   /* served and returned from (and resumed, if asked) */
    LODEI_SH_EXIT,       /* the firmware asked to exit (code): the core stays halted */
    LODEI_SH_BAD_PARAM,  /* what r1 names cannot be read or written: the core stays at the BKPT */
} lodei_sh_end_e;

/* Serve the semihosting call of `h` (h->semihost) with `sh`, then lodei_halt_return. *end
 * says how it ended; returns a core error when the return failed. */
int lodei_halt_semihost(const lode_core_ops_s *c, lode_semihost_s *sh, const lodei_halt_s *h,
                        bool resume, lodei_sh_end_e *end, int *exit_code);

/* A data watchpoint as the service sees it. */
typedef struct lodei_watch_s {
    uint32_t addr, len; /* len 1, 2 or 4 (0 or more than 4: 4) */
    int kind;           /* 1 read, 2 write, 3 access */
    uint32_t last;      /* the value at the last snapshot */
} lodei_watch_s;

/* Remember the watched values (at set-up and before resuming). */
void lodei_watch_snapshot(const lode_core_ops_s *c, lodei_watch_s *w, size_t n);
/* A DWT trap: which of the n watchpoints fired. The first whose value changed since its
 * snapshot, else the first that watches reads, else the first. Its current value goes to
 * *now. Returns its index (0 when n is 0). */
size_t lodei_watch_fired(const lode_core_ops_s *c, const lodei_watch_s *w, size_t n, uint32_t *now);

typedef struct lodei_fault_s {
    bool lockup;
    uint32_t cfsr, hfsr, bfar, mmfar;
    bool frame_valid;
    uint32_t frame[8]; /* r0 r1 r2 r3 r12 lr pc xpsr of the interrupted context */
    char text[256];
} lodei_fault_s;

/* A HardFault entry (or lockup): the fault status, the stacked frame, a description. */
void lodei_halt_fault(const lode_core_ops_s *c, const uint32_t *regs, bool lockup, lodei_fault_s *f);

#endif
