/* SPDX-License-Identifier: MIT */
/* Boards and AVR parts in lode's own YAML format (lode/board.h): a libyaml event reader for
 * "section: [ {key: text | [text, ...]}, ... ]" and the two entry kinds built from it. */
#include "lode/board.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "lode/error.h"
#include "util/text.h"
#include "target/boardi.h"

#define MAX_KEYS 32u /* keys of one entry */

struct lode_board_db_s {
    lode_log_s log;
    void **blocks; /* every allocation the database owns */
    size_t nblocks, capblocks;
    lode_board_s **boards;
    size_t nboards, capboards;
    lode_avr_part_s **parts;
    size_t nparts, capparts;
};

/* ---- ownership ------------------------------------------------------------------------------- */

/* room for one more element in *arr (n used of *cap) */
static bool grow(void **arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 32;
    void *a = realloc(*arr, c * elem);
    if (!a)
        return false;
    *arr = a;
    *cap = c;
    return true;
}

static void *db_alloc(lode_board_db_s *db, size_t n)
{
    if (!grow((void **)&db->blocks, db->nblocks, &db->capblocks, sizeof *db->blocks))
        return NULL;
    void *p = calloc(1, n ? n : 1);
    if (p)
        db->blocks[db->nblocks++] = p;
    return p;
}

