/* SPDX-License-Identifier: MIT */
/* A UF2 bootloader's drive (microsoft/uf2: a USB mass-storage volume with INFO_UF2.TXT) as a
 * probe with a loader face: registry row "uf2[:DIR]". Without DIR the usual mount points are
 * searched (/media/USER/NAME, /run/media/USER/NAME, /mnt/NAME; LODE_UF2_MOUNTS, colon-separated
 * glob patterns, replaces them). Flashing = the plan's pages as UF2 blocks (256-byte payloads,
 * the family of the image or of the drive's Board-ID) written to DIR/LODE.UF2 one 512-byte
 * sector at a time; the bootloader programs them and resets, so the drive vanishing at the end
 * (the file or INFO_UF2.TXT gone, an error once every block is written) is success. Reading
 * (verify, --skip-unchanged) goes through the drive's CURRENT.UF2 when it has one. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/image.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "probe/probe_i.h"
#include "util/bytes.h"

#define TAKE_MS 10000u /* how long the bootloader may take to swallow the file */
#define BACK_MS 3000u  /* how long a drive may be away (resetting) before it is read */

typedef struct uf2d_s {
    char dir[512];
    const lode_log_s *log;
    char info[1024];           /* INFO_UF2.TXT */
    char board[128];           /* its Board-ID */
    uint32_t family;           /* for the blocks written: the image's, else the board's */
    bool has_family;
    lode_flash_region_s region;
    lode_loader_s *loader;
    lode_image_s *current;     /* CURRENT.UF2, read once */
} uf2d_s;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static bool exists(const char *dir, const char *name)
{
    char p[700];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static bool is_drive(const char *dir) { return exists(dir, "INFO_UF2.TXT") || exists(dir, "info_uf2.txt"); }

/* INFO_UF2.TXT and its Board-ID line */
static int read_info(uf2d_s *d)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", d->dir, exists(d->dir, "INFO_UF2.TXT") ? "INFO_UF2.TXT" : "info_uf2.txt");
    FILE *f = fopen(p, "rb");
    if (!f) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "%s is no UF2 drive (no INFO_UF2.TXT): put the board into its UF2 bootloader (double-tap reset) and "
                 "give the drive's mount point",
                 d->dir);
        return LODE_E_NO_DEVICE;
    }
    size_t n = fread(d->info, 1, sizeof d->info - 1, f);
    fclose(f);
    d->info[n] = 0;
    const char *b = strstr(d->info, "Board-ID:");
    if (b) {
        b += 9;
        while (*b == ' ')
            b++;
        size_t k = 0;
        while (b[k] && b[k] != '\r' && b[k] != '\n' && k + 1 < sizeof d->board)
            k++;
        memcpy(d->board, b, k);
        d->board[k] = 0;
    }
    d->has_family = d->board[0] && lode_uf2_family_for(d->board, &d->family) == LODE_OK;
    return LODE_OK;
}

/* ---- the loader --------------------------------------------------------------------------------- */

static int sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    (void)user;
    *start = addr & ~0xFFu;
    *size = 256;
    return LODE_OK;
}

static int l_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                    const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    uf2d_s *d = ctx;
    *regions = &d->region;
    *nregions = 1;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

static int l_accept(void *ctx, const lode_image_s *img, const lode_log_s *log)
{
    uf2d_s *d = ctx;
    if (img->has_uf2_family && d->board[0] && lode_uf2_family_fits(img->uf2_family, d->board) != LODE_OK) {
        const char *fam = lode_uf2_family_name(img->uf2_family);
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the UF2 image is for family %s (0x%08x), the drive's board is %s: use the image built for this board",
                 fam ? fam : "?", (unsigned)img->uf2_family, d->board);
        return LODE_E_FORMAT;
    }
    if (img->has_uf2_family)
        d->family = img->uf2_family, d->has_family = true;
    return LODE_OK;
}

static int l_can_erase(void *ctx, const lode_log_s *log)
{
    uf2d_s *d = ctx;
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "a UF2 drive (%s) has no erase: copying an image replaces what it covers",
             d->dir);
    return LODE_E_INVALID_ARG;
}

