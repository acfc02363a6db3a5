/* SPDX-License-Identifier: MIT */
/* A simulated ST-Link/V2 (firmware V2J37S7) on the board's SWD port: the probe firmware's
 * command processor over the public SW-DP transfer API, and a full-speed USB timing model on
 * the board's virtual clock. The command set and reply layouts are those of the public
 * description of the protocol (../shared/PROTOCOLS.md); what the firmware does on the wire
 * for each command is written from ADIv5 (IHI 0031) and the ARMv7-M debug architecture
 * (DDI 0403): a memory command selects the AP, writes CSW and TAR and moves the data through
 * DRW with TAR auto-increment (TAR rewritten at each 1 KiB boundary), AP reads are posted
 * (the last value comes from RDBUFF), core registers go through DCRSR/DCRDR with S_REGRDY
 * polled, and so on. See sim/include/lode/sim.h for the USB model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/sim.h"
#include "lode/stlink.h"
#include "util/bytes.h"

#define PS_PER_US 1000000ull
/* USB timing: full speed (V2: 1 ms frames of 19 packets of 64 bytes) or high speed (V3:
 * 125 us microframes of 13 packets of 512 bytes) */
#define FRAME_PS (p->hw == 3 ? 125ull * PS_PER_US : 1000ull * PS_PER_US)
#define SLOTS_PER_FRAME (p->hw == 3 ? 13u : 19u)
#define SLOT_PS (FRAME_PS / SLOTS_PER_FRAME)
#define MPS (p->hw == 3 ? 512u : 64u)
#define WAIT_RETRIES 64u
#define TRACE_CAP 4096u
#define SIM_STLINK_XFER_MAX 10240u /* a data phase: 6144 + commands, RW_MISC_IN up to 9816 */

enum {
    ST_OK = 0x80, ST_FAULT = 0x81, ST_AP_WAIT = 0x10, ST_AP_FAULT = 0x11, ST_AP_ERROR = 0x12,
    ST_GET_IDCODE_ERROR = 0x09, ST_DP_WAIT = 0x14, ST_DP_FAULT = 0x15, ST_DP_ERROR = 0x16,
    ST_BAD_AP = 0x1D, ST_CORE_RUNNING = 0x80, ST_CORE_HALTED = 0x81,
};

#define DHCSR 0xE000EDF0u
#define DCRSR 0xE000EDF4u
#define DCRDR 0xE000EDF8u
#define AIRCR 0xE000ED0Cu
#define DBGKEY 0xA05F0000u

static const struct { uint32_t khz; uint16_t div; } swd_map[] = {
    {4000, 0}, {1800, 1}, {1200, 2}, {950, 3}, {480, 7}, {240, 15}, {125, 31}, {100, 40},
    {50, 79}, {25, 158}, {15, 265}, {5, 798},
};

struct lode_sim_stlink_s {
    lode_sim_s *sim;
    lode_log_s log;
    uint8_t hw;           /* 2 (ST-Link/V2) or 3 (STLINK-V3) */
    uint8_t jtag_ver, swim_ver;
    uint32_t v3_khz;      /* V3: the SWD frequency set */
    uint16_t pid;
    char serial[33];
    uint8_t mode; /* 0 DFU, 1 mass storage (idle), 2 debug */
    bool ap_open[256];
    uint32_t select;      /* what the probe last wrote to SELECT */
    bool select_known;
    uint8_t last_status;  /* last memory command */
    uint32_t fault_addr;
    bool trace_on;
    uint8_t trace[TRACE_CAP];
    size_t trace_len;
    uint32_t unknown_warned[8];
    /* RW_MISC (0x51/0x52): the results of the last batch, values then status words */
    uint32_t misc_val[1227], misc_st[1227];
    uint32_t misc_n;
    lode_sim_stlink_stats_s stats;
    uint8_t reply[SIM_STLINK_XFER_MAX]; /* the largest reply: RW_MISC_IN of 1227 items */
};

/* ---- SWD helpers -------------------------------------------------------------------------- */
static int swd(lode_sim_stlink_s *p, bool ap, bool rnw, uint8_t a, uint32_t *data)
{
    for (unsigned retry = 0;; retry++) {
        uint32_t d = rnw ? 0 : *data;
        int ack = lode_sim_swd_transfer(p->sim, ap, rnw, a, &d);
        if (ack == LODE_SWD_ACK_OK && rnw)
            *data = d;
        if (ack != LODE_SWD_ACK_WAIT || retry >= WAIT_RETRIES)
            return ack;
    }
}

static uint8_t ack_status(int ack, bool ap)
{
    switch (ack) {
    case LODE_SWD_ACK_OK: return ST_OK;
    case LODE_SWD_ACK_WAIT: return ap ? ST_AP_WAIT : ST_DP_WAIT;
    case LODE_SWD_ACK_FAULT: return ap ? ST_AP_FAULT : ST_DP_FAULT;
    default: return ap ? ST_AP_ERROR : ST_DP_ERROR;
    }
}

