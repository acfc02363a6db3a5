/* SPDX-License-Identifier: MIT */
/* The bit-level SWD target used as the test oracle of lode's SWD encoder (swd_wire.c). */
#ifndef LODE_TEST_SWD_WIRE_H
#define LODE_TEST_SWD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The transfer-level DP behind: one transfer (returns the ACK 1/2/4/7) and SWJ sequences. */
typedef struct swdw_dp_s {
    int (*xfer)(void *ctx, bool apndp, bool rnw, uint8_t a, uint32_t *data);
    void (*seq)(void *ctx, unsigned bits, const uint8_t *data);
    void *ctx;
} swdw_dp_s;

typedef struct swdw_s {
    swdw_dp_s dp;
    unsigned skew;          /* reply bit i = the line in cycle i + skew */
    /* options */
    bool multidrop;         /* SWD v2 multidrop: selected only by TARGETSEL = targetid */
    uint32_t targetid;
    bool dormant;           /* ignores everything until the selection alert + activation code */
    unsigned bad_parity_left; /* the next reads' parity bits inverted */
    unsigned noack_left;      /* the next transactions not answered */
    /* state */
    bool locked, after_reset, selected;
    bool orundetect;        /* as last written to CTRL/STAT */
    uint32_t select;
    unsigned ones;
    uint8_t seq[64];
    size_t nseq;
    uint8_t hist[140];
    /* what it saw */
    uint64_t cycles, transactions;
    unsigned acks[3];       /* OK, WAIT, FAULT */
    unsigned contention;    /* cycles where host and target both drove */
    unsigned write_parity_errors, resets, woke, tsel_seen;
    uint32_t last_read;
} swdw_s;

void swdw_init(swdw_s *w, const swdw_dp_s *dp, unsigned skew);
/* One batch of n cycles, as a probe's bit I/O (dir/out from the host, in = the reply). */
void swdw_io(swdw_s *w, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t n);

#endif
