/* SPDX-License-Identifier: MIT */
/* The `stm32-uart:PORT[:BAUD][:OPTION...]` probe: an STM32's system bootloader on a USART (ST
 * AN3155), started with BOOT0 high. Only a loader face and describe. At open: sync (0x7F with
 * retries), Get (the commands it offers: Erase 0x43 or Extended Erase 0x44), Get ID (the product
 * ID, e.g. 0x410) and the flash-size word through Read Memory give the chip from lode's chip
 * database; its main flash and RAM are the planner's memories. Reads and writes go in 256-byte
 * blocks; erases name the plan's pages, or erase everything when the plan covers the whole
 * flash; reset_run is Go to the application (or a RESET pulse with BOOT0 low when the lines are
 * wired).
 *
 * Options after the port: a baud (default 115200); `parity=none` (8N1: a pseudo-terminal or a
 * simulated board cannot carry parity; AN3155 wants 8E1, the default; --parity none says the
 * same); `boot0=rts|dtr|-rts|-dtr` and `reset=rts|dtr|-rts|-dtr`: the modem line wired to BOOT0
 * (asserted = BOOT0 high) and to NRST (asserted = reset held; '-' inverts), as USB-serial
 * adapters are wired for stm32flash's -i; `unprotect`: lift read-out protection at open (Readout
 * Unprotect: the chip mass-erases its flash). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "boot/an3155.h"
#include "boot/boot.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/target.h"
#include "probe/probe_i.h"

#define DEFAULT_BAUD 115200u
#define SYNC_TRIES 5
#define SYNC_WAIT_MS 300
#define F_SIZE_F1 0x1FFFF7E0u   /* flash size in KiB (F1; other families: the chip ID names it) */
#define BOOT_RAM 0x200u          /* the bootloader's own RAM (AN2606: 512 bytes on the F1) */

typedef struct line_s {
    unsigned line;  /* LODE_STREAM_DTR / _RTS, 0: not wired */
    bool inverted;
} line_s;

typedef struct stm_s {
    lode_stream_s *s;
    bool own_stream;
    lodei_an3155_s c;
    const lode_log_s *log;
    char port[200];
    unsigned baud;
    bool parity;
    line_s boot0, reset;
    bool unprotect;
    lodei_an3155_info_s info;
    uint16_t pid;
    bool ext_erase;
    bool rdp;                     /* read-out protection active: reads and writes refused */
    lode_target_db_s *db;
    const lode_target_chip_s *chip;
    const lode_target_flash_algo_s *algo;
    lode_flash_region_s region;
    lode_mem_range_s ram;
    size_t nram;
    lode_loader_s *loader;
    bool went;                    /* Go sent: the bootloader is gone */
} stm_s;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int line_set(lode_stream_s *s, const line_s *l, bool on)
{
    return l->line ? lode_stream_set_lines(s, l->line, l->inverted ? !on : on) : LODE_OK;
}

/* ---- the loader face ------------------------------------------------------------------------- */

static int sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    const stm_s *m = user;
    uint64_t s = 0, z = 0;
    if (addr < m->region.start || addr >= m->region.end || lode_target_sector_at(m->algo, addr, &s, &z) != LODE_OK)
        return LODE_E_RANGE;
    *start = (uint32_t)s;
    *size = (uint32_t)z;
    return LODE_OK;
}

/* The bootloader's page number of the sector at addr: its index from the start of the flash. */
static unsigned page_index(const stm_s *m, uint32_t addr)
{
    unsigned i = 0;
    for (uint32_t a = m->region.start; a < addr; i++) {
        uint32_t s = 0, z = 0;
        if (sector_at(m, a, &s, &z) != LODE_OK || !z)
            break;
        a = s + z;
    }
    return i;
}

/* LODE_E_FLASH for a write (the target refuses the operation), LODE_E_FAULT for a read (the
 * target refuses the access), as the CLI words and numbers them. */
static int protected_refusal(stm_s *m, const lode_log_s *log, int rc)
{
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "%s's read-out protection is active: the bootloader refuses reads and writes; lifting it mass-erases "
             "the flash: add :unprotect to the probe (--probe stm32-uart:%s:unprotect)",
             m->chip->name, m->port);
    return rc;
}

