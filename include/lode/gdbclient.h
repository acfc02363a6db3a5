/* SPDX-License-Identifier: MIT */
/* A GDB remote-protocol client: any GDB server (lode gdb, OpenOCD, pyOCD, a J-Link GDB server,
 * QEMU, ...) as a lode core (include/lode/core.h), all-stop, one thread.
 *
 * On connect: qSupported (PacketSize), QStartNoAckMode when offered, '?' for the initial state.
 * Registers: p/P (g/G when the server has no p/P); lode REGSEL 0-16 (r0-r12, sp, lr, pc, xpsr)
 * are GDB register numbers 0-16; any other REGSEL is LODE_E_UNSUPPORTED (no target.xml
 * parsing). Memory: m/M, chunked to the server's PacketSize. Hardware breakpoints Z1/z1,
 * watchpoints Z2 (write) / Z3 (read) / Z4 (access). halt: 0x03, then the stop reply; resume:
 * 'c' without waiting (the core counts as running; `state` polls the connection without
 * blocking for the stop reply); step: 's' and its stop reply; reset: `monitor reset halt` /
 * `monitor reset` (qRcmd), or QEMU's `monitor system_reset` when the server's monitor says it
 * does not know `reset`. Stop replies become a DFSR-like reason: SIGINT -> HALTED (0x1),
 * SIGTRAP after c -> BKPT (0x2) or DWTTRAP (0x4) with watch/rwatch/awatch, after s -> HALTED,
 * SIGSEGV/SIGBUS/SIGILL -> VCATCH (0x8). While the core runs, everything but state / halt /
 * time is LODE_E_STATE (an all-stop server does not serve packets then). Every wait times out
 * (LODE_E_TIMEOUT) after 5 s. now_us / delay_us are the host's monotonic clock. vector_catch
 * is NULL. The library never prints; messages (and monitor output) go to the log. */
#ifndef LODE_GDBCLIENT_H
#define LODE_GDBCLIENT_H

#include "lode/core.h"
#include "lode/image.h"
#include "lode/log.h"
#include "lode/probe.h"
#include "lode/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_gdbclient_s lode_gdbclient_s;

/* TCP connection to host:port (name or address), then the handshake above. */
int lode_gdbclient_connect(const char *host, int port, const lode_log_s *log,
                           lode_gdbclient_s **out);

/* The same over an already connected stream socket (e.g. one end of a socketpair). The client
 * owns fd from then on, also when this fails: lode_gdbclient_free / the failure closes it. */
int lode_gdbclient_connect_fd(int fd, const lode_log_s *log, lode_gdbclient_s **out);

/* A GDB server on a serial port (a Black Magic Probe's first USB serial port): the device in
 * raw mode, then the handshake. LODE_E_NO_DEVICE if it does not exist, LODE_E_ACCESS if it
 * cannot be opened (logged). */
int lode_gdbclient_open_serial(const char *path, const lode_log_s *log, lode_gdbclient_s **out);

/* The same over any byte stream (lode/stream.h: TCP, a serial port set up by the caller). The
 * client owns `io` from then on, also when this fails. */
int lode_gdbclient_open_stream(lode_stream_s *io, const lode_log_s *log, lode_gdbclient_s **out);

/* For probes whose GDB server looks for targets on request (Black Magic Probe): `monitor
 * <scan_cmd>` (e.g. "swdp_scan"), then vAttach to target number `target` (from 1); the core
 * is halted afterwards. LODE_E_NO_DEVICE when nothing is found or attachable (logged). */
int lode_gdbclient_attach_target(lode_gdbclient_s *c, const char *scan_cmd, unsigned target);

/* Memory access while the target runs (RTT through an all-stop server): on, a read or write
 * then interrupts the target, accesses memory and lets it continue (unless it stopped for a
 * reason of its own meanwhile, which `state` then reports). Off (default): LODE_E_STATE. */
void lode_gdbclient_set_intrusive(lode_gdbclient_s *c, bool on);

/* The core operations; valid until lode_gdbclient_free. */
const lode_core_ops_s *lode_gdbclient_core(lode_gdbclient_s *c);

/* The server's PacketSize (the largest packet it accepts), after the handshake. */
size_t lode_gdbclient_packet_size(const lode_gdbclient_s *c);

/* File-I/O: a server that does semihosting itself (QEMU with -semihosting-config target=gdb)
 * stops the running target in a call and sends "Fcall,args"; the client hands the request
 * (without the 'F') to `fn`, which writes the reply ("Fresult[,errno]"; see
 * lode_semihost_fileio) and may use the core's memory operations meanwhile, and sends it back
 * (the target goes on). Without a handler requests are refused with EUNKNOWN. A 'W' (the
 * server's program exited) shows in the core state as exited with its status. */
typedef int (*lode_gdbclient_fileio_fn)(void *user, const char *req, char *reply, size_t cap);
void lode_gdbclient_set_fileio(lode_gdbclient_s *c, lode_gdbclient_fileio_fn fn, void *user);
uint64_t lode_gdbclient_fileio_calls(const lode_gdbclient_s *c);

/* Flash through the server as GDB's `load` does (the probe's loader face, loader.h, plans with
 * flash/plan.c and drives these): the server's memory map (qXfer:memory-map: RAM, and flash
 * regions with their block sizes; LODE_E_UNSUPPORTED when it has none), vFlashErase of whole
 * blocks, vFlashWrite, vFlashDone (LODE_E_FLASH when the server refuses). Need a halted core. */
typedef struct lode_gdbclient_region_s {
    bool flash;
    uint32_t start, len;
    uint32_t block;           /* flash: the erase block size */
} lode_gdbclient_region_s;
int lode_gdbclient_memory_map(lode_gdbclient_s *c, lode_gdbclient_region_s *out, size_t cap, size_t *n);
int lode_gdbclient_vflash_erase(lode_gdbclient_s *c, uint32_t addr, uint32_t len);
int lode_gdbclient_vflash_write(lode_gdbclient_s *c, uint32_t addr, const uint8_t *data, size_t len);
int lode_gdbclient_vflash_done(lode_gdbclient_s *c);

/* Detach (D: the server lets the core run) when the core is halted, then close. NULL is fine. */
void lode_gdbclient_free(lode_gdbclient_s *c);

/* The client inside a GDB-server probe (registry rows "gdb", "bmp"), NULL for any other. */
lode_gdbclient_s *lode_probe_gdbclient_handle(lode_probe_s *p);

#ifdef __cplusplus
}
#endif
#endif
