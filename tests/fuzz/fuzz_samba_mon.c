/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA bootloader's command interpreter (firmware/samd21/samba_mon.c, the code that
 * runs on the simulated SAMD21) compiled for the host, fed the input a byte at a time against a
 * model memory: no access outside the memory it is given, every answer bounded by what the
 * commands allow, and the split of the input never matters (fed whole, then again in one go
 * after a reset: the same answers and memory). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samba_mon.h"

#define RAM_BASE 0x20000000u
#define RAM_SIZE 0x1000u
#define OUT_MAX (1u << 16)

typedef struct fmem_s {
    uint8_t ram[RAM_SIZE];
    uint8_t flash[RAM_SIZE]; /* at 0x2000 */
    uint8_t out[OUT_MAX];
    size_t nout;
    uint32_t reads; /* bounded: R and Z sizes are clamped below */
} fmem_s;

static uint8_t *at(fmem_s *m, uint32_t a)
{
    if (a - RAM_BASE < RAM_SIZE)
        return &m->ram[a - RAM_BASE];
    if (a - 0x2000u < RAM_SIZE)
        return &m->flash[a - 0x2000u];
    return NULL;
}

static uint32_t f_read(void *user, uint32_t addr, unsigned size)
{
    fmem_s *m = user;
    m->reads++;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t *p = at(m, addr + i);
        v |= (uint32_t)(p ? *p : 0) << (8 * i);
    }
    return v;
}

static void f_write(void *user, uint32_t addr, unsigned size, uint32_t val)
{
    fmem_s *m = user;
    for (unsigned i = 0; i < size; i++) {
        uint8_t *p = at(m, addr + i);
        if (p)
            *p = (uint8_t)(val >> (8 * i));
    }
}

static void f_put(void *user, const uint8_t *d, size_t n)
{
    fmem_s *m = user;
    if (n > OUT_MAX - m->nout)
        abort(); /* more output than the harness allows for */
    memcpy(m->out + m->nout, d, n);
    m->nout += n;
}

static int f_erase(void *user, uint32_t addr)
{
    fmem_s *m = user;
    if (addr < 0x2000u || addr >= 0x2000u + RAM_SIZE)
        return -1;
    memset(&m->flash[addr - 0x2000u], 0xFF, RAM_SIZE - (addr - 0x2000u));
    return 0;
}

static int f_copy(void *user, uint32_t dst, uint32_t src, uint32_t len)
{
    fmem_s *m = user;
    if (len > RAM_SIZE || dst < 0x2000u || dst - 0x2000u > RAM_SIZE - len || src - RAM_BASE > RAM_SIZE - len)
        return -1;
    for (uint32_t i = 0; i < len; i++)
        m->flash[dst - 0x2000u + i] &= m->ram[src - RAM_BASE + i];
    return 0;
}

static void f_go(void *user, uint32_t addr)
{
    (void)user;
    (void)addr;
}

static const samba_ops_s fops = {f_read, f_write, f_put, f_erase, f_copy, f_go, "v1.1 [Arduino:XYZ] fuzz"};

/* The harness keeps R and Z from reading gigabytes: sizes above 4 KiB are cut to it before a
 * command's '#' reaches the monitor (the interpreter itself has no limit, as on the chip). */
static void feed(samba_mon_s *mon, fmem_s *m, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (m->nout > OUT_MAX - 0x2000u)
            return; /* enough: the same place in both runs */
        if (data[i] == '#' && mon->s_left == 0 && (mon->cmd == 'R' || mon->cmd == 'Z') && mon->arg[1] > 0x1000u)
            mon->arg[1] = 0x1000u;
        samba_mon_byte(mon, data[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fmem_s a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    samba_mon_s ma, mb;
    samba_mon_init(&ma, &fops, &a);
    samba_mon_init(&mb, &fops, &b);
    feed(&ma, &a, data, size);
    /* the same bytes in two halves: the monitor's state carries over between calls */
    feed(&mb, &b, data, size / 2);
    feed(&mb, &b, data + size / 2, size - size / 2);
    if (a.nout != b.nout || memcmp(a.out, b.out, a.nout) || memcmp(a.ram, b.ram, RAM_SIZE) ||
        memcmp(a.flash, b.flash, RAM_SIZE))
        abort();
    return 0;
}
