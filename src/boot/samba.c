/* SPDX-License-Identifier: MIT */
/* The SAM-BA monitor client (samba.h) over a lode stream: commands, their answers, blocks raw
 * (USB CDC) or in XMODEM-CRC (a plain UART). */
#include <stdio.h>
#include <string.h>

#include "boot/samba.h"
#include "lode/error.h"

#define XM_TRIES 10
#define WANT_C_MS 3000 /* the monitor's 'C' that opens an XMODEM receive */

static int tmo(const lodei_samba_s *c) { return c->timeout_ms > 0 ? c->timeout_ms : 10000; }

static int send_cmd(lodei_samba_s *c, char op, uint32_t addr, uint32_t arg, bool has_arg)
{
    char cmd[LODEI_SAMBA_CMD_MAX];
    size_t n = lodei_samba_cmd(op, addr, arg, has_arg, cmd);
    c->commands++;
    return lode_stream_write(c->s, cmd, n);
}

static int timeout(lodei_samba_s *c, const char *what, size_t got)
{
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "the SAM-BA monitor did not answer %s (%zu bytes came): the board left the bootloader or the line "
             "is noisy; reset it into the bootloader (double-tap reset) and try again", what, got);
    return LODE_E_TIMEOUT;
}

static int garbage(lodei_samba_s *c, const char *what, const uint8_t *b, size_t n)
{
    char hex[3 * 12 + 1] = "";
    for (size_t i = 0, u = 0; i < n && i < 12; i++)
        u += (size_t)snprintf(hex + u, sizeof hex - u, "%s%02x", i ? " " : "", b[i]);
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the answer to %s is not SAM-BA's (%s)", what, hex);
    return LODE_E_PROTOCOL;
}

/* A read failure, logged: nothing in time, or the port gone. */
static int read_failed(lodei_samba_s *c, int rc, const char *what, size_t got)
{
    if (rc == LODE_E_TIMEOUT)
        return timeout(c, what, got);
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "the port closed while lode waited for the answer to %s (the board reset or was unplugged)", what);
    return rc;
}

/* What is there (at least one byte), within ms; failures logged. */
static int rd(lodei_samba_s *c, uint8_t *buf, size_t cap, size_t *got, int ms, const char *what, size_t sofar)
{
    int rc = lode_stream_read(c->s, buf, cap, got, ms);
    return rc == LODE_OK ? rc : read_failed(c, rc, what, sofar);
}

static int read_exact(lodei_samba_s *c, uint8_t *buf, size_t n, const char *what)
{
    int rc = lode_stream_read_exact(c->s, buf, n, tmo(c) + (int)(n / 16));
    return rc == LODE_OK ? rc : read_failed(c, rc, what, 0);
}

/* Read until `letter`'s kind of answer is complete: 'X'/'Y' acks, 'Z' a CRC. */
static int read_reply(lodei_samba_s *c, char letter, const char *what, int timeout_ms, uint16_t *crc)
{
    uint8_t buf[32];
    size_t n = 0, used = 0;
    for (;;) {
        lodei_samba_reply_e r = letter == 'Z' ? lodei_samba_decode_crc(buf, n, crc, &used)
                                              : lodei_samba_decode_ack(letter, buf, n, &used);
        if (r == LODEI_SAMBA_R_DONE)
            return LODE_OK;
        if (r == LODEI_SAMBA_R_REFUSED) {
            lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the SAM-BA monitor refused %s (E): below the application, misaligned, or a flash error",
                     what);
            return LODE_E_FLASH;
        }
        if (r == LODEI_SAMBA_R_GARBAGE || n == sizeof buf)
            return garbage(c, what, buf, n);
        size_t got = 0;
        int rc = rd(c, buf + n, 1, &got, timeout_ms, what, n);
        if (rc != LODE_OK)
            return rc;
        n += got;
    }
}



