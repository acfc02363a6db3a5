/* SPDX-License-Identifier: MIT */
/* SEGGER RTT host side (src/rtt/rtt.c) against a fake target: lode_core_ops_s over an array.
 * Scan, validation of stale / half-initialised blocks, wrap-around, merged reads, down-channel
 * writes into a full ring, the firmware re-initialising the block, writes racing the reads. */
#include <stdint.h>

#include "lode/error.h"
#include "lode/rtt.h"
#include "test.h"

#define BASE 0x20000000u
#define MEMSZ (320u * 1024u)
#define RAMSZ (32u * 1024u) /* the RAM range given to RTT; above it: "flash" with names */
#define NAMES (BASE + RAMSZ)

typedef struct fake_s fake_s;
struct fake_s {
    uint8_t mem[MEMSZ];
    unsigned reads, writes;
    int fail_read;   /* >0: that many more reads succeed, then one fails */
    int fail_write;
    /* the "firmware" runs after each read (a debugger read races the core) */
    void (*after_read)(fake_s *f);
    void *user;
};

static int f_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fake_s *f = ctx;
    f->reads++;
    if (f->fail_read && --f->fail_read == 0)
        return LODE_E_IO;
    if (addr < BASE || (uint64_t)addr + len > (uint64_t)BASE + MEMSZ)
        return LODE_E_FAULT;
    /* a read in ascending address order that the firmware may interrupt half way */
    size_t half = f->after_read ? len / 2 : len;
    memcpy(buf, f->mem + (addr - BASE), half);
    if (f->after_read) {
        f->after_read(f);
        memcpy((uint8_t *)buf + half, f->mem + (addr - BASE) + half, len - half);
    }
    return LODE_OK;
}

static int f_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    fake_s *f = ctx;
    f->writes++;
    if (f->fail_write && --f->fail_write == 0)
        return LODE_E_IO;
    if (addr < BASE || (uint64_t)addr + len > (uint64_t)BASE + MEMSZ)
        return LODE_E_FAULT;
    memcpy(f->mem + (addr - BASE), buf, len);
    return LODE_OK;
}

