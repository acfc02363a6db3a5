/* SPDX-License-Identifier: MIT */
/* The chip database: families, resolved chips, lookups by name and address, sector
 * geometry, chip detection tables. */
#include <ctype.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/target.h"
#include "target/targeti.h"

/* ---------------------------------------------------------------------------------------- */
/* Arena                                                                                    */

struct lodei_arena_blk_s {
    lodei_arena_blk_s *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

#define ARENA_BLOCK 65536u
#define ARENA_ALIGN (alignof(max_align_t))

void *lodei_arena_alloc(lodei_arena_s *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX / 2)
        return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    lodei_arena_blk_s *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
        if (a->cap && a->total + cap > a->cap)
            return NULL;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        a->total += cap;
        if (cap == size && a->head) {
            /* a big one-off: keep filling the current block afterwards */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *lodei_arena_calloc(lodei_arena_s *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return lodei_arena_alloc(a, n * size);
}

char *lodei_arena_strndup(lodei_arena_s *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = lodei_arena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

void lodei_arena_free(lodei_arena_s *a)
{
    lodei_arena_blk_s *b = a->head;
    while (b) {
        lodei_arena_blk_s *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Base64                                                                                   */

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

long lodei_base64_decode(const char *s, size_t len, uint8_t *out, size_t *bad_at)
{
    uint32_t acc = 0;
    unsigned nacc = 0; /* sextets in acc */
    size_t o = 0, pad = 0, last = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
            continue;
        if (ch == '=') {
            if (nacc < 2 || nacc + pad >= 4) {
                *bad_at = i;
                return -1;
            }
            pad++;
            last = i;
            continue;
        }
        int v = b64val(ch);
        if (v < 0 || pad) {
            *bad_at = i;
            return -1;
        }
        last = i;
        acc = (acc << 6) | (uint32_t)v;
        if (++nacc == 4) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
            nacc = 0;
        }
    }
    if (pad && nacc + pad != 4) {
        *bad_at = last;
        return -1;
    }
    if (nacc == 1) {
        *bad_at = last;
        return -1;
    }
    if (nacc == 2) {
        if (acc & 0xf) { /* leftover bits must be zero */
            *bad_at = last;
            return -1;
        }
        out[o++] = (uint8_t)(acc >> 4);
    } else if (nacc == 3) {
        if (acc & 0x3) {
            *bad_at = last;
            return -1;
        }
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    return (long)o;
}

/* ---------------------------------------------------------------------------------------- */
/* Database                                                                                 */

struct lode_target_db_s {
    lode_log_s log;
    lodei_family_s **fams; /* in load order: built-ins first */
    size_t nfams, capfams;
    const lode_target_chip_s **chips; /* newest family first */
    size_t nchips;
};

void lodei_family_free(lodei_family_s *fam)
{
    if (!fam)
        return;
    lodei_arena_free(&fam->arena);
    free(fam);
}

static int err_msg(const lode_target_db_s *db, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int err_msg(const lode_target_db_s *db, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (db)
        lode_logv(&db->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, fmt, ap);
    va_end(ap);
    return code;
}

static bool range_has(uint64_t start, uint64_t end, uint64_t a)
{
    return a >= start && a < end;
}

static const lode_target_mem_s *boot_nvm(const lode_target_mem_s *m, size_t n)
{
    const lode_target_mem_s *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (m[i].kind != LODE_TARGET_MEM_NVM)
            continue;
        if (m[i].access.boot)
            return &m[i];
        if (!first)
            first = &m[i];
    }
    return first;
}

/* Resolves the variants' algorithm names into ordered pointer lists (see target.h). */
static int build_chips(lode_target_db_s *db, lodei_family_s *f)
{
    const lode_target_family_s *fam = &f->pub;
    f->chips = lodei_arena_calloc(&f->arena, fam->nvariants ? fam->nvariants : 1,
                                  sizeof *f->chips);
    if (!f->chips)
        return LODE_E_NOMEM;
    for (size_t v = 0; v < fam->nvariants; v++) {
        const lode_target_variant_s *var = &fam->variants[v];
        lode_target_chip_s *chip = &f->chips[v];
        size_t nn = var->nflash_algorithm_names;
        const lode_target_flash_algo_s **found = lodei_arena_calloc(&f->arena, nn + 1,
                                                                    sizeof *found);
        const char **miss = lodei_arena_calloc(&f->arena, nn + 1, sizeof *miss);
        const lode_target_flash_algo_s **ordered = lodei_arena_calloc(&f->arena, nn + 1,
                                                                      sizeof *ordered);
        if (!found || !miss || !ordered)
            return LODE_E_NOMEM;
        size_t nfound = 0, nmiss = 0;
        for (size_t i = 0; i < nn; i++) {
            const char *name = var->flash_algorithm_names[i];
            const lode_target_flash_algo_s *al = NULL;
            for (size_t k = 0; k < fam->nalgos && !al; k++)
                if (strcmp(fam->algos[k].name, name) == 0)
                    al = &fam->algos[k];
            bool dup = false;
            for (size_t k = 0; k < nfound && al; k++)
                dup |= found[k] == al;
            if (al && !dup)
                found[nfound++] = al;
            else if (!al)
                miss[nmiss++] = name;
        }
        const lode_target_mem_s *boot = boot_nvm(var->memory, var->nmemory);
        size_t no = 0;
        for (int group = 0; group < 3; group++) {
            for (size_t k = 0; k < nfound; k++) {
                const lode_target_flash_algo_s *al = found[k];
                bool covers = boot && range_has(al->flash_start, al->flash_end, boot->start);
                int g = al->is_default ? 0 : covers ? 1 : 2;
                if (g == group)
                    ordered[no++] = al;
            }
        }
        *chip = (lode_target_chip_s){
            .name = var->name,
            .family = fam,
            .variant = var,
            .memory = var->memory,
            .nmemory = var->nmemory,
            .algos = ordered,
            .nalgos = no,
            .missing_algos = miss,
            .nmissing_algos = nmiss,
            .db = db,
        };
    }
    return LODE_OK;
}

static int rebuild_chip_list(lode_target_db_s *db)
{
    size_t n = 0;
    for (size_t i = 0; i < db->nfams; i++) {
        if (db->fams[i]->pub.nvariants > SIZE_MAX / sizeof *db->chips - n - 1)
            return LODE_E_NOMEM;
        n += db->fams[i]->pub.nvariants;
    }
    const lode_target_chip_s **chips = malloc((n ? n : 1) * sizeof *chips);
    if (!chips)
        return LODE_E_NOMEM;
    size_t o = 0;
    for (size_t i = db->nfams; i-- > 0;)
        for (size_t v = 0; v < db->fams[i]->pub.nvariants; v++)
            chips[o++] = &db->fams[i]->chips[v];
    free(db->chips);
    db->chips = chips;
    db->nchips = n;
    return LODE_OK;
}

int lodei_target_db_add(lode_target_db_s *db, lodei_family_s *fam)
{
    int rc = LODE_OK;
    if (db->nfams >= LODE_TARGET_MAX_FAMILIES) {
        rc = err_msg(db, LODE_E_NOMEM, "%s: the chip database already holds %u families; "
                     "load fewer files", fam->pub.source, LODE_TARGET_MAX_FAMILIES);
        goto fail;
    }
    rc = build_chips(db, fam);
    if (rc != LODE_OK)
        goto nomem;
    if (db->nfams == db->capfams) {
        size_t ncap = db->capfams ? db->capfams * 2 : 8;
        lodei_family_s **nf = realloc(db->fams, ncap * sizeof *nf);
        if (!nf)
            goto nomem;
        db->fams = nf;
        db->capfams = ncap;
    }
    db->fams[db->nfams++] = fam;
    rc = rebuild_chip_list(db);
    if (rc != LODE_OK) {
        db->nfams--;
        goto nomem;
    }
    return LODE_OK;
nomem:
    rc = err_msg(db, LODE_E_NOMEM, "%s: out of memory; free some memory and retry",
                 fam->pub.source);
fail:
    lodei_family_free(fam);
    return rc;
}

int lode_target_db_new(const lode_log_s *log, lode_target_db_s **out)
{
    if (!out)
        return LODE_E_INVALID_ARG;
    lode_target_db_s *db = calloc(1, sizeof *db);
    if (!db) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                 "chip database: out of memory; free some memory and retry");
        return LODE_E_NOMEM;
    }
    if (log)
        db->log = *log;
    int rc = lodei_target_add_builtins(db, log);
    if (rc != LODE_OK) {
        lode_target_db_free(db);
        return rc;
    }
    *out = db;
    return LODE_OK;
}

void lode_target_db_free(lode_target_db_s *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->nfams; i++)
        lodei_family_free(db->fams[i]);
    free(db->fams);
    free(db->chips);
    free(db);
}

int lode_target_db_load_buffer(lode_target_db_s *db, const char *yaml, size_t len,
                               const char *name_for_messages)
{
    if (!db)
        return LODE_E_INVALID_ARG;
    lodei_family_s *fam = NULL;
    int rc = lodei_target_parse_yaml(yaml, len, name_for_messages, &db->log, &fam);
    if (rc != LODE_OK)
        return rc;
    return lodei_target_db_add(db, fam);
}

int lode_target_db_load_file(lode_target_db_s *db, const char *path)
{
    if (!db)
        return LODE_E_INVALID_ARG;
    if (!path || !path[0])
        return err_msg(db, LODE_E_INVALID_ARG, "no target description file given");
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return err_msg(db, e == ENOENT ? LODE_E_NO_DEVICE : LODE_E_IO,
                       "%s: cannot open: %s; check the path", path, strerror(e));
    }
    char *buf = malloc((size_t)LODE_TARGET_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return err_msg(db, LODE_E_NOMEM, "%s: out of memory; free some memory and retry",
                       path);
    }
    size_t n = fread(buf, 1, (size_t)LODE_TARGET_MAX_FILE + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = err_msg(db, LODE_E_IO, "%s: read error; check the file", path);
    else if (n > LODE_TARGET_MAX_FILE)
        rc = err_msg(db, LODE_E_NOMEM, "%s: larger than %u bytes, too big for a target "
                     "description; check the file", path, LODE_TARGET_MAX_FILE);
    else
        rc = lode_target_db_load_buffer(db, buf, n, path);
    free(buf);
    return rc;
}

size_t lode_target_family_count(const lode_target_db_s *db)
{
    return db ? db->nfams : 0;
}

const lode_target_family_s *lode_target_family_at(const lode_target_db_s *db, size_t i)
{
    return db && i < db->nfams ? &db->fams[i]->pub : NULL;
}

size_t lode_target_chips_count(const lode_target_db_s *db)
{
    return db ? db->nchips : 0;
}

const lode_target_chip_s *lode_target_chips_at(const lode_target_db_s *db, size_t i)
{
    return db && i < db->nchips ? db->chips[i] : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Lookup by name                                                                           */

static bool ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

static bool iprefix(const char *prefix, const char *s)
{
    for (; *prefix; prefix++, s++)
        if (!*s || tolower((unsigned char)*prefix) != tolower((unsigned char)*s))
            return false;
    return true;
}

/* `pat` from the database: lowercase 'x' (package) or '?' (detection) match any character. */
static bool wild_eq(const char *pat, const char *s, char wild)
{
    for (; *pat && *s; pat++, s++)
        if (*pat != wild && tolower((unsigned char)*pat) != tolower((unsigned char)*s))
            return false;
    return *pat == *s;
}

int lode_target_find_chip(const lode_target_db_s *db, const char *name,
                          const lode_target_chip_s **out)
{
    if (!db || !out)
        return LODE_E_INVALID_ARG;
    size_t nlen = name ? strnlen(name, LODE_TARGET_MAX_NAME + 1) : 0;
    if (nlen == 0 || nlen > LODE_TARGET_MAX_NAME)
        return err_msg(db, LODE_E_INVALID_ARG, "chip name %s; give a chip name such as "
                       "STM32F103C8", nlen ? "too long" : "empty");
    for (size_t i = 0; i < db->nchips; i++) {
        if (ieq(db->chips[i]->name, name)) {
            *out = db->chips[i];
            return LODE_OK;
        }
    }
    for (size_t i = 0; i < db->nchips; i++) {
        const lode_target_variant_s *v = db->chips[i]->variant;
        for (size_t k = 0; k < v->npackage_variants; k++) {
            if (wild_eq(v->package_variants[k], name, 'x')) {
                *out = db->chips[i];
                return LODE_OK;
            }
        }
    }
    /* unique prefix; the same name in several families counts once (newest wins) */
    const lode_target_chip_s *first = NULL;
    size_t ndistinct = 0;
    char list[320];
    size_t lo = 0;
    list[0] = 0;
    for (size_t i = 0; i < db->nchips; i++) {
        const lode_target_chip_s *ch = db->chips[i];
        if (!iprefix(name, ch->name))
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(db->chips[k]->name, ch->name) == 0 && iprefix(name, db->chips[k]->name);
        if (seen)
            continue;
        if (!first)
            first = ch;
        ndistinct++;
        if (ndistinct <= 8 && lo < sizeof list) {
            int w = snprintf(list + lo, sizeof list - lo, "%s%s", lo ? ", " : "", ch->name);
            if (w > 0)
                lo += (size_t)w;
        }
    }
    if (ndistinct == 1) {
        *out = first;
        return LODE_OK;
    }
    if (ndistinct > 1) {
        char more[48] = "";
        if (ndistinct > 8)
            snprintf(more, sizeof more, " and %zu more", ndistinct - 8);
        return err_msg(db, LODE_E_INVALID_ARG,
                       "chip name '%.64s' is ambiguous: it could be %s%s; give the full name",
                       name, list, more);
    }
    return err_msg(db, LODE_E_NO_DEVICE,
                   "unknown chip '%.64s': no built-in or loaded description has it; check the "
                   "spelling or load the probe-rs target YAML of its family", name);
}

/* ---------------------------------------------------------------------------------------- */
/* Regions, algorithms, sectors                                                             */

const lode_target_mem_s *lode_target_chip_region_at(const lode_target_chip_s *chip,
                                                    uint64_t address)
{
    if (!chip)
        return NULL;
    for (size_t i = 0; i < chip->nmemory; i++)
        if (range_has(chip->memory[i].start, chip->memory[i].end, address))
            return &chip->memory[i];
    return NULL;
}

const lode_target_mem_s *lode_target_chip_boot_nvm(const lode_target_chip_s *chip)
{
    return chip ? boot_nvm(chip->memory, chip->nmemory) : NULL;
}

size_t lode_target_chip_main_flash(const lode_target_chip_s *chip, uint64_t *start, uint64_t *end)
{
    const lode_target_mem_s *b = lode_target_chip_boot_nvm(chip);
    if (!b)
        return 0;
    uint64_t s = b->start, e = b->end;
    size_t banks = 1;
    for (bool grew = true; grew;) { /* regions in any order: extend until nothing adjoins */
        grew = false;
        for (size_t k = 0; k < chip->nmemory; k++) {
            const lode_target_mem_s *m = &chip->memory[k];
            if (m->kind != LODE_TARGET_MEM_NVM || m->is_alias || m == b)
                continue;
            if (m->start == e) {
                e = m->end;
                grew = true;
                banks++;
            } else if (m->end == s) {
                s = m->start;
                grew = true;
                banks++;
            }
        }
    }
    *start = s;
    *end = e;
    return banks;
}

const lode_target_flash_algo_s *lode_target_flash_algo_for(const lode_target_chip_s *chip,
                                                           uint64_t address)
{
    if (!chip)
        return NULL;
    for (size_t i = 0; i < chip->nalgos; i++) {
        const lode_target_flash_algo_s *al = chip->algos[i];
        if (!range_has(al->flash_start, al->flash_end, address))
            continue;
        bool overlaps = false, inside = false;
        for (size_t k = 0; k < chip->nmemory; k++) {
            const lode_target_mem_s *m = &chip->memory[k];
            if (m->kind != LODE_TARGET_MEM_NVM || m->is_alias)
                continue;
            if (m->start < al->flash_end && al->flash_start < m->end) {
                overlaps = true;
                inside |= range_has(m->start, m->end, address);
            }
        }
        if (!overlaps || inside)
            return al;
    }
    return NULL;
}

int lode_target_flash_algo_get(const lode_target_chip_s *chip, uint64_t address,
                               const lode_target_flash_algo_s **out)
{
    if (!chip || !out)
        return LODE_E_INVALID_ARG;
    const lode_target_flash_algo_s *al = lode_target_flash_algo_for(chip, address);
    if (al) {
        *out = al;
        return LODE_OK;
    }
    const lode_target_mem_s *m = lode_target_chip_region_at(chip, address);
    unsigned long long a = (unsigned long long)address;
    if (!m || m->kind != LODE_TARGET_MEM_NVM) {
        const lode_target_mem_s *b = lode_target_chip_boot_nvm(chip);
        if (b)
            return err_msg(chip->db, LODE_E_RANGE,
                           "%s: 0x%08llx is not in flash (%s is 0x%08llx-0x%08llx); check the "
                           "image's load addresses", chip->name, a, b->name[0] ? b->name : "flash",
                           (unsigned long long)b->start, (unsigned long long)(b->end - 1));
        return err_msg(chip->db, LODE_E_RANGE,
                       "%s: 0x%08llx is not in flash (the chip description has no flash); check "
                       "the image's load addresses", chip->name, a);
    }
    if (chip->nmissing_algos)
        return err_msg(chip->db, LODE_E_UNSUPPORTED,
                       "%s: cannot program 0x%08llx: lode's flash algorithm '%s' is not in this "
                       "build; build firmware/flash-algos or load a probe-rs target YAML for "
                       "the chip", chip->name, a, chip->missing_algos[0]);
    return err_msg(chip->db, LODE_E_UNSUPPORTED,
                   "%s: no flash algorithm covers 0x%08llx; load a probe-rs target YAML whose "
                   "flash_algorithms cover it", chip->name, a);
}

int lode_target_sector_at(const lode_target_flash_algo_s *algo, uint64_t address,
                          uint64_t *start, uint64_t *size)
{
    if (!algo || !start || !size)
        return LODE_E_INVALID_ARG;
    if (!range_has(algo->flash_start, algo->flash_end, address) || algo->nsectors == 0)
        return LODE_E_RANGE;
    uint64_t off = address - algo->flash_start;
    uint64_t span = algo->flash_end - algo->flash_start;
    for (size_t i = algo->nsectors; i-- > 0;) {
        const lode_target_sector_s *s = &algo->sectors[i];
        if (off < s->address)
            continue;
        if (s->size == 0)
            return LODE_E_RANGE;
        uint64_t run_end = i + 1 < algo->nsectors ? algo->sectors[i + 1].address : span;
        if (run_end > span)
            run_end = span;
        uint64_t sec = s->address + (off - s->address) / s->size * s->size;
        uint64_t len = run_end - sec < s->size ? run_end - sec : s->size;
        *start = algo->flash_start + sec;
        *size = len;
        return LODE_OK;
    }
    return LODE_E_RANGE;
}

/* ---------------------------------------------------------------------------------------- */
/* Detection                                                                                */

#define F1_FLASH_SIZE 0x1FFFF7E0u
#define F4_FLASH_SIZE 0x1FFF7A22u
#define L4_FLASH_SIZE 0x1FFF75E0u

static const char *const p_f1_low[] = {"STM32F103?4", "STM32F103?6", "STM32F101?4",
                                       "STM32F101?6", "STM32F102?4", "STM32F102?6", NULL};
static const char *const p_f1_med[] = {"STM32F103?8", "STM32F103?B", "STM32F101?8",
                                       "STM32F101?B", "STM32F102?8", "STM32F102?B", NULL};
static const char *const p_f1_high[] = {"STM32F103?C", "STM32F103?D", "STM32F103?E",
                                        "STM32F101?C", "STM32F101?D", "STM32F101?E", NULL};
static const char *const p_f1_xl[] = {"STM32F103?F", "STM32F103?G", "STM32F101?F",
                                      "STM32F101?G", NULL};
static const char *const p_f1_conn[] = {"STM32F105??", "STM32F107??", NULL};
static const char *const p_f1_vl[] = {"STM32F100?4", "STM32F100?6", "STM32F100?8",
                                      "STM32F100?B", NULL};
static const char *const p_f1_vlh[] = {"STM32F100?C", "STM32F100?D", "STM32F100?E", NULL};
static const char *const p_f40x[] = {"STM32F407??", "STM32F405??", "STM32F415??",
                                     "STM32F417??", NULL};
static const char *const p_f42x[] = {"STM32F429??", "STM32F427??", "STM32F437??",
                                     "STM32F439??", NULL};
static const char *const p_f411[] = {"STM32F411??", NULL};
static const char *const p_l47x[] = {"STM32L476??", "STM32L475??", "STM32L471??",
                                     "STM32L486??", NULL};

static const struct {
    uint16_t dev_id;
    lode_target_id_s id;
} stm32_ids[] = {
    {0x412, {"STM32F1 Series", "STM32F10x low density", p_f1_low, F1_FLASH_SIZE}},
    {0x410, {"STM32F1 Series", "STM32F10x medium density", p_f1_med, F1_FLASH_SIZE}},
    {0x414, {"STM32F1 Series", "STM32F10x high density", p_f1_high, F1_FLASH_SIZE}},
    {0x430, {"STM32F1 Series", "STM32F10x XL density", p_f1_xl, F1_FLASH_SIZE}},
    {0x418, {"STM32F1 Series", "STM32F105/107 connectivity line", p_f1_conn, F1_FLASH_SIZE}},
    {0x420, {"STM32F1 Series", "STM32F100 value line, low/medium density", p_f1_vl,
             F1_FLASH_SIZE}},
    {0x428, {"STM32F1 Series", "STM32F100 value line, high density", p_f1_vlh, F1_FLASH_SIZE}},
    {0x413, {"STM32F4 Series", "STM32F405/407/415/417", p_f40x, F4_FLASH_SIZE}},
    {0x419, {"STM32F4 Series", "STM32F427/429/437/439", p_f42x, F4_FLASH_SIZE}},
    {0x431, {"STM32F4 Series", "STM32F411", p_f411, F4_FLASH_SIZE}},
    {0x415, {"STM32L4 Series", "STM32L47x/48x", p_l47x, L4_FLASH_SIZE}},
};

int lode_target_detect_stm32(uint32_t idcode, const lode_target_id_s **out)
{
    if (!out)
        return LODE_E_INVALID_ARG;
    uint16_t dev = (uint16_t)(idcode & 0xfff);
    for (size_t i = 0; i < sizeof stm32_ids / sizeof stm32_ids[0]; i++) {
        if (stm32_ids[i].dev_id == dev) {
            *out = &stm32_ids[i].id;
            return LODE_OK;
        }
    }
    return LODE_E_UNSUPPORTED;
}

static const char *const p_52832aa[] = {"nRF52832_xxAA", NULL};
static const char *const p_52832ab[] = {"nRF52832_xxAB", NULL};
static const char *const p_52833[] = {"nRF52833_xxAA", NULL};
static const char *const p_52840[] = {"nRF52840_xxAA", NULL};
static const char *const p_52810[] = {"nRF52810_xxAA", NULL};
static const char *const p_52811[] = {"nRF52811_xxAA", NULL};
static const char *const p_52820[] = {"nRF52820_xxAA", NULL};

static const struct {
    uint32_t part;
    char variant[3]; /* first two letters of INFO.VARIANT */
    lode_target_id_s id;
} nrf52_ids[] = {
    {0x52832, "AA", {"nRF52 Series", "nRF52832 (512 KiB flash)", p_52832aa, 0}},
    {0x52832, "AB", {"nRF52 Series", "nRF52832 (256 KiB flash)", p_52832ab, 0}},
    {0x52833, "AA", {"nRF52 Series", "nRF52833", p_52833, 0}},
    {0x52840, "AA", {"nRF52 Series", "nRF52840", p_52840, 0}},
    {0x52810, "AA", {"nRF52 Series", "nRF52810", p_52810, 0}},
    {0x52811, "AA", {"nRF52 Series", "nRF52811", p_52811, 0}},
    {0x52820, "AA", {"nRF52 Series", "nRF52820", p_52820, 0}},
};

int lode_target_detect_nrf52(uint32_t info_part, uint32_t info_variant,
                             const lode_target_id_s **out)
{
    if (!out)
        return LODE_E_INVALID_ARG;
    char v[2] = {(char)(info_variant >> 24), (char)(info_variant >> 16)};
    const lode_target_id_s *any = NULL;
    for (size_t i = 0; i < sizeof nrf52_ids / sizeof nrf52_ids[0]; i++) {
        if (nrf52_ids[i].part != info_part)
            continue;
        if (!any)
            any = &nrf52_ids[i].id;
        if (nrf52_ids[i].variant[0] == v[0] && nrf52_ids[i].variant[1] == v[1]) {
            *out = &nrf52_ids[i].id;
            return LODE_OK;
        }
    }
    if (!any)
        return LODE_E_UNSUPPORTED;
    *out = any;
    return LODE_OK;
}

int lode_target_find_detected(const lode_target_db_s *db, const lode_target_id_s *id,
                              uint32_t flash_kib, const lode_target_chip_s **out)
{
    if (!db || !id || !id->patterns || !out)
        return LODE_E_INVALID_ARG;
    for (const char *const *p = id->patterns; *p; p++) {
        for (size_t i = 0; i < db->nchips; i++) {
            const lode_target_chip_s *ch = db->chips[i];
            if (!wild_eq(*p, ch->name, '?'))
                continue;
            if (flash_kib) {
                const lode_target_mem_s *b = boot_nvm(ch->memory, ch->nmemory);
                if (!b || b->end - b->start != (uint64_t)flash_kib * 1024u)
                    continue;
            }
            *out = ch;
            return LODE_OK;
        }
    }
    if (flash_kib)
        return err_msg(db, LODE_E_NO_DEVICE, "detected %s with %u KiB flash, but no known chip "
                       "matches; name the chip or load the probe-rs target YAML of the %s",
                       id->description, (unsigned)flash_kib, id->family);
    return err_msg(db, LODE_E_NO_DEVICE, "detected %s, but no known chip matches; name the chip "
                   "or load the probe-rs target YAML of the %s", id->description, id->family);
}
