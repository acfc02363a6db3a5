/* SPDX-License-Identifier: MIT */
/* AVR parts: the data is lode's own YAML (data/chips/avr.yaml, read through lode/board.h);
 * what a bootloader client needs from it. Private to liblode. */
#ifndef LODE_BOOT_AVR_PARTS_H
#define LODE_BOOT_AVR_PARTS_H

#include <stdbool.h>

#include "lode/board.h"
#include "lode/flash.h"

typedef lode_avr_part_s lodei_avr_part_s;

/* AVR ELF convention (avr-gcc/avr-libc): EEPROM contents live at this address in an image. */
#define LODEI_AVR_EEPROM_BASE 0x810000u

/* Is `name` an AVR part of the built-in data (case-insensitive)? */
bool lodei_avr_part_known(const char *name);

/* The part a bootloader's signature names, checked against --chip `chip` (NULL: none) unless
 * `force`: LODE_OK with *out, LODE_E_INVALID_ARG (not an AVR part) or LODE_E_NO_DEVICE
 * (mismatch, unknown signature), each logged with what to do. */
int lodei_avr_pick_part(const lode_board_db_s *data, const uint8_t sig[3], const char *chip, bool force,
                        const lode_log_s *log, const lodei_avr_part_s **out);

/* The memories a bootloader offers the planner, in this order: the application flash, the
 * bootloader's section (boot_size bytes at the end; so that an image reaching it is refused
 * before anything is written) and the EEPROM at LODEI_AVR_EEPROM_BASE (1-byte pages). */
enum { LODEI_AVR_R_APP = 0, LODEI_AVR_R_BOOT, LODEI_AVR_R_EEPROM, LODEI_AVR_NREGIONS };
void lodei_avr_regions(lode_flash_region_s r[LODEI_AVR_NREGIONS], const lodei_avr_part_s *part, uint32_t boot_size);

#endif
