/* SPDX-License-Identifier: MIT */
/* `lode sim-server`: the simulated board behind a simulated probe, served to outside programs
 * (OpenOCD's "st-link backend tcp", another lode with --probe stlink-tcp:...). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/image.h"
#include "lode/sim.h"
#include "out.h"
#include "target.h"

static volatile sig_atomic_t g_stop; /* set by SIGINT/SIGTERM: the only way out of the loop */

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Ctrl-C / SIGTERM end the serving loop (on), or kill again (off) */
static void catch_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

typedef struct server_ctx_s {
    unsigned sessions;
    unsigned once;
} server_ctx_s;

static void on_session(void *user, const lode_sim_stlink_session_s *s)
{
    server_ctx_s *c = user;
    c->sessions++;
    fprintf(stderr, "lode sim-server: session %u closed: %llu ST-Link commands, %.6f s of simulated time\n",
            s->id, (unsigned long long)s->commands, (double)s->virtual_ps / 1e12);
    fflush(stderr);
}

static void usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fprintf(f,
            "usage: lode sim-server --stlink-tcp PORT [--stlink-version V2J37|V3J7|...] [--bind ADDR]\n"
            "                       [--once] [--no-idle]\n"
            "                       [--chip NAME] [--sim-state FILE] [--sim-fresh]\n"
            "       lode sim-server --uf2-dir DIR [--chip NAME] [--sim-state FILE]\n"
            "       lode sim-server --board uno --serial-pty PATH   (a simulated Arduino: --board uno --help)\n"
            "       lode sim-server --boot0 --serial-pty PATH       (the STM32F103's bootloader: --boot0 --help)\n"
            "       lode sim-server --board zero --serial-pty PATH  (a simulated Arduino Zero: --board zero --help)\n"
            "\n"
            "Serve the simulated board behind a simulated ST-Link (default: ST-Link/V2, USB 0483:3748,\n"
            "firmware V2J37S7) over the stlink-server TCP protocol, for any outside tool:\n"
            "  openocd -f interface/stlink-dap.cfg -c 'st-link backend tcp PORT' \\\n"
            "          -c 'transport select dapdirect_swd' -f target/stm32f1x.cfg\n"
            "  lode flash fw.elf --probe stlink-tcp:127.0.0.1:PORT\n"
            "\n"
            "  --stlink-tcp PORT   TCP port (ST's stlink-server uses 7184; 0 = any free port)\n"
            "  --stlink-version V  the probe simulated: V2Jnn (ST-Link/V2, default V2J37) or V3Jn\n"
            "                      (STLINK-V3, high-speed USB); older firmware lacks later commands\n"
            "  --bind ADDR         listen address (default 127.0.0.1)\n"
            "  --once              exit after the first client closes the ST-Link\n"
            "  --no-idle           the board's clock moves only with probe traffic (deterministic\n"
            "                      figures for benchmarks); by default a running core keeps\n"
            "                      running in real time while no client talks to the probe\n"
            "  --uf2-dir DIR       instead: the board's UF2 bootloader drive in DIR (INFO_UF2.TXT,\n"
            "                      CURRENT.UF2); a UF2 file written there is flashed (blocks in any\n"
            "                      order, repeated or mixed with junk), then the drive vanishes for\n"
            "                      0.5 s: lode flash --probe uf2:DIR, or cp fw.uf2 DIR/\n"
            "  --chip, --sim-state, --sim-fresh, --speed   as for the other commands\n"
            "\n"
            "It prints the port once it listens, and one line per client session (commands and\n"
            "simulated time) on stderr. Ctrl-C stops it and saves the simulated flash.\n");
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct simserver_opts_s {
    uint32_t port;
    bool have_port;
    uint8_t hw, jv;
} simserver_opts_s;

static bool opt_stlink_tcp(void *user, const char *cmd, char *const *v)
{
    simserver_opts_s *o = user;
    if (!cli_parse_u32(v[0], &o->port) || o->port > 65535) {
        fprintf(stderr, "lode %s: --stlink-tcp wants a TCP port 0..65535, got '%s'\n", cmd, v[0]);
        return false;
    }
    o->have_port = true;
    return true;
}

static bool opt_stlink_version(void *user, const char *cmd, char *const *v)
{
    simserver_opts_s *o = user;
    if (!lode_sim_stlink_parse_version(v[0], &o->hw, &o->jv)) {
        fprintf(stderr, "lode %s: --stlink-version is V2Jnn or V3Jn (e.g. V2J37), got '%s'\n", cmd, v[0]);
        return false;
    }
    return true;
}

