/* SPDX-License-Identifier: MIT */
/* STK500v1 (AVR061) codec and client over a lode stream; see stk500v1.h. */
#include <string.h>

#include "boot/stk500v1.h"
#include "lode/error.h"

size_t lodei_stk1_encode(uint8_t *buf, size_t cap, uint8_t cmd, const uint8_t *args, size_t nargs)
{
    if (!buf || nargs + 2 > cap || (nargs && !args))
        return 0;
    buf[0] = cmd;
    if (nargs)
        memcpy(buf + 1, args, nargs);
    buf[nargs + 1] = LODEI_STK1_EOP;
    return nargs + 2;
}

lodei_stk1_reply_e lodei_stk1_decode(const uint8_t *buf, size_t n, size_t ndata, size_t *need)
{
    size_t want = ndata + 2;
    if (need)
        *need = 0;
    if (n == 0) {
        if (need)
            *need = want;
        return LODEI_STK1_R_MORE;
    }
    if (buf[0] == LODEI_STK1_NOSYNC)
        return LODEI_STK1_R_NOSYNC;
    if (buf[0] != LODEI_STK1_INSYNC)
        return LODEI_STK1_R_GARBAGE;
    if (n < want) {
        if (need)
            *need = want - n;
        return LODEI_STK1_R_MORE;
    }
    if (buf[want - 1] == LODEI_STK1_OK)
        return LODEI_STK1_R_DONE;
    if (buf[want - 1] == LODEI_STK1_FAILED)
        return LODEI_STK1_R_FAILED;
    return LODEI_STK1_R_GARBAGE;
}

static int timeout(const lodei_stk1_s *c) { return c->timeout_ms > 0 ? c->timeout_ms : 1000; }

static const char *cmd_name(uint8_t cmd)
{
    switch (cmd) {
    case LODEI_STK1_GET_SYNC: return "GET_SYNC";
    case LODEI_STK1_GET_PARAMETER: return "GET_PARAMETER";
    case LODEI_STK1_ENTER_PROGMODE: return "ENTER_PROGMODE";
    case LODEI_STK1_LEAVE_PROGMODE: return "LEAVE_PROGMODE";
    case LODEI_STK1_LOAD_ADDRESS: return "LOAD_ADDRESS";
    case LODEI_STK1_PROG_PAGE: return "PROG_PAGE";
    case LODEI_STK1_READ_PAGE: return "READ_PAGE";
    case LODEI_STK1_READ_SIGN: return "READ_SIGN";
    default: return "command";
    }
}

static int send_bytes(lodei_stk1_s *c, uint8_t cmd, const uint8_t *out, size_t n)
{
    int rc = lode_stream_write(c->s, out, n);
    if (rc != LODE_OK)
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the serial port failed sending %s (%s): was it unplugged?",
                 cmd_name(cmd), lode_strerror(rc));
    return rc;
}

/* The answer to cmd (sent), with ndata bytes in data. */
static int reply(lodei_stk1_s *c, uint8_t cmd, uint8_t *data, size_t ndata)
{
    uint8_t in[LODEI_STK1_MAX_PAGE + 4];
    size_t got = 0, need = 0;
    lodei_stk1_reply_e r;
    int rc;
    bool skip_stale = c->after_sync && cmd == LODEI_STK1_READ_SIGN;
    c->after_sync = false;
    for (;;) {
        /* late answers to sync tries come before this one (the bootloader answers in order):
         * whole 14 10 pairs, and the 10 of one whose 14 the sync read */
        while (skip_stale && got >= 1 && (in[0] == LODEI_STK1_OK || (got >= 2 && in[0] == LODEI_STK1_INSYNC &&
                                                                        in[1] == LODEI_STK1_OK))) {
            size_t k = in[0] == LODEI_STK1_OK ? 1 : 2;
            memmove(in, in + k, got - k);
            got -= k;
        }
        if ((r = lodei_stk1_decode(in, got, ndata, &need)) != LODEI_STK1_R_MORE)
            break;
        size_t k = 0;
        rc = lodei_boot_read(c->s, &c->clock, in + got, need, &k, timeout(c));
        if (rc != LODE_OK) {
            lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     rc == LODE_E_TIMEOUT ? "the bootloader stopped answering during %s (%zu of %zu bytes came): "
                                            "it may have timed out and started the application; try again"
                                          : "the serial port failed during %s (%zu of %zu bytes came): was it "
                                            "unplugged?",
                     cmd_name(cmd), got, ndata + 2);
            return rc;
        }
        got += k;
    }
    switch (r) {
    case LODEI_STK1_R_DONE:
        if (ndata)
            memcpy(data, in + 1, ndata);
        return LODE_OK;
    case LODEI_STK1_R_FAILED:
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader refused %s (STK_FAILED)", cmd_name(cmd));
        return LODE_E_FLASH;
    case LODEI_STK1_R_NOSYNC:
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader lost sync at %s (STK_NOSYNC): bytes were lost on the line; try again", cmd_name(cmd));
        return LODE_E_PROTOCOL;
    default:
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader's answer to %s is not STK500 (first byte 0x%02x): wrong baud or another "
                 "protocol?", cmd_name(cmd), in[0]);
        return LODE_E_PROTOCOL;
    }
}

