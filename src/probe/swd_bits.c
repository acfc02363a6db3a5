/* SPDX-License-Identifier: MIT */
/* The software SWD engine (see swd_bits.h). */
#include "probe/swd_bits.h"

#include <stdlib.h>
#include <string.h>

#include "lode/adi.h"
#include "lode/error.h"

#define CYCLES 46u            /* one transaction */
#define TAIL_IDLE 8u          /* idle cycles closing a batch */
#define RESET_ONES 56u        /* a line reset: >= 50 ones */
#define RESET_IDLE 4u         /* ... then >= 2 idle cycles */
#define MERGE_UNITS 4u      /* submitted units pending (merged into as few commands) */
#define DEFAULT_WAIT_RETRIES 64u
#define DEFAULT_MATCH_RETRIES 16u
#define NOACK_RETRIES 2u      /* a transaction without ACK, sent again after a good resync */

#define REQ_DP_READ(a) (LODE_DAP_RNW | LODE_DAP_A(a))
#define REQ_DP_WRITE(a) (LODE_DAP_A(a))
#define DP_RDBUFF_READ REQ_DP_READ(LODE_DP_RDBUFF)
#define DP_TARGETSEL 0x0Cu
#define ABORT_ORUNERRCLR (1u << 4)

/* One transaction of a batch, as sent. */
typedef struct wop_s {
    uint8_t req;           /* LODE_DAP_APNDP | RNW | A */
    bool no_ack;           /* TARGETSEL: nobody answers */
    bool match;            /* the value is compared on the host (ends the command) */
    uint32_t wdata;
    long yields;           /* read: the caller's transfer whose value this brings, or -1 */
    size_t done_after;     /* caller's transfers complete once this one is OK */
} wop_s;

/* A list of wire operations for one call (transfer or submit). */
typedef struct wlist_s {
    wop_s *op;
    size_t n, cap;
} wlist_s;

/* A submitted unit (pipelining). */
typedef struct pend_s {
    lode_dap_xfer_s *xf;
    size_t nxf;
    wlist_s wl;
    size_t first;               /* cycle of its first operation in the batch */
    uint32_t match_mask;
    /* outcome, once answered */
    bool answered;
    int rc;
    size_t done;
    lode_dap_ack_e ack;
} pend_s;

struct lodei_swd_s {
    lodei_swd_io_s io;
    const lode_log_s *log;
    unsigned wait_retries, match_retries;
    bool targetsel_on;
    uint32_t targetsel;
    bool need_targetsel;       /* a line reset went out since the last TARGETSEL */
    unsigned ones_run;         /* consecutive ones clocked (line reset detection) */
    uint32_t dp_select;        /* last SELECT written (DPBANKSEL) */
    uint32_t match_mask;
    /* the batch being built */
    uint8_t *dir, *out, *in, *raw;
    size_t nbits, cap_bits;
    lodei_swd_tap_fn tap;
    void *tap_user;
    /* pipelining */
    pend_s pend[MERGE_UNITS];
    unsigned pend_head, npend, nunsent;
    bool need_resync;          /* a submitted unit failed: resynchronise once none is unsent */
    wlist_s scratch;
    size_t *offs;              /* cycle offsets of the operations of the batch being built */
    lodei_swd_stats_s stats;
};

