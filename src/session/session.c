/* SPDX-License-Identifier: MIT */
/* The connection: probe -> (dap -> ADI -> Cortex-M | the probe's core) -> chip (named, or
 * identified through the vendor hooks) -> SWO. No probe names here: a probe's faces decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/session.h"
#include "target/vendor/vendor.h"

struct lode_session_s {
    lode_session_config_s cfg;
    lode_probe_s *probe;
    bool own_probe;
    lode_dap_ops_s dap_ops;
    lode_adi_s *adi;
    lode_cortexm_s *cm;
    const lode_core_ops_s *probe_core; /* a probe with a core face */
    unsigned ap;
    lode_target_db_s *db;
    const lode_target_chip_s *chip;
    const char *chip_how;
};

/* ---- chip identification: the vendor hooks over the ADI ------------------------------------- */

static int vm_read32(void *ctx, uint32_t a, uint32_t *v)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_read32(s->adi, s->ap, a, v);
}

static int vm_read16(void *ctx, uint32_t a, uint16_t *v)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_read16(s->adi, s->ap, a, v);
}

static int identify(lode_session_s *s, const lode_log_s *log)
{
    const lode_target_chip_s *det = NULL;
    char why[240];
    lodei_vendor_mem_s mem = {.read32 = vm_read32, .read16 = vm_read16, .ctx = s};
    int drc = lodei_vendor_detect(&mem, 0, s->db, &det, why, sizeof why);
    if (!s->chip) {
        if (drc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "cannot identify the chip: %s: name it with --chip",
                     why);
            return LODE_E_NO_DEVICE;
        }
        s->chip = det;
        s->chip_how = "detected";
    } else if (drc == LODE_OK && det && strcmp(det->name, s->chip->name) != 0 &&
               strncmp(det->name, s->chip->name, strlen(s->chip->name)) != 0) {
        lode_log(log, LODE_LOG_WARN, LODE_LOGC_GENERAL, "--chip %s given, but the target identifies as %s",
                 s->chip->name, det->name);
    }
    return LODE_OK;
}

/* dap face: ADIv5 -> Cortex-M (with the probe's register commands when it has them) */
static int open_dap_path(lode_session_s *s, const lode_log_s *log)
{
    int rc;
    if ((rc = lode_probe_dap(s->probe, s->cfg.swd_hz ? s->cfg.swd_hz : 4000000u, &s->dap_ops)) != LODE_OK)
        return rc;
    if ((rc = lode_adi_new(&s->dap_ops, log, &s->adi)) != LODE_OK)
        return rc;
    if ((rc = lode_adi_connect(s->adi)) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "the target does not answer on SWD: check the wiring and the target's power, "
                 "and that its firmware does not use the SWD pins as GPIO");
        return rc;
    }
    s->ap = 0;
    if (s->cfg.chip && s->chip && s->chip->variant->ncores)
        s->ap = (unsigned)s->chip->variant->cores[0].ap;
    if ((rc = lode_cortexm_new(s->adi, s->ap, log, &s->cm)) != LODE_OK)
        return rc;
    lode_cortexm_regio_s rio;
    if (s->ap == 0 && lode_probe_regio(s->probe, &rio) == LODE_OK) /* register commands work on AP 0 */
        lode_cortexm_set_regio(s->cm, &rio);
    return s->cfg.attach_only ? LODE_OK : identify(s, log);
}

int lode_session_open(const lode_session_config_s *cfg, lode_session_s **out)
{
    if (!cfg || !out || (!cfg->probe && (!cfg->registry || !cfg->spec))) {
        if (cfg && cfg->close_probe)
            lode_probe_close(cfg->probe);
        return LODE_E_INVALID_ARG;
    }
    lode_session_s *s = calloc(1, sizeof *s);
    if (!s) {
        if (cfg->close_probe)
            lode_probe_close(cfg->probe);
        return LODE_E_NOMEM;
    }
    s->probe = cfg->probe;
    s->own_probe = cfg->probe && cfg->close_probe;
    s->cfg = *cfg;
    const lode_log_s *log = &s->cfg.log;
    int rc;
    if ((rc = lode_target_db_new(log, &s->db)) != LODE_OK)
        goto fail;
    if (cfg->chip_description && (rc = lode_target_db_load_file(s->db, cfg->chip_description)) != LODE_OK)
        goto fail;
    /* a named chip is checked before touching the probe: a typo is the user's, not the target's */
    if (cfg->chip && !cfg->attach_only) {
        if ((rc = lode_target_find_chip(s->db, cfg->chip, &s->chip)) != LODE_OK) {
            if (rc == LODE_E_NO_DEVICE)
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                         "unknown chip '%s': `lode chips` lists the known ones; "
                         "--chip-description FILE adds a probe-rs target file", cfg->chip);
            goto fail;
        }
        s->chip_how = "given";
    }
    if (!cfg->probe) {
        lode_probe_open_opts_s po = {.chip = cfg->chip, .swd_hz = cfg->swd_hz, .log = log};
        if ((rc = lode_probe_open(cfg->registry, cfg->spec, &po, &s->probe)) != LODE_OK)
            goto fail;
        s->own_probe = true;
    }
    if (lode_probe_has_dap(s->probe)) {
        if ((rc = open_dap_path(s, log)) != LODE_OK)
            goto fail;
    } else if ((s->probe_core = lode_probe_core(s->probe)) != NULL) {
        /* a whole core (a GDB server): the chip only from --chip */
        if (!s->chip && !cfg->attach_only) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                     "--probe %s needs --chip for flash, verify, erase, run, debug and info (it cannot "
                     "identify the chip)", lode_probe_driver(s->probe));
            rc = LODE_E_INVALID_ARG;
            goto fail;
        }
    } else {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "--probe %s gives no access to a core",
                 lode_probe_driver(s->probe));
        rc = LODE_E_UNSUPPORTED;
        goto fail;
    }
    *out = s;
    return LODE_OK;
