/* SPDX-License-Identifier: MIT */
/* SEGGER RTT host side (include/lode/rtt.h), written from the control block layout in
 * SEGGER's UM08001: find the block, validate it, drain up channels, fill down channels. */
#include "lode/rtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/target.h"
#include "util/bytes.h"

/* descriptor field offsets */
#define D_NAME 0u
#define D_BUF 4u
#define D_SIZE 8u
#define D_WR 12u
#define D_RD 16u
#define D_FLAGS 20u

#define ID_LEN 11u                  /* "SEGGER RTT" and its NUL */
#define NAME_PAGE 1024u             /* a name read never crosses this boundary */
#define MAX_SPEC_SPAN (64u * 1024u) /* block + buffers read speculatively in one mem_read */
#define MAX_CH (2u * LODE_RTT_MAX_CHANNELS)
#define WHY_LEN 160u

typedef struct chan_s {
    uint32_t name_addr;
    uint32_t buffer;
    uint32_t size;
    uint32_t flags;
    char name[LODE_RTT_NAME_MAX];
    uint32_t last_bytes; /* delivered by the last poll (streaming heuristic) */
    uint32_t slack;      /* merged units: how short of the ring they stay (0: not set yet) */
} chan_s;

/* One descriptor as read, before it is trusted. */
typedef struct desc_s {
    uint32_t name_addr, buffer, size, wr, rd, flags;
} desc_s;

typedef struct block_s {
    unsigned nup, ndown;
    desc_s d[MAX_CH]; /* up first, then down */
} block_s;

struct lode_rtt_s {
    lode_core_ops_s core;
    lode_log_s log;
    lode_rtt_range_s ranges[LODE_RTT_MAX_RANGES];
    size_t nranges;
    uint32_t cfg_cb;  /* given address (0: scan) */
    uint32_t last_cb; /* where the block was last found (0: never) */
    bool attached;
    uint32_t cb;
    unsigned nup, ndown;
    chan_s ch[MAX_CH]; /* up first, then down */
    uint8_t *scratch;
    size_t scratch_cap;
    lode_rtt_stats_s st;
    bool no_stream; /* the core's pipelined units are too small for streaming */
    uint32_t unit_words; /* merged units: the most data words the probe took in one (0: not
                          * tried yet) */
    uint32_t *unit_buf;  /* merged units: their words */
};

typedef struct span_s {
    uint32_t addr;
    uint32_t len;
    unsigned ch;          /* up channel */
    const uint8_t *data;  /* where the bytes are once read */
    size_t pos;           /* offset of the bytes in scratch (needed reads) */
} span_s;

/* ---- helpers ------------------------------------------------------------------------------ */

static int rd_mem(lode_rtt_s *r, uint32_t addr, void *buf, size_t len)
{
    r->st.mem_reads++;
    r->st.read_bytes += len;
    return r->core.mem_read(r->core.ctx, addr, buf, len);
}

static int wr_mem(lode_rtt_s *r, uint32_t addr, const void *buf, size_t len)
{
    r->st.mem_writes++;
    return r->core.mem_write(r->core.ctx, addr, buf, len);
}

static int wr_le32(lode_rtt_s *r, uint32_t addr, uint32_t v)
{
    uint8_t b[4];
    lodei_put_le32(b, v);
    return wr_mem(r, addr, b, 4);
}

/* [addr, addr + len) inside one RAM range (len may be 0: addr inside or at a range's end). */
static bool in_ram(const lode_rtt_s *r, uint32_t addr, uint64_t len)
{
    for (size_t i = 0; i < r->nranges; i++) {
        uint64_t lo = r->ranges[i].addr, hi = lo + r->ranges[i].len;
        if (addr >= lo && (uint64_t)addr + len <= hi)
            return true;
    }
    return false;
}

static bool overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

static int grow(lode_rtt_s *r, size_t need)
{
    if (need <= r->scratch_cap)
        return LODE_OK;
    size_t cap = r->scratch_cap ? r->scratch_cap : 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(r->scratch, cap);
    if (!p)
        return LODE_E_NOMEM;
    r->scratch = p;
    r->scratch_cap = cap;
    return LODE_OK;
}

static uint32_t block_len(unsigned nup, unsigned ndown)
{
    return LODE_RTT_HEADER_SIZE + LODE_RTT_DESC_SIZE * (nup + ndown);
}

/* A memory error that means "nothing there" rather than "the probe failed". */
static bool unreadable(int rc)
{
    return rc == LODE_E_FAULT || rc == LODE_E_RANGE || rc == LODE_E_ACCESS;
}

/* ---- validation --------------------------------------------------------------------------- */

/* The header at `cb` (24 bytes at hdr): ID and counts; the block must fit in RAM. */
static bool check_header(const lode_rtt_s *r, uint32_t cb, const uint8_t *hdr, unsigned *nup,
                         unsigned *ndown, char *why)
{
    if (memcmp(hdr, LODE_RTT_ID, ID_LEN) != 0) {
        snprintf(why, WHY_LEN, "no \"" LODE_RTT_ID "\" ID (not initialised yet, or stale)");
        return false;
    }
    int32_t u = (int32_t)lodei_get_le32(hdr + 16), d = (int32_t)lodei_get_le32(hdr + 20);
    if (u < 0 || d < 0 || u > (int32_t)LODE_RTT_MAX_CHANNELS || d > (int32_t)LODE_RTT_MAX_CHANNELS ||
        u + d == 0) {
        snprintf(why, WHY_LEN, "MaxNumUpBuffers %ld / MaxNumDownBuffers %ld outside 0..%u",
                 (long)u, (long)d, LODE_RTT_MAX_CHANNELS);
        return false;
    }
    if (!in_ram(r, cb, block_len((unsigned)u, (unsigned)d))) {
        snprintf(why, WHY_LEN, "the block (%u bytes) runs outside RAM",
                 (unsigned)block_len((unsigned)u, (unsigned)d));
        return false;
    }
    *nup = (unsigned)u;
    *ndown = (unsigned)d;
    return true;
}

