/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA bootloader (firmware/samd21) running on the simulated ATSAMD21G18A, its line
 * bridged in process (lode_sim_serial_serve_fd on a socket pair): the monitor commands (N, V,
 * w/h/o, W, S, R, G and the Arduino X, Y, Z), faulting addresses, the refusals below the
 * application (offset 0), then an application written with S + Y that a reset starts, the
 * 1200-baud touch and the double tap that bring the bootloader back; the line's USB CDC timing
 * (a 4 KiB S at full speed, host bytes kept while the monitor erases) against the UART's; a
 * half-received S given up after the monitor's timeout. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lode/sim.h"
#include "test.h"

#include "samd_board.h"

static void send_str(board_s *b, const char *s) { NEED(write(b->sv[0], s, strlen(s)) == (ssize_t)strlen(s)); }

/* Read exactly n bytes (60 s bound); returns how many came. */
static size_t recv_n(board_s *b, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {b->sv[0], POLLIN, 0};
        if (poll(&p, 1, 60000) <= 0)
            break;
        ssize_t r = read(b->sv[0], buf + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Read until `end` was seen (or 60 s): the text in buf. */
static bool recv_until(board_s *b, char *buf, size_t cap, const char *end)
{
    size_t n = 0;
    buf[0] = 0;
    while (n + 1 < cap) {
        struct pollfd p = {b->sv[0], POLLIN, 0};
        if (poll(&p, 1, 60000) <= 0)
            break;
        if (read(b->sv[0], buf + n, 1) != 1)
            break;
        buf[++n] = 0;
        if (memmem(buf, n, end, strlen(end))) /* the application's frames hold NULs */
            return true;
    }
    fprintf(stderr, "waited for '%s', saw %zu bytes: '%s'\n", end, n, buf);
    return false;
}

/* What is there within 0.2 s (0 when nothing). */
static size_t recv_n_quick(board_s *b, uint8_t *buf, size_t n)
{
    struct pollfd p = {b->sv[0], POLLIN, 0};
    if (poll(&p, 1, 200) <= 0)
        return 0;
    ssize_t r = read(b->sv[0], buf, n);
    return r > 0 ? (size_t)r : 0;
}

static bool reply_is(board_s *b, const char *want)
{
    uint8_t buf[64] = {0};
    size_t n = strlen(want);
    size_t got = recv_n(b, buf, n);
    if (got != n || memcmp(buf, want, n) != 0) {
        fprintf(stderr, "wanted '%s', got %zu bytes '%.*s'\n", want, got, (int)got, (const char *)buf);
        return false;
    }
    return true;
}

static uint32_t read_word(board_s *b, uint32_t addr)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "w%08X,4#", addr);
    send_str(b, cmd);
    uint8_t v[4] = {0};
    CHECK_EQ(recv_n(b, v, 4), 4u);
    return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

static uint16_t crc16(const uint8_t *d, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(d[i] << 8);
        for (int k = 0; k < 8; k++)
            crc = (uint16_t)((crc & 0x8000u) ? ((uint32_t)crc << 1) ^ 0x1021u : (uint32_t)crc << 1);
    }
    return crc;
}

/* S the data to the buffer at 0x20004000, then Y it to flash at dst. */
static bool write_flash(board_s *b, uint32_t dst, const uint8_t *data, size_t len)
{
    char cmd[48];
    for (size_t off = 0; off < len; off += 4096) {
        size_t n = len - off < 4096 ? len - off : 4096;
        snprintf(cmd, sizeof cmd, "S20004000,%zX#", n);
        send_str(b, cmd);
        NEED(write(b->sv[0], data + off, n) == (ssize_t)n);
        send_str(b, "Y20004000,0#");
        if (!reply_is(b, "Y\n\r"))
            return false;
        snprintf(cmd, sizeof cmd, "Y%08zX,%zX#", dst + off, n);
        send_str(b, cmd);
        if (!reply_is(b, "Y\n\r"))
            return false;
    }
    return true;
}

