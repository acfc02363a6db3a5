/* SPDX-License-Identifier: MIT */
/* A simulated SEGGER J-Link on the stand-in libusb's bus (shim_jlink.c): LODE_USB_SHIM=jlink
 * or jlink:SERIAL (a J-Link V11, high speed, 1366:0101), jlink-v9[:SERIAL] (full speed).
 *   LODE_USB_SHIM_JLINK_VTREF=0    the target unpowered (VTref 0 V) until the host powers it
 *   LODE_USB_SHIM_JLINK_NO_SWD=1   firmware without SWD (JTAG only)
 *   LODE_USB_SHIM_JLINK_VCD=FILE   the first SWD/JTAG cycles as a VCD (signals swclk, swdio),
 *                                  LODE_USB_SHIM_JLINK_VCD_CYCLES of them (default 4000) */
#ifndef LODE_SHIM_JLINK_H
#define LODE_SHIM_JLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "lode/sim.h"

#define SHIM_JLINK_VID 0x1366
#define SHIM_JLINK_PID 0x0101
#define SHIM_JLINK_EP_IN 0x81
#define SHIM_JLINK_EP_OUT 0x02

typedef struct shim_jlink_s shim_jlink_s;

/* the hardware version for a kind name ("jlink": 11, "jlink-v9": 9), -1 for other kinds */
int shim_jlink_kind(const char *name);
int shim_jlink_new(lode_sim_s *sim, int hw_major, const char *serial, shim_jlink_s **out);
void shim_jlink_free(shim_jlink_s *j);
/* one bulk transfer: bytes moved or a LIBUSB_ERROR */
int shim_jlink_bulk(shim_jlink_s *j, unsigned char ep, unsigned char *data, int length);
const char *shim_jlink_string(const shim_jlink_s *j, uint8_t idx);
/* LODE_USB_SHIM_REPORT: prints the J-Link's figures, returns its command count */
unsigned long long shim_jlink_report(const shim_jlink_s *j, const char *serial);

#endif