int lodei_stk1_command(lodei_stk1_s *c, uint8_t cmd, const uint8_t *args, size_t nargs, uint8_t *data,
                       size_t ndata)
{
    uint8_t out[LODEI_STK1_MAX_PAGE + 8];
    if (ndata > LODEI_STK1_MAX_PAGE)
        return LODE_E_INVALID_ARG;
    size_t n = lodei_stk1_encode(out, sizeof out, cmd, args, nargs);
    if (!n)
        return LODE_E_INVALID_ARG;
    int rc = send_bytes(c, cmd, out, n);
    return rc == LODE_OK ? reply(c, cmd, data, ndata) : rc;
}

/* LOAD_ADDRESS and the page command in one write: the bootloader answers LOAD_ADDRESS at once
 * (two bytes out of its transmitter) and reads on, so nothing waits in its two-byte receive
 * buffer for long; both answers are read after. */
static int page_cmd(lodei_stk1_s *c, uint16_t addr, uint8_t cmd, char memtype, const uint8_t *wdata, uint8_t *rdata,
                    size_t len)
{
    uint8_t out[4 + 3 + LODEI_STK1_MAX_PAGE + 2], args[3 + LODEI_STK1_MAX_PAGE];
    if (!len || len > LODEI_STK1_MAX_PAGE)
        return LODE_E_INVALID_ARG;
    const uint8_t a[2] = {(uint8_t)addr, (uint8_t)(addr >> 8)};
    size_t n = lodei_stk1_encode(out, sizeof out, LODEI_STK1_LOAD_ADDRESS, a, 2);
    args[0] = (uint8_t)(len >> 8);
    args[1] = (uint8_t)len;
    args[2] = (uint8_t)memtype;
    if (wdata)
        memcpy(args + 3, wdata, len);
    size_t k = lodei_stk1_encode(out + n, sizeof out - n, cmd, args, wdata ? 3 + len : 3);
    int rc = send_bytes(c, cmd, out, n + k);
    if (rc == LODE_OK)
        rc = reply(c, LODEI_STK1_LOAD_ADDRESS, NULL, 0);
    if (rc == LODE_OK)
        rc = reply(c, cmd, rdata, rdata ? len : 0);
    return rc;
}

int lodei_stk1_load_prog(lodei_stk1_s *c, uint16_t addr, char memtype, const uint8_t *data, size_t len)
{
    return page_cmd(c, addr, LODEI_STK1_PROG_PAGE, memtype, data, NULL, len);
}

int lodei_stk1_load_read(lodei_stk1_s *c, uint16_t addr, char memtype, uint8_t *data, size_t len)
{
    return page_cmd(c, addr, LODEI_STK1_READ_PAGE, memtype, NULL, data, len);
}

/* INSYNC OK somewhere in in[0..n) */
static bool has_pair(const uint8_t *in, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (in[i] == LODEI_STK1_INSYNC && in[i + 1] == LODEI_STK1_OK)
            return true;
    return false;
}

