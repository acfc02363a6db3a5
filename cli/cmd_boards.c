/* SPDX-License-Identifier: MIT */
/* `lode boards [--json]`: the board database (lode/board.h). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "lode/board.h"
#include "lode/error.h"
#include "out.h"

static void boards_usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fputs("usage: lode boards [--json]\n\nList the boards lode knows (lode's board data): chip, default probe or\n"
          "bootloader, baud, how it enters the bootloader, USB IDs, LED. --board NAME on a\n"
          "target command takes the chip, probe kind and baud from here.\n", f);
}

static void usb_ids(cli_json_s *j, const char *key, const lode_usb_id_s *ids, size_t n, char *text, size_t cap)
{
    if (j)
        cli_json_begin_array(j, key);
    for (size_t i = 0; i < n; i++) {
        char one[16];
        snprintf(one, sizeof one, "%04x:%04x", ids[i].vid, ids[i].pid);
        if (j)
            cli_json_string(j, NULL, one);
        else if (strlen(text) + strlen(one) + 2 < cap)
            snprintf(text + strlen(text), cap - strlen(text), "%s%s", text[0] ? "," : "", one);
    }
    if (j)
        cli_json_end_array(j);
}

static void strings(cli_json_s *j, const char *key, const char *const *v, size_t n)
{
    cli_json_begin_array(j, key);
    for (size_t i = 0; i < n; i++)
        cli_json_string(j, NULL, v[i]);
    cli_json_end_array(j);
}

int cli_cmd_boards(cli_ctx_s *cli, int argc, char **argv)
{
    bool json = false;
    const cli_opt_s opts[] = {{.name = "--json", .flag = &json, .set = true}, {0}};
    const cli_args_spec_s spec = {.cmd = "boards", .usage = boards_usage, .opts = opts};
    int npos, rest, ex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (ex >= 0)
        return ex;
    lode_board_db_s *db = NULL;
    int rc = lode_board_db_new(&cli->log, &db);
    if (rc != LODE_OK) {
        fprintf(stderr, "lode boards: lode's board data does not load (%s): rebuild lode\n", lode_strerror(rc));
        return LODE_EXIT_SOFTWARE;
    }
    cli_json_s j = {.f = stdout};
    if (json)
        cli_json_begin_array(&j, NULL);
    for (size_t i = 0; i < lode_board_count(db); i++) {
        const lode_board_s *b = lode_board_at(db, i);
        if (json) {
            cli_json_begin_object(&j, NULL);
            cli_json_string(&j, "name", b->name);
            strings(&j, "aliases", b->aliases, b->naliases);
            cli_json_string(&j, "description", b->description);
            cli_json_string(&j, "chip", b->chip);
            cli_json_string(&j, "probe", b->probe);
            strings(&j, "probes", b->probes, b->nprobes);
            if (b->bootloader)
                cli_json_string(&j, "bootloader", b->bootloader);
            if (b->baud)
                cli_json_uint(&j, "baud", b->baud);
            cli_json_string(&j, "reset", lode_board_reset_name(b->reset));
            usb_ids(&j, "usb", b->usb, b->nusb, NULL, 0);
            usb_ids(&j, "bootloader_usb", b->bootloader_usb, b->nbootloader_usb, NULL, 0);
            if (b->has_app_offset)
                cli_json_uint(&j, "app_offset", b->app_offset);
            strings(&j, "bootloader_options", b->bootloader_options, b->nbootloader_options);
            if (b->led)
                cli_json_string(&j, "led", b->led);
            cli_json_string(&j, "source", b->source);
            cli_json_end_object(&j);
            continue;
        }
        char boot[64] = "", usb[120] = "";
        if (b->bootloader && strcmp(b->bootloader, b->probe))
            snprintf(boot, sizeof boot, "%s ", b->bootloader);
        if (b->baud)
            snprintf(boot + strlen(boot), sizeof boot - strlen(boot), "%u baud, ", (unsigned)b->baud);
        snprintf(boot + strlen(boot), sizeof boot - strlen(boot), "%s", lode_board_reset_name(b->reset));
        usb_ids(NULL, NULL, b->usb, b->nusb, usb, sizeof usb);
        printf("%-20s %-14s %-8s %-32s %s%s%s\n", b->name, b->chip, b->probe, boot, b->description,
               usb[0] ? "; USB " : "", usb);
    }
    if (json)
        cli_json_end_array(&j);
    lode_board_db_free(db);
    return LODE_EXIT_OK;
}
