/* SPDX-License-Identifier: MIT */
/* The Cortex-M layer (src/arch/cortexm) end to end on the simulated board through the ADIv5
 * layer and the transfer-level test probe: identification, halt/resume/step, reset and
 * reset-and-halt, core registers (incl. FP on the nRF52840), FPB breakpoints on ELF symbols,
 * DWT watchpoints and fault decoding with vector catch. Firmware from LODE_FW_DIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dap_direct.h"
#include "lode/adi.h"
#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/image.h"
#include "lode/sim.h"
#include "test.h"

#define PS_PER_MS 1000000000ull

typedef struct chip_s {
    const char *name, *suffix;
    uint32_t cpuid, vtor;
    lode_cortexm_core_e core;
    bool fpu;
} chip_s;

static const chip_s chips[] = {
    {"STM32F103C8", "stm32f103", 0x411FC231u, 0x08000000u, LODE_CM_CORE_M3, false},
    {"nRF52840_xxAA", "nrf52840", 0x410FC241u, 0x00000000u, LODE_CM_CORE_M4, true},
};
#define NCHIPS (sizeof chips / sizeof chips[0])

typedef struct rig_s {
    lode_sim_s *sim;
    dap_direct_s dap;
    lode_adi_s *adi;
    lode_cortexm_s *cm;
    lode_image_s *img;
} rig_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    if (getenv("LODE_TEST_VERBOSE"))
        fprintf(stderr, "[%s %s] %s\n", lode_log_level_name(level), lode_log_cat_name(cat), msg);
}

static const lode_log_s test_log = {log_fn, NULL, LODE_LOG_DEBUG};

static bool rig_open(rig_s *r, const chip_s *chip, const char *prog)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip->name;
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK)
        return false;
    char path[512];
    snprintf(path, sizeof path, "%s/%s-%s.elf", LODE_FW_DIR, prog, chip->suffix);
    if (lode_sim_load_elf(r->sim, path) != LODE_OK) {
        fprintf(stderr, "cannot load %s\n", path);
        return false;
    }
    if (lode_image_load_file(path, LODE_IMAGE_ELF, 0, false, &test_log, &r->img) != LODE_OK)
        return false;
    lode_sim_power_on_reset(r->sim); /* start from the loaded vectors */
    dap_direct_init(&r->dap, r->sim, true);
    if (lode_adi_new(&r->dap.ops, &test_log, &r->adi) != LODE_OK)
        return false;
    if (lode_adi_connect(r->adi) != LODE_OK)
        return false;
    return lode_cortexm_new(r->adi, 0, &test_log, &r->cm) == LODE_OK;
}

static void rig_close(rig_s *r)
{
    lode_cortexm_free(r->cm);
    lode_adi_free(r->adi);
    lode_image_free(r->img);
    lode_sim_free(r->sim);
    memset(r, 0, sizeof *r);
}

static uint32_t sym(const rig_s *r, const char *name)
{
    const lode_symbol_s *s = lode_image_find_symbol(r->img, name);
    if (!s) {
        fprintf(stderr, "symbol %s not found\n", name);
        return 0;
    }
    return s->value & ~1u;
}

static uint32_t sym_size(const rig_s *r, const char *name)
{
    const lode_symbol_s *s = lode_image_find_symbol(r->img, name);
    return s ? s->size : 0;
}

static uint32_t rd32(rig_s *r, uint32_t addr)
{
    uint32_t v = 0xDEADBEEFu;
    CHECK_EQ(lode_adi_mem_read32(r->adi, 0, addr, &v), LODE_OK);
    return v;
}

static uint32_t pc_of(rig_s *r)
{
    uint32_t pc = 0;
    CHECK_EQ(lode_cortexm_reg_read(r->cm, LODE_CM_REG_PC, &pc), LODE_OK);
    return pc;
}

/* Let the core run until it halts or `ms` of virtual time pass; true if halted. */
static bool run_until_halt(rig_s *r, unsigned ms)
{
    lode_sim_run(r->sim, (uint64_t)ms * PS_PER_MS);
    bool halted = false;
    CHECK_EQ(lode_cortexm_is_halted(r->cm, &halted), LODE_OK);
    return halted;
}