static int al_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    stm_s *m = ctx;
    *regions = &m->region;
    *nregions = 1;
    *ram = m->nram ? &m->ram : NULL;
    *nram = m->nram;
    return LODE_OK;
}

static int write_blocks(stm_s *m, uint32_t addr, const uint8_t *d, size_t n, const lode_log_s *log)
{
    for (size_t off = 0; off < n;) {
        size_t k = n - off < LODEI_AN3155_MAX ? n - off : LODEI_AN3155_MAX;
        int rc = lodei_an3155_write(&m->c, addr + (uint32_t)off, d + off, k);
        if (rc == LODE_E_FLASH || rc == LODE_E_ACCESS) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the bootloader refused to write 0x%08x (%s): the flash there is not erased or is "
                     "write-protected (option bytes WRP)",
                     (unsigned)(addr + off), rc == LODE_E_FLASH ? "NACK after the data" : "NACK at the address");
            return LODE_E_FLASH;
        }
        if (rc != LODE_OK)
            return rc;
        off += k;
    }
    return LODE_OK;
}

static int al_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    stm_s *m = ctx;
    if (m->rdp)
        return protected_refusal(m, log, LODE_E_FLASH);
    int rc = LODE_OK;
    size_t nerase = 0;
    for (size_t i = 0; i < plan->nsectors; i++)
        nerase += !plan->sectors[i].skip;
    size_t all = 0;
    for (uint32_t a = m->region.start; a < m->region.end; all++) {
        uint32_t s = 0, z = 0;
        if (sector_at(m, a, &s, &z) != LODE_OK)
            break;
        a = s + z;
    }
    if (nerase && (plan->chip_regions & 1u || nerase == all)) {
        /* every sector: one global erase */
        rc = lodei_an3155_erase(&m->c, m->ext_erase, NULL, 0);
        if (rc == LODE_OK)
            res->sectors_erased = nerase;
    } else if (nerase) {
        uint16_t *pages = calloc(nerase, sizeof *pages);
        if (!pages)
            return LODE_E_NOMEM;
        size_t n = 0;
        for (size_t i = 0; i < plan->nsectors; i++)
            if (!plan->sectors[i].skip)
                pages[n++] = (uint16_t)page_index(m, plan->sectors[i].addr);
        /* Erase 0x43 takes up to 256 pages a command, Extended Erase many more; lode sends 64 */
        for (size_t i = 0; i < n && rc == LODE_OK; i += 64) {
            size_t k = n - i < 64 ? n - i : 64;
            rc = lodei_an3155_erase(&m->c, m->ext_erase, pages + i, k);
            if (rc == LODE_OK)
                res->sectors_erased += k;
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE, i + k, n);
        }
        free(pages);
    }
    if (rc == LODE_E_FLASH)
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the bootloader refused the erase: pages are write-protected (option bytes WRP)");
    for (size_t i = 0; i < plan->npages && rc == LODE_OK; i++) {
        const lode_flash_page_s *pg = &plan->pages[i];
        if (plan->sectors[pg->sector].skip)
            continue;
        rc = write_blocks(m, pg->addr, pg->data, pg->size, log);
        if (rc == LODE_OK) {
            res->pages_programmed++;
            res->bytes_programmed += pg->size;
        }
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, i + 1, plan->npages);
    }
    for (size_t i = 0; i < plan->nram && rc == LODE_OK; i++) {
        const lode_segment_s *sg = plan->ram[i];
        rc = write_blocks(m, sg->addr, sg->data, sg->len, log);
        if (rc == LODE_OK)
            res->bytes_programmed += sg->len;
    }
    if (rc != LODE_OK && res->sectors_erased)
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the flash may now be erased or half written (%zu pages written before the failure); flash again",
                 res->pages_programmed);
    return rc;
}

static int al_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    stm_s *m = ctx;
    if (m->rdp)
        return protected_refusal(m, m->log, LODE_E_FAULT);
    for (size_t off = 0; off < len;) {
        size_t k = len - off < LODEI_AN3155_MAX ? len - off : LODEI_AN3155_MAX;
        int rc = lodei_an3155_read(&m->c, addr + (uint32_t)off, (uint8_t *)buf + off, k);
        if (rc == LODE_E_ACCESS) {
            lode_log(m->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the bootloader refuses to read 0x%08x: it reads only flash, RAM, system memory and option "
                     "bytes", (unsigned)(addr + off));
            return LODE_E_FAULT;
        }
        if (rc != LODE_OK)
            return rc;
        off += k;
    }
    return LODE_OK;
}

