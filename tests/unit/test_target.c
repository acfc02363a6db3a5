/* SPDX-License-Identifier: MIT */
/* Chip database: the real probe-rs STM32F1 family file, the built-in chips, name lookup,
 * sector geometry, chip detection, and many malformed inputs (each must be one clear error,
 * never a crash). Built twice: against liblode (real built-in algorithms) and as
 * test_target_stub with the empty algorithm table (LODE_TEST_STUB_ALGOS). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/target.h"
#include "target/builtin_algos.h"
#include "test.h"

#define F1_FILE LODE_SHARED_DIR "/targets/probe-rs/STM32F1_Series.yaml"

/* ---- log capture -------------------------------------------------------------------------- */

typedef struct cap_s {
    int nerr, ndebug, nother;
    char last[600];
    char last_debug[600];
} cap_s;

static void cap_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    cap_s *c = user;
    (void)cat;
    if (level == LODE_LOG_ERROR) {
        c->nerr++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    } else if (level == LODE_LOG_DEBUG) {
        c->ndebug++;
        snprintf(c->last_debug, sizeof c->last_debug, "%s", msg);
    } else {
        c->nother++;
    }
}

static cap_s cap;
static const lode_log_s cap_log = {.fn = cap_fn, .user = &cap, .max_level = LODE_LOG_DEBUG};

static void cap_reset(void)
{
    memset(&cap, 0, sizeof cap);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    *len = n;
    return buf;
}

/* Loads `yaml` into `db` from an exact-size copy (so ASan sees reads past the end). */
static int load(lode_target_db_s *db, const char *yaml, size_t len, const char *name)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return LODE_E_NOMEM;
    memcpy(copy, yaml, len);
    int rc = lode_target_db_load_buffer(db, copy, len, name);
    free(copy);
    return rc;
}

static const lode_target_flash_algo_s *algo_named(const lode_target_chip_s *c, const char *n)
{
    for (size_t i = 0; i < c->nalgos; i++)
        if (strcmp(c->algos[i]->name, n) == 0)
            return c->algos[i];
    return NULL;
}

static const lodei_builtin_algo_s *builtin_named(const char *n)
{
    for (size_t i = 0; i < lodei_builtin_algos_count; i++)
        if (strcmp(lodei_builtin_algos[i].name, n) == 0)
            return &lodei_builtin_algos[i];
    return NULL;
}

/* ---- the real STM32F1 family ---------------------------------------------------------------- */

