/* SPDX-License-Identifier: MIT */
/* Exercises the semihosting calls a runner must serve; prints (on the host's stdout)
 *     writec ok / write0 ok / write(:tt) ok / write(1) ok
 * one per line, and exits with SYS_EXIT ApplicationExit (status 0). Any failed call exits 1. */
#include "semihost.h"

#define OPEN_MODE_W 4u /* fopen "w" */

static void write_or_fail(uint32_t handle, const char *s)
{
    size_t len = 0;
    while (s[len])
        len++;
    if (sh_write(handle, s, len) != 0)
        sh_fail("semihost: SYS_WRITE did not write everything\n", 1);
}

int main(void)
{
    for (const char *s = "writec ok\n"; *s; s++)
        sh_writec(*s);
    sh_write0("write0 ok\n");

    uint32_t tt = sh_open(":tt", OPEN_MODE_W);
    if (tt == UINT32_MAX)
        sh_fail("semihost: SYS_OPEN(\":tt\", w) failed\n", 1);
    write_or_fail(tt, "write(:tt) ok\n");
    write_or_fail(1, "write(1) ok\n");

    sh_exit_ok();
}
