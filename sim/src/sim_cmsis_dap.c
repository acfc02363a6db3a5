/* SPDX-License-Identifier: MIT */
/* A simulated CMSIS-DAP probe on the board's SWD port: the firmware's command processor
 * (written from the ARM CMSIS-DAP command reference) over the public SW-DP transfer API,
 * a USB timing model on the board's virtual clock, and an in-process transport.
 * See sim/include/lode/sim.h for the model. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lode/sim.h"
#include "lode/transport.h"
#include "util/bytes.h"

#define PS_PER_US 1000000ull
#define DEFAULT_SWJ_HZ 1000000u /* a probe's clock before DAP_SWJ_Clock */
#define STR_MAX 64
#define SWO_BUF 4096u /* the probe's trace buffer (DAP_Info 0xFD) */

/* command ids and bits (CMSIS-DAP) */
enum {
    C_INFO = 0x00, C_HOST_STATUS = 0x01, C_CONNECT = 0x02, C_DISCONNECT = 0x03,
    C_XFER_CONFIG = 0x04, C_XFER = 0x05, C_XFER_BLOCK = 0x06, C_XFER_ABORT = 0x07,
    C_WRITE_ABORT = 0x08, C_DELAY = 0x09, C_RESET_TARGET = 0x0A, C_SWJ_PINS = 0x10,
    C_SWJ_CLOCK = 0x11, C_SWJ_SEQ = 0x12, C_SWD_CONFIG = 0x13, C_SWO_TRANSPORT = 0x17,
    C_SWO_MODE = 0x18, C_SWO_BAUD = 0x19, C_SWO_CONTROL = 0x1A, C_SWO_STATUS = 0x1B,
    C_SWO_DATA = 0x1C, C_QUEUE = 0x7E,
    C_EXECUTE = 0x7F, C_INVALID = 0xFF,
};
#define R_APNDP 0x01u
#define R_RNW 0x02u
#define R_MATCH_VALUE 0x10u
#define R_MATCH_MASK 0x20u
#define RESP_MISMATCH 0x10u
#define PIN_NRESET 0x80u
#define PINS_MODELLED 0xA7u /* SWCLK, SWDIO, TDI, nTRST, nRESET */
#define ST_OK 0x00u
#define ST_ERR 0xFFu

typedef struct slot_s {
    uint8_t *req, *resp;
    size_t len, resp_len;
    uint64_t arrival, ready;
    bool executed;
} slot_s;

struct lode_sim_dap_s {
    lode_sim_s *sim;
    lode_log_s log;
    int version;
    size_t psize;
    unsigned pcount;
    uint16_t caps;
    uint64_t packets; /* OUT packets accepted over the USB model */
    char str[10][STR_MAX]; /* DAP_Info strings by id 1..9 */
    /* probe state */
    bool connected;
    uint32_t clock_hz;
    uint8_t idle_cycles;
    uint16_t wait_retry, match_retry;
    uint32_t match_mask;
    uint8_t swd_cfg;
    uint8_t pins;
    /* SWO capture (UART mode through DAP_SWO_Data): the board's SWO stream into a buffer */
    uint8_t swo_transport, swo_mode;
    uint32_t swo_baud;
    bool swo_on, swo_overrun;
    uint8_t swo_buf[SWO_BUF];
    size_t swo_len;
    /* USB model */
    uint64_t frame_ps;
    size_t usb_mps;
    uint64_t out_free;  /* end of the last OUT frame in use */
    /* The host's own timeline: it may be behind the board's clock while the probe executes
     * commands that were queued earlier (that overlap is what packet_count buys). Time the
     * board's clock moved outside the probe (the host sleeping) moves the host too. */
    uint64_t host_now;
    uint64_t last_seen;
    uint64_t in_last;   /* boundary of the last IN delivery */
    bool in_any;
    uint64_t busy_until;
    slot_s *slots;
    unsigned head, nslots, nexec;
};

typedef struct sim_dap_transport_s {
    lode_transport_s base; /* first member */
    lode_sim_dap_s *p;
} sim_dap_transport_s;

