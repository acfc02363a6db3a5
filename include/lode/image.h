/* SPDX-License-Identifier: MIT */
/* Firmware images: ELF, Intel HEX and raw binary files turned into one sorted list of
 * segments (what to write where) plus the symbol table.
 *
 * Every parser treats its input as hostile: every offset and length is bounds-checked, the
 * result is capped (LODE_IMAGE_MAX_*), and a bad input is an error code plus one
 * LODE_LOG_ERROR message (category LODE_LOGC_IMAGE) that names the problem and what to do. */
#ifndef LODE_IMAGE_H
#define LODE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. A file larger than LODE_IMAGE_MAX_FILE is refused by lode_image_load_file(); the
 * sum of all segment bytes may not exceed LODE_IMAGE_MAX_BYTES; a parser may produce at most
 * LODE_IMAGE_MAX_PIECES separate pieces before adjacent ones are merged; symbol names longer
 * than LODE_IMAGE_MAX_SYMBOL_NAME bytes are skipped (with a warning). */
#define LODE_IMAGE_MAX_FILE (64u * 1024u * 1024u)
#define LODE_IMAGE_MAX_BYTES (256u * 1024u * 1024u)
#define LODE_IMAGE_MAX_PIECES (1u << 20)
#define LODE_IMAGE_MAX_SYMBOL_NAME 4096u

/* One contiguous run of bytes to place at `addr` (for ELF: the load address, LMA).
 * addr + len never exceeds 2^32. `data` is owned by the image. */
typedef struct lode_segment_s {
    uint32_t addr;
    uint32_t len;
    uint8_t *data;
} lode_segment_s;

/* ELF symbol types and bindings kept in lode_symbol_s (values from the System V gABI). */
#define LODE_STT_NOTYPE 0
#define LODE_STT_OBJECT 1
#define LODE_STT_FUNC 2
#define LODE_STB_LOCAL 0
#define LODE_STB_GLOBAL 1
#define LODE_STB_WEAK 2

/* One symbol. `value` is st_value exactly as in the file: Thumb functions have bit 0 set
 * (clear it to get the instruction address). `name` is owned by the image. */
typedef struct lode_symbol_s {
    char *name;
    uint32_t value;
    uint32_t size;
    uint8_t type; /* STT_*: LODE_STT_NOTYPE, LODE_STT_OBJECT or LODE_STT_FUNC */
    uint8_t bind; /* STB_*: LODE_STB_LOCAL, _GLOBAL, _WEAK (or another STB_ value) */
} lode_symbol_s;

typedef struct lode_image_s {
    lode_segment_s *segs; /* sorted by addr, non-overlapping, adjacent ones merged */
    size_t nsegs;
    lode_symbol_s *syms;  /* in symbol-table order; only named, defined NOTYPE/OBJECT/FUNC */
    size_t nsyms;
    uint32_t entry;       /* ELF e_entry, HEX start address record (type 03 or 05) */
    bool has_entry;       /* false: HEX without a start record, ELF with e_entry == 0 */
    /* what the file says about the device it is made for (loaders and sessions check it) */
    bool has_dfu_ids;     /* a DFU suffix: idVendor / idProduct (0xFFFF: any) */
    uint16_t dfu_vid, dfu_pid;
    bool has_uf2_family;  /* UF2 blocks with a family ID */
    uint32_t uf2_family;
} lode_image_s;

typedef enum lode_image_format_e {
    LODE_IMAGE_AUTO,
    LODE_IMAGE_ELF,
    LODE_IMAGE_IHEX,
    LODE_IMAGE_BIN,
    LODE_IMAGE_UF2,  /* microsoft/uf2 blocks; "not main flash" blocks are skipped */
    LODE_IMAGE_DFUSE, /* ST DfuSe file (UM0391): "DfuSe" prefix, targets, elements, DFU suffix */
} lode_image_format_e;

/* ELF32, little-endian, EM_ARM or EM_AVR (anything else: LODE_E_UNSUPPORTED; an AVR ELF's
 * .eeprom loads at 0x810000, avr-gcc's address for it). Loads PT_LOAD
 * program headers with p_filesz > 0 at p_paddr (the LMA); bytes past p_filesz (.bss) are not
 * loaded. Symbols come from the SHT_SYMTAB section (none if there is none). Errors:
 * LODE_E_FORMAT (truncated/corrupt, overlapping segments), LODE_E_UNSUPPORTED,
 * LODE_E_NOMEM (allocation failed or a LODE_IMAGE_MAX_* limit hit), LODE_E_INVALID_ARG. */
int lode_image_parse_elf(const uint8_t *buf, size_t len, const lode_log_s *log,
                         lode_image_s **out);

/* Intel HEX: record types 00-05, checksums verified, LF or CRLF line ends, blank lines and
 * surrounding spaces ignored, everything after the EOF record ignored. A missing EOF record,
 * bad hex digits, odd digit counts, wrong byte counts, unknown record types and data written
 * twice to the same address are LODE_E_FORMAT. `text` need not be NUL-terminated.
 * Addresses are linear: base (type 02: value << 4, type 04: value << 16; the last one seen
 * wins) + record offset + index, with no 64 KiB wrap-around; past 4 GiB is an error. */
