/* SPDX-License-Identifier: MIT */
/* The `sam-ba:PORT[:BAUD][:usb|:uart][:offset=ADDR][:touch]` probe: a SAM-BA monitor (the Arduino/
 * Adafruit SAMD bootloaders, the SAM3X's ROM on the Arduino Due). Only a loader face, a console
 * face and describe. At open: N# (binary mode), V# (the "[Arduino:XYZ]" extensions), then the
 * chip from its ID registers: CPUID; a Cortex-M0+ (or an M4 behind an Arduino bootloader) has
 * the DSU's DID (SAMD21/SAMD51) and NVMCTRL PARAM (page size, pages) and the user row's
 * BOOTPROT; a Cortex-M3 the SAM3X CHIPID.
 *
 * The planner sees the bootloader's flash [start, start + protected) as a region of its own,
 * so that an image reaching it is refused before a byte is sent: protected = the application
 * offset (the spec's offset=, else 0x2000 behind an Arduino SAMD21 bootloader, 0x4000 SAMD51,
 * 0 on the SAM3X's ROM monitor) or BOOTPROT's size when larger. The application flash is
 * erased by row through NVMCTRL (W to ADDR and CTRLA, w of INTFLAG until READY) or with the
 * Arduino X (erase from the offset to the end) when everything from a row to the end goes;
 * an image is written after an X from its first row when no row above is kept unchanged (X is
 * answered when done; a row erase started by W is not); pages are programmed through a RAM buffer: S and the Arduino Y (copy to flash), verified
 * with Z (CRC-16) when offered. A monitor without Y gets lode's applet (firmware/samba-applet)
 * in RAM, run with G (also with :applet). Reads go in R pieces below 64 bytes behind an Arduino bootloader on USB
 * (longer ones come back corrupted). USB CDC (raw S/R) when the port's name says ttyACM / usbmodem,
 * else a plain UART (the auto-baud preamble, XMODEM-CRC); :usb / :uart say it.
 *
 * A port whose USB ID is a SAM-BA board's sketch (data/boards: `usb`) is refused, naming the
 * board, unless the spec says :touch: then lode/serial_usb.h's 1200-baud touch resets it and
 * the bootloader's port is found by its VID:PID (`bootloader_usb`). A port without a USB
 * identity (a pseudo-terminal, the Due's programming port) is touched in place (held at 1200
 * baud, closed) and the monitor is looked for on the same port, touched again when the sketch
 * still answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "boot/boot.h"
#include "boot/samba.h"
#include "lode/board.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/serial_usb.h"
#include "probe/probe_i.h"
#include "samba-applet/applet.h" /* the numbers the host shares with lode's applet */

#define DEFAULT_BAUD 115200u
#define SYNC_TRIES 3
#define SYNC_WAIT_MS 1000 /* a busy host (or board) answers late; a silent port costs 3 s */
#define BUF_ADDR 0x20005000u  /* S buffer for Y: above the bootloader's data, below its stack */
#define BUF_SIZE 4096u
#define ERASE_TIMEOUT_MS 30000
#define TOUCH_HOLD_MS 250     /* the touch: held open at 1200 baud, then closed, this long each */
#define TOUCH_ROUNDS 3        /* a touch the board missed (the sketch still answers) is repeated */ /* X over 256 KiB: 1024 rows of up to 6 ms, with margin */

#define NVMCTRL 0x41004000u
#define NVM_CTRLA (NVMCTRL + 0x00u)
#define NVM_PARAM (NVMCTRL + 0x08u)
#define NVM_INTFLAG (NVMCTRL + 0x14u)
#define NVM_STATUS (NVMCTRL + 0x18u)
#define NVM_ADDR (NVMCTRL + 0x1Cu)
#define NVM_CMD_ER 0x02u
#define NVM_KEY 0xA500u
#define NVM_USER_ROW 0x00804000u
#define AIRCR 0xE000ED0Cu
#define AIRCR_SYSRESET 0x05FA0004u
#define EEFC0 0x400E0A00u
#define EEFC1 0x400E0C00u
#define EEFC_FCR 0x04u
#define EEFC_FSR 0x08u
#define EEFC_KEY 0x5A000000u
#define EEFC_EWP 0x03u
#define EEFC_SGPB 0x0Bu
#define SAM3X_RSTC_CR 0x400E1A00u


typedef struct sb_s {
    lode_stream_s *s;
    bool own_stream;
    lodei_samba_s c;
    const lode_log_s *log;
    char port[200];
    unsigned baud;
    int mode;                   /* 0: by the port's name, 1: usb, 2: uart */
    bool touch;                 /* reset a running sketch into the bootloader first */
    bool touch_auto;            /* ... when the port is a SAM-BA board's sketch by its USB ID */
    bool want_applet;           /* :applet: lode's applet even where the monitor has Y */
    bool applet_only;           /* erase and program through lode's applet (no Y, or :applet) */
    unsigned sync_tries;
    bool has_offset;
    uint32_t offset;            /* the application's start (absolute) */
    lodei_samba_version_s ver;
    uint32_t cpuid, did;
    lodei_samba_chip_s chip;
    uint32_t bootprot;          /* bytes BOOTPROT protects */
    lode_flash_region_s regions[2]; /* the bootloader's (when it takes flash), the application's */
    unsigned app, nregions;
    lode_mem_range_s ram;
    lode_loader_s *loader;
    bool left;                  /* the application was started */
    bool applet;                /* lode's applet is in the target's RAM */
    bool has_usb;               /* the port is a USB device's (sysfs): its ID */
    lode_usb_id_s usb_id;
    lode_stream_s *app_s;       /* the sketch's own port after the reset (USB), owned */
} sb_s;

