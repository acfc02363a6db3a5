/* SPDX-License-Identifier: MIT */
/* The flash algorithm runner (CMSIS-Pack "Flash Programming Algorithms" calling convention):
 * the blob is loaded into target RAM; each call sets R0-R3 (arguments), R9 (static base), SP
 * (a stack in RAM), LR (a BKPT stub after the blob) and PC (entry), resumes the core and waits
 * for it to halt at the stub; R0 is the result (0 = OK).
 *
 * RAM layout: [blob][stub][page buffer A][page buffer B] ... [stack] up to the end of RAM.
 * Programming is double-buffered: while the core programs page N from one buffer, the host
 * writes page N+1 into the other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/flash.h"

#define REG_R0 0
#define REG_R9 9
#define REG_SP 13
#define REG_LR 14
#define REG_PC 15
#define REG_XPSR 16
#define REG_CFBP 20 /* CONTROL/FAULTMASK/BASEPRI/PRIMASK */
/* Time limits are the algorithm's, measured on the target's clock: the simulated board's own,
 * or the wall's with a real probe, where a busy host may be descheduled for a while: this much
 * is added before a call is called stuck. */
#define STREAM_HOST_SLACK_US 2000000u

typedef struct runner_s {
    const lode_core_ops_s *core;
    const lode_flash_algo_s *algo;
    const lode_log_s *log;
    uint32_t base, stub, sb, buf[2], sp;
    bool running;
    uint32_t running_pc;
    uint64_t started_us;
    uint32_t timeout_ms;      /* the algorithm's own limit; STREAM_HOST_SLACK_US is added */
    bool stuck_reported;      /* the stream already said why it stops the call */
    const char *what;
    uint32_t what_addr;
    /* how long each entry point took last time (us), to poll close to its end */
    uint32_t running_off;
    uint64_t est_us[8];
    uint32_t est_off[8];
} runner_s;

static uint64_t *estimate(runner_s *r, uint32_t off)
{
    for (unsigned i = 0; i < 8; i++) {
        if (r->est_off[i] == off + 1)
            return &r->est_us[i];
        if (!r->est_off[i]) {
            r->est_off[i] = off + 1;
            r->est_us[i] = 0;
            return &r->est_us[i];
        }
    }
    return &r->est_us[7];
}

static int core_state(runner_s *r, lode_core_state_s *st)
{
    return r->core->state(r->core->ctx, st);
}

/* Start a call without waiting for it: the registers regs[n] = {number, value} (PC, xPSR
 * and the masks among them), then resume. */
static int call_start_regs(runner_s *r, uint32_t pc_off, const uint32_t (*regs)[2], size_t nregs,
                           uint32_t timeout_ms, const char *what, uint32_t what_addr)
{
    const lode_core_ops_s *c = r->core;
    int rc;
    if (c->resume_regs && nregs <= 4) { /* the registers and the resume in one probe command */
        unsigned sel[4];
        uint32_t val[4];
        for (size_t i = 0; i < nregs; i++) {
            sel[i] = regs[i][0];
            val[i] = regs[i][1];
        }
        if ((rc = c->resume_regs(c->ctx, sel, val, nregs)) != LODE_OK)
            return rc;
        goto started;
    }
    if (c->regs_write) {
        unsigned sel[16];
        uint32_t val[16];
        for (size_t i = 0; i < nregs && i < 16; i++) {
            sel[i] = regs[i][0];
            val[i] = regs[i][1];
        }
        rc = c->regs_write(c->ctx, sel, val, nregs < 16 ? nregs : 16);
        if (rc != LODE_OK)
            return rc;
    } else {
        for (size_t i = 0; i < nregs; i++) {
            rc = c->reg_write(c->ctx, regs[i][0], regs[i][1]);
            if (rc != LODE_OK)
                return rc;
        }
    }
    rc = c->resume(c->ctx);
    if (rc != LODE_OK)
        return rc;
started:
    r->running = true;
    r->running_off = pc_off;
    r->running_pc = (r->base + pc_off) & ~1u; /* probe-rs offsets carry the Thumb bit */
    r->started_us = c->now_us(c->ctx);
    r->timeout_ms = timeout_ms;
    r->what = what;
    r->what_addr = what_addr;
    return LODE_OK;
}

/* A call of the CMSIS-Pack interface: R0-R3, R9, SP and LR as well. */
static int call_start(runner_s *r, uint32_t pc_off, uint32_t a0, uint32_t a1, uint32_t a2,
                      uint32_t a3, uint32_t timeout_ms, const char *what, uint32_t what_addr)
{
    const uint32_t regs[][2] = {{0, a0},       {1, a1},         {2, a2},
                                {3, a3},       {REG_R9, r->sb}, {REG_SP, r->sp},
                                {REG_LR, r->stub | 1u}, {REG_PC, (r->base + pc_off) & ~1u}, {REG_XPSR, 0x01000000u},
                                /* privileged, MSP, PRIMASK=1: no interrupt runs during the call */
                                {REG_CFBP, 0x00000001u}};
    return call_start_regs(r, pc_off, regs, sizeof regs / sizeof regs[0], timeout_ms, what, what_addr);
}

/* Wait for the running call to return; *result = R0. */
static int call_finish(runner_s *r, uint32_t *result)
{
    const lode_core_ops_s *c = r->core;
    lode_core_state_s st;
    uint32_t delay = 10;
    int rc;
    uint64_t *est = estimate(r, r->running_off);
    /* sleep through most of the time this call took last time, then poll briskly */
    uint64_t spent = c->now_us(c->ctx) - r->started_us;
    if (*est > spent + 50) {
        uint64_t wait = (*est - spent) * 15 / 16;
        c->delay_us(c->ctx, wait > 10000000u ? 10000000u : (uint32_t)wait);
        delay = 25;
    }
    for (;;) {
        if ((rc = core_state(r, &st)) != LODE_OK)
            return rc;
        if (st.halted || st.lockup)
            break;
        uint64_t el = c->now_us(c->ctx) - r->started_us;
        if (el > (uint64_t)r->timeout_ms * 1000u + STREAM_HOST_SLACK_US) {
            c->halt(c->ctx);
            r->running = false;
            if (!r->stuck_reported)
                lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "flash algorithm '%s' did not return from %s 0x%08x within %llu ms (its limit "
                         "is %u ms): the flash may be protected or the algorithm does not fit this chip",
                         r->algo->name ? r->algo->name : "?", r->what, r->what_addr,
                         (unsigned long long)(el / 1000u), r->timeout_ms);
            return LODE_E_TIMEOUT;
        }
        c->delay_us(c->ctx, delay);
        if (delay < 500)
            delay *= 2;
    }
    r->running = false;
    *est = c->now_us(c->ctx) - r->started_us;
    uint32_t pc = 0, r0 = 0;
    if (c->regs_read) {
        const unsigned sel[2] = {REG_PC, REG_R0};
        uint32_t v[2] = {0, 0};
        if ((rc = c->regs_read(c->ctx, sel, v, 2)) != LODE_OK)
            return rc;
        pc = v[0];
        r0 = v[1];
    } else {
        if ((rc = c->reg_read(c->ctx, REG_PC, &pc)) != LODE_OK)
            return rc;
        if ((rc = c->reg_read(c->ctx, REG_R0, &r0)) != LODE_OK)
            return rc;
    }
    if (st.lockup || !(st.dfsr & LODE_CM_DFSR_BKPT) || pc != r->stub) {
        lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "flash algorithm '%s' stopped at 0x%08x instead of returning (%s 0x%08x%s): "
                 "the algorithm faulted; check that the chip description matches the chip",
                 r->algo->name ? r->algo->name : "?", pc, r->what, r->what_addr,
                 st.lockup ? ", core locked up" : "");
        return LODE_E_FLASH;
    }
    *result = r0;
    return LODE_OK;
}

