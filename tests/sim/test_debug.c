/* SPDX-License-Identifier: MIT */
/* The Cortex-M debug components of the simulated board, driven through the bus at their
 * architectural addresses as a debugger would (ARMv7-M ARM DDI 0403E, part C: C1.6 DHCSR,
 * DCRSR, DCRDR, DEMCR, C1.8 DWT, C1.11 FPB, B3.2 SCB; ADIv5.2 for the ROM table, the
 * component IDs and the SW-DP). Targets: firmware/apps/dbg.c (labelled instructions to step,
 * break and watch on), hello and fault. */
#include "lode/image.h"
#include "sim_fw.h"

#define DHCSR 0xE000EDF0u
#define DCRSR 0xE000EDF4u
#define DCRDR 0xE000EDF8u
#define DEMCR 0xE000EDFCu
#define DFSR 0xE000ED30u
#define CPUID 0xE000ED00u
#define AIRCR 0xE000ED0Cu
#define VTOR 0xE000ED08u
#define HFSR 0xE000ED2Cu
#define CFSR 0xE000ED28u
#define NVIC_ISER0 0xE000E100u
#define NVIC_ISPR0 0xE000E200u
#define FP_CTRL 0xE0002000u
#define FP_COMP(n) (0xE0002008u + 4u * (n))
#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define DWT_COMP(n) (0xE0001020u + 16u * (n))
#define DWT_MASK(n) (0xE0001024u + 16u * (n))
#define DWT_FUNCTION(n) (0xE0001028u + 16u * (n))
#define ROM 0xE00FF000u

#define DBGKEY 0xA05F0000u
#define C_DEBUGEN (1u << 0)
#define C_HALT (1u << 1)
#define C_STEP (1u << 2)
#define C_MASKINTS (1u << 3)
#define S_REGRDY (1u << 16)
#define S_HALT (1u << 17)
#define S_RETIRE_ST (1u << 24)
#define S_RESET_ST (1u << 25)
#define REGWNR (1u << 16)
#define DFSR_HALTED 1u
#define DFSR_BKPT 2u
#define DFSR_DWTTRAP 4u
#define DFSR_VCATCH 8u
#define VC_CORERESET (1u << 0)
#define VC_HARDERR (1u << 10)
#define TRCENA (1u << 24)

typedef struct chip_s {
    const char *name, *suffix;
    bool fpu;
    uint32_t hz, cpuid, dpidr;
    bool swj;
} chip_s;

static const chip_s chips[] = {
    {"STM32F103C8", "stm32f103", false, 72000000u, 0x411FC231u, 0x1BA01477u, true},
    {"nRF52840_xxAA", "nrf52840", true, 64000000u, 0x410FC241u, 0x2BA01477u, false},
};
#define NCHIPS (sizeof chips / sizeof chips[0])

/* ---- helpers ---- */
static uint32_t rd(lode_sim_s *s, uint32_t a)
{
    uint32_t v = 0xDEADBEEFu;
    CHECK_EQ(lode_sim_read32(s, a, &v), LODE_OK);
    return v;
}

static void wr(lode_sim_s *s, uint32_t a, uint32_t v) { CHECK_EQ(lode_sim_write32(s, a, v), LODE_OK); }

static void halt(lode_sim_s *s)
{
    wr(s, DHCSR, DBGKEY | C_DEBUGEN | C_HALT);
    CHECK(rd(s, DHCSR) & S_HALT);
}

static void resume(lode_sim_s *s) { wr(s, DHCSR, DBGKEY | C_DEBUGEN); }

/* Core register through DCRSR/DCRDR (C1.6.3, C1.6.4). */
static uint32_t reg_get(lode_sim_s *s, unsigned regsel)
{
    wr(s, DCRSR, regsel);
    CHECK(rd(s, DHCSR) & S_REGRDY);
    return rd(s, DCRDR);
}

static void reg_set(lode_sim_s *s, unsigned regsel, uint32_t v)
{
    wr(s, DCRDR, v);
    wr(s, DCRSR, REGWNR | regsel);
    CHECK(rd(s, DHCSR) & S_REGRDY);
}

/* One single step: C_STEP with C_HALT clear, then let the board run until it halts again. */
static void step(lode_sim_s *s, uint32_t extra)
{
    wr(s, DHCSR, DBGKEY | C_DEBUGEN | C_STEP | extra);
    CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
}

typedef struct target_s {
    lode_sim_s *sim;
    lode_image_s *img;
} target_s;

