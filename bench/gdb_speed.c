/* SPDX-License-Identifier: MIT */
/* The GDB server (src/gdb/server.c) on the simulated STM32F103 (simulated CMSIS-DAP v2, SWD
 * 10 MHz), driven by a raw RSP client over a socketpair, lode_gdbserver_serve_fd in a thread:
 *  1. GDB's `load` of 64 KiB: vFlashErase:08000000,10000, vFlashWrite packets of 4096 data
 *     bytes (binary, escaped), vFlashDone; virtual and host wall time, against lode_flash_image
 *     of the same 64 KiB on a fresh board with the options the server uses. The flash contents
 *     are checked afterwards (exit 1 when wrong).
 *  2. Host wall time per `stepi` round trip (s packet to stop reply), 1000 times, with
 *     firmware/apps/dbg.c: median and p90.
 *  3. One semihosting call served by the server while GDB continues, virtual time:
 *     examples/args with 20 arguments (one console write per argument), `c` to the W reply;
 *     the time between the first and the last console write over the calls in between (the
 *     steady-state figure bench_run_overhead gives for `lode run`).
 * Usage: bench_gdb */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/flash.h"
#include "lode/gdbserver.h"
#include "lode/image.h"
#include "lode/cmsis_dap.h"
#include "lode/semihost.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "stamp.h"
#include "vclock.h"

#define LOAD_SIZE (64u * 1024)
#define LOAD_BASE 0x08000000u
#define CHUNK 4096u
#define STEPS 1000
#define IO_TIMEOUT_MS 60000

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the rig: sim + probe + session (+ the server thread) ---- */

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_dap_s *dap;
    lode_transport_s *tr;
    lode_session_s *s;
    lode_core_ops_s core;
    lode_gdbserver_config_s cfg;
    pthread_t th;
    bool started;
    int fds[2];
    int rc; /* lode_gdbserver_serve_fd's result */
} rig_s;

/* The STM32F103 with `elf` loaded (firmware/apps/dbg.c loops forever), halted at the reset
 * vector. */
static bool rig_open_elf(rig_s *r, const char *elf)
{
    memset(r, 0, sizeof *r);
    r->fds[0] = r->fds[1] = -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LODE_FW_DIR, elf);
    lode_sim_config_s sc = {.chip = "STM32F103C8", .swd_hz = 10000000};
    lode_sim_dap_config_s dc = {.version = 2, .packet_size = 512, .packet_count = 4};
    if (lode_sim_new(&sc, &r->sim) != LODE_OK || lode_sim_load_elf(r->sim, path) != LODE_OK ||
        lode_sim_dap_new(r->sim, &dc, &r->dap) != LODE_OK || lode_sim_dap_transport(r->dap, &r->tr) != LODE_OK)
        return false;
    lode_probe_s *ss_probe = NULL;
    lode_probe_cmsis_dap_new(r->tr, false, NULL, NULL, &ss_probe);
    lode_session_config_s ss = {.probe = ss_probe, .close_probe = true, .swd_hz = 10000000, .now_us = v_now,
                                .delay_us = v_delay, .time_user = r->sim};
    if (lode_session_open(&ss, &r->s) != LODE_OK)
        return false;
    lode_session_core_ops(r->s, &r->core);
    if (r->core.reset(r->core.ctx, true) != LODE_OK)
        return false;
    r->cfg.core = &r->core;
    r->cfg.chip = lode_session_chip(r->s, NULL);
    return r->cfg.chip != NULL;
}

static bool rig_open(rig_s *r) { return rig_open_elf(r, "dbg-stm32f103.elf"); }

static void *serve_thread(void *arg)
{
    rig_s *r = arg;
    r->rc = lode_gdbserver_serve_fd(&r->cfg, r->fds[1]);
    return NULL;
}

static bool rig_serve(rig_s *r)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, r->fds) != 0)
        return false;
    r->started = pthread_create(&r->th, NULL, serve_thread, r) == 0;
    return r->started;
}

/* The client disconnects (the core is left as it is); the server thread ends. */
static void rig_stop(rig_s *r)
{
    if (r->fds[0] >= 0)
        shutdown(r->fds[0], SHUT_RDWR);
    if (r->started)
        pthread_join(r->th, NULL);
    r->started = false;
}

static void rig_close(rig_s *r)
{
    rig_stop(r);
    if (r->fds[0] >= 0)
        close(r->fds[0]);
    if (r->fds[1] >= 0)
        close(r->fds[1]);
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_dap_free(r->dap);
    lode_sim_free(r->sim);
}

/* ---- the raw RSP client ---- */

typedef struct client_s {
    int fd;
    bool ack; /* acks still on */
    uint8_t in[4096];
    size_t in_len, in_pos;
} client_s;

static int get_byte(client_s *c)
{
    if (c->in_pos == c->in_len) {
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
            return -1;
        ssize_t n = recv(c->fd, c->in, sizeof c->in, 0);
        if (n <= 0)
            return -1;
        c->in_len = (size_t)n;
        c->in_pos = 0;
    }
    return c->in[c->in_pos++];
}

