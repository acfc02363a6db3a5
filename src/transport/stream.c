/* SPDX-License-Identifier: MIT */
/* Byte streams over descriptors: TCP sockets and terminal devices (lode/stream.h).
 * Serial ports are set up with the Linux termios2 ioctls (TCGETS2/TCSETS2), which take any
 * speed: a standard one as its Bnnn code, any other as BOTHER with the number itself. This
 * file includes <asm/termbits.h> instead of <termios.h> (the two cannot be mixed). */
#include <arpa/inet.h>
#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/stream.h"

#define STREAM_MAX_WAIT 64 /* lode_stream_wait: streams per call */

struct lode_stream_s {
    lode_stream_kind_e kind;
    int fd;
    bool own;       /* close fd on close */
    bool is_socket; /* send/recv (MSG_NOSIGNAL) rather than write/read */
    bool eof;
    bool exclusive; /* TIOCEXCL set by us: cleared on close */
    int write_timeout_ms; /* how long a write waits for the other end to take data (< 0: for ever) */
    const lode_log_s *log;
    char name[96];  /* for messages: "host:port" or the device path */
};

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A time limit as a deadline (timeout_ms <= 0: none, kept as is) and what is left of it. */
static uint64_t deadline_of(int timeout_ms)
{
    return timeout_ms > 0 ? mono_ms() + (uint64_t)timeout_ms : 0;
}

static int time_left(uint64_t deadline, int timeout_ms)
{
    if (timeout_ms <= 0)
        return timeout_ms;
    uint64_t now = mono_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* poll descriptors, again after a signal with what is left of the time; > 0 ready, 0 timeout,
 * < 0 error (errno) */
static int poll_fds(struct pollfd *pf, nfds_t n, int timeout_ms)
{
    uint64_t deadline = deadline_of(timeout_ms);
    int r, left = timeout_ms;
    while ((r = poll(pf, n, left)) < 0 && errno == EINTR)
        left = time_left(deadline, timeout_ms);
    return r;
}

static int poll_one(int fd, short events, int timeout_ms)
{
    struct pollfd pf = {.fd = fd, .events = events};
    return poll_fds(&pf, 1, timeout_ms);
}

static lode_stream_s *stream_new(lode_stream_kind_e kind, int fd, bool own, const lode_log_s *log,
                                 const char *name)
{
    lode_stream_s *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->fd = fd;
    s->own = own;
    s->is_socket = kind == LODE_STREAM_TCP || kind == LODE_STREAM_LISTENER;
    s->write_timeout_ms = LODE_STREAM_WRITE_TIMEOUT_MS;
    s->log = log;
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
    return s;
}

static void close_keep_errno(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* ---- TCP ----------------------------------------------------------------------------------- */

/* connect with a time limit: non-blocking connect, poll for writability, SO_ERROR */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t sl, unsigned timeout_ms)
{
    if (!timeout_ms)
        return connect(fd, sa, sl);
    if (set_nonblock(fd, true) != 0)
        return -1;
    int r = connect(fd, sa, sl);
    if (r != 0 && errno == EINPROGRESS) {
        int p = poll_one(fd, POLLOUT, (int)timeout_ms);
        if (p == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (p < 0)
            return -1;
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            return -1;
        if (err) {
            errno = err;
            return -1;
        }
        r = 0;
    }
    if (r == 0 && set_nonblock(fd, false) != 0)
        return -1;
    return r;
}

int lode_stream_open_tcp(const char *host, int port, unsigned timeout_ms, const lode_log_s *log,
                         lode_stream_s **out)
{
    if (!host || !*host || !out || port <= 0 || port > 65535) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gr = getaddrinfo(host, ps, &hints, &res);
    if (gr != 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s: %s", host, gai_strerror(gr));
        errno = EHOSTUNREACH;
        return LODE_E_NO_DEVICE;
    }
    int fd = -1, err = ECONNREFUSED;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect_timed(fd, a->ai_addr, a->ai_addrlen, timeout_ms) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "connecting to %s:%d: %s", host, port,
                 strerror(err));
        errno = err;
        return err == ETIMEDOUT ? LODE_E_TIMEOUT : LODE_E_NO_DEVICE;
    }
    set_nodelay(fd);
    char name[96];
    snprintf(name, sizeof name, "%s:%d", host, port);
    lode_stream_s *s = stream_new(LODE_STREAM_TCP, fd, true, log, name);
    if (!s) {
        close(fd);
        errno = ENOMEM;
        return LODE_E_NOMEM;
    }
    *out = s;
    return LODE_OK;
}

