/* SPDX-License-Identifier: MIT */
/* PJRC Teensy and its HalfKay bootloader (USB HID 16C0:0478), the pure part: the models as data
 * (block size, report header, code size, where the image is linked), the block reports, which
 * model a HalfKay device is (its HID usage, its bcdDevice), which model an image was built for,
 * and the serial numbers the two modes report. Private to liblode; teensy.c is the probe. */
#ifndef LODE_BOOT_TEENSY_H
#define LODE_BOOT_TEENSY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LODEI_TEENSY_VID 0x16C0u
#define LODEI_HALFKAY_PID 0x0478u
#define LODEI_TEENSY_SERIAL_PID 0x0483u   /* a sketch built with USB type "Serial" */
#define LODEI_HALFKAY_USAGE_PAGE 0xFF9Cu  /* HalfKay's vendor usage page; the usage is the model */
#define LODEI_TEENSY_REBOOT_BAUD 134u     /* a running Teensy's serial port set to this reboots it */
#define LODEI_TEENSY_SEREMU_USAGE_PAGE 0xFFC9u /* Teensyduino's serial emulation over HID */
#define LODEI_TEENSY_MAX_REPORT (1024u + 64u)

/* HalfKay's report headers (the address before each block) */
typedef enum lodei_halfkay_hdr_e {
    LODEI_HALFKAY_HDR_ADDR16 = 1, /* 2 bytes: the byte address, little-endian (Teensy 2.0) */
    LODEI_HALFKAY_HDR_PAGE16 = 2, /* 2 bytes: address bits 8-23 (Teensy++ 2.0: 128 KiB, 256-byte blocks) */
    LODEI_HALFKAY_HDR_ADDR24 = 3, /* 64 bytes: a 3-byte little-endian address, then zeros (ARM) */
} lodei_halfkay_hdr_e;

typedef struct lodei_teensy_model_s {
    const char *name;         /* "teensy41": what --chip takes */
    const char *title;        /* "Teensy 4.1" */
    const char *mcu;          /* "imxrt1062" */
    const char *cli_name;     /* teensy_loader_cli's --mcu name, "TEENSY41" (also taken) */
    uint16_t usage;           /* HalfKay's HID usage on page 0xFF9C */
    uint16_t bcd_device;      /* bcdDevice, 0 when it does not tell the model */
    uint32_t code_size;       /* bytes HalfKay writes */
    uint16_t block_size;
    lodei_halfkay_hdr_e hdr;
    uint32_t base;            /* where images are linked: HalfKay address = image address - base */
    bool arm;
} lodei_teensy_model_s;

const lodei_teensy_model_s *lodei_teensy_model_at(size_t i); /* NULL past the end */
/* case-insensitive: lode's name ("teensy41") or teensy_loader_cli's ("TEENSY41"); not the MCU's,
 * which names a chip for debug probes */
const lodei_teensy_model_s *lodei_teensy_model_by_name(const char *name);
const lodei_teensy_model_s *lodei_teensy_model_by_usage(uint16_t usage);
const lodei_teensy_model_s *lodei_teensy_model_by_bcd(uint16_t bcd_device);

/* The report's length for model m: block + header. */
size_t lodei_halfkay_report_len(const lodei_teensy_model_s *m);
/* One block's report: `addr` the HalfKay address (image address - base), `data` block_size
 * bytes (NULL: zeros). out holds lodei_halfkay_report_len(m) bytes. */
void lodei_halfkay_report(const lodei_teensy_model_s *m, uint32_t addr, const uint8_t *data, uint8_t *out);
/* The boot command (a write to 0xFFFFFF / 0xFFFF with zeros): the device starts the program. */
void lodei_halfkay_boot_report(const lodei_teensy_model_s *m, uint8_t *out);
/* Decode a report as HalfKay does: LODE_OK with the address (*boot for the boot command), or
 * LODE_E_PROTOCOL when the length is not the model's. */
int lodei_halfkay_decode(const lodei_teensy_model_s *m, const uint8_t *rep, size_t len, uint32_t *addr, bool *boot);

/* The top-level usage page and usage of a HID report descriptor (HID 1.11 6.2.2): false when
 * the descriptor is malformed or names none. Any bytes. */
bool lodei_hid_top_usage(const uint8_t *desc, size_t len, uint16_t *page, uint16_t *usage);

/* Which model an image was built for, from its bytes (what Teensyduino's startup code leaves
 * there): Teensy 4.x's FlexSPI configuration block at 0x60000000 and the flash size in it, the
 * Teensy 3.x/LC vector table (initial stack pointer and table length), the AVR Teensies'
 * reboot code. `read` gives image bytes (false where the image has none). NULL: no model. */
typedef bool (*lodei_teensy_read_fn)(void *user, uint32_t addr, uint8_t *buf, size_t len);
const lodei_teensy_model_s *lodei_teensy_model_of_image(lodei_teensy_read_fn read, void *user, uint32_t lo,
                                                        uint32_t hi);
/* Two models a file may be built for alike (Teensy 3.1 and 3.2, 4.0 ...): same code */
bool lodei_teensy_same_build(const lodei_teensy_model_s *a, const lodei_teensy_model_s *b);

/* A running Teensy reports its serial number in decimal, HalfKay in hex (and, for numbers
 * below 10000000, one tenth of it): the number both mean, 0 when unreadable. */
uint64_t lodei_teensy_serial_value(const char *serial, bool halfkay);

#endif
