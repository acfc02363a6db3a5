/* SPDX-License-Identifier: MIT */
/* A test oracle for lode's SWD bit encoder (src/probe/swd_bits.c): a bit-level SWD target in
 * front of the simulated SW-DP (sim/src/swdp.c on the fake board), written from ADIv5.2
 * chapter B4 independently of the encoder. It decodes the host's cycles as a target would:
 * in idle it takes the first 1 as a start bit and reads a header; a header that is not valid
 * (start 1, parity, stop 0, park 1) is a protocol error, after which the target ignores
 * everything until a line reset (>= 50 ones). It drives ACK and read data, honours
 * ORUNDETECT (data phase after WAIT/FAULT), and records line contention (both sides
 * driving), which a correct encoder never causes. Optional: SWD v2 multidrop (deselected
 * after a line reset until a TARGETSEL write with its TARGETID), a dormant start (ignores
 * everything until the selection alert + SWD activation code), injected read parity errors
 * and missing ACKs. The probe's sampling skew is applied to the reply buffer. */
#include "swd_wire.h"

#include <stdlib.h>
#include <string.h>


static const uint8_t ALERT[16] = {0x92, 0xF3, 0x09, 0x62, 0x95, 0x2D, 0x85, 0x86,
                                  0xE9, 0xAF, 0xDD, 0xE3, 0xA2, 0x0E, 0xBC, 0x19};

enum { ACK_OK = 1, ACK_WAIT = 2, ACK_FAULT = 4 };

