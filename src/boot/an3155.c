/* SPDX-License-Identifier: MIT */
/* AN3155 (STM32 bootloader over USART) codec and client over a lode stream; see an3155.h. */
#include <string.h>

#include "boot/an3155.h"
#include "lode/error.h"

#define ERASE_TIMEOUT_MS 40000 /* a mass erase of a large part takes seconds */
#define WRITE_TIMEOUT_MS 2000

void lodei_an3155_addr(uint32_t addr, uint8_t out[5])
{
    out[0] = (uint8_t)(addr >> 24);
    out[1] = (uint8_t)(addr >> 16);
    out[2] = (uint8_t)(addr >> 8);
    out[3] = (uint8_t)addr;
    out[4] = out[0] ^ out[1] ^ out[2] ^ out[3];
}

size_t lodei_an3155_block(const uint8_t *data, size_t n, uint8_t *out)
{
    if (!n || n > LODEI_AN3155_MAX || !data || !out)
        return 0;
    uint8_t x = (uint8_t)(n - 1);
    out[0] = x;
    for (size_t i = 0; i < n; i++) {
        out[1 + i] = data[i];
        x ^= data[i];
    }
    out[n + 1] = x;
    return n + 2;
}

size_t lodei_an3155_erase_list(const uint16_t *pages, size_t n, bool extended, uint8_t *out, size_t cap)
{
    size_t w = extended ? 2 : 1;
    if (!pages || !out || !n || n > (extended ? 0xFFF0u : 255u) || cap < w + n * w + 1)
        return 0;
    size_t k = 0;
    if (extended) {
        out[k++] = (uint8_t)((n - 1) >> 8);
        out[k++] = (uint8_t)(n - 1);
    } else {
        out[k++] = (uint8_t)(n - 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (!extended && pages[i] > 0xFF)
            return 0;
        if (extended)
            out[k++] = (uint8_t)(pages[i] >> 8);
        out[k++] = (uint8_t)pages[i];
    }
    uint8_t x = 0;
    for (size_t i = 0; i < k; i++)
        x ^= out[i];
    out[k++] = x;
    return k;
}

lodei_an3155_reply_e lodei_an3155_decode_counted(const uint8_t *buf, size_t n, size_t *need, size_t *len)
{
    if (need)
        *need = 0;
    if (n == 0) {
        if (need)
            *need = 1; /* ACK or NACK; after a NACK nothing more comes */
        return LODEI_AN3155_R_MORE;
    }
    if (buf[0] == LODEI_AN3155_NACK)
        return LODEI_AN3155_R_NACK;
    if (buf[0] != LODEI_AN3155_ACK)
        return LODEI_AN3155_R_GARBAGE;
    if (n < 2) {
        if (need)
            *need = 2 - n;
        return LODEI_AN3155_R_MORE;
    }
    size_t want = 2 + (size_t)buf[1] + 1 + 1; /* ACK, N, N+1 bytes, ACK */
    if (n < want) {
        if (need)
            *need = want - n;
        return LODEI_AN3155_R_MORE;
    }
    if (buf[want - 1] != LODEI_AN3155_ACK)
        return LODEI_AN3155_R_GARBAGE;
    if (len)
        *len = (size_t)buf[1] + 1;
    return LODEI_AN3155_R_DONE;
}

bool lodei_an3155_parse_get(const uint8_t *block, size_t len, lodei_an3155_info_s *info)
{
    if (!block || !info || len < 1 || len - 1 > sizeof info->cmds)
        return false;
    info->version = block[0];
    info->ncmds = len - 1;
    memcpy(info->cmds, block + 1, len - 1);
    return true;
}

bool lodei_an3155_has(const lodei_an3155_info_s *info, uint8_t cmd)
{
    for (size_t i = 0; info && i < info->ncmds; i++)
        if (info->cmds[i] == cmd)
            return true;
    return false;
}

/* ---- the client ------------------------------------------------------------------------------- */

static int timeout(const lodei_an3155_s *c) { return c->timeout_ms > 0 ? c->timeout_ms : 1000; }

static const char *cmd_name(uint8_t cmd)
{
    switch (cmd) {
    case LODEI_AN3155_GET: return "Get";
    case LODEI_AN3155_GET_VERSION: return "Get Version";
    case LODEI_AN3155_GET_ID: return "Get ID";
    case LODEI_AN3155_READ: return "Read Memory";
    case LODEI_AN3155_GO: return "Go";
    case LODEI_AN3155_WRITE: return "Write Memory";
    case LODEI_AN3155_ERASE: return "Erase";
    case LODEI_AN3155_EXT_ERASE: return "Extended Erase";
    case LODEI_AN3155_WRITE_PROTECT: return "Write Protect";
    case LODEI_AN3155_WRITE_UNPROTECT: return "Write Unprotect";
    case LODEI_AN3155_READOUT_PROTECT: return "Readout Protect";
    case LODEI_AN3155_READOUT_UNPROTECT: return "Readout Unprotect";
    default: return "command";
    }
}

static int send(lodei_an3155_s *c, const uint8_t *d, size_t n, uint8_t cmd)
{
    int rc = lode_stream_write(c->s, d, n);
    if (rc != LODE_OK)
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the serial port failed sending %s (%s): was it unplugged?",
                 cmd_name(cmd), lode_strerror(rc));
    return rc;
}

