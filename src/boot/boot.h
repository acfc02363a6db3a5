/* SPDX-License-Identifier: MIT */
/* Bootloader probes, private to liblode. */
#ifndef LODE_BOOT_BOOT_H
#define LODE_BOOT_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "lode/probe.h"
#include "lode/stream.h"

/* The arduino probe over a stream already open on a freshly reset board (port and baud only
 * for messages). own: the probe closes s (also when this fails). extra (may be NULL): as
 * lode_probe_new's; its on_close also runs when this fails. */
int lodei_boot_arduino_open_stream(lode_stream_s *s, bool own, const char *port, unsigned baud,
                                   const lode_probe_open_opts_s *o, const lode_probe_extra_s *extra,
                                   lode_probe_s **out);

/* The stm32-uart probe over a stream already open on a bootloader (args as the spec's:
 * "PORT[:BAUD][:OPTION...]", the port only for messages; the stream's own framing stays as it
 * is). own: the probe closes s (also when this fails). */
int lodei_boot_stm32_open_stream(lode_stream_s *s, bool own, const char *args, const lode_probe_open_opts_s *o,
                                 lode_probe_s **out);

/* "PORT[:BAUD]" of probe row d into port (cap bytes) and *baud (default_baud when not
 * given). LODE_E_INVALID_ARG (logged with the row's syntax) when malformed. */
int lodei_boot_parse_port(const lode_probe_driver_s *d, const char *args, unsigned default_baud,
                          const lode_log_s *log, char *port, size_t cap, unsigned *baud);
/* Open the port exclusively at baud and give the Arduino auto-reset pulse (DTR/RTS released
 * 250 ms, then asserted; nothing on a port without the lines), input flushed. */
int lodei_boot_open_reset(const char *port, unsigned baud, const lode_log_s *log, lode_stream_s **out);
void lodei_boot_sleep_ms(unsigned ms);
/* Which other bootloader protocol the bytes a failed sync saw look like (answers to another
 * protocol's first command): its probe kind ("wiring", "stm32-uart", "avr109", "arduino") and
 * a name for it, or NULL when they look like none (noise, a wrong baud). */
const char *lodei_boot_guess_protocol(const uint8_t *b, size_t n, const char **name);

/* A board's own clock, for a board that has one: a simulated board runs on the host's CPU and
 * falls behind the wall clock on a busy host, and its bootloader answers in its own time. */
typedef struct lodei_boot_clock_s {
    uint64_t (*now_us)(void *user); /* NULL: the board keeps the wall's time (real hardware) */
    void *user;
} lodei_boot_clock_s;
/* As lode_stream_read, but with a clock (may be NULL) the wait is wait_ms of the board's time,
 * bounded by 60 s of the wall's. */
int lodei_boot_read(lode_stream_s *s, const lodei_boot_clock_s *clk, void *buf, size_t cap, size_t *got,
                    int wait_ms);

/* The wiring probe (STK500v2) over a stream on a freshly reset board; as the arduino one. */
int lodei_boot_wiring_open_stream(lode_stream_s *s, bool own, const char *port, unsigned baud,
                                  const lode_probe_open_opts_s *o, const lode_probe_extra_s *extra,
                                  lode_probe_s **out);

/* The sam-ba probe over a stream already open on a SAM-BA monitor (args as the spec's:
 * "PORT[:BAUD][:usb|:uart][:offset=ADDR]", the port for messages and the USB/UART guess).
 * own: the probe closes s (also when this fails); extra as lode_probe_new's. */
int lodei_boot_samba_open_stream(lode_stream_s *s, bool own, const char *args, const lode_probe_open_opts_s *o,
                                 const lode_probe_extra_s *extra, lode_probe_s **out);

/* The avr109 probe over a stream already open on an AVR109 bootloader; as the arduino one. */
int lodei_boot_avr109_open_stream(lode_stream_s *s, bool own, const char *port, unsigned baud,
                                  const lode_probe_open_opts_s *o, const lode_probe_extra_s *extra,
                                  lode_probe_s **out);

#endif
