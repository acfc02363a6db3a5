/* SPDX-License-Identifier: MIT */
/* The target commands: info, flash, erase, verify, reset, halt, resume, step, regs, read,
 * write. Each parses its arguments, opens a session and calls the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/image.h"
#include "lode/loader.h"
#include "out.h"
#include "target.h"

/* ---- argument parsing shared by the commands ----------------------------------------------- */

#define MAX_POS 64

typedef struct cmd_args_s {
    cli_target_opts_s t;
    const char *pos[MAX_POS];
    int npos;
    /* flags some commands take */
    bool verify, verify_readback, chip_erase, no_reset, halt, all, skip_unchanged, single_buffer, no_stream;
    bool unprotect, yes;
    const char *out_file;
    const char *format;
    uint32_t base;
    bool base_given;
    unsigned width;
} cmd_args_s;

typedef struct cmd_spec_s {
    const char *name;
    const char *usage;  /* after "lode NAME " */
    const char *help;   /* what it does + its own options */
    int min_pos, max_pos;
    const char *opts;   /* its own options, each followed by a space ("--json " if it has JSON) */
} cmd_spec_s;

static const cmd_spec_s *spec_named(const char *name);

/* Every option is one the command uses: anything else is refused, never ignored. */
static bool takes(const cmd_spec_s *c, const char *opt)
{
    char key[40];
    snprintf(key, sizeof key, "%s ", opt);
    return c->opts && strstr(c->opts, key) != NULL;
}

static void cmd_usage(FILE *f, const char *cmd)
{
    const cmd_spec_s *c = spec_named(cmd);
    fprintf(f, "usage: lode %s %s\n\n%s\n", c->name, c->usage, c->help);
    cli_target_options_help(f);
}

/* an option the command lacks: another command's, one lode lacks, or an argument too many */
static void cmd_unknown(const char *cmd, const char *s, bool missing)
{
    if (missing)
        fprintf(stderr, "lode %s: %s needs a value: see `lode %s --help`\n", cmd, s, cmd);
    else if (!strcmp(s, "--json"))
        fprintf(stderr, "lode %s: has no --json output (info, flash, regs, list and itm have)\n", cmd);
    else if ((s[0] == '-' && s[1] == '-') || !strcmp(s, "-o"))
        fprintf(stderr, "lode %s: %s is not an option of %s: see `lode %s --help`\n", cmd, s, cmd, cmd);
    else if (s[0] == '-' && s[1] && !(s[1] >= '0' && s[1] <= '9'))
        fprintf(stderr, "lode %s: unknown option '%s': see `lode %s --help`\n", cmd, s, cmd);
    else
        fprintf(stderr, "lode %s: too many arguments\n", cmd);
}

static bool opt_verify_readback(void *user, const char *cmd, char *const *v)
{
    cmd_args_s *a = user;
    a->verify = a->verify_readback = true;
    return true;
}

static bool opt_base(void *user, const char *cmd, char *const *v)
{
    cmd_args_s *a = user;
    if (!cli_parse_u32(v[0], &a->base)) {
        fprintf(stderr, "lode %s: --base wants an address, got '%s'\n", cmd, v[0]);
        return false;
    }
    a->base_given = true;
    return true;
}

static bool opt_width(void *user, const char *cmd, char *const *v)
{
    cmd_args_s *a = user;
    uint32_t w = 0;
    if (!cli_parse_u32(v[0], &w) || (w != 8 && w != 16 && w != 32)) {
        fprintf(stderr, "lode %s: --width is 8, 16 or 32, got '%s'\n", cmd, v[0]);
        return false;
    }
    a->width = w / 8;
    return true;
}