static bool put_raw(client_s *c, const void *data, size_t len)
{
    return send(c->fd, data, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static uint8_t checksum(const void *data, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += ((const uint8_t *)data)[i];
    return (uint8_t)sum;
}

/* $payload#cs; payload already escaped */
static bool put_packet(client_s *c, const void *payload, size_t len)
{
    static char frame[2 * CHUNK + 64];
    if (len + 4 > sizeof frame)
        return false;
    frame[0] = '$';
    memcpy(frame + 1, payload, len);
    snprintf(frame + 1 + len, 4, "#%02x", checksum(payload, len));
    return put_raw(c, frame, len + 4);
}

/* The next reply packet (skipping a leading '+' in ack mode), checksum verified, acked.
 * Returns the payload length (unescaped, NUL-terminated) or -1. */
static long get_packet(client_s *c, char *out, size_t cap)
{
    int b;
    while ((b = get_byte(c)) == '+')
        ;
    if (b != '$')
        return -1;
    size_t n = 0;
    unsigned sum = 0;
    bool esc = false;
    while ((b = get_byte(c)) >= 0 && b != '#') {
        sum += (unsigned)b;
        if (esc || b != '}') {
            if (n + 1 < cap)
                out[n++] = (char)(esc ? b ^ 0x20 : b);
            esc = false;
        } else {
            esc = true;
        }
    }
    char cs[3] = {0};
    for (int i = 0; i < 2 && b >= 0; i++)
        cs[i] = (char)(b = get_byte(c));
    if (b < 0 || strtoul(cs, NULL, 16) != (sum & 0xFFu))
        return -1;
    out[n] = '\0';
    if (c->ack && !put_raw(c, "+", 1))
        return -1;
    return (long)n;
}

static long exchange_raw(client_s *c, const void *payload, size_t len, char *out, size_t cap)
{
    if (!put_packet(c, payload, len))
        return -1;
    return get_packet(c, out, cap);
}

/* payload (a C string) sent, the reply must start with `want` */
static bool exchange_ok(client_s *c, const char *payload, const char *want)
{
    char buf[1024];
    long n = exchange_raw(c, payload, strlen(payload), buf, sizeof buf);
    if (n < 0 || strncmp(buf, want, strlen(want)) != 0) {
        fprintf(stderr, "bench: %.40s -> %s (wanted %s)\n", payload, n < 0 ? "no reply" : buf, want);
        return false;
    }
    return true;
}

static bool no_ack_mode(client_s *c)
{
    if (!exchange_ok(c, "QStartNoAckMode", "OK"))
        return false;
    c->ack = false;
    return true;
}

/* ---- 1. GDB load vs lode flash ---- */

static void pattern(uint8_t *d, size_t n)
{
    uint32_t x = 0x2468ace1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (uint8_t)(x >> 8);
    }
}

static bool flash_matches(rig_s *r, const uint8_t *data)
{
    static uint8_t rd[LOAD_SIZE];
    if (lode_sim_mem_read(r->sim, LOAD_BASE, rd, sizeof rd) != LODE_OK)
        return false;
    return memcmp(rd, data, sizeof rd) == 0;
}

static int gdb_load(const uint8_t *data, double *vt_ms, double *wall_ms)
{
    rig_s r;
    client_s c = {.ack = true};
    bool ok = rig_open(&r) && rig_serve(&r);
    c.fd = r.fds[0];
    ok = ok && no_ack_mode(&c);
    uint64_t t0 = lode_sim_now(r.sim);
    double w0 = wall_s();
    char erase[64];
    snprintf(erase, sizeof erase, "vFlashErase:%08x,%x", LOAD_BASE, LOAD_SIZE);
    ok = ok && exchange_ok(&c, erase, "OK");
    static char pkt[2 * CHUNK + 64];
    for (uint32_t off = 0; ok && off < LOAD_SIZE; off += CHUNK) {
        size_t w = (size_t)snprintf(pkt, sizeof pkt, "vFlashWrite:%x:", LOAD_BASE + off);
        for (uint32_t i = 0; i < CHUNK; i++) {
            uint8_t b = data[off + i];
            if (b == 0x23 || b == 0x24 || b == 0x7d || b == 0x2a) {
                pkt[w++] = 0x7d;
                pkt[w++] = (char)(b ^ 0x20);
            } else {
                pkt[w++] = (char)b;
            }
        }
        char buf[64];
        long n = exchange_raw(&c, pkt, w, buf, sizeof buf);
        ok = n >= 0 && strcmp(buf, "OK") == 0;
        if (!ok)
            fprintf(stderr, "bench: vFlashWrite at +0x%x -> %s\n", off, n < 0 ? "no reply" : buf);
    }
    ok = ok && exchange_ok(&c, "vFlashDone", "OK");
    *wall_ms = (wall_s() - w0) * 1e3;
    *vt_ms = (double)(lode_sim_now(r.sim) - t0) / 1e9;
    rig_stop(&r); /* the server thread is done before the sim is read */
    if (ok && !flash_matches(&r, data)) {
        fprintf(stderr, "bench: flash contents after the GDB load are wrong\n");
        ok = false;
    }
    rig_close(&r);
    return ok ? 0 : -1;
}

static int lode_flash(const uint8_t *data, double *vt_ms, double *wall_ms)
{
    rig_s r;
    lode_image_s *img = NULL;
    bool ok = rig_open(&r) && lode_image_from_bin(data, LOAD_SIZE, LOAD_BASE, &img) == LODE_OK;
    lode_flash_opts_s fo = {.skip_unchanged = true, .verify = true, .no_reset_halt = true};
    lode_flash_result_s res;
    memset(&res, 0, sizeof res);
    uint64_t t0 = ok ? lode_sim_now(r.sim) : 0;
    double w0 = wall_s();
    ok = ok && lode_flash_image(&r.core, r.cfg.chip, img, &fo, NULL, &res) == LODE_OK;
    *wall_ms = (wall_s() - w0) * 1e3;
    *vt_ms = ok ? (double)(lode_sim_now(r.sim) - t0) / 1e9 : 0;
    if (ok && !flash_matches(&r, data)) {
        fprintf(stderr, "bench: flash contents after lode_flash_image are wrong\n");
        ok = false;
    }
    lode_image_free(img);
    rig_close(&r);
    return ok ? 0 : -1;
}

/* ---- 2. stepi round trips ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int stepi(double *median_us, double *p90_us)
{
    rig_s r;
    client_s c = {.ack = true};
    bool ok = rig_open(&r) && rig_serve(&r);
    c.fd = r.fds[0];
    ok = ok && no_ack_mode(&c);
    static double us[STEPS];
    for (int i = 0; ok && i < STEPS; i++) {
        char buf[512];
        double w0 = wall_s();
        long n = exchange_raw(&c, "s", 1, buf, sizeof buf);
        us[i] = (wall_s() - w0) * 1e6;
        ok = n >= 3 && (buf[0] == 'T' || buf[0] == 'S');
        if (!ok)
            fprintf(stderr, "bench: step %d -> %s\n", i, n < 0 ? "no reply" : buf);
    }
    rig_close(&r);
    if (!ok)
        return -1;
    qsort(us, STEPS, sizeof us[0], cmp_double);
    *median_us = (us[STEPS / 2 - 1] + us[STEPS / 2]) / 2;
    *p90_us = us[STEPS * 9 / 10 - 1];
    return 0;
}

/* ---- 3. semihosting through the server ---- */

static int gdb_semihost(double *ms_per_call, unsigned *calls)
{
    rig_s r;
    client_s c = {.ack = true};
    bool ok = rig_open_elf(&r, "examples/args-stm32f103.elf");
    stamp_s st;
    lode_semihost_config_s shc = {.io = stamp_io(&st, r.sim, &r.core),
                                  .cmdline = "args a b c d e f g h i j k l m n o p q r s t"};
    lode_semihost_s *sh = NULL;
    ok = ok && lode_semihost_new(&shc, &sh) == LODE_OK;
    r.cfg.sh = sh;
    ok = ok && rig_serve(&r);
    c.fd = r.fds[0];
    ok = ok && no_ack_mode(&c) && exchange_ok(&c, "c", "W");
    rig_close(&r);
    lode_semihost_free(sh);
    if (!ok || st.n < 2)
        return -1;
    *calls = st.n;
    *ms_per_call = stamp_ms_per_call(&st);
    return 0;
}

int main(void)
{
    static uint8_t data[LOAD_SIZE];
    pattern(data, sizeof data);
    printf("GDB server on the simulated STM32F103C8 (CMSIS-DAP v2, SWD 10 MHz)\n");
    double g_vt = 0, g_wall = 0, l_vt = 0, l_wall = 0;
    if (gdb_load(data, &g_vt, &g_wall) != 0 || lode_flash(data, &l_vt, &l_wall) != 0) {
        fprintf(stderr, "bench: the load comparison failed\n");
        return 1;
    }
    printf("  gdb load 64 KiB (vFlashErase + 16 x 4096-byte vFlashWrite + vFlashDone): "
           "%.2f ms virtual, %.2f ms host wall\n", g_vt, g_wall);
    printf("  lode flash 64 KiB (lode_flash_image, same options):                    "
           "%.2f ms virtual, %.2f ms host wall\n", l_vt, l_wall);
    printf("  gdb load virtual time = %.2f x lode flash (goal: within 10%%)\n", g_vt / l_vt);
    double med = 0, p90 = 0;
    if (stepi(&med, &p90) != 0) {
        fprintf(stderr, "bench: the stepi round trips failed\n");
        return 1;
    }
    printf("  stepi round trip (s -> stop reply, %d times), host wall: median %.1f us, p90 %.1f us\n",
           STEPS, med, p90);
    double per_call = 0;
    unsigned calls = 0;
    if (gdb_semihost(&per_call, &calls) != 0) {
        fprintf(stderr, "bench: the semihosting run through the server failed\n");
        return 1;
    }
    printf("  one console call served by the server while GDB continues, steady state "
           "(examples/args, %u calls): %.3f ms virtual\n", calls, per_call);
    return 0;
}