static int receive(lodei_an3155_s *c, uint8_t *buf, size_t n, int ms, uint8_t cmd)
{
    int rc = lode_stream_read_exact(c->s, buf, n, ms);
    if (rc != LODE_OK)
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 rc == LODE_E_TIMEOUT ? "the bootloader stopped answering during %s: was the board reset or BOOT0 "
                                        "released? reset it with BOOT0 high and try again"
                                      : "the serial port failed during %s: was it unplugged?",
                 cmd_name(cmd));
    return rc;
}

/* One ACK/NACK step. */
static int ack(lodei_an3155_s *c, uint8_t cmd, int ms)
{
    uint8_t b = 0;
    int rc = receive(c, &b, 1, ms, cmd);
    if (rc != LODE_OK)
        return rc;
    if (b == LODEI_AN3155_ACK)
        return LODE_OK;
    if (b == LODEI_AN3155_NACK)
        return LODE_E_ACCESS;
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "the bootloader's answer to %s is 0x%02x, neither ACK nor NACK: bytes were lost or garbled on the line",
             cmd_name(cmd), b);
    return LODE_E_PROTOCOL;
}

int lodei_an3155_command(lodei_an3155_s *c, uint8_t cmd)
{
    uint8_t p[2] = {cmd, (uint8_t)~cmd};
    int rc = send(c, p, 2, cmd);
    return rc == LODE_OK ? ack(c, cmd, timeout(c)) : rc;
}

int lodei_an3155_sync(lodei_an3155_s *c, unsigned tries, int wait_ms, lodei_an3155_sync_e *seen, uint8_t first[8],
                      size_t *nfirst)
{
    static const uint8_t sync = LODEI_AN3155_SYNC;
    uint8_t got[8];
    size_t ngot = 0;
    bool any = false, all_echo = true;
    for (unsigned t = 0; t < (tries ? tries : 1); t++) {
        lode_stream_flush(c->s);
        if (lode_stream_write(c->s, &sync, 1) != LODE_OK)
            break;
        uint8_t b = 0;
        size_t k = 0;
        if (lode_stream_read(c->s, &b, 1, &k, wait_ms) != LODE_OK || !k)
            continue; /* a bootloader synced before takes the 0x7F as a command byte: the next one
                         gets a NACK */
        any = true;
        if (ngot < sizeof got)
            got[ngot++] = b;
        if (b == LODEI_AN3155_ACK || b == LODEI_AN3155_NACK) {
            uint8_t junk[64];
            while (lode_stream_read(c->s, junk, sizeof junk, &k, 20) == LODE_OK)
                ;
            *seen = LODEI_AN3155_SYNC_OK;
            return LODE_OK;
        }
        if (b != LODEI_AN3155_SYNC)
            all_echo = false;
        /* the rest of what it says (another protocol's answer, for the caller's message) */
        uint8_t more[8];
        while (lode_stream_read(c->s, more, sizeof more, &k, 20) == LODE_OK && k)
            for (size_t i = 0; i < k; i++) {
                if (ngot < sizeof got)
                    got[ngot++] = more[i];
                all_echo = all_echo && more[i] == LODEI_AN3155_SYNC;
            }
    }
    *seen = !any ? LODEI_AN3155_SYNC_SILENT : all_echo ? LODEI_AN3155_SYNC_ECHO : LODEI_AN3155_SYNC_GARBAGE;
    if (first && nfirst) {
        memcpy(first, got, ngot);
        *nfirst = ngot;
    }
    return LODE_E_NO_DEVICE;
}

/* A command answered with a counted block (Get, Get ID). */
static int counted(lodei_an3155_s *c, uint8_t cmd, uint8_t *block, size_t cap, size_t *len)
{
    uint8_t p[2] = {cmd, (uint8_t)~cmd}, in[2 + 256 + 1];
    int rc = send(c, p, 2, cmd);
    size_t got = 0, need = 0, blen = 0;
    lodei_an3155_reply_e r = LODEI_AN3155_R_MORE;
    while (rc == LODE_OK && (r = lodei_an3155_decode_counted(in, got, &need, &blen)) == LODEI_AN3155_R_MORE) {
        rc = receive(c, in + got, need, timeout(c), cmd);
        got += need;
    }
    if (rc != LODE_OK)
        return rc;
    if (r == LODEI_AN3155_R_NACK)
        return LODE_E_ACCESS;
    if (r != LODEI_AN3155_R_DONE || blen > cap) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the bootloader's answer to %s is malformed (first bytes %02x %02x): bytes were lost on the line",
                 cmd_name(cmd), in[0], got > 1 ? in[1] : 0);
        return LODE_E_PROTOCOL;
    }
    memcpy(block, in + 2, blen);
    *len = blen;
    return LODE_OK;
}

