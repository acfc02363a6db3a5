/* SPDX-License-Identifier: MIT */
/* ST-Link as a probe: its faces (dap with register commands, swo, describe) and its registry
 * rows "stlink[:VID:PID[:SERIAL]]" (USB) and "stlink-tcp:HOST:PORT[:SERIAL]" (stlink-server). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/stlink.h"
#include "lode/usb.h"
#include "probe/probe_i.h"

typedef struct st_probe_s {
    lode_stlink_s *st;
} st_probe_s;

static int sp_dap(void *ctx, uint32_t hz, lode_dap_ops_s *ops)
{
    st_probe_s *p = ctx;
    int rc = lode_stlink_connect_swd(p->st, hz ? hz : 4000000u, NULL);
    return rc == LODE_OK ? lode_stlink_dap_ops(p->st, ops) : rc;
}

static int st_reg_read(void *ctx, unsigned sel, uint32_t *raw) { return lode_stlink_read_reg(ctx, sel, raw); }
static int st_reg_write(void *ctx, unsigned sel, uint32_t raw) { return lode_stlink_write_reg(ctx, sel, raw); }

static int sp_regio(void *ctx, lode_cortexm_regio_s *rio)
{
    rio->read = st_reg_read;
    rio->write = st_reg_write;
    rio->ctx = ((st_probe_s *)ctx)->st;
    return LODE_OK;
}

static int sp_swo_start(void *ctx, uint32_t baud, uint32_t *actual)
{
    int rc = lode_stlink_trace_start(((st_probe_s *)ctx)->st, baud);
    if (rc == LODE_OK && actual)
        *actual = baud;
    return rc;
}
static int sp_swo_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    return lode_stlink_trace_read(((st_probe_s *)ctx)->st, buf, cap, got);
}
static int sp_swo_stop(void *ctx) { return lode_stlink_trace_stop(((st_probe_s *)ctx)->st); }

static void sp_describe(void *ctx, lode_probe_info_s *info)
{
    st_probe_s *p = ctx;
    lode_stlink_version_s sv;
    lode_stlink_get_version(p->st, &sv);
    lode_stlink_version_string(&sv, info->firmware, sizeof info->firmware);
    info->has_voltage = lode_stlink_target_voltage(p->st, &info->voltage) == LODE_OK;
    snprintf(info->vendor, sizeof info->vendor, "STMicroelectronics");
    snprintf(info->product, sizeof info->product, "ST-Link/V%u", sv.hw);
    int n = snprintf(info->detail, sizeof info->detail, "firmware %s", info->firmware);
    if (info->has_voltage && n > 0 && (size_t)n < sizeof info->detail)
        snprintf(info->detail + n, sizeof info->detail - (size_t)n, ", target voltage %.2f V", info->voltage);
    snprintf(info->description, sizeof info->description, "%s", info->product);
}

static void sp_close(void *ctx)
{
    st_probe_s *p = ctx;
    lode_stlink_close(p->st);
    free(p);
}

static const lode_probe_ops_s st_probe_ops = {
    .dap = sp_dap,
    .regio = sp_regio,
    .swo_start = sp_swo_start,
    .swo_read = sp_swo_read,
    .swo_stop = sp_swo_stop,
    .describe = sp_describe,
    .close = sp_close,
};

int lode_probe_stlink_new(const lode_stlink_io_s *io, bool own_io, const lode_probe_extra_s *extra,
                          const lode_log_s *log, lode_probe_s **out)
{
    if (!io || !out) {
        if (io && own_io && io->close)
            io->close(io->ctx);
        return LODE_E_INVALID_ARG;
    }
    lode_stlink_io_s use = *io;
    if (!own_io)
        use.close = NULL; /* borrowed: the driver must not close it */
    st_probe_s *p = calloc(1, sizeof *p);
    int rc = p ? lode_stlink_open(&use, log, &p->st) : LODE_E_NOMEM; /* the driver owns `use` now */
    if (!p && use.close)
        use.close(use.ctx);
    if (rc != LODE_OK) {
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        free(p);
        return rc;
    }
    return lode_probe_new(&st_probe_ops, p, "stlink", extra, out);
}

lode_stlink_s *lode_probe_stlink_handle(lode_probe_s *p)
{
    st_probe_s *s = lodei_probe_ctx_if(p, &st_probe_ops);
    return s ? s->st : NULL;
}

/* ---- USB: the I/O owns the device (both transports) ----------------------------------------- */

typedef struct owned_usb_io_s {
    lode_transport_s *cmd, *trace;
    lode_stlink_io_s inner;
} owned_usb_io_s;