/* Every descriptor of a block whose header passed check_header. */
static bool check_descs(const lode_rtt_s *r, uint32_t cb, const uint8_t *blk, block_s *b, char *why)
{
    unsigned n = b->nup + b->ndown;
    uint32_t blen = block_len(b->nup, b->ndown);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *p = blk + LODE_RTT_HEADER_SIZE + LODE_RTT_DESC_SIZE * i;
        desc_s *d = &b->d[i];
        d->name_addr = lodei_get_le32(p + D_NAME);
        d->buffer = lodei_get_le32(p + D_BUF);
        d->size = lodei_get_le32(p + D_SIZE);
        d->wr = lodei_get_le32(p + D_WR);
        d->rd = lodei_get_le32(p + D_RD);
        d->flags = lodei_get_le32(p + D_FLAGS);
        const char *dir = i < b->nup ? "up" : "down";
        unsigned k = i < b->nup ? i : i - b->nup;
        if (d->buffer == 0 && d->size == 0) { /* channel not configured */
            if (d->wr || d->rd) {
                snprintf(why, WHY_LEN, "%s %u: offsets %u/%u without a buffer", dir, k,
                         (unsigned)d->wr, (unsigned)d->rd);
                return false;
            }
            continue;
        }
        if (d->size < 2 || d->size > LODE_RTT_MAX_BUFFER) {
            snprintf(why, WHY_LEN, "%s %u: SizeOfBuffer %u outside 2..%u", dir, k,
                     (unsigned)d->size, LODE_RTT_MAX_BUFFER);
            return false;
        }
        if (!in_ram(r, d->buffer, d->size)) {
            snprintf(why, WHY_LEN, "%s %u: buffer 0x%08x + %u outside RAM", dir, k,
                     (unsigned)d->buffer, (unsigned)d->size);
            return false;
        }
        if (d->wr >= d->size || d->rd >= d->size) {
            snprintf(why, WHY_LEN, "%s %u: WrOff %u / RdOff %u not below SizeOfBuffer %u", dir, k,
                     (unsigned)d->wr, (unsigned)d->rd, (unsigned)d->size);
            return false;
        }
        if ((d->flags & 3u) == 3u) {
            snprintf(why, WHY_LEN, "%s %u: Flags 0x%x has the undefined mode 3", dir, k,
                     (unsigned)d->flags);
            return false;
        }
        if (overlap(d->buffer, d->size, cb, blen)) {
            snprintf(why, WHY_LEN, "%s %u: buffer overlaps the control block", dir, k);
            return false;
        }
        for (unsigned j = 0; j < i; j++)
            if (b->d[j].size && overlap(d->buffer, d->size, b->d[j].buffer, b->d[j].size)) {
                snprintf(why, WHY_LEN, "%s %u: buffer overlaps another channel's", dir, k);
                return false;
            }
    }
    return true;
}

/* Read a channel name (sName) into out; LODE_E_FORMAT (why set) when it is not readable. */
static int read_name(lode_rtt_s *r, uint32_t addr, char *out, char *why)
{
    out[0] = '\0';
    if (!addr)
        return LODE_OK;
    uint8_t buf[LODE_RTT_NAME_MAX];
    size_t n = LODE_RTT_NAME_MAX - 1;
    uint32_t to_page = NAME_PAGE - (addr % NAME_PAGE);
    if (n > to_page)
        n = to_page;
    if ((uint64_t)addr + n > 0x100000000ull)
        n = (size_t)(0x100000000ull - addr);
    int rc = rd_mem(r, addr, buf, n);
    if (rc != LODE_OK) {
        if (!unreadable(rc))
            return rc;
        snprintf(why, WHY_LEN, "channel name at 0x%08x not readable", (unsigned)addr);
        return LODE_E_FORMAT;
    }
    size_t i = 0;
    for (; i < n && buf[i]; i++)
        out[i] = (buf[i] >= 0x20 && buf[i] < 0x7F) ? (char)buf[i] : '?';
    out[i] = '\0';
    return LODE_OK;
}

/* Validate a candidate block at cb. `pre` holds `have` bytes already read from cb (may be
 * 0). LODE_OK: attached. LODE_E_FORMAT: invalid (why set). Others: access errors. */
