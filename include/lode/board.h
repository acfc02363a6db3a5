/* SPDX-License-Identifier: MIT */
/* Boards and AVR parts as data, in lode's own YAML format (data/boards/NAME.yaml,
 * data/chips/avr.yaml, embedded in the library and installed to share/lode/). A file holds
 * one mapping whose keys are sections, each a list of entries; an entry is a mapping of keys
 * to text or to a list of text:
 *
 *     boards:
 *       - name: uno                    # required; matched without regard to case
 *         aliases: [genuino-uno]
 *         description: Arduino Uno     # required
 *         chip: ATmega328P             # required
 *         probe: arduino               # required: the probe kind lode uses by default
 *         probes: [arduino]            # other probe kinds that work with it
 *         bootloader: arduino          # the board's bootloader as a probe kind
 *         baud: 115200                 # the bootloader's baud
 *         reset: dtr-pulse             # how it enters the bootloader (lode_board_reset_e)
 *         usb: ["2341:0043"]           # VID:PID of the board (its USB-serial chip or sketch)
 *         bootloader_usb: ["2341:0036"] # VID:PID once it re-enumerates as its bootloader
 *         app_offset: 0x2000           # where the bootloader puts the application (SAM-BA boards)
 *         bootloader_options: [uart]   # added to the bootloader's probe spec (":uart")
 *         led: PB5 (D13)
 *     avr_parts:
 *       - name: ATmega328P
 *         signature: 1E 95 0F
 *         flash: 32768                 # bytes
 *         page: 128                    # flash page, bytes
 *         eeprom: 1024                 # bytes
 *         boot_sizes: [512, 1024, 2048, 4096]  # the BOOTSZ choices, smallest first
 *
 * Unknown sections and keys, a key twice, a missing required key, a bad number and a name used
 * twice are LODE_E_FORMAT with one LODE_LOG_ERROR message "<file>:<line>: <what>; <what to
 * do>". Every pointer handed out stays valid until lode_board_db_free(). */
#ifndef LODE_BOARD_H
#define LODE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LODE_BOARD_MAX_FILE (1024u * 1024u) /* bytes of one data file */
#define LODE_BOARD_MAX_ENTRIES 4096u        /* boards or parts in one database */
#define LODE_BOARD_MAX_LIST 32u             /* values of one list */
#define LODE_BOARD_MAX_TEXT 160u            /* bytes of one value */

typedef enum lode_board_reset_e {
    LODE_BOARD_RESET_NONE = 0,     /* "none": nothing to do (or not said) */
    LODE_BOARD_RESET_DTR_PULSE,    /* "dtr-pulse": DTR/RTS through the auto-reset capacitor */
    LODE_BOARD_RESET_1200_TOUCH,   /* "1200-baud-touch": open at 1200 baud, drop DTR, close */
    LODE_BOARD_RESET_BOOT0,        /* "boot0": BOOT0 high during reset (jumper or RTS/DTR) */
    LODE_BOARD_RESET_134_BAUD,     /* "134-baud": Teensy's reboot request */
    LODE_BOARD_RESET_DOUBLE_TAP,   /* "double-tap": reset pressed twice */
    LODE_BOARD_RESET_BUTTON,       /* "button": a button held or pressed by hand */
    LODE_BOARD_RESET_DEBUG_PROBE,  /* "debug-probe": reset through the debug probe */
    LODE_BOARD_RESET_COUNT_
} lode_board_reset_e;

typedef struct lode_usb_id_s {
    uint16_t vid, pid;
} lode_usb_id_s;

typedef struct lode_board_s {
    const char *name;
    const char *const *aliases;
    size_t naliases;
    const char *description;
    const char *chip;
    const char *probe;            /* default probe kind ("arduino", "stlink", "jlink" ...) */
    const char *const *probes;    /* kinds that work (the default one first) */
    size_t nprobes;
    const char *bootloader;       /* probe kind of its bootloader; NULL when none */
    uint32_t baud;                /* the bootloader's; 0 when not said */
    lode_board_reset_e reset;
    const lode_usb_id_s *usb;
    size_t nusb;
    const lode_usb_id_s *bootloader_usb;
    size_t nbootloader_usb;
    const char *led;              /* NULL when not said */
    const char *source;           /* the data file it came from */
    bool has_app_offset;
    uint32_t app_offset;          /* the application's start address behind the bootloader */
    const char *const *bootloader_options; /* spec options of the bootloader's probe ("uart") */
    size_t nbootloader_options;
} lode_board_s;

typedef struct lode_avr_part_s {
    const char *name;             /* "ATmega328P" */
    uint8_t signature[3];
    uint32_t flash_size;          /* bytes */
    uint32_t page_size;           /* flash page, bytes */
    uint32_t eeprom_size;         /* bytes */
    uint32_t boot_sizes[4];       /* the BOOTSZ choices, bytes, smallest first */
    const char *source;
} lode_avr_part_s;

typedef struct lode_board_db_s lode_board_db_s;

/* A database holding lode's built-in boards and AVR parts (the data files embedded in the
 * library). `log` may be NULL; it is copied. */
int lode_board_db_new(const lode_log_s *log, lode_board_db_s **out);
/* An empty database (tests, tools that bring their own files). */
int lode_board_db_new_empty(const lode_log_s *log, lode_board_db_s **out);
void lode_board_db_free(lode_board_db_s *db);
/* Add the entries of a data file (from memory; `name` names it in messages, NULL:
 * "<buffer>"). On error the database is unchanged. A board or part whose name (or alias) is
 * already known is an error. */
int lode_board_db_load_buffer(lode_board_db_s *db, const char *text, size_t len, const char *name);
int lode_board_db_load_file(lode_board_db_s *db, const char *path);

size_t lode_board_count(const lode_board_db_s *db);
const lode_board_s *lode_board_at(const lode_board_db_s *db, size_t i);
/* By name or alias, case-insensitively. LODE_E_NO_DEVICE when unknown (no message: the caller
 * says what to do, e.g. "`lode boards` lists them"). */
int lode_board_find(const lode_board_db_s *db, const char *name, const lode_board_s **out);

size_t lode_avr_part_count(const lode_board_db_s *db);
const lode_avr_part_s *lode_avr_part_at(const lode_board_db_s *db, size_t i);
/* case-insensitively ("atmega328p"); NULL when unknown */
const lode_avr_part_s *lode_avr_part_find(const lode_board_db_s *db, const char *name);
const lode_avr_part_s *lode_avr_part_by_signature(const lode_board_db_s *db, const uint8_t sig[3]);

/* "dtr-pulse" ... for LODE_BOARD_RESET_*; "?" for anything else. */
const char *lode_board_reset_name(lode_board_reset_e r);

/* The probe spec for `board` given what the user named (NULL or "" when nothing):
 *  - a bare serial port ("/dev/ttyACM0", "COM3", no ':' before the first '/') becomes
 *    "BOOTLOADER:PORT[:BAUD]" (the board's bootloader kind, else its probe kind);
 *  - "KIND:PORT" of the board's bootloader kind without a trailing ":BAUD" gets the board's baud;
 *  - either of those gets the board's bootloader_options and ":offset=0xN" (app_offset) that
 *    it does not name yet;
 *  - anything else is kept as given; nothing given is the board's probe kind.
 * LODE_E_INVALID_ARG when `out` is too small. */
int lode_board_probe_spec(const lode_board_s *board, const char *given, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
