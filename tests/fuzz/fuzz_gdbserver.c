/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the GDB server's packet handling: the input is what a GDB client sends
 * (framing, acks, Ctrl-C, any packet), served against an in-memory fake core that is always
 * halted. The server must neither crash nor hang; replies go to a non-blocking socket (a full
 * socket ends the session, as a vanished client would). */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/gdbserver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fake_s {
    uint32_t regs[0x204];
    uint8_t flash[4096], ram[4096];
} fake_s;

static uint8_t *mem_at(fake_s *f, uint32_t addr, size_t len)
{
    if (addr >= 0x08000000u && (uint64_t)addr + len <= 0x08000000u + sizeof f->flash)
        return f->flash + (addr - 0x08000000u);
    if (addr >= 0x20000000u && (uint64_t)addr + len <= 0x20000000u + sizeof f->ram)
        return f->ram + (addr - 0x20000000u);
    return NULL;
}

static int f_ok(void *ctx) { (void)ctx; return LODE_OK; }
static int f_state(void *ctx, lode_core_state_s *st)
{
    (void)ctx;
    memset(st, 0, sizeof *st);
    st->halted = true;
    st->dfsr = 0x2; /* BKPT: also drives the semihosting check */
    return LODE_OK;
}
static int f_reg_read(void *ctx, unsigned sel, uint32_t *v)
{
    fake_s *f = ctx;
    if (sel >= 0x204)
        return LODE_E_UNSUPPORTED;
    *v = f->regs[sel];
    return LODE_OK;
}
static int f_reg_write(void *ctx, unsigned sel, uint32_t v)
{
    fake_s *f = ctx;
    if (sel >= 0x204)
        return LODE_E_UNSUPPORTED;
    f->regs[sel] = v;
    return LODE_OK;
}
static int f_mem_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    uint8_t *p = mem_at(ctx, addr, len);
    if (!p)
        return LODE_E_FAULT;
    memcpy(buf, p, len);
    return LODE_OK;
}
static int f_mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    uint8_t *p = mem_at(ctx, addr, len);
    if (!p)
        return LODE_E_FAULT;
    memcpy(p, buf, len);
    return LODE_OK;
}
static int f_reset(void *ctx, bool halt) { (void)ctx; (void)halt; return LODE_OK; }
static int f_bp(void *ctx, uint32_t addr) { (void)ctx; return addr & 1 ? LODE_E_RANGE : LODE_OK; }
static int f_wp_set(void *ctx, uint32_t addr, uint32_t len, int kind)
{
    (void)ctx; (void)kind;
    return len > 8 || (addr & 1) ? LODE_E_RANGE : LODE_OK;
}
static int f_wp_clear(void *ctx, uint32_t addr) { (void)ctx; (void)addr; return LODE_OK; }
static uint64_t f_now(void *ctx) { (void)ctx; return 0; }
static void f_delay(void *ctx, uint32_t us) { (void)ctx; (void)us; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR); /* the client has said everything: EOF after the input */
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);

    static fake_s fake; /* large: not on the stack; reset for every input */
    memset(&fake, 0, sizeof fake);
    lode_core_ops_s core = {.ctx = &fake, .halt = f_ok, .resume = f_ok, .step = f_ok,
                            .state = f_state, .reg_read = f_reg_read, .reg_write = f_reg_write,
                            .mem_read = f_mem_read, .mem_write = f_mem_write, .reset = f_reset,
                            .bp_set = f_bp, .bp_clear = f_bp, .wp_set = f_wp_set,
                            .wp_clear = f_wp_clear, .now_us = f_now, .delay_us = f_delay};
    lode_gdbserver_config_s cfg = {.core = &core, .fpu = size & 1, .poll_us = 1};
    (void)lode_gdbserver_serve_fd(&cfg, sv[0]);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
