/* SPDX-License-Identifier: MIT */
/* The flash planner: which sectors to erase and which pages to program for an image.
 * - image bytes are merged per page; the rest of a page is padded with the erased value;
 * - only sectors the image touches are erased (or all of them with chip_erase); a region
 *   whose every sector the image touches is erased with its chip erase, and what that erase
 *   wipes in other regions (nRF52 ERASEALL: the UICR) is read back and programmed again;
 *   such wiped sectors are never erased a second time;
 * - with skip_unchanged, a sector whose current contents equal what erase+program would leave
 *   (image bytes, erased value elsewhere) is left alone;
 * - bytes in RAM are passed through for direct writes;
 * - an erase request (everything, or a range) becomes the sectors that cover it.
 * This is the only place that decides sectors and pages: every loader executes its plans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/flash.h"

#define PLAN_MAX_SECTORS (1u << 20)

void lode_flash_plan_free(lode_flash_plan_s *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->npages; i++)
        free(plan->pages[i].data);
    free(plan->pages);
    free(plan->sectors);
    free(plan->ram);
    free(plan);
}

static int find_region(const lode_flash_region_s *r, size_t n, uint32_t addr)
{
    for (size_t i = 0; i < n; i++)
        if (addr >= r[i].start && addr < r[i].end)
            return (int)i;
    return -1;
}

static bool in_ram(const lode_mem_range_s *ram, size_t n, uint32_t addr, uint32_t len)
{
    for (size_t i = 0; i < n; i++)
        if (addr >= ram[i].start && (uint64_t)addr + len <= ram[i].end)
            return true;
    return false;
}

/* Add sector [start, start+size) of region ri if not yet present (sectors kept sorted). */
static int add_sector(lode_flash_plan_s *p, size_t *cap, uint32_t start, uint32_t size, unsigned ri)
{
    size_t lo = 0, hi = p->nsectors;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->sectors[mid].addr < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->nsectors && p->sectors[lo].addr == start)
        return LODE_OK;
    if (p->nsectors >= PLAN_MAX_SECTORS)
        return LODE_E_NOMEM;
    if (p->nsectors == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        lode_flash_sector_s *ns = realloc(p->sectors, nc * sizeof *ns);
        if (!ns)
            return LODE_E_NOMEM;
        p->sectors = ns;
        *cap = nc;
    }
    memmove(&p->sectors[lo + 1], &p->sectors[lo], (p->nsectors - lo) * sizeof *p->sectors);
    p->sectors[lo] = (lode_flash_sector_s){.addr = start, .size = size, .region = ri};
    p->nsectors++;
    return LODE_OK;
}

static size_t sector_index(const lode_flash_plan_s *p, uint32_t addr)
{
    size_t lo = 0, hi = p->nsectors;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->sectors[mid].addr + (uint64_t)p->sectors[mid].size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int page_for(lode_flash_plan_s *p, size_t *cap, const lode_flash_region_s *r, unsigned ri,
                    uint32_t addr, lode_flash_page_s **out)
{
    uint32_t base = r->start + (addr - r->start) / r->page_size * r->page_size;
    uint32_t size = r->page_size;
    if ((uint64_t)base + size > r->end)
        size = r->end - base;
    /* pages are created in address order per segment, but segments may interleave: search */
    size_t lo = 0, hi = p->npages;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->pages[mid].addr < base)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->npages && p->pages[lo].addr == base) {
        *out = &p->pages[lo];
        return LODE_OK;
    }
    if (p->npages == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        lode_flash_page_s *np = realloc(p->pages, nc * sizeof *np);
        if (!np)
            return LODE_E_NOMEM;
        p->pages = np;
        *cap = nc;
    }
    uint8_t *data = malloc(size);
    if (!data)
        return LODE_E_NOMEM;
    memset(data, r->erased, size);
    memmove(&p->pages[lo + 1], &p->pages[lo], (p->npages - lo) * sizeof *p->pages);
    p->pages[lo].addr = base;
    p->pages[lo].size = size;
    p->pages[lo].region = ri;
    p->pages[lo].sector = 0;
    p->pages[lo].data = data;
    p->npages++;
    *out = &p->pages[lo];
    return LODE_OK;
}

