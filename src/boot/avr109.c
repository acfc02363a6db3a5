/* SPDX-License-Identifier: MIT */
/* AVR109 codec and client over a lode stream; see avr109.h. */
#include <string.h>

#include "boot/avr109.h"
#include "lode/error.h"

lodei_avr109_kind_e lodei_avr109_reply_kind(uint8_t cmd, size_t len, size_t *n)
{
    size_t k = 0;
    lodei_avr109_kind_e kind = LODEI_AVR109_K_FIXED;
    switch (cmd) {
    case 'S': k = LODEI_AVR109_ID_LEN; break;
    case 'V': case 'v': k = 2; break;
    case 'p': case 'a': k = 1; break;
    case 's': k = 3; break;
    case 'g': k = len; break;
    case 'b': kind = LODEI_AVR109_K_BLOCK; k = 3; break;
    default: kind = LODEI_AVR109_K_CR; k = 1; break;
    }
    if (n)
        *n = k;
    return kind;
}

/* answers that are text or letters: a first '?' is "unknown command" (signature and block data
 * may hold any byte) */
static bool text_answer(uint8_t cmd) { return cmd == 'S' || cmd == 'V' || cmd == 'v' || cmd == 'p' || cmd == 'a'; }

lodei_avr109_reply_e lodei_avr109_decode(uint8_t cmd, size_t len, const uint8_t *buf, size_t n, size_t *need,
                                         size_t *len_out)
{
    size_t want = 0;
    lodei_avr109_kind_e kind = lodei_avr109_reply_kind(cmd, len, &want);
    if (need)
        *need = 0;
    if (n == 0) {
        if (need)
            *need = want ? want : 1;
        return want ? LODEI_AVR109_R_MORE : LODEI_AVR109_R_DONE;
    }
    if (kind == LODEI_AVR109_K_CR) {
        if (buf[0] == LODEI_AVR109_UNKNOWN)
            return LODEI_AVR109_R_UNKNOWN;
        if (buf[0] != LODEI_AVR109_CR)
            return LODEI_AVR109_R_GARBAGE;
        if (len_out)
            *len_out = 1;
        return LODEI_AVR109_R_DONE;
    }
    if (kind == LODEI_AVR109_K_BLOCK) {
        if (buf[0] == 'N' || buf[0] == LODEI_AVR109_UNKNOWN) {
            if (buf[0] == LODEI_AVR109_UNKNOWN)
                return LODEI_AVR109_R_UNKNOWN;
            if (len_out)
                *len_out = 1;
            return LODEI_AVR109_R_DONE;
        }
        if (buf[0] != 'Y')
            return LODEI_AVR109_R_GARBAGE;
    } else if (text_answer(cmd)) {
        if (buf[0] == LODEI_AVR109_UNKNOWN)
            return LODEI_AVR109_R_UNKNOWN;
        /* letters, digits and the id's text: printable ASCII only */
        size_t m = n < want ? n : want;
        for (size_t i = 0; i < m; i++)
            if (buf[i] < 0x20 || buf[i] > 0x7E)
                return LODEI_AVR109_R_GARBAGE;
        if ((cmd == 'a' && buf[0] != 'Y' && buf[0] != 'N') || (cmd == 'p' && buf[0] != 'S' && buf[0] != 'P'))
            return LODEI_AVR109_R_GARBAGE;
    }
    if (n < want) {
        if (need)
            *need = want - n;
        return LODEI_AVR109_R_MORE;
    }
    if (len_out)
        *len_out = want;
    return LODEI_AVR109_R_DONE;
}

static int timeout(const lodei_avr109_s *c) { return c->timeout_ms > 0 ? c->timeout_ms : 1000; }

