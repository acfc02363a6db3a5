/* SPDX-License-Identifier: MIT */
/* The example firmware: greets over the console UART, then the same text over semihosting,
 * then exits with code 3 (SYS_EXIT_EXTENDED) so a runner can tell it finished on purpose:
 *
 *     $ lode run --chip STM32F103C8 hello-stm32f103.elf
 *     Hello from lode on STM32F103C8!
 *     count 1 of 2
 *     count 2 of 2
 *     $ echo $?
 *     3
 */
#include "board.h"
#include "fmt.h"
#include "semihost.h"

#define HELLO_LINES     2
#define HELLO_EXIT_CODE 3

int main(void)
{
    char text[128];
    char *p = fmt_str(text, "Hello from lode on ");
    p = fmt_str(p, board_chip_name);
    p = fmt_str(p, "!\n");
    for (uint32_t i = 1; i <= HELLO_LINES; i++) {
        p = fmt_str(p, "count ");
        p = fmt_udec(p, i);
        p = fmt_str(p, " of ");
        p = fmt_udec(p, HELLO_LINES);
        *p++ = '\n';
    }
    *p = '\0';

    board_uart_init();
    board_uart_puts(text);
    board_uart_flush();

    sh_write0(text);
    sh_exit(HELLO_EXIT_CODE);
}
