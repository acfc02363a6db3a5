/* SPDX-License-Identifier: MIT */
/* Boards and AVR parts as data (lode/board.h): the built-in data files, lookups without regard
 * to case, the probe spec a board makes, and every refusal of the reader. */
#include <stdarg.h>
#include <string.h>

#include "boot/samba.h"
#include "boot/teensy.h"
#include "lode/board.h"
#include "lode/error.h"
#include "lode/project.h"
#include "test.h"

typedef struct logcap_s {
    int nerr;
    char last[512];
} logcap_s;

static void cap_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    logcap_s *c = user;
    (void)cat;
    if (level == LODE_LOG_ERROR) {
        c->nerr++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    }
}

static void test_builtin_boards(void)
{
    logcap_s cap = {0};
    lode_log_s log = {.fn = cap_fn, .user = &cap, .max_level = LODE_LOG_DEBUG};
    lode_board_db_s *db = NULL;
    REQUIRE(lode_board_db_new(&log, &db) == LODE_OK);
    CHECK_EQ(cap.nerr, 0);
    static const char *const want[] = {"uno", "nano", "nano-old-bootloader", "pro-mini", "mega2560",
                                       "leonardo", "micro", "bluepill", "nrf52840dk"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const lode_board_s *b = NULL;
        CHECK(lode_board_find(db, want[i], &b) == LODE_OK && b && !strcmp(b->name, want[i]));
    }
    const lode_board_s *b = NULL;
    /* case-insensitive, aliases */
    REQUIRE(lode_board_find(db, "UNO", &b) == LODE_OK);
    CHECK(!strcmp(b->chip, "ATmega328P") && !strcmp(b->probe, "arduino") && b->baud == 115200);
    CHECK(b->reset == LODE_BOARD_RESET_DTR_PULSE && b->nusb >= 1 && b->usb[0].vid == 0x2341 &&
          b->usb[0].pid == 0x0043);
    CHECK(b->led && strstr(b->led, "PB5"));
    CHECK(b->nprobes == 1 && !strcmp(b->probes[0], "arduino")); /* the default kind alone */
    REQUIRE(lode_board_find(db, "Mega", &b) == LODE_OK);
    CHECK(!strcmp(b->name, "mega2560") && !strcmp(b->probe, "wiring") && !strcmp(b->chip, "ATmega2560"));
    REQUIRE(lode_board_find(db, "nano-old-bootloader", &b) == LODE_OK);
    CHECK_EQ(b->baud, 57600);
    REQUIRE(lode_board_find(db, "Leonardo", &b) == LODE_OK);
    CHECK(b->reset == LODE_BOARD_RESET_1200_TOUCH && !strcmp(b->probe, "avr109"));
    CHECK(b->nbootloader_usb >= 1 && b->bootloader_usb[0].vid == 0x2341 && b->bootloader_usb[0].pid == 0x0036);
    REQUIRE(lode_board_find(db, "bluepill", &b) == LODE_OK);
    CHECK(!strcmp(b->chip, "STM32F103C8") && b->reset == LODE_BOARD_RESET_BOOT0 && b->nprobes == 3 &&
          !strcmp(b->bootloader, "stm32-uart"));
    REQUIRE(lode_board_find(db, "PCA10056", &b) == LODE_OK);
    CHECK(!strcmp(b->name, "nrf52840dk") && !strcmp(b->chip, "nRF52840_xxAA"));
    CHECK(lode_board_find(db, "unoo", &b) == LODE_E_NO_DEVICE);
    CHECK(lode_board_find(db, "", &b) == LODE_E_NO_DEVICE);
    CHECK(!strcmp(lode_board_reset_name(LODE_BOARD_RESET_1200_TOUCH), "1200-baud-touch"));
    CHECK(!strcmp(lode_board_reset_name((lode_board_reset_e)99), "?"));
    lode_board_db_free(db);
    lode_board_db_free(NULL);
}

