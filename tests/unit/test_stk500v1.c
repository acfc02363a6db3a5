/* SPDX-License-Identifier: MIT */
/* The arduino probe (STK500v1, src/boot/) against a model of optiboot 4.4 on the master side of
 * a pseudo-terminal (the probe opens the slave by its registry row): sync, signature, version,
 * page writes and reads through the loader and the session, the refusals (EEPROM, bootloader
 * overlap, wrong signature without force) and the classification of a failed sync (no bytes,
 * echo, garbage). Plus the reply decoder. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/stk500v1.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/session.h"
#include "test.h"

/* DEV_STRAGGLER: optiboot whose every GET_SYNC answer comes behind the OK byte of a late
 * answer to an earlier try (10 14 10), as seen under load (commit f099a22) */
/* DEV_STARVED: a simulated board starved of the host's CPU: its first answer comes 3 s of wall
 * time after it started, when its own clock (dev_clock_us) says 0.3 s */
typedef enum {
    DEV_OPTIBOOT, DEV_SILENT, DEV_ECHO, DEV_GARBAGE, DEV_STRAGGLER, DEV_SLOW_SYNC, DEV_STARVED,
    DEV_SPLIT,      /* DEV_STRAGGLER's 10 14 10 with the last OK 50 ms late (a loaded host) */
    DEV_WRONG_BAUD, /* optiboot at 57600 heard at 115200 */
    DEV_STK500V2,   /* a Mega 2560's bootloader: a frame (here: a failed answer) */
    DEV_AVR109,     /* Caterina: '?' to what it does not know */
} dev_mode_e;

/* Bytes sent at half the receiver's baud as the receiver's UART frames them: every sent bit
 * lasts two received bit times; a start bit is a falling edge, eight data bits LSB first are
 * sampled, a missing stop bit is a framing error (Linux passes the byte as 0x00). */
static size_t at_half_baud(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uint8_t line[2 * 10 * 8 + 40];
    size_t nl = 0, k = 0;
    for (size_t i = 0; i < n && nl + 20 <= sizeof line; i++)
        for (int bit = 0; bit < 10; bit++) {
            int v = bit == 0 ? 0 : bit == 9 ? 1 : in[i] >> (bit - 1) & 1;
            line[nl++] = (uint8_t)v;
            line[nl++] = (uint8_t)v;
        }
    for (int i = 0; i < 12; i++) /* idle after */
        line[nl++] = 1;
    for (size_t t = 0; t + 10 <= nl && k < cap;) {
        if (line[t]) {
            t++;
            continue;
        }
        uint8_t b = 0;
        for (int bit = 0; bit < 8; bit++)
            b |= (uint8_t)(line[t + 1 + (size_t)bit] << bit);
        out[k++] = line[t + 9] ? b : 0x00;
        t += 10;
    }
    return k;
}

typedef struct dev_s {
    int master, slave;
    char path[64];
    dev_mode_e mode;
    uint8_t sig[3];
    uint8_t flash[32768];
    unsigned pages_written, leaves;
    unsigned syncs;              /* GET_SYNCs seen (DEV_SLOW_SYNC, DEV_STARVED) */
    uint64_t t0_us;              /* wall time at the start */
    atomic_bool stop;
    pthread_t th;
} dev_s;

static uint64_t wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* DEV_STARVED's clock: a tenth of the wall's */
static uint64_t dev_clock_us(void *user)
{
    return (wall_us() - ((dev_s *)user)->t0_us) / 10u;
}
static void dev_delay_us(void *user, uint32_t us)
{
    (void)user;
    usleep(us * 10u);
}

static int dev_getc(dev_s *d)
{
    while (!atomic_load(&d->stop)) {
        struct pollfd p = {d->master, POLLIN, 0};
        if (poll(&p, 1, 20) == 1 && (p.revents & POLLIN)) {
            uint8_t c;
            if (read(d->master, &c, 1) == 1)
                return c;
        }
    }
    return -1;
}

static void dev_put(dev_s *d, const uint8_t *b, size_t n)
{
    if (write(d->master, b, n) != (ssize_t)n)
        abort();
}

