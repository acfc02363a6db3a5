/* SPDX-License-Identifier: MIT */
/* Tests for src/image: ELF (built in memory by a small writer below), Intel HEX, raw binary,
 * file loading, and a real arm-none-eabi-gcc ELF compared with its objcopy HEX. */
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/image.h"
#include "test.h"
#include "util/bytes.h"

#ifndef LODE_IMAGE_FW_ELF
#error "LODE_IMAGE_FW_ELF / LODE_IMAGE_FW_HEX must name the ELF and HEX built by tests/unit/CMakeLists.txt"
#endif

/* ---- log capture ----------------------------------------------------------------------- */

typedef struct cap_s {
    int nerr, nwarn, nother;
    int bad_cat;
    char last[600];
} cap_s;

static void cap_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    cap_s *c = user;
    if (cat != LODE_LOGC_IMAGE)
        c->bad_cat++;
    if (level == LODE_LOG_ERROR) {
        c->nerr++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    } else if (level == LODE_LOG_WARN) {
        c->nwarn++;
    } else {
        c->nother++;
    }
}

static lode_log_s make_log(cap_s *c)
{
    memset(c, 0, sizeof *c);
    lode_log_s l = {.fn = cap_fn, .user = c, .max_level = LODE_LOG_DEBUG};
    return l;
}

/* rc must be `want`, exactly one error message must have been logged, it must contain every
 * one of the given substrings, and *out must be untouched. */
#define SENTINEL ((lode_image_s *)(uintptr_t)0x5a5a5a5a)
static bool expect_fail(int line, int rc, int want, const cap_s *c, lode_image_s *out,
                        const char *s1, const char *s2)
{
    bool ok = rc == want && c->nerr == 1 && c->bad_cat == 0 && out == SENTINEL &&
              (!s1 || strstr(c->last, s1)) && (!s2 || strstr(c->last, s2));
    if (!ok)
        fprintf(stderr, "line %d: rc %d (want %d), %d errors, out %p, message: %s\n", line, rc,
                want, c->nerr, (void *)out, c->last);
    return ok;
}
#define EXPECT_FAIL(rc, want, cap, out, s1, s2) \
    CHECK(expect_fail(__LINE__, rc, want, cap, out, s1, s2))

/* Invariants every parsed image must satisfy. */
static bool image_ok(const lode_image_s *img)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        const lode_segment_s *s = &img->segs[i];
        if (s->len == 0 || !s->data || (uint64_t)s->addr + s->len > 0x100000000ull)
            return false;
        if (i && (uint64_t)img->segs[i - 1].addr + img->segs[i - 1].len >= s->addr)
            return false; /* must be sorted, disjoint, and adjacent ones merged */
    }
    for (size_t i = 0; i < img->nsyms; i++)
        if (!img->syms[i].name || !img->syms[i].name[0])
            return false;
    return true;
}

/* ---- a small ELF32 writer -------------------------------------------------------------- */

typedef struct tseg_s {
    uint32_t type; /* 0 means PT_LOAD */
    uint32_t vaddr, paddr, memsz;
    const uint8_t *data;
    uint32_t filesz;
} tseg_s;

typedef struct tsym_s {
    const char *name;
    uint32_t value, size;
    uint8_t info;   /* bind << 4 | type */
    uint16_t shndx; /* 0: undefined */
} tsym_s;

typedef struct telf_s {
    uint8_t buf[8192];
    size_t len;
    uint32_t phoff, shoff, symoff, stroff, strsize;
    uint32_t seg_off[8];
} telf_s;

#define STB(b, t) (uint8_t)((b) << 4 | (t))

static uint32_t align4(uint32_t v) { return (v + 3u) & ~3u; }

static void elf_write(telf_s *e, const tseg_s *segs, size_t nsegs, const tsym_s *syms,
                      size_t nsyms, uint32_t entry)
{
    uint8_t *b = e->buf;
    memset(e, 0, sizeof *e);
    /* ELF header */
    b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F';
    b[4] = 1; /* ELFCLASS32 */
    b[5] = 1; /* ELFDATA2LSB */
    b[6] = 1; /* EV_CURRENT */
    lodei_put_le16(b + 16, 2);  /* ET_EXEC */
    lodei_put_le16(b + 18, 40); /* EM_ARM */
    lodei_put_le32(b + 20, 1);
    lodei_put_le32(b + 24, entry);
    lodei_put_le32(b + 36, 0x05000200); /* EF_ARM_EABI_VER5 | soft float */
    lodei_put_le16(b + 40, 52);
    lodei_put_le16(b + 42, 32);
    lodei_put_le16(b + 44, (uint16_t)nsegs);
    lodei_put_le16(b + 46, 40);
    uint32_t off = 52;
    e->phoff = off;
    lodei_put_le32(b + 28, nsegs ? off : 0);
    off += 32 * (uint32_t)nsegs;
    for (size_t i = 0; i < nsegs; i++) {
        off = align4(off);
        e->seg_off[i] = off;
        memcpy(b + off, segs[i].data, segs[i].filesz);
        uint8_t *p = b + e->phoff + 32 * i;
        lodei_put_le32(p + 0, segs[i].type ? segs[i].type : 1);
        lodei_put_le32(p + 4, off);
        lodei_put_le32(p + 8, segs[i].vaddr);
        lodei_put_le32(p + 12, segs[i].paddr);
        lodei_put_le32(p + 16, segs[i].filesz);
        lodei_put_le32(p + 20, segs[i].memsz ? segs[i].memsz : segs[i].filesz);
        lodei_put_le32(p + 24, 5);
        lodei_put_le32(p + 28, 4);
        off += segs[i].filesz;
    }
    if (nsyms) {
        /* .symtab */
        off = align4(off);
        e->symoff = off;
        uint32_t symsize = 16 * (uint32_t)(nsyms + 1);
        off += symsize;
        /* .strtab */
        e->stroff = off;
        uint32_t s = 1;
        b[off] = 0;
        for (size_t i = 0; i < nsyms; i++) {
            uint8_t *sym = b + e->symoff + 16 * (i + 1);
            size_t n = strlen(syms[i].name);
            lodei_put_le32(sym, n ? s : 0);
            lodei_put_le32(sym + 4, syms[i].value);
            lodei_put_le32(sym + 8, syms[i].size);
            sym[12] = syms[i].info;
            lodei_put_le16(sym + 14, syms[i].shndx);
            if (n) {
                memcpy(b + off + s, syms[i].name, n + 1);
                s += (uint32_t)n + 1;
            }
        }
        e->strsize = s;
        off += s;
        /* .shstrtab */
        static const char shstr[] = "\0.symtab\0.strtab\0.shstrtab";
        uint32_t shstroff = off;
        memcpy(b + off, shstr, sizeof shstr);
        off += sizeof shstr;
        /* section headers: null, .symtab, .strtab, .shstrtab — last in the file */
        off = align4(off);
        e->shoff = off;
        lodei_put_le32(b + 32, off);
        lodei_put_le16(b + 48, 4);
        lodei_put_le16(b + 50, 3);
        uint8_t *sh = b + off;
        memset(sh, 0, 40 * 4);
        lodei_put_le32(sh + 40 + 0, 1);
        lodei_put_le32(sh + 40 + 4, 2); /* SHT_SYMTAB */
        lodei_put_le32(sh + 40 + 16, e->symoff);
        lodei_put_le32(sh + 40 + 20, symsize);
        lodei_put_le32(sh + 40 + 24, 2); /* sh_link: .strtab */
        lodei_put_le32(sh + 40 + 28, 1);
        lodei_put_le32(sh + 40 + 32, 4);
        lodei_put_le32(sh + 40 + 36, 16);
        lodei_put_le32(sh + 80 + 0, 9);
        lodei_put_le32(sh + 80 + 4, 3); /* SHT_STRTAB */
        lodei_put_le32(sh + 80 + 16, e->stroff);
        lodei_put_le32(sh + 80 + 20, s);
        lodei_put_le32(sh + 80 + 32, 1);
        lodei_put_le32(sh + 120 + 0, 17);
        lodei_put_le32(sh + 120 + 4, 3);
        lodei_put_le32(sh + 120 + 16, shstroff);
        lodei_put_le32(sh + 120 + 20, (uint32_t)sizeof shstr);
        lodei_put_le32(sh + 120 + 32, 1);
        off += 40 * 4;
    }
    e->len = off;
}

