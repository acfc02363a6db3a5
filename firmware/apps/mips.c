/* SPDX-License-Identifier: MIT */
/* mips: compute kernels for bench/sim_vs_qemu.c, the same Cortex-M3 ELF on lode's simulator
 * and on qemu-system-arm (linked like crosscheck: it runs on QEMU's stm32vldiscovery too).
 * The command line (SYS_GET_CMDLINE) is "KERNEL ROUNDS":
 *   alu    xorshift32 and multiply-accumulate in registers: no memory traffic;
 *   store  word stores sweeping a 2 KiB RAM buffer;
 *   mixed  CRC-32 over a 1 KiB buffer with a table, then the buffer rewritten from the CRC
 *          (loads, stores, shifts and branches, like firmware/apps/bench.c).
 * It prints "KERNEL ROUNDS CHECKSUM" (both simulators must agree) and exits through
 * semihosting. ROUNDS 0 measures everything but the kernel. */
#include <stdint.h>

#include "board.h"
#include "fmt.h"
#include "semihost.h"

#define SYS_GET_CMDLINE 0x15u

static char cmdline[64];
static uint32_t table[256];
static uint8_t buf[1024];
static volatile uint32_t words[512];

static uint32_t parse_u32(const char *s)
{
    uint32_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10u + (uint32_t)(*s++ - '0');
    return v;
}

static uint32_t k_alu(uint32_t rounds)
{
    uint32_t x = 2463534242u, acc = 0;
    for (uint32_t r = 0; r < rounds; r++)
        for (uint32_t i = 0; i < 64; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            acc += x * 2654435761u + (acc >> 3);
        }
    return acc ^ x;
}

static uint32_t k_store(uint32_t rounds)
{
    uint32_t v = 1;
    for (uint32_t r = 0; r < rounds; r++)
        for (uint32_t i = 0; i < 512; i += 4) {
            words[i] = v;
            words[i + 1] = v + 1u;
            words[i + 2] = v + 2u;
            words[i + 3] = v + 3u;
            v += 4u;
        }
    return words[0] ^ words[511] ^ v;
}

static uint32_t k_mixed(uint32_t rounds)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (uint32_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7u);
    uint32_t crc = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t c = 0xFFFFFFFFu;
        for (uint32_t i = 0; i < sizeof buf; i++)
            c = table[(c ^ buf[i]) & 0xFFu] ^ (c >> 8);
        crc = ~c;
        for (uint32_t i = 0; i < sizeof buf; i += 4) {
            c = c * 1664525u + 1013904223u;
            buf[i] = (uint8_t)c;
            buf[i + 1] = (uint8_t)(c >> 8);
        }
    }
    return crc;
}

int main(void)
{
    uint32_t block[2] = {(uint32_t)(uintptr_t)cmdline, sizeof cmdline - 1u};
    if (sh_call(SYS_GET_CMDLINE, block) != 0)
        sh_fail("mips: no command line\n", 2);
    const char *k = cmdline;
    const char *sp = cmdline;
    while (*sp && *sp != ' ')
        sp++;
    uint32_t rounds = *sp ? parse_u32(sp + 1) : 0;
    uint32_t sum;
    if (k[0] == 'a')
        sum = k_alu(rounds);
    else if (k[0] == 's')
        sum = k_store(rounds);
    else if (k[0] == 'm')
        sum = k_mixed(rounds);
    else
        sh_fail("mips: kernel is alu, store or mixed\n", 2);
    char out[64];
    char *p = fmt_str(out, k[0] == 'a' ? "alu " : k[0] == 's' ? "store " : "mixed ");
    p = fmt_udec(p, rounds);
    *p++ = ' ';
    p = fmt_hex32(p, sum);
    *p++ = '\n';
    *p = 0;
    sh_write0(out);
    sh_exit_ok();
}
