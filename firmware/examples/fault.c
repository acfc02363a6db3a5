/* SPDX-License-Identifier: MIT */
/* fault: a program that crashes, so you can see how lode reports it.
 *
 *     $ lode run build/firmware/examples/fault-stm32f103.elf
 *     fault: reading 0x30000000
 *     lode run: HardFault: precise data bus error at 0x30000000 (BFAR); forced (escalated to HardFault)
 *       faulting context: pc ..., lr ..., xpsr ...
 *       stacked r0 ... r1 ... r2 ... r3 ... r12 ...
 *       CFSR 00008200 HFSR 40000000 BFAR 30000000 MMFAR 00000000
 *     $ echo $?
 *     134
 *
 * 0x30000000 is reserved on both the STM32F103 and the nRF52840: nothing answers there, so
 * the load ends with a bus error. That is a precise BusFault (CFSR.PRECISERR, address in
 * BFAR). The BusFault handler is not enabled (SHCSR.BUSFAULTENA = 0), so the fault escalates
 * to HardFault (HFSR.FORCED).
 *
 * The HardFault handler below deliberately does not print or exit through semihosting: a
 * crash should look like a crash to the debugger, not like a normal exit with some code.
 *
 * lode itself stops the core as the HardFault is taken (a "vector catch", DEMCR.VC_HARDERR),
 * before the handler's first instruction, and reads the fault status registers (CFSR, HFSR,
 * BFAR) and the registers the core stacked for the faulting code. The handler is for the
 * other cases. It executes `bkpt #0`: with a debugger attached that does not catch the
 * vector (DHCSR.C_DEBUGEN set) the BKPT halts the core inside the HardFault handler, with
 * the same information still intact. Without any debugger a BKPT cannot be taken in a
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
