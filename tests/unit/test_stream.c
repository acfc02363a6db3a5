/* SPDX-License-Identifier: MIT */
/* Stream transport: TCP over loopback, serial ports on a pseudo-terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/stream.h"
#include "test.h"

#define BOTHER_CODE 0010000 /* Linux: "speed in c_ospeed" (asm/termbits.h) */

typedef struct msgs_s {
    char last[256];
    int count;
} msgs_s;

static void on_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)level, (void)cat;
    msgs_s *m = user;
    snprintf(m->last, sizeof m->last, "%s", msg);
    m->count++;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* ---- TCP ---------------------------------------------------------------------------------- */

static void test_tcp_loopback(void)
{
    lode_stream_s *l = NULL, *c = NULL, *a = NULL;
    REQUIRE(lode_stream_listen_tcp("127.0.0.1", 0, NULL, &l) == LODE_OK);
    CHECK_EQ(lode_stream_kind(l), LODE_STREAM_LISTENER);
    int port = lode_stream_local_port(l);
    CHECK(port > 0);
    /* nobody connecting yet */
    lode_stream_s *none = NULL;
    CHECK_EQ(lode_stream_accept(l, 0, &none), LODE_E_TIMEOUT);
    CHECK(none == NULL);

    REQUIRE(lode_stream_open_tcp("localhost", port, 2000, NULL, &c) == LODE_OK);
    CHECK_EQ(lode_stream_kind(c), LODE_STREAM_TCP);
    bool ready[2];
    lode_stream_s *both[2] = {l, NULL};
    CHECK_EQ(lode_stream_wait(both, 2, 1000, ready), LODE_OK);
    CHECK(ready[0] && !ready[1]);
    REQUIRE(lode_stream_accept(l, 1000, &a) == LODE_OK);
    CHECK_EQ(lode_stream_local_port(a), port);

    /* a read with nothing there times out after about the time asked */
    uint8_t buf[16];
    size_t got = 99;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(lode_stream_read(a, buf, sizeof buf, &got, 60), LODE_E_TIMEOUT);
    long ms = elapsed_ms(&t0);
    CHECK(ms >= 50 && ms < 10000); /* the upper bound only catches a missing timeout */
    CHECK_EQ(got, 99); /* untouched */

    /* partial reads: what is there comes back at once, not a full buffer */
    CHECK_EQ(lode_stream_write(c, "abc", 3), LODE_OK);
    CHECK_EQ(lode_stream_read(a, buf, sizeof buf, &got, 1000), LODE_OK);
    CHECK_EQ(got, 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    /* read_exact wants all of it: two bytes of four within the time is a timeout */
    CHECK_EQ(lode_stream_write(c, "de", 2), LODE_OK);
    CHECK_EQ(lode_stream_read_exact(a, buf, 4, 50), LODE_E_TIMEOUT);
    CHECK_EQ(lode_stream_write(c, "fghi", 4), LODE_OK);
    CHECK_EQ(lode_stream_read_exact(a, buf, 4, 1000), LODE_OK);
    CHECK(memcmp(buf, "fghi", 4) == 0);
    /* and the other way round */
    CHECK_EQ(lode_stream_write(a, "xyz", 3), LODE_OK);
    CHECK_EQ(lode_stream_read_exact(c, buf, 3, 1000), LODE_OK);
    CHECK(memcmp(buf, "xyz", 3) == 0);

    /* flush drops what has arrived */
    CHECK_EQ(lode_stream_write(c, "junk", 4), LODE_OK);
    lode_stream_s *one[1] = {a};
    CHECK_EQ(lode_stream_wait(one, 1, 1000, ready), LODE_OK);
    CHECK(ready[0]);
    CHECK_EQ(lode_stream_flush(a), LODE_OK);
    CHECK_EQ(lode_stream_read(a, buf, sizeof buf, &got, 20), LODE_E_TIMEOUT);

    /* serial-only operations say so on a socket */
    CHECK_EQ(lode_stream_set_dtr(a, true), LODE_E_UNSUPPORTED);
    CHECK_EQ(lode_stream_send_break(a, 1), LODE_E_UNSUPPORTED);

    /* the peer closes: a read reports it, writes fail without SIGPIPE */
    lode_stream_close(c);
    CHECK(!lode_stream_eof(a));
    CHECK_EQ(lode_stream_read(a, buf, sizeof buf, &got, 1000), LODE_E_IO);
    CHECK(lode_stream_eof(a));
    int wr = LODE_OK;
    for (int i = 0; i < 50 && wr == LODE_OK; i++) {
        wr = lode_stream_write(a, "zzzz", 4);
        usleep(1000);
    }
    CHECK_EQ(wr, LODE_E_IO);
    lode_stream_close(a);

    /* a second listener on the same port is refused as busy */
    lode_stream_s *l2 = NULL;
    CHECK_EQ(lode_stream_listen_tcp("127.0.0.1", port, NULL, &l2), LODE_E_BUSY);
    CHECK(l2 == NULL);
    lode_stream_close(l);
    /* nobody listens any more */
    CHECK_EQ(lode_stream_open_tcp("127.0.0.1", port, 1000, NULL, &c), LODE_E_NO_DEVICE);
    CHECK_EQ(errno, ECONNREFUSED);
    lode_stream_close(NULL);
}

/* a privileged port without the privilege: LODE_E_ACCESS, not "busy" (tried in a child that
 * drops root, so it runs as root too) */
static void test_tcp_privileged_port(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
    int first = 1024;
    if (f) {
        if (fscanf(f, "%d", &first) != 1)
            first = 1024;
        fclose(f);
    }
    REQUIRE(first > 1); /* a system without privileged ports cannot show it */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        lode_stream_s *s = NULL;
        int rc = lode_stream_listen_tcp("127.0.0.1", first - 1, NULL, &s);
        _exit(rc == LODE_E_ACCESS && errno == EACCES && !s ? 0 : 1);
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_tcp_bad_args(void)
{
    msgs_s m = {{0}, 0};
    lode_log_s log = {on_log, &m, LODE_LOG_DEBUG};
    lode_stream_s *s = NULL;
    CHECK_EQ(lode_stream_listen_tcp("not-an-address", 0, &log, &s), LODE_E_INVALID_ARG);
    CHECK(strstr(m.last, "not-an-address") != NULL);
    CHECK_EQ(lode_stream_open_tcp("127.0.0.1", 0, 0, &log, &s), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_stream_open_tcp("no-such-host.invalid", 1, 0, &log, &s), LODE_E_NO_DEVICE);
    CHECK(s == NULL);
}

static void test_from_fd(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    lode_stream_s *a = NULL, *b = NULL;
    REQUIRE(lode_stream_from_fd(sv[0], true, NULL, &a) == LODE_OK);
    REQUIRE(lode_stream_from_fd(sv[1], false, NULL, &b) == LODE_OK);
    CHECK_EQ(lode_stream_fd(a), sv[0]);
    CHECK_EQ(lode_stream_write(a, "hi", 2), LODE_OK);
    uint8_t buf[4];
    CHECK_EQ(lode_stream_read_exact(b, buf, 2, 1000), LODE_OK);
    CHECK(memcmp(buf, "hi", 2) == 0);
    lode_stream_close(b); /* borrowed: sv[1] stays open */
    CHECK(fcntl(sv[1], F_GETFD) >= 0);
    lode_stream_close(a); /* owned: sv[0] is closed */
    CHECK(fcntl(sv[0], F_GETFD) < 0);
    close(sv[1]);
}

/* ---- serial on a pseudo-terminal ---------------------------------------------------------- */

static int open_pty(char *slave, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, slave, cap) != 0) {
        if (m >= 0)
            close(m);
        return -1;
    }
    return m;
}

