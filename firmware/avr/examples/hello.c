/* SPDX-License-Identifier: MIT */
/* hello: a greeting on the serial line, then every line received is echoed back; the line
 * "exit N" ends the program with exit code N (lode run exits with it).
 *
 *     $ printf 'hi\nexit 7\n' | lode run --board uno build/firmware-avr/examples/hello-uno.elf
 *     Hello from lode on the ATmega328P!
 *     echo: hi
 *     $ echo $?
 *     7 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode_link.h"

int main(void)
{
    lode_link_init();
    lode_link_stdio();
    printf("Hello from lode on the ATmega328P!\n");
    char line[64];
    size_t n = 0;
    for (;;) {
        int c = getchar();
        if (c < 0)
            continue;
        if (c != '\n' && n + 1 < sizeof line) {
            line[n++] = (char)c;
            continue;
        }
        line[n] = 0;
        n = 0;
        if (!strncmp(line, "exit ", 5))
            lode_link_exit(atoi(line + 5));
        printf("echo: %s\n", line);
    }
}
