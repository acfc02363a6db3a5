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

#define F1_REL "targets/probe-rs/STM32F1_Series.yaml"

/* ---- log capture -------------------------------------------------------------------------- */

typedef struct cap_s {
    int nerr, ndebug, nother, nwarn;
    char last[600];
    char last_debug[600];
    char last_warn[600];
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
        if (level == LODE_LOG_WARN) {
            c->nwarn++;
            snprintf(c->last_warn, sizeof c->last_warn, "%s", msg);
        }
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
    const char *F1_FILE = test_shared_path(F1_REL, __func__);
    if (!F1_FILE)
        return;
    lode_target_db_s *db = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    size_t builtin_families = lode_target_family_count(db);
    size_t builtin_chips = lode_target_chips_count(db);
    CHECK_EQ(builtin_families, 3);
    CHECK_EQ(builtin_chips, 3);

    int rc = lode_target_db_load_file(db, F1_FILE);
    if (rc != LODE_OK)
        fprintf(stderr, "load %s: %s\n", F1_FILE, cap.last);
    CHECK_EQ(rc, LODE_OK);
    CHECK_EQ(cap.nerr, 0);
    REQUIRE(rc == LODE_OK);
    CHECK_EQ(lode_target_family_count(db), builtin_families + 1);
    const lode_target_family_s *fam = lode_target_family_at(db, builtin_families);
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
    CHECK(lode_target_family_at(db, builtin_families + 1) == NULL);

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
    CHECK(chip->family == lode_target_family_at(db, builtin_families + 1));
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
    CHECK_EQ(lode_target_chips_count(db), 3);
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
    const lode_target_family_s *fam = lode_target_family_at(db, 3); /* after the 3 built-in families */
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
        {"    erased_byte_value: 0xff\n", ""},
        {"flash_algorithms: [a1]", "flash_algorithms: []"},
        {"chip_detection:\n- !SomeDetection\n  x: 1\n", "chip_detection: [{Foo: {}}]\n"},
        {"- {size: 0x100, address: 0}", "- {size: 0x300, address: 0}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *y = variant_of(ok[i].from, ok[i].to);
        REQUIRE(y != NULL);
        REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
        cap_reset();
        rc = load(db, y, strlen(y), "ok.yaml");
        if (rc != LODE_OK)
            fprintf(stderr, "accepted variation %zu failed: %s\n", i, cap.last);
        CHECK_EQ(rc, LODE_OK);
        CHECK_EQ(lode_target_chips_count(db), 4);
        const lode_target_chip_s *c1 = NULL;
        if (rc == LODE_OK && lode_target_find_chip(db, "TESTCHIP1", &c1) == LODE_OK) {
            if (i == 1)
                CHECK(c1->variant->cores[0].ap_version == 2 &&
                      c1->variant->cores[0].ap == 0x80002000);
            if (i == 2)
                CHECK_EQ(c1->variant->cores[0].ap, 3);
            if (i == 5)
                CHECK_EQ(c1->variant->cores[0].port, LODE_TARGET_PORT_RISCV);
            if (i == 6)
                CHECK_EQ(c1->algos[0]->page_size, 256);
            if (i == 12)
                CHECK_EQ(c1->algos[0]->instructions_len, 8);
            if (i == 15)
                CHECK_EQ(c1->algos[0]->erased_byte_value, 0xff);
            if (i == 16)
                CHECK_EQ(c1->nalgos, 0);
            if (i == 18) { /* 0x300-byte sectors from 0 to 0x400: the second is cut */
                uint64_t st = 0, sz = 0;
                CHECK_EQ(lode_target_sector_at(c1->algos[0], 0x350, &st, &sz), LODE_OK);
                CHECK_EQ(st, 0x300);
                CHECK_EQ(sz, 0x100);
                CHECK_EQ(lode_target_sector_at(c1->algos[0], 0x2ff, &st, &sz), LODE_OK);
                CHECK_EQ(st, 0);
                CHECK_EQ(sz, 0x300);
            }
        }
        if (i == 11) {
            CHECK(strstr(cap.last_debug, "ignoring key") != NULL);
            CHECK_EQ(cap.ndebug, 1); /* future_key; rtt_location is known */
        }
        lode_target_db_free(db);
        free(y);
    }
}