/* Reset-and-halt, breakpoint on `fn`, run there, clear the breakpoint. */
static bool run_to(rig_s *r, const char *fn)
{
    uint32_t a = sym(r, fn);
    if (!a)
        return false;
    if (lode_cortexm_reset_halt(r->cm) != LODE_OK || lode_cortexm_bp_set(r->cm, a) != LODE_OK ||
        lode_cortexm_resume(r->cm) != LODE_OK)
        return false;
    if (!run_until_halt(r, 50))
        return false;
    bool ok = pc_of(r) == a;
    return lode_cortexm_bp_clear(r->cm, a) == LODE_OK && ok;
}

/* ---- identification ---------------------------------------------------------------------- */
static void test_identify(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "hello"));
        const lode_cortexm_info_s *in = lode_cortexm_info(r.cm);
        CHECK_EQ(in->cpuid, chips[c].cpuid);
        CHECK_EQ(in->core, chips[c].core);
        CHECK(strcmp(in->name, chips[c].fpu ? "Cortex-M4" : "Cortex-M3") == 0);
        CHECK_EQ(in->variant, chips[c].fpu ? 0 : 1);
        CHECK_EQ(in->revision, 1);
        CHECK_EQ(in->fpu, chips[c].fpu);
        CHECK(!in->fpu_double);
        CHECK(!in->v6m);
        rig_close(&r);
    }
    CHECK_EQ(lode_cortexm_new(NULL, 0, NULL, NULL), LODE_E_INVALID_ARG);
    lode_cortexm_free(NULL);
}

/* ---- run control ----------------------------------------------------------------------- */
static void test_halt_resume_step(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "dbg"));
        uint32_t count_addr = sym(&r, "dbg_count");
        REQUIRE(count_addr);

        /* running: registers refused, status says running */
        lode_sim_run(r.sim, 1 * PS_PER_MS);
        bool halted = true;
        CHECK_EQ(lode_cortexm_is_halted(r.cm, &halted), LODE_OK);
        CHECK(!halted);
        uint32_t v = 0;
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_PC, &v), LODE_E_STATE);
        CHECK_EQ(lode_cortexm_step(r.cm, false), LODE_E_STATE);

        CHECK_EQ(lode_cortexm_halt(r.cm), LODE_OK);
        CHECK(lode_sim_halted(r.sim));
        lode_cortexm_status_s st;
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.halted && !st.lockup);
        CHECK(st.dfsr & LODE_CM_DFSR_HALTED);
        char why[64];
        lode_cortexm_dfsr_describe(st.dfsr, why, sizeof why);
        CHECK(strstr(why, "halt request") != NULL);
        uint32_t n1 = rd32(&r, count_addr);

        /* halted: the counter stands still while time passes */
        lode_sim_run(r.sim, 1 * PS_PER_MS);
        CHECK_EQ(rd32(&r, count_addr), n1);

        /* resume: it counts again */
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(!lode_sim_halted(r.sim));
        lode_sim_run(r.sim, 1 * PS_PER_MS);
        CHECK_EQ(lode_cortexm_halt(r.cm), LODE_OK);
        CHECK(rd32(&r, count_addr) > n1);

        /* single steps through dbg_steps: movs (16-bit), movw (32-bit), adds */
        REQUIRE(run_to(&r, "dbg_step0"));
        CHECK_EQ(lode_cortexm_step(r.cm, true), LODE_OK);
        CHECK_EQ(pc_of(&r), sym(&r, "dbg_step1"));
        CHECK_EQ(lode_cortexm_step(r.cm, false), LODE_OK);
        CHECK_EQ(pc_of(&r), sym(&r, "dbg_step2"));
        CHECK_EQ(lode_cortexm_step(r.cm, true), LODE_OK);
        CHECK_EQ(pc_of(&r), sym(&r, "dbg_step3"));
        uint32_t regs[3];
        const unsigned nums[3] = {0, 1, 2};
        CHECK_EQ(lode_cortexm_regs_read(r.cm, nums, regs, 3), LODE_OK);
        CHECK_EQ(regs[0], 1);
        CHECK_EQ(regs[1], 0x1234);
        CHECK_EQ(regs[2], 0x1235);
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.halted);
        CHECK_EQ(st.dfsr & LODE_CM_DFSR_HALTED, LODE_CM_DFSR_HALTED);
        rig_close(&r);
    }
}