/* lode's SAM-BA applet (firmware/samba-applet), embedded by the build (empty without firmware) */
extern const uint8_t lodei_samba_applet[];
extern const size_t lodei_samba_applet_len;

/* ---- flash operations ------------------------------------------------------------------------ */

static int sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    const sb_s *b = user;
    uint32_t r = b->chip.row_size;
    if (addr < b->chip.flash_start || addr - b->chip.flash_start >= b->chip.flash_size)
        return LODE_E_RANGE;
    *start = addr - (addr - b->chip.flash_start) % r;
    *size = r;
    return LODE_OK;
}

static int nvm_wait(sb_s *b, const char *what, uint32_t addr)
{
    for (unsigned i = 0; i < 2000; i++) {
        uint32_t v = 0;
        int rc = lodei_samba_read_word(&b->c, NVM_INTFLAG, &v);
        if (rc != LODE_OK)
            return rc;
        if (v & 1u) {
            uint32_t st = 0;
            if ((rc = lodei_samba_read_word(&b->c, NVM_STATUS, &st)) != LODE_OK)
                return rc;
            if (st & 0x1Cu) { /* PROGE, LOCKE, NVME */
                lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "NVMCTRL refused to %s 0x%08x (STATUS 0x%04x: %s): the region is locked or protected "
                         "(BOOTPROT, the user row's lock bits)", what, (unsigned)addr, (unsigned)st,
                         st & 0x08u ? "locked" : st & 0x04u ? "programming error" : "NVM error");
                lodei_samba_write_word(&b->c, NVM_STATUS, 0x1Cu); /* clear them */
                return LODE_E_FLASH;
            }
            return LODE_OK;
        }
    }
    lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "NVMCTRL did not get READY after %s 0x%08x", what,
             (unsigned)addr);
    return LODE_E_TIMEOUT;
}

static int erase_row(sb_s *b, uint32_t addr)
{
    int rc = lodei_samba_write_word(&b->c, NVM_ADDR, addr / 2u); /* ADDR counts half-words */
    if (rc == LODE_OK)
        rc = lodei_samba_write_word(&b->c, NVM_CTRLA, NVM_KEY | NVM_CMD_ER);
    return rc == LODE_OK ? nvm_wait(b, "erase the row at", addr) : rc;
}

/* SAM3X: the EEFC of addr and the page's number in its bank */
static uint32_t eefc_of(const sb_s *b, uint32_t addr, uint32_t *page)
{
    uint32_t bank = b->chip.flash_size / 2u, off = addr - b->chip.flash_start;
    *page = (off % bank) / b->chip.page_size;
    return off < bank ? EEFC0 : EEFC1;
}

static int eefc_cmd(sb_s *b, uint32_t eefc, uint32_t cmd, uint32_t arg, uint32_t addr)
{
    int rc = lodei_samba_write_word(&b->c, eefc + EEFC_FCR, EEFC_KEY | arg << 8 | cmd);
    for (unsigned i = 0; rc == LODE_OK && i < 2000; i++) {
        uint32_t fsr = 0;
        if ((rc = lodei_samba_read_word(&b->c, eefc + EEFC_FSR, &fsr)) != LODE_OK)
            return rc;
        if (fsr & 1u) {
            if (fsr & 6u) {
                lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "the EEFC refused command 0x%02x at 0x%08x (FSR 0x%x: %s)", (unsigned)cmd, (unsigned)addr,
                         (unsigned)fsr, fsr & 4u ? "the region is locked" : "bad command");
                return LODE_E_FLASH;
            }
            return LODE_OK;
        }
    }
    return rc == LODE_OK ? LODE_E_TIMEOUT : rc;
}

/* ---- lode's applet (a monitor without Y) ---------------------------------------------------- */

static int applet_load(sb_s *b)
{
    if (b->applet)
        return LODE_OK;
    if (!lodei_samba_applet_len || lodei_samba_applet_len > APPLET_MAX) {
        lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the SAM-BA monitor on %s has no Y (copy to flash) and this lode was built without its applet "
                 "(firmware/samba-applet: configure with -DLODE_FIRMWARE=ON)", b->port);
        return LODE_E_UNSUPPORTED;
    }
    int rc = lodei_samba_send(&b->c, APPLET_ADDR, lodei_samba_applet, lodei_samba_applet_len);
    uint32_t w0 = 0;
    if (rc == LODE_OK)
        rc = lodei_samba_read_word(&b->c, APPLET_ADDR, &w0);
    if (rc == LODE_OK && w0 != APPLET_SP) {
        lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "lode's applet did not land in RAM at 0x%08x (reads back 0x%08x): the monitor refuses S there",
                 (unsigned)APPLET_ADDR, (unsigned)w0);
        rc = LODE_E_FLASH;
    }
    b->applet = rc == LODE_OK;
    return rc;
}

