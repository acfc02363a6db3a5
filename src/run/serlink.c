/* SPDX-License-Identifier: MIT */
/* The lode serial link, host side (lode/serlink.h; the wire format in docs/serial-link.md):
 * the decoder that finds the firmware's frames in its output, the encoder of the host's
 * answers, and the console loop over a stream. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/error.h"
#include "lode/serlink.h"
#include "util/bytes.h"

#define OUT_CHUNK 256
#define POLL_MS 20

/* output bytes gathered before they go to the callback as one event */
typedef struct out_s {
    uint8_t buf[OUT_CHUNK];
    size_t n;
    lode_serlink_event_fn fn;
    void *user;
} out_s;

static void out_flush(out_s *o)
{
    if (o->n && o->fn) {
        lode_serlink_event_s ev = {.kind = LODE_SERLINK_EV_OUTPUT, .data = o->buf, .len = o->n};
        o->fn(o->user, &ev);
    }
    o->n = 0;
}

static void out_byte(out_s *o, uint8_t b)
{
    if (o->n == OUT_CHUNK)
        out_flush(o);
    o->buf[o->n++] = b;
}

static void out_event(out_s *o, const lode_serlink_event_s *ev)
{
    out_flush(o);
    if (o->fn)
        o->fn(o->user, ev);
}

void lode_serlink_dec_init(lode_serlink_dec_s *d) { memset(d, 0, sizeof *d); }

size_t lode_serlink_held(const lode_serlink_dec_s *d) { return d->nheld; }

uint16_t lode_serlink_crc16(uint16_t crc, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int k = 0; k < 8; k++)
            crc = (uint16_t)(crc & 0x8000u ? ((unsigned)crc << 1) ^ 0x1021u : (unsigned)crc << 1);
    }
    return crc;
}

/* Could held[0..n) still become a frame the host accepts? */
static bool prefix_ok(const uint8_t *h, size_t n)
{
    if (n >= 2 && h[1] != LODE_SERLINK_MAGIC1)
        return false;
    if (n >= 3 && h[2] != LODE_SERLINK_MAGIC2)
        return false;
    if (n >= 4 && h[3] != LODE_SERLINK_T_EXIT && h[3] != LODE_SERLINK_T_ARGS_REQ && h[3] != LODE_SERLINK_T_LITERAL)
        return false;
    /* both board -> host frames carry exactly 4 bytes */
    if (n >= 5 && h[4] != 4)
        return false;
    if (n >= 6 && h[5] != 0)
        return false;
    return true;
}

static void step(lode_serlink_dec_s *d, uint8_t b, out_s *o);

/* The held bytes are no frame: the DLE is output, the rest is looked at again (a real frame
 * may begin inside them). */
static void reject(lode_serlink_dec_s *d, out_s *o)
{
    uint8_t again[LODE_SERLINK_MAX_IN];
    size_t n = d->nheld - 1;
    memcpy(again, d->held + 1, n);
    d->nheld = 0;
    out_byte(o, LODE_SERLINK_DLE);
    for (size_t i = 0; i < n; i++)
        step(d, again[i], o);
}

static void step(lode_serlink_dec_s *d, uint8_t b, out_s *o)
{
    if (!d->nheld) {
        if (b == LODE_SERLINK_DLE)
            d->held[d->nheld++] = b;
        else
            out_byte(o, b);
        return;
    }
    d->held[d->nheld++] = b;
    if (!prefix_ok(d->held, d->nheld)) {
        reject(d, o);
        return;
    }
    if (d->nheld == 4 && d->held[3] == LODE_SERLINK_T_LITERAL) {
        d->nheld = 0;
        out_byte(o, LODE_SERLINK_DLE);
        return;
    }
    if (d->nheld < LODE_SERLINK_MAX_IN)
        return;
    uint16_t crc = lode_serlink_crc16(0xFFFFu, d->held + 3, LODE_SERLINK_MAX_IN - 5);
    if (crc != lodei_get_le16(d->held + LODE_SERLINK_MAX_IN - 2)) {
        reject(d, o);
        return;
    }
    const uint8_t *p = d->held + LODE_SERLINK_HEADER;
    lode_serlink_event_s ev = {0};
    if (d->held[3] == LODE_SERLINK_T_EXIT) {
        ev.kind = LODE_SERLINK_EV_EXIT;
        ev.exit_code = (int32_t)lodei_get_le32(p);
    } else {
        ev.kind = LODE_SERLINK_EV_ARGS_REQ;
        ev.args_room = lodei_get_le16(p);
        ev.argv_room = lodei_get_le16(p + 2);
    }
    d->nheld = 0;
    out_event(o, &ev);
}

