/* SPDX-License-Identifier: MIT */
/* Options every target command shares, and opening the probe + session they name. */
#ifndef LODE_CLI_TARGET_H
#define LODE_CLI_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "lode/gdbclient.h"
#include "lode/session.h"
#include "lode/sim.h"

typedef struct cli_target_opts_s {
    const char *probe;        /* "sim" (default), "sim-stlink", "cmsis-dap[:VID:PID[:SERIAL]]",
                               * "stlink[:VID:PID[:SERIAL]]", "stlink-tcp:HOST:PORT" or "gdb:HOST:PORT" */
    const char *chip;
    const char *chip_description;
    uint32_t speed_hz;
    bool json;
    /* simulated probe */
    int dap_version;          /* 1 or 2 */
    unsigned packet_count;
    const char *sim_state;    /* file keeping the simulated flash between commands */
    bool sim_fresh;           /* start with erased flash */
} cli_target_opts_s;

typedef struct cli_target_s {
    cli_ctx_s *cli;
    cli_target_opts_s opts;
    lode_sim_s *sim;          /* simulated board (probe "sim") */
    lode_sim_dap_s *simdap;
    lode_sim_stlink_s *simstlink; /* probe "sim-stlink" */
    char sim_state_path[1024];
    lode_sim_lock_s *sim_lock; /* held from open to close */
    bool sim_readonly;        /* a command that only reads the board: never saves it */
    lode_transport_s *transport;
    lode_stlink_io_s stlink_io;   /* ST-Link probes: the I/O until the session takes it */
    lode_session_s *session;  /* NULL with probe "gdb" (a GDB server: no ADI) */
    lode_gdbclient_s *gdb;    /* probe "gdb" */
    lode_target_db_s *db;     /* probe "gdb": the database t->chip comes from */
    const lode_log_s *gdb_log_inner; /* probe "gdb": the CLI's log, behind gdb_log_fn in target.c */
    bool gdb_log_pass;        /* connected: errors go to the log, not gdb_log_err */
    char gdb_log_err[256];    /* the connection's error, for one line naming host:port */
    lode_core_ops_s core;
    const lode_target_chip_s *chip;
    const char *chip_how;
    char probe_desc[320];
} cli_target_s;

/* Consume a common option at argv[*i] (and its value). Returns 1 if consumed, 0 if not a
 * common option, -1 on a bad value (message printed). */
int cli_target_option(cli_target_opts_s *o, int argc, char **argv, int *i);
const char *cli_target_options_help(void);
void cli_target_opts_init(cli_target_opts_s *o);

/* Open the probe and a session. attach_only: no chip identification. Returns an exit code
 * (LODE_EXIT_OK on success). */
int cli_target_open(cli_ctx_s *cli, const cli_target_opts_s *o, bool attach_only, cli_target_s *t);

/* "V2J37" / "V3J7" -> hardware and J version (false if malformed) */
bool cli_parse_stlink_version(const char *s, uint8_t *hw, uint8_t *jtag);
/* Only the simulated board (--chip, --sim-state, --sim-fresh, --speed), no probe: for
 * `lode sim-server`, which puts its own simulated probe in front of it. */
int cli_target_open_board(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t);
/* Flash programming needs more of the core than a GDB server gives (PRIMASK for the
 * algorithm calls): LODE_EXIT_OK, or a one-line error and LODE_EXIT_UNAVAILABLE. */
int cli_target_can_flash(const cli_target_s *t, const char *cmd);
/* Close the session (saving the simulated flash). */
void cli_target_close(cli_target_s *t);
/* The target's clock: virtual for the simulator, monotonic otherwise (seconds). */
double cli_target_now_s(cli_target_s *t);

#endif
