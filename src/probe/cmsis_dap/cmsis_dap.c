/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP driver: DAP_Info at open, SWD connect, and the lode/dap.h transfer operations
 * with packing and pipelining (see include/lode/cmsis_dap.h). */
#include "probe/cmsis_dap/cmsis_dap.h"

#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "probe/cmsis_dap/dap_codec.h"

#define DAP_TIMEOUT_MS 1000u
#define DEFAULT_WAIT_RETRY 80u
#define DEFAULT_HOST_RETRIES 3u
#define MATCH_RETRY 16u /* value-match reads (DHCSR.S_REGRDY): a slowly clocked core gets time */
#define DP_RDBUFF_READ (LODE_DAP_RNW | LODE_DAP_A(0x0C))

struct lode_cmsis_dap_s {
    lode_transport_s *t;
    const lode_log_s *log;
    lode_cmsis_dap_info_s info;
    size_t psize;    /* DAP packet size in use */
    unsigned pcount; /* commands in flight at most */
    size_t rxcap;
    uint8_t *tx, *rx;
    uint16_t wait_retry;
    unsigned host_retries;
    bool connected;
    lode_cmsis_dap_stats_s stats;
    /* submitted transfer lists, oldest first (ring): sent, maybe already answered */
    struct pend_s {
        lode_dap_xfer_s *xf;
        size_t n;
        bool answered;
        int rc;
        size_t done;
        lode_dap_ack_e ack;
    } pend[LODEI_CMSIS_DAP_MAX_INFLIGHT];
    unsigned pend_head, npend, nanswered;
    bool submitting;
};

static int take_answer(lode_cmsis_dap_s *dap);

/* ---- I/O ------------------------------------------------------------------------------ */
static int send_cmd(lode_cmsis_dap_s *dap, const uint8_t *b, size_t n)
{
    /* a synchronous command: the replies of submitted lists come first */
    while (!dap->submitting && dap->nanswered < dap->npend) {
        int rc = take_answer(dap);
        if (rc)
            return rc;
    }
    int rc = lode_transport_write(dap->t, b, n, DAP_TIMEOUT_MS);
    if (rc) {
        lode_log(dap->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: sending %s failed (%s): is the probe still connected?",
                 lodei_dap_cmd_name(b[0]), lode_strerror(rc));
        return rc;
    }
    dap->stats.commands++;
    return LODE_OK;
}

static int recv_reply(lode_cmsis_dap_s *dap, uint8_t cmd, size_t *got)
{
    size_t n = 0;
    int rc = lode_transport_read(dap->t, dap->rx, dap->rxcap, &n, DAP_TIMEOUT_MS);
    if (rc) {
        lode_log(dap->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: no reply to %s (%s): is the probe still connected?",
                 lodei_dap_cmd_name(cmd), lode_strerror(rc));
        return rc;
    }
    if (n > dap->rxcap)
        n = dap->rxcap;
    *got = n;
    return LODE_OK;
}

int lodei_cmsis_dap_command(lode_cmsis_dap_s *dap, const uint8_t *req, size_t len,
                            const uint8_t **reply, size_t *got)
{
    if (!dap || !req || len == 0 || len > dap->psize || !reply || !got)
        return LODE_E_INVALID_ARG;
    int rc = send_cmd(dap, req, len);
    if (rc)
        return rc;
    size_t n = 0;
    rc = recv_reply(dap, req[0], &n);
    if (rc)
        return rc;
    *reply = dap->rx;
    *got = n;
    return LODE_OK;
}

size_t lodei_cmsis_dap_packet_size(const lode_cmsis_dap_s *dap) { return dap ? dap->psize : 0; }

/* Encode into dap->tx (enc returned length or error), send, receive. */
static int roundtrip(lode_cmsis_dap_s *dap, int enc_len, size_t *got)
{
    if (enc_len < 0)
        return enc_len;
    int rc = send_cmd(dap, dap->tx, (size_t)enc_len);
    if (rc)
        return rc;
    return recv_reply(dap, dap->tx[0], got);
}

static int simple_cmd(lode_cmsis_dap_s *dap, int enc_len)
{
    size_t got = 0;
    int rc = roundtrip(dap, enc_len, &got);
    if (rc)
        return rc;
    return lodei_dap_dec_status(dap->rx, got, dap->tx[0], dap->log, NULL);
}

