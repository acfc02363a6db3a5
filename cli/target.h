/* SPDX-License-Identifier: MIT */
/* Options every target command shares, and opening the probe + session they name. */
#ifndef LODE_CLI_TARGET_H
#define LODE_CLI_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "lode/probe.h"
#include "lode/project.h"
#include "lode/session.h"
#include "lode/avrsim.h"
#include "lode/sim.h"

typedef struct cli_target_opts_s {
    const char *probe;        /* "sim" (default), "sim-stlink", "cmsis-dap[:VID:PID[:SERIAL]]",
                               * "stlink[:VID:PID[:SERIAL]]", "stlink-tcp:HOST:PORT" or "gdb:HOST:PORT" */
    const char *chip;
    const char *board;        /* --board / LODE_BOARD / lode.yaml board: (lode boards) */
    int chip_level, board_level, probe_level; /* where each came from: 0 default, 1 lode.yaml,
                                               * 2 environment, 3 flag */
    char board_chip[128];     /* the board's, when it sets the chip */
    char board_probe[320];    /* the probe spec the board made of --probe */
    const char *chip_description;
    bool chip_description_given; /* by a flag (a second one is refused) */
    uint32_t speed_hz;
    bool json;
    bool no_parity;           /* --parity none: a serial bootloader's line without parity */
    /* simulated probe */
    int dap_version;          /* 1 or 2 */
    unsigned packet_count;
    const char *sim_state;    /* file keeping the simulated flash between commands */
    bool sim_fresh;           /* start with erased flash */
    bool force;               /* a bootloader writes although the board or image is not the one named */
    /* defaults below the flags: LODE_PROBE/LODE_CHIP/LODE_SPEED, then lode.yaml (its values
     * live here); a bad one is reported when the target is opened */
    lode_project_s project;
    char project_path[1100];
    int defaults_exit;        /* LODE_EXIT_OK, or the exit code for defaults_msg */
    char defaults_msg[400];
} cli_target_opts_s;

typedef struct cli_target_s {
    cli_ctx_s *cli;
    cli_target_opts_s opts;
    lode_probe_registry_s *reg;   /* built-in probes + the simulator's */
    lode_sim_probe_env_s simenv;  /* the simulator's rows: their board comes from here */
    lode_sim_s *sim;              /* the simulated board (a simulated probe) */
    lode_avrsim_probe_env_s avrenv; /* the simulated Arduino's row: its board comes from here */
    lode_avrsim_s *avrsim;        /* the simulated Arduino (--probe sim with an AVR chip) */
    char sim_state_path[1024];
    lode_sim_lock_s *sim_lock; /* held from open to close */
    bool sim_readonly;        /* a command that only reads the board: never saves it */
    int board_ex;                 /* why the board could not be made (an exit code) */
    lode_session_s *session;
    lode_probe_s *probe;          /* the session's */
    lode_core_ops_s core;
    const lode_target_chip_s *chip;
    const char *chip_how;
    char probe_desc[320];
} cli_target_s;

/* Consume a common option at argv[*i] (and its value). Returns 1 if consumed, 0 if not a
 * common option, -1 on a bad value (message printed). */
int cli_target_option(cli_target_opts_s *o, int argc, char **argv, int *i);
/* Apply --board (or LODE_BOARD, lode.yaml's board:): its chip unless a chip was named at the
 * same level or above, its probe kind and baud for a bare port or a spec of its kind
 * (lode_board_probe_spec). LODE_EXIT_OK, or LODE_EXIT_USAGE for an unknown board (said). */
int cli_target_apply_board(cli_target_opts_s *o);
/* The target options' help; --probe lists the registry's rows (syntax: help). */
void cli_target_options_help(FILE *f);
void cli_target_opts_init(cli_target_opts_s *o);

/* The chip the options name: --chip (or its defaults), else the simulated board's default
 * chip with a simulated probe, else NULL (only the target can tell). */
const char *cli_target_chip_name(const cli_target_opts_s *o);

/* Open the probe and a session. attach_only: no chip identification. Returns an exit code
 * (LODE_EXIT_OK on success). */
int cli_target_open(cli_ctx_s *cli, const cli_target_opts_s *o, bool attach_only, cli_target_s *t);

/* Only the simulated board (--chip, --sim-state, --sim-fresh, --speed), no probe: for
 * `lode sim-server`, which puts its own simulated probe in front of it. */
int cli_target_open_board(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t);
/* Only the simulated Arduino `board` ("uno", "mega2560"; bootloader: its Intel HEX, NULL for
 * the board's own; uart_overrun: lode_avrsim_config_s), its flash and EEPROM from the state file (--sim-state, --sim-fresh), held
 * locked until cli_target_close saves it: for `lode sim-server --board`. */
int cli_target_open_avr_board(cli_ctx_s *cli, const cli_target_opts_s *o, const char *board, const char *bootloader,
                              bool uart_overrun, cli_target_s *t);
/* Save the simulated board's state now (a server after each session). LODE_OK when there is
 * nothing to save. */
int cli_target_save_board(cli_target_s *t);
/* Close the session (saving the simulated flash). LODE_EXIT_OK, or the exit code for the error
 * (reported) when the simulated board's state could not be saved. */
int cli_target_close(cli_target_s *t);
/* The target's clock: virtual for the simulator, monotonic otherwise (seconds). */
double cli_target_now_s(cli_target_s *t);
/* Does the target run on the simulator's virtual time? */
bool cli_target_simulated(const cli_target_s *t);
/* The probe registry with the simulator's rows (board from o); free with
 * lode_probe_registry_free. For `lode list`. */
int cli_registry(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t);

#endif
