/* SPDX-License-Identifier: MIT */
/* The vendor table and the dispatch over it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lode/error.h"
#include "target/vendor/vendor.h"

static const lodei_vendor_s *const vendors[] = {&lodei_vendor_stm32, &lodei_vendor_nrf52};
#define NVENDORS (sizeof vendors / sizeof vendors[0])

int lodei_vendor_detect(const lodei_vendor_mem_s *mem, uint16_t designer, const lode_target_db_s *db,
                        const lode_target_chip_s **out, char *why, size_t len)
{
    /* the designer's hook first (ARM's designs no chip: it is no hint), then the others */
    size_t order[NVENDORS], n = 0;
    for (size_t i = 0; designer && designer != LODEI_JEP106_ARM && i < NVENDORS; i++)
        if (vendors[i]->jep106 == designer)
            order[n++] = i;
    bool hinted = n > 0;
    for (size_t i = 0; i < NVENDORS; i++)
        if (!hinted || vendors[i]->jep106 != designer)
            order[n++] = i;
    char notes[NVENDORS][120];
    size_t nn = 0;
    for (size_t k = 0; k < n; k++) {
        int rc = vendors[order[k]]->detect(mem, db, out, why, len);
        if (rc != LODE_E_UNSUPPORTED)
            return rc;
        snprintf(notes[nn++], sizeof notes[0], "%s", why);
    }
    if (nn == 1)
        snprintf(why, len, "%s does not identify it", notes[0]);
    else if (nn >= 2)
        snprintf(why, len, "neither %s nor %s identifies it", notes[0], notes[1]);
    else
        snprintf(why, len, "no vendor hook for JEP106 designer 0x%03x", designer);
    return LODE_E_NO_DEVICE;
}

const char *lodei_vendor_name(uint16_t designer)
{
    for (size_t i = 0; i < NVENDORS; i++)
        if (vendors[i]->jep106 == designer)
            return vendors[i]->name;
    return designer == LODEI_JEP106_ARM ? "ARM" : NULL;
}
