/* SPDX-License-Identifier: MIT */
/* The simulated Arduino as lode's default board for AVR chips: the state file (flash and
 * EEPROM kept between commands, as the simulated ARM boards keep theirs) and the in-process
 * probe row "sim-avr[:BOARD]" (the board in a thread of its own on one end of a socket pair,
 * lode's arduino probe on the other). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lode/avrsim.h"
#include "lode/error.h"
#include "lode/probe.h"
#include "lode/sim.h"
#include "state_file.h"
#include "util/bytes.h"

/* ---- the state file ------------------------------------------------------------------------- */

/* "LODESIM3", the chip name (32 bytes, NUL padded), the number of arrays (LE32), then per
 * array its base and size (LE32 each) and its bytes: the flash at 0 (bootloader included),
 * the EEPROM at 0x810000 (the AVR ELF address). */
#define STATE_MAGIC "LODESIM3"
#define EEPROM_BASE 0x810000u

static int state_arrays(const lode_avrsim_s *sim, uint32_t base[2], uint32_t size[2])
{
    base[0] = 0;
    size[0] = lode_avrsim_flash_size(sim);
    base[1] = EEPROM_BASE;
    size[1] = lode_avrsim_eeprom_size(sim);
    return 2;
}

int lode_avrsim_state_save(const lode_avrsim_s *sim, const char *path)
{
    if (!sim || !path)
        return LODE_E_INVALID_ARG;
    char tmp[4096];
    FILE *f = simi_state_tmp_open(path, tmp, sizeof tmp);
    if (!f)
        return LODE_E_IO;
    uint32_t base[2], size[2];
    int n = state_arrays(sim, base, size);
    uint8_t hdr[8 + 32 + 4] = {0};
    memcpy(hdr, STATE_MAGIC, 8);
    snprintf((char *)hdr + 8, 32, "%s", lode_avrsim_chip(sim));
    lodei_put_le32(hdr + 40, (uint32_t)n);
    bool ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    uint8_t *buf = malloc(size[0] > size[1] ? size[0] : size[1]);
    ok = ok && buf;
    for (int i = 0; ok && i < n; i++) {
        uint8_t a[8];
        lodei_put_le32(a, base[i]);
        lodei_put_le32(a + 4, size[i]);
        ok = (i == 0 ? lode_avrsim_flash_read(sim, 0, buf, size[i]) : lode_avrsim_eeprom_read(sim, 0, buf, size[i])) ==
                 LODE_OK &&
             fwrite(a, 1, 8, f) == 8 && fwrite(buf, 1, size[i], f) == size[i];
    }
    free(buf);
    return simi_state_tmp_commit(f, tmp, path, ok);
}

int lode_avrsim_state_load(lode_avrsim_s *sim, const char *path)
{
    if (!sim || !path)
        return LODE_E_INVALID_ARG;
    FILE *f = NULL;
    int rc = simi_state_open_read(path, &f);
    if (rc != LODE_OK)
        return rc;
    uint32_t base[2], size[2];
    int n = state_arrays(sim, base, size);
    uint8_t hdr[8 + 32 + 4];
    char chip[33] = "";
    snprintf(chip, sizeof chip, "%s", lode_avrsim_chip(sim));
    uint8_t *data[2] = {malloc(size[0]), malloc(size[1])};
    rc = LODE_E_FORMAT;
    if (data[0] && data[1] && fread(hdr, 1, sizeof hdr, f) == sizeof hdr && !memcmp(hdr, STATE_MAGIC, 8) &&
        !strncmp((char *)hdr + 8, chip, 32) && lodei_get_le32(hdr + 40) == (uint32_t)n) {
        rc = LODE_OK;
        for (int i = 0; rc == LODE_OK && i < n; i++) {
            uint8_t a[8];
            if (fread(a, 1, 8, f) != 8 || lodei_get_le32(a) != base[i] || lodei_get_le32(a + 4) != size[i] ||
                fread(data[i], 1, size[i], f) != size[i])
                rc = LODE_E_FORMAT;
        }
    }
    fclose(f);
    /* all or nothing: the board takes the file's contents only when the whole file was good */
    if (rc == LODE_OK)
        rc = lode_avrsim_flash_write(sim, 0, data[0], size[0]);
    if (rc == LODE_OK)
        rc = lode_avrsim_eeprom_write(sim, 0, data[1], size[1]);
    free(data[0]);
    free(data[1]);
    return rc;
}