/* ---- bits ------------------------------------------------------------------------------- */
static inline void put_bit(uint8_t *b, size_t i, unsigned v)
{
    if (v)
        b[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        b[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static inline unsigned get_bit(const uint8_t *b, size_t i) { return (b[i / 8] >> (i % 8)) & 1u; }

static unsigned parity32(uint32_t v)
{
    v ^= v >> 16;
    v ^= v >> 8;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return v & 1u;
}

uint8_t lodei_swd_header(uint8_t req)
{
    unsigned f = req & 0x0Fu; /* APnDP, RnW, A2, A3 */
    return (uint8_t)(0x81u | (f << 1) | (parity32(f) << 5));
}

/* Host-driven cycles. */
static void emit(lodei_swd_s *e, uint32_t bits, unsigned n)
{
    for (unsigned i = 0; i < n; i++, e->nbits++) {
        unsigned v = (bits >> i) & 1u;
        put_bit(e->dir, e->nbits, 1);
        put_bit(e->out, e->nbits, v);
        e->ones_run = v ? e->ones_run + 1 : 0;
        if (e->ones_run >= 50)
            e->need_targetsel = true;
    }
}

/* Target-driven cycles (the host lets go of the line). */
static void listen(lodei_swd_s *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++, e->nbits++) {
        put_bit(e->dir, e->nbits, 0);
        put_bit(e->out, e->nbits, 0);
    }
    e->ones_run = 0;
}

static void emit_bytes(lodei_swd_s *e, const uint8_t *data, unsigned bits)
{
    for (unsigned i = 0; i < bits; i += 8)
        emit(e, data[i / 8], bits - i < 8 ? bits - i : 8);
}

/* Room for `n` more cycles (plus the closing idle)? */
static bool room(const lodei_swd_s *e, size_t n) { return e->nbits + n + TAIL_IDLE <= e->cap_bits; }

static void emit_xfer(lodei_swd_s *e, uint8_t req, uint32_t wdata)
{
    emit(e, lodei_swd_header(req), 8);
    listen(e, 1 + 3); /* turnaround, ACK */
    if (req & LODE_DAP_RNW) {
        listen(e, 32 + 1 + 1); /* data, parity, turnaround */
    } else {
        listen(e, 1); /* turnaround */
        emit(e, wdata, 32);
        emit(e, parity32(wdata), 1);
    }
    e->stats.transactions++;
}

/* ---- sending ------------------------------------------------------------------------------ */
/* in[c] = the target's bit of cycle c, from the probe's buffer (raw[i] = cycle i + skew). */
static void unskew(const lodei_swd_s *e, const uint8_t *raw, uint8_t *in, size_t n)
{
    for (size_t c = 0; c < n; c++)
        put_bit(in, c, c >= e->io.skew ? get_bit(raw, c - e->io.skew) : 1);
}

static int send_now(lodei_swd_s *e, uint8_t *in)
{
    if (e->nbits == 0)
        return LODE_OK;
    emit(e, 0, TAIL_IDLE);
    e->stats.batches++;
    e->stats.bits += e->nbits;
    int rc = e->io.io(e->io.ctx, e->dir, e->out, e->raw, e->nbits);
    if (rc == LODE_OK) {
        unskew(e, e->raw, in, e->nbits);
        if (e->tap)
            e->tap(e->tap_user, e->dir, e->out, in, e->nbits);
    } else {
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE, "swd: bit I/O of %zu cycles failed: %s",
                 e->nbits, lode_strerror(rc));
    }
    e->nbits = 0;
    return rc;
}

static int take_all(lodei_swd_s *e);

int lodei_swd_flush(lodei_swd_s *e)
{
    if (!e)
        return LODE_E_INVALID_ARG;
    int rc = take_all(e);
    if (rc == LODE_OK && e->nbits)
        rc = send_now(e, e->in);
    return rc;
}

/* ---- life cycle --------------------------------------------------------------------------- */
int lodei_swd_new(const lodei_swd_io_s *io, const lode_log_s *log, lodei_swd_s **out)
{
    if (!io || !out || !io->io || io->max_bits < 256 || io->skew > 8)
        return LODE_E_INVALID_ARG;
    lodei_swd_s *e = calloc(1, sizeof *e);
    if (!e)
        return LODE_E_NOMEM;
    e->io = *io;
    e->log = log;
    e->wait_retries = DEFAULT_WAIT_RETRIES;
    e->match_retries = DEFAULT_MATCH_RETRIES;
    e->cap_bits = io->max_bits;
    size_t bytes = (e->cap_bits + 7) / 8 + 1;
    e->dir = calloc(bytes, 1);
    e->out = calloc(bytes, 1);
    e->in = calloc(bytes, 1);
    e->raw = calloc(bytes, 1);
    e->offs = calloc(e->cap_bits / CYCLES + 2, sizeof *e->offs);
    if (!e->dir || !e->out || !e->in || !e->raw || !e->offs) {
        lodei_swd_free(e);
        return LODE_E_NOMEM;
    }
    *out = e;
    return LODE_OK;
}

void lodei_swd_free(lodei_swd_s *e)
{
    if (!e)
        return;
    for (unsigned i = 0; i < MERGE_UNITS; i++)
        free(e->pend[i].wl.op);
    free(e->scratch.op);
    free(e->dir);
    free(e->out);
    free(e->in);
    free(e->raw);
    free(e->offs);
    free(e);
}

void lodei_swd_set_targetsel(lodei_swd_s *e, bool on, uint32_t value)
{
    if (!e)
        return;
    e->targetsel_on = on;
    e->targetsel = value;
}

void lodei_swd_set_retries(lodei_swd_s *e, unsigned wait_retries, unsigned match_retries)
{
    if (!e)
        return;
    e->wait_retries = wait_retries;
    e->match_retries = match_retries;
}

void lodei_swd_set_tap(lodei_swd_s *e, lodei_swd_tap_fn fn, void *user)
{
    if (!e)
        return;
    e->tap = fn;
    e->tap_user = user;
}

void lodei_swd_stats(const lodei_swd_s *e, lodei_swd_stats_s *out)
{
    if (e && out)
        *out = e->stats;
}

/* ---- line sequences ------------------------------------------------------------------------ */
static const uint8_t ALERT[16] = {0x92, 0xF3, 0x09, 0x62, 0x95, 0x2D, 0x85, 0x86,
                                  0xE9, 0xAF, 0xDD, 0xE3, 0xA2, 0x0E, 0xBC, 0x19};
#define ACTIVATION_SWD 0x1Au
#define JTAG_TO_SWD 0xE79Eu

static void line_reset(lodei_swd_s *e)
{
    emit(e, 0xFFFFFFFFu, 32);
    emit(e, 0xFFFFFFFFu, RESET_ONES - 32);
    emit(e, 0, RESET_IDLE);
}

static int take_all(lodei_swd_s *e);

/* Room for n cycles in the batch being built: what is queued goes out first if needed. */
static int ensure(lodei_swd_s *e, size_t n)
{
    int rc = take_all(e);
    if (rc == LODE_OK && !room(e, n))
        rc = send_now(e, e->in);
    return rc;
}

int lodei_swd_queue_wake(lodei_swd_s *e)
{
    if (!e)
        return LODE_E_INVALID_ARG;
    int rc = ensure(e, 3 * RESET_ONES + 16 + 8 + 128 + 4 + 8 + 2 * RESET_IDLE);
    if (rc)
        return rc;
    /* an SWJ-DP v1 in JTAG: line reset (TMS high: Test-Logic-Reset) and JTAG-to-SWD */
    emit(e, 0xFFFFFFFFu, 32);
    emit(e, 0xFFFFFFFFu, RESET_ONES - 32);
    emit(e, JTAG_TO_SWD, 16);
    line_reset(e);
    /* a dormant DP (ADIv5.2 B5.3): >= 8 ones, selection alert, 4 idle, SWD activation code */
    emit(e, 0xFFu, 8);
    emit_bytes(e, ALERT, 128);
    emit(e, 0, 4);
    emit(e, ACTIVATION_SWD, 8);
    line_reset(e);
    return LODE_OK;
}

/* Re-synchronise with the target after an error: line reset, TARGETSEL, DPIDR read and
 * (when `orun`) the overrun flag cleared. Sent as a batch of its own; the outcome only
 * logged. */
static bool resync(lodei_swd_s *e, bool orun)
{
    e->stats.resyncs++;
    e->need_resync = false;
    if (!room(e, RESET_ONES + RESET_IDLE + 3 * CYCLES) && send_now(e, e->in) != LODE_OK)
        return false;
    line_reset(e);
    if (e->targetsel_on) {
        emit_xfer(e, REQ_DP_WRITE(DP_TARGETSEL), e->targetsel);
        e->need_targetsel = false;
    }
    size_t at = e->nbits;
    emit_xfer(e, REQ_DP_READ(LODE_DP_DPIDR), 0);
    if (orun)
        emit_xfer(e, REQ_DP_WRITE(LODE_DP_ABORT), ABORT_ORUNERRCLR);
    int rc = send_now(e, e->in);
    unsigned ack = rc == LODE_OK ? get_bit(e->in, at + 9) | get_bit(e->in, at + 10) << 1 |
                                       get_bit(e->in, at + 11) << 2
                                 : 0;
    if (ack != LODE_DAP_ACK_OK)
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "swd: re-synchronising: the DPIDR read after the line reset got ACK %u", ack);
    return ack == LODE_DAP_ACK_OK;
}

