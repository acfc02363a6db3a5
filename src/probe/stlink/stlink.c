/* SPDX-License-Identifier: MIT */
/* ST-Link driver: version and mode handling, SWD entry, DP/AP register access, memory commands
 * behind a shadow MEM-AP (see lode/stlink.h), Cortex-M helpers and SWO trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/stlink.h"
#include "util/bytes.h"

/* command bytes */
enum {
    C_GET_VERSION = 0xF1, C_DEBUG = 0xF2, C_DFU = 0xF3, C_GET_MODE = 0xF5, C_GET_VOLTAGE = 0xF7,
    C_GET_VERSION_EX = 0xFB,
    D_STATUS = 0x01, D_FORCE_DEBUG = 0x02, D_READMEM32 = 0x07, D_WRITEMEM32 = 0x08,
    D_RUN = 0x09, D_STEP = 0x0A, D_READMEM8 = 0x0C, D_WRITEMEM8 = 0x0D, D_EXIT = 0x21,
    D_ENTER = 0x30, D_READ_IDCODES = 0x31, D_RESETSYS = 0x32, D_READREG = 0x33,
    D_WRITEREG = 0x34, D_WRITEDEBUGREG = 0x35, D_READDEBUGREG = 0x36, D_READALLREGS = 0x3A,
    D_RWSTATUS = 0x3B, D_DRIVE_NRST = 0x3C, D_RWSTATUS2 = 0x3E, D_TRACE_START = 0x40,
    D_TRACE_STOP = 0x41, D_TRACE_NB = 0x42, D_SWD_FREQ = 0x43, D_READ_DAP = 0x45,
    D_WRITE_DAP = 0x46, D_READMEM16 = 0x47, D_WRITEMEM16 = 0x48, D_INIT_AP = 0x4B,
    D_CLOSE_AP = 0x4C, D_RW_MISC_OUT = 0x51, D_RW_MISC_IN = 0x52, D_V3_SET_FREQ = 0x61,
    D_V3_GET_FREQ = 0x62,
    ENTER_SWD = 0xA3, DFU_EXIT = 0x07,
};
enum { MODE_DFU = 0, MODE_MASS = 1, MODE_DEBUG = 2, MODE_SWIM = 3 };
#define ST_OK 0x80u
#define DP_PORT 0xFFFFu
#define TRACE_BUF 4096u
/* RW_MISC batches: items (an address or AP number, a write, a read) per batch on a V2 (a V3
 * takes more; lode keeps to this) */
#define MISC_ITEMS 64u
enum { MISC_ADDRESS = 1, MISC_WRITE = 2, MISC_READ = 3 };

/* SWD clock divisors of V2 firmware (kHz, divisor), fastest first */
static const struct { uint32_t khz; uint16_t div; } swd_map[] = {
    {4000, 0}, {1800, 1}, {1200, 2}, {950, 3}, {480, 7}, {240, 15}, {125, 31}, {100, 40},
    {50, 79}, {25, 158}, {15, 265}, {5, 798},
};

typedef struct shadow_ap_s {
    uint32_t csw, tar;
    bool opened;
} shadow_ap_s;

struct lode_stlink_s {
    lode_stlink_io_s io;
    const lode_log_s *log;
    lode_stlink_version_s ver;
    bool in_debug;
    uint32_t select; /* SELECT as the ADIv5 layer wrote it (never sent) */
    shadow_ap_s ap[256];
    bool ap_wrote; /* the last AP access was a write (its command returned its status) */
    uint32_t last_fault_addr;
    bool trace_on;
    lode_stlink_stats_s stats;
    uint8_t buf[LODE_STLINK_DATA_MAX + 16];
};

/* ---- command plumbing ---------------------------------------------------------------------- */
static int xfer(lode_stlink_s *st, const uint8_t *cmd, lode_stlink_dir_e dir, uint8_t *data,
                size_t len)
{
    uint8_t c[LODE_STLINK_CMD_SIZE];
    memcpy(c, cmd, sizeof c);
    st->stats.commands++;
    if (dir == LODE_STLINK_DIR_OUT)
        st->stats.bytes_out += len;
    else
        st->stats.bytes_in += len;
    int rc = st->io.xfer(st->io.ctx, c, dir, data, len);
    if (rc != LODE_OK)
        lode_log(st->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "ST-Link: command %02x %02x failed: %s",
                 cmd[0], cmd[1], lode_strerror(rc));
    return rc;
}

/* Map an ST-Link status byte to an ACK and an error code. */
static int status_err(uint8_t s, lode_dap_ack_e *ack)
{
    lode_dap_ack_e a = LODE_DAP_ACK_OK;
    int rc = LODE_OK;
    switch (s) {
    case ST_OK:
        break;
    case 0x10: case 0x14: /* SWD AP / DP WAIT */
        a = LODE_DAP_ACK_WAIT, rc = LODE_E_WAIT;
        break;
    case 0x11: case 0x15: case 0x18: case 0x19: case 0x1A: case 0x81: /* faults, sticky errors */
        a = LODE_DAP_ACK_FAULT, rc = LODE_E_FAULT;
        break;
    default: /* parity, protocol, no target, bad AP */
        a = LODE_DAP_ACK_NONE, rc = LODE_E_PROTOCOL;
        break;
    }
    if (ack)
        *ack = a;
    return rc;
}

/* A debug command with a status byte first in a reply of `rlen` bytes. */
static int dbg_cmd(lode_stlink_s *st, uint8_t *cmd, uint8_t *reply, size_t rlen, lode_dap_ack_e *ack)
{
    int rc = xfer(st, cmd, LODE_STLINK_DIR_IN, reply, rlen);
    if (rc != LODE_OK) {
        if (ack)
            *ack = LODE_DAP_ACK_NONE;
        return rc;
    }
    return status_err(reply[0], ack);
}

