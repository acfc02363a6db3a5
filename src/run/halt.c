/* SPDX-License-Identifier: MIT */
/* The halted-core service: see halt.h. */
#include <stdio.h>
#include <string.h>

#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/target.h"
#include "run/halt.h"
#include "util/bytes.h"

#define PRE_WORDS (LODE_SH_PREFETCH_MAX / 4u)

/* [a, a + len) lies in RAM: in one of the chip's RAM regions, or without a chip in the
 * ARMv7-M SRAM region 0x20000000-0x3FFFFFFF. Reading it has no side effect, unlike a
 * peripheral's data register (a FIFO popped, a flag cleared). */
static bool in_ram(const lode_target_chip_s *chip, uint32_t a, uint32_t len)
{
    uint64_t end = (uint64_t)a + len;
    if (!chip)
        return a >= 0x20000000u && end <= 0x40000000u;
    for (size_t i = 0; i < chip->nmemory; i++) {
        const lode_target_mem_s *m = &chip->memory[i];
        if (m->kind == LODE_TARGET_MEM_RAM && m->start <= a && end <= m->end)
            return true;
    }
    return false;
}

/* With a pipelining core: the instruction at the PC and what r1 points to, in one round trip;
 * the latter goes to the semihosting host as read-ahead (for r0's operation, should the
 * instruction be BKPT 0xAB). Only when that lies in RAM: r1 of any other BKPT may be a
 * peripheral. False: read the instruction the plain way. */
static bool read_ahead(const lode_core_ops_s *c, lode_semihost_s *sh,
                       const lode_target_chip_s *chip, lodei_halt_s *h, uint8_t insn[2])
{
    const uint32_t *regs = h->regs;
    uint32_t want = lode_semihost_param_bytes(regs[0]);
    if (!c->mem_submit || !c->mem_collect || !sh || !want || regs[1] < 4u ||
        regs[1] > 0xFFFFFFFFu - LODE_SH_PREFETCH_MAX)
        return false;
    uint32_t pbase = regs[1] & ~3u;
    uint32_t nw = (regs[1] - pbase + want + 3u) / 4u; /* an unaligned block spills over */
    if (nw > PRE_WORDS)
        nw = PRE_WORDS;
    if (!in_ram(chip, pbase, 4u * nw))
        return false;
    uint32_t code = 0, pre[PRE_WORDS];
    lode_mem_op_s ops[2] = {{.addr = regs[15] & ~3u, .words = &code, .n = 1},
                            {.addr = pbase, .words = pre, .n = nw}};
    if (c->mem_submit(c->ctx, ops, 2) != LODE_OK || c->mem_collect(c->ctx) != LODE_OK)
        return false;
    unsigned sh_bits = (regs[15] & 2u) * 8u;
    insn[0] = (uint8_t)(code >> sh_bits);
    insn[1] = (uint8_t)(code >> (sh_bits + 8u));
    for (unsigned i = 0; i < nw; i++)
        lodei_put_le32(h->ahead + 4 * i, pre[i]);
    h->ahead_addr = pbase;
    h->ahead_len = 4u * nw;
    lode_semihost_prefetch(sh, pbase, h->ahead, h->ahead_len);
    return true;
}

/* the registers `sel` into regs[sel[i]] (all or nothing) */
static int read_sel(const lode_core_ops_s *c, const unsigned *sel, size_t n, uint32_t *regs)
{
    uint32_t v[17] = {0};
    int rc = LODE_OK;
    if (c->regs_read)
        rc = c->regs_read(c->ctx, sel, v, n);
    else
        for (size_t i = 0; i < n && rc == LODE_OK; i++)
            rc = c->reg_read(c->ctx, sel[i], &v[i]);
    for (size_t i = 0; i < n && rc == LODE_OK; i++)
        regs[sel[i]] = v[i];
    return rc;
}

int lodei_halt_regs(const lode_core_ops_s *c, uint32_t *regs)
{
    static const unsigned sel[17] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    return read_sel(c, sel, 17, regs);
}

int lodei_halt_rest(const lode_core_ops_s *c, lodei_halt_s *h)
{
    static const unsigned sel[13] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16};
    int rc = read_sel(c, sel, 13, h->regs);
    if (rc == LODE_OK)
        h->fault = (h->dfsr & LODE_CM_DFSR_VCATCH) && (h->regs[16] & 0x1FFu) == 3;
    return rc;
}

int lodei_halt_examine(const lode_core_ops_s *c, lode_semihost_s *sh,
                       const struct lode_target_chip_s *chip, const lode_core_state_s *st,
                       lodei_halt_s *h)
{
    static const unsigned sel[4] = {0, 1, 13, 15};
    lodei_halt_s out;
    memset(&out, 0, sizeof out);
    out.dfsr = st->dfsr;
    int rc = read_sel(c, sel, 4, out.regs);
    if (rc != LODE_OK)
        return rc;
    if (st->dfsr & LODE_CM_DFSR_BKPT) {
        uint8_t insn[2] = {0};
        bool ahead = read_ahead(c, sh, chip, &out, insn);
        if (ahead || c->mem_read(c->ctx, out.regs[15], insn, 2) == LODE_OK)
            out.semihost = insn[0] == 0xAB && insn[1] == 0xBE;
        if (ahead && !out.semihost) {
            lode_semihost_prefetch(sh, 0, NULL, 0);
            out.ahead_len = 0;
        }
    }
    *h = out;
    return LODE_OK;
}