/* ---- reset ----------------------------------------------------------------------------------- */
static void test_reset(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "dbg"));
        uint32_t count_addr = sym(&r, "dbg_count");
        REQUIRE(count_addr);

        /* reset and halt: at the reset vector, VC_CORERESET cleared again */
        CHECK_EQ(lode_cortexm_reset_halt(r.cm), LODE_OK);
        CHECK(lode_sim_halted(r.sim));
        uint32_t vec = rd32(&r, chips[c].vtor + 4);
        CHECK_EQ(pc_of(&r), vec & ~1u);
        CHECK_EQ(rd32(&r, LODE_CM_DEMCR) & LODE_CM_DEMCR_VC_CORERESET, 0);
        uint32_t sp = 0, xpsr = 0;
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_MSP, &sp), LODE_OK);
        CHECK_EQ(sp, rd32(&r, chips[c].vtor) & ~3u);
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_XPSR, &xpsr), LODE_OK);
        CHECK_EQ(xpsr, 0x01000000u); /* Thumb, thread mode */

        /* let it count, then a plain reset: the count starts again from zero */
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        lode_sim_run(r.sim, 2 * PS_PER_MS);
        CHECK_EQ(lode_cortexm_halt(r.cm), LODE_OK);
        uint32_t before = rd32(&r, count_addr);
        CHECK(before > 100);
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK_EQ(lode_cortexm_reset(r.cm), LODE_OK);
        bool halted = true;
        CHECK_EQ(lode_cortexm_is_halted(r.cm, &halted), LODE_OK);
        CHECK(!halted);
        CHECK_EQ(lode_cortexm_halt(r.cm), LODE_OK);
        CHECK(rd32(&r, count_addr) < before);
        rig_close(&r);
    }
}

