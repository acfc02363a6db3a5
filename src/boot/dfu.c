/* SPDX-License-Identifier: MIT */
/* USB DFU 1.1 and ST DfuSe (AN3156) as a probe with a loader face: the registry row
 * "dfu[:VID:PID[:SERIAL]]", the DFU state machine over lode's USB control transfers (GETSTATUS
 * polling that waits bwPollTimeout, CLRSTATUS/ABORT recovery from dfuERROR), and DfuSe's
 * memories (the alternate settings' layout strings) as planner regions. The encoding and
 * decoding is in dfu_codec.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/dfu.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/usb.h"
#include "probe/probe_i.h"

#define CTRL_MS 5000u
#define BUSY_LIMIT_MS 60000u /* a device busy for longer than this is stuck */

typedef struct dfu_region_s {
    lodei_dfuse_seg_s seg;
    uint8_t alt;
} dfu_region_s;

typedef struct dfu_s {
    lode_transport_s *t;
    const lode_log_s *log;
    lode_usb_probe_s usb;
    lodei_dfu_config_s cfg;
    uint16_t xfer;
    bool dfuse;
    int cur_alt;                               /* -1: not set by us */
    char alt_name[LODEI_DFU_MAX_ALTS][128];
    lodei_dfuse_layout_s layout[LODEI_DFU_MAX_ALTS];
    bool has_layout[LODEI_DFU_MAX_ALTS];
    dfu_region_s reg[LODEI_DFUSE_MAX_SEGS];
    lode_flash_region_s regions[LODEI_DFUSE_MAX_SEGS];
    size_t nregions;
    lode_loader_s *loader;
    uint64_t waited_ms;                        /* bwPollTimeout honoured in all */
    /* a plain DFU 1.1 device (no DfuSe layout): its firmware is one stream without addresses;
     * it starts at `base`, the first address lode writes or reads there */
    bool plain, base_set, wait_reset;
    uint16_t first_pid;                        /* before a detach: the run-time product ID */
    uint32_t base;
    lode_flash_region_s plain_region;
    uint8_t *up;                               /* what the upload has given so far */
    size_t up_len, up_cap;
    bool up_open, up_end;                      /* an upload in progress / ended by a short frame */
    uint16_t up_block;
} dfu_s;

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- the state machine ---------------------------------------------------------------------- */

static int get_status(dfu_s *d, lodei_dfu_status_s *st)
{
    uint8_t b[6];
    size_t got = 0;
    int rc = lode_usb_control(d->t, 0xA1, LODEI_DFU_GETSTATUS, 0, d->cfg.interface, b, sizeof b, &got, CTRL_MS);
    if (rc == LODE_OK)
        rc = lodei_dfu_decode_status(b, got, st);
    if (rc == LODE_OK)
        lode_log(d->log, LODE_LOG_DEBUG, LODE_LOGC_WIRE, "DFU status %s, state %s, poll %u ms",
                 lodei_dfu_status_name(st->status), lodei_dfu_state_name(st->state), (unsigned)st->poll_ms);
    return rc;
}

static int simple_request(dfu_s *d, uint8_t req)
{
    return lode_usb_control(d->t, 0x21, req, 0, d->cfg.interface, NULL, 0, NULL, CTRL_MS);
}

/* GETSTATUS until the device is no longer busy, waiting bwPollTimeout before each next one. */
static int settle(dfu_s *d, lodei_dfu_status_s *st)
{
    uint64_t total = 0;
    unsigned zero_polls = 0;
    for (;;) {
        int rc = get_status(d, st);
        if (rc != LODE_OK)
            return rc;
        bool busy = st->state == LODEI_DFU_DNBUSY || st->state == LODEI_DFU_DNLOAD_SYNC ||
                    st->state == LODEI_DFU_MANIFEST_SYNC || st->state == LODEI_DFU_MANIFEST;
        if (!busy || st->status != 0)
            return LODE_OK;
        if (total > BUSY_LIMIT_MS) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the DFU device stays busy (%s) for more than %u s: unplug it and try again",
                     lodei_dfu_state_name(st->state), BUSY_LIMIT_MS / 1000u);
            return LODE_E_TIMEOUT;
        }
        uint32_t ms = st->poll_ms; /* 0: poll again at once */
        if (ms)
            sleep_ms(ms);
        else if (++zero_polls > 100000u)
            total = BUSY_LIMIT_MS + 1;
        total += ms;
        d->waited_ms += ms;
    }
}

/* To dfuIDLE from wherever the device is: dfuERROR -> CLRSTATUS, a transfer in progress ->
 * ABORT (DFU 1.1 6.1.4 / 6.2.2). */
static int to_idle(dfu_s *d)
{
    for (int tries = 0; tries < 3; tries++) {
        lodei_dfu_status_s st;
        int rc = get_status(d, &st);
        if (rc != LODE_OK)
            return rc;
        if (st.state == LODEI_DFU_IDLE)
            return LODE_OK;
        if (st.state == LODEI_DFU_ERROR) {
            lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_FLASH, "DFU device in dfuERROR (%s): clearing it",
                     lodei_dfu_status_name(st.status));
            rc = simple_request(d, LODEI_DFU_CLRSTATUS);
        } else if (st.state == LODEI_DFU_APP_IDLE || st.state == LODEI_DFU_APP_DETACH) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "the DFU interface is in run-time mode (%s): put the device into its bootloader first",
                     lodei_dfu_state_name(st.state));
            return LODE_E_STATE;
        } else {
            rc = simple_request(d, LODEI_DFU_ABORT);
        }
        if (rc != LODE_OK)
            return rc;
    }
    lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the DFU device does not return to dfuIDLE");
    return LODE_E_PROTOCOL;
}

