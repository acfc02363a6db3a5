/* SPDX-License-Identifier: MIT */
/* A plain USB DFU 1.1 device on the stand-in libusb's bus (shim_dfu11.c): no DfuSe layout,
 * bcdDFU 0x0110; optionally first in run-time mode (an application with a DFU run-time
 * interface that must be detached). */
#ifndef LODE_SHIM_DFU11_H
#define LODE_SHIM_DFU11_H

#include <libusb-1.0/libusb.h>
#include <stdbool.h>

#include "lode/sim.h"

#define SHIM_DFU11_VID 0x1209
#define SHIM_DFU11_PID 0x0DF1    /* in DFU mode */
#define SHIM_DFU11_RT_PID 0x0AF1 /* the application, with its run-time DFU interface */

typedef struct shim_dfu11_s shim_dfu11_s;

/* variant: "dfu11" (manifestation tolerant), "dfu11-nt" (not tolerant: waits for a USB reset
 * after manifestation, then starts the application), "dfu11-rt" (starts as the application;
 * DETACH, then a USB reset, brings it up in DFU mode), "dfu11-rtw" (the same with
 * bitWillDetach: it re-enumerates by itself after DETACH). NULL: not a DFU 1.1 kind. */
int shim_dfu11_new(const char *variant, shim_dfu11_s **out);
void shim_dfu11_free(shim_dfu11_s *d);
void shim_dfu11_attach(shim_dfu11_s *d, lode_sim_s *sim); /* the board behind it */
uint16_t shim_dfu11_pid(const shim_dfu11_s *d);
int shim_dfu11_config(const shim_dfu11_s *d, struct libusb_config_descriptor **config);
const char *shim_dfu11_string(const shim_dfu11_s *d, uint8_t idx); /* idx >= 4, else NULL */
/* a class request: bytes moved, a LIBUSB_ERROR, or SHIM_NOT_MINE (shim_dfuse.h) */
int shim_dfu11_control(shim_dfu11_s *d, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                       unsigned char *data, uint16_t length);
/* a USB bus reset: 0, or LIBUSB_ERROR_NOT_FOUND when the device came back as another one
 * (run-time -> DFU mode, DFU mode -> the application) */
int shim_dfu11_reset(shim_dfu11_s *d);
bool shim_dfu11_gone(const shim_dfu11_s *d);
void shim_dfu11_stats(const shim_dfu11_s *d, unsigned long long *requests, unsigned long long *early_polls);

#endif