/* ---- registers ------------------------------------------------------------------------------ */
static void test_registers(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "dbg"));
        CHECK_EQ(lode_cortexm_halt(r.cm), LODE_OK);

        /* R0-R12, LR, PSP round trip; compare with the sim's back door */
        for (unsigned i = 0; i <= 12; i++)
            CHECK_EQ(lode_cortexm_reg_write(r.cm, i, 0x10101010u * (i + 1) + i), LODE_OK);
        CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_LR, 0x0800FFF1u), LODE_OK);
        CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_PSP, 0x20001000u), LODE_OK);
        unsigned all[20];
        uint32_t vals[20];
        for (unsigned i = 0; i < 19; i++)
            all[i] = i;
        all[19] = LODE_CM_REG_CFBP;
        lode_adi_stats_s s0, s1;
        lode_adi_stats(r.adi, &s0);
        CHECK_EQ(lode_cortexm_regs_read(r.cm, all, vals, 20), LODE_OK);
        lode_adi_stats(r.adi, &s1);
        CHECK_EQ(s1.batches - s0.batches, 1); /* all registers in one run */
        for (unsigned i = 0; i < 20; i++) {
            uint32_t bd = 0;
            CHECK_EQ(lode_sim_reg_read(r.sim, all[i], &bd), LODE_OK);
            CHECK_EQ(vals[i], bd);
        }
        for (unsigned i = 0; i <= 12; i++)
            CHECK_EQ(vals[i], 0x10101010u * (i + 1) + i);
        CHECK_EQ(vals[LODE_CM_REG_LR], 0x0800FFF1u);
        CHECK_EQ(vals[LODE_CM_REG_PSP], 0x20001000u);

        /* the packed special registers by name */
        unsigned reg = 0;
        CHECK_EQ(lode_cortexm_reg_number("BASEPRI", &reg), LODE_OK);
        CHECK_EQ(reg, LODE_CM_REG_BASEPRI);
        CHECK_EQ(lode_cortexm_reg_write(r.cm, reg, 0x40), LODE_OK);
        CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_PRIMASK, 1), LODE_OK);
        uint32_t v = 0;
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_BASEPRI, &v), LODE_OK);
        CHECK_EQ(v, 0x40);
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_PRIMASK, &v), LODE_OK);
        CHECK_EQ(v, 1);
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_FAULTMASK, &v), LODE_OK);
        CHECK_EQ(v, 0);
        CHECK_EQ(lode_sim_reg_read(r.sim, 20, &v), LODE_OK);
        CHECK_EQ(v & 0xFFFFu, 0x4001u);
        CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_PRIMASK, 0), LODE_OK);
        CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_BASEPRI, 0), LODE_OK);

        CHECK_EQ(lode_cortexm_reg_number("pc", &reg), LODE_OK);
        CHECK_EQ(reg, 15);
        CHECK_EQ(lode_cortexm_reg_number("r13", &reg), LODE_OK);
        CHECK_EQ(reg, 13);
        CHECK_EQ(lode_cortexm_reg_number("s31", &reg), LODE_OK);
        CHECK_EQ(reg, LODE_CM_REG_S0 + 31);
        CHECK_EQ(lode_cortexm_reg_number("r16", &reg), LODE_E_INVALID_ARG);
        CHECK(strcmp(lode_cortexm_reg_name(LODE_CM_REG_XPSR), "xpsr") == 0);
        CHECK_EQ(lode_cortexm_reg_read(r.cm, 19, &v), LODE_E_INVALID_ARG);

        /* FP registers */
        if (chips[c].fpu) {
            for (unsigned i = 0; i < 32; i++)
                CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_S0 + i, 0x3F800000u + i * 0x1111u),
                         LODE_OK);
            CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_FPSCR, 0x03C00000u), LODE_OK);
            unsigned fr[33];
            uint32_t fv[33];
            for (unsigned i = 0; i < 32; i++)
                fr[i] = LODE_CM_REG_S0 + i;
            fr[32] = LODE_CM_REG_FPSCR;
            CHECK_EQ(lode_cortexm_regs_read(r.cm, fr, fv, 33), LODE_OK);
            for (unsigned i = 0; i < 32; i++)
                CHECK_EQ(fv[i], 0x3F800000u + i * 0x1111u);
            CHECK_EQ(fv[32], 0x03C00000u);
            uint32_t bd = 0;
            CHECK_EQ(lode_sim_reg_read(r.sim, 64 + 7, &bd), LODE_OK);
            CHECK_EQ(bd, 0x3F800000u + 7 * 0x1111u);
        } else {
            CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_S0, &v), LODE_E_UNSUPPORTED);
            CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_FPSCR, 0), LODE_E_UNSUPPORTED);
        }

        /* PC write moves execution: point it at dbg_step0 and step */
        uint32_t s0a = sym(&r, "dbg_step0");
        CHECK_EQ(lode_cortexm_reg_write(r.cm, LODE_CM_REG_PC, s0a), LODE_OK);
        CHECK_EQ(pc_of(&r), s0a);
        CHECK_EQ(lode_cortexm_step(r.cm, true), LODE_OK);
        CHECK_EQ(pc_of(&r), sym(&r, "dbg_step1"));
        CHECK_EQ(lode_cortexm_reg_read(r.cm, 0, &v), LODE_OK);
        CHECK_EQ(v, 1);
        rig_close(&r);
    }
}

