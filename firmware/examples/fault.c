/* SPDX-License-Identifier: MIT */
/* fault: a program that crashes, so you can see how lode reports it.
 *
 *     $ lode run build/firmware/examples/fault-stm32f103.elf
 *     fault: reading 0x30000000
 *     (lode then reports the HardFault: where it happened and why)
 *
 * 0x30000000 is reserved on both the STM32F103 and the nRF52840: nothing answers there, so
 * the load ends with a bus error. That is a precise BusFault (CFSR.PRECISERR, address in
 * BFAR). The BusFault handler is not enabled (SHCSR.BUSFAULTENA = 0), so the fault escalates
 * to HardFault (HFSR.FORCED).
 *
 * The HardFault handler below deliberately does not print or exit through semihosting: a
 * crash should look like a crash to the debugger, not like a normal exit. It executes
 * `bkpt #0`. With a debugger attached (lode is one: it sets DHCSR.C_DEBUGEN) a BKPT halts
 * the core, and the debugger finds it stopped inside the HardFault handler with the fault
 * status registers (CFSR, HFSR, BFAR) and the stacked registers of the faulting code still
 * intact, ready to be read and explained. Without a debugger the BKPT cannot be taken in a
 * HardFault handler and the core locks up, which stops it as well. The loop after it is in
 * case a debugger resumes the core: the program does not go on after a crash. */
#include <stdint.h>

#include "cortexm.h"
#include "semihost.h"

#define RESERVED_ADDR 0x30000000u

void HardFault_Handler(void)
{
    __asm__ volatile("bkpt #0");
    for (;;) {
    }
}

int main(void)
{
    sh_write0("fault: reading 0x30000000\n");
    (void)REG32(RESERVED_ADDR); /* faults here; nothing below runs */

    sh_write0("fault: the read did not fault\n");
    return 1;
}
