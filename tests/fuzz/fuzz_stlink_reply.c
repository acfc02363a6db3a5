/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the ST-Link driver (src/probe/stlink/stlink.c) against a probe whose
 * replies are the fuzz input. Input: 8 parameter bytes (CSW size, AP number, TAR, block
 * length, a selector), then the reply stream: every command's IN data phase (and every trace
 * read) takes the next `len` bytes of it, zeros once it is exhausted; OUT data is dropped.
 * The driver is opened, connected, used through its lode_dap_ops_s (DP/AP register transfers,
 * a block transfer, and lode's ADIv5 layer on top), the Cortex-M helpers and SWO, whatever
 * the bytes say. Invariants (abort = crash): no memory error, a message for every log call,
 * completed counts within what was asked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/adi.h"
#include "lode/error.h"
#include "lode/log.h"
#include "lode/stlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fake_s {
    const uint8_t *p;
    size_t n, off;
    unsigned calls;
} fake_s;

static void take(fake_s *f, uint8_t *buf, size_t len)
{
    size_t k = f->n - f->off < len ? f->n - f->off : len;
    if (k)
        memcpy(buf, f->p + f->off, k);
    if (len > k)
        memset(buf + k, 0, len - k);
    f->off += k;
}

static int fake_xfer(void *ctx, const uint8_t cmd[LODE_STLINK_CMD_SIZE], lode_stlink_dir_e dir,
                     uint8_t *data, size_t len)
{
    fake_s *f = ctx;
    (void)cmd;
    if (++f->calls > 100000u)
        abort(); /* the driver loops on replies */
    if (len && !data)
        abort();
    if (dir == LODE_STLINK_DIR_IN && len)
        take(f, data, len);
    else if (dir == LODE_STLINK_DIR_OUT && len) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < len; i++) /* the whole OUT buffer must be readable */
            sink ^= data[i];
        (void)sink;
    }
    return LODE_OK;
}

static int fake_trace(void *ctx, uint8_t *buf, size_t len)
{
    fake_s *f = ctx;
    take(f, buf, len);
    return LODE_OK;
}

static void flog_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    (void)level;
    (void)cat;
    if (!msg || !msg[0])
        abort();
}

#define DP_RD(a) (LODE_DAP_RNW | LODE_DAP_A(a))
#define DP_WR(a) (LODE_DAP_A(a))
#define AP_RD(a) (LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(a))
#define AP_WR(a) (LODE_DAP_APNDP | LODE_DAP_A(a))

static void check_done(int rc, size_t done, size_t n)
{
    (void)rc;
    if (done > n)
        abort();
}

