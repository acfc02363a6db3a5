/* SPDX-License-Identifier: MIT */
/* Images: lookups, raw binaries, format detection and file loading (the parsers are elf.c and
 * ihex.c; the container and the builder they share are imgbuild.c). */
#include "image/imagei.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"

const lode_symbol_s *lode_image_find_symbol(const lode_image_s *img, const char *name)
{
    if (!img || !name)
        return NULL;
    const lode_symbol_s *local = NULL;
    for (size_t i = 0; i < img->nsyms; i++) {
        const lode_symbol_s *s = &img->syms[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (s->bind != LODE_STB_LOCAL)
            return s;
        if (!local)
            local = s;
    }
    return local;
}

const lode_segment_s *lode_image_find_segment(const lode_image_s *img, uint32_t addr)
{
    if (!img)
        return NULL;
    size_t lo = 0, hi = img->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const lode_segment_s *s = &img->segs[mid];
        if (addr < s->addr)
            hi = mid;
        else if ((uint64_t)addr >= (uint64_t)s->addr + s->len)
            lo = mid + 1;
        else
            return s;
    }
    return NULL;
}

size_t lode_image_total_bytes(const lode_image_s *img)
{
    size_t total = 0;
    if (!img)
        return 0;
    for (size_t i = 0; i < img->nsegs; i++)
        total += img->segs[i].len;
    return total;
}

const char *lode_image_format_name(lode_image_format_e fmt)
{
    switch (fmt) {
    case LODE_IMAGE_AUTO: return "auto";
    case LODE_IMAGE_ELF: return "elf";
    case LODE_IMAGE_IHEX: return "ihex";
    case LODE_IMAGE_BIN: return "bin";
    case LODE_IMAGE_UF2: return "uf2";
    case LODE_IMAGE_DFUSE: return "dfuse";
    default: return "?";
    }
}

lode_image_format_e lode_image_detect_format(const uint8_t *buf, size_t len)
{
    if (!buf)
        return LODE_IMAGE_BIN;
    if (len >= 4 && buf[0] == 0x7f && buf[1] == 'E' && buf[2] == 'L' && buf[3] == 'F')
        return LODE_IMAGE_ELF;
    if (lodei_image_is_uf2(buf, len))
        return LODE_IMAGE_UF2;
    if (lodei_image_is_dfuse(buf, len))
        return LODE_IMAGE_DFUSE;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
            continue;
        return c == ':' ? LODE_IMAGE_IHEX : LODE_IMAGE_BIN;
    }
    return LODE_IMAGE_BIN;
}

/* ---- raw binary ------------------------------------------------------------------------ */

static int bin_parse(const uint8_t *buf, size_t len, uint32_t base, const char *name,
                     const lode_log_s *log, lode_image_s **out)
{
    if (!out || (!buf && len)) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: no buffer or output given", name);
        return LODE_E_INVALID_ARG;
    }
    if (len > LODE_IMAGE_MAX_BYTES) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                 "%s: %zu bytes is more than the %u MiB image limit: split the image", name, len,
                 LODE_IMAGE_MAX_BYTES >> 20);
        return LODE_E_NOMEM;
    }
    if ((uint64_t)base + len > 0x100000000ull) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                 "%s: %zu bytes at base 0x%08x run past the end of the 32-bit address space: "
                 "check the base address",
                 name, len, (unsigned)base);
        return LODE_E_RANGE;
    }
    lode_image_s *img = lodei_image_new();
    if (!img)
        goto nomem;
    if (len) {
        img->segs = calloc(1, sizeof *img->segs);
        if (!img->segs)
            goto nomem;
        img->segs[0].data = malloc(len);
        if (!img->segs[0].data)
            goto nomem;
        memcpy(img->segs[0].data, buf, len);
        img->segs[0].addr = base;
        img->segs[0].len = (uint32_t)len;
        img->nsegs = 1;
    }
    *out = img;
    return LODE_OK;
nomem:
    if (img)
        free(img->segs);
    free(img);
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: out of memory", name);
    return LODE_E_NOMEM;
}

int lode_image_from_bin(const uint8_t *buf, size_t len, uint32_t base, lode_image_s **out)
{
    return bin_parse(buf, len, base, "binary image", NULL, out);
}

/* ---- any format ------------------------------------------------------------------------ */

int lode_image_parse(const uint8_t *buf, size_t len, lode_image_format_e fmt, const char *name,
                     uint32_t base, bool base_given, const lode_log_s *log, lode_image_s **out)
{
    if (!name)
        name = "image";
    if (fmt == LODE_IMAGE_AUTO)
        fmt = lode_image_detect_format(buf, len);
    switch (fmt) {
    case LODE_IMAGE_ELF:
        return lodei_image_parse_elf(buf, len, name, log, out);
    case LODE_IMAGE_IHEX:
        return lodei_image_parse_ihex((const char *)buf, len, name, log, out);
    case LODE_IMAGE_UF2:
        return lodei_image_parse_uf2(buf, len, name, log, out);
    case LODE_IMAGE_DFUSE:
        return lodei_image_parse_dfuse(buf, len, name, log, out);
    case LODE_IMAGE_BIN: {
        lodei_dfu_suffix_s sx;
        int src = lodei_dfu_suffix(buf, len, name, log, &sx);
        if (src != LODE_OK)
            return src;
        if (sx.present && sx.bcd_dfu == 0x011A && lodei_image_is_dfuse(buf, len))
            return lodei_image_parse_dfuse(buf, len, name, log, out);
        if (!base_given) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                     "%s: not an ELF or Intel HEX file, and a raw binary needs a base address: "
                     "give the address to load it at (e.g. 0x08000000)",
                     name);
            return LODE_E_INVALID_ARG;
        }
        int rc = bin_parse(buf, len - (sx.present ? sx.length : 0), base, name, log, out);
        if (rc == LODE_OK && sx.present) {
            lode_log(log, LODE_LOG_INFO, LODE_LOGC_IMAGE, "%s: DFU suffix for %04x:%04x checked and left out", name,
                     sx.vid, sx.pid);
            (*out)->has_dfu_ids = true;
            (*out)->dfu_vid = sx.vid;
            (*out)->dfu_pid = sx.pid;
        }
        return rc;
    }
    default:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: unknown image format %d", name,
                 (int)fmt);
        return LODE_E_INVALID_ARG;
    }
}

