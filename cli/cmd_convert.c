/* SPDX-License-Identifier: MIT */
/* lode convert: an image (ELF, HEX, BIN, UF2) written as UF2 for a family. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
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

static void convert_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fputs(help, f);
}

static void convert_unknown(const char *cmd, const char *arg, bool missing)
{
    (void)missing;
    fprintf(stderr, "lode %s: unexpected '%s': see lode %s --help\n", cmd, arg, cmd);
}

typedef struct convert_base_s {
    uint32_t base;
    bool given;
} convert_base_s;

static bool convert_base(void *user, const char *cmd, char *const *v)
{
    convert_base_s *b = user;
    if (!cli_parse_u32(v[0], &b->base)) {
        fprintf(stderr, "lode %s: --base takes an address, got '%s'\n", cmd, v[0]);
        return false;
    }
    b->given = true;
    return true;
}

int cli_cmd_convert(cli_ctx_s *cli, int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *fam = NULL, *format = NULL;
    convert_base_s b = {0};
    const cli_opt_s opts[] = {
        {.name = "-o", .nval = 1, .val = &out},
        {.name = "--output", .nval = 1, .val = &out},
        {.name = "--family", .nval = 1, .val = &fam},
        {.name = "--format", .nval = 1, .val = &format},
        {.name = "--base", .nval = 1, .fn = convert_base, .user = &b},
        {0},
    };
    const cli_args_spec_s spec = {.cmd = "convert", .usage = convert_usage, .opts = opts, .pos = &in, .max_pos = 1,
                                  .unknown = convert_unknown};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    uint32_t base = b.base;
    bool base_given = b.given;
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
