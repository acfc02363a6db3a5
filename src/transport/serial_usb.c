/* SPDX-License-Identifier: MIT */
/* USB serial ports by their USB device, and the 1200-baud touch (lode/serial_usb.h). Uses the
 * termios2 ioctls like stream.c (<asm/termbits.h>, not <termios.h>). */
#define _GNU_SOURCE
#include <asm/termbits.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/serial_usb.h"
#include "lode/stream.h"

#define TOUCH_BAUD 1200u
#define RESTORE_BAUD 9600u       /* a port found at the touch speed is left at this one */
#define DEFAULT_TIMEOUT_MS 8000u /* Caterina leaves its bootloader after 8 s */
#define POLL_MS 20

static const char *root_of(const char *sysfs_root)
{
    if (sysfs_root && *sysfs_root)
        return sysfs_root;
    const char *env = getenv("LODE_SYSFS_ROOT");
    return env && *env ? env : "/sys";
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A one-line sysfs file into buf (newline dropped). */
static bool read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\r\n")] = 0;
    return ok;
}

static bool read_hex16(const char *dir, const char *name, uint16_t *v)
{
    char path[PATH_MAX + 32], line[32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!read_line(path, line, sizeof line))
        return false;
    char *end;
    unsigned long x = strtoul(line, &end, 16);
    if (end == line || *end || x > 0xFFFFu)
        return false;
    *v = (uint16_t)x;
    return true;
}

/* The USB device of class/tty/NAME: `device` is the interface (CDC-ACM) or a child of it
 * (USB-serial), the device with idVendor one or two levels up. */
static int tty_usb_id(const char *root, const char *name, lode_usb_id_s *id, char *serial, size_t cap)
{
    char link[PATH_MAX], dir[PATH_MAX];
    snprintf(link, sizeof link, "%s/class/tty/%s/device", root, name);
    if (!realpath(link, dir))
        return LODE_E_NO_DEVICE;
    for (int up = 0; up < 3; up++) {
        lode_usb_id_s v;
        if (read_hex16(dir, "idVendor", &v.vid) && read_hex16(dir, "idProduct", &v.pid)) {
            if (serial && cap) {
                char path[PATH_MAX + 16];
                snprintf(path, sizeof path, "%s/serial", dir);
                if (!read_line(path, serial, cap))
                    serial[0] = 0;
            }
            *id = v;
            return LODE_OK;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = 0;
    }
    return LODE_E_NO_DEVICE;
}

/* The /dev path of class/tty/NAME: DEVNAME from its uevent, else NAME ('!' for '/'). */
static void tty_dev_path(const char *root, const char *name, char *out, size_t cap)
{
    char path[PATH_MAX], line[256], dev[256] = "";
    snprintf(path, sizeof path, "%s/class/tty/%s/uevent", root, name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "DEVNAME=", 8)) {
            line[strcspn(line, "\r\n")] = 0;
            snprintf(dev, sizeof dev, "%s", line + 8);
        }
    if (f)
        fclose(f);
    if (!dev[0]) {
        snprintf(dev, sizeof dev, "%s", name);
        for (char *p = dev; *p; p++)
            if (*p == '!')
                *p = '/';
    }
    snprintf(out, cap, "%s%s", dev[0] == '/' ? "" : "/dev/", dev);
}

int lode_serial_usb_id(const char *port, const char *sysfs_root, lode_usb_id_s *id, char *serial, size_t cap)
{
    if (!port || !id)
        return LODE_E_INVALID_ARG;
    char real[PATH_MAX];
    if (!realpath(port, real))
        return LODE_E_NO_DEVICE;
    /* /dev/ttyACM0 -> ttyACM0, /dev/pts/7 -> pts!7 (the kernel's name for a device in a folder) */
    const char *rel = !strncmp(real, "/dev/", 5) ? real + 5 : real;
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%s", rel);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '!';
    return tty_usb_id(root_of(sysfs_root), name, id, serial, cap);
}

static bool id_in(const lode_usb_id_s *ids, size_t n, lode_usb_id_s v)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i].vid == v.vid && ids[i].pid == v.pid)
            return true;
    return false;
}