fail:
    lode_session_close(s);
    return rc;
}

void lode_session_close(lode_session_s *s)
{
    if (!s)
        return;
    lode_cortexm_free(s->cm);
    lode_adi_free(s->adi);
    if (s->own_probe)
        lode_probe_close(s->probe);
    lode_target_db_free(s->db);
    free(s);
}

/* ---- SWO ------------------------------------------------------------------------------------- */
#define TPIU_SPPR 0xE00400F0u
#define TPIU_FFCR 0xE0040304u
#define SWO_MAX_BAUD 2000000u

int lode_session_swo_start(lode_session_s *s, uint32_t baud, uint32_t *actual)
{
    if (!s)
        return LODE_E_INVALID_ARG;
    if (!s->adi || !s->probe) /* the TPIU is set through the debug port */
        return LODE_E_UNSUPPORTED;
    if (!baud)
        baud = SWO_MAX_BAUD;
    int rc = lode_adi_mem_write32(s->adi, s->ap, TPIU_SPPR, 2u); /* asynchronous NRZ (UART) */
    if (!rc)
        rc = lode_adi_mem_write32(s->adi, s->ap, TPIU_FFCR, 0x100u); /* TrigIn, no formatter */
    if (rc)
        return rc;
    return lode_probe_swo_start(s->probe, baud, actual);
}

int lode_session_swo_read(lode_session_s *s, uint8_t *buf, size_t cap, size_t *got)
{
    return s ? lode_probe_swo_read(s->probe, buf, cap, got) : LODE_E_INVALID_ARG;
}

int lode_session_swo_stop(lode_session_s *s)
{
    return s ? lode_probe_swo_stop(s->probe) : LODE_E_INVALID_ARG;
}

lode_probe_s *lode_session_probe(lode_session_s *s) { return s ? s->probe : NULL; }
lode_adi_s *lode_session_adi(lode_session_s *s) { return s ? s->adi : NULL; }
lode_cortexm_s *lode_session_cortexm(lode_session_s *s) { return s ? s->cm : NULL; }
lode_target_db_s *lode_session_db(lode_session_s *s) { return s ? s->db : NULL; }

const lode_target_chip_s *lode_session_chip(const lode_session_s *s, const char **how)
{
    if (how)
        *how = s->chip_how;
    return s->chip;
}

/* ---- the core as lode_core_ops_s ------------------------------------------------------------ */

static int co_halt(void *ctx) { return lode_cortexm_halt(((lode_session_s *)ctx)->cm); }
static int co_resume(void *ctx) { return lode_cortexm_resume(((lode_session_s *)ctx)->cm); }
static int co_resume_regs(void *ctx, const unsigned *r, const uint32_t *v, size_t n)
{
    return lode_cortexm_resume_regs(((lode_session_s *)ctx)->cm, r, v, n);
}
static int co_step(void *ctx) { return lode_cortexm_step(((lode_session_s *)ctx)->cm, true); }

static int co_state(void *ctx, lode_core_state_s *st)
{
    lode_cortexm_status_s cs;
    int rc = lode_cortexm_status(((lode_session_s *)ctx)->cm, &cs);
    if (rc != LODE_OK)
        return rc;
    st->halted = cs.halted;
    st->lockup = cs.lockup;
    st->sleeping = cs.sleeping;
    st->dfsr = cs.dfsr;
    return LODE_OK;
}