static bool open_target(target_s *t, const chip_s *c, const char *prog)
{
    memset(t, 0, sizeof *t);
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = c->name;
    if (lode_sim_new(&cfg, &t->sim) != LODE_OK)
        return false;
    if (!prog)
        return true;
    char elf[128], path[512];
    snprintf(elf, sizeof elf, "%s-%s.elf", prog, c->suffix);
    fw_path(path, sizeof path, elf);
    if (lode_sim_load_elf(t->sim, path) != LODE_OK)
        return false;
    return lode_image_load_file(path, LODE_IMAGE_ELF, 0, false, NULL, &t->img) == LODE_OK;
}

static void close_target(target_s *t)
{
    lode_image_free(t->img);
    lode_sim_free(t->sim);
}

static uint32_t sym(const target_s *t, const char *name)
{
    const lode_symbol_s *s = lode_image_find_symbol(t->img, name);
    CHECK(s != NULL);
    if (!s)
        fprintf(stderr, "symbol %s not found\n", name);
    return s ? s->value & ~1u : 0;
}

/* ---- DHCSR, DFSR ---- */
static void test_dhcsr(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        target_s t;
        REQUIRE(open_target(&t, &chips[i], "dbg"));
        lode_sim_s *s = t.sim;
        /* a reset happened since power-on: S_RESET_ST, cleared by the read */
        uint32_t v = rd(s, DHCSR);
        CHECK(v & S_RESET_ST);
        CHECK(!(v & S_HALT));
        CHECK(!(rd(s, DHCSR) & S_RESET_ST));
        /* running retires instructions: S_RETIRE_ST, cleared by the read */
        CHECK_EQ(lode_sim_run(s, 100 * FW_PS_PER_US), LODE_SIM_STOP_BUDGET);
        CHECK(rd(s, DHCSR) & S_RETIRE_ST);
        CHECK(!(rd(s, DHCSR) & S_RETIRE_ST));
        /* without DBGKEY the write is ignored */
        wr(s, DHCSR, C_DEBUGEN | C_HALT);
        v = rd(s, DHCSR);
        CHECK_EQ(v & (C_DEBUGEN | C_HALT | S_HALT), 0);
        CHECK(!lode_sim_halted(s));
        wr(s, DHCSR, 0xA05E0000u | C_DEBUGEN | C_HALT);
        CHECK(!lode_sim_halted(s));
        /* with it the core halts */
        wr(s, DHCSR, DBGKEY | C_DEBUGEN | C_HALT);
        v = rd(s, DHCSR);
        CHECK_EQ(v & (C_DEBUGEN | C_HALT | S_HALT | S_REGRDY), C_DEBUGEN | C_HALT | S_HALT | S_REGRDY);
        CHECK(lode_sim_halted(s));
        CHECK(rd(s, DFSR) & DFSR_HALTED);
        /* halted: time passes, nothing retires */
        uint64_t n0 = lode_sim_instructions(s), t0 = lode_sim_now(s);
        CHECK_EQ(lode_sim_run(s, 100 * FW_PS_PER_US), LODE_SIM_STOP_HALTED);
        CHECK_EQ(lode_sim_instructions(s), n0);
        CHECK(lode_sim_now(s) > t0);
        CHECK(!(rd(s, DHCSR) & S_RETIRE_ST));
        /* a keyless write cannot release it either */
        wr(s, DHCSR, C_DEBUGEN);
        CHECK(lode_sim_halted(s));
        /* DFSR: write one to clear (C1.6.1 / B3.2.15) */
        wr(s, DFSR, 0);
        CHECK(rd(s, DFSR) & DFSR_HALTED);
        wr(s, DFSR, DFSR_HALTED);
        CHECK_EQ(rd(s, DFSR) & DFSR_HALTED, 0);
        /* resume */
        resume(s);
        CHECK(!lode_sim_halted(s));
        CHECK_EQ(rd(s, DHCSR) & S_HALT, 0);
        CHECK_EQ(lode_sim_run(s, 100 * FW_PS_PER_US), LODE_SIM_STOP_BUDGET);
        CHECK(lode_sim_instructions(s) > n0);
        /* C_DEBUGEN cleared: C_HALT cannot be set without it */
        wr(s, DHCSR, DBGKEY);
        wr(s, DHCSR, DBGKEY | C_HALT);
        CHECK(!lode_sim_halted(s));
        close_target(&t);
    }
}