static int write_select(lode_sim_stlink_s *p, uint32_t v)
{
    if (p->select_known && p->select == v)
        return LODE_SWD_ACK_OK;
    int ack = swd(p, false, false, 0x8, &v);
    p->select_known = ack == LODE_SWD_ACK_OK;
    p->select = v;
    return ack;
}

/* DP register by ST-Link address (bits 7:4 = DPBANKSEL for address 4). */
static uint8_t dp_access(lode_sim_stlink_s *p, uint16_t addr, bool rnw, uint32_t *v)
{
    uint8_t a = (uint8_t)(addr & 0xCu);
    if (a == 0x4) {
        uint32_t sel = (p->select_known ? p->select : 0) & ~0xFu;
        int ack = write_select(p, sel | ((addr >> 4) & 0xFu));
        if (ack != LODE_SWD_ACK_OK)
            return ack_status(ack, false);
    }
    if (!rnw && a == 0x8) { /* the host's own SELECT */
        int ack = swd(p, false, false, 0x8, v);
        p->select = *v;
        p->select_known = ack == LODE_SWD_ACK_OK;
        return ack_status(ack, false);
    }
    return ack_status(swd(p, false, rnw, a, v), false);
}

static uint8_t ap_select(lode_sim_stlink_s *p, unsigned ap, unsigned reg)
{
    uint32_t sel = (uint32_t)ap << 24 | (reg & 0xF0u);
    return ack_status(write_select(p, sel), false);
}

static uint8_t ap_read(lode_sim_stlink_s *p, unsigned ap, unsigned reg, uint32_t *v)
{
    uint8_t s = ap_select(p, ap, reg);
    if (s != ST_OK)
        return s;
    uint32_t dummy = 0;
    int ack = swd(p, true, true, (uint8_t)(reg & 0xCu), &dummy);
    if (ack != LODE_SWD_ACK_OK)
        return ack_status(ack, true);
    return ack_status(swd(p, false, true, 0xC, v), true); /* RDBUFF */
}

static uint8_t ap_write(lode_sim_stlink_s *p, unsigned ap, unsigned reg, uint32_t v)
{
    uint8_t s = ap_select(p, ap, reg);
    if (s != ST_OK)
        return s;
    return ack_status(swd(p, true, false, (uint8_t)(reg & 0xCu), &v), true);
}

/* After a failed memory access: clear the sticky flags so the next command works. */
static void clear_sticky(lode_sim_stlink_s *p)
{
    uint32_t v = 0x1E;
    swd(p, false, false, 0x0, &v);
}

/* ---- memory --------------------------------------------------------------------------------- */
/* Move `n` bytes at `addr` in accesses of `size` bytes through AP `ap`; `inc` false keeps the
 * address (the NO_ADDR_INC commands). Sets last_status / fault_addr. */
