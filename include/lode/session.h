/* SPDX-License-Identifier: MIT */
/* The connection: a probe (opened by spec through the registry, or given), then whichever path
 * its faces allow -- dap -> ADIv5 -> Cortex-M -> core, or the probe's own core -- then the chip
 * (named, or identified through the vendor hooks), SWO, and the loaders. It holds no probe names.
 * Everything the `lode` command does to a target goes through a session. */
#ifndef LODE_SESSION_H
#define LODE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/adi.h"
#include "lode/core.h"
#include "lode/cortexm.h"
#include "lode/image.h"
#include "lode/loader.h"
#include "lode/log.h"
#include "lode/probe.h"
#include "lode/target.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_session_s lode_session_s;

typedef struct lode_session_config_s {
    /* the probe: `probe` (borrowed, open until lode_session_close; with close_probe the session
     * closes it, also when lode_session_open fails), or `spec` opened through `registry` (the
     * session closes it) */
    lode_probe_s *probe;
    bool close_probe;
    const lode_probe_registry_s *registry;
    const char *spec;
    const char *chip;                 /* NULL: identify (vendor hooks; needs a dap face) */
    const char *chip_description;     /* a probe-rs YAML file to add to the database (or NULL) */
    uint32_t swd_hz;                  /* 0: 4 MHz */
    bool attach_only;                 /* don't identify the chip (info about the probe only) */
    bool force;                       /* a probe that checks the chip goes on when it differs */
    bool no_parity;                   /* a serial probe's line without parity (--parity none) */
    lode_log_s log;
    /* The target's clock for timeouts and waiting. NULL: the probe's (a simulated probe's
     * virtual clock), else CLOCK_MONOTONIC and nanosleep. */
    uint64_t (*now_us)(void *user);
    void (*delay_us)(void *user, uint32_t us);
    void *time_user;
} lode_session_config_s;

/* Errors: LODE_E_INVALID_ARG for what the user got wrong (a bad spec, a probe that cannot
 * identify the chip without --chip), LODE_E_FORMAT / LODE_E_IO for a bad chip description,
 * LODE_E_NO_DEVICE for an unknown chip or no probe, others from the probe and target (no
 * answer). All logged. */
int lode_session_open(const lode_session_config_s *cfg, lode_session_s **out);
void lode_session_close(lode_session_s *s); /* accepts NULL; leaves the core running as it is */

lode_probe_s *lode_session_probe(lode_session_s *s);
lode_adi_s *lode_session_adi(lode_session_s *s);          /* NULL without a dap face */
lode_cortexm_s *lode_session_cortexm(lode_session_s *s);  /* NULL without a dap face */
lode_target_db_s *lode_session_db(lode_session_s *s);
/* The chip (NULL when attach_only, or a probe without a dap face and no --chip); `how` says
 * "detected" or "given". */
const lode_target_chip_s *lode_session_chip(const lode_session_s *s, const char **how);
/* The core as lode_core_ops_s (for the flash runner, run, debug); all NULL for a probe with only
 * a loader face (a bootloader). */
void lode_session_core_ops(lode_session_s *s, lode_core_ops_s *ops);

/* ---- loading: one call each, whatever the probe ---------------------------------------------- */

/* The loader the connection chose: the probe's own (its loader face: a GDB server's vFlash),
 * else the chip's flash algorithms over the core. Borrowed until lode_session_close. */
int lode_session_loader(lode_session_s *s, lode_loader_s **out);

/* Where an image lives by the chip's memory map: bytes in its flash (NVM), in its RAM, elsewhere;
 * lo/hi = the lowest address and the end of the highest (0, 0 when it is empty). */
typedef struct lode_image_where_s {
    size_t flash_bytes, ram_bytes, other_bytes;
    uint32_t lo;
    uint64_t hi;        /* up to 0x100000000: a segment may end at the top of the address space */
} lode_image_where_s;
void lode_session_where(const lode_session_s *s, const lode_image_s *img, lode_image_where_s *w);

/* `lode flash`: plan and write img with the chosen loader. An image with nothing for the flash
 * (empty, or linked for RAM) is LODE_E_FORMAT, logged naming where it lives. */
int lode_session_flash(lode_session_s *s, const lode_image_s *img, const lode_flash_opts_s *opts,
                       lode_flash_result_s *res);
/* `lode erase`: everything (all) or the sectors covering [addr, addr+len). */
int lode_session_erase(lode_session_s *s, bool all, uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                       lode_flash_result_s *res);
/* `lode verify`: compare the target with img (*checked = bytes); an empty image is
 * LODE_E_FORMAT (logged). */
int lode_session_verify(lode_session_s *s, const lode_image_s *img, size_t *checked);
/* `lode read`: target memory through the core, or through the loader of a probe that has only
 * a loader (a bootloader's upload). */
int lode_session_read(lode_session_s *s, uint32_t addr, void *buf, size_t len);
/* `lode run`'s load. An image with flash content is flashed (opts: skip_unchanged for run); one
 * entirely in the chip's RAM is written there and the core is made ready to start it without a
 * reset: halted, VTOR = the image's lowest address (its vector table), SP and PC from that
 * table (*in_ram = true: run without resetting). An empty image is LODE_E_FORMAT (logged). */
int lode_session_load_for_run(lode_session_s *s, const lode_image_s *img, const lode_flash_opts_s *opts,
                              lode_flash_result_s *res, bool *in_ram);

/* SWO capture through the probe's swo face: start sets the TPIU to asynchronous NRZ without the
 * formatter (ARMv7-M C1.10: SPPR = 2, FFCR.EnFCont = 0; the firmware or the caller sets ACPR for
 * its clock and enables the ITM) and starts the probe's capture at `baud` (0: the probe's
 * maximum, 2 MHz); *actual (may be NULL) gets the rate the probe set. LODE_E_UNSUPPORTED when
 * the probe cannot capture SWO. read returns what has been captured so far (0 bytes when
 * nothing), stop ends the capture. */
int lode_session_swo_start(lode_session_s *s, uint32_t baud, uint32_t *actual);
int lode_session_swo_read(lode_session_s *s, uint8_t *buf, size_t cap, size_t *got);
int lode_session_swo_stop(lode_session_s *s);

#ifdef __cplusplus
}
#endif
#endif
