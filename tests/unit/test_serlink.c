/* SPDX-License-Identifier: MIT */
/* The lode serial link, host side (src/run/serlink.c): the CRC, frames found in output however
 * the bytes are split, the literal DLE, near-frames and garbage passed through byte for byte
 * with no false exit, the arguments answer, and the run loop against a fake board on a socket
 * pair (output, arguments, exit code, input held until the board spoke, timeout, interrupt,
 * the line's end). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/serlink.h"
#include "test.h"

typedef struct seen_s {
    uint8_t out[1 << 21];
    size_t nout;
    int nexit, nreq;
    int32_t code;
    uint16_t room, argv_room;
    int order_exit_at;       /* output bytes before the exit event */
} seen_s;

static void on_ev(void *user, const lode_serlink_event_s *ev)
{
    seen_s *s = user;
    if (ev->kind == LODE_SERLINK_EV_OUTPUT) {
        CHECK(ev->len > 0);
        memcpy(s->out + s->nout, ev->data, ev->len);
        s->nout += ev->len;
    } else if (ev->kind == LODE_SERLINK_EV_EXIT) {
        s->nexit++;
        s->code = ev->exit_code;
        s->order_exit_at = (int)s->nout;
    } else {
        s->nreq++;
        s->room = ev->args_room;
        s->argv_room = ev->argv_room;
    }
}

static size_t exit_frame(int32_t code, uint8_t *out)
{
    uint8_t p[4] = {(uint8_t)code, (uint8_t)(code >> 8), (uint8_t)(code >> 16), (uint8_t)((uint32_t)code >> 24)};
    size_t n = 0;
    CHECK(lode_serlink_encode(LODE_SERLINK_T_EXIT, p, 4, out, 64, &n) == LODE_OK);
    return n;
}

static void test_crc(void)
{
    CHECK_EQ(lode_serlink_crc16(0xFFFF, (const uint8_t *)"123456789", 9), 0x29B1);
}

static void test_frames(void)
{
    static seen_s s;
    uint8_t in[128];
    size_t n = 0;
    memcpy(in, "hi\x10!", 4); /* a DLE not followed by the magic is output */
    n = 4;
    n += exit_frame(-7, in + n);
    memcpy(in + n, "after", 5);
    n += 5;
    /* all at once and byte by byte: the same */
    for (int mode = 0; mode < 2; mode++) {
        memset(&s, 0, sizeof s);
        lode_serlink_dec_s d;
        lode_serlink_dec_init(&d);
        if (mode == 0)
            lode_serlink_feed(&d, in, n, on_ev, &s);
        else
            for (size_t i = 0; i < n; i++)
                lode_serlink_feed(&d, in + i, 1, on_ev, &s);
        CHECK_EQ(s.nexit, 1);
        CHECK_EQ(s.code, -7);
        CHECK_EQ(s.order_exit_at, 4);
        CHECK_EQ(s.nout, 9);
        CHECK(!memcmp(s.out, "hi\x10!after", 9));
        CHECK_EQ(lode_serlink_held(&d), 0);
    }
    /* an arguments request */
    memset(&s, 0, sizeof s);
    uint8_t req[4] = {0x80, 0x00, 0x08, 0x00}, f[32];
    CHECK(lode_serlink_encode(LODE_SERLINK_T_ARGS_REQ, req, 4, f, sizeof f, &n) == LODE_OK);
    CHECK_EQ(n, 12);
    lode_serlink_dec_s d;
    lode_serlink_dec_init(&d);
    lode_serlink_feed(&d, f, n, on_ev, &s);
    CHECK_EQ(s.nreq, 1);
    CHECK_EQ(s.room, 128);
    CHECK_EQ(s.argv_room, 8);
    CHECK_EQ(s.nout, 0);
}

