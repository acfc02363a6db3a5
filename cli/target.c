/* SPDX-License-Identifier: MIT */
#include "target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lode/board.h"
#include "lode/error.h"
#include "out.h"

/* lode.yaml's error message, kept for when the target is opened */
static void project_log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    cli_target_opts_s *o = user;
    (void)cat;
    if (level == LODE_LOG_ERROR && !o->defaults_msg[0])
        snprintf(o->defaults_msg, sizeof o->defaults_msg, "lode: %s", msg);
}

void cli_target_opts_init(cli_target_opts_s *o)
{
    memset(o, 0, sizeof *o);
    o->probe = "sim";
    o->dap_version = 2;
    o->packet_count = 4;
    /* defaults the flags parsed after this override: lode.yaml, then the environment */
    char cwd[1024];
    lode_log_s log = {.fn = project_log_fn, .user = o, .max_level = LODE_LOG_ERROR};
    int rc = getcwd(cwd, sizeof cwd)
                 ? lode_project_find_load(cwd, &log, o->project_path, sizeof o->project_path, &o->project)
                 : LODE_E_NO_DEVICE;
    if (rc == LODE_OK) {
        if (o->project.probe[0])
            o->probe = o->project.probe, o->probe_level = 1;
        if (o->project.chip[0])
            o->chip = o->project.chip, o->chip_level = 1;
        if (o->project.board[0])
            o->board = o->project.board, o->board_level = 1;
        if (o->project.chip_description[0])
            o->chip_description = o->project.chip_description;
        o->speed_hz = o->project.speed_hz;
    } else if (rc != LODE_E_NO_DEVICE) {
        o->defaults_exit = rc == LODE_E_FORMAT ? LODE_EXIT_DATAERR : LODE_EXIT_NOINPUT;
        if (!o->defaults_msg[0])
            snprintf(o->defaults_msg, sizeof o->defaults_msg, "lode: cannot read %.300s: %s", o->project_path,
                     lode_strerror(rc));
        return;
    }
    const char *e;
    if ((e = getenv("LODE_PROBE")) && *e)
        o->probe = e, o->probe_level = 2;
    if ((e = getenv("LODE_CHIP")) && *e)
        o->chip = e, o->chip_level = 2;
    if ((e = getenv("LODE_BOARD")) && *e)
        o->board = e, o->board_level = 2;
    if ((e = getenv("LODE_SPEED")) && *e && !lode_project_parse_hz(e, &o->speed_hz)) {
        o->defaults_exit = LODE_EXIT_USAGE;
        snprintf(o->defaults_msg, sizeof o->defaults_msg,
                 "lode: LODE_SPEED wants a clock in Hz (e.g. 4M), got '%.60s'; fix or unset it", e);
    }
}

/* A bad lode.yaml or environment variable, told when a command first needs the target. */
static int defaults_ok(const cli_target_opts_s *o)
{
    if (o->defaults_exit != LODE_EXIT_OK)
        fprintf(stderr, "%s\n", o->defaults_msg);
    return o->defaults_exit;
}

static int no_board(void *user, const char *chip, uint32_t swd_hz, lode_sim_s **out)
{
    (void)user;
    (void)chip;
    (void)swd_hz;
    (void)out;
    return LODE_E_UNSUPPORTED;
}

