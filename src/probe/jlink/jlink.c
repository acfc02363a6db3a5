/* SPDX-License-Identifier: MIT */
/* The J-Link driver (see lode/jlink.h): commands over a lode_jlink_io_s, SWD through the
 * software SWD engine, SWO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/jlink.h"
#include "probe/jlink/jlink_codec.h"
#include "probe/swd_bits.h"

#define MAX_VERSION_LEN 0x1000u
#define DEFAULT_FREE_MEM 4096u   /* when the probe cannot say */
#define FREE_MEM_RESERVE 64u
#define VTREF_MIN_MV 500u
#define SWO_BUFFER 4096u
#define SWO_TOLERANCE_PCT 3u

struct lode_jlink_s {
    lode_jlink_io_s io;
    const lode_log_s *log;
    lode_jlink_info_s info;
    lodei_swd_s *swd;
    uint8_t *tx;                /* a HW_JTAG3 command at most */
    uint8_t *rx;
    size_t max_bits;
    bool swo_on;
    lode_jlink_stats_s stats;
    FILE *vcd;
    uint64_t vcd_ns;
};

/* ---- commands --------------------------------------------------------------------------------- */
static int put(lode_jlink_s *jl, const uint8_t *b, int len)
{
    if (len < 0)
        return len;
    jl->stats.commands++;
    jl->stats.bytes_out += (uint64_t)len;
    int rc = jl->io.write(jl->io.ctx, b, (size_t)len);
    if (rc)
        lode_log(jl->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE, "J-Link: command 0x%02x not sent: %s", b[0],
                 lode_strerror(rc));
    return rc;
}

static int get(lode_jlink_s *jl, uint8_t *b, size_t len)
{
    if (len == 0)
        return LODE_OK;
    int rc = jl->io.read(jl->io.ctx, b, len);
    if (rc == LODE_OK)
        jl->stats.bytes_in += len;
    else
        lode_log(jl->log, LODE_LOG_DEBUG, LODE_LOGC_PROBE, "J-Link: reply of %zu bytes not read: %s", len,
                 lode_strerror(rc));
    return rc;
}

/* A one-byte (or short) command and its fixed-length reply. */
static int query(lode_jlink_s *jl, const uint8_t *cmd, int cmdlen, uint8_t *reply, size_t rlen)
{
    int rc = put(jl, cmd, cmdlen);
    return rc ? rc : get(jl, reply, rlen);
}

static int query_simple(lode_jlink_s *jl, uint8_t code, uint8_t *reply, size_t rlen)
{
    uint8_t b[1];
    return query(jl, b, lodei_jl_enc_simple(b, sizeof b, code), reply, rlen);
}

static int query_u32(lode_jlink_s *jl, uint8_t code, uint32_t *v)
{
    uint8_t r[4];
    int rc = query_simple(jl, code, r, sizeof r);
    return rc ? rc : lodei_jl_dec_u32(r, sizeof r, v);
}

static int read_version(lode_jlink_s *jl)
{
    uint8_t r[2];
    uint16_t n = 0;
    int rc = query_simple(jl, LODEI_JL_VERSION, r, 2);
    if (!rc)
        rc = lodei_jl_dec_version_len(r, 2, &n);
    if (rc)
        return rc;
    if (n > MAX_VERSION_LEN) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: the firmware version is %u bytes long: not a J-Link answering? (unplug and "
                 "replug it)", (unsigned)n);
        return LODE_E_PROTOCOL;
    }
    uint8_t *text = malloc(n ? n : 1);
    if (!text)
        return LODE_E_NOMEM;
    rc = get(jl, text, n);
    if (!rc)
        rc = lodei_jl_dec_version_text(text, n, jl->info.firmware, sizeof jl->info.firmware);
    free(text);
    return rc;
}

static int read_state(lode_jlink_s *jl, lodei_jl_state_s *st)
{
    uint8_t r[8];
    int rc = query_simple(jl, LODEI_JL_GET_STATE, r, sizeof r);
    return rc ? rc : lodei_jl_dec_state(r, sizeof r, st);
}

