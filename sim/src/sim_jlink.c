/* SPDX-License-Identifier: MIT */
/* A simulated SEGGER J-Link in front of the board's SWD wire (swdwire.c): the firmware's
 * command processor for the USB protocol of SEGGER RM08001 ("Reference manual for J-Link USB
 * Protocol"), a USB bulk-pipe timing model charged to the board's virtual clock, and an
 * in-process transport. See lode/sim.h (lode_sim_jlink_*) for the interface.
 *
 * The protocol has no framing: the host writes a command byte and its arguments on the
 * bulk OUT pipe (in as many transfers as it likes) and reads the reply, whose length it
 * knows, on the bulk IN pipe. So the model is a byte stream: OUT bytes collect until a
 * command is complete, then it runs and its reply joins the IN stream.
 *
 * Commands (RM08001 names; figures of this model where the manual leaves them to the unit):
 *  0x01 VERSION        -> u16 length (0x70), the firmware string zero padded
 *  0xE8 GET_CAPS       -> u32 capabilities; 0xED GET_CAPS_EX -> 32 bytes (the first 4 = caps)
 *  0xF0 GET_HW_VERSION -> u32 type*1000000 + major*10000 + minor*100 + revision
 *  0xD4 GET_MAX_MEM_BLOCK (free memory) -> u32 bytes
 *  0x07 GET_STATE      -> u16 VTref mV, u8 TCK, TDI, TDO, TMS, TRES, TRST
 *  0xC0 GET_SPEEDS     -> u32 base frequency Hz, u16 minimum divider
 *  0x05 SET_SPEED u16 kHz (0xFFFF adaptive: not supported, ignored): speed = base / n with
 *       n >= the minimum divider, the fastest not above the request; no reply
 *  0xC7 SELECT_IF u8: 0xFF -> u32 available interfaces (bit 0 JTAG, bit 1 SWD), 0xFE -> u32
 *       current, 0 / 1 -> select JTAG / SWD (an unavailable one is not selected), u32 previous
 *  0xCF HW_JTAG3 u8 0, u16 bits, dir/TMS[n], out/TDI[n] -> in/TDO[n], u8 status (0 ok, 6: more
 *       than the free memory); 0xCE HW_JTAG2: the same without the status byte
 *  0xDC/0xDD HW_RESET0/1 (nRESET low/high), 0xDE/0xDF HW_TRST0/1: no reply
 *  0x08 SET_KS_POWER u8 (target power on pin 19): no reply
 *  0xEB SWO: sub-command and (size, id, value) parameters ending with a 0 size byte:
 *       0x64 start (mode 0 = UART, baud rate, buffer size) -> u32 status; 0x65 stop -> u32
 *       status; 0x66 read (read size) -> u32 status, u32 length, data; 0x6E speeds (mode) ->
 *       u32 28, u32 0, base frequency, min/max divider, min/max prescaler
 *  anything else: logged once, the byte is dropped.
 *
 * SWD through HW_JTAG3: bit i of dir says whether the probe drives SWDIO in cycle i with bit
 * i of out. The reply has the J-Link's sampling skew: bit i of in is the level of SWDIO in
 * cycle i + 1 (the ACK of a request whose turnaround is cycle t is at t..t+2); the last bit is
 * the level the line will have next (the target's next bit, else the probe's last driven
 * level, else the pull-up). With VTref at 0 V the level shifters are unpowered: nothing
 * reaches the target and every input bit reads 0. In JTAG mode TMS goes to SWDIO/TMS (the
 * SWJ-DP's select sequences work); the JTAG-DP itself is not modelled, TDO reads 1.
 *
 * USB: V11 and later are high-speed devices (125 us microframes, 13 bulk packets of 512
 * bytes each), V10 and older full speed (1 ms frames, 19 packets of 64 bytes). An OUT
 * transfer starts at the next (micro)frame boundary and its packets go back to back; a
 * complete command runs as soon as it has arrived (its SWD cycles on the board's clock at
 * the speed set); its reply moves from the first (micro)frame boundary after that, as the
 * simulated CMSIS-DAP's does: a short command's round trip is two (micro)frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/sim.h"
#include "lode/transport.h"
#include "util/bytes.h"

#define PS_PER_US 1000000ull
#define HS(p) ((p)->hw_major >= 11)
#define FRAME_PS(p) (HS(p) ? 125ull * PS_PER_US : 1000ull * PS_PER_US)
#define SLOTS(p) (HS(p) ? 13u : 19u)
#define MPS(p) (HS(p) ? 512u : 64u)
#define RX_MAX (4u + 2u * 8192u + 64u) /* the largest command: HW_JTAG3 with 65535 bits */
#define TX_MAX (64u * 1024u)
#define SWO_MAX (64u * 1024u)

