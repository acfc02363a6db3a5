/* SPDX-License-Identifier: MIT */
/* Host side of semihosting against a fake target memory, with host files in a temporary
 * root directory. */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/semihost.h"
#include "test.h"
#include "util/bytes.h"

#define MEM_SIZE 0x10000u
/* fixed places in the fake memory */
#define A_STR 0x1000u  /* first string */
#define A_STR2 0x2000u /* second string */
#define A_BUF 0x4000u  /* data buffer */
#define A_BLK 0x8000u  /* parameter block */
#define A_BAD 0xFFFFFFF0u

static uint8_t mem[MEM_SIZE];
static char out[4096];
static size_t outlen;
static int last_fd;
static const char *input = "";
static uint64_t now_us = 1234567;
static int nwarn, nerr;
static char last_msg[600];
static char root[64];

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
    return now_us;
}
static void logfn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    (void)cat;
    if (level == LODE_LOG_WARN)
        nwarn++;
    if (level == LODE_LOG_ERROR)
        nerr++;
    snprintf(last_msg, sizeof last_msg, "%s", msg);
}

static void reset_fake(void)
{
    memset(mem, 0, sizeof mem);
    outlen = 0;
    out[0] = 0;
    nwarn = nerr = 0;
    last_msg[0] = 0;
    input = "";
}

static lode_semihost_s *mk2(const char *cmdline, const char *rootdir, bool allow_system)
{
    lode_semihost_config_s cfg = {.io = {mrd, mwr, cw, cr, tus, NULL}, .cmdline = cmdline,
                                  .root = rootdir, .allow_system = allow_system,
                                  .log = {.fn = logfn, .max_level = LODE_LOG_DEBUG}};
    lode_semihost_s *sh = NULL;
    reset_fake();
    CHECK_EQ(lode_semihost_new(&cfg, &sh), LODE_OK);
    return sh;
}

/* the defaults: root = current directory */
static lode_semihost_s *mk(void)
{
    lode_semihost_config_s cfg = {.io = {mrd, mwr, cw, cr, tus, NULL}, .cmdline = "fw.elf a b"};
    lode_semihost_s *sh = NULL;
    CHECK_EQ(lode_semihost_new(&cfg, &sh), LODE_OK);
    reset_fake();
    return sh;
}

static uint32_t call(lode_semihost_s *sh, uint32_t op, uint32_t p, int *rc, bool *ex, int *code)
{
    uint32_t r0 = 0xDEAD;
    *rc = lode_semihost_call(sh, op, p, &r0, ex, code);
    return r0;
}

/* one call that must not fail at the host level */
static uint32_t sys(lode_semihost_s *sh, uint32_t op, uint32_t p)
{
    int rc, code = -1;
    bool ex;
    uint32_t r0 = call(sh, op, p, &rc, &ex, &code);
    CHECK_EQ(rc, LODE_OK);
    return r0;
}

static int sys_rc(lode_semihost_s *sh, uint32_t op, uint32_t p)
{
    int rc, code;
    bool ex;
    call(sh, op, p, &rc, &ex, &code);
    return rc;
}

static void blk(uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
    lodei_put_le32(mem + A_BLK, a0);
    lodei_put_le32(mem + A_BLK + 4, a1);
    lodei_put_le32(mem + A_BLK + 8, a2);
    lodei_put_le32(mem + A_BLK + 12, a3);
}

static uint32_t put_str(uint32_t addr, const char *s)
{
    size_t n = strlen(s);
    memcpy(mem + addr, s, n + 1);
    return (uint32_t)n;
}

static uint32_t sh_open(lode_semihost_s *sh, const char *name, uint32_t mode)
{
    uint32_t n = put_str(A_STR, name);
    blk(A_STR, mode, n, 0);
    return sys(sh, LODE_SH_SYS_OPEN, A_BLK);
}

static uint32_t sh_errno(lode_semihost_s *sh)
{
    return sys(sh, LODE_SH_SYS_ERRNO, 0);
}

static uint32_t sh_close(lode_semihost_s *sh, uint32_t h)
{
    blk(h, 0, 0, 0);
    return sys(sh, LODE_SH_SYS_CLOSE, A_BLK);
}

static uint32_t sh_write(lode_semihost_s *sh, uint32_t h, const void *d, uint32_t n)
{
    memcpy(mem + A_BUF, d, n);
    blk(h, A_BUF, n, 0);
    return sys(sh, LODE_SH_SYS_WRITE, A_BLK);
}

static uint32_t sh_read(lode_semihost_s *sh, uint32_t h, uint32_t n)
{
    memset(mem + A_BUF, 0, n + 1);
    blk(h, A_BUF, n, 0);
    return sys(sh, LODE_SH_SYS_READ, A_BLK);
}

static uint32_t sh_1(lode_semihost_s *sh, uint32_t op, uint32_t h)
{
    blk(h, 0, 0, 0);
    return sys(sh, op, A_BLK);
}

static uint32_t sh_seek(lode_semihost_s *sh, uint32_t h, uint32_t pos)
{
    blk(h, pos, 0, 0);
    return sys(sh, LODE_SH_SYS_SEEK, A_BLK);
}

static uint32_t sh_remove(lode_semihost_s *sh, const char *name)
{
    uint32_t n = put_str(A_STR, name);
    blk(A_STR, n, 0, 0);
    return sys(sh, LODE_SH_SYS_REMOVE, A_BLK);
}