/* ---- single step ---- */
static void test_step(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        target_s t;
        REQUIRE(open_target(&t, &chips[i], "dbg"));
        lode_sim_s *s = t.sim;
        lode_sim_run(s, 100 * FW_PS_PER_US);
        halt(s);
        uint32_t s0 = sym(&t, "dbg_step0"), s1 = sym(&t, "dbg_step1"), s2 = sym(&t, "dbg_step2"),
                 s3 = sym(&t, "dbg_step3");
        CHECK_EQ(s1 - s0, 2); /* movs: 16-bit */
        CHECK_EQ(s2 - s1, 4); /* movw: 32-bit */
        reg_set(s, 15, s0);
        reg_set(s, 0, 0);
        reg_set(s, 1, 0);
        reg_set(s, 2, 0);
        CHECK_EQ(reg_get(s, 15), s0);
        wr(s, DFSR, 0x1F);
        uint64_t n0 = lode_sim_instructions(s);
        step(s, 0);
        CHECK_EQ(reg_get(s, 15), s1);
        CHECK_EQ(reg_get(s, 0), 1);
        CHECK_EQ(lode_sim_instructions(s), n0 + 1);
        CHECK(rd(s, DFSR) & DFSR_HALTED);
        CHECK(rd(s, DHCSR) & S_HALT);
        step(s, 0);
        CHECK_EQ(reg_get(s, 15), s2);
        CHECK_EQ(reg_get(s, 1), 0x1234);
        CHECK_EQ(lode_sim_instructions(s), n0 + 2);
        step(s, 0);
        CHECK_EQ(reg_get(s, 15), s3);
        CHECK_EQ(reg_get(s, 2), 0x1235);
        CHECK_EQ(lode_sim_instructions(s), n0 + 3);

        /* an enabled, pending interrupt: with C_MASKINTS the step executes the instruction
         * (C1.6.2); without it the step enters the handler and halts on its first instruction */
        const unsigned irq = 20;
        uint32_t vtor = rd(s, VTOR);
        uint32_t handler = rd(s, vtor + 4u * (16u + irq)) & ~1u;
        wr(s, DHCSR, DBGKEY | C_DEBUGEN | C_HALT | C_MASKINTS); /* set while halted */
        CHECK(rd(s, DHCSR) & C_MASKINTS);
        reg_set(s, 15, s0);
        wr(s, NVIC_ISER0, 1u << irq);
        wr(s, NVIC_ISPR0, 1u << irq);
        step(s, C_MASKINTS);
        CHECK_EQ(reg_get(s, 15), s1);
        CHECK_EQ(reg_get(s, 16) & 0x1FFu, 0);
        CHECK_EQ(rd(s, NVIC_ISPR0), 1u << irq);
        wr(s, DHCSR, DBGKEY | C_DEBUGEN | C_HALT);
        CHECK_EQ(rd(s, DHCSR) & C_MASKINTS, 0);
        step(s, 0);
        CHECK_EQ(reg_get(s, 15), handler);
        CHECK_EQ(reg_get(s, 16) & 0x1FFu, 16u + irq);
        CHECK_EQ(rd(s, NVIC_ISPR0), 0);
        close_target(&t);
    }
}

