/* SPDX-License-Identifier: MIT */
/* A debug session over a CMSIS-DAP probe: connect, power up the debug port, find the core,
 * identify the chip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/error.h"
#include "lode/session.h"

#define STM32_DBGMCU_IDCODE 0xE0042000u
#define NRF_FICR_INFO_PART 0x10000100u
#define NRF_FICR_INFO_VARIANT 0x10000104u

struct lode_session_s {
    lode_session_config_s cfg;
    lode_cmsis_dap_s *dap;
    lode_stlink_s *st;
    lode_dap_ops_s dap_ops;
    lode_adi_s *adi;
    lode_cortexm_s *cm;
    unsigned ap;
    lode_target_db_s *db;
    const lode_target_chip_s *chip;
    const char *chip_how;
};

static uint64_t mono_us(void *user)
{
    (void)user;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void sleep_us(void *user, uint32_t us)
{
    (void)user;
    struct timespec t = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
    nanosleep(&t, NULL);
}

/* ---- chip identification -------------------------------------------------------------------- */

static int detect_chip(lode_session_s *s, const lode_target_chip_s **out, char *why, size_t len)
{
    uint32_t idcode = 0, part = 0, variant = 0;
    const lode_target_id_s *id = NULL;
    /* STM32: DBGMCU_IDCODE (readable while the core runs) */
    if (lode_adi_mem_read32(s->adi, s->ap, STM32_DBGMCU_IDCODE, &idcode) == LODE_OK && idcode &&
        lode_target_detect_stm32(idcode, &id) == LODE_OK) {
        uint16_t kib = 0;
        if (id->flash_size_addr)
            lode_adi_mem_read16(s->adi, s->ap, id->flash_size_addr, &kib);
        if (lode_target_find_detected(s->db, id, kib, out) == LODE_OK)
            return LODE_OK;
        snprintf(why, len, "DBGMCU_IDCODE 0x%08x (%s, %u KiB flash) matches no chip in the database",
                 idcode, id->description, kib);
        return LODE_E_NO_DEVICE;
    }
    /* nRF52: FICR */
    if (lode_adi_mem_read32(s->adi, s->ap, NRF_FICR_INFO_PART, &part) == LODE_OK &&
        lode_adi_mem_read32(s->adi, s->ap, NRF_FICR_INFO_VARIANT, &variant) == LODE_OK &&
        lode_target_detect_nrf52(part, variant, &id) == LODE_OK) {
        if (lode_target_find_detected(s->db, id, 0, out) == LODE_OK)
            return LODE_OK;
        snprintf(why, len, "FICR INFO.PART 0x%x matches no chip in the database", part);
        return LODE_E_NO_DEVICE;
    }
    snprintf(why, len, "neither an STM32 DBGMCU_IDCODE (read 0x%08x) nor an nRF52 FICR (INFO.PART "
                       "0x%08x) identifies it", idcode, part);
    return LODE_E_NO_DEVICE;
}

static int st_reg_read(void *ctx, unsigned sel, uint32_t *raw) { return lode_stlink_read_reg(ctx, sel, raw); }
static int st_reg_write(void *ctx, unsigned sel, uint32_t raw) { return lode_stlink_write_reg(ctx, sel, raw); }

