/* SPDX-License-Identifier: MIT */
/* The loader seam (loader.h): the operations every loader shares (plan with plan.c, write,
 * verify by reading back), and two loaders over a core: the flash-algorithm runner and plain
 * memory writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/loader.h"
#include "lode/target.h"

struct lode_loader_s {
    const lode_loader_ops_s *ops;
    void *ctx;
    bool prepared; /* prepare ran for the planner's reads of this flash */
};

int lode_loader_new(const lode_loader_ops_s *ops, void *ctx, lode_loader_s **out)
{
    lode_loader_s *l = ops && out ? calloc(1, sizeof *l) : NULL;
    if (!l) {
        if (ops && ops->free)
            ops->free(ctx);
        return ops && out ? LODE_E_NOMEM : LODE_E_INVALID_ARG;
    }
    l->ops = ops;
    l->ctx = ctx;
    *out = l;
    return LODE_OK;
}

void lode_loader_free(lode_loader_s *l)
{
    if (!l)
        return;
    if (l->ops->free)
        l->ops->free(l->ctx);
    free(l);
}

const lode_loader_ops_s *lode_loader_ops(const lode_loader_s *l) { return l ? l->ops : NULL; }

/* The planner's reads (skip-unchanged, what a chip erase must restore): reading flash needs
 * a halted, attached core on most probes. */
static int read_cb(void *user, uint32_t addr, void *buf, size_t len)
{
    lode_loader_s *l = user;
    if (!l->prepared && l->ops->prepare) {
        int rc = l->ops->prepare(l->ctx);
        if (rc != LODE_OK)
            return rc;
    }
    l->prepared = true;
    return l->ops->read(l->ctx, addr, buf, len);
}

/* ---- the operations ------------------------------------------------------------------------ */

static int readback(lode_loader_s *l, const lode_image_s *img, const lode_log_s *log, size_t *checked)
{
    uint8_t buf[1024];
    size_t done = 0;
    int rc = LODE_OK;
    for (size_t i = 0; i < img->nsegs && rc == LODE_OK; i++) {
        const lode_segment_s *sg = &img->segs[i];
        for (uint32_t off = 0; off < sg->len && rc == LODE_OK;) {
            uint32_t n = sg->len - off < sizeof buf ? sg->len - off : (uint32_t)sizeof buf;
            if ((rc = l->ops->read(l->ctx, sg->addr + off, buf, n)) != LODE_OK) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "reading 0x%08x..0x%08x failed: %s", sg->addr + off,
                         sg->addr + off + n - 1, lode_strerror(rc));
                break;
            }
            for (uint32_t k = 0; k < n; k++)
                if (buf[k] != sg->data[off + k]) {
                    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "mismatch at 0x%08x: target 0x%02x, image 0x%02x",
                             sg->addr + off + k, buf[k], sg->data[off + k]);
                    return LODE_E_VERIFY;
                }
            done += n;
            off += n;
        }
    }
    if (checked)
        *checked = done;
    return rc;
}

int lode_loader_verify(lode_loader_s *l, const lode_image_s *img, const lode_log_s *log, size_t *checked)
{
    if (!l || !img)
        return LODE_E_INVALID_ARG;
    return readback(l, img, log, checked); /* the core may go on running */
}

int lode_loader_flash(lode_loader_s *l, const lode_image_s *img, const lode_flash_opts_s *opts,
                      const lode_log_s *log, lode_flash_result_s *res)
{
    static const lode_flash_opts_s none;
    lode_flash_opts_s o = opts ? *opts : none;
    memset(res, 0, sizeof *res);
    if (!l || !img)
        return LODE_E_INVALID_ARG;
    const lode_flash_region_s *regions = NULL;
    const lode_mem_range_s *ram = NULL;
    size_t nregions = 0, nram = 0;
    int rc = l->ops->accept ? l->ops->accept(l->ctx, img, log) : LODE_OK;
    if (rc == LODE_OK)
        rc = l->ops->layout(l->ctx, log, &regions, &nregions, &ram, &nram);
    if (rc != LODE_OK)
        return rc;
    if (!o.read && l->ops->read) {
        o.read = read_cb;
        o.read_user = l;
    }
    l->prepared = false;
    /* reading flash needs a halted, attached core on most probes */
    if (o.skip_unchanged && l->ops->prepare && (rc = l->ops->prepare(l->ctx)) != LODE_OK)
        return rc;
    l->prepared = o.skip_unchanged;
    lode_flash_plan_s *plan = NULL;
    if ((rc = lode_flash_plan(img, regions, nregions, ram, nram, &o, log, &plan)) != LODE_OK)
        return rc;
    if (plan->nsectors || plan->npages || plan->nram)
        rc = l->ops->write(l->ctx, plan, &o, log, res);
    lode_flash_plan_free(plan);
    if (rc == LODE_OK && o.verify && !l->ops->verifies) {
        if (o.progress)
            o.progress(o.progress_user, LODE_FLASH_PHASE_VERIFY, 0, 1);
        rc = readback(l, img, log, &res->bytes_verified);
        if (o.progress)
            o.progress(o.progress_user, LODE_FLASH_PHASE_VERIFY, 1, 1);
    }
    return rc;
}

