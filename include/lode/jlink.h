/* SPDX-License-Identifier: MIT */
/* SEGGER J-Link probe driver, written from SEGGER RM08001 "J-Link USB Protocol" (facts in
 * ../shared/PROTOCOLS.md).
 *
 * A J-Link takes one-byte commands with little-endian arguments on a bulk OUT pipe and answers
 * on a bulk IN pipe without framing: the host knows how long each reply is. The driver never
 * knows how bytes travel: a lode_jlink_io_s writes a command and reads exactly a reply's
 * length (USB bulk endpoints, or an in-process simulated J-Link). What lode uses:
 *   VERSION (0x01), GET_CAPS (0xE8) / GET_CAPS_EX (0xED), GET_HW_VERSION (0xF0), free memory
 *   (0xD4), GET_STATE (0x07: VTref), GET_SPEEDS (0xC0) / SET_SPEED (0x05, kHz), SELECT_IF
 *   (0xC7, SWD), HW_RESET0/1 (0xDC/0xDD), SET_KS_POWER (0x08: 5 V on pin 19), HW_JTAG3 (0xCF:
 *   the SWD bit streams), SWO (0xEB: start 0x64, stop 0x65, read 0x66, speeds 0x6E).
 * SWD is bit-banged by the host: lode's software SWD engine (src/probe/swd_bits.c) builds the
 * streams, many transactions per HW_JTAG3 command (pipelined units merged into one command),
 * sized from the probe's free memory, one command at a time; the
 * J-Link returns the bit the target drove in cycle i+1 at position i of its input buffer.
 * A lode_jlink_s is not thread-safe. */
#ifndef LODE_JLINK_H
#define LODE_JLINK_H

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

#define LODE_JLINK_VID 0x1366u

/* ---- moving bytes ----------------------------------------------------------------------------- */
typedef struct lode_jlink_io_s {
    /* one command, whole */
    int (*write)(void *ctx, const uint8_t *buf, size_t len);
    /* exactly `len` bytes of reply */
    int (*read)(void *ctx, uint8_t *buf, size_t len);
    void (*close)(void *ctx); /* may be NULL */
    void *ctx;
} lode_jlink_io_s;

/* Is (vid, pid) one of the J-Link product IDs lode knows? */
bool lode_jlink_usb_known(uint16_t vid, uint16_t pid);
/* The USB match table: VID 0x1366, the J-Link PIDs of current and older units, the vendor
 * interface (class and subclass 0xFF) with its bulk endpoints. */
const lode_usb_match_s *lode_jlink_usb_match(size_t *rows);
/* List J-Links on USB (lode/usb.h conventions); product "J-Link" when the device has no
 * product string. */
int lode_usb_list_jlink(const lode_usb_filter_s *filter, const lode_log_s *log, lode_usb_probe_s **out,
                        size_t *count);
/* USB: the io over an open bulk transport (borrowed; io->close frees the io only). Replies are
 * read in large transfers and handed out in the lengths asked for. */
int lode_jlink_io_usb(lode_transport_s *t, lode_jlink_io_s *io);
/* The same, owning `t`: io->close closes it (on failure it is closed here). */
int lode_jlink_io_usb_owned(lode_transport_s *t, lode_jlink_io_s *io);

/* ---- the driver ------------------------------------------------------------------------------ */
typedef struct lode_jlink_s lode_jlink_s;

typedef struct lode_jlink_info_s {
    char firmware[128];         /* VERSION text, e.g. "J-Link V11 compiled ..." */
    uint32_t caps;              /* GET_CAPS */
    uint8_t caps_ex[32];        /* GET_CAPS_EX (when caps bit 31) */
    bool has_caps_ex;
    uint32_t hw_version;        /* GET_HW_VERSION (0 without the capability) */
    char hw_string[32];         /* "V11.00" */
    uint32_t free_mem;          /* free memory in bytes (0: unknown) */
    uint16_t vtref_mv;          /* target reference voltage at open */
    uint32_t base_hz;           /* GET_SPEEDS: base frequency and minimum divider (0: unknown) */
    uint16_t min_div;
    uint32_t interfaces;        /* SELECT_IF 0xFF: bit 0 JTAG, bit 1 SWD (0: not asked yet) */
    uint32_t speed_khz;         /* the SWD clock set (0: not yet) */
} lode_jlink_info_s;

/* Open: VERSION, GET_CAPS (+ _EX), GET_HW_VERSION, free memory, GET_STATE. `io` is copied and
 * owned by the driver from here on (closed by lode_jlink_close, also on failure). */
