/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP as a probe: its faces (dap, swo, reset_pin, describe) and its registry row
 * "cmsis-dap[:VID:PID[:SERIAL]]" (USB: v2 bulk and v1 HID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/usb.h"
#include "probe/probe_i.h"

typedef struct dap_probe_s {
    lode_cmsis_dap_s *dap;
    lode_transport_s *tr;
    bool own_tr;
} dap_probe_s;

static int dp_dap(void *ctx, uint32_t hz, lode_dap_ops_s *ops)
{
    dap_probe_s *p = ctx;
    int rc = lode_cmsis_dap_connect_swd(p->dap, hz ? hz : 4000000u);
    return rc == LODE_OK ? lode_cmsis_dap_dap_ops(p->dap, ops) : rc;
}

static int dp_swo_start(void *ctx, uint32_t baud, uint32_t *actual)
{
    return lode_cmsis_dap_swo_start(((dap_probe_s *)ctx)->dap, baud, actual);
}
static int dp_swo_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    return lode_cmsis_dap_swo_read(((dap_probe_s *)ctx)->dap, buf, cap, got);
}
static int dp_swo_stop(void *ctx) { return lode_cmsis_dap_swo_stop(((dap_probe_s *)ctx)->dap); }

static int dp_reset_pin(void *ctx, bool asserted)
{
    lode_dap_ops_s ops;
    int rc = lode_cmsis_dap_dap_ops(((dap_probe_s *)ctx)->dap, &ops);
    if (rc == LODE_OK)
        rc = ops.reset_pin ? ops.reset_pin(ops.ctx, asserted) : LODE_E_UNSUPPORTED;
    return rc;
}

static void dp_describe(void *ctx, lode_probe_info_s *info)
{
    lode_cmsis_dap_info_s di;
    memset(&di, 0, sizeof di);
    lode_cmsis_dap_info(((dap_probe_s *)ctx)->dap, &di);
    snprintf(info->vendor, sizeof info->vendor, "%s", di.vendor);
    snprintf(info->product, sizeof info->product, "%s", di.product);
    snprintf(info->serial, sizeof info->serial, "%s", di.serial);
    snprintf(info->firmware, sizeof info->firmware, "%s", di.fw_version);
    snprintf(info->protocol, sizeof info->protocol, "%s", di.protocol_version);
    info->packet_size = di.packet_size;
    info->packet_count = di.packet_count;
    snprintf(info->description, sizeof info->description, "CMSIS-DAP %s", di.product);
    snprintf(info->detail, sizeof info->detail, "CMSIS-DAP %s, packet %u bytes x %u", di.protocol_version,
             di.packet_size, di.packet_count);
}

static void dp_close(void *ctx)
{
    dap_probe_s *p = ctx;
    lode_cmsis_dap_close(p->dap);
    if (p->own_tr)
        lode_transport_close(p->tr);
    free(p);
}

static const lode_probe_ops_s dap_probe_ops = {
    .dap = dp_dap,
    .swo_start = dp_swo_start,
    .swo_read = dp_swo_read,
    .swo_stop = dp_swo_stop,
    .reset_pin = dp_reset_pin,
    .describe = dp_describe,
    .close = dp_close,
};

int lode_probe_cmsis_dap_new(lode_transport_s *tr, bool own_transport, const lode_probe_extra_s *extra,
                             const lode_log_s *log, lode_probe_s **out)
{
    dap_probe_s *p = tr && out ? calloc(1, sizeof *p) : NULL;
    int rc = !tr || !out ? LODE_E_INVALID_ARG : p ? LODE_OK : LODE_E_NOMEM;
    if (rc == LODE_OK)
        rc = lode_cmsis_dap_open(tr, log, &p->dap);
    if (rc != LODE_OK) {
        if (own_transport)
            lode_transport_close(tr);
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        free(p);
        return rc;
    }
    p->tr = tr;
    p->own_tr = own_transport;
    return lode_probe_new(&dap_probe_ops, p, "cmsis-dap", extra, out);
}

lode_cmsis_dap_s *lode_probe_cmsis_dap_handle(lode_probe_s *p)
{
    dap_probe_s *d = lodei_probe_ctx_if(p, &dap_probe_ops);
    return d ? d->dap : NULL;
}

/* ---- the registry row -------------------------------------------------------------------- */

static int row_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d;
    lode_usb_probe_s *probes = NULL;
    size_t n = 0;
    int rc = lode_usb_list_cmsis_dap(NULL, log, &probes, &n);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        snprintf(f.spec, sizeof f.spec, "cmsis-dap:%04x:%04x:%s", probes[i].vid, probes[i].pid, probes[i].serial);
        f.kind = probes[i].tag == LODE_CMSIS_DAP_USB_V2 ? "cmsis-dap-v2" : "cmsis-dap-v1";
        snprintf(f.product, sizeof f.product, "%s", probes[i].product);
        snprintf(f.manufacturer, sizeof f.manufacturer, "%s", probes[i].manufacturer);
        snprintf(f.serial, sizeof f.serial, "%s", probes[i].serial);
        snprintf(f.text, sizeof f.text, "CMSIS-DAP v%d  %s %s", probes[i].tag, probes[i].manufacturer,
                 probes[i].product);
        fn(user, &f);
    }
    free(probes);
    return rc;
}

static int row_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    (void)d;
    lode_usb_filter_s f;
    if (lode_usb_parse_filter(args, &f) != LODE_OK) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe selector '%s': use cmsis-dap:VID:PID[:SERIAL] with hex VID/PID", args);
        return LODE_E_INVALID_ARG;
    }
    lode_usb_probe_s *probes = NULL;
    size_t n = 0, idx = 0;
    lode_transport_s *tr = NULL;
    int rc = lode_usb_list_cmsis_dap(&f, o->log, &probes, &n);
    if (rc == LODE_OK)
        rc = lode_probe_choose(probes, n, "CMSIS-DAP probe", "cmsis-dap", args, o->log, &idx);
    if (rc == LODE_OK)
        rc = lode_usb_open(&probes[idx], o->log, &tr);
    if (rc == LODE_OK) {
        char desc[320];
        snprintf(desc, sizeof desc, "CMSIS-DAP v%d %04x:%04x %s (%s)", probes[idx].tag, probes[idx].vid,
                 probes[idx].pid, probes[idx].serial, probes[idx].product);
        lode_probe_extra_s x = {.description = desc};
        rc = lode_probe_cmsis_dap_new(tr, true, &x, o->log, out);
    }
    free(probes);
    return rc;
}

const lode_probe_driver_s lodei_probe_row_cmsis_dap = {
    .name = "cmsis-dap",
    .syntax = "cmsis-dap[:VID:PID[:SERIAL]]",
    .help = "a USB CMSIS-DAP probe (v2 bulk or v1 HID)",
    .list = row_list,
    .open = row_open,
};