static void cmd2(uint8_t *c, uint8_t a, uint8_t b)
{
    memset(c, 0, LODE_STLINK_CMD_SIZE);
    c[0] = a;
    c[1] = b;
}

/* ---- version, modes ------------------------------------------------------------------------- */
static int read_version(lode_stlink_s *st)
{
    uint8_t c[16], r[12];
    cmd2(c, C_GET_VERSION, 0);
    int rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 6);
    if (rc != LODE_OK)
        return rc;
    uint16_t w = (uint16_t)(r[0] << 8 | r[1]);
    lode_stlink_version_s *v = &st->ver;
    memset(v, 0, sizeof *v);
    v->hw = (uint8_t)(w >> 12);
    uint8_t x = (uint8_t)((w >> 6) & 0x3F), y = (uint8_t)(w & 0x3F);
    v->vid = lodei_get_le16(r + 2);
    v->pid = lodei_get_le16(r + 4);
    if (v->pid == LODE_STLINK_V21_PID || v->pid == LODE_STLINK_V21_NOMSD_PID) {
        /* V2-1 reports JxMy for STM32 firmware, MxSy for STM8-only firmware */
        if ((x <= 22 && y == 7) || (x >= 25 && y >= 7 && y <= 12))
            v->msd = x, v->swim = y;
        else
            v->jtag = x, v->msd = y;
    } else {
        v->jtag = x, v->swim = y;
    }
    if (v->hw == 3 && x == 0 && y == 0) {
        cmd2(c, C_GET_VERSION_EX, 0);
        if ((rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 12)) != LODE_OK)
            return rc;
        v->hw = r[0], v->swim = r[1], v->jtag = r[2], v->msd = r[3];
        v->vid = lodei_get_le16(r + 8);
        v->pid = lodei_get_le16(r + 10);
    }
    uint32_t f = 0;
    if (v->hw == 2) {
        if (v->jtag >= 13) f |= LODE_STLINK_F_TRACE;
        if (v->jtag >= 15) f |= LODE_STLINK_F_RWSTATUS2;
        if (v->jtag >= 22) f |= LODE_STLINK_F_SWD_FREQ;
        if (v->jtag >= 24) f |= LODE_STLINK_F_DAP_REG;
        if (v->jtag >= 26) f |= LODE_STLINK_F_MEM16;
        if (v->jtag >= 28) f |= LODE_STLINK_F_AP_INIT;
        if (v->jtag >= 32) f |= LODE_STLINK_F_CSW;
    } else if (v->hw >= 3) {
        f |= LODE_STLINK_F_TRACE | LODE_STLINK_F_RWSTATUS2 | LODE_STLINK_F_DAP_REG |
             LODE_STLINK_F_MEM16 | LODE_STLINK_F_AP_INIT | LODE_STLINK_F_V3_FREQ;
        if (v->jtag >= 2) f |= LODE_STLINK_F_CSW;
        if (v->jtag >= 6) f |= LODE_STLINK_F_RW8_512;
    } else {
        lode_log(st->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "ST-Link: hardware version %u is not supported (ST-Link/V1 and unknown versions "
                 "cannot do SWD here); use an ST-Link/V2 or later", v->hw);
        return LODE_E_UNSUPPORTED;
    }
    v->flags = f;
    return LODE_OK;
}

void lode_stlink_version_string(const lode_stlink_version_s *v, char *buf, size_t len)
{
    int n = snprintf(buf, len, "V%uJ%u", v->hw, v->jtag);
    if (n < 0 || (size_t)n >= len)
        return;
    if (v->msd)
        n += snprintf(buf + n, len - (size_t)n, "M%u", v->msd);
    if (n >= 0 && (size_t)n < len && (v->swim || !v->msd))
        snprintf(buf + n, len - (size_t)n, "S%u", v->swim);
}

static int current_mode(lode_stlink_s *st, uint8_t *mode)
{
    uint8_t c[16], r[2];
    cmd2(c, C_GET_MODE, 0);
    int rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 2);
    if (rc == LODE_OK)
        *mode = r[0];
    return rc;
}

static int leave_mode(lode_stlink_s *st)
{
    uint8_t mode = 0xFF, c[16];
    int rc = current_mode(st, &mode);
    if (rc != LODE_OK)
        return rc;
    if (mode == MODE_DFU)
        cmd2(c, C_DFU, DFU_EXIT);
    else if (mode == MODE_DEBUG)
        cmd2(c, C_DEBUG, D_EXIT);
    else
        return LODE_OK;
    return xfer(st, c, LODE_STLINK_DIR_IN, NULL, 0);
}

int lode_stlink_target_voltage(lode_stlink_s *st, double *volts)
{
    if (!st || !volts)
        return LODE_E_INVALID_ARG;
    if (!(st->ver.flags & LODE_STLINK_F_TRACE))
        return LODE_E_UNSUPPORTED;
    uint8_t c[16], r[8];
    cmd2(c, C_GET_VOLTAGE, 0);
    int rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 8);
    if (rc != LODE_OK)
        return rc;
    uint32_t ref = lodei_get_le32(r), meas = lodei_get_le32(r + 4);
    /* the probe measures half the target voltage against its 1.2 V reference */
    *volts = ref ? 2.0 * (double)meas * 1.2 / (double)ref : 0.0;
    return LODE_OK;
}

