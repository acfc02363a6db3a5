/* SPDX-License-Identifier: MIT */
/* A byte ring buffer: the code under test. */
#ifndef RING_H
#define RING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ring_s {
    uint8_t *buf;
    size_t cap, head, count;
} ring_s;

void ring_init(ring_s *r, uint8_t *buf, size_t cap);
bool ring_put(ring_s *r, uint8_t b); /* false when full */
bool ring_get(ring_s *r, uint8_t *b); /* false when empty */
#endif
