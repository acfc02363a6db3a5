/* SPDX-License-Identifier: MIT */
/* STM32F103C8 console: USART1, TX on PA9, 115200 8N1 from PCLK2 = 72 MHz. The programs assume
 * the core already runs at 72 MHz (the simulated board does this at reset); they set up no
 * clocks and never wait on RCC ready bits. */
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
