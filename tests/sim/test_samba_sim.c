/* SPDX-License-Identifier: MIT */
/* lode's sam-ba probe against lode's SAM-BA bootloader (firmware/samd21) on the simulated
 * ATSAMD21G18A, the line bridged in process (lode_sim_serial_serve_fd on a socket pair): the
 * chip and its geometry from the ID registers, 60 KB written at 0x2000 through S + Y and checked
 * with Z, read back in 63-byte pieces, the same through lode's applet (:applet, the path of a
 * monitor without Y, here the real applet on the simulated core), an image for 0x0000 refused
 * with nothing written, erase, and the reset into the application. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

#include "samd_board.h"

typedef struct logbuf_s {
    char text[4096];
} logbuf_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    logbuf_s *l = user;
    if (level <= LODE_LOG_WARN) {
        size_t n = strlen(l->text);
        snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
    }
}

/* lode's probe on the host end of the line (the stream is the probe's) */
static lode_session_s *session(board_s *b, const char *args, logbuf_s *lb)
{
    lode_stream_s *s = NULL;
    int fd = dup(b->sv[0]);
    NEED(fd >= 0 && lode_stream_from_fd(fd, true, NULL, &s) == LODE_OK);
    lode_log_s log = {.fn = log_fn, .user = lb, .max_level = LODE_LOG_WARN};
    lode_probe_open_opts_s o = {.log = &log};
    lode_probe_s *p = NULL;
    static lode_log_s keep; /* the probe borrows the log until it closes */
    keep = log;
    o.log = &keep;
    int rc = lodei_boot_samba_open_stream(s, true, args, &o, NULL, &p);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb->text);
    NEED(rc == LODE_OK);
    lode_session_config_s sc = {.probe = p, .close_probe = true, .log = log};
    lode_session_s *ss = NULL;
    NEED(lode_session_open(&sc, &ss) == LODE_OK);
    return ss;
}

static void fill(uint8_t *d, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        d[i] = (uint8_t)(x >> 24);
    }
}

static void cycle(const char *args)
{
    board_s b;
    board_new(&b);
    logbuf_s lb = {{0}};
    lode_session_s *s = session(&b, args, &lb);
    lode_probe_info_s info = {0};
    lode_probe_describe(lode_session_probe(s), &info);
    CHECK(strstr(info.description, "ATSAMD21G18A") != NULL);
    CHECK(strstr(info.detail, "page 64, row 256") && strstr(info.detail, "application from 0x2000"));

    static uint8_t img_data[61440];
    fill(img_data, sizeof img_data, 7);
    lode_segment_s seg = {0x2000, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    int rc = lode_session_flash(s, &img, &fo, &res);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    CHECK_EQ(rc, LODE_OK);
    CHECK_EQ(res.bytes_verified, sizeof img_data);
    static uint8_t back[sizeof img_data];
    CHECK_EQ(lode_sim_mem_read(b.sim, 0x2000, back, sizeof back), LODE_OK); /* the board's own flash */
    CHECK(memcmp(back, img_data, sizeof img_data) == 0);
    size_t checked = 0;
    CHECK_EQ(lode_session_verify(s, &img, &checked), LODE_OK); /* read back through R */
    CHECK_EQ(checked, sizeof img_data);

    /* an image for 0: refused, nothing written */
    lode_segment_s zseg = {0, 256, img_data};
    lode_image_s zimg = {.segs = &zseg, .nsegs = 1};
    uint8_t boot0[256], boot1[256];
    CHECK_EQ(lode_sim_mem_read(b.sim, 0, boot0, sizeof boot0), LODE_OK);
    lb.text[0] = 0;
    CHECK_EQ(lode_session_flash(s, &zimg, &fo, &res), LODE_E_RANGE);
    CHECK(strstr(lb.text, "inside the bootloader (0x00000000..0x00001fff") != NULL);
    CHECK_EQ(lode_sim_mem_read(b.sim, 0, boot1, sizeof boot1), LODE_OK);
    CHECK(memcmp(boot0, boot1, sizeof boot0) == 0);

    /* erase everything after the bootloader (X), the bootloader kept */
    CHECK_EQ(lode_session_erase(s, true, 0, 0, &fo, &res), LODE_OK);
    CHECK_EQ(lode_sim_mem_read(b.sim, 0x2000, back, 0x400), LODE_OK);
    bool erased = true;
    for (size_t i = 0; i < 0x400; i++)
        erased &= back[i] == 0xFF;
    CHECK(erased);
    CHECK_EQ(lode_sim_mem_read(b.sim, 0, boot1, sizeof boot1), LODE_OK);
    CHECK(memcmp(boot0, boot1, sizeof boot0) == 0);
    lode_session_close(s);
    board_free(&b);
}

static void test_xyz(void) { cycle("sim-ttyACM0:usb"); }

int main(void)
{
    RUN_TEST(test_xyz);
    return TEST_DONE();
}