/* optiboot 4.4 as AVR061 and its documented behaviour say: every memory type goes to flash */
static void *dev_main(void *arg)
{
    dev_s *d = arg;
    uint32_t addr = 0;
    int c;
    while ((c = dev_getc(d)) >= 0) {
        uint8_t b = (uint8_t)c;
        if (d->mode == DEV_SILENT)
            continue;
        if (d->mode == DEV_ECHO) {
            dev_put(d, &b, 1);
            continue;
        }
        if (d->mode == DEV_GARBAGE) {
            uint8_t junk[2] = {0x00, 0xF8};
            dev_put(d, junk, 2);
            continue;
        }
        if (d->mode == DEV_AVR109) {
            uint8_t q = '?';
            dev_put(d, &q, 1);
            continue;
        }
        if (d->mode == DEV_STK500V2) { /* an answer frame: seq 1, size 2, token, cmd 0, STATUS_CMD_FAILED */
            uint8_t f[8] = {0x1B, 0x01, 0x00, 0x02, 0x0E, 0x00, 0xC0, 0};
            for (int i = 0; i < 7; i++)
                f[7] ^= f[i];
            if (b == 0x20)
                dev_put(d, f, 8);
            continue;
        }
        uint8_t args[300], data[300];
        size_t nargs = 0, ndata = 0;
        switch (b) {
        case 0x41: nargs = 1; break;
        case 0x42: nargs = 20; break;
        case 0x45: nargs = 5; break;
        case 0x55: nargs = 2; break;
        case 0x56: nargs = 4; break;
        case 0x64: nargs = 3; break;
        case 0x74: nargs = 3; break;
        default: break;
        }
        for (size_t i = 0; i < nargs; i++)
            args[i] = (uint8_t)dev_getc(d);
        if (b == 0x64)
            for (size_t i = 0; i < ((size_t)args[0] << 8 | args[1]); i++)
                data[i] = (uint8_t)dev_getc(d);
        if (dev_getc(d) != 0x20)
            continue; /* optiboot: no answer, watchdog reset */
        uint8_t out[300];
        switch (b) {
        case 0x41: out[0] = args[0] == 0x81 || args[0] == 0x82 ? 4 : 3; ndata = 1; break;
        case 0x56: out[0] = 0; ndata = 1; break;
        case 0x55: addr = (uint32_t)(args[0] | args[1] << 8) * 2u; break;
        case 0x64: {
            size_t len = (size_t)args[0] << 8 | args[1];
            for (size_t i = 0; i < len && addr + i < sizeof d->flash; i++)
                d->flash[addr + i] = data[i];
            d->pages_written++;
            break;
        }
        case 0x74: {
            ndata = (size_t)args[0] << 8 | args[1];
            for (size_t i = 0; i < ndata; i++)
                out[i] = addr + i < sizeof d->flash ? d->flash[addr + i] : 0xFF;
            break;
        }
        case 0x75: memcpy(out, d->sig, 3); ndata = 3; break;
        case 0x51: d->leaves++; break;
        default: break;
        }
        if (d->mode == DEV_SLOW_SYNC && b == 0x30) {
            /* a busy board: the first sync answered after lode's next try went out, the second
             * after lode's drain after the first answer */
            usleep(d->syncs == 0 ? 600000 : d->syncs == 1 ? 80000 : 0);
            d->syncs++;
        }
        if (d->mode == DEV_STARVED && b == 0x30 && d->syncs++ == 0) {
            uint64_t due = d->t0_us + 3000000u, now = wall_us();
            if (now < due)
                usleep((useconds_t)(due - now));
        }
        uint8_t insync = 0x14, ok = 0x10;
        if ((d->mode == DEV_STRAGGLER || d->mode == DEV_SPLIT) && b == 0x30)
            dev_put(d, &ok, 1);
        if (d->mode == DEV_SPLIT && b == 0x30) {
            dev_put(d, &insync, 1);
            usleep(50000);
            dev_put(d, &ok, 1);
            continue;
        }
        if (d->mode == DEV_WRONG_BAUD) {
            uint8_t ans[64], heard[128];
            size_t na = 0;
            ans[na++] = insync;
            memcpy(ans + na, out, ndata);
            na += ndata;
            ans[na++] = ok;
            dev_put(d, heard, at_half_baud(ans, na, heard, sizeof heard));
            continue;
        }
        dev_put(d, &insync, 1);
        if (ndata)
            dev_put(d, out, ndata);
        dev_put(d, &ok, 1);
    }
    return NULL;
}

static dev_s *dev_start(dev_mode_e mode)
{
    dev_s *d = calloc(1, sizeof *d);
    d->mode = mode;
    d->sig[0] = 0x1E, d->sig[1] = 0x95, d->sig[2] = 0x0F;
    memset(d->flash, 0xFF, sizeof d->flash);
    d->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (d->master < 0 || grantpt(d->master) || unlockpt(d->master) ||
        snprintf(d->path, sizeof d->path, "%s", ptsname(d->master)) <= 0)
        abort();
    d->slave = open(d->path, O_RDWR | O_NOCTTY); /* keeps the master readable between opens */
    struct termios t;
    tcgetattr(d->slave, &t);
    cfmakeraw(&t);
    tcsetattr(d->slave, TCSANOW, &t);
    d->t0_us = wall_us();
    pthread_create(&d->th, NULL, dev_main, d);
    return d;
}