/* errVENDOR from an STM32 bootloader: read protection (AN3156: every memory command fails) */
static void protected_says(dfu_s *d)
{
    lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the DfuSe device %04x:%04x is read-protected: `lode erase --unprotect --probe dfu` removes the protection "
             "by mass-erasing its flash (everything on it is lost)",
             d->usb.vid, d->usb.pid);
}

/* One DNLOAD and the GETSTATUS polls that carry it out. An error status is reported, then
 * cleared so that the device can be used again. */
static int dnload(dfu_s *d, uint16_t block, const uint8_t *data, size_t len, const char *what, uint32_t addr)
{
    int rc = lode_usb_control(d->t, 0x21, LODEI_DFU_DNLOAD, block, d->cfg.interface, (uint8_t *)(uintptr_t)data,
                              len, NULL, CTRL_MS);
    lodei_dfu_status_s st;
    if (rc == LODE_OK)
        rc = settle(d, &st);
    if (rc != LODE_OK)
        return rc;
    if (st.status != 0 || st.state == LODEI_DFU_ERROR) {
        if (st.status == 11 && d->dfuse)
            protected_says(d);
        else
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "DFU %s at 0x%08x failed: %s", what, (unsigned)addr,
                     lodei_dfu_status_name(st.status));
        simple_request(d, LODEI_DFU_CLRSTATUS);
        return st.status == 8 ? LODE_E_RANGE : st.status == 11 ? LODE_E_ACCESS : LODE_E_FLASH;
    }
    if (len && st.state != LODEI_DFU_DNLOAD_IDLE) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "DFU %s at 0x%08x: device in %s instead of dfuDNLOAD-IDLE",
                 what, (unsigned)addr, lodei_dfu_state_name(st.state));
        return LODE_E_PROTOCOL;
    }
    return LODE_OK;
}

static int dfuse_cmd(dfu_s *d, uint8_t cmd, bool with_addr, uint32_t addr, const char *what)
{
    uint8_t b[5];
    size_t n = lodei_dfuse_command(cmd, with_addr, addr, b);
    return dnload(d, 0, b, n, what, addr);
}

/* the alternate setting, and the device in dfuIDLE after a change */
static int select_alt(dfu_s *d, uint8_t alt)
{
    if (d->cur_alt == alt)
        return LODE_OK;
    int rc = lode_usb_set_alt(d->t, d->cfg.interface, alt);
    if (rc == LODE_OK)
        d->cur_alt = alt;
    return rc == LODE_OK ? to_idle(d) : rc;
}

/* ---- memories ------------------------------------------------------------------------------- */

static int sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    const dfu_region_s *r = user;
    if (addr < r->seg.start || addr >= r->seg.end)
        return LODE_E_RANGE;
    *start = r->seg.start + (addr - r->seg.start) / r->seg.sector_size * r->seg.sector_size;
    *size = r->seg.sector_size;
    return LODE_OK;
}

/* a plain DFU device's firmware: 1 KiB units for the planner (nothing is erased by sector:
 * the device erases as the download reaches its pages) */
static int plain_sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    (void)user;
    *start = addr & ~0x3FFu;
    *size = 0x400u;
    return LODE_OK;
}

static const dfu_region_s *region_of(const dfu_s *d, uint32_t addr, unsigned need)
{
    for (size_t i = 0; i < d->nregions; i++)
        if (addr >= d->reg[i].seg.start && addr < d->reg[i].seg.end && (d->reg[i].seg.flags & need) == need)
            return &d->reg[i];
    return NULL;
}

/* the readable segment holding addr (in any alternate setting), for reads */
static bool readable_at(const dfu_s *d, uint32_t addr, uint8_t *alt, uint32_t *end)
{
    for (size_t a = 0; a < d->cfg.nalts; a++)
        for (size_t s = 0; d->has_layout[a] && s < d->layout[a].nsegs; s++) {
            const lodei_dfuse_seg_s *g = &d->layout[a].seg[s];
            if (addr >= g->start && addr < g->end && (g->flags & LODEI_DFUSE_READABLE)) {
                *alt = d->cfg.alt[a];
                *end = g->end;
                return true;
            }
        }
    return false;
}

static int l_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                    const lode_mem_range_s **ram, size_t *nram)
{
    dfu_s *d = ctx;
    if (d->plain) {
        *regions = &d->plain_region;
        *nregions = 1;
        *ram = NULL;
        *nram = 0;
        return LODE_OK;
    }
    if (!d->nregions) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the DfuSe device %04x:%04x names no writable memory in its alternate settings (see lode info)",
                 d->usb.vid, d->usb.pid);
        return LODE_E_UNSUPPORTED;
    }
    *regions = d->regions;
    *nregions = d->nregions;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

static void progress(const lode_flash_opts_s *o, lode_flash_phase_e ph, size_t done, size_t total)
{
    if (o && o->progress)
        o->progress(o->progress_user, ph, done, total);
}

