/* SPDX-License-Identifier: MIT */
/* A GDB server as a probe (the GDB client, gdbclient.h): a core face, File-I/O, and later its
 * vFlash as a loader face. Rows "gdb:HOST:PORT" (TCP) and "bmp:DEVICE" (a Black Magic Probe's
 * GDB server on its serial port, target 1 of swdp_scan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/gdbclient.h"
#include "lode/loader.h"
#include "probe/probe_i.h"

#define MAX_MAP 32

typedef struct gdb_probe_s {
    lode_gdbclient_s *c;
    lode_loader_s *loader;     /* the vFlash loader, made on first use */
    bool mapped;               /* the memory map was read */
    lode_gdbclient_region_s map[MAX_MAP];
    lode_flash_region_s regions[MAX_MAP];
    lode_mem_range_s ram[MAX_MAP];
    size_t nregions, nram;
    lode_log_s outer;      /* the opener's log */
    bool pass;             /* connected: errors go to the log, not err */
    char err[256];         /* while connecting: the client's error, for one line naming the server */
} gdb_probe_s;

static void gp_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    gdb_probe_s *g = user;
    if (level == LODE_LOG_ERROR && !g->pass) {
        snprintf(g->err, sizeof g->err, "%s", msg);
        return;
    }
    if (g->outer.fn)
        g->outer.fn(g->outer.user, level, cat, msg);
}

static const lode_core_ops_s *gp_core(void *ctx) { return lode_gdbclient_core(((gdb_probe_s *)ctx)->c); }

static void gp_set_fileio(void *ctx, lode_probe_fileio_fn fn, void *user)
{
    lode_gdbclient_set_fileio(((gdb_probe_s *)ctx)->c, fn, user);
}

/* ---- the loader face: the server's flash programming (vFlash) over plan.c's plans ---------- */

static int block_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    const lode_gdbclient_region_s *r = user;
    if (addr < r->start || addr - r->start >= r->len)
        return LODE_E_RANGE;
    *start = r->start + (addr - r->start) / r->block * r->block;
    *size = r->block;
    return LODE_OK;
}

static int gl_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    gdb_probe_s *g = ctx;
    if (!g->mapped) {
        size_t n = 0;
        int rc = lode_gdbclient_memory_map(g->c, g->map, MAX_MAP, &n);
        if (rc != LODE_OK && rc != LODE_E_UNSUPPORTED)
            return rc;
        g->nregions = g->nram = 0;
        for (size_t i = 0; rc == LODE_OK && i < n; i++) {
            const lode_gdbclient_region_s *m = &g->map[i];
            uint64_t end = (uint64_t)m->start + m->len;
            if (!m->len)
                continue;
            if (!m->flash) {
                g->ram[g->nram++] = (lode_mem_range_s){m->start, end > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)end};
                continue;
            }
            if (!m->block || end > 0xFFFFFFFFu)
                continue;
            g->regions[g->nregions++] = (lode_flash_region_s){.name = "flash", .start = m->start, .end = (uint32_t)end,
                                                              .page_size = m->block, .erased = 0xFF,
                                                              .sector_at = block_at, .user = m};
        }
        if (!g->nregions && !g->nram) /* no memory map (QEMU's stub): memory writes anywhere */
            g->ram[g->nram++] = (lode_mem_range_s){0, 0xFFFFFFFFu};
        g->mapped = true;
    }
    *regions = g->regions;
    *nregions = g->nregions;
    *ram = g->ram;
    *nram = g->nram;
    return LODE_OK;
}

static int gl_prepare(void *ctx)
{
    const lode_core_ops_s *core = lode_gdbclient_core(((gdb_probe_s *)ctx)->c);
    return core->halt(core->ctx);
}

static int gl_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    gdb_probe_s *g = ctx;
    const lode_core_ops_s *core = lode_gdbclient_core(g->c);
    int rc = core->halt(core->ctx);
    if (rc == LODE_OK)
        rc = lode_loader_write_memory(core, plan->ram, plan->nram, log, &res->bytes_programmed);
    bool flash = false;
    /* the plan's sectors, adjacent ones in one vFlashErase */
    for (size_t i = 0; i < plan->nsectors && rc == LODE_OK;) {
        if (plan->sectors[i].skip) {
            i++;
            continue;
        }
        size_t j = i + 1;
        uint32_t len = plan->sectors[i].size;
        while (j < plan->nsectors && !plan->sectors[j].skip &&
               plan->sectors[j].addr == plan->sectors[i].addr + len) {
            len += plan->sectors[j].size;
            j++;
        }
        rc = lode_gdbclient_vflash_erase(g->c, plan->sectors[i].addr, len);
        res->sectors_erased += j - i;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE, res->sectors_erased, plan->nsectors);
        flash = true;
        i = j;
    }
    for (size_t i = 0; i < plan->npages && rc == LODE_OK; i++) {
        const lode_flash_page_s *pg = &plan->pages[i];
        rc = lode_gdbclient_vflash_write(g->c, pg->addr, pg->data, pg->size);
        res->pages_programmed++;
        res->bytes_programmed += pg->size;
        if (o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, i + 1, plan->npages);
        flash = true;
    }
    if (rc == LODE_OK && flash)
        rc = lode_gdbclient_vflash_done(g->c);
    if (rc != LODE_OK && flash) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                 "the GDB server's flash programming failed (%s): the blocks of the image may now be "
                 "erased; flash again", lode_strerror(rc));
        return rc == LODE_E_UNSUPPORTED ? LODE_E_FLASH : rc;
    }
    return rc;
}

