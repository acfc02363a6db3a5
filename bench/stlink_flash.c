/* SPDX-License-Identifier: MIT */
/* `lode flash --verify` of a 64 KiB image to the simulated STM32F103C8 behind the simulated
 * ST-Link/V2 (full-speed USB model, SWD 4 MHz), in the sim's virtual time (deterministic): the
 * whole session as a user runs it (connect, identify the chip, reset-halt, erase, program,
 * verify, reset and run), against the flash-physics bound of the operation: one mass erase
 * (20 ms) plus 32768 half-word programs of 52.5 us (DS5319 typical figures, as modelled).
 * The same with --no-stream (one algorithm call per page), and through the simulated
 * CMSIS-DAP v2 for comparison. bench/stlink_vs_openocd.sh runs OpenOCD on the same model.
 * Then a 16-byte image through both probes at the same clock (`lode flash`'s default 4 MHz),
 * against its bound: one page erase plus 8 half-word programs; and 4 KiB (four page erases
 * and 2048 half-words).
 * Usage: bench_stlink_flash [--write-image FILE | --trace]   (FILE: the 64 KiB image, for
 * OpenOCD; --trace: each ST-Link command of the 16-byte run with its virtual time) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/flash.h"
#include "lode/cmsis_dap.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "lode/stlink.h"
#include "vclock.h"

#define SWD_HZ 4000000u

static uint8_t image[64 * 1024];

/* --trace: every simulated ST-Link command of the 16-byte run, stamped with virtual time */
static bool trace;
static void trace_log(void *u, lode_log_level_e lv, lode_log_cat_e cat, const char *msg)
{
    (void)lv;
    (void)cat;
    printf("  %10.3f ms  %s\n", (double)lode_sim_now(u) / 1e9, msg);
}

static void make_image(void)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof image; i++) {
        x = x * 1103515245u + 12345u;
        image[i] = (uint8_t)(x >> 16);
    }
    /* a valid vector table (SP, reset handler in flash) so the core runs after the reset */
    const uint32_t vt[2] = {0x20005000u, 0x08000101u};
    memcpy(image, vt, sizeof vt);
}

typedef struct result_s {
    double total_s, flash_s;
    uint64_t commands;
} result_s;

/* 16 bytes: a vector table and two words of code, no half-word erased (all 8 programmed) */
static const uint8_t small[16] = {0x00, 0x50, 0x00, 0x20, 0x09, 0x00, 0x00, 0x08,
                                  0xFE, 0xE7, 0xFE, 0xE7, 0x78, 0x56, 0x34, 0x12};

/* stlink: 1 = simulated ST-Link, 0 = simulated CMSIS-DAP v2; the image: data, len */
static int run(int stlink, bool no_stream, const uint8_t *data, size_t len, result_s *out)
{
    lode_sim_config_s cfg = {.chip = "STM32F103C8", .swd_hz = SWD_HZ};
    lode_sim_s *sim = NULL;
    lode_sim_stlink_s *st = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_stlink_io_s io;
    int rc = lode_sim_new(&cfg, &sim);
    if (rc != LODE_OK)
        return rc;
    lode_sim_erase_all(sim);
    uint64_t t0 = lode_sim_now(sim);
    lode_session_config_s sc = {.close_probe = true, .swd_hz = SWD_HZ, .now_us = v_now, .delay_us = v_delay, .time_user = sim};
    if (stlink) {
        lode_sim_stlink_config_s stc = {0};
        if (trace && len < 64)
            stc.log = (lode_log_s){.fn = trace_log, .user = sim, .max_level = LODE_LOG_DEBUG};
        rc = lode_sim_stlink_new(sim, &stc, &st);
        if (rc == LODE_OK) {
            lode_sim_stlink_io(st, &io);
            rc = lode_probe_stlink_new(&io, false, NULL, NULL, &sc.probe);
        }
    } else {
        lode_sim_dap_config_s dc = {.version = 2};
        rc = lode_sim_dap_new(sim, &dc, &dap);
        if (rc == LODE_OK)
            rc = lode_sim_dap_transport(dap, &tr);
        if (rc == LODE_OK)
            rc = lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &sc.probe);
    }
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &s);
    lode_image_s *img = NULL;
    if (rc == LODE_OK)
        rc = lode_image_from_bin(data, len, 0x08000000u, &img);
    if (rc == LODE_OK) {
        lode_core_ops_s core;
        lode_session_core_ops(s, &core);
        lode_flash_opts_s o = {.verify = true, .no_stream = no_stream};
        lode_flash_result_s res;
        uint64_t f0 = lode_sim_now(sim);
        if (trace && stlink && len < 64)
            printf("  %10.3f ms  -- lode_flash_image starts\n", (double)f0 / 1e9);
        rc = lode_flash_image(&core, lode_session_chip(s, NULL), img, &o, NULL, &res);
        out->flash_s = (double)(lode_sim_now(sim) - f0) / 1e12;
        if (trace && stlink && len < 64)
            printf("  %10.3f ms  -- lode_flash_image returns\n", (double)lode_sim_now(sim) / 1e9);
        if (rc == LODE_OK)
            rc = core.reset(core.ctx, false);
        if (rc == LODE_OK) { /* what was written is what the image holds */
            static uint8_t back[sizeof image];
            lode_sim_mem_read(sim, 0x08000000u, back, len);
            if (memcmp(back, data, len) != 0)
                rc = LODE_E_VERIFY;
        }
    }
    lode_session_close(s);
    out->total_s = (double)(lode_sim_now(sim) - t0) / 1e12;
    if (dap)
        out->commands = lode_sim_dap_packets(dap);
    if (st) {
        lode_sim_stlink_stats_s ss;
        lode_sim_stlink_stats(st, &ss);
        out->commands = ss.commands;
    }
    lode_image_free(img);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_stlink_free(st);
    lode_sim_free(sim);
    return rc;
}