/* ---- wire lists ------------------------------------------------------------------------------ */
#define OP_MASK 0xFFu /* a value-match mask: kept on the host, nothing on the wire */

static int wl_push(wlist_s *w, uint8_t req, uint32_t wdata, long yields, bool match)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        wop_s *no = realloc(w->op, nc * sizeof *no);
        if (!no)
            return LODE_E_NOMEM;
        w->op = no;
        w->cap = nc;
    }
    w->op[w->n++] = (wop_s){.req = req, .wdata = wdata, .yields = yields, .match = match};
    return LODE_OK;
}

static bool is_ap_read(uint8_t req)
{
    return (req & (LODE_DAP_APNDP | LODE_DAP_RNW)) == (LODE_DAP_APNDP | LODE_DAP_RNW);
}

/* Turn the caller's transfers into wire operations: a posted AP read's value comes with the
 * next AP read or an RDBUFF read; a match read is followed by its RDBUFF read at once (the
 * host compares before anything else goes out), and a mask stays on the host. `yields` of
 * an operation names the transfer it completes (a write itself, a read the one whose value
 * it brings); done_after counts the transfers complete once it is OK (they complete in
 * order). Match reads compare against their transfer's wdata. */
static int plan(const lode_dap_xfer_s *xf, size_t n, wlist_s *w)
{
    w->n = 0;
    long posted = -1;
    int rc = LODE_OK;
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        uint8_t req = xf[i].req;
        bool match = (req & LODE_DAP_MATCH_VALUE) != 0, mask = (req & LODE_DAP_MATCH_MASK) != 0;
        if ((req & ~(0x0Fu | LODE_DAP_MATCH_VALUE | LODE_DAP_MATCH_MASK)) || (match && mask) ||
            (match && !(req & LODE_DAP_RNW)))
            return LODE_E_INVALID_ARG;
        req &= 0x0Fu;
        /* everything but a plain AP read first takes in a posted value */
        if (posted >= 0 && (!is_ap_read(req) || match || mask)) {
            rc = wl_push(w, DP_RDBUFF_READ, 0, posted, false);
            posted = -1;
        }
        if (rc)
            break;
        if (mask) {
            rc = wl_push(w, OP_MASK, xf[i].wdata, (long)i, false);
        } else if (is_ap_read(req)) {
            rc = wl_push(w, req, 0, posted, false);
            posted = (long)i;
            if (rc == LODE_OK && match) {
                rc = wl_push(w, DP_RDBUFF_READ, xf[i].wdata, (long)i, true);
                posted = -1;
            }
        } else {
            rc = wl_push(w, req, xf[i].wdata, (long)i, match);
        }
    }
    if (rc == LODE_OK && posted >= 0)
        rc = wl_push(w, DP_RDBUFF_READ, 0, posted, false);
    if (rc)
        return rc;
    size_t upto = 0;
    for (size_t k = 0; k < w->n; k++) {
        if (w->op[k].yields >= 0 && (size_t)w->op[k].yields + 1 > upto)
            upto = (size_t)w->op[k].yields + 1;
        w->op[k].done_after = upto;
    }
    return LODE_OK;
}