/* ---- SWD helpers ------------------------------------------------------------------------ */
static void idle(lode_sim_dap_s *p)
{
    if (p->idle_cycles && p->clock_hz)
        lode_sim_advance(p->sim, (uint64_t)p->idle_cycles * 1000000000000ull / p->clock_hz);
}

/* One transfer with the WAIT retries of DAP_TransferConfigure. */
static int swd(lode_sim_dap_s *p, bool ap, bool rnw, uint8_t a, uint32_t *data)
{
    unsigned retry = p->wait_retry;
    for (;;) {
        uint32_t d = rnw ? 0 : *data;
        int ack = lode_sim_swd_transfer(p->sim, ap, rnw, a, &d);
        idle(p);
        if (ack == LODE_SWD_ACK_OK && rnw)
            *data = d;
        if (ack != LODE_SWD_ACK_WAIT || retry == 0)
            return ack;
        retry--;
    }
}

static int rdbuff(lode_sim_dap_s *p, uint32_t *v) { return swd(p, false, true, 0x0C, v); }

/* ---- command handlers: return the response length, or -1 for a malformed request ------ */
static int info(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap,
                size_t *used)
{
    if (len < 2 || cap < 2)
        return -1;
    *used = 2;
    uint8_t id = q[1];
    r[0] = C_INFO;
    r[1] = 0;
    if (id >= 1 && id <= 9) {
        size_t n = strlen(p->str[id]);
        if (n == 0)
            return 2;
        if (cap < 3)
            return -1;
        if (n + 1 > cap - 2)
            n = cap - 3;
        memcpy(r + 2, p->str[id], n);
        r[2 + n] = 0;
        r[1] = (uint8_t)(n + 1);
        return (int)(3 + n);
    }
    switch (id) {
    case 0xF0:
        if (cap < 4)
            return -1;
        r[2] = (uint8_t)p->caps;
        if (p->caps >> 8) {
            r[3] = (uint8_t)(p->caps >> 8);
            r[1] = 2;
            return 4;
        }
        r[1] = 1;
        return 3;
    case 0xFD: /* SWO trace buffer size */
        if (cap < 6)
            return -1;
        r[1] = 4;
        lodei_put_le32(r + 2, SWO_BUF);
        return 6;
    case 0xFE:
        if (cap < 3)
            return -1;
        r[1] = 1;
        r[2] = (uint8_t)p->pcount;
        return 3;
    case 0xFF:
        if (cap < 4)
            return -1;
        r[1] = 2;
        lodei_put_le16(r + 2, (uint16_t)p->psize);
        return 4;
    default:
        return 2; /* not available */
    }
}

/* SWO: what the board sent since the last look, into the trace buffer (an overrun drops) */
static void swo_pull(lode_sim_dap_s *p)
{
    if (!p->swo_on)
        return;
    uint8_t tmp[256];
    size_t n;
    while ((n = lode_sim_swo_read(p->sim, tmp, sizeof tmp)) > 0) {
        size_t room = SWO_BUF - p->swo_len, take = n < room ? n : room;
        memcpy(p->swo_buf + p->swo_len, tmp, take);
        p->swo_len += take;
        if (take < n)
            p->swo_overrun = true;
    }
}

static int status_reply(uint8_t *r, size_t cap, uint8_t cmd, uint8_t status)
{
    if (cap < 2)
        return -1;
    r[0] = cmd;
    r[1] = status;
    return 2;
}

static void set_nreset(lode_sim_dap_s *p, bool asserted)
{
    bool was = !(p->pins & PIN_NRESET);
    if (asserted)
        p->pins &= (uint8_t)~PIN_NRESET;
    else
        p->pins |= PIN_NRESET;
    if (was != asserted)
        lode_sim_nrst(p->sim, asserted);
}

static int connect(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap,
                   size_t *used)
{
    if (len < 2)
        return -1;
    *used = 2;
    uint8_t port = q[1];
    if (port == 0 || port == 1) {
        /* the probe drives SWCLK/SWDIO high and releases nRESET */
        p->connected = true;
        p->pins |= 0x03u;
        set_nreset(p, false);
        lode_sim_set_swd_hz(p->sim, p->clock_hz);
        return status_reply(r, cap, C_CONNECT, 1);
    }
    return status_reply(r, cap, C_CONNECT, 0); /* an SWD-only probe: Connect(JTAG) fails (port 0) */
}

