/* SPDX-License-Identifier: MIT */
/* The `avr109:PORT[:BAUD]` probe: an AVR109 bootloader (Caterina on the Leonardo, Micro and
 * other ATmega32U4 boards; lode's own UART test bootloader on the simulated Leonardo). When
 * sysfs knows PORT as a USB device that is not an AVR109 bootloader (the running sketch's
 * port), lode gives it the 1200-baud touch and takes the bootloader's port by its VID:PID
 * (lode/serial_usb.h; the IDs are the boards' `bootloader_usb` in lode's board data). The
 * memories it offers the planner: the application flash (pages erased as the bootloader
 * writes them), the bootloader's section (Caterina's 4 KiB) and the EEPROM at 0x810000. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/avr109.h"
#include "boot/avr_parts.h"
#include "boot/boot.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/serial_usb.h"
#include "probe/probe_i.h"

#define DEFAULT_BAUD 57600u
#define SYNC_TRIES 5
#define SYNC_WAIT_MS 300
#define CHUNK 256u     /* bytes per 'g' */
#define WINDOW 4u      /* block writes in flight */
#define MAX_BOOT_IDS 16

enum { R_APP = LODEI_AVR_R_APP, R_BOOT = LODEI_AVR_R_BOOT, R_EEPROM = LODEI_AVR_R_EEPROM, NREGIONS = LODEI_AVR_NREGIONS };

typedef struct a109_s {
    lode_stream_s *s;
    bool own_stream;
    lodei_avr109_s c;
    const lode_log_s *log;
    char port[200];
    unsigned baud;
    char id[8];               /* 'S': "CATERIN", "LODE109" */
    char version[3];          /* 'V': "11" */
    unsigned block;           /* 'b': the block size */
    uint8_t sig[3];
    lode_board_db_s *data;
    const lodei_avr_part_s *part;
    uint32_t boot_size;
    lode_flash_region_s regions[NREGIONS];
    lode_loader_s *loader;
    bool left;                /* 'E' sent: the sketch runs */
    lode_stream_s *console;   /* the sketch's own USB port, once found */
} a109_s;

static int l_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                    const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    a109_s *a = ctx;
    *regions = a->regions;
    *nregions = NREGIONS;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

/* Write `len` bytes (a multiple of the block size for flash) at byte address `addr` of mem:
 * one 'A', then blocks back to back with WINDOW of them in flight (the address increments).
 * *done: the bytes the bootloader confirmed. Failures are not logged here (the caller says
 * once what failed and how far it came). */
static int write_run(a109_s *a, char mem, uint32_t addr, const uint8_t *data, size_t len, size_t *done)
{
    const lode_log_s *log = a->c.log;
    a->c.log = NULL;
    int rc = lodei_avr109_set_address(&a->c, (uint16_t)(mem == 'F' ? addr / 2 : addr));
    size_t bs = a->block;
    uint8_t out[WINDOW * (LODEI_AVR109_MAX_BLOCK + 4)];
    *done = 0;
    for (size_t off = 0; rc == LODE_OK && off < len;) {
        size_t nout = 0, ncmds = 0, start = off;
        while (off < len && ncmds < WINDOW) {
            size_t n = len - off < bs ? len - off : bs;
            nout += lodei_avr109_encode_block(out + nout, sizeof out - nout, mem, data + off, n);
            off += n;
            ncmds++;
        }
        rc = lodei_avr109_send_cr_batch(&a->c, out, nout, ncmds, "'B' (block write)");
        if (rc == LODE_OK)
            *done += off - start;
    }
    a->c.log = log;
    return rc;
}

/* One line for a failed write: the cause, how far it came, what to do. A port that failed is a
 * board that vanished (LODE_E_NO_DEVICE). */