static void test_avr_parts(void)
{
    lode_board_db_s *db = NULL;
    REQUIRE(lode_board_db_new(NULL, &db) == LODE_OK);
    const lode_avr_part_s *p = lode_avr_part_find(db, "atmega328p");
    REQUIRE(p);
    CHECK(!strcmp(p->name, "ATmega328P") && p->signature[0] == 0x1E && p->signature[1] == 0x95 &&
          p->signature[2] == 0x0F);
    CHECK(p->flash_size == 32768 && p->page_size == 128 && p->eeprom_size == 1024 && p->boot_sizes[0] == 512 &&
          p->boot_sizes[3] == 4096);
    p = lode_avr_part_find(db, "ATMEGA2560");
    REQUIRE(p);
    CHECK(p->flash_size == 262144 && p->page_size == 256 && p->eeprom_size == 4096 && p->boot_sizes[3] == 8192);
    p = lode_avr_part_find(db, "atmega168");
    REQUIRE(p);
    CHECK(p->flash_size == 16384 && p->signature[1] == 0x94 && p->signature[2] == 0x06);
    const uint8_t sig32u4[3] = {0x1E, 0x95, 0x87};
    p = lode_avr_part_by_signature(db, sig32u4);
    REQUIRE(p);
    CHECK(!strcmp(p->name, "ATmega32U4") && p->eeprom_size == 1024);
    const uint8_t none[3] = {1, 2, 3};
    CHECK(lode_avr_part_by_signature(db, none) == NULL);
    CHECK(lode_avr_part_find(db, "ATmega328PB") == NULL);
    /* every board's chip is known: an AVR part, an ARM chip name or a Teensy model */
    for (size_t i = 0; i < lode_board_count(db); i++) {
        const lode_board_s *b = lode_board_at(db, i);
        CHECK(lode_avr_part_find(db, b->chip) || !strncmp(b->chip, "STM32", 5) || !strncmp(b->chip, "nRF", 3) ||
              lodei_teensy_model_by_name(b->chip) || lodei_samba_chip_known(b->chip));
    }
    lode_board_db_free(db);
}

static void test_probe_spec(void)
{
    lode_board_db_s *db = NULL;
    REQUIRE(lode_board_db_new(NULL, &db) == LODE_OK);
    const lode_board_s *uno, *old, *bp, *dk;
    REQUIRE(lode_board_find(db, "uno", &uno) == LODE_OK && lode_board_find(db, "nano-old", &old) == LODE_OK &&
            lode_board_find(db, "bluepill", &bp) == LODE_OK && lode_board_find(db, "nrf52840dk", &dk) == LODE_OK);
    char s[128];
    CHECK(lode_board_probe_spec(uno, "/dev/ttyACM0", s, sizeof s) == LODE_OK && !strcmp(s, "arduino:/dev/ttyACM0:115200"));
    CHECK(lode_board_probe_spec(old, "/dev/ttyUSB0", s, sizeof s) == LODE_OK && !strcmp(s, "arduino:/dev/ttyUSB0:57600"));
    CHECK(lode_board_probe_spec(old, "arduino:/dev/ttyUSB0", s, sizeof s) == LODE_OK &&
          !strcmp(s, "arduino:/dev/ttyUSB0:57600"));
    CHECK(lode_board_probe_spec(old, "ARDUINO:/dev/ttyUSB0:19200", s, sizeof s) == LODE_OK &&
          !strcmp(s, "ARDUINO:/dev/ttyUSB0:19200")); /* a baud given wins */
    CHECK(lode_board_probe_spec(uno, "sim", s, sizeof s) == LODE_OK && !strcmp(s, "sim"));
    CHECK(lode_board_probe_spec(uno, NULL, s, sizeof s) == LODE_OK && !strcmp(s, "arduino"));
    CHECK(lode_board_probe_spec(bp, "/dev/ttyUSB1", s, sizeof s) == LODE_OK && !strcmp(s, "stm32-uart:/dev/ttyUSB1:115200"));
    CHECK(lode_board_probe_spec(bp, "stlink", s, sizeof s) == LODE_OK && !strcmp(s, "stlink"));
    CHECK(lode_board_probe_spec(bp, "", s, sizeof s) == LODE_OK && !strcmp(s, "stlink"));
    CHECK(lode_board_probe_spec(dk, "/dev/ttyACM0", s, sizeof s) == LODE_OK && !strcmp(s, "jlink:/dev/ttyACM0"));
    CHECK(lode_board_probe_spec(uno, "/dev/ttyACM0", s, 10) == LODE_E_INVALID_ARG);
    /* SAM-BA boards: the application offset and the bootloader's options join its spec */
    const lode_board_s *zero, *due;
    REQUIRE(lode_board_find(db, "zero", &zero) == LODE_OK && lode_board_find(db, "due", &due) == LODE_OK);
    CHECK(zero->has_app_offset && zero->app_offset == 0x2000 && due->app_offset == 0x80000);
    CHECK(lode_board_probe_spec(zero, "/dev/ttyACM0", s, sizeof s) == LODE_OK &&
          !strcmp(s, "sam-ba:/dev/ttyACM0:touch=auto:offset=0x2000"));
    CHECK(lode_board_probe_spec(zero, "sam-ba:/dev/ttyACM0:offset=0x4000", s, sizeof s) == LODE_OK &&
          !strcmp(s, "sam-ba:/dev/ttyACM0:offset=0x4000:touch=auto")); /* an offset given wins */
    CHECK(lode_board_probe_spec(due, "/dev/ttyACM1", s, sizeof s) == LODE_OK &&
          !strcmp(s, "sam-ba:/dev/ttyACM1:115200:uart:offset=0x80000"));
    CHECK(lode_board_probe_spec(due, "sam-ba:/dev/ttyACM1:UART", s, sizeof s) == LODE_OK &&
          !strcmp(s, "sam-ba:/dev/ttyACM1:UART:115200:offset=0x80000"));
    CHECK(lode_board_probe_spec(zero, "cmsis-dap", s, sizeof s) == LODE_OK && !strcmp(s, "cmsis-dap"));
    lode_board_db_free(db);
}

