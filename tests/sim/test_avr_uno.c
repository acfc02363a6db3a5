/* SPDX-License-Identifier: MIT */
/* The simulated Uno (liblode-avrsim: the real optiboot 4.4 on simavr) through lode's arduino
 * probe in process (a socket pair): sync, signature and version as optiboot gives them, a
 * 32256-byte image written and read back identical, the flash as the simulated chip holds it,
 * EEPROM refused with nothing written, and the application started by LEAVE_PROGMODE. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lode/avrsim.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "test.h"

typedef struct board_s {
    lode_avrsim_s *sim;
    int fd;
    volatile sig_atomic_t stop;
    pthread_t th;
} board_s;

static void *board_main(void *arg)
{
    board_s *b = arg;
    lode_avrsim_serve_fd(b->sim, b->fd, &b->stop);
    return NULL;
}

/* The board's clock for the probe's waits, as the sim:uno row gives it (avrsim_probe.c): the
 * board runs on the host's CPU and falls behind the wall clock when the host is busy, so a sync
 * timed on the wall gives up before optiboot ran (two busy loops). */
static uint64_t board_now_us(void *user) { return lode_avrsim_served_us(((board_s *)user)->sim); }

static void board_delay_us(void *user, uint32_t us)
{
    uint64_t t0 = board_now_us(user);
    for (int i = 0; i < 60000 && board_now_us(user) - t0 < us; i++) /* 60 s of the wall at most */
        usleep(1000);
}

static lode_probe_extra_s board_clock(board_s *b)
{
    return (lode_probe_extra_s){.now_us = board_now_us, .delay_us = board_delay_us, .time_user = b};
}

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    char *text = user;
    if (level <= LODE_LOG_WARN) {
        size_t n = strlen(text);
        snprintf(text + n, 2048 - n, "%s\n", msg);
    }
}

static void test_uno(void)
{
    char text[2048] = "";
    lode_log_s log = {.fn = log_fn, .user = text, .max_level = LODE_LOG_WARN};
    board_s b = {0};
    lode_avrsim_config_s cfg = {.board = "uno", .log = &log};
    int rc = lode_avrsim_new(&cfg, &b.sim);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", text);
    REQUIRE(rc == LODE_OK);
    CHECK(!strcmp(lode_avrsim_chip(b.sim), "ATmega328P"));
    uint8_t boot[512];
    REQUIRE(lode_avrsim_flash_read(b.sim, 0x7E00, boot, sizeof boot) == LODE_OK);
    CHECK(boot[0] != 0xFF); /* optiboot is there */
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    b.fd = sv[0];
    pthread_create(&b.th, NULL, board_main, &b);
    lode_stream_s *s = NULL;
    REQUIRE(lode_stream_from_fd(sv[1], true, &log, &s) == LODE_OK);
    lode_probe_open_opts_s o = {.log = &log};
    lode_probe_s *p = NULL;
    lode_probe_extra_s clk = board_clock(&b);
    rc = lodei_boot_arduino_open_stream(s, true, "sim:uno", 115200, &o, &clk, &p);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", text);
    REQUIRE(rc == LODE_OK);
    lode_probe_info_s info;
    lode_probe_describe(p, &info);
    CHECK(strstr(info.description, "optiboot 4.4") != NULL);
    CHECK(strstr(info.description, "1E 95 0F") != NULL);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);

    static uint8_t app[32256];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof app; i++) {
        x = x * 1103515245u + 12345u;
        app[i] = (uint8_t)(x >> 16);
    }
    lode_segment_s seg = {0, sizeof app, app};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    uint64_t t0 = lode_avrsim_time_us(b.sim);
    CHECK_EQ(lode_loader_flash(l, &img, &fo, &log, &res), LODE_OK);
    fprintf(stderr, "32256 bytes written and read back: %.3f s simulated\n",
            (double)(lode_avrsim_time_us(b.sim) - t0) / 1e6);
    CHECK_EQ(res.pages_programmed, 252);
    CHECK_EQ(res.bytes_verified, sizeof app);
    static uint8_t chip[32768];
    REQUIRE(lode_avrsim_flash_read(b.sim, 0, chip, sizeof chip) == LODE_OK);
    CHECK(memcmp(chip, app, sizeof app) == 0);
    CHECK(memcmp(chip + 0x7E00, boot, sizeof boot) == 0); /* the bootloader untouched */

    /* EEPROM through optiboot 4.4: refused, flash page 0 intact */
    uint8_t ee[3] = {0x11, 0x22, 0x33};
    lode_segment_s eseg = {0x810000, 3, ee};
    lode_image_s eimg = {.segs = &eseg, .nsegs = 1};
    CHECK_EQ(lode_loader_flash(l, &eimg, &fo, &log, &res), LODE_E_RANGE);
    REQUIRE(lode_avrsim_flash_read(b.sim, 0, chip, 3) == LODE_OK);
    CHECK(memcmp(chip, app, 3) == 0);

    /* what crossed the line: 252 x (LOAD_ADDRESS 4 + PROG_PAGE 133) in, 126 x (4 + READ_PAGE 5) */
    lode_avrsim_session_s ss;
    lode_avrsim_last_session(b.sim, &ss);
    CHECK_EQ(ss.id, 1);
    CHECK(ss.bytes_in >= 252u * 137u + 126u * 9u && ss.bytes_out >= 32256u + 252u * 4u);
    CHECK_EQ(lode_loader_reset_run(l), LODE_OK);
    lode_probe_close(p);
    b.stop = 1;
    pthread_join(b.th, NULL);
    close(sv[0]);
    lode_avrsim_free(b.sim);
}

