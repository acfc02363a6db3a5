/* SPDX-License-Identifier: MIT */
/* GDB remote-protocol client as a lode core; see include/lode/gdbclient.h. Written from the
 * GDB manual's "Remote Protocol" appendix. Framing is src/gdb/rsp.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/gdbclient.h"
#include "lode/rsp.h"
#include "lode/stream.h"
#include "util/hex.h"

#define WAIT_MS 30000 /* generous: a server on a busy host (or under a sanitizer) may be slow to answer */
#define FLASH_WAIT_MS 300000 /* a server's flash operation (a whole-chip erase) may take long */
#define DEFAULT_PACKET 400u /* the manual's conservative default when qSupported is silent */
#define MAX_WATCH 16
#define NREGS 17u           /* r0-r12, sp, lr, pc, xpsr */

typedef struct watch_s {
    bool used;
    uint32_t addr, len;
    int type; /* Z type 2..4 */
} watch_s;

struct lode_gdbclient_s {
    lode_stream_s *io; /* TCP or a serial port */
    lode_log_s log;
    bool ack;          /* acks still in use (before QStartNoAckMode) */
    size_t pkt_size;   /* the server's PacketSize, bounded by our decoder */
    bool running;      /* 'c' sent, no stop reply yet */
    bool mon_running;  /* `monitor reset` let it run: no stop reply will come */
    bool stepping;
    bool exited;       /* W / X: the program (or the connection's target) is gone */
    bool p_ok, P_ok;   /* the server answers p / P (assumed until an empty reply) */
    uint32_t dfsr;
    lode_rsp_decoder_s dec;
    uint8_t rx[4096];
    size_t rx_pos, rx_len;
    /* the event the decoder callback produced */
    bool have_ev;
    lode_rsp_event_type_e ev;
    size_t pkt_len;
    char pkt[LODE_RSP_MAX_PACKET + 1];
    uint8_t *tx;       /* encoded frame being sent (kept for NACK resends) */
    size_t tx_cap, tx_len;
    char *scratch;     /* payload building */
    size_t scratch_cap;
    watch_s watch[MAX_WATCH];
    int exit_code;     /* W: the program's exit status */
    char console[160]; /* the last console output (O packets), for monitor replies */
    /* File-I/O requests ('F' packets) from a server that does semihosting itself */
    lode_gdbclient_fileio_fn fileio;
    void *fileio_user;
    bool in_fileio;    /* serving one: the target is stopped in the call, memory access is fine */
    bool intrusive;    /* memory access while running: interrupt, access, continue */
    uint64_t fileio_calls;
    lode_core_ops_s ops;
};

/* ---- time ---- */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- bytes in ---- */

static void on_event(void *user, const lode_rsp_event_s *ev)
{
    lode_gdbclient_s *c = user;
    switch (ev->type) {
    case LODE_RSP_EV_PACKET:
        memcpy(c->pkt, ev->data, ev->len);
        c->pkt[ev->len] = '\0';
        c->pkt_len = ev->len;
        c->have_ev = true;
        c->ev = ev->type;
        if (c->ack && lode_stream_write(c->io, "+", 1) != LODE_OK)
            lode_log(&c->log, LODE_LOG_WARN, LODE_LOGC_GDB, "sending an ack failed");
        return;
    case LODE_RSP_EV_ACK:
    case LODE_RSP_EV_NACK:
        c->have_ev = true;
        c->ev = ev->type;
        return;
    case LODE_RSP_EV_BAD_CHECKSUM:
    case LODE_RSP_EV_MALFORMED:
    case LODE_RSP_EV_OVERSIZED:
        lode_log(&c->log, LODE_LOG_WARN, LODE_LOGC_GDB, "bad frame from the GDB server (event %d)",
                 (int)ev->type);
        if (!ev->notification && c->ack && lode_stream_write(c->io, "-", 1) != LODE_OK)
            lode_log(&c->log, LODE_LOG_WARN, LODE_LOGC_GDB, "sending a nack failed");
        return;
    default: /* notifications, stray interrupts */
        return;
    }
}

/* The next packet / ack / nack, waiting at most timeout_ms (0: only what is already there).
 * LODE_E_TIMEOUT when nothing came, LODE_E_IO when the connection ended. */
static int next_event(lode_gdbclient_s *c, int timeout_ms)
{
    uint64_t deadline = mono_us() + (uint64_t)timeout_ms * 1000u;
    c->have_ev = false;
    for (;;) {
        while (c->rx_pos < c->rx_len) {
            lode_rsp_feed(&c->dec, &c->rx[c->rx_pos++], 1, on_event, c);
            if (c->have_ev)
                return LODE_OK;
        }
        uint64_t now = mono_us();
        int wait = now >= deadline ? 0 : (int)((deadline - now + 999u) / 1000u);
        size_t n = 0;
        int rc = lode_stream_read(c->io, c->rx, sizeof c->rx, &n, wait);
        if (rc == LODE_E_TIMEOUT)
            return rc;
        if (rc != LODE_OK) {
            lode_log(&c->log, LODE_LOG_ERROR, LODE_LOGC_GDB, "%s",
                     lode_stream_eof(c->io) ? "the GDB server closed the connection"
                                            : "reading from the GDB server failed");
            return LODE_E_IO;
        }
        c->rx_pos = 0;
        c->rx_len = n;
    }
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
            return false;
    return n > 0;
}

