/* SPDX-License-Identifier: MIT */
/* AVR parts as data: what a bootloader client needs (signature, flash and page size, EEPROM,
 * the boot section sizes the BOOTSZ fuses select). Private to liblode. */
#ifndef LODE_BOOT_AVR_PARTS_H
#define LODE_BOOT_AVR_PARTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lodei_avr_part_s {
    const char *name;           /* "ATmega328P" */
    uint8_t signature[3];
    uint32_t flash_size;        /* bytes */
    uint16_t page_size;         /* flash page, bytes */
    uint16_t eeprom_size;       /* bytes */
    uint16_t boot_sizes[4];     /* the BOOTSZ choices, bytes, smallest first */
} lodei_avr_part_s;

/* AVR ELF convention (avr-gcc/avr-libc): EEPROM contents live at this address in an image. */
#define LODEI_AVR_EEPROM_BASE 0x810000u

const lodei_avr_part_s *lodei_avr_part_by_signature(const uint8_t sig[3]);
/* case-insensitive name ("atmega328p") */
const lodei_avr_part_s *lodei_avr_part_by_name(const char *name);
const lodei_avr_part_s *lodei_avr_part_at(size_t i); /* NULL past the end */

#endif