static void test_unknown_board(void)
{
    char text[2048] = "";
    lode_log_s log = {.fn = log_fn, .user = text, .max_level = LODE_LOG_WARN};
    lode_avrsim_s *sim = NULL;
    lode_avrsim_config_s cfg = {.board = "nano-every", .log = &log};
    CHECK_EQ(lode_avrsim_new(&cfg, &sim), LODE_E_NO_DEVICE);
    CHECK(strstr(text, "the AVR boards are: uno") != NULL);
    cfg = (lode_avrsim_config_s){.board = "uno", .bootloader = "/nonexistent.hex", .log = &log};
    CHECK_EQ(lode_avrsim_new(&cfg, &sim), LODE_E_NO_DEVICE);
    CHECK(strstr(text, "arduino-core-avr") != NULL);
}

/* Application code as random bytes make it, started by optiboot after its 1 s timeout: ELPM
 * (not an ATmega328P instruction; simavr took r0 as the high address byte and read 16 MB past
 * its flash array: the sim-server died with SIGSEGV) and a JMP far past the flash (simavr
 * fetched from there; a real AVR's PC wraps round the flash). The board crashes or runs on;
 * the simulator lives, and the flash is what it was. */
static void run_app(const uint16_t *code, size_t n)
{
    uint8_t app[16];
    REQUIRE(2 * n <= sizeof app);
    for (size_t i = 0; i < n; i++) {
        app[2 * i] = (uint8_t)code[i];
        app[2 * i + 1] = (uint8_t)(code[i] >> 8);
    }
    char text[2048] = "";
    lode_log_s log = {.fn = log_fn, .user = text, .max_level = LODE_LOG_WARN};
    board_s b = {0};
    lode_avrsim_config_s cfg = {.board = "uno", .log = &log};
    REQUIRE(lode_avrsim_new(&cfg, &b.sim) == LODE_OK);
    uint8_t boot[512], back[512];
    REQUIRE(lode_avrsim_flash_read(b.sim, 0x7E00, boot, sizeof boot) == LODE_OK);
    REQUIRE(lode_avrsim_flash_write(b.sim, 0, app, 2 * n) == LODE_OK);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    b.fd = sv[0];
    pthread_create(&b.th, NULL, board_main, &b);
    while (lode_avrsim_time_us(b.sim) < 1600000u)
        usleep(20000);
    b.stop = 1;
    pthread_join(b.th, NULL);
    REQUIRE(lode_avrsim_flash_read(b.sim, 0x7E00, back, sizeof back) == LODE_OK);
    CHECK(memcmp(back, boot, sizeof boot) == 0);
    REQUIRE(lode_avrsim_flash_read(b.sim, 0, back, 2 * n) == LODE_OK);
    CHECK(memcmp(back, app, 2 * n) == 0);
    close(sv[0]);
    close(sv[1]);
    lode_avrsim_free(b.sim);
}

static void test_wild_app(void)
{
    /* r0 = 0xFF, Z = 0xFFFF; elpm r29,Z */
    static const uint16_t elpm[] = {0xEF0F, 0x2E00, 0xEFEF, 0xEFFF, 0x91D6};
    static const uint16_t far_jump[] = {0x95FD, 0xFF00};     /* jmp 0x7FFE00 (bytes) */
    run_app(elpm, 5);
    run_app(far_jump, 2);
}

/* One board served on a socket pair, strict (bytes the USART cannot buffer are lost) or not. */
static void board_start(board_s *b, bool overrun, lode_log_s *log, int sv[2])
{
    lode_avrsim_config_s cfg = {.board = "uno", .uart_overrun = overrun, .log = log};
    REQUIRE(lode_avrsim_new(&cfg, &b->sim) == LODE_OK);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    b->fd = sv[0];
    pthread_create(&b->th, NULL, board_main, b);
}

static void board_stop(board_s *b, int sv[2])
{
    b->stop = 1;
    pthread_join(b->th, NULL);
    close(sv[0]);
    close(sv[1]);
    lode_avrsim_free(b->sim);
}

/* 32256 bytes through lode on the strict board, timed in simulated time against the line: the
 * bytes lode must send (252 x (LOAD_ADDRESS 4 + PROG_PAGE 133)) plus 4.5 ms per page write and
 * per NRWW page erase (optiboot 4.4 erases the 28 pages from 0x7000 after their bytes came) is
 * the least it can take; the bound (both directions, 252 x 141 bytes, plus the same
 * SPM times) is the most: above it lode waits longer than the line needs (one round trip per
 * command instead of per page). Below the least the simulator would be too kind (replies or
 * SPM taking no time). */
