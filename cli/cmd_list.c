/* SPDX-License-Identifier: MIT */
/* `lode list` (probes) and `lode chips` (the chip database). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "lode/target.h"
#include "lode/cmsis_dap.h"
#include "lode/stlink.h"
#include "lode/usb.h"
#include "out.h"

int cli_cmd_list(cli_ctx_s *cli, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: lode list [--json]\n\nList the probes lode can use: the simulated board "
                 "(--probe sim, sim-stlink) and USB\nCMSIS-DAP probes (v2 bulk and v1 HID) and "
                 "ST-Links (V2, V2-1, V3).");
            return LODE_EXIT_OK;
        } else {
            fprintf(stderr, "lode list: unknown argument '%s'\n", argv[i]);
            return LODE_EXIT_USAGE;
        }
    }
    lode_usb_probe_s *probes = NULL;
    size_t n = 0;
    lode_usb_list_cmsis_dap(NULL, &cli->log, &probes, &n);
    lode_usb_probe_s *stl = NULL;
    size_t nst = 0;
    lode_usb_list_stlink(NULL, &cli->log, &stl, &nst);
    if (json) {
        cli_json_s j = {.f = stdout};
        cli_json_begin_array(&j, NULL);
        cli_json_begin_object(&j, NULL);
        cli_json_string(&j, "probe", "sim");
        cli_json_string(&j, "kind", "simulated");
        cli_json_begin_array(&j, "chips");
        for (const char *const *c = lode_sim_chips(); *c; c++)
            cli_json_string(&j, NULL, *c);
        cli_json_end_array(&j);
        cli_json_end_object(&j);
        cli_json_begin_object(&j, NULL);
        cli_json_string(&j, "probe", "sim-stlink");
        cli_json_string(&j, "kind", "simulated-stlink");
        cli_json_end_object(&j);
        for (size_t i = 0; i < nst; i++) {
            char spec[128];
            snprintf(spec, sizeof spec, "stlink:%04x:%04x:%s", stl[i].vid, stl[i].pid, stl[i].serial);
            cli_json_begin_object(&j, NULL);
            cli_json_string(&j, "probe", spec);
            cli_json_string(&j, "kind", "stlink");
            cli_json_string(&j, "product", stl[i].product);
            cli_json_string(&j, "serial", stl[i].serial);
            cli_json_end_object(&j);
        }
        for (size_t i = 0; i < n; i++) {
            char spec[128];
            snprintf(spec, sizeof spec, "cmsis-dap:%04x:%04x:%s", probes[i].vid, probes[i].pid, probes[i].serial);
            cli_json_begin_object(&j, NULL);
            cli_json_string(&j, "probe", spec);
            cli_json_string(&j, "kind", probes[i].kind == LODE_USB_CMSIS_DAP_V2 ? "cmsis-dap-v2" : "cmsis-dap-v1");
            cli_json_string(&j, "product", probes[i].product);
            cli_json_string(&j, "manufacturer", probes[i].manufacturer);
            cli_json_string(&j, "serial", probes[i].serial);
            cli_json_end_object(&j);
        }
        cli_json_end_array(&j);
    } else {
        printf("sim                          simulated board:");
        for (const char *const *c = lode_sim_chips(); *c; c++)
            printf(" %s", *c);
        printf(" (--chip)\n");
        printf("sim-stlink                   the simulated board behind a simulated ST-Link/V2\n");
        for (size_t i = 0; i < nst; i++)
            printf("stlink:%04x:%04x:%-15s %s\n", stl[i].vid, stl[i].pid, stl[i].serial, stl[i].product);
        for (size_t i = 0; i < n; i++)
            printf("cmsis-dap:%04x:%04x:%-12s CMSIS-DAP v%d  %s %s\n", probes[i].vid, probes[i].pid,
                   probes[i].serial, probes[i].kind, probes[i].manufacturer, probes[i].product);
        if (!n && !nst)
            printf("(no USB CMSIS-DAP probe or ST-Link found)\n");
    }
    free(probes);
    free(stl);
    return LODE_EXIT_OK;
}

int cli_cmd_chips(cli_ctx_s *cli, int argc, char **argv)
{
    const char *desc = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--chip-description") && i + 1 < argc) {
            desc = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: lode chips [--chip-description FILE]\n\nList the chips lode knows "
                 "(built in, plus those of a probe-rs target file).");
            return LODE_EXIT_OK;
        } else {
            fprintf(stderr, "lode chips: unknown argument '%s'\n", argv[i]);
            return LODE_EXIT_USAGE;
        }
    }
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
        const lode_target_mem_s *nvm = lode_target_chip_boot_nvm(c);
        printf("%-20s %-22s flash %5llu KiB  %s\n", c->name, c->family->name,
               nvm ? (unsigned long long)(nvm->end - nvm->start) / 1024 : 0ull,
               c->nalgos ? c->algos[0]->name : "(no flash algorithm)");
    }
    lode_target_db_free(db);
    return LODE_EXIT_OK;
}