static void dev_stop(dev_s *d)
{
    atomic_store(&d->stop, true);
    pthread_join(d->th, NULL);
    close(d->slave);
    close(d->master);
    free(d);
}

typedef struct logbuf_s {
    char text[4096];
} logbuf_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    logbuf_s *l = user;
    if (level == LODE_LOG_ERROR) {
        size_t n = strlen(l->text);
        snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
    }
}

static int open_probe(dev_s *d, const char *chip, bool force, logbuf_s *lb, lode_probe_s **p)
{
    lode_probe_registry_s *reg = NULL;
    lode_probe_registry_new(&reg);
    lode_log_s log = {.fn = log_fn, .user = lb, .max_level = LODE_LOG_WARN};
    char spec[96];
    snprintf(spec, sizeof spec, "arduino:%s:115200", d->path);
    lode_probe_open_opts_s o = {.chip = chip, .log = &log, .force = force};
    int rc = lode_probe_open(reg, spec, &o, p);
    lode_probe_registry_free(reg);
    return rc;
}

static void test_decode(void)
{
    size_t need = 99;
    const uint8_t done[] = {0x14, 0x1E, 0x95, 0x0F, 0x10};
    CHECK_EQ(lodei_stk1_decode(done, 5, 3, &need), LODEI_STK1_R_DONE);
    CHECK_EQ(lodei_stk1_decode(done, 2, 3, &need), LODEI_STK1_R_MORE);
    CHECK_EQ(need, 3);
    const uint8_t nosync[] = {0x15};
    CHECK_EQ(lodei_stk1_decode(nosync, 1, 0, &need), LODEI_STK1_R_NOSYNC);
    const uint8_t failed[] = {0x14, 0x11};
    CHECK_EQ(lodei_stk1_decode(failed, 2, 0, &need), LODEI_STK1_R_FAILED);
    const uint8_t data11[] = {0x14, 0x11, 0x22}; /* a data byte 0x11 is no FAILED */
    CHECK_EQ(lodei_stk1_decode(data11, 3, 2, &need), LODEI_STK1_R_MORE);
    const uint8_t junk[] = {0x00, 0x14, 0x10};
    CHECK_EQ(lodei_stk1_decode(junk, 3, 0, &need), LODEI_STK1_R_GARBAGE);
    const uint8_t badend[] = {0x14, 0x01, 0x02};
    CHECK_EQ(lodei_stk1_decode(badend, 3, 1, &need), LODEI_STK1_R_GARBAGE);
    uint8_t buf[8];
    const uint8_t a[2] = {0x34, 0x12};
    CHECK_EQ(lodei_stk1_encode(buf, sizeof buf, 0x55, a, 2), 4);
    CHECK(buf[0] == 0x55 && buf[1] == 0x34 && buf[2] == 0x12 && buf[3] == 0x20);
    CHECK_EQ(lodei_stk1_encode(buf, 3, 0x55, a, 2), 0);
}