static uint32_t sh_rename(lode_semihost_s *sh, const char *from, const char *to)
{
    uint32_t n1 = put_str(A_STR, from), n2 = put_str(A_STR2, to);
    blk(A_STR, n1, A_STR2, n2);
    return sys(sh, LODE_SH_SYS_RENAME, A_BLK);
}

static bool host_exists(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct stat st;
    return lstat(p, &st) == 0;
}

static long host_size(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void host_write(const char *rel, const char *data)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(data, f);
        fclose(f);
    }
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* --- console ---------------------------------------------------------------------------- */

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
    CHECK_EQ(sh_errno(sh), EBADF);
    uint32_t h_out = sh_open(sh, ":tt", LODE_SH_OPEN_W);
    uint32_t h_err = sh_open(sh, ":tt", LODE_SH_OPEN_A);
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
    call(sh, LODE_SH_SYS_WRITE, A_BAD, &rc, &ex, &code);
    CHECK_EQ(rc, LODE_E_FAULT);
    /* WRITE0 of a string that runs into the end of memory: output up to there, then fault */
    memset(mem + MEM_SIZE - 3, 'z', 3);
    outlen = 0;
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_WRITE0, MEM_SIZE - 3), LODE_E_FAULT);
    CHECK(!strcmp(out, "zzz"));
    /* a string ending exactly at the end of memory is fine */
    mem[MEM_SIZE - 1] = 0;
    outlen = 0;
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_WRITE0, MEM_SIZE - 3), LODE_OK);
    CHECK(!strcmp(out, "zz"));
    /* a long string (several 64-byte chunks) */
    memset(mem + 0x5001, 'q', 300);
    mem[0x5001 + 300] = 0;
    outlen = 0;
    sys(sh, LODE_SH_SYS_WRITE0, 0x5001);
    CHECK_EQ(outlen, 300);
    /* paths outside the root are refused (the root is the current directory here) */
    CHECK_EQ(sh_open(sh, "/etc/passwd", LODE_SH_OPEN_R), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EACCES);
    lode_semihost_free(sh);
}

/* lode_semihost_prefetch: the next call reads from it (here it differs from memory to show
 * it), only for ranges it holds, for one call, and not after the call wrote memory */
static void test_prefetch(void)
{
    lode_semihost_s *sh = mk();
    int rc, code;
    bool ex;
    memcpy(mem + 0x40, "memory\n", 8);
    static char ahead[64] = "ahead!\n"; /* WRITE0 reads up to the next 64-byte boundary */
    lode_semihost_prefetch(sh, 0x40, ahead, sizeof ahead);
    outlen = 0;
    call(sh, LODE_SH_SYS_WRITE0, 0x40, &rc, &ex, &code);
    CHECK(!strcmp(out, "ahead!\n"));
    outlen = 0; /* used once */
    call(sh, LODE_SH_SYS_WRITE0, 0x40, &rc, &ex, &code);
    CHECK(!strcmp(out, "memory\n"));
    /* a WRITE block from the read-ahead, its data (not held) from memory */
    uint8_t blk[12];
    lodei_put_le32(blk, sh_open(sh, ":tt", LODE_SH_OPEN_W));
    lodei_put_le32(blk + 4, 0x40);
    lodei_put_le32(blk + 8, 3);
    memset(mem + 0x300, 0, 12);
    lode_semihost_prefetch(sh, 0x300, blk, sizeof blk);
    outlen = 0;
    CHECK_EQ(call(sh, LODE_SH_SYS_WRITE, 0x300, &rc, &ex, &code), 0);
    CHECK(!strcmp(out, "mem"));
    /* a range it does not hold wholly comes from memory */
    lode_semihost_prefetch(sh, 0x40, ahead, 8);
    outlen = 0;
    call(sh, LODE_SH_SYS_WRITE0, 0x40, &rc, &ex, &code);
    CHECK(!strcmp(out, "memory\n"));
    /* too long or wrapping: ignored */
    static uint8_t big[LODE_SH_PREFETCH_MAX + 1];
    lode_semihost_prefetch(sh, 0x40, big, sizeof big);
    lode_semihost_prefetch(sh, 0xFFFFFFF0u, big, 32);
    outlen = 0;
    call(sh, LODE_SH_SYS_WRITE0, 0x40, &rc, &ex, &code);
    CHECK(!strcmp(out, "memory\n"));
    lode_semihost_free(sh);
}

static void test_tt_modes(void)
{
    lode_semihost_s *sh = mk2("", NULL, false);
    for (uint32_t mode = 0; mode < 12; mode++) {
        uint32_t h = sh_open(sh, ":tt", mode);
        CHECK(h != 0 && h != 0xFFFFFFFFu);
        CHECK_EQ(sh_1(sh, LODE_SH_SYS_ISTTY, h), 1);
        CHECK_EQ(sh_seek(sh, h, 0), 0xFFFFFFFFu);
        CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, h), 0xFFFFFFFFu);
        last_fd = 0;
        uint32_t notw = sh_write(sh, h, "x", 1);
        if (mode < 4) {
            CHECK_EQ(notw, 1); /* stdin cannot be written */
            CHECK_EQ(sh_errno(sh), EBADF);
            input = "k";
            CHECK_EQ(sh_read(sh, h, 4), 3);
            CHECK_EQ(mem[A_BUF], 'k');
            CHECK_EQ(sh_read(sh, h, 4), 4); /* end of input */
        } else {
            CHECK_EQ(notw, 0);
            CHECK_EQ(last_fd, mode < 8 ? 1 : 2);
            CHECK_EQ(sh_read(sh, h, 4), 0xFFFFFFFFu); /* stdout cannot be read */
        }
        CHECK_EQ(sh_close(sh, h), 0);
    }
    CHECK_EQ(sh_open(sh, ":tt", 12), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EINVAL);
    CHECK_EQ(nwarn, 0);
    lode_semihost_free(sh);
}

