/* SPDX-License-Identifier: MIT */
/* Probes and the probe registry.
 *
 * A probe is whatever lode talks to in front of a target: a debug probe (CMSIS-DAP, ST-Link),
 * a GDB server, later a bootloader. It has optional *faces*; the connection (session.h) uses
 * the ones it has:
 *   dap       ADIv5 DP/AP transfers over SWD (lode_dap_ops_s): the connection then builds
 *             ADI -> Cortex-M -> core itself; `regio` adds the probe's own core-register
 *             commands (ST-Link READREG/WRITEREG)
 *   core      a whole core (lode_core_ops_s): a GDB server
 *   swo       SWO capture
 *   loader    its own way of writing memories (a GDB server's vFlash, a bootloader)
 *   reset_pin drive nRESET
 *   describe  what `lode info` and `lode list` print about it
 *   clock     a probe with a clock of its own (the simulated probes' virtual time)
 *   console   the target's serial line with the application running (a bootloader's port after
 *             it started the application): `lode run` over the lode serial link (serlink.h)
 *
 * The registry is a table with one row per driver: its name (the spec's prefix), the spec
 * syntax, list() and open(args). Built-in rows come from a const table; others (the
 * simulator's probes, lode_sim_registry_add) are added to a registry object at run time.
 * A spec is "NAME" or "NAME:ARGS" (NAME case-insensitive); ARGS are the driver's
 * (e.g. "cmsis-dap:c251:f00a:SERIAL", "stlink-tcp:localhost:7184", "gdb:localhost:3333"). */
#ifndef LODE_PROBE_H
#define LODE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/cortexm.h"
#include "lode/dap.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lode_loader_s;
struct lode_stream_s;

/* The describe face: empty strings / zeros for what a probe does not have. */
typedef struct lode_probe_info_s {
    char description[320];       /* one line, e.g. "CMSIS-DAP v2 c251:f00a SERIAL (product)" */
    char vendor[64];
    char product[128];
    char serial[64];
    char firmware[64];           /* firmware version */
    char protocol[64];           /* protocol version (CMSIS-DAP "2.1.0") */
    char detail[160];            /* one line of the rest, e.g. "CMSIS-DAP 2.1.0, packet 512 bytes x 4" */
    unsigned packet_size, packet_count; /* commands in flight (CMSIS-DAP) */
    bool has_voltage;
    double voltage;              /* target voltage the probe measures */
} lode_probe_info_s;

/* File-I/O requests of a GDB server that does semihosting itself (see gdbclient.h). */
typedef int (*lode_probe_fileio_fn)(void *user, const char *req, char *reply, size_t cap);

/* A driver's faces: NULL for a face it does not have. ctx is the driver's. */
typedef struct lode_probe_ops_s {
    /* dap: connect SWD at swd_hz (0: 4 MHz) and give the transfer operations (valid until
     * close) */
    int (*dap)(void *ctx, uint32_t swd_hz, lode_dap_ops_s *ops);
    /* with dap, optional: the probe's core-register commands (for the core on AP 0) */
    int (*regio)(void *ctx, lode_cortexm_regio_s *rio);
    /* core: the whole core (valid until close) */
    const lode_core_ops_s *(*core)(void *ctx);
    /* swo: start at baud (0: the probe's maximum; *actual may be NULL), read what arrived,
     * stop */
    int (*swo_start)(void *ctx, uint32_t baud, uint32_t *actual);
    int (*swo_read)(void *ctx, uint8_t *buf, size_t cap, size_t *got);
    int (*swo_stop)(void *ctx);
    /* loader: the probe's own memory writer (valid until close) */
    int (*loader)(void *ctx, struct lode_loader_s **out);
    /* reset_pin: assert (true) or release nRESET */
    int (*reset_pin)(void *ctx, bool asserted);
    /* chip: the chip the probe itself identified (a bootloader's signature: "ATmega328P"), NULL
     * when it cannot say */
    const char *(*chip)(void *ctx);
    /* describe: fill *info (the driver need not clear it) */
    void (*describe)(void *ctx, lode_probe_info_s *info);
    /* clock: NULL = the host's monotonic clock */
    uint64_t (*now_us)(void *ctx);
    void (*delay_us)(void *ctx, uint32_t us);
    /* console: start the application (a bootloader leaves) and give the serial line it talks
     * on (borrowed until close) */
    int (*console)(void *ctx, struct lode_stream_s **out);
    /* File-I/O handler for a server doing semihosting itself (core face) */
    void (*set_fileio)(void *ctx, lode_probe_fileio_fn fn, void *user);
    void (*close)(void *ctx);
    /* reading the core while it runs interrupts it: poll no more often than this (0: as often
     * as wanted) */
    uint32_t poll_us;
} lode_probe_ops_s;

typedef struct lode_probe_s lode_probe_s;

/* What the opener adds to a driver's probe: a description of its own, a clock (a simulated
 * probe's virtual time) and something to run after the driver closed. All optional. */
typedef struct lode_probe_extra_s {
    const char *description;     /* replaces the driver's (copied) */
    uint64_t (*now_us)(void *user);
    void (*delay_us)(void *user, uint32_t us);
    void *time_user;
    void (*on_close)(void *user);
    void *close_user;
} lode_probe_extra_s;

/* For drivers: a probe over ops/ctx (ops must outlive it). ops->close(ctx), then
 * extra->on_close, run at lode_probe_close, and also when this fails. */
int lode_probe_new(const lode_probe_ops_s *ops, void *ctx, const char *driver,
                   const lode_probe_extra_s *extra, lode_probe_s **out);
void lode_probe_close(lode_probe_s *p); /* accepts NULL */