static void test_real_file(void)
{
    lode_target_db_s *db = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    size_t builtin_families = lode_target_family_count(db);
    size_t builtin_chips = lode_target_chips_count(db);
    CHECK_EQ(builtin_families, 2);
    CHECK_EQ(builtin_chips, 2);

    int rc = lode_target_db_load_file(db, F1_FILE);
    if (rc != LODE_OK)
        fprintf(stderr, "load %s: %s\n", F1_FILE, cap.last);
    CHECK_EQ(rc, LODE_OK);
    CHECK_EQ(cap.nerr, 0);
    REQUIRE(rc == LODE_OK);
    CHECK_EQ(lode_target_family_count(db), 3);
    const lode_target_family_s *fam = lode_target_family_at(db, 2);
    REQUIRE(fam != NULL);
    CHECK(strcmp(fam->name, "STM32F1 Series") == 0);
    CHECK(strcmp(fam->source, F1_FILE) == 0);
    CHECK(!fam->builtin);
    CHECK(fam->has_manufacturer);
    CHECK_EQ(fam->manufacturer_id, 0x20);
    CHECK_EQ(fam->manufacturer_cc, 0);
    CHECK_EQ(fam->nvariants, 95);
    CHECK_EQ(fam->nalgos, 4);
    CHECK_EQ(lode_target_chips_count(db), 95 + builtin_chips);
    /* newest family first */
    CHECK(lode_target_chips_at(db, 0)->family == fam);
    CHECK(strcmp(lode_target_chips_at(db, 0)->name, "STM32F100C4") == 0);
    CHECK(lode_target_chips_at(db, 95)->family->builtin);
    CHECK(lode_target_chips_at(db, 95 + builtin_chips) == NULL);
    CHECK(lode_target_family_at(db, 3) == NULL);

    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "STM32F103C8", &chip) == LODE_OK);
    CHECK(chip->family == fam); /* the loaded family wins over the built-in */
    CHECK(chip->db == db);
    const lode_target_variant_s *v = chip->variant;
    CHECK(strcmp(v->name, "STM32F103C8") == 0);
    CHECK_EQ(v->npackage_variants, 1);
    CHECK(strcmp(v->package_variants[0], "STM32F103C8Tx") == 0);
    REQUIRE(v->ncores == 1);
    CHECK(strcmp(v->cores[0].name, "main") == 0);
    CHECK(strcmp(v->cores[0].type, "armv7m") == 0);
    CHECK_EQ(v->cores[0].arch, LODE_TARGET_ARCH_ARMV7M);
    CHECK_EQ(v->cores[0].port, LODE_TARGET_PORT_ARM);
    CHECK_EQ(v->cores[0].ap_version, 1);
    CHECK_EQ(v->cores[0].ap, 0);
    REQUIRE(chip->nmemory == 2);
    const lode_target_mem_s *fl = &chip->memory[0], *ram = &chip->memory[1];
    CHECK_EQ(fl->kind, LODE_TARGET_MEM_NVM);
    CHECK(strcmp(fl->name, "BANK_1") == 0);
    CHECK_EQ(fl->start, 0x08000000);
    CHECK_EQ(fl->end, 0x08010000);
    CHECK(fl->access.boot && !fl->access.write && fl->access.read && fl->access.execute);
    CHECK_EQ(fl->ncores, 1);
    CHECK(strcmp(fl->cores[0], "main") == 0);
    CHECK_EQ(ram->kind, LODE_TARGET_MEM_RAM);
    CHECK(strcmp(ram->name, "SRAM") == 0);
    CHECK_EQ(ram->start, 0x20000000);
    CHECK_EQ(ram->end, 0x20005000);
    CHECK(ram->access.write && !ram->access.boot);
    CHECK(lode_target_chip_boot_nvm(chip) == fl);
    CHECK(lode_target_chip_region_at(chip, 0x20004fff) == ram);
    CHECK(lode_target_chip_region_at(chip, 0x20005000) == NULL);

    /* algorithms: the default first */
    REQUIRE(chip->nalgos == 2);
    CHECK_EQ(chip->nmissing_algos, 0);
    const lode_target_flash_algo_s *a = chip->algos[0];
    CHECK(strcmp(a->name, "stm32f10x_128") == 0);
    CHECK(strcmp(chip->algos[1]->name, "stm32f10x_opt") == 0);
    CHECK(strcmp(a->description, "STM32F10x Med-density Flash") == 0);
    CHECK(a->is_default);
    CHECK_EQ(a->instructions_len, 300);
    static const uint8_t head[] = {0x10, 0xb5, 0x03, 0x46, 0x00, 0x20};
    CHECK(memcmp(a->instructions, head, sizeof head) == 0);
    unsigned sum = 0;
    for (size_t i = 0; i < a->instructions_len; i++)
        sum += a->instructions[i];
    CHECK_EQ(sum, 23335); /* computed independently with Python's base64 module */
    CHECK(!a->has_load_address);
    CHECK_EQ(a->pc_init, 0x1);
    CHECK_EQ(a->pc_uninit, 0x33);
    CHECK_EQ(a->pc_program_page, 0xbd);
    CHECK_EQ(a->pc_erase_sector, 0x7f);
    CHECK_EQ(a->pc_erase_all, 0x45);
    CHECK_EQ(a->data_section_offset, 0x128);
    CHECK_EQ(a->flash_start, 0x08000000);
    CHECK_EQ(a->flash_end, 0x08020000);
    CHECK_EQ(a->page_size, 0x400);
    CHECK_EQ(a->erased_byte_value, 0xff);
    CHECK_EQ(a->program_page_timeout_ms, 100);
    CHECK_EQ(a->erase_sector_timeout_ms, 500);
    REQUIRE(a->nsectors == 1);
    CHECK_EQ(a->sectors[0].size, 0x400);
    CHECK_EQ(a->sectors[0].address, 0);
    CHECK(!a->big_endian && !a->has_stack_size && !a->has_rtt_location);
    const lode_target_flash_algo_s *opt = algo_named(chip, "stm32f10x_opt");
    REQUIRE(opt != NULL);
    CHECK_EQ(opt->instructions_len, 408);
    CHECK(!opt->is_default);
    CHECK_EQ(opt->flash_start, 0x1ffff800);
    CHECK_EQ(opt->flash_end, 0x1ffff810);

    /* which algorithm flashes what */
    CHECK(lode_target_flash_algo_for(chip, 0x08000000) == a);
    CHECK(lode_target_flash_algo_for(chip, 0x0800ffff) == a);
    CHECK(lode_target_flash_algo_for(chip, 0x08010000) == NULL); /* past the 64 KiB */
    CHECK(lode_target_flash_algo_for(chip, 0x1ffff80f) == opt);
    CHECK(lode_target_flash_algo_for(chip, 0x1ffff810) == NULL);
    CHECK(lode_target_flash_algo_for(chip, 0x20000000) == NULL);
    const lode_target_flash_algo_s *got = NULL;
    CHECK_EQ(lode_target_flash_algo_get(chip, 0x08000400, &got), LODE_OK);
    CHECK(got == a);
    cap_reset();
    got = NULL;
    CHECK_EQ(lode_target_flash_algo_get(chip, 0x20000000, &got), LODE_E_RANGE);
    CHECK(got == NULL);
    CHECK_EQ(cap.nerr, 1);
    CHECK(strstr(cap.last, "0x20000000 is not in flash") != NULL);

    /* sectors */
    uint64_t s = 0, z = 0;
    CHECK_EQ(lode_target_sector_at(a, 0x08000405, &s, &z), LODE_OK);
    CHECK_EQ(s, 0x08000400);
    CHECK_EQ(z, 0x400);
    CHECK_EQ(lode_target_sector_at(a, 0x0801ffff, &s, &z), LODE_OK);
    CHECK_EQ(s, 0x0801fc00);
    CHECK_EQ(z, 0x400);
    CHECK_EQ(lode_target_sector_at(a, 0x08020000, &s, &z), LODE_E_RANGE);
    CHECK_EQ(lode_target_sector_at(a, 0x07ffffff, &s, &z), LODE_E_RANGE);
    CHECK_EQ(lode_target_sector_at(opt, 0x1ffff808, &s, &z), LODE_OK);
    CHECK_EQ(s, 0x1ffff800);
    CHECK_EQ(z, 0x10);

    /* a two-bank XL chip: 2 KiB sectors, 768 KiB of a 1 MiB algorithm */
    REQUIRE(lode_target_find_chip(db, "stm32f103rf", &chip) == LODE_OK);
    CHECK(strcmp(chip->name, "STM32F103RF") == 0);
    REQUIRE(chip->nmemory == 3);
    CHECK(strcmp(chip->memory[1].name, "BANK_2") == 0);
    CHECK_EQ(chip->memory[1].start, 0x08080000);
    CHECK_EQ(chip->memory[1].end, 0x080c0000);
    REQUIRE(chip->nalgos == 2);
    CHECK(strcmp(chip->algos[0]->name, "stm32f10x_1024") == 0);
    CHECK_EQ(chip->algos[0]->instructions_len, 552);
    CHECK(lode_target_flash_algo_for(chip, 0x08080000) == chip->algos[0]);
    CHECK(lode_target_flash_algo_for(chip, 0x080bffff) == chip->algos[0]);
    CHECK(lode_target_flash_algo_for(chip, 0x080c0000) == NULL);
    CHECK_EQ(lode_target_sector_at(chip->algos[0], 0x08080801, &s, &z), LODE_OK);
    CHECK_EQ(s, 0x08080800);
    CHECK_EQ(z, 0x800);

    /* names */
    CHECK_EQ(lode_target_find_chip(db, "STM32F103C8T6", &chip), LODE_OK); /* package Tx */
    CHECK(strcmp(chip->name, "STM32F103C8") == 0);
    CHECK_EQ(lode_target_find_chip(db, "STM32F103CBU6", &chip), LODE_OK); /* package Ux */
    CHECK(strcmp(chip->name, "STM32F103CB") == 0);
    CHECK_EQ(lode_target_find_chip(db, "nRF52840", &chip), LODE_OK); /* unique prefix */
    CHECK(strcmp(chip->name, "nRF52840_xxAA") == 0);
    cap_reset();
    chip = NULL;
    CHECK_EQ(lode_target_find_chip(db, "STM32F103", &chip), LODE_E_INVALID_ARG);
    CHECK(chip == NULL);
    CHECK_EQ(cap.nerr, 1);
    CHECK(strstr(cap.last, "ambiguous") != NULL);
    CHECK(strstr(cap.last, "STM32F103C4") != NULL);
    CHECK(strstr(cap.last, "more") != NULL);
    cap_reset();
    /* "STM32F103C" is a prefix of C4, C6, C8, CB (C8 once although there are two) */
    CHECK_EQ(lode_target_find_chip(db, "STM32F103C", &chip), LODE_E_INVALID_ARG);
    CHECK(strstr(cap.last, "STM32F103C4, STM32F103C6, STM32F103C8, STM32F103CB;") != NULL);
    cap_reset();
    CHECK_EQ(lode_target_find_chip(db, "ATmega328P", &chip), LODE_E_NO_DEVICE);
    CHECK_EQ(cap.nerr, 1);
    CHECK(strstr(cap.last, "unknown chip 'ATmega328P'") != NULL);
    CHECK_EQ(lode_target_find_chip(db, "", &chip), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_target_find_chip(db, NULL, &chip), LODE_E_INVALID_ARG);

    /* detection against the loaded family */
    const lode_target_id_s *id = NULL;
    REQUIRE(lode_target_detect_stm32(0x20036410, &id) == LODE_OK);
    CHECK(strcmp(id->description, "STM32F10x medium density") == 0);
    CHECK_EQ(id->flash_size_addr, 0x1ffff7e0);
    CHECK_EQ(lode_target_find_detected(db, id, 64, &chip), LODE_OK);
    CHECK(strcmp(chip->name, "STM32F103C8") == 0 && chip->family == fam);
    CHECK_EQ(lode_target_find_detected(db, id, 128, &chip), LODE_OK);
    CHECK(strcmp(chip->name, "STM32F103CB") == 0);
    cap_reset();
    CHECK_EQ(lode_target_find_detected(db, id, 256, &chip), LODE_E_NO_DEVICE);
    CHECK_EQ(cap.nerr, 1);

    /* the same file again: allowed, the newer copy wins */
    CHECK_EQ(lode_target_db_load_file(db, F1_FILE), LODE_OK);
    CHECK_EQ(lode_target_find_chip(db, "STM32F103C8", &chip), LODE_OK);
    CHECK(chip->family == lode_target_family_at(db, 3));
    lode_target_db_free(db);
}

