/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the chip database's probe-rs YAML reader. Invariants checked (a
 * violation aborts): an error comes with exactly one error message and leaves the database
 * unchanged; a loaded family is self-consistent (every chip is found by its name, every
 * algorithm's entry points lie in its blob, sector lookups stay inside the range). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/log.h"
#include "lode/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_log_s {
    int nerr;
} fuzz_log_s;

static void fuzz_log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    fuzz_log_s *f = user;
    (void)cat;
    if (!msg || !msg[0] || strchr(msg, '\n'))
        abort();
    if (level == LODE_LOG_ERROR)
        f->nerr++;
}

static void touch(const void *p, size_t n)
{
    volatile uint8_t x = 0;
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        x ^= b[i];
    (void)x;
}

static void check_algo(const lode_target_flash_algo_s *a)
{
    if (!a->name || !a->description || a->instructions_len == 0 || !a->instructions ||
        a->data_section_offset > a->instructions_len + LODE_TARGET_MAX_ALGO_BYTES || a->flash_start >= a->flash_end ||
        a->page_size == 0 || a->nsectors == 0)
        abort();
    touch(a->instructions, a->instructions_len);
    const uint32_t pcs[] = {a->pc_init, a->pc_uninit, a->pc_program_page, a->pc_erase_sector,
                            a->pc_erase_all};
    for (size_t i = 0; i < 5; i++)
        if (pcs[i] != LODE_TARGET_PC_NONE && (pcs[i] & ~1u) >= a->instructions_len)
            abort();
    const uint64_t probes[] = {a->flash_start, a->flash_end - 1,
                               a->flash_start + (a->flash_end - a->flash_start) / 2,
                               a->flash_start + a->sectors[a->nsectors - 1].address};
    for (size_t i = 0; i < 4; i++) {
        uint64_t s = 0, z = 0;
        int rc = lode_target_sector_at(a, probes[i], &s, &z);
        if (rc == LODE_OK) {
            if (z == 0 || probes[i] < s || probes[i] - s >= z || s < a->flash_start ||
                s + z > a->flash_end || s + z < s)
                abort();
        } else if (rc != LODE_E_RANGE) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_log_s f = {0};
    lode_log_s log = {.fn = fuzz_log_fn, .user = &f, .max_level = LODE_LOG_DEBUG};
    lode_target_db_s *db = NULL;
    if (lode_target_db_new(&log, &db) != LODE_OK)
        abort();
    size_t nfam = lode_target_family_count(db), nchips = lode_target_chips_count(db);
    int rc = lode_target_db_load_buffer(db, (const char *)data, size, "fuzz.yaml");
    if (rc != LODE_OK) {
        if (rc > 0 || f.nerr != 1 || lode_target_family_count(db) != nfam ||
            lode_target_chips_count(db) != nchips)
            abort();
        lode_target_db_free(db);
        return 0;
    }
    if (f.nerr != 0 || lode_target_family_count(db) != nfam + 1)
        abort();
    const lode_target_family_s *fam = lode_target_family_at(db, nfam);
    if (!fam || !fam->name || fam->nvariants == 0 ||
        lode_target_chips_count(db) != nchips + fam->nvariants)
        abort();
    for (size_t i = 0; i < fam->nalgos; i++)
        check_algo(&fam->algos[i]);
    for (size_t i = 0; i < fam->nvariants; i++) {
        const lode_target_chip_s *c = lode_target_chips_at(db, i), *found = NULL;
        if (!c || c->family != fam || c->variant != &fam->variants[i] || c->variant->ncores == 0)
            abort();
        if (lode_target_find_chip(db, c->name, &found) != LODE_OK ||
            strcasecmp(found->name, c->name) != 0)
            abort();
        for (size_t k = 0; k < c->nmemory; k++) {
            const lode_target_mem_s *m = &c->memory[k];
            if (m->start >= m->end || !m->name)
                abort();
            const lode_target_flash_algo_s *a = lode_target_flash_algo_for(c, m->start);
            if (a && (m->start < a->flash_start || m->start >= a->flash_end))
                abort();
            const lode_target_flash_algo_s *g = NULL;
            f.nerr = 0;
            rc = lode_target_flash_algo_get(c, m->end - 1, &g);
            if ((rc == LODE_OK) != (f.nerr == 0))
                abort();
        }
        if (c->nalgos + c->nmissing_algos > c->variant->nflash_algorithm_names)
            abort();
        for (size_t k = 0; k < c->nalgos; k++)
            check_algo(c->algos[k]);
    }
    lode_target_db_free(db);
    return 0;
}
