/* SPDX-License-Identifier: MIT */
/* USB DFU 1.1 (USB-IF "Device Class Specification for Device Firmware Upgrade" 1.1) and ST's
 * DfuSe extension (bcdDFU 0x011A, AN3156): the pure part -- request encoding, reply and
 * descriptor decoding, the DfuSe memory-layout strings -- kept apart from I/O (dfu.c). Private
 * to liblode (lodei_). */
#ifndef LODE_BOOT_DFU_H
#define LODE_BOOT_DFU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/flash.h"
#include "lode/log.h"

/* class requests (DFU 1.1 table 3.2), bmRequestType 0x21 (out) / 0xA1 (in), wIndex = interface */
enum {
    LODEI_DFU_DETACH = 0, LODEI_DFU_DNLOAD = 1, LODEI_DFU_UPLOAD = 2, LODEI_DFU_GETSTATUS = 3,
    LODEI_DFU_CLRSTATUS = 4, LODEI_DFU_GETSTATE = 5, LODEI_DFU_ABORT = 6,
};
/* bState (DFU 1.1 6.1.2) */
enum {
    LODEI_DFU_APP_IDLE = 0, LODEI_DFU_APP_DETACH = 1, LODEI_DFU_IDLE = 2, LODEI_DFU_DNLOAD_SYNC = 3,
    LODEI_DFU_DNBUSY = 4, LODEI_DFU_DNLOAD_IDLE = 5, LODEI_DFU_MANIFEST_SYNC = 6, LODEI_DFU_MANIFEST = 7,
    LODEI_DFU_MANIFEST_WAIT_RESET = 8, LODEI_DFU_UPLOAD_IDLE = 9, LODEI_DFU_ERROR = 10,
};
/* bmAttributes of the functional descriptor */
#define LODEI_DFU_CAN_DNLOAD 0x01u
#define LODEI_DFU_CAN_UPLOAD 0x02u
#define LODEI_DFU_MANIFEST_TOLERANT 0x04u
#define LODEI_DFU_WILL_DETACH 0x08u
#define LODEI_DFU_BCD_DFUSE 0x011Au
/* DfuSe commands (AN3156 §6): DNLOAD with wValue 0 */
#define LODEI_DFUSE_GET_COMMANDS 0x00u
#define LODEI_DFUSE_SET_ADDRESS 0x21u
#define LODEI_DFUSE_ERASE 0x41u
#define LODEI_DFUSE_READ_UNPROTECT 0x92u

#define LODEI_DFU_MAX_ALTS 8

typedef struct lodei_dfu_func_s {
    uint8_t attributes;
    uint16_t detach_timeout_ms, transfer_size, bcd_dfu;
} lodei_dfu_func_s;

/* What the configuration descriptor says about the DFU interface. */
typedef struct lodei_dfu_config_s {
    uint8_t interface;            /* bInterfaceNumber of the DFU interface */
    uint8_t protocol;             /* 1 run-time, 2 DFU mode */
    size_t nalts;
    uint8_t alt[LODEI_DFU_MAX_ALTS];     /* bAlternateSetting */
    uint8_t alt_string[LODEI_DFU_MAX_ALTS]; /* iInterface */
    bool has_func;
    lodei_dfu_func_s func;
} lodei_dfu_config_s;

/* Parse a whole configuration descriptor (USB 2.0 9.6.3 and what follows it): the first
 * interface of class 0xFE subclass 0x01, its alternate settings and the functional descriptor
 * (type 0x21). LODE_E_FORMAT when malformed or without a DFU interface. */
int lodei_dfu_parse_config(const uint8_t *d, size_t len, lodei_dfu_config_s *out);

/* GETSTATUS reply (6 bytes). */
typedef struct lodei_dfu_status_s {
    uint8_t status, state, istring;
    uint32_t poll_ms;             /* bwPollTimeout */
} lodei_dfu_status_s;
int lodei_dfu_decode_status(const uint8_t *d, size_t len, lodei_dfu_status_s *out);
const char *lodei_dfu_state_name(uint8_t state);
const char *lodei_dfu_status_name(uint8_t status);

/* A DfuSe command: 1 byte, or 5 with a little-endian address. Returns the length. */
size_t lodei_dfuse_command(uint8_t cmd, bool with_addr, uint32_t addr, uint8_t out[5]);

/* ---- DfuSe memory layout strings (AN3156 §4.3.1, UM0424): "@NAME/ADDR/N*SIZE<unit><type>,..."
 * repeated "/ADDR/..." groups; unit ' ' (bytes), 'K', 'M'; type 'a'..'g' = bit0 readable,
 * bit1 erasable, bit2 writable. ---- */
#define LODEI_DFUSE_READABLE 1u
#define LODEI_DFUSE_ERASABLE 2u
#define LODEI_DFUSE_WRITABLE 4u
#define LODEI_DFUSE_MAX_SEGS 16

typedef struct lodei_dfuse_seg_s {
    uint32_t start, end;          /* [start, end) */
    uint32_t sector_size;
    unsigned flags;
} lodei_dfuse_seg_s;

typedef struct lodei_dfuse_layout_s {
    char name[64];
    size_t nsegs;
    lodei_dfuse_seg_s seg[LODEI_DFUSE_MAX_SEGS];
} lodei_dfuse_layout_s;

/* LODE_E_FORMAT (logged, naming what is wrong) for a malformed string. */
int lodei_dfuse_parse_layout(const char *s, const lode_log_s *log, lodei_dfuse_layout_s *out);

#endif