/* ---- plain DFU 1.1: the firmware as one stream ------------------------------------------------- */

/* The upload continued until `want` bytes are in d->up (or the device ended it). UPLOAD blocks
 * count from 0 (DFU 1.1 6.2); a frame shorter than asked ends the upload. */
static int plain_upload_to(dfu_s *d, size_t want)
{
    int rc = LODE_OK;
    if (!d->up_open && !d->up_end) {
        if ((rc = to_idle(d)) != LODE_OK)
            return rc;
        d->up_open = true, d->up_len = 0, d->up_block = 0;
    }
    while (rc == LODE_OK && d->up_len < want && !d->up_end) {
        if (d->up_cap < d->up_len + d->xfer) {
            size_t cap = d->up_cap ? d->up_cap * 2 : 65536;
            uint8_t *n = realloc(d->up, cap);
            if (!n)
                return LODE_E_NOMEM;
            d->up = n, d->up_cap = cap;
        }
        size_t got = 0;
        rc = lode_usb_control(d->t, 0xA1, LODEI_DFU_UPLOAD, d->up_block++, d->cfg.interface, d->up + d->up_len,
                              d->xfer, &got, CTRL_MS);
        if (rc == LODE_OK) {
            d->up_len += got;
            if (got < d->xfer)
                d->up_end = true, d->up_open = false;
        }
    }
    return rc;
}

static void plain_forget_upload(dfu_s *d)
{
    if (d->up_open)
        simple_request(d, LODEI_DFU_ABORT);
    d->up_open = d->up_end = false;
    d->up_len = 0;
}

static int plain_read(dfu_s *d, uint32_t addr, uint8_t *out, size_t len)
{
    if (!(d->cfg.func.attributes & LODEI_DFU_CAN_UPLOAD)) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the DFU device %04x:%04x cannot upload (bitCanUpload is 0): nothing can be read or verified",
                 d->usb.vid, d->usb.pid);
        return LODE_E_UNSUPPORTED;
    }
    if (!d->base_set)
        d->base = addr, d->base_set = true;
    if (addr < d->base) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "0x%08x lies before the start of the DFU device's firmware (0x%08x here)", (unsigned)addr,
                 (unsigned)d->base);
        return LODE_E_RANGE;
    }
    size_t off = addr - d->base;
    int rc = plain_upload_to(d, off + len);
    if (rc != LODE_OK)
        return rc;
    if (d->up_len < off + len) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the DFU device's firmware ends at 0x%08x (%zu bytes from 0x%08x): 0x%08x-0x%08x lies beyond it",
                 (unsigned)(d->base + d->up_len), d->up_len, (unsigned)d->base, (unsigned)addr,
                 (unsigned)(addr + len - 1));
        return LODE_E_RANGE;
    }
    memcpy(out, d->up + off, len);
    return LODE_OK;
}

/* Download the plan's pages as one stream from the first page (gaps between them 0xFF), then
 * manifest: a zero-length DNLOAD and GETSTATUS until dfuIDLE (manifestation tolerant),
 * dfuMANIFEST-WAIT-RESET, or the device resetting by itself. */
static int plain_write(dfu_s *d, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, lode_flash_result_s *res)
{
    size_t skipped = 0;
    for (size_t i = 0; i < plan->nsectors; i++)
        skipped += plan->sectors[i].skip;
    if (skipped && skipped == plan->nsectors)
        return LODE_OK; /* --skip-unchanged: the firmware is what the image holds */
    if (skipped) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "a plain DFU 1.1 device takes the whole firmware in one download: flash without --skip-unchanged");
        return LODE_E_INVALID_ARG;
    }
    if (!plan->npages)
        return LODE_OK;
    if (o && o->verify && !(d->cfg.func.attributes & LODEI_DFU_MANIFEST_TOLERANT)) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the DFU device %04x:%04x is not manifestation tolerant: it resets after the download and cannot "
                 "be read back; flash without --verify",
                 d->usb.vid, d->usb.pid);
        return LODE_E_INVALID_ARG;
    }
    plain_forget_upload(d);
    int rc = to_idle(d);
    if (rc != LODE_OK)
        return rc;
    d->base = plan->pages[0].addr, d->base_set = true;
    uint8_t *blk = malloc(d->xfer);
    if (!blk)
        return LODE_E_NOMEM;
    uint32_t next = d->base, fill = 0;
    uint16_t block = 0;
    for (size_t i = 0; i < plan->npages && rc == LODE_OK; i++) {
        const lode_flash_page_s *pg = &plan->pages[i];
        uint64_t end = (uint64_t)pg->addr + pg->size;
        while (rc == LODE_OK && next < end) {
            uint32_t n = (uint32_t)(end - next) < d->xfer - fill ? (uint32_t)(end - next) : d->xfer - fill;
            if (next < pg->addr) { /* a gap before this page: the erased value */
                n = pg->addr - next < n ? pg->addr - next : n;
                memset(blk + fill, 0xFF, n);
            } else {
                memcpy(blk + fill, pg->data + (next - pg->addr), n);
            }
            fill += n, next += n;
            if (fill == d->xfer) {
                rc = dnload(d, block++, blk, fill, "download", next - fill);
                fill = 0;
            }
        }
        if (rc == LODE_OK) {
            res->pages_programmed++;
            res->bytes_programmed += pg->size;
        }
        progress(o, LODE_FLASH_PHASE_PROGRAM, i + 1, plan->npages);
    }
    if (rc == LODE_OK && fill)
        rc = dnload(d, block++, blk, fill, "download", next - fill);
    free(blk);
    if (rc == LODE_OK) { /* manifestation */
        rc = lode_usb_control(d->t, 0x21, LODEI_DFU_DNLOAD, block, d->cfg.interface, NULL, 0, NULL, CTRL_MS);
        lodei_dfu_status_s st = {0};
        if (rc == LODE_OK)
            rc = settle(d, &st);
        if (rc == LODE_E_NO_DEVICE) { /* reset by itself into the new firmware */
            lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_FLASH, "the DFU device reset after manifestation");
            d->wait_reset = false;
            return LODE_OK;
        }
        if (rc == LODE_OK && (st.status != 0 || st.state == LODEI_DFU_ERROR)) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "DFU manifestation failed: %s: the firmware is not valid; flash again",
                     lodei_dfu_status_name(st.status));
            simple_request(d, LODEI_DFU_CLRSTATUS);
            return LODE_E_FLASH;
        }
        if (rc == LODE_OK && st.state == LODEI_DFU_MANIFEST_WAIT_RESET)
            d->wait_reset = true;
        else if (rc == LODE_OK && st.state != LODEI_DFU_IDLE) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "DFU manifestation: device in %s instead of dfuIDLE",
                     lodei_dfu_state_name(st.state));
            rc = LODE_E_PROTOCOL;
        }
    }
    if (rc != LODE_OK)
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "%s: the device's firmware (from 0x%08x) may now be half written; %s",
                 rc == LODE_E_NO_DEVICE ? "the DFU device vanished during the download" : "the DFU download stopped",
                 (unsigned)d->base, rc == LODE_E_NO_DEVICE ? "put it back into DFU mode and flash again" : "flash again");
    return rc;
}