/* Returns -1 to continue, or an exit code. */
static int parse_args(const cmd_spec_s *c, int argc, char **argv, cmd_args_s *a)
{
    memset(a, 0, sizeof *a);
    cli_target_opts_init(&a->t);
    a->width = 4;
    /* every option some command takes; `takes` keeps this command's */
    const cli_opt_s all[] = {
        {.name = "--json", .flag = &a->t.json, .set = true},
        {.name = "--verify", .flag = &a->verify, .set = true},
        {.name = "--chip-erase", .flag = &a->chip_erase, .set = true},
        {.name = "--no-reset", .flag = &a->no_reset, .set = true},
        {.name = "--halt", .flag = &a->halt, .set = true},
        {.name = "--all", .flag = &a->all, .set = true},
        {.name = "--skip-unchanged", .flag = &a->skip_unchanged, .set = true},
        {.name = "--single-buffer", .flag = &a->single_buffer, .set = true},
        {.name = "--no-stream", .flag = &a->no_stream, .set = true},
        {.name = "--unprotect", .flag = &a->unprotect, .set = true},
        {.name = "--yes", .flag = &a->yes, .set = true},
        {.name = "--verify-readback", .fn = opt_verify_readback},
        {.name = "-o", .nval = 1, .val = &a->out_file},
        {.name = "--output", .nval = 1, .val = &a->out_file},
        {.name = "--format", .nval = 1, .val = &a->format},
        {.name = "--base", .nval = 1, .fn = opt_base},
        {.name = "--width", .nval = 1, .fn = opt_width},
    };
    cli_opt_s opts[sizeof all / sizeof all[0] + 2];
    size_t n = 0;
    /* `lode erase --chip` (no chip name after it) erases the whole chip */
    if (!strcmp(c->name, "erase"))
        opts[n++] = (cli_opt_s){.name = "--chip", .flag = &a->all, .set = true, .bare = true};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (takes(c, !strcmp(all[k].name, "--output") ? "-o" : all[k].name))
            opts[n++] = all[k];
    opts[n] = (cli_opt_s){.name = NULL};
    const cli_args_spec_s spec = {.cmd = c->name, .usage = cmd_usage, .opts = opts, .user = a, .target = &a->t,
                                  .pos = a->pos, .max_pos = MAX_POS, .dash_is_pos = true, .num_is_pos = true,
                                  .unknown = cmd_unknown};
    int rest, ex = cli_args_parse(&spec, argc, argv, &a->npos, &rest);
    if (ex >= 0)
        return ex;
    if (a->npos < c->min_pos || a->npos > c->max_pos) {
        fprintf(stderr, "lode %s: expected %s: see `lode %s --help`\n", c->name, c->usage, c->name);
        return LODE_EXIT_USAGE;
    }
    return -1;
}

static int target_error(int rc)
{
    switch (rc) {
    case LODE_E_FLASH:
    case LODE_E_VERIFY:
        return LODE_EXIT_FAILED;
    case LODE_E_RANGE:
    case LODE_E_FORMAT:
        return LODE_EXIT_DATAERR;
    case LODE_E_TIMEOUT:
    case LODE_E_FAULT:
    case LODE_E_WAIT:
    case LODE_E_PROTOCOL:
    case LODE_E_NO_DEVICE:
        return LODE_EXIT_UNAVAILABLE;
    default:
        return cli_exit_for_error(rc);
    }
}

/* what was written: the chip, or the probe when it names no chip (a bootloader) */
static const char *target_name(const cli_target_s *t)
{
    return t->chip ? t->chip->name : t->probe_desc;
}

static void say_target(cli_target_s *t, bool json)
{
    if (json || !t->cli->verbose)
        return;
    fprintf(stderr, "lode: probe %s", t->probe_desc);
    if (t->chip)
        fprintf(stderr, ", chip %s (%s)", t->chip->name, t->chip_how);
    fputc('\n', stderr);
}

/* ---- info ---------------------------------------------------------------------------------- */

typedef struct info_walk_s {
    cli_json_s *j;
    bool json;
} info_walk_s;

static int walk_cb(void *user, const lode_adi_component_s *c)
{
    info_walk_s *w = user;
    if (w->json) {
        cli_json_begin_object(w->j, NULL);
        cli_json_hex(w->j, "base", (uint32_t)c->base);
        cli_json_uint(w->j, "class", c->cls);
        cli_json_string(w->j, "name", c->name ? c->name : "");
        cli_json_uint(w->j, "depth", c->depth);
        cli_json_end_object(w->j);
    } else {
        printf("  %*s0x%08llx  class 0x%x  %s\n", (int)c->depth * 2, "", (unsigned long long)c->base,
               c->cls, c->name ? c->name : "(unknown component)");
    }
    return 0;
}

static int info_loader(cli_target_s *t)
{
    lode_probe_info_s di;
    memset(&di, 0, sizeof di);
    lode_probe_describe(t->probe, &di);
    lode_loader_s *ld = NULL;
    const lode_flash_region_s *regs = NULL;
    const lode_mem_range_s *ram = NULL;
    size_t nregs = 0, nram = 0;
    int rc = lode_probe_loader(t->probe, &ld);
    if (rc == LODE_OK)
        rc = lode_loader_layout(ld, &t->cli->log, &regs, &nregs, &ram, &nram);
    printf("probe:     %s\n", t->probe_desc);
    printf("           %s%s%s\n", di.protocol, di.detail[0] ? ", " : "", di.detail);
    for (size_t i = 0; rc == LODE_OK && i < nregs; i++) {
        uint32_t ss = 0, sz = 0;
        regs[i].sector_at(regs[i].user, regs[i].start, &ss, &sz);
        printf("memory:    %-16s 0x%08x-0x%08x  %u sectors of %u bytes\n", regs[i].name ? regs[i].name : "",
               regs[i].start, regs[i].end - 1, sz ? (regs[i].end - regs[i].start) / sz : 0, sz);
    }
    return rc == LODE_OK ? LODE_EXIT_OK : target_error(rc);
}

