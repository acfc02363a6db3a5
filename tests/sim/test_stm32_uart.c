/* SPDX-License-Identifier: MIT */
/* lode's stm32-uart probe (src/boot/stm32_uart.c over src/boot/an3155.c) against the simulated
 * STM32F103's system bootloader (sim_an3155.c) in process, over a socket pair: the chip from
 * Get ID and the flash-size word, a whole image (one global erase) and a part (the plan's pages)
 * written and read back, Extended Erase on the model's variant, Go, read-out protection refused
 * and lifted on request, write protection, an image too large, and the failed syncs (silence,
 * echo) with their one-line reasons. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lode/error.h"
#include "lode/image.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/sim.h"
#include "test.h"

#define FLASH 0x08000000u
#define FLASH_SIZE 0x10000u

/* REQUIRE for helpers that return a value */
#define NEED(cond)                                                                   \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: NEED %s failed\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                 \
        }                                                                            \
    } while (0)

typedef struct board_s {
    lode_sim_s *sim;
    lode_sim_an3155_s *m;
    int sv[2];
    volatile sig_atomic_t stop;
    pthread_t th;
    bool serving;
    char text[4096];
    lode_log_s log;
} board_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    char *text = user;
    if (level <= LODE_LOG_WARN) {
        size_t n = strlen(text);
        snprintf(text + n, 4096 - n, "%s\n", msg);
    }
}

static void board_new(board_s *b, bool ext)
{
    memset(b, 0, sizeof *b);
    b->log = (lode_log_s){.fn = log_fn, .user = b->text, .max_level = LODE_LOG_WARN};
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "STM32F103C8";
    REQUIRE(lode_sim_new(&cfg, &b->sim) == LODE_OK);
    lode_sim_an3155_config_s mc = {.extended_erase = ext};
    REQUIRE(lode_sim_an3155_new(b->sim, &mc, &b->m) == LODE_OK);
}

static void board_free(board_s *b)
{
    lode_sim_an3155_free(b->m);
    lode_sim_free(b->sim);
}

static void *serve(void *arg)
{
    board_s *b = arg;
    lode_sim_an3155_serve_fd(b->m, b->sv[1], &b->stop);
    return NULL;
}

/* A connection to the board (a reset into the bootloader) and the probe over it. */
static int connect_probe(board_s *b, const char *args, const char *chip, lode_probe_s **p)
{
    NEED(socketpair(AF_UNIX, SOCK_STREAM, 0, b->sv) == 0);
    NEED(pthread_create(&b->th, NULL, serve, b) == 0);
    b->serving = true;
    lode_stream_s *s = NULL;
    NEED(lode_stream_from_fd(b->sv[0], true, NULL, &s) == LODE_OK);
    b->text[0] = 0;
    lode_probe_open_opts_s o = {.log = &b->log, .chip = chip, .no_parity = true};
    return lodei_boot_stm32_open_stream(s, true, args, &o, p);
}

/* Close the probe (the socket with it): the board's session ends. */
static void disconnect(board_s *b, lode_probe_s *p)
{
    lode_probe_close(p);
    if (b->serving) {
        pthread_join(b->th, NULL);
        close(b->sv[1]);
        b->serving = false;
    }
}

static lode_image_s *image(uint32_t addr, size_t len, unsigned seed)
{
    uint8_t *d = malloc(len);
    NEED(d != NULL);
    for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)((i * 131u + seed * 7u) >> 3 ^ seed);
    lode_image_s *img = NULL;
    NEED(lode_image_from_bin(d, len, addr, &img) == LODE_OK);
    free(d);
    return img;
}

/* [addr, addr+len) holds the image made with seed, from its byte `first` on */
static bool flash_at(board_s *b, uint32_t addr, size_t len, unsigned seed, size_t first)
{
    uint8_t *d = malloc(len);
    NEED(d != NULL);
    NEED(lode_sim_mem_read(b->sim, addr, d, len) == LODE_OK);
    bool same = true;
    for (size_t i = 0; i < len && same; i++)
        same = d[i] == (uint8_t)(((i + first) * 131u + seed * 7u) >> 3 ^ seed);
    free(d);
    return same;
}

static bool flash_is(board_s *b, uint32_t addr, size_t len, unsigned seed) { return flash_at(b, addr, len, seed, 0); }