/* DAP_Transfer with the firmware's posted-read and write-check behaviour. */
static int transfer(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap,
                    size_t *used)
{
    if (len < 3)
        return -1;
    unsigned count = q[2];
    size_t off = 3, rbytes = 3;
    for (unsigned i = 0; i < count; i++) {
        if (off >= len)
            return -1;
        uint8_t rq = q[off++];
        if (rq & 0xC0u) /* no timestamps in this probe */
            return -1;
        bool rnw = rq & R_RNW;
        if (!rnw || (rq & R_MATCH_VALUE)) {
            if (off + 4 > len)
                return -1;
            off += 4;
        } else {
            rbytes += 4;
        }
    }
    if (rbytes > cap)
        return -1;
    *used = off;
    r[0] = C_XFER;
    r[1] = 0;
    r[2] = 0;
    if (!p->connected)
        return 3;

    size_t o = 3;
    unsigned done = 0;
    int ack = 0;
    uint8_t flags = 0;
    bool post = false, check = false;
    uint32_t v = 0;
    off = 3;
    for (unsigned i = 0; i < count; i++) {
        uint8_t rq = q[off++];
        bool ap = rq & R_APNDP, rnw = rq & R_RNW;
        uint8_t a = rq & 0x0Cu;
        uint32_t data = 0;
        if (!rnw || (rq & R_MATCH_VALUE)) {
            data = lodei_get_le32(q + off);
            off += 4;
        }
        if (post && (!rnw || !ap || (rq & R_MATCH_VALUE))) {
            /* anything but a plain AP read first collects the posted value */
            ack = rdbuff(p, &v);
            if (ack != LODE_SWD_ACK_OK)
                break;
            lodei_put_le32(r + o, v);
            o += 4;
            post = false;
        }
        if (rnw && (rq & R_MATCH_VALUE)) {
            unsigned retry = p->match_retry;
            for (;;) {
                ack = swd(p, ap, true, a, &v);
                if (ack == LODE_SWD_ACK_OK && ap)
                    ack = rdbuff(p, &v);
                if (ack != LODE_SWD_ACK_OK || (v & p->match_mask) == data || retry == 0)
                    break;
                retry--;
            }
            if (ack != LODE_SWD_ACK_OK)
                break;
            if ((v & p->match_mask) != data) {
                flags |= RESP_MISMATCH;
                break;
            }
            check = false;
        } else if (rnw && ap) {
            ack = swd(p, true, true, a, &v);
            if (ack != LODE_SWD_ACK_OK)
                break;
            if (post) {
                lodei_put_le32(r + o, v);
                o += 4;
            }
            post = true;
            check = false;
        } else if (rnw) {
            ack = swd(p, false, true, a, &v);
            if (ack != LODE_SWD_ACK_OK)
                break;
            lodei_put_le32(r + o, v);
            o += 4;
            check = false;
        } else if (rq & R_MATCH_MASK) {
            p->match_mask = data;
            ack = LODE_SWD_ACK_OK;
        } else {
            ack = swd(p, ap, false, a, &data);
            if (ack != LODE_SWD_ACK_OK)
                break;
            check = true;
        }
        done++;
    }
    if (ack == LODE_SWD_ACK_OK && !flags) {
        if (post) {
            ack = rdbuff(p, &v);
            if (ack == LODE_SWD_ACK_OK) {
                lodei_put_le32(r + o, v);
                o += 4;
            }
        } else if (check) {
            ack = rdbuff(p, &v);
        }
    }
    r[1] = (uint8_t)done;
    r[2] = (uint8_t)((ack & 0x07) | flags);
    return (int)o;
}

