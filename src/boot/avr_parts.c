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
