/* SPDX-License-Identifier: MIT */
/* Flash and memory-read speed through the whole stack on the simulated board, in the sim's
 * virtual time (deterministic), with host CPU time alongside:
 *  1. 64 KiB to the STM32F103 through the simulated CMSIS-DAP v2 (high-speed bulk, 512-byte
 *     packets, packet count 4, SWD 10 MHz), against the bound set by the flash itself: the
 *     datasheet time of one mass erase (the image fills the chip) and of 32768 half-word
 *     programs (20 ms + 32768 x 52.5 us). "without double buffering" is the classic one call
 *     per page (--single-buffer implies --no-stream).
 *  2. The same through the v1 HID model (64-byte reports, 1 ms frames), and its ratio to the
 *     USB bound: the frames needed to move the commands and responses.
 *     A 16-byte image through v2 against its bound: one page erase + 8 half-words.
 *  3. 256 KiB read from the nRF52840's RAM through v2, against the SWD wire bound (46 clocks per
 *     32-bit transfer at 10 MHz).
 * Usage: bench_flash_speed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/error.h"
#include "lode/flash.h"
#include "lode/cmsis_dap.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "vclock.h"

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_dap_s *dap;
    lode_transport_s *tr;
    lode_session_s *s;
    lode_core_ops_s core;
} rig_s;

static int rig_open(rig_s *r, const char *chip, int version, uint16_t packet_size, uint8_t count)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg = {.chip = chip, .swd_hz = 10000000};
    lode_sim_dap_config_s dc = {.version = version, .packet_size = packet_size, .packet_count = count};
    int rc = lode_sim_new(&cfg, &r->sim);
    if (rc == LODE_OK)
        rc = lode_sim_dap_new(r->sim, &dc, &r->dap);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(r->dap, &r->tr);
    lode_probe_s *sc_probe = NULL;
    lode_probe_cmsis_dap_new(r->tr, false, NULL, NULL, &sc_probe);
    lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .swd_hz = 10000000, .now_us = v_now,
                                .delay_us = v_delay, .time_user = r->sim};
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &r->s);
    if (rc == LODE_OK)
        lode_session_core_ops(r->s, &r->core);
    return rc;
}

static void rig_close(rig_s *r)
{
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_dap_free(r->dap);
    lode_sim_free(r->sim);
}

/* len bytes of pseudo-random data (no erased half-word) to the F103 */
static int flash_n(int version, uint16_t psize, uint8_t count, bool single, size_t len, double *vt,
                   double *host)
{
    rig_s r;
    if (rig_open(&r, "STM32F103C8", version, psize, count) != LODE_OK) {
        fprintf(stderr, "bench: cannot open the simulated rig\n");
        return -1;
    }
    static uint8_t data[64 * 1024];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    lode_image_s *img = NULL;
    lode_image_from_bin(data, len, 0x08000000u, &img);
    lode_flash_opts_s o = {.single_buffer = single};
    lode_flash_result_s res;
    uint64_t t0 = lode_sim_now(r.sim);
    double c0 = cpu_s();
    int rc = lode_flash_image(&r.core, lode_session_chip(r.s, NULL), img, &o, NULL, &res);
    *host = cpu_s() - c0;
    *vt = (double)(lode_sim_now(r.sim) - t0) / 1e12;
    lode_image_free(img);
    rig_close(&r);
    return rc == LODE_OK ? 0 : -1;
}

int main(void)
{
    /* the flash bound: the image fills the chip's only flash, so one mass erase (20 ms) and
     * 32768 half-word programs of 52.5 us (lode erases the whole chip in that case) */
    const double bound = 0.020 + 32768 * 52.5e-6;
    printf("flash 64 KiB to the simulated STM32F103C8 (SWD 10 MHz), virtual time\n");
    printf("  flash bound (datasheet mass erase + 32768 half-word programs): %.3f s\n", bound);
    double vt = 0, host = 0;
    if (flash_n(2, 512, 4, false, 65536, &vt, &host) == 0)
        printf("  CMSIS-DAP v2 (HS bulk, 512 B x 4):  %.3f s = %.1f %% of the flash bound; host CPU "
               "%.3f s (%.2f s per MiB, %.1fx faster than the virtual time)\n",
               vt, 100.0 * bound / vt, host, host * 16, vt / host);
    double vts = 0;
    if (flash_n(2, 512, 4, true, 65536, &vts, &host) == 0)
        printf("  v2, one call per page, no overlap:  %.3f s = %.1f %% of the flash bound\n", vts,
               100.0 * bound / vts);
    double v1 = 0;
    if (flash_n(1, 64, 4, false, 65536, &v1, &host) == 0) {
        /* USB bound for v1: every 64-byte report moves at most 60 bytes of page data in a
         * TransferBlock; one report out per 1 ms frame */
        double usb_bound = (64.0 * 1024 / 60.0) * 1e-3;
        printf("  CMSIS-DAP v1 (FS HID, 64 B x 4):    %.3f s = %.1f %% of the flash bound; "
               "USB bound for the page data alone %.3f s (%.1f %% of the total)\n",
               v1, 100.0 * bound / v1, usb_bound, 100.0 * usb_bound / v1);
    }

    /* a 16-byte image: one page erase and 8 half-word programs are the bound; the figure is
     * the flash operation (reset-halt, algorithm upload, erase, program), as `lode flash`
     * reports it */
    double v16 = 0, bound16 = 0.020 + 8 * 52.5e-6;
    if (flash_n(2, 512, 4, false, 16, &v16, &host) == 0)
        printf("  16-byte image through v2:          %.2f ms = %.1f %% of its bound %.2f ms (page erase "
               "20 ms + 8 x 52.5 us)\n", v16 * 1e3, 100.0 * bound16 / v16, bound16 * 1e3);

    /* memory read of 256 KiB of RAM through v2 */
    rig_s r;
    if (rig_open(&r, "nRF52840_xxAA", 2, 512, 4) == LODE_OK) {
        static uint8_t buf[256 * 1024];
        uint64_t t0 = lode_sim_now(r.sim);
        double c0 = cpu_s();
        int rc = r.core.mem_read(r.core.ctx, 0x20000000u, buf, sizeof buf);
        double dt = (double)(lode_sim_now(r.sim) - t0) / 1e12, hc = cpu_s() - c0;
        /* wire bound: one 32-bit transfer = 8 request + 1 turnaround + 3 ACK + 32 data +
         * 1 parity + 1 turnaround = 46 clocks (PROTOCOLS.md), at 10 MHz */
        double wire = (256.0 * 1024 / 4) * 46 / 10e6;
        if (rc == LODE_OK)
            printf("read 256 KiB of nRF52840 RAM through v2: %.3f s virtual (%.0f KiB/s) = %.1f %% "
                   "of the SWD wire bound %.3f s; host CPU %.3f s\n",
                   dt, 256 / dt, 100.0 * wire / dt, wire, hc);
        else
            printf("read 256 KiB failed: %s\n", lode_strerror(rc));
        rig_close(&r);
    }
    return 0;
}
