/* SPDX-License-Identifier: MIT */
/* The run loop: resume, then poll the core. A halt is served by what caused it: a semihosting
 * BKPT 0xAB (perform the call, step over it, resume), a breakpoint or watchpoint (report, then
 * continue or stop), a HardFault (vector catch: collect the fault status and the stacked frame)
 * or anything else (stop). Between polls RTT is drained and input fed to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/rtt.h"
#include "lode/run.h"
#include "lode/semihost.h"
#include "run/halt.h"

#define VC_HARDERR LODE_CM_DEMCR_VC_HARDERR

typedef struct run_s {
    const lode_run_config_s *cfg;
    const lode_core_ops_s *c;
    lode_run_result_s *res;
    unsigned *break_hits, *watch_hits;
    lodei_watch_s *watch; /* the service's view of cfg->watches */
    bool rtt_attached;
    uint64_t rtt_next_try;
} run_s;

/* The run ended in a HardFault (vector catch) or lockup: gather what a person needs. */
static void collect_fault(run_s *r, const uint32_t *regs, bool lockup)
{
    lode_run_result_s *res = r->res;
    lodei_fault_s f;
    lodei_halt_fault(r->c, regs, lockup, &f);
    res->end = LODE_RUN_FAULT;
    res->lockup = f.lockup;
    res->cfsr = f.cfsr;
    res->hfsr = f.hfsr;
    res->bfar = f.bfar;
    res->mmfar = f.mmfar;
    res->frame_valid = f.frame_valid;
    memcpy(res->frame, f.frame, sizeof res->frame);
    memcpy(res->fault_text, f.text, sizeof res->fault_text);
}

/* where the core stopped, into the result */
static void note_regs(lode_run_result_s *res, const uint32_t *regs)
{
    res->pc = regs[15];
    res->lr = regs[14];
    res->sp = regs[13];
    res->xpsr = regs[16];
}

static const lode_run_point_s *find_break(run_s *r, uint32_t pc, size_t *idx)
{
    for (size_t i = 0; i < r->cfg->nbreaks; i++)
        if ((r->cfg->breaks[i].addr & ~1u) == pc) {
            *idx = i;
            return &r->cfg->breaks[i];
        }
    return NULL;
}

static void poll_rtt(run_s *r)
{
    const lode_run_config_s *cfg = r->cfg;
    if (!cfg->rtt)
        return;
    uint64_t now = r->c->now_us(r->c->ctx);
    if (!r->rtt_attached) {
        if (now < r->rtt_next_try)
            return;
        r->rtt_next_try = now + 20000; /* firmware sets RTT up after reset: try again later */
        if (lode_rtt_attach(cfg->rtt) != LODE_OK)
            return;
        r->rtt_attached = true;
    }
    if (lode_rtt_poll(cfg->rtt, cfg->rtt_out, cfg->io_user, NULL) != LODE_OK) {
        r->rtt_attached = false; /* re-initialised or gone: find it again */
        return;
    }
    if (cfg->input) {
        uint8_t buf[256];
        long n = cfg->input(cfg->io_user, buf, sizeof buf);
        size_t off = 0;
        while (n > 0 && off < (size_t)n) {
            size_t w = 0;
            if (lode_rtt_write(cfg->rtt, 0, buf + off, (size_t)n - off, &w) != LODE_OK)
                break;
            off += w;
            if (!w) {
                /* the firmware has not read yet: let it run, then try again */
                r->c->delay_us(r->c->ctx, cfg->poll_us ? cfg->poll_us : 1000);
                lode_rtt_poll(cfg->rtt, cfg->rtt_out, cfg->io_user, NULL);
            }
        }
    }
}

/* The core is halted: serve the reason. Returns 1 to keep running (core resumed), 0 when the
 * run ended (res filled), or an error. */