int lode_stream_listen_tcp(const char *bind_addr, int port, const lode_log_s *log,
                           lode_stream_s **out)
{
    if (!out || port < 0 || port > 65535) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    const char *addr = bind_addr ? bind_addr : "127.0.0.1";
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(addr, ps, &hints, &res) != 0 || !res) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
                 "'%s' is not a numeric address: give one such as 127.0.0.1", addr);
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 4) != 0) {
        int err = errno;
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "cannot listen on %s:%d: %s", addr, port,
                 strerror(err));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        errno = err;
        return err == EADDRINUSE ? LODE_E_BUSY : err == EACCES ? LODE_E_ACCESS : LODE_E_IO;
    }
    freeaddrinfo(res);
    lode_stream_s *s = stream_new(LODE_STREAM_LISTENER, fd, true, log, addr);
    if (!s) {
        close(fd);
        errno = ENOMEM;
        return LODE_E_NOMEM;
    }
    *out = s;
    return LODE_OK;
}

int lode_stream_accept(lode_stream_s *l, int timeout_ms, lode_stream_s **out)
{
    if (!l || !out || l->kind != LODE_STREAM_LISTENER) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    int p = poll_one(l->fd, POLLIN, timeout_ms);
    if (p == 0)
        return LODE_E_TIMEOUT;
    if (p < 0)
        return LODE_E_IO;
    int fd = accept(l->fd, NULL, NULL);
    if (fd < 0) /* the peer went away between poll and accept */
        return errno == EAGAIN || errno == ECONNABORTED || errno == EINTR ? LODE_E_TIMEOUT : LODE_E_IO;
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    set_nodelay(fd);
    lode_stream_s *s = stream_new(LODE_STREAM_TCP, fd, true, l->log, "client");
    if (!s) {
        close(fd);
        errno = ENOMEM;
        return LODE_E_NOMEM;
    }
    *out = s;
    return LODE_OK;
}

int lode_stream_local_port(const lode_stream_s *s)
{
    if (!s || !s->is_socket)
        return 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

/* ---- serial -------------------------------------------------------------------------------- */

/* the speeds with a Bnnn code of their own (kept as such so tcgetattr users read them back) */
static const struct {
    unsigned baud;
    unsigned code;
} std_speeds[] = {
    {50, B50}, {75, B75}, {110, B110}, {134, B134}, {150, B150}, {200, B200}, {300, B300},
    {600, B600}, {1200, B1200}, {1800, B1800}, {2400, B2400}, {4800, B4800}, {9600, B9600},
    {19200, B19200}, {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400},
    {460800, B460800}, {500000, B500000}, {576000, B576000}, {921600, B921600},
    {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000}, {2000000, B2000000},
    {2500000, B2500000}, {3000000, B3000000}, {3500000, B3500000}, {4000000, B4000000},
};

/* errno after a failed ioctl doing `what`; `modem`: it set modem-control lines (which a
 * pseudo-terminal has not: the hint only for those) */
static int serial_err_lines(lode_stream_s *s, const char *what, bool modem)
{
    int err = errno;
    if (err == ENOTTY || err == EINVAL) {
        lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s: %s is not supported by this device%s",
                 s->name, what, modem ? " (a pseudo-terminal has no modem lines)" : "");
        errno = err;
        return LODE_E_UNSUPPORTED;
    }
    lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s: %s failed: %s", s->name, what,
             strerror(err));
    errno = err;
    return err == EIO || err == ENXIO || err == ENODEV ? LODE_E_NO_DEVICE : LODE_E_IO;
}

static int serial_err(lode_stream_s *s, const char *what) { return serial_err_lines(s, what, false); }