static void test_monitor(void)
{
    board_s b;
    board_new(&b);
    send_str(&b, "N#");
    CHECK(reply_is(&b, "\n\r"));
    char text[256];
    send_str(&b, "V#");
    CHECK(recv_until(&b, text, sizeof text, "\n\r"));
    CHECK(strstr(text, "[Arduino:XYZ]") != NULL);
    CHECK_EQ(read_word(&b, 0xE000ED00u), 0x410CC601u);
    CHECK_EQ(read_word(&b, 0x41002018u), 0x10010305u);
    CHECK_EQ(read_word(&b, 0x00804000u) & 7u, 2u);
    CHECK_EQ(read_word(&b, 0x41004008u), 0x00031000u);
    /* a faulting address reads 0 and the bootloader carries on */
    CHECK_EQ(read_word(&b, 0x30000000u), 0u);
    send_str(&b, "h41002018,2#o4100201B,1#");
    uint8_t hb[3];
    CHECK_EQ(recv_n(&b, hb, 3), 3u);
    CHECK(hb[0] == 0x05 && hb[1] == 0x03 && hb[2] == 0x10);
    /* W/H/O and S/R in SRAM */
    send_str(&b, "W20005000,CAFEF00D#H20005004,1234#O20005006,56#");
    CHECK_EQ(read_word(&b, 0x20005000u), 0xCAFEF00Du);
    CHECK_EQ(read_word(&b, 0x20005004u) & 0x00FFFFFFu, 0x00561234u);
    uint8_t data[300], back[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7u + 3u);
    send_str(&b, "S20004100,12C#");
    NEED(write(b.sv[0], data, sizeof data) == (ssize_t)sizeof data);
    send_str(&b, "R20004100,12C#");
    CHECK_EQ(recv_n(&b, back, sizeof back), sizeof back);
    CHECK(memcmp(data, back, sizeof data) == 0);

    /* below the application (the bootloader's own 8 KiB): refused */
    send_str(&b, "X0#");
    CHECK(reply_is(&b, "E\n\r"));
    send_str(&b, "Y20004000,0#");
    CHECK(reply_is(&b, "Y\n\r"));
    send_str(&b, "Y00001000,40#");
    CHECK(reply_is(&b, "E\n\r"));
    uint32_t boot0 = read_word(&b, 0);
    CHECK(boot0 != 0xFFFFFFFFu);
    /* erase from the application on, write, CRC, read back */
    send_str(&b, "X2000#");
    CHECK(reply_is(&b, "X\n\r"));
    CHECK_EQ(read_word(&b, 0x3FFFCu), 0xFFFFFFFFu);
    CHECK(write_flash(&b, 0x2000, data, sizeof data));
    send_str(&b, "Z2000,12C#");
    char z[32];
    snprintf(z, sizeof z, "Z%08X#\n\r", crc16(data, sizeof data));
    CHECK(reply_is(&b, z));
    send_str(&b, "R2000,12C#");
    memset(back, 0, sizeof back);
    CHECK_EQ(recv_n(&b, back, sizeof back), sizeof back);
    CHECK(memcmp(data, back, sizeof data) == 0);
    CHECK_EQ(read_word(&b, 0x212Cu), 0xFFFFFFFFu); /* the padding stays erased */
    CHECK_EQ(read_word(&b, 0), boot0);
    /* terminal mode: hex text and a prompt */
    send_str(&b, "T#");
    CHECK(reply_is(&b, "\n\r>"));
    send_str(&b, "w41002018,4#");
    CHECK(reply_is(&b, "0x10010305\n\r>"));
    send_str(&b, "N#");
    CHECK(reply_is(&b, "\n\r"));
    board_free(&b);
}

/* The board's virtual time, read with the line's thread stopped. */
static uint64_t board_now(board_s *b)
{
    board_halt(b);
    uint64_t t = lode_sim_now(b->sim);
    board_start(b);
    return t;
}