static void test_serial_pty(void)
{
    char path[128];
    int m = open_pty(path, sizeof path);
    REQUIRE(m >= 0);
    msgs_s msgs = {{0}, 0};
    lode_log_s log = {on_log, &msgs, LODE_LOG_DEBUG};
    lode_serial_opts_s o = {.baud = 1200};
    lode_stream_s *s = NULL;
    REQUIRE(lode_stream_open_serial(path, &o, &log, &s) == LODE_OK);
    CHECK_EQ(lode_stream_kind(s), LODE_STREAM_SERIAL);

    /* 1200 baud, read back by the kernel's own account and as tcgetattr sees it */
    unsigned baud = 0;
    CHECK_EQ(lode_stream_serial_baud(s, &baud), LODE_OK);
    CHECK_EQ(baud, 1200);
    int other = open(path, O_RDWR | O_NOCTTY);
    REQUIRE(other >= 0);
    struct termios t;
    REQUIRE(tcgetattr(other, &t) == 0);
    CHECK_EQ(cfgetospeed(&t), B1200);
    CHECK(!(t.c_lflag & (ICANON | ECHO)));
    CHECK(!(t.c_oflag & OPOST));
    CHECK_EQ(t.c_cflag & CSIZE, CS8);
    CHECK(!(t.c_cflag & PARENB));

    /* a speed with no Bnnn code of its own, and 7E2 framing */
    lode_serial_opts_s o2 = {.baud = 250000, .data_bits = 7, .parity = LODE_PARITY_EVEN, .stop_bits = 2};
    CHECK_EQ(lode_stream_serial_config(s, &o2), LODE_OK);
    CHECK_EQ(lode_stream_serial_baud(s, &baud), LODE_OK);
    CHECK_EQ(baud, 250000);
    REQUIRE(tcgetattr(other, &t) == 0);
    CHECK_EQ(t.c_cflag & CBAUD, BOTHER_CODE);
    /* a pty forces CS8 and no parity (drivers/tty/pty.c), the stop bits stay as set */
    CHECK(t.c_cflag & CSTOPB);
    lode_serial_opts_s bad = {.data_bits = 9};
    CHECK_EQ(lode_stream_serial_config(s, &bad), LODE_E_INVALID_ARG);
    lode_serial_opts_s o3 = {.baud = 115200};
    CHECK_EQ(lode_stream_serial_config(s, &o3), LODE_OK);
    CHECK_EQ(lode_stream_serial_baud(s, &baud), LODE_OK);
    CHECK_EQ(baud, 115200);
    close(other);

    /* raw bytes both ways: "\n" is not turned into "\r\n" */
    CHECK_EQ(lode_stream_write(s, "a\nb", 3), LODE_OK);
    char buf[16];
    struct pollfd pf = {.fd = m, .events = POLLIN};
    CHECK(poll(&pf, 1, 1000) == 1);
    ssize_t n = read(m, buf, sizeof buf);
    CHECK_EQ(n, 3);
    CHECK(memcmp(buf, "a\nb", 3) == 0);
    CHECK_EQ(write(m, "\r\x03q", 3), 3); /* no ISIG, no ICRNL */
    CHECK_EQ(lode_stream_read_exact(s, buf, 3, 1000), LODE_OK);
    CHECK(memcmp(buf, "\r\x03q", 3) == 0);

    /* nothing more: timeout */
    size_t got = 0;
    CHECK_EQ(lode_stream_read(s, buf, sizeof buf, &got, 30), LODE_E_TIMEOUT);

    /* flush drops input that has arrived but not been read */
    CHECK_EQ(write(m, "stale", 5), 5);
    lode_stream_s *one[1] = {s};
    bool ready[1];
    CHECK_EQ(lode_stream_wait(one, 1, 1000, ready), LODE_OK);
    CHECK(ready[0]);
    CHECK_EQ(lode_stream_flush(s), LODE_OK);
    CHECK_EQ(lode_stream_read(s, buf, sizeof buf, &got, 30), LODE_E_TIMEOUT);

    /* a break: a pty has no line to hold, the kernel accepts it */
    CHECK_EQ(lode_stream_send_break(s, 5), LODE_OK);
    CHECK_EQ(lode_stream_send_break(s, 0), LODE_OK);

    /* modem-control lines: a pty has none, a clean error and a message saying why */
    msgs.count = 0;
    CHECK_EQ(lode_stream_set_dtr(s, true), LODE_E_UNSUPPORTED);
    CHECK(msgs.count == 1 && strstr(msgs.last, "DTR") && strstr(msgs.last, "not supported") &&
          strstr(msgs.last, "modem lines"));
    CHECK_EQ(lode_stream_set_rts(s, false), LODE_E_UNSUPPORTED);
    CHECK(strstr(msgs.last, "RTS") != NULL);
    CHECK_EQ(lode_stream_pulse(s, LODE_STREAM_DTR | LODE_STREAM_RTS, false, 1), LODE_E_UNSUPPORTED);
    CHECK_EQ(lode_stream_set_lines(s, 0, true), LODE_E_INVALID_ARG);

    /* the other side hangs up: a read says so */
    close(m);
    CHECK_EQ(lode_stream_read(s, buf, sizeof buf, &got, 1000), LODE_E_IO);
    CHECK(lode_stream_eof(s));
    lode_stream_close(s);
}