static int l_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    dfu_s *d = ctx;
    uint8_t *out = buf;
    if (d->plain)
        return plain_read(d, addr, out, len);
    while (len) {
        uint8_t alt = 0;
        uint32_t end = 0;
        if (!readable_at(d, addr, &alt, &end)) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "0x%08x is in no readable memory of the DFU device (see lode info)", (unsigned)addr);
            return LODE_E_RANGE;
        }
        size_t part = (uint64_t)end - addr < len ? (size_t)(end - addr) : len;
        int rc = select_alt(d, alt);
        if (rc == LODE_OK)
            rc = to_idle(d);
        if (rc == LODE_OK)
            rc = dfuse_cmd(d, LODEI_DFUSE_SET_ADDRESS, true, addr, "set address");
        if (rc == LODE_OK) /* uploads start from dfuIDLE */
            rc = simple_request(d, LODEI_DFU_ABORT);
        /* block n (n >= 2) reads pointer + (n - 2) * wTransferSize */
        for (size_t done = 0; rc == LODE_OK && done < part;) {
            size_t want = part - done < d->xfer ? part - done : d->xfer, got = 0;
            uint8_t tmp[4096];
            rc = lode_usb_control(d->t, 0xA1, LODEI_DFU_UPLOAD, (uint16_t)(2 + done / d->xfer), d->cfg.interface,
                                  tmp, d->xfer, &got, CTRL_MS);
            lodei_dfu_status_s st;
            if (rc == LODE_E_PROTOCOL && get_status(d, &st) == LODE_OK && st.status == 11) { /* stalled: why? */
                protected_says(d);
                simple_request(d, LODEI_DFU_CLRSTATUS);
                return LODE_E_ACCESS;
            }
            if (rc == LODE_OK && got < want) {
                lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "DFU upload at 0x%08x gave %zu of %zu bytes",
                         (unsigned)(addr + done), got, want);
                rc = LODE_E_PROTOCOL;
            }
            if (rc == LODE_OK) {
                memcpy(out + done, tmp, want);
                done += want;
            }
        }
        if (rc == LODE_OK)
            rc = simple_request(d, LODEI_DFU_ABORT);
        if (rc != LODE_OK)
            return rc;
        out += part;
        addr += (uint32_t)part;
        len -= part;
    }
    return LODE_OK;
}


/* Does the plan erase every sector of the device's erasable memories, all in one alternate
 * setting (what a mass erase clears)? */
static bool whole_flash(const dfu_s *d, const lode_flash_plan_s *plan)
{
    uint64_t sectors = 0;
    for (size_t i = 0; i < d->nregions; i++) {
        if (d->reg[i].alt != d->reg[0].alt)
            return false;
        if (d->reg[i].seg.flags & LODEI_DFUSE_ERASABLE)
            sectors += (d->reg[i].seg.end - d->reg[i].seg.start) / d->reg[i].seg.sector_size;
    }
    size_t erased = 0;
    for (size_t i = 0; i < plan->nsectors; i++)
        erased += !plan->sectors[i].skip && region_of(d, plan->sectors[i].addr, LODEI_DFUSE_ERASABLE);
    return sectors > 1 && erased == sectors;
}

/* AN3156 Read Unprotect: the device mass-erases the flash, drops the protection and resets
 * (it leaving the bus is the expected end) */