int lode_jlink_open(const lode_jlink_io_s *io, const lode_log_s *log, lode_jlink_s **out)
{
    if (!io || !out || !io->write || !io->read) {
        if (io && io->close)
            io->close(io->ctx);
        return LODE_E_INVALID_ARG;
    }
    lode_jlink_s *jl = calloc(1, sizeof *jl);
    if (!jl) {
        if (io->close)
            io->close(io->ctx);
        return LODE_E_NOMEM;
    }
    jl->io = *io;
    jl->log = log;
    int rc = read_version(jl);
    if (!rc)
        rc = query_u32(jl, LODEI_JL_GET_CAPS, &jl->info.caps);
    if (!rc && (jl->info.caps & LODEI_JL_CAP_EXT)) {
        rc = query_simple(jl, LODEI_JL_GET_CAPS_EX, jl->info.caps_ex, sizeof jl->info.caps_ex);
        jl->info.has_caps_ex = rc == LODE_OK;
    }
    if (!rc && (jl->info.caps & LODEI_JL_CAP_GET_HW_VERSION)) {
        rc = query_u32(jl, LODEI_JL_GET_HW_VERSION, &jl->info.hw_version);
        lodei_jl_hw_version_string(jl->info.hw_version, jl->info.hw_string, sizeof jl->info.hw_string);
    }
    if (!rc && (jl->info.caps & LODEI_JL_CAP_GET_FREE_MEMORY))
        rc = query_u32(jl, LODEI_JL_GET_FREE_MEMORY, &jl->info.free_mem);
    lodei_jl_state_s st;
    if (!rc && (rc = read_state(jl, &st)) == LODE_OK)
        jl->info.vtref_mv = st.vtref_mv;
    if (rc) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: no valid answer to its identification commands (%s): unplug and replug it, "
                 "or close the program that uses it", lode_strerror(rc));
        lode_jlink_close(jl);
        return rc == LODE_E_INVALID_ARG ? LODE_E_PROTOCOL : rc;
    }
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "J-Link: %s, hardware %s, caps 0x%08x, %u bytes free, VTref %u mV",
             jl->info.firmware, jl->info.hw_string[0] ? jl->info.hw_string : "unknown",
             (unsigned)jl->info.caps, (unsigned)jl->info.free_mem, (unsigned)jl->info.vtref_mv);
    *out = jl;
    return LODE_OK;
}

/* Before a command of its own: the SWD engine's queued bits and units first. */
static int quiesce(lode_jlink_s *jl) { return jl->swd ? lodei_swd_flush(jl->swd) : LODE_OK; }

void lode_jlink_close(lode_jlink_s *jl)
{
    if (!jl)
        return;
    quiesce(jl);
    lode_jlink_stats_s st;
    lode_jlink_stats(jl, &st);
    lode_log(jl->log, LODE_LOG_INFO, LODE_LOGC_PROBE,
             "J-Link: %llu commands (%llu HW_JTAG3: %llu SWD transactions, %llu cycles), %llu bytes out, %llu in",
             (unsigned long long)st.commands, (unsigned long long)st.jtag3,
             (unsigned long long)st.swd_transactions, (unsigned long long)st.swd_bits,
             (unsigned long long)st.bytes_out, (unsigned long long)st.bytes_in);
    if (jl->swo_on)
        lode_jlink_swo_stop(jl);
    lodei_swd_free(jl->swd);
    if (jl->vcd)
        fclose(jl->vcd);
    if (jl->io.close)
        jl->io.close(jl->io.ctx);
    free(jl->tx);
    free(jl->rx);
    free(jl);
}

void lode_jlink_get_info(const lode_jlink_s *jl, lode_jlink_info_s *info)
{
    if (jl && info)
        *info = jl->info;
}

void lode_jlink_stats(const lode_jlink_s *jl, lode_jlink_stats_s *out)
{
    if (!jl || !out)
        return;
    *out = jl->stats;
    if (jl->swd) {
        lodei_swd_stats_s s;
        lodei_swd_stats(jl->swd, &s);
        out->swd_transactions = s.transactions;
        out->swd_bits = s.bits;
        out->waits = s.waits;
        out->faults = s.faults;
        out->protocol_errors = s.protocol_errors + s.parity_errors;
        out->resyncs = s.resyncs;
    }
}

