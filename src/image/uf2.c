/* SPDX-License-Identifier: MIT */
/* UF2 files (github.com/microsoft/uf2, README "File format"): 512-byte blocks, each with two
 * start magics, flags, target address, payload size (at most 476), block number, block count,
 * file size or family ID, the payload, and an end magic. Blocks flagged "not main flash" are
 * skipped; the others become image data at their target addresses. */
#include <stdio.h>
#include <stdlib.h>

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
    *out = img;
    return LODE_OK;
fail:
    lodei_imgbuild_free(&b);
    lode_image_free(img);
    return rc;
}
