/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lode/version.h"
#include "lode/error.h"

static void log_to_stderr(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    if (level == LODE_LOG_ERROR)
        fprintf(stderr, "lode: error: %s\n", msg);
    else
        fprintf(stderr, "lode: %s: %s: %s\n", lode_log_level_name(level), lode_log_cat_name(cat), msg);
}

static void usage(FILE *f)
{
    fputs("usage: lode [-v] COMMAND [ARGS...]\n"
          "\n"
          "lode builds, loads, runs and debugs microcontroller firmware.\n"
          "\n"
          "commands (each has --help):\n"
          "  list                    probes: the simulated board and USB CMSIS-DAP probes\n"
          "  chips                   chips lode knows (ARM, and AVR parts)\n"
          "  boards [--json]         boards lode knows (--board NAME: chip, probe kind, baud)\n"
          "  info                    debug port, ROM table, core and chip of the target\n"
          "  flash FILE              write an ELF/HEX/BIN image to flash (--verify ...)\n"
          "  verify FILE             compare target memory with an image\n"
          "  erase --chip | ADDR LEN erase flash (all of it, or the sectors of a range)\n"
          "  reset [--halt]          reset the target (and stop at the reset vector)\n"
          "  halt | resume | step    run control\n"
          "  regs                    core registers\n"
          "  read ADDR LEN [-o F]    read memory (hexdump or file)\n"
          "  write ADDR VALUE...     write memory\n"
          "  run FILE [ARGS...]      flash, reset and run firmware like a host program:\n"
          "                          semihosting + RTT output, stdin, the firmware's exit code\n"
          "  attach FILE             the same on a running target, without flashing or reset\n"
          "  debug FILE              interactive debugger prompt (break, watch, step, ...)\n"
          "  rtt [FILE]              RTT terminal on the running target\n"
          "  gdb [--port N] [FILE]   GDB server (remote protocol) on the target\n"
          "  itm FILE|-              decode a captured SWO stream (ITM/DWT packets)\n"
          "  convert FILE -o OUT.uf2 --family NAME   an image as UF2 for a UF2 bootloader\n"
          "  sim-server --stlink-tcp PORT   the simulated board behind a simulated ST-Link,\n"
          "                          for outside tools (OpenOCD's st-link backend tcp)\n"
          "\n"
          "Target commands use the simulated board unless --probe names a real probe\n"
          "(cmsis-dap, stlink, stlink-tcp, gdb) or a bootloader (dfu: flash, verify, erase, read,\n"
          "info); see `lode flash --help` for the target options.\n"
          "\n"
          "options:\n"
          "  -v, --verbose           more log output (repeat for debug)\n"
          "  -h, --help              this help; `lode COMMAND --help` for a command\n"
          "  --version               print the version\n"
          "\n"
          "exit codes:\n"
          "  0        success (or the firmware's own exit code for `lode run`)\n"
          "  1        the operation failed on the target (flash error, verify mismatch)\n"
          "  64       bad command line            65  bad input file\n"
          "  66       input file missing          69  no probe / unknown chip / no answer\n"
          "  70       internal error              124 firmware did not finish in time\n"
          "  125      the target halted (stop on a hit, BKPT)\n"
          "  130      interrupted (Ctrl-C)          134 the firmware faulted (HardFault/lockup)\n",
          f);
}

/* The commands: one table here, the target commands' in cmd_target.c. */
static const cli_command_s commands[] = {
    {"run", cli_cmd_run},       {"attach", cli_cmd_attach},         {"rtt", cli_cmd_rtt},
    {"debug", cli_cmd_debug},   {"gdb", cli_cmd_gdb},               {"itm", cli_cmd_itm},
    {"list", cli_cmd_list},     {"chips", cli_cmd_chips},           {"sim-server", cli_cmd_simserver},
    {"convert", cli_cmd_convert}, {"boards", cli_cmd_boards},
    {NULL, NULL},
};
static const cli_command_s *const tables[] = {commands, cli_target_commands, NULL};

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
            puts("lode " LODE_VERSION_STRING);
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
    cli.cmd = cmd;
    for (const cli_command_s *const *t = tables; *t; t++)
        for (const cli_command_s *c = *t; c->name; c++)
            if (!strcmp(cmd, c->name))
                return c->fn(&cli, argc - i, argv + i);
    fprintf(stderr, "lode: unknown command '%s': see `lode --help` for the list\n", cmd);
    return LODE_EXIT_USAGE;
}
