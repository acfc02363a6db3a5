/* SPDX-License-Identifier: MIT */
/* Reader for chip families in the probe-rs target YAML format, written from the format's
 * description in PROTOCOLS.md and the example files. libyaml turns the text into events;
 * this file builds a small bounded tree from them (depth, node and item counts capped, aliases
 * refused) and then walks the tree along the schema, checking every value. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "lode/error.h"
#include "target/targeti.h"

/* ---------------------------------------------------------------------------------------- */
/* The tree                                                                                 */

enum { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode_s ynode_s;
struct ynode_s {
    int type;
    bool plain;         /* scalar written without quotes and without a !!str tag */
    const char *tag;    /* local tag without its '!' ("Nvm"), another tag as written, or NULL */
    size_t line, col;   /* 1-based */
    const char *str;    /* scalar: NUL-terminated copy (may also contain NULs: see len) */
    size_t len;
    ynode_s **kids;     /* sequence: items; mapping: key, value, key, value ... */
    size_t n;           /* entries in kids */
};

typedef struct yctx_s {
    const lode_log_s *log;
    const char *file;
    lodei_arena_s *fa;  /* the family's arena */
    char path[320];     /* where we are, e.g. "variants[3].memory_map[0]" */
    size_t plen;
    int err;            /* first error */
    bool soft;          /* errors inside one flash algorithm: a warning, the algorithm skipped */
    const char *skipped[64]; /* names of the algorithms skipped */
    size_t nskipped;
    unsigned ndebug;    /* debug messages given (capped) */
} yctx_s;

#define MAX_DEBUG_MSGS 32u
#define YAML_STD_TAG "tag:yaml.org,2002:"

/* Printable rendering of a value from the file for a message: non-printable and non-ASCII
 * bytes become '?', long values are cut. */
static const char *show(const char *s, size_t n, char *buf, size_t bufsz)
{
    size_t o = 0, max = bufsz - 4;
    for (size_t i = 0; i < n && o < bufsz - 1; i++) {
        if (o >= max && i + 1 < n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    buf[o] = 0;
    return buf;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail_code(yctx_s *c, int code, const ynode_s *at, const char *fmt, ...)
{
    if (c->err)
        return c->err;
    c->err = code;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *sep = c->plen ? ": " : "";
    lode_log_level_e lvl = c->soft && code == LODE_E_FORMAT ? LODE_LOG_WARN : LODE_LOG_ERROR;
    const char *skip = lvl == LODE_LOG_WARN ? " (this flash algorithm is skipped)" : "";
    if (at)
        lode_log(c->log, lvl, LODE_LOGC_GENERAL, "%s:%zu: %s%s%s%s", c->file, at->line, c->path, sep,
                 msg, skip);
    else
        lode_log(c->log, lvl, LODE_LOGC_GENERAL, "%s: %s%s%s%s", c->file, c->path, sep, msg, skip);
    return code;
}

#define fail(c, at, ...) fail_code((c), LODE_E_FORMAT, (at), __VA_ARGS__)

static int fail_nomem(yctx_s *c)
{
    return fail_code(c, LODE_E_NOMEM, NULL, "out of memory; free some memory and retry");
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static size_t push(yctx_s *c, const char *fmt, ...)
{
    size_t old = c->plen;
    if (c->plen < sizeof c->path - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
        va_end(ap);
        if (n > 0)
            c->plen += (size_t)n;
        if (c->plen > sizeof c->path - 1)
            c->plen = sizeof c->path - 1;
    }
    return old;
}

static void pop(yctx_s *c, size_t old)
{
    c->plen = old;
    c->path[old] = 0;
}

static size_t push_key(yctx_s *c, const char *key)
{
    return push(c, "%s%s", c->plen ? "." : "", key);
}

/* ---------------------------------------------------------------------------------------- */
/* Events to tree                                                                           */

typedef struct frame_s {
    ynode_s *node;
    ynode_s **v;
    size_t n, cap;
} frame_s;

static int frame_add(yctx_s *c, frame_s *f, ynode_s *kid)
{
    size_t limit = f->node->type == YN_MAP ? 2 * (size_t)LODE_TARGET_MAX_ITEMS
                                           : LODE_TARGET_MAX_ITEMS;
    if (f->n >= limit)
        return fail(c, kid, "more than %u entries in one list or mapping; split the file",
                    LODE_TARGET_MAX_ITEMS);
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        ynode_s **nv = realloc(f->v, ncap * sizeof *nv);
        if (!nv)
            return fail_nomem(c);
        f->v = nv;
        f->cap = ncap;
    }
    f->v[f->n++] = kid;
    return LODE_OK;
}

/* Sets *out to the tag to keep (NULL: none). false when out of memory. */
static bool tag_of(lodei_arena_s *tree, const unsigned char *tag, const char **out,
                   bool *is_str)
{
    *is_str = false;
    *out = NULL;
    if (!tag)
        return true;
    const char *t = (const char *)tag;
    size_t std = strlen(YAML_STD_TAG);
    if (strncmp(t, YAML_STD_TAG, std) == 0) {
        *is_str = strcmp(t + std, "str") == 0;
        return true; /* standard tags say nothing the schema does not already know */
    }
    if (t[0] == '!' && t[1] != 0)
        t++;
    *out = lodei_arena_strndup(tree, t, strlen(t));
    return *out != NULL;
}

static int syntax_error(yctx_s *c, const yaml_parser_t *p)
{
    char a[96], b[96];
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR)
        return fail_nomem(c);
    if (p->error == YAML_READER_ERROR)
        return fail_code(c, LODE_E_FORMAT, NULL,
                         "byte %zu: not readable as UTF-8 text (%s); save the file as UTF-8",
                         p->problem_offset, show(problem, strlen(problem), a, sizeof a));
    const char *ctx = p->context ? p->context : "";
    ynode_s at = {.line = p->problem_mark.line + 1};
    return fail(c, &at, "YAML syntax error at column %zu: %s%s%s; fix the YAML syntax",
                p->problem_mark.column + 1, show(problem, strlen(problem), a, sizeof a),
                *ctx ? " " : "", show(ctx, strlen(ctx), b, sizeof b));
}

static int build_tree(yctx_s *c, lodei_arena_s *tree, const char *yaml, size_t len,
                      ynode_s **root_out)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return fail_nomem(c);
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

    frame_s st[LODE_TARGET_MAX_DEPTH];
    size_t depth = 0, nodes = 0;
    unsigned docs = 0;
    ynode_s *root = NULL;
    int rc = LODE_OK;
    bool done = false;

    while (!done && rc == LODE_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(c, &p);
            break;
        }
        ynode_s *nd = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                ynode_s at = {.line = ev.start_mark.line + 1};
                rc = fail(c, &at, "a second YAML document ('---'); a file describes one "
                                  "family: split it into one file per family");
            }
            break;
        case YAML_ALIAS_EVENT: {
            char a[64];
            const char *an = (const char *)ev.data.alias.anchor;
            ynode_s at = {.line = ev.start_mark.line + 1};
            rc = fail(c, &at, "YAML alias '*%s' is not supported; write the value out",
                      show(an, an ? strlen(an) : 0, a, sizeof a));
            break;
        }
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (++nodes > LODE_TARGET_MAX_NODES) {
                ynode_s at = {.line = ev.start_mark.line + 1};
                rc = fail(c, &at, "more than %u YAML nodes; this is not a target description "
                                  "(or split it)", LODE_TARGET_MAX_NODES);
                break;
            }
            nd = lodei_arena_alloc(tree, sizeof *nd);
            if (!nd) {
                rc = fail_nomem(c);
                break;
            }
            nd->line = ev.start_mark.line + 1;
            nd->col = ev.start_mark.column + 1;
            bool is_str = false;
            if (ev.type == YAML_SCALAR_EVENT) {
                nd->type = YN_SCALAR;
                if (!tag_of(tree, ev.data.scalar.tag, &nd->tag, &is_str))
                    rc = fail_nomem(c);
                nd->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !is_str;
                nd->len = ev.data.scalar.length;
                nd->str = lodei_arena_strndup(tree, (const char *)ev.data.scalar.value, nd->len);
                if (rc == LODE_OK && !nd->str)
                    rc = fail_nomem(c);
            } else {
                const unsigned char *tag = ev.type == YAML_SEQUENCE_START_EVENT
                                               ? ev.data.sequence_start.tag
                                               : ev.data.mapping_start.tag;
                nd->type = ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP;
                if (!tag_of(tree, tag, &nd->tag, &is_str))
                    rc = fail_nomem(c);
            }
            break;
        }
        default:
            break;
        }
        if (rc == LODE_OK && nd) {
            if (depth == 0) {
                if (!root)
                    root = nd;
            } else {
                rc = frame_add(c, &st[depth - 1], nd);
            }
            if (rc == LODE_OK && nd->type != YN_SCALAR) {
                if (depth >= LODE_TARGET_MAX_DEPTH)
                    rc = fail(c, nd, "nested deeper than %u levels; a target description "
                                     "never needs that", LODE_TARGET_MAX_DEPTH);
                else
                    st[depth++] = (frame_s){.node = nd};
            }
        }
        if (rc == LODE_OK &&
            (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) &&
            depth > 0) {
            frame_s *f = &st[--depth];
            if (f->n) {
                f->node->kids = lodei_arena_calloc(tree, f->n, sizeof *f->node->kids);
                if (!f->node->kids)
                    rc = fail_nomem(c);
                else
                    memcpy(f->node->kids, f->v, f->n * sizeof *f->v);
                f->node->n = f->node->kids ? f->n : 0;
            }
            free(f->v);
            f->v = NULL;
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0)
        free(st[--depth].v);
    yaml_parser_delete(&p);
    if (rc == LODE_OK && !root)
        rc = fail_code(c, LODE_E_FORMAT, NULL,
                       "no YAML document in it; expected a probe-rs target description "
                       "(name:, variants:, flash_algorithms:)");
    if (rc == LODE_OK)
        *root_out = root;
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Typed access to values                                                                   */