/* ---- malformed input ----------------------------------------------------------------------- */

typedef struct bad_s {
    const char *from, *to; /* applied to base_yaml; from == NULL: `to` is the whole input */
    int rc;
    const char *msg;       /* must appear in the one error message */
} bad_s;

static const bad_s bad[] = {
    {NULL, "", LODE_E_FORMAT, "no YAML document"},
    {NULL, "# only a comment\n", LODE_E_FORMAT, "no YAML document"},
    {NULL, "- a\n- b\n", LODE_E_FORMAT, "expected a mapping"},
    {NULL, "just text", LODE_E_FORMAT, "expected a mapping"},
    {NULL, "name: [unclosed\n", LODE_E_FORMAT, "YAML syntax error"},
    {NULL, "name: x\n  bad: indent\n", LODE_E_FORMAT, "YAML syntax error"},
    {NULL, "name: T\xff\xfe\n", LODE_E_FORMAT, "UTF-8"},
    {NULL, "name: \xc3\x28\n", LODE_E_FORMAT, "UTF-8"},
    {NULL, "name: &n Test\nvariants: *n\n", LODE_E_FORMAT, "alias '*n' is not supported"},
    {NULL, "name: A\nname: B\nvariants: []\n", LODE_E_FORMAT, "key 'name' appears twice"},
    {NULL, "? [a]\n: b\n", LODE_E_FORMAT, "a key must be a plain name"},
    {"name: Test Family", "name: \"a\\0b\"", LODE_E_FORMAT, "NUL"},
    {"name: Test Family", "name: ''", LODE_E_FORMAT, "name: is empty"},
    {"name: Test Family", "name: [a]", LODE_E_FORMAT, "expected a text value"},
    {"name: Test Family\n", "", LODE_E_FORMAT, "key 'name' is missing"},
    {"- !Nvm", "- !Flash", LODE_E_FORMAT, "unknown memory region kind '!Flash'"},
    {"- !Nvm\n    range", "- range", LODE_E_FORMAT, "memory region without a kind"},
    {"!Ram\n    name: RAM", "!Ram 5\n    name: RAM", LODE_E_FORMAT, "YAML syntax error"},
    {"ap: 0", "ap: !v3 0", LODE_E_FORMAT, "unknown access port version '!v3'"},
    {"ap: 0", "ap: 256", LODE_E_FORMAT, "too large"},
    {"ap: 0", "psel: 0", LODE_E_FORMAT, "key 'ap' is missing"},
    {"core_access_options: !Arm", "core_access_options: !Jtag", LODE_E_FORMAT,
     "unknown kind '!Jtag'"},
    {"core_access_options: !Arm\n      ap: 0", "core_access_options: {ap: 0}", LODE_E_FORMAT,
     "no kind given"},
    {"type: armv6m", "type: {a: 1}", LODE_E_FORMAT, "cores[0].type: expected a text value"},
    {"  cores:\n  - name: main\n", "  cores: []\n  corez:\n  - name: main\n", LODE_E_FORMAT,
     "cores: the list is empty"},
    {"    cores: [main]", "    cores: [other]", LODE_E_FORMAT, "core 'other' is not one of"},
    {"page_size: 256", "page_size: [1]", LODE_E_FORMAT, "page_size: expected a number"},
    {"page_size: 256", "page_size: '256'", LODE_E_FORMAT, "expected a number"},
    {"page_size: 256", "page_size: 0", LODE_E_FORMAT, "page_size is 0"},
    {"page_size: 256", "page_size: 12abc", LODE_E_FORMAT, "'12abc' is not a number"},
    {"page_size: 256", "page_size: -1", LODE_E_FORMAT, "is not a number"},
    {"page_size: 256", "page_size: 0x", LODE_E_FORMAT, "is not a number"},
    {"page_size: 256", "page_size: 0x100000000", LODE_E_FORMAT, "too large"},
    {"end: 0x1000}\n    is_boot", "end: 99999999999999999999999}\n    is_boot", LODE_E_FORMAT,
     "range.end: 99999999999999999999999 is too large"},
    {"end: 0x1000}\n    is_boot", "end: 0}\n    is_boot", LODE_E_FORMAT, "is not above start"},
    {"{start: 0x20000000, end: 0x20001000}", "{start: 0x20000000}", LODE_E_FORMAT,
     "key 'end' is missing"},
    {"  pc_erase_sector: 5\n", "", LODE_E_FORMAT, "key 'pc_erase_sector' is missing"},
    {"pc_erase_sector: 5\n", "pc_erase_sector: null\n", LODE_E_FORMAT, "cannot be null"},
    {"pc_program_page: 3", "pc_program_page: 9", LODE_E_FORMAT, "points past the end"},
    {"pc_program_page: 3", "pc_program_page: 0x100000000", LODE_E_FORMAT, "too large"},
    {"data_section_offset: 8", "data_section_offset: 0x200000", LODE_E_FORMAT, "far past the end"},
    {"instructions: AAECAwQFBgc=", "instructions: AAEC*wQFBgc=", LODE_E_FORMAT,
     "not valid base64 at character 5"},
    {"instructions: AAECAwQFBgc=", "instructions: AAECAwQFBgd=", LODE_E_FORMAT,
     "not valid base64"},
    {"instructions: AAECAwQFBgc=", "instructions: AAECAwQFB", LODE_E_FORMAT,
     "not valid base64"},
    {"instructions: AAECAwQFBgc=", "instructions: AAECAwQFBgc=A", LODE_E_FORMAT,
     "not valid base64"},
    {"instructions: AAECAwQFBgc=", "instructions: ''", LODE_E_FORMAT, "empty value"},
    {"instructions: AAECAwQFBgc=", "instructions: [AA]", LODE_E_FORMAT, "expected base64"},
    {"erased_byte_value: 0xff", "erased_byte_value: 0x100", LODE_E_FORMAT, "too large"},
    {"program_page_timeout: 100", "program_page_timeout: yes", LODE_E_FORMAT,
     "'yes' is not a number"},
    {"pc_init: 1", "pc_init: 1\n  default: maybe", LODE_E_FORMAT, "expected true or false"},
    {"pc_init: 1", "pc_init: 1\n  big_endian: 1", LODE_E_FORMAT, "expected true or false"},
    {"is_boot_memory: true", "is_boot_memory: \"true\"", LODE_E_FORMAT,
     "expected true or false"},
    {"{id: 0x3b, cc: 4}", "{id: 0x13b, cc: 4}", LODE_E_FORMAT, "manufacturer.id: 0x13b is too"},
    {"flash_algorithms: [a1]", "flash_algorithms: [zz]", LODE_E_FORMAT,
     "names flash algorithm 'zz', which the file does not define"},
    {"flash_algorithms: [a1]", "flash_algorithms: a1", LODE_E_FORMAT, "expected a list"},
    {"variants:\n", "variants: {}\nx:\n", LODE_E_FORMAT, "variants: expected a list"},
    {"    - {size: 0x300, address: 0x400}", "    - {size: 0x300, address: 0}", LODE_E_FORMAT,
     "does not follow"},
    {"    - {size: 0x300, address: 0x400}", "    - {size: 0x300, address: 0x1000}",
     LODE_E_FORMAT, "past the end of address_range"},
    {"    - {size: 0x300, address: 0x400}", "    - {size: 0, address: 0x400}", LODE_E_FORMAT,
     "size is 0"},
    {"    sectors:\n", "    sectorz:\n", LODE_E_FORMAT, "key 'sectors' is missing"},
    {"  - name: main\n", "  - name: main\n    name: again\n", LODE_E_FORMAT, "appears twice"},
    {"- name: a1\n", "- name: a1\n  flash_properties: 5\n", LODE_E_FORMAT, "appears twice"},
    {"flash_properties:\n", "flash_properties: 5\n  x:\n", LODE_E_FORMAT,
     "expected a mapping"},
    {"flash_algorithms:\n- name: a1", "---\nflash_algorithms:\n- name: a1", LODE_E_FORMAT,
     "second YAML document"},
};

