/* SPDX-License-Identifier: MIT */
/* GDB Remote Serial Protocol framing: streaming decoder and encoder (see lode/rsp.h). */
#include "lode/rsp.h"

#include <string.h>

#include "lode/error.h"
#include "util/hex.h"

enum {
    ST_IDLE = 0, /* between frames */
    ST_DATA,     /* inside a frame's data */
    ST_COUNT,    /* after a '*': the repeat count character is next */
    ST_CS1,      /* after '#': first checksum digit */
    ST_CS2,      /* second checksum digit */
};

#define RLE_BIAS 29u /* repeat count = character - 29 (the manual) */

static const char hex_digits[] = "0123456789abcdef";

static void start_frame(lode_rsp_decoder_s *d, bool notification)
{
    d->state = ST_DATA;
    d->len = 0;
    d->sum = 0;
    d->cs_hi = 0;
    d->last_raw = 0;
    d->have_last = false;
    d->escape = false;
    d->notification = notification;
    d->malformed = false;
    d->oversized = false;
}

static void emit(lode_rsp_event_fn cb, void *user, lode_rsp_event_type_e type)
{
    lode_rsp_event_s ev = {.type = type};
    cb(user, &ev);
}

/* One decoded data byte into the buffer; reports OVERSIZED the first time it does not fit. */
static void put_byte(lode_rsp_decoder_s *d, uint8_t b, lode_rsp_event_fn cb, void *user)
{
    if (d->oversized || d->malformed)
        return;
    if (d->len >= d->max_packet) {
        d->oversized = true;
        lode_rsp_event_s ev = {.type = LODE_RSP_EV_OVERSIZED, .notification = d->notification};
        cb(user, &ev);
        return;
    }
    d->buf[d->len++] = b;
}

/* One transmitted (run-length expanded) data character through the '}' unescaping. */
static void put_raw(lode_rsp_decoder_s *d, uint8_t c, lode_rsp_event_fn cb, void *user)
{
    d->last_raw = c;
    d->have_last = true;
    if (d->escape) {
        d->escape = false;
        put_byte(d, (uint8_t)(c ^ 0x20u), cb, user);
    } else if (c == LODE_RSP_ESCAPE) {
        d->escape = true;
    } else {
        put_byte(d, c, cb, user);
    }
}

static void end_frame(lode_rsp_decoder_s *d, uint8_t sent, bool sent_ok, lode_rsp_event_fn cb,
                      void *user)
{
    d->state = ST_IDLE;
    if (d->oversized)
        return; /* already reported */
    d->buf[d->len] = 0;
    lode_rsp_event_s ev = {
        .notification = d->notification,
        .data = d->buf,
        .len = d->len,
    };
    if (!sent_ok || sent != d->sum) {
        ev.type = LODE_RSP_EV_BAD_CHECKSUM;
        ev.checksum_sent = sent_ok ? sent : 0;
        ev.checksum_computed = d->sum;
    } else if (d->malformed) {
        ev.type = LODE_RSP_EV_MALFORMED;
    } else {
        ev.type = d->notification ? LODE_RSP_EV_NOTIFICATION : LODE_RSP_EV_PACKET;
    }
    cb(user, &ev);
}

static void feed_byte(lode_rsp_decoder_s *d, uint8_t c, lode_rsp_event_fn cb, void *user)
{
    if (d->state != ST_IDLE && c == '$') {
        start_frame(d, false); /* resynchronise: the partial frame is abandoned */
        return;
    }
    switch (d->state) {
    case ST_IDLE:
        if (c == '$' || c == '%')
            start_frame(d, c == '%');
        else if (c == '+')
            emit(cb, user, LODE_RSP_EV_ACK);
        else if (c == '-')
            emit(cb, user, LODE_RSP_EV_NACK);
        else if (c == LODE_RSP_INTERRUPT)
            emit(cb, user, LODE_RSP_EV_INTERRUPT);
        /* anything else between frames is noise */
        return;
    case ST_DATA:
        if (c == '#') {
            if (d->escape)
                d->malformed = true; /* '}' with nothing to escape */
            d->state = ST_CS1;
            return;
        }
        d->sum = (uint8_t)(d->sum + c);
        if (c == '*') {
            if (!d->have_last)
                d->malformed = true;
            d->state = ST_COUNT;
        } else {
            put_raw(d, c, cb, user);
        }
        return;
    case ST_COUNT:
        if (c == '#') {
            d->malformed = true; /* '*' without a count */
            d->state = ST_CS1;
            return;
        }
        d->sum = (uint8_t)(d->sum + c);
        d->state = ST_DATA;
        if (c < ' ' || c > '~') {
            d->malformed = true;
        } else if (d->have_last) {
            for (unsigned n = c - RLE_BIAS; n > 0 && !d->oversized && !d->malformed; n--)
                put_raw(d, d->last_raw, cb, user);
        }
        return;
    case ST_CS1: {
        int v = lodei_hexval(c);
        d->cs_hi = v < 0 ? 0xFFu : (uint8_t)v;
        d->state = ST_CS2;
        return;
    }
    case ST_CS2: {
        int v = lodei_hexval(c);
        bool ok = v >= 0 && d->cs_hi != 0xFFu;
        end_frame(d, ok ? (uint8_t)(d->cs_hi << 4 | v) : 0, ok, cb, user);
        return;
    }
    default:
        d->state = ST_IDLE; /* unreachable: the state is private */
        return;
    }
}

