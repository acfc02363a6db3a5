/* SPDX-License-Identifier: MIT */
/* The stlink-server TCP protocol, server side, in front of one simulated ST-Link: what ST's
 * stlink-server does for a real one (message layouts in src/probe/stlink/stlink_tcp.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/sim.h"
#include "lode/stlink.h"
#include "lode/stream.h"
#include "util/bytes.h"

#define SS_OK 1u
#define SS_BAD_PARAMETER 0x1002u
#define SS_OPEN_ERR 0x1003u
#define SS_TRUNCATED 0x1052u
#define SS_NOT_AVAILABLE 0x1053u
#define SERVER_API 2u
#define MAX_CONN 8
#define DEVICE_ID 1u
#define MAX_DATA 10240u /* the largest data phase the simulated ST-Link takes */
#define IN_CAP (32u + MAX_DATA)
#define OUT_CAP (8u + MAX_DATA)

struct lode_sim_stlink_conn_s {
    lode_sim_stlink_server_s *srv;
    lode_stream_s *io; /* NULL: fed by hand (lode_sim_stlink_conn_feed) */
    unsigned id;
    uint32_t connect_id; /* non-zero while this client has the ST-Link open */
    uint64_t open_ps, open_cmds;
    uint8_t in[IN_CAP];
    size_t in_len;
    uint8_t out[OUT_CAP];
};

struct lode_sim_stlink_server_s {
    lode_sim_stlink_s *p;
    const lode_log_s *log;
    lode_stream_s *listener; /* NULL: no socket, connections are fed by hand */
    uint16_t port;
    unsigned next_id;
    lode_sim_stlink_conn_s *owner; /* the client that has the ST-Link open */
    lode_sim_stlink_conn_s *conns[MAX_CONN];
    lode_sim_stlink_session_fn on_session;
    void *on_session_user;
};

static void end_session(lode_sim_stlink_conn_s *c)
{
    lode_sim_stlink_server_s *s = c->srv;
    if (!c->connect_id)
        return;
    lode_sim_stlink_stats_s st;
    lode_sim_stlink_stats(s->p, &st);
    lode_sim_stlink_session_s ses = {
        .id = c->id, .commands = st.commands - c->open_cmds,
        .virtual_ps = 0,
    };
    ses.virtual_ps = lode_sim_now(lode_sim_stlink_board(s->p)) - c->open_ps;
    c->connect_id = 0;
    if (s->owner == c)
        s->owner = NULL;
    if (s->on_session)
        s->on_session(s->on_session_user, &ses);
}

static size_t put_status(uint8_t *o, uint32_t ss)
{
    lodei_put_le32(o, ss);
    return 4;
}

/* Size of the request starting at `b` (n bytes available): 0 = need more, SIZE_MAX = bad. */
static size_t request_size(const uint8_t *b, size_t n)
{
    switch (b[0]) {
    case 0x00: return 2;
    case 0x01: return 1;
    case 0x02: case 0x03: case 0x04: case 0x07: return 8;
    case 0x06: return 4;
    case 0x05: {
        if (n < 32)
            return 0;
        uint32_t size = lodei_get_le32(b + 28);
        if (size > MAX_DATA)
            return SIZE_MAX;
        return b[24] == 0 ? 32u + size : 32u;
    }
    default: return SIZE_MAX;
    }
}

