/* SPDX-License-Identifier: MIT */
/* The semihosting host's console for the CLI: the target through a core interface
 * (lode_semihost_io_core), the console on the terminal (stdin feeds SYS_READ/SYS_READC). */
#include <stdio.h>
#include <unistd.h>

#include "sh_io.h"

static void console_write(void *ctx, int fd, const uint8_t *data, size_t len)
{
    (void)ctx;
    FILE *f = fd == 2 ? stderr : stdout;
    fwrite(data, 1, len, f);
    fflush(f);
}

static long console_read(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    fflush(stdout);
    ssize_t n = read(0, buf, len);
    return n < 0 ? -1 : (long)n;
}

lode_semihost_io_s cli_semihost_io(const lode_core_ops_s *core)
{
    lode_semihost_io_s io = lode_semihost_io_core(core);
    io.console_write = console_write;
    io.console_read = console_read;
    return io;
}
