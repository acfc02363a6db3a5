/* SPDX-License-Identifier: MIT */
/* STM32F103C8 ("Blue Pill"): board_init switches the core from the 8 MHz HSI to 72 MHz
 * (8 MHz crystal on HSE, PLL x9, RM0008 §7.2); console on USART1, TX on PA9, 115200 8N1 from
 * PCLK2 = 72 MHz. */
#include "board.h"
#include "semihost.h"
#include "stm32f103.h"

const char board_chip_name[] = "STM32F103C8";
const uint32_t board_core_hz = 72000000u;

#define UART_SPIN_LIMIT 10000000u

static void wait_sr(uint32_t bit)
{
    for (uint32_t n = 0; !(USART1_SR & bit); n++)
        if (n == UART_SPIN_LIMIT)
            sh_fail("uart: timeout waiting on USART1_SR\n", 1);
}

#define CLOCK_SPIN_LIMIT 100000u

static int wait_rcc(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    for (uint32_t n = 0; n < CLOCK_SPIN_LIMIT; n++)
        if ((*reg & mask) == want)
            return 0;
    return -1;
}

void board_init(void)
{
    RCC_CR |= RCC_CR_HSEON;
    if (wait_rcc(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY) != 0)
        return; /* no crystal (or a machine without RCC): stay on HSI */
    /* two wait states for 48 < SYSCLK <= 72 MHz, prefetch on (RM0008 §3.3.3) */
    FLASH_ACR = (FLASH_ACR & ~7u) | 2u | (1u << 4);
    /* PLL source HSE, x9; AHB /1, APB2 /1, APB1 /2 (APB1 at most 36 MHz) */
    RCC_CFGR = (RCC_CFGR & ~((0xFu << 18) | (1u << 16) | (1u << 17) | (7u << 8) | (0xFu << 4) | (7u << 11)))
               | (7u << 18) | (1u << 16) | (4u << 8);
    RCC_CR |= RCC_CR_PLLON;
    if (wait_rcc(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY) != 0)
        return;
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;             /* SW = PLL */
    wait_rcc(&RCC_CFGR, 3u << 2, 2u << 2);        /* SWS = PLL */
}

void board_uart_init(void)
{
    RCC_APB2ENR |= RCC_APB2ENR_IOPAEN | RCC_APB2ENR_USART1EN;
    GPIOA_CRH = (GPIOA_CRH & ~(0xFu << 4)) | (GPIO_CFG_AF_PP_50MHZ << 4); /* PA9 */
    /* USARTDIV = 72 MHz / (16 * 115200) = 39.0625: mantissa 39, fraction 1/16. */
    USART1_BRR = (39u << 4) | 1u;
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE;
}

void board_uart_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        wait_sr(USART_SR_TXE);
        USART1_DR = (uint8_t)s[i];
    }
}

void board_uart_puts(const char *s)
{
    size_t len = 0;
    while (s[len])
        len++;
    board_uart_write(s, len);
}

void board_uart_flush(void)
{
    wait_sr(USART_SR_TC);
}
