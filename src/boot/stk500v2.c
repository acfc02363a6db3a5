/* SPDX-License-Identifier: MIT */
/* STK500v2 (AVR068) codec and client over a lode stream; see stk500v2.h. */
#include <string.h>

#include "boot/stk500v2.h"
#include "lode/error.h"

size_t lodei_stk2_encode(uint8_t *buf, size_t cap, uint8_t seq, const uint8_t *body, size_t len)
{
    if (!buf || !body || !len || len > LODEI_STK2_MAX_BODY || len + 6 > cap)
        return 0;
    buf[0] = LODEI_STK2_START;
    buf[1] = seq;
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    buf[4] = LODEI_STK2_TOKEN;
    memcpy(buf + 5, body, len);
    uint8_t sum = 0;
    for (size_t i = 0; i < len + 5; i++)
        sum ^= buf[i];
    buf[len + 5] = sum;
    return len + 6;
}

/* decoder states */
enum { RX_START = 0, RX_SEQ, RX_SIZE_HI, RX_SIZE_LO, RX_TOKEN, RX_BODY, RX_SUM };

void lodei_stk2_rx_init(lodei_stk2_rx_s *rx)
{
    memset(rx, 0, sizeof *rx);
}

lodei_stk2_rx_e lodei_stk2_rx_feed(lodei_stk2_rx_s *rx, uint8_t b)
{
    switch (rx->state) {
    case RX_START:
        if (b == LODEI_STK2_START) {
            rx->sum = b;
            rx->state = RX_SEQ;
        } else {
            rx->skipped++;
        }
        return LODEI_STK2_RX_MORE;
    case RX_SEQ:
        rx->seq = b;
        rx->sum ^= b;
        rx->state = RX_SIZE_HI;
        return LODEI_STK2_RX_MORE;
    case RX_SIZE_HI:
        rx->size = (size_t)b << 8;
        rx->sum ^= b;
        rx->state = RX_SIZE_LO;
        return LODEI_STK2_RX_MORE;
    case RX_SIZE_LO:
        rx->size |= b;
        rx->sum ^= b;
        if (!rx->size || rx->size > LODEI_STK2_MAX_BODY) {
            rx->state = RX_START;
            return LODEI_STK2_RX_TOO_LONG;
        }
        rx->state = RX_TOKEN;
        return LODEI_STK2_RX_MORE;
    case RX_TOKEN:
        rx->sum ^= b;
        if (b != LODEI_STK2_TOKEN) {
            rx->state = RX_START;
            return LODEI_STK2_RX_BAD_TOKEN;
        }
        rx->got = 0;
        rx->state = RX_BODY;
        return LODEI_STK2_RX_MORE;
    case RX_BODY:
        rx->body[rx->got++] = b; /* got < size <= sizeof body */
        rx->sum ^= b;
        if (rx->got == rx->size)
            rx->state = RX_SUM;
        return LODEI_STK2_RX_MORE;
    default: /* RX_SUM */
        rx->state = RX_START;
        return b == rx->sum ? LODEI_STK2_RX_FRAME : LODEI_STK2_RX_BAD_SUM;
    }
}

/* ---- the client ------------------------------------------------------------------------------ */

static int timeout(const lodei_stk2_s *c) { return c->timeout_ms > 0 ? c->timeout_ms : 1000; }

static const char *cmd_name(uint8_t cmd)
{
    switch (cmd) {
    case LODEI_STK2_SIGN_ON: return "SIGN_ON";
    case LODEI_STK2_GET_PARAMETER: return "GET_PARAMETER";
    case LODEI_STK2_LOAD_ADDRESS: return "LOAD_ADDRESS";
    case LODEI_STK2_ENTER_PROGMODE_ISP: return "ENTER_PROGMODE_ISP";
    case LODEI_STK2_LEAVE_PROGMODE_ISP: return "LEAVE_PROGMODE_ISP";
    case LODEI_STK2_CHIP_ERASE_ISP: return "CHIP_ERASE_ISP";
    case LODEI_STK2_PROGRAM_FLASH_ISP: return "PROGRAM_FLASH_ISP";
    case LODEI_STK2_READ_FLASH_ISP: return "READ_FLASH_ISP";
    case LODEI_STK2_PROGRAM_EEPROM_ISP: return "PROGRAM_EEPROM_ISP";
    case LODEI_STK2_READ_EEPROM_ISP: return "READ_EEPROM_ISP";
    case LODEI_STK2_READ_SIGNATURE_ISP: return "READ_SIGNATURE_ISP";
    default: return "command";
    }
}