/* ---- breakpoints ---------------------------------------------------------------------------- */
static void test_breakpoints(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "hello"));
        unsigned n = 0;
        CHECK_EQ(lode_cortexm_bp_count(r.cm, &n), LODE_OK);
        CHECK(n >= 2);
        CHECK_EQ(lode_cortexm_bp_set(r.cm, 0x20000000u), LODE_E_RANGE);

        uint32_t main_addr = sym(&r, "main");
        REQUIRE(main_addr);
        CHECK_EQ(lode_cortexm_reset_halt(r.cm), LODE_OK);
        CHECK_EQ(lode_cortexm_bp_set(r.cm, main_addr | 1u), LODE_OK); /* Thumb bit ignored */
        CHECK_EQ(lode_cortexm_bp_set(r.cm, main_addr), LODE_OK);      /* twice is fine */
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 50));
        CHECK_EQ(pc_of(&r), main_addr);
        lode_cortexm_status_s st;
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.dfsr & LODE_CM_DFSR_BKPT);

        /* the comparator uses the FPBv1 encoding: REPLACE selects the halfword */
        uint32_t comp = rd32(&r, 0xE0002008u);
        CHECK_EQ(comp & 1u, 1u);
        CHECK_EQ(comp & 0x1FFFFFFCu, main_addr & ~3u);
        CHECK_EQ(comp >> 30, (main_addr & 2u) ? 2u : 1u);
        CHECK_EQ(rd32(&r, LODE_CM_FP_CTRL) & 1u, 1u);

        /* step off the breakpoint without hitting it again */
        CHECK_EQ(lode_cortexm_step(r.cm, true), LODE_OK);
        CHECK(pc_of(&r) != main_addr);

        /* the other halfword of the same word shares the comparator (REPLACE = 11) */
        uint32_t other = (main_addr & ~3u) | ((main_addr & 2u) ^ 2u);
        CHECK_EQ(lode_cortexm_bp_set(r.cm, other), LODE_OK);
        CHECK_EQ(rd32(&r, 0xE0002008u) >> 30, 3u);
        CHECK_EQ(lode_cortexm_bp_clear(r.cm, other), LODE_OK);
        CHECK_EQ(rd32(&r, 0xE0002008u) >> 30, (main_addr & 2u) ? 2u : 1u);

        /* all comparators used, then one more */
        CHECK_EQ(lode_cortexm_bp_clear_all(r.cm), LODE_OK);
        for (unsigned i = 0; i < n; i++)
            CHECK_EQ(lode_cortexm_bp_set(r.cm, 0x1000u + 4u * i), LODE_OK);
        CHECK_EQ(lode_cortexm_bp_set(r.cm, 0x1000u + 4u * n), LODE_E_NOMEM);
        CHECK_EQ(lode_cortexm_bp_clear_all(r.cm), LODE_OK);
        CHECK_EQ(rd32(&r, 0xE0002008u), 0);
        CHECK_EQ(lode_cortexm_bp_clear(r.cm, main_addr), LODE_E_INVALID_ARG);

        /* a second run to main after a reset works the same */
        REQUIRE(run_to(&r, "main"));
        rig_close(&r);
    }
}

static void test_breakpoint_loop(void)
{
    /* resume from a breakpoint steps over it and comes back to it one loop later */
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "dbg"));
        uint32_t count_addr = sym(&r, "dbg_count"), st_addr = sym(&r, "dbg_st");
        REQUIRE(count_addr && st_addr);
        REQUIRE(run_to(&r, "dbg_steps"));
        CHECK_EQ(lode_cortexm_bp_set(r.cm, st_addr), LODE_OK);
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 10));
        CHECK_EQ(pc_of(&r), st_addr);
        uint32_t c1 = rd32(&r, count_addr);
        for (int i = 0; i < 3; i++) {
            CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
            CHECK(run_until_halt(&r, 10));
            CHECK_EQ(pc_of(&r), st_addr);
        }
        CHECK_EQ(rd32(&r, count_addr), c1 + 3);
        rig_close(&r);
    }
}

