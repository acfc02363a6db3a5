/* SPDX-License-Identifier: MIT */
/* `lode list` (probes) and `lode chips` (the chip database). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "lode/board.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "lode/target.h"
#include "lode/probe.h"
#include "out.h"
#include "target.h"

typedef struct list_ctx_s {
    cli_json_s j;
    bool json;
    size_t attached; /* probes found on the host (not the simulator's) */
} list_ctx_s;

static void on_found(void *user, const lode_probe_found_s *f)
{
    list_ctx_s *l = user;
    if (!f->chips)
        l->attached += strncmp(f->kind, "simulated", 9) != 0;
    if (!l->json) {
        printf("%-28s %s\n", f->spec, f->text);
        return;
    }
    cli_json_begin_object(&l->j, NULL);
    cli_json_string(&l->j, "probe", f->spec);
    cli_json_string(&l->j, "kind", f->kind);
    if (f->product[0])
        cli_json_string(&l->j, "product", f->product);
    if (f->manufacturer[0])
        cli_json_string(&l->j, "manufacturer", f->manufacturer);
    if (f->serial[0])
        cli_json_string(&l->j, "serial", f->serial);
    if (f->chips) {
        cli_json_begin_array(&l->j, "chips");
        for (const char *const *c = f->chips; *c; c++)
            cli_json_string(&l->j, NULL, *c);
        cli_json_end_array(&l->j);
    }
    cli_json_end_object(&l->j);
}

static void list_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fputs("usage: lode list [--json]\n\nList the probes lode can use: every driver of the probe "
          "registry lists\nwhat it finds (the simulated board, USB CMSIS-DAP probes and ST-Links).\n", f);
}

static void list_unknown(const char *cmd, const char *arg, bool missing)
{
    (void)missing;
    fprintf(stderr, "lode %s: unknown argument '%s'%s\n", cmd, arg,
            !strcmp(cmd, "chips") && !strcmp(arg, "--json") ? " (chips has no JSON output)" : "");
}

int cli_cmd_list(cli_ctx_s *cli, int argc, char **argv)
{
    bool json = false;
    const cli_opt_s opts[] = {{.name = "--json", .flag = &json, .set = true}, {0}};
    const cli_args_spec_s spec = {.cmd = "list", .usage = list_usage, .opts = opts, .unknown = list_unknown};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    cli_target_opts_s o;
    cli_target_opts_init(&o);
    cli_target_s t;
    if (cli_registry(cli, &o, &t) != LODE_OK) {
        cli_target_close(&t);
        return LODE_EXIT_SOFTWARE;
    }
    list_ctx_s l = {.j = {.f = stdout}, .json = json};
    if (json)
        cli_json_begin_array(&l.j, NULL);
    lode_probe_list(t.reg, &cli->log, on_found, &l);
    if (json)
        cli_json_end_array(&l.j);
    else if (!l.attached)
        printf("(no probe attached: see `lode info --help` for the probe syntaxes)\n");
    cli_target_close(&t);
    return LODE_EXIT_OK;
}

static void chips_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fputs("usage: lode chips [--chip-description FILE]\n\nList the chips lode knows "
          "(built in, plus those of a probe-rs target file),\nthen the AVR parts (lode's own chip data: "
          "signature, flash and page size, EEPROM,\nboot section sizes).\n", f);
}

static void chips_unknown(const char *cmd, const char *arg, bool missing)
{
    if (missing)
        fprintf(stderr, "lode %s: %s needs a value (a probe-rs target file)\n", cmd, arg);
    else
        list_unknown(cmd, arg, missing);
}

/* --chip-description FILE, once (user: the const char * it goes to) */
static bool chips_desc(void *user, const char *cmd, char *const *v)
{
    const char **desc = user;
    if (*desc) {
        fprintf(stderr, "lode %s: --chip-description given twice ('%s', '%s'): lode loads one "
                        "target file\n", cmd, *desc, v[0]);
        return false;
    }
    *desc = v[0];
    return true;
}

int cli_cmd_chips(cli_ctx_s *cli, int argc, char **argv)
{
    const char *desc = NULL;
    const cli_opt_s opts[] = {{.name = "--chip-description", .nval = 1, .fn = chips_desc, .user = &desc}, {0}};
    const cli_args_spec_s spec = {.cmd = "chips", .usage = chips_usage, .opts = opts, .unknown = chips_unknown};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    lode_target_db_s *db = NULL;
    int rc = lode_target_db_new(&cli->log, &db);
    if (rc == LODE_OK && desc)
        rc = lode_target_db_load_file(db, desc);
    if (rc != LODE_OK) {
        lode_target_db_free(db);
        return rc == LODE_E_FORMAT ? LODE_EXIT_DATAERR : LODE_EXIT_NOINPUT;
    }
    for (size_t i = 0; i < lode_target_chips_count(db); i++) {
        const lode_target_chip_s *c = lode_target_chips_at(db, i);
        uint64_t fs = 0, fe = 0;
        size_t banks = lode_target_chip_main_flash(c, &fs, &fe);
        char nb[40] = "";
        if (banks > 1)
            snprintf(nb, sizeof nb, " (%zu banks)", banks);
        printf("%-20s %-22s flash %5llu KiB%s  %s\n", c->name, c->family->name,
               (unsigned long long)(fe - fs) / 1024, nb, c->nalgos ? c->algos[0]->name : "(no flash algorithm)");
    }
    lode_target_db_free(db);
    /* the AVR parts (lode's own chip data), loaded through their bootloaders */
    lode_board_db_s *avr = NULL;
    if ((rc = lode_board_db_new(&cli->log, &avr)) != LODE_OK)
        return LODE_EXIT_SOFTWARE;
    for (size_t i = 0; i < lode_avr_part_count(avr); i++) {
        const lode_avr_part_s *p = lode_avr_part_at(avr, i);
        printf("%-20s %-22s flash %5u KiB  page %u, EEPROM %u, boot %u..%u, signature %02X %02X %02X\n", p->name,
               "AVR", p->flash_size / 1024, p->page_size, p->eeprom_size, p->boot_sizes[0], p->boot_sizes[3],
               p->signature[0], p->signature[1], p->signature[2]);
    }
    lode_board_db_free(avr);
    return LODE_EXIT_OK;
}