/* ---- built-in chips ------------------------------------------------------------------------ */

static void test_builtin(void)
{
    lode_target_db_s *db = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    CHECK_EQ(cap.nerr, 0);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "STM32F103C8", &chip) == LODE_OK);
    CHECK(chip->family->builtin);
    CHECK(strcmp(chip->family->source, "built-in") == 0);
    REQUIRE(chip->nmemory == 2);
    CHECK_EQ(chip->memory[0].kind, LODE_TARGET_MEM_NVM);
    CHECK_EQ(chip->memory[0].start, 0x08000000);
    CHECK_EQ(chip->memory[0].end, 0x08010000);
    CHECK(chip->memory[0].access.boot);
    CHECK_EQ(chip->memory[1].kind, LODE_TARGET_MEM_RAM);
    CHECK_EQ(chip->memory[1].start, 0x20000000);
    CHECK_EQ(chip->memory[1].end, 0x20005000);
    REQUIRE(chip->variant->ncores == 1);
    CHECK_EQ(chip->variant->cores[0].arch, LODE_TARGET_ARCH_ARMV7M);
    CHECK_EQ(chip->variant->cores[0].ap, 0);

    const lodei_builtin_algo_s *b = builtin_named("lode_stm32f1_64k");
#ifdef LODE_TEST_STUB_ALGOS
    CHECK_EQ(lodei_builtin_algos_count, 0);
