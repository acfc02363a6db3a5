/* SPDX-License-Identifier: MIT */
/* The GDB client (src/gdb/client.c) as a core, end to end against lode's own GDB server:
 * lode_gdbserver_serve_fd in a thread on one end of a socketpair, over a session on the
 * simulated STM32F103 (simulated CMSIS-DAP probe) with firmware/apps/dbg.c loaded (it loops
 * forever); lode_gdbclient_connect_fd on the other end. Registers, memory (a read larger than
 * PacketSize), a hardware breakpoint + resume + state polling, step, halt while running,
 * a watchpoint round trip, monitor reset halt, detach. Then a scripted minimal server for the
 * fallbacks: acks with a NACK resend, a small PacketSize, no p/P (g/G in the legacy layout),
 * console output before a reply, errors and empty replies. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/gdbclient.h"
#include "lode/gdbserver.h"
#include "lode/image.h"
#include "lode/cmsis_dap.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_dap_s *dap;
    lode_transport_s *tr;
    lode_session_s *s;
    lode_core_ops_s core;
    lode_image_s *img;
    lode_gdbserver_config_s cfg;
    int fds[2];
    int rc; /* lode_gdbserver_serve_fd's result */
} rig_s;

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

static void *serve_thread(void *arg)
{
    rig_s *r = arg;
    r->rc = lode_gdbserver_serve_fd(&r->cfg, r->fds[1]);
    return NULL;
}

static bool rig_open(rig_s *r, const char *elf)
{
    memset(r, 0, sizeof *r);
    r->fds[0] = r->fds[1] = -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LODE_FW_DIR, elf);
    lode_sim_config_s sc = {.chip = "STM32F103C8", .swd_hz = 10000000};
    lode_sim_dap_config_s dc = {.version = 2};
    if (lode_sim_new(&sc, &r->sim) != LODE_OK || lode_sim_load_elf(r->sim, path) != LODE_OK ||
        lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &r->img) != LODE_OK ||
        lode_sim_dap_new(r->sim, &dc, &r->dap) != LODE_OK || lode_sim_dap_transport(r->dap, &r->tr) != LODE_OK)
        return false;
    lode_probe_s *ss_probe = NULL;
    lode_probe_cmsis_dap_new(r->tr, false, NULL, NULL, &ss_probe);
    lode_session_config_s ss = {.probe = ss_probe, .close_probe = true, .now_us = v_now, .delay_us = v_delay,
                                .time_user = r->sim};
    if (lode_session_open(&ss, &r->s) != LODE_OK)
        return false;
    lode_session_core_ops(r->s, &r->core);
    if (r->core.reset(r->core.ctx, true) != LODE_OK) /* halted at the reset vector */
        return false;
    r->cfg.core = &r->core;
    return socketpair(AF_UNIX, SOCK_STREAM, 0, r->fds) == 0;
}