/* 'O' + hex: console output (monitor commands, semihosting); logged, not a reply */
static bool console_output(lode_gdbclient_s *c)
{
    if (c->pkt_len < 3 || c->pkt[0] != 'O' || !is_hex(c->pkt + 1, c->pkt_len - 1) ||
        (c->pkt_len - 1) % 2)
        return false;
    char text[LODE_RSP_MAX_PACKET / 2 + 1];
    size_t n = 0;
    if (lode_rsp_hex_decode(c->pkt + 1, c->pkt_len - 1, (uint8_t *)text, sizeof text - 1, &n) == LODE_OK) {
        text[n] = '\0';
        while (n && text[n - 1] == '\n')
            text[--n] = '\0';
        size_t keep = n < sizeof c->console - 1 ? n : sizeof c->console - 1;
        memcpy(c->console, text, keep);
        c->console[keep] = '\0';
        lode_log(&c->log, LODE_LOG_INFO, LODE_LOGC_GDB, "server: %s", text);
    }
    return true;
}

/* The next packet that is not console output. */
static int recv_packet(lode_gdbclient_s *c, int timeout_ms)
{
    uint64_t deadline = mono_us() + (uint64_t)timeout_ms * 1000u;
    for (;;) {
        uint64_t now = mono_us();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000u);
        int rc = next_event(c, left);
        if (rc != LODE_OK)
            return rc;
        if (c->ev == LODE_RSP_EV_PACKET && !console_output(c))
            return LODE_OK;
        if (timeout_ms == 0 && c->rx_pos >= c->rx_len)
            return LODE_E_TIMEOUT;
    }
}

/* ---- bytes out ---- */

/* Frame and send a packet; in ack mode wait for '+' (resending on '-', three tries). */
static int send_packet(lode_gdbclient_s *c, const char *payload, size_t len)
{
    size_t need = LODE_RSP_ENCODED_MAX(len);
    if (need > c->tx_cap) {
        uint8_t *t = realloc(c->tx, need);
        if (!t)
            return LODE_E_NOMEM;
        c->tx = t;
        c->tx_cap = need;
    }
    int rc = lode_rsp_encode((const uint8_t *)payload, len, c->tx, c->tx_cap, &c->tx_len);
    if (rc != LODE_OK)
        return rc;
    lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "-> %.80s", payload);
    for (int tries = 0; tries < 3; tries++) {
        if ((rc = lode_stream_write(c->io, c->tx, c->tx_len)) != LODE_OK)
            return rc;
        if (!c->ack)
            return LODE_OK;
        for (;;) {
            rc = next_event(c, WAIT_MS);
            if (rc != LODE_OK)
                return rc;
            if (c->ev == LODE_RSP_EV_ACK)
                return LODE_OK;
            if (c->ev == LODE_RSP_EV_NACK)
                break;
            /* a packet before the ack (e.g. a late stop reply): dropped */
            lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "packet before the ack dropped: %.40s", c->pkt);
        }
    }
    return LODE_E_PROTOCOL;
}

/* Send a command, return its reply in c->pkt (waiting at most timeout_ms). */
static int transact_wait(lode_gdbclient_s *c, const char *payload, int timeout_ms)
{
    int rc = send_packet(c, payload, strlen(payload));
    if (rc == LODE_OK)
        rc = recv_packet(c, timeout_ms);
    if (rc == LODE_OK)
        lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "<- %.80s", c->pkt);
    return rc;
}

/* Send a command, return its reply in c->pkt. */
static int transact(lode_gdbclient_s *c, const char *payload)
{
    int rc = send_packet(c, payload, strlen(payload));
    if (rc == LODE_OK)
        rc = recv_packet(c, WAIT_MS);
    if (rc == LODE_OK)
        lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "<- %.80s", c->pkt);
    return rc;
}

/* "OK" -> LODE_OK, "" -> LODE_E_UNSUPPORTED, "Exx" -> err, other -> LODE_E_PROTOCOL */
static int ok_reply(const lode_gdbclient_s *c, int err)
{
    if (!strcmp(c->pkt, "OK"))
        return LODE_OK;
    if (c->pkt_len == 0)
        return LODE_E_UNSUPPORTED;
    if (c->pkt[0] == 'E')
        return err;
    return LODE_E_PROTOCOL;
}

/* ---- stop replies ---- */

/* A stop reply in c->pkt: record the reason. False if it is not one. */
static bool take_stop(lode_gdbclient_s *c, bool after_step)
{
    const char *p = c->pkt;
    if (c->pkt_len < 3 || !strchr("TSWX", p[0]))
        return false;
    int hi = lodei_hexval(p[1]), lo = lodei_hexval(p[2]);
    if (hi < 0 || lo < 0)
        return false;
    unsigned sig = (unsigned)(hi << 4 | lo);
    c->running = false;
    c->mon_running = false;
    if (p[0] == 'W' || p[0] == 'X') {
        c->exited = true;
        c->dfsr = 0;
        c->exit_code = p[0] == 'W' ? (int)sig : 128 + (int)sig;
        lode_log(&c->log, LODE_LOG_INFO, LODE_LOGC_GDB, "the GDB server reports %s %u",
                 p[0] == 'W' ? "exit status" : "termination by signal", sig);
        return true;
    }
    if (sig == 2)
        c->dfsr = LODE_CM_DFSR_HALTED;
    else if (sig == 5 && p[0] == 'T' && (strstr(p, "watch:") != NULL))
        c->dfsr = LODE_CM_DFSR_DWTTRAP;
    else if (sig == 5)
        c->dfsr = after_step ? LODE_CM_DFSR_HALTED : LODE_CM_DFSR_BKPT;
    else if (sig == 4 || sig == 7 || sig == 10 || sig == 11)
        c->dfsr = LODE_CM_DFSR_VCATCH;
    else
        c->dfsr = LODE_CM_DFSR_HALTED;
    return true;
}

