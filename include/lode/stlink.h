/* SPDX-License-Identifier: MIT */
/* ST-Link (V2, V2-1, V3) probe driver.
 *
 * An ST-Link speaks 16-byte commands, each optionally followed by a data phase to the probe
 * or from it (the protocol as publicly described by OpenOCD's stlink_usb.c and the stlink-org
 * project; facts summarised in ../shared/PROTOCOLS.md). The driver never knows how commands
 * travel: a lode_stlink_io_s moves one command and its data phase (USB bulk endpoints, the
 * stlink-server TCP protocol, or an in-process simulated probe).
 *
 * From firmware J24 (V2) / any V3 the probe gives direct DP/AP register access; the driver
 * then presents itself as a lode_dap_ops_s so lode's own ADIv5 layer (src/adi) runs on top.
 * MEM-AP data accesses are not done register by register: the probe's memory commands carry
 * the AP number, address and CSW, so the driver keeps each AP's CSW and TAR as written by the
 * ADIv5 layer (a shadow, never sent), and executes DRW / BDn accesses as memory commands at
 * the shadow address (consecutive ones coalesced into one command, up to the 1 KiB TAR
 * auto-increment boundary). Single 32-bit accesses on AP 0 use the probe's one-round-trip
 * "debug register" commands; everything else checks its status with GETLASTRWSTATUS2. From
 * V2J32 / V3J2, three or more single 32-bit accesses on AP 0 at scattered addresses in one
 * transfer list go as one batch (RW_MISC_OUT with up to 64 items on a V2, then RW_MISC_IN for
 * the values and each item's status): two round trips however many (lode_dap_ops_s.batches).
 *
 * Firmware older than J24 (no DAP register access) falls back to the probe's higher-level
 * commands: memory on AP 0 through the memory commands, core registers through READREG/
 * WRITEREG, and the few DP/AP registers the ADIv5 layer reads answered from what is known
 * without them (DPIDR from READ_IDCODES, the debug port powered, the architected ROM table
 * address); a warning names the firmware update. A lode_stlink_s is not thread-safe. */
#ifndef LODE_STLINK_H
#define LODE_STLINK_H

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

#define LODE_STLINK_VID 0x0483u
#define LODE_STLINK_V2_PID 0x3748u
#define LODE_STLINK_V21_PID 0x374Bu
#define LODE_STLINK_V21_NOMSD_PID 0x3752u
#define LODE_STLINK_V3E_PID 0x374Eu
#define LODE_STLINK_V3S_PID 0x374Fu
#define LODE_STLINK_V3_2VCP_PID 0x3753u
#define LODE_STLINK_V3E_NOMSD_PID 0x3754u

#define LODE_STLINK_CMD_SIZE 16u
#define LODE_STLINK_DATA_MAX 6144u /* the probe's buffer for 16/32-bit memory access */

/* Is (vid, pid) an ST-Link debug probe? Returns its hardware version 2 or 3, 0 if not. */
int lode_stlink_usb_version(uint16_t vid, uint16_t pid);

/* The USB match table of the ST-Link debug probes (tag = hardware version); *rows entries. */
const lode_usb_match_s *lode_stlink_usb_match(size_t *rows);

/* List ST-Link probes on USB (lode/usb.h conventions; tag = hardware version, endpoints and
 * packet size by version). */
int lode_usb_list_stlink(const lode_usb_filter_s *filter, const lode_log_s *log,
                         lode_usb_probe_s **out, size_t *count);
/* Open an ST-Link: its command endpoints and its trace endpoint (two transports on one
 * device; close `trace` before `cmd`). */
int lode_usb_open_stlink(const lode_usb_probe_s *probe, const lode_log_s *log,
                         lode_transport_s **cmd, lode_transport_s **trace);

/* ---- moving commands ----------------------------------------------------------------------- */
typedef enum lode_stlink_dir_e {
    LODE_STLINK_DIR_IN = 1,   /* data from the probe (in_len bytes, may be 0) */
    LODE_STLINK_DIR_OUT = 0,  /* data to the probe (out_len bytes) */
} lode_stlink_dir_e;

typedef struct lode_stlink_io_s {
    /* One command: `cmd` (16 bytes, zero padded), then either `len` bytes of `data` to the
     * probe (DIR_OUT) or `len` bytes from it into `data` (DIR_IN; len 0 = no reply). */
    int (*xfer)(void *ctx, const uint8_t cmd[LODE_STLINK_CMD_SIZE], lode_stlink_dir_e dir,
                uint8_t *data, size_t len);
    /* Read `len` bytes of captured SWO data (the trace endpoint). NULL if unavailable. */
    int (*trace_read)(void *ctx, uint8_t *buf, size_t len);
    void (*close)(void *ctx); /* may be NULL */
    void *ctx;
    /* other programs may send commands between ours (stlink-server): the driver then keeps to
     * commands that are complete in one round trip (no RW_MISC_OUT/IN pairs) */
    bool shared;
} lode_stlink_io_s;

/* USB: a bulk transport to the probe's command endpoints (out 0x02/0x01, in 0x81 by version);
 * the trace endpoint is read through `trace` when given (may be NULL). Both are borrowed. */
int lode_stlink_io_usb(lode_transport_s *cmd, lode_transport_s *trace, lode_stlink_io_s *io);

