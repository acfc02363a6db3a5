/* SPDX-License-Identifier: MIT */
/* Semihosting console writes stamped with the simulator's virtual time: the steady-state cost
 * of one call is the time between the first and the last write over the calls in between.
 * Shared by bench_run_overhead and bench_gdb. */
#ifndef LODE_BENCH_STAMP_H
#define LODE_BENCH_STAMP_H

#include "lode/core.h"
#include "lode/semihost.h"
#include "lode/sim.h"

typedef struct stamp_s {
    lode_core_ops_s core; /* first: the semihosting I/O's ctx is the stamp */
    lode_sim_s *sim;
    unsigned n;
    uint64_t first, last;
} stamp_s;

static void stamp_write(void *ctx, int fd, const uint8_t *d, size_t n)
{
    stamp_s *st = ctx;
    (void)fd;
    (void)d;
    (void)n;
    uint64_t t = lode_sim_now(st->sim);
    if (!st->n++)
        st->first = t;
    st->last = t;
}

/* target memory through `core`, the console stamped */
static lode_semihost_io_s stamp_io(stamp_s *st, lode_sim_s *sim, const lode_core_ops_s *core)
{
    *st = (stamp_s){.core = *core, .sim = sim};
    lode_semihost_io_s io = lode_semihost_io_core(&st->core);
    io.console_write = stamp_write;
    return io;
}

/* milliseconds per call in the steady state (0 with fewer than two writes) */
static double stamp_ms_per_call(const stamp_s *st)
{
    return st->n > 1 ? (double)(st->last - st->first) / 1e9 / (st->n - 1) : 0.0;
}

#endif