static size_t handle(lode_sim_stlink_conn_s *c, const uint8_t *q, uint8_t *o)
{
    lode_sim_stlink_server_s *s = c->srv;
    switch (q[0]) {
    case 0x06: /* server version */
        lodei_put_le32(o, SERVER_API);
        lodei_put_le32(o + 4, 2);
        lodei_put_le32(o + 8, 1);
        lodei_put_le32(o + 12, 0);
        return 16;
    case 0x00: /* refresh the device list: always one ST-Link */
        return put_status(o, SS_OK);
    case 0x01:
        lodei_put_le32(o, 1);
        return 4;
    case 0x02: { /* device info */
        memset(o, 0, 45);
        if (q[1] != 0) {
            put_status(o, SS_BAD_PARAMETER);
            return 45;
        }
        put_status(o, SS_OK);
        lodei_put_le32(o + 4, DEVICE_ID);
        snprintf((char *)o + 8, 32, "%s", lode_sim_stlink_serial(s->p));
        lodei_put_le16(o + 40, LODE_STLINK_VID);
        lodei_put_le16(o + 42, lode_sim_stlink_pid(s->p));
        o[44] = s->owner && s->owner != c ? 1 : 0;
        return 45;
    }
    case 0x03: { /* open */
        memset(o, 0, 8);
        if (lodei_get_le32(q + 4) != DEVICE_ID) {
            put_status(o, SS_BAD_PARAMETER);
            return 8;
        }
        if (s->owner && s->owner != c) {
            put_status(o, SS_OPEN_ERR);
            return 8;
        }
        if (!c->connect_id) {
            lode_sim_stlink_stats_s st;
            lode_sim_stlink_stats(s->p, &st);
            c->connect_id = 0x1000u + c->id;
            c->open_ps = lode_sim_now(lode_sim_stlink_board(s->p));
            c->open_cmds = st.commands;
            s->owner = c;
        }
        put_status(o, SS_OK);
        lodei_put_le32(o + 4, c->connect_id);
        return 8;
    }
    case 0x04: /* close */
        if (!c->connect_id || lodei_get_le32(q + 4) != c->connect_id)
            return put_status(o, SS_BAD_PARAMETER);
        end_session(c);
        return put_status(o, SS_OK);
    case 0x07: /* clients of a device */
        lodei_put_le32(o, SS_OK);
        lodei_put_le32(o + 4, s->owner ? 1 : 0);
        return 8;
    case 0x05: { /* USB command */
        uint32_t size = lodei_get_le32(q + 28);
        uint8_t dir = q[24];
        bool ok = c->connect_id && lodei_get_le32(q + 4) == c->connect_id;
        if (dir == 0) {
            if (!ok)
                return put_status(o, SS_BAD_PARAMETER);
            uint8_t tmp[MAX_DATA];
            memcpy(tmp, q + 32, size);
            lode_sim_stlink_command(s->p, q + 8, LODE_STLINK_DIR_OUT, tmp, size);
            return put_status(o, SS_OK);
        }
        memset(o, 0, 4 + size);
        if (!ok || (dir != 1 && dir != 3)) {
            put_status(o, ok ? SS_BAD_PARAMETER : SS_NOT_AVAILABLE);
            return 4 + size;
        }
        put_status(o, SS_OK);
        if (dir == 1)
            lode_sim_stlink_command(s->p, q + 8, LODE_STLINK_DIR_IN, o + 4, size);
        else
            lode_sim_stlink_trace(s->p, o + 4, size);
        return 4 + size;
    }
    default:
        return put_status(o, SS_NOT_AVAILABLE);
    }
}

int lode_sim_stlink_conn_feed(lode_sim_stlink_conn_s *c, const uint8_t *in, size_t n, size_t *used,
                              uint8_t *out, size_t cap, size_t *out_len)
{
    if (!c || (!in && n) || !used || !out || !out_len)
        return LODE_E_INVALID_ARG;
    *used = 0;
    *out_len = 0;
    while (*used < n) {
        const uint8_t *q = in + *used;
        size_t avail = n - *used;
        size_t need = request_size(q, avail);
        if (need == SIZE_MAX) {
            lode_log(c->srv->log, LODE_LOG_WARN, LODE_LOGC_SIM,
                     "sim stlink-server: client %u sent an unknown or oversized request (0x%02x); "
                     "closing the connection", c->id, q[0]);
            return LODE_E_PROTOCOL;
        }
        if (need == 0 || avail < need)
            break;
        uint32_t reply_max = q[0] == 0x05 && q[24] != 0 ? 4u + lodei_get_le32(q + 28) : 45u;
        if (cap - *out_len < reply_max)
            break;
        *out_len += handle(c, q, out + *out_len);
        *used += need;
    }
    return LODE_OK;
}

lode_sim_stlink_conn_s *lode_sim_stlink_conn_new(lode_sim_stlink_server_s *s)
{
    if (!s)
        return NULL;
    lode_sim_stlink_conn_s *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->id = ++s->next_id;
    return c;
}

void lode_sim_stlink_conn_free(lode_sim_stlink_conn_s *c)
{
    if (!c)
        return;
    end_session(c);
    lode_stream_close(c->io);
    free(c);
}

