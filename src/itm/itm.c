/* SPDX-License-Identifier: MIT */
/* ITM/DWT packet decoder, written from the ARMv7-M Architecture Reference Manual, Appendix D4
 * "Debug ITM and DWT Packet Protocol".
 *
 * Header byte encodings (D4.2, bit 7 is C, "a payload follows" in protocol packets):
 *   0000 0000              synchronization: >= 47 zero bits then a one        D4.2.1
 *   0111 0000              overflow                                           D4.2.3
 *   11TC 0000              local timestamp format 1, 1-4 continuation bytes   D4.2.4
 *   0TTT 0000 (TTT 1..6)   local timestamp format 2, no payload               D4.2.4
 *   1001 0100              GTS1, 1-4 continuation bytes                       D4.2.5
 *   1011 0100              GTS2, continuation bytes (4: 48-bit, 6: 64-bit)    D4.2.5
 *   CEEE 1S00              extension: EX[2:0], SH; 0-4 payload bytes          D4.2.6
 *   AAAA A0SS              instrumentation: port A, SS = 1/2/4 bytes          D4.2.8
 *   AAAA A1SS              hardware source: discriminator id A                D4.3
 *   10x0 0000, other xxxx 0100: reserved.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lode/error.h"
#include "lode/itm.h"

enum {
    ST_HEADER = 0, /* at a packet boundary */
    ST_SYNC,       /* inside a run of zero bytes that began at a boundary */
    ST_FIXED,      /* source packet payload: need bytes */
    ST_CONT,       /* continuation payload: until a byte with bit 7 clear, at most need bytes */
    ST_UNSYNCED,   /* alignment lost: looking for a synchronization packet */
};

#define SYNC_MIN_ZERO_BYTES 5u /* 5 * 8 + 7 zero bits of 0x80 = 47 */
#define HDR_GTS1 0x94u
#define HDR_GTS2 0xB4u
#define HDR_OVERFLOW 0x70u

void lode_itm_decoder_init(lode_itm_decoder_s *d)
{
    if (!d)
        return;
    memset(d, 0, sizeof *d);
    d->state = ST_HEADER;
    d->resync = LODE_ITM_RESYNC_SYNC;
}

void lode_itm_decoder_set_resync(lode_itm_decoder_s *d, lode_itm_resync_e mode)
{
    if (d)
        d->resync = mode == LODE_ITM_RESYNC_NEXT ? LODE_ITM_RESYNC_NEXT : LODE_ITM_RESYNC_SYNC;
}

static void emit_simple(const lode_itm_decoder_s *d, lode_itm_kind_e kind, lode_itm_packet_fn cb,
                        void *user)
{
    lode_itm_packet_s p = {0};
    p.kind = kind;
    p.offset = d->start;
    p.len = 1u + d->n;
    p.header = d->hdr;
    p.global_ts = d->global_ts;
    cb(user, &p);
}

/* The decoder no longer knows where packets begin. */
static void lose_sync(lode_itm_decoder_s *d)
{
    d->n = 0;
    d->need = 0;
    d->zeros = 0;
    if (d->resync == LODE_ITM_RESYNC_NEXT) {
        d->state = ST_HEADER;
    } else {
        d->state = ST_UNSYNCED;
        d->discarded = 0;
        d->discard_start = d->offset + 1; /* the byte after the current one */
    }
}

static void emit_invalid(lode_itm_decoder_s *d, lode_itm_invalid_e reason, uint64_t offset,
                         uint64_t len, lode_itm_packet_fn cb, void *user)
{
    lode_itm_packet_s p = {0};
    p.kind = LODE_ITM_PKT_INVALID;
    p.reason = reason;
    p.offset = offset;
    p.len = len;
    p.header = reason == LODE_ITM_INV_BAD_SYNC ? 0 : d->hdr;
    p.global_ts = d->global_ts;
    cb(user, &p);
}