static const cmd_spec_s spec_info = {"info", "[options]",
    "Connect and show the probe, the debug port (DPIDR, APs, ROM table), the core (CPUID) and\n"
    "the chip (detected or --chip) with its memory map.\n"
    "  --json   machine-readable output\n", 0, 0, "--json "};

static int cmd_info(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_info, argc, argv, &a);
    if (ex >= 0)
        return ex;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, false, &t)) != LODE_EXIT_OK)
        return ex;
    lode_adi_s *adi = lode_session_adi(t.session);
    if (!adi && !a.t.json && lode_probe_loader(t.probe, &(lode_loader_s *){NULL}) == LODE_OK) {
        ex = info_loader(&t); /* a bootloader: the probe and its memories */
        cli_target_close(&t);
        return ex;
    }
    if (!adi) {
        fprintf(stderr, "lode info: not available through %s (no debug port access)\n", t.probe_desc);
        cli_target_close(&t);
        return LODE_EXIT_UNAVAILABLE;
    }
    lode_probe_info_s di;
    lode_probe_describe(t.probe, &di);

    uint32_t dpidr = lode_adi_dpidr(adi), idr = 0, base = 0;
    lode_adi_ap_idr(adi, 0, &idr);
    lode_adi_ap_base(adi, 0, &base);
    const lode_cortexm_info_s *ci = lode_cortexm_info(lode_session_cortexm(t.session));
    cli_json_s j = {.f = stdout};
    info_walk_s w = {.j = &j, .json = a.t.json};
    if (a.t.json) {
        cli_json_begin_object(&j, NULL);
        cli_json_begin_object(&j, "probe");
        cli_json_string(&j, "description", t.probe_desc);
        cli_json_string(&j, "product", di.product);
        cli_json_string(&j, "serial", di.serial);
        cli_json_string(&j, "protocol_version", di.protocol);
        cli_json_string(&j, "firmware_version", di.firmware);
        if (di.packet_size) {
            cli_json_uint(&j, "packet_size", di.packet_size);
            cli_json_uint(&j, "packet_count", di.packet_count);
        }
        if (di.has_voltage)
            cli_json_double(&j, "target_voltage", di.voltage);
        cli_json_end_object(&j);
        cli_json_hex(&j, "dpidr", dpidr);
        cli_json_begin_array(&j, "aps");
        cli_json_begin_object(&j, NULL);
        cli_json_uint(&j, "index", 0);
        cli_json_hex(&j, "idr", idr);
        cli_json_hex(&j, "base", base);
        cli_json_end_object(&j);
        cli_json_end_array(&j);
        cli_json_begin_array(&j, "rom_table");
    } else {
        printf("probe:     %s\n", t.probe_desc);
        printf("           %s %s, %s\n", di.vendor, di.product, di.detail);
        printf("DPIDR:     0x%08x\n", dpidr);
        printf("AP 0:      IDR 0x%08x, BASE 0x%08x\n", idr, base);
        printf("ROM table:\n");
    }
    if (base & 1)
        lode_adi_romtable_walk(adi, 0, base & ~0xFFFu, walk_cb, &w);
    if (a.t.json) {
        cli_json_end_array(&j);
        cli_json_begin_object(&j, "core");
        cli_json_hex(&j, "cpuid", ci->cpuid);
        cli_json_string(&j, "name", ci->name);
        cli_json_uint(&j, "variant", ci->variant);
        cli_json_uint(&j, "revision", ci->revision);
        cli_json_bool(&j, "fpu", ci->fpu);
        cli_json_end_object(&j);
    } else {
        printf("core:      %s r%up%u (CPUID 0x%08x)%s\n", ci->name, ci->variant, ci->revision,
               ci->cpuid, ci->fpu ? ", FPU" : "");
    }
    const lode_target_chip_s *chip = t.chip;
    if (a.t.json) {
        cli_json_begin_object(&j, "chip");
        cli_json_string(&j, "name", chip->name);
        cli_json_string(&j, "family", chip->family->name);
        cli_json_string(&j, "how", t.chip_how);
        cli_json_begin_array(&j, "memory");
        for (size_t i = 0; i < chip->nmemory; i++) {
            const lode_target_mem_s *m = &chip->memory[i];
            cli_json_begin_object(&j, NULL);
            cli_json_string(&j, "kind", m->kind == LODE_TARGET_MEM_RAM   ? "ram"
                                        : m->kind == LODE_TARGET_MEM_NVM ? "flash"
                                                                         : "generic");
            cli_json_string(&j, "name", m->name);
            cli_json_hex(&j, "start", (uint32_t)m->start);
            cli_json_hex(&j, "end", (uint32_t)(m->end - 1));
            cli_json_end_object(&j);
        }
        cli_json_end_array(&j);
        cli_json_begin_array(&j, "flash_algorithms");
        for (size_t i = 0; i < chip->nalgos; i++)
            cli_json_string(&j, NULL, chip->algos[i]->name);
        cli_json_end_array(&j);
        cli_json_end_object(&j);
        cli_json_end_object(&j);
    } else {
        printf("chip:      %s (%s), family %s\n", chip->name, t.chip_how, chip->family->name);
        printf("memory:\n");
        for (size_t i = 0; i < chip->nmemory; i++) {
            const lode_target_mem_s *m = &chip->memory[i];
            printf("  %-6s 0x%08llx-0x%08llx  %6llu KiB  %s\n",
                   m->kind == LODE_TARGET_MEM_RAM ? "ram" : m->kind == LODE_TARGET_MEM_NVM ? "flash" : "other",
                   (unsigned long long)m->start, (unsigned long long)m->end - 1,
                   (unsigned long long)(m->end - m->start) / 1024, m->name);
        }
        for (size_t i = 0; i < chip->nalgos; i++)
            printf("flash algorithm: %s\n", chip->algos[i]->name);
    }
    cli_target_close(&t);
    return LODE_EXIT_OK;
}