static int write_failed(a109_s *a, int rc, const char *what, uint32_t addr, size_t pages_done, const lode_log_s *log)
{
    const char *why = rc == LODE_E_IO        ? "the port failed: the board vanished (unplugged, or reset); check the cable"
                      : rc == LODE_E_TIMEOUT ? "the bootloader stopped answering (Caterina leaves after 8 s idle)"
                      : rc == LODE_E_UNSUPPORTED ? "the bootloader refused a block ('?')"
                                                 : "the bootloader's answers were no AVR109 (bytes lost on the line)";
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "writing %s at 0x%04x failed: %s; %zu pages before it were written "
             "(%s): flash again", what, addr, why, pages_done, a->port);
    return rc == LODE_E_IO ? LODE_E_NO_DEVICE : rc;
}

static int refuse_boot(a109_s *a, uint32_t addr, const lode_log_s *log)
{
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the image reaches 0x%04x, into the bootloader (0x%04x..0x%04x): the application area of %s through this "
             "bootloader is %u bytes; link it smaller",
             addr, a->regions[R_BOOT].start, a->regions[R_BOOT].end - 1, a->part->name, a->regions[R_APP].end);
    return LODE_E_RANGE;
}

static int l_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                   lode_flash_result_s *res)
{
    a109_s *a = ctx;
    const uint32_t ps = a->part->page_size;
    /* everything is checked before the first byte goes out */
    for (size_t i = 0; i < plan->npages; i++)
        if (plan->pages[i].region == R_BOOT)
            return refuse_boot(a, plan->pages[i].addr, log);
    size_t app_sectors = 0, app_total = a->regions[R_APP].end / ps;
    bool erased_all = false;
    for (size_t i = 0; i < plan->nsectors && !plan->chip_erase; i++) {
        const lode_flash_sector_s *sc = &plan->sectors[i];
        if (sc->skip)
            continue;
        if (sc->region == R_BOOT)
            return refuse_boot(a, sc->addr, log);
        app_sectors += sc->region == R_APP;
    }
    if (plan->chip_erase || (!plan->npages && app_sectors == app_total)) {
        /* the whole application: the bootloader's own chip erase (it spares itself; the EEPROM
         * stays as it is) */
        int rc = lodei_avr109_command(&a->c, 'e', NULL, 0, 0, NULL, 0, NULL, false);
        if (rc != LODE_OK)
            return rc;
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                 "the bootloader erased the application (0x0000..0x%04x); its own section and the EEPROM stay",
                 a->regions[R_APP].end - 1);
        res->sectors_erased += app_total;
        app_sectors = 0;
        erased_all = true;
    }
    uint8_t blank[LODEI_AVR109_MAX_BLOCK];
    memset(blank, 0xFF, sizeof blank);
    /* an erase of some pages: blank pages written (the bootloader erases each page it writes) */
    for (size_t i = 0; !plan->npages && app_sectors && i < plan->nsectors; i++) {
        const lode_flash_sector_s *sc = &plan->sectors[i];
        if (sc->skip || sc->region == R_BOOT)
            continue;
        size_t done = 0;
        int rc = sc->region == R_APP ? write_run(a, 'F', sc->addr, blank, ps, &done)
                                     : write_run(a, 'E', sc->addr - LODEI_AVR_EEPROM_BASE, blank, 1, &done);
        if (rc != LODE_OK)
            return write_failed(a, rc, "blank pages", sc->addr, res->sectors_erased, log);
        res->sectors_erased++;
    }
    /* pages: runs of consecutive pages as one 'A' and pipelined blocks */
    size_t total = 0, done = 0;
    for (size_t i = 0; i < plan->npages; i++)
        total += !plan->sectors[plan->pages[i].sector].skip;
    uint8_t run[8192];
    for (size_t i = 0; i < plan->npages;) {
        const lode_flash_page_s *pg = &plan->pages[i];
        if (plan->sectors[pg->sector].skip) {
            i++;
            continue;
        }
        unsigned region = pg->region;
        uint32_t start = pg->addr;
        size_t n = 0, npg = 0;
        while (i < plan->npages && plan->pages[i].region == region && !plan->sectors[plan->pages[i].sector].skip &&
               plan->pages[i].addr == start + n && n + plan->pages[i].size <= sizeof run) {
            memcpy(run + n, plan->pages[i].data, plan->pages[i].size);
            n += plan->pages[i].size;
            npg++;
            i++;
        }
        size_t ok_bytes = 0;
        int rc = region == R_APP ? write_run(a, 'F', start, run, n, &ok_bytes)
                                 : write_run(a, 'E', start - LODEI_AVR_EEPROM_BASE, run, n, &ok_bytes);
        if (rc != LODE_OK) {
            size_t pdone = ok_bytes / plan->pages[i - npg].size;
            res->pages_programmed += pdone;
            res->bytes_programmed += ok_bytes;
            return write_failed(a, rc, region == R_APP ? "flash" : "EEPROM",
                                (uint32_t)(region == R_APP ? start + ok_bytes : start - LODEI_AVR_EEPROM_BASE + ok_bytes),
                                res->pages_programmed, log);
        }
        res->pages_programmed += npg;
        res->sectors_erased += region == R_APP && !erased_all ? npg : 0;
        res->bytes_programmed += n;
        done += npg;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, done, total);
    }
    return LODE_OK;
}