/* D4.2.8 instrumentation packets and D4.3 hardware source packets. */
static void finish_source(lode_itm_decoder_s *d, lode_itm_packet_fn cb, void *user)
{
    lode_itm_packet_s p = {0};
    p.offset = d->start;
    p.len = 1u + d->n;
    p.header = d->hdr;
    p.global_ts = d->global_ts;
    p.size = d->n;
    memcpy(p.data, d->buf, d->n);
    for (unsigned i = 0; i < d->n; i++)
        p.value |= (uint32_t)d->buf[i] << (8 * i);
    unsigned id = d->hdr >> 3;
    if (!(d->hdr & 0x04)) {
        p.kind = LODE_ITM_PKT_INSTRUMENTATION;
        p.port = d->page * 32u + id;
        cb(user, &p);
        return;
    }
    p.kind = LODE_ITM_PKT_HARDWARE;
    p.port = id;
    if (id == 0 && p.size == 1) { /* D4.3.1 event counter wrap */
        p.kind = LODE_ITM_PKT_EVENT_COUNTER;
    } else if (id == 1 && p.size == 2) { /* D4.3.2 exception trace */
        p.kind = LODE_ITM_PKT_EXCEPTION;
        p.exception = p.value & 0x1FFu;
        p.fn = (lode_itm_exc_fn_e)((d->buf[1] >> 4) & 3u);
    } else if (id == 2 && p.size == 4) { /* D4.3.3 periodic PC sample */
        p.kind = LODE_ITM_PKT_PC_SAMPLE;
    } else if (id == 2 && p.size == 1 && p.value == 0) { /* D4.3.3 sleeping: no PC */
        p.kind = LODE_ITM_PKT_PC_SAMPLE;
        p.sleep = true;
    } else if (id >= 8 && id < 16) { /* D4.3.4 0b01NNx: PC value (x=0) / address offset (x=1) */
        p.comparator = (id >> 1) & 3u;
        if (!(id & 1) && p.size == 4)
            p.kind = LODE_ITM_PKT_DATA_PC;
        else if ((id & 1) && p.size == 2)
            p.kind = LODE_ITM_PKT_DATA_ADDR;
        else
            p.comparator = 0;
    } else if (id >= 16 && id < 24) { /* D4.3.4 0b10NNW: data value, W = write */
        p.kind = LODE_ITM_PKT_DATA_VALUE;
        p.comparator = (id >> 1) & 3u;
        p.write = (id & 1) != 0;
    }
    cb(user, &p);
}

/* Continuation-coded payloads: local timestamp 1, GTS1, GTS2, extension. */
static void finish_cont(lode_itm_decoder_s *d, lode_itm_packet_fn cb, void *user)
{
    lode_itm_packet_s p = {0};
    p.offset = d->start;
    p.len = 1u + d->n;
    p.header = d->hdr;
    uint64_t v = 0;
    for (unsigned i = 0; i < d->n; i++)
        v |= (uint64_t)(d->buf[i] & 0x7Fu) << (7 * i);
    if (d->hdr == HDR_GTS1) {
        p.kind = LODE_ITM_PKT_GLOBAL_TS1;
        if (d->n == 4) { /* last byte: 0, Wrap, ClkCh, TS[25:21] */
            uint8_t last = d->buf[3];
            v = (v & 0x1FFFFFu) | ((uint64_t)(last & 0x1Fu) << 21);
            p.wrap = (last & 0x40) != 0;
            p.clkch = (last & 0x20) != 0;
            p.ts_bits = 26;
        } else {
            p.ts_bits = (uint8_t)(7 * d->n);
        }
        uint64_t mask = (1ull << p.ts_bits) - 1;
        p.ts = v & mask;
        d->global_ts = (d->global_ts & ~mask) | p.ts;
    } else if (d->hdr == HDR_GTS2) {
        p.kind = LODE_ITM_PKT_GLOBAL_TS2;
        p.ts_bits = d->n == 4 ? 22 : d->n >= 6 ? 38 : (uint8_t)(7 * d->n);
        p.ts = v & ((1ull << p.ts_bits) - 1);
        d->global_ts = (d->global_ts & 0x3FFFFFFull) | (p.ts << 26);
    } else if ((d->hdr & 0x0B) == 0x08) { /* extension: EX[2:0] then 7, 7, 7, 8 bits */
        uint32_t ex = (d->hdr >> 4) & 7u;
        for (unsigned i = 0; i < d->n; i++) {
            uint32_t bits = i == 3 ? d->buf[i] : (d->buf[i] & 0x7Fu);
            ex |= bits << (3 + 7 * i);
        }
        p.kind = LODE_ITM_PKT_EXTENSION;
        p.sh = (d->hdr & 0x04) != 0;
        p.value = ex;
        if (!p.sh)
            d->page = ex;
    } else { /* local timestamp format 1: 11TC 0000 */
        p.kind = LODE_ITM_PKT_LOCAL_TS;
        p.tc = (lode_itm_tc_e)((d->hdr >> 4) & 3u);
        p.ts = v;
    }
    p.global_ts = d->global_ts;
    cb(user, &p);
    d->state = ST_HEADER;
}