static const uint8_t k_text[] = {0x00, 0x80, 0x00, 0x20, 0x09, 0x00, 0x00, 0x08,
                                 0x70, 0x47, 0x00, 0xbf, 0xaa, 0xbb, 0xcc, 0xdd};
static const uint8_t k_data[] = {0x78, 0x56, 0x34, 0x12, 0x11, 0x22};

static const tsym_s k_syms[] = {
    {"Reset_Handler", 0x08000009, 4, STB(1, 2), 1},  /* global func */
    {"g_counter", 0x20000000, 4, STB(1, 1), 2},      /* global object */
    {"local_label", 0x0800000c, 0, STB(0, 0), 1},    /* local notype */
    {"$t", 0x08000008, 0, STB(0, 0), 1},             /* ARM mapping symbol: dropped */
    {"$d.realdata", 0x0800000c, 0, STB(0, 0), 1},    /* mapping symbol: dropped */
    {"$dollar", 0x0800000c, 0, STB(0, 0), 1},        /* not a mapping symbol: kept */
    {"main.c", 0, 0, STB(0, 4), 0xfff1},             /* STT_FILE: dropped */
    {"", 0x08000000, 0, STB(0, 3), 1},               /* STT_SECTION: dropped */
    {"undefined_weak", 0, 0, STB(2, 2), 0},          /* undefined: dropped */
    {"g_dup", 0x20000010, 4, STB(0, 1), 2},          /* local first ... */
    {"g_dup", 0x20000020, 8, STB(1, 1), 2},          /* ... global wins the lookup */
    {"g_tls", 0x20000030, 4, STB(1, 6), 2},          /* STT_TLS: dropped */
};

/* text at 0x08000000, .data with LMA 0x08000010 / VMA 0x20000000 plus .bss */
static void make_basic(telf_s *e)
{
    tseg_s segs[2] = {
        {0, 0x08000000, 0x08000000, 0, k_text, sizeof k_text},
        {0, 0x20000000, 0x08000010, 0x100, k_data, sizeof k_data},
    };
    elf_write(e, segs, 2, k_syms, sizeof k_syms / sizeof k_syms[0], 0x08000009);
}

/* ---- ELF tests ------------------------------------------------------------------------- */

static void test_elf_basic(void)
{
    static telf_s e;
    make_basic(&e);
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_parse_elf(e.buf, e.len, &log, &img) == LODE_OK);
    CHECK_EQ(cap.nerr, 0);
    CHECK(image_ok(img));
    /* adjacent LMAs merge into one segment; .bss (memsz beyond filesz) is not loaded */
    REQUIRE(img->nsegs == 1);
    CHECK_EQ(img->segs[0].addr, 0x08000000);
    CHECK_EQ(img->segs[0].len, sizeof k_text + sizeof k_data);
    CHECK(memcmp(img->segs[0].data, k_text, sizeof k_text) == 0);
    CHECK(memcmp(img->segs[0].data + sizeof k_text, k_data, sizeof k_data) == 0);
    CHECK_EQ(lode_image_total_bytes(img), 22);
    CHECK(img->has_entry);
    CHECK_EQ(img->entry, 0x08000009);

    /* kept: Reset_Handler, g_counter, local_label, $dollar, g_dup x2 */
    CHECK_EQ(img->nsyms, 6);
    const lode_symbol_s *s = lode_image_find_symbol(img, "Reset_Handler");
    REQUIRE(s);
    CHECK_EQ(s->value, 0x08000009);
    CHECK_EQ(s->size, 4);
    CHECK_EQ(s->type, LODE_STT_FUNC);
    CHECK_EQ(s->bind, LODE_STB_GLOBAL);
    s = lode_image_find_symbol(img, "g_counter");
    REQUIRE(s);
    CHECK_EQ(s->type, LODE_STT_OBJECT);
    CHECK_EQ(s->value, 0x20000000);
    s = lode_image_find_symbol(img, "local_label");
    REQUIRE(s);
    CHECK_EQ(s->type, LODE_STT_NOTYPE);
    CHECK_EQ(s->bind, LODE_STB_LOCAL);
    CHECK(lode_image_find_symbol(img, "$dollar") != NULL);
    CHECK(lode_image_find_symbol(img, "$t") == NULL);
    CHECK(lode_image_find_symbol(img, "$d.realdata") == NULL);
    CHECK(lode_image_find_symbol(img, "main.c") == NULL);
    CHECK(lode_image_find_symbol(img, "undefined_weak") == NULL);
    CHECK(lode_image_find_symbol(img, "g_tls") == NULL);
    CHECK(lode_image_find_symbol(img, "nope") == NULL);
    CHECK(lode_image_find_symbol(NULL, "g_dup") == NULL);
    CHECK(lode_image_find_symbol(img, NULL) == NULL);
    s = lode_image_find_symbol(img, "g_dup");
    REQUIRE(s);
    CHECK_EQ(s->value, 0x20000020);
    CHECK_EQ(s->bind, LODE_STB_GLOBAL);

    CHECK(lode_image_find_segment(img, 0x08000000) == &img->segs[0]);
    CHECK(lode_image_find_segment(img, 0x08000015) == &img->segs[0]);
    CHECK(lode_image_find_segment(img, 0x08000016) == NULL);
    CHECK(lode_image_find_segment(img, 0x07ffffff) == NULL);
    lode_image_free(img);
}