enum {
    CMD_VERSION = 0x01, CMD_SET_SPEED = 0x05, CMD_GET_STATE = 0x07, CMD_SET_KS_POWER = 0x08,
    CMD_GET_SPEEDS = 0xC0, CMD_SELECT_IF = 0xC7, CMD_HW_JTAG2 = 0xCE, CMD_HW_JTAG3 = 0xCF,
    CMD_GET_MAX_MEM_BLOCK = 0xD4, CMD_HW_RESET0 = 0xDC, CMD_HW_RESET1 = 0xDD, CMD_HW_TRST0 = 0xDE,
    CMD_HW_TRST1 = 0xDF, CMD_GET_CAPS = 0xE8, CMD_SWO = 0xEB, CMD_GET_CAPS_EX = 0xED,
    CMD_GET_HW_VERSION = 0xF0,
};
enum { SWO_START = 0x64, SWO_STOP = 0x65, SWO_READ = 0x66, SWO_GET_SPEEDS = 0x6E };
enum { SWO_P_MODE = 1, SWO_P_BAUD = 2, SWO_P_READ_SIZE = 3, SWO_P_BUF_SIZE = 4 };
#define SWO_ERR 0x80000000u
#define SWO_OVERRUN 0x1u /* status bit: the capture buffer overflowed (data lost) */

/* capability bits (RM08001 EMU_CAP_*) */
#define CAP_RESERVED (1u << 0)
#define CAP_GET_HW_VERSION (1u << 1)
#define CAP_GET_SPEEDS (1u << 9)
#define CAP_GET_MAX_BLOCK_SIZE (1u << 11)
#define CAP_SET_KS_POWER (1u << 13)
#define CAP_SELECT_IF (1u << 17)
#define CAP_SWO (1u << 23)
#define CAP_GET_CAPS_EX (1u << 31)

#define IF_JTAG 0u
#define IF_SWD 1u

struct lode_sim_jlink_s {
    lode_sim_s *sim;
    lode_sim_swdwire_s *wire;
    lode_log_s log;
    void (*trace)(void *user, size_t n, const uint8_t *dir, const uint8_t *out, const uint8_t *line);
    void *trace_user;
    unsigned hw_major;
    char serial[32];
    char firmware[0x70];
    uint16_t pid;
    uint32_t free_mem;
    uint32_t base_hz;
    uint16_t min_div;
    uint32_t speed_hz;
    bool vtref_off, power, no_swd;
    uint8_t iface;
    bool nreset_low, ntrst_low;

    uint8_t rx[RX_MAX];
    size_t rx_len;
    uint8_t tx[TX_MAX];
    size_t tx_len;
    uint64_t tx_ready;

    bool swo_on;
    uint32_t swo_buf_size;
    uint8_t swo[SWO_MAX];
    size_t swo_len;
    bool swo_overrun;

    uint8_t unknown_logged[32]; /* bit per command byte */
    lode_sim_jlink_stats_s st;
};

/* ---- helpers ------------------------------------------------------------------------------- */
static uint32_t caps(const lode_sim_jlink_s *p)
{
    uint32_t c = CAP_RESERVED | CAP_GET_HW_VERSION | CAP_GET_SPEEDS | CAP_GET_MAX_BLOCK_SIZE |
                 CAP_SET_KS_POWER | CAP_GET_CAPS_EX;
    if (!p->no_swd)
        c |= CAP_SELECT_IF | CAP_SWO;
    return c;
}

static uint16_t vtref_mv(const lode_sim_jlink_s *p) { return p->vtref_off && !p->power ? 0 : 3300; }

static void reply(lode_sim_jlink_s *p, const void *data, size_t len)
{
    if (p->tx_len + len > TX_MAX) { /* the host never reads: a real probe would stall */
        lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM, "sim J-Link: reply dropped (host not reading)");
        return;
    }
    memcpy(p->tx + p->tx_len, data, len);
    p->tx_len += len;
}

static void reply32(lode_sim_jlink_s *p, uint32_t v)
{
    uint8_t b[4];
    lodei_put_le32(b, v);
    reply(p, b, 4);
}

