/* SPDX-License-Identifier: MIT */
/* Intel HEX reader, written from Intel's "Hexadecimal Object File Format Specification"
 * (rev. A, 1988): record types 00 data, 01 end of file, 02 extended segment address,
 * 03 start segment address, 04 extended linear address, 05 start linear address. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/imagei.h"
#include "lode/error.h"
#include "util/bytes.h"
#include "util/hex.h"

#define REC_DATA 0x00
#define REC_EOF 0x01
#define REC_EXT_SEG 0x02
#define REC_START_SEG 0x03
#define REC_EXT_LIN 0x04
#define REC_START_LIN 0x05

/* byte count, 2 address bytes, type, up to 255 data bytes, checksum */
#define REC_MAX_BYTES (1 + 2 + 1 + 255 + 1)

#define ADVICE_CORRUPT "the file is corrupt: rebuild or re-download it"

typedef struct ihex_ctx_s {
    const char *name;
    const lode_log_s *log;
    size_t line; /* 1-based; 0 before the first line */
} ihex_ctx_s;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(const ihex_ctx_s *c, int err, const char *fmt, ...)
{
    if (!c->log || !c->log->fn)
        return err;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->line)
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s line %zu: %s", c->name, c->line,
                 msg);
    else
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: %s", c->name, msg);
    return err;
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case REC_DATA: return "data";
    case REC_EOF: return "end-of-file";
    case REC_EXT_SEG: return "extended segment address";
    case REC_START_SEG: return "start segment address";
    case REC_EXT_LIN: return "extended linear address";
    case REC_START_LIN: return "start linear address";
    default: return "unknown";
    }
}

/* Decodes one record (the line without surrounding blanks; s[0] is ':') into rec[].
 * `col0` is the 1-based column of s[0] in the line, for messages. On success *nbytes is the
 * number of bytes decoded (byte count + 5), checksum verified. */
static int decode_record(const ihex_ctx_s *c, const char *s, size_t n, size_t col0,
                         uint8_t rec[REC_MAX_BYTES], size_t *nbytes)
{
    size_t digits = n - 1;
    for (size_t i = 1; i < n; i++) {
        if (lodei_hexval(s[i]) < 0) {
            unsigned char ch = (unsigned char)s[i];
            if (ch >= 0x21 && ch < 0x7f)
                return fail(c, LODE_E_FORMAT,
                            "invalid hex digit '%c' at column %zu: " ADVICE_CORRUPT, ch,
                            col0 + i);
            return fail(c, LODE_E_FORMAT,
                        "invalid character 0x%02x at column %zu (not a hex digit): "
                        ADVICE_CORRUPT,
                        (unsigned)ch, col0 + i);
        }
    }
    if (digits % 2)
        return fail(c, LODE_E_FORMAT,
                    "odd number of hex digits (%zu) in the record: the record is truncated or "
                    "corrupt; rebuild or re-download the file",
                    digits);
    size_t nb = digits / 2;
    if (nb < 5)
        return fail(c, LODE_E_FORMAT,
                    "record too short (%zu bytes, a record has at least 5): the record is "
                    "truncated or corrupt; rebuild or re-download the file",
                    nb);
    unsigned count = (unsigned)(lodei_hexval(s[1]) << 4 | lodei_hexval(s[2]));
    if (nb != (size_t)count + 5)
        return fail(c, LODE_E_FORMAT,
                    "byte count says %u data bytes but the record holds %zu: the record is "
                    "truncated or corrupt; rebuild or re-download the file",
                    count, nb - 5);
    uint8_t sum = 0;
    for (size_t i = 0; i < nb; i++) {
        rec[i] = (uint8_t)(lodei_hexval(s[1 + 2 * i]) << 4 | lodei_hexval(s[2 + 2 * i]));
        if (i + 1 < nb)
            sum = (uint8_t)(sum + rec[i]);
    }
    uint8_t expected = (uint8_t)(0x100 - sum);
    if (rec[nb - 1] != expected)
        return fail(c, LODE_E_FORMAT,
                    "checksum error (expected 0x%02x, got 0x%02x): " ADVICE_CORRUPT,
                    (unsigned)expected, (unsigned)rec[nb - 1]);
    *nbytes = nb;
    return LODE_OK;
}

static int want_count(const ihex_ctx_s *c, unsigned type, unsigned count, unsigned want)
{
    if (count == want)
        return LODE_OK;
    return fail(c, LODE_E_FORMAT,
                "%s record (type %02x) must hold %u data bytes, not %u: " ADVICE_CORRUPT,
                type_name(type), type, want, count);
}

static void set_entry(const ihex_ctx_s *c, lode_image_s *img, uint32_t entry)
{
    if (img->has_entry && img->entry != entry)
        lode_log(c->log, LODE_LOG_WARN, LODE_LOGC_IMAGE,
                 "%s line %zu: second start address 0x%08x replaces 0x%08x", c->name, c->line,
                 (unsigned)entry, (unsigned)img->entry);
    img->entry = entry;
    img->has_entry = true;
}