/* Virtual time of a 4 KiB S (the data read back through its last word): on the USB CDC line no
 * faster than full speed allows (4115 bytes out = 65 packets of 64, 19 a frame: 3.42 ms) and
 * well below what the UART at 1 Mbaud needs (4115 frames of 10 bits: 41 ms). */
static uint64_t s_4k_ps(board_s *b)
{
    static uint8_t data[4096];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13u + 5u);
    data[4092] = 0x78, data[4093] = 0x56, data[4094] = 0x34, data[4095] = 0x12;
    send_str(b, "N#");
    CHECK(reply_is(b, "\n\r"));
    uint64_t t0 = board_now(b);
    send_str(b, "S20004000,1000#");
    NEED(write(b->sv[0], data, sizeof data) == (ssize_t)sizeof data);
    CHECK_EQ(read_word(b, 0x20004FFCu), 0x12345678u);
    return board_now(b) - t0;
}

static void test_usb_line(void)
{
    board_s b;
    board_new(&b);
    uint64_t t = s_4k_ps(&b);
    fprintf(stderr, "4 KiB S on the USB CDC line: %.3f ms of board time\n", (double)t / 1e9);
    CHECK(t >= 3421052631ull); /* 65 packets on the 19-slot grid */
    CHECK(t < 10ull * 1000000000ull);
    /* flow control: what the host sends while the monitor erases (not reading the line for
     * 24 ms: four rows) waits; nothing is lost */
    uint8_t data[256], back[256];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(255u - i);
    char cmd[600];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "X3F000#S20005000,100#");
    memcpy(cmd + n, data, sizeof data);
    n += sizeof data;
    n += (size_t)snprintf(cmd + n, sizeof cmd - n, "R20005000,100#");
    NEED(write(b.sv[0], cmd, n) == (ssize_t)n);
    CHECK(reply_is(&b, "X\n\r"));
    CHECK_EQ(recv_n(&b, back, sizeof back), sizeof back);
    CHECK(memcmp(data, back, sizeof data) == 0);
    board_free(&b);

    /* the same line as the UART itself: 10 bits a byte at 1 Mbaud */
    lode_sim_serial_config_s lc = {.uart = true};
    board_new_line(&b, &lc);
    t = s_4k_ps(&b);
    fprintf(stderr, "4 KiB S on the UART: %.3f ms of board time\n", (double)t / 1e9);
    CHECK(t >= 41150ull * 1000000ull);
    board_free(&b);
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A host that stops in the middle of an S: the monitor gives the block up after 2 s without a
 * byte (the bytes that came are kept) and reads commands again. Meanwhile the board's clock
 * follows the wall clock (its timeout counts the host's silence as it lasts). */
static void test_s_timeout(void)
{
    board_s b;
    board_new(&b);
    send_str(&b, "N#");
    CHECK(reply_is(&b, "\n\r"));
    uint8_t part[16];
    for (size_t i = 0; i < sizeof part; i++)
        part[i] = (uint8_t)(0x80u + i); /* no command letters */
    uint64_t t0 = board_now(&b);
    send_str(&b, "S20004000,100#");
    NEED(write(b.sv[0], part, sizeof part) == (ssize_t)sizeof part);
    /* the board's clock runs while the host is silent: the monitor's timer is on (60 s bound) */
    uint64_t t = t0, w0 = wall_ns();
    while (t - t0 < 50ull * 1000000000ull && wall_ns() - w0 < 60ull * 1000000000ull) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        t = board_now(&b);
    }
    CHECK(t - t0 >= 50ull * 1000000000ull);
    /* ... at the wall clock's pace, not ahead of it */
    uint64_t w1 = wall_ns();
    t0 = board_now(&b);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    t = board_now(&b);
    uint64_t wall_ps = (wall_ns() - w1) * 1000u;
    fprintf(stderr, "waiting in an S: %.1f ms of board time in %.1f ms of wall time\n", (double)(t - t0) / 1e9,
            (double)wall_ps / 1e9);
    CHECK(t - t0 <= wall_ps + 50ull * 1000000000ull);
    /* past the timeout: the monitor reads commands again */
    board_halt(&b);
    lode_sim_advance(b.sim, 2100ull * 1000000000ull);
    board_start(&b);
    send_str(&b, "N#");
    CHECK(reply_is(&b, "\n\r"));
    CHECK_EQ(read_word(&b, 0x20004000u), 0x83828180u);
    CHECK_EQ(read_word(&b, 0x2000400Cu), 0x8F8E8D8Cu);
    board_free(&b);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(256 * 1024);
    *len = buf ? fread(buf, 1, 256 * 1024, f) : 0;
    fclose(f);
    return buf;
}

