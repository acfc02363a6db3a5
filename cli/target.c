/* SPDX-License-Identifier: MIT */
#include "target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lode/error.h"
#include "out.h"

void cli_target_opts_init(cli_target_opts_s *o)
{
    memset(o, 0, sizeof *o);
    o->probe = "sim";
    o->dap_version = 2;
    o->packet_count = 4;
}

const char *cli_target_options_help(void)
{
    return "target options:\n"
           "  --probe PROBE          sim (the simulated board behind a simulated CMSIS-DAP\n"
           "                         probe, default), sim-stlink[:V2Jnn|:V3Jn] (behind a simulated\n"
           "                         ST-Link/V2, default V2J37, or STLINK-V3; older firmware too),\n"
           "                         cmsis-dap[:VID:PID[:SERIAL]] (a USB CMSIS-DAP probe),\n"
           "                         stlink[:VID:PID[:SERIAL]] (a USB ST-Link V2/V2-1/V3),\n"
           "                         stlink-tcp:HOST:PORT[:SERIAL] (an ST-Link shared by an\n"
           "                         stlink-server), gdb:HOST:PORT (a GDB server),\n"
           "                         bmp:/dev/ttyACMx (a Black Magic Probe's GDB port)\n"
           "  --chip NAME            chip (e.g. STM32F103C8, nRF52840_xxAA); default: detect.\n"
           "                         With --probe sim it also picks the simulated chip\n"
           "  --chip-description F   add a probe-rs target YAML file to the chip database\n"
           "  --speed HZ             SWD clock (default 4000000; K/M suffixes)\n"
           "  --dap-version 1|2      simulated probe: CMSIS-DAP v1 (HID) or v2 (bulk, default)\n"
           "  --packet-count N       simulated probe: commands in flight (default 4)\n"
           "  --sim-state FILE       simulated flash kept here between commands\n"
           "                         (default ~/.cache/lode/sim-CHIP.state)\n"
           "  --sim-fresh            start the simulated board with erased flash\n";
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
    } else if (!strcmp(a, "--chip")) {
        NEED_VALUE();
        o->chip = v;
    } else if (!strcmp(a, "--chip-description")) {
        NEED_VALUE();
        o->chip_description = v;
    } else if (!strcmp(a, "--speed")) {
        NEED_VALUE();
        if (!cli_parse_u32(v, &o->speed_hz) || !o->speed_hz) {
            fprintf(stderr, "lode: --speed wants a clock in Hz (e.g. 4M), got '%s'\n", v);
            return -1;
        }
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
    } else if (!strcmp(a, "--json")) {
        o->json = true;
    } else {
        return 0;
    }
#undef NEED_VALUE
    return 1;
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
    }
    snprintf(buf, len, "%s/sim-%s.state", dir, chip);
}