static int call(runner_s *r, uint32_t pc_off, uint32_t a0, uint32_t a1, uint32_t a2,
                uint32_t timeout_ms, const char *what, uint32_t what_addr, uint32_t *result)
{
    int rc = call_start(r, pc_off, a0, a1, a2, 0, timeout_ms, what, what_addr);
    if (rc == LODE_OK)
        rc = call_finish(r, result);
    return rc;
}

static int check_result(runner_s *r, int rc, uint32_t result, const char *what, uint32_t addr)
{
    if (rc != LODE_OK)
        return rc;
    if (result != 0) {
        lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "flash algorithm '%s' reported error %u for %s 0x%08x: the flash may be "
                 "write-protected or locked",
                 r->algo->name ? r->algo->name : "?", result, what, addr);
        return LODE_E_FLASH;
    }
    return LODE_OK;
}

/* Where the algorithm goes: its blob at its load address (or the RAM's start), the return
 * stub (two BKPT #0) after its footprint, the stack at the top of the RAM. The layout after
 * the stub is the caller's. */
static void place(runner_s *r, const lode_mem_range_s *ram)
{
    const lode_flash_algo_s *a = r->algo;
    uint32_t base = a->has_load_address ? a->load_address : ram->start;
    base = (base + 3u) & ~3u;
    /* the data section may start past the instructions: zeroed RAM up to it */
    size_t footprint = a->data_section_offset > a->instructions_len ? a->data_section_offset : a->instructions_len;
    r->base = base;
    r->stub = (uint32_t)(((uint64_t)base + footprint + 3u) & ~3ull);
    r->sb = base + a->data_section_offset;
    r->sp = ram->end & ~7u;
}

static void log_no_ram(const runner_s *r)
{
    lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the flash algorithm did not read back from RAM at 0x%08x: is there RAM?", r->base);
}

/* The blob, zeroed data up to the stub, BKPT #0; BKPT #0, then `tail` (tail_len bytes at
 * tail_at, past the stub): one memory write, without the blob's first `skip` bytes (written
 * later by the caller). It must read back as written (RAM present and writable, not ROM or
 * flash): its last word tells, without a second transfer of the blob (a stream checks its
 * control block instead, with its first poll). */
static int upload(runner_s *r, const uint8_t *tail, uint32_t tail_at, size_t tail_len, uint32_t skip)
{
    const lode_flash_algo_s *a = r->algo;
    const lode_core_ops_s *c = r->core;
    size_t total = tail_len ? (size_t)(tail_at - r->base) + tail_len : (size_t)(r->stub - r->base) + 4u;
    uint8_t *img = calloc(1, total);
    if (!img)
        return LODE_E_NOMEM;
    memcpy(img, a->instructions, a->instructions_len);
    static const uint8_t bkpt2[4] = {0x00, 0xBE, 0x00, 0xBE};
    memcpy(img + (r->stub - r->base), bkpt2, sizeof bkpt2);
    if (tail_len)
        memcpy(img + (tail_at - r->base), tail, tail_len);
    if (skip > total)
        skip = 0;
    int rc = c->mem_write(c->ctx, r->base + skip, img + skip, total - skip);
    if (rc == LODE_OK && !tail_len) {
        uint8_t chk[4];
        size_t off = (total - sizeof chk) & ~(size_t)3;
        rc = c->mem_read(c->ctx, r->base + (uint32_t)off, chk, sizeof chk);
        if (rc == LODE_OK && memcmp(chk, img + off, sizeof chk) != 0) {
            log_no_ram(r);
            rc = LODE_E_VERIFY;
        }
    }
    free(img);
    return rc;
}

/* The classic calls: the algorithm, its stub and two page buffers. */
static int setup(runner_s *r, const lode_mem_range_s *ram, uint32_t page_size, uint32_t stack)
{
    const lode_flash_algo_s *a = r->algo;
    place(r, ram);
    /* buffers on 1 KiB boundaries when pages are whole KiB and the RAM allows: a page is then
     * one probe write (probes split writes where the TAR's auto-increment may wrap) */
    uint64_t buf0 = 0, buf1 = 0, end = 0;
    for (uint64_t align = page_size % 1024u == 0 ? 1024u : 4u;; align = 4u) {
        buf0 = ((uint64_t)r->stub + 4u + align - 1u) / align * align;
        buf1 = (buf0 + page_size + align - 1u) / align * align;
        end = buf1 + page_size;
        if (align == 4u || end + stack <= r->sp)
            break;
    }
    if (r->base < ram->start || end + stack > r->sp) {
        lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "flash algorithm '%s' (%zu bytes) with two %u-byte page buffers and a %u-byte "
                 "stack does not fit the RAM at 0x%08x-0x%08x",
                 a->name ? a->name : "?", a->instructions_len, page_size, stack, ram->start,
                 ram->end - 1);
        return LODE_E_NOMEM;
    }
    r->buf[0] = (uint32_t)buf0;
    r->buf[1] = (uint32_t)buf1;
    return upload(r, NULL, 0, 0, 0);
}

/* The sectors erased and not completely programmed again, as "UICR 0x10001000-0x10001fff, ..."
 * (adjacent ones of a region merged, each range named by its region when the plan knows it). */
