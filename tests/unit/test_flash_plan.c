/* SPDX-License-Identifier: MIT */
#include "lode/error.h"
#include "lode/flash.h"
#include "test.h"

/* Sectors: 4 x 1 KiB from 0x08000000, then 2 KiB sectors (an uneven layout on purpose). */
static int sectors(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    (void)user;
    if (addr < 0x08000000u || addr >= 0x08010000u)
        return LODE_E_RANGE;
    if (addr < 0x08001000u) {
        *start = addr & ~0x3FFu;
        *size = 0x400;
    } else {
        *start = addr & ~0x7FFu;
        *size = 0x800;
    }
    return LODE_OK;
}

static const lode_flash_region_s region = {
    .name = "flash", .start = 0x08000000u, .end = 0x08010000u, .page_size = 256, .erased = 0xFF,
    .sector_at = sectors};
static const lode_mem_range_s ram = {0x20000000u, 0x20005000u};

static uint8_t flashmem[0x10000];
static int read_flash(void *user, uint32_t addr, void *buf, size_t len)
{
    (void)user;
    memcpy(buf, flashmem + (addr - 0x08000000u), len);
    return LODE_OK;
}

static lode_image_s *hex(const char *text)
{
    lode_image_s *img = NULL;
    int rc = lode_image_parse_ihex(text, strlen(text), NULL, &img);
    CHECK_EQ(rc, LODE_OK);
    return img;
}

/* 4 bytes at 0x08000100 and 4 bytes at 0x08001804, 2 bytes in RAM at 0x20000010 */
static const char *three = ":020000040800F2\n"
                           ":0401000001020304F1\n"
                           ":04180400AABBCCDDD2\n"
                           ":020000042000DA\n"
                           ":020010005A5A3A\n"
                           ":00000001FF\n";

static void test_touched_sectors_and_padding(void)
{
    lode_image_s *img = hex(three);
    REQUIRE(img);
    lode_flash_plan_s *p = NULL;
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, NULL, NULL, &p), LODE_OK);
    REQUIRE(p);
    CHECK_EQ(p->nsectors, 2);
    CHECK_EQ(p->sectors[0].addr, 0x08000000u);
    CHECK_EQ(p->sectors[0].size, 0x400);
    CHECK_EQ(p->sectors[1].addr, 0x08001800u);
    CHECK_EQ(p->sectors[1].size, 0x800);
    CHECK_EQ(p->npages, 2);
    CHECK_EQ(p->pages[0].addr, 0x08000100u);
    CHECK_EQ(p->pages[0].size, 256);
    CHECK_EQ(p->pages[0].data[0], 1);
    CHECK_EQ(p->pages[0].data[3], 4);
    CHECK_EQ(p->pages[0].data[4], 0xFF);
    CHECK_EQ(p->pages[0].sector, 0);
    CHECK_EQ(p->pages[1].addr, 0x08001800u);
    CHECK_EQ(p->pages[1].data[0], 0xFF);
    CHECK_EQ(p->pages[1].data[4], 0xAA);
    CHECK_EQ(p->pages[1].sector, 1);
    CHECK_EQ(p->nram, 1);
    CHECK_EQ(p->image_flash_bytes, 8);
    char buf[128];
    CHECK_EQ(lode_flash_plan_describe_sectors(p, 0, 10, buf, sizeof buf), 2);
    CHECK(!strcmp(buf, "0x08000000-0x080003ff, 0x08001800-0x08001fff"));
    lode_flash_plan_free(p);
    lode_image_free(img);
}

static void test_outside_memory(void)
{
    lode_image_s *img = NULL;
    uint8_t d[8] = {0};
    CHECK_EQ(lode_image_from_bin(d, sizeof d, 0x0800FFFCu, &img), LODE_OK);
    lode_flash_plan_s *p = NULL;
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, NULL, NULL, &p), LODE_E_RANGE);
    CHECK(p == NULL);
    lode_image_free(img);
    /* an image bigger than the flash */
    static uint8_t big[0x10001];
    CHECK_EQ(lode_image_from_bin(big, sizeof big, 0x08000000u, &img), LODE_OK);
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, NULL, NULL, &p), LODE_E_RANGE);
    lode_image_free(img);
}