static int al_reset_run(void *ctx)
{
    stm_s *m = ctx;
    if (m->boot0.line && m->reset.line) { /* BOOT0 low and a reset pulse: the application starts */
        line_set(m->s, &m->boot0, false);
        line_set(m->s, &m->reset, true);
        sleep_ms(50);
        line_set(m->s, &m->reset, false);
        m->went = true;
        return LODE_OK;
    }
    int rc = lodei_an3155_go(&m->c, m->region.start);
    if (rc == LODE_E_ACCESS) {
        lode_log(m->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader refused Go 0x%08x", m->region.start);
        return LODE_E_FLASH;
    }
    m->went = rc == LODE_OK;
    return rc;
}

static const lode_loader_ops_s stm_loader_ops = {
    .name = "STM32 system bootloader",
    .via = " through the STM32 bootloader",
    .knows_memories = true,
    .layout = al_layout,
    .write = al_write,
    .read = al_read,
    .reset_run = al_reset_run,
};

/* ---- the probe ----------------------------------------------------------------------------- */

static int sp_loader(void *ctx, lode_loader_s **out)
{
    stm_s *m = ctx;
    return lodei_loader_once(&stm_loader_ops, m, &m->loader, out);
}

static void sp_describe(void *ctx, lode_probe_info_s *info)
{
    stm_s *m = ctx;
    snprintf(info->description, sizeof info->description,
             "stm32-uart (STM32 bootloader %u.%u on %s at %u baud %s: %s, product ID 0x%03X)", m->info.version >> 4,
             m->info.version & 0xF, m->port, m->baud, m->parity ? "8E1" : "8N1", m->chip->name, m->pid);
    snprintf(info->product, sizeof info->product, "%s", m->chip->name);
    snprintf(info->firmware, sizeof info->firmware, "%u.%u", m->info.version >> 4, m->info.version & 0xF);
    snprintf(info->protocol, sizeof info->protocol, "AN3155");
    size_t n = (size_t)snprintf(info->detail, sizeof info->detail, "%s, read-out protection %s, commands",
                                m->ext_erase ? "Extended Erase" : "Erase", m->rdp ? "ACTIVE" : "off");
    for (size_t i = 0; i < m->info.ncmds && n < sizeof info->detail; i++)
        n += (size_t)snprintf(info->detail + n, sizeof info->detail - n, " %02X", m->info.cmds[i]);
}

static const char *sp_chip(void *ctx) { return ((stm_s *)ctx)->chip->name; }

static void sp_close(void *ctx)
{
    stm_s *m = ctx;
    if (!m)
        return;
    lode_loader_free(m->loader);
    if (m->s && m->own_stream)
        lode_stream_close(m->s);
    lode_target_db_free(m->db);
    free(m);
}

/* The console (lode run): Go to the application, then the port is its serial line, 8N1 at
 * the same baud (the lode serial link's firmware side uses 8N1). */
static int sp_console(void *ctx, lode_stream_s **out)
{
    stm_s *m = ctx;
    int rc = m->went ? LODE_OK : al_reset_run(m);
    if (rc != LODE_OK)
        return rc;
    if (m->parity) {
        lode_serial_opts_s so = {.baud = m->baud};
        if ((rc = lode_stream_serial_config(m->s, &so)) != LODE_OK)
            return rc;
    }
    *out = m->s;
    return LODE_OK;
}

static const lode_probe_ops_s stm_probe_ops = {
    .console = sp_console,
    .loader = sp_loader,
    .chip = sp_chip,
    .describe = sp_describe,
    .close = sp_close,
};

static int sync_failed(stm_s *m, lodei_an3155_sync_e seen, const uint8_t *first, size_t nfirst, const lode_log_s *log)
{
    const char *name = NULL, *kind = lodei_boot_guess_protocol(first, nfirst, &name);
    char bytes[40] = "";
    for (size_t i = 0, used = 0; i < nfirst && used + 4 < sizeof bytes; i++)
        used += (size_t)snprintf(bytes + used, sizeof bytes - used, "%s%02x", i ? " " : "", first[i]);
    switch (seen) {
    case LODEI_AN3155_SYNC_ECHO:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s sends back what lode sends (%s): a loopback or an echoing terminal, not a bootloader; check "
                 "that this is the adapter the board is on", m->port, bytes);
        break;
    case LODEI_AN3155_SYNC_GARBAGE:
        if (kind && strcmp(kind, "stm32-uart") != 0) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s answers 0x7F in %s (%s), not AN3155: use --probe %s:%s",
                     m->port, name, bytes, kind, m->port);
            break;
        }
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s answers 0x7F with %s, not ACK/NACK: the application is running (BOOT0 low at reset?) or "
                 "another device is on the line; reset the board with BOOT0 high", m->port, bytes);
        break;
    default:
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no answer from an STM32 bootloader on %s at %u baud (%d syncs): set BOOT0 high and reset the "
                 "board (or wire the lines: :boot0=rts:reset=dtr), and check TX/RX are crossed to USART1 "
                 "(PA9/PA10)", m->port, m->baud, SYNC_TRIES);
        break;
    }
    return LODE_E_NO_DEVICE;
}

