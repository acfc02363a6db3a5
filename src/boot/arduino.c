/* SPDX-License-Identifier: MIT */
/* The `arduino:PORT[:BAUD]` probe: an AVR serial bootloader speaking STK500v1 (optiboot,
 * ATmegaBOOT) behind the Arduino auto-reset circuit. Only a loader face and describe. The
 * memories it offers the planner: the application flash (pages, erased as they are written),
 * the bootloader's own section and the EEPROM (at the AVR ELF address 0x810000) -- the last two
 * so that an image reaching into them is refused with the reason before anything is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/avr_parts.h"
#include "boot/boot.h"
#include "boot/stk500v1.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "probe/probe_i.h"

#define DEFAULT_BAUD 115200u
/* One GET_SYNC (two bytes: they fit the AVR's receive buffer) in flight at a time, each given
 * longer than optiboot's start (the Uno's flashes its LED three times, 375 ms, before it reads
 * the line): a second try sent into a full buffer is lost in part, and optiboot then takes its
 * last byte (0x20) as a command and resets on the next command's first byte. */
#define SYNC_TRIES 5
#define SYNC_WAIT_MS 500
#define START_MS 100

enum { R_APP = LODEI_AVR_R_APP, R_BOOT = LODEI_AVR_R_BOOT, R_EEPROM = LODEI_AVR_R_EEPROM, NREGIONS = LODEI_AVR_NREGIONS };

typedef struct ard_s {
    lode_stream_s *s;
    bool own_stream;
    lodei_stk1_s c;
    const lode_log_s *log;
    char port[200];
    unsigned baud;
    uint8_t sig[3];
    uint8_t major, minor;
    bool optiboot;           /* major >= 4: optiboot (no EEPROM in the stock 4.4) */
    lode_board_db_s *data;   /* the AVR parts */
    const lodei_avr_part_s *part;
    uint32_t boot_size;
    lode_flash_region_s regions[NREGIONS];
    lode_loader_s *loader;
    bool left;               /* the application was started: the line is its console now */
} ard_s;

/* ---- the loader face ------------------------------------------------------------------------- */

static int al_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    ard_s *a = ctx;
    *regions = a->regions;
    *nregions = NREGIONS;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

static int refuse_region(ard_s *a, unsigned region, uint32_t addr, const lode_log_s *log)
{
    if (region == R_BOOT)
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the image reaches 0x%04x, into the bootloader (0x%04x..0x%04x): the application area of %s "
                 "through this bootloader is %u bytes; link it smaller",
                 addr, a->regions[R_BOOT].start, a->regions[R_BOOT].end - 1, a->part->name,
                 a->regions[R_APP].end);
    else
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the image has EEPROM data (0x%06x) but %s %u.%u cannot write EEPROM%s: leave it out of the "
                 "image (avr-objcopy -R .eeprom) or write it with an ISP programmer",
                 addr, a->optiboot ? "optiboot" : "this bootloader", a->major, a->minor,
                 a->optiboot ? " (stock optiboot 4.4 would write the bytes into flash page 0)" : "");
    return LODE_E_RANGE;
}

static int al_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    ard_s *a = ctx;
    /* everything is checked before the first byte goes out */
    size_t nerase = 0; /* sectors to erase (not skipped as unchanged) */
    for (size_t i = 0; i < plan->nsectors; i++)
        nerase += !plan->sectors[i].skip;
    if (!plan->npages && nerase) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "STK500v1 bootloaders have no erase (each page is erased as it is written): flash the new "
                 "image instead");
        return LODE_E_UNSUPPORTED;
    }
    for (size_t i = 0; i < plan->npages; i++)
        if (plan->pages[i].region != R_APP)
            return refuse_region(a, plan->pages[i].region, plan->pages[i].addr, log);
    for (size_t i = 0; i < plan->nsectors; i++)
        if (!plan->sectors[i].skip && plan->sectors[i].region != R_APP)
            return refuse_region(a, plan->sectors[i].region, plan->sectors[i].addr, log);
    for (size_t i = 0; i < plan->npages; i++) {
        const lode_flash_page_s *pg = &plan->pages[i];
        if (plan->sectors[pg->sector].skip)
            continue;
        int rc = lodei_stk1_load_prog(&a->c, (uint16_t)(pg->addr / 2), 'F', pg->data, pg->size);
        if (rc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "writing the page at 0x%04x failed: %zu pages before it were written; flash again", pg->addr,
                     res->pages_programmed);
            return rc;
        }
        res->pages_programmed++;
        res->sectors_erased++;
        res->bytes_programmed += pg->size;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, i + 1, plan->npages);
    }
    return LODE_OK;
}