static uint32_t get32(const fake_s *f, uint32_t a)
{
    const uint8_t *p = f->mem + (a - BASE);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(fake_s *f, uint32_t a, uint32_t v)
{
    uint8_t *p = f->mem + (a - BASE);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_str(fake_s *f, uint32_t a, const char *s) { memcpy(f->mem + (a - BASE), s, strlen(s) + 1); }

/* control block header */
static void mk_block(fake_s *f, uint32_t cb, int32_t nup, int32_t ndown)
{
    memset(f->mem + (cb - BASE), 0, 24);
    memcpy(f->mem + (cb - BASE), "SEGGER RTT", 11);
    put32(f, cb + 16, (uint32_t)nup);
    put32(f, cb + 20, (uint32_t)ndown);
}

/* descriptor i (up ones first, then down) */
static uint32_t desc(uint32_t cb, unsigned i) { return cb + 24 + 24 * i; }

static void mk_desc(fake_s *f, uint32_t cb, unsigned i, uint32_t name, uint32_t buf, uint32_t size,
                    uint32_t flags)
{
    uint32_t d = desc(cb, i);
    put32(f, d, name);
    put32(f, d + 4, buf);
    put32(f, d + 8, size);
    put32(f, d + 12, 0);
    put32(f, d + 16, 0);
    put32(f, d + 20, flags);
}

/* the firmware writing into ring i (what fits; returns the bytes written) */
static size_t fw_write(fake_s *f, uint32_t cb, unsigned i, const uint8_t *data, size_t len)
{
    uint32_t d = desc(cb, i), buf = get32(f, d + 4), size = get32(f, d + 8);
    uint32_t wr = get32(f, d + 12), rd = get32(f, d + 16);
    size_t n = 0;
    while (n < len && (wr + 1) % size != rd) {
        f->mem[buf + wr - BASE] = data[n++];
        wr = (wr + 1) % size;
    }
    put32(f, d + 12, wr);
    return n;
}

/* the firmware reading down ring i */
static size_t fw_read(fake_s *f, uint32_t cb, unsigned i, uint8_t *out, size_t cap)
{
    uint32_t d = desc(cb, i), buf = get32(f, d + 4), size = get32(f, d + 8);
    uint32_t wr = get32(f, d + 12), rd = get32(f, d + 16);
    size_t n = 0;
    while (n < cap && rd != wr) {
        out[n++] = f->mem[buf + rd - BASE];
        rd = (rd + 1) % size;
    }
    put32(f, d + 16, rd);
    return n;
}

typedef struct sink_s {
    uint8_t data[4][8192];
    size_t n[4];
    unsigned calls;
} sink_s;

static void sink_fn(void *user, unsigned ch, const uint8_t *data, size_t len)
{
    sink_s *s = user;
    s->calls++;
    if (ch >= 4)
        return;
    for (size_t i = 0; i < len && s->n[ch] < sizeof s->data[ch]; i++)
        s->data[ch][s->n[ch]++] = data[i];
}

typedef struct logcap_s {
    int errors;
    char last[256];
} logcap_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    logcap_s *l = user;
    (void)cat;
    if (level == LODE_LOG_ERROR) {
        l->errors++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

typedef struct rig_s {
    fake_s *f;
    lode_core_ops_s core;
    lode_rtt_s *rtt;
    logcap_s log;
    sink_s sink;
} rig_s;

static rig_s *rig_new(uint32_t cb_addr)
{
    rig_s *r = calloc(1, sizeof *r);
    r->f = calloc(1, sizeof *r->f);
    r->core.mem_read = f_read;
    r->core.mem_write = f_write;
    r->core.ctx = r->f;
    lode_rtt_range_s ram = {BASE, RAMSZ};
    lode_rtt_config_s cfg = {.cb_addr = cb_addr, .ranges = &ram, .nranges = 1,
                             .log = {log_fn, &r->log, LODE_LOG_DEBUG}};
    if (lode_rtt_new(&r->core, &cfg, &r->rtt) != LODE_OK) {
        free(r->f);
        free(r);
        return NULL;
    }
    return r;
}

static void rig_free(rig_s *r)
{
    if (!r)
        return;
    lode_rtt_free(r->rtt);
    free(r->f);
    free(r);
}

/* A typical block: up 0 "Terminal" 1 KiB, up 1 "Data" 256, down 0 "Terminal" 64. */
#define CB (BASE + 0x1004u)
#define UP0 (BASE + 0x2000u)
#define UP1 (BASE + 0x2400u)
#define DN0 (BASE + 0x2600u)

static void mk_typical(fake_s *f, uint32_t cb)
{
    put_str(f, NAMES, "Terminal");
    put_str(f, NAMES + 16, "Data");
    mk_block(f, cb, 2, 1);
    mk_desc(f, cb, 0, NAMES, UP0, 1024, 2);
    mk_desc(f, cb, 1, NAMES + 16, UP1, 256, 2);
    mk_desc(f, cb, 2, NAMES, DN0, 64, 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_new_args(void)
{
    fake_s f;
    lode_core_ops_s core = {.mem_read = f_read, .mem_write = f_write, .ctx = &f};
    lode_rtt_s *rtt = (lode_rtt_s *)&f;
    lode_rtt_config_s cfg = {0};
    CHECK_EQ(lode_rtt_new(&core, &cfg, &rtt), LODE_E_INVALID_ARG); /* no RAM ranges */
    CHECK(rtt == (lode_rtt_s *)&f);
    lode_rtt_range_s bad = {0xFFFFFF00u, 0x1000};
    cfg.ranges = &bad;
    cfg.nranges = 1;
    CHECK_EQ(lode_rtt_new(&core, &cfg, &rtt), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_rtt_new(NULL, &cfg, &rtt), LODE_E_INVALID_ARG);
    lode_rtt_free(NULL);
    CHECK(!lode_rtt_attached(NULL));
}

static void test_scan_finds_block(void)
{
    rig_s *r = rig_new(0);
    REQUIRE(r);
    /* decoys: an unaligned ID, a stale block with garbage counts, then the real one */
    memcpy(r->f->mem + 0x101, "SEGGER RTT", 11);
    mk_block(r->f, BASE + 0x200, 1000, 3);
    mk_typical(r->f, CB);
    lode_rtt_info_s info;
    CHECK_EQ(lode_rtt_channels(r->rtt, &info), LODE_E_STATE);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_OK);
    CHECK(lode_rtt_attached(r->rtt));
    CHECK_EQ(r->log.errors, 0);
    REQUIRE(lode_rtt_channels(r->rtt, &info) == LODE_OK);
    CHECK_EQ(info.cb_addr, CB);
    CHECK_EQ(info.num_up, 2);
    CHECK_EQ(info.num_down, 1);
    CHECK(strcmp(info.up[0].name, "Terminal") == 0);
    CHECK(strcmp(info.up[1].name, "Data") == 0);
    CHECK(strcmp(info.down[0].name, "Terminal") == 0);
    CHECK_EQ(info.up[0].size, 1024);
    CHECK_EQ(info.up[1].buffer, UP1);
    CHECK_EQ(info.down[0].size, 64);
    CHECK_EQ(info.up[0].flags, 2);
    /* 32 KiB of RAM in one scan read; the block lies inside the chunk; names: 2 reads */
    CHECK_EQ(r->f->reads, 3);
    lode_rtt_stats_s st;
    lode_rtt_stats(r->rtt, &st);
    CHECK_EQ(st.mem_reads, 3);
    CHECK_EQ(st.attaches, 1);
    rig_free(r);
}

static void scan_one(uint32_t ram_len, uint32_t cb, unsigned want_reads)
{
    fake_s *f = calloc(1, sizeof *f);
    lode_core_ops_s core = {.mem_read = f_read, .mem_write = f_write, .ctx = f};
    lode_rtt_range_s ram = {BASE, ram_len};
    lode_rtt_config_s cfg = {.ranges = &ram, .nranges = 1};
    lode_rtt_s *rtt = NULL;
    REQUIRE(lode_rtt_new(&core, &cfg, &rtt) == LODE_OK);
    mk_block(f, cb, 1, 0);
    mk_desc(f, cb, 0, 0, cb + 48, 16, 0); /* one descriptor, a 16-byte ring after it */
    CHECK_EQ(lode_rtt_attach(rtt), LODE_OK);
    CHECK_EQ(f->reads, want_reads);
    lode_rtt_info_s info;
    REQUIRE(lode_rtt_channels(rtt, &info) == LODE_OK);
    CHECK_EQ(info.cb_addr, cb);
    CHECK(info.up[0].name[0] == '\0');
    lode_rtt_free(rtt);
    free(f);
}

static void test_scan_edges(void)
{
    /* the very end of RAM */
    scan_one(RAMSZ, BASE + RAMSZ - 64, 1);
    /* 300 KiB of RAM: two scan reads; the ID straddles the first chunk's end, so the second
     * chunk starts at it and holds the whole block */
    scan_one(300u * 1024u, BASE + LODE_RTT_SCAN_CHUNK - 4, 2);
    /* just after the first chunk */
    scan_one(300u * 1024u, BASE + LODE_RTT_SCAN_CHUNK + 8, 2);
}

static void test_not_found(void)
{
    rig_s *r = rig_new(0);
    REQUIRE(r);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_E_NO_DEVICE);
    CHECK_EQ(r->log.errors, 1);
    CHECK(strstr(r->log.last, "no RTT control block") != NULL);
    CHECK(!lode_rtt_attached(r->rtt));
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_E_STATE);
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "x", 1, NULL), LODE_E_STATE);
    rig_free(r);
}