static int find_chip(stm_s *m, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    const lode_target_id_s *id = NULL;
    if (lode_target_detect_stm32(m->pid, &id) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader reports product ID 0x%03X, which lode's chip database does not know", m->pid);
        return LODE_E_NO_DEVICE;
    }
    uint8_t fs[2] = {0, 0};
    uint16_t kib = 0;
    int rc = id->flash_size_addr ? lodei_an3155_read(&m->c, id->flash_size_addr, fs, 2) : LODE_E_UNSUPPORTED;
    if (rc == LODE_OK)
        kib = (uint16_t)(fs[0] | fs[1] << 8);
    else if (rc == LODE_E_ACCESS)
        m->rdp = true; /* Read Memory refused: read-out protection */
    else if (rc != LODE_E_UNSUPPORTED)
        return rc;
    const lode_target_chip_s *det = NULL;
    if (lode_target_find_detected(m->db, id, kib, &det) != LODE_OK &&
        (!kib || lode_target_find_detected(m->db, id, 0, &det) != LODE_OK))
        det = NULL;
    const lode_target_chip_s *named = NULL;
    if (o->chip && lode_target_find_chip(m->db, o->chip, &named) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "--chip %s is not a chip lode knows (the bootloader says %s)",
                 o->chip, id->description);
        return LODE_E_INVALID_ARG;
    }
    if (named && det && named != det && !o->force) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader reports %s (product ID 0x%03X, %u KiB flash: %s), not %s: check --chip and the "
                 "board; --force writes anyway", id->description, m->pid, kib, det->name, named->name);
        return LODE_E_NO_DEVICE;
    }
    m->chip = named ? named : det;
    if (!m->chip) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader reports %s (product ID 0x%03X, %u KiB flash), which matches no chip in lode's "
                 "database: name it with --chip (--chip-description adds a probe-rs target file)",
                 id->description, m->pid, kib);
        return LODE_E_NO_DEVICE;
    }
    uint64_t fstart = 0, fend = 0;
    if (!lode_target_chip_main_flash(m->chip, &fstart, &fend) ||
        !(m->algo = lode_target_flash_algo_for(m->chip, fstart)) || fend > 0xFFFFFFFFu) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%s has no flash lode can describe", m->chip->name);
        return LODE_E_UNSUPPORTED;
    }
    m->region = (lode_flash_region_s){.name = "flash", .start = (uint32_t)fstart, .end = (uint32_t)fend,
                                      .page_size = LODEI_AN3155_MAX, .erased = m->algo->erased_byte_value,
                                      .sector_at = sector_at, .user = m, .has_chip_erase = true};
    for (size_t i = 0; i < m->chip->nmemory; i++) {
        const lode_target_mem_s *r = &m->chip->memory[i];
        if (r->kind == LODE_TARGET_MEM_RAM && !m->nram && r->end <= 0xFFFFFFFFu && r->end - r->start > BOOT_RAM) {
            m->ram = (lode_mem_range_s){(uint32_t)r->start + BOOT_RAM, (uint32_t)r->end};
            m->nram = 1;
        }
    }
    return LODE_OK;
}

