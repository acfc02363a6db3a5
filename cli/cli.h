/* SPDX-License-Identifier: MIT */
#ifndef LODE_CLI_H
#define LODE_CLI_H

#include <stdbool.h>

#include "lode/log.h"

/* Exit codes of the lode command (also in `lode --help` and README.md). Firmware run with
 * `lode run` exits with its own code (0-255 as it chose); lode's own failures use these. */
enum {
    LODE_EXIT_OK = 0,
    LODE_EXIT_FAILED = 1,     /* the operation failed on the target (flash error, verify mismatch) */
    LODE_EXIT_USAGE = 64,     /* bad command line */
    LODE_EXIT_DATAERR = 65,   /* bad input file (ELF, HEX, ...) */
    LODE_EXIT_NOINPUT = 66,   /* input file missing or unreadable */
    LODE_EXIT_UNAVAILABLE = 69, /* no probe / unknown chip / target does not answer */
    LODE_EXIT_SOFTWARE = 70,  /* internal error */
    LODE_EXIT_TIMEOUT = 124,  /* the firmware did not finish within --timeout */
    LODE_EXIT_TARGET = 125,   /* the target halted (a stop on a hit, a BKPT, a debugger) */
    LODE_EXIT_INTERRUPTED = 130, /* Ctrl-C (128 + SIGINT, as shells do) */
    LODE_EXIT_FAULT = 134,    /* the firmware faulted (HardFault or lockup; 128 + SIGABRT) */
};

typedef struct cli_ctx_s {
    const char *prog;
    int verbose;
    lode_log_s log;
    const char *cmd;          /* the command word ("flash", "gdb", ...) */
} cli_ctx_s;

int cli_cmd_run(cli_ctx_s *cli, int argc, char **argv);
int cli_cmd_attach(cli_ctx_s *cli, int argc, char **argv);
int cli_cmd_debug(cli_ctx_s *cli, int argc, char **argv);
int cli_cmd_rtt(cli_ctx_s *cli, int argc, char **argv);
int cli_cmd_list(cli_ctx_s *cli, int argc, char **argv);
/* `lode itm FILE|-`: decode a captured SWO stream (cmd_itm.c) */
int cli_cmd_itm(cli_ctx_s *cli, int argc, char **argv);
/* `lode gdb`: GDB remote-protocol server (cmd_gdb.c) */
int cli_cmd_gdb(cli_ctx_s *cli, int argc, char **argv);
int cli_cmd_chips(cli_ctx_s *cli, int argc, char **argv);
/* `lode boards`: the board database (cmd_boards.c) */
int cli_cmd_boards(cli_ctx_s *cli, int argc, char **argv);
/* `lode convert`: an image as UF2 (cmd_convert.c) */
int cli_cmd_convert(cli_ctx_s *cli, int argc, char **argv);
/* `lode sim-server`: the simulated board behind a simulated probe on TCP (cmd_simserver.c) */
int cli_cmd_simserver(cli_ctx_s *cli, int argc, char **argv);
/* ... with --board/--serial-pty: a simulated Arduino on a pseudo-terminal (cmd_simserver_avr.c) */
bool cli_simserver_is_avr(int argc, char **argv);
int cli_cmd_simserver_avr(cli_ctx_s *cli, int argc, char **argv);
/* ... with --board zero: the simulated Arduino Zero's SAM-BA bootloader on a pseudo-terminal
 * (cmd_simserver_samd.c) */
bool cli_simserver_is_samd(int argc, char **argv);
int cli_cmd_simserver_samd(cli_ctx_s *cli, int argc, char **argv);
/* ... with --boot0: the STM32F103's system bootloader on a pseudo-terminal (cmd_simserver_boot0.c) */
bool cli_simserver_is_boot0(int argc, char **argv);
int cli_cmd_simserver_boot0(cli_ctx_s *cli, int argc, char **argv);
/* One row of a command table: `lode NAME ARGS...` calls fn with argv[0] = NAME. */
typedef struct cli_command_s {
    const char *name;
    int (*fn)(cli_ctx_s *cli, int argc, char **argv);
} cli_command_s;
/* info, flash, verify, erase, reset, halt, resume, step, regs, read, write (cmd_target.c);
 * ends with a NULL name */
extern const cli_command_s cli_target_commands[];
/* A library error as an exit code (out.c). */
int cli_exit_for_error(int err);

#endif