static void test_serial_exclusive(void)
{
    char path[128];
    int m = open_pty(path, sizeof path);
    REQUIRE(m >= 0);
    msgs_s msgs = {{0}, 0};
    lode_log_s log = {on_log, &msgs, LODE_LOG_DEBUG};
    lode_serial_opts_s ex = {.baud = 9600, .exclusive = true};
    lode_stream_s *a = NULL, *b = NULL;
    REQUIRE(lode_stream_open_serial(path, &ex, &log, &a) == LODE_OK);
    /* a second exclusive open is refused as busy, errno kept */
    errno = 0;
    CHECK_EQ(lode_stream_open_serial(path, &ex, &log, &b), LODE_E_BUSY);
    CHECK_EQ(errno, EBUSY);
    CHECK(b == NULL);
    CHECK(strstr(msgs.last, path) && strstr(msgs.last, "busy"));
    if (geteuid() != 0) {
        /* TIOCEXCL: even a plain open is refused (root is exempt from it) */
        lode_serial_opts_s plain = {0};
        CHECK_EQ(lode_stream_open_serial(path, &plain, &log, &b), LODE_E_BUSY);
        CHECK_EQ(open(path, O_RDWR | O_NOCTTY), -1);
    }
    /* released on close: the next exclusive open works, and a plain open after that one */
    lode_stream_close(a);
    REQUIRE(lode_stream_open_serial(path, &ex, &log, &b) == LODE_OK);
    lode_stream_close(b);
    int fd = open(path, O_RDWR | O_NOCTTY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    close(m);
}

/* A port another process holds: the message names it (from /proc/PID/fd) */
static void test_serial_holder(void)
{
    char path[128];
    int m = open_pty(path, sizeof path);
    REQUIRE(m >= 0);
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        prctl(PR_SET_NAME, "porthog");
        int fd = open(path, O_RDWR | O_NOCTTY);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    msgs_s msgs = {{0}, 0};
    lode_log_s log = {on_log, &msgs, LODE_LOG_DEBUG};
    lode_serial_opts_s ex = {.baud = 9600, .exclusive = true};
    lode_stream_s *b = NULL;
    CHECK_EQ(lode_stream_open_serial(path, &ex, &log, &b), LODE_E_BUSY);
    char want[64];
    snprintf(want, sizeof want, "held by porthog, PID %ld", (long)child);
    if (!strstr(msgs.last, want))
        fprintf(stderr, "said: %s\n", msgs.last);
    CHECK(strstr(msgs.last, want) && strstr(msgs.last, "close that program"));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    close(m);
}

static void test_serial_errors(void)
{
    lode_stream_s *s = NULL;
    CHECK_EQ(lode_stream_open_serial("/dev/lode-no-such-port", NULL, NULL, &s), LODE_E_NO_DEVICE);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(lode_stream_open_serial("/dev/null", NULL, NULL, &s), LODE_E_INVALID_ARG);
    CHECK(s == NULL);
    unsigned baud;
    CHECK_EQ(lode_stream_serial_baud(NULL, &baud), LODE_E_INVALID_ARG);
}

/* A peer that stops taking data: the write ends after the stream's write timeout with a line
 * naming the port (it blocked for good before), the descriptor still blocking after it, and the
 * stream still usable once the peer reads again. */
static void test_write_stalled(void)
{
    char path[128];
    int m = open_pty(path, sizeof path);
    REQUIRE(m >= 0);
    msgs_s msgs = {{0}, 0};
    lode_log_s log = {on_log, &msgs, LODE_LOG_DEBUG};
    lode_serial_opts_s o = {.baud = 115200};
    lode_stream_s *s = NULL;
    REQUIRE(lode_stream_open_serial(path, &o, &log, &s) == LODE_OK);
    lode_stream_set_write_timeout(s, 300);
    size_t big = 8u << 20; /* far more than a pty holds */
    uint8_t *data = calloc(1, big);
    REQUIRE(data != NULL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(lode_stream_write(s, data, big), LODE_E_TIMEOUT);
    long ms = elapsed_ms(&t0);
    CHECK(ms >= 250 && ms < 60000); /* the upper bound only catches a missing timeout */
    CHECK(strstr(msgs.last, path) != NULL);
    CHECK(strstr(msgs.last, "took no data") != NULL);
    CHECK(!(fcntl(lode_stream_fd(s), F_GETFL) & O_NONBLOCK));
    /* the peer reads what is there: writing goes on */
    uint8_t sink[65536];
    while (read(m, sink, sizeof sink) == (ssize_t)sizeof sink) {
        struct pollfd p = {m, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0)
            break;
    }
    CHECK_EQ(lode_stream_write(s, "ok", 2), LODE_OK);
    free(data);
    lode_stream_close(s);
    close(m);

    /* a socket pair whose other end never reads: the same bound */
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    lode_stream_s *a = NULL;
    REQUIRE(lode_stream_from_fd(sv[0], true, &log, &a) == LODE_OK);
    lode_stream_set_write_timeout(a, 200);
    uint8_t *more = calloc(1, big);
    REQUIRE(more != NULL);
    CHECK_EQ(lode_stream_write(a, more, big), LODE_E_TIMEOUT);
    free(more);
    lode_stream_close(a);
    close(sv[1]);
}

int main(void)
{
    RUN_TEST(test_tcp_loopback);
    RUN_TEST(test_tcp_privileged_port);
    RUN_TEST(test_tcp_bad_args);
    RUN_TEST(test_from_fd);
    RUN_TEST(test_serial_pty);
    RUN_TEST(test_serial_exclusive);
    RUN_TEST(test_serial_errors);
    RUN_TEST(test_serial_holder);
    RUN_TEST(test_write_stalled);
    return TEST_DONE();
}
