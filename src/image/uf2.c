/* SPDX-License-Identifier: MIT */
/* UF2 files (github.com/microsoft/uf2, README "File format"): 512-byte blocks, each with two
 * start magics, flags, target address, payload size (at most 476), block number, block count,
 * file size or family ID, the payload, and an end magic. Blocks flagged "not main flash" are
 * skipped; the others become image data at their target addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/imagei.h"
#include "lode/error.h"
#include "util/bytes.h"

#define UF2_MAGIC0 0x0A324655u
#define UF2_MAGIC1 0x9E5D5157u
#define UF2_MAGIC_END 0x0AB16F30u
#define UF2_NOT_MAIN_FLASH 0x00000001u
#define UF2_FAMILY_PRESENT 0x00002000u

bool lodei_image_is_uf2(const uint8_t *buf, size_t len)
{
    return len >= 8 && lodei_get_le32(buf) == UF2_MAGIC0 && lodei_get_le32(buf + 4) == UF2_MAGIC1;
}

int lodei_image_parse_uf2(const uint8_t *buf, size_t len, const char *name, const lode_log_s *log,
                          lode_image_s **out)
{
    const char *what = NULL;
    size_t bad = 0;
    uint32_t family = 0;
    bool have_family = false;
    lodei_imgbuild_s b;
    lodei_imgbuild_init(&b, true);
    lode_image_s *img = lodei_image_new();
    int rc = img ? LODE_OK : LODE_E_NOMEM;
    if (rc == LODE_OK && (len == 0 || len % 512)) {
        what = "its length is not a whole number of 512-byte blocks";
        bad = len / 512;
    }
    for (size_t k = 0; rc == LODE_OK && !what && k < len / 512; k++) {
        const uint8_t *p = buf + 512 * k;
        uint32_t flags = lodei_get_le32(p + 8), addr = lodei_get_le32(p + 12), size = lodei_get_le32(p + 16);
        uint32_t no = lodei_get_le32(p + 20), count = lodei_get_le32(p + 24), fam = lodei_get_le32(p + 28);
        bad = k;
        if (lodei_get_le32(p) != UF2_MAGIC0 || lodei_get_le32(p + 4) != UF2_MAGIC1 ||
            lodei_get_le32(p + 508) != UF2_MAGIC_END)
            what = "a block without the UF2 magic numbers";
        else if (size > 476)
            what = "a payload larger than 476 bytes";
        else if (no >= count)
            what = "a block number not below the block count";
        else if ((uint64_t)addr + size > 0x100000000ull)
            what = "a payload past the end of the 32-bit address space";
        else if ((flags & UF2_FAMILY_PRESENT) && have_family && fam != family)
            what = "blocks of two different families";
        if (what || (flags & UF2_NOT_MAIN_FLASH))
            continue;
        if (flags & UF2_FAMILY_PRESENT)
            family = fam, have_family = true;
        if (size)
            rc = lodei_imgbuild_add(&b, addr, p + 32, size, (uint32_t)k);
    }
    lodei_piece_s a, z;
    if (rc == LODE_OK && !what) {
        rc = lodei_imgbuild_finish(&b, img, &a, &z);
        if (rc == LODE_E_FORMAT) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                     "%s: UF2 blocks %u and %u both write 0x%08x-0x%08x: fix the tool that produced it", name,
                     (unsigned)a.tag, (unsigned)z.tag, (unsigned)z.addr, (unsigned)(z.addr + z.len - 1));
            goto fail;
        }
    }
    if (what) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: not a valid UF2 file: %s (block %zu at byte %zu)", name,
                 what, bad, bad * 512);
        rc = LODE_E_FORMAT;
        goto fail;
    }
    if (rc != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: out of memory (or more than the image limit)", name);
        goto fail;
    }
    lodei_imgbuild_free(&b);
    img->has_uf2_family = have_family;
    img->uf2_family = family;
    *out = img;
    return LODE_OK;
fail:
    lodei_imgbuild_free(&b);
    lode_image_free(img);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------------ */

/* Family IDs from microsoft/uf2's uf2families.json (the ones of chips lode users meet most). */
static const struct {
    const char *name;
    uint32_t id;
} families[] = {
    {"RP2040", 0xe48bff56u},   {"SAMD21", 0x68ed2b88u},  {"SAMD51", 0x55114460u}, {"NRF52840", 0xada52840u},
    {"NRF52", 0x1b57745fu},    {"STM32F0", 0x647824b6u}, {"STM32F1", 0x5ee21072u}, {"STM32F4", 0x57755a57u},
    {"STM32F7", 0x53b80f00u},  {"STM32G0", 0x300f5633u}, {"STM32H7", 0x6db66082u}, {"STM32L4", 0x00ff6919u},
    {"ESP32S2", 0xbfdd4eeeu},
};

