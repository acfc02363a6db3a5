/* SPDX-License-Identifier: MIT */
/* lode_serial_baud_signal (the Teensy's 134-baud reboot request) on a pseudo-terminal: the
 * master sees the client's speed (Linux ptys share one termios), so a watcher thread sees 134
 * baud come and go; afterwards the port has its settings back (9600 when it was at 134), so a
 * later open that sets no speed does not reboot the Teensy again. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/serial_usb.h"
#include "test.h"

typedef struct watch_s {
    int master;
    atomic_bool stop, seen;
    pthread_t th;
} watch_s;

static void *watch_main(void *arg)
{
    watch_s *w = arg;
    while (!atomic_load(&w->stop)) {
        struct termios t;
        /* 134 baud, as TCGETS gives it: B134, or BOTHER (c_ospeed is termios2's) */
        speed_t sp;
        if (tcgetattr(w->master, &t) == 0 && ((sp = cfgetospeed(&t)) == B134 || sp == CBAUDEX))
            atomic_store(&w->seen, true);
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void signal_from(speed_t before, bool *seen, speed_t *end)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
    char path[64];
    snprintf(path, sizeof path, "%s", ptsname(m));
    int sl = open(path, O_RDWR | O_NOCTTY);
    REQUIRE(sl >= 0);
    struct termios t;
    tcgetattr(sl, &t);
    cfmakeraw(&t);
    cfsetspeed(&t, before);
    tcsetattr(sl, TCSANOW, &t);
    close(sl);
    watch_s w = {.master = m};
    pthread_create(&w.th, NULL, watch_main, &w);
    CHECK_EQ(lode_serial_baud_signal(path, 134, 20, NULL), LODE_OK);
    atomic_store(&w.stop, true);
    pthread_join(w.th, NULL);
    *seen = atomic_load(&w.seen);
    struct termios after;
    tcgetattr(m, &after);
    close(m);
    *end = cfgetospeed(&after);
}

static void test_signal_and_back(void)
{
    bool seen = false;
    speed_t end = 0;
    signal_from(B115200, &seen, &end);
    CHECK(end == B115200);
    CHECK(seen);
    seen = false;
    signal_from(B134, &seen, &end);
    CHECK(end == B9600); /* never left at the signal speed */
    CHECK(seen);
    CHECK_EQ(lode_serial_baud_signal("/nonexistent/tty", 134, 1, NULL), LODE_E_NO_DEVICE);
}

int main(void)
{
    RUN_TEST(test_signal_and_back);
    return TEST_DONE();
}