int lode_loader_erase(lode_loader_s *l, bool all, uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                      const lode_log_s *log, lode_flash_result_s *res)
{
    static const lode_flash_opts_s none;
    memset(res, 0, sizeof *res);
    if (!l)
        return LODE_E_INVALID_ARG;
    const lode_flash_region_s *regions = NULL;
    const lode_mem_range_s *ram = NULL;
    size_t nregions = 0, nram = 0;
    int rc = l->ops->can_erase ? l->ops->can_erase(l->ctx, log) : LODE_OK;
    if (rc == LODE_OK && opts && opts->unprotect && !l->ops->unprotects) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "--unprotect: the %s loader cannot remove read protection (DfuSe devices can)", l->ops->name);
        rc = LODE_E_INVALID_ARG;
    }
    if (rc == LODE_OK)
        rc = l->ops->layout(l->ctx, log, &regions, &nregions, &ram, &nram);
    lode_flash_plan_s *plan = NULL;
    if (rc == LODE_OK)
        rc = lode_flash_plan_erase(regions, nregions, all, addr, len, log, &plan);
    if (rc == LODE_OK)
        rc = l->ops->write(l->ctx, plan, opts ? opts : &none, log, res);
    lode_flash_plan_free(plan);
    return rc;
}

int lode_loader_reset_run(lode_loader_s *l)
{
    return l && l->ops->reset_run ? l->ops->reset_run(l->ctx) : LODE_E_UNSUPPORTED;
}

int lode_loader_layout(lode_loader_s *l, const lode_log_s *log, const lode_flash_region_s **regions,
                       size_t *nregions, const lode_mem_range_s **ram, size_t *nram)
{
    return l ? l->ops->layout(l->ctx, log, regions, nregions, ram, nram) : LODE_E_INVALID_ARG;
}

int lode_loader_read(lode_loader_s *l, uint32_t addr, void *buf, size_t len)
{
    return l && l->ops->read ? l->ops->read(l->ctx, addr, buf, len) : LODE_E_UNSUPPORTED;
}

/* ---- plain memory writes --------------------------------------------------------------------- */

int lode_loader_write_memory(const lode_core_ops_s *core, const lode_segment_s *const *segs, size_t n,
                             const lode_log_s *log, size_t *written)
{
    uint8_t buf[1024];
    for (size_t i = 0; i < n; i++) {
        const lode_segment_s *sg = segs[i];
        for (uint32_t off = 0; off < sg->len;) {
            uint32_t m = sg->len - off < sizeof buf ? sg->len - off : (uint32_t)sizeof buf;
            int rc = core->mem_read(core->ctx, sg->addr + off, buf, m);
            if (rc == LODE_OK && memcmp(buf, sg->data + off, m) == 0) {
                off += m;
                continue;
            }
            if ((rc = core->mem_write(core->ctx, sg->addr + off, sg->data + off, m)) == LODE_OK)
                rc = core->mem_read(core->ctx, sg->addr + off, buf, m);
            if (rc != LODE_OK || memcmp(buf, sg->data + off, m) != 0) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "the image does not load at 0x%08x by memory writes (%s): program the "
                         "flash another way first (or give the server the image, e.g. QEMU's "
                         "-kernel)", sg->addr + off, rc != LODE_OK ? lode_strerror(rc) : "it reads back different");
                return rc != LODE_OK ? rc : LODE_E_VERIFY;
            }
            if (written)
                *written += m;
            off += m;
        }
    }
    return LODE_OK;
}

typedef struct mem_loader_s {
    const lode_core_ops_s *core;
    lode_mem_range_s *ram;
    size_t nram;
} mem_loader_s;