/* Keep overrun detection on in a write of DP CTRL/STAT (bank 0); track DPBANKSEL. */
static uint32_t wire_wdata(lodei_swd_s *e, uint8_t req, uint32_t wdata)
{
    if (req & (LODE_DAP_APNDP | LODE_DAP_RNW))
        return wdata;
    if (LODE_DAP_A(req) == LODE_DP_SELECT)
        e->dp_select = wdata;
    if (LODE_DAP_A(req) == LODE_DP_CTRL_STAT && (e->dp_select & 0xFu) == 0)
        return wdata | LODE_DP_CS_ORUNDETECT;
    return wdata;
}

static void emit_op(lodei_swd_s *e, const wop_s *o)
{
    emit_xfer(e, o->req, o->match ? 0 : wire_wdata(e, o->req, o->wdata));
}

static void maybe_targetsel(lodei_swd_s *e)
{
    if (e->targetsel_on && e->need_targetsel) {
        emit_xfer(e, REQ_DP_WRITE(DP_TARGETSEL), e->targetsel);
        e->need_targetsel = false;
    }
}

/* Put operations [from, ..) into the batch, their cycle offsets into e->offs; returns how
 * many went in (it stops after a match read, or when full). */
static size_t fill(lodei_swd_s *e, const wlist_s *w, size_t from)
{
    size_t k = from;
    if (e->targetsel_on && e->need_targetsel) {
        if (!room(e, 2 * CYCLES))
            return 0;
        maybe_targetsel(e);
    }
    for (; k < w->n; k++) {
        const wop_s *o = &w->op[k];
        if (o->req == OP_MASK) {
            e->offs[k - from] = SIZE_MAX;
            continue;
        }
        if (!room(e, CYCLES) || k - from > e->cap_bits / CYCLES)
            break;
        e->offs[k - from] = e->nbits;
        emit_op(e, o);
        if (o->match) {
            k++;
            break;
        }
    }
    return k - from;
}

