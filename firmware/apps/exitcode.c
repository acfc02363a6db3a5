/* SPDX-License-Identifier: MIT */
/* Exits the way its command line says, to test how a runner reports exits:
 *     exitcode ext REASON VALUE   SYS_EXIT_EXTENDED with {REASON, VALUE}
 *     exitcode exit REASON        SYS_EXIT with REASON in r1 (AArch32)
 * REASON and VALUE are hexadecimal (e.g. 20026 80000000). A bad command line exits 99. */
#include <stdint.h>

#include "semihost.h"

#define SYS_GET_CMDLINE 0x15u

static char cmdline[128];

static const char *skip_word(const char *s)
{
    while (*s && *s != ' ')
        s++;
    while (*s == ' ')
        s++;
    return s;
}

static int hex(const char **s, uint32_t *v)
{
    uint32_t x = 0;
    int n = 0;
    for (; **s && **s != ' '; (*s)++, n++) {
        char c = **s;
        uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                                            : 16u;
        if (d > 15 || n >= 8)
            return -1;
        x = x << 4 | d;
    }
    *s = skip_word(*s);
    *v = x;
    return n ? 0 : -1;
}

int main(void)
{
    uint32_t block[2] = {(uint32_t)(uintptr_t)cmdline, sizeof cmdline};
    if (sh_call(SYS_GET_CMDLINE, block) != 0)
        sh_fail("exitcode: no command line\n", 99);
    const char *s = skip_word(cmdline); /* the program's name */
    uint32_t reason = 0, value = 0;
    if (s[0] == 'e' && s[1] == 'x' && s[2] == 't' && s[3] == ' ') {
        s += 4;
        if (hex(&s, &reason) || hex(&s, &value))
            sh_fail("exitcode: ext REASON VALUE\n", 99);
        uint32_t b[2] = {reason, value};
        sh_call(SH_SYS_EXIT_EXTENDED, b);
    } else if (s[0] == 'e' && s[1] == 'x' && s[2] == 'i' && s[3] == 't' && s[4] == ' ') {
        s += 5;
        if (hex(&s, &reason))
            sh_fail("exitcode: exit REASON\n", 99);
        sh_call(SH_SYS_EXIT, (const void *)(uintptr_t)reason);
    }
    sh_fail("exitcode: ext REASON VALUE | exit REASON\n", 99);
}