typedef void (*mutate_fn)(fake_s *f);
static void m_id(fake_s *f) { f->mem[CB - BASE + 7] = 'X'; }
static void m_id_nul(fake_s *f) { f->mem[CB - BASE + 10] = '!'; }
static void m_nup_big(fake_s *f) { put32(f, CB + 16, 17); }
static void m_nup_neg(fake_s *f) { put32(f, CB + 16, 0xFFFFFFFFu); }
static void m_zero_ch(fake_s *f) { put32(f, CB + 16, 0); put32(f, CB + 20, 0); }
static void m_size_huge(fake_s *f) { put32(f, desc(CB, 0) + 8, 0x7FFFFFF0u); }
static void m_size_one(fake_s *f) { put32(f, desc(CB, 1) + 8, 1); }
static void m_buf_out(fake_s *f) { put32(f, desc(CB, 1) + 4, 0x30000000u); }
static void m_buf_end(fake_s *f) { put32(f, desc(CB, 2) + 4, BASE + RAMSZ - 32); }
static void m_buf_flash(fake_s *f) { put32(f, desc(CB, 0) + 4, NAMES); }
static void m_wr(fake_s *f) { put32(f, desc(CB, 0) + 12, 1024); }
static void m_rd(fake_s *f) { put32(f, desc(CB, 2) + 16, 64); }
static void m_flags(fake_s *f) { put32(f, desc(CB, 1) + 20, 3); }
static void m_overlap_cb(fake_s *f) { put32(f, desc(CB, 1) + 4, CB + 8); }
static void m_overlap_buf(fake_s *f) { put32(f, desc(CB, 1) + 4, UP0 + 1000); }
static void m_name(fake_s *f) { put32(f, desc(CB, 0), 0x40000000u); }
static void m_unconf(fake_s *f)
{
    put32(f, desc(CB, 1) + 4, 0);
    put32(f, desc(CB, 1) + 8, 0);
    put32(f, desc(CB, 1) + 16, 5);
}

static void test_invalid_blocks(void)
{
    static const struct {
        const char *what;
        mutate_fn m;
    } cases[] = {
        {"acID", m_id},           {"acID NUL", m_id_nul},     {"MaxNumUp 17", m_nup_big},
        {"MaxNumUp -1", m_nup_neg}, {"no channels", m_zero_ch}, {"Size huge", m_size_huge},
        {"Size 1", m_size_one},   {"pBuffer out", m_buf_out},  {"buffer past RAM", m_buf_end},
        {"buffer in flash", m_buf_flash}, {"WrOff", m_wr},    {"RdOff", m_rd},
        {"Flags 3", m_flags},     {"overlaps block", m_overlap_cb},
        {"overlaps buffer", m_overlap_buf}, {"name", m_name}, {"unconfigured", m_unconf},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int given = 0; given < 2; given++) {
            rig_s *r = rig_new(given ? CB : 0);
            REQUIRE(r);
            mk_typical(r->f, CB);
            cases[i].m(r->f);
            int rc = lode_rtt_attach(r->rtt);
            int want = (!given && (cases[i].m == m_id || cases[i].m == m_id_nul))
                           ? LODE_E_NO_DEVICE : LODE_E_FORMAT;
            if (rc != want || lode_rtt_attached(r->rtt) || r->log.errors != 1)
                fprintf(stderr, "case %s (%s): rc %d, errors %d: %s\n", cases[i].what,
                        given ? "given" : "scan", rc, r->log.errors, r->log.last);
            CHECK_EQ(rc, want);
            CHECK(!lode_rtt_attached(r->rtt));
            CHECK_EQ(r->log.errors, 1);
            rig_free(r);
        }
    }
    /* a block whose descriptors would run past the RAM range */
    rig_s *r = rig_new(BASE + RAMSZ - 100);
    REQUIRE(r);
    mk_block(r->f, BASE + RAMSZ - 100, 16, 16);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_E_FORMAT);
    CHECK(strstr(r->log.last, "outside RAM") != NULL);
    rig_free(r);
    /* unaligned given address */
    r = rig_new(CB + 2);
    REQUIRE(r);
    mk_typical(r->f, CB + 2);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_E_FORMAT);
    rig_free(r);
    /* the probe fails: the error as is */
    r = rig_new(CB);
    REQUIRE(r);
    mk_typical(r->f, CB);
    r->f->fail_read = 1;
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_E_IO);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_OK);
    rig_free(r);
}

