/* SPDX-License-Identifier: MIT */
/* GDB remote-protocol server over lode_core_ops_s; see include/lode/gdbserver.h. Written from
 * the GDB manual's "Remote Protocol" appendix. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/image.h"
#include "lode/gdbserver.h"
#include "lode/loader.h"
#include "lode/target.h"
#include "lode/rsp.h"
#include "lode/stream.h"
#include "run/halt.h"
#include "util/hex.h"

#define REPLY_MAX LODE_RSP_MAX_PACKET
#define MAX_POINTS 32
#define NREGS_CORE 17u
#define NREGS_FPU 34u /* 17 + d0-d15 (17-32) + fpscr (33) */
#define REG_FPSCR 33u

typedef struct gdb_point_s {
    uint32_t addr, len;
    int kind;          /* 0 breakpoint, else watch kind (1 read, 2 write, 3 access) */
    unsigned refs;
    uint32_t last;     /* watch: the value when the core was resumed */
    bool soft;         /* breakpoint: a BKPT written over `saved` */
    uint8_t saved[2];
} gdb_point_s;

/* ARMv7-M B3.1 (and ARMv6-M): the SRAM region; code there can be patched with BKPT, and the
 * FPB of ARMv7-M FPBv1 cannot match it. Flash sits in the Code region below. */
#define SRAM_REGION_LO 0x20000000u
#define SRAM_REGION_HI 0x40000000u

typedef enum srv_end_e { SRV_GO = 0, SRV_DETACHED, SRV_KILLED, SRV_CLOSED } srv_end_e;

#define MAX_FLASH_BUFS 16
#define MC_LINE 256u
#define MC_LINES 4u

typedef struct srv_s {
    const lode_gdbserver_config_s *cfg;
    const lode_core_ops_s *c;
    lode_stream_s *io, *listener; /* the client; the listener (NULL: none) */
    bool noack;
    bool running;
    bool stepping;
    bool interrupt;    /* 0x03 seen while running */
    srv_end_e end;
    int err;           /* first target error that ends serving */
    char last_stop[64];
    gdb_point_s pts[MAX_POINTS];
    size_t npts;
    char reply[REPLY_MAX + 1];
    uint8_t out[LODE_RSP_ENCODED_MAX(REPLY_MAX)];
    size_t out_len;    /* the last packet sent (for '-') */
    lode_rsp_decoder_s dec;
    /* GDB `load`: erased ranges and what was written into them, flashed at vFlashDone */
    struct flash_buf_s {
        uint32_t addr, len;
        uint8_t *data;
    } fl[MAX_FLASH_BUFS];
    size_t nfl;
    bool sh_off; /* `monitor semihosting off`: BKPT 0xAB is reported to GDB as SIGTRAP */
    bool sh_gdb; /* `monitor semihosting gdb` / config: I/O calls go to GDB as File-I/O */
    struct {     /* a semihosting call forwarded as File-I/O, waiting for GDB's F reply */
        bool pending, after_step;
        uint32_t op, pc, handle, len, scratch;
    } fio;
    uint32_t fio_errno; /* the last F reply's errno, for SYS_ERRNO */
    bool rtt_off;       /* `monitor rtt off` */
    bool vc_hardfault;  /* the server set the HardFault vector catch (cleared when the client goes) */
    /* reads of flash while the core is halted: GDB re-reads the same few bytes around the pc
     * many times per step; flash changes only through this server (or the running firmware) */
    struct {
        uint32_t lo, hi;
    } fr[8];
    size_t nfr;
    bool fr_known;
    struct {
        bool valid;
        uint32_t addr;
        uint8_t data[MC_LINE];
    } mc[MC_LINES];
    unsigned mc_next;
    unsigned rtt_tries; /* polls since the last attach attempt */
} srv_s;

static const char *const k_hex = "0123456789abcdef";

/* ---- output ---- */

static void send_raw(srv_s *s, const void *data, size_t len)
{
    if (s->end != SRV_CLOSED && lode_stream_write(s->io, data, len) != LODE_OK)
        s->end = SRV_CLOSED;
}

static void send_packet(srv_s *s, const char *payload, size_t len)
{
    if (lode_rsp_encode((const uint8_t *)payload, len, s->out, sizeof s->out, &s->out_len) != LODE_OK)
        return;
    send_raw(s, s->out, s->out_len);
}

static void send_str(srv_s *s, const char *str) { send_packet(s, str, strlen(str)); }

static void send_console(srv_s *s, const char *text)
{
    size_t n = strlen(text);
    if (n > (REPLY_MAX - 1) / 2)
        n = (REPLY_MAX - 1) / 2;
    s->reply[0] = 'O';
    size_t w = 0;
    lode_rsp_hex_encode((const uint8_t *)text, n, s->reply + 1, REPLY_MAX - 1, &w);
    send_packet(s, s->reply, w + 1);
}

/* ---- parsing ---- */

/* Parse hex at *p up to a non-hex character; at least one digit, at most 8. */
static bool parse_hex32(const char **p, const char *end, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    while (*p < end && lodei_hexval((unsigned char)**p) >= 0) {
        if (++n > 8)
            return false;
        v = (v << 4) | (uint32_t)lodei_hexval((unsigned char)**p);
        (*p)++;
    }
    if (n == 0)
        return false;
    *out = v;
    return true;
}

static bool expect(const char **p, const char *end, char ch)
{
    if (*p >= end || **p != ch)
        return false;
    (*p)++;
    return true;
}

static void put_le32_hex(char *o, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        uint8_t b = (uint8_t)(v >> (8 * i));
        o[2 * i] = k_hex[b >> 4];
        o[2 * i + 1] = k_hex[b & 15];
    }
}

static bool get_le32_hex(const char *in, uint32_t *v)
{
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        int hi = lodei_hexval((unsigned char)in[2 * i]), lo = lodei_hexval((unsigned char)in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        r |= (uint32_t)(hi << 4 | lo) << (8 * i);
    }
    *v = r;
    return true;
}

/* ---- registers: GDB numbers 0-15 r0-pc, 16 xpsr, [17-32 d0-d15, 33 fpscr with an FPU],
 * then msp, psp (org.gnu.gdb.arm.m-system), primask, basepri, faultmask, control ---- */

#define NREGS_SYS 6u
static const unsigned k_sys_sel[NREGS_SYS] = {17u /* MSP */, 18u /* PSP */, 0x200u, 0x201u,
                                               0x202u, 0x203u};
static const char *const k_sys_name[NREGS_SYS] = {"msp", "psp", "primask", "basepri",
                                                  "faultmask", "control"};

static unsigned sys_base(const srv_s *s) { return s->cfg->fpu ? NREGS_FPU : NREGS_CORE; }
static unsigned nregs(const srv_s *s) { return sys_base(s) + NREGS_SYS; }
static bool is_dreg(const srv_s *s, unsigned n) { return s->cfg->fpu && n >= 17 && n <= 32; }
static unsigned reg_size(const srv_s *s, unsigned n) { return is_dreg(s, n) ? 8u : 4u; }

/* lode register selector (cortexm.h) of a 32-bit GDB register */
static unsigned reg_sel(const srv_s *s, unsigned n)
{
    if (n >= sys_base(s))
        return k_sys_sel[n - sys_base(s)];
    return n == REG_FPSCR ? 33u : n;
}

/* Read GDB register n into 8 little-endian bytes' worth of hex at o; returns characters. */
static int reg_get(srv_s *s, unsigned n, char *o, size_t *chars)
{
    const lode_core_ops_s *c = s->c;
    int rc;
    if (is_dreg(s, n)) {
        uint32_t lo = 0, hi = 0;
        unsigned base = 64 + 2 * (n - 17);
        if ((rc = c->reg_read(c->ctx, base, &lo)) != LODE_OK || (rc = c->reg_read(c->ctx, base + 1, &hi)) != LODE_OK)
            return rc;
        put_le32_hex(o, lo);
        put_le32_hex(o + 8, hi);
        *chars = 16;
        return LODE_OK;
    }
    uint32_t v = 0;
    if ((rc = c->reg_read(c->ctx, reg_sel(s, n), &v)) != LODE_OK)
        return rc;
    put_le32_hex(o, v);
    *chars = 8;
    return LODE_OK;
}

