/* SPDX-License-Identifier: MIT */
/* The interface between a probe driver that moves ADIv5 DP/AP register transfers (CMSIS-DAP,
 * later ST-Link's DAP API, J-Link ...) and lode's ADIv5 layer (src/adi). Transfers are the
 * operations on the wire: APnDP, RnW, A[3:2], data. */
#ifndef LODE_DAP_H
#define LODE_DAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Request bits (same layout as the CMSIS-DAP transfer request byte). */
#define LODE_DAP_APNDP 0x01u
#define LODE_DAP_RNW 0x02u
#define LODE_DAP_A(x) ((uint8_t)((x) & 0x0Cu)) /* register address bits A[3:2] as 0,4,8,0xC */
/* CMSIS-DAP value match, for drivers with submit/collect only: a read the probe repeats until
 * (value & mask) == wdata (no data back; a miss fails the transfer and stops the command),
 * and the write of that mask (no wire transfer). */
#define LODE_DAP_MATCH_VALUE 0x10u
#define LODE_DAP_MATCH_MASK 0x20u

typedef struct lode_dap_xfer_s {
    uint8_t req;      /* LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(addr) */
    uint32_t wdata;   /* data for writes */
    uint32_t *rdata;  /* where a read's value goes (may be NULL); written only on success */
} lode_dap_xfer_s;

/* What a transfer batch ended with (the probe's view of the last ACK). */
typedef enum lode_dap_ack_e {
    LODE_DAP_ACK_OK = 1,
    LODE_DAP_ACK_WAIT = 2,
    LODE_DAP_ACK_FAULT = 4,
    LODE_DAP_ACK_NONE = 7,   /* no response: target not connected / protocol error */
} lode_dap_ack_e;

typedef struct lode_dap_ops_s {
    /* Execute `n` transfers in order, as few round trips as the probe allows. AP reads are
     * returned un-posted (the driver reads RDBUFF where the protocol needs it, as CMSIS-DAP
     * does internally). On return *done = transfers that completed with ACK OK, *ack = the
     * ACK of the first one that did not (or OK). Returns LODE_OK, LODE_E_WAIT (WAIT retries
     * exhausted), LODE_E_FAULT, LODE_E_PROTOCOL/LODE_E_IO/LODE_E_TIMEOUT. */
    int (*transfer)(void *ctx, lode_dap_xfer_s *xf, size_t n, size_t *done, lode_dap_ack_e *ack);
    /* Optional (NULL if absent): `n` reads or writes of one AP register (DRW) in one command
     * (CMSIS-DAP TransferBlock). `data` has n words. Same return convention. */
    int (*transfer_block)(void *ctx, uint8_t req, uint32_t *data, size_t n, size_t *done,
                          lode_dap_ack_e *ack);
    /* Clock `bits` cycles of SWDIO = data (LSB first): line reset, JTAG-to-SWD, idle. */
    int (*swj_sequence)(void *ctx, unsigned bits, const uint8_t *data);
    /* Write the DP ABORT register even when the DP answers WAIT (CMSIS-DAP WriteABORT). */
    int (*write_abort)(void *ctx, uint32_t value);
    /* Drive nRST (optional, NULL if the probe cannot). */
    int (*reset_pin)(void *ctx, bool asserted);
    /* Optional (NULL if absent): pipelined transfers. submit sends `n` transfers (at most
     * what one probe command holds, else LODE_E_RANGE) without waiting; at most
     * max_pending() are outstanding. collect waits for the oldest submitted list and returns
     * its outcome as transfer does; the read values land in its rdata pointers, which (and
     * `xf`) must stay valid until then. Any other operation first takes in every pending
     * reply (their outcomes are kept for collect). No WAIT retries beyond the probe's own. */
    int (*submit)(void *ctx, lode_dap_xfer_s *xf, size_t n);
    int (*collect)(void *ctx, size_t *done, lode_dap_ack_e *ack);
    unsigned (*max_pending)(void *ctx);
    /* true when submitted lists are not in flight on their own but merged: they go out
     * together, as one probe command, when the first is collected (a bit-level probe such as
     * the J-Link), so no round trip overlaps another one's. */
    bool submit_merges;
    /* true when scattered single 32-bit accesses in one transfer list cost a fixed number of
     * round trips, not one each (the ST-Link's RW_MISC batches): callers that would otherwise
     * spread them over several lists gain by queueing them together */
    bool batches;
    void *ctx;
} lode_dap_ops_s;

#ifdef __cplusplus
}
#endif
#endif