static uint8_t mem_rw(lode_sim_stlink_s *p, unsigned ap, uint32_t csw_hi, bool write, unsigned size,
                      bool inc, uint32_t addr, uint8_t *data, size_t n)
{
    p->stats.mem_commands++;
    uint8_t s = ST_OK;
    if ((addr & (size - 1)) || (n % size)) {
        s = ST_AP_ERROR;
        goto out;
    }
    uint32_t csw = (csw_hi ? (csw_hi & 0xFFFFFF00u) : 0x23000000u) | (inc ? 0x10u : 0u) |
                   (size == 4 ? 2u : size == 2 ? 1u : 0u);
    if ((s = ap_write(p, ap, 0x00, csw)) != ST_OK)
        goto out;
    size_t cnt = n / size;
    uint32_t a = addr;
    bool tar_ok = false;
    uint32_t posted_addr = 0;
    bool have_posted = false;
    for (size_t i = 0; i < cnt; i++) {
        if (!tar_ok) {
            if (have_posted) { /* collect the pending read before moving TAR */
                uint32_t v = 0;
                int ack = swd(p, false, true, 0xC, &v);
                if (ack != LODE_SWD_ACK_OK) {
                    s = ack_status(ack, true), p->fault_addr = posted_addr;
                    goto out;
                }
                size_t k = (posted_addr - addr) / size;
                unsigned lane = (posted_addr & 3u) * 8u;
                if (size == 4) lodei_put_le32(data + 4 * k, v);
                else if (size == 2) lodei_put_le16(data + 2 * k, (uint16_t)(v >> lane));
                else data[k] = (uint8_t)(v >> lane);
                have_posted = false;
            }
            if ((s = ap_write(p, ap, 0x04, a)) != ST_OK)
                goto out;
            tar_ok = true;
        }
        unsigned lane = (a & 3u) * 8u;
        int ack;
        if (write) {
            uint32_t v;
            if (size == 4) v = lodei_get_le32(data + 4 * i);
            else if (size == 2) v = (uint32_t)lodei_get_le16(data + 2 * i) << lane;
            else v = (uint32_t)data[i] << lane;
            ack = swd(p, true, false, 0xC, &v);
        } else {
            uint32_t v = 0;
            ack = swd(p, true, true, 0xC, &v);
            if (ack == LODE_SWD_ACK_OK && have_posted) {
                size_t k = (posted_addr - addr) / size;
                unsigned pl = (posted_addr & 3u) * 8u;
                if (size == 4) lodei_put_le32(data + 4 * k, v);
                else if (size == 2) lodei_put_le16(data + 2 * k, (uint16_t)(v >> pl));
                else data[k] = (uint8_t)(v >> pl);
            }
            posted_addr = a;
            have_posted = true;
        }
        if (ack != LODE_SWD_ACK_OK) {
            s = ack_status(ack, true);
            p->fault_addr = a;
            goto out;
        }
        if (inc) {
            uint32_t next = a + size;
            if ((next & 0x3FFu) == 0)
                tar_ok = false; /* TAR auto-increment covers 1 KiB only */
            a = next;
        }
    }
    if (write) { /* the last write is posted: RDBUFF shows whether it completed */
        uint32_t v = 0;
        int ack = swd(p, false, true, 0xC, &v);
        if (ack != LODE_SWD_ACK_OK)
            s = ack_status(ack, true), p->fault_addr = a - (inc ? size : 0);
    } else if (have_posted) {
        uint32_t v = 0;
        int ack = swd(p, false, true, 0xC, &v);
        if (ack != LODE_SWD_ACK_OK) {
            s = ack_status(ack, true), p->fault_addr = posted_addr;
        } else {
            size_t k = (posted_addr - addr) / size;
            unsigned pl = (posted_addr & 3u) * 8u;
            if (size == 4) lodei_put_le32(data + 4 * k, v);
            else if (size == 2) lodei_put_le16(data + 2 * k, (uint16_t)(v >> pl));
            else data[k] = (uint8_t)(v >> pl);
        }
    }
out:
    if (s == ST_AP_FAULT || s == ST_DP_FAULT)
        clear_sticky(p);
    p->last_status = s;
    return s;
}

static uint8_t read32(lode_sim_stlink_s *p, uint32_t addr, uint32_t *v)
{
    uint8_t b[4] = {0};
    uint8_t s = mem_rw(p, 0, 0, false, 4, true, addr, b, 4);
    *v = lodei_get_le32(b);
    return s;
}

static uint8_t write32(lode_sim_stlink_s *p, uint32_t addr, uint32_t v)
{
    uint8_t b[4];
    lodei_put_le32(b, v);
    return mem_rw(p, 0, 0, true, 4, true, addr, b, 4);
}

static uint8_t wait_regrdy(lode_sim_stlink_s *p)
{
    for (unsigned i = 0; i < 16; i++) {
        uint32_t d = 0;
        uint8_t s = read32(p, DHCSR, &d);
        if (s != ST_OK)
            return s;
        if (d & (1u << 16))
            return ST_OK;
    }
    return ST_FAULT;
}

static uint8_t core_reg_read(lode_sim_stlink_s *p, unsigned regsel, uint32_t *v)
{
    uint8_t s = write32(p, DCRSR, regsel & 0x7Fu);
    if (s == ST_OK)
        s = wait_regrdy(p);
    if (s == ST_OK)
        s = read32(p, DCRDR, v);
    return s;
}

/* ---- the command processor ---------------------------------------------------------------- */
static void warn_unknown(lode_sim_stlink_s *p, uint8_t c0, uint8_t c1)
{
    unsigned key = c0 == 0xF2 ? c1 : 0;
    if (c0 == 0xF2 && (p->unknown_warned[key / 32] >> (key % 32)) & 1u)
        return;
    if (c0 == 0xF2)
        p->unknown_warned[key / 32] |= 1u << (key % 32);
    lode_log(&p->log, LODE_LOG_WARN, LODE_LOGC_SIM, "sim ST-Link: unknown command %02x %02x", c0, c1);
}

static bool need_ap(lode_sim_stlink_s *p, unsigned ap, uint8_t *r)
{
    if (p->ap_open[ap] || (p->hw == 2 && p->jtag_ver < 28)) /* AP init came with J28 */
        return true;
    r[0] = ST_BAD_AP;
    p->last_status = ST_BAD_AP;
    return false;
}