/* One applet call: the mailbox, G, the result word (the monitor answers it after the call). */
static int applet_run(sb_s *b, uint32_t cmd, uint32_t dst, uint32_t src, uint32_t len)
{
    int rc = applet_load(b);
    if (rc != LODE_OK)
        return rc;
    const uint32_t words[6] = {cmd, dst, src, len, APPLET_RUNNING, 0};
    uint8_t mb[sizeof words];
    for (size_t i = 0; i < 6; i++)
        for (size_t k = 0; k < 4; k++)
            mb[4 * i + k] = (uint8_t)(words[i] >> (8 * k));
    uint32_t result = APPLET_RUNNING, at = 0;
    int saved = b->c.timeout_ms;
    /* rows of up to 6 ms, pages of up to 2.5 ms (SAMD21 NVM characteristics), with margin */
    b->c.timeout_ms = 10000 + (int)(len / 16u);
    if ((rc = lodei_samba_send(&b->c, APPLET_MBOX, mb, sizeof mb)) == LODE_OK &&
        (rc = lodei_samba_go(&b->c, APPLET_ADDR)) == LODE_OK)
        rc = lodei_samba_read_word(&b->c, APPLET_MBOX + 16u, &result);
    b->c.timeout_ms = saved;
    if (rc == LODE_OK && result != APPLET_OK)
        rc = lodei_samba_read_word(&b->c, APPLET_MBOX + 20u, &at);
    if (rc != LODE_OK)
        return rc;
    if (result == APPLET_OK)
        return LODE_OK;
    lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "%s 0x%08x..0x%08x through lode's applet failed: %s",
             cmd == APPLET_CMD_ERASE ? "erasing" : "programming", (unsigned)dst, (unsigned)(dst + len - 1),
             result == APPLET_RUNNING ? "it did not run (the monitor's G does not call it)"
             : result == APPLET_E_NVM ? "NVMCTRL refused (a locked region, BOOTPROT)"
             : result == APPLET_E_VERIFY ? "a word reads back different"
                                         : "it refused the arguments");
    if (result == APPLET_E_NVM || result == APPLET_E_VERIFY)
        lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "the applet stopped at 0x%08x", (unsigned)at);
    return result == APPLET_E_VERIFY ? LODE_E_VERIFY : LODE_E_FLASH;
}

/* Program n bytes (whole pages) at addr from data. */
static int program(sb_s *b, uint32_t addr, const uint8_t *data, uint32_t n)
{
    int rc = LODE_OK;
    if (b->chip.family == LODEI_SAMBA_SAM3X) {
        /* the latch buffer takes word writes to the page's addresses; EWP writes it */
        for (uint32_t off = 0; rc == LODE_OK && off < n; off += b->chip.page_size) {
            for (uint32_t i = 0; rc == LODE_OK && i < b->chip.page_size; i += 4) {
                const uint8_t *p = data + off + i;
                uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                rc = lodei_samba_write_word(&b->c, addr + off + i, w);
            }
            uint32_t page = 0, eefc = eefc_of(b, addr + off, &page);
            if (rc == LODE_OK)
                rc = eefc_cmd(b, eefc, EEFC_EWP, page, addr + off);
        }
        return rc;
    }
    rc = lodei_samba_send(&b->c, BUF_ADDR, data, n);
    if (rc != LODE_OK)
        return rc;
    return b->applet_only ? applet_run(b, APPLET_CMD_PROGRAM, addr, BUF_ADDR, n)
                          : lodei_samba_copy(&b->c, BUF_ADDR, addr, n);
}

/* What was just programmed, checked: Z (the CRC) where offered, else read back. */
static int verify_chunk(sb_s *b, uint32_t start, const uint8_t *want, uint32_t n, const lode_log_s *log)
{
    if (b->ver.ext_z) {
        uint16_t crc = lodei_samba_crc16(0, want, n), got = 0;
        int rc = lodei_samba_crc(&b->c, start, n, &got);
        if (rc == LODE_OK && got != crc) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "verify failed in 0x%08x..0x%08x: the flash's CRC is 0x%04x, the image's 0x%04x (the row was "
                     "not erased, or is locked)", (unsigned)start, (unsigned)(start + n - 1), got, crc);
            rc = LODE_E_VERIFY;
        }
        return rc;
    }
    uint8_t *got = malloc(n);
    if (!got)
        return LODE_E_NOMEM;
    int rc = lodei_samba_receive(&b->c, start, got, n);
    for (uint32_t i = 0; rc == LODE_OK && i < n; i++)
        if (got[i] != want[i]) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "verify failed: mismatch at 0x%08x: target 0x%02x, image 0x%02x (the row was not erased, or "
                     "is locked)", (unsigned)(start + i), got[i], want[i]);
            rc = LODE_E_VERIFY;
        }
    free(got);
    return rc;
}

/* ---- the loader face ------------------------------------------------------------------------- */

static int al_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    sb_s *b = ctx;
    *regions = b->regions;
    *nregions = b->nregions;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

static int refuse_boot(sb_s *b, uint32_t addr, const lode_log_s *log)
{
    const lode_flash_region_s *boot = &b->regions[0];
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the image reaches 0x%08x, inside the bootloader (0x%08x..0x%08x%s): link the application at 0x%x "
             "(a raw .bin: --base 0x%x); nothing was written",
             (unsigned)addr, (unsigned)boot->start, (unsigned)boot->end - 1,
             b->bootprot >= boot->end - boot->start ? ", protected by BOOTPROT" : "", (unsigned)b->offset,
             (unsigned)b->offset);
    return LODE_E_RANGE;
}