static int co_reg_read(void *ctx, unsigned r, uint32_t *v)
{
    return lode_cortexm_reg_read(((lode_session_s *)ctx)->cm, r, v);
}
static int co_reg_write(void *ctx, unsigned r, uint32_t v)
{
    return lode_cortexm_reg_write(((lode_session_s *)ctx)->cm, r, v);
}
static int co_regs_read(void *ctx, const unsigned *r, uint32_t *v, size_t n)
{
    return lode_cortexm_regs_read(((lode_session_s *)ctx)->cm, r, v, n);
}
static int co_regs_write(void *ctx, const unsigned *r, const uint32_t *v, size_t n)
{
    return lode_cortexm_regs_write(((lode_session_s *)ctx)->cm, r, v, n);
}
static int co_mem_read(void *ctx, uint32_t a, void *b, size_t n)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_read(s->adi, s->ap, a, b, n);
}
static int co_mem_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_write(s->adi, s->ap, a, b, n);
}
static int co_mem_submit(void *ctx, const lode_mem_op_s *ops, size_t n)
{
    lode_session_s *s = ctx;
    if (!ops || !n)
        return LODE_E_INVALID_ARG;
    uint64_t words = 0;
    for (size_t i = 0; i < n; i++) { /* all checked before anything is queued */
        if ((ops[i].addr & 3u) || (ops[i].n && !ops[i].words))
            return LODE_E_INVALID_ARG;
        words += ops[i].n;
    }
    if (!words)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < ops[i].n; k++) {
            uint32_t a = ops[i].addr + 4u * k;
            if (ops[i].write)
                lode_adi_queue_write32(s->adi, s->ap, a, ops[i].words[k]);
            else
                lode_adi_queue_read32(s->adi, s->ap, a, &ops[i].words[k]);
        }
    }
    return lode_adi_submit(s->adi);
}
static int co_mem_collect(void *ctx)
{
    lode_session_s *s = ctx;
    return lode_adi_collect(s->adi);
}
static unsigned co_mem_depth(void *ctx)
{
    lode_session_s *s = ctx;
    return lode_adi_can_submit(s->adi);
}
static int co_reset(void *ctx, bool halt)
{
    lode_session_s *s = ctx;
    return halt ? lode_cortexm_reset_halt(s->cm) : lode_cortexm_reset(s->cm);
}
static uint64_t co_now_us(void *ctx)
{
    lode_session_s *s = ctx;
    if (s->cfg.now_us && s->cfg.delay_us)
        return s->cfg.now_us(s->cfg.time_user);
    return lode_probe_now_us(s->probe);
}
static void co_delay_us(void *ctx, uint32_t us)
{
    lode_session_s *s = ctx;
    if (s->cfg.now_us && s->cfg.delay_us)
        s->cfg.delay_us(s->cfg.time_user, us);
    else
        lode_probe_delay_us(s->probe, us);
}

static int co_bp_set(void *ctx, uint32_t a) { return lode_cortexm_bp_set(((lode_session_s *)ctx)->cm, a); }
static int co_bp_clear(void *ctx, uint32_t a) { return lode_cortexm_bp_clear(((lode_session_s *)ctx)->cm, a); }
static int co_wp_set(void *ctx, uint32_t a, uint32_t len, int kind)
{
    lode_cortexm_watch_e k = kind == 1 ? LODE_CM_WATCH_READ : kind == 2 ? LODE_CM_WATCH_WRITE : LODE_CM_WATCH_ACCESS;
    return lode_cortexm_wp_set(((lode_session_s *)ctx)->cm, a, len, k);
}
static int co_wp_clear(void *ctx, uint32_t a) { return lode_cortexm_wp_clear(((lode_session_s *)ctx)->cm, a); }
static int co_vector_catch(void *ctx, uint32_t set, uint32_t clear)
{
    return lode_cortexm_vector_catch(((lode_session_s *)ctx)->cm, set, clear);
}

void lode_session_core_ops(lode_session_s *s, lode_core_ops_s *ops)
{
    if (s->probe_core) {
        *ops = *s->probe_core;
        return;
    }
    ops->bp_set = co_bp_set;
    ops->bp_clear = co_bp_clear;
    ops->wp_set = co_wp_set;
    ops->wp_clear = co_wp_clear;
    ops->vector_catch = co_vector_catch;
    ops->halt = co_halt;
    ops->resume = co_resume;
    ops->resume_regs = co_resume_regs;
    ops->step = co_step;
    ops->state = co_state;
    ops->reg_read = co_reg_read;
    ops->reg_write = co_reg_write;
    ops->regs_read = co_regs_read;
    ops->regs_write = co_regs_write;
    ops->mem_read = co_mem_read;
    ops->mem_write = co_mem_write;
    ops->reset = co_reset;
    bool pipe = lode_adi_can_submit(s->adi) > 0;
    ops->mem_submit = pipe ? co_mem_submit : NULL;
    ops->mem_collect = pipe ? co_mem_collect : NULL;
    ops->mem_depth = pipe ? co_mem_depth : NULL;
    ops->now_us = co_now_us;
    ops->delay_us = co_delay_us;
    ops->ctx = s;
}