static int l_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                   lode_flash_result_s *res)
{
    (void)log;
    uf2d_s *d = ctx;
    if (plan->nram) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "a UF2 drive writes only flash, not RAM");
        return LODE_E_RANGE;
    }
    if (!plan->npages)
        return LODE_OK;
    lode_image_free(d->current);
    d->current = NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/LODE.UF2", d->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "cannot create %s: %s", path, strerror(errno));
        return errno == ENOENT || errno == ENODEV ? LODE_E_NO_DEVICE : LODE_E_IO;
    }
    size_t n = 0;
    int err = 0;
    for (; n < plan->npages; n++) { /* a page is 256 bytes at a 256-byte boundary: one block */
        const lode_flash_page_s *pg = &plan->pages[n];
        uint8_t b[512];
        memset(b, 0, sizeof b);
        lodei_put_le32(b, 0x0A324655u);
        lodei_put_le32(b + 4, 0x9E5D5157u);
        lodei_put_le32(b + 8, d->has_family ? 0x2000u : 0);
        lodei_put_le32(b + 12, pg->addr);
        lodei_put_le32(b + 16, pg->size);
        lodei_put_le32(b + 20, (uint32_t)n);
        lodei_put_le32(b + 24, (uint32_t)plan->npages);
        lodei_put_le32(b + 28, d->has_family ? d->family : 0);
        memcpy(b + 32, pg->data, pg->size);
        lodei_put_le32(b + 508, 0x0AB16F30u);
        if (write(fd, b, sizeof b) != (ssize_t)sizeof b) {
            err = errno;
            break;
        }
        res->pages_programmed++;
        res->bytes_programmed += pg->size;
        if (o && o->progress)
            o->progress(o->progress_user, LODE_FLASH_PHASE_PROGRAM, n + 1, plan->npages);
    }
    /* the bootloader may reset as soon as the last block is in: errors from here on are its
     * drive going away */
    if (n == plan->npages)
        fsync(fd);
    close(fd);
    if (n < plan->npages) {
        lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the UF2 drive %s went away after %zu of %zu blocks (%s): 0x%08x-0x%08x may be half written; put the "
                 "board back into its bootloader and flash again",
                 d->dir, n, plan->npages, strerror(err), (unsigned)plan->pages[0].addr,
                 (unsigned)(plan->pages[plan->npages - 1].addr + plan->pages[plan->npages - 1].size - 1));
        return LODE_E_NO_DEVICE;
    }
    for (unsigned waited = 0; waited < TAKE_MS; waited += 20) {
        if (!exists(d->dir, "LODE.UF2") || !is_drive(d->dir)) {
            lode_log(d->log, LODE_LOG_INFO, LODE_LOGC_FLASH, "the UF2 drive took the file and reset");
            return LODE_OK;
        }
        sleep_ms(20);
    }
    lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
             "the UF2 drive %s kept LODE.UF2 for %u s: its bootloader did not take it (blocks for another board or "
             "family?)",
             d->dir, TAKE_MS / 1000u);
    return LODE_E_FLASH;
}

static int l_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    uf2d_s *d = ctx;
    if (!d->current) {
        for (unsigned waited = 0; !is_drive(d->dir) && waited < BACK_MS; waited += 50)
            sleep_ms(50); /* resetting after a write */
        char path[700];
        snprintf(path, sizeof path, "%s/CURRENT.UF2", d->dir);
        if (!is_drive(d->dir) || !exists(d->dir, "CURRENT.UF2")) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the UF2 drive %s %s: nothing can be read back", d->dir,
                     is_drive(d->dir) ? "has no CURRENT.UF2" : "is gone (the board runs its firmware)");
            return LODE_E_UNSUPPORTED;
        }
        int rc = lode_image_load_file(path, LODE_IMAGE_UF2, 0, false, d->log, &d->current);
        if (rc != LODE_OK)
            return rc;
    }
    uint8_t *out = buf;
    for (size_t i = 0; i < len;) {
        const lode_segment_s *s = lode_image_find_segment(d->current, addr + (uint32_t)i);
        if (!s) {
            lode_log(d->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "0x%08x is not in the UF2 drive's CURRENT.UF2",
                     (unsigned)(addr + i));
            return LODE_E_RANGE;
        }
        size_t off = addr + i - s->addr, n = s->len - off < len - i ? s->len - off : len - i;
        memcpy(out + i, s->data + off, n);
        i += n;
    }
    return LODE_OK;
}

static int l_reset_run(void *ctx)
{
    (void)ctx; /* the bootloader resets into the new firmware by itself */
    return LODE_OK;
}

static const lode_loader_ops_s uf2_loader_ops = {
    .name = "UF2 drive",
    .via = " through the UF2 drive",
    .knows_memories = true,
    .layout = l_layout,
    .write = l_write,
    .read = l_read,
    .reset_run = l_reset_run,
    .can_erase = l_can_erase,
    .accept = l_accept,
};

/* ---- the probe -------------------------------------------------------------------------------- */

static int p_loader(void *ctx, lode_loader_s **out)
{
    uf2d_s *d = ctx;
    return lodei_loader_once(&uf2_loader_ops, d, &d->loader, out);
}