static int al_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    sb_s *b = ctx;
    /* everything is checked before the first byte goes out */
    for (size_t i = 0; i < plan->npages; i++)
        if (plan->pages[i].region != b->app)
            return refuse_boot(b, plan->pages[i].addr, log);
    for (size_t i = 0; i < plan->nsectors && !plan->chip_erase; i++) /* erase --all: the application's */
        if (!plan->sectors[i].skip && plan->sectors[i].region != b->app) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "0x%08x is the bootloader's flash (up to 0x%08x): lode does not erase it; nothing was erased",
                     (unsigned)plan->sectors[i].addr, (unsigned)b->offset - 1);
            return LODE_E_RANGE;
        }
    int rc = LODE_OK;
    /* erase: X when everything from a row to the end goes (and X is offered), else row by row
     * (the SAM3X's EWP erases as it writes) */
    size_t nerase = 0, first = plan->nsectors;
    for (size_t i = 0; i < plan->nsectors; i++)
        if (!plan->sectors[i].skip && plan->sectors[i].region == b->app) {
            first = first == plan->nsectors ? i : first;
            nerase++;
        }
    const lode_flash_region_s *app = &b->regions[b->app];
    /* distinct rows, all at or above the first: every row up to the end when they fill it */
    bool to_end = nerase && (uint64_t)nerase * b->chip.row_size == (uint64_t)app->end - plan->sectors[first].addr;
    /* An image goes in after an X from its first row: X is answered when done, while an erase
     * started by W is not, and a monitor that runs from the flash takes no bytes until it is
     * (a line without flow control loses them). Rows past the image are erased too, as the
     * Arduino bootloaders (and bossac -e) do; rows of the image found unchanged above the first
     * one are read first and written again. */
    uint8_t *keep = NULL;
    size_t nkeep = 0;
    int rc0 = LODE_OK;
    if (nerase && !to_end && plan->npages && b->ver.ext_x && !b->applet_only &&
        b->chip.family == LODEI_SAMBA_SAMD21) {
        for (size_t i = first; i < plan->nsectors; i++)
            nkeep += plan->sectors[i].skip && plan->sectors[i].region == b->app;
        if (nkeep && !(keep = malloc(nkeep * b->chip.row_size)))
            return LODE_E_NOMEM;
        for (size_t i = first, k = 0; rc0 == LODE_OK && i < plan->nsectors; i++)
            if (plan->sectors[i].skip && plan->sectors[i].region == b->app)
                rc0 = lodei_samba_receive(&b->c, plan->sectors[i].addr, keep + b->chip.row_size * k++,
                                          b->chip.row_size);
        if (rc0 != LODE_OK) {
            free(keep);
            return rc0;
        }
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_FLASH,
                 "X erases from 0x%08x to the end of the flash (the Arduino bootloaders' erase)%s",
                 (unsigned)plan->sectors[first].addr, nkeep ? "; unchanged rows above it are written again" : "");
        to_end = true;
    }
    if (b->chip.family == LODEI_SAMBA_SAM3X) {
        if (!plan->npages && nerase) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the SAM3X's flash is erased page by page as it is written: flash the new image instead");
            return LODE_E_UNSUPPORTED;
        }
    } else if (to_end && b->ver.ext_x && !b->applet_only) {
        rc = lodei_samba_erase_from(&b->c, plan->sectors[first].addr, ERASE_TIMEOUT_MS);
        if (rc == LODE_OK)
            res->sectors_erased = nerase;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE, nerase, nerase);
    } else {
        /* runs of consecutive rows: one applet call each without Y, else row by row */
        size_t done = 0;
        for (size_t i = 0; rc == LODE_OK && i < plan->nsectors;) {
            const lode_flash_sector_s *sec = &plan->sectors[i];
            size_t j = i + 1;
            if (sec->skip || sec->region != b->app) {
                i = j;
                continue;
            }
            while (b->applet_only && j < plan->nsectors && !plan->sectors[j].skip &&
                   plan->sectors[j].region == b->app && plan->sectors[j].addr == sec->addr + (j - i) * b->chip.row_size)
                j++;
            rc = !b->applet_only ? erase_row(b, sec->addr)
                              : applet_run(b, APPLET_CMD_ERASE, sec->addr, 0, (uint32_t)(j - i) * b->chip.row_size);
            if (rc == LODE_OK)
                res->sectors_erased += j - i;
            done += j - i;
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE, done, nerase);
            i = j;
        }
    }
    /* program runs of consecutive pages, up to the buffer at a time */
    uint8_t *buf = rc == LODE_OK ? malloc(BUF_SIZE) : NULL;
    if (!buf) {
        free(keep);
        return rc != LODE_OK ? rc : LODE_E_NOMEM;
    }
    for (size_t i = 0; rc == LODE_OK && i < plan->npages;) {
        const lode_flash_page_s *pg = &plan->pages[i];
        uint32_t start = pg->addr, n = 0;
        size_t j = i;
        while (j < plan->npages && plan->pages[j].addr == start + n && n + plan->pages[j].size <= BUF_SIZE) {
            memcpy(buf + n, plan->pages[j].data, plan->pages[j].size);
            n += plan->pages[j].size;
            j++;
        }
        rc = program(b, start, buf, n);
        if (rc == LODE_OK && o->verify)
            rc = verify_chunk(b, start, buf, n, log);
        if (rc == LODE_OK && o->verify)
            res->bytes_verified += n;
        if (rc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "writing 0x%08x..0x%08x failed: %zu pages before it were written; flash again",
                     (unsigned)start, (unsigned)(start + n - 1), res->pages_programmed);
            break;
        }
        res->pages_programmed += j - i;
        res->bytes_programmed += n;
        i = j;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, i, plan->npages);
    }
    free(buf);
    for (size_t i = first, k = 0; keep && rc == LODE_OK && i < plan->nsectors; i++) {
        if (!plan->sectors[i].skip || plan->sectors[i].region != b->app)
            continue;
        const uint8_t *row = keep + b->chip.row_size * k++;
        rc = program(b, plan->sectors[i].addr, row, b->chip.row_size);
        if (rc == LODE_OK && o->verify)
            rc = verify_chunk(b, plan->sectors[i].addr, row, b->chip.row_size, log);
    }
    free(keep);
    return rc;
}

static int al_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    sb_s *b = ctx;
    return lodei_samba_receive(&b->c, addr, buf, len);
}