static int transfer_block(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r,
                          size_t cap, size_t *used)
{
    if (len < 5)
        return -1;
    size_t n = lodei_get_le16(q + 2);
    uint8_t rq = q[4];
    bool ap = rq & R_APNDP, rnw = rq & R_RNW;
    uint8_t a = rq & 0x0Cu;
    if (rq & 0xF0u)
        return -1;
    if (rnw ? 4 + 4 * n > cap : (5 + 4 * n > len || cap < 4))
        return -1;
    *used = rnw ? 5 : 5 + 4 * n;
    r[0] = C_XFER_BLOCK;
    r[1] = r[2] = r[3] = 0;
    if (!p->connected || n == 0)
        return 4;
    size_t done = 0, o = 4;
    int ack;
    uint32_t v = 0;
    if (rnw && ap) {
        ack = swd(p, true, true, a, &v); /* posted */
        for (size_t k = 1; ack == LODE_SWD_ACK_OK && k <= n; k++) {
            ack = k < n ? swd(p, true, true, a, &v) : rdbuff(p, &v);
            if (ack != LODE_SWD_ACK_OK)
                break;
            lodei_put_le32(r + o, v);
            o += 4;
            done++;
        }
    } else if (rnw) {
        ack = LODE_SWD_ACK_OK;
        for (size_t k = 0; k < n; k++) {
            ack = swd(p, false, true, a, &v);
            if (ack != LODE_SWD_ACK_OK)
                break;
            lodei_put_le32(r + o, v);
            o += 4;
            done++;
        }
    } else {
        ack = LODE_SWD_ACK_OK;
        for (size_t k = 0; k < n; k++) {
            uint32_t d = lodei_get_le32(q + 5 + 4 * k);
            ack = swd(p, ap, false, a, &d);
            if (ack != LODE_SWD_ACK_OK)
                break;
            done++;
        }
        if (ack == LODE_SWD_ACK_OK)
            ack = rdbuff(p, &v); /* check the last write */
    }
    lodei_put_le16(r + 1, (uint16_t)done);
    r[3] = (uint8_t)(ack & 0x07);
    return (int)o;
}

static int swj_pins(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap,
                    size_t *used)
{
    if (len < 7 || cap < 2)
        return -1;
    *used = 7;
    uint8_t out = q[1], sel = q[2];
    if (sel & PIN_NRESET)
        set_nreset(p, !(out & PIN_NRESET));
    sel &= (uint8_t)(PINS_MODELLED & ~PIN_NRESET);
    p->pins = (uint8_t)((p->pins & ~sel) | (out & sel));
    /* the pins read back as driven at once, so Pin Wait never waits */
    r[0] = C_SWJ_PINS;
    r[1] = (uint8_t)(p->pins & PINS_MODELLED);
    return 2;
}

/* One command (not Execute/Queue). */
/* DAP_SWO_*: UART (NRZ) capture read with DAP_SWO_Data (transport 1); Manchester and the
 * separate trace endpoint are not offered (the capabilities say so) */
static int swo_cmd(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap,
                   size_t *used)
{
    uint8_t cmd = q[0];
    switch (cmd) {
    case C_SWO_TRANSPORT:
    case C_SWO_MODE:
    case C_SWO_CONTROL: {
        if (len < 2)
            return -1;
        *used = 2;
        uint8_t v = q[1];
        bool ok;
        if (cmd == C_SWO_TRANSPORT) {
            ok = v <= 1 && !p->swo_on;
            if (ok)
                p->swo_transport = v;
        } else if (cmd == C_SWO_MODE) {
            ok = v <= 1 && !p->swo_on;
            if (ok)
                p->swo_mode = v;
        } else {
            ok = v <= 1 && (!v || (p->swo_mode == 1 && p->swo_transport == 1 && p->swo_baud));
            if (ok && v && !p->swo_on) {
                p->swo_len = 0;
                p->swo_overrun = false;
                uint8_t drop[256]; /* what the board sent before the capture started is gone */
                while (lode_sim_swo_read(p->sim, drop, sizeof drop) > 0) {
                }
            }
            if (ok)
                p->swo_on = v;
        }
        return status_reply(r, cap, cmd, ok ? ST_OK : ST_ERR);
    }
    case C_SWO_BAUD: {
        if (len < 5 || cap < 5)
            return -1;
        *used = 5;
        uint32_t b = lodei_get_le32(q + 1);
        p->swo_baud = b <= 2000000u ? b : 0; /* a UART capture up to 2 MBd */
        r[0] = C_SWO_BAUD;
        lodei_put_le32(r + 1, p->swo_baud);
        return 5;
    }
    case C_SWO_STATUS:
        if (cap < 6)
            return -1;
        swo_pull(p);
        r[0] = C_SWO_STATUS;
        r[1] = (uint8_t)((p->swo_on ? 1u : 0u) | (p->swo_overrun ? 0x80u : 0u));
        lodei_put_le32(r + 2, (uint32_t)p->swo_len);
        return 6;
    case C_SWO_DATA: {
        if (len < 3 || cap < 4)
            return -1;
        *used = 3;
        swo_pull(p);
        size_t want = lodei_get_le16(q + 1), room = cap - 4;
        size_t n = p->swo_len < want ? p->swo_len : want;
        if (n > room)
            n = room;
        r[0] = C_SWO_DATA;
        r[1] = (uint8_t)((p->swo_on ? 1u : 0u) | (p->swo_overrun ? 0x80u : 0u));
        lodei_put_le16(r + 2, (uint16_t)n);
        memcpy(r + 4, p->swo_buf, n);
        memmove(p->swo_buf, p->swo_buf + n, p->swo_len - n);
        p->swo_len -= n;
        p->swo_overrun = false;
        return (int)(4 + n);
    }
    default:
        return -1;
    }
}

