/* SPDX-License-Identifier: MIT */
/* The clocks the in-process benchmarks hand to lode: the simulator's virtual time as a probe's
 * now_us/delay_us (the board's user pointer is the lode_sim_s), and the process's CPU time. */
#ifndef LODE_BENCH_VCLOCK_H
#define LODE_BENCH_VCLOCK_H

#include <stdint.h>
#include <time.h>

#include "lode/sim.h"

static inline uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static inline void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

static inline double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
