/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the GDB RSP framing decoder. Input: byte 0 picks max_packet, bytes 1-2
 * seed the chunk sizes, the rest is the stream. Invariants (a violation aborts):
 *  - feeding in pseudo-random chunks gives the same events as feeding the whole stream;
 *  - frame data is NUL-terminated and never longer than max_packet;
 *  - every PACKET / NOTIFICATION payload, re-encoded, decodes to one event with that payload;
 *  - lode_rsp_hex_encode / decode round trip the stream. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/rsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_state_s {
    uint64_t hash;
    uint64_t count;
    size_t max;
    bool check_round_trip;
} fz_state_s;

typedef struct fz_one_s {
    int n;
    lode_rsp_event_type_e type;
    size_t len;
    const uint8_t *want;
    bool same;
} fz_one_s;

static void mix(fz_state_s *s, uint64_t v)
{
    s->hash = (s->hash ^ v) * 0x100000001B3ull;
}

static void on_one(void *user, const lode_rsp_event_s *ev)
{
    fz_one_s *o = user;
    o->n++;
    o->type = ev->type;
    o->len = ev->len;
    o->same = ev->data && memcmp(ev->data, o->want, ev->len) == 0;
}

static void round_trip(const lode_rsp_event_s *ev)
{
    size_t cap = LODE_RSP_ENCODED_MAX(ev->len);
    uint8_t *out = malloc(cap);
    lode_rsp_decoder_s *d = malloc(sizeof *d);
    if (!out || !d)
        abort();
    size_t n = 0;
    int rc = ev->notification ? lode_rsp_encode_notification(ev->data, ev->len, out, cap, &n)
                              : lode_rsp_encode(ev->data, ev->len, out, cap, &n);
    if (rc != LODE_OK || n > cap)
        abort();
    fz_one_s o = {.want = ev->data};
    if (lode_rsp_decoder_init(d, 0) != LODE_OK || lode_rsp_feed(d, out, n, on_one, &o) != LODE_OK)
        abort();
    if (o.n != 1 || o.type != ev->type || o.len != ev->len || !o.same ||
        !lode_rsp_decoder_idle(d))
        abort();
    free(d);
    free(out);
}

static void on_event(void *user, const lode_rsp_event_s *ev)
{
    fz_state_s *s = user;
    s->count++;
    mix(s, ev->type);
    mix(s, ev->notification);
    mix(s, ev->len);
    mix(s, ev->checksum_sent);
    mix(s, ev->checksum_computed);
    if (ev->data) {
        if (ev->len > s->max || ev->data[ev->len] != 0)
            abort();
        for (size_t i = 0; i < ev->len; i++)
            mix(s, ev->data[i]);
    } else if (ev->len) {
        abort();
    }
    if (s->check_round_trip &&
        (ev->type == LODE_RSP_EV_PACKET || ev->type == LODE_RSP_EV_NOTIFICATION))
        round_trip(ev);
}

static fz_state_s run(lode_rsp_decoder_s *d, const uint8_t *data, size_t size, size_t max,
                      uint32_t seed, bool whole)
{
    fz_state_s s = {.hash = 0xCBF29CE484222325ull, .max = max, .check_round_trip = whole};
    if (lode_rsp_decoder_init(d, max) != LODE_OK)
        abort();
    uint32_t x = seed | 1u;
    for (size_t i = 0; i < size;) {
        size_t chunk = size - i;
        if (!whole) {
            x ^= x << 13; /* xorshift32 */
            x ^= x >> 17;
            x ^= x << 5;
            chunk = (size_t)(x % 37u); /* 0-byte feeds included */
            if (chunk > size - i)
                chunk = size - i;
        }
        if (lode_rsp_feed(d, data + i, chunk, on_event, &s) != LODE_OK)
            abort();
        i += chunk;
    }
    return s;
}

static void check_hex(const uint8_t *data, size_t size)
{
    char *txt = malloc(2 * size + 1);
    uint8_t *bin = malloc(size + 1);
    if (!txt || !bin)
        abort();
    size_t n = 0, m = 0;
    if (lode_rsp_hex_encode(data, size, txt, 2 * size, &n) != LODE_OK || n != 2 * size)
        abort();
    if (lode_rsp_hex_decode(txt, n, bin, size, &m) != LODE_OK || m != size ||
        memcmp(bin, data, size) != 0)
        abort();
    /* the raw stream as hex text: must never overrun, only fail cleanly */
    int rc = lode_rsp_hex_decode((const char *)data, size, bin, size / 2, &m);
    if (rc != LODE_OK && rc != LODE_E_PROTOCOL)
        abort();
    free(bin);
    free(txt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* small limits most of the time so OVERSIZED is reached */
    size_t max = data[0] == 0xFF ? LODE_RSP_MAX_PACKET : (size_t)data[0] % 64u + 1u;
    uint32_t seed = (uint32_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;

    lode_rsp_decoder_s *d = malloc(sizeof *d);
    if (!d)
        abort();
    fz_state_s whole = run(d, data, size, max, seed, true);
    fz_state_s parts = run(d, data, size, max, seed, false);
    free(d);
    if (whole.hash != parts.hash || whole.count != parts.count)
        abort();
    check_hex(data, size);
    return 0;
}