static void rig_close(rig_s *r)
{
    if (r->fds[0] >= 0)
        close(r->fds[0]);
    if (r->fds[1] >= 0)
        close(r->fds[1]);
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_dap_free(r->dap);
    lode_sim_free(r->sim);
    lode_image_free(r->img);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Poll state until halted (true) or 20 s of wall time pass (false). */
static bool wait_halted(const lode_core_ops_s *c, lode_core_state_s *st)
{
    uint64_t end = wall_ms() + 20000u;
    while (wall_ms() < end) {
        if (c->state(c->ctx, st) != LODE_OK)
            return false;
        if (st->halted)
            return true;
        c->delay_us(c->ctx, 1000);
    }
    return false;
}

static void converse(rig_s *r, lode_gdbclient_s *gc)
{
    const lode_core_ops_s *c = lode_gdbclient_core(gc);
    REQUIRE(c);
    void *x = c->ctx;
    size_t psize = lode_gdbclient_packet_size(gc);
    CHECK_EQ(psize, 0x4000u); /* lode's server offers PacketSize=4000 */

    /* initial state: halted at the reset handler */
    lode_core_state_s st = {0};
    CHECK_EQ(c->state(x, &st), LODE_OK);
    CHECK(st.halted);
    const lode_symbol_s *rh = lode_image_find_symbol(r->img, "Reset_Handler");
    const lode_symbol_s *mainsym = lode_image_find_symbol(r->img, "main");
    REQUIRE(rh && mainsym);
    uint32_t main_addr = mainsym->value & ~1u;
    uint32_t pc = 0;
    CHECK_EQ(c->reg_read(x, 15, &pc), LODE_OK);
    CHECK_EQ(pc, rh->value & ~1u);

    /* registers: regs_read (g) agrees with reg_read (p); a write reads back; no MSP here */
    unsigned sel[3] = {13, 15, 16};
    uint32_t vals[3] = {0};
    CHECK_EQ(c->regs_read(x, sel, vals, 3), LODE_OK);
    CHECK_EQ(vals[1], pc);
    CHECK((vals[0] >> 24) == 0x20u);
    CHECK((vals[2] & (1u << 24)) != 0); /* xPSR.T */
    uint32_t r5 = 0;
    CHECK_EQ(c->reg_write(x, 5, 0xA5C3F00Du), LODE_OK);
    CHECK_EQ(c->reg_read(x, 5, &r5), LODE_OK);
    CHECK_EQ(r5, 0xA5C3F00Du);
    CHECK_EQ(c->reg_read(x, 17, &r5), LODE_E_UNSUPPORTED);

    /* RAM: 256 bytes written and read back, both through the server and the simulator */
    uint8_t out[256], in[256], sim_in[256];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 7u + 0x23u); /* includes '#', '$', '}' and '*' */
    CHECK_EQ(c->mem_write(x, 0x20000100u, out, sizeof out), LODE_OK);
    memset(in, 0, sizeof in);
    CHECK_EQ(c->mem_read(x, 0x20000100u, in, sizeof in), LODE_OK);
    CHECK(memcmp(in, out, sizeof out) == 0);
    CHECK_EQ(lode_sim_mem_read(r->sim, 0x20000100u, sim_in, sizeof sim_in), LODE_OK); /* server idle */
    CHECK(memcmp(sim_in, out, sizeof out) == 0);

    /* 20 KiB (all of the RAM): more than one m packet */
    enum { BIG = 20 * 1024 };
    REQUIRE(BIG > psize);
    uint8_t *big = malloc(BIG), *sim_big = malloc(BIG);
    REQUIRE(big && sim_big);
    memset(big, 0xEE, BIG);
    int rc_big = c->mem_read(x, 0x20000000u, big, BIG);
    CHECK_EQ(rc_big, LODE_OK);
    CHECK_EQ(lode_sim_mem_read(r->sim, 0x20000000u, sim_big, BIG), LODE_OK);
    CHECK(memcmp(big, sim_big, BIG) == 0);
    /* flash too: 8 KiB of the image */
    CHECK_EQ(c->mem_read(x, 0x08000000u, big, 8192), LODE_OK);
    CHECK_EQ(lode_sim_mem_read(r->sim, 0x08000000u, sim_big, 8192), LODE_OK);
    CHECK(memcmp(big, sim_big, 8192) == 0);
    free(big);
    free(sim_big);

    /* a watchpoint round trip (write, 4 bytes) */
    CHECK_EQ(c->wp_set(x, 0x20000200u, 4, 2), LODE_OK);
    CHECK_EQ(c->wp_clear(x, 0x20000200u), LODE_OK);
    CHECK_EQ(c->wp_clear(x, 0x20000200u), LODE_E_INVALID_ARG); /* not set any more */

    /* hardware breakpoint at main, resume, poll until halted there */
    CHECK_EQ(c->bp_set(x, main_addr), LODE_OK);
    CHECK_EQ(c->resume(x), LODE_OK);
    CHECK_EQ(c->mem_read(x, 0x20000000u, in, 4), LODE_E_STATE); /* all-stop: not while it runs */
    memset(&st, 0, sizeof st);
    REQUIRE(wait_halted(c, &st));
    CHECK_EQ(st.dfsr, 0x2u); /* BKPT */
    CHECK_EQ(c->reg_read(x, 15, &pc), LODE_OK);
    CHECK_EQ(pc, main_addr);

    /* one step: pc moves, halted (HALTED) */
    CHECK_EQ(c->step(x), LODE_OK);
    CHECK_EQ(c->state(x, &st), LODE_OK);
    CHECK(st.halted);
    CHECK_EQ(st.dfsr, 0x1u);
    uint32_t pc_step = 0;
    CHECK_EQ(c->reg_read(x, 15, &pc_step), LODE_OK);
    CHECK(pc_step != main_addr);
    CHECK((pc_step & 0xFFF00000u) == 0x08000000u);

    /* clear it, run (dbg.c loops forever): still running after a while, then halt */
    CHECK_EQ(c->bp_clear(x, main_addr), LODE_OK);
    CHECK_EQ(c->resume(x), LODE_OK);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(c->state(x, &st), LODE_OK);
        c->delay_us(x, 5000);
    }
    CHECK(!st.halted);
    CHECK_EQ(c->halt(x), LODE_OK);
    CHECK_EQ(c->state(x, &st), LODE_OK);
    CHECK(st.halted);
    CHECK_EQ(st.dfsr, 0x1u); /* SIGINT: HALTED */
    uint32_t pc2 = 0;
    CHECK_EQ(c->reg_read(x, 15, &pc2), LODE_OK);
    CHECK((pc2 & 0xFFF00000u) == 0x08000000u);
    CHECK_EQ(c->halt(x), LODE_OK); /* already halted: nothing to do */

    /* monitor reset halt: back at the reset handler */
    CHECK_EQ(c->reset(x, true), LODE_OK);
    CHECK_EQ(c->reg_read(x, 15, &pc), LODE_OK);
    CHECK_EQ(pc, rh->value & ~1u);

    /* a write larger than PacketSize (the reset above re-initialises RAM on the next run) */
    enum { BIGW = 9000 };
    uint8_t *w = malloc(BIGW), *wr = malloc(BIGW);
    REQUIRE(w && wr);
    for (size_t i = 0; i < BIGW; i++)
        w[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5Au);
    CHECK_EQ(c->mem_write(x, 0x20001000u, w, BIGW), LODE_OK);
    CHECK_EQ(lode_sim_mem_read(r->sim, 0x20001000u, wr, BIGW), LODE_OK);
    CHECK(memcmp(w, wr, BIGW) == 0);
    free(w);
    free(wr);

    /* time is the host's */
    uint64_t t0 = c->now_us(x);
    c->delay_us(x, 2000);
    CHECK(c->now_us(x) - t0 >= 2000u);
}

