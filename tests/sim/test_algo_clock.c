/* SPDX-License-Identifier: MIT */
/* lode's own STM32F1 flash algorithm through LodeStream: it runs the stream at 64 MHz (HSI/2 x
 * 16; the clock seen while the host waits on the stream) and puts the reset clock back
 * (8 MHz, RCC_CFGR 0, PLL off, FLASH_ACR as before); erased half-words that the image leaves
 * at 0xFFFF are not programmed (a page of 0xFF between data costs no program time). Both
 * chips' figures stay deterministic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

typedef struct clk_s {
    lode_sim_s *sim;
    uint32_t max_hz;
} clk_s;

static uint64_t v_now(void *u) { return lode_sim_now(((clk_s *)u)->sim) / 1000000u; }
static void v_delay(void *u, uint32_t us)
{
    clk_s *c = u;
    uint32_t hz = lode_sim_cpu_hz(c->sim);
    if (hz > c->max_hz)
        c->max_hz = hz;
    lode_sim_advance(c->sim, (uint64_t)us * 1000000u);
}

static uint32_t rd32(lode_sim_s *sim, uint32_t a)
{
    uint8_t b[4] = {0};
    lode_sim_mem_read(sim, a, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* flash `img` to a fresh F103; returns the virtual time of lode_flash_image in ps */
static uint64_t flash_f103(const uint8_t *img, size_t len, uint32_t *max_hz, uint32_t *cfgr, uint32_t *hz_after)
{
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    clk_s c = {0};
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_image_s *im = NULL;
    uint64_t dt = 0;
    if (lode_sim_new(&cfg, &c.sim) != LODE_OK) {
        CHECK(!"lode_sim_new");
        return 0;
    }
    lode_sim_erase_all(c.sim);
    lode_sim_dap_config_s dc = {.version = 2};
    int rc = lode_sim_dap_new(c.sim, &dc, &dap);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(dap, &tr);
    lode_session_config_s sc = {.close_probe = true, .now_us = v_now, .delay_us = v_delay, .time_user = &c};
    if (rc == LODE_OK)
        rc = lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &sc.probe);
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &s);
    if (rc == LODE_OK)
        rc = lode_image_from_bin(img, len, 0x08000000u, &im);
    if (rc == LODE_OK) {
        lode_core_ops_s core;
        lode_session_core_ops(s, &core);
        lode_flash_opts_s o = {.verify = true};
        lode_flash_result_s res;
        uint64_t t0 = lode_sim_now(c.sim);
        c.max_hz = 0;
        rc = lode_flash_image(&core, lode_session_chip(s, NULL), im, &o, NULL, &res);
        dt = lode_sim_now(c.sim) - t0;
    }
    CHECK_EQ(rc, LODE_OK);
    uint8_t *back = malloc(len);
    CHECK(back != NULL);
    if (back) {
        lode_sim_mem_read(c.sim, 0x08000000u, back, len);
        CHECK(memcmp(back, img, len) == 0);
        free(back);
    }
    *max_hz = c.max_hz;
    *cfgr = rd32(c.sim, 0x40021004u);
    *hz_after = lode_sim_cpu_hz(c.sim);
    CHECK_EQ(rd32(c.sim, 0x40021000u) & (1u << 24), 0);        /* PLL off again */
    CHECK_EQ(rd32(c.sim, 0x40022000u) & 7u, 0);                /* no flash wait states */
    lode_image_free(im);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_free(c.sim);
    return dt;
}

static void test_clock_and_skip(void)
{
    uint8_t data[2048], half[2048];
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16) | 1u; /* never a 0xFFFF half-word of its own */
    }
    memcpy(half, data, 1024);
    memset(half + 1024, 0xFF, 1024);
    /* data at both ends of the second page: its 0xFF half-words between are sent (the stream
     * sends a page from its first to its last byte that is not erased) and must be skipped by
     * the algorithm itself */
    memcpy(half + 1024, data + 1024, 2);
    memcpy(half + 2046, data + 2046, 2);
    uint32_t max_hz, cfgr, hz;
    uint64_t t_full = flash_f103(data, sizeof data, &max_hz, &cfgr, &hz);
    CHECK_EQ(max_hz, 64000000u); /* the stream ran at 64 MHz */
    CHECK_EQ(cfgr, 0u);          /* and the reset clock is back */
    CHECK_EQ(hz, 8000000u);
    uint64_t t_half = flash_f103(half, sizeof half, &max_hz, &cfgr, &hz);
    /* 510 half-words of 0xFFFF not programmed: 510 x 52.5 us = 26.8 ms less flash time, of
     * which the stream's overlap with the USB transfers hides some (equal sizes: without the
     * skip both take the same time) */
    CHECK(t_full > t_half + 256ull * 52500000ull);
    uint64_t again = flash_f103(half, sizeof half, &max_hz, &cfgr, &hz);
    CHECK_EQ(again, t_half); /* deterministic */
    printf("  2 KiB of data: %.6f s; 1 KiB + 1 KiB of 0xFF: %.6f s\n", (double)t_full / 1e12, (double)t_half / 1e12);
}

int main(void)
{
    RUN_TEST(test_clock_and_skip);
    return TEST_DONE();
}
