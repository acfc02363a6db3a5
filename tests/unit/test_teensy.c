/* SPDX-License-Identifier: MIT */
/* Teensy / HalfKay codec (src/boot/teensy_codec.c): the models by name, usage and bcdDevice,
 * the block reports of the three header layouts and the boot command, HID report descriptors'
 * top-level usage, the model an image was built for, serial numbers in both modes. */
#include <stdlib.h>
#include <string.h>

#include "boot/teensy.h"
#include "lode/board.h"
#include "lode/error.h"
#include "test.h"

static const char *name_of(const lodei_teensy_model_s *m) { return m ? m->name : "(none)"; }

static void test_models(void)
{
    CHECK(!strcmp(name_of(lodei_teensy_model_by_name("teensy41")), "teensy41"));
    CHECK(!strcmp(name_of(lodei_teensy_model_by_name("TEENSY2PP")), "teensypp2"));
    CHECK(!strcmp(name_of(lodei_teensy_model_by_name("Teensy_MicroMod")), "teensymm"));
    CHECK(lodei_teensy_model_by_name("mk66fx1m0") == NULL); /* a chip name for debug probes */
    CHECK(lodei_teensy_model_by_name("stm32f103c8") == NULL);
    CHECK(!strcmp(name_of(lodei_teensy_model_by_usage(0x25)), "teensy41"));
    CHECK(!strcmp(name_of(lodei_teensy_model_by_usage(0x1B)), "teensy2"));
    CHECK(!strcmp(name_of(lodei_teensy_model_by_usage(0x21)), "teensy32"));
    CHECK(lodei_teensy_model_by_usage(0x99) == NULL);
    CHECK(!strcmp(name_of(lodei_teensy_model_by_bcd(0x0280)), "teensy41"));
    CHECK(!strcmp(name_of(lodei_teensy_model_by_bcd(0x0273)), "teensylc"));
    CHECK(lodei_teensy_model_by_bcd(0) == NULL);
    const lodei_teensy_model_s *t41 = lodei_teensy_model_by_name("teensy41");
    CHECK_EQ(t41->code_size, 8126464u);
    CHECK_EQ(t41->base, 0x60000000u);
    CHECK_EQ(lodei_teensy_model_by_name("teensy2")->code_size, 32256u);
    CHECK_EQ(lodei_teensy_model_by_name("teensylc")->block_size, 512u);
    CHECK(lodei_teensy_same_build(lodei_teensy_model_by_name("teensy31"), lodei_teensy_model_by_name("teensy32")));
    CHECK(!lodei_teensy_same_build(lodei_teensy_model_by_name("teensy40"), t41));
    size_t n = 0;
    while (lodei_teensy_model_at(n))
        n++;
    CHECK_EQ(n, 11u);
}

static void test_reports(void)
{
    uint8_t data[1024], rep[LODEI_TEENSY_MAX_REPORT];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    uint32_t addr = 0;
    bool boot = true;
    /* Teensy 2.0: a 2-byte byte address, 128-byte blocks */
    const lodei_teensy_model_s *m = lodei_teensy_model_by_name("teensy2");
    CHECK_EQ(lodei_halfkay_report_len(m), 130u);
    lodei_halfkay_report(m, 0x1280, data, rep);
    CHECK(rep[0] == 0x80 && rep[1] == 0x12 && rep[2] == 0 && rep[129] == data[127]);
    CHECK(lodei_halfkay_decode(m, rep, 130, &addr, &boot) == LODE_OK && addr == 0x1280 && !boot);
    CHECK(lodei_halfkay_decode(m, rep, 129, &addr, &boot) == LODE_E_PROTOCOL);
    /* Teensy++ 2.0: address bits 8-23, 256-byte blocks */
    m = lodei_teensy_model_by_name("teensypp2");
    CHECK_EQ(lodei_halfkay_report_len(m), 258u);
    lodei_halfkay_report(m, 0x1FB00, data, rep);
    CHECK(rep[0] == 0xFB && rep[1] == 0x01 && rep[2] == data[0]);
    CHECK(lodei_halfkay_decode(m, rep, 258, &addr, &boot) == LODE_OK && addr == 0x1FB00 && !boot);
    /* ARM: a 3-byte address in a 64-byte header */
    m = lodei_teensy_model_by_name("teensy41");
    CHECK_EQ(lodei_halfkay_report_len(m), 1088u);
    memset(rep, 0xAA, sizeof rep);
    lodei_halfkay_report(m, 0x7BFC00, data, rep);
    CHECK(rep[0] == 0x00 && rep[1] == 0xFC && rep[2] == 0x7B && rep[3] == 0 && rep[63] == 0);
    CHECK(!memcmp(rep + 64, data, 1024));
    CHECK(lodei_halfkay_decode(m, rep, 1088, &addr, &boot) == LODE_OK && addr == 0x7BFC00 && !boot);
    /* the boot command: 0xFFFFFF (0xFFFF), zeros */
    lodei_halfkay_boot_report(m, rep);
    CHECK(rep[0] == 0xFF && rep[1] == 0xFF && rep[2] == 0xFF && rep[3] == 0 && rep[1087] == 0);
    CHECK(lodei_halfkay_decode(m, rep, 1088, &addr, &boot) == LODE_OK && boot);
    m = lodei_teensy_model_by_name("teensy2");
    lodei_halfkay_boot_report(m, rep);
    CHECK(lodei_halfkay_decode(m, rep, 130, &addr, &boot) == LODE_OK && boot);
    m = lodei_teensy_model_by_name("teensypp2");
    lodei_halfkay_boot_report(m, rep);
    CHECK(lodei_halfkay_decode(m, rep, 258, &addr, &boot) == LODE_OK && boot);
}