static void test_identify_flash_read(void)
{
    board_s b;
    board_new(&b, false);
    lode_probe_s *p = NULL;
    REQUIRE(connect_probe(&b, "sim:115200", NULL, &p) == LODE_OK);
    CHECK(!strcmp(lode_probe_chip(p), "STM32F103C8"));
    lode_probe_info_s info;
    memset(&info, 0, sizeof info);
    lode_probe_describe(p, &info);
    CHECK(strstr(info.description, "bootloader 2.2") != NULL);
    CHECK(strstr(info.description, "0x410") != NULL);
    CHECK(strstr(info.detail, "Erase") != NULL && strstr(info.detail, "Extended") == NULL);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    const lode_flash_region_s *regs = NULL;
    const lode_mem_range_s *ram = NULL;
    size_t nregs = 0, nram = 0;
    REQUIRE(lode_loader_layout(l, &b.log, &regs, &nregs, &ram, &nram) == LODE_OK);
    REQUIRE(nregs == 1 && nram == 1);
    CHECK(regs[0].start == FLASH && regs[0].end == FLASH + FLASH_SIZE);
    uint32_t ss = 0, sz = 0;
    CHECK(regs[0].sector_at(regs[0].user, FLASH + 0x1234, &ss, &sz) == LODE_OK && ss == FLASH + 0x1000 && sz == 1024);
    CHECK(ram[0].start == 0x20000200u && ram[0].end == 0x20005000u);
    /* the whole flash: one global erase, 256 blocks of 256 bytes */
    lode_image_s *img = image(FLASH, FLASH_SIZE, 1);
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    CHECK_EQ(res.sectors_erased, 64);
    CHECK_EQ(res.pages_programmed, 256);
    lode_image_free(img);
    /* a part: only its pages (4..6) erased, the rest kept */
    img = image(FLASH + 0x1000, 3000, 2);
    memset(&res, 0, sizeof res);
    fo.verify = false;
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    CHECK_EQ(res.sectors_erased, 3);
    lode_image_free(img);
    uint8_t buf[1000];
    CHECK_EQ(lode_loader_read(l, FLASH + 0x1003, buf, sizeof buf), LODE_OK);
    bool same = true;
    for (size_t i = 0; i < sizeof buf; i++)
        same = same && buf[i] == (uint8_t)(((i + 3) * 131u + 14u) >> 3 ^ 2u);
    CHECK(same);
    /* Go: the application runs, the bootloader is gone */
    CHECK_EQ(lode_loader_reset_run(l), LODE_OK);
    disconnect(&b, p);
    CHECK(lode_sim_an3155_running(b.m));
    CHECK(flash_is(&b, FLASH, 0x1000, 1));
    CHECK(flash_is(&b, FLASH + 0x1000, 3000, 2));
    CHECK(flash_at(&b, FLASH + 0x1C00, FLASH_SIZE - 0x1C00, 1, 0x1C00));
    uint8_t tail[16];
    REQUIRE(lode_sim_mem_read(b.sim, FLASH + 0x1000 + 3000, tail, sizeof tail) == LODE_OK);
    CHECK(tail[0] == 0xFF); /* the rest of page 6: erased, not restored */
    board_free(&b);
}

/* The write alone, on the virtual clock, against the serial-line bound: every byte lode must
 * move (11-bit 8E1 frames at 115200 baud) plus the FPEC's half-word and mass-erase times. */
static void test_line_bound(void)
{
    board_s b;
    board_new(&b, false);
    lode_probe_s *p = NULL;
    REQUIRE(connect_probe(&b, "sim", NULL, &p) == LODE_OK);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    lode_sim_an3155_stats_s s0, s1;
    lode_image_s *img = image(FLASH, FLASH_SIZE, 3);
    lode_flash_opts_s fo = {0};
    lode_flash_result_s res;
    memset(&res, 0, sizeof res);
    lode_sim_an3155_stats(b.m, &s0); /* the board thread is waiting for bytes here */
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    disconnect(&b, p);
    lode_sim_an3155_stats(b.m, &s1);
    lode_image_free(img);
    /* per block: 2 + 5 + 1 + 256 + 1 bytes in, 3 ACKs out; the global erase 4 in, 2 out */
    double frames = 256.0 * (265 + 3) + 6, bound = frames * 11 / 115200 + 32768 * 52.5e-6 + 0.020;
    double took = (double)(s1.session_ps - s0.session_ps) / 1e12;
    CHECK(took >= bound * 0.999 && took <= bound * 1.01);
    fprintf(stderr, "64 KiB through the simulated bootloader at 115200 baud: %.3f s, serial-line bound %.3f s (%.1f %%)\n",
            took, bound, 100.0 * bound / took);
    CHECK(s1.bytes_in - s0.bytes_in == 256 * 265 + 4);
    board_free(&b);
}