#endif
    const lode_target_flash_algo_s *al = NULL;
    uint64_t s = 0, z = 0;
    cap_reset();
    int rc = lode_target_flash_algo_get(chip, 0x08000000, &al);
    if (b) {
        CHECK_EQ(rc, LODE_OK);
        REQUIRE(al != NULL);
        CHECK(chip->nalgos == 1 && chip->nmissing_algos == 0);
        CHECK(strcmp(al->name, "lode_stm32f1_64k") == 0);
        CHECK(al->is_default);
        CHECK(al->instructions == b->instructions);
        CHECK_EQ(al->pc_program_page, b->pc_program_page);
        CHECK_EQ(al->page_size, 1024);
        CHECK_EQ(lode_target_sector_at(al, 0x0800fc01, &s, &z), LODE_OK);
        CHECK_EQ(s, 0x0800fc00);
        CHECK_EQ(z, 1024);
        CHECK(lode_target_flash_algo_for(chip, 0x08010000) == NULL);
    } else {
        /* degraded: described, but flashing says what is missing */
        CHECK_EQ(rc, LODE_E_UNSUPPORTED);
        CHECK(al == NULL);
        CHECK_EQ(chip->nalgos, 0);
        REQUIRE(chip->nmissing_algos == 1);
        CHECK(strcmp(chip->missing_algos[0], "lode_stm32f1_64k") == 0);
        CHECK_EQ(cap.nerr, 1);
        CHECK(strstr(cap.last, "'lode_stm32f1_64k' is not in this build") != NULL);
    }

    REQUIRE(lode_target_find_chip(db, "NRF52840_XXAA", &chip) == LODE_OK);
    CHECK(strcmp(chip->name, "nRF52840_xxAA") == 0);
    REQUIRE(chip->nmemory == 3);
    CHECK_EQ(chip->memory[0].kind, LODE_TARGET_MEM_NVM);
    CHECK_EQ(chip->memory[0].start, 0);
    CHECK_EQ(chip->memory[0].end, 0x100000);
    CHECK_EQ(chip->memory[1].kind, LODE_TARGET_MEM_RAM);
    CHECK_EQ(chip->memory[1].end, 0x20040000);
    CHECK_EQ(chip->memory[2].kind, LODE_TARGET_MEM_NVM);
    CHECK(strcmp(chip->memory[2].name, "UICR") == 0);
    CHECK_EQ(chip->memory[2].start, 0x10001000);
    CHECK_EQ(chip->memory[2].end, 0x10002000);
    CHECK(lode_target_chip_boot_nvm(chip) == &chip->memory[0]);
    CHECK_EQ(chip->variant->cores[0].arch, LODE_TARGET_ARCH_ARMV7EM);
    if (builtin_named("lode_nrf52_1m") && builtin_named("lode_nrf52_uicr")) {
        REQUIRE(chip->nalgos == 2);
        CHECK(strcmp(chip->algos[0]->name, "lode_nrf52_1m") == 0);
        CHECK(lode_target_flash_algo_for(chip, 0xff000) == chip->algos[0]);
        al = lode_target_flash_algo_for(chip, 0x10001008);
        REQUIRE(al != NULL);
        CHECK(strcmp(al->name, "lode_nrf52_uicr") == 0);
        CHECK_EQ(lode_target_sector_at(chip->algos[0], 0x1234, &s, &z), LODE_OK);
        CHECK_EQ(s, 0x1000);
        CHECK_EQ(z, 4096);
    } else {
        CHECK_EQ(chip->nmissing_algos, 2);
        CHECK_EQ(lode_target_flash_algo_get(chip, 0x10001000, &al), LODE_E_UNSUPPORTED);
    }
    cap_reset();
    CHECK_EQ(lode_target_flash_algo_get(chip, 0x30000000, &al), LODE_E_RANGE);
    CHECK(strstr(cap.last, "not in flash") != NULL);

    /* detection against the built-ins */
    const lode_target_id_s *id = NULL;
    REQUIRE(lode_target_detect_stm32(0x10000410, &id) == LODE_OK);
    CHECK_EQ(lode_target_find_detected(db, id, 64, &chip), LODE_OK);
    CHECK(strcmp(chip->name, "STM32F103C8") == 0 && chip->family->builtin);
    CHECK_EQ(lode_target_detect_stm32(0x10000999, &id), LODE_E_UNSUPPORTED);
    REQUIRE(lode_target_detect_stm32(0x414, &id) == LODE_OK);
    CHECK(strstr(id->description, "high density") != NULL);
    REQUIRE(lode_target_detect_nrf52(0x52840, 0x41414430, &id) == LODE_OK); /* "AAD0" */
    CHECK(strcmp(id->patterns[0], "nRF52840_xxAA") == 0);
    CHECK_EQ(lode_target_find_detected(db, id, 0, &chip), LODE_OK);
    CHECK(strcmp(chip->name, "nRF52840_xxAA") == 0);
    REQUIRE(lode_target_detect_nrf52(0x52832, 0x41424230, &id) == LODE_OK); /* "ABB0" */
    CHECK(strcmp(id->patterns[0], "nRF52832_xxAB") == 0);
    REQUIRE(lode_target_detect_nrf52(0x52832, 0xffffffff, &id) == LODE_OK);
    CHECK(strcmp(id->patterns[0], "nRF52832_xxAA") == 0);
    CHECK_EQ(lode_target_detect_nrf52(0x51822, 0, &id), LODE_E_UNSUPPORTED);
    cap_reset();
    CHECK_EQ(lode_target_find_detected(db, id, 0, &chip), LODE_E_NO_DEVICE); /* no nRF52832 */
    CHECK_EQ(cap.nerr, 1);

    cap_reset();
    CHECK_EQ(lode_target_db_load_file(db, "/nonexistent/dir/x.yaml"), LODE_E_NO_DEVICE);
    CHECK_EQ(cap.nerr, 1);
    CHECK(strstr(cap.last, "/nonexistent/dir/x.yaml: cannot open") != NULL);
    CHECK_EQ(lode_target_chips_count(db), 2);
    lode_target_db_free(db);
    lode_target_db_free(NULL);
}