static int dispatch(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap,
                    size_t *used)
{
    *used = 1;
    switch (q[0]) {
    case C_INFO: return info(p, q, len, r, cap, used);
    case C_HOST_STATUS:
        if (len < 3)
            return -1;
        *used = 3;
        return status_reply(r, cap, C_HOST_STATUS, ST_OK);
    case C_CONNECT: return connect(p, q, len, r, cap, used);
    case C_DISCONNECT:
        p->connected = false;
        return status_reply(r, cap, C_DISCONNECT, ST_OK);
    case C_XFER_CONFIG:
        if (len < 6)
            return -1;
        *used = 6;
        p->idle_cycles = q[1];
        p->wait_retry = lodei_get_le16(q + 2);
        p->match_retry = lodei_get_le16(q + 4);
        return status_reply(r, cap, C_XFER_CONFIG, ST_OK);
    case C_XFER: return transfer(p, q, len, r, cap, used);
    case C_XFER_BLOCK: return transfer_block(p, q, len, r, cap, used);
    case C_XFER_ABORT: return 0; /* nothing is in progress between commands; no response */
    case C_WRITE_ABORT: {
        if (len < 6)
            return -1;
        *used = 6;
        if (!p->connected)
            return status_reply(r, cap, C_WRITE_ABORT, ST_ERR);
        uint32_t v = lodei_get_le32(q + 2);
        int ack = lode_sim_swd_transfer(p->sim, false, false, 0x00, &v);
        idle(p);
        return status_reply(r, cap, C_WRITE_ABORT, ack == LODE_SWD_ACK_OK ? ST_OK : ST_ERR);
    }
    case C_DELAY:
        if (len < 3)
            return -1;
        *used = 3;
        lode_sim_advance(p->sim, lodei_get_le16(q + 1) * PS_PER_US);
        return status_reply(r, cap, C_DELAY, ST_OK);
    case C_RESET_TARGET:
        if (cap < 3)
            return -1;
        r[0] = C_RESET_TARGET;
        r[1] = ST_OK;
        r[2] = 0; /* no device-specific reset sequence */
        return 3;
    case C_SWJ_PINS: return swj_pins(p, q, len, r, cap, used);
    case C_SWJ_CLOCK: {
        if (len < 5)
            return -1;
        *used = 5;
        uint32_t hz = lodei_get_le32(q + 1);
        if (hz == 0)
            return status_reply(r, cap, C_SWJ_CLOCK, ST_ERR);
        p->clock_hz = hz;
        if (p->connected)
            lode_sim_set_swd_hz(p->sim, hz);
        return status_reply(r, cap, C_SWJ_CLOCK, ST_OK);
    }
    case C_SWJ_SEQ: {
        if (len < 2)
            return -1;
        unsigned bits = q[1] ? q[1] : 256;
        size_t nb = (bits + 7) / 8;
        if (len < 2 + nb)
            return -1;
        *used = 2 + nb;
        if (p->connected) /* pins are not driven otherwise */
            lode_sim_swj_sequence(p->sim, bits, q + 2);
        return status_reply(r, cap, C_SWJ_SEQ, ST_OK);
    }
    case C_SWD_CONFIG:
        if (len < 2)
            return -1;
        *used = 2;
        p->swd_cfg = q[1];
        return status_reply(r, cap, C_SWD_CONFIG, ST_OK);
    case C_SWO_TRANSPORT: case C_SWO_MODE: case C_SWO_BAUD: case C_SWO_CONTROL:
    case C_SWO_STATUS: case C_SWO_DATA:
        return swo_cmd(p, q, len, r, cap, used);
    default:
        return -1;
    }
}

