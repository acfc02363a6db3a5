/* SPDX-License-Identifier: MIT */
/* ram: a program linked to run from RAM -- a common way to test without wearing the flash.
 *
 *     $ lode run build/firmware/examples/ram-stm32f103.elf
 *     running from RAM: main at 0x200000c1, vector table at 0x20000000
 *     $ echo $?
 *     0
 *
 * The image (chips/<chip>/ram.ld) has nothing in flash: lode run writes it into RAM, points
 * VTOR at its vector table and starts the core with the table's SP and reset address, without
 * a reset (a reset would start whatever the flash holds). lode flash refuses it (exit 65),
 * naming where it lives. The flash is left as it was.
 *
 * Exit code: 0 when main really runs from RAM, 1 if not. */
#include <stdint.h>

#include "fmt.h"
#include "semihost.h"

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define RAM_BASE 0x20000000u

int main(void)
{
    uint32_t here = (uint32_t)(uintptr_t)&main, vtor = SCB_VTOR;
    char line[96], *p = line;
    p = fmt_str(p, here >= RAM_BASE ? "running from RAM: main at 0x" : "not in RAM: main at 0x");
    p = fmt_hex32(p, here);
    p = fmt_str(p, ", vector table at 0x");
    p = fmt_hex32(p, vtor);
    p = fmt_str(p, "\n");
    *p = 0;
    sh_write0(line);
    return here >= RAM_BASE && vtor >= RAM_BASE ? 0 : 1;
}
