/* SPDX-License-Identifier: MIT */
/* One way for the commands to read their command line: a table of options per command. */
#ifndef LODE_CLI_ARGS_H
#define LODE_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "target.h"

/* One option of a command. A value option also takes the form --name=VALUE. */
typedef struct cli_opt_s {
    const char *name;    /* "--port"; NULL ends the table */
    int nval;            /* values after it: 0, 1 or 2 */
    bool *flag;          /* nval 0: set to `set` */
    bool set;
    const char **val;    /* nval 1: the value goes here (the last one given wins) */
    /* else: checks and keeps the value(s); prints its one-line error and returns false */
    bool (*fn)(void *user, const char *cmd, char *const *v);
    void *user;          /* the fn's (NULL: the spec's) */
    bool bare;           /* nval 0: only when no value follows (nothing or an option next), and
                          * before the target options (`lode erase --chip` vs --chip NAME) */
} cli_opt_s;

typedef struct cli_args_spec_s {
    const char *cmd;              /* "gdb": errors say "lode gdb: ..." */
    void (*usage)(FILE *f, const char *cmd);
    const cli_opt_s *opts;
    void *user;                   /* for the fns */
    cli_target_opts_s *target;    /* takes the target options too (NULL: none) */
    const char **pos;             /* the positional arguments go here, max_pos of them */
    int max_pos;
    const char *too_many;         /* "more than one FILE": said with the first and the extra
                                   * one; NULL: an extra one is an unknown option */
    bool dash_is_pos;             /* "-" is a positional argument (stdin), not an option */
    bool rest;                    /* "--" ends the options; what follows is *rest's */
    bool runner;                  /* ... and so does the first positional (`lode run FILE ARGS...`) */
    /* says the one-line error for an unknown argument (missing: an option without its value(s))
     * in the command's own words; NULL: the common messages */
    void (*unknown)(const char *cmd, const char *arg, bool missing);
    bool num_is_pos;              /* "-1" (a minus and a digit) is a positional argument too */
} cli_args_spec_s;

/* Parses argv[1..]. Returns -1 to go on (*npos positionals; *rest is where the arguments after
 * the options start, argc when none), or an exit code (0 after --help, 64 after an error). */
int cli_args_parse(const cli_args_spec_s *spec, int argc, char **argv, int *npos, int *rest);

/* --timeout SECONDS (user: a double) */
bool cli_opt_timeout(void *user, const char *cmd, char *const *v);

#endif