static void header(lode_itm_decoder_s *d, uint8_t b, lode_itm_packet_fn cb, void *user)
{
    d->hdr = b;
    d->start = d->offset;
    d->n = 0;
    if (b == 0x00) { /* D4.2.1 */
        d->state = ST_SYNC;
        d->zeros = 1;
        return;
    }
    if (b == HDR_OVERFLOW) { /* D4.2.3 */
        emit_simple(d, LODE_ITM_PKT_OVERFLOW, cb, user);
        return;
    }
    if ((b & 0x03) != 0) { /* source packets: SS = 01, 10, 11 -> 1, 2, 4 bytes */
        static const uint8_t sizes[4] = {0, 1, 2, 4};
        d->need = sizes[b & 3];
        d->state = ST_FIXED;
        return;
    }
    switch (b & 0x0F) {
    case 0x0: /* D4.2.4 local timestamp */
        if (!(b & 0x80)) { /* format 2: TS in bits [6:4], 1..6 (0 is sync, 7 overflow) */
            lode_itm_packet_s p = {0};
            p.kind = LODE_ITM_PKT_LOCAL_TS;
            p.offset = d->start;
            p.len = 1;
            p.header = b;
            p.ts = (b >> 4) & 7u;
            p.tc = LODE_ITM_TC_SYNC;
            p.global_ts = d->global_ts;
            cb(user, &p);
            return;
        }
        if (b & 0x40) { /* format 1 */
            d->need = 4;
            d->state = ST_CONT;
            return;
        }
        break; /* 10x0 0000: reserved */
    case 0x4: /* D4.2.5 global timestamps */
        if (b == HDR_GTS1 || b == HDR_GTS2) {
            d->need = b == HDR_GTS1 ? 4 : 6;
            d->state = ST_CONT;
            return;
        }
        break;
    case 0x8:
    case 0xC: /* D4.2.6 extension */
        if (b & 0x80) {
            d->need = 4;
            d->state = ST_CONT;
        } else {
            finish_cont(d, cb, user);
        }
        return;
    default:
        break;
    }
    emit_invalid(d, LODE_ITM_INV_RESERVED, d->offset, 1, cb, user);
    lose_sync(d);
}