static void test_flash_read_verify(void)
{
    dev_s *d = dev_start(DEV_OPTIBOOT);
    logbuf_s lb = {{0}};
    lode_probe_registry_s *reg = NULL;
    lode_probe_registry_new(&reg);
    char spec[96];
    snprintf(spec, sizeof spec, "arduino:%s", d->path);
    lode_session_config_s sc = {.registry = reg, .spec = spec, .chip = NULL, /* the bootloader identifies it */
                                .log = {.fn = log_fn, .user = &lb, .max_level = LODE_LOG_WARN}};
    lode_session_s *s = NULL;
    int rc = lode_session_open(&sc, &s);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    REQUIRE(rc == LODE_OK);
    lode_probe_info_s info = {0};
    lode_probe_describe(lode_session_probe(s), &info);
    CHECK(strstr(info.description, "optiboot 4.4") && strstr(info.description, "ATmega328P"));
    CHECK(!strcmp(lode_probe_chip(lode_session_probe(s)), "ATmega328P"));
    uint8_t img_data[1000];
    for (size_t i = 0; i < sizeof img_data; i++)
        img_data[i] = (uint8_t)(i * 7 + 3);
    lode_segment_s seg = {0, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_OK);
    CHECK_EQ(res.pages_programmed, 8);
    CHECK_EQ(res.bytes_verified, sizeof img_data);
    CHECK_EQ(d->pages_written, 8);
    CHECK(memcmp(d->flash, img_data, sizeof img_data) == 0);
    CHECK_EQ(d->flash[1000], 0xFF); /* the last page padded */
    size_t checked = 0;
    CHECK_EQ(lode_session_verify(s, &img, &checked), LODE_OK);
    CHECK_EQ(checked, sizeof img_data);
    /* a read at an odd address through the loader */
    lode_loader_s *l = NULL;
    REQUIRE(lode_session_loader(s, &l) == LODE_OK);
    lode_segment_s oseg = {3, 301, img_data + 3};
    lode_image_s oimg = {.segs = &oseg, .nsegs = 1};
    CHECK_EQ(lode_loader_verify(l, &oimg, NULL, &checked), LODE_OK);
    CHECK_EQ(checked, 301);
    d->flash[517] ^= 1;
    CHECK_EQ(lode_session_verify(s, &img, &checked), LODE_E_VERIFY);
    CHECK(strstr(lb.text, "mismatch at 0x00000205") != NULL);
    d->flash[517] ^= 1;
    /* EEPROM data: refused with the reason, nothing written */
    unsigned before = d->pages_written;
    uint8_t ee[3] = {0x11, 0x22, 0x33};
    lode_segment_s eseg = {0x810000, 3, ee};
    lode_image_s eimg = {.segs = &eseg, .nsegs = 1};
    lb.text[0] = 0;
    CHECK_EQ(lode_session_flash(s, &eimg, &fo, &res), LODE_E_RANGE);
    CHECK(strstr(lb.text, "flash page 0") != NULL);
    CHECK_EQ(d->pages_written, before);
    /* reaching into the bootloader: refused, nothing written */
    uint8_t big[400];
    memset(big, 0x5A, sizeof big);
    lode_segment_s bseg = {0x7D00, sizeof big, big};
    lode_image_s bimg = {.segs = &bseg, .nsegs = 1};
    lb.text[0] = 0;
    CHECK_EQ(lode_session_flash(s, &bimg, &fo, &res), LODE_E_RANGE);
    CHECK(strstr(lb.text, "into the bootloader") != NULL);
    CHECK_EQ(d->pages_written, before);
    CHECK_EQ(d->flash[0x7D00], 0xFF);
    /* no erase */
    lb.text[0] = 0;
    CHECK_EQ(lode_session_erase(s, false, 0, 128, &fo, &res), LODE_E_UNSUPPORTED);
    CHECK(strstr(lb.text, "no erase") != NULL);
    lb.text[0] = 0;
    CHECK_EQ(lode_session_erase(s, true, 0, 0, &fo, &res), LODE_E_UNSUPPORTED); /* all: not "the bootloader" */
    CHECK(strstr(lb.text, "no erase") != NULL);
    /* into the application */
    CHECK_EQ(lode_loader_reset_run(l), LODE_OK);
    CHECK_EQ(d->leaves, 1);
    lode_session_close(s);
    lode_probe_registry_free(reg);
    dev_stop(d);
}

static void test_signature(void)
{
    dev_s *d = dev_start(DEV_OPTIBOOT);
    logbuf_s lb = {{0}};
    lode_probe_s *p = NULL;
    CHECK_EQ(open_probe(d, "atmega168", false, &lb, &p), LODE_E_NO_DEVICE);
    CHECK(strstr(lb.text, "1E 95 0F (ATmega328P), not ATmega168") != NULL);
    CHECK_EQ(open_probe(d, "atmega168", true, &lb, &p), LODE_OK);
    lode_probe_close(p);
    d->sig[2] = 0x77;
    lb.text[0] = 0;
    CHECK_EQ(open_probe(d, NULL, false, &lb, &p), LODE_E_NO_DEVICE);
    CHECK(strstr(lb.text, "no AVR part lode knows") != NULL);
    dev_stop(d);
}

/* Answers to earlier sync tries that come after lode synced (14 10 pairs ahead of READ_SIGN's
 * answer) are skipped: the signature is read right ("not STK500 (first byte 0x14)" before). */
static void test_late_sync_answers(void)
{
    dev_s *d = dev_start(DEV_SLOW_SYNC);
    logbuf_s lb = {{0}};
    lode_probe_s *p = NULL;
    int rc = open_probe(d, NULL, false, &lb, &p);
    if (rc != LODE_OK)
        fprintf(stderr, "said: %s", lb.text);
    CHECK_EQ(rc, LODE_OK);
    CHECK(d->syncs >= 2);
    lode_probe_close(p);
    dev_stop(d);
}