static int al_reset_run(void *ctx)
{
    sb_s *b = ctx;
    int rc = LODE_OK;
    if (b->chip.family == LODEI_SAMBA_SAM3X) {
        /* GPNVM1: boot from flash instead of the ROM, then a processor + peripheral reset */
        rc = eefc_cmd(b, EEFC0, EEFC_SGPB, 1, 0);
        if (rc == LODE_OK)
            rc = lodei_samba_write_word(&b->c, SAM3X_RSTC_CR, 0xA5000005u);
    } else {
        rc = lodei_samba_write_word(&b->c, AIRCR, AIRCR_SYSRESET);
    }
    if (rc == LODE_OK)
        b->left = true;
    return rc;
}

static int al_can_erase(void *ctx, const lode_log_s *log)
{
    sb_s *b = ctx;
    if (b->chip.family != LODEI_SAMBA_SAM3X)
        return LODE_OK;
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the SAM3X's flash is erased page by page as it is written: flash the new image instead");
    return LODE_E_INVALID_ARG;
}

static const lode_loader_ops_s sb_loader_ops = {
    .name = "SAM-BA monitor",
    .via = " through the SAM-BA bootloader",
    .verifies = true, /* Z (CRC) where offered, else R */
    .knows_memories = true,
    .layout = al_layout,
    .write = al_write,
    .read = al_read,
    .reset_run = al_reset_run,
    .can_erase = al_can_erase,
};


/* ---- the probe ------------------------------------------------------------------------------- */

static int sp_loader(void *ctx, lode_loader_s **out)
{
    sb_s *b = ctx;
    return lodei_loader_once(&sb_loader_ops, b, &b->loader, out);
}

static void sp_describe(void *ctx, lode_probe_info_s *info)
{
    sb_s *b = ctx;
    snprintf(info->description, sizeof info->description, "sam-ba (SAM-BA monitor on %.160s, %s: %s, \"%.60s\")", b->port,
             b->c.uart ? "UART, XMODEM" : "USB CDC", b->chip.name, b->ver.text);
    snprintf(info->product, sizeof info->product, "%s", b->chip.name);
    snprintf(info->firmware, sizeof info->firmware, "%.63s", b->ver.text);
    snprintf(info->protocol, sizeof info->protocol, "SAM-BA%s%s%s%s", b->ver.arduino ? " Arduino:" : "",
             b->ver.ext_x ? "X" : "", b->ver.ext_y ? "Y" : "", b->ver.ext_z ? "Z" : "");
    snprintf(info->detail, sizeof info->detail,
             "flash 0x%08x..0x%08x (%u KiB, page %u, row %u), application from 0x%x, bootloader %u bytes%s%s",
             (unsigned)b->chip.flash_start, (unsigned)(b->chip.flash_start + b->chip.flash_size - 1),
             (unsigned)(b->chip.flash_size / 1024u), (unsigned)b->chip.page_size, (unsigned)b->chip.row_size,
             (unsigned)b->offset, (unsigned)(b->offset - b->chip.flash_start),
             b->chip.family == LODEI_SAMBA_SAMD21 ? ", BOOTPROT " : "",
             b->chip.family == LODEI_SAMBA_SAMD21 ? (b->bootprot ? "set" : "0") : "");
}

static const char *sp_chip(void *ctx) { return ((sb_s *)ctx)->chip.name; }

/* The console: the application started by the reset. On a pseudo-terminal or a plain UART its
 * line is the same port; over USB the bootloader's port goes and the sketch's comes, found by
 * the USB IDs of the board whose bootloader this is (data/boards), within 10 s. */
static int sp_console(void *ctx, lode_stream_s **out)
{
    sb_s *b = ctx;
    int rc = b->left ? LODE_OK : al_reset_run(b);
    if (rc != LODE_OK || !b->has_usb || b->app_s) {
        if (rc == LODE_OK)
            *out = b->app_s ? b->app_s : b->s;
        return rc;
    }
    lode_board_db_s *db = NULL;
    if ((rc = lode_board_db_new(b->log, &db)) != LODE_OK)
        return rc;
    const lode_board_s *bd = NULL;
    for (size_t i = 0; !bd && i < lode_board_count(db); i++) {
        const lode_board_s *x = lode_board_at(db, i);
        for (size_t k = 0; x->bootloader && !strcmp(x->bootloader, "sam-ba") && k < x->nbootloader_usb; k++)
            if (x->bootloader_usb[k].vid == b->usb_id.vid && x->bootloader_usb[k].pid == b->usb_id.pid)
                bd = x;
    }
    char port[sizeof b->port];
    rc = LODE_E_NO_DEVICE;
    for (unsigned waited = 0; bd && bd->nusb && rc != LODE_OK && waited <= 10000; waited += 20) {
        rc = lode_serial_find_usb(bd->usb, bd->nusb, NULL, port, sizeof port, NULL);
        if (rc != LODE_OK)
            lodei_boot_sleep_ms(20);
    }
    if (rc == LODE_OK) {
        lode_serial_opts_s so = {.baud = b->baud, .exclusive = true};
        rc = lode_stream_open_serial(port, &so, b->log, &b->app_s);
    } else if (bd) {
        lode_log(b->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the %s's sketch did not come up as a serial port within 10 s of the reset (its USB IDs in "
                 "lode's board data): does the sketch use Serial? `lode list` shows what is there", bd->description);
        rc = LODE_E_TIMEOUT;
    } else { /* a bootloader no board names: the same port, as a pseudo-terminal */
        rc = LODE_OK;
    }
    lode_board_db_free(db);
    if (rc == LODE_OK)
        *out = b->app_s ? b->app_s : b->s;
    return rc;
}

