/* SPDX-License-Identifier: MIT */
/* `lode run`: flash (skipping sectors that already match), reset and run firmware like a host
 * program; `lode attach`: the same on a running target, without flashing or reset. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "sh_io.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/image.h"
#include "lode/itm.h"
#include "lode/rtt.h"
#include "lode/run.h"
#include "lode/semihost.h"
#include "lode/serlink.h"
#include "out.h"
#include "points.h"
#include "target.h"

#define MAX_POINTS 16

static volatile int g_interrupted; /* a signal flag: all a signal handler may touch (one per command that catches signals) */

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

typedef struct run_cli_s {
    const lode_image_s *img;
    bool rtt_all_channels;
    lode_rtt_s *rtt;
    bool stdin_eof;
    /* --itm: the simulated board's SWO capture, decoded as it comes */
    lode_session_s *swo_probe; /* or the probe's SWO capture (ST-Link, CMSIS-DAP) */
    lode_itm_decoder_s itm;
} run_cli_s;

static void on_itm(void *user, const lode_itm_packet_s *p)
{
    (void)user;
    if (p->kind != LODE_ITM_PKT_INSTRUMENTATION)
        return;
    if (p->port == 0) {
        fwrite(p->data, 1, p->size, stdout); /* port 0: console text */
    } else {
        char line[96];
        lode_itm_describe(p, line, sizeof line);
        printf("[itm] %s\n", line);
    }
    fflush(stdout);
}

static int gdb_fileio(void *user, const char *req, char *reply, size_t cap)
{
    return lode_semihost_fileio(user, req, reply, cap);
}

static void swo_tick(void *user)
{
    run_cli_s *r = user;
    uint8_t buf[1024];
    size_t n;
    if (!r->swo_probe)
        return;
    while (lode_session_swo_read(r->swo_probe, buf, sizeof buf, &n) == LODE_OK && n > 0)
        lode_itm_feed(&r->itm, buf, n, on_itm, r);
}

static void rtt_out(void *user, unsigned channel, const uint8_t *data, size_t len)
{
    run_cli_s *r = user;
    if (channel == 0) {
        fwrite(data, 1, len, stdout);
        fflush(stdout);
    } else if (r->rtt_all_channels) {
        lode_rtt_info_s info;
        const char *name = "rtt";
        if (r->rtt && lode_rtt_channels(r->rtt, &info) == LODE_OK && channel < info.num_up &&
            info.up[channel].name[0])
            name = info.up[channel].name;
        fprintf(stdout, "[%s] ", name);
        fwrite(data, 1, len, stdout);
        if (len && data[len - 1] != '\n')
            fputc('\n', stdout);
        fflush(stdout);
    }
}

