/* SPDX-License-Identifier: MIT */
/* STMicroelectronics STM32 (JEP106 0x020): DBGMCU_IDCODE (readable while the core runs) and the
 * flash-size register the ID names. */
#include <stdio.h>

#include "lode/error.h"
#include "target/vendor/vendor.h"

#define STM32_DBGMCU_IDCODE 0xE0042000u

static int detect(const lodei_vendor_mem_s *mem, const lode_target_db_s *db, const lode_target_chip_s **out,
                  char *why, size_t len)
{
    uint32_t idcode = 0;
    const lode_target_id_s *id = NULL;
    if (mem->read32(mem->ctx, STM32_DBGMCU_IDCODE, &idcode) != LODE_OK || !idcode ||
        lode_target_detect_stm32(idcode, &id) != LODE_OK) {
        snprintf(why, len, "an STM32 DBGMCU_IDCODE (read 0x%08x)", idcode);
        return LODE_E_UNSUPPORTED;
    }
    uint16_t kib = 0;
    if (id->flash_size_addr)
        mem->read16(mem->ctx, id->flash_size_addr, &kib);
    if (lode_target_find_detected(db, id, kib, out) == LODE_OK)
        return LODE_OK;
    snprintf(why, len, "DBGMCU_IDCODE 0x%08x (%s, %u KiB flash) matches no chip in the database", idcode,
             id->description, kib);
    return LODE_E_NO_DEVICE;
}

const lodei_vendor_s lodei_vendor_stm32 = {.name = "STMicroelectronics", .jep106 = 0x020, .detect = detect};