/* ---- flash / verify / erase ------------------------------------------------------------------- */

typedef struct progress_ctx_s {
    cli_progress_s bar;
} progress_ctx_s;

static void on_progress(void *user, lode_flash_phase_e phase, size_t done, size_t total)
{
    progress_ctx_s *p = user;
    static const char *const names[] = {"Erase", "Program", "Verify"};
    cli_progress_update(&p->bar, names[phase], done, total);
}

static int load_image(const char *cmd, const cmd_args_s *a, const lode_log_s *log, lode_image_s **img)
{
    lode_image_format_e fmt = LODE_IMAGE_AUTO;
    if (a->format) {
        if (!strcmp(a->format, "elf"))
            fmt = LODE_IMAGE_ELF;
        else if (!strcmp(a->format, "hex") || !strcmp(a->format, "ihex"))
            fmt = LODE_IMAGE_IHEX;
        else if (!strcmp(a->format, "bin"))
            fmt = LODE_IMAGE_BIN;
        else if (!strcmp(a->format, "uf2"))
            fmt = LODE_IMAGE_UF2;
        else if (!strcmp(a->format, "dfu"))
            fmt = LODE_IMAGE_DFUSE;
        else {
            fprintf(stderr, "lode %s: --format is elf, hex, bin, uf2 or dfu, got '%s'\n", cmd, a->format);
            return LODE_EXIT_USAGE;
        }
    }
    int rc = lode_image_load_file(a->pos[0], fmt, a->base, a->base_given, log, img);
    if (rc == LODE_E_INVALID_ARG && !a->base_given) {
        fprintf(stderr, "lode %s: %s looks like a raw binary: give its address with --base ADDR\n",
                cmd, a->pos[0]);
        return LODE_EXIT_USAGE;
    }
    if (rc == LODE_E_NO_DEVICE || rc == LODE_E_IO || rc == LODE_E_ACCESS)
        return LODE_EXIT_NOINPUT;
    if (rc != LODE_OK)
        return LODE_EXIT_DATAERR;
    return LODE_EXIT_OK;
}

static const cmd_spec_s spec_flash = {"flash", "FILE [options]",
    "Write an ELF, Intel HEX or raw binary image to the chip's flash (RAM segments are\n"
    "written directly), then reset and run it.\n"
    "  --base ADDR        load address of a raw binary\n"
    "  --format F         elf, hex, bin, uf2 or dfu (default: from the file's contents)\n"
    "  --verify           check what was written: lode's own algorithms compare every page\n"
    "                     on the target right after programming it and hash the flash\n"
    "                     against the image; other algorithms read everything back\n"
    "  --verify-readback  verify by reading everything back through the probe\n"
    "  --chip-erase       erase the whole flash first (default: only the sectors written;\n"
    "                     an image covering all of a chip's only flash erases it whole)\n"
    "  --skip-unchanged   leave sectors that already hold the image alone\n"
    "  --no-reset         leave the core halted afterwards\n"
    "  --no-stream        one algorithm call per sector and page, no streaming\n"
    "  --single-buffer    don't overlap page transfers with programming (implies --no-stream)\n"
    "  --json             machine-readable summary\n", 1, 1, "--base --format --verify --verify-readback --chip-erase --skip-unchanged --no-reset --no-stream --single-buffer --json "};