static int try_at(lode_rtt_s *r, uint32_t cb, const uint8_t *pre, size_t have, char *why)
{
    if (cb % 4 || !in_ram(r, cb, LODE_RTT_HEADER_SIZE)) {
        snprintf(why, WHY_LEN, "address not 4-byte aligned or not in RAM");
        return LODE_E_FORMAT;
    }
    uint8_t *tmp = NULL;
    int rc = LODE_OK;
    if (have < LODE_RTT_HEADER_SIZE) {
        /* optimistic: the header and a few descriptors in one read */
        size_t want = block_len(3, 3);
        while (want > LODE_RTT_HEADER_SIZE && !in_ram(r, cb, want))
            want -= LODE_RTT_DESC_SIZE;
        tmp = malloc(want);
        if (!tmp)
            return LODE_E_NOMEM;
        rc = rd_mem(r, cb, tmp, want);
        if (rc != LODE_OK)
            goto out;
        pre = tmp;
        have = want;
    }
    block_s b;
    if (!check_header(r, cb, pre, &b.nup, &b.ndown, why)) {
        rc = LODE_E_FORMAT;
        goto out;
    }
    size_t blen = block_len(b.nup, b.ndown);
    if (have < blen) {
        uint8_t *full = malloc(blen);
        if (!full) {
            rc = LODE_E_NOMEM;
            goto out;
        }
        free(tmp);
        tmp = full;
        rc = rd_mem(r, cb, tmp, blen);
        if (rc != LODE_OK)
            goto out;
        pre = tmp;
        /* the header may have changed between the reads */
        if (!check_header(r, cb, pre, &b.nup, &b.ndown, why) || block_len(b.nup, b.ndown) != blen) {
            if (rc == LODE_OK && !why[0])
                snprintf(why, WHY_LEN, "the block changed while it was read");
            rc = LODE_E_FORMAT;
            goto out;
        }
    }
    if (!check_descs(r, cb, pre, &b, why)) {
        rc = LODE_E_FORMAT;
        goto out;
    }
    chan_s ch[MAX_CH];
    memset(ch, 0, sizeof ch);
    for (unsigned i = 0; i < b.nup + b.ndown; i++) {
        ch[i].name_addr = b.d[i].name_addr;
        ch[i].buffer = b.d[i].buffer;
        ch[i].size = b.d[i].size;
        ch[i].flags = b.d[i].flags;
        /* the same name pointer twice: read once */
        unsigned j = 0;
        while (j < i && ch[j].name_addr != ch[i].name_addr)
            j++;
        if (j < i)
            memcpy(ch[i].name, ch[j].name, sizeof ch[i].name);
        else if ((rc = read_name(r, ch[i].name_addr, ch[i].name, why)) != LODE_OK)
            goto out;
    }
    memcpy(r->ch, ch, sizeof ch);
    r->cb = cb;
    r->last_cb = cb;
    r->nup = b.nup;
    r->ndown = b.ndown;
    r->attached = true;
    r->st.attaches++;
    lode_log(&r->log, LODE_LOG_INFO, LODE_LOGC_RTT,
             "RTT control block at 0x%08x: %u up, %u down channels", (unsigned)cb, b.nup, b.ndown);
out:
    free(tmp);
    return rc;
}

/* ---- public: lifetime --------------------------------------------------------------------- */

int lode_rtt_new(const lode_core_ops_s *core, const lode_rtt_config_s *cfg, lode_rtt_s **out)
{
    if (!core || !cfg || !out || !core->mem_read || !core->mem_write)
        return LODE_E_INVALID_ARG;
    if (cfg->nranges == 0 || cfg->nranges > LODE_RTT_MAX_RANGES || !cfg->ranges) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                 "RTT needs 1..%u RAM ranges (the chip's RAM or --rtt-scan ADDR LEN)",
                 LODE_RTT_MAX_RANGES);
        return LODE_E_INVALID_ARG;
    }
    for (size_t i = 0; i < cfg->nranges; i++)
        if (cfg->ranges[i].len == 0 ||
            (uint64_t)cfg->ranges[i].addr + cfg->ranges[i].len > 0x100000000ull) {
            lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                     "RTT RAM range 0x%08x + 0x%x is empty or past 4 GiB: give ADDR LEN of RAM",
                     (unsigned)cfg->ranges[i].addr, (unsigned)cfg->ranges[i].len);
            return LODE_E_INVALID_ARG;
        }
    lode_rtt_s *r = calloc(1, sizeof *r);
    if (!r)
        return LODE_E_NOMEM;
    r->core = *core;
    r->log = cfg->log;
    memcpy(r->ranges, cfg->ranges, cfg->nranges * sizeof *cfg->ranges);
    r->nranges = cfg->nranges;
    r->cfg_cb = cfg->cb_addr;
    *out = r;
    return LODE_OK;
}

void lode_rtt_free(lode_rtt_s *rtt)
{
    if (!rtt)
        return;
    free(rtt->scratch);
    free(rtt->unit_buf);
    free(rtt);
}

/* ---- public: attach ----------------------------------------------------------------------- */

/* Scan every range for the ID. *found_id: a candidate was seen (why = the first reason). */
static int scan(lode_rtt_s *r, bool *found_id, uint32_t *first_bad, char *why)
{
    for (size_t i = 0; i < r->nranges; i++) {
        uint64_t lo = r->ranges[i].addr, hi = lo + r->ranges[i].len;
        uint64_t pos = (lo + 3) & ~3ull; /* next candidate address to test */
        uint64_t chunk_at = pos;
        while (pos + ID_LEN <= hi) {
            uint64_t n = hi - chunk_at;
            if (n > LODE_RTT_SCAN_CHUNK)
                n = LODE_RTT_SCAN_CHUNK;
            int rc = grow(r, (size_t)n);
            if (rc == LODE_OK)
                rc = rd_mem(r, (uint32_t)chunk_at, r->scratch, (size_t)n);
            if (rc != LODE_OK)
                return rc;
            uint64_t end = chunk_at + n;
            for (; pos + ID_LEN <= end; pos += 4) {
                const uint8_t *p = r->scratch + (pos - chunk_at);
                if (p[0] != 'S' || memcmp(p, LODE_RTT_ID, ID_LEN) != 0)
                    continue;
                char w[WHY_LEN] = "";
                /* try_at reads into its own buffers: scratch stays valid */
                rc = try_at(r, (uint32_t)pos, p, (size_t)(end - pos), w);
                if (rc == LODE_OK)
                    return LODE_OK;
                if (rc != LODE_E_FORMAT)
                    return rc;
                lode_log(&r->log, LODE_LOG_DEBUG, LODE_LOGC_RTT, "RTT candidate at 0x%08x: %s",
                         (unsigned)pos, w);
                if (!*found_id) {
                    *found_id = true;
                    *first_bad = (uint32_t)pos;
                    memcpy(why, w, WHY_LEN);
                }
            }
            if (end >= hi)
                break;
            /* the next chunk starts at the next candidate (an ID may straddle chunks) */
            chunk_at = pos;
        }
    }
    return LODE_E_NO_DEVICE;
}