static const char *rx_problem(lodei_stk2_rx_e r)
{
    return r == LODEI_STK2_RX_BAD_TOKEN ? "a message without the 0x0E token"
           : r == LODEI_STK2_RX_TOO_LONG ? "a message of impossible size"
                                         : "a message with a wrong checksum";
}

/* Send one message; receive messages until one carries seq (older answers are dropped). */
static int exchange(lodei_stk2_s *c, const uint8_t *body, size_t len, int wait_ms, lodei_stk2_rx_s *rx, bool quiet)
{
    uint8_t out[LODEI_STK2_MAX_BODY + 6];
    size_t n = lodei_stk2_encode(out, sizeof out, c->seq, body, len);
    if (!n)
        return LODE_E_INVALID_ARG;
    int rc = lode_stream_write(c->s, out, n);
    if (rc != LODE_OK) {
        if (!quiet)
            lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "the serial port failed sending %s (%s): was it unplugged?", cmd_name(body[0]), lode_strerror(rc));
        return rc;
    }
    uint8_t seq = c->seq++;
    lodei_stk2_rx_init(rx);
    for (;;) {
        uint8_t in[64];
        size_t k = 0;
        rc = lodei_boot_read(c->s, &c->clock, in, sizeof in, &k, wait_ms);
        if (rc != LODE_OK) {
            if (!quiet)
                lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                         rc == LODE_E_TIMEOUT ? "the bootloader stopped answering during %s: it may have timed out "
                                                "and started the application; try again"
                                              : "the serial port failed during %s: was it unplugged?",
                         cmd_name(body[0]));
            return rc;
        }
        for (size_t i = 0; i < k; i++) {
            lodei_stk2_rx_e r = lodei_stk2_rx_feed(rx, in[i]);
            if (r == LODEI_STK2_RX_FRAME && rx->seq == seq)
                return LODE_OK; /* bytes after it in this read belong to nothing lode asked */
            if (r != LODEI_STK2_RX_MORE && r != LODEI_STK2_RX_FRAME) {
                if (!quiet)
                    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                             "the bootloader's answer to %s is %s: bytes were lost on the line, or this is not "
                             "STK500v2; try again", cmd_name(body[0]), rx_problem(r));
                return LODE_E_PROTOCOL;
            }
        }
    }
}

int lodei_stk2_command(lodei_stk2_s *c, const uint8_t *body, size_t len, uint8_t *ans, size_t cap, size_t *nans,
                       bool may_fail)
{
    lodei_stk2_rx_s rx;
    int rc = exchange(c, body, len, timeout(c), &rx, false);
    if (rc != LODE_OK)
        return rc;
    if (rx.size < 2 || rx.body[0] != body[0]) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader answered %s with %s (%zu bytes): not the STK500v2 it should be", cmd_name(body[0]),
                 rx.size < 2 ? "a message too short" : "another command's answer", rx.size);
        return LODE_E_PROTOCOL;
    }
    if (rx.size > cap) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader's answer to %s is %zu bytes, more than the %zu it should be", cmd_name(body[0]),
                 rx.size, cap);
        return LODE_E_PROTOCOL;
    }
    if (rx.body[1] != LODEI_STK2_STATUS_OK && !may_fail) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader refused %s (status 0x%02x)",
                 cmd_name(body[0]), rx.body[1]);
        return LODE_E_FLASH;
    }
    memcpy(ans, rx.body, rx.size);
    *nans = rx.size;
    return LODE_OK;
}

