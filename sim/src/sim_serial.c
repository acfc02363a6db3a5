/* SPDX-License-Identifier: MIT */
/* A board's serial line to the host: see lode_sim_serial_* in lode/sim.h.
 *
 * Time: after host bytes the board runs in slices of SLICE_PS (a USB full-speed frame: every
 * answer costs at least one, as on the real port) until it is waiting again —
 * the receiver holds none of the host's bytes back, the slice sent nothing, the core spent most
 * of it in a polling loop the fast-forward skipped (lode_sim_fast_forwarded) and no timer is
 * armed (a flash erase in progress is not waiting for the host) — or TURBO_PS of
 * virtual time have passed since the last host byte; a board still busy then runs paced to the
 * wall clock, at most PACE_MAX_NS at a time. A waiting board's clock stands. A board that polls
 * with a timer running (no host bytes, nothing sent, the next event within the slice — a
 * firmware's timeout, not a flash operation) is waiting with a clock: it runs paced to the wall
 * clock while it does, so that the host's pauses last as long on the board as they do. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "lode/sim.h"
#include "sim_pty.h"
#include "simi.h"

#define SLICE_PS (1ull * SIM_PS_PER_MS)
#define TURBO_PS (10000ull * SIM_PS_PER_MS)
#define PACE_MAX_NS 50000000ull
#define TURBO_WALL_NS 20000000ull /* look at the host again at least this often */
#define FEED_MAX 2048u            /* host bytes handed to the UART at a time (its queue: 4096) */

struct lode_sim_serial_s {
    lode_sim_s *sim;
    sim_board_s *b;
    lode_sim_serial_config_s cfg;
    char port[16];
    int fd;                 /* the session's, while serving */
    int rc;                 /* the first write error of the session */
    int pty_master, opens;
    char pty_link[512];
    uint64_t out_count;     /* bytes the board sent, ever */
    uint64_t last_input_ps; /* when the host's last bytes came */
    uint64_t session_start_ps, session_start_ns;
    bool waiting;           /* the board was found waiting for the host */
    bool paced;             /* the board was found waiting with a timer running */
    uint8_t inbuf[65536];   /* the host's bytes not yet handed to the UART */
    size_t inhead, inlen;
    lode_sim_serial_stats_s stats;
};

static void on_output(void *user, const char *port, const uint8_t *data, size_t len)
{
    lode_sim_serial_s *s = user;
    if (strcasecmp(port, s->port) != 0)
        return;
    s->out_count += len;
    s->stats.bytes_out += len;
    if (s->fd >= 0 && s->rc == LODE_OK)
        s->rc = simi_write_all(s->fd, data, len);
}

int lode_sim_serial_new(lode_sim_s *sim, const lode_sim_serial_config_s *cfg, lode_sim_serial_s **out)
{
    if (!sim || !out)
        return LODE_E_INVALID_ARG;
    lode_sim_serial_s *s = calloc(1, sizeof *s);
    if (!s)
        return LODE_E_NOMEM;
    s->sim = sim;
    s->b = simi_board_of(sim);
    if (cfg)
        s->cfg = *cfg;
    snprintf(s->port, sizeof s->port, "%s", s->cfg.port ? s->cfg.port : "SERCOM5");
    if (lode_sim_uart_input(sim, s->port, NULL, 0) != LODE_OK) {
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_SIM, "the simulated %s has no serial port %s",
                 lode_sim_chip_name(sim), s->port);
        free(s);
        return LODE_E_NO_DEVICE;
    }
    /* the line stands for the board's USB CDC port where the chip models that (full-speed bulk
     * timing, flow control), unless the caller wants the UART itself */
    (void)simi_uart_usb(s->b, s->port, !s->cfg.uart);
    if (!s->cfg.magic_addr)
        s->cfg.magic_addr = 0x20007FFCu;
    if (!s->cfg.magic)
        s->cfg.magic = 0x07738135u;
    s->fd = s->pty_master = s->opens = -1;
    *out = s;
    return LODE_OK;
}

void lode_sim_serial_free(lode_sim_serial_s *s)
{
    if (!s)
        return;
    lode_sim_set_output(s->sim, NULL, NULL);
    (void)simi_uart_usb(s->b, s->port, false);
    if (s->pty_master >= 0)
        close(s->pty_master);
    if (s->opens >= 0)
        close(s->opens);
    if (s->pty_link[0])
        unlink(s->pty_link);
    free(s);
}