/* What one transaction brought back (in = un-skewed bits). */
typedef struct res_s {
    unsigned ack;       /* the 3 ACK bits as sampled, first bit lowest */
    bool parity_ok;
    uint32_t data;
} res_s;

static res_s decode(const uint8_t *in, size_t at, uint8_t req)
{
    res_s r = {0};
    r.ack = get_bit(in, at + 9) | get_bit(in, at + 10) << 1 | get_bit(in, at + 11) << 2;
    r.parity_ok = true;
    if ((req & LODE_DAP_RNW) && r.ack == LODE_DAP_ACK_OK) {
        for (unsigned i = 0; i < 32; i++)
            r.data |= (uint32_t)get_bit(in, at + 12 + i) << i;
        r.parity_ok = get_bit(in, at + 44) == parity32(r.data);
    }
    return r;
}

/* The outcome of `cnt` operations from `from`. */
typedef struct scan_s {
    size_t ok;          /* operations OK from `from` */
    bool failed;
    unsigned ack;
    bool parity;        /* the failure was a read-data parity error */
    bool mismatch;      /* a match read did not match */
} scan_s;

/* Offsets: offs[i] for operation from+i, or regular (first + 46 i) when offs is NULL. */
static scan_s scan(lodei_swd_s *e, const uint8_t *in, const wlist_s *w, size_t from, size_t cnt,
                   const size_t *offs, size_t first, lode_dap_xfer_s *xf)
{
    scan_s s = {0};
    for (size_t i = 0; i < cnt; i++) {
        const wop_s *o = &w->op[from + i];
        if (o->req == OP_MASK) {
            e->match_mask = o->wdata;
            s.ok++;
            continue;
        }
        res_s r = decode(in, offs ? offs[i] : first + i * CYCLES, o->req);
        if (r.ack != LODE_DAP_ACK_OK || !r.parity_ok) {
            s.failed = true;
            s.ack = r.ack;
            s.parity = r.ack == LODE_DAP_ACK_OK;
            return s;
        }
        if (o->match && (r.data & e->match_mask) != (o->wdata & e->match_mask)) {
            s.failed = true;
            s.mismatch = true;
            s.ack = LODE_DAP_ACK_OK;
            return s;
        }
        if ((o->req & LODE_DAP_RNW) && o->yields >= 0 && xf[o->yields].rdata)
            *xf[o->yields].rdata = r.data;
        s.ok++;
    }
    return s;
}

