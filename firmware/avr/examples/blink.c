/* SPDX-License-Identifier: MIT */
/* blink: the Uno's LED (pin 13, PB5) on and off every 500 ms, for ever; one line per blink on
 * the serial line.
 *
 *     $ lode run --board uno build/firmware-avr/examples/blink-uno.elf --timeout 3
 *     blink 1
 *     ...                              (lode exits 124 at the timeout, or Ctrl-C: 130) */
#include <avr/io.h>
#include <stdio.h>
#include <util/delay.h>

#include "lode_link.h"

int main(void)
{
    lode_link_init();
    lode_link_stdio();
    DDRB |= _BV(DDB5);
    for (unsigned long n = 1;; n++) {
        PORTB ^= _BV(PORTB5);
        printf("blink %lu\n", n);
        _delay_ms(500);
    }
}