/* The bootloader on the stream: sync, commands, ID, chip; read-out protection lifted when asked. */
static int stm_start(stm_s *m, const lode_probe_open_opts_s *o)
{
    const lode_log_s *log = o->log;
    lodei_an3155_sync_e seen;
    uint8_t first[8];
    size_t nfirst = 0;
    m->c = (lodei_an3155_s){.s = m->s, .log = log};
    if (lodei_an3155_sync(&m->c, SYNC_TRIES, SYNC_WAIT_MS, &seen, first, &nfirst) != LODE_OK)
        return sync_failed(m, seen, first, nfirst, log);
    int rc = lodei_an3155_get(&m->c, &m->info);
    if (rc == LODE_OK)
        rc = lodei_an3155_get_id(&m->c, &m->pid);
    if (rc == LODE_E_ACCESS) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader on %s refuses Get/Get ID (NACK)", m->port);
        return LODE_E_PROTOCOL;
    }
    if (rc != LODE_OK)
        return rc;
    m->ext_erase = lodei_an3155_has(&m->info, LODEI_AN3155_EXT_ERASE);
    if (!m->ext_erase && !lodei_an3155_has(&m->info, LODEI_AN3155_ERASE)) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader on %s offers neither Erase nor Extended Erase",
                 m->port);
        return LODE_E_UNSUPPORTED;
    }
    if ((rc = lode_target_db_new(log, &m->db)) != LODE_OK || (rc = find_chip(m, o)) != LODE_OK)
        return rc;
    if (m->rdp && m->unprotect) {
        lode_log(log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                 "lifting %s's read-out protection: the chip mass-erases its flash and resets", m->chip->name);
        rc = lodei_an3155_readout_unprotect(&m->c);
        if (rc == LODE_OK) {
            sleep_ms(100); /* the reset */
            rc = lodei_an3155_sync(&m->c, SYNC_TRIES, SYNC_WAIT_MS, &seen, first, &nfirst) == LODE_OK
                     ? LODE_OK
                     : sync_failed(m, seen, first, nfirst, log);
        }
        if (rc != LODE_OK)
            return rc;
        m->rdp = false;
    }
    return LODE_OK;
}

