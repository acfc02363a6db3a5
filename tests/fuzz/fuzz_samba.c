/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the SAM-BA monitor's answer decoders and client (src/boot/samba*.c).
 * Input: byte 0 picks what the client asks (0: version, 1: CRC (Z), 2: X, 3: a 70-byte read in
 * USB pieces, 4: the same read over XMODEM, 5: N# sync), the rest is what the monitor sent.
 * Invariants (abort = crash): a decoder's verdict on a prefix is MORE or the verdict of the
 * whole; DONE only for the shapes the protocol has (X\n\r; Z, 8 hex digits, '#'); the version
 * text is printable and the Arduino letters are only set inside its tag; the client over a
 * socket carrying the same bytes fails with exactly one error line or succeeds silently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/samba.h"
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

static void check_prefixes(const uint8_t *in, size_t n)
{
    size_t used = 0, len = 0;
    uint16_t crc = 0;
    lodei_samba_reply_e wx = lodei_samba_decode_ack('X', in, n, &used);
    if (wx == LODEI_SAMBA_R_DONE && (used != 3 || memcmp(in, "X\n\r", 3)))
        abort();
    if (wx == LODEI_SAMBA_R_REFUSED && (used != 3 || memcmp(in, "E\n\r", 3)))
        abort();
    lodei_samba_reply_e wz = lodei_samba_decode_crc(in, n, &crc, &used);
    if (wz == LODEI_SAMBA_R_DONE && (used < 10 || used > n || in[0] != 'Z' || in[9] != '#'))
        abort();
    lodei_samba_reply_e wl = lodei_samba_decode_line(in, n, 64, &len, &used);
    if (wl == LODEI_SAMBA_R_DONE && (used != len + 2 || in[len] != '\n' || in[len + 1] != '\r'))
        abort();
    for (size_t k = 0; k < n; k++) {
        lodei_samba_reply_e r = lodei_samba_decode_ack('X', in, k, &used);
        if (r != LODEI_SAMBA_R_MORE && r != wx)
            abort();
        r = lodei_samba_decode_crc(in, k, &crc, &used);
        if (r == LODEI_SAMBA_R_GARBAGE && wz != LODEI_SAMBA_R_GARBAGE)
            abort();
        r = lodei_samba_decode_line(in, k, 64, &len, &used);
        if (r == LODEI_SAMBA_R_DONE && wl != LODEI_SAMBA_R_DONE)
            abort();
    }
    lodei_samba_version_s v;
    if (lodei_samba_parse_version(in, n, &v)) {
        for (const char *p = v.text; *p; p++)
            if (*p < 0x20 || *p >= 0x7F)
                abort();
        if ((v.ext_x || v.ext_y || v.ext_z) && !v.arduino)
            abort();
    }
    if (n >= LODEI_SAMBA_XM_FRAME)
        (void)lodei_samba_xm_check(in, in[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 6;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    check_prefixes(in, n);
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
    lodei_samba_s c = {.s = s, .log = &log, .timeout_ms = 30, .uart = mode == 4, .chunk_reads = mode == 3};
    int rc = LODE_OK;
    uint8_t buf[70];
    uint16_t crc = 0;
    lodei_samba_version_s v;
    switch (mode) {
    case 0: rc = lodei_samba_version(&c, &v); break;
    case 1: rc = lodei_samba_crc(&c, 0x2000, 64, &crc); break;
    case 2: rc = lodei_samba_erase_from(&c, 0x2000, 30); break;
    case 3:
    case 4: rc = lodei_samba_receive(&c, 0x2000, buf, sizeof buf); break;
    default: {
        lodei_samba_sync_e seen;
        uint8_t first[16];
        size_t nfirst = 0;
        rc = lodei_samba_sync(&c, 1, 30, &seen, first, &nfirst);
        if (nfirst > 16 || (rc == LODE_OK) != (seen == LODEI_SAMBA_SYNC_OK))
            abort();
        if (rc == LODE_E_NO_DEVICE && !nerr)
            nerr = 1; /* the caller words a sync nobody answered */
        break;
    }
    }
    if (rc != LODE_OK && nerr != 1)
        abort();
    if (rc == LODE_OK && nerr)
        abort();
    lode_stream_close(s);
    close(sv[1]);
    return 0;
}