static int l_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    a109_s *a = ctx;
    bool eeprom = addr >= LODEI_AVR_EEPROM_BASE;
    uint32_t base = eeprom ? LODEI_AVR_EEPROM_BASE : 0, size = eeprom ? a->part->eeprom_size : a->part->flash_size;
    if (addr - base > size || len > size - (addr - base))
        return LODE_E_RANGE;
    uint8_t chunk[CHUNK];
    /* flash from an even address (words) */
    uint32_t start = eeprom ? addr - base : (addr - base) & ~1u, end = (uint32_t)(addr - base + len);
    int rc = lodei_avr109_set_address(&a->c, (uint16_t)(eeprom ? start : start / 2));
    for (uint32_t at = start; rc == LODE_OK && at < end;) {
        uint32_t n = end - at < CHUNK ? end - at : CHUNK;
        if (!eeprom)
            n += n & 1u;
        if (at + n > size)
            n = size - at;
        if ((rc = lodei_avr109_block_read(&a->c, eeprom ? 'E' : 'F', chunk, n)) != LODE_OK)
            break;
        uint32_t lo = at < addr - base ? addr - base : at, hi = at + n > end ? end : at + n;
        memcpy((uint8_t *)buf + (lo - (addr - base)), chunk + (lo - at), hi - lo);
        at += n;
    }
    return rc;
}

static int leave(a109_s *a)
{
    int rc = lodei_avr109_command(&a->c, 'E', NULL, 0, 0, NULL, 0, NULL, false);
    if (rc == LODE_OK)
        a->left = true;
    return rc;
}

