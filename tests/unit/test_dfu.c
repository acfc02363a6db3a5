/* SPDX-License-Identifier: MIT */
/* DFU 1.1 / DfuSe codec (src/boot/dfu_codec.c): memory-layout strings as ST's bootloaders
 * write them (AN3156 §4.3.1) and malformed ones (one error line each), configuration
 * descriptors with the functional descriptor, GETSTATUS replies, DfuSe command bytes. */
#include <stdio.h>
#include <string.h>

#include "boot/dfu.h"
#include "lode/error.h"
#include "test.h"

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

static void test_layouts(void)
{
    logcap_s lc = {0};
    lode_log_s log = {.fn = log_fn, .user = &lc, .max_level = LODE_LOG_DEBUG};
    lodei_dfuse_layout_s L;
    REQUIRE(lodei_dfuse_parse_layout("@Internal Flash  /0x08000000/064*0002Kg", &log, &L) == LODE_OK);
    CHECK(!strcmp(L.name, "Internal Flash"));
    CHECK_EQ(L.nsegs, 1u);
    CHECK_EQ(L.seg[0].start, 0x08000000u);
    CHECK_EQ(L.seg[0].end, 0x08020000u);
    CHECK_EQ(L.seg[0].sector_size, 2048u);
    CHECK_EQ(L.seg[0].flags, 7u); /* g: readable, erasable, writable */
    /* STM32F4: sectors of three sizes in one group list */
    REQUIRE(lodei_dfuse_parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg", &log, &L) == LODE_OK);
    CHECK_EQ(L.nsegs, 3u);
    CHECK_EQ(L.seg[1].start, 0x08010000u);
    CHECK_EQ(L.seg[1].sector_size, 65536u);
    CHECK_EQ(L.seg[2].end, 0x08100000u);
    /* bytes as unit (a space), read-only types, two address groups */
    REQUIRE(lodei_dfuse_parse_layout("@Option Bytes  /0x1FFFF800/01*016 e", &log, &L) == LODE_OK);
    CHECK_EQ(L.seg[0].end, 0x1FFFF810u);
    CHECK_EQ(L.seg[0].flags, LODEI_DFUSE_READABLE | LODEI_DFUSE_WRITABLE);
    REQUIRE(lodei_dfuse_parse_layout("@Two /0x08000000/2*1Ka/0x20000000/1*1Mg", &log, &L) == LODE_OK);
    CHECK_EQ(L.nsegs, 2u);
    CHECK_EQ(L.seg[0].flags, LODEI_DFUSE_READABLE);
    CHECK_EQ(L.seg[1].start, 0x20000000u);
    CHECK_EQ(L.seg[1].end, 0x20100000u);
    CHECK_EQ(lc.nerr, 0);

    static const char *const bad[] = {
        "Internal Flash /0x08000000/064*0002Kg", /* no @ */
        "@Internal Flash",                        /* no address */
        "@F /08000000/064*0002Kg",                /* no 0x */
        "@F /0x08000000/064*0002K",               /* no type letter */
        "@F /0x08000000/064*0002Kh",              /* type beyond g */
        "@F /0x08000000/064x0002Kg",              /* no * */
        "@F /0x08000000/000*0002Kg",              /* empty */
        "@F /0xFFFFF000/002*0004Kg",              /* past 4 GiB */
        "@F /0x108000000/1*1Kg",                  /* address beyond 32 bits */
        "@F /0x08000000/1*1Kg junk",              /* trailing junk */
        "@F /0x08000000/99999999999*1Kg",         /* count overflow */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lc.nerr = 0;
        CHECK(lodei_dfuse_parse_layout(bad[i], &log, &L) == LODE_E_FORMAT);
        CHECK_EQ(lc.nerr, 1);
        CHECK(strstr(lc.last, "malformed DfuSe memory layout") != NULL);
    }
}

static void test_config(void)
{
    /* configuration, interface 0 alt 0 and 1 (DFU mode), the functional descriptor */
    const uint8_t cfg[] = {9, 2, 36, 0, 1, 1, 0, 0x80, 50,
                           9, 4, 0, 0, 0, 0xFE, 1, 2, 4,
                           9, 4, 0, 1, 0, 0xFE, 1, 2, 5,
                           9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x08, 0x1A, 0x01};
    lodei_dfu_config_s c;
    REQUIRE(lodei_dfu_parse_config(cfg, sizeof cfg, &c) == LODE_OK);
    CHECK_EQ(c.interface, 0u);
    CHECK_EQ(c.protocol, 2u);
    CHECK_EQ(c.nalts, 2u);
    CHECK_EQ(c.alt_string[1], 5u);
    CHECK(c.has_func);
    CHECK_EQ(c.func.transfer_size, 2048u);
    CHECK_EQ(c.func.bcd_dfu, LODEI_DFU_BCD_DFUSE);
    CHECK_EQ(c.func.attributes & LODEI_DFU_CAN_UPLOAD, LODEI_DFU_CAN_UPLOAD);
    /* a descriptor running past its buffer, and one without a DFU interface */
    uint8_t cut[sizeof cfg];
    memcpy(cut, cfg, sizeof cfg);
    cut[27] = 40;
    CHECK(lodei_dfu_parse_config(cut, sizeof cut, &c) == LODE_E_FORMAT);
    memcpy(cut, cfg, sizeof cfg);
    cut[14] = cut[23] = 0xFF;
    CHECK(lodei_dfu_parse_config(cut, sizeof cut, &c) == LODE_E_FORMAT);
}

static void test_status_and_commands(void)
{
    const uint8_t st[6] = {0, 0x20, 0x4E, 0x00, 4, 0};
    lodei_dfu_status_s s;
    REQUIRE(lodei_dfu_decode_status(st, 6, &s) == LODE_OK);
    CHECK_EQ(s.poll_ms, 20000u);
    CHECK_EQ(s.state, (unsigned)LODEI_DFU_DNBUSY);
    CHECK(lodei_dfu_decode_status(st, 5, &s) == LODE_E_PROTOCOL);
    CHECK(!strcmp(lodei_dfu_state_name(LODEI_DFU_ERROR), "dfuERROR"));
    CHECK(strstr(lodei_dfu_status_name(8), "errADDRESS") != NULL);
    uint8_t b[5];
    CHECK_EQ(lodei_dfuse_command(LODEI_DFUSE_SET_ADDRESS, true, 0x08001234u, b), 5u);
    CHECK(b[0] == 0x21 && b[1] == 0x34 && b[2] == 0x12 && b[3] == 0x00 && b[4] == 0x08);
    CHECK_EQ(lodei_dfuse_command(LODEI_DFUSE_ERASE, false, 0, b), 1u);
    CHECK_EQ(b[0], 0x41u);
}

int main(void)
{
    RUN_TEST(test_layouts);
    RUN_TEST(test_config);
    RUN_TEST(test_status_and_commands);
    return TEST_DONE();
}