static void note_unfinished(const lode_flash_plan_s *plan, const bool *erased, const bool *done,
                            lode_flash_result_s *res, const lode_log_s *log)
{
    size_t used = 0;
    res->unfinished[0] = 0;
    size_t n = 0;
    for (size_t i = 0; i < plan->nsectors; i++) {
        if (!erased[i] || done[i])
            continue;
        const lode_flash_sector_s *s = &plan->sectors[i];
        size_t j = i;
        while (j + 1 < plan->nsectors && erased[j + 1] && !done[j + 1] &&
               plan->sectors[j + 1].region == s->region &&
               plan->sectors[j + 1].addr == plan->sectors[j].addr + plan->sectors[j].size)
            j++;
        const char *name = plan->regions && s->region < plan->nregions ? plan->regions[s->region].name : NULL;
        int w = snprintf(res->unfinished + used, sizeof res->unfinished - used, "%s%s%s0x%08x-0x%08x",
                         n ? ", " : "", name ? name : "", name ? " " : "", s->addr,
                         plan->sectors[j].addr + plan->sectors[j].size - 1);
        if (w < 0 || used + (size_t)w >= sizeof res->unfinished) {
            snprintf(res->unfinished + (used < sizeof res->unfinished - 5 ? used : sizeof res->unfinished - 5), 5, " ...");
            break;
        }
        used += (size_t)w;
        n++;
        i = j;
    }
    if (n)
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "flash left incomplete: these sectors may now be erased: %s (run the same "
                 "flash command again to finish)",
                 res->unfinished);
}

/* Is sector i erased by region reg's chip erase (its own, or one that erase wipes)? */
static bool chip_erases(const lode_flash_plan_s *plan, unsigned reg, size_t i)
{
    const lode_flash_sector_s *s = &plan->sectors[i];
    return s->wiped ? s->wiped_by == reg : s->region == reg;
}

/* ---- streaming (LodeStream, lode's own algorithms) ------------------------------------------ */
#define STREAM_CTL_WORDS 18u
#define STREAM_TRAILER 32u
#define STREAM_RETURNED 0x80000000u
#define STREAM_FIN 32u /* ctl words 0-7: progress, status, address, flags, hash, .., result */
#define STREAM_MAX_SLOTS 4u
#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

/* OP_ERASE_STARTED: the sector erase the runner started with the algorithm's LodeEraseStart
 * writes right after its reset-halt (the algorithm's EraseWait finishes it) */
enum { OP_END = 0, OP_ERASE = 1, OP_PROGRAM = 2, OP_ERASE_CHIP = 3, OP_ERASE_STARTED = 4 };

typedef struct stream_op_s {
    uint32_t op;
    size_t index; /* sector index (erase) or page index (program) */
} stream_op_s;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What a stream has confirmed: the bookkeeping of one run of stream_region. */
typedef struct stream_acct_s {
    const lode_flash_plan_s *plan;
    const stream_op_s *ops;
    unsigned reg;
    bool verify;
    const lode_flash_opts_s *o;
    bool *erased, *done;
    size_t *pages_left, *erase_done, total_erase, *pages_done, total_pages;
    lode_flash_result_s *res;
    uint32_t host_hash;
} stream_acct_s;

/* ops [from, to) have completed on the target */
static void account(stream_acct_s *a, size_t from_op, size_t to_op)
{
    const lode_flash_plan_s *plan = a->plan;
    const lode_flash_opts_s *o = a->o;
    lode_flash_result_s *res = a->res;
    for (size_t k = from_op; k < to_op; k++) {
        const stream_op_s *op = &a->ops[k];
        if (op->op == OP_ERASE || op->op == OP_ERASE_STARTED || op->op == OP_ERASE_CHIP) {
            bool one = op->op != OP_ERASE_CHIP;
            size_t from = one ? op->index : 0;
            size_t to = one ? op->index + 1 : plan->nsectors;
            for (size_t i = from; i < to; i++) {
                if (one ? plan->sectors[i].region != a->reg : !chip_erases(plan, a->reg, i))
                    continue;
                res->sectors_erased++;
                if (!a->pages_left[i])
                    a->done[i] = true;
            }
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE,
                            one ? ++*a->erase_done : (*a->erase_done = a->total_erase),
                            a->total_erase);
        } else if (op->op == OP_PROGRAM) {
            const lode_flash_page_s *pg = &plan->pages[op->index];
            res->pages_programmed++;
            res->bytes_programmed += pg->size;
            if (a->verify) {
                res->bytes_verified += pg->size;
                for (uint32_t i = 0; i + 4u <= pg->size; i += 4u)
                    a->host_hash = (a->host_hash ^ get32(pg->data + i)) * FNV_PRIME;
            }
            if (--a->pages_left[pg->sector] == 0 && a->erased[pg->sector])
                a->done[pg->sector] = true;
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, ++*a->pages_done, a->total_pages);
        }
    }
}

/* The part of a page worth sending: from its first to its last byte that is not erased, in
 * whole words (the rest needs no programming: the sector is erased). */
static void sent_range(const lode_flash_page_s *pg, uint8_t erased, uint32_t *off, uint32_t *len)
{
    uint32_t lo = 0, hi = pg->size;
    while (lo < hi && pg->data[lo] == erased)
        lo++;
    while (hi > lo && pg->data[hi - 1] == erased)
        hi--;
    if (lo == hi) {
        *off = *len = 0;
        return;
    }
    lo &= ~3u;
    hi = (hi + 3u) & ~3u;
    if (hi > pg->size)
        hi = pg->size;
    *off = lo;
    *len = hi - lo;
}

/* A stream's layout in target RAM (after the algorithm's stub) and its operations. */
typedef struct stream_s {
    uint32_t ctl, trailers, data, stride, nslots, seq0;
    const stream_op_s *ops;
    size_t nops;
} stream_s;

/* Operation k's trailer (into t) and the bytes its slot's data area needs (*d, *dlen). */
static void stream_trailer(const stream_s *st, const runner_s *r, const lode_flash_plan_s *plan,
                           unsigned reg, size_t k, uint8_t t[STREAM_TRAILER], const uint8_t **d,
                           uint32_t *dlen)
{
    const stream_op_s *op = &st->ops[k];
    uint32_t addr = 0, size = 0, off = 0, len = 0;
    *d = NULL;
    if (op->op == OP_ERASE || op->op == OP_ERASE_STARTED) {
        addr = plan->sectors[op->index].addr;
    } else if (op->op == OP_ERASE_CHIP) {
        addr = r->algo->flash_start;
    } else if (op->op == OP_PROGRAM) {
        const lode_flash_page_s *pg = &plan->pages[op->index];
        addr = pg->addr;
        size = pg->size;
        sent_range(pg, r->algo->erased, &off, &len);
        *d = pg->data + off;
    }
    memset(t, 0, STREAM_TRAILER);
    put32(t, addr);
    put32(t + 4, size);
    put32(t + 8, op->op);
    put32(t + 12, off);
    put32(t + 16, len);
    put32(t + 28, st->seq0 + (uint32_t)k + 1u); /* the seq word lands last */
    *dlen = len;
}

/* How long operation k should take, from the ones seen so far (0: no idea yet). */
typedef struct stream_est_s {
    uint64_t erase_us, chip_us, prog_ns_per_byte;
} stream_est_s;