int lodei_an3155_get(lodei_an3155_s *c, lodei_an3155_info_s *info)
{
    uint8_t block[256];
    size_t len = 0;
    lodei_an3155_info_s tmp;
    int rc = counted(c, LODEI_AN3155_GET, block, sizeof block, &len);
    if (rc == LODE_OK && !lodei_an3155_parse_get(block, len, &tmp)) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader's command list (%zu bytes) is malformed", len);
        rc = LODE_E_PROTOCOL;
    }
    if (rc == LODE_OK)
        *info = tmp;
    return rc;
}

int lodei_an3155_get_id(lodei_an3155_s *c, uint16_t *pid)
{
    uint8_t block[256];
    size_t len = 0;
    int rc = counted(c, LODEI_AN3155_GET_ID, block, sizeof block, &len);
    if (rc == LODE_OK && len != 2) {
        lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the bootloader's product ID has %zu bytes, not 2", len);
        rc = LODE_E_PROTOCOL;
    }
    if (rc == LODE_OK)
        *pid = (uint16_t)(block[0] << 8 | block[1]);
    return rc;
}

/* Command, then the address: both must be ACKed. */
static int cmd_addr(lodei_an3155_s *c, uint8_t cmd, uint32_t addr)
{
    int rc = lodei_an3155_command(c, cmd);
    uint8_t a[5];
    lodei_an3155_addr(addr, a);
    if (rc == LODE_OK)
        rc = send(c, a, 5, cmd);
    if (rc == LODE_OK)
        rc = ack(c, cmd, timeout(c));
    return rc;
}

int lodei_an3155_read(lodei_an3155_s *c, uint32_t addr, uint8_t *buf, size_t n)
{
    if (!n || n > LODEI_AN3155_MAX || !buf)
        return LODE_E_INVALID_ARG;
    int rc = cmd_addr(c, LODEI_AN3155_READ, addr);
    uint8_t p[2] = {(uint8_t)(n - 1), (uint8_t)~(n - 1)};
    if (rc == LODE_OK)
        rc = send(c, p, 2, LODEI_AN3155_READ);
    if (rc == LODE_OK)
        rc = ack(c, LODEI_AN3155_READ, timeout(c));
    if (rc == LODE_OK)
        rc = receive(c, buf, n, timeout(c), LODEI_AN3155_READ);
    return rc;
}

int lodei_an3155_write(lodei_an3155_s *c, uint32_t addr, const uint8_t *data, size_t n)
{
    uint8_t blk[LODEI_AN3155_MAX + 2];
    size_t k = lodei_an3155_block(data, n, blk);
    if (!k)
        return LODE_E_INVALID_ARG;
    int rc = cmd_addr(c, LODEI_AN3155_WRITE, addr);
    if (rc == LODE_OK)
        rc = send(c, blk, k, LODEI_AN3155_WRITE);
    if (rc == LODE_OK && (rc = ack(c, LODEI_AN3155_WRITE, WRITE_TIMEOUT_MS)) == LODE_E_ACCESS)
        rc = LODE_E_FLASH; /* the data was refused: the write itself failed */
    return rc;
}

int lodei_an3155_erase(lodei_an3155_s *c, bool extended, const uint16_t *pages, size_t n)
{
    uint8_t cmd = extended ? LODEI_AN3155_EXT_ERASE : LODEI_AN3155_ERASE, list[2 + 2 * 512 + 1];
    size_t k;
    if (!pages) { /* everything: 0xFF 0x00, or 0xFFFF and its XOR 0x00 */
        list[0] = 0xFF;
        list[1] = extended ? 0xFF : 0x00;
        list[2] = 0x00;
        k = extended ? 3 : 2;
    } else if (!(k = lodei_an3155_erase_list(pages, n, extended, list, sizeof list))) {
        return LODE_E_INVALID_ARG;
    }
    int rc = lodei_an3155_command(c, cmd);
    if (rc == LODE_OK)
        rc = send(c, list, k, cmd);
    if (rc == LODE_OK && (rc = ack(c, cmd, ERASE_TIMEOUT_MS)) == LODE_E_ACCESS)
        rc = LODE_E_FLASH;
    return rc;
}

int lodei_an3155_go(lodei_an3155_s *c, uint32_t addr) { return cmd_addr(c, LODEI_AN3155_GO, addr); }

int lodei_an3155_readout_unprotect(lodei_an3155_s *c)
{
    int rc = lodei_an3155_command(c, LODEI_AN3155_READOUT_UNPROTECT);
    if (rc == LODE_OK) /* the second ACK comes after the mass erase */
        rc = ack(c, LODEI_AN3155_READOUT_UNPROTECT, ERASE_TIMEOUT_MS);
    return rc;
}
