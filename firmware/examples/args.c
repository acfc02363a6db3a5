/* SPDX-License-Identifier: MIT */
/* args: a command line, like a host program's argc/argv.
 *
 *     $ lode run build/firmware/examples/args-stm32f103.elf -- one "two words"
 *     argc=3
 *     argv[0]=build/firmware/examples/args-stm32f103.elf
 *     argv[1]=one
 *     argv[2]=two words
 *     $ echo $?
 *     12
 *
 * SYS_GET_CMDLINE (0x15) copies the whole command line into a buffer the program provides,
 * as a single NUL-terminated string: the program's name, a space, the arguments separated
 * by spaces. Splitting it into argv is the program's job (a C library's crt0 does it before
 * main). This one splits as newlib's crt0 does: at spaces (a tab is part of a word); a word
 * that starts with a double or single quote runs to the matching quote ("two words" is one
 * argument, the quotes are dropped; "" is an empty argument). There are no escapes. lode
 * quotes each argument so that this splitting gives it back unchanged.
 *
 * Exit code: the sum of the lengths of argv[1] .. argv[argc-1], modulo 256 (an exit status
 * has 8 bits). For the command above: strlen("one") + strlen("two words") = 3 + 9 = 12.
 * A test can check the arguments arrived intact from the exit status alone.
 *
 * If the command line does not fit in the 256-byte buffer (255 characters and the NUL), the
 * host answers -1: the program prints "args: command line too long" and exits 3. */
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "semihost.h"

#define SYS_GET_CMDLINE 0x15u
#define CMDLINE_SIZE 256u
#define EXIT_TOO_LONG 3

/* A word takes at least one character and one separator, so 256 bytes hold at most 128. */
#define MAX_ARGS (CMDLINE_SIZE / 2u)

static char cmdline[CMDLINE_SIZE];
static char *argv[MAX_ARGS];

/* Asks the host for the command line. Returns 0, or -1 when it does not fit. */
static int get_cmdline(void)
{
    /* Parameter block: buffer address and its size. On success the host writes the string
     * (with its NUL) to the buffer and the string's length (without the NUL) to block[1]. */
    uint32_t block[2] = {(uint32_t)(uintptr_t)cmdline, CMDLINE_SIZE};
    return sh_call(SYS_GET_CMDLINE, block) == 0 ? 0 : -1;
}

/* Splits s in place into argv[] and returns argc, as newlib's crt0 for semihosting does:
 * words are separated by spaces; a word that starts with a double or a single quote runs to
 * the next one of the same kind (the quotes are dropped, so "" is an empty word); any other
 * word runs to the next space, quotes and all. There are no escapes. */
static int split(char *s)
{
    int argc = 0;
    while (argc < (int)MAX_ARGS) {
        while (*s == ' ')
            s++;
        if (*s == '\0')
            break;
        char end = ' ';
        if (*s == '"' || *s == '\'')
            end = *s++;
        argv[argc++] = s;
        while (*s != '\0' && *s != end)
            s++;
        if (*s == '\0')
            break;
        *s++ = '\0';
    }
    return argc;
}

/* Prints "<name>=<value>\n" in one SYS_WRITE0. Room for the longest possible argument. */
static void print_line(const char *name, uint32_t index, int indexed, const char *value)
{
    char line[CMDLINE_SIZE + 32];
    char *p = fmt_str(line, name);
    if (indexed) {
        *p++ = '[';
        p = fmt_udec(p, index);
        *p++ = ']';
    }
    *p++ = '=';
    p = fmt_str(p, value);
    *p++ = '\n';
    *p = '\0';
    sh_write0(line);
}

int main(void)
{
    if (get_cmdline() != 0) {
        sh_write0("args: command line too long\n");
        return EXIT_TOO_LONG;
    }

    int argc = split(cmdline);

    char count[12];
    *fmt_udec(count, (uint32_t)argc) = '\0';
    print_line("argc", 0, 0, count);

    uint32_t sum = 0;
    for (int i = 0; i < argc; i++) {
        print_line("argv", (uint32_t)i, 1, argv[i]);
        if (i > 0)
            for (const char *c = argv[i]; *c; c++)
                sum++;
    }

    /* Returned to the reset handler, which exits with it through SYS_EXIT_EXTENDED. */
    return (int)(sum % 256u);
}