static uint64_t op_expect(const stream_est_s *e, const lode_flash_plan_s *plan, uint8_t erased,
                          const stream_op_s *op)
{
    if (op->op == OP_ERASE || op->op == OP_ERASE_STARTED)
        return e->erase_us;
    if (op->op == OP_ERASE_CHIP)
        return e->chip_us;
    if (op->op == OP_PROGRAM) {
        uint32_t off, len;
        sent_range(&plan->pages[op->index], erased, &off, &len);
        return e->prog_ns_per_byte * len / 1000u;
    }
    return 0;
}

/* ops [from, to) took `us` together: learn from them when they are of one kind */
static void op_learn(stream_est_s *e, const lode_flash_plan_s *plan, uint8_t erased, const stream_op_s *ops,
                     size_t from, size_t to, uint64_t us)
{
    uint32_t kind = ops[from].op;
    uint64_t bytes = 0;
    for (size_t k = from; k < to; k++) {
        if (ops[k].op != kind)
            return;
        if (kind == OP_PROGRAM) {
            uint32_t off, len;
            sent_range(&plan->pages[ops[k].index], erased, &off, &len);
            bytes += len;
        }
    }
    if (kind == OP_ERASE)
        e->erase_us = us / (to - from);
    else if (kind == OP_ERASE_CHIP)
        e->chip_us = us;
    else if (kind == OP_PROGRAM && bytes >= 64)
        e->prog_ns_per_byte = us * 1000u / bytes;
}

/* Run the erase and program operations of region `reg` through one LodeStream call. The
 * algorithm, its control block and the first operation go in one memory write; the call
 * starts with four registers (R0 = ctl, PC, xPSR, masks); the host feeds the slots, polls
 * one word of progress near when the operation in progress should end, and reads the
 * call's result from the control block (no register reads). */