/* The registry row's name ("cmsis-dap", "sim", ...). */
const char *lode_probe_driver(const lode_probe_s *p);
/* The faces. Functions returning int give LODE_E_UNSUPPORTED when the probe lacks the face;
 * lode_probe_core gives NULL then. */
bool lode_probe_has_dap(const lode_probe_s *p);
int lode_probe_dap(lode_probe_s *p, uint32_t swd_hz, lode_dap_ops_s *ops);
int lode_probe_regio(lode_probe_s *p, lode_cortexm_regio_s *rio);
const lode_core_ops_s *lode_probe_core(lode_probe_s *p);
int lode_probe_loader(lode_probe_s *p, struct lode_loader_s **out);
void lode_probe_describe(const lode_probe_s *p, lode_probe_info_s *info);
const char *lode_probe_chip(const lode_probe_s *p); /* NULL without the face or when unknown */
int lode_probe_swo_start(lode_probe_s *p, uint32_t baud, uint32_t *actual);
int lode_probe_swo_read(lode_probe_s *p, uint8_t *buf, size_t cap, size_t *got);
int lode_probe_swo_stop(lode_probe_s *p);
int lode_probe_reset_pin(lode_probe_s *p, bool asserted);
int lode_probe_set_fileio(lode_probe_s *p, lode_probe_fileio_fn fn, void *user);
/* The console face: the application started, its serial line in *out (borrowed until the
 * probe closes). lode_probe_has_console: whether the probe has the face. */
bool lode_probe_has_console(const lode_probe_s *p);
int lode_probe_console(lode_probe_s *p, struct lode_stream_s **out);
uint32_t lode_probe_poll_us(const lode_probe_s *p);
/* The probe's clock (false: it has none; use the host's). */
bool lode_probe_has_clock(const lode_probe_s *p);
uint64_t lode_probe_now_us(lode_probe_s *p);
void lode_probe_delay_us(lode_probe_s *p, uint32_t us);

/* ---- the registry ---------------------------------------------------------------------------- */

typedef struct lode_probe_registry_s lode_probe_registry_s;
typedef struct lode_probe_driver_s lode_probe_driver_s;

/* What open() gets besides the spec's ARGS. */
typedef struct lode_probe_open_opts_s {
    const char *chip;            /* the chip named by the user, if any (a simulated board's) */
    uint32_t swd_hz;             /* 0: the driver's default */
    const lode_log_s *log;       /* borrowed until the probe is closed (may be NULL) */
    bool force;                  /* go on when the target is not the chip named (a bootloader's
                                    signature check) */
    bool no_parity;              /* serial probes whose protocol has a parity bit (stm32-uart: 8E1):
                                    use none (a pseudo-terminal cannot carry parity) */
} lode_probe_open_opts_s;

/* One probe a driver found attached (lode list). */
typedef struct lode_probe_found_s {
    char spec[160];              /* the spec that opens exactly this one */
    const char *kind;            /* e.g. "cmsis-dap-v2", "stlink", "simulated" */
    char product[128];
    char manufacturer[128];
    char serial[64];
    char text[320];              /* what `lode list` prints after the spec */
    const char *const *chips;    /* NULL-terminated, a simulated board's chips, or NULL */
} lode_probe_found_s;

typedef void (*lode_probe_found_fn)(void *user, const lode_probe_found_s *found);

struct lode_probe_driver_s {
    const char *name;            /* spec prefix */
    const char *syntax;          /* e.g. "cmsis-dap[:VID:PID[:SERIAL]]" */
    const char *help;            /* one line: what it is */
    bool needs_args;             /* "NAME" alone is not a spec */
    /* report attached probes (none is not an error); NULL: nothing to list */
    int (*list)(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user);
    /* open by ARGS ("" when the spec is NAME alone) */
    int (*open)(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                lode_probe_s **out);
    void *user;                  /* the row's own data (rows added at run time) */
};

/* A registry with the built-in rows (CMSIS-DAP, ST-Link USB, ST-Link TCP, GDB server, BMP,
 * DFU/DfuSe, arduino). */
int lode_probe_registry_new(lode_probe_registry_s **out);
void lode_probe_registry_free(lode_probe_registry_s *reg); /* accepts NULL */
/* Add a row (copied; d->user must outlive the registry). LODE_E_INVALID_ARG for a name that is
 * already there. */
int lode_probe_registry_add(lode_probe_registry_s *reg, const lode_probe_driver_s *d);
size_t lode_probe_registry_count(const lode_probe_registry_s *reg);
const lode_probe_driver_s *lode_probe_registry_at(const lode_probe_registry_s *reg, size_t i);

/* Split a spec into its row and ARGS (pointing into spec). LODE_E_NO_DEVICE: no row has that
 * name; LODE_E_INVALID_ARG: the row needs ARGS. Both logged with the list of syntaxes. */
int lode_probe_parse(const lode_probe_registry_s *reg, const char *spec, const lode_log_s *log,
                     const lode_probe_driver_s **driver, const char **args);
/* Parse and open. */
int lode_probe_open(const lode_probe_registry_s *reg, const char *spec, const lode_probe_open_opts_s *o,
                    lode_probe_s **out);
/* Every row's list(), in row order. */
int lode_probe_list(const lode_probe_registry_s *reg, const lode_log_s *log, lode_probe_found_fn fn,
                    void *user);

/* For USB drivers: choose one of n probes already filtered by `spec`. LODE_E_NO_DEVICE when none,
 * LODE_E_INVALID_ARG when several; both logged, naming `what` ("ST-Link") and how to pick one
 * (--probe `prefix`:VID:PID:SERIAL). */
struct lode_usb_probe_s;
int lode_probe_choose(const struct lode_usb_probe_s *probes, size_t n, const char *what, const char *prefix,
                      const char *spec, const lode_log_s *log, size_t *index);

#ifdef __cplusplus
}
#endif
#endif
