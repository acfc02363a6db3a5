/* SPDX-License-Identifier: MIT */
/* MEM-AP memory access (ARM IHI 0031 ADIv5.2, chapter C2): CSW.Size / AddrInc, TAR, DRW and
 * the banked data registers BD0-BD3; byte lanes for 8/16-bit accesses (C2.2.4: the data of
 * a narrow access is on the lanes its address selects); TAR auto-increment relied on only
 * inside a 1 KiB block (C2.2.2). */
#include <stdlib.h>
#include <string.h>

#include "adi/adii.h"
#include "lode/error.h"
#include "util/bytes.h"

#define CHUNK_BYTES 16384u /* bytes per queue run in mem_read/mem_write */
#define TAR_BLOCK 1024u

static uint32_t csw_base(const lode_adi_s *adi, unsigned ap)
{
    const adi_ap_s *s = &adi->aps[ap];
    return s->csw_base_known ? s->csw_base : ADI_CSW_DEFAULT_BASE;
}

int lodei_adi_csw_base(lode_adi_s *adi, unsigned ap)
{
    if (ap >= ADI_NUM_AP)
        return LODE_E_INVALID_ARG;
    if (adi->aps[ap].csw_base_known)
        return LODE_OK;
    uint32_t v = 0;
    lode_adi_queue_ap_read(adi, ap, LODE_AP_CSW, &v);
    int err = lode_adi_run(adi);
    if (err != LODE_OK)
        return err;
    adi->aps[ap].csw_base = v & ADI_CSW_KEEP;
    adi->aps[ap].csw_base_known = true;
    return LODE_OK;
}

static void q_csw(lode_adi_s *adi, unsigned ap, unsigned sizecode)
{
    uint32_t want = csw_base(adi, ap) | LODE_AP_CSW_ADDRINC_SINGLE | sizecode;
    const adi_ap_s *s = &adi->aps[ap];
    if (!s->csw_valid || s->csw != want)
        lode_adi_queue_ap_write(adi, ap, LODE_AP_CSW, want);
}

static void q_tar(lode_adi_s *adi, unsigned ap, uint32_t addr)
{
    const adi_ap_s *s = &adi->aps[ap];
    if (!s->tar_valid || s->tar != addr)
        lode_adi_queue_ap_write(adi, ap, LODE_AP_TAR, addr);
}

/* One access of 1 << sizecode bytes at an aligned addr; data on the address's byte lanes. */
static void q_single(lode_adi_s *adi, unsigned ap, uint32_t addr, unsigned sizecode, bool rnw,
                     uint32_t lanes, uint32_t *out)
{
    q_csw(adi, ap, sizecode);
    const adi_ap_s *s = &adi->aps[ap];
    if (sizecode == LODE_AP_CSW_SIZE32 && s->tar_valid && s->tar != addr &&
        (s->tar & ~0xFu) == (addr & ~0xFu)) {
        /* Same 16-byte window as TAR: a banked data register, no TAR write (C2.6.1). */
        unsigned bd = LODE_AP_BD0 + (addr & 0xCu);
        if (rnw)
            lode_adi_queue_ap_read(adi, ap, bd, out);
        else
            lode_adi_queue_ap_write(adi, ap, bd, lanes);
        return;
    }
    q_tar(adi, ap, addr);
    if (rnw)
        lode_adi_queue_ap_read(adi, ap, LODE_AP_DRW, out);
    else
        lode_adi_queue_ap_write(adi, ap, LODE_AP_DRW, lanes);
}

void lode_adi_queue_read32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t *out)
{
    if (!adi)
        return;
    if ((addr & 3u) || ap >= ADI_NUM_AP) {
        lodei_adi_record(adi, LODE_E_INVALID_ARG);
        return;
    }
    q_single(adi, ap, addr, LODE_AP_CSW_SIZE32, true, 0, out);
}

void lode_adi_queue_write32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t value)
{
    if (!adi)
        return;
    if ((addr & 3u) || ap >= ADI_NUM_AP) {
        lodei_adi_record(adi, LODE_E_INVALID_ARG);
        return;
    }
    q_single(adi, ap, addr, LODE_AP_CSW_SIZE32, false, value, NULL);
}

void lode_adi_queue_match32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t mask, uint32_t want)
{
    if (!adi)
        return;
    if ((addr & 3u) || ap >= ADI_NUM_AP) {
        lodei_adi_record(adi, LODE_E_INVALID_ARG);
        return;
    }
    /* through a banked data register: a repeated read must not move TAR (C2.6.1) */
    q_csw(adi, ap, LODE_AP_CSW_SIZE32);
    const adi_ap_s *s = &adi->aps[ap];
    if (!s->tar_valid || (s->tar & ~0xFu) != (addr & ~0xFu))
        lode_adi_queue_ap_write(adi, ap, LODE_AP_TAR, addr & ~0xFu);
    if (!lodei_adi_push(adi, LODE_DAP_MATCH_MASK, mask, NULL))
        return;
    lodei_adi_queue_ap_read_req(adi, ap, LODE_AP_BD0 + (addr & 0xCu), LODE_DAP_MATCH_VALUE, want);
}