/* Real probe-rs files (issue 11): a data_section_offset past the instructions is accepted (an
 * empty data section), one bad algorithm is skipped with a warning and its chip keeps the
 * others, and a second flash bank right after the first counts as main flash. */
static void test_real_file_quirks(void)
{
    lode_target_db_s *db = NULL;
    const lode_target_chip_s *c = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    char *y = variant_of("data_section_offset: 8", "data_section_offset: 0x40");
    REQUIRE(y != NULL);
    CHECK_EQ(load(db, y, strlen(y), "past.yaml"), LODE_OK);
    CHECK_EQ(cap.nerr + cap.nwarn, 0);
    REQUIRE(lode_target_find_chip(db, "TESTCHIP1", &c) == LODE_OK);
    REQUIRE(c->nalgos == 1);
    CHECK_EQ(c->algos[0]->data_section_offset, 0x40);
    free(y);
    lode_target_db_free(db);

    /* a second algorithm with an entry point outside its instructions */
    static const char a2[] = "- name: a2\n"
                             "  instructions: AAECAwQFBgc=\n"
                             "  pc_program_page: 99\n"
                             "  pc_erase_sector: 5\n"
                             "  data_section_offset: 8\n"
                             "  flash_properties:\n"
                             "    address_range: {start: 0, end: 0x1000}\n"
                             "    page_size: 256\n"
                             "    sectors:\n"
                             "    - {size: 0x100, address: 0}\n";
    char *y2 = variant_of("flash_algorithms: [a1]", "flash_algorithms: [a1, a2]");
    REQUIRE(y2 != NULL);
    char *y3 = malloc(strlen(y2) + sizeof a2);
    REQUIRE(y3 != NULL);
    snprintf(y3, strlen(y2) + sizeof a2, "%s%s", y2, a2);
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    CHECK_EQ(load(db, y3, strlen(y3), "two.yaml"), LODE_OK);
    CHECK_EQ(cap.nerr, 0);
    CHECK_EQ(cap.nwarn, 1);
    CHECK(strstr(cap.last_warn, "two.yaml:") && strstr(cap.last_warn, "flash_algorithms[1]") &&
          strstr(cap.last_warn, "pc_program_page") && strstr(cap.last_warn, "skipped"));
    if (!strstr(cap.last_warn, "pc_program_page"))
        fprintf(stderr, "got: %s\n", cap.last_warn);
    REQUIRE(lode_target_find_chip(db, "TESTCHIP1", &c) == LODE_OK);
    CHECK_EQ(c->nalgos, 1);
    CHECK(c->nalgos == 1 && !strcmp(c->algos[0]->name, "a1"));
    lode_target_db_free(db);
    free(y2);
    free(y3);

    /* two banks */
    char *y4 = variant_of("  - !Ram\n    name: RAM", "  - !Nvm\n    name: BANK_2\n    range: {start: 0x1000, end: 0x3000}\n"
                                                 "    cores: [main]\n  - !Ram\n    name: RAM");
    REQUIRE(y4 != NULL);
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    CHECK_EQ(load(db, y4, strlen(y4), "banks.yaml"), LODE_OK);
    REQUIRE(lode_target_find_chip(db, "TESTCHIP1", &c) == LODE_OK);
    uint64_t fs = 1, fe = 1;
    CHECK_EQ(lode_target_chip_main_flash(c, &fs, &fe), 2);
    CHECK_EQ(fs, 0);
    CHECK_EQ(fe, 0x3000);
    lode_target_db_free(db);
    free(y4);
}

