/* SPDX-License-Identifier: MIT */
/* zero: hello for the Arduino Zero (ATSAMD21G18A) behind its SAM-BA bootloader, linked at
 * 0x2000. Blinks the "L" LED (PA17) three times, says hello on the console (SERCOM5) through the
 * lode serial link, asks the host for its arguments and exits with the number of them:
 *
 *     $ lode sim-server --board zero --serial-pty /tmp/sim-ttyACM0 &
 *     $ bossac -p /tmp/sim-ttyACM0 --offset=0x2000 -e -w -v -R build/firmware/examples/zero-samd21g18a.bin
 *     $ lode run --board zero --probe /tmp/sim-ttyACM0 build/firmware/examples/zero-samd21g18a.elf a b
 *     hello from the zero
 *     argc=3
 *     $ echo $?
 *     2
 *
 * Exit code: argc - 1; 3 when no host answers. */
#include <stdint.h>

#include "lode_link.h"
#include "samd21g18a.h"

static void delay_cycles(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n / 8u; i++)
        ;
}

int main(void)
{
    PORT_DIRSET(0) = 1u << ZERO_LED_PIN;
    for (int i = 0; i < 6; i++) {
        PORT_OUTTGL(0) = 1u << ZERO_LED_PIN;
        delay_cycles(48000000u / 20u); /* 50 ms */
    }
    lode_link_init();
    lode_link_puts("hello from the zero\n");
    int argc;
    char **argv;
    if (lode_link_args(&argc, &argv) != 0) {
        lode_link_puts("zero: no host, or the arguments do not fit\n");
        lode_link_exit(3);
    }
    lode_link_puts("argc=");
    lode_link_putchar('0' + argc % 10);
    lode_link_putchar('\n');
    for (int i = 1; i < argc; i++) {
        lode_link_puts(argv[i]);
        lode_link_putchar('\n');
    }
    lode_link_exit(argc - 1);
}
