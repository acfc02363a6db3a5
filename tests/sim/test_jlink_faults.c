/* SPDX-License-Identifier: MIT */
/* lode's J-Link driver and software SWD engine against the simulated J-Link V11 in front of the
 * simulated STM32F103 (in process, its USB model): the SWD faults a real target gives and the
 * recovery the other probes have (tests/sim/test_cmsis_dap.c): a few WAITs retried, a WAIT
 * storm ended by the ADI layer's DAPABORT, a bus FAULT reported with its address and cleared,
 * a read parity error and a target that stops answering (no ACK) reported as protocol errors
 * after which the next access works, and pipelined units on two commands in flight. */
#include <stdio.h>
#include <string.h>

#include "lode/adi.h"
#include "lode/error.h"
#include "lode/jlink.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

#define RAM 0x20000000u

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_jlink_s *jl;
    lode_transport_s *tr;
    lode_session_s *s;
    lode_adi_s *adi;
    lode_jlink_s *drv;
} rig_s;

static bool rig_open(rig_s *r)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s sc = {.chip = "STM32F103C8"};
    if (lode_sim_new(&sc, &r->sim) != LODE_OK || lode_sim_jlink_new(r->sim, NULL, &r->jl) != LODE_OK ||
        lode_sim_jlink_transport(r->jl, &r->tr) != LODE_OK)
        return false;
    lode_jlink_io_s io;
    if (lode_jlink_io_usb(r->tr, &io) != LODE_OK)
        return false;
    lode_probe_s *p = NULL;
    if (lode_probe_jlink_new(&io, true, NULL, NULL, NULL, &p) != LODE_OK)
        return false;
    r->drv = lode_probe_jlink_handle(p);
    lode_session_config_s cfg = {.probe = p, .close_probe = true, .now_us = v_now, .delay_us = v_delay,
                                 .time_user = r->sim};
    if (lode_session_open(&cfg, &r->s) != LODE_OK)
        return false;
    r->adi = lode_session_adi(r->s);
    return r->adi != NULL;
}

static void rig_close(rig_s *r)
{
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_jlink_free(r->jl);
    lode_sim_free(r->sim);
}

static void fill(rig_s *r)
{
    uint32_t w[64];
    for (unsigned i = 0; i < 64; i++)
        w[i] = 0xC0DE0000u + i;
    lode_sim_mem_write(r->sim, RAM, w, sizeof w);
}

static bool words_ok(const uint32_t *w, unsigned n, unsigned first)
{
    for (unsigned i = 0; i < n; i++)
        if (w[i] != 0xC0DE0000u + first + i)
            return false;
    return true;
}

static void test_wait(void)
{
    rig_s r;
    REQUIRE(rig_open(&r));
    fill(&r);
    uint32_t w[64];
    lode_sim_inject_wait(r.sim, 4);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM, w, sizeof w), LODE_OK);
    CHECK(words_ok(w, 64, 0));
    lode_jlink_stats_s st;
    lode_jlink_stats(r.drv, &st);
    CHECK(st.waits >= 1);
    CHECK(st.resyncs >= 1);
    /* a storm: the engine gives up (LODE_E_WAIT), the ADI layer's DAPABORT ends it */
    lode_sim_inject_wait(r.sim, 1000000);
    uint32_t v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 8, &v), LODE_E_WAIT);
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 8, &v), LODE_OK);
    CHECK_EQ(v, 0xC0DE0002u);
    rig_close(&r);
}

static void test_fault(void)
{
    rig_s r;
    REQUIRE(rig_open(&r));
    fill(&r);
    uint32_t w[64];
    lode_sim_inject_fault_range(r.sim, RAM + 0x40, RAM + 0x43);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM, w, sizeof w), LODE_E_FAULT);
    uint32_t at = 0;
    CHECK(lode_adi_fault_addr(r.adi, &at));
    CHECK_EQ(at, RAM + 0x40);
    lode_sim_inject_fault_range(r.sim, 1, 0);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM, w, sizeof w), LODE_OK);
    CHECK(words_ok(w, 64, 0));
    rig_close(&r);
}

static void test_parity_and_disconnect(void)
{
    rig_s r;
    REQUIRE(rig_open(&r));
    fill(&r);
    uint32_t v = 0;
    lode_sim_swdwire_inject_parity(lode_sim_jlink_wire(r.jl), 1);
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 4, &v), LODE_E_PROTOCOL);
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 4, &v), LODE_OK);
    CHECK_EQ(v, 0xC0DE0001u);
    lode_sim_inject_disconnect(r.sim, true);
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 4, &v), LODE_E_PROTOCOL);
    lode_sim_inject_disconnect(r.sim, false);
    v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 12, &v), LODE_OK);
    CHECK_EQ(v, 0xC0DE0003u);
    lode_jlink_stats_s st;
    lode_jlink_stats(r.drv, &st);
    CHECK(st.protocol_errors >= 2);
    rig_close(&r);
}

static void test_pipelined(void)
{
    rig_s r;
    REQUIRE(rig_open(&r));
    fill(&r);
    CHECK(lode_adi_can_submit(r.adi) >= 2);
    uint32_t a[16], b[16];
    for (unsigned i = 0; i < 16; i++)
        lode_adi_queue_read32(r.adi, 0, RAM + 4 * i, &a[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    for (unsigned i = 0; i < 16; i++)
        lode_adi_queue_read32(r.adi, 0, RAM + 64 + 4 * i, &b[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    CHECK(words_ok(a, 16, 0));
    CHECK(words_ok(b, 16, 16));
    /* a unit that faults is reported at its collect; the next works */
    lode_sim_inject_fault_range(r.sim, RAM + 8, RAM + 8);
    for (unsigned i = 0; i < 4; i++)
        lode_adi_queue_read32(r.adi, 0, RAM + 4 * i, &a[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    CHECK_EQ(lode_adi_collect(r.adi), LODE_E_FAULT);
    lode_sim_inject_fault_range(r.sim, 1, 0);
    uint32_t v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 8, &v), LODE_OK);
    CHECK_EQ(v, 0xC0DE0002u);
    rig_close(&r);
}

int main(void)
{
    RUN_TEST(test_wait);
    RUN_TEST(test_fault);
    RUN_TEST(test_parity_and_disconnect);
    RUN_TEST(test_pipelined);
    return TEST_DONE();
}
