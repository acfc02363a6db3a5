/* SPDX-License-Identifier: MIT */
/* The loader seam: whatever writes a target's memories -- the flash-algorithm runner over a
 * core (classic calls and LodeStream), a GDB server's vFlash, plain memory writes (RAM), later
 * a bootloader -- under one planner. A loader says which memories it has (flash regions in the
 * planner's terms, and RAM written directly); the planner (flash/plan.c, the only place that
 * decides sectors and pages) turns an image or an erase request into a plan; the loader carries
 * the plan out. `lode flash`, `erase`, `verify`, `run` and the GDB server's load are one call
 * each here, whatever the probe. */
#ifndef LODE_LOADER_H
#define LODE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/flash.h"
#include "lode/image.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lode_target_chip_s;

typedef struct lode_loader_ops_s {
    const char *name;   /* "flash algorithm", "GDB server vFlash", "memory writes" */
    const char *via;    /* for messages after "flashed ...": "" or " through the GDB server" */
    bool verifies;      /* write() honours opts->verify itself (else lode_loader_flash reads back) */
    bool unprotects;    /* erase honours opts->unprotect */
    bool knows_memories; /* layout() names the memories without a chip (a DfuSe device's layout
                            strings): a session over it needs no --chip */
    /* The memories: flash regions (erased by sector, programmed by page) and RAM (written as
     * is). Valid until free. Logs and fails when the loader cannot work at all. */
    int (*layout)(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                  const lode_mem_range_s **ram, size_t *nram);
    /* Before reading for skip_unchanged or verify (e.g. halt the core); may be NULL. */
    int (*prepare)(void *ctx);
    /* Carry out a plan: erase its sectors (those not skipped), program its pages, write its
     * RAM parts. res is cleared by the caller. */
    int (*write)(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *opts, const lode_log_s *log,
                 lode_flash_result_s *res);
    int (*read)(void *ctx, uint32_t addr, void *buf, size_t len);
    /* Reset the target and let it run. */
    int (*reset_run)(void *ctx);
    void (*free)(void *ctx);
    /* Before an erase is planned; may be NULL. A loader that has no erase (a plain DFU 1.1
     * device: a download replaces the firmware) logs why and fails (LODE_E_INVALID_ARG). */
    int (*can_erase)(void *ctx, const lode_log_s *log);
    /* Before an image is planned; may be NULL. A loader refuses an image made for another
     * device (a DFU suffix's VID:PID, a UF2 family) with LODE_E_FORMAT, logged. */
    int (*accept)(void *ctx, const lode_image_s *img, const lode_log_s *log);
} lode_loader_ops_s;

typedef struct lode_loader_s lode_loader_s;

/* For loader implementations: ops->free(ctx) runs at lode_loader_free (and when this fails). */
int lode_loader_new(const lode_loader_ops_s *ops, void *ctx, lode_loader_s **out);
void lode_loader_free(lode_loader_s *l); /* accepts NULL */
const lode_loader_ops_s *lode_loader_ops(const lode_loader_s *l);

/* The flash-algorithm runner over `core` for `chip` (its NVM regions with their algorithms,
 * its RAM). Both borrowed until free. */
int lode_loader_algo_new(const lode_core_ops_s *core, const struct lode_target_chip_s *chip,
                         const lode_log_s *log, lode_loader_s **out);
/* Plain memory writes over `core` into `ram` (copied; NULL/0: the whole 32-bit space): where the
 * target differs, each KiB written and read back. No flash regions. */
int lode_loader_mem_new(const lode_core_ops_s *core, const lode_mem_range_s *ram, size_t nram,
                        lode_loader_s **out);
/* The memory writer itself, for loaders that also have RAM: the image parts `segs` (n) where
 * the target differs; *written += bytes written. LODE_E_VERIFY (logged) when memory does not
 * take them. */
int lode_loader_write_memory(const lode_core_ops_s *core, const lode_segment_s *const *segs, size_t n,
                             const lode_log_s *log, size_t *written);

/* ---- the operations ------------------------------------------------------------------------ */

/* Plan and write `img` (plan.c decides sectors and pages); with opts->verify what was written
 * is checked. res is always written (partial progress on failure). */
int lode_loader_flash(lode_loader_s *l, const lode_image_s *img, const lode_flash_opts_s *opts,
                      const lode_log_s *log, lode_flash_result_s *res);
/* Erase every flash region (all) or the sectors covering [addr, addr+len). LODE_E_RANGE
 * (logged) when that is no flash. */
int lode_loader_erase(lode_loader_s *l, bool all, uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                      const lode_log_s *log, lode_flash_result_s *res);
/* Compare the target's memory with `img`: *checked = bytes compared. LODE_E_VERIFY with the
 * first difference logged ("mismatch at 0x...: target 0x.., image 0x.."). */
int lode_loader_verify(lode_loader_s *l, const lode_image_s *img, const lode_log_s *log, size_t *checked);
int lode_loader_reset_run(lode_loader_s *l);
/* The loader's memories (as ops->layout; valid until the loader is freed). */
int lode_loader_layout(lode_loader_s *l, const lode_log_s *log, const lode_flash_region_s **regions,
                       size_t *nregions, const lode_mem_range_s **ram, size_t *nram);
/* Read the target's memories through the loader (a bootloader's upload). */
int lode_loader_read(lode_loader_s *l, uint32_t addr, void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
