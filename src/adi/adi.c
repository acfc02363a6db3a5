/* SPDX-License-Identifier: MIT */
/* ADIv5 DP/AP access: the transfer queue, SELECT/CSW/TAR caching, connect and sticky-error
 * recovery. Written from ARM IHI 0031 (ADIv5.2): B2.2 (DP registers: ABORT, CTRL/STAT,
 * SELECT, RDBUFF), B2.3 (power control), B4 (SW-DP: line reset, ACKs, sticky errors),
 * B5 (SWJ-DP select sequences) and C2 (MEM-AP CSW/TAR/DRW/BDn). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "adi/adii.h"
#include "lode/error.h"

#define POWERUP_POLLS 100u
#define ADI_QUEUE_INITIAL 64u

static void log_msg(const lode_adi_s *adi, lode_log_level_e lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void log_msg(const lode_adi_s *adi, lode_log_level_e lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lode_logv(adi->log, lvl, LODE_LOGC_ADI, fmt, ap);
    va_end(ap);
}

/* ---- life cycle ---------------------------------------------------------------------------- */
int lode_adi_new(const lode_dap_ops_s *ops, const lode_log_s *log, lode_adi_s **out)
{
    if (!ops || !out || !ops->transfer || !ops->swj_sequence || !ops->write_abort)
        return LODE_E_INVALID_ARG;
    lode_adi_s *adi = calloc(1, sizeof *adi);
    if (!adi)
        return LODE_E_NOMEM;
    adi->ops = ops;
    adi->log = log;
    *out = adi;
    return LODE_OK;
}

void lode_adi_free(lode_adi_s *adi)
{
    if (!adi)
        return;
    while (adi->npend)
        lode_adi_collect(adi);
    for (unsigned i = 0; i < ADI_MAX_PEND; i++) {
        free(adi->pend[i].q);
        free(adi->pend[i].xf);
    }
    free(adi->q);
    free(adi->xf);
    free(adi);
}

uint32_t lode_adi_dpidr(const lode_adi_s *adi)
{
    return adi ? adi->dpidr : 0;
}

void lode_adi_invalidate(lode_adi_s *adi)
{
    if (!adi)
        return;
    adi->sel_valid = false;
    for (unsigned i = 0; i < ADI_NUM_AP; i++) {
        adi->aps[i].csw_valid = false;
        adi->aps[i].tar_valid = false;
    }
}

void lode_adi_stats(const lode_adi_s *adi, lode_adi_stats_s *out)
{
    if (adi && out)
        *out = adi->stats;
}

bool lode_adi_fault_addr(const lode_adi_s *adi, uint32_t *addr)
{
    if (!adi || !adi->fault_addr_known)
        return false;
    if (addr)
        *addr = adi->fault_addr;
    return true;
}

/* ---- queue ------------------------------------------------------------------------------- */
void lodei_adi_record(lode_adi_s *adi, int err)
{
    if (adi && err != LODE_OK && adi->qerr == LODE_OK)
        adi->qerr = err;
}

static adi_entry_s *new_entry(lode_adi_s *adi)
{
    if (adi->qerr != LODE_OK)
        return NULL;
    if (adi->nq == adi->capq) {
        if (adi->capq >= LODE_ADI_QUEUE_MAX) {
            log_msg(adi, LODE_LOG_ERROR, "adi: transfer queue full (%u entries); run it sooner",
                    LODE_ADI_QUEUE_MAX);
            lodei_adi_record(adi, LODE_E_NOMEM);
            return NULL;
        }
        size_t ncap = adi->capq ? adi->capq * 2 : ADI_QUEUE_INITIAL;
        if (ncap > LODE_ADI_QUEUE_MAX)
            ncap = LODE_ADI_QUEUE_MAX;
        adi_entry_s *nq = realloc(adi->q, ncap * sizeof *nq);
        if (!nq) {
            lodei_adi_record(adi, LODE_E_NOMEM);
            return NULL;
        }
        adi->q = nq;
        adi->capq = ncap;
    }
    adi_entry_s *e = &adi->q[adi->nq++];
    memset(e, 0, sizeof *e);
    return e;
}