static void test_given_address(void)
{
    rig_s *r = rig_new(CB);
    REQUIRE(r);
    mk_typical(r->f, CB);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_OK);
    /* header + 3 descriptors in one read, then the name (read once for the two "Terminal"s) + "Data" */
    CHECK_EQ(r->f->reads, 3);
    rig_free(r);
}

static void test_poll_and_wrap(void)
{
    rig_s *r = rig_new(0);
    REQUIRE(r);
    mk_typical(r->f, CB);
    /* make up 0 a 16-byte ring for the wrap test */
    put32(r->f, desc(CB, 0) + 8, 16);
    REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
    size_t got = 99;
    unsigned reads = r->f->reads, writes = r->f->writes;
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 0);
    CHECK_EQ(r->f->reads - reads, 1); /* idle: the block only */
    CHECK_EQ(r->f->writes - writes, 0);

    /* fill to offset 10, read it */
    CHECK_EQ(fw_write(r->f, CB, 0, (const uint8_t *)"0123456789", 10), 10);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 10);
    CHECK_EQ(get32(r->f, desc(CB, 0) + 16), 10);
    /* 12 more bytes wrap: [10,16) + [0,6): one merged read */
    reads = r->f->reads;
    writes = r->f->writes;
    CHECK_EQ(fw_write(r->f, CB, 0, (const uint8_t *)"abcdefghijkl", 12), 12);
    CHECK_EQ(get32(r->f, desc(CB, 0) + 12), 6);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 12);
    CHECK_EQ(r->f->reads - reads, 2);
    CHECK_EQ(r->f->writes - writes, 1);
    CHECK_EQ(get32(r->f, desc(CB, 0) + 16), 6);
    CHECK_EQ(r->sink.n[0], 22);
    CHECK(memcmp(r->sink.data[0], "0123456789abcdefghijkl", 22) == 0);
    /* a full ring: 15 of 16 bytes */
    uint8_t big[20];
    for (int i = 0; i < 20; i++)
        big[i] = (uint8_t)('A' + i);
    CHECK_EQ(fw_write(r->f, CB, 0, big, 20), 15);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 15);
    CHECK(memcmp(r->sink.data[0] + 22, big, 15) == 0);

    /* both up channels at once: their spans in one read (buffers 0x400 apart, not merged) */
    fw_write(r->f, CB, 0, (const uint8_t *)"xy", 2);
    fw_write(r->f, CB, 1, (const uint8_t *)"\x01\x02\x03", 3);
    reads = r->f->reads;
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 5);
    CHECK_EQ(r->sink.n[1], 3);
    CHECK(memcmp(r->sink.data[1], "\x01\x02\x03", 3) == 0);
    CHECK_EQ(r->f->reads - reads, 3); /* block + 2 spans 0x400 apart */

    lode_rtt_stats_s st;
    lode_rtt_stats(r->rtt, &st);
    CHECK_EQ(st.bytes_up, 42);
    CHECK_EQ(st.polls, 5);
    rig_free(r);
}

static void test_merge_adjacent(void)
{
    rig_s *r = rig_new(CB);
    REQUIRE(r);
    mk_block(r->f, CB, 2, 0);
    mk_desc(r->f, CB, 0, 0, UP0, 64, 0);
    mk_desc(r->f, CB, 1, 0, UP0 + 64 + 32, 64, 0); /* 32-byte gap: merged */
    REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
    fw_write(r->f, CB, 0, (const uint8_t *)"hello", 5);
    fw_write(r->f, CB, 1, (const uint8_t *)"world", 5);
    unsigned reads = r->f->reads;
    size_t got = 0;
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 10);
    CHECK_EQ(r->f->reads - reads, 2);
    CHECK(memcmp(r->sink.data[0], "hello", 5) == 0);
    CHECK(memcmp(r->sink.data[1], "world", 5) == 0);
    rig_free(r);
}

static void test_streaming_one_read(void)
{
    /* ring right after the block: once streaming, block + data in one read */
    rig_s *r = rig_new(0);
    REQUIRE(r);
    uint32_t cb = BASE + 0x100, ring = cb + 48;
    mk_block(r->f, cb, 1, 0);
    mk_desc(r->f, cb, 0, 0, ring, 256, 2);
    REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
    uint8_t pat[255];
    uint32_t sent = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 255; i++)
            pat[i] = (uint8_t)(sent + (uint32_t)i);
        size_t n = fw_write(r->f, cb, 0, pat, 255);
        CHECK_EQ(n, 255);
        sent += (uint32_t)n;
        unsigned reads = r->f->reads;
        size_t got = 0;
        CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
        CHECK_EQ(got, 255);
        CHECK_EQ(r->f->reads - reads, round == 0 ? 2 : 1);
    }
    REQUIRE(r->sink.n[0] == sent);
    for (uint32_t i = 0; i < sent; i++)
        if (r->sink.data[0][i] != (uint8_t)i) {
            CHECK_EQ(r->sink.data[0][i], (uint8_t)i);
            break;
        }
    /* idle again: after one poll without data the block is read alone */
    size_t got = 1;
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    CHECK_EQ(got, 0);
    unsigned reads = r->f->reads;
    lode_rtt_stats_s st1, st2;
    lode_rtt_stats(r->rtt, &st1);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, &got), LODE_OK);
    lode_rtt_stats(r->rtt, &st2);
    CHECK_EQ(r->f->reads - reads, 1);
    CHECK_EQ(st2.read_bytes - st1.read_bytes, 48);
    rig_free(r);
}

