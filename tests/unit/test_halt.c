/* SPDX-License-Identifier: MIT */
/* The halted-core service (src/run/halt.c) over a fake core: what it reads (registers in one
 * batch, the BKPT with the semihosting parameter block in one pipelined unit), how it returns
 * (resume_regs, else register writes + resume), which watchpoint it names, faults; and the
 * semihosting helpers it relies on (lode_semihost_param_bytes, lode_semihost_io_core). */
#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/semihost.h"
#include "lode/target.h"
#include "run/halt.h"
#include "test.h"

#define RAM 0x20000000u
#define RAM_SIZE 512u
#define PERIPH 0x40013800u /* a UART: reading its data register pops the receive FIFO */

typedef struct fake_s {
    uint32_t regs[20];
    uint8_t ram[RAM_SIZE];
    uint8_t scb[20]; /* CFSR, HFSR, DFSR, MMFAR, BFAR at 0xE000ED28 */
    unsigned periph_reads; /* any read of [PERIPH, PERIPH + 0x100), plain or pipelined */
    unsigned mem_reads, reg_reads, regs_reads, submits, resume_regs, regs_writes, resumes;
    uint64_t now;
    lode_core_ops_s ops;
} fake_s;

static int f_mem_read(void *ctx, uint32_t a, void *b, size_t n)
{
    fake_s *f = ctx;
    f->mem_reads++;
    if (a < PERIPH + 0x100u && a + n > PERIPH) {
        f->periph_reads++;
        memset(b, 0, n);
        return LODE_OK;
    }
    if (a >= LODE_CM_CFSR && a - LODE_CM_CFSR + n <= sizeof f->scb) {
        memcpy(b, f->scb + (a - LODE_CM_CFSR), n);
        return LODE_OK;
    }
    if (a < RAM || a - RAM + n > RAM_SIZE)
        return LODE_E_FAULT;
    memcpy(b, f->ram + (a - RAM), n);
    return LODE_OK;
}
static int f_mem_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    fake_s *f = ctx;
    if (a < RAM || a - RAM + n > RAM_SIZE)
        return LODE_E_FAULT;
    memcpy(f->ram + (a - RAM), b, n);
    return LODE_OK;
}
static int f_reg_read(void *ctx, unsigned sel, uint32_t *v)
{
    fake_s *f = ctx;
    f->reg_reads++;
    *v = f->regs[sel];
    return LODE_OK;
}
static int f_reg_write(void *ctx, unsigned sel, uint32_t v)
{
    ((fake_s *)ctx)->regs[sel] = v;
    return LODE_OK;
}
static int f_regs_read(void *ctx, const unsigned *sel, uint32_t *v, size_t n)
{
    fake_s *f = ctx;
    f->regs_reads++;
    for (size_t i = 0; i < n; i++)
        v[i] = f->regs[sel[i]];
    return LODE_OK;
}
static int f_regs_write(void *ctx, const unsigned *sel, const uint32_t *v, size_t n)
{
    fake_s *f = ctx;
    f->regs_writes++;
    for (size_t i = 0; i < n; i++)
        f->regs[sel[i]] = v[i];
    return LODE_OK;
}
static int f_resume(void *ctx)
{
    ((fake_s *)ctx)->resumes++;
    return LODE_OK;
}
static int f_resume_regs(void *ctx, const unsigned *sel, const uint32_t *v, size_t n)
{
    fake_s *f = ctx;
    f->resume_regs++;
    for (size_t i = 0; i < n; i++)
        f->regs[sel[i]] = v[i];
    return LODE_OK;
}
static lode_mem_op_s pending[4];
static size_t npending;
static int f_submit(void *ctx, const lode_mem_op_s *ops, size_t n)
{
    fake_s *f = ctx;
    f->submits++;
    if (n > 4)
        return LODE_E_RANGE;
    memcpy(pending, ops, n * sizeof *ops);
    npending = n;
    return LODE_OK;
}
static int f_collect(void *ctx)
{
    fake_s *f = ctx;
    for (size_t i = 0; i < npending; i++)
        for (uint32_t k = 0; k < pending[i].n; k++) {
            uint8_t b[4];
            if (f_mem_read(f, pending[i].addr + 4 * k, b, 4) != LODE_OK)
                return LODE_E_FAULT;
            f->mem_reads--; /* not a plain read */
            pending[i].words[k] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                                  (uint32_t)b[3] << 24;
        }
    npending = 0;
    return LODE_OK;
}
static uint64_t f_now(void *ctx) { return ((fake_s *)ctx)->now; }