adi_entry_s *lodei_adi_push(lode_adi_s *adi, uint8_t req, uint32_t wdata, uint32_t *out)
{
    adi_entry_s *e = new_entry(adi);
    if (!e)
        return NULL;
    e->kind = ADI_ENT_XFER;
    e->req = req;
    e->wdata = wdata;
    e->out = out;
    if (req & LODE_DAP_APNDP)
        adi->last_ap_write = !(req & LODE_DAP_RNW);
    return e;
}

static void set_select(lode_adi_s *adi, uint32_t want, uint32_t mask)
{
    if (adi->sel_valid && (adi->sel & mask) == (want & mask))
        return;
    uint32_t v = adi->sel_valid ? ((adi->sel & ~mask) | (want & mask)) : want;
    if (!lodei_adi_push(adi, LODE_DAP_A(LODE_DP_SELECT), v, NULL))
        return;
    adi->sel = v;
    adi->sel_valid = true;
    adi->stats.select_writes++;
}

void lodei_adi_select_ap(lode_adi_s *adi, unsigned ap, unsigned reg)
{
    set_select(adi, ((uint32_t)ap << 24) | (reg & 0xF0u), 0xFF0000F0u);
}

static bool dp_reg_ok(unsigned reg)
{
    /* A[3:2] in bits 3:2; a bank number only on 0x4. */
    if (reg & 0x3u)
        return false;
    if ((reg & 0xCu) != 0x4u && (reg & ~0xCu))
        return false;
    return reg <= 0xF4u;
}

static void dp_bank(lode_adi_s *adi, unsigned reg)
{
    if ((reg & 0xCu) == 0x4u)
        set_select(adi, (reg >> 4) & 0xFu, 0x0000000Fu);
}

void lode_adi_queue_dp_read(lode_adi_s *adi, unsigned reg, uint32_t *out)
{
    if (!adi)
        return;
    if (!dp_reg_ok(reg)) {
        lodei_adi_record(adi, LODE_E_INVALID_ARG);
        return;
    }
    dp_bank(adi, reg);
    lodei_adi_push(adi, LODE_DAP_RNW | LODE_DAP_A(reg), 0, out);
}

void lode_adi_queue_dp_write(lode_adi_s *adi, unsigned reg, uint32_t value)
{
    if (!adi)
        return;
    if (!dp_reg_ok(reg)) {
        lodei_adi_record(adi, LODE_E_INVALID_ARG);
        return;
    }
    dp_bank(adi, reg);
    if (!lodei_adi_push(adi, LODE_DAP_A(reg), value, NULL))
        return;
    if ((reg & 0xCu) == LODE_DP_SELECT) {
        adi->sel = value;
        adi->sel_valid = true;
    }
}

/* What an AP register access does to the CSW/TAR caches. */
static void ap_track(lode_adi_s *adi, unsigned ap, unsigned reg, bool write, uint32_t value,
                     adi_entry_s *e)
{
    adi_ap_s *s = &adi->aps[ap];
    if (reg == LODE_AP_CSW && write) {
        s->csw = value;
        s->csw_valid = true;
    } else if (reg == LODE_AP_TAR && write) {
        s->tar = value;
        s->tar_valid = true;
    } else if (reg == LODE_AP_DRW) {
        e->flags |= ADI_EF_MEM;
        if (s->tar_valid) {
            e->flags |= ADI_EF_ADDR;
            e->addr = s->tar;
        }
        if (!s->csw_valid || !s->tar_valid) {
            s->tar_valid = false;
        } else if ((s->csw & 0x30u) == LODE_AP_CSW_ADDRINC_SINGLE) {
            uint32_t next = s->tar + (1u << (s->csw & 0x7u));
            /* Increments are only architected inside a 1 KiB block (C2.2.2). */
            if ((next & 0x3FFu) == 0 || (s->csw & 0x7u) > 2u)
                s->tar_valid = false;
            else
                s->tar = next;
        } else if ((s->csw & 0x30u) != 0) {
            s->tar_valid = false; /* packed or reserved increment mode */
        }
    } else if (reg >= LODE_AP_BD0 && reg <= LODE_AP_BD3) {
        e->flags |= ADI_EF_MEM | ADI_EF_BD;
        if (s->tar_valid) {
            e->flags |= ADI_EF_ADDR;
            e->addr = (s->tar & ~0xFu) | (reg & 0xCu);
        }
    }
}

