/* SPDX-License-Identifier: MIT */
/* Private to liblode's probe folder: the built-in registry rows and a driver's own handle. */
#ifndef LODE_PROBE_I_H
#define LODE_PROBE_I_H

#include "lode/probe.h"
#include "lode/loader.h"

/* The driver's ctx when p was made over exactly these ops, else NULL. */
void *lodei_probe_ctx_if(const lode_probe_s *p, const lode_probe_ops_s *ops);

/* "HOST:PORT[:REST]" -> host, port 1..65535 and REST (NULL without); false if malformed. */
bool lodei_probe_host_port(const char *args, char *host, size_t hostlen, uint16_t *port, const char **rest);

/* One row per driver, each defined in the driver's folder. */
extern const lode_probe_driver_s lodei_probe_row_cmsis_dap;
extern const lode_probe_driver_s lodei_probe_row_stlink;
extern const lode_probe_driver_s lodei_probe_row_stlink_tcp;
extern const lode_probe_driver_s lodei_probe_row_gdb;
extern const lode_probe_driver_s lodei_probe_row_bmp;
extern const lode_probe_driver_s lodei_probe_row_dfu; /* src/boot/dfu.c */
extern const lode_probe_driver_s lodei_probe_row_arduino;
extern const lode_probe_driver_s lodei_probe_row_stm32_uart; /* src/boot/stm32_uart.c */
extern const lode_probe_driver_s lodei_probe_row_jlink; /* src/probe/jlink/jlink_probe.c */
extern const lode_probe_driver_s lodei_probe_row_teensy; /* src/boot/teensy.c */
extern const lode_probe_driver_s lodei_probe_row_wiring;
extern const lode_probe_driver_s lodei_probe_row_avr109;
extern const lode_probe_driver_s lodei_probe_row_uf2; /* src/boot/uf2drive.c */
extern const lode_probe_driver_s lodei_probe_row_samba; /* src/boot/samba_probe.c */

/* A probe's loader face, made on first use and kept in *slot (freed with the probe). */
static inline int lodei_loader_once(const lode_loader_ops_s *ops, void *ctx, lode_loader_s **slot,
                                    lode_loader_s **out)
{
    if (!*slot) {
        int rc = lode_loader_new(ops, ctx, slot);
        if (rc != LODE_OK)
            return rc;
    }
    *out = *slot;
    return LODE_OK;
}

#endif