static const char *kind_name(const ynode_s *v)
{
    if (!v)
        return "nothing";
    switch (v->type) {
    case YN_SEQ: return "a list";
    case YN_MAP: return "a mapping";
    default: return v->plain ? "a plain value" : "a quoted string";
    }
}

static bool is_null(const ynode_s *v)
{
    if (!v)
        return true;
    if (v->type != YN_SCALAR || !v->plain || v->tag)
        return false;
    return v->len == 0 || strcmp(v->str, "~") == 0 || strcmp(v->str, "null") == 0 ||
           strcmp(v->str, "Null") == 0 || strcmp(v->str, "NULL") == 0;
}

/* Scans mapping `m`: vals[i] = the value of keys[i] or NULL. Duplicate known keys and
 * non-scalar keys are errors; unknown keys are logged at debug level. */
static int map_scan(yctx_s *c, const ynode_s *m, const char *what, const char *const *keys,
                    size_t nkeys, const ynode_s **vals)
{
    for (size_t i = 0; i < nkeys; i++)
        vals[i] = NULL;
    if (!m || m->type != YN_MAP)
        return fail(c, m, "expected a mapping (key: value lines) describing %s, found %s; "
                          "fix the indentation or the value", what, kind_name(m));
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const ynode_s *k = m->kids[i];
        if (k->type != YN_SCALAR || memchr(k->str, 0, k->len))
            return fail(c, k, "a key must be a plain name, found %s; fix the key",
                        kind_name(k));
        size_t j = 0;
        while (j < nkeys && !(strlen(keys[j]) == k->len && memcmp(keys[j], k->str, k->len) == 0))
            j++;
        if (j < nkeys) {
            if (vals[j])
                return fail(c, k, "key '%s' appears twice; keep one of them", keys[j]);
            vals[j] = m->kids[i + 1];
        } else if (c->ndebug < MAX_DEBUG_MSGS) {
            char a[64];
            c->ndebug++;
            lode_log(c->log, LODE_LOG_DEBUG, LODE_LOGC_GENERAL, "%s:%zu: %s%signoring key '%s'",
                     c->file, k->line, c->path, c->plen ? ": " : "",
                     show(k->str, k->len, a, sizeof a));
        }
    }
    return LODE_OK;
}

static int missing(yctx_s *c, const ynode_s *parent, const char *key, const char *hint)
{
    return fail(c, parent, "key '%s' is missing; add %s", key, hint);
}