static void test_extended_erase(void)
{
    board_s b;
    board_new(&b, true);
    lode_probe_s *p = NULL;
    REQUIRE(connect_probe(&b, "sim", NULL, &p) == LODE_OK);
    lode_probe_info_s info;
    memset(&info, 0, sizeof info);
    lode_probe_describe(p, &info);
    CHECK(strstr(info.detail, "Extended Erase") != NULL);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    lode_image_s *img = image(FLASH, FLASH_SIZE, 4);
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    lode_image_free(img);
    img = image(FLASH + 0x8000, 2048, 5);
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    CHECK_EQ(res.sectors_erased, 2);
    lode_image_free(img);
    /* lode erase of a range and of everything */
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_erase(l, false, FLASH + 0x400, 0x400, &fo, &b.log, &res), LODE_OK);
    CHECK_EQ(res.sectors_erased, 1);
    disconnect(&b, p);
    CHECK(flash_is(&b, FLASH, 0x400, 4));
    CHECK(flash_is(&b, FLASH + 0x8000, 2048, 5));
    uint8_t e[4];
    REQUIRE(lode_sim_mem_read(b.sim, FLASH + 0x400, e, 4) == LODE_OK);
    CHECK(e[0] == 0xFF && e[3] == 0xFF);
    board_free(&b);
}

/* Bytes to the bootloader outside a probe (protecting the chip before lode comes). */
static void raw(board_s *b, const uint8_t *d, size_t n)
{
    uint8_t out[64];
    size_t k = 0;
    REQUIRE(lode_sim_an3155_feed(b->m, d, n, out, sizeof out, &k) == LODE_OK);
}

static void test_readout_protection(void)
{
    board_s b;
    board_new(&b, false);
    lode_image_s *img = image(FLASH, 4096, 6);
    /* write something, then Readout Protect */
    lode_probe_s *p = NULL;
    REQUIRE(connect_probe(&b, "sim", NULL, &p) == LODE_OK);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    lode_flash_opts_s fo = {0};
    lode_flash_result_s res;
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    disconnect(&b, p);
    lode_sim_an3155_reset(b.m);
    const uint8_t rp[] = {0x7F, 0x82, 0x7D};
    raw(&b, rp, sizeof rp);
    /* protected: lode sees it, refuses reads and writes with the way out */
    REQUIRE(connect_probe(&b, "sim", NULL, &p) == LODE_OK);
    lode_probe_info_s info;
    memset(&info, 0, sizeof info);
    lode_probe_describe(p, &info);
    CHECK(strstr(info.detail, "protection ACTIVE") != NULL);
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_E_FLASH);
    CHECK(strstr(b.text, "read-out protection is active") != NULL && strstr(b.text, ":unprotect") != NULL);
    uint8_t buf[4];
    CHECK_EQ(lode_loader_read(l, FLASH, buf, 4), LODE_E_FAULT);
    disconnect(&b, p);
    CHECK(flash_is(&b, FLASH, 4096, 6)); /* nothing lost without asking */
    /* asked: Readout Unprotect (mass erase), then the image goes in */
    REQUIRE(connect_probe(&b, "sim:unprotect", NULL, &p) == LODE_OK);
    CHECK(strstr(b.text, "mass-erases") != NULL);
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    lode_image_free(img);
    img = image(FLASH + 0x2000, 1024, 7);
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    disconnect(&b, p);
    CHECK(flash_is(&b, FLASH + 0x2000, 1024, 7));
    REQUIRE(lode_sim_mem_read(b.sim, FLASH, buf, 4) == LODE_OK);
    CHECK(buf[0] == 0xFF); /* the unprotect's mass erase */
    lode_image_free(img);
    board_free(&b);
}

