/* SPDX-License-Identifier: MIT */
/* RTT streaming through a pipelining probe: firmware/apps/rtt_flood.c on the simulated
 * nRF52840 fills a 1 KiB up buffer as fast as it can; lode_rtt_poll drains it through the
 * simulated CMSIS-DAP probe and the whole session stack. With v2 (512-byte packets, several in
 * flight) polls stream with pipelined units; with v1 (64-byte packets) they cannot and plain
 * polls do the work. Through the simulated J-Link (lode's SWD engine, whose units merge into
 * one HW_JTAG3 command) the stream reads a whole ring's worth per unit in two windows. Either
 * way every byte arrives once, in order (a counting pattern), and nothing the firmware wrote
 * is missing. */
#include "lode/cmsis_dap.h"
#include "lode/jlink.h"
#include "lode/error.h"
#include "lode/image.h"
#include "lode/rtt.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

#include <string.h>

#define RAM 0x20000000u
#define RAM_LEN (256u * 1024u)

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

typedef struct check_s {
    uint8_t next;
    uint64_t bytes, bad, calls;
} check_s;

static void check_fn(void *user, unsigned ch, const uint8_t *d, size_t len)
{
    check_s *c = user;
    c->calls++;
    if (ch != 0 || len == 0) {
        c->bad++;
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

/* version 1/2: CMSIS-DAP v1/v2; 0: the J-Link */
static void run(int version, uint32_t swd_hz, uint32_t cb, uint32_t count_sym, bool expect_stream)
{
    const char *elf = LODE_FW_DIR "/rtt_flood-nrf52840.elf";
    lode_sim_config_s cfg = {.chip = "nRF52840_xxAA", .swd_hz = swd_hz};
    lode_sim_dap_config_s dc = {.version = version};
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_sim_jlink_s *jl = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_rtt_s *rtt = NULL;
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    REQUIRE(lode_sim_load_elf(sim, elf) == LODE_OK);
    lode_probe_s *sc_probe = NULL;
    if (version == 0) {
        lode_jlink_io_s io;
        REQUIRE(lode_sim_jlink_new(sim, NULL, &jl) == LODE_OK);
        REQUIRE(lode_sim_jlink_transport(jl, &tr) == LODE_OK);
        REQUIRE(lode_jlink_io_usb(tr, &io) == LODE_OK);
        REQUIRE(lode_probe_jlink_new(&io, true, NULL, NULL, NULL, &sc_probe) == LODE_OK);
    } else {
        REQUIRE(lode_sim_dap_new(sim, &dc, &dap) == LODE_OK);
        REQUIRE(lode_sim_dap_transport(dap, &tr) == LODE_OK);
        lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &sc_probe);
    }
    lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .swd_hz = swd_hz, .now_us = v_now, .delay_us = v_delay,
                                .time_user = sim};
    REQUIRE(lode_session_open(&sc, &s) == LODE_OK);
    lode_core_ops_s core;
    lode_session_core_ops(s, &core);
    CHECK(core.mem_submit != NULL); /* both versions can pipeline; v1's units are small */
    CHECK(core.mem_merged == (version == 0)); /* the J-Link merges units into one command */
    CHECK_EQ(core.reset(core.ctx, false), LODE_OK);
    lode_rtt_range_s ram = {RAM, RAM_LEN};
    lode_rtt_config_s rc = {.cb_addr = cb, .ranges = &ram, .nranges = 1};
    REQUIRE(lode_rtt_new(&core, &rc, &rtt) == LODE_OK);
    for (int i = 0; i < 100 && lode_rtt_attach(rtt) != LODE_OK; i++)
        core.delay_us(core.ctx, 100);
    CHECK(lode_rtt_attached(rtt));
    check_s c = {0};
    uint64_t end = lode_sim_now(sim) + 100000000000ull; /* 0.1 s */
    while (lode_sim_now(sim) < end) {
        size_t got = 0;
        int prc = lode_rtt_poll(rtt, check_fn, &c, &got);
        CHECK_EQ(prc, LODE_OK);
        if (prc != LODE_OK)
            break;
        if (!got)
            core.delay_us(core.ctx, 10);
    }
    uint32_t before = 0, after = 0;
    CHECK_EQ(core.mem_read(core.ctx, count_sym, &before, 4), LODE_OK);
    CHECK_EQ(lode_rtt_poll(rtt, check_fn, &c, NULL), LODE_OK);
    CHECK_EQ(core.mem_read(core.ctx, count_sym, &after, 4), LODE_OK);
    /* all written before the last poll arrived; nothing beyond what was written after it */
    CHECK((uint32_t)c.bytes - before <= after - before);
    CHECK_EQ(c.bad, 0);
    CHECK(c.bytes > 1000);
    lode_rtt_stats_s st;
    lode_rtt_stats(rtt, &st);
    if (expect_stream)
        CHECK(st.stream_units > 10);
    else
        CHECK_EQ(st.stream_units, 0);
    if (version == 0) /* whole-ring units: most of a 1 KiB ring each */
        CHECK(st.stream_units > 0 && c.bytes / st.stream_units > 600);
    fprintf(stderr, "  v%d %u Hz: %llu bytes, %llu polls, %llu pipelined units\n", version, (unsigned)swd_hz,
            (unsigned long long)c.bytes, (unsigned long long)st.polls, (unsigned long long)st.stream_units);
    lode_rtt_free(rtt);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_jlink_free(jl);
    lode_sim_free(sim);
}