static int set_buffers(lode_cmsis_dap_s *dap, size_t psize)
{
    size_t rxcap = psize;
    if (dap->t->packet_size > rxcap)
        rxcap = dap->t->packet_size;
    uint8_t *tx = malloc(psize), *rx = malloc(rxcap);
    if (!tx || !rx) {
        free(tx);
        free(rx);
        return LODE_E_NOMEM;
    }
    free(dap->tx);
    free(dap->rx);
    dap->tx = tx;
    dap->rx = rx;
    dap->psize = psize;
    dap->rxcap = rxcap;
    return LODE_OK;
}

/* ---- open / info ---------------------------------------------------------------------- */
static int info_string(lode_cmsis_dap_s *dap, uint8_t id, char *out, size_t cap)
{
    size_t got = 0;
    int rc = roundtrip(dap, lodei_dap_enc_info(dap->tx, dap->psize, id), &got);
    if (rc)
        return rc;
    return lodei_dap_dec_info_string(dap->rx, got, id, dap->log, out, cap);
}

static int query_info(lode_cmsis_dap_s *dap)
{
    lode_cmsis_dap_info_s *in = &dap->info;
    size_t got = 0;
    int rc = roundtrip(dap, lodei_dap_enc_info(dap->tx, dap->psize, LODEI_DAP_ID_PACKET_SIZE), &got);
    if (!rc)
        rc = lodei_dap_dec_info_packet_size(dap->rx, got, dap->log, &in->packet_size);
    if (!rc)
        rc = roundtrip(dap, lodei_dap_enc_info(dap->tx, dap->psize, LODEI_DAP_ID_PACKET_COUNT), &got);
    if (!rc)
        rc = lodei_dap_dec_info_packet_count(dap->rx, got, dap->log, &in->packet_count);
    if (!rc)
        rc = roundtrip(dap, lodei_dap_enc_info(dap->tx, dap->psize, LODEI_DAP_ID_CAPABILITIES), &got);
    if (!rc)
        rc = lodei_dap_dec_info_caps(dap->rx, got, dap->log, &in->caps);
    if (!rc)
        rc = info_string(dap, LODEI_DAP_ID_VENDOR, in->vendor, sizeof in->vendor);
    if (!rc)
        rc = info_string(dap, LODEI_DAP_ID_PRODUCT, in->product, sizeof in->product);
    if (!rc)
        rc = info_string(dap, LODEI_DAP_ID_SERIAL, in->serial, sizeof in->serial);
    if (!rc)
        rc = info_string(dap, LODEI_DAP_ID_PROTOCOL_VERSION, in->protocol_version,
                         sizeof in->protocol_version);
    if (!rc)
        rc = info_string(dap, LODEI_DAP_ID_FW_VERSION, in->fw_version, sizeof in->fw_version);
    return rc;
}

int lode_cmsis_dap_open(lode_transport_s *t, const lode_log_s *log, lode_cmsis_dap_s **out)
{
    if (!t || !t->ops || !t->ops->read || !t->ops->write || !out)
        return LODE_E_INVALID_ARG;
    lode_cmsis_dap_s *dap = calloc(1, sizeof *dap);
    if (!dap)
        return LODE_E_NOMEM;
    dap->t = t;
    dap->log = log;
    dap->wait_retry = DEFAULT_WAIT_RETRY;
    dap->host_retries = DEFAULT_HOST_RETRIES;
    dap->pcount = 1;
    /* until DAP_Info says otherwise: the transport's packet (Info replies are short) */
    size_t first = t->packet_size >= LODEI_DAP_PACKET_MIN ? t->packet_size : 64;
    if (first > LODEI_DAP_PACKET_MAX)
        first = LODEI_DAP_PACKET_MAX;
    int rc = set_buffers(dap, first);
    if (!rc)
        rc = query_info(dap);
    if (rc)
        goto fail;

    lode_cmsis_dap_info_s *in = &dap->info;
    if (in->packet_size < LODEI_DAP_PACKET_MIN || in->packet_count == 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: probe reports packet size %u and count %u, which cannot work",
                 in->packet_size, in->packet_count);
        rc = LODE_E_PROTOCOL;
        goto fail;
    }
    if (!(in->caps & LODE_CMSIS_DAP_CAP_SWD)) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: probe '%s' has no SWD (capabilities 0x%04x): lode needs an SWD probe",
                 in->product, in->caps);
        rc = LODE_E_UNSUPPORTED;
        goto fail;
    }
    size_t psize = in->packet_size;
    /* a HID report cannot grow; a bulk transfer can span several USB packets */
    if (t->kind == LODE_TRANSPORT_USB_HID && t->packet_size && psize > t->packet_size)
        psize = t->packet_size;
    if (psize > LODEI_DAP_PACKET_MAX)
        psize = LODEI_DAP_PACKET_MAX;
    rc = set_buffers(dap, psize);
    if (rc)
        goto fail;
    in->used_packet_size = (uint16_t)psize;
    dap->pcount = in->packet_count;
    if (dap->pcount > LODEI_CMSIS_DAP_MAX_INFLIGHT)
        dap->pcount = LODEI_CMSIS_DAP_MAX_INFLIGHT;
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE,
             "CMSIS-DAP: %s %s (serial %s), protocol %s, %u packets of %u bytes, caps 0x%04x",
             in->vendor, in->product, in->serial, in->protocol_version, in->packet_count,
             in->packet_size, in->caps);
    *out = dap;
    return LODE_OK;
