/* SPDX-License-Identifier: MIT */
/* hello: the smallest lode program.
 *
 *     $ lode run build/firmware/examples/hello-stm32f103.elf
 *     Hello, world!
 *     $ echo $?
 *     0
 *
 * Semihosting lets the firmware ask the debugger (here: lode) to do things on the host. The
 * program executes `bkpt 0xAB` with an operation number in r0 and a pointer to its
 * parameters in r1; the debugger sees the core halt on that breakpoint, performs the
 * operation, puts the result in r0 and resumes the core after the BKPT.
 *
 * SYS_WRITE0 (0x04) prints a NUL-terminated string on the host's console (lode's stdout). */
#include "semihost.h"

int main(void)
{
    sh_write0("Hello, world!\n");

    /* Returning from main ends the program: the reset handler (src/startup.c) passes the
     * value to SYS_EXIT_EXTENDED {ADP_Stopped_ApplicationExit, 0}, and lode exits with it,
     * just like a host program's exit status. */
    return 0;
}
