/* SPDX-License-Identifier: MIT */
/* args_link: the args example over the lode serial link on USART1 instead of semihosting, for
 * a board reached through its UART bootloader (no debug probe):
 *
 *     $ lode run --probe stm32-uart:/dev/ttyUSB0 build/firmware/examples/args_link-stm32f103.elf one "two words"
 *     argc=3
 *     argv[0]=build/firmware/examples/args_link-stm32f103.elf
 *     argv[1]=one
 *     argv[2]=two words
 *     $ echo $?
 *     12
 *
 * Exit code: the sum of the lengths of argv[1..], modulo 256, as args.c; 3 when no host answers. */
#include <stdint.h>

#include "lode_link.h"

static void put_uint(unsigned v)
{
    char buf[12];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        lode_link_putchar(buf[--n]);
}

int main(void)
{
    lode_link_init();
    int argc;
    char **argv;
    if (lode_link_args(&argc, &argv) != 0) {
        lode_link_puts("args: no host, or the arguments do not fit\n");
        lode_link_exit(3);
    }
    lode_link_puts("argc=");
    put_uint((unsigned)argc);
    lode_link_putchar('\n');
    unsigned sum = 0;
    for (int i = 0; i < argc; i++) {
        lode_link_puts("argv[");
        put_uint((unsigned)i);
        lode_link_puts("]=");
        lode_link_puts(argv[i]);
        lode_link_putchar('\n');
        for (const char *p = argv[i]; i && *p; p++)
            sum++;
    }
    lode_link_exit((int32_t)(sum % 256u));
}
