/* SPDX-License-Identifier: MIT */
/* Reset handler and vector table for every image. FW_NUM_IRQS (set per chip by the build)
 * is the number of device interrupt vectors after the 16 system entries. Every handler is a
 * weak alias of Default_Handler, which reports the exception over semihosting and exits 99;
 * a program overrides one by defining a function of the same name. */
#include <stdint.h>

#include "cortexm.h"
#include "fmt.h"
#include "board.h"
#include "semihost.h"

#ifndef FW_NUM_IRQS
#error "FW_NUM_IRQS must be defined by the build"
#endif

typedef void (*handler_fn)(void);

/* Provided by the linker script (ld/sections.ld). */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

int main(void);
void Reset_Handler(void);
void Default_Handler(void);

#define WEAK_DEFAULT __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK_DEFAULT;
void HardFault_Handler(void) WEAK_DEFAULT;
void MemManage_Handler(void) WEAK_DEFAULT;
void BusFault_Handler(void) WEAK_DEFAULT;
void UsageFault_Handler(void) WEAK_DEFAULT;
void SVC_Handler(void) WEAK_DEFAULT;
void DebugMon_Handler(void) WEAK_DEFAULT;
void PendSV_Handler(void) WEAK_DEFAULT;
void SysTick_Handler(void) WEAK_DEFAULT;

struct vector_table {
    uint32_t *initial_sp;
    handler_fn system[15]; /* exceptions 1..15 */
    handler_fn irq[FW_NUM_IRQS];
};

__attribute__((section(".isr_vector"), used))
const struct vector_table vector_table = {
    .initial_sp = _estack,
    .system = {
        Reset_Handler,      /*  1 Reset */
        NMI_Handler,        /*  2 NMI */
        HardFault_Handler,  /*  3 HardFault */
        MemManage_Handler,  /*  4 MemManage */
        BusFault_Handler,   /*  5 BusFault */
        UsageFault_Handler, /*  6 UsageFault */
        0, 0, 0, 0,         /*  7-10 reserved */
        SVC_Handler,        /* 11 SVCall */
        DebugMon_Handler,   /* 12 DebugMonitor */
        0,                  /* 13 reserved */
        PendSV_Handler,     /* 14 PendSV */
        SysTick_Handler,    /* 15 SysTick */
    },
    .irq = {[0 ... FW_NUM_IRQS - 1] = Default_Handler},
};

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10 and CP11 full access, before any floating-point instruction runs. */
    SCB_CPACR |= 0xFu << 20;
    cpu_dsb_isb();
#endif
    SCB_VTOR = (uint32_t)(uintptr_t)&vector_table;

    for (uint32_t *src = _sidata, *dst = _sdata; dst < _edata;)
        *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;)
        *dst++ = 0;

    board_init();
    sh_exit((uint32_t)main());
}

void Default_Handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    char line[48];
    char *p = fmt_str(line, "lode-fw: unexpected exception ");
    p = fmt_udec(p, ipsr & 0x1FFu);
    *p++ = '\n';
    *p = '\0';
    sh_fail(line, 99);
}