static void unsynced(lode_itm_decoder_s *d, uint8_t b, lode_itm_packet_fn cb, void *user)
{
    d->discarded++;
    if (b == 0x00) {
        d->zeros++;
        return;
    }
    if (b == 0x80 && d->zeros >= SYNC_MIN_ZERO_BYTES) {
        uint64_t sync_len = d->zeros + 1;
        uint64_t skipped = d->discarded - sync_len;
        if (skipped) {
            lode_itm_packet_s p = {0};
            p.kind = LODE_ITM_PKT_DISCARD;
            p.offset = d->discard_start;
            p.len = skipped;
            p.global_ts = d->global_ts;
            cb(user, &p);
        }
        lode_itm_packet_s s = {0};
        s.kind = LODE_ITM_PKT_SYNC;
        s.offset = d->offset + 1 - sync_len;
        s.len = sync_len;
        s.header = 0;
        d->page = 0; /* D4.2.8: page 0 until the next extension packet */
        s.global_ts = d->global_ts;
        cb(user, &s);
        d->state = ST_HEADER;
        d->zeros = 0;
        d->discarded = 0;
        return;
    }
    d->zeros = 0;
}

static void step(lode_itm_decoder_s *d, uint8_t b, lode_itm_packet_fn cb, void *user)
{
    switch (d->state) {
    case ST_HEADER:
        header(d, b, cb, user);
        break;
    case ST_SYNC:
        if (b == 0x00) {
            d->zeros++;
        } else if (b == 0x80 && d->zeros >= SYNC_MIN_ZERO_BYTES) {
            lode_itm_packet_s s = {0};
            s.kind = LODE_ITM_PKT_SYNC;
            s.offset = d->start;
            s.len = d->zeros + 1;
            d->page = 0;
            s.global_ts = d->global_ts;
            cb(user, &s);
            d->state = ST_HEADER;
            d->zeros = 0;
        } else {
            emit_invalid(d, LODE_ITM_INV_BAD_SYNC, d->start, d->zeros, cb, user);
            d->zeros = 0;
            if (d->resync == LODE_ITM_RESYNC_NEXT) {
                d->state = ST_HEADER;
                header(d, b, cb, user);
            } else {
                d->state = ST_UNSYNCED;
                d->discarded = 0;
                d->discard_start = d->offset;
                unsynced(d, b, cb, user);
            }
        }
        break;
    case ST_FIXED:
        d->buf[d->n++] = b;
        if (d->n >= d->need) {
            finish_source(d, cb, user);
            d->state = ST_HEADER;
        }
        break;
    case ST_CONT:
        d->buf[d->n++] = b;
        if (!(b & 0x80) || (d->n >= d->need && (d->hdr & 0x0B) == 0x08)) {
            finish_cont(d, cb, user);
        } else if (d->n >= d->need) {
            emit_invalid(d, LODE_ITM_INV_TOO_LONG, d->start, 1u + d->n, cb, user);
            lose_sync(d);
        }
        break;
    default:
        unsynced(d, b, cb, user);
        break;
    }
}

int lode_itm_feed(lode_itm_decoder_s *d, const uint8_t *data, size_t len, lode_itm_packet_fn cb,
                  void *user)
{
    if (!d || !cb || (!data && len))
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < len; i++) {
        step(d, data[i], cb, user);
        d->offset++;
    }
    return LODE_OK;
}

int lode_itm_flush(lode_itm_decoder_s *d, lode_itm_packet_fn cb, void *user)
{
    if (!d || !cb)
        return LODE_E_INVALID_ARG;
    switch (d->state) {
    case ST_SYNC:
        emit_invalid(d, LODE_ITM_INV_TRUNCATED, d->start, d->zeros, cb, user);
        break;
    case ST_FIXED:
    case ST_CONT:
        emit_invalid(d, LODE_ITM_INV_TRUNCATED, d->start, 1u + d->n, cb, user);
        break;
    case ST_UNSYNCED:
        if (d->discarded) {
            lode_itm_packet_s p = {0};
            p.kind = LODE_ITM_PKT_DISCARD;
            p.offset = d->discard_start;
            p.len = d->discarded;
            p.global_ts = d->global_ts;
            cb(user, &p);
        }
        break;
    default:
        break;
    }
    d->state = ST_HEADER;
    d->n = 0;
    d->zeros = 0;
    d->discarded = 0;
    return LODE_OK;
}

