/* SPDX-License-Identifier: MIT */
/* itm: trace output through the ITM (Instrumentation Trace Macrocell).
 *
 *     $ lode run build/firmware/examples/itm-stm32f103.elf
 *     itm: done
 *     $ echo $?
 *     0
 *
 * The ITM has 32 "stimulus ports": a write to port n's register turns into a small packet
 * on the trace output (SWO pin), tagged with n, without stopping the core. A debugger that
 * captures SWO shows port 0 as text; here port 0 gets "itm: hello\n" one byte at a time and
 * port 1 gets one 32-bit word, a counter: the number of bytes sent on port 0 (11).
 *
 * Normally the debugger sets the ITM up; this program does it itself:
 *   1. DEMCR.TRCENA = 1       switch on the trace blocks (ITM, DWT, TPIU)
 *   2. ITM_LAR = 0xC5ACCE55   unlock the ITM's registers for writes from the core
 *   3. ITM_TCR.ITMENA = 1     enable the ITM (with a trace bus ID, any non-zero value)
 *   4. ITM_TER bits 0 and 1   enable stimulus ports 0 and 1
 * Reading a stimulus port returns FIFOREADY (bit 0) when it can take another write; the
 * program waits for it before each write.
 *
 * At the end "itm: done" goes out through semihosting and the program exits 0 (or exits 1
 * if a port never gets ready, say because the trace output is stuck). */
#include <stdint.h>

#include "cortexm.h"
#include "semihost.h"

#define SPIN_LIMIT 1000000u /* polls of FIFOREADY before giving up */

static void itm_wait_ready(unsigned port)
{
    for (uint32_t n = 0; !(ITM_STIM(port) & ITM_STIM_FIFOREADY); n++)
        if (n == SPIN_LIMIT)
            sh_fail("itm: stimulus port never ready\n", 1);
}

/* A byte-sized store makes a 1-byte packet, a word store a 4-byte one. */
static void itm_put8(unsigned port, uint8_t v)
{
    itm_wait_ready(port);
    ITM_STIM8(port) = v;
}

static void itm_put32(unsigned port, uint32_t v)
{
    itm_wait_ready(port);
    ITM_STIM(port) = v;
}

int main(void)
{
    DEMCR |= DEMCR_TRCENA;
    ITM_LAR = ITM_LAR_KEY;
    ITM_TCR = ITM_TCR_TRACEBUSID(1) | ITM_TCR_ITMENA;
    ITM_TER = (1u << 0) | (1u << 1);

    uint32_t count = 0;
    for (const char *s = "itm: hello\n"; *s; s++) {
        itm_put8(0, (uint8_t)*s);
        count++;
    }
    itm_put32(1, count);

    sh_write0("itm: done\n");
    return 0;
}
