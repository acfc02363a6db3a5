/* SPDX-License-Identifier: MIT */
/* The lode serial link: what semihosting gives a debug-probe board (the command-line arguments
 * in, the exit code out), over a plain UART beside the firmware's ordinary output. The wire
 * format is specified in docs/serial-link.md; the firmware side is firmware/include/lode_link.h.
 *
 *   frame   = DLE 'L' 'D' TYPE LEN_LO LEN_HI PAYLOAD[LEN] CRC_LO CRC_HI
 *             DLE = 0x10; CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over TYPE..PAYLOAD
 *   literal = DLE 'L' 'D' '='  (4 bytes, no length, no CRC): one DLE of output
 *
 * Board -> host: 'X' exit (LEN 4: the exit code, int32 LE), 'A' the arguments, please (LEN 4:
 * the firmware's room in bytes and in argv entries, u16 LE each). Host -> board: 'a' the
 * arguments (status 0, then every argument NUL-terminated; or status 1 with the room needed).
 * Everything that is not a whole valid frame is output, byte for byte.
 *
 * The decoder is a plain struct the caller owns (no allocation); the run loop works over any
 * lode stream (a serial port, a socket pair to a simulated board). Neither prints. */
#ifndef LODE_SERLINK_H
#define LODE_SERLINK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"
#include "lode/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LODE_SERLINK_DLE 0x10u
#define LODE_SERLINK_MAGIC1 'L'
#define LODE_SERLINK_MAGIC2 'D'
#define LODE_SERLINK_T_EXIT 'X'
#define LODE_SERLINK_T_ARGS_REQ 'A'
#define LODE_SERLINK_T_ARGS 'a'
#define LODE_SERLINK_T_LITERAL '='
#define LODE_SERLINK_HEADER 6u      /* DLE L D TYPE LEN_LO LEN_HI */
#define LODE_SERLINK_MAX_IN 12u     /* the longest board -> host frame: header + 4 + CRC */

typedef enum lode_serlink_event_e {
    LODE_SERLINK_EV_OUTPUT = 0,  /* data/len: the firmware's output */
    LODE_SERLINK_EV_EXIT,        /* exit_code */
    LODE_SERLINK_EV_ARGS_REQ,    /* args_room, argv_room */
} lode_serlink_event_e;

typedef struct lode_serlink_event_s {
    lode_serlink_event_e kind;
    const uint8_t *data;         /* OUTPUT: valid during the callback */
    size_t len;
    int32_t exit_code;
    uint16_t args_room, argv_room;
} lode_serlink_event_s;

typedef void (*lode_serlink_event_fn)(void *user, const lode_serlink_event_s *ev);

/* The decoder: the bytes of a frame begun but not yet complete. */
typedef struct lode_serlink_dec_s {
    uint8_t held[LODE_SERLINK_MAX_IN];
    size_t nheld;
} lode_serlink_dec_s;

void lode_serlink_dec_init(lode_serlink_dec_s *d);
/* Feed what came from the board; events in order. Output is passed on as soon as it cannot
 * be the start of a frame; a frame begun is held until it is complete or proves none. */
void lode_serlink_feed(lode_serlink_dec_s *d, const uint8_t *data, size_t len, lode_serlink_event_fn fn,
                       void *user);
/* Bytes held as a possible frame's start (the line went quiet in the middle of one). */
size_t lode_serlink_held(const lode_serlink_dec_s *d);
/* Give the held bytes out as output (the run's end). */
void lode_serlink_flush(lode_serlink_dec_s *d, lode_serlink_event_fn fn, void *user);

/* CRC-16/CCITT-FALSE (check value 0x29B1 for "123456789"). */
uint16_t lode_serlink_crc16(uint16_t crc, const uint8_t *data, size_t len);
/* A whole frame of `type` around payload into out (cap bytes); its length in *outlen.
 * LODE_E_RANGE: it does not fit (or payload > 65535 bytes). */
int lode_serlink_encode(uint8_t type, const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                        size_t *outlen);
/* The answer to an arguments request ('a'): the arguments when they fit the firmware's room
 * (their bytes with NULs <= args_room, argc <= argv_room), else status 1 with what is needed.
 * *fits tells which. LODE_E_RANGE: out too small. */
int lode_serlink_encode_args(const char *const *argv, size_t argc, uint16_t args_room, uint16_t argv_room,
                             uint8_t *out, size_t cap, size_t *outlen, bool *fits);

/* ---- the run loop: the board's serial line as a console ------------------------------------ */

typedef enum lode_serlink_end_e {
    LODE_SERLINK_EXITED = 0,     /* the firmware sent its exit code */
    LODE_SERLINK_TIMEOUT,
    LODE_SERLINK_INTERRUPTED,    /* *interrupt became non-zero */
    LODE_SERLINK_LOST,           /* the line closed (the port vanished, the board went away) */
} lode_serlink_end_e;

typedef struct lode_serlink_run_config_s {
    lode_stream_s *stream;       /* the board's serial line (borrowed) */
    const char *const *argv;     /* the firmware's arguments, argv[0] its name; may be NULL */
    size_t argc;
    /* the firmware's output (may be NULL) */
    void (*output)(void *user, const uint8_t *data, size_t len);
    /* input for the board, without blocking: bytes into buf (at most cap), 0 when none (yet);
     * asked only once the board has sent its first byte (before that the application may not
     * be running: a bootloader or a reset would drop them). May be NULL. */
    long (*input)(void *user, uint8_t *buf, size_t cap);
    void *user;
    uint64_t timeout_us;         /* 0: none; counted on now_us */
    /* the board's clock for the timeout and res->us (a simulated board's simulated time);
     * NULL: the host's monotonic clock (a real board's time is the wall's) */
    uint64_t (*now_us)(void *user);
    void *clock_user;
    volatile sig_atomic_t *interrupt;
    const lode_log_s *log;       /* a request whose arguments do not fit: a warning */
} lode_serlink_run_config_s;

typedef struct lode_serlink_result_s {
    lode_serlink_end_e end;
    int32_t exit_code;           /* EXITED */
    uint64_t bytes_out;          /* output bytes passed on */
    unsigned args_requests;      /* requests answered */
    bool args_refused;           /* a request had too little room for the arguments */
    uint64_t us;                 /* how long the run took */
} lode_serlink_result_s;

/* Serve the line until the firmware exits, the timeout, the interrupt or the line's end.
 * LODE_OK with *res filled in every one of those cases; LODE_E_IO: writing to the board
 * failed (logged). */
int lode_serlink_run(const lode_serlink_run_config_s *cfg, lode_serlink_result_s *res);

#ifdef __cplusplus
}
#endif
#endif
