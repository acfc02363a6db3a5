/* SPDX-License-Identifier: MIT */
/* AVR parts (figures from the ATmega datasheets: signature bytes, flash pages, EEPROM, boot
 * size configuration table). */
#include <string.h>
#include <strings.h>

#include "boot/avr_parts.h"

static const lodei_avr_part_s parts[] = {
    {"ATmega328P", {0x1E, 0x95, 0x0F}, 32768, 128, 1024, {512, 1024, 2048, 4096}},
    {"ATmega328", {0x1E, 0x95, 0x14}, 32768, 128, 1024, {512, 1024, 2048, 4096}},
    {"ATmega168", {0x1E, 0x94, 0x06}, 16384, 128, 512, {256, 512, 1024, 2048}},
    {"ATmega168P", {0x1E, 0x94, 0x0B}, 16384, 128, 512, {256, 512, 1024, 2048}},
    {"ATmega8", {0x1E, 0x93, 0x07}, 8192, 64, 512, {256, 512, 1024, 2048}},
    {"ATmega32U4", {0x1E, 0x95, 0x87}, 32768, 128, 1024, {512, 1024, 2048, 4096}},
    {"ATmega2560", {0x1E, 0x98, 0x01}, 262144, 256, 4096, {1024, 2048, 4096, 8192}},
    {"ATmega1280", {0x1E, 0x97, 0x03}, 131072, 256, 4096, {1024, 2048, 4096, 8192}},
};

const lodei_avr_part_s *lodei_avr_part_at(size_t i)
{
    return i < sizeof parts / sizeof parts[0] ? &parts[i] : NULL;
}

const lodei_avr_part_s *lodei_avr_part_by_signature(const uint8_t sig[3])
{
    for (const lodei_avr_part_s *p = parts; p < parts + sizeof parts / sizeof parts[0]; p++)
        if (!memcmp(p->signature, sig, 3))
            return p;
    return NULL;
}

const lodei_avr_part_s *lodei_avr_part_by_name(const char *name)
{
    for (const lodei_avr_part_s *p = parts; name && p < parts + sizeof parts / sizeof parts[0]; p++)
        if (!strcasecmp(p->name, name))
            return p;
    return NULL;
}
