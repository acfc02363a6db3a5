/* SPDX-License-Identifier: MIT */
#include "cli.h"
#include "lode/error.h"
#include "out.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool cli_parse_u32(const char *s, uint32_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1024 * 1024;
        end++;
    }
    if (*end || v > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)v;
    return true;
}

void cli_hexdump(FILE *f, uint32_t addr, const uint8_t *data, size_t len)
{
    for (size_t off = 0; off < len; off += 16) {
        fprintf(f, "%08x:", addr + (uint32_t)off);
        for (size_t i = 0; i < 16; i++) {
            if (off + i < len)
                fprintf(f, " %02x", data[off + i]);
            else
                fputs("   ", f);
            if (i == 7)
                fputc(' ', f);
        }
        fputs("  |", f);
        for (size_t i = 0; i < 16 && off + i < len; i++)
            fputc(isprint(data[off + i]) ? data[off + i] : '.', f);
        fputs("|\n", f);
    }
}

double cli_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void cli_fmt_bytes(char *buf, size_t len, double bytes)
{
    if (bytes >= 1024.0 * 1024.0)
        snprintf(buf, len, "%.2f MiB", bytes / (1024.0 * 1024.0));
    else if (bytes >= 1024.0)
        snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
    else
        snprintf(buf, len, "%.0f B", bytes);
}

void cli_progress_init(cli_progress_s *p, bool enabled)
{
    memset(p, 0, sizeof *p);
    p->tty = enabled && isatty(2);
    p->t0 = cli_now_s();
}

void cli_progress_update(cli_progress_s *p, const char *label, size_t done, size_t total)
{
    if (!p->tty || !total)
        return;
    if (p->active && p->label != label)
        fputc('\n', stderr);
    p->label = label;
    p->active = true;
    unsigned width = 30, fill = (unsigned)((double)done / (double)total * width);
    fprintf(stderr, "\r%-8s [", label);
    for (unsigned i = 0; i < width; i++)
        fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %3u%% (%zu/%zu)", (unsigned)(100.0 * (double)done / (double)total), done, total);
    fflush(stderr);
}

void cli_progress_end(cli_progress_s *p)
{
    if (p->tty && p->active)
        fputc('\n', stderr);
    p->active = false;
}

/* ---- JSON ---- */

static void json_sep(cli_json_s *j, const char *key)
{
    if (j->depth > 0 && j->need_comma[j->depth])
        fputc(',', j->f);
    if (j->depth > 0)
        j->need_comma[j->depth] = true;
    if (key) {
        fputc('"', j->f);
        for (const char *c = key; *c; c++)
            fputc(*c, j->f);
        fputs("\":", j->f);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; c && *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

void cli_json_begin_object(cli_json_s *j, const char *key)
{
    json_sep(j, key);
    fputc('{', j->f);
    if (j->depth < 31)
        j->depth++;
    j->need_comma[j->depth] = false;
}

void cli_json_end_object(cli_json_s *j)
{
    fputc('}', j->f);
    if (j->depth > 0)
        j->depth--;
    if (j->depth == 0)
        fputc('\n', j->f);
}

void cli_json_begin_array(cli_json_s *j, const char *key)
{
    json_sep(j, key);
    fputc('[', j->f);
    if (j->depth < 31)
        j->depth++;
    j->need_comma[j->depth] = false;
}

void cli_json_end_array(cli_json_s *j)
{
    fputc(']', j->f);
    if (j->depth > 0)
        j->depth--;
    if (j->depth == 0)
        fputc('\n', j->f);
}

void cli_json_string(cli_json_s *j, const char *key, const char *val)
{
    json_sep(j, key);
    json_str(j->f, val ? val : "");
}

void cli_json_uint(cli_json_s *j, const char *key, uint64_t val)
{
    json_sep(j, key);
    fprintf(j->f, "%llu", (unsigned long long)val);
}

void cli_json_hex(cli_json_s *j, const char *key, uint32_t val)
{
    json_sep(j, key);
    fprintf(j->f, "\"0x%08x\"", val);
}

void cli_json_double(cli_json_s *j, const char *key, double val)
{
    json_sep(j, key);
    fprintf(j->f, "%.6g", val);
}

void cli_json_bool(cli_json_s *j, const char *key, bool val)
{
    json_sep(j, key);
    fputs(val ? "true" : "false", j->f);
}

int cli_exit_for_error(int err)
{
    switch (err) {
    case LODE_OK: return LODE_EXIT_OK;
    case LODE_E_FORMAT:
    case LODE_E_RANGE: return LODE_EXIT_DATAERR;
    case LODE_E_NO_DEVICE:
    case LODE_E_ACCESS: return LODE_EXIT_UNAVAILABLE; /* no permission, busy, read-protected */
    case LODE_E_IO: return LODE_EXIT_NOINPUT;
    case LODE_E_INVALID_ARG: return LODE_EXIT_USAGE;
    case LODE_E_TIMEOUT: return LODE_EXIT_TIMEOUT;
    default: return LODE_EXIT_SOFTWARE;
    }
}
