/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the CMSIS-DAP reply decoders (src/probe/cmsis_dap/dap_codec.c).
 * Input: byte 0 picks the decoder, byte 1 is its parameter (command id, Info id, number of
 * transfers ...), for DAP_Transfer the next n bytes are the request bytes, the rest is the
 * reply. Invariants (abort = crash): an error is negative and logged as exactly one error line
 * and leaves every out-parameter untouched; a success logs no error, reports counts within
 * what was sent, and never claims more reply bytes than it was given. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/log.h"
#include "probe/cmsis_dap/dap_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct flog_s {
    int nerr;
} flog_s;

static void flog_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    flog_s *f = user;
    if (cat != LODE_LOGC_PROBE || !msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        f->nerr++;
}

#define SENT 0xA5A5A5A5u

static void check_rc(int rc, const flog_s *f)
{
    if (rc > 0 || (rc < 0 && f->nerr != 1) || (rc == 0 && f->nerr != 0))
        abort();
}

/* The request byte made valid for the codec (no timestamp, match bits in their direction). */
static uint8_t fix_req(uint8_t b)
{
    b &= 0x3Fu;
    if (b & 0x02u)
        b &= (uint8_t)~0x20u;
    else
        b &= (uint8_t)~0x10u;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    flog_s f = {0};
    lode_log_s log = {flog_fn, &f, LODE_LOG_DEBUG};
    uint8_t sel = data[0], par = data[1];
    const uint8_t *r = data + 2;
    size_t len = size - 2, used = SENT;
    int rc;
    switch (sel % 14) {
    case 0:
        rc = lodei_dap_dec_status(r, len, par, &log, &used);
        check_rc(rc, &f);
        if ((rc && used != SENT) || (!rc && used > len))
            abort();
        break;
    case 1: {
        const uint8_t *d = NULL;
        size_t dlen = SENT;
        rc = lodei_dap_dec_info(r, len, par, &log, &d, &dlen, &used);
        check_rc(rc, &f);
        if (rc && (d || dlen != SENT || used != SENT))
            abort();
        if (!rc && (d != r + 2 || 2 + dlen != used || used > len))
            abort();
        volatile uint8_t x = 0;
        for (size_t i = 0; !rc && i < dlen; i++)
            x ^= d[i];
        (void)x;
        break;
    }
    case 2: {
        char s[16];
        memset(s, 'Z', sizeof s);
        rc = lodei_dap_dec_info_string(r, len, par, &log, s, (size_t)(par % 16) + 1);
        check_rc(rc, &f);
        if (rc && s[0] != 'Z')
            abort();
        if (!rc && strnlen(s, sizeof s) > (size_t)(par % 16))
            abort();
        break;
    }
    case 3: {
        uint16_t v = 0xA5A5;
        rc = lodei_dap_dec_info_caps(r, len, &log, &v);
        check_rc(rc, &f);
        if (rc && v != 0xA5A5)
            abort();
        break;
    }
    case 4: {
        uint8_t v = 0xA5;
        rc = lodei_dap_dec_info_packet_count(r, len, &log, &v);
        check_rc(rc, &f);
        if (rc && v != 0xA5)
            abort();
        break;
    }
    case 5: {
        uint16_t v = 0xA5A5;
        rc = lodei_dap_dec_info_packet_size(r, len, &log, &v);
        check_rc(rc, &f);
        if (rc && v != 0xA5A5)
            abort();
        break;
    }
    case 6: {
        uint8_t port = 0xA5;
        rc = lodei_dap_dec_connect(r, len, &log, &port, &used);
        check_rc(rc, &f);
        if ((rc && (port != 0xA5 || used != SENT)) || (!rc && port > 2))
            abort();
        break;
    }
    case 7: {
        uint8_t pins = 0xA5;
        rc = lodei_dap_dec_swj_pins(r, len, &log, &pins, &used);
        check_rc(rc, &f);
        if (rc && (pins != 0xA5 || used != SENT))
            abort();
        break;
    }
    case 8: {
        uint8_t ex = 0xA5;
        rc = lodei_dap_dec_reset_target(r, len, &log, &ex, &used);
        check_rc(rc, &f);
        if ((rc && ex != 0xA5) || (!rc && ex > 1))
            abort();
        break;
    }
    case 9: {
        uint8_t num = 0xA5;
        rc = lodei_dap_dec_multi(r, len, &log, &num, &used);
        check_rc(rc, &f);
        if (rc && num != 0xA5)
            abort();
        break;
    }
    case 10: {
        size_t n = 1 + par % 16;
        if (len < n)
            return 0;
        lode_dap_xfer_s x[16];
        uint32_t v[16];
        for (size_t i = 0; i < n; i++) {
            v[i] = SENT;
            x[i] = (lode_dap_xfer_s){.req = fix_req(r[i]), .wdata = 0, .rdata = &v[i]};
        }
        lodei_dap_xfer_result_s res;
        memset(&res, 0xA5, sizeof res);
        rc = lodei_dap_dec_transfer(r + n, len - n, x, n, &log, &res, &used);
        check_rc(rc, &f);
        if (rc) {
            for (size_t i = 0; i < n; i++)
                if (v[i] != SENT)
                    abort();
            if (used != SENT)
                abort();
            break;
        }
        if (res.count > n || res.done > res.count || used > len - n ||
            (res.indoubt && res.done >= n) ||
            (res.ack == LODE_DAP_ACK_OK && !res.mismatch && res.done != n))
            abort();
        for (size_t i = res.done; i < n; i++)
            if (v[i] != SENT)
                abort(); /* nothing past `done` is written */
        break;
    }
    default: {
        uint8_t req = par & 0x0Fu;
        size_t n = 1 + (size_t)(par >> 4) * 5;
        uint32_t *d = malloc(n * sizeof *d);
        if (!d)
            return 0;
        for (size_t i = 0; i < n; i++)
            d[i] = SENT;
        lodei_dap_xfer_result_s res;
        rc = lodei_dap_dec_transfer_block(r, len, req, n, &log, d, &res, &used);
        check_rc(rc, &f);
        if (!rc && (res.count > n || res.done > res.count || used > len))
            abort();
        size_t written = !rc && (req & 0x02u) ? res.count : 0;
        for (size_t i = written; i < n; i++)
            if (d[i] != SENT)
                abort();
        free(d);
        break;
    }
    case 12: {
        uint32_t baud = SENT;
        rc = lodei_dap_dec_swo_baudrate(r, len, &log, &baud);
        check_rc(rc, &f);
        break;
    }
    case 13: {
        uint8_t status = 0;
        const uint8_t *p = NULL;
        size_t n = 0;
        rc = lodei_dap_dec_swo_data(r, len, &log, &status, &p, &n);
        check_rc(rc, &f);
        if (!rc && (p < r || p + n > r + len))
            abort();
        break;
    }
    }
    return 0;
}