static int unprotect(dfu_s *d, const lode_flash_plan_s *plan, lode_flash_result_s *res)
{
    int rc = select_alt(d, d->reg[0].alt);
    uint8_t b[5];
    size_t n = lodei_dfuse_command(LODEI_DFUSE_READ_UNPROTECT, false, 0, b);
    if (rc == LODE_OK)
        rc = lode_usb_control(d->t, 0x21, LODEI_DFU_DNLOAD, 0, d->cfg.interface, b, n, NULL, CTRL_MS);
    lodei_dfu_status_s st = {0};
    if (rc == LODE_OK)
        rc = settle(d, &st);
    if (rc == LODE_E_NO_DEVICE || (rc == LODE_OK && st.status == 0)) {
        lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                 "read protection removed: the device mass-erased its flash and resets; it comes back unprotected");
        res->sectors_erased = plan->nsectors;
        return LODE_OK;
    }
    if (rc == LODE_OK) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "DfuSe Read Unprotect failed: %s",
                 lodei_dfu_status_name(st.status));
        simple_request(d, LODEI_DFU_CLRSTATUS);
        rc = LODE_E_FLASH;
    }
    return rc;
}

static int l_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                   lode_flash_result_s *res)
{
    dfu_s *d = ctx;
    (void)log;
    if (d->plain)
        return plain_write(d, plan, o, res);
    if (o && o->unprotect)
        return unprotect(d, plan, res);
    int rc = to_idle(d);
    bool touched = false;
    if (plan->nram) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "a DFU device writes only its memories, not RAM");
        return LODE_E_RANGE;
    }
    bool mass = whole_flash(d, plan);
    if (mass) { /* every sector of the flash: one mass erase (AN3156 §6.4) instead of each page */
        rc = select_alt(d, d->reg[0].alt);
        if (rc == LODE_OK)
            rc = dfuse_cmd(d, LODEI_DFUSE_ERASE, false, 0, "mass erase");
        touched = true;
        if (rc == LODE_OK)
            res->sectors_erased = plan->nsectors;
        progress(o, LODE_FLASH_PHASE_ERASE, plan->nsectors, plan->nsectors);
    }
    for (size_t i = 0; i < plan->nsectors && rc == LODE_OK && !mass; i++) {
        const lode_flash_sector_s *s = &plan->sectors[i];
        if (s->skip)
            continue;
        const dfu_region_s *r = region_of(d, s->addr, LODEI_DFUSE_ERASABLE);
        if (!r) /* a memory that is written without erasing */
            continue;
        rc = select_alt(d, r->alt);
        if (rc == LODE_OK)
            rc = dfuse_cmd(d, LODEI_DFUSE_ERASE, true, s->addr, "page erase");
        touched = true;
        if (rc == LODE_OK)
            res->sectors_erased++;
        progress(o, LODE_FLASH_PHASE_ERASE, i + 1, plan->nsectors);
    }
    /* pages that follow each other in one memory: one Set Address, then blocks of
     * wTransferSize at pointer + (wBlockNum - 2) * wTransferSize (AN3156 §6.3), a block
     * spanning pages when they are smaller */
    uint8_t *blk = malloc(d->xfer);
    if (!blk)
        return LODE_E_NOMEM;
    const dfu_region_s *run_r = NULL;
    uint32_t run_start = 0, next = 0, fill = 0;
    for (size_t i = 0; i <= plan->npages && rc == LODE_OK; i++) {
        const lode_flash_page_s *pg = i < plan->npages ? &plan->pages[i] : NULL;
        const dfu_region_s *r = pg ? region_of(d, pg->addr, LODEI_DFUSE_WRITABLE) : NULL;
        if (pg && !r) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "0x%08x is not writable on this DFU device",
                     (unsigned)pg->addr);
            rc = LODE_E_RANGE;
            break;
        }
        bool cont = pg && run_r == r && pg->addr == next && (pg->addr - run_start) / d->xfer < 0xFFF0u;
        if (!cont && fill) { /* the run's last, partial block */
            rc = dnload(d, (uint16_t)(2 + (next - fill - run_start) / d->xfer), blk, fill, "download", next - fill);
            fill = 0;
        }
        if (!pg || rc != LODE_OK)
            break;
        if (!cont) {
            rc = select_alt(d, r->alt);
            if (rc == LODE_OK)
                rc = dfuse_cmd(d, LODEI_DFUSE_SET_ADDRESS, true, pg->addr, "set address");
            run_r = r, run_start = next = pg->addr;
            touched = true;
        }
        for (uint32_t off = 0; rc == LODE_OK && off < pg->size;) {
            uint32_t n = pg->size - off < d->xfer - fill ? pg->size - off : d->xfer - fill;
            memcpy(blk + fill, pg->data + off, n);
            fill += n, off += n, next += n;
            if (fill == d->xfer) {
                rc = dnload(d, (uint16_t)(2 + (next - fill - run_start) / d->xfer), blk, fill, "download",
                            next - fill);
                fill = 0;
            }
        }
        if (rc == LODE_OK) {
            res->pages_programmed++;
            res->bytes_programmed += pg->size;
        }
        progress(o, LODE_FLASH_PHASE_PROGRAM, i + 1, plan->npages);
    }
    free(blk);
    if (rc != LODE_OK && rc != LODE_E_ACCESS && touched && plan->nsectors) { /* ACCESS: protected, untouched */
        char secs[160];
        if (mass)
            snprintf(secs, sizeof secs, "the whole flash (mass-erased)");
        else /* the plan's sectors are sorted: from the first one to the end of the last */
            snprintf(secs, sizeof secs, "0x%08x-0x%08x", (unsigned)plan->sectors[0].addr,
                     (unsigned)(plan->sectors[plan->nsectors - 1].addr + plan->sectors[plan->nsectors - 1].size - 1));
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "%s: %s may now be erased or half written; %s",
                 rc == LODE_E_NO_DEVICE ? "the DFU device vanished during the download" : "the DFU download stopped",
                 secs, rc == LODE_E_NO_DEVICE ? "put it back into DFU mode and flash again" : "flash again");
    }
    return rc;
}