static void test_features(void)
{
    lode_semihost_s *sh = mk2("", NULL, false);
    uint32_t h = sh_open(sh, ":semihosting-features", LODE_SH_OPEN_R);
    uint32_t h2 = sh_open(sh, ":semihosting-features", LODE_SH_OPEN_RB); /* simultaneously */
    CHECK(h != 0xFFFFFFFFu && h2 != 0xFFFFFFFFu && h != h2);
    CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, h), 5);
    CHECK_EQ(sh_1(sh, LODE_SH_SYS_ISTTY, h), 0);
    CHECK_EQ(sh_read(sh, h, 5), 0);
    CHECK(!memcmp(mem + A_BUF, "SHFB", 4));
    CHECK_EQ(mem[A_BUF + 4], LODE_SH_FEATURE_EXIT_EXTENDED | LODE_SH_FEATURE_STDOUT_STDERR);
    CHECK_EQ(mem[A_BUF + 4], 0x03);
    CHECK_EQ(sh_read(sh, h, 3), 3); /* at the end */
    CHECK_EQ(sh_seek(sh, h, 4), 0);
    CHECK_EQ(sh_read(sh, h, 8), 7);
    CHECK_EQ(mem[A_BUF], 0x03);
    CHECK_EQ(sh_seek(sh, h, 6), 0xFFFFFFFFu); /* past the end */
    CHECK_EQ(sh_read(sh, h2, 2), 0);
    CHECK(!memcmp(mem + A_BUF, "SH", 2));
    CHECK_EQ(sh_write(sh, h, "x", 1), 1); /* read-only */
    CHECK_EQ(sh_close(sh, h), 0);
    CHECK_EQ(sh_close(sh, h2), 0);
    for (uint32_t mode = 2; mode < 12; mode++) {
        CHECK_EQ(sh_open(sh, ":semihosting-features", mode), 0xFFFFFFFFu);
    }
    lode_semihost_free(sh);
}

/* --- cmdline, exit, time, misc ------------------------------------------------------------ */

static void test_read_cmdline_exit(void)
{
    lode_semihost_s *sh = mk();
    int rc, code;
    bool ex;
    uint32_t h_in = sh_open(sh, ":tt", 0);
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
    lodei_put_le32(mem + 0x304, 10); /* no room for the terminator */
    CHECK_EQ(call(sh, LODE_SH_SYS_GET_CMDLINE, 0x300, &rc, &ex, &code), 0xFFFFFFFFu);
    ex = false;
    call(sh, LODE_SH_SYS_EXIT, LODE_SH_ADP_STOPPED_APPLICATION_EXIT, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 0);
    call(sh, LODE_SH_SYS_EXIT, LODE_SH_ADP_STOPPED_RUNTIME_ERROR_UNKNOWN, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 1);
    lodei_put_le32(mem + 0x600, LODE_SH_ADP_STOPPED_APPLICATION_EXIT);
    lodei_put_le32(mem + 0x604, 42);
    call(sh, LODE_SH_SYS_EXIT_EXTENDED, 0x600, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 42);
    lodei_put_le32(mem + 0x600, LODE_SH_ADP_STOPPED_APPLICATION_EXIT);
    lodei_put_le32(mem + 0x604, 0);
    call(sh, LODE_SH_SYS_EXIT_EXTENDED, 0x600, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 0);
    lodei_put_le32(mem + 0x600, 0x20024); /* InternalError, no subcode */
    call(sh, LODE_SH_SYS_EXIT_EXTENDED, 0x600, &rc, &ex, &code);
    CHECK(ex);
    CHECK_EQ(code, 1);
    ex = true;
    call(sh, LODE_SH_SYS_EXIT_EXTENDED, A_BAD, &rc, &ex, &code);
    CHECK_EQ(rc, LODE_E_FAULT);
    CHECK(!ex);
    CHECK_EQ(call(sh, LODE_SH_SYS_TICKFREQ, 0, &rc, &ex, &code), 1000000);
    lode_semihost_free(sh);
}

static void test_cmdline_long(void)
{
    char cl[1200];
    snprintf(cl, sizeof cl, "fw.elf \"two words\" --opt=a\\ b");
    size_t n = strlen(cl);
    for (; n < 1000; n++)
        cl[n] = (char)('a' + n % 26);
    cl[n] = 0;
    lode_semihost_s *sh = mk2(cl, NULL, false);
    blk(A_BUF, 2000, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_GET_CMDLINE, A_BLK), 0);
    CHECK(!strcmp((char *)mem + A_BUF, cl));
    CHECK_EQ(lodei_get_le32(mem + A_BLK + 4), 1000);
    blk(A_BUF, 1000, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_GET_CMDLINE, A_BLK), 0xFFFFFFFFu);
    blk(A_BUF, 1001, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_GET_CMDLINE, A_BLK), 0);
    /* the buffer itself outside memory */
    blk(MEM_SIZE - 10, 2000, 0, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_GET_CMDLINE, A_BLK), LODE_E_FAULT);
    lode_semihost_free(sh);
    /* an empty / NULL command line */
    sh = mk2(NULL, NULL, false);
    blk(A_BUF, 16, 0, 0);
    mem[A_BUF] = 'x';
    CHECK_EQ(sys(sh, LODE_SH_SYS_GET_CMDLINE, A_BLK), 0);
    CHECK_EQ(mem[A_BUF], 0);
    CHECK_EQ(lodei_get_le32(mem + A_BLK + 4), 0);
    lode_semihost_free(sh);
}