/* INFO_UF2.TXT's lines, "; " between them */
static void info_line(const char *info, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = info; *p && o + 1 < cap; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            if (p[1] && o + 3 < cap)
                out[o++] = ';', out[o++] = ' ';
            continue;
        }
        out[o++] = (unsigned char)*p < 0x20 ? '?' : *p;
    }
    out[o] = 0;
}

static void p_describe(void *ctx, lode_probe_info_s *info)
{
    uf2d_s *d = ctx;
    snprintf(info->description, sizeof info->description, "UF2 drive %.180s (%.100s)", d->dir,
             d->board[0] ? d->board : "no Board-ID");
    snprintf(info->protocol, sizeof info->protocol, "UF2");
    const char *m = strstr(d->info, "Model:");
    if (m) {
        m += 6;
        while (*m == ' ')
            m++;
        size_t k = 0;
        while (m[k] && m[k] != '\r' && m[k] != '\n' && k + 1 < sizeof info->product)
            k++;
        memcpy(info->product, m, k);
        info->product[k] = 0;
    }
    info_line(d->info, info->detail, sizeof info->detail);
}

static void p_close(void *ctx)
{
    uf2d_s *d = ctx;
    lode_loader_free(d->loader);
    lode_image_free(d->current);
    free(d);
}

static const lode_probe_ops_s uf2_probe_ops = {
    .loader = p_loader,
    .describe = p_describe,
    .close = p_close,
};

/* the drives under the mount points (LODE_UF2_MOUNTS or the usual ones) */
static size_t find_drives(char found[][512], size_t cap)
{
    const char *env = getenv("LODE_UF2_MOUNTS");
    char pats[1024];
    snprintf(pats, sizeof pats, "%s", env && *env ? env : "/media/*/*:/run/media/*/*:/mnt/*");
    size_t n = 0;
    char *save = NULL;
    for (char *pat = strtok_r(pats, ":", &save); pat; pat = strtok_r(NULL, ":", &save)) {
        glob_t g;
        if (glob(pat, GLOB_ONLYDIR, NULL, &g) != 0)
            continue;
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (is_drive(g.gl_pathv[i]) && strlen(g.gl_pathv[i]) < 512) {
                if (n < cap)
                    snprintf(found[n], 512, "%s", g.gl_pathv[i]);
                n++;
            }
        globfree(&g);
    }
    return n;
}

static int row_list(const lode_probe_driver_s *drv, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)drv, (void)log;
    char found[16][512];
    size_t n = find_drives(found, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        uf2d_s d = {.log = NULL};
        snprintf(d.dir, sizeof d.dir, "%s", found[i]);
        if (read_info(&d) != LODE_OK)
            continue;
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        snprintf(f.spec, sizeof f.spec, "uf2:%.150s", found[i]);
        f.kind = "uf2";
        snprintf(f.product, sizeof f.product, "%s", d.board);
        snprintf(f.text, sizeof f.text, "UF2 drive  %.120s", d.board[0] ? d.board : "(no Board-ID)");
        fn(user, &f);
    }
    return LODE_OK;
}

static int row_open(const lode_probe_driver_s *drv, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    (void)drv;
    uf2d_s *d = calloc(1, sizeof *d);
    if (!d)
        return LODE_E_NOMEM;
    d->log = o->log;
    int rc = LODE_OK;
    if (args && *args) {
        snprintf(d->dir, sizeof d->dir, "%s", args);
    } else {
        char found[16][512];
        size_t n = find_drives(found, 16);
        if (n == 1) {
            snprintf(d->dir, sizeof d->dir, "%s", found[0]);
        } else {
            char names[400] = "";
            for (size_t i = 0, used = 0; i < n && i < 16 && used < sizeof names; i++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", found[i]);
            if (n)
                lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%zu UF2 drives are mounted (%s): choose one with uf2:DIR",
                         n, names);
            else
                lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                         "no UF2 drive found under /media/*/*, /run/media/*/* or /mnt/*: put the board into its UF2 "
                         "bootloader (double-tap reset), or give the mount point with uf2:DIR");
            rc = LODE_E_NO_DEVICE;
        }
    }
    if (rc == LODE_OK)
        rc = read_info(d);
    if (rc != LODE_OK) {
        free(d);
        return rc;
    }
    d->region = (lode_flash_region_s){.name = "UF2 drive", .start = 0, .end = 0xFFFFFF00u, .page_size = 256,
                                      .erased = 0xFF, .sector_at = sector_at};
    return lode_probe_new(&uf2_probe_ops, d, "uf2", NULL, out);
}

const lode_probe_driver_s lodei_probe_row_uf2 = {
    .name = "uf2",
    .syntax = "uf2[:DIR]",
    .help = "a UF2 bootloader's drive (INFO_UF2.TXT) mounted at DIR, or found under /media, /run/media, /mnt",
    .list = row_list,
    .open = row_open,
};
