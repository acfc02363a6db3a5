/* SPDX-License-Identifier: MIT */
/* Host cost of an exception that is pending but masked (sim/src/board.c run_until).
 *  1. 60 KiB flashed into the STM32F103 through the simulated CMSIS-DAP v2 (lode_flash_image
 *     without a reset first, as GDB's `load` through `lode gdb` does) on a board that has run
 *     firmware/apps/systick.c for 3 ms (halted in its WFI loop, SysTick still counting): SysTick
 *     becomes pending while the flash algorithm runs with PRIMASK set and stays pending for the
 *     rest of the session. Against the same load on the same board halted at reset (SysTick
 *     off). Virtual time, instructions, host CPU and the board's CPU runs for each.
 *  2. A loop of 2^24 iterations in RAM between `cpsid i; pend SysTick` and `cpsie i`: the
 *     instructions per host second, and the CPU runs it took.
 * Usage: bench_masked_irq */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "vclock.h"

#define LOAD_BASE 0x08000000u
#define LOAD_SIZE (60u * 1024)
#define PS_PER_MS 1000000000ull

typedef struct figures_s {
    uint64_t ps, insns, runs;
    double cpu;
} figures_s;

static int flash_after(bool systick_ran, const uint8_t *data, figures_s *f)
{
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_image_s *img = NULL;
    lode_sim_config_s sc = {.chip = "STM32F103C8", .swd_hz = 10000000};
    lode_sim_dap_config_s dc = {.version = 2, .packet_size = 512, .packet_count = 4};
    int rc = lode_sim_new(&sc, &sim);
    if (rc == LODE_OK)
        rc = lode_sim_load_elf(sim, LODE_FW_DIR "/systick-stm32f103.elf");
    if (rc == LODE_OK)
        rc = lode_sim_dap_new(sim, &dc, &dap);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(dap, &tr);
    lode_session_config_s ss = {.close_probe = true, .swd_hz = 10000000, .now_us = v_now,
                                .delay_us = v_delay, .time_user = sim};
    if (rc == LODE_OK)
        rc = lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &ss.probe);
    if (rc == LODE_OK)
        rc = lode_session_open(&ss, &s);
    lode_core_ops_s core;
    if (rc == LODE_OK) {
        lode_session_core_ops(s, &core);
        rc = core.reset(core.ctx, true);
    }
    if (rc == LODE_OK && systick_ran) {
        rc = core.resume(core.ctx);
        lode_sim_advance(sim, 3 * PS_PER_MS);
        if (rc == LODE_OK)
            rc = core.halt(core.ctx);
        uint32_t csr = 0;
        if (rc == LODE_OK && (lode_sim_read32(sim, 0xE000E010u, &csr) != LODE_OK || (csr & 3u) != 3u)) {
            fprintf(stderr, "bench: SysTick is not running after the firmware (CSR %08x)\n", csr);
            rc = LODE_E_VERIFY;
        }
    }
    if (rc == LODE_OK)
        rc = lode_image_from_bin(data, LOAD_SIZE, LOAD_BASE, &img);
    uint64_t t0 = lode_sim_now(sim), i0 = lode_sim_instructions(sim), r0 = lode_sim_cpu_runs(sim);
    double c0 = cpu_s();
    if (rc == LODE_OK) {
        lode_flash_opts_s fo = {.verify = true, .no_reset_halt = true}; /* as lode gdb */
        lode_flash_result_s res;
        rc = lode_flash_image(&core, lode_session_chip(s, NULL), img, &fo, NULL, &res);
    }
    f->cpu = cpu_s() - c0;
    f->ps = lode_sim_now(sim) - t0;
    f->insns = lode_sim_instructions(sim) - i0;
    f->runs = lode_sim_cpu_runs(sim) - r0;
    static uint8_t back[LOAD_SIZE];
    if (rc == LODE_OK && (lode_sim_mem_read(sim, LOAD_BASE, back, sizeof back) != LODE_OK ||
                          memcmp(back, data, sizeof back) != 0)) {
        fprintf(stderr, "bench: the flash does not hold the image\n");
        rc = LODE_E_VERIFY;
    }
    lode_image_free(img);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_free(sim);
    return rc;
}

/* cpsid i; pend SysTick (ICSR.PENDSTSET); r0 = 2^24; loop: subs r0, #1; bne loop; cpsie i;
 * bkpt (the SysTick handler is a bkpt too: the run stops in it) */
