/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the stlink-server protocol of the simulator (sim/src/stlink_server.c)
 * in front of a real simulated ST-Link/V2 on a simulated STM32F103: the input is what a
 * client sends on one connection. The board and the probe are made once and reused (the
 * board gets a power-on reset per input); each input gets a socket-less server and a new
 * connection (so its connect id is always the same), fed the whole input until nothing more
 * is consumed. Invariants (abort = crash): no memory error, consumption and reply lengths
 * within bounds, a protocol error only for bytes that are not a request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/log.h"
#include "lode/sim.h"
#include "lode/stlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (8u + 10240u) /* the server's largest reply */

static lode_sim_s *sim;
static lode_sim_stlink_s *probe;

static void flog_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    (void)level;
    (void)cat;
    if (!msg || !msg[0])
        abort();
}

static bool setup(void)
{
    static const lode_log_s log = {flog_fn, NULL, LODE_LOG_DEBUG};
    if (probe)
        return true;
    lode_sim_config_s sc = {.chip = "STM32F103C8", .log = log};
    if (lode_sim_new(&sc, &sim) != LODE_OK)
        return false;
    lode_sim_stlink_config_s pc = {.log = log};
    if (lode_sim_stlink_new(sim, &pc, &probe) != LODE_OK) {
        lode_sim_free(sim);
        sim = NULL;
        return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[OUT_CAP];
    static const lode_log_s log = {flog_fn, NULL, LODE_LOG_DEBUG};
    if (!setup())
        abort();
    lode_sim_power_on_reset(sim);
    lode_sim_stlink_server_s *srv = NULL;
    if (lode_sim_stlink_server_new(probe, "", 0, &log, &srv) != LODE_OK)
        abort();
    lode_sim_stlink_conn_s *c = lode_sim_stlink_conn_new(srv);
    if (!c)
        abort();
    size_t off = 0;
    while (off < size) {
        size_t used = 0, olen = 0;
        int rc = lode_sim_stlink_conn_feed(c, data + off, size - off, &used, out, sizeof out, &olen);
        if (used > size - off || olen > sizeof out)
            abort();
        if (rc != LODE_OK) {
            if (rc != LODE_E_PROTOCOL)
                abort();
            break; /* the server drops such a client */
        }
        if (!used)
            break; /* a partial request is left */
        off += used;
    }
    lode_sim_stlink_conn_free(c);
    lode_sim_stlink_server_free(srv);
    return 0;
}
