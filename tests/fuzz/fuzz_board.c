/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for lode's own board/AVR-part YAML reader (lode_board_db_load_buffer) and
 * the probe spec a board makes. Invariants (a violation aborts): an error comes with exactly
 * one one-line error message and leaves the database as it was; a success gives boards and
 * parts with every required field, found again by name; a probe spec is NUL-terminated and
 * within its buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/board.h"
#include "lode/error.h"
#include "lode/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    int *nerr = user;
    (void)cat;
    if (!msg || !msg[0] || strchr(msg, '\n'))
        abort();
    if (level == LODE_LOG_ERROR)
        (*nerr)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int nerr = 0;
    lode_log_s log = {.fn = fuzz_log_fn, .user = &nerr, .max_level = LODE_LOG_DEBUG};
    lode_board_db_s *db = NULL;
    if (lode_board_db_new_empty(&log, &db) != LODE_OK)
        return 0;
    const char *seed = "boards:\n  - {name: seed, description: d, chip: c, probe: p, bootloader: p, baud: 9600}\n";
    if (lode_board_db_load_buffer(db, seed, strlen(seed), "seed.yaml") != LODE_OK)
        abort();
    char *copy = malloc(size ? size : 1); /* exact size: ASan sees reads past the end */
    if (!copy) {
        lode_board_db_free(db);
        return 0;
    }
    memcpy(copy, data, size);
    int rc = lode_board_db_load_buffer(db, copy, size, "fuzz.yaml");
    if (rc == LODE_OK) {
        if (nerr != 0)
            abort();
        for (size_t i = 0; i < lode_board_count(db); i++) {
            const lode_board_s *b = lode_board_at(db, i), *again = NULL;
            if (!b->name || !b->description || !b->chip || !b->probe || !b->source || b->nprobes < 1 ||
                (unsigned)b->reset >= LODE_BOARD_RESET_COUNT_)
                abort();
            if (lode_board_find(db, b->name, &again) != LODE_OK || again != b)
                abort();
        }
        for (size_t i = 0; i < lode_avr_part_count(db); i++) {
            const lode_avr_part_s *p = lode_avr_part_at(db, i);
            if (!p->name || lode_avr_part_find(db, p->name) != p || !p->page_size || p->flash_size % p->page_size)
                abort();
        }
    } else {
        if (rc != LODE_E_FORMAT && rc != LODE_E_NOMEM)
            abort();
        if (rc == LODE_E_FORMAT && nerr != 1)
            abort();
        if (lode_board_count(db) != 1 || lode_avr_part_count(db) != 0)
            abort();
    }
    /* the input's first line as what a user gives --probe, for every board */
    char given[64];
    size_t n = 0;
    while (n < size && n < sizeof given - 1 && data[n] != '\n' && data[n])
        n++;
    memcpy(given, data, n);
    given[n] = 0;
    for (size_t i = 0; i < lode_board_count(db); i++) {
        char out[96];
        memset(out, 0x5A, sizeof out);
        if (lode_board_probe_spec(lode_board_at(db, i), given, out, sizeof out) == LODE_OK &&
            !memchr(out, 0, sizeof out))
            abort();
    }
    free(copy);
    lode_board_db_free(db);
    return 0;
}