static void test_gdbclient_core(void)
{
    rig_s r;
    bool ok = rig_open(&r, "dbg-stm32f103.elf");
    CHECK(ok);
    if (ok) {
        pthread_t th;
        bool started = pthread_create(&th, NULL, serve_thread, &r) == 0;
        CHECK(started);
        if (started) {
            lode_gdbclient_s *gc = NULL;
            int fd = r.fds[0];
            r.fds[0] = -1; /* the client owns it now */
            int rc = lode_gdbclient_connect_fd(fd, NULL, &gc);
            CHECK_EQ(rc, LODE_OK);
            if (rc == LODE_OK)
                converse(&r, gc);
            lode_gdbclient_free(gc); /* D, then close: the server ends */
            if (rc != LODE_OK)
                shutdown(r.fds[1], SHUT_RDWR);
            pthread_join(th, NULL);
            CHECK_EQ(r.rc, LODE_OK);
        }
    }
    rig_close(&r);
}


/* ---- a scripted minimal server: acks kept (no QStartNoAckMode), PacketSize=100 (256 bytes),
 * no p/P (the client falls back to g/G, legacy 'arm' layout), a '-' for the first packet ---- */

#include "lode/rsp.h"

typedef struct fake_s {
    int fd;
    uint32_t regs[17];
    uint8_t mem[1024]; /* at 0x20000000 */
    bool nacked;
    bool too_big;      /* an m / M packet or m reply over PacketSize (256) */
    bool done;
    int packets;
} fake_s;

