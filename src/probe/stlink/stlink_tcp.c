/* SPDX-License-Identifier: MIT */
/* The stlink-server TCP protocol, client side: a lode_stlink_io_s that carries ST-Link
 * commands to an ST-Link shared by a server (ST's stlink-server, or `lode sim-server
 * --stlink-tcp`). All fields little-endian. Requests (first byte = command):
 *   0x06 server version  [06 api 0 0]                 -> api, major, minor, build (4 x u32)
 *   0x00 refresh list    [00 0]                       -> status
 *   0x01 device count    [01]                         -> count (u32)
 *   0x02 device info     [02 index 0 0 u32 41]        -> status, device id, serial[32],
 *                                                        vid u16, pid u16, in-use u8
 *   0x03 open device     [03 0 0 0 u32 device id]     -> status, connect id
 *   0x04 close device    [04 0 0 0 u32 connect id]    -> status
 *   0x05 USB command     [05 0 0 0 u32 connect id, 16-byte command, dir u8 0 0 0, u32 size]
 *                        then `size` data bytes when dir = 0 (write)
 *                                                     -> status, then `size` bytes when dir = 1
 *                                                        (read) or 3 (SWO read)
 * Status 1 = OK. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/stlink.h"
#include "lode/stream.h"
#include "util/bytes.h"

#define TCP_SS_OK 1u
#define TCP_API 2u
#define MAX_DATA (LODE_STLINK_DATA_MAX + 64u)

typedef struct tcp_io_s {
    lode_stream_s *io;
    uint32_t connect_id;
    const lode_log_s *log;
    uint8_t buf[32 + MAX_DATA];
} tcp_io_s;

/* one request, one reply of rn bytes (no time limit: the server answers or closes) */
static int exchange(tcp_io_s *t, const uint8_t *req, size_t n, uint8_t *reply, size_t rn)
{
    int rc = lode_stream_write(t->io, req, n);
    if (rc == LODE_OK)
        rc = lode_stream_read_exact(t->io, reply, rn, -1);
    if (rc != LODE_OK) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "stlink-server: connection lost");
        return LODE_E_IO;
    }
    return LODE_OK;
}

static int request(tcp_io_s *t, const uint8_t *req, size_t n, uint8_t *reply, size_t rn, bool status)
{
    int rc = exchange(t, req, n, reply, rn);
    if (rc != LODE_OK)
        return rc;
    if (status && lodei_get_le32(reply) != TCP_SS_OK) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "stlink-server: request %02x failed, status 0x%x",
                 req[0], lodei_get_le32(reply));
        return LODE_E_PROTOCOL;
    }
    return LODE_OK;
}

static int tcp_cmd(tcp_io_s *t, const uint8_t cmd[16], uint8_t dir, uint8_t *data, size_t len)
{
    if (len > MAX_DATA)
        return LODE_E_INVALID_ARG;
    uint8_t *b = t->buf;
    memset(b, 0, 32);
    b[0] = 0x05;
    lodei_put_le32(b + 4, t->connect_id);
    memcpy(b + 8, cmd, 16);
    b[24] = dir;
    lodei_put_le32(b + 28, (uint32_t)len);
    size_t n = 32;
    if (dir == 0) {
        memcpy(b + 32, data, len);
        n += len;
    }
    int rc = exchange(t, b, n, b, 4 + (dir == 0 ? 0 : len));
    if (rc != LODE_OK)
        return rc;
    uint32_t ss = lodei_get_le32(b);
    if (ss != TCP_SS_OK) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
                 "stlink-server: USB command %02x %02x failed, status 0x%x", cmd[0], cmd[1], ss);
        return LODE_E_IO;
    }
    if (dir != 0 && len)
        memcpy(data, b + 4, len);
    return LODE_OK;
}

static int io_xfer(void *ctx, const uint8_t cmd[LODE_STLINK_CMD_SIZE], lode_stlink_dir_e dir,
                   uint8_t *data, size_t len)
{
    return tcp_cmd(ctx, cmd, dir == LODE_STLINK_DIR_OUT ? 0 : 1, data, len);
}

