/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the STK500v1 reply decoder and client (src/boot/stk500v1.c). Input:
 * byte 0 picks the number of data bytes expected (0..255), the rest is what the bootloader
 * sent. Invariants (abort = crash): the decoder's verdict does not depend on how much more
 * arrives once it is final, DONE only for INSYNC + n + OK, MORE only with need = what is
 * missing; the client over a socket carrying the same bytes fails with exactly one error line
 * or returns the data the decoder saw. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/stk500v1.h"
#include "lode/error.h"
#include "lode/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_err(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    if (!msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        (*(int *)user)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t ndata = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    size_t need = 0;
    lodei_stk1_reply_e whole = lodei_stk1_decode(in, n, ndata, &need);
    if (whole == LODEI_STK1_R_DONE && (n < ndata + 2 || in[0] != LODEI_STK1_INSYNC || in[ndata + 1] != LODEI_STK1_OK))
        abort();
    if (whole == LODEI_STK1_R_MORE && (n >= ndata + 2 || need != ndata + 2 - n))
        abort();
    /* a final verdict on a prefix stays the verdict of the whole */
    for (size_t k = 0; k <= n; k++) {
        lodei_stk1_reply_e r = lodei_stk1_decode(in, k, ndata, &need);
        if (r != LODEI_STK1_R_MORE && r != whole)
            abort();
    }
    if (ndata > LODEI_STK1_MAX_PAGE || n > 4096)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    if (n && write(sv[1], in, n) != (ssize_t)n)
        abort();
    shutdown(sv[1], SHUT_WR);
    int nerr = 0;
    lode_log_s log = {.fn = count_err, .user = &nerr, .max_level = LODE_LOG_ERROR};
    lode_stream_s *s = NULL;
    if (lode_stream_from_fd(sv[0], true, NULL, &s) != LODE_OK)
        abort();
    lodei_stk1_s c = {.s = s, .log = &log, .timeout_ms = 50};
    uint8_t out[LODEI_STK1_MAX_PAGE];
    memset(out, 0xA5, sizeof out);
    int rc = ndata ? lodei_stk1_read_page(&c, 'F', out, ndata) : lodei_stk1_load_address(&c, 0x1234);
    if (rc == LODE_OK && (whole != LODEI_STK1_R_DONE || nerr || (ndata && memcmp(out, in + 1, ndata))))
        abort();
    if (rc != LODE_OK && (nerr != 1 || whole == LODEI_STK1_R_DONE))
        abort();
    lode_stream_close(s);
    close(sv[1]);
    return 0;
}