/* An 'F' request (File-I/O) in c->pkt while the target runs: the target waits in the call;
 * serve it and send the reply, which lets the target go on. False if it is not one. */
static bool take_fileio(lode_gdbclient_s *c, int *err)
{
    *err = LODE_OK;
    if (c->pkt_len < 2 || c->pkt[0] != 'F' || !c->running)
        return false;
    char req[LODE_RSP_MAX_PACKET + 1];
    memcpy(req, c->pkt + 1, c->pkt_len); /* with the terminator */
    char reply[64];
    int rc = LODE_OK;
    if (c->fileio) {
        c->running = false; /* the target is stopped until the reply */
        c->in_fileio = true;
        rc = c->fileio(c->fileio_user, req, reply, sizeof reply);
        c->in_fileio = false;
        c->running = true;
        c->fileio_calls++;
    } else {
        lode_log(&c->log, LODE_LOG_WARN, LODE_LOGC_GDB,
                 "the GDB server asks for File-I/O (%.30s) and nothing serves it", req);
        snprintf(reply, sizeof reply, "F-1,%x", 9999);
    }
    if (rc != LODE_OK)
        snprintf(reply, sizeof reply, "F-1,%x", 14); /* EFAULT: its memory was unreadable */
    lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "File-I/O %.40s -> %s", req, reply);
    *err = send_packet(c, reply, strlen(reply));
    return true;
}

/* Wait for the stop reply of a resume / step / interrupt. */
static int wait_stop(lode_gdbclient_s *c, bool after_step)
{
    uint64_t deadline = mono_us() + (uint64_t)WAIT_MS * 1000u;
    for (;;) {
        uint64_t now = mono_us();
        if (now >= deadline)
            return LODE_E_TIMEOUT;
        int rc = recv_packet(c, (int)((deadline - now) / 1000u));
        if (rc != LODE_OK)
            return rc;
        if (take_stop(c, after_step))
            return LODE_OK;
        if (take_fileio(c, &rc)) {
            if (rc != LODE_OK)
                return rc;
            continue;
        }
        lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "not a stop reply, dropped: %.40s", c->pkt);
    }
}

/* ---- core operations ---- */

static int need_halted(lode_gdbclient_s *c)
{
    if (c->in_fileio)
        return LODE_OK; /* stopped in a File-I/O call: memory and registers can be read */
    if (c->running || c->mon_running)
        return LODE_E_STATE;
    if (c->exited)
        return LODE_E_STATE;
    return LODE_OK;
}

static int op_halt(void *ctx)
{
    lode_gdbclient_s *c = ctx;
    if (c->mon_running) { /* the server does not know it runs: ask it by monitor command */
        int rc = transact(c, "qRcmd,68616c74"); /* "halt" */
        if (rc == LODE_OK)
            rc = ok_reply(c, LODE_E_FAULT);
        if (rc == LODE_OK) {
            c->mon_running = false;
            c->dfsr = LODE_CM_DFSR_HALTED;
        }
        return rc;
    }
    if (!c->running)
        return c->exited ? LODE_E_STATE : LODE_OK;
    uint8_t b = LODE_RSP_INTERRUPT;
    int rc = lode_stream_write(c->io, &b, 1);
    if (rc == LODE_OK)
        rc = wait_stop(c, false);
    return rc;
}

static int op_resume(void *ctx)
{
    lode_gdbclient_s *c = ctx;
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    if ((rc = send_packet(c, "c", 1)) != LODE_OK)
        return rc;
    c->dfsr = 0;
    c->running = true;
    return LODE_OK;
}

static int op_step(void *ctx)
{
    lode_gdbclient_s *c = ctx;
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    if ((rc = send_packet(c, "s", 1)) != LODE_OK)
        return rc;
    c->dfsr = 0;
    c->running = true;
    return wait_stop(c, true);
}

static int op_state(void *ctx, lode_core_state_s *st)
{
    lode_gdbclient_s *c = ctx;
    memset(st, 0, sizeof *st);
    while (c->running) {
        int rc = recv_packet(c, 0);
        if (rc == LODE_E_TIMEOUT)
            break;
        if (rc != LODE_OK)
            return rc;
        if (take_fileio(c, &rc)) {
            if (rc != LODE_OK)
                return rc;
            continue;
        }
        if (!take_stop(c, false))
            lode_log(&c->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "not a stop reply, dropped: %.40s", c->pkt);
    }
    st->halted = !c->running && !c->mon_running && !c->exited;
    st->dfsr = st->halted ? c->dfsr : 0;
    st->exited = c->exited;
    st->exit_code = c->exit_code;
    return LODE_OK;
}

/* g: the first 17 registers (legacy 'arm' layout without target.xml: r0-r15, f0-f7 of 12
 * bytes, fps, cpsr; with an M-profile description: r0-r15, xpsr). */