static void dap_part(lode_stlink_s *st, const uint8_t *prm)
{
    lode_dap_ops_s ops;
    if (lode_stlink_dap_ops(st, &ops) != LODE_OK)
        return;
    uint32_t csw = 0x23000050u | (prm[0] & 7u) | ((prm[7] & 1u) ? 0x10u : 0u);
    uint32_t tar = (uint32_t)prm[2] | (uint32_t)prm[3] << 8 | (uint32_t)prm[4] << 16 |
                   (uint32_t)prm[5] << 24;
    uint32_t apsel = (uint32_t)prm[1] << 24;
    uint32_t r[16] = {0};
    lode_dap_xfer_s xf[] = {
        {DP_RD(0x0), 0, &r[0]},
        {DP_WR(0x4), 0x50000000u, NULL},
        {DP_RD(0x4), 0, &r[1]},
        {DP_WR(0x8), apsel, NULL},
        {AP_WR(0x0), csw, NULL},
        {AP_WR(0x4), tar, NULL},
        {AP_RD(0xC), 0, &r[2]},
        {AP_RD(0xC), 0, &r[3]},
        {AP_WR(0xC), 0x11223344u, NULL},
        {AP_WR(0xC), 0x55667788u, NULL},
        {AP_RD(0x0), 0, &r[4]},
        {AP_RD(0x4), 0, &r[5]},
        {DP_WR(0x8), apsel | 0x10u, NULL},
        {AP_RD(0x0), 0, &r[6]},  /* BD0 */
        {AP_WR(0x8), 0xA5A5A5A5u, NULL}, /* BD2 */
        {DP_WR(0x8), apsel | 0xF0u, NULL},
        {AP_RD(0xC), 0, &r[7]},  /* IDR */
        {AP_RD(0x8), 0, &r[8]},  /* BASE */
        {DP_WR(0x8), apsel, NULL},
        {DP_RD(0xC), 0, &r[9]},  /* RDBUFF */
    };
    size_t n = sizeof xf / sizeof xf[0], done = 0;
    lode_dap_ack_e ack = LODE_DAP_ACK_OK;
    int rc = ops.transfer(ops.ctx, xf, n, &done, &ack);
    check_done(rc, done, n);
    /* again one by one, so later transfers run even when an early one failed */
    for (size_t i = 0; i < n; i++) {
        done = 0;
        rc = ops.transfer(ops.ctx, &xf[i], 1, &done, &ack);
        check_done(rc, done, 1);
    }
    if (ops.transfer_block) {
        static uint32_t blk[300];
        size_t bn = (size_t)prm[6] + 1u + ((prm[7] & 2u) ? 44u : 0u);
        for (size_t i = 0; i < bn; i++)
            blk[i] = (uint32_t)i * 0x01010101u;
        done = 0;
        rc = ops.transfer_block(ops.ctx, AP_RD(0xC), blk, bn, &done, &ack);
        check_done(rc, done, bn);
        done = 0;
        rc = ops.transfer_block(ops.ctx, AP_WR(0xC), blk, bn, &done, &ack);
        check_done(rc, done, bn);
    }
    if (ops.write_abort)
        ops.write_abort(ops.ctx, 0x1Eu);
    if (ops.swj_sequence) {
        static const uint8_t ones[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        ops.swj_sequence(ops.ctx, 51, ones);
    }
    if (ops.reset_pin) {
        ops.reset_pin(ops.ctx, true);
        ops.reset_pin(ops.ctx, false);
    }
    /* lode's ADIv5 layer on top (not instrumented here, but it drives the driver) */
    if (prm[7] & 4u) {
        lode_log_s log = {flog_fn, NULL, LODE_LOG_DEBUG};
        lode_adi_s *adi = NULL;
        if (lode_adi_new(&ops, &log, &adi) == LODE_OK) {
            if (lode_adi_connect(adi) == LODE_OK) {
                uint8_t b[13];
                lode_adi_mem_read(adi, 0, tar | 1u, b, sizeof b);
                lode_adi_mem_write(adi, 0, tar | 2u, b, sizeof b);
            }
            lode_adi_free(adi);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    const uint8_t *prm = data;
    fake_s f = {.p = data + 8, .n = size - 8};
    lode_stlink_io_s io = {.xfer = fake_xfer, .trace_read = fake_trace, .close = NULL, .ctx = &f};
    lode_log_s log = {flog_fn, NULL, LODE_LOG_DEBUG};
    lode_stlink_s *st = NULL;
    if (lode_stlink_open(&io, &log, &st) != LODE_OK)
        return 0;
    lode_stlink_version_s v;
    lode_stlink_get_version(st, &v);
    char vs[32];
    lode_stlink_version_string(&v, vs, sizeof vs);
    char tiny[3];
    lode_stlink_version_string(&v, tiny, sizeof tiny);
    double volts;
    lode_stlink_target_voltage(st, &volts);
    uint32_t hz = 0;
    uint32_t want = (uint32_t)prm[6] * 20000u;
    if (lode_stlink_connect_swd(st, want, &hz) == LODE_OK) {
        dap_part(st, prm);
        uint32_t regs[21], val = 0;
        lode_stlink_read_all_regs(st, regs);
        lode_stlink_read_reg(st, prm[1] & 0x7Fu, &val);
        lode_stlink_write_reg(st, 15, 0x20000000u);
        lode_stlink_reset_system(st);
        if (lode_stlink_trace_start(st, 2000000u) == LODE_OK) {
            static uint8_t tb[5000];
            size_t got = 0;
            size_t cap = (prm[7] & 8u) ? sizeof tb : 16u;
            if (lode_stlink_trace_read(st, tb, cap, &got) == LODE_OK && got > cap)
                abort();
            lode_stlink_trace_stop(st);
        }
    }
    lode_stlink_stats_s sst;
    lode_stlink_stats(st, &sst);
    lode_stlink_close(st);
    return 0;
}