/* 0 ok, -1 not a number, -2 too large */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    unsigned base = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0') {
        char b = (char)tolower((unsigned char)s[1]);
        base = b == 'x' ? 16 : b == 'o' ? 8 : b == 'b' ? 2 : 10;
        if (base != 10)
            i = 2;
    }
    if (i >= n)
        return -1;
    uint64_t v = 0;
    bool big = false;
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return -1;
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - d) / base)
            big = true;
        else
            v = v * base + d;
    }
    if (big || v > max)
        return -2;
    *out = v;
    return 0;
}

static int get_u64(yctx_s *c, const ynode_s *v, const char *key, uint64_t max, uint64_t *out)
{
    size_t old = push_key(c, key);
    int rc = LODE_OK;
    char a[48];
    uint64_t x = 0;
    if (!v || v->type != YN_SCALAR || !v->plain) {
        rc = fail(c, v, "expected a number (decimal or 0x-hex), found %s; write a number",
                  kind_name(v));
    } else {
        int r = parse_u64(v->str, v->len, max, &x);
        if (r == -1)
            rc = fail(c, v, "'%s' is not a number; write it in decimal or as 0x-hex",
                      show(v->str, v->len, a, sizeof a));
        else if (r == -2)
            rc = fail(c, v, "%s is too large (at most 0x%llx); fix the value",
                      show(v->str, v->len, a, sizeof a), (unsigned long long)max);
    }
    pop(c, old);
    if (rc == LODE_OK)
        *out = x;
    return rc;
}

static int get_u32(yctx_s *c, const ynode_s *v, const char *key, uint32_t max, uint32_t *out)
{
    uint64_t x;
    int rc = get_u64(c, v, key, max, &x);
    if (rc == LODE_OK)
        *out = (uint32_t)x;
    return rc;
}

static int get_bool(yctx_s *c, const ynode_s *v, const char *key, bool *out)
{
    if (v && v->type == YN_SCALAR && v->plain) {
        static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False",
                                                                               "FALSE"};
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(v->str, t[i]) == 0 && v->len == strlen(t[i])) {
                *out = true;
                return LODE_OK;
            }
            if (strcmp(v->str, f[i]) == 0 && v->len == strlen(f[i])) {
                *out = false;
                return LODE_OK;
            }
        }
    }
    size_t old = push_key(c, key);
    char a[48];
    int rc = fail(c, v, "expected true or false, found %s%s%s%s; write true or false",
                  kind_name(v), v && v->type == YN_SCALAR ? " '" : "",
                  v && v->type == YN_SCALAR ? show(v->str, v->len, a, sizeof a) : "",
                  v && v->type == YN_SCALAR ? "'" : "");
    pop(c, old);
    return rc;
}

/* A string copied into the family arena. */
static int get_str(yctx_s *c, const ynode_s *v, const char *key, size_t maxlen,
                   bool allow_empty, const char **out)
{
    size_t old = push_key(c, key);
    int rc = LODE_OK;
    if (!v || v->type != YN_SCALAR)
        rc = fail(c, v, "expected a text value, found %s; fix the value", kind_name(v));
    else if (memchr(v->str, 0, v->len))
        rc = fail(c, v, "contains a NUL character; remove it");
    else if (v->len > maxlen)
        rc = fail(c, v, "is %zu bytes long (at most %zu); shorten it", v->len, maxlen);
    else if (!allow_empty && v->len == 0)
        rc = fail(c, v, "is empty; give it a value");
    pop(c, old);
    if (rc != LODE_OK)
        return rc;
    const char *s = lodei_arena_strndup(c->fa, v->str, v->len);
    if (!s)
        return fail_nomem(c);
    *out = s;
    return LODE_OK;
}

/* A list node (NULL / null = empty) with at most `max` entries. */
static int get_seq(yctx_s *c, const ynode_s *v, const char *key, size_t max, size_t *n)
{
    if (is_null(v)) {
        *n = 0;
        return LODE_OK;
    }
    size_t old = push_key(c, key);
    int rc = LODE_OK;
    if (v->type != YN_SEQ)
        rc = fail(c, v, "expected a list ('- item' lines), found %s; fix the value",
                  kind_name(v));
    else if (v->n > max)
        rc = fail(c, v, "has %zu entries (at most %zu); this cannot be right, check the file",
                  v->n, max);
    pop(c, old);
    if (rc == LODE_OK)
        *n = v->n;
    return rc;
}

/* A list of names (strings). */
static int get_names(yctx_s *c, const ynode_s *v, const char *key, size_t max,
                     const char *const **out, size_t *nout)
{
    size_t n;
    int rc = get_seq(c, v, key, max, &n);
    if (rc != LODE_OK)
        return rc;
    const char **arr = NULL;
    if (n) {
        arr = lodei_arena_calloc(c->fa, n, sizeof *arr);
        if (!arr)
            return fail_nomem(c);
    }
    for (size_t i = 0; i < n; i++) {
        char k[64];
        snprintf(k, sizeof k, "%s[%zu]", key, i);
        rc = get_str(c, v->kids[i], k, LODE_TARGET_MAX_NAME, false, &arr[i]);
        if (rc != LODE_OK)
            return rc;
    }
    *out = arr;
    *nout = n;
    return LODE_OK;
}

/* An externally tagged value: either `!Tag value` or the older `Tag: value` single-key
 * mapping, with Tag one of `tags`. *tag is NULL when there is neither. */