void lode_sim_serial_touch(lode_sim_serial_s *s)
{
    if (!s)
        return;
    /* what the sketch's USB CDC code does on a line coding of 1200 baud with DTR dropped: the
     * bootloader's magic into SRAM, then a system reset */
    simi_bus_write(s->b, s->cfg.magic_addr, 4, s->cfg.magic, SIM_INIT_DAP);
    simi_board_system_reset(s->b, false);
    s->stats.touches++;
    s->inhead = s->inlen = 0; /* the port went away with the reset: the host's bytes with it */
    s->waiting = s->paced = false;
    s->last_input_ps = simi_now(s->b);
    simi_log(s->b, LODE_LOG_INFO, "sim: 1200-baud touch: reset into the bootloader");
}

void lode_sim_serial_stats(const lode_sim_serial_s *s, lode_sim_serial_stats_s *out)
{
    if (!s || !out)
        return;
    *out = s->stats;
    out->session_ps = simi_now(s->b) - s->session_start_ps;
    out->wall_ns = simi_wall_ns() - s->session_start_ns;
}

/* Run the board until it waits for the host again (or the turbo time is over, or the host
 * deserves a look). */
static void run_busy(lode_sim_serial_s *s)
{
    uint64_t t0 = simi_wall_ns();
    while (simi_wall_ns() - t0 < TURBO_WALL_NS) {
        if (s->inlen && lode_sim_uart_ready(s->sim, s->port) && lode_sim_uart_pending(s->sim, s->port) < FEED_MAX)
            return; /* the line takes more of the host's bytes: feed it first */
        uint64_t ff = lode_sim_fast_forwarded(s->sim), ins = lode_sim_instructions(s->sim), out = s->out_count;
        uint64_t now = simi_now(s->b), until = now + SLICE_PS, next = simi_next_event(s->b);
        /* a flash operation in progress and no host bytes on the line: on to its end at once */
        bool jump = next != UINT64_MAX && next > until && lode_sim_uart_pending(s->sim, s->port) == 0;
        if (jump)
            until = next;
        simi_run_until(s->b, until);
        bool quiet = s->out_count == out && lode_sim_uart_pending(s->sim, s->port) == 0;
        /* most of the slice spent in a skipped polling loop: the loop it ends in */
        uint64_t skipped = lode_sim_fast_forwarded(s->sim) - ff, ran = lode_sim_instructions(s->sim) - ins;
        if (quiet && skipped && skipped * 2 >= ran && simi_timers_idle(s->b)) {
            s->waiting = true;
            return;
        }
        uint64_t nx = simi_next_event(s->b);
        if (quiet && skipped && skipped * 2 >= ran && !jump && !s->inlen && nx != UINT64_MAX &&
            nx <= simi_now(s->b) + SLICE_PS) {
            s->paced = true;
            return;
        }
        if (simi_now(s->b) - s->last_input_ps > TURBO_PS)
            return;
    }
}

/* The host's bytes to the UART while its receiver is on, FEED_MAX at a time. */
static void feed(lode_sim_serial_s *s)
{
    if (!s->inlen || !lode_sim_uart_ready(s->sim, s->port) || lode_sim_uart_pending(s->sim, s->port) >= FEED_MAX)
        return;
    size_t n = s->inlen < FEED_MAX ? s->inlen : FEED_MAX;
    if (n > sizeof s->inbuf - s->inhead)
        n = sizeof s->inbuf - s->inhead;
    lode_sim_uart_input(s->sim, s->port, s->inbuf + s->inhead, n);
    s->inhead = (s->inhead + n) % sizeof s->inbuf;
    s->inlen -= n;
    s->last_input_ps = simi_now(s->b);
    s->waiting = s->paced = false;
}

/* A board waiting with a timer running: dt_ns of wall time on its clock; back to run_busy once
 * it sent something, took host bytes, has no timer left or the next event is far (a flash
 * operation: at once). */
static void run_paced(lode_sim_serial_s *s, uint64_t dt_ns)
{
    if (dt_ns > PACE_MAX_NS)
        dt_ns = PACE_MAX_NS;
    uint64_t out = s->out_count;
    simi_run_until(s->b, simi_now(s->b) + dt_ns * 1000u);
    uint64_t next = simi_next_event(s->b);
    if (s->out_count != out || simi_timers_idle(s->b) || lode_sim_uart_pending(s->sim, s->port) ||
        (next != UINT64_MAX && next > simi_now(s->b) + SLICE_PS)) {
        s->paced = false;
        s->last_input_ps = simi_now(s->b); /* its turbo time starts again */
    }
}

