/* SPDX-License-Identifier: MIT */
/* The SAM-BA monitor protocol (Atmel/Microchip "SAM-BA Boot" of the SAM3/SAM4/SAMD datasheets,
 * AT07175, and the Arduino/Adafruit SAMD bootloaders' extensions). Commands are ASCII, hex
 * arguments, ending in '#':
 *
 *     N#              binary mode (answer "\n\r"); T# terminal mode
 *     V#              version text ending "\n\r" ("v2.0 [Arduino:XYZ] ..." offers X, Y, Z)
 *     wADDR,4#        read a word (binary mode: 4 bytes little-endian); hADDR,2# / oADDR,1#
 *     WADDR,VALUE#    write a word (no answer); HADDR,VALUE# / OADDR,VALUE#
 *     SADDR,SIZE#     the host sends SIZE bytes to ADDR; RADDR,SIZE# the monitor sends them:
 *                     raw over USB CDC, XMODEM-CRC (128-byte blocks) over a plain UART
 *     GADDR#          call the code whose SP and entry are the words at ADDR (an applet)
 *     XADDR#          Arduino: erase from ADDR to the end of the flash ("X\n\r")
 *     YADDR,0#        Arduino: the source buffer is ADDR; YADDR,SIZE# copy SIZE bytes of it
 *                     into the flash at ADDR ("Y\n\r")
 *     ZADDR,SIZE#     Arduino: CRC-16/XMODEM of the memory ("Z%08X#\n\r")
 *
 * A monitor on a plain UART measures the baud from a preamble (0x80 0x80 '#'). The codec is
 * pure (fuzzed: tests/fuzz/fuzz_samba.c); the client runs it over a lode stream. Private to
 * liblode. */
#ifndef LODE_BOOT_SAMBA_H
#define LODE_BOOT_SAMBA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"
#include "lode/stream.h"

#define LODEI_SAMBA_CMD_MAX 32u      /* one command with its arguments */
#define LODEI_SAMBA_VERSION_MAX 128u /* version text kept */
#define LODEI_SAMBA_XM_BLOCK 128u    /* XMODEM data bytes per block */
#define LODEI_SAMBA_XM_FRAME 133u    /* SOH, n, ~n, 128 bytes, CRC high, CRC low */
#define LODEI_SAMBA_USB_READ_MAX 63u /* Arduino/Adafruit bootloaders corrupt USB reads of 64+ bytes */

#define LODEI_XM_SOH 0x01u
#define LODEI_XM_EOT 0x04u
#define LODEI_XM_ACK 0x06u
#define LODEI_XM_NAK 0x15u
#define LODEI_XM_CAN 0x18u
#define LODEI_XM_CRC 'C'

/* ---- codec ------------------------------------------------------------------------------------ */

/* "cADDR,ARG#" (arg used when has_arg), "cADDR#" otherwise, or "c#" for N, T, V. Returns the
 * length written into out (at least LODEI_SAMBA_CMD_MAX bytes). */
size_t lodei_samba_cmd(char op, uint32_t addr, uint32_t arg, bool has_arg, char *out);

/* CRC-16/XMODEM (poly 0x1021, init 0, no reflection): the Z command's and XMODEM-CRC's. */
uint16_t lodei_samba_crc16(uint16_t crc, const uint8_t *data, size_t len);

/* What the version text says. */
typedef struct lodei_samba_version_s {
    char text[LODEI_SAMBA_VERSION_MAX]; /* printable, without the "\n\r" */
    bool arduino;                       /* an "[Arduino:...]" tag */
    bool ext_x, ext_y, ext_z;           /* the letters inside it */
} lodei_samba_version_s;

/* Parse a version answer (n bytes, up to and without the "\n\r"). false when it holds no
 * printable text. */
bool lodei_samba_parse_version(const uint8_t *buf, size_t n, lodei_samba_version_s *v);

typedef enum lodei_samba_reply_e {
    LODEI_SAMBA_R_DONE = 0,   /* complete */
    LODEI_SAMBA_R_MORE,       /* a correct beginning */
    LODEI_SAMBA_R_GARBAGE,    /* not this answer */
    LODEI_SAMBA_R_REFUSED,    /* "E\n\r": lode's bootloader refused X or Y (below the application,
                                 misaligned, a flash error) */
} lodei_samba_reply_e;

/* The answer to X or Y: the letter, "\n\r" (or "E\n\r": REFUSED). *used = bytes it took. */
lodei_samba_reply_e lodei_samba_decode_ack(char letter, const uint8_t *buf, size_t n, size_t *used);
/* The answer to Z: "Z", 8 hex digits, "#\n\r" (the "\n\r" may be missing in terminal mode:
 * DONE at '#'; *used counts what was taken). */
lodei_samba_reply_e lodei_samba_decode_crc(const uint8_t *buf, size_t n, uint16_t *crc, size_t *used);
/* A line answer (N#, V#): up to "\n\r". DONE with *len = bytes before it, *used with it. */
lodei_samba_reply_e lodei_samba_decode_line(const uint8_t *buf, size_t n, size_t max, size_t *len, size_t *used);

/* An XMODEM-CRC block: n (1..255, wraps), data (up to 128 bytes, padded with pad) into out
 * (LODEI_SAMBA_XM_FRAME bytes). */
void lodei_samba_xm_block(uint8_t blk, const uint8_t *data, size_t n, uint8_t pad, uint8_t out[LODEI_SAMBA_XM_FRAME]);
/* Check a received block: SOH, blk and its complement, CRC. true with the data at frame + 3. */
bool lodei_samba_xm_check(const uint8_t frame[LODEI_SAMBA_XM_FRAME], uint8_t blk);

