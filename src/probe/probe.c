/* SPDX-License-Identifier: MIT */
/* The probe object: a driver's faces (ops + ctx) and what its opener added (extra). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/error.h"
#include "lode/probe.h"
#include "probe/probe_i.h"

struct lode_probe_s {
    const lode_probe_ops_s *ops;
    void *ctx;
    const char *driver;
    lode_probe_extra_s extra;
    char description[320];
};

int lode_probe_new(const lode_probe_ops_s *ops, void *ctx, const char *driver,
                   const lode_probe_extra_s *extra, lode_probe_s **out)
{
    lode_probe_s *p = ops && out ? calloc(1, sizeof *p) : NULL;
    if (!p) {
        if (ops && ops->close)
            ops->close(ctx);
        if (extra && extra->on_close)
            extra->on_close(extra->close_user);
        return ops && out ? LODE_E_NOMEM : LODE_E_INVALID_ARG;
    }
    p->ops = ops;
    p->ctx = ctx;
    p->driver = driver ? driver : "";
    if (extra) {
        p->extra = *extra;
        if (extra->description)
            snprintf(p->description, sizeof p->description, "%s", extra->description);
    }
    p->extra.description = NULL;
    *out = p;
    return LODE_OK;
}

void lode_probe_close(lode_probe_s *p)
{
    if (!p)
        return;
    if (p->ops->close)
        p->ops->close(p->ctx);
    if (p->extra.on_close)
        p->extra.on_close(p->extra.close_user);
    free(p);
}

void *lodei_probe_ctx_if(const lode_probe_s *p, const lode_probe_ops_s *ops)
{
    return p && p->ops == ops ? p->ctx : NULL;
}

const char *lode_probe_driver(const lode_probe_s *p) { return p ? p->driver : ""; }
bool lode_probe_has_dap(const lode_probe_s *p) { return p && p->ops->dap; }

int lode_probe_dap(lode_probe_s *p, uint32_t swd_hz, lode_dap_ops_s *ops)
{
    return p && p->ops->dap ? p->ops->dap(p->ctx, swd_hz, ops) : LODE_E_UNSUPPORTED;
}

int lode_probe_regio(lode_probe_s *p, lode_cortexm_regio_s *rio)
{
    return p && p->ops->regio ? p->ops->regio(p->ctx, rio) : LODE_E_UNSUPPORTED;
}

const lode_core_ops_s *lode_probe_core(lode_probe_s *p)
{
    return p && p->ops->core ? p->ops->core(p->ctx) : NULL;
}

int lode_probe_loader(lode_probe_s *p, struct lode_loader_s **out)
{
    return p && p->ops->loader ? p->ops->loader(p->ctx, out) : LODE_E_UNSUPPORTED;
}

const char *lode_probe_chip(const lode_probe_s *p)
{
    return p && p->ops->chip ? p->ops->chip(p->ctx) : NULL;
}

void lode_probe_describe(const lode_probe_s *p, lode_probe_info_s *info)
{
    memset(info, 0, sizeof *info);
    if (!p)
        return;
    if (p->ops->describe)
        p->ops->describe(p->ctx, info);
    if (p->description[0])
        snprintf(info->description, sizeof info->description, "%s", p->description);
    if (!info->description[0])
        snprintf(info->description, sizeof info->description, "%s", p->driver);
}

bool lode_probe_has_console(const lode_probe_s *p) { return p && p->ops->console; }

int lode_probe_console(lode_probe_s *p, struct lode_stream_s **out)
{
    return p && p->ops->console ? p->ops->console(p->ctx, out) : LODE_E_UNSUPPORTED;
}

int lode_probe_swo_start(lode_probe_s *p, uint32_t baud, uint32_t *actual)
{
    return p && p->ops->swo_start ? p->ops->swo_start(p->ctx, baud, actual) : LODE_E_UNSUPPORTED;
}

int lode_probe_swo_read(lode_probe_s *p, uint8_t *buf, size_t cap, size_t *got)
{
    return p && p->ops->swo_read ? p->ops->swo_read(p->ctx, buf, cap, got) : LODE_E_UNSUPPORTED;
}

int lode_probe_swo_stop(lode_probe_s *p)
{
    return p && p->ops->swo_stop ? p->ops->swo_stop(p->ctx) : LODE_E_UNSUPPORTED;
}

int lode_probe_reset_pin(lode_probe_s *p, bool asserted)
{
    return p && p->ops->reset_pin ? p->ops->reset_pin(p->ctx, asserted) : LODE_E_UNSUPPORTED;
}

int lode_probe_set_fileio(lode_probe_s *p, lode_probe_fileio_fn fn, void *user)
{
    if (!p || !p->ops->set_fileio)
        return LODE_E_UNSUPPORTED;
    p->ops->set_fileio(p->ctx, fn, user);
    return LODE_OK;
}

uint32_t lode_probe_poll_us(const lode_probe_s *p) { return p ? p->ops->poll_us : 0; }

bool lode_probe_has_clock(const lode_probe_s *p)
{
    return p && ((p->extra.now_us && p->extra.delay_us) || (p->ops->now_us && p->ops->delay_us));
}

uint64_t lode_probe_now_us(lode_probe_s *p)
{
    if (p && p->extra.now_us && p->extra.delay_us)
        return p->extra.now_us(p->extra.time_user);
    if (p && p->ops->now_us && p->ops->delay_us)
        return p->ops->now_us(p->ctx);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

void lode_probe_delay_us(lode_probe_s *p, uint32_t us)
{
    if (p && p->extra.now_us && p->extra.delay_us) {
        p->extra.delay_us(p->extra.time_user, us);
    } else if (p && p->ops->now_us && p->ops->delay_us) {
        p->ops->delay_us(p->ctx, us);
    } else {
        struct timespec t = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
        nanosleep(&t, NULL);
    }
}