static char *db_strdup(lode_board_db_s *db, const char *s)
{
    size_t n = strlen(s);
    char *p = db_alloc(db, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* ---- the reader -------------------------------------------------------------------------------- */

typedef struct kv_s {
    char key[32];
    char *vals[LODE_BOARD_MAX_LIST];
    size_t nvals;
    bool list;
    size_t line;
} kv_s;

typedef struct entry_s {
    const char *section;
    size_t line;
    kv_s kv[MAX_KEYS];
    size_t nkv;
} entry_s;

typedef struct rd_s {
    lode_board_db_s *db;
    const char *name;
    int err;
    size_t first_board, first_part; /* to undo a failed load */
    size_t first_block;
} rd_s;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int rerr(rd_s *r, size_t line, const char *fmt, ...)
{
    if (r->err)
        return r->err;
    r->err = LODE_E_FORMAT;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lode_log(&r->db->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "%s:%zu: %s", r->name, line, msg);
    return r->err;
}

static void entry_clear(entry_s *e)
{
    for (size_t i = 0; i < e->nkv; i++)
        for (size_t j = 0; j < e->kv[i].nvals; j++)
            free(e->kv[i].vals[j]);
    e->nkv = 0;
}

static const kv_s *get(const entry_s *e, const char *key)
{
    for (size_t i = 0; i < e->nkv; i++)
        if (!strcmp(e->kv[i].key, key))
            return &e->kv[i];
    return NULL;
}

/* ---- entry kinds ------------------------------------------------------------------------------- */

static bool name_taken(const lode_board_db_s *db, const char *n)
{
    for (size_t i = 0; i < db->nboards; i++) {
        if (!strcasecmp(db->boards[i]->name, n))
            return true;
        for (size_t j = 0; j < db->boards[i]->naliases; j++)
            if (!strcasecmp(db->boards[i]->aliases[j], n))
                return true;
    }
    return false;
}

/* a single text value, or NULL (error given) */
static const char *text1(rd_s *r, const entry_s *e, const char *key, bool required)
{
    const kv_s *kv = get(e, key);
    if (!kv) {
        if (required)
            rerr(r, e->line, "%s entry: '%s' is missing; every entry needs it", e->section, key);
        return NULL;
    }
    if (kv->list || kv->nvals != 1) {
        rerr(r, kv->line, "%s: expected one value, found a list", key);
        return NULL;
    }
    return kv->vals[0];
}

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool num(rd_s *r, const entry_s *e, const char *key, bool required, uint32_t lo, uint32_t hi, uint32_t *out)
{
    const kv_s *kv = get(e, key);
    const char *v = text1(r, e, key, required);
    if (!v)
        return !r->err;
    char b[48];
    if (!parse_u32(v, out) || *out < lo || *out > hi) {
        rerr(r, kv->line, "%s: '%s' is not a number in %u..%u", key, lodei_text_shown(v, b, sizeof b), lo, hi);
        return false;
    }
    return true;
}

/* a list (a single value is a list of one) copied into the database */
static bool list_of(rd_s *r, const entry_s *e, const char *key, const char *const **out, size_t *n)
{
    const kv_s *kv = get(e, key);
    *out = NULL;
    *n = 0;
    if (!kv)
        return true;
    char **v = db_alloc(r->db, kv->nvals * sizeof *v);
    if (!v)
        return false;
    for (size_t i = 0; i < kv->nvals; i++)
        if (!(v[i] = db_strdup(r->db, kv->vals[i])))
            return false;
    *out = (const char *const *)v;
    *n = kv->nvals;
    return true;
}

static bool usb_list(rd_s *r, const entry_s *e, const char *key, const lode_usb_id_s **out, size_t *n)
{
    const kv_s *kv = get(e, key);
    *out = NULL;
    *n = 0;
    if (!kv)
        return true;
    lode_usb_id_s *ids = db_alloc(r->db, kv->nvals * sizeof *ids);
    if (!ids)
        return false;
    for (size_t i = 0; i < kv->nvals; i++) {
        unsigned vid, pid;
        char tail, b[48];
        const char *s = kv->vals[i];
        if (strlen(s) != 9 || s[4] != ':' || strspn(s, "0123456789abcdefABCDEF:") != 9 ||
            sscanf(s, "%4x:%4x%c", &vid, &pid, &tail) != 2) {
            rerr(r, kv->line, "%s: '%s' is not a USB ID; write VID:PID as 4 hex digits each (\"2341:0043\")", key,
                 lodei_text_shown(s, b, sizeof b));
            return false;
        }
        ids[i] = (lode_usb_id_s){(uint16_t)vid, (uint16_t)pid};
    }
    *out = ids;
    *n = kv->nvals;
    return true;
}

static const char *const reset_names[LODE_BOARD_RESET_COUNT_] = {
    "none", "dtr-pulse", "1200-baud-touch", "boot0", "134-baud", "double-tap", "button", "debug-probe"};

const char *lode_board_reset_name(lode_board_reset_e r)
{
    return (unsigned)r < LODE_BOARD_RESET_COUNT_ ? reset_names[r] : "?";
}

static bool keys_known(rd_s *r, const entry_s *e, const char *const *keys)
{
    for (size_t i = 0; i < e->nkv; i++) {
        const char *const *k = keys;
        while (*k && strcmp(*k, e->kv[i].key))
            k++;
        if (!*k) {
            char all[300] = "", b[48];
            for (k = keys; *k; k++)
                snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", k == keys ? "" : ", ", *k);
            rerr(r, e->kv[i].line, "%s entry: unknown key '%s'; the keys are %s", e->section,
                 lodei_text_shown(e->kv[i].key, b, sizeof b), all);
            return false;
        }
    }
    return true;
}

static int add_board(rd_s *r, const entry_s *e)
{
    static const char *const keys[] = {"name", "aliases", "description", "chip", "probe", "probes", "bootloader",
                                       "baud", "reset", "usb", "bootloader_usb", "led", "app_offset",
                                       "bootloader_options", NULL};
    lode_board_db_s *db = r->db;
    if (!keys_known(r, e, keys))
        return r->err;
    if (db->nboards >= LODE_BOARD_MAX_ENTRIES)
        return rerr(r, e->line, "more than %u boards; split the data", LODE_BOARD_MAX_ENTRIES);
    lode_board_s *b = db_alloc(db, sizeof *b);
    if (!b)
        return LODE_E_NOMEM;
    const char *name = text1(r, e, "name", true), *desc = text1(r, e, "description", true),
               *chip = text1(r, e, "chip", true), *probe = text1(r, e, "probe", true),
               *boot = text1(r, e, "bootloader", false), *reset = text1(r, e, "reset", false),
               *led = text1(r, e, "led", false);
    if (r->err)
        return r->err;
    if (!num(r, e, "baud", false, 50, 12000000, &b->baud))
        return r->err;
    b->has_app_offset = get(e, "app_offset") != NULL;
    if (!num(r, e, "app_offset", false, 0, 0xFFFFFFFFu, &b->app_offset))
        return r->err;
    char sb[48];
    if (reset) {
        unsigned i = 0;
        while (i < LODE_BOARD_RESET_COUNT_ && strcmp(reset_names[i], reset))
            i++;
        if (i == LODE_BOARD_RESET_COUNT_)
            return rerr(r, get(e, "reset")->line,
                        "reset: '%s' is not a reset method; use none, dtr-pulse, 1200-baud-touch, boot0, 134-baud, "
                        "double-tap, button or debug-probe", lodei_text_shown(reset, sb, sizeof sb));
        b->reset = (lode_board_reset_e)i;
    }
    if (!(b->name = db_strdup(db, name)) || !(b->description = db_strdup(db, desc)) ||
        !(b->chip = db_strdup(db, chip)) || !(b->probe = db_strdup(db, probe)) ||
        (boot && !(b->bootloader = db_strdup(db, boot))) || (led && !(b->led = db_strdup(db, led))) ||
        !(b->source = db_strdup(db, r->name)) || !list_of(r, e, "aliases", &b->aliases, &b->naliases) ||
        !list_of(r, e, "probes", &b->probes, &b->nprobes) ||
        !list_of(r, e, "bootloader_options", &b->bootloader_options, &b->nbootloader_options))
        return r->err ? r->err : LODE_E_NOMEM;
    if (!b->nprobes) { /* the default kind alone */
        b->probes = &b->probe;
        b->nprobes = 1;
    }
    if (!usb_list(r, e, "usb", &b->usb, &b->nusb) ||
        !usb_list(r, e, "bootloader_usb", &b->bootloader_usb, &b->nbootloader_usb))
        return r->err ? r->err : LODE_E_NOMEM;
    if (strchr(name, ':') || strchr(name, '/') || strchr(name, ' '))
        return rerr(r, get(e, "name")->line, "name: '%s' holds ':', '/' or a space; board names are one word",
                    lodei_text_shown(name, sb, sizeof sb));
    if (name_taken(db, name))
        return rerr(r, get(e, "name")->line, "board '%s' is already known; give it another name",
                    lodei_text_shown(name, sb, sizeof sb));
    for (size_t i = 0; i < b->naliases; i++)
        if (name_taken(db, b->aliases[i]) || !strcasecmp(b->aliases[i], name))
            return rerr(r, get(e, "aliases")->line, "alias '%s' is already a board's name or alias; drop it",
                        lodei_text_shown(b->aliases[i], sb, sizeof sb));
    if (!grow((void **)&db->boards, db->nboards, &db->capboards, sizeof *db->boards))
        return LODE_E_NOMEM;
    db->boards[db->nboards++] = b;
    return LODE_OK;
}

static int add_part(rd_s *r, const entry_s *e)
{
    static const char *const keys[] = {"name", "signature", "flash", "page", "eeprom", "boot_sizes", NULL};
    lode_board_db_s *db = r->db;
    if (!keys_known(r, e, keys))
        return r->err;
    if (db->nparts >= LODE_BOARD_MAX_ENTRIES)
        return rerr(r, e->line, "more than %u AVR parts; split the data", LODE_BOARD_MAX_ENTRIES);
    lode_avr_part_s *p = db_alloc(db, sizeof *p);
    if (!p)
        return LODE_E_NOMEM;
    const char *name = text1(r, e, "name", true), *sig = text1(r, e, "signature", true);
    const kv_s *bs = get(e, "boot_sizes");
    if (!bs)
        return rerr(r, e->line, "avr_parts entry: 'boot_sizes' is missing; every entry needs it");
    if (r->err || !num(r, e, "flash", true, 256, 1u << 24, &p->flash_size) ||
        !num(r, e, "page", true, 2, 1024, &p->page_size) || !num(r, e, "eeprom", true, 0, 1u << 20, &p->eeprom_size))
        return r->err;
    char b[48];
    unsigned s[3];
    char tail;
    if (strlen(sig) != 8 || strspn(sig, "0123456789abcdefABCDEF ") != 8 || sig[2] != ' ' || sig[5] != ' ' ||
        sscanf(sig, "%2x %2x %2x%c", &s[0], &s[1], &s[2], &tail) != 3)
        return rerr(r, get(e, "signature")->line, "signature: '%s' is not three hex bytes; write e.g. 1E 95 0F",
                    lodei_text_shown(sig, b, sizeof b));
    if (p->page_size & (p->page_size - 1) || p->flash_size % p->page_size)
        return rerr(r, get(e, "page")->line, "page: %u is not a power of two dividing the flash (%u)", p->page_size,
                    p->flash_size);
    if (bs->nvals != 4)
        return rerr(r, bs->line, "boot_sizes: expected the 4 BOOTSZ choices, found %zu", bs->nvals);
    for (size_t i = 0; i < 4; i++)
        if (!parse_u32(bs->vals[i], &p->boot_sizes[i]) || !p->boot_sizes[i] || p->boot_sizes[i] >= p->flash_size ||
            p->boot_sizes[i] % p->page_size || (i && p->boot_sizes[i] <= p->boot_sizes[i - 1]))
            return rerr(r, bs->line, "boot_sizes: '%s' is not a boot section size (whole pages, ascending, less "
                                     "than the flash)", lodei_text_shown(bs->vals[i], b, sizeof b));
    for (size_t i = 0; i < 3; i++)
        p->signature[i] = (uint8_t)s[i];
    if (lode_avr_part_find(db, name))
        return rerr(r, get(e, "name")->line, "AVR part '%s' is already known; give it another name",
                    lodei_text_shown(name, b, sizeof b));
    if (!(p->name = db_strdup(db, name)) || !(p->source = db_strdup(db, r->name)))
        return LODE_E_NOMEM;
    if (!grow((void **)&db->parts, db->nparts, &db->capparts, sizeof *db->parts))
        return LODE_E_NOMEM;
    db->parts[db->nparts++] = p;
    return LODE_OK;
}

static int add_entry(rd_s *r, const entry_s *e)
{
    return !strcmp(e->section, "boards") ? add_board(r, e) : add_part(r, e);
}

/* states of the reader */
enum { S_DOC, S_SECTION_KEY, S_SECTION_SEQ, S_ENTRY, S_KEY, S_VALUE, S_LIST, S_DONE };

static int read_events(rd_s *r, yaml_parser_t *y, entry_s *e)
{
    int state = S_DOC;
    size_t docs = 0;
    char section[16] = "";
    char b[48];
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(y, &ev))
            return rerr(r, y->problem_mark.line + 1, "YAML syntax error: %s; fix the YAML syntax",
                        y->problem ? y->problem : "unknown");
        size_t line = ev.start_mark.line + 1;
        const char *v = ev.type == YAML_SCALAR_EVENT ? (const char *)ev.data.scalar.value : "";
        size_t vlen = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.length : 0;
        bool stop = false;
        if (ev.type == YAML_SCALAR_EVENT && (memchr(v, 0, vlen) || vlen >= LODE_BOARD_MAX_TEXT)) {
            rerr(r, line, "a value is longer than %u bytes or holds a NUL", LODE_BOARD_MAX_TEXT - 1);
        } else if (ev.type == YAML_ALIAS_EVENT) {
            rerr(r, line, "YAML aliases are not supported; write the value out");
        } else {
            switch (ev.type) {
            case YAML_STREAM_START_EVENT:
            case YAML_DOCUMENT_END_EVENT:
                break;
            case YAML_DOCUMENT_START_EVENT:
                if (docs++)
                    rerr(r, line, "a second YAML document; keep one");
                break;
            case YAML_STREAM_END_EVENT:
                stop = true;
                break;
            case YAML_MAPPING_START_EVENT:
                if (state == S_DOC)
                    state = S_SECTION_KEY;
                else if (state == S_ENTRY) {
                    e->line = line;
                    e->section = !strcmp(section, "boards") ? "boards" : "avr_parts";
                    state = S_KEY;
                } else
                    rerr(r, line, "unexpected mapping; %s", state == S_VALUE || state == S_LIST
                                                                 ? "a value is text or a list of text"
                                                                 : "see lode/board.h for the layout");
                break;
            case YAML_MAPPING_END_EVENT:
                if (state == S_KEY) {
                    int rc = add_entry(r, e);
                    entry_clear(e);
                    if (rc != LODE_OK && !r->err)
                        r->err = rc;
                    state = S_ENTRY;
                } else {
                    state = S_DONE;
                }
                break;
            case YAML_SEQUENCE_START_EVENT:
                if (state == S_SECTION_SEQ)
                    state = S_ENTRY;
                else if (state == S_VALUE) {
                    e->kv[e->nkv - 1].list = true;
                    state = S_LIST;
                } else
                    rerr(r, line, "unexpected list; %s",
                         state == S_DOC ? "a data file is a mapping of sections (boards:, avr_parts:)"
                                        : "a value is text or a list of text");
                break;
            case YAML_SEQUENCE_END_EVENT:
                state = state == S_LIST ? S_KEY : S_SECTION_KEY;
                break;
            case YAML_SCALAR_EVENT:
                if (state == S_DOC) {
                    if (vlen || !ev.data.scalar.plain_implicit)
                        rerr(r, line, "expected a mapping of sections (boards:, avr_parts:), found '%s'",
                             lodei_text_shown(v, b, sizeof b));
                } else if (state == S_SECTION_KEY) {
                    if (strcmp(v, "boards") && strcmp(v, "avr_parts"))
                        rerr(r, line, "unknown section '%s'; a data file has boards: and avr_parts:",
                             lodei_text_shown(v, b, sizeof b));
                    snprintf(section, sizeof section, "%s", v);
                    state = S_SECTION_SEQ;
                } else if (state == S_SECTION_SEQ) {
                    if (vlen || !ev.data.scalar.plain_implicit)
                        rerr(r, line, "%s: expected a list of entries", section);
                    state = S_SECTION_KEY; /* an empty section */
                } else if (state == S_ENTRY) {
                    rerr(r, line, "%s: expected an entry (a mapping of keys), found '%s'", section,
                         lodei_text_shown(v, b, sizeof b));
                } else if (state == S_KEY) {
                    if (vlen >= sizeof e->kv[0].key || get(e, v))
                        rerr(r, line, "%s key '%s' %s", section, lodei_text_shown(v, b, sizeof b),
                             get(e, v) ? "appears twice in one entry; keep one" : "is too long to be a key");
                    else if (e->nkv >= MAX_KEYS)
                        rerr(r, line, "more than %u keys in one entry", MAX_KEYS);
                    else {
                        kv_s *kv = &e->kv[e->nkv++];
                        memset(kv, 0, sizeof *kv);
                        memcpy(kv->key, v, vlen + 1);
                        kv->line = line;
                        state = S_VALUE;
                    }
                } else if (state == S_VALUE || state == S_LIST) {
                    kv_s *kv = &e->kv[e->nkv - 1];
                    if (kv->nvals >= LODE_BOARD_MAX_LIST)
                        rerr(r, line, "%s: more than %u values", kv->key, LODE_BOARD_MAX_LIST);
                    else if (!vlen)
                        rerr(r, line, "%s: an empty value; give one or remove the key", kv->key);
                    else if (!(kv->vals[kv->nvals] = strdup(v)))
                        r->err = LODE_E_NOMEM;
                    else
                        kv->nvals++;
                    if (state == S_VALUE)
                        state = S_KEY;
                } else {
                    rerr(r, line, "text after the sections; a data file is one mapping");
                }
                break;
            default:
                break;
            }
        }
        yaml_event_delete(&ev);
        if (r->err || stop)
            return r->err;
    }
}