static void test_literal_and_resync(void)
{
    static seen_s s;
    memset(&s, 0, sizeof s);
    lode_serlink_dec_s d;
    lode_serlink_dec_init(&d);
    /* the literal is one DLE; DLE DLE L D X... is a DLE of output and then the frame */
    uint8_t in[64] = {'a', 0x10, 'L', 'D', '=', 'b', 0x10};
    size_t n = 7;
    n += exit_frame(42, in + n);
    lode_serlink_feed(&d, in, n, on_ev, &s);
    CHECK_EQ(s.nexit, 1);
    CHECK_EQ(s.code, 42);
    CHECK_EQ(s.nout, 4);
    CHECK(!memcmp(s.out, "a\x10" "b\x10", 4));
    /* a frame with one bit wrong anywhere is output as it came, and no exit */
    uint8_t good[16];
    size_t g = exit_frame(3, good);
    for (size_t bit = 0; bit < g * 8; bit++) {
        memset(&s, 0, sizeof s);
        uint8_t bad[16];
        memcpy(bad, good, g);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        lode_serlink_dec_init(&d);
        lode_serlink_feed(&d, bad, g, on_ev, &s);
        lode_serlink_flush(&d, on_ev, &s);
        CHECK_EQ(s.nexit, 0);
        if (!(bit / 8 == 3 && bad[3] == '=')) { /* turning the type into '=' makes a literal */
            CHECK_EQ(s.nout, g);
            CHECK(!memcmp(s.out, bad, g));
        }
    }
    /* a frame cut short: held, then given out by flush */
    memset(&s, 0, sizeof s);
    lode_serlink_dec_init(&d);
    lode_serlink_feed(&d, good, 7, on_ev, &s);
    CHECK_EQ(s.nout, 0);
    CHECK_EQ(lode_serlink_held(&d), 7);
    lode_serlink_flush(&d, on_ev, &s);
    CHECK_EQ(s.nout, 7);
    CHECK(!memcmp(s.out, good, 7));
}

/* Line noise rich in the frame's own bytes: never an exit, and (no '=' in the alphabet) the
 * output is the input, byte for byte. */
static void test_garbage(void)
{
    static seen_s s;
    static uint8_t in[1 << 20];
    const uint8_t alphabet[] = {0x10, 'L', 'D', 'X', 'A', 4, 0, 0xFF, 0x10, 0x10};
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof in; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (x >> 16) & 1 ? alphabet[(x >> 20) % sizeof alphabet] : (uint8_t)(x >> 24);
        if (in[i] == '=')
            in[i] = '+';
    }
    memset(&s, 0, sizeof s);
    lode_serlink_dec_s d;
    lode_serlink_dec_init(&d);
    for (size_t at = 0; at < sizeof in;) {
        size_t n = 1 + (at * 7) % 300;
        if (n > sizeof in - at)
            n = sizeof in - at;
        lode_serlink_feed(&d, in + at, n, on_ev, &s);
        at += n;
    }
    lode_serlink_flush(&d, on_ev, &s);
    CHECK_EQ(s.nexit, 0);
    CHECK_EQ(s.nreq, 0);
    CHECK_EQ(s.nout, sizeof in);
    CHECK(!memcmp(s.out, in, sizeof in));
}

static void test_encode_args(void)
{
    const char *argv[] = {"args.elf", "a", "bc"};
    uint8_t out[64];
    size_t n = 0;
    bool fits = false;
    CHECK(lode_serlink_encode_args(argv, 3, 64, 8, out, sizeof out, &n, &fits) == LODE_OK);
    CHECK(fits);
    CHECK_EQ(n, 6 + 1 + 14 + 2);
    CHECK_EQ(out[3], 'a');
    CHECK_EQ(out[4], 15);
    CHECK_EQ(out[6], 0);
    CHECK(!memcmp(out + 7, "args.elf\0a\0bc\0", 14));
    CHECK_EQ(lode_serlink_crc16(0xFFFF, out + 3, 3 + 15), out[21] | out[22] << 8);
    /* too little room: status 1 with what is needed */
    CHECK(lode_serlink_encode_args(argv, 3, 10, 8, out, sizeof out, &n, &fits) == LODE_OK);
    CHECK(!fits);
    CHECK_EQ(n, 6 + 5 + 2);
    CHECK_EQ(out[6], 1);
    CHECK_EQ(out[7] | out[8] << 8, 14);
    CHECK_EQ(out[9] | out[10] << 8, 3);
    CHECK(lode_serlink_encode_args(argv, 3, 10, 2, out, sizeof out, &n, &fits) == LODE_OK && !fits);
    CHECK(lode_serlink_encode_args(argv, 3, 64, 8, out, 20, &n, &fits) == LODE_E_RANGE);
}

