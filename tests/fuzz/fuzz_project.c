/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the lode.yaml reader (lode_project_parse). Invariants (a violation
 * aborts): an error comes with exactly one one-line error message and leaves the output
 * untouched; a success gives NUL-terminated values and no error message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/log.h"
#include "lode/project.h"

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
    lode_project_s p;
    memset(&p, 0xA5, sizeof p);
    char *copy = malloc(size ? size : 1); /* exact size: ASan sees reads past the end */
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    int rc = lode_project_parse(copy, size, "fuzz.yaml", "/proj", &log, &p);
    free(copy);
    if (rc == LODE_OK) {
        if (nerr != 0 || !memchr(p.probe, 0, sizeof p.probe) || !memchr(p.chip, 0, sizeof p.chip) ||
            !memchr(p.chip_description, 0, sizeof p.chip_description))
            abort();
    } else {
        if (rc != LODE_E_FORMAT && rc != LODE_E_NOMEM)
            abort();
        if (rc == LODE_E_FORMAT && nerr != 1)
            abort();
        const uint8_t *b = (const uint8_t *)&p;
        for (size_t i = 0; i < sizeof p; i++)
            if (b[i] != 0xA5)
                abort(); /* written on failure */
    }
    return 0;
}