static int al_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    ard_s *a = ctx;
    if (addr >= LODEI_AVR_EEPROM_BASE) {
        lode_log(a->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "%s %u.%u cannot read EEPROM: read it with an ISP programmer",
                 a->optiboot ? "optiboot" : "this bootloader", a->major, a->minor);
        return LODE_E_UNSUPPORTED;
    }
    if ((uint64_t)addr + len > a->part->flash_size || a->part->flash_size > 0x20000u)
        return LODE_E_RANGE;
    uint8_t chunk[LODEI_STK1_MAX_PAGE];
    uint32_t start = addr & ~1u, end = (uint32_t)(addr + len + 1) & ~1u;
    for (uint32_t at = start; at < end;) {
        uint32_t n = end - at < sizeof chunk ? end - at : (uint32_t)sizeof chunk;
        int rc = lodei_stk1_load_read(&a->c, (uint16_t)(at / 2), 'F', chunk, n);
        if (rc != LODE_OK)
            return rc;
        /* the part of [at, at+n) inside [addr, addr+len) */
        uint32_t lo = at < addr ? addr : at, hi = at + n > addr + len ? (uint32_t)(addr + len) : at + n;
        memcpy((uint8_t *)buf + (lo - addr), chunk + (lo - at), hi - lo);
        at += n;
    }
    return LODE_OK;
}

static int al_reset_run(void *ctx)
{
    ard_s *a = ctx;
    if (a->left) {
        lode_log(a->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the application already runs: the bootloader answers again only after the next reset "
                 "(the next command)");
        return LODE_E_UNSUPPORTED;
    }
    int rc = lodei_stk1_leave(&a->c);
    if (rc == LODE_OK)
        a->left = true;
    return rc;
}

static const lode_loader_ops_s ard_loader_ops = {
    .name = "STK500v1 bootloader",
    .via = " through the bootloader",
    .knows_memories = true,
    .layout = al_layout,
    .write = al_write,
    .read = al_read,
    .reset_run = al_reset_run,
};

/* ---- the probe ----------------------------------------------------------------------------- */

static int ap_loader(void *ctx, lode_loader_s **out)
{
    ard_s *a = ctx;
    return lodei_loader_once(&ard_loader_ops, a, &a->loader, out);
}

static void ap_describe(void *ctx, lode_probe_info_s *info)
{
    ard_s *a = ctx;
    snprintf(info->description, sizeof info->description,
             "arduino (%s %u.%u on %s at %u baud: %s, signature %02X %02X %02X)",
             a->optiboot ? "optiboot" : "STK500v1 bootloader", a->major, a->minor, a->port, a->baud,
             a->part->name, a->sig[0], a->sig[1], a->sig[2]);
    snprintf(info->product, sizeof info->product, "%s", a->part->name);
    snprintf(info->firmware, sizeof info->firmware, "%u.%u", a->major, a->minor);
    snprintf(info->protocol, sizeof info->protocol, "STK500v1");
    snprintf(info->detail, sizeof info->detail,
             "%s: application 0x0000..0x%04x (%u bytes), bootloader %u bytes, page %u bytes, EEPROM %s",
             a->optiboot ? "optiboot" : "bootloader", a->regions[R_APP].end - 1, a->regions[R_APP].end,
             a->boot_size, a->part->page_size, a->optiboot ? "not reachable (optiboot)" : "not reachable");
}

/* The console: the application started by LEAVE_PROGMODE (optiboot resets through its
 * watchdog into it), then the same port is its serial line. */
static int ap_console(void *ctx, lode_stream_s **out)
{
    ard_s *a = ctx;
    if (!a->left) {
        int rc = lodei_stk1_leave(&a->c);
        if (rc != LODE_OK)
            return rc;
        a->left = true;
    }
    *out = a->s;
    return LODE_OK;
}

static void ap_close(void *ctx)
{
    ard_s *a = ctx;
    if (!a)
        return;
    lode_loader_free(a->loader);
    lode_board_db_free(a->data);
    if (a->s) {
        a->c.timeout_ms = 200;
        a->c.log = NULL;
        if (!a->left) /* the application starts (it would after the bootloader's timeout) */
            lodei_stk1_leave(&a->c);
        if (a->own_stream)
            lode_stream_close(a->s);
    }
    free(a);
}

static const char *ap_chip(void *ctx) { return ((ard_s *)ctx)->part->name; }

static const lode_probe_ops_s ard_probe_ops = {
    .loader = ap_loader,
    .chip = ap_chip,
    .console = ap_console,
    .describe = ap_describe,
    .close = ap_close,
};

static void hex3(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && used + 4 < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%02x", i ? " " : "", b[i]);
}