static void test_bad_input(void)
{
    board_s b;
    board_new(&b, false);
    lode_probe_s *p = NULL;
    /* a chip named that is not the one there */
    CHECK_EQ(connect_probe(&b, "sim", "nRF52840_xxAA", &p), LODE_E_NO_DEVICE);
    CHECK(strstr(b.text, "not nRF52840_xxAA") != NULL);
    disconnect(&b, NULL);
    CHECK_EQ(connect_probe(&b, "sim:9", NULL, &p), LODE_E_INVALID_ARG); /* a baud below 1200 */
    disconnect(&b, NULL);
    CHECK_EQ(connect_probe(&b, "sim:boot0=cts", NULL, &p), LODE_E_INVALID_ARG);
    disconnect(&b, NULL);
    /* an image larger than the flash: refused before anything is erased */
    REQUIRE(connect_probe(&b, "sim", NULL, &p) == LODE_OK);
    lode_loader_s *l = NULL;
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    lode_image_s *img = image(FLASH, 4096, 8);
    lode_flash_opts_s fo = {0};
    lode_flash_result_s res;
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_OK);
    lode_image_free(img);
    img = image(FLASH, FLASH_SIZE + 4, 9);
    memset(&res, 0, sizeof res);
    b.text[0] = 0;
    CHECK(lode_loader_flash(l, img, &fo, &b.log, &res) != LODE_OK);
    CHECK(b.text[0] != 0 && strchr(b.text, '\n') == b.text + strlen(b.text) - 1); /* one line */
    CHECK_EQ(res.sectors_erased, 0);
    lode_image_free(img);
    disconnect(&b, p);
    CHECK(flash_is(&b, FLASH, 4096, 8));
    /* write protection (WRP on sector 0): the bootloader NACKs the erase */
    lode_sim_an3155_reset(b.m);
    const uint8_t wp[] = {0x7F, 0x63, 0x9C, 0x00, 0x00, 0x00};
    raw(&b, wp, sizeof wp);
    REQUIRE(connect_probe(&b, "sim", NULL, &p) == LODE_OK);
    REQUIRE(lode_probe_loader(p, &l) == LODE_OK);
    img = image(FLASH, 2048, 10);
    memset(&res, 0, sizeof res);
    CHECK_EQ(lode_loader_flash(l, img, &fo, &b.log, &res), LODE_E_FLASH);
    CHECK(strstr(b.text, "write-protected") != NULL);
    lode_image_free(img);
    disconnect(&b, p);
    board_free(&b);
}

/* Something on the other end that is no bootloader. */
typedef struct peer_s {
    int fd;
    int mode; /* 0 silent, 1 echo, 2 an optiboot (14 10 to everything), 3 noise */
} peer_s;

static void *peer_main(void *arg)
{
    peer_s *pe = arg;
    uint8_t buf[64];
    ssize_t n;
    static const uint8_t v1[2] = {0x14, 0x10}, noise[3] = {0x00, 0xe6, 0x80};
    while ((n = read(pe->fd, buf, sizeof buf)) > 0) {
        const uint8_t *out = pe->mode == 1 ? buf : pe->mode == 2 ? v1 : noise;
        size_t k = pe->mode == 1 ? (size_t)n : pe->mode == 2 ? 2 : 3;
        if (pe->mode && write(pe->fd, out, k) != (ssize_t)k)
            break;
    }
    return NULL;
}

static void failed_sync(int mode, const char *says)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    peer_s pe = {sv[1], mode};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, peer_main, &pe) == 0);
    char text[4096] = "";
    lode_log_s log = {.fn = log_fn, .user = text, .max_level = LODE_LOG_WARN};
    lode_stream_s *s = NULL;
    REQUIRE(lode_stream_from_fd(sv[0], true, NULL, &s) == LODE_OK);
    lode_probe_open_opts_s o = {.log = &log, .no_parity = true};
    lode_probe_s *p = NULL;
    CHECK_EQ(lodei_boot_stm32_open_stream(s, true, "/dev/ttyX", &o, &p), LODE_E_NO_DEVICE);
    if (!strstr(text, says))
        fprintf(stderr, "said: %s", text);
    CHECK(strstr(text, says) != NULL);
    CHECK(strchr(text, '\n') == text + strlen(text) - 1);
    pthread_join(th, NULL);
    close(sv[1]);
}

static void test_no_sync(void)
{
    failed_sync(0, "no answer from an STM32 bootloader on /dev/ttyX");
    failed_sync(1, "sends back what lode sends");
    failed_sync(2, "answers 0x7F in STK500v1 (optiboot: an Uno or a Nano) (14 10");
    failed_sync(2, "use --probe arduino:/dev/ttyX");
    failed_sync(3, "answers 0x7F with 00 e6 80");
}

int main(void)
{
    RUN_TEST(test_identify_flash_read);
    RUN_TEST(test_line_bound);
    RUN_TEST(test_extended_erase);
    RUN_TEST(test_readout_protection);
    RUN_TEST(test_bad_input);
    RUN_TEST(test_no_sync);
    return TEST_DONE();
}