/* ---- core registers through DCRSR/DCRDR (C1.6.3) ---- */
static void test_registers(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        const chip_s *c = &chips[i];
        target_s t;
        REQUIRE(open_target(&t, c, "dbg"));
        lode_sim_s *s = t.sim;
        lode_sim_run(s, 50 * FW_PS_PER_US);
        halt(s);
        for (unsigned r = 0; r <= 12; r++)
            reg_set(s, r, 0x11111111u * (r + 1) + r);
        for (unsigned r = 0; r <= 12; r++)
            CHECK_EQ(reg_get(s, r), 0x11111111u * (r + 1) + r);
        reg_set(s, 14, 0xFFFFFFF9u);
        CHECK_EQ(reg_get(s, 14), 0xFFFFFFF9u);
        uint32_t pc = sym(&t, "dbg_step0");
        reg_set(s, 15, pc);
        CHECK_EQ(reg_get(s, 15), pc);
        /* xPSR: flags, Thumb bit */
        reg_set(s, 16, 0xF1000000u);
        CHECK_EQ(reg_get(s, 16), 0xF1000000u);
        reg_set(s, 16, 0x01000000u);
        /* MSP, PSP; SP is the one CONTROL.SPSEL selects */
        reg_set(s, 17, 0x20001000u);
        reg_set(s, 18, 0x20002000u);
        CHECK_EQ(reg_get(s, 17), 0x20001000u);
        CHECK_EQ(reg_get(s, 18), 0x20002000u);
        CHECK_EQ(reg_get(s, 13), 0x20001000u);
        /* REGSEL 20: CONTROL[31:24] FAULTMASK[23:16] BASEPRI[15:8] PRIMASK[7:0] */
        reg_set(s, 20, 0x02014001u);
        CHECK_EQ(reg_get(s, 20), 0x02014001u);
        CHECK_EQ(reg_get(s, 13), 0x20002000u); /* SPSEL = 1: SP is PSP */
        reg_set(s, 13, 0x20002100u);
        CHECK_EQ(reg_get(s, 18), 0x20002100u);
        CHECK_EQ(reg_get(s, 17), 0x20001000u);
        reg_set(s, 20, 0);
        CHECK_EQ(reg_get(s, 20), 0);
        CHECK_EQ(reg_get(s, 13), 0x20001000u);
        /* the same through the back door */
        uint32_t v = 0;
        CHECK_EQ(lode_sim_reg_read(s, 17, &v), LODE_OK);
        CHECK_EQ(v, 0x20001000u);
        if (c->fpu) {
            /* CONTROL.FPCA exists on the M4F */
            reg_set(s, 20, 0x04000000u);
            CHECK_EQ(reg_get(s, 20), 0x04000000u);
            reg_set(s, 20, 0);
            reg_set(s, 33, 0x03C00000u); /* FPSCR: DN, FZ, RMode */
            CHECK_EQ(reg_get(s, 33), 0x03C00000u);
            reg_set(s, 33, 0);
            for (unsigned r = 0; r < 32; r++)
                reg_set(s, 64 + r, 0x3F800000u + r * 0x01010101u);
            for (unsigned r = 0; r < 32; r++)
                CHECK_EQ(reg_get(s, 64 + r), 0x3F800000u + r * 0x01010101u);
            CHECK_EQ(lode_sim_reg_read(s, 64 + 7, &v), LODE_OK);
            CHECK_EQ(v, 0x3F800000u + 7 * 0x01010101u);
        } else {
            /* no FP extension: CONTROL.FPCA is not there, REGSEL 33 and 64-95 are reserved */
            reg_set(s, 20, 0x04000000u);
            CHECK_EQ(reg_get(s, 20), 0);
            static const unsigned fpregs[] = {33, 64, 80, 95};
            for (size_t k = 0; k < sizeof fpregs / sizeof fpregs[0]; k++) {
                wr(s, DCRDR, 0xCAFEF00Du);
                wr(s, DCRSR, fpregs[k]);
                CHECK_EQ(rd(s, DCRDR), 0xCAFEF00Du); /* no transfer happened */
                CHECK(lode_sim_reg_read(s, fpregs[k], &v) != LODE_OK);
                CHECK(lode_sim_reg_write(s, fpregs[k], 1) != LODE_OK);
            }
        }
        /* registers that do not exist */
        CHECK(lode_sim_reg_read(s, 19, &v) != LODE_OK);
        CHECK(lode_sim_reg_read(s, 21, &v) != LODE_OK);
        /* the written PC is where execution resumes: a step from dbg_step0 */
        reg_set(s, 15, pc);
        reg_set(s, 17, 0x20001000u);
        step(s, 0);
        CHECK_EQ(reg_get(s, 15), pc + 2);
        CHECK_EQ(reg_get(s, 0), 1);
        close_target(&t);
    }
}