/* stdin for RTT down channel 0, without blocking */
static long rtt_input(void *user, uint8_t *buf, size_t cap)
{
    run_cli_s *r = user;
    if (r->stdin_eof)
        return 0;
    struct pollfd p = {.fd = 0, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
        return 0;
    ssize_t n = read(0, buf, cap);
    if (n <= 0) {
        r->stdin_eof = true;
        return 0;
    }
    return (long)n;
}

typedef struct run_cli_full_s {
    run_cli_s r;
    bool cont; /* --on-hit continue */
} run_cli_full_s;

static bool on_hit(void *user, const lode_run_hit_s *hit)
{
    run_cli_full_s *f = user;
    char pc[160], lr[160];
    cli_sym(f->r.img, hit->regs[15], pc, sizeof pc);
    cli_sym(f->r.img, hit->regs[14], lr, sizeof lr);
    if (hit->kind == LODE_RUN_HIT_BREAK)
        fprintf(stderr, "lode: breakpoint %s hit (#%u) at pc %s, lr %s\n", hit->point->name,
                hit->count, pc, lr);
    else
        fprintf(stderr, "lode: watchpoint %s (0x%08x): 0x%x -> 0x%x (#%u) at pc %s, lr %s\n",
                hit->point->name, hit->point->addr, hit->old_value, hit->new_value, hit->count, pc,
                lr);
    fprintf(stderr, "      r0 %08x r1 %08x r2 %08x r3 %08x r12 %08x sp %08x xpsr %08x\n",
            hit->regs[0], hit->regs[1], hit->regs[2], hit->regs[3], hit->regs[12], hit->regs[13],
            hit->regs[16]);
    return f->cont;
}

/* The firmware's exit as an exit status: 0-255 as given; anything an exit status cannot hold,
 * and every reason other than ApplicationExit, is told in one line with the real value (a code
 * that would read as success becomes 1). */
static int exit_status(const char *name, const lode_run_result_s *res)
{
    uint32_t v = res->exit_value, reason = res->exit_reason;
    if (reason == LODE_SH_ADP_STOPPED_APPLICATION_EXIT) {
        if (v <= 255)
            return (int)v;
        int ex = (v & 0xFFu) ? (int)(v & 0xFFu) : LODE_EXIT_FAILED;
        fprintf(stderr, "lode %s: the firmware exited with %u (0x%x), more than an exit status holds "
                        "(0-255): lode exits %d\n", name, v, v, ex);
        return ex;
    }
    /* SYS_EXIT with another reason, or SYS_EXIT_EXTENDED with one and a subcode */
    int ex = (res->exit_code & 0xFF) ? (res->exit_code & 0xFF) : LODE_EXIT_FAILED;
    const char *rn = lode_semihost_reason_name(reason);
    char sub[48] = "";
    if (v)
        snprintf(sub, sizeof sub, ", subcode %u (0x%x)", v, v);
    fprintf(stderr, "lode %s: the firmware exited with reason %s (0x%x)%s: lode exits %d\n", name,
            rn ? rn : "unknown to the semihosting specification", reason, sub, ex);
    return ex;
}

static void serial_out(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    fwrite(data, 1, len, stdout);
    fflush(stdout);
}

/* `lode run` on a bootloader board (a probe with a console face and no core): flash through
 * the bootloader, start the application, then its serial line is the console over the lode
 * serial link (docs/serial-link.md): stdout, stdin, the arguments, the exit code. */
static uint64_t probe_clock(void *user) { return lode_probe_now_us(user); }

static int run_serial(cli_ctx_s *cli, cli_target_s *t, const lode_image_s *img, const char *file, char **args,
                      int nargs, double timeout_s, bool stats, run_cli_s *io)
{
    (void)cli;
    lode_flash_opts_s fo = {.skip_unchanged = true};
    lode_flash_result_s fr;
    bool in_ram = false;
    int rc = lode_session_load_for_run(t->session, img, &fo, &fr, &in_ram);
    if (rc != LODE_OK)
        return rc == LODE_E_RANGE || rc == LODE_E_FORMAT ? LODE_EXIT_DATAERR : LODE_EXIT_FAILED;
    if (stats)
        fprintf(stderr, "lode run: flash: %zu pages programmed, %zu bytes written\n", fr.pages_programmed,
                fr.bytes_programmed);
    lode_stream_s *line = NULL;
    if ((rc = lode_probe_console(t->probe, &line)) != LODE_OK) {
        fprintf(stderr, "lode run: %s did not start the application: %s\n", t->probe_desc, lode_strerror(rc));
        return LODE_EXIT_UNAVAILABLE;
    }
    const char **argv = calloc((size_t)nargs + 1, sizeof *argv);
    if (!argv)
        return LODE_EXIT_SOFTWARE;
    argv[0] = file;
    for (int k = 0; k < nargs; k++)
        argv[k + 1] = args[k];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    lode_serlink_run_config_s c = {.stream = line, .argv = argv, .argc = (size_t)nargs + 1, .output = serial_out,
                                   .input = rtt_input, .user = io, .timeout_us = (uint64_t)(timeout_s * 1e6),
                                   .now_us = lode_probe_has_clock(t->probe) ? probe_clock : NULL, .clock_user = t->probe,
                                   .interrupt = &g_interrupted, .log = &cli->log};
    lode_serlink_result_s res;
    rc = lode_serlink_run(&c, &res);
    signal(SIGINT, SIG_DFL);
    free(argv);
    fflush(stdout);
    if (stats)
        fprintf(stderr, "lode run: %.3f s on the serial line, %llu bytes of output, %u arguments requests\n",
                (double)res.us / 1e6, (unsigned long long)res.bytes_out, res.args_requests);
    if (rc != LODE_OK) {
        fprintf(stderr, "lode run: lost the board's serial line: %s\n", lode_strerror(rc));
        return LODE_EXIT_UNAVAILABLE;
    }
    switch (res.end) {
    case LODE_SERLINK_EXITED: {
        int32_t v = res.exit_code;
        if (v >= 0 && v <= 255)
            return (int)v;
        int ex = (v & 0xFF) ? (int)(v & 0xFF) : LODE_EXIT_FAILED;
        fprintf(stderr, "lode run: the firmware exited with %ld, which an exit status cannot hold (0-255): lode "
                        "exits %d\n", (long)v, ex);
        return ex;
    }
    case LODE_SERLINK_TIMEOUT:
        fprintf(stderr, "lode run: timeout after %.3g s: the firmware sent no exit code (lode_link_exit)\n",
                timeout_s);
        return LODE_EXIT_TIMEOUT;
    case LODE_SERLINK_INTERRUPTED:
        fprintf(stderr, "lode run: interrupted: the application keeps running on the board\n");
        return LODE_EXIT_INTERRUPTED;
    case LODE_SERLINK_LOST:
    default:
        fprintf(stderr, "lode run: the board's serial line closed (the port vanished or the board went away) "
                        "before the firmware sent its exit code\n");
        return LODE_EXIT_UNAVAILABLE;
    }
}

static void run_usage(FILE *f, const char *name)
{
    fprintf(f,
            "usage: lode %s [options] %s\n"
            "\n"
            "%s"
            "Options come before FILE; everything after FILE (a -- between is optional) is the\n"
            "firmware's command line, so lode works as a cargo runner and as CMake's\n"
            "CMAKE_CROSSCOMPILING_EMULATOR (`lode;run`).\n"
            "Semihosting and RTT up channel 0 go to stdout, stdin goes to RTT down channel 0 and\n"
            "to semihosting reads; ARGS are the firmware's command line (SYS_GET_CMDLINE). lode\n"
            "exits with the firmware's exit code (SYS_EXIT_EXTENDED subcode; SYS_EXIT with\n"
            "ApplicationExit = 0), or with 124 (timeout), 125 (halted otherwise, e.g. a stop on a\n"
            "breakpoint), 130 (Ctrl-C), 134 (HardFault/lockup; the fault is reported).\n"
            "On a bootloader board (the simulated Uno: --board uno; --probe arduino:PORT)\n"
            "lode flashes through the bootloader and starts the application; its serial line is\n"
            "the console (stdin goes to the board once it has sent something); the arguments and\n"
            "the exit code travel over the lode serial link (docs/serial-link.md, the firmware's\n"
            "lode_link.h); --timeout is the board's time there: simulated time on the simulated\n"
            "Uno and Mega (which follows the wall clock while the board runs on its own, and\n"
            "stands still while it waits for the host), the wall clock on a real board.\n"
            "\n"
            "  --timeout SECONDS        stop after this much target time (simulated time on the\n"
            "                           simulated board); default: no limit, as a host program\n"
            "  --break SYMBOL|ADDR      report hits of a breakpoint (repeatable)\n"
            "  --watch SYMBOL[+LEN][:r|w|rw]  report accesses to a variable (repeatable)\n"
            "  --on-hit continue|stop   what to do after a hit (default continue)\n"
            "  --rtt-channels           also print RTT up channels other than 0, prefixed\n"
            "  --rtt-scan ADDR LEN      where to look for the RTT control block (default: the\n"
            "                           ELF symbol _SEGGER_RTT, else the chip's RAM)\n"
            "  --semihosting-root DIR   directory semihosting file access is confined to (default .)\n"
            "  --semihosting-allow-system  let the firmware run host commands (SYS_SYSTEM)\n"
            "  --itm                    show the ITM stimulus ports (SWO; the simulated board's\n"
            "                           capture): port 0 as text, others as packets\n"
            "  --stats                  print run statistics to stderr\n"
            "\n",
            name, !strcmp(name, "rtt") ? "[FILE]" : "FILE [--] [ARGS...]",
            !strcmp(name, "run")      ? "Flash FILE (sectors that already match are skipped), reset the target and run it\n"
                                         "like a host program.\n"
            : !strcmp(name, "rtt") ? "The RTT terminal on the running target (no flashing, no reset): every up channel\n"
                                     "(others prefixed by name), stdin to down channel 0. FILE (optional) gives\n"
                                     "_SEGGER_RTT's address; else RAM is scanned. Ctrl-C ends it.\n"
                                   : "Serve a target that is already running FILE (no flashing, no reset): semihosting,\n"
                                     "RTT, breakpoints, watchpoints.\n");
    cli_target_options_help(f);
}

/* what run's options with checks keep */
typedef struct run_opts_s {
    bool cont;
    char **breaks, **watches;
    size_t nb, nw;
    uint32_t scan_addr, scan_len;
} run_opts_s;

static bool add_point(char **list, size_t *n, const char *cmd, const char *opt, char *v)
{
    if (*n == MAX_POINTS) {
        fprintf(stderr, "lode %s: at most %d %s\n", cmd, MAX_POINTS, opt);
        return false;
    }
    list[(*n)++] = v;
    return true;
}

static bool opt_break(void *user, const char *cmd, char *const *v)
{
    run_opts_s *o = user;
    return add_point(o->breaks, &o->nb, cmd, "--break", v[0]);
}

static bool opt_watch(void *user, const char *cmd, char *const *v)
{
    run_opts_s *o = user;
    return add_point(o->watches, &o->nw, cmd, "--watch", v[0]);
}

static bool opt_on_hit(void *user, const char *cmd, char *const *v)
{
    run_opts_s *o = user;
    if (strcmp(v[0], "continue") && strcmp(v[0], "stop")) {
        fprintf(stderr, "lode %s: --on-hit is continue or stop, got '%s'\n", cmd, v[0]);
        return false;
    }
    o->cont = !strcmp(v[0], "continue");
    return true;
}

static bool opt_rtt_scan(void *user, const char *cmd, char *const *v)
{
    run_opts_s *o = user;
    if (!cli_parse_u32(v[0], &o->scan_addr) || !cli_parse_u32(v[1], &o->scan_len) || !o->scan_len) {
        fprintf(stderr, "lode %s: --rtt-scan wants ADDR LEN\n", cmd);
        return false;
    }
    return true;
}

static int run_common(cli_ctx_s *cli, int argc, char **argv, bool attach, bool rtt_only)
{
    const char *name = rtt_only ? "rtt" : attach ? "attach" : "run";
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    const char *file = NULL, *root = ".";
    double timeout_s = 0;
    bool stats = false, allow_system = false, itm = false;
    run_cli_full_s rc_ctx = {.cont = true};
    char *breaks[MAX_POINTS], *watches[MAX_POINTS];
    size_t nb = 0, nw = 0;
    uint32_t scan_addr = 0, scan_len = 0;
    run_opts_s ro = {.cont = true, .breaks = breaks, .watches = watches};
    const cli_opt_s opts[] = {
        {"--timeout", 1, .fn = cli_opt_timeout, .user = &timeout_s},
        {"--break", 1, .fn = opt_break},
        {"--watch", 1, .fn = opt_watch},
        {"--on-hit", 1, .fn = opt_on_hit},
        {"--rtt-channels", 0, .flag = &rc_ctx.r.rtt_all_channels, .set = true},
        {"--rtt-scan", 2, .fn = opt_rtt_scan},
        {"--semihosting-root", 1, .val = &root},
        {"--semihosting-allow-system", 0, .flag = &allow_system, .set = true},
        {"--stats", 0, .flag = &stats, .set = true},
        {"--itm", 0, .flag = &itm, .set = true},
        {NULL, 0, NULL, false, NULL, NULL, NULL, false},
    };
    const cli_args_spec_s spec = {name, run_usage, opts, &ro, &to, &file, 1, "more than one FILE", false, true, !rtt_only, NULL, false};
    int npos, i;
    int pex = cli_args_parse(&spec, argc, argv, &npos, &i);
    if (pex >= 0)
        return pex;
    rc_ctx.cont = ro.cont;
    nb = ro.nb;
    nw = ro.nw;
    scan_addr = ro.scan_addr;
    scan_len = ro.scan_len;
    if (!file && !rtt_only) {
        fprintf(stderr, "lode %s: no firmware FILE given: see `lode %s --help`\n", name, name);
        return LODE_EXIT_USAGE;
    }
    if (rtt_only)
        rc_ctx.r.rtt_all_channels = true;
    int ex = LODE_EXIT_OK;
    lode_image_s *img = NULL;
    int rc = file ? lode_image_load_file(file, LODE_IMAGE_AUTO, 0, false, &cli->log, &img) : LODE_OK;
    if (rc != LODE_OK)
        return rc == LODE_E_NO_DEVICE || rc == LODE_E_IO || rc == LODE_E_ACCESS ? LODE_EXIT_NOINPUT
                                                                                : LODE_EXIT_DATAERR;
    /* the firmware's command line, quoted for the C library in the image to split it again */
    char *cmdline = NULL;
    size_t bad = 0;
    const char *why_arg = "";
    rc = lode_semihost_cmdline_build(lode_semihost_cmdline_style(img), file, (const char *const *)argv + i,
                                     (size_t)(argc - i), &cmdline, &bad, &why_arg);
    if (rc != LODE_OK) {
        if (rc == LODE_E_INVALID_ARG)
            fprintf(stderr, "lode %s: cannot pass argument %zu ('%s') to the firmware: %s\n", name, bad + 1,
                    argv[i + (int)bad], why_arg);
        lode_image_free(img);
        return rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_SOFTWARE;
    }
    rc_ctx.r.img = img;
    lode_run_point_s bps[MAX_POINTS], wps[MAX_POINTS];
    for (size_t k = 0; k < nb; k++)
        if (cli_parse_point(img, breaks[k], 0, &bps[k]) != 0) {
            ex = LODE_EXIT_USAGE;
            goto out_img;
        }
    for (size_t k = 0; k < nw; k++)
        if (cli_parse_point(img, watches[k], 1, &wps[k]) != 0) {
            ex = LODE_EXIT_USAGE;
            goto out_img;
        }

    cli_target_s t;
    if ((ex = cli_target_open(cli, &to, false, &t)) != LODE_EXIT_OK)
        goto out_img;
    if (!t.core.halt) { /* a bootloader board: the serial line is the console */
        if (nb || nw || itm || scan_len) {
            fprintf(stderr, "lode %s: --break, --watch, --itm and --rtt-scan need a debug probe; %s is a "
                            "bootloader\n", name, t.probe_desc);
            ex = LODE_EXIT_USAGE;
        } else {
            ex = run_serial(cli, &t, img, file, argv + i, argc - i, timeout_s, stats, &rc_ctx.r);
        }
        goto out_target;
    }
    double wall0 = cli_now_s();
    bool in_ram = false;
    if (!attach) {
        /* flash (sectors that already match are skipped), or an image linked for RAM loaded there */
        lode_flash_opts_s fo = {.skip_unchanged = true};
        lode_flash_result_s fr;
        rc = lode_session_load_for_run(t.session, img, &fo, &fr, &in_ram);
        if (rc != LODE_OK) {
            ex = rc == LODE_E_RANGE || rc == LODE_E_FORMAT ? LODE_EXIT_DATAERR : LODE_EXIT_FAILED;
            goto out_target;
        }
        if (stats)
            fprintf(stderr, "lode run: %s: %zu sectors erased, %zu pages programmed, %zu bytes written\n",
                    in_ram ? "loaded into RAM" : "flash", fr.sectors_erased, fr.pages_programmed,
                    fr.bytes_programmed);
    }

    lode_semihost_config_s shc = {.io = cli_semihost_io(&t.core), .cmdline = cmdline, .root = root, .allow_system = allow_system,
                                  .log = cli->log};
    lode_semihost_s *sh = NULL;
    if ((rc = lode_semihost_new(&shc, &sh)) != LODE_OK) { /* the library said why */
        ex = rc == LODE_E_NO_DEVICE ? LODE_EXIT_NOINPUT : rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE
                                                                                   : LODE_EXIT_SOFTWARE;
        goto out_target;
    }
    /* a server doing semihosting itself asks for File-I/O: served by the same host */
    lode_probe_set_fileio(t.probe, gdb_fileio, sh);
    /* RTT: the ELF's _SEGGER_RTT, else scan the chip's RAM (or --rtt-scan) */
    lode_rtt_config_s rcfg;
    memset(&rcfg, 0, sizeof rcfg);
    const lode_symbol_s *rs = img ? lode_image_find_symbol(img, "_SEGGER_RTT") : NULL;
    lode_rtt_range_s ranges[8] = {{scan_addr, scan_len}};
    if (scan_len && t.chip) {
        /* the range must be memory the chip has: elsewhere the block is never found and the
         * firmware would wait for its host forever */
        bool inside = false;
        for (size_t k = 0; k < t.chip->nmemory && !inside; k++) {
            const lode_target_mem_s *m = &t.chip->memory[k];
            inside = m->kind == LODE_TARGET_MEM_RAM && scan_addr >= m->start &&
                     (uint64_t)scan_addr + scan_len <= m->end;
        }
        if (!inside) {
            fprintf(stderr, "lode %s: --rtt-scan 0x%08x %u is not inside the RAM of %s: give a range "
                            "in its RAM (see lode info)\n", name, (unsigned)scan_addr, (unsigned)scan_len,
                    t.chip->name);
            ex = LODE_EXIT_USAGE;
            goto out_sh;
        }
    }
    size_t nranges = scan_len ? 1 : lode_rtt_ranges_for_chip(t.chip, ranges, 8);
    rcfg.cb_addr = rs ? rs->value : 0;
    rcfg.ranges = ranges;
    rcfg.nranges = nranges;
    /* firmware without RTT is normal: the search's failures are news only with -v */
    rcfg.log = cli->log;
    if (!cli->verbose)
        rcfg.log.fn = NULL;
    lode_rtt_s *rtt = NULL;
    lode_rtt_new(&t.core, &rcfg, &rtt); /* through a GDB server: each poll stops the target briefly */
    rc_ctx.r.rtt = rtt;
    if (itm) {
        /* SWO through the probe (the firmware sets the ITM up and ACPR for its core clock) */
        if (lode_session_swo_start(t.session, 0, NULL) != LODE_OK) {
            fprintf(stderr, "lode %s: --itm: %s cannot capture SWO (a GDB server has none; a CMSIS-DAP "
                            "probe may lack the SWO capability, ST-Link firmware trace): use a probe that "
                            "can, or RTT instead\n", name, t.probe_desc);
            ex = LODE_EXIT_UNAVAILABLE;
            lode_rtt_free(rtt);
            lode_semihost_free(sh);
            goto out_target;
        }
        rc_ctx.r.swo_probe = t.session;
        lode_itm_decoder_init(&rc_ctx.r.itm);
        lode_itm_decoder_set_resync(&rc_ctx.r.itm, LODE_ITM_RESYNC_NEXT);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    lode_run_config_s rcf = {.core = &t.core, .sh = sh, .reset_first = !attach && !in_ram,
                             .timeout_us = (uint64_t)(timeout_s * 1e6), .interrupt = &g_interrupted,
                             .breaks = bps, .nbreaks = nb, .watches = wps, .nwatches = nw,
                             .on_hit = on_hit, .hit_user = &rc_ctx, .rtt = rtt, .rtt_out = rtt_out,
                             .input = rtt_input, .io_user = &rc_ctx.r, .tick = swo_tick,
                             .poll_us = lode_probe_poll_us(t.probe),
                             .log = cli->log};
    lode_run_result_s res;
    rc = lode_run(&rcf, &res);
    signal(SIGINT, SIG_DFL);
    if (rc_ctx.r.swo_probe) {
        swo_tick(&rc_ctx.r); /* what arrived after the last poll */
        lode_itm_flush(&rc_ctx.r.itm, on_itm, &rc_ctx.r);
        lode_session_swo_stop(t.session);
    }
    fflush(stdout);
    char pc[160], lr[160];
    cli_sym(img, res.pc, pc, sizeof pc);
    cli_sym(img, res.lr, lr, sizeof lr);
    if (rc == LODE_E_RANGE || rc == LODE_E_INVALID_ARG || rc == LODE_E_UNSUPPORTED) {
        /* a --break / --watch the core cannot take (the library said which and why) */
        fprintf(stderr, "lode %s: the run could not start as asked: %s (see above)\n", name, lode_strerror(rc));
        ex = LODE_EXIT_USAGE;
    } else if (rc != LODE_OK) {
        fprintf(stderr, "lode %s: lost the target: %s\n", name, lode_strerror(rc));
        ex = LODE_EXIT_UNAVAILABLE;
    } else if (res.exited_before) {
        fprintf(stderr, "lode %s: the firmware already exited (the core is stopped at its exit call, pc %s): "
                        "nothing runs; `lode run FILE` starts it again\n", name, pc);
        ex = LODE_EXIT_TARGET;
    } else {
        switch (res.end) {
        case LODE_RUN_EXITED:
            ex = exit_status(name, &res);
            break;
        case LODE_RUN_TIMEOUT:
            fprintf(stderr, "lode %s: timeout after %.3g s: the core was at pc %s, lr %s\n", name,
                    timeout_s, pc, lr);
            ex = LODE_EXIT_TIMEOUT;
            break;
        case LODE_RUN_INTERRUPTED:
            fprintf(stderr, "lode %s: interrupted: the core stopped at pc %s, lr %s\n", name, pc, lr);
            ex = LODE_EXIT_INTERRUPTED;
            break;
        case LODE_RUN_HALTED: {
            char why[96];
            lode_cortexm_dfsr_describe(res.dfsr, why, sizeof why);
            fprintf(stderr, "lode %s: the core halted (%s) at pc %s, lr %s\n", name, why, pc, lr);
            ex = LODE_EXIT_TARGET;
            break;
        }
        case LODE_RUN_FAULT:
            if (res.lockup) {
                fprintf(stderr, "lode %s: the core locked up at pc %s (a fault inside the fault "
                                "handler, or no usable vector table)\n", name, pc);
            } else {
                char fpc[160], flr[160];
                cli_sym(img, res.frame[6], fpc, sizeof fpc);
                cli_sym(img, res.frame[5], flr, sizeof flr);
                fprintf(stderr, "lode %s: HardFault: %s\n", name, res.fault_text);
                if (res.frame_valid) {
                    fprintf(stderr, "  faulting context: pc %s, lr %s, xpsr %08x\n", fpc, flr, res.frame[7]);
                    fprintf(stderr, "  stacked r0 %08x r1 %08x r2 %08x r3 %08x r12 %08x\n", res.frame[0],
                            res.frame[1], res.frame[2], res.frame[3], res.frame[4]);
                }
                fprintf(stderr, "  CFSR %08x HFSR %08x BFAR %08x MMFAR %08x\n", res.cfsr, res.hfsr,
                        res.bfar, res.mmfar);
            }
            ex = LODE_EXIT_FAULT;
            break;
        }
    }
    if (stats)
        fprintf(stderr, "lode %s: %.6f s of target time, %llu semihosting calls, %.3f s host\n", name,
                (double)res.us / 1e6, (unsigned long long)res.semihost_calls, cli_now_s() - wall0);
    lode_rtt_free(rtt);
out_sh:
    lode_semihost_free(sh);
out_target:
    {
        int cex = cli_target_close(&t); /* non-zero: the board's state was not saved (reported) */
        if (ex == LODE_EXIT_OK)
            ex = cex;
    }
out_img:
    lode_image_free(img);
    free(cmdline);
    return ex;
}

int cli_cmd_run(cli_ctx_s *cli, int argc, char **argv) { return run_common(cli, argc, argv, false, false); }
int cli_cmd_attach(cli_ctx_s *cli, int argc, char **argv) { return run_common(cli, argc, argv, true, false); }
/* `lode rtt [FILE]`: the RTT terminal alone, on the running target (every up channel shown) */
int cli_cmd_rtt(cli_ctx_s *cli, int argc, char **argv) { return run_common(cli, argc, argv, true, true); }