/* The flash operation of `data` through both probes against `bound` (seconds). */
static void small_runs(const uint8_t *data, size_t len, double bound)
{
    for (int k = 1; k >= 0; k--) {
        result_s sm = {0};
        if (run(k, false, data, len, &sm) == LODE_OK)
            printf("  %s: %.3f ms = %.1f %% of the bound (whole session %.3f ms, %llu %s)\n",
                   k ? "simulated ST-Link/V2  " : "simulated CMSIS-DAP v2", sm.flash_s * 1e3,
                   100.0 * bound / sm.flash_s, sm.total_s * 1e3, (unsigned long long)sm.commands,
                   k ? "ST-Link commands" : "CMSIS-DAP packets");
        else
            printf("  %s: failed\n", k ? "simulated ST-Link/V2" : "simulated CMSIS-DAP v2");
    }
}

int main(int argc, char **argv)
{
    make_image();
    if (argc == 2 && !strcmp(argv[1], "--trace"))
        trace = true;
    else if (argc == 3 && !strcmp(argv[1], "--write-image")) {
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(image, 1, sizeof image, f) != sizeof image) {
            perror(argv[2]);
            return 1;
        }
        fclose(f);
        return 0;
    }
    const double bound = 0.020 + 32768 * 52.5e-6; /* mass erase + 32768 half-word programs */
    printf("lode flash --verify, 64 KiB to the simulated STM32F103C8, SWD 4 MHz, virtual time\n");
    printf("  flash-physics bound (mass erase 20 ms + 32768 x 52.5 us):  %.4f s\n", bound);
    result_s r = {0};
    int rc = run(1, false, image, sizeof image, &r);
    if (rc != LODE_OK) {
        printf("  simulated ST-Link/V2: failed: %s\n", lode_strerror(rc));
        return 1;
    }
    printf("  simulated ST-Link/V2 (FS USB), whole session:  %.4f s = %.1f %% of the bound "
           "(flash+verify %.4f s, %llu ST-Link commands)\n",
           r.total_s, 100.0 * bound / r.total_s, r.flash_s, (unsigned long long)r.commands);
    result_s ns = {0};
    if (run(1, true, image, sizeof image, &ns) == LODE_OK)
        printf("  the same with --no-stream (a call per page):    %.4f s = %.1f %% of the bound "
               "(%llu ST-Link commands)\n",
               ns.total_s, 100.0 * bound / ns.total_s, (unsigned long long)ns.commands);
    result_s d = {0};
    if (run(0, false, image, sizeof image, &d) == LODE_OK)
        printf("  simulated CMSIS-DAP v2 (HS USB), whole session: %.4f s = %.1f %% of the bound "
               "(%llu CMSIS-DAP packets)\n",
               d.total_s, 100.0 * bound / d.total_s, (unsigned long long)d.commands);
    /* a 16-byte image: one page erase (20 ms) and 8 half-words; the figure is the flash
     * operation (reset-halt, algorithm upload, erase, program, verify), as `lode flash`
     * reports it, without the session's connect and the final reset */
    const double bound16 = 0.020 + 8 * 52.5e-6;
    printf("16-byte image (--verify), flash-physics bound (page erase 20 ms + 8 x 52.5 us): %.2f ms\n",
           bound16 * 1e3);
    small_runs(small, sizeof small, bound16);
    /* 4 KiB (the first 4 KiB of the 64 KiB image): four page erases and 2048 half-words */
    const double bound4k = 4 * 0.020 + 2048 * 52.5e-6;
    printf("4 KiB image (--verify), bound (4 page erases + 2048 x 52.5 us): %.2f ms\n", bound4k * 1e3);
    small_runs(image, 4096, bound4k);
    printf("LODE_STLINK_TOTAL_S=%.6f\n", r.total_s);
    printf("LODE_STLINK_COMMANDS=%llu\n", (unsigned long long)r.commands);
    printf("LODE_DAP_TOTAL_S=%.6f\n", d.total_s);
    printf("LODE_DAP_COMMANDS=%llu\n", (unsigned long long)d.commands);
    return 0;
}