static int l_reset_run(void *ctx)
{
    a109_s *a = ctx;
    if (a->left) {
        lode_log(a->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the sketch already runs: the bootloader answers again only after the next touch (the next command)");
        return LODE_E_UNSUPPORTED;
    }
    return leave(a);
}

static const lode_loader_ops_s a109_loader_ops = {
    .name = "AVR109 bootloader",
    .via = " through the bootloader",
    .knows_memories = true,
    .layout = l_layout,
    .write = l_write,
    .read = l_read,
    .reset_run = l_reset_run,
};

/* ---- the probe ----------------------------------------------------------------------------- */

static int p_loader(void *ctx, lode_loader_s **out)
{
    a109_s *a = ctx;
    return lodei_loader_once(&a109_loader_ops, a, &a->loader, out);
}

static void p_describe(void *ctx, lode_probe_info_s *info)
{
    a109_s *a = ctx;
    snprintf(info->description, sizeof info->description,
             "avr109 (%s %c.%c on %s: %s, signature %02X %02X %02X)", a->id, a->version[0], a->version[1], a->port,
             a->part->name, a->sig[0], a->sig[1], a->sig[2]);
    snprintf(info->product, sizeof info->product, "%s", a->part->name);
    snprintf(info->firmware, sizeof info->firmware, "%s %c.%c", a->id, a->version[0], a->version[1]);
    snprintf(info->protocol, sizeof info->protocol, "AVR109");
    snprintf(info->detail, sizeof info->detail,
             "%s: application 0x0000..0x%04x (%u bytes), bootloader %u bytes, page %u bytes, EEPROM %u bytes",
             a->id, a->regions[R_APP].end - 1, a->regions[R_APP].end, a->boot_size, a->part->page_size,
             a->part->eeprom_size);
}

/* The sketch's serial line: 'E', then the same line -- or, when the bootloader's port is a USB
 * device, the sketch's own port once it is back (found by the boards' sketch IDs, within 8 s). */
static int p_console(void *ctx, lode_stream_s **out)
{
    a109_s *a = ctx;
    int rc = a->left ? LODE_OK : leave(a);
    if (rc != LODE_OK)
        return rc;
    lode_usb_id_s id, ids[MAX_BOOT_IDS];
    if (!a->console && a->own_stream && lode_serial_usb_id(a->port, NULL, &id, NULL, 0) == LODE_OK) {
        size_t n = 0;
        for (size_t i = 0; i < lode_board_count(a->data); i++) {
            const lode_board_s *b = lode_board_at(a->data, i);
            for (size_t k = 0; b->bootloader && !strcmp(b->bootloader, "avr109") && k < b->nusb && n < MAX_BOOT_IDS; k++)
                ids[n++] = b->usb[k];
        }
        char port[200];
        rc = LODE_E_TIMEOUT;
        for (int t = 0; t < 400 && rc != LODE_OK; t++) { /* 8 s */
            rc = lode_serial_find_usb(ids, n, NULL, port, sizeof port, NULL);
            if (rc != LODE_OK)
                lodei_boot_sleep_ms(20);
        }
        lode_serial_opts_s so = {.baud = a->baud == 1200 ? 9600 : a->baud, .exclusive = true};
        if (rc == LODE_OK) {
            lode_log(a->log, LODE_LOG_INFO, LODE_LOGC_PROBE, "the sketch's port: %s", port);
            rc = lode_stream_open_serial(port, &so, a->log, &a->console);
        }
        else
            lode_log(a->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "the sketch's USB port did not come back within 8 s after the bootloader left: does the sketch "
                     "have USB serial? open its port yourself when it is there");
        if (rc != LODE_OK)
            return rc == LODE_E_TIMEOUT ? LODE_E_NO_DEVICE : rc;
    }
    *out = a->console ? a->console : a->s;
    return LODE_OK;
}

static void p_close(void *ctx)
{
    a109_s *a = ctx;
    if (!a)
        return;
    lode_stream_close(a->console);
    lode_loader_free(a->loader);
    if (a->s) {
        a->c.timeout_ms = 200;
        a->c.log = NULL;
        if (!a->left) /* the sketch starts (Caterina would after its 8 s) */
            leave(a);
        if (a->own_stream)
            lode_stream_close(a->s);
    }
    lode_board_db_free(a->data);
    free(a);
}

static const char *p_chip(void *ctx) { return ((a109_s *)ctx)->part->name; }

static const lode_probe_ops_s a109_probe_ops = {
    .loader = p_loader,
    .chip = p_chip,
    .console = p_console,
    .describe = p_describe,
    .close = p_close,
};

static int sync_failed(const a109_s *a, lodei_avr109_sync_e seen, const uint8_t *first, size_t nfirst,
                       const lode_log_s *log)
{
    char bytes[40] = "";
    for (size_t i = 0; i < nfirst && strlen(bytes) + 4 < sizeof bytes; i++)
        snprintf(bytes + strlen(bytes), sizeof bytes - strlen(bytes), "%s%02x", i ? " " : "", first[i]);
    switch (seen) {
    case LODEI_AVR109_SYNC_ECHO:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s sends back what lode sends (%s): a loopback or an echoing sketch, not a bootloader; press the "
                 "board's reset button twice quickly and run lode again at once", a->port, bytes);
        break;
    case LODEI_AVR109_SYNC_GARBAGE:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s answers, but not as an AVR109 bootloader (%s): the sketch is running (press the board's reset "
                 "button twice quickly and run lode again at once) or it is another bootloader (an Uno: --probe "
                 "arduino:%s)", a->port, bytes, a->port);
        break;
    default:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no answer at all from an AVR109 bootloader on %s (%d tries): press the board's reset button twice "
                 "quickly and run lode again at once (the bootloader waits 8 s); check that this is the board's port "
                 "and that the cable carries data", a->port, SYNC_TRIES);
        break;
    }
    return LODE_E_NO_DEVICE;
}