/* ---- watchpoints ---------------------------------------------------------------------------- */
static void test_watchpoints(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "systick"));
        uint32_t ticks = sym(&r, "ticks"), h = sym(&r, "SysTick_Handler");
        uint32_t hsize = sym_size(&r, "SysTick_Handler");
        REQUIRE(ticks && h && hsize);
        REQUIRE(run_to(&r, "main"));

        unsigned n = 0;
        CHECK_EQ(lode_cortexm_wp_count(r.cm, &n), LODE_OK);
        CHECK(n >= 1);
        CHECK(rd32(&r, LODE_CM_DEMCR) & LODE_CM_DEMCR_TRCENA);
        CHECK_EQ(lode_cortexm_wp_set(r.cm, ticks + 1, 4, LODE_CM_WATCH_WRITE), LODE_E_INVALID_ARG);
        CHECK_EQ(lode_cortexm_wp_set(r.cm, ticks, 3, LODE_CM_WATCH_WRITE), LODE_E_INVALID_ARG);
        CHECK_EQ(lode_cortexm_wp_set(r.cm, ticks, 4, LODE_CM_WATCH_WRITE), LODE_OK);
        CHECK_EQ(rd32(&r, ticks), 0);

        /* the handler's ticks++ halts the core after the store */
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 20));
        lode_cortexm_status_s st;
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.dfsr & LODE_CM_DFSR_DWTTRAP);
        CHECK_EQ(rd32(&r, ticks), 1);
        uint32_t pc = pc_of(&r);
        CHECK(pc >= h && pc < h + hsize);

        /* again: the next tick */
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 20));
        CHECK_EQ(rd32(&r, ticks), 2);

        /* read-only watchpoint: main's loop reads ticks */
        CHECK_EQ(lode_cortexm_wp_set(r.cm, ticks, 4, LODE_CM_WATCH_READ), LODE_OK);
        CHECK_EQ(rd32(&r, 0xE0001028u) & 0xFu, 5u); /* same comparator, FUNCTION = read */
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 20));
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.dfsr & LODE_CM_DFSR_DWTTRAP);

        /* cleared: the program runs to its end (semihosting BKPT halts it) */
        CHECK_EQ(lode_cortexm_wp_clear(r.cm, ticks), LODE_OK);
        CHECK_EQ(lode_cortexm_wp_clear(r.cm, ticks), LODE_E_INVALID_ARG);
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 50));
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.dfsr & LODE_CM_DFSR_BKPT);
        CHECK_EQ(st.dfsr & LODE_CM_DFSR_DWTTRAP, 0);
        CHECK(rd32(&r, ticks) >= 10);
        rig_close(&r);
    }
}

/* ---- faults ------------------------------------------------------------------------------- */
static void test_faults(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, &chips[c], "fault"));
        CHECK_EQ(lode_cortexm_reset_halt(r.cm), LODE_OK);
        CHECK_EQ(lode_cortexm_vector_catch(r.cm, LODE_CM_DEMCR_VC_HARDERR, 0), LODE_OK);
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 50));
        lode_cortexm_status_s st;
        CHECK_EQ(lode_cortexm_status(r.cm, &st), LODE_OK);
        CHECK(st.dfsr & LODE_CM_DFSR_VCATCH);
        CHECK_EQ(pc_of(&r), sym(&r, "HardFault_Handler"));
        uint32_t xpsr = 0;
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_XPSR, &xpsr), LODE_OK);
        CHECK_EQ(xpsr & 0x1FFu, 3u); /* IPSR = HardFault */
        /* precise fault: the stacked PC is the faulting load itself, inside main, and the
         * load's base register still holds the address (ARMv7-M B1.5.6) */
        uint32_t sp = 0;
        CHECK_EQ(lode_cortexm_reg_read(r.cm, LODE_CM_REG_SP, &sp), LODE_OK);
        uint32_t spc = rd32(&r, sp + 24);
        CHECK(spc >= sym(&r, "main") && spc < sym(&r, "main") + sym_size(&r, "main"));
        uint32_t insn = rd32(&r, spc & ~3u);
        uint16_t hw = (uint16_t)((spc & 2) ? insn >> 16 : insn);
        bool ldr16 = (hw & 0xF800) == 0x6800, ldr32 = (hw & 0xFFF0) == 0xF8D0;
        CHECK(ldr16 || ldr32);
        if (ldr16) {
            unsigned rn = (hw >> 3) & 7;
            CHECK(rn <= 3); /* r0-r3 are in the stacked frame */
            CHECK_EQ(rd32(&r, sp + 4 * rn), 0x30000000u);
        }

        lode_cortexm_fault_s f;
        CHECK_EQ(lode_cortexm_fault_read(r.cm, &f), LODE_OK);
        CHECK_EQ(f.cfsr, 0x00008200u);
        CHECK_EQ(f.hfsr, 0x40000000u);
        CHECK_EQ(f.bfar, 0x30000000u);
        char text[256];
        CHECK_EQ(lode_cortexm_fault_describe(f.cfsr, f.hfsr, f.bfar, f.mmfar, text, sizeof text),
                 LODE_OK);
        CHECK(strstr(text, "precise data bus error at 0x30000000 (BFAR)") != NULL);
        CHECK(strstr(text, "forced (escalated to HardFault)") != NULL);
        CHECK_EQ(lode_cortexm_vector_catch(r.cm, 0, LODE_CM_DEMCR_VC_HARDERR), LODE_OK);
        rig_close(&r);

        REQUIRE(rig_open(&r, &chips[c], "fault_udf"));
        CHECK_EQ(lode_cortexm_reset_halt(r.cm), LODE_OK);
        CHECK_EQ(lode_cortexm_vector_catch(r.cm, LODE_CM_DEMCR_VC_HARDERR, 0), LODE_OK);
        CHECK_EQ(lode_cortexm_resume(r.cm), LODE_OK);
        CHECK(run_until_halt(&r, 50));
        CHECK_EQ(lode_cortexm_fault_read(r.cm, &f), LODE_OK);
        CHECK_EQ(f.cfsr, 0x00010000u);
        CHECK_EQ(lode_cortexm_fault_describe(f.cfsr, f.hfsr, f.bfar, f.mmfar, text, sizeof text),
                 LODE_OK);
        CHECK(strstr(text, "undefined instruction") != NULL);
        CHECK(strstr(text, "forced") != NULL);
        rig_close(&r);
    }
}