/* The stlink-server TCP protocol (ST's stlink-server; OpenOCD's "st-link backend tcp"):
 * connect to HOST:PORT, enumerate, open the ST-Link whose VID:PID is an ST-Link and, when
 * `serial` is non-NULL and non-empty, whose serial matches. io->close disconnects.
 * LODE_E_NO_DEVICE: nothing listens / no ST-Link there; LODE_E_ACCESS: the ST-Link is in use
 * by another client of the server. */
int lode_stlink_io_tcp(const char *host, uint16_t port, const char *serial, const lode_log_s *log,
                       lode_stlink_io_s *io);

/* ---- the driver ------------------------------------------------------------------------------ */
typedef struct lode_stlink_s lode_stlink_s;

typedef struct lode_stlink_version_s {
    uint8_t hw;       /* 2 or 3 */
    uint8_t jtag;     /* J firmware version (e.g. 37) */
    uint8_t swim;     /* S version (V2), 0 for V2-1/V3 without SWIM */
    uint8_t msd;      /* M version (V2-1 / V3) */
    uint16_t vid, pid;
    uint32_t flags;   /* LODE_STLINK_F_* */
} lode_stlink_version_s;

#define LODE_STLINK_F_TRACE (1u << 0)        /* V2 >= J13: SWO trace, target voltage */
#define LODE_STLINK_F_RWSTATUS2 (1u << 1)    /* V2 >= J15: GETLASTRWSTATUS2 */
#define LODE_STLINK_F_SWD_FREQ (1u << 2)     /* V2 >= J22 */
#define LODE_STLINK_F_DAP_REG (1u << 3)      /* V2 >= J24: direct DP/AP register access */
#define LODE_STLINK_F_MEM16 (1u << 4)        /* V2 >= J26 */
#define LODE_STLINK_F_AP_INIT (1u << 5)      /* V2 >= J28: APs must be opened */
#define LODE_STLINK_F_CSW (1u << 6)          /* V2 >= J32: memory commands take AP and CSW */
#define LODE_STLINK_F_RW8_512 (1u << 7)      /* V3 >= J6: 512-byte 8-bit accesses */
#define LODE_STLINK_F_V3_FREQ (1u << 8)      /* V3 SET/GET_COM_FREQ */

/* Open: read the version, leave DFU/mass-storage/debug mode, read the target voltage (when
 * the firmware has it). `io` is copied and owned by the driver from here on (closed by
 * lode_stlink_close, also on failure). */
int lode_stlink_open(const lode_stlink_io_s *io, const lode_log_s *log, lode_stlink_s **out);
void lode_stlink_close(lode_stlink_s *st); /* leaves debug mode; accepts NULL */

void lode_stlink_get_version(const lode_stlink_s *st, lode_stlink_version_s *v);
/* "V2J37S7" style. */
void lode_stlink_version_string(const lode_stlink_version_s *v, char *buf, size_t len);
/* Target voltage in volts (LODE_E_UNSUPPORTED without the feature). */
int lode_stlink_target_voltage(lode_stlink_s *st, double *volts);

/* Set the SWD clock (the nearest supported frequency not above `hz`, or the slowest), then
 * enter SWD debug mode. *actual_hz (may be NULL) gets the frequency in use. */
int lode_stlink_connect_swd(lode_stlink_s *st, uint32_t hz, uint32_t *actual_hz);
/* The DAP interface for lode's ADIv5 layer (valid until close); with firmware older than
 * V2J24 the emulated one described above. */
int lode_stlink_dap_ops(lode_stlink_s *st, lode_dap_ops_s *ops);

/* High-level commands (the probe's own Cortex-M helpers), for callers that want the single
 * round trip: core register by DCRSR.REGSEL, all core registers (R0-R15, xPSR, MSP, PSP,
 * then regsel 20 packed), and SYSRESETREQ. The core must be halted for registers. */
int lode_stlink_read_reg(lode_stlink_s *st, unsigned regsel, uint32_t *val);
int lode_stlink_write_reg(lode_stlink_s *st, unsigned regsel, uint32_t val);
int lode_stlink_read_all_regs(lode_stlink_s *st, uint32_t regs[21]);
int lode_stlink_reset_system(lode_stlink_s *st);

/* SWO: start capturing at `baud` into the probe's buffer, read what arrived, stop. */
int lode_stlink_trace_start(lode_stlink_s *st, uint32_t baud);
int lode_stlink_trace_read(lode_stlink_s *st, uint8_t *buf, size_t cap, size_t *got);
int lode_stlink_trace_stop(lode_stlink_s *st);

typedef struct lode_stlink_stats_s {
    uint64_t commands;       /* commands sent (round trips) */
    uint64_t bytes_out, bytes_in;
    uint64_t mem_commands;   /* memory read/write commands */
    uint64_t status_checks;  /* GETLASTRWSTATUS2 round trips */
} lode_stlink_stats_s;
void lode_stlink_stats(const lode_stlink_s *st, lode_stlink_stats_s *out);

/* ---- as a probe (probe.h) ------------------------------------------------------------------ */
/* A probe over an ST-Link I/O (the driver opens now): faces dap (+ regio), swo, describe. With
 * own_io the probe closes the I/O (also when this fails); else it is borrowed until
 * lode_probe_close. */
int lode_probe_stlink_new(const lode_stlink_io_s *io, bool own_io, const lode_probe_extra_s *extra,
                          const lode_log_s *log, lode_probe_s **out);
/* The driver handle of an ST-Link probe (version, statistics), NULL for any other probe. */
lode_stlink_s *lode_probe_stlink_handle(lode_probe_s *p);

#ifdef __cplusplus
}
#endif
#endif