int lodei_stk2_sign_on(lodei_stk2_s *c, unsigned tries, int wait_ms, char *name, size_t cap,
                       lodei_stk2_sync_e *seen, uint8_t first[8], size_t *nfirst)
{
    static const uint8_t body[1] = {LODEI_STK2_SIGN_ON};
    uint8_t got[8];
    size_t ngot = 0;
    bool any = false, echo = true, v1 = false;
    for (unsigned t = 0; t < (tries ? tries : 1); t++) {
        uint8_t sent[8], in[128];
        size_t nsent = lodei_stk2_encode(sent, sizeof sent, c->seq++, body, 1), n = 0;
        lode_stream_flush(c->s);
        if (lode_stream_write(c->s, sent, nsent) != LODE_OK)
            break;
        /* what comes within wait_ms, or until a whole answer is there */
        lodei_stk2_rx_s rx;
        lodei_stk2_rx_init(&rx);
        bool done = false;
        while (!done && n < sizeof in) {
            size_t k = 0;
            if (lodei_boot_read(c->s, &c->clock, in + n, sizeof in - n, &k, wait_ms) != LODE_OK)
                break;
            for (size_t i = n; i < n + k && !done; i++)
                done = lodei_stk2_rx_feed(&rx, in[i]) == LODEI_STK2_RX_FRAME && rx.seq == sent[1] && rx.size >= 3 &&
                       rx.body[0] == LODEI_STK2_SIGN_ON;
            n += k;
        }
        if (done && rx.body[1] == LODEI_STK2_STATUS_OK) {
            size_t len = rx.body[2] <= rx.size - 3 ? rx.body[2] : rx.size - 3;
            for (size_t i = 0; i < len && i + 1 < cap; i++)
                name[i] = (rx.body[3 + i] >= 0x20 && rx.body[3 + i] < 0x7f) ? (char)rx.body[3 + i] : '?';
            if (cap)
                name[len < cap ? len : cap - 1] = 0;
            /* answers to earlier tries may still be on their way: let them arrive, then drop them */
            size_t k = 0;
            while (lode_stream_read(c->s, in, sizeof in, &k, 100) == LODE_OK)
                ;
            *seen = LODEI_STK2_SYNC_OK;
            return LODE_OK;
        }
        any = any || n > 0;
        for (size_t i = 0; i < n; i++) {
            if (ngot < sizeof got)
                got[ngot++] = in[i];
            if (in[i] != sent[i % nsent])
                echo = false;
            if (i + 1 < n && ((in[i] == 0x14 && in[i + 1] == 0x10) || (in[i] == 0x15 && in[i + 1] == 0x15)))
                v1 = true;
        }
    }
    *seen = !any ? LODEI_STK2_SYNC_SILENT : v1 ? LODEI_STK2_SYNC_STK500V1 : echo ? LODEI_STK2_SYNC_ECHO
                                                                         : LODEI_STK2_SYNC_GARBAGE;
    if (first && nfirst) {
        memcpy(first, got, ngot);
        *nfirst = ngot;
    }
    return LODE_E_NO_DEVICE;
}

int lodei_stk2_get_parameter(lodei_stk2_s *c, uint8_t param, uint8_t *value)
{
    uint8_t body[2] = {LODEI_STK2_GET_PARAMETER, param}, ans[8];
    size_t n = 0;
    int rc = lodei_stk2_command(c, body, 2, ans, sizeof ans, &n, false);
    if (rc == LODE_OK && n < 3)
        rc = LODE_E_PROTOCOL;
    if (rc == LODE_OK)
        *value = ans[2];
    return rc;
}