static bool ap_args_ok(lode_adi_s *adi, unsigned ap, unsigned reg)
{
    if (ap >= ADI_NUM_AP || reg > 0xFCu || (reg & 3u)) {
        lodei_adi_record(adi, LODE_E_INVALID_ARG);
        return false;
    }
    return true;
}

void lode_adi_queue_ap_read(lode_adi_s *adi, unsigned ap, unsigned reg, uint32_t *out)
{
    if (!adi || !ap_args_ok(adi, ap, reg))
        return;
    lodei_adi_select_ap(adi, ap, reg);
    adi_entry_s *e = lodei_adi_push(adi, LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(reg), 0, out);
    if (e) {
        e->ap = (uint8_t)ap;
        ap_track(adi, ap, reg, false, 0, e);
    }
}

void lodei_adi_queue_ap_read_req(lode_adi_s *adi, unsigned ap, unsigned reg, uint8_t extra,
                                 uint32_t wdata)
{
    if (!adi || !ap_args_ok(adi, ap, reg))
        return;
    lodei_adi_select_ap(adi, ap, reg);
    adi_entry_s *e = lodei_adi_push(adi, (uint8_t)(LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(reg) | extra),
                                    wdata, NULL);
    if (e) {
        e->ap = (uint8_t)ap;
        ap_track(adi, ap, reg, false, 0, e);
    }
}

void lode_adi_queue_ap_write(lode_adi_s *adi, unsigned ap, unsigned reg, uint32_t value)
{
    if (!adi || !ap_args_ok(adi, ap, reg))
        return;
    lodei_adi_select_ap(adi, ap, reg);
    adi_entry_s *e = lodei_adi_push(adi, LODE_DAP_APNDP | LODE_DAP_A(reg), value, NULL);
    if (e) {
        e->ap = (uint8_t)ap;
        ap_track(adi, ap, reg, true, value, e);
    }
}

void lodei_adi_push_block(lode_adi_s *adi, unsigned ap, bool rnw, uint32_t addr, uint32_t *words,
                          size_t n)
{
    /* Caller has set CSW (32-bit, single increment) and TAR = addr, and keeps the block
     * inside one 1 KiB block. */
    adi_ap_s *s = &adi->aps[ap];
    if (n == 0)
        return;
    lodei_adi_select_ap(adi, ap, LODE_AP_DRW);
    /* Reads go as plain DRW transfers: a read costs the same 4 reply bytes either way, and a
     * run of plain transfers (TAR rewrites at 1 KiB boundaries included) is one batch the
     * probe driver can keep in flight end to end. Writes use block transfers, whose requests
     * are denser (4 bytes a word instead of 5). */
    if (adi->ops->transfer_block && n > 1 && !rnw) {
        adi_entry_s *e = new_entry(adi);
        if (!e)
            return;
        e->kind = ADI_ENT_BLOCK;
        e->req = (uint8_t)(LODE_DAP_APNDP | LODE_DAP_A(LODE_AP_DRW) | (rnw ? LODE_DAP_RNW : 0));
        e->ap = (uint8_t)ap;
        e->flags = ADI_EF_MEM | ADI_EF_ADDR;
        e->addr = addr;
        e->bdata = words;
        e->bn = n;
        adi->last_ap_write = !rnw;
        uint32_t next = addr + 4u * (uint32_t)n;
        if ((next & 0x3FFu) == 0 || !s->tar_valid)
            s->tar_valid = false;
        else
            s->tar = next;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        adi_entry_s *e =
            lodei_adi_push(adi, (uint8_t)(LODE_DAP_APNDP | LODE_DAP_A(LODE_AP_DRW) |
                                          (rnw ? LODE_DAP_RNW : 0)),
                           rnw ? 0 : words[i], rnw ? &words[i] : NULL);
        if (!e)
            return;
        e->ap = (uint8_t)ap;
        ap_track(adi, ap, LODE_AP_DRW, !rnw, 0, e);
    }
}