static void test_time_misc(void)
{
    now_us = 5000000;
    lode_semihost_s *sh = mk2("", NULL, false);
    now_us = 5000000 + 1234567;
    CHECK_EQ(sys(sh, LODE_SH_SYS_CLOCK, 0), 123);
    CHECK_EQ(sys(sh, LODE_SH_SYS_ELAPSED, A_BLK), 0);
    CHECK_EQ(lodei_get_le32(mem + A_BLK), 1234567);
    CHECK_EQ(lodei_get_le32(mem + A_BLK + 4), 0);
    now_us = 5000000 + 0x123456789ull;
    sys(sh, LODE_SH_SYS_ELAPSED, A_BLK);
    CHECK_EQ(lodei_get_le32(mem + A_BLK), 0x23456789);
    CHECK_EQ(lodei_get_le32(mem + A_BLK + 4), 1);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_ELAPSED, MEM_SIZE - 4), LODE_E_FAULT);
    CHECK_EQ(sys(sh, LODE_SH_SYS_TICKFREQ, 0), 1000000);
    uint32_t t = sys(sh, LODE_SH_SYS_TIME, 0);
    uint32_t host = (uint32_t)time(NULL);
    CHECK(t + 5 >= host && t <= host + 5);
    blk(0xFFFFFFFFu, 0, 0, 0);
    CHECK(sys(sh, LODE_SH_SYS_ISERROR, A_BLK) != 0);
    blk(0x80000000u, 0, 0, 0);
    CHECK(sys(sh, LODE_SH_SYS_ISERROR, A_BLK) != 0);
    blk(0, 0, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_ISERROR, A_BLK), 0);
    blk(7, 0, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_ISERROR, A_BLK), 0);
    /* HEAPINFO: R1 -> pointer -> four words, zeroed */
    memset(mem + A_BUF, 0xAA, 16);
    blk(A_BUF, 0, 0, 0);
    sys(sh, LODE_SH_SYS_HEAPINFO, A_BLK);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(mem[A_BUF + i], 0);
    blk(MEM_SIZE - 8, 0, 0, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_HEAPINFO, A_BLK), LODE_E_FAULT);
    blk(0xFFFFFFF8u, 0, 0, 0);
    CHECK(sys_rc(sh, LODE_SH_SYS_HEAPINFO, A_BLK) != LODE_OK);
    /* READC */
    input = "Q";
    CHECK_EQ(sys(sh, LODE_SH_SYS_READC, 0), 'Q');
    CHECK_EQ(sys(sh, LODE_SH_SYS_READC, 0), 0xFFFFFFFFu);
    now_us = 1234567;
    lode_semihost_free(sh);
}

static void test_unknown_once(void)
{
    lode_semihost_s *sh = mk2("", NULL, false);
    CHECK_EQ(sys(sh, 0x77, 0), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), ENOSYS);
    CHECK_EQ(nwarn, 1);
    CHECK(strstr(last_msg, "0x77") != NULL);
    CHECK_EQ(sys(sh, 0x77, 0), 0xFFFFFFFFu);
    CHECK_EQ(nwarn, 1);
    sys(sh, 0x17, 0); /* reserved (EnterSVC) */
    CHECK_EQ(nwarn, 2);
    sys(sh, 0x0B, 0);
    CHECK_EQ(nwarn, 3);
    sys(sh, 0x12345678u, 0);
    sys(sh, 0x12345678u, 0);
    CHECK_EQ(nwarn, 4);
    CHECK_EQ(sh_errno(sh), ENOSYS);
    /* many distinct high operations: bounded memory, never crashes */
    for (uint32_t op = 0x1000; op < 0x1100; op++)
        sys(sh, op, 0);
    CHECK(nwarn >= 5 && nwarn <= 4 + 64);
    int before = nwarn;
    sys(sh, 0x77, 0);
    CHECK_EQ(nwarn, before);
    lode_semihost_free(sh);
}

/* --- host files --------------------------------------------------------------------------- */

