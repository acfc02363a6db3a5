/* SPDX-License-Identifier: MIT */
/* Host side of semihosting against a fake target memory. */
#include "lode/error.h"
#include "lode/semihost.h"
#include "test.h"
#include "util/bytes.h"

static uint8_t mem[4096];
static char out[1024];
static size_t outlen;
static int last_fd;
static const char *input = "";

static int mrd(void *c, uint32_t a, void *b, size_t n)
{
    (void)c;
    if (a >= sizeof mem || n > sizeof mem - a)
        return LODE_E_FAULT;
    memcpy(b, mem + a, n);
    return LODE_OK;
}
static int mwr(void *c, uint32_t a, const void *b, size_t n)
{
    (void)c;
    if (a >= sizeof mem || n > sizeof mem - a)
        return LODE_E_FAULT;
    memcpy(mem + a, b, n);
    return LODE_OK;
}
static void cw(void *c, int fd, const uint8_t *d, size_t n)
{
    (void)c;
    last_fd = fd;
    if (outlen + n < sizeof out) {
        memcpy(out + outlen, d, n);
        outlen += n;
        out[outlen] = 0;
    }
}
static long cr(void *c, uint8_t *b, size_t n)
{
    (void)c;
    size_t l = strlen(input);
    if (l > n)
        l = n;
    memcpy(b, input, l);
    input += l;
    return (long)l;
}
static uint64_t tus(void *c)
{
    (void)c;
    return 1234567;
}

static lode_semihost_s *mk(void)
{
    lode_semihost_io_s io = {mrd, mwr, cw, cr, tus, NULL};
    lode_semihost_s *sh = NULL;
    CHECK_EQ(lode_semihost_new(&io, "fw.elf a b", &sh), LODE_OK);
    memset(mem, 0, sizeof mem);
    outlen = 0;
    out[0] = 0;
    return sh;
}

static uint32_t call(lode_semihost_s *sh, uint32_t op, uint32_t p, int *rc, bool *ex, int *code)
{
    uint32_t r0 = 0xDEAD;
    *rc = lode_semihost_call(sh, op, p, &r0, ex, code);
    return r0;
}

static uint32_t open_tt(lode_semihost_s *sh, uint32_t mode)
{
    memcpy(mem + 0x100, ":tt", 4);
    lodei_put_le32(mem + 0x200, 0x100);
    lodei_put_le32(mem + 0x204, mode);
    lodei_put_le32(mem + 0x208, 3);
    int rc;
    bool ex;
    int code;
    uint32_t h = call(sh, LODE_SH_SYS_OPEN, 0x200, &rc, &ex, &code);
    CHECK_EQ(rc, LODE_OK);
    return h;
}

static void test_write_ops(void)
{
    lode_semihost_s *sh = mk();
    int rc, code;
    bool ex;
    memcpy(mem + 0x10, "hello\n", 7);
    call(sh, LODE_SH_SYS_WRITE0, 0x10, &rc, &ex, &code);
    CHECK_EQ(rc, LODE_OK);
    CHECK(!strcmp(out, "hello\n"));
    mem[0x20] = 'X';
    call(sh, LODE_SH_SYS_WRITEC, 0x20, &rc, &ex, &code);
    CHECK(!strcmp(out, "hello\nX"));
    /* no handle exists before SYS_OPEN */
    lodei_put_le32(mem + 0x300, 1);
    lodei_put_le32(mem + 0x304, 0x10);
    lodei_put_le32(mem + 0x308, 5);
    CHECK_EQ(call(sh, LODE_SH_SYS_WRITE, 0x300, &rc, &ex, &code), 5);
    uint32_t h_out = open_tt(sh, 4);
    uint32_t h_err = open_tt(sh, 8);
    CHECK_EQ(h_out, 1);
    CHECK_EQ(h_err, 2);
    lodei_put_le32(mem + 0x300, h_out);
    CHECK_EQ(call(sh, LODE_SH_SYS_WRITE, 0x300, &rc, &ex, &code), 0);
    CHECK(!strcmp(out, "hello\nXhello"));
    CHECK_EQ(last_fd, 1);
    lodei_put_le32(mem + 0x300, h_err);
    call(sh, LODE_SH_SYS_WRITE, 0x300, &rc, &ex, &code);
    CHECK_EQ(last_fd, 2);
    /* a parameter block outside memory is an error, not a crash */
    call(sh, LODE_SH_SYS_WRITE, 0xFFFFFFF0u, &rc, &ex, &code);
    CHECK_EQ(rc, LODE_E_FAULT);
    /* only the console may be opened */
    memcpy(mem + 0x100, "/etc/passwd", 12);
    lodei_put_le32(mem + 0x208, 11);
    CHECK_EQ(call(sh, LODE_SH_SYS_OPEN, 0x200, &rc, &ex, &code), 0xFFFFFFFFu);
    CHECK_EQ(call(sh, LODE_SH_SYS_ERRNO, 0, &rc, &ex, &code), 2);
    lode_semihost_free(sh);
}

static void test_read_cmdline_exit(void)
{
    lode_semihost_s *sh = mk();
    int rc, code;
    bool ex;
    uint32_t h_in = open_tt(sh, 0);
    input = "abc";
    lodei_put_le32(mem + 0x300, h_in);
    lodei_put_le32(mem + 0x304, 0x400);
    lodei_put_le32(mem + 0x308, 8);
    CHECK_EQ(call(sh, LODE_SH_SYS_READ, 0x300, &rc, &ex, &code), 5); /* 5 of 8 not read */
    CHECK(!memcmp(mem + 0x400, "abc", 3));
    lodei_put_le32(mem + 0x300, 0x500);
    lodei_put_le32(mem + 0x304, 64);
    CHECK_EQ(call(sh, LODE_SH_SYS_GET_CMDLINE, 0x300, &rc, &ex, &code), 0);
    CHECK(!strcmp((char *)mem + 0x500, "fw.elf a b"));
    CHECK_EQ(lodei_get_le32(mem + 0x304), 10);
    lodei_put_le32(mem + 0x304, 4); /* too small */
    CHECK_EQ(call(sh, LODE_SH_SYS_GET_CMDLINE, 0x300, &rc, &ex, &code), 0xFFFFFFFFu);
    ex = false;
    call(sh, LODE_SH_SYS_EXIT, LODE_SH_ADP_STOPPED_APPLICATION_EXIT, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 0);
    call(sh, LODE_SH_SYS_EXIT, 0x20023, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 1);
    lodei_put_le32(mem + 0x600, LODE_SH_ADP_STOPPED_APPLICATION_EXIT);
    lodei_put_le32(mem + 0x604, 42);
    call(sh, LODE_SH_SYS_EXIT_EXTENDED, 0x600, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 42);
    CHECK_EQ(call(sh, LODE_SH_SYS_TICKFREQ, 0, &rc, &ex, &code), 1000000);
    CHECK_EQ(call(sh, 0x77, 0, &rc, &ex, &code), 0xFFFFFFFFu);
    lode_semihost_free(sh);
}

int main(void)
{
    RUN_TEST(test_write_ops);
    RUN_TEST(test_read_cmdline_exit);
    return TEST_DONE();
}
