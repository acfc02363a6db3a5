/* SPDX-License-Identifier: MIT */
/* The STM32 system bootloader's USART protocol (ST AN3155). The host sends 0x7F once (the
 * bootloader measures the baud from it) and gets ACK 0x79; every command is its code and the
 * code's complement; the bootloader answers ACK or NACK 0x1F at each step. Addresses are four
 * bytes big-endian followed by their XOR; data blocks are N (= bytes - 1), the bytes and the XOR
 * of N and the bytes. The codec (encode, decode the variable-length answers) is pure; the
 * client runs it over a lode stream. Private to liblode. */
#ifndef LODE_BOOT_AN3155_H
#define LODE_BOOT_AN3155_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"
#include "lode/stream.h"

#define LODEI_AN3155_ACK 0x79u
#define LODEI_AN3155_NACK 0x1Fu
#define LODEI_AN3155_SYNC 0x7Fu
#define LODEI_AN3155_MAX 256u /* bytes per Read / Write Memory */

enum {
    LODEI_AN3155_GET = 0x00,
    LODEI_AN3155_GET_VERSION = 0x01,
    LODEI_AN3155_GET_ID = 0x02,
    LODEI_AN3155_READ = 0x11,
    LODEI_AN3155_GO = 0x21,
    LODEI_AN3155_WRITE = 0x31,
    LODEI_AN3155_ERASE = 0x43,
    LODEI_AN3155_EXT_ERASE = 0x44,
    LODEI_AN3155_WRITE_PROTECT = 0x63,
    LODEI_AN3155_WRITE_UNPROTECT = 0x73,
    LODEI_AN3155_READOUT_PROTECT = 0x82,
    LODEI_AN3155_READOUT_UNPROTECT = 0x92,
};

/* ---- codec ------------------------------------------------------------------------------------ */

/* 4 address bytes, big-endian, and their XOR. */
void lodei_an3155_addr(uint32_t addr, uint8_t out[5]);
/* N, n bytes (1..256), XOR: out holds n + 2 bytes. Returns n + 2, 0 for a bad n. */
size_t lodei_an3155_block(const uint8_t *data, size_t n, uint8_t *out);
/* Erase lists: Erase 0x43 (one byte per page, n 1..255: N, pages, XOR) or Extended Erase 0x44
 * (two bytes each, n 1..0xFFF0). Returns the length, 0 when n or cap do not fit. */
size_t lodei_an3155_erase_list(const uint16_t *pages, size_t n, bool extended, uint8_t *out, size_t cap);

/* What Get answers. */
typedef struct lodei_an3155_info_s {
    uint8_t version;          /* 0x22 = 2.2 */
    uint8_t cmds[32];
    size_t ncmds;
} lodei_an3155_info_s;

typedef enum lodei_an3155_reply_e {
    LODEI_AN3155_R_DONE = 0,  /* complete */
    LODEI_AN3155_R_MORE,      /* a correct beginning: *need more bytes */
    LODEI_AN3155_R_NACK,      /* the bootloader refused (NACK first) */
    LODEI_AN3155_R_GARBAGE,   /* not this protocol */
} lodei_an3155_reply_e;

/* The answer to a command with a counted block (Get, Get ID): ACK, N, N+1 bytes, ACK. On DONE the
 * N+1 bytes are at buf + 2 and *len says how many. */
lodei_an3155_reply_e lodei_an3155_decode_counted(const uint8_t *buf, size_t n, size_t *need, size_t *len);
/* Get's block into info (false when it holds no version or too many commands). */
bool lodei_an3155_parse_get(const uint8_t *block, size_t len, lodei_an3155_info_s *info);
bool lodei_an3155_has(const lodei_an3155_info_s *info, uint8_t cmd);

/* ---- the client ------------------------------------------------------------------------------- */

typedef struct lodei_an3155_s {
    lode_stream_s *s;        /* borrowed */
    const lode_log_s *log;
    int timeout_ms;          /* per answer (0: 1000); erases wait longer */
} lodei_an3155_s;

/* What a failed sync saw. */
typedef enum lodei_an3155_sync_e {
    LODEI_AN3155_SYNC_OK = 0,
    LODEI_AN3155_SYNC_SILENT,  /* nothing came back */
    LODEI_AN3155_SYNC_ECHO,    /* our 0x7F came back: a loopback or an echoing terminal */
    LODEI_AN3155_SYNC_GARBAGE, /* bytes that are neither ACK nor NACK: wrong baud, not a bootloader */
} lodei_an3155_sync_e;

/* 0x7F up to `tries` times, wait_ms each. ACK: synced; NACK: already synced by an earlier
 * session (the 0x7F was taken as a command). LODE_E_NO_DEVICE with *seen and the first bytes
 * (up to 8) when none of that came. */
int lodei_an3155_sync(lodei_an3155_s *c, unsigned tries, int wait_ms, lodei_an3155_sync_e *seen, uint8_t first[8],
                      size_t *nfirst);
/* Send a command, expect ACK. LODE_E_ACCESS (not logged) when it is refused with NACK (read-out
 * protection, a command this bootloader lacks), LODE_E_PROTOCOL / LODE_E_TIMEOUT (logged). */
int lodei_an3155_command(lodei_an3155_s *c, uint8_t cmd);
int lodei_an3155_get(lodei_an3155_s *c, lodei_an3155_info_s *info);
int lodei_an3155_get_id(lodei_an3155_s *c, uint16_t *pid);
/* 1..256 bytes. LODE_E_ACCESS: refused (read-out protection, or an address it does not read). */
int lodei_an3155_read(lodei_an3155_s *c, uint32_t addr, uint8_t *buf, size_t n);
/* 1..256 bytes. LODE_E_ACCESS: refused at the command or the address; LODE_E_FLASH: the write
 * itself failed (not erased, write-protected). */
int lodei_an3155_write(lodei_an3155_s *c, uint32_t addr, const uint8_t *data, size_t n);
/* Erase pages (n >= 1) or everything (pages NULL): Erase 0x43 or Extended Erase 0x44. */
int lodei_an3155_erase(lodei_an3155_s *c, bool extended, const uint16_t *pages, size_t n);
int lodei_an3155_go(lodei_an3155_s *c, uint32_t addr);
/* Readout Unprotect (mass erase; the device resets: sync again afterwards). */
int lodei_an3155_readout_unprotect(lodei_an3155_s *c);

#endif