static int read_g(lode_gdbclient_s *c, uint32_t regs[NREGS])
{
    int rc = transact(c, "g");
    if (rc != LODE_OK)
        return rc;
    if (c->pkt_len && c->pkt[0] == 'E')
        return LODE_E_FAULT;
    size_t n = c->pkt_len;
    size_t xpsr_at = n >= 2u * (16u * 4u + 8u * 12u + 4u + 4u) ? 2u * (16u * 4u + 8u * 12u + 4u)
                                                                 : 2u * 16u * 4u;
    if (n < xpsr_at + 8u)
        return LODE_E_PROTOCOL;
    for (unsigned i = 0; i < NREGS; i++) {
        uint8_t b[4];
        size_t got = 0;
        const char *h = c->pkt + (i < 16 ? 8u * i : xpsr_at);
        if (lode_rsp_hex_decode(h, 8, b, sizeof b, &got) != LODE_OK)
            return LODE_E_PROTOCOL;
        regs[i] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    }
    return LODE_OK;
}

static int op_regs_read(void *ctx, const unsigned *regsel, uint32_t *vals, size_t n)
{
    lode_gdbclient_s *c = ctx;
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (regsel[i] >= NREGS)
            return LODE_E_UNSUPPORTED;
    uint32_t regs[NREGS];
    if ((rc = read_g(c, regs)) != LODE_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        vals[i] = regs[regsel[i]];
    return LODE_OK;
}

static size_t op_reg_list(void *ctx, unsigned *regsel, size_t max)
{
    (void)ctx;
    for (unsigned i = 0; i < NREGS && i < max; i++)
        regsel[i] = i;
    return NREGS;
}

static int op_reg_read(void *ctx, unsigned regsel, uint32_t *val)
{
    lode_gdbclient_s *c = ctx;
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    if (regsel >= NREGS)
        return LODE_E_UNSUPPORTED;
    if (c->p_ok) {
        char cmd[16];
        snprintf(cmd, sizeof cmd, "p%x", regsel);
        if ((rc = transact(c, cmd)) != LODE_OK)
            return rc;
        if (c->pkt_len == 8) {
            uint8_t b[4];
            size_t got = 0;
            if (lode_rsp_hex_decode(c->pkt, 8, b, sizeof b, &got) != LODE_OK)
                return LODE_E_PROTOCOL;
            *val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            return LODE_OK;
        }
        if (c->pkt_len && c->pkt[0] == 'E')
            return LODE_E_FAULT;
        if (c->pkt_len)
            return LODE_E_PROTOCOL;
        c->p_ok = false; /* empty: no p, use g from now on */
    }
    return op_regs_read(ctx, &regsel, val, 1);
}

static int op_reg_write(void *ctx, unsigned regsel, uint32_t val)
{
    lode_gdbclient_s *c = ctx;
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    if (regsel >= NREGS)
        return LODE_E_UNSUPPORTED;
    char cmd[32];
    if (c->P_ok) {
        snprintf(cmd, sizeof cmd, "P%x=%02x%02x%02x%02x", regsel, val & 0xFFu, (val >> 8) & 0xFFu,
                 (val >> 16) & 0xFFu, val >> 24);
        if ((rc = transact(c, cmd)) != LODE_OK)
            return rc;
        rc = ok_reply(c, LODE_E_FAULT);
        if (rc != LODE_E_UNSUPPORTED)
            return rc;
        c->P_ok = false;
    }
    /* G: read the whole block, patch, write it back */
    if ((rc = transact(c, "g")) != LODE_OK)
        return rc;
    size_t n = c->pkt_len;
    if (!is_hex(c->pkt, n))
        return LODE_E_PROTOCOL;
    size_t at = regsel < 16 ? 8u * regsel
                            : n >= 2u * (16u * 4u + 8u * 12u + 8u) ? 2u * (16u * 4u + 8u * 12u + 4u)
                                                                   : 2u * 64u;
    if (at + 8 > n || n + 2 > c->scratch_cap)
        return LODE_E_PROTOCOL;
    c->scratch[0] = 'G';
    memcpy(c->scratch + 1, c->pkt, n);
    char hex[9];
    snprintf(hex, sizeof hex, "%02x%02x%02x%02x", val & 0xFFu, (val >> 8) & 0xFFu, (val >> 16) & 0xFFu,
             val >> 24);
    memcpy(c->scratch + 1 + at, hex, 8);
    c->scratch[1 + n] = '\0';
    if ((rc = transact(c, c->scratch)) != LODE_OK)
        return rc;
    return ok_reply(c, LODE_E_FAULT);
}

static int op_regs_write(void *ctx, const unsigned *regsel, const uint32_t *vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = op_reg_write(ctx, regsel[i], vals[i]);
        if (rc != LODE_OK)
            return rc;
    }
    return LODE_OK;
}

/* An all-stop server serves no memory access while the target runs: with intrusive access
 * on, stop it (Ctrl-C), and afterwards let it go on - unless it stopped for a reason of its
 * own at the same moment, which then stays for `state` to report. *resume says which. */
static int pause_for_access(lode_gdbclient_s *c, bool *resume)
{
    *resume = false;
    if (!c->intrusive || !c->running || c->in_fileio)
        return need_halted(c);
    uint8_t b = LODE_RSP_INTERRUPT;
    int rc = lode_stream_write(c->io, &b, 1);
    if (rc == LODE_OK)
        rc = wait_stop(c, false);
    if (rc != LODE_OK)
        return rc;
    if (c->exited)
        return LODE_E_STATE;
    *resume = c->dfsr == LODE_CM_DFSR_HALTED; /* our SIGINT, not a breakpoint or a fault */
    return LODE_OK;
}

