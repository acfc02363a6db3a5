/* SPDX-License-Identifier: MIT */
/* Vendor hooks (private to liblode): how a chip family identifies itself. One row per vendor,
 * keyed by its JEP106 designer code (continuation code << 8 | identity, as lode_adi_component_s
 * has it from a ROM table's PIDR: ST 0x020, Nordic 0x244, ARM 0x43B);
 * each hook reads the family's ID registers through `mem` and looks the result up in the chip
 * database. Adding a family: a file here and a row in vendor.c. */
#ifndef LODE_TARGET_VENDOR_H
#define LODE_TARGET_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "lode/target.h"

typedef struct lodei_vendor_mem_s {
    int (*read32)(void *ctx, uint32_t addr, uint32_t *val);
    int (*read16)(void *ctx, uint32_t addr, uint16_t *val);
    void *ctx;
} lodei_vendor_mem_s;

/* LODE_OK: *out found. LODE_E_NO_DEVICE: the family is recognised but the database has no such
 * chip (why says so; stop looking). LODE_E_UNSUPPORTED: not this family; `why` gets what was
 * read ("an STM32 DBGMCU_IDCODE (read 0x00000000)"). */
typedef int (*lodei_vendor_detect_fn)(const lodei_vendor_mem_s *mem, const lode_target_db_s *db,
                                      const lode_target_chip_s **out, char *why, size_t len);

typedef struct lodei_vendor_s {
    const char *name;
    uint16_t jep106;
    lodei_vendor_detect_fn detect;
} lodei_vendor_s;

extern const lodei_vendor_s lodei_vendor_stm32;
extern const lodei_vendor_s lodei_vendor_nrf52;

#define LODEI_JEP106_ARM 0x43Bu

/* Identify the chip: the hook of `designer` (the ROM table's, 0 = unknown) first, then every
 * other hook in turn (all of them in table order when the designer is unknown, ARM's or has no
 * hook). LODE_E_NO_DEVICE with `why` naming what was read when nothing matches. */
int lodei_vendor_detect(const lodei_vendor_mem_s *mem, uint16_t designer, const lode_target_db_s *db,
                        const lode_target_chip_s **out, char *why, size_t len);
/* The vendor's name for a designer code ("ARM" for 0x43B), NULL when no hook has it. */
const char *lodei_vendor_name(uint16_t designer);

#endif