static int cmd_flash(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_flash, argc, argv, &a);
    if (ex >= 0)
        return ex;
    lode_image_s *img = NULL;
    if ((ex = load_image("flash", &a, &cli->log, &img)) != LODE_EXIT_OK)
        return ex;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, false, &t)) != LODE_EXIT_OK) {
        lode_image_free(img);
        return ex;
    }
    say_target(&t, a.t.json);
    progress_ctx_s pc;
    cli_progress_init(&pc.bar, !a.t.json);
    lode_flash_opts_s fo = {.chip_erase = a.chip_erase, .skip_unchanged = a.skip_unchanged,
                            .verify = a.verify, .verify_readback = a.verify_readback,
                            .single_buffer = a.single_buffer, .no_stream = a.no_stream,
                            .progress = on_progress, .progress_user = &pc};
    lode_flash_result_s res;
    double t0 = cli_target_now_s(&t), w0 = cli_now_s();
    int rc = lode_session_flash(t.session, img, &fo, &res);
    lode_loader_s *ld = NULL;
    const char *via = lode_session_loader(t.session, &ld) == LODE_OK ? lode_loader_ops(ld)->via : "";
    double dt = cli_target_now_s(&t) - t0, wall = cli_now_s() - w0;
    cli_progress_end(&pc.bar);
    if (rc == LODE_OK && !a.no_reset && ld)
        rc = lode_loader_reset_run(ld);
    size_t image_bytes = lode_image_total_bytes(img);
    if (rc == LODE_OK) {
        double kib_s = dt > 0 ? (double)res.bytes_programmed / 1024.0 / dt : 0;
        if (a.t.json) {
            cli_json_s j = {.f = stdout};
            cli_json_begin_object(&j, NULL);
            cli_json_string(&j, "chip", target_name(&t));
            cli_json_string(&j, "file", a.pos[0]);
            cli_json_uint(&j, "image_bytes", image_bytes);
            cli_json_uint(&j, "bytes_programmed", res.bytes_programmed);
            cli_json_uint(&j, "sectors_erased", res.sectors_erased);
            cli_json_uint(&j, "pages_programmed", res.pages_programmed);
            cli_json_bool(&j, "verified", a.verify);
            cli_json_double(&j, "seconds", dt);
            cli_json_double(&j, "kib_per_s", kib_s);
            cli_json_bool(&j, "simulated_time", cli_target_simulated(&t));
            cli_json_double(&j, "host_seconds", wall);
            cli_json_end_object(&j);
        } else {
            char b1[32];
            cli_fmt_bytes(b1, sizeof b1, (double)res.bytes_programmed);
            printf("flashed %s (%zu bytes of image) to %s%s in %.3f s%s (%.1f KiB/s): %zu sectors "
                   "erased, %zu pages%s\n",
                   b1, image_bytes, target_name(&t), via, dt, cli_target_simulated(&t) ? " of simulated time" : "", kib_s,
                   res.sectors_erased, res.pages_programmed, a.verify ? ", verified" : "");
        }
    }
    int cex = cli_target_close(&t);
    lode_image_free(img);
    return rc == LODE_OK ? cex : target_error(rc);
}

static const cmd_spec_s spec_verify = {"verify", "FILE [options]",
    "Compare the target's memory with an image (ELF, HEX, or BIN with --base).\n"
    "  --base ADDR, --format F   as for flash\n", 1, 1, "--base --format "};

static int cmd_verify(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_verify, argc, argv, &a);
    if (ex >= 0)
        return ex;
    lode_image_s *img = NULL;
    if ((ex = load_image("verify", &a, &cli->log, &img)) != LODE_EXIT_OK)
        return ex;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, false, &t)) != LODE_EXIT_OK) {
        lode_image_free(img);
        return ex;
    }
    size_t checked = 0;
    int rc = lode_session_verify(t.session, img, &checked);
    if (rc == LODE_OK)
        printf("verified %zu bytes of %s: identical\n", checked, a.pos[0]);
    cli_target_close(&t);
    lode_image_free(img);
    return rc == LODE_OK ? LODE_EXIT_OK : target_error(rc);
}

static const cmd_spec_s spec_erase = {"erase", "(--chip | ADDR LEN) [options]",
    "Erase the whole flash (--chip with no name after it; also --all) or the sectors covering\n"
    "ADDR..ADDR+LEN.\n"
    "  --unprotect        remove a DfuSe device's read protection: the device mass-erases its\n"
    "                     flash (asks first; --yes when not at a terminal)\n", 0, 2, "--all --unprotect --yes "};

/* --unprotect wipes the device: a person at a terminal confirms, a script says --yes */
static bool confirm_unprotect(void)
{
    if (!isatty(0) || !isatty(2)) {
        fprintf(stderr, "lode erase: --unprotect mass-erases the device's whole flash: confirm with --yes (no terminal "
                        "to ask at)\n");
        return false;
    }
    fprintf(stderr, "lode erase --unprotect: the device mass-erases its whole flash to remove the read protection; "
                    "everything on it is lost. Go on? [y/N] ");
    char line[16] = "";
    if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
        fprintf(stderr, "lode erase: nothing done\n");
        return false;
    }
    return true;
}

