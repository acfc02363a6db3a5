/* SPDX-License-Identifier: MIT */
/* Target side of SEGGER RTT for lode's test programs (rtt_test.c, rtt_flood.c), written from
 * the control block layout in SEGGER's UM08001: acID[16] "SEGGER RTT", MaxNumUpBuffers,
 * MaxNumDownBuffers, then the up and the down ring descriptors {sName, pBuffer, SizeOfBuffer,
 * WrOff, RdOff, Flags}. The writer of a ring owns WrOff, the reader RdOff; one byte of each
 * ring stays unused. A program declares its block with RTT_CB(name, up, down) (so the symbol
 * _SEGGER_RTT has the exact layout), fills in the rings, then calls rtt_publish(), which
 * writes the ID last so a debugger never sees a half-initialised block with a valid ID. */
#ifndef FW_RTT_TARGET_H
#define FW_RTT_TARGET_H

#include <stddef.h>
#include <stdint.h>

#define RTT_MODE_SKIP 0u  /* drop a write that does not fit */
#define RTT_MODE_TRIM 1u  /* write what fits */
#define RTT_MODE_BLOCK 2u /* wait for the host to make room */

typedef struct rtt_ring_s {
    const char *name;
    volatile uint8_t *buf;
    uint32_t size;
    volatile uint32_t wr;
    volatile uint32_t rd;
    uint32_t flags;
} rtt_ring_s;

_Static_assert(sizeof(rtt_ring_s) == 24, "RTT descriptors are 24 bytes");

/* The control block's fields, for a struct named as the program wants. */
#define RTT_CB_FIELDS(nup, ndown) \
    char id[16];                  \
    int32_t max_up;               \
    int32_t max_down;             \
    rtt_ring_s up[nup];           \
    rtt_ring_s down[ndown]

static inline void rtt_dmb(void) { __asm__ volatile("dmb" ::: "memory"); }

/* Make the block visible: counts first, then the ID from its last byte to its first. */
static inline void rtt_publish(volatile char *id, volatile int32_t *max_up, volatile int32_t *max_down,
                               int32_t nup, int32_t ndown)
{
    static const char text[16] = "SEGGER RTT";
    *max_up = nup;
    *max_down = ndown;
    rtt_dmb();
    for (int i = 15; i >= 0; i--) {
        id[i] = text[i];
        rtt_dmb();
    }
}

static inline uint32_t rtt_space(const rtt_ring_s *r)
{
    uint32_t wr = r->wr, rd = r->rd;
    return (rd + r->size - wr - 1u) % r->size;
}

/* Write len bytes following the ring's mode; returns the bytes written. */
static inline size_t rtt_write(rtt_ring_s *r, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t mode = r->flags & 3u;
    if (mode == RTT_MODE_SKIP && rtt_space(r) < len)
        return 0;
    size_t done = 0;
    while (done < len) {
        uint32_t space = rtt_space(r);
        if (space == 0) {
            if (mode != RTT_MODE_BLOCK)
                break;
            continue;
        }
        uint32_t wr = r->wr;
        uint32_t n = r->size - wr; /* up to the end of the ring */
        if (n > space)
            n = space;
        if (n > len - done)
            n = (uint32_t)(len - done);
        for (uint32_t i = 0; i < n; i++)
            r->buf[wr + i] = p[done + i];
        rtt_dmb(); /* data before WrOff */
        wr += n;
        r->wr = wr == r->size ? 0 : wr;
        done += n;
    }
    return done;
}

/* Read what a down ring holds, at most cap bytes. */
static inline size_t rtt_read(rtt_ring_s *r, void *out, size_t cap)
{
    uint8_t *o = out;
    size_t got = 0;
    uint32_t rd = r->rd;
    while (got < cap) {
        uint32_t wr = r->wr;
        if (rd == wr)
            break;
        rtt_dmb(); /* WrOff before the data */
        o[got++] = r->buf[rd];
        rd = rd + 1u == r->size ? 0 : rd + 1u;
    }
    rtt_dmb();
    r->rd = rd;
    return got;
}

/* Wait until the host has read everything from an up ring (at most `spins` checks). */
static inline int rtt_drain(const rtt_ring_s *r, uint32_t spins)
{
    while (r->wr != r->rd)
        if (spins-- == 0)
            return -1;
    return 0;
}

#endif