/* Leave DFU mode (AN3156 "Leave DFU mode"): the address pointer at the application, a
 * zero-length DNLOAD and a GETSTATUS, after which the device resets and starts it. The
 * device answering that GETSTATUS in dfuMANIFEST, or no longer answering, is success. */
static int l_reset_run(void *ctx)
{
    dfu_s *d = ctx;
    if (d->plain) { /* DFU 1.1 after manifestation: a USB reset starts the new firmware */
        plain_forget_upload(d);
        int rc = lode_usb_reset(d->t);
        if (rc == LODE_OK || rc == LODE_E_NO_DEVICE)
            lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_FLASH, "the DFU device was reset: it starts its firmware");
        return rc == LODE_E_NO_DEVICE ? LODE_OK : rc;
    }
    if (!d->nregions)
        return LODE_E_UNSUPPORTED;
    uint32_t start = d->regions[0].start;
    int rc = select_alt(d, d->reg[0].alt);
    if (rc == LODE_OK)
        rc = to_idle(d);
    if (rc == LODE_OK)
        rc = dfuse_cmd(d, LODEI_DFUSE_SET_ADDRESS, true, start, "set address");
    if (rc == LODE_OK)
        rc = lode_usb_control(d->t, 0x21, LODEI_DFU_DNLOAD, 0, d->cfg.interface, NULL, 0, NULL, CTRL_MS);
    if (rc != LODE_OK)
        return rc;
    lodei_dfu_status_s st;
    rc = get_status(d, &st);
    if (rc != LODE_OK || st.state == LODEI_DFU_MANIFEST || st.state == LODEI_DFU_MANIFEST_WAIT_RESET ||
        st.state == LODEI_DFU_MANIFEST_SYNC) {
        lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                 "the DFU device left DFU mode: it resets and starts the application at 0x%08x", (unsigned)start);
        return LODE_OK;
    }
    lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "the DFU device did not leave DFU mode (%s, %s)",
             lodei_dfu_state_name(st.state), lodei_dfu_status_name(st.status));
    return LODE_E_PROTOCOL;
}

/* a DFU suffix for another device, a UF2 image for another chip family */
static int l_accept(void *ctx, const lode_image_s *img, const lode_log_s *log)
{
    const dfu_s *d = ctx;
    if (img->has_dfu_ids && ((img->dfu_vid != 0xFFFF && img->dfu_vid != d->usb.vid) ||
                             (img->dfu_pid != 0xFFFF && img->dfu_pid != d->usb.pid && img->dfu_pid != d->first_pid))) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the image's DFU suffix is for %04x:%04x, this device is %04x:%04x: use the file made for this device",
                 img->dfu_vid, img->dfu_pid, d->usb.vid, d->usb.pid);
        return LODE_E_FORMAT;
    }
    const char *fam = img->has_uf2_family ? lode_uf2_family_name(img->uf2_family) : NULL;
    if (fam && d->dfuse && d->usb.vid == 0x0483 && strncmp(fam, "STM32", 5) != 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the UF2 image is for family %s, but %04x:%04x is an STM32 bootloader: use the image built for this chip",
                 fam, d->usb.vid, d->usb.pid);
        return LODE_E_FORMAT;
    }
    return LODE_OK;
}

static int l_can_erase(void *ctx, const lode_log_s *log)
{
    const dfu_s *d = ctx;
    if (!d->plain)
        return LODE_OK;
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the plain DFU 1.1 device %04x:%04x has no erase command: a download replaces its firmware",
             d->usb.vid, d->usb.pid);
    return LODE_E_INVALID_ARG;
}

static const lode_loader_ops_s dfu_loader_ops = {
    .name = "DFU",
    .via = " through DFU",
    .verifies = false,
    .knows_memories = true,
    .unprotects = true,
    .layout = l_layout,
    .write = l_write,
    .read = l_read,
    .reset_run = l_reset_run,
    .can_erase = l_can_erase,
    .accept = l_accept,
};

/* ---- the probe -------------------------------------------------------------------------------- */

static int p_loader(void *ctx, lode_loader_s **out)
{
    dfu_s *d = ctx;
    return lodei_loader_once(&dfu_loader_ops, d, &d->loader, out);
}