static int execute(lode_sim_dap_s *p, const uint8_t *q, size_t len, uint8_t *r, size_t cap)
{
    if (len < 2 || cap < 2)
        return -1;
    unsigned num = q[1], k = 0;
    size_t off = 2, o = 2;
    while (k < num && off < len) {
        size_t used = 0;
        int n = -1;
        if (q[off] != C_EXECUTE && q[off] != C_QUEUE)
            n = dispatch(p, q + off, len - off, r + o, cap - o, &used);
        k++;
        if (n < 0) {
            if (o < cap)
                r[o++] = C_INVALID;
            break;
        }
        off += used;
        o += (size_t)n;
    }
    r[0] = C_EXECUTE;
    r[1] = (uint8_t)k;
    return (int)o;
}

int lode_sim_dap_process(lode_sim_dap_s *p, const uint8_t *req, size_t len, uint8_t *resp,
                         size_t cap, size_t *resp_len)
{
    if (!p || !req || !resp || !resp_len || len == 0 || len > p->psize || cap == 0)
        return LODE_E_INVALID_ARG;
    size_t rcap = cap < p->psize ? cap : p->psize, used = 0;
    int n;
    if (req[0] == C_EXECUTE || req[0] == C_QUEUE)
        n = execute(p, req, len, resp, rcap);
    else
        n = dispatch(p, req, len, resp, rcap, &used);
    if (n < 0) {
        lode_log(&p->log, LODE_LOG_DEBUG, LODE_LOGC_SIM,
                 "sim CMSIS-DAP: command 0x%02x (%zu bytes) not understood: answered 0xFF", req[0],
                 len);
        resp[0] = C_INVALID;
        n = 1;
    }
    *resp_len = (size_t)n;
    return LODE_OK;
}

/* ---- USB model -------------------------------------------------------------------------- */
static slot_s *slot(lode_sim_dap_s *p, unsigned i) { return &p->slots[(p->head + i) % p->pcount]; }

static uint64_t ceil_frame(const lode_sim_dap_s *p, uint64_t t)
{
    return (t + p->frame_ps - 1) / p->frame_ps * p->frame_ps;
}

static uint64_t usb_packets(const lode_sim_dap_s *p, size_t len)
{
    return len ? (len + p->usb_mps - 1) / p->usb_mps : 1;
}

/* When the next unexecuted slot can start (UINT64_MAX: a held QueueCommands packet). */
static uint64_t next_start(const lode_sim_dap_s *p)
{
    if (p->nexec >= p->nslots)
        return UINT64_MAX;
    slot_s *s = slot((lode_sim_dap_s *)p, p->nexec);
    uint64_t t = s->arrival > p->busy_until ? s->arrival : p->busy_until;
    if (s->req[0] == C_QUEUE) {
        unsigned j = p->nexec + 1;
        while (j < p->nslots && slot((lode_sim_dap_s *)p, j)->req[0] == C_QUEUE)
            j++;
        if (j == p->nslots)
            return UINT64_MAX;
        uint64_t rel = slot((lode_sim_dap_s *)p, j)->arrival;
        if (rel > t)
            t = rel;
    }
    return t;
}

