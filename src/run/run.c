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

#define DFSR_HALTED 0x1u
#define DFSR_BKPT 0x2u
#define DFSR_DWTTRAP 0x4u
#define DFSR_VCATCH 0x8u
#define VC_HARDERR (1u << 10)

#define CFSR 0xE000ED28u
#define HFSR 0xE000ED2Cu
#define MMFAR 0xE000ED34u
#define BFAR 0xE000ED38u

typedef struct run_s {
    const lode_run_config_s *cfg;
    const lode_core_ops_s *c;
    lode_run_result_s *res;
    unsigned *break_hits, *watch_hits;
    uint32_t *watch_last;
    bool rtt_attached;
    uint64_t rtt_next_try;
} run_s;

static int read_regs(run_s *r, uint32_t *regs, unsigned n)
{
    static const unsigned sel[17] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const lode_core_ops_s *c = r->c;
    if (c->regs_read)
        return c->regs_read(c->ctx, sel, regs, n);
    for (unsigned i = 0; i < n; i++) {
        int rc = c->reg_read(c->ctx, sel[i], &regs[i]);
        if (rc != LODE_OK)
            return rc;
    }
    return LODE_OK;
}

static int read_watched(run_s *r, const lode_run_point_s *w, uint32_t *v)
{
    uint8_t b[4] = {0};
    unsigned len = w->len && w->len <= 4 ? w->len : 4;
    int rc = r->c->mem_read(r->c->ctx, w->addr, b, len);
    if (rc == LODE_OK)
        *v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return rc;
}