int lode_jlink_vtref(lode_jlink_s *jl, uint16_t *mv)
{
    if (!jl || !mv)
        return LODE_E_INVALID_ARG;
    int rc = quiesce(jl);
    lodei_jl_state_s st;
    if (!rc)
        rc = read_state(jl, &st);
    if (!rc)
        *mv = st.vtref_mv;
    return rc;
}

int lode_jlink_target_power(lode_jlink_s *jl, bool on)
{
    if (!jl)
        return LODE_E_INVALID_ARG;
    if (!(jl->info.caps & LODEI_JL_CAP_SET_TARGET_POWER)) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: this probe cannot power the target (no SET_TARGET_POWER capability): power the "
                 "board yourself");
        return LODE_E_UNSUPPORTED;
    }
    uint8_t b[2];
    int rc = quiesce(jl);
    return rc ? rc : put(jl, b, lodei_jl_enc_set_power(b, sizeof b, on));
}

int lode_jlink_reset(lode_jlink_s *jl, bool asserted)
{
    if (!jl)
        return LODE_E_INVALID_ARG;
    uint8_t b[1];
    int rc = quiesce(jl);
    return rc ? rc : put(jl, b, lodei_jl_enc_simple(b, sizeof b, asserted ? LODEI_JL_HW_RESET0 : LODEI_JL_HW_RESET1));
}

/* ---- HW_JTAG3 -------------------------------------------------------------------------------- */
static int ensure_buffers(lode_jlink_s *jl)
{
    if (jl->tx)
        return LODE_OK;
    size_t n = (LODEI_JL_JTAG3_MAX_BITS + 7) / 8;
    jl->tx = malloc(4 + 2 * n);
    jl->rx = malloc(n + 1);
    return jl->tx && jl->rx ? LODE_OK : LODE_E_NOMEM;
}

static int jtag3_send(lode_jlink_s *jl, const uint8_t *dir, const uint8_t *out, size_t nbits)
{
    int rc = ensure_buffers(jl);
    if (rc)
        return rc;
    int len = lodei_jl_enc_jtag3(jl->tx, 4 + 2 * ((LODEI_JL_JTAG3_MAX_BITS + 7) / 8), dir, out, nbits);
    jl->stats.jtag3++;
    return put(jl, jl->tx, len);
}

static int jtag3_recv(lode_jlink_s *jl, uint8_t *in, size_t nbits)
{
    size_t n = (nbits + 7) / 8;
    int rc = get(jl, jl->rx, n + 1);
    if (rc)
        return rc;
    rc = lodei_jl_dec_jtag3(jl->rx, n + 1, nbits, in);
    if (rc == LODE_E_NOMEM)
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: out of memory for a %zu-bit SWD command (status 0x06)", nbits);
    else if (rc)
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "J-Link: SWD command failed (status 0x%02x)",
                 jl->rx[n]);
    return rc;
}

static int jtag3(lode_jlink_s *jl, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t nbits)
{
    int rc = jtag3_send(jl, dir, out, nbits);
    return rc ? rc : jtag3_recv(jl, in, nbits);
}

int lode_jlink_swd_io(lode_jlink_s *jl, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t nbits)
{
    if (!jl || !dir || !out || !in)
        return LODE_E_INVALID_ARG;
    int rc = quiesce(jl);
    return rc ? rc : jtag3(jl, dir, out, in, nbits);
}

/* the engine's bit I/O */
static int eng_io(void *ctx, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t nbits)
{
    return jtag3(ctx, dir, out, in, nbits);
}

static int eng_reset(void *ctx, bool asserted)
{
    uint8_t b[1];
    return put(ctx, b, lodei_jl_enc_simple(b, sizeof b, asserted ? LODEI_JL_HW_RESET0 : LODEI_JL_HW_RESET1));
}

