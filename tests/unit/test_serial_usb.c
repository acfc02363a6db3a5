/* SPDX-License-Identifier: MIT */
/* lode/serial_usb.h against a sysfs tree made here and pseudo-terminals: the USB ID of a port
 * (CDC-ACM and USB-serial layouts), finding a port by VID:PID, and the 1200-baud touch with a
 * "board" thread that re-enumerates as its bootloader on another port. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/serial_usb.h"
#include "lode/stream.h"
#include "test.h"

static char root[256];

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void mkdirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

/* class/tty/NAME for /dev/DEVNAME, on USB device `usbdev` with vid:pid; usb_serial: the tty
 * hangs below the interface (ttyUSB), else it is the interface's (ttyACM). */
static void add_tty(const char *devname, const char *usbdev, unsigned vid, unsigned pid, bool usb_serial)
{
    char name[64], dev[512], iface[PATH_MAX], cls[PATH_MAX], buf[PATH_MAX + 64], v[16];
    snprintf(name, sizeof name, "%s", devname);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '!';
    snprintf(dev, sizeof dev, "%s/devices/usb1/%s", root, usbdev);
    snprintf(iface, sizeof iface, "%s/%s:1.0%s", dev, usbdev, usb_serial ? "/ttyUSB9" : "");
    mkdirs(iface);
    snprintf(v, sizeof v, "%04x\n", vid);
    snprintf(buf, sizeof buf, "%s/idVendor", dev);
    put_file(buf, v);
    snprintf(v, sizeof v, "%04x\n", pid);
    snprintf(buf, sizeof buf, "%s/idProduct", dev);
    put_file(buf, v);
    snprintf(buf, sizeof buf, "%s/serial", dev);
    put_file(buf, "HIDN1\n");
    snprintf(cls, sizeof cls, "%s/class/tty/%s", root, name);
    mkdirs(cls);
    snprintf(buf, sizeof buf, "%s/uevent", cls);
    char ev[128];
    snprintf(ev, sizeof ev, "MAJOR=136\nMINOR=1\nDEVNAME=%s\n", devname);
    put_file(buf, ev);
    snprintf(buf, sizeof buf, "%s/device", cls);
    unlink(buf);
    CHECK(symlink(iface, buf) == 0);
}

static void remove_tty(const char *devname)
{
    char name[64], buf[PATH_MAX];
    snprintf(name, sizeof name, "%s", devname);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '!';
    snprintf(buf, sizeof buf, "%s/class/tty/%s/device", root, name);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s/class/tty/%s/uevent", root, name);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s/class/tty/%s", root, name);
    rmdir(buf);
}

/* A pty; its slave's name without "/dev/" in devname. */
static int open_pty(char *devname, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m))
        return -1;
    snprintf(devname, cap, "%s", ptsname(m) + 5);
    return m;
}

static const lode_usb_id_s leo_boot[] = {{0x2341, 0x0036}, {0x2a03, 0x0036}};

