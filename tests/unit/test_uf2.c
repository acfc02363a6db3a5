/* SPDX-License-Identifier: MIT */
/* UF2 files as input images (src/image/uf2.c): blocks become segments, "not main flash" blocks
 * are skipped, the format is detected from the magics, and broken files give one error line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/image.h"
#include "test.h"
#include "util/bytes.h"

typedef struct logcap_s {
    int nerr;
    char last[256];
} logcap_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    logcap_s *l = user;
    (void)cat;
    if (level == LODE_LOG_ERROR)
        l->nerr++;
    snprintf(l->last, sizeof l->last, "%s", msg);
}

/* one block as the UF2 README lays it out */
static void block(uint8_t *p, uint32_t flags, uint32_t addr, uint32_t size, uint32_t no, uint32_t count, uint8_t fill)
{
    memset(p, 0, 512);
    lodei_put_le32(p, 0x0A324655u);
    lodei_put_le32(p + 4, 0x9E5D5157u);
    lodei_put_le32(p + 8, flags);
    lodei_put_le32(p + 12, addr);
    lodei_put_le32(p + 16, size);
    lodei_put_le32(p + 20, no);
    lodei_put_le32(p + 24, count);
    lodei_put_le32(p + 28, 0xe48bff56u); /* RP2040 */
    for (uint32_t i = 0; i < size && i < 476; i++)
        p[32 + i] = (uint8_t)(fill + i);
    lodei_put_le32(p + 508, 0x0AB16F30u);
}

static uint8_t f[4 * 512];

static void test_uf2(void)
{
    logcap_s lc = {0};
    lode_log_s log = {.fn = log_fn, .user = &lc, .max_level = LODE_LOG_DEBUG};
    block(f, 0x2000, 0x10000000, 256, 0, 3, 1);
    block(f + 512, 0x2000, 0x10000100, 256, 1, 3, 7);
    block(f + 1024, 0x2001, 0x20000000, 256, 2, 3, 9); /* not main flash: skipped */
    CHECK_EQ(lode_image_detect_format(f, 1536), LODE_IMAGE_UF2);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_parse(f, 1536, LODE_IMAGE_AUTO, "t.uf2", 0, false, &log, &img) == LODE_OK);
    CHECK_EQ(img->nsegs, 1u);
    CHECK_EQ(img->segs[0].addr, 0x10000000u);
    CHECK_EQ(img->segs[0].len, 512u);
    CHECK_EQ(img->segs[0].data[0], 1u);
    CHECK_EQ(img->segs[0].data[256], 7u);
    lode_image_free(img);
    CHECK(!strcmp(lode_image_format_name(LODE_IMAGE_UF2), "uf2"));

    /* broken files: one line each, naming the problem */
    img = NULL;
    lc.nerr = 0;
    CHECK_EQ(lode_image_parse(f, 1000, LODE_IMAGE_UF2, "t.uf2", 0, false, &log, &img), LODE_E_FORMAT);
    CHECK(lc.nerr == 1 && strstr(lc.last, "512-byte blocks"));
    block(f + 512, 0x2000, 0x10000080, 256, 1, 3, 7); /* overlaps block 0 */
    lc.nerr = 0;
    CHECK_EQ(lode_image_parse(f, 1024, LODE_IMAGE_UF2, "t.uf2", 0, false, &log, &img), LODE_E_FORMAT);
    CHECK(lc.nerr == 1 && strstr(lc.last, "both write"));
    block(f + 512, 0x2000, 0x10000100, 477, 1, 3, 7);
    lc.nerr = 0;
    CHECK_EQ(lode_image_parse(f, 1024, LODE_IMAGE_UF2, "t.uf2", 0, false, &log, &img), LODE_E_FORMAT);
    CHECK(lc.nerr == 1 && strstr(lc.last, "larger than 476") && strstr(lc.last, "block 1"));
    block(f + 512, 0x2000, 0x10000100, 256, 1, 3, 7);
    f[512 + 508] ^= 1; /* end magic */
    lc.nerr = 0;
    CHECK_EQ(lode_image_parse(f, 1024, LODE_IMAGE_UF2, "t.uf2", 0, false, &log, &img), LODE_E_FORMAT);
    CHECK(lc.nerr == 1 && strstr(lc.last, "magic"));
    CHECK(img == NULL);
}

/* lode convert's writer: 256-byte aligned payloads, two segments sharing a block, read back */
static void test_write(void)
{
    uint8_t a[300], b[10];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i ^ 0x5A);
    memset(b, 0x11, sizeof b);
    lode_image_s *ia = NULL;
    REQUIRE(lode_image_from_bin(a, sizeof a, 0x10000010u, &ia) == LODE_OK);
    /* a second segment in the same 256-byte block as the first one's end */
    lode_segment_s *segs = realloc(ia->segs, 2 * sizeof *segs);
    REQUIRE(segs);
    ia->segs = segs;
    ia->segs[1] = (lode_segment_s){.addr = 0x10000150u, .len = sizeof b, .data = malloc(sizeof b)};
    REQUIRE(ia->segs[1].data);
    memcpy(ia->segs[1].data, b, sizeof b);
    ia->nsegs = 2;
    uint32_t fam = 0;
    REQUIRE(lode_uf2_family("rp2040", &fam) == LODE_OK);
    CHECK_EQ(fam, 0xe48bff56u);
    CHECK_EQ(lode_uf2_family("0x12345678", &fam), LODE_OK);
    CHECK_EQ(fam, 0x12345678u);
    CHECK_EQ(lode_uf2_family("0x", &fam), LODE_E_NO_DEVICE);
    CHECK_EQ(lode_uf2_family("STM32X9", &fam), LODE_E_NO_DEVICE);
    uint8_t *buf = NULL;
    size_t len = 0;
    REQUIRE(lode_image_write_uf2(ia, 0xe48bff56u, &buf, &len) == LODE_OK);
    CHECK_EQ(len, 2u * 512u); /* 0x10000000 and 0x10000100 */
    CHECK_EQ(lodei_get_le32(buf + 12), 0x10000000u);
    CHECK_EQ(lodei_get_le32(buf + 512 + 12), 0x10000100u);
    CHECK_EQ(lodei_get_le32(buf + 512 + 24), 2u);
    CHECK_EQ(buf[32], 0xFFu); /* below the first segment */
    lode_image_s *back = NULL;
    REQUIRE(lode_image_parse(buf, len, LODE_IMAGE_AUTO, "w.uf2", 0, false, NULL, &back) == LODE_OK);
    REQUIRE(back->nsegs == 1);
    CHECK(!memcmp(back->segs[0].data + 0x10, a, sizeof a));
    CHECK(!memcmp(back->segs[0].data + 0x150, b, sizeof b));
    lode_image_free(back);
    free(buf);
    lode_image_free(ia);
}

int main(void)
{
    RUN_TEST(test_uf2);
    RUN_TEST(test_write);
    return TEST_DONE();
}
