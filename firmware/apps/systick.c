/* SPDX-License-Identifier: MIT */
/* SysTick from the processor clock at 1 kHz; the handler counts, main sleeps in WFI until ten
 * interrupts have been taken, prints "systick: 10 ticks" (semihosting) and exits 0. A loop
 * guard exits 1 if the ticks do not arrive. */
#include "board.h"
#include "cortexm.h"
#include "fmt.h"
#include "semihost.h"

#define WANT_TICKS 10u
/* Loop passes allowed: ~100x what 10 ms takes even if WFI never sleeps. */
#define GUARD_LIMIT 20000000u

static volatile uint32_t ticks;

void SysTick_Handler(void)
{
    ticks++;
}

int main(void)
{
    SYST_CSR = 0;
    SYST_RVR = board_core_hz / 1000u - 1u;
    SYST_CVR = 0; /* any write clears the counter and COUNTFLAG */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;

    /* SysTick keeps running until after the loop: stopping it in the handler could leave the
     * last WFI waiting for an interrupt that never comes. */
    uint32_t seen;
    for (uint32_t guard = 0; (seen = ticks) < WANT_TICKS; guard++) {
        if (guard == GUARD_LIMIT) {
            SYST_CSR = 0;
            sh_fail("systick: timeout waiting for ticks\n", 1);
        }
        cpu_wfi();
    }
    SYST_CSR = 0;

    char line[40];
    char *p = fmt_str(line, "systick: ");
    p = fmt_udec(p, seen);
    p = fmt_str(p, " ticks\n");
    *p = '\0';
    sh_write0(line);
    sh_exit(seen == WANT_TICKS ? 0 : 1);
}
