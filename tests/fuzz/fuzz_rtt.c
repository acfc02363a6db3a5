/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the RTT host side (src/rtt/rtt.c): the input is the target's memory.
 * Byte 0: bit 0 = the control block address is given (at RAM + 4 * byte 1), else RAM is
 * scanned; bit 1 = the core pipelines (mem_submit: units run when collected, and before each
 * the "firmware" moves up channel 0's WrOff, to any value); with bit 2 too, the core says it
 * merges units (mem_merged: the whole-ring units of a bit-level probe); bits 2-7 and byte 2
 * drive the
 * "firmware" changes between polls. The rest is
 * memory at 0x20000000: its first half (at most 4 KiB) is the RAM range given to RTT, the
 * rest is readable but not RAM; beyond it reads fault.
 * Invariants (abort = crash): a failing attach logs exactly one error; no write ever lands
 * outside the RAM range; a poll delivers no more than the up buffers hold; a write reports
 * no more than it was given; every returned code is 0 or a negative lode_err_e. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/log.h"
#include "lode/rtt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0x20000000u

typedef struct ftarget_s {
    uint8_t *mem;
    size_t len;
    uint32_t ram_len;
    int nerr;
    size_t delivered;
    /* pipelining */
    uint32_t wr_addr; /* up channel 0's WrOff, 0 if unknown */
    uint32_t seed;
    lode_mem_op_s q[2][8];
    size_t qn[2];
    unsigned head, inflight, units;
} ftarget_s;

static int t_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    ftarget_s *t = ctx;
    if (addr < BASE || (uint64_t)addr + len > (uint64_t)BASE + t->len)
        return LODE_E_FAULT;
    memcpy(buf, t->mem + (addr - BASE), len);
    return LODE_OK;
}

static int t_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    ftarget_s *t = ctx;
    if (addr < BASE || (uint64_t)addr + len > (uint64_t)BASE + t->ram_len)
        abort(); /* RTT wrote outside RAM */
    memcpy(t->mem + (addr - BASE), buf, len);
    return LODE_OK;
}

static int t_submit(void *ctx, const lode_mem_op_s *ops, size_t n)
{
    ftarget_s *t = ctx;
    if (t->inflight >= 2 || !ops || n == 0 || n > 8)
        return LODE_E_STATE;
    unsigned slot = (t->head + t->inflight) % 2u;
    memcpy(t->q[slot], ops, n * sizeof *ops);
    t->qn[slot] = n;
    t->inflight++;
    return LODE_OK;
}

static int t_collect(void *ctx)
{
    ftarget_s *t = ctx;
    if (!t->inflight)
        abort(); /* collect without a unit */
    unsigned slot = t->head;
    t->head = (t->head + 1) % 2u;
    t->inflight--;
    if (++t->units > 100000)
        abort(); /* a stream that never ends */
    int rc = LODE_OK;
    for (size_t i = 0; i < t->qn[slot]; i++) {
        const lode_mem_op_s *o = &t->q[slot][i];
        if ((o->addr & 3u) || !o->words)
            abort();
        if (t->wr_addr && (uint64_t)t->wr_addr + 4 <= (uint64_t)BASE + t->ram_len) {
            t->seed = t->seed * 1103515245u + 12345u;
            uint32_t v = (t->seed >> 4) % 5u == 0 ? t->seed : (t->seed >> 8) % 1100u;
            memcpy(t->mem + (t->wr_addr - BASE), &v, 4);
        }
        for (uint32_t k = 0; k < o->n && rc == LODE_OK; k++) {
            uint32_t a = o->addr + 4u * k;
            rc = o->write ? t_write(t, a, &o->words[k], 4) : t_read(t, a, &o->words[k], 4);
        }
    }
    return rc;
}

static unsigned t_depth(void *ctx)
{
    (void)ctx;
    return 2;
}

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    ftarget_s *t = user;
    if (cat != LODE_LOGC_RTT || !msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        t->nerr++;
}

static void data_fn(void *user, unsigned ch, const uint8_t *d, size_t len)
{
    ftarget_s *t = user;
    if (ch >= LODE_RTT_MAX_CHANNELS || !d || !len)
        abort();
    volatile uint8_t x = d[0];
    x ^= d[len - 1]; /* ASan checks the span */
    (void)x;
    t->delivered += len;
}

