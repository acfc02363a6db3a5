/* SPDX-License-Identifier: MIT */
/* RTT up-channel throughput on the simulated board, in the sim's virtual time: the nRF52840
 * runs firmware/apps/rtt_flood.c, which fills a 1 KiB up buffer (block-if-full) with a
 * counting pattern as fast as it can; lode drains it with lode_rtt_poll through the
 * simulated CMSIS-DAP v2 probe (high-speed bulk, 512-byte packets, packet count 4) and the
 * whole session stack, for a fixed span of virtual time. The bound is the probe's own memory
 * read rate, measured in the same run: one plain 64 KiB lode core mem_read of RAM through the
 * same probe. Also printed: the drain against the SWD wire itself (4 data bytes per
 * 46-cycle read transaction, no overhead at all), which no probe can pass. Every byte is
 * checked against the pattern (none lost, none repeated).
 * --jlink: through the simulated J-Link V11 (HS bulk) and lode's J-Link driver instead (the
 * SWD bits of a whole unit in one HW_JTAG3 command; its command count and how busy the wire
 * was are printed). --stlink: through the simulated ST-Link/V2 (full speed; no pipelined
 * units, so plain polls).
 * Usage: bench_rtt_speed [virtual seconds per SWD clock, default 0.5] [--jlink | --stlink] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/error.h"
#include "lode/image.h"
#include "lode/rtt.h"
#include "lode/cmsis_dap.h"
#include "lode/jlink.h"
#include "lode/stlink.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "vclock.h"

#define CHIP "nRF52840_xxAA"
#define RAM 0x20000000u
#define RAM_LEN (256u * 1024u)

typedef enum probe_e { P_DAP, P_JLINK, P_STLINK } probe_e;

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_dap_s *dap;
    lode_sim_jlink_s *jl;
    lode_sim_stlink_s *st;
    lode_transport_s *tr;
    lode_session_s *s;
    lode_core_ops_s core;
} rig_s;

static int rig_open(rig_s *r, uint32_t swd_hz, const char *elf, probe_e probe)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg = {.chip = CHIP, .swd_hz = swd_hz};
    lode_sim_dap_config_s dc = {.version = 2, .packet_size = 512, .packet_count = 4};
    int rc = lode_sim_new(&cfg, &r->sim);
    if (rc == LODE_OK)
        rc = lode_sim_load_elf(r->sim, elf);
    lode_probe_s *sc_probe = NULL;
    if (probe == P_STLINK) {
        lode_stlink_io_s io;
        if (rc == LODE_OK)
            rc = lode_sim_stlink_new(r->sim, NULL, &r->st);
        if (rc == LODE_OK) {
            lode_sim_stlink_io(r->st, &io);
            rc = lode_probe_stlink_new(&io, false, NULL, NULL, &sc_probe);
        }
    } else if (probe == P_JLINK) {
        lode_jlink_io_s io;
        if (rc == LODE_OK)
            rc = lode_sim_jlink_new(r->sim, NULL, &r->jl);
        if (rc == LODE_OK)
            rc = lode_sim_jlink_transport(r->jl, &r->tr);
        if (rc == LODE_OK)
            rc = lode_jlink_io_usb(r->tr, &io);
        if (rc == LODE_OK)
            rc = lode_probe_jlink_new(&io, true, NULL, NULL, NULL, &sc_probe);
    } else {
        if (rc == LODE_OK)
            rc = lode_sim_dap_new(r->sim, &dc, &r->dap);
        if (rc == LODE_OK)
            rc = lode_sim_dap_transport(r->dap, &r->tr);
        if (rc == LODE_OK)
            lode_probe_cmsis_dap_new(r->tr, false, NULL, NULL, &sc_probe);
    }
    lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .swd_hz = swd_hz, .now_us = v_now,
                                .delay_us = v_delay, .time_user = r->sim};
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &r->s);
    if (rc == LODE_OK) {
        lode_session_core_ops(r->s, &r->core);
        rc = r->core.reset(r->core.ctx, false); /* start the firmware */
    }
    return rc;
}

