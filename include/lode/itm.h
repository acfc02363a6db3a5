/* SPDX-License-Identifier: MIT */
/* ITM/DWT trace packet decoder: the byte stream an ITM sends through SWO (or a TPIU after
 * deformatting), decoded as the ARMv7-M Architecture Reference Manual, Appendix D4 "Debug ITM
 * and DWT Packet Protocol" describes it.
 *
 * The decoder is a streaming state machine with no allocation: feed it bytes in chunks of any
 * size, and it calls back once per complete packet. A packet split across two feeds decodes
 * exactly as if it came in one. The stream is assumed to start at a packet boundary.
 *
 * Bytes that do not follow the protocol are never an error of lode_itm_feed(): they come out
 * as LODE_ITM_PKT_INVALID packets (a reserved header, a malformed synchronization or an
 * over-long continuation payload). After one, the decoder has lost packet alignment and
 * resynchronises as lode_itm_resync_e says (by default it waits for a synchronization packet
 * and reports the skipped bytes as one LODE_ITM_PKT_DISCARD packet). */
#ifndef LODE_ITM_H
#define LODE_ITM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lode_itm_kind_e {
    LODE_ITM_PKT_SYNC = 0,        /* D4.2.1: >= 47 zero bits then a one (00 00 00 00 00 80) */
    LODE_ITM_PKT_OVERFLOW,        /* D4.2.3: 0x70, trace data was lost */
    LODE_ITM_PKT_LOCAL_TS,        /* D4.2.4: local timestamp, format 1 (ts, tc) or 2 (ts 1..6) */
    LODE_ITM_PKT_GLOBAL_TS1,      /* D4.2.5: global timestamp low bits (ts, ts_bits, wrap, clkch) */
    LODE_ITM_PKT_GLOBAL_TS2,      /* D4.2.5: global timestamp bits [63:26] (ts, ts_bits) */
    LODE_ITM_PKT_EXTENSION,       /* D4.2.6: value = EX, sh; SH=0 sets the stimulus port page */
    LODE_ITM_PKT_INSTRUMENTATION, /* D4.2.8: software source: port, size, value, data[] */
    LODE_ITM_PKT_EVENT_COUNTER,   /* D4.3.1: DWT counter wrap; value = LODE_ITM_EVT_* flags */
    LODE_ITM_PKT_EXCEPTION,       /* D4.3.2: exception (number, fn) */
    LODE_ITM_PKT_PC_SAMPLE,       /* D4.3.3: periodic PC sample: value = PC, or sleep */
    LODE_ITM_PKT_DATA_PC,         /* D4.3.4: data trace PC value: comparator, value = PC */
    LODE_ITM_PKT_DATA_ADDR,       /* D4.3.4: data trace address offset: comparator, value */
    LODE_ITM_PKT_DATA_VALUE,      /* D4.3.4: data trace data value: comparator, write, size, value */
    LODE_ITM_PKT_HARDWARE,        /* hardware source packet with a reserved discriminator id
                                   * (port) or a size its id does not allow: size, value */
    LODE_ITM_PKT_INVALID,         /* bytes that break the protocol: reason, header, len */
    LODE_ITM_PKT_DISCARD,         /* len bytes skipped while waiting for a synchronization */
} lode_itm_kind_e;

/* Why a LODE_ITM_PKT_INVALID packet is invalid. */
typedef enum lode_itm_invalid_e {
    LODE_ITM_INV_NONE = 0,
    LODE_ITM_INV_RESERVED,   /* a reserved header encoding (header) */
    LODE_ITM_INV_BAD_SYNC,   /* a run of zero bytes not ending a synchronization packet */
    LODE_ITM_INV_TOO_LONG,   /* a continuation payload longer than its packet allows */
    LODE_ITM_INV_TRUNCATED,  /* the stream ended inside a packet (lode_itm_flush) */
} lode_itm_invalid_e;

/* Local timestamp TC field (D4.2.4), how the timestamp relates to the packet it stamps. */
typedef enum lode_itm_tc_e {
    LODE_ITM_TC_SYNC = 0,        /* exact: timestamp and trace packet are synchronous */
    LODE_ITM_TC_TS_DELAYED = 1,  /* the timestamp is delayed relative to the trace data */
    LODE_ITM_TC_PKT_DELAYED = 2, /* the trace packet is delayed relative to its event */
    LODE_ITM_TC_BOTH_DELAYED = 3,
} lode_itm_tc_e;

/* Exception trace function (D4.3.2). */
typedef enum lode_itm_exc_fn_e {
    LODE_ITM_EXC_RESERVED = 0,
    LODE_ITM_EXC_ENTERED = 1,
    LODE_ITM_EXC_EXITED = 2,
    LODE_ITM_EXC_RETURNED = 3,
} lode_itm_exc_fn_e;

/* Event counter packet flags (D4.3.1): which DWT counters wrapped. */
enum {
    LODE_ITM_EVT_CPI = 1u << 0,
    LODE_ITM_EVT_EXC = 1u << 1,
    LODE_ITM_EVT_SLEEP = 1u << 2,
    LODE_ITM_EVT_LSU = 1u << 3,
    LODE_ITM_EVT_FOLD = 1u << 4,
    LODE_ITM_EVT_CYC = 1u << 5,
};

