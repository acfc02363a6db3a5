/* SPDX-License-Identifier: MIT */
/* Cortex-M core registers used by the lode test firmware (ARMv7-M Architecture Reference
 * Manual, System Control Space and debug components). */
#ifndef FW_CORTEXM_H
#define FW_CORTEXM_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define REG8(addr)  (*(volatile uint8_t *)(uintptr_t)(addr))

/* SysTick */
#define SYST_CSR   REG32(0xE000E010u) /* CTRL */
#define SYST_RVR   REG32(0xE000E014u) /* LOAD */
#define SYST_CVR   REG32(0xE000E018u) /* VAL */
#define SYST_CALIB REG32(0xE000E01Cu)
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2) /* 1 = processor clock */
#define SYST_CSR_COUNTFLAG (1u << 16)

/* System Control Block */
#define SCB_VTOR  REG32(0xE000ED08u)
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CFSR  REG32(0xE000ED28u)
#define SCB_HFSR  REG32(0xE000ED2Cu)
#define SCB_BFAR  REG32(0xE000ED38u)
#define SCB_CPACR REG32(0xE000ED88u)
#define CFSR_UNDEFINSTR (1u << 16)
#define CFSR_PRECISERR  (1u << 9)
#define CFSR_BFARVALID  (1u << 15)
#define HFSR_FORCED     (1u << 30)

/* Debug Exception and Monitor Control */
#define DEMCR REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)

/* Instrumentation Trace Macrocell */
#define ITM_STIM(n)  REG32(0xE0000000u + 4u * (n))
#define ITM_STIM8(n) REG8(0xE0000000u + 4u * (n))
#define ITM_TER      REG32(0xE0000E00u)
#define ITM_TCR      REG32(0xE0000E80u)
#define ITM_LAR      REG32(0xE0000FB0u)
#define ITM_LAR_KEY  0xC5ACCE55u
#define ITM_TCR_ITMENA (1u << 0)
#define ITM_TCR_TRACEBUSID(id) ((uint32_t)(id) << 16)
#define ITM_STIM_FIFOREADY (1u << 0)

static inline void cpu_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void cpu_dsb_isb(void) { __asm__ volatile("dsb\n\tisb" ::: "memory"); }

#endif
