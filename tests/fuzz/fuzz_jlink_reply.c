/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the J-Link driver and reply decoder (src/probe/jlink/jlink.c,
 * jlink_codec.c) and the SWD engine behind it (src/probe/swd_bits.c), against a probe whose
 * replies are the fuzz input. Input: 4 parameter bytes (SWD clock, options), then the reply
 * stream: every read takes the next `len` bytes, zeros once it is exhausted; what the driver
 * writes is dropped (but must be readable). The driver is opened, connected for SWD, used
 * through lode's ADIv5 layer, asked for SWO, whatever the bytes say. Invariants (abort =
 * crash): no memory error, a message for every log call, completed counts within what was
 * asked, no endless loop on replies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/adi.h"
#include "lode/error.h"
#include "lode/jlink.h"
#include "lode/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fake_s {
    const uint8_t *p;
    size_t n, off;
    unsigned calls;
} fake_s;

static int fake_write(void *ctx, const uint8_t *buf, size_t len)
{
    fake_s *f = ctx;
    if (++f->calls > 20000u)
        abort(); /* the driver loops on replies */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= buf[i];
    (void)sink;
    return LODE_OK;
}

static int fake_read(void *ctx, uint8_t *buf, size_t len)
{
    fake_s *f = ctx;
    size_t k = f->n - f->off < len ? f->n - f->off : len;
    if (k)
        memcpy(buf, f->p + f->off, k);
    if (len > k)
        memset(buf + k, 0, len - k);
    f->off += k;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const uint8_t *prm = data;
    fake_s f = {.p = data + 4, .n = size - 4};
    lode_log_s log = {.fn = flog_fn, .max_level = LODE_LOG_DEBUG};
    lode_jlink_io_s io = {.write = fake_write, .read = fake_read, .ctx = &f};
    lode_jlink_s *jl = NULL;
    if (lode_jlink_open(&io, &log, &jl) != LODE_OK)
        return 0;
    lode_jlink_info_s ji;
    lode_jlink_get_info(jl, &ji);
    if (strlen(ji.firmware) >= sizeof ji.firmware)
        abort();
    lode_jlink_swd_opts_s o = {.hz = (uint32_t)prm[0] * 100000u + 1u, .power = prm[1] & 1u,
                               .targetsel = prm[1] & 2u, .targetsel_value = 0x01002927u,
                               .allow_unpowered = prm[1] & 4u};
    lode_dap_ops_s ops;
    uint32_t hz = 0;
    if (lode_jlink_connect_swd(jl, &o, &hz, &ops) == LODE_OK) {
        lode_adi_s *adi = NULL;
        if (lode_adi_new(&ops, &log, &adi) == LODE_OK) {
            if (lode_adi_connect(adi) == LODE_OK) {
                uint32_t buf[40];
                lode_adi_mem_read(adi, 0, 0x20000000u, buf, sizeof buf);
                lode_adi_mem_write(adi, 0, 0x20000000u, buf, (size_t)(prm[2] % 40u) * 4u);
                if (lode_adi_can_submit(adi)) {
                    uint32_t v[4];
                    for (unsigned i = 0; i < 4; i++)
                        lode_adi_queue_read32(adi, 0, 0x20000000u + 4u * i, &v[i]);
                    if (lode_adi_submit(adi) == LODE_OK)
                        lode_adi_collect(adi);
                }
            }
            lode_adi_free(adi);
        }
        size_t done = 0;
        lode_dap_ack_e ack;
        uint32_t r = 0;
        lode_dap_xfer_s x[3] = {{LODE_DAP_RNW, 0, &r}, {LODE_DAP_A(4), 0x50000000u, NULL},
                                {LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(0xC), 0, &r}};
        ops.transfer(ops.ctx, x, 3, &done, &ack);
        if (done > 3)
            abort();
    }
    uint32_t baud = 0;
    if (lode_jlink_swo_start(jl, 2000000u, &baud) == LODE_OK) {
        uint8_t swo[300];
        size_t got = 0;
        if (lode_jlink_swo_read(jl, swo, (size_t)prm[2] + 1u, &got) == LODE_OK && got > (size_t)prm[2] + 1u)
            abort();
        lode_jlink_swo_stop(jl);
    }
    lode_jlink_close(jl);
    return 0;
}
