/* SPDX-License-Identifier: MIT */
/* `lode debug FILE`: an interactive debugger prompt (line editing and history on a terminal,
 * plain lines from a script otherwise). Commands: break, watch, delete, info, continue, step,
 * regs, read, print, where, reset, quit. */
#include <ctype.h>
#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/image.h"
#include "lode/run.h"
#include "lode/semihost.h"
#include "out.h"
#include "points.h"
#include "target.h"

#define MAX_POINTS 16

static volatile int g_dbg_interrupted;
static void dbg_sigint(int sig)
{
    (void)sig;
    g_dbg_interrupted = 1;
}

/* The line editor's character source. A Ctrl-C must cancel the line whenever it comes: the
 * editor's own read() is only cut short by a signal that arrives while it blocks, and one that
 * lands while a key is being echoed (a busy host) was lost, leaving the prompt waiting for
 * more keys. Here SIGINT is blocked from the check of the flag until pselect unblocks it, so a
 * Ctrl-C either is seen by the check or ends the wait. The terminal's own Ctrl-C throws away
 * the keys not read yet, so a read after pselect found some may find none: `in` is the
 * terminal opened again without blocking (dbg_tty_open), and such a read goes back to the
 * wait. -1 (end of input) with the flag set is the cancelled line. */
static int dbg_getc(FILE *in)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    int c = -1, fd = fileno(in);
    while (!g_dbg_interrupted) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        int n = pselect(fd + 1, &rd, NULL, NULL, NULL, &old);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        unsigned char b;
        sigprocmask(SIG_SETMASK, &old, NULL); /* a blocking `in` (no second open) stays interruptible */
        ssize_t r = read(fd, &b, 1);
        int e = errno;
        sigprocmask(SIG_BLOCK, &block, NULL);
        if (r == 1)
            c = b;
        if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
            continue;
        break;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return c;
}

/* The terminal on stdin opened a second time, without blocking (its own open file, so stdin's
 * flags, shared with the shell, stay as they are); stdin itself when that fails. */
static FILE *dbg_tty_open(void)
{
    const char *name = ttyname(0);
    int fd = name ? open(name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0)
        close(fd);
    return f ? f : stdin;
}

typedef struct dbg_s {
    cli_target_s t;
    lode_image_s *img;
    lode_semihost_s *sh;
    lode_run_point_s breaks[MAX_POINTS], watches[MAX_POINTS];
    char *bspec[MAX_POINTS], *wspec[MAX_POINTS];
    size_t nb, nw;
    bool exited;
    uint64_t timeout_us; /* --timeout: bound on each continue (0: none) */
} dbg_s;

static void sh_out(void *ctx, int fd, const uint8_t *d, size_t n)
{
    (void)ctx;
    fwrite(d, 1, n, fd == 2 ? stderr : stdout);
    fflush(fd == 2 ? stderr : stdout);
}
static void where(dbg_s *d)
{
    uint32_t pc = 0, lr = 0, sp = 0, xpsr = 0;
    lode_core_ops_s *c = &d->t.core;
    if (c->reg_read(c->ctx, 15, &pc) || c->reg_read(c->ctx, 14, &lr) || c->reg_read(c->ctx, 13, &sp) ||
        c->reg_read(c->ctx, 16, &xpsr)) {
        printf("cannot read the registers (is the core halted?)\n");
        return;
    }
    char a[160], b[160];
    cli_sym(d->img, pc, a, sizeof a);
    cli_sym(d->img, lr, b, sizeof b);
    printf("pc %s\nlr %s\nsp 0x%08x  xpsr 0x%08x%s\n", a, b, sp, xpsr,
           (xpsr & 0x1FF) ? "  (in an exception handler)" : "");
}

static bool dbg_hit(void *user, const lode_run_hit_s *hit)
{
    dbg_s *d = user;
    char pc[160];
    cli_sym(d->img, hit->regs[15], pc, sizeof pc);
    if (hit->kind == LODE_RUN_HIT_BREAK)
        printf("breakpoint %s at %s\n", hit->point->name, pc);
    else
        printf("watchpoint %s: 0x%x -> 0x%x at %s\n", hit->point->name, hit->old_value,
               hit->new_value, pc);
    return false; /* the prompt: stop at every hit */
}

