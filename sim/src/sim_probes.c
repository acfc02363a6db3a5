/* SPDX-License-Identifier: MIT */
/* The simulated probes as rows of lode's probe registry: "sim" (the board behind a simulated
 * CMSIS-DAP probe), "sim-stlink[:V2Jnn|:V3Jn]" (behind a simulated ST-Link) and
 * "sim-jlink[:ARGS]" (behind a simulated J-Link V11, through lode's J-Link driver and its
 * software SWD engine; ARGS as for "jlink"). The board is the caller's (env->board); the
 * probe, in front of it, is closed with the lode probe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/jlink.h"
#include "lode/probe.h"
#include "lode/sim.h"
#include "lode/stlink.h"
#include "simi.h"

static uint64_t sim_now_us(void *user) { return lode_sim_now(user) / 1000000u; }
static void sim_delay_us(void *user, uint32_t us) { lode_sim_advance(user, (uint64_t)us * 1000000u); }

static void free_dap(void *user) { lode_sim_dap_free(user); }
static void free_stlink(void *user) { lode_sim_stlink_free(user); }

/* the simulated J-Link and the in-process transport lode's driver reads it through */
typedef struct sim_jlink_hold_s {
    lode_sim_jlink_s *jl;
    lode_transport_s *tr;
} sim_jlink_hold_s;

static void free_jlink(void *user)
{
    sim_jlink_hold_s *h = user;
    lode_transport_close(h->tr);
    lode_sim_jlink_free(h->jl);
    free(h);
}

bool lode_sim_stlink_parse_version(const char *s, uint8_t *hw, uint8_t *jtag)
{
    unsigned h = 0, j = 0;
    char tail = 0;
    if (!s || sscanf(s, "%*[Vv]%u%*[Jj]%u%c", &h, &j, &tail) != 2 || (h != 2 && h != 3) || j < 1 || j > 63)
        return false;
    *hw = (uint8_t)h;
    *jtag = (uint8_t)j;
    return true;
}

static int board(const lode_probe_driver_s *d, const lode_probe_open_opts_s *o, lode_sim_s **sim)
{
    const lode_sim_probe_env_s *env = d->user;
    int rc = env->board(env->user, o->chip, o->swd_hz, sim);
    return rc != LODE_OK ? rc : *sim ? LODE_OK : LODE_E_NO_DEVICE;
}

static int dap_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    const lode_sim_probe_env_s *env = d->user;
    if (*args) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "unknown probe 'sim:%s': use --probe sim", args);
        return LODE_E_INVALID_ARG;
    }
    lode_sim_s *sim = NULL;
    lode_sim_dap_s *sd = NULL;
    lode_transport_s *tr = NULL;
    int version = env->dap_version ? env->dap_version : 2;
    lode_sim_dap_config_s dc = {.version = version, .packet_count = (uint8_t)(env->packet_count ? env->packet_count : 4),
                                .log = env->log};
    int rc = board(d, o, &sim);
    if (rc == LODE_OK)
        rc = lode_sim_dap_new(sim, &dc, &sd);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(sd, &tr);
    if (rc != LODE_OK) {
        lode_sim_dap_free(sd);
        return rc;
    }
    char desc[320];
    snprintf(desc, sizeof desc, "sim (simulated CMSIS-DAP v%d, %s board)", version, lode_sim_chip_name(sim));
    lode_probe_extra_s x = {.description = desc, .now_us = sim_now_us, .delay_us = sim_delay_us,
                            .time_user = sim, .on_close = free_dap, .close_user = sd};
    return lode_probe_cmsis_dap_new(tr, true, &x, o->log, out);
}

static int stlink_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                       lode_probe_s **out)
{
    const lode_sim_probe_env_s *env = d->user;
    lode_sim_stlink_config_s stc = {.log = env->log};
    if (*args && !lode_sim_stlink_parse_version(args, &stc.hw_version, &stc.jtag_version)) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe 'sim-stlink:%s': use sim-stlink[:V2Jnn|:V3Jn] (e.g. sim-stlink:V3J7, "
                 "sim-stlink:V2J21 for firmware without DAP register access)", args);
        return LODE_E_INVALID_ARG;
    }
    lode_sim_s *sim = NULL;
    lode_sim_stlink_s *st = NULL;
    int rc = board(d, o, &sim);
    if (rc == LODE_OK)
        rc = lode_sim_stlink_new(sim, &stc, &st);
    if (rc != LODE_OK)
        return rc;
    lode_stlink_io_s io;
    lode_sim_stlink_io(st, &io);
    char desc[320];
    snprintf(desc, sizeof desc, "sim-stlink (simulated %s, %s board)",
             stc.hw_version == 3 ? "STLINK-V3" : "ST-Link/V2", lode_sim_chip_name(sim));
    lode_probe_extra_s x = {.description = desc, .now_us = sim_now_us, .delay_us = sim_delay_us,
                            .time_user = sim, .on_close = free_stlink, .close_user = st};
    return lode_probe_stlink_new(&io, true, &x, o->log, out);
}

