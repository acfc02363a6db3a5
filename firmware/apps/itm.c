/* SPDX-License-Identifier: MIT */
/* ITM output as a program does it itself (no debugger set-up): TRCENA, unlock, ITMENA, enable
 * stimulus ports 0 and 1, "ITM hello\n" as byte writes to port 0, one word 0x12345678 to
 * port 1. Each write waits for FIFOREADY. Prints "itm: done" (semihosting) and exits 0;
 * exits 1 if a port never becomes ready. */
#include "cortexm.h"
#include "semihost.h"

#define SPIN_LIMIT 1000000u

static void wait_ready(unsigned port)
{
    for (uint32_t n = 0; !(ITM_STIM(port) & ITM_STIM_FIFOREADY); n++)
        if (n == SPIN_LIMIT)
            sh_fail("itm: timeout waiting for FIFOREADY\n", 1);
}

int main(void)
{
    DEMCR |= DEMCR_TRCENA;
    ITM_LAR = ITM_LAR_KEY;
    ITM_TCR = ITM_TCR_TRACEBUSID(1) | ITM_TCR_ITMENA;
    ITM_TER = (1u << 0) | (1u << 1);

    for (const char *s = "ITM hello\n"; *s; s++) {
        wait_ready(0);
        ITM_STIM8(0) = (uint8_t)*s;
    }
    wait_ready(1);
    ITM_STIM(1) = 0x12345678u;

    sh_write0("itm: done\n");
    sh_exit(0);
}
