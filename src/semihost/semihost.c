/* SPDX-License-Identifier: MIT */
/* Host side of Arm semihosting, written from "Semihosting for AArch32 and AArch64" (abi-aa).
 * Host files are reached with POSIX calls and confined to a root directory (see semihost.h). */
#include "lode/semihost.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "util/bytes.h"

#define SH_FAIL 0xFFFFFFFFu          /* -1 for the firmware */
#define SH_WRITE0_MAX (64u * 1024u)  /* SYS_WRITE0 stops after this many bytes */
#define SH_MAX_HIGH_OPS 32           /* unknown operations >= 0x100 remembered for warnings */
#define SH_LOG_PATH 160              /* bytes of a firmware path quoted in a log message */

typedef enum sh_kind_e {
    SH_H_FREE = 0,
    SH_H_STDIN,
    SH_H_STDOUT,
    SH_H_STDERR,
    SH_H_FILE,
    SH_H_FEATURES,
} sh_kind_e;

typedef struct sh_handle_s {
    sh_kind_e kind;
    int fd;       /* SH_H_FILE */
    uint32_t pos; /* SH_H_FEATURES: read position */
} sh_handle_s;

/* ":semihosting-features": magic "SHFB", then feature byte 0. */
static const uint8_t sh_features[5] = {
    'S', 'H', 'F', 'B', LODE_SH_FEATURE_EXIT_EXTENDED | LODE_SH_FEATURE_STDOUT_STDERR};

struct lode_semihost_s {
    lode_semihost_io_s io;
    lode_log_s log;
    char *cmdline;
    char *root;     /* canonical path (realpath) */
    size_t rootlen; /* 0 when the root is "/" */
    bool allow_system;
    sh_handle_s h[LODE_SH_MAX_HANDLES + 1]; /* index 0 unused: handles are nonzero */
    uint32_t err;                           /* host errno for SYS_ERRNO */
    uint64_t start_us;
    uint8_t warned_low[256 / 8]; /* unknown operations < 0x100 already reported */
    uint32_t warned_high[SH_MAX_HIGH_OPS];
    unsigned nwarned_high;
    /* target memory the caller read ahead for the next call (lode_semihost_prefetch) */
    uint8_t pre[LODE_SH_PREFETCH_MAX];
    uint32_t pre_addr, pre_len;
    int gfd[LODE_SH_MAX_HANDLES]; /* GDB File-I/O: host fd of GDB fd 3 + i, -1 when free */
    uint8_t buf[LODE_SH_CHUNK];
    uint32_t exit_reason, exit_value; /* the last SYS_EXIT / SYS_EXIT_EXTENDED, as given */
};

/* --- small helpers ---------------------------------------------------------------------- */