/* ---- plans: the accesses one chunk needs ----------------------------------------------- */
typedef struct plan_op_s {
    uint32_t addr;
    uint32_t n;     /* words for 32-bit runs, 1 otherwise */
    uint8_t size;   /* 1, 2 or 4 bytes */
    size_t slot;    /* first slot in the word scratch */
    size_t off;     /* offset in the caller's buffer */
} plan_op_s;

typedef struct plan_s {
    plan_op_s *ops;
    size_t nops, capops;
    uint32_t *words;
    size_t nwords;
} plan_s;

static int plan_add(plan_s *p, uint32_t addr, uint8_t size, uint32_t n, size_t off)
{
    if (p->nops == p->capops)
        return LODE_E_NOMEM; /* sized in advance: cannot happen */
    plan_op_s *o = &p->ops[p->nops++];
    o->addr = addr;
    o->size = size;
    o->n = n;
    o->slot = p->nwords;
    o->off = off;
    p->nwords += n;
    return LODE_OK;
}

/* Split [addr, addr+len) into byte / halfword edges and word runs within 1 KiB blocks. */
static int plan_make(plan_s *p, uint32_t addr, size_t len)
{
    /* Edges are at most 2 ops per end; word runs at most one per 1 KiB block touched. */
    size_t cap = 6 + len / TAR_BLOCK + 2;
    p->ops = calloc(cap, sizeof *p->ops);
    p->words = calloc(len / 4 + 8, sizeof *p->words);
    if (!p->ops || !p->words)
        return LODE_E_NOMEM;
    p->capops = cap;
    p->nops = 0;
    p->nwords = 0;
    size_t off = 0;
    while (off < len) {
        uint32_t a = addr + (uint32_t)off;
        size_t left = len - off;
        int err;
        if ((a & 1u) || left == 1) {
            err = plan_add(p, a, 1, 1, off);
            off += 1;
        } else if ((a & 2u) || left < 4) {
            err = plan_add(p, a, 2, 1, off);
            off += 2;
        } else {
            uint32_t to_block = (TAR_BLOCK - (a & (TAR_BLOCK - 1u))) / 4u;
            uint32_t n = (uint32_t)(left / 4 < to_block ? left / 4 : to_block);
            err = plan_add(p, a, 4, n, off);
            off += 4u * n;
        }
        if (err != LODE_OK)
            return err;
    }
    return LODE_OK;
}

static void plan_free(plan_s *p)
{
    free(p->ops);
    free(p->words);
    memset(p, 0, sizeof *p);
}

static unsigned sizecode_of(unsigned size)
{
    return size == 1 ? LODE_AP_CSW_SIZE8 : size == 2 ? LODE_AP_CSW_SIZE16 : LODE_AP_CSW_SIZE32;
}

static void plan_queue(lode_adi_s *adi, unsigned ap, plan_s *p, bool rnw)
{
    for (size_t i = 0; i < p->nops; i++) {
        plan_op_s *o = &p->ops[i];
        uint32_t *w = &p->words[o->slot];
        if (o->size < 4) {
            q_single(adi, ap, o->addr, sizecode_of(o->size), rnw, *w, w);
            continue;
        }
        q_csw(adi, ap, LODE_AP_CSW_SIZE32);
        q_tar(adi, ap, o->addr);
        lodei_adi_push_block(adi, ap, rnw, o->addr, w, o->n);
    }
}

static int check_range(uint32_t addr, size_t len)
{
    if (len > 0x100000000ull - addr)
        return LODE_E_RANGE;
    return LODE_OK;
}

int lode_adi_mem_read(lode_adi_s *adi, unsigned ap, uint32_t addr, void *buf, size_t len)
{
    if (!adi || (!buf && len) || ap >= ADI_NUM_AP)
        return LODE_E_INVALID_ARG;
    int err = check_range(addr, len);
    if (err != LODE_OK || len == 0)
        return err;
    err = lodei_adi_csw_base(adi, ap);
    if (err != LODE_OK)
        return err;
    uint8_t *dst = buf;
    size_t done = 0;
    while (done < len && err == LODE_OK) {
        size_t n = len - done < CHUNK_BYTES ? len - done : CHUNK_BYTES;
        uint32_t a = addr + (uint32_t)done;
        plan_s p = {0};
        err = plan_make(&p, a, n);
        if (err == LODE_OK) {
            plan_queue(adi, ap, &p, true);
            err = lode_adi_run(adi);
        }
        if (err == LODE_OK) {
            for (size_t i = 0; i < p.nops; i++) {
                const plan_op_s *o = &p.ops[i];
                const uint32_t *w = &p.words[o->slot];
                uint8_t *d = dst + done + o->off;
                if (o->size == 4) {
                    for (uint32_t k = 0; k < o->n; k++)
                        lodei_put_le32(d + 4 * k, w[k]);
                } else {
                    unsigned sh = (o->addr & 3u) * 8u;
                    for (unsigned k = 0; k < o->size; k++)
                        d[k] = (uint8_t)(w[0] >> (sh + 8u * k));
                }
            }
            done += n;
        }
        plan_free(&p);
    }
    return err;
}

