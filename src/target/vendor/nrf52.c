/* SPDX-License-Identifier: MIT */
/* Nordic Semiconductor nRF52 (JEP106 0x244): FICR INFO.PART and INFO.VARIANT. */
#include <stdio.h>

#include "lode/error.h"
#include "target/vendor/vendor.h"

#define NRF_FICR_INFO_PART 0x10000100u
#define NRF_FICR_INFO_VARIANT 0x10000104u

static int detect(const lodei_vendor_mem_s *mem, const lode_target_db_s *db, const lode_target_chip_s **out,
                  char *why, size_t len)
{
    uint32_t part = 0, variant = 0;
    const lode_target_id_s *id = NULL;
    if (mem->read32(mem->ctx, NRF_FICR_INFO_PART, &part) != LODE_OK ||
        mem->read32(mem->ctx, NRF_FICR_INFO_VARIANT, &variant) != LODE_OK ||
        lode_target_detect_nrf52(part, variant, &id) != LODE_OK) {
        snprintf(why, len, "an nRF52 FICR (INFO.PART 0x%08x)", part);
        return LODE_E_UNSUPPORTED;
    }
    if (lode_target_find_detected(db, id, 0, out) == LODE_OK)
        return LODE_OK;
    snprintf(why, len, "FICR INFO.PART 0x%x matches no chip in the database", part);
    return LODE_E_NO_DEVICE;
}

const lodei_vendor_s lodei_vendor_nrf52 = {.name = "Nordic Semiconductor", .jep106 = 0x244, .detect = detect};