static void tagged(const ynode_s *v, const char *const *tags, size_t ntags, const char **tag,
                   const ynode_s **inner)
{
    *tag = NULL;
    *inner = v;
    if (!v)
        return;
    if (v->tag) {
        *tag = v->tag;
        return;
    }
    if (v->type == YN_MAP && v->n == 2 && v->kids[0]->type == YN_SCALAR) {
        for (size_t i = 0; i < ntags; i++) {
            if (strlen(tags[i]) == v->kids[0]->len && strcmp(tags[i], v->kids[0]->str) == 0) {
                *tag = tags[i];
                *inner = v->kids[1];
                return;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The schema                                                                               */

static int parse_range(yctx_s *c, const ynode_s *v, const char *key, uint64_t *start,
                       uint64_t *end)
{
    static const char *const keys[] = {"start", "end"};
    const ynode_s *val[2];
    size_t old = push_key(c, key);
    int rc = map_scan(c, v, "an address range {start, end}", keys, 2, val);
    if (rc == LODE_OK && !val[0])
        rc = missing(c, v, "start", "start: <first address>");
    if (rc == LODE_OK && !val[1])
        rc = missing(c, v, "end", "end: <address after the last byte>");
    if (rc == LODE_OK)
        rc = get_u64(c, val[0], "start", UINT64_MAX, start);
    if (rc == LODE_OK)
        rc = get_u64(c, val[1], "end", UINT64_MAX, end);
    if (rc == LODE_OK && *end <= *start)
        rc = fail(c, v, "end 0x%llx is not above start 0x%llx; fix the range (end is "
                        "exclusive)", (unsigned long long)*end, (unsigned long long)*start);
    pop(c, old);
    return rc;
}

static int parse_access(yctx_s *c, const ynode_s *v, lode_target_access_s *acc)
{
    static const char *const keys[] = {"read", "write", "execute", "boot"};
    const ynode_s *val[4];
    size_t old = push_key(c, "access");
    int rc = map_scan(c, v, "access rights {read, write, execute, boot}", keys, 4, val);
    bool *dst[4] = {&acc->read, &acc->write, &acc->execute, &acc->boot};
    for (size_t i = 0; i < 4 && rc == LODE_OK; i++)
        if (val[i])
            rc = get_bool(c, val[i], keys[i], dst[i]);
    pop(c, old);
    return rc;
}

static bool name_in(const char *name, const lode_target_core_s *cores, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cores[i].name, name) == 0)
            return true;
    return false;
}

static int parse_mem(yctx_s *c, const ynode_s *v, const lode_target_variant_s *var,
                     lode_target_mem_s *m)
{
    static const char *const kinds[] = {"Ram", "Nvm", "Generic"};
    static const char *const keys[] = {"name", "range", "cores", "access", "is_boot_memory",
                                       "is_alias"};
    const char *tag;
    const ynode_s *in;
    tagged(v, kinds, 3, &tag, &in);
    if (!tag)
        return fail(c, v, "memory region without a kind; write !Ram, !Nvm or !Generic before "
                          "it");
    size_t k = 0;
    while (k < 3 && strcmp(kinds[k], tag) != 0)
        k++;
    if (k == 3) {
        char a[48];
        return fail(c, v, "unknown memory region kind '!%s'; use !Ram, !Nvm or !Generic",
                    show(tag, strlen(tag), a, sizeof a));
    }
    m->kind = k == 0 ? LODE_TARGET_MEM_RAM : k == 1 ? LODE_TARGET_MEM_NVM
                                                     : LODE_TARGET_MEM_GENERIC;
    m->access = (lode_target_access_s){.read = true, .write = true, .execute = true};
    m->name = "";
    const ynode_s *val[6];
    int rc = map_scan(c, in, "a memory region", keys, 6, val);
    if (rc == LODE_OK && val[0] && !is_null(val[0]))
        rc = get_str(c, val[0], "name", LODE_TARGET_MAX_NAME, true, &m->name);
    if (rc == LODE_OK && !val[1])
        rc = missing(c, in, "range", "range: {start: <first address>, end: <address after it>}");
    if (rc == LODE_OK)
        rc = parse_range(c, val[1], "range", &m->start, &m->end);
    if (rc == LODE_OK)
        rc = get_names(c, val[2], "cores", 256, &m->cores, &m->ncores);
    for (size_t i = 0; rc == LODE_OK && i < m->ncores; i++) {
        if (!name_in(m->cores[i], var->cores, var->ncores)) {
            char a[64];
            rc = fail(c, val[2]->kids[i], "core '%s' is not one of the variant's cores; use a "
                                          "name listed under cores:",
                      show(m->cores[i], strlen(m->cores[i]), a, sizeof a));
        }
    }
    if (rc == LODE_OK && val[3] && !is_null(val[3]))
        rc = parse_access(c, val[3], &m->access);
    if (rc == LODE_OK && val[4]) {
        bool boot = false;
        rc = get_bool(c, val[4], "is_boot_memory", &boot);
        if (boot)
            m->access.boot = true;
    }
    if (rc == LODE_OK && val[5])
        rc = get_bool(c, val[5], "is_alias", &m->is_alias);
    return rc;
}

static int parse_ap(yctx_s *c, const ynode_s *v, lode_target_core_s *core)
{
    static const char *const vers[] = {"v1", "v2"};
    const char *tag;
    const ynode_s *in;
    tagged(v, vers, 2, &tag, &in);
    if (!tag || strcmp(tag, "v1") == 0) {
        core->ap_version = 1;
        return get_u64(c, in, "ap", 255, &core->ap);
    }
    if (strcmp(tag, "v2") == 0) {
        core->ap_version = 2;
        return get_u64(c, in, "ap", UINT64_MAX, &core->ap);
    }
    char a[48];
    size_t old = push_key(c, "ap");
    int rc = fail(c, v, "unknown access port version '!%s'; use !v1 <index> or !v2 <address>",
                  show(tag, strlen(tag), a, sizeof a));
    pop(c, old);
    return rc;
}

static int parse_core(yctx_s *c, const ynode_s *v, lode_target_core_s *core)
{
    static const char *const keys[] = {"name", "type", "core_access_options"};
    static const struct {
        const char *name;
        lode_target_arch_e arch;
    } archs[] = {
        {"armv6m", LODE_TARGET_ARCH_ARMV6M},   {"armv7m", LODE_TARGET_ARCH_ARMV7M},
        {"armv7em", LODE_TARGET_ARCH_ARMV7EM}, {"armv8m", LODE_TARGET_ARCH_ARMV8M},
        {"armv7a", LODE_TARGET_ARCH_ARMV7A},   {"armv8a", LODE_TARGET_ARCH_ARMV8A},
        {"riscv", LODE_TARGET_ARCH_RISCV},     {"xtensa", LODE_TARGET_ARCH_XTENSA},
    };
    static const char *const ports[] = {"Arm", "Riscv", "Xtensa"};
    const ynode_s *val[3];
    int rc = map_scan(c, v, "a core {name, type, core_access_options}", keys, 3, val);
    if (rc == LODE_OK && !val[0])
        rc = missing(c, v, "name", "name: <core name, e.g. main>");
    if (rc == LODE_OK && !val[1])
        rc = missing(c, v, "type", "type: <armv6m, armv7m, armv7em, armv8m ...>");
    if (rc == LODE_OK && !val[2])
        rc = missing(c, v, "core_access_options", "core_access_options: !Arm {ap: !v1 0}");
    if (rc == LODE_OK)
        rc = get_str(c, val[0], "name", LODE_TARGET_MAX_NAME, false, &core->name);
    if (rc == LODE_OK)
        rc = get_str(c, val[1], "type", LODE_TARGET_MAX_NAME, false, &core->type);
    if (rc != LODE_OK)
        return rc;
    core->arch = LODE_TARGET_ARCH_UNKNOWN;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(archs[i].name, core->type) == 0)
            core->arch = archs[i].arch;
    if (core->arch == LODE_TARGET_ARCH_UNKNOWN) {
        char a[48];
        lode_log(c->log, LODE_LOG_DEBUG, LODE_LOGC_GENERAL, "%s:%zu: %s: core type '%s' is "
                 "not known to lode", c->file, val[1]->line, c->path,
                 show(core->type, strlen(core->type), a, sizeof a));
    }

    size_t old = push_key(c, "core_access_options");
    const char *tag;
    const ynode_s *in;
    tagged(val[2], ports, 3, &tag, &in);
    char a[48];
    if (!tag)
        rc = fail(c, val[2], "no kind given; write !Arm {ap: !v1 <index>} (or !Riscv, "
                             "!Xtensa)");
    else if (strcmp(tag, "Arm") == 0) {
        static const char *const akeys[] = {"ap", "psel", "debug_base"};
        const ynode_s *av[3];
        core->port = LODE_TARGET_PORT_ARM;
        rc = map_scan(c, in, "Arm access options {ap, ...}", akeys, 3, av);
        if (rc == LODE_OK && !av[0])
            rc = missing(c, in, "ap", "ap: !v1 <access port index>");
        if (rc == LODE_OK)
            rc = parse_ap(c, av[0], core);
        if (rc == LODE_OK && av[1] && !is_null(av[1])) {
            core->has_psel = true;
            rc = get_u32(c, av[1], "psel", UINT32_MAX, &core->psel);
        }
        if (rc == LODE_OK && av[2] && !is_null(av[2])) {
            core->has_debug_base = true;
            rc = get_u64(c, av[2], "debug_base", UINT64_MAX, &core->debug_base);
        }
    } else if (strcmp(tag, "Riscv") == 0 || strcmp(tag, "Xtensa") == 0) {
        core->port = tag[0] == 'R' ? LODE_TARGET_PORT_RISCV : LODE_TARGET_PORT_XTENSA;
        if (!is_null(in) && !(in->type == YN_MAP))
            rc = fail(c, in, "expected a mapping of options, found %s; fix the value",
                      kind_name(in));
    } else
        rc = fail(c, val[2], "unknown kind '!%s'; use !Arm, !Riscv or !Xtensa",
                  show(tag, strlen(tag), a, sizeof a));
    pop(c, old);
    return rc;
}

static int parse_variant(yctx_s *c, const ynode_s *v, const lode_target_family_s *fam,
                         lode_target_variant_s *var)
{
    static const char *const keys[] = {"name", "package_variants", "cores", "memory_map",
                                       "flash_algorithms"};
    const ynode_s *val[5];
    int rc = map_scan(c, v, "a chip variant {name, cores, memory_map, ...}", keys, 5, val);
    if (rc == LODE_OK && !val[0])
        rc = missing(c, v, "name", "name: <chip name>");
    if (rc == LODE_OK)
        rc = get_str(c, val[0], "name", LODE_TARGET_MAX_NAME, false, &var->name);
    if (rc != LODE_OK)
        return rc;
    if (!val[2])
        return missing(c, v, "cores", "cores: [{name: main, type: armv7m, "
                                      "core_access_options: !Arm {ap: !v1 0}}]");
    if (!val[3])
        return missing(c, v, "memory_map", "memory_map: a list of !Ram / !Nvm regions");
    rc = get_names(c, val[1], "package_variants", 256, &var->package_variants,
                   &var->npackage_variants);

    size_t n = 0;
    if (rc == LODE_OK)
        rc = get_seq(c, val[2], "cores", 64, &n);
    if (rc == LODE_OK && n == 0)
        rc = fail(c, val[2], "cores: the list is empty; describe at least one core");
    lode_target_core_s *cores = NULL;
    if (rc == LODE_OK && !(cores = lodei_arena_calloc(c->fa, n, sizeof *cores)))
        rc = fail_nomem(c);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        size_t old = push(c, ".cores[%zu]", i);
        rc = parse_core(c, val[2]->kids[i], &cores[i]);
        if (rc == LODE_OK && name_in(cores[i].name, cores, i))
            rc = fail(c, val[2]->kids[i], "a second core named '%s'; give each core its own "
                                          "name", cores[i].name);
        pop(c, old);
    }
    if (rc != LODE_OK)
        return rc;
    var->cores = cores;
    var->ncores = n;

    rc = get_seq(c, val[3], "memory_map", 1024, &n);
    lode_target_mem_s *mem = NULL;
    if (rc == LODE_OK && n && !(mem = lodei_arena_calloc(c->fa, n, sizeof *mem)))
        rc = fail_nomem(c);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        size_t old = push(c, ".memory_map[%zu]", i);
        rc = parse_mem(c, val[3]->kids[i], var, &mem[i]);
        pop(c, old);
    }
    if (rc != LODE_OK)
        return rc;
    var->memory = mem;
    var->nmemory = n;

    rc = get_names(c, val[4], "flash_algorithms", 256, &var->flash_algorithm_names,
                   &var->nflash_algorithm_names);
    for (size_t i = 0; rc == LODE_OK && i < var->nflash_algorithm_names; i++) {
        const char *an = var->flash_algorithm_names[i];
        size_t k = 0;
        while (k < fam->nalgos && strcmp(fam->algos[k].name, an) != 0)
            k++;
        bool skipped = false;
        for (size_t j = 0; j < c->nskipped && !skipped; j++)
            skipped = strcmp(c->skipped[j], an) == 0;
        if (k == fam->nalgos && skipped) { /* warned about: the chip goes on without it */
            memmove((void *)&var->flash_algorithm_names[i], &var->flash_algorithm_names[i + 1],
                    (var->nflash_algorithm_names - i - 1) * sizeof var->flash_algorithm_names[0]);
            var->nflash_algorithm_names--;
            i--;
            continue;
        }
        if (k == fam->nalgos) {
            char a[64];
            size_t old = push_key(c, "flash_algorithms");
            rc = fail(c, val[4]->kids[i], "names flash algorithm '%s', which the file does not "
                                          "define; add it under the top-level flash_algorithms "
                                          "or remove the name",
                      show(an, strlen(an), a, sizeof a));
            pop(c, old);
        }
    }
    return rc;
}