/* ---- vector catch, SYSRESETREQ ---- */
static void test_vector_catch(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        const chip_s *c = &chips[i];
        target_s t;
        REQUIRE(open_target(&t, c, "dbg"));
        lode_sim_s *s = t.sim;
        uint32_t reset_pc = sym(&t, "Reset_Handler");
        wr(s, DHCSR, DBGKEY | C_DEBUGEN);
        CHECK_EQ(lode_sim_run(s, 200 * FW_PS_PER_US), LODE_SIM_STOP_BUDGET);
        wr(s, DEMCR, VC_CORERESET);
        /* without VECTKEY AIRCR ignores the write */
        wr(s, AIRCR, 0x00000004u);
        CHECK_EQ(lode_sim_run(s, 200 * FW_PS_PER_US), LODE_SIM_STOP_BUDGET);
        CHECK(!lode_sim_halted(s));
        rd(s, DHCSR); /* clear S_RESET_ST */
        wr(s, AIRCR, 0x05FA0004u);
        CHECK_EQ(lode_sim_run(s, 200 * FW_PS_PER_US), LODE_SIM_STOP_HALTED);
        CHECK(rd(s, DFSR) & DFSR_VCATCH);
        CHECK(rd(s, DHCSR) & S_RESET_ST);
        halt(s);
        CHECK_EQ(reg_get(s, 15), reset_pc);
        uint32_t sp0 = rd(s, c->fpu ? 0x00000000u : 0x08000000u);
        CHECK_EQ(reg_get(s, 13), sp0);
        CHECK_EQ(reg_get(s, 16), 0x01000000u);
        CHECK_EQ(reg_get(s, 14), 0xFFFFFFFFu);
        /* the reset cleared NVIC/SCB state but not the debug logic (DEMCR kept) */
        CHECK_EQ(rd(s, DEMCR), VC_CORERESET);
        wr(s, DFSR, 0x1F);
        /* without VC_CORERESET the core runs out of the reset */
        wr(s, DEMCR, 0);
        resume(s);
        wr(s, AIRCR, 0x05FA0004u);
        CHECK_EQ(lode_sim_run(s, 200 * FW_PS_PER_US), LODE_SIM_STOP_BUDGET);
        CHECK_EQ(rd(s, DFSR) & DFSR_VCATCH, 0);
        close_target(&t);

        /* VC_HARDERR with the fault firmware: halts on HardFault entry (C1.6.5) */
        REQUIRE(open_target(&t, c, "fault"));
        s = t.sim;
        wr(s, DHCSR, DBGKEY | C_DEBUGEN);
        wr(s, DEMCR, VC_HARDERR);
        CHECK_EQ(lode_sim_run(s, 10 * FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(rd(s, DFSR), DFSR_VCATCH);
        CHECK_EQ(reg_get(s, 15), sym(&t, "HardFault_Handler"));
        CHECK_EQ(reg_get(s, 16) & 0x1FFu, 3);
        CHECK_EQ(rd(s, HFSR), 0x40000000u);
        CHECK_EQ(rd(s, CFSR), 0x00008200u);
        close_target(&t);
    }
}

/* ---- FPB (C1.11) ---- */
static void test_fpb(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        const chip_s *c = &chips[i];
        target_s t;
        REQUIRE(open_target(&t, c, "dbg"));
        lode_sim_s *s = t.sim;
        wr(s, DHCSR, DBGKEY | C_DEBUGEN | C_HALT);
        uint32_t ctrl = rd(s, FP_CTRL);
        CHECK_EQ((ctrl >> 4) & 0xF, 6); /* NUM_CODE */
        CHECK_EQ((ctrl >> 8) & 0xF, 2); /* NUM_LIT */
        CHECK_EQ(ctrl & 1, 0);
        wr(s, FP_CTRL, 1); /* without KEY: ignored */
        CHECK_EQ(rd(s, FP_CTRL) & 1, 0);
        wr(s, FP_CTRL, 3);
        CHECK_EQ(rd(s, FP_CTRL) & 1, 1);
        /* FPB v1 comparator: COMP[28:2], REPLACE 01 = lower halfword, 10 = upper */
        uint32_t main_pc = sym(&t, "main");
        uint32_t comp = (main_pc & 0x1FFFFFFCu) | ((main_pc & 2) ? 0x80000000u : 0x40000000u) | 1u;
        wr(s, FP_COMP(0), comp);
        CHECK_EQ(rd(s, FP_COMP(0)), comp);
        wr(s, DFSR, 0x1F);
        resume(s);
        CHECK_EQ(lode_sim_run(s, 10 * FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(reg_get(s, 15), main_pc);
        CHECK_EQ(rd(s, DFSR), DFSR_BKPT);
        CHECK(rd(s, DHCSR) & S_HALT);
        /* resuming onto an enabled breakpoint halts again before the instruction */
        wr(s, DFSR, 0x1F);
        uint64_t n0 = lode_sim_instructions(s);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(reg_get(s, 15), main_pc);
        CHECK_EQ(lode_sim_instructions(s), n0);
        CHECK_EQ(rd(s, DFSR), DFSR_BKPT);
        /* a breakpoint in the loop: one halt per pass, dbg_count one higher each time */
        uint32_t ld = sym(&t, "dbg_ld"), count = sym(&t, "dbg_count");
        wr(s, FP_COMP(0), 0);
        wr(s, FP_COMP(1), (ld & 0x1FFFFFFCu) | ((ld & 2) ? 0x80000000u : 0x40000000u) | 1u);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(reg_get(s, 15), ld);
        uint32_t c0 = rd(s, count);
        /* step over: disable, step, enable, resume */
        wr(s, FP_COMP(1), rd(s, FP_COMP(1)) & ~1u);
        step(s, 0);
        CHECK_EQ(reg_get(s, 15), sym(&t, "dbg_after_ld"));
        wr(s, FP_COMP(1), rd(s, FP_COMP(1)) | 1u);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(reg_get(s, 15), ld);
        CHECK_EQ(rd(s, count), c0 + 1);
        /* FP_CTRL.ENABLE = 0 turns every comparator off */
        wr(s, FP_CTRL, 2);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_BUDGET);
        CHECK(rd(s, count) > c0 + 10);
        close_target(&t);
    }
}

/* ---- DWT (C1.8) ---- */
static void test_dwt(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        const chip_s *c = &chips[i];
        target_s t;
        REQUIRE(open_target(&t, c, "dbg"));
        lode_sim_s *s = t.sim;
        wr(s, DHCSR, DBGKEY | C_DEBUGEN);
        wr(s, DEMCR, TRCENA);
        CHECK_EQ(rd(s, DWT_CTRL) >> 28, 4); /* NUMCOMP */
        /* CYCCNT counts core cycles while enabled; dbg never sleeps, so 1 ms = hz/1000
         * (after the start-up code has set the clock up) */
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_BUDGET);
        CHECK_EQ(lode_sim_cpu_hz(s), c->hz);
        wr(s, DWT_CYCCNT, 0);
        wr(s, DWT_CTRL, 1);
        uint64_t t0 = lode_sim_now(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_BUDGET);
        uint64_t el = lode_sim_now(s) - t0;
        uint32_t cyc = rd(s, DWT_CYCCNT);
        uint64_t want = el * c->hz / FW_PS_PER_S;
        CHECK(cyc + 2 >= want && cyc <= want + 2);
        if (!(cyc + 2 >= want && cyc <= want + 2))
            fprintf(stderr, "  CYCCNT %u after %llu ps, want %llu\n", cyc, (unsigned long long)el,
                    (unsigned long long)want);
        /* disabled: holds its value */
        wr(s, DWT_CTRL, 0);
        uint32_t held = rd(s, DWT_CYCCNT);
        lode_sim_run(s, FW_PS_PER_MS);
        CHECK_EQ(rd(s, DWT_CYCCNT), held);
        /* halted: no cycles */
        wr(s, DWT_CTRL, 1);
        halt(s);
        held = rd(s, DWT_CYCCNT);
        lode_sim_run(s, FW_PS_PER_MS);
        CHECK_EQ(rd(s, DWT_CYCCNT), held);
        wr(s, DWT_CTRL, 0);

        uint32_t src = sym(&t, "dbg_src"), dst = sym(&t, "dbg_dst");
        /* FUNCTION 5: data read. Halt at the boundary after the load, MATCHED set */
        wr(s, DWT_COMP(0), src);
        wr(s, DWT_MASK(0), 0);
        wr(s, DWT_FUNCTION(0), 5);
        wr(s, DFSR, 0x1F);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(rd(s, DFSR), DFSR_DWTTRAP);
        CHECK_EQ(reg_get(s, 15), sym(&t, "dbg_after_ld"));
        CHECK_EQ(reg_get(s, 2), 0x600DF00Du);
        CHECK(rd(s, DWT_FUNCTION(0)) & (1u << 24));
        CHECK_EQ(rd(s, DWT_FUNCTION(0)) & (1u << 24), 0); /* MATCHED clears on read */
        /* FUNCTION 6: data write */
        wr(s, DWT_FUNCTION(0), 0);
        wr(s, DWT_COMP(1), dst);
        wr(s, DWT_MASK(1), 0);
        wr(s, DWT_FUNCTION(1), 6);
        wr(s, DFSR, 0x1F);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(rd(s, DFSR), DFSR_DWTTRAP);
        CHECK_EQ(reg_get(s, 15), sym(&t, "dbg_after_st"));
        CHECK_EQ(rd(s, dst), 0x600DF00Eu);
        CHECK(rd(s, DWT_FUNCTION(1)) & (1u << 24));
        /* a read watch on an address the program only writes never fires */
        wr(s, DWT_FUNCTION(1), 5);
        wr(s, DFSR, 0x1F);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_BUDGET);
        CHECK_EQ(rd(s, DWT_FUNCTION(1)) & (1u << 24), 0);
        /* FUNCTION 7: read or write; on dbg_src the read triggers */
        halt(s);
        wr(s, DWT_FUNCTION(1), 0);
        wr(s, DWT_COMP(2), src);
        wr(s, DWT_MASK(2), 0);
        wr(s, DWT_FUNCTION(2), 7);
        wr(s, DFSR, 0x1F);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_HALTED);
        CHECK_EQ(rd(s, DFSR), DFSR_DWTTRAP);
        CHECK_EQ(reg_get(s, 15), sym(&t, "dbg_after_ld"));
        /* without TRCENA the DWT is off */
        wr(s, DEMCR, 0);
        wr(s, DFSR, 0x1F);
        resume(s);
        CHECK_EQ(lode_sim_run(s, FW_PS_PER_MS), LODE_SIM_STOP_BUDGET);
        close_target(&t);
    }
}