static void rig_close(rig_s *r)
{
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_dap_free(r->dap);
    lode_sim_jlink_free(r->jl);
    lode_sim_stlink_free(r->st);
    lode_sim_free(r->sim);
}

typedef struct check_s {
    uint8_t next;
    uint64_t bytes;
    uint64_t bad;
} check_s;

static void check_fn(void *user, unsigned ch, const uint8_t *d, size_t len)
{
    check_s *c = user;
    if (ch != 0) {
        c->bad += len;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (d[i] != c->next) {
            c->bad++;
            c->next = d[i];
        }
        c->next++;
    }
    c->bytes += len;
}

static int run(uint32_t swd_hz, double seconds, const char *elf, uint32_t cb, uint32_t bytes_sym,
               probe_e probe)
{
    rig_s r;
    if (rig_open(&r, swd_hz, elf, probe) != LODE_OK) {
        fprintf(stderr, "bench: cannot open the simulated rig\n");
        return -1;
    }
    int ret = -1;
    lode_rtt_s *rtt = NULL;
    /* the bound: a plain 64 KiB read through the same probe */
    static uint8_t buf[64 * 1024];
    uint64_t t0 = lode_sim_now(r.sim);
    if (r.core.mem_read(r.core.ctx, RAM + 0x10000u, buf, sizeof buf) != LODE_OK) {
        fprintf(stderr, "bench: 64 KiB read failed\n");
        goto out;
    }
    double bound = sizeof buf / ((double)(lode_sim_now(r.sim) - t0) / 1e12);

    lode_rtt_range_s ram = {RAM, RAM_LEN};
    lode_rtt_config_s rc = {.cb_addr = cb, .ranges = &ram, .nranges = 1};
    if (lode_rtt_new(&r.core, &rc, &rtt) != LODE_OK)
        goto out;
    for (int i = 0; i < 100 && lode_rtt_attach(rtt) != LODE_OK; i++)
        r.core.delay_us(r.core.ctx, 100);
    if (!lode_rtt_attached(rtt)) {
        fprintf(stderr, "bench: no RTT control block\n");
        goto out;
    }
    check_s c = {0};
    lode_rtt_poll(rtt, check_fn, &c, NULL); /* what piled up while attaching */
    lode_rtt_stats_s s0, s1;
    lode_rtt_stats(rtt, &s0);
    lode_sim_jlink_stats_s j0 = {0}, j1 = {0};
    if (r.jl)
        lode_sim_jlink_stats(r.jl, &j0);
    t0 = lode_sim_now(r.sim);
    uint64_t end = t0 + (uint64_t)(seconds * 1e12);
    double c0 = cpu_s();
    while (lode_sim_now(r.sim) < end) {
        size_t got = 0;
        if (lode_rtt_poll(rtt, check_fn, &c, &got) != LODE_OK) {
            fprintf(stderr, "bench: poll failed\n");
            goto out;
        }
        if (!got)
            r.core.delay_us(r.core.ctx, 10);
    }
    double host = cpu_s() - c0;
    double dt = (double)(lode_sim_now(r.sim) - t0) / 1e12;
    lode_rtt_stats(rtt, &s1);
    if (r.jl)
        lode_sim_jlink_stats(r.jl, &j1);
    /* the firmware's own count: what it had written before a last poll has all arrived after
     * it, and nothing beyond what it had written after it (mod 2^32) */
    uint32_t written = 0, written_after = 0;
    r.core.mem_read(r.core.ctx, bytes_sym, &written, 4);
    lode_rtt_poll(rtt, check_fn, &c, NULL);
    r.core.mem_read(r.core.ctx, bytes_sym, &written_after, 4);
    bool lost = (uint32_t)c.bytes - written > written_after - written;
    uint64_t polls = s1.polls - s0.polls;
    double rate = (double)(s1.bytes_up - s0.bytes_up) / dt;
    double wire = 4.0 * swd_hz / 46.0;
    printf("  SWD %5.1f MHz: %7.0f B/s drained = %5.1f %% of the probe's read rate %7.0f B/s "
           "(64 KiB mem_read); %llu polls, %.0f B/poll, %.2f mem_read + %.2f mem_write per poll, "
           "%llu pipelined units; pattern errors %llu; host CPU %.2f s for %.2f s virtual\n"
           "    = %.1f %% of the SWD wire (%.0f B/s: 4 bytes per 46 cycles)\n",
           swd_hz / 1e6, rate, 100.0 * rate / bound, bound, (unsigned long long)polls,
           (double)(s1.bytes_up - s0.bytes_up) / (double)polls,
           (double)(s1.mem_reads - s0.mem_reads) / (double)polls,
           (double)(s1.mem_writes - s0.mem_writes) / (double)polls,
           (unsigned long long)(s1.stream_units - s0.stream_units), (unsigned long long)c.bad,
           host, dt, 100.0 * rate / wire, wire);
    if (r.jl)
        printf("    J-Link: %llu commands, %.0f cycles each; SWD wire busy %.1f %% of the time\n",
               (unsigned long long)(j1.commands - j0.commands),
               (double)(j1.bits - j0.bits) / (double)(j1.commands - j0.commands),
               100.0 * (double)(j1.bits - j0.bits) / swd_hz / dt);
    if (c.bad || lost) {
        printf("  LOST OR CORRUPT DATA: firmware wrote %u..%u bytes (mod 2^32), %llu arrived\n",
               (unsigned)written, (unsigned)written_after, (unsigned long long)c.bytes);
        goto out;
    }
    ret = 0;
out:
    lode_rtt_free(rtt);
    rig_close(&r);
    return ret;
}

