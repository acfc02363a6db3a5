/* SPDX-License-Identifier: MIT */
/* Every firmware image (firmware/README.md) run on the simulated board like `lode run` does:
 * semihosting output, exit code, UART output, the ITM/SWO byte stream, virtual time, fault
 * status registers, and determinism (two runs of an image retire the same instructions in the
 * same virtual time with the same output). */
#include "sim_fw.h"

typedef struct chip_s {
    const char *name;   /* sim chip name */
    const char *suffix; /* firmware file suffix */
    const char *shown;  /* board_chip_name in the firmware */
    const char *uart;   /* console UART port */
    uint32_t hz;
} chip_s;

static const chip_s chips[] = {
    {"STM32F103C8", "stm32f103", "STM32F103C8", "USART1", 72000000u},
    {"nRF52840_xxAA", "nrf52840", "nRF52840", "UARTE0", 64000000u},
};

static fw_run_s *run(const chip_s *c, const char *prog)
{
    fw_run_s *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    char elf[128];
    snprintf(elf, sizeof elf, "%s-%s.elf", prog, c->suffix);
    if (!fw_run(r, c->name, elf, 2 * FW_PS_PER_S)) {
        fw_close(r);
        free(r);
        return NULL;
    }
    return r;
}

static void done(fw_run_s *r)
{
    if (!r)
        return;
    fw_close(r);
    free(r);
}

static void expect_exit(const fw_run_s *r, int code)
{
    CHECK_EQ(r->rc, LODE_OK);
    CHECK(r->res.exited);
    CHECK_EQ(r->res.exit_code, code);
}

static void test_hello(void)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        const chip_s *c = &chips[i];
        fw_run_s *r = run(c, "hello");
        REQUIRE(r);
        char want[128];
        snprintf(want, sizeof want, "Hello from lode on %s!\ncount 1 of 2\ncount 2 of 2\n", c->shown);
        expect_exit(r, 3);
        CHECK_TEXT(r->console.buf, want);
        CHECK_TEXT(r->uart.buf, want);
        CHECK_TEXT(r->uart_port, c->uart);
        /* the program flushes the UART before the semihosting output: at 115200 8N1 each
         * byte takes 10 bit times on the wire */
        uint64_t wire = (uint64_t)strlen(want) * 10u * FW_PS_PER_S / 115200u;
        CHECK(lode_sim_now(r->sim) >= wire);
        CHECK(lode_sim_now(r->sim) < wire + 2 * FW_PS_PER_MS);
        done(r);
    }
}

static void test_systick(void)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        const chip_s *c = &chips[i];
        fw_run_s *r = run(c, "systick");
        REQUIRE(r);
        expect_exit(r, 0);
        CHECK_TEXT(r->console.buf, "systick: 10 ticks\n");
        CHECK_EQ(r->uart.n, 0);
        /* ten SysTick periods of cpu_hz/1000 cycles: 10 ms of virtual time, plus the few
         * hundred instructions around them */
        uint64_t now = lode_sim_now(r->sim);
        CHECK(now >= 10 * FW_PS_PER_MS);
        CHECK(now < 10 * FW_PS_PER_MS + 50 * FW_PS_PER_US);
        /* the core sleeps in WFI: far fewer instructions than 10 ms of cycles */
        CHECK(lode_sim_instructions(r->sim) < (uint64_t)c->hz / 1000u);
        CHECK(lode_sim_instructions(r->sim) > 50u);
        done(r);
    }
}

static void test_faults(void)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        const chip_s *c = &chips[i];
        fw_run_s *r = run(c, "fault");
        REQUIRE(r);
        expect_exit(r, 2);
        CHECK_TEXT(r->console.buf, "fault: HFSR=40000000 CFSR=00008200 BFAR=30000000\n");
        /* the same registers through the bus, as a debugger sees them after the run */
        uint32_t v = 0;
        CHECK_EQ(lode_sim_read32(r->sim, 0xE000ED2Cu, &v), LODE_OK);
        CHECK_EQ(v, 0x40000000u);
        CHECK_EQ(lode_sim_read32(r->sim, 0xE000ED28u, &v), LODE_OK);
        CHECK_EQ(v, 0x00008200u);
        CHECK_EQ(lode_sim_read32(r->sim, 0xE000ED38u, &v), LODE_OK);
        CHECK_EQ(v, 0x30000000u);
        /* still in the HardFault handler when it exited: IPSR = 3 */
        CHECK_EQ(lode_sim_reg_read(r->sim, 16, &v), LODE_OK);
        CHECK_EQ(v & 0x1FFu, 3);
        done(r);

        r = run(c, "fault_udf");
        REQUIRE(r);
        expect_exit(r, 4);
        CHECK_TEXT(r->console.buf, "fault_udf: HFSR=40000000 CFSR=00010000\n");
        CHECK_EQ(lode_sim_read32(r->sim, 0xE000ED28u, &v), LODE_OK);
        CHECK_EQ(v, 0x00010000u);
        done(r);
    }
}

