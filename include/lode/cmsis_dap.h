/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP probes (ARM CMSIS-DAP v1 over HID, v2 over USB bulk, or a simulated probe) driven
 * over a lode_transport_s, exposed as the DAP transfer interface of lode/dap.h.
 *
 * Typical use:
 *     lode_cmsis_dap_open(t, log, &dap);          // DAP_Info: packet size/count, caps
 *     lode_cmsis_dap_connect_swd(dap, 4000000);    // Connect SWD, clock, transfer config
 *     lode_cmsis_dap_dap_ops(dap, &ops);           // hand ops to the ADI layer
 *     ...
 *     lode_cmsis_dap_close(dap);                   // then close the transport
 *
 * ops.transfer packs transfers into as few DAP_Transfer commands as fit the probe's packet
 * size and keeps up to packet-count commands in flight (replies come back in request order).
 * WAIT: the probe retries each transfer `wait_retry` times itself (DAP_TransferConfigure);
 * when a batch still ends in WAIT the driver resends the rest of the batch up to
 * `host_retries` times, but only when nothing after the stalled transfer has executed, and
 * never repeats a transfer that was ACKed (a posted AP read's value or the last write's
 * check are fetched with a DP RDBUFF read). After that: LODE_E_WAIT. Commands already in
 * flight behind a failed one still execute on the probe; *done counts only the leading
 * transfers that completed.
 *
 * A handle is not thread-safe. It borrows the transport and the log (both must outlive it). */
#ifndef LODE_CMSIS_DAP_H
#define LODE_CMSIS_DAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/dap.h"
#include "lode/log.h"
#include "lode/probe.h"
#include "lode/transport.h"
#include "lode/usb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* List CMSIS-DAP probes on USB: v2 (vendor interface named "CMSIS-DAP", bulk) and v1 (HID,
 * product string with "CMSIS-DAP"); a probe with both is listed once, as v2. *out is an array
 * of *count entries (free with free()); no USB access is not an error: zero probes. */
#define LODE_CMSIS_DAP_USB_V1 1 /* lode_usb_probe_s.tag of a v1 (HID) probe */
#define LODE_CMSIS_DAP_USB_V2 2 /* ... of a v2 (bulk) probe */
int lode_usb_list_cmsis_dap(const lode_usb_filter_s *filter, const lode_log_s *log,
                            lode_usb_probe_s **out, size_t *count);

/* Does a USB string identify a CMSIS-DAP interface ("CMSIS-DAP" anywhere in it)? */
bool lode_usb_is_cmsis_dap_string(const char *s);

typedef struct lode_cmsis_dap_s lode_cmsis_dap_s;

/* DAP_Info capability bits (Info id 0xF0, first byte; second byte shifted up by 8) */
#define LODE_CMSIS_DAP_CAP_SWD 0x0001u
#define LODE_CMSIS_DAP_CAP_JTAG 0x0002u
#define LODE_CMSIS_DAP_CAP_SWO_UART 0x0004u
#define LODE_CMSIS_DAP_CAP_SWO_MANCHESTER 0x0008u
#define LODE_CMSIS_DAP_CAP_ATOMIC 0x0010u
#define LODE_CMSIS_DAP_CAP_TIMER 0x0020u
#define LODE_CMSIS_DAP_CAP_SWO_STREAM 0x0040u
#define LODE_CMSIS_DAP_CAP_UART 0x0080u
#define LODE_CMSIS_DAP_CAP_USB_COM 0x0100u

#define LODE_CMSIS_DAP_STR 64

typedef struct lode_cmsis_dap_info_s {
    char vendor[LODE_CMSIS_DAP_STR];           /* Info 0x01 ("" when the probe has none) */
    char product[LODE_CMSIS_DAP_STR];          /* 0x02 */
    char serial[LODE_CMSIS_DAP_STR];           /* 0x03 */
    char protocol_version[LODE_CMSIS_DAP_STR]; /* 0x04, e.g. "2.1.0" */
    char fw_version[LODE_CMSIS_DAP_STR];       /* 0x09 product firmware version (v2.1 probes) */
    uint16_t caps;                             /* LODE_CMSIS_DAP_CAP_* */
    uint16_t packet_size;                      /* as reported by the probe */
    uint8_t packet_count;                      /* as reported by the probe */
    uint16_t used_packet_size;                 /* what the driver uses (bounded by the transport) */
} lode_cmsis_dap_info_s;

