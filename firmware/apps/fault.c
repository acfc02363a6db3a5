/* SPDX-License-Identifier: MIT */
/* A precise bus fault: a load from 0x30000000 (reserved on both chips). BusFault is not
 * enabled in SHCSR, so it escalates to HardFault (HFSR.FORCED); the handler prints
 * "fault: HFSR=40000000 CFSR=00008200 BFAR=30000000" (PRECISERR | BFARVALID) and exits 2. */
#include "cortexm.h"
#include "fmt.h"
#include "semihost.h"

#define BAD_ADDR 0x30000000u

void HardFault_Handler(void)
{
    char line[64];
    char *p = fmt_str(line, "fault: HFSR=");
    p = fmt_hex32(p, SCB_HFSR);
    p = fmt_str(p, " CFSR=");
    p = fmt_hex32(p, SCB_CFSR);
    p = fmt_str(p, " BFAR=");
    p = fmt_hex32(p, SCB_BFAR);
    p = fmt_str(p, "\n");
    *p = '\0';
    sh_write0(line);
    sh_exit(2);
}

int main(void)
{
    (void)REG32(BAD_ADDR);
    sh_fail("fault: the load from 0x30000000 did not fault\n", 1);
}