/* a file that adds boards (as other boards' files do) */
static void test_append(void)
{
    lode_board_db_s *db = NULL;
    REQUIRE(lode_board_db_new(NULL, &db) == LODE_OK);
    size_t n = lode_board_count(db);
    const char *y = "# more boards\n"
                    "boards:\n"
                    "  - name: Teensy41-Custom\n"
                    "    description: PJRC Teensy 4.1\n"
                    "    chip: MIMXRT1062\n"
                    "    probe: halfkay\n"
                    "    reset: 134-baud\n"
                    "    usb: [\"16c0:0483\"]\n"
                    "    bootloader_usb: \"16c0:0478\"\n"
                    "avr_parts:\n"
                    "  - {name: ATmega644P, signature: 1E 96 0A, flash: 65536, page: 256, eeprom: 2048,\n"
                    "     boot_sizes: [1024, 2048, 4096, 8192]}\n";
    REQUIRE(lode_board_db_load_buffer(db, y, strlen(y), "extra.yaml") == LODE_OK);
    CHECK_EQ(lode_board_count(db), n + 1);
    const lode_board_s *b = NULL;
    REQUIRE(lode_board_find(db, "teensy41-custom", &b) == LODE_OK);
    CHECK(b->reset == LODE_BOARD_RESET_134_BAUD && b->nbootloader_usb == 1 && b->bootloader_usb[0].pid == 0x0478);
    CHECK(!strcmp(b->source, "extra.yaml") && b->baud == 0 && !b->bootloader && !b->led);
    const lode_avr_part_s *p = lode_avr_part_find(db, "atmega644p");
    CHECK(p && p->flash_size == 65536 && p->signature[2] == 0x0A);
    lode_board_db_free(db);
}

/* One bad file: LODE_E_FORMAT, one message naming file:line and the fix, database unchanged. */
static void bad(const char *what, const char *yaml, const char *msg_has)
{
    logcap_s cap = {0};
    lode_log_s log = {.fn = cap_fn, .user = &cap, .max_level = LODE_LOG_DEBUG};
    lode_board_db_s *db = NULL;
    if (lode_board_db_new(&log, &db) != LODE_OK) {
        CHECK(0);
        return;
    }
    size_t nb = lode_board_count(db), np = lode_avr_part_count(db);
    int rc = lode_board_db_load_buffer(db, yaml, strlen(yaml), "bad.yaml");
    if (rc != LODE_E_FORMAT || cap.nerr != 1 || !strstr(cap.last, msg_has) || strncmp(cap.last, "bad.yaml:", 9))
        fprintf(stderr, "  %s: rc %d, %d errors, last '%s' (wanted '%s')\n", what, rc, cap.nerr, cap.last, msg_has);
    CHECK_EQ(rc, LODE_E_FORMAT);
    CHECK_EQ(cap.nerr, 1);
    CHECK(strstr(cap.last, msg_has) != NULL);
    CHECK(!strncmp(cap.last, "bad.yaml:", 9));
    CHECK_EQ(lode_board_count(db), nb);
    CHECK_EQ(lode_avr_part_count(db), np);
    lode_board_db_free(db);
}

#define BOARD_HEAD "boards:\n  - name: x1\n    description: d\n    chip: c\n    probe: p\n"
#define PART_HEAD "avr_parts:\n  - name: ATmegaX\n    flash: 32768\n    page: 128\n    eeprom: 1024\n"