int lode_stlink_open(const lode_stlink_io_s *io, const lode_log_s *log, lode_stlink_s **out)
{
    if (!io || !io->xfer || !out) {
        if (io && io->close)
            io->close(io->ctx);
        return LODE_E_INVALID_ARG;
    }
    lode_stlink_s *st = calloc(1, sizeof *st);
    if (!st) {
        if (io->close)
            io->close(io->ctx);
        return LODE_E_NOMEM;
    }
    st->io = *io;
    st->log = log;
    int rc = read_version(st);
    if (rc == LODE_OK)
        rc = leave_mode(st);
    if (rc != LODE_OK) {
        lode_stlink_close(st);
        return rc;
    }
    char vs[32];
    lode_stlink_version_string(&st->ver, vs, sizeof vs);
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "ST-Link %s, USB %04x:%04x", vs, st->ver.vid,
             st->ver.pid);
    double volts = 0;
    if (lode_stlink_target_voltage(st, &volts) == LODE_OK) {
        lode_log(log, volts < 1.5 ? LODE_LOG_WARN : LODE_LOG_INFO, LODE_LOGC_PROBE,
                 "ST-Link: target voltage %.2f V%s", volts,
                 volts < 1.5 ? " (too low for reliable debugging: is the target powered?)" : "");
    }
    *out = st;
    return LODE_OK;
}

void lode_stlink_close(lode_stlink_s *st)
{
    if (!st)
        return;
    if (st->in_debug) {
        uint8_t c[16], r[2];
        if (st->ver.flags & LODE_STLINK_F_AP_INIT)
            for (unsigned i = 0; i < 256; i++)
                if (st->ap[i].opened) {
                    cmd2(c, C_DEBUG, D_CLOSE_AP);
                    c[2] = (uint8_t)i;
                    xfer(st, c, LODE_STLINK_DIR_IN, r, 2);
                }
        cmd2(c, C_DEBUG, D_EXIT);
        xfer(st, c, LODE_STLINK_DIR_IN, NULL, 0);
    }
    if (st->io.close)
        st->io.close(st->io.ctx);
    free(st);
}

void lode_stlink_get_version(const lode_stlink_s *st, lode_stlink_version_s *v)
{
    if (st && v)
        *v = st->ver;
}

void lode_stlink_stats(const lode_stlink_s *st, lode_stlink_stats_s *out)
{
    if (st && out)
        *out = st->stats;
}

/* ---- SWD entry ------------------------------------------------------------------------------ */
static int set_clock(lode_stlink_s *st, uint32_t hz, uint32_t *actual)
{
    uint8_t c[16], r[52];
    uint32_t khz = hz / 1000u;
    if (st->ver.flags & LODE_STLINK_F_V3_FREQ) {
        cmd2(c, C_DEBUG, D_V3_GET_FREQ);
        int rc = dbg_cmd(st, c, r, 52, NULL);
        if (rc != LODE_OK)
            return rc;
        unsigned n = r[8] > 10 ? 10 : r[8];
        uint32_t best = 0, slowest = 0;
        for (unsigned i = 0; i < n; i++) {
            uint32_t f = lodei_get_le32(r + 12 + 4 * i);
            if (f && (!slowest || f < slowest))
                slowest = f;
            if (f <= khz && f > best)
                best = f;
        }
        if (!best)
            best = slowest;
        cmd2(c, C_DEBUG, D_V3_SET_FREQ);
        lodei_put_le32(c + 4, best);
        if ((rc = dbg_cmd(st, c, r, 8, NULL)) != LODE_OK)
            return rc;
        *actual = best * 1000u;
        return LODE_OK;
    }
    if (!(st->ver.flags & LODE_STLINK_F_SWD_FREQ)) {
        *actual = 1800000u; /* what older firmware runs at */
        return LODE_OK;
    }
    size_t pick = sizeof swd_map / sizeof swd_map[0] - 1;
    for (size_t i = 0; i < sizeof swd_map / sizeof swd_map[0]; i++)
        if (swd_map[i].khz <= khz) {
            pick = i;
            break;
        }
    cmd2(c, C_DEBUG, D_SWD_FREQ);
    lodei_put_le16(c + 2, swd_map[pick].div);
    int rc = dbg_cmd(st, c, r, 2, NULL);
    if (rc == LODE_OK)
        *actual = swd_map[pick].khz * 1000u;
    return rc;
}

int lode_stlink_connect_swd(lode_stlink_s *st, uint32_t hz, uint32_t *actual_hz)
{
    if (!st)
        return LODE_E_INVALID_ARG;
    uint32_t act = 0;
    int rc = set_clock(st, hz ? hz : 4000000u, &act);
    if (rc != LODE_OK) {
        lode_log(st->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "ST-Link: cannot set the SWD clock");
        return rc;
    }
    uint8_t c[16], r[12];
    cmd2(c, C_DEBUG, D_ENTER);
    c[2] = ENTER_SWD;
    lode_dap_ack_e ack;
    rc = dbg_cmd(st, c, r, 2, &ack);
    if (rc != LODE_OK) {
        lode_log(st->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "ST-Link: entering SWD mode failed (status 0x%02x): check the wiring and the "
                 "target's power", r[0]);
        return rc == LODE_E_IO ? rc : LODE_E_NO_DEVICE;
    }
    st->in_debug = true;
    for (unsigned i = 0; i < 256; i++)
        st->ap[i].opened = false;
    st->select = 0;
    if (actual_hz)
        *actual_hz = act;
    lode_log(st->log, LODE_LOG_INFO, LODE_LOGC_PROBE, "ST-Link: SWD at %u kHz", act / 1000u);
    return LODE_OK;
}

/* ---- DP/AP registers ------------------------------------------------------------------------ */
static int open_ap(lode_stlink_s *st, unsigned ap, lode_dap_ack_e *ack)
{
    if (!(st->ver.flags & LODE_STLINK_F_AP_INIT) || st->ap[ap].opened)
        return LODE_OK;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_INIT_AP);
    c[2] = (uint8_t)ap;
    int rc = dbg_cmd(st, c, r, 2, ack);
    if (rc == LODE_OK)
        st->ap[ap].opened = true;
    return rc;
}

/* Firmware without DAP register access (older than V2J24): the probe owns the debug port and
 * offers memory commands on AP 0 only. The registers lode's ADIv5 layer asks for are answered
 * from what is known without them: DPIDR from READ_IDCODES, CTRL/STAT as powered up (the
 * probe powers the debug port up when it enters SWD mode and keeps it so), BASE as the ROM
 * table address ARMv7-M and ARMv6-M fix (0xE00FF000, present); anything else reads 0 and
 * writes are dropped (the probe clears sticky errors itself). */