int lode_rsp_decoder_init(lode_rsp_decoder_s *d, size_t max_packet)
{
    if (!d || max_packet > LODE_RSP_MAX_PACKET)
        return LODE_E_INVALID_ARG;
    memset(d, 0, offsetof(lode_rsp_decoder_s, buf));
    d->buf[0] = 0;
    d->max_packet = max_packet ? max_packet : LODE_RSP_MAX_PACKET;
    d->state = ST_IDLE;
    return LODE_OK;
}

bool lode_rsp_decoder_idle(const lode_rsp_decoder_s *d)
{
    return d && d->state == ST_IDLE;
}

int lode_rsp_feed(lode_rsp_decoder_s *d, const uint8_t *in, size_t len, lode_rsp_event_fn cb,
                  void *user)
{
    if (!d || !cb || (!in && len))
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < len; i++)
        feed_byte(d, in[i], cb, user);
    return LODE_OK;
}

uint8_t lode_rsp_checksum(const uint8_t *data, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + data[i]);
    return sum;
}

static bool needs_escape(uint8_t b)
{
    return b == '#' || b == '$' || b == LODE_RSP_ESCAPE || b == '*';
}

static int encode_frame(uint8_t start, const uint8_t *payload, size_t len, uint8_t *out,
                        size_t cap, size_t *out_len)
{
    if ((!payload && len) || !out || !out_len)
        return LODE_E_INVALID_ARG;
    size_t need = 4; /* start, '#', two digits */
    for (size_t i = 0; i < len; i++) {
        size_t add = needs_escape(payload[i]) ? 2u : 1u;
        if (need > cap)
            return LODE_E_NOMEM; /* stop early: also keeps `need` from overflowing */
        need += add;
    }
    if (need > cap)
        return LODE_E_NOMEM;
    size_t o = 0;
    out[o++] = start;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = payload[i];
        if (needs_escape(b)) {
            out[o++] = LODE_RSP_ESCAPE;
            sum = (uint8_t)(sum + LODE_RSP_ESCAPE);
            b ^= 0x20u;
        }
        out[o++] = b;
        sum = (uint8_t)(sum + b);
    }
    out[o++] = '#';
    out[o++] = (uint8_t)hex_digits[sum >> 4];
    out[o++] = (uint8_t)hex_digits[sum & 0xFu];
    *out_len = o;
    return LODE_OK;
}

int lode_rsp_encode(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    return encode_frame('$', payload, len, out, cap, out_len);
}

int lode_rsp_encode_notification(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    return encode_frame('%', payload, len, out, cap, out_len);
}

int lode_rsp_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    if ((!in && len) || (!out && len) || !out_len)
        return LODE_E_INVALID_ARG;
    if (len > cap / 2)
        return LODE_E_NOMEM;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0xFu];
    }
    *out_len = 2 * len;
    return LODE_OK;
}

int lode_rsp_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if ((!in && len) || (!out && len) || !out_len)
        return LODE_E_INVALID_ARG;
    if (len % 2)
        return LODE_E_PROTOCOL;
    for (size_t i = 0; i < len; i++) {
        if (lodei_hexval((uint8_t)in[i]) < 0)
            return LODE_E_PROTOCOL;
    }
    if (len / 2 > cap)
        return LODE_E_NOMEM;
    for (size_t i = 0; i < len / 2; i++)
        out[i] = (uint8_t)(lodei_hexval((uint8_t)in[2 * i]) << 4 | lodei_hexval((uint8_t)in[2 * i + 1]));
    *out_len = len / 2;
    return LODE_OK;
}
