/* SPDX-License-Identifier: MIT */
/* GDB Remote Serial Protocol framing, as the GDB manual's "Remote Protocol" appendix describes
 * it: packets `$data#cs`, notifications `%data#cs`, acknowledgements '+' / '-', the interrupt
 * byte 0x03, '}' escapes and '*' run-length encoding. Transport-agnostic: no I/O here.
 *
 * Decoder: a streaming state machine with no allocation (its buffer is inside the struct).
 * Feed it bytes in chunks of any size; it calls back once per event, and any chunking of the
 * same bytes gives the same events. Frame data is decoded in the order the manual implies:
 * a '*' repeats the previous transmitted character (count = character - 29), then a '}'
 * makes the next character the original byte XOR 0x20. The checksum is the sum, modulo 256,
 * of the transmitted characters between the start character and '#' (two hex digits,
 * either case, after '#').
 *
 * Framing rules (a raw '$' or '#' never belongs to the data: senders escape them):
 *  - between frames: '$' starts a packet, '%' a notification, '+' / '-' / 0x03 are events,
 *    every other byte is ignored (line noise);
 *  - inside a frame, a '$' abandons the frame without an event and starts a new packet
 *    (resynchronisation after a dropped connection or lost bytes); 0x03, '+', '-', '%' are
 *    data;
 *  - a frame whose decoded data would exceed max_packet is reported at once (OVERSIZED) and
 *    skipped up to and including its checksum, or up to the next '$'. */
#ifndef LODE_RSP_H
#define LODE_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest decoded packet the decoder can hold (its buffer size). */
#define LODE_RSP_MAX_PACKET 16384u

/* Bytes lode_rsp_encode() needs at most for a payload of `len` bytes: '$', every byte
 * escaped, '#', two checksum digits. */
#define LODE_RSP_ENCODED_MAX(len) (2u * (size_t)(len) + 4u)

#define LODE_RSP_INTERRUPT 0x03u /* Ctrl-C: the interrupt request GDB sends between packets */
#define LODE_RSP_ESCAPE 0x7Du    /* '}' */

typedef enum lode_rsp_event_type_e {
    LODE_RSP_EV_PACKET = 0,   /* a packet with a good checksum: data, len */
    LODE_RSP_EV_NOTIFICATION, /* a notification (%...#cs) with a good checksum: data, len */
    LODE_RSP_EV_ACK,          /* '+' between frames */
    LODE_RSP_EV_NACK,         /* '-' between frames: resend the last packet */
    LODE_RSP_EV_INTERRUPT,    /* 0x03 between frames */
    LODE_RSP_EV_BAD_CHECKSUM, /* checksum wrong or not two hex digits: answer '-' (unless
                               * `notification`, which is never acknowledged) */
    LODE_RSP_EV_OVERSIZED,    /* decoded data longer than max_packet: frame dropped */
    LODE_RSP_EV_MALFORMED,    /* good checksum, but a '*' with nothing to repeat, a repeat
                               * count outside ' '..'~', or a '}' / '*' right before '#' */
} lode_rsp_event_type_e;

typedef struct lode_rsp_event_s {
    lode_rsp_event_type_e type;
    bool notification;    /* the frame started with '%' (frame events only) */
    /* PACKET / NOTIFICATION: the decoded data, NUL-terminated (the NUL is not counted).
     * BAD_CHECKSUM / MALFORMED: what had been decoded, for diagnostics. Otherwise NULL / 0.
     * Valid only during the callback. */
    const uint8_t *data;
    size_t len;
    uint8_t checksum_sent;     /* BAD_CHECKSUM: the value of the digits (0 if not hex) */
    uint8_t checksum_computed; /* BAD_CHECKSUM: the sum of the frame's characters */
} lode_rsp_event_s;

typedef void (*lode_rsp_event_fn)(void *user, const lode_rsp_event_s *ev);

/* The decoder. The caller owns it (e.g. on the stack or inside a session); all fields are
 * private. Re-initialise it to drop a half-received frame (e.g. after a reconnect). */
typedef struct lode_rsp_decoder_s {
    size_t max_packet;
    size_t len;        /* decoded bytes of the current frame */
    uint8_t state;
    uint8_t sum;       /* running checksum of the current frame */
    uint8_t cs_hi;     /* first checksum digit's value, 0xFF if it was not hex */
    uint8_t last_raw;  /* previous transmitted data character (for '*') */
    bool have_last;
    bool escape;       /* a '}' is pending */
    bool notification;
    bool malformed;
    bool oversized;
    uint8_t buf[LODE_RSP_MAX_PACKET + 1]; /* + NUL */
} lode_rsp_decoder_s;

/* Set up `d` between frames. max_packet: the largest decoded packet accepted, 1 ..
 * LODE_RSP_MAX_PACKET, or 0 for LODE_RSP_MAX_PACKET. LODE_E_INVALID_ARG otherwise. */
int lode_rsp_decoder_init(lode_rsp_decoder_s *d, size_t max_packet);

/* True when `d` is between frames (no partial frame pending). */
bool lode_rsp_decoder_idle(const lode_rsp_decoder_s *d);

/* Decode `len` bytes, calling `cb` for every event in order. `in` may be NULL if len is 0.
 * Bytes never make this fail: LODE_E_INVALID_ARG only for a NULL d / cb / in. */
int lode_rsp_feed(lode_rsp_decoder_s *d, const uint8_t *in, size_t len, lode_rsp_event_fn cb,
                  void *user);

/* Sum modulo 256 of `len` bytes (the frame checksum of already-encoded data). */
uint8_t lode_rsp_checksum(const uint8_t *data, size_t len);

/* Frame `payload` as `$...#cs`, escaping '#', '$', '}' and '*' (no run-length encoding).
 * Writes *out_len bytes to out (no NUL). LODE_E_NOMEM if cap is too small (at most
 * LODE_RSP_ENCODED_MAX(len) is needed). */
int lode_rsp_encode(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                    size_t *out_len);

/* The same as a notification: `%...#cs`. */
int lode_rsp_encode_notification(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                                 size_t *out_len);

/* Lowercase hex: writes exactly 2 * len characters (no NUL). LODE_E_NOMEM if cap < 2 * len. */
int lode_rsp_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len);

/* Hex (either case) to bytes: len must be even and every character a hex digit
 * (LODE_E_PROTOCOL otherwise); LODE_E_NOMEM if cap < len / 2. Nothing is written to out
 * unless the whole input is valid. */
int lode_rsp_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
