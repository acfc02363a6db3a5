/* SPDX-License-Identifier: MIT */
/* STK500 protocol version 1 (Atmel AVR061) as AVR serial bootloaders speak it (optiboot,
 * ATmegaBOOT): the subset they implement. A command is `cmd [args] CRC_EOP`; the answer is
 * `INSYNC [data] OK`. Flash addresses are word addresses (LOAD_ADDRESS, little-endian), page
 * lengths big-endian. The codec (encode/decode) is pure; the client runs it over a lode stream
 * and never knows what kind of stream it is. Private to liblode. */
#ifndef LODE_BOOT_STK500V1_H
#define LODE_BOOT_STK500V1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "lode/log.h"
#include "lode/stream.h"

#define LODEI_STK1_OK 0x10
#define LODEI_STK1_FAILED 0x11
#define LODEI_STK1_INSYNC 0x14
#define LODEI_STK1_NOSYNC 0x15
#define LODEI_STK1_EOP 0x20

#define LODEI_STK1_GET_SYNC 0x30
#define LODEI_STK1_GET_PARAMETER 0x41
#define LODEI_STK1_ENTER_PROGMODE 0x50
#define LODEI_STK1_LEAVE_PROGMODE 0x51
#define LODEI_STK1_LOAD_ADDRESS 0x55
#define LODEI_STK1_PROG_PAGE 0x64
#define LODEI_STK1_READ_PAGE 0x74
#define LODEI_STK1_READ_SIGN 0x75

#define LODEI_STK1_PARAM_SW_MAJOR 0x81
#define LODEI_STK1_PARAM_SW_MINOR 0x82

#define LODEI_STK1_MAX_PAGE 256

/* Encode `cmd args... EOP` into buf (cap bytes). Returns the length, 0 if it does not fit. */
size_t lodei_stk1_encode(uint8_t *buf, size_t cap, uint8_t cmd, const uint8_t *args, size_t nargs);

/* Outcome of decoding what arrived for one command that answers ndata data bytes. */
typedef enum lodei_stk1_reply_e {
    LODEI_STK1_R_DONE = 0,   /* INSYNC, ndata bytes, OK: data at buf+1 */
    LODEI_STK1_R_MORE,       /* a correct beginning: *need = bytes still to come */
    LODEI_STK1_R_NOSYNC,     /* the bootloader said NOSYNC (it did not see CRC_EOP) */
    LODEI_STK1_R_FAILED,     /* INSYNC ... FAILED: the command was refused */
    LODEI_STK1_R_GARBAGE,    /* anything else: wrong baud, wrong protocol, lost bytes */
} lodei_stk1_reply_e;

/* Decode the first n bytes received for a command (at most ndata + 2 are looked at). */
lodei_stk1_reply_e lodei_stk1_decode(const uint8_t *buf, size_t n, size_t ndata, size_t *need);

/* ---- the client ------------------------------------------------------------------------------ */

typedef struct lodei_stk1_s {
    lode_stream_s *s;        /* borrowed */
    const lode_log_s *log;
    int timeout_ms;          /* per reply (0: 1000) */
    lodei_boot_clock_s clock; /* the board's, when it has one: waits count its time */
    bool after_sync;         /* answers to earlier sync tries may still come (14 10 pairs, or the
                                10 of one): the next READ_SIGN skips them (a signature never
                                starts with 0x10) */
} lodei_stk1_s;

/* What a failed sync saw (for the caller's one-line message). */
typedef enum lodei_stk1_sync_e {
    LODEI_STK1_SYNC_OK = 0,
    LODEI_STK1_SYNC_SILENT,  /* no byte at all */
    LODEI_STK1_SYNC_ECHO,    /* our own bytes came back: a loopback, or a terminal echoing */
    LODEI_STK1_SYNC_GARBAGE, /* bytes, but not the protocol's: wrong baud or another protocol */
} lodei_stk1_sync_e;

/* GET_SYNC up to `tries` times (each waiting wait_ms); stray answers to earlier tries are
 * skipped by the READ_SIGN that must follow. LODE_OK, or
 * LODE_E_NO_DEVICE with *seen (and the first bytes seen, up to 8, in first/nfirst) set. */
int lodei_stk1_sync(lodei_stk1_s *c, unsigned tries, int wait_ms, lodei_stk1_sync_e *seen, uint8_t first[8],
                    size_t *nfirst);
/* One command: send cmd+args+EOP, expect ndata bytes back in data. LODE_E_PROTOCOL (logged)
 * for a malformed answer, LODE_E_FLASH for FAILED, LODE_E_TIMEOUT when it stops. */
int lodei_stk1_command(lodei_stk1_s *c, uint8_t cmd, const uint8_t *args, size_t nargs, uint8_t *data,
                       size_t ndata);
int lodei_stk1_signature(lodei_stk1_s *c, uint8_t sig[3]);
int lodei_stk1_get_parameter(lodei_stk1_s *c, uint8_t param, uint8_t *value);
/* word: the flash word address (byte address / 2), or the EEPROM byte address */
int lodei_stk1_load_address(lodei_stk1_s *c, uint16_t word);
/* memtype 'F' (flash) or 'E' (EEPROM); len 1..256 */
int lodei_stk1_prog_page(lodei_stk1_s *c, char memtype, const uint8_t *data, size_t len);
int lodei_stk1_read_page(lodei_stk1_s *c, char memtype, uint8_t *data, size_t len);
int lodei_stk1_leave(lodei_stk1_s *c);
/* LOAD_ADDRESS addr and PROG_PAGE / READ_PAGE sent in one write, both answers read */
int lodei_stk1_load_prog(lodei_stk1_s *c, uint16_t addr, char memtype, const uint8_t *data, size_t len);
int lodei_stk1_load_read(lodei_stk1_s *c, uint16_t addr, char memtype, uint8_t *data, size_t len);

#endif