int lode_serial_find_usb(const lode_usb_id_s *ids, size_t nids, const char *sysfs_root, char *port, size_t cap,
                         lode_usb_id_s *found)
{
    if ((!ids && nids) || !port || !cap)
        return LODE_E_INVALID_ARG;
    const char *root = root_of(sysfs_root);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/class/tty", root);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    int rc = LODE_E_NO_DEVICE;
    for (int i = 0; i < n; i++) {
        lode_usb_id_s v;
        if (rc != LODE_OK && names[i]->d_name[0] != '.' &&
            tty_usb_id(root, names[i]->d_name, &v, NULL, 0) == LODE_OK && id_in(ids, nids, v)) {
            tty_dev_path(root, names[i]->d_name, port, cap);
            if (found)
                *found = v;
            rc = LODE_OK;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static void ids_text(const lode_usb_id_s *ids, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && used + 12 < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%04x:%04x", i ? ", " : "", ids[i].vid, ids[i].pid);
}

static void set_speed(struct termios2 *t, unsigned baud)
{
    t->c_cflag &= ~(tcflag_t)(CBAUD | (CBAUD << IBSHIFT));
    t->c_cflag |= baud == TOUCH_BAUD ? B1200 : baud == RESTORE_BAUD ? B9600 : BOTHER;
    t->c_ospeed = t->c_ispeed = baud;
}

/* Hold the touched port until it hangs up or a bootloader port shows (true: either). */
static bool hold_until_gone(lode_stream_s *s, const lode_serial_touch_opts_s *o, uint64_t deadline, char *boot_port,
                            size_t cap, bool *found)
{
    int fd = lode_stream_fd(s);
    while (now_ms() < deadline) {
        if (lode_serial_find_usb(o->boot_ids, o->nboot_ids, o->sysfs_root, boot_port, cap, NULL) == LODE_OK) {
            *found = true;
            return true;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, POLL_MS) > 0) {
            if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
                return true;
            char junk[256]; /* what the sketch still prints */
            ssize_t r = read(fd, junk, sizeof junk);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                return true;
        }
    }
    return false;
}

/* Opens PORT exclusively and sets BAUD, keeping the settings it had in *saved (WHY ends the
 * refusal's line). */
static int open_at_baud(const char *port, unsigned baud, const char *why, const lode_log_s *log, lode_stream_s **out,
                        struct termios2 *saved)
{
    lode_serial_opts_s so = {.baud = 0, .exclusive = true};
    lode_stream_s *s = NULL;
    int rc = lode_stream_open_serial(port, &so, log, &s);
    if (rc != LODE_OK)
        return rc;
    int fd = lode_stream_fd(s);
    struct termios2 t;
    if (ioctl(fd, TCGETS2, saved) != 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s: cannot read its settings (%s): is it a serial port?", port,
                 strerror(errno));
        lode_stream_close(s);
        return LODE_E_IO;
    }
    t = *saved;
    set_speed(&t, baud);
    if (ioctl(fd, TCSETS2, &t) != 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s refuses %u baud (%s)%s", port, baud, strerror(errno), why);
        lode_stream_close(s);
        return LODE_E_IO;
    }
    *out = s;
    return LODE_OK;
}

/* Puts the saved settings back and closes: never at BAUD (the port keeps its settings after the
 * close, and a later open that sets no speed would send the signal again). */
static void close_restored(lode_stream_s *s, struct termios2 *saved, unsigned baud)
{
    if (saved->c_ospeed == baud)
        set_speed(saved, RESTORE_BAUD);
    (void)ioctl(lode_stream_fd(s), TCSETS2, saved); /* fails harmlessly on a port that is gone */
    lode_stream_close(s);
}

int lode_serial_touch(const char *port, const lode_serial_touch_opts_s *o, const lode_log_s *log, char *boot_port,
                      size_t cap)
{
    if (!port || !o || !o->nboot_ids || !o->boot_ids || !boot_port || !cap)
        return LODE_E_INVALID_ARG;
    lode_usb_id_s id;
    if (lode_serial_usb_id(port, o->sysfs_root, &id, NULL, 0) == LODE_OK && id_in(o->boot_ids, o->nboot_ids, id)) {
        snprintf(boot_port, cap, "%s", port); /* already the bootloader (reset pressed twice) */
        return LODE_OK;
    }
    char want[160];
    ids_text(o->boot_ids, o->nboot_ids, want, sizeof want);
    if (access(port, F_OK) != 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
                 "%s is not there (no such port): check the cable and `lode list`, or press the board's reset button "
                 "twice quickly and give the bootloader's port", port);
        return LODE_E_NO_DEVICE;
    }
    unsigned baud = o->baud ? o->baud : TOUCH_BAUD;
    unsigned timeout = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    uint64_t deadline = now_ms() + timeout;
    lode_stream_s *s = NULL;
    struct termios2 saved;
    int rc = open_at_baud(port, baud, ": it cannot take the touch", log, &s, &saved);
    if (rc != LODE_OK)
        return rc;
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_WIRE, "%s: %u-baud touch, waiting for the bootloader (%s)", port, baud,
             want);
    lode_stream_set_log(s, NULL); /* a pseudo-terminal has no DTR: its close is the drop */
    lode_stream_set_dtr(s, false);
    bool found = false;
    bool gone = hold_until_gone(s, o, deadline, boot_port, cap, &found);
    /* never leave the port at the touch speed (closing it there later would touch it again) */
    close_restored(s, &saved, baud);
    while (!found && now_ms() < deadline) {
        if (lode_serial_find_usb(o->boot_ids, o->nboot_ids, o->sysfs_root, boot_port, cap, NULL) == LODE_OK)
            found = true;
        else {
            struct timespec ts = {0, POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (found) {
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_WIRE, "bootloader on %s", boot_port);
        return LODE_OK;
    }
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
             "no bootloader port (USB %s) appeared within %.1f s of the %u-baud touch on %s (the port %s): press the "
             "board's reset button twice quickly and run lode again at once (the bootloader waits a few seconds); "
             "check that the cable carries data and that the running sketch has USB serial",
             want, timeout / 1000.0, baud, port, gone ? "vanished" : "stayed");
    return LODE_E_TIMEOUT;
}

int lode_serial_baud_signal(const char *port, unsigned baud, unsigned hold_ms, const lode_log_s *log)
{
    if (!port || !baud)
        return LODE_E_INVALID_ARG;
    lode_stream_s *s = NULL;
    struct termios2 saved;
    int rc = open_at_baud(port, baud, "", log, &s, &saved);
    if (rc != LODE_OK)
        return rc;
    struct timespec ts = {(time_t)(hold_ms / 1000), (long)(hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    /* the port keeps its settings after the close: a later open that sets no speed would send
     * the signal again */
    close_restored(s, &saved, baud);
    return LODE_OK;
}