static const char *cmd_name(uint8_t cmd)
{
    switch (cmd) {
    case 'S': return "'S' (software id)";
    case 'V': return "'V' (version)";
    case 'p': return "'p' (programmer type)";
    case 'a': return "'a' (auto-increment)";
    case 'b': return "'b' (block support)";
    case 's': return "'s' (signature)";
    case 'A': return "'A' (set address)";
    case 'B': return "'B' (block write)";
    case 'g': return "'g' (block read)";
    case 'e': return "'e' (chip erase)";
    case 'E': return "'E' (exit bootloader)";
    case 'P': return "'P' (enter programming mode)";
    case 'L': return "'L' (leave programming mode)";
    default: return "a command";
    }
}

static int read_failed(lodei_avr109_s *c, int rc, const char *what, size_t got, size_t want)
{
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             rc == LODE_E_TIMEOUT ? "the bootloader stopped answering during %s (%zu of %zu bytes came): it may have "
                                    "timed out (Caterina leaves after 8 s) and started the sketch; run lode again"
                                  : "the serial port failed during %s (%zu of %zu bytes came): the board vanished "
                                    "(unplugged, or reset): check the cable and run lode again",
             what, got, want);
    return rc;
}

static int write_failed(lodei_avr109_s *c, int rc, const char *what)
{
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "the serial port failed sending %s (%s): the board vanished (unplugged, or reset): check the cable and run "
             "lode again", what, lode_strerror(rc));
    return rc;
}

int lodei_avr109_command(lodei_avr109_s *c, uint8_t cmd, const uint8_t *args, size_t nargs, size_t len,
                         uint8_t *data, size_t cap, size_t *got_out, bool quiet_unknown)
{
    uint8_t out[8 + LODEI_AVR109_MAX_BLOCK], in[LODEI_AVR109_MAX_BLOCK + 4];
    size_t want = 0;
    lodei_avr109_reply_kind(cmd, len, &want);
    if (nargs + 1 > sizeof out || want > sizeof in || (nargs && !args))
        return LODE_E_INVALID_ARG;
    out[0] = cmd;
    if (nargs)
        memcpy(out + 1, args, nargs);
    int rc = lode_stream_write(c->s, out, nargs + 1);
    if (rc != LODE_OK)
        return write_failed(c, rc, cmd_name(cmd));
    size_t got = 0, need = 0, rlen = 0;
    lodei_avr109_reply_e r;
    while ((r = lodei_avr109_decode(cmd, len, in, got, &need, &rlen)) == LODEI_AVR109_R_MORE) {
        size_t k = 0;
        rc = lodei_boot_read(c->s, &c->clock, in + got, need, &k, timeout(c));
        if (rc != LODE_OK)
            return read_failed(c, rc, cmd_name(cmd), got, want);
        got += k;
    }
    switch (r) {
    case LODEI_AVR109_R_DONE:
        if (data && rlen > cap)
            return LODE_E_INVALID_ARG;
        if (data)
            memcpy(data, in, rlen);
        if (got_out)
            *got_out = rlen;
        return LODE_OK;
    case LODEI_AVR109_R_UNKNOWN:
        if (!quiet_unknown)
            lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader does not know %s (it answered '?')",
                     cmd_name(cmd));
        return LODE_E_UNSUPPORTED;
    default:
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader's answer to %s is not AVR109 (first byte 0x%02x): wrong baud, bytes lost, or another "
                 "protocol", cmd_name(cmd), in[0]);
        return LODE_E_PROTOCOL;
    }
}