static int serve_halt(run_s *r, const lode_core_state_s *st)
{
    const lode_run_config_s *cfg = r->cfg;
    const lode_core_ops_s *c = r->c;
    lode_run_result_s *res = r->res;
    lodei_halt_s h;
    int rc = lodei_halt_examine(c, cfg->sh, NULL, st, &h);
    if (rc != LODE_OK)
        return rc;
    res->dfsr = st->dfsr;
    /* semihosting: BKPT 0xAB (served and resumed in the common case: no other register read) */
    lodei_sh_end_e end = LODEI_SH_DONE;
    int code = 0;
    if (h.semihost && cfg->sh) {
        res->semihost_calls++;
        rc = lodei_halt_semihost(c, cfg->sh, &h, true, &end, &code);
        if (rc != LODE_OK || end == LODEI_SH_DONE)
            return rc == LODE_OK ? 1 : rc;
    }
    /* the run may end here: where the core stopped, all of it */
    if ((rc = lodei_halt_rest(c, &h)) != LODE_OK)
        return rc;
    note_regs(res, h.regs);
    if (h.semihost) {
        if (!cfg->sh) {
            res->end = LODE_RUN_HALTED;
            return 0;
        }
        if (end == LODEI_SH_BAD_PARAM) {
            lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                     "semihosting call 0x%02x at pc 0x%08x: its parameter block at 0x%08x "
                     "is not readable",
                     h.regs[0], h.regs[15], h.regs[1]);
            res->end = LODE_RUN_HALTED;
            return 0;
        }
        if (end == LODEI_SH_EXIT) {
            res->end = LODE_RUN_EXITED;
            res->exit_code = code;
            lode_semihost_exit_status(cfg->sh, &res->exit_reason, &res->exit_value);
            return 0;
        }
        return 1;
    }
    if (st->dfsr & LODE_CM_DFSR_BKPT) {
        size_t bi = 0;
        const lode_run_point_s *bp = find_break(r, h.regs[15], &bi);
        if (bp) {
            lode_run_hit_s hit = {.kind = LODE_RUN_HIT_BREAK, .point = bp, .count = ++r->break_hits[bi]};
            memcpy(hit.regs, h.regs, sizeof hit.regs);
            bool go = cfg->on_hit ? cfg->on_hit(cfg->hit_user, &hit) : false;
            if (!go) {
                res->end = LODE_RUN_HALTED;
                return 0;
            }
            rc = c->resume(c->ctx); /* steps over the breakpoint */
            return rc == LODE_OK ? 1 : rc;
        }
    }
    /* a data watchpoint: which one changed (or was touched) */
    if ((st->dfsr & LODE_CM_DFSR_DWTTRAP) && cfg->nwatches) {
        uint32_t now_v = 0;
        size_t wi = lodei_watch_fired(c, r->watch, cfg->nwatches, &now_v);
        lode_run_hit_s hit = {.kind = LODE_RUN_HIT_WATCH, .point = &cfg->watches[wi],
                              .old_value = r->watch[wi].last, .new_value = now_v,
                              .count = ++r->watch_hits[wi]};
        memcpy(hit.regs, h.regs, sizeof hit.regs);
        r->watch[wi].last = now_v;
        bool go = cfg->on_hit ? cfg->on_hit(cfg->hit_user, &hit) : false;
        if (!go) {
            res->end = LODE_RUN_HALTED;
            return 0;
        }
        rc = c->resume(c->ctx);
        return rc == LODE_OK ? 1 : rc;
    }
    if (h.fault) {
        collect_fault(r, h.regs, false);
        return 0;
    }
    res->end = LODE_RUN_HALTED;
    return 0;
}