static void test_elf_segments(void)
{
    static telf_s e;
    static const uint8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, bb[4] = {9, 10, 11, 12},
                         cc[4] = {13, 14, 15, 16};
    /* out of order, one gap, one adjacent pair, one PT_NOTE and one pure .bss segment,
     * and no section headers (so no symbols) */
    tseg_s segs[5] = {
        {0, 0x20000000, 0x08001000, 0, bb, sizeof bb},
        {4, 0, 0, 0, cc, sizeof cc}, /* PT_NOTE: ignored */
        {0, 0x08000000, 0x08000000, 0, a, sizeof a},
        {0, 0x20001000, 0x20001000, 0x400, cc, 0}, /* filesz 0: ignored */
        {0, 0x08000008, 0x08000008, 0, cc, sizeof cc},
    };
    elf_write(&e, segs, 5, NULL, 0, 0x08000001);
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_parse_elf(e.buf, e.len, &log, &img) == LODE_OK);
    CHECK(image_ok(img));
    CHECK_EQ(img->nsyms, 0);
    REQUIRE(img->nsegs == 2);
    CHECK_EQ(img->segs[0].addr, 0x08000000);
    CHECK_EQ(img->segs[0].len, 12);
    CHECK(memcmp(img->segs[0].data, a, 8) == 0 && memcmp(img->segs[0].data + 8, cc, 4) == 0);
    CHECK_EQ(img->segs[1].addr, 0x08001000);
    CHECK_EQ(img->segs[1].len, 4);
    CHECK(memcmp(img->segs[1].data, bb, 4) == 0);
    CHECK_EQ(lode_image_total_bytes(img), 16);
    CHECK(lode_image_find_segment(img, 0x08001003) == &img->segs[1]);
    CHECK(lode_image_find_segment(img, 0x0800000c) == NULL);
    lode_image_free(img);

    /* No loadable data at all: valid, empty, with a warning. */
    tseg_s bss[1] = {{0, 0x20000000, 0x20000000, 0x100, cc, 0}};
    elf_write(&e, bss, 1, NULL, 0, 0);
    log = make_log(&cap);
    REQUIRE(lode_image_parse_elf(e.buf, e.len, &log, &img) == LODE_OK);
    CHECK_EQ(img->nsegs, 0);
    CHECK(img->segs == NULL);
    CHECK_EQ(cap.nwarn, 1);
    CHECK_EQ(lode_image_total_bytes(img), 0);
    CHECK(!img->has_entry); /* e_entry 0: no entry point */
    lode_image_free(img);
}

static void test_elf_overlap(void)
{
    static telf_s e;
    static const uint8_t a[16] = {0}, bb[8] = {0};
    tseg_s segs[3] = {
        {0, 0x08000000, 0x08000000, 0, a, sizeof a},
        {0, 0x08000100, 0x08000100, 0, bb, sizeof bb},
        {0, 0x20000000, 0x08000008, 0, bb, sizeof bb}, /* LMA inside segment 0 */
    };
    elf_write(&e, segs, 3, NULL, 0, 0);
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = SENTINEL;
    int rc = lode_image_parse_elf(e.buf, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "0x08000008-0x0800000f", "0x08000000-0x0800000f");
    CHECK(strstr(cap.last, "program header 2") && strstr(cap.last, "program header 0"));
    CHECK(strstr(cap.last, "linker script") != NULL);

    /* identical ranges */
    segs[2].paddr = 0x08000100;
    elf_write(&e, segs, 3, NULL, 0, 0);
    log = make_log(&cap);
    rc = lode_image_parse_elf(e.buf, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "overlaps", "0x08000100-0x08000107");
}

/* Every proper prefix of a valid ELF is an error (the section header table is last), never a
 * crash; the full file parses. */
static void test_elf_truncated(void)
{
    static telf_s e;
    make_basic(&e);
    for (size_t n = 0; n < e.len; n++) {
        /* a fresh copy of exactly n bytes so ASan sees reads past the end */
        uint8_t *copy = malloc(n ? n : 1);
        REQUIRE(copy);
        memcpy(copy, e.buf, n);
        cap_s cap;
        lode_log_s log = make_log(&cap);
        lode_image_s *img = SENTINEL;
        int rc = lode_image_parse_elf(copy, n, &log, &img);
        if (rc == LODE_OK || img != SENTINEL || cap.nerr != 1) {
            fprintf(stderr, "truncated at %zu: rc %d nerr %d\n", n, rc, cap.nerr);
            CHECK(0);
            if (rc == LODE_OK)
                lode_image_free(img);
        }
        CHECK(rc == LODE_E_FORMAT);
        free(copy);
    }
    lode_image_s *img = NULL;
    CHECK(lode_image_parse_elf(e.buf, e.len, NULL, &img) == LODE_OK);
    lode_image_free(img);

    /* Without section headers the segment data is last: still every prefix fails. */
    static const uint8_t a[5] = {1, 2, 3, 4, 5};
    tseg_s segs[1] = {{0, 0x100, 0x100, 0, a, sizeof a}};
    elf_write(&e, segs, 1, NULL, 0, 0);
    for (size_t n = 0; n < e.len; n++) {
        img = SENTINEL;
        CHECK(lode_image_parse_elf(e.buf, n, NULL, &img) != LODE_OK);
        CHECK(img == SENTINEL);
    }
}

static void test_elf_unsupported(void)
{
    static telf_s e;
    make_basic(&e);
    static uint8_t m[sizeof e.buf];
    cap_s cap;
    lode_log_s log;
    lode_image_s *img = SENTINEL;
    int rc;

    memcpy(m, e.buf, e.len);
    m[4] = 2; /* ELFCLASS64 */
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_UNSUPPORTED, &cap, img, "64-bit", "ARM");

    memcpy(m, e.buf, e.len);
    m[5] = 2; /* big-endian */
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_UNSUPPORTED, &cap, img, "big-endian", NULL);

    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 18, 62); /* x86-64 */
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_UNSUPPORTED, &cap, img, "x86-64 (62), not ARM (40) or AVR (83)", "avr-gcc");

    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 18, 83); /* EM_AVR: loads like an ARM file */
    log = make_log(&cap);
    CHECK_EQ(lode_image_parse_elf(m, e.len, &log, &img), LODE_OK);
    CHECK(img && img->nsegs > 0);
    lode_image_free(img);
    img = SENTINEL;

    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 18, 243); /* RISC-V */
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_UNSUPPORTED, &cap, img, "RISC-V", NULL);

    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 16, 1); /* ET_REL */
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_UNSUPPORTED, &cap, img, "relocatable", "link it");

    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 16, 4); /* ET_CORE */
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_UNSUPPORTED, &cap, img, "not an executable", NULL);

    memcpy(m, e.buf, e.len);
    m[1] = 'X';
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "not an ELF file", NULL);

    memcpy(m, e.buf, e.len);
    m[4] = 7;
    log = make_log(&cap);
    rc = lode_image_parse_elf(m, e.len, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "class", NULL);

    log = make_log(&cap);
    rc = lode_image_parse_elf(NULL, 0, &log, NULL);
    CHECK_EQ(rc, LODE_E_INVALID_ARG);
    CHECK_EQ(cap.nerr, 1);
}