static int check_pc(yctx_s *c, const ynode_s *v, const char *key, uint32_t pc, size_t len)
{
    if (pc == LODE_TARGET_PC_NONE || (pc & ~1u) < len)
        return LODE_OK;
    size_t old = push_key(c, key);
    int rc = fail(c, v, "0x%x points past the end of the instructions (%zu bytes); fix the "
                        "offset or the instructions", (unsigned)pc, len);
    pop(c, old);
    return rc;
}

static int parse_flash_props(yctx_s *c, const ynode_s *v, lode_target_flash_algo_s *al)
{
    static const char *const keys[] = {"address_range",   "page_size",
                                       "erased_byte_value", "program_page_timeout",
                                       "erase_sector_timeout", "sectors"};
    const ynode_s *val[6];
    size_t old = push_key(c, "flash_properties");
    int rc = map_scan(c, v, "flash properties {address_range, page_size, sectors, ...}", keys,
                      6, val);
    static const char *const hints[] = {
        "address_range: {start: <first address>, end: <address after it>}",
        "page_size: <bytes programmed at once>", NULL,
        "program_page_timeout: <milliseconds>", "erase_sector_timeout: <milliseconds>",
        "sectors: [{size: <sector size>, address: 0x0}]"};
    for (size_t i = 0; i < 6 && rc == LODE_OK; i++)
        if (!val[i] && hints[i])
            rc = missing(c, v, keys[i], hints[i]);
    if (rc == LODE_OK)
        rc = parse_range(c, val[0], "address_range", &al->flash_start, &al->flash_end);
    if (rc == LODE_OK)
        rc = get_u32(c, val[1], "page_size", 0x80000000u, &al->page_size);
    if (rc == LODE_OK && al->page_size == 0)
        rc = fail(c, val[1], "page_size is 0; give the size of one programmed page");
    uint32_t ebv = 0xff;
    if (rc == LODE_OK && val[2])
        rc = get_u32(c, val[2], "erased_byte_value", 0xff, &ebv);
    al->erased_byte_value = (uint8_t)ebv;
    if (rc == LODE_OK)
        rc = get_u32(c, val[3], "program_page_timeout", UINT32_MAX, &al->program_page_timeout_ms);
    if (rc == LODE_OK)
        rc = get_u32(c, val[4], "erase_sector_timeout", UINT32_MAX, &al->erase_sector_timeout_ms);
    size_t n = 0;
    if (rc == LODE_OK)
        rc = get_seq(c, val[5], "sectors", 4096, &n);
    if (rc == LODE_OK && n == 0)
        rc = fail(c, val[5], "sectors: the list is empty; give at least one {size, address}");
    lode_target_sector_s *sec = NULL;
    if (rc == LODE_OK && !(sec = lodei_arena_calloc(c->fa, n, sizeof *sec)))
        rc = fail_nomem(c);
    uint64_t span = al->flash_end - al->flash_start;
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        static const char *const skeys[] = {"size", "address"};
        const ynode_s *sv[2];
        const ynode_s *e = val[5]->kids[i];
        size_t o2 = push(c, ".sectors[%zu]", i);
        rc = map_scan(c, e, "a sector run {size, address}", skeys, 2, sv);
        if (rc == LODE_OK && !sv[0])
            rc = missing(c, e, "size", "size: <sector size>");
        if (rc == LODE_OK && !sv[1])
            rc = missing(c, e, "address", "address: <offset from the start of the range>");
        if (rc == LODE_OK)
            rc = get_u64(c, sv[0], "size", UINT64_MAX, &sec[i].size);
        if (rc == LODE_OK)
            rc = get_u64(c, sv[1], "address", UINT64_MAX, &sec[i].address);
        if (rc == LODE_OK && sec[i].size == 0)
            rc = fail(c, e, "size is 0; give the sector size in bytes");
        if (rc == LODE_OK && sec[i].address >= span)
            rc = fail(c, e, "address 0x%llx is past the end of address_range (0x%llx bytes); "
                            "sector addresses are offsets from its start",
                      (unsigned long long)sec[i].address, (unsigned long long)span);
        if (rc == LODE_OK && i && sec[i].address <= sec[i - 1].address)
            rc = fail(c, e, "address 0x%llx does not follow the previous entry's 0x%llx; list "
                            "sector runs in ascending order",
                      (unsigned long long)sec[i].address,
                      (unsigned long long)sec[i - 1].address);
        pop(c, o2);
    }
    if (rc == LODE_OK) {
        al->sectors = sec;
        al->nsectors = n;
    }
    pop(c, old);
    return rc;
}