/* ---- ROM table and IDs (ADIv5.2 D3, ARMv7-M C1.2) ---- */
static uint32_t cidr(lode_sim_s *s, uint32_t base)
{
    uint32_t v = 0;
    for (unsigned k = 0; k < 4; k++)
        v |= (rd(s, base + 0xFF0u + 4u * k) & 0xFFu) << (8 * k);
    return v;
}

static uint64_t pidr(lode_sim_s *s, uint32_t base)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < 4; k++)
        v |= (uint64_t)(rd(s, base + 0xFE0u + 4u * k) & 0xFFu) << (8 * k);
    v |= (uint64_t)(rd(s, base + 0xFD0u) & 0xFFu) << 32;
    return v;
}

static void check_arm_pidr(lode_sim_s *s, uint32_t base, unsigned part)
{
    uint64_t p = pidr(s, base);
    CHECK_EQ(p & 0xFFF, part);                   /* PART */
    CHECK_EQ((p >> 12) & 0x7F, 0x3B);            /* JEP106 identity: ARM */
    CHECK_EQ((p >> 19) & 1, 1);                  /* JEDEC-assigned */
    CHECK_EQ((p >> 32) & 0xF, 4);                /* JEP106 continuation code */
    if ((p & 0xFFF) != part)
        fprintf(stderr, "  component at 0x%08x: PIDR 0x%010llx\n", base, (unsigned long long)p);
}

