/* SPDX-License-Identifier: MIT */
/* Flashing a chip described by the target database: its NVM regions become planner regions,
 * each with the flash algorithm that covers it; its RAM takes the algorithm and image RAM
 * segments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/flash.h"
#include "lode/loader.h"
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
        r->has_chip_erase = ta->pc_erase_all != LODE_TARGET_PC_NONE;
        if (ta->chip_erase_also_end > ta->chip_erase_also_start && ta->chip_erase_also_end <= 0x100000000ull) {
            r->chip_erase_also_start = (uint32_t)ta->chip_erase_also_start;
            r->chip_erase_also_end = (uint32_t)(ta->chip_erase_also_end > 0xFFFFFFFFull ? 0xFFFFFFFFull : ta->chip_erase_also_end);
        }
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
        a->stream_late_len = ta->stream_late_len;
        a->erase_start = ta->erase_start;
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
    lode_loader_s *l = NULL;
    memset(res, 0, sizeof *res);
    int rc = lode_loader_algo_new(core, chip, log, &l);
    if (rc == LODE_OK)
        rc = lode_loader_flash(l, img, opts, log, res);
    lode_loader_free(l);
    return rc;
}

int lode_flash_erase(const lode_core_ops_s *core, const lode_target_chip_s *chip, bool all,
                     uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                     const lode_log_s *log, lode_flash_result_s *res)
{
    lode_loader_s *l = NULL;
    memset(res, 0, sizeof *res);
    int rc = lode_loader_algo_new(core, chip, log, &l);
    if (rc == LODE_OK)
        rc = lode_loader_erase(l, all, addr, len, opts, log, res);
    lode_loader_free(l);
    return rc;
}