/* Every sector of region ri. */
static int add_region(lode_flash_plan_s *p, size_t *scap, const lode_flash_region_s *regions, size_t ri)
{
    const lode_flash_region_s *r = &regions[ri];
    uint64_t a = r->start;
    while (a < r->end) {
        uint32_t ss = 0, sz = 0;
        if (r->sector_at(r->user, (uint32_t)a, &ss, &sz) != LODE_OK || !sz)
            return LODE_E_RANGE;
        int rc = add_sector(p, scap, ss, sz, (unsigned)ri);
        if (rc != LODE_OK)
            return rc;
        if ((uint64_t)ss + sz <= a)
            break;
        a = (uint64_t)ss + sz;
    }
    return LODE_OK;
}

/* Does region c's chip erase wipe region r (another one) entirely, or part of it? */
static bool wipes_all(const lode_flash_region_s *c, const lode_flash_region_s *r)
{
    return c != r && c->chip_erase_also_end > c->chip_erase_also_start &&
           r->start >= c->chip_erase_also_start && r->end <= c->chip_erase_also_end;
}

static bool wipes_some(const lode_flash_region_s *c, const lode_flash_region_s *r)
{
    return c != r && c->chip_erase_also_end > c->chip_erase_also_start &&
           r->start < c->chip_erase_also_end && r->end > c->chip_erase_also_start;
}

/* Sectors of regions that a chosen chip erase wipes: never erased on their own (their region
 * is no longer erased with its own chip erase either). */
static void mark_wiped(lode_flash_plan_s *p, const lode_flash_region_s *regions, size_t nregions)
{
    for (size_t ci = 0; ci < nregions && ci < 32; ci++) {
        if (!(p->chip_regions >> ci & 1u))
            continue;
        for (size_t si = 0; si < p->nsectors; si++) {
            lode_flash_sector_s *s = &p->sectors[si];
            if (wipes_all(&regions[ci], &regions[s->region])) {
                s->wiped = true;
                s->wiped_by = (unsigned)ci;
                s->skip = false;
                p->chip_regions &= ~(1u << s->region);
            }
        }
    }
}

