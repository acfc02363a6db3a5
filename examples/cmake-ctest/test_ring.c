/* SPDX-License-Identifier: MIT */
/* Unit tests of ring.c, run on the target: `test_ring CASE N [M]`; exit 0 = pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

static uint8_t storage[64];

int main(int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: test_ring fill|wrap|overflow N [M]\n");
        return 2;
    }
    size_t n = (size_t)atoi(argv[2]);
    if (n == 0 || n > sizeof storage) {
        printf("N must be 1..%u\n", (unsigned)sizeof storage);
        return 2;
    }
    ring_s r;
    ring_init(&r, storage, n);
    uint8_t b = 0;
    if (!strcmp(argv[1], "fill")) {
        for (size_t i = 0; i < n; i++)
            if (!ring_put(&r, (uint8_t)i))
                return 1;
        for (size_t i = 0; i < n; i++)
            if (!ring_get(&r, &b) || b != (uint8_t)i)
                return 1;
        printf("fill %u: ok\n", (unsigned)n);
        return ring_get(&r, &b) ? 1 : 0;
    }
    if (!strcmp(argv[1], "wrap") && argc > 3) {
        size_t m = (size_t)atoi(argv[3]);
        for (size_t i = 0; i < m; i++)
            if (!ring_put(&r, (uint8_t)i) || !ring_get(&r, &b) || b != (uint8_t)i)
                return 1;
        printf("wrap %u x %u: ok\n", (unsigned)n, (unsigned)m);
        return 0;
    }
    if (!strcmp(argv[1], "overflow")) {
        for (size_t i = 0; i < n; i++)
            ring_put(&r, (uint8_t)i);
        bool refused = !ring_put(&r, 0xFF);
        printf("overflow %u: %s\n", (unsigned)n, refused ? "refused" : "accepted!");
        return refused ? 0 : 1;
    }
    printf("unknown case '%s'\n", argv[1]);
    return 2;
}