/* ---- files ----------------------------------------------------------------------------- */

static const char *errno_text(int e)
{
    /* strerror() is not thread-safe; the usual cases are spelled out here. */
    switch (e) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case EPERM: return "operation not permitted";
    case EISDIR: return "is a directory";
    case ENOTDIR: return "a path component is not a directory";
    case ENAMETOOLONG: return "file name too long";
    case ELOOP: return "too many symbolic links";
    case EMFILE:
    case ENFILE: return "too many open files";
    case ENOMEM: return "out of memory";
    case EIO: return "input/output error";
    default: return "I/O error";
    }
}

static int errno_to_err(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR: return LODE_E_NO_DEVICE;
    case EACCES:
    case EPERM: return LODE_E_ACCESS;
    case ENOMEM: return LODE_E_NOMEM;
    default: return LODE_E_IO;
    }
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcasecmp(s + n - t, tail);
}

/* A file's format: what its contents say, except that a text starting with ':' is Intel HEX
 * only when nothing says it is raw: a .bin file is raw whatever its first byte, and so is a
 * file given a base address unless it is named .hex/.ihx/.ihex (random or real firmware bytes
 * start with ':' one time in 256). */
static lode_image_format_e file_format(const char *path, const uint8_t *buf, size_t len, bool base_given)
{
    if (ends_with(path, ".bin"))
        return LODE_IMAGE_BIN;
    lode_image_format_e f = lode_image_detect_format(buf, len);
    if (f == LODE_IMAGE_IHEX && base_given && !ends_with(path, ".hex") && !ends_with(path, ".ihx") &&
        !ends_with(path, ".ihex"))
        return LODE_IMAGE_BIN;
    return f;
}

int lode_image_load_file(const char *path, lode_image_format_e fmt, uint32_t base,
                         bool base_given, const lode_log_s *log, lode_image_s **out)
{
    int err = LODE_OK;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f = NULL;

    if (!path || !out) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "image: no file name or output given");
        return LODE_E_INVALID_ARG;
    }
    errno = 0;
    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: cannot open: %s: check the path",
                 path, errno_text(e));
        return errno_to_err(e);
    }
    /* Read in growing chunks (works for pipes too), refusing anything over the limit. */
    for (;;) {
        if (len == cap) {
            if (cap > LODE_IMAGE_MAX_FILE) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                         "%s: file is larger than %u MiB: this is not a microcontroller image",
                         path, LODE_IMAGE_MAX_FILE >> 20);
                err = LODE_E_NOMEM;
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > (size_t)LODE_IMAGE_MAX_FILE + 1)
                ncap = (size_t)LODE_IMAGE_MAX_FILE + 1;
            uint8_t *p = realloc(buf, ncap);
            if (!p) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: out of memory", path);
                err = LODE_E_NOMEM;
                goto out;
            }
            buf = p;
            cap = ncap;
        }
        errno = 0;
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                int e = errno;
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: cannot read: %s", path,
                         errno_text(e));
                err = errno_to_err(e);
                goto out;
            }
            break;
        }
        if (len > LODE_IMAGE_MAX_FILE) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                     "%s: file is larger than %u MiB: this is not a microcontroller image", path,
                     LODE_IMAGE_MAX_FILE >> 20);
            err = LODE_E_NOMEM;
            goto out;
        }
    }
    if (len == 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_IMAGE,
                 "%s: file is empty: rebuild the firmware or check the path", path);
        err = LODE_E_FORMAT;
        goto out;
    }
    if (fmt == LODE_IMAGE_AUTO)
        fmt = file_format(path, buf, len, base_given);
    err = lode_image_parse(buf, len, fmt, path, base, base_given, log, out);
out:
    if (f)
        fclose(f);
    free(buf);
    return err;
}

const lode_symbol_s *lode_image_symbol_at(const lode_image_s *img, uint32_t addr, uint32_t *off)
{
    const lode_symbol_s *best = NULL;
    uint32_t best_start = 0;
    if (!img)
        return NULL;
    for (size_t i = 0; i < img->nsyms; i++) {
        const lode_symbol_s *s = &img->syms[i];
        if (s->type != LODE_STT_FUNC && s->type != LODE_STT_OBJECT)
            continue;
        uint32_t start = s->type == LODE_STT_FUNC ? (s->value & ~1u) : s->value;
        if (start > addr)
            continue;
        bool inside = s->size && addr - start < s->size;
        bool near = !s->size && addr - start < 4096;
        if ((s->size && !inside) || (!s->size && !near))
            continue;
        if (!best || start > best_start || (start == best_start && inside)) {
            best = s;
            best_start = start;
        }
        if (inside)
            break;
    }
    if (best && off)
        *off = addr - best_start;
    return best;
}