static int stream_region(runner_s *r, const lode_mem_range_s *ram, const lode_flash_plan_s *plan,
                         unsigned reg, bool chip, size_t started, const lode_flash_opts_s *o, bool *erased,
                         bool *done, size_t *pages_left, size_t *erase_done, size_t total_erase,
                         size_t *pages_done, size_t total_pages, lode_flash_result_s *res)
{
    const lode_flash_algo_s *a = r->algo;
    const lode_core_ops_s *c = r->core;
    place(r, ram);
    uint32_t stack = o->stack_size ? o->stack_size : 1024;
    uint32_t stride = (a->page_size + 3u) & ~3u;
    /* 64-byte aligned: a read of it never straddles a 1 KiB boundary (a probe splits there) */
    uint64_t ctl = ((uint64_t)r->stub + 4u + 63u) & ~63ull;
    uint64_t trailers = ctl + STREAM_CTL_WORDS * 4u, data = 0;
    /* data areas on 1 KiB boundaries when pages are whole KiB: a page is then one probe write
     * (probes split writes where the TAR's auto-increment may wrap) */
    uint64_t align = stride % 1024u == 0 ? 1024u : 4u;
    uint32_t nslots = STREAM_MAX_SLOTS;
    for (; nslots >= 2; nslots--) {
        data = (trailers + (uint64_t)nslots * STREAM_TRAILER + align - 1u) / align * align;
        if (data + (uint64_t)nslots * stride + stack <= r->sp)
            break;
    }
    if (nslots < 2 || r->base < ram->start || a->page_size % 4u)
        return LODE_E_UNSUPPORTED; /* not enough RAM (or odd pages): the classic calls */
    bool verify = o->verify && !o->verify_readback;

    /* the operations, in order */
    size_t nops = 0, cap = plan->nsectors + plan->npages + 2;
    stream_op_s *ops = calloc(cap, sizeof *ops);
    if (!ops)
        return LODE_E_NOMEM;
    if (chip) {
        ops[nops++] = (stream_op_s){OP_ERASE_CHIP, 0};
    } else {
        for (size_t i = 0; i < plan->nsectors; i++)
            if (plan->sectors[i].region == reg && !plan->sectors[i].skip && !plan->sectors[i].wiped) {
                uint32_t kind = nops == 0 && i == started ? OP_ERASE_STARTED : OP_ERASE;
                ops[nops++] = (stream_op_s){kind, i};
            }
    }
    for (size_t i = 0; i < plan->npages; i++)
        if (plan->pages[i].region == reg)
            ops[nops++] = (stream_op_s){OP_PROGRAM, i};
    ops[nops++] = (stream_op_s){OP_END, 0};
    stream_acct_s ac = {.plan = plan, .ops = ops, .reg = reg, .verify = verify, .o = o,
                        .erased = erased, .done = done, .pages_left = pages_left,
                        .erase_done = erase_done, .total_erase = total_erase,
                        .pages_done = pages_done, .total_pages = total_pages, .res = res,
                        .host_hash = FNV_BASIS};
    /* a sequence base of our own: whatever an earlier call left in the slots never matches */
    uint64_t nonce = c->now_us(c->ctx) * 0x9E3779B97F4A7C15ull + (uintptr_t)plan;
    stream_s st = {.ctl = (uint32_t)ctl, .trailers = (uint32_t)trailers, .data = (uint32_t)data,
                   .stride = stride, .nslots = nslots,
                   .seq0 = (uint32_t)(nonce >> 32) & 0x7FFFFFFFu, .ops = ops, .nops = nops};

    /* control block and the first operation's trailer, after the algorithm (one write) */
    uint8_t init[STREAM_CTL_WORDS * 4u + STREAM_TRAILER];
    memset(init, 0, sizeof init);
    /* with verify, the hash the target must end with (every programmed page as the image has
     * it, in order): the call's result word alone then tells the outcome */
    uint32_t want_hash = FNV_BASIS;
    for (size_t k = 0; verify && k < nops; k++)
        if (ops[k].op == OP_PROGRAM) {
            const lode_flash_page_s *pg = &plan->pages[ops[k].index];
            for (uint32_t i = 0; i + 4u <= pg->size; i += 4u)
                want_hash = (want_hash ^ get32(pg->data + i)) * FNV_PRIME;
        }
    put32(init + 12, verify ? 3u : 0u);
    put32(init + 64, want_hash);
    put32(init + 16, FNV_BASIS);
    put32(init + 20, a->flash_start);
    put32(init + 24, st.seq0);
    put32(init + 32, st.trailers);
    put32(init + 36, nslots);
    put32(init + 40, st.data);
    put32(init + 44, stride);
    put32(init + 48, r->sb);
    put32(init + 52, r->sp);
    put32(init + 56, r->stub | 1u);
    put32(init + 60, a->erased * 0x01010101u);
    const uint8_t *d0;
    uint32_t d0len;
    stream_trailer(&st, r, plan, reg, 0, init + STREAM_CTL_WORDS * 4u, &d0, &d0len);
    if (ops[0].op == OP_ERASE || ops[0].op == OP_ERASE_STARTED)
        erased[ops[0].index] = true;
    /* code only program operations use goes after the start, while the first erase runs */
    uint32_t late = ops[0].op != OP_PROGRAM && a->stream_late_len <= a->instructions_len
                        ? a->stream_late_len & ~3u : 0;
    int rc = upload(r, init, st.ctl, sizeof init, late);
    if (rc == LODE_OK && d0len)
        rc = c->mem_write(c->ctx, st.data, d0, d0len);
    uint32_t result = 0; /* LodeStream calls Init and UnInit itself */
    uint64_t per_op_ms = (uint64_t)a->program_page_timeout_ms > a->erase_sector_timeout_ms
                             ? a->program_page_timeout_ms
                             : a->erase_sector_timeout_ms;
    if (chip) {
        per_op_ms += (uint64_t)a->erase_sector_timeout_ms * 16u + 5000u;
        for (size_t i = 0; i < plan->nsectors; i++)
            if (chip_erases(plan, reg, i))
                erased[i] = true;
    }
    if (rc == LODE_OK) {
        /* privileged, MSP, PRIMASK=1: no interrupt runs during the call. The entry sets PRIMASK
         * itself: after the runner's reset-halt (which the algorithms keep) CONTROL, FAULTMASK
         * and BASEPRI are 0, and the masks need no write */
        const uint32_t regs[][2] = {{0, st.ctl},
                                    {REG_PC, (r->base + a->pc_stream) & ~1u},
                                    {REG_XPSR, 0x01000000u},
                                    {REG_CFBP, 0x00000001u}};
        uint64_t limit = per_op_ms * (nops + 1);
        rc = call_start_regs(r, a->pc_stream, regs, sizeof regs / sizeof regs[0] - (o->no_reset_halt ? 0 : 1),
                             (uint32_t)(limit > 0xFFFFFFFFu ? 0xFFFFFFFFu : limit), "the stream of",
                             a->flash_start);
    }
    if (rc == LODE_OK && late) /* before any program operation's trailer */
        rc = c->mem_write(c->ctx, r->base, a->instructions, late);
    size_t sent = 1, confirmed = 0;
    /* stuck: no progress for an operation's time plus 2 s for a busy host's scheduling delays
     * (the clock is the wall's with a real probe; a simulated board's own is exact) */
    const uint64_t stuck_us = per_op_ms * 1000u + STREAM_HOST_SLACK_US;
    r->stuck_reported = false;
    uint64_t last_progress = c->now_us(c->ctx);
    uint64_t seen_at = last_progress; /* when progress was last seen (not when work was given) */
    uint64_t last_state = last_progress;
    stream_est_s est = {0};
    uint32_t delay = 50;
    bool failed_early = false, returned = false, first = true, target_hashed = false;
    uint8_t fin[STREAM_FIN];
    /* until every operation is confirmed but the last (the end, which returns), and that one
     * is sent too: a slow host may see all the others done at once, with no slot left for it */
    while (rc == LODE_OK && (confirmed < nops - 1 || sent < nops)) {
        /* fill every free slot: the data, then the trailer (its seq word last) */
        size_t sent_before = sent;
        /* trailers of adjacent slots go out together, after their data (each one's seq word
         * still lands after its own data and before the next trailer's) */
        uint8_t tb[STREAM_MAX_SLOTS * STREAM_TRAILER];
        uint32_t tb_slot = 0, tb_n = 0;
        while (sent < nops && sent - confirmed < nslots) {
            uint32_t slot = (uint32_t)(sent % nslots);
            if (tb_n && slot != tb_slot + tb_n) {
                rc = c->mem_write(c->ctx, st.trailers + tb_slot * STREAM_TRAILER, tb, tb_n * STREAM_TRAILER);
                tb_n = 0;
                if (rc != LODE_OK)
                    break;
            }
            const uint8_t *d;
            uint32_t dlen;
            if (!tb_n)
                tb_slot = slot;
            stream_trailer(&st, r, plan, reg, sent, tb + tb_n * STREAM_TRAILER, &d, &dlen);
            if (ops[sent].op == OP_ERASE)
                erased[ops[sent].index] = true;
            if (dlen && (rc = c->mem_write(c->ctx, st.data + slot * stride, d, dlen)) != LODE_OK)
                break;
            tb_n++;
            sent++;
        }
        if (rc == LODE_OK && tb_n)
            rc = c->mem_write(c->ctx, st.trailers + tb_slot * STREAM_TRAILER, tb, tb_n * STREAM_TRAILER);
        else if (tb_n)
            sent -= tb_n; /* not sent after all */
        if (rc != LODE_OK || (confirmed >= nops - 1 && sent >= nops))
            break;
        /* The algorithm cannot progress while its slots are empty: time without progress
         * counts from the moment it was given work (a slow host is not a stuck target). */
        if (sent > sent_before)
            last_progress = c->now_us(c->ctx);
        /* wait for the core: sleep until the operation in progress should be nearly done, then
         * poll */
        uint64_t expect = op_expect(&est, plan, a->erased, &ops[confirmed]);
        if (expect > 200) {
            uint64_t due = seen_at + expect * 15 / 16, now0 = c->now_us(c->ctx);
            if (due > now0)
                c->delay_us(c->ctx, (uint32_t)(due - now0 > 10000000u ? 10000000u : due - now0));
        }
        /* one word of progress (the first poll reads the first 8: the RAM check); for the last
         * two operations the call's result word instead, which tells the whole outcome (with
         * verify the target compares the hash with the image's itself) */
        bool tail = !first && confirmed + 3 >= nops;
        bool whole = tail || first || confirmed + 2 >= nops; /* fin's word 7 is current */
        if (tail) {
            if ((rc = c->mem_read(c->ctx, st.ctl + 28u, fin + 28, 4)) != LODE_OK)
                break;
            uint32_t res_word = get32(fin + 28);
            if (!(res_word & STREAM_RETURNED)) {
                put32(fin, (uint32_t)confirmed);
            } else if ((res_word & 0x7FFFFFFFu) == 0) { /* every operation done, verified */
                put32(fin, (uint32_t)(nops - 1));
                put32(fin + 16, ac.host_hash); /* compared on the target (flags bit 1) */
                target_hashed = verify;
            } else if ((rc = c->mem_read(c->ctx, st.ctl, fin, STREAM_FIN)) != LODE_OK) {
                break; /* a failure: its details */
            }
        } else if ((rc = c->mem_read(c->ctx, st.ctl, fin, whole ? STREAM_FIN : 4)) != LODE_OK) {
            break;
        }
        /* the words only the host writes: the algorithm and its control block are in RAM */
        if (first && (get32(fin + 20) != a->flash_start || get32(fin + 24) != st.seq0)) {
            log_no_ram(r);
            c->halt(c->ctx);
            r->running = false;
            rc = LODE_E_VERIFY;
            break;
        }
        first = false;
        uint32_t now_done = get32(fin), status = now_done & 0x80000000u;
        now_done &= 0x7FFFFFFFu;
        uint64_t now = c->now_us(c->ctx);
        if (now_done > confirmed && now_done <= nops) {
            size_t upto = now_done < nops - 1 ? now_done : nops - 1;
            if (upto > confirmed)
                op_learn(&est, plan, a->erased, ops, confirmed, upto, now - seen_at);
            last_progress = seen_at = now;
            delay = 50;
            account(&ac, confirmed, upto);
            confirmed = upto;
            returned = whole && confirmed >= nops - 1 && (get32(fin + 28) & STREAM_RETURNED) != 0;
            continue;
        }
        if (status != 0) {
            failed_early = true;
            break;
        }
        lode_core_state_s cs;
        /* is the core still in the stream? asked once an operation is overdue, every 5 ms */
        bool stopped = false;
        uint64_t overdue = 1000 + (expect ? expect * 2 : per_op_ms * 250u); /* unknown: a quarter of the limit */
        if (now - last_progress > overdue && now - last_state >= 5000) {
            last_state = now;
            stopped = core_state(r, &cs) == LODE_OK && (cs.halted || cs.lockup);
        }
        if (now - last_progress > stuck_us || stopped) {
            r->stuck_reported = !stopped;
            if (!stopped)
                lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                         "flash algorithm '%s' made no progress for %llu ms on operation %zu of %zu "
                         "(one takes at most %llu ms): the flash may be protected or the algorithm "
                         "does not fit this chip", a->name ? a->name : "?",
                         (unsigned long long)((now - last_progress) / 1000u), confirmed + 1, nops - 1,
                         (unsigned long long)per_op_ms);
            failed_early = true; /* stuck, or the core stopped without reporting: finish shows why */
            break;
        }
        c->delay_us(c->ctx, delay);
        if (delay < (expect ? 1000u : 250u))
            delay *= 2;
    }
    /* the operations are done, and the call returns a few instructions later: its result is in
     * the control block's first 8 words (no register reads, no wait for the halt) */
    if (!returned && rc == LODE_OK && !failed_early && r->running &&
        (rc = c->mem_read(c->ctx, st.ctl, fin, STREAM_FIN)) == LODE_OK)
        returned = (get32(fin + 28) & STREAM_RETURNED) != 0;
    if (returned) {
        /* the stream returned into the stub (a few instructions from its BKPT): the core layer
         * checks the halt before it next touches registers */
        r->running = false;
        result = get32(fin + 28) & 0x7FFFFFFFu;
    } else {
        if (r->running) {
            if (failed_early) {
                /* the call ends by itself on an error; a stuck one is stopped by call_finish's timeout */
                r->timeout_ms = (uint32_t)((c->now_us(c->ctx) - r->started_us) / 1000u);
            }
            int frc = call_finish(r, &result);
            if (rc == LODE_OK)
                rc = frc;
        }
        if (rc == LODE_OK || rc == LODE_E_FLASH)
            if (c->mem_read(c->ctx, st.ctl, fin, STREAM_FIN) != LODE_OK)
                memset(fin, 0, sizeof fin);
    }
    if (rc == LODE_OK || rc == LODE_E_FLASH) {
        /* what completed after the last poll (the call may end before the host looks again) */
        uint32_t fin_done = get32(fin) & 0x7FFFFFFFu;
        if (fin_done > confirmed && fin_done <= nops - 1) {
            account(&ac, confirmed, fin_done);
            confirmed = fin_done;
        }
    }
    if (rc == LODE_OK && result != 0) {
        uint32_t status = get32(fin + 4), at = get32(fin + 8);
        if (status == 4)
            lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "verify failed: the flash read back on the target hashes to 0x%08x, the image to "
                     "0x%08x (flash again with --verify-readback to find the bytes)", get32(fin + 16), want_hash);
        else if (status == 2)
            lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "verify failed at 0x%08x: the flash does not hold what was programmed "
                     "(flash again; if it persists the sector may be worn or protected)", at);
        else
            lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "flash algorithm '%s' reported error %u at 0x%08x: the flash may be "
                     "write-protected or locked", a->name ? a->name : "?", status ? status : result, at);
        rc = status == 2 || status == 4 ? LODE_E_VERIFY : LODE_E_FLASH;
    }
    if (rc == LODE_OK && confirmed < nops - 1) {
        lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the flash stream ended after %zu of %zu operations without an error: "
                 "flash again", confirmed, nops - 1);
        rc = LODE_E_FLASH;
    }
    if (rc == LODE_OK && verify && !target_hashed && get32(fin + 16) != ac.host_hash) {
        lode_log(r->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "verify failed: the flash read back on the target hashes to 0x%08x, the image to "
                 "0x%08x (flash again with --verify-readback to find the bytes)", get32(fin + 16), ac.host_hash);
        rc = LODE_E_VERIFY;
    }
    free(ops);
    return rc;
}

