/* SPDX-License-Identifier: MIT */
/* `lode gdb`: a GDB server (remote protocol) on the target, the simulated board by default. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/gdbserver.h"
#include "lode/semihost.h"
#include "target.h"

static volatile int g_gdb_stop;

static void gdb_sigint(int sig)
{
    (void)sig;
    g_gdb_stop = 1;
}

static void gdb_usage(FILE *f)
{
    fprintf(f,
            "usage: lode gdb [options] [FILE]\n"
            "\n"
            "Halt the target and serve GDB's remote protocol on it, one client at a time:\n"
            "  gdb-multiarch -ex 'target extended-remote 127.0.0.1:3333' FILE.elf\n"
            "Hardware breakpoints and watchpoints, Ctrl-C, semihosting served while the target\n"
            "runs (output on stdout), `monitor reset`, `monitor reset halt`, `monitor halt`.\n"
            "FILE (optional) is only the firmware's semihosting command line; load it with\n"
            "`lode flash` first. A second client while one is connected is closed at once.\n"
            "\n"
            "  --port N                 TCP port (default 3333; 0 picks a free one)\n"
            "  --bind ADDR              address to listen on (default 127.0.0.1: this machine\n"
            "                           only; 0.0.0.0 lets other hosts in, without any password)\n"
            "  --once                   exit after the first client detaches or disconnects\n"
            "  --semihosting-root DIR   directory semihosting file access is confined to (default .)\n"
            "\n%s",
            cli_target_options_help());
}

static void on_listening(void *user, const char *addr, int port)
{
    (void)user;
    fprintf(stderr, "lode gdb: listening on %s:%d\n", addr, port);
    fflush(stderr);
}

static void sh_console_write(void *ctx, int fd, const uint8_t *data, size_t len)
{
    (void)ctx;
    FILE *f = fd == 2 ? stderr : stdout;
    fwrite(data, 1, len, f);
    fflush(f);
}

static uint64_t sh_time_us(void *ctx)
{
    const lode_core_ops_s *c = ctx;
    return c->now_us(c->ctx);
}

static int sh_mem_read(void *ctx, uint32_t a, void *b, size_t n)
{
    const lode_core_ops_s *c = ctx;
    return c->mem_read(c->ctx, a, b, n);
}

static int sh_mem_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    const lode_core_ops_s *c = ctx;
    return c->mem_write(c->ctx, a, b, n);
}

int cli_cmd_gdb(cli_ctx_s *cli, int argc, char **argv)
{
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    const char *file = NULL, *bind_addr = "127.0.0.1", *root = ".";
    long port = 3333;
    bool once = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_target_option(&to, argc, argv, &i);
        if (r < 0)
            return LODE_EXIT_USAGE;
        if (r > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            gdb_usage(stdout);
            return LODE_EXIT_OK;
        } else if (!strcmp(a, "--port") && i + 1 < argc) {
            char *end;
            port = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || port < 0 || port > 65535) {
                fprintf(stderr, "lode gdb: --port wants a TCP port 0-65535, got '%s'\n", argv[i]);
                return LODE_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--bind") && i + 1 < argc) {
            bind_addr = argv[++i];
        } else if (!strcmp(a, "--once")) {
            once = true;
        } else if (!strcmp(a, "--semihosting-root") && i + 1 < argc) {
            root = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "lode gdb: unknown option '%s': see `lode gdb --help`\n", a);
            return LODE_EXIT_USAGE;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "lode gdb: more than one FILE ('%s', '%s')\n", file, a);
            return LODE_EXIT_USAGE;
        }
    }

    cli_target_s t;
    int ex = cli_target_open(cli, &to, false, &t);
    if (ex != LODE_EXIT_OK)
        return ex;
    int rc = t.core.halt(t.core.ctx);
    if (rc != LODE_OK) {
        fprintf(stderr, "lode gdb: cannot halt the core: %s\n", lode_strerror(rc));
        cli_target_close(&t);
        return LODE_EXIT_UNAVAILABLE;
    }
    bool fpu = false;
    if (t.session) {
        lode_cortexm_s *cm = lode_session_cortexm(t.session);
        const lode_cortexm_info_s *info = cm ? lode_cortexm_info(cm) : NULL;
        fpu = info && info->fpu;
    }

    lode_semihost_io_s io = {.mem_read = sh_mem_read, .mem_write = sh_mem_write,
                             .console_write = sh_console_write, .time_us = sh_time_us,
                             .ctx = &t.core};
    lode_semihost_config_s shc = {.cmdline = file ? file : "", .root = root, .log = cli->log};
    lode_semihost_s *sh = NULL;
    if ((rc = lode_semihost_new2(&io, &shc, &sh)) != LODE_OK) {
        cli_target_close(&t);
        return LODE_EXIT_USAGE;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = gdb_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    lode_gdbserver_config_s gc = {.core = &t.core, .sh = sh, .fpu = fpu, .chip = t.chip, .stop = &g_gdb_stop,
                                  .on_listening = on_listening, .log = cli->log};
    rc = lode_gdbserver_listen(&gc, bind_addr, (int)port, once ? 1u : 0u);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc == LODE_E_INVALID_ARG)
        ex = LODE_EXIT_USAGE;
    else if (rc == LODE_E_IO)
        ex = LODE_EXIT_UNAVAILABLE;
    else if (rc != LODE_OK) {
        fprintf(stderr, "lode gdb: lost the target: %s\n", lode_strerror(rc));
        ex = LODE_EXIT_UNAVAILABLE;
    }
    lode_semihost_free(sh);
    cli_target_close(&t);
    return ex;
}