void cli_target_options_help(FILE *f)
{
    fputs("target options:\n"
          "  --probe PROBE          the probe (default sim), one of:\n", f);
    /* the registry's rows: the built-in ones and the simulator's (their board is not needed
     * for their syntax and help) */
    lode_sim_probe_env_s env = {.board = no_board};
    lode_avrsim_probe_env_s avrenv = {.board = NULL};
    lode_probe_registry_s *reg = NULL;
    if (lode_probe_registry_new(&reg) == LODE_OK && lode_sim_registry_add(reg, &env) == LODE_OK &&
        lode_avrsim_registry_add(reg, &avrenv) == LODE_OK)
        for (size_t i = 0; i < lode_probe_registry_count(reg); i++) {
            const lode_probe_driver_s *d = lode_probe_registry_at(reg, i);
            fprintf(f, "                           %s: %s\n", d->syntax ? d->syntax : d->name,
                    d->help ? d->help : "");
        }
    lode_probe_registry_free(reg);
    fputs("  --chip NAME            chip (e.g. STM32F103C8, nRF52840_xxAA); default: detect.\n"
          "                         With --probe sim it also picks the simulated chip; an AVR\n"
          "                         chip (ATmega328P) is the simulated Arduino Uno\n"
          "  --board NAME           a board (`lode boards`): its chip, probe kind and baud;\n"
          "                         --probe PORT then names its serial port (--board uno\n"
          "                         --probe /dev/ttyACM0 = --probe arduino:/dev/ttyACM0:115200)\n"
          "  --chip-description F   add a probe-rs target YAML file to the chip database\n"
          "  --force                bootloaders: write although the board (or the image) is not\n"
          "                         the one named (AVR signature, Teensy model)\n"
          "  --speed HZ             SWD clock (default 4000000; K/M suffixes)\n"
          "  --parity none|even     a serial bootloader's parity (stm32-uart: even, the default;\n"
          "                         none for a pseudo-terminal or a simulated board)\n"
          "  --dap-version 1|2      simulated probe: CMSIS-DAP v1 (HID) or v2 (bulk, default)\n"
          "  --packet-count N       simulated probe: commands in flight (default 4)\n"
          "  --sim-state FILE       simulated flash kept here between commands\n"
          "                         (default ~/.cache/lode/sim-CHIP.state)\n"
          "  --sim-fresh            start the simulated board with erased flash\n"
          "Flags beat the environment (LODE_PROBE, LODE_CHIP, LODE_BOARD, LODE_SPEED), which\n"
          "beats the project file lode.yaml (probe:, chip:, board:, speed:, chip-description:;\n"
          "the nearest one\n"
          "found walking up from the current directory).\n",
          f);
}

int cli_target_option(cli_target_opts_s *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
#define NEED_VALUE()                                                                     \
    do {                                                                                 \
        if (!v) {                                                                        \
            fprintf(stderr, "lode: %s needs a value: see --help\n", a);                 \
            return -1;                                                                   \
        }                                                                                \
        (*i)++;                                                                          \
    } while (0)
    if (!strcmp(a, "--probe")) {
        NEED_VALUE();
        o->probe = v;
        o->probe_level = 3;
    } else if (!strcmp(a, "--chip")) {
        NEED_VALUE();
        o->chip = v;
        o->chip_level = 3;
    } else if (!strcmp(a, "--board")) {
        NEED_VALUE();
        o->board = v;
        o->board_level = 3;
    } else if (!strcmp(a, "--chip-description")) {
        NEED_VALUE();
        if (o->chip_description_given) {
            fprintf(stderr, "lode: --chip-description given twice ('%s', '%s'): lode loads one target file\n",
                    o->chip_description, v);
            return -1;
        }
        o->chip_description = v;
        o->chip_description_given = true;
    } else if (!strcmp(a, "--speed")) {
        NEED_VALUE();
        if (!cli_parse_u32(v, &o->speed_hz) || !o->speed_hz) {
            fprintf(stderr, "lode: --speed wants a clock in Hz (e.g. 4M), got '%s'\n", v);
            return -1;
        }
    } else if (!strcmp(a, "--parity")) {
        NEED_VALUE();
        if (strcmp(v, "none") && strcmp(v, "even")) {
            fprintf(stderr, "lode: --parity is none or even, got '%s'\n", v);
            return -1;
        }
        o->no_parity = !strcmp(v, "none");
    } else if (!strcmp(a, "--dap-version")) {
        NEED_VALUE();
        if (strcmp(v, "1") && strcmp(v, "2")) {
            fprintf(stderr, "lode: --dap-version is 1 (HID) or 2 (bulk), got '%s'\n", v);
            return -1;
        }
        o->dap_version = atoi(v);
    } else if (!strcmp(a, "--packet-count")) {
        NEED_VALUE();
        uint32_t n = 0;
        if (!cli_parse_u32(v, &n) || n < 1 || n > 255) {
            fprintf(stderr, "lode: --packet-count wants 1..255, got '%s'\n", v);
            return -1;
        }
        o->packet_count = n;
    } else if (!strcmp(a, "--sim-state")) {
        NEED_VALUE();
        o->sim_state = v;
    } else if (!strcmp(a, "--sim-fresh")) {
        o->sim_fresh = true;
    } else if (!strcmp(a, "--force")) {
        o->force = true;
    } else {
        return 0;
    }
#undef NEED_VALUE
    return 1;
}