static void trace_pull(lode_sim_stlink_s *p)
{
    if (p->trace_on && p->trace_len < TRACE_CAP)
        p->trace_len += lode_sim_swo_read(p->sim, p->trace + p->trace_len, TRACE_CAP - p->trace_len);
}

/* The debug commands each firmware generation has (the feature history in PROTOCOLS.md:
 * trace and voltage from V2J13, GETLASTRWSTATUS2 J15, SWD clock J22, DAP registers J24,
 * 16-bit memory J26, AP init J28, V3's own clock commands). */
static bool has_command(const lode_sim_stlink_s *p, uint8_t c1)
{
    unsigned j = p->hw == 3 ? 99u : p->jtag_ver;
    switch (c1) {
    case 0x40: case 0x41: case 0x42: return j >= 13;
    case 0x3E: return j >= 15;
    case 0x43: return p->hw == 2 && j >= 22;
    case 0x44: return p->hw == 2 && j >= 24;
    case 0x45: case 0x46: return j >= 24;
    case 0x47: case 0x48: case 0x50: return j >= 26;
    case 0x4B: case 0x4C: return j >= 28;
    case 0x54: return j >= 32 || p->hw == 3;
    case 0x51: case 0x52: return p->hw == 3 ? p->jtag_ver >= 2 : j >= 32;
    case 0x61: case 0x62: return p->hw == 3;
    default: return true;
    }
}

static bool csw_in_commands(const lode_sim_stlink_s *p)
{
    return p->hw == 3 ? p->jtag_ver >= 2 : p->jtag_ver >= 32;
}

