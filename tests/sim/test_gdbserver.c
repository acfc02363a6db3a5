/* SPDX-License-Identifier: MIT */
/* The GDB server (src/gdb/server.c) end to end: lode_gdbserver_serve_fd in a thread on one end
 * of a socketpair, over a session on the simulated STM32F103 (simulated CMSIS-DAP probe), with
 * firmware/apps/dbg.c loaded (it loops forever). The test is a raw RSP client on the other end:
 * acks and NACK resends, QStartNoAckMode, qSupported, target.xml, g/p/m/M/X, Z1 + c, Ctrl-C,
 * a bad checksum and an unknown packet. Semihosting served while GDB continues, through the
 * halted-core service's fast path (read-ahead, registers returned with the resume). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/gdbserver.h"
#include "lode/image.h"
#include "lode/cmsis_dap.h"
#include "lode/semihost.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

#define IO_TIMEOUT_MS 20000

/* ---- the raw RSP client ---- */

typedef struct client_s {
    int fd;
    bool ack; /* the server still sends and expects acks */
} client_s;

/* One byte from the server, or -1 after IO_TIMEOUT_MS (or when the connection ended). */
static int get_byte(client_s *c)
{
    struct pollfd pf = {.fd = c->fd, .events = POLLIN};
    if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
        return -1;
    uint8_t b;
    return recv(c->fd, &b, 1, 0) == 1 ? b : -1;
}

/* Nothing arrives within ms milliseconds. */
static bool quiet(client_s *c, int ms)
{
    struct pollfd pf = {.fd = c->fd, .events = POLLIN};
    return poll(&pf, 1, ms) == 0;
}

static void put_raw(client_s *c, const void *data, size_t len)
{
    CHECK_EQ(send(c->fd, data, len, MSG_NOSIGNAL), (long long)len);
}

static uint8_t checksum(const void *data, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += ((const uint8_t *)data)[i];
    return (uint8_t)sum;
}

/* $payload#cs (payload already escaped by the caller when it has to be) */
static void put_packet(client_s *c, const void *payload, size_t len)
{
    char frame[8192];
    REQUIRE(len + 4 <= sizeof frame);
    frame[0] = '$';
    memcpy(frame + 1, payload, len);
    snprintf(frame + 1 + len, 4, "#%02x", checksum(payload, len));
    put_raw(c, frame, len + 4);
}

/* The next packet (the bytes before it must be `expect_first` when given, e.g. '+'), checksum
 * verified, escapes undone. Returns the payload length, or -1. */
static long get_packet(client_s *c, char *out, size_t cap, int expect_first)
{
    int b = get_byte(c);
    if (expect_first >= 0) {
        CHECK_EQ(b, expect_first);
        if (b != expect_first)
            return -1;
        b = get_byte(c);
    }
    CHECK_EQ(b, '$');
    if (b != '$')
        return -1;
    uint8_t raw[8192];
    size_t n = 0;
    while ((b = get_byte(c)) >= 0 && b != '#' && n < sizeof raw)
        raw[n++] = (uint8_t)b;
    if (b != '#')
        return -1;
    char cs[3] = {0};
    for (int i = 0; i < 2; i++) {
        if ((b = get_byte(c)) < 0)
            return -1;
        cs[i] = (char)b;
    }
    CHECK_EQ(strtoul(cs, NULL, 16), checksum(raw, n));
    size_t w = 0;
    for (size_t i = 0; i < n && w + 1 < cap; i++)
        out[w++] = raw[i] == '}' && i + 1 < n ? (char)(raw[++i] ^ 0x20) : (char)raw[i];
    out[w] = '\0';
    return (long)w;
}

/* Send a packet, take its ack (in ack mode), read the reply and ack it. */
static long exchange(client_s *c, const char *payload, char *out, size_t cap)
{
    put_packet(c, payload, strlen(payload));
    long n = get_packet(c, out, cap, c->ack ? '+' : -1);
    if (n >= 0 && c->ack)
        put_raw(c, "+", 1);
    return n;
}