/* ---- run and recovery -------------------------------------------------------------------- */
static int ensure_xf(lode_adi_s *adi, size_t n)
{
    if (n <= adi->capxf)
        return LODE_OK;
    lode_dap_xfer_s *nx = realloc(adi->xf, n * sizeof *nx);
    if (!nx)
        return LODE_E_NOMEM;
    adi->xf = nx;
    adi->capxf = n;
    return LODE_OK;
}

/* Direct transfers outside the queue (recovery). */
static int direct(lode_adi_s *adi, lode_dap_xfer_s *xf, size_t n)
{
    size_t done = 0;
    lode_dap_ack_e ack = LODE_DAP_ACK_OK;
    adi->stats.batches++;
    adi->stats.transfers += n;
    int rc = adi->ops->transfer(adi->ops->ctx, xf, n, &done, &ack);
    if (rc == LODE_OK && done != n)
        rc = LODE_E_PROTOCOL;
    return rc;
}

static void recover_fault(lode_adi_s *adi, size_t failed)
{
    adi->stats.faults++;
    /* Which AP's memory access is to blame: the last one at or before the failing entry
     * (a MEM-AP error FAULTs the transfer after the one that caused it, or the RDBUFF read
     * that completes a posted AP read). */
    int ap = -1;
    bool bd = false;
    uint32_t bd_addr = 0;
    for (size_t i = failed + 1; i-- > 0;) {
        if (i < adi->nq && (adi->q[i].flags & ADI_EF_MEM)) {
            ap = adi->q[i].ap;
            bd = (adi->q[i].flags & (ADI_EF_BD | ADI_EF_ADDR)) == (ADI_EF_BD | ADI_EF_ADDR);
            bd_addr = adi->q[i].addr;
            break;
        }
    }

    uint32_t cs = 0;
    bool have_cs = false;
    if (adi->sel_valid && (adi->sel & 0xFu) == 0) {
        /* CTRL/STAT (bank 0) is answered even with a sticky flag set (B4). */
        lode_dap_xfer_s x = {.req = LODE_DAP_RNW | LODE_DAP_A(LODE_DP_CTRL_STAT), .rdata = &cs};
        have_cs = direct(adi, &x, 1) == LODE_OK;
    }
    int rc = adi->ops->write_abort(adi->ops->ctx, LODE_DP_ABORT_CLEAR_ALL);
    lode_adi_invalidate(adi);
    if (rc != LODE_OK) {
        log_msg(adi, LODE_LOG_WARN, "adi: FAULT, and clearing the sticky errors failed (%s)",
                lode_strerror(rc));
        return;
    }
    if (ap >= 0 && bd) {
        adi->fault_addr = bd_addr;
        adi->fault_addr_known = true;
    } else if (ap >= 0) {
        /* The MEM-AP does not increment TAR after a failed access, so TAR names it. */
        uint32_t tar = 0;
        lode_dap_xfer_s x[2] = {
            {.req = LODE_DAP_A(LODE_DP_SELECT), .wdata = (uint32_t)ap << 24},
            {.req = LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(LODE_AP_TAR), .rdata = &tar},
        };
        if (direct(adi, x, 2) == LODE_OK) {
            adi->sel = (uint32_t)ap << 24;
            adi->sel_valid = true;
            adi->fault_addr = tar;
            adi->fault_addr_known = true;
        } else {
            adi->ops->write_abort(adi->ops->ctx, LODE_DP_ABORT_CLEAR_ALL);
            lode_adi_invalidate(adi);
        }
    }
    if (adi->fault_addr_known)
        log_msg(adi, LODE_LOG_INFO,
                "adi: bus fault at 0x%08x (AP%d%s%08x); sticky errors cleared",
                (unsigned)adi->fault_addr, ap, have_cs ? ", CTRL/STAT 0x" : "",
                have_cs ? (unsigned)cs : 0u);
    else
        log_msg(adi, LODE_LOG_INFO, "adi: FAULT response (CTRL/STAT 0x%08x%s); sticky errors cleared",
                (unsigned)cs, have_cs ? "" : " unknown");
}