static int reg_set(srv_s *s, unsigned n, const char *in)
{
    const lode_core_ops_s *c = s->c;
    uint32_t lo, hi;
    if (!get_le32_hex(in, &lo))
        return LODE_E_PROTOCOL;
    if (is_dreg(s, n)) {
        if (!get_le32_hex(in + 8, &hi))
            return LODE_E_PROTOCOL;
        unsigned base = 64 + 2 * (n - 17);
        int rc = c->reg_write(c->ctx, base, lo);
        return rc != LODE_OK ? rc : c->reg_write(c->ctx, base + 1, hi);
    }
    return c->reg_write(c->ctx, reg_sel(s, n), lo);
}

static void cmd_g(srv_s *s)
{
    const lode_core_ops_s *c = s->c;
    uint32_t v[NREGS_CORE];
    static const unsigned sel[NREGS_CORE] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    int rc = LODE_OK;
    if (c->regs_read) {
        rc = c->regs_read(c->ctx, sel, v, NREGS_CORE);
    } else {
        for (unsigned i = 0; i < NREGS_CORE && rc == LODE_OK; i++)
            rc = c->reg_read(c->ctx, i, &v[i]);
    }
    if (rc != LODE_OK) {
        send_str(s, "E01");
        return;
    }
    size_t w = 0;
    for (unsigned i = 0; i < NREGS_CORE; i++, w += 8)
        put_le32_hex(s->reply + w, v[i]);
    for (unsigned i = NREGS_CORE; i < nregs(s); i++) {
        size_t n = 0;
        if (reg_get(s, i, s->reply + w, &n) != LODE_OK) {
            memset(s->reply + w, 'x', 2 * reg_size(s, i)); /* unavailable */
            n = 2 * reg_size(s, i);
        }
        w += n;
    }
    send_packet(s, s->reply, w);
}

static void cmd_G(srv_s *s, const char *p, size_t len)
{
    if (len < NREGS_CORE * 8) {
        send_str(s, "E01");
        return;
    }
    size_t off = 0;
    for (unsigned i = 0; i < nregs(s) && off + 2 * reg_size(s, i) <= len; i++) {
        if (p[off] != 'x' && reg_set(s, i, p + off) != LODE_OK) {
            send_str(s, "E01");
            return;
        }
        off += 2 * reg_size(s, i);
    }
    send_str(s, "OK");
}

static void cmd_p(srv_s *s, const char *p, const char *end)
{
    uint32_t n;
    size_t chars = 0;
    if (!parse_hex32(&p, end, &n) || p != end) {
        send_str(s, "E01");
        return;
    }
    if (n >= nregs(s)) {
        send_str(s, "E01");
        return;
    }
    if (reg_get(s, n, s->reply, &chars) != LODE_OK) {
        send_str(s, "E01");
        return;
    }
    send_packet(s, s->reply, chars);
}

static void cmd_P(srv_s *s, const char *p, const char *end)
{
    uint32_t n;
    if (!parse_hex32(&p, end, &n) || !expect(&p, end, '=') || n >= nregs(s) ||
        (size_t)(end - p) < 2 * reg_size(s, n)) {
        send_str(s, "E01");
        return;
    }
    send_str(s, reg_set(s, n, p) == LODE_OK ? "OK" : "E01");
}

/* ---- memory ---- */

static void mc_invalidate(srv_s *s)
{
    for (unsigned i = 0; i < MC_LINES; i++)
        s->mc[i].valid = false;
}

static bool in_flash(srv_s *s, uint32_t addr, uint32_t len)
{
    if (!s->fr_known) {
        s->fr_known = true;
        lode_flash_layout_s *lay = NULL;
        if (s->cfg->chip && lode_flash_layout_for_chip(s->cfg->chip, NULL, &lay) == LODE_OK) {
            for (size_t i = 0; i < lay->nregions && s->nfr < 8; i++) {
                s->fr[s->nfr].lo = lay->regions[i].start;
                s->fr[s->nfr].hi = lay->regions[i].end;
                s->nfr++;
            }
            lode_flash_layout_free(lay);
        }
    }
    for (size_t i = 0; i < s->nfr; i++)
        if (addr >= s->fr[i].lo && (uint64_t)addr + len <= s->fr[i].hi)
            return true;
    return false;
}

/* A read of flash within one cache line, from the cache (filled with one probe read). */
static int mc_read(srv_s *s, uint32_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t line = addr & ~(MC_LINE - 1u);
    for (unsigned i = 0; i < MC_LINES; i++) {
        if (s->mc[i].valid && s->mc[i].addr == line) {
            memcpy(buf, s->mc[i].data + (addr - line), len);
            return LODE_OK;
        }
    }
    unsigned k = s->mc_next++ % MC_LINES;
    int rc = s->c->mem_read(s->c->ctx, line, s->mc[k].data, MC_LINE);
    if (rc != LODE_OK)
        return rc;
    s->mc[k].valid = true;
    s->mc[k].addr = line;
    memcpy(buf, s->mc[k].data + (addr - line), len);
    return LODE_OK;
}

static void cmd_m(srv_s *s, const char *p, const char *end)
{
    uint32_t addr, len;
    if (!parse_hex32(&p, end, &addr) || !expect(&p, end, ',') || !parse_hex32(&p, end, &len) || p != end) {
        send_str(s, "E01");
        return;
    }
    if (len > REPLY_MAX / 2)
        len = REPLY_MAX / 2;
    uint8_t tmp[REPLY_MAX / 2];
    bool cached = len && len <= MC_LINE &&
                  (addr & ~(MC_LINE - 1u)) == ((addr + len - 1u) & ~(MC_LINE - 1u)) &&
                  in_flash(s, addr & ~(MC_LINE - 1u), MC_LINE);
    int rc = !len ? LODE_OK : cached ? mc_read(s, addr, tmp, len) : s->c->mem_read(s->c->ctx, addr, tmp, len);
    if (rc != LODE_OK) {
        send_str(s, "E01");
        return;
    }
    size_t w = 0;
    lode_rsp_hex_encode(tmp, len, s->reply, REPLY_MAX, &w);
    send_packet(s, s->reply, w);
}

static void cmd_MX(srv_s *s, const char *p, const char *end, bool binary)
{
    uint32_t addr, len;
    if (!parse_hex32(&p, end, &addr) || !expect(&p, end, ',') || !parse_hex32(&p, end, &len) ||
        !expect(&p, end, ':')) {
        send_str(s, "E01");
        return;
    }
    uint8_t tmp[REPLY_MAX];
    size_t got = 0;
    if (binary) {
        if ((size_t)(end - p) != len || len > sizeof tmp) {
            send_str(s, "E01");
            return;
        }
        memcpy(tmp, p, len);
        got = len;
    } else if (lode_rsp_hex_decode(p, (size_t)(end - p), tmp, sizeof tmp, &got) != LODE_OK || got != len) {
        send_str(s, "E01");
        return;
    }
    if (got && s->c->mem_write(s->c->ctx, addr, tmp, got) != LODE_OK) {
        send_str(s, "E01");
        return;
    }
    send_str(s, "OK");
}

/* ---- breakpoints and watchpoints ---- */

static gdb_point_s *find_point(srv_s *s, uint32_t addr, int kind)
{
    for (size_t i = 0; i < s->npts; i++)
        if (s->pts[i].addr == addr && (s->pts[i].kind == 0) == (kind == 0) &&
            (kind == 0 || s->pts[i].kind == kind))
            return &s->pts[i];
    return NULL;
}