/* Corrupt individual fields of a valid file. */
static void test_elf_corrupt(void)
{
    static telf_s e;
    make_basic(&e);
    static uint8_t m[sizeof e.buf];
    const uint32_t ph0 = e.phoff, ph1 = e.phoff + 32, sh1 = e.shoff + 40, sh2 = e.shoff + 80;
    struct {
        uint32_t at;
        int width; /* 2 or 4 */
        uint32_t value;
        int want;
        const char *s1, *s2;
    } cases[] = {
        {ph0 + 4, 4, 0xfffffff0, LODE_E_FORMAT, "program header 0", "past the end"},
        {ph0 + 16, 4, 0xffffffff, LODE_E_FORMAT, "program header 0", NULL}, /* filesz > memsz */
        {ph1 + 4, 4, (uint32_t)e.len - 2, LODE_E_FORMAT, "program header 1", "past the end of the file"},
        {ph1 + 16, 4, 0x1000, LODE_E_FORMAT, "program header 1", "larger than memory size"},
        {ph1 + 12, 4, 0xfffffffc, LODE_E_FORMAT, "32-bit address space", NULL},
        {28, 4, 0xffffffe0, LODE_E_FORMAT, "program header table", "truncated"},
        {42, 2, 16, LODE_E_FORMAT, "program header entry size", NULL},
        {44, 2, 0xfffe, LODE_E_FORMAT, "program header table", NULL},
        {32, 4, 0xfffffff0, LODE_E_FORMAT, "section header table", NULL},
        {46, 2, 20, LODE_E_FORMAT, "section header entry size", NULL},
        {48, 2, 0x7fff, LODE_E_FORMAT, "section header table", "extends past"},
        {sh1 + 16, 4, 0x7ffffff0, LODE_E_FORMAT, "section 1", "extends past"},
        {sh2 + 20, 4, 0x10000, LODE_E_FORMAT, "section 2", NULL},
        {sh1 + 36, 4, 0, LODE_E_FORMAT, "entry size", NULL},
        {sh1 + 24, 4, 9, LODE_E_FORMAT, "section 9", "does not exist"},
        {sh1 + 24, 4, 1, LODE_E_FORMAT, "not a string table", NULL},
        {sh1 + 24, 4, 0, LODE_E_FORMAT, "does not exist", NULL},
        {e.symoff + 16, 4, 0x00100000, LODE_E_FORMAT, "symbol 1", "outside the string table"},
        /* cut the string table inside the last kept name ("g_dup"; "g_tls" after it is dropped
         * by type before its name is looked at) */
        {sh2 + 20, 4, e.strsize - 7, LODE_E_FORMAT, "symbol 11", "not terminated"},
        {20, 4, 0, LODE_OK, NULL, NULL}, /* e_version is not checked */
        {0x24, 4, 0, LODE_OK, NULL, NULL}, /* e_flags neither */
        {sh1 + 36, 4, 32, LODE_OK, NULL, NULL}, /* bigger entries: every other symbol */
        {32, 4, 0, LODE_OK, NULL, NULL}, /* no section headers: no symbols */
        {50, 2, 0xffff, LODE_OK, NULL, NULL}, /* shstrndx is not needed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(m, e.buf, e.len);
        if (cases[i].width == 2)
            lodei_put_le16(m + cases[i].at, (uint16_t)cases[i].value);
        else
            lodei_put_le32(m + cases[i].at, cases[i].value);
        cap_s cap;
        lode_log_s log = make_log(&cap);
        lode_image_s *img = SENTINEL;
        int rc = lode_image_parse_elf(m, e.len, &log, &img);
        if (cases[i].want == LODE_OK) {
            CHECK_EQ(rc, LODE_OK);
            if (rc == LODE_OK) {
                CHECK(image_ok(img));
                lode_image_free(img);
            }
        } else {
            if (!expect_fail(__LINE__, rc, cases[i].want, &cap, img, cases[i].s1, cases[i].s2)) {
                fprintf(stderr, "  (case %zu)\n", i);
                CHECK(0);
                if (rc == LODE_OK)
                    lode_image_free(img);
            }
        }
    }

    /* PN_XNUM: the program header count comes from section 0's sh_info. */
    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 44, 0xffff);
    lodei_put_le32(m + e.shoff + 28, 2);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_parse_elf(m, e.len, NULL, &img) == LODE_OK);
    CHECK_EQ(img->nsegs, 1);
    CHECK_EQ(img->nsyms, 6);
    lode_image_free(img);
    /* e_shnum 0: the section count comes from section 0's sh_size. */
    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 48, 0);
    lodei_put_le32(m + e.shoff + 20, 4);
    REQUIRE(lode_image_parse_elf(m, e.len, NULL, &img) == LODE_OK);
    CHECK_EQ(img->nsyms, 6);
    lode_image_free(img);
    /* ... and a huge one from there is caught */
    lodei_put_le32(m + e.shoff + 20, 0x10000000);
    img = SENTINEL;
    CHECK_EQ(lode_image_parse_elf(m, e.len, NULL, &img), LODE_E_FORMAT);
    CHECK(img == SENTINEL);
    /* PN_XNUM without section headers */
    memcpy(m, e.buf, e.len);
    lodei_put_le16(m + 44, 0xffff);
    lodei_put_le32(m + 32, 0);
    CHECK_EQ(lode_image_parse_elf(m, e.len, NULL, &img), LODE_E_FORMAT);
    CHECK(img == SENTINEL);
}

/* Many program headers pointing at the same bytes: overlapping, caught without copying
 * more than the cap. */
static void test_elf_many_segments(void)
{
    static uint8_t m[52 + 32 * 2000 + 64];
    memset(m, 0, sizeof m);
    m[0] = 0x7f; m[1] = 'E'; m[2] = 'L'; m[3] = 'F'; m[4] = 1; m[5] = 1; m[6] = 1;
    lodei_put_le16(m + 16, 2);
    lodei_put_le16(m + 18, 40);
    lodei_put_le32(m + 28, 52);
    lodei_put_le16(m + 42, 32);
    lodei_put_le16(m + 44, 2000);
    uint32_t data = 52 + 32 * 2000;
    for (uint32_t i = 0; i < 2000; i++) {
        uint8_t *p = m + 52 + 32 * i;
        lodei_put_le32(p, 1);
        lodei_put_le32(p + 4, data);
        lodei_put_le32(p + 12, 0x1000 + 64 * (i % 1000)); /* second half overlaps first */
        lodei_put_le32(p + 16, 64);
        lodei_put_le32(p + 20, 64);
    }
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = SENTINEL;
    int rc = lode_image_parse_elf(m, sizeof m, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "program header 1000 (load address 0x00001000",
                "program header 0 ");
    /* Without the overlap: 2000 adjacent pieces merge into one segment. */
    for (uint32_t i = 0; i < 2000; i++)
        lodei_put_le32(m + 52 + 32 * i + 12, 0x1000 + 64 * (1999 - i));
    img = NULL;
    REQUIRE(lode_image_parse_elf(m, sizeof m, NULL, &img) == LODE_OK);
    CHECK_EQ(img->nsegs, 1);
    CHECK_EQ(img->segs[0].len, 64 * 2000);
    lode_image_free(img);
}

/* ---- Intel HEX ------------------------------------------------------------------------- */

/* Appends one record line ending in `eol`. */
static void hexrec(char *dst, size_t cap, unsigned type, unsigned addr, const uint8_t *d,
                   size_t n, const char *eol)
{
    size_t len = strlen(dst);
    unsigned sum = (unsigned)n + (addr >> 8) + (addr & 0xff) + type;
    len += (size_t)snprintf(dst + len, cap - len, ":%02X%04X%02X", (unsigned)n, addr, type);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(dst + len, cap - len, "%02X", d[i]);
        sum += d[i];
    }
    snprintf(dst + len, cap - len, "%02X%s", (0x100 - (sum & 0xff)) & 0xff, eol);
}

static int parse_hex(const char *text, cap_s *cap, lode_image_s **img)
{
    lode_log_s log = make_log(cap);
    return lode_image_parse_ihex(text, strlen(text), &log, img);
}