static void exec_next(lode_sim_dap_s *p)
{
    slot_s *s = slot(p, p->nexec);
    size_t rl = 0;
    (void)lode_sim_dap_process(p, s->req, s->len, s->resp, p->psize, &rl);
    uint64_t end = lode_sim_now(p->sim);
    p->busy_until = end;
    uint64_t b = ceil_frame(p, end);
    if (p->in_any && b < p->in_last + p->frame_ps)
        b = p->in_last + p->frame_ps;
    b += (usb_packets(p, rl) - 1) * p->frame_ps;
    p->in_last = b;
    p->in_any = true;
    s->resp_len = rl;
    s->ready = b;
    s->executed = true;
    p->nexec++;
}

static void advance_abs(lode_sim_dap_s *p, uint64_t t)
{
    uint64_t now = lode_sim_now(p->sim);
    if (t > now)
        lode_sim_advance(p->sim, t - now);
}

/* Let time pass until `t`, executing the commands that start before it. */
static void run_until(lode_sim_dap_s *p, uint64_t t)
{
    for (;;) {
        uint64_t st = next_start(p);
        if (st == UINT64_MAX || st >= t)
            break;
        advance_abs(p, st);
        exec_next(p);
    }
    advance_abs(p, t);
}

static void sync_host(lode_sim_dap_s *p)
{
    uint64_t now = lode_sim_now(p->sim);
    if (now > p->last_seen)
        p->host_now += now - p->last_seen;
    p->last_seen = now;
}

int lode_sim_dap_usb_write(lode_sim_dap_s *p, const uint8_t *data, size_t len)
{
    if (!p || !data || len == 0 || len > p->psize)
        return LODE_E_INVALID_ARG;
    bool abort_cmd = data[0] == C_XFER_ABORT;
    if (!abort_cmd && p->nslots >= p->pcount) {
        lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM,
                 "sim CMSIS-DAP: all %u packet buffers are in use; the OUT packet is NAKed "
                 "(read a response first)", p->pcount);
        return LODE_E_TIMEOUT;
    }
    sync_host(p);
    p->packets++;
    uint64_t start = ceil_frame(p, p->host_now);
    if (start < p->out_free)
        start = p->out_free;
    uint64_t arrival = start + usb_packets(p, len) * p->frame_ps;
    p->out_free = arrival;
    p->host_now = arrival; /* the write returns once the packet is out */
    if (!abort_cmd) {
        slot_s *s = slot(p, p->nslots);
        memcpy(s->req, data, len);
        s->len = len;
        s->arrival = arrival;
        s->executed = false;
        s->resp_len = 0;
        p->nslots++;
    }
    run_until(p, arrival);
    p->last_seen = lode_sim_now(p->sim);
    return LODE_OK;
}

int lode_sim_dap_usb_read(lode_sim_dap_s *p, uint8_t *buf, size_t cap, size_t *got)
{
    if (!p || !buf || !got)
        return LODE_E_INVALID_ARG;
    if (p->nslots == 0)
        return LODE_E_TIMEOUT;
    sync_host(p);
    while (p->nexec == 0) {
        uint64_t st = next_start(p);
        if (st == UINT64_MAX) {
            lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM,
                     "sim CMSIS-DAP: only DAP_QueueCommands packets are queued; they run when a "
                     "packet without it arrives");
            return LODE_E_TIMEOUT;
        }
        advance_abs(p, st);
        exec_next(p);
    }
    slot_s *s = slot(p, 0);
    run_until(p, s->ready);
    if (p->host_now < s->ready)
        p->host_now = s->ready;
    p->last_seen = lode_sim_now(p->sim);
    int rc = LODE_OK;
    size_t n;
    if (p->version == 1) {
        /* a HID report: always the full report size, zero padded */
        n = p->psize < cap ? p->psize : cap;
        size_t c = s->resp_len < n ? s->resp_len : n;
        memcpy(buf, s->resp, c);
        memset(buf + c, 0, n - c);
    } else if (s->resp_len > cap) {
        lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM,
                 "sim CMSIS-DAP: %zu-byte response does not fit a %zu-byte read (overflow)",
                 s->resp_len, cap);
        rc = LODE_E_IO;
        n = 0;
    } else {
        n = s->resp_len;
        memcpy(buf, s->resp, n);
    }
    p->head = (p->head + 1) % p->pcount;
    p->nslots--;
    p->nexec--;
    if (rc == LODE_OK)
        *got = n;
    return rc;
}