static void set_speed(lode_sim_jlink_s *p, uint32_t khz)
{
    if (khz == 0xFFFFu || khz == 0)
        return; /* adaptive clocking needs RTCK (not a capability here); 0 is no speed */
    uint64_t want = (uint64_t)khz * 1000u;
    uint32_t div = (uint32_t)((p->base_hz + want - 1) / want);
    if (div < p->min_div)
        div = p->min_div;
    p->speed_hz = p->base_hz / div;
    lode_sim_set_swd_hz(p->sim, p->speed_hz);
}

/* ---- SWO --------------------------------------------------------------------------------- */
static void swo_pull(lode_sim_jlink_s *p)
{
    if (!p->swo_on)
        return;
    uint8_t buf[1024];
    size_t n;
    while ((n = lode_sim_swo_read(p->sim, buf, sizeof buf)) > 0) {
        size_t room = p->swo_buf_size - p->swo_len;
        if (n > room) {
            p->swo_overrun = true;
            n = room;
        }
        memcpy(p->swo + p->swo_len, buf, n);
        p->swo_len += n;
    }
}

/* parameters of an SWO command: (size, id, value) up to a 0 size byte */
static uint32_t swo_param(const uint8_t *c, size_t len, uint8_t id, uint32_t dflt)
{
    for (size_t i = 2; i < len && c[i];) {
        if (c[i] == 4 && i + 6 <= len && c[i + 1] == id)
            return lodei_get_le32(c + i + 2);
        i += 2u + c[i];
    }
    return dflt;
}

static void swo(lode_sim_jlink_s *p, const uint8_t *c, size_t len)
{
    switch (c[1]) {
    case SWO_START: {
        uint32_t mode = swo_param(c, len, SWO_P_MODE, 0);
        uint32_t baud = swo_param(c, len, SWO_P_BAUD, 0);
        uint32_t size = swo_param(c, len, SWO_P_BUF_SIZE, 0);
        if (p->no_swd || mode != 0 || !baud || !size || size > SWO_MAX) {
            reply32(p, SWO_ERR);
            return;
        }
        uint8_t old[256]; /* output from before the start is not captured */
        while (lode_sim_swo_read(p->sim, old, sizeof old) > 0) {
        }
        p->swo_on = true;
        p->swo_buf_size = size;
        p->swo_len = 0;
        p->swo_overrun = false;
        reply32(p, 0);
        return;
    }
    case SWO_STOP:
        swo_pull(p);
        p->swo_on = false;
        reply32(p, 0);
        return;
    case SWO_READ: {
        swo_pull(p);
        uint32_t want = swo_param(c, len, SWO_P_READ_SIZE, 0);
        size_t n = want < p->swo_len ? want : p->swo_len;
        reply32(p, p->swo_overrun ? SWO_OVERRUN : 0);
        reply32(p, (uint32_t)n);
        reply(p, p->swo, n);
        memmove(p->swo, p->swo + n, p->swo_len - n);
        p->swo_len -= n;
        p->swo_overrun = false;
        p->st.swo_bytes += n;
        return;
    }
    case SWO_GET_SPEEDS: {
        if (p->no_swd || swo_param(c, len, SWO_P_MODE, 0) != 0) {
            reply32(p, SWO_ERR);
            return;
        }
        /* UART mode: the probe's SWO sampling clock divided by 1..8192 (model figures) */
        const uint32_t v[7] = {28, 0, p->hw_major >= 11 ? 120000000u : 60000000u, 1, 8192, 1, 1};
        for (unsigned i = 0; i < 7; i++)
            reply32(p, v[i]);
        return;
    }
    default:
        reply32(p, SWO_ERR);
        return;
    }
}

