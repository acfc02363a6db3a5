/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the ITM/DWT packet decoder. The first input byte picks the resync
 * mode and a chunk size; the rest is the stream. Invariants (a violation aborts):
 *  - packets tile the stream: each starts where the previous ended, and after the flush they
 *    cover every byte exactly once;
 *  - decoding in chunks gives the same packets as decoding the whole stream;
 *  - lode_itm_describe() is NUL-terminated and agrees with its returned length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/itm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_state_s {
    uint64_t next;  /* where the next packet must start */
    uint64_t hash;
    uint64_t count;
} fz_state_s;

static void mix(fz_state_s *s, uint64_t v)
{
    s->hash = (s->hash ^ v) * 0x100000001B3ull;
}

static void on_packet(void *user, const lode_itm_packet_s *p)
{
    fz_state_s *s = user;
    if (p->offset != s->next || p->len == 0)
        abort();
    s->next = p->offset + p->len;
    s->count++;
    if (p->kind == LODE_ITM_PKT_INSTRUMENTATION || p->kind == LODE_ITM_PKT_HARDWARE ||
        p->kind == LODE_ITM_PKT_DATA_VALUE) {
        if (p->size != 1 && p->size != 2 && p->size != 4)
            abort();
        if (p->len != 1u + p->size)
            abort();
    }
    if (p->kind == LODE_ITM_PKT_SYNC && p->len < 6)
        abort();
    mix(s, p->kind);
    mix(s, p->offset);
    mix(s, p->len);
    mix(s, p->header);
    mix(s, p->port);
    mix(s, p->comparator);
    mix(s, p->size);
    mix(s, p->value);
    mix(s, p->write | (p->sleep << 1) | (p->wrap << 2) | (p->clkch << 3) | (p->sh << 4));
    mix(s, p->exception);
    mix(s, p->fn);
    mix(s, p->ts);
    mix(s, p->ts_bits);
    mix(s, p->tc);
    mix(s, p->global_ts);
    mix(s, p->reason);

    char buf[48];
    size_t need = lode_itm_describe(p, buf, sizeof buf);
    size_t got = strlen(buf);
    if (need == 0 || got != (need < sizeof buf ? need : sizeof buf - 1))
        abort();
}

static fz_state_s run(const uint8_t *data, size_t size, size_t chunk, lode_itm_resync_e mode)
{
    fz_state_s s = {.hash = 0xCBF29CE484222325ull};
    lode_itm_decoder_s d;
    lode_itm_decoder_init(&d);
    lode_itm_decoder_set_resync(&d, mode);
    for (size_t i = 0; i < size; i += chunk) {
        size_t n = size - i < chunk ? size - i : chunk;
        if (lode_itm_feed(&d, data + i, n, on_packet, &s) != LODE_OK)
            abort();
    }
    if (lode_itm_flush(&d, on_packet, &s) != LODE_OK)
        abort();
    if (s.next != size)
        abort(); /* every byte in exactly one packet */
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    lode_itm_resync_e mode = (data[0] & 0x80) ? LODE_ITM_RESYNC_NEXT : LODE_ITM_RESYNC_SYNC;
    size_t chunk = (size_t)(data[0] & 0x0F) + 1;
    data++;
    size--;
    fz_state_s whole = run(data, size, size ? size : 1, mode);
    fz_state_s parts = run(data, size, chunk, mode);
    if (whole.hash != parts.hash || whole.count != parts.count)
        abort();
    return 0;
}