int lode_session_open(const lode_session_config_s *cfg, lode_session_s **out)
{
    if (!cfg || (!cfg->transport && !cfg->stlink) || !out) {
        if (cfg && !cfg->transport && cfg->stlink && cfg->stlink->close)
            cfg->stlink->close(cfg->stlink->ctx);
        return LODE_E_INVALID_ARG;
    }
    lode_session_s *s = calloc(1, sizeof *s);
    if (!s) {
        if (!cfg->transport && cfg->stlink->close)
            cfg->stlink->close(cfg->stlink->ctx);
        return LODE_E_NOMEM;
    }
    bool use_stlink = !cfg->transport;
    lode_stlink_io_s stio;
    if (use_stlink)
        stio = *cfg->stlink;
    s->cfg = *cfg;
    if (!s->cfg.now_us || !s->cfg.delay_us) {
        s->cfg.now_us = mono_us;
        s->cfg.delay_us = sleep_us;
        s->cfg.time_user = NULL;
    }
    const lode_log_s *log = &s->cfg.log;
    int rc;
    if (use_stlink) { /* the driver owns the I/O from here, whatever happens next */
        if ((rc = lode_stlink_open(&stio, log, &s->st)) != LODE_OK)
            goto fail;
    }
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
    if (use_stlink) {
        if ((rc = lode_stlink_connect_swd(s->st, cfg->swd_hz ? cfg->swd_hz : 4000000u, NULL)) != LODE_OK)
            goto fail;
        if ((rc = lode_stlink_dap_ops(s->st, &s->dap_ops)) != LODE_OK)
            goto fail;
    } else {
        if ((rc = lode_cmsis_dap_open(cfg->transport, log, &s->dap)) != LODE_OK)
            goto fail;
        if ((rc = lode_cmsis_dap_connect_swd(s->dap, cfg->swd_hz ? cfg->swd_hz : 4000000u)) != LODE_OK)
            goto fail;
        if ((rc = lode_cmsis_dap_dap_ops(s->dap, &s->dap_ops)) != LODE_OK)
            goto fail;
    }
    if ((rc = lode_adi_new(&s->dap_ops, log, &s->adi)) != LODE_OK)
        goto fail;
    if ((rc = lode_adi_connect(s->adi)) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "the target does not answer on SWD: check the wiring and the target's power, "
                 "and that its firmware does not use the SWD pins as GPIO");
        goto fail;
    }
    s->ap = 0;
    if (cfg->chip && s->chip && s->chip->variant->ncores)
        s->ap = (unsigned)s->chip->variant->cores[0].ap;
    if ((rc = lode_cortexm_new(s->adi, s->ap, log, &s->cm)) != LODE_OK)
        goto fail;
    if (s->st && s->ap == 0) { /* the ST-Link's register commands work on AP 0 */
        lode_cortexm_regio_s rio = {.read = st_reg_read, .write = st_reg_write, .ctx = s->st};
        lode_cortexm_set_regio(s->cm, &rio);
    }
    if (!cfg->attach_only) {
        const lode_target_chip_s *det = NULL;
        char why[200];
        int drc = detect_chip(s, &det, why, sizeof why);
        if (!s->chip) {
            if (drc != LODE_OK) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                         "cannot identify the chip: %s: name it with --chip", why);
                rc = LODE_E_NO_DEVICE;
                goto fail;
            }
            s->chip = det;
            s->chip_how = "detected";
        } else if (drc == LODE_OK && det && strcmp(det->name, s->chip->name) != 0 &&
                   strncmp(det->name, s->chip->name, strlen(s->chip->name)) != 0) {
            lode_log(log, LODE_LOG_WARN, LODE_LOGC_GENERAL,
                     "--chip %s given, but the target identifies as %s", s->chip->name, det->name);
        }
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
    lode_cmsis_dap_close(s->dap);
    lode_stlink_close(s->st);
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
    if (!baud)
        baud = SWO_MAX_BAUD;
    int rc = lode_adi_mem_write32(s->adi, s->ap, TPIU_SPPR, 2u); /* asynchronous NRZ (UART) */
    if (!rc)
        rc = lode_adi_mem_write32(s->adi, s->ap, TPIU_FFCR, 0x100u); /* TrigIn, no formatter */
    if (rc)
        return rc;
    if (s->st) {
        rc = lode_stlink_trace_start(s->st, baud);
        if (!rc && actual)
            *actual = baud;
        return rc;
    }
    return lode_cmsis_dap_swo_start(s->dap, baud, actual);
}

int lode_session_swo_read(lode_session_s *s, uint8_t *buf, size_t cap, size_t *got)
{
    if (!s)
        return LODE_E_INVALID_ARG;
    return s->st ? lode_stlink_trace_read(s->st, buf, cap, got) : lode_cmsis_dap_swo_read(s->dap, buf, cap, got);
}

int lode_session_swo_stop(lode_session_s *s)
{
    if (!s)
        return LODE_E_INVALID_ARG;
    return s->st ? lode_stlink_trace_stop(s->st) : lode_cmsis_dap_swo_stop(s->dap);
}