/* ---- a small valid family and variations of it --------------------------------------------- */

static const char base_yaml[] =
    "name: Test Family\n"
    "manufacturer: {id: 0x3b, cc: 4}\n"
    "chip_detection:\n"
    "- !SomeDetection\n"
    "  x: 1\n"
    "variants:\n"
    "- name: TESTCHIP1\n"
    "  cores:\n"
    "  - name: main\n"
    "    type: armv6m\n"
    "    core_access_options: !Arm\n"
    "      ap: 0\n"
    "  memory_map:\n"
    "  - !Nvm\n"
    "    range: {start: 0, end: 0x1000}\n"
    "    is_boot_memory: true\n"
    "    cores: [main]\n"
    "  - !Ram\n"
    "    name: RAM\n"
    "    range: {start: 0x20000000, end: 0x20001000}\n"
    "  flash_algorithms: [a1]\n"
    "flash_algorithms:\n"
    "- name: a1\n"
    "  instructions: AAECAwQFBgc=\n"
    "  pc_init: 1\n"
    "  pc_program_page: 3\n"
    "  pc_erase_sector: 5\n"
    "  data_section_offset: 8\n"
    "  load_address: 0x20000000\n"
    "  flash_properties:\n"
    "    address_range: {start: 0, end: 0x1000}\n"
    "    page_size: 256\n"
    "    erased_byte_value: 0xff\n"
    "    program_page_timeout: 100\n"
    "    erase_sector_timeout: 100\n"
    "    sectors:\n"
    "    - {size: 0x100, address: 0}\n"
    "    - {size: 0x300, address: 0x400}\n";