static uint32_t le32_hex(const char *h)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        char byte[3] = {h[2 * i], h[2 * i + 1], 0};
        v = (v << 8) | (uint32_t)strtoul(byte, NULL, 16);
    }
    return v;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    return true;
}

/* ---- the rig: sim + probe + session + server thread ---- */

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

/* ---- the client's conversation (may stop early at a REQUIRE) ---- */

static void converse(rig_s *r)
{
    client_s c = {.fd = r->fds[0], .ack = true};
    static char buf[8192];

    /* ack mode: '+' for our packet, then the reply; '-' makes the server send it again */
    put_packet(&c, "qSupported:multiprocess+;xmlRegisters=arm", strlen("qSupported:multiprocess+;xmlRegisters=arm"));
    long n = get_packet(&c, buf, sizeof buf, '+');
    REQUIRE(n > 0);
    CHECK(strstr(buf, "PacketSize=") != NULL);
    CHECK(strstr(buf, "qXfer:features:read+") != NULL);
    static char first[sizeof buf];
    memcpy(first, buf, sizeof first);
    put_raw(&c, "-", 1);
    n = get_packet(&c, buf, sizeof buf, -1); /* the resend: no '+' in front of it */
    REQUIRE(n > 0);
    CHECK(strcmp(buf, first) == 0);
    put_raw(&c, "+", 1);
    CHECK(quiet(&c, 200)); /* acked: nothing more comes */

    /* a bad checksum gets '-' and no reply */
    put_raw(&c, "$g#00", 5);
    CHECK_EQ(get_byte(&c), '-');
    CHECK(quiet(&c, 200));

    /* an unknown packet gets the empty reply, exactly "$#00" */
    put_packet(&c, "qLodeNoSuchThing", 16);
    char raw[5] = {0};
    for (int i = 0; i < 5; i++)
        raw[i] = (char)get_byte(&c);
    CHECK(memcmp(raw, "+$#00", 5) == 0);
    put_raw(&c, "+", 1);

    /* QStartNoAckMode is acked, then acks stop (both ways) */
    REQUIRE(exchange(&c, "QStartNoAckMode", buf, sizeof buf) >= 0);
    CHECK(strcmp(buf, "OK") == 0);
    c.ack = false;
    put_packet(&c, "qLodeNoSuchThing", 16);
    CHECK_EQ(get_byte(&c), '$'); /* no '+' first */
    CHECK_EQ(get_byte(&c), '#');
    CHECK_EQ(get_byte(&c), '0');
    CHECK_EQ(get_byte(&c), '0');
    CHECK(quiet(&c, 200));

    /* target description */
    n = exchange(&c, "qXfer:features:read:target.xml:0,fff", buf, sizeof buf);
    REQUIRE(n > 1);
    CHECK(buf[0] == 'l' || buf[0] == 'm');
    CHECK(strstr(buf, "<target") != NULL);
    CHECK(strstr(buf, "org.gnu.gdb.arm.m-profile") != NULL);
    CHECK(strstr(buf, "org.gnu.gdb.arm.m-system") != NULL);
    CHECK(strstr(buf, "name=\"msp\" bitsize=\"32\" type=\"data_ptr\" group=\"system\" regnum=\"17\"") != NULL);
    CHECK(strstr(buf, "name=\"control\"") != NULL);

    /* registers: g holds at least r0-r12, sp, lr, pc, xpsr; p f is the pc at the reset handler */
    n = exchange(&c, "g", buf, sizeof buf);
    CHECK(n >= 17 * 8);
    CHECK(all_hex(buf, (size_t)(n > 0 ? n : 0)));
    uint32_t pc_g = n >= 16 * 8 ? le32_hex(buf + 15 * 8) : 0;
    n = exchange(&c, "pf", buf, sizeof buf);
    REQUIRE(n == 8 && all_hex(buf, 8));
    uint32_t pc = le32_hex(buf);
    CHECK_EQ(pc, pc_g);
    /* after reset the core runs on the main stack: msp (GDB 17) equals sp (13); primask
     * (GDB 19) reads 0 and takes a write */
    uint32_t sp_g;
    n = exchange(&c, "pd", buf, sizeof buf);
    REQUIRE(n == 8 && all_hex(buf, 8));
    sp_g = le32_hex(buf);
    n = exchange(&c, "p11", buf, sizeof buf);
    REQUIRE(n == 8 && all_hex(buf, 8));
    CHECK_EQ(le32_hex(buf), sp_g);
    CHECK((sp_g >> 24) == 0x20u);
    n = exchange(&c, "P13=01000000", buf, sizeof buf);
    CHECK(n == 2 && memcmp(buf, "OK", 2) == 0);
    n = exchange(&c, "p13", buf, sizeof buf);
    REQUIRE(n == 8);
    CHECK_EQ(le32_hex(buf), 1u);
    n = exchange(&c, "P13=00000000", buf, sizeof buf);
    CHECK(n == 2 && memcmp(buf, "OK", 2) == 0);
    n = exchange(&c, "p17", buf, sizeof buf); /* past control (22 = 0x16) */
    CHECK(n == 3 && memcmp(buf, "E01", 3) == 0);
    n = exchange(&c, "m8000004,4", buf, sizeof buf);
    REQUIRE(n == 8 && all_hex(buf, 8));
    uint32_t reset_vec = le32_hex(buf);
    CHECK_EQ(pc, reset_vec & ~1u);
    const lode_symbol_s *rh = lode_image_find_symbol(r->img, "Reset_Handler");
    REQUIRE(rh);
    CHECK_EQ(reset_vec & ~1u, rh->value & ~1u);

    /* m at the start of flash equals the image (the initial stack pointer) */
    n = exchange(&c, "m8000000,4", buf, sizeof buf);
    REQUIRE(n == 8 && all_hex(buf, 8));
    uint32_t sp0 = 0;
    CHECK_EQ(lode_sim_read32(r->sim, 0x08000000u, &sp0), LODE_OK); /* the server thread waits */
    CHECK_EQ(le32_hex(buf), sp0);
    CHECK((sp0 & 0xFFF00000u) == 0x20000000u);

    /* M (hex) then m reads it back */
    n = exchange(&c, "M20000100,8:0123456789abcdef", buf, sizeof buf);
    CHECK(strcmp(buf, "OK") == 0);
    n = exchange(&c, "m20000100,8", buf, sizeof buf);
    CHECK(strcmp(buf, "0123456789abcdef") == 0);

    /* X (binary) with every byte that must be escaped, and a zero */
    static const uint8_t data[12] = {0x7d, 0x23, 0x24, 0x2a, 0x00, 0x41, 0xff, 0x7d,
                                     0x2a, 0x24, 0x23, 0x5a};
    char pkt[128];
    size_t w = (size_t)snprintf(pkt, sizeof pkt, "X20000100,%zx:", sizeof data);
    for (size_t i = 0; i < sizeof data; i++) {
        if (data[i] == 0x7d || data[i] == 0x23 || data[i] == 0x24 || data[i] == 0x2a) {
            pkt[w++] = 0x7d;
            pkt[w++] = (char)(data[i] ^ 0x20);
        } else {
            pkt[w++] = (char)data[i];
        }
    }
    put_packet(&c, pkt, w);
    REQUIRE(get_packet(&c, buf, sizeof buf, -1) >= 0);
    CHECK(strcmp(buf, "OK") == 0);
    n = exchange(&c, "m20000100,c", buf, sizeof buf);
    CHECK(strcmp(buf, "7d23242a0041ff7d2a24235a") == 0);

    /* Z0 in RAM is a software breakpoint: BKPT #0 (0xBE00) over the halfword, put back by z0 */
    n = exchange(&c, "Z0,20000104,2", buf, sizeof buf);
    CHECK(strcmp(buf, "OK") == 0);
    n = exchange(&c, "m20000104,2", buf, sizeof buf);
    CHECK(strcmp(buf, "00be") == 0);
    n = exchange(&c, "z0,20000104,2", buf, sizeof buf);
    CHECK(strcmp(buf, "OK") == 0);
    n = exchange(&c, "m20000100,c", buf, sizeof buf);
    CHECK(strcmp(buf, "7d23242a0041ff7d2a24235a") == 0);

    /* Z1 at main, c: stops there with T05 */
    const lode_symbol_s *mainsym = lode_image_find_symbol(r->img, "main");
    REQUIRE(mainsym);
    uint32_t main_addr = mainsym->value & ~1u;
    snprintf(pkt, sizeof pkt, "Z1,%x,2", main_addr);
    n = exchange(&c, pkt, buf, sizeof buf);
    REQUIRE(strcmp(buf, "OK") == 0);
    n = exchange(&c, "c", buf, sizeof buf);
    REQUIRE(n >= 3);
    CHECK(strncmp(buf, "T05", 3) == 0);
    n = exchange(&c, "pf", buf, sizeof buf);
    REQUIRE(n == 8);
    CHECK_EQ(le32_hex(buf), main_addr);
    n = exchange(&c, "?", buf, sizeof buf);
    CHECK(strncmp(buf, "T05", 3) == 0);

    /* remove it, run (dbg.c loops forever): nothing comes until Ctrl-C, then T02 */
    snprintf(pkt, sizeof pkt, "z1,%x,2", main_addr);
    n = exchange(&c, pkt, buf, sizeof buf);
    CHECK(strcmp(buf, "OK") == 0);
    put_packet(&c, "c", 1);
    CHECK(quiet(&c, 300));
    put_raw(&c, "\x03", 1);
    n = get_packet(&c, buf, sizeof buf, -1);
    REQUIRE(n >= 3);
    CHECK(strncmp(buf, "T02", 3) == 0 || strncmp(buf, "S02", 3) == 0);
    n = exchange(&c, "pf", buf, sizeof buf);
    REQUIRE(n == 8);
    uint32_t pc2 = le32_hex(buf);
    CHECK(pc2 != main_addr && (pc2 & 0xFFF00000u) == 0x08000000u);

    /* still serving after all that; then detach */
    n = exchange(&c, "m8000000,4", buf, sizeof buf);
    CHECK_EQ(n, 8);
    n = exchange(&c, "D", buf, sizeof buf);
    CHECK(strcmp(buf, "OK") == 0);
}