static int cmd_erase(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_erase, argc, argv, &a);
    if (ex >= 0)
        return ex;
    bool all = a.all || a.chip_erase || a.unprotect;
    if (a.unprotect && !a.yes && !confirm_unprotect())
        return LODE_EXIT_USAGE;
    uint32_t addr = 0, len = 0;
    if (!all && (a.npos != 2 || !cli_parse_u32(a.pos[0], &addr) || !cli_parse_u32(a.pos[1], &len) || !len)) {
        fprintf(stderr, "lode erase: give --chip (the whole flash), or ADDR LEN (numbers, LEN > 0)\n");
        return LODE_EXIT_USAGE;
    }
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, false, &t)) != LODE_EXIT_OK)
        return ex;
    progress_ctx_s pc;
    cli_progress_init(&pc.bar, true);
    lode_flash_opts_s fo = {.progress = on_progress, .progress_user = &pc, .unprotect = a.unprotect};
    lode_flash_result_s res;
    double t0 = cli_target_now_s(&t);
    int rc = lode_session_erase(t.session, all, addr, len, &fo, &res);
    cli_progress_end(&pc.bar);
    lode_loader_s *ld = NULL;
    if (rc == LODE_OK)
        printf("erased %zu sectors of %s%s in %.3f s\n", res.sectors_erased, target_name(&t),
               lode_session_loader(t.session, &ld) == LODE_OK ? lode_loader_ops(ld)->via : "",
               cli_target_now_s(&t) - t0);
    int cex = cli_target_close(&t);
    return rc == LODE_OK ? cex : target_error(rc);
}

/* ---- run control ------------------------------------------------------------------------------ */

static void print_pc(cli_target_s *t)
{
    uint32_t pc = 0, xpsr = 0;
    if (t->core.reg_read(t->core.ctx, 15, &pc) == LODE_OK &&
        t->core.reg_read(t->core.ctx, 16, &xpsr) == LODE_OK)
        printf("halted at pc 0x%08x (xPSR 0x%08x)\n", pc, xpsr);
}

static const cmd_spec_s spec_reset = {"reset", "[--halt] [options]",
    "System reset (AIRCR.SYSRESETREQ). With --halt, stop at the reset vector.\n", 0, 0, "--halt "};
static const cmd_spec_s spec_halt = {"halt", "[options]", "Halt the core and show where.\n", 0, 0, NULL};
static const cmd_spec_s spec_resume = {"resume", "[options]", "Let the core run.\n", 0, 0, NULL};
static const cmd_spec_s spec_step = {"step", "[options]",
    "Execute one instruction (the core is halted first) and show the new pc.\n", 0, 0, NULL};

static int run_control(cli_ctx_s *cli, int argc, char **argv, const cmd_spec_s *spec)
{
    cmd_args_s a;
    int ex = parse_args(spec, argc, argv, &a);
    if (ex >= 0)
        return ex;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, true, &t)) != LODE_EXIT_OK)
        return ex;
    int rc = LODE_OK;
    if (spec == &spec_reset && !t.core.reset) {
        /* a bootloader board: opening it reset the board into its bootloader; leaving starts the
         * application */
        lode_loader_s *l = NULL;
        if (a.halt) {
            fprintf(stderr, "lode reset: --halt needs a debug probe; %s is a bootloader\n", t.probe_desc);
            cli_target_close(&t);
            return LODE_EXIT_USAGE;
        }
        rc = lode_session_loader(t.session, &l);
        if (rc == LODE_OK)
            rc = lode_loader_reset_run(l);
        if (rc == LODE_OK)
            printf("reset; the application runs\n");
    } else if (spec == &spec_reset) {
        rc = t.core.reset(t.core.ctx, a.halt);
        if (rc == LODE_OK && a.halt)
            print_pc(&t);
        else if (rc == LODE_OK)
            printf("reset; the core runs\n");
    } else if (spec == &spec_halt) {
        rc = t.core.halt(t.core.ctx);
        if (rc == LODE_OK)
            print_pc(&t);
    } else if (spec == &spec_resume) {
        rc = t.core.resume(t.core.ctx);
        if (rc == LODE_OK)
            printf("running\n");
    } else {
        lode_core_state_s st;
        rc = t.core.state(t.core.ctx, &st);
        if (rc == LODE_OK && !st.halted)
            rc = t.core.halt(t.core.ctx);
        if (rc == LODE_OK)
            rc = t.core.step(t.core.ctx);
        if (rc == LODE_OK)
            print_pc(&t);
    }
    if (rc != LODE_OK)
        fprintf(stderr, "lode %s: %s\n", spec->name, lode_strerror(rc));
    int cex = cli_target_close(&t);
    return rc == LODE_OK ? cex : target_error(rc);
}

static const cmd_spec_s spec_regs = {"regs", "[options]",
    "Show the core registers. The core is halted for the read and resumed afterwards if it\n"
    "was running (--halt, or `lode halt` first, keeps it stopped).\n"
    "  --halt   leave the core halted\n"
    "  --json   machine-readable output\n", 0, 0, "--halt --json "};