static void do_continue(dbg_s *d)
{
    if (d->exited) {
        printf("the program has exited: `reset` to start it again\n");
        return;
    }
    g_dbg_interrupted = 0;
    lode_run_config_s rc = {.core = &d->t.core, .sh = d->sh, .reset_first = false,
                            .interrupt = &g_dbg_interrupted, .timeout_us = d->timeout_us, .breaks = d->breaks, .nbreaks = d->nb,
                            .watches = d->watches, .nwatches = d->nw, .on_hit = dbg_hit,
                            .hit_user = d, .log = d->t.cli->log};
    lode_run_result_s res;
    int e = lode_run(&rc, &res);
    if (e != LODE_OK) {
        printf("lost the target: %s\n", lode_strerror(e));
        return;
    }
    char pc[160];
    cli_sym(d->img, res.pc, pc, sizeof pc);
    switch (res.end) {
    case LODE_RUN_EXITED:
        printf("the program exited with code %d\n", res.exit_code);
        d->exited = true;
        break;
    case LODE_RUN_FAULT:
        printf("HardFault: %s\n", res.fault_text);
        if (res.frame_valid) {
            cli_sym(d->img, res.frame[6], pc, sizeof pc);
            printf("faulting context: pc %s\n", pc);
        }
        break;
    case LODE_RUN_INTERRUPTED:
        printf("interrupted at %s\n", pc);
        break;
    case LODE_RUN_HALTED:
        break; /* the hit was reported */
    case LODE_RUN_TIMEOUT:
        printf("timeout at %s\n", pc);
        break;
    }
}

