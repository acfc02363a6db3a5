/* SPDX-License-Identifier: MIT (this file); liblode-sim as a whole is GPL-2.0 (Unicorn). */
/* A UF2 bootloader's mass-storage drive (microsoft/uf2 README, "Bootloader" and "File
 * format"), as a directory: INFO_UF2.TXT (bootloader, model, Board-ID) and CURRENT.UF2 (the
 * flash as UF2) are the drive's own files; any other file written into it is read as 512-byte
 * sectors, and every sector that is a valid UF2 block for this board (magic numbers, payload
 * of at most 476 bytes inside the main flash, not "not main flash", the board's family when
 * the block names one) counts. Operating systems write the blocks in any order, some twice,
 * with other sectors (directory entries, junk) in between: once a file holds every block
 * number 0..numBlocks-1, the pages they cover are erased, the payloads programmed (back door,
 * lode_sim_flash_erase + lode_sim_load) and the drive vanishes, as a board resetting into its
 * new firmware unmounts it; it comes back (double-tap reset) half a second later. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/image.h"
#include "lode/sim.h"
#include "util/bytes.h"

#define UF2_MAGIC0 0x0A324655u
#define UF2_MAGIC1 0x9E5D5157u
#define UF2_MAGIC_END 0x0AB16F30u
#define BACK_AFTER_S 0.5

struct lode_sim_uf2_drive_s {
    lode_sim_s *sim;
    char dir[900];
    lode_log_s log;
    uint32_t family, flash_base, flash_size;
    bool has_family, away;
    double back_at;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    char tmp[1024];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return LODE_E_IO; /* the path is too long for its temporary's name */
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok)
        unlink(tmp);
    return ok ? LODE_OK : LODE_E_IO;
}

/* the drive's own files: INFO_UF2.TXT and CURRENT.UF2 (the flash now) */
static int appear(lode_sim_uf2_drive_s *d)
{
    char path[1024], info[512];
    uint8_t *flash = malloc(d->flash_size), *uf2 = NULL;
    size_t len = 0;
    lode_image_s *img = NULL;
    int rc = flash ? lode_sim_mem_read(d->sim, d->flash_base, flash, d->flash_size) : LODE_E_NOMEM;
    if (rc == LODE_OK)
        rc = lode_image_from_bin(flash, d->flash_size, d->flash_base, &img);
    if (rc == LODE_OK)
        rc = lode_image_write_uf2(img, d->family, &uf2, &len);
    snprintf(path, sizeof path, "%s/CURRENT.UF2", d->dir);
    if (rc == LODE_OK)
        rc = write_file(path, uf2, len);
    int n = snprintf(info, sizeof info,
                     "UF2 Bootloader lode-sim 1.0\r\nModel: lode simulated %s\r\nBoard-ID: %s-lode-sim\r\n",
                     lode_sim_chip_name(d->sim), lode_sim_chip_name(d->sim));
    snprintf(path, sizeof path, "%s/INFO_UF2.TXT", d->dir);
    if (rc == LODE_OK)
        rc = write_file(path, (const uint8_t *)info, (size_t)n);
    free(uf2);
    lode_image_free(img);
    free(flash);
    d->away = false;
    return rc;
}

static void vanish(lode_sim_uf2_drive_s *d)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/INFO_UF2.TXT", d->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/CURRENT.UF2", d->dir);
    unlink(path);
    d->away = true;
    d->back_at = now_s() + BACK_AFTER_S;
}

int lode_sim_uf2_drive_new(lode_sim_s *sim, const char *dir, const lode_log_s *log, lode_sim_uf2_drive_s **out)
{
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || strlen(dir) >= 900) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "UF2 drive: %s is not a directory: create it first",
                 dir ? dir : "(none)");
        return LODE_E_INVALID_ARG;
    }
    lode_sim_uf2_drive_s *d = calloc(1, sizeof *d);
    if (!d)
        return LODE_E_NOMEM;
    d->sim = sim;
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    if (log)
        d->log = *log;
    d->has_family = lode_uf2_family_for(lode_sim_chip_name(sim), &d->family) == LODE_OK;
    int rc = lode_sim_flash_range(sim, &d->flash_base, &d->flash_size);
    if (rc == LODE_OK)
        rc = appear(d);
    if (rc != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "UF2 drive: cannot write INFO_UF2.TXT and CURRENT.UF2 in %s",
                 dir);
        free(d);
        return rc;
    }
    *out = d;
    return LODE_OK;
}

