/* SPDX-License-Identifier: MIT */
/* The CPU programs the modeled STM32F103 flash half-word by half-word and reads each back at
 * once: stores into flash go through the board's write-protect path (and translation-cache
 * invalidation), which must be safe while Unicorn runs. Regression test for a libunicorn crash
 * when translations were dropped from inside a memory hook. */
#include "lode/error.h"
#include "lode/sim.h"
#include "test.h"

/* Thumb code, assembled from:
 * .syntax unified
 * .thumb
 *   ldr r0, =0x40022000
 *   ldr r1, =0x45670123
 *   str r1, [r0, #4]
 *   ldr r1, =0xCDEF89AB
 *   str r1, [r0, #4]
 *   movs r1, #1
 *   str r1, [r0, #0x10]      @ PG
 *   ldr r2, =0x08000400
 *   movs r5, #0
 * loop:
 *   ldr r3, =0x1234
 *   adds r3, r5
 *   strh r3, [r2]
 * wait:
 *   ldr r4, [r0, #0x0C]
 *   lsls r4, r4, #31
 *   bmi wait
 *   ldrh r6, [r2]
 *   cmp r6, r3
 *   bne bad
 *   adds r2, #2
 *   adds r5, #1
 *   cmp r5, #200
 *   bne loop
 *   movs r0, #0
 *   bkpt #0
 * bad:
 *   movs r0, #1
 *   bkpt #0
 *   .ltorg
*/
static const uint8_t prog[] = {
    0x0d, 0x48, 0x0e, 0x49, 0x41, 0x60, 0x0e, 0x49, 0x41, 0x60, 0x01, 0x21,
    0x01, 0x61, 0x0d, 0x4a, 0x00, 0x25, 0x41, 0xf2, 0x34, 0x23, 0x5b, 0x19,
    0x13, 0x80, 0xc4, 0x68, 0xe4, 0x07, 0xfc, 0xd4, 0x16, 0x88, 0x9e, 0x42,
    0x05, 0xd1, 0x02, 0x32, 0x01, 0x35, 0xc8, 0x2d, 0xf1, 0xd1, 0x00, 0x20,
    0x00, 0xbe, 0x01, 0x20, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x20, 0x02, 0x40,
    0x23, 0x01, 0x67, 0x45, 0xab, 0x89, 0xef, 0xcd, 0x00, 0x04, 0x00, 0x08};

static void test_program_and_read_back(void)
{
    lode_sim_s *s = NULL;
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    REQUIRE(lode_sim_new(&cfg, &s) == LODE_OK);
    CHECK_EQ(lode_sim_write32(s, 0xE000EDF0u, 0xA05F0003u), LODE_OK);
    CHECK_EQ(lode_sim_mem_write(s, 0x20000000u, prog, sizeof prog), LODE_OK);
    lode_sim_reg_write(s, 15, 0x20000000u);
    lode_sim_reg_write(s, 16, 0x01000000u);
    lode_sim_reg_write(s, 13, 0x20005000u);
    CHECK_EQ(lode_sim_write32(s, 0xE000EDF0u, 0xA05F0001u), LODE_OK);
    CHECK_EQ(lode_sim_run(s, 100000000000ull), LODE_SIM_STOP_HALTED);
    uint32_t r0 = 99, r5 = 0;
    lode_sim_reg_read(s, 0, &r0);
    lode_sim_reg_read(s, 5, &r5);
    CHECK_EQ(r0, 0);   /* every half-word read back as programmed */
    CHECK_EQ(r5, 200);
    for (unsigned i = 0; i < 200; i++) {
        uint16_t v = 0;
        CHECK_EQ(lode_sim_mem_read(s, 0x08000400u + 2 * i, &v, 2), LODE_OK);
        CHECK_EQ(v, 0x1234 + i);
    }
    /* 200 x 52.5 us of programming plus the loop */
    uint64_t t = lode_sim_now(s);
    CHECK(t > 200ull * 52500000ull && t < 200ull * 52500000ull + 1000000000ull);
    lode_sim_free(s);
}

int main(void)
{
    RUN_TEST(test_program_and_read_back);
    return TEST_DONE();
}
