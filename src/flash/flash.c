/* SPDX-License-Identifier: MIT */
/* Flashing a chip described by the target database: its NVM regions become planner regions,
 * each with the flash algorithm that covers it; its RAM takes the algorithm and image RAM
 * segments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/flash.h"
#include "lode/target.h"

static int sector_cb(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    uint64_t s = 0, z = 0;
    int rc = lode_target_sector_at(user, addr, &s, &z);
    if (rc != LODE_OK || s > 0xFFFFFFFFull || z > 0xFFFFFFFFull)
        return LODE_E_RANGE;
    *start = (uint32_t)s;
    *size = (uint32_t)z;
    return LODE_OK;
}

void lode_flash_layout_free(lode_flash_layout_s *l)
{
    if (!l)
        return;
    free(l->regions);
    free(l->algos);
    free(l->algo_ptrs);
    free(l->ram);
    free(l);
}

int lode_flash_layout_for_chip(const lode_target_chip_s *chip, const lode_log_s *log,
                               lode_flash_layout_s **out)
{
    lode_flash_layout_s *l = calloc(1, sizeof *l);
    size_t n = chip->nmemory;
    if (!l)
        return LODE_E_NOMEM;
    l->regions = calloc(n ? n : 1, sizeof *l->regions);
    l->algos = calloc(n ? n : 1, sizeof *l->algos);
    l->algo_ptrs = calloc(n ? n : 1, sizeof *l->algo_ptrs);
    l->ram = calloc(n ? n : 1, sizeof *l->ram);
    int rc = LODE_OK;
    if (!l->regions || !l->algos || !l->algo_ptrs || !l->ram) {
        rc = LODE_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const lode_target_mem_s *m = &chip->memory[i];
        if (m->start > 0xFFFFFFFFull || m->end > 0x100000000ull)
            continue;
        if (m->kind == LODE_TARGET_MEM_RAM) {
            l->ram[l->nram].start = (uint32_t)m->start;
            l->ram[l->nram].end = (uint32_t)(m->end > 0xFFFFFFFFull ? 0xFFFFFFFFull : m->end);
            l->nram++;
            continue;
        }
        if (m->kind != LODE_TARGET_MEM_NVM || m->is_alias)
            continue;
        const lode_target_flash_algo_s *ta = lode_target_flash_algo_for(chip, m->start);
        if (!ta) {
            /* described flash without an algorithm: data there is an error at plan time */
            lode_log(log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                     "no flash algorithm covers %s at 0x%08llx", m->name,
                     (unsigned long long)m->start);
            continue;
        }
        lode_flash_region_s *r = &l->regions[l->nregions];
        lode_flash_algo_s *a = &l->algos[l->nregions];
        uint64_t lo = m->start > ta->flash_start ? m->start : ta->flash_start;
        uint64_t hi = m->end < ta->flash_end ? m->end : ta->flash_end;
        if (hi <= lo || hi > 0xFFFFFFFFull)
            continue;
        r->name = m->name && *m->name ? m->name : "flash";
        r->start = (uint32_t)lo;
        r->end = (uint32_t)hi;
        r->page_size = ta->page_size;
        r->erased = ta->erased_byte_value;
        r->sector_at = sector_cb;
        r->user = ta;
        r->algo = (int)l->nregions;
        a->name = ta->name;
        a->instructions = ta->instructions;
        a->instructions_len = ta->instructions_len;
        a->has_load_address = ta->has_load_address;
        a->load_address = (uint32_t)ta->load_address;
        a->pc_init = ta->pc_init;
        a->pc_uninit = ta->pc_uninit;
        a->pc_program_page = ta->pc_program_page;
        a->pc_erase_sector = ta->pc_erase_sector;
        a->pc_erase_all = ta->pc_erase_all;
        a->pc_stream = ta->pc_stream;
        a->data_section_offset = ta->data_section_offset;
        a->flash_start = (uint32_t)ta->flash_start;
        a->flash_end = (uint32_t)(ta->flash_end > 0xFFFFFFFFull ? 0xFFFFFFFFull : ta->flash_end);
        a->page_size = ta->page_size;
        a->erased = ta->erased_byte_value;
        a->program_page_timeout_ms = ta->program_page_timeout_ms ? ta->program_page_timeout_ms : 1000;
        a->erase_sector_timeout_ms = ta->erase_sector_timeout_ms ? ta->erase_sector_timeout_ms : 2000;
        l->algo_ptrs[l->nregions] = a;
        l->nregions++;
    }
    if (!l->nram) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the description of %s has no RAM to run a flash algorithm in", chip->name);
        rc = LODE_E_UNSUPPORTED;
        goto fail;
    }
    /* algorithms run in the first RAM region (the one at the lowest address) */
    l->work_ram = l->ram[0];
    for (size_t i = 1; i < l->nram; i++)
        if (l->ram[i].start < l->work_ram.start)
            l->work_ram = l->ram[i];
    *out = l;
    return LODE_OK;
fail:
    lode_flash_layout_free(l);
    return rc;
}