#define ERASE_START_MAX 16u

/* lode_flash_run's order of regions: those erased with a chip erase first (what it wipes
 * elsewhere is programmed after it), then the others; step (of 2 * nalgos) handles *reg when
 * true. */
static bool step_region(const lode_flash_plan_s *plan, size_t nalgos, unsigned step, unsigned *reg)
{
    *reg = step % (unsigned)nalgos;
    bool chip_reg = *reg < 32 && (plan->chip_regions >> *reg & 1u);
    return chip_reg == (step < nalgos);
}

/* Does region reg have something to erase or program? *wiped: another chip erase wipes some
 * of its sectors. */
static bool region_work(const lode_flash_plan_s *plan, unsigned reg, bool *wiped)
{
    bool any = false;
    *wiped = false;
    for (size_t i = 0; i < plan->nsectors; i++)
        if (plan->sectors[i].region == reg) {
            any |= !plan->sectors[i].skip && !plan->sectors[i].wiped;
            *wiped |= plan->sectors[i].wiped;
        }
    for (size_t i = 0; i < plan->npages && !any; i++)
        any = plan->pages[i].region == reg;
    return any;
}

/* The region lode_flash_run streams first, and whether it erases with its chip erase. */
static bool first_region(const lode_flash_algo_s *const *algos, size_t nalgos, const lode_flash_plan_s *plan,
                         unsigned *reg_out, bool *chip_out)
{
    for (unsigned step = 0; step < 2 * nalgos; step++) {
        unsigned reg;
        bool wiped;
        if (!step_region(plan, nalgos, step, &reg) || !region_work(plan, reg, &wiped))
            continue;
        bool chip_reg = reg < 32 && (plan->chip_regions >> reg & 1u);
        const lode_flash_algo_s *a = algos[reg];
        if (!a)
            return false;
        *reg_out = reg;
        *chip_out = a->pc_erase_all != LODE_FLASH_NO_PC && !wiped && (plan->chip_erase || chip_reg);
        return true;
    }
    return false;
}