int lodei_halt_read(const lode_core_ops_s *c, const lodei_halt_s *h, uint32_t addr, void *buf,
                    size_t len)
{
    if (h->ahead_len && addr >= h->ahead_addr && len <= h->ahead_len &&
        addr - h->ahead_addr <= h->ahead_len - len) {
        memcpy(buf, h->ahead + (addr - h->ahead_addr), len);
        return LODE_OK;
    }
    return c->mem_read(c->ctx, addr, buf, len);
}

int lodei_halt_return(const lode_core_ops_s *c, uint32_t pc, uint32_t r0, bool resume)
{
    const unsigned sel[2] = {0, 15};
    const uint32_t val[2] = {r0, pc + 2};
    if (resume && c->resume_regs)
        return c->resume_regs(c->ctx, sel, val, 2);
    int rc;
    if (c->regs_write) {
        rc = c->regs_write(c->ctx, sel, val, 2);
    } else {
        rc = c->reg_write(c->ctx, 0, val[0]);
        if (rc == LODE_OK)
            rc = c->reg_write(c->ctx, 15, val[1]);
    }
    if (rc == LODE_OK && resume)
        rc = c->resume(c->ctx);
    return rc;
}

int lodei_halt_semihost(const lode_core_ops_s *c, lode_semihost_s *sh, const lodei_halt_s *h,
                        bool resume, lodei_sh_end_e *end, int *exit_code)
{
    uint32_t result = 0;
    bool exited = false;
    int code = 0;
    if (lode_semihost_call(sh, h->regs[0], h->regs[1], &result, &exited, &code) != LODE_OK) {
        *end = LODEI_SH_BAD_PARAM;
        return LODE_OK;
    }
    if (exited) {
        *end = LODEI_SH_EXIT;
        *exit_code = code;
        return LODE_OK;
    }
    *end = LODEI_SH_DONE;
    return lodei_halt_return(c, h->regs[15], result, resume);
}

static bool watch_read(const lode_core_ops_s *c, const lodei_watch_s *w, uint32_t *v)
{
    uint8_t b[4] = {0};
    size_t n = w->len && w->len <= 4 ? w->len : 4;
    if (c->mem_read(c->ctx, w->addr, b, n) != LODE_OK)
        return false;
    *v = lodei_get_le32(b);
    return true;
}

void lodei_watch_snapshot(const lode_core_ops_s *c, lodei_watch_s *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        w[i].last = watch_read(c, &w[i], &v) ? v : 0;
    }
}

size_t lodei_watch_fired(const lode_core_ops_s *c, const lodei_watch_s *w, size_t n, uint32_t *now)
{
    size_t pick = n;
    uint32_t pick_v = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        bool ok = watch_read(c, &w[i], &v);
        if (ok && v != w[i].last) {
            *now = v;
            return i;
        }
        /* nothing changed (yet): a read watchpoint is the likely one, else the first */
        if (pick == n || ((w[i].kind & 1) && !(w[pick].kind & 1))) {
            pick = i;
            pick_v = ok ? v : w[i].last;
        }
    }
    *now = pick_v;
    return pick == n ? 0 : pick;
}

void lodei_halt_fault(const lode_core_ops_s *c, const uint32_t *regs, bool lockup, lodei_fault_s *f)
{
    memset(f, 0, sizeof *f);
    f->lockup = lockup;
    /* CFSR, HFSR, DFSR, MMFAR, BFAR are adjacent: one read (one by one if that fails) */
    static const uint32_t at[5] = {LODE_CM_CFSR, LODE_CM_HFSR, LODE_CM_DFSR, LODE_CM_MMFAR,
                                   LODE_CM_BFAR};
    uint8_t b[20] = {0};
    if (c->mem_read(c->ctx, LODE_CM_CFSR, b, sizeof b) != LODE_OK)
        for (int i = 0; i < 5; i++)
            if (c->mem_read(c->ctx, at[i], b + 4 * i, 4) != LODE_OK)
                memset(b + 4 * i, 0, 4);
    f->cfsr = lodei_get_le32(b);
    f->hfsr = lodei_get_le32(b + 4);
    f->mmfar = lodei_get_le32(b + 12);
    f->bfar = lodei_get_le32(b + 16);
    /* at HardFault entry LR holds EXC_RETURN: bit 2 says which stack holds the frame */
    if (!lockup && (regs[14] & 0xFFFFFF00u) == 0xFFFFFF00u) {
        uint32_t sp = regs[13];
        if (regs[14] & 4u) {
            uint32_t psp = 0;
            if (c->reg_read(c->ctx, 18, &psp) == LODE_OK)
                sp = psp;
        }
        f->frame_valid = c->mem_read(c->ctx, sp, f->frame, sizeof f->frame) == LODE_OK;
    }
    lode_cortexm_fault_describe(f->cfsr, f->hfsr, f->bfar, f->mmfar, f->text, sizeof f->text);
    /* an erased vector table (no program) faults on the first fetch: say that, not what the
     * fault status makes of it (an instruction access violation at 0xfffffffe) */
    uint32_t vtor = 0, reset = 0;
    if (c->mem_read(c->ctx, 0xE000ED08u, &vtor, 4) == LODE_OK &&
        c->mem_read(c->ctx, (vtor & ~0x7Fu) + 4u, &reset, 4) == LODE_OK && reset == 0xFFFFFFFFu)
        snprintf(f->text, sizeof f->text, "no program: the reset vector at 0x%08x reads 0xffffffff (erased "
                 "flash); flash the firmware first", (unsigned)((vtor & ~0x7Fu) + 4u));
}
