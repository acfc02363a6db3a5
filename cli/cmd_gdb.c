/* SPDX-License-Identifier: MIT */
/* `lode gdb`: a GDB server (remote protocol) on the target, the simulated board by default. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "sh_io.h"
#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/gdbserver.h"
#include "lode/image.h"
#include "lode/rtt.h"
#include "lode/semihost.h"
#include "target.h"

static volatile int g_gdb_stop;

static void gdb_sigint(int sig)
{
    (void)sig;
    g_gdb_stop = 1;
}

static void gdb_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fprintf(f,
            "usage: lode gdb [options] [FILE]\n"
            "\n"
            "Halt the target and serve GDB's remote protocol on it, one client at a time:\n"
            "  gdb-multiarch -ex 'target extended-remote 127.0.0.1:3333' FILE.elf\n"
            "GDB's `load` programs flash through lode's flash loader. Hardware breakpoints (and\n"
            "software ones in RAM), watchpoints, Ctrl-C; semihosting and RTT up channels are\n"
            "shown on stdout while the target runs. `monitor help` lists the monitor commands.\n"
            "FILE (optional) is the firmware's semihosting command line; its _SEGGER_RTT symbol\n"
            "locates RTT (else the RAM is scanned). A second client while one is connected is\n"
            "closed at once.\n"
            "\n"
            "  --port N                 TCP port (default 3333; 0 picks a free one)\n"
            "  --bind ADDR              address to listen on (default 127.0.0.1: this machine\n"
            "                           only; 0.0.0.0 lets other hosts in, without any password)\n"
            "  --once                   exit after the first client detaches or disconnects\n"
            "  --semihosting-root DIR   directory semihosting file access is confined to (default .)\n"
            "  --no-rtt                 leave RTT to the client (no RTT output on lode's terminal)\n"
            "  --semihosting gdb|lode|off  console and file calls go to GDB as File-I/O (gdb),\n"
            "                           lode serves every call itself (lode, the default), or\n"
            "                           BKPT 0xAB stops with SIGTRAP for the client to serve (off)\n"
            "\n");
    cli_target_options_help(f);
}

static void on_listening(void *user, const char *addr, int port)
{
    (void)user;
    fprintf(stderr, "lode gdb: listening on %s:%d\n", addr, port);
    fflush(stderr);
}

static void rtt_to_stdout(void *user, unsigned channel, const uint8_t *data, size_t len)
{
    (void)user;
    (void)channel;
    fwrite(data, 1, len, stdout);
    fflush(stdout);
}

typedef struct gdb_opts_s {
    long port;
    bool sh_gdb, sh_off;
} gdb_opts_s;

static bool gdb_port(void *user, const char *cmd, char *const *v)
{
    gdb_opts_s *g = user;
    char *end;
    g->port = strtol(v[0], &end, 10);
    if (*end || end == v[0] || g->port < 0 || g->port > 65535) {
        fprintf(stderr, "lode %s: --port wants a TCP port 0-65535, got '%s'\n", cmd, v[0]);
        return false;
    }
    return true;
}

static bool gdb_semihosting(void *user, const char *cmd, char *const *v)
{
    gdb_opts_s *g = user;
    const char *m = v[0];
    if (strcmp(m, "gdb") && strcmp(m, "lode") && strcmp(m, "off")) {
        fprintf(stderr, "lode %s: --semihosting is gdb, lode or off, got '%s'\n", cmd, m);
        return false;
    }
    g->sh_gdb = !strcmp(m, "gdb");
    g->sh_off = !strcmp(m, "off");
    return true;
}

int cli_cmd_gdb(cli_ctx_s *cli, int argc, char **argv)
{
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    const char *file = NULL, *bind_addr = "127.0.0.1", *root = ".";
    gdb_opts_s g = {.port = 3333};
    bool once = false, no_rtt = false;
    const cli_opt_s opts[] = {
        {"--port", 1, .fn = gdb_port},
        {"--bind", 1, .val = &bind_addr},
        {"--once", 0, .flag = &once, .set = true},
        {"--no-rtt", 0, .flag = &no_rtt, .set = true},
        {"--semihosting", 1, .fn = gdb_semihosting},
        {"--semihosting-root", 1, .val = &root},
        {NULL, 0, NULL, false, NULL, NULL, NULL, false},
    };
    const cli_args_spec_s spec = {"gdb", gdb_usage, opts, &g, &to, &file, 1, "more than one FILE", false, false, false, NULL, false};
    int npos, rest;
    int pex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (pex >= 0)
        return pex;
    long port = g.port;
    bool sh_gdb = g.sh_gdb, sh_off = g.sh_off;

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
    lode_cortexm_s *cm = lode_session_cortexm(t.session);
    const lode_cortexm_info_s *cinfo = cm ? lode_cortexm_info(cm) : NULL;
    bool fpu = cinfo && cinfo->fpu;

    lode_semihost_config_s shc = {.io = cli_semihost_io(&t.core), .cmdline = file ? file : "",
                                  .root = root, .log = cli->log};
    lode_semihost_s *sh = NULL;
    if ((rc = lode_semihost_new(&shc, &sh)) != LODE_OK) {
        cli_target_close(&t);
        return LODE_EXIT_USAGE;
    }

    /* RTT: the FILE's _SEGGER_RTT when it is an ELF with one, else a scan of the chip's RAM */
    lode_rtt_config_s rcfg;
    memset(&rcfg, 0, sizeof rcfg);
    lode_rtt_range_s ranges[8];
    size_t nranges = lode_rtt_ranges_for_chip(t.chip, ranges, 8);
    if (file) {
        lode_log_s quiet = cli->log;
        quiet.fn = NULL;
        lode_image_s *img = NULL;
        if (lode_image_load_file(file, LODE_IMAGE_AUTO, 0, false, &quiet, &img) == LODE_OK) {
            const lode_symbol_s *rs = lode_image_find_symbol(img, "_SEGGER_RTT");
            rcfg.cb_addr = rs ? rs->value : 0;
            lode_image_free(img);
        }
    }
    rcfg.ranges = ranges;
    rcfg.nranges = nranges;
    rcfg.log = cli->log;
    if (!cli->verbose)
        rcfg.log.fn = NULL; /* firmware without RTT is normal */
    lode_rtt_s *rtt = NULL;
    if (no_rtt || lode_rtt_new(&t.core, &rcfg, &rtt) != LODE_OK)
        rtt = NULL;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = gdb_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    lode_gdbserver_config_s gc = {.core = &t.core, .sh = sh, .sh_gdb = sh_gdb, .sh_off = sh_off, .fpu = fpu, .chip = t.chip, .rtt = rtt,
                                  .rtt_out = rtt_to_stdout, .stop = &g_gdb_stop,
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
    lode_rtt_free(rtt);
    lode_semihost_free(sh);
    cli_target_close(&t);
    return ex;
}
