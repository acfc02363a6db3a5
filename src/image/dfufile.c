/* SPDX-License-Identifier: MIT */
/* DFU files: the DFU suffix (USB DFU 1.1 appendix B: bcdDevice, idProduct, idVendor, bcdDFU,
 * "UFD", bLength, dwCRC over everything before dwCRC) on a raw binary, and ST's DfuSe file
 * (UM0391: a "DfuSe" prefix, targets named by alternate setting, each with elements of address +
 * size + data, then the suffix with bcdDFU 0x011A), read and written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/imagei.h"
#include "lode/error.h"
#include "util/bytes.h"

#define PREFIX_LEN 11u
#define TARGET_LEN 274u
#define SUFFIX_LEN 16u

/* CRC-32 (reflected polynomial 0xEDB88320) started at 0xFFFFFFFF and not inverted at the end,
 * as the DFU 1.1 suffix has it. */
static uint32_t dfu_crc(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1u ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return c;
}

int lodei_dfu_suffix(const uint8_t *buf, size_t len, const char *name, const lode_log_s *log,
                     lodei_dfu_suffix_s *out)
{
    memset(out, 0, sizeof *out);
    if (len < SUFFIX_LEN || memcmp(buf + len - 8, "UFD", 3) != 0)
        return LODE_OK;
    size_t slen = buf[len - 5];
    uint32_t want = lodei_get_le32(buf + len - 4), got = dfu_crc(buf, len - 4);
    if (slen < SUFFIX_LEN || slen > len) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                 "%s: its DFU suffix has a length of %zu bytes (at least 16, at most the file): the file is damaged; "
                 "build it again",
                 name, slen);
        return LODE_E_FORMAT;
    }
    if (want != got) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                 "%s: its DFU suffix's CRC is 0x%08x but the file's is 0x%08x: the file is damaged; build it again "
                 "(or remove the suffix: dfu-suffix -D)",
                 name, (unsigned)want, (unsigned)got);
        return LODE_E_FORMAT;
    }
    out->present = true;
    out->length = slen;
    out->bcd_device = lodei_get_le16(buf + len - 16);
    out->pid = lodei_get_le16(buf + len - 14);
    out->vid = lodei_get_le16(buf + len - 12);
    out->bcd_dfu = lodei_get_le16(buf + len - 10);
    return LODE_OK;
}

bool lodei_image_is_dfuse(const uint8_t *buf, size_t len)
{
    return len >= 5 && memcmp(buf, "DfuSe", 5) == 0;
}