/* the session's pipelined memory units: reads and writes land, a faulting unit reports
 * LODE_E_FAULT (and the ADI layer recovers: the next plain access works) */
static void test_units(void)
{
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    lode_sim_dap_config_s dc = {.version = 2};
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    REQUIRE(lode_sim_dap_new(sim, &dc, &dap) == LODE_OK);
    REQUIRE(lode_sim_dap_transport(dap, &tr) == LODE_OK);
    lode_probe_s *sc_probe = NULL;
    lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &sc_probe);
    lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .now_us = v_now, .delay_us = v_delay, .time_user = sim};
    REQUIRE(lode_session_open(&sc, &s) == LODE_OK);
    lode_core_ops_s core;
    lode_session_core_ops(s, &core);
    REQUIRE(core.mem_submit && core.mem_collect && core.mem_depth);
    CHECK(core.mem_depth(core.ctx) >= 2);
    uint32_t w[3] = {0x11111111u, 0x22222222u, 0x33333333u}, r1[3] = {0}, r2[2] = {0};
    lode_mem_op_s u1[] = {{.addr = RAM + 0x3FC, .words = w, .n = 3, .write = true}}; /* crosses 1 KiB */
    lode_mem_op_s u2[] = {{.addr = RAM + 0x3FC, .words = r1, .n = 3}, {.addr = RAM + 0x3FC, .words = r2, .n = 2}};
    CHECK_EQ(core.mem_submit(core.ctx, u1, 1), LODE_OK);
    CHECK_EQ(core.mem_submit(core.ctx, u2, 2), LODE_OK);
    CHECK_EQ(core.mem_collect(core.ctx), LODE_OK);
    CHECK_EQ(core.mem_collect(core.ctx), LODE_OK);
    CHECK(memcmp(r1, w, sizeof r1) == 0);
    CHECK(r2[0] == w[0] && r2[1] == w[1]);
    uint32_t big[200];
    lode_mem_op_s u3[] = {{.addr = RAM, .words = big, .n = 200}};
    CHECK_EQ(core.mem_submit(core.ctx, u3, 1), LODE_E_RANGE);
    /* bad units are refused before anything is queued: a later plain read is unaffected */
    uint32_t junk[2] = {0xAAAAAAAAu, 0xBBBBBBBBu};
    lode_mem_op_s bad[] = {{.addr = RAM, .words = &junk[0], .n = 1}, {.addr = RAM + 2, .words = &junk[1], .n = 1}};
    CHECK_EQ(core.mem_submit(core.ctx, bad, 2), LODE_E_INVALID_ARG);
    CHECK_EQ(core.mem_submit(core.ctx, bad, 0), LODE_E_INVALID_ARG);
    lode_mem_op_s empty[] = {{.addr = RAM, .words = junk, .n = 0}};
    CHECK_EQ(core.mem_submit(core.ctx, empty, 1), LODE_E_INVALID_ARG);
    CHECK_EQ(core.mem_collect(core.ctx), LODE_E_STATE); /* nothing pending */
    uint32_t plain = 0;
    CHECK_EQ(core.mem_read(core.ctx, RAM + 0x3FC, &plain, 4), LODE_OK);
    CHECK_EQ(plain, w[0]);
    CHECK(junk[0] == 0xAAAAAAAAu && junk[1] == 0xBBBBBBBBu);

    lode_sim_inject_fault_range(sim, RAM + 0x800, RAM + 0x803);
    uint32_t f[2] = {0xDEAD, 0xDEAD};
    lode_mem_op_s u4[] = {{.addr = RAM + 0x800, .words = f, .n = 2}};
    CHECK_EQ(core.mem_submit(core.ctx, u4, 1), LODE_OK);
    CHECK_EQ(core.mem_collect(core.ctx), LODE_E_FAULT);
    uint32_t again = 0;
    CHECK_EQ(core.mem_read(core.ctx, RAM + 0x400, &again, 4), LODE_OK);
    CHECK_EQ(again, w[1]);

    /* registers + resume in one probe command (a semihosting call's return): the core runs
     * from the new PC with the new r0 into a BKPT */
    uint16_t code[2] = {0xBF00u, 0xBE00u}; /* nop; bkpt #0 */
    CHECK_EQ(core.mem_write(core.ctx, RAM + 0x200, code, sizeof code), LODE_OK);
    CHECK_EQ(core.halt(core.ctx), LODE_OK);
    lode_core_state_s cs = {0};
    CHECK_EQ(core.state(core.ctx, &cs), LODE_OK);
    CHECK(cs.halted);
    REQUIRE(core.resume_regs != NULL);
    const unsigned sel[2] = {0, 15};
    const uint32_t val[2] = {0x1234ABCDu, RAM + 0x200};
    lode_cmsis_dap_stats_s d0, d1;
    lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(s)), &d0);
    CHECK_EQ(core.resume_regs(core.ctx, sel, val, 2), LODE_OK);
    lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(s)), &d1);
    CHECK_EQ(d1.commands - d0.commands, 1);
    for (int i = 0; i < 100 && !(core.state(core.ctx, &cs) == LODE_OK && cs.halted); i++)
        core.delay_us(core.ctx, 10);
    CHECK(cs.halted);
    CHECK(cs.dfsr & 0x2u); /* BKPT */
    uint32_t r0 = 0, pc = 0;
    CHECK_EQ(core.reg_read(core.ctx, 0, &r0), LODE_OK);
    CHECK_EQ(core.reg_read(core.ctx, 15, &pc), LODE_OK);
    CHECK_EQ(r0, 0x1234ABCDu);
    CHECK_EQ(pc, RAM + 0x202);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_free(sim);
}

static void test_stream(void)
{
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(LODE_FW_DIR "/rtt_flood-nrf52840.elf", LODE_IMAGE_AUTO, 0, false, NULL,
                                 &img) == LODE_OK);
    const lode_symbol_s *cb = lode_image_find_symbol(img, LODE_RTT_SYMBOL);
    const lode_symbol_s *n = lode_image_find_symbol(img, "rtt_flood_bytes");
    REQUIRE(cb && n);
    run(2, 4000000, cb->value, n->value, true);
    run(2, 10000000, cb->value, n->value, true);
    run(1, 4000000, cb->value, n->value, false);
    run(0, 4000000, cb->value, n->value, true);
    run(0, 10000000, cb->value, n->value, true);
    lode_image_free(img);
}

int main(void)
{
    if (!LODE_FW_DIR[0]) {
        fprintf(stderr, "firmware not built\n");
        return 1;
    }
    RUN_TEST(test_units);
    RUN_TEST(test_stream);
    return TEST_DONE();
}
