/* SPDX-License-Identifier: MIT */
/* An exception pending but masked by PRIMASK, BASEPRI or FAULTMASK is taken exactly after the
 * instruction that unmasks it (ARMv7-M B5.2.1 CPS, B5.2.3 MSR), neither earlier nor later,
 * while the core runs in long stretches (sim/src/board.c run_until, the CPU's mask watch):
 * code in RAM masks, pends SysTick (or lets SysTick's timer pend it), loops 2^20 times and
 * unmasks; the SysTick handler is a BKPT. The stacked frame must hold the address after the
 * unmasking instruction and the finished loop counter, the instruction count must be exact, and
 * the board must have needed few CPU runs (one translated block per run, as before, would be
 * over two million). On the three cores (M3, M4F, M0+: ARMv6-M code of its own); also with a
 * DWT watchpoint armed (instruction-precise mode), and a flash load through the simulated
 * CMSIS-DAP after firmware/apps/systick.c ran (SysTick pending while the algorithm runs with
 * PRIMASK set): the same figures with the busy-wait fast-forward on and off, in few runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

#define CODE 0x20000100u
#define HANDLER 0x200000F0u /* bkpt #1 */
#define LOOPS 0x100000u     /* mov.w r0, #0x100000 below */
#define PS_PER_MS 1000000000ull
#define F1 "STM32F103C8"

/* cpsid i; r1 = ICSR; str PENDSTSET; mov.w r0, #LOOPS; 1: subs r0, #1; bne 1b; cpsie i; bkpt */
static const uint16_t primask_code[] = {0xB672, 0xF64E, 0x5104, 0xF2CE, 0x0100, 0xF04F, 0x6280, 0x600A,
                                        0xF44F, 0x1080, 0x3801, 0xD1FD, 0xB662, 0xBE00};
/* the same with cpsid f / cpsie f */
static const uint16_t faultmask_code[] = {0xB671, 0xF64E, 0x5104, 0xF2CE, 0x0100, 0xF04F, 0x6280, 0x600A,
                                          0xF44F, 0x1080, 0x3801, 0xD1FD, 0xB661, 0xBE00};
/* SysTick at priority 0x80: movs r3, #0x40; msr basepri, r3; pend; loop; movs r3, #0x80;
 * msr basepri, r3 (still masked); loop; movs r3, #0; msr basepri, r3; bkpt */
static const uint16_t basepri_code[] = {0x2340, 0xF383, 0x8811, 0xF64E, 0x5104, 0xF2CE, 0x0100, 0xF04F,
                                        0x6280, 0x600A, 0xF44F, 0x1080, 0x3801, 0xD1FD, 0x2380, 0xF383,
                                        0x8811, 0xF44F, 0x1080, 0x3801, 0xD1FD, 0x2300, 0xF383, 0x8811,
                                        0xBE00};
/* ARMv6-M (no MOVW/MOVT): cpsid i; ldr r1, =ICSR; ldr r2, =PENDSTSET; str r2, [r1]; ldr r0, =LOOPS;
 * 1: subs r0, #1; bne 1b; cpsie i; bkpt; nop; the three literals */
static const uint16_t v6m_code[] = {0xB672, 0x4904, 0x4A04, 0x600A, 0x4804, 0x3801, 0xD1FD, 0xB662,
                                    0xBE00, 0x46C0, 0xED04, 0xE000, 0x0000, 0x0400, 0x0000, 0x0010};
/* SysTick's timer pends it during the loop: cpsid i; mov.w r0, #LOOPS; loop; cpsie i; bkpt */
static const uint16_t timer_code[] = {0xB672, 0xF44F, 0x1080, 0x3801, 0xD1FD, 0xB662, 0xBE00};

typedef struct expect_s {
    uint32_t ret;   /* the stacked return address: after the unmasking instruction */
    uint64_t insns; /* instructions retired before the exception entry */
} expect_s;

typedef enum setup_e { SETUP_PLAIN, SETUP_SYSTICK_PRIO, SETUP_SYSTICK_TIMER, SETUP_WATCHPOINT } setup_e;

static uint32_t rd32(lode_sim_s *sim, uint32_t addr)
{
    uint32_t v = 0;
    CHECK_EQ(lode_sim_read32(sim, addr, &v), LODE_OK);
    return v;
}