static int gl_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    const lode_core_ops_s *core = lode_gdbclient_core(((gdb_probe_s *)ctx)->c);
    return core->mem_read(core->ctx, addr, buf, len);
}

static int gl_reset_run(void *ctx)
{
    const lode_core_ops_s *core = lode_gdbclient_core(((gdb_probe_s *)ctx)->c);
    return core->reset(core->ctx, false);
}

static const lode_loader_ops_s gdb_loader_ops = {
    .name = "GDB server vFlash",
    .via = " through the GDB server",
    .layout = gl_layout,
    .prepare = gl_prepare,
    .write = gl_write,
    .read = gl_read,
    .reset_run = gl_reset_run,
};

static int gp_loader(void *ctx, lode_loader_s **out)
{
    gdb_probe_s *g = ctx;
    return lodei_loader_once(&gdb_loader_ops, g, &g->loader, out);
}

static void gp_close(void *ctx)
{
    gdb_probe_s *g = ctx;
    lode_loader_free(g->loader);
    lode_gdbclient_free(g->c);
    free(g);
}

static const lode_probe_ops_s gdb_probe_ops = {
    .core = gp_core,
    .set_fileio = gp_set_fileio,
    .loader = gp_loader,
    .close = gp_close,
    .poll_us = 10000, /* each poll of a running target through an all-stop server stops it */
};

lode_gdbclient_s *lode_probe_gdbclient_handle(lode_probe_s *p)
{
    gdb_probe_s *g = lodei_probe_ctx_if(p, &gdb_probe_ops);
    return g ? g->c : NULL;
}

static gdb_probe_s *gp_new(const lode_probe_open_opts_s *o, lode_log_s *log)
{
    gdb_probe_s *g = calloc(1, sizeof *g);
    if (g) {
        if (o->log)
            g->outer = *o->log;
        *log = (lode_log_s){.fn = gp_log, .user = g, .max_level = g->outer.max_level};
    }
    return g;
}

static int gp_finish(gdb_probe_s *g, const char *desc, lode_probe_s **out)
{
    g->pass = true;
    lode_gdbclient_set_intrusive(g->c, true); /* RTT and reads while it runs: brief stops */
    lode_probe_extra_s x = {.description = desc};
    return lode_probe_new(&gdb_probe_ops, g, "gdb", &x, out);
}

static int tcp_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    const char *colon = strrchr(args, ':');
    char host[256], *end = NULL;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || colon == args || (size_t)(colon - args) >= sizeof host || end == colon + 1 || *end ||
        port < 1 || port > 65535) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "bad probe '%s:%s': use --probe %s (port 1..65535)",
                 d->name, args, d->syntax);
        return LODE_E_INVALID_ARG;
    }
    memcpy(host, args, (size_t)(colon - args));
    host[colon - args] = 0;
    lode_log_s log;
    gdb_probe_s *g = gp_new(o, &log);
    if (!g)
        return LODE_E_NOMEM;
    int rc = lode_gdbclient_connect(host, (int)port, &log, &g->c);
    if (rc != LODE_OK) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "cannot connect to the GDB server at %s:%lu: %s",
                 host, port, g->err[0] ? g->err : lode_strerror(rc));
        free(g);
        return LODE_E_NO_DEVICE;
    }
    char desc[320];
    snprintf(desc, sizeof desc, "gdb (GDB server at %s:%lu)", host, port);
    return gp_finish(g, desc, out);
}

const lode_probe_driver_s lodei_probe_row_gdb = {
    .name = "gdb",
    .syntax = "gdb:HOST:PORT",
    .help = "a GDB server (lode gdb, OpenOCD, pyOCD, QEMU, ...)",
    .needs_args = true,
    .open = tcp_open,
};

static int bmp_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    (void)d;
    lode_log_s log;
    gdb_probe_s *g = gp_new(o, &log);
    if (!g)
        return LODE_E_NOMEM;
    g->pass = true; /* the serial port's errors are the user's news as they come */
    int rc = lode_gdbclient_open_serial(args, &log, &g->c);
    if (rc == LODE_OK)
        rc = lode_gdbclient_attach_target(g->c, "swdp_scan", 1);
    if (rc != LODE_OK) {
        lode_gdbclient_free(g->c);
        free(g);
        return LODE_E_NO_DEVICE;
    }
    char desc[320];
    snprintf(desc, sizeof desc, "bmp (Black Magic Probe GDB server on %s)", args);
    return gp_finish(g, desc, out);
}

const lode_probe_driver_s lodei_probe_row_bmp = {
    .name = "bmp",
    .syntax = "bmp:DEVICE",
    .help = "a Black Magic Probe's GDB port (/dev/ttyACMx)",
    .needs_args = true,
    .open = bmp_open,
};