static int jlink_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                      lode_probe_s **out)
{
    const lode_sim_probe_env_s *env = d->user;
    lode_jlink_spec_s spec;
    if (lode_jlink_parse_spec(args, &spec) != LODE_OK) {
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "bad probe 'sim-jlink:%s': use sim-jlink[:SERIAL][:power][:targetsel=HEX][:vcd=PATH]", args);
        return LODE_E_INVALID_ARG;
    }
    lode_sim_s *sim = NULL;
    int rc = board(d, o, &sim);
    if (rc != LODE_OK)
        return rc;
    sim_jlink_hold_s *h = calloc(1, sizeof *h);
    if (!h)
        return LODE_E_NOMEM;
    /* with targetsel the simulated board is a multidrop target of that TARGETID/TINSTANCE */
    lode_sim_jlink_config_s jc = {.serial = spec.serial[0] ? spec.serial : NULL, .log = env->log,
                                  .wire = {.multidrop = spec.targetsel,
                                           .targetid = spec.targetsel_value & 0x0FFFFFFFu,
                                           .instance = (uint8_t)(spec.targetsel_value >> 28)}};
    rc = lode_sim_jlink_new(sim, &jc, &h->jl);
    if (rc == LODE_OK)
        rc = lode_sim_jlink_transport(h->jl, &h->tr);
    lode_jlink_io_s io;
    if (rc == LODE_OK)
        rc = lode_jlink_io_usb(h->tr, &io);
    if (rc != LODE_OK) {
        free_jlink(h);
        return rc;
    }
    char desc[320];
    snprintf(desc, sizeof desc, "sim-jlink (simulated J-Link V11, %s board)", lode_sim_chip_name(sim));
    lode_probe_extra_s x = {.description = desc, .now_us = sim_now_us, .delay_us = sim_delay_us,
                            .time_user = sim, .on_close = free_jlink, .close_user = h};
    return lode_probe_jlink_new(&io, true, &spec, &x, o->log, out);
}

static int dap_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d, (void)log;
    lode_probe_found_s f;
    memset(&f, 0, sizeof f);
    snprintf(f.spec, sizeof f.spec, "sim");
    f.kind = "simulated";
    f.chips = lode_sim_chips();
    size_t n = (size_t)snprintf(f.text, sizeof f.text, "simulated board:");
    for (const char *const *c = f.chips; *c && n < sizeof f.text; c++)
        n += (size_t)snprintf(f.text + n, sizeof f.text - n, " %s", *c);
    if (n < sizeof f.text)
        snprintf(f.text + n, sizeof f.text - n, " (--chip)");
    fn(user, &f);
    return LODE_OK;
}

static int stlink_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d, (void)log;
    lode_probe_found_s f;
    memset(&f, 0, sizeof f);
    snprintf(f.spec, sizeof f.spec, "sim-stlink");
    f.kind = "simulated-stlink";
    snprintf(f.text, sizeof f.text, "the simulated board behind a simulated ST-Link/V2");
    fn(user, &f);
    return LODE_OK;
}

static int jlink_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d, (void)log;
    lode_probe_found_s f;
    memset(&f, 0, sizeof f);
    snprintf(f.spec, sizeof f.spec, "sim-jlink");
    f.kind = "simulated-jlink";
    snprintf(f.text, sizeof f.text, "the simulated board behind a simulated SEGGER J-Link V11");
    fn(user, &f);
    return LODE_OK;
}

int lode_sim_registry_add(lode_probe_registry_s *reg, const lode_sim_probe_env_s *env)
{
    if (!reg || !env || !env->board)
        return LODE_E_INVALID_ARG;
    lode_probe_driver_s dap = {.name = "sim",
                               .syntax = "sim",
                               .help = "the simulated board behind a simulated CMSIS-DAP probe",
                               .list = dap_list,
                               .open = dap_open,
                               .user = (void *)env};
    lode_probe_driver_s st = {.name = "sim-stlink",
                              .syntax = "sim-stlink[:V2Jnn|:V3Jn]",
                              .help = "the simulated board behind a simulated ST-Link/V2 or STLINK-V3",
                              .list = stlink_list,
                              .open = stlink_open,
                              .user = (void *)env};
    lode_probe_driver_s jl = {.name = "sim-jlink",
                              .syntax = "sim-jlink[:SERIAL][:power][:targetsel=HEX][:vcd=PATH]",
                              .help = "the simulated board behind a simulated SEGGER J-Link (lode's J-Link driver)",
                              .list = jlink_list,
                              .open = jlink_open,
                              .user = (void *)env};
    int rc = lode_probe_registry_add(reg, &dap);
    if (rc == LODE_OK)
        rc = lode_probe_registry_add(reg, &st);
    if (rc == LODE_OK)
        rc = simi_samba_row_add(reg, env);
    return rc == LODE_OK ? lode_probe_registry_add(reg, &jl) : rc;
}
