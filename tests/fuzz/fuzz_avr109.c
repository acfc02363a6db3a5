/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the AVR109 reply decoder and client (src/boot/avr109.c). Input: byte 0
 * picks the command (a table of those lode sends), byte 1 the block length for 'g' (1..255),
 * the rest is what the bootloader sent. Invariants (abort = crash): a final verdict on a prefix
 * is the verdict of the whole, DONE only with the reply's length and (for CR commands) a CR, MORE
 * only with need = what is missing; the client over a socket carrying the same bytes fails with
 * exactly one error line (or quietly for '?' when asked) or returns the decoder's data. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/avr109.h"
#include "lode/error.h"
#include "lode/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t cmds[] = {'S', 'V', 'p', 'a', 'b', 's', 'A', 'B', 'g', 'e', 'E', 'P', 'L'};

static void count_err(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    if (!msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        (*(int *)user)++;
}

static lode_stream_s *feed(const uint8_t *in, size_t n, int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return NULL;
    if (n && write(sv[1], in, n) != (ssize_t)n)
        abort();
    shutdown(sv[1], SHUT_WR);
    lode_stream_s *s = NULL;
    if (lode_stream_from_fd(sv[0], true, NULL, &s) != LODE_OK)
        abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t cmd = cmds[data[0] % sizeof cmds];
    size_t len = data[1] ? data[1] : 1;
    const uint8_t *in = data + 2;
    size_t n = size - 2, want = 0;
    lodei_avr109_kind_e kind = lodei_avr109_reply_kind(cmd, len, &want);
    size_t need = 0, rlen = 0;
    lodei_avr109_reply_e whole = lodei_avr109_decode(cmd, len, in, n, &need, &rlen);
    if (whole == LODEI_AVR109_R_DONE) {
        if (n < rlen || rlen > want || !rlen)
            abort();
        if (kind == LODEI_AVR109_K_CR && (rlen != 1 || in[0] != LODEI_AVR109_CR))
            abort();
        if (kind == LODEI_AVR109_K_FIXED && rlen != want)
            abort();
        if (kind == LODEI_AVR109_K_BLOCK && !((in[0] == 'Y' && rlen == 3) || (in[0] == 'N' && rlen == 1)))
            abort();
    }
    if (whole == LODEI_AVR109_R_MORE && (n >= want || need != want - n))
        abort();
    for (size_t k = 0; k <= n; k++) {
        lodei_avr109_reply_e r = lodei_avr109_decode(cmd, len, in, k, &need, NULL);
        if (r != LODEI_AVR109_R_MORE && r != whole)
            abort();
    }
    if (n > 4096)
        return 0;
    /* the client */
    int sv[2];
    lode_stream_s *s = feed(in, n, sv);
    if (!s)
        return 0;
    int nerr = 0;
    lode_log_s log = {.fn = count_err, .user = &nerr, .max_level = LODE_LOG_ERROR};
    lodei_avr109_s c = {.s = s, .log = &log, .timeout_ms = 20};
    uint8_t out[LODEI_AVR109_MAX_BLOCK];
    size_t got = 0;
    bool quiet = data[0] & 0x80;
    int rc = cmd == 'g' ? lodei_avr109_block_read(&c, 'F', out, len)
                        : lodei_avr109_command(&c, cmd, NULL, 0, 0, out, sizeof out, &got, quiet);
    if (rc == LODE_OK && (whole != LODEI_AVR109_R_DONE || nerr || (cmd == 'g' && memcmp(out, in, len)) ||
                          (cmd != 'g' && (got != rlen || memcmp(out, in, got)))))
        abort();
    if (rc != LODE_OK && (whole == LODEI_AVR109_R_DONE || nerr != (rc == LODE_E_UNSUPPORTED && quiet ? 0 : 1)))
        abort();
    lode_stream_close(s);
    close(sv[1]);
    return 0;
}