static void sp_close(void *ctx)
{
    sb_s *b = ctx;
    if (!b)
        return;
    lode_loader_free(b->loader);
    if (b->s && b->own_stream)
        lode_stream_close(b->s);
    lode_stream_close(b->app_s);
    free(b);
}

static const lode_probe_ops_s sb_probe_ops = {
    .loader = sp_loader,
    .chip = sp_chip,
    .console = sp_console,
    .describe = sp_describe,
    .close = sp_close,
};

static int sync_failed(sb_s *b, lodei_samba_sync_e seen, const uint8_t *first, size_t nfirst, const lode_log_s *log)
{
    char bytes[64] = "";
    for (size_t i = 0, used = 0; i < nfirst && used + 4 < sizeof bytes; i++)
        used += (size_t)snprintf(bytes + used, sizeof bytes - used, "%s%02x", i ? " " : "", first[i]);
    switch (seen) {
    case LODEI_SAMBA_SYNC_ECHO:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s sends back what lode sends (%s): a loopback or an echoing terminal, not a SAM-BA monitor",
                 b->port, bytes);
        break;
    case LODEI_SAMBA_SYNC_GARBAGE:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s answers N# with %s, not the SAM-BA monitor's \"\\n\\r\": that is the sketch's port, not the "
                 "bootloader's: add :touch (lode resets the board into its bootloader with a 1200-baud touch) "
                 "or double-tap the reset button (the LED pulses) and use the bootloader's port", b->port, bytes);
        break;
    default:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no answer from a SAM-BA monitor on %s (%u tries of N#): if a sketch runs there, it is the "
                 "sketch's port: add :touch (a 1200-baud touch resets it into the bootloader) or double-tap the "
                 "reset button; over a plain UART add :uart", b->port, b->sync_tries);
        break;
    }
    return LODE_E_NO_DEVICE;
}

static int identify(sb_s *b, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    int rc = lodei_samba_read_word(&b->c, LODEI_SAMBA_CPUID, &b->cpuid);
    if (rc != LODE_OK)
        return rc;
    unsigned part = lodei_samba_cpuid_part(b->cpuid);
    bool known = false;
    if (part == 0xC60u || (part == 0xC24u && b->ver.arduino)) {
        if ((rc = lodei_samba_read_word(&b->c, LODEI_SAMBA_DSU_DID, &b->did)) != LODE_OK)
            return rc;
        known = lodei_samba_dsu_chip(b->did, &b->chip);
    } else if (part == 0xC23u) {
        if ((rc = lodei_samba_read_word(&b->c, LODEI_SAMBA_SAM3X_CIDR, &b->did)) != LODE_OK)
            return rc;
        known = lodei_samba_sam3x_chip(b->did, &b->chip);
    }
    if (!known) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the SAM-BA monitor on %s runs on a chip lode does not know (CPUID 0x%08x, device ID 0x%08x)",
                 b->port, (unsigned)b->cpuid, (unsigned)b->did);
        return LODE_E_NO_DEVICE;
    }
    if (b->chip.family == LODEI_SAMBA_SAMD51) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s (%s) is a SAMD51: lode writes it through its UF2 drive (--probe uf2) or a debug probe; its "
                 "SAM-BA flashing is not done yet", b->chip.name, b->port);
        return LODE_E_UNSUPPORTED;
    }
    if (b->chip.family == LODEI_SAMBA_SAMD21) {
        uint32_t param = 0, user0 = 0xFFFFFFFFu;
        if ((rc = lodei_samba_read_word(&b->c, NVM_PARAM, &param)) != LODE_OK)
            return rc;
        if (!lodei_samba_samd21_param(param, &b->chip)) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s's NVMCTRL PARAM 0x%08x makes no sense", b->chip.name,
                     (unsigned)param);
            return LODE_E_PROTOCOL;
        }
        if ((rc = lodei_samba_read_word(&b->c, NVM_USER_ROW, &user0)) != LODE_OK)
            return rc;
        b->bootprot = lodei_samba_samd21_bootprot(user0);
    }
    if (o->chip && strcasecmp(o->chip, b->chip.name) && strcasecmp(o->chip, b->chip.name + 2) && !o->force) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the SAM-BA monitor on %s runs on %s, not %s: check --chip / --board; --force writes anyway",
                 b->port, b->chip.name, o->chip);
        return LODE_E_NO_DEVICE;
    }
    return LODE_OK;
}

static int layout_regions(sb_s *b, const lode_log_s *log)
{
    const lodei_samba_chip_s *c = &b->chip;
    uint32_t end = c->flash_start + c->flash_size;
    if (!b->has_offset)
        b->offset = c->flash_start + (c->family == LODEI_SAMBA_SAM3X ? 0 : c->family == LODEI_SAMBA_SAMD51 ? 0x4000u
                                                                                                         : 0x2000u);
    if (b->offset < c->flash_start || b->offset >= end || (b->offset - c->flash_start) % c->row_size) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "offset=0x%x is not a row boundary (%u bytes) inside %s's flash (0x%08x..0x%08x): the Arduino and "
                 "Adafruit SAMD21 bootloaders start the application at 0x2000",
                 (unsigned)b->offset, (unsigned)c->row_size, c->name, (unsigned)c->flash_start, (unsigned)end - 1);
        return LODE_E_INVALID_ARG;
    }
    uint32_t prot = b->offset - c->flash_start;
    if (b->bootprot > prot) {
        lode_log(log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                 "BOOTPROT protects the first %u bytes, more than the application offset 0x%x: the application "
                 "starts at 0x%x", (unsigned)b->bootprot, (unsigned)b->offset,
                 (unsigned)(c->flash_start + b->bootprot));
        prot = b->bootprot;
        b->offset = c->flash_start + prot;
    }
    b->nregions = 0;
    if (prot) /* the SAM3X's ROM monitor takes no flash */
        b->regions[b->nregions++] = (lode_flash_region_s){
            .name = "bootloader", .start = c->flash_start, .end = c->flash_start + prot, .page_size = c->page_size,
            .erased = 0xFF, .sector_at = sector_at, .user = b};
    b->app = b->nregions;
    b->regions[b->nregions++] = (lode_flash_region_s){
        .name = "flash", .start = c->flash_start + prot, .end = end, .page_size = c->page_size, .erased = 0xFF,
        .sector_at = sector_at, .user = b, .has_chip_erase = true};
    return LODE_OK;
}