static int emul_read(lode_stlink_s *st, uint16_t port, uint16_t addr, uint32_t *v, lode_dap_ack_e *ack)
{
    *v = 0;
    if (port == DP_PORT && (addr & 0xCu) == 0) {
        uint8_t c[16], r[12];
        cmd2(c, C_DEBUG, D_READ_IDCODES);
        int rc = dbg_cmd(st, c, r, 12, ack);
        if (rc == LODE_OK)
            *v = lodei_get_le32(r + 4);
        return rc;
    }
    if (port == DP_PORT && addr == 0x4u)
        *v = 0xF0000000u; /* CSYSPWRUPACK | CSYSPWRUPREQ | CDBGPWRUPACK | CDBGPWRUPREQ */
    else if (port == 0 && addr == 0xF8u)
        *v = 0xE00FF003u;
    if (ack)
        *ack = LODE_DAP_ACK_OK;
    return LODE_OK;
}

static int reg_read(lode_stlink_s *st, uint16_t port, uint16_t addr, uint32_t *v, lode_dap_ack_e *ack)
{
    if (!(st->ver.flags & LODE_STLINK_F_DAP_REG))
        return emul_read(st, port, addr, v, ack);
    uint8_t c[16], r[8];
    cmd2(c, C_DEBUG, D_READ_DAP);
    lodei_put_le16(c + 2, port);
    lodei_put_le16(c + 4, addr);
    int rc = dbg_cmd(st, c, r, 8, ack);
    if (rc == LODE_OK && v)
        *v = lodei_get_le32(r + 4);
    return rc;
}

static int reg_write(lode_stlink_s *st, uint16_t port, uint16_t addr, uint32_t v, lode_dap_ack_e *ack)
{
    if (!(st->ver.flags & LODE_STLINK_F_DAP_REG)) {
        if (ack)
            *ack = LODE_DAP_ACK_OK;
        return LODE_OK; /* see emul_read */
    }
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_WRITE_DAP);
    lodei_put_le16(c + 2, port);
    lodei_put_le16(c + 4, addr);
    lodei_put_le32(c + 6, v);
    return dbg_cmd(st, c, r, 2, ack);
}

/* ---- memory commands ------------------------------------------------------------------------ */
static int rw_status(lode_stlink_s *st, lode_dap_ack_e *ack)
{
    uint8_t c[16], r[12];
    st->stats.status_checks++;
    if (st->ver.flags & LODE_STLINK_F_RWSTATUS2) {
        cmd2(c, C_DEBUG, D_RWSTATUS2);
        int rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 12);
        if (rc != LODE_OK)
            return *ack = LODE_DAP_ACK_NONE, rc;
        rc = status_err(r[0], ack);
        if (rc == LODE_E_FAULT)
            st->last_fault_addr = lodei_get_le32(r + 4);
        return rc;
    }
    cmd2(c, C_DEBUG, D_RWSTATUS);
    int rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 2);
    if (rc != LODE_OK)
        return *ack = LODE_DAP_ACK_NONE, rc;
    return status_err(r[0], ack);
}

static unsigned csw_size(uint32_t csw) { return 1u << (csw & 7u); }

/* One memory command: `n` bytes at `addr` with access size `size` on `ap`. */
static int mem_cmd(lode_stlink_s *st, unsigned ap, uint32_t csw, bool write, unsigned size,
                   uint32_t addr, uint8_t *data, size_t n, lode_dap_ack_e *ack)
{
    uint8_t c[16];
    uint8_t op;
    if (size == 4)
        op = write ? D_WRITEMEM32 : D_READMEM32;
    else if (size == 2)
        op = write ? D_WRITEMEM16 : D_READMEM16;
    else
        op = write ? D_WRITEMEM8 : D_READMEM8;
    bool csw_ok = (st->ver.flags & LODE_STLINK_F_CSW) != 0;
    if (ap != 0 && !csw_ok) {
        lode_log(st->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "ST-Link: memory access on AP %u needs firmware V2J32 or later (update the "
                 "ST-Link firmware with ST's STSW-LINK007)", ap);
        *ack = LODE_DAP_ACK_NONE;
        return LODE_E_UNSUPPORTED;
    }
    int rc = open_ap(st, ap, ack);
    if (rc != LODE_OK)
        return rc;
    cmd2(c, C_DEBUG, op);
    lodei_put_le32(c + 2, addr);
    lodei_put_le16(c + 6, (uint16_t)n);
    if (csw_ok) {
        c[8] = (uint8_t)ap;
        c[9] = (uint8_t)(csw >> 8);
        c[10] = (uint8_t)(csw >> 16);
        c[11] = (uint8_t)(csw >> 24);
    }
    st->stats.mem_commands++;
    if (write)
        rc = xfer(st, c, LODE_STLINK_DIR_OUT, data, n);
    else if (n == 1) {
        uint8_t two[2]; /* a one-byte read comes back as two bytes */
        rc = xfer(st, c, LODE_STLINK_DIR_IN, two, 2);
        data[0] = two[0];
    } else
        rc = xfer(st, c, LODE_STLINK_DIR_IN, data, n);
    if (rc != LODE_OK)
        return *ack = LODE_DAP_ACK_NONE, rc;
    return rw_status(st, ack);
}