fail:
    free(dap->tx);
    free(dap->rx);
    free(dap);
    return rc;
}

void lode_cmsis_dap_close(lode_cmsis_dap_s *dap)
{
    if (!dap)
        return;
    if (dap->connected)
        (void)lode_cmsis_dap_disconnect(dap);
    free(dap->tx);
    free(dap->rx);
    free(dap);
}

int lode_cmsis_dap_info(const lode_cmsis_dap_s *dap, lode_cmsis_dap_info_s *out)
{
    if (!dap || !out)
        return LODE_E_INVALID_ARG;
    *out = dap->info;
    return LODE_OK;
}

int lode_cmsis_dap_stats(const lode_cmsis_dap_s *dap, lode_cmsis_dap_stats_s *out)
{
    if (!dap || !out)
        return LODE_E_INVALID_ARG;
    *out = dap->stats;
    return LODE_OK;
}

/* ---- connect -------------------------------------------------------------------------- */
static int transfer_configure(lode_cmsis_dap_s *dap)
{
    return simple_cmd(dap, lodei_dap_enc_transfer_configure(dap->tx, dap->psize, 0,
                                                            dap->wait_retry, MATCH_RETRY));
}

int lode_cmsis_dap_set_retries(lode_cmsis_dap_s *dap, uint16_t probe_wait_retry,
                               unsigned host_retries)
{
    if (!dap)
        return LODE_E_INVALID_ARG;
    dap->wait_retry = probe_wait_retry;
    dap->host_retries = host_retries;
    return dap->connected ? transfer_configure(dap) : LODE_OK;
}

