/* SPDX-License-Identifier: MIT */
/* ATSAMD21G18A (Arduino Zero): board_init runs the core at 48 MHz from the DFLL48M; console on
 * SERCOM5 (the Zero's EDBG port, "Serial": PB22 TX, PB23 RX), 115200 8N1. */
#include "board.h"
#include "samd21g18a.h"
#include "semihost.h"

const char board_chip_name[] = "ATSAMD21G18A";
const uint32_t board_core_hz = 48000000u;

#define UART_SPIN_LIMIT 10000000u

static void wait_flag(uint8_t bit)
{
    for (uint32_t n = 0; !(US_INTFLAG(ZERO_SERCOM) & bit); n++)
        if (n == UART_SPIN_LIMIT)
            sh_fail("uart: timeout waiting on SERCOM5 INTFLAG\n", 1);
}

void board_init(void) { samd21_clock_48mhz(); }

void board_uart_init(void)
{
    zero_console_pins();
    samd21_usart_init(ZERO_SERCOM, board_core_hz, 115200u);
}

void board_uart_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        wait_flag(US_INT_DRE);
        US_DATA(ZERO_SERCOM) = (uint8_t)s[i];
    }
}

void board_uart_puts(const char *s)
{
    size_t len = 0;
    while (s[len])
        len++;
    board_uart_write(s, len);
}

void board_uart_flush(void) { wait_flag(US_INT_TXC); }
