/* SPDX-License-Identifier: MIT */
/* Reset-and-halt through the whole stack (session core ops -> Cortex-M layer -> ADIv5 -> probe
 * driver -> simulated probe -> simulated STM32F103 running firmware), on every probe model:
 * CMSIS-DAP v2 (the reset as one pipelined command with value-match reads), v1 (64-byte
 * reports: the batch does not fit, one access at a time) and the ST-Link (no batches).
 * From each starting state — core running with debug off, core halted elsewhere, DEMCR
 * holding other vector catches and TRCENA, a fault on the bus — the core
 * must end halted at the reset vector after a real system reset (VTOR back to 0), with DEMCR
 * exactly as it was and DFSR.VCATCH cleared; v2 needs two probe commands. A failing batch
 * (DFSR write faulting) falls back and reports the error; the next reset-halt works again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "lode/stlink.h"
#include "test.h"

enum { P_DAP2, P_DAP1, P_STLINK };
static const char *const pname[] = {"CMSIS-DAP v2", "CMSIS-DAP v1", "ST-Link"};

typedef struct rig_s {
    int kind;
    lode_sim_s *sim;
    lode_sim_dap_s *dap;
    lode_sim_stlink_s *st;
    lode_transport_s *tr;
    lode_stlink_io_s io;
    lode_session_s *s;
    lode_core_ops_s core;
} rig_s;

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

static bool rig_open(rig_s *r, int kind)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    lode_sim_config_s cfg = {.chip = "STM32F103C8", .swd_hz = 4000000};
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK)
        return false;
    char path[512];
    snprintf(path, sizeof path, "%s/dbg-stm32f103.elf", LODE_FW_DIR);
    if (lode_sim_load_elf(r->sim, path) != LODE_OK) {
        fprintf(stderr, "cannot load %s\n", path);
        return false;
    }
    lode_sim_power_on_reset(r->sim);
    lode_session_config_s sc = {.close_probe = true, .swd_hz = 4000000, .now_us = v_now, .delay_us = v_delay,
                                .time_user = r->sim};
    int rc;
    if (kind == P_STLINK) {
        rc = lode_sim_stlink_new(r->sim, NULL, &r->st);
        if (rc == LODE_OK) {
            lode_sim_stlink_io(r->st, &r->io);
            rc = lode_probe_stlink_new(&r->io, false, NULL, NULL, &sc.probe);
        }
    } else {
        lode_sim_dap_config_s dc = {.version = kind == P_DAP2 ? 2 : 1};
        rc = lode_sim_dap_new(r->sim, &dc, &r->dap);
        if (rc == LODE_OK)
            rc = lode_sim_dap_transport(r->dap, &r->tr);
        if (rc == LODE_OK)
            rc = lode_probe_cmsis_dap_new(r->tr, false, NULL, NULL, &sc.probe);
    }
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &r->s);
    if (rc == LODE_OK)
        lode_session_core_ops(r->s, &r->core);
    return rc == LODE_OK;
}

static void rig_close(rig_s *r)
{
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_dap_free(r->dap);
    lode_sim_stlink_free(r->st);
    lode_sim_free(r->sim);
}

static uint64_t commands(const rig_s *r)
{
    if (r->dap)
        return lode_sim_dap_packets(r->dap);
    lode_sim_stlink_stats_s ss;
    lode_sim_stlink_stats(r->st, &ss);
    return ss.commands;
}

static uint32_t rd32(rig_s *r, uint32_t addr)
{
    uint32_t v = 0;
    CHECK_EQ(lode_sim_read32(r->sim, addr, &v), LODE_OK);
    return v;
}

#define SCB_VTOR 0xE000ED08u

/* Halted at the reset vector after a real reset, DEMCR as before, VCATCH cleared. */
static void check_reset_halted(rig_s *r, uint32_t demcr, const char *what)
{
    CHECK(lode_sim_halted(r->sim));
    uint32_t pc = 0, vec = rd32(r, 0x08000004u);
    CHECK_EQ(lode_sim_reg_read(r->sim, LODE_CM_REG_PC, &pc), LODE_OK);
    CHECK_EQ(pc, vec & ~1u);
    CHECK_EQ(rd32(r, SCB_VTOR), 0); /* the system reset cleared it */
    CHECK_EQ(rd32(r, LODE_CM_DEMCR), demcr);
    CHECK_EQ(rd32(r, LODE_CM_DFSR) & LODE_CM_DFSR_VCATCH, 0);
    CHECK_EQ(rd32(r, LODE_CM_DHCSR) & LODE_CM_DHCSR_C_DEBUGEN, LODE_CM_DHCSR_C_DEBUGEN);
    if (pc != (vec & ~1u) || !lode_sim_halted(r->sim))
        fprintf(stderr, "  %s: %s: pc 0x%08x, vector 0x%08x\n", pname[r->kind], what, (unsigned)pc, (unsigned)vec);
}