int lodei_samba_sync(lodei_samba_s *c, unsigned tries, int wait_ms, lodei_samba_sync_e *seen, uint8_t *first,
                     size_t *nfirst)
{
    static const uint8_t preamble[] = {0x80, 0x80, '#'};
    uint8_t buf[64];
    size_t n = 0;
    *nfirst = 0;
    *seen = LODEI_SAMBA_SYNC_SILENT;
    for (unsigned t = 0; t < tries; t++) {
        int rc = LODE_OK;
        if (c->uart)
            rc = lode_stream_write(c->s, preamble, sizeof preamble);
        if (rc == LODE_OK)
            rc = send_cmd(c, 'N', 0, 0, false);
        if (rc != LODE_OK)
            return rc;
        for (;;) {
            size_t len = 0, used = 0;
            if (lodei_samba_decode_line(buf, n, sizeof buf, &len, &used) == LODEI_SAMBA_R_DONE) {
                /* the last try's answer: drop any earlier tries' that follow it */
                lode_stream_flush(c->s);
                *seen = LODEI_SAMBA_SYNC_OK;
                return LODE_OK;
            }
            size_t got = 0;
            if (n == sizeof buf) {
                memmove(buf, buf + 32, n - 32);
                n -= 32;
            }
            rc = lode_stream_read(c->s, buf + n, sizeof buf - n, &got, wait_ms);
            if (rc == LODE_E_TIMEOUT)
                break;
            if (rc != LODE_OK)
                return read_failed(c, rc, "N# (binary mode)", n);
            for (size_t i = 0; i < got && *nfirst < 16; i++)
                first[(*nfirst)++] = buf[n + i];
            n += got;
        }
    }
    if (*nfirst) {
        bool echo = *nfirst >= 2 && (!memcmp(first, "N#", 2) || (first[0] == 0x80 && first[*nfirst - 1] == '#'));
        *seen = echo ? LODEI_SAMBA_SYNC_ECHO : LODEI_SAMBA_SYNC_GARBAGE;
    }
    return LODE_E_NO_DEVICE;
}

int lodei_samba_version(lodei_samba_s *c, lodei_samba_version_s *v)
{
    int rc = send_cmd(c, 'V', 0, 0, false);
    if (rc != LODE_OK)
        return rc;
    uint8_t buf[LODEI_SAMBA_VERSION_MAX + 8];
    size_t n = 0;
    for (;;) {
        size_t len = 0, used = 0;
        lodei_samba_reply_e r = lodei_samba_decode_line(buf, n, LODEI_SAMBA_VERSION_MAX, &len, &used);
        if (r == LODEI_SAMBA_R_DONE) {
            if (!lodei_samba_parse_version(buf, len, v))
                return garbage(c, "V# (version)", buf, n);
            return LODE_OK;
        }
        if (r == LODEI_SAMBA_R_GARBAGE || n == sizeof buf)
            return garbage(c, "V# (version)", buf, n);
        size_t got = 0;
        if ((rc = rd(c, buf + n, 1, &got, tmo(c), "V# (version)", n)) != LODE_OK)
            return rc;
        n += got;
    }
}

static int read_n(lodei_samba_s *c, char op, uint32_t addr, uint8_t *b, size_t n)
{
    int rc = send_cmd(c, op, addr, (uint32_t)n, true);
    return rc == LODE_OK ? read_exact(c, b, n, op == 'w' ? "a word read" : op == 'h' ? "a half-word read"
                                                                                      : "a byte read")
                         : rc;
}

int lodei_samba_read_word(lodei_samba_s *c, uint32_t addr, uint32_t *v)
{
    uint8_t b[4];
    int rc = read_n(c, 'w', addr, b, 4);
    if (rc == LODE_OK)
        *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return rc;
}

int lodei_samba_read_half(lodei_samba_s *c, uint32_t addr, uint16_t *v)
{
    uint8_t b[2];
    int rc = read_n(c, 'h', addr, b, 2);
    if (rc == LODE_OK)
        *v = (uint16_t)(b[0] | b[1] << 8);
    return rc;
}