/* ---- the probe row ---------------------------------------------------------------------------- */

typedef struct served_s {
    lode_avrsim_s *sim;
    int fd;                      /* the board's end */
    volatile sig_atomic_t stop;
    pthread_t th;
} served_s;

static void *serve_main(void *arg)
{
    served_s *v = arg;
    lode_avrsim_serve_fd(v->sim, v->fd, &v->stop);
    return NULL;
}

/* The board's clock: it runs on the host's CPU and falls behind the wall clock on a busy host,
 * so the bootloader probe waits for its answers in this time. */
static uint64_t served_now_us(void *user)
{
    return lode_avrsim_served_us(((served_s *)user)->sim);
}
static void served_delay_us(void *user, uint32_t us)
{
    uint64_t t0 = served_now_us(user);
    struct timespec ts = {0, 1000000L};
    for (int i = 0; i < 60000 && served_now_us(user) - t0 < us; i++) /* 60 s of the wall at most */
        nanosleep(&ts, NULL);
}

/* after the arduino probe closed its end: the board's thread ends */
static void served_close(void *user)
{
    served_s *v = user;
    v->stop = 1;
    pthread_join(v->th, NULL);
    close(v->fd);
    free(v);
}

static int row_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    const lode_avrsim_probe_env_s *env = d->user;
    if (!env || !env->board)
        return LODE_E_UNSUPPORTED;
    const char *name = args && *args ? args : o->chip ? lode_avrsim_board_for_chip(o->chip) : "uno";
    if (!name) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "no simulated AVR board has the chip %s: the boards are: uno, mega2560, leonardo",
                 o->chip);
        return LODE_E_NO_DEVICE;
    }
    served_s *v = calloc(1, sizeof *v);
    if (!v)
        return LODE_E_NOMEM;
    int rc = env->board(env->user, name, &v->sim);
    int sv[2] = {-1, -1};
    if (rc == LODE_OK && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot make a socket pair: %s", strerror(errno));
        rc = LODE_E_IO;
    }
    if (rc == LODE_OK) {
        v->fd = sv[0];
        if (pthread_create(&v->th, NULL, serve_main, v) != 0) {
            close(sv[0]);
            close(sv[1]);
            rc = LODE_E_NOMEM;
        }
    }
    if (rc != LODE_OK) {
        free(v);
        return rc;
    }
    lode_stream_s *s = NULL;
    lode_probe_extra_s extra = {.on_close = served_close, .close_user = v, .now_us = served_now_us,
                                .delay_us = served_delay_us, .time_user = v};
    if ((rc = lode_stream_from_fd(sv[1], true, o->log, &s)) != LODE_OK) {
        served_close(v);
        return rc;
    }
    char port[64];
    snprintf(port, sizeof port, "the simulated %s", name);
    if (!strcmp(lode_avrsim_protocol(v->sim), "avr109"))
        return lodei_boot_avr109_open_stream(s, true, port, lode_avrsim_baud(v->sim), o, &extra, out);
    if (!strcmp(lode_avrsim_protocol(v->sim), "wiring"))
        return lodei_boot_wiring_open_stream(s, true, port, lode_avrsim_baud(v->sim), o, &extra, out);
    return lodei_boot_arduino_open_stream(s, true, port, lode_avrsim_baud(v->sim), o, &extra, out);
}

int lode_avrsim_registry_add(struct lode_probe_registry_s *reg, const lode_avrsim_probe_env_s *env)
{
    lode_probe_driver_s row = {
        .name = "sim-avr",
        .syntax = "sim-avr[:BOARD]",
        .help = "a simulated Arduino (its bootloader on simavr), in process: uno, mega2560, leonardo; the default for AVR chips",
        .open = row_open,
        .user = (void *)(uintptr_t)env,
    };
    return lode_probe_registry_add(reg, &row);
}