/* ---- VCD --------------------------------------------------------------------------------------- */
static void vcd_tap(void *user, const uint8_t *dir, const uint8_t *out, const uint8_t *in, size_t nbits)
{
    lode_jlink_s *jl = user;
    if (!jl->vcd)
        return;
    uint32_t khz = jl->info.speed_khz ? jl->info.speed_khz : 4000;
    uint64_t half = 500000u / khz; /* ns */
    if (!half)
        half = 1;
    for (size_t c = 0; c < nbits; c++) {
        unsigned d = (dir[c / 8] >> (c % 8)) & 1u ? (out[c / 8] >> (c % 8)) & 1u : (in[c / 8] >> (c % 8)) & 1u;
        fprintf(jl->vcd, "#%llu\n0!\n%u\"\n", (unsigned long long)jl->vcd_ns, d);
        jl->vcd_ns += half;
        fprintf(jl->vcd, "#%llu\n1!\n", (unsigned long long)jl->vcd_ns);
        jl->vcd_ns += half;
    }
    /* a gap between batches, the clock parked low */
    fprintf(jl->vcd, "#%llu\n0!\n", (unsigned long long)jl->vcd_ns);
    jl->vcd_ns += 20 * half;
}

int lode_jlink_set_vcd(lode_jlink_s *jl, const char *path)
{
    if (!jl)
        return LODE_E_INVALID_ARG;
    if (jl->vcd)
        fclose(jl->vcd);
    jl->vcd = NULL;
    if (!path) {
        if (jl->swd)
            lodei_swd_set_tap(jl->swd, NULL, NULL);
        return LODE_OK;
    }
    jl->vcd = fopen(path, "w");
    if (!jl->vcd) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "J-Link: cannot write the VCD file %s", path);
        return LODE_E_IO;
    }
    fputs("$timescale 1 ns $end\n$scope module swd $end\n$var wire 1 ! swclk $end\n"
          "$var wire 1 \" swdio $end\n$upscope $end\n$enddefinitions $end\n#0\n0!\n1\"\n", jl->vcd);
    jl->vcd_ns = 1000;
    if (jl->swd)
        lodei_swd_set_tap(jl->swd, vcd_tap, jl);
    return LODE_OK;
}

/* ---- SWD --------------------------------------------------------------------------------------- */
static int set_speed(lode_jlink_s *jl, uint32_t hz, uint32_t *actual_hz)
{
    uint32_t khz = (hz + 999u) / 1000u;
    uint32_t actual = khz * 1000u;
    if (jl->info.caps & LODEI_JL_CAP_GET_SPEEDS) {
        uint8_t r[6];
        int rc = query_simple(jl, LODEI_JL_GET_SPEEDS, r, sizeof r);
        if (!rc)
            rc = lodei_jl_dec_speeds(r, sizeof r, &jl->info.base_hz, &jl->info.min_div);
        if (rc)
            return rc;
        uint32_t max_hz = jl->info.base_hz / jl->info.min_div;
        if (hz > max_hz) {
            lode_log(jl->log, LODE_LOG_INFO, LODE_LOGC_PROBE,
                     "J-Link: SWD clock %u kHz asked, the probe's maximum is %u kHz", (unsigned)khz,
                     (unsigned)(max_hz / 1000u));
            hz = max_hz;
        }
        /* the probe divides its base clock by a whole number, at least min_div */
        uint32_t div = (jl->info.base_hz + hz - 1) / hz;
        if (div < jl->info.min_div)
            div = jl->info.min_div;
        actual = jl->info.base_hz / div;
        khz = actual / 1000u;
        if (khz == 0)
            khz = 1;
    }
    if (khz > 0xFFFEu)
        khz = 0xFFFEu; /* 0xFFFF is adaptive clocking */
    uint8_t b[3];
    int rc = put(jl, b, lodei_jl_enc_set_speed(b, sizeof b, (uint16_t)khz));
    if (rc)
        return rc;
    jl->info.speed_khz = khz;
    if (actual_hz)
        *actual_hz = actual;
    return LODE_OK;
}