/* ---- chips ------------------------------------------------------------------------------------ */

#define LODEI_SAMBA_CPUID 0xE000ED00u
#define LODEI_SAMBA_DSU_DID 0x41002018u    /* SAMD21 / SAMD51 device ID */
#define LODEI_SAMBA_SAM3X_CIDR 0x400E0940u /* SAM3X/A CHIPID_CIDR */
#define LODEI_SAMBA_SAM3_CIDR 0x400E0740u  /* SAM3N/S/U, SAM4 CHIPID_CIDR */

typedef enum lodei_samba_family_e {
    LODEI_SAMBA_UNKNOWN = 0,
    LODEI_SAMBA_SAMD21,   /* NVMCTRL at 0x41004000 */
    LODEI_SAMBA_SAMD51,   /* NVMCTRL at 0x41004000 (another layout: no writes here) */
    LODEI_SAMBA_SAM3X,    /* EEFC0/EEFC1 at 0x400E0A00 / 0x400E0C00 */
} lodei_samba_family_e;

typedef struct lodei_samba_chip_s {
    lodei_samba_family_e family;
    char name[48];        /* "ATSAMD21G18A" */
    uint32_t flash_start, flash_size, page_size, row_size; /* row: the erase unit */
    uint32_t ram_start, ram_size;
} lodei_samba_chip_s;

/* A chip name the SAM-BA tables know ("ATSAMD21G18A", "SAM3X8E": with or without "AT"). */
bool lodei_samba_chip_known(const char *name);
/* Cortex-M part number of a CPUID value (0xC60 = M0+, 0xC23 = M3, 0xC24 = M4). */
unsigned lodei_samba_cpuid_part(uint32_t cpuid);
/* A DSU DID: family and name (SAMD21 DEVSEL table; an unknown variant gets a generic name).
 * false when it is no SAMD21/SAMD51. Flash geometry comes from NVMCTRL PARAM. */
bool lodei_samba_dsu_chip(uint32_t did, lodei_samba_chip_s *c);
/* SAMD21 NVMCTRL PARAM: page size 8 << PSZ, NVMP pages, rows of four pages. false for
 * nonsense (no pages, over 1 MiB). */
bool lodei_samba_samd21_param(uint32_t param, lodei_samba_chip_s *c);
/* SAMD21 user row word 0: the bytes BOOTPROT protects (0 .. 32 KiB). */
uint32_t lodei_samba_samd21_bootprot(uint32_t user0);
/* A SAM3X/A CHIPID_CIDR (version bits ignored): name and geometry; false when unknown. */
bool lodei_samba_sam3x_chip(uint32_t cidr, lodei_samba_chip_s *c);

/* ---- the client ------------------------------------------------------------------------------- */

typedef struct lodei_samba_s {
    lode_stream_s *s;     /* borrowed */
    const lode_log_s *log;
    bool uart;            /* XMODEM framing for S and R (a plain UART), else raw (USB CDC) */
    bool chunk_reads;     /* R in pieces below 64 bytes (Arduino/Adafruit over USB) */
    int timeout_ms;       /* per answer (0: 10 s: a simulated board on a busy host is slow) */
    unsigned commands;    /* sent, for figures */
} lodei_samba_s;

typedef enum lodei_samba_sync_e {
    LODEI_SAMBA_SYNC_OK = 0,
    LODEI_SAMBA_SYNC_SILENT,  /* nothing came back */
    LODEI_SAMBA_SYNC_ECHO,    /* "N#" came back: an echo, not a monitor */
    LODEI_SAMBA_SYNC_GARBAGE, /* bytes, but no "\n\r": a running sketch, another device */
} lodei_samba_sync_e;

/* The UART preamble (when uart), then N# up to `tries` times, wait_ms each, until "\n\r".
 * LODE_E_NO_DEVICE with *seen and the first bytes (up to 16) otherwise. */
int lodei_samba_sync(lodei_samba_s *c, unsigned tries, int wait_ms, lodei_samba_sync_e *seen, uint8_t *first,
                     size_t *nfirst);
int lodei_samba_version(lodei_samba_s *c, lodei_samba_version_s *v);
/* w/h/o: 4, 2 or 1 bytes. */
int lodei_samba_read_word(lodei_samba_s *c, uint32_t addr, uint32_t *v);
int lodei_samba_read_half(lodei_samba_s *c, uint32_t addr, uint16_t *v);
int lodei_samba_read_byte(lodei_samba_s *c, uint32_t addr, uint8_t *v);
/* W/H/O: no answer. */
int lodei_samba_write_word(lodei_samba_s *c, uint32_t addr, uint32_t v);
int lodei_samba_write_half(lodei_samba_s *c, uint32_t addr, uint16_t v);
int lodei_samba_write_byte(lodei_samba_s *c, uint32_t addr, uint8_t v);
/* S: n bytes to addr (raw, or XMODEM-CRC on a UART). */
int lodei_samba_send(lodei_samba_s *c, uint32_t addr, const uint8_t *data, size_t n);
/* R: n bytes from addr (chunked below 64 bytes when chunk_reads; XMODEM-CRC on a UART). */
int lodei_samba_receive(lodei_samba_s *c, uint32_t addr, uint8_t *buf, size_t n);
int lodei_samba_go(lodei_samba_s *c, uint32_t addr);
/* Arduino extensions. */
int lodei_samba_erase_from(lodei_samba_s *c, uint32_t addr, int timeout_ms);
int lodei_samba_copy(lodei_samba_s *c, uint32_t buffer, uint32_t dst, uint32_t n);
int lodei_samba_crc(lodei_samba_s *c, uint32_t addr, uint32_t n, uint16_t *crc);

#endif