static void fake_send(fake_s *f, const char *payload)
{
    uint8_t frame[LODE_RSP_ENCODED_MAX(1024)];
    size_t n = 0;
    if (lode_rsp_encode((const uint8_t *)payload, strlen(payload), frame, sizeof frame, &n) == LODE_OK)
        (void)!send(f->fd, frame, n, MSG_NOSIGNAL);
}

static void fake_hex32(char *out, uint32_t v)
{
    sprintf(out, "%02x%02x%02x%02x", v & 0xFFu, (v >> 8) & 0xFFu, (v >> 16) & 0xFFu, v >> 24);
}

static void fake_packet(void *user, const lode_rsp_event_s *ev)
{
    fake_s *f = user;
    if (ev->type != LODE_RSP_EV_PACKET)
        return;
    const char *p = (const char *)ev->data;
    if (ev->len > 256 && p[0] != 'G') /* g / G: the server's own register block size */
        f->too_big = true;
    if (!f->nacked) { /* the first packet: ask for it again */
        f->nacked = true;
        (void)!send(f->fd, "-", 1, MSG_NOSIGNAL);
        return;
    }
    (void)!send(f->fd, "+", 1, MSG_NOSIGNAL);
    f->packets++;
    static char r[2048];
    unsigned a = 0, n = 0;
    if (!strncmp(p, "qSupported", 10)) {
        fake_send(f, "PacketSize=100;qXfer:features:read-");
    } else if (!strcmp(p, "?")) {
        fake_send(f, "S05");
    } else if (!strcmp(p, "g")) { /* r0-r15, f0-f7 (12 bytes each), fps, cpsr */
        size_t w = 0;
        for (int i = 0; i < 16; i++, w += 8)
            fake_hex32(r + w, f->regs[i]);
        memset(r + w, '0', 8 * 24 + 8);
        w += 8 * 24 + 8;
        fake_hex32(r + w, f->regs[16]);
        r[w + 8] = '\0';
        fake_send(f, r);
    } else if (p[0] == 'G' && ev->len == 1 + 2 * 168) {
        for (int i = 0; i < 17; i++) {
            uint8_t b[4];
            size_t got = 0;
            lode_rsp_hex_decode(p + 1 + (i < 16 ? 8 * i : 2 * 164), 8, b, 4, &got);
            f->regs[i] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        }
        fake_send(f, "OK");
    } else if (sscanf(p, "m%x,%x", &a, &n) == 2) {
        if (a < 0x20000000u || a - 0x20000000u + n > sizeof f->mem || 2 * n > 256) {
            fake_send(f, "E14");
        } else {
            size_t w = 0;
            lode_rsp_hex_encode(f->mem + (a - 0x20000000u), n, r, sizeof r, &w);
            if (w + 4 > 256) /* over PacketSize with its framing */
                f->too_big = true;
            r[w] = '\0';
            fake_send(f, r);
        }
    } else if (sscanf(p, "M%x,%x:", &a, &n) == 2) {
        const char *h = strchr(p, ':') + 1;
        size_t got = 0;
        if (a < 0x20000000u || a - 0x20000000u + n > sizeof f->mem ||
            lode_rsp_hex_decode(h, 2 * n, f->mem + (a - 0x20000000u), n, &got) != LODE_OK)
            fake_send(f, "E14");
        else
            fake_send(f, "OK");
    } else if (!strncmp(p, "qRcmd,", 6)) {
        fake_send(f, "O68690a"); /* "hi\n": console output before the reply */
        fake_send(f, "OK");
    } else if (!strcmp(p, "D")) {
        fake_send(f, "OK");
        f->done = true;
    } else {
        fake_send(f, ""); /* p, P and everything else: not supported */
    }
}