int cli_target_apply_board(cli_target_opts_s *o)
{
    if (!o->board)
        return LODE_EXIT_OK;
    lode_board_db_s *db = NULL;
    const lode_board_s *b = NULL;
    int rc = lode_board_db_new(NULL, &db);
    if (rc == LODE_OK && (rc = lode_board_find(db, o->board, &b)) == LODE_E_NO_DEVICE)
        fprintf(stderr, "lode: unknown board '%s'%s: `lode boards` lists the boards lode knows\n", o->board,
                o->board_level == 1 ? " (lode.yaml)" : o->board_level == 2 ? " (LODE_BOARD)" : "");
    else if (rc != LODE_OK)
        fprintf(stderr, "lode: cannot read lode's board data: %s\n", lode_strerror(rc));
    if (rc == LODE_OK) {
        if (o->board_level > o->chip_level || !o->chip) {
            snprintf(o->board_chip, sizeof o->board_chip, "%s", b->chip);
            o->chip = o->board_chip;
            o->chip_level = o->board_level;
        }
        /* a probe named anywhere gets the board's kind and baud; none named: the default
         * (the simulated board) */
        if (o->probe_level > 0) {
            if (lode_board_probe_spec(b, o->probe, o->board_probe, sizeof o->board_probe) != LODE_OK) {
                fprintf(stderr, "lode: --probe '%.100s' is too long\n", o->probe);
                rc = LODE_E_INVALID_ARG;
            } else {
                o->probe = o->board_probe;
            }
        }
    }
    lode_board_db_free(db);
    return rc == LODE_OK ? LODE_EXIT_OK : LODE_EXIT_USAGE;
}

static void default_state_path(char *buf, size_t len, const char *chip)
{
    const char *dir = getenv("LODE_SIM_STATE_DIR");
    char tmp[900];
    if (!dir || !*dir) {
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(tmp, sizeof tmp, "%s/lode", xdg);
        else
            snprintf(tmp, sizeof tmp, "%s/.cache/lode", home && *home ? home : "/tmp");
        dir = tmp;
        /* create ~/.cache and ~/.cache/lode as needed */
        char parent[900];
        snprintf(parent, sizeof parent, "%s", tmp);
        char *slash = strrchr(parent, '/');
        if (slash) {
            *slash = 0;
            mkdir(parent, 0755);
        }
        mkdir(tmp, 0755);
    } else {
        mkdir(dir, 0755); /* LODE_SIM_STATE_DIR: made when missing (its parent must exist) */
    }
    snprintf(buf, len, "%s/sim-%s.state", dir, chip);
}

static void sim_uart(void *user, const char *port, const uint8_t *data, size_t len)
{
    cli_target_s *t = user;
    (void)port;
    /* the board's UART is not the debugger's business: shown on stderr only with -v */
    if (t->cli && t->cli->verbose)
        fwrite(data, 1, len, stderr);
}

static int state_refused(const char *path, bool given)
{
    fprintf(stderr, "lode: %s is not a lode state file (a symlink, device, directory or other file): "
                    "nothing was written; %s\n", path,
            given ? "give --sim-state a new file or an existing state file" : "move it away or set LODE_SIM_STATE_DIR");
    return LODE_EXIT_USAGE;
}

/* Commands that only read the board share it and never save it; servers and interactive
 * commands hold it for long, so nobody waits for them. */
static bool cmd_in(const char *cmd, const char *const *list)
{
    for (; cmd && *list; list++)
        if (!strcmp(cmd, *list))
            return true;
    return false;
}