static int apply_opts(lode_stream_s *s, const lode_serial_opts_s *o)
{
    unsigned bits = o && o->data_bits ? o->data_bits : 8;
    unsigned stop = o && o->stop_bits ? o->stop_bits : 1;
    lode_parity_e par = o ? o->parity : LODE_PARITY_NONE;
    if (bits < 5 || bits > 8 || stop > 2 || par > LODE_PARITY_ODD || (o && o->baud > 0x7FFFFFFFu)) {
        lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
                 "%s: unsupported framing (%u data bits, %u stop bits): use 5-8 and 1-2", s->name,
                 bits, stop);
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    struct termios2 t;
    if (ioctl(s->fd, TCGETS2, &t) != 0)
        return serial_err(s, "reading the port settings");
    /* raw: no input/output processing, no echo or signals, no flow control */
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                             IXOFF | IXANY | INPCK);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    static const tcflag_t csize[] = {CS5, CS6, CS7, CS8};
    t.c_cflag |= csize[bits - 5] | CREAD | CLOCAL;
    if (stop == 2)
        t.c_cflag |= CSTOPB;
    if (par != LODE_PARITY_NONE) {
        t.c_cflag |= PARENB | (par == LODE_PARITY_ODD ? PARODD : 0);
        t.c_iflag |= INPCK;
    }
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (o && o->baud) {
        unsigned code = BOTHER;
        for (size_t i = 0; i < sizeof std_speeds / sizeof std_speeds[0]; i++)
            if (std_speeds[i].baud == o->baud)
                code = std_speeds[i].code;
        /* input speed follows the output speed (CIBAUD 0) */
        t.c_cflag &= ~(tcflag_t)(CBAUD | (CBAUD << IBSHIFT));
        t.c_cflag |= code;
        t.c_ospeed = t.c_ispeed = o->baud;
    }
    if (ioctl(s->fd, TCSETS2, &t) != 0) {
        /* name what the driver refused: a speed or a framing it cannot do */
        char what[96];
        static const char pc[] = {'N', 'E', 'O'};
        if (o && o->baud)
            snprintf(what, sizeof what, "setting %u baud, %u%c%u", o->baud, bits, pc[par], stop);
        else
            snprintf(what, sizeof what, "setting %u%c%u framing", bits, pc[par], stop);
        return serial_err(s, what);
    }
    return LODE_OK;
}

/* Who else holds `path` open: " (held by NAME, PID N...)" from /proc/PID/fd, "" when nobody
 * lode can see (another user's processes are hidden). ModemManager, which probes every new
 * modem-like port, gets the way to keep it off. */
static void port_holder(const char *path, char *buf, size_t cap)
{
    char want[PATH_MAX];
    buf[0] = 0;
    if (!realpath(path, want))
        return;
    DIR *d = opendir("/proc");
    struct dirent *e;
    long self = (long)getpid();
    while (d && (e = readdir(d)) != NULL && !buf[0]) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        char fddir[64];
        snprintf(fddir, sizeof fddir, "/proc/%ld/fd", pid);
        DIR *fds = opendir(fddir);
        struct dirent *f;
        while (fds && (f = readdir(fds)) != NULL) {
            char link[384], target[PATH_MAX];
            snprintf(link, sizeof link, "%s/%s", fddir, f->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = 0;
            if (strcmp(target, want))
                continue;
            char comm[64] = "?", cpath[64];
            snprintf(cpath, sizeof cpath, "/proc/%ld/comm", pid);
            FILE *c = fopen(cpath, "r");
            if (c) {
                if (fgets(comm, sizeof comm, c))
                    comm[strcspn(comm, "\n")] = 0;
                fclose(c);
            }
            snprintf(buf, cap, " (held by %s, PID %ld%s)", comm, pid,
                     !strcmp(comm, "ModemManager")
                         ? ": it probes new serial ports; stop it (systemctl stop ModemManager) or keep it off the "
                           "board with a udev rule setting ENV{ID_MM_DEVICE_IGNORE}=\"1\""
                         : ": close that program and try again");
            break;
        }
        if (fds)
            closedir(fds);
    }
    if (d)
        closedir(d);
}

