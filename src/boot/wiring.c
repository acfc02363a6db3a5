/* SPDX-License-Identifier: MIT */
/* The `wiring:PORT[:BAUD]` probe: the Arduino Mega 2560's STK500v2 bootloader (stk500boot.c,
 * "AVRISP_2") behind the auto-reset circuit. Only a loader face and describe. The memories it
 * offers the planner: the application flash (256-byte pages), the bootloader's section and the
 * EEPROM at the AVR ELF address 0x810000 (written and read through the bootloader).
 *
 * How this bootloader behaves (its source, checked on the simulated board):
 *  - it refuses CHIP_ERASE on purpose; a page is erased when a page is programmed -- but the
 *    page erased is the next one of a counter that starts at 0 in every session, whatever
 *    address the page goes to. So pages are written in order from 0, each once per session;
 *    pages below the image (or skipped as unchanged) are read and written back as they were.
 *  - LOAD_ADDRESS takes a word address (bit 31: the extended byte for RAMPZ); an EEPROM write
 *    takes the byte address there, but an EEPROM read starts at twice the loaded value: reads
 *    load half the (even) byte address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/avr_parts.h"
#include "boot/boot.h"
#include "boot/stk500v2.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "probe/probe_i.h"

#define DEFAULT_BAUD 115200u
#define SYNC_TRIES 10
#define SYNC_WAIT_MS 300
#define CHUNK 256u

enum { R_APP = LODEI_AVR_R_APP, R_BOOT = LODEI_AVR_R_BOOT, R_EEPROM = LODEI_AVR_R_EEPROM, NREGIONS = LODEI_AVR_NREGIONS };

typedef struct wir_s {
    lode_stream_s *s;
    bool own_stream;
    lodei_stk2_s c;
    const lode_log_s *log;
    char port[200];
    unsigned baud;
    char name[32];            /* SIGN_ON's answer: "AVRISP_2" */
    uint8_t hw, major, minor;
    uint8_t sig[3];
    lode_board_db_s *data;
    const lodei_avr_part_s *part;
    bool extended;            /* flash beyond 64 Ki words: LOAD_ADDRESS bit 31 */
    uint32_t boot_size;
    uint32_t erase_next;      /* the bootloader's erase counter (byte address) */
    lode_flash_region_s regions[NREGIONS];
    lode_loader_s *loader;
} wir_s;

static int wl_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    wir_s *w = ctx;
    *regions = w->regions;
    *nregions = NREGIONS;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

static uint32_t flash_address(const wir_s *w, uint32_t byte_addr)
{
    return byte_addr / 2 | (w->extended ? LODEI_STK2_ADDR_EXTENDED : 0);
}

static int read_flash(wir_s *w, uint32_t at, uint8_t *buf, size_t n)
{
    int rc = lodei_stk2_load_address(&w->c, flash_address(w, at));
    return rc == LODE_OK ? lodei_stk2_read(&w->c, false, buf, n) : rc;
}

/* Program the page at `addr` (page_size bytes), the one the bootloader erases next. */
static int program_page(wir_s *w, uint32_t addr, const uint8_t *data)
{
    uint32_t ps = w->part->page_size;
    int rc = lodei_stk2_load_address(&w->c, flash_address(w, addr));
    if (rc == LODE_OK)
        rc = lodei_stk2_program(&w->c, false, data, ps);
    if (rc == LODE_OK && w->erase_next < w->regions[R_APP].end)
        w->erase_next += ps;
    return rc;
}