static void fake_init(fake_s *f, bool fast)
{
    memset(f, 0, sizeof *f);
    f->ops = (lode_core_ops_s){.reg_read = f_reg_read, .reg_write = f_reg_write,
                               .mem_read = f_mem_read, .mem_write = f_mem_write,
                               .resume = f_resume, .now_us = f_now, .ctx = f};
    if (fast) {
        f->ops.regs_read = f_regs_read;
        f->ops.regs_write = f_regs_write;
        f->ops.resume_regs = f_resume_regs;
        f->ops.mem_submit = f_submit;
        f->ops.mem_collect = f_collect;
    }
}

static void put16(fake_s *f, uint32_t a, uint16_t v)
{
    f->ram[a - RAM] = (uint8_t)v;
    f->ram[a - RAM + 1] = (uint8_t)(v >> 8);
}
static void put32(fake_s *f, uint32_t a, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        f->ram[a - RAM + (uint32_t)i] = (uint8_t)(v >> (8 * i));
}

/* the semihosting host's console: what it wrote */
static char out[64];
static size_t out_len;
static void cw(void *ctx, int fd, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)fd;
    if (out_len + n < sizeof out) {
        memcpy(out + out_len, d, n);
        out_len += n;
    }
}

/* SYS_WRITE(1, "abc", 3) at a BKPT 0xAB on 0x20000012 (not word aligned) */
static void setup_write(fake_s *f)
{
    put16(f, RAM + 0x10, 0xBE00);
    put16(f, RAM + 0x12, 0xBEAB);
    put32(f, RAM + 0x42, 1); /* an unaligned parameter block: it spills into a 4th word */
    put32(f, RAM + 0x46, RAM + 0x80);
    put32(f, RAM + 0x4A, 3);
    memcpy(f->ram + 0x80, "abc", 3);
    f->regs[0] = LODE_SH_SYS_WRITE;
    f->regs[1] = RAM + 0x42;
    f->regs[13] = RAM + 0x1F0;
    f->regs[15] = RAM + 0x12;
}

static lode_semihost_s *mk_sh(fake_s *f)
{
    lode_semihost_config_s cfg = {.io = lode_semihost_io_core(&f->ops)};
    cfg.io.console_write = cw;
    lode_semihost_s *sh = NULL;
    CHECK_EQ(lode_semihost_new(&cfg, &sh), LODE_OK);
    /* open ":tt" for writing: handle 1 (as a C library's start-up does) */
    memcpy(f->ram + 0x180, ":tt", 4);
    put32(f, RAM + 0x190, RAM + 0x180);
    put32(f, RAM + 0x194, LODE_SH_OPEN_W);
    put32(f, RAM + 0x198, 3);
    uint32_t h = 0;
    bool ex = false;
    int code = 0;
    CHECK_EQ(lode_semihost_call(sh, LODE_SH_SYS_OPEN, RAM + 0x190, &h, &ex, &code), LODE_OK);
    CHECK_EQ(h, 1);
    out_len = 0;
    f->mem_reads = 0;
    return sh;
}