static void test_file_roundtrip(void)
{
    lode_semihost_s *sh = mk2("fw", root, false);
    uint32_t h = sh_open(sh, "data.bin", LODE_SH_OPEN_WB);
    REQUIRE(h != 0xFFFFFFFFu && h != 0);
    CHECK_EQ(sh_1(sh, LODE_SH_SYS_ISTTY, h), 0);
    CHECK_EQ(sh_write(sh, h, "hello world", 11), 0);
    CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, h), 11);
    CHECK_EQ(sh_read(sh, h, 4), 0xFFFFFFFFu); /* opened write-only */
    CHECK_EQ(sh_errno(sh), EBADF);
    CHECK_EQ(sh_close(sh, h), 0);
    CHECK_EQ(sh_close(sh, h), 0xFFFFFFFFu); /* twice */
    CHECK_EQ(sh_errno(sh), EBADF);
    CHECK_EQ(host_size("data.bin"), 11);

    h = sh_open(sh, "data.bin", LODE_SH_OPEN_RPLUSB);
    REQUIRE(h != 0xFFFFFFFFu);
    CHECK_EQ(sh_seek(sh, h, 6), 0);
    CHECK_EQ(sh_read(sh, h, 5), 0);
    CHECK(!memcmp(mem + A_BUF, "world", 5));
    CHECK_EQ(sh_read(sh, h, 5), 5); /* EOF */
    CHECK_EQ(sh_seek(sh, h, 0), 0);
    CHECK_EQ(sh_write(sh, h, "J", 1), 0);
    CHECK_EQ(sh_read(sh, h, 20), 10); /* 10 of 20 read: partial */
    CHECK(!memcmp(mem + A_BUF, "ello world", 10));
    CHECK_EQ(sh_close(sh, h), 0);

    h = sh_open(sh, "data.bin", LODE_SH_OPEN_R);
    CHECK_EQ(sh_write(sh, h, "zz", 2), 2); /* read-only: nothing written */
    CHECK_EQ(sh_errno(sh), EBADF);
    CHECK_EQ(sh_close(sh, h), 0);

    h = sh_open(sh, "data.bin", LODE_SH_OPEN_A);
    CHECK_EQ(sh_write(sh, h, "!", 1), 0);
    CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, h), 12);
    CHECK_EQ(sh_close(sh, h), 0);

    /* a transfer larger than one chunk */
    h = sh_open(sh, "big.bin", LODE_SH_OPEN_WPLUSB);
    for (uint32_t i = 0; i < 10000; i++)
        mem[A_BUF + i] = (uint8_t)(i * 7);
    blk(h, A_BUF, 10000, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_WRITE, A_BLK), 0);
    CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, h), 10000);
    CHECK_EQ(sh_seek(sh, h, 0), 0);
    memset(mem + A_BUF, 0, 10000);
    blk(h, A_BUF, 10000, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_READ, A_BLK), 0);
    CHECK_EQ(mem[A_BUF + 9999], (uint8_t)(9999 * 7));
    CHECK_EQ(mem[A_BUF + 4096], (uint8_t)(4096 * 7));
    CHECK_EQ(sh_close(sh, h), 0);

    /* rename into a subdirectory, then remove */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", root);
    CHECK_EQ(mkdir(sub, 0755), 0);
    CHECK_EQ(sh_rename(sh, "data.bin", "sub/new.bin"), 0);
    CHECK(!host_exists("data.bin"));
    CHECK_EQ(host_size("sub/new.bin"), 12);
    CHECK_EQ(sh_rename(sh, "data.bin", "x.bin"), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), ENOENT);
    h = sh_open(sh, "./sub/../sub/new.bin", LODE_SH_OPEN_R);
    CHECK(h != 0xFFFFFFFFu);
    CHECK_EQ(sh_close(sh, h), 0);
    CHECK_EQ(sh_remove(sh, "sub/new.bin"), 0);
    CHECK(!host_exists("sub/new.bin"));
    CHECK_EQ(sh_remove(sh, "sub/new.bin"), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), ENOENT);
    CHECK_EQ(sh_remove(sh, "big.bin"), 0);
    CHECK_EQ(sh_open(sh, "missing.txt", LODE_SH_OPEN_R), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), ENOENT);
    CHECK_EQ(sh_open(sh, "nodir/x.txt", LODE_SH_OPEN_W), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), ENOENT);
    CHECK_EQ(sh_open(sh, "sub", LODE_SH_OPEN_R), 0xFFFFFFFFu); /* a directory */
    CHECK_EQ(sh_errno(sh), EISDIR);
    CHECK_EQ(sh_open(sh, "", LODE_SH_OPEN_R), 0xFFFFFFFFu);
    CHECK_EQ(sh_open(sh, "x", 12), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EINVAL);
    CHECK(!host_exists("x"));

    /* tmpnam: a relative name (so inside the root), stable per identifier */
    blk(A_BUF, 7, 64, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_TMPNAM, A_BLK), 0);
    char t7[64];
    memcpy(t7, mem + A_BUF, sizeof t7);
    t7[sizeof t7 - 1] = 0;
    CHECK(t7[0] != 0 && t7[0] != '/' && !strchr(t7, '/'));
    CHECK(strlen(t7) < L_tmpnam);
    blk(A_BUF, 7, 64, 0);
    sys(sh, LODE_SH_SYS_TMPNAM, A_BLK);
    CHECK(!strcmp(t7, (char *)mem + A_BUF));
    blk(A_BUF, 8, 64, 0);
    sys(sh, LODE_SH_SYS_TMPNAM, A_BLK);
    CHECK(strcmp(t7, (char *)mem + A_BUF) != 0);
    blk(A_BUF, 256, 64, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_TMPNAM, A_BLK), 0xFFFFFFFFu);
    blk(A_BUF, 1, 4, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_TMPNAM, A_BLK), 0xFFFFFFFFu);
    blk(MEM_SIZE - 2, 1, 64, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_TMPNAM, A_BLK), LODE_E_FAULT);
    h = sh_open(sh, t7, LODE_SH_OPEN_W);
    CHECK(h != 0xFFFFFFFFu);
    CHECK(host_exists(t7));
    CHECK_EQ(sh_remove(sh, t7), 0);
    /* left open on purpose: lode_semihost_free closes it */
    CHECK_EQ(nwarn, 0);
    lode_semihost_free(sh);
}

