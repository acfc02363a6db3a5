/* SPDX-License-Identifier: MIT */
/* argv as the C library's own start-up code splits the semihosting command line: built once
 * with newlib's rdimon crt0 and once with picolibc's semihosting crt0. Prints argc and every
 * argv[i] between < and >; exits with argc. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=<%s>\n", i, argv[i]);
    return argc;
}