/* ---- HW_JTAG3 ---------------------------------------------------------------------------- */
static void jtag_io(lode_sim_jlink_s *p, const uint8_t *c, bool v3)
{
    unsigned bits = lodei_get_le16(c + 2);
    size_t n = (bits + 7u) / 8u;
    const uint8_t *first = c + 4, *second = c + 4 + n;
    uint8_t *in = calloc(n + 1, 1), *line = calloc(n + 1, 1), *dir = calloc(n + 1, 1);
    if (!in || !line || !dir) {
        free(in), free(line), free(dir);
        return;
    }
    uint8_t status = 0;
    p->st.jtag3_commands++;
    if (2u * n > p->free_mem) {
        status = 0x06; /* no memory */
    } else if (vtref_mv(p) == 0 || !bits) {
        /* unpowered level shifters: nothing goes out, inputs read 0 */
    } else if (p->iface == IF_SWD) {
        lode_sim_swdwire_clock(p->wire, bits, first, second, line);
        p->st.bits += bits;
        if (p->trace)
            p->trace(p->trace_user, bits, first, second, line);
        for (unsigned i = 0; i + 1 < bits; i++)
            if ((line[(i + 1) / 8] >> ((i + 1) % 8)) & 1u)
                in[i / 8] |= (uint8_t)(1u << (i % 8));
        int next = lode_sim_swdwire_next(p->wire);
        unsigned last = bits - 1;
        if (next < 0) {
            bool driving = (first[last / 8] >> (last % 8)) & 1u;
            next = driving ? (second[last / 8] >> (last % 8)) & 1 : 1;
        }
        if (next)
            in[last / 8] |= (uint8_t)(1u << (last % 8));
    } else {
        /* JTAG: TMS is the SWJ-DP's SWDIO/TMS (always driven), TDO the pull-up */
        memset(dir, 0xFF, n);
        lode_sim_swdwire_clock(p->wire, bits, dir, first, line);
        p->st.bits += bits;
        if (p->trace)
            p->trace(p->trace_user, bits, dir, first, line);
        memset(in, 0xFF, n);
        if (bits % 8)
            in[n - 1] &= (uint8_t)((1u << (bits % 8)) - 1u);
    }
    reply(p, in, n);
    if (v3)
        reply(p, &status, 1);
    free(in), free(line), free(dir);
}

/* ---- command processor ------------------------------------------------------------------- */
/* Bytes the command at c (len bytes so far) needs in all, 0 while that is not known yet. */
static size_t cmd_size(const uint8_t *c, size_t len)
{
    switch (c[0]) {
    case CMD_SET_SPEED: return 3;
    case CMD_SELECT_IF:
    case CMD_SET_KS_POWER: return 2;
    case CMD_HW_JTAG2:
    case CMD_HW_JTAG3:
        return len < 4 ? 0 : 4u + 2u * ((lodei_get_le16(c + 2) + 7u) / 8u);
    case CMD_SWO:
        for (size_t i = 2; i < len;) {
            if (!c[i])
                return i + 1;
            i += 2u + c[i];
        }
        return 0;
    default: return 1;
    }
}

static void execute(lode_sim_jlink_s *p, const uint8_t *c, size_t len)
{
    p->st.commands++;
    switch (c[0]) {
    case CMD_VERSION: {
        uint8_t b[2 + sizeof p->firmware];
        memset(b, 0, sizeof b);
        lodei_put_le16(b, (uint16_t)sizeof p->firmware);
        memcpy(b + 2, p->firmware, sizeof p->firmware);
        reply(p, b, sizeof b);
        return;
    }
    case CMD_GET_CAPS: reply32(p, caps(p)); return;
    case CMD_GET_CAPS_EX: {
        uint8_t b[32] = {0};
        lodei_put_le32(b, caps(p));
        reply(p, b, sizeof b);
        return;
    }
    case CMD_GET_HW_VERSION: reply32(p, p->hw_major * 10000u); return; /* type 0 = J-Link */
    case CMD_GET_MAX_MEM_BLOCK: reply32(p, p->free_mem); return;
    case CMD_GET_STATE: {
        uint8_t b[8];
        lodei_put_le16(b, vtref_mv(p));
        b[2] = 1;                   /* TCK */
        b[3] = 1;                   /* TDI */
        b[4] = 1;                   /* TDO: pulled up */
        b[5] = 1;                   /* TMS/SWDIO */
        b[6] = !p->nreset_low;      /* TRES */
        b[7] = !p->ntrst_low;       /* TRST */
        reply(p, b, sizeof b);
        return;
    }
    case CMD_GET_SPEEDS: {
        uint8_t b[6];
        lodei_put_le32(b, p->base_hz);
        lodei_put_le16(b + 4, p->min_div);
        reply(p, b, sizeof b);
        return;
    }
    case CMD_SET_SPEED: set_speed(p, lodei_get_le16(c + 1)); return;
    case CMD_SELECT_IF: {
        uint32_t avail = p->no_swd ? 1u : 3u;
        if (c[1] == 0xFF) {
            reply32(p, avail);
        } else if (c[1] == 0xFE) {
            reply32(p, p->iface);
        } else {
            reply32(p, p->iface);
            if (c[1] < 32 && (avail >> c[1]) & 1u)
                p->iface = c[1];
        }
        return;
    }
    case CMD_HW_JTAG2:
    case CMD_HW_JTAG3: jtag_io(p, c, c[0] == CMD_HW_JTAG3); return;
    case CMD_HW_RESET0:
    case CMD_HW_RESET1:
        p->nreset_low = c[0] == CMD_HW_RESET0;
        if (vtref_mv(p))
            lode_sim_nrst(p->sim, p->nreset_low);
        return;
    case CMD_HW_TRST0:
    case CMD_HW_TRST1: p->ntrst_low = c[0] == CMD_HW_TRST0; return; /* no nTRST on the board */
    case CMD_SET_KS_POWER: p->power = c[1] != 0; return;
    case CMD_SWO: swo(p, c, len); return;
    default:
        p->st.commands--;
        if (!(p->unknown_logged[c[0] / 8] & (1u << (c[0] % 8)))) {
            p->unknown_logged[c[0] / 8] |= (uint8_t)(1u << (c[0] % 8));
            lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM, "sim J-Link: unknown command 0x%02x dropped", c[0]);
        }
        return;
    }
}

