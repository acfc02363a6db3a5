/* SPDX-License-Identifier: MIT */
/* ATSAMD21G18A on the simulated board, through the public API only: identification (CPUID,
 * DSU.DID, the ROM tables, the M0+ debug components), NVMCTRL as the SAM D21 datasheet §22
 * describes it (PARAM, the page buffer and its automatic write, row erase and its time, BOOTPROT
 * and the region locks, the user row), the DSU's CRC32 and chip erase, and the factory image:
 * lode's SAM-BA bootloader at 0 with BOOTPROT = 8 KiB. */
#include <stdlib.h>

#include "lode/sim.h"
#include "test.h"

#define NVM 0x41004000u
#define N_CTRLA (NVM + 0x00)
#define N_CTRLB (NVM + 0x04)
#define N_PARAM (NVM + 0x08)
#define N_INTFLAG (NVM + 0x14)
#define N_STATUS (NVM + 0x18)
#define N_ADDR (NVM + 0x1C)
#define N_LOCK (NVM + 0x20)
#define CMD(c) (0xA500u | (c))
#define DSU 0x41002000u
#define DHCSR 0xE000EDF0u
#define US 1000000ull
#define MS 1000000000ull

/* REQUIRE for helpers that return a value */
#define NEED(cond)                                                                   \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: NEED %s failed\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static lode_sim_s *board(void)
{
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "ATSAMD21G18A";
    lode_sim_s *sim = NULL;
    NEED(lode_sim_new(&cfg, &sim) == LODE_OK);
    NEED(lode_sim_write32(sim, DHCSR, 0xA05F0003u) == LODE_OK); /* halt: the debugger alone */
    return sim;
}

static uint32_t rd(lode_sim_s *sim, uint32_t a)
{
    uint32_t v = 0xDEADBEEFu;
    CHECK(lode_sim_read32(sim, a, &v) == LODE_OK);
    return v;
}

static void wait_ready(lode_sim_s *sim)
{
    for (int i = 0; i < 1000 && !(rd(sim, N_INTFLAG) & 1u); i++)
        lode_sim_advance(sim, 100 * US);
    CHECK(rd(sim, N_INTFLAG) & 1u);
}

static void test_identity(void)
{
    lode_sim_s *sim = board();
    CHECK_EQ(rd(sim, 0xE000ED00u), 0x410CC601u);       /* CPUID: Cortex-M0+ r0p1 */
    CHECK_EQ(rd(sim, DSU + 0x18), 0x10010305u);        /* DID: SAMD21G18A rev D */
    CHECK_EQ(rd(sim, DSU + 0x1000) & 0xFFFFF003u, 0x9F0FC003u); /* -> 0xE00FF000 */
    CHECK_EQ(rd(sim, 0xE00FF000u), 0xFFF0F003u);       /* the M0+ ROM table: SCS, DWT, BPU */
    CHECK_EQ(rd(sim, 0xE00FF00Cu), 0u);
    CHECK_EQ((rd(sim, 0xE0002000u) >> 4) & 0xFu, 4u);  /* BP_CTRL.NUM_CODE = 4 */
    CHECK_EQ(rd(sim, 0xE0001000u) >> 28, 2u);          /* DWT_CTRL.NUMCOMP = 2 */
    uint32_t v;
    CHECK(lode_sim_read32(sim, 0xE0000000u, &v) != LODE_OK); /* no ITM on the M0+ */
    CHECK_EQ(rd(sim, N_PARAM), 0x00031000u);            /* 4096 pages of 64 bytes */
    CHECK_EQ(rd(sim, N_LOCK) & 0xFFFFu, 0xFFFFu);        /* all regions unlocked */
    CHECK_EQ(rd(sim, 0x00804000u) & 7u, 2u);             /* BOOTPROT = 8 KiB */
    CHECK_EQ(rd(sim, N_CTRLB) & 0x80u, 0u);              /* MANW = 0 after reset */
    lode_sim_free(sim);
}

static void test_bootloader_image(void)
{
    lode_sim_s *sim = board();
    uint32_t sp = rd(sim, 0), pc = rd(sim, 4);
    if (!LODE_FW_DIR[0]) {
        CHECK_EQ(sp, 0xFFFFFFFFu); /* built without firmware: a blank board */
    } else {
        CHECK(sp > 0x20000000u && sp <= 0x20008000u);
        CHECK((pc & 1u) && pc < 0x2000u);
        CHECK_EQ(rd(sim, 0x2000), 0xFFFFFFFFu); /* no application yet */
    }
    lode_sim_free(sim);
}