static void test_gdbserver_rsp(void)
{
    rig_s r;
    bool ok = rig_open(&r, "dbg-stm32f103.elf");
    CHECK(ok);
    if (ok) {
        pthread_t th;
        bool started = pthread_create(&th, NULL, serve_thread, &r) == 0;
        CHECK(started);
        if (started)
            converse(&r);
        shutdown(r.fds[0], SHUT_RDWR); /* ends serving if converse stopped early */
        if (started) {
            pthread_join(th, NULL);
            CHECK_EQ(r.rc, LODE_OK);
        }
    }
    rig_close(&r);
}

/* examples/args through the server: every argument a console write, the exit a W reply */
typedef struct console_s {
    char text[512];
    size_t len;
} console_s;

typedef struct sh_rig_s {
    lode_core_ops_s core; /* first: lode_semihost_io_core's ctx */
    console_s *cs;
} sh_rig_s;

static void console_capture(void *ctx, int fd, const uint8_t *d, size_t n)
{
    (void)fd;
    console_s *cs = ((sh_rig_s *)ctx)->cs;
    size_t room = sizeof cs->text - 1 - cs->len;
    n = n < room ? n : room;
    memcpy(cs->text + cs->len, d, n);
    cs->len += n;
    cs->text[cs->len] = '\0';
}

