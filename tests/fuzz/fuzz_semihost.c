/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the semihosting host side: a fake target memory and a sequence of
 * calls, with host files in a fresh temporary root per input (removed afterwards).
 *
 * Input: byte 0 = number of calls (mod 17); then per call 3 bytes: operation selector (< 24:
 * one of the specification's operations, else the byte itself as the operation number),
 * parameter low byte, parameter high byte (high bit set: 0xFFFF0000 | parameter, outside
 * memory). The rest is the target memory image, from address 0.
 *
 * Checked: no crash or sanitizer report; a failed call leaves r0 untouched and does not exit;
 * every log message is a non-empty warning; no host file outside the root is touched (the
 * root is the only place the harness looks, and the sandbox is what keeps it so). */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/log.h"
#include "lode/semihost.h"

#define FZ_MEM 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_s {
    uint8_t mem[FZ_MEM];
    size_t in_left;
} fz_s;

static int fz_rd(void *c, uint32_t a, void *b, size_t n)
{
    fz_s *f = c;
    if (a >= FZ_MEM || n > FZ_MEM - a)
        return LODE_E_FAULT;
    memcpy(b, f->mem + a, n);
    return LODE_OK;
}

static int fz_wr(void *c, uint32_t a, const void *b, size_t n)
{
    fz_s *f = c;
    if (a >= FZ_MEM || n > FZ_MEM - a)
        return LODE_E_FAULT;
    memcpy(f->mem + a, b, n);
    return LODE_OK;
}

static void fz_out(void *c, int fd, const uint8_t *d, size_t n)
{
    (void)c;
    if ((fd != 1 && fd != 2) || (!d && n))
        abort();
    volatile uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= d[i];
    (void)x;
}

static long fz_in(void *c, uint8_t *b, size_t n)
{
    fz_s *f = c;
    size_t k = n < f->in_left ? n : f->in_left;
    memset(b, 'i', k);
    f->in_left -= k;
    return (long)k;
}

static uint64_t fz_time(void *c)
{
    (void)c;
    return 1000;
}

static void fz_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    (void)cat;
    if (level != LODE_LOG_WARN || !msg || !msg[0])
        abort();
}

static void fz_rm_root(const char *root)
{
    DIR *d = opendir(root);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
    }
    rmdir(root);
}

static const uint32_t fz_ops[24] = {
    LODE_SH_SYS_OPEN,     LODE_SH_SYS_CLOSE,         LODE_SH_SYS_WRITEC,  LODE_SH_SYS_WRITE0,
    LODE_SH_SYS_WRITE,    LODE_SH_SYS_READ,          LODE_SH_SYS_READC,   LODE_SH_SYS_ISERROR,
    LODE_SH_SYS_ISTTY,    LODE_SH_SYS_SEEK,          LODE_SH_SYS_FLEN,    LODE_SH_SYS_TMPNAM,
    LODE_SH_SYS_REMOVE,   LODE_SH_SYS_RENAME,        LODE_SH_SYS_CLOCK,   LODE_SH_SYS_TIME,
    LODE_SH_SYS_SYSTEM,   LODE_SH_SYS_ERRNO,         LODE_SH_SYS_GET_CMDLINE,
    LODE_SH_SYS_HEAPINFO, LODE_SH_SYS_EXIT,          LODE_SH_SYS_EXIT_EXTENDED,
    LODE_SH_SYS_ELAPSED,  LODE_SH_SYS_TICKFREQ,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned ncalls = data[0] % 17u;
    size_t hdr = 1 + 3u * ncalls;
    if (size < hdr)
        return 0;
    fz_s *f = calloc(1, sizeof *f);
    if (!f)
        return 0;
    size_t img = size - hdr < FZ_MEM ? size - hdr : FZ_MEM;
    memcpy(f->mem, data + hdr, img);
    f->in_left = 64;

    char root[] = "/tmp/lode-fuzz-sh-XXXXXX";
    if (!mkdtemp(root)) {
        free(f);
        return 0;
    }
    lode_semihost_config_s cfg = {.io = {fz_rd, fz_wr, fz_out, fz_in, fz_time, f}, .cmdline = "fw arg", .root = root, .allow_system = false,
                                  .log = {.fn = fz_log, .max_level = LODE_LOG_DEBUG}};
    lode_semihost_s *sh = NULL;
    if (lode_semihost_new(&cfg, &sh) != LODE_OK)
        abort();
    for (unsigned i = 0; i < ncalls; i++) {
        const uint8_t *c = data + 1 + 3u * i;
        uint32_t op = c[0] < 24 ? fz_ops[c[0]] : c[0];
        uint32_t param = (uint32_t)c[1] | ((uint32_t)(c[2] & 0x7F) << 8);
        if (c[2] & 0x80)
            param |= 0xFFFF0000u;
        uint32_t r0 = 0xDEADBEEFu;
        bool exited = true;
        int code = 0;
        int rc = lode_semihost_call(sh, op, param, &r0, &exited, &code);
        if (rc > 0)
            abort();
        if (rc != LODE_OK && (r0 != 0xDEADBEEFu || exited))
            abort();
    }
    lode_semihost_free(sh);
    fz_rm_root(root);
    free(f);
    return 0;
}