static void test_chip_erase(void)
{
    lode_image_s *img = hex(three);
    REQUIRE(img);
    lode_flash_opts_s o = {.chip_erase = true};
    lode_flash_plan_s *p = NULL;
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, &o, NULL, &p), LODE_OK);
    REQUIRE(p);
    CHECK(p->chip_erase);
    CHECK_EQ(p->nsectors, 4 + (0x10000 - 0x1000) / 0x800);
    CHECK_EQ(p->npages, 2);
    CHECK_EQ(p->pages[1].sector, 4 + (0x1800 - 0x1000) / 0x800);
    lode_flash_plan_free(p);
    lode_image_free(img);
}

static void test_skip_unchanged(void)
{
    lode_image_s *img = hex(three);
    REQUIRE(img);
    memset(flashmem, 0xFF, sizeof flashmem);
    /* sector 0 already holds the image bytes; sector 0x1800 holds something else */
    memcpy(flashmem + 0x100, "\x01\x02\x03\x04", 4);
    flashmem[0x1900] = 0x00;
    lode_flash_opts_s o = {.skip_unchanged = true, .read = read_flash};
    lode_flash_plan_s *p = NULL;
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, &o, NULL, &p), LODE_OK);
    REQUIRE(p);
    CHECK_EQ(p->nsectors, 2);
    CHECK(p->sectors[0].skip);
    CHECK(!p->sectors[1].skip);
    CHECK_EQ(p->npages, 1);
    CHECK_EQ(p->pages[0].addr, 0x08001800u);
    lode_flash_plan_free(p);
    /* extra data elsewhere in sector 0 means it must be erased again */
    flashmem[0x200] = 0x12;
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, &o, NULL, &p), LODE_OK);
    REQUIRE(p);
    CHECK(!p->sectors[0].skip);
    CHECK_EQ(p->npages, 2);
    lode_flash_plan_free(p);
    lode_image_free(img);
}

static void test_spanning(void)
{
    /* 0x500 bytes from 0x080003F0: crosses sector 0/1/2 and several pages */
    static uint8_t d[0x500];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)i;
    lode_image_s *img = NULL;
    CHECK_EQ(lode_image_from_bin(d, sizeof d, 0x080003F0u, &img), LODE_OK);
    lode_flash_plan_s *p = NULL;
    CHECK_EQ(lode_flash_plan(img, &region, 1, &ram, 1, NULL, NULL, &p), LODE_OK);
    REQUIRE(p);
    CHECK_EQ(p->nsectors, 3);
    REQUIRE(p->npages == 6); /* 0x300, 0x400 ... 0x800 (the data ends at 0x080008EF) */
    CHECK_EQ(p->pages[0].addr, 0x08000300u);
    CHECK_EQ(p->pages[0].data[0xEF], 0xFF);
    CHECK_EQ(p->pages[0].data[0xF0], 0x00);
    CHECK_EQ(p->pages[1].data[0], 0x10);
    CHECK_EQ(p->pages[5].addr, 0x08000800u);
    CHECK_EQ(p->pages[5].sector, 2);
    CHECK_EQ(p->pages[5].data[0xEE], 0xFE); /* image byte 0x4FE */
    CHECK_EQ(p->pages[5].data[0xF0], 0xFF); /* padding */
    CHECK_EQ(p->pages[4].sector, 1);
    CHECK_EQ(p->image_flash_bytes, 0x500);
    lode_flash_plan_free(p);
    lode_image_free(img);
}

int main(void)
{
    RUN_TEST(test_touched_sectors_and_padding);
    RUN_TEST(test_outside_memory);
    RUN_TEST(test_chip_erase);
    RUN_TEST(test_skip_unchanged);
    RUN_TEST(test_spanning);
    return TEST_DONE();
}