static void test_no_sync(void)
{
    static const struct {
        dev_mode_e mode;
        const char *says;
    } cases[] = {
        {DEV_SILENT, "no answer at all"},
        {DEV_ECHO, "sends back what lode sends (30 20"},
        {DEV_GARBAGE, "not in STK500v1 (00 f8"},
        {DEV_WRONG_BAUD, "the wrong baud; an ATmega328P Nano with the old bootloader and a Duemilanove use 57600 "
                         "(--board nano-old-bootloader"},
        {DEV_STK500V2, "answers GET_SYNC in STK500v2 (the Mega 2560's bootloader) (1b 01 00 02 0e 00 c0"},
        {DEV_AVR109, "in AVR109 ('?' to an unknown command: Caterina, a Leonardo or Micro) (3f 3f"},
        {DEV_AVR109, "not STK500v1: use --probe avr109:/dev/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dev_s *d = dev_start(cases[i].mode);
        logbuf_s lb = {{0}};
        lode_probe_s *p = NULL;
        CHECK_EQ(open_probe(d, NULL, false, &lb, &p), LODE_E_NO_DEVICE);
        if (!strstr(lb.text, cases[i].says) || strchr(lb.text, '\n') != lb.text + strlen(lb.text) - 1)
            fprintf(stderr, "case %zu said: %s", i, lb.text);
        CHECK(strstr(lb.text, cases[i].says) != NULL);
        CHECK(strchr(lb.text, '\n') == lb.text + strlen(lb.text) - 1); /* one line */
        dev_stop(d);
    }
}

/* A sync answer shifted by a straggler byte of an earlier try's answer is still the answer;
 * the stray bytes are drained and the next command reads its own answer. */
static void sync_straggler(dev_mode_e mode)
{
    dev_s *d = dev_start(mode);
    logbuf_s lb = {{0}};
    lode_probe_s *p = NULL;
    CHECK_EQ(open_probe(d, NULL, false, &lb, &p), LODE_OK);
    if (lb.text[0])
        fprintf(stderr, "said: %s", lb.text);
    lode_probe_info_s info;
    if (p) {
        lode_probe_describe(p, &info);
        CHECK(strstr(info.description, "optiboot 4.4") && strstr(info.description, "1E 95 0F"));
    }
    lode_probe_close(p);
    dev_stop(d);
}

static void test_sync_straggler(void) { sync_straggler(DEV_STRAGGLER); }
/* the answer's pair split across lode's reads (10 14 | 10): still the answer */
static void test_sync_split(void) { sync_straggler(DEV_SPLIT); }

/* A board with a clock of its own (a simulated board, which falls behind the wall clock when
 * the host is busy) is waited for in its time: 10 syncs of 200 ms are 2 s of the board's time,
 * not of the wall's (cli_avr_run's "no answer at all" under load). Without its clock, the same
 * board gives no answer within the 2 s of the wall a real board gets. */
static void test_sync_board_clock(void)
{
    dev_s *d = dev_start(DEV_STARVED);
    logbuf_s lb = {{0}};
    lode_log_s log = {.fn = log_fn, .user = &lb, .max_level = LODE_LOG_WARN};
    lode_probe_open_opts_s o = {.log = &log};
    lode_serial_opts_s so = {.baud = 115200};
    lode_stream_s *s = NULL;
    CHECK_EQ(lode_stream_open_serial(d->path, &so, &log, &s), LODE_OK);
    lode_probe_extra_s extra = {.now_us = dev_clock_us, .delay_us = dev_delay_us, .time_user = d};
    lode_probe_s *p = NULL;
    int rc = lodei_boot_arduino_open_stream(s, true, d->path, 115200, &o, &extra, &p);
    if (rc != LODE_OK)
        fprintf(stderr, "said: %s", lb.text);
    CHECK_EQ(rc, LODE_OK);
    lode_probe_close(p);
    dev_stop(d);

    d = dev_start(DEV_STARVED);
    lb.text[0] = 0;
    CHECK_EQ(open_probe(d, NULL, false, &lb, &p), LODE_E_NO_DEVICE);
    CHECK(strstr(lb.text, "no answer at all") != NULL);
    dev_stop(d);
}

int main(void)
{
    RUN_TEST(test_decode);
    RUN_TEST(test_flash_read_verify);
    RUN_TEST(test_signature);
    RUN_TEST(test_no_sync);
    RUN_TEST(test_sync_straggler);
    RUN_TEST(test_sync_split);
    RUN_TEST(test_late_sync_answers);
    RUN_TEST(test_sync_board_clock);
    return TEST_DONE();
}