static int ml_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    mem_loader_s *m = ctx;
    *regions = NULL;
    *nregions = 0;
    *ram = m->ram;
    *nram = m->nram;
    return LODE_OK;
}

static int ml_prepare(void *ctx)
{
    mem_loader_s *m = ctx;
    return m->core->halt(m->core->ctx);
}

static int ml_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    (void)o;
    mem_loader_s *m = ctx;
    if (plan->nsectors)
        return LODE_E_UNSUPPORTED;
    return lode_loader_write_memory(m->core, plan->ram, plan->nram, log, &res->bytes_programmed);
}

static int ml_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    mem_loader_s *m = ctx;
    return m->core->mem_read(m->core->ctx, addr, buf, len);
}

static int ml_reset_run(void *ctx)
{
    mem_loader_s *m = ctx;
    return m->core->reset(m->core->ctx, false);
}

static void ml_free(void *ctx)
{
    mem_loader_s *m = ctx;
    free(m->ram);
    free(m);
}

static const lode_loader_ops_s mem_loader_ops = {
    .name = "memory writes",
    .via = " by memory writes",
    .layout = ml_layout,
    .prepare = ml_prepare,
    .write = ml_write,
    .read = ml_read,
    .reset_run = ml_reset_run,
    .free = ml_free,
};

int lode_loader_mem_new(const lode_core_ops_s *core, const lode_mem_range_s *ram, size_t nram,
                        lode_loader_s **out)
{
    if (!core || !out || (nram && !ram))
        return LODE_E_INVALID_ARG;
    mem_loader_s *m = calloc(1, sizeof *m);
    lode_mem_range_s *r = calloc(nram ? nram : 1, sizeof *r);
    if (!m || !r) {
        free(m);
        free(r);
        return LODE_E_NOMEM;
    }
    if (nram)
        memcpy(r, ram, nram * sizeof *r);
    else
        r[0] = (lode_mem_range_s){0, 0xFFFFFFFFu};
    m->core = core;
    m->ram = r;
    m->nram = nram ? nram : 1;
    return lode_loader_new(&mem_loader_ops, m, out);
}

/* ---- the flash-algorithm runner ------------------------------------------------------------- */

typedef struct algo_loader_s {
    const lode_core_ops_s *core;
    const lode_target_chip_s *chip;
    lode_flash_layout_s *lay;
} algo_loader_s;

static int al_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    algo_loader_s *a = ctx;
    if (!a->lay->nregions) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "%s has no flash algorithm in this build: give one with --chip-description FILE", a->chip->name);
        return LODE_E_UNSUPPORTED;
    }
    *regions = a->lay->regions;
    *nregions = a->lay->nregions;
    *ram = a->lay->ram;
    *nram = a->lay->nram;
    return LODE_OK;
}

static int al_prepare(void *ctx)
{
    algo_loader_s *a = ctx;
    return a->core->halt(a->core->ctx);
}

static int al_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    algo_loader_s *a = ctx;
    return lode_flash_run(a->core, a->lay->algo_ptrs, a->lay->nregions, plan, &a->lay->work_ram, o, log, res);
}

static int al_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    algo_loader_s *a = ctx;
    return a->core->mem_read(a->core->ctx, addr, buf, len);
}

static int al_reset_run(void *ctx)
{
    algo_loader_s *a = ctx;
    return a->core->reset(a->core->ctx, false);
}

static void al_free(void *ctx)
{
    algo_loader_s *a = ctx;
    lode_flash_layout_free(a->lay);
    free(a);
}

static const lode_loader_ops_s algo_loader_ops = {
    .name = "flash algorithm",
    .via = "",
    .verifies = true,
    .layout = al_layout,
    .prepare = al_prepare,
    .write = al_write,
    .read = al_read,
    .reset_run = al_reset_run,
    .free = al_free,
};

int lode_loader_algo_new(const lode_core_ops_s *core, const lode_target_chip_s *chip, const lode_log_s *log,
                         lode_loader_s **out)
{
    if (!core || !chip || !out)
        return LODE_E_INVALID_ARG;
    algo_loader_s *a = calloc(1, sizeof *a);
    if (!a)
        return LODE_E_NOMEM;
    a->core = core;
    a->chip = chip;
    int rc = lode_flash_layout_for_chip(chip, log, &a->lay);
    if (rc != LODE_OK) {
        free(a);
        return rc;
    }
    return lode_loader_new(&algo_loader_ops, a, out);
}
