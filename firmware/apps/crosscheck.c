/* SPDX-License-Identifier: MIT */
/* A deterministic computation whose output (semihosting SYS_WRITE0 only) must be identical on
 * QEMU's stm32vldiscovery and on lode's simulated STM32F103C8: CRC-32, multiply/divide, bit
 * instructions, 64-bit arithmetic (libgcc), a bubble sort and an SVC round trip. Exits with
 * SYS_EXIT ApplicationExit. Uses only the Cortex-M3 core and 8 KiB of RAM. */
#include <stdint.h>

#include "fmt.h"
#include "semihost.h"

/* One output line; put() and hex() stop the program rather than run past its end. */
static char line[128];
static char *lp = line;

static void room(uint32_t n)
{
    if ((uint32_t)(line + sizeof line - lp) < n + 2u) /* + newline and terminator */
        sh_fail("crosscheck: line buffer too small\n", 1);
}

static void put(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    room(n);
    lp = fmt_str(lp, s);
}

static void hex(uint32_t v)
{
    room(8);
    lp = fmt_hex32(lp, v);
}

static void hex_kv(const char *key, uint32_t v)
{
    put(" ");
    put(key);
    put("=");
    hex(v);
}

static void end_line(void)
{
    *lp++ = '\n';
    *lp = '\0';
    sh_write0(line);
    lp = line;
}

/* ---- CRC-32 (IEEE, reflected), table built on the target ---- */
static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const void *data, uint32_t len)
{
    const uint8_t *p = data;
    uint32_t c = 0xFFFFFFFFu;
    while (len--)
        c = crc_table[(c ^ *p++) & 0xFFu] ^ (c >> 8);
    return ~c;
}

/* ---- instructions the compiler will not pick on its own ---- */
static uint32_t asm_udiv(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__ volatile("udiv %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static uint32_t asm_rbit(uint32_t a)
{
    uint32_t r;
    __asm__ volatile("rbit %0, %1" : "=r"(r) : "r"(a));
    return r;
}

static uint32_t asm_usat8(int32_t a)
{
    uint32_t r;
    __asm__ volatile("usat %0, #8, %1" : "=r"(r) : "r"(a));
    return r;
}

static uint32_t asm_ssat12(int32_t a)
{
    uint32_t r;
    __asm__ volatile("ssat %0, #12, %1" : "=r"(r) : "r"(a));
    return r;
}

/* ---- SVC: the handler rewrites the stacked r0 to r0 * 3 + r1 ---- */
__attribute__((used)) void svc_dispatch(uint32_t *frame)
{
    frame[0] = frame[0] * 3u + frame[1];
}

__attribute__((naked)) void SVC_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b svc_dispatch\n\t");
}

static uint32_t svc_call(uint32_t a, uint32_t b)
{
    register uint32_t r0 __asm__("r0") = a;
    register uint32_t r1 __asm__("r1") = b;
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* ---- sorting ---- */
static uint32_t lcg_state = 12345u;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state;
}

int main(void)
{
    /* volatile inputs keep the compiler from folding the arithmetic away */
    static volatile uint32_t in_a = 0xDEADBEEFu, in_b = 0x00012345u, in_zero = 0;
    static volatile int32_t in_neg = -123456789, in_small = -7;

    put("crosscheck: begin");
    end_line();

    crc_init();
    static const char check[] = "123456789";
    put("crc32:");
    hex_kv("check", crc32(check, sizeof check - 1));
    hex_kv("table", crc32(crc_table, sizeof crc_table));
    end_line();

    uint32_t a = in_a, b = in_b, z = in_zero;
    int32_t n = in_neg, s = in_small;
    uint64_t wide = (uint64_t)a * b;
    int64_t swide = (int64_t)n * (int64_t)a;
    put("mul:");
    hex_kv("lo", a * b);
    hex_kv("umull_hi", (uint32_t)(wide >> 32));
    hex_kv("smull_hi", (uint32_t)((uint64_t)swide >> 32));
    hex_kv("smull_lo", (uint32_t)swide);
    end_line();

    put("div:");
    hex_kv("udiv", a / b);
    hex_kv("urem", a % b);
    hex_kv("sdiv", (uint32_t)(n / s));
    hex_kv("srem", (uint32_t)(n % s));
    hex_kv("div0", asm_udiv(a, z));
    end_line();

    uint64_t big = ((uint64_t)a << 32) | b;
    put("div64:");
    hex_kv("q_hi", (uint32_t)((big / 1000003u) >> 32));
    hex_kv("q_lo", (uint32_t)(big / 1000003u));
    hex_kv("r", (uint32_t)(big % 1000003u));
    end_line();

    put("bits:");
    hex_kv("clz", (uint32_t)__builtin_clz(b));
    hex_kv("rbit", asm_rbit(a));
    hex_kv("rev", __builtin_bswap32(a));
    hex_kv("ror", (a >> 13) | (a << 19));
    hex_kv("asr", (uint32_t)(n >> 7));
    hex_kv("usat", asm_usat8(n));
    hex_kv("ssat", asm_ssat12(s * 1000));
    end_line();

    uint64_t f0 = 0, f1 = 1;
    for (int i = 0; i < 90; i++) {
        uint64_t t = f0 + f1;
        f0 = f1;
        f1 = t;
    }
    put("fib90:");
    hex_kv("hi", (uint32_t)(f0 >> 32));
    hex_kv("lo", (uint32_t)f0);
    end_line();

    put("svc:");
    hex_kv("r0", svc_call(0x11111111u, 0x01020304u));
    end_line();

    uint32_t v[16];
    for (unsigned i = 0; i < 16; i++)
        v[i] = lcg();
    for (unsigned i = 0; i < 16; i++)
        for (unsigned j = 0; j + 1 < 16 - i; j++)
            if (v[j] > v[j + 1]) {
                uint32_t t = v[j];
                v[j] = v[j + 1];
                v[j + 1] = t;
            }
    for (unsigned row = 0; row < 16; row += 4) {
        put("sorted:");
        for (unsigned i = row; i < row + 4; i++) {
            put(" ");
            hex(v[i]);
        }
        end_line();
    }
    put("sorted:");
    hex_kv("crc", crc32(v, sizeof v));
    end_line();

    put("crosscheck: end");
    end_line();
    sh_exit_ok();
}
