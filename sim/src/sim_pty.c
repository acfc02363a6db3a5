/* SPDX-License-Identifier: MIT */
/* Pseudo-terminals for the simulated boards' serial lines: see sim_pty.h. */
#define _GNU_SOURCE /* posix_openpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "sim_pty.h"

uint64_t simi_wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int simi_write_all(int fd, const uint8_t *d, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, d + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 100);
            continue;
        }
        if (w <= 0)
            return LODE_E_IO;
        off += (size_t)w;
    }
    return LODE_OK;
}

int simi_pty_open(const lode_log_s *log, const char *link_path, char *name, size_t cap, char *link, size_t link_cap,
                  int *master)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || grantpt(fd) || unlockpt(fd)) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot make a pseudo-terminal: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return LODE_E_IO;
    }
    const char *pts = ptsname(fd);
    int sl = pts ? open(pts, O_RDWR | O_NOCTTY) : -1;
    if (sl >= 0) { /* raw until a client sets its own */
        struct termios t;
        if (tcgetattr(sl, &t) == 0) {
            cfmakeraw(&t);
            cfsetspeed(&t, B115200);
            tcsetattr(sl, TCSANOW, &t);
        }
        close(sl); /* from now on POLLHUP on the master says nobody has the port open */
    }
    if (link_cap)
        link[0] = 0;
    if (link_path) {
        struct stat st;
        if (lstat(link_path, &st) == 0 && !S_ISLNK(st.st_mode)) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_SIM, "%s exists and is no symbolic link: give --serial-pty a new path",
                     link_path);
            close(fd);
            return LODE_E_INVALID_ARG;
        }
        unlink(link_path);
        if (!pts || symlink(pts, link_path) != 0) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot link %s to %s: %s", link_path, pts ? pts : "?",
                     strerror(errno));
            close(fd);
            return LODE_E_IO;
        }
        snprintf(link, link_cap, "%s", link_path);
    }
    snprintf(name, cap, "%s", pts ? pts : "");
    *master = fd;
    return LODE_OK;
}

int simi_pty_watch_opens(int master)
{
    const char *pts = ptsname(master);
    int w = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w >= 0 && (!pts || inotify_add_watch(w, pts, IN_OPEN) < 0)) {
        close(w);
        w = -1;
    }
    return w;
}

int simi_pty_opened(int watch)
{
    if (watch < 0)
        return 0;
    int any = 0;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(watch, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)(void *)p;
            any = any || (e->mask & IN_OPEN);
            p += sizeof *e + e->len;
        }
    return any;
}

unsigned simi_pty_baud(int master)
{
    struct termios t;
    if (tcgetattr(master, &t) != 0)
        return 0;
    static const struct {
        speed_t s;
        unsigned baud;
    } sp[] = {{B300, 300},         {B1200, 1200},     {B2400, 2400},     {B4800, 4800},   {B9600, 9600},
              {B19200, 19200},     {B38400, 38400},   {B57600, 57600},   {B115200, 115200}, {B230400, 230400},
              {B460800, 460800},   {B921600, 921600}, {B1000000, 1000000}, {B2000000, 2000000}};
    speed_t s = cfgetospeed(&t);
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
        if (sp[i].s == s)
            return sp[i].baud;
    return 0;
}