static int masked_loop(figures_s *f)
{
    static const uint16_t code[] = {
        0xB672,                         /* cpsid i */
        0xF64E, 0x5104, 0xF2CE, 0x0100, /* movw r1, #0xED04; movt r1, #0xE000: ICSR */
        0xF04F, 0x6280,                 /* mov.w r2, #0x04000000: PENDSTSET */
        0x600A,                         /* str r2, [r1] */
        0xF04F, 0x7080,                 /* mov.w r0, #0x01000000 */
        0x3801, 0xD1FD,                 /* loop: subs r0, #1; bne loop */
        0xB662,                         /* cpsie i */
        0xBE00,                         /* bkpt 0 (not reached: SysTick is taken first) */
        0xBE01,                         /* SysTick handler at +0x1C: bkpt 1 */
    };
    uint8_t bytes[sizeof code];
    for (size_t i = 0; i < sizeof code / 2; i++) {
        bytes[2 * i] = (uint8_t)code[i];
        bytes[2 * i + 1] = (uint8_t)(code[i] >> 8);
    }
    lode_sim_s *sim = NULL;
    lode_sim_config_s sc = {.chip = "STM32F103C8"};
    if (lode_sim_new(&sc, &sim) != LODE_OK)
        return -1;
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    uint32_t vtor_table[16] = {0x20004000u};
    vtor_table[15] = 0x2000011Du;
    int rc = lode_sim_load(sim, 0x20000100u, bytes, sizeof bytes);
    if (rc == LODE_OK)
        rc = lode_sim_mem_write(sim, 0x20000000u, vtor_table, sizeof vtor_table);
    if (rc == LODE_OK)
        rc = lode_sim_write32(sim, 0xE000ED08u, 0x20000000u); /* VTOR */
    if (rc == LODE_OK)
        rc = core.halt(core.ctx);
    if (rc == LODE_OK)
        rc = core.reg_write(core.ctx, 15, 0x20000101u);
    if (rc == LODE_OK)
        rc = core.reg_write(core.ctx, 16, 0x01000000u);
    uint64_t i0 = lode_sim_instructions(sim), r0 = lode_sim_cpu_runs(sim), t0 = lode_sim_now(sim);
    double c0 = cpu_s();
    if (rc == LODE_OK)
        rc = core.resume(core.ctx); /* with the debugger on: the handler's BKPT halts */
    if (rc == LODE_OK && lode_sim_run(sim, 60000 * PS_PER_MS) != LODE_SIM_STOP_HALTED)
        rc = -1;
    f->cpu = cpu_s() - c0;
    f->insns = lode_sim_instructions(sim) - i0;
    f->runs = lode_sim_cpu_runs(sim) - r0;
    f->ps = lode_sim_now(sim) - t0;
    uint32_t pc = 0;
    if (rc == LODE_OK && (core.reg_read(core.ctx, 15, &pc) != LODE_OK || pc != 0x2000011Cu)) {
        fprintf(stderr, "bench: the loop did not end in the SysTick handler (pc %08x)\n", pc);
        rc = -1;
    }
    lode_sim_free(sim);
    return rc;
}

int main(void)
{
    static uint8_t data[LOAD_SIZE];
    uint32_t x = 0x2468ace1u;
    for (size_t i = 0; i < sizeof data; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (uint8_t)(x >> 8);
    }
    printf("STM32F103C8, simulated CMSIS-DAP v2, SWD 10 MHz: lode_flash_image of 60 KiB, no reset first (lode gdb's load), --verify\n");
    const char *what[2] = {"halted at reset (SysTick off)            ",
                           "after systick.c ran 3 ms (SysTick pending)"};
    figures_s f[2];
    for (int i = 0; i < 2; i++) {
        if (flash_after(i == 1, data, &f[i]) != LODE_OK) {
            fprintf(stderr, "bench: the load failed\n");
            return 1;
        }
        printf("  %s: %.3f ms virtual (%llu ps), %llu instructions, %llu CPU runs, %.3f s host CPU\n", what[i],
               (double)f[i].ps / 1e9, (unsigned long long)f[i].ps, (unsigned long long)f[i].insns, (unsigned long long)f[i].runs, f[i].cpu);
    }
    printf("  host CPU ratio (pending/off): %.2f\n", f[1].cpu / (f[0].cpu > 0 ? f[0].cpu : 1e-9));
    figures_s m;
    if (masked_loop(&m) != 0) {
        fprintf(stderr, "bench: the masked loop failed\n");
        return 1;
    }
    printf("masked loop (cpsid i, SysTick pended, 2^24 x subs/bne, cpsie i): %llu instructions, "
           "%.3f ms virtual, %llu CPU runs, %.3f s host CPU, %.1f MIPS\n",
           (unsigned long long)m.insns, (double)m.ps / 1e9, (unsigned long long)m.runs, m.cpu,
           (double)m.insns / 1e6 / (m.cpu > 0 ? m.cpu : 1e-9));
    return 0;
}
