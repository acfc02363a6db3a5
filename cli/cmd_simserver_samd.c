/* SPDX-License-Identifier: MIT */
/* `lode sim-server --board zero --serial-pty PATH`: the simulated Arduino Zero (ATSAMD21G18A)
 * with lode's own SAM-BA bootloader, its line (SERCOM5, standing for the native USB port)
 * behind a pseudo-terminal for lode (--probe sam-ba:PATH) and bossac. Name the link so that it
 * contains "ttyACM": bossac treats only such ports as USB CDC (raw S/R data, which the
 * bootloader speaks); any other name makes it use the UART mode (XMODEM), which it does not.
 * The flash and the user row are kept in the state file as for the other commands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "target.h"

static volatile sig_atomic_t g_stop_samd;

static void on_signal(int sig)
{
    (void)sig;
    g_stop_samd = 1;
}

typedef struct samd_server_s {
    cli_target_s *t;
    unsigned sessions, touches;
} samd_server_s;

static void on_session(void *user, const lode_sim_serial_stats_s *s)
{
    samd_server_s *c = user;
    c->sessions = s->sessions;
    fprintf(stderr,
            "lode sim-server: session %u closed: %llu bytes in, %llu out, %.6f s of simulated time, %.3f s of wall "
            "time%s\n",
            s->sessions, (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out, (double)s->session_ps / 1e12,
            (double)s->wall_ns / 1e9, s->touches != c->touches ? "; closed at 1200 baud: the 1200-baud touch, reset into the bootloader" : "");
    c->touches = s->touches;
    fflush(stderr);
    if (cli_target_save_board(c->t) != LODE_OK)
        fprintf(stderr, "lode sim-server: cannot save the board's state to %s\n", c->t->sim_state_path);
}

static void usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fprintf(f,
            "usage: lode sim-server --board zero --serial-pty PATH [--sim-state FILE] [--sim-fresh]\n"
            "\n"
            "Serve a simulated Arduino Zero (ATSAMD21G18A) with lode's SAM-BA bootloader (8 KiB at 0x0000,\n"
            "BOOTPROT protecting them, the sketch at 0x2000) on a pseudo-terminal linked at PATH:\n"
            "  lode flash app.bin --base 0x2000 --probe sam-ba:PATH\n"
            "  bossac -p PATH -i\n"
            "  bossac -p PATH --offset=0x2000 -e -w -v -R app.bin\n"
            "PATH must contain \"ttyACM\" (e.g. /tmp/sim-ttyACM0) for bossac to take the port as the\n"
            "board's USB CDC port. Opening the port does not reset the board; closing it at 1200 baud\n"
            "(the 1200-baud touch) resets it into the bootloader. The bootloader stays when there is no\n"
            "valid sketch, after the touch or a double tap of RESET; otherwise it starts the sketch,\n"
            "whose console (SERCOM5) is then on the port. One line per session on stderr; the flash is\n"
            "saved after each session and when Ctrl-C stops the server.\n");
}

/* --board zero (or arduino-zero) among the arguments */
bool cli_simserver_is_samd(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--board") && (!strcasecmp(argv[i + 1], "zero") || !strcasecmp(argv[i + 1], "arduino-zero")))
            return true;
    return false;
}

int cli_cmd_simserver_samd(cli_ctx_s *cli, int argc, char **argv)
{
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    const char *pty = NULL;
    const cli_opt_s opts[] = {
        {.name = "--serial-pty", .nval = 1, .val = &pty},
        {0},
    };
    const cli_args_spec_s spec = {.cmd = "sim-server", .usage = usage, .opts = opts, .target = &to};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    if (!pty) {
        fprintf(stderr, "lode sim-server: --board zero serves the board's port on a pseudo-terminal: give "
                        "--serial-pty PATH (with \"ttyACM\" in it for bossac)\n");
        return LODE_EXIT_USAGE;
    }
    /* the board's row names sam-ba as its probe: here the board itself is served */
    to.probe = "sim";
    to.chip = "ATSAMD21G18A";
    to.board = NULL;
    cli_target_s t;
    if ((ex = cli_target_open_board(cli, &to, &t)) != LODE_EXIT_OK)
        return ex;
    lode_sim_serial_config_s sc = {.port = "SERCOM5", .log = cli->log};
    lode_sim_serial_s *line = NULL;
    int rc = lode_sim_serial_new(t.sim, &sc, &line);
    if (rc != LODE_OK) {
        cli_target_close(&t);
        return LODE_EXIT_UNAVAILABLE;
    }
    char name[128];
    if ((rc = lode_sim_serial_pty_open(line, pty, name, sizeof name)) != LODE_OK) {
        lode_sim_serial_free(line);
        cli_target_close(&t);
        return rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_UNAVAILABLE;
    }
    if (!strstr(pty, "ttyACM"))
        fprintf(stderr, "lode sim-server: note: bossac takes %s for a UART (XMODEM, which the bootloader does not "
                        "speak); a name with \"ttyACM\" in it makes it a USB CDC port\n", pty);
    printf("lode sim-server: simulated Arduino Zero (ATSAMD21G18A, lode's SAM-BA bootloader) on %s -> %s\n", pty,
           name);
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    samd_server_s c = {.t = &t};
    lode_sim_serial_pty_serve(line, &g_stop_samd, on_session, &c);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    fprintf(stderr, "lode sim-server: %u sessions\n", c.sessions);
    lode_sim_serial_free(line);
    return cli_target_close(&t);
}