static void test_hex_records(void)
{
    static char t[4096];
    uint8_t d[16];
    for (int i = 0; i < 16; i++)
        d[i] = (uint8_t)(0xa0 + i);
    const uint8_t ela[2] = {0x08, 0x00}, esa[2] = {0x10, 0x00}, sla[4] = {0x08, 0x00, 0x01, 0x23};
    t[0] = 0;
    hexrec(t, sizeof t, 4, 0, ela, 2, "\n");         /* base 0x08000000 */
    hexrec(t, sizeof t, 0, 0x0000, d, 16, "\n");
    hexrec(t, sizeof t, 0, 0x0010, d, 8, "\n");       /* continues: merged */
    hexrec(t, sizeof t, 0, 0x0100, d, 4, "\n");       /* gap: second segment */
    hexrec(t, sizeof t, 0, 0x0018, d + 8, 0, "\n");   /* empty data record: nothing */
    hexrec(t, sizeof t, 2, 0, esa, 2, "\n");          /* segment base 0x10000 */
    hexrec(t, sizeof t, 0, 0xfffe, d, 4, "\n");       /* 0x1fffe..0x20001: no 64K wrap */
    hexrec(t, sizeof t, 5, 0, sla, 4, "\n");
    hexrec(t, sizeof t, 1, 0, NULL, 0, "\n");
    strcat(t, "garbage after the end-of-file record is ignored\n:zz\n");

    cap_s cap;
    lode_image_s *img = NULL;
    REQUIRE(parse_hex(t, &cap, &img) == LODE_OK);
    CHECK(image_ok(img));
    REQUIRE(img->nsegs == 3);
    CHECK_EQ(img->segs[0].addr, 0x0001fffe);
    CHECK_EQ(img->segs[0].len, 4);
    CHECK(memcmp(img->segs[0].data, d, 4) == 0);
    CHECK_EQ(img->segs[1].addr, 0x08000000);
    CHECK_EQ(img->segs[1].len, 24);
    CHECK(memcmp(img->segs[1].data, d, 16) == 0 && memcmp(img->segs[1].data + 16, d, 8) == 0);
    CHECK_EQ(img->segs[2].addr, 0x08000100);
    CHECK_EQ(img->segs[2].len, 4);
    CHECK(img->has_entry);
    CHECK_EQ(img->entry, 0x08000123);
    CHECK_EQ(img->nsyms, 0);
    CHECK_EQ(lode_image_total_bytes(img), 32);
    CHECK_EQ(cap.nerr, 0);
    lode_image_free(img);

    /* Start segment address: CS:IP = 0x1234:0x0010 -> 0x12350. No data at all is fine. */
    const uint8_t ssa[4] = {0x12, 0x34, 0x00, 0x10};
    t[0] = 0;
    hexrec(t, sizeof t, 3, 0, ssa, 4, "\r\n");
    hexrec(t, sizeof t, 1, 0, NULL, 0, "\r\n");
    REQUIRE(parse_hex(t, &cap, &img) == LODE_OK);
    CHECK(img->has_entry);
    CHECK_EQ(img->entry, 0x12350);
    CHECK_EQ(img->nsegs, 0);
    lode_image_free(img);

    /* A second, different start address replaces the first, with a warning. */
    t[0] = 0;
    hexrec(t, sizeof t, 3, 0, ssa, 4, "\n");
    hexrec(t, sizeof t, 5, 0, sla, 4, "\n");
    hexrec(t, sizeof t, 1, 0, NULL, 0, "");
    REQUIRE(parse_hex(t, &cap, &img) == LODE_OK);
    CHECK_EQ(img->entry, 0x08000123);
    CHECK_EQ(cap.nwarn, 1);
    lode_image_free(img);

    /* No start record: no entry. Minimal file without a final newline. */
    REQUIRE(parse_hex(":00000001FF", &cap, &img) == LODE_OK);
    CHECK(!img->has_entry);
    CHECK_EQ(img->nsegs, 0);
    lode_image_free(img);
}

static void test_hex_line_endings(void)
{
    static char lf[2048], crlf[2048], mixed[2048];
    uint8_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)(i * 7);
    lf[0] = crlf[0] = mixed[0] = 0;
    const char *eols[3] = {"\n", "\r\n", "\r"};
    for (unsigned i = 0; i < 4; i++) {
        hexrec(lf, sizeof lf, 0, 0x200 + 8 * i, d + 8 * i, 8, "\n");
        hexrec(crlf, sizeof crlf, 0, 0x200 + 8 * i, d + 8 * i, 8, "\r\n");
        strcat(mixed, i & 1 ? "  \t" : "\n\r\n");  /* blank lines, leading blanks */
        hexrec(mixed, sizeof mixed, 0, 0x200 + 8 * i, d + 8 * i, 8, eols[i % 3]);
    }
    hexrec(lf, sizeof lf, 1, 0, NULL, 0, "\n");
    hexrec(crlf, sizeof crlf, 1, 0, NULL, 0, "\r\n");
    strcat(mixed, "\t");
    hexrec(mixed, sizeof mixed, 1, 0, NULL, 0, " \t\r\n\r\n");
    const char *texts[3] = {lf, crlf, mixed};
    for (int k = 0; k < 3; k++) {
        cap_s cap;
        lode_image_s *img = NULL;
        int rc = parse_hex(texts[k], &cap, &img);
        CHECK_EQ(rc, LODE_OK);
        if (rc != LODE_OK) {
            fprintf(stderr, "text %d: %s\n", k, cap.last);
            continue;
        }
        REQUIRE(img->nsegs == 1);
        CHECK_EQ(img->segs[0].addr, 0x200);
        CHECK_EQ(img->segs[0].len, 32);
        CHECK(memcmp(img->segs[0].data, d, 32) == 0);
        lode_image_free(img);
    }
    /* Lower-case digits are fine too. */
    cap_s cap;
    lode_image_s *img = NULL;
    CHECK_EQ(parse_hex(":0400100001aBcDeF84\n:00000001ff\n", &cap, &img), LODE_OK);
    if (img) {
        CHECK_EQ(img->segs[0].addr, 0x10);
        CHECK_EQ(img->segs[0].data[1], 0xab);
    }
    lode_image_free(img);
}

static void test_hex_out_of_order(void)
{
    static char t[8192];
    uint8_t d[16];
    t[0] = 0;
    /* 64 records written backwards: all pieces merge into one 1 KiB segment */
    for (int i = 63; i >= 0; i--) {
        for (int j = 0; j < 16; j++)
            d[j] = (uint8_t)(i * 16 + j);
        hexrec(t, sizeof t, 0, (unsigned)(0x1000 + 16 * i), d, 16, "\n");
    }
    hexrec(t, sizeof t, 1, 0, NULL, 0, "\n");
    cap_s cap;
    lode_image_s *img = NULL;
    REQUIRE(parse_hex(t, &cap, &img) == LODE_OK);
    REQUIRE(img->nsegs == 1);
    CHECK_EQ(img->segs[0].addr, 0x1000);
    CHECK_EQ(img->segs[0].len, 1024);
    bool same = true;
    for (int i = 0; i < 1024; i++)
        same = same && img->segs[0].data[i] == (uint8_t)i;
    CHECK(same);
    lode_image_free(img);
}

