/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the AN3155 (STM32 bootloader) reply decoder and client
 * (src/boot/an3155.c). Input: byte 0 picks the request (bit 0: Get, else Get ID; bit 1: also a
 * Read Memory of byte 1 + 1 bytes after it), the rest is what the bootloader sent. Invariants
 * (abort = crash): the counted-block decoder's verdict on a prefix stays the verdict of the
 * whole, DONE only for ACK N (N+1 bytes) ACK, MORE only with need = what is missing at that
 * point; the client over a socket carrying the same bytes fails with exactly one error line
 * (or none for a NACK: LODE_E_ACCESS, which its caller words) or returns what the decoder saw. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/an3155.h"
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
    if (size < 2)
        return 0;
    uint8_t mode = data[0], rdlen = data[1];
    const uint8_t *in = data + 2;
    size_t n = size - 2, need = 0, len = 0;
    lodei_an3155_reply_e whole = lodei_an3155_decode_counted(in, n, &need, &len);
    if (whole == LODEI_AN3155_R_DONE &&
        (n < 4 || in[0] != LODEI_AN3155_ACK || len != (size_t)in[1] + 1 || in[len + 2] != LODEI_AN3155_ACK))
        abort();
    for (size_t k = 0; k <= n; k++) {
        lodei_an3155_reply_e r = lodei_an3155_decode_counted(in, k, &need, &len);
        if (r != LODEI_AN3155_R_MORE && r != whole)
            abort();
        if (r == LODEI_AN3155_R_MORE && (need == 0 || (k >= 2 && k + need != (size_t)in[1] + 4)))
            abort();
    }
    lodei_an3155_info_s info;
    if (whole == LODEI_AN3155_R_DONE && lodei_an3155_parse_get(in + 2, len, &info) &&
        (info.ncmds != len - 1 || info.version != in[2] || lodei_an3155_has(&info, 0xEE) != (memchr(in + 3, 0xEE, len - 1) != NULL)))
        abort();
    if (n > 4096)
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
    lodei_an3155_s c = {.s = s, .log = &log, .timeout_ms = 50};
    int rc;
    if (mode & 1) {
        rc = lodei_an3155_get(&c, &info);
        if (rc == LODE_OK && (whole != LODEI_AN3155_R_DONE || info.version != in[2]))
            abort();
    } else {
        uint16_t pid = 0;
        rc = lodei_an3155_get_id(&c, &pid);
        if (rc == LODE_OK && (whole != LODEI_AN3155_R_DONE || len != 2 || pid != (in[2] << 8 | in[3])))
            abort();
    }
    if ((rc == LODE_E_ACCESS) != (whole == LODEI_AN3155_R_NACK))
        abort();
    if (rc != LODE_OK && rc != LODE_E_ACCESS && nerr != 1)
        abort();
    if (rc == LODE_OK && (mode & 2)) {
        uint8_t buf[256];
        nerr = 0;
        rc = lodei_an3155_read(&c, 0x08000000u, buf, (size_t)rdlen + 1);
        if (rc != LODE_OK && rc != LODE_E_ACCESS && nerr != 1)
            abort();
        if (rc == LODE_OK && nerr)
            abort();
    }
    lode_stream_close(s);
    close(sv[1]);
    return 0;
}
