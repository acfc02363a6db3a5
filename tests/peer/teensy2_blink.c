/* SPDX-License-Identifier: MIT */
/* A Teensy 2.0 (ATmega32U4) program for the HalfKay peer test, built with avr-gcc: blinks the
 * LED on PD6 and, when PB0 is pulled low, jumps into the bootloader at 0x7E00 as Teensyduino's
 * reboot code does (which is how loaders recognise a Teensy 2.0 image). A table in flash makes
 * the image span many 128-byte blocks. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <stdint.h>

#define N 6000
static const uint8_t pattern[N] PROGMEM = {
#define R8(i) (uint8_t)((i) * 151u + 7u), (uint8_t)((i) * 151u + 158u), (uint8_t)((i) * 151u + 53u), \
              (uint8_t)((i) * 151u + 204u), (uint8_t)((i) * 151u + 99u), (uint8_t)((i) * 151u + 250u), \
              (uint8_t)((i) * 151u + 145u), (uint8_t)((i) * 151u + 40u)
#define R64(i) R8(i), R8(i + 1), R8(i + 2), R8(i + 3), R8(i + 4), R8(i + 5), R8(i + 6), R8(i + 7)
#define R512(i) R64(i), R64(i + 8), R64(i + 16), R64(i + 24), R64(i + 32), R64(i + 40), R64(i + 48), R64(i + 56)
    R512(0), R512(64), R512(128), R512(192), R512(256), R512(320), R512(384), R512(448), R512(512),
    R512(576), R512(640)};

static void reboot(void)
{
    cli();
    __asm__ volatile("jmp 0x7E00\n1: rjmp 1b\n cli\n");
}

int main(void)
{
    DDRD |= 1u << 6;
    PORTB |= 1u << 0; /* pull-up */
    for (uint16_t i = 0;; i = (uint16_t)((i + 1) % N)) {
        if (pgm_read_byte(&pattern[i]) & 0x80)
            PORTD ^= 1u << 6;
        if (!(PINB & 1u))
            reboot();
    }
}