static void test_hex_errors(void)
{
    static const struct {
        const char *text;
        const char *s1, *s2;
    } cases[] = {
        /* the example from the API: line 3, checksum */
        {":0400000001020304F2\n:0400040005060708DE\n:040008002E2E2E2E3D\n:00000001FF\n",
         "Intel HEX line 3: checksum error (expected 0x3c, got 0x3d)", "re-download"},
        {":00000001FE\n", "line 1: checksum error (expected 0xff, got 0xfe)", NULL},
        {"\n\n:0400000001020G04F2\n:00000001FF\n", "line 3: invalid hex digit 'G' at column 15",
         NULL},
        {":04000000010203\x01""04F2\n", "line 1: invalid character 0x01 at column 16", NULL},
        {":0400000001020304F\n:00000001FF\n", "line 1: odd number of hex digits (17)", NULL},
        {":00000001FF0\n", "odd number", NULL},
        {":0000\n:00000001FF\n", "line 1: record too short", NULL},
        {":\n", "record too short (0 bytes", NULL},
        {":0500000001020304F1\n:00000001FF\n", "byte count says 5 data bytes but the record "
                                                "holds 4", NULL},
        {":0400000001020304F2\n", "no end-of-file record", "after 1 lines"},
        {"", "no end-of-file record", "truncated"},
        {"\r\n  \n", "no end-of-file record", NULL},
        {":0400000001020304F2\n0400040005060708DE\n", "line 2: record does not start with ':'",
         NULL},
        {"; comment\n:00000001FF\n", "line 1: record does not start", NULL},
        {":00000006FA\n:00000001FF\n", "line 1: unknown record type 0x06", NULL},
        {":0100000100FE\n", "end-of-file record (type 01) must hold 0 data bytes, not 1", NULL},
        {":03000002000000FB\n:00000001FF\n", "extended segment address record (type 02) must "
                                              "hold 2", NULL},
        {":0100000400FB\n:00000001FF\n", "extended linear address record (type 04) must hold 2",
         NULL},
        {":020000030000FB\n:00000001FF\n", "start segment address record (type 03) must hold 4",
         NULL},
        {":03000005000000F8\n:00000001FF\n", "start linear address record (type 05) must hold 4",
         NULL},
        /* base 0xffff0000 + 0xfff8 + 16 bytes: past 4 GiB */
        {":02000004FFFFFC\n:10FFF80000000000000000000000000000000000F9\n:00000001FF\n",
         "line 2: 16 data bytes at 0xfffffff8 run past the end of the 32-bit address space",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cap_s cap;
        lode_image_s *img = SENTINEL;
        int rc = parse_hex(cases[i].text, &cap, &img);
        if (!expect_fail(__LINE__, rc, LODE_E_FORMAT, &cap, img, cases[i].s1, cases[i].s2)) {
            fprintf(stderr, "  (case %zu)\n", i);
            CHECK(0);
        }
    }
    /* The last byte of the address space is fine. */
    cap_s cap;
    lode_image_s *img = NULL;
    CHECK_EQ(parse_hex(":02000004FFFFFC\n:08FFF8000102030405060708DD\n:00000001FF\n", &cap, &img),
             LODE_OK);
    if (img) {
        CHECK_EQ(img->segs[0].addr, 0xfffffff8);
        CHECK_EQ(img->segs[0].len, 8);
    }
    lode_image_free(img);
    /* Text that is not NUL-terminated: only `len` bytes are read. */
    static const char nonul[] = ":00000001FF";
    char *heap = malloc(sizeof nonul - 1);
    REQUIRE(heap);
    memcpy(heap, nonul, sizeof nonul - 1);
    img = NULL;
    CHECK_EQ(lode_image_parse_ihex(heap, sizeof nonul - 1, NULL, &img), LODE_OK);
    lode_image_free(img);
    img = SENTINEL;
    CHECK_EQ(lode_image_parse_ihex(heap, sizeof nonul - 2, NULL, &img), LODE_E_FORMAT);
    CHECK(img == SENTINEL);
    free(heap);
}

static void test_hex_overlap(void)
{
    static char t[2048];
    uint8_t d[16] = {0};
    const uint8_t ela[2] = {0x08, 0x00};
    t[0] = 0;
    hexrec(t, sizeof t, 4, 0, ela, 2, "\n");        /* line 1 */
    hexrec(t, sizeof t, 0, 0x0000, d, 16, "\n");    /* line 2 */
    hexrec(t, sizeof t, 0, 0x0010, d, 16, "\n");    /* line 3 */
    hexrec(t, sizeof t, 0, 0x0100, d, 16, "\n");    /* line 4 */
    hexrec(t, sizeof t, 0, 0x0018, d, 4, "\n");     /* line 5: inside lines 2-3 */
    hexrec(t, sizeof t, 1, 0, NULL, 0, "\n");
    cap_s cap;
    lode_image_s *img = SENTINEL;
    int rc = parse_hex(t, &cap, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img,
                "data at 0x08000018-0x0800001b (from line 5) overlaps data at "
                "0x08000000-0x0800001f (from line 2)",
                "same addresses twice");
    /* the same record twice */
    t[0] = 0;
    hexrec(t, sizeof t, 0, 0x0040, d, 16, "\n");
    hexrec(t, sizeof t, 0, 0x0040, d, 16, "\n");
    hexrec(t, sizeof t, 1, 0, NULL, 0, "\n");
    rc = parse_hex(t, &cap, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "(from line 2) overlaps", "(from line 1)");
}

/* ---- BIN, detection, files ------------------------------------------------------------- */

static void test_bin(void)
{
    static const uint8_t b[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    lode_image_s *img = NULL;
    REQUIRE(lode_image_from_bin(b, sizeof b, 0x08004000, &img) == LODE_OK);
    REQUIRE(img->nsegs == 1);
    CHECK_EQ(img->segs[0].addr, 0x08004000);
    CHECK_EQ(img->segs[0].len, 10);
    CHECK(memcmp(img->segs[0].data, b, 10) == 0);
    CHECK(img->segs[0].data != b);
    CHECK(!img->has_entry);
    CHECK_EQ(img->nsyms, 0);
    lode_image_free(img);

    REQUIRE(lode_image_from_bin(b, sizeof b, 0xfffffff6, &img) == LODE_OK);
    CHECK_EQ(img->segs[0].addr, 0xfffffff6);
    lode_image_free(img);
    img = SENTINEL;
    CHECK_EQ(lode_image_from_bin(b, sizeof b, 0xfffffff7, &img), LODE_E_RANGE);
    CHECK(img == SENTINEL);
    CHECK_EQ(lode_image_from_bin(b, sizeof b, 0, NULL), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_image_from_bin(NULL, 1, 0, &img), LODE_E_INVALID_ARG);
    img = NULL;
    REQUIRE(lode_image_from_bin(NULL, 0, 0x1000, &img) == LODE_OK);
    CHECK_EQ(img->nsegs, 0);
    lode_image_free(img);
    lode_image_free(NULL);
}

static void test_detect(void)
{
    static const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 1};
    CHECK_EQ(lode_image_detect_format(elf, sizeof elf), LODE_IMAGE_ELF);
    CHECK_EQ(lode_image_detect_format(elf, 3), LODE_IMAGE_BIN);
    CHECK_EQ(lode_image_detect_format((const uint8_t *)":00", 3), LODE_IMAGE_IHEX);
    CHECK_EQ(lode_image_detect_format((const uint8_t *)" \r\n\t:00", 7), LODE_IMAGE_IHEX);
    CHECK_EQ(lode_image_detect_format((const uint8_t *)"\x00:", 2), LODE_IMAGE_BIN);
    CHECK_EQ(lode_image_detect_format((const uint8_t *)"   ", 3), LODE_IMAGE_BIN);
    CHECK_EQ(lode_image_detect_format(NULL, 0), LODE_IMAGE_BIN);
    CHECK(strcmp(lode_image_format_name(LODE_IMAGE_IHEX), "ihex") == 0);
    CHECK(strcmp(lode_image_format_name(LODE_IMAGE_ELF), "elf") == 0);
    CHECK(strcmp(lode_image_format_name(LODE_IMAGE_BIN), "bin") == 0);
    CHECK(strcmp(lode_image_format_name(LODE_IMAGE_AUTO), "auto") == 0);
    CHECK(strcmp(lode_image_format_name((lode_image_format_e)42), "?") == 0);
}

static bool write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Raw bytes that happen to start with ':' (one random image in 256): a .bin file, or any file
 * given a base address, is raw; a .hex file stays Intel HEX. */
static void test_colon_raw(void)
{
    char dir[] = "/tmp/lode_test_image_colon_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char pb[80], pn[80], ph[80];
    snprintf(pb, sizeof pb, "%s/app.BIN", dir);
    snprintf(pn, sizeof pn, "%s/app", dir);
    snprintf(ph, sizeof ph, "%s/app.hex", dir);
    static const uint8_t raw[5] = {':', 0x01, 0xff, 0x00, 0x7f};
    static const char hex[] = ":0400100001020304E2\n:00000001FF\n";
    REQUIRE(write_file(pb, raw, sizeof raw) && write_file(pn, raw, sizeof raw) && write_file(ph, hex, strlen(hex)));
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(pb, LODE_IMAGE_AUTO, 0x100, true, &log, &img) == LODE_OK);
    CHECK(img->nsegs == 1 && img->segs[0].addr == 0x100 && img->segs[0].len == 5 && !memcmp(img->segs[0].data, raw, 5));
    lode_image_free(img);
    REQUIRE(lode_image_load_file(pn, LODE_IMAGE_AUTO, 0x200, true, &log, &img) == LODE_OK);
    CHECK(img->nsegs == 1 && img->segs[0].addr == 0x200 && img->segs[0].len == 5);
    lode_image_free(img);
    REQUIRE(lode_image_load_file(ph, LODE_IMAGE_AUTO, 0x300, true, &log, &img) == LODE_OK);
    CHECK(img->nsegs == 1 && img->segs[0].addr == 0x10 && img->segs[0].len == 4); /* base ignored */
    lode_image_free(img);
    CHECK_EQ(cap.nerr, 0);
    /* a .bin without a base: the raw binary's message, not a HEX syntax error */
    img = SENTINEL;
    log = make_log(&cap);
    int rc = lode_image_load_file(pb, LODE_IMAGE_AUTO, 0, false, &log, &img);
    EXPECT_FAIL(rc, LODE_E_INVALID_ARG, &cap, img, "app.BIN: not an ELF or Intel HEX file", "base address");
    /* without a base and a name, a ':' file is still read as Intel HEX (and this one is not) */
    log = make_log(&cap);
    rc = lode_image_load_file(pn, LODE_IMAGE_AUTO, 0, false, &log, &img);
    CHECK_EQ(rc, LODE_E_FORMAT);
    unlink(pb);
    unlink(pn);
    unlink(ph);
    rmdir(dir);
}