enum {
    AK_NAME, AK_DESC, AK_DEFAULT, AK_INSTR, AK_LOAD, AK_DLOAD, AK_INIT, AK_UNINIT, AK_PROG,
    AK_ERASE, AK_ERASE_ALL, AK_DATA, AK_RTT, AK_PROPS, AK_CORES, AK_STACK, AK_BE, AK_COUNT
};

static int parse_algo(yctx_s *c, const ynode_s *v, lode_target_flash_algo_s *al)
{
    static const char *const keys[AK_COUNT] = {
        "name", "description", "default", "instructions", "load_address", "data_load_address",
        "pc_init", "pc_uninit", "pc_program_page", "pc_erase_sector", "pc_erase_all",
        "data_section_offset", "rtt_location", "flash_properties", "cores", "stack_size",
        "big_endian"};
    const ynode_s *val[AK_COUNT];
    int rc = map_scan(c, v, "a flash algorithm {name, instructions, pc_*, flash_properties}",
                      keys, AK_COUNT, val);
    if (rc == LODE_OK && !val[AK_NAME])
        rc = missing(c, v, "name", "name: <algorithm name>");
    if (rc == LODE_OK)
        rc = get_str(c, val[AK_NAME], "name", LODE_TARGET_MAX_NAME, false, &al->name);
    static const struct {
        int k;
        const char *hint;
    } req[] = {
        {AK_INSTR, "instructions: <base64 of the algorithm's code>"},
        {AK_PROG, "pc_program_page: <offset of ProgramPage>"},
        {AK_ERASE, "pc_erase_sector: <offset of EraseSector>"},
        {AK_DATA, "data_section_offset: <offset of the data section>"},
        {AK_PROPS, "flash_properties: {address_range, page_size, sectors, ...}"},
    };
    for (size_t i = 0; rc == LODE_OK && i < sizeof req / sizeof req[0]; i++)
        if (!val[req[i].k])
            rc = missing(c, v, keys[req[i].k], req[i].hint);
    if (rc != LODE_OK)
        return rc;

    al->description = "";
    if (val[AK_DESC] && !is_null(val[AK_DESC]))
        rc = get_str(c, val[AK_DESC], "description", 4096, true, &al->description);
    if (rc == LODE_OK && val[AK_DEFAULT])
        rc = get_bool(c, val[AK_DEFAULT], "default", &al->is_default);

    /* instructions */
    const ynode_s *in = val[AK_INSTR];
    size_t old = push_key(c, "instructions");
    if (rc == LODE_OK && (in->type != YN_SCALAR || in->len == 0))
        rc = fail(c, in, "expected base64 text, found %s; regenerate the flash algorithm",
                  in->type == YN_SCALAR ? "an empty value" : kind_name(in));
    if (rc == LODE_OK && in->len / 4 * 3 > LODE_TARGET_MAX_ALGO_BYTES + 3)
        rc = fail(c, in, "larger than %u bytes; a flash algorithm is much smaller, check the "
                         "file", LODE_TARGET_MAX_ALGO_BYTES);
    uint8_t *blob = NULL;
    if (rc == LODE_OK && !(blob = lodei_arena_alloc(c->fa, in->len / 4 * 3 + 3)))
        rc = fail_nomem(c);
    if (rc == LODE_OK) {
        size_t bad = 0;
        long n = lodei_base64_decode(in->str, in->len, blob, &bad);
        if (n < 0) {
            char a[8];
            rc = fail(c, in, "not valid base64 at character %zu ('%s'); regenerate the flash "
                             "algorithm", bad + 1,
                      show(in->str + (bad < in->len ? bad : in->len),
                           bad < in->len ? 1 : 0, a, sizeof a));
        } else if (n == 0 || (size_t)n > LODE_TARGET_MAX_ALGO_BYTES) {
            rc = fail(c, in, "decodes to %ld bytes (expected 1 to %u); regenerate the flash "
                             "algorithm", n, LODE_TARGET_MAX_ALGO_BYTES);
        } else {
            al->instructions = blob;
            al->instructions_len = (size_t)n;
        }
    }
    pop(c, old);
    if (rc != LODE_OK)
        return rc;

    if (val[AK_LOAD] && !is_null(val[AK_LOAD])) {
        al->has_load_address = true;
        rc = get_u64(c, val[AK_LOAD], "load_address", UINT64_MAX, &al->load_address);
    }
    if (rc == LODE_OK && val[AK_DLOAD] && !is_null(val[AK_DLOAD])) {
        al->has_data_load_address = true;
        rc = get_u64(c, val[AK_DLOAD], "data_load_address", UINT64_MAX, &al->data_load_address);
    }
    al->pc_stream = LODE_TARGET_PC_NONE; /* lode's own extension: never in a target file */
    static const int pck[] = {AK_INIT, AK_UNINIT, AK_PROG, AK_ERASE, AK_ERASE_ALL};
    uint32_t *pcs[] = {&al->pc_init, &al->pc_uninit, &al->pc_program_page, &al->pc_erase_sector,
                       &al->pc_erase_all};
    for (size_t i = 0; i < 5; i++) {
        *pcs[i] = LODE_TARGET_PC_NONE;
        const ynode_s *pv = val[pck[i]];
        if (rc == LODE_OK && pv && !is_null(pv))
            rc = get_u32(c, pv, keys[pck[i]], LODE_TARGET_PC_NONE - 1, pcs[i]);
        if (rc == LODE_OK)
            rc = check_pc(c, pv, keys[pck[i]], *pcs[i], al->instructions_len);
    }
    if (rc == LODE_OK && (al->pc_program_page == LODE_TARGET_PC_NONE ||
                          al->pc_erase_sector == LODE_TARGET_PC_NONE))
        rc = fail(c, v, "pc_program_page and pc_erase_sector cannot be null; give their "
                        "offsets");
    if (rc == LODE_OK)
        rc = get_u32(c, val[AK_DATA], "data_section_offset", UINT32_MAX,
                     &al->data_section_offset);
    /* past the end of the instructions (as probe-rs writes for algorithms without initialised
     * data): the data section is then empty, the runner keeps zeroed RAM up to it */
    if (rc == LODE_OK && al->data_section_offset > al->instructions_len &&
        al->data_section_offset - al->instructions_len > LODE_TARGET_MAX_ALGO_BYTES) {
        size_t o2 = push_key(c, "data_section_offset");
        rc = fail(c, val[AK_DATA], "0x%x is far past the end of the instructions (%zu bytes); fix "
                                   "the offset", (unsigned)al->data_section_offset,
                  al->instructions_len);
        pop(c, o2);
    }
    if (rc == LODE_OK && val[AK_RTT] && !is_null(val[AK_RTT])) {
        al->has_rtt_location = true;
        rc = get_u64(c, val[AK_RTT], "rtt_location", UINT64_MAX, &al->rtt_location);
    }
    if (rc == LODE_OK && val[AK_STACK] && !is_null(val[AK_STACK])) {
        al->has_stack_size = true;
        rc = get_u32(c, val[AK_STACK], "stack_size", UINT32_MAX, &al->stack_size);
    }
    if (rc == LODE_OK && val[AK_BE])
        rc = get_bool(c, val[AK_BE], "big_endian", &al->big_endian);
    if (rc == LODE_OK)
        rc = get_names(c, val[AK_CORES], "cores", 256, &al->cores, &al->ncores);
    if (rc == LODE_OK)
        rc = parse_flash_props(c, val[AK_PROPS], al);
    return rc;
}