static void test_reset_halt(void)
{
    for (int kind = P_DAP2; kind <= P_STLINK; kind++) {
        rig_s r;
        REQUIRE(rig_open(&r, kind));
        const uint32_t demcr = LODE_CM_DEMCR_TRCENA | LODE_CM_DEMCR_VC_HARDERR;

        /* 1. running firmware, debug off, other vector catches set, VTOR moved */
        lode_sim_run(r.sim, 2000000000ull); /* 2 ms of the firmware */
        CHECK(!lode_sim_halted(r.sim));
        CHECK_EQ(lode_sim_write32(r.sim, LODE_CM_DHCSR, LODE_CM_DHCSR_DBGKEY), LODE_OK);
        CHECK_EQ(lode_sim_write32(r.sim, LODE_CM_DEMCR, demcr), LODE_OK);
        CHECK_EQ(lode_sim_write32(r.sim, SCB_VTOR, 0x20000000u), LODE_OK);
        uint32_t stale = 0;
        lode_sim_read32(r.sim, LODE_CM_DHCSR, &stale); /* no stale S_RESET_ST yet */
        uint64_t c0 = commands(&r);
        CHECK_EQ(r.core.reset(r.core.ctx, true), LODE_OK);
        uint64_t used = commands(&r) - c0;
        check_reset_halted(&r, demcr, "from running");
        if (kind == P_DAP2)
            CHECK(used <= 2); /* DEMCR/DHCSR read, then the rest in one command */
        if (kind == P_STLINK) /* one RW_MISC batch (2), the DHCSR poll, DEMCR and DFSR */
            CHECK(used <= 5);
        fprintf(stderr, "  %s: reset-halt in %llu probe commands\n", pname[kind], (unsigned long long)used);

        /* 2. halted elsewhere (S_HALT already set before the reset), VTOR moved again */
        CHECK_EQ(lode_sim_write32(r.sim, SCB_VTOR, 0x20000000u), LODE_OK);
        CHECK_EQ(r.core.resume(r.core.ctx), LODE_OK);
        lode_sim_run(r.sim, 1000000000ull);
        CHECK_EQ(r.core.halt(r.core.ctx), LODE_OK);
        uint32_t pc = 0;
        CHECK_EQ(lode_sim_reg_read(r.sim, LODE_CM_REG_PC, &pc), LODE_OK);
        CHECK(pc != (rd32(&r, 0x08000004u) & ~1u));
        CHECK_EQ(r.core.reset(r.core.ctx, true), LODE_OK);
        check_reset_halted(&r, demcr, "from halted");

        /* 3. the bus faults on DFSR: the reset-halt fails (the batch falls back, and says so)
         * and leaves DEMCR as it was; once the bus is healthy it works again */
        CHECK_EQ(r.core.resume(r.core.ctx), LODE_OK);
        lode_sim_inject_fault_range(r.sim, LODE_CM_DFSR, LODE_CM_DFSR + 3u);
        CHECK(r.core.reset(r.core.ctx, true) != LODE_OK);
        lode_sim_inject_fault_range(r.sim, 1, 0);
        CHECK_EQ(rd32(&r, LODE_CM_DEMCR), demcr);
        CHECK_EQ(lode_sim_write32(r.sim, SCB_VTOR, 0x20000000u), LODE_OK);
        CHECK_EQ(r.core.reset(r.core.ctx, true), LODE_OK);
        check_reset_halted(&r, demcr, "after a fault");

        /* 4. a plain reset of a running core lets it run from the vector (a halted core
         * stays halted: C_HALT survives a system reset) */
        CHECK_EQ(r.core.resume(r.core.ctx), LODE_OK);
        CHECK_EQ(lode_sim_write32(r.sim, SCB_VTOR, 0x20000000u), LODE_OK);
        c0 = commands(&r);
        CHECK_EQ(r.core.reset(r.core.ctx, false), LODE_OK);
        used = commands(&r) - c0;
        CHECK(!lode_sim_halted(r.sim));
        CHECK(rd32(&r, SCB_VTOR) != 0x20000000u); /* reset (the startup code may set it) */
        if (kind == P_DAP2)
            CHECK(used <= 2);

        /* 5. registers written and the core resumed: R0, PC and xPSR take, the core runs from
         * PC (a loop in RAM); the ST-Link batches them (two commands) and resumes (one) */
        CHECK_EQ(r.core.reset(r.core.ctx, true), LODE_OK);
        static const uint8_t loop[4] = {0xFE, 0xE7, 0xFE, 0xE7}; /* b . */
        CHECK_EQ(lode_sim_mem_write(r.sim, 0x20001000u, loop, sizeof loop), LODE_OK);
        const unsigned sel[3] = {LODE_CM_REG_R0, LODE_CM_REG_PC, LODE_CM_REG_XPSR};
        const uint32_t val[3] = {0x12345678u, 0x20001000u, 0x01000000u};
        c0 = commands(&r);
        CHECK_EQ(r.core.resume_regs(r.core.ctx, sel, val, 3), LODE_OK);
        used = commands(&r) - c0;
        lode_sim_run(r.sim, 100000000ull);
        CHECK(!lode_sim_halted(r.sim));
        CHECK_EQ(r.core.halt(r.core.ctx), LODE_OK);
        uint32_t r0 = 0;
        CHECK_EQ(lode_sim_reg_read(r.sim, LODE_CM_REG_R0, &r0), LODE_OK);
        CHECK_EQ(lode_sim_reg_read(r.sim, LODE_CM_REG_PC, &pc), LODE_OK);
        CHECK_EQ(r0, 0x12345678u);
        CHECK_EQ(pc, 0x20001000u);
        if (kind == P_STLINK)
            CHECK(used <= 3);
        fprintf(stderr, "  %s: 3 registers and resume in %llu probe commands\n", pname[kind],
                (unsigned long long)used);
        rig_close(&r);
    }
}

int main(void)
{
    RUN_TEST(test_reset_halt);
    return TEST_DONE();
}