/* The run ended in a HardFault (vector catch) or lockup: gather what a person needs. */
static void collect_fault(run_s *r, const uint32_t *regs, bool lockup)
{
    const lode_core_ops_s *c = r->c;
    lode_run_result_s *res = r->res;
    res->end = LODE_RUN_FAULT;
    res->lockup = lockup;
    uint32_t v[4] = {0};
    const uint32_t addr[4] = {CFSR, HFSR, BFAR, MMFAR};
    for (int i = 0; i < 4; i++)
        c->mem_read(c->ctx, addr[i], &v[i], 4);
    res->cfsr = v[0];
    res->hfsr = v[1];
    res->bfar = v[2];
    res->mmfar = v[3];
    /* at HardFault entry LR holds EXC_RETURN: bit 2 says which stack holds the frame */
    if (!lockup && (regs[14] & 0xFFFFFF00u) == 0xFFFFFF00u) {
        uint32_t sp = regs[13];
        if (regs[14] & 4u) {
            uint32_t psp = 0;
            if (c->reg_read(c->ctx, 18, &psp) == LODE_OK)
                sp = psp;
        }
        res->frame_valid = c->mem_read(c->ctx, sp, res->frame, sizeof res->frame) == LODE_OK;
    }
    lode_cortexm_fault_describe(res->cfsr, res->hfsr, res->bfar, res->mmfar, res->fault_text,
                                sizeof res->fault_text);
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

/* How much of what a semihosting operation's r1 points to is worth reading ahead: its
 * parameter block (at most 4 words, all of it belongs to the firmware), a WRITE0 string
 * (up to LODE_SH_PREFETCH_MAX bytes: rarely at the very end of a memory region); 0 when r1 is
 * not a pointer. */
static uint32_t sh_param_words(uint32_t op)
{
    switch (op) {
    case 0x03: /* WRITEC: one byte */
    case 0x02: case 0x08: case 0x09: case 0x0C: case 0x16: /* one-word blocks */
        return 1;
    case 0x0A: case 0x0E: case 0x12: case 0x15: case 0x20: case 0x30:
        return 2;
    case 0x01: case 0x05: case 0x06: case 0x0D:
        return 3;
    case 0x0F:
        return 4;
    case 0x04:
        return LODE_SH_PREFETCH_MAX / 4u;
    default:
        return 0;
    }
}

#define PRE_WORDS (LODE_SH_PREFETCH_MAX / 4u)

/* With a pipelining probe: the instruction at the PC and what r1 points to, in one round
 * trip; the latter goes to the semihosting host as a read-ahead. False: read it the plain way. */
static bool read_ahead(run_s *r, const uint32_t *regs, uint8_t insn[2])
{
    const lode_core_ops_s *c = r->c;
    uint32_t nw = sh_param_words(regs[0]);
    if (!c->mem_submit || !c->mem_collect || !r->cfg->sh || regs[1] < 4u || !nw ||
        regs[1] > 0xFFFFFFFFu - LODE_SH_PREFETCH_MAX)
        return false;
    uint32_t code = 0, pre[PRE_WORDS];
    uint32_t pbase = regs[1] & ~3u;
    if ((regs[1] & 3u) && nw < PRE_WORDS)
        nw++; /* an unaligned block or byte spills into the next word */
    lode_mem_op_s ops[2] = {{.addr = regs[15] & ~3u, .words = &code, .n = 1},
                            {.addr = pbase, .words = pre, .n = nw}};
    if (c->mem_submit(c->ctx, ops, 2) != LODE_OK)
        return false;
    if (c->mem_collect(c->ctx) != LODE_OK)
        return false;
    unsigned sh = (regs[15] & 2u) * 8u;
    insn[0] = (uint8_t)(code >> sh);
    insn[1] = (uint8_t)(code >> (sh + 8u));
    uint8_t bytes[LODE_SH_PREFETCH_MAX];
    for (unsigned i = 0; i < nw; i++)
        for (unsigned k = 0; k < 4; k++)
            bytes[4 * i + k] = (uint8_t)(pre[i] >> (8 * k));
    lode_semihost_prefetch(r->cfg->sh, pbase, bytes, 4u * nw);
    return true;
}

/* The core is halted: serve the reason. Returns 1 to keep running (core resumed), 0 when the
 * run ended (res filled), or an error. */
static int serve_halt(run_s *r, const lode_core_state_s *st)
{
    const lode_run_config_s *cfg = r->cfg;
    const lode_core_ops_s *c = r->c;
    lode_run_result_s *res = r->res;
    uint32_t regs[17] = {0};
    int rc = read_regs(r, regs, 17);
    if (rc != LODE_OK)
        return rc;
    res->pc = regs[15];
    res->lr = regs[14];
    res->sp = regs[13];
    res->xpsr = regs[16];
    res->dfsr = st->dfsr;
    /* semihosting: BKPT 0xAB */
    if (st->dfsr & DFSR_BKPT) {
        uint8_t insn[2] = {0};
        bool ahead = read_ahead(r, regs, insn);
        if ((ahead || c->mem_read(c->ctx, regs[15], insn, 2) == LODE_OK) && insn[0] == 0xAB && insn[1] == 0xBE) {
            if (!cfg->sh) {
                res->end = LODE_RUN_HALTED;
                return 0;
            }
            uint32_t result = 0;
            bool exited = false;
            int code = 0;
            res->semihost_calls++;
            rc = lode_semihost_call(cfg->sh, regs[0], regs[1], &result, &exited, &code);
            if (rc != LODE_OK) {
                lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                         "semihosting call 0x%02x at pc 0x%08x: its parameter block at 0x%08x "
                         "is not readable",
                         regs[0], regs[15], regs[1]);
                res->end = LODE_RUN_HALTED;
                return 0;
            }
            if (exited) {
                res->end = LODE_RUN_EXITED;
                res->exit_code = code;
                return 0;
            }
            const unsigned sel[2] = {0, 15};
            const uint32_t val[2] = {result, regs[15] + 2};
            if (c->resume_regs) {
                rc = c->resume_regs(c->ctx, sel, val, 2);
            } else {
                if (c->regs_write) {
                    rc = c->regs_write(c->ctx, sel, val, 2);
                } else {
                    rc = c->reg_write(c->ctx, 0, result);
                    if (rc == LODE_OK)
                        rc = c->reg_write(c->ctx, 15, regs[15] + 2);
                }
                if (rc == LODE_OK)
                    rc = c->resume(c->ctx);
            }
            return rc == LODE_OK ? 1 : rc;
        }
        if (ahead)
            lode_semihost_prefetch(cfg->sh, 0, NULL, 0);
        size_t bi = 0;
        const lode_run_point_s *bp = find_break(r, regs[15], &bi);
        if (bp) {
            lode_run_hit_s hit = {.kind = LODE_RUN_HIT_BREAK, .point = bp, .count = ++r->break_hits[bi]};
            memcpy(hit.regs, regs, sizeof hit.regs);
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
    if ((st->dfsr & DFSR_DWTTRAP) && cfg->nwatches) {
        size_t wi = 0;
        uint32_t now_v = 0;
        for (size_t i = 0; i < cfg->nwatches; i++) {
            uint32_t v = 0;
            read_watched(r, &cfg->watches[i], &v);
            if (v != r->watch_last[i] || i + 1 == cfg->nwatches) {
                wi = i;
                now_v = v;
                if (v != r->watch_last[i])
                    break;
            }
        }
        lode_run_hit_s hit = {.kind = LODE_RUN_HIT_WATCH, .point = &cfg->watches[wi],
                              .old_value = r->watch_last[wi], .new_value = now_v,
                              .count = ++r->watch_hits[wi]};
        memcpy(hit.regs, regs, sizeof hit.regs);
        r->watch_last[wi] = now_v;
        bool go = cfg->on_hit ? cfg->on_hit(cfg->hit_user, &hit) : false;
        if (!go) {
            res->end = LODE_RUN_HALTED;
            return 0;
        }
        rc = c->resume(c->ctx);
        return rc == LODE_OK ? 1 : rc;
    }
    /* HardFault entry caught by the vector catch */
    if ((st->dfsr & DFSR_VCATCH) && (regs[16] & 0x1FFu) == 3) {
        collect_fault(r, regs, false);
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
    r.watch_last = calloc(cfg->nwatches + 1, sizeof *r.watch_last);
    int rc = LODE_OK;
    if (!r.break_hits || !r.watch_hits || !r.watch_last) {
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
    if (cfg->reset_first)
        rc = c->reset(c->ctx, true);
    else
        rc = c->halt(c->ctx);
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
        else
            read_watched(&r, &cfg->watches[i], &r.watch_last[i]);
    }
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
            if (read_regs(&r, regs, 17) == LODE_OK) {
                res->pc = regs[15];
                res->lr = regs[14];
                res->sp = regs[13];
                res->xpsr = regs[16];
            }
            res->end = LODE_RUN_INTERRUPTED;
            break;
        }
        uint64_t now = c->now_us(c->ctx);
        if (cfg->timeout_us && now - t0 >= cfg->timeout_us) {
            c->halt(c->ctx);
            uint32_t regs[17] = {0};
            if (read_regs(&r, regs, 17) == LODE_OK) {
                res->pc = regs[15];
                res->lr = regs[14];
                res->sp = regs[13];
                res->xpsr = regs[16];
            }
            res->end = LODE_RUN_TIMEOUT;
            break;
        }
        lode_core_state_s st = {0};
        if ((rc = c->state(c->ctx, &st)) != LODE_OK)
            break;
        if (st.exited) { /* the GDB server ran the program to its end (its own semihosting) */
            res->end = LODE_RUN_EXITED;
            res->exit_code = st.exit_code;
            break;
        }
        if (st.lockup) {
            c->halt(c->ctx);
            uint32_t regs[17] = {0};
            read_regs(&r, regs, 17);
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
    free(r.watch_last);
    return rc;
}