int lodei_stk2_signature(lodei_stk2_s *c, uint8_t sig[3])
{
    for (uint8_t i = 0; i < 3; i++) {
        /* retAddr 4, then the ISP instruction "read signature byte i" (0x30 0x00 i 0x00) */
        uint8_t body[6] = {LODEI_STK2_READ_SIGNATURE_ISP, 4, 0x30, 0x00, i, 0x00}, ans[8];
        size_t n = 0;
        int rc = lodei_stk2_command(c, body, sizeof body, ans, sizeof ans, &n, false);
        if (rc == LODE_OK && n < 3)
            rc = LODE_E_PROTOCOL;
        if (rc != LODE_OK)
            return rc;
        sig[i] = ans[2];
    }
    return LODE_OK;
}

int lodei_stk2_enter_progmode(lodei_stk2_s *c)
{
    /* timeout, stabDelay, cmdexeDelay, synchLoops, byteDelay, pollValue, pollIndex, the ISP
     * "programming enable" instruction (AVR068; a bootloader ignores them) */
    uint8_t body[12] = {LODEI_STK2_ENTER_PROGMODE_ISP, 200, 100, 25, 32, 0, 0x53, 3, 0xAC, 0x53, 0x00, 0x00};
    uint8_t ans[8];
    size_t n = 0;
    return lodei_stk2_command(c, body, sizeof body, ans, sizeof ans, &n, false);
}

int lodei_stk2_leave_progmode(lodei_stk2_s *c)
{
    uint8_t body[3] = {LODEI_STK2_LEAVE_PROGMODE_ISP, 1, 1}, ans[8];
    size_t n = 0;
    return lodei_stk2_command(c, body, sizeof body, ans, sizeof ans, &n, false);
}

int lodei_stk2_load_address(lodei_stk2_s *c, uint32_t addr)
{
    uint8_t body[5] = {LODEI_STK2_LOAD_ADDRESS, (uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
                       (uint8_t)addr};
    uint8_t ans[8];
    size_t n = 0;
    return lodei_stk2_command(c, body, sizeof body, ans, sizeof ans, &n, false);
}

int lodei_stk2_program(lodei_stk2_s *c, bool eeprom, const uint8_t *data, size_t len)
{
    uint8_t body[10 + 256], ans[8];
    if (!len || len > 256 || (!eeprom && (len & 1)))
        return LODE_E_INVALID_ARG;
    /* NumBytes, mode (page mode, write page), delay, the ISP instructions (load page low,
     * write page, read) and poll values: AVR068's fields, which a bootloader ignores */
    body[0] = eeprom ? LODEI_STK2_PROGRAM_EEPROM_ISP : LODEI_STK2_PROGRAM_FLASH_ISP;
    body[1] = (uint8_t)(len >> 8);
    body[2] = (uint8_t)len;
    body[3] = 0xC1;
    body[4] = 10;
    body[5] = eeprom ? 0xC1 : 0x40;
    body[6] = eeprom ? 0xC2 : 0x4C;
    body[7] = eeprom ? 0xA0 : 0x20;
    body[8] = 0xFF;
    body[9] = 0xFF;
    memcpy(body + 10, data, len);
    size_t n = 0;
    return lodei_stk2_command(c, body, 10 + len, ans, sizeof ans, &n, false);
}

int lodei_stk2_read(lodei_stk2_s *c, bool eeprom, uint8_t *data, size_t len)
{
    uint8_t body[4] = {eeprom ? LODEI_STK2_READ_EEPROM_ISP : LODEI_STK2_READ_FLASH_ISP, (uint8_t)(len >> 8),
                       (uint8_t)len, eeprom ? 0xA0 : 0x20};
    uint8_t ans[256 + 3];
    if (!len || len > 256 || (!eeprom && (len & 1)))
        return LODE_E_INVALID_ARG;
    size_t n = 0;
    int rc = lodei_stk2_command(c, body, sizeof body, ans, sizeof ans, &n, false);
    if (rc != LODE_OK)
        return rc;
    if (n != len + 3) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader answered a read of %zu bytes with %zu: not the STK500v2 it should be", len,
                 n >= 3 ? n - 3 : 0);
        return LODE_E_PROTOCOL;
    }
    memcpy(data, ans + 2, len);
    return LODE_OK;
}
