/* SPDX-License-Identifier: MIT */
/* lode convert: an image (ELF, HEX, BIN, UF2, DfuSe) written as UF2 for a family or as a DfuSe
 * file for a USB device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/image.h"
#include "out.h"

static const char help[] =
    "usage: lode convert FILE -o OUT.uf2 --family NAME|0xID [--base ADDR] [--format F]\n"
    "       lode convert FILE -o OUT.dfu [--device VID:PID] [--base ADDR] [--format F]\n"
    "Write an image (ELF, HEX, BIN with --base, UF2, DfuSe) as a UF2 file (microsoft/uf2: 256-byte\n"
    "payloads, the family ID in every block) for copying to a UF2 bootloader's drive, or as an ST\n"
    "DfuSe file (UM0391: one target, an element per segment, a DFU suffix) for DFU tools.\n"
    "  --family NAME|0xID  RP2040, SAMD21, SAMD51, NRF52840, NRF52, STM32F0, STM32F1, STM32F4,\n"
    "                      STM32F7, STM32G0, STM32H7, STM32L4, ESP32S2, or the ID in hex\n"
    "  --device VID:PID    the DFU suffix's device (hex; default 0483:df11, the STM32 bootloader)\n"
    "  --base ADDR         where a raw binary goes\n"
    "  --format F          elf, hex, bin, uf2 or dfu (default: from the file's contents)\n";

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
    const char *in = NULL, *out = NULL, *fam = NULL, *format = NULL, *device = NULL;
    convert_base_s b = {0};
    const cli_opt_s opts[] = {
        {.name = "-o", .nval = 1, .val = &out},
        {.name = "--output", .nval = 1, .val = &out},
        {.name = "--family", .nval = 1, .val = &fam},
        {.name = "--format", .nval = 1, .val = &format},
        {.name = "--device", .nval = 1, .val = &device},
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
    size_t olen = out ? strlen(out) : 0;
    bool dfu = olen > 4 && !strcasecmp(out + olen - 4, ".dfu");
    if (!in || !out || (!dfu && !fam)) {
        fprintf(stderr, "lode convert: give FILE, -o OUT.uf2 and --family NAME|0xID, or -o OUT.dfu (see lode convert "
                        "--help)\n");
        return LODE_EXIT_USAGE;
    }
    unsigned vid = 0x0483, pid = 0xDF11;
    char tail = 0;
    if (dfu && device && (sscanf(device, "%4x:%4x%c", &vid, &pid, &tail) != 2)) {
        fprintf(stderr, "lode convert: --device takes VID:PID in hex (e.g. 0483:df11), got '%s'\n", device);
        return LODE_EXIT_USAGE;
    }
    if (dfu ? fam != NULL : device != NULL) {
        fprintf(stderr, "lode convert: %s goes with %s output only\n", dfu ? "--family" : "--device",
                dfu ? "UF2 (.uf2)" : "DfuSe (.dfu)");
        return LODE_EXIT_USAGE;
    }
    uint32_t id = 0;
    if (!dfu && lode_uf2_family(fam, &id) != LODE_OK) {
        fprintf(stderr, "lode convert: unknown UF2 family '%s': name one of those in lode convert --help, or give "
                        "its ID as 0xHEX\n", fam);
        return LODE_EXIT_USAGE;
    }
    lode_image_format_e fmt = LODE_IMAGE_AUTO;
    if (format) {
        static const char *const names[] = {"elf", "hex", "bin", "uf2", "dfu"};
        static const lode_image_format_e fmts[] = {LODE_IMAGE_ELF, LODE_IMAGE_IHEX, LODE_IMAGE_BIN, LODE_IMAGE_UF2,
                                                   LODE_IMAGE_DFUSE};
        size_t k = 0;
        while (k < 5 && strcmp(format, names[k]))
            k++;
        if (k == 5) {
            fprintf(stderr, "lode convert: --format is elf, hex, bin, uf2 or dfu, got '%s'\n", format);
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
    rc = dfu ? lode_image_write_dfuse(img, (uint16_t)vid, (uint16_t)pid, &buf, &len)
             : lode_image_write_uf2(img, id, &buf, &len);
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
    else if (dfu)
        printf("wrote %s: DfuSe file for %04x:%04x, %zu element%s, 0x%08x-0x%08x\n", out, vid, pid, img->nsegs,
               img->nsegs == 1 ? "" : "s", img->segs[0].addr,
               img->segs[img->nsegs - 1].addr + img->segs[img->nsegs - 1].len - 1);
    else
        printf("wrote %s: %zu blocks for family %s (0x%08x), 0x%08x-0x%08x\n", out, len / 512,
               lode_uf2_family_name(id) ? lode_uf2_family_name(id) : "?", id, img->segs[0].addr,
               img->segs[img->nsegs - 1].addr + img->segs[img->nsegs - 1].len - 1);
    free(buf);
    lode_image_free(img);
    return ok ? LODE_EXIT_OK : LODE_EXIT_FAILED;
}