int lode_jlink_open(const lode_jlink_io_s *io, const lode_log_s *log, lode_jlink_s **out);
void lode_jlink_close(lode_jlink_s *jl); /* accepts NULL */
void lode_jlink_get_info(const lode_jlink_s *jl, lode_jlink_info_s *info);

/* Target reference voltage now, in mV (GET_STATE). */
int lode_jlink_vtref(lode_jlink_s *jl, uint16_t *mv);
/* Switch the J-Link's 5 V target supply (capability 13; LODE_E_UNSUPPORTED without). */
int lode_jlink_target_power(lode_jlink_s *jl, bool on);
/* Drive nRESET (true = low). */
int lode_jlink_reset(lode_jlink_s *jl, bool asserted);

typedef struct lode_jlink_swd_opts_s {
    uint32_t hz;                /* SWD clock asked for (0: 4 MHz); clamped to the probe's maximum */
    bool power;                 /* switch the target supply on first */
    bool targetsel;             /* SWD v2 multidrop: select `targetsel_value` after line resets */
    uint32_t targetsel_value;
    bool allow_unpowered;       /* go on with VTref at 0 V (a target powered otherwise) */
} lode_jlink_swd_opts_s;

/* SWD: check VTref ("target not powered" when below 0.5 V: LODE_E_NO_DEVICE), select the
 * SWD interface (LODE_E_UNSUPPORTED for firmware without it), set the clock (the speed
 * actually set is in *actual_hz, may be NULL, and logged), queue the wake-up sequences and
 * give the DAP operations of the software SWD engine (valid until close). */
int lode_jlink_connect_swd(lode_jlink_s *jl, const lode_jlink_swd_opts_s *opts, uint32_t *actual_hz,
                           lode_dap_ops_s *ops);
/* One HW_JTAG3 command: nbits cycles (1..65528), dir/out from the host, `in` the sampled bits
 * as the J-Link returns them. */
int lode_jlink_swd_io(lode_jlink_s *jl, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t nbits);

/* SWO (UART/NRZ): start capturing at the nearest baud rate the probe makes from `baud`
 * (*actual, may be NULL), read what arrived, stop. */
int lode_jlink_swo_start(lode_jlink_s *jl, uint32_t baud, uint32_t *actual);
int lode_jlink_swo_read(lode_jlink_s *jl, uint8_t *buf, size_t cap, size_t *got);
int lode_jlink_swo_stop(lode_jlink_s *jl);

typedef struct lode_jlink_stats_s {
    uint64_t commands;          /* commands sent */
    uint64_t jtag3;             /* of which HW_JTAG3 */
    uint64_t bytes_out, bytes_in;
    uint64_t swd_transactions;  /* SWD transactions in those bit streams */
    uint64_t swd_bits;
    uint64_t waits, faults, protocol_errors, resyncs;
} lode_jlink_stats_s;
void lode_jlink_stats(const lode_jlink_s *jl, lode_jlink_stats_s *out);

/* Write every SWD batch as VCD (SWCLK, SWDIO: for sigrok's swd decoder) to `path`, appending
 * batches on a continuous timeline at the SWD clock; NULL stops. */
int lode_jlink_set_vcd(lode_jlink_s *jl, const char *path);

/* ---- as a probe (probe.h) ------------------------------------------------------------------ */
/* Probe options parsed from the spec's ARGS, colon-separated in any order:
 * "[SERIAL][:power][:targetsel=HEX][:vcd=PATH]" (power: switch the J-Link's 5 V target supply
 * on; targetsel: SWD v2 multidrop; vcd: write the SWD bit streams there). */
typedef struct lode_jlink_spec_s {
    char serial[64];
    bool power;
    bool targetsel;
    uint32_t targetsel_value;
    char vcd[256];
} lode_jlink_spec_s;
int lode_jlink_parse_spec(const char *args, lode_jlink_spec_s *out);

/* A probe over a J-Link I/O (the driver opens now): faces dap, swo, reset_pin, describe.
 * With own_io the probe closes the I/O (also when this fails); else it is borrowed until
 * lode_probe_close. `spec` may be NULL. */
int lode_probe_jlink_new(const lode_jlink_io_s *io, bool own_io, const lode_jlink_spec_s *spec,
                         const lode_probe_extra_s *extra, const lode_log_s *log, lode_probe_s **out);
/* The driver handle of a J-Link probe, NULL for any other probe. */
lode_jlink_s *lode_probe_jlink_handle(lode_probe_s *p);

#ifdef __cplusplus
}
#endif
#endif
