/* SPDX-License-Identifier: MIT */
/* The simulated board's state file on disk: which paths may be read and replaced, the
 * replacement itself (a temporary file beside it, renamed over it), and the lock that keeps
 * two processes from using one board at once. The format is in board.c. */
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC, mkstemp with glibc's strict C11 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lode/sim.h"
#include "state_file.h"

/* Every version of the state file starts with these 7 bytes, then a version digit. */
#define STATE_MAGIC_PREFIX "LODESIM"

int lode_sim_state_check(const char *path)
{
    struct stat st;
    if (!path || !*path)
        return LODE_E_INVALID_ARG;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? LODE_OK : LODE_E_IO;
    if (!S_ISREG(st.st_mode))
        return LODE_E_INVALID_ARG; /* symlinks, devices, directories, FIFOs */
    if (st.st_size == 0)
        return LODE_OK; /* an empty file (mktemp's) holds nothing to lose */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return LODE_E_IO;
    char head[8];
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n != (ssize_t)sizeof head || memcmp(head, STATE_MAGIC_PREFIX, 7) != 0 || head[7] < '0' || head[7] > '9')
        return LODE_E_INVALID_ARG;
    return LODE_OK;
}

int simi_state_open_read(const char *path, FILE **out)
{
    int rc = lode_sim_state_check(path);
    if (rc != LODE_OK)
        return rc; /* not ours to read (or replace) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? LODE_E_INVALID_ARG : LODE_E_NO_DEVICE;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return LODE_E_INVALID_ARG;
    }
    FILE *f = st.st_size ? fdopen(fd, "rb") : NULL;
    if (!f) { /* empty: a fresh board */
        close(fd);
        return LODE_E_NO_DEVICE;
    }
    *out = f;
    return LODE_OK;
}

FILE *simi_state_tmp_open(const char *path, char *tmp, size_t tmplen)
{
    if (lode_sim_state_check(path) != LODE_OK)
        return NULL;
    if (snprintf(tmp, tmplen, "%s.XXXXXX", path) >= (int)tmplen)
        return NULL;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
    }
    return f;
}

int simi_state_tmp_commit(FILE *f, const char *tmp, const char *path, bool ok)
{
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ok = false;
    if (fclose(f) != 0)
        ok = false;
    /* checked again right before the rename: what is there now must still be ours to replace */
    if (ok && lode_sim_state_check(path) != LODE_OK)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return LODE_E_IO;
    }
    return LODE_OK;
}

/* ---- the lock ------------------------------------------------------------------------------- */

struct lode_sim_lock_s {
    int fd;
    bool exclusive;
};

static int lock_range(int fd, short type, bool wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) != 0) {
        if (errno == EINTR && wait)
            continue;
        return errno == EACCES || errno == EAGAIN ? LODE_E_STATE : errno == EINTR ? LODE_E_TIMEOUT : LODE_E_IO;
    }
    return LODE_OK;
}

/* Who holds a conflicting lock: the PID from the kernel, the description from the file when
 * the exclusive holder wrote it (its first line: "PID WHAT"). */
static void holder_of(int fd, short type, lode_sim_lock_holder_s *h)
{
    memset(h, 0, sizeof *h);
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        h->pid = (long)fl.l_pid;
    char buf[128] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return;
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    if (end && *end == ' ' && pid > 0 && (h->pid == 0 || pid == h->pid)) {
        h->pid = pid;
        snprintf(h->what, sizeof h->what, "%s", end + 1);
        h->server = strstr(h->what, " [server]") != NULL;
        char *s = strstr(h->what, " [server]");
        if (s)
            *s = 0;
    }
}

int lode_sim_state_lock(const lode_sim_lock_config_s *cfg, lode_sim_lock_s **out, lode_sim_lock_holder_s *holder)
{
    char lpath[4096];
    if (!cfg || !cfg->path || !out || snprintf(lpath, sizeof lpath, "%s.lock", cfg->path) >= (int)sizeof lpath)
        return LODE_E_INVALID_ARG;
    struct stat st;
    if (lstat(lpath, &st) == 0 && !S_ISREG(st.st_mode))
        return LODE_E_INVALID_ARG;
    int fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0)
        return errno == ELOOP ? LODE_E_INVALID_ARG : LODE_E_IO;
    /* what was opened, not what lstat saw: a FIFO or device swapped in meanwhile is refused
     * before anything truncates or writes it */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return LODE_E_INVALID_ARG;
    }
    short type = cfg->exclusive ? F_WRLCK : F_RDLCK;
    int rc = lock_range(fd, type, cfg->wait);
    if (rc != LODE_OK) {
        if (holder)
            holder_of(fd, type, holder);
        close(fd);
        return rc;
    }
    if (cfg->exclusive) {
        char line[160];
        int n = snprintf(line, sizeof line, "%ld %s%s\n", (long)getpid(), cfg->what ? cfg->what : "lode",
                         cfg->server ? " [server]" : "");
        if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
            /* the description is a courtesy for waiters; the lock holds without it */
        }
    }
    lode_sim_lock_s *l = malloc(sizeof *l);
    if (!l) {
        close(fd);
        return LODE_E_NOMEM;
    }
    l->fd = fd;
    l->exclusive = cfg->exclusive;
    *out = l;
    return LODE_OK;
}

void lode_sim_state_unlock(lode_sim_lock_s *lock)
{
    if (!lock)
        return;
    if (lock->exclusive && ftruncate(lock->fd, 0) != 0) {
        /* a stale description is harmless: holder_of checks the PID against the kernel's */
    }
    close(lock->fd); /* releases the lock */
    free(lock);
}