static int go_on(lode_gdbclient_s *c, bool resume, int rc)
{
    if (!resume)
        return rc;
    int r2 = send_packet(c, "c", 1);
    if (r2 == LODE_OK) {
        c->running = true;
        c->dfsr = 0;
    }
    return rc != LODE_OK ? rc : r2;
}

static int mem_read_halted(lode_gdbclient_s *c, uint32_t addr, void *buf, size_t len);
static int mem_write_halted(lode_gdbclient_s *c, uint32_t addr, const void *buf, size_t len);

static int op_mem_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    lode_gdbclient_s *c = ctx;
    if (c->exited && !c->running && !c->mon_running)
        return mem_read_halted(c, addr, buf, len);
    bool resume;
    int rc = pause_for_access(c, &resume);
    if (rc != LODE_OK)
        return rc;
    return go_on(c, resume, mem_read_halted(c, addr, buf, len));
}

static int op_mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    lode_gdbclient_s *c = ctx;
    bool resume;
    int rc = pause_for_access(c, &resume);
    if (rc != LODE_OK)
        return rc;
    return go_on(c, resume, mem_write_halted(c, addr, buf, len));
}

/* after the program exited ('W'), a server that keeps the target (lode gdb) still serves
 * memory: what the firmware wrote last (RTT) can be read; one that quit closes the link */
static int mem_read_halted(lode_gdbclient_s *c, uint32_t addr, void *buf, size_t len)
{
    int rc = LODE_OK;
    if (len && (uint64_t)addr + len - 1 > 0xFFFFFFFFu)
        return LODE_E_RANGE;
    size_t chunk = (c->pkt_size - 4u) / 2u; /* the reply is hex, inside PacketSize */
    uint8_t *out = buf;
    while (len) {
        size_t n = len < chunk ? len : chunk;
        char cmd[32];
        snprintf(cmd, sizeof cmd, "m%x,%zx", addr, n);
        if ((rc = transact(c, cmd)) != LODE_OK)
            return rc;
        if (c->pkt_len && c->pkt[0] == 'E' && c->pkt_len == 3)
            return LODE_E_FAULT;
        size_t got = 0;
        if (c->pkt_len == 0 || c->pkt_len % 2 ||
            lode_rsp_hex_decode(c->pkt, c->pkt_len, out, n, &got) != LODE_OK)
            return LODE_E_PROTOCOL;
        if (got == 0)
            return LODE_E_FAULT;
        /* a short reply: the server read part of it; ask again from there */
        out += got;
        addr += (uint32_t)got;
        len -= got;
    }
    return LODE_OK;
}

static int mem_write_halted(lode_gdbclient_s *c, uint32_t addr, const void *buf, size_t len)
{
    int rc = LODE_OK;
    if (len && (uint64_t)addr + len - 1 > 0xFFFFFFFFu)
        return LODE_E_RANGE;
    size_t chunk = (c->pkt_size - 32u) / 2u; /* "Maddr,len:" + hex */
    const uint8_t *in = buf;
    while (len) {
        size_t n = len < chunk ? len : chunk;
        int w = snprintf(c->scratch, c->scratch_cap, "M%x,%zx:", addr, n);
        size_t hl = 0;
        if (lode_rsp_hex_encode(in, n, c->scratch + w, c->scratch_cap - (size_t)w - 1, &hl) != LODE_OK)
            return LODE_E_NOMEM;
        c->scratch[(size_t)w + hl] = '\0';
        if ((rc = transact(c, c->scratch)) != LODE_OK)
            return rc;
        if ((rc = ok_reply(c, LODE_E_FAULT)) != LODE_OK)
            return rc;
        in += n;
        addr += (uint32_t)n;
        len -= n;
    }
    return LODE_OK;
}

static int monitor(lode_gdbclient_s *c, const char *cmd)
{
    char pkt[128];
    size_t n = strlen(cmd), hl = 0;
    memcpy(pkt, "qRcmd,", 6);
    if (lode_rsp_hex_encode((const uint8_t *)cmd, n, pkt + 6, sizeof pkt - 7, &hl) != LODE_OK)
        return LODE_E_NOMEM;
    pkt[6 + hl] = '\0';
    c->console[0] = '\0';
    int rc = transact(c, pkt);
    if (rc == LODE_OK)
        rc = ok_reply(c, LODE_E_FAULT);
    /* a server that passes monitor commands to its own console (QEMU's HMP) says OK to
     * anything and prints that it did not know the command */
    if (rc == LODE_OK && (strstr(c->console, "unknown command") || strstr(c->console, "Unknown command")))
        rc = LODE_E_UNSUPPORTED;
    return rc;
}

static int op_reset(void *ctx, bool halt)
{
    lode_gdbclient_s *c = ctx;
    int rc = need_halted(c);
    if (rc == LODE_E_STATE && !c->exited && (rc = op_halt(c)) != LODE_OK)
        return rc;
    if (rc != LODE_OK && !c->exited)
        return rc;
    rc = monitor(c, halt ? "reset halt" : "reset");
    if (rc == LODE_E_UNSUPPORTED) {
        /* QEMU: its monitor's system_reset resets the machine; the CPU stays stopped while
         * a debugger holds it, so it is a reset-and-halt; a plain reset then continues */
        rc = monitor(c, "system_reset");
        if (rc == LODE_OK && !halt) {
            if ((rc = send_packet(c, "c", 1)) == LODE_OK) {
                c->running = true;
                c->exited = false;
                c->dfsr = 0;
                return LODE_OK;
            }
        }
    }
    if (rc != LODE_OK)
        return rc;
    c->exited = false;
    if (halt) {
        c->dfsr = LODE_CM_DFSR_VCATCH;
    } else {
        c->dfsr = 0;
        c->mon_running = true;
    }
    return LODE_OK;
}