static void cmd_Z(srv_s *s, const char *p, const char *end, bool insert)
{
    uint32_t type, addr, kind;
    if (!parse_hex32(&p, end, &type) || !expect(&p, end, ',') || !parse_hex32(&p, end, &addr) ||
        !expect(&p, end, ',') || !parse_hex32(&p, end, &kind) || type > 4) {
        send_str(s, "E01");
        return;
    }
    const lode_core_ops_s *c = s->c;
    int wkind = type == 0 || type == 1 ? 0 : type == 2 ? 2 : type == 3 ? 1 : 3;
    if (wkind == 0)
        addr &= ~1u;
    /* Z0 in RAM: a software breakpoint (BKPT #0 over the instruction's first halfword) */
    bool soft = type == 0 && addr >= SRAM_REGION_LO && addr < SRAM_REGION_HI - 1;
    if (wkind == 0) {
        if (!soft && (!c->bp_set || !c->bp_clear)) {
            send_str(s, "");
            return;
        }
    } else if (!c->wp_set || !c->wp_clear) {
        send_str(s, "");
        return;
    }
    gdb_point_s *pt = find_point(s, addr, wkind);
    int rc = LODE_OK;
    if (insert) {
        if (pt) {
            pt->refs++;
        } else if (s->npts == MAX_POINTS) {
            rc = LODE_E_NOMEM;
        } else if (soft) {
            gdb_point_s np = {.addr = addr, .len = kind, .kind = 0, .refs = 1, .soft = true};
            static const uint8_t bkpt[2] = {0x00, 0xBE};
            uint8_t back[2] = {0, 0};
            rc = c->mem_read(c->ctx, addr, np.saved, 2);
            if (rc == LODE_OK)
                rc = c->mem_write(c->ctx, addr, bkpt, 2);
            if (rc == LODE_OK)
                rc = c->mem_read(c->ctx, addr, back, 2);
            if (rc == LODE_OK && memcmp(back, bkpt, 2) != 0) {
                c->mem_write(c->ctx, addr, np.saved, 2);
                rc = LODE_E_VERIFY;
            }
            if (rc == LODE_OK)
                s->pts[s->npts++] = np;
        } else {
            rc = wkind == 0 ? c->bp_set(c->ctx, addr) : c->wp_set(c->ctx, addr, kind, wkind);
            if (rc == LODE_OK)
                s->pts[s->npts++] = (gdb_point_s){.addr = addr, .len = kind, .kind = wkind, .refs = 1};
        }
    } else if (pt && --pt->refs == 0) {
        if (pt->soft)
            rc = c->mem_write(c->ctx, addr, pt->saved, 2);
        else
            rc = wkind == 0 ? c->bp_clear(c->ctx, addr) : c->wp_clear(c->ctx, addr);
        *pt = s->pts[--s->npts];
    }
    if (rc != LODE_OK)
        lode_log(&s->cfg->log, LODE_LOG_INFO, LODE_LOGC_GDB, "%s %s at 0x%08x: %s",
                 insert ? "setting" : "clearing", wkind ? "watchpoint" : "breakpoint", addr,
                 lode_strerror(rc));
    send_str(s, rc == LODE_OK ? "OK" : "E01");
}

static void clear_points(srv_s *s)
{
    const lode_core_ops_s *c = s->c;
    for (size_t i = 0; i < s->npts; i++) {
        if (s->pts[i].soft)
            c->mem_write(c->ctx, s->pts[i].addr, s->pts[i].saved, 2);
        else if (s->pts[i].kind == 0)
            c->bp_clear(c->ctx, s->pts[i].addr);
        else
            c->wp_clear(c->ctx, s->pts[i].addr);
    }
    s->npts = 0;
}

/* The watchpoints as the halted-core service sees them (map: back to pts). */
static size_t gather_watches(srv_s *s, lodei_watch_s *w, gdb_point_s **map)
{
    size_t n = 0;
    for (size_t i = 0; i < s->npts; i++)
        if (s->pts[i].kind != 0) {
            w[n] = (lodei_watch_s){.addr = s->pts[i].addr, .len = s->pts[i].len,
                                   .kind = s->pts[i].kind, .last = s->pts[i].last};
            map[n++] = &s->pts[i];
        }
    return n;
}

/* remember watched values, to tell which watchpoint fired */
static void snapshot_watches(srv_s *s)
{
    lodei_watch_s w[MAX_POINTS];
    gdb_point_s *map[MAX_POINTS];
    size_t n = gather_watches(s, w, map);
    lodei_watch_snapshot(s->c, w, n);
    for (size_t i = 0; i < n; i++)
        map[i]->last = w[i].last;
}

static const gdb_point_s *fired_watch(srv_s *s)
{
    lodei_watch_s w[MAX_POINTS];
    gdb_point_s *map[MAX_POINTS];
    size_t n = gather_watches(s, w, map);
    uint32_t now = 0;
    return n ? map[lodei_watch_fired(s->c, w, n, &now)] : NULL;
}

/* ---- run control ---- */

static void set_stop(srv_s *s, const char *reply)
{
    snprintf(s->last_stop, sizeof s->last_stop, "%s", reply);
    send_str(s, reply);
}

/* Semihosting forwarded to GDB (File-I/O, "File-I/O Remote Protocol Extension" of the GDB
 * manual), the calls that do I/O: the console, files, the clock; a handle is the GDB fd + 1
 * (semihosting handles are nonzero). The rest (command line, heap, clocks in ticks, exit) stay
 * with lode's host. Returns 3 when a request went out (the core stays halted until GDB's F
 * reply), 0 when the call is not forwarded, <0 on a target error. */
static void fail_target(srv_s *s, int rc, const char *what);

static const int sh_to_gdb_flags[12] = {
    0x000, 0x000, 0x002, 0x002,         /* r rb r+ r+b: O_RDONLY, O_RDWR */
    0x601, 0x601, 0x602, 0x602,         /* w wb w+ w+b: CREAT|TRUNC */
    0x209, 0x209, 0x20A, 0x20A,         /* a ab a+ a+b: CREAT|APPEND */
};

/* the calls that go to GDB (the rest stay with lode's host) */
static bool forwarded(uint32_t op)
{
    switch (op) {
    case LODE_SH_SYS_OPEN: case LODE_SH_SYS_CLOSE: case LODE_SH_SYS_WRITEC: case LODE_SH_SYS_WRITE0:
    case LODE_SH_SYS_WRITE: case LODE_SH_SYS_READ: case LODE_SH_SYS_READC: case LODE_SH_SYS_ISTTY:
    case LODE_SH_SYS_SEEK: case LODE_SH_SYS_FLEN: case LODE_SH_SYS_REMOVE: case LODE_SH_SYS_RENAME:
    case LODE_SH_SYS_TIME: case LODE_SH_SYS_SYSTEM:
        return true;
    default:
        return false;
    }
}