static void test_rom_table(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        const chip_s *c = &chips[i];
        target_s t;
        REQUIRE(open_target(&t, c, NULL));
        lode_sim_s *s = t.sim;
        bool m4 = c->fpu;
        CHECK_EQ(rd(s, CPUID), c->cpuid);
        /* ROM table: class 0x1 */
        CHECK_EQ(cidr(s, ROM), 0xB105100Du);
        CHECK_EQ(rd(s, ROM + 0xFCC) & 1, 1); /* MEMTYPE.SYSMEM */
        /* the vendor's ROM table (ADIv5.2 D3 PIDR): ST 0x020 part 0x410 (DEV_ID), Nordic 0x244 */
        uint64_t rp = pidr(s, ROM);
        CHECK_EQ(rp & 0xFFF, m4 ? 0x000 : 0x410);
        CHECK_EQ((rp >> 12) & 0x7F, m4 ? 0x44 : 0x20);
        CHECK_EQ((rp >> 19) & 1, 1);
        CHECK_EQ((rp >> 32) & 0xF, m4 ? 2 : 0);
        static const uint32_t want[] = {0xE000E000u, 0xE0001000u, 0xE0002000u, 0xE0000000u, 0xE0040000u};
        uint32_t found[16];
        unsigned n = 0;
        for (unsigned k = 0; k < 16; k++) {
            uint32_t e = rd(s, ROM + 4u * k);
            if (e == 0)
                break;
            CHECK(e & 2); /* 32-bit format */
            if (e & 1)
                found[n++] = ROM + (e & 0xFFFFF000u);
        }
        CHECK(n >= 5);
        for (unsigned k = 0; k < 5 && k < n; k++)
            CHECK_EQ(found[k], want[k]);
        /* generic IP components (class 0xE): SCS, DWT, FPB, ITM */
        CHECK_EQ(cidr(s, 0xE000E000u), 0xB105E00Du);
        CHECK_EQ(cidr(s, 0xE0001000u), 0xB105E00Du);
        CHECK_EQ(cidr(s, 0xE0002000u), 0xB105E00Du);
        CHECK_EQ(cidr(s, 0xE0000000u), 0xB105E00Du);
        /* the TPIU is a CoreSight component (class 0x9) */
        CHECK_EQ(cidr(s, 0xE0040000u), 0xB105900Du);
        CHECK_EQ(rd(s, 0xE0040FCCu), 0x11); /* DEVTYPE: trace sink, trace port */
        check_arm_pidr(s, 0xE000E000u, m4 ? 0x00C : 0x000);
        check_arm_pidr(s, 0xE0001000u, 0x002);
        check_arm_pidr(s, 0xE0002000u, 0x003);
        check_arm_pidr(s, 0xE0000000u, 0x001);
        check_arm_pidr(s, 0xE0040000u, m4 ? 0x9A1 : 0x923);
        if (!m4)
            CHECK_EQ(rd(s, 0xE0042000u), 0x20036410u); /* DBGMCU_IDCODE: rev X, medium density */
        else
            CHECK_EQ(rd(s, 0x10000100u), 0x00052840u); /* FICR INFO.PART */
        close_target(&t);
    }
}

/* ---- SW-DP (ADIv5.2 B4, B5) ---- */
#define DP 0
#define AP 1

static int xfer(lode_sim_s *s, bool ap, bool rnw, uint8_t a, uint32_t *v) { return lode_sim_swd_transfer(s, ap, rnw, a, v); }

static void line_reset(lode_sim_s *s)
{
    static const uint8_t ones[7] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t idle[1] = {0};
    lode_sim_swj_sequence(s, 56, ones);
    lode_sim_swj_sequence(s, 8, idle);
}