static int z_point(lode_gdbclient_s *c, bool insert, int type, uint32_t addr, uint32_t len)
{
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    char cmd[48];
    snprintf(cmd, sizeof cmd, "%c%d,%x,%x", insert ? 'Z' : 'z', type, addr, len);
    if ((rc = transact(c, cmd)) != LODE_OK)
        return rc;
    return ok_reply(c, LODE_E_NOMEM);
}

static int op_bp_set(void *ctx, uint32_t addr) { return z_point(ctx, true, 1, addr & ~1u, 2); }
static int op_bp_clear(void *ctx, uint32_t addr) { return z_point(ctx, false, 1, addr & ~1u, 2); }

static int op_wp_set(void *ctx, uint32_t addr, uint32_t len, int kind)
{
    lode_gdbclient_s *c = ctx;
    if (kind < 1 || kind > 3 || len == 0)
        return LODE_E_INVALID_ARG;
    int type = kind == 1 ? 3 : kind == 2 ? 2 : 4;
    watch_s *slot = NULL;
    for (int i = 0; i < MAX_WATCH && !slot; i++)
        if (!c->watch[i].used)
            slot = &c->watch[i];
    if (!slot)
        return LODE_E_NOMEM;
    int rc = z_point(c, true, type, addr, len);
    if (rc == LODE_OK)
        *slot = (watch_s){.used = true, .addr = addr, .len = len, .type = type};
    return rc;
}

static int op_wp_clear(void *ctx, uint32_t addr)
{
    lode_gdbclient_s *c = ctx;
    for (int i = 0; i < MAX_WATCH; i++) {
        watch_s *w = &c->watch[i];
        if (w->used && w->addr == addr) {
            int rc = z_point(c, false, w->type, w->addr, w->len);
            if (rc == LODE_OK)
                w->used = false;
            return rc;
        }
    }
    return LODE_E_INVALID_ARG;
}

static uint64_t op_now_us(void *ctx)
{
    (void)ctx;
    return mono_us();
}

static void op_delay_us(void *ctx, uint32_t us)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- connection ---- */

static int handshake(lode_gdbclient_s *c)
{
    /* a '+' first, as GDB does: a server waiting on an ack of an earlier session moves on */
    int rc = lode_stream_write(c->io, "+", 1);
    if (rc != LODE_OK)
        return rc;
    if ((rc = transact(c, "qSupported:swbreak+;hwbreak+")) != LODE_OK)
        return rc;
    bool noack = false;
    c->pkt_size = DEFAULT_PACKET;
    for (char *f = c->pkt; f && *f;) {
        char *semi = strchr(f, ';');
        if (semi)
            *semi = '\0';
        if (!strncmp(f, "PacketSize=", 11)) {
            unsigned long v = strtoul(f + 11, NULL, 16);
            if (v >= 64)
                c->pkt_size = v > LODE_RSP_MAX_PACKET ? LODE_RSP_MAX_PACKET : v;
        } else if (!strcmp(f, "QStartNoAckMode+")) {
            noack = true;
        }
        f = semi ? semi + 1 : NULL;
    }
    c->scratch_cap = c->pkt_size + 64u > LODE_RSP_MAX_PACKET + 2u ? c->pkt_size + 64u : LODE_RSP_MAX_PACKET + 2u;
    if (!(c->scratch = malloc(c->scratch_cap)))
        return LODE_E_NOMEM;
    if (noack) {
        if ((rc = transact(c, "QStartNoAckMode")) != LODE_OK)
            return rc;
        if (!strcmp(c->pkt, "OK"))
            c->ack = false;
    }
    if ((rc = transact(c, "?")) != LODE_OK)
        return rc;
    if (!take_stop(c, false)) {
        lode_log(&c->log, LODE_LOG_ERROR, LODE_LOGC_GDB, "unexpected reply to '?': %.40s", c->pkt);
        return LODE_E_PROTOCOL;
    }
    if (c->dfsr == LODE_CM_DFSR_BKPT)
        c->dfsr = LODE_CM_DFSR_HALTED; /* we did not resume it: a plain halt */
    lode_log(&c->log, LODE_LOG_INFO, LODE_LOGC_GDB, "GDB server: PacketSize %zu, %s", c->pkt_size,
             c->ack ? "acks" : "no acks");
    return LODE_OK;
}

int lode_gdbclient_open_stream(lode_stream_s *io, const lode_log_s *log, lode_gdbclient_s **out)
{
    if (!out || !io) {
        lode_stream_close(io);
        return LODE_E_INVALID_ARG;
    }
    *out = NULL;
    lode_gdbclient_s *c = calloc(1, sizeof *c);
    if (!c) {
        lode_stream_close(io);
        return LODE_E_NOMEM;
    }
    c->io = io;
    if (log)
        c->log = *log;
    lode_stream_set_log(io, &c->log);
    c->ack = true;
    c->p_ok = c->P_ok = true;
    c->pkt_size = DEFAULT_PACKET;
    lode_rsp_decoder_init(&c->dec, 0);
    c->ops = (lode_core_ops_s){
        .halt = op_halt, .resume = op_resume, .step = op_step, .state = op_state,
        .reg_read = op_reg_read, .reg_write = op_reg_write, .regs_read = op_regs_read,
        .regs_write = op_regs_write, .mem_read = op_mem_read, .mem_write = op_mem_write,
        .reset = op_reset, .bp_set = op_bp_set, .bp_clear = op_bp_clear, .wp_set = op_wp_set,
        .wp_clear = op_wp_clear, .vector_catch = NULL, .now_us = op_now_us,
        .delay_us = op_delay_us, .reg_list = op_reg_list, .ctx = c,
    };
    int rc = handshake(c);
    if (rc != LODE_OK) {
        lode_log(&c->log, LODE_LOG_ERROR, LODE_LOGC_GDB, "GDB server handshake: %s", lode_strerror(rc));
        lode_stream_close(c->io);
        c->io = NULL;
        lode_gdbclient_free(c);
        return rc;
    }
    *out = c;
    return LODE_OK;
}