/* the board's UF2 drive in a directory, looked at every 50 ms until Ctrl-C */
static int serve_uf2(cli_ctx_s *cli, cli_target_opts_s *to, const char *dir)
{
    if (strcmp(to->probe, "sim") != 0) {
        fprintf(stderr, "lode sim-server: serves the simulated board only (no --probe)\n");
        return LODE_EXIT_USAGE;
    }
    cli_target_s t;
    int ex = cli_target_open_board(cli, to, &t);
    if (ex != LODE_EXIT_OK)
        return ex;
    lode_sim_uf2_drive_s *drv = NULL;
    int rc = lode_sim_uf2_drive_new(t.sim, dir, &cli->log, &drv);
    if (rc != LODE_OK) {
        cli_target_close(&t);
        return rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_NOINPUT;
    }
    uint32_t fam = 0;
    bool has_fam = lode_sim_uf2_drive_family(drv, &fam);
    printf("lode sim-server: simulated %s as a UF2 drive in %s (family %s 0x%08x)\n", lode_sim_chip_name(t.sim), dir,
           has_fam && lode_uf2_family_name(fam) ? lode_uf2_family_name(fam) : "none", fam);
    fflush(stdout);
    catch_signals(true);
    while (!g_stop && rc == LODE_OK) {
        size_t flashed = 0;
        rc = lode_sim_uf2_drive_poll(drv, &flashed);
        if (flashed) {
            fprintf(stderr, "lode sim-server: UF2 drive: %zu blocks flashed\n", flashed);
            fflush(stderr);
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    catch_signals(false);
    lode_sim_uf2_drive_free(drv);
    ex = cli_target_close(&t);
    return rc != LODE_OK ? LODE_EXIT_NOINPUT : ex;
}

int cli_cmd_simserver(cli_ctx_s *cli, int argc, char **argv)
{
    if (cli_simserver_is_boot0(argc, argv))
        return cli_cmd_simserver_boot0(cli, argc, argv);
    if (cli_simserver_is_samd(argc, argv))
        return cli_cmd_simserver_samd(cli, argc, argv);
    if (cli_simserver_is_avr(argc, argv))
        return cli_cmd_simserver_avr(cli, argc, argv);
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    simserver_opts_s o = {.hw = 2};
    bool once = false, idle = true;
    const char *bind_addr = NULL, *uf2_dir = NULL;
    const cli_opt_s opts[] = {
        {"--uf2-dir", 1, .val = &uf2_dir},
        {"--stlink-tcp", 1, .fn = opt_stlink_tcp},
        {"--stlink-version", 1, .fn = opt_stlink_version},
        {"--bind", 1, .val = &bind_addr},
        {"--once", 0, .flag = &once, .set = true},
        {"--no-idle", 0, .flag = &idle, .set = false},
        {NULL, 0, NULL, false, NULL, NULL, NULL, false},
    };
    const cli_args_spec_s spec = {"sim-server", usage, opts, &o, &to, NULL, 0, NULL, false, false, false, NULL, false};
    int npos, rest;
    int pex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (pex >= 0)
        return pex;
    uint32_t port = o.port;
    bool have_port = o.have_port;
    uint8_t hw = o.hw, jv = o.jv;
    if (uf2_dir && have_port) {
        fprintf(stderr, "lode sim-server: --uf2-dir and --stlink-tcp are two servers: start one of each\n");
        return LODE_EXIT_USAGE;
    }
    if (uf2_dir)
        return serve_uf2(cli, &to, uf2_dir);
    if (!have_port) {
        fprintf(stderr, "lode sim-server: say which probe to serve: --stlink-tcp PORT or --uf2-dir DIR (see --help)\n");
        return LODE_EXIT_USAGE;
    }
    if (strcmp(to.probe, "sim") != 0) {
        fprintf(stderr, "lode sim-server: serves the simulated board only (no --probe)\n");
        return LODE_EXIT_USAGE;
    }
    cli_target_s t;
    int ex = cli_target_open_board(cli, &to, &t);
    if (ex != LODE_EXIT_OK)
        return ex;
    lode_sim_stlink_config_s stc = {.log = cli->log, .hw_version = hw, .jtag_version = jv};
    lode_sim_stlink_s *st = NULL;
    lode_sim_stlink_server_s *srv = NULL;
    int rc = lode_sim_stlink_new(t.sim, &stc, &st);
    if (rc == LODE_OK)
        rc = lode_sim_stlink_server_new(st, bind_addr, (uint16_t)port, &cli->log, &srv);
    if (rc != LODE_OK) {
        if (rc != LODE_E_ACCESS && rc != LODE_E_INVALID_ARG)
            fprintf(stderr, "lode sim-server: %s\n", lode_strerror(rc));
        lode_sim_stlink_free(st);
        cli_target_close(&t);
        return rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_UNAVAILABLE;
    }
    server_ctx_s ctx = {0};
    lode_sim_stlink_server_on_session(srv, on_session, &ctx);
    printf("lode sim-server: simulated %s behind a simulated %s (V%uJ%u), stlink-server "
           "protocol on %s:%u\n",
           lode_sim_chip_name(t.sim), hw == 3 ? "STLINK-V3" : "ST-Link/V2", hw,
           jv ? jv : (hw == 3 ? 7u : 37u), bind_addr ? bind_addr : "127.0.0.1",
           lode_sim_stlink_server_port(srv));
    fflush(stdout);
    catch_signals(true);
    double last = wall_s();
    while (!g_stop && !(once && ctx.sessions > 0)) {
        uint64_t before = lode_sim_now(t.sim);
        if ((rc = lode_sim_stlink_server_poll(srv, 10)) != LODE_OK)
            break;
        double now = wall_s();
        if (idle && lode_sim_now(t.sim) == before && !lode_sim_halted(t.sim)) {
            /* nobody talked to the probe: the board keeps running, at most 50 ms at a time */
            double dt = now - last;
            if (dt > 0.05)
                dt = 0.05;
            if (dt > 0)
                lode_sim_advance(t.sim, (uint64_t)(dt * 1e12));
        }
        last = now;
    }
    catch_signals(false);
    lode_sim_stlink_server_free(srv);
    lode_sim_stlink_free(st);
    cli_target_close(&t);
    return rc == LODE_OK ? LODE_EXIT_OK : LODE_EXIT_SOFTWARE;
}