static int lock_state(cli_ctx_s *cli, cli_target_s *t)
{
    static const char *const readers[] = {"read", "verify", "info", NULL};
    static const char *const servers[] = {"gdb", "sim-server", "debug", "attach", "rtt", NULL};
    const char *path = t->sim_state_path;
    int rc = lode_sim_state_check(path);
    if (rc == LODE_E_INVALID_ARG)
        return state_refused(path, t->opts.sim_state != NULL);
    if (rc != LODE_OK) {
        fprintf(stderr, "lode: cannot examine the simulated board's state file %s: %s\n", path, strerror(errno));
        return LODE_EXIT_NOINPUT;
    }
    t->sim_readonly = cmd_in(cli->cmd, readers);
    char what[64];
    snprintf(what, sizeof what, "lode %s", cli->cmd ? cli->cmd : "");
    lode_sim_lock_config_s lc = {.path = path, .exclusive = !t->sim_readonly, .what = what,
                                 .server = cmd_in(cli->cmd, servers)};
    lode_sim_lock_holder_s h;
    /* a non-server holder is waited for (tries 50 ms apart, not a blocking lock: a server that
     * takes the board meanwhile is seen and refused like one found at once) */
    bool said = false;
    long said_pid = 0;
    while ((rc = lode_sim_state_lock(&lc, &t->sim_lock, &h)) == LODE_E_STATE) {
        char who[160];
        if (h.pid)
            snprintf(who, sizeof who, "PID %ld%s%s%s", h.pid, h.what[0] ? " (" : "", h.what, h.what[0] ? ")" : "");
        else
            snprintf(who, sizeof who, "another lode");
        if (h.server) {
            fprintf(stderr, "lode: the simulated board %s is in use by %s: stop it first, or reach the "
                            "board through it (lode gdb: --probe gdb:HOST:PORT)\n", path, who);
            return LODE_EXIT_UNAVAILABLE;
        }
        if (!said || h.pid != said_pid) {
            fprintf(stderr, "lode: waiting for %s, which is using the simulated board %s (Ctrl-C gives up)\n",
                    who, path);
            said = true;
            said_pid = h.pid;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rc != LODE_OK) {
        if (rc == LODE_E_INVALID_ARG) {
            fprintf(stderr, "lode: %s.lock is not a regular file: move it away\n", path);
            return LODE_EXIT_USAGE;
        }
        fprintf(stderr, "lode: cannot lock the simulated board's state file %s.lock: %s\n", path, strerror(errno));
        return LODE_EXIT_NOINPUT;
    }
    return LODE_EXIT_OK;
}

#define SIM_DEFAULT_CHIP "STM32F103C8"

static bool probe_is_sim(const char *probe)
{
    return !strcasecmp(probe, "sim") || !strncasecmp(probe, "sim-stlink", 10) || !strncasecmp(probe, "sim-jlink", 9);
}

const char *cli_target_chip_name(const cli_target_opts_s *o)
{
    return o->chip ? o->chip : probe_is_sim(o->probe) ? SIM_DEFAULT_CHIP : NULL;
}

/* The simulated board for a simulated probe (or alone, for sim-server): created here, its
 * flash kept in the state file between commands. */
static int open_sim(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t)
{
    const char *chip = o->chip ? o->chip : SIM_DEFAULT_CHIP;
    lode_sim_config_s sc = {.chip = chip, .log = cli->log, .output = sim_uart, .output_user = t,
                            .swd_hz = o->speed_hz ? o->speed_hz : 4000000u};
    int ex, rc = lode_sim_new(&sc, &t->sim);
    if (rc != LODE_OK) {
        if (rc == LODE_E_NO_DEVICE) {
            if (o->board) {
                fprintf(stderr, "lode: board %s (%s) has no simulated model here: give its serial port with "
                                "--probe PORT, or serve a simulated one: lode sim-server --board %s "
                                "--serial-pty PATH\n", o->board, chip, o->board);
                return LODE_EXIT_UNAVAILABLE;
            }
            fprintf(stderr, "lode: the simulated board has no chip '%s': choose", chip);
            for (const char *const *n = lode_sim_chips(); *n; n++)
                fprintf(stderr, " %s", *n);
            fprintf(stderr, " with --chip\n");
            return LODE_EXIT_UNAVAILABLE;
        }
        return cli_exit_for_error(rc);
    }
    if (o->sim_state)
        snprintf(t->sim_state_path, sizeof t->sim_state_path, "%s", o->sim_state);
    else
        default_state_path(t->sim_state_path, sizeof t->sim_state_path, lode_sim_chip_name(t->sim));
    if ((ex = lock_state(cli, t)) != LODE_EXIT_OK)
        return ex;
    if (!o->sim_fresh) {
        /* a missing file is a fresh board; one of another version or chip is reported by the
         * sim's log; anything else was refused by lock_state */
        rc = lode_sim_state_load(t->sim, t->sim_state_path);
        if (rc == LODE_E_INVALID_ARG) { /* replaced by something else since lock_state looked */
            lode_sim_state_unlock(t->sim_lock);
            t->sim_lock = NULL;
            return state_refused(t->sim_state_path, o->sim_state != NULL);
        }
    }
    return LODE_EXIT_OK;
}

/* The simulated Arduino for an AVR chip (the default probe "sim" becomes its row "sim-avr"):
 * made here, its flash and EEPROM kept in the state file between commands. */
static int open_avr_sim(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t, const char *name,
                        const char *bootloader, bool uart_overrun)
{
    lode_avrsim_config_s ac = {.board = name, .bootloader = bootloader, .uart_overrun = uart_overrun, .log = &cli->log};
    int ex, rc = lode_avrsim_new(&ac, &t->avrsim);
    if (rc != LODE_OK)
        return rc == LODE_E_NO_DEVICE ? LODE_EXIT_UNAVAILABLE : cli_exit_for_error(rc);
    if (o->sim_state)
        snprintf(t->sim_state_path, sizeof t->sim_state_path, "%s", o->sim_state);
    else
        default_state_path(t->sim_state_path, sizeof t->sim_state_path, lode_avrsim_chip(t->avrsim));
    if ((ex = lock_state(cli, t)) != LODE_EXIT_OK)
        return ex;
    if (!o->sim_fresh) {
        rc = lode_avrsim_state_load(t->avrsim, t->sim_state_path);
        if (rc == LODE_E_INVALID_ARG) {
            lode_sim_state_unlock(t->sim_lock);
            t->sim_lock = NULL;
            return state_refused(t->sim_state_path, o->sim_state != NULL);
        }
        if (rc == LODE_E_FORMAT)
            fprintf(stderr, "lode: %s is a state file of another lode version or board: the simulated %s starts "
                            "with erased flash\n", t->sim_state_path, name);
    }
    return LODE_EXIT_OK;
}

static int avr_board(void *user, const char *name, lode_avrsim_s **out)
{
    cli_target_s *t = user;
    if (!t->avrsim && (t->board_ex = open_avr_sim(t->cli, &t->opts, t, name, NULL, false)) != LODE_EXIT_OK)
        return LODE_E_NO_DEVICE;
    *out = t->avrsim;
    return LODE_OK;
}

static int sim_board(void *user, const char *chip, uint32_t swd_hz, lode_sim_s **out)
{
    cli_target_s *t = user;
    (void)chip, (void)swd_hz; /* both in t->opts */
    if (!t->sim && (t->board_ex = open_sim(t->cli, &t->opts, t)) != LODE_EXIT_OK)
        return LODE_E_NO_DEVICE;
    *out = t->sim;
    return LODE_OK;
}

int cli_registry(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t)
{
    memset(t, 0, sizeof *t);
    t->cli = cli;
    t->opts = *o;
    t->simenv = (lode_sim_probe_env_s){.board = sim_board, .user = t, .dap_version = o->dap_version,
                                       .packet_count = o->packet_count, .log = cli->log};
    t->avrenv = (lode_avrsim_probe_env_s){.board = avr_board, .user = t};
    int rc = lode_probe_registry_new(&t->reg);
    if (rc == LODE_OK)
        rc = lode_sim_registry_add(t->reg, &t->simenv);
    if (rc == LODE_OK)
        rc = lode_avrsim_registry_add(t->reg, &t->avrenv);
    return rc;
}

int cli_target_open_board(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t)
{
    memset(t, 0, sizeof *t);
    if (defaults_ok(o) != LODE_EXIT_OK)
        return o->defaults_exit;
    t->cli = cli;
    t->opts = *o;
    int ex = open_sim(cli, o, t);
    if (ex != LODE_EXIT_OK)
        cli_target_close(t);
    return ex;
}

int cli_target_open_avr_board(cli_ctx_s *cli, const cli_target_opts_s *o, const char *board, const char *bootloader,
                              bool uart_overrun, cli_target_s *t)
{
    memset(t, 0, sizeof *t);
    t->cli = cli;
    t->opts = *o;
    int ex = open_avr_sim(cli, o, t, board, bootloader, uart_overrun);
    if (ex != LODE_EXIT_OK)
        cli_target_close(t);
    return ex;
}

int cli_target_save_board(cli_target_s *t)
{
    if ((!t->avrsim && !t->sim) || !t->sim_lock || t->sim_readonly)
        return LODE_OK;
    if (t->sim)
        return lode_sim_state_save(t->sim, t->sim_state_path);
    return lode_avrsim_state_save(t->avrsim, t->sim_state_path);
}

typedef struct ask_s {
    const char *spec;
    char found[10][160];
    size_t n;
} ask_s;

static void ask_found(void *user, const lode_probe_found_s *f)
{
    ask_s *a = user;
    size_t k = strlen(a->spec);
    if (!strncasecmp(f->spec, a->spec, k) && (f->spec[k] == ':' || !f->spec[k]) && a->n < 10)
        snprintf(a->found[a->n++], sizeof a->found[0], "%s", f->spec);
}

/* Several probes fit --probe and a person sits at a terminal: list them and ask which one
 * (*chosen is then the full spec). Otherwise the open fails naming them all. */
static bool ask_which(cli_ctx_s *cli, cli_target_s *t, const char *spec, char *chosen, size_t cap)
{
    if (!isatty(0) || !isatty(2))
        return false;
    ask_s a = {.spec = spec};
    lode_probe_list(t->reg, NULL, ask_found, &a);
    if (a.n < 2)
        return false;
    fprintf(stderr, "lode %s: %zu probes fit --probe %s:\n", cli->cmd ? cli->cmd : "", a.n, spec);
    for (size_t i = 0; i < a.n; i++)
        fprintf(stderr, "  %zu  %s\n", i + 1, a.found[i]);
    fprintf(stderr, "which one (1-%zu)? ", a.n);
    char line[32] = "";
    unsigned long k = fgets(line, sizeof line, stdin) ? strtoul(line, NULL, 10) : 0;
    if (k < 1 || k > a.n)
        return false;
    snprintf(chosen, cap, "%s", a.found[k - 1]);
    return true;
}

/* --board NAME's bootloader is SAM-BA */
static bool board_has_samba(const char *name)
{
    lode_board_db_s *db = NULL;
    const lode_board_s *b = NULL;
    bool yes = name && lode_board_db_new(NULL, &db) == LODE_OK && lode_board_find(db, name, &b) == LODE_OK &&
               b->bootloader && !strcmp(b->bootloader, "sam-ba");
    lode_board_db_free(db);
    return yes;
}

int cli_target_open(cli_ctx_s *cli, const cli_target_opts_s *o, bool attach_only, cli_target_s *t)
{
    int ex = LODE_EXIT_SOFTWARE;
    if (defaults_ok(o) != LODE_EXIT_OK) {
        memset(t, 0, sizeof *t);
        return o->defaults_exit;
    }
    if (cli_registry(cli, o, t) != LODE_OK)
        goto fail;
    /* the simulated board for an AVR chip is the simulated Arduino */
    const char *spec = !strcasecmp(o->probe, "sim") && lode_avrsim_board_for_chip(o->chip) ? "sim-avr" : o->probe;
    /* a board loaded through SAM-BA (--board zero) without --probe: the simulated board through
     * its bootloader, as the Uno; --probe sim still gives its debug port */
    if (o->probe_level == 0 && !strcasecmp(o->probe, "sim") && board_has_samba(o->board))
        spec = "sim-sam-ba";
    char chosen[160];
    bool asked = ask_which(cli, t, spec, chosen, sizeof chosen);
    lode_session_config_s sc = {.registry = t->reg, .spec = asked ? chosen : spec, .chip = o->chip,
                                .chip_description = o->chip_description, .swd_hz = o->speed_hz,
                                .attach_only = attach_only, .log = cli->log,
                                .no_parity = o->no_parity, .force = o->force};
    int rc = lode_session_open(&sc, &t->session);
    if (rc != LODE_OK) {
        ex = t->board_ex ? t->board_ex
             : rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE
             : rc == LODE_E_FORMAT      ? LODE_EXIT_DATAERR
             : rc == LODE_E_NOMEM       ? LODE_EXIT_SOFTWARE
                                        : LODE_EXIT_UNAVAILABLE;
        goto fail;
    }
    t->probe = lode_session_probe(t->session);
    lode_probe_info_s info;
    lode_probe_describe(t->probe, &info);
    snprintf(t->probe_desc, sizeof t->probe_desc, "%s", info.description);
    lode_session_core_ops(t->session, &t->core);
    t->chip = lode_session_chip(t->session, &t->chip_how);
    static const char *const loading[] = {"flash", "erase", "verify", "read", "info", NULL};
    bool loads = false;
    for (const char *const *c = loading; cli->cmd && *c; c++)
        loads |= !strcmp(cli->cmd, *c);
    /* run and reset on a bootloader board: the application started, its serial line the console */
    bool console = cli->cmd && (!strcmp(cli->cmd, "run") || !strcmp(cli->cmd, "reset")) &&
                   lode_probe_has_console(t->probe);
    if (!t->core.halt && !loads && !console) {
        fprintf(stderr, "lode %s: %s only loads memory (no core access): use flash, erase, verify, read or info%s\n",
                cli->cmd ? cli->cmd : "", t->probe_desc,
                lode_probe_has_console(t->probe) ? ", or run and reset" : "");
        ex = LODE_EXIT_UNAVAILABLE;
        goto fail;
    }
    return LODE_EXIT_OK;
fail:
    cli_target_close(t);
    return ex;
}

int cli_target_close(cli_target_s *t)
{
    int ex = LODE_EXIT_OK;
    lode_session_close(t->session); /* and the probe it opened */
    t->session = NULL;
    t->probe = NULL;
    t->chip = NULL;
    lode_probe_registry_free(t->reg);
    t->reg = NULL;
    if (t->sim || t->avrsim) {
        /* saved only by a command that may change the board and holds it (a refused or
         * read-only command leaves the file alone) */
        int rc = LODE_OK;
        if (t->sim_lock && !t->sim_readonly)
            rc = t->sim ? lode_sim_state_save(t->sim, t->sim_state_path)
                        : lode_avrsim_state_save(t->avrsim, t->sim_state_path);
        if (rc != LODE_OK) {
            fprintf(stderr, "lode: cannot save the simulated board to %s: %s (what this command changed "
                            "is lost; check the directory is writable, or set LODE_SIM_STATE_DIR)\n",
                    t->sim_state_path, lode_strerror(rc));
            ex = cli_exit_for_error(rc);
        }
        lode_sim_free(t->sim);
        t->sim = NULL;
        lode_avrsim_free(t->avrsim);
        t->avrsim = NULL;
    }
    lode_sim_state_unlock(t->sim_lock);
    t->sim_lock = NULL;
    return ex;
}

/* only when the figures come from the board's clock: a simulated board behind a bootloader
 * probe without a clock (the Zero's sam-ba row) is timed on the host's */
bool cli_target_simulated(const cli_target_s *t) { return t->sim != NULL && t->core.now_us != NULL; }

double cli_target_now_s(cli_target_s *t)
{
    if (t->core.now_us)
        return (double)t->core.now_us(t->core.ctx) / 1e6;
    return cli_now_s();
}