/* ---- the run loop against a fake board --------------------------------------------------------- */

typedef struct fake_s {
    int fd;
    int mode;            /* 0: args + echo + exit; 1: says nothing; 2: talks, never exits; 3: closes;
                            4: pauses inside the exit frame */
    char got_args[64];
    size_t nargs;
    uint8_t echoed[16];
} fake_s;

static void read_n(int fd, uint8_t *buf, size_t n)
{
    size_t at = 0;
    while (at < n) {
        ssize_t r = read(fd, buf + at, n - at);
        if (r <= 0)
            return;
        at += (size_t)r;
    }
}

static void put(int fd, const void *data, size_t n)
{
    (void)!send(fd, data, n, MSG_NOSIGNAL); /* the host may be gone */
}

static void *fake_board(void *arg)
{
    fake_s *f = arg;
    if (f->mode == 1)
        return NULL;
    if (f->mode == 4) { /* an exit frame with a long pause in its middle (a busy host) */
        uint8_t x[16];
        size_t nx = exit_frame(66, x);
        put(f->fd, "go", 2);
        put(f->fd, x, 5);
        usleep(400000);
        put(f->fd, x + 5, nx - 5);
        return NULL;
    }
    if (f->mode == 3) {
        put(f->fd, "bye", 3);
        close(f->fd);
        return NULL;
    }
    put(f->fd, "boot\x10\n", 6);
    if (f->mode == 2) {
        for (int i = 0; i < 50; i++) {
            put(f->fd, ".", 1);
            usleep(10000);
        }
        return NULL;
    }
    uint8_t req[16];
    size_t n = 0;
    uint8_t room[4] = {64, 0, 8, 0};
    lode_serlink_encode(LODE_SERLINK_T_ARGS_REQ, room, 4, req, sizeof req, &n);
    put(f->fd, req, n);
    /* the answer: header, payload, CRC (input from the host may come first: kept for the echo) */
    uint8_t h[6];
    size_t nechoed = 0;
    for (;;) {
        h[0] = 0;
        read_n(f->fd, h, 1);
        if (h[0] == 0x10 || nechoed == sizeof f->echoed)
            break;
        f->echoed[nechoed++] = h[0];
    }
    read_n(f->fd, h + 1, 5);
    size_t len = (size_t)(h[4] | h[5] << 8);
    uint8_t p[80];
    if (len + 2 <= sizeof p) {
        read_n(f->fd, p, len + 2);
        memcpy(f->got_args, p + 1, len - 1);
        f->nargs = len - 1;
    }
    /* echo what the host sends, then exit 5 */
    if (nechoed < 3)
        read_n(f->fd, f->echoed + nechoed, 3 - nechoed);
    put(f->fd, f->echoed, 3);
    uint8_t x[16];
    size_t nx = exit_frame(5, x);
    put(f->fd, x, nx);
    put(f->fd, "ignored", 7);
    return NULL;
}

typedef struct host_s {
    char out[256];
    size_t nout;
    int asked_before_output;
    const char *input;
} host_s;

static void host_out(void *user, const uint8_t *data, size_t len)
{
    host_s *h = user;
    if (h->nout + len < sizeof h->out) {
        memcpy(h->out + h->nout, data, len);
        h->nout += len;
    }
}

static long host_in(void *user, uint8_t *buf, size_t cap)
{
    host_s *h = user;
    if (!h->nout)
        h->asked_before_output++;
    size_t n = strlen(h->input);
    if (n > cap)
        n = cap;
    memcpy(buf, h->input, n);
    h->input += n;
    return (long)n;
}

static int run_fake(int mode, uint64_t timeout_us, volatile sig_atomic_t *intr, fake_s *f, host_s *h,
                    lode_serlink_result_s *res)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    f->fd = sv[0];
    f->mode = mode;
    pthread_t th;
    pthread_create(&th, NULL, fake_board, f);
    lode_stream_s *s = NULL;
    lode_stream_from_fd(sv[1], true, NULL, &s);
    const char *argv[] = {"args.elf", "one", "two"};
    lode_serlink_run_config_s c = {.stream = s, .argv = argv, .argc = 3, .output = host_out, .input = host_in,
                                   .user = h, .timeout_us = timeout_us, .interrupt = intr};
    int rc = lode_serlink_run(&c, res);
    lode_stream_close(s);
    pthread_join(th, NULL);
    if (mode != 3)
        close(sv[0]);
    return rc;
}