/* ---- text ------------------------------------------------------------------------------- */

const char *lode_itm_kind_name(lode_itm_kind_e kind)
{
    static const char *const names[] = {
        [LODE_ITM_PKT_SYNC] = "sync",
        [LODE_ITM_PKT_OVERFLOW] = "overflow",
        [LODE_ITM_PKT_LOCAL_TS] = "local_ts",
        [LODE_ITM_PKT_GLOBAL_TS1] = "global_ts1",
        [LODE_ITM_PKT_GLOBAL_TS2] = "global_ts2",
        [LODE_ITM_PKT_EXTENSION] = "extension",
        [LODE_ITM_PKT_INSTRUMENTATION] = "instrumentation",
        [LODE_ITM_PKT_EVENT_COUNTER] = "event_counter",
        [LODE_ITM_PKT_EXCEPTION] = "exception",
        [LODE_ITM_PKT_PC_SAMPLE] = "pc_sample",
        [LODE_ITM_PKT_DATA_PC] = "data_pc",
        [LODE_ITM_PKT_DATA_ADDR] = "data_addr",
        [LODE_ITM_PKT_DATA_VALUE] = "data_value",
        [LODE_ITM_PKT_HARDWARE] = "hardware",
        [LODE_ITM_PKT_INVALID] = "invalid",
        [LODE_ITM_PKT_DISCARD] = "discard",
    };
    if ((unsigned)kind < sizeof names / sizeof names[0] && names[kind])
        return names[kind];
    return "?";
}

const char *lode_itm_exception_name(unsigned number)
{
    static const char *const names[16] = {
        NULL, "Reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault", NULL,
        NULL, NULL, NULL, "SVCall", "DebugMonitor", NULL, "PendSV", "SysTick",
    };
    if (number >= 16)
        return number < 512 ? "IRQ" : "reserved";
    return names[number] ? names[number] : "reserved";
}

/* A bounded appender: keeps counting past the end like snprintf. */
typedef struct text_s {
    char *buf;
    size_t cap, n;
} text_s;

static void put(text_s *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_s *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = t->n < t->cap ? t->buf + t->n : NULL;
    size_t room = t->n < t->cap ? t->cap - t->n : 0;
    int k = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->n += (size_t)k;
}

static void put_payload(text_s *t, const lode_itm_packet_s *p)
{
    unsigned size = p->size <= 4 ? p->size : 4;
    put(t, "%u byte%s 0x%0*x", size, size == 1 ? "" : "s", (int)(2 * size), (unsigned)p->value);
    if (size == 1 && p->data[0] >= 0x20 && p->data[0] < 0x7F)
        put(t, " '%c'", p->data[0]);
}