/* the firmware writes while lode reads: after every read, a few more bytes (torn reads) */
typedef struct racer_s {
    uint32_t cb;
    uint32_t next; /* next byte value of the stream */
    uint32_t seed;
    uint32_t sent;
} racer_s;

static void racer(fake_s *f)
{
    racer_s *rc = f->user;
    rc->seed = rc->seed * 1103515245u + 12345u;
    size_t want = (rc->seed >> 16) % 40;
    uint8_t b[40];
    for (size_t i = 0; i < want; i++)
        b[i] = (uint8_t)(rc->next + i);
    size_t n = fw_write(f, rc->cb, 0, b, want);
    rc->next += (uint32_t)n;
    rc->sent += (uint32_t)n;
}

static void test_racing_writer(void)
{
    for (int layout = 0; layout < 2; layout++) {
        rig_s *r = rig_new(0);
        REQUIRE(r);
        uint32_t cb = BASE + 0x100, ring = layout ? cb + 48 : BASE + 0x3000;
        mk_block(r->f, cb, 1, 0);
        mk_desc(r->f, cb, 0, 0, ring, 64, 2);
        REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
        racer_s rc = {.cb = cb, .seed = 7u + (uint32_t)layout};
        r->f->user = &rc;
        r->f->after_read = racer;
        for (int i = 0; i < 200; i++)
            CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_OK);
        r->f->after_read = NULL;
        CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_OK);
        CHECK(rc.sent > 1000);
        REQUIRE(r->sink.n[0] == rc.sent);
        int bad = 0;
        for (uint32_t i = 0; i < rc.sent; i++)
            bad += r->sink.data[0][i] != (uint8_t)i;
        CHECK_EQ(bad, 0);
        rig_free(r);
    }
}

static void test_down_write(void)
{
    rig_s *r = rig_new(CB);
    REQUIRE(r);
    mk_typical(r->f, CB);
    put32(r->f, desc(CB, 2) + 8, 8); /* down 0: an 8-byte ring */
    REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
    size_t w = 99;
    CHECK_EQ(lode_rtt_write(r->rtt, 1, "x", 1, &w), LODE_E_INVALID_ARG);
    CHECK_EQ(w, 99);
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "", 0, &w), LODE_OK);
    CHECK_EQ(w, 0);
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "abcdefghij", 10, &w), LODE_OK);
    CHECK_EQ(w, 7); /* one byte always unused */
    CHECK_EQ(get32(r->f, desc(CB, 2) + 12), 7);
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "z", 1, &w), LODE_OK);
    CHECK_EQ(w, 0); /* full */
    uint8_t got[16];
    CHECK_EQ(fw_read(r->f, CB, 2, got, 3), 3);
    CHECK(memcmp(got, "abc", 3) == 0);
    /* room for 3, wrapping: offset 7, then 0 and 1 */
    unsigned writes = r->f->writes;
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "KLMNO", 5, &w), LODE_OK);
    CHECK_EQ(w, 3);
    CHECK_EQ(r->f->writes - writes, 3); /* two spans + WrOff */
    CHECK_EQ(get32(r->f, desc(CB, 2) + 12), 2);
    CHECK_EQ(fw_read(r->f, CB, 2, got, 16), 7);
    CHECK(memcmp(got, "defgKLM", 7) == 0);
    lode_rtt_stats_s st;
    lode_rtt_stats(r->rtt, &st);
    CHECK_EQ(st.bytes_down, 10);
    rig_free(r);
}

static void test_reinit(void)
{
    rig_s *r = rig_new(0);
    REQUIRE(r);
    mk_typical(r->f, CB);
    REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
    fw_write(r->f, CB, 0, (const uint8_t *)"one\n", 4);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_OK);
    /* the firmware restarts: .bss cleared, the block not yet initialised */
    memset(r->f->mem + (CB - BASE), 0, 24 + 3 * 24);
    r->log.errors = 0;
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_E_FORMAT);
    CHECK_EQ(r->log.errors, 1);
    CHECK(!lode_rtt_attached(r->rtt));
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_E_STATE);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_E_NO_DEVICE);
    /* half-initialised: the ID is there, the counts not yet */
    memcpy(r->f->mem + (CB - BASE), "SEGGER RTT", 11);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_E_FORMAT);
    /* initialised again, with up 1 moved */
    mk_typical(r->f, CB);
    put32(r->f, desc(CB, 1) + 4, UP1 + 0x100);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_OK);
    fw_write(r->f, CB, 0, (const uint8_t *)"two\n", 4);
    fw_write(r->f, CB, 1, (const uint8_t *)"D", 1);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_OK);
    CHECK_EQ(r->sink.n[0], 8);
    CHECK(memcmp(r->sink.data[0], "one\ntwo\n", 8) == 0);
    CHECK_EQ(r->sink.n[1], 1);
    /* re-initialised mid-stream with a valid ID but another buffer: detected */
    put32(r->f, desc(CB, 0) + 4, UP0 + 0x10);
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_E_FORMAT);
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "x", 1, NULL), LODE_E_STATE);
    CHECK_EQ(lode_rtt_attach(r->rtt), LODE_OK);
    /* a corrupt offset while attached: detected by the write as well */
    put32(r->f, desc(CB, 2) + 16, 1000);
    CHECK_EQ(lode_rtt_write(r->rtt, 0, "x", 1, NULL), LODE_E_FORMAT);
    lode_rtt_stats_s st;
    lode_rtt_stats(r->rtt, &st);
    CHECK_EQ(st.reinits, 3);
    CHECK_EQ(st.attaches, 3);
    rig_free(r);
}