static void run_case(const char *chip, const char *name, const uint16_t *code, size_t n, setup_e setup,
                     expect_s want)
{
    lode_sim_config_s cfg = {.chip = chip};
    lode_sim_s *sim = NULL;
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    uint8_t bytes[64];
    REQUIRE(2 * n <= sizeof bytes);
    for (size_t i = 0; i < n; i++) {
        bytes[2 * i] = (uint8_t)code[i];
        bytes[2 * i + 1] = (uint8_t)(code[i] >> 8);
    }
    const uint8_t handler[2] = {0x01, 0xBE}; /* bkpt #1 */
    uint32_t vectors[16] = {0x20004000u};
    vectors[15] = HANDLER | 1u;
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    CHECK_EQ(core.halt(core.ctx), LODE_OK);
    CHECK_EQ(lode_sim_load(sim, CODE, bytes, 2 * n), LODE_OK);
    CHECK_EQ(lode_sim_load(sim, HANDLER, handler, sizeof handler), LODE_OK);
    CHECK_EQ(lode_sim_mem_write(sim, 0x20000000u, vectors, sizeof vectors), LODE_OK);
    CHECK_EQ(lode_sim_write32(sim, 0xE000ED08u, 0x20000000u), LODE_OK); /* VTOR */
    CHECK_EQ(core.reg_write(core.ctx, 17, 0x20004000u), LODE_OK);      /* MSP */
    CHECK_EQ(core.reg_write(core.ctx, 15, CODE | 1u), LODE_OK);
    CHECK_EQ(core.reg_write(core.ctx, 16, 0x01000000u), LODE_OK);
    if (setup == SETUP_SYSTICK_PRIO)
        CHECK_EQ(lode_sim_write32(sim, 0xE000ED20u, 0x80000000u), LODE_OK); /* SHPR3: SysTick 0x80 */
    if (setup == SETUP_SYSTICK_TIMER) { /* every 100000 core cycles, interrupt on */
        CHECK_EQ(lode_sim_write32(sim, 0xE000E014u, 99999u), LODE_OK);
        CHECK_EQ(lode_sim_write32(sim, 0xE000E018u, 0), LODE_OK);
        CHECK_EQ(lode_sim_write32(sim, 0xE000E010u, 7u), LODE_OK);
    }
    if (setup == SETUP_WATCHPOINT) { /* DWT comparator 0 on writes to a word nobody touches */
        CHECK_EQ(lode_sim_write32(sim, 0xE000EDFCu, 1u << 24), LODE_OK); /* DEMCR.TRCENA */
        CHECK_EQ(lode_sim_write32(sim, 0xE0001020u, 0x20003000u), LODE_OK);
        CHECK_EQ(lode_sim_write32(sim, 0xE0001024u, 0), LODE_OK);
        CHECK_EQ(lode_sim_write32(sim, 0xE0001028u, 6u), LODE_OK);
    }
    uint64_t i0 = lode_sim_instructions(sim), r0 = lode_sim_cpu_runs(sim);
    CHECK_EQ(core.resume(core.ctx), LODE_OK);
    CHECK_EQ(lode_sim_run(sim, 60000 * PS_PER_MS), LODE_SIM_STOP_HALTED);
    uint64_t insns = lode_sim_instructions(sim) - i0, runs = lode_sim_cpu_runs(sim) - r0;
    uint32_t pc = 0, xpsr = 0, msp = 0;
    CHECK_EQ(core.reg_read(core.ctx, 15, &pc), LODE_OK);
    CHECK_EQ(core.reg_read(core.ctx, 16, &xpsr), LODE_OK);
    CHECK_EQ(core.reg_read(core.ctx, 17, &msp), LODE_OK);
    printf("  %s, %s: halted at %08x, IPSR %u, stacked r0 %u pc %08x, %llu instructions, %llu CPU runs\n", chip, name,
           pc, xpsr & 0x1FFu, rd32(sim, msp), rd32(sim, msp + 24), (unsigned long long)insns,
           (unsigned long long)runs);
    CHECK_EQ(pc, HANDLER);              /* in the handler: taken, not run past */
    CHECK_EQ(xpsr & 0x1FFu, 15);        /* SysTick */
    CHECK_EQ(rd32(sim, msp), 0);        /* the loop ran to its end first */
    CHECK_EQ(rd32(sim, msp + 24), want.ret);
    CHECK_EQ(insns, want.insns);
    CHECK(runs < 200); /* long stretches, not one block at a time */
    lode_sim_free(sim);
}