static int connect_reply(lode_cmsis_dap_s *dap, const uint8_t *r, size_t len, size_t *used)
{
    uint8_t port = 0;
    int rc = lodei_dap_dec_connect(r, len, dap->log, &port, used);
    if (rc)
        return rc;
    if (port != LODEI_DAP_PORT_SWD) {
        lode_log(dap->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: the probe could not select SWD (DAP_Connect answered port %u)", port);
        return LODE_E_UNSUPPORTED;
    }
    return LODE_OK;
}

/* The four set-up commands in one DAP_ExecuteCommands. */
static int connect_atomic(lode_cmsis_dap_s *dap, uint32_t hz)
{
    uint8_t *b = dap->tx;
    size_t cap = dap->psize, o = 0;
    int n = lodei_dap_enc_multi(b, cap, LODEI_DAP_EXECUTE_COMMANDS, 4);
    if (n > 0)
        o += (size_t)n, n = lodei_dap_enc_connect(b + o, cap - o, LODEI_DAP_PORT_SWD);
    if (n > 0)
        o += (size_t)n, n = lodei_dap_enc_swj_clock(b + o, cap - o, hz);
    if (n > 0)
        o += (size_t)n, n = lodei_dap_enc_transfer_configure(b + o, cap - o, 0, dap->wait_retry, MATCH_RETRY);
    if (n > 0)
        o += (size_t)n, n = lodei_dap_enc_swd_configure(b + o, cap - o, 0);
    if (n < 0)
        return n;
    o += (size_t)n;
    size_t got = 0, used = 0;
    int rc = roundtrip(dap, (int)o, &got);
    if (rc)
        return rc;
    const uint8_t *r = dap->rx;
    uint8_t num = 0;
    rc = lodei_dap_dec_multi(r, got, dap->log, &num, &used);
    if (rc)
        return rc;
    if (num != 4) {
        lode_log(dap->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "CMSIS-DAP: DAP_ExecuteCommands ran %u of 4 set-up commands", num);
        return LODE_E_PROTOCOL;
    }
    size_t off = used;
    static const uint8_t status_cmds[] = {LODEI_DAP_SWJ_CLOCK, LODEI_DAP_TRANSFER_CONFIGURE,
                                          LODEI_DAP_SWD_CONFIGURE};
    rc = connect_reply(dap, r + off, got - off, &used);
    if (rc)
        return rc;
    off += used;
    for (size_t i = 0; i < sizeof status_cmds; i++) {
        rc = lodei_dap_dec_status(r + off, got - off, status_cmds[i], dap->log, &used);
        if (rc)
            return rc;
        off += used;
    }
    return LODE_OK;
}

int lode_cmsis_dap_connect_swd(lode_cmsis_dap_s *dap, uint32_t hz)
{
    if (!dap || hz == 0)
        return LODE_E_INVALID_ARG;
    int rc;
    if ((dap->info.caps & LODE_CMSIS_DAP_CAP_ATOMIC) && dap->psize >= 32) {
        rc = connect_atomic(dap, hz);
    } else {
        size_t got = 0;
        rc = roundtrip(dap, lodei_dap_enc_connect(dap->tx, dap->psize, LODEI_DAP_PORT_SWD), &got);
        if (!rc)
            rc = connect_reply(dap, dap->rx, got, NULL);
        if (!rc)
            rc = simple_cmd(dap, lodei_dap_enc_swj_clock(dap->tx, dap->psize, hz));
        if (!rc)
            rc = transfer_configure(dap);
        if (!rc)
            rc = simple_cmd(dap, lodei_dap_enc_swd_configure(dap->tx, dap->psize, 0));
    }
    if (rc)
        return rc;
    dap->connected = true;
    lode_log(dap->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
             "CMSIS-DAP: SWD connected at %u Hz, WAIT retry %u", (unsigned)hz, dap->wait_retry);
    return LODE_OK;
}

int lode_cmsis_dap_disconnect(lode_cmsis_dap_s *dap)
{
    if (!dap)
        return LODE_E_INVALID_ARG;
    dap->connected = false;
    return simple_cmd(dap, lodei_dap_enc_disconnect(dap->tx, dap->psize));
}

/* ---- transfers ------------------------------------------------------------------------ */
/* One pipelined pass. The caller's operation is cut into commands by `next_cmd` (which
 * encodes the command for items [start, ..) into dap->tx and says how many items it took)
 * and each reply decoded by `dec`. At most pcount commands are in flight; after the first
 * failed reply no new command is sent, and the ones in flight are drained. */
typedef struct pass_s {
    lode_cmsis_dap_s *dap;
    size_t n;                   /* items in the operation */
    /* encode items from `start`: returns encoded length or error, *take = items taken */
    int (*enc)(struct pass_s *p, size_t start, size_t *take);
    /* decode the reply of a command carrying items [start, start+cnt) */
    int (*dec)(struct pass_s *p, size_t start, size_t cnt, const uint8_t *r, size_t len,
               lodei_dap_xfer_result_s *res);
    void *op;
    /* results */
    size_t completed;           /* leading items done */
    bool failed;
    lodei_dap_xfer_result_s fres;
    size_t fail_start;          /* first item of the failed command */
    bool later_executed;        /* a command behind the failed one did something */
} pass_s;

typedef struct seg_s {
    size_t start, cnt;
} seg_s;

static void drain(lode_cmsis_dap_s *dap, size_t nq)
{
    size_t got;
    while (nq--)
        if (recv_reply(dap, LODEI_DAP_TRANSFER, &got))
            return;
}

static int run_pass(pass_s *p, size_t from)
{
    lode_cmsis_dap_s *dap = p->dap;
    seg_s q[LODEI_CMSIS_DAP_MAX_INFLIGHT];
    size_t head = 0, nq = 0, next = from;
    p->completed = from;
    p->failed = false;
    p->later_executed = false;
    while (nq || (!p->failed && next < p->n)) {
        while (!p->failed && nq < dap->pcount && next < p->n) {
            size_t take = 0;
            int len = p->enc(p, next, &take);
            if (len < 0) {
                drain(dap, nq);
                return len;
            }
            int rc = send_cmd(dap, dap->tx, (size_t)len);
            if (rc) {
                drain(dap, nq);
                return rc;
            }
            q[(head + nq) % LODEI_CMSIS_DAP_MAX_INFLIGHT] = (seg_s){next, take};
            nq++;
            if (nq > dap->stats.max_inflight)
                dap->stats.max_inflight = nq;
            next += take;
        }
        seg_s s = q[head];
        head = (head + 1) % LODEI_CMSIS_DAP_MAX_INFLIGHT;
        nq--;
        size_t got = 0;
        int rc = recv_reply(dap, dap->tx[0], &got);
        if (rc)
            return rc; /* out of step with the probe: nothing sensible left to read */
        lodei_dap_xfer_result_s res;
        rc = p->dec(p, s.start, s.cnt, dap->rx, got, &res);
        if (rc) {
            drain(dap, nq);
            return rc;
        }
        if (p->failed) {
            if (res.count > 0 || res.indoubt)
                p->later_executed = true;
            continue;
        }
        if (res.ack == LODE_DAP_ACK_OK && !res.mismatch) {
            p->completed = s.start + s.cnt;
            continue;
        }
        p->failed = true;
        p->fres = res;
        p->fail_start = s.start;
        p->completed = s.start + res.done;
    }
    return LODE_OK;
}

static int ack_error(lode_cmsis_dap_s *dap, const char *what, size_t at, size_t n,
                     const lodei_dap_xfer_result_s *r)
{
    if (r->mismatch) {
        lode_log(dap->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "CMSIS-DAP: %s %zu of %zu: value match retries exhausted", what, at, n);
        return LODE_E_TIMEOUT;
    }
    switch (r->ack) {
    case LODE_DAP_ACK_WAIT:
        lode_log(dap->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "CMSIS-DAP: %s %zu of %zu: target answered WAIT after %u probe retries", what,
                 at, n, dap->wait_retry);
        return LODE_E_WAIT;
    case LODE_DAP_ACK_FAULT:
        lode_log(dap->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "CMSIS-DAP: %s %zu of %zu: target answered FAULT", what, at, n);
        return LODE_E_FAULT;
    default:
        lode_log(dap->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                 "CMSIS-DAP: %s %zu of %zu: no ACK from the target (response 0x%02x)%s", what,
                 at, n, r->resp, r->protocol_error ? ", parity error" : "");
        return LODE_E_PROTOCOL;
    }
}

/* --- DAP_Transfer items --- */
static int xfer_enc(pass_s *p, size_t start, size_t *take)
{
    lode_dap_xfer_s *x = p->op;
    size_t k = lodei_dap_plan_transfer(x + start, p->n - start, p->dap->psize);
    if (k == 0)
        return LODE_E_INVALID_ARG;
    *take = k;
    return lodei_dap_enc_transfer(p->dap->tx, p->dap->psize, 0, x + start, k);
}

static int xfer_dec(pass_s *p, size_t start, size_t cnt, const uint8_t *r, size_t len,
                    lodei_dap_xfer_result_s *res)
{
    lode_dap_xfer_s *x = p->op;
    p->dap->stats.transfers += cnt;
    return lodei_dap_dec_transfer(r, len, x + start, cnt, p->dap->log, res, NULL);
}

/* Fetch the value of a posted AP read (or confirm the last write) with a DP RDBUFF read. */
static int fetch_rdbuff(lode_cmsis_dap_s *dap, uint32_t *rdata, lodei_dap_xfer_result_s *res)
{
    lode_dap_xfer_s fx = {.req = DP_RDBUFF_READ, .wdata = 0, .rdata = rdata};
    pass_s p = {.dap = dap, .n = 1, .enc = xfer_enc, .dec = xfer_dec, .op = &fx};
    int rc = run_pass(&p, 0);
    if (rc)
        return rc;
    if (p.failed)
        *res = p.fres;
    else
        res->ack = LODE_DAP_ACK_OK, res->mismatch = false;
    return LODE_OK;
}

static bool is_ap_read(uint8_t req)
{
    return (req & LODE_DAP_APNDP) && (req & LODE_DAP_RNW) && !(req & LODEI_DAP_REQ_MATCH_VALUE);
}

static int dap_transfer(void *ctx, lode_dap_xfer_s *xf, size_t n, size_t *done,
                        lode_dap_ack_e *ack)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap || (!xf && n) || !done || !ack)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (xf[i].req & 0xC0u) /* no timestamps; bits 4/5 are CMSIS-DAP match requests */
            return LODE_E_INVALID_ARG;
    size_t completed = 0;
    unsigned retries = 0;
    bool fetch = false;
    lodei_dap_xfer_result_s fres = {0};
    size_t fail_at = 0;
    for (;;) {
        if (fetch) {
            /* transfer `completed` was ACKed; fetch its value / confirm it */
            uint8_t req = xf[completed].req;
            int rc = fetch_rdbuff(dap, is_ap_read(req) ? xf[completed].rdata : NULL, &fres);
            if (rc) {
                *done = completed;
                *ack = LODE_DAP_ACK_NONE;
                return rc;
            }
            fail_at = completed;
            if (fres.ack != LODE_DAP_ACK_OK) {
                if (fres.ack == LODE_DAP_ACK_WAIT && retries < dap->host_retries) {
                    retries++;
                    dap->stats.host_retries++;
                    continue;
                }
                break;
            }
            fetch = false;
            completed++;
        }
        if (completed == n) {
            *done = n;
            *ack = LODE_DAP_ACK_OK;
            return LODE_OK;
        }
        pass_s p = {.dap = dap, .n = n, .enc = xfer_enc, .dec = xfer_dec, .op = xf};
        int rc = run_pass(&p, completed);
        if (rc) {
            *done = p.completed;
            *ack = LODE_DAP_ACK_NONE;
            return rc;
        }
        completed = p.completed;
        if (!p.failed)
            continue;
        fres = p.fres;
        fail_at = completed;
        if (fres.ack == LODE_DAP_ACK_WAIT && !fres.mismatch && !p.later_executed &&
            retries < dap->host_retries) {
            retries++;
            dap->stats.host_retries++;
            fetch = fres.indoubt;
            continue;
        }
        if (p.later_executed)
            lode_log(dap->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE,
                     "CMSIS-DAP: commands queued behind the failed one executed");
        break;
    }
    *done = completed;
    *ack = fres.mismatch ? LODE_DAP_ACK_OK : fres.ack;
    return ack_error(dap, "transfer", fail_at + 1, n, &fres);
}