int lode_sim_jlink_process(lode_sim_jlink_s *p, const uint8_t *data, size_t len)
{
    if (!p || (len && !data))
        return LODE_E_INVALID_ARG;
    while (len) {
        size_t take = RX_MAX - p->rx_len;
        if (take > len)
            take = len;
        memcpy(p->rx + p->rx_len, data, take);
        p->rx_len += take;
        data += take;
        len -= take;
        size_t need;
        while (p->rx_len && (need = cmd_size(p->rx, p->rx_len)) && need <= p->rx_len) {
            execute(p, p->rx, need);
            memmove(p->rx, p->rx + need, p->rx_len - need);
            p->rx_len -= need;
        }
        if (p->rx_len == RX_MAX) { /* an SWO command whose parameters never end */
            lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM, "sim J-Link: malformed command dropped");
            p->rx_len = 0;
        }
    }
    return LODE_OK;
}

/* ---- USB timing -------------------------------------------------------------------------- */
static void advance_to(lode_sim_jlink_s *p, uint64_t t)
{
    uint64_t now = lode_sim_now(p->sim);
    if (t > now)
        lode_sim_advance(p->sim, t - now);
}

/* when `packets` bulk packets, the first no earlier than t, have moved */
static uint64_t bus_move(const lode_sim_jlink_s *p, uint64_t t, uint64_t packets)
{
    uint64_t fps = FRAME_PS(p), slot_ps = fps / SLOTS(p);
    uint64_t frame = t / fps, slot = (t % fps + slot_ps - 1) / slot_ps, end = t;
    while (packets) {
        if (slot >= SLOTS(p)) {
            frame++;
            slot = 0;
        }
        uint64_t take = SLOTS(p) - slot;
        if (take > packets)
            take = packets;
        slot += take;
        packets -= take;
        end = frame * fps + slot * slot_ps;
    }
    return end;
}

static uint64_t npackets(const lode_sim_jlink_s *p, size_t len) { return len ? (len + MPS(p) - 1) / MPS(p) : 1; }

int lode_sim_jlink_usb_write(lode_sim_jlink_s *p, const uint8_t *data, size_t len)
{
    if (!p || (len && !data))
        return LODE_E_INVALID_ARG;
    p->st.usb_out++;
    uint64_t now = lode_sim_now(p->sim), fps = FRAME_PS(p);
    uint64_t start = (now + fps - 1) / fps * fps;
    advance_to(p, bus_move(p, start, npackets(p, len)));
    size_t before = p->tx_len;
    int rc = lode_sim_jlink_process(p, data, len);
    if (p->tx_len > before) {
        /* the reply goes out from the first (micro)frame boundary after execution */
        uint64_t done = lode_sim_now(p->sim);
        p->tx_ready = bus_move(p, (done + fps - 1) / fps * fps, npackets(p, p->tx_len - before));
    }
    return rc;
}

int lode_sim_jlink_usb_read(lode_sim_jlink_s *p, uint8_t *buf, size_t cap, size_t *got)
{
    if (!p || !got || (cap && !buf))
        return LODE_E_INVALID_ARG;
    if (!p->tx_len)
        return LODE_E_TIMEOUT;
    p->st.usb_in++;
    advance_to(p, p->tx_ready);
    size_t n = cap < p->tx_len ? cap : p->tx_len;
    memcpy(buf, p->tx, n);
    memmove(p->tx, p->tx + n, p->tx_len - n);
    p->tx_len -= n;
    *got = n;
    return LODE_OK;
}

