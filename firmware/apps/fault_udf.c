/* SPDX-License-Identifier: MIT */
/* An undefined instruction (UDF). UsageFault is not enabled, so it escalates to HardFault;
 * the handler prints "fault_udf: HFSR=40000000 CFSR=00010000" (UFSR.UNDEFINSTR) and exits 4. */
#include "cortexm.h"
#include "fmt.h"
#include "semihost.h"

void HardFault_Handler(void)
{
    char line[48];
    char *p = fmt_str(line, "fault_udf: HFSR=");
    p = fmt_hex32(p, SCB_HFSR);
    p = fmt_str(p, " CFSR=");
    p = fmt_hex32(p, SCB_CFSR);
    p = fmt_str(p, "\n");
    *p = '\0';
    sh_write0(line);
    sh_exit(4);
}

int main(void)
{
    __asm__ volatile("udf #0");
    sh_fail("fault_udf: UDF did not fault\n", 1);
}