static int sync_failed(ard_s *a, lodei_stk1_sync_e seen, const uint8_t *first, size_t nfirst,
                       const lode_log_s *log)
{
    char bytes[40];
    hex3(first, nfirst, bytes, sizeof bytes);
    switch (seen) {
    case LODEI_STK1_SYNC_ECHO:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s sends back what lode sends (%s): a loopback or an echoing terminal, not a bootloader; "
                 "check that this is the board's port", a->port, bytes);
        break;
    case LODEI_STK1_SYNC_GARBAGE: {
        const char *name = NULL, *kind = lodei_boot_guess_protocol(first, nfirst, &name);
        if (kind)
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "%s answers GET_SYNC in %s (%s), not STK500v1: use --probe %s:%s", a->port, name, bytes, kind,
                     a->port);
        else
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "%s answers at %u baud, but not in STK500v1 (%s): the wrong baud; an ATmega328P Nano with "
                     "the old bootloader and a Duemilanove use 57600 (--board nano-old-bootloader, or --probe "
                     "arduino:%s:57600), ATmega168 boards 19200", a->port, a->baud, bytes, a->port);
        break;
    }
    default:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no answer at all from a bootloader on %s at %u baud (%d GET_SYNCs after a DTR/RTS reset "
                 "pulse): is this the board's port? a board without auto-reset needs its reset button pressed "
                 "just before; an old-bootloader Nano uses 57600 (--board nano-old-bootloader); a Mega 2560 "
                 "speaks STK500v2 (--probe wiring:%s)",
                 a->port, a->baud, SYNC_TRIES, a->port);
        break;
    }
    return LODE_E_NO_DEVICE;
}

/* The bootloader on `s` (after its reset): sync, signature, version; the part. */
static int ard_start(ard_s *a, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    lodei_stk1_sync_e seen;
    uint8_t first[8];
    size_t nfirst = 0;
    a->c = (lodei_stk1_s){.s = a->s, .log = log, .clock = a->c.clock};
    /* the board was reset as the port opened: its start-up time (an Uno's fuses: 65 ms) passes
     * and optiboot switches its receiver on before a byte can be heard; a GET_SYNC cut in half
     * leaves optiboot a lone 0x20 that makes it reset on the next command */
    lodei_boot_sleep_ms(START_MS);
    if (lodei_stk1_sync(&a->c, SYNC_TRIES, SYNC_WAIT_MS, &seen, first, &nfirst) != LODE_OK)
        return sync_failed(a, seen, first, nfirst, log);
    int rc = lodei_stk1_signature(&a->c, a->sig);
    if (rc == LODE_OK)
        rc = lodei_stk1_get_parameter(&a->c, LODEI_STK1_PARAM_SW_MAJOR, &a->major);
    if (rc == LODE_OK)
        rc = lodei_stk1_get_parameter(&a->c, LODEI_STK1_PARAM_SW_MINOR, &a->minor);
    if (rc != LODE_OK)
        return rc;
    a->optiboot = a->major >= 4;
    if ((rc = lode_board_db_new(log, &a->data)) != LODE_OK)
        return rc;
    if ((rc = lodei_avr_pick_part(a->data, a->sig, o->chip, o->force, log, &a->part)) != LODE_OK)
        return rc;
    if (a->part->flash_size > 0x20000u) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s has more flash than STK500v1 addresses (128 KiB): its bootloader speaks STK500v2 (--probe "
                 "wiring:PORT)", a->part->name);
        return LODE_E_UNSUPPORTED;
    }
    /* the BOOTSZ fuses cannot be read through these bootloaders: optiboot fits the smallest
     * section, the older ATmegaBOOT takes 2 KiB */
    a->boot_size = a->optiboot ? a->part->boot_sizes[0] : 2048u;
    lodei_avr_regions(a->regions, a->part, a->boot_size);
    return LODE_OK;
}

int lodei_boot_arduino_open_stream(lode_stream_s *s, bool own, const char *port, unsigned baud,
                                   const lode_probe_open_opts_s *o, const lode_probe_extra_s *extra,
                                   lode_probe_s **out)
{
    ard_s *a = calloc(1, sizeof *a);
    if (!a) {
        if (own)
            lode_stream_close(s);
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        return LODE_E_NOMEM;
    }
    a->s = s;
    a->own_stream = own;
    a->log = o->log;
    a->baud = baud;
    snprintf(a->port, sizeof a->port, "%s", port);
    if (extra && extra->now_us && extra->delay_us) /* a simulated board: waits in its time */
        a->c.clock = (lodei_boot_clock_s){extra->now_us, extra->time_user};
    int rc = ard_start(a, o);
    if (rc != LODE_OK) {
        a->c.timeout_ms = 1; /* nothing more to say to it */
        if (own)
            lode_stream_close(s);
        a->s = NULL;
        ap_close(a);
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        return rc;
    }
    return lode_probe_new(&ard_probe_ops, a, "arduino", extra, out);
}

static int ard_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    char port[200];
    unsigned baud;
    lode_stream_s *s = NULL;
    int rc = lodei_boot_parse_port(d, args, DEFAULT_BAUD, o->log, port, sizeof port, &baud);
    if (rc == LODE_OK)
        rc = lodei_boot_open_reset(port, baud, o->log, &s);
    return rc == LODE_OK ? lodei_boot_arduino_open_stream(s, true, port, baud, o, NULL, out) : rc;
}

const lode_probe_driver_s lodei_probe_row_arduino = {
    .name = "arduino",
    .syntax = "arduino:PORT[:BAUD]",
    .help = "an AVR serial bootloader speaking STK500v1 (optiboot: Uno, Nano; ATmegaBOOT), 115200 baud by default",
    .needs_args = true,
    .open = ard_open,
};
