/* SPDX-License-Identifier: MIT */
/* The row "sim-sam-ba": the simulated Arduino Zero (lode's SAM-BA bootloader on the simulated
 * ATSAMD21G18A, lode_sim_serial on its SERCOM5 line) served in a thread of its own over a socket
 * pair, lode's sam-ba probe (src/boot/samba_probe.c) on the other end -- what `--board zero`
 * without --probe opens, as `--board uno` opens the simulated Uno. The board is the caller's
 * (env->board, kept in its state file); the line and the thread go with the probe. Each open
 * begins with the 1200-baud touch, as the IDE does: the board's application (started from the
 * state file's flash) gives way to the bootloader. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lode/probe.h"
#include "lode/sim.h"
#include "lode/stream.h"
#include "simi.h"

typedef struct zero_line_s {
    lode_sim_serial_s *ser;
    int fd;                       /* the board's end */
    volatile sig_atomic_t stop;
    pthread_t th;
    bool running;
} zero_line_s;

static void *serve(void *arg)
{
    zero_line_s *z = arg;
    lode_sim_serial_serve_fd(z->ser, z->fd, &z->stop);
    return NULL;
}

static void line_close(void *user)
{
    zero_line_s *z = user;
    z->stop = 1;
    shutdown(z->fd, SHUT_RDWR);
    if (z->running)
        pthread_join(z->th, NULL);
    close(z->fd);
    lode_sim_serial_free(z->ser);
    free(z);
}

static int zero_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                     lode_probe_s **out)
{
    const lode_sim_probe_env_s *env = d->user;
    if (*args) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "unknown probe 'sim-sam-ba:%s': use --probe sim-sam-ba", args);
        return LODE_E_INVALID_ARG;
    }
    lode_sim_s *sim = NULL;
    int rc = env->board(env->user, o->chip ? o->chip : "ATSAMD21G18A", o->swd_hz, &sim);
    if (rc != LODE_OK || !sim)
        return rc != LODE_OK ? rc : LODE_E_NO_DEVICE;
    zero_line_s *z = calloc(1, sizeof *z);
    int sv[2] = {-1, -1};
    lode_sim_serial_config_s sc = {.log = env->log};
    if (!z || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        free(z);
        return LODE_E_NOMEM;
    }
    z->fd = sv[1];
    lode_stream_s *s = NULL;
    if ((rc = lode_sim_serial_new(sim, &sc, &z->ser)) != LODE_OK ||
        (rc = lode_stream_from_fd(sv[0], true, o->log, &s)) != LODE_OK) {
        close(sv[0]);
        line_close(z);
        return rc;
    }
    /* the 1200-baud touch (what --board zero's reset is): an application the board started
     * from its flash gives way to the bootloader, which stays */
    lode_sim_run(sim, 1000000000ull); /* 1 ms: the board out of its power-on reset first */
    lode_sim_serial_touch(z->ser);
    if (pthread_create(&z->th, NULL, serve, z) != 0) {
        lode_stream_close(s);
        line_close(z);
        return LODE_E_NOMEM;
    }
    z->running = true;
    lode_probe_extra_s extra = {.description = NULL, .on_close = line_close, .close_user = z};
    /* the port's name only for messages and the USB guess: the Zero's native USB port */
    return lodei_boot_samba_open_stream(s, true, "sim-ttyACM0:usb:offset=0x2000", o, &extra, out);
}

static int zero_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d, (void)log;
    lode_probe_found_s f;
    memset(&f, 0, sizeof f);
    snprintf(f.spec, sizeof f.spec, "sim-sam-ba");
    f.kind = "simulated-sam-ba";
    snprintf(f.text, sizeof f.text, "the simulated Arduino Zero's SAM-BA bootloader (--board zero)");
    fn(user, &f);
    return LODE_OK;
}

int simi_samba_row_add(lode_probe_registry_s *reg, const lode_sim_probe_env_s *env)
{
    lode_probe_driver_s row = {.name = "sim-sam-ba",
                               .syntax = "sim-sam-ba",
                               .help = "the simulated Arduino Zero through its SAM-BA bootloader (lode's sam-ba probe)",
                               .list = zero_list,
                               .open = zero_open,
                               .user = (void *)env};
    return lode_probe_registry_add(reg, &row);
}