/* Execute one command; returns the natural reply length (written to p->reply). */
static size_t process(lode_sim_stlink_s *p, const uint8_t *c, uint8_t *out, size_t out_len)
{
    uint8_t *r = p->reply;
    memset(r, 0, 16);
    switch (c[0]) {
    case 0xFB: /* GET_VERSION_EX (V3 only) */
        if (p->hw != 3)
            break;
        memset(r, 0, 12);
        r[0] = 3, r[1] = 0, r[2] = p->jtag_ver, r[3] = 0, r[4] = 0;
        lodei_put_le16(r + 8, LODE_STLINK_VID);
        lodei_put_le16(r + 10, p->pid);
        return 12;
    case 0xF1: { /* GET_VERSION: a V3 reports 3.0.0 and the rest through GET_VERSION_EX */
        uint16_t w = p->hw == 3 ? (uint16_t)(3u << 12)
                                : (uint16_t)(2u << 12 | (unsigned)(p->jtag_ver & 0x3F) << 6 | (p->swim_ver & 0x3F));
        r[0] = (uint8_t)(w >> 8), r[1] = (uint8_t)w;
        lodei_put_le16(r + 2, LODE_STLINK_VID);
        lodei_put_le16(r + 4, p->pid);
        return 6;
    }
    case 0xF5: /* GET_CURRENT_MODE */
        r[0] = p->mode;
        return 2;
    case 0xF3: /* DFU */
        if (c[1] == 0x07 && p->mode == 0)
            p->mode = 1;
        return 0;
    case 0xF7: /* target voltage: half of 3.3 V against the 1.2 V reference (V2 >= J13) */
        if (p->hw == 2 && p->jtag_ver < 13)
            break;
        lodei_put_le32(r, 1600);
        lodei_put_le32(r + 4, 2200);
        return 8;
    case 0xF2:
        break;
    default:
        warn_unknown(p, c[0], c[1]);
        return 0;
    }
    if (c[0] != 0xF2) { /* an F-command this firmware does not have */
        warn_unknown(p, c[0], c[1]);
        return 0;
    }
    if (!has_command(p, c[1])) {
        warn_unknown(p, c[0], c[1]);
        return 0;
    }
    bool dbg = p->mode == 2;
    switch (c[1]) {
    case 0x30: /* ENTER */
        if (c[2] != 0xA3) { /* only SWD is wired on this board */
            r[0] = ST_GET_IDCODE_ERROR;
            return 2;
        }
        {
            static const uint8_t ones[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
            static const uint8_t j2s[2] = {0x9E, 0xE7}, idle[1] = {0};
            lode_sim_swj_sequence(p->sim, 56, ones);
            lode_sim_swj_sequence(p->sim, 16, j2s);
            lode_sim_swj_sequence(p->sim, 56, ones);
            lode_sim_swj_sequence(p->sim, 8, idle);
            p->select_known = false;
            uint32_t id = 0;
            if (swd(p, false, true, 0x0, &id) != LODE_SWD_ACK_OK) {
                r[0] = ST_GET_IDCODE_ERROR;
                return 2;
            }
            uint32_t v = 0x1E;
            swd(p, false, false, 0x0, &v);
            v = 0;
            write_select(p, 0);
            v = 0x50000000u; /* CSYSPWRUPREQ | CDBGPWRUPREQ */
            swd(p, false, false, 0x4, &v);
            uint32_t cs = 0;
            for (unsigned i = 0; i < 100 && (cs & 0xA0000000u) != 0xA0000000u; i++)
                swd(p, false, true, 0x4, &cs);
            if ((cs & 0xA0000000u) != 0xA0000000u) {
                r[0] = ST_GET_IDCODE_ERROR;
                return 2;
            }
            p->mode = 2;
            memset(p->ap_open, 0, sizeof p->ap_open);
            r[0] = ST_OK;
            return 2;
        }
    case 0x21: /* EXIT */
        p->mode = 1;
        memset(p->ap_open, 0, sizeof p->ap_open);
        return 0;
    case 0x43: { /* SWD_SET_FREQ */
        uint16_t div = lodei_get_le16(c + 2);
        uint32_t khz = 0;
        for (size_t i = 0; i < sizeof swd_map / sizeof swd_map[0]; i++)
            if (swd_map[i].div == div)
                khz = swd_map[i].khz;
        if (!khz) {
            r[0] = ST_FAULT;
            return 2;
        }
        lode_sim_set_swd_hz(p->sim, khz * 1000u);
        r[0] = ST_OK;
        return 2;
    }
    case 0x62: { /* V3 GET_COM_FREQ: the SWD frequencies (kHz) */
        static const uint32_t v3[] = {24000, 8000, 3300, 1000, 200, 50, 5};
        memset(r, 0, 52);
        r[0] = ST_OK;
        r[8] = (uint8_t)(sizeof v3 / sizeof v3[0]);
        for (size_t i = 0; i < sizeof v3 / sizeof v3[0]; i++)
            lodei_put_le32(r + 12 + 4 * i, v3[i]);
        return 52;
    }
    case 0x61: { /* V3 SET_COM_FREQ */
        uint32_t khz = lodei_get_le32(c + 4);
        memset(r, 0, 8);
        if (c[2] != 0 || !khz || khz > 24000) {
            r[0] = ST_FAULT;
            return 8;
        }
        p->v3_khz = khz;
        lode_sim_set_swd_hz(p->sim, khz * 1000u);
        r[0] = ST_OK;
        lodei_put_le32(r + 4, khz);
        return 8;
    }
    case 0x44: /* JTAG_SET_FREQ: accepted, JTAG is not wired */
        r[0] = ST_OK;
        return 2;
    case 0x3C: /* DRIVE_NRST */
        if (c[2] == 0)
            lode_sim_nrst(p->sim, true);
        else if (c[2] == 1)
            lode_sim_nrst(p->sim, false);
        else {
            lode_sim_nrst(p->sim, true);
            lode_sim_advance(p->sim, 100 * PS_PER_US);
            lode_sim_nrst(p->sim, false);
        }
        r[0] = ST_OK;
        return 2;
    default:
        break;
    }
    if (!dbg) {
        /* debug commands outside debug mode: the firmware answers with an error */
        r[0] = ST_FAULT;
        return c[1] == 0x31 || c[1] == 0x33 || c[1] == 0x36 || c[1] == 0x45 ? 8 : 2;
    }
    switch (c[1]) {
    case 0x31: { /* READ_IDCODES */
        uint32_t id = 0;
        r[0] = dp_access(p, 0, true, &id);
        if (r[0] != ST_OK)
            r[0] = ST_GET_IDCODE_ERROR;
        lodei_put_le32(r + 4, id);
        return 12;
    }
    case 0x01: { /* GETSTATUS */
        uint32_t d = 0;
        r[0] = read32(p, DHCSR, &d) == ST_OK && (d & (1u << 17)) ? ST_CORE_HALTED : ST_CORE_RUNNING;
        return 2;
    }
    case 0x02: /* FORCEDEBUG */
        r[0] = write32(p, DHCSR, DBGKEY | 3u);
        return 2;
    case 0x09: /* RUNCORE */
        r[0] = write32(p, DHCSR, DBGKEY | 1u);
        return 2;
    case 0x0A: /* STEPCORE */
        r[0] = write32(p, DHCSR, DBGKEY | 0xDu);
        return 2;
    case 0x32: /* RESETSYS */
        r[0] = write32(p, AIRCR, 0x05FA0004u);
        return 2;
    case 0x33: { /* READREG */
        uint32_t v = 0;
        r[0] = core_reg_read(p, c[2], &v);
        lodei_put_le32(r + 4, v);
        return 8;
    }
    case 0x34: { /* WRITEREG */
        uint8_t s = write32(p, DCRDR, lodei_get_le32(c + 3));
        if (s == ST_OK)
            s = write32(p, DCRSR, (1u << 16) | (c[2] & 0x7Fu));
        if (s == ST_OK)
            s = wait_regrdy(p);
        r[0] = s;
        return 2;
    }
    case 0x3A: { /* READALLREGS: R0-R15, xPSR, MSP, PSP, (reserved), CONTROL/../PRIMASK */
        uint8_t s = ST_OK;
        memset(r, 0, 88);
        for (unsigned i = 0; i < 21 && s == ST_OK; i++) {
            uint32_t v = 0;
            if (i != 19)
                s = core_reg_read(p, i, &v);
            lodei_put_le32(r + 4 + 4 * i, v);
        }
        r[0] = s;
        return 88;
    }
    case 0x35: /* WRITEDEBUGREG */
        r[0] = write32(p, lodei_get_le32(c + 2), lodei_get_le32(c + 6));
        return 2;
    case 0x36: { /* READDEBUGREG */
        uint32_t v = 0;
        r[0] = read32(p, lodei_get_le32(c + 2), &v);
        lodei_put_le32(r + 4, v);
        return 8;
    }
    case 0x3B: /* GETLASTRWSTATUS */
        r[0] = p->last_status;
        return 2;
    case 0x3E: /* GETLASTRWSTATUS2 */
        memset(r, 0, 12);
        r[0] = p->last_status;
        lodei_put_le32(r + 4, p->last_status == ST_OK ? 0 : p->fault_addr);
        return 12;
    case 0x4B: { /* INIT_AP */
        uint32_t idr = 0;
        uint8_t s = ap_read(p, c[2], 0xFC, &idr);
        if (s == ST_OK && idr == 0)
            s = ST_BAD_AP;
        if (s == ST_OK)
            p->ap_open[c[2]] = true;
        r[0] = s;
        return 2;
    }
    case 0x4C: /* CLOSE_AP_DBG */
        p->ap_open[c[2]] = false;
        r[0] = ST_OK;
        return 2;
    case 0x45: { /* READ_DAP_REG */
        uint16_t port = lodei_get_le16(c + 2), addr = lodei_get_le16(c + 4);
        uint32_t v = 0;
        if (port == 0xFFFF)
            r[0] = dp_access(p, addr, true, &v);
        else if (port > 255 || (addr != 0xFC && !need_ap(p, port, r)))
            r[0] = ST_BAD_AP;
        else
            r[0] = ap_read(p, port, addr & 0xFCu, &v);
        lodei_put_le32(r + 4, v);
        return 8;
    }
    case 0x46: { /* WRITE_DAP_REG */
        uint16_t port = lodei_get_le16(c + 2), addr = lodei_get_le16(c + 4);
        uint32_t v = lodei_get_le32(c + 6);
        if (port == 0xFFFF)
            r[0] = dp_access(p, addr, false, &v);
        else if (port > 255 || !need_ap(p, port, r))
            r[0] = ST_BAD_AP;
        else
            r[0] = ap_write(p, port, addr & 0xFCu, v);
        return 2;
    }
    case 0x07: case 0x08: case 0x0C: case 0x0D: case 0x47: case 0x48: case 0x50: case 0x54: {
        uint32_t addr = lodei_get_le32(c + 2);
        uint16_t len = lodei_get_le16(c + 6);
        /* AP number and CSW in the command from V2J32 / V3J2; before, AP 0 and the default */
        unsigned ap = csw_in_commands(p) ? c[8] : 0;
        uint32_t csw_hi = csw_in_commands(p)
                              ? (uint32_t)c[9] << 8 | (uint32_t)c[10] << 16 | (uint32_t)c[11] << 24
                              : 0;
        bool write = c[1] == 0x08 || c[1] == 0x0D || c[1] == 0x48 || c[1] == 0x50;
        unsigned size = (c[1] == 0x0C || c[1] == 0x0D) ? 1 : (c[1] == 0x47 || c[1] == 0x48) ? 2 : 4;
        bool inc = c[1] != 0x50 && c[1] != 0x54;
        size_t lim = size == 1 ? (p->hw == 3 && p->jtag_ver >= 6 ? 512u : 64u) : LODE_STLINK_DATA_MAX;
        size_t rl = write ? 0 : (len == 1 ? 2 : len);
        if (len > lim || (write && out_len < len)) {
            p->last_status = ST_AP_ERROR;
            return 0; /* no reply data (the IN phase is zero padded); len may exceed p->reply */
        }
        memset(r, 0, rl);
        if (!need_ap(p, ap, r))
            return rl;
        if (write && len)
            memcpy(r, out, len); /* out is NULL for a write sent as an IN transfer (len 0) */
        mem_rw(p, ap, csw_hi, write, size, inc, addr, r, len);
        if (write)
            return 0;
        return rl;
    }
    case 0x51: { /* RW_MISC_OUT: a batch of 32-bit accesses (V2J32+, V3J2+). Data: one command
                  * byte per item (1 address, 2 write at the address, 3 read at the value,
                  * 5 AP number) padded to 4, then one 32-bit value per item. */
        uint32_t items = lodei_get_le32(c + 2);
        uint32_t maxi = p->hw == 3 ? 1227u : 64u;
        size_t need = ((size_t)items + 3u) / 4u * 4u + 4u * (size_t)items;
        p->misc_n = 0;
        if (items == 0 || items > maxi || out_len < need) {
            p->last_status = ST_AP_ERROR;
            return 0;
        }
        const uint8_t *vals = out + (items + 3u) / 4u * 4u;
        unsigned ap = 0;
        uint32_t addr = 0;
        for (uint32_t i = 0; i < items; i++) {
            uint32_t v = lodei_get_le32(vals + 4 * i), res = 0;
            uint8_t st = ST_OK;
            uint8_t b[4];
            switch (out[i]) {
            case 1:
                addr = v;
                break;
            case 2:
                if (!p->ap_open[ap] && !need_ap(p, ap, b))
                    st = ST_BAD_AP;
                else {
                    lodei_put_le32(b, v);
                    st = mem_rw(p, ap, 0, true, 4, true, addr, b, 4);
                }
                break;
            case 3:
                if (!p->ap_open[ap] && !need_ap(p, ap, b))
                    st = ST_BAD_AP;
                else {
                    st = mem_rw(p, ap, 0, false, 4, true, v, b, 4);
                    res = lodei_get_le32(b);
                }
                break;
            case 5:
                ap = v & 0xFFu;
                break;
            default:
                st = ST_FAULT;
                break;
            }
            p->misc_val[i] = res;
            p->misc_st[i] = st;
        }
        p->misc_n = items;
        return 0;
    }
    case 0x52: { /* RW_MISC_IN: the values and status words of the last batch */
        size_t n = (size_t)p->misc_n;
        for (size_t i = 0; i < n; i++) {
            lodei_put_le32(r + 4 * i, p->misc_val[i]);
            lodei_put_le32(r + 4 * n + 4 * i, p->misc_st[i]);
        }
        return 8 * n;
    }
    case 0x40: /* START_TRACE_RX */
        p->trace_on = true;
        p->trace_len = 0;
        r[0] = ST_OK;
        return 2;
    case 0x41: /* STOP_TRACE_RX */
        p->trace_on = false;
        r[0] = ST_OK;
        return 2;
    case 0x42: /* GET_TRACE_NB */
        trace_pull(p);
        lodei_put_le16(r, (uint16_t)p->trace_len);
        return 2;
    default:
        warn_unknown(p, c[0], c[1]);
        return 0;
    }
}

/* ---- USB timing -------------------------------------------------------------------------- */
static void advance_to(lode_sim_stlink_s *p, uint64_t t)
{
    uint64_t now = lode_sim_now(p->sim);
    if (t > now)
        lode_sim_advance(p->sim, t - now);
}

/* Time at which `packets` bulk packets, the first sent no earlier than `t`, have all moved. */
static uint64_t bus_move(const lode_sim_stlink_s *p, uint64_t t, uint64_t packets)
{
    uint64_t frame = t / FRAME_PS, slot = (t % FRAME_PS + SLOT_PS - 1) / SLOT_PS;
    uint64_t end = t;
    while (packets) {
        if (slot >= SLOTS_PER_FRAME) {
            frame++;
            slot = 0;
        }
        uint64_t take = SLOTS_PER_FRAME - slot;
        if (take > packets)
            take = packets;
        slot += take;
        packets -= take;
        end = frame * FRAME_PS + slot * SLOT_PS;
    }
    return end;
}

static uint64_t npackets(const lode_sim_stlink_s *p, size_t len) { return len ? (len + MPS - 1) / MPS : 1; }

int lode_sim_stlink_command(lode_sim_stlink_s *p, const uint8_t cmd[16], int dir, uint8_t *data,
                            size_t len)
{
    if (!p || !cmd || (len && !data) || len > SIM_STLINK_XFER_MAX)
        return LODE_E_INVALID_ARG;
    p->stats.commands++;
    /* a new transfer starts at the next frame; command and data go out back to back */
    uint64_t now = lode_sim_now(p->sim);
    uint64_t start = (now + FRAME_PS - 1) / FRAME_PS * FRAME_PS;
    uint64_t out_pk = 1 + (dir == LODE_STLINK_DIR_OUT && len ? npackets(p, len) : 0);
    advance_to(p, bus_move(p, start, out_pk));
    size_t rl = process(p, cmd, dir == LODE_STLINK_DIR_OUT ? data : NULL,
                        dir == LODE_STLINK_DIR_OUT ? len : 0);
    if (p->log.fn && p->log.max_level >= LODE_LOG_DEBUG)
        lode_log(&p->log, LODE_LOG_DEBUG, LODE_LOGC_SIM,
                 "sim ST-Link: %02x %02x %02x%02x%02x%02x %02x%02x %02x%02x%02x%02x %s %zu -> "
                 "%02x%02x%02x%02x %02x%02x%02x%02x %02x%02x%02x%02x",
                 cmd[0], cmd[1], cmd[2], cmd[3], cmd[4], cmd[5], cmd[6], cmd[7], cmd[8], cmd[9],
                 cmd[10], cmd[11], dir == LODE_STLINK_DIR_OUT ? "out" : "in", len, p->reply[0],
                 p->reply[1], p->reply[2], p->reply[3], p->reply[4], p->reply[5], p->reply[6], p->reply[7],
                 dir == LODE_STLINK_DIR_OUT && len >= 4 ? data[0] : 0,
                 dir == LODE_STLINK_DIR_OUT && len >= 4 ? data[1] : 0,
                 dir == LODE_STLINK_DIR_OUT && len >= 4 ? data[2] : 0,
                 dir == LODE_STLINK_DIR_OUT && len >= 4 ? data[3] : 0);
    if (dir == LODE_STLINK_DIR_IN && len) {
        size_t n = rl < len ? rl : len;
        memcpy(data, p->reply, n);
        memset(data + n, 0, len - n);
        advance_to(p, bus_move(p, lode_sim_now(p->sim), npackets(p, len)));
    }
    return LODE_OK;
}

int lode_sim_stlink_trace(lode_sim_stlink_s *p, uint8_t *buf, size_t len)
{
    if (!p || (len && !buf))
        return LODE_E_INVALID_ARG;
    p->stats.commands++;
    trace_pull(p);
    size_t n = len < p->trace_len ? len : p->trace_len;
    memcpy(buf, p->trace, n);
    memset(buf + n, 0, len - n);
    memmove(p->trace, p->trace + n, p->trace_len - n);
    p->trace_len -= n;
    uint64_t now = lode_sim_now(p->sim);
    uint64_t start = (now + FRAME_PS - 1) / FRAME_PS * FRAME_PS;
    advance_to(p, bus_move(p, start, npackets(p, len)));
    return LODE_OK;
}

void lode_sim_stlink_stats(const lode_sim_stlink_s *p, lode_sim_stlink_stats_s *out)
{
    if (p && out)
        *out = p->stats;
}

lode_sim_s *lode_sim_stlink_board(const lode_sim_stlink_s *p) { return p ? p->sim : NULL; }
const char *lode_sim_stlink_serial(const lode_sim_stlink_s *p) { return p ? p->serial : NULL; }
uint16_t lode_sim_stlink_pid(const lode_sim_stlink_s *p) { return p ? p->pid : 0; }

static int io_xfer(void *ctx, const uint8_t cmd[LODE_STLINK_CMD_SIZE], lode_stlink_dir_e dir,
                   uint8_t *data, size_t len)
{
    return lode_sim_stlink_command(ctx, cmd, dir, data, len);
}

static int io_trace(void *ctx, uint8_t *buf, size_t len) { return lode_sim_stlink_trace(ctx, buf, len); }

void lode_sim_stlink_io(lode_sim_stlink_s *p, lode_stlink_io_s *io)
{
    memset(io, 0, sizeof *io);
    io->xfer = io_xfer;
    io->trace_read = io_trace;
    io->ctx = p;
}

int lode_sim_stlink_new(lode_sim_s *sim, const lode_sim_stlink_config_s *cfg, lode_sim_stlink_s **out)
{
    if (!sim || !out)
        return LODE_E_INVALID_ARG;
    lode_sim_stlink_s *p = calloc(1, sizeof *p);
    if (!p)
        return LODE_E_NOMEM;
    p->sim = sim;
    p->hw = 2;
    p->jtag_ver = 37;
    p->swim_ver = 7;
    p->pid = LODE_STLINK_V2_PID;
    if (cfg && cfg->hw_version == 3) {
        p->hw = 3;
        p->jtag_ver = 7;
        p->swim_ver = 0;
        p->pid = LODE_STLINK_V3E_PID;
    }
    snprintf(p->serial, sizeof p->serial, "%s", "LODESIMSTLINK0000001");
    if (cfg) {
        p->log = cfg->log;
        if (cfg->jtag_version)
            p->jtag_ver = cfg->jtag_version;
        if (cfg->serial && *cfg->serial)
            snprintf(p->serial, sizeof p->serial, "%s", cfg->serial);
    }
    p->mode = 0; /* an ST-Link/V2 comes up in its DFU-capable idle mode */
    p->last_status = ST_OK;
    *out = p;
    return LODE_OK;
}

void lode_sim_stlink_free(lode_sim_stlink_s *p) { free(p); }
