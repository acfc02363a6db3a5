/* SPDX-License-Identifier: MIT */
/* Busy-wait fast-forward (cpu_unicorn.c poll_read): flashing through the simulated CMSIS-DAP
 * with it on and off gives the same virtual time, the same instruction count and the same
 * flash, bit for bit, on both chips; with it on, instructions were really skipped (the flash
 * loaders' BSY/READY polls), and a loop that reads a time-varying register (SysTick) or stores
 * is never skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

typedef struct run_s {
    uint64_t now, insns, skipped;
    double cpu_s;
    uint8_t *flash;
} run_s;

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int flash_once(const char *chip, uint32_t base, const uint8_t *img, size_t len, bool ffwd, run_s *out)
{
    lode_sim_config_s cfg = {.chip = chip};
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_image_s *im = NULL;
    int rc = lode_sim_new(&cfg, &sim);
    if (rc != LODE_OK)
        return rc;
    lode_sim_set_fast_forward(sim, ffwd);
    lode_sim_erase_all(sim);
    lode_sim_dap_config_s dc = {.version = 2};
    rc = lode_sim_dap_new(sim, &dc, &dap);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(dap, &tr);
    lode_session_config_s sc = {.close_probe = true, .now_us = v_now, .delay_us = v_delay, .time_user = sim};
    if (rc == LODE_OK)
        rc = lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &sc.probe);
    double t0 = cpu_s();
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &s);
    if (rc == LODE_OK)
        rc = lode_image_from_bin(img, len, base, &im);
    if (rc == LODE_OK) {
        lode_core_ops_s core;
        lode_session_core_ops(s, &core);
        lode_flash_opts_s o = {.verify = true};
        lode_flash_result_s res;
        rc = lode_flash_image(&core, lode_session_chip(s, NULL), im, &o, NULL, &res);
    }
    out->cpu_s = cpu_s() - t0;
    out->now = lode_sim_now(sim);
    out->insns = lode_sim_instructions(sim);
    out->skipped = lode_sim_fast_forwarded(sim);
    out->flash = malloc(len);
    if (out->flash)
        lode_sim_mem_read(sim, base, out->flash, len);
    lode_image_free(im);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_free(sim);
    return rc;
}

static void test_same_figures(const char *chip, uint32_t base, size_t len)
{
    uint8_t *img = malloc(len);
    REQUIRE(img);
    uint32_t x = 99;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (uint8_t)(x >> 16);
    }
    run_s on = {0}, off = {0};
    CHECK_EQ(flash_once(chip, base, img, len, true, &on), LODE_OK);
    CHECK_EQ(flash_once(chip, base, img, len, false, &off), LODE_OK);
    CHECK_EQ(on.now, off.now);
    CHECK_EQ(on.insns, off.insns);
    CHECK(on.flash && off.flash && memcmp(on.flash, img, len) == 0 && memcmp(off.flash, img, len) == 0);
    CHECK(on.skipped > on.insns / 2); /* most of the loader's instructions are its polls */
    CHECK_EQ(off.skipped, 0);
    printf("  %s %zu KiB: %.6f s virtual, %llu instructions (%llu skipped); host CPU %.3f s with, %.3f s without\n",
           chip, len / 1024, (double)on.now / 1e12, (unsigned long long)on.insns,
           (unsigned long long)on.skipped, on.cpu_s, off.cpu_s);
    free(on.flash);
    free(off.flash);
    free(img);
}

static void test_f103(void) { test_same_figures("STM32F103C8", 0x08000000u, 8192); }
static void test_nrf(void) { test_same_figures("nRF52840_xxAA", 0x00000000u, 8192); }

/* Loops the fast-forward must leave alone, run straight from RAM through the back door:
 * polling SysTick's VAL (time-varying) and polling a stable register while counting in RAM. */
static void run_loop(const uint16_t *code, size_t n, uint64_t *insns, uint64_t *skipped, uint32_t *r0,
                     uint32_t *ram_word)
{
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    lode_sim_s *sim = NULL;
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    uint8_t bytes[64];
    for (size_t i = 0; i < n; i++) {
        bytes[2 * i] = (uint8_t)code[i];
        bytes[2 * i + 1] = (uint8_t)(code[i] >> 8);
    }
    CHECK_EQ(lode_sim_load(sim, 0x20000100u, bytes, 2 * n), LODE_OK);
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    CHECK_EQ(core.halt(core.ctx), LODE_OK);
    CHECK_EQ(core.reg_write(core.ctx, 15, 0x20000101u), LODE_OK);
    CHECK_EQ(core.reg_write(core.ctx, 16, 0x01000000u), LODE_OK);
    CHECK_EQ(core.resume(core.ctx), LODE_OK);
    lode_sim_advance(sim, 2000000000ull); /* 2 ms */
    CHECK_EQ(core.halt(core.ctx), LODE_OK);
    *insns = lode_sim_instructions(sim);
    *skipped = lode_sim_fast_forwarded(sim);
    CHECK_EQ(core.reg_read(core.ctx, 0, r0), LODE_OK);
    uint8_t w[4];
    lode_sim_mem_read(sim, 0x20001000u, w, 4);
    *ram_word = (uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;
    lode_sim_free(sim);
}

static void test_not_skipped(void)
{
    /* r1 = 0xE000E018 (SysTick VAL) set up via MOVW/MOVT; loop: ldr r0,[r1]; b loop */
    const uint16_t systick[] = {0xF24E, 0x0118, 0xF2CE, 0x0100, /* movw r1,#0xE018; movt r1,#0xE000 */
                                0x6808, 0xE7FD};                 /* ldr r0,[r1]; b .-2 */
    uint64_t insns, skipped;
    uint32_t r0, word;
    run_loop(systick, sizeof systick / 2, &insns, &skipped, &r0, &word);
    CHECK(insns > 1000);
    CHECK_EQ(skipped, 0);
    /* RCC_CR (0x40021000, stable) polled while a RAM counter at 0x20001000 counts (a page
     * without code: Unicorn 2.0.1 leaks on stores into a page it translated code from):
     * loop: ldr r0,[r1]; ldr r3,[r2]; adds r3,#1; str r3,[r2]; movs r3,#0; b loop */
    const uint16_t counting[] = {0xF241, 0x0100, 0xF2C4, 0x0102, /* r1 = 0x40021000 */
                                 0xF241, 0x0200, 0xF2C2, 0x0200, /* r2 = 0x20001000 */
                                 0x6808, 0x6813, 0x3301, 0x6013, 0x2300, 0xE7F9};
    run_loop(counting, sizeof counting / 2, &insns, &skipped, &r0, &word);
    CHECK(insns > 1000);
    CHECK_EQ(skipped, 0);
    CHECK(word > 100); /* the counter really ran */
    /* the same poll without the counter is skipped, with the same count as executing it */
    const uint16_t plain[] = {0xF241, 0x0100, 0xF2C4, 0x0102, 0x6808, 0xE7FD};
    uint64_t insns2;
    run_loop(plain, sizeof plain / 2, &insns2, &skipped, &r0, &word);
    CHECK(skipped > insns2 / 2);
    CHECK_EQ(insns2, insns);
}

int main(void)
{
    RUN_TEST(test_f103);
    RUN_TEST(test_nrf);
    RUN_TEST(test_not_skipped);
    return TEST_DONE();
}