/* --- DAP_TransferBlock chunks --- */
typedef struct block_op_s {
    uint8_t req;
    uint32_t *data;
    size_t max;
} block_op_s;

static int block_enc(pass_s *p, size_t start, size_t *take)
{
    block_op_s *b = p->op;
    size_t k = p->n - start;
    if (k > b->max)
        k = b->max;
    *take = k;
    bool rnw = (b->req & LODE_DAP_RNW) != 0;
    return lodei_dap_enc_transfer_block(p->dap->tx, p->dap->psize, 0, b->req,
                                        rnw ? NULL : b->data + start, k);
}

static int block_dec(pass_s *p, size_t start, size_t cnt, const uint8_t *r, size_t len,
                     lodei_dap_xfer_result_s *res)
{
    block_op_s *b = p->op;
    bool rnw = (b->req & LODE_DAP_RNW) != 0;
    p->dap->stats.transfers += cnt;
    return lodei_dap_dec_transfer_block(r, len, b->req, cnt, p->dap->log,
                                        rnw ? b->data + start : NULL, res, NULL);
}

static int dap_transfer_block(void *ctx, uint8_t req, uint32_t *data, size_t n, size_t *done,
                              lode_dap_ack_e *ack)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap || !data || !done || !ack || (req & ~0x0Fu))
        return LODE_E_INVALID_ARG;
    bool rnw = (req & LODE_DAP_RNW) != 0;
    block_op_s b = {.req = req, .data = data, .max = lodei_dap_block_max(dap->psize, rnw)};
    if (b.max == 0)
        return LODE_E_UNSUPPORTED;
    size_t completed = 0, fail_at = 0;
    unsigned retries = 0;
    bool fetch = false;
    lodei_dap_xfer_result_s fres = {0};
    for (;;) {
        if (fetch) {
            int rc = fetch_rdbuff(dap, rnw ? &data[completed] : NULL, &fres);
            if (rc) {
                *done = completed;
                *ack = LODE_DAP_ACK_NONE;
                return rc;
            }
            fail_at = completed;
            if (fres.ack != LODE_DAP_ACK_OK) {
                if (fres.ack == LODE_DAP_ACK_WAIT && retries < dap->host_retries) {
                    retries++;
                    dap->stats.host_retries++;
                    continue;
                }
                break;
            }
            fetch = false;
            completed++;
        }
        if (completed == n) {
            *done = n;
            *ack = LODE_DAP_ACK_OK;
            return LODE_OK;
        }
        pass_s p = {.dap = dap, .n = n, .enc = block_enc, .dec = block_dec, .op = &b};
        int rc = run_pass(&p, completed);
        if (rc) {
            *done = p.completed;
            *ack = LODE_DAP_ACK_NONE;
            return rc;
        }
        completed = p.completed;
        if (!p.failed)
            continue;
        fres = p.fres;
        fail_at = completed;
        /* an AP block read stopped at its first word is ambiguous (see dap_codec.h) */
        bool ambiguous = rnw && (req & LODE_DAP_APNDP) && fres.count == 0;
        if (fres.ack == LODE_DAP_ACK_WAIT && !p.later_executed && !ambiguous &&
            retries < dap->host_retries) {
            retries++;
            dap->stats.host_retries++;
            fetch = fres.indoubt;
            continue;
        }
        break;
    }
    *done = completed;
    *ack = fres.ack;
    return ack_error(dap, "block word", fail_at + 1, n, &fres);
}