static int wl_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    wir_s *w = ctx;
    const uint32_t ps = w->part->page_size;
    /* everything is checked before the first byte goes out */
    if (!plan->npages && plan->nsectors) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the wiring bootloader has no erase (it refuses CHIP_ERASE on purpose; each page is erased as it "
                 "is written): flash the new image instead");
        return LODE_E_UNSUPPORTED;
    }
    for (size_t i = 0; i < plan->npages; i++)
        if (plan->pages[i].region == R_BOOT) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the image reaches 0x%05x, into the bootloader (0x%05x..0x%05x): the application area of %s "
                     "through this bootloader is %u bytes; link it smaller",
                     plan->pages[i].addr, w->regions[R_BOOT].start, w->regions[R_BOOT].end - 1, w->part->name,
                     w->regions[R_APP].end);
            return LODE_E_RANGE;
        }
    size_t total = 0, done = 0;
    for (size_t i = 0; i < plan->npages; i++)
        total += plan->sectors[plan->pages[i].sector].skip ? 0 : 1;
    /* flash: in order from the bootloader's erase counter, pages between rewritten as they are */
    uint8_t keep[CHUNK];
    size_t restored = 0;
    for (size_t i = 0; i < plan->npages; i++) {
        const lode_flash_page_s *pg = &plan->pages[i];
        if (pg->region != R_APP || plan->sectors[pg->sector].skip)
            continue;
        if (pg->addr < w->erase_next) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the page at 0x%05x was already written in this session: the wiring bootloader erases pages "
                     "only in order; reset the board (open the port again) and flash once", pg->addr);
            return LODE_E_UNSUPPORTED;
        }
        int rc = LODE_OK;
        while (rc == LODE_OK && w->erase_next < pg->addr) {
            uint32_t at = w->erase_next;
            rc = read_flash(w, at, keep, ps);
            if (rc == LODE_OK)
                rc = program_page(w, at, keep);
            restored++;
        }
        if (rc == LODE_OK)
            rc = program_page(w, pg->addr, pg->data);
        if (rc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "writing the page at 0x%05x failed: %zu pages before it were written; flash again",
                     pg->addr, res->pages_programmed);
            return rc;
        }
        res->pages_programmed++;
        res->sectors_erased++;
        res->bytes_programmed += ps;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, ++done, total);
    }
    if (restored)
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                 "%zu pages below the image were read and written back (the wiring bootloader erases pages in order "
                 "from 0)", restored);
    /* EEPROM: runs of consecutive bytes, up to 256 per command */
    for (size_t i = 0; i < plan->npages;) {
        const lode_flash_page_s *pg = &plan->pages[i];
        if (pg->region != R_EEPROM || plan->sectors[pg->sector].skip) {
            i++;
            continue;
        }
        uint8_t run[CHUNK];
        uint32_t start = pg->addr;
        size_t n = 0;
        while (i < plan->npages && n < CHUNK && plan->pages[i].region == R_EEPROM &&
               !plan->sectors[plan->pages[i].sector].skip && plan->pages[i].addr == start + n) {
            run[n++] = plan->pages[i].data[0];
            i++;
        }
        int rc = lodei_stk2_load_address(&w->c, start - LODEI_AVR_EEPROM_BASE);
        if (rc == LODE_OK)
            rc = lodei_stk2_program(&w->c, true, run, n);
        if (rc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "writing EEPROM at 0x%04x failed; write it again",
                     start - LODEI_AVR_EEPROM_BASE);
            return rc;
        }
        res->bytes_programmed += n;
    }
    return LODE_OK;
}

static int wl_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    wir_s *w = ctx;
    uint8_t chunk[CHUNK];
    bool eeprom = addr >= LODEI_AVR_EEPROM_BASE;
    uint32_t base = eeprom ? LODEI_AVR_EEPROM_BASE : 0, size = eeprom ? w->part->eeprom_size : w->part->flash_size;
    if (addr - base > size || len > size - (addr - base))
        return LODE_E_RANGE;
    /* from an even address (flash words; EEPROM reads start at twice the loaded value) */
    uint32_t start = (addr - base) & ~1u, end = (uint32_t)(addr - base + len);
    for (uint32_t at = start; at < end;) {
        uint32_t n = end - at < CHUNK ? end - at : CHUNK;
        n += n & 1u; /* flash reads whole words */
        if (at + n > size)
            n = size - at;
        int rc = lodei_stk2_load_address(&w->c, eeprom ? at / 2 : flash_address(w, at));
        if (rc == LODE_OK)
            rc = lodei_stk2_read(&w->c, eeprom, chunk, n);
        if (rc != LODE_OK)
            return rc;
        uint32_t lo = at < addr - base ? addr - base : at, hi = at + n > end ? end : at + n;
        memcpy((uint8_t *)buf + (lo - (addr - base)), chunk + (lo - at), hi - lo);
        at += n;
    }
    return LODE_OK;
}