static void test_malformed(void)
{
    lode_target_db_s *db = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    size_t nchips = lode_target_chips_count(db);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *y = bad[i].from ? variant_of(bad[i].from, bad[i].to) : NULL;
        const char *in = bad[i].from ? y : bad[i].to;
        if (!in) {
            fprintf(stderr, "bad[%zu]: '%s' not in base_yaml\n", i, bad[i].from);
            CHECK(in != NULL);
            continue;
        }
        cap_reset();
        lode_target_db_s *db1 = NULL;
        REQUIRE(lode_target_db_new(&cap_log, &db1) == LODE_OK);
        int rc = load(db1, in, strlen(in), "bad.yaml");
        bool good = rc == bad[i].rc && cap.nerr == 1 && strstr(cap.last, bad[i].msg) &&
                    strncmp(cap.last, "bad.yaml", 8) == 0 && strchr(cap.last, '\n') == NULL;
        /* an error inside the flash algorithm: the algorithm is skipped with a warning, the
         * chip loads without it */
        const lode_target_chip_s *tc = NULL;
        bool skipped = rc == LODE_OK && cap.nerr == 0 && cap.nwarn == 1 && strstr(cap.last_warn, bad[i].msg) &&
                       strstr(cap.last_warn, "flash_algorithms[0]") && strstr(cap.last_warn, "skipped") &&
                       lode_target_find_chip(db1, "TESTCHIP1", &tc) == LODE_OK;
        if (!good && !skipped)
            fprintf(stderr, "bad[%zu]: rc %d (want %d), %d errors, last: %s\n  warning: %s\n  want: %s\n", i,
                    rc, bad[i].rc, cap.nerr, cap.last, cap.last_warn, bad[i].msg);
        CHECK(good || skipped);
        if (getenv("LODE_TEST_VERBOSE"))
            fprintf(stderr, "  [%zu] %s%s\n", i, skipped ? "skipped: " : "", skipped ? cap.last_warn : cap.last);
        CHECK_EQ(lode_target_chips_count(db1), nchips + (skipped ? 1 : 0)); /* unchanged, or the chip alone */
        lode_target_db_free(db1);
        free(y);
    }
    /* a message names file, line and key path */
    char *y = variant_of("page_size: 256", "page_size: nope");
    REQUIRE(y != NULL);
    cap_reset();
    CHECK_EQ(load(db, y, strlen(y), "f.yaml"), LODE_OK); /* the algorithm skipped */
    CHECK(strstr(cap.last_warn, "f.yaml:32: flash_algorithms[0].flash_properties.page_size: 'nope' "
                                "is not a number") != NULL);
    if (!strstr(cap.last_warn, "f.yaml:32:"))
        fprintf(stderr, "got: %s\n", cap.last_warn);
    free(y);
    lode_target_db_free(db);
}

