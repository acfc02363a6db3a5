/* SPDX-License-Identifier: MIT */
#include "args.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* the option `a` names (or --name=VALUE), and where its inline value starts */
static const cli_opt_s *find_opt(const cli_opt_s *opts, const char *a, const char **inline_val)
{
    *inline_val = NULL;
    for (const cli_opt_s *o = opts; o && o->name; o++) {
        if (o->bare)
            continue;
        size_t n = strlen(o->name);
        if (!strcmp(a, o->name))
            return o;
        if (o->nval == 1 && !strncmp(a, o->name, n) && a[n] == '=') {
            *inline_val = a + n + 1;
            return o;
        }
    }
    return NULL;
}

static int parse_args(const cli_args_spec_s *spec, int argc, char **argv, int *npos, int *rest)
{
    const char *cmd = spec->cmd;
    *npos = 0;
    *rest = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const cli_opt_s *b = spec->opts;
        while (b && b->name && !(b->bare && !strcmp(a, b->name) && (i + 1 >= argc || argv[i + 1][0] == '-')))
            b++;
        if (b && b->name) {
            *b->flag = b->set;
            continue;
        }
        if (spec->target) {
            int r = cli_target_option(spec->target, argc, argv, &i);
            if (r < 0)
                return LODE_EXIT_USAGE;
            if (r > 0)
                continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            spec->usage(stdout, cmd);
            return LODE_EXIT_OK;
        }
        if (spec->rest && !strcmp(a, "--")) {
            *rest = i + 1;
            return -1;
        }
        const char *iv;
        const cli_opt_s *o = find_opt(spec->opts, a, &iv);
        if (o) {
            char *v[2] = {(char *)iv, NULL};
            if (!iv && o->nval > 0) {
                if (i + o->nval >= argc) {
                    if (spec->unknown) {
                        spec->unknown(cmd, a, true);
                        return LODE_EXIT_USAGE;
                    }
                    fprintf(stderr, "lode %s: %s needs %s: see `lode %s --help`\n", cmd, a,
                            o->nval == 1 ? "a value" : "two values", cmd);
                    return LODE_EXIT_USAGE;
                }
                for (int k = 0; k < o->nval; k++)
                    v[k] = argv[++i];
            }
            if (o->fn) {
                if (!o->fn(o->user ? o->user : spec->user, cmd, v))
                    return LODE_EXIT_USAGE;
            } else if (o->nval == 0) {
                *o->flag = o->set;
            } else {
                *o->val = v[0];
            }
            continue;
        }
        bool is_opt = a[0] == '-' && !(spec->dash_is_pos && a[1] == '\0') &&
                      !(spec->num_is_pos && a[1] >= '0' && a[1] <= '9');
        if (is_opt || (*npos >= spec->max_pos && !spec->too_many)) {
            if (spec->unknown) {
                spec->unknown(cmd, a, false);
                return LODE_EXIT_USAGE;
            }
            fprintf(stderr, "lode %s: unknown option '%s': see `lode %s --help`\n", cmd, a, cmd);
            return LODE_EXIT_USAGE;
        }
        if (*npos >= spec->max_pos) {
            fprintf(stderr, "lode %s: %s ('%s', '%s')%s\n", cmd, spec->too_many, spec->pos[0], a,
                    spec->rest ? ": put firmware arguments after --" : "");
            return LODE_EXIT_USAGE;
        }
        spec->pos[(*npos)++] = a;
        if (spec->runner) {
            /* the runner form (cargo, CMake's CROSSCOMPILING_EMULATOR): everything after FILE is
             * the firmware's, with or without a -- between */
            *rest = i + 1 < argc && !strcmp(argv[i + 1], "--") ? i + 2 : i + 1;
            return -1;
        }
    }
    return -1;
}

int cli_args_parse(const cli_args_spec_s *spec, int argc, char **argv, int *npos, int *rest)
{
    int ex = parse_args(spec, argc, argv, npos, rest);
    /* the board (its chip, probe kind, baud) once every flag is known */
    if (ex < 0 && spec->target && cli_target_apply_board(spec->target) != LODE_EXIT_OK)
        return LODE_EXIT_USAGE;
    return ex;
}

bool cli_opt_timeout(void *user, const char *cmd, char *const *v)
{
    double *t = user;
    char *end;
    *t = strtod(v[0], &end);
    if (*end || end == v[0] || *t <= 0) {
        fprintf(stderr, "lode %s: --timeout wants a positive number of seconds, got '%s'\n", cmd, v[0]);
        return false;
    }
    return true;
}
