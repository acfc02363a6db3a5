/* SPDX-License-Identifier: MIT */
/* The ARMv7-M exception model on the simulated board, checked from inside: firmware/apps/exc.c
 * resets itself through AIRCR.SYSRESETREQ, pends interrupts through the NVIC, masks them with
 * PRIMASK/BASEPRI/FAULTMASK, nests and tail-chains handlers, runs Thread mode on the PSP,
 * misaligns the stack (CCR.STKALIGN), clobbers FP registers in a handler (M4F) and polls
 * SysTick, reporting over semihosting what it saw. This test runs it on both chips and
 * compares the report (ARMv7-M ARM DDI 0403E, B1.5 and B3.2-B3.4). */
#include "sim_fw.h"

static const char common_head[] =
    "sysreset: requesting\n"
    "sysreset: ok\n"
    "nvic: ok\n"
    "preempt: ABazC\n"     /* higher priority preempts mid-handler; equal priority waits */
    "preempt-lr: ok\n"     /* nested EXC_RETURN 0xFFFFFFF1; tail-chained 0xFFFFFFF9 */
    "nested: ABbaC\n"      /* pended in the nested handler, taken after both returned */
    "nested-rettobase: ok\n"
    "primask: ok\n"
    "tiebreak: AC\n"       /* equal priority: lower exception number first */
    "basepri: ok\n"
    "faultmask: ok\n"
    "pendsv: ok\n"
    "pendsv-late: BbP\n"
    "svc: ok\n"
    "psp: ok\n"
    "svc-escalate: ok\n"  /* SVC with PRIMASK set: HardFault, HFSR.FORCED */
    "usagefault: ok\n";   /* enabled UsageFault takes UDF instead of HardFault */

static void run_exc(const char *chip, const char *elf, const char *tail)
{
    fw_run_s *r = calloc(1, sizeof *r);
    REQUIRE(r);
    if (!fw_run(r, chip, elf, 2 * FW_PS_PER_S)) {
        CHECK(!"firmware did not load");
        fw_close(r);
        free(r);
        return;
    }
    char want[2048];
    snprintf(want, sizeof want, "%s%s", common_head, tail);
    CHECK_EQ(r->rc, LODE_OK);
    CHECK(r->res.exited);
    CHECK_EQ(r->res.exit_code, 0);
    CHECK_TEXT(r->console.buf, want);
    fw_close(r);
    free(r);
}

static void test_exc_stm32(void)
{
    /* Cortex-M3 r1p1: CCR.STKALIGN resets to 0 (it became 1 from r2p0); no FPU */
    run_exc("STM32F103C8", "exc-stm32f103.elf",
            "stkalign-reset: 0\n"
            "stkalign=1: ok\n"
            "stkalign=0: ok\n"
            "systick: ok\n"
            "exc: done, 0 failed\n");
}

static void test_exc_nrf(void)
{
    /* Cortex-M4F: CCR.STKALIGN resets to 1; an FP context survives an interrupt */
    run_exc("nRF52840_xxAA", "exc-nrf52840.elf",
            "stkalign-reset: 1\n"
            "stkalign=1: ok\n"
            "stkalign=0: ok\n"
            "fp-context: ok\n"
            "systick: ok\n"
            "exc: done, 0 failed\n");
}

int main(void)
{
    RUN_TEST(test_exc_stm32);
    RUN_TEST(test_exc_nrf);
    return TEST_DONE();
}
