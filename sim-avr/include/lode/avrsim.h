/* SPDX-License-Identifier: MIT */
/* Simulated Arduino boards: an AVR on simavr running the board's real bootloader, its UART0
 * bridged to a host connection. liblode-avrsim links libsimavr (GPL-3.0): binaries that link
 * this library are distributed under the GPL version 3.
 *
 * The board runs with its host: while bytes go either way it runs as fast as it can; bytes
 * take ten bit times of simulated time on the wire both ways (the host sees a byte only once its
 * stop bit is out). A program polling UCSR0A for a byte in a loop, with nothing on its way and
 * all it sent delivered, waits for the host: the board's clock stands still for up to 1 s of
 * wall time (the host's time to answer is not counted), then follows the wall clock until the
 * line moves again; otherwise, once the line is quiet, it may run 20 ms ahead of the wall clock
 * and then follows it, so timeouts (optiboot's 1 s watchdog, its LED flashes at start) take as
 * long as on the real board. SPM page erases and writes keep SPMEN set for 4.5 ms (the
 * datasheets' maximum). Without a host it stands still.
 * Opening the connection is the external reset (the Arduino auto-reset circuit): MCUSR.EXTRF is
 * set so that optiboot stays in the bootloader. */
#ifndef LODE_AVRSIM_H
#define LODE_AVRSIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_avrsim_s lode_avrsim_s;

typedef struct lode_avrsim_config_s {
    const char *board;       /* "uno", "mega2560", "leonardo" */
    const char *bootloader;  /* Intel HEX of the bootloader; NULL: the board's default file
                                (Debian's arduino-core-avr) */
    unsigned baud;           /* the UART's wire speed for pacing; 0: the board's (115200) */
    bool uart_overrun;       /* bytes the USART cannot take (its two-byte buffer and the shift
                                register full) are lost, as on the chip; false: they wait */
    const lode_log_s *log;
} lode_avrsim_config_s;

/* Boards this build knows ("uno", "mega2560", "leonardo"), NULL-terminated. The Leonardo runs
 * lode's own AVR109 test bootloader (firmware/avr/boot, built with the firmware) on USART1. */
const char *const *lode_avrsim_boards(void);

/* LODE_E_NO_DEVICE (logged) for an unknown board or a missing bootloader file. */
int lode_avrsim_new(const lode_avrsim_config_s *cfg, lode_avrsim_s **out);
void lode_avrsim_free(lode_avrsim_s *sim); /* accepts NULL */

const char *lode_avrsim_chip(const lode_avrsim_s *sim);  /* "ATmega328P" */
/* the probe kind its bootloader speaks: "arduino" (STK500v1), "wiring" (STK500v2), "avr109" */
const char *lode_avrsim_protocol(const lode_avrsim_s *sim);
unsigned lode_avrsim_baud(const lode_avrsim_s *sim);
/* Simulated time so far, in microseconds. */
uint64_t lode_avrsim_time_us(const lode_avrsim_s *sim);
/* The same as the thread serving a host last published it: for other threads (a host that
 * waits in the board's time, which falls behind the wall clock when the host's CPU is busy). */
uint64_t lode_avrsim_served_us(lode_avrsim_s *sim);

/* Serve one host connection on fd (one end of a socket pair, a pipe pair is not enough): reset,
 * then run with the host until it closes its end or *stop becomes non-zero. fd stays open. */
int lode_avrsim_serve_fd(lode_avrsim_s *sim, int fd, volatile const sig_atomic_t *stop);

/* A pseudo-terminal for outside tools: created, its name in name (cap bytes), linked at
 * link_path (NULL: no link; an existing symlink there is replaced, anything else refused). */
