/* SPDX-License-Identifier: MIT */
/* Shared by the image harnesses: check the invariants of a parsed image and that every error
 * comes with exactly one message. A violation aborts, which libFuzzer reports as a crash. */
#ifndef LODE_FUZZ_COMMON_H
#define LODE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/image.h"
#include "lode/log.h"

typedef struct fuzz_log_s {
    int nerr;
} fuzz_log_s;

static void fuzz_log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    fuzz_log_s *f = user;
    if (cat != LODE_LOGC_IMAGE || !msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        f->nerr++;
}

static void fuzz_check_result(int rc, lode_image_s *img, const fuzz_log_s *f)
{
    if (rc != LODE_OK) {
        if (rc > 0 || f->nerr != 1 || img != (lode_image_s *)&f->nerr)
            abort(); /* one message per error, out-parameter untouched */
        return;
    }
    if (!img || f->nerr != 0)
        abort();
    uint64_t total = 0;
    for (size_t i = 0; i < img->nsegs; i++) {
        const lode_segment_s *s = &img->segs[i];
        if (s->len == 0 || !s->data || (uint64_t)s->addr + s->len > 0x100000000ull)
            abort();
        if (i && (uint64_t)img->segs[i - 1].addr + img->segs[i - 1].len >= s->addr)
            abort(); /* sorted, disjoint, adjacent ones merged */
        if (lode_image_find_segment(img, s->addr) != s ||
            lode_image_find_segment(img, s->addr + s->len - 1) != s)
            abort();
        /* touch every byte so ASan checks the allocation */
        volatile uint8_t x = 0;
        for (uint32_t k = 0; k < s->len; k += 61)
            x ^= s->data[k];
        x ^= s->data[s->len - 1];
        (void)x;
        total += s->len;
    }
    if (total != lode_image_total_bytes(img) || total > LODE_IMAGE_MAX_BYTES)
        abort();
    for (size_t i = 0; i < img->nsyms; i++) {
        const lode_symbol_s *s = &img->syms[i];
        size_t n = s->name ? strlen(s->name) : 0;
        if (n == 0 || n > LODE_IMAGE_MAX_SYMBOL_NAME)
            abort();
        const lode_symbol_s *found = lode_image_find_symbol(img, s->name);
        if (!found || strcmp(found->name, s->name) != 0)
            abort();
    }
    lode_image_free(img);
}

#endif