int lode_gdbclient_connect_fd(int fd, const lode_log_s *log, lode_gdbclient_s **out)
{
    if (fd < 0 || !out) {
        if (fd >= 0)
            close(fd);
        return LODE_E_INVALID_ARG;
    }
    lode_stream_s *io = NULL;
    int rc = lode_stream_from_fd(fd, true, log, &io); /* closes fd when it fails */
    if (rc != LODE_OK)
        return rc;
    return lode_gdbclient_open_stream(io, log, out);
}

int lode_gdbclient_connect(const char *host, int port, const lode_log_s *log,
                           lode_gdbclient_s **out)
{
    if (!host || !out || port <= 0 || port > 65535)
        return LODE_E_INVALID_ARG;
    *out = NULL;
    lode_stream_s *io = NULL;
    int rc = lode_stream_open_tcp(host, port, 0, NULL, &io);
    if (rc != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GDB, "connecting to %s:%d: %s", host, port,
                 strerror(errno));
        return rc == LODE_E_TIMEOUT ? LODE_E_NO_DEVICE : rc;
    }
    return lode_gdbclient_open_stream(io, log, out);
}

const lode_core_ops_s *lode_gdbclient_core(lode_gdbclient_s *c)
{
    return c ? &c->ops : NULL;
}

size_t lode_gdbclient_packet_size(const lode_gdbclient_s *c)
{
    return c ? c->pkt_size : 0;
}

void lode_gdbclient_free(lode_gdbclient_s *c)
{
    if (!c)
        return;
    if (c->io) {
        if (!c->running && !c->exited && transact(c, "D") != LODE_OK)
            lode_log(&c->log, LODE_LOG_WARN, LODE_LOGC_GDB, "detach: no reply from the GDB server");
        lode_stream_close(c->io);
    }
    free(c->tx);
    free(c->scratch);
    free(c);
}

void lode_gdbclient_set_fileio(lode_gdbclient_s *c, lode_gdbclient_fileio_fn fn, void *user)
{
    if (c) {
        c->fileio = fn;
        c->fileio_user = user;
    }
}

uint64_t lode_gdbclient_fileio_calls(const lode_gdbclient_s *c)
{
    return c ? c->fileio_calls : 0;
}

/* ---- flash through the server (memory map + vFlashErase/vFlashWrite/vFlashDone) ---- */

#define MAX_MAP 32

typedef struct map_region_s {
    bool flash;
    uint32_t start, len, block;
} map_region_s;

/* qXfer:memory-map:read into a NUL-terminated buffer */
static int read_memory_map(lode_gdbclient_s *c, char *xml, size_t cap)
{
    size_t have = 0;
    for (;;) {
        char q[64];
        snprintf(q, sizeof q, "qXfer:memory-map:read::%zx,%zx", have, (size_t)1024);
        int rc = transact(c, q);
        if (rc != LODE_OK)
            return rc;
        if (c->pkt_len == 0 || (c->pkt[0] != 'm' && c->pkt[0] != 'l'))
            return LODE_E_UNSUPPORTED;
        size_t n = c->pkt_len - 1;
        if (have + n + 1 > cap)
            return LODE_E_NOMEM;
        memcpy(xml + have, c->pkt + 1, n);
        have += n;
        if (c->pkt[0] == 'l' || n == 0)
            break;
    }
    xml[have] = '\0';
    return LODE_OK;
}

static bool xml_attr(const char *tag, const char *end, const char *name, uint32_t *v)
{
    char key[32];
    snprintf(key, sizeof key, "%s=\"", name);
    const char *p = strstr(tag, key);
    if (!p || p > end)
        return false;
    char *e;
    unsigned long long x = strtoull(p + strlen(key), &e, 0);
    if (e == p + strlen(key) || x > 0xFFFFFFFFull)
        return false;
    *v = (uint32_t)x;
    return true;
}

/* The <memory> elements of GDB's memory-map DTD: type, start, length, blocksize. */
static int parse_memory_map(const char *xml, map_region_s *r, size_t cap, size_t *n)
{
    *n = 0;
    const char *p = xml;
    while ((p = strstr(p, "<memory ")) != NULL && *n < cap) {
        const char *close = strchr(p, '>');
        if (!close)
            return LODE_E_PROTOCOL;
        map_region_s m = {0};
        bool flash = strstr(p, "type=\"flash\"") && strstr(p, "type=\"flash\"") < close;
        if (!xml_attr(p, close, "start", &m.start) || !xml_attr(p, close, "length", &m.len)) {
            p = close;
            continue;
        }
        m.flash = flash;
        const char *next = strstr(close, "<memory ");
        const char *bs = strstr(close, "\"blocksize\"");
        if (flash && bs && (!next || bs < next)) {
            const char *v = strchr(bs, '>');
            if (v)
                m.block = (uint32_t)strtoul(v + 1, NULL, 0);
        }
        if (!flash || m.block)
            r[(*n)++] = m;
        p = close;
    }
    return LODE_OK;
}