static void test_ids(void)
{
    add_tty("ttyACM7", "1-1", 0x2341, 0x8036, false);
    add_tty("ttyUSB9", "1-2", 0x0403, 0x6001, true);
    lode_usb_id_s id = {0, 0};
    char serial[32] = "x";
    /* the port need not exist for sysfs: /dev/ttyACM7 does not here, so ask through a pty */
    char dn[64];
    int m = open_pty(dn, sizeof dn);
    REQUIRE(m >= 0);
    add_tty(dn, "1-3", 0x2341, 0x8037, false);
    char port[PATH_MAX];
    snprintf(port, sizeof port, "/dev/%s", dn);
    CHECK_EQ(lode_serial_usb_id(port, root, &id, serial, sizeof serial), LODE_OK);
    CHECK_EQ(id.vid, 0x2341);
    CHECK_EQ(id.pid, 0x8037);
    CHECK(!strcmp(serial, "HIDN1"));
    /* by a symbolic link to it */
    char link[PATH_MAX + 8];
    snprintf(link, sizeof link, "%s/link", root);
    unlink(link);
    CHECK(symlink(port, link) == 0);
    id.pid = 0;
    CHECK_EQ(lode_serial_usb_id(link, root, &id, NULL, 0), LODE_OK);
    CHECK_EQ(id.pid, 0x8037);
    /* through LODE_SYSFS_ROOT */
    setenv("LODE_SYSFS_ROOT", root, 1);
    id.pid = 0;
    CHECK_EQ(lode_serial_usb_id(port, NULL, &id, NULL, 0), LODE_OK);
    CHECK_EQ(id.pid, 0x8037);
    unsetenv("LODE_SYSFS_ROOT");
    /* a port sysfs knows no USB device for */
    CHECK_EQ(lode_serial_usb_id("/dev/null", root, &id, NULL, 0), LODE_E_NO_DEVICE);
    CHECK_EQ(lode_serial_usb_id("/nonexistent/tty", root, &id, NULL, 0), LODE_E_NO_DEVICE);

    /* find: the USB-serial layout (idVendor two levels above the tty's device) */
    char found[PATH_MAX];
    lode_usb_id_s ftdi = {0x0403, 0x6001}, got = {0, 0};
    CHECK_EQ(lode_serial_find_usb(&ftdi, 1, root, found, sizeof found, &got), LODE_OK);
    CHECK(!strcmp(found, "/dev/ttyUSB9"));
    CHECK_EQ(got.pid, 0x6001);
    lode_usb_id_s sketch = {0x2341, 0x8036};
    CHECK_EQ(lode_serial_find_usb(&sketch, 1, root, found, sizeof found, NULL), LODE_OK);
    CHECK(!strcmp(found, "/dev/ttyACM7"));
    CHECK_EQ(lode_serial_find_usb(leo_boot, 2, root, found, sizeof found, NULL), LODE_E_NO_DEVICE);
    remove_tty("ttyACM7");
    remove_tty("ttyUSB9");
    remove_tty(dn);
    close(m);
}

/* ---- the touch ------------------------------------------------------------------------------ */

typedef struct board_s {
    int master;                 /* the sketch's port */
    char sketch[64];            /* its devname */
    char boot[64];              /* the bootloader's, once it came */
    int boot_master;
    bool react;                 /* re-enumerate on the touch (else: a sketch without USB reset) */
    volatile int stop;
    bool touched;
} board_s;

static speed_t master_speed(int m)
{
    struct termios t;
    return tcgetattr(m, &t) == 0 ? cfgetospeed(&t) : (speed_t)-1;
}

static void *board_main(void *arg)
{
    board_s *b = arg;
    for (int i = 0; i < 3000 && !b->stop; i++) { /* 60 s at most */
        if (master_speed(b->master) == B1200) {
            b->touched = true;
            if (!b->react)
                break;
            /* the sketch resets: its port leaves the bus, the bootloader's comes (its pty made
             * before the sketch's is closed: the kernel gives a freed pty number to the next
             * one, and whether lode still held the old one decided if the names differed) */
            b->boot_master = open_pty(b->boot, sizeof b->boot);
            remove_tty(b->sketch);
            close(b->master);
            b->master = -1;
            add_tty(b->boot, "1-1", 0x2341, 0x0036, false);
            break;
        }
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void set_master_speed(int m, speed_t sp)
{
    struct termios t;
    if (tcgetattr(m, &t) == 0) {
        cfmakeraw(&t);
        cfsetspeed(&t, sp);
        tcsetattr(m, TCSANOW, &t);
    }
}

static void test_touch(void)
{
    board_s b = {.react = true, .boot_master = -1};
    b.master = open_pty(b.sketch, sizeof b.sketch);
    REQUIRE(b.master >= 0);
    set_master_speed(b.master, B115200);
    add_tty(b.sketch, "1-1", 0x2341, 0x8036, false);
    char port[PATH_MAX], boot[PATH_MAX] = "";
    snprintf(port, sizeof port, "/dev/%s", b.sketch);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, board_main, &b) == 0);
    lode_serial_touch_opts_s o = {.boot_ids = leo_boot, .nboot_ids = 2, .sysfs_root = root, .timeout_ms = 60000};
    int rc = lode_serial_touch(port, &o, NULL, boot, sizeof boot);
    b.stop = 1;
    pthread_join(th, NULL);
    CHECK_EQ(rc, LODE_OK);
    CHECK(b.touched);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "/dev/%s", b.boot);
    CHECK(!strcmp(boot, want));
    CHECK(strcmp(boot, port) != 0);
    /* the bootloader's port itself: no touch (its speed stays) */
    if (b.boot_master >= 0) {
        set_master_speed(b.boot_master, B57600);
        char again[PATH_MAX] = "";
        CHECK_EQ(lode_serial_touch(boot, &o, NULL, again, sizeof again), LODE_OK);
        CHECK(!strcmp(again, boot));
        CHECK_EQ(master_speed(b.boot_master), B57600);
        remove_tty(b.boot);
        close(b.boot_master);
    }
}