static void recover_wait(lode_adi_s *adi)
{
    adi->stats.waits++;
    int rc = adi->ops->write_abort(adi->ops->ctx,
                                   LODE_DP_ABORT_DAPABORT | LODE_DP_ABORT_CLEAR_ALL);
    lode_adi_invalidate(adi);
    log_msg(adi, LODE_LOG_INFO, "adi: target kept answering WAIT; transaction aborted (DAPABORT%s)",
            rc == LODE_OK ? "" : " failed");
}

static void clear_queue(lode_adi_s *adi)
{
    adi->nq = 0;
    adi->qerr = LODE_OK;
    adi->last_ap_write = false;
}

/* The error handling of a failed run; the run's entries are in adi->q. */
static void run_failed(lode_adi_s *adi, int err, size_t failed)
{
    if (err == LODE_E_FAULT) {
        recover_fault(adi, failed);
    } else if (err == LODE_E_WAIT) {
        recover_wait(adi);
    } else if (err != LODE_OK) {
        lode_adi_invalidate(adi);
        log_msg(adi, LODE_LOG_INFO, "adi: transfer failed: %s", lode_strerror(err));
    }
}

int lode_adi_run(lode_adi_s *adi)
{
    if (!adi)
        return LODE_E_INVALID_ARG;
    int err = adi->qerr;
    if (err != LODE_OK) {
        lode_adi_invalidate(adi);
        clear_queue(adi);
        return err;
    }
    if (adi->nq == 0)
        return LODE_OK;
    adi->fault_addr_known = false;
    /* An AP write's bus error shows in the next transfer: end with an RDBUFF read so that a
     * failed write is reported by this run, not the next. */
    if (adi->last_ap_write) {
        if (!lodei_adi_push(adi, LODE_DAP_RNW | LODE_DAP_A(LODE_DP_RDBUFF), 0, NULL)) {
            err = adi->qerr;
            lode_adi_invalidate(adi);
            clear_queue(adi);
            return err;
        }
    }

    size_t i = 0, failed = 0;
    while (i < adi->nq && err == LODE_OK) {
        adi_entry_s *e = &adi->q[i];
        size_t done = 0;
        lode_dap_ack_e ack = LODE_DAP_ACK_OK;
        if (e->kind == ADI_ENT_BLOCK) {
            adi->stats.batches++;
            adi->stats.transfers += e->bn;
            err = adi->ops->transfer_block(adi->ops->ctx, e->req, e->bdata, e->bn, &done, &ack);
            if (err == LODE_OK && done != e->bn)
                err = LODE_E_PROTOCOL;
            failed = i;
            i++;
            continue;
        }
        size_t j = i;
        while (j < adi->nq && adi->q[j].kind == ADI_ENT_XFER)
            j++;
        err = ensure_xf(adi, j - i);
        if (err != LODE_OK)
            break;
        for (size_t k = i; k < j; k++) {
            adi->xf[k - i].req = adi->q[k].req;
            adi->xf[k - i].wdata = adi->q[k].wdata;
            adi->xf[k - i].rdata = (adi->q[k].req & LODE_DAP_RNW) ? &adi->q[k].val : NULL;
        }
        adi->stats.batches++;
        adi->stats.transfers += j - i;
        err = adi->ops->transfer(adi->ops->ctx, adi->xf, j - i, &done, &ack);
        if (done > j - i)
            done = j - i; /* a driver reporting more than it was given */
        for (size_t k = i; k < i + done; k++)
            if (adi->q[k].out)
                *adi->q[k].out = adi->q[k].val;
        if (err == LODE_OK && done != j - i)
            err = LODE_E_PROTOCOL;
        failed = i + done;
        i = j;
    }

    run_failed(adi, err, failed);
    clear_queue(adi);
    return err;
}

/* ---- pipelined runs ------------------------------------------------------------------------ */
unsigned lode_adi_can_submit(const lode_adi_s *adi)
{
    if (!adi || !adi->ops->submit || !adi->ops->collect || !adi->ops->max_pending)
        return 0;
    unsigned m = adi->ops->max_pending(adi->ops->ctx);
    return m < ADI_MAX_PEND ? m : ADI_MAX_PEND;
}

