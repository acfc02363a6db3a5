/* SPDX-License-Identifier: MIT */
/* Byte streams: TCP (connect, listen/accept) and serial ports (termios), behind one small
 * object. Protocol code above (GDB remote, stlink-server, bootloaders) reads and writes bytes
 * and never sees a socket or a termios structure.
 *
 * Errors are lode error codes; failures are logged through `log` (NULL: silent) and errno is
 * left holding the operating system's reason, so a caller may word its own message or look
 * further (e.g. which process holds a busy port). */
#ifndef LODE_STREAM_H
#define LODE_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_stream_s lode_stream_s;

typedef enum lode_stream_kind_e {
    LODE_STREAM_TCP = 0,   /* a connected TCP socket */
    LODE_STREAM_LISTENER,  /* a listening TCP socket: only accept/wait/close apply */
    LODE_STREAM_SERIAL,    /* a terminal device (serial port, USB CDC-ACM, pseudo-terminal) */
    LODE_STREAM_FD,        /* some other descriptor (a pipe, one end of a socketpair) */
} lode_stream_kind_e;

typedef enum lode_parity_e {
    LODE_PARITY_NONE = 0,
    LODE_PARITY_EVEN,
    LODE_PARITY_ODD,
} lode_parity_e;

/* Serial port settings. The port is always raw (no echo, no line editing, no flow control,
 * CLOCAL: modem status lines are ignored). */
typedef struct lode_serial_opts_s {
    unsigned baud;        /* bits per second, any value (non-standard ones through BOTHER);
                             0 keeps the port's current speed */
    unsigned data_bits;   /* 5..8; 0 means 8 */
    lode_parity_e parity;
    unsigned stop_bits;   /* 1 or 2; 0 means 1 */
    bool exclusive;       /* refuse every other open while this one lasts (TIOCEXCL, and an
                             flock that also binds root); a port held that way by someone
                             else fails with LODE_E_BUSY */
} lode_serial_opts_s;

/* Modem-control lines, for set_lines/pulse. */
#define LODE_STREAM_DTR 0x1u
#define LODE_STREAM_RTS 0x2u

/* Connect to host:port (a name or an address, IPv4 or IPv6), TCP_NODELAY on. timeout_ms 0:
 * the system's own connect timeout. No server there: LODE_E_NO_DEVICE. */
int lode_stream_open_tcp(const char *host, int port, unsigned timeout_ms, const lode_log_s *log,
                         lode_stream_s **out);

/* Listen on bind_addr:port (a numeric address; NULL = 127.0.0.1; port 0 = any free port,
 * see lode_stream_local_port), SO_REUSEADDR on. LODE_E_BUSY: the address is in use;
 * LODE_E_ACCESS: not allowed (a privileged port); LODE_E_IO: another failure. */
int lode_stream_listen_tcp(const char *bind_addr, int port, const lode_log_s *log,
                           lode_stream_s **out);

/* Take the next connection of a listener, waiting at most timeout_ms (< 0: for ever).
 * LODE_E_TIMEOUT when none came. The new stream has TCP_NODELAY on and the listener's log. */
int lode_stream_accept(lode_stream_s *listener, int timeout_ms, lode_stream_s **out);

/* The local port of a TCP stream or listener (0 when it has none). */
int lode_stream_local_port(const lode_stream_s *s);

/* Open a serial port raw with `opts` (NULL: 8N1 at the current speed, not exclusive).
 * Missing: LODE_E_NO_DEVICE; no permission: LODE_E_ACCESS; held exclusively by another
 * open (errno EBUSY): LODE_E_BUSY. */
int lode_stream_open_serial(const char *path, const lode_serial_opts_s *opts,
                            const lode_log_s *log, lode_stream_s **out);

/* Wrap a descriptor that is already open (a connected socket, a socketpair end, a tty, a
 * pipe). own: the stream closes fd on close (and on failure here). */
int lode_stream_from_fd(int fd, bool own, const lode_log_s *log, lode_stream_s **out);

/* Log through `log` from now on (the stream keeps the pointer: valid until close or the next
 * call). */
void lode_stream_set_log(lode_stream_s *s, const lode_log_s *log);

lode_stream_kind_e lode_stream_kind(const lode_stream_s *s);
/* The descriptor (for callers that poll it with their own; do not close it). */
int lode_stream_fd(const lode_stream_s *s);

/* Read what is there (at least 1 byte, at most cap), waiting at most timeout_ms for the first
 * byte (0: do not wait; < 0: for ever). LODE_E_TIMEOUT when nothing came; LODE_E_IO when the
 * other end closed (lode_stream_eof then true) or the read failed. */
int lode_stream_read(lode_stream_s *s, void *buf, size_t cap, size_t *got, int timeout_ms);
/* Read exactly n bytes within timeout_ms in all (< 0: no limit). */
int lode_stream_read_exact(lode_stream_s *s, void *buf, size_t n, int timeout_ms);
/* Write all of data (no SIGPIPE: a closed peer is LODE_E_IO). A peer that takes nothing for the
 * stream's write timeout (LODE_STREAM_WRITE_TIMEOUT_MS unless set) is LODE_E_TIMEOUT, logged. */
int lode_stream_write(lode_stream_s *s, const void *data, size_t len);
#define LODE_STREAM_WRITE_TIMEOUT_MS 60000
/* How long a write waits for the other end to take more data (< 0: for ever). */
void lode_stream_set_write_timeout(lode_stream_s *s, int timeout_ms);
/* Has the other end closed the stream (a read saw end of file)? */
bool lode_stream_eof(const lode_stream_s *s);

/* Wait until one of n streams is readable (a listener: has a connection waiting), at most
 * timeout_ms (< 0: for ever). ready[i] says which (NULL entries are skipped). LODE_OK when
 * one is, LODE_E_TIMEOUT when none became. Closed or failed streams count as readable. */
int lode_stream_wait(lode_stream_s *const *s, size_t n, int timeout_ms, bool *ready);

/* Drop unread input (and, on a serial port, output not yet sent). */
int lode_stream_flush(lode_stream_s *s);

/* ---- serial ports only (other kinds: LODE_E_UNSUPPORTED) ---- */

/* Change speed/framing of an open port (opts->exclusive is ignored here). */
int lode_stream_serial_config(lode_stream_s *s, const lode_serial_opts_s *opts);
/* The port's output speed as the kernel holds it (TCGETS2). */
int lode_stream_serial_baud(lode_stream_s *s, unsigned *baud);
/* The parity the port has now (TCGETS2: a driver may accept a setting and drop PARENB). */
int lode_stream_serial_parity(lode_stream_s *s, lode_parity_e *parity);
/* Assert (on) or release the given lines (LODE_STREAM_DTR | LODE_STREAM_RTS). A device
 * without modem-control lines (a pseudo-terminal) is LODE_E_UNSUPPORTED. */
int lode_stream_set_lines(lode_stream_s *s, unsigned lines, bool on);
int lode_stream_set_dtr(lode_stream_s *s, bool on);
int lode_stream_set_rts(lode_stream_s *s, bool on);
/* Drive `lines` to `on` for ms milliseconds, then to !on (a reset pulse). */
int lode_stream_pulse(lode_stream_s *s, unsigned lines, bool on, unsigned ms);
/* Send a break (line held at space) for about ms milliseconds (0: the driver's default). */
int lode_stream_send_break(lode_stream_s *s, unsigned ms);

/* Close (NULL is fine). A listener stops listening; an exclusive serial port is released. */
void lode_stream_close(lode_stream_s *s);

#ifdef __cplusplus
}
#endif
#endif
