/* SPDX-License-Identifier: MIT */
#include "lode/semihost.h"

#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "util/bytes.h"

/* Handles the target can hold: the console only (":tt"); host file access is not offered. */
#define SH_MAX_HANDLES 16
#define SH_MAX_STRING 4096

enum { SH_H_FREE = 0, SH_H_STDIN, SH_H_STDOUT, SH_H_STDERR };

struct lode_semihost_s {
    lode_semihost_io_s io;
    char *cmdline;
    int handles[SH_MAX_HANDLES];
    uint32_t err; /* last errno for SYS_ERRNO */
    uint64_t start_us;
};

int lode_semihost_new(const lode_semihost_io_s *io, const char *cmdline, lode_semihost_s **out)
{
    if (!io || !io->mem_read || !io->mem_write || !out)
        return LODE_E_INVALID_ARG;
    lode_semihost_s *sh = calloc(1, sizeof *sh);
    if (!sh)
        return LODE_E_NOMEM;
    sh->io = *io;
    sh->cmdline = strdup(cmdline ? cmdline : "");
    if (!sh->cmdline) {
        free(sh);
        return LODE_E_NOMEM;
    }
    /* No handle exists before the first SYS_OPEN (as with QEMU and Arm's debuggers): the C
     * library opens ":tt" for stdin, stdout and stderr itself. */
    sh->start_us = io->time_us ? io->time_us(io->ctx) : 0;
    *out = sh;
    return LODE_OK;
}

void lode_semihost_free(lode_semihost_s *sh)
{
    if (!sh)
        return;
    free(sh->cmdline);
    free(sh);
}

static int rd32(lode_semihost_s *sh, uint32_t addr, uint32_t *v)
{
    uint8_t b[4];
    int rc = sh->io.mem_read(sh->io.ctx, addr, b, 4);
    if (rc == LODE_OK)
        *v = lodei_get_le32(b);
    return rc;
}

static int wr32(lode_semihost_s *sh, uint32_t addr, uint32_t v)
{
    uint8_t b[4];
    lodei_put_le32(b, v);
    return sh->io.mem_write(sh->io.ctx, addr, b, 4);
}

static void out(lode_semihost_s *sh, int fd, const uint8_t *d, size_t n)
{
    if (sh->io.console_write && n)
        sh->io.console_write(sh->io.ctx, fd, d, n);
}

static int handle_kind(lode_semihost_s *sh, uint32_t h)
{
    return h < SH_MAX_HANDLES ? sh->handles[h] : SH_H_FREE;
}