bool lode_adi_submit_merges(const lode_adi_s *adi)
{
    return lode_adi_can_submit(adi) > 0 && adi->ops->submit_merges;
}

bool lode_adi_batches(const lode_adi_s *adi)
{
    return adi && adi->ops->batches;
}

unsigned lode_adi_pending(const lode_adi_s *adi)
{
    return adi ? adi->npend : 0;
}

int lode_adi_submit(lode_adi_s *adi)
{
    if (!adi)
        return LODE_E_INVALID_ARG;
    unsigned max = lode_adi_can_submit(adi);
    int err = adi->qerr;
    if (err == LODE_OK && !max)
        err = LODE_E_UNSUPPORTED;
    if (err == LODE_OK && adi->npend >= max)
        err = LODE_E_STATE;
    if (err == LODE_OK && adi->last_ap_write &&
        !lodei_adi_push(adi, LODE_DAP_RNW | LODE_DAP_A(LODE_DP_RDBUFF), 0, NULL))
        err = adi->qerr;
    for (size_t i = 0; err == LODE_OK && i < adi->nq; i++)
        if (adi->q[i].kind != ADI_ENT_XFER)
            err = LODE_E_UNSUPPORTED;
    if (err == LODE_OK && adi->nq == 0)
        err = LODE_E_INVALID_ARG; /* nothing to submit: no unit to collect either */
    adi_pend_s *p = &adi->pend[(adi->pend_head + adi->npend) % ADI_MAX_PEND];
    if (err == LODE_OK && p->capxf < adi->nq) {
        lode_dap_xfer_s *nx = realloc(p->xf, adi->nq * sizeof *nx);
        if (!nx)
            err = LODE_E_NOMEM;
        else
            p->xf = nx, p->capxf = adi->nq;
    }
    if (err != LODE_OK) {
        lode_adi_invalidate(adi);
        clear_queue(adi);
        return err;
    }
    /* the run's entries move to the slot (the slot's old buffer becomes the queue) */
    adi_entry_s *q = p->q;
    size_t cap = p->capq;
    p->q = adi->q;
    p->capq = adi->capq;
    p->nq = adi->nq;
    adi->q = q;
    adi->capq = cap;
    clear_queue(adi);
    for (size_t k = 0; k < p->nq; k++) {
        p->xf[k].req = p->q[k].req;
        p->xf[k].wdata = p->q[k].wdata;
        p->xf[k].rdata = (p->q[k].req & LODE_DAP_RNW) ? &p->q[k].val : NULL;
    }
    adi->stats.batches++;
    adi->stats.transfers += p->nq;
    err = adi->ops->submit(adi->ops->ctx, p->xf, p->nq);
    if (err != LODE_OK) {
        lode_adi_invalidate(adi);
        return err;
    }
    adi->npend++;
    return LODE_OK;
}

int lode_adi_collect(lode_adi_s *adi)
{
    if (!adi)
        return LODE_E_INVALID_ARG;
    if (!adi->npend)
        return LODE_E_STATE;
    adi_pend_s *p = &adi->pend[adi->pend_head];
    adi->pend_head = (adi->pend_head + 1) % ADI_MAX_PEND;
    adi->npend--;
    size_t done = 0;
    lode_dap_ack_e ack = LODE_DAP_ACK_OK;
    int err = adi->ops->collect(adi->ops->ctx, &done, &ack);
    if (done > p->nq)
        done = p->nq;
    for (size_t k = 0; k < done; k++)
        if (p->q[k].out)
            *p->q[k].out = p->q[k].val;
    if (err == LODE_OK && done != p->nq)
        err = LODE_E_PROTOCOL;
    if (err != LODE_OK) {
        /* recover with the run's entries in place of the queue (kept aside meanwhile) */
        adi_entry_s *q = adi->q;
        size_t nq = adi->nq, cap = adi->capq;
        int qerr = adi->qerr;
        bool law = adi->last_ap_write;
        adi->q = p->q;
        adi->nq = p->nq;
        adi->capq = p->capq;
        adi->fault_addr_known = false;
        run_failed(adi, err, done);
        p->q = adi->q;
        p->capq = adi->capq;
        adi->q = q;
        adi->nq = nq;
        adi->capq = cap;
        adi->qerr = qerr;
        adi->last_ap_write = law;
        /* what was queued meanwhile assumed SELECT/CSW/TAR states the recovery dropped */
        if (adi->nq && adi->qerr == LODE_OK)
            adi->qerr = err;
    }
    return err;
}