/* --- the rest of the ops --- */
static int dap_swj_sequence(void *ctx, unsigned bits, const uint8_t *data)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap || (bits && !data))
        return LODE_E_INVALID_ARG;
    while (bits) {
        unsigned k = bits > 256 ? 256 : bits;
        int rc = simple_cmd(dap, lodei_dap_enc_swj_sequence(dap->tx, dap->psize, k, data));
        if (rc)
            return rc;
        bits -= k;
        data += k / 8;
    }
    return LODE_OK;
}

static int dap_write_abort(void *ctx, uint32_t value)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap)
        return LODE_E_INVALID_ARG;
    return simple_cmd(dap, lodei_dap_enc_write_abort(dap->tx, dap->psize, 0, value));
}

static int dap_reset_pin(void *ctx, bool asserted)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap)
        return LODE_E_INVALID_ARG;
    size_t got = 0;
    int rc = roundtrip(dap, lodei_dap_enc_swj_pins(dap->tx, dap->psize,
                                                   asserted ? 0 : LODEI_DAP_PIN_NRESET,
                                                   LODEI_DAP_PIN_NRESET, 0), &got);
    if (rc)
        return rc;
    return lodei_dap_dec_swj_pins(dap->rx, got, dap->log, NULL, NULL);
}