static int parse_family(yctx_s *c, const ynode_s *root, lode_target_family_s *fam)
{
    static const char *const keys[] = {"name", "manufacturer", "chip_detection", "variants",
                                       "flash_algorithms"};
    const ynode_s *val[5];
    int rc = map_scan(c, root, "a chip family {name, variants, flash_algorithms}", keys, 5, val);
    if (rc == LODE_OK && !val[0])
        rc = missing(c, root, "name", "name: <family name>");
    if (rc == LODE_OK && !val[3])
        rc = missing(c, root, "variants", "variants: a list of chips");
    if (rc == LODE_OK)
        rc = get_str(c, val[0], "name", LODE_TARGET_MAX_NAME, false, &fam->name);
    if (rc != LODE_OK)
        return rc;

    if (val[1] && !is_null(val[1])) {
        static const char *const mkeys[] = {"id", "cc"};
        const ynode_s *mv[2];
        size_t old = push_key(c, "manufacturer");
        uint32_t id = 0, cc = 0;
        rc = map_scan(c, val[1], "a JEP106 manufacturer {id, cc}", mkeys, 2, mv);
        if (rc == LODE_OK && !mv[0])
            rc = missing(c, val[1], "id", "id: <JEP106 identity code>");
        if (rc == LODE_OK)
            rc = get_u32(c, mv[0], "id", 0xff, &id);
        if (rc == LODE_OK && mv[1])
            rc = get_u32(c, mv[1], "cc", 0xff, &cc);
        pop(c, old);
        if (rc != LODE_OK)
            return rc;
        fam->has_manufacturer = true;
        fam->manufacturer_id = (uint8_t)id;
        fam->manufacturer_cc = (uint8_t)cc;
    }

    size_t n = 0;
    rc = get_seq(c, val[2], "chip_detection", 256, &n);
    if (rc == LODE_OK && n) {
        const char **det = lodei_arena_calloc(c->fa, n, sizeof *det);
        if (!det)
            return fail_nomem(c);
        for (size_t i = 0; i < n; i++) {
            const ynode_s *e = val[2]->kids[i];
            const char *t = e->tag;
            size_t tl = t ? strlen(t) : 0;
            if (!t && e->type == YN_MAP && e->n == 2 && e->kids[0]->type == YN_SCALAR) {
                t = e->kids[0]->str;
                tl = e->kids[0]->len;
            }
            if (tl > LODE_TARGET_MAX_NAME)
                tl = LODE_TARGET_MAX_NAME;
            det[i] = lodei_arena_strndup(c->fa, t ? t : "", tl);
            if (!det[i])
                return fail_nomem(c);
        }
        fam->chip_detection = det;
        fam->nchip_detection = n;
    }
    if (rc != LODE_OK)
        return rc;

    rc = get_seq(c, val[4], "flash_algorithms", 1024, &n);
    lode_target_flash_algo_s *algos = NULL;
    if (rc == LODE_OK && n && !(algos = lodei_arena_calloc(c->fa, n, sizeof *algos)))
        rc = fail_nomem(c);
    size_t nok = 0;
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        size_t old = push(c, "flash_algorithms[%zu]", i);
        lode_target_flash_algo_s *al = &algos[nok];
        memset(al, 0, sizeof *al);
        /* one bad algorithm must not take the file's chips with it: warn and skip it */
        c->soft = true;
        rc = parse_algo(c, val[4]->kids[i], al);
        c->soft = false;
        if (rc == LODE_E_FORMAT) {
            const ynode_s *an = val[4]->kids[i];
            for (size_t k = 0; !al->name && an->type == YN_MAP && k + 1 < an->n; k += 2)
                if (an->kids[k]->str && !strcmp(an->kids[k]->str, "name") && an->kids[k + 1]->str)
                    al->name = an->kids[k + 1]->str; /* named, though not parsed */
            if (al->name && c->nskipped < sizeof c->skipped / sizeof c->skipped[0])
                c->skipped[c->nskipped++] = al->name;
            c->err = 0;
            rc = LODE_OK;
            pop(c, old);
            continue;
        }
        for (size_t k = 0; rc == LODE_OK && k < nok; k++)
            if (strcmp(algos[k].name, al->name) == 0)
                rc = fail(c, val[4]->kids[i], "a second flash algorithm named '%s'; names must "
                                              "be unique", al->name);
        nok += rc == LODE_OK;
        pop(c, old);
    }
    if (rc != LODE_OK)
        return rc;
    fam->algos = algos;
    fam->nalgos = nok;

    rc = get_seq(c, val[3], "variants", 4096, &n);
    if (rc == LODE_OK && n == 0)
        rc = fail(c, val[3], "variants: the list is empty; describe at least one chip");
    lode_target_variant_s *vars = NULL;
    if (rc == LODE_OK && !(vars = lodei_arena_calloc(c->fa, n, sizeof *vars)))
        rc = fail_nomem(c);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        size_t old = push(c, "variants[%zu]", i);
        rc = parse_variant(c, val[3]->kids[i], fam, &vars[i]);
        for (size_t k = 0; rc == LODE_OK && k < i; k++)
            if (strcmp(vars[k].name, vars[i].name) == 0)
                rc = fail(c, val[3]->kids[i], "a second variant named '%s'; names must be "
                                              "unique", vars[i].name);
        pop(c, old);
    }
    if (rc != LODE_OK)
        return rc;
    fam->variants = vars;
    fam->nvariants = n;
    return LODE_OK;
}