static void test_refusals(void)
{
    bad("unknown key", BOARD_HEAD "    leds: PB5\n", "bad.yaml:6: boards entry: unknown key 'leds'");
    bad("missing chip", "boards:\n  - name: x1\n    description: d\n    probe: p\n", "'chip' is missing");
    bad("key twice", BOARD_HEAD "    chip: d\n", "appears twice");
    bad("bad baud", BOARD_HEAD "    baud: fast\n", "baud: 'fast' is not a number");
    bad("baud zero", BOARD_HEAD "    baud: 0\n", "not a number in 50..");
    bad("bad usb", BOARD_HEAD "    usb: [\"2341-0043\"]\n", "is not a USB ID");
    bad("usb long", BOARD_HEAD "    usb: [\"23410:0043\"]\n", "is not a USB ID");
    bad("bad reset", BOARD_HEAD "    reset: dtr\n", "reset: 'dtr' is not a reset method");
    bad("list for text", BOARD_HEAD "    led: [a, b]\n", "led: expected one value");
    bad("duplicate board", "boards:\n  - {name: UNO, description: d, chip: c, probe: p}\n", "board 'UNO' is already known");
    bad("duplicate alias", "boards:\n  - {name: u2, aliases: [genuino-UNO], description: d, chip: c, probe: p}\n",
        "alias 'genuino-UNO'");
    bad("name with colon", "boards:\n  - {name: 'a:b', description: d, chip: c, probe: p}\n", "board names are one word");
    bad("unknown section", "chips:\n  - name: a\n", "unknown section 'chips'");
    bad("not a mapping", "- a\n- b\n", "a data file is a mapping");
    bad("scalar doc", "hello\n", "expected a mapping of sections");
    bad("entry scalar", "boards:\n  - uno\n", "expected an entry");
    bad("nested map", BOARD_HEAD "    usb: {vid: 1}\n", "a value is text or a list");
    bad("nested list", BOARD_HEAD "    usb: [[a]]\n", "unexpected list");
    bad("empty value", BOARD_HEAD "    led:\n", "an empty value");
    bad("syntax", "boards: [\n", "YAML syntax error");
    bad("alias", "boards:\n  - &a {name: q, description: d, chip: c, probe: p}\n  - *a\n", "aliases are not supported");
    bad("two docs", "boards: []\n---\nboards: []\n", "a second YAML document");
    bad("sig", PART_HEAD "    signature: 1E950F\n    boot_sizes: [512, 1024, 2048, 4096]\n", "is not three hex bytes");
    bad("boot sizes 3", PART_HEAD "    signature: 1E 95 0F\n    boot_sizes: [512, 1024, 2048]\n", "the 4 BOOTSZ choices");
    bad("boot sizes order", PART_HEAD "    signature: 1E 95 0F\n    boot_sizes: [512, 2048, 1024, 4096]\n",
        "is not a boot section size");
    bad("page not pow2", "avr_parts:\n  - {name: A, flash: 32768, page: 96, eeprom: 1, signature: 1E 95 0F, "
                         "boot_sizes: [512, 1024, 2048, 4096]}\n", "page: 96 is not a power of two");
    bad("part twice", "avr_parts:\n  - {name: atmega328P, flash: 32768, page: 128, eeprom: 1, signature: 1E 95 0F, "
                      "boot_sizes: [512, 1024, 2048, 4096]}\n", "AVR part 'atmega328P' is already known");
    bad("part no boot", "avr_parts:\n  - {name: A, flash: 32768, page: 128, eeprom: 1, signature: 1E 95 0F}\n",
        "'boot_sizes' is missing");
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char y[600];
    snprintf(y, sizeof y, BOARD_HEAD "    led: %s\n", big);
    bad("long value", y, "longer than");
    /* a failed second file after a good one in the same call chain: the good one stays */
    lode_board_db_s *db = NULL;
    REQUIRE(lode_board_db_new_empty(NULL, &db) == LODE_OK);
    const char *ok = "boards:\n  - {name: a, description: d, chip: c, probe: p}\n";
    const char *no = "boards:\n  - {name: b, description: d, chip: c, probe: p}\n  - {name: c}\n";
    CHECK(lode_board_db_load_buffer(db, ok, strlen(ok), NULL) == LODE_OK);
    CHECK(lode_board_db_load_buffer(db, no, strlen(no), NULL) == LODE_E_FORMAT);
    CHECK_EQ(lode_board_count(db), 1);
    const lode_board_s *b;
    CHECK(lode_board_find(db, "b", &b) == LODE_E_NO_DEVICE);
    CHECK(lode_board_db_load_buffer(db, "", 0, NULL) == LODE_OK); /* an empty file */
    CHECK(lode_board_db_load_file(db, "/nonexistent/boards.yaml") == LODE_E_NO_DEVICE);
    lode_board_db_free(db);
}

static void test_project_board(void)
{
    lode_project_s p;
    const char *y = "board: nano-old-bootloader\nprobe: /dev/ttyUSB0\n";
    REQUIRE(lode_project_parse(y, strlen(y), "lode.yaml", "/p", NULL, &p) == LODE_OK);
    CHECK(!strcmp(p.board, "nano-old-bootloader") && !strcmp(p.probe, "/dev/ttyUSB0") && !p.chip[0]);
    const char *twice = "board: uno\nboard: nano\n";
    CHECK(lode_project_parse(twice, strlen(twice), "lode.yaml", "/p", NULL, &p) == LODE_E_FORMAT);
}

int main(void)
{
    RUN_TEST(test_builtin_boards);
    RUN_TEST(test_avr_parts);
    RUN_TEST(test_probe_spec);
    RUN_TEST(test_append);
    RUN_TEST(test_refusals);
    RUN_TEST(test_project_board);
    return TEST_DONE();
}
