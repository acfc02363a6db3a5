/* SPDX-License-Identifier: MIT */
/* The lode serial link's port for the STM32F1's USART1 on PA9 (TX) / PA10 (RX), RM0008 §27
 * and §9. The bus clock is LODE_LINK_PCLK2 (default 8 MHz: the HSI the chip resets to, and what
 * the system bootloader's Go leaves running); a board that switches clocks defines its own. */
#include <stdint.h>

#include "lode_link.h"

#ifndef LODE_LINK_PCLK2
#define LODE_LINK_PCLK2 8000000u
#endif

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC_APB2ENR REG(0x40021018u)
#define GPIOA_CRH REG(0x40010804u)
#define USART1_SR REG(0x40013800u)
#define USART1_DR REG(0x40013804u)
#define USART1_BRR REG(0x40013808u)
#define USART1_CR1 REG(0x4001380Cu)
#define SR_RXNE (1u << 5)
#define SR_TC (1u << 6)
#define SR_TXE (1u << 7)

void lode_link_port_init(uint32_t baud)
{
    RCC_APB2ENR |= (1u << 14) | (1u << 2);                  /* USART1, GPIOA */
    GPIOA_CRH = (GPIOA_CRH & ~0xFF0u) | 0x4B0u;             /* PA9 AF push-pull 50 MHz, PA10 input */
    USART1_BRR = (LODE_LINK_PCLK2 + baud / 2u) / baud;
    USART1_CR1 = (1u << 13) | (1u << 3) | (1u << 2);        /* UE, TE, RE: 8N1 */
}

void lode_link_port_putc(uint8_t b)
{
    while (!(USART1_SR & SR_TXE))
        ;
    USART1_DR = b;
}

int lode_link_port_getc(uint16_t timeout_ms)
{
    /* about 4 cycles a turn */
    uint32_t turns = (uint32_t)timeout_ms * (LODE_LINK_PCLK2 / 4000u);
    for (uint32_t n = 0; timeout_ms == 0xFFFFu || n < turns; n++)
        if (USART1_SR & SR_RXNE)
            return (int)(USART1_DR & 0xFFu);
    return -1;
}

void lode_link_port_flush(void)
{
    while (!(USART1_SR & SR_TC))
        ;
}

void lode_link_port_halt(void)
{
    __asm__ volatile("cpsid i");
    for (;;)
        __asm__ volatile("wfi");
}

void lode_link_stdio(void) {} /* the ARM examples print with lode_link_puts */