static void test_hid_usage(void)
{
    uint16_t page = 0, usage = 0;
    /* HalfKay's: usage page 0xFF9C, usage 0x25, one output report */
    static const uint8_t hk[] = {0x06, 0x9C, 0xFF, 0x09, 0x25, 0xA1, 0x01, 0x75, 0x08, 0x15, 0x00, 0x26,
                                 0xFF, 0x00, 0x96, 0x40, 0x04, 0x09, 0x01, 0x91, 0x02, 0xC0};
    CHECK(lodei_hid_top_usage(hk, sizeof hk, &page, &usage) && page == 0xFF9C && usage == 0x25);
    /* a long item before, a 4-byte usage carrying its page */
    static const uint8_t lng[] = {0xFE, 0x02, 0x10, 0xAA, 0xBB, 0x0B, 0x1B, 0x00, 0x9C, 0xFF, 0xA1, 0x01, 0xC0};
    CHECK(lodei_hid_top_usage(lng, sizeof lng, &page, &usage) && page == 0xFF9C && usage == 0x1B);
    /* a collection before any usage, a truncated item, a usage without a page, nothing */
    static const uint8_t col[] = {0x05, 0x01, 0xA1, 0x01, 0x09, 0x02};
    CHECK(!lodei_hid_top_usage(col, sizeof col, &page, &usage));
    CHECK(!lodei_hid_top_usage(hk, 4, &page, &usage));
    static const uint8_t nopage[] = {0x09, 0x25};
    CHECK(!lodei_hid_top_usage(nopage, sizeof nopage, &page, &usage));
    CHECK(!lodei_hid_top_usage(NULL, 0, &page, &usage));
    static const uint8_t cut_long[] = {0xFE, 0x10};
    CHECK(!lodei_hid_top_usage(cut_long, sizeof cut_long, &page, &usage));
}

typedef struct img_s {
    uint32_t base;
    uint8_t b[0x2000];
} img_s;