int lode_sim_stlink_server_new(lode_sim_stlink_s *p, const char *bind_addr, uint16_t port,
                               const lode_log_s *log, lode_sim_stlink_server_s **out)
{
    if (!p || !out)
        return LODE_E_INVALID_ARG;
    lode_sim_stlink_server_s *s = calloc(1, sizeof *s);
    if (!s)
        return LODE_E_NOMEM;
    s->p = p;
    s->log = log;
    if (bind_addr && !*bind_addr) {
        *out = s;
        return LODE_OK;
    }
    const char *addr = bind_addr ? bind_addr : "127.0.0.1";
    int rc = lode_stream_listen_tcp(addr, port, NULL, &s->listener);
    if (rc != LODE_OK) {
        if (rc == LODE_E_INVALID_ARG)
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_SIM, "sim stlink-server: bad bind address '%s'",
                     addr);
        else
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_SIM,
                     "sim stlink-server: cannot listen on %s:%u: %s (another server on that port? "
                     "pick another with --stlink-tcp PORT)",
                     addr, port, strerror(errno));
        free(s);
        return rc == LODE_E_INVALID_ARG ? rc : LODE_E_ACCESS;
    }
    s->port = (uint16_t)lode_stream_local_port(s->listener);
    *out = s;
    return LODE_OK;
}

uint16_t lode_sim_stlink_server_port(const lode_sim_stlink_server_s *s) { return s ? s->port : 0; }

void lode_sim_stlink_server_on_session(lode_sim_stlink_server_s *s, lode_sim_stlink_session_fn fn,
                                       void *user)
{
    if (s) {
        s->on_session = fn;
        s->on_session_user = user;
    }
}

static void drop(lode_sim_stlink_server_s *s, int i)
{
    lode_log(s->log, LODE_LOG_INFO, LODE_LOGC_SIM, "sim stlink-server: client %u disconnected",
             s->conns[i]->id);
    lode_sim_stlink_conn_free(s->conns[i]);
    s->conns[i] = NULL;
}

/* a new client: a free slot, or it is closed at once */
static void take_client(lode_sim_stlink_server_s *s)
{
    lode_stream_s *io = NULL;
    if (lode_stream_accept(s->listener, 0, &io) != LODE_OK)
        return;
    int slot = -1;
    for (int i = 0; i < MAX_CONN && slot < 0; i++)
        if (!s->conns[i])
            slot = i;
    lode_sim_stlink_conn_s *c = slot >= 0 ? lode_sim_stlink_conn_new(s) : NULL;
    if (!c) {
        lode_stream_close(io);
        return;
    }
    c->io = io;
    s->conns[slot] = c;
    lode_log(s->log, LODE_LOG_INFO, LODE_LOGC_SIM, "sim stlink-server: client %u connected", c->id);
}

int lode_sim_stlink_server_poll(lode_sim_stlink_server_s *s, int timeout_ms)
{
    if (!s || !s->listener)
        return LODE_E_INVALID_ARG;
    lode_stream_s *w[1 + MAX_CONN];
    bool ready[1 + MAX_CONN];
    w[0] = s->listener;
    for (int i = 0; i < MAX_CONN; i++)
        w[1 + i] = s->conns[i] ? s->conns[i]->io : NULL;
    int r = lode_stream_wait(w, 1 + MAX_CONN, timeout_ms, ready);
    if (r == LODE_E_TIMEOUT)
        return LODE_OK;
    if (r != LODE_OK)
        return r;
    for (int i = 0; i < MAX_CONN; i++) {
        lode_sim_stlink_conn_s *c = s->conns[i];
        if (!ready[1 + i] || !c)
            continue;
        size_t got = 0;
        int rc = IN_CAP - c->in_len == 0
                     ? LODE_E_NOMEM /* a request larger than any the protocol has */
                     : lode_stream_read(c->io, c->in + c->in_len, IN_CAP - c->in_len, &got, 0);
        if (rc == LODE_E_TIMEOUT)
            continue;
        if (rc != LODE_OK) {
            drop(s, i);
            continue;
        }
        c->in_len += got;
        for (;;) {
            size_t used = 0, olen = 0;
            rc = lode_sim_stlink_conn_feed(c, c->in, c->in_len, &used, c->out, OUT_CAP, &olen);
            if (rc != LODE_OK || (olen && lode_stream_write(c->io, c->out, olen) != LODE_OK)) {
                drop(s, i);
                break;
            }
            memmove(c->in, c->in + used, c->in_len - used);
            c->in_len -= used;
            if (!used)
                break;
        }
    }
    if (ready[0])
        take_client(s);
    return LODE_OK;
}

void lode_sim_stlink_server_free(lode_sim_stlink_server_s *s)
{
    if (!s)
        return;
    for (int i = 0; i < MAX_CONN; i++)
        if (s->conns[i])
            lode_sim_stlink_conn_free(s->conns[i]);
    lode_stream_close(s->listener);
    free(s);
}