int lodei_samba_read_byte(lodei_samba_s *c, uint32_t addr, uint8_t *v)
{
    return read_n(c, 'o', addr, v, 1);
}

int lodei_samba_write_word(lodei_samba_s *c, uint32_t addr, uint32_t v) { return send_cmd(c, 'W', addr, v, true); }
int lodei_samba_write_half(lodei_samba_s *c, uint32_t addr, uint16_t v) { return send_cmd(c, 'H', addr, v, true); }
int lodei_samba_write_byte(lodei_samba_s *c, uint32_t addr, uint8_t v) { return send_cmd(c, 'O', addr, v, true); }
int lodei_samba_go(lodei_samba_s *c, uint32_t addr) { return send_cmd(c, 'G', addr, 0, false); }

/* Wait for one of the bytes in `want` (XMODEM control), skipping others. */
static int xm_wait(lodei_samba_s *c, const char *want, size_t nwant, int timeout_ms, uint8_t *got_byte,
                   const char *what)
{
    for (;;) {
        uint8_t b;
        size_t got = 0;
        int rc = rd(c, &b, 1, &got, timeout_ms, what, 0);
        if (rc != LODE_OK)
            return rc;
        if (memchr(want, b, nwant)) {
            *got_byte = b;
            return LODE_OK;
        }
    }
}

static int xm_send(lodei_samba_s *c, const uint8_t *data, size_t n)
{
    uint8_t b = 0;
    int rc = xm_wait(c, "C", 1, WANT_C_MS, &b, "S (the XMODEM 'C')");
    uint8_t blk = 1;
    for (size_t off = 0; rc == LODE_OK && off < n; blk++) {
        uint8_t frame[LODEI_SAMBA_XM_FRAME];
        size_t k = n - off < LODEI_SAMBA_XM_BLOCK ? n - off : LODEI_SAMBA_XM_BLOCK;
        lodei_samba_xm_block(blk, data + off, k, 0, frame);
        unsigned t = 0;
        for (; t < XM_TRIES; t++) {
            if ((rc = lode_stream_write(c->s, frame, sizeof frame)) != LODE_OK)
                return rc;
            const char want[] = {LODEI_XM_ACK, LODEI_XM_NAK, LODEI_XM_CAN};
            if ((rc = xm_wait(c, want, sizeof want, tmo(c), &b, "an XMODEM block")) != LODE_OK)
                return rc;
            if (b == LODEI_XM_ACK)
                break;
            if (b == LODEI_XM_CAN) {
                lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the SAM-BA monitor cancelled the XMODEM send");
                return LODE_E_PROTOCOL;
            }
        }
        if (t == XM_TRIES) {
            lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "the SAM-BA monitor refused XMODEM block %u %d times (NAK): the line loses bytes; try a "
                     "lower baud", blk, XM_TRIES);
            return LODE_E_PROTOCOL;
        }
        off += k;
    }
    if (rc != LODE_OK)
        return rc;
    const uint8_t eot = LODEI_XM_EOT;
    if ((rc = lode_stream_write(c->s, &eot, 1)) != LODE_OK)
        return rc;
    const char ack[] = {LODEI_XM_ACK};
    return xm_wait(c, ack, 1, tmo(c), &b, "the XMODEM end (EOT)");
}

