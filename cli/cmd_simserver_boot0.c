/* SPDX-License-Identifier: MIT */
/* `lode sim-server --chip STM32F103C8 --boot0 --serial-pty PATH`: the simulated STM32F103
 * started with BOOT0 high, its system bootloader (AN3155 on USART1, liblode-sim's model) behind
 * a pseudo-terminal, for lode (--probe stm32-uart:PATH) and outside tools (stm32flash -m 8n1).
 * Opening the port resets the board into the bootloader; the flash is kept in the state file
 * as for the other commands (saved when the server stops). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "target.h"

static volatile sig_atomic_t g_stop_boot0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop_boot0 = 1;
}

static void on_session(void *user, const lode_sim_an3155_stats_s *s)
{
    *(unsigned *)user = s->sessions;
    fprintf(stderr, "lode sim-server: session %u closed: %llu bytes in, %llu out, %.6f s of simulated time\n",
            s->sessions, (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
            (double)s->session_ps / 1e12);
    fflush(stderr);
}

static void usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fprintf(f,
            "usage: lode sim-server --boot0 --serial-pty PATH [--chip STM32F103C8 | --board bluepill]\n"
            "                       [--sim-state FILE] [--sim-fresh] [--extended-erase]\n"
            "\n"
            "Serve the simulated STM32F103 started with BOOT0 high: its system bootloader (ST AN3155,\n"
            "version 2.2, on USART1) on a pseudo-terminal linked at PATH:\n"
            "  lode flash app.bin --base 0x08000000 --probe stm32-uart:PATH --parity none\n"
            "  stm32flash -m 8n1 -b 115200 -w app.bin -v PATH\n"
            "A pseudo-terminal carries no parity: tools must use 8N1 on it (the model takes the bytes\n"
            "as they come). Each open of the port resets the board into the bootloader (an adapter\n"
            "wired to RESET with BOOT0 held high). After Go the application runs in real time, its\n"
            "USART1 on the port. --extended-erase offers Extended Erase (0x44) instead of Erase\n"
            "(0x43), as later chips' bootloaders do. One line per session on stderr; Ctrl-C stops\n"
            "it and saves the simulated flash.\n");
}

bool cli_simserver_is_boot0(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--boot0"))
            return true;
    return false;
}

int cli_cmd_simserver_boot0(cli_ctx_s *cli, int argc, char **argv)
{
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    const char *pty = NULL;
    bool boot0 = false, ext = false;
    const cli_opt_s opts[] = {
        {.name = "--boot0", .flag = &boot0, .set = true},
        {.name = "--serial-pty", .nval = 1, .val = &pty},
        {.name = "--extended-erase", .flag = &ext, .set = true},
        {0},
    };
    const cli_args_spec_s spec = {.cmd = "sim-server", .usage = usage, .opts = opts, .target = &to};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    if (!pty) {
        fprintf(stderr, "lode sim-server: --boot0 serves the bootloader on a pseudo-terminal: give --serial-pty PATH\n");
        return LODE_EXIT_USAGE;
    }
    if (strcmp(to.probe, "sim") != 0) {
        fprintf(stderr, "lode sim-server: serves the simulated board only (no --probe)\n");
        return LODE_EXIT_USAGE;
    }
    cli_target_s t;
    if ((ex = cli_target_open_board(cli, &to, &t)) != LODE_EXIT_OK)
        return ex;
    lode_sim_an3155_config_s cfg = {.extended_erase = ext, .log = cli->log};
    lode_sim_an3155_s *m = NULL;
    int rc = lode_sim_an3155_new(t.sim, &cfg, &m);
    if (rc != LODE_OK) {
        fprintf(stderr, "lode sim-server: the simulated %s has no AN3155 bootloader model: --boot0 works with "
                        "--chip STM32F103C8\n", lode_sim_chip_name(t.sim));
        cli_target_close(&t);
        return LODE_EXIT_UNAVAILABLE;
    }
    char name[128];
    if ((rc = lode_sim_an3155_pty_open(m, pty, name, sizeof name)) != LODE_OK) {
        lode_sim_an3155_free(m);
        cli_target_close(&t);
        return rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_UNAVAILABLE;
    }
    printf("lode sim-server: simulated %s with BOOT0 high: system bootloader (AN3155) on %s -> %s\n",
           lode_sim_chip_name(t.sim), pty, name);
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    unsigned sessions = 0;
    lode_sim_an3155_pty_serve(m, &g_stop_boot0, on_session, &sessions);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    fprintf(stderr, "lode sim-server: %u sessions\n", sessions);
    lode_sim_an3155_free(m);
    return cli_target_close(&t);
}
