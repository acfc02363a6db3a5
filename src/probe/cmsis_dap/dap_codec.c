/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP command encoding and reply decoding (see dap_codec.h). */
#include "probe/cmsis_dap/dap_codec.h"

#include <string.h>

#include "lode/error.h"
#include "util/bytes.h"

const char *lodei_dap_cmd_name(uint8_t cmd)
{
    switch (cmd) {
    case LODEI_DAP_INFO: return "DAP_Info";
    case LODEI_DAP_HOST_STATUS: return "DAP_HostStatus";
    case LODEI_DAP_CONNECT: return "DAP_Connect";
    case LODEI_DAP_DISCONNECT: return "DAP_Disconnect";
    case LODEI_DAP_TRANSFER_CONFIGURE: return "DAP_TransferConfigure";
    case LODEI_DAP_TRANSFER: return "DAP_Transfer";
    case LODEI_DAP_TRANSFER_BLOCK: return "DAP_TransferBlock";
    case LODEI_DAP_TRANSFER_ABORT: return "DAP_TransferAbort";
    case LODEI_DAP_WRITE_ABORT: return "DAP_WriteABORT";
    case LODEI_DAP_DELAY: return "DAP_Delay";
    case LODEI_DAP_RESET_TARGET: return "DAP_ResetTarget";
    case LODEI_DAP_SWJ_PINS: return "DAP_SWJ_Pins";
    case LODEI_DAP_SWJ_CLOCK: return "DAP_SWJ_Clock";
    case LODEI_DAP_SWJ_SEQUENCE: return "DAP_SWJ_Sequence";
    case LODEI_DAP_SWD_CONFIGURE: return "DAP_SWD_Configure";
    case LODEI_DAP_QUEUE_COMMANDS: return "DAP_QueueCommands";
    case LODEI_DAP_EXECUTE_COMMANDS: return "DAP_ExecuteCommands";
    default: return "unknown DAP command";
    }
}

/* ---- encoders ------------------------------------------------------------------------- */
static int enc_bytes(uint8_t *buf, size_t cap, const uint8_t *b, size_t n)
{
    if (!buf || cap < n)
        return LODE_E_NOMEM;
    memcpy(buf, b, n);
    return (int)n;
}