static int fail_rc(lodei_swd_s *e, const scan_s *s, size_t at, size_t n, lode_dap_ack_e *ack)
{
    if (s->mismatch) {
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "swd: transfer %zu of %zu: value match retries exhausted", at + 1, n);
        *ack = LODE_DAP_ACK_OK;
        return LODE_E_TIMEOUT;
    }
    if (s->parity) {
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "swd: transfer %zu of %zu: read data parity error", at + 1, n);
        *ack = LODE_DAP_ACK_NONE;
        return LODE_E_PROTOCOL;
    }
    switch (s->ack) {
    case LODE_DAP_ACK_WAIT:
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "swd: transfer %zu of %zu: the target answered WAIT %u times", at + 1, n,
                 e->wait_retries + 1);
        *ack = LODE_DAP_ACK_WAIT;
        return LODE_E_WAIT;
    case LODE_DAP_ACK_FAULT:
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "swd: transfer %zu of %zu: the target answered FAULT", at + 1, n);
        *ack = LODE_DAP_ACK_FAULT;
        return LODE_E_FAULT;
    default:
        lode_log(e->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "swd: transfer %zu of %zu: no ACK from the target (ACK bits %u%u%u)", at + 1, n,
                 s->ack & 1u, (s->ack >> 1) & 1u, (s->ack >> 2) & 1u);
        *ack = LODE_DAP_ACK_NONE;
        return LODE_E_PROTOCOL;
    }
}

static void count_failure(lodei_swd_s *e, const scan_s *s)
{
    if (s->mismatch)
        return;
    if (s->parity)
        e->stats.parity_errors++;
    else if (s->ack == LODE_DAP_ACK_WAIT)
        e->stats.waits++;
    else if (s->ack == LODE_DAP_ACK_FAULT)
        e->stats.faults++;
    else
        e->stats.protocol_errors++;
}

static size_t done_before(const wlist_s *w, size_t k, size_t nxf)
{
    size_t d = k > 0 ? w->op[k - 1].done_after : 0;
    return d < nxf ? d : nxf;
}

/* The operations of w, synchronously, with WAIT and match retries. */
static int run_list(lodei_swd_s *e, wlist_s *w, lode_dap_xfer_s *xf, size_t nxf, size_t *done,
                    lode_dap_ack_e *ack)
{
    size_t k = 0;
    unsigned waits = 0, misses = 0, silent = 0;
    while (k < w->n) {
        size_t cnt = fill(e, w, k);
        if (cnt == 0) {
            if (e->nbits == 0) /* cannot happen with max_bits >= 256; never loop */
                return LODE_E_RANGE;
            int rc = send_now(e, e->in); /* what was queued before goes first */
            if (rc) {
                *done = done_before(w, k, nxf);
                *ack = LODE_DAP_ACK_NONE;
                return rc;
            }
            continue;
        }
        int rc = send_now(e, e->in);
        if (rc) {
            *done = done_before(w, k, nxf);
            *ack = LODE_DAP_ACK_NONE;
            return rc;
        }
        scan_s s = scan(e, e->in, w, k, cnt, e->offs, 0, xf);
        k += s.ok;
        if (!s.failed) {
            waits = 0;
            continue;
        }
        count_failure(e, &s);
        if (s.mismatch) {
            e->stats.match_retries++;
            if (misses++ < e->match_retries) {
                /* re-read: a posted match goes back to its AP read */
                if (k > 0 && is_ap_read(w->op[k - 1].req) && w->op[k].req == DP_RDBUFF_READ)
                    k--;
                continue;
            }
        } else if (s.ack == LODE_DAP_ACK_WAIT && !s.parity) {
            resync(e, true);
            if (waits++ < e->wait_retries)
                continue;
        } else if (s.ack != LODE_DAP_ACK_FAULT && !s.parity) {
            /* no ACK: the transaction did not happen; once the target answers again (a
             * lockout after noise, a target that was off the wire) it is sent again */
            if (resync(e, false) && silent++ < NOACK_RETRIES)
                continue;
        } else {
            resync(e, false);
        }
        *done = done_before(w, k, nxf);
        return fail_rc(e, &s, *done, nxf, ack);
    }
    *done = nxf;
    *ack = LODE_DAP_ACK_OK;
    return LODE_OK;
}