static void test_run(void)
{
    fake_s f = {0};
    host_s h = {.input = "xyz"};
    lode_serlink_result_s res;
    CHECK(run_fake(0, 5000000, NULL, &f, &h, &res) == LODE_OK);
    CHECK_EQ(res.end, LODE_SERLINK_EXITED);
    CHECK_EQ(res.exit_code, 5);
    CHECK_EQ(res.args_requests, 1);
    CHECK_EQ(f.nargs, 17);
    CHECK(!memcmp(f.got_args, "args.elf\0one\0two\0", 17));
    CHECK(!memcmp(f.echoed, "xyz", 3));
    CHECK_EQ(h.asked_before_output, 0); /* input waits for the board's first byte */
    CHECK_EQ(h.nout, 9);
    CHECK(!memcmp(h.out, "boot\x10\nxyz", 9));

    /* a board that says nothing: the timeout, and no input was sent */
    fake_s f1 = {0};
    host_s h1 = {.input = "abc"};
    CHECK(run_fake(1, 200000, NULL, &f1, &h1, &res) == LODE_OK);
    CHECK_EQ(res.end, LODE_SERLINK_TIMEOUT);
    CHECK(res.us >= 200000);
    CHECK_EQ(h1.asked_before_output, 0);
    CHECK(!strcmp(h1.input, "abc"));

    /* interrupted */
    volatile sig_atomic_t intr = 1;
    fake_s f2 = {0};
    host_s h2 = {.input = ""};
    CHECK(run_fake(2, 0, &intr, &f2, &h2, &res) == LODE_OK);
    CHECK_EQ(res.end, LODE_SERLINK_INTERRUPTED);

    /* a pause inside a frame does not break it */
    fake_s f4 = {0};
    host_s h4 = {.input = ""};
    CHECK(run_fake(4, 5000000, NULL, &f4, &h4, &res) == LODE_OK);
    CHECK_EQ(res.end, LODE_SERLINK_EXITED);
    CHECK_EQ(res.exit_code, 66);
    CHECK_EQ(h4.nout, 2);

    /* the line closes */
    fake_s f3 = {0};
    host_s h3 = {.input = ""};
    CHECK(run_fake(3, 5000000, NULL, &f3, &h3, &res) == LODE_OK);
    CHECK_EQ(res.end, LODE_SERLINK_LOST);
    CHECK_EQ(h3.nout, 3);
}

/* The timeout counts the board's clock when it has one (a simulated board's time, which may run
 * slower or faster than the wall's): 100 s of a clock that moves 10 s per look end the run at
 * once in wall time. */
static uint64_t fast_clock(void *user)
{
    uint64_t *t = user;
    *t += 10000000u;
    return *t;
}

static void test_board_clock(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    lode_stream_s *s = NULL;
    lode_stream_from_fd(sv[1], true, NULL, &s);
    uint64_t clock = 0;
    lode_serlink_run_config_s c = {.stream = s, .timeout_us = 100000000u, .now_us = fast_clock, .clock_user = &clock};
    lode_serlink_result_s res;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(lode_serlink_run(&c, &res) == LODE_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK_EQ(res.end, LODE_SERLINK_TIMEOUT);
    CHECK(res.us >= 100000000u && res.us <= 120000000u);
    CHECK(b.tv_sec - a.tv_sec < 20); /* some polls, not 100 s */
    lode_stream_close(s);
    close(sv[0]);
}

int main(void)
{
    RUN_TEST(test_crc);
    RUN_TEST(test_frames);
    RUN_TEST(test_literal_and_resync);
    RUN_TEST(test_garbage);
    RUN_TEST(test_encode_args);
    RUN_TEST(test_run);
    RUN_TEST(test_board_clock);
    return TEST_DONE();
}