static unsigned bit_of(const uint8_t *b, size_t i) { return (b[i / 8] >> (i % 8)) & 1u; }
static void set_bit(uint8_t *b, size_t i, unsigned v)
{
    if (v)
        b[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        b[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static unsigned par(uint32_t v)
{
    unsigned p = 0;
    while (v) {
        p ^= v & 1u;
        v >>= 1;
    }
    return p;
}

void swdw_init(swdw_s *w, const swdw_dp_s *dp, unsigned skew)
{
    memset(w, 0, sizeof *w);
    w->dp = *dp;
    w->skew = skew;
    w->locked = true;
}

/* Feed the host's idle-state bits to the DP (line resets, JTAG-to-SWD, idle). */
static void seq_flush(swdw_s *w)
{
    if (w->nseq) {
        w->dp.seq(w->dp.ctx, (unsigned)w->nseq, w->seq);
        w->nseq = 0;
        memset(w->seq, 0, sizeof w->seq);
    }
}

static void seq_bit(swdw_s *w, unsigned v)
{
    if (w->nseq == sizeof w->seq * 8)
        seq_flush(w);
    set_bit(w->seq, w->nseq++, v);
}

/* The dormant detector: a shift register of the last 128+4+8 host bits. */
static void dormant_bit(swdw_s *w, unsigned v)
{
    memmove(w->hist, w->hist + 1, sizeof w->hist - 1);
    w->hist[sizeof w->hist - 1] = (uint8_t)v;
    /* alert (128) then 4 zeros then 0x1A LSB first */
    for (size_t i = 0; i < 128; i++)
        if (w->hist[i] != bit_of(ALERT, i))
            return;
    for (size_t i = 128; i < 132; i++)
        if (w->hist[i])
            return;
    for (size_t i = 0; i < 8; i++)
        if (w->hist[132 + i] != ((0x1Au >> i) & 1u))
            return;
    w->dormant = false;
    w->woke++;
}

/* One transaction starting at cycle c (the header's start bit). Returns the cycles used, or
 * 0 when the header is not valid. `line` is what the target sees and drives. */
static size_t transaction(swdw_s *w, const uint8_t *dir, const uint8_t *out, uint8_t *line, size_t c,
                          size_t n)
{
    if (c + 8 > n)
        return 0;
    unsigned h = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (!bit_of(dir, c + i))
            return 0; /* the line floats high: pull-up; a header needs a stop 0 anyway */
        h |= bit_of(out, c + i) << i;
    }
    unsigned ap = (h >> 1) & 1u, rnw = (h >> 2) & 1u, a = ((h >> 3) & 3u) << 2;
    if (!(h & 1u) || ((h >> 5) & 1u) != par((h >> 1) & 0xFu) || (h & 0x40u) || !(h & 0x80u))
        return 0;
    size_t need = 46;
    if (c + need > n)
        return 0; /* the batch ends inside: treat the rest as garbage */
    seq_flush(w);
    w->transactions++;
    size_t at = c + 8 + 1; /* after the turnaround */
    bool is_tsel = !ap && !rnw && a == 0xC && w->multidrop;
    if (w->multidrop && !w->selected && !is_tsel) {
        w->locked = true; /* deselected: silent until the next line reset */
        return 8;
    }
    if (is_tsel) {
        uint32_t v = 0;
        for (unsigned i = 0; i < 32; i++)
            v |= (uint32_t)bit_of(out, at + 4 + i) << i;
        w->selected = w->after_reset && v == w->targetid;
        w->tsel_seen++;
        return 8 + 1 + 3 + 1 + 33;
    }
    w->after_reset = false;
    if (w->noack_left) {
        w->noack_left--;
        w->locked = true; /* a target that does not answer: as after a protocol error */
        return 8 + 1 + 3;
    }
    uint32_t data = 0;
    if (!rnw)
        for (unsigned i = 0; i < 32; i++)
            data |= (uint32_t)bit_of(out, at + 4 + i) << i;
    bool orun = w->orundetect;
    uint32_t wdata = data;
    int ack = w->dp.xfer(w->dp.ctx, ap != 0, rnw != 0, (uint8_t)a, &data);
    if (ack != ACK_OK && ack != ACK_WAIT && ack != ACK_FAULT) {
        w->locked = true; /* a protocol error: silent until a line reset */
        return 8 + 1 + 3; /* nothing driven */
    }
    if (ack == ACK_OK && !ap && !rnw && a == 8)
        w->select = wdata;
    if (ack == ACK_OK && !ap && !rnw && a == 4 && (w->select & 0xFu) == 0)
        w->orundetect = wdata & 1u;
    w->acks[ack == ACK_OK ? 0 : ack == ACK_WAIT ? 1 : 2]++;
    for (unsigned i = 0; i < 3; i++) {
        if (bit_of(dir, at + i))
            w->contention++;
        set_bit(line, at + i, (unsigned)(ack >> i) & 1u);
    }
    if (ack != ACK_OK && !orun)
        return 8 + 1 + 3 + 1; /* no data phase: turnaround, then idle */
    if (rnw) {
        if (ack == ACK_OK) {
            unsigned p = par(data);
            if (w->bad_parity_left) {
                w->bad_parity_left--;
                p ^= 1u;
            }
            for (unsigned i = 0; i < 33; i++) {
                size_t k = at + 3 + i;
                if (bit_of(dir, k))
                    w->contention++;
                set_bit(line, k, i < 32 ? (unsigned)(data >> i) & 1u : p);
            }
            w->last_read = data;
        }
        return 8 + 1 + 3 + 33 + 1;
    }
    /* write: the data phase is the host's */
    unsigned p = bit_of(out, at + 4 + 32);
    if (ack == ACK_OK && p != par(data))
        w->write_parity_errors++;
    return 8 + 1 + 3 + 1 + 33;
}

void swdw_io(swdw_s *w, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t n)
{
    uint8_t *line = calloc(n / 8 + 2, 1);
    if (!line)
        return;
    /* the host's bits first; the target's overwrite where it drives */
    for (size_t c = 0; c < n; c++)
        set_bit(line, c, bit_of(dir, c) ? bit_of(out, c) : 1u);
    w->cycles += n;
    size_t c = 0;
    while (c < n) {
        unsigned host = bit_of(dir, c) ? bit_of(out, c) : 1u;
        if (w->dormant) {
            dormant_bit(w, host);
            c++;
            continue;
        }
        /* a start bit in idle, while the target listens */
        if (host && !w->locked && w->ones == 0) {
            size_t used = transaction(w, dir, out, line, c, n);
            if (used) {
                c += used;
                w->ones = 0;
                continue;
            }
            /* a protocol error (the first one of a line reset too): silent until a line reset */
            w->locked = true;
        }
        if (host) {
            w->ones++;
        } else {
            if (w->ones >= 50) {
                /* a line reset, ended by an idle bit */
                w->locked = false;
                w->after_reset = true;
                w->selected = false;
                w->resets++;
            }
            w->ones = 0;
        }
        seq_bit(w, host);
        c++;
    }
    seq_flush(w);
    /* the probe's buffer: bit i = the line in cycle i + skew */
    memset(in, 0, (n + 7) / 8);
    for (size_t i = 0; i + w->skew < n; i++)
        set_bit(in, i, bit_of(line, i + w->skew));
    for (size_t i = n - (w->skew < n ? w->skew : n); i < n; i++)
        set_bit(in, i, 1);
    free(line);
}