/* ---- transport --------------------------------------------------------------------------- */
typedef struct sim_jlink_transport_s {
    lode_transport_s base; /* first member */
    lode_sim_jlink_s *p;
} sim_jlink_transport_s;

static int t_write(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    (void)timeout_ms;
    return lode_sim_jlink_usb_write(((sim_jlink_transport_s *)t)->p, data, len);
}

static int t_read(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms)
{
    (void)timeout_ms;
    return lode_sim_jlink_usb_read(((sim_jlink_transport_s *)t)->p, buf, cap, got);
}

static void t_close(lode_transport_s *t) { free(t); }

static const lode_transport_ops_s sim_jlink_transport_ops = {t_write, t_read, t_close};

int lode_sim_jlink_transport(lode_sim_jlink_s *p, lode_transport_s **out)
{
    if (!p || !out)
        return LODE_E_INVALID_ARG;
    sim_jlink_transport_s *t = calloc(1, sizeof *t);
    if (!t)
        return LODE_E_NOMEM;
    t->base.ops = &sim_jlink_transport_ops;
    t->base.kind = LODE_TRANSPORT_INPROC;
    t->base.packet_size = MPS(p);
    t->base.log = &p->log;
    t->p = p;
    *out = &t->base;
    return LODE_OK;
}

/* ---- life cycle -------------------------------------------------------------------------- */
int lode_sim_jlink_new(lode_sim_s *sim, const lode_sim_jlink_config_s *cfg, lode_sim_jlink_s **out)
{
    if (!sim || !out)
        return LODE_E_INVALID_ARG;
    lode_sim_jlink_config_s c;
    memset(&c, 0, sizeof c);
    if (cfg)
        c = *cfg;
    if (c.hw_major && (c.hw_major < 7 || c.hw_major > 99))
        return LODE_E_INVALID_ARG;
    lode_sim_jlink_s *p = calloc(1, sizeof *p);
    if (!p)
        return LODE_E_NOMEM;
    p->sim = sim;
    p->log = c.log;
    p->trace = c.trace;
    p->trace_user = c.trace_user;
    p->hw_major = c.hw_major ? c.hw_major : 11;
    p->pid = c.pid ? c.pid : 0x0101;
    p->free_mem = c.free_mem ? c.free_mem : 16384u;
    p->vtref_off = c.vtref_off;
    p->no_swd = c.no_swd;
    snprintf(p->serial, sizeof p->serial, "%s", c.serial && *c.serial ? c.serial : "601000001");
    if (c.firmware && *c.firmware)
        snprintf(p->firmware, sizeof p->firmware, "%s", c.firmware);
    else
        snprintf(p->firmware, sizeof p->firmware, "J-Link V%u compiled Dec  7 2026 08:00:00 (lode sim)", p->hw_major);
    /* the SWD/JTAG clock: base frequency and minimum divider (model figures: V11 and later
     * 60 MHz / 4 = 15 MHz, older 12 MHz / 1) */
    p->base_hz = HS(p) ? 60000000u : 12000000u;
    p->min_div = HS(p) ? 4 : 1;
    p->iface = IF_JTAG; /* a J-Link starts with JTAG selected */
    int rc = lode_sim_swdwire_new(sim, &c.wire, &p->wire);
    if (rc != LODE_OK) {
        free(p);
        return rc;
    }
    set_speed(p, 4000); /* until the host sets one */
    *out = p;
    return LODE_OK;
}

void lode_sim_jlink_free(lode_sim_jlink_s *p)
{
    if (!p)
        return;
    lode_sim_swdwire_free(p->wire);
    free(p);
}

void lode_sim_jlink_stats(const lode_sim_jlink_s *p, lode_sim_jlink_stats_s *out)
{
    if (p && out)
        *out = p->st;
}

const char *lode_sim_jlink_serial(const lode_sim_jlink_s *p) { return p ? p->serial : NULL; }
uint16_t lode_sim_jlink_pid(const lode_sim_jlink_s *p) { return p ? p->pid : 0; }
bool lode_sim_jlink_high_speed(const lode_sim_jlink_s *p) { return p && HS(p); }
lode_sim_swdwire_s *lode_sim_jlink_wire(lode_sim_jlink_s *p) { return p ? p->wire : NULL; }
lode_sim_s *lode_sim_jlink_board(const lode_sim_jlink_s *p) { return p ? p->sim : NULL; }
uint32_t lode_sim_jlink_speed_hz(const lode_sim_jlink_s *p) { return p ? p->speed_hz : 0; }