int lode_rtt_attach(lode_rtt_s *rtt)
{
    if (!rtt)
        return LODE_E_INVALID_ARG;
    rtt->attached = false;
    char why[WHY_LEN] = "";
    int rc;
    if (rtt->cfg_cb) {
        rc = try_at(rtt, rtt->cfg_cb, NULL, 0, why);
        if (rc == LODE_E_FORMAT)
            lode_log(&rtt->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                     "no valid RTT control block at 0x%08x (_SEGGER_RTT): %s; retry once the "
                     "firmware has initialised RTT", (unsigned)rtt->cfg_cb, why);
        else if (rc != LODE_OK)
            lode_log(&rtt->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                     "cannot read the RTT control block at 0x%08x: %s", (unsigned)rtt->cfg_cb,
                     lode_strerror(rc));
        return rc;
    }
    if (rtt->last_cb) {
        rc = try_at(rtt, rtt->last_cb, NULL, 0, why);
        if (rc == LODE_OK)
            return rc;
        if (rc != LODE_E_FORMAT && !unreadable(rc)) {
            lode_log(&rtt->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                     "cannot read the RTT control block at 0x%08x: %s", (unsigned)rtt->last_cb,
                     lode_strerror(rc));
            return rc;
        }
    }
    bool found_id = false;
    uint32_t bad = 0;
    why[0] = '\0';
    rc = scan(rtt, &found_id, &bad, why);
    if (rc == LODE_OK)
        return rc;
    if (rc == LODE_E_NO_DEVICE && found_id) {
        lode_log(&rtt->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                 "RTT control block at 0x%08x is not valid: %s; retry once the firmware has "
                 "initialised RTT", (unsigned)bad, why);
        return LODE_E_FORMAT;
    }
    if (rc == LODE_E_NO_DEVICE)
        lode_log(&rtt->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                 "no RTT control block (\"" LODE_RTT_ID "\") in RAM 0x%08x..0x%08x%s: is the "
                 "firmware running and using RTT? Retry later, or give _SEGGER_RTT's address",
                 (unsigned)rtt->ranges[0].addr,
                 (unsigned)(rtt->ranges[0].addr + rtt->ranges[0].len - 1),
                 rtt->nranges > 1 ? " (and the other ranges)" : "");
    else
        lode_log(&rtt->log, LODE_LOG_ERROR, LODE_LOGC_RTT, "RTT scan of RAM failed: %s",
                 lode_strerror(rc));
    return rc;
}

void lode_rtt_detach(lode_rtt_s *rtt)
{
    if (rtt)
        rtt->attached = false;
}

bool lode_rtt_attached(const lode_rtt_s *rtt) { return rtt && rtt->attached; }

int lode_rtt_channels(const lode_rtt_s *rtt, lode_rtt_info_s *out)
{
    if (!rtt || !out)
        return LODE_E_INVALID_ARG;
    if (!rtt->attached)
        return LODE_E_STATE;
    memset(out, 0, sizeof *out);
    out->cb_addr = rtt->cb;
    out->num_up = rtt->nup;
    out->num_down = rtt->ndown;
    for (unsigned i = 0; i < rtt->nup + rtt->ndown; i++) {
        lode_rtt_channel_s *c = i < rtt->nup ? &out->up[i] : &out->down[i - rtt->nup];
        memcpy(c->name, rtt->ch[i].name, sizeof c->name);
        c->name_addr = rtt->ch[i].name_addr;
        c->buffer = rtt->ch[i].buffer;
        c->size = rtt->ch[i].size;
        c->flags = rtt->ch[i].flags;
    }
    return LODE_OK;
}

void lode_rtt_stats(const lode_rtt_s *rtt, lode_rtt_stats_s *out)
{
    if (!out)
        return;
    if (rtt)
        *out = rtt->st;
    else
        memset(out, 0, sizeof *out);
}

/* ---- re-validation while attached --------------------------------------------------------- */

/* The block as read now (blk) against what attach found: same counts, same buffers, every
 * field valid. On success b holds the descriptors. On failure: detached, one error logged. */
static int revalidate(lode_rtt_s *r, const uint8_t *blk, block_s *b)
{
    char why[WHY_LEN] = "";
    bool ok = check_header(r, r->cb, blk, &b->nup, &b->ndown, why);
    if (ok && (b->nup != r->nup || b->ndown != r->ndown)) {
        snprintf(why, WHY_LEN, "the channel counts changed");
        ok = false;
    }
    if (ok)
        ok = check_descs(r, r->cb, blk, b, why);
    for (unsigned i = 0; ok && i < r->nup + r->ndown; i++)
        if (b->d[i].buffer != r->ch[i].buffer || b->d[i].size != r->ch[i].size ||
            b->d[i].name_addr != r->ch[i].name_addr) {
            snprintf(why, WHY_LEN, "%s %u was reconfigured", i < r->nup ? "up" : "down",
                     i < r->nup ? i : i - r->nup);
            ok = false;
        }
    if (ok) {
        for (unsigned i = 0; i < r->nup + r->ndown; i++)
            r->ch[i].flags = b->d[i].flags;
        return LODE_OK;
    }
    r->attached = false;
    r->st.reinits++;
    for (unsigned i = 0; i < MAX_CH; i++)
        r->ch[i].last_bytes = 0;
    lode_log(&r->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
             "RTT control block at 0x%08x changed (%s): the firmware re-initialised or "
             "overwrote it; detached, attach again", (unsigned)r->cb, why);
    return LODE_E_FORMAT;
}

/* ---- poll --------------------------------------------------------------------------------- */