/* One 32-bit access on AP 0 with the status in the reply (one round trip). */
static int debug_reg(lode_stlink_s *st, bool write, uint32_t addr, uint32_t *v, lode_dap_ack_e *ack)
{
    uint8_t c[16], r[8];
    int rc = open_ap(st, 0, ack);
    if (rc != LODE_OK)
        return rc;
    st->stats.mem_commands++;
    if (write) {
        cmd2(c, C_DEBUG, D_WRITEDEBUGREG);
        lodei_put_le32(c + 2, addr);
        lodei_put_le32(c + 6, *v);
        rc = dbg_cmd(st, c, r, 2, ack);
    } else {
        cmd2(c, C_DEBUG, D_READDEBUGREG);
        lodei_put_le32(c + 2, addr);
        rc = dbg_cmd(st, c, r, 8, ack);
        if (rc == LODE_OK)
            *v = lodei_get_le32(r + 4);
    }
    if (rc == LODE_E_FAULT)
        st->last_fault_addr = addr;
    return rc;
}

static size_t max_bytes(const lode_stlink_s *st, unsigned size)
{
    if (size == 1)
        return (st->ver.flags & LODE_STLINK_F_RW8_512) ? 512u : 64u;
    return LODE_STLINK_DATA_MAX;
}

static void tar_advance(shadow_ap_s *a, unsigned bytes)
{
    if ((a->csw & 0x30u) == 0x10u) /* AddrInc single: the TAR's low 10 bits count */
        a->tar = (a->tar & ~0x3FFu) | ((a->tar + bytes) & 0x3FFu);
}

/* Execute `n` data-register accesses (DRW when bd < 0, else BDn) of direction `write` on
 * `ap`: words in `w`, one per access (for reads written only when all succeed). */
static int data_access(lode_stlink_s *st, unsigned ap, int bd, bool write, uint32_t *w, size_t n,
                       size_t *done, lode_dap_ack_e *ack)
{
    shadow_ap_s *a = &st->ap[ap];
    unsigned size = csw_size(a->csw);
    *done = 0;
    if (size > 4) {
        lode_log(st->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "ST-Link: unsupported CSW size %u",
                 a->csw & 7u);
        *ack = LODE_DAP_ACK_NONE;
        return LODE_E_UNSUPPORTED;
    }
    if (size == 2 && !(st->ver.flags & LODE_STLINK_F_MEM16) && n > 1) {
        /* no 16-bit commands: one half-word at a time through the 8-bit command */
        for (size_t i = 0; i < n; i++) {
            size_t d1;
            int rc = data_access(st, ap, bd, write, w + i, 1, &d1, ack);
            if (rc != LODE_OK)
                return rc;
            ++*done;
        }
        return LODE_OK;
    }
    bool inc = bd < 0 && (a->csw & 0x30u) == 0x10u;
    while (*done < n) {
        uint32_t addr = bd < 0 ? a->tar : ((a->tar & ~0xFu) | (uint32_t)bd);
        size_t cnt = 1;
        if (inc) {
            size_t room = (0x400u - (addr & 0x3FFu)) / size;
            size_t lim = max_bytes(st, size) / size;
            cnt = n - *done;
            if (cnt > room)
                cnt = room ? room : 1;
            if (cnt > lim)
                cnt = lim;
        }
        uint32_t *ww = w + *done;
        int rc;
        if (size == 4 && cnt == 1 && ap == 0 && (addr & 3u) == 0) {
            rc = debug_reg(st, write, addr, ww, ack);
        } else {
            unsigned lane = size == 4 ? 0 : (addr & (size == 2 ? 2u : 3u));
            unsigned esize = size;
            if (size == 2 && !(st->ver.flags & LODE_STLINK_F_MEM16))
                esize = 1; /* two byte accesses */
            size_t nbytes = cnt * size;
            uint8_t *b = st->buf;
            if (write) {
                for (size_t i = 0; i < cnt; i++) {
                    /* each access of a coalesced run has its own byte lane */
                    unsigned ln = (lane + (unsigned)(i * size)) & 3u;
                    if (size == 4)
                        lodei_put_le32(b + 4 * i, ww[i]);
                    else if (size == 2)
                        lodei_put_le16(b + 2 * i, (uint16_t)(ww[i] >> (8 * ln)));
                    else
                        b[i] = (uint8_t)(ww[i] >> (8 * ln));
                }
            }
            rc = mem_cmd(st, ap, a->csw, write, esize, addr, b, nbytes, ack);
            if (rc == LODE_OK && !write) {
                for (size_t i = 0; i < cnt; i++) {
                    unsigned ln = (lane + (unsigned)(i * size)) & 3u;
                    if (size == 4)
                        ww[i] = lodei_get_le32(b + 4 * i);
                    else if (size == 2)
                        ww[i] = (uint32_t)lodei_get_le16(b + 2 * i) << (8 * ln);
                    else
                        ww[i] = (uint32_t)b[i] << (8 * ln);
                }
            }
        }
        if (rc != LODE_OK) {
            if (rc == LODE_E_FAULT)
                a->tar = st->last_fault_addr; /* what a TAR read during recovery should show */
            return rc;
        }
        if (bd < 0)
            tar_advance(a, (unsigned)(cnt * size));
        *done += cnt;
    }
    return LODE_OK;
}

static bool is_data_reg(unsigned reg) { return reg == 0x0Cu || (reg >= 0x10u && reg <= 0x1Cu); }

/* ---- RW_MISC batches ------------------------------------------------------------------------ */
/* What op_transfer keeps between transfers, as a batch would leave it. */
typedef struct misc_state_s {
    uint32_t select, csw, tar;
    bool ap_wrote;
} misc_state_s;

/* Transfer x against state s: 0 = only the host's shadow changes (SELECT, CSW, TAR, an RDBUFF
 * read after a write), 1 = a single 32-bit data access on AP 0 at *addr, -1 = anything else. */
