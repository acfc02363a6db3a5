/* SPDX-License-Identifier: MIT */
/* The image container and the segment builder the parsers (elf.c, ihex.c, image.c's raw
 * binaries) share: a file of its own so that the parsers depend on it and image.c depends on
 * the parsers, with no circle. */
#include "image/imagei.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"

/* ---- segment builder ------------------------------------------------------------------- */

void lodei_imgbuild_init(lodei_imgbuild_s *b, bool coalesce)
{
    memset(b, 0, sizeof *b);
    b->coalesce = coalesce;
}

void lodei_imgbuild_free(lodei_imgbuild_s *b)
{
    if (!b)
        return;
    free(b->arena);
    free(b->pieces);
    memset(b, 0, sizeof *b);
}

int lodei_imgbuild_reserve(lodei_imgbuild_s *b, uint64_t bytes)
{
    uint64_t need = (uint64_t)b->arena_len + bytes;
    if (need > LODE_IMAGE_MAX_BYTES)
        return LODE_E_NOMEM;
    if (need <= b->arena_cap)
        return LODE_OK;
    uint64_t cap = b->arena_cap ? b->arena_cap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap > LODE_IMAGE_MAX_BYTES)
        cap = LODE_IMAGE_MAX_BYTES;
    uint8_t *p = realloc(b->arena, (size_t)cap);
    if (!p)
        return LODE_E_NOMEM;
    b->arena = p;
    b->arena_cap = (size_t)cap;
    return LODE_OK;
}

int lodei_imgbuild_add(lodei_imgbuild_s *b, uint32_t addr, const uint8_t *data, uint32_t len,
                       uint32_t tag)
{
    if (len == 0)
        return LODE_OK;
    int err = lodei_imgbuild_reserve(b, len);
    if (err)
        return err;
    lodei_piece_s *last = b->npieces ? &b->pieces[b->npieces - 1] : NULL;
    if (last && b->coalesce && (uint64_t)last->addr + last->len == addr &&
        (uint64_t)last->off + last->len == b->arena_len) {
        last->len += len; /* cannot overflow: the arena is capped far below 4 GiB */
    } else {
        if (b->npieces >= LODE_IMAGE_MAX_PIECES)
            return LODE_E_NOMEM;
        if (b->npieces == b->pieces_cap) {
            size_t cap = b->pieces_cap ? b->pieces_cap * 2 : 16;
            if (cap > LODE_IMAGE_MAX_PIECES)
                cap = LODE_IMAGE_MAX_PIECES;
            lodei_piece_s *p = realloc(b->pieces, cap * sizeof *p);
            if (!p)
                return LODE_E_NOMEM;
            b->pieces = p;
            b->pieces_cap = cap;
        }
        lodei_piece_s *n = &b->pieces[b->npieces++];
        n->addr = addr;
        n->len = len;
        n->off = (uint32_t)b->arena_len;
        n->tag = tag;
    }
    memcpy(b->arena + b->arena_len, data, len);
    b->arena_len += len;
    return LODE_OK;
}

static int piece_cmp(const void *a, const void *b)
{
    const lodei_piece_s *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->off != y->off) /* file order among equal addresses: deterministic messages */
        return x->off < y->off ? -1 : 1;
    return 0;
}

int lodei_imgbuild_finish(lodei_imgbuild_s *b, lode_image_s *img, lodei_piece_s *first,
                          lodei_piece_s *second)
{
    size_t n = b->npieces;
    if (n == 0)
        return LODE_OK;
    qsort(b->pieces, n, sizeof b->pieces[0], piece_cmp);

    /* Sorted and, so far, disjoint: the previous piece has the highest end, so comparing
     * neighbours finds the first overlap. */
    size_t nsegs = 1;
    for (size_t i = 1; i < n; i++) {
        const lodei_piece_s *p = &b->pieces[i - 1], *c = &b->pieces[i];
        uint64_t pend = (uint64_t)p->addr + p->len;
        if (pend > c->addr) {
            *first = *p;
            *second = *c;
            return LODE_E_FORMAT;
        }
        if (pend != c->addr)
            nsegs++;
    }

    lode_segment_s *segs = calloc(nsegs, sizeof *segs);
    if (!segs)
        return LODE_E_NOMEM;
    size_t s = 0, i = 0;
    while (i < n) {
        size_t j = i + 1;
        uint64_t total = b->pieces[i].len;
        while (j < n && (uint64_t)b->pieces[j - 1].addr + b->pieces[j - 1].len == b->pieces[j].addr)
            total += b->pieces[j++].len;
        uint8_t *data = malloc((size_t)total);
        if (!data) {
            for (size_t k = 0; k < s; k++)
                free(segs[k].data);
            free(segs);
            return LODE_E_NOMEM;
        }
        size_t pos = 0;
        for (size_t k = i; k < j; k++) {
            memcpy(data + pos, b->arena + b->pieces[k].off, b->pieces[k].len);
            pos += b->pieces[k].len;
        }
        segs[s].addr = b->pieces[i].addr;
        segs[s].len = (uint32_t)total;
        segs[s].data = data;
        s++;
        i = j;
    }
    img->segs = segs;
    img->nsegs = nsegs;
    return LODE_OK;
}

/* ---- the image ------------------------------------------------------------------------- */

lode_image_s *lodei_image_new(void)
{
    return calloc(1, sizeof(lode_image_s));
}

void lode_image_free(lode_image_s *img)
{
    if (!img)
        return;
    for (size_t i = 0; i < img->nsegs; i++)
        free(img->segs[i].data);
    free(img->segs);
    for (size_t i = 0; i < img->nsyms; i++)
        free(img->syms[i].name);
    free(img->syms);
    free(img);
}

