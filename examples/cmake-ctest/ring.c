/* SPDX-License-Identifier: MIT */
#include "ring.h"

void ring_init(ring_s *r, uint8_t *buf, size_t cap)
{
    r->buf = buf;
    r->cap = cap;
    r->head = r->count = 0;
}

bool ring_put(ring_s *r, uint8_t b)
{
    if (r->count == r->cap)
        return false;
    r->buf[(r->head + r->count) % r->cap] = b;
    r->count++;
    return true;
}

bool ring_get(ring_s *r, uint8_t *b)
{
    if (r->count == 0)
        return false;
    *b = r->buf[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    return true;
}