int lode_stream_open_serial(const char *path, const lode_serial_opts_s *opts,
                            const lode_log_s *log, lode_stream_s **out)
{
    if (!path || !*path || !out) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    /* O_NONBLOCK: do not wait for carrier before CLOCAL is set; cleared below */
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        char who[400] = "";
        if (err == EBUSY)
            port_holder(path, who, sizeof who);
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "cannot open %s: %s%s", path, strerror(err),
                 err == EACCES ? " (add yourself to the dialout group)"
                 : err == EBUSY ? (who[0] ? who : " (another program holds it open exclusively)")
                                : "");
        errno = err;
        return err == ENOENT || err == ENODEV || err == ENXIO ? LODE_E_NO_DEVICE
               : err == EBUSY                                  ? LODE_E_BUSY
                                                               : LODE_E_ACCESS;
    }
    lode_stream_s *s = stream_new(LODE_STREAM_SERIAL, fd, true, log, path);
    if (!s) {
        close(fd);
        errno = ENOMEM;
        return LODE_E_NOMEM;
    }
    int rc = LODE_OK;
    if (!isatty(fd)) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s is not a serial port (not a terminal)", path);
        errno = ENOTTY;
        rc = LODE_E_INVALID_ARG;
        goto fail;
    }
    if (opts && opts->exclusive) {
        /* TIOCEXCL binds everyone but root; the lock binds every other exclusive opener */
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            char who[400] = "";
            port_holder(path, who, sizeof who);
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s is busy: another program holds it open exclusively%s",
                     path, who);
            errno = EBUSY;
            rc = LODE_E_BUSY;
            goto fail;
        }
        if (ioctl(fd, TIOCEXCL) != 0) {
            rc = serial_err(s, "exclusive open");
            goto fail;
        }
        s->exclusive = true;
    }
    if ((rc = apply_opts(s, opts)) != LODE_OK)
        goto fail;
    if (set_nonblock(fd, false) != 0) {
        rc = serial_err(s, "blocking mode");
        goto fail;
    }
    *out = s;
    return LODE_OK;
fail: {
    int err = errno;
    lode_stream_close(s);
    errno = err;
    return rc;
}
}

int lode_stream_from_fd(int fd, bool own, const lode_log_s *log, lode_stream_s **out)
{
    if (fd < 0 || !out) {
        errno = EBADF;
        return LODE_E_INVALID_ARG;
    }
    int type = 0;
    socklen_t tl = sizeof type;
    lode_stream_kind_e kind = LODE_STREAM_FD;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0) {
        int acc = 0;
        socklen_t al = sizeof acc;
        kind = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc
                   ? LODE_STREAM_LISTENER : LODE_STREAM_TCP;
    } else if (isatty(fd)) {
        kind = LODE_STREAM_SERIAL;
    }
    lode_stream_s *s = stream_new(kind, fd, own, log, "descriptor");
    if (!s) {
        if (own)
            close_keep_errno(fd);
        errno = ENOMEM;
        return LODE_E_NOMEM;
    }
    s->is_socket = kind == LODE_STREAM_TCP || kind == LODE_STREAM_LISTENER;
    *out = s;
    return LODE_OK;
}

void lode_stream_set_log(lode_stream_s *s, const lode_log_s *log)
{
    if (s)
        s->log = log;
}

lode_stream_kind_e lode_stream_kind(const lode_stream_s *s) { return s ? s->kind : LODE_STREAM_FD; }

int lode_stream_fd(const lode_stream_s *s) { return s ? s->fd : -1; }

bool lode_stream_eof(const lode_stream_s *s) { return s && s->eof; }

/* ---- bytes --------------------------------------------------------------------------------- */

static ssize_t raw_read(lode_stream_s *s, void *buf, size_t cap)
{
    return s->is_socket ? recv(s->fd, buf, cap, 0) : read(s->fd, buf, cap);
}