size_t lode_itm_describe(const lode_itm_packet_s *p, char *buf, size_t len)
{
    text_s t = {.buf = buf, .cap = len, .n = 0};
    if (buf && len)
        buf[0] = '\0';
    if (!p) {
        put(&t, "(no packet)");
        return t.n;
    }
    static const char *const tc_names[4] = {"synchronous", "timestamp delayed", "packet delayed",
                                            "timestamp and packet delayed"};
    static const char *const fn_names[4] = {"reserved", "entered", "exited", "returned to"};
    switch (p->kind) {
    case LODE_ITM_PKT_SYNC:
        put(&t, "synchronization (%llu bytes)", (unsigned long long)p->len);
        break;
    case LODE_ITM_PKT_OVERFLOW:
        put(&t, "overflow (trace data lost)");
        break;
    case LODE_ITM_PKT_LOCAL_TS:
        put(&t, "local timestamp +%llu (%s)", (unsigned long long)p->ts, tc_names[p->tc & 3]);
        break;
    case LODE_ITM_PKT_GLOBAL_TS1:
        put(&t, "global timestamp 1: bits [%u:0] = 0x%llx%s%s -> 0x%llx",
            p->ts_bits ? p->ts_bits - 1u : 0u, (unsigned long long)p->ts, p->wrap ? " wrap" : "",
            p->clkch ? " clock-change" : "", (unsigned long long)p->global_ts);
        break;
    case LODE_ITM_PKT_GLOBAL_TS2:
        put(&t, "global timestamp 2: bits [%u:26] = 0x%llx -> 0x%llx", 25u + p->ts_bits,
            (unsigned long long)p->ts, (unsigned long long)p->global_ts);
        break;
    case LODE_ITM_PKT_EXTENSION:
        if (p->sh)
            put(&t, "extension (hardware): 0x%x", (unsigned)p->value);
        else
            put(&t, "extension: stimulus port page %u (ports %u-%u)", (unsigned)p->value,
                (unsigned)p->value * 32u, (unsigned)p->value * 32u + 31u);
        break;
    case LODE_ITM_PKT_INSTRUMENTATION:
        put(&t, "instrumentation port %u: ", p->port);
        put_payload(&t, p);
        break;
    case LODE_ITM_PKT_EVENT_COUNTER: {
        static const char *const ev[6] = {"CPI", "EXC", "SLEEP", "LSU", "FOLD", "CYC"};
        put(&t, "event counter wrap:");
        for (unsigned i = 0; i < 6; i++)
            if (p->value & (1u << i))
                put(&t, " %s", ev[i]);
        if (!(p->value & 0x3Fu))
            put(&t, " none");
        if (p->value & 0xC0u)
            put(&t, " (reserved bits 0x%02x)", (unsigned)(p->value & 0xC0u));
        break;
    }
    case LODE_ITM_PKT_EXCEPTION:
        put(&t, "exception %u (%s", p->exception, lode_itm_exception_name(p->exception));
        if (p->exception >= 16 && p->exception < 512)
            put(&t, " %u", p->exception - 16u);
        put(&t, ") %s", fn_names[p->fn & 3]);
        break;
    case LODE_ITM_PKT_PC_SAMPLE:
        if (p->sleep)
            put(&t, "PC sample: core sleeping");
        else
            put(&t, "PC sample 0x%08x", (unsigned)p->value);
        break;
    case LODE_ITM_PKT_DATA_PC:
        put(&t, "data trace comparator %u: PC 0x%08x", p->comparator, (unsigned)p->value);
        break;
    case LODE_ITM_PKT_DATA_ADDR:
        put(&t, "data trace comparator %u: address offset 0x%04x", p->comparator,
            (unsigned)p->value);
        break;
    case LODE_ITM_PKT_DATA_VALUE:
        put(&t, "data trace comparator %u: %s ", p->comparator, p->write ? "write" : "read");
        put_payload(&t, p);
        break;
    case LODE_ITM_PKT_HARDWARE:
        put(&t, "hardware source id %u: ", p->port);
        put_payload(&t, p);
        break;
    case LODE_ITM_PKT_INVALID:
        switch (p->reason) {
        case LODE_ITM_INV_RESERVED:
            put(&t, "invalid: reserved header 0x%02x", p->header);
            break;
        case LODE_ITM_INV_BAD_SYNC:
            put(&t, "invalid: %llu zero bytes that are not a synchronization packet",
                (unsigned long long)p->len);
            break;
        case LODE_ITM_INV_TOO_LONG:
            put(&t, "invalid: header 0x%02x with a payload longer than allowed", p->header);
            break;
        case LODE_ITM_INV_TRUNCATED:
            put(&t, "invalid: stream ends inside a packet (%llu bytes, header 0x%02x)",
                (unsigned long long)p->len, p->header);
            break;
        default:
            put(&t, "invalid");
            break;
        }
        break;
    case LODE_ITM_PKT_DISCARD:
        put(&t, "discarded %llu bytes (waiting for a synchronization packet)",
            (unsigned long long)p->len);
        break;
    default:
        put(&t, "unknown packet kind %d", (int)p->kind);
        break;
    }
    return t.n;
}