/* ---- the DAP operations ---------------------------------------------------------------------- */
static int op_transfer(void *ctx, lode_dap_xfer_s *xf, size_t n, size_t *done, lode_dap_ack_e *ack)
{
    lodei_swd_s *e = ctx;
    if (!e || (!xf && n) || !done || !ack)
        return LODE_E_INVALID_ARG;
    int rc = take_all(e);
    if (rc == LODE_OK)
        rc = plan(xf, n, &e->scratch);
    if (rc)
        return rc;
    return run_list(e, &e->scratch, xf, n, done, ack);
}

static int op_swj_sequence(void *ctx, unsigned bits, const uint8_t *data)
{
    lodei_swd_s *e = ctx;
    if (!e || (bits && !data))
        return LODE_E_INVALID_ARG;
    int rc = LODE_OK;
    for (unsigned i = 0; rc == LODE_OK && i < bits; i++) {
        rc = ensure(e, 1);
        if (rc == LODE_OK)
            emit(e, get_bit(data, i), 1);
    }
    return rc; /* goes out with the next batch */
}

static int op_write_abort(void *ctx, uint32_t value)
{
    lodei_swd_s *e = ctx;
    if (!e)
        return LODE_E_INVALID_ARG;
    lode_dap_xfer_s x = {.req = REQ_DP_WRITE(LODE_DP_ABORT), .wdata = value};
    size_t done = 0;
    lode_dap_ack_e ack;
    return op_transfer(e, &x, 1, &done, &ack);
}

static int op_reset_pin(void *ctx, bool asserted)
{
    lodei_swd_s *e = ctx;
    if (!e || !e->io.reset_pin)
        return LODE_E_UNSUPPORTED;
    int rc = lodei_swd_flush(e);
    return rc ? rc : e->io.reset_pin(e->io.ctx, asserted);
}

/* ---- pipelining ------------------------------------------------------------------------------- */
/* Submitted units are not sent at once: they go into the batch being built, and the batch goes
 * out (one probe command holding several units) when a unit of it is collected, when the next
 * unit does not fit, or before anything synchronous. A bit-level probe pays its USB round trip
 * per command, not per unit. */
static unsigned op_max_pending(void *ctx) { return ctx ? MERGE_UNITS : 0; }

static pend_s *pend_at(lodei_swd_s *e, unsigned i) { return &e->pend[(e->pend_head + i) % MERGE_UNITS]; }

/* Send the batch with the units not sent yet and evaluate their replies. */
static int flush_units(lodei_swd_s *e)
{
    if (!e->nunsent)
        return LODE_OK; /* queued line bits alone wait for the next batch */
    unsigned first = e->npend - e->nunsent;
    int rc = send_now(e, e->in);
    for (unsigned i = first; i < e->npend; i++) {
        pend_s *p = pend_at(e, i);
        p->answered = true;
        if (rc) {
            p->rc = rc;
            p->done = 0;
            p->ack = LODE_DAP_ACK_NONE;
            e->need_resync = true;
            continue;
        }
        scan_s s = scan(e, e->in, &p->wl, 0, p->wl.n, NULL, p->first, p->xf);
        if (!s.failed) {
            p->rc = LODE_OK;
            p->done = p->nxf;
            p->ack = LODE_DAP_ACK_OK;
            continue;
        }
        count_failure(e, &s);
        e->need_resync = true;
        p->done = done_before(&p->wl, s.ok, p->nxf);
        p->rc = fail_rc(e, &s, p->done, p->nxf, &p->ack);
    }
    e->nunsent = 0;
    return rc;
}