static int select_swd(lode_jlink_s *jl)
{
    if (!(jl->info.caps & LODEI_JL_CAP_SELECT_IF)) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: firmware %s cannot select SWD (JTAG only): update the J-Link's firmware",
                 jl->info.firmware);
        return LODE_E_UNSUPPORTED;
    }
    uint8_t b[2], r[4];
    uint32_t mask = 0, prev = 0;
    int rc = query(jl, b, lodei_jl_enc_select_if(b, sizeof b, 0xFF), r, 4);
    if (!rc)
        rc = lodei_jl_dec_u32(r, 4, &mask);
    if (rc)
        return rc;
    jl->info.interfaces = mask;
    if (!(mask & (1u << LODEI_JL_IF_SWD))) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: this probe's firmware offers no SWD (interfaces 0x%08x): update its firmware or "
                 "use a probe with SWD", (unsigned)mask);
        return LODE_E_UNSUPPORTED;
    }
    rc = query(jl, b, lodei_jl_enc_select_if(b, sizeof b, LODEI_JL_IF_SWD), r, 4);
    if (!rc)
        rc = lodei_jl_dec_u32(r, 4, &prev);
    return rc;
}

int lode_jlink_connect_swd(lode_jlink_s *jl, const lode_jlink_swd_opts_s *opts, uint32_t *actual_hz,
                           lode_dap_ops_s *ops)
{
    static const lode_jlink_swd_opts_s none;
    if (!jl || !ops)
        return LODE_E_INVALID_ARG;
    const lode_jlink_swd_opts_s *o = opts ? opts : &none;
    int rc = quiesce(jl);
    if (!rc && o->power)
        rc = lode_jlink_target_power(jl, true);
    uint16_t mv = 0;
    if (!rc)
        rc = lode_jlink_vtref(jl, &mv);
    if (rc)
        return rc;
    jl->info.vtref_mv = mv;
    if (mv < VTREF_MIN_MV && !o->allow_unpowered) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "J-Link: target not powered (VTref %u.%02u V): power the board, or let the J-Link supply "
                 "5 V with --probe jlink[:SERIAL]:power", (unsigned)(mv / 1000u), (unsigned)(mv % 1000u / 10u));
        return LODE_E_NO_DEVICE;
    }
    if ((rc = select_swd(jl)) != LODE_OK)
        return rc;
    uint32_t actual = 0;
    if ((rc = set_speed(jl, o->hz ? o->hz : 4000000u, &actual)) != LODE_OK)
        return rc;
    lode_log(jl->log, LODE_LOG_INFO, LODE_LOGC_PROBE, "J-Link: SWD at %u kHz", (unsigned)(actual / 1000u));
    if (!jl->swd) {
        uint32_t free_mem = jl->info.free_mem ? jl->info.free_mem : DEFAULT_FREE_MEM;
        /* a command holds dir + out + in: 3 bytes per 8 cycles */
        size_t per = free_mem > FREE_MEM_RESERVE ? (free_mem - FREE_MEM_RESERVE) / 3 : 0;
        size_t bits = per * 8;
        if (bits > LODEI_JL_JTAG3_MAX_BITS)
            bits = LODEI_JL_JTAG3_MAX_BITS;
        if (bits < 256) {
            lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "J-Link: only %u bytes of free memory: too little for SWD; unplug and replug it",
                     (unsigned)free_mem);
            return LODE_E_NOMEM;
        }
        jl->max_bits = bits;
        lodei_swd_io_s sio = {.io = eng_io, .max_bits = bits, .skew = 1, .reset_pin = eng_reset, .ctx = jl};
        if ((rc = lodei_swd_new(&sio, jl->log, &jl->swd)) != LODE_OK)
            return rc;
        if (jl->vcd)
            lodei_swd_set_tap(jl->swd, vcd_tap, jl);
    }
    lodei_swd_set_targetsel(jl->swd, o->targetsel, o->targetsel_value);
    if ((rc = lodei_swd_queue_wake(jl->swd)) != LODE_OK)
        return rc;
    lodei_swd_dap_ops(jl->swd, ops);
    if (actual_hz)
        *actual_hz = actual;
    return LODE_OK;
}