static void test_access_errors(void)
{
    rig_s *r = rig_new(CB);
    REQUIRE(r);
    mk_typical(r->f, CB);
    REQUIRE(lode_rtt_attach(r->rtt) == LODE_OK);
    fw_write(r->f, CB, 0, (const uint8_t *)"abc", 3);
    r->f->fail_read = 2; /* the data read fails */
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_E_IO);
    CHECK_EQ(r->sink.n[0], 0);
    r->f->fail_write = 1; /* RdOff write fails: nothing delivered, nothing lost */
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_E_IO);
    CHECK_EQ(r->sink.n[0], 0);
    CHECK(lode_rtt_attached(r->rtt));
    CHECK_EQ(lode_rtt_poll(r->rtt, sink_fn, &r->sink, NULL), LODE_OK);
    CHECK_EQ(r->sink.n[0], 3);
    CHECK(memcmp(r->sink.data[0], "abc", 3) == 0);
    rig_free(r);
}

/* ---- streaming with pipelined units ---------------------------------------------------------
 * A fake pipelining core: each unit's runs execute in order when submitted, and the
 * "firmware" writes a scheduled amount (0 .. a whole buffer) before every run, so a unit's
 * WrOff read, window read and RdOff write each see a different state. The producer's pattern
 * (mod 251) differs from lap to lap of the 1 KiB ring: stale bytes would show. */
typedef struct pipe_s {
    fake_s *f;
    unsigned inflight, max_inflight, units, collected;
    uint32_t seed;
    unsigned burst;      /* 0: quiet phase (few bytes), else flood */
    uint64_t produced;
    int fail_collect;    /* >0: that many collects succeed, then one fails */
    bool sticky;         /* the next collect fails too */
    lode_mem_op_s q[2][4];
    size_t qn[2];
    unsigned head;
} pipe_s;

static pipe_s g_pipe_dummy; /* unused: keeps -Wmissing-prototypes quiet for the helpers below */

static uint32_t rnd(pipe_s *p)
{
    p->seed = p->seed * 1103515245u + 12345u;
    return p->seed >> 8;
}

static void produce(pipe_s *p)
{
    size_t want = p->burst ? rnd(p) % 700u : (rnd(p) % 4u == 0 ? rnd(p) % 40u : 0);
    uint8_t tmp[1024];
    for (size_t i = 0; i < want; i++)
        tmp[i] = (uint8_t)((p->produced + i) % 251u);
    p->produced += fw_write(p->f, CB, 0, tmp, want);
}

static int p_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    pipe_s *p = ctx;
    produce(p);
    return f_read(p->f, addr, buf, len);
}

static int p_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    pipe_s *p = ctx;
    return f_write(p->f, addr, buf, len);
}

/* Units run in order when collected (as a probe answers them); a failing one (and, the
 * sticky error, the one behind it) does nothing at all. */
static void p_exec(pipe_s *p, const lode_mem_op_s *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        produce(p);
        for (uint32_t k = 0; k < ops[i].n; k++) {
            uint32_t a = ops[i].addr + 4u * k;
            if (ops[i].write)
                put32(p->f, a, ops[i].words[k]);
            else
                ops[i].words[k] = get32(p->f, a);
        }
    }
}

static int p_submit(void *ctx, const lode_mem_op_s *ops, size_t n)
{
    pipe_s *p = ctx;
    if (p->inflight >= 2 || n > 4)
        return LODE_E_STATE;
    unsigned slot = (p->head + p->inflight) % 2u;
    memcpy(p->q[slot], ops, n * sizeof *ops);
    p->qn[slot] = n;
    p->inflight++;
    p->units++;
    if (p->inflight > p->max_inflight)
        p->max_inflight = p->inflight;
    return LODE_OK;
}

static int p_collect(void *ctx)
{
    pipe_s *p = ctx;
    if (!p->inflight)
        return LODE_E_STATE;
    unsigned slot = p->head;
    p->head = (p->head + 1) % 2u;
    p->inflight--;
    p->collected++;
    if (p->sticky) {
        p->sticky = false;
        return LODE_E_FAULT;
    }
    if (p->fail_collect && --p->fail_collect == 0) {
        p->sticky = p->inflight > 0;
        return LODE_E_FAULT;
    }
    p_exec(p, p->q[slot], p->qn[slot]);
    return LODE_OK;
}

static unsigned p_depth(void *ctx)
{
    (void)ctx;
    return 2;
}

typedef struct pcheck_s {
    uint64_t n;
    uint64_t bad;
    unsigned other;
} pcheck_s;

static void pcheck_fn(void *user, unsigned ch, const uint8_t *d, size_t len)
{
    pcheck_s *c = user;
    if (ch != 0) {
        c->other++;
        return;
    }
    for (size_t i = 0; i < len; i++, c->n++)
        if (d[i] != (uint8_t)(c->n % 251u)) {
            if (!c->bad)
                fprintf(stderr, "  byte %llu is %u, expected %u\n", (unsigned long long)c->n, d[i],
                        (unsigned)(c->n % 251u));
            c->bad++;
        }
}