static int sb_start(sb_s *b, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    lodei_samba_sync_e seen;
    uint8_t first[16];
    size_t nfirst = 0;
    if (lodei_samba_sync(&b->c, b->sync_tries, SYNC_WAIT_MS, &seen, first, &nfirst) != LODE_OK)
        return sync_failed(b, seen, first, nfirst, log);
    int rc = lodei_samba_version(&b->c, &b->ver);
    if (rc != LODE_OK)
        return rc;
    b->c.chunk_reads = b->ver.arduino && !b->c.uart;
    b->applet_only = !b->ver.ext_y || b->want_applet;
    if ((rc = identify(b, o)) != LODE_OK)
        return rc;
    return layout_regions(b, log);
}

static bool usb_name(const char *port)
{
    return strstr(port, "ttyACM") || strstr(port, "usbmodem") || strstr(port, "ttyUSB");
}

/* "PORT[:BAUD][:usb|:uart][:offset=ADDR]" */
static bool parse_args(const char *args, sb_s *b)
{
    const char *colon = strchr(args, ':');
    size_t plen = colon ? (size_t)(colon - args) : strlen(args);
    if (!plen || plen >= sizeof b->port)
        return false;
    memcpy(b->port, args, plen);
    b->port[plen] = 0;
    b->baud = DEFAULT_BAUD;
    b->sync_tries = SYNC_TRIES;
    while (colon) {
        const char *opt = colon + 1;
        colon = strchr(opt, ':');
        size_t n = colon ? (size_t)(colon - opt) : strlen(opt);
        char v[40];
        if (!n || n >= sizeof v)
            return false;
        memcpy(v, opt, n);
        v[n] = 0;
        char *end = NULL;
        if (strspn(v, "0123456789") == n) {
            unsigned long baud = strtoul(v, NULL, 10);
            if (baud < 1200 || baud > 4000000)
                return false;
            b->baud = (unsigned)baud;
        } else if (!strcasecmp(v, "usb")) {
            b->mode = 1;
        } else if (!strcasecmp(v, "uart")) {
            b->mode = 2;
        } else if (!strcasecmp(v, "touch")) {
            b->touch = true;
        } else if (!strcasecmp(v, "touch=auto")) {
            b->touch_auto = true;
        } else if (!strcasecmp(v, "applet")) {
            b->want_applet = true;
        } else if (!strncasecmp(v, "offset=", 7) && v[7]) {
            unsigned long off = strtoul(v + 7, &end, 0);
            if (*end || off > 0xFFFFFFFFul)
                return false;
            b->offset = (uint32_t)off;
            b->has_offset = true;
        } else {
            return false;
        }
    }
    return true;
}

/* The probe over s on the monitor b describes (b is the probe's from here on, freed on failure). */
static int open_on(sb_s *b, lode_stream_s *s, bool own, const lode_probe_open_opts_s *o,
                   const lode_probe_extra_s *extra, lode_probe_s **out)
{
    b->s = s;
    b->own_stream = own;
    b->log = o->log;
    b->c = (lodei_samba_s){.s = s, .log = o->log, .uart = b->mode == 2 || (b->mode == 0 && !usb_name(b->port))};
    int rc = sb_start(b, o);
    if (rc == LODE_OK)
        return lode_probe_new(&sb_probe_ops, b, "sam-ba", extra, out);
    sp_close(b);
    if (extra && extra->on_close)
        extra->on_close(extra->close_user);
    return rc;
}

int lodei_boot_samba_open_stream(lode_stream_s *s, bool own, const char *args, const lode_probe_open_opts_s *o,
                                 const lode_probe_extra_s *extra, lode_probe_s **out)
{
    sb_s *b = calloc(1, sizeof *b);
    if (b && parse_args(args, b) && !b->touch)
        return open_on(b, s, own, o, extra, out);
    if (b)
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "bad probe 'sam-ba:%s': use --probe %s", args,
                 lodei_probe_row_samba.syntax);
    free(b);
    if (own)
        lode_stream_close(s);
    if (extra && extra->on_close)
        extra->on_close(extra->close_user);
    return b ? LODE_E_INVALID_ARG : LODE_E_NOMEM;
}

/* The SAM-BA board whose sketch answers on a port with USB ID id (its `usb` list), or NULL. */
static const lode_board_s *sketch_board(const lode_board_db_s *db, lode_usb_id_s id)
{
    for (size_t i = 0; i < lode_board_count(db); i++) {
        const lode_board_s *bd = lode_board_at(db, i);
        for (size_t k = 0; bd->bootloader && !strcmp(bd->bootloader, "sam-ba") && k < bd->nusb; k++)
            if (bd->usb[k].vid == id.vid && bd->usb[k].pid == id.pid)
                return bd;
    }
    return NULL;
}

