/* SPDX-License-Identifier: MIT */
/* lode convert: an image (ELF, HEX, BIN, UF2) written as UF2 for a family. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lode/error.h"
#include "lode/image.h"
#include "out.h"

static const char help[] =
    "usage: lode convert FILE -o OUT.uf2 --family NAME|0xID [--base ADDR] [--format F]\n"
    "Write an image (ELF, HEX, BIN with --base, UF2) as a UF2 file (microsoft/uf2: 256-byte\n"
    "payloads, the family ID in every block) for copying to a UF2 bootloader's drive.\n"
    "  --family NAME|0xID  RP2040, SAMD21, SAMD51, NRF52840, NRF52, STM32F0, STM32F1, STM32F4,\n"
    "                      STM32F7, STM32G0, STM32H7, STM32L4, ESP32S2, or the ID in hex\n"
    "  --base ADDR         where a raw binary goes\n"
    "  --format F          elf, hex, bin or uf2 (default: from the file's contents)\n";

int cli_cmd_convert(cli_ctx_s *cli, int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *fam = NULL, *format = NULL;
    uint32_t base = 0;
    bool base_given = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool val = i + 1 < argc;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            return LODE_EXIT_OK;
        } else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && val) {
            out = argv[++i];
        } else if (!strcmp(s, "--family") && val) {
            fam = argv[++i];
        } else if (!strcmp(s, "--format") && val) {
            format = argv[++i];
        } else if (!strcmp(s, "--base") && val) {
            if (!cli_parse_u32(argv[++i], &base)) {
                fprintf(stderr, "lode convert: --base takes an address, got '%s'\n", argv[i]);
                return LODE_EXIT_USAGE;
            }
            base_given = true;
        } else if (s[0] != '-' && !in) {
            in = s;
        } else {
            fprintf(stderr, "lode convert: unexpected '%s': see lode convert --help\n", s);
            return LODE_EXIT_USAGE;
        }
    }
    if (!in || !out || !fam) {
        fprintf(stderr, "lode convert: give FILE, -o OUT.uf2 and --family NAME|0xID (see lode convert --help)\n");
        return LODE_EXIT_USAGE;
    }
    uint32_t id = 0;
    if (lode_uf2_family(fam, &id) != LODE_OK) {
        fprintf(stderr, "lode convert: unknown UF2 family '%s': name one of those in lode convert --help, or give "
                        "its ID as 0xHEX\n", fam);
        return LODE_EXIT_USAGE;
    }
    lode_image_format_e fmt = LODE_IMAGE_AUTO;
    if (format) {
        static const char *const names[] = {"elf", "hex", "bin", "uf2"};
        static const lode_image_format_e fmts[] = {LODE_IMAGE_ELF, LODE_IMAGE_IHEX, LODE_IMAGE_BIN, LODE_IMAGE_UF2};
        size_t k = 0;
        while (k < 4 && strcmp(format, names[k]))
            k++;
        if (k == 4) {
            fprintf(stderr, "lode convert: --format is elf, hex, bin or uf2, got '%s'\n", format);
            return LODE_EXIT_USAGE;
        }
        fmt = fmts[k];
    }
    lode_image_s *img = NULL;
    int rc = lode_image_load_file(in, fmt, base, base_given, &cli->log, &img);
    if (rc != LODE_OK)
        return rc == LODE_E_NO_DEVICE ? LODE_EXIT_NOINPUT : rc == LODE_E_INVALID_ARG ? LODE_EXIT_USAGE : LODE_EXIT_DATAERR;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = lode_image_write_uf2(img, id, &buf, &len);
    if (rc != LODE_OK) {
        fprintf(stderr, "lode convert: %s has no data to write\n", in);
        lode_image_free(img);
        return LODE_EXIT_DATAERR;
    }
    FILE *f = fopen(out, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "lode convert: cannot write %s\n", out);
    else
        printf("wrote %s: %zu blocks for family %s (0x%08x), 0x%08x-0x%08x\n", out, len / 512,
               lode_uf2_family_name(id) ? lode_uf2_family_name(id) : "?", id, img->segs[0].addr,
               img->segs[img->nsegs - 1].addr + img->segs[img->nsegs - 1].len - 1);
    free(buf);
    lode_image_free(img);
    return ok ? LODE_EXIT_OK : LODE_EXIT_FAILED;
}