bool lode_sim_uf2_drive_family(const lode_sim_uf2_drive_s *d, uint32_t *family)
{
    *family = d->family;
    return d->has_family;
}

void lode_sim_uf2_drive_free(lode_sim_uf2_drive_s *d)
{
    if (!d)
        return;
    vanish(d);
    free(d);
}

/* The blocks of one file: *complete when every number 0..n-1 is there; then programmed. */
static int take_file(lode_sim_uf2_drive_s *d, const uint8_t *buf, size_t len, size_t *flashed)
{
    uint32_t nblocks = 0;
    uint8_t *seen = NULL;
    size_t have = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t off = 0; off + 512 <= len; off += 512) {
            const uint8_t *p = buf + off;
            uint32_t flags = lodei_get_le32(p + 8), addr = lodei_get_le32(p + 12), size = lodei_get_le32(p + 16);
            uint32_t no = lodei_get_le32(p + 20), count = lodei_get_le32(p + 24), fam = lodei_get_le32(p + 28);
            if (lodei_get_le32(p) != UF2_MAGIC0 || lodei_get_le32(p + 4) != UF2_MAGIC1 ||
                lodei_get_le32(p + 508) != UF2_MAGIC_END || size > 476 || !count || no >= count || (flags & 1u) ||
                addr < d->flash_base || (uint64_t)addr + size > (uint64_t)d->flash_base + d->flash_size)
                continue; /* junk, another drive's file, or not for the main flash */
            if ((flags & 0x2000u) && d->has_family && fam != d->family)
                continue; /* another family: ignored, as the README asks */
            if (!nblocks) {
                nblocks = count;
                if (!(seen = calloc(nblocks, 1)))
                    return LODE_E_NOMEM;
            }
            if (count != nblocks)
                continue;
            if (pass == 0) {
                have += !seen[no];
                seen[no] = 1;
            } else if (seen[no] == 1) { /* erase what the blocks cover, then program */
                seen[no] = 2;
                lode_sim_flash_erase(d->sim, addr, size ? size : 1);
            }
        }
        if (pass == 0 && (!nblocks || have < nblocks)) {
            free(seen);
            return LODE_OK; /* not complete (yet) */
        }
    }
    for (size_t off = 0; off + 512 <= len; off += 512) { /* program every valid block (repeats agree) */
        const uint8_t *p = buf + off;
        uint32_t flags = lodei_get_le32(p + 8), addr = lodei_get_le32(p + 12), size = lodei_get_le32(p + 16);
        uint32_t no = lodei_get_le32(p + 20), count = lodei_get_le32(p + 24), fam = lodei_get_le32(p + 28);
        if (lodei_get_le32(p) != UF2_MAGIC0 || lodei_get_le32(p + 4) != UF2_MAGIC1 ||
            lodei_get_le32(p + 508) != UF2_MAGIC_END || size > 476 || count != nblocks || no >= count ||
            (flags & 1u) || addr < d->flash_base || (uint64_t)addr + size > (uint64_t)d->flash_base + d->flash_size ||
            ((flags & 0x2000u) && d->has_family && fam != d->family) || seen[no] != 2)
            continue;
        seen[no] = 3;
        lode_sim_load(d->sim, addr, p + 32, size);
    }
    free(seen);
    *flashed = nblocks;
    return LODE_OK;
}

int lode_sim_uf2_drive_poll(lode_sim_uf2_drive_s *d, size_t *flashed)
{
    *flashed = 0;
    if (d->away) {
        if (now_s() < d->back_at)
            return LODE_OK;
        return appear(d);
    }
    DIR *dh = opendir(d->dir);
    if (!dh)
        return LODE_E_IO;
    struct dirent *e;
    int rc = LODE_OK;
    while (rc == LODE_OK && !*flashed && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "INFO_UF2.TXT") || !strcmp(e->d_name, "CURRENT.UF2") ||
            strstr(e->d_name, ".tmp"))
            continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", d->dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 512 || st.st_size > 64 * 1024 * 1024)
            continue;
        FILE *f = fopen(path, "rb");
        uint8_t *buf = f ? malloc((size_t)st.st_size) : NULL;
        size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
        if (f)
            fclose(f);
        if (buf)
            rc = take_file(d, buf, got, flashed);
        free(buf);
        if (*flashed) {
            unlink(path);
            lode_log(&d->log, LODE_LOG_INFO, LODE_LOGC_PROBE, "UF2 drive: %s: %zu blocks flashed", e->d_name, *flashed);
        }
    }
    closedir(dh);
    if (*flashed)
        vanish(d);
    return rc;
}