/* Options after the port. */
static bool parse_args(const char *args, char *port, size_t cap, unsigned *baud, stm_s *m)
{
    const char *colon = strchr(args, ':');
    size_t plen = colon ? (size_t)(colon - args) : strlen(args);
    if (!plen || plen >= cap)
        return false;
    memcpy(port, args, plen);
    port[plen] = 0;
    while (colon) {
        const char *opt = colon + 1;
        colon = strchr(opt, ':');
        size_t n = colon ? (size_t)(colon - opt) : strlen(opt);
        char v[32];
        if (!n || n >= sizeof v)
            return false;
        memcpy(v, opt, n);
        v[n] = 0;
        line_s *l = !strncmp(v, "boot0=", 6) ? &m->boot0 : !strncmp(v, "reset=", 6) ? &m->reset : NULL;
        if (strspn(v, "0123456789") == n) {
            unsigned long b = strtoul(v, NULL, 10);
            if (b < 1200 || b > 4000000)
                return false;
            *baud = (unsigned)b;
        } else if (!strcasecmp(v, "parity=none")) {
            m->parity = false;
        } else if (!strcasecmp(v, "parity=even")) {
            m->parity = true;
        } else if (!strcasecmp(v, "unprotect")) {
            m->unprotect = true;
        } else if (l) {
            const char *w = v + 6;
            l->inverted = *w == '-';
            w += l->inverted;
            l->line = !strcasecmp(w, "rts") ? LODE_STREAM_RTS : !strcasecmp(w, "dtr") ? LODE_STREAM_DTR : 0;
            if (!l->line)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static int bad_spec(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o)
{
    lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "bad probe '%s:%s': use --probe %s (BAUD 1200..4000000; LINE rts, dtr, -rts or -dtr)",
             d ? d->name : "stm32-uart", args, d ? d->syntax : lodei_probe_row_stm32_uart.syntax);
    return LODE_E_INVALID_ARG;
}

/* The probe over s (own: closed with it, also on failure) as `args` describe it. */
static int open_on(lode_stream_s *s, bool own, const stm_s *opt, const char *port, unsigned baud,
                   const lode_probe_open_opts_s *o, lode_probe_s **out)
{
    stm_s *m = calloc(1, sizeof *m);
    if (!m) {
        if (own)
            lode_stream_close(s);
        return LODE_E_NOMEM;
    }
    *m = *opt;
    m->s = s;
    m->own_stream = own;
    m->log = o->log;
    m->baud = baud;
    snprintf(m->port, sizeof m->port, "%s", port);
    int rc = stm_start(m, o);
    if (rc != LODE_OK) {
        sp_close(m);
        return rc;
    }
    return lode_probe_new(&stm_probe_ops, m, "stm32-uart", NULL, out);
}

int lodei_boot_stm32_open_stream(lode_stream_s *s, bool own, const char *args, const lode_probe_open_opts_s *o,
                                 lode_probe_s **out)
{
    stm_s opt = {.parity = !o->no_parity};
    char port[200];
    unsigned baud = DEFAULT_BAUD;
    if (!parse_args(args, port, sizeof port, &baud, &opt)) {
        if (own)
            lode_stream_close(s);
        return bad_spec(NULL, args, o);
    }
    return open_on(s, own, &opt, port, baud, o, out);
}

static int stm_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    stm_s opt = {.parity = !o->no_parity};
    char port[200];
    unsigned baud = DEFAULT_BAUD;
    if (!parse_args(args, port, sizeof port, &baud, &opt))
        return bad_spec(d, args, o);
    lode_serial_opts_s so = {.baud = baud, .parity = opt.parity ? LODE_PARITY_EVEN : LODE_PARITY_NONE,
                             .exclusive = true};
    lode_stream_s *s = NULL;
    lode_log_s quiet = {0};
    int rc = lode_stream_open_serial(port, &so, opt.parity ? &quiet : o->log, &s);
    int err = errno;
    lode_parity_e got = LODE_PARITY_NONE;
    /* a driver may take the settings and drop PARENB: look again */
    if (rc == LODE_OK && opt.parity && (lode_stream_serial_parity(s, &got) != LODE_OK || got != LODE_PARITY_EVEN))
        rc = LODE_E_UNSUPPORTED;
    if (opt.parity && (rc == LODE_E_UNSUPPORTED || (rc != LODE_OK && err == EINVAL))) {
        lode_stream_close(s);
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s cannot do even parity (a pseudo-terminal?): the STM32 bootloader wants 8E1; if the other end "
                 "takes 8N1 (a simulated board does), use --parity none", port);
        return LODE_E_UNSUPPORTED;
    }
    if (rc != LODE_OK) {
        if (opt.parity) /* the open's own message was kept quiet: say it now */
            lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "cannot open %s: %s%s", port, strerror(err),
                     rc == LODE_E_BUSY ? " (another program holds it open)" : "");
        return rc;
    }
    /* BOOT0 high, then a reset pulse: the chip starts its system bootloader */
    if (opt.boot0.line || opt.reset.line) {
        if (line_set(s, &opt.boot0, true) != LODE_OK || line_set(s, &opt.reset, true) != LODE_OK) {
            lode_log(o->log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                     "%s has no modem-control lines (a pseudo-terminal?): boot0= and reset= are ignored", port);
            opt.boot0.line = opt.reset.line = 0;
        } else {
            sleep_ms(50);
            line_set(s, &opt.reset, false);
            sleep_ms(100);
        }
    }
    lode_stream_flush(s);
    return open_on(s, true, &opt, port, baud, o, out);
}

const lode_probe_driver_s lodei_probe_row_stm32_uart = {
    .name = "stm32-uart",
    .syntax = "stm32-uart:PORT[:BAUD][:parity=none][:boot0=LINE][:reset=LINE][:unprotect]",
    .help = "an STM32's system bootloader on a USART (AN3155; BOOT0 high), 115200 baud 8E1 by default",
    .needs_args = true,
    .open = stm_open,
};
