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

static int sh_mem_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    return lode_sim_mem_read(((run_s *)ctx)->sim, addr, buf, len);
}

static int sh_mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return lode_sim_mem_write(((run_s *)ctx)->sim, addr, buf, len);
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

static uint64_t sh_time_us(void *ctx) { return lode_sim_now(((run_s *)ctx)->sim) / 1000000u; }

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
    lode_semihost_io_s io = {.mem_read = sh_mem_read, .mem_write = sh_mem_write,
                             .console_write = sh_console_write, .console_read = sh_console_read,
                             .time_us = sh_time_us, .ctx = &r};
    lode_semihost_s *sh = NULL;
    rc = lode_semihost_new(&io, cmdline, &sh);
    if (rc != LODE_OK) {
        lode_sim_free(r.sim);
        return LODE_EXIT_SOFTWARE;
    }
    /* attach as a debugger would: debug enabled, so BKPT halts instead of faulting */
    lode_sim_write32(r.sim, 0xE000EDF0u, 0xA05F0001u);

    uint64_t limit = (uint64_t)(timeout_s * 1e12);
    int exit_code = -1;
    int result = LODE_EXIT_OK;
    clock_t c0 = clock();
    for (;;) {
        uint64_t now = lode_sim_now(r.sim);
        if (now >= limit) {
            fprintf(stderr, "lode run: the firmware did not exit within %.3g s of simulated time: "
                            "raise --timeout or check that it calls SYS_EXIT\n", timeout_s);
            result = LODE_EXIT_TIMEOUT;
            break;
        }
        uint64_t slice = limit - now < 100000000000ull ? limit - now : 100000000000ull;
        lode_sim_stop_e st = lode_sim_run(r.sim, slice);
        if (st == LODE_SIM_STOP_BUDGET)
            continue;
        if (st == LODE_SIM_STOP_LOCKUP || st == LODE_SIM_STOP_ERROR) {
            uint32_t pc = 0;
            lode_sim_reg_read(r.sim, 15, &pc);
            fprintf(stderr, "lode run: the core %s (pc 0x%08x): the firmware faulted inside a fault "
                            "handler; run with -v for the simulator's log\n",
                    st == LODE_SIM_STOP_LOCKUP ? "locked up" : "stopped with an emulator error", pc);
            result = LODE_EXIT_TARGET;
            break;
        }
        /* halted: a semihosting call? (BKPT 0xAB at PC) */
        uint32_t pc = 0, r0 = 0, r1 = 0, dfsr = 0;
        uint8_t insn[2] = {0};
        lode_sim_reg_read(r.sim, 15, &pc);
        lode_sim_read32(r.sim, 0xE000ED30u, &dfsr);
        lode_sim_mem_read(r.sim, pc, insn, 2);
        if (!(dfsr & 2) || insn[0] != 0xAB || insn[1] != 0xBE) {
            fprintf(stderr, "lode run: the core halted at pc 0x%08x (DFSR 0x%08x) without exiting\n", pc, dfsr);
            result = LODE_EXIT_TARGET;
            break;
        }
        lode_sim_reg_read(r.sim, 0, &r0);
        lode_sim_reg_read(r.sim, 1, &r1);
        bool exited = false;
        int code = 0;
        uint32_t res = 0;
        rc = lode_semihost_call(sh, r0, r1, &res, &exited, &code);
        if (rc != LODE_OK) {
            fprintf(stderr, "lode run: semihosting call 0x%02x at pc 0x%08x has a bad parameter "
                            "block (0x%08x): %s\n", r0, pc, r1, lode_strerror(rc));
            result = LODE_EXIT_TARGET;
            break;
        }
        if (exited) {
            exit_code = code & 0xFF;
            break;
        }
        lode_sim_reg_write(r.sim, 0, res);
        lode_sim_reg_write(r.sim, 15, pc + 2);
        lode_sim_write32(r.sim, 0xE000ED30u, 0x1Fu);      /* clear DFSR */
        lode_sim_write32(r.sim, 0xE000EDF0u, 0xA05F0001u); /* resume */
    }
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
