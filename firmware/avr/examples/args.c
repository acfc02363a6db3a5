/* SPDX-License-Identifier: MIT */
/* args: a command line, like a host program's argc/argv, over the serial link.
 *
 *     $ lode run --board uno build/firmware-avr/examples/args-uno.elf one "two words"
 *     argc=3
 *     argv[0]=build/firmware-avr/examples/args-uno.elf
 *     argv[1]=one
 *     argv[2]=two words
 *     $ echo $?
 *     12
 *
 * Exit code: the sum of the lengths of argv[1] .. argv[argc-1], modulo 256, as the ARM
 * example's (firmware/examples/args.c): a test can see the arguments arrived intact from the
 * exit status alone. No host answering (a plain serial monitor): "args: no host" and exit 3. */
#include <stdio.h>
#include <string.h>

#include "lode_link.h"

int main(void)
{
    lode_link_init();
    lode_link_stdio();
    int argc;
    char **argv;
    if (lode_link_args(&argc, &argv) != 0) {
        printf("args: no host, or the arguments do not fit (%u bytes, %u arguments)\n",
               (unsigned)LODE_LINK_ARGS_BYTES, (unsigned)LODE_LINK_ARGS_MAX);
        lode_link_exit(3);
    }
    printf("argc=%d\n", argc);
    unsigned sum = 0;
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=%s\n", i, argv[i]);
        if (i)
            sum += strlen(argv[i]);
    }
    lode_link_exit((int32_t)(sum % 256u));
}
