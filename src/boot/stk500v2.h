/* SPDX-License-Identifier: MIT */
/* STK500 protocol version 2 (Atmel AVR068) as the Arduino Mega 2560's "wiring" bootloader
 * speaks it. A message is MESSAGE_START 0x1B, a sequence number, the body size (2 bytes,
 * big-endian), TOKEN 0x0E, the body (command id + arguments; answers: command id + status +
 * data), and a checksum (XOR of every byte before it). The codec (encode, a byte-at-a-time
 * reply decoder) is pure; the client runs it over a lode stream. Private to liblode. */
#ifndef LODE_BOOT_STK500V2_H
#define LODE_BOOT_STK500V2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "lode/log.h"
#include "lode/stream.h"

#define LODEI_STK2_START 0x1B
#define LODEI_STK2_TOKEN 0x0E
#define LODEI_STK2_MAX_BODY 300u /* the largest body lode sends or accepts (a 256-byte page + 10) */

#define LODEI_STK2_SIGN_ON 0x01
#define LODEI_STK2_SET_PARAMETER 0x02
#define LODEI_STK2_GET_PARAMETER 0x03
#define LODEI_STK2_LOAD_ADDRESS 0x06
#define LODEI_STK2_ENTER_PROGMODE_ISP 0x10
#define LODEI_STK2_LEAVE_PROGMODE_ISP 0x11
#define LODEI_STK2_CHIP_ERASE_ISP 0x12
#define LODEI_STK2_PROGRAM_FLASH_ISP 0x13
#define LODEI_STK2_READ_FLASH_ISP 0x14
#define LODEI_STK2_PROGRAM_EEPROM_ISP 0x15
#define LODEI_STK2_READ_EEPROM_ISP 0x16
#define LODEI_STK2_READ_SIGNATURE_ISP 0x1B

#define LODEI_STK2_STATUS_OK 0x00
#define LODEI_STK2_STATUS_FAILED 0xC0

#define LODEI_STK2_PARAM_HW_VER 0x90
#define LODEI_STK2_PARAM_SW_MAJOR 0x91
#define LODEI_STK2_PARAM_SW_MINOR 0x92

/* LOAD_ADDRESS bit 31: the address has an extended byte (the bootloader loads RAMPZ) */
#define LODEI_STK2_ADDR_EXTENDED 0x80000000u

/* Frame `body` (len 1..LODEI_STK2_MAX_BODY) with sequence number seq into buf. Returns the
 * length (len + 6), 0 if it does not fit or the body is empty or too long. */
size_t lodei_stk2_encode(uint8_t *buf, size_t cap, uint8_t seq, const uint8_t *body, size_t len);

/* The reply decoder: fed one byte at a time. Bytes before a MESSAGE_START are skipped (and
 * counted); a bad token, an oversized body or a wrong checksum is reported and the decoder
 * looks for the next MESSAGE_START. */
typedef enum lodei_stk2_rx_e {
    LODEI_STK2_RX_MORE = 0,   /* keep feeding */
    LODEI_STK2_RX_FRAME,      /* a whole message: seq, body, len */
    LODEI_STK2_RX_BAD_TOKEN,  /* the fifth byte was not 0x0E */
    LODEI_STK2_RX_TOO_LONG,   /* the size field exceeds LODEI_STK2_MAX_BODY (or is 0) */
    LODEI_STK2_RX_BAD_SUM,    /* the checksum does not match */
} lodei_stk2_rx_e;

typedef struct lodei_stk2_rx_s {
    int state;                /* 0: waiting for START */
    uint8_t seq;
    size_t size, got;
    uint8_t sum;
    uint8_t body[LODEI_STK2_MAX_BODY];
    size_t skipped;           /* bytes seen outside a message */
} lodei_stk2_rx_s;

void lodei_stk2_rx_init(lodei_stk2_rx_s *rx);
lodei_stk2_rx_e lodei_stk2_rx_feed(lodei_stk2_rx_s *rx, uint8_t byte);

/* ---- the client ------------------------------------------------------------------------------ */

typedef struct lodei_stk2_s {
    lode_stream_s *s;         /* borrowed */
    const lode_log_s *log;
    int timeout_ms;           /* per reply (0: 1000) */
    lodei_boot_clock_s clock; /* the board's, when it has one: waits count its time */
    uint8_t seq;              /* of the next command */
} lodei_stk2_s;

/* One command: send `body`, receive the answer with the same sequence number and command id
 * into ans (cap bytes; *nans its length, >= 2: id, status, data...). A STATUS other than OK
 * is LODE_E_FLASH unless may_fail (then the caller looks at ans[1]); LODE_E_PROTOCOL for a
 * malformed answer (logged), LODE_E_TIMEOUT when it stops. */
int lodei_stk2_command(lodei_stk2_s *c, const uint8_t *body, size_t len, uint8_t *ans, size_t cap, size_t *nans,
                       bool may_fail);

/* What a failed sign-on saw. */
typedef enum lodei_stk2_sync_e {
    LODEI_STK2_SYNC_OK = 0,
    LODEI_STK2_SYNC_SILENT,   /* no byte at all */
    LODEI_STK2_SYNC_ECHO,     /* our own bytes came back */
    LODEI_STK2_SYNC_GARBAGE,  /* bytes, but no STK500v2 message: wrong baud or protocol */
    LODEI_STK2_SYNC_STK500V1, /* STK500v1 answers (14 10 / 15): an optiboot board */
} lodei_stk2_sync_e;

/* SIGN_ON up to `tries` times (wait_ms each): LODE_OK with the programmer's name in
 * name (cap bytes), or LODE_E_NO_DEVICE with *seen and the first bytes seen (up to 8). */
int lodei_stk2_sign_on(lodei_stk2_s *c, unsigned tries, int wait_ms, char *name, size_t cap,
                       lodei_stk2_sync_e *seen, uint8_t first[8], size_t *nfirst);
int lodei_stk2_get_parameter(lodei_stk2_s *c, uint8_t param, uint8_t *value);
int lodei_stk2_signature(lodei_stk2_s *c, uint8_t sig[3]);
int lodei_stk2_enter_progmode(lodei_stk2_s *c);
int lodei_stk2_leave_progmode(lodei_stk2_s *c);
/* the word address for flash (byte address / 2, LODEI_STK2_ADDR_EXTENDED set on parts with
 * RAMPZ), the byte address for EEPROM writes */
int lodei_stk2_load_address(lodei_stk2_s *c, uint32_t addr);
/* eeprom false: flash (len even); 1..256 bytes */
int lodei_stk2_program(lodei_stk2_s *c, bool eeprom, const uint8_t *data, size_t len);
int lodei_stk2_read(lodei_stk2_s *c, bool eeprom, uint8_t *data, size_t len);

#endif