static void test_gdbserver_semihost(void)
{
    rig_s r;
    bool ok = rig_open(&r, "examples/args-stm32f103.elf");
    REQUIRE(ok);
    console_s cs = {0};
    sh_rig_s shr = {.core = r.core, .cs = &cs};
    lode_semihost_config_s shc = {.io = lode_semihost_io_core(&shr.core),
                                  .cmdline = "args a b c d e f g h i j k l m n o p q r s t"};
    shc.io.console_write = console_capture;
    lode_semihost_s *sh = NULL;
    REQUIRE(lode_semihost_new(&shc, &sh) == LODE_OK);
    r.cfg.sh = sh;
    pthread_t th;
    bool started = pthread_create(&th, NULL, serve_thread, &r) == 0;
    CHECK(started);
    lode_cmsis_dap_stats_s a0, a1;
    lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(r.s)), &a0);
    if (started) {
        client_s c = {.fd = r.fds[0], .ack = true};
        static char buf[512];
        CHECK(exchange(&c, "QStartNoAckMode", buf, sizeof buf) > 0 && strcmp(buf, "OK") == 0);
        c.ack = false;
        /* 20 one-letter arguments: exit status 20 */
        CHECK(exchange(&c, "c", buf, sizeof buf) > 0 && strcmp(buf, "W14") == 0);
        shutdown(r.fds[0], SHUT_RDWR);
        pthread_join(th, NULL);
        CHECK_EQ(r.rc, LODE_OK);
    }
    lode_cmsis_dap_stats(lode_probe_cmsis_dap_handle(lode_session_probe(r.s)), &a1);
    CHECK(strstr(cs.text, "argc=21\n") != NULL);
    CHECK(strstr(cs.text, "argv[20]=t\n") != NULL);
    /* 23 calls (GET_CMDLINE, 22 writes ...): the fast path takes a state read, the registers,
     * the instruction with the parameter block, and the return with the resume: about 4
     * probe commands per call (register by register it took twice as many) */
    double per_call = (double)(a1.commands - a0.commands) / 24.0;
    printf("  %.1f probe commands per semihosting call\n", per_call);
    CHECK(per_call < 6.0);
    lode_semihost_free(sh);
    rig_close(&r);
}