int main(int argc, char **argv)
{
    double seconds = 0.5;
    probe_e probe = P_DAP;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--jlink"))
            probe = P_JLINK;
        else if (!strcmp(argv[i], "--stlink"))
            probe = P_STLINK;
        else
            seconds = atof(argv[i]);
    }
    if (seconds <= 0 || seconds > 60) {
        fprintf(stderr, "usage: bench_rtt_speed [virtual seconds, 0..60] [--jlink | --stlink]\n");
        return 2;
    }
    char elf[512];
    snprintf(elf, sizeof elf, "%s/rtt_flood-nrf52840.elf", LODE_FW_DIR);
    lode_image_s *img = NULL;
    if (lode_image_load_file(elf, LODE_IMAGE_AUTO, 0, false, NULL, &img) != LODE_OK) {
        fprintf(stderr, "bench: cannot load %s (build the firmware)\n", elf);
        return 1;
    }
    const lode_symbol_s *cb = lode_image_find_symbol(img, LODE_RTT_SYMBOL);
    const lode_symbol_s *n = lode_image_find_symbol(img, "rtt_flood_bytes");
    if (!cb || !n) {
        fprintf(stderr, "bench: %s lacks _SEGGER_RTT / rtt_flood_bytes\n", elf);
        lode_image_free(img);
        return 1;
    }
    printf("RTT up channel (1 KiB, block-if-full) drained from the simulated nRF52840 through %s, %.2f s "
           "of virtual time each\n",
           probe == P_JLINK    ? "the simulated J-Link V11 (HS bulk)"
           : probe == P_STLINK ? "the simulated ST-Link/V2 (FS bulk)"
                               : "CMSIS-DAP v2 (HS bulk, 512 B x 4)",
           seconds);
    int bad = 0;
    static const uint32_t clocks[] = {1000000, 4000000, 10000000};
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++)
        bad |= run(clocks[i], seconds, elf, cb->value, n->value, probe);
    lode_image_free(img);
    return bad ? 1 : 0;
}