int lode_board_db_load_buffer(lode_board_db_s *db, const char *text, size_t len, const char *name)
{
    if (!db || (!text && len))
        return LODE_E_INVALID_ARG;
    rd_s r = {.db = db, .name = name ? name : "<buffer>", .first_board = db->nboards, .first_part = db->nparts,
              .first_block = db->nblocks};
    if (len > LODE_BOARD_MAX_FILE)
        return rerr(&r, 1, "larger than %u bytes; split it", LODE_BOARD_MAX_FILE);
    entry_s *e = calloc(1, sizeof *e);
    yaml_parser_t y;
    if (!e || !yaml_parser_initialize(&y)) {
        free(e);
        return LODE_E_NOMEM;
    }
    /* the name must outlive this call: entries point at a copy (made before the entries) */
    char *keep = db_strdup(db, r.name);
    if (!keep)
        r.err = LODE_E_NOMEM;
    else
        r.name = keep;
    yaml_parser_set_input_string(&y, (const unsigned char *)(text ? text : ""), len);
    int rc = r.err ? r.err : read_events(&r, &y, e);
    entry_clear(e);
    free(e);
    yaml_parser_delete(&y);
    if (rc != LODE_OK) {
        /* undo: the entries and blocks of this load */
        db->nboards = r.first_board;
        db->nparts = r.first_part;
        for (size_t i = r.first_block; i < db->nblocks; i++)
            free(db->blocks[i]);
        db->nblocks = r.first_block;
    }
    return rc;
}