static void test_fault_describe(void)
{
    char b[256];
    CHECK_EQ(lode_cortexm_fault_describe(0, 0, 0, 0, b, sizeof b), LODE_OK);
    CHECK(strcmp(b, "no fault recorded") == 0);
    CHECK_EQ(lode_cortexm_fault_describe(0x00000200u, 0, 0x1234u, 0, b, sizeof b), LODE_OK);
    CHECK(strcmp(b, "precise data bus error (address unknown)") == 0);
    CHECK_EQ(lode_cortexm_fault_describe(0x00000082u, 0, 0, 0x20000010u, b, sizeof b), LODE_OK);
    CHECK(strcmp(b, "data access violation at 0x20000010 (MMFAR)") == 0);
    CHECK_EQ(lode_cortexm_fault_describe(0x02000400u, 0x00000002u, 0, 0, b, sizeof b), LODE_OK);
    CHECK(strcmp(b, "imprecise data bus error (address unknown); divide by zero; bus fault on "
                    "a vector table read") == 0);
    CHECK_EQ(lode_cortexm_fault_describe(0x01000000u, 0, 0, 0, b, sizeof b), LODE_OK);
    CHECK(strcmp(b, "unaligned access") == 0);
    CHECK_EQ(lode_cortexm_fault_describe(0x00020000u, 0, 0, 0, b, sizeof b), LODE_OK);
    CHECK(strstr(b, "invalid state") == b);
    /* too small: whole items only, and the caller is told */
    char s[24];
    CHECK_EQ(lode_cortexm_fault_describe(0x00010000u, 0x40000000u, 0, 0, s, sizeof s),
             LODE_E_NOMEM);
    CHECK(strcmp(s, "undefined instruction") == 0);
    CHECK_EQ(lode_cortexm_fault_describe(0x00010000u, 0, 0, 0, b, 0), LODE_E_INVALID_ARG);

    lode_cortexm_dfsr_describe(0, b, sizeof b);
    CHECK(strcmp(b, "none") == 0);
    lode_cortexm_dfsr_describe(LODE_CM_DFSR_BKPT | LODE_CM_DFSR_DWTTRAP, b, sizeof b);
    CHECK(strcmp(b, "breakpoint, watchpoint (DWT)") == 0);
}

int main(void)
{
    RUN_TEST(test_identify);
    RUN_TEST(test_halt_resume_step);
    RUN_TEST(test_reset);
    RUN_TEST(test_registers);
    RUN_TEST(test_breakpoints);
    RUN_TEST(test_breakpoint_loop);
    RUN_TEST(test_watchpoints);
    RUN_TEST(test_faults);
    RUN_TEST(test_fault_describe);
    return TEST_DONE();
}
