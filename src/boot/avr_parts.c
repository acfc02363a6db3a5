/* SPDX-License-Identifier: MIT */
/* AVR parts: lookups over the built-in data (data/chips/avr.yaml). */
#include "boot/avr_parts.h"

#include "lode/error.h"

bool lodei_avr_part_known(const char *name)
{
    lode_board_db_s *db = NULL;
    bool known = name && lode_board_db_new(NULL, &db) == LODE_OK && lode_avr_part_find(db, name);
    lode_board_db_free(db);
    return known;
}

int lodei_avr_pick_part(const lode_board_db_s *data, const uint8_t sig[3], const char *chip, bool force,
                        const lode_log_s *log, const lodei_avr_part_s **out)
{
    const lodei_avr_part_s *det = lode_avr_part_by_signature(data, sig);
    const lodei_avr_part_s *named = chip ? lode_avr_part_find(data, chip) : NULL;
    if (chip && !named) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "--chip %s is not an AVR part lode knows (the board says %s)",
                 chip, det ? det->name : "nothing lode knows");
        return LODE_E_INVALID_ARG;
    }
    if (named && named != det && !force) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader reports signature %02X %02X %02X (%s), not %s's: check --chip and the board; "
                 "--force writes anyway", sig[0], sig[1], sig[2], det ? det->name : "unknown", named->name);
        return LODE_E_NO_DEVICE;
    }
    if (!named && !det) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader reports signature %02X %02X %02X, which is no AVR part lode knows: name the chip "
                 "with --chip (and --force)", sig[0], sig[1], sig[2]);
        return LODE_E_NO_DEVICE;
    }
    *out = named ? named : det;
    return LODE_OK;
}

/* the page containing addr in the region `user` */
static int page_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    const lode_flash_region_s *r = user;
    if (addr < r->start || addr >= r->end)
        return LODE_E_RANGE;
    *start = r->start + (addr - r->start) / r->page_size * r->page_size;
    *size = r->page_size;
    return LODE_OK;
}

void lodei_avr_regions(lode_flash_region_s r[LODEI_AVR_NREGIONS], const lodei_avr_part_s *part, uint32_t boot_size)
{
    uint32_t app_end = part->flash_size - boot_size;
    r[LODEI_AVR_R_APP] = (lode_flash_region_s){.name = "flash", .start = 0, .end = app_end,
                                               .page_size = part->page_size, .erased = 0xFF, .sector_at = page_at,
                                               .user = &r[LODEI_AVR_R_APP]};
    r[LODEI_AVR_R_BOOT] = (lode_flash_region_s){.name = "bootloader", .start = app_end, .end = part->flash_size,
                                                .page_size = part->page_size, .erased = 0xFF, .sector_at = page_at,
                                                .user = &r[LODEI_AVR_R_BOOT]};
    r[LODEI_AVR_R_EEPROM] = (lode_flash_region_s){.name = "eeprom", .start = LODEI_AVR_EEPROM_BASE,
                                                  .end = LODEI_AVR_EEPROM_BASE + part->eeprom_size, .page_size = 1,
                                                  .erased = 0xFF, .sector_at = page_at,
                                                  .user = &r[LODEI_AVR_R_EEPROM]};
}