static void test_load_file(void)
{
    char dir[] = "/tmp/lode_test_image_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char pe[64], ph[64], pb[64], pz[64], pm[64];
    snprintf(pe, sizeof pe, "%s/fw.elf", dir);
    snprintf(ph, sizeof ph, "%s/fw.hex", dir);
    snprintf(pb, sizeof pb, "%s/fw.bin", dir);
    snprintf(pz, sizeof pz, "%s/empty", dir);
    snprintf(pm, sizeof pm, "%s/missing", dir);
    static telf_s e;
    make_basic(&e);
    REQUIRE(write_file(pe, e.buf, e.len));
    static const char hex[] = "\r\n  :0400100001020304E2\r\n:0400000500000011E6\r\n:00000001FF\r\n";
    REQUIRE(write_file(ph, hex, strlen(hex)));
    static const uint8_t bin[6] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
    REQUIRE(write_file(pb, bin, sizeof bin));
    REQUIRE(write_file(pz, "", 0));

    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(pe, LODE_IMAGE_AUTO, 0, false, &log, &img) == LODE_OK);
    CHECK_EQ(img->nsegs, 1);
    CHECK(lode_image_find_symbol(img, "Reset_Handler") != NULL);
    lode_image_free(img);

    REQUIRE(lode_image_load_file(ph, LODE_IMAGE_AUTO, 0, false, &log, &img) == LODE_OK);
    REQUIRE(img->nsegs == 1);
    CHECK_EQ(img->segs[0].addr, 0x10);
    CHECK_EQ(img->entry, 0x11);
    lode_image_free(img);

    /* the base is ignored for HEX */
    REQUIRE(lode_image_load_file(ph, LODE_IMAGE_IHEX, 0x1000, true, &log, &img) == LODE_OK);
    CHECK_EQ(img->segs[0].addr, 0x10);
    lode_image_free(img);

    REQUIRE(lode_image_load_file(pb, LODE_IMAGE_AUTO, 0x08000000, true, &log, &img) == LODE_OK);
    REQUIRE(img->nsegs == 1);
    CHECK_EQ(img->segs[0].addr, 0x08000000);
    CHECK_EQ(img->segs[0].len, 6);
    CHECK(memcmp(img->segs[0].data, bin, 6) == 0);
    lode_image_free(img);

    /* an ELF forced to load as BIN */
    REQUIRE(lode_image_load_file(pe, LODE_IMAGE_BIN, 0x100, true, &log, &img) == LODE_OK);
    CHECK_EQ(img->segs[0].len, e.len);
    lode_image_free(img);
    CHECK_EQ(cap.nerr, 0);

    img = SENTINEL;
    log = make_log(&cap);
    int rc = lode_image_load_file(pb, LODE_IMAGE_AUTO, 0, false, &log, &img);
    EXPECT_FAIL(rc, LODE_E_INVALID_ARG, &cap, img, "fw.bin: not an ELF or Intel HEX file",
                "base address");
    log = make_log(&cap);
    rc = lode_image_load_file(pb, LODE_IMAGE_BIN, 0, false, &log, &img);
    EXPECT_FAIL(rc, LODE_E_INVALID_ARG, &cap, img, "base address", NULL);
    log = make_log(&cap);
    rc = lode_image_load_file(pb, LODE_IMAGE_BIN, 0xfffffffe, true, &log, &img);
    EXPECT_FAIL(rc, LODE_E_RANGE, &cap, img, "fw.bin: 6 bytes at base 0xfffffffe", NULL);
    log = make_log(&cap);
    rc = lode_image_load_file(pb, LODE_IMAGE_ELF, 0, false, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "fw.bin: not an ELF file", NULL);
    log = make_log(&cap);
    rc = lode_image_load_file(pe, LODE_IMAGE_IHEX, 0, false, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "fw.elf line 1: ", NULL);
    log = make_log(&cap);
    rc = lode_image_load_file(pm, LODE_IMAGE_AUTO, 0, false, &log, &img);
    EXPECT_FAIL(rc, LODE_E_NO_DEVICE, &cap, img, "missing: cannot open: no such file",
                "check the path");
    log = make_log(&cap);
    rc = lode_image_load_file(pz, LODE_IMAGE_AUTO, 0, true, &log, &img);
    EXPECT_FAIL(rc, LODE_E_FORMAT, &cap, img, "empty: file is empty", NULL);
    log = make_log(&cap);
    rc = lode_image_load_file(dir, LODE_IMAGE_AUTO, 0, true, &log, &img);
    CHECK(rc != LODE_OK && img == SENTINEL && cap.nerr == 1);
    log = make_log(&cap);
    rc = lode_image_load_file(NULL, LODE_IMAGE_AUTO, 0, true, &log, &img);
    EXPECT_FAIL(rc, LODE_E_INVALID_ARG, &cap, img, NULL, NULL);

    /* without a callback, or without a log at all, errors are just codes */
    cap_s quiet;
    lode_log_s qlog = make_log(&quiet);
    qlog.fn = NULL;
    CHECK_EQ(lode_image_load_file(pm, LODE_IMAGE_AUTO, 0, false, &qlog, &img), LODE_E_NO_DEVICE);
    CHECK_EQ(lode_image_load_file(pm, LODE_IMAGE_AUTO, 0, false, NULL, &img), LODE_E_NO_DEVICE);
    CHECK_EQ(lode_image_parse_ihex(":00000001FE", 11, NULL, &img), LODE_E_FORMAT);
    CHECK_EQ(lode_image_parse_elf((const uint8_t *)"\x7f" "ELF", 4, NULL, &img), LODE_E_FORMAT);
    CHECK_EQ(quiet.nerr, 0);
    CHECK(img == SENTINEL);

    unlink(pe);
    unlink(ph);
    unlink(pb);
    unlink(pz);
    rmdir(dir);
}

