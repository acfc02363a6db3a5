/* SPDX-License-Identifier: MIT */
/* J-Link as a probe: its faces (dap through the software SWD engine, swo, reset_pin,
 * describe) and the registry row "jlink[:SERIAL][:power][:targetsel=HEX][:vcd=PATH]" (USB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/jlink.h"
#include "lode/usb.h"
#include "probe/jlink/jlink_codec.h"
#include "probe/probe_i.h"

int lode_jlink_parse_spec(const char *args, lode_jlink_spec_s *out)
{
    if (!args || !out)
        return LODE_E_INVALID_ARG;
    lode_jlink_spec_s s;
    memset(&s, 0, sizeof s);
    const char *p = args;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 5 && !strncasecmp(p, "power", 5)) {
            s.power = true;
        } else if (n > 10 && !strncasecmp(p, "targetsel=", 10)) {
            char tmp[32];
            if (n - 10 >= sizeof tmp)
                return LODE_E_INVALID_ARG;
            memcpy(tmp, p + 10, n - 10);
            tmp[n - 10] = 0;
            char *e = NULL;
            unsigned long v = strtoul(tmp, &e, 16);
            if (!*tmp || *e || v > 0xFFFFFFFFul)
                return LODE_E_INVALID_ARG;
            s.targetsel = true;
            s.targetsel_value = (uint32_t)v;
        } else if (n > 4 && !strncasecmp(p, "vcd=", 4)) {
            if (n - 4 >= sizeof s.vcd)
                return LODE_E_INVALID_ARG;
            memcpy(s.vcd, p + 4, n - 4);
            s.vcd[n - 4] = 0;
        } else if (n > 0 && !s.serial[0] && n < sizeof s.serial) {
            for (size_t i = 0; i < n; i++)
                if (p[i] < '0' || p[i] > '9')
                    return LODE_E_INVALID_ARG; /* J-Link serial numbers are decimal */
            memcpy(s.serial, p, n);
            s.serial[n] = 0;
        } else {
            return LODE_E_INVALID_ARG;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    *out = s;
    return LODE_OK;
}

typedef struct jl_probe_s {
    lode_jlink_s *jl;
    lode_jlink_spec_s spec;
} jl_probe_s;

static int jp_dap(void *ctx, uint32_t hz, lode_dap_ops_s *ops)
{
    jl_probe_s *p = ctx;
    lode_jlink_swd_opts_s o = {.hz = hz, .power = p->spec.power, .targetsel = p->spec.targetsel,
                               .targetsel_value = p->spec.targetsel_value};
    return lode_jlink_connect_swd(p->jl, &o, NULL, ops);
}

static int jp_swo_start(void *ctx, uint32_t baud, uint32_t *actual)
{
    return lode_jlink_swo_start(((jl_probe_s *)ctx)->jl, baud, actual);
}
static int jp_swo_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    return lode_jlink_swo_read(((jl_probe_s *)ctx)->jl, buf, cap, got);
}
static int jp_swo_stop(void *ctx) { return lode_jlink_swo_stop(((jl_probe_s *)ctx)->jl); }
static int jp_reset_pin(void *ctx, bool asserted) { return lode_jlink_reset(((jl_probe_s *)ctx)->jl, asserted); }

static void jp_describe(void *ctx, lode_probe_info_s *info)
{
    jl_probe_s *p = ctx;
    lode_jlink_info_s ji;
    lode_jlink_get_info(p->jl, &ji);
    uint16_t mv = ji.vtref_mv;
    if (lode_jlink_vtref(p->jl, &mv) != LODE_OK)
        mv = ji.vtref_mv;
    snprintf(info->vendor, sizeof info->vendor, "SEGGER");
    snprintf(info->product, sizeof info->product, "J-Link%s%s", ji.hw_string[0] ? " " : "", ji.hw_string);
    snprintf(info->firmware, sizeof info->firmware, "%.63s", ji.firmware);
    snprintf(info->serial, sizeof info->serial, "%s", p->spec.serial);
    info->has_voltage = true;
    info->voltage = mv / 1000.0;
    char caps[160];
    lodei_jl_caps_string(ji.caps, caps, sizeof caps);
    snprintf(info->detail, sizeof info->detail, "hardware %.20s, caps 0x%08x (%.70s), %u bytes free, VTref %.2f V",
             ji.hw_string[0] ? ji.hw_string : "unknown", (unsigned)ji.caps, caps, (unsigned)ji.free_mem,
             info->voltage);
    snprintf(info->description, sizeof info->description, "%s", info->product);
}

static void jp_close(void *ctx)
{
    jl_probe_s *p = ctx;
    lode_jlink_close(p->jl);
    free(p);
}

static const lode_probe_ops_s jl_probe_ops = {
    .dap = jp_dap,
    .swo_start = jp_swo_start,
    .swo_read = jp_swo_read,
    .swo_stop = jp_swo_stop,
    .reset_pin = jp_reset_pin,
    .describe = jp_describe,
    .close = jp_close,
};

int lode_probe_jlink_new(const lode_jlink_io_s *io, bool own_io, const lode_jlink_spec_s *spec,
                         const lode_probe_extra_s *extra, const lode_log_s *log, lode_probe_s **out)
{
    if (!io || !out) {
        if (io && own_io && io->close)
            io->close(io->ctx);
        return LODE_E_INVALID_ARG;
    }
    lode_jlink_io_s use = *io;
    if (!own_io)
        use.close = NULL;
    jl_probe_s *p = calloc(1, sizeof *p);
    int rc = p ? lode_jlink_open(&use, log, &p->jl) : LODE_E_NOMEM; /* the driver owns `use` now */
    if (!p && use.close)
        use.close(use.ctx);
    if (rc == LODE_OK && spec)
        p->spec = *spec;
    if (rc == LODE_OK && p->spec.vcd[0])
        rc = lode_jlink_set_vcd(p->jl, p->spec.vcd);
    if (rc != LODE_OK) {
        if (p)
            lode_jlink_close(p->jl);
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        free(p);
        return rc;
    }
    return lode_probe_new(&jl_probe_ops, p, "jlink", extra, out);
}