static int hexdigit(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* `--semihosting gdb`: the console writes (SYS_WRITE0 in examples/args) go to the client as
 * File-I/O requests, the string's length found from what was read ahead with the BKPT */
static void test_gdbserver_semihost_fileio(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "examples/args-stm32f103.elf"));
    lode_semihost_config_s shc = {.io = lode_semihost_io_core(&r.core), .cmdline = "args xyz"};
    lode_semihost_s *sh = NULL;
    REQUIRE(lode_semihost_new(&shc, &sh) == LODE_OK);
    r.cfg.sh = sh;
    r.cfg.sh_gdb = true;
    pthread_t th;
    bool started = pthread_create(&th, NULL, serve_thread, &r) == 0;
    CHECK(started);
    char text[256] = "";
    size_t tl = 0;
    if (started) {
        client_s c = {.fd = r.fds[0], .ack = true};
        static char buf[1024], mem[1024];
        CHECK(exchange(&c, "QStartNoAckMode", buf, sizeof buf) > 0 && strcmp(buf, "OK") == 0);
        c.ack = false;
        long n = exchange(&c, "c", buf, sizeof buf);
        int requests = 0;
        while (n > 0 && buf[0] == 'F' && requests < 10) {
            unsigned fd = 0, addr = 0, len = 0;
            REQUIRE(sscanf(buf, "Fwrite,%x,%x,%x", &fd, &addr, &len) == 3);
            CHECK_EQ(fd, 1);
            char m[64];
            snprintf(m, sizeof m, "m%x,%x", addr, len);
            REQUIRE(exchange(&c, m, mem, sizeof mem) == 2 * (long)len);
            for (unsigned i = 0; i < len && tl + 1 < sizeof text; i++)
                text[tl++] = (char)(hexdigit(mem[2 * i]) << 4 | hexdigit(mem[2 * i + 1]));
            text[tl] = '\0';
            snprintf(m, sizeof m, "F%x", len);
            n = exchange(&c, m, buf, sizeof buf);
            requests++;
        }
        CHECK_EQ(requests, 3); /* argc, argv[0], argv[1] */
        CHECK(n > 0 && strcmp(buf, "W03") == 0); /* strlen("xyz") */
        shutdown(r.fds[0], SHUT_RDWR);
        pthread_join(th, NULL);
        CHECK_EQ(r.rc, LODE_OK);
    }
    CHECK(strcmp(text, "argc=2\nargv[0]=args\nargv[1]=xyz\n") == 0);
    lode_semihost_free(sh);
    rig_close(&r);
}