static void test_erase_write(void)
{
    lode_sim_s *sim = board();
    /* BOOTPROT: the first 8 KiB refuse erase and write with LOCKE */
    CHECK(lode_sim_write32(sim, N_ADDR, 0x0u / 2) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x02)) == LODE_OK);
    CHECK_EQ(rd(sim, N_STATUS) & 0x1Cu, 0x08u);
    CHECK_EQ(rd(sim, N_INTFLAG) & 2u, 2u); /* ERROR */
    CHECK(lode_sim_write32(sim, N_STATUS, 0x1Cu) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_INTFLAG, 2u) == LODE_OK);
    CHECK_EQ(rd(sim, N_STATUS) & 0x1Cu, 0u);
    /* a wrong key: PROGE */
    CHECK(lode_sim_write32(sim, N_CTRLA, 0x1202u) == LODE_OK);
    CHECK_EQ(rd(sim, N_STATUS) & 0x1Cu, 0x04u);
    CHECK(lode_sim_write32(sim, N_STATUS, 0x1Cu) == LODE_OK);

    /* manual write: the page buffer, then WP; NOR semantics (only 1 -> 0) */
    CHECK(lode_sim_write32(sim, N_CTRLB, 0x80u) == LODE_OK);
    for (uint32_t i = 0; i < 16; i++)
        CHECK(lode_sim_write32(sim, 0x4000 + 4 * i, 0x11111111u * (i & 7u)) == LODE_OK);
    CHECK_EQ(rd(sim, 0x4000), 0xFFFFFFFFu);            /* the array still erased */
    CHECK_EQ(rd(sim, N_STATUS) & 2u, 2u);              /* LOAD */
    CHECK_EQ(rd(sim, N_ADDR), (0x4000u + 60) / 2);     /* ADDR follows the buffer writes */
    uint64_t t0 = lode_sim_now(sim);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x04)) == LODE_OK);
    CHECK_EQ(rd(sim, N_INTFLAG) & 1u, 0u);             /* busy */
    wait_ready(sim);
    uint64_t dt = lode_sim_now(sim) - t0;
    CHECK(dt >= 2500 * US && dt < 2700 * US);          /* tFPP 2.5 ms */
    CHECK_EQ(rd(sim, 0x4004), 0x11111111u);
    CHECK_EQ(rd(sim, 0x403C), 0x77777777u);
    CHECK_EQ(rd(sim, N_STATUS) & 2u, 0u);              /* the buffer is cleared by the write */
    /* the same page again without an erase: AND */
    CHECK(lode_sim_write32(sim, 0x4004, 0x0F0F0F0Fu) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x04)) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, 0x4004), 0x01010101u);
    CHECK_EQ(rd(sim, 0x4008), 0x22222222u);            /* the rest of the buffer was all ones */
    /* row erase: 256 bytes, 6 ms */
    CHECK(lode_sim_write32(sim, N_ADDR, 0x4040u / 2) == LODE_OK);
    t0 = lode_sim_now(sim);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x02)) == LODE_OK);
    wait_ready(sim);
    dt = lode_sim_now(sim) - t0;
    CHECK(dt >= 6 * MS && dt < 6200 * US);
    CHECK_EQ(rd(sim, 0x4004), 0xFFFFFFFFu);
    /* automatic write (MANW = 0): the page's last word writes the page */
    CHECK(lode_sim_write32(sim, N_CTRLB, 0x00u) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x44)) == LODE_OK); /* PBC */
    CHECK(lode_sim_write32(sim, 0x4100, 0xA5A5A5A5u) == LODE_OK);
    CHECK(lode_sim_write32(sim, 0x413C, 0x5A5A5A5Au) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, 0x4100), 0xA5A5A5A5u);
    CHECK_EQ(rd(sim, 0x413C), 0x5A5A5A5Au);
    CHECK_EQ(rd(sim, 0x4104), 0xFFFFFFFFu);
    /* region lock: LR, then ER refused; UR again */
    CHECK(lode_sim_write32(sim, N_ADDR, 0x8000u / 2) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x40)) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, N_LOCK) & 0xFFFFu, 0xFFFBu);       /* region 2 (32-48 KiB) */
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x02)) == LODE_OK);
    CHECK_EQ(rd(sim, N_STATUS) & 0x08u, 0x08u);
    CHECK(lode_sim_write32(sim, N_STATUS, 0x1Cu) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x41)) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, N_LOCK) & 0xFFFFu, 0xFFFFu);
    lode_sim_free(sim);
}