static int forward_semihost(srv_s *s, const lodei_halt_s *h)
{
    const lode_core_ops_s *c = s->c;
    uint32_t op = h->regs[0], param = h->regs[1], pc = h->regs[15], sp = h->regs[13];
    if (!forwarded(op))
        return 0;
    uint8_t b[16];
    uint32_t a[4] = {0};
    /* the parameter block (usually read ahead with the BKPT); WRITEC and WRITE0 have none */
    uint32_t nbytes = op == LODE_SH_SYS_WRITEC || op == LODE_SH_SYS_WRITE0 ? 0 : lode_semihost_param_bytes(op);
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    if (nbytes) {
        if (lodei_halt_read(c, h, param, b, nbytes) != LODE_OK)
            return 0; /* lode's host reports the unreadable block */
        for (unsigned i = 0; i < nbytes / 4; i++)
            a[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                   (uint32_t)b[4 * i + 3] << 24;
    }
    char req[160];
    s->fio.handle = a[0];
    s->fio.len = 0;
    s->fio.scratch = (sp - 64u) & ~7u; /* where GDB writes what it returns: below the stack */
    switch (op) {
    case 0x03: /* WRITEC: the character at r1 */
        snprintf(req, sizeof req, "Fwrite,1,%x,1", param);
        break;
    case 0x04: { /* WRITE0: the string at r1, its length found 32 bytes at a time */
        uint32_t n = 0;
        uint8_t chunk[32];
        bool end = false;
        while (!end && n < 65536) {
            size_t got = sizeof chunk;
            if (lodei_halt_read(c, h, param + n, chunk, got) != LODE_OK) {
                /* near the end of readable memory: byte by byte */
                for (got = 0; got < sizeof chunk && c->mem_read(c->ctx, param + n + got, &chunk[got], 1) == LODE_OK; got++)
                    ;
                end = got < sizeof chunk;
            }
            const uint8_t *z = memchr(chunk, 0, got);
            end = end || z != NULL;
            n += z ? (uint32_t)(z - chunk) : (uint32_t)got;
        }
        snprintf(req, sizeof req, "Fwrite,1,%x,%x", param, n);
        break;
    }
    case 0x05:
        s->fio.len = a[2];
        snprintf(req, sizeof req, "Fwrite,%x,%x,%x", a[0] - 1, a[1], a[2]);
        break;
    case 0x06:
        s->fio.len = a[2];
        snprintf(req, sizeof req, "Fread,%x,%x,%x", a[0] - 1, a[1], a[2]);
        break;
    case 0x07: /* READC: one byte into the scratch area */
        snprintf(req, sizeof req, "Fread,0,%x,1", s->fio.scratch);
        break;
    case 0x01:
        if (a[1] > 11)
            return 0;
        snprintf(req, sizeof req, "Fopen,%x/%x,%x,1a4", a[0], a[2] + 1, sh_to_gdb_flags[a[1]]);
        break;
    case 0x02:
        snprintf(req, sizeof req, "Fclose,%x", a[0] - 1);
        break;
    case 0x09:
        snprintf(req, sizeof req, "Fisatty,%x", a[0] - 1);
        break;
    case 0x0A:
        snprintf(req, sizeof req, "Flseek,%x,%x,0", a[0] - 1, a[1]);
        break;
    case 0x0C:
        snprintf(req, sizeof req, "Ffstat,%x,%x", a[0] - 1, s->fio.scratch);
        break;
    case 0x0E:
        snprintf(req, sizeof req, "Funlink,%x/%x", a[0], a[1] + 1);
        break;
    case 0x0F:
        snprintf(req, sizeof req, "Frename,%x/%x,%x/%x", a[0], a[1] + 1, a[2], a[3] + 1);
        break;
    case 0x11: /* TIME: seconds from gettimeofday */
        snprintf(req, sizeof req, "Fgettimeofday,%x,0", s->fio.scratch);
        break;
    case 0x12:
        snprintf(req, sizeof req, "Fsystem,%x/%x", a[0], a[1] + 1);
        break;
    default:
        return 0;
    }
    s->fio.pending = true;
    s->fio.op = op;
    s->fio.pc = pc;
    send_str(s, req);
    return 3;
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* GDB's "Fretcode[,errno[,C]]" for the pending call: the semihosting result in r0, past the
 * BKPT, then on (or stopped with SIGINT when GDB saw Ctrl-C meanwhile, SIGTRAP after a step). */
static void cmd_F(srv_s *s, const char *p, const char *end)
{
    const lode_core_ops_s *c = s->c;
    if (!s->fio.pending) {
        send_str(s, "E01");
        return;
    }
    s->fio.pending = false;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    uint32_t v = 0, err = 0;
    bool ok = parse_hex32(&p, end, &v);
    if (ok && p < end && *p == ',') {
        p++;
        ok = parse_hex32(&p, end, &err);
    }
    bool ctrl_c = p < end && p + 1 < end + 1 && memchr(p, 'C', (size_t)(end - p)) != NULL;
    int32_t ret = ok ? (neg ? -(int32_t)v : (int32_t)v) : -1;
    if (ret < 0)
        s->fio_errno = err ? err : 5 /* EIO */;
    uint32_t r0 = 0;
    uint8_t buf[64];
    switch (s->fio.op) {
    case 0x03: case 0x04:
        r0 = 0; /* r0 is corrupted by these calls anyway */
        break;
    case 0x05: case 0x06: /* bytes NOT moved */
        r0 = ret < 0 ? s->fio.len : s->fio.len - ((uint32_t)ret < s->fio.len ? (uint32_t)ret : s->fio.len);
        break;
    case 0x07:
        r0 = ret == 1 && c->mem_read(c->ctx, s->fio.scratch, buf, 1) == LODE_OK ? buf[0] : 0xFFFFFFFFu;
        break;
    case 0x01:
        r0 = ret < 0 ? 0xFFFFFFFFu : (uint32_t)ret + 1u;
        break;
    case 0x0A:
        r0 = ret < 0 ? 0xFFFFFFFFu : 0;
        break;
    case 0x0C: /* st_size, big-endian at offset 28 of GDB's struct stat */
        r0 = ret < 0 || c->mem_read(c->ctx, s->fio.scratch + 28, buf, 8) != LODE_OK ? 0xFFFFFFFFu
                                                                                    : be32_at(buf + 4);
        break;
    case 0x11:
        r0 = ret < 0 || c->mem_read(c->ctx, s->fio.scratch, buf, 4) != LODE_OK ? 0xFFFFFFFFu : be32_at(buf);
        break;
    default: /* close, isatty, remove, rename, system: GDB's result as it is */
        r0 = (uint32_t)ret;
        break;
    }
    bool go = !ctrl_c && !s->fio.after_step;
    if (go)
        snapshot_watches(s);
    int rc = lodei_halt_return(c, s->fio.pc, r0, go);
    if (rc != LODE_OK) {
        fail_target(s, rc, "semihosting (File-I/O reply)");
        return;
    }
    if (go) {
        s->running = true;
        s->interrupt = false;
    } else if (ctrl_c) {
        set_stop(s, "T02");
    } else {
        s->fio.after_step = false;
        set_stop(s, "T05");
    }
}

/* A halt at a semihosting BKPT 0xAB: serve it (the halted-core service: registers in one
 * round trip, the parameter block read ahead with the instruction, the return with the resume
 * when `resume`). Returns 1 if served (PC moved past it; resumed if asked), 0 if not
 * semihosting, 2 if the firmware exited (stop reply sent), 3 if forwarded to GDB (File-I/O
 * request sent, the core stays halted), <0 on a target error. */
static int serve_semihost(srv_s *s, const lode_core_state_s *st, bool resume)
{
    const lode_core_ops_s *c = s->c;
    if (!s->cfg->sh || s->sh_off || !(st->dfsr & LODE_CM_DFSR_BKPT))
        return 0;
    lodei_halt_s h;
    int rc = lodei_halt_examine(c, s->cfg->sh, s->cfg->chip, st, &h);
    if (rc != LODE_OK)
        return rc;
    if (!h.semihost)
        return 0;
    uint32_t op = h.regs[0], param = h.regs[1], pc = h.regs[15];
    if (s->sh_gdb) {
        if (op == LODE_SH_SYS_ERRNO) { /* GDB's last one */
            lode_semihost_prefetch(s->cfg->sh, 0, NULL, 0);
            rc = lodei_halt_return(c, pc, s->fio_errno, resume);
            return rc == LODE_OK ? 1 : rc;
        }
        int f = forward_semihost(s, &h);
        if (f != 0) {
            lode_semihost_prefetch(s->cfg->sh, 0, NULL, 0); /* GDB may write that memory */
            return f;
        }
    }
    lodei_sh_end_e end = LODEI_SH_DONE;
    int code = 0;
    if ((rc = lodei_halt_semihost(c, s->cfg->sh, &h, resume, &end, &code)) != LODE_OK)
        return rc;
    if (end == LODEI_SH_BAD_PARAM) {
        lode_log(&s->cfg->log, LODE_LOG_WARN, LODE_LOGC_GDB,
                 "semihosting call 0x%02x at pc 0x%08x: its parameter block at 0x%08x is not "
                 "readable; reported to GDB as a stop", op, pc, param);
        return 0;
    }
    if (end == LODEI_SH_EXIT) {
        char w[16];
        snprintf(w, sizeof w, "W%02x", (unsigned)code & 0xFFu);
        set_stop(s, w);
        return 2;
    }
    return 1;
}

/* The core stopped as a HardFault was taken (the vector catch the server sets): tell the
 * person what happened (the halted-core service's fault report) and GDB a SIGSEGV. */
static int report_fault(srv_s *s, const lode_core_state_s *st)
{
    const lode_core_ops_s *c = s->c;
    lodei_halt_s h;
    if (lodei_halt_examine(c, NULL, NULL, st, &h) != LODE_OK || lodei_halt_rest(c, &h) != LODE_OK || !h.fault)
        return 0;
    lodei_fault_s f;
    lodei_halt_fault(c, h.regs, false, &f);
    char msg[512];
    if (f.frame_valid)
        snprintf(msg, sizeof msg, "lode: HardFault: %s\n  faulting context: pc 0x%08x, lr 0x%08x, xpsr 0x%08x\n",
                 f.text, f.frame[6], f.frame[5], f.frame[7]);
    else
        snprintf(msg, sizeof msg, "lode: HardFault: %s\n", f.text);
    send_console(s, msg);
    return 11; /* SIGSEGV */
}

static void report_halt(srv_s *s, const lode_core_state_s *st, int sig)
{
    char r[64];
    if (sig == 5 && (st->dfsr & LODE_CM_DFSR_VCATCH) && s->vc_hardfault) {
        int fsig = report_fault(s, st);
        if (fsig)
            sig = fsig;
    }
    const gdb_point_s *w = (st->dfsr & LODE_CM_DFSR_DWTTRAP) && sig == 5 ? fired_watch(s) : NULL;
    if (w)
        snprintf(r, sizeof r, "T%02x%swatch:%x;", sig,
                 w->kind == 1 ? "r" : w->kind == 3 ? "a" : "", w->addr);
    else
        snprintf(r, sizeof r, "T%02x", sig);
    set_stop(s, r);
}

static void fail_target(srv_s *s, int rc, const char *what)
{
    if (s->err == LODE_OK)
        s->err = rc;
    lode_log(&s->cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB, "%s: %s; the GDB connection is closed",
             what, lode_strerror(rc));
    s->end = SRV_CLOSED;
}

static void do_step(srv_s *s)
{
    const lode_core_ops_s *c = s->c;
    int rc = c->step(c->ctx);
    lode_core_state_s st = {0};
    if (rc == LODE_OK)
        rc = c->state(c->ctx, &st);
    if (rc != LODE_OK) {
        fail_target(s, rc, "single step");
        return;
    }
    int sh = serve_semihost(s, &st, false); /* the step executed a semihosting BKPT */
    if (sh < 0) {
        fail_target(s, sh, "semihosting");
        return;
    }
    if (sh == 2)
        return;
    if (sh == 3) { /* forwarded: the stop reply follows GDB's F reply */
        s->fio.after_step = true;
        return;
    }
    set_stop(s, "T05");
}

static void do_continue(srv_s *s)
{
    const lode_core_ops_s *c = s->c;
    snapshot_watches(s);
    int rc = c->resume(c->ctx);
    if (rc != LODE_OK) {
        fail_target(s, rc, "resuming the core");
        return;
    }
    s->running = true;
    s->interrupt = false;
}

/* optional "addr" after c / s: resume there */
static bool resume_addr(srv_s *s, const char *p, const char *end)
{
    if (p == end)
        return true;
    uint32_t a;
    if (!parse_hex32(&p, end, &a) || p != end)
        return false;
    return s->c->reg_write(s->c->ctx, 15, a) == LODE_OK;
}

static void cmd_vcont(srv_s *s, const char *p, const char *end)
{
    /* vCont;ACTION[:TID];... : all-stop with one thread, the first action is ours */
    if (!expect(&p, end, ';') || p == end) {
        send_str(s, "E01");
        return;
    }
    char a = *p;
    if (a == 'c' || a == 'C')
        do_continue(s);
    else if (a == 's' || a == 'S')
        do_step(s);
    else if (a == 't')
        send_str(s, "OK"); /* stop: already stopped */
    else
        send_str(s, "E01");
}

/* ---- monitor commands ---- */

static void cmd_rcmd(srv_s *s, const char *p, const char *end)
{
    char cmd[256];
    size_t n = 0;
    if (lode_rsp_hex_decode(p, (size_t)(end - p), (uint8_t *)cmd, sizeof cmd - 1, &n) != LODE_OK) {
        send_str(s, "E01");
        return;
    }
    cmd[n] = 0;
    while (n && (cmd[n - 1] == ' ' || cmd[n - 1] == '\n'))
        cmd[--n] = 0;
    const lode_core_ops_s *c = s->c;
    int rc = LODE_OK;
    const char *msg;
    if (!strcmp(cmd, "reset halt")) {
        rc = c->reset(c->ctx, true);
        msg = "lode: reset, the core is halted at the reset vector\n";
        snprintf(s->last_stop, sizeof s->last_stop, "S05");
    } else if (!strcmp(cmd, "reset")) {
        rc = c->reset(c->ctx, false);
        msg = "lode: reset, the core runs (interrupt with Ctrl-C, or `monitor halt`)\n";
    } else if (!strcmp(cmd, "halt")) {
        rc = c->halt(c->ctx);
        msg = "lode: the core is halted\n";
    } else if (!strcmp(cmd, "resume")) {
        rc = c->resume(c->ctx);
        msg = "lode: the core runs (GDB still thinks it is stopped: use `monitor halt`)\n";
    } else if (!strcmp(cmd, "semihosting on") || !strcmp(cmd, "semihosting off") ||
               !strcmp(cmd, "semihosting gdb")) {
        if (!s->cfg->sh) {
            send_console(s, "lode: this server has no semihosting host\n");
            send_str(s, "E01");
            return;
        }
        s->sh_off = !strcmp(cmd, "semihosting off");
        s->sh_gdb = !strcmp(cmd, "semihosting gdb");
        msg = s->sh_off ? "lode: semihosting off: BKPT 0xAB stops with SIGTRAP\n"
              : s->sh_gdb ? "lode: semihosting gdb: console and file calls go to GDB as File-I/O\n"
                          : "lode: semihosting on: lode serves the target's calls\n";
    } else if (!strcmp(cmd, "swdp_scan") || !strcmp(cmd, "jtag_scan")) {
        /* what a Black Magic Probe answers: the targets found, to `attach N` to */
        char m[256];
        snprintf(m, sizeof m, "Target voltage: 3.3V\nAvailable Targets:\nNo. Att Driver\n 1      %s M%s\n",
                 s->cfg->chip ? s->cfg->chip->name : "Cortex-M", s->cfg->fpu ? "4" : "3");
        send_console(s, m);
        send_str(s, "OK");
        return;
    } else if (!strcmp(cmd, "rtt on") || !strcmp(cmd, "rtt off")) {
        if (!s->cfg->rtt) {
            send_console(s, "lode: this server has no RTT handle\n");
            send_str(s, "E01");
            return;
        }
        s->rtt_off = !strcmp(cmd, "rtt off");
        s->rtt_tries = 0;
        msg = s->rtt_off ? "lode: RTT output paused\n" : "lode: RTT output on lode's terminal\n";
    } else if (!strcmp(cmd, "flash erase")) {
        if (!s->cfg->chip) {
            send_console(s, "lode: no chip description: cannot erase flash\n");
            send_str(s, "E01");
            return;
        }
        lode_flash_opts_s fo = {.no_reset_halt = true};
        lode_flash_result_s res;
        memset(&res, 0, sizeof res);
        rc = lode_flash_erase(c, s->cfg->chip, true, 0, 0, &fo, &s->cfg->log, &res);
        msg = "lode: the whole flash is erased\n";
    } else if (!strcmp(cmd, "help") || !cmd[0]) {
        msg = "lode monitor commands:\n"
              "  reset              reset the target and let it run\n"
              "  reset halt         reset the target and halt at the reset vector\n"
              "  halt               halt the core\n"
              "  resume             let the core run\n"
              "  flash erase        erase the whole flash\n"
              "  rtt on|off         show the target's RTT output on lode's terminal, or pause it\n"
              "  semihosting on|off serve semihosting calls in lode, or stop with SIGTRAP\n"
              "  semihosting gdb    send console and file calls to GDB (File-I/O)\n"
              "  swdp_scan          list the target (as a Black Magic Probe does; vAttach;1)\n";
    } else {
        send_console(s, "lode: unknown monitor command (try `monitor help`)\n");
        send_str(s, "E01");
        return;
    }
    if (rc != LODE_OK) {
        char m[400];
        snprintf(m, sizeof m, "lode: monitor %s failed: %s\n", cmd, lode_strerror(rc));
        send_console(s, m);
        send_str(s, "E01");
        return;
    }
    send_console(s, msg);
    send_str(s, "OK");
}

/* ---- target description ---- */

static size_t target_xml(const srv_s *s, char *buf, size_t cap)
{
    size_t w = 0;
#define XML(...) (w += (size_t)snprintf(buf + (w < cap ? w : cap), w < cap ? cap - w : 0, __VA_ARGS__))
    XML("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n"
        "<architecture>arm</architecture>\n<feature name=\"org.gnu.gdb.arm.m-profile\">\n");
    for (int i = 0; i <= 12; i++)
        XML("<reg name=\"r%d\" bitsize=\"32\" regnum=\"%d\"/>\n", i, i);
    XML("<reg name=\"sp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"13\"/>\n"
        "<reg name=\"lr\" bitsize=\"32\" regnum=\"14\"/>\n"
        "<reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\" regnum=\"15\"/>\n"
        "<reg name=\"xpsr\" bitsize=\"32\" regnum=\"16\"/>\n</feature>\n");
    if (s->cfg->fpu) {
        XML("<feature name=\"org.gnu.gdb.arm.vfp\">\n");
        for (int i = 0; i < 16; i++)
            XML("<reg name=\"d%d\" bitsize=\"64\" type=\"ieee_double\" regnum=\"%d\"/>\n", i, 17 + i);
        XML("<reg name=\"fpscr\" bitsize=\"32\" type=\"int\" group=\"float\" regnum=\"33\"/>\n</feature>\n");
    }
    unsigned b = sys_base(s);
    XML("<feature name=\"org.gnu.gdb.arm.m-system\">\n"
        "<reg name=\"msp\" bitsize=\"32\" type=\"data_ptr\" group=\"system\" regnum=\"%u\"/>\n"
        "<reg name=\"psp\" bitsize=\"32\" type=\"data_ptr\" group=\"system\" regnum=\"%u\"/>\n"
        "</feature>\n<feature name=\"org.lode.cortex-m.special\">\n", b, b + 1);
    for (unsigned i = 2; i < NREGS_SYS; i++)
        XML("<reg name=\"%s\" bitsize=\"32\" type=\"int\" group=\"system\" regnum=\"%u\"/>\n",
            k_sys_name[i], b + i);
    XML("</feature>\n");
    XML("</target>\n");
#undef XML
    return w;
}

/* ---- flash: memory map and GDB's load (vFlashErase/vFlashWrite/vFlashDone) ---- */

__attribute__((format(printf, 4, 5))) static size_t appendf(char *buf, size_t cap, size_t n,
                                                             const char *fmt, ...)
{
    if (n < cap) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(buf + n, cap - n, fmt, ap);
        va_end(ap);
        if (w > 0)
            n += (size_t)w;
    }
    return n;
}

/* GDB's memory-map DTD: flash regions split where the sector size changes, then RAM. */
static size_t memory_map_xml(srv_s *s, char *buf, size_t cap)
{
    size_t n = appendf(buf, cap, 0, "<?xml version=\"1.0\"?>\n<memory-map>\n");
    lode_flash_layout_s *lay = NULL;
    if (lode_flash_layout_for_chip(s->cfg->chip, &s->cfg->log, &lay) != LODE_OK)
        return appendf(buf, cap, n, "</memory-map>\n");
    for (size_t i = 0; i < lay->nregions; i++) {
        const lode_flash_region_s *r = &lay->regions[i];
        uint32_t run_start = r->start, run_sz = 0, a = r->start;
        while (a < r->end) {
            uint32_t st = a, sz = 0;
            if (!r->sector_at || r->sector_at(r->user, a, &st, &sz) != LODE_OK || !sz)
                break;
            if (run_sz && sz != run_sz) {
                n = appendf(buf, cap, n,
                            "<memory type=\"flash\" start=\"0x%" PRIx32 "\" length=\"0x%" PRIx32 "\">"
                            "<property name=\"blocksize\">0x%" PRIx32 "</property></memory>\n",
                            run_start, a - run_start, run_sz);
                run_start = a;
            }
            run_sz = sz;
            a = st + sz;
        }
        if (run_sz && a > run_start)
            n = appendf(buf, cap, n,
                        "<memory type=\"flash\" start=\"0x%" PRIx32 "\" length=\"0x%" PRIx32 "\">"
                        "<property name=\"blocksize\">0x%" PRIx32 "</property></memory>\n",
                        run_start, a - run_start, run_sz);
    }
    for (size_t i = 0; i < lay->nram; i++)
        n = appendf(buf, cap, n, "<memory type=\"ram\" start=\"0x%" PRIx32 "\" length=\"0x%" PRIx32 "\"/>\n",
                    lay->ram[i].start, lay->ram[i].end - lay->ram[i].start);
    lode_flash_layout_free(lay);
    return appendf(buf, cap, n, "</memory-map>\n");
}

static void flash_bufs_free(srv_s *s)
{
    for (size_t i = 0; i < s->nfl; i++)
        free(s->fl[i].data);
    s->nfl = 0;
}

static void cmd_flash_erase(srv_s *s, const char *p, const char *end)
{
    uint32_t addr, len;
    if (!s->cfg->chip || !parse_hex32(&p, end, &addr) || !expect(&p, end, ',') ||
        !parse_hex32(&p, end, &len) || p != end || !len || len > 64u * 1024 * 1024 ||
        (uint64_t)addr + len > 0x100000000ull) {
        send_str(s, "E01");
        return;
    }
    /* GDB merges its erase blocks; a range over an earlier one would make two images for the
     * same bytes */
    for (size_t i = 0; i < s->nfl; i++) {
        if (addr < (uint64_t)s->fl[i].addr + s->fl[i].len && s->fl[i].addr < (uint64_t)addr + len) {
            lode_log(&s->cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                     "vFlashErase of 0x%08x (%u bytes) overlaps an earlier erase of this load", addr, len);
            send_str(s, "E01");
            return;
        }
    }
    /* adjacent to an earlier range: grow it (the image keeps fewer, longer segments) */
    for (size_t i = 0; i < s->nfl; i++) {
        struct flash_buf_s *f = &s->fl[i];
        if (f->addr + f->len == addr) {
            uint8_t *d = realloc(f->data, (size_t)f->len + len);
            if (!d) {
                send_str(s, "E02");
                return;
            }
            memset(d + f->len, 0xFF, len);
            f->data = d;
            f->len += len;
            send_str(s, "OK");
            return;
        }
    }
    if (s->nfl == MAX_FLASH_BUFS) {
        send_str(s, "E02");
        return;
    }
    uint8_t *d = malloc(len);
    if (!d) {
        send_str(s, "E02");
        return;
    }
    memset(d, 0xFF, len);
    s->fl[s->nfl++] = (struct flash_buf_s){.addr = addr, .len = len, .data = d};
    send_str(s, "OK");
}

static void cmd_flash_write(srv_s *s, const char *p, const char *end)
{
    uint32_t addr;
    if (!parse_hex32(&p, end, &addr) || !expect(&p, end, ':')) {
        send_str(s, "E01");
        return;
    }
    size_t len = (size_t)(end - p);
    for (size_t i = 0; i < s->nfl; i++) {
        struct flash_buf_s *f = &s->fl[i];
        if (addr >= f->addr && (uint64_t)addr + len <= (uint64_t)f->addr + f->len) {
            memcpy(f->data + (addr - f->addr), p, len);
            send_str(s, "OK");
            return;
        }
    }
    /* the GDB manual: writes outside an erased region are an error */
    lode_log(&s->cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
             "vFlashWrite at 0x%08x (%zu bytes) is outside every erased range", addr, len);
    send_str(s, "E03");
}

static int flash_buf_cmp(const void *a, const void *b)
{
    const struct flash_buf_s *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The whole load is one image (the erased ranges, 0xFF where GDB wrote nothing) and one call
 * through the loader seam: the planner decides the sectors, unchanged ones are skipped. */
static void cmd_flash_done(srv_s *s)
{
    lode_segment_s segs[MAX_FLASH_BUFS];
    qsort(s->fl, s->nfl, sizeof s->fl[0], flash_buf_cmp);
    for (size_t i = 0; i < s->nfl; i++)
        segs[i] = (lode_segment_s){.addr = s->fl[i].addr, .len = s->fl[i].len, .data = s->fl[i].data};
    /* a view of the server's buffers: never passed to lode_image_free */
    lode_image_s img = {.segs = segs, .nsegs = s->nfl};
    int rc = LODE_OK;
    if (s->nfl) {
        lode_loader_s *l = NULL;
        lode_flash_opts_s fo = {.skip_unchanged = true, .verify = true, .no_reset_halt = true};
        lode_flash_result_s res;
        memset(&res, 0, sizeof res);
        rc = lode_loader_algo_new(s->c, s->cfg->chip, &s->cfg->log, &l);
        if (rc == LODE_OK)
            rc = lode_loader_flash(l, &img, &fo, &s->cfg->log, &res);
        lode_loader_free(l);
        if (rc != LODE_OK)
            lode_log(&s->cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                     "flashing 0x%08x-0x%08x for GDB failed: %s; the sectors there may be "
                     "erased: load again or run `lode flash`",
                     s->fl[0].addr, s->fl[s->nfl - 1].addr + s->fl[s->nfl - 1].len, lode_strerror(rc));
    }
    flash_bufs_free(s);
    send_str(s, rc == LODE_OK ? "OK" : "E04");
}

static void cmd_xfer(srv_s *s, const char *p, const char *end)
{
    static const char pre[] = "features:read:target.xml:";
    static const char pre_map[] = "memory-map:read::";
    size_t pl = sizeof pre - 1, pm = sizeof pre_map - 1;
    bool map = false;
    if (s->cfg->chip && (size_t)(end - p) >= pm && memcmp(p, pre_map, pm) == 0) {
        map = true;
        p += pm;
    } else if ((size_t)(end - p) >= pl && memcmp(p, pre, pl) == 0) {
        p += pl;
    } else {
        send_str(s, "");
        return;
    }
    uint32_t off, len;
    if (!parse_hex32(&p, end, &off) || !expect(&p, end, ',') || !parse_hex32(&p, end, &len) || p != end) {
        send_str(s, "E01");
        return;
    }
    char xml[4096];
    size_t n = map ? memory_map_xml(s, xml, sizeof xml) : target_xml(s, xml, sizeof xml);
    if (n >= sizeof xml)
        n = sizeof xml - 1;
    if (len > REPLY_MAX - 1)
        len = REPLY_MAX - 1;
    if (off >= n) {
        send_str(s, "l");
        return;
    }
    size_t take = n - off < len ? n - off : len;
    s->reply[0] = off + take < n ? 'm' : 'l';
    memcpy(s->reply + 1, xml + off, take);
    send_packet(s, s->reply, take + 1);
}

/* ---- dispatch ---- */

static bool starts(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(p, word, n) == 0;
}

static void handle_packet(srv_s *s, const char *p, size_t len)
{
    const char *end = p + len;
    if (len == 0) {
        send_str(s, "");
        return;
    }
    /* anything that may run the core or write the target drops the flash read cache */
    bool keeps = p[0] && strchr("mgp?HTZzq", p[0]) != NULL && !(len >= 5 && !memcmp(p, "qRcmd", 5));
    if (!keeps)
        mc_invalidate(s);
    switch (p[0]) {
    case '?':
        send_str(s, s->last_stop);
        return;
    case 'g':
        cmd_g(s);
        return;
    case 'G':
        cmd_G(s, p + 1, len - 1);
        return;
    case 'p':
        cmd_p(s, p + 1, end);
        return;
    case 'P':
        cmd_P(s, p + 1, end);
        return;
    case 'm':
        cmd_m(s, p + 1, end);
        return;
    case 'M':
        cmd_MX(s, p + 1, end, false);
        return;
    case 'X':
        cmd_MX(s, p + 1, end, true);
        return;
    case 'Z':
    case 'z':
        cmd_Z(s, p + 1, end, p[0] == 'Z');
        return;
    case 'c':
    case 's':
        if (!resume_addr(s, p + 1, end)) {
            send_str(s, "E01");
            return;
        }
        if (p[0] == 'c')
            do_continue(s);
        else
            do_step(s);
        return;
    case 'C':
    case 'S': { /* signal;addr: the signal is ignored */
        const char *q = memchr(p, ';', len);
        if (q && !resume_addr(s, q + 1, end)) {
            send_str(s, "E01");
            return;
        }
        if (p[0] == 'C')
            do_continue(s);
        else
            do_step(s);
        return;
    }
    case 'F':
        cmd_F(s, p + 1, end);
        return;
    case 'H':
    case 'T':
        send_str(s, "OK");
        return;
    case 'D':
        clear_points(s);
        {
            int rc = s->c->resume(s->c->ctx);
            if (rc != LODE_OK)
                lode_log(&s->cfg->log, LODE_LOG_WARN, LODE_LOGC_GDB, "detach: resuming the core: %s",
                         lode_strerror(rc));
        }
        send_str(s, "OK");
        s->end = SRV_DETACHED;
        return;
    case 'k':
        s->end = SRV_KILLED;
        return;
    default:
        break;
    }
    if (starts(p, len, "qSupported")) {
        send_str(s, s->cfg->chip ? "PacketSize=4000;qXfer:features:read+;qXfer:memory-map:read+;"
                                   "QStartNoAckMode+;vContSupported+"
                                 : "PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;"
                                   "vContSupported+");
    } else if (starts(p, len, "QStartNoAckMode")) {
        send_str(s, "OK");
        s->noack = true;
    } else if (starts(p, len, "qXfer:")) {
        cmd_xfer(s, p + 6, end);
    } else if (starts(p, len, "vAttach;")) {
        /* a probe-style server (Black Magic Probe): attach to target 1 of `monitor swdp_scan` */
        if (len != 9 || p[8] != '1') {
            send_str(s, "E01");
        } else {
            const lode_core_ops_s *c = s->c;
            int rc = c->halt(c->ctx);
            if (rc != LODE_OK)
                fail_target(s, rc, "attaching");
            else
                set_stop(s, "T05");
        }
    } else if (starts(p, len, "vCont?")) {
        send_str(s, "vCont;c;C;s;S;t");
    } else if (starts(p, len, "vCont")) {
        cmd_vcont(s, p + 5, end);
    } else if (starts(p, len, "qAttached")) {
        send_str(s, "1");
    } else if (len == 2 && starts(p, len, "qC")) {
        send_str(s, "QC1");
    } else if (starts(p, len, "qfThreadInfo")) {
        send_str(s, "m1");
    } else if (starts(p, len, "qsThreadInfo")) {
        send_str(s, "l");
    } else if (starts(p, len, "qSymbol")) {
        send_str(s, "OK");
    } else if (starts(p, len, "vFlashErase:")) {
        cmd_flash_erase(s, p + 12, end);
    } else if (starts(p, len, "vFlashWrite:")) {
        cmd_flash_write(s, p + 12, end);
    } else if (starts(p, len, "vFlashDone")) {
        cmd_flash_done(s);
    } else if (starts(p, len, "qRcmd,")) {
        cmd_rcmd(s, p + 6, end);
    } else {
        send_str(s, ""); /* qOffsets, qTStatus, vMustReplyEmpty, ...: not supported */
    }
}

static void on_event(void *user, const lode_rsp_event_s *ev)
{
    srv_s *s = user;
    if (s->end != SRV_GO)
        return;
    switch (ev->type) {
    case LODE_RSP_EV_PACKET:
        if (!s->noack)
            send_raw(s, "+", 1);
        if (s->running) {
            lode_log(&s->cfg->log, LODE_LOG_DEBUG, LODE_LOGC_GDB,
                     "packet while the core runs ignored: %.40s", (const char *)ev->data);
            return;
        }
        lode_log(&s->cfg->log, LODE_LOG_DEBUG, LODE_LOGC_GDB, "<- %.80s", (const char *)ev->data);
        handle_packet(s, (const char *)ev->data, ev->len);
        return;
    case LODE_RSP_EV_NACK:
        if (s->out_len)
            send_raw(s, s->out, s->out_len);
        return;
    case LODE_RSP_EV_INTERRUPT:
        if (s->running)
            s->interrupt = true;
        return;
    case LODE_RSP_EV_BAD_CHECKSUM:
    case LODE_RSP_EV_MALFORMED:
    case LODE_RSP_EV_OVERSIZED:
        if (!ev->notification && !s->noack)
            send_raw(s, "-", 1);
        return;
    default:
        return;
    }
}

/* A second GDB connects while one is served: tell it why it is refused, as an error reply
 * (E.text) to whatever it sends first. */
static void refuse_client(srv_s *s)
{
    lode_stream_s *other = NULL;
    if (lode_stream_accept(s->listener, 0, &other) != LODE_OK)
        return;
    lode_log(&s->cfg->log, LODE_LOG_WARN, LODE_LOGC_GDB,
             "refused a second GDB connection: one client is served at a time");
    static const char why[] = "E.lode gdb: another GDB client is connected (one at a time)";
    uint8_t pkt[LODE_RSP_ENCODED_MAX(sizeof why)];
    size_t pn = 0;
    uint8_t junk[1024];
    size_t got = 0;
    bool whole = false; /* its first packet has arrived ('#' and the checksum) */
    for (int i = 0; i < 10 && !whole && got < sizeof junk; i++) {
        size_t k = 0;
        int rc = lode_stream_read(other, junk + got, sizeof junk - got, &k, 100);
        if (rc == LODE_E_TIMEOUT)
            continue;
        if (rc != LODE_OK)
            break;
        got += k;
        const uint8_t *h = memchr(junk, '#', got);
        whole = h && (size_t)(h - junk) + 3 <= got;
    }
    if (whole && lode_rsp_encode((const uint8_t *)why, sizeof why - 1, pkt, sizeof pkt, &pn) == LODE_OK &&
        lode_stream_write(other, "+", 1) == LODE_OK && lode_stream_write(other, pkt, pn) == LODE_OK) {
        bool ready;
        lode_stream_wait(&other, 1, 200, &ready); /* let it read the reply before the close */
    }
    lode_stream_flush(other); /* nothing unread: the close is a FIN, not a reset */
    lode_stream_close(other);
}

/* Read what the client sent (waiting at most timeout_ms) and decode it. */
static void pump(srv_s *s, int timeout_ms)
{
    lode_stream_s *w[2] = {s->io, s->listener};
    bool ready[2];
    if (lode_stream_wait(w, 2, timeout_ms, ready) != LODE_OK)
        return;
    if (ready[1])
        refuse_client(s);
    if (!ready[0])
        return;
    uint8_t buf[4096];
    size_t n = 0;
    int rc = lode_stream_read(s->io, buf, sizeof buf, &n, 0);
    if (rc == LODE_E_TIMEOUT)
        return;
    if (rc != LODE_OK) {
        s->end = SRV_CLOSED;
        return;
    }
    lode_rsp_feed(&s->dec, buf, n, on_event, s);
}

static bool stopped(const srv_s *s) { return s->cfg->stop && *s->cfg->stop; }

/* The core runs: poll it and the socket until it halts (served semihosting aside). */
/* RTT output while the target runs: attach when the control block appears (tried every 100th
 * poll: a RAM scan is not free), then drain the up channels. */
static void rtt_service(srv_s *s)
{
    lode_rtt_s *r = s->cfg->rtt;
    if (!r || s->rtt_off)
        return;
    if (!lode_rtt_attached(r)) {
        if (s->rtt_tries++ % 100 != 0 || lode_rtt_attach(r) != LODE_OK)
            return;
    }
    lode_rtt_poll(r, s->cfg->rtt_out, s->cfg->rtt_user, NULL);
}

static void run_loop(srv_s *s)
{
    const lode_core_ops_s *c = s->c;
    uint32_t poll_us = s->cfg->poll_us ? s->cfg->poll_us : 1000;
    while (s->running && s->end == SRV_GO) {
        lode_core_state_s st = {0};
        int rc = c->state(c->ctx, &st);
        if (rc != LODE_OK) {
            fail_target(s, rc, "reading the core's state");
            return;
        }
        if (st.halted) {
            int sh = serve_semihost(s, &st, true);
            if (sh < 0) {
                fail_target(s, sh, "semihosting");
                return;
            }
            if (sh == 1)
                continue; /* served and resumed */
            s->running = false;
            rtt_service(s); /* what the firmware wrote just before it stopped */
            if (sh == 0)
                report_halt(s, &st, s->interrupt ? 2 : 5);
            /* sh == 3: a File-I/O request is out; GDB's F reply resumes the core */
            return;
        }
        rtt_service(s);
        pump(s, 0);
        if (s->end != SRV_GO || stopped(s)) {
            return;
        }
        if (s->interrupt) {
            if ((rc = c->halt(c->ctx)) != LODE_OK) {
                fail_target(s, rc, "halting the core");
                return;
            }
            continue; /* the next state read sees the halt and replies T02 */
        }
        c->delay_us(c->ctx, poll_us);
    }
}

static int serve(const lode_gdbserver_config_s *cfg, lode_stream_s *io, lode_stream_s *listener)
{
    if (!cfg || !cfg->core || !io)
        return LODE_E_INVALID_ARG;
    srv_s *s = calloc(1, sizeof *s);
    if (!s)
        return LODE_E_NOMEM;
    s->cfg = cfg;
    s->c = cfg->core;
    s->io = io;
    s->listener = listener;
    s->sh_gdb = cfg->sh_gdb;
    s->sh_off = cfg->sh_off;
    snprintf(s->last_stop, sizeof s->last_stop, "S05");
    lode_rsp_decoder_init(&s->dec, 0);
    /* GDB expects a stopped target when it connects: a previous client may have detached
     * and left it running */
    lode_core_state_s st;
    memset(&st, 0, sizeof st);
    int hrc = s->c->state(s->c->ctx, &st);
    if (hrc == LODE_OK && !st.halted) {
        hrc = s->c->halt(s->c->ctx);
        for (int i = 0; hrc == LODE_OK && i < 100; i++) {
            if ((hrc = s->c->state(s->c->ctx, &st)) != LODE_OK || st.halted)
                break;
            if (s->c->delay_us)
                s->c->delay_us(s->c->ctx, 1000);
        }
        if (hrc == LODE_OK && !st.halted)
            hrc = LODE_E_TIMEOUT;
        snprintf(s->last_stop, sizeof s->last_stop, "T02");
    }
    if (hrc != LODE_OK)
        lode_log(&cfg->log, LODE_LOG_WARN, LODE_LOGC_GDB,
                 "could not halt the core for the new GDB client: %s", lode_strerror(hrc));
    /* a HardFault stops the core as it is taken, with the faulting context intact */
    if (hrc == LODE_OK && s->c->vector_catch)
        s->vc_hardfault = s->c->vector_catch(s->c->ctx, LODE_CM_DEMCR_VC_HARDERR, 0) == LODE_OK;
    while (s->end == SRV_GO && !stopped(s)) {
        if (s->running)
            run_loop(s);
        else
            pump(s, 100);
    }
    if (s->end != SRV_DETACHED)
        clear_points(s);
    if (s->vc_hardfault)
        s->c->vector_catch(s->c->ctx, 0, LODE_CM_DEMCR_VC_HARDERR);
    lode_log(&cfg->log, LODE_LOG_INFO, LODE_LOGC_GDB, "GDB client %s",
             s->end == SRV_DETACHED ? "detached" : s->end == SRV_KILLED ? "killed the session"
                                                                        : "disconnected");
    int rc = s->err;
    flash_bufs_free(s);
    free(s);
    return rc;
}

int lode_gdbserver_serve_fd(const lode_gdbserver_config_s *cfg, int fd)
{
    lode_stream_s *io = NULL;
    int rc = lode_stream_from_fd(fd, false, &cfg->log, &io);
    if (rc == LODE_OK)
        rc = serve(cfg, io, NULL);
    lode_stream_close(io);
    return rc;
}

#define ACCEPT_TRIES 20 /* failed accepts in a row, 100 ms apart, before the server gives up */

int lode_gdbserver_listen(const lode_gdbserver_config_s *cfg, const char *bind_addr, int port,
                          unsigned max_clients)
{
    if (!cfg || !cfg->core || port < 0 || port > 65535)
        return LODE_E_INVALID_ARG;
    const char *addr = bind_addr ? bind_addr : "127.0.0.1";
    lode_stream_s *ls = NULL;
    int rc = lode_stream_listen_tcp(addr, port, NULL, &ls);
    if (rc == LODE_E_INVALID_ARG) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                 "'%s' is not a numeric address: give one such as 127.0.0.1", addr);
        return rc;
    }
    if (rc != LODE_OK) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                 "cannot listen on %s:%d: %s (pick another port with --port)", addr, port,
                 strerror(errno));
        return LODE_E_IO;
    }
    lode_stream_set_log(ls, &cfg->log);
    if (cfg->on_listening)
        cfg->on_listening(cfg->user, addr, lode_stream_local_port(ls));
    unsigned served = 0, fails = 0;
    while (!(cfg->stop && *cfg->stop) && (max_clients == 0 || served < max_clients)) {
        lode_stream_s *io = NULL;
        int arc = lode_stream_accept(ls, 100, &io);
        if (arc == LODE_E_TIMEOUT) {
            fails = 0;
            continue;
        }
        if (arc != LODE_OK) {
            /* the connection stays pending (e.g. out of descriptors): poll would report it
             * at once again; wait 100 ms between tries and give up after 2 s of them */
            int err = errno;
            if (++fails >= ACCEPT_TRIES) {
                lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_GDB,
                         "cannot accept GDB clients on %s:%d: %s (free descriptors or memory, "
                         "then start the server again)",
                         addr, port, strerror(err));
                rc = LODE_E_IO;
                break;
            }
            if (fails == 1)
                lode_log(&cfg->log, LODE_LOG_WARN, LODE_LOGC_GDB,
                         "cannot accept a GDB client: %s; trying again", strerror(err));
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        fails = 0;
        lode_log(&cfg->log, LODE_LOG_INFO, LODE_LOGC_GDB, "GDB client connected");
        rc = serve(cfg, io, ls);
        lode_stream_close(io);
        served++;
        if (rc != LODE_OK)
            break;
    }
    lode_stream_close(ls);
    return rc;
}