static void test_itm(void)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        const chip_s *c = &chips[i];
        fw_run_s *r = run(c, "itm");
        REQUIRE(r);
        expect_exit(r, 0);
        CHECK_TEXT(r->console.buf, "itm: done\n");
        /* ITM packets (ARMv7-M D4.2): a 1-byte instrumentation packet is header 0x01 | port<<3,
         * a 4-byte one header 0x03 | port<<3, payload little-endian */
        uint8_t want[32];
        size_t n = 0;
        for (const char *s = "ITM hello\n"; *s; s++) {
            want[n++] = 0x01;
            want[n++] = (uint8_t)*s;
        }
        const uint8_t word[] = {0x0B, 0x78, 0x56, 0x34, 0x12};
        memcpy(want + n, word, sizeof word);
        n += sizeof word;
        uint8_t got[64];
        size_t m = lode_sim_swo_read(r->sim, got, sizeof got);
        CHECK_EQ(m, n);
        CHECK(m == n && memcmp(got, want, n) == 0);
        /* read removes the bytes */
        CHECK_EQ(lode_sim_swo_read(r->sim, got, sizeof got), 0);
        done(r);
    }
}

static void test_semihost(void)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        fw_run_s *r = run(&chips[i], "semihost");
        REQUIRE(r);
        expect_exit(r, 0);
        CHECK_TEXT(r->console.buf, "writec ok\nwrite0 ok\nwrite(:tt) ok\nwrite(1) ok\n");
        done(r);
    }
}

static void test_crosscheck(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/firmware/expected/crosscheck-stm32f103.txt", LODE_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    static char want[4096];
    size_t n = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[n] = '\0';
    REQUIRE(n > 100);
    fw_run_s *r = run(&chips[0], "crosscheck");
    REQUIRE(r);
    expect_exit(r, 0);
    CHECK_TEXT(r->console.buf, want);
    done(r);
}

/* Two runs of the same image: same instruction count, virtual time and output. */
static void test_determinism(void)
{
    static const char *const progs[] = {"hello", "systick", "fault", "fault_udf", "itm", "semihost"};
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        for (size_t p = 0; p < sizeof progs / sizeof progs[0]; p++) {
            fw_run_s *a = run(&chips[i], progs[p]);
            fw_run_s *b = run(&chips[i], progs[p]);
            REQUIRE(a && b);
            CHECK(lode_sim_instructions(a->sim) > 0);
            CHECK_EQ(lode_sim_instructions(a->sim), lode_sim_instructions(b->sim));
            CHECK_EQ(lode_sim_now(a->sim), lode_sim_now(b->sim));
            CHECK_TEXT(a->console.buf, b->console.buf);
            CHECK_TEXT(a->uart.buf, b->uart.buf);
            CHECK_EQ(a->res.exit_code, b->res.exit_code);
            uint8_t sa[64], sb[64];
            size_t na = lode_sim_swo_read(a->sim, sa, sizeof sa), nb = lode_sim_swo_read(b->sim, sb, sizeof sb);
            CHECK(na == nb && memcmp(sa, sb, na) == 0);
            done(a);
            done(b);
        }
    }
    fw_run_s *a = run(&chips[0], "crosscheck");
    fw_run_s *b = run(&chips[0], "crosscheck");
    REQUIRE(a && b);
    CHECK_EQ(lode_sim_instructions(a->sim), lode_sim_instructions(b->sim));
    CHECK_EQ(lode_sim_now(a->sim), lode_sim_now(b->sim));
    done(a);
    done(b);
}

int main(void)
{
    RUN_TEST(test_hello);
    RUN_TEST(test_systick);
    RUN_TEST(test_faults);
    RUN_TEST(test_itm);
    RUN_TEST(test_semihost);
    RUN_TEST(test_crosscheck);
    RUN_TEST(test_determinism);
    return TEST_DONE();
}