/* Counters (for tests and benchmarks). */
typedef struct lode_cmsis_dap_stats_s {
    uint64_t commands;    /* commands sent */
    uint64_t transfers;   /* register transfers carried by Transfer/TransferBlock */
    uint64_t max_inflight;/* most commands in flight at once */
    uint64_t host_retries;/* batches resent after WAIT */
} lode_cmsis_dap_stats_s;

/* Query DAP_Info (packet size and count, capabilities, strings). A probe without SWD is
 * refused with LODE_E_UNSUPPORTED. `t` and `log` are borrowed (log may be NULL). */
int lode_cmsis_dap_open(lode_transport_s *t, const lode_log_s *log, lode_cmsis_dap_s **out);
/* Sends DAP_Disconnect when connected; does not close the transport. Accepts NULL. */
void lode_cmsis_dap_close(lode_cmsis_dap_s *dap);

int lode_cmsis_dap_info(const lode_cmsis_dap_s *dap, lode_cmsis_dap_info_s *out);
int lode_cmsis_dap_stats(const lode_cmsis_dap_s *dap, lode_cmsis_dap_stats_s *out);

/* WAIT handling: `probe_wait_retry` goes to DAP_TransferConfigure (default 80);
 * `host_retries` batch resends by the driver (default 3). Takes effect at the next connect
 * (or at once when connected). */
int lode_cmsis_dap_set_retries(lode_cmsis_dap_s *dap, uint16_t probe_wait_retry,
                               unsigned host_retries);

/* DAP_Connect (SWD), DAP_SWJ_Clock(hz), DAP_TransferConfigure, DAP_SWD_Configure (one
 * DAP_ExecuteCommands round trip when the probe supports atomic commands). Does not touch
 * the target: the line reset / JTAG-to-SWD sequence is ops.swj_sequence's job. */
int lode_cmsis_dap_connect_swd(lode_cmsis_dap_s *dap, uint32_t hz);
int lode_cmsis_dap_disconnect(lode_cmsis_dap_s *dap);

/* Fill `ops` (ctx = dap) with transfer, transfer_block, swj_sequence, write_abort and
 * reset_pin. Valid until lode_cmsis_dap_close. */
int lode_cmsis_dap_dap_ops(lode_cmsis_dap_s *dap, lode_dap_ops_s *ops);

/* SWO capture in UART (NRZ) mode through DAP_SWO_Data: transport 1, mode 1, the baud rate
 * (*actual gets what the probe set), start. LODE_E_UNSUPPORTED without the capability. read
 * returns what the probe has captured (up to one packet), stop ends the capture. */
int lode_cmsis_dap_swo_start(lode_cmsis_dap_s *dap, uint32_t baud, uint32_t *actual);
int lode_cmsis_dap_swo_read(lode_cmsis_dap_s *dap, uint8_t *buf, size_t cap, size_t *got);
int lode_cmsis_dap_swo_stop(lode_cmsis_dap_s *dap);

/* ---- as a probe (probe.h) ------------------------------------------------------------------ */
/* A probe over a transport (DAP_Info is queried now): faces dap, swo, reset_pin, describe.
 * With own_transport the probe closes `tr` (also when this fails). */
int lode_probe_cmsis_dap_new(lode_transport_s *tr, bool own_transport, const lode_probe_extra_s *extra,
                             const lode_log_s *log, lode_probe_s **out);
/* The driver handle of a CMSIS-DAP probe (statistics), NULL for any other probe. */
lode_cmsis_dap_s *lode_probe_cmsis_dap_handle(lode_probe_s *p);

#ifdef __cplusplus
}
#endif
#endif