int lode_board_db_load_file(lode_board_db_s *db, const char *path)
{
    if (!db || !path)
        return LODE_E_INVALID_ARG;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lode_log(&db->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "%s: cannot read it: %s", path, strerror(e));
        return e == ENOENT ? LODE_E_NO_DEVICE : LODE_E_IO;
    }
    char *buf = malloc(LODE_BOARD_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, LODE_BOARD_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!buf)
        return LODE_E_NOMEM;
    int rc = lode_board_db_load_buffer(db, buf, n, path);
    free(buf);
    return rc;
}

int lode_board_db_new_empty(const lode_log_s *log, lode_board_db_s **out)
{
    if (!out)
        return LODE_E_INVALID_ARG;
    lode_board_db_s *db = calloc(1, sizeof *db);
    if (!db)
        return LODE_E_NOMEM;
    if (log)
        db->log = *log;
    *out = db;
    return LODE_OK;
}

int lode_board_db_new(const lode_log_s *log, lode_board_db_s **out)
{
    lode_board_db_s *db = NULL;
    int rc = lode_board_db_new_empty(log, &db);
    for (size_t i = 0; rc == LODE_OK && i < lodei_data_files_count; i++)
        rc = lode_board_db_load_buffer(db, lodei_data_files[i].text, lodei_data_files[i].len,
                                       lodei_data_files[i].name);
    if (rc != LODE_OK) {
        lode_board_db_free(db);
        return rc;
    }
    *out = db;
    return LODE_OK;
}

