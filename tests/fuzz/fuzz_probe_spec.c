/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for probe specs (--probe, LODE_PROBE, lode.yaml's probe:): the registry's
 * NAME[:ARGS] split and the HOST:PORT[:REST] parser the network rows share. Nothing is opened.
 * Invariants: an accepted spec names a row (case-insensitive) and ARGS is the rest of the
 * spec; a refused one logs exactly one error and leaves the outputs alone; HOST:PORT yields a
 * non-empty host, a port 1..65535 and REST inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/probe.h"
#include "probe/probe_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct count_s {
    int nerr;
} count_s;

static void count_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    if (!msg || !msg[0])
        abort();
    if (level == LODE_LOG_ERROR)
        ((count_s *)user)->nerr++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = 0;
    lode_probe_registry_s *reg = NULL;
    if (lode_probe_registry_new(&reg) != LODE_OK)
        abort();
    count_s c = {0};
    lode_log_s log = {.fn = count_fn, .user = &c, .max_level = LODE_LOG_DEBUG};
    const lode_probe_driver_s *d = (const lode_probe_driver_s *)&c, *d0 = d;
    const char *args = (const char *)&c;
    int rc = lode_probe_parse(reg, spec, &log, &d, &args);
    if (rc != LODE_OK) {
        if (rc != LODE_E_INVALID_ARG || c.nerr != 1 || d != d0 || args != (const char *)&c)
            abort();
    } else {
        size_t n = strlen(d->name);
        if (c.nerr || strncasecmp(spec, d->name, n) != 0 || (spec[n] && spec[n] != ':') ||
            args != (spec[n] ? spec + n + 1 : spec + n) || (d->needs_args && !*args))
            abort();
    }
    char host[64];
    uint16_t port = 0;
    const char *rest = NULL;
    if (lodei_probe_host_port(spec, host, sizeof host, &port, &rest)) {
        if (!host[0] || strlen(host) >= sizeof host || !port || (rest && (rest < spec || rest > spec + size)))
            abort();
    }
    lode_probe_registry_free(reg);
    free(spec);
    return 0;
}