static void test_unmask(void)
{
    static const struct {
        const char *chip, *name;
        const uint16_t *code;
        size_t n;
        setup_e setup;
        expect_s want;
    } cases[] = {
        {F1, "primask", primask_code, sizeof primask_code / 2, SETUP_PLAIN, {CODE + 0x1A, 7 + 2ull * LOOPS}},
        {F1, "faultmask", faultmask_code, sizeof faultmask_code / 2, SETUP_PLAIN, {CODE + 0x1A, 7 + 2ull * LOOPS}},
        {F1, "basepri", basepri_code, sizeof basepri_code / 2, SETUP_SYSTICK_PRIO, {CODE + 0x30, 12 + 4ull * LOOPS}},
        {F1, "timer", timer_code, sizeof timer_code / 2, SETUP_SYSTICK_TIMER, {CODE + 0x0C, 3 + 2ull * LOOPS}},
        {F1, "primask, watchpoint armed (precise mode)", primask_code, sizeof primask_code / 2, SETUP_WATCHPOINT,
         {CODE + 0x1A, 7 + 2ull * LOOPS}},
        {"nRF52840_xxAA", "primask (Cortex-M4F)", primask_code, sizeof primask_code / 2, SETUP_PLAIN,
         {CODE + 0x1A, 7 + 2ull * LOOPS}},
        {"ATSAMD21G18A", "primask (Cortex-M0+)", v6m_code, sizeof v6m_code / 2, SETUP_PLAIN,
         {CODE + 0x10, 6 + 2ull * LOOPS}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(cases[i].chip, cases[i].name, cases[i].code, cases[i].n, cases[i].setup, cases[i].want);
}

/* ---- a flash load while SysTick is pending and masked ---- */

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

typedef struct load_s {
    uint64_t ps, insns, runs;
    bool pending;
} load_s;

static int load_after_systick(bool ffwd, const uint8_t *img, size_t len, load_s *out)
{
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *dap = NULL;
    lode_transport_s *tr = NULL;
    lode_session_s *s = NULL;
    lode_image_s *im = NULL;
    int rc = lode_sim_new(&cfg, &sim);
    if (rc != LODE_OK)
        return rc;
    lode_sim_set_fast_forward(sim, ffwd);
    rc = lode_sim_load_elf(sim, LODE_FW_DIR "/systick-stm32f103.elf");
    lode_sim_dap_config_s dc = {.version = 2};
    if (rc == LODE_OK)
        rc = lode_sim_dap_new(sim, &dc, &dap);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(dap, &tr);
    lode_session_config_s sc = {.close_probe = true, .now_us = v_now, .delay_us = v_delay, .time_user = sim};
    if (rc == LODE_OK)
        rc = lode_probe_cmsis_dap_new(tr, false, NULL, NULL, &sc.probe);
    if (rc == LODE_OK)
        rc = lode_session_open(&sc, &s);
    lode_core_ops_s core;
    if (rc == LODE_OK) {
        lode_session_core_ops(s, &core);
        rc = core.reset(core.ctx, true);
    }
    if (rc == LODE_OK) { /* the firmware runs 3 ms: SysTick on at 1 kHz, main in its WFI loop */
        rc = core.resume(core.ctx);
        lode_sim_advance(sim, 3 * PS_PER_MS);
    }
    if (rc == LODE_OK)
        rc = core.halt(core.ctx);
    if (rc == LODE_OK)
        rc = lode_image_from_bin(img, len, 0x08000000u, &im);
    uint64_t t0 = lode_sim_now(sim), i0 = lode_sim_instructions(sim), r0 = lode_sim_cpu_runs(sim);
    if (rc == LODE_OK) {
        lode_flash_opts_s o = {.verify = true, .no_reset_halt = true}; /* as GDB's load in lode gdb */
        lode_flash_result_s res;
        rc = lode_flash_image(&core, lode_session_chip(s, NULL), im, &o, NULL, &res);
    }
    out->ps = lode_sim_now(sim) - t0;
    out->insns = lode_sim_instructions(sim) - i0;
    out->runs = lode_sim_cpu_runs(sim) - r0;
    out->pending = (rd32(sim, 0xE000ED04u) >> 26 & 1u) != 0; /* ICSR.PENDSTSET */
    uint8_t *back = malloc(len);
    if (rc == LODE_OK && (!back || lode_sim_mem_read(sim, 0x08000000u, back, len) != LODE_OK ||
                          memcmp(back, img, len) != 0))
        rc = LODE_E_VERIFY;
    free(back);
    lode_image_free(im);
    lode_session_close(s);
    lode_transport_close(tr);
    lode_sim_dap_free(dap);
    lode_sim_free(sim);
    return rc;
}

static void test_flash_load(void)
{
    enum { LEN = 8192 };
    static uint8_t img[LEN];
    uint32_t x = 7;
    for (size_t i = 0; i < LEN; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (uint8_t)(x >> 16);
    }
    load_s on = {0}, off = {0};
    CHECK_EQ(load_after_systick(true, img, LEN, &on), LODE_OK);
    CHECK_EQ(load_after_systick(false, img, LEN, &off), LODE_OK);
    printf("  flash 8 KiB after systick.c: %.6f s virtual, %llu instructions; %llu CPU runs with the "
           "fast-forward, %llu without; SysTick pending after: %d\n",
           (double)on.ps / 1e12, (unsigned long long)on.insns, (unsigned long long)on.runs,
           (unsigned long long)off.runs, on.pending);
    CHECK(on.pending && off.pending); /* masked the whole time: the case under test */
    CHECK_EQ(on.ps, off.ps);
    CHECK_EQ(on.insns, off.insns);
    CHECK(on.runs * 100 < on.insns); /* one block per run would be about one run per 3 */
}

int main(void)
{
    RUN_TEST(test_unmask);
    RUN_TEST(test_flash_load);
    return TEST_DONE();
}
