/* SPDX-License-Identifier: MIT */
/* The firmware's command line from an argument vector, quoted for the C library that splits it
 * again (the styles are described in lode/semihost.h; observed in the crt0 objects Debian 12
 * ships: newlib 3.3's rdimon-crt0.o and picolibc 1.8's crt0-semihost.o). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/image.h"
#include "lode/semihost.h"

lode_sh_cmdline_style_e lode_semihost_cmdline_style(const struct lode_image_s *img)
{
    if (img && lode_image_find_symbol(img, "sys_semihost_get_cmdline") &&
        !lode_image_find_symbol(img, "initialise_monitor_handles"))
        return LODE_SH_CMDLINE_WORDS;
    return LODE_SH_CMDLINE_QUOTED;
}

/* How one word goes into a QUOTED line: 0 as it is, '"' or '\'' in those quotes, -1 never. */
static int quote_for(const char *w)
{
    bool plain = w[0] && w[0] != '"' && w[0] != '\'' && !strchr(w, ' ');
    if (plain)
        return 0;
    if (!strchr(w, '"'))
        return '"';
    if (!strchr(w, '\''))
        return '\'';
    return -1;
}

int lode_semihost_cmdline_build(lode_sh_cmdline_style_e style, const char *prog, const char *const *args,
                                size_t nargs, char **out, size_t *bad, const char **why)
{
    if (!out || (nargs && !args))
        return LODE_E_INVALID_ARG;
    bool words = style == LODE_SH_CMDLINE_WORDS;
    size_t cap = 1 + (prog ? strlen(prog) + 3 : 0);
    for (size_t i = 0; i < nargs; i++)
        cap += strlen(args[i]) + 3;
    /* check every word first: nothing is built for a line that cannot carry them */
    for (size_t i = 0; i <= nargs; i++) {
        const char *w = i == 0 ? prog : args[i - 1];
        if (!w || (i == 0 && words))
            continue;
        const char *msg = NULL;
        if (words && !w[0])
            msg = "it is empty, and picolibc's crt0 splits the command line at spaces without quoting";
        else if (words && strchr(w, ' '))
            msg = "it holds a space, and picolibc's crt0 splits the command line at spaces without quoting";
        else if (!words && quote_for(w) < 0)
            msg = "it needs quoting (a space, or a leading quote) but holds both quote characters, and "
                  "the C library's splitting (\"...\" or '...') has no escapes";
        if (msg) {
            if (bad)
                *bad = i == 0 ? (size_t)-1 : i - 1;
            if (why)
                *why = msg;
            return LODE_E_INVALID_ARG;
        }
    }
    char *s = malloc(cap);
    if (!s)
        return LODE_E_NOMEM;
    size_t len = 0;
    for (size_t i = 0; i <= nargs; i++) {
        const char *w = i == 0 ? prog : args[i - 1];
        if (!w || (i == 0 && words))
            continue;
        if (len)
            s[len++] = ' ';
        int q = words ? 0 : quote_for(w);
        if (q)
            s[len++] = (char)q;
        size_t n = strlen(w);
        memcpy(s + len, w, n);
        len += n;
        if (q)
            s[len++] = (char)q;
    }
    s[len] = 0;
    *out = s;
    return LODE_OK;
}
