/* SPDX-License-Identifier: MIT */
/* The ITM decoder on a real capture: firmware/apps/itm.c runs on the simulated STM32F103 and
 * its SWO byte stream (lode_sim_swo_read) is decoded: "ITM hello\n" as byte writes to
 * stimulus port 0 and one 32-bit write 0x12345678 to port 1. */
#include "lode/error.h"
#include "lode/itm.h"
#include "lode/sim.h"
#include "test.h"

typedef struct capture_s {
    char text0[64];
    size_t n0;
    unsigned port1_writes;
    uint32_t port1_value;
    uint8_t port1_size;
    unsigned other;
} capture_s;

static void on_packet(void *user, const lode_itm_packet_s *p)
{
    capture_s *c = user;
    if (p->kind == LODE_ITM_PKT_INSTRUMENTATION && p->port == 0 && p->size == 1) {
        if (c->n0 < sizeof c->text0 - 1)
            c->text0[c->n0++] = (char)p->data[0];
    } else if (p->kind == LODE_ITM_PKT_INSTRUMENTATION && p->port == 1) {
        c->port1_writes++;
        c->port1_value = p->value;
        c->port1_size = p->size;
    } else {
        char buf[128];
        lode_itm_describe(p, buf, sizeof buf);
        fprintf(stderr, "  unexpected packet: %s\n", buf);
        c->other++;
    }
}

static void test_itm_capture(void)
{
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    lode_sim_s *sim = NULL;
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    CHECK_EQ(lode_sim_load_elf(sim, LODE_FW_DIR "/itm-stm32f103.elf"), LODE_OK);
    lode_sim_power_on_reset(sim);
    CHECK_EQ(lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0001u), LODE_OK); /* DHCSR.C_DEBUGEN */
    lode_sim_stop_e stop = LODE_SIM_STOP_BUDGET;
    for (int i = 0; i < 100 && stop == LODE_SIM_STOP_BUDGET; i++)
        stop = lode_sim_run(sim, 10000000000ull); /* 10 ms of virtual time at a time */
    CHECK_EQ(stop, LODE_SIM_STOP_HALTED); /* at the semihosting BKPT after the ITM writes */

    uint8_t swo[256];
    size_t n = lode_sim_swo_read(sim, swo, sizeof swo);
    CHECK_EQ(n, 10 * 2 + 5);

    /* whole, then byte by byte: the same packets */
    for (int pass = 0; pass < 2; pass++) {
        capture_s c = {0};
        lode_itm_decoder_s d;
        lode_itm_decoder_init(&d);
        if (pass == 0) {
            CHECK_EQ(lode_itm_feed(&d, swo, n, on_packet, &c), LODE_OK);
        } else {
            for (size_t i = 0; i < n; i++)
                CHECK_EQ(lode_itm_feed(&d, swo + i, 1, on_packet, &c), LODE_OK);
        }
        CHECK_EQ(lode_itm_flush(&d, on_packet, &c), LODE_OK);
        c.text0[c.n0] = '\0';
        CHECK(!strcmp(c.text0, "ITM hello\n"));
        CHECK_EQ(c.port1_writes, 1);
        CHECK_EQ(c.port1_size, 4);
        CHECK_EQ(c.port1_value, 0x12345678u);
        CHECK_EQ(c.other, 0);
    }
    lode_sim_free(sim);
}

int main(void)
{
    RUN_TEST(test_itm_capture);
    return TEST_DONE();
}