int lodei_dap_enc_info(uint8_t *buf, size_t cap, uint8_t id)
{
    const uint8_t b[] = {LODEI_DAP_INFO, id};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_host_status(uint8_t *buf, size_t cap, uint8_t type, uint8_t status)
{
    const uint8_t b[] = {LODEI_DAP_HOST_STATUS, type, status};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_connect(uint8_t *buf, size_t cap, uint8_t port)
{
    const uint8_t b[] = {LODEI_DAP_CONNECT, port};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_disconnect(uint8_t *buf, size_t cap)
{
    const uint8_t b[] = {LODEI_DAP_DISCONNECT};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_transfer_configure(uint8_t *buf, size_t cap, uint8_t idle_cycles,
                                     uint16_t wait_retry, uint16_t match_retry)
{
    uint8_t b[6] = {LODEI_DAP_TRANSFER_CONFIGURE, idle_cycles};
    lodei_put_le16(b + 2, wait_retry);
    lodei_put_le16(b + 4, match_retry);
    return enc_bytes(buf, cap, b, sizeof b);
}

static bool req_has_wdata(uint8_t req)
{
    /* writes carry data (the match mask too); reads with value match carry the value */
    return !(req & LODE_DAP_RNW) || (req & LODEI_DAP_REQ_MATCH_VALUE);
}

static bool req_has_rdata(uint8_t req)
{
    return (req & LODE_DAP_RNW) && !(req & LODEI_DAP_REQ_MATCH_VALUE);
}

/* A request byte this codec can encode: no timestamp, no reserved bit, match bits only
 * with the matching direction. */
static bool req_valid(uint8_t req)
{
    if (req & (LODEI_DAP_REQ_TIMESTAMP | 0x40u))
        return false;
    if ((req & LODEI_DAP_REQ_MATCH_VALUE) && !(req & LODE_DAP_RNW))
        return false;
    if ((req & LODEI_DAP_REQ_MATCH_MASK) && (req & LODE_DAP_RNW))
        return false;
    return true;
}

size_t lodei_dap_xfer_req_bytes(uint8_t req) { return 1u + (req_has_wdata(req) ? 4u : 0u); }
size_t lodei_dap_xfer_resp_bytes(uint8_t req) { return req_has_rdata(req) ? 4u : 0u; }

int lodei_dap_enc_transfer(uint8_t *buf, size_t cap, uint8_t dap_index, const lode_dap_xfer_s *x,
                           size_t n)
{
    if (!buf || !x || n == 0 || n > 255)
        return LODE_E_INVALID_ARG;
    size_t need = 3;
    for (size_t i = 0; i < n; i++) {
        if (!req_valid(x[i].req))
            return LODE_E_INVALID_ARG;
        need += lodei_dap_xfer_req_bytes(x[i].req);
    }
    if (cap < need)
        return LODE_E_NOMEM;
    size_t o = 0;
    buf[o++] = LODEI_DAP_TRANSFER;
    buf[o++] = dap_index;
    buf[o++] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        buf[o++] = x[i].req;
        if (req_has_wdata(x[i].req)) {
            lodei_put_le32(buf + o, x[i].wdata);
            o += 4;
        }
    }
    return (int)o;
}

int lodei_dap_enc_transfer_block(uint8_t *buf, size_t cap, uint8_t dap_index, uint8_t req,
                                 const uint32_t *wdata, size_t n)
{
    bool rnw = (req & LODE_DAP_RNW) != 0;
    if (!buf || n == 0 || n > 0xFFFFu || (req & ~0x0Fu) || (!rnw && !wdata))
        return LODE_E_INVALID_ARG;
    size_t need = 5 + (rnw ? 0 : 4 * n);
    if (cap < need)
        return LODE_E_NOMEM;
    buf[0] = LODEI_DAP_TRANSFER_BLOCK;
    buf[1] = dap_index;
    lodei_put_le16(buf + 2, (uint16_t)n);
    buf[4] = req;
    if (!rnw)
        for (size_t i = 0; i < n; i++)
            lodei_put_le32(buf + 5 + 4 * i, wdata[i]);
    return (int)need;
}

int lodei_dap_enc_transfer_abort(uint8_t *buf, size_t cap)
{
    const uint8_t b[] = {LODEI_DAP_TRANSFER_ABORT};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_write_abort(uint8_t *buf, size_t cap, uint8_t dap_index, uint32_t value)
{
    uint8_t b[6] = {LODEI_DAP_WRITE_ABORT, dap_index};
    lodei_put_le32(b + 2, value);
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_delay(uint8_t *buf, size_t cap, uint16_t us)
{
    uint8_t b[3] = {LODEI_DAP_DELAY};
    lodei_put_le16(b + 1, us);
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_reset_target(uint8_t *buf, size_t cap)
{
    const uint8_t b[] = {LODEI_DAP_RESET_TARGET};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_swj_pins(uint8_t *buf, size_t cap, uint8_t output, uint8_t select,
                           uint32_t wait_us)
{
    uint8_t b[7] = {LODEI_DAP_SWJ_PINS, output, select};
    lodei_put_le32(b + 3, wait_us);
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_swj_clock(uint8_t *buf, size_t cap, uint32_t hz)
{
    if (hz == 0)
        return LODE_E_INVALID_ARG;
    uint8_t b[5] = {LODEI_DAP_SWJ_CLOCK};
    lodei_put_le32(b + 1, hz);
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_swj_sequence(uint8_t *buf, size_t cap, unsigned bits, const uint8_t *data)
{
    if (!buf || !data || bits == 0 || bits > 256)
        return LODE_E_INVALID_ARG;
    size_t nbytes = (bits + 7) / 8;
    if (cap < 2 + nbytes)
        return LODE_E_NOMEM;
    buf[0] = LODEI_DAP_SWJ_SEQUENCE;
    buf[1] = (uint8_t)(bits == 256 ? 0 : bits);
    memcpy(buf + 2, data, nbytes);
    if (bits % 8) /* bits past the count are not sent: keep them zero */
        buf[1 + nbytes] &= (uint8_t)((1u << (bits % 8)) - 1u);
    return (int)(2 + nbytes);
}

int lodei_dap_enc_swd_configure(uint8_t *buf, size_t cap, uint8_t cfg)
{
    if (cfg & ~0x07u)
        return LODE_E_INVALID_ARG;
    const uint8_t b[] = {LODEI_DAP_SWD_CONFIGURE, cfg};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_multi(uint8_t *buf, size_t cap, uint8_t cmd, uint8_t num)
{
    if (cmd != LODEI_DAP_EXECUTE_COMMANDS && cmd != LODEI_DAP_QUEUE_COMMANDS)
        return LODE_E_INVALID_ARG;
    const uint8_t b[] = {cmd, num};
    return enc_bytes(buf, cap, b, sizeof b);
}

/* ---- decoders ------------------------------------------------------------------------- */
static int bad(const lode_log_s *log, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int bad(const lode_log_s *log, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lode_logv(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, fmt, ap);
    va_end(ap);
    return LODE_E_PROTOCOL;
}

/* Common head checks: a reply of at least `need` bytes to `cmd`. */
static int head(const uint8_t *r, size_t len, uint8_t cmd, size_t need, const lode_log_s *log)
{
    const char *name = lodei_dap_cmd_name(cmd);
    if (!r || len == 0)
        return bad(log, "CMSIS-DAP: empty reply to %s: the probe did not answer; reconnect it",
                   name);
    if (len > LODEI_DAP_PACKET_MAX)
        return bad(log, "CMSIS-DAP: %zu-byte reply to %s is larger than any packet (%u)", len,
                   name, LODEI_DAP_PACKET_MAX);
    if (r[0] == LODEI_DAP_INVALID && cmd != LODEI_DAP_INVALID) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: the probe does not implement %s (0x%02x); update its firmware", name,
                 cmd);
        return LODE_E_UNSUPPORTED;
    }
    if (r[0] != cmd)
        return bad(log, "CMSIS-DAP: reply id 0x%02x to %s (0x%02x): replies out of step; "
                        "reconnect the probe", r[0], name, cmd);
    if (len < need)
        return bad(log, "CMSIS-DAP: %s reply is %zu bytes, needs %zu", name, len, need);
    return LODE_OK;
}

int lodei_dap_dec_status(const uint8_t *r, size_t len, uint8_t cmd, const lode_log_s *log,
                         size_t *used)
{
    int rc = head(r, len, cmd, 2, log);
    if (rc)
        return rc;
    if (r[1] != LODEI_DAP_STATUS_OK)
        return bad(log, "CMSIS-DAP: %s failed (status 0x%02x)", lodei_dap_cmd_name(cmd), r[1]);
    if (used)
        *used = 2;
    return LODE_OK;
}

int lodei_dap_dec_info(const uint8_t *r, size_t len, uint8_t id, const lode_log_s *log,
                       const uint8_t **data, size_t *dlen, size_t *used)
{
    int rc = head(r, len, LODEI_DAP_INFO, 2, log);
    if (rc)
        return rc;
    size_t n = r[1];
    if (2 + n > len)
        return bad(log, "CMSIS-DAP: DAP_Info 0x%02x reply claims %zu bytes, has %zu", id, n,
                   len - 2);
    if (data)
        *data = r + 2;
    if (dlen)
        *dlen = n;
    if (used)
        *used = 2 + n;
    return LODE_OK;
}

int lodei_dap_dec_info_string(const uint8_t *r, size_t len, uint8_t id, const lode_log_s *log,
                              char *out, size_t cap)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    int rc = lodei_dap_dec_info(r, len, id, log, &d, &n, NULL);
    if (rc)
        return rc;
    if (!out || cap == 0)
        return LODE_OK;
    size_t k = 0;
    while (k < n && d[k] && k + 1 < cap)
        k++;
    memcpy(out, d, k);
    out[k] = '\0';
    return LODE_OK;
}

int lodei_dap_dec_info_caps(const uint8_t *r, size_t len, const lode_log_s *log, uint16_t *caps)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    int rc = lodei_dap_dec_info(r, len, LODEI_DAP_ID_CAPABILITIES, log, &d, &n, NULL);
    if (rc)
        return rc;
    if (n < 1)
        return bad(log, "CMSIS-DAP: DAP_Info capabilities reply is empty");
    if (caps)
        *caps = (uint16_t)(d[0] | (n >= 2 ? d[1] << 8 : 0));
    return LODE_OK;
}

int lodei_dap_dec_info_packet_count(const uint8_t *r, size_t len, const lode_log_s *log,
                                    uint8_t *count)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    int rc = lodei_dap_dec_info(r, len, LODEI_DAP_ID_PACKET_COUNT, log, &d, &n, NULL);
    if (rc)
        return rc;
    if (n != 1)
        return bad(log, "CMSIS-DAP: DAP_Info packet count is %zu bytes, not 1", n);
    if (count)
        *count = d[0];
    return LODE_OK;
}

int lodei_dap_dec_info_packet_size(const uint8_t *r, size_t len, const lode_log_s *log,
                                   uint16_t *size)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    int rc = lodei_dap_dec_info(r, len, LODEI_DAP_ID_PACKET_SIZE, log, &d, &n, NULL);
    if (rc)
        return rc;
    if (n != 2)
        return bad(log, "CMSIS-DAP: DAP_Info packet size is %zu bytes, not 2", n);
    if (size)
        *size = lodei_get_le16(d);
    return LODE_OK;
}

int lodei_dap_dec_connect(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *port,
                          size_t *used)
{
    int rc = head(r, len, LODEI_DAP_CONNECT, 2, log);
    if (rc)
        return rc;
    if (r[1] > LODEI_DAP_PORT_JTAG)
        return bad(log, "CMSIS-DAP: DAP_Connect reply names port %u", r[1]);
    if (port)
        *port = r[1];
    if (used)
        *used = 2;
    return LODE_OK;
}

int lodei_dap_dec_swj_pins(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *pins,
                           size_t *used)
{
    int rc = head(r, len, LODEI_DAP_SWJ_PINS, 2, log);
    if (rc)
        return rc;
    if (pins)
        *pins = r[1];
    if (used)
        *used = 2;
    return LODE_OK;
}

int lodei_dap_dec_reset_target(const uint8_t *r, size_t len, const lode_log_s *log,
                               uint8_t *execute, size_t *used)
{
    int rc = head(r, len, LODEI_DAP_RESET_TARGET, 3, log);
    if (rc)
        return rc;
    if (r[1] != LODEI_DAP_STATUS_OK)
        return bad(log, "CMSIS-DAP: DAP_ResetTarget failed (status 0x%02x)", r[1]);
    if (r[2] > 1)
        return bad(log, "CMSIS-DAP: DAP_ResetTarget reply has execute = %u", r[2]);
    if (execute)
        *execute = r[2];
    if (used)
        *used = 3;
    return LODE_OK;
}

int lodei_dap_dec_multi(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *num,
                        size_t *used)
{
    int rc = head(r, len, LODEI_DAP_EXECUTE_COMMANDS, 2, log);
    if (rc)
        return rc;
    if (num)
        *num = r[1];
    if (used)
        *used = 2;
    return LODE_OK;
}

/* Response byte -> ack and flags; false if the byte has bits the spec does not define. */
static bool parse_resp(uint8_t resp, lodei_dap_xfer_result_s *res)
{
    if (resp & 0xE0u)
        return false;
    res->resp = resp;
    res->protocol_error = (resp & LODEI_DAP_RESP_PROTOCOL_ERROR) != 0;
    res->mismatch = (resp & LODEI_DAP_RESP_MISMATCH) != 0;
    switch (resp & LODEI_DAP_RESP_ACK_MASK) {
    case 1: res->ack = LODE_DAP_ACK_OK; break;
    case 2: res->ack = LODE_DAP_ACK_WAIT; break;
    case 4: res->ack = LODE_DAP_ACK_FAULT; break;
    default: res->ack = LODE_DAP_ACK_NONE; break;
    }
    if (res->protocol_error)
        res->ack = LODE_DAP_ACK_NONE;
    return true;
}

static bool is_posted_ap_read(uint8_t req)
{
    return (req & LODE_DAP_APNDP) && req_has_rdata(req);
}

int lodei_dap_dec_transfer(const uint8_t *r, size_t len, const lode_dap_xfer_s *x, size_t n,
                           const lode_log_s *log, lodei_dap_xfer_result_s *res, size_t *used)
{
    int rc = head(r, len, LODEI_DAP_TRANSFER, 3, log);
    if (rc)
        return rc;
    if (!x || n == 0 || n > 255)
        return bad(log, "CMSIS-DAP: DAP_Transfer reply decoded without its %zu requests", n);
    lodei_dap_xfer_result_s o = {0};
    o.count = r[1];
    if (!parse_resp(r[2], &o))
        return bad(log, "CMSIS-DAP: DAP_Transfer response byte 0x%02x has undefined bits", r[2]);
    if (o.count > n)
        return bad(log, "CMSIS-DAP: DAP_Transfer reply counts %zu transfers, %zu were sent",
                   o.count, n);
    bool ok = o.ack == LODE_DAP_ACK_OK && !o.mismatch;
    if (ok && o.count != n)
        return bad(log, "CMSIS-DAP: DAP_Transfer reply says OK after %zu of %zu transfers",
                   o.count, n);
    if (o.mismatch && o.count == n)
        return bad(log, "CMSIS-DAP: DAP_Transfer reply says value mismatch after all %zu "
                        "transfers", n);
    o.done = o.count;
    if (!ok && !o.mismatch && o.count > 0) {
        uint8_t last = x[o.count - 1].req;
        /* the posted AP read's value was not delivered, or the final write check failed */
        if (is_posted_ap_read(last) ||
            (o.count == n && !(last & LODE_DAP_RNW) && !(last & LODEI_DAP_REQ_MATCH_MASK))) {
            o.done = o.count - 1;
            o.indoubt = true;
        }
    }
    size_t words = 0;
    for (size_t i = 0; i < o.done; i++)
        words += req_has_rdata(x[i].req);
    if (3 + 4 * words > len)
        return bad(log, "CMSIS-DAP: DAP_Transfer reply is %zu bytes, %zu read values need %zu",
                   len, words, 3 + 4 * words);
    size_t off = 3;
    for (size_t i = 0; i < o.done; i++) {
        if (!req_has_rdata(x[i].req))
            continue;
        if (x[i].rdata)
            *x[i].rdata = lodei_get_le32(r + off);
        off += 4;
    }
    if (res)
        *res = o;
    if (used)
        *used = off;
    return LODE_OK;
}

int lodei_dap_dec_transfer_block(const uint8_t *r, size_t len, uint8_t req, size_t n,
                                 const lode_log_s *log, uint32_t *rdata,
                                 lodei_dap_xfer_result_s *res, size_t *used)
{
    int rc = head(r, len, LODEI_DAP_TRANSFER_BLOCK, 4, log);
    if (rc)
        return rc;
    bool rnw = (req & LODE_DAP_RNW) != 0;
    if (n == 0 || n > 0xFFFFu || (rnw && !rdata))
        return bad(log, "CMSIS-DAP: DAP_TransferBlock reply decoded without its request");
    lodei_dap_xfer_result_s o = {0};
    o.count = lodei_get_le16(r + 1);
    if (!parse_resp(r[3], &o) || o.mismatch)
        return bad(log, "CMSIS-DAP: DAP_TransferBlock response byte 0x%02x is not valid", r[3]);
    if (o.count > n)
        return bad(log, "CMSIS-DAP: DAP_TransferBlock reply counts %zu words, %zu were sent",
                   o.count, n);
    bool ok = o.ack == LODE_DAP_ACK_OK;
    if (ok && o.count != n)
        return bad(log, "CMSIS-DAP: DAP_TransferBlock reply says OK after %zu of %zu words",
                   o.count, n);
    o.done = o.count;
    if (!ok) {
        if (!rnw && o.count == n) {
            o.done = n - 1; /* the check of the last write failed */
            o.indoubt = true;
        } else if (rnw && (req & LODE_DAP_APNDP) && o.count >= 1 && o.count < n) {
            o.indoubt = true; /* word `count` was read and waits in RDBUFF */
        }
    }
    size_t words = rnw ? o.count : 0;
    if (4 + 4 * words > len)
        return bad(log, "CMSIS-DAP: DAP_TransferBlock reply is %zu bytes, %zu words need %zu",
                   len, words, 4 + 4 * words);
    for (size_t i = 0; i < words; i++)
        rdata[i] = lodei_get_le32(r + 4 + 4 * i);
    if (res)
        *res = o;
    if (used)
        *used = 4 + 4 * words;
    return LODE_OK;
}

/* ---- planning --------------------------------------------------------------------------- */
size_t lodei_dap_plan_transfer(const lode_dap_xfer_s *x, size_t n, size_t packet_size)
{
    size_t req = 3, resp = 3, k = 0;
    if (!x)
        return 0;
    while (k < n && k < 255) {
        size_t rq = lodei_dap_xfer_req_bytes(x[k].req), rs = lodei_dap_xfer_resp_bytes(x[k].req);
        if (req + rq > packet_size || resp + rs > packet_size)
            break;
        req += rq;
        resp += rs;
        k++;
    }
    return k;
}

size_t lodei_dap_block_max(size_t packet_size, bool rnw)
{
    size_t hdr = rnw ? 4 : 5;
    if (packet_size <= hdr + 3)
        return 0;
    size_t m = (packet_size - hdr) / 4;
    return m > 0xFFFFu ? 0xFFFFu : m;
}

/* ---- SWO ------------------------------------------------------------------------------- */
int lodei_dap_enc_swo_u8(uint8_t *buf, size_t cap, uint8_t cmd, uint8_t value)
{
    const uint8_t b[2] = {cmd, value};
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_swo_baudrate(uint8_t *buf, size_t cap, uint32_t baud)
{
    uint8_t b[5] = {LODEI_DAP_SWO_BAUDRATE};
    lodei_put_le32(b + 1, baud);
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_enc_swo_data(uint8_t *buf, size_t cap, uint16_t max)
{
    uint8_t b[3] = {LODEI_DAP_SWO_DATA};
    lodei_put_le16(b + 1, max);
    return enc_bytes(buf, cap, b, sizeof b);
}

int lodei_dap_dec_swo_baudrate(const uint8_t *r, size_t len, const lode_log_s *log, uint32_t *baud)
{
    int rc = head(r, len, LODEI_DAP_SWO_BAUDRATE, 5, log);
    if (rc)
        return rc;
    *baud = lodei_get_le32(r + 1);
    return LODE_OK;
}

int lodei_dap_dec_swo_data(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *status,
                           const uint8_t **data, size_t *n)
{
    int rc = head(r, len, LODEI_DAP_SWO_DATA, 4, log);
    if (rc)
        return rc;
    size_t count = lodei_get_le16(r + 2);
    if (4 + count > len)
        return bad(log, "CMSIS-DAP: DAP_SWO_Data says %zu bytes, the reply holds %zu", count, len - 4);
    *status = r[1];
    *data = r + 4;
    *n = count;
    return LODE_OK;
}