/* examples/fault: the server catches the HardFault as it is taken, prints the fault report as
 * console output and stops with SIGSEGV; the catch is gone when the client is */
static void test_gdbserver_fault(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "examples/fault-stm32f103.elf"));
    lode_semihost_config_s shc = {.io = lode_semihost_io_core(&r.core)};
    lode_semihost_s *sh = NULL;
    REQUIRE(lode_semihost_new(&shc, &sh) == LODE_OK);
    r.cfg.sh = sh; /* its first line */
    pthread_t th;
    bool started = pthread_create(&th, NULL, serve_thread, &r) == 0;
    CHECK(started);
    if (started) {
        client_s c = {.fd = r.fds[0], .ack = true};
        static char buf[1024];
        CHECK(exchange(&c, "QStartNoAckMode", buf, sizeof buf) > 0 && strcmp(buf, "OK") == 0);
        c.ack = false;
        long n = exchange(&c, "c", buf, sizeof buf);
        char text[512] = "";
        if (n > 1 && buf[0] == 'O') {
            size_t k = 0;
            for (long i = 1; i + 1 < n && k + 1 < sizeof text; i += 2)
                text[k++] = (char)(hexdigit(buf[i]) << 4 | hexdigit(buf[i + 1]));
            text[k] = '\0';
            n = get_packet(&c, buf, sizeof buf, -1);
        }
        CHECK(strstr(text, "lode: HardFault: precise data bus error at 0x30000000") != NULL);
        CHECK(strstr(text, "faulting context: pc 0x08") != NULL);
        if (n <= 0 || strcmp(buf, "T0b") != 0)
            fprintf(stderr, "stop reply: %s (text: %s)\n", n > 0 ? buf : "none", text);
        CHECK(n > 0 && strcmp(buf, "T0b") == 0);
        /* the catch is set while the client is connected: DEMCR.VC_HARDERR */
        CHECK(exchange(&c, "me000edfc,4", buf, sizeof buf) == 8 && (hexdigit(buf[2]) << 4 | hexdigit(buf[3])) & 0x04);
        shutdown(r.fds[0], SHUT_RDWR);
        pthread_join(th, NULL);
        CHECK_EQ(r.rc, LODE_OK);
    }
    uint32_t demcr = 0;
    CHECK_EQ(r.core.mem_read(r.core.ctx, 0xE000EDFCu, &demcr, 4), LODE_OK);
    CHECK_EQ(demcr & (1u << 10), 0);
    lode_semihost_free(sh);
    rig_close(&r);
}

/* GDB's load over two erased ranges apart from each other is one call through the loader seam:
 * the flash algorithm is loaded into RAM once (its BKPT stub written once), both ranges end up
 * programmed (0xFF where GDB wrote nothing); an erase over an earlier one is refused. */
static const lode_core_ops_s *count_inner; /* the session's ops, which the counter wraps */
static unsigned count_stubs;

static int count_mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    static const uint8_t bkpt2[4] = {0x00, 0xBE, 0x00, 0xBE};
    /* the algorithm's upload holds its return stub after the blob (then, for a stream, its
     * control block) */
    for (size_t off = 4; off + sizeof bkpt2 <= len; off += 4)
        if (memcmp((const uint8_t *)buf + off, bkpt2, sizeof bkpt2) == 0) {
            count_stubs++;
            break;
        }
    return count_inner->mem_write(ctx, addr, buf, len);
}