static void test_semihost_fast(void)
{
    fake_s f;
    fake_init(&f, true);
    lode_semihost_s *sh = mk_sh(&f);
    setup_write(&f);
    lode_core_state_s st = {.halted = true, .dfsr = LODE_CM_DFSR_BKPT};
    lodei_halt_s h;
    REQUIRE(lodei_halt_examine(&f.ops, sh, NULL, &st, &h) == LODE_OK);
    CHECK(h.semihost);
    CHECK_EQ(h.regs[0], LODE_SH_SYS_WRITE);
    CHECK_EQ(h.regs[1], RAM + 0x42);
    CHECK_EQ(h.regs[13], RAM + 0x1F0);
    CHECK_EQ(f.regs_reads, 1);  /* one batch */
    CHECK_EQ(f.reg_reads, 0);
    CHECK_EQ(f.submits, 1);     /* instruction + parameter block together */
    CHECK_EQ(f.mem_reads, 0);
    /* what was read ahead serves reads it covers; others go to the core */
    uint8_t blk[12];
    CHECK_EQ(lodei_halt_read(&f.ops, &h, RAM + 0x42, blk, 12), LODE_OK);
    CHECK_EQ(blk[4], 0x80);
    CHECK_EQ(f.mem_reads, 0);
    CHECK_EQ(lodei_halt_read(&f.ops, &h, RAM + 0x80, blk, 3), LODE_OK);
    CHECK(memcmp(blk, "abc", 3) == 0);
    CHECK_EQ(f.mem_reads, 1);
    f.mem_reads = 0;
    lodei_sh_end_e end = LODEI_SH_EXIT;
    int code = -1;
    REQUIRE(lodei_halt_semihost(&f.ops, sh, &h, true, &end, &code) == LODE_OK);
    CHECK_EQ(end, LODEI_SH_DONE);
    CHECK_EQ(f.mem_reads, 1);   /* only the data: the block came read ahead */
    CHECK(out_len == 3 && memcmp(out, "abc", 3) == 0);
    CHECK_EQ(f.resume_regs, 1); /* r0 and pc with the resume */
    CHECK_EQ(f.resumes, 0);
    CHECK_EQ(f.regs[0], 0);     /* all bytes written */
    CHECK_EQ(f.regs[15], RAM + 0x14);
    lode_semihost_free(sh);
}

static void test_semihost_plain(void)
{
    fake_s f;
    fake_init(&f, false);
    lode_semihost_s *sh = mk_sh(&f);
    setup_write(&f);
    lode_core_state_s st = {.halted = true, .dfsr = LODE_CM_DFSR_BKPT};
    lodei_halt_s h;
    REQUIRE(lodei_halt_examine(&f.ops, sh, NULL, &st, &h) == LODE_OK);
    CHECK(h.semihost);
    CHECK_EQ(f.reg_reads, 4);   /* r0, r1, sp, pc one by one */
    CHECK_EQ(f.mem_reads, 1);   /* the instruction */
    lodei_sh_end_e end = LODEI_SH_EXIT;
    int code = -1;
    REQUIRE(lodei_halt_semihost(&f.ops, sh, &h, true, &end, &code) == LODE_OK);
    CHECK_EQ(end, LODEI_SH_DONE);
    CHECK(out_len == 3);
    CHECK_EQ(f.resumes, 1);
    CHECK_EQ(f.regs[15], RAM + 0x14);
    /* a return without the resume (after a step) */
    CHECK_EQ(lodei_halt_return(&f.ops, RAM + 0x20, 7, false), LODE_OK);
    CHECK_EQ(f.regs[0], 7);
    CHECK_EQ(f.regs[15], RAM + 0x22);
    CHECK_EQ(f.resumes, 1);
    /* the rest of the registers, and a HardFault entry */
    f.regs[16] = 3;
    f.regs[14] = 0xFFFFFFF9u;
    CHECK_EQ(lodei_halt_rest(&f.ops, &h), LODE_OK);
    CHECK(!h.fault); /* no vector catch in DFSR */
    h.dfsr = LODE_CM_DFSR_VCATCH;
    CHECK_EQ(lodei_halt_rest(&f.ops, &h), LODE_OK);
    CHECK(h.fault);
    CHECK_EQ(h.regs[14], 0xFFFFFFF9u);
    /* an unreadable parameter block: the core stays at the BKPT */
    h.regs[0] = LODE_SH_SYS_WRITE;
    h.regs[1] = 0x10u;
    h.regs[15] = RAM + 0x12;
    f.regs[15] = RAM + 0x12;
    REQUIRE(lodei_halt_semihost(&f.ops, sh, &h, true, &end, &code) == LODE_OK);
    CHECK_EQ(end, LODEI_SH_BAD_PARAM);
    CHECK_EQ(f.regs[15], RAM + 0x12);
    lode_semihost_free(sh);
}