static void test_all_modes(void)
{
    lode_semihost_s *sh = mk2("", root, false);
    /* mode -> (creates, truncates, can read, can write, appends) */
    static const struct { bool creat, trunc, rd, wr, app; } m[12] = {
        {0, 0, 1, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, 1, 1, 0}, {0, 0, 1, 1, 0},
        {1, 1, 0, 1, 0}, {1, 1, 0, 1, 0}, {1, 1, 1, 1, 0}, {1, 1, 1, 1, 0},
        {1, 0, 0, 1, 1}, {1, 0, 0, 1, 1}, {1, 0, 1, 1, 1}, {1, 0, 1, 1, 1},
    };
    for (uint32_t mode = 0; mode < 12; mode++) {
        sh_remove(sh, "m.txt");
        uint32_t h = sh_open(sh, "m.txt", mode);
        CHECK_EQ(h != 0xFFFFFFFFu, m[mode].creat);
        if (h != 0xFFFFFFFFu)
            sh_close(sh, h);
        host_write("m.txt", "abcd");
        h = sh_open(sh, "m.txt", mode);
        REQUIRE(h != 0xFFFFFFFFu);
        CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, h), m[mode].trunc ? 0 : 4);
        CHECK_EQ(sh_read(sh, h, 1) != 0xFFFFFFFFu, m[mode].rd);
        CHECK_EQ(sh_write(sh, h, "Z", 1), m[mode].wr ? 0 : 1);
        CHECK_EQ(sh_close(sh, h), 0);
        long sz = host_size("m.txt");
        if (m[mode].app)
            CHECK_EQ(sz, 5);
        else if (m[mode].trunc)
            CHECK_EQ(sz, 1);
        else
            CHECK_EQ(sz, 4);
    }
    sh_remove(sh, "m.txt");
    lode_semihost_free(sh);
}

static void test_sandbox(void)
{
    lode_semihost_s *sh = mk2("", root, false);
    host_write("inside.txt", "in");
    char p[256];
    snprintf(p, sizeof p, "%s/esc", root);
    CHECK_EQ(symlink("/etc", p), 0);
    snprintf(p, sizeof p, "%s/pw", root);
    CHECK_EQ(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof p, "%s/dangling", root);
    CHECK_EQ(symlink("/nonexistent-lode-dir/x", p), 0);
    snprintf(p, sizeof p, "%s/in", root);
    CHECK_EQ(symlink("inside.txt", p), 0);
    snprintf(p, sizeof p, "%s/d", root);
    CHECK_EQ(mkdir(p, 0755), 0);

    static const char *const bad[] = {
        "../lode-escape.txt", "/etc/passwd", "d/../../lode-escape.txt", "..", "esc/passwd", "pw", "dangling", "esc/newfile",
        "./../../../../../../etc/passwd",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int w = nwarn;
        for (uint32_t mode = 0; mode < 12; mode += 4) {
            CHECK_EQ(sh_open(sh, bad[i], mode), 0xFFFFFFFFu);
            CHECK_EQ(sh_errno(sh), EACCES);
        }
        CHECK_EQ(nwarn, w + 3); /* one warning per refusal */
        CHECK(strstr(last_msg, bad[i]) != NULL);
    }
    CHECK(!host_exists("../lode-escape.txt"));
    /* remove / rename out of or into the outside */
    int w = nwarn;
    CHECK_EQ(sh_remove(sh, "../lode-escape.txt"), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EACCES);
    CHECK_EQ(sh_remove(sh, "/tmp/lode-escape.txt"), 0xFFFFFFFFu);
    CHECK_EQ(sh_remove(sh, "esc/passwd"), 0xFFFFFFFFu);
    CHECK_EQ(sh_rename(sh, "inside.txt", "../stolen.txt"), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EACCES);
    CHECK_EQ(sh_rename(sh, "/etc/passwd", "mine.txt"), 0xFFFFFFFFu);
    CHECK_EQ(sh_rename(sh, "inside.txt", "esc/x"), 0xFFFFFFFFu);
    CHECK_EQ(nwarn, w + 6);
    CHECK(host_exists("inside.txt"));
    /* allowed: a link that stays inside, ".." that stays inside, odd but legal spellings */
    uint32_t h = sh_open(sh, "in", LODE_SH_OPEN_R);
    CHECK(h != 0xFFFFFFFFu);
    CHECK_EQ(sh_read(sh, h, 2), 0);
    CHECK(!memcmp(mem + A_BUF, "in", 2));
    sh_close(sh, h);
    h = sh_open(sh, "d/../inside.txt", LODE_SH_OPEN_R);
    CHECK(h != 0xFFFFFFFFu);
    sh_close(sh, h);
    h = sh_open(sh, ".//d///../inside.txt", LODE_SH_OPEN_R);
    CHECK(h != 0xFFFFFFFFu);
    sh_close(sh, h);
    /* the link itself may be removed (it is inside); its target is untouched */
    CHECK_EQ(sh_remove(sh, "pw"), 0);
    CHECK(!host_exists("pw"));
    CHECK_EQ(access("/etc/passwd", F_OK), 0);
    CHECK_EQ(nwarn, w + 6);
    /* a path longer than the bound */
    char longp[LODE_SH_MAX_STRING + 10];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    CHECK_EQ(sh_open(sh, longp, LODE_SH_OPEN_R), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), ENAMETOOLONG);
    blk(A_STR, LODE_SH_OPEN_R, 0xFFFFFFFFu, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_OPEN, A_BLK), 0xFFFFFFFFu);
    /* a length shorter than the string: only that much is the name */
    put_str(A_STR, "inside.txtGARBAGE");
    blk(A_STR, LODE_SH_OPEN_R, 10, 0);
    h = sys(sh, LODE_SH_SYS_OPEN, A_BLK);
    CHECK(h != 0xFFFFFFFFu);
    sh_close(sh, h);
    lode_semihost_free(sh);
}

