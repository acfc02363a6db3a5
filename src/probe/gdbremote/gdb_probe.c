/* SPDX-License-Identifier: MIT */
/* A GDB server as a probe (the GDB client, gdbclient.h): a core face, File-I/O, and later its
 * vFlash as a loader face. Rows "gdb:HOST:PORT" (TCP) and "bmp:DEVICE" (a Black Magic Probe's
 * GDB server on its serial port, target 1 of swdp_scan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/gdbclient.h"
#include "probe/probe_i.h"

typedef struct gdb_probe_s {
    lode_gdbclient_s *c;
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

static void gp_close(void *ctx)
{
    gdb_probe_s *g = ctx;
    lode_gdbclient_free(g->c);
    free(g);
}

static const lode_probe_ops_s gdb_probe_ops = {
    .core = gp_core,
    .set_fileio = gp_set_fileio,
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