static lode_flash_page_s *find_page(lode_flash_plan_s *p, uint32_t addr)
{
    size_t lo = 0, hi = p->npages;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->pages[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->npages && p->pages[lo].addr == addr ? &p->pages[lo] : NULL;
}

/* Read region w back and merge it under the image: its pages then hold what must be there
 * after a chip erase wiped it (the image's bytes, the current contents elsewhere). */
static int restore_region(const lode_image_s *img, lode_flash_plan_s *p, size_t *pcap,
                          const lode_flash_region_s *regions, size_t wi, const lode_mem_range_s *ram,
                          size_t nram, const lode_flash_opts_s *o)
{
    const lode_flash_region_s *r = &regions[wi];
    size_t size = r->end - r->start;
    uint8_t *cur = malloc(size);
    if (!cur)
        return LODE_E_NOMEM;
    int rc = o->read(o->read_user, r->start, cur, size);
    for (size_t si = 0; si < img->nsegs && rc == LODE_OK; si++) {
        const lode_segment_s *seg = &img->segs[si];
        if (!seg->len || in_ram(ram, nram, seg->addr, seg->len))
            continue;
        uint64_t lo = seg->addr > r->start ? seg->addr : r->start;
        uint64_t hi = (uint64_t)seg->addr + seg->len < r->end ? (uint64_t)seg->addr + seg->len : r->end;
        if (lo < hi)
            memcpy(cur + (lo - r->start), seg->data + (lo - seg->addr), hi - lo);
    }
    for (uint64_t a = r->start; a < r->end && rc == LODE_OK;) {
        uint64_t n = r->page_size;
        if (a + n > r->end)
            n = r->end - a;
        const uint8_t *chunk = cur + (a - r->start);
        bool blank = true;
        for (uint64_t k = 0; k < n && blank; k++)
            blank = chunk[k] == r->erased;
        lode_flash_page_s *pg = find_page(p, (uint32_t)a);
        if (pg) {
            memcpy(pg->data, chunk, pg->size);
        } else if (!blank) { /* an erased chunk the image leaves alone needs nothing */
            if ((rc = page_for(p, pcap, r, (unsigned)wi, (uint32_t)a, &pg)) != LODE_OK)
                break;
            memcpy(pg->data, chunk, pg->size);
            p->restored_bytes += pg->size;
        }
        a += n;
    }
    free(cur);
    return rc;
}

/* A region whose every sector the image touches (none unchanged) is erased with one chip
 * erase: one operation instead of one per sector (nRF52840 1 MiB: 173 ms against 256 x 85 ms).
 * When that chip erase also wipes other regions (the nRF52's ERASEALL: the UICR), they are read
 * back here and programmed again after it, under the image's bytes; without a way to read
 * them, or when it would wipe part of a region, the sectors are erased one by one. */
static int choose_chip_erase(const lode_image_s *img, lode_flash_plan_s *p, size_t *scap, size_t *pcap,
                             const lode_flash_region_s *regions, size_t nregions,
                             const lode_mem_range_s *ram, size_t nram, const lode_flash_opts_s *o,
                             const lode_log_s *log)
{
    int rc = LODE_OK;
    for (size_t ci = 0; ci < nregions && ci < 32; ci++) {
        const lode_flash_region_s *c = &regions[ci];
        if (!c->has_chip_erase && nregions != 1)
            continue;
        uint64_t covered = 0;
        size_t nsec = 0;
        bool skip = false;
        for (size_t si = 0; si < p->nsectors; si++)
            if (p->sectors[si].region == ci && !p->sectors[si].wiped) {
                covered += p->sectors[si].size;
                skip |= p->sectors[si].skip;
                nsec++;
            }
        /* one sector: its own erase is just as good (a single region keeps the chip erase) */
        if (skip || covered != (uint64_t)c->end - c->start || (nsec < 2 && nregions != 1))
            continue;
        bool ok = true;
        for (size_t wi = 0; wi < nregions && ok; wi++)
            if (wipes_some(c, &regions[wi]))
                ok = wipes_all(c, &regions[wi]) && o->read && !(p->chip_regions >> wi & 1u) && wi < 32;
        if (!ok)
            continue;
        p->chip_regions |= 1u << ci;
        for (size_t wi = 0; wi < nregions && rc == LODE_OK; wi++) {
            if (!wipes_all(c, &regions[wi]))
                continue;
            if ((rc = add_region(p, scap, regions, wi)) == LODE_OK)
                rc = restore_region(img, p, pcap, regions, wi, ram, nram, o);
            if (rc == LODE_OK)
                lode_log(log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                         "the image fills %s: one chip erase, which also erases %s (read back and "
                         "programmed again)", c->name ? c->name : "flash",
                         regions[wi].name ? regions[wi].name : "another region");
        }
    }
    if (rc == LODE_OK) {
        mark_wiped(p, regions, nregions);
        for (size_t i = 0; i < p->npages; i++)
            p->pages[i].sector = sector_index(p, p->pages[i].addr);
    }
    return rc;
}

/* Does the sector already hold what erase + program would leave? */
static int sector_unchanged(const lode_flash_plan_s *p, size_t si, const lode_flash_region_s *r,
                            const lode_flash_opts_s *o, bool *same)
{
    const lode_flash_sector_s *s = &p->sectors[si];
    uint8_t *cur = malloc(s->size);
    uint8_t *want = malloc(s->size);
    int rc = LODE_OK;
    if (!cur || !want) {
        rc = LODE_E_NOMEM;
        goto out;
    }
    memset(want, r->erased, s->size);
    for (size_t i = 0; i < p->npages; i++) {
        const lode_flash_page_s *pg = &p->pages[i];
        if (pg->addr >= s->addr && pg->addr < s->addr + s->size)
            memcpy(want + (pg->addr - s->addr), pg->data,
                   pg->size <= s->addr + s->size - pg->addr ? pg->size : s->addr + s->size - pg->addr);
    }
    rc = o->read(o->read_user, s->addr, cur, s->size);
    if (rc == LODE_OK)
        *same = memcmp(cur, want, s->size) == 0;
out:
    free(cur);
    free(want);
    return rc;
}

int lode_flash_plan(const lode_image_s *img, const lode_flash_region_s *regions, size_t nregions,
                    const lode_mem_range_s *ram, size_t nram, const lode_flash_opts_s *opts,
                    const lode_log_s *log, lode_flash_plan_s **out)
{
    static const lode_flash_opts_s no_opts;
    const lode_flash_opts_s *o = opts ? opts : &no_opts;
    if (!img || !out || (nregions && !regions))
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < nregions; i++)
        if (!regions[i].page_size || !regions[i].sector_at || regions[i].end <= regions[i].start)
            return LODE_E_INVALID_ARG;
    lode_flash_plan_s *p = calloc(1, sizeof *p);
    if (!p)
        return LODE_E_NOMEM;
    size_t scap = 0, pcap = 0;
    int rc = LODE_OK;
    p->chip_erase = o->chip_erase;
    if (img->nsegs) {
        p->ram = calloc(img->nsegs, sizeof *p->ram);
        if (!p->ram) {
            rc = LODE_E_NOMEM;
            goto fail;
        }
    }
    for (size_t si = 0; si < img->nsegs && rc == LODE_OK; si++) {
        const lode_segment_s *seg = &img->segs[si];
        if (!seg->len)
            continue;
        if (in_ram(ram, nram, seg->addr, seg->len)) {
            p->ram[p->nram++] = seg;
            continue;
        }
        uint32_t off = 0;
        while (off < seg->len) {
            uint32_t a = seg->addr + off;
            int ri = find_region(regions, nregions, a);
            if (ri < 0) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "image data at 0x%08x (segment 0x%08x..0x%08x) is outside the chip's flash "
                         "and RAM: check that the image is linked for this chip (--chip)",
                         a, seg->addr, seg->addr + seg->len - 1);
                rc = LODE_E_RANGE;
                goto fail;
            }
            const lode_flash_region_s *r = &regions[ri];
            uint32_t ss = 0, sz = 0;
            if ((rc = r->sector_at(r->user, a, &ss, &sz)) != LODE_OK || !sz) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "no flash sector is described at 0x%08x in %s: the chip description is incomplete",
                         a, r->name ? r->name : "flash");
                rc = LODE_E_RANGE;
                goto fail;
            }
            if ((rc = add_sector(p, &scap, ss, sz, (unsigned)ri)) != LODE_OK)
                goto fail;
            lode_flash_page_s *pg = NULL;
            if ((rc = page_for(p, &pcap, r, (unsigned)ri, a, &pg)) != LODE_OK)
                goto fail;
            uint32_t n = pg->addr + pg->size - a;
            if (n > seg->len - off)
                n = seg->len - off;
            memcpy(pg->data + (a - pg->addr), seg->data + off, n);
            p->image_flash_bytes += n;
            off += n;
        }
    }
    p->regions = regions;
    p->nregions = nregions;
    if (o->chip_erase) {
        /* every sector of every region, for the runner to erase (or one EraseChip) */
        for (size_t ri = 0; ri < nregions && rc == LODE_OK; ri++)
            if ((rc = add_region(p, &scap, regions, ri)) != LODE_OK)
                goto fail;
        for (size_t ri = 0; ri < nregions && ri < 32; ri++)
            if (regions[ri].has_chip_erase)
                p->chip_regions |= 1u << ri;
        mark_wiped(p, regions, nregions);
    }
    for (size_t i = 0; i < p->npages; i++)
        p->pages[i].sector = sector_index(p, p->pages[i].addr);
    if (o->skip_unchanged && !o->chip_erase) {
        if (!o->read) {
            rc = LODE_E_INVALID_ARG;
            goto fail;
        }
        for (size_t si = 0; si < p->nsectors; si++) {
            bool same = false;
            if ((rc = sector_unchanged(p, si, &regions[p->sectors[si].region], o, &same)) != LODE_OK)
                goto fail;
            p->sectors[si].skip = same;
        }
    }
    if (!o->chip_erase && (rc = choose_chip_erase(img, p, &scap, &pcap, regions, nregions, ram, nram, o, log)) != LODE_OK)
        goto fail;
    /* drop the pages of skipped sectors */
    size_t w = 0;
    for (size_t i = 0; i < p->npages; i++) {
        if (p->sectors[p->pages[i].sector].skip) {
            free(p->pages[i].data);
            continue;
        }
        p->pages[w++] = p->pages[i];
    }
    p->npages = w;
    *out = p;
    return LODE_OK;
