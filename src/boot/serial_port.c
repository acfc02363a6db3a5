/* SPDX-License-Identifier: MIT */
/* The serial port of a bootloader probe: "PORT[:BAUD]" parsed, opened exclusively, and the
 * Arduino auto-reset pulse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/boot.h"
#include "lode/error.h"

void lodei_boot_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int lodei_boot_read(lode_stream_s *s, const lodei_boot_clock_s *clk, void *buf, size_t cap, size_t *got,
                    int wait_ms)
{
    if (!clk || !clk->now_us)
        return lode_stream_read(s, buf, cap, got, wait_ms);
    uint64_t t0 = clk->now_us(clk->user);
    for (int slices = 0; slices < 60000 / 20; slices++) {
        int rc = lode_stream_read(s, buf, cap, got, 20);
        if (rc != LODE_E_TIMEOUT)
            return rc;
        uint64_t t = clk->now_us(clk->user);
        if (t >= t0 && t - t0 >= (uint64_t)wait_ms * 1000u)
            break;
    }
    return LODE_E_TIMEOUT;
}

int lodei_boot_parse_port(const lode_probe_driver_s *d, const char *args, unsigned default_baud,
                          const lode_log_s *log, char *port, size_t cap, unsigned *baud)
{
    unsigned long b = default_baud;
    const char *colon = strrchr(args, ':');
    size_t plen = strlen(args);
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        b = strtoul(colon + 1, NULL, 10);
        plen = (size_t)(colon - args);
    }
    if (!plen || plen >= cap || b < 300 || b > 4000000) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "bad probe '%s:%s': use --probe %s (baud 300..4000000)",
                 d->name, args, d->syntax);
        return LODE_E_INVALID_ARG;
    }
    memcpy(port, args, plen);
    port[plen] = 0;
    *baud = (unsigned)b;
    return LODE_OK;
}

int lodei_boot_open_reset(const char *port, unsigned baud, const lode_log_s *log, lode_stream_s **out)
{
    lode_serial_opts_s so = {.baud = baud, .exclusive = true};
    lode_stream_s *s = NULL;
    int rc = lode_stream_open_serial(port, &so, log, &s);
    if (rc != LODE_OK)
        return rc;
    /* the auto-reset circuit: DTR/RTS released, then asserted -- the falling edge through the
     * capacitor resets the AVR into its bootloader. A pseudo-terminal has no such lines (a
     * simulated board resets when its port is opened). */
    lode_stream_set_log(s, NULL); /* no lines is no error here */
    if (lode_stream_set_lines(s, LODE_STREAM_DTR | LODE_STREAM_RTS, false) == LODE_OK) {
        lodei_boot_sleep_ms(250);
        lode_stream_set_lines(s, LODE_STREAM_DTR | LODE_STREAM_RTS, true);
        lodei_boot_sleep_ms(50);
    }
    lode_stream_set_log(s, log);
    lode_stream_flush(s);
    *out = s;
    return LODE_OK;
}

const char *lodei_boot_guess_protocol(const uint8_t *b, size_t n, const char **name)
{
    bool all_ack = n > 0, all_q = n > 0;
    for (size_t i = 0; i < n; i++) {
        all_ack = all_ack && (b[i] == 0x79 || b[i] == 0x1F);
        all_q = all_q && b[i] == '?';
        if (i + 1 < n && b[i] == 0x14 && b[i + 1] == 0x10) {
            *name = "STK500v1 (optiboot: an Uno or a Nano)";
            return "arduino";
        }
    }
    if (n >= 5 && b[0] == 0x1B && b[4] == 0x0E) { /* MESSAGE_START, seq, size, TOKEN */
        *name = "STK500v2 (the Mega 2560's bootloader)";
        return "wiring";
    }
    if (all_ack) {
        *name = "the STM32 system bootloader's ACK/NACK";
        return "stm32-uart";
    }
    if (all_q) {
        *name = "AVR109 ('?' to an unknown command: Caterina, a Leonardo or Micro)";
        return "avr109";
    }
    return NULL;
}
