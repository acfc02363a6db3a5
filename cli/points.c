/* SPDX-License-Identifier: MIT */
#include "points.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "out.h"

void cli_sym(const lode_image_s *img, uint32_t addr, char *buf, size_t len)
{
    uint32_t off = 0;
    const lode_symbol_s *s = img ? lode_image_symbol_at(img, addr & ~1u, &off) : NULL;
    if (s && off)
        snprintf(buf, len, "0x%08x <%s+0x%x>", addr, s->name, off);
    else if (s)
        snprintf(buf, len, "0x%08x <%s>", addr, s->name);
    else
        snprintf(buf, len, "0x%08x", addr);
}

/* "SYMBOL" or "ADDR" -> address; "+LEN" and ":r|w|rw" for watches */
int cli_parse_point(const lode_image_s *img, char *spec, int watch, lode_run_point_s *p)
{
    memset(p, 0, sizeof *p);
    p->name = spec;
    p->kind = 2;
    p->len = 4;
    char *colon = watch ? strrchr(spec, ':') : NULL;
    if (colon) {
        *colon = 0;
        const char *k = colon + 1;
        p->kind = !strcmp(k, "r") ? 1 : !strcmp(k, "w") ? 2 : !strcmp(k, "rw") ? 3 : 0;
        if (!p->kind) {
            fprintf(stderr, "lode: --watch kind is r, w or rw, got '%s'\n", k);
            return -1;
        }
    }
    char *plus = watch ? strchr(spec, '+') : NULL;
    bool len_given = false;
    if (plus) {
        *plus = 0;
        uint32_t l = 0;
        if (!cli_parse_u32(plus + 1, &l) || (l != 1 && l != 2 && l != 4)) {
            fprintf(stderr, "lode: a watched length is 1, 2 or 4 bytes, got '%s'\n", plus + 1);
            return -1;
        }
        p->len = l;
        len_given = true;
    }
    uint32_t a = 0;
    if (cli_parse_u32(spec, &a)) {
        p->addr = a;
        return 0;
    }
    const lode_symbol_s *s = img ? lode_image_find_symbol(img, spec) : NULL;
    if (!s) {
        fprintf(stderr, "lode: no symbol '%s' in the image (and not a number): check the name "
                        "(`arm-none-eabi-nm FILE`) or give an address\n", spec);
        return -1;
    }
    p->addr = s->type == LODE_STT_FUNC ? (s->value & ~1u) : s->value;
    if (watch && !len_given && s->size >= 1 && s->size <= 4 && (s->size & (s->size - 1)) == 0)
        p->len = s->size;
    return 0;
}