void lode_serlink_feed(lode_serlink_dec_s *d, const uint8_t *data, size_t len, lode_serlink_event_fn fn,
                       void *user)
{
    out_s o = {.fn = fn, .user = user};
    for (size_t i = 0; i < len; i++)
        step(d, data[i], &o);
    out_flush(&o);
}

void lode_serlink_flush(lode_serlink_dec_s *d, lode_serlink_event_fn fn, void *user)
{
    out_s o = {.fn = fn, .user = user};
    for (size_t i = 0; i < d->nheld; i++)
        out_byte(&o, d->held[i]);
    d->nheld = 0;
    out_flush(&o);
}

int lode_serlink_encode(uint8_t type, const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                        size_t *outlen)
{
    if (len > 0xFFFFu || cap < LODE_SERLINK_HEADER + 2 || len > cap - LODE_SERLINK_HEADER - 2)
        return LODE_E_RANGE;
    out[0] = LODE_SERLINK_DLE;
    out[1] = LODE_SERLINK_MAGIC1;
    out[2] = LODE_SERLINK_MAGIC2;
    out[3] = type;
    lodei_put_le16(out + 4, (uint16_t)len);
    if (len)
        memmove(out + LODE_SERLINK_HEADER, payload, len); /* payload may already be there */
    uint16_t crc = lode_serlink_crc16(0xFFFFu, out + 3, len + 3);
    lodei_put_le16(out + LODE_SERLINK_HEADER + len, crc);
    *outlen = LODE_SERLINK_HEADER + len + 2;
    return LODE_OK;
}

int lode_serlink_encode_args(const char *const *argv, size_t argc, uint16_t args_room, uint16_t argv_room,
                             uint8_t *out, size_t cap, size_t *outlen, bool *fits)
{
    size_t bytes = 0;
    for (size_t i = 0; i < argc; i++)
        bytes += strlen(argv[i]) + 1;
    bool ok = bytes <= args_room && argc <= argv_room;
    if (!ok) {
        uint8_t p[5] = {1};
        lodei_put_le16(p + 1, bytes > 0xFFFFu ? 0xFFFFu : (uint16_t)bytes);
        lodei_put_le16(p + 3, argc > 0xFFFFu ? 0xFFFFu : (uint16_t)argc);
        int rc = lode_serlink_encode(LODE_SERLINK_T_ARGS, p, sizeof p, out, cap, outlen);
        if (rc == LODE_OK)
            *fits = false;
        return rc;
    }
    /* status, the arguments: built in place after the header */
    if (cap < LODE_SERLINK_HEADER + 1 + bytes + 2)
        return LODE_E_RANGE;
    uint8_t *p = out + LODE_SERLINK_HEADER;
    p[0] = 0;
    size_t at = 1;
    for (size_t i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(p + at, argv[i], n);
        at += n;
    }
    int rc = lode_serlink_encode(LODE_SERLINK_T_ARGS, p, at, out, cap, outlen); /* memcpy onto itself */
    if (rc == LODE_OK)
        *fits = true;
    return rc;
}

/* ---- the run loop ------------------------------------------------------------------------------ */

static uint64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

typedef struct run_s {
    const lode_serlink_run_config_s *cfg;
    lode_serlink_result_s *res;
    bool exited;
    int rc;
} run_s;