static int misc_step(misc_state_s *s, const lode_dap_xfer_s *x, uint32_t *addr)
{
    bool rnw = (x->req & LODE_DAP_RNW) != 0;
    unsigned a = LODE_DAP_A(x->req);
    if (x->req & ~(LODE_DAP_APNDP | LODE_DAP_RNW | 0x0Cu))
        return -1;
    if (!(x->req & LODE_DAP_APNDP)) {
        if (!rnw && a == 0x8u) {
            s->select = x->wdata;
            return 0;
        }
        return rnw && a == 0xCu && s->ap_wrote ? 0 : -1;
    }
    unsigned reg = (s->select & 0xF0u) | a;
    if ((s->select >> 24) != 0)
        return -1;
    if (!rnw && (reg == 0x00u || reg == 0x04u)) {
        if (reg == 0x00u)
            s->csw = x->wdata;
        else
            s->tar = x->wdata;
        s->ap_wrote = true;
        return 0;
    }
    if (!is_data_reg(reg) || (s->csw & 7u) != 2u)
        return -1;
    *addr = reg == 0x0Cu ? s->tar : ((s->tar & ~0xFu) | (reg & 0xCu));
    if (*addr & 3u)
        return -1;
    if (reg == 0x0Cu && (s->csw & 0x30u) == 0x10u)
        s->tar = (s->tar & ~0x3FFu) | ((s->tar + 4u) & 0x3FFu);
    s->ap_wrote = !rnw;
    return 1;
}

/* The leading transfers of xf[0..n) as one RW_MISC batch when they hold at least three single
 * 32-bit accesses on AP 0 (fewer are as quick as the debug register commands). A run of DRW
 * accesses with auto-increment is left to the memory commands. LODE_E_UNSUPPORTED: nothing
 * done; else *used transfers done (up to the failing access, whose ACK is in *ack). The
 * probe answers every item with a status word (0x80 OK); the batch's values and statuses come
 * back with RW_MISC_IN. */
static int misc_batch(lode_stlink_s *st, lode_dap_xfer_s *xf, size_t n, size_t *used, lode_dap_ack_e *ack)
{
    if (!(st->ver.flags & LODE_STLINK_F_CSW) || st->io.shared)
        return LODE_E_UNSUPPORTED;
    misc_state_s s = {st->select, st->ap[0].csw, st->ap[0].tar, st->ap_wrote};
    uint32_t addr[MISC_ITEMS];
    size_t at[MISC_ITEMS];
    size_t nacc = 0, items = 0, end = 0, in_run = 0;
    for (size_t j = 0; j < n; j++) {
        misc_state_s t = s;
        uint32_t ad = 0;
        int k = misc_step(&t, &xf[j], &ad);
        if (k < 0)
            break;
        if (k == 1) {
            bool rnw = (xf[j].req & LODE_DAP_RNW) != 0;
            if (!in_run && LODE_DAP_A(xf[j].req) == 0x0Cu && (t.csw & 0x30u) == 0x10u) {
                /* consecutive words through DRW: eight or more are one memory command */
                size_t run = 1;
                while (j + run < n && run < 8 && xf[j + run].req == xf[j].req)
                    run++;
                if (run >= 8)
                    break;
                in_run = run;
            }
            if (in_run)
                in_run--;
            if (items + (rnw ? 1u : 2u) > MISC_ITEMS)
                break;
            items += rnw ? 1u : 2u;
            addr[nacc] = ad;
            at[nacc++] = j;
            end = j + 1;
        }
        s = t;
    }
    if (nacc < 3)
        return LODE_E_UNSUPPORTED;
    int rc = open_ap(st, 0, ack);
    if (rc != LODE_OK) {
        *used = 0;
        return rc;
    }
    /* one command byte per item, padded to a word, then one word per item */
    uint8_t *b = st->buf;
    size_t vals = (items + 3u) & ~(size_t)3;
    memset(b, 0, vals);
    size_t it = 0;
    for (size_t k = 0; k < nacc; k++) {
        const lode_dap_xfer_s *x = &xf[at[k]];
        if (x->req & LODE_DAP_RNW) {
            b[it] = MISC_READ;
            lodei_put_le32(b + vals + 4 * it++, addr[k]);
        } else {
            b[it] = MISC_ADDRESS;
            lodei_put_le32(b + vals + 4 * it++, addr[k]);
            b[it] = MISC_WRITE;
            lodei_put_le32(b + vals + 4 * it++, x->wdata);
        }
    }
    uint8_t c[16];
    cmd2(c, C_DEBUG, D_RW_MISC_OUT);
    lodei_put_le32(c + 2, (uint32_t)items);
    st->stats.mem_commands++;
    rc = xfer(st, c, LODE_STLINK_DIR_OUT, b, vals + 4 * items);
    if (rc == LODE_OK) {
        cmd2(c, C_DEBUG, D_RW_MISC_IN);
        lodei_put_le32(c + 2, (uint32_t)items);
        rc = xfer(st, c, LODE_STLINK_DIR_IN, b, 8 * items);
    }
    if (rc != LODE_OK) {
        *used = 0;
        *ack = LODE_DAP_ACK_NONE;
        return rc;
    }
    /* the first access whose item(s) did not answer OK ends the batch for the caller */
    size_t fail = nacc;
    uint8_t bad = ST_OK;
    it = 0;
    for (size_t k = 0; k < nacc && fail == nacc; k++) {
        unsigned cnt = (xf[at[k]].req & LODE_DAP_RNW) ? 1u : 2u;
        for (unsigned q = 0; q < cnt; q++, it++) {
            uint32_t stw = lodei_get_le32(b + 4 * items + 4 * it);
            if (stw != ST_OK && fail == nacc) {
                fail = k;
                bad = (uint8_t)(stw > 0xFFu ? 0xFFu : stw);
            }
        }
    }
    /* commit what was done: the shadow state and the values read, up to the failing access */
    size_t upto = fail < nacc ? at[fail] : end;
    it = 0;
    for (size_t j = 0; j < upto; j++) {
        misc_state_s t = {st->select, st->ap[0].csw, st->ap[0].tar, st->ap_wrote};
        uint32_t ad = 0;
        int kind = misc_step(&t, &xf[j], &ad);
        st->select = t.select, st->ap[0].csw = t.csw, st->ap[0].tar = t.tar, st->ap_wrote = t.ap_wrote;
        if (kind == 0 && (xf[j].req & LODE_DAP_RNW) && xf[j].rdata)
            *xf[j].rdata = 0; /* RDBUFF after a write: see op_transfer */
        if (kind == 1) {
            bool rnw = (xf[j].req & LODE_DAP_RNW) != 0;
            if (rnw && xf[j].rdata)
                *xf[j].rdata = lodei_get_le32(b + 4 * it);
            it += rnw ? 1u : 2u;
        }
    }
    *used = upto;
    if (fail == nacc) {
        *ack = LODE_DAP_ACK_OK;
        return LODE_OK;
    }
    rc = status_err(bad, ack);
    if (rc == LODE_OK) /* an item status the driver does not know */
        rc = LODE_E_PROTOCOL, *ack = LODE_DAP_ACK_NONE;
    if (rc == LODE_E_FAULT)
        st->last_fault_addr = st->ap[0].tar = addr[fail];
    st->ap_wrote = !(xf[at[fail]].req & LODE_DAP_RNW);
    return rc;
}