/* ---- pipelined transfers (lode_dap_ops_s submit / collect) ----------------------------- */
static int xfer_enc(pass_s *p, size_t start, size_t *take);
static int xfer_dec(pass_s *p, size_t start, size_t cnt, const uint8_t *r, size_t len,
                    lodei_dap_xfer_result_s *res);

/* Receive the reply of the oldest unanswered list and record its outcome. */
static int take_answer(lode_cmsis_dap_s *dap)
{
    struct pend_s *e = &dap->pend[(dap->pend_head + dap->nanswered) % LODEI_CMSIS_DAP_MAX_INFLIGHT];
    size_t got = 0;
    e->answered = true;
    dap->nanswered++;
    e->rc = recv_reply(dap, LODEI_DAP_TRANSFER, &got);
    if (e->rc) {
        e->done = 0;
        e->ack = LODE_DAP_ACK_NONE;
        return e->rc;
    }
    pass_s p = {.dap = dap, .n = e->n, .op = e->xf};
    lodei_dap_xfer_result_s res = {0};
    e->rc = xfer_dec(&p, 0, e->n, dap->rx, got, &res);
    if (e->rc) {
        e->done = 0;
        e->ack = LODE_DAP_ACK_NONE;
    } else if (res.ack == LODE_DAP_ACK_OK && !res.mismatch) {
        e->done = e->n;
        e->ack = LODE_DAP_ACK_OK;
    } else {
        e->done = res.done;
        e->ack = res.mismatch ? LODE_DAP_ACK_OK : res.ack;
        e->rc = ack_error(dap, "pipelined transfer", res.done + 1, e->n, &res);
    }
    return LODE_OK;
}

static unsigned dap_max_pending(void *ctx)
{
    lode_cmsis_dap_s *dap = ctx;
    return dap ? dap->pcount : 0;
}

static int dap_submit(void *ctx, lode_dap_xfer_s *xf, size_t n)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap || !xf || n == 0)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (xf[i].req & 0xC0u)
            return LODE_E_INVALID_ARG;
    if (dap->npend >= dap->pcount)
        return LODE_E_STATE;
    if (lodei_dap_plan_transfer(xf, n, dap->psize) != n)
        return LODE_E_RANGE;
    pass_s p = {.dap = dap, .n = n, .op = xf};
    size_t take = 0;
    int len = xfer_enc(&p, 0, &take);
    if (len < 0)
        return len;
    dap->submitting = true;
    int rc = send_cmd(dap, dap->tx, (size_t)len);
    dap->submitting = false;
    if (rc)
        return rc;
    struct pend_s *e = &dap->pend[(dap->pend_head + dap->npend) % LODEI_CMSIS_DAP_MAX_INFLIGHT];
    *e = (struct pend_s){.xf = xf, .n = n};
    dap->npend++;
    if (dap->npend > dap->stats.max_inflight)
        dap->stats.max_inflight = dap->npend;
    return LODE_OK;
}