fail:
    lode_flash_plan_free(p);
    return rc;
}

int lode_flash_plan_erase(const lode_flash_region_s *regions, size_t nregions, bool all, uint32_t addr,
                          uint32_t len, const lode_log_s *log, lode_flash_plan_s **out)
{
    if (!out || (nregions && !regions) || (!all && !len))
        return LODE_E_INVALID_ARG;
    lode_flash_plan_s *p = calloc(1, sizeof *p);
    if (!p)
        return LODE_E_NOMEM;
    p->chip_erase = all;
    size_t cap = 0;
    int rc = LODE_OK;
    for (size_t ri = 0; ri < nregions && rc == LODE_OK; ri++) {
        const lode_flash_region_s *r = &regions[ri];
        uint64_t lo = all ? r->start : addr, hi = all ? r->end : (uint64_t)addr + len;
        if (lo < r->start)
            lo = r->start;
        if (hi > r->end)
            hi = r->end;
        uint64_t a = lo;
        while (a < hi && rc == LODE_OK) {
            uint32_t ss = 0, sz = 0;
            if (r->sector_at(r->user, (uint32_t)a, &ss, &sz) != LODE_OK || !sz)
                break;
            rc = add_sector(p, &cap, ss, sz, (unsigned)ri);
            a = (uint64_t)ss + sz;
        }
    }
    p->regions = regions;
    p->nregions = nregions;
    if (all) {
        /* one chip erase per region; a region another one's chip erase wipes is not erased twice */
        for (size_t ri = 0; ri < nregions && ri < 32; ri++)
            if (regions[ri].has_chip_erase)
                p->chip_regions |= 1u << ri;
        mark_wiped(p, regions, nregions);
    }
    if (rc == LODE_OK && !p->nsectors) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "0x%08x..0x%08x is not in the flash: nothing to erase",
                 addr, addr + (len ? len - 1 : 0));
        rc = LODE_E_RANGE;
    }
    if (rc != LODE_OK) {
        lode_flash_plan_free(p);
        return rc;
    }
    *out = p;
    return LODE_OK;
}

size_t lode_flash_plan_describe_sectors(const lode_flash_plan_s *plan, size_t first, size_t count,
                                        char *buf, size_t len)
{
    size_t used = 0, listed = 0;
    if (len)
        buf[0] = 0;
    for (size_t i = first; i < plan->nsectors && listed < count; i++) {
        if (plan->sectors[i].skip)
            continue;
        int n = snprintf(buf + used, len > used ? len - used : 0, "%s0x%08x-0x%08x",
                         listed ? ", " : "", plan->sectors[i].addr,
                         plan->sectors[i].addr + plan->sectors[i].size - 1);
        if (n < 0 || used + (size_t)n >= len)
            break;
        used += (size_t)n;
        listed++;
    }
    return listed;
}