static void do_regs(dbg_s *d)
{
    static const unsigned regs[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    uint32_t v[19];
    if (!lode_session_cortexm(d->t.session)) { /* a GDB server: r0-r15 and xPSR through the core operations */
        for (unsigned i = 0; i < 17; i++) {
            if (d->t.core.reg_read(d->t.core.ctx, regs[i], &v[i]) != LODE_OK) {
                printf("cannot read the registers through %s\n", d->t.probe_desc);
                return;
            }
            printf("%-5s 0x%08x%s", lode_cortexm_reg_name(regs[i]), v[i], i % 4 == 3 || i == 16 ? "\n" : "   ");
        }
        return;
    }
    lode_cortexm_s *cm = lode_session_cortexm(d->t.session);
    int e = lode_cortexm_regs_read(cm, regs, v, 19);
    if (e != LODE_OK) {
        printf("cannot read the registers: %s\n", lode_strerror(e));
        return;
    }
    for (unsigned i = 0; i < 19; i++)
        printf("%-5s 0x%08x%s", lode_cortexm_reg_name(regs[i]), v[i], i % 4 == 3 || i == 18 ? "\n" : "   ");
}

static void do_print(dbg_s *d, const char *name)
{
    const lode_symbol_s *s = d->img ? lode_image_find_symbol(d->img, name) : NULL;
    if (!s) {
        printf("no symbol '%s'\n", name);
        return;
    }
    uint32_t size = s->size ? s->size : 4;
    if (size > 64)
        size = 64;
    uint8_t buf[64];
    int e = d->t.core.mem_read(d->t.core.ctx, s->value & (s->type == LODE_STT_FUNC ? ~1u : ~0u), buf, size);
    if (e != LODE_OK) {
        printf("cannot read %s: %s\n", name, lode_strerror(e));
        return;
    }
    if (size == 1 || size == 2 || size == 4) {
        uint32_t v = 0;
        for (uint32_t i = 0; i < size; i++)
            v |= (uint32_t)buf[i] << (8 * i);
        printf("%s = %u (0x%x)\n", name, v, v);
    } else {
        printf("%s (%u bytes at 0x%08x):\n", name, size, s->value);
        cli_hexdump(stdout, s->value, buf, size);
    }
}

static void help(void)
{
    puts("commands:\n"
         "  break SYMBOL|ADDR             set a breakpoint        (b)\n"
         "  watch SYMBOL[+LEN][:r|w|rw]   set a watchpoint        (w)\n"
         "  delete N|all                  remove breakpoint/watchpoint N (see info)\n"
         "  info                          list breakpoints and watchpoints\n"
         "  continue                      run until a hit, exit, fault or Ctrl-C  (c)\n"
         "  step [N]                      execute N instructions  (s)\n"
         "  regs                          core registers\n"
         "  read ADDR LEN                 hexdump memory          (x)\n"
         "  print SYMBOL                  a variable's value      (p)\n"
         "  where                         pc and lr with symbols\n"
         "  reset                         reset and halt at the reset vector\n"
         "  quit                          leave (the core keeps running)  (q)");
}

/* returns false to quit */
static bool command(dbg_s *d, char *line)
{
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (!argc || argv[0][0] == '#')
        return true;
    const char *c = argv[0];
    lode_core_ops_s *core = &d->t.core;
    if (!strcmp(c, "quit") || !strcmp(c, "q") || !strcmp(c, "exit")) {
        return false;
    } else if (!strcmp(c, "help") || !strcmp(c, "?")) {
        help();
    } else if ((!strcmp(c, "break") || !strcmp(c, "b")) && argc == 2) {
        if (d->nb == MAX_POINTS) {
            printf("at most %d breakpoints\n", MAX_POINTS);
        } else if ((d->bspec[d->nb] = strdup(argv[1])) &&
                   cli_parse_point(d->img, d->bspec[d->nb], 0, &d->breaks[d->nb]) == 0) {
            char at[160];
            cli_sym(d->img, d->breaks[d->nb].addr, at, sizeof at);
            printf("breakpoint %zu at %s\n", d->nb + 1, at);
            d->nb++;
        } else {
            free(d->bspec[d->nb]);
        }
    } else if ((!strcmp(c, "watch") || !strcmp(c, "w")) && argc == 2) {
        if (d->nw == MAX_POINTS) {
            printf("at most %d watchpoints\n", MAX_POINTS);
        } else if ((d->wspec[d->nw] = strdup(argv[1])) &&
                   cli_parse_point(d->img, d->wspec[d->nw], 1, &d->watches[d->nw]) == 0) {
            printf("watchpoint %zu on %s (0x%08x, %u bytes)\n", MAX_POINTS + d->nw + 1,
                   d->watches[d->nw].name, d->watches[d->nw].addr, d->watches[d->nw].len);
            d->nw++;
        } else {
            free(d->wspec[d->nw]);
        }
    } else if (!strcmp(c, "info")) {
        for (size_t i = 0; i < d->nb; i++)
            printf("%zu  break %s (0x%08x)\n", i + 1, d->breaks[i].name, d->breaks[i].addr);
        for (size_t i = 0; i < d->nw; i++)
            printf("%zu  watch %s (0x%08x, %u bytes)\n", MAX_POINTS + i + 1, d->watches[i].name,
                   d->watches[i].addr, d->watches[i].len);
        if (!d->nb && !d->nw)
            printf("no breakpoints or watchpoints\n");
    } else if (!strcmp(c, "delete") && argc == 2) {
        if (!strcmp(argv[1], "all")) {
            for (size_t i = 0; i < d->nb; i++)
                free(d->bspec[i]);
            for (size_t i = 0; i < d->nw; i++)
                free(d->wspec[i]);
            d->nb = d->nw = 0;
        } else {
            unsigned n = (unsigned)atoi(argv[1]);
            if (n >= 1 && n <= d->nb) {
                free(d->bspec[n - 1]);
                memmove(&d->breaks[n - 1], &d->breaks[n], (d->nb - n) * sizeof d->breaks[0]);
                memmove(&d->bspec[n - 1], &d->bspec[n], (d->nb - n) * sizeof d->bspec[0]);
                d->nb--;
            } else if (n > MAX_POINTS && n - MAX_POINTS <= d->nw) {
                unsigned k = n - MAX_POINTS;
                free(d->wspec[k - 1]);
                memmove(&d->watches[k - 1], &d->watches[k], (d->nw - k) * sizeof d->watches[0]);
                memmove(&d->wspec[k - 1], &d->wspec[k], (d->nw - k) * sizeof d->wspec[0]);
                d->nw--;
            } else {
                printf("no breakpoint or watchpoint %s (see info)\n", argv[1]);
            }
        }
    } else if (!strcmp(c, "continue") || !strcmp(c, "c")) {
        do_continue(d);
        if (!d->exited)
            where(d);
    } else if (!strcmp(c, "step") || !strcmp(c, "s") || !strcmp(c, "stepi") || !strcmp(c, "si")) {
        int n = argc > 1 ? atoi(argv[1]) : 1;
        for (int i = 0; i < (n > 0 ? n : 1); i++)
            if (core->step(core->ctx) != LODE_OK) {
                printf("step failed (is the core halted?)\n");
                break;
            }
        where(d);
    } else if (!strcmp(c, "regs") || !strcmp(c, "r")) {
        do_regs(d);
    } else if ((!strcmp(c, "read") || !strcmp(c, "x")) && argc == 3) {
        uint32_t a = 0, n = 0;
        uint8_t buf[4096];
        if (!cli_parse_u32(argv[1], &a) || !cli_parse_u32(argv[2], &n) || !n || n > sizeof buf)
            printf("read ADDR LEN (LEN 1..4096)\n");
        else if (core->mem_read(core->ctx, a, buf, n) != LODE_OK)
            printf("cannot read 0x%08x..0x%08x\n", a, a + n - 1);
        else
            cli_hexdump(stdout, a, buf, n);
    } else if ((!strcmp(c, "print") || !strcmp(c, "p")) && argc == 2) {
        do_print(d, argv[1]);
    } else if (!strcmp(c, "where") || !strcmp(c, "bt")) {
        where(d);
    } else if (!strcmp(c, "reset")) {
        if (core->reset(core->ctx, true) == LODE_OK) {
            d->exited = false;
            where(d);
        } else {
            printf("reset failed\n");
        }
    } else {
        printf("unknown command '%s' (or wrong arguments): type help\n", c);
    }
    fflush(stdout);
    return true;
}

static void debug_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fputs("usage: lode debug [options] FILE\n\nAn interactive debugger prompt for the "
          "target running FILE (flash it first with `lode flash`). The core is reset and "
          "halted\nat the reset vector. Commands come from the terminal (line editing, "
          "history) or from a script on stdin; `help` lists them.\n"
          "Ctrl-C stops a running `continue` or cancels the line being typed; Ctrl-D or `quit` leave.\n"
          "  --timeout SECONDS   stop each `continue` after this much target time\n\n",
          f);
    cli_target_options_help(f);
}