static void test_system(void)
{
    lode_semihost_s *sh = mk2("", root, false);
    uint32_t n = put_str(A_STR, "touch should-not-exist");
    blk(A_STR, n, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_SYSTEM, A_BLK), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EPERM);
    CHECK_EQ(nwarn, 1);
    CHECK(strstr(last_msg, "touch should-not-exist") != NULL);
    CHECK(!host_exists("should-not-exist"));
    lode_semihost_free(sh);

    sh = mk2("", root, true);
    n = put_str(A_STR, "echo hi; echo oops >&2; touch made.txt; exit 3");
    blk(A_STR, n, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_SYSTEM, A_BLK), 3);
    CHECK(strstr(out, "hi\n") != NULL);
    CHECK(strstr(out, "oops\n") != NULL);
    CHECK(host_exists("made.txt")); /* ran in the root */
    n = put_str(A_STR, "true");
    blk(A_STR, n, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_SYSTEM, A_BLK), 0);
    blk(A_STR, 0xFFFFFFFFu, 0, 0);
    CHECK_EQ(sys(sh, LODE_SH_SYS_SYSTEM, A_BLK), 0xFFFFFFFFu);
    blk(A_BAD, 4, 0, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_SYSTEM, A_BLK), LODE_E_FAULT);
    CHECK_EQ(nwarn, 0);
    lode_semihost_free(sh);
}

static void test_handles_bounded(void)
{
    int fds = count_fds();
    lode_semihost_s *sh = mk2("", root, false);
    uint32_t hs[LODE_SH_MAX_HANDLES];
    for (int i = 0; i < LODE_SH_MAX_HANDLES; i++) {
        hs[i] = sh_open(sh, i % 2 ? ":tt" : "h.txt", LODE_SH_OPEN_W);
        CHECK(hs[i] != 0xFFFFFFFFu && hs[i] != 0);
    }
    CHECK_EQ(sh_open(sh, ":tt", LODE_SH_OPEN_W), 0xFFFFFFFFu);
    CHECK_EQ(sh_errno(sh), EMFILE);
    CHECK_EQ(sh_open(sh, "h2.txt", LODE_SH_OPEN_W), 0xFFFFFFFFu);
    CHECK(!host_exists("h2.txt")); /* nothing created without a handle */
    CHECK_EQ(sh_close(sh, hs[5]), 0);
    CHECK_EQ(sh_open(sh, ":tt", LODE_SH_OPEN_W), hs[5]);
    static const uint32_t badh[] = {0, LODE_SH_MAX_HANDLES + 1, 0xFFFFFFFFu, 0x80000000u};
    for (size_t i = 0; i < sizeof badh / sizeof badh[0]; i++) {
        CHECK_EQ(sh_close(sh, badh[i]), 0xFFFFFFFFu);
        CHECK_EQ(sh_1(sh, LODE_SH_SYS_ISTTY, badh[i]), 0xFFFFFFFFu);
        CHECK_EQ(sh_1(sh, LODE_SH_SYS_FLEN, badh[i]), 0xFFFFFFFFu);
        CHECK_EQ(sh_seek(sh, badh[i], 0), 0xFFFFFFFFu);
        CHECK_EQ(sh_read(sh, badh[i], 1), 0xFFFFFFFFu);
        CHECK_EQ(sh_write(sh, badh[i], "x", 1), 1);
        CHECK_EQ(sh_errno(sh), EBADF);
    }
    sh_remove(sh, "h.txt");
    CHECK_EQ(count_fds(), fds + LODE_SH_MAX_HANDLES / 2);
    lode_semihost_free(sh); /* closes the 32 files still open */
    CHECK_EQ(count_fds(), fds);
}

/* Every operation that takes a parameter block, with the block (or a buffer it names) out of
 * target memory: an error for the caller, no crash, no result. */