void lode_board_db_free(lode_board_db_s *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->nblocks; i++)
        free(db->blocks[i]);
    free(db->blocks);
    free(db->boards);
    free(db->parts);
    free(db);
}

size_t lode_board_count(const lode_board_db_s *db) { return db ? db->nboards : 0; }

const lode_board_s *lode_board_at(const lode_board_db_s *db, size_t i)
{
    return db && i < db->nboards ? db->boards[i] : NULL;
}

int lode_board_find(const lode_board_db_s *db, const char *name, const lode_board_s **out)
{
    if (!db || !name || !out)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < db->nboards; i++) {
        const lode_board_s *b = db->boards[i];
        bool hit = !strcasecmp(b->name, name);
        for (size_t j = 0; !hit && j < b->naliases; j++)
            hit = !strcasecmp(b->aliases[j], name);
        if (hit) {
            *out = b;
            return LODE_OK;
        }
    }
    return LODE_E_NO_DEVICE;
}

size_t lode_avr_part_count(const lode_board_db_s *db) { return db ? db->nparts : 0; }

const lode_avr_part_s *lode_avr_part_at(const lode_board_db_s *db, size_t i)
{
    return db && i < db->nparts ? db->parts[i] : NULL;
}

const lode_avr_part_s *lode_avr_part_find(const lode_board_db_s *db, const char *name)
{
    for (size_t i = 0; db && name && i < db->nparts; i++)
        if (!strcasecmp(db->parts[i]->name, name))
            return db->parts[i];
    return NULL;
}