int lode_run(const lode_run_config_s *cfg, lode_run_result_s *res)
{
    memset(res, 0, sizeof *res);
    if (!cfg || !cfg->core)
        return LODE_E_INVALID_ARG;
    const lode_core_ops_s *c = cfg->core;
    run_s r = {.cfg = cfg, .c = c, .res = res};
    r.break_hits = calloc(cfg->nbreaks + 1, sizeof *r.break_hits);
    r.watch_hits = calloc(cfg->nwatches + 1, sizeof *r.watch_hits);
    r.watch = calloc(cfg->nwatches + 1, sizeof *r.watch);
    int rc = LODE_OK;
    if (!r.break_hits || !r.watch_hits || !r.watch) {
        rc = LODE_E_NOMEM;
        goto out;
    }
    if ((cfg->nbreaks && !c->bp_set) || (cfg->nwatches && !c->wp_set)) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                 "this probe connection cannot set breakpoints or watchpoints");
        rc = LODE_E_UNSUPPORTED;
        goto out;
    }
    /* stop at the reset vector (when resetting) so that breakpoints and the fault catch are in
     * place before the first instruction runs */
    if (cfg->reset_first) {
        rc = c->reset(c->ctx, true);
    } else {
        /* attached to a core stopped at the firmware's exit: it finished before; resuming
         * would only repeat the old exit */
        lode_core_state_s st0 = {0};
        uint32_t regs0[17] = {0};
        uint8_t insn[2] = {0, 0};
        /* (the halt reason may be lost: a debugger's halt on top of it, a board kept between
         * processes; the instruction at pc tells) */
        if (c->state(c->ctx, &st0) == LODE_OK && st0.halted && lodei_halt_regs(c, regs0) == LODE_OK &&
            c->mem_read(c->ctx, regs0[15] & ~1u, insn, 2) == LODE_OK && insn[0] == 0xABu && insn[1] == 0xBEu &&
            (regs0[0] == LODE_SH_SYS_EXIT || regs0[0] == LODE_SH_SYS_EXIT_EXTENDED)) {
            note_regs(res, regs0);
            res->end = LODE_RUN_HALTED;
            res->exited_before = true;
            res->dfsr = st0.dfsr;
            goto out;
        }
        rc = c->halt(c->ctx);
    }
    if (rc != LODE_OK)
        goto out;
    if (c->vector_catch && (rc = c->vector_catch(c->ctx, VC_HARDERR, 0)) != LODE_OK)
        goto out;
    for (size_t i = 0; i < cfg->nbreaks && rc == LODE_OK; i++) {
        rc = c->bp_set(c->ctx, cfg->breaks[i].addr & ~1u);
        if (rc != LODE_OK)
            lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                     "cannot set a breakpoint at %s (0x%08x): %s", cfg->breaks[i].name,
                     cfg->breaks[i].addr, lode_strerror(rc));
    }
    for (size_t i = 0; i < cfg->nwatches && rc == LODE_OK; i++) {
        rc = c->wp_set(c->ctx, cfg->watches[i].addr, cfg->watches[i].len, cfg->watches[i].kind);
        if (rc != LODE_OK)
            lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                     "cannot watch %s (0x%08x, %u bytes): %s", cfg->watches[i].name,
                     cfg->watches[i].addr, cfg->watches[i].len, lode_strerror(rc));
        r.watch[i] = (lodei_watch_s){.addr = cfg->watches[i].addr, .len = cfg->watches[i].len,
                                     .kind = cfg->watches[i].kind};
    }
    if (rc == LODE_OK)
        lodei_watch_snapshot(c, r.watch, cfg->nwatches);
    if (rc != LODE_OK)
        goto out;
    uint64_t t0 = c->now_us(c->ctx);
    if ((rc = c->resume(c->ctx)) != LODE_OK)
        goto out;
    /* poll briskly after activity (a semihosting call usually comes in a burst), back off to
     * the configured interval while the firmware runs quietly */
    const uint32_t poll_max = cfg->poll_us ? cfg->poll_us : 1000;
    uint32_t poll = 20;
    for (;;) {
        if (cfg->interrupt && *cfg->interrupt) {
            c->halt(c->ctx);
            lode_core_state_s st = {0};
            c->state(c->ctx, &st);
            uint32_t regs[17] = {0};
            if (lodei_halt_regs(c, regs) == LODE_OK)
                note_regs(res, regs);
            res->end = LODE_RUN_INTERRUPTED;
            break;
        }
        uint64_t now = c->now_us(c->ctx);
        if (cfg->timeout_us && now - t0 >= cfg->timeout_us) {
            c->halt(c->ctx);
            uint32_t regs[17] = {0};
            if (lodei_halt_regs(c, regs) == LODE_OK)
                note_regs(res, regs);
            res->end = LODE_RUN_TIMEOUT;
            break;
        }
        lode_core_state_s st = {0};
        if ((rc = c->state(c->ctx, &st)) != LODE_OK)
            break;
        if (st.exited) { /* the GDB server ran the program to its end (its own semihosting) */
            res->end = LODE_RUN_EXITED;
            res->exit_code = st.exit_code;
            res->exit_reason = LODE_SH_ADP_STOPPED_APPLICATION_EXIT;
            res->exit_value = (uint32_t)st.exit_code;
            break;
        }
        if (st.lockup) {
            c->halt(c->ctx);
            uint32_t regs[17] = {0};
            lodei_halt_regs(c, regs);
            res->pc = regs[15];
            res->xpsr = regs[16];
            collect_fault(&r, regs, true);
            break;
        }
        if (st.halted) {
            if (cfg->tick)
                cfg->tick(cfg->io_user); /* what the firmware traced before it stopped comes first */
            int s = serve_halt(&r, &st);
            if (s < 0) {
                rc = s;
                break;
            }
            if (s == 0)
                break;
            poll = 20;
            continue; /* resumed: check again at once (semihosting output comes in bursts) */
        }
        poll_rtt(&r);
        if (cfg->tick)
            cfg->tick(cfg->io_user);
        c->delay_us(c->ctx, poll);
        if (poll < poll_max)
            poll = poll * 2 < poll_max ? poll * 2 : poll_max;
    }
    if (r.rtt_attached)
        lode_rtt_poll(cfg->rtt, cfg->rtt_out, cfg->io_user, NULL); /* the last words */
    if (cfg->tick)
        cfg->tick(cfg->io_user);
    res->us = c->now_us(c->ctx) - t0;
    /* leave no hardware breakpoints/watchpoints behind */
    for (size_t i = 0; i < cfg->nbreaks; i++)
        c->bp_clear(c->ctx, cfg->breaks[i].addr & ~1u);
    for (size_t i = 0; i < cfg->nwatches; i++)
        c->wp_clear(c->ctx, cfg->watches[i].addr);
    if (c->vector_catch)
        c->vector_catch(c->ctx, 0, VC_HARDERR);
out:
    free(r.break_hits);
    free(r.watch_hits);
    free(r.watch);
    return rc;
}