/* base_yaml with the first `from` replaced by `to` (from must occur). */
static char *variant_of(const char *from, const char *to)
{
    const char *p = strstr(base_yaml, from);
    if (!p)
        return NULL;
    size_t pre = (size_t)(p - base_yaml), fl = strlen(from), tl = strlen(to);
    size_t n = sizeof base_yaml - 1 - fl + tl;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, base_yaml, pre);
    memcpy(out + pre, to, tl);
    memcpy(out + pre + tl, p + fl, sizeof base_yaml - 1 - pre - fl);
    out[n] = 0;
    return out;
}

static void test_small_valid(void)
{
    lode_target_db_s *db = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    int rc = load(db, base_yaml, sizeof base_yaml - 1, "small.yaml");
    if (rc)
        fprintf(stderr, "%s\n", cap.last);
    REQUIRE(rc == LODE_OK);
    const lode_target_family_s *fam = lode_target_family_at(db, 2);
    CHECK_EQ(fam->manufacturer_id, 0x3b);
    CHECK_EQ(fam->manufacturer_cc, 4);
    REQUIRE(fam->nchip_detection == 1);
    CHECK(strcmp(fam->chip_detection[0], "SomeDetection") == 0);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "testchip1", &chip) == LODE_OK);
    CHECK(strcmp(chip->memory[0].name, "") == 0);
    CHECK(chip->memory[0].access.boot);
    CHECK_EQ(chip->variant->cores[0].ap_version, 1);
    REQUIRE(chip->nalgos == 1);
    const lode_target_flash_algo_s *a = chip->algos[0];
    CHECK(!a->is_default);
    CHECK_EQ(a->instructions_len, 8);
    CHECK(a->instructions[7] == 7);
    CHECK(a->has_load_address && a->load_address == 0x20000000);
    CHECK_EQ(a->pc_uninit, LODE_TARGET_PC_NONE);
    CHECK_EQ(a->pc_erase_all, LODE_TARGET_PC_NONE);
    CHECK(strcmp(a->description, "") == 0);
    /* sector runs: 0x100 from 0 to 0x400, then 0x300 from 0x400 to the end (last one cut) */
    static const struct {
        uint64_t addr, start, size;
    } sec[] = {
        {0x0, 0x0, 0x100},     {0x3ff, 0x300, 0x100}, {0x400, 0x400, 0x300},
        {0x9ff, 0x700, 0x300}, {0xa00, 0xa00, 0x300}, {0xd00, 0xd00, 0x300},
        {0xfff, 0xd00, 0x300},
    };
    for (size_t i = 0; i < sizeof sec / sizeof sec[0]; i++) {
        uint64_t s = 1, z = 1;
        CHECK_EQ(lode_target_sector_at(a, sec[i].addr, &s, &z), LODE_OK);
        CHECK_EQ(s, sec[i].start);
        CHECK_EQ(z, sec[i].size);
    }
    uint64_t s = 7, z = 7;
    CHECK_EQ(lode_target_sector_at(a, 0x1000, &s, &z), LODE_E_RANGE);
    CHECK(s == 7 && z == 7);
    lode_target_db_free(db);

    /* accepted variations */
    static const struct {
        const char *from, *to;
    } ok[] = {
        {"ap: 0", "ap: !v1 0"},
        {"ap: 0", "ap: !v2 0x80002000"},
        {"ap: 0", "ap: {v1: 3}"},
        {"  - !Nvm\n    range: {start: 0, end: 0x1000}\n    is_boot_memory: true\n"
         "    cores: [main]\n",
         "  - Nvm:\n      range: {start: 0, end: 0x1000}\n"},
        {"core_access_options: !Arm\n      ap: 0", "core_access_options:\n      Arm: {ap: 0}"},
        {"core_access_options: !Arm\n      ap: 0", "core_access_options: !Riscv {hart_id: 0}"},
        {"page_size: 256", "page_size: 0b100000000"},
        {"page_size: 256", "page_size: 0o400"},
        {"load_address: 0x20000000", "load_address: null"},
        {"load_address: 0x20000000", "load_address: ~\n  stack_size: 512\n  big_endian: false"},
        {"pc_init: 1", "pc_init: 1\n  default: True\n  description: \"quoted\""},
        {"pc_init: 1", "pc_init: 1\n  future_key: [1, {a: b}]\n  rtt_location: 0x20000100"},
        {"instructions: AAECAwQFBgc=", "instructions: AAEC AwQF\n    Bgc"},
        {"type: armv6m", "type: armv9m"},
        {"name: Test Family", "name: Test Family\ngenerated_from_pack: true\nsvd: x.svd"},
        {"erased_byte_value: 0xff\n", ""},
        {"flash_algorithms: [a1]", "flash_algorithms: []"},
        {"chip_detection:\n- !SomeDetection\n  x: 1\n", "chip_detection: [{Foo: {}}]\n"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *y = variant_of(ok[i].from, ok[i].to);
        REQUIRE(y != NULL);
        cap_reset();
        REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
        rc = load(db, y, strlen(y), "ok.yaml");
        if (rc != LODE_OK)
            fprintf(stderr, "accepted variation %zu failed: %s\n", i, cap.last);
        CHECK_EQ(rc, LODE_OK);
        CHECK_EQ(lode_target_chips_count(db), 3);
        if (i == 1 && rc == LODE_OK) {
            const lode_target_chips_at_t_check_dummy = 0;
            (void)lode_target_chips_at_t_check_dummy;
        }
        if (i == 11)
            CHECK(strstr(cap.last_debug, "future_key") != NULL || cap.ndebug > 0);
        lode_target_db_free(db);
        free(y);
    }
}
