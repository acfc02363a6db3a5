/* SPDX-License-Identifier: MIT */
/* A target for the debug-component tests (tests/sim/test_debug.c): a loop with labelled
 * instructions a debugger can break on, step through and watch. The labels are global
 * symbols the test looks up in the ELF:
 *   dbg_step0..dbg_step3  movs (16-bit), movw (32-bit), adds (16-bit), bx lr
 *   dbg_ld / dbg_after_ld the load of dbg_src and the instruction after it
 *   dbg_st / dbg_after_st the store to dbg_dst and the instruction after it
 * main calls dbg_steps, then copies dbg_src + 1 to dbg_dst and counts in dbg_count, forever
 * (a debugger stops it). */
#include <stdint.h>

volatile uint32_t dbg_src = 0x600DF00Du;
volatile uint32_t dbg_dst;
volatile uint32_t dbg_count;

__attribute__((naked, noinline)) void dbg_steps(void)
{
    __asm__ volatile(".global dbg_step0\n"
                     "dbg_step0: movs r0, #1\n\t"
                     ".global dbg_step1\n"
                     "dbg_step1: movw r1, #0x1234\n\t"
                     ".global dbg_step2\n"
                     "dbg_step2: adds r2, r0, r1\n\t"
                     ".global dbg_step3\n"
                     "dbg_step3: bx lr\n\t");
}

__attribute__((naked, noinline)) void dbg_access(volatile uint32_t *src, volatile uint32_t *dst)
{
    (void)src;
    (void)dst;
    __asm__ volatile(".global dbg_ld\n"
                     "dbg_ld: ldr r2, [r0]\n\t"
                     ".global dbg_after_ld\n"
                     "dbg_after_ld: adds r2, r2, #1\n\t"
                     ".global dbg_st\n"
                     "dbg_st: str r2, [r1]\n\t"
                     ".global dbg_after_st\n"
                     "dbg_after_st: bx lr\n\t");
}

int main(void)
{
    for (;;) {
        dbg_steps();
        dbg_access(&dbg_src, &dbg_dst);
        dbg_count++;
    }
}