int lode_uf2_family(const char *name, uint32_t *id)
{
    if (!name || !id || !*name)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const char *a = families[i].name, *b = name;
        while (*a && (*a == *b || *a == (*b & ~0x20)))
            a++, b++;
        if (!*a && !*b) {
            *id = families[i].id;
            return LODE_OK;
        }
    }
    char *end = NULL;
    unsigned long long v = (name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) ? strtoull(name, &end, 16) : 0;
    if (!end || *end || end == name + 2 || v > 0xFFFFFFFFull)
        return LODE_E_NO_DEVICE;
    *id = (uint32_t)v;
    return LODE_OK;
}

const char *lode_uf2_family_name(uint32_t id)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].id == id)
            return families[i].name;
    return NULL;
}

/* the family whose name starts `chip` (case-insensitive), the longest such name; -1: none */
static int family_of_chip(const char *chip)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; chip && i < sizeof families / sizeof families[0]; i++) {
        size_t n = strlen(families[i].name), k = 0;
        while (k < n && chip[k] && (chip[k] & ~0x20) == (families[i].name[k] & ~0x20))
            k++;
        if (k == n && n > best_len)
            best = (int)i, best_len = n;
    }
    return best;
}

int lode_uf2_family_for(const char *chip, uint32_t *id)
{
    int c = family_of_chip(chip);
    if (c < 0)
        return LODE_E_NO_DEVICE;
    *id = families[c].id;
    return LODE_OK;
}

int lode_uf2_family_fits(uint32_t family, const char *chip)
{
    int c = family_of_chip(chip);
    if (c < 0 || families[c].id == family)
        return LODE_OK;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) /* NRF52 fits an nRF52840 too */
        if (families[i].id == family)
            return strncmp(families[c].name, families[i].name, strlen(families[i].name)) == 0 ? LODE_OK
                                                                                            : LODE_E_FORMAT;
    return LODE_OK; /* a family lode does not know */
}

int lode_image_write_uf2(const lode_image_s *img, uint32_t family, uint8_t **out, size_t *len)
{
    if (!img || !out || !len)
        return LODE_E_INVALID_ARG;
    /* 256-byte payloads at 256-byte aligned addresses, as UF2 bootloaders expect; bytes of a
     * payload that no segment covers are 0xFF (erased flash) */
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint8_t *buf = NULL;
        if (pass) {
            if (!count || !(buf = malloc(count * 512)))
                return count ? LODE_E_NOMEM : LODE_E_INVALID_ARG;
        }
        size_t n = 0;
        uint64_t last = UINT64_MAX;
        for (size_t s = 0; s < img->nsegs; s++) {
            const lode_segment_s *sg = &img->segs[s];
            for (uint64_t a = sg->addr & ~0xFFull; a < (uint64_t)sg->addr + sg->len; a += 256) {
                if (a == last) /* the block began with the segment before */
                    continue;
                last = a;
                if (pass) {
                    uint8_t *p = buf + 512 * n;
                    memset(p, 0, 512);
                    lodei_put_le32(p, UF2_MAGIC0);
                    lodei_put_le32(p + 4, UF2_MAGIC1);
                    lodei_put_le32(p + 8, UF2_FAMILY_PRESENT);
                    lodei_put_le32(p + 12, (uint32_t)a);
                    lodei_put_le32(p + 16, 256);
                    lodei_put_le32(p + 20, (uint32_t)n);
                    lodei_put_le32(p + 24, (uint32_t)count);
                    lodei_put_le32(p + 28, family);
                    memset(p + 32, 0xFF, 256);
                    for (size_t t = s; t < img->nsegs && img->segs[t].addr < a + 256; t++) {
                        const lode_segment_s *g = &img->segs[t];
                        uint64_t lo = g->addr > a ? g->addr : a, hi = (uint64_t)g->addr + g->len;
                        if (hi > a + 256)
                            hi = a + 256;
                        if (lo < hi)
                            memcpy(p + 32 + (lo - a), g->data + (lo - g->addr), (size_t)(hi - lo));
                    }
                    lodei_put_le32(p + 508, UF2_MAGIC_END);
                }
                n++;
            }
        }
        if (pass) {
            *out = buf;
            *len = n * 512;
        }
        count = n;
    }
    return LODE_OK;
}