const lode_avr_part_s *lode_avr_part_by_signature(const lode_board_db_s *db, const uint8_t sig[3])
{
    for (size_t i = 0; db && sig && i < db->nparts; i++)
        if (!memcmp(db->parts[i]->signature, sig, 3))
            return db->parts[i];
    return NULL;
}

/* "...:DIGITS" at the end */
static bool ends_with_baud(const char *s)
{
    const char *c = strrchr(s, ':');
    return c && c[1] && strspn(c + 1, "0123456789") == strlen(c + 1);
}

/* ":OPT" unless spec already has it (between colons) */
static int add_option(char *out, size_t cap, const char *opt)
{
    size_t ol = strlen(opt), n = strlen(out);
    for (const char *p = strchr(out, ':'); p; p = strchr(p + 1, ':'))
        if (!strncasecmp(p + 1, opt, ol) && (p[1 + ol] == ':' || !p[1 + ol]))
            return LODE_OK;
    int k = snprintf(out + n, cap - n, ":%s", opt);
    return k < 0 || (size_t)k >= cap - n ? LODE_E_INVALID_ARG : LODE_OK;
}

int lode_board_probe_spec(const lode_board_s *board, const char *given, char *out, size_t cap)
{
    if (!board || !out || !cap)
        return LODE_E_INVALID_ARG;
    const char *boot = board->bootloader ? board->bootloader : board->probe;
    int n;
    bool ours = false; /* a spec of the board's bootloader */
    if (!given || !*given) {
        n = snprintf(out, cap, "%s", board->probe);
    } else if (given[0] == '/' || !strncmp(given, "./", 2)) { /* a bare port */
        n = board->baud ? snprintf(out, cap, "%s:%s:%u", boot, given, (unsigned)board->baud)
                        : snprintf(out, cap, "%s:%s", boot, given);
        ours = true;
    } else {
        size_t kl = strlen(boot);
        bool same_kind = board->bootloader && !strncasecmp(given, boot, kl) && given[kl] == ':' && given[kl + 1];
        n = same_kind && board->baud && !ends_with_baud(given + kl + 1)
                ? snprintf(out, cap, "%s:%u", given, (unsigned)board->baud)
                : snprintf(out, cap, "%s", given);
        ours = same_kind;
    }
    if (n < 0 || (size_t)n >= cap)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; ours && i < board->nbootloader_options; i++)
        if (add_option(out, cap, board->bootloader_options[i]) != LODE_OK)
            return LODE_E_INVALID_ARG;
    if (ours && board->has_app_offset && !strstr(out, ":offset=")) {
        char opt[32];
        snprintf(opt, sizeof opt, "offset=0x%x", (unsigned)board->app_offset);
        return add_option(out, cap, opt);
    }
    return LODE_OK;
}