static uint64_t sh_now_us(const lode_semihost_s *sh)
{
    if (sh->io.time_us)
        return sh->io.time_us(sh->io.ctx);
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Target memory: from the read-ahead when it holds the range, else through the io. */
static int rd(lode_semihost_s *sh, uint32_t addr, void *dst, size_t len)
{
    if (sh->pre_len && addr >= sh->pre_addr && (uint64_t)addr + len <= (uint64_t)sh->pre_addr + sh->pre_len) {
        memcpy(dst, sh->pre + (addr - sh->pre_addr), len);
        return LODE_OK;
    }
    return sh->io.mem_read(sh->io.ctx, addr, dst, len);
}

static int wr(lode_semihost_s *sh, uint32_t addr, const void *src, size_t len)
{
    sh->pre_len = 0; /* what the firmware's memory held may change */
    return sh->io.mem_write(sh->io.ctx, addr, src, len);
}

static int rd32(lode_semihost_s *sh, uint32_t addr, uint32_t *v)
{
    uint8_t b[4];
    int rc = rd(sh, addr, b, 4);
    if (rc == LODE_OK)
        *v = lodei_get_le32(b);
    return rc;
}

static int wr32(lode_semihost_s *sh, uint32_t addr, uint32_t v)
{
    uint8_t b[4];
    lodei_put_le32(b, v);
    return wr(sh, addr, b, 4);
}

/* Read an n-word parameter block. A block that wraps around the address space is refused. */
static int rd_block(lode_semihost_s *sh, uint32_t addr, uint32_t *a, unsigned n)
{
    if ((uint64_t)addr + 4u * n > 0x100000000ull)
        return LODE_E_RANGE;
    /* one read for the whole block: each target access is a probe round trip */
    uint8_t b[4 * 8];
    if (n > 8)
        return LODE_E_INVALID_ARG;
    int rc = rd(sh, addr, b, 4u * n);
    if (rc != LODE_OK)
        return rc;
    for (unsigned i = 0; i < n; i++)
        a[i] = lodei_get_le32(b + 4 * i);
    return LODE_OK;
}

/* Read a string of `len` bytes (the specification's length, without the terminator) into
 * dst[LODE_SH_MAX_STRING + 1]. An embedded NUL ends the string early. */
static int rd_string(lode_semihost_s *sh, uint32_t addr, uint32_t len, char *dst, bool *too_long)
{
    *too_long = false;
    dst[0] = 0;
    if (len > LODE_SH_MAX_STRING) {
        *too_long = true;
        return LODE_OK;
    }
    if (len) {
        int rc = rd(sh, addr, dst, len);
        if (rc != LODE_OK)
            return rc;
    }
    dst[len] = 0;
    return LODE_OK;
}

static void out(lode_semihost_s *sh, int fd, const uint8_t *d, size_t n)
{
    if (sh->io.console_write && n)
        sh->io.console_write(sh->io.ctx, fd, d, n);
}

/* A copy of a firmware string fit for a log line: non-printable bytes become '?'. */
static void printable(const char *s, char *dst, size_t dstsz)
{
    size_t i = 0;
    for (; s[i] && i + 4 < dstsz; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    if (s[i]) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = 0;
}

static sh_handle_s *sh_handle(lode_semihost_s *sh, uint32_t h)
{
    if (h == 0 || h > LODE_SH_MAX_HANDLES || sh->h[h].kind == SH_H_FREE)
        return NULL;
    return &sh->h[h];
}

static uint32_t sh_free_slot(const lode_semihost_s *sh)
{
    for (uint32_t i = 1; i <= LODE_SH_MAX_HANDLES; i++)
        if (sh->h[i].kind == SH_H_FREE)
            return i;
    return 0;
}

static uint32_t sh_fail(lode_semihost_s *sh, int err)
{
    sh->err = (uint32_t)err;
    return SH_FAIL;
}

/* --- the file sandbox --------------------------------------------------------------------- */

typedef enum sh_res_e { SH_RES_OK, SH_RES_HOST_ERR, SH_RES_REFUSED } sh_res_e;

static bool sh_within_root(const lode_semihost_s *sh, const char *p)
{
    return strncmp(p, sh->root, sh->rootlen) == 0 &&
           (p[sh->rootlen] == '/' || p[sh->rootlen] == 0);
}

/* Map a firmware path to a host path under the root, in out[PATH_MAX]. follow_final: the
 * last component is opened through a symbolic link (SYS_OPEN); otherwise it is the link
 * itself that is acted on (SYS_REMOVE, SYS_RENAME). On SH_RES_HOST_ERR *err is an errno; on
 * SH_RES_REFUSED *why says what escaped. */
static sh_res_e sh_resolve(const lode_semihost_s *sh, const char *path, bool follow_final,
                           char *out_path, int *err, const char **why)
{
    *why = NULL;
    if (!path[0]) {
        *err = ENOENT;
        return SH_RES_HOST_ERR;
    }
    if (path[0] == '/') {
        *why = "it is an absolute path";
        return SH_RES_REFUSED;
    }
    /* lexical normalisation: "/a/b" built from the components, ".." removes the last one */
    char norm[LODE_SH_MAX_STRING + 2];
    size_t nlen = 0;
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t clen = e ? (size_t)(e - p) : strlen(p);
        if (clen == 0 || (clen == 1 && p[0] == '.')) {
            /* empty or "." component */
        } else if (clen == 2 && p[0] == '.' && p[1] == '.') {
            if (nlen == 0) {
                *why = "\"..\" climbs above the root";
                return SH_RES_REFUSED;
            }
            while (nlen > 0 && norm[nlen - 1] != '/')
                nlen--;
            nlen--; /* the '/' itself */
        } else {
            if (nlen + 1 + clen + 1 > sizeof norm) {
                *err = ENAMETOOLONG;
                return SH_RES_HOST_ERR;
            }
            norm[nlen++] = '/';
            memcpy(norm + nlen, p, clen);
            nlen += clen;
        }
        p += clen;
        if (*p == '/')
            p++;
    }
    norm[nlen] = 0;
    if (nlen == 0) {
        *err = EISDIR; /* the root itself */
        return SH_RES_HOST_ERR;
    }
    char *slash = strrchr(norm, '/');
    *slash = 0;
    const char *base = slash + 1;

    char parent[PATH_MAX], real_parent[PATH_MAX];
    int n = snprintf(parent, sizeof parent, "%s%s", sh->root, norm);
    if (n < 0 || (size_t)n >= sizeof parent) {
        *err = ENAMETOOLONG;
        return SH_RES_HOST_ERR;
    }
    if (!realpath(parent, real_parent)) {
        *err = errno;
        return SH_RES_HOST_ERR;
    }
    if (!sh_within_root(sh, real_parent)) {
        *why = "a symbolic link in it leads outside the root";
        return SH_RES_REFUSED;
    }
    n = snprintf(out_path, PATH_MAX, "%s/%s", strcmp(real_parent, "/") ? real_parent : "", base);
    if (n < 0 || n >= PATH_MAX) {
        *err = ENAMETOOLONG;
        return SH_RES_HOST_ERR;
    }
    struct stat st;
    if (follow_final && lstat(out_path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char real[PATH_MAX];
        if (!realpath(out_path, real)) {
            *why = "it is a symbolic link that leads nowhere";
            return SH_RES_REFUSED;
        }
        if (!sh_within_root(sh, real)) {
            *why = "it is a symbolic link that leads outside the root";
            return SH_RES_REFUSED;
        }
        memcpy(out_path, real, strlen(real) + 1);
    }
    return SH_RES_OK;
}

/* Resolve, logging a refusal. Returns true with host_path filled, or false with sh->err set. */
static bool sh_path(lode_semihost_s *sh, const char *what, const char *path, bool follow_final,
                    char *host_path)
{
    int err = 0;
    const char *why = NULL;
    sh_res_e r = sh_resolve(sh, path, follow_final, host_path, &err, &why);
    if (r == SH_RES_OK)
        return true;
    if (r == SH_RES_REFUSED) {
        char safe[SH_LOG_PATH];
        printable(path, safe, sizeof safe);
        lode_log(&sh->log, LODE_LOG_WARN, LODE_LOGC_GENERAL,
                 "semihosting: refused the firmware's %s of \"%s\": %s (files are confined to "
                 "%.200s); put the file under that directory or choose another root",
                 what, safe, why, sh->root);
        err = EACCES;
    }
    sh->err = (uint32_t)err;
    return false;
}

/* --- operations --------------------------------------------------------------------------- */

static const int sh_open_flags[12] = {
    O_RDONLY, O_RDONLY, O_RDWR, O_RDWR,                                  /* r rb r+ r+b */
    O_WRONLY | O_CREAT | O_TRUNC, O_WRONLY | O_CREAT | O_TRUNC,          /* w wb */
    O_RDWR | O_CREAT | O_TRUNC, O_RDWR | O_CREAT | O_TRUNC,              /* w+ w+b */
    O_WRONLY | O_CREAT | O_APPEND, O_WRONLY | O_CREAT | O_APPEND,        /* a ab */
    O_RDWR | O_CREAT | O_APPEND, O_RDWR | O_CREAT | O_APPEND,            /* a+ a+b */
};

static int op_open(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[3];
    char name[LODE_SH_MAX_STRING + 1];
    bool too_long;
    int rc = rd_block(sh, param, a, 3);
    if (rc == LODE_OK)
        rc = rd_string(sh, a[0], a[2], name, &too_long);
    if (rc != LODE_OK)
        return rc;
    uint32_t mode = a[1];
    if (too_long) {
        *res = sh_fail(sh, ENAMETOOLONG);
        return LODE_OK;
    }
    if (mode > LODE_SH_OPEN_APLUSB) {
        *res = sh_fail(sh, EINVAL);
        return LODE_OK;
    }
    uint32_t slot = sh_free_slot(sh);
    if (!slot) {
        *res = sh_fail(sh, EMFILE);
        return LODE_OK;
    }
    sh_handle_s *h = &sh->h[slot];
    if (strcmp(name, ":tt") == 0) {
        /* r: stdin, w: stdout, a: stderr (SH_EXT_STDOUT_STDERR) */
        h->kind = mode <= LODE_SH_OPEN_RPLUSB ? SH_H_STDIN
                  : mode <= LODE_SH_OPEN_WPLUSB ? SH_H_STDOUT
                                                : SH_H_STDERR;
        *res = slot;
        return LODE_OK;
    }
    if (strcmp(name, ":semihosting-features") == 0) {
        if (mode > LODE_SH_OPEN_RB) {
            *res = sh_fail(sh, EACCES); /* read-only: other modes must fail */
            return LODE_OK;
        }
        h->kind = SH_H_FEATURES;
        h->pos = 0;
        *res = slot;
        return LODE_OK;
    }
    char host[PATH_MAX];
    if (!sh_path(sh, "open", name, true, host)) {
        *res = SH_FAIL;
        return LODE_OK;
    }
    int fd = open(host, sh_open_flags[mode] | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
        *res = sh_fail(sh, errno);
        return LODE_OK;
    }
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e) {
        close(fd);
        *res = sh_fail(sh, e);
        return LODE_OK;
    }
    h->kind = SH_H_FILE;
    h->fd = fd;
    *res = slot;
    return LODE_OK;
}

static int op_close(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t hn;
    int rc = rd32(sh, param, &hn);
    if (rc != LODE_OK)
        return rc;
    sh_handle_s *h = sh_handle(sh, hn);
    if (!h) {
        *res = sh_fail(sh, EBADF);
        return LODE_OK;
    }
    *res = 0;
    if (h->kind == SH_H_FILE && close(h->fd) != 0)
        *res = sh_fail(sh, errno);
    h->kind = SH_H_FREE;
    h->fd = -1;
    return LODE_OK;
}

static int op_write0(lode_semihost_s *sh, uint32_t addr)
{
    uint32_t total = 0;
    for (;;) {
        /* up to the next 64-byte boundary at once; byte by byte if that faults (a string
         * that ends just before the end of a memory region) */
        uint32_t n = 64u - (addr & 63u);
        if (rd(sh, addr, sh->buf, n) != LODE_OK) {
            n = 1;
            int rc = rd(sh, addr, sh->buf, 1);
            if (rc != LODE_OK)
                return rc;
        }
        const uint8_t *z = memchr(sh->buf, 0, n);
        size_t k = z ? (size_t)(z - sh->buf) : n;
        out(sh, 1, sh->buf, k);
        total += (uint32_t)k;
        if (z || total >= SH_WRITE0_MAX)
            return LODE_OK;
        addr += n;
    }
}

/* Returns 0 or the errno that stopped the write; *done is what was written. */
static int write_all(int fd, const uint8_t *d, size_t n, size_t *done)
{
    *done = 0;
    while (*done < n) {
        ssize_t w = write(fd, d + *done, n - *done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        *done += (size_t)w;
    }
    return 0;
}

static int op_write(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[3];
    int rc = rd_block(sh, param, a, 3);
    if (rc != LODE_OK)
        return rc;
    sh_handle_s *h = sh_handle(sh, a[0]);
    if (!h || (h->kind != SH_H_STDOUT && h->kind != SH_H_STDERR && h->kind != SH_H_FILE)) {
        sh->err = EBADF;
        *res = a[2]; /* nothing written */
        return LODE_OK;
    }
    uint32_t left = a[2], addr = a[1];
    while (left) {
        uint32_t n = left < LODE_SH_CHUNK ? left : LODE_SH_CHUNK;
        if ((rc = rd(sh, addr, sh->buf, n)) != LODE_OK)
            return rc;
        if (h->kind == SH_H_FILE) {
            size_t done;
            int e = write_all(h->fd, sh->buf, n, &done);
            if (e) {
                sh->err = (uint32_t)e;
                left -= (uint32_t)done;
                break;
            }
        } else {
            out(sh, h->kind == SH_H_STDERR ? 2 : 1, sh->buf, n);
        }
        addr += n;
        left -= n;
    }
    *res = left; /* bytes NOT written */
    return LODE_OK;
}

static int op_read(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[3];
    int rc = rd_block(sh, param, a, 3);
    if (rc != LODE_OK)
        return rc;
    uint32_t count = a[2], addr = a[1];
    sh_handle_s *h = sh_handle(sh, a[0]);
    if (!h || h->kind == SH_H_STDOUT || h->kind == SH_H_STDERR) {
        *res = sh_fail(sh, EBADF);
        return LODE_OK;
    }
    if (h->kind == SH_H_STDIN) {
        /* one console read: interactive input returns what is there */
        if (!sh->io.console_read || count == 0) {
            *res = count;
            return LODE_OK;
        }
        uint32_t want = count < LODE_SH_CHUNK ? count : LODE_SH_CHUNK;
        long got = sh->io.console_read(sh->io.ctx, sh->buf, want);
        if (got < 0 || (unsigned long)got > want) {
            *res = sh_fail(sh, EIO);
            return LODE_OK;
        }
        if (got && (rc = wr(sh, addr, sh->buf, (size_t)got)) != LODE_OK)
            return rc;
        *res = count - (uint32_t)got;
        return LODE_OK;
    }
    if (h->kind == SH_H_FEATURES) {
        uint32_t avail = h->pos < sizeof sh_features ? (uint32_t)sizeof sh_features - h->pos : 0;
        uint32_t n = count < avail ? count : avail;
        if (n && (rc = wr(sh, addr, sh_features + h->pos, n)) != LODE_OK)
            return rc;
        h->pos += n;
        *res = count - n;
        return LODE_OK;
    }
    uint32_t left = count;
    while (left) {
        uint32_t n = left < LODE_SH_CHUNK ? left : LODE_SH_CHUNK;
        ssize_t r = read(h->fd, sh->buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            sh->err = (uint32_t)errno;
            if (left == count) {
                *res = SH_FAIL;
                return LODE_OK;
            }
            break;
        }
        if (r == 0)
            break;
        if ((rc = wr(sh, addr, sh->buf, (size_t)r)) != LODE_OK)
            return rc;
        addr += (uint32_t)r;
        left -= (uint32_t)r;
    }
    *res = left; /* bytes NOT read */
    return LODE_OK;
}

static int op_istty(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t hn;
    int rc = rd32(sh, param, &hn);
    if (rc != LODE_OK)
        return rc;
    sh_handle_s *h = sh_handle(sh, hn);
    if (!h)
        *res = sh_fail(sh, EBADF);
    else if (h->kind == SH_H_FILE)
        *res = isatty(h->fd) ? 1 : 0;
    else
        *res = h->kind == SH_H_FEATURES ? 0 : 1;
    return LODE_OK;
}

static int op_seek(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[2];
    int rc = rd_block(sh, param, a, 2);
    if (rc != LODE_OK)
        return rc;
    sh_handle_s *h = sh_handle(sh, a[0]);
    if (!h) {
        *res = sh_fail(sh, EBADF);
    } else if (h->kind == SH_H_FILE) {
        *res = lseek(h->fd, (off_t)a[1], SEEK_SET) == (off_t)-1 ? sh_fail(sh, errno) : 0;
    } else if (h->kind == SH_H_FEATURES) {
        if (a[1] > sizeof sh_features) {
            *res = sh_fail(sh, EINVAL);
        } else {
            h->pos = a[1];
            *res = 0;
        }
    } else {
        *res = sh_fail(sh, ESPIPE); /* the console cannot seek */
    }
    return LODE_OK;
}

static int op_flen(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t hn;
    int rc = rd32(sh, param, &hn);
    if (rc != LODE_OK)
        return rc;
    sh_handle_s *h = sh_handle(sh, hn);
    struct stat st;
    if (!h)
        *res = sh_fail(sh, EBADF);
    else if (h->kind == SH_H_FEATURES)
        *res = (uint32_t)sizeof sh_features;
    else if (h->kind != SH_H_FILE)
        *res = sh_fail(sh, ESPIPE);
    else if (fstat(h->fd, &st) != 0)
        *res = sh_fail(sh, errno);
    else if (st.st_size > INT32_MAX)
        *res = sh_fail(sh, EOVERFLOW); /* would read as an error (negative) */
    else
        *res = (uint32_t)st.st_size;
    return LODE_OK;
}

static int op_tmpnam(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[3];
    int rc = rd_block(sh, param, a, 3);
    if (rc != LODE_OK)
        return rc;
    if (a[1] > 255) {
        *res = sh_fail(sh, EINVAL);
        return LODE_OK;
    }
    /* relative, so it lands in the root; the same identifier gives the same name */
    char name[48];
    int n = snprintf(name, sizeof name, "lode%ld-%u.tmp", (long)getpid(), (unsigned)a[1]);
    if (n < 0 || (uint32_t)n + 1 > a[2]) {
        *res = sh_fail(sh, ERANGE);
        return LODE_OK;
    }
    if ((rc = wr(sh, a[0], name, (size_t)n + 1)) != LODE_OK)
        return rc;
    *res = 0;
    return LODE_OK;
}

/* SYS_REMOVE and SYS_RENAME: 0 on success, else -1 (a nonzero error code, as the
 * specification asks, and the value C libraries test for) with SYS_ERRNO set. */
static int op_remove(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[2];
    char name[LODE_SH_MAX_STRING + 1], host[PATH_MAX];
    bool too_long;
    int rc = rd_block(sh, param, a, 2);
    if (rc == LODE_OK)
        rc = rd_string(sh, a[0], a[1], name, &too_long);
    if (rc != LODE_OK)
        return rc;
    if (too_long)
        *res = sh_fail(sh, ENAMETOOLONG);
    else if (!sh_path(sh, "remove", name, false, host))
        *res = SH_FAIL;
    else
        *res = unlink(host) != 0 ? sh_fail(sh, errno) : 0;
    return LODE_OK;
}

static int op_rename(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[4];
    char from[LODE_SH_MAX_STRING + 1], to[LODE_SH_MAX_STRING + 1];
    char hfrom[PATH_MAX], hto[PATH_MAX];
    bool long1, long2;
    int rc = rd_block(sh, param, a, 4);
    if (rc == LODE_OK)
        rc = rd_string(sh, a[0], a[1], from, &long1);
    if (rc == LODE_OK)
        rc = rd_string(sh, a[2], a[3], to, &long2);
    if (rc != LODE_OK)
        return rc;
    if (long1 || long2)
        *res = sh_fail(sh, ENAMETOOLONG);
    else if (!sh_path(sh, "rename", from, false, hfrom) || !sh_path(sh, "rename", to, false, hto))
        *res = SH_FAIL;
    else
        *res = rename(hfrom, hto) != 0 ? sh_fail(sh, errno) : 0;
    return LODE_OK;
}

/* Run a command with /bin/sh -c in the root; its stdout/stderr go to the console, its stdin
 * is /dev/null. Returns the exit status (128 + signal when killed) or -1. */
static uint32_t sh_run_command(lode_semihost_s *sh, const char *cmd)
{
    int po[2], pe[2];
    if (pipe(po) != 0)
        return sh_fail(sh, errno);
    if (pipe(pe) != 0) {
        int e = errno;
        close(po[0]);
        close(po[1]);
        return sh_fail(sh, e);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        if (chdir(sh->root) != 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int fork_err = errno;
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return sh_fail(sh, fork_err);
    }
    struct pollfd pf[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(pf[i].fd, sh->buf, sizeof sh->buf);
            if (r > 0) {
                out(sh, i ? 2 : 1, sh->buf, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return sh_fail(sh, errno);
    if (WIFEXITED(status))
        return (uint32_t)WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128u + (uint32_t)WTERMSIG(status);
    return sh_fail(sh, ECHILD);
}

static int op_system(lode_semihost_s *sh, uint32_t param, uint32_t *res)
{
    uint32_t a[2];
    char cmd[LODE_SH_MAX_STRING + 1];
    bool too_long;
    int rc = rd_block(sh, param, a, 2);
    if (rc == LODE_OK)
        rc = rd_string(sh, a[0], a[1], cmd, &too_long);
    if (rc != LODE_OK)
        return rc;
    if (!sh->allow_system) {
        char safe[SH_LOG_PATH];
        printable(cmd, safe, sizeof safe);
        lode_log(&sh->log, LODE_LOG_WARN, LODE_LOGC_GENERAL,
                 "semihosting: refused the firmware's SYS_SYSTEM \"%s\": running host commands "
                 "is off; allow it explicitly if the firmware is trusted",
                 safe);
        *res = sh_fail(sh, EPERM);
        return LODE_OK;
    }
    *res = too_long ? sh_fail(sh, ENAMETOOLONG) : sh_run_command(sh, cmd);
    return LODE_OK;
}

static bool sh_first_unknown(lode_semihost_s *sh, uint32_t op)
{
    if (op < 256) {
        uint8_t bit = (uint8_t)(1u << (op & 7));
        bool first = !(sh->warned_low[op >> 3] & bit);
        sh->warned_low[op >> 3] |= bit;
        return first;
    }
    for (unsigned i = 0; i < sh->nwarned_high; i++)
        if (sh->warned_high[i] == op)
            return false;
    if (sh->nwarned_high == SH_MAX_HIGH_OPS)
        return false; /* enough reported: stay quiet */
    sh->warned_high[sh->nwarned_high++] = op;
    return true;
}

/* --- public ------------------------------------------------------------------------------ */

int lode_semihost_new(const lode_semihost_config_s *cfg, lode_semihost_s **out_sh)
{
    if (!cfg || !cfg->io.mem_read || !cfg->io.mem_write || !out_sh)
        return LODE_E_INVALID_ARG;
    const lode_semihost_io_s *io = &cfg->io;
    lode_semihost_s *sh = calloc(1, sizeof *sh);
    if (!sh)
        return LODE_E_NOMEM;
    int rc = LODE_OK;
    sh->io = *io;
    sh->log = cfg->log;
    sh->allow_system = cfg->allow_system;
    for (unsigned i = 0; i <= LODE_SH_MAX_HANDLES; i++)
        sh->h[i].fd = -1;
    for (unsigned i = 0; i < LODE_SH_MAX_HANDLES; i++)
        sh->gfd[i] = -1;
    sh->cmdline = strdup(cfg->cmdline ? cfg->cmdline : "");
    if (!sh->cmdline) {
        rc = LODE_E_NOMEM;
        goto fail;
    }
    const char *root = cfg->root ? cfg->root : ".";
    sh->root = realpath(root, NULL);
    if (!sh->root) {
        int e = errno;
        lode_log(&sh->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                 "semihosting file root \"%.200s\" cannot be used: %s; create it or choose an "
                 "existing directory",
                 root, strerror(e));
        rc = e == ENOMEM ? LODE_E_NOMEM : LODE_E_NO_DEVICE;
        goto fail;
    }
    struct stat st;
    if (stat(sh->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lode_log(&sh->log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                 "semihosting file root \"%.200s\" is not a directory; choose a directory",
                 root);
        rc = LODE_E_INVALID_ARG;
        goto fail;
    }
    sh->rootlen = strcmp(sh->root, "/") == 0 ? 0 : strlen(sh->root);
    /* No handle exists before the first SYS_OPEN (as with Arm's debuggers): the C library
     * opens ":tt" for stdin, stdout and stderr itself. */
    sh->start_us = sh_now_us(sh);
    *out_sh = sh;
    return LODE_OK;
fail:
    free(sh->root);
    free(sh->cmdline);
    free(sh);
    return rc;
}

static int core_mem_read(void *ctx, uint32_t a, void *b, size_t n)
{
    const lode_core_ops_s *c = ctx;
    return c->mem_read(c->ctx, a, b, n);
}

static int core_mem_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    const lode_core_ops_s *c = ctx;
    return c->mem_write(c->ctx, a, b, n);
}

static uint64_t core_time_us(void *ctx)
{
    const lode_core_ops_s *c = ctx;
    return c->now_us(c->ctx);
}

lode_semihost_io_s lode_semihost_io_core(const lode_core_ops_s *core)
{
    lode_semihost_io_s io = {.mem_read = core_mem_read, .mem_write = core_mem_write,
                             .time_us = core->now_us ? core_time_us : NULL, .ctx = (void *)core};
    return io;
}

uint32_t lode_semihost_param_bytes(uint32_t op)
{
    switch (op) {
    case LODE_SH_SYS_WRITEC:
        return 1;
    case LODE_SH_SYS_CLOSE: case LODE_SH_SYS_ISERROR: case LODE_SH_SYS_ISTTY:
    case LODE_SH_SYS_FLEN: case LODE_SH_SYS_HEAPINFO:
        return 4;
    case LODE_SH_SYS_SEEK: case LODE_SH_SYS_REMOVE: case LODE_SH_SYS_SYSTEM:
    case LODE_SH_SYS_GET_CMDLINE: case LODE_SH_SYS_EXIT_EXTENDED: case LODE_SH_SYS_ELAPSED:
        return 8;
    case LODE_SH_SYS_OPEN: case LODE_SH_SYS_WRITE: case LODE_SH_SYS_READ: case LODE_SH_SYS_TMPNAM:
        return 12;
    case LODE_SH_SYS_RENAME:
        return 16;
    case LODE_SH_SYS_WRITE0:
        return LODE_SH_PREFETCH_MAX;
    default:
        return 0;
    }
}

void lode_semihost_free(lode_semihost_s *sh)
{
    if (!sh)
        return;
    for (unsigned i = 1; i <= LODE_SH_MAX_HANDLES; i++)
        if (sh->h[i].kind == SH_H_FILE)
            close(sh->h[i].fd);
    for (unsigned i = 0; i < LODE_SH_MAX_HANDLES; i++)
        if (sh->gfd[i] >= 0)
            close(sh->gfd[i]);
    free(sh->root);
    free(sh->cmdline);
    free(sh);
}

int lode_semihost_call(lode_semihost_s *sh, uint32_t op, uint32_t param, uint32_t *r0,
                       bool *exited, int *exit_code)
{
    int rc = LODE_OK;
    uint32_t res = 0;
    uint32_t a[2] = {0};
    *exited = false;
    switch (op) {
    case LODE_SH_SYS_OPEN:
        rc = op_open(sh, param, &res);
        break;
    case LODE_SH_SYS_CLOSE:
        rc = op_close(sh, param, &res);
        break;
    case LODE_SH_SYS_WRITEC: {
        uint8_t c;
        if ((rc = rd(sh, param, &c, 1)) == LODE_OK)
            out(sh, 1, &c, 1);
        break;
    }
    case LODE_SH_SYS_WRITE0:
        rc = op_write0(sh, param);
        break;
    case LODE_SH_SYS_WRITE:
        rc = op_write(sh, param, &res);
        break;
    case LODE_SH_SYS_READ:
        rc = op_read(sh, param, &res);
        break;
    case LODE_SH_SYS_READC: {
        uint8_t c = 0;
        long got = sh->io.console_read ? sh->io.console_read(sh->io.ctx, &c, 1) : 0;
        res = got == 1 ? c : got < 0 ? sh_fail(sh, EIO) : SH_FAIL; /* -1 at end of input */
        break;
    }
    case LODE_SH_SYS_ISERROR:
        if ((rc = rd32(sh, param, &a[0])) == LODE_OK)
            res = (int32_t)a[0] < 0 ? 1 : 0;
        break;
    case LODE_SH_SYS_ISTTY:
        rc = op_istty(sh, param, &res);
        break;
    case LODE_SH_SYS_SEEK:
        rc = op_seek(sh, param, &res);
        break;
    case LODE_SH_SYS_FLEN:
        rc = op_flen(sh, param, &res);
        break;
    case LODE_SH_SYS_TMPNAM:
        rc = op_tmpnam(sh, param, &res);
        break;
    case LODE_SH_SYS_REMOVE:
        rc = op_remove(sh, param, &res);
        break;
    case LODE_SH_SYS_RENAME:
        rc = op_rename(sh, param, &res);
        break;
    case LODE_SH_SYS_CLOCK:
        res = (uint32_t)((sh_now_us(sh) - sh->start_us) / 10000u); /* centiseconds */
        break;
    case LODE_SH_SYS_TIME:
        /* "real-world time, regardless of any debug agent configuration" */
        res = (uint32_t)time(NULL);
        break;
    case LODE_SH_SYS_SYSTEM:
        rc = op_system(sh, param, &res);
        break;
    case LODE_SH_SYS_ERRNO:
        res = sh->err;
        break;
    case LODE_SH_SYS_GET_CMDLINE: {
        if ((rc = rd_block(sh, param, a, 2)) != LODE_OK)
            break;
        size_t len = strlen(sh->cmdline);
        if (len + 1 > a[1]) {
            res = sh_fail(sh, ERANGE);
            break;
        }
        if ((rc = wr(sh, a[0], sh->cmdline, len + 1)) == LODE_OK)
            rc = wr32(sh, param + 4, (uint32_t)len);
        break;
    }
    case LODE_SH_SYS_HEAPINFO:
        /* no information: zeros tell the C library to use its linker-script defaults */
        if ((rc = rd32(sh, param, &a[0])) != LODE_OK)
            break;
        if ((uint64_t)a[0] + 16u > 0x100000000ull) {
            rc = LODE_E_RANGE;
            break;
        }
        for (unsigned i = 0; i < 4 && rc == LODE_OK; i++)
            rc = wr32(sh, a[0] + 4u * i, 0);
        break;
    case LODE_SH_SYS_EXIT:
        /* AArch32: R1 holds the reason itself */
        *exited = true;
        *exit_code = param == LODE_SH_ADP_STOPPED_APPLICATION_EXIT ? 0 : 1;
        sh->exit_reason = param;
        sh->exit_value = 0;
        break;
    case LODE_SH_SYS_EXIT_EXTENDED:
        if ((rc = rd_block(sh, param, a, 2)) != LODE_OK)
            break;
        *exited = true;
        *exit_code = a[0] == LODE_SH_ADP_STOPPED_APPLICATION_EXIT ? (int)a[1]
                                                                  : (a[1] ? (int)a[1] : 1);
        sh->exit_reason = a[0];
        sh->exit_value = a[1];
        break;
    case LODE_SH_SYS_ELAPSED: {
        uint64_t us = sh_now_us(sh) - sh->start_us;
        if ((uint64_t)param + 8u > 0x100000000ull)
            rc = LODE_E_RANGE;
        if (rc == LODE_OK && (rc = wr32(sh, param, (uint32_t)us)) == LODE_OK)
            rc = wr32(sh, param + 4, (uint32_t)(us >> 32));
        break;
    }
    case LODE_SH_SYS_TICKFREQ:
        res = 1000000; /* SYS_ELAPSED counts microseconds */
        break;
    default:
        if (sh_first_unknown(sh, op))
            lode_log(&sh->log, LODE_LOG_WARN, LODE_LOGC_GENERAL,
                     "semihosting: the firmware called unknown operation 0x%x; it gets -1 "
                     "(ENOSYS): check that its semihosting library follows Arm's specification",
                     (unsigned)op);
        res = sh_fail(sh, ENOSYS);
        break;
    }
    sh->pre_len = 0; /* the read-ahead serves one call */
    if (rc == LODE_OK)
        *r0 = res;
    return rc;
}

void lode_semihost_prefetch(lode_semihost_s *sh, uint32_t addr, const void *data, size_t len)
{
    if (!sh)
        return;
    if (!data || len > sizeof sh->pre || (uint64_t)addr + len > 0x100000000ull)
        len = 0;
    if (len)
        memcpy(sh->pre, data, len);
    sh->pre_addr = addr;
    sh->pre_len = (uint32_t)len;
}

/* --- GDB File-I/O ----------------------------------------------------------------------------
 * The File-I/O extension of the GDB remote protocol (GDB manual, "File-I/O Remote Protocol
 * Extension"): a server that runs semihosting itself (QEMU with -semihosting-config
 * target=gdb) sends "Fcall,args" and waits for "Fresult[,errno]". Arguments are hex; strings
 * are "pointer/length" with the length counting the NUL. Flags, modes and errno values are the
 * protocol's own (not the host's); struct stat and struct timeval go to target memory in its
 * big-endian layout. Console: fd 0 reads the console, fds 1 and 2 write it; files are opened
 * under the semihosting root like SYS_OPEN's. */
enum {
    GF_EPERM = 1, GF_ENOENT = 2, GF_EINTR = 4, GF_EBADF = 9, GF_EACCES = 13, GF_EFAULT = 14,
    GF_EBUSY = 16, GF_EEXIST = 17, GF_ENODEV = 19, GF_ENOTDIR = 20, GF_EISDIR = 21,
    GF_EINVAL = 22, GF_ENFILE = 23, GF_EMFILE = 24, GF_EFBIG = 27, GF_ENOSPC = 28,
    GF_ESPIPE = 29, GF_EROFS = 30, GF_ENAMETOOLONG = 91, GF_EUNKNOWN = 9999,
};

static int gf_errno(int e)
{
    switch (e) {
    case EPERM: return GF_EPERM;
    case ENOENT: return GF_ENOENT;
    case EINTR: return GF_EINTR;
    case EBADF: return GF_EBADF;
    case EACCES: return GF_EACCES;
    case EFAULT: return GF_EFAULT;
    case EBUSY: return GF_EBUSY;
    case EEXIST: return GF_EEXIST;
    case ENODEV: return GF_ENODEV;
    case ENOTDIR: return GF_ENOTDIR;
    case EISDIR: return GF_EISDIR;
    case EINVAL: return GF_EINVAL;
    case ENFILE: return GF_ENFILE;
    case EMFILE: return GF_EMFILE;
    case EFBIG: return GF_EFBIG;
    case ENOSPC: return GF_ENOSPC;
    case ESPIPE: return GF_ESPIPE;
    case EROFS: return GF_EROFS;
    case ENAMETOOLONG: return GF_ENAMETOOLONG;
    default: return GF_EUNKNOWN;
    }
}

/* parse up to `max` comma-separated hex fields; "ptr/len" fills ptr and the next slot */
static int gf_args(const char *p, uint64_t *a, int max)
{
    int n = 0;
    while (*p && n < max) {
        char *end;
        bool neg = *p == '-';
        uint64_t v = strtoull(neg ? p + 1 : p, &end, 16);
        if (end == (neg ? p + 1 : p))
            return -1;
        a[n++] = neg ? (uint64_t)-(int64_t)v : v;
        p = end;
        if (*p == '/' || *p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return *p ? -1 : n;
}

/* a string argument: pointer and length with its NUL */
static int gf_string(lode_semihost_s *sh, uint64_t ptr, uint64_t len, char *dst, int *gerr)
{
    if (len == 0 || len > LODE_SH_MAX_STRING + 1 || ptr > 0xFFFFFFFFu) {
        *gerr = len > LODE_SH_MAX_STRING + 1 ? GF_ENAMETOOLONG : GF_EFAULT;
        return -1;
    }
    if (rd(sh, (uint32_t)ptr, dst, (size_t)len) != LODE_OK) {
        *gerr = GF_EFAULT;
        return -1;
    }
    dst[len - 1] = 0;
    return 0;
}

static int *gf_slot(lode_semihost_s *sh, uint64_t fd)
{
    if (fd < 3 || fd >= 3u + LODE_SH_MAX_HANDLES || sh->gfd[fd - 3] < 0)
        return NULL;
    return &sh->gfd[fd - 3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static int gf_stat_out(lode_semihost_s *sh, uint64_t addr, const struct stat *st, bool console)
{
    uint8_t b[64];
    memset(b, 0, sizeof b);
    uint32_t mode = console ? 0020000u | 0666u /* S_IFCHR */
                            : (S_ISDIR(st->st_mode) ? 0040000u : 0100000u) | (st->st_mode & 0777u);
    put_be32(b + 8, mode);
    put_be32(b + 12, console ? 1u : (uint32_t)st->st_nlink);
    if (!console) {
        put_be64(b + 28, (uint64_t)st->st_size);
        put_be64(b + 36, (uint64_t)st->st_blksize);
        put_be64(b + 44, (uint64_t)st->st_blocks);
        put_be32(b + 52, (uint32_t)st->st_atime);
        put_be32(b + 56, (uint32_t)st->st_mtime);
        put_be32(b + 60, (uint32_t)st->st_ctime);
    }
    return addr > 0xFFFFFFFFu ? LODE_E_FAULT : wr(sh, (uint32_t)addr, b, sizeof b);
}

int lode_semihost_fileio(lode_semihost_s *sh, const char *req, char *reply, size_t cap)
{
    if (!sh || !req || !reply || cap < 24)
        return LODE_E_INVALID_ARG;
    char name[16];
    size_t nl = strcspn(req, ",");
    uint64_t a[6] = {0};
    int na = 0;
    if (nl == 0 || nl >= sizeof name || (na = gf_args(req[nl] ? req + nl + 1 : "", a, 6)) < 0) {
        snprintf(reply, cap, "F-1,%x", GF_EINVAL);
        return LODE_OK;
    }
    memcpy(name, req, nl);
    name[nl] = 0;
    int64_t ret = -1;
    int gerr = 0;
    char path[LODE_SH_MAX_STRING + 1], path2[LODE_SH_MAX_STRING + 1];
    char host[PATH_MAX], host2[PATH_MAX];
    int rc = LODE_OK;
    if (!strcmp(name, "write") && na == 3) {
        uint64_t left = a[2], addr = a[1];
        int *slot = gf_slot(sh, a[0]);
        if (a[0] != 1 && a[0] != 2 && !slot) {
            gerr = GF_EBADF;
        } else {
            ret = 0;
            while (left && rc == LODE_OK) {
                size_t n = left < LODE_SH_CHUNK ? (size_t)left : LODE_SH_CHUNK;
                if ((rc = rd(sh, (uint32_t)addr, sh->buf, n)) != LODE_OK)
                    break;
                if (slot) {
                    size_t done = 0;
                    if (write_all(*slot, sh->buf, n, &done) != 0) {
                        if (!ret)
                            ret = -1, gerr = gf_errno(errno);
                        break;
                    }
                } else {
                    /* the console: QEMU sends all of its semihosting console as fd 2, so
                     * both go where SYS_WRITE0 output goes (stdout) */
                    out(sh, 1, sh->buf, n);
                }
                ret += (int64_t)n;
                addr += n;
                left -= n;
            }
        }
    } else if (!strcmp(name, "read") && na == 3) {
        int *slot = gf_slot(sh, a[0]);
        size_t want = a[2] < LODE_SH_CHUNK ? (size_t)a[2] : LODE_SH_CHUNK;
        if (a[0] == 0) {
            long got = sh->io.console_read && want ? sh->io.console_read(sh->io.ctx, sh->buf, want) : 0;
            if (got < 0)
                gerr = GF_EUNKNOWN;
            else if (got && (rc = wr(sh, (uint32_t)a[1], sh->buf, (size_t)got)) == LODE_OK)
                ret = got;
            else
                ret = got;
        } else if (!slot) {
            gerr = GF_EBADF;
        } else {
            ssize_t r;
            do
                r = read(*slot, sh->buf, want);
            while (r < 0 && errno == EINTR);
            if (r < 0)
                gerr = gf_errno(errno);
            else if (r > 0 && (rc = wr(sh, (uint32_t)a[1], sh->buf, (size_t)r)) == LODE_OK)
                ret = r;
            else
                ret = r;
        }
    } else if (!strcmp(name, "open") && na >= 3) {
        uint64_t flags = a[2], mode = na > 3 ? a[3] : 0644;
        if (gf_string(sh, a[0], a[1], path, &gerr) == 0) {
            if (!strcmp(path, ":tt")) { /* some libraries open the console by name */
                ret = (flags & 3) == 0 ? 0 : 1;
            } else if (sh_path(sh, "open", path, true, host)) {
                int of = ((flags & 3) == 0 ? O_RDONLY : (flags & 3) == 1 ? O_WRONLY : O_RDWR) |
                         (flags & 0x8 ? O_APPEND : 0) | (flags & 0x200 ? O_CREAT : 0) |
                         (flags & 0x400 ? O_TRUNC : 0) | (flags & 0x800 ? O_EXCL : 0);
                unsigned i = 0;
                while (i < LODE_SH_MAX_HANDLES && sh->gfd[i] >= 0)
                    i++;
                if (i == LODE_SH_MAX_HANDLES) {
                    gerr = GF_EMFILE;
                } else {
                    int fd = open(host, of | O_CLOEXEC, (mode_t)(mode & 0777));
                    if (fd < 0)
                        gerr = gf_errno(errno);
                    else
                        sh->gfd[i] = fd, ret = 3 + i;
                }
            } else {
                gerr = gf_errno((int)sh->err);
            }
        }
    } else if (!strcmp(name, "close") && na == 1) {
        int *slot = gf_slot(sh, a[0]);
        if (a[0] <= 2) {
            ret = 0;
        } else if (!slot) {
            gerr = GF_EBADF;
        } else {
            ret = close(*slot) == 0 ? 0 : -1;
            if (ret)
                gerr = gf_errno(errno);
            *slot = -1;
        }
    } else if (!strcmp(name, "lseek") && na == 3) {
        int *slot = gf_slot(sh, a[0]);
        int wh = a[2] == 0 ? SEEK_SET : a[2] == 1 ? SEEK_CUR : a[2] == 2 ? SEEK_END : -1;
        if (!slot)
            gerr = a[0] <= 2 ? GF_ESPIPE : GF_EBADF;
        else if (wh < 0)
            gerr = GF_EINVAL;
        else if ((ret = (int64_t)lseek(*slot, (off_t)(int64_t)a[1], wh)) < 0)
            gerr = gf_errno(errno);
    } else if (!strcmp(name, "isatty") && na == 1) {
        ret = a[0] <= 2 ? 1 : 0;
        if (a[0] > 2 && !gf_slot(sh, a[0]))
            ret = -1, gerr = GF_EBADF;
    } else if (!strcmp(name, "fstat") && na == 2) {
        int *slot = gf_slot(sh, a[0]);
        struct stat st;
        memset(&st, 0, sizeof st);
        if (a[0] > 2 && !slot)
            gerr = GF_EBADF;
        else if (slot && fstat(*slot, &st) != 0)
            gerr = gf_errno(errno);
        else if ((rc = gf_stat_out(sh, a[1], &st, a[0] <= 2)) == LODE_OK)
            ret = 0;
    } else if (!strcmp(name, "stat") && na == 3) {
        struct stat st;
        if (gf_string(sh, a[0], a[1], path, &gerr) == 0) {
            if (!sh_path(sh, "stat", path, true, host))
                gerr = gf_errno((int)sh->err);
            else if (stat(host, &st) != 0)
                gerr = gf_errno(errno);
            else if ((rc = gf_stat_out(sh, a[2], &st, false)) == LODE_OK)
                ret = 0;
        }
    } else if (!strcmp(name, "unlink") && na == 2) {
        if (gf_string(sh, a[0], a[1], path, &gerr) == 0) {
            if (!sh_path(sh, "removal", path, false, host))
                gerr = gf_errno((int)sh->err);
            else if (unlink(host) != 0)
                gerr = gf_errno(errno);
            else
                ret = 0;
        }
    } else if (!strcmp(name, "rename") && na == 4) {
        if (gf_string(sh, a[0], a[1], path, &gerr) == 0 && gf_string(sh, a[2], a[3], path2, &gerr) == 0) {
            if (!sh_path(sh, "rename", path, false, host) || !sh_path(sh, "rename", path2, false, host2))
                gerr = gf_errno((int)sh->err);
            else if (rename(host, host2) != 0)
                gerr = gf_errno(errno);
            else
                ret = 0;
        }
    } else if (!strcmp(name, "gettimeofday") && na == 2) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint8_t b[12];
        put_be32(b, (uint32_t)ts.tv_sec);
        put_be64(b + 4, (uint64_t)(ts.tv_nsec / 1000));
        if ((rc = wr(sh, (uint32_t)a[0], b, sizeof b)) == LODE_OK)
            ret = 0;
    } else if (!strcmp(name, "system") && na == 2) {
        if (a[1] == 0) {
            ret = sh->allow_system ? 1 : 0; /* is there a shell */
        } else if (gf_string(sh, a[0], a[1], path, &gerr) == 0) {
            if (!sh->allow_system) {
                char safe[SH_LOG_PATH];
                printable(path, safe, sizeof safe);
                lode_log(&sh->log, LODE_LOG_WARN, LODE_LOGC_GENERAL,
                         "semihosting: refused the firmware's system(\"%s\"): allow it with "
                         "--semihosting-allow-system", safe);
                gerr = GF_EPERM;
            } else {
                uint32_t r = sh_run_command(sh, path);
                if (r == SH_FAIL)
                    gerr = gf_errno((int)sh->err);
                else
                    ret = (int64_t)(r << 8); /* a wait status, as system() returns */
            }
        }
    } else {
        if (sh_first_unknown(sh, 0x10000u + (uint32_t)nl))
            lode_log(&sh->log, LODE_LOG_WARN, LODE_LOGC_GENERAL,
                     "GDB File-I/O: unknown request \"%.40s\" refused", req);
        gerr = GF_EUNKNOWN;
    }
    if (rc != LODE_OK)
        return rc;
    if (ret < 0)
        snprintf(reply, cap, "F-1,%x", gerr ? gerr : GF_EUNKNOWN);
    else
        snprintf(reply, cap, "F%llx", (unsigned long long)ret);
    return LODE_OK;
}

void lode_semihost_exit_status(const lode_semihost_s *sh, uint32_t *reason, uint32_t *value)
{
    *reason = sh ? sh->exit_reason : 0;
    *value = sh ? sh->exit_value : 0;
}

const char *lode_semihost_reason_name(uint32_t reason)
{
    /* the ADP_Stopped_* reason codes of the Arm semihosting specification */
    static const struct {
        uint32_t code;
        const char *name;
    } names[] = {
        {0x20000u, "BranchThroughZero"}, {0x20001u, "UndefinedInstr"},   {0x20002u, "SoftwareInterrupt"},
        {0x20003u, "PrefetchAbort"},     {0x20004u, "DataAbort"},        {0x20005u, "AddressException"},
        {0x20006u, "IRQ"},               {0x20007u, "FIQ"},              {0x20020u, "BreakPoint"},
        {0x20021u, "WatchPoint"},        {0x20022u, "StepComplete"},     {0x20023u, "RunTimeErrorUnknown"},
        {0x20024u, "InternalError"},     {0x20025u, "UserInterruption"}, {0x20026u, "ApplicationExit"},
        {0x20027u, "StackOverflow"},     {0x20028u, "DivisionByZero"},   {0x20029u, "OSSpecific"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == reason)
            return names[i].name;
    return NULL;
}