static void test_load_file_limit(void)
{
    /* A file one byte over the limit is refused without reading it all into an image. */
    char path[] = "/tmp/lode_test_image_big_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    int trc = ftruncate(fd, (off_t)LODE_IMAGE_MAX_FILE + 1);
    close(fd);
    REQUIRE(trc == 0);
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *img = SENTINEL;
    int rc = lode_image_load_file(path, LODE_IMAGE_BIN, 0, true, &log, &img);
    EXPECT_FAIL(rc, LODE_E_NOMEM, &cap, img, "larger than 64 MiB", NULL);
    /* exactly at the limit is accepted */
    fd = open(path, O_WRONLY);
    REQUIRE(fd >= 0);
    trc = ftruncate(fd, (off_t)LODE_IMAGE_MAX_FILE);
    close(fd);
    REQUIRE(trc == 0);
    img = NULL;
    rc = lode_image_load_file(path, LODE_IMAGE_BIN, 0, true, &log, &img);
    CHECK_EQ(rc, LODE_OK);
    CHECK_EQ(lode_image_total_bytes(img), LODE_IMAGE_MAX_FILE);
    lode_image_free(img);
    unlink(path);
}

/* ---- a real toolchain ELF and its objcopy HEX ------------------------------------------ */

static void test_real_firmware(void)
{
    cap_s cap;
    lode_log_s log = make_log(&cap);
    lode_image_s *elf = NULL, *hex = NULL;
    int rc = lode_image_load_file(LODE_IMAGE_FW_ELF, LODE_IMAGE_AUTO, 0, false, &log, &elf);
    if (rc)
        fprintf(stderr, "%s\n", cap.last);
    REQUIRE(rc == LODE_OK);
    rc = lode_image_load_file(LODE_IMAGE_FW_HEX, LODE_IMAGE_AUTO, 0, false, &log, &hex);
    if (rc)
        fprintf(stderr, "%s\n", cap.last);
    if (rc)
        lode_image_free(elf);
    REQUIRE(rc == LODE_OK);
    CHECK(image_ok(elf));
    CHECK(image_ok(hex));

    /* identical segment bytes */
    CHECK_EQ(elf->nsegs, hex->nsegs);
    if (elf->nsegs == hex->nsegs) {
        for (size_t i = 0; i < elf->nsegs; i++) {
            CHECK_EQ(elf->segs[i].addr, hex->segs[i].addr);
            CHECK_EQ(elf->segs[i].len, hex->segs[i].len);
            if (elf->segs[i].len == hex->segs[i].len)
                CHECK(memcmp(elf->segs[i].data, hex->segs[i].data, elf->segs[i].len) == 0);
        }
    }
    CHECK(elf->has_entry && hex->has_entry);
    CHECK_EQ(elf->entry, hex->entry);

    /* flash at 0x08000000 (.text + .rodata + .data's load image) and .cfg at 0x08020000 */
    REQUIRE(elf->nsegs == 2);
    CHECK_EQ(elf->segs[0].addr, 0x08000000);
    CHECK_EQ(elf->segs[1].addr, 0x08020000);
    CHECK_EQ(elf->segs[1].len, 40);
    CHECK(memcmp(elf->segs[1].data, "lode-cfg", 8) == 0);
    CHECK_EQ(lodei_get_le32(elf->segs[0].data), 0x20008000); /* initial SP */

    const lode_symbol_s *rh = lode_image_find_symbol(elf, "Reset_Handler");
    REQUIRE(rh);
    CHECK_EQ(rh->type, LODE_STT_FUNC);
    CHECK_EQ(rh->value, elf->entry);
    CHECK(rh->value & 1); /* Thumb */
    CHECK_EQ(lodei_get_le32(elf->segs[0].data + 4), rh->value); /* reset vector */

    const lode_symbol_s *tab = lode_image_find_symbol(elf, "g_table");
    REQUIRE(tab);
    CHECK_EQ(tab->type, LODE_STT_OBJECT);
    CHECK_EQ(tab->size, 32);
    const lode_segment_s *seg = lode_image_find_segment(elf, tab->value);
    REQUIRE(seg);
    CHECK_EQ(lodei_get_le32(seg->data + (tab->value - seg->addr) + 4), 0x05060708);

    /* .data is loaded at its LMA in flash, right after the rest; .bss is not loaded */
    const lode_symbol_s *ctr = lode_image_find_symbol(elf, "g_counter");
    const lode_symbol_s *load = lode_image_find_symbol(elf, "__data_load");
    REQUIRE(ctr && load);
    CHECK_EQ(ctr->value, 0x20000000);
    CHECK_EQ(load->value, elf->segs[0].addr + elf->segs[0].len - 4);
    CHECK_EQ(lodei_get_le32(elf->segs[0].data + (load->value - elf->segs[0].addr)), 0x12345678);
    CHECK(lode_image_find_segment(elf, 0x20000000) == NULL);
    CHECK(lode_image_find_symbol(elf, "g_scratch") != NULL);
    CHECK_EQ(cap.nerr, 0);

    lode_image_free(elf);
    lode_image_free(hex);
}

int main(void)
{
    RUN_TEST(test_elf_basic);
    RUN_TEST(test_elf_segments);
    RUN_TEST(test_elf_overlap);
    RUN_TEST(test_elf_truncated);
    RUN_TEST(test_elf_unsupported);
    RUN_TEST(test_elf_corrupt);
    RUN_TEST(test_elf_many_segments);
    RUN_TEST(test_hex_records);
    RUN_TEST(test_hex_line_endings);
    RUN_TEST(test_hex_out_of_order);
    RUN_TEST(test_hex_errors);
    RUN_TEST(test_hex_overlap);
    RUN_TEST(test_bin);
    RUN_TEST(test_detect);
    RUN_TEST(test_load_file);
    RUN_TEST(test_colon_raw);
    RUN_TEST(test_load_file_limit);
    RUN_TEST(test_real_firmware);
    return TEST_DONE();
}