lode_cmsis_dap_s *lode_session_dap(lode_session_s *s) { return s->dap; }
lode_stlink_s *lode_session_stlink(lode_session_s *s) { return s->st; }
lode_adi_s *lode_session_adi(lode_session_s *s) { return s->adi; }
lode_cortexm_s *lode_session_cortexm(lode_session_s *s) { return s->cm; }
lode_target_db_s *lode_session_db(lode_session_s *s) { return s->db; }

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
    return s->cfg.now_us(s->cfg.time_user);
}
static void co_delay_us(void *ctx, uint32_t us)
{
    lode_session_s *s = ctx;
    s->cfg.delay_us(s->cfg.time_user, us);
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

/* ---- USB probe selection ---------------------------------------------------------------------- */

int lode_probe_choose(const lode_usb_probe_s *probes, size_t n, const char *spec,
                      const lode_log_s *log, size_t *index)
{
    if (n == 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no CMSIS-DAP probe found%s%s: plug one in (and check permissions), or use "
                 "--probe sim for the simulated board",
                 spec && *spec ? " matching " : "", spec ? spec : "");
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
                 "%zu CMSIS-DAP probes match (%s): choose one with --probe cmsis-dap:VID:PID:SERIAL",
                 n, list);
        return LODE_E_INVALID_ARG;
    }
    *index = 0;
    return LODE_OK;
}

int lode_probe_open_usb(const char *spec, const lode_log_s *log, lode_transport_s **out,
                        lode_usb_probe_s *which)
{
    lode_usb_filter_s f;
    if (lode_usb_parse_filter(spec, &f) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe selector '%s': use cmsis-dap:VID:PID[:SERIAL] with hex VID/PID", spec);
        return LODE_E_INVALID_ARG;
    }
    lode_usb_probe_s *probes = NULL;
    size_t n = 0, idx = 0;
    int rc = lode_usb_list_cmsis_dap(&f, log, &probes, &n);
    if (rc == LODE_OK)
        rc = lode_probe_choose(probes, n, spec, log, &idx);
    if (rc == LODE_OK) {
        rc = lode_usb_open(&probes[idx], log, out);
        if (rc == LODE_OK && which)
            *which = probes[idx];
    }
    free(probes);
    return rc;
}

/* ---- ST-Link over USB ----------------------------------------------------------------------- */

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

int lode_probe_open_stlink_usb(const char *spec, const lode_log_s *log, lode_stlink_io_s *io,
                               lode_usb_probe_s *which)
{
    lode_usb_filter_s f;
    if (!io || lode_usb_parse_filter(spec ? spec : "", &f) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe selector '%s': use stlink:VID:PID[:SERIAL] with hex VID/PID", spec);
        return LODE_E_INVALID_ARG;
    }
    lode_usb_probe_s *probes = NULL;
    size_t n = 0;
    int rc = lode_usb_list_stlink(&f, log, &probes, &n);
    if (rc == LODE_OK && n == 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "no ST-Link found%s%s: plug one in (and check the udev rules), or use --probe "
                 "sim-stlink for the simulated one", spec && *spec ? " matching " : "", spec ? spec : "");
        rc = LODE_E_NO_DEVICE;
    } else if (rc == LODE_OK && n > 1) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%zu ST-Links match: choose one with --probe stlink:VID:PID:SERIAL (the first is "
                 "%04x:%04x:%s)", n, probes[0].vid, probes[0].pid, probes[0].serial);
        rc = LODE_E_INVALID_ARG;
    }
    if (rc != LODE_OK) {
        free(probes);
        return rc;
    }
    owned_usb_io_s *o = calloc(1, sizeof *o);
    if (!o) {
        free(probes);
        return LODE_E_NOMEM;
    }
    rc = lode_usb_open_stlink(&probes[0], log, &o->cmd, &o->trace);
    if (rc == LODE_OK)
        rc = lode_stlink_io_usb(o->cmd, o->trace, &o->inner);
    if (rc != LODE_OK) {
        lode_transport_close(o->trace);
        lode_transport_close(o->cmd);
        free(o);
        free(probes);
        return rc;
    }
    if (which)
        *which = probes[0];
    free(probes);
    io->xfer = ou_xfer;
    io->trace_read = ou_trace;
    io->close = ou_close;
    io->ctx = o;
    return LODE_OK;
}