/* ---- connect ----------------------------------------------------------------------------- */
int lode_adi_connect(lode_adi_s *adi)
{
    if (!adi)
        return LODE_E_INVALID_ARG;
    static const uint8_t ones[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t jtag_to_swd[2] = {0x9E, 0xE7}; /* 0xE79E, LSB first (B5.2.2) */
    static const uint8_t idle[1] = {0x00};
    const lode_dap_ops_s *o = adi->ops;
    uint32_t dpidr = 0, cs = 0;
    int err;

    clear_queue(adi);
    lode_adi_invalidate(adi);
    /* Line reset (>= 50 ones), JTAG-to-SWD, line reset, idle cycles (B4.3.3, B5.2). An SW-DP
     * without JTAG ignores the select sequence; the second line reset recovers it. */
    err = o->swj_sequence(o->ctx, 56, ones);
    if (err == LODE_OK)
        err = o->swj_sequence(o->ctx, 16, jtag_to_swd);
    if (err == LODE_OK)
        err = o->swj_sequence(o->ctx, 56, ones);
    if (err == LODE_OK)
        err = o->swj_sequence(o->ctx, 8, idle);
    if (err != LODE_OK)
        goto out;

    /* The first transfer after a line reset must be a DPIDR read. */
    lode_adi_queue_dp_read(adi, LODE_DP_DPIDR, &dpidr);
    err = lode_adi_run(adi);
    if (err != LODE_OK) {
        log_msg(adi, LODE_LOG_ERROR,
                "adi: no answer to the DPIDR read (%s); check wiring, power and SWD clock",
                lode_strerror(err));
        goto out;
    }

    /* Clear sticky errors left by whoever used the DP before, select bank 0, request power. */
    err = o->write_abort(o->ctx, LODE_DP_ABORT_CLEAR_ALL);
    if (err != LODE_OK)
        goto out;
    lode_adi_queue_dp_write(adi, LODE_DP_SELECT, 0);
    lode_adi_queue_dp_write(adi, LODE_DP_CTRL_STAT,
                            LODE_DP_CS_CSYSPWRUPREQ | LODE_DP_CS_CDBGPWRUPREQ);
    err = lode_adi_run(adi);
    if (err != LODE_OK)
        goto out;
    const uint32_t acks = LODE_DP_CS_CSYSPWRUPACK | LODE_DP_CS_CDBGPWRUPACK;
    unsigned polls = 0;
    for (;;) {
        lode_adi_queue_dp_read(adi, LODE_DP_CTRL_STAT, &cs);
        err = lode_adi_run(adi);
        if (err != LODE_OK)
            goto out;
        if ((cs & acks) == acks)
            break;
        if (++polls >= POWERUP_POLLS) {
            log_msg(adi, LODE_LOG_ERROR,
                    "adi: debug/system power-up not acknowledged (CTRL/STAT 0x%08x); "
                    "is the target powered?", (unsigned)cs);
            err = LODE_E_TIMEOUT;
            goto out;
        }
    }
    adi->dpidr = dpidr;
    log_msg(adi, LODE_LOG_INFO,
            "adi: DPIDR 0x%08x (DPv%u, designer 0x%03x, part 0x%02x, rev %u%s)", (unsigned)dpidr,
            (unsigned)((dpidr >> 12) & 0xFu), (unsigned)((dpidr >> 1) & 0x7FFu),
            (unsigned)((dpidr >> 20) & 0xFFu), (unsigned)(dpidr >> 28),
            (dpidr & (1u << 16)) ? ", minimal" : "");
out:
    if (err != LODE_OK)
        lode_adi_invalidate(adi);
    return err;
}
