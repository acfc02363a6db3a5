/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the DfuSe memory-layout string parser (an interface string from a USB
 * device): any bytes; an error comes with exactly one message, a parsed layout has sorted,
 * non-empty segments inside 32 bits whose sizes divide them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/dfu.h"
#include "lode/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    if (!msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        ++*(int *)user;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = 0;
    int nerr = 0;
    lode_log_s log = {.fn = count_fn, .user = &nerr, .max_level = LODE_LOG_DEBUG};
    lodei_dfuse_layout_s L;
    memset(&L, 0xA5, sizeof L);
    int rc = lodei_dfuse_parse_layout(s, &log, &L);
    if (rc != LODE_OK) {
        if (rc != LODE_E_FORMAT || nerr != 1)
            abort();
        return 0;
    }
    if (nerr || L.nsegs > LODEI_DFUSE_MAX_SEGS || !memchr(L.name, 0, sizeof L.name))
        abort();
    for (size_t i = 0; i < L.nsegs; i++) {
        const lodei_dfuse_seg_s *g = &L.seg[i];
        if (g->end <= g->start || !g->sector_size || (g->end - g->start) % g->sector_size || !g->flags ||
            g->flags > 7)
            abort();
    }
    return 0;
}
