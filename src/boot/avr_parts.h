/* SPDX-License-Identifier: MIT */
/* AVR parts: the data is lode's own YAML (data/chips/avr.yaml, read through lode/board.h);
 * what a bootloader client needs from it. Private to liblode. */
#ifndef LODE_BOOT_AVR_PARTS_H
#define LODE_BOOT_AVR_PARTS_H

#include <stdbool.h>

#include "lode/board.h"

typedef lode_avr_part_s lodei_avr_part_s;

/* AVR ELF convention (avr-gcc/avr-libc): EEPROM contents live at this address in an image. */
#define LODEI_AVR_EEPROM_BASE 0x810000u

/* Is `name` an AVR part of the built-in data (case-insensitive)? */
bool lodei_avr_part_known(const char *name);

#endif