static int io_trace(void *ctx, uint8_t *buf, size_t len)
{
    static const uint8_t zero[16] = {0};
    return tcp_cmd(ctx, zero, 3, buf, len);
}

static void io_close(void *ctx)
{
    tcp_io_s *t = ctx;
    if (t->io && t->connect_id) {
        uint8_t q[8] = {0x04}, r[4];
        lodei_put_le32(q + 4, t->connect_id);
        request(t, q, 8, r, 4, true);
    }
    lode_stream_close(t->io);
    free(t);
}

int lode_stlink_io_tcp(const char *host, uint16_t port, const char *serial, const lode_log_s *log,
                       lode_stlink_io_s *io)
{
    if (!host || !port || !io)
        return LODE_E_INVALID_ARG;
    lode_stream_s *conn = NULL;
    if (lode_stream_open_tcp(host, port, 0, NULL, &conn) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
                 "no stlink-server at %s:%u (%s): start one (ST's stlink-server, or `lode "
                 "sim-server --stlink-tcp %u`)", host, port, strerror(errno), port);
        return LODE_E_NO_DEVICE;
    }
    tcp_io_s *t = calloc(1, sizeof *t);
    if (!t) {
        lode_stream_close(conn);
        return LODE_E_NOMEM;
    }
    t->io = conn;
    t->log = log;
    uint8_t q[8], r[48];
    int rc;
    memset(q, 0, sizeof q);
    q[0] = 0x06;
    q[1] = TCP_API;
    if ((rc = request(t, q, 4, r, 16, false)) != LODE_OK)
        goto fail;
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_WIRE, "stlink-server API v%u, version %u.%u.%u",
             lodei_get_le32(r), lodei_get_le32(r + 4), lodei_get_le32(r + 8), lodei_get_le32(r + 12));
    memset(q, 0, sizeof q);
    q[0] = 0x00;
    if ((rc = request(t, q, 2, r, 4, true)) != LODE_OK)
        goto fail;
    q[0] = 0x01;
    if ((rc = request(t, q, 1, r, 4, false)) != LODE_OK)
        goto fail;
    uint32_t count = lodei_get_le32(r);
    if (count > 255)
        count = 255;
    bool found = false, busy = false;
    uint32_t dev_id = 0;
    for (uint32_t i = 0; i < count && !found; i++) {
        memset(q, 0, sizeof q);
        q[0] = 0x02;
        q[1] = (uint8_t)i;
        lodei_put_le32(q + 4, 41);
        if ((rc = request(t, q, 8, r, 45, true)) != LODE_OK)
            goto fail;
        char sn[33];
        memcpy(sn, r + 8, 32);
        sn[32] = 0;
        uint16_t vid = lodei_get_le16(r + 40), pid = lodei_get_le16(r + 42);
        if (!lode_stlink_usb_version(vid, pid))
            continue;
        if (serial && *serial && strcmp(serial, sn) != 0)
            continue;
        if (r[44]) {
            busy = true;
            continue;
        }
        dev_id = lodei_get_le32(r + 4);
        found = true;
    }
    if (!found) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "stlink-server %s:%u: %s", host, port,
                 busy ? "the ST-Link is in use by another client of the server"
                      : "no matching ST-Link (check the serial number)");
        rc = busy ? LODE_E_ACCESS : LODE_E_NO_DEVICE;
        goto fail;
    }
    memset(q, 0, sizeof q);
    q[0] = 0x03;
    lodei_put_le32(q + 4, dev_id);
    if ((rc = request(t, q, 8, r, 8, true)) != LODE_OK)
        goto fail;
    t->connect_id = lodei_get_le32(r + 4);
    io->xfer = io_xfer;
    io->trace_read = io_trace;
    io->close = io_close;
    io->ctx = t;
    io->shared = true; /* the server interleaves other clients' commands */
    return LODE_OK;
fail:
    io_close(t);
    return rc;
}