/* The writes that start the first stream's first sector erase right after the reset-halt
 * (the algorithm's LodeEraseStart table, its sector-address word filled in), so that the
 * erase runs while the algorithm loads: their number (0: none) and *sector. */
static size_t first_erase_writes(const lode_core_ops_s *core, const lode_flash_algo_s *const *algos,
                                 size_t nalgos, const lode_flash_plan_s *plan, const lode_flash_opts_s *o,
                                 uint32_t w[ERASE_START_MAX][2], size_t *sector)
{
    unsigned reg = 0;
    bool chip = false;
    if (!core->reset_halt_writes || o->no_reset_halt || o->single_buffer || o->no_stream || plan->nram ||
        !first_region(algos, nalgos, plan, &reg, &chip) || chip)
        return 0;
    const lode_flash_algo_s *a = algos[reg];
    if (a->pc_stream == LODE_FLASH_NO_PC || !a->erase_start || a->erase_start % 4u ||
        a->erase_start >= a->instructions_len)
        return 0;
    size_t s = 0;
    while (s < plan->nsectors && (plan->sectors[s].region != reg || plan->sectors[s].skip || plan->sectors[s].wiped))
        s++;
    if (s == plan->nsectors)
        return 0; /* nothing to erase */
    const uint8_t *t = a->instructions + a->erase_start;
    size_t avail = (a->instructions_len - a->erase_start) / 8u;
    for (size_t i = 0; i < avail && i <= ERASE_START_MAX; i++) {
        uint32_t ad = get32(t + 8 * i), v = get32(t + 8 * i + 4);
        if (!ad && !v) {
            *sector = s;
            return i;
        }
        if (i == ERASE_START_MAX || (ad & 3u))
            return 0;
        w[i][0] = ad;
        w[i][1] = v == 0xFFFFFFFFu ? plan->sectors[s].addr : v;
    }
    return 0; /* no end mark */
}