int lode_gdbclient_memory_map(lode_gdbclient_s *c, lode_gdbclient_region_s *out, size_t cap, size_t *n)
{
    if (!c || !n || (cap && !out))
        return LODE_E_INVALID_ARG;
    *n = 0;
    int rc = need_halted(c);
    if (rc != LODE_OK)
        return rc;
    char xml[8192];
    map_region_s m[MAX_MAP];
    size_t nm = 0;
    if ((rc = read_memory_map(c, xml, sizeof xml)) != LODE_OK ||
        (rc = parse_memory_map(xml, m, MAX_MAP, &nm)) != LODE_OK)
        return rc;
    for (size_t i = 0; i < nm && *n < cap; i++)
        out[(*n)++] = (lode_gdbclient_region_s){.flash = m[i].flash, .start = m[i].start, .len = m[i].len,
                                                 .block = m[i].block};
    return LODE_OK;
}

static int vflash_erase(lode_gdbclient_s *c, uint32_t addr, uint32_t len)
{
    char q[64];
    snprintf(q, sizeof q, "vFlashErase:%" PRIx32 ",%" PRIx32, addr, len);
    int rc = transact_wait(c, q, FLASH_WAIT_MS);
    return rc == LODE_OK ? ok_reply(c, LODE_E_FLASH) : rc;
}

static int vflash_done(lode_gdbclient_s *c)
{
    int rc = transact_wait(c, "vFlashDone", FLASH_WAIT_MS);
    return rc == LODE_OK ? ok_reply(c, LODE_E_FLASH) : rc;
}

static int vflash_write(lode_gdbclient_s *c, uint32_t addr, const uint8_t *data, size_t len)
{
    /* escaping can double the data: keep a packet within the server's size */
    size_t chunk = c->pkt_size > 96 ? (c->pkt_size - 64) / 2 : 16;
    if (chunk > 4096)
        chunk = 4096;
    char *buf = malloc(32 + chunk);
    if (!buf)
        return LODE_E_NOMEM;
    int rc = LODE_OK;
    for (size_t off = 0; off < len && rc == LODE_OK; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        int h = snprintf(buf, 32, "vFlashWrite:%" PRIx32 ":", addr + (uint32_t)off);
        memcpy(buf + h, data + off, n);
        if ((rc = send_packet(c, buf, (size_t)h + n)) == LODE_OK &&
            (rc = recv_packet(c, FLASH_WAIT_MS)) == LODE_OK)
            rc = ok_reply(c, LODE_E_FLASH);
    }
    free(buf);
    return rc;
}

int lode_gdbclient_vflash_erase(lode_gdbclient_s *c, uint32_t addr, uint32_t len)
{
    int rc = c ? need_halted(c) : LODE_E_INVALID_ARG;
    return rc == LODE_OK ? vflash_erase(c, addr, len) : rc;
}

int lode_gdbclient_vflash_write(lode_gdbclient_s *c, uint32_t addr, const uint8_t *data, size_t len)
{
    int rc = c && data ? need_halted(c) : LODE_E_INVALID_ARG;
    return rc == LODE_OK ? vflash_write(c, addr, data, len) : rc;
}

int lode_gdbclient_vflash_done(lode_gdbclient_s *c)
{
    int rc = c ? need_halted(c) : LODE_E_INVALID_ARG;
    return rc == LODE_OK ? vflash_done(c) : rc;
}

int lode_gdbclient_attach_target(lode_gdbclient_s *c, const char *scan_cmd, unsigned target)
{
    if (!c || !scan_cmd || !target)
        return LODE_E_INVALID_ARG;
    int rc = monitor(c, scan_cmd);
    if (rc != LODE_OK) {
        lode_log(&c->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                 "`monitor %s` failed (%s): is a target connected and powered?", scan_cmd,
                 lode_strerror(rc));
        return rc == LODE_E_UNSUPPORTED ? LODE_E_UNSUPPORTED : LODE_E_NO_DEVICE;
    }
    char q[32];
    snprintf(q, sizeof q, "vAttach;%x", target);
    if ((rc = transact(c, q)) != LODE_OK)
        return rc;
    if (c->pkt_len && c->pkt[0] == 'E') {
        lode_log(&c->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                 "the probe found no target %u to attach to (see `monitor %s`)", target, scan_cmd);
        return LODE_E_NO_DEVICE;
    }
    if (!take_stop(c, false))
        return LODE_E_PROTOCOL;
    c->exited = false;
    return LODE_OK;
}

int lode_gdbclient_open_serial(const char *path, const lode_log_s *log, lode_gdbclient_s **out)
{
    if (!path || !out)
        return LODE_E_INVALID_ARG;
    *out = NULL;
    /* raw bytes, no echo, no line discipline; the speed does not matter on a USB CDC port */
    lode_stream_s *io = NULL;
    int rc = lode_stream_open_serial(path, NULL, log, &io);
    if (rc != LODE_OK)
        return rc;
    return lode_gdbclient_open_stream(io, log, out);
}

void lode_gdbclient_set_intrusive(lode_gdbclient_s *c, bool on)
{
    if (c)
        c->intrusive = on;
}
