/* SPDX-License-Identifier: MIT */
/* What each chip's board.c provides to the programs. */
#ifndef FW_BOARD_H
#define FW_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Called by the reset handler before main: clocks. STM32F103: HSE 8 MHz -> PLL x9 = 72 MHz
 * (flash 2 wait states, APB1 /2); if the HSE does not start, the chip stays on the 8 MHz HSI. */
void board_init(void);

extern const char board_chip_name[]; /* "STM32F103C8", "nRF52840" */
extern const uint32_t board_core_hz; /* core clock after reset as the programs assume it */

/* Console UART, 115200 8N1: STM32F103 USART1 TX on PA9, nRF52840 UARTE0 TX on P0.06.
 * The write functions block until the bytes are handed to the hardware; board_uart_flush
 * waits until the last byte has left. On a timeout they exit through semihosting (code 1). */
void board_uart_init(void);
void board_uart_write(const char *s, size_t len);
void board_uart_puts(const char *s);
void board_uart_flush(void);

#endif