int lode_flash_image(const lode_core_ops_s *core, const lode_target_chip_s *chip,
                     const lode_image_s *img, const lode_flash_opts_s *opts, const lode_log_s *log,
                     lode_flash_result_s *res)
{
    static const lode_flash_opts_s no_opts;
    const lode_flash_opts_s *o = opts ? opts : &no_opts;
    lode_flash_layout_s *l = NULL;
    lode_flash_plan_s *plan = NULL;
    memset(res, 0, sizeof *res);
    int rc = lode_flash_layout_for_chip(chip, log, &l);
    if (rc != LODE_OK)
        return rc;
    if (!l->nregions) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "%s has no flash algorithm in this build: give one with --chip-description FILE",
                 chip->name);
        rc = LODE_E_UNSUPPORTED;
        goto out;
    }
    lode_flash_plan_opts_s po = {.chip_erase = o->chip_erase, .skip_unchanged = o->skip_unchanged,
                                 .read = core->mem_read, .read_user = core->ctx};
    if (o->skip_unchanged) {
        /* reading flash needs a halted, attached core on most probes: halt first */
        if ((rc = core->halt(core->ctx)) != LODE_OK)
            goto out;
    }
    if ((rc = lode_flash_plan(img, l->regions, l->nregions, l->ram, l->nram, &po, log, &plan)) != LODE_OK)
        goto out;
    lode_flash_run_opts_s ro = {.verify = o->verify, .verify_readback = o->verify_readback,
                                .no_stream = o->no_stream, .single_buffer = o->single_buffer,
                                .no_reset_halt = o->no_reset_halt,
                                .progress = o->progress, .progress_user = o->progress_user};
    rc = lode_flash_run(core, l->algo_ptrs, l->nregions, plan, &l->work_ram, &ro, log, res);
out:
    lode_flash_plan_free(plan);
    lode_flash_layout_free(l);
    return rc;
}

int lode_flash_erase(const lode_core_ops_s *core, const lode_target_chip_s *chip, bool all,
                     uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                     const lode_log_s *log, lode_flash_result_s *res)
{
    static const lode_flash_opts_s no_opts;
    const lode_flash_opts_s *o = opts ? opts : &no_opts;
    lode_flash_layout_s *l = NULL;
    lode_flash_plan_s *plan = NULL;
    memset(res, 0, sizeof *res);
    int rc = lode_flash_layout_for_chip(chip, log, &l);
    if (rc != LODE_OK)
        return rc;
    if (!l->nregions) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "%s has no flash algorithm in this build: give one with --chip-description FILE",
                 chip->name);
        rc = LODE_E_UNSUPPORTED;
        goto out;
    }
    plan = calloc(1, sizeof *plan);
    if (!plan) {
        rc = LODE_E_NOMEM;
        goto out;
    }
    plan->chip_erase = all;
    /* collect the sectors to erase */
    size_t cap = 0;
    for (size_t ri = 0; ri < l->nregions && rc == LODE_OK; ri++) {
        const lode_flash_region_s *r = &l->regions[ri];
        uint64_t lo = all ? r->start : addr, hi = all ? r->end : (uint64_t)addr + len;
        if (lo < r->start)
            lo = r->start;
        if (hi > r->end)
            hi = r->end;
        uint64_t a = lo;
        while (a < hi) {
            uint32_t ss = 0, sz = 0;
            if ((rc = r->sector_at(r->user, (uint32_t)a, &ss, &sz)) != LODE_OK || !sz)
                break;
            if (plan->nsectors == cap) {
                size_t nc = cap ? cap * 2 : 16;
                lode_flash_sector_s *ns = realloc(plan->sectors, nc * sizeof *ns);
                if (!ns) {
                    rc = LODE_E_NOMEM;
                    break;
                }
                plan->sectors = ns;
                cap = nc;
            }
            lode_flash_sector_s *s = &plan->sectors[plan->nsectors++];
            s->addr = ss;
            s->size = sz;
            s->region = (unsigned)ri;
            s->skip = false;
            a = (uint64_t)ss + sz;
        }
    }
    if (rc == LODE_OK && !plan->nsectors) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "0x%08x..0x%08x is not in the flash of %s: nothing to erase", addr,
                 addr + (len ? len - 1 : 0), chip->name);
        rc = LODE_E_RANGE;
    }
    if (rc == LODE_OK) {
        lode_flash_run_opts_s ro = {.no_reset_halt = o->no_reset_halt, .progress = o->progress,
                                    .progress_user = o->progress_user};
        rc = lode_flash_run(core, l->algo_ptrs, l->nregions, plan, &l->work_ram, &ro, log, res);
    }
out:
    lode_flash_plan_free(plan);
    lode_flash_layout_free(l);
    return rc;
}

int lode_flash_load_by_memory(const lode_core_ops_s *core, const lode_image_s *img,
                              const lode_log_s *log, size_t *written)
{
    if (!core || !img)
        return LODE_E_INVALID_ARG;
    size_t total = 0;
    uint8_t buf[1024];
    for (size_t i = 0; i < img->nsegs; i++) {
        const lode_segment_s *sg = &img->segs[i];
        for (uint32_t off = 0; off < sg->len;) {
            uint32_t n = sg->len - off < sizeof buf ? sg->len - off : (uint32_t)sizeof buf;
            int rc = core->mem_read(core->ctx, sg->addr + off, buf, n);
            if (rc == LODE_OK && memcmp(buf, sg->data + off, n) == 0) {
                off += n;
                continue;
            }
            if ((rc = core->mem_write(core->ctx, sg->addr + off, sg->data + off, n)) == LODE_OK)
                rc = core->mem_read(core->ctx, sg->addr + off, buf, n);
            if (rc != LODE_OK || memcmp(buf, sg->data + off, n) != 0) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "the image does not load at 0x%08x by memory writes (%s): program the "
                         "flash another way first (or give the server the image, e.g. QEMU's "
                         "-kernel)", sg->addr + off, rc != LODE_OK ? lode_strerror(rc) : "it reads back different");
                return rc != LODE_OK ? rc : LODE_E_VERIFY;
            }
            total += n;
            off += n;
        }
    }
    if (written)
        *written = total;
    return LODE_OK;
}