int lode_image_parse_ihex(const char *text, size_t len, const lode_log_s *log,
                          lode_image_s **out);

/* A raw binary placed at `base`: one segment (none if len is 0), no symbols, no entry.
 * base + len past 4 GiB: LODE_E_RANGE; len > LODE_IMAGE_MAX_BYTES: LODE_E_NOMEM. */
int lode_image_from_bin(const uint8_t *buf, size_t len, uint32_t base, lode_image_s **out);

/* Parse an in-memory file. `name` (may be NULL) is used in messages, e.g. the file name.
 * AUTO detects the format like lode_image_detect_format(); BIN needs base_given
 * (otherwise LODE_E_INVALID_ARG); base is ignored for ELF and HEX. */
int lode_image_parse(const uint8_t *buf, size_t len, lode_image_format_e fmt, const char *name,
                     uint32_t base, bool base_given, const lode_log_s *log, lode_image_s **out);

/* Reads the file (refuses files larger than LODE_IMAGE_MAX_FILE with LODE_E_NOMEM) and
 * parses it with lode_image_parse(). AUTO: a file named *.bin is a raw binary whatever its
 * contents, and so is one whose contents look like Intel HEX (a ':' first) when base_given,
 * unless it is named *.hex, *.ihx or *.ihex. A missing file is LODE_E_NO_DEVICE, a permission
 * problem LODE_E_ACCESS, other read errors LODE_E_IO, an empty file LODE_E_FORMAT. */
int lode_image_load_file(const char *path, lode_image_format_e fmt, uint32_t base,
                         bool base_given, const lode_log_s *log, lode_image_s **out);

/* ELF if the buffer starts with the ELF magic; UF2, DfuSe by theirs; IHEX if its first
 * non-whitespace character is ':'; otherwise BIN. Never returns AUTO. A BIN that ends with a
 * valid DFU suffix (USB DFU 1.1 appendix B) loads without it, its IDs in dfu_vid/dfu_pid; a
 * suffix whose CRC is wrong is LODE_E_FORMAT. */
lode_image_format_e lode_image_detect_format(const uint8_t *buf, size_t len);

/* "auto", "elf", "ihex", "bin"; "?" for an unknown value. */
const char *lode_image_format_name(lode_image_format_e fmt);

/* Frees the image, its segments' data and its symbol names. Accepts NULL. */
void lode_image_free(lode_image_s *img);

/* The symbol called `name`: a global or weak one if there is one, else the first local one;
 * NULL if none (or if img or name is NULL). Linear search. The pointer is valid until the
 * image is freed. */
/* The function or object symbol whose [value, value+size) contains addr (Thumb bit ignored),
 * else the nearest one below it within 4 KiB; NULL if none. *off = addr - symbol start. */
const lode_symbol_s *lode_image_symbol_at(const lode_image_s *img, uint32_t addr, uint32_t *off);
const lode_symbol_s *lode_image_find_symbol(const lode_image_s *img, const char *name);

/* The segment containing `addr`, or NULL. Binary search; valid until the image is freed. */
const lode_segment_s *lode_image_find_segment(const lode_image_s *img, uint32_t addr);

/* Sum of all segment lengths (0 for NULL). */
size_t lode_image_total_bytes(const lode_image_s *img);

/* UF2 (microsoft/uf2): a family ID by name ("RP2040", "STM32F1", ..., case-insensitive) or as
 * 0xHEX; LODE_E_NO_DEVICE for an unknown name. The name of a known ID, else NULL. */
int lode_uf2_family(const char *name, uint32_t *id);
const char *lode_uf2_family_name(uint32_t id);
/* The image as UF2 blocks (256-byte payloads at 256-byte aligned addresses, family ID set,
 * uncovered bytes 0xFF): *out (free()) of *len bytes. LODE_E_INVALID_ARG for an empty image. */
int lode_image_write_uf2(const lode_image_s *img, uint32_t family, uint8_t **out, size_t *len);
/* Does a UF2 family fit a chip or board name ("STM32F103C8", a UF2 drive's Board-ID
 * "SAMD21G18A-Metro-v0")? LODE_OK when it does or lode cannot tell (the name belongs to no
 * family in lode's table, or the family is unknown), LODE_E_FORMAT when the name belongs to
 * another family. */
int lode_uf2_family_fits(uint32_t family, const char *chip);
/* The family of a chip or board name (the longest family name it starts with);
 * LODE_E_NO_DEVICE when none fits. */
int lode_uf2_family_for(const char *chip, uint32_t *id);
/* The image as an ST DfuSe file (UM0391): one target (alternate setting 0, "Internal Flash"),
 * one element per segment, the DFU suffix for vid:pid with bcdDFU 0x011A. */
int lode_image_write_dfuse(const lode_image_s *img, uint16_t vid, uint16_t pid, uint8_t **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