/* a BKPT that is not semihosting: what was read ahead is dropped */
static void test_other_bkpt(void)
{
    fake_s f;
    fake_init(&f, true);
    lode_semihost_s *sh = mk_sh(&f);
    setup_write(&f);
    f.regs[15] = RAM + 0x10; /* BKPT 0x00 */
    lode_core_state_s st = {.halted = true, .dfsr = LODE_CM_DFSR_BKPT};
    lodei_halt_s h;
    REQUIRE(lodei_halt_examine(&f.ops, sh, NULL, &st, &h) == LODE_OK);
    CHECK(!h.semihost);
    CHECK_EQ(f.submits, 1);
    /* the block changes; a later call must see the new one, not the dropped read-ahead */
    put32(&f, RAM + 0x4A, 2);
    h.regs[15] = RAM + 0x12;
    lodei_sh_end_e end;
    int code;
    REQUIRE(lodei_halt_semihost(&f.ops, sh, &h, false, &end, &code) == LODE_OK);
    CHECK(out_len == 2 && memcmp(out, "ab", 2) == 0);
    /* no BKPT in DFSR: the instruction is not even read */
    st.dfsr = LODE_CM_DFSR_HALTED;
    unsigned before = f.submits + f.mem_reads;
    REQUIRE(lodei_halt_examine(&f.ops, sh, NULL, &st, &h) == LODE_OK);
    CHECK(!h.semihost);
    CHECK_EQ(f.submits + f.mem_reads, before);
    lode_semihost_free(sh);
}

/* r1 of a BKPT names a peripheral (r0 a small number, as any code leaves them): examine reads
 * nothing there, whether the BKPT is semihosting or not; the read-ahead happens only in RAM
 * (the chip's RAM regions when there is a chip) */
static void test_no_peripheral_read_ahead(void)
{
    fake_s f;
    fake_init(&f, true);
    lode_semihost_s *sh = mk_sh(&f);
    setup_write(&f);
    f.regs[1] = PERIPH + 4;
    f.regs[15] = RAM + 0x10; /* BKPT 0x00 */
    lode_core_state_s st = {.halted = true, .dfsr = LODE_CM_DFSR_BKPT};
    lodei_halt_s h;
    REQUIRE(lodei_halt_examine(&f.ops, sh, NULL, &st, &h) == LODE_OK);
    CHECK(!h.semihost);
    CHECK_EQ(f.periph_reads, 0);
    CHECK_EQ(f.submits, 0);
    CHECK_EQ(f.mem_reads, 1); /* the instruction alone */
    f.regs[15] = RAM + 0x12;  /* BKPT 0xAB: still the instruction first */
    REQUIRE(lodei_halt_examine(&f.ops, sh, NULL, &st, &h) == LODE_OK);
    CHECK(h.semihost);
    CHECK_EQ(f.periph_reads, 0);
    CHECK_EQ(h.ahead_len, 0);
    /* a chip: its RAM regions decide */
    setup_write(&f);
    lode_target_mem_s mem[2] = {{.kind = LODE_TARGET_MEM_NVM, .start = RAM, .end = RAM + 0x40},
                                {.kind = LODE_TARGET_MEM_RAM, .start = RAM + 0x40,
                                 .end = RAM + RAM_SIZE}};
    lode_target_chip_s chip = {.name = "fake", .memory = mem, .nmemory = 2};
    f.submits = 0;
    REQUIRE(lodei_halt_examine(&f.ops, sh, &chip, &st, &h) == LODE_OK);
    CHECK(h.semihost);
    CHECK_EQ(f.submits, 1);
    CHECK(h.ahead_len > 0);
    f.regs[1] = RAM + 0x3C; /* starts in the NVM region */
    f.submits = 0;
    REQUIRE(lodei_halt_examine(&f.ops, sh, &chip, &st, &h) == LODE_OK);
    CHECK_EQ(f.submits, 0);
    CHECK_EQ(h.ahead_len, 0);
    lode_semihost_free(sh);
}