int lodei_image_parse_ihex(const char *text, size_t len, const char *name,
                           const lode_log_s *log, lode_image_s **out)
{
    ihex_ctx_s ctx = {.name = name ? name : "Intel HEX", .log = log, .line = 0};
    ihex_ctx_s *c = &ctx;
    lodei_imgbuild_s b;
    lode_image_s *img = NULL;
    uint8_t rec[REC_MAX_BYTES];
    uint32_t base = 0;
    bool eof = false;
    int err = LODE_OK;

    lodei_imgbuild_init(&b, true);
    if (!out || (!text && len))
        return fail(c, LODE_E_INVALID_ARG, "no text or output given");
    img = lodei_image_new();
    if (!img)
        return fail(c, LODE_E_NOMEM, "out of memory");

    size_t pos = 0;
    while (pos < len && !eof) {
        /* One line: up to LF, CR LF or a lone CR. */
        size_t start = pos, end = pos;
        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        pos = end;
        if (pos < len)
            pos += (text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n') ? 2 : 1;
        c->line++;
        size_t lead = 0;
        while (start + lead < end && (text[start + lead] == ' ' || text[start + lead] == '\t'))
            lead++;
        while (end > start + lead && (text[end - 1] == ' ' || text[end - 1] == '\t'))
            end--;
        const char *s = text + start + lead;
        size_t n = end - start - lead;
        if (n == 0)
            continue;
        if (s[0] != ':') {
            err = fail(c, LODE_E_FORMAT,
                       "record does not start with ':': this is not an Intel HEX file, or it is "
                       "corrupt");
            goto out;
        }
        size_t nb = 0;
        err = decode_record(c, s, n, lead + 1, rec, &nb);
        if (err)
            goto out;
        unsigned count = rec[0];
        uint32_t offset = lodei_get_be16(rec + 1);
        unsigned type = rec[3];
        const uint8_t *d = rec + 4;
        switch (type) {
        case REC_DATA: {
            uint64_t addr = (uint64_t)base + offset;
            if (addr + count > 0x100000000ull) {
                err = fail(c, LODE_E_FORMAT,
                           "%u data bytes at 0x%08llx run past the end of the 32-bit address "
                           "space: " ADVICE_CORRUPT,
                           count, (unsigned long long)addr);
                goto out;
            }
            uint32_t tag = c->line > UINT32_MAX ? UINT32_MAX : (uint32_t)c->line;
            err = lodei_imgbuild_add(&b, (uint32_t)addr, d, count, tag);
            if (err) {
                err = fail(c, err,
                           "the image exceeds lode's limits (%u MiB of data, %u separate "
                           "pieces) or memory ran out",
                           LODE_IMAGE_MAX_BYTES >> 20, LODE_IMAGE_MAX_PIECES);
                goto out;
            }
            break;
        }
        case REC_EOF:
            err = want_count(c, type, count, 0);
            if (err)
                goto out;
            eof = true;
            break;
        case REC_EXT_SEG:
            err = want_count(c, type, count, 2);
            if (err)
                goto out;
            base = (uint32_t)lodei_get_be16(d) << 4;
            break;
        case REC_START_SEG:
            err = want_count(c, type, count, 4);
            if (err)
                goto out;
            set_entry(c, img, ((uint32_t)lodei_get_be16(d) << 4) + lodei_get_be16(d + 2));
            break;
        case REC_EXT_LIN:
            err = want_count(c, type, count, 2);
            if (err)
                goto out;
            base = (uint32_t)lodei_get_be16(d) << 16;
            break;
        case REC_START_LIN:
            err = want_count(c, type, count, 4);
            if (err)
                goto out;
            set_entry(c, img, lodei_get_be32(d));
            break;
        default:
            err = fail(c, LODE_E_FORMAT,
                       "unknown record type 0x%02x: lode reads types 00-05 (I8HEX, I16HEX, "
                       "I32HEX); " ADVICE_CORRUPT,
                       type);
            goto out;
        }
    }
    if (!eof) {
        size_t lines = c->line;
        c->line = 0;
        err = fail(c, LODE_E_FORMAT,
                   "no end-of-file record (:00000001FF) after %zu lines: the file is truncated; "
                   "rebuild or re-download it",
                   lines);
        goto out;
    }

    c->line = 0;
    lodei_piece_s a, z;
    err = lodei_imgbuild_finish(&b, img, &a, &z);
    if (err == LODE_E_FORMAT) {
        if (a.tag > z.tag) {
            lodei_piece_s t = a;
            a = z;
            z = t;
        }
        err = fail(c, err,
                   "data at 0x%08x-0x%08x (from line %u) overlaps data at 0x%08x-0x%08x (from "
                   "line %u): the file writes the same addresses twice; fix the tool that "
                   "produced it",
                   (unsigned)z.addr, (unsigned)(z.addr + z.len - 1), (unsigned)z.tag,
                   (unsigned)a.addr, (unsigned)(a.addr + a.len - 1), (unsigned)a.tag);
        goto out;
    }
    if (err) {
        err = fail(c, err, "out of memory");
        goto out;
    }
    lodei_imgbuild_free(&b);
    *out = img;
    return LODE_OK;
out:
    lodei_imgbuild_free(&b);
    lode_image_free(img);
    return err;
}

int lode_image_parse_ihex(const char *text, size_t len, const lode_log_s *log,
                          lode_image_s **out)
{
    return lodei_image_parse_ihex(text, len, NULL, log, out);
}