/* ---- lode_dap_ops_s --------------------------------------------------------------------------- */
static int op_transfer(void *ctx, lode_dap_xfer_s *xf, size_t n, size_t *done, lode_dap_ack_e *ack)
{
    lode_stlink_s *st = ctx;
    *done = 0;
    *ack = LODE_DAP_ACK_OK;
    uint32_t tmp[256];
    size_t i = 0;
    while (i < n) {
        size_t used = 0;
        int mrc = misc_batch(st, xf + i, n - i, &used, ack);
        if (mrc != LODE_E_UNSUPPORTED) {
            *done += used;
            i += used;
            if (mrc != LODE_OK)
                return mrc;
            continue;
        }
        uint8_t req = xf[i].req;
        bool apa = (req & LODE_DAP_APNDP) != 0, rnw = (req & LODE_DAP_RNW) != 0;
        unsigned a = LODE_DAP_A(req);
        int rc = LODE_OK;
        if (!apa) {
            unsigned bank = st->select & 0xFu;
            if (!rnw && a == 0x8u) {
                st->select = xf[i].wdata; /* SELECT stays with us: the probe selects itself */
            } else if (rnw && a == 0xCu && st->ap_wrote) {
                /* RDBUFF after an AP write (its value UNKNOWN) only flushes the write's error:
                 * the probe's command already returned that status, nothing is pending (one
                 * USB round trip saved after each write) */
                if (xf[i].rdata)
                    *xf[i].rdata = 0;
            } else if (rnw) {
                uint16_t addr = (uint16_t)(a == 0x4u ? (bank << 4 | a) : a);
                uint32_t v = 0;
                rc = reg_read(st, DP_PORT, addr, &v, ack);
                if (rc == LODE_OK && xf[i].rdata)
                    *xf[i].rdata = v;
            } else {
                uint16_t addr = (uint16_t)(a == 0x4u ? (bank << 4 | a) : a);
                uint32_t v = xf[i].wdata;
                if (a == 0x4u && bank == 0)
                    v &= ~1u; /* ORUNDETECT would make the probe's own transfers fail */
                rc = reg_write(st, DP_PORT, addr, v, ack);
            }
            if (rc != LODE_OK)
                return rc;
            ++*done, ++i;
            continue;
        }
        unsigned apsel = st->select >> 24;
        unsigned reg = (st->select & 0xF0u) | a;
        shadow_ap_s *sa = &st->ap[apsel];
        st->ap_wrote = !rnw;
        if (!rnw && reg == 0x00u) {
            sa->csw = xf[i].wdata;
            ++*done, ++i;
            continue;
        }
        if (!rnw && reg == 0x04u) {
            sa->tar = xf[i].wdata;
            ++*done, ++i;
            continue;
        }
        if (rnw && (reg == 0x00u || reg == 0x04u)) {
            if (xf[i].rdata)
                *xf[i].rdata = reg ? sa->tar : sa->csw;
            ++*done, ++i;
            continue;
        }
        if (is_data_reg(reg)) {
            /* coalesce a run of the same access to DRW (auto-increment does the addresses) */
            size_t m = 1;
            if (reg == 0x0Cu)
                while (i + m < n && m < 256 && xf[i + m].req == req)
                    m++;
            for (size_t k = 0; k < m; k++)
                tmp[k] = rnw ? 0 : xf[i + k].wdata;
            size_t d = 0;
            rc = data_access(st, apsel, reg == 0x0Cu ? -1 : (int)(reg & 0xCu), !rnw, tmp, m, &d, ack);
            if (rnw)
                for (size_t k = 0; k < d; k++)
                    if (xf[i + k].rdata)
                        *xf[i + k].rdata = tmp[k];
            *done += d;
            i += d;
            if (rc != LODE_OK)
                return rc;
            continue;
        }
        /* any other AP register: the probe's AP register access */
        if (!(rnw && reg == 0xFCu) && (rc = open_ap(st, apsel, ack)) != LODE_OK)
            return rc;
        if (rnw) {
            uint32_t v = 0;
            rc = reg_read(st, (uint16_t)apsel, (uint16_t)reg, &v, ack);
            if (rc == LODE_OK && xf[i].rdata)
                *xf[i].rdata = v;
        } else {
            rc = reg_write(st, (uint16_t)apsel, (uint16_t)reg, xf[i].wdata, ack);
        }
        if (rc != LODE_OK)
            return rc;
        ++*done, ++i;
    }
    return LODE_OK;
}

