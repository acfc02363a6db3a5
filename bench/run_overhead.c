/* SPDX-License-Identifier: MIT */
/* `lode run` costs, in the simulator's virtual time, through the simulated CMSIS-DAP v2 probe
 * (high speed, 512-byte packets x 4, SWD 10 MHz), the path `lode run --probe sim` takes:
 *  1. one semihosting WRITE round trip: the hello example (one SYS_WRITE0, one SYS_EXIT) run
 *     twice from reset; the difference between a run with N extra writes is not available
 *     from firmware we ship, so the cost is (run time - firmware's own time) / calls, where the
 *     firmware's own time is the same image run through the back door (no probe);
 *  2. run-to-exit overhead on an already-flashed image: the flash step (nothing to do: every
 *     sector matches) + reset + run, against the firmware's own run time.
 * Usage: bench_run_overhead [firmware-dir] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/error.h"
#include "lode/flash.h"
#include "lode/run.h"
#include "lode/semihost.h"
#include "lode/cmsis_dap.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "stamp.h"
#include "vclock.h"

static void quiet(void *c, int fd, const uint8_t *d, size_t n)
{
    (void)c;
    (void)fd;
    (void)d;
    (void)n;
}
int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : LODE_FW_DIR;
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/hello-stm32f103.elf", dir);
    lode_image_s *img = NULL;
    if (lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) != LODE_OK) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        return 1;
    }

    /* the firmware's own time: back door, no probe */
    lode_sim_s *bd = NULL;
    lode_sim_config_s sc = {.chip = "STM32F103C8", .swd_hz = 10000000};
    lode_sim_new(&sc, &bd);
    lode_sim_load_elf(bd, path);
    lode_semihost_config_s bshc = {
        .io = {.mem_read = lode_sim_sh_mem_read, .mem_write = lode_sim_sh_mem_write,
               .console_write = quiet, .time_us = lode_sim_sh_time_us, .ctx = bd},
        .cmdline = "hello"};
    lode_semihost_s *bsh = NULL;
    lode_semihost_new(&bshc, &bsh);
    lode_sim_program_result_s pr;
    uint64_t b0 = lode_sim_now(bd);
    lode_sim_run_program(bd, bsh, b0 + 10000000000000ull, &pr);
    double own = (double)(lode_sim_now(bd) - b0) / 1e12;
    lode_semihost_free(bsh);
    lode_sim_free(bd);

    /* the probe path */
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_sim_new(&sc, &sim);
    lode_sim_dap_config_s dc = {.version = 2};
    lode_sim_dap_new(sim, &dc, &dap);
    lode_sim_dap_transport(dap, &tr);
    lode_probe_s *cfg_probe = NULL;
    lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &cfg_probe);
    lode_session_config_s cfg = {.probe = cfg_probe, .close_probe = true, .swd_hz = 10000000, .now_us = v_now,
                                 .delay_us = v_delay, .time_user = sim};
    if (lode_session_open(&cfg, &s) != LODE_OK) {
        fprintf(stderr, "bench: no session\n");
        return 1;
    }
    lode_core_ops_s core;
    lode_session_core_ops(s, &core);
    const lode_target_chip_s *chip = lode_session_chip(s, NULL);
    lode_flash_result_s fr;
    lode_flash_opts_s fo = {.skip_unchanged = true};
    lode_flash_image(&core, chip, img, &fo, NULL, &fr); /* first time: really flashes */

    lode_semihost_config_s shc = {.io = lode_semihost_io_core(&core), .cmdline = "hello"};
    shc.io.console_write = quiet;
    double total = 0, run = 0, flashcheck = 0;
    uint64_t calls = 0;
    const int reps = 5;
    for (int i = 0; i < reps; i++) {
        uint64_t t0 = lode_sim_now(sim);
        lode_flash_image(&core, chip, img, &fo, NULL, &fr); /* already flashed: skipped */
        uint64_t t1 = lode_sim_now(sim);
        lode_semihost_s *sh = NULL;
        lode_semihost_new(&shc, &sh);
        lode_run_config_s rc = {.core = &core, .sh = sh, .reset_first = true};
        lode_run_result_s res;
        lode_cmsis_dap_stats_s st0, st1;
        lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(s)), &st0);
        lode_run(&rc, &res);
        lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(s)), &st1);
        if (i == 0)
            printf("  probe commands for reset + run: %llu (%llu register transfers)\n",
                   (unsigned long long)(st1.commands - st0.commands),
                   (unsigned long long)(st1.transfers - st0.transfers));
        uint64_t t2 = lode_sim_now(sim);
        lode_semihost_free(sh);
        flashcheck += (double)(t1 - t0) / 1e12;
        run += (double)(t2 - t1) / 1e12;
        total += (double)(t2 - t0) / 1e12;
        calls += res.semihost_calls;
    }
    flashcheck /= reps;
    run /= reps;
    total /= reps;
    double per_call = (run - own) / ((double)calls / reps);
    printf("lode run on the simulated STM32F103C8 through CMSIS-DAP v2 (SWD 10 MHz), virtual time,\n"
           "examples/hello (%llu semihosting calls per run), mean of %d runs:\n",
           (unsigned long long)(calls / reps), reps);
    printf("  firmware's own run time (back door, no probe):   %8.3f ms\n", own * 1e3);
    printf("  flash step on an already-flashed image (skipped): %8.3f ms (%zu sectors erased)\n",
           flashcheck * 1e3, fr.sectors_erased);
    printf("  reset + run to exit through the probe:            %8.3f ms\n", run * 1e3);
    printf("  run-to-exit overhead (total - firmware's time):   %8.3f ms\n", (total - own) * 1e3);
    printf("  one semihosting call round trip (WRITE0/EXIT):    %8.3f ms (run overhead / calls)\n",
           per_call * 1e3);

    /* steady state: examples/args prints one line per argument, one call each; the time
     * between the first and the last console write over the calls in between */
    char apath[1024];
    snprintf(apath, sizeof apath, "%s/examples/args-stm32f103.elf", dir);
    lode_image_s *aimg = NULL;
    if (lode_image_load_file(apath, LODE_IMAGE_AUTO, 0, false, NULL, &aimg) == LODE_OK &&
        lode_flash_image(&core, chip, aimg, &fo, NULL, &fr) == LODE_OK) {
        stamp_s st;
        lode_semihost_config_s ashc = {.io = stamp_io(&st, sim, &core),
                                       .cmdline = "args a b c d e f g h i j k l m n o p q r s t"};
        lode_semihost_s *sh = NULL;
        lode_semihost_new(&ashc, &sh);
        lode_run_config_s rc = {.core = &core, .sh = sh, .reset_first = true};
        lode_run_result_s res;
        lode_cmsis_dap_stats_s a0, a1;
        lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(s)), &a0);
        lode_run(&rc, &res);
        lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(s)), &a1);
        if (st.n > 1)
            printf("  one console call, steady state (examples/args, %u calls): %.3f ms "
                   "(%.1f probe commands per call over the whole run)\n", st.n,
                   stamp_ms_per_call(&st),
                   (double)(a1.commands - a0.commands) / (double)res.semihost_calls);
        lode_semihost_free(sh);
    }
    lode_image_free(aimg);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_free(sim);
    lode_image_free(img);
    return 0;
}
