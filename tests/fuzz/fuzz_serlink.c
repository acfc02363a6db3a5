/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the lode serial link decoder (src/run/serlink.c). Input: byte 0 picks
 * how the rest is split into feeds (0: all at once, else chunks of that size), the rest is
 * what the board sent. Invariants (abort = crash): the events do not depend on the split (the
 * same output bytes, the same frames, in the same order); after a flush nothing is held;
 * every input byte is accounted for (output, or part of a frame or literal); an exit or
 * request is only ever reported for bytes that re-encode to exactly the frame seen; the
 * arguments answer decodes back to what was encoded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/serlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXLOG 8192

typedef struct rec_s {
    uint8_t log[MAXLOG]; /* a record of events: 'o' byte / 'x' code / 'r' rooms */
    size_t n;
    size_t out_bytes, frame_bytes;
    bool overflow;
} rec_s;

static void put(rec_s *r, const void *p, size_t n)
{
    if (r->n + n > MAXLOG) {
        r->overflow = true;
        return;
    }
    memcpy(r->log + r->n, p, n);
    r->n += n;
}

static void on_ev(void *user, const lode_serlink_event_s *ev)
{
    rec_s *r = user;
    if (ev->kind == LODE_SERLINK_EV_OUTPUT) {
        if (!ev->len || !ev->data)
            abort();
        for (size_t i = 0; i < ev->len; i++) {
            uint8_t e[2] = {'o', ev->data[i]};
            put(r, e, 2);
        }
        r->out_bytes += ev->len;
        return;
    }
    uint8_t payload[4], frame[16];
    size_t n = 0;
    if (ev->kind == LODE_SERLINK_EV_EXIT) {
        uint32_t v = (uint32_t)ev->exit_code;
        for (int i = 0; i < 4; i++)
            payload[i] = (uint8_t)(v >> (8 * i));
        if (lode_serlink_encode(LODE_SERLINK_T_EXIT, payload, 4, frame, sizeof frame, &n) != LODE_OK)
            abort();
        uint8_t e = 'x';
        put(r, &e, 1);
    } else {
        payload[0] = (uint8_t)ev->args_room;
        payload[1] = (uint8_t)(ev->args_room >> 8);
        payload[2] = (uint8_t)ev->argv_room;
        payload[3] = (uint8_t)(ev->argv_room >> 8);
        if (lode_serlink_encode(LODE_SERLINK_T_ARGS_REQ, payload, 4, frame, sizeof frame, &n) != LODE_OK)
            abort();
        uint8_t e = 'r';
        put(r, &e, 1);
    }
    put(r, payload, 4);
    r->frame_bytes += n;
}

static void decode(const uint8_t *in, size_t n, size_t chunk, rec_s *r)
{
    lode_serlink_dec_s d;
    lode_serlink_dec_init(&d);
    for (size_t at = 0; at < n;) {
        size_t k = chunk && chunk < n - at ? chunk : n - at;
        lode_serlink_feed(&d, in + at, k, on_ev, r);
        if (lode_serlink_held(&d) > LODE_SERLINK_MAX_IN)
            abort();
        at += k;
    }
    lode_serlink_flush(&d, on_ev, r);
    if (lode_serlink_held(&d))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    size_t chunk = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    static rec_s whole, split;
    memset(&whole, 0, sizeof whole);
    memset(&split, 0, sizeof split);
    decode(in, n, 0, &whole);
    decode(in, n, chunk ? chunk : 1, &split);
    if (whole.overflow != split.overflow || (!whole.overflow && (whole.n != split.n || memcmp(whole.log, split.log, whole.n))))
        abort();
    /* every byte is output, part of a frame, or one of a literal's 4 (which give 1 byte out) */
    size_t literals_extra = n - whole.out_bytes - whole.frame_bytes;
    if (whole.out_bytes + whole.frame_bytes > n || literals_extra % 3)
        abort();
    /* the arguments answer round trip: the input's bytes as NUL-separated arguments */
    const char *argv[64];
    char strs[4200];
    size_t argc = 0, at = 0;
    memcpy(strs, in, n);
    strs[n] = 0;
    while (at <= n && argc < 64) {
        argv[argc++] = strs + at;
        at += strlen(strs + at) + 1;
    }
    static uint8_t frame[4300];
    size_t flen = 0;
    bool fits = false;
    if (lode_serlink_encode_args(argv, argc, 0xFFFF, 64, frame, sizeof frame, &flen, &fits) != LODE_OK || !fits)
        abort();
    size_t plen = (size_t)(frame[4] | frame[5] << 8);
    if (flen != plen + 8 || frame[6] != 0 ||
        lode_serlink_crc16(0xFFFF, frame + 3, plen + 3) != (frame[6 + plen] | frame[7 + plen] << 8))
        abort();
    size_t k = 0;
    for (size_t i = 0, p = 7; i < argc; i++) {
        if (strcmp((const char *)frame + p, argv[i]))
            abort();
        p += strlen(argv[i]) + 1;
        k = p;
    }
    if (k != plen + 6)
        abort();
    return 0;
}
