/* SPDX-License-Identifier: MIT */
/* noise: line noise for the serial link's host side (tests/sim/cli_avr_run.sh). Straight to
 * the UART, past the library's escaping: 8192 bytes from a linear congruential generator, half
 * of them drawn from the frame's own bytes (DLE, 'L', 'D', 'X', 'A', 4, 0; never '=', so the
 * host must pass every byte on unchanged), then near-frames: an exit frame with a wrong CRC,
 * one cut short, a DLE DLE — and then the real exit frame with code 9. lode run must print
 * exactly these bytes and exit 9. The test computes the same bytes. */
#include <stdint.h>

#include "lode_link.h"

static uint32_t x = 12345u;

static uint8_t next_byte(void)
{
    static const uint8_t alphabet[] = {0x10, 'L', 'D', 'X', 'A', 4, 0, 0x10};
    x = x * 1103515245u + 12345u;
    uint8_t b = (x >> 16) & 1u ? alphabet[(x >> 20) & 7u] : (uint8_t)(x >> 24);
    return b == '=' ? '+' : b;
}

int main(void)
{
    lode_link_init();
    for (uint16_t i = 0; i < 8192u; i++)
        lode_link_port_putc(next_byte());
    static const uint8_t near[] = {0x10, 'L', 'D', 'X', 4, 0, 9, 0, 0, 0, 0x12, 0x34, /* wrong CRC */
                                   0x10, 'L', 'D', 'X', 4, 0, 9, /* cut short */
                                   0x10, 0x10, '\n'};
    for (uint8_t i = 0; i < sizeof near; i++)
        lode_link_port_putc(near[i]);
    lode_link_exit(9);
}