int lode_adi_mem_write(lode_adi_s *adi, unsigned ap, uint32_t addr, const void *buf, size_t len)
{
    if (!adi || (!buf && len) || ap >= ADI_NUM_AP)
        return LODE_E_INVALID_ARG;
    int err = check_range(addr, len);
    if (err != LODE_OK || len == 0)
        return err;
    err = lodei_adi_csw_base(adi, ap);
    if (err != LODE_OK)
        return err;
    const uint8_t *src = buf;
    size_t done = 0;
    while (done < len && err == LODE_OK) {
        size_t n = len - done < CHUNK_BYTES ? len - done : CHUNK_BYTES;
        uint32_t a = addr + (uint32_t)done;
        plan_s p = {0};
        err = plan_make(&p, a, n);
        if (err == LODE_OK) {
            for (size_t i = 0; i < p.nops; i++) {
                const plan_op_s *o = &p.ops[i];
                uint32_t *w = &p.words[o->slot];
                const uint8_t *s = src + done + o->off;
                if (o->size == 4) {
                    for (uint32_t k = 0; k < o->n; k++)
                        w[k] = lodei_get_le32(s + 4 * k);
                } else {
                    unsigned sh = (o->addr & 3u) * 8u;
                    uint32_t v = 0;
                    for (unsigned k = 0; k < o->size; k++)
                        v |= (uint32_t)s[k] << (sh + 8u * k);
                    w[0] = v;
                }
            }
            plan_queue(adi, ap, &p, false);
            err = lode_adi_run(adi);
        }
        if (err == LODE_OK)
            done += n;
        plan_free(&p);
    }
    return err;
}

/* ---- single accesses ----------------------------------------------------------------------- */
static int single(lode_adi_s *adi, unsigned ap, uint32_t addr, unsigned size, bool rnw,
                  uint32_t wval, uint32_t *rval)
{
    if (!adi || ap >= ADI_NUM_AP || (addr & (size - 1u)))
        return LODE_E_INVALID_ARG;
    int err = lodei_adi_csw_base(adi, ap);
    if (err != LODE_OK)
        return err;
    unsigned sh = (addr & 3u) * 8u;
    uint32_t lanes = 0;
    q_single(adi, ap, addr, sizecode_of(size), rnw, size == 4 ? wval : wval << sh, &lanes);
    err = lode_adi_run(adi);
    if (err == LODE_OK && rnw) {
        uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8u * size)) - 1u;
        *rval = (size == 4 ? lanes : lanes >> sh) & mask;
    }
    return err;
}

int lode_adi_mem_read32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t *val)
{
    if (!val)
        return LODE_E_INVALID_ARG;
    return single(adi, ap, addr, 4, true, 0, val);
}

int lode_adi_mem_write32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t val)
{
    return single(adi, ap, addr, 4, false, val, NULL);
}

int lode_adi_mem_read16(lode_adi_s *adi, unsigned ap, uint32_t addr, uint16_t *val)
{
    if (!val)
        return LODE_E_INVALID_ARG;
    uint32_t v = 0;
    int err = single(adi, ap, addr, 2, true, 0, &v);
    if (err == LODE_OK)
        *val = (uint16_t)v;
    return err;
}

int lode_adi_mem_write16(lode_adi_s *adi, unsigned ap, uint32_t addr, uint16_t val)
{
    return single(adi, ap, addr, 2, false, val, NULL);
}

int lode_adi_mem_read8(lode_adi_s *adi, unsigned ap, uint32_t addr, uint8_t *val)
{
    if (!val)
        return LODE_E_INVALID_ARG;
    uint32_t v = 0;
    int err = single(adi, ap, addr, 1, true, 0, &v);
    if (err == LODE_OK)
        *val = (uint8_t)v;
    return err;
}

int lode_adi_mem_write8(lode_adi_s *adi, unsigned ap, uint32_t addr, uint8_t val)
{
    return single(adi, ap, addr, 1, false, val, NULL);
}

/* ---- AP identification ------------------------------------------------------------------- */
int lode_adi_ap_idr(lode_adi_s *adi, unsigned ap, uint32_t *idr)
{
    if (!adi || !idr || ap >= ADI_NUM_AP)
        return LODE_E_INVALID_ARG;
    uint32_t v = 0;
    lode_adi_queue_ap_read(adi, ap, LODE_AP_IDR, &v);
    int err = lode_adi_run(adi);
    if (err == LODE_OK)
        *idr = v;
    return err;
}

int lode_adi_ap_base(lode_adi_s *adi, unsigned ap, uint32_t *base)
{
    if (!adi || !base || ap >= ADI_NUM_AP)
        return LODE_E_INVALID_ARG;
    uint32_t v = 0;
    lode_adi_queue_ap_read(adi, ap, LODE_AP_BASE, &v);
    int err = lode_adi_run(adi);
    if (err == LODE_OK)
        *base = v;
    return err;
}