static int wl_reset_run(void *ctx)
{
    wir_s *w = ctx;
    return lodei_stk2_leave_progmode(&w->c);
}

static const lode_loader_ops_s wir_loader_ops = {
    .name = "STK500v2 bootloader",
    .via = " through the bootloader",
    .knows_memories = true,
    .layout = wl_layout,
    .write = wl_write,
    .read = wl_read,
    .reset_run = wl_reset_run,
};

/* ---- the probe ----------------------------------------------------------------------------- */

static int wp_loader(void *ctx, lode_loader_s **out)
{
    wir_s *w = ctx;
    return lodei_loader_once(&wir_loader_ops, w, &w->loader, out);
}

static void wp_describe(void *ctx, lode_probe_info_s *info)
{
    wir_s *w = ctx;
    snprintf(info->description, sizeof info->description,
             "wiring (STK500v2 bootloader %s %u.%u on %s at %u baud: %s, signature %02X %02X %02X)", w->name,
             w->major, w->minor, w->port, w->baud, w->part->name, w->sig[0], w->sig[1], w->sig[2]);
    snprintf(info->product, sizeof info->product, "%s", w->part->name);
    snprintf(info->firmware, sizeof info->firmware, "%u.%u", w->major, w->minor);
    snprintf(info->protocol, sizeof info->protocol, "STK500v2");
    snprintf(info->detail, sizeof info->detail,
             "%s: application 0x00000..0x%05x (%u bytes), bootloader %u bytes, page %u bytes, EEPROM %u bytes "
             "(read and written), no chip erase", w->name, w->regions[R_APP].end - 1, w->regions[R_APP].end,
             w->boot_size, w->part->page_size, w->part->eeprom_size);
}

static void wp_close(void *ctx)
{
    wir_s *w = ctx;
    if (!w)
        return;
    lode_loader_free(w->loader);
    if (w->s) {
        w->c.timeout_ms = 200;
        w->c.log = NULL;
        lodei_stk2_leave_progmode(&w->c); /* the application starts */
        if (w->own_stream)
            lode_stream_close(w->s);
    }
    lode_board_db_free(w->data);
    free(w);
}

static const char *wp_chip(void *ctx) { return ((wir_s *)ctx)->part->name; }

static const lode_probe_ops_s wir_probe_ops = {
    .loader = wp_loader,
    .chip = wp_chip,
    .describe = wp_describe,
    .close = wp_close,
};

static int sync_failed(const wir_s *w, lodei_stk2_sync_e seen, const uint8_t *first, size_t nfirst,
                       const lode_log_s *log)
{
    char bytes[40] = "";
    for (size_t i = 0; i < nfirst && strlen(bytes) + 4 < sizeof bytes; i++)
        snprintf(bytes + strlen(bytes), sizeof bytes - strlen(bytes), "%s%02x", i ? " " : "", first[i]);
    switch (seen) {
    case LODEI_STK2_SYNC_ECHO:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s sends back what lode sends (%s): a loopback or an echoing terminal, not a bootloader; check "
                 "that this is the board's port", w->port, bytes);
        break;
    case LODEI_STK2_SYNC_STK500V1:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s answers in STK500v1 (%s), not STK500v2: an optiboot board (Uno, Nano): use --probe arduino:%s",
                 w->port, bytes, w->port);
        break;
    case LODEI_STK2_SYNC_GARBAGE:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s answers at %u baud, but not in STK500v2 (%s): wrong baud (the Mega 2560's bootloader uses "
                 "115200) or another bootloader (an Uno's optiboot: --probe arduino:%s)", w->port, w->baud, bytes,
                 w->port);
        break;
    default:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no answer at all from a bootloader on %s at %u baud (%d SIGN_ONs after a DTR/RTS reset pulse): "
                 "is this the board's port? a board without auto-reset needs its reset button pressed just before",
                 w->port, w->baud, SYNC_TRIES);
        break;
    }
    return LODE_E_NO_DEVICE;
}