/* ---- SWO ---------------------------------------------------------------------------------------- */
int lode_jlink_swo_start(lode_jlink_s *jl, uint32_t baud, uint32_t *actual)
{
    if (!jl || baud == 0)
        return LODE_E_INVALID_ARG;
    if (!(jl->info.caps & LODEI_JL_CAP_SWO)) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "J-Link: this probe has no SWO capture");
        return LODE_E_UNSUPPORTED;
    }
    int rc = quiesce(jl);
    uint8_t b[32], r[28];
    lodei_jl_swo_speeds_s sp;
    if (!rc)
        rc = query(jl, b, lodei_jl_enc_swo_speeds(b, sizeof b, LODEI_JL_SWO_MODE_UART), r, sizeof r);
    if (!rc)
        rc = lodei_jl_dec_swo_speeds(r, sizeof r, &sp);
    if (rc)
        return rc;
    /* the probe samples at base / div: the nearest divider in range */
    uint32_t div = (sp.base_hz + baud / 2) / baud;
    if (div < sp.min_div)
        div = sp.min_div;
    if (div > sp.max_div)
        div = sp.max_div;
    uint32_t got = sp.base_hz / div;
    uint32_t diff = got > baud ? got - baud : baud - got;
    if ((uint64_t)diff * 100u > (uint64_t)baud * SWO_TOLERANCE_PCT)
        lode_log(jl->log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                 "J-Link: SWO at %u baud asked, the nearest the probe makes is %u baud", (unsigned)baud,
                 (unsigned)got);
    if (jl->swo_on)
        lode_jlink_swo_stop(jl);
    uint32_t status = 0;
    rc = query(jl, b, lodei_jl_enc_swo_start(b, sizeof b, LODEI_JL_SWO_MODE_UART, got, SWO_BUFFER), r, 4);
    if (!rc)
        rc = lodei_jl_dec_u32(r, 4, &status);
    if (!rc && (status & LODEI_JL_SWO_ERROR)) {
        lode_log(jl->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "J-Link: SWO start refused (status 0x%08x)",
                 (unsigned)status);
        rc = LODE_E_PROTOCOL;
    }
    if (rc)
        return rc;
    jl->swo_on = true;
    if (actual)
        *actual = got;
    return LODE_OK;
}

int lode_jlink_swo_read(lode_jlink_s *jl, uint8_t *buf, size_t cap, size_t *got)
{
    if (!jl || !buf || !got)
        return LODE_E_INVALID_ARG;
    if (!jl->swo_on)
        return LODE_E_STATE;
    uint32_t ask = cap > SWO_BUFFER ? SWO_BUFFER : (uint32_t)cap;
    uint8_t b[16], r[8];
    uint32_t status = 0, n = 0;
    int rc = quiesce(jl);
    if (!rc)
        rc = query(jl, b, lodei_jl_enc_swo_read(b, sizeof b, ask), r, sizeof r);
    if (!rc)
        rc = lodei_jl_dec_swo_read_hdr(r, sizeof r, ask, &status, &n);
    if (!rc)
        rc = get(jl, buf, n);
    if (rc)
        return rc;
    if (status & LODEI_JL_SWO_ERROR)
        lode_log(jl->log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                 "J-Link: SWO data lost (status 0x%08x: buffer overrun or framing error)", (unsigned)status);
    *got = n;
    return LODE_OK;
}

int lode_jlink_swo_stop(lode_jlink_s *jl)
{
    if (!jl)
        return LODE_E_INVALID_ARG;
    if (!jl->swo_on)
        return LODE_OK;
    jl->swo_on = false;
    uint8_t b[8], r[4];
    uint32_t status = 0;
    int rc = quiesce(jl);
    if (!rc)
        rc = query(jl, b, lodei_jl_enc_swo_stop(b, sizeof b), r, 4);
    if (!rc)
        rc = lodei_jl_dec_u32(r, 4, &status);
    return rc;
}