static int op_transfer_block(void *ctx, uint8_t req, uint32_t *data, size_t n, size_t *done,
                             lode_dap_ack_e *ack)
{
    lode_stlink_s *st = ctx;
    *done = 0;
    *ack = LODE_DAP_ACK_OK;
    unsigned apsel = st->select >> 24;
    unsigned reg = (st->select & 0xF0u) | LODE_DAP_A(req);
    if (!(req & LODE_DAP_APNDP) || reg != 0x0Cu) {
        /* only DRW blocks are meaningful on an ST-Link; anything else one by one */
        for (size_t k = 0; k < n; k++) {
            lode_dap_xfer_s x = {.req = req, .wdata = data[k], .rdata = &data[k]};
            size_t d = 0;
            int rc = op_transfer(ctx, &x, 1, &d, ack);
            if (rc != LODE_OK)
                return rc;
            ++*done;
        }
        return LODE_OK;
    }
    st->ap_wrote = !(req & LODE_DAP_RNW);
    return data_access(st, apsel, -1, !(req & LODE_DAP_RNW), data, n, done, ack);
}

static int op_swj_sequence(void *ctx, unsigned bits, const uint8_t *data)
{
    (void)ctx, (void)bits, (void)data;
    return LODE_OK; /* the probe does line resets and the JTAG-to-SWD switch itself */
}

static int op_write_abort(void *ctx, uint32_t value)
{
    lode_dap_ack_e ack;
    return reg_write(ctx, DP_PORT, 0, value, &ack);
}

static int op_reset_pin(void *ctx, bool asserted)
{
    lode_stlink_s *st = ctx;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_DRIVE_NRST);
    c[2] = asserted ? 0 : 1;
    return dbg_cmd(st, c, r, 2, NULL);
}

int lode_stlink_dap_ops(lode_stlink_s *st, lode_dap_ops_s *ops)
{
    if (!st || !ops)
        return LODE_E_INVALID_ARG;
    if (!(st->ver.flags & LODE_STLINK_F_DAP_REG)) {
        char vs[32];
        lode_stlink_version_string(&st->ver, vs, sizeof vs);
        lode_log(st->log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                 "ST-Link firmware %s has no direct DAP access (V2J24 or later has): using its "
                 "memory commands on AP 0 only; update it with ST's STSW-LINK007 for the rest", vs);
    }
    memset(ops, 0, sizeof *ops);
    ops->transfer = op_transfer;
    ops->transfer_block = op_transfer_block;
    ops->swj_sequence = op_swj_sequence;
    ops->write_abort = op_write_abort;
    ops->reset_pin = op_reset_pin;
    ops->batches = (st->ver.flags & LODE_STLINK_F_CSW) && !st->io.shared;
    ops->ctx = st;
    return LODE_OK;
}

/* ---- Cortex-M helpers --------------------------------------------------------------------- */
int lode_stlink_read_reg(lode_stlink_s *st, unsigned regsel, uint32_t *val)
{
    if (!st || !val || regsel > 0x7F)
        return LODE_E_INVALID_ARG;
    uint8_t c[16], r[8];
    cmd2(c, C_DEBUG, D_READREG);
    c[2] = (uint8_t)regsel;
    int rc = dbg_cmd(st, c, r, 8, NULL);
    if (rc == LODE_OK)
        *val = lodei_get_le32(r + 4);
    return rc;
}

int lode_stlink_write_reg(lode_stlink_s *st, unsigned regsel, uint32_t val)
{
    if (!st || regsel > 0x7F)
        return LODE_E_INVALID_ARG;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_WRITEREG);
    c[2] = (uint8_t)regsel;
    lodei_put_le32(c + 3, val);
    return dbg_cmd(st, c, r, 2, NULL);
}

int lode_stlink_read_all_regs(lode_stlink_s *st, uint32_t regs[21])
{
    if (!st || !regs)
        return LODE_E_INVALID_ARG;
    uint8_t c[16], r[88];
    cmd2(c, C_DEBUG, D_READALLREGS);
    int rc = dbg_cmd(st, c, r, 88, NULL);
    if (rc == LODE_OK)
        for (unsigned i = 0; i < 21; i++)
            regs[i] = lodei_get_le32(r + 4 + 4 * i);
    return rc;
}

int lode_stlink_reset_system(lode_stlink_s *st)
{
    if (!st)
        return LODE_E_INVALID_ARG;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_RESETSYS);
    return dbg_cmd(st, c, r, 2, NULL);
}

/* ---- SWO ------------------------------------------------------------------------------------ */
int lode_stlink_trace_start(lode_stlink_s *st, uint32_t baud)
{
    if (!st || !baud)
        return LODE_E_INVALID_ARG;
    if (!(st->ver.flags & LODE_STLINK_F_TRACE) || !st->io.trace_read)
        return LODE_E_UNSUPPORTED;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_TRACE_START);
    lodei_put_le16(c + 2, TRACE_BUF);
    lodei_put_le32(c + 4, baud);
    int rc = dbg_cmd(st, c, r, 2, NULL);
    if (rc == LODE_OK)
        st->trace_on = true;
    return rc;
}

int lode_stlink_trace_read(lode_stlink_s *st, uint8_t *buf, size_t cap, size_t *got)
{
    if (!st || !buf || !got)
        return LODE_E_INVALID_ARG;
    *got = 0;
    if (!st->trace_on)
        return LODE_E_STATE;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_TRACE_NB);
    int rc = xfer(st, c, LODE_STLINK_DIR_IN, r, 2);
    if (rc != LODE_OK)
        return rc;
    size_t avail = lodei_get_le16(r);
    if (avail > cap)
        avail = cap;
    if (!avail)
        return LODE_OK;
    st->stats.commands++;
    st->stats.bytes_in += avail;
    rc = st->io.trace_read(st->io.ctx, buf, avail);
    if (rc == LODE_OK)
        *got = avail;
    return rc;
}

int lode_stlink_trace_stop(lode_stlink_s *st)
{
    if (!st)
        return LODE_E_INVALID_ARG;
    if (!st->trace_on)
        return LODE_OK;
    uint8_t c[16], r[2];
    cmd2(c, C_DEBUG, D_TRACE_STOP);
    st->trace_on = false;
    return dbg_cmd(st, c, r, 2, NULL);
}