static int a109_start(a109_s *a, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    lodei_avr109_sync_e seen;
    uint8_t first[8], r[4];
    size_t nfirst = 0, got = 0;
    a->c = (lodei_avr109_s){.s = a->s, .log = log, .clock = a->c.clock};
    if (lodei_avr109_sync(&a->c, SYNC_TRIES, SYNC_WAIT_MS, a->id, &seen, first, &nfirst) != LODE_OK)
        return sync_failed(a, seen, first, nfirst, log);
    int rc = lodei_avr109_command(&a->c, 'V', NULL, 0, 0, r, sizeof r, NULL, false);
    if (rc == LODE_OK) {
        a->version[0] = (char)r[0];
        a->version[1] = (char)r[1];
        rc = lodei_avr109_command(&a->c, 'p', NULL, 0, 0, r, sizeof r, NULL, false);
    }
    if (rc == LODE_OK)
        rc = lodei_avr109_command(&a->c, 'a', NULL, 0, 0, r, sizeof r, NULL, false);
    if (rc == LODE_OK && r[0] != 'Y') {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s has no auto-increment: lode needs it", a->id);
        rc = LODE_E_UNSUPPORTED;
    }
    if (rc == LODE_OK)
        rc = lodei_avr109_command(&a->c, 'b', NULL, 0, 0, r, sizeof r, &got, false);
    if (rc == LODE_OK) {
        a->block = got == 3 ? (unsigned)r[1] << 8 | r[2] : 0;
        if (!a->block || a->block > LODEI_AVR109_MAX_BLOCK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "%s offers no block mode lode can use (block size %u): lode needs 'B'/'g' blocks of 1..%u bytes",
                     a->id, a->block, LODEI_AVR109_MAX_BLOCK);
            rc = LODE_E_UNSUPPORTED;
        }
    }
    if (rc == LODE_OK)
        rc = lodei_avr109_command(&a->c, 's', NULL, 0, 0, r, sizeof r, NULL, false);
    if (rc != LODE_OK)
        return rc;
    /* the signature comes lowest byte first */
    a->sig[0] = r[2];
    a->sig[1] = r[1];
    a->sig[2] = r[0];
    /* programming mode: Caterina answers CR; a bootloader without it '?' */
    rc = lodei_avr109_command(&a->c, 'P', NULL, 0, 0, NULL, 0, NULL, true);
    if (rc != LODE_OK && rc != LODE_E_UNSUPPORTED)
        return rc;
    if ((rc = lodei_avr_pick_part(a->data, a->sig, o->chip, o->force, log, &a->part)) != LODE_OK)
        return rc;
    if (a->part->flash_size > 0x20000u) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s has more flash than AVR109's 16-bit word addresses reach",
                 a->part->name);
        return LODE_E_UNSUPPORTED;
    }
    if (a->part->page_size % 2 || a->block % a->part->page_size) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s's block size %u is no multiple of %s's %u-byte page",
                 a->id, a->block, a->part->name, a->part->page_size);
        return LODE_E_UNSUPPORTED;
    }
    a->block = a->part->page_size; /* a block is a page: the bootloader erases and writes it */
    /* the BOOTSZ fuses cannot be read through it: Caterina takes 4 KiB, the largest section */
    a->boot_size = a->part->boot_sizes[3];
    lodei_avr_regions(a->regions, a->part, a->boot_size);
    return LODE_OK;
}