int lodei_target_parse_yaml(const char *yaml, size_t len, const char *source,
                            const lode_log_s *log, lodei_family_s **out)
{
    yctx_s c = {.log = log, .file = source ? source : "<buffer>"};
    if (!yaml && len)
        return fail_code(&c, LODE_E_INVALID_ARG, NULL, "no data (NULL buffer)");
    if (len > LODE_TARGET_MAX_FILE)
        return fail_code(&c, LODE_E_NOMEM, NULL,
                         "%zu bytes, more than the %u allowed for a target description; check "
                         "the file", len, LODE_TARGET_MAX_FILE);
    lodei_family_s *fam = calloc(1, sizeof *fam);
    if (!fam)
        return fail_nomem(&c);
    lodei_arena_s tree = {0};
    c.fa = &fam->arena;
    ynode_s *root = NULL;
    int rc = build_tree(&c, &tree, len ? yaml : "", len, &root);
    if (rc == LODE_OK)
        rc = parse_family(&c, root, &fam->pub);
    if (rc == LODE_OK) {
        fam->pub.source = lodei_arena_strndup(&fam->arena, c.file, strlen(c.file));
        if (!fam->pub.source)
            rc = fail_nomem(&c);
    }
    lodei_arena_free(&tree);
    if (rc != LODE_OK) {
        lodei_family_free(fam);
        return rc;
    }
    *out = fam;
    return LODE_OK;
}