static int xm_receive(lodei_samba_s *c, uint8_t *buf, size_t n, const char *what)
{
    const uint8_t start = LODEI_XM_CRC, ack = LODEI_XM_ACK, nak = LODEI_XM_NAK;
    int rc = lode_stream_write(c->s, &start, 1);
    uint8_t blk = 1;
    size_t off = 0;
    unsigned bad = 0;
    while (rc == LODE_OK) {
        uint8_t frame[LODEI_SAMBA_XM_FRAME];
        if ((rc = read_exact(c, frame, 1, what)) != LODE_OK)
            return rc;
        if (frame[0] == LODEI_XM_EOT) {
            if ((rc = lode_stream_write(c->s, &ack, 1)) != LODE_OK)
                return rc;
            if (off < n) {
                lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                         "the SAM-BA monitor ended the XMODEM transfer after %zu of %zu bytes", off, n);
                return LODE_E_PROTOCOL;
            }
            return LODE_OK;
        }
        if (frame[0] != LODEI_XM_SOH)
            return garbage(c, what, frame, 1);
        if ((rc = read_exact(c, frame + 1, sizeof frame - 1, what)) != LODE_OK)
            return rc;
        if (!lodei_samba_xm_check(frame, blk)) {
            if (frame[1] == (uint8_t)(blk - 1) && frame[2] == 0xFFu - (uint8_t)(blk - 1)) {
                rc = lode_stream_write(c->s, &ack, 1); /* a repeat of the last block */
                continue;
            }
            if (++bad == XM_TRIES)
                return garbage(c, what, frame, sizeof frame);
            lode_stream_flush(c->s);
            rc = lode_stream_write(c->s, &nak, 1);
            continue;
        }
        size_t k = n - off < LODEI_SAMBA_XM_BLOCK ? n - off : LODEI_SAMBA_XM_BLOCK;
        memcpy(buf + off, frame + 3, k);
        off += k;
        blk++;
        rc = lode_stream_write(c->s, &ack, 1);
    }
    return rc;
}

int lodei_samba_send(lodei_samba_s *c, uint32_t addr, const uint8_t *data, size_t n)
{
    int rc = send_cmd(c, 'S', addr, (uint32_t)n, true);
    if (rc != LODE_OK)
        return rc;
    return c->uart ? xm_send(c, data, n) : lode_stream_write(c->s, data, n);
}

int lodei_samba_receive(lodei_samba_s *c, uint32_t addr, uint8_t *buf, size_t n)
{
    size_t step = c->uart ? n : c->chunk_reads ? LODEI_SAMBA_USB_READ_MAX : n;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < step ? n - off : step;
        int rc = send_cmd(c, 'R', addr + (uint32_t)off, (uint32_t)k, true);
        if (rc == LODE_OK)
            rc = c->uart ? xm_receive(c, buf + off, k, "R (an XMODEM block)") : read_exact(c, buf + off, k, "R");
        if (rc != LODE_OK)
            return rc;
        off += k;
    }
    return LODE_OK;
}

int lodei_samba_erase_from(lodei_samba_s *c, uint32_t addr, int timeout_ms)
{
    int rc = send_cmd(c, 'X', addr, 0, false);
    return rc == LODE_OK ? read_reply(c, 'X', "X (erase)", timeout_ms, NULL) : rc;
}

int lodei_samba_copy(lodei_samba_s *c, uint32_t buffer, uint32_t dst, uint32_t n)
{
    int rc = send_cmd(c, 'Y', buffer, 0, true);
    if (rc == LODE_OK)
        rc = read_reply(c, 'Y', "Y (buffer address)", tmo(c), NULL);
    if (rc == LODE_OK)
        rc = send_cmd(c, 'Y', dst, n, true);
    /* the copy programs n / 64 pages: allow 1 s + 2 ms a page */
    return rc == LODE_OK ? read_reply(c, 'Y', "Y (copy to flash)", tmo(c) + (int)(n / 32), NULL) : rc;
}

int lodei_samba_crc(lodei_samba_s *c, uint32_t addr, uint32_t n, uint16_t *crc)
{
    uint16_t v = 0;
    int rc = send_cmd(c, 'Z', addr, n, true);
    if (rc == LODE_OK)
        rc = read_reply(c, 'Z', "Z (CRC)", tmo(c) + (int)(n / 1024), &v);
    if (rc == LODE_OK)
        *crc = v;
    return rc;
}