/* A port that is no USB device of its own (a pseudo-terminal, the Due's programming port behind
 * its USB-serial chip) keeps its name: closed at 1200 baud is the touch, and the bootloader
 * answers on the same port once the board restarted. */
static int touch_in_place(const char *port, const lode_log_s *log)
{
    lode_serial_opts_s so = {.baud = 1200, .exclusive = true};
    lode_stream_s *s = NULL;
    int rc = lode_stream_open_serial(port, &so, log, &s);
    if (rc != LODE_OK)
        return rc;
    lode_stream_set_log(s, NULL); /* no DTR on a pseudo-terminal: the close at 1200 baud is the touch */
    lode_stream_set_dtr(s, false);
    lodei_boot_sleep_ms(TOUCH_HOLD_MS);
    lode_stream_close(s);
    lodei_boot_sleep_ms(TOUCH_HOLD_MS); /* closed at 1200 baud: the board's side sees the touch */
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "%s: 1200-baud touch, the bootloader answers on the same port", port);
    return LODE_OK;
}

/* Where the bootloader is: the port itself, or after the touch (`:touch`) the bootloader's port.
 * A port that is a SAM-BA board's sketch (its USB ID) is refused without :touch or :touch=auto
 * (which touches only such a port: the boards' option). */
static int find_monitor(sb_s *b, const lode_probe_open_opts_s *o)
{
    lode_usb_id_s id;
    bool has_id = lode_serial_usb_id(b->port, NULL, &id, NULL, 0) == LODE_OK;
    if (!has_id && !b->touch)
        return LODE_OK;
    lode_board_db_s *db = NULL;
    int rc = lode_board_db_new(o->log, &db);
    if (rc != LODE_OK)
        return rc;
    const lode_board_s *bd = has_id ? sketch_board(db, id) : NULL;
    if (bd && b->touch_auto)
        b->touch = true;
    if (bd && !b->touch) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s is the port of the sketch running on the %s (USB %04x:%04x), not of its bootloader: add :touch "
                 "(--probe sam-ba:%s:touch: a 1200-baud touch resets it into the bootloader and lode finds the "
                 "bootloader's port) or double-tap the reset button", b->port, bd->description, id.vid, id.pid,
                 b->port);
        rc = LODE_E_NO_DEVICE;
    } else if (b->touch && !has_id) {
        b->sync_tries = 10; /* the board restarts: sb_open touches it (again when it missed it) */
    } else if (b->touch) {
        /* the sketch's board's bootloader IDs, else every SAM-BA board's */
        lode_usb_id_s ids[LODE_BOARD_MAX_LIST * 4];
        size_t n = 0;
        for (size_t i = 0; i < lode_board_count(db); i++) {
            const lode_board_s *x = lode_board_at(db, i);
            if ((bd && x != bd) || !x->bootloader || strcmp(x->bootloader, "sam-ba"))
                continue;
            for (size_t k = 0; k < x->nbootloader_usb && n < sizeof ids / sizeof ids[0]; k++)
                ids[n++] = x->bootloader_usb[k];
        }
        lode_serial_touch_opts_s to = {.boot_ids = ids, .nboot_ids = n};
        char boot[sizeof b->port];
        rc = lode_serial_touch(b->port, &to, o->log, boot, sizeof boot);
        if (rc == LODE_OK)
            snprintf(b->port, sizeof b->port, "%s", boot);
    }
    lode_board_db_free(db);
    return rc;
}

static int sb_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                   lode_probe_s **out)
{
    sb_s *b = calloc(1, sizeof *b);
    if (!b)
        return LODE_E_NOMEM;
    if (!parse_args(args, b)) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe '%s:%s': use --probe %s (BAUD 1200..4000000, offset=0x2000)", d->name, args, d->syntax);
        free(b);
        return LODE_E_INVALID_ARG;
    }
    int rc = find_monitor(b, o);
    b->has_usb = rc == LODE_OK && lode_serial_usb_id(b->port, NULL, &b->usb_id, NULL, 0) == LODE_OK;
    bool in_place = b->touch && b->sync_tries > SYNC_TRIES;
    lode_log_s quiet = {0};
    lode_probe_open_opts_s oq = *o;
    for (unsigned round = 1; rc == LODE_OK; round++) {
        bool last = !in_place || round == TOUCH_ROUNDS;
        oq.log = last ? o->log : &quiet; /* a missed touch is tried again without a word */
        if (in_place && (rc = touch_in_place(b->port, o->log)) != LODE_OK)
            break;
        lode_serial_opts_s so = {.baud = b->baud, .exclusive = true};
        lode_stream_s *s = NULL;
        sb_s *try = malloc(sizeof *try);
        if (!try)
            rc = LODE_E_NOMEM;
        else if ((rc = lode_stream_open_serial(b->port, &so, o->log, &s)) != LODE_OK)
            free(try);
        if (rc != LODE_OK)
            break;
        lode_stream_flush(s);
        *try = *b;
        rc = open_on(try, s, true, &oq, NULL, out); /* frees try on failure */
        if (rc == LODE_OK) {
            /* the probe keeps the caller's log */
            try->log = try->c.log = o->log;
            break;
        }
        if (last || rc != LODE_E_NO_DEVICE)
            break;
        rc = LODE_OK;
    }
    free(b);
    return rc;
}

const lode_probe_driver_s lodei_probe_row_samba = {
    .name = "sam-ba",
    .syntax = "sam-ba:PORT[:BAUD][:usb|:uart][:offset=ADDR][:touch|:touch=auto][:applet]",
    .help = "a SAM-BA monitor (Arduino Zero/MKR, Adafruit M0 bootloaders; the Due's ROM), what bossac talks to",
    .needs_args = true,
    .open = sb_open,
};