int lodei_image_parse_dfuse(const uint8_t *buf, size_t len, const char *name, const lode_log_s *log,
                            lode_image_s **out)
{
    const char *what = NULL;
    size_t at = 0;
    lodei_dfu_suffix_s sx;
    int rc = lodei_dfu_suffix(buf, len, name, log, &sx);
    if (rc != LODE_OK)
        return rc;
    lodei_imgbuild_s b;
    lodei_imgbuild_init(&b, true);
    lode_image_s *img = lodei_image_new();
    if (!img)
        return LODE_E_NOMEM;
    size_t body = len - (sx.present ? sx.length : 0);
    if (!sx.present)
        what = "it has no DFU suffix (UM0391 files end with one)";
    else if (sx.bcd_dfu != 0x011A)
        what = "its DFU suffix's bcdDFU is not 0x011A (DfuSe)";
    else if (body < PREFIX_LEN || buf[5] != 0x01)
        what = "its prefix is not \"DfuSe\" version 1";
    else if (lodei_get_le32(buf + 6) != body)
        what = "the image size in its prefix is not the file's size without the suffix";
    size_t off = PREFIX_LEN;
    unsigned ntargets = what ? 0 : buf[10];
    for (unsigned t = 0; t < ntargets && !what && rc == LODE_OK; t++) {
        at = off;
        if (body - off < TARGET_LEN || memcmp(buf + off, "Target", 6) != 0) {
            what = "a target prefix is missing or truncated";
            break;
        }
        uint32_t tsize = lodei_get_le32(buf + off + 266), nel = lodei_get_le32(buf + off + 270);
        off += TARGET_LEN;
        if (tsize > body - off) {
            what = "a target's size runs past the end of the file";
            break;
        }
        size_t tend = off + tsize;
        for (uint32_t e = 0; e < nel && !what && rc == LODE_OK; e++) {
            at = off;
            if (tend - off < 8) {
                what = "an element header runs past its target";
                break;
            }
            uint32_t addr = lodei_get_le32(buf + off), size = lodei_get_le32(buf + off + 4);
            off += 8;
            if (size > tend - off)
                what = "an element's data runs past its target";
            else if ((uint64_t)addr + size > 0x100000000ull)
                what = "an element runs past the end of the 32-bit address space";
            else if (size)
                rc = lodei_imgbuild_add(&b, addr, buf + off, size, (uint32_t)off);
            off += size;
        }
        if (!what && off != tend)
            what = "a target's size does not match its elements";
        off = tend;
    }
    if (!what && rc == LODE_OK && off != body)
        what = "bytes after the last target";
    lodei_piece_s a, z;
    if (!what && rc == LODE_OK) {
        rc = lodei_imgbuild_finish(&b, img, &a, &z);
        if (rc == LODE_E_FORMAT) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                     "%s: two DfuSe elements both write 0x%08x-0x%08x: fix the tool that produced it", name,
                     (unsigned)z.addr, (unsigned)(z.addr + z.len - 1));
            goto fail;
        }
    }
    if (what) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: not a valid DfuSe file (UM0391): %s (at byte %zu)", name,
                 what, at);
        rc = LODE_E_FORMAT;
        goto fail;
    }
    if (rc != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: out of memory (or more than the image limit)", name);
        goto fail;
    }
    lodei_imgbuild_free(&b);
    img->has_dfu_ids = true;
    img->dfu_vid = sx.vid;
    img->dfu_pid = sx.pid;
    *out = img;
    return LODE_OK;
fail:
    lodei_imgbuild_free(&b);
    lode_image_free(img);
    return rc;
}

int lode_image_write_dfuse(const lode_image_s *img, uint16_t vid, uint16_t pid, uint8_t **out, size_t *len)
{
    if (!img || !out || !len || !img->nsegs)
        return LODE_E_INVALID_ARG;
    uint64_t tsize = 0;
    for (size_t i = 0; i < img->nsegs; i++)
        tsize += 8u + img->segs[i].len;
    uint64_t total = PREFIX_LEN + TARGET_LEN + tsize + SUFFIX_LEN;
    if (total > 0xFFFFFFFFull)
        return LODE_E_RANGE;
    uint8_t *b = calloc(1, (size_t)total);
    if (!b)
        return LODE_E_NOMEM;
    size_t body = (size_t)total - SUFFIX_LEN;
    memcpy(b, "DfuSe", 5);
    b[5] = 0x01;
    lodei_put_le32(b + 6, (uint32_t)body);
    b[10] = 1; /* one target: alternate setting 0, the internal flash */
    uint8_t *t = b + PREFIX_LEN;
    memcpy(t, "Target", 6);
    t[6] = 0;
    lodei_put_le32(t + 7, 1);
    snprintf((char *)t + 11, 255, "%s", "Internal Flash");
    lodei_put_le32(t + 266, (uint32_t)tsize);
    lodei_put_le32(t + 270, (uint32_t)img->nsegs);
    uint8_t *p = t + TARGET_LEN;
    for (size_t i = 0; i < img->nsegs; i++) {
        lodei_put_le32(p, img->segs[i].addr);
        lodei_put_le32(p + 4, img->segs[i].len);
        memcpy(p + 8, img->segs[i].data, img->segs[i].len);
        p += 8 + img->segs[i].len;
    }
    lodei_put_le16(p, 0xFFFF); /* bcdDevice: any */
    lodei_put_le16(p + 2, pid);
    lodei_put_le16(p + 4, vid);
    lodei_put_le16(p + 6, 0x011A);
    memcpy(p + 8, "UFD", 3);
    p[11] = SUFFIX_LEN;
    lodei_put_le32(p + 12, dfu_crc(b, (size_t)total - 4));
    *out = b;
    *len = (size_t)total;
    return LODE_OK;
}
