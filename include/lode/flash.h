/* SPDX-License-Identifier: MIT */
/* Flash programming: the planner turns an image into sector erases and page programs; the
 * runner (flash_algo) executes a plan through a CMSIS-Pack style flash algorithm. */
#ifndef LODE_FLASH_H
#define LODE_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/image.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One flash array as the planner sees it. */
typedef struct lode_flash_region_s {
    const char *name;
    uint32_t start, end;   /* [start, end) */
    uint32_t page_size;    /* programming unit (ProgramPage size) */
    uint8_t erased;        /* erased byte value */
    /* the sector containing addr (its start and size); LODE_OK or LODE_E_RANGE */
    int (*sector_at)(const void *user, uint32_t addr, uint32_t *start, uint32_t *size);
    const void *user;
    int algo;              /* caller's tag: which flash algorithm handles this region */
} lode_flash_region_s;

/* RAM the image may also load into (written directly, not through an algorithm). */
typedef struct lode_mem_range_s {
    uint32_t start, end;   /* [start, end) */
} lode_mem_range_s;

typedef struct lode_flash_sector_s {
    uint32_t addr, size;
    unsigned region;       /* index into the regions given to the planner */
    bool skip;             /* contents already match: neither erased nor programmed */
} lode_flash_sector_s;

typedef struct lode_flash_page_s {
    uint32_t addr, size;
    unsigned region;
    size_t sector;         /* index into plan->sectors */
    uint8_t *data;         /* size bytes: image bytes, padding = erased value */
} lode_flash_page_s;

typedef struct lode_flash_plan_s {
    lode_flash_sector_s *sectors; /* sorted by address */
    size_t nsectors;
    lode_flash_page_s *pages;     /* sorted by address; pages of skipped sectors are omitted */
    size_t npages;
    const lode_segment_s **ram;   /* segments (or parts) that go to RAM, borrowed from the image */
    size_t nram;
    bool chip_erase;
    size_t image_flash_bytes;     /* image bytes that land in flash */
} lode_flash_plan_s;

typedef struct lode_flash_plan_opts_s {
    bool chip_erase;       /* erase every region entirely instead of the touched sectors */
    /* skip sectors whose current contents already equal what the plan would leave there;
     * needs `read` (reads current flash contents) */
    bool skip_unchanged;
    int (*read)(void *user, uint32_t addr, void *buf, size_t len);
    void *read_user;
} lode_flash_plan_opts_s;

/* Plan writing `img`. Every image byte must fall in a flash region or a RAM range, otherwise
 * LODE_E_RANGE with a message naming the address and the chip's memory. The plan borrows the
 * image (for RAM segments): free the plan before the image. */
int lode_flash_plan(const lode_image_s *img, const lode_flash_region_s *regions, size_t nregions,
                    const lode_mem_range_s *ram, size_t nram, const lode_flash_plan_opts_s *opts,
                    const lode_log_s *log, lode_flash_plan_s **out);
void lode_flash_plan_free(lode_flash_plan_s *plan);

/* Sectors that a plan erases (not skipped), as "0x08000000-0x080003ff, ..." for messages. */
size_t lode_flash_plan_describe_sectors(const lode_flash_plan_s *plan, size_t first, size_t count,
                                        char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