int lodei_avr109_send_cr_batch(lodei_avr109_s *c, const uint8_t *out, size_t nout, size_t ncmds, const char *what)
{
    int rc = lode_stream_write(c->s, out, nout);
    if (rc != LODE_OK)
        return write_failed(c, rc, what);
    uint8_t in[64];
    size_t done = 0;
    while (done < ncmds) {
        size_t k = 0, want = ncmds - done;
        rc = lodei_boot_read(c->s, &c->clock, in, want < sizeof in ? want : sizeof in, &k, timeout(c));
        if (rc != LODE_OK)
            return read_failed(c, rc, what, done, ncmds);
        for (size_t i = 0; i < k; i++)
            if (in[i] != LODEI_AVR109_CR) {
                lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                         in[i] == LODEI_AVR109_UNKNOWN
                             ? "the bootloader refused %s (it answered '?'): it does not take this memory or length"
                             : "the bootloader's answer to %s is not AVR109 (0x%02x): bytes were lost on the line",
                         what, in[i]);
                return in[i] == LODEI_AVR109_UNKNOWN ? LODE_E_UNSUPPORTED : LODE_E_PROTOCOL;
            }
        done += k;
    }
    return LODE_OK;
}

int lodei_avr109_sync(lodei_avr109_s *c, unsigned tries, int wait_ms, char id[8], lodei_avr109_sync_e *seen,
                      uint8_t first[8], size_t *nfirst)
{
    static const uint8_t hello[2] = {LODEI_AVR109_ESC, 'S'};
    uint8_t got[8];
    size_t ngot = 0;
    bool any = false, all_echo = true;
    for (unsigned t = 0; t < (tries ? tries : 1); t++) {
        lode_stream_flush(c->s);
        if (lode_stream_write(c->s, hello, sizeof hello) != LODE_OK)
            break;
        uint8_t in[64];
        size_t n = 0;
        while (n < LODEI_AVR109_ID_LEN) {
            size_t k = 0;
            if (lodei_boot_read(c->s, &c->clock, in + n, LODEI_AVR109_ID_LEN - n, &k, wait_ms) != LODE_OK)
                break;
            n += k;
        }
        for (size_t i = 0; i < n; i++) {
            if (ngot < sizeof got)
                got[ngot++] = in[i];
            if (in[i] != hello[i % 2])
                all_echo = false;
        }
        any = any || n > 0;
        size_t need = 0, len = 0;
        if (lodei_avr109_decode('S', 0, in, n, &need, &len) == LODEI_AVR109_R_DONE) {
            memcpy(id, in, LODEI_AVR109_ID_LEN);
            id[LODEI_AVR109_ID_LEN] = 0;
            *seen = LODEI_AVR109_SYNC_OK;
            return LODE_OK;
        }
        /* stray bytes (a sketch's output, a late answer): let the line go quiet, then again */
        size_t k = 0;
        while (n && lode_stream_read(c->s, in, sizeof in, &k, 100) == LODE_OK)
            ;
    }
    *seen = !any ? LODEI_AVR109_SYNC_SILENT : all_echo ? LODEI_AVR109_SYNC_ECHO : LODEI_AVR109_SYNC_GARBAGE;
    if (first && nfirst) {
        memcpy(first, got, ngot);
        *nfirst = ngot;
    }
    return LODE_E_NO_DEVICE;
}

int lodei_avr109_set_address(lodei_avr109_s *c, uint16_t addr)
{
    uint8_t a[2] = {(uint8_t)(addr >> 8), (uint8_t)addr};
    return lodei_avr109_command(c, 'A', a, 2, 0, NULL, 0, NULL, false);
}

int lodei_avr109_block_read(lodei_avr109_s *c, char mem, uint8_t *data, size_t len)
{
    if (!len || len > LODEI_AVR109_MAX_BLOCK)
        return LODE_E_INVALID_ARG;
    uint8_t a[3] = {(uint8_t)(len >> 8), (uint8_t)len, (uint8_t)mem};
    return lodei_avr109_command(c, 'g', a, 3, len, data, len, NULL, false);
}

size_t lodei_avr109_encode_block(uint8_t *out, size_t cap, char mem, const uint8_t *data, size_t len)
{
    if (!out || !len || len > LODEI_AVR109_MAX_BLOCK || len + 4 > cap || !data)
        return 0;
    out[0] = 'B';
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    out[3] = (uint8_t)mem;
    memcpy(out + 4, data, len);
    return len + 4;
}