static void *fake_thread(void *arg)
{
    fake_s *f = arg;
    static lode_rsp_decoder_s d;
    lode_rsp_decoder_init(&d, 0);
    uint8_t buf[512];
    ssize_t n;
    while (!f->done && (n = recv(f->fd, buf, sizeof buf, 0)) > 0)
        lode_rsp_feed(&d, buf, (size_t)n, fake_packet, f);
    return NULL;
}

static void test_gdbclient_fallbacks(void)
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    static fake_s f;
    memset(&f, 0, sizeof f);
    f.fd = fds[1];
    for (int i = 0; i < 16; i++)
        f.regs[i] = 0x1000u * (uint32_t)i + 3u;
    f.regs[16] = 0x01000000u;
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, fake_thread, &f) == 0);
    lode_gdbclient_s *gc = NULL;
    int rc = lode_gdbclient_connect_fd(fds[0], NULL, &gc);
    CHECK_EQ(rc, LODE_OK);
    if (rc == LODE_OK) {
        const lode_core_ops_s *c = lode_gdbclient_core(gc);
        void *x = c->ctx;
        CHECK_EQ(lode_gdbclient_packet_size(gc), 0x100u);
        lode_core_state_s st = {0};
        CHECK_EQ(c->state(x, &st), LODE_OK);
        CHECK(st.halted);
        uint32_t v = 0;
        CHECK_EQ(c->reg_read(x, 15, &v), LODE_OK); /* p empty: g */
        CHECK_EQ(v, 0xF003u);
        CHECK_EQ(c->reg_read(x, 16, &v), LODE_OK); /* cpsr after the FPA block */
        CHECK_EQ(v, 0x01000000u);
        CHECK_EQ(c->reg_write(x, 7, 0xCAFEF00Du), LODE_OK); /* P empty: g + G */
        CHECK_EQ(f.regs[7], 0xCAFEF00Du);
        CHECK_EQ(f.regs[6], 0x6003u);
        CHECK_EQ(c->reg_write(x, 16, 0x21000000u), LODE_OK);
        CHECK_EQ(f.regs[16], 0x21000000u);
        uint8_t out[1000], in[1000];
        for (size_t i = 0; i < sizeof out; i++)
            out[i] = (uint8_t)(i * 13u + 1u);
        CHECK_EQ(c->mem_write(x, 0x20000010u, out, sizeof out), LODE_OK); /* several M */
        CHECK(memcmp(f.mem + 0x10, out, sizeof out) == 0);
        CHECK_EQ(c->mem_read(x, 0x20000010u, in, sizeof in), LODE_OK); /* several m */
        CHECK(memcmp(in, out, sizeof out) == 0);
        CHECK_EQ(c->mem_read(x, 0x30000000u, in, 4), LODE_E_FAULT);
        CHECK_EQ(c->bp_set(x, 0x08000100u), LODE_E_UNSUPPORTED); /* empty reply to Z1 */
        CHECK_EQ(c->reset(x, true), LODE_OK); /* O packet skipped, then OK */
        CHECK(!f.too_big);
    }
    lode_gdbclient_free(gc);
    pthread_join(th, NULL);
    CHECK(f.done); /* detached */
    CHECK(f.nacked);
    close(fds[1]);
}

int main(void)
{
    RUN_TEST(test_gdbclient_core);
    RUN_TEST(test_gdbclient_fallbacks);
    return TEST_DONE();
}