static void test_watch(void)
{
    fake_s f;
    fake_init(&f, false);
    lodei_watch_s w[2] = {{.addr = RAM + 0x100, .len = 4, .kind = 2},
                          {.addr = RAM + 0x104, .len = 2, .kind = 1}};
    put32(&f, RAM + 0x100, 5);
    put32(&f, RAM + 0x104, 0xAAAA1234u);
    lodei_watch_snapshot(&f.ops, w, 2);
    CHECK_EQ(w[0].last, 5);
    CHECK_EQ(w[1].last, 0x1234); /* 2 bytes */
    uint32_t now = 0;
    /* nothing changed: the read watchpoint */
    CHECK_EQ(lodei_watch_fired(&f.ops, w, 2, &now), 1);
    CHECK_EQ(now, 0x1234);
    put32(&f, RAM + 0x100, 6);
    CHECK_EQ(lodei_watch_fired(&f.ops, w, 2, &now), 0);
    CHECK_EQ(now, 6);
    CHECK_EQ(lodei_watch_fired(&f.ops, w, 0, &now), 0);
}

static void test_fault(void)
{
    fake_s f;
    fake_init(&f, false);
    uint32_t regs[17] = {0};
    regs[13] = RAM + 0x1E0;
    regs[14] = 0xFFFFFFF9u; /* MSP frame */
    for (uint32_t i = 0; i < 8; i++)
        put32(&f, RAM + 0x1E0 + 4 * i, 0x100 + i);
    const uint32_t scb[5] = {0x8200u, 0x40000000u, 0x8u, 0x11u, 0x30000000u};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            f.scb[4 * i + k] = (uint8_t)(scb[i] >> (8 * k));
    lodei_fault_s flt;
    lodei_halt_fault(&f.ops, regs, false, &flt);
    CHECK_EQ(f.mem_reads, 3); /* the fault status registers in one read, the frame, VTOR */
    CHECK_EQ(flt.cfsr, 0x8200u);
    CHECK_EQ(flt.hfsr, 0x40000000u);
    CHECK_EQ(flt.mmfar, 0x11u);
    CHECK_EQ(flt.bfar, 0x30000000u);
    CHECK(strstr(flt.text, "0x30000000") != NULL);
    CHECK(flt.frame_valid);
    CHECK_EQ(flt.frame[6], 0x106);
    CHECK(!flt.lockup);
    lodei_halt_fault(&f.ops, regs, true, &flt);
    CHECK(flt.lockup);
    CHECK(!flt.frame_valid);
}

static void test_param_bytes_io_core(void)
{
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_WRITEC), 1);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_CLOSE), 4);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_SEEK), 8);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_WRITE), 12);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_RENAME), 16);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_WRITE0), LODE_SH_PREFETCH_MAX);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_CLOCK), 0);
    CHECK_EQ(lode_semihost_param_bytes(LODE_SH_SYS_READC), 0);
    fake_s f;
    fake_init(&f, false);
    f.now = 4242;
    lode_semihost_io_s io = lode_semihost_io_core(&f.ops);
    CHECK(io.ctx == &f.ops);
    CHECK(io.console_write == NULL && io.console_read == NULL);
    CHECK_EQ(io.time_us(io.ctx), 4242);
    uint8_t b[2] = {1, 2};
    CHECK_EQ(io.mem_write(io.ctx, RAM + 8, b, 2), LODE_OK);
    CHECK_EQ(f.ram[9], 2);
    uint8_t r[2] = {0};
    CHECK_EQ(io.mem_read(io.ctx, RAM + 8, r, 2), LODE_OK);
    CHECK_EQ(r[0], 1);
    CHECK_EQ(io.mem_read(io.ctx, 0, r, 2), LODE_E_FAULT);
}

int main(void)
{
    RUN_TEST(test_semihost_fast);
    RUN_TEST(test_semihost_plain);
    RUN_TEST(test_other_bkpt);
    RUN_TEST(test_no_peripheral_read_ahead);
    RUN_TEST(test_watch);
    RUN_TEST(test_fault);
    RUN_TEST(test_param_bytes_io_core);
    return TEST_DONE();
}
