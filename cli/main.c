/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lode/error.h"

static void log_to_stderr(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    if (level == LODE_LOG_ERROR)
        fprintf(stderr, "lode: error: %s\n", msg);
    else
        fprintf(stderr, "lode: %s: %s: %s\n", lode_log_level_name(level), lode_log_cat_name(cat), msg);
}

int cli_exit_for_error(int err)
{
    switch (err) {
    case LODE_OK: return LODE_EXIT_OK;
    case LODE_E_FORMAT:
    case LODE_E_RANGE: return LODE_EXIT_DATAERR;
    case LODE_E_NO_DEVICE: return LODE_EXIT_UNAVAILABLE;
    case LODE_E_IO: return LODE_EXIT_NOINPUT;
    case LODE_E_INVALID_ARG: return LODE_EXIT_USAGE;
    case LODE_E_TIMEOUT: return LODE_EXIT_TIMEOUT;
    default: return LODE_EXIT_SOFTWARE;
    }
}

static void usage(FILE *f)
{
    fputs("usage: lode [-v] COMMAND [ARGS...]\n"
          "\n"
          "lode builds, loads, runs and debugs microcontroller firmware.\n"
          "\n"
          "commands:\n"
          "  run FILE [-- ARGS...]   run firmware like a host program (semihosting output,\n"
          "                          exit code of the firmware) on the simulated board\n"
          "\n"
          "options:\n"
          "  -v, --verbose           more log output (repeat for debug)\n"
          "  -h, --help              this help; `lode COMMAND --help` for a command\n"
          "  --version               print the version\n"
          "\n"
          "exit codes:\n"
          "  0        success (or the firmware's own exit code for `lode run`)\n"
          "  64       bad command line            65  bad input file\n"
          "  66       input file missing          69  no probe / unknown chip / no answer\n"
          "  70       internal error              124 firmware did not finish in time\n"
          "  125      target halted, faulted or locked up without exiting\n",
          f);
}

int main(int argc, char **argv)
{
    cli_ctx_s cli = {.prog = "lode"};
    cli.log.fn = log_to_stderr;
    cli.log.max_level = LODE_LOG_WARN;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            cli.verbose++;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            puts("lode 0.1.0");
            return 0;
        } else {
            fprintf(stderr, "lode: unknown option '%s': see `lode --help`\n", argv[i]);
            return LODE_EXIT_USAGE;
        }
    }
    cli.log.max_level = cli.verbose >= 2 ? LODE_LOG_DEBUG : cli.verbose == 1 ? LODE_LOG_INFO : LODE_LOG_WARN;
    if (i >= argc) {
        usage(stderr);
        return LODE_EXIT_USAGE;
    }
    const char *cmd = argv[i];
    if (!strcmp(cmd, "run"))
        return cli_cmd_run(&cli, argc - i, argv + i);
    fprintf(stderr, "lode: unknown command '%s': see `lode --help` for the list\n", cmd);
    return LODE_EXIT_USAGE;
}
