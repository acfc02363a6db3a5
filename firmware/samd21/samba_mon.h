/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA monitor: the command interpreter of the SAM-BA boot protocol as BOSSA and the
 * Arduino/Adafruit SAMD bootloaders speak it on a USB CDC line (raw binary data phases), fed a
 * byte at a time. Pure: memory, flash and the line are the caller's (samba_boot.c on the
 * SAMD21; tests/fuzz/fuzz_samba_mon.c on the host).
 *
 * Commands: a letter, up to two hexadecimal arguments separated by ',', then '#'.
 *   N#            binary mode (replies "\n\r")        T#           terminal mode ("\n\r")
 *   V#            version, with "[Arduino:XYZ]"       G<a>#        call the code at a
 *   w<a>,4#  h<a>,2#  o<a>,1#   read a word/half/byte (binary: little-endian bytes;
 *                                terminal: "0x%08X" etc.)
 *   W<a>,<v>#  H<a>,<v>#  O<a>,<v>#   write a word/half/byte
 *   S<a>,<n>#     the next n bytes are stored from a  R<a>,<n>#    n bytes from a
 *   X<a>#         erase the flash from a to its end                   -> "X\n\r"
 *   Y<a>,0#       a is the source buffer; Y<a>,<n>#: copy n bytes to flash at a -> "Y\n\r"
 *   Z<a>,<n>#     CRC-16 (XMODEM: poly 0x1021, init 0) of n bytes from a -> "Z%08X#\n\r"
 * A refused X or Y (below the application, misaligned, a flash error) answers "E\n\r" (lode's;
 * the Arduino bootloaders have no error answer). Anything else between commands is ignored. */
#ifndef SAMBA_MON_H
#define SAMBA_MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct samba_ops_s {
    /* memory as the monitor's client sees it; size 1, 2 or 4; faults read as 0 */
    uint32_t (*read)(void *user, uint32_t addr, unsigned size);
    void (*write)(void *user, uint32_t addr, unsigned size, uint32_t val);
    void (*put)(void *user, const uint8_t *data, size_t len); /* to the line */
    int (*erase_from)(void *user, uint32_t addr);              /* 0 or -1 (refused) */
    int (*copy)(void *user, uint32_t dst, uint32_t src, uint32_t len); /* buffer -> flash */
    void (*go)(void *user, uint32_t addr);
    const char *version; /* "v1.1 [Arduino:XYZ] ..." without the line end */
} samba_ops_s;

typedef struct samba_mon_s {
    const samba_ops_s *ops;
    void *user;
    char cmd;          /* the command being collected, 0 between commands */
    uint32_t arg[2];
    uint8_t narg;      /* 0: first argument, 1: after ',' */
    bool terminal;
    uint32_t s_addr, s_left; /* S: data bytes still to come */
    uint32_t y_src;          /* Y: the source buffer */
} samba_mon_s;

void samba_mon_init(samba_mon_s *m, const samba_ops_s *ops, void *user);
void samba_mon_byte(samba_mon_s *m, uint8_t c);
/* An S data phase is in progress (its bytes still to come). */
bool samba_mon_receiving(const samba_mon_s *m);
/* Give up a half-received S (its host went away): back to reading commands; what came is kept. */
void samba_mon_abort(samba_mon_s *m);
uint16_t samba_crc16(uint16_t crc, uint8_t byte);

#endif