static int cmd_regs(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_regs, argc, argv, &a);
    if (ex >= 0)
        return ex;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, true, &t)) != LODE_EXIT_OK)
        return ex;
    lode_core_state_s st;
    int rc = t.core.state(t.core.ctx, &st);
    bool was_running = rc == LODE_OK && !st.halted;
    if (was_running)
        rc = t.core.halt(t.core.ctx);
    /* the core's registers, then (a group of their own, whose failure leaves them out) the FP ones */
    unsigned regs[64];
    uint32_t vals[64];
    size_t nall = lode_core_regs(&t.core, regs, 64), nregs = 0;
    if (nall > 64)
        nall = 64;
    while (nregs < nall && !lode_core_reg_is_fp(regs[nregs]))
        nregs++;
    if (rc == LODE_OK)
        rc = lode_core_regs_read(&t.core, regs, vals, nregs);
    bool fp = rc == LODE_OK && nall > nregs &&
              lode_core_regs_read(&t.core, regs + nregs, vals + nregs, nall - nregs) == LODE_OK;
    if (rc == LODE_OK) {
        cli_json_s j = {.f = stdout};
        if (a.t.json)
            cli_json_begin_object(&j, NULL);
        for (size_t i = 0; i < (fp ? nall : nregs); i++) {
            const char *n = lode_core_reg_name(regs[i]);
            size_t k = i < nregs ? i : i - nregs; /* place in its group */
            bool eol = k % 4 == 3 || (i >= nregs && i == nall - 1);
            if (a.t.json)
                cli_json_hex(&j, n, vals[i]);
            else
                printf("%-9s 0x%08x%s", n, vals[i], eol ? "\n" : "   ");
            if (!a.t.json && i == nregs - 1)
                printf("\n");
        }
        if (a.t.json)
            cli_json_end_object(&j);
    } else {
        fprintf(stderr, "lode regs: cannot read the registers: %s\n", lode_strerror(rc));
    }
    if (was_running && !a.halt) /* --halt: leave it stopped */
        t.core.resume(t.core.ctx);
    int cex = cli_target_close(&t);
    return rc == LODE_OK ? cex : target_error(rc);
}

/* ---- memory ----------------------------------------------------------------------------------- */

static const cmd_spec_s spec_read = {"read", "ADDR LEN [-o FILE] [options]",
    "Read target memory (the core may run) and hexdump it, or write it to FILE with -o.\n", 2, 2, "-o "};

static int cmd_read(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_read, argc, argv, &a);
    if (ex >= 0)
        return ex;
    uint32_t addr = 0, len = 0;
    if (!cli_parse_u32(a.pos[0], &addr) || !cli_parse_u32(a.pos[1], &len) || !len ||
        (uint64_t)addr + len > 0x100000000ull || len > 64u * 1024 * 1024) {
        fprintf(stderr, "lode read: ADDR and LEN are numbers (LEN 1..64M, not past 4 GiB)\n");
        return LODE_EXIT_USAGE;
    }
    uint8_t *buf = malloc(len);
    if (!buf)
        return LODE_EXIT_SOFTWARE;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, true, &t)) != LODE_EXIT_OK) {
        free(buf);
        return ex;
    }
    double t0 = cli_target_now_s(&t);
    int rc = lode_session_read(t.session, addr, buf, len);
    double dt = cli_target_now_s(&t) - t0;
    if (rc == LODE_OK) {
        if (a.out_file) {
            FILE *f = fopen(a.out_file, "wb");
            if (!f || fwrite(buf, 1, len, f) != len) {
                fprintf(stderr, "lode read: cannot write %s\n", a.out_file);
                rc = LODE_E_IO;
            }
            if (f)
                fclose(f);
            if (rc == LODE_OK)
                fprintf(stderr, "read %u bytes in %.3f s (%.1f KiB/s) to %s\n", len, dt,
                        dt > 0 ? len / 1024.0 / dt : 0.0, a.out_file);
        } else {
            cli_hexdump(stdout, addr, buf, len);
        }
    } else {
        fprintf(stderr, "lode read: reading 0x%08x..0x%08x failed: %s\n", addr, addr + len - 1,
                lode_strerror(rc));
    }
    cli_target_close(&t);
    free(buf);
    /* a bus fault is the target refusing the access (no memory there), not a lost probe */
    return rc == LODE_OK ? LODE_EXIT_OK : rc == LODE_E_IO ? LODE_EXIT_SOFTWARE : rc == LODE_E_FAULT ? LODE_EXIT_FAILED
                                                                                              : target_error(rc);
}

/* LODE_EXIT_USAGE (with the reason) when [addr, addr+n) touches the flash of the chip the
 * options name (--chip, or the simulated board's), else LODE_EXIT_OK. */