static void test_bad_blocks(void)
{
    lode_semihost_s *sh = mk2("cmd", root, true);
    static const uint32_t ops[] = {
        LODE_SH_SYS_OPEN,   LODE_SH_SYS_CLOSE,   LODE_SH_SYS_WRITEC,   LODE_SH_SYS_WRITE0,
        LODE_SH_SYS_WRITE,  LODE_SH_SYS_READ,    LODE_SH_SYS_ISERROR,  LODE_SH_SYS_ISTTY,
        LODE_SH_SYS_SEEK,   LODE_SH_SYS_FLEN,    LODE_SH_SYS_TMPNAM,   LODE_SH_SYS_REMOVE,
        LODE_SH_SYS_RENAME, LODE_SH_SYS_SYSTEM,  LODE_SH_SYS_GET_CMDLINE, LODE_SH_SYS_HEAPINFO,
        LODE_SH_SYS_EXIT_EXTENDED, LODE_SH_SYS_ELAPSED,
    };
    static const uint32_t addrs[] = {A_BAD, 0xFFFFFFFFu, MEM_SIZE, MEM_SIZE + 0x100};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        for (size_t j = 0; j < sizeof addrs / sizeof addrs[0]; j++) {
            int rc, code = -7;
            bool ex = true;
            uint32_t r0 = call(sh, ops[i], addrs[j], &rc, &ex, &code);
            CHECK(rc < 0);
            CHECK_EQ(r0, 0xDEAD); /* untouched */
            CHECK(!ex);
        }
    }
    /* pointers inside a good block that point out of memory */
    uint32_t h = sh_open(sh, "f.txt", LODE_SH_OPEN_WPLUS);
    CHECK_EQ(sh_write(sh, h, "0123456789", 10), 0);
    CHECK_EQ(sh_seek(sh, h, 0), 0);
    blk(h, MEM_SIZE - 4, 10, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_READ, A_BLK), LODE_E_FAULT);
    blk(h, MEM_SIZE - 4, 10, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_WRITE, A_BLK), LODE_E_FAULT);
    CHECK_EQ(sh_seek(sh, h, 0), 0);
    blk(h, A_BUF, 0xFFFFFFFFu, 0); /* a huge read stops at the end of the file */
    CHECK_EQ(sys(sh, LODE_SH_SYS_READ, A_BLK), 0xFFFFFFFFu - 10);
    CHECK(!memcmp(mem + A_BUF, "0123456789", 10));
    blk(h, A_BUF, 0xFFFFFFFFu, 0); /* a huge write runs into the end of memory */
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_WRITE, A_BLK), LODE_E_FAULT);
    sh_close(sh, h);
    blk(A_BAD, LODE_SH_OPEN_R, 3, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_OPEN, A_BLK), LODE_E_FAULT);
    blk(A_BAD, 3, 0, 0);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_REMOVE, A_BLK), LODE_E_FAULT);
    put_str(A_STR, "f.txt");
    blk(A_STR, 5, A_BAD, 3);
    CHECK_EQ(sys_rc(sh, LODE_SH_SYS_RENAME, A_BLK), LODE_E_FAULT);
    CHECK(host_exists("f.txt"));
    sh_remove(sh, "f.txt");
    lode_semihost_free(sh);
}

static void test_new(void)
{
    lode_semihost_io_s io = {mrd, mwr, cw, cr, tus, NULL};
    lode_semihost_config_s cfg = {.io = io, .root = "/nonexistent-lode-root",
                                  .log = {.fn = logfn, .max_level = LODE_LOG_DEBUG}};
    lode_semihost_s *sh = (lode_semihost_s *)&nerr;
    nerr = 0;
    CHECK_EQ(lode_semihost_new(&cfg, &sh), LODE_E_NO_DEVICE);
    CHECK(sh == (lode_semihost_s *)&nerr); /* untouched on error */
    CHECK_EQ(nerr, 1);
    CHECK(strstr(last_msg, "/nonexistent-lode-root") != NULL);
    char f[128];
    snprintf(f, sizeof f, "%s/plain", root);
    host_write("plain", "x");
    cfg.root = f;
    nerr = 0;
    CHECK_EQ(lode_semihost_new(&cfg, &sh), LODE_E_INVALID_ARG);
    CHECK_EQ(nerr, 1);
    lode_semihost_config_s dflt = {.io = io};
    CHECK_EQ(lode_semihost_new(&dflt, &sh), LODE_OK);
    lode_semihost_free(sh);
    lode_semihost_config_s noio = {.cmdline = "x"};
    CHECK_EQ(lode_semihost_new(&noio, &sh), LODE_E_INVALID_ARG);
    noio.io.mem_read = mrd; /* mem_write missing */
    CHECK_EQ(lode_semihost_new(&noio, &sh), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_semihost_new(NULL, &sh), LODE_E_INVALID_ARG);
    lode_semihost_free(NULL);
    /* no time callback: the host clock; no console: output dropped, input at end */
    lode_semihost_config_s bare = {.io = {.mem_read = mrd, .mem_write = mwr}};
    CHECK_EQ(lode_semihost_new(&bare, &sh), LODE_OK);
    CHECK(sys(sh, LODE_SH_SYS_CLOCK, 0) < 100);
    uint32_t h = sh_open(sh, ":tt", LODE_SH_OPEN_W);
    CHECK_EQ(sh_write(sh, h, "x", 1), 0);
    h = sh_open(sh, ":tt", LODE_SH_OPEN_R);
    CHECK_EQ(sh_read(sh, h, 3), 3);
    lode_semihost_free(sh);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/lode-sh-XXXXXX");
    if (!mkdtemp(root)) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    RUN_TEST(test_write_ops);
    RUN_TEST(test_prefetch);
    RUN_TEST(test_tt_modes);
    RUN_TEST(test_features);
    RUN_TEST(test_read_cmdline_exit);
    RUN_TEST(test_cmdline_long);
    RUN_TEST(test_time_misc);
    RUN_TEST(test_unknown_once);
    RUN_TEST(test_file_roundtrip);
    RUN_TEST(test_all_modes);
    RUN_TEST(test_sandbox);
    RUN_TEST(test_system);
    RUN_TEST(test_handles_bounded);
    RUN_TEST(test_bad_blocks);
    RUN_TEST(test_new);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE();
}
