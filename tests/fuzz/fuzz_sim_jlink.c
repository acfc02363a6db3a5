/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the simulated J-Link's command processor (sim/src/sim_jlink.c) and
 * the bit-level SWD wire behind it (sim/src/swdwire.c), on a simulated STM32F103: the input is
 * what a host writes on the bulk OUT pipe. Its first byte sets how the rest is cut into OUT
 * transfers (1..256 bytes each); the replies are drained after each. The board is made once
 * (a power-on reset per input), the probe per input. Invariants (abort = crash): no memory
 * error, replies never longer than the reading buffer, a log line never empty. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lode/error.h"
#include "lode/log.h"
#include "lode/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lode_sim_s *sim;

static void flog_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user, (void)level, (void)cat;
    if (!msg || !msg[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lode_log_s log = {flog_fn, NULL, LODE_LOG_DEBUG};
    static uint8_t in[4096];
    if (!sim) {
        lode_sim_config_s sc = {.chip = "STM32F103C8", .log = log};
        if (lode_sim_new(&sc, &sim) != LODE_OK)
            abort();
    }
    if (!size)
        return 0;
    lode_sim_power_on_reset(sim);
    lode_sim_jlink_config_s jc = {.log = log, .wire = {.dormant = (data[0] & 1) != 0, .multidrop = (data[0] & 2) != 0}};
    lode_sim_jlink_s *p = NULL;
    if (lode_sim_jlink_new(sim, &jc, &p) != LODE_OK)
        abort();
    size_t chunk = (size_t)data[0] + 1;
    for (size_t i = 1; i < size; i += chunk) {
        size_t n = size - i < chunk ? size - i : chunk;
        if (lode_sim_jlink_usb_write(p, data + i, n) != LODE_OK)
            abort();
        size_t got = 0;
        while (lode_sim_jlink_usb_read(p, in, sizeof in, &got) == LODE_OK)
            if (got > sizeof in)
                abort();
    }
    lode_sim_jlink_free(p);
    return 0;
}