static bool read_img(void *user, uint32_t addr, uint8_t *buf, size_t len)
{
    img_s *im = user;
    bool any = false;
    for (size_t i = 0; i < len; i++) {
        uint64_t a = (uint64_t)addr + i;
        bool in = a >= im->base && a < (uint64_t)im->base + sizeof im->b;
        buf[i] = in ? im->b[a - im->base] : 0xFF;
        any = any || in;
    }
    return any;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static const char *model_of(img_s *im)
{
    return name_of(lodei_teensy_model_of_image(read_img, im, im->base, im->base + (uint32_t)sizeof im->b));
}

static void test_image_model(void)
{
    img_s *im = calloc(1, sizeof *im);
    REQUIRE(im);
    /* Teensy 4.x: FlexSPI configuration block, flash size at 0x50 */
    im->base = 0x60000000u;
    put32(im->b, 0x42464346u);
    put32(im->b + 4, 0x56010000u);
    put32(im->b + 0x50, 0x800000u);
    CHECK(!strcmp(model_of(im), "teensy41"));
    put32(im->b + 0x50, 0x200000u);
    CHECK(!strcmp(model_of(im), "teensy40"));
    put32(im->b + 0x50, 0x1000000u);
    CHECK(!strcmp(model_of(im), "teensymm"));
    put32(im->b + 4, 0x56000000u); /* another version: not Teensyduino's */
    CHECK(!strcmp(model_of(im), "(none)"));
    /* Teensy 3.x/LC: the stack at the top of RAM, the reset handler right after the table */
    memset(im->b, 0x11, sizeof im->b);
    im->base = 0;
    put32(im->b, 0x20008000u);
    put32(im->b + 4, 0x1BDu);
    CHECK(!strcmp(model_of(im), "teensy31"));
    put32(im->b, 0x20001800u);
    put32(im->b + 4, 0xC1u);
    CHECK(!strcmp(model_of(im), "teensylc"));
    /* the reset handler elsewhere (LTO): the table ends at the first two blank words */
    put32(im->b, 0x2002FFF8u);
    put32(im->b + 4, 0x2001u);
    memset(im->b + 0x198, 0xFF, 8);
    CHECK(!strcmp(model_of(im), "teensy35"));
    put32(im->b, 0x20000000u);
    CHECK(!strcmp(model_of(im), "(none)"));
    /* AVR: the jump into the Teensy 2.0 bootloader at 0x7E00 */
    memset(im->b, 0x00, sizeof im->b);
    static const uint8_t reboot[8] = {0x0C, 0x94, 0x00, 0x3F, 0xFF, 0xCF, 0xF8, 0x94};
    memcpy(im->b + 0x345, reboot, sizeof reboot);
    CHECK(!strcmp(model_of(im), "teensy2"));
    im->b[0x348] = 0xFE; /* jmp 0x1FC00: the Teensy++ 2.0's */
    CHECK(!strcmp(model_of(im), "teensypp2"));
    free(im);
}

static void test_serials(void)
{
    /* HalfKay: hex, a tenth of numbers below 10000000 */
    CHECK_EQ(lodei_teensy_serial_value("0012D687", true), 12345670u);
    CHECK_EQ(lodei_teensy_serial_value("00BC614E", true), 12345678u);
    CHECK_EQ(lodei_teensy_serial_value("12345670", false), 12345670u);
    CHECK_EQ(lodei_teensy_serial_value("12x", false), 0u);
    CHECK_EQ(lodei_teensy_serial_value("", true), 0u);
    CHECK_EQ(lodei_teensy_serial_value(NULL, true), 0u);
}

/* data/boards/teensy.yaml: a board per model, each naming its model, HalfKay, the 134-baud reboot */
static void test_boards(void)
{
    lode_board_db_s *db = NULL;
    REQUIRE(lode_board_db_new(NULL, &db) == LODE_OK);
    for (size_t i = 0; lodei_teensy_model_at(i); i++) {
        const lode_board_s *b = NULL;
        const lodei_teensy_model_s *m = lodei_teensy_model_at(i);
        CHECK(lode_board_find(db, m->name, &b) == LODE_OK);
        if (!b)
            continue;
        CHECK(lodei_teensy_model_by_name(b->chip) == m);
        CHECK(!strcmp(b->probe, "teensy") && b->bootloader && !strcmp(b->bootloader, "teensy"));
        CHECK(b->reset == LODE_BOARD_RESET_134_BAUD);
    }
    char spec[128];
    const lode_board_s *b = NULL;
    REQUIRE(lode_board_find(db, "teensy41", &b) == LODE_OK);
    CHECK(lode_board_probe_spec(b, "/dev/ttyACM0", spec, sizeof spec) == LODE_OK && !strcmp(spec, "teensy:/dev/ttyACM0"));
    lode_board_db_free(db);
}

int main(void)
{
    RUN_TEST(test_models);
    RUN_TEST(test_reports);
    RUN_TEST(test_hid_usage);
    RUN_TEST(test_image_model);
    RUN_TEST(test_serials);
    RUN_TEST(test_boards);
    return TEST_DONE();
}