int lode_stream_read(lode_stream_s *s, void *buf, size_t cap, size_t *got, int timeout_ms)
{
    if (!s || !buf || !cap || !got || s->kind == LODE_STREAM_LISTENER) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    if (s->eof)
        return LODE_E_IO;
    uint64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        int p = poll_one(s->fd, POLLIN, time_left(deadline, timeout_ms));
        if (p == 0)
            return LODE_E_TIMEOUT;
        if (p < 0)
            return LODE_E_IO;
        ssize_t n = raw_read(s, buf, cap);
        if (n > 0) {
            *got = (size_t)n;
            return LODE_OK;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue; /* woken for nothing: wait again */
        if (n == 0 || errno == EIO || errno == ECONNRESET)
            s->eof = true; /* a pty whose other side closed reads EIO */
        return LODE_E_IO;
    }
}

int lode_stream_read_exact(lode_stream_s *s, void *buf, size_t n, int timeout_ms)
{
    uint8_t *p = buf;
    uint64_t deadline = deadline_of(timeout_ms);
    while (n) {
        size_t got = 0;
        int rc = lode_stream_read(s, p, n, &got, time_left(deadline, timeout_ms));
        if (rc != LODE_OK)
            return rc;
        p += got;
        n -= got;
    }
    return LODE_OK;
}

void lode_stream_set_write_timeout(lode_stream_s *s, int timeout_ms)
{
    if (s)
        s->write_timeout_ms = timeout_ms;
}

/* The descriptor is put in non-blocking mode for the write (and back after it), so that a device
 * that stopped taking data (a hung bootloader, a USB CDC port NAKing for ever) is a bounded wait
 * with a message, not a write(2) that never returns. */
int lode_stream_write(lode_stream_s *s, const void *data, size_t len)
{
    if (!s || (!data && len) || s->kind == LODE_STREAM_LISTENER) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    const uint8_t *p = data;
    int fl = fcntl(s->fd, F_GETFL);
    bool toggled = fl >= 0 && !(fl & O_NONBLOCK) && fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) == 0;
    int rc = LODE_OK;
    uint64_t deadline = deadline_of(s->write_timeout_ms);
    while (len) {
        ssize_t n = s->is_socket ? send(s->fd, p, len, MSG_NOSIGNAL) : write(s->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = poll_one(s->fd, POLLOUT, time_left(deadline, s->write_timeout_ms));
            if (w < 0) {
                rc = LODE_E_IO;
                break;
            }
            if (w == 0) {
                lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_WIRE,
                         "%s took no data for %d ms (%zu bytes left to send): the device stopped reading "
                         "(hung, held in reset or gone); reset or replug it and try again",
                         s->name[0] ? s->name : "the stream", s->write_timeout_ms, len);
                errno = ETIMEDOUT;
                rc = LODE_E_TIMEOUT;
                break;
            }
            continue;
        }
        if (n <= 0) {
            rc = LODE_E_IO;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (toggled) {
        int e = errno;
        (void)fcntl(s->fd, F_SETFL, fl);
        errno = e;
    }
    return rc;
}