int lode_semihost_call(lode_semihost_s *sh, uint32_t op, uint32_t param, uint32_t *r0,
                       bool *exited, int *exit_code)
{
    int rc = LODE_OK;
    uint32_t res = 0;
    uint32_t a[4] = {0};
    *exited = false;
    switch (op) {
    case LODE_SH_SYS_OPEN: {
        if ((rc = rd32(sh, param, &a[0])) || (rc = rd32(sh, param + 4, &a[1])) ||
            (rc = rd32(sh, param + 8, &a[2])))
            break;
        char name[64] = "";
        uint32_t len = a[2] < sizeof name - 1 ? a[2] : sizeof name - 1;
        if ((rc = sh->io.mem_read(sh->io.ctx, a[0], name, len)))
            break;
        name[len] = 0;
        if (strcmp(name, ":tt") != 0) {
            sh->err = 2; /* ENOENT: only the console is offered */
            res = 0xFFFFFFFFu;
            break;
        }
        int kind = a[1] < 4 ? SH_H_STDIN : a[1] < 8 ? SH_H_STDOUT : SH_H_STDERR;
        res = 0xFFFFFFFFu;
        for (unsigned h = 1; h < SH_MAX_HANDLES; h++) {
            if (sh->handles[h] == SH_H_FREE) {
                sh->handles[h] = kind;
                res = h;
                break;
            }
        }
        if (res == 0xFFFFFFFFu)
            sh->err = 24; /* EMFILE */
        break;
    }
    case LODE_SH_SYS_CLOSE:
        if ((rc = rd32(sh, param, &a[0])))
            break;
        if (handle_kind(sh, a[0]) == SH_H_FREE) {
            res = 0xFFFFFFFFu;
            sh->err = 9;
        } else {
            sh->handles[a[0]] = SH_H_FREE;
        }
        break;
    case LODE_SH_SYS_WRITEC: {
        uint8_t c;
        if ((rc = sh->io.mem_read(sh->io.ctx, param, &c, 1)))
            break;
        out(sh, 1, &c, 1);
        break;
    }
    case LODE_SH_SYS_WRITE0: {
        uint8_t buf[64];
        uint32_t addr = param, total = 0;
        for (;;) {
            if ((rc = sh->io.mem_read(sh->io.ctx, addr, buf, 1)))
                break;
            size_t n = 0;
            /* read byte by byte up to a chunk so a string at the end of RAM is fine */
            while (buf[n] && n < sizeof buf - 1) {
                n++;
                if ((rc = sh->io.mem_read(sh->io.ctx, addr + (uint32_t)n, buf + n, 1)))
                    break;
            }
            if (rc)
                break;
            out(sh, 1, buf, n);
            total += (uint32_t)n;
            if (buf[n] == 0 || total >= SH_MAX_STRING * 16)
                break;
            addr += (uint32_t)n;
        }
        break;
    }
    case LODE_SH_SYS_WRITE: {
        if ((rc = rd32(sh, param, &a[0])) || (rc = rd32(sh, param + 4, &a[1])) ||
            (rc = rd32(sh, param + 8, &a[2])))
            break;
        int kind = handle_kind(sh, a[0]);
        if (kind != SH_H_STDOUT && kind != SH_H_STDERR) {
            res = a[2]; /* nothing written */
            sh->err = 9;
            break;
        }
        uint8_t buf[256];
        uint32_t left = a[2], addr = a[1];
        while (left) {
            uint32_t n = left < sizeof buf ? left : (uint32_t)sizeof buf;
            if ((rc = sh->io.mem_read(sh->io.ctx, addr, buf, n)))
                break;
            out(sh, kind == SH_H_STDERR ? 2 : 1, buf, n);
            addr += n;
            left -= n;
        }
        res = left; /* bytes NOT written */
        break;
    }
    case LODE_SH_SYS_READ: {
        if ((rc = rd32(sh, param, &a[0])) || (rc = rd32(sh, param + 4, &a[1])) ||
            (rc = rd32(sh, param + 8, &a[2])))
            break;
        if (handle_kind(sh, a[0]) != SH_H_STDIN || !sh->io.console_read) {
            res = a[2];
            break;
        }
        uint8_t buf[256];
        uint32_t want = a[2] < sizeof buf ? a[2] : (uint32_t)sizeof buf;
        long got = want ? sh->io.console_read(sh->io.ctx, buf, want) : 0;
        if (got < 0) {
            res = 0xFFFFFFFFu;
            break;
        }
        if (got && (rc = sh->io.mem_write(sh->io.ctx, a[1], buf, (size_t)got)))
            break;
        res = a[2] - (uint32_t)got;
        break;
    }
    case LODE_SH_SYS_READC: {
        uint8_t c = 0;
        long got = sh->io.console_read ? sh->io.console_read(sh->io.ctx, &c, 1) : 0;
        res = got == 1 ? c : 0xFFFFFFFFu;
        break;
    }
    case LODE_SH_SYS_ISERROR:
        if ((rc = rd32(sh, param, &a[0])))
            break;
        res = (int32_t)a[0] < 0 ? 1 : 0;
        break;
    case LODE_SH_SYS_ISTTY:
        if ((rc = rd32(sh, param, &a[0])))
            break;
        res = handle_kind(sh, a[0]) != SH_H_FREE ? 1 : 0;
        break;
    case LODE_SH_SYS_SEEK:
        res = 0xFFFFFFFFu; /* the console cannot seek */
        sh->err = 29;
        break;
    case LODE_SH_SYS_FLEN:
        res = 0xFFFFFFFFu;
        sh->err = 29;
        break;
    case LODE_SH_SYS_CLOCK: {
        uint64_t us = sh->io.time_us ? sh->io.time_us(sh->io.ctx) - sh->start_us : 0;
        res = (uint32_t)(us / 10000); /* centiseconds */
        break;
    }
    case LODE_SH_SYS_TIME:
        res = sh->io.time_us ? (uint32_t)(sh->io.time_us(sh->io.ctx) / 1000000) : 0;
        break;
    case LODE_SH_SYS_ERRNO:
        res = sh->err;
        break;
    case LODE_SH_SYS_GET_CMDLINE: {
        if ((rc = rd32(sh, param, &a[0])) || (rc = rd32(sh, param + 4, &a[1])))
            break;
        size_t len = strlen(sh->cmdline);
        if (len + 1 > a[1]) {
            res = 0xFFFFFFFFu;
            break;
        }
        if ((rc = sh->io.mem_write(sh->io.ctx, a[0], sh->cmdline, len + 1)) ||
            (rc = wr32(sh, param + 4, (uint32_t)len)))
            break;
        break;
    }
    case LODE_SH_SYS_HEAPINFO: {
        /* no information: zeros tell the C library to use its linker-script defaults */
        if ((rc = rd32(sh, param, &a[0])))
            break;
        for (int i = 0; i < 4 && !rc; i++)
            rc = wr32(sh, a[0] + 4u * (unsigned)i, 0);
        break;
    }
    case LODE_SH_SYS_EXIT:
        /* AArch32: R1 holds the reason itself */
        *exited = true;
        *exit_code = param == LODE_SH_ADP_STOPPED_APPLICATION_EXIT ? 0 : 1;
        break;
    case LODE_SH_SYS_EXIT_EXTENDED:
        if ((rc = rd32(sh, param, &a[0])) || (rc = rd32(sh, param + 4, &a[1])))
            break;
        *exited = true;
        *exit_code = a[0] == LODE_SH_ADP_STOPPED_APPLICATION_EXIT ? (int)a[1] : (a[1] ? (int)a[1] : 1);
        break;
    case LODE_SH_SYS_ELAPSED: {
        uint64_t us = sh->io.time_us ? sh->io.time_us(sh->io.ctx) - sh->start_us : 0;
        if ((rc = wr32(sh, param, (uint32_t)us)) || (rc = wr32(sh, param + 4, (uint32_t)(us >> 32))))
            break;
        break;
    }
    case LODE_SH_SYS_TICKFREQ:
        res = 1000000; /* SYS_ELAPSED counts microseconds */
        break;
    default:
        res = 0xFFFFFFFFu;
        sh->err = 38; /* ENOSYS */
        break;
    }
    if (rc == LODE_OK)
        *r0 = res;
    return rc;
}
