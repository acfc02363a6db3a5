/* SPDX-License-Identifier: MIT */
/* A debug session: a CMSIS-DAP probe on a transport or an ST-Link, the ADIv5 debug port, the Cortex-M core
 * and the chip (named or detected) from the target database. Everything the `lode` command
 * does to a target goes through a session. */
#ifndef LODE_SESSION_H
#define LODE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/adi.h"
#include "lode/cmsis_dap.h"
#include "lode/core.h"
#include "lode/cortexm.h"
#include "lode/log.h"
#include "lode/stlink.h"
#include "lode/target.h"
#include "lode/transport.h"
#include "lode/usb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_session_s lode_session_s;

typedef struct lode_session_config_s {
    lode_transport_s *transport;      /* a CMSIS-DAP probe: borrowed, open until lode_session_close */
    const lode_stlink_io_s *stlink;   /* or an ST-Link (when transport is NULL): the session owns
                                       * the I/O from here on (closed with the session) */
    const char *chip;                 /* NULL: detect (DBGMCU_IDCODE, FICR) */
    const char *chip_description;     /* a probe-rs YAML file to add to the database (or NULL) */
    uint32_t swd_hz;                  /* 0: 4 MHz */
    bool attach_only;                 /* don't identify the chip (info about the probe only) */
    lode_log_s log;
    /* The target's clock for timeouts and waiting. NULL: CLOCK_MONOTONIC and nanosleep.
     * The simulated probe passes its virtual clock. */
    uint64_t (*now_us)(void *user);
    void (*delay_us)(void *user, uint32_t us);
    void *time_user;
} lode_session_config_s;

int lode_session_open(const lode_session_config_s *cfg, lode_session_s **out);
void lode_session_close(lode_session_s *s); /* accepts NULL; leaves the core running as it is */

lode_cmsis_dap_s *lode_session_dap(lode_session_s *s);     /* NULL with an ST-Link */
lode_stlink_s *lode_session_stlink(lode_session_s *s);     /* NULL with a CMSIS-DAP probe */
lode_adi_s *lode_session_adi(lode_session_s *s);
lode_cortexm_s *lode_session_cortexm(lode_session_s *s);
lode_target_db_s *lode_session_db(lode_session_s *s);
/* The chip (NULL when attach_only); `how` says "detected" or "given". */
const lode_target_chip_s *lode_session_chip(const lode_session_s *s, const char **how);
/* The core as lode_core_ops_s (for the flash runner, run, debug). */
void lode_session_core_ops(lode_session_s *s, lode_core_ops_s *ops);

/* SWO capture through the probe (ST-Link trace endpoint, CMSIS-DAP DAP_SWO_* in UART mode):
 * start sets the TPIU to asynchronous NRZ without the formatter (ARMv7-M C1.10: SPPR = 2,
 * FFCR.EnFCont = 0; the firmware or the caller sets ACPR for its clock and enables the ITM)
 * and starts the probe's capture at `baud` (0: the probe's maximum, 2 MHz for both);
 * *actual gets the rate the probe set. LODE_E_UNSUPPORTED when the probe cannot capture SWO.
 * read returns what has been captured so far (0 bytes when nothing), stop ends the capture. */
int lode_session_swo_start(lode_session_s *s, uint32_t baud, uint32_t *actual);
int lode_session_swo_read(lode_session_s *s, uint8_t *buf, size_t cap, size_t *got);
int lode_session_swo_stop(lode_session_s *s);

/* Choose one probe of a list (already filtered): LODE_E_NO_DEVICE when empty, LODE_E_INVALID_ARG
 * when several match (the message lists them, to pick one with VID:PID:SERIAL). */
int lode_probe_choose(const lode_usb_probe_s *probes, size_t n, const char *spec,
                      const lode_log_s *log, size_t *index);

/* Open a USB CMSIS-DAP probe by spec "" / "VID:PID" / "VID:PID:SERIAL": exactly one must
 * match (none or several is an error naming them). */
int lode_probe_open_usb(const char *spec, const lode_log_s *log, lode_transport_s **out,
                        lode_usb_probe_s *which);
/* Open a USB ST-Link by spec "" / "VID:PID" / "VID:PID:SERIAL" (exactly one must match): an
 * I/O for lode_session_config_s.stlink, owning the USB device (io->close releases it). */
int lode_probe_open_stlink_usb(const char *spec, const lode_log_s *log, lode_stlink_io_s *io,
                               lode_usb_probe_s *which);

#ifdef __cplusplus
}
#endif
#endif