static void test_stream_pipelined(void)
{
    (void)g_pipe_dummy;
    for (uint32_t seed = 1; seed <= 6; seed++) {
        fake_s *f = calloc(1, sizeof *f);
        pipe_s p = {.f = f, .seed = seed};
        mk_typical(f, CB);
        lode_core_ops_s core = {.mem_read = p_read, .mem_write = p_write, .mem_submit = p_submit,
                                .mem_collect = p_collect, .mem_depth = p_depth, .ctx = &p};
        lode_rtt_range_s ram = {BASE, RAMSZ};
        lode_rtt_config_s cfg = {.cb_addr = CB, .ranges = &ram, .nranges = 1};
        lode_rtt_s *rtt = NULL;
        REQUIRE(lode_rtt_new(&core, &cfg, &rtt) == LODE_OK);
        REQUIRE(lode_rtt_attach(rtt) == LODE_OK);
        pcheck_s c = {0};
        for (int poll = 0; poll < 400; poll++) {
            p.burst = (poll / 25) % 2; /* flood and quiet phases */
            size_t got = 0;
            uint64_t before = c.n;
            CHECK_EQ(lode_rtt_poll(rtt, pcheck_fn, &c, &got), LODE_OK);
            CHECK_EQ(got, c.n - before);
        }
        CHECK_EQ(c.bad, 0);
        CHECK_EQ(c.other, 0);
        CHECK_EQ(p.inflight, 0);
        /* the firmware's RdOff is exactly what was delivered; what is left is still unread */
        uint32_t rd = get32(f, desc(CB, 0) + 16), wr = get32(f, desc(CB, 0) + 12);
        CHECK_EQ(rd, (uint32_t)(c.n % 1024u));
        CHECK_EQ(c.n + (wr + 1024u - rd) % 1024u, p.produced);
        lode_rtt_stats_s st;
        lode_rtt_stats(rtt, &st);
        CHECK(st.stream_units > 20);
        CHECK(p.max_inflight == 2);
        CHECK(c.n > 100000);
        lode_rtt_free(rtt);
        free(f);
    }
    /* a unit failing (the probe lost, a bus fault): the poll says so, nothing is given back
     * that was not delivered, and the next polls go on from there */
    fake_s *f = calloc(1, sizeof *f);
    pipe_s p = {.f = f, .seed = 99, .burst = 1, .fail_collect = 3};
    mk_typical(f, CB);
    lode_core_ops_s core = {.mem_read = p_read, .mem_write = p_write, .mem_submit = p_submit,
                            .mem_collect = p_collect, .mem_depth = p_depth, .ctx = &p};
    lode_rtt_range_s ram = {BASE, RAMSZ};
    lode_rtt_config_s cfg = {.cb_addr = CB, .ranges = &ram, .nranges = 1};
    lode_rtt_s *rtt = NULL;
    REQUIRE(lode_rtt_new(&core, &cfg, &rtt) == LODE_OK);
    REQUIRE(lode_rtt_attach(rtt) == LODE_OK);
    pcheck_s c = {0};
    int errors = 0;
    for (int poll = 0; poll < 6; poll++) {
        if (poll == 3)
            p.burst = 0;
        if (lode_rtt_poll(rtt, pcheck_fn, &c, NULL) != LODE_OK)
            errors++;
    }
    CHECK_EQ(errors, 1);
    CHECK_EQ(p.inflight, 0);
    CHECK_EQ(c.bad, 0);
    uint32_t rd = get32(f, desc(CB, 0) + 16);
    CHECK_EQ(rd, (uint32_t)(c.n % 1024u));
    lode_rtt_free(rtt);
    free(f);
}

/* ---- streaming through a merging probe (bit-level: the J-Link) ------------------------------
 * Outstanding units run together, in order, when the first is collected; a unit of more than
 * cap_words data words is refused with LODE_E_RANGE. The producer writes between every run
 * of every unit, as above. A clock advances 10 us per word moved (the stream's time bound). */
typedef struct merge_s {
    pipe_s pp;               /* the fake target and its producer */
    uint32_t cap_words;
    unsigned pending, ran, units, refused, collected;
    int fail_at;             /* >0: the unit collected as this one (1-based) fails, no effect */
    uint64_t us;
    lode_mem_op_s q[4][8];
    size_t qn[4];
} merge_s;

static int m_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    return p_read(&((merge_s *)ctx)->pp, addr, buf, len);
}

static int m_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return p_write(&((merge_s *)ctx)->pp, addr, buf, len);
}

static int m_submit(void *ctx, const lode_mem_op_s *ops, size_t n)
{
    merge_s *m = ctx;
    if (m->pending >= 4u || n > 8u)
        return LODE_E_STATE;
    uint64_t words = 0;
    for (size_t i = 0; i < n; i++)
        words += ops[i].n;
    if (words > m->cap_words) {
        m->refused++;
        return LODE_E_RANGE;
    }
    memcpy(m->q[m->pending], ops, n * sizeof *ops);
    m->qn[m->pending++] = n;
    m->units++;
    return LODE_OK;
}

