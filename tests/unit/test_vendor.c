/* SPDX-License-Identifier: MIT */
/* Vendor hook dispatch (src/target/vendor/): the ROM table's JEP106 designer picks its vendor's
 * hook first (seen in the order of the ID registers read); an unknown designer, ARM's, or a
 * designer whose hook does not identify the chip still detects it through the other hooks. A
 * fake memory holds either an STM32F103 (DBGMCU_IDCODE, flash size) or an nRF52840 (FICR). */
#include <stdint.h>
#include <string.h>

#include "lode/error.h"
#include "lode/target.h"
#include "target/vendor/vendor.h"
#include "test.h"

#define STM32_IDCODE 0xE0042000u
#define STM32_FLASH_SIZE 0x1FFFF7E0u
#define NRF_FICR_PART 0x10000100u
#define NRF_FICR_VARIANT 0x10000104u

typedef struct fake_s {
    bool nrf; /* else an STM32F103C8 */
    uint32_t reads[8];
    unsigned nreads;
} fake_s;

static int fake_read32(void *ctx, uint32_t addr, uint32_t *val)
{
    fake_s *f = ctx;
    if (f->nreads < 8)
        f->reads[f->nreads++] = addr;
    uint32_t v = 0; /* what an unimplemented address reads as */
    if (!f->nrf && addr == STM32_IDCODE)
        v = 0x20036410u; /* rev 0x2003, DEV_ID 0x410: medium density */
    if (f->nrf && addr == NRF_FICR_PART)
        v = 0x52840u;
    if (f->nrf && addr == NRF_FICR_VARIANT)
        v = 0x41414430u; /* "AAD0" */
    *val = v;
    return LODE_OK;
}

static int fake_read16(void *ctx, uint32_t addr, uint16_t *val)
{
    fake_s *f = ctx;
    if (f->nreads < 8)
        f->reads[f->nreads++] = addr;
    *val = !f->nrf && addr == STM32_FLASH_SIZE ? 64 : 0;
    return LODE_OK;
}

/* detect with `designer` on a fake chip; the chip's name ("" when none) and the first read */
static int detect(const lode_target_db_s *db, bool nrf, uint16_t designer, const char **name, uint32_t *first)
{
    fake_s f = {.nrf = nrf};
    lodei_vendor_mem_s mem = {.read32 = fake_read32, .read16 = fake_read16, .ctx = &f};
    const lode_target_chip_s *chip = NULL;
    char why[240] = "";
    int rc = lodei_vendor_detect(&mem, designer, db, &chip, why, sizeof why);
    *name = rc == LODE_OK && chip ? chip->name : "";
    *first = f.nreads ? f.reads[0] : 0;
    return rc;
}

static void test_vendor_dispatch(void)
{
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    const char *name;
    uint32_t first;
    /* Nordic's designer: the nRF52 hook first (its FICR is the first thing read) */
    CHECK_EQ(detect(db, true, 0x244, &name, &first), LODE_OK);
    CHECK(strncmp(name, "nRF52840", 8) == 0);
    CHECK_EQ(first, NRF_FICR_PART);
    /* ST's designer: the STM32 hook first */
    CHECK_EQ(detect(db, false, 0x020, &name, &first), LODE_OK);
    CHECK(strncmp(name, "STM32F103C8", 11) == 0);
    CHECK_EQ(first, STM32_IDCODE);
    /* no designer, ARM's, or one without a hook: every hook in table order (STM32 first) */
    static const uint16_t unknown[] = {0, LODEI_JEP106_ARM, 0x123};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_EQ(detect(db, true, unknown[i], &name, &first), LODE_OK);
        CHECK(strncmp(name, "nRF52840", 8) == 0);
        CHECK_EQ(first, STM32_IDCODE);
        CHECK_EQ(detect(db, false, unknown[i], &name, &first), LODE_OK);
        CHECK(strncmp(name, "STM32F103C8", 11) == 0);
    }
    /* a designer whose hook does not identify the chip: the others are still tried */
    CHECK_EQ(detect(db, true, 0x020, &name, &first), LODE_OK);
    CHECK(strncmp(name, "nRF52840", 8) == 0);
    CHECK_EQ(first, STM32_IDCODE);
    CHECK(strcmp(lodei_vendor_name(0x244), "Nordic Semiconductor") == 0);
    CHECK(strcmp(lodei_vendor_name(LODEI_JEP106_ARM), "ARM") == 0);
    CHECK(lodei_vendor_name(0x123) == NULL);
    lode_target_db_free(db);
}

int main(void)
{
    RUN_TEST(test_vendor_dispatch);
    return TEST_DONE();
}
