/* SPDX-License-Identifier: MIT */
/* The probe registry: one row per driver (built-in rows from a const table, others added at run
 * time), spec parsing ("NAME[:ARGS]"), listing, and choosing one USB probe of several. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/probe.h"
#include "lode/usb.h"
#include "probe/probe_i.h"

/* Adding a driver: its folder defines a row; list it here. */
static const lode_probe_driver_s *const builtin_rows[] = {
    &lodei_probe_row_cmsis_dap, &lodei_probe_row_stlink, &lodei_probe_row_stlink_tcp,
    &lodei_probe_row_gdb,       &lodei_probe_row_bmp,       &lodei_probe_row_dfu,
    &lodei_probe_row_arduino,
    &lodei_probe_row_stm32_uart,
    &lodei_probe_row_jlink,
    &lodei_probe_row_teensy,
    &lodei_probe_row_wiring,
    &lodei_probe_row_avr109,
    &lodei_probe_row_uf2,
    &lodei_probe_row_samba,
};
#define NBUILTIN (sizeof builtin_rows / sizeof builtin_rows[0])
#define MAX_ADDED 16

struct lode_probe_registry_s {
    lode_probe_driver_s added[MAX_ADDED];
    size_t nadded;
};

int lode_probe_registry_new(lode_probe_registry_s **out)
{
    if (!out)
        return LODE_E_INVALID_ARG;
    lode_probe_registry_s *r = calloc(1, sizeof *r);
    if (!r)
        return LODE_E_NOMEM;
    *out = r;
    return LODE_OK;
}

void lode_probe_registry_free(lode_probe_registry_s *reg) { free(reg); }

size_t lode_probe_registry_count(const lode_probe_registry_s *reg)
{
    return reg ? NBUILTIN + reg->nadded : 0;
}

const lode_probe_driver_s *lode_probe_registry_at(const lode_probe_registry_s *reg, size_t i)
{
    if (!reg)
        return NULL;
    if (i < NBUILTIN)
        return builtin_rows[i];
    i -= NBUILTIN;
    return i < reg->nadded ? &reg->added[i] : NULL;
}

static const lode_probe_driver_s *find_row(const lode_probe_registry_s *reg, const char *name, size_t len)
{
    for (size_t i = 0; i < lode_probe_registry_count(reg); i++) {
        const lode_probe_driver_s *d = lode_probe_registry_at(reg, i);
        if (strlen(d->name) == len && !strncasecmp(d->name, name, len))
            return d;
    }
    return NULL;
}

int lode_probe_registry_add(lode_probe_registry_s *reg, const lode_probe_driver_s *d)
{
    if (!reg || !d || !d->name || !d->open || reg->nadded == MAX_ADDED ||
        find_row(reg, d->name, strlen(d->name)))
        return LODE_E_INVALID_ARG;
    reg->added[reg->nadded++] = *d;
    return LODE_OK;
}

static void syntaxes(const lode_probe_registry_s *reg, char *buf, size_t len)
{
    size_t used = 0, n = lode_probe_registry_count(reg);
    buf[0] = 0;
    /* rows added at run time (the simulator) first: they are the usual choice */
    for (size_t k = 0; k < n; k++) {
        const lode_probe_driver_s *d = lode_probe_registry_at(reg, (k + NBUILTIN) % n);
        int w = snprintf(buf + used, len - used, "%s%s", k == 0 ? "" : k + 1 == n ? " or " : ", ",
                         d->syntax ? d->syntax : d->name);
        if (w < 0 || used + (size_t)w >= len)
            break;
        used += (size_t)w;
    }
}

/* Spec errors (unknown name, missing ARGS) are LODE_E_INVALID_ARG. */
int lode_probe_parse(const lode_probe_registry_s *reg, const char *spec, const lode_log_s *log,
                     const lode_probe_driver_s **driver, const char **args)
{
    if (!reg || !spec || !driver || !args)
        return LODE_E_INVALID_ARG;
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    const lode_probe_driver_s *d = find_row(reg, spec, nlen);
    char list[1024];
    if (!d) {
        syntaxes(reg, list, sizeof list);
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "unknown probe '%s': use --probe %s", spec, list);
        return LODE_E_INVALID_ARG;
    }
    if (d->needs_args && (!colon || !colon[1])) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "bad probe '%s': use --probe %s", spec,
                 d->syntax ? d->syntax : d->name);
        return LODE_E_INVALID_ARG;
    }
    *driver = d;
    *args = colon ? colon + 1 : "";
    return LODE_OK;
}

int lode_probe_open(const lode_probe_registry_s *reg, const char *spec, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    static const lode_probe_open_opts_s none;
    const lode_probe_open_opts_s *opts = o ? o : &none;
    const lode_probe_driver_s *d = NULL;
    const char *args = NULL;
    int rc = lode_probe_parse(reg, spec, opts->log, &d, &args);
    if (rc != LODE_OK)
        return rc;
    return d->open(d, args, opts, out);
}

int lode_probe_list(const lode_probe_registry_s *reg, const lode_log_s *log, lode_probe_found_fn fn,
                    void *user)
{
    size_t n = lode_probe_registry_count(reg);
    for (size_t k = 0; k < n; k++) {
        const lode_probe_driver_s *d = lode_probe_registry_at(reg, (k + NBUILTIN) % n);
        if (d->list)
            d->list(d, log, fn, user); /* a driver that cannot look lists nothing */
    }
    return LODE_OK;
}

int lode_probe_choose(const lode_usb_probe_s *probes, size_t n, const char *what, const char *prefix,
                      const char *spec, const lode_log_s *log, size_t *index)
{
    if (n == 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no %s found%s%s: plug one in (and check permissions), or use --probe sim for the "
                 "simulated board", what, spec && *spec ? " matching " : "", spec ? spec : "");
        return LODE_E_NO_DEVICE;
    }
    if (n > 1) {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%04x:%04x:%s", i ? ", " : "",
                             probes[i].vid, probes[i].pid, probes[i].serial);
            if (w < 0 || used + (size_t)w >= sizeof list)
                break;
            used += (size_t)w;
        }
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%zu %ss match (%s): choose one with --probe %s:VID:PID:SERIAL", n, what, list, prefix);
        return LODE_E_NO_DEVICE;
    }
    *index = 0;
    return LODE_OK;
}

bool lodei_probe_host_port(const char *args, char *host, size_t hostlen, uint16_t *port, const char **rest)
{
    const char *c1 = strchr(args, ':');
    if (!c1 || c1 == args || (size_t)(c1 - args) >= hostlen)
        return false;
    const char *c2 = strchr(c1 + 1, ':');
    char *end = NULL;
    unsigned long v = strtoul(c1 + 1, &end, 10);
    if (end == c1 + 1 || (c2 ? end != c2 : *end != 0) || v < 1 || v > 65535)
        return false;
    memcpy(host, args, (size_t)(c1 - args));
    host[c1 - args] = 0;
    *port = (uint16_t)v;
    if (rest)
        *rest = c2 ? c2 + 1 : NULL;
    return true;
}