static void test_swd(void)
{
    for (size_t i = 0; i < NCHIPS; i++) {
        const chip_s *c = &chips[i];
        target_s t;
        REQUIRE(open_target(&t, c, NULL));
        lode_sim_s *s = t.sim;
        uint32_t v = 0;
        /* nothing answers before the link is set up */
        CHECK_EQ(xfer(s, DP, true, 0x0, &v), LODE_SWD_ACK_NONE);
        if (c->swj) {
            /* SWJ-DP comes up in JTAG: a line reset alone does not select SWD */
            line_reset(s);
            CHECK_EQ(xfer(s, DP, true, 0x0, &v), LODE_SWD_ACK_NONE);
            static const uint8_t ones[7] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
            static const uint8_t jtag_to_swd[2] = {0x9E, 0xE7}; /* 0xE79E, LSB first */
            lode_sim_swj_sequence(s, 56, ones);
            lode_sim_swj_sequence(s, 16, jtag_to_swd);
        }
        line_reset(s);
        uint64_t t0 = lode_sim_now(s);
        CHECK_EQ(xfer(s, DP, true, 0x0, &v), LODE_SWD_ACK_OK);
        uint64_t dt = lode_sim_now(s) - t0;
        CHECK_EQ(v, c->dpidr);
        /* wire time of one OK read at the 4 MHz default: ~46 bits (8 request, turnaround,
         * 3 ACK, 32 data + parity, turnaround, idle) */
        uint64_t bit = FW_PS_PER_S / 4000000u;
        CHECK(dt >= 44 * bit && dt <= 52 * bit);
        lode_sim_set_swd_hz(s, 1000000u);
        t0 = lode_sim_now(s);
        CHECK_EQ(xfer(s, DP, true, 0x0, &v), LODE_SWD_ACK_OK);
        dt = lode_sim_now(s) - t0;
        CHECK(dt >= 44 * 4 * bit && dt <= 52 * 4 * bit);
        lode_sim_set_swd_hz(s, 4000000u);
        /* AP access before power-up faults (STICKYERR); ABORT clears it */
        CHECK_EQ(xfer(s, AP, true, 0xC, &v), LODE_SWD_ACK_FAULT);
        v = 0x1E; /* STKCMPCLR | STKERRCLR | WDERRCLR | ORUNERRCLR */
        CHECK_EQ(xfer(s, DP, false, 0x0, &v), LODE_SWD_ACK_OK);
        /* power-up handshake through CTRL/STAT */
        v = 0x50000000u; /* CSYSPWRUPREQ | CDBGPWRUPREQ */
        CHECK_EQ(xfer(s, DP, false, 0x4, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(xfer(s, DP, true, 0x4, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(v & 0xF0000000u, 0xF0000000u);
        /* AP IDR (bank 0xF, offset 0xC): posted read, value from RDBUFF */
        v = 0x000000F0u;
        CHECK_EQ(xfer(s, DP, false, 0x8, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(xfer(s, AP, true, 0xC, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(xfer(s, DP, true, 0xC, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(v, 0x24770011u);
        /* BASE (bank 0xF, offset 0x8): the ROM table */
        CHECK_EQ(xfer(s, AP, true, 0x8, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(xfer(s, DP, true, 0xC, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(v & 0xFFFFF000u, ROM);
        /* MEM-AP read of CPUID: CSW 32-bit, TAR, DRW (posted), RDBUFF */
        v = 0;
        CHECK_EQ(xfer(s, DP, false, 0x8, &v), LODE_SWD_ACK_OK);
        v = 0x23000002u;
        CHECK_EQ(xfer(s, AP, false, 0x0, &v), LODE_SWD_ACK_OK);
        v = CPUID;
        CHECK_EQ(xfer(s, AP, false, 0x4, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(xfer(s, AP, true, 0xC, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(xfer(s, DP, true, 0xC, &v), LODE_SWD_ACK_OK);
        CHECK_EQ(v, c->cpuid);
        /* halt the core through the MEM-AP: DHCSR write, then read S_HALT */
        v = DHCSR;
        CHECK_EQ(xfer(s, AP, false, 0x4, &v), LODE_SWD_ACK_OK);
        v = DBGKEY | C_DEBUGEN | C_HALT;
        CHECK_EQ(xfer(s, AP, false, 0xC, &v), LODE_SWD_ACK_OK);
        CHECK(lode_sim_halted(s));
        /* a transfer's wire time also runs the core: a stopped clock would not advance */
        close_target(&t);
    }
}

int main(void)
{
    RUN_TEST(test_dhcsr);
    RUN_TEST(test_step);
    RUN_TEST(test_registers);
    RUN_TEST(test_vector_catch);
    RUN_TEST(test_fpb);
    RUN_TEST(test_dwt);
    RUN_TEST(test_rom_table);
    RUN_TEST(test_swd);
    return TEST_DONE();
}