static void p_describe(void *ctx, lode_probe_info_s *info)
{
    dfu_s *d = ctx;
    snprintf(info->vendor, sizeof info->vendor, "%.63s", d->usb.manufacturer);
    snprintf(info->product, sizeof info->product, "%s", d->usb.product);
    snprintf(info->serial, sizeof info->serial, "%s", d->usb.serial);
    snprintf(info->protocol, sizeof info->protocol, "%s %x.%02x", d->dfuse ? "DfuSe" : "DFU",
             d->cfg.func.bcd_dfu >> 8, d->cfg.func.bcd_dfu & 0xFF);
    snprintf(info->description, sizeof info->description, "%s %04x:%04x %s (%s)", d->dfuse ? "DfuSe" : "DFU",
             d->usb.vid, d->usb.pid, d->usb.serial, d->usb.product);
    size_t used = (size_t)snprintf(info->detail, sizeof info->detail, "transfer size %u, %s%s%s",
                                   d->xfer, d->cfg.func.attributes & LODEI_DFU_CAN_UPLOAD ? "upload" : "no upload",
                                   d->cfg.func.attributes & LODEI_DFU_MANIFEST_TOLERANT ? ", manifestation tolerant" : "",
                                   d->cfg.func.attributes & LODEI_DFU_WILL_DETACH ? ", will detach" : "");
    if (d->plain && used < sizeof info->detail)
        used += (size_t)snprintf(info->detail + used, sizeof info->detail - used,
                                 "; plain DFU: the firmware is one stream from the image's first address");
    for (size_t a = 0; a < d->cfg.nalts && used < sizeof info->detail; a++)
        used += (size_t)snprintf(info->detail + used, sizeof info->detail - used, "; alt %u \"%s\"", d->cfg.alt[a],
                                 d->alt_name[a]);
}

static void p_close(void *ctx)
{
    dfu_s *d = ctx;
    lode_loader_free(d->loader);
    lode_transport_close(d->t);
    free(d->up);
    free(d);
}

static const lode_probe_ops_s dfu_probe_ops = {
    .loader = p_loader,
    .describe = p_describe,
    .close = p_close,
};

/* string descriptor idx as ASCII (USB 2.0 9.6.7: UTF-16LE, language 0x0409) */
static void get_string(dfu_s *d, uint8_t idx, char *buf, size_t cap)
{
    uint8_t b[255];
    size_t got = 0;
    buf[0] = 0;
    if (!idx || lode_usb_control(d->t, 0x80, 6, (uint16_t)(0x0300 | idx), 0x0409, b, sizeof b, &got, CTRL_MS) !=
                    LODE_OK || got < 2)
        return;
    size_t n = b[0] < got ? b[0] : got, o = 0;
    for (size_t i = 2; i + 1 < n && o + 1 < cap; i += 2)
        buf[o++] = b[i + 1] || b[i] < 0x20 || b[i] > 0x7E ? '?' : (char)b[i];
    buf[o] = 0;
}

/* descriptors, alternate settings and their layouts, the regions */
static int dfu_setup(dfu_s *d)
{
    uint8_t cfgd[1024];
    size_t got = 0;
    int rc = lode_usb_control(d->t, 0x80, 6, 0x0200, 0, cfgd, sizeof cfgd, &got, CTRL_MS);
    if (rc == LODE_OK && lodei_dfu_parse_config(cfgd, got, &d->cfg) != LODE_OK) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%04x:%04x: no DFU interface in its configuration descriptor",
                 d->usb.vid, d->usb.pid);
        rc = LODE_E_PROTOCOL;
    }
    if (rc != LODE_OK)
        return rc;
    d->xfer = d->cfg.has_func && d->cfg.func.transfer_size ? d->cfg.func.transfer_size : 64;
    if (d->xfer > 4096)
        d->xfer = 4096;
    d->dfuse = d->cfg.has_func && d->cfg.func.bcd_dfu == LODEI_DFU_BCD_DFUSE;
    d->plain = !d->dfuse;
    d->plain_region = (lode_flash_region_s){.name = "firmware (one stream)", .start = 0, .end = 0xFFFF0000u,
                                            .page_size = 1024, .erased = 0xFF, .sector_at = plain_sector_at};
    for (size_t a = 0; a < d->cfg.nalts; a++) {
        get_string(d, d->cfg.alt_string[a], d->alt_name[a], sizeof d->alt_name[a]);
        if (!d->dfuse || d->alt_name[a][0] != '@')
            continue;
        if ((rc = lodei_dfuse_parse_layout(d->alt_name[a], d->log, &d->layout[a])) != LODE_OK)
            return rc;
        d->has_layout[a] = true;
        for (size_t s = 0; s < d->layout[a].nsegs && d->nregions < LODEI_DFUSE_MAX_SEGS; s++) {
            const lodei_dfuse_seg_s *g = &d->layout[a].seg[s];
            if (!(g->flags & LODEI_DFUSE_WRITABLE))
                continue;
            dfu_region_s *r = &d->reg[d->nregions];
            r->seg = *g;
            r->alt = d->cfg.alt[a];
            uint32_t page = g->sector_size < d->xfer ? g->sector_size : d->xfer;
            d->regions[d->nregions] = (lode_flash_region_s){.name = d->layout[a].name, .start = g->start,
                                                            .end = g->end, .page_size = page, .erased = 0xFF,
                                                            .sector_at = sector_at, .user = r};
            d->nregions++;
        }
    }
    d->cur_alt = -1;
    return LODE_OK;
}

static const lode_usb_match_s dfu_match[] = {
    {.fields = LODE_USB_M_CLASS | LODE_USB_M_SUBCLASS, .if_class = 0xFE, .if_subclass = 0x01},
};