static void test_user_row_and_dsu(void)
{
    lode_sim_s *sim = board();
    /* BOOTPROT = 7 (none) through EAR + WAP: then row 0 erases */
    uint32_t w0 = rd(sim, 0x00804000u), w1 = rd(sim, 0x00804004u);
    CHECK(lode_sim_write32(sim, N_ADDR, 0x00804000u / 2) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x05)) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, 0x00804000u), 0xFFFFFFFFu);
    CHECK(lode_sim_write32(sim, N_CTRLB, 0x80u) == LODE_OK);
    CHECK(lode_sim_write32(sim, 0x00804000u, w0 | 7u) == LODE_OK);
    CHECK(lode_sim_write32(sim, 0x00804004u, w1) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x06)) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, 0x00804000u) & 7u, 7u);
    CHECK(lode_sim_write32(sim, N_ADDR, 0) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x02)) == LODE_OK); /* still protected: until reset */
    CHECK_EQ(rd(sim, N_STATUS) & 0x1Cu, 0x08u);
    lode_sim_power_on_reset(sim); /* the flash and the user row stay */
    CHECK(lode_sim_write32(sim, DHCSR, 0xA05F0003u) == LODE_OK);
    CHECK_EQ(rd(sim, 0x00804000u) & 7u, 7u);
    CHECK(lode_sim_write32(sim, N_ADDR, 0) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x02)) == LODE_OK);
    wait_ready(sim);
    CHECK_EQ(rd(sim, N_STATUS) & 0x1Cu, 0u);
    CHECK_EQ(rd(sim, 0), 0xFFFFFFFFu);
    /* an ER outside the main array: PROGE */
    CHECK(lode_sim_write32(sim, N_ADDR, 0x00040000u / 2) == LODE_OK);
    CHECK(lode_sim_write32(sim, N_CTRLA, CMD(0x02)) == LODE_OK);
    CHECK_EQ(rd(sim, N_STATUS) & 0x1Cu, 0x04u);

    /* DSU CRC32 of "123456789" + 3 zero bytes in SRAM, seeded 0xFFFFFFFF, complemented = the CRC */
    static const uint8_t data[12] = {'1', '2', '3', '4', '5', '6', '7', '8', '9', 0, 0, 0};
    CHECK(lode_sim_mem_write(sim, 0x20001000u, data, 8) == LODE_OK);
    CHECK(lode_sim_write32(sim, DSU + 0x04, 0x20001000u) == LODE_OK);
    CHECK(lode_sim_write32(sim, DSU + 0x08, 8u) == LODE_OK);
    CHECK(lode_sim_write32(sim, DSU + 0x0C, 0xFFFFFFFFu) == LODE_OK);
    CHECK(lode_sim_write32(sim, DSU + 0x00, 0x04u) == LODE_OK);
    lode_sim_advance(sim, 100 * US);
    CHECK_EQ((rd(sim, DSU) >> 8) & 1u, 1u); /* STATUSA.DONE */
    CHECK_EQ(~rd(sim, DSU + 0x0C), 0x9AE0DAAFu); /* CRC-32 of "12345678" */
    /* chip erase: the main array, not the user row */
    CHECK(lode_sim_mem_write(sim, 0x20001000u, data, 8) == LODE_OK);
    CHECK(lode_sim_write32(sim, DSU + 0x00, 0x10u) == LODE_OK);
    lode_sim_advance(sim, 300 * MS);
    CHECK_EQ((rd(sim, DSU) >> 8) & 1u, 1u);
    CHECK_EQ(rd(sim, 0x4), 0xFFFFFFFFu);
    CHECK_EQ(rd(sim, 0x00804000u) & 7u, 7u);
    lode_sim_free(sim);
}

int main(void)
{
    RUN_TEST(test_identity);
    RUN_TEST(test_bootloader_image);
    RUN_TEST(test_erase_write);
    RUN_TEST(test_user_row_and_dsu);
    return TEST_DONE();
}