/* Before anything synchronous: the units built so far go out; re-synchronise when one of
 * them failed. */
static int take_all(lodei_swd_s *e)
{
    flush_units(e);
    if (e->need_resync)
        resync(e, true);
    return LODE_OK;
}

static int op_submit(void *ctx, lode_dap_xfer_s *xf, size_t n)
{
    lodei_swd_s *e = ctx;
    if (!e || !xf || n == 0)
        return LODE_E_INVALID_ARG;
    if (e->npend >= MERGE_UNITS)
        return LODE_E_STATE;
    pend_s *p = pend_at(e, e->npend);
    int rc = plan(xf, n, &p->wl);
    if (rc)
        return rc;
    bool host = false;
    for (size_t k = 0; k < p->wl.n; k++)
        host |= p->wl.op[k].match || p->wl.op[k].req == OP_MASK;
    size_t need = p->wl.n * CYCLES + CYCLES; /* + a TARGETSEL */
    if (need + TAIL_IDLE > e->cap_bits)
        return LODE_E_RANGE;
    p->xf = xf;
    p->nxf = n;
    if (host) {
        /* a value match needs the host between the read and what follows: run it now and
         * keep the outcome for collect */
        size_t done = 0;
        lode_dap_ack_e ack = LODE_DAP_ACK_OK;
        take_all(e);
        rc = run_list(e, &p->wl, xf, n, &done, &ack);
        p->answered = true;
        p->rc = rc;
        p->done = done;
        p->ack = ack;
        e->npend++;
        return LODE_OK;
    }
    if (!room(e, need)) {
        /* what is built goes first (the units' outcomes are kept) */
        if (e->nunsent)
            flush_units(e);
        else if ((rc = send_now(e, e->in)) != LODE_OK)
            return rc;
    }
    if (e->need_resync && e->nunsent == 0)
        resync(e, true);
    maybe_targetsel(e);
    p->first = e->nbits;
    for (size_t k = 0; k < p->wl.n; k++)
        emit_op(e, &p->wl.op[k]);
    p->answered = false;
    e->npend++;
    e->nunsent++;
    if (e->nunsent > e->stats.max_inflight)
        e->stats.max_inflight = e->nunsent;
    return LODE_OK;
}

static int op_collect(void *ctx, size_t *done, lode_dap_ack_e *ack)
{
    lodei_swd_s *e = ctx;
    if (!e || !done || !ack)
        return LODE_E_INVALID_ARG;
    if (e->npend == 0)
        return LODE_E_STATE;
    pend_s *p = pend_at(e, 0);
    if (!p->answered)
        flush_units(e);
    e->pend_head = (e->pend_head + 1) % MERGE_UNITS;
    e->npend--;
    if (e->need_resync && e->nunsent == 0)
        resync(e, true);
    *done = p->done;
    *ack = p->ack;
    return p->rc;
}

void lodei_swd_dap_ops(lodei_swd_s *e, lode_dap_ops_s *ops)
{
    if (!e || !ops)
        return;
    memset(ops, 0, sizeof *ops);
    ops->transfer = op_transfer;
    ops->swj_sequence = op_swj_sequence;
    ops->write_abort = op_write_abort;
    ops->reset_pin = e->io.reset_pin ? op_reset_pin : NULL;
    ops->submit = op_submit;
    ops->collect = op_collect;
    ops->max_pending = op_max_pending;
    ops->submit_merges = true;
    ops->ctx = e;
}
