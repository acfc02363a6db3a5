/* SPDX-License-Identifier: MIT */
/* bench: an endless, deterministic workload for the simulator's speed benchmark
 * (bench/sim_mips.c). A mix of table lookups, shifts, multiplies, loads/stores and branches:
 * CRC-32 of a RAM buffer that is then rewritten from the CRC, forever. The benchmark runs it
 * for a fixed span of virtual time; `bench_rounds` counts finished rounds. */
#include <stdint.h>

#include "board.h"

volatile uint32_t bench_rounds;
static uint32_t table[256];
static uint8_t buf[1024];

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

int main(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (uint32_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7u);
    for (;;) {
        uint32_t c = crc32(buf, sizeof buf);
        for (uint32_t i = 0; i < sizeof buf; i += 4) {
            c = c * 1664525u + 1013904223u;
            buf[i] = (uint8_t)c;
            buf[i + 1] = (uint8_t)(c >> 8);
        }
        bench_rounds++;
    }
}