/* A sketch that does not reset: no bootloader within the time; the port is not left at 1200. */
static void test_touch_nothing(void)
{
    static const speed_t before[] = {B115200, B1200};
    static const speed_t after[] = {B115200, B9600};
    for (int k = 0; k < 2; k++) {
        board_s b = {.react = false, .boot_master = -1};
        b.master = open_pty(b.sketch, sizeof b.sketch);
        REQUIRE(b.master >= 0);
        set_master_speed(b.master, before[k]);
        add_tty(b.sketch, "1-1", 0x2341, 0x8036, false);
        char port[PATH_MAX], boot[PATH_MAX] = "";
        snprintf(port, sizeof port, "/dev/%s", b.sketch);
        pthread_t th;
        if (k == 0)
            REQUIRE(pthread_create(&th, NULL, board_main, &b) == 0);
        lode_serial_touch_opts_s o = {.boot_ids = leo_boot, .nboot_ids = 2, .sysfs_root = root, .timeout_ms = k ? 300 : 1500};
        CHECK_EQ(lode_serial_touch(port, &o, NULL, boot, sizeof boot), LODE_E_TIMEOUT);
        if (k == 0) {
            b.stop = 1;
            pthread_join(th, NULL);
            CHECK(b.touched); /* it did see 1200 while the port was held */
        }
        CHECK_EQ(master_speed(b.master), after[k]);
        remove_tty(b.sketch);
        close(b.master);
    }
}

static void test_touch_bad_ports(void)
{
    char boot[PATH_MAX];
    lode_serial_touch_opts_s o = {.boot_ids = leo_boot, .nboot_ids = 2, .sysfs_root = root, .timeout_ms = 200};
    CHECK_EQ(lode_serial_touch("/dev/ttyNOTHERE9", &o, NULL, boot, sizeof boot), LODE_E_NO_DEVICE);
    /* busy: another exclusive opener */
    char dn[64], port[PATH_MAX];
    int m = open_pty(dn, sizeof dn);
    REQUIRE(m >= 0);
    snprintf(port, sizeof port, "/dev/%s", dn);
    lode_serial_opts_s so = {.baud = 115200, .exclusive = true};
    lode_stream_s *s = NULL;
    REQUIRE(lode_stream_open_serial(port, &so, NULL, &s) == LODE_OK);
    CHECK_EQ(lode_serial_touch(port, &o, NULL, boot, sizeof boot), LODE_E_BUSY);
    lode_stream_close(s);
    close(m);
    CHECK_EQ(lode_serial_touch(port, NULL, NULL, boot, sizeof boot), LODE_E_INVALID_ARG);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/lode-sysfs-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    RUN_TEST(test_ids);
    RUN_TEST(test_touch);
    RUN_TEST(test_touch_nothing);
    RUN_TEST(test_touch_bad_ports);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return TEST_DONE();
}