int lodei_stk1_sync(lodei_stk1_s *c, unsigned tries, int wait_ms, lodei_stk1_sync_e *seen, uint8_t first[8],
                    size_t *nfirst)
{
    static const uint8_t sync[2] = {LODEI_STK1_GET_SYNC, LODEI_STK1_EOP};
    uint8_t got[8];
    size_t ngot = 0;
    bool any = false, all_echo = true;
    for (unsigned t = 0; t < (tries ? tries : 1); t++) {
        lode_stream_flush(c->s);
        if (lode_stream_write(c->s, sync, sizeof sync) != LODE_OK)
            break;
        uint8_t in[64];
        size_t n = 0;
        /* collect what comes within wait_ms; an answer that ends in INSYNC may be a pair split
         * across reads (10 14 | 10 on a loaded host): its OK is waited for too */
        while (n < 2 || (in[n - 1] == LODEI_STK1_INSYNC && n < sizeof in && !has_pair(in, n))) {
            size_t k = 0;
            if (lodei_boot_read(c->s, &c->clock, in + n, sizeof in - n, &k, wait_ms) != LODE_OK)
                break;
            n += k;
        }
        for (size_t i = 0; i < n; i++) {
            if (ngot < sizeof got)
                got[ngot++] = in[i];
            if (in[i] != sync[(i) % 2])
                all_echo = false;
        }
        any = any || n > 0;
        /* late answers to earlier tries can shift the pairs (14 10 14 | 10 ...): any pair will do */
        if (has_pair(in, n)) {
            /* answers to earlier tries may still be on their way (late on a loaded host): the
             * next command, READ_SIGN, skips them */
            *seen = LODEI_STK1_SYNC_OK;
            c->after_sync = true;
            return LODE_OK;
        }
    }
    *seen = !any ? LODEI_STK1_SYNC_SILENT : all_echo ? LODEI_STK1_SYNC_ECHO : LODEI_STK1_SYNC_GARBAGE;
    if (first && nfirst) {
        memcpy(first, got, ngot);
        *nfirst = ngot;
    }
    return LODE_E_NO_DEVICE;
}

int lodei_stk1_signature(lodei_stk1_s *c, uint8_t sig[3])
{
    return lodei_stk1_command(c, LODEI_STK1_READ_SIGN, NULL, 0, sig, 3);
}

int lodei_stk1_get_parameter(lodei_stk1_s *c, uint8_t param, uint8_t *value)
{
    return lodei_stk1_command(c, LODEI_STK1_GET_PARAMETER, &param, 1, value, 1);
}

int lodei_stk1_load_address(lodei_stk1_s *c, uint16_t word)
{
    uint8_t a[2] = {(uint8_t)word, (uint8_t)(word >> 8)};
    return lodei_stk1_command(c, LODEI_STK1_LOAD_ADDRESS, a, 2, NULL, 0);
}

int lodei_stk1_prog_page(lodei_stk1_s *c, char memtype, const uint8_t *data, size_t len)
{
    uint8_t a[3 + LODEI_STK1_MAX_PAGE];
    if (!len || len > LODEI_STK1_MAX_PAGE)
        return LODE_E_INVALID_ARG;
    a[0] = (uint8_t)(len >> 8);
    a[1] = (uint8_t)len;
    a[2] = (uint8_t)memtype;
    memcpy(a + 3, data, len);
    return lodei_stk1_command(c, LODEI_STK1_PROG_PAGE, a, 3 + len, NULL, 0);
}

int lodei_stk1_read_page(lodei_stk1_s *c, char memtype, uint8_t *data, size_t len)
{
    if (!len || len > LODEI_STK1_MAX_PAGE)
        return LODE_E_INVALID_ARG;
    uint8_t a[3] = {(uint8_t)(len >> 8), (uint8_t)len, (uint8_t)memtype};
    return lodei_stk1_command(c, LODEI_STK1_READ_PAGE, a, 3, data, len);
}

int lodei_stk1_leave(lodei_stk1_s *c) { return lodei_stk1_command(c, LODEI_STK1_LEAVE_PROGMODE, NULL, 0, NULL, 0); }