static int row_list(const lode_probe_driver_s *drv, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)drv;
    lode_usb_probe_s *probes = NULL;
    size_t n = 0;
    int rc = lode_usb_enumerate(dfu_match, 1, NULL, log, &probes, &n);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        snprintf(f.spec, sizeof f.spec, "dfu:%04x:%04x:%s", probes[i].vid, probes[i].pid, probes[i].serial);
        f.kind = probes[i].if_protocol == 1 ? "dfu-runtime" : "dfu";
        snprintf(f.product, sizeof f.product, "%s", probes[i].product);
        snprintf(f.manufacturer, sizeof f.manufacturer, "%s", probes[i].manufacturer);
        snprintf(f.serial, sizeof f.serial, "%s", probes[i].serial);
        snprintf(f.text, sizeof f.text, "DFU%s  %.60s %.100s  %.120s", probes[i].if_protocol == 1 ? " (run-time)" : "",
                 probes[i].manufacturer, probes[i].product, probes[i].if_string);
        fn(user, &f);
    }
    free(probes);
    return rc;
}

/* A run-time DFU interface (protocol 1, DFU 1.1 5.1): DETACH, then a USB reset unless the
 * device detaches by itself (bitWillDetach); it comes back in DFU mode (protocol 2), perhaps
 * with another product ID but the same vendor and serial number, which is opened instead. */
static int detach_reopen(dfu_s *d)
{
    uint16_t timeout = d->cfg.func.detach_timeout_ms ? d->cfg.func.detach_timeout_ms : 1000;
    lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_PROBE, "%04x:%04x has a DFU run-time interface: detaching it into DFU mode",
             d->usb.vid, d->usb.pid);
    int rc = lode_usb_control(d->t, 0x21, LODEI_DFU_DETACH, timeout, d->cfg.interface, NULL, 0, NULL, CTRL_MS);
    if (rc == LODE_OK && !(d->cfg.func.attributes & LODEI_DFU_WILL_DETACH))
        rc = lode_usb_reset(d->t);
    if (rc != LODE_OK && rc != LODE_E_NO_DEVICE) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%04x:%04x refused DETACH (%s): start its bootloader by hand",
                 d->usb.vid, d->usb.pid, lode_strerror(rc));
        return rc;
    }
    lode_transport_close(d->t);
    d->t = NULL;
    lode_usb_filter_s f = {.vid = d->usb.vid, .serial = d->usb.serial[0] ? d->usb.serial : NULL};
    unsigned waited = 0, limit = 5000u + timeout;
    for (;;) {
        lode_usb_probe_s *probes = NULL;
        size_t n = 0;
        rc = lode_usb_enumerate(dfu_match, 1, &f, d->log, &probes, &n);
        for (size_t i = 0; rc == LODE_OK && i < n; i++)
            if (probes[i].if_protocol == 2) {
                d->usb = probes[i];
                free(probes);
                memset(&d->cfg, 0, sizeof d->cfg);
                memset(d->has_layout, 0, sizeof d->has_layout);
                d->nregions = 0;
                rc = lode_usb_open(&d->usb, d->log, &d->t);
                return rc == LODE_OK ? dfu_setup(d) : rc;
            }
        free(probes);
        if (rc != LODE_OK)
            return rc;
        if (waited >= limit)
            break;
        sleep_ms(100);
        waited += 100;
    }
    lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "%04x:%04x was detached but no DFU-mode device with its serial number appeared within %u s: start its "
             "bootloader by hand (button, BOOT pin) and use dfu:VID:PID",
             d->usb.vid, d->usb.pid, limit / 1000u);
    return LODE_E_NO_DEVICE;
}

static int row_open(const lode_probe_driver_s *drv, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    (void)drv;
    lode_usb_filter_s f;
    if (lode_usb_parse_filter(args, &f) != LODE_OK) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe selector '%s': use dfu:VID:PID[:SERIAL] with hex VID/PID", args);
        return LODE_E_INVALID_ARG;
    }
    lode_usb_probe_s *probes = NULL;
    size_t n = 0, idx = 0;
    dfu_s *d = calloc(1, sizeof *d);
    int rc = d ? lode_usb_enumerate(dfu_match, 1, &f, o->log, &probes, &n) : LODE_E_NOMEM;
    if (rc == LODE_OK)
        rc = lode_probe_choose(probes, n, "DFU device", "dfu", args, o->log, &idx);
    if (rc == LODE_OK) {
        d->usb = probes[idx];
        d->log = o->log;
        rc = lode_usb_open(&probes[idx], o->log, &d->t);
    }
    free(probes);
    if (rc == LODE_OK)
        rc = dfu_setup(d);
    if (d)
        d->first_pid = d->usb.pid;
    if (rc == LODE_OK && d->cfg.protocol == 1)
        rc = detach_reopen(d);
    if (rc != LODE_OK) {
        if (d)
            lode_transport_close(d->t);
        free(d);
        return rc;
    }
    return lode_probe_new(&dfu_probe_ops, d, "dfu", NULL, out);
}

const lode_probe_driver_s lodei_probe_row_dfu = {
    .name = "dfu",
    .syntax = "dfu[:VID:PID[:SERIAL]]",
    .help = "a USB DFU 1.1 / ST DfuSe bootloader (e.g. an STM32 in system memory boot mode)",
    .list = row_list,
    .open = row_open,
};
