/* SPDX-License-Identifier: MIT */
/* AVR109 ("butterfly", Atmel AVR109 self-programming application note) as Caterina and other
 * AVR109 bootloaders speak it: one ASCII command letter with fixed binary arguments; a command
 * that only acts answers CR (0x0D), one the bootloader does not know '?'; the others answer a
 * fixed number of bytes. Flash addresses are word addresses, EEPROM addresses byte addresses
 * (both big-endian after 'A'); block lengths big-endian. The codec (what a reply is) is pure;
 * the client runs it over a lode stream. Private to liblode. */
#ifndef LODE_BOOT_AVR109_H
#define LODE_BOOT_AVR109_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "lode/log.h"
#include "lode/stream.h"

#define LODEI_AVR109_CR 0x0D
#define LODEI_AVR109_UNKNOWN '?'
#define LODEI_AVR109_ESC 0x1B
#define LODEI_AVR109_ID_LEN 7
#define LODEI_AVR109_MAX_BLOCK 1024 /* lode moves at most this much per 'B'/'g' */

/* What one command answers. */
typedef enum lodei_avr109_kind_e {
    LODEI_AVR109_K_CR = 0,   /* CR: done ('A', 'B', 'e', 'E', 'P', 'L', 'T') */
    LODEI_AVR109_K_FIXED,    /* exactly n bytes ('S' 7, 'V' 2, 'p' 1, 'a' 1, 's' 3, 'g' len); '?'
                                first means unknown for the ones with text answers */
    LODEI_AVR109_K_BLOCK,    /* 'b': 'Y' hi lo (block size), or 'N' (no block mode) */
} lodei_avr109_kind_e;

typedef enum lodei_avr109_reply_e {
    LODEI_AVR109_R_DONE = 0, /* complete: n bytes of data at buf */
    LODEI_AVR109_R_MORE,     /* a correct beginning: *need = bytes still to come */
    LODEI_AVR109_R_UNKNOWN,  /* '?': the bootloader does not know the command */
    LODEI_AVR109_R_GARBAGE,  /* anything else: wrong baud, wrong protocol, lost bytes */
} lodei_avr109_reply_e;

/* The kind of reply `cmd` gets and, for FIXED, its length (len: the 'g' block length). */
lodei_avr109_kind_e lodei_avr109_reply_kind(uint8_t cmd, size_t len, size_t *n);
/* Decode the first n bytes received for cmd (at most the reply's length is looked at). *len_out
 * (may be NULL) is the reply's length once DONE. For 'b', DONE data is 'Y' hi lo or 'N'. */
lodei_avr109_reply_e lodei_avr109_decode(uint8_t cmd, size_t len, const uint8_t *buf, size_t n, size_t *need,
                                         size_t *len_out);

/* ---- the client ------------------------------------------------------------------------------ */

typedef struct lodei_avr109_s {
    lode_stream_s *s;        /* borrowed */
    const lode_log_s *log;
    int timeout_ms;          /* per reply (0: 1000) */
    lodei_boot_clock_s clock; /* the board's, when it has one: waits count its time */
} lodei_avr109_s;

typedef enum lodei_avr109_sync_e {
    LODEI_AVR109_SYNC_OK = 0,
    LODEI_AVR109_SYNC_SILENT,  /* no byte at all */
    LODEI_AVR109_SYNC_ECHO,    /* our own bytes came back */
    LODEI_AVR109_SYNC_GARBAGE, /* bytes, but no software id */
} lodei_avr109_sync_e;

/* ESC then 'S' up to `tries` times (each waiting wait_ms for the 7-byte id): id (8 bytes, NUL
 * terminated) on LODE_OK, else LODE_E_NO_DEVICE with *seen and the first bytes seen (up to 8). */
int lodei_avr109_sync(lodei_avr109_s *c, unsigned tries, int wait_ms, char id[8], lodei_avr109_sync_e *seen,
                      uint8_t first[8], size_t *nfirst);
/* One command with its arguments; its answer (FIXED: n bytes, BLOCK: 1 or 3) into data (cap
 * bytes; NULL for CR). LODE_E_UNSUPPORTED for '?' (logged unless quiet_unknown),
 * LODE_E_PROTOCOL (logged) for a malformed answer, LODE_E_TIMEOUT when it stops, LODE_E_IO when
 * the port fails. *got: the answer's length. */
int lodei_avr109_command(lodei_avr109_s *c, uint8_t cmd, const uint8_t *args, size_t nargs, size_t len,
                         uint8_t *data, size_t cap, size_t *got, bool quiet_unknown);
/* Several commands written at once (their bytes back to back in out), then their CRs read:
 * pipelining for blocks. ncmds CRs expected. */
int lodei_avr109_send_cr_batch(lodei_avr109_s *c, const uint8_t *out, size_t nout, size_t ncmds, const char *what);
int lodei_avr109_set_address(lodei_avr109_s *c, uint16_t addr);
/* mem 'F' or 'E'; len <= LODEI_AVR109_MAX_BLOCK */
int lodei_avr109_block_read(lodei_avr109_s *c, char mem, uint8_t *data, size_t len);
/* The bytes of a block write ('B' hi lo mem data) into out (cap); 0 when it does not fit. */
size_t lodei_avr109_encode_block(uint8_t *out, size_t cap, char mem, const uint8_t *data, size_t len);

#endif