/* ---- transport -------------------------------------------------------------------------- */
static int t_write(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    (void)timeout_ms;
    return lode_sim_dap_usb_write(((sim_dap_transport_s *)t)->p, data, len);
}

static int t_read(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms)
{
    (void)timeout_ms;
    return lode_sim_dap_usb_read(((sim_dap_transport_s *)t)->p, buf, cap, got);
}

static void t_close(lode_transport_s *t) { free(t); }

static const lode_transport_ops_s sim_dap_transport_ops = {t_write, t_read, t_close};

int lode_sim_dap_transport(lode_sim_dap_s *p, lode_transport_s **out)
{
    if (!p || !out)
        return LODE_E_INVALID_ARG;
    sim_dap_transport_s *t = calloc(1, sizeof *t);
    if (!t)
        return LODE_E_NOMEM;
    t->base.ops = &sim_dap_transport_ops;
    t->base.kind = LODE_TRANSPORT_INPROC;
    t->base.packet_size = p->psize;
    t->base.log = &p->log;
    t->p = p;
    *out = &t->base;
    return LODE_OK;
}

/* ---- life cycle ------------------------------------------------------------------------- */
static void set_str(char *dst, const char *s, const char *def)
{
    snprintf(dst, STR_MAX, "%s", s ? s : def);
}

int lode_sim_dap_new(lode_sim_s *sim, const lode_sim_dap_config_s *cfg, lode_sim_dap_s **out)
{
    if (!sim || !cfg || !out)
        return LODE_E_INVALID_ARG;
    int version = cfg->version ? cfg->version : 2;
    size_t psize = cfg->packet_size ? cfg->packet_size : (version == 1 ? 64u : 512u);
    if ((version != 1 && version != 2) || psize < 16 || psize > 4096) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM,
                 "sim CMSIS-DAP: version %d with %zu-byte packets is not modelled (1 or 2; 16..4096)",
                 cfg->version, psize);
        return LODE_E_INVALID_ARG;
    }
    lode_sim_dap_s *p = calloc(1, sizeof *p);
    if (!p)
        return LODE_E_NOMEM;
    p->sim = sim;
    p->log = cfg->log;
    p->version = version;
    p->psize = psize;
    p->pcount = cfg->packet_count ? cfg->packet_count : 4u;
    p->caps = cfg->caps ? cfg->caps : 0x0015u; /* SWD, SWO UART, atomic commands */
    set_str(p->str[1], cfg->vendor, "lode");
    set_str(p->str[2], cfg->product, "lode simulated CMSIS-DAP");
    set_str(p->str[3], cfg->serial, "LODESIM0001");
    set_str(p->str[4], cfg->protocol_version, "2.1.1");
    set_str(p->str[9], cfg->fw_version, "0.1.0");
    p->clock_hz = DEFAULT_SWJ_HZ;
    p->wait_retry = 100;  /* firmware defaults */
    p->match_retry = 0;
    p->pins = PIN_NRESET | 0x20u | 0x03u;
    p->frame_ps = version == 1 ? 1000u * PS_PER_US : 125u * PS_PER_US;
    p->usb_mps = version == 1 ? 64u : 512u;
    p->slots = calloc(p->pcount, sizeof *p->slots);
    if (!p->slots)
        goto oom;
    for (unsigned i = 0; i < p->pcount; i++) {
        p->slots[i].req = malloc(psize);
        p->slots[i].resp = malloc(psize);
        if (!p->slots[i].req || !p->slots[i].resp)
            goto oom;
    }
    *out = p;
    return LODE_OK;
oom:
    lode_sim_dap_free(p);
    return LODE_E_NOMEM;
}

void lode_sim_dap_free(lode_sim_dap_s *p)
{
    if (!p)
        return;
    if (p->slots)
        for (unsigned i = 0; i < p->pcount; i++) {
            free(p->slots[i].req);
            free(p->slots[i].resp);
        }
    free(p->slots);
    free(p);
}

uint64_t lode_sim_dap_packets(const lode_sim_dap_s *p) { return p ? p->packets : 0; }