static int wir_start(wir_s *w, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    lodei_stk2_sync_e seen;
    uint8_t first[8];
    size_t nfirst = 0;
    w->c = (lodei_stk2_s){.s = w->s, .log = log, .clock = w->c.clock};
    if (lodei_stk2_sign_on(&w->c, SYNC_TRIES, SYNC_WAIT_MS, w->name, sizeof w->name, &seen, first, &nfirst) !=
        LODE_OK)
        return sync_failed(w, seen, first, nfirst, log);
    int rc = lodei_stk2_get_parameter(&w->c, LODEI_STK2_PARAM_HW_VER, &w->hw);
    if (rc == LODE_OK)
        rc = lodei_stk2_get_parameter(&w->c, LODEI_STK2_PARAM_SW_MAJOR, &w->major);
    if (rc == LODE_OK)
        rc = lodei_stk2_get_parameter(&w->c, LODEI_STK2_PARAM_SW_MINOR, &w->minor);
    if (rc == LODE_OK)
        rc = lodei_stk2_enter_progmode(&w->c);
    if (rc == LODE_OK)
        rc = lodei_stk2_signature(&w->c, w->sig);
    if (rc == LODE_OK)
        rc = lode_board_db_new(log, &w->data);
    if (rc != LODE_OK)
        return rc;
    if ((rc = lodei_avr_pick_part(w->data, w->sig, o->chip, o->force, log, &w->part)) != LODE_OK)
        return rc;
    if (w->part->page_size > CHUNK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s has %u-byte pages, more than STK500v2 moves at once",
                 w->part->name, w->part->page_size);
        return LODE_E_UNSUPPORTED;
    }
    w->extended = w->part->flash_size > 0x20000u;
    /* the BOOTSZ fuses cannot be read through this bootloader: it takes the largest section */
    w->boot_size = w->part->boot_sizes[3];
    lodei_avr_regions(w->regions, w->part, w->boot_size);
    return LODE_OK;
}

int lodei_boot_wiring_open_stream(lode_stream_s *s, bool own, const char *port, unsigned baud,
                                  const lode_probe_open_opts_s *o, const lode_probe_extra_s *extra,
                                  lode_probe_s **out)
{
    wir_s *w = calloc(1, sizeof *w);
    int rc = w ? LODE_OK : LODE_E_NOMEM;
    if (w) {
        w->s = s;
        w->own_stream = own;
        w->log = o->log;
        w->baud = baud;
        snprintf(w->port, sizeof w->port, "%s", port);
        if (extra && extra->now_us && extra->delay_us) /* a simulated board: waits in its time */
            w->c.clock = (lodei_boot_clock_s){extra->now_us, extra->time_user};
        rc = wir_start(w, o);
    }
    if (rc != LODE_OK) {
        if (own)
            lode_stream_close(s);
        if (w) {
            w->s = NULL;
            wp_close(w);
        }
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        return rc;
    }
    return lode_probe_new(&wir_probe_ops, w, "wiring", extra, out);
}

static int wir_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    char port[200];
    unsigned baud;
    lode_stream_s *s = NULL;
    int rc = lodei_boot_parse_port(d, args, DEFAULT_BAUD, o->log, port, sizeof port, &baud);
    if (rc == LODE_OK)
        rc = lodei_boot_open_reset(port, baud, o->log, &s);
    return rc == LODE_OK ? lodei_boot_wiring_open_stream(s, true, port, baud, o, NULL, out) : rc;
}

const lode_probe_driver_s lodei_probe_row_wiring = {
    .name = "wiring",
    .syntax = "wiring:PORT[:BAUD]",
    .help = "the Arduino Mega 2560's STK500v2 bootloader (flash and EEPROM; no chip erase), 115200 baud by default",
    .needs_args = true,
    .open = wir_open,
};
