/* SPDX-License-Identifier: MIT */
/* `lode run`: run firmware on the simulated board like a host program. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lode/error.h"
#include "lode/semihost.h"
#include "lode/sim.h"

typedef struct run_s {
    lode_sim_s *sim;
    bool uart_stderr;
} run_s;

static void uart_out(void *user, const char *port, const uint8_t *data, size_t len)
{
    run_s *r = user;
    (void)port;
    fwrite(data, 1, len, r->uart_stderr ? stderr : stdout);
    fflush(r->uart_stderr ? stderr : stdout);
}

static void sh_console_write(void *ctx, int fd, const uint8_t *data, size_t len)
{
    (void)ctx;
    FILE *f = fd == 2 ? stderr : stdout;
    fwrite(data, 1, len, f);
    fflush(f);
}

static long sh_console_read(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    ssize_t n = read(0, buf, len);
    return n < 0 ? -1 : (long)n;
}

static void run_usage(FILE *f)
{
    fputs("usage: lode run [--chip CHIP] [--timeout SECONDS] [--stats] FILE [-- ARGS...]\n"
          "\n"
          "Boot FILE (an ELF) on the simulated board and run it until it exits through\n"
          "semihosting (SYS_EXIT / SYS_EXIT_EXTENDED); lode then exits with the firmware's\n"
          "exit code. Semihosting console output goes to stdout/stderr, stdin feeds\n"
          "SYS_READ, UART output goes to stdout. ARGS are the firmware's command line\n"
          "(SYS_GET_CMDLINE).\n"
          "\n"
          "  --chip CHIP        simulated chip: STM32F103C8 (default) or nRF52840_xxAA\n"
          "  --timeout SECONDS  virtual-time limit (default 60); exit 124 when reached\n"
          "  --stats            print instructions, virtual time and speed to stderr\n"
          "  --uart-stderr      send UART output to stderr instead of stdout\n",
          f);
}

int cli_cmd_run(cli_ctx_s *cli, int argc, char **argv)
{
    const char *chip = "STM32F103C8", *file = NULL;
    double timeout_s = 60.0;
    bool stats = false, uart_stderr = false;
    char cmdline[1024] = "";
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--chip") && i + 1 < argc) {
            chip = argv[++i];
        } else if (!strcmp(a, "--timeout") && i + 1 < argc) {
            char *end;
            timeout_s = strtod(argv[++i], &end);
            if (*end || timeout_s <= 0) {
                fprintf(stderr, "lode run: --timeout wants a positive number of seconds, got '%s'\n", argv[i]);
                return LODE_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (!strcmp(a, "--uart-stderr")) {
            uart_stderr = true;
        } else if (!strcmp(a, "--probe") && i + 1 < argc) {
            if (strcmp(argv[++i], "sim") != 0) {
                fprintf(stderr, "lode run: only --probe sim is available in this version\n");
                return LODE_EXIT_UNAVAILABLE;
            }
        } else if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (a[0] == '-') {
            fprintf(stderr, "lode run: unknown option '%s': see `lode run --help`\n", a);
            return LODE_EXIT_USAGE;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "lode run: more than one FILE ('%s', '%s'): put firmware arguments after --\n", file, a);
            return LODE_EXIT_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "lode run: no firmware FILE given: see `lode run --help`\n");
        return LODE_EXIT_USAGE;
    }
    /* the command line the firmware sees: its name, then the arguments */
    snprintf(cmdline, sizeof cmdline, "%s", file);
    for (; i < argc; i++) {
        size_t l = strlen(cmdline);
        if (l + 1 + strlen(argv[i]) + 1 > sizeof cmdline) {
            fprintf(stderr, "lode run: firmware arguments longer than %zu bytes\n", sizeof cmdline);
            return LODE_EXIT_USAGE;
        }
        snprintf(cmdline + l, sizeof cmdline - l, " %s", argv[i]);
    }

    run_s r = {.uart_stderr = uart_stderr};
    lode_sim_config_s cfg = {.chip = chip, .log = cli->log, .output = uart_out, .output_user = &r};
    int rc = lode_sim_new(&cfg, &r.sim);
    if (rc != LODE_OK)
        return cli_exit_for_error(rc);
    rc = lode_sim_load_elf(r.sim, file);
    if (rc != LODE_OK) {
        lode_sim_free(r.sim);
        return cli_exit_for_error(rc);
    }
    lode_semihost_io_s io = {.mem_read = lode_sim_sh_mem_read, .mem_write = lode_sim_sh_mem_write,
                             .console_write = sh_console_write, .console_read = sh_console_read,
                             .time_us = lode_sim_sh_time_us, .ctx = r.sim};
    lode_semihost_s *sh = NULL;
    rc = lode_semihost_new(&io, cmdline, &sh);
    if (rc != LODE_OK) {
        lode_sim_free(r.sim);
        return LODE_EXIT_SOFTWARE;
    }
    uint64_t limit = (uint64_t)(timeout_s * 1e12);
    int result = LODE_EXIT_OK;
    clock_t c0 = clock();
    lode_sim_program_result_s res;
    rc = lode_sim_run_program(r.sim, sh, limit, &res);
    if (rc == LODE_E_TIMEOUT) {
        fprintf(stderr, "lode run: the firmware did not exit within %.3g s of simulated time "
                        "(pc 0x%08x): raise --timeout or check that it calls SYS_EXIT\n",
                timeout_s, res.pc);
        result = LODE_EXIT_TIMEOUT;
    } else if (rc == LODE_E_STATE && res.stop == LODE_SIM_STOP_HALTED) {
        fprintf(stderr, "lode run: the core halted at pc 0x%08x (DFSR 0x%08x) without exiting\n",
                res.pc, res.dfsr);
        result = LODE_EXIT_TARGET;
    } else if (rc == LODE_E_STATE) {
        fprintf(stderr, "lode run: the core %s at pc 0x%08x: the firmware faulted inside a fault "
                        "handler; run with -v for the simulator's log\n",
                res.stop == LODE_SIM_STOP_LOCKUP ? "locked up" : "stopped with an emulator error",
                res.pc);
        result = LODE_EXIT_TARGET;
    } else if (rc != LODE_OK) {
        fprintf(stderr, "lode run: a semihosting call at pc 0x%08x has a bad parameter block: %s\n",
                res.pc, lode_strerror(rc));
        result = LODE_EXIT_TARGET;
    }
    int exit_code = res.exited ? (res.exit_code & 0xFF) : -1;
    double host_s = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (stats) {
        uint64_t n = lode_sim_instructions(r.sim);
        double vt = (double)lode_sim_now(r.sim) / 1e12;
        fprintf(stderr, "lode run: %llu instructions, %.6f s simulated, %.3f s host, %.1f MIPS\n",
                (unsigned long long)n, vt, host_s, host_s > 0 ? (double)n / host_s / 1e6 : 0.0);
    }
    lode_semihost_free(sh);
    lode_sim_free(r.sim);
    if (exit_code >= 0)
        return exit_code;
    return result;
}
