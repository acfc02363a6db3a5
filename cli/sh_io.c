/* SPDX-License-Identifier: MIT */
/* The semihosting host's console and target access for the CLI: the target through a core
 * interface, the console on the terminal (stdin feeds SYS_READ/SYS_READC). */
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

static uint64_t time_us(void *ctx)
{
    const lode_core_ops_s *c = ctx;
    return c->now_us(c->ctx);
}

static int mem_read(void *ctx, uint32_t a, void *b, size_t n)
{
    const lode_core_ops_s *c = ctx;
    return c->mem_read(c->ctx, a, b, n);
}

static int mem_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    const lode_core_ops_s *c = ctx;
    return c->mem_write(c->ctx, a, b, n);
}

lode_semihost_io_s cli_semihost_io(const lode_core_ops_s *core)
{
    lode_semihost_io_s io = {.mem_read = mem_read, .mem_write = mem_write,
                             .console_write = console_write, .console_read = console_read,
                             .time_us = time_us, .ctx = (void *)core};
    return io;
}