static void test_uno_timing(void)
{
    char text[2048] = "";
    lode_log_s log = {.fn = log_fn, .user = text, .max_level = LODE_LOG_WARN};
    board_s b = {0};
    int sv[2];
    board_start(&b, true, &log, sv);
    lode_stream_s *s = NULL;
    REQUIRE(lode_stream_from_fd(sv[1], false, &log, &s) == LODE_OK);
    lode_probe_open_opts_s o = {.log = &log};
    lode_probe_s *p = NULL;
    lode_probe_extra_s clk = board_clock(&b);
    int rc = lodei_boot_arduino_open_stream(s, true, "sim:uno", 115200, &o, &clk, &p);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", text);
    REQUIRE(rc == LODE_OK);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    static uint8_t app[32256];
    for (size_t i = 0; i < sizeof app; i++)
        app[i] = (uint8_t)(i * 131u + (i >> 8));
    lode_segment_s seg = {0, sizeof app, app};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {0};
    lode_flash_result_s res;
    uint64_t t0 = lode_avrsim_served_us(b.sim);
    CHECK_EQ(lode_loader_flash(l, &img, &fo, &log, &res), LODE_OK);
    double t = (double)(lode_avrsim_served_us(b.sim) - t0) / 1e6, byte = 10.0 / 115200, spm = 280 * 0.0045;
    double least = 252 * 137 * byte + spm, most = 252 * 141 * byte + spm;
    fprintf(stderr, "32256 bytes written: %.4f s simulated (least %.4f, bound %.4f: %.1f %%)\n", t, least, most,
            100 * most / t);
    CHECK(t >= least);
    CHECK(t <= most);
    static uint8_t chip[32256];
    REQUIRE(lode_avrsim_flash_read(b.sim, 0, chip, sizeof chip) == LODE_OK);
    CHECK(memcmp(chip, app, sizeof app) == 0);
    lode_probe_close(p);
    board_stop(&b, sv);
}

/* The strict board loses what a chip would: two pages sent back to back without waiting for
 * the first one's STK_OK (the second page's bytes come while the first is written, and all but
 * three of them find the receive buffer full): the first is written, the second is not. The
 * lenient board holds the bytes and writes both. */
static void blast_two_pages(bool overrun, bool *second_written)
{
    char text[2048] = "";
    lode_log_s log = {.fn = log_fn, .user = text, .max_level = LODE_LOG_WARN};
    board_s b = {0};
    int sv[2];
    board_start(&b, overrun, &log, sv);
    static const uint8_t sync[2] = {0x30, 0x20};
    while (lode_avrsim_served_us(b.sim) < 100000u) /* past optiboot's start */
        usleep(5000);
    REQUIRE(write(sv[1], sync, 2) == 2);
    uint8_t in[8];
    size_t got = 0;
    for (int i = 0; i < 600 && got < 2; i++) { /* optiboot flashes its LED first (375 ms) */
        struct pollfd pf = {sv[1], POLLIN, 0};
        if (poll(&pf, 1, 100) == 1) {
            ssize_t r = read(sv[1], in + got, sizeof in - got);
            got += r > 0 ? (size_t)r : 0;
        }
    }
    REQUIRE(got >= 2 && in[0] == 0x14 && in[1] == 0x10);
    uint8_t out[2 * 141];
    for (int pg = 0; pg < 2; pg++) {
        uint8_t *o = out + pg * 141;
        o[0] = 0x55, o[1] = (uint8_t)(pg * 64), o[2] = 0, o[3] = 0x20; /* word address */
        o[4] = 0x64, o[5] = 0, o[6] = 128, o[7] = 'F';
        for (int i = 0; i < 128; i++)
            o[8 + i] = (uint8_t)(pg + 1);
        o[136] = 0x20;
        memset(o + 137, 0, 4);
    }
    /* LOAD_ADDRESS + PROG_PAGE (137 bytes) twice, nothing between */
    memmove(out + 137, out + 141, 137);
    REQUIRE(write(sv[1], out, 2 * 137) == 2 * 137);
    uint64_t t0 = lode_avrsim_served_us(b.sim);
    while (lode_avrsim_served_us(b.sim) - t0 < 100000u) /* 100 ms of the board's time */
        usleep(10000);
    uint8_t chip[256];
    REQUIRE(lode_avrsim_flash_read(b.sim, 0, chip, sizeof chip) == LODE_OK);
    CHECK(chip[0] == 1 && chip[127] == 1);
    *second_written = chip[128] == 2 && chip[255] == 2;
    board_stop(&b, sv);
}

static void test_uno_overrun(void)
{
    bool second = true;
    blast_two_pages(true, &second);
    CHECK(!second);
    blast_two_pages(false, &second);
    CHECK(second);
}

int main(void)
{
    RUN_TEST(test_unknown_board);
    RUN_TEST(test_wild_app);
    RUN_TEST(test_uno);
    RUN_TEST(test_uno_timing);
    RUN_TEST(test_uno_overrun);
    return TEST_DONE();
}