static uint64_t sim_now_us(void *user) { return lode_sim_now(user) / 1000000u; }
static void sim_delay_us(void *user, uint32_t us) { lode_sim_advance(user, (uint64_t)us * 1000000u); }

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
    rc = lode_sim_state_lock(&lc, &t->sim_lock, &h);
    if (rc == LODE_E_STATE) {
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
        fprintf(stderr, "lode: waiting for %s, which is using the simulated board %s (Ctrl-C gives up)\n",
                who, path);
        lc.wait = true;
        rc = lode_sim_state_lock(&lc, &t->sim_lock, NULL);
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

static int open_sim(cli_ctx_s *cli, const cli_target_opts_s *o, int stlink, cli_target_s *t)
{
    const char *chip = o->chip ? o->chip : "STM32F103C8";
    lode_sim_config_s sc = {.chip = chip, .log = cli->log, .output = sim_uart, .output_user = t,
                            .swd_hz = o->speed_hz ? o->speed_hz : 4000000u};
    int ex, rc = lode_sim_new(&sc, &t->sim);
    if (rc != LODE_OK) {
        if (rc == LODE_E_NO_DEVICE) {
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
    if (stlink == 2) /* the board alone */
        return LODE_EXIT_OK;
    if (stlink) {
        lode_sim_stlink_config_s stc = {.log = cli->log};
        if (o->probe[10] == ':' && !cli_parse_stlink_version(o->probe + 11, &stc.hw_version, &stc.jtag_version)) {
            fprintf(stderr, "lode: bad probe '%s': use sim-stlink[:V2Jnn|:V3Jn] (e.g. sim-stlink:V3J7, "
                            "sim-stlink:V2J21 for firmware without DAP register access)\n", o->probe);
            return LODE_EXIT_USAGE;
        }
        if ((rc = lode_sim_stlink_new(t->sim, &stc, &t->simstlink)) != LODE_OK)
            return cli_exit_for_error(rc);
        lode_sim_stlink_io(t->simstlink, &t->stlink_io);
        snprintf(t->probe_desc, sizeof t->probe_desc, "sim-stlink (simulated %s, %s board)",
                 stc.hw_version == 3 ? "STLINK-V3" : "ST-Link/V2", lode_sim_chip_name(t->sim));
        return LODE_EXIT_OK;
    }
    lode_sim_dap_config_s dc = {.version = o->dap_version, .packet_count = (uint8_t)o->packet_count,
                                .log = cli->log};
    if ((rc = lode_sim_dap_new(t->sim, &dc, &t->simdap)) != LODE_OK ||
        (rc = lode_sim_dap_transport(t->simdap, &t->transport)) != LODE_OK)
        return cli_exit_for_error(rc);
    snprintf(t->probe_desc, sizeof t->probe_desc, "sim (simulated CMSIS-DAP v%d, %s board)",
             o->dap_version, lode_sim_chip_name(t->sim));
    return LODE_EXIT_OK;
}

/* While connecting, the client's error message is kept for one line naming host:port. */
static void gdb_log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    cli_target_s *t = user;
    if (level == LODE_LOG_ERROR && !t->gdb_log_pass) {
        snprintf(t->gdb_log_err, sizeof t->gdb_log_err, "%s", msg);
        return;
    }
    if (t->gdb_log_inner->fn)
        t->gdb_log_inner->fn(t->gdb_log_inner->user, level, cat, msg);
}

/* probe "gdb:HOST:PORT": the GDB client's core; a chip only from --chip */
static int open_gdb(cli_ctx_s *cli, const cli_target_opts_s *o, bool attach_only, cli_target_s *t)
{
    const char *spec = o->probe + 4;
    const char *colon = strrchr(spec, ':');
    char host[256];
    uint32_t port = 0;
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host || !cli_parse_u32(colon + 1, &port) ||
        port < 1 || port > 65535) {
        fprintf(stderr, "lode: bad probe '%s': use --probe gdb:HOST:PORT (port 1..65535)\n", o->probe);
        return LODE_EXIT_USAGE;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    int rc;
    if (o->chip) {
        if ((rc = lode_target_db_new(&cli->log, &t->db)) != LODE_OK)
            return cli_exit_for_error(rc);
        if (o->chip_description && (rc = lode_target_db_load_file(t->db, o->chip_description)) != LODE_OK) {
            fprintf(stderr, "lode: cannot load the chip description %s: %s\n", o->chip_description,
                    lode_strerror(rc));
            return cli_exit_for_error(rc);
        }
        if ((rc = lode_target_find_chip(t->db, o->chip, &t->chip)) != LODE_OK) {
            fprintf(stderr, "lode: unknown chip '%s' (see lode chips)\n", o->chip);
            return LODE_EXIT_USAGE;
        }
        t->chip_how = "from --chip";
    } else if (!attach_only) {
        fprintf(stderr, "lode: --probe gdb needs --chip for flash, verify, erase, run, debug and info\n");
        return LODE_EXIT_USAGE;
    }
    t->gdb_log_inner = &cli->log;
    lode_log_s log = {.fn = gdb_log_fn, .user = t, .max_level = cli->log.max_level};
    if ((rc = lode_gdbclient_connect(host, (int)port, &log, &t->gdb)) != LODE_OK) {
        fprintf(stderr, "lode: cannot connect to the GDB server at %s:%u: %s\n", host, (unsigned)port,
                t->gdb_log_err[0] ? t->gdb_log_err : lode_strerror(rc));
        return LODE_EXIT_UNAVAILABLE;
    }
    t->gdb_log_pass = true;
    lode_gdbclient_set_intrusive(t->gdb, true); /* RTT and reads while it runs: brief stops */
    t->core = *lode_gdbclient_core(t->gdb);
    snprintf(t->probe_desc, sizeof t->probe_desc, "gdb (GDB server at %s:%u)", host, (unsigned)port);
    return LODE_EXIT_OK;
}

bool cli_parse_stlink_version(const char *s, uint8_t *hw, uint8_t *jtag)
{
    unsigned h = 0, j = 0;
    char tail = 0;
    if (sscanf(s, "%*[Vv]%u%*[Jj]%u%c", &h, &j, &tail) != 2 || (h != 2 && h != 3) || j < 1 || j > 63)
        return false;
    *hw = (uint8_t)h;
    *jtag = (uint8_t)j;
    return true;
}

int cli_target_open_board(cli_ctx_s *cli, const cli_target_opts_s *o, cli_target_s *t)
{
    memset(t, 0, sizeof *t);
    t->cli = cli;
    t->opts = *o;
    int ex = open_sim(cli, o, 2, t);
    if (ex != LODE_EXIT_OK)
        cli_target_close(t);
    return ex;
}

/* probe "bmp:DEVICE": a Black Magic Probe's GDB server on its serial port, target 1 of swdp_scan */
static int open_bmp(cli_ctx_s *cli, const cli_target_opts_s *o, bool attach_only, cli_target_s *t)
{
    const char *dev = o->probe + 4;
    if (!*dev) {
        fprintf(stderr, "lode: bad probe '%s': use --probe bmp:/dev/ttyACMx (the probe's GDB port)\n", o->probe);
        return LODE_EXIT_USAGE;
    }
    int rc;
    if (o->chip) {
        if ((rc = lode_target_db_new(&cli->log, &t->db)) != LODE_OK)
            return cli_exit_for_error(rc);
        if ((rc = lode_target_find_chip(t->db, o->chip, &t->chip)) != LODE_OK) {
            fprintf(stderr, "lode: unknown chip '%s' (see lode chips)\n", o->chip);
            return LODE_EXIT_USAGE;
        }
        t->chip_how = "from --chip";
    } else if (!attach_only) {
        fprintf(stderr, "lode: --probe bmp needs --chip for flash, verify, erase, run, debug and info\n");
        return LODE_EXIT_USAGE;
    }
    if ((rc = lode_gdbclient_open_serial(dev, &cli->log, &t->gdb)) != LODE_OK)
        return LODE_EXIT_UNAVAILABLE;
    if ((rc = lode_gdbclient_attach_target(t->gdb, "swdp_scan", 1)) != LODE_OK)
        return LODE_EXIT_UNAVAILABLE;
    lode_gdbclient_set_intrusive(t->gdb, true);
    t->core = *lode_gdbclient_core(t->gdb);
    snprintf(t->probe_desc, sizeof t->probe_desc, "bmp (Black Magic Probe GDB server on %s)", dev);
    return LODE_EXIT_OK;
}

int cli_target_can_flash(const cli_target_s *t, const char *cmd)
{
    (void)t, (void)cmd; /* every probe can: a GDB server through its own flash programming */
    return LODE_EXIT_OK;
}

int cli_target_open(cli_ctx_s *cli, const cli_target_opts_s *o, bool attach_only, cli_target_s *t)
{
    memset(t, 0, sizeof *t);
    t->cli = cli;
    t->opts = *o;
    int ex;
    lode_session_config_s sc = {.chip = o->chip, .chip_description = o->chip_description,
                                .swd_hz = o->speed_hz, .attach_only = attach_only, .log = cli->log};
    if (!strncasecmp(o->probe, "gdb", 3) && (o->probe[3] == 0 || o->probe[3] == ':')) {
        if (o->probe[3] == 0) {
            fprintf(stderr, "lode: bad probe '%s': use --probe gdb:HOST:PORT\n", o->probe);
            ex = LODE_EXIT_USAGE;
            goto fail;
        }
        if ((ex = open_gdb(cli, o, attach_only, t)) != LODE_EXIT_OK)
            goto fail;
        return LODE_EXIT_OK;
    }
    if (!strncasecmp(o->probe, "bmp:", 4)) {
        if ((ex = open_bmp(cli, o, attach_only, t)) != LODE_EXIT_OK)
            goto fail;
        return LODE_EXIT_OK;
    }
    if (!strcasecmp(o->probe, "sim") || !strncasecmp(o->probe, "sim-stlink", 10)) {
        bool st = !strncasecmp(o->probe, "sim-stlink", 10);
        if (st && o->probe[10] && o->probe[10] != ':') {
            fprintf(stderr, "lode: unknown probe '%s': see --help\n", o->probe);
            ex = LODE_EXIT_USAGE;
            goto fail;
        }
        if ((ex = open_sim(cli, o, st, t)) != LODE_EXIT_OK)
            goto fail;
        sc.now_us = sim_now_us;
        sc.delay_us = sim_delay_us;
        sc.time_user = t->sim;
        if (st)
            sc.stlink = &t->stlink_io;
    } else if (!strncasecmp(o->probe, "stlink-tcp", 10) && (o->probe[10] == 0 || o->probe[10] == ':')) {
        /* stlink-tcp:HOST:PORT[:SERIAL] */
        char host[256], serial[64] = "";
        uint32_t port = 0;
        const char *spec = o->probe[10] ? o->probe + 11 : "";
        const char *c1 = strchr(spec, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char portstr[16] = "";
        if (c1 && (size_t)(c1 - spec) < sizeof host && c1 > spec) {
            memcpy(host, spec, (size_t)(c1 - spec));
            host[c1 - spec] = 0;
            size_t pl = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
            if (pl < sizeof portstr) {
                memcpy(portstr, c1 + 1, pl);
                portstr[pl] = 0;
            }
            if (c2)
                snprintf(serial, sizeof serial, "%s", c2 + 1);
        }
        if (!c1 || !cli_parse_u32(portstr, &port) || port < 1 || port > 65535) {
            fprintf(stderr, "lode: bad probe '%s': use --probe stlink-tcp:HOST:PORT[:SERIAL] (port 1..65535; "
                            "ST's stlink-server listens on 7184)\n", o->probe);
            ex = LODE_EXIT_USAGE;
            goto fail;
        }
        int rc = lode_stlink_io_tcp(host, (uint16_t)port, serial, &cli->log, &t->stlink_io);
        if (rc != LODE_OK) {
            ex = LODE_EXIT_UNAVAILABLE;
            goto fail;
        }
        snprintf(t->probe_desc, sizeof t->probe_desc, "stlink-tcp (ST-Link via stlink-server %s:%u)", host,
                 (unsigned)port);
        sc.stlink = &t->stlink_io;
    } else if (!strncasecmp(o->probe, "stlink", 6) && (o->probe[6] == 0 || o->probe[6] == ':')) {
        lode_usb_probe_s which;
        int rc = lode_probe_open_stlink_usb(o->probe[6] ? o->probe + 7 : "", &cli->log, &t->stlink_io, &which);
        if (rc != LODE_OK) {
            ex = rc == LODE_E_INVALID_ARG ? LODE_EXIT_UNAVAILABLE : cli_exit_for_error(rc);
            goto fail;
        }
        snprintf(t->probe_desc, sizeof t->probe_desc, "%s %04x:%04x %s", which.product, which.vid,
                 which.pid, which.serial);
        sc.stlink = &t->stlink_io;
    } else if (!strncasecmp(o->probe, "cmsis-dap", 9) && (o->probe[9] == 0 || o->probe[9] == ':')) {
        lode_usb_probe_s which;
        int rc = lode_probe_open_usb(o->probe[9] ? o->probe + 10 : "", &cli->log, &t->transport, &which);
        if (rc != LODE_OK) {
            ex = rc == LODE_E_INVALID_ARG ? LODE_EXIT_UNAVAILABLE : cli_exit_for_error(rc);
            goto fail;
        }
        snprintf(t->probe_desc, sizeof t->probe_desc, "CMSIS-DAP v%d %04x:%04x %s (%s)", which.kind,
                 which.vid, which.pid, which.serial, which.product);
    } else {
        fprintf(stderr, "lode: unknown probe '%s': use --probe sim, sim-stlink, cmsis-dap[:VID:PID[:SERIAL]], "
                        "stlink[:VID:PID[:SERIAL]], stlink-tcp:HOST:PORT, gdb:HOST:PORT or bmp:DEVICE\n",
                o->probe);
        ex = LODE_EXIT_USAGE;
        goto fail;
    }
    sc.transport = t->transport;
    int rc = lode_session_open(&sc, &t->session);
    memset(&t->stlink_io, 0, sizeof t->stlink_io); /* the session owns (and closed) it */
    if (rc != LODE_OK) {
        ex = rc == LODE_E_NO_DEVICE || rc == LODE_E_TIMEOUT || rc == LODE_E_FAULT || rc == LODE_E_WAIT ||
                     rc == LODE_E_PROTOCOL
                 ? LODE_EXIT_UNAVAILABLE
                 : cli_exit_for_error(rc);
        goto fail;
    }
    lode_session_core_ops(t->session, &t->core);
    t->chip = lode_session_chip(t->session, &t->chip_how);
    return LODE_EXIT_OK;
fail:
    cli_target_close(t);
    return ex;
}

void cli_target_close(cli_target_s *t)
{
    lode_session_close(t->session);
    t->session = NULL;
    lode_gdbclient_free(t->gdb);
    t->gdb = NULL;
    lode_target_db_free(t->db);
    t->db = NULL;
    t->chip = NULL;
    lode_transport_close(t->transport);
    t->transport = NULL;
    lode_sim_dap_free(t->simdap);
    t->simdap = NULL;
    if (t->stlink_io.close) /* opened, never handed to a session */
        t->stlink_io.close(t->stlink_io.ctx);
    memset(&t->stlink_io, 0, sizeof t->stlink_io);
    lode_sim_stlink_free(t->simstlink);
    t->simstlink = NULL;
    if (t->sim) {
        /* saved only by a command that may change the board and holds it (a refused or
         * read-only command leaves the file alone) */
        if (t->sim_lock && !t->sim_readonly && lode_sim_state_save(t->sim, t->sim_state_path) != LODE_OK)
            fprintf(stderr, "lode: warning: cannot save the simulated flash to %s: %s\n",
                    t->sim_state_path, strerror(errno));
        lode_sim_free(t->sim);
        t->sim = NULL;
    }
    lode_sim_state_unlock(t->sim_lock);
    t->sim_lock = NULL;
}

double cli_target_now_s(cli_target_s *t)
{
    if (t->sim)
        return (double)lode_sim_now(t->sim) / 1e12;
    return cli_now_s();
}