/* deep nesting, too many nodes or items, too large, long names, NULL */
static void test_limits(void)
{
    lode_target_db_s *db = NULL;
    cap_reset();
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);

    size_t depth = 100000;
    char *deep = malloc(2 * depth + 16);
    REQUIRE(deep != NULL);
    size_t o = (size_t)sprintf(deep, "x: ");
    for (size_t i = 0; i < depth; i++)
        deep[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[o++] = ']';
    cap_reset();
    CHECK_EQ(load(db, deep, o, "deep.yaml"), LODE_E_FORMAT);
    CHECK(strstr(cap.last, "nested deeper than 32 levels") != NULL);
    o = (size_t)sprintf(deep, "x:\n");
    for (size_t i = 0; i < 40; i++)
        o += (size_t)sprintf(deep + o, "%*s- \n", (int)(2 * i), "");
    cap_reset();
    CHECK_EQ(load(db, deep, o, "deep2.yaml"), LODE_E_FORMAT);
    CHECK_EQ(cap.nerr, 1);
    free(deep);

    /* one huge list, then many lists that together pass the node limit */
    size_t cap_bytes = 4u << 20;
    char *big = malloc(cap_bytes);
    REQUIRE(big != NULL);
    o = (size_t)sprintf(big, "x: [");
    for (size_t i = 0; i < 70000; i++)
        o += (size_t)sprintf(big + o, "0,");
    big[o++] = ']';
    cap_reset();
    CHECK_EQ(load(db, big, o, "wide.yaml"), LODE_E_FORMAT);
    CHECK(strstr(cap.last, "more than 65536 entries") != NULL);
    o = 0;
    for (size_t k = 0; k < 20; k++) {
        o += (size_t)sprintf(big + o, "k%zu: [", k);
        for (size_t i = 0; i < 60000; i++) {
            big[o++] = '0';
            big[o++] = ',';
        }
        big[o++] = ']';
        big[o++] = '\n';
    }
    cap_reset();
    CHECK_EQ(load(db, big, o, "nodes.yaml"), LODE_E_FORMAT);
    CHECK(strstr(cap.last, "YAML nodes") != NULL);
    free(big);

    /* larger than the file limit: refused before anything is read */
    size_t huge = (size_t)LODE_TARGET_MAX_FILE + 1;
    char *h = malloc(huge);
    REQUIRE(h != NULL);
    memset(h, ' ', huge);
    cap_reset();
    CHECK_EQ(lode_target_db_load_buffer(db, h, huge, "huge.yaml"), LODE_E_NOMEM);
    CHECK(strstr(cap.last, "huge.yaml") != NULL);
    free(h);

    char longname[400];
    memset(longname, 'A', sizeof longname);
    longname[sizeof longname - 1] = 0;
    char doc[600];
    snprintf(doc, sizeof doc, "name: %s\nvariants: []\n", longname);
    cap_reset();
    CHECK_EQ(load(db, doc, strlen(doc), "long.yaml"), LODE_E_FORMAT);
    CHECK(strstr(cap.last, "shorten it") != NULL);
    const lode_target_chip_s *chip = NULL;
    CHECK_EQ(lode_target_find_chip(db, longname, &chip), LODE_E_INVALID_ARG);

    cap_reset();
    CHECK_EQ(lode_target_db_load_buffer(db, NULL, 5, "null.yaml"), LODE_E_INVALID_ARG);
    CHECK_EQ(cap.nerr, 1);
    CHECK_EQ(lode_target_db_load_buffer(NULL, "x", 1, NULL), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_target_db_new(NULL, NULL), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_target_chips_count(db), 3);
    lode_target_db_free(db);

    /* no log at all: errors still returned */
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    CHECK_EQ(lode_target_db_load_buffer(db, "- x", 3, NULL), LODE_E_FORMAT);
    CHECK_EQ(lode_target_db_load_buffer(db, base_yaml, sizeof base_yaml - 1, NULL), LODE_OK);
    lode_target_db_free(db);
}