lode_jlink_s *lode_probe_jlink_handle(lode_probe_s *p)
{
    jl_probe_s *s = lodei_probe_ctx_if(p, &jl_probe_ops);
    return s ? s->jl : NULL;
}

/* ---- USB ------------------------------------------------------------------------------------------ */
/* What `lode list` prints for one J-Link: it is opened to ask for firmware and hardware
 * versions (a J-Link in use by another program is listed with that note). */
static void list_one(const lode_usb_probe_s *u, const lode_log_s *log, lode_probe_found_s *f)
{
    (void)log;
    snprintf(f->spec, sizeof f->spec, "jlink:%s", u->serial);
    f->kind = "jlink";
    snprintf(f->product, sizeof f->product, "%s", u->product);
    snprintf(f->manufacturer, sizeof f->manufacturer, "%s", u->manufacturer);
    snprintf(f->serial, sizeof f->serial, "%s", u->serial);
    lode_transport_s *t = NULL;
    lode_jlink_io_s io;
    lode_jlink_s *jl = NULL;
    /* quiet: a busy or unreadable J-Link is still listed */
    if (lode_usb_open(u, NULL, &t) != LODE_OK) {
        snprintf(f->text, sizeof f->text, "%s %04x:%04x serial %s (in use or no permission)", u->product, u->vid,
                 u->pid, u->serial);
        return;
    }
    if (lode_jlink_io_usb(t, &io) == LODE_OK && lode_jlink_open(&io, NULL, &jl) == LODE_OK) {
        lode_jlink_info_s ji;
        lode_jlink_get_info(jl, &ji);
        snprintf(f->text, sizeof f->text, "%.60s %04x:%04x serial %.20s, hardware %.20s, firmware \"%.120s\"", u->product,
                 u->vid, u->pid, u->serial, ji.hw_string[0] ? ji.hw_string : "unknown", ji.firmware);
        lode_jlink_close(jl);
    } else {
        snprintf(f->text, sizeof f->text, "%s %04x:%04x serial %s (no answer)", u->product, u->vid, u->pid,
                 u->serial);
    }
    lode_transport_close(t);
}

static int usb_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d;
    lode_usb_probe_s *probes = NULL;
    size_t n = 0;
    int rc = lode_usb_list_jlink(NULL, log, &probes, &n);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        list_one(&probes[i], log, &f);
        fn(user, &f);
    }
    free(probes);
    return rc;
}

static int choose(const lode_usb_probe_s *probes, size_t n, const char *serial, const lode_log_s *log, size_t *idx)
{
    if (n == 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no J-Link found%s%s: plug one in (and check permissions: lode's udev rules), or use --probe "
                 "sim for the simulated board", *serial ? " with serial " : "", serial);
        return LODE_E_NO_DEVICE;
    }
    if (n > 1) {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", probes[i].serial);
            if (w < 0 || used + (size_t)w >= sizeof list)
                break;
            used += (size_t)w;
        }
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%zu J-Links are attached (serial %s): choose one with --probe jlink:SERIAL", n, list);
        return LODE_E_NO_DEVICE;
    }
    *idx = 0;
    return LODE_OK;
}

static int usb_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    lode_jlink_spec_s spec;
    if (lode_jlink_parse_spec(args, &spec) != LODE_OK) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe 'jlink:%s': use --probe %s (SERIAL in decimal, targetsel in hex)", args, d->syntax);
        return LODE_E_INVALID_ARG;
    }
    lode_usb_filter_s f = {.serial = spec.serial[0] ? spec.serial : NULL};
    lode_usb_probe_s *probes = NULL;
    size_t n = 0, idx = 0;
    int rc = lode_usb_list_jlink(&f, o->log, &probes, &n);
    if (rc == LODE_OK)
        rc = choose(probes, n, spec.serial, o->log, &idx);
    lode_transport_s *t = NULL;
    lode_jlink_io_s io;
    if (rc == LODE_OK)
        rc = lode_usb_open(&probes[idx], o->log, &t);
    if (rc == LODE_OK)
        rc = lode_jlink_io_usb_owned(t, &io); /* closes t on failure */
    if (rc != LODE_OK) {
        free(probes);
        return rc;
    }
    if (!spec.serial[0])
        snprintf(spec.serial, sizeof spec.serial, "%s", probes[idx].serial);
    char desc[320];
    snprintf(desc, sizeof desc, "%s %04x:%04x serial %s", probes[idx].product, probes[idx].vid, probes[idx].pid,
             probes[idx].serial);
    free(probes);
    lode_probe_extra_s x = {.description = desc};
    return lode_probe_jlink_new(&io, true, &spec, &x, o->log, out);
}

const lode_probe_driver_s lodei_probe_row_jlink = {
    .name = "jlink",
    .syntax = "jlink[:SERIAL][:power][:targetsel=HEX][:vcd=PATH]",
    .help = "a SEGGER J-Link (USB), SWD bit streams from lode's own SWD engine",
    .list = usb_list,
    .open = usb_open,
};