int lode_stream_wait(lode_stream_s *const *s, size_t n, int timeout_ms, bool *ready)
{
    if ((!s && n) || !ready || n > STREAM_MAX_WAIT) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    struct pollfd pf[STREAM_MAX_WAIT];
    for (size_t i = 0; i < n; i++) {
        pf[i].fd = s[i] ? s[i]->fd : -1; /* negative: poll skips it */
        pf[i].events = POLLIN;
        pf[i].revents = 0;
        ready[i] = false;
    }
    int r = poll_fds(pf, (nfds_t)n, timeout_ms);
    if (r < 0)
        return LODE_E_IO;
    for (size_t i = 0; i < n; i++)
        ready[i] = s[i] && (pf[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
    return r > 0 ? LODE_OK : LODE_E_TIMEOUT;
}

int lode_stream_flush(lode_stream_s *s)
{
    if (!s || s->kind == LODE_STREAM_LISTENER) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    if (s->kind == LODE_STREAM_SERIAL) {
        if (ioctl(s->fd, TCFLSH, TCIOFLUSH) != 0)
            return serial_err(s, "flush");
        return LODE_OK;
    }
    uint8_t junk[512];
    while (poll_one(s->fd, POLLIN, 0) > 0) {
        ssize_t n = raw_read(s, junk, sizeof junk);
        if (n <= 0) {
            if (n == 0)
                s->eof = true;
            break;
        }
    }
    return LODE_OK;
}

/* ---- serial control ------------------------------------------------------------------------ */

static int need_serial(lode_stream_s *s)
{
    if (!s) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    if (s->kind != LODE_STREAM_SERIAL) {
        lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "%s is not a serial port", s->name);
        errno = ENOTTY;
        return LODE_E_UNSUPPORTED;
    }
    return LODE_OK;
}

int lode_stream_serial_config(lode_stream_s *s, const lode_serial_opts_s *opts)
{
    int rc = need_serial(s);
    return rc != LODE_OK ? rc : apply_opts(s, opts);
}

int lode_stream_serial_baud(lode_stream_s *s, unsigned *baud)
{
    int rc = need_serial(s);
    if (rc != LODE_OK)
        return rc;
    if (!baud)
        return LODE_E_INVALID_ARG;
    struct termios2 t;
    if (ioctl(s->fd, TCGETS2, &t) != 0)
        return serial_err(s, "reading the port settings");
    *baud = t.c_ospeed;
    return LODE_OK;
}

int lode_stream_serial_parity(lode_stream_s *s, lode_parity_e *parity)
{
    int rc = need_serial(s);
    if (rc != LODE_OK)
        return rc;
    if (!parity)
        return LODE_E_INVALID_ARG;
    struct termios2 t;
    if (ioctl(s->fd, TCGETS2, &t) != 0)
        return serial_err(s, "reading the port settings");
    *parity = !(t.c_cflag & PARENB) ? LODE_PARITY_NONE : (t.c_cflag & PARODD) ? LODE_PARITY_ODD : LODE_PARITY_EVEN;
    return LODE_OK;
}

int lode_stream_set_lines(lode_stream_s *s, unsigned lines, bool on)
{
    int rc = need_serial(s);
    if (rc != LODE_OK)
        return rc;
    int bits = ((lines & LODE_STREAM_DTR) ? TIOCM_DTR : 0) | ((lines & LODE_STREAM_RTS) ? TIOCM_RTS : 0);
    if (!bits || (lines & ~(LODE_STREAM_DTR | LODE_STREAM_RTS))) {
        errno = EINVAL;
        return LODE_E_INVALID_ARG;
    }
    if (ioctl(s->fd, on ? TIOCMBIS : TIOCMBIC, &bits) != 0)
        return serial_err_lines(s, (lines & LODE_STREAM_DTR) ? "setting DTR" : "setting RTS", true);
    return LODE_OK;
}

int lode_stream_set_dtr(lode_stream_s *s, bool on) { return lode_stream_set_lines(s, LODE_STREAM_DTR, on); }

int lode_stream_set_rts(lode_stream_s *s, bool on) { return lode_stream_set_lines(s, LODE_STREAM_RTS, on); }

int lode_stream_pulse(lode_stream_s *s, unsigned lines, bool on, unsigned ms)
{
    int rc = lode_stream_set_lines(s, lines, on);
    if (rc != LODE_OK)
        return rc;
    sleep_ms(ms);
    return lode_stream_set_lines(s, lines, !on);
}

int lode_stream_send_break(lode_stream_s *s, unsigned ms)
{
    int rc = need_serial(s);
    if (rc != LODE_OK)
        return rc;
    if (!ms) {
        if (ioctl(s->fd, TCSBRK, 0) != 0) /* 0: a break of the driver's length */
            return serial_err(s, "sending a break");
        return LODE_OK;
    }
    if (ioctl(s->fd, TIOCSBRK) != 0)
        return serial_err(s, "sending a break");
    sleep_ms(ms);
    if (ioctl(s->fd, TIOCCBRK) != 0)
        return serial_err(s, "ending a break");
    return LODE_OK;
}

void lode_stream_close(lode_stream_s *s)
{
    if (!s)
        return;
    if (s->own && s->fd >= 0) {
        if (s->exclusive) /* the flag belongs to the tty, which may outlive this descriptor */
            (void)ioctl(s->fd, TIOCNXCL);
        close(s->fd);
    }
    free(s);
}