int lode_sim_serial_serve_fd(lode_sim_serial_s *s, int fd, volatile const sig_atomic_t *stop)
{
    if (!s || fd < 0)
        return LODE_E_INVALID_ARG;
    if (fd == s->pty_master)
        (void)simi_pty_opened(s->opens);
    lode_sim_set_output(s->sim, on_output, s);
    s->fd = fd;
    s->rc = LODE_OK;
    s->stats.bytes_in = s->stats.bytes_out = 0;
    s->stats.sessions++;
    s->session_start_ps = simi_now(s->b);
    s->session_start_ns = simi_wall_ns();
    s->waiting = s->paced = false;
    /* what an earlier host wrote before it closed is still delivered first (a tty's close lets
     * its output drain), normally while nobody listened (lode_sim_serial_pty_serve) */
    s->last_input_ps = simi_now(s->b);
    uint64_t last = simi_wall_ns();
    while (!(stop && *stop) && s->rc == LODE_OK) {
        /* The host's bytes are taken from fd at once (a USB CDC driver buffers what is
         * written: a writer must not see a short write) and handed to the UART while its
         * receiver is on (a USB CDC port is not there before the firmware runs), FEED_MAX at a
         * time. */
        bool ready = lode_sim_uart_ready(s->sim, s->port);
        struct pollfd p = {fd, s->inlen < sizeof s->inbuf ? POLLIN : 0, 0};
        int k = poll(&p, 1, s->waiting && (!s->inlen || !ready) ? 50 : s->paced && !s->inlen ? 1 : 0);
        if (k > 0 && (p.revents & POLLIN)) {
            size_t tail = (s->inhead + s->inlen) % sizeof s->inbuf;
            size_t room = sizeof s->inbuf - s->inlen;
            if (room > sizeof s->inbuf - tail)
                room = sizeof s->inbuf - tail;
            ssize_t r = read(fd, s->inbuf + tail, room);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0)
                break;
            s->inlen += (size_t)r;
            s->stats.bytes_in += (uint64_t)r;
        } else if (k > 0 && (p.revents & (POLLHUP | POLLERR))) {
            break;
        }
        feed(s);
        uint64_t now = simi_wall_ns();
        if (s->paced) {
            run_paced(s, now - last);
        } else if (!s->waiting) {
            if (simi_now(s->b) - s->last_input_ps <= TURBO_PS) {
                run_busy(s);
            } else { /* busy on its own: in real time */
                uint64_t dt = now - last;
                if (dt > PACE_MAX_NS)
                    dt = PACE_MAX_NS;
                if (dt == 0) {
                    struct timespec ts = {0, 1000000L};
                    nanosleep(&ts, NULL);
                    dt = 1000000u;
                }
                simi_run_until(s->b, simi_now(s->b) + dt * 1000u);
            }
        }
        last = now;
    }
    s->fd = -1;
    lode_sim_set_output(s->sim, NULL, NULL);
    return s->rc;
}

int lode_sim_serial_pty_open(lode_sim_serial_s *s, const char *link_path, char *name, size_t cap)
{
    if (!s || s->pty_master >= 0 || !name)
        return LODE_E_INVALID_ARG;
    int rc = simi_pty_open(&s->cfg.log, link_path, name, cap, s->pty_link, sizeof s->pty_link, &s->pty_master);
    if (rc == LODE_OK)
        s->opens = simi_pty_watch_opens(s->pty_master);
    return rc;
}

/* Back from a client's close: a port left at 1200 baud was a touch. The speed is set back so
 * that the next close is not taken for one again. */
static void after_close(lode_sim_serial_s *s)
{
    if (simi_pty_baud(s->pty_master) != 1200)
        return;
    struct termios t;
    if (tcgetattr(s->pty_master, &t) == 0) {
        cfsetspeed(&t, B115200);
        tcsetattr(s->pty_master, TCSANOW, &t);
    }
    lode_sim_serial_touch(s);
}

int lode_sim_serial_pty_serve(lode_sim_serial_s *s, volatile const sig_atomic_t *stop, lode_sim_serial_session_fn fn,
                              void *user)
{
    if (!s || s->pty_master < 0)
        return LODE_E_INVALID_ARG;
    while (!(stop && *stop)) {
        struct pollfd p = {s->pty_master, POLLIN, 0};
        poll(&p, 1, 50);
        if ((p.revents & POLLHUP) && !simi_pty_opened(s->opens)) { /* nobody has the port open */
            after_close(s);
            /* the board lives on while nobody listens: its output is dropped */
            lode_sim_set_output(s->sim, on_output, s);
            s->fd = -1;
            feed(s); /* what the closed host still had written */
            if (s->paced) {
                run_paced(s, 20 * 1000000u);
            } else if (!s->waiting) {
                s->last_input_ps = simi_now(s->b);
                run_busy(s);
            }
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        lode_sim_serial_serve_fd(s, s->pty_master, stop);
        after_close(s);
        if (fn) {
            lode_sim_serial_stats_s st;
            lode_sim_serial_stats(s, &st);
            fn(user, &st);
        }
    }
    return LODE_OK;
}