int lode_avrsim_pty_open(lode_avrsim_s *sim, const char *link_path, char *name, size_t cap);
/* USB boards (the Leonardo): is this one? Its pty is the USB CDC port; the 1200-baud touch on
 * it (the port held or closed at 1200 baud while the sketch runs) resets the board into its
 * bootloader, and the port is replaced by a new pty (the bootloader's USB device) linked at the
 * same path; the bootloader starting the sketch replaces it again. Opening the port does not
 * reset a USB board, and it runs while nobody has the port open. */
bool lode_avrsim_is_usb(const lode_avrsim_s *sim);
/* Publish a USB board's port in a sysfs tree at dir (class/tty/NAME -> its USB device with
 * idVendor/idProduct: the sketch's 2341:8036, the bootloader's 2341:0036), for lode's
 * LODE_SYSFS_ROOT (lode/serial_usb.h). Before lode_avrsim_pty_serve. */
int lode_avrsim_set_sysfs(lode_avrsim_s *sim, const char *dir);

/* One host session (from the reset at open to the close): bytes each way and simulated time. */
typedef struct lode_avrsim_session_s {
    unsigned id;             /* 1, 2, ... */
    uint64_t bytes_in;       /* host -> board */
    uint64_t bytes_out;      /* board -> host */
    uint64_t sim_us;         /* simulated time the session took */
} lode_avrsim_session_s;
typedef void (*lode_avrsim_session_fn)(void *user, const lode_avrsim_session_s *s);

/* Serve the pty until *stop: every open of the port is a reset and a session; fn (may be NULL)
 * hears of each session when it ends. */
int lode_avrsim_pty_serve(lode_avrsim_s *sim, volatile const sig_atomic_t *stop, lode_avrsim_session_fn fn,
                          void *user);
/* The session served last (or being served) by either serve function. */
void lode_avrsim_last_session(const lode_avrsim_s *sim, lode_avrsim_session_s *out);

/* The back door (tests): the flash as it is. */
int lode_avrsim_flash_read(const lode_avrsim_s *sim, uint32_t addr, void *buf, size_t len);
int lode_avrsim_flash_write(lode_avrsim_s *sim, uint32_t addr, const void *buf, size_t len);

uint32_t lode_avrsim_flash_size(const lode_avrsim_s *sim);
uint32_t lode_avrsim_eeprom_size(const lode_avrsim_s *sim);
int lode_avrsim_eeprom_read(const lode_avrsim_s *sim, uint32_t addr, void *buf, size_t len);
int lode_avrsim_eeprom_write(lode_avrsim_s *sim, uint32_t addr, const void *buf, size_t len);

/* The board whose chip is `chip` ("ATmega328P" -> "uno"; case ignored), NULL for none. */
const char *lode_avrsim_board_for_chip(const char *chip);

/* Flash and EEPROM to and from a state file, with the simulated ARM board's rules
 * (lode_sim_state_check, sim.h: only a lode state file is read or replaced; saved through a
 * temporary file renamed over it). Load: LODE_E_NO_DEVICE for no file or an empty one,
 * LODE_E_FORMAT for a state file of another board or version (the board then keeps erased
 * flash and EEPROM, its bootloader burnt again), LODE_E_INVALID_ARG for what is no state file. */
int lode_avrsim_state_save(const lode_avrsim_s *sim, const char *path);
int lode_avrsim_state_load(lode_avrsim_s *sim, const char *path);

/* ---- the in-process probe row ---------------------------------------------------------------- */
struct lode_probe_registry_s;
typedef struct lode_avrsim_probe_env_s {
    /* the board: the caller's (made, kept, saved and freed by it); name is "uno" */
    int (*board)(void *user, const char *name, lode_avrsim_s **out);
    void *user;
} lode_avrsim_probe_env_s;
/* Add the row "sim-avr[:BOARD]": the board served in a thread of its own over a socket pair,
 * lode's arduino probe on the other end (opening it is the auto-reset). env must outlive the
 * registry. */
int lode_avrsim_registry_add(struct lode_probe_registry_s *reg, const lode_avrsim_probe_env_s *env);

#ifdef __cplusplus
}
#endif
#endif