/* Every prefix of the real file (step 97) and single-byte corruptions: an error with exactly
 * one message, or success; never a crash (run under ASan/UBSan). */
static void test_truncation(void)
{
    const char *F1_FILE = test_shared_path(F1_REL, __func__);
    if (!F1_FILE)
        return;
    size_t len = 0;
    char *buf = read_all(F1_FILE, &len);
    REQUIRE(buf != NULL);
    CHECK(len > 40000);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(&cap_log, &db) == LODE_OK);
    size_t nok = 0, nerr = 0, bad_results = 0;
    for (size_t n = 0; n <= len; n += 97) {
        cap_reset();
        int rc = load(db, buf, n, "prefix.yaml");
        if (rc == LODE_OK && cap.nerr == 0)
            nok++;
        else if (rc == LODE_E_FORMAT && cap.nerr == 1)
            nerr++;
        else
            bad_results++;
    }
    cap_reset();
    CHECK_EQ(load(db, buf, len, "full.yaml"), LODE_OK);
    static const char subst[] = {'\0', '\t', ':', '-', '!', '[', '{', '&', '*', '"', '\xff', 'x',
                                 '9', ' ', '\n', '#'};
    size_t k = 0;
    for (size_t i = 0; i < len; i += 89, k++) {
        char saved = buf[i];
        buf[i] = subst[k % sizeof subst];
        cap_reset();
        int rc = load(db, buf, len, "mutated.yaml");
        if (rc == LODE_OK && cap.nerr == 0)
            nok++;
        else if ((rc == LODE_E_FORMAT) && cap.nerr == 1)
            nerr++;
        else {
            fprintf(stderr, "mutation at %zu: rc %d, %d errors: %s\n", i, rc, cap.nerr,
                    cap.last);
            bad_results++;
        }
        buf[i] = saved;
    }
    fprintf(stderr, "truncation/mutation: %zu loaded, %zu rejected\n", nok, nerr);
    CHECK_EQ(bad_results, 0);
    CHECK(nerr > 400);
    free(buf);
    lode_target_db_free(db);
}

int main(void)
{
    RUN_TEST(test_real_file);
    RUN_TEST(test_builtin);
    RUN_TEST(test_small_valid);
    RUN_TEST(test_malformed);
    RUN_TEST(test_real_file_quirks);
    RUN_TEST(test_limits);
    RUN_TEST(test_truncation);
    return TEST_DONE();
}