/* One decoded packet. Fields not listed for a kind are zero. */
typedef struct lode_itm_packet_s {
    lode_itm_kind_e kind;
    uint64_t offset;       /* stream offset of the packet's first byte */
    uint64_t len;          /* bytes in the packet, header included (sync: all its zero bytes) */
    uint8_t header;        /* first byte */
    /* source packets */
    unsigned port;         /* instrumentation: page * 32 + address; hardware: discriminator id */
    unsigned comparator;   /* data trace: DWT comparator index 0..3 */
    uint8_t size;          /* payload bytes: 1, 2 or 4 */
    uint8_t data[4];       /* payload bytes as sent (size of them) */
    uint32_t value;        /* payload as a little-endian number; see the kinds above */
    bool write;            /* data value: true for a write, false for a read */
    bool sleep;            /* PC sample: the core was sleeping (no PC) */
    unsigned exception;    /* exception number 0..511 */
    lode_itm_exc_fn_e fn;
    /* timestamps and extension */
    uint64_t ts;           /* local: delta; global: the bits this packet carries (unshifted) */
    uint8_t ts_bits;       /* global: how many bits of ts are valid */
    lode_itm_tc_e tc;      /* local timestamp format 1 TC; 0 for format 2 */
    bool wrap, clkch;      /* GTS1 (4-byte form): high bits changed / clock changed */
    uint64_t global_ts;    /* global timestamp as assembled from the GTS1/GTS2 seen so far */
    bool sh;               /* extension: SH bit (hardware source) */
    lode_itm_invalid_e reason;
} lode_itm_packet_s;

/* Called once per packet; the packet is valid only during the call. */
typedef void (*lode_itm_packet_fn)(void *user, const lode_itm_packet_s *pkt);

/* What the decoder does after an invalid byte sequence. */
typedef enum lode_itm_resync_e {
    /* Discard everything up to the next synchronization packet (D4.2.1), reported as one
     * LODE_ITM_PKT_DISCARD. The only safe choice: packet boundaries are unknown. */
    LODE_ITM_RESYNC_SYNC = 0,
    /* Take the next byte as a header. For streams without periodic synchronization packets
     * (DWT_CTRL.SYNCTAP off), where waiting would lose everything; may decode garbage. */
    LODE_ITM_RESYNC_NEXT = 1,
} lode_itm_resync_e;

/* Decoder state: the caller owns it (stack or embedded); fields are private. */
typedef struct lode_itm_decoder_s {
    int state;
    lode_itm_resync_e resync;
    uint8_t hdr;
    uint8_t buf[8];        /* payload bytes so far */
    uint8_t n;             /* payload bytes in buf */
    uint8_t need;          /* fixed payload length, or the continuation maximum */
    uint64_t offset;       /* stream bytes consumed */
    uint64_t start;        /* offset of the packet being assembled */
    uint64_t zeros;        /* length of the current run of zero bytes */
    uint64_t discarded;    /* bytes skipped while unsynchronised */
    uint64_t discard_start;
    unsigned page;         /* stimulus port page from the last extension packet */
    uint64_t global_ts;
} lode_itm_decoder_s;

/* Reset `d` to the start of a stream (page 0, global timestamp 0, resync by sync packet). */
void lode_itm_decoder_init(lode_itm_decoder_s *d);
void lode_itm_decoder_set_resync(lode_itm_decoder_s *d, lode_itm_resync_e mode);

/* Decode `len` bytes, calling `cb` for each packet they complete. Returns LODE_OK, or
 * LODE_E_INVALID_ARG (d or cb NULL, data NULL with len > 0). */
int lode_itm_feed(lode_itm_decoder_s *d, const uint8_t *data, size_t len, lode_itm_packet_fn cb,
                  void *user);

/* End of stream: report a packet left incomplete (LODE_ITM_PKT_INVALID, TRUNCATED) or bytes
 * still being discarded (LODE_ITM_PKT_DISCARD), then return to the packet-boundary state (page,
 * global timestamp and resync mode are kept). Returns LODE_OK or LODE_E_INVALID_ARG. */
int lode_itm_flush(lode_itm_decoder_s *d, lode_itm_packet_fn cb, void *user);

/* One line of text (no newline) describing `p`, e.g. "instrumentation port 1: 4 bytes
 * 0x12345678". Like snprintf: always NUL-terminated when len > 0; returns the length the
 * full text needs. */
size_t lode_itm_describe(const lode_itm_packet_s *p, char *buf, size_t len);

/* "sync", "overflow", "local_ts", ... (stable names, for JSON); "?" for an unknown kind. */
const char *lode_itm_kind_name(lode_itm_kind_e kind);

/* "Reset", "NMI", "HardFault", ... "SysTick", "IRQ" for >= 16, "reserved" otherwise. */
const char *lode_itm_exception_name(unsigned number);

#ifdef __cplusplus
}
#endif
#endif
