/* SPDX-License-Identifier: MIT */
/* A software SWD engine for probes that only move bits (J-Link EMU_CMD_HW_JTAG3, later FTDI
 * or bit-banging adapters): it turns ADIv5 transfers into SWD bit streams, many transactions
 * per probe command, and the sampled bits back into ACKs and data. It gives the probe a
 * lode_dap_ops_s. Written from ARM IHI 0031 (ADIv5.2) chapter B4 (the SWD protocol) and B5
 * (SWJ-DP select sequences, dormant state).
 *
 * One transaction on the wire, in clock cycles (LSB first everywhere):
 *   read:  8 header (host) | 1 turnaround | 3 ACK | 32 data + 1 parity (target) | 1 turnaround
 *   write: 8 header (host) | 1 turnaround | 3 ACK (target) | 1 turnaround | 32 data + 1 parity
 * 46 cycles each. Header = start 1, APnDP, RnW, A[2:3], parity of those four, stop 0, park 1.
 * A batch ends with idle cycles (host drives 0).
 *
 * What the engine does besides:
 *  - AP reads are posted on the wire; the caller gets them un-posted (the next AP read or an
 *    RDBUFF read brings each value, as CMSIS-DAP's DAP_Transfer does).
 *  - The DP's overrun detection (CTRL/STAT.ORUNDETECT) is set in every CTRL/STAT write, so
 *    that a WAIT or FAULT in the middle of a batch keeps the data phase (the transactions
 *    behind it stay aligned and are refused with FAULT instead of being misread).
 *  - WAIT: the engine re-synchronises (line reset, TARGETSEL when set, DPIDR read, ABORT
 *    ORUNERRCLR) and retries the transaction that waited, up to `wait_retries` times, then
 *    reports LODE_E_WAIT. FAULT is reported at once (LODE_E_FAULT; the ADI layer reads
 *    CTRL/STAT and clears the sticky flags). No ACK, an ACK that is not one of the three, or
 *    a read-data parity error: re-synchronised, then LODE_E_PROTOCOL; a transaction without
 *    ACK (it did not happen) is sent again, up to twice, when the target answered the
 *    re-synchronisation's DPIDR read.
 *  - CMSIS-DAP value match (LODE_DAP_MATCH_MASK / _VALUE): the engine ends the probe command
 *    at the matched read, compares on the host and re-reads up to `match_retries` times;
 *    nothing behind a failed match is sent (LODE_E_TIMEOUT).
 *  - SWD v2 multidrop: with a TARGETSEL value set, a TARGETSEL write (no ACK: the targets do
 *    not answer it) goes before the first transaction after every line reset.
 *  - Line resets, JTAG-to-SWD and the dormant wake-up (selection alert + SWD activation
 *    code) are queued and sent with the next batch.
 *  - The probe's reply skew: a probe whose input buffer holds the bit the target drove in
 *    cycle i+skew at position i (the J-Link: skew 1) says so in its I/O.
 *  - Pipelining: submitted units go into the batch being built and out together (one probe
 *    command for several units) when one of them is collected, when the next does not fit, or
 *    before anything synchronous: the probe's round trip is paid per command, not per unit. */
#ifndef LODE_PROBE_SWD_BITS_H
#define LODE_PROBE_SWD_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/dap.h"
#include "lode/log.h"

/* The probe's bit I/O. Bit i of a buffer is bit (i % 8) of byte i / 8. */
typedef struct lodei_swd_io_s {
    /* Clock `nbits` cycles: where dir bit i is 1 the probe drives SWDIO with out bit i,
     * else it lets go of it; `in` gets the sampled bits (see skew). */
    int (*io)(void *ctx, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t nbits);
    size_t max_bits;        /* the most cycles one io call takes (>= 256) */
    unsigned skew;          /* in bit i = the target's bit of cycle i + skew */
    /* nRESET, optional */
    int (*reset_pin)(void *ctx, bool asserted);
    void *ctx;
} lodei_swd_io_s;

typedef struct lodei_swd_stats_s {
    uint64_t batches;       /* io calls (probe commands with bits) */
    uint64_t bits;          /* cycles clocked */
    uint64_t transactions;  /* SWD transactions on the wire */
    uint64_t waits, faults, protocol_errors, parity_errors, resyncs, match_retries;
    unsigned max_inflight;  /* most submitted units merged into one command */
} lodei_swd_stats_s;

/* A hook that sees every batch (the VCD writer): dir/out as given to the probe, `in` the
 * sampled bits corrected for the skew (in[c] = the target's bit of cycle c). */
typedef void (*lodei_swd_tap_fn)(void *user, const uint8_t *dir, const uint8_t *out,
                                 const uint8_t *in, size_t nbits);

typedef struct lodei_swd_s lodei_swd_s;

/* `io` is copied; `log` (may be NULL) borrowed until free. */
int lodei_swd_new(const lodei_swd_io_s *io, const lode_log_s *log, lodei_swd_s **out);
void lodei_swd_free(lodei_swd_s *e); /* accepts NULL */

/* SWD v2 multidrop: select the target `value` (DP TARGETSEL) after every line reset. */
void lodei_swd_set_targetsel(lodei_swd_s *e, bool on, uint32_t value);
/* WAIT retries per transaction (default 64) and value-match re-reads (default 16). */
void lodei_swd_set_retries(lodei_swd_s *e, unsigned wait_retries, unsigned match_retries);
void lodei_swd_set_tap(lodei_swd_s *e, lodei_swd_tap_fn fn, void *user);

/* Queue the wake-up of any SWD target: line reset, JTAG-to-SWD, the dormant-to-SWD sequence
 * (>= 8 ones, the 128-bit selection alert, 4 idle cycles, the SWD activation code), then a
 * line reset and idle cycles. Sent with the next batch (or lodei_swd_flush). */
int lodei_swd_queue_wake(lodei_swd_s *e);
/* Send what is queued now. */
int lodei_swd_flush(lodei_swd_s *e);

/* The DAP operations (ctx = e; valid until free): transfer, swj_sequence, write_abort,
 * reset_pin (when the I/O has one), submit/collect/max_pending. */
void lodei_swd_dap_ops(lodei_swd_s *e, lode_dap_ops_s *ops);

void lodei_swd_stats(const lodei_swd_s *e, lodei_swd_stats_s *out);

/* The header byte of a request (LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(x)), as sent LSB
 * first: start, APnDP, RnW, A2, A3, parity, stop, park. */
uint8_t lodei_swd_header(uint8_t req);

#endif
