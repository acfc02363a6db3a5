/* SPDX-License-Identifier: MIT */
/* lode.yaml (lode/project.h): a flat mapping read with libyaml's event parser. */
#include "lode/project.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "lode/error.h"
#include "util/text.h"

bool lode_project_parse_hz(const char *s, uint32_t *hz)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10u + (uint64_t)(*s++ - '0');
        if (v > 0xFFFFFFFFull)
            return false;
    }
    if (*s == 'k' || *s == 'K') {
        v *= 1000u;
        s++;
    } else if (*s == 'm' || *s == 'M') {
        v *= 1000000u;
        s++;
    }
    if (*s || v == 0 || v > 0xFFFFFFFFull)
        return false;
    *hz = (uint32_t)v;
    return true;
}

typedef struct pctx_s {
    const char *name;
    const lode_log_s *log;
    int err;
} pctx_s;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int perr(pctx_s *c, size_t line, const char *fmt, ...)
{
    if (c->err)
        return c->err;
    c->err = LODE_E_FORMAT;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "%s:%zu: %s", c->name, line, msg);
    return c->err;
}

static int set_text(pctx_s *c, size_t line, const char *key, const char *v, size_t vlen, char *dst, size_t cap)
{
    if (vlen == 0 || memchr(v, 0, vlen))
        return perr(c, line, "%s: is empty or holds a NUL; give a value or remove the key", key);
    if (vlen >= cap)
        return perr(c, line, "%s: longer than %zu characters", key, cap - 1);
    memcpy(dst, v, vlen);
    dst[vlen] = 0;
    return LODE_OK;
}

int lode_project_parse(const char *text, size_t len, const char *name, const char *dir, const lode_log_s *log,
                       lode_project_s *out)
{
    pctx_s c = {.name = name ? name : LODE_PROJECT_FILE, .log = log};
    if (!text || !out)
        return LODE_E_INVALID_ARG;
    if (len > LODE_PROJECT_MAX_FILE)
        return perr(&c, 1, "larger than %u bytes; a lode.yaml holds a few keys", LODE_PROJECT_MAX_FILE);
    lode_project_s p;
    memset(&p, 0, sizeof p);
    char seen[5] = {0};
    yaml_parser_t y;
    if (!yaml_parser_initialize(&y))
        return LODE_E_NOMEM;
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    /* states: 0 before the mapping, 1 expecting a key, 2 expecting the value of `key`, 3 done */
    int state = 0, depth = 0;
    char key[32] = "";
    size_t key_line = 0;
    for (bool end = false; !end && !c.err;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&y, &ev)) {
            perr(&c, y.problem_mark.line + 1, "YAML syntax error: %s; fix the YAML syntax",
                 y.problem ? y.problem : "unknown");
            break;
        }
        size_t line = ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (depth++ > 0)
                perr(&c, line, "a second YAML document; keep one");
            break;
        case YAML_STREAM_END_EVENT:
            end = true;
            break;
        case YAML_MAPPING_START_EVENT:
            if (state != 0)
                perr(&c, line, "%s%s: expected a text value, found a mapping", state == 2 ? "" : "a key",
                     state == 2 ? key : "");
            state = 1;
            break;
        case YAML_MAPPING_END_EVENT:
            state = 3;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (state == 2)
                perr(&c, line, "%s: expected a text value, found a list", key);
            else
                perr(&c, line, "expected a mapping of keys (probe, chip, board, speed, chip-description)");
            break;
        case YAML_ALIAS_EVENT:
            perr(&c, line, "aliases are not supported; write the value out");
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vlen = ev.data.scalar.length;
            char b[64];
            if (state == 0) {
                if (vlen == 0 && ev.data.scalar.plain_implicit)
                    break; /* an empty document */
                perr(&c, line, "expected a mapping of keys (probe, chip, board, speed, chip-description), found '%s'",
                     lodei_text_shown(v, b, sizeof b));
            } else if (state == 1) {
                static const char *const keys[5] = {"probe", "chip", "speed", "chip-description", "board"};
                int k = 0;
                while (k < 5 && strcmp(v, keys[k]) != 0)
                    k++;
                if (k == 5 || memchr(v, 0, vlen)) {
                    perr(&c, line, "unknown key '%s'; lode.yaml knows probe, chip, board, speed and chip-description",
                         lodei_text_shown(v, b, sizeof b));
                } else if (seen[k]) {
                    perr(&c, line, "key '%s' appears twice; keep one", keys[k]);
                } else {
                    seen[k] = 1;
                    snprintf(key, sizeof key, "%s", keys[k]);
                    key_line = line;
                    state = 2;
                }
            } else if (state == 2) {
                (void)key_line;
                if (!strcmp(key, "probe")) {
                    set_text(&c, line, key, v, vlen, p.probe, sizeof p.probe);
                } else if (!strcmp(key, "chip")) {
                    set_text(&c, line, key, v, vlen, p.chip, sizeof p.chip);
                } else if (!strcmp(key, "board")) {
                    set_text(&c, line, key, v, vlen, p.board, sizeof p.board);
                } else if (!strcmp(key, "speed")) {
                    if (memchr(v, 0, vlen) || !lode_project_parse_hz(v, &p.speed_hz))
                        perr(&c, line, "speed: '%s' is not a clock in Hz; write e.g. 4000000, 4000k or 4M",
                             lodei_text_shown(v, b, sizeof b));
                } else {
                    char rel[1024];
                    if (set_text(&c, line, key, v, vlen, rel, sizeof rel) == LODE_OK) {
                        int n = rel[0] != '/' && dir && *dir
                                    ? snprintf(p.chip_description, sizeof p.chip_description, "%s/%s", dir, rel)
                                    : snprintf(p.chip_description, sizeof p.chip_description, "%s", rel);
                        if (n < 0 || (size_t)n >= sizeof p.chip_description)
                            perr(&c, line, "chip-description: the path is too long");
                    }
                }
                state = 1;
            } else {
                perr(&c, line, "text after the mapping; lode.yaml is one mapping");
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y);
    if (c.err)
        return c.err;
    *out = p;
    return LODE_OK;
}

int lode_project_find_load(const char *dir, const lode_log_s *log, char *path, size_t pathlen,
                           lode_project_s *out)
{
    if (!dir || !path || !pathlen || !out)
        return LODE_E_INVALID_ARG;
    memset(out, 0, sizeof *out);
    char d[1024];
    if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d)
        return LODE_E_INVALID_ARG;
    for (;;) {
        char f[1100];
        snprintf(f, sizeof f, "%s/%s", strcmp(d, "/") ? d : "", LODE_PROJECT_FILE);
        struct stat st;
        if (stat(f, &st) == 0) {
            snprintf(path, pathlen, "%s", f);
            FILE *fp = fopen(f, "rb");
            if (!fp) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "%s: cannot read it: %s", f, strerror(errno));
                return LODE_E_IO;
            }
            char *buf = malloc(LODE_PROJECT_MAX_FILE + 1);
            size_t n = buf ? fread(buf, 1, LODE_PROJECT_MAX_FILE + 1, fp) : 0;
            fclose(fp);
            if (!buf)
                return LODE_E_NOMEM;
            int rc = lode_project_parse(buf, n, f, d, log, out);
            free(buf);
            return rc;
        }
        char *slash = strrchr(d, '/');
        if (!slash || !strcmp(d, "/"))
            return LODE_E_NO_DEVICE;
        if (slash == d)
            d[1] = 0; /* the root itself is looked at last */
        else
            *slash = 0;
    }
}