int cli_cmd_debug(cli_ctx_s *cli, int argc, char **argv)
{
    cli_target_opts_s to;
    cli_target_opts_init(&to);
    const char *file = NULL;
    double timeout_s = 0;
    const cli_opt_s opts[] = {
        {"--timeout", 1, .fn = cli_opt_timeout},
        {NULL, 0, NULL, false, NULL, NULL, NULL, false},
    };
    const cli_args_spec_s spec = {"debug", debug_usage, opts, &timeout_s, &to, &file, 1, "more than one FILE", false, false, false, NULL, false};
    int npos, rest;
    int pex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (pex >= 0)
        return pex;
    if (!file) {
        fprintf(stderr, "lode debug: no FILE given (the ELF whose symbols to use)\n");
        return LODE_EXIT_USAGE;
    }
    dbg_s d;
    memset(&d, 0, sizeof d);
    d.timeout_us = (uint64_t)(timeout_s * 1e6);
    int rc = lode_image_load_file(file, LODE_IMAGE_AUTO, 0, false, &cli->log, &d.img);
    if (rc != LODE_OK)
        return rc == LODE_E_NO_DEVICE || rc == LODE_E_IO ? LODE_EXIT_NOINPUT : LODE_EXIT_DATAERR;
    int ex = cli_target_open(cli, &to, false, &d.t);
    if (ex != LODE_EXIT_OK) {
        lode_image_free(d.img);
        return ex;
    }
    lode_semihost_config_s shc = {.io = lode_semihost_io_core(&d.t.core), .cmdline = file};
    shc.io.console_write = sh_out;
    lode_semihost_new(&shc, &d.sh);
    d.t.core.reset(d.t.core.ctx, true);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = dbg_sigint;
    sigaction(SIGINT, &sa, NULL);
    bool tty = isatty(0);
    if (tty) {
        rl_instream = dbg_tty_open(); /* both read when the editor first starts */
        rl_getc_function = dbg_getc;
        printf("lode debug: %s on %s; `help` for commands\n", file, d.t.chip->name);
    }
    where(&d);
    for (;;) {
        char *line = NULL;
        if (tty) {
            g_dbg_interrupted = 0; /* a Ctrl-C that stopped `continue` is not this line's */
            line = readline("(lode) ");
            if (!line && g_dbg_interrupted) { /* Ctrl-C cancels the line; Ctrl-D or quit leave */
                g_dbg_interrupted = 0;
                putchar('\n');
                continue;
            }
            if (!line)
                break;
            if (*line)
                add_history(line);
        } else {
            size_t cap = 0;
            if (getline(&line, &cap, stdin) < 0) {
                free(line);
                if (g_dbg_interrupted && !feof(stdin)) {
                    g_dbg_interrupted = 0;
                    clearerr(stdin);
                    putchar('\n');
                    continue;
                }
                break;
            }
            printf("(lode) %s", line);
        }
        bool go = command(&d, line);
        free(line);
        if (!go)
            break;
    }
    signal(SIGINT, SIG_DFL);
    if (tty && rl_instream != stdin)
        fclose(rl_instream);
    for (size_t i = 0; i < d.nb; i++)
        free(d.bspec[i]);
    for (size_t i = 0; i < d.nw; i++)
        free(d.wspec[i]);
    lode_semihost_free(d.sh);
    cli_target_close(&d.t);
    lode_image_free(d.img);
    return LODE_EXIT_OK;
}