static int refuse_flash_write(cli_ctx_s *cli, const cli_target_opts_s *o, uint32_t addr, uint32_t n)
{
    const char *name = cli_target_chip_name(o);
    lode_target_db_s *db = NULL;
    const lode_target_chip_s *chip = NULL;
    int ex = LODE_EXIT_OK;
    if (!name || lode_target_db_new(&cli->log, &db) != LODE_OK)
        return LODE_EXIT_OK;
    if ((!o->chip_description || lode_target_db_load_file(db, o->chip_description) == LODE_OK) &&
        lode_target_find_chip(db, name, &chip) == LODE_OK) {
        for (uint32_t k = 0; k < n && ex == LODE_EXIT_OK; k++) {
            const lode_target_mem_s *m = lode_target_chip_region_at(chip, (uint64_t)addr + k);
            if (m && m->kind == LODE_TARGET_MEM_NVM) {
                fprintf(stderr, "lode write: 0x%08x is in the flash of %s (0x%08llx-0x%08llx), which a memory "
                                "write does not change: use `lode flash`\n", addr + k, chip->name,
                        (unsigned long long)m->start, (unsigned long long)m->end - 1);
                ex = LODE_EXIT_USAGE;
            }
        }
    }
    lode_target_db_free(db);
    return ex;
}

static const cmd_spec_s spec_write = {"write", "ADDR VALUE... [--width 8|16|32] [options]",
    "Write values to target memory (RAM or peripherals; flash needs `lode flash`), one after\n"
    "the other from ADDR, each --width bits (default 32).\n", 2, MAX_POS, "--width "};

static int cmd_write(cli_ctx_s *cli, int argc, char **argv)
{
    cmd_args_s a;
    int ex = parse_args(&spec_write, argc, argv, &a);
    if (ex >= 0)
        return ex;
    uint32_t addr = 0;
    if (!cli_parse_u32(a.pos[0], &addr) || (addr & (a.width - 1))) {
        fprintf(stderr, "lode write: ADDR must be a number aligned to the width (%u bytes)\n", a.width);
        return LODE_EXIT_USAGE;
    }
    uint8_t data[MAX_POS * 4];
    size_t n = 0;
    for (int i = 1; i < a.npos; i++) {
        uint32_t v = 0;
        if (!cli_parse_u32(a.pos[i], &v) || (a.width < 4 && v >> (8 * a.width))) {
            fprintf(stderr, "lode write: '%s' is not a %u-bit value\n", a.pos[i], a.width * 8);
            return LODE_EXIT_USAGE;
        }
        for (unsigned k = 0; k < a.width; k++)
            data[n++] = (uint8_t)(v >> (8 * k));
    }
    /* flash takes no plain writes: the bytes would silently stay as they were */
    if ((ex = refuse_flash_write(cli, &a.t, addr, (uint32_t)n)) != LODE_EXIT_OK)
        return ex;
    cli_target_s t;
    if ((ex = cli_target_open(cli, &a.t, true, &t)) != LODE_EXIT_OK)
        return ex;
    int rc = t.core.mem_write(t.core.ctx, addr, data, n);
    if (rc != LODE_OK)
        fprintf(stderr, "lode write: writing 0x%08x..0x%08x failed: %s (flash is written with "
                        "`lode flash`)\n", addr, addr + (uint32_t)n - 1, lode_strerror(rc));
    int cex = cli_target_close(&t);
    return rc == LODE_OK ? cex : rc == LODE_E_FAULT ? LODE_EXIT_FAILED : target_error(rc);
}

/* ---- dispatch --------------------------------------------------------------------------------- */

static int cmd_reset(cli_ctx_s *cli, int argc, char **argv) { return run_control(cli, argc, argv, &spec_reset); }
static int cmd_halt(cli_ctx_s *cli, int argc, char **argv) { return run_control(cli, argc, argv, &spec_halt); }
static int cmd_resume(cli_ctx_s *cli, int argc, char **argv) { return run_control(cli, argc, argv, &spec_resume); }
static int cmd_step(cli_ctx_s *cli, int argc, char **argv) { return run_control(cli, argc, argv, &spec_step); }

const cli_command_s cli_target_commands[] = {
    {"info", cmd_info},     {"flash", cmd_flash}, {"verify", cmd_verify}, {"erase", cmd_erase},
    {"reset", cmd_reset},   {"halt", cmd_halt},   {"resume", cmd_resume}, {"step", cmd_step},
    {"regs", cmd_regs},     {"read", cmd_read},   {"write", cmd_write},   {NULL, NULL},
};

static const cmd_spec_s *spec_named(const char *name)
{
    static const cmd_spec_s *const specs[] = {&spec_info,  &spec_flash, &spec_verify, &spec_erase,
                                              &spec_reset, &spec_halt,  &spec_resume, &spec_step,
                                              &spec_regs,  &spec_read,  &spec_write};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++)
        if (!strcmp(specs[k]->name, name))
            return specs[k];
    return &spec_info;
}