static void test_gdbserver_load_once(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "dbg-stm32f103.elf"));
    lode_core_ops_s counted = r.core;
    counted.mem_write = count_mem_write;
    count_inner = &r.core;
    count_stubs = 0;
    r.cfg.core = &counted;
    r.cfg.chip = lode_session_chip(r.s, NULL);
    REQUIRE(r.cfg.chip != NULL);
    pthread_t th;
    bool started = pthread_create(&th, NULL, serve_thread, &r) == 0;
    CHECK(started);
    if (started) {
        client_s c = {.fd = r.fds[0], .ack = true};
        static char buf[1024];
        CHECK(exchange(&c, "QStartNoAckMode", buf, sizeof buf) > 0 && strcmp(buf, "OK") == 0);
        c.ack = false;
        CHECK(exchange(&c, "vFlashErase:08004000,400", buf, sizeof buf) >= 0 && strcmp(buf, "OK") == 0);
        CHECK(exchange(&c, "vFlashErase:08001000,800", buf, sizeof buf) >= 0 && strcmp(buf, "OK") == 0);
        CHECK(exchange(&c, "vFlashErase:08004000,400", buf, sizeof buf) >= 0 && strcmp(buf, "E01") == 0);
        CHECK(exchange(&c, "vFlashWrite:8004010:ABCD", buf, sizeof buf) >= 0 && strcmp(buf, "OK") == 0);
        CHECK(exchange(&c, "vFlashWrite:8001400:wxyz", buf, sizeof buf) >= 0 && strcmp(buf, "OK") == 0);
        CHECK(exchange(&c, "vFlashDone", buf, sizeof buf) >= 0 && strcmp(buf, "OK") == 0);
        shutdown(r.fds[0], SHUT_RDWR);
        pthread_join(th, NULL);
        CHECK_EQ(r.rc, LODE_OK);
    }
    CHECK_EQ(count_stubs, 1);
    uint8_t a[32], b[32];
    CHECK_EQ(r.core.mem_read(r.core.ctx, 0x08004000u, a, sizeof a), LODE_OK);
    CHECK_EQ(r.core.mem_read(r.core.ctx, 0x080013F0u, b, sizeof b), LODE_OK);
    CHECK(a[0] == 0xFF && a[15] == 0xFF && memcmp(a + 16, "ABCD", 4) == 0 && a[20] == 0xFF);
    CHECK(b[0] == 0xFF && b[15] == 0xFF && memcmp(b + 16, "wxyz", 4) == 0 && b[20] == 0xFF);
    rig_close(&r);
}

/* A client waits to be accepted while the server has no descriptor left (EMFILE): the server
 * must not spin on the ever-ready listener; it retries a little, then gives up (LODE_E_IO).
 * Run in a child: the descriptor limit and the alarm stay there. */
static volatile int emfile_stop;
static void emfile_alarm(int sig)
{
    (void)sig;
    emfile_stop = 1;
}
static void emfile_listening(void *user, const char *addr, int port)
{
    (void)user;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) != 0)
        _exit(3);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 64;
    setrlimit(RLIMIT_NOFILE, &rl);
    while (dup(c) >= 0) {
    }
}
static void test_gdbserver_accept_emfile(void)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGALRM, emfile_alarm);
        alarm(10); /* a spinning server only stops here, and returns LODE_OK */
        lode_core_ops_s core = {0};
        lode_gdbserver_config_s cfg = {.core = &core, .stop = &emfile_stop,
                                       .on_listening = emfile_listening};
        int rc = lode_gdbserver_listen(&cfg, "127.0.0.1", 0, 0);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        _exit(rc == LODE_E_IO && !emfile_stop && cpu < 1.5 ? 0 : 1);
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    RUN_TEST(test_gdbserver_rsp);
    RUN_TEST(test_gdbserver_semihost);
    RUN_TEST(test_gdbserver_semihost_fileio);
    RUN_TEST(test_gdbserver_fault);
    RUN_TEST(test_gdbserver_load_once);
    RUN_TEST(test_gdbserver_accept_emfile);
    return TEST_DONE();
}