static int span_cmp(const void *a, const void *b)
{
    const span_s *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int stream(lode_rtt_s *r, unsigned ch, const desc_s *d0, lode_rtt_data_fn fn, void *user,
                  size_t *got);

int lode_rtt_poll(lode_rtt_s *rtt, lode_rtt_data_fn fn, void *user, size_t *bytes)
{
    if (!rtt)
        return LODE_E_INVALID_ARG;
    if (!rtt->attached)
        return LODE_E_STATE;
    lode_rtt_s *r = rtt;
    r->st.polls++;
    uint32_t blen = block_len(r->nup, r->ndown);
    uint64_t read_end = (uint64_t)r->cb + blen;

    /* streaming channels whose buffers follow the block: read them with it, lowest first */
    bool spec[LODE_RTT_MAX_CHANNELS] = {false};
    for (;;) {
        unsigned best = MAX_CH;
        for (unsigned i = 0; i < r->nup; i++) {
            const chan_s *c = &r->ch[i];
            if (spec[i] || !c->size || (uint64_t)c->last_bytes * 2 < c->size ||
                c->buffer < read_end || c->buffer - read_end > LODE_RTT_MERGE_GAP ||
                (uint64_t)c->buffer + c->size - r->cb > MAX_SPEC_SPAN)
                continue;
            if (best == MAX_CH || c->buffer < r->ch[best].buffer)
                best = i;
        }
        if (best == MAX_CH)
            break;
        spec[best] = true;
        read_end = (uint64_t)r->ch[best].buffer + r->ch[best].size;
    }
    size_t first_len = (size_t)(read_end - r->cb);
    int rc = grow(r, first_len);
    if (rc == LODE_OK)
        rc = rd_mem(r, r->cb, r->scratch, first_len);
    if (rc != LODE_OK)
        return rc;
    block_s b;
    if ((rc = revalidate(r, r->scratch, &b)) != LODE_OK)
        return rc;

    /* the spans to deliver */
    span_s sp[2 * LODE_RTT_MAX_CHANNELS];
    unsigned nsp = 0;
    for (unsigned i = 0; i < r->nup; i++) {
        const desc_s *d = &b.d[i];
        if (!d->size || d->wr == d->rd)
            continue;
        uint32_t end1 = d->wr > d->rd ? d->wr : d->size;
        sp[nsp++] = (span_s){.addr = d->buffer + d->rd, .len = end1 - d->rd, .ch = i};
        if (d->wr < d->rd && d->wr > 0)
            sp[nsp++] = (span_s){.addr = d->buffer, .len = d->wr, .ch = i};
    }
    /* spans not in the first read: sorted, merged when close, one read per group */
    span_s need[2 * LODE_RTT_MAX_CHANNELS];
    unsigned nneed = 0;
    for (unsigned k = 0; k < nsp; k++) {
        if (sp[k].addr >= r->cb && (uint64_t)sp[k].addr + sp[k].len <= read_end)
            sp[k].data = NULL; /* resolved below (scratch may move) */
        else
            need[nneed++] = sp[k];
    }
    qsort(need, nneed, sizeof *need, span_cmp);
    size_t total = first_len;
    for (unsigned k = 0; k < nneed;) {
        uint64_t lo = need[k].addr, hi = lo + need[k].len;
        unsigned e = k + 1;
        while (e < nneed && need[e].addr <= hi + LODE_RTT_MERGE_GAP) {
            if ((uint64_t)need[e].addr + need[e].len > hi)
                hi = (uint64_t)need[e].addr + need[e].len;
            e++;
        }
        if ((rc = grow(r, total + (size_t)(hi - lo))) != LODE_OK)
            return rc;
        if ((rc = rd_mem(r, (uint32_t)lo, r->scratch + total, (size_t)(hi - lo))) != LODE_OK)
            return rc;
        for (; k < e; k++)
            need[k].pos = total + (need[k].addr - lo);
        total += (size_t)(hi - lo);
    }
    for (unsigned k = 0; k < nsp; k++) {
        if (sp[k].addr >= r->cb && (uint64_t)sp[k].addr + sp[k].len <= read_end) {
            sp[k].data = r->scratch + (sp[k].addr - r->cb);
            continue;
        }
        for (unsigned j = 0; j < nneed; j++)
            if (need[j].addr == sp[k].addr)
                sp[k].data = r->scratch + need[j].pos;
    }

    /* free the space, then deliver what was freed */
    bool freed[LODE_RTT_MAX_CHANNELS] = {false};
    for (unsigned i = 0; i < r->nup && rc == LODE_OK; i++) {
        const desc_s *d = &b.d[i];
        r->ch[i].last_bytes = 0;
        if (!d->size || d->wr == d->rd)
            continue;
        rc = wr_le32(r, r->cb + LODE_RTT_HEADER_SIZE + LODE_RTT_DESC_SIZE * i + D_RD, d->wr);
        freed[i] = rc == LODE_OK;
    }
    size_t got = 0;
    for (unsigned k = 0; k < nsp; k++) {
        if (!freed[sp[k].ch])
            continue;
        r->ch[sp[k].ch].last_bytes += sp[k].len;
        got += sp[k].len;
        if (fn)
            fn(user, sp[k].ch, sp[k].data, sp[k].len);
    }
    r->st.bytes_up += got;
    /* a channel that keeps its buffer busy: stream it while it does */
    if (rc == LODE_OK && !r->no_stream && r->core.mem_submit && r->core.mem_collect && r->core.mem_depth) {
        for (unsigned i = 0; i < r->nup; i++) {
            const desc_s *d = &b.d[i];
            if (freed[i] && d->size >= 2u && (uint64_t)r->ch[i].last_bytes * 2u >= d->size) {
                rc = stream(r, i, d, fn, user, &got);
                break;
            }
        }
    }
    if (bytes && rc == LODE_OK)
        *bytes = got;
    return rc;
}

/* ---- streaming (pipelined probes) ----------------------------------------------------------
 * A channel that filled at least half its buffer since the last poll is drained with
 * pipelined units while it keeps up: each unit gives back what is confirmed (RdOff write),
 * reads the channel's WrOff, then reads a window of S bytes where the data will be if the
 * firmware keeps the buffer full. Two units are in flight, so a unit's RdOff write frees what
 * the unit two before it confirmed, and the firmware has one unit's time to fill it before the
 * next WrOff read: the window fits when 3 S <= size - 1. A window that turns out not (wholly)
 * written yet ends the stream after delivering its valid part; data in the window is trusted
 * only below the WrOff read before it in the same unit. */
#define STREAM_DEPTH 2u
#define STREAM_MAX_WORDS 85u    /* one 512-byte CMSIS-DAP packet holds the unit */
#define STREAM_MIN_WORDS 16u
#define STREAM_MAX_UNITS 4096u /* and at most this many units (a core without a clock) */
#define STREAM_MAX_US 50000u    /* back to the caller (core state, other channels) this often */

typedef struct unit_s {
    uint32_t wr;                     /* the channel's WrOff as read */
    uint32_t rd_new;                 /* the RdOff in effect at the WrOff read (written by it if
                                      * it changed) */
    uint32_t pos;                    /* window start (ring offset) */
    uint32_t words[STREAM_MAX_WORDS + 2];
    lode_mem_op_s ops[4];
    unsigned nops;
} unit_s;

static int stream_send(lode_rtt_s *r, unit_s *u, uint32_t dbase, const desc_s *d, uint32_t pos,
                       uint32_t window, uint32_t give_back, uint32_t written)
{
    u->pos = pos;
    u->rd_new = give_back;
    u->nops = 0;
    if (give_back != written)
        u->ops[u->nops++] = (lode_mem_op_s){.addr = dbase + D_RD, .words = &u->rd_new, .n = 1, .write = true};
    u->ops[u->nops++] = (lode_mem_op_s){.addr = dbase + D_WR, .words = &u->wr, .n = 1};
    uint32_t a = pos & ~3u, e = (pos + window + 3u) & ~3u; /* ring offsets, e may pass size */
    uint32_t first_end = e < d->size ? e : d->size;
    u->ops[u->nops++] = (lode_mem_op_s){.addr = d->buffer + a, .words = u->words, .n = (first_end - a) / 4u};
    if (e > d->size)
        u->ops[u->nops++] = (lode_mem_op_s){.addr = d->buffer, .words = u->words + (first_end - a) / 4u,
                                            .n = (e - d->size) / 4u};
    int rc = r->core.mem_submit(r->core.ctx, u->ops, u->nops);
    if (rc == LODE_OK)
        r->st.stream_units++;
    return rc;
}

/* Bytes [pos, pos + n) of the ring, out of the unit's words, to the callback. */
static void stream_deliver(lode_rtt_s *r, unit_s *u, unsigned ch, const desc_s *d, uint32_t n,
                           lode_rtt_data_fn fn, void *user)
{
    uint8_t bytes[4 * (STREAM_MAX_WORDS + 2)];
    uint32_t nw = 0;
    for (unsigned k = 0; k < u->nops; k++)
        if (!u->ops[k].write && u->ops[k].words != &u->wr)
            nw += u->ops[k].n;
    for (uint32_t k = 0; k < nw; k++)
        lodei_put_le32(bytes + 4u * k, u->words[k]);
    const uint8_t *src = bytes + (u->pos & 3u);
    uint32_t to_end = d->size - u->pos;
    if (n <= to_end) {
        fn(user, ch, src, n);
    } else { /* the ring wraps: two calls, as a plain poll makes */
        fn(user, ch, src, to_end);
        fn(user, ch, src + to_end, n - to_end);
    }
}

static int stream_merged(lode_rtt_s *r, unsigned ch, const desc_s *d0, lode_rtt_data_fn fn,
                         void *user, size_t *got);

static int stream(lode_rtt_s *r, unsigned ch, const desc_s *d0, lode_rtt_data_fn fn, void *user,
                  size_t *got)
{
    if (r->core.mem_merged)
        return stream_merged(r, ch, d0, fn, user, got);
    desc_s d = *d0; /* validated by this poll; d.wr is what it gave back (RdOff) */
    uint32_t window = ((d.size - 1u) / 3u) & ~3u;
    if (window > 4u * STREAM_MAX_WORDS)
        window = 4u * STREAM_MAX_WORDS;
    if (window < 4u * STREAM_MIN_WORDS || (d.buffer & 3u) || (d.size & 3u))
        return LODE_OK;
    unsigned depth = r->core.mem_depth(r->core.ctx);
    if (depth < STREAM_DEPTH)
        return LODE_OK;
    uint32_t dbase = r->cb + LODE_RTT_HEADER_SIZE + LODE_RTT_DESC_SIZE * ch;
    unit_s u[STREAM_DEPTH];
    uint32_t confirmed = d.wr, written_rd = d.wr, next = d.wr;
    unsigned head = 0, inflight = 0, units = 0;
    bool ending = false, stop = false; /* ending: in-flight data unusable; stop: send no more */
    bool force_rd = false, reinit = false;
    int rc = LODE_OK;
    uint64_t t0 = r->core.now_us ? r->core.now_us(r->core.ctx) : 0;
    for (;;) {
        while (!ending && !stop && rc == LODE_OK && inflight < STREAM_DEPTH) {
            unit_s *x = &u[(head + inflight) % STREAM_DEPTH];
            rc = stream_send(r, x, dbase, &d, next, window, confirmed, written_rd);
            if (rc == LODE_E_RANGE && !inflight && next == d.wr) {
                /* the probe's packets are too small for a unit (CMSIS-DAP v1): plain polls */
                r->no_stream = true;
                return LODE_OK;
            }
            if (rc != LODE_OK)
                break;
            written_rd = confirmed;
            next = (next + window) % d.size;
            inflight++;
        }
        if (!inflight)
            break;
        unit_s *x = &u[head];
        head = (head + 1) % STREAM_DEPTH;
        inflight--;
        int crc = r->core.mem_collect(r->core.ctx);
        if (crc != LODE_OK) {
            /* the units behind it may not have written their RdOff: write it at the end */
            rc = rc != LODE_OK ? rc : crc;
            ending = force_rd = true;
            continue;
        }
        if (ending)
            continue; /* drained: its data is not used */
        if (x->wr >= d.size) { /* the block changed under us: the next poll revalidates */
            ending = reinit = true;
            continue;
        }
        /* valid: from the RdOff in effect at the WrOff read (rd_new) up to WrOff */
        uint32_t filled = (x->wr + d.size - x->rd_new) % d.size;
        uint32_t off = (x->pos + d.size - x->rd_new) % d.size;
        uint32_t avail = filled > off ? filled - off : 0;
        uint32_t n = avail < window ? avail : window;
        if (n && fn)
            stream_deliver(r, x, ch, &d, n, fn, user);
        *got += n;
        r->st.bytes_up += n;
        r->ch[ch].last_bytes += n;
        confirmed = (x->pos + n) % d.size;
        if (n < window) {
            ending = true; /* the firmware did not keep up: plain polls again */
            continue;
        }
        if (++units >= STREAM_MAX_UNITS ||
            (r->core.now_us && r->core.now_us(r->core.ctx) - t0 >= STREAM_MAX_US))
            stop = true; /* what is in flight is still good */
    }
    /* give back what was delivered last (the units in flight wrote older positions) */
    if (!reinit && (force_rd || confirmed != written_rd)) {
        int wrc = wr_le32(r, dbase + D_RD, confirmed);
        if (rc == LODE_OK)
            rc = wrc;
    }
    return rc;
}

/* ---- streaming through a probe that merges units (a bit-level probe: the J-Link) -------------
 * Its outstanding units go out as one probe command when the first is collected, so nothing
 * overlaps a round trip and one unit at a time, as large as the ring allows, does best. Each
 * unit gives back everything delivered so far (the RdOff write), then reads WrOff and window
 * A (the space the previous unit's give-back freed, which the firmware had that unit's time
 * to fill), then WrOff again and window B (the space this unit's give-back freed, which the
 * firmware fills while A is read). A and B lie back to back from the first byte not yet
 * delivered and stay `slack` short of the ring's usable size: in the steady state A is that
 * long, and reading it is the firmware's time to refill B. The slack adapts to how fast the
 * firmware refills against the SWD clock: doubled when B came back short, a 32nd less after
 * each unit whose B was complete. Data is trusted only below the WrOff read before it; B only
 * when A was wholly valid. */
#define MERGED_MAX_WORDS 1024u /* first try; halved while the probe says a unit is too big */
#define MERGED_OPS 7u          /* RdOff write, WrOff, A (2 runs at the wrap), WrOff, B (2) */
#define MERGED_MIN_SLACK 16u

/* Read words for ring bytes [s, e) (s, e multiples of 4, s < size, s <= e <= s + size): one
 * run, or two at the ring's end. */
static void merged_runs(const desc_s *d, uint32_t s, uint32_t e, uint32_t *words, lode_mem_op_s *ops,
                        unsigned *nops)
{
    if (e == s)
        return;
    uint32_t first_end = e < d->size ? e : d->size;
    ops[(*nops)++] = (lode_mem_op_s){.addr = d->buffer + s, .words = words, .n = (first_end - s) / 4u};
    if (e > d->size)
        ops[(*nops)++] = (lode_mem_op_s){.addr = d->buffer, .words = words + (first_end - s) / 4u,
                                         .n = (e - d->size) / 4u};
}

static int stream_merged(lode_rtt_s *r, unsigned ch, const desc_s *d0, lode_rtt_data_fn fn,
                         void *user, size_t *got)
{
    desc_s d = *d0; /* validated by this poll; d.wr is what it gave back (RdOff) */
    uint32_t max_slack = (d.size - 1u) / 2u;
    if ((d.buffer & 3u) || (d.size & 3u) || max_slack < 4u * STREAM_MIN_WORDS)
        return LODE_OK;
    uint32_t *slack = &r->ch[ch].slack;
    if (*slack < MERGED_MIN_SLACK || *slack > max_slack)
        *slack = d.size / 8u < MERGED_MIN_SLACK ? MERGED_MIN_SLACK : d.size / 8u;
    uint32_t dbase = r->cb + LODE_RTT_HEADER_SIZE + LODE_RTT_DESC_SIZE * ch;
    uint32_t confirmed = d.wr; /* delivered up to here (ring offset) */
    uint32_t given = d.wr;     /* the RdOff the target has */
    bool given_known = true, reinit = false;
    unsigned units = 0;
    int rc = LODE_OK;
    uint64_t t0 = r->core.now_us ? r->core.now_us(r->core.ctx) : 0;
    if (!r->unit_words)
        r->unit_words = MERGED_MAX_WORDS;
    if (!r->unit_buf) {
        r->unit_buf = malloc((MERGED_MAX_WORDS + 2u) * sizeof *r->unit_buf);
        if (!r->unit_buf)
            return LODE_E_NOMEM;
    }
    for (;;) {
        /* the windows: A up to what the last give-back let the firmware fill, B the rest */
        uint32_t total = d.size - 1u - *slack;
        if (total > 4u * (r->unit_words - 2u))
            total = 4u * (r->unit_words - 2u);
        uint32_t old = d.size - 1u - (confirmed + d.size - given) % d.size;
        uint32_t a = old < total ? old : total;
        uint32_t lo = confirmed & ~3u;                            /* first word read */
        uint32_t ea = (confirmed + a) & ~3u, eb = (confirmed + total) & ~3u; /* may pass size */
        uint32_t wr1 = 0, wr2 = 0, rd_new = confirmed;
        lode_mem_op_s ops[MERGED_OPS];
        unsigned nops = 0;
        if (!given_known || given != confirmed)
            ops[nops++] = (lode_mem_op_s){.addr = dbase + D_RD, .words = &rd_new, .n = 1, .write = true};
        bool has_a = ea > lo, has_b = eb > ea;
        if (has_a) {
            ops[nops++] = (lode_mem_op_s){.addr = dbase + D_WR, .words = &wr1, .n = 1};
            merged_runs(&d, lo, ea, r->unit_buf, ops, &nops);
        }
        if (has_b) {
            ops[nops++] = (lode_mem_op_s){.addr = dbase + D_WR, .words = &wr2, .n = 1};
            merged_runs(&d, ea % d.size, ea % d.size + (eb - ea), r->unit_buf + (ea - lo) / 4u, ops, &nops);
        }
        rc = r->core.mem_submit(r->core.ctx, ops, nops);
        if (rc == LODE_E_RANGE) {
            /* too big for one probe command: smaller units, down to the least worth it */
            if (r->unit_words / 2u < 2u * STREAM_MIN_WORDS) {
                r->no_stream = true;
                rc = LODE_OK;
                break;
            }
            r->unit_words /= 2u;
            rc = LODE_OK;
            continue;
        }
        if (rc != LODE_OK)
            break;
        r->st.stream_units++;
        rc = r->core.mem_collect(r->core.ctx);
        if (rc != LODE_OK) {
            given_known = false; /* its RdOff write may or may not have landed */
            break;
        }
        given = confirmed;
        given_known = true;
        if ((has_a && wr1 >= d.size) || (has_b && wr2 >= d.size)) {
            reinit = true; /* the block changed under us: the next poll revalidates */
            break;
        }
        /* valid: from the RdOff in effect at each WrOff read (confirmed) up to that WrOff */
        uint32_t na = has_a ? ea - confirmed : 0, n = 0;
        if (has_a) {
            uint32_t f1 = (wr1 + d.size - confirmed) % d.size;
            n = f1 < na ? f1 : na;
        }
        if (has_b && n == na) {
            uint32_t f2 = (wr2 + d.size - confirmed) % d.size, nb = eb - confirmed;
            uint32_t m = f2 < nb ? f2 : nb;
            if (m > n)
                n = m;
            /* B short: the firmware needs longer to refill than A took */
            if (m < nb)
                *slack = *slack * 2u < max_slack ? *slack * 2u : max_slack;
            else if (*slack - *slack / 32u >= MERGED_MIN_SLACK)
                *slack -= *slack / 32u;
        }
        if (n && fn) {
            uint8_t *bytes = (uint8_t *)r->unit_buf; /* words to bytes in place (LE) */
            for (uint32_t k = 0; k < (eb - lo) / 4u; k++) {
                uint32_t w = r->unit_buf[k];
                lodei_put_le32(bytes + 4u * k, w);
            }
            const uint8_t *src = bytes + (confirmed & 3u);
            uint32_t to_end = d.size - confirmed;
            if (n <= to_end) {
                fn(user, ch, src, n);
            } else { /* the ring wraps: two calls, as a plain poll makes */
                fn(user, ch, src, to_end);
                fn(user, ch, src + to_end, n - to_end);
            }
        }
        *got += n;
        r->st.bytes_up += n;
        r->ch[ch].last_bytes += n;
        uint32_t span = eb - confirmed;
        confirmed = (confirmed + n) % d.size;
        if (n < span / 4u)
            break; /* the firmware is not keeping up: plain polls again */
        if (++units >= STREAM_MAX_UNITS ||
            (r->core.now_us && r->core.now_us(r->core.ctx) - t0 >= STREAM_MAX_US))
            break;
    }
    /* give back what was delivered last */
    if (!reinit && (!given_known || given != confirmed)) {
        int wrc = wr_le32(r, dbase + D_RD, confirmed);
        if (rc == LODE_OK)
            rc = wrc;
    }
    return rc;
}

/* ---- write -------------------------------------------------------------------------------- */

int lode_rtt_write(lode_rtt_s *rtt, unsigned channel, const void *data, size_t len,
                   size_t *written)
{
    if (!rtt || (!data && len))
        return LODE_E_INVALID_ARG;
    if (!rtt->attached)
        return LODE_E_STATE;
    lode_rtt_s *r = rtt;
    if (channel >= r->ndown || r->ch[r->nup + channel].size == 0) {
        lode_log(&r->log, LODE_LOG_ERROR, LODE_LOGC_RTT,
                 "RTT down channel %u does not exist or has no buffer (the firmware has %u)",
                 channel, r->ndown);
        return LODE_E_INVALID_ARG;
    }
    if (len == 0) {
        if (written)
            *written = 0;
        return LODE_OK;
    }
    uint32_t blen = block_len(r->nup, r->ndown);
    int rc = grow(r, blen);
    if (rc == LODE_OK)
        rc = rd_mem(r, r->cb, r->scratch, blen);
    if (rc != LODE_OK)
        return rc;
    block_s b;
    if ((rc = revalidate(r, r->scratch, &b)) != LODE_OK)
        return rc;
    unsigned i = r->nup + channel;
    const desc_s *d = &b.d[i];
    uint32_t space = (d->rd + d->size - d->wr - 1) % d->size;
    uint32_t n = len < space ? (uint32_t)len : space;
    if (n) {
        const uint8_t *src = data;
        uint32_t first = d->size - d->wr < n ? d->size - d->wr : n;
        rc = wr_mem(r, d->buffer + d->wr, src, first);
        if (rc == LODE_OK && n > first)
            rc = wr_mem(r, d->buffer, src + first, n - first);
        if (rc == LODE_OK)
            rc = wr_le32(r, r->cb + LODE_RTT_HEADER_SIZE + LODE_RTT_DESC_SIZE * i + D_WR,
                         (d->wr + n) % d->size);
        if (rc != LODE_OK)
            return rc;
    }
    r->st.bytes_down += n;
    if (written)
        *written = n;
    return LODE_OK;
}

size_t lode_rtt_ranges_for_chip(const lode_target_chip_s *chip, lode_rtt_range_s *ranges, size_t cap)
{
    size_t n = 0;
    for (size_t k = 0; chip && k < chip->nmemory && n < cap; k++) {
        const lode_target_mem_s *m = &chip->memory[k];
        if (m->kind == LODE_TARGET_MEM_RAM && m->end <= 0x100000000ull) {
            ranges[n].addr = (uint32_t)m->start;
            ranges[n].len = (uint32_t)(m->end - m->start);
            n++;
        }
    }
    return n;
}
