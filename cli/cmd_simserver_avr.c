/* SPDX-License-Identifier: MIT */
/* `lode sim-server --board uno --serial-pty PATH`: a simulated Arduino board (the real
 * bootloader on simavr, liblode-avrsim) behind a pseudo-terminal, for lode and outside tools
 * (avrdude -c arduino -P PATH). Opening the port resets the board. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "lode/avrsim.h"
#include "lode/error.h"
#include "target.h"

static volatile sig_atomic_t g_stop_avr;

static void on_signal(int sig)
{
    (void)sig;
    g_stop_avr = 1;
}

typedef struct served_s {
    unsigned sessions;
    cli_target_s *t;
} served_s;

/* after every session the board's flash and EEPROM go to the state file (a server stopped by
 * SIGKILL loses nothing a client saw written) */
static void on_session(void *user, const lode_avrsim_session_s *s)
{
    served_s *v = user;
    v->sessions = s->id;
    int rc = cli_target_save_board(v->t);
    if (rc != LODE_OK)
        fprintf(stderr, "lode sim-server: cannot save the simulated board to %s: %s\n", v->t->sim_state_path,
                lode_strerror(rc));
    fprintf(stderr, "lode sim-server: session %u closed: %llu bytes in, %llu out, %.6f s of simulated time\n", s->id,
            (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out, (double)s->sim_us / 1e6);
    fflush(stderr);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lode sim-server --board uno|mega2560|leonardo --serial-pty PATH [--bootloader FILE]\n"
            "                       [--sim-state FILE] [--sim-fresh] [--sysfs DIR]\n"
            "                       [--uart-overrun]\n"
            "\n"
            "Serve a simulated Arduino Uno (optiboot 4.4) or Mega 2560 (the STK500v2 wiring\n"
            "bootloader), the real bootloaders from Debian's arduino-core-avr running on simavr, on\n"
            "a pseudo-terminal linked at PATH:\n"
            "  lode flash app.hex --probe arduino:PATH      (--board mega2560: wiring:PATH)\n"
            "  avrdude -c arduino -p m328p -P PATH -b 115200 -U flash:w:app.hex:i\n"
            "  avrdude -c wiring -p m2560 -P PATH -b 115200 -D -U flash:w:app.hex:i\n"
            "Each open of the port resets the board into its bootloader (the Arduino auto-reset).\n"
            "Flash and EEPROM are kept in the state file the other commands use for the board\n"
            "(--sim-state FILE, default $LODE_SIM_STATE_DIR or ~/.cache/lode/sim-CHIP.state;\n"
            "--sim-fresh starts erased, the bootloader burnt again), saved after every session.\n"
            "Bytes take their ten bit times both ways; SPM page erases/writes take 4.5 ms.\n"
            "--uart-overrun: bytes the USART cannot buffer (two, and one in its shift register)\n"
            "are lost, as on the chip (by default they wait for room).\n"
            "\n"
            "--board leonardo: an ATmega32U4 running lode's own AVR109 test bootloader (4 KiB at\n"
            "0x7000, on USART1 at 500 kbaud standing in for the USB CDC port). The port is the\n"
            "board's USB port: opening it does not reset the board; the 1200-baud touch (the port held\n"
            "or closed at 1200 baud while the sketch runs) resets it into the bootloader, and the port\n"
            "is replaced by a new pty (linked at PATH again), as the bootloader re-enumerates as\n"
            "another USB device; the bootloader starting the sketch ('E', 8 s without a byte)\n"
            "replaces it again. --sysfs DIR publishes the port in a sysfs tree (the sketch as USB\n"
            "2341:8036, the bootloader as 2341:0036) for lode's LODE_SYSFS_ROOT=DIR:\n"
            "  LODE_SYSFS_ROOT=DIR lode flash app.hex --probe avr109:PATH   (touch + find by USB ID)\n"
            "  stty -F PATH 1200; avrdude -c avr109 -p m32u4 -P PATH -U flash:w:app.hex:i\n"
            "It prints one line per session on stderr (bytes each way, simulated time). Ctrl-C\n"
            "stops it.\n");
}

bool cli_simserver_is_avr(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--board") || !strcmp(argv[i], "--serial-pty"))
            return true;
    return false;
}

static void avr_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    usage(f);
}

static void avr_unknown(const char *cmd, const char *arg, bool missing)
{
    (void)missing;
    fprintf(stderr, "lode %s: unknown argument '%s' with --board: see lode %s --help\n", cmd, arg, cmd);
}

int cli_cmd_simserver_avr(cli_ctx_s *cli, int argc, char **argv)
{
    const char *board = NULL, *pty = NULL, *boot = NULL, *state = NULL, *sysfs = NULL;
    bool fresh = false, overrun = false;
    const cli_opt_s opts[] = {
        {.name = "--board", .nval = 1, .val = &board},
        {.name = "--serial-pty", .nval = 1, .val = &pty},
        {.name = "--bootloader", .nval = 1, .val = &boot},
        {.name = "--sim-state", .nval = 1, .val = &state},
        {.name = "--sim-fresh", .flag = &fresh, .set = true},
        {.name = "--sysfs", .nval = 1, .val = &sysfs},
        {.name = "--uart-overrun", .flag = &overrun, .set = true},
        {0},
    };
    const cli_args_spec_s spec = {.cmd = "sim-server", .usage = avr_usage, .opts = opts, .unknown = avr_unknown};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    if (!board || !pty) {
        fprintf(stderr, "lode sim-server: a simulated Arduino needs --board NAME and --serial-pty PATH (boards: uno, mega2560, leonardo)\n");
        return LODE_EXIT_USAGE;
    }
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    to.sim_state = state;
    to.sim_fresh = fresh;
    cli_target_s t;
    int rc;
    ex = cli_target_open_avr_board(cli, &to, board, boot, overrun, &t);
    if (ex != LODE_EXIT_OK)
        return ex;
    lode_avrsim_s *sim = t.avrsim;
    if (sysfs && (!lode_avrsim_is_usb(sim) || lode_avrsim_set_sysfs(sim, sysfs) != LODE_OK)) {
        fprintf(stderr, "lode sim-server: --sysfs is for USB boards (leonardo), with a path shorter than 200 bytes\n");
        cli_target_close(&t);
        return LODE_EXIT_USAGE;
    }
    char name[128];
    if ((rc = lode_avrsim_pty_open(sim, pty, name, sizeof name)) != LODE_OK) {
        cli_target_close(&t);
        return rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_UNAVAILABLE;
    }
    printf("lode sim-server: simulated %s (%s) on %s -> %s at %u baud\n", board, lode_avrsim_chip(sim), pty, name,
           lode_avrsim_baud(sim));
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    served_s v = {.t = &t};
    lode_avrsim_pty_serve(sim, &g_stop_avr, on_session, &v);
    fprintf(stderr, "lode sim-server: %u sessions, %.3f s of simulated time\n", v.sessions,
            (double)lode_avrsim_time_us(sim) / 1e6);
    return cli_target_close(&t); /* saved once more */
}