static int ou_xfer(void *ctx, const uint8_t cmd[LODE_STLINK_CMD_SIZE], lode_stlink_dir_e dir,
                   uint8_t *data, size_t len)
{
    owned_usb_io_s *o = ctx;
    return o->inner.xfer(o->inner.ctx, cmd, dir, data, len);
}

static int ou_trace(void *ctx, uint8_t *buf, size_t len)
{
    owned_usb_io_s *o = ctx;
    return o->inner.trace_read(o->inner.ctx, buf, len);
}

static void ou_close(void *ctx)
{
    owned_usb_io_s *o = ctx;
    if (o->inner.close)
        o->inner.close(o->inner.ctx);
    lode_transport_close(o->trace);
    lode_transport_close(o->cmd);
    free(o);
}

static int usb_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d;
    lode_usb_probe_s *probes = NULL;
    size_t n = 0;
    int rc = lode_usb_list_stlink(NULL, log, &probes, &n);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        snprintf(f.spec, sizeof f.spec, "stlink:%04x:%04x:%s", probes[i].vid, probes[i].pid, probes[i].serial);
        f.kind = "stlink";
        snprintf(f.product, sizeof f.product, "%s", probes[i].product);
        snprintf(f.serial, sizeof f.serial, "%s", probes[i].serial);
        snprintf(f.text, sizeof f.text, "%s", probes[i].product);
        fn(user, &f);
    }
    free(probes);
    return rc;
}

static int usb_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    (void)d;
    lode_usb_filter_s f;
    if (lode_usb_parse_filter(args, &f) != LODE_OK) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe selector '%s': use stlink:VID:PID[:SERIAL] with hex VID/PID", args);
        return LODE_E_INVALID_ARG;
    }
    lode_usb_probe_s *probes = NULL;
    size_t n = 0, idx = 0;
    int rc = lode_usb_list_stlink(&f, o->log, &probes, &n);
    if (rc == LODE_OK)
        rc = lode_probe_choose(probes, n, "ST-Link", "stlink", args, o->log, &idx);
    owned_usb_io_s *u = rc == LODE_OK ? calloc(1, sizeof *u) : NULL;
    if (rc == LODE_OK && !u)
        rc = LODE_E_NOMEM;
    if (rc == LODE_OK)
        rc = lode_usb_open_stlink(&probes[idx], o->log, &u->cmd, &u->trace);
    if (rc == LODE_OK)
        rc = lode_stlink_io_usb(u->cmd, u->trace, &u->inner);
    if (rc != LODE_OK) {
        if (u) {
            lode_transport_close(u->trace);
            lode_transport_close(u->cmd);
            free(u);
        }
        free(probes);
        return rc;
    }
    char desc[320];
    snprintf(desc, sizeof desc, "%s %04x:%04x %s", probes[idx].product, probes[idx].vid, probes[idx].pid,
             probes[idx].serial);
    free(probes);
    lode_stlink_io_s io = {.xfer = ou_xfer, .trace_read = ou_trace, .close = ou_close, .ctx = u};
    lode_probe_extra_s x = {.description = desc};
    return lode_probe_stlink_new(&io, true, &x, o->log, out);
}

const lode_probe_driver_s lodei_probe_row_stlink = {
    .name = "stlink",
    .syntax = "stlink[:VID:PID[:SERIAL]]",
    .help = "a USB ST-Link V2/V2-1/V3",
    .list = usb_list,
    .open = usb_open,
};

/* ---- TCP: an ST-Link shared by an stlink-server ---------------------------------------------- */

static int tcp_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    char host[256];
    uint16_t port = 0;
    const char *serial = NULL;
    if (!lodei_probe_host_port(args, host, sizeof host, &port, &serial)) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe '%s:%s': use --probe %s (port 1..65535; ST's stlink-server listens on 7184)",
                 d->name, args, d->syntax);
        return LODE_E_INVALID_ARG;
    }
    lode_stlink_io_s io;
    int rc = lode_stlink_io_tcp(host, port, serial ? serial : "", o->log, &io);
    if (rc != LODE_OK)
        return rc == LODE_E_INVALID_ARG ? LODE_E_NO_DEVICE : rc;
    char desc[320];
    snprintf(desc, sizeof desc, "stlink-tcp (ST-Link via stlink-server %s:%u)", host, (unsigned)port);
    lode_probe_extra_s x = {.description = desc};
    return lode_probe_stlink_new(&io, true, &x, o->log, out);
}

const lode_probe_driver_s lodei_probe_row_stlink_tcp = {
    .name = "stlink-tcp",
    .syntax = "stlink-tcp:HOST:PORT[:SERIAL]",
    .help = "an ST-Link shared by an stlink-server",
    .needs_args = true,
    .open = tcp_open,
};