int lode_flash_run(const lode_core_ops_s *core, const lode_flash_algo_s *const *algos,
                   size_t nalgos, const lode_flash_plan_s *plan, const lode_mem_range_s *ram,
                   const lode_flash_opts_s *opts, const lode_log_s *log,
                   lode_flash_result_s *res)
{
    static const lode_flash_opts_s defaults = {0};
    const lode_flash_opts_s *o = opts ? opts : &defaults;
    memset(res, 0, sizeof *res);
    if (!core || !plan || !ram || (!algos && plan->nsectors))
        return LODE_E_INVALID_ARG;
    bool *erased = calloc(plan->nsectors + 1, sizeof *erased);
    bool *done = calloc(plan->nsectors + 1, sizeof *done);
    size_t *pages_left = calloc(plan->nsectors + 1, sizeof *pages_left);
    int rc = LODE_OK;
    if (!erased || !done || !pages_left) {
        rc = LODE_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < plan->npages; i++)
        pages_left[plan->pages[i].sector]++;
    for (size_t i = 0; i < plan->nsectors; i++)
        done[i] = plan->sectors[i].skip;

    /* a clean core: reset and halt stops the firmware, its interrupts and SysTick; the first
     * sector erase may start right after it, while the algorithm loads */
    uint32_t ew[ERASE_START_MAX][2];
    size_t started = SIZE_MAX;
    size_t new = algos ? first_erase_writes(core, algos, nalgos, plan, o, ew, &started) : 0;
    if (new) {
        erased[started] = true;
        rc = core->reset_halt_writes(core->ctx, (const uint32_t(*)[2])ew, new);
        if (rc != LODE_OK) {
            note_unfinished(plan, erased, done, res, log); /* the erase may have started */
            goto out;
        }
    } else {
        started = SIZE_MAX;
        rc = o->no_reset_halt ? core->halt(core->ctx) : core->reset(core->ctx, true);
    }
    if (rc != LODE_OK)
        goto out;

    /* RAM segments of the image are written directly */
    for (size_t i = 0; i < plan->nram && rc == LODE_OK; i++)
        rc = core->mem_write(core->ctx, plan->ram[i]->addr, plan->ram[i]->data, plan->ram[i]->len);

    size_t total_erase = 0, total_pages = plan->npages, erase_done = 0, pages_done = 0;
    for (size_t i = 0; i < plan->nsectors; i++)
        total_erase += !plan->sectors[i].skip && !plan->sectors[i].wiped;
    uint32_t stack = o->stack_size ? o->stack_size : 1024;
    bool streamed_verify = false; /* every region so far verified on the target */

    /* regions erased with a chip erase first: what it wipes elsewhere is programmed after it */
    for (unsigned step = 0; step < 2 * nalgos && rc == LODE_OK; step++) {
        unsigned reg;
        bool wiped;
        if (!step_region(plan, nalgos, step, &reg) || !region_work(plan, reg, &wiped))
            continue;
        bool chip_reg = reg < 32 && (plan->chip_regions >> reg & 1u);
        const lode_flash_algo_s *a = algos[reg];
        if (!a) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "no flash algorithm for region %u: give a chip description with one", reg);
            rc = LODE_E_UNSUPPORTED;
            break;
        }
        runner_s r = {.core = core, .algo = a, .log = log};
        uint32_t result = 0;
        /* the planner chose the chip erase (or it was asked for); never for a region another
         * chip erase already wiped */
        bool chip_all = a->pc_erase_all != LODE_FLASH_NO_PC && !wiped && (plan->chip_erase || chip_reg);
        if (a->pc_stream != LODE_FLASH_NO_PC && !o->single_buffer && !o->no_stream) {
            uint64_t t0 = core->now_us(core->ctx);
            rc = stream_region(&r, ram, plan, reg, chip_all, started, o, erased, done, pages_left, &erase_done,
                               total_erase, &pages_done, total_pages, res);
            if (rc != LODE_E_UNSUPPORTED) {
                res->us_program += core->now_us(core->ctx) - t0;
                streamed_verify |= o->verify && !o->verify_readback;
                continue;
            }
            rc = LODE_OK; /* too little RAM for the slots: the classic calls */
        }
        if ((rc = setup(&r, ram, a->page_size, stack)) != LODE_OK)
            break;
        /* ---- erase ---- */
        uint64_t t0 = core->now_us(core->ctx);
        if (a->pc_init != LODE_FLASH_NO_PC) {
            rc = call(&r, a->pc_init, a->flash_start, o->clock_hz, 1, 1000, "Init(erase) at", a->flash_start, &result);
            if ((rc = check_result(&r, rc, result, "Init(erase) at", a->flash_start)) != LODE_OK)
                break;
        }
        bool all = chip_all;
        if (all) {
            uint32_t to = a->erase_sector_timeout_ms * 16u + 5000u;
            /* the chip erase wipes every sector of this region, and those it wipes elsewhere */
            for (size_t i = 0; i < plan->nsectors; i++)
                if (chip_erases(plan, reg, i))
                    erased[i] = true;
            rc = call(&r, a->pc_erase_all, 0, 0, 0, to, "EraseChip at", a->flash_start, &result);
            rc = check_result(&r, rc, result, "EraseChip at", a->flash_start);
            for (size_t i = 0; i < plan->nsectors && rc == LODE_OK; i++)
                if (chip_erases(plan, reg, i)) {
                    res->sectors_erased++;
                    if (!pages_left[i])
                        done[i] = true;
                }
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE, total_erase, total_erase);
        } else {
            for (size_t i = 0; i < plan->nsectors && rc == LODE_OK; i++) {
                const lode_flash_sector_s *s = &plan->sectors[i];
                if (s->region != reg || s->skip || s->wiped)
                    continue;
                erased[i] = true;
                rc = call(&r, a->pc_erase_sector, s->addr, 0, 0, a->erase_sector_timeout_ms,
                          "EraseSector at", s->addr, &result);
                rc = check_result(&r, rc, result, "EraseSector at", s->addr);
                if (rc == LODE_OK) {
                    res->sectors_erased++;
                    if (!pages_left[i])
                        done[i] = true;
                    if (o->progress)
                        o->progress(o->progress_user, LODE_FLASH_PHASE_ERASE, ++erase_done, total_erase);
                }
            }
        }
        if (rc == LODE_OK && a->pc_uninit != LODE_FLASH_NO_PC) {
            rc = call(&r, a->pc_uninit, 1, 0, 0, 1000, "UnInit(erase) at", a->flash_start, &result);
            rc = check_result(&r, rc, result, "UnInit(erase) at", a->flash_start);
        }
        res->us_erase += core->now_us(core->ctx) - t0;
        if (rc != LODE_OK)
            break;

        /* ---- program (double-buffered) ---- */
        t0 = core->now_us(core->ctx);
        if (a->pc_init != LODE_FLASH_NO_PC) {
            rc = call(&r, a->pc_init, a->flash_start, o->clock_hz, 2, 1000, "Init(program) at", a->flash_start, &result);
            if ((rc = check_result(&r, rc, result, "Init(program) at", a->flash_start)) != LODE_OK)
                break;
        }
        size_t idx[2] = {0, 0};
        int cur = 0;
        bool loaded = false; /* buffer `cur` holds the next page to program */
        size_t next = 0;
        /* find the pages of this region in order */
        while (rc == LODE_OK) {
            while (next < plan->npages && plan->pages[next].region != reg)
                next++;
            if (!loaded) {
                if (next >= plan->npages)
                    break;
                const lode_flash_page_s *pg = &plan->pages[next];
                if ((rc = core->mem_write(core->ctx, r.buf[cur], pg->data, pg->size)) != LODE_OK)
                    break;
                idx[cur] = next++;
                loaded = true;
            }
            const lode_flash_page_s *pg = &plan->pages[idx[cur]];
            rc = call_start(&r, a->pc_program_page, pg->addr, pg->size, r.buf[cur], 0,
                            a->program_page_timeout_ms, "ProgramPage at", pg->addr);
            if (rc != LODE_OK)
                break;
            /* while it programs: transfer the following page into the other buffer */
            int other = cur ^ 1;
            bool preloaded = false;
            while (next < plan->npages && plan->pages[next].region != reg)
                next++;
            if (!o->single_buffer && next < plan->npages) {
                const lode_flash_page_s *np = &plan->pages[next];
                if ((rc = core->mem_write(core->ctx, r.buf[other], np->data, np->size)) != LODE_OK)
                    break;
                idx[other] = next++;
                preloaded = true;
            }
            rc = call_finish(&r, &result);
            rc = check_result(&r, rc, result, "ProgramPage at", pg->addr);
            if (rc != LODE_OK)
                break;
            res->pages_programmed++;
            res->bytes_programmed += pg->size;
            if (--pages_left[pg->sector] == 0 && erased[pg->sector])
                done[pg->sector] = true;
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, ++pages_done, total_pages);
            if (preloaded) {
                cur = other;
                loaded = true;
            } else {
                loaded = false;
            }
        }
        if (r.running) {
            core->halt(core->ctx);
            r.running = false;
        }
        if (rc == LODE_OK && a->pc_uninit != LODE_FLASH_NO_PC) {
            rc = call(&r, a->pc_uninit, 2, 0, 0, 1000, "UnInit(program) at", a->flash_start, &result);
            rc = check_result(&r, rc, result, "UnInit(program) at", a->flash_start);
        }
        res->us_program += core->now_us(core->ctx) - t0;
    }

    /* ---- verify: read back (unless the stream verified every page on the target) ---- */
    if (rc == LODE_OK && o->verify && !(streamed_verify && res->bytes_verified == res->bytes_programmed)) {
        res->bytes_verified = 0;
        uint64_t t0 = core->now_us(core->ctx);
        uint8_t *buf = NULL;
        size_t cap = 0;
        for (size_t i = 0; i < plan->npages && rc == LODE_OK; i++) {
            const lode_flash_page_s *pg = &plan->pages[i];
            if (pg->size > cap) {
                uint8_t *nb = realloc(buf, pg->size);
                if (!nb) {
                    rc = LODE_E_NOMEM;
                    break;
                }
                buf = nb;
                cap = pg->size;
            }
            if ((rc = core->mem_read(core->ctx, pg->addr, buf, pg->size)) != LODE_OK)
                break;
            for (uint32_t k = 0; k < pg->size; k++) {
                if (buf[k] != pg->data[k]) {
                    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                             "verify failed at 0x%08x: flash holds 0x%02x, the image 0x%02x "
                             "(flash again; if it persists the sector may be worn or protected)",
                             pg->addr + k, buf[k], pg->data[k]);
                    rc = LODE_E_VERIFY;
                    break;
                }
            }
            res->bytes_verified += pg->size;
            if (o->progress)
                o->progress(o->progress_user, LODE_FLASH_PHASE_VERIFY, i + 1, plan->npages);
        }
        free(buf);
        res->us_verify = core->now_us(core->ctx) - t0;
    }
    if (rc != LODE_OK)
        note_unfinished(plan, erased, done, res, log);
out:
    free(erased);
    free(done);
    free(pages_left);
    return rc;
}