int lodei_boot_avr109_open_stream(lode_stream_s *s, bool own, const char *port, unsigned baud,
                                  const lode_probe_open_opts_s *o, const lode_probe_extra_s *extra,
                                  lode_probe_s **out)
{
    a109_s *a = calloc(1, sizeof *a);
    int rc = a ? LODE_OK : LODE_E_NOMEM;
    if (a) {
        a->s = s;
        a->own_stream = own;
        a->log = o->log;
        a->baud = baud;
        snprintf(a->port, sizeof a->port, "%s", port);
        if (extra && extra->now_us && extra->delay_us) /* a simulated board: waits in its time */
            a->c.clock = (lodei_boot_clock_s){extra->now_us, extra->time_user};
        rc = lode_board_db_new(o->log, &a->data);
        if (rc == LODE_OK)
            rc = a109_start(a, o);
    }
    if (rc != LODE_OK) {
        if (own)
            lode_stream_close(s);
        if (a) {
            a->s = NULL;
            p_close(a);
        }
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        return rc;
    }
    return lode_probe_new(&a109_probe_ops, a, "avr109", extra, out);
}

/* The bootloader IDs of every board whose bootloader is avr109 (lode's board data). */
static size_t boot_ids(const lode_board_db_s *db, lode_usb_id_s *ids, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < lode_board_count(db); i++) {
        const lode_board_s *b = lode_board_at(db, i);
        if (!b->bootloader || strcmp(b->bootloader, "avr109"))
            continue;
        for (size_t k = 0; k < b->nbootloader_usb && n < cap; k++)
            ids[n++] = b->bootloader_usb[k];
    }
    return n;
}

static int a109_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                     lode_probe_s **out)
{
    char port[200], boot[200];
    unsigned baud;
    int rc = lodei_boot_parse_port(d, args, DEFAULT_BAUD, o->log, port, sizeof port, &baud);
    if (rc != LODE_OK)
        return rc;
    snprintf(boot, sizeof boot, "%s", port);
    if (access(port, F_OK) != 0) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s is not there: check the cable and the port's name (`lode list`); give the sketch's port, lode "
                 "finds the bootloader's after the touch, or press the reset button twice and give the bootloader's",
                 port);
        return LODE_E_NO_DEVICE;
    }
    /* a USB port that is no AVR109 bootloader: the sketch's; touch it */
    lode_usb_id_s id, ids[MAX_BOOT_IDS];
    lode_board_db_s *db = NULL;
    if (lode_serial_usb_id(port, NULL, &id, NULL, 0) == LODE_OK && (rc = lode_board_db_new(o->log, &db)) == LODE_OK) {
        lode_serial_touch_opts_s to = {.boot_ids = ids, .nboot_ids = boot_ids(db, ids, MAX_BOOT_IDS)};
        rc = lode_serial_touch(port, &to, o->log, boot, sizeof boot);
        lode_board_db_free(db);
    }
    if (rc != LODE_OK)
        return rc;
    lode_serial_opts_s so = {.baud = baud, .exclusive = true};
    lode_stream_s *s = NULL;
    if ((rc = lode_stream_open_serial(boot, &so, o->log, &s)) != LODE_OK)
        return rc;
    lode_stream_flush(s);
    return lodei_boot_avr109_open_stream(s, true, boot, baud, o, NULL, out);
}

const lode_probe_driver_s lodei_probe_row_avr109 = {
    .name = "avr109",
    .syntax = "avr109:PORT[:BAUD]",
    .help = "an AVR109 bootloader (Caterina: Leonardo, Micro, ATmega32U4 boards), after lode's 1200-baud touch of "
            "the sketch's USB port; 57600 baud by default",
    .needs_args = true,
    .open = a109_open,
};