static int dap_collect(void *ctx, size_t *done, lode_dap_ack_e *ack)
{
    lode_cmsis_dap_s *dap = ctx;
    if (!dap || !done || !ack)
        return LODE_E_INVALID_ARG;
    if (dap->npend == 0)
        return LODE_E_STATE;
    if (dap->nanswered == 0)
        take_answer(dap);
    struct pend_s *e = &dap->pend[dap->pend_head];
    dap->pend_head = (dap->pend_head + 1) % LODEI_CMSIS_DAP_MAX_INFLIGHT;
    dap->npend--;
    dap->nanswered--;
    *done = e->done;
    *ack = e->ack;
    return e->rc;
}

int lode_cmsis_dap_dap_ops(lode_cmsis_dap_s *dap, lode_dap_ops_s *ops)
{
    if (!dap || !ops)
        return LODE_E_INVALID_ARG;
    ops->transfer = dap_transfer;
    ops->transfer_block = dap_transfer_block;
    ops->swj_sequence = dap_swj_sequence;
    ops->write_abort = dap_write_abort;
    ops->reset_pin = dap_reset_pin;
    ops->submit = dap_submit;
    ops->collect = dap_collect;
    ops->max_pending = dap_max_pending;
    ops->ctx = dap;
    return LODE_OK;
}

/* ---- SWO ---------------------------------------------------------------------------------- */
int lode_cmsis_dap_swo_start(lode_cmsis_dap_s *dap, uint32_t baud, uint32_t *actual)
{
    if (!dap || !baud)
        return LODE_E_INVALID_ARG;
    if (!(dap->info.caps & LODE_CMSIS_DAP_CAP_SWO_UART)) {
        lode_log(dap->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "this CMSIS-DAP probe has no SWO capture (UART mode) in its capabilities");
        return LODE_E_UNSUPPORTED;
    }
    int rc = simple_cmd(dap, lodei_dap_enc_swo_u8(dap->tx, dap->psize, LODEI_DAP_SWO_CONTROL, 0));
    if (!rc)
        rc = simple_cmd(dap, lodei_dap_enc_swo_u8(dap->tx, dap->psize, LODEI_DAP_SWO_TRANSPORT, 1));
    if (!rc)
        rc = simple_cmd(dap, lodei_dap_enc_swo_u8(dap->tx, dap->psize, LODEI_DAP_SWO_MODE, 1));
    uint32_t got_baud = 0;
    size_t got = 0;
    if (!rc)
        rc = roundtrip(dap, lodei_dap_enc_swo_baudrate(dap->tx, dap->psize, baud), &got);
    if (!rc)
        rc = lodei_dap_dec_swo_baudrate(dap->rx, got, dap->log, &got_baud);
    if (!rc && got_baud == 0) {
        lode_log(dap->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "the probe cannot capture SWO at %u baud", baud);
        rc = LODE_E_UNSUPPORTED;
    }
    if (!rc)
        rc = simple_cmd(dap, lodei_dap_enc_swo_u8(dap->tx, dap->psize, LODEI_DAP_SWO_CONTROL, 1));
    if (!rc && actual)
        *actual = got_baud;
    return rc;
}

int lode_cmsis_dap_swo_read(lode_cmsis_dap_s *dap, uint8_t *buf, size_t cap, size_t *got_out)
{
    if (!dap || !buf || !got_out)
        return LODE_E_INVALID_ARG;
    *got_out = 0;
    size_t max = dap->psize > 4 ? dap->psize - 4 : 0;
    if (max > cap)
        max = cap;
    if (max > 0xFFFF)
        max = 0xFFFF;
    size_t got = 0;
    int rc = roundtrip(dap, lodei_dap_enc_swo_data(dap->tx, dap->psize, (uint16_t)max), &got);
    uint8_t status = 0;
    const uint8_t *data = NULL;
    size_t n = 0;
    if (!rc)
        rc = lodei_dap_dec_swo_data(dap->rx, got, dap->log, &status, &data, &n);
    if (!rc) {
        if (n > cap)
            n = cap;
        memcpy(buf, data, n);
        *got_out = n;
        if (status & 0x80)
            lode_log(dap->log, LODE_LOG_WARN, LODE_LOGC_PROBE, "SWO: the probe's trace buffer overran (data lost)");
    }
    return rc;
}

int lode_cmsis_dap_swo_stop(lode_cmsis_dap_s *dap)
{
    if (!dap)
        return LODE_E_INVALID_ARG;
    return simple_cmd(dap, lodei_dap_enc_swo_u8(dap->tx, dap->psize, LODEI_DAP_SWO_CONTROL, 0));
}