static void answer_args(run_s *r, const lode_serlink_event_s *ev)
{
    const lode_serlink_run_config_s *c = r->cfg;
    size_t cap = LODE_SERLINK_HEADER + 1 + 2 + 8;
    for (size_t i = 0; i < c->argc; i++)
        cap += strlen(c->argv[i]) + 1;
    uint8_t *buf = malloc(cap);
    size_t n = 0;
    bool fits = false;
    int rc = buf ? lode_serlink_encode_args(c->argv, c->argc, ev->args_room, ev->argv_room, buf, cap, &n, &fits)
                 : LODE_E_NOMEM;
    if (rc == LODE_OK)
        rc = lode_stream_write(c->stream, buf, n);
    free(buf);
    if (rc != LODE_OK) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "cannot answer the firmware's arguments request: %s",
                 lode_strerror(rc));
        if (r->rc == LODE_OK)
            r->rc = rc;
        return;
    }
    r->res->args_requests++;
    if (!fits) {
        size_t bytes = 0;
        for (size_t i = 0; i < c->argc; i++)
            bytes += strlen(c->argv[i]) + 1;
        r->res->args_refused = true;
        lode_log(c->log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                 "the firmware has room for %u bytes and %u arguments, the command line needs %zu bytes and %zu: "
                 "it was told so and got none; build it with a larger LODE_LINK_ARGS_BYTES / LODE_LINK_ARGS_MAX",
                 ev->args_room, ev->argv_room, bytes, c->argc);
    }
}

static void on_event(void *user, const lode_serlink_event_s *ev)
{
    run_s *r = user;
    if (r->exited)
        return; /* what follows the exit is not the run's */
    switch (ev->kind) {
    case LODE_SERLINK_EV_OUTPUT:
        r->res->bytes_out += ev->len;
        if (r->cfg->output)
            r->cfg->output(r->cfg->user, ev->data, ev->len);
        break;
    case LODE_SERLINK_EV_EXIT:
        r->exited = true;
        r->res->exit_code = ev->exit_code;
        break;
    case LODE_SERLINK_EV_ARGS_REQ:
        answer_args(r, ev);
        break;
    }
}

static uint64_t board_us(const lode_serlink_run_config_s *cfg)
{
    return cfg->now_us ? cfg->now_us(cfg->clock_user) : mono_us();
}

int lode_serlink_run(const lode_serlink_run_config_s *cfg, lode_serlink_result_s *res)
{
    if (!cfg || !cfg->stream || !res)
        return LODE_E_INVALID_ARG;
    memset(res, 0, sizeof *res);
    run_s r = {.cfg = cfg, .res = res};
    lode_serlink_dec_s d;
    lode_serlink_dec_init(&d);
    uint64_t t0 = board_us(cfg);
    bool board_spoke = false;
    for (;;) {
        uint64_t now = board_us(cfg);
        if (cfg->interrupt && *cfg->interrupt) {
            res->end = LODE_SERLINK_INTERRUPTED;
            break;
        }
        if (cfg->timeout_us && now - t0 >= cfg->timeout_us) {
            res->end = LODE_SERLINK_TIMEOUT;
            break;
        }
        uint8_t buf[512];
        size_t got = 0;
        int rc = lode_stream_read(cfg->stream, buf, sizeof buf, &got, POLL_MS);
        if (rc == LODE_OK) {
            board_spoke = true;
            lode_serlink_feed(&d, buf, got, on_event, &r);
            if (r.rc != LODE_OK)
                break;
            if (r.exited) {
                res->end = LODE_SERLINK_EXITED;
                break;
            }
        } else if (rc != LODE_E_TIMEOUT) {
            res->end = LODE_SERLINK_LOST;
            break;
        }
        if (board_spoke && cfg->input) {
            uint8_t in[256];
            long n = cfg->input(cfg->user, in, sizeof in);
            if (n > 0 && (rc = lode_stream_write(cfg->stream, in, (size_t)n)) != LODE_OK) {
                r.rc = rc;
                break;
            }
        }
    }
    if (!r.exited)
        lode_serlink_flush(&d, on_event, &r); /* the rest was output after all */
    res->us = board_us(cfg) - t0;
    return r.rc;
}