static void test_application(void)
{
    size_t len = 0;
    uint8_t *app = read_file(LODE_FW_DIR "/examples/zero-samd21g18a.bin", &len);
    REQUIRE(app && len > 64);
    board_s b;
    board_new(&b);
    send_str(&b, "N#");
    CHECK(reply_is(&b, "\n\r"));
    send_str(&b, "X2000#");
    CHECK(reply_is(&b, "X\n\r"));
    CHECK(write_flash(&b, 0x2000, app, len));
    /* bossac -R: SYSRESETREQ through AIRCR; the bootloader starts the valid application */
    send_str(&b, "WE000ED0C,05FA0004#");
    char text[512];
    CHECK(recv_until(&b, text, sizeof text, "hello from the zero\n"));
    /* it asks for its arguments (a lode link frame): we are no lode, it gives up (exit 3) */
    board_halt(&b);

    /* the 1200-baud touch: back in the bootloader, the application kept */
    lode_sim_serial_touch(b.line);
    board_start(&b);
    send_str(&b, "N#");
    CHECK(recv_until(&b, text, sizeof text, "\n\r")); /* after what the app still had in flight */
    send_str(&b, "V#");
    CHECK(recv_until(&b, text, sizeof text, "[Arduino:XYZ]"));
    CHECK(recv_until(&b, text, sizeof text, "\n\r"));
    CHECK_EQ(read_word(&b, 0x2000), (uint32_t)app[0] | (uint32_t)app[1] << 8 | (uint32_t)app[2] << 16 |
                                        (uint32_t)app[3] << 24);
    board_halt(&b);

    /* one tap on RESET: the application, half a second later */
    lode_sim_nrst(b.sim, true);
    lode_sim_nrst(b.sim, false);
    uint64_t t0 = lode_sim_now(b.sim);
    board_start(&b);
    CHECK(recv_until(&b, text, sizeof text, "hello from the zero\n"));
    board_halt(&b);
    CHECK(lode_sim_now(b.sim) - t0 >= 500ull * 1000000000ull);
    /* two taps within the window: the bootloader stays (what the application sent is drained) */
    uint8_t junk[256];
    while (recv_n_quick(&b, junk, sizeof junk))
        ;
    lode_sim_nrst(b.sim, true);
    lode_sim_nrst(b.sim, false);
    lode_sim_advance(b.sim, 100ull * 1000000000ull);
    lode_sim_nrst(b.sim, true);
    lode_sim_nrst(b.sim, false);
    board_start(&b);
    send_str(&b, "N#");
    CHECK(reply_is(&b, "\n\r"));
    board_free(&b);
    free(app);
}

int main(void)
{
    if (!LODE_FW_DIR[0]) {
        fprintf(stderr, "SKIP built without firmware (LODE_FIRMWARE=OFF): no bootloader to test\n");
        return 77;
    }
    RUN_TEST(test_monitor);
    RUN_TEST(test_usb_line);
    RUN_TEST(test_s_timeout);
    RUN_TEST(test_application);
    return TEST_DONE();
}
