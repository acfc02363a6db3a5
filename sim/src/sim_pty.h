/* SPDX-License-Identifier: MIT */
/* Pseudo-terminals for the simulated boards' serial lines (sim_an3155.c, sim_serial.c). */
#ifndef LODE_SIM_PTY_H
#define LODE_SIM_PTY_H

#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

/* A pty master (raw, 115200 until a client sets its own; the slave closed, so POLLHUP says
 * nobody has the port open), linked at link_path when given (an existing symbolic link there is
 * replaced, anything else refused: LODE_E_INVALID_ARG). The slave's name in name, the link kept
 * in link (to unlink at the end; "" without one). */
int simi_pty_open(const lode_log_s *log, const char *link_path, char *name, size_t cap, char *link, size_t link_cap,
                  int *master);
/* An inotify descriptor seeing every open of the slave (or -1). */
int simi_pty_watch_opens(int master);
/* Drain the watch: was the slave opened since the last look? */
int simi_pty_opened(int watch);
/* The speed a client set (a pty's termios is shared by both ends); 0 if unknown. */
unsigned simi_pty_baud(int master);
int simi_write_all(int fd, const uint8_t *d, size_t n);
uint64_t simi_wall_ns(void);

#endif
