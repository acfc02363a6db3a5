/* SPDX-License-Identifier: MIT */
/* The simulated ATSAMD21G18A with lode's SAM-BA bootloader, its line served in a thread on one
 * end of a socket pair (lode_sim_serial_serve_fd) and the test on the other (sv[0]): shared by
 * test_samba_boot (the bootloader's commands) and test_samba_sim (lode's sam-ba probe).
 * LODE_TEST_SIM_LOG=1 puts the board's log on stderr. */
#ifndef LODE_TEST_SAMD_BOARD_H
#define LODE_TEST_SAMD_BOARD_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lode/sim.h"

#define NEED(cond)                                                                   \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: NEED %s failed\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                 \
        }                                                                            \
    } while (0)

typedef struct board_s {
    lode_sim_s *sim;
    lode_sim_serial_s *line;
    int sv[2];
    volatile sig_atomic_t stop;
    pthread_t th;
    bool serving;
} board_s;

static void *board_serve(void *arg)
{
    board_s *b = arg;
    lode_sim_serial_serve_fd(b->line, b->sv[1], &b->stop);
    return NULL;
}

/* (Re)start serving the line. */
static void board_start(board_s *b)
{
    b->stop = 0;
    NEED(pthread_create(&b->th, NULL, board_serve, b) == 0);
    b->serving = true;
}

/* Stop serving (the board keeps its state; board_start serves it again). */
static void board_halt(board_s *b)
{
    if (!b->serving)
        return;
    b->stop = 1;
    pthread_join(b->th, NULL);
    b->serving = false;
}

static void board_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user, (void)level, (void)cat;
    fprintf(stderr, "sim: %s\n", msg);
}

/* lc: the line's configuration (NULL: the default, the board's USB CDC port) */
static void board_new_line(board_s *b, const lode_sim_serial_config_s *lc)
{
    memset(b, 0, sizeof *b);
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "ATSAMD21G18A";
    if (getenv("LODE_TEST_SIM_LOG"))
        cfg.log = (lode_log_s){.fn = board_log, .max_level = LODE_LOG_DEBUG};
    NEED(lode_sim_new(&cfg, &b->sim) == LODE_OK);
    NEED(lode_sim_serial_new(b->sim, lc, &b->line) == LODE_OK);
    NEED(socketpair(AF_UNIX, SOCK_STREAM, 0, b->sv) == 0);
    board_start(b);
}

static void board_new(board_s *b) { board_new_line(b, NULL); }

static void board_free(board_s *b)
{
    board_halt(b);
    close(b->sv[0]);
    close(b->sv[1]);
    lode_sim_serial_free(b->line);
    lode_sim_free(b->sim);
}

#endif