static int m_collect(void *ctx)
{
    merge_s *m = ctx;
    if (m->ran == m->pending)
        return LODE_E_STATE;
    if (m->ran == 0) /* the first collect sends them all, as one command */
        for (unsigned k = 0; k < m->pending; k++)
            if (m->collected + k + 1u != (unsigned)m->fail_at) {
                p_exec(&m->pp, m->q[k], m->qn[k]);
                for (size_t i = 0; i < m->qn[k]; i++)
                    m->us += 10u * m->q[k][i].n;
            }
    m->ran++;
    bool failed = ++m->collected == (unsigned)m->fail_at;
    if (m->ran == m->pending)
        m->ran = m->pending = 0;
    return failed ? LODE_E_FAULT : LODE_OK;
}

static unsigned m_depth(void *ctx)
{
    (void)ctx;
    return 4;
}

static uint64_t m_now(void *ctx) { return ((merge_s *)ctx)->us; }

static void test_stream_merged(void)
{
    /* cap 1024: one unit holds what the ring allows; cap 100: refused until 64 words */
    static const uint32_t caps[] = {1024u, 100u};
    for (size_t ci = 0; ci < 2; ci++)
        for (uint32_t seed = 1; seed <= 4; seed++) {
            fake_s *f = calloc(1, sizeof *f);
            merge_s m = {.pp = {.f = f, .seed = seed}, .cap_words = caps[ci]};
            mk_typical(f, CB);
            lode_core_ops_s core = {.mem_read = m_read, .mem_write = m_write, .mem_submit = m_submit,
                                    .mem_collect = m_collect, .mem_depth = m_depth, .mem_merged = true,
                                    .now_us = m_now, .ctx = &m};
            lode_rtt_range_s ram = {BASE, RAMSZ};
            lode_rtt_config_s cfg = {.cb_addr = CB, .ranges = &ram, .nranges = 1};
            lode_rtt_s *rtt = NULL;
            REQUIRE(lode_rtt_new(&core, &cfg, &rtt) == LODE_OK);
            REQUIRE(lode_rtt_attach(rtt) == LODE_OK);
            pcheck_s c = {0};
            for (int poll = 0; poll < 400; poll++) {
                m.pp.burst = (poll / 25) % 2; /* flood and quiet phases */
                size_t got = 0;
                uint64_t before = c.n;
                CHECK_EQ(lode_rtt_poll(rtt, pcheck_fn, &c, &got), LODE_OK);
                CHECK_EQ(got, c.n - before);
            }
            CHECK_EQ(c.bad, 0);
            CHECK_EQ(c.other, 0);
            CHECK_EQ(m.pending, 0);
            uint32_t rd = get32(f, desc(CB, 0) + 16), wr = get32(f, desc(CB, 0) + 12);
            CHECK_EQ(rd, (uint32_t)(c.n % 1024u));
            CHECK_EQ(c.n + (wr + 1024u - rd) % 1024u, m.pp.produced);
            lode_rtt_stats_s st;
            lode_rtt_stats(rtt, &st);
            CHECK(st.stream_units > 20);
            CHECK(c.n > 100000);
            if (caps[ci] < 1024u)
                CHECK(m.refused > 0);
            else
                CHECK_EQ(m.refused, 0);
            lode_rtt_free(rtt);
            free(f);
        }
    /* a unit failing: the poll says so, RdOff is what was delivered, the next polls go on */
    fake_s *f = calloc(1, sizeof *f);
    merge_s m = {.pp = {.f = f, .seed = 7, .burst = 1}, .cap_words = 1024u, .fail_at = 3};
    mk_typical(f, CB);
    lode_core_ops_s core = {.mem_read = m_read, .mem_write = m_write, .mem_submit = m_submit,
                            .mem_collect = m_collect, .mem_depth = m_depth, .mem_merged = true,
                            .now_us = m_now, .ctx = &m};
    lode_rtt_range_s ram = {BASE, RAMSZ};
    lode_rtt_config_s cfg = {.cb_addr = CB, .ranges = &ram, .nranges = 1};
    lode_rtt_s *rtt = NULL;
    REQUIRE(lode_rtt_new(&core, &cfg, &rtt) == LODE_OK);
    REQUIRE(lode_rtt_attach(rtt) == LODE_OK);
    pcheck_s c = {0};
    int errors = 0;
    for (int poll = 0; poll < 6; poll++) {
        if (poll == 3)
            m.pp.burst = 0;
        if (lode_rtt_poll(rtt, pcheck_fn, &c, NULL) != LODE_OK)
            errors++;
    }
    CHECK_EQ(errors, 1);
    CHECK_EQ(m.pending, 0);
    CHECK_EQ(c.bad, 0);
    CHECK(c.n > 2000);
    CHECK_EQ(get32(f, desc(CB, 0) + 16), (uint32_t)(c.n % 1024u));
    lode_rtt_free(rtt);
    free(f);
}

int main(void)
{
    RUN_TEST(test_new_args);
    RUN_TEST(test_scan_finds_block);
    RUN_TEST(test_scan_edges);
    RUN_TEST(test_not_found);
    RUN_TEST(test_invalid_blocks);
    RUN_TEST(test_given_address);
    RUN_TEST(test_poll_and_wrap);
    RUN_TEST(test_merge_adjacent);
    RUN_TEST(test_streaming_one_read);
    RUN_TEST(test_racing_writer);
    RUN_TEST(test_down_write);
    RUN_TEST(test_reinit);
    RUN_TEST(test_access_errors);
    RUN_TEST(test_stream_pipelined);
    RUN_TEST(test_stream_merged);
    return TEST_DONE();
}