static void check_rc(int rc)
{
    if (rc > 0 || rc < LODE_E_RANGE)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 64 * 1024)
        return 0;
    uint8_t mode = data[0], where = data[1], stir = data[2];
    ftarget_s t = {0};
    t.len = size - 3;
    t.mem = malloc(t.len ? t.len : 1);
    if (!t.mem)
        return 0;
    memcpy(t.mem, data + 3, t.len);
    t.ram_len = (uint32_t)(t.len / 2 > 4096 ? 4096 : t.len / 2);
    if (t.ram_len == 0) {
        free(t.mem);
        return 0;
    }
    lode_core_ops_s core = {.mem_read = t_read, .mem_write = t_write, .ctx = &t};
    if (mode & 2) {
        core.mem_submit = t_submit;
        core.mem_collect = t_collect;
        core.mem_depth = t_depth;
        core.mem_merged = (mode & 4) != 0; /* one unit at a time, up to a ring's worth */
        t.seed = (uint32_t)where << 8 | stir;
        if (mode & 1)
            t.wr_addr = BASE + 4u * where + 24u + 12u; /* the block's up 0 WrOff */
    }
    lode_rtt_range_s ram = {BASE, t.ram_len};
    lode_rtt_config_s cfg = {.cb_addr = (mode & 1) ? BASE + 4u * where : 0,
                             .ranges = &ram, .nranges = 1,
                             .log = {log_fn, &t, LODE_LOG_DEBUG}};
    lode_rtt_s *rtt = NULL;
    if (lode_rtt_new(&core, &cfg, &rtt) != LODE_OK)
        abort();
    int rc = lode_rtt_attach(rtt);
    check_rc(rc);
    if (rc != LODE_OK) {
        if (t.nerr != 1 || lode_rtt_attached(rtt))
            abort();
        lode_rtt_free(rtt);
        free(t.mem);
        return 0;
    }
    if (t.nerr != 0)
        abort();
    lode_rtt_info_s info;
    if (lode_rtt_channels(rtt, &info) != LODE_OK || info.num_up > LODE_RTT_MAX_CHANNELS ||
        info.num_down > LODE_RTT_MAX_CHANNELS)
        abort();
    uint64_t cap = 0;
    for (unsigned i = 0; i < info.num_up; i++) {
        if (info.up[i].size > LODE_RTT_MAX_BUFFER || strlen(info.up[i].name) >= LODE_RTT_NAME_MAX)
            abort();
        cap += info.up[i].size;
    }
    uint32_t seed = (uint32_t)mode << 8 | stir;
    for (int round = 0; round < 4; round++) {
        size_t before = t.delivered, got = 0;
        rc = lode_rtt_poll(rtt, data_fn, &t, &got);
        check_rc(rc);
        if (rc == LODE_OK && (got != t.delivered - before || (!(mode & 2) && got > cap)))
            abort();
        if (t.inflight)
            abort(); /* a poll left units in flight */
        for (unsigned ch = 0; ch < info.num_down && rc == LODE_OK; ch++) {
            size_t w = 12345;
            rc = lode_rtt_write(rtt, ch, "0123456789", 10, &w);
            check_rc(rc);
            if (rc == LODE_OK && w > 10)
                abort();
        }
        /* the "firmware" changes a few words of RAM */
        for (int k = 0; k < (stir & 7); k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % t.ram_len;
            t.mem[at] ^= (uint8_t)(seed >> 24);
        }
        if (!lode_rtt_attached(rtt)) {
            rc = lode_rtt_attach(rtt);
            check_rc(rc);
            if (rc == LODE_OK) { /* maybe another block: its channels */
                if (lode_rtt_channels(rtt, &info) != LODE_OK)
                    abort();
                cap = 0;
                for (unsigned i = 0; i < info.num_up; i++)
                    cap += info.up[i].size;
            }
        }
    }
    lode_rtt_stats_s st;
    lode_rtt_stats(rtt, &st);
    if (st.bytes_up != t.delivered)
        abort();
    lode_rtt_free(rtt);
    free(t.mem);
    return 0;
}
