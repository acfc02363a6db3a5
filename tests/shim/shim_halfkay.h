/* SPDX-License-Identifier: MIT */
/* A simulated PJRC Teensy on the stand-in libusb's bus (shim_halfkay.c): in HalfKay mode, or
 * running a sketch that the 134-baud request reboots into HalfKay. */
#ifndef LODE_SHIM_HALFKAY_H
#define LODE_SHIM_HALFKAY_H

#include <libusb-1.0/libusb.h>
#include <stdbool.h>
#include <stdint.h>

#define SHIM_HALFKAY_NOT_MINE 0x10000 /* shim_halfkay_control: a request for the generic shim */

typedef struct shim_halfkay_s shim_halfkay_s;

/* A device for LODE_USB_SHIM's KIND:SERIAL when KIND is one of ours ("halfkay-teensy41",
 * "teensy-serial-teensy32", "teensy-midi-teensylc", "teensy-keyboard-teensy40"): 1 made (*out),
 * 0 not ours, -1 ours but
 * malformed (said on stderr). */
int shim_halfkay_new(const char *kind, const char *serial, shim_halfkay_s **out);
void shim_halfkay_free(shim_halfkay_s *h);
/* what the device descriptor says now (the mode decides) */
void shim_halfkay_ids(const shim_halfkay_s *h, uint16_t *vid, uint16_t *pid, uint16_t *bcd, bool *has_serial);
bool shim_halfkay_gone(const shim_halfkay_s *h);
/* the configuration of the current mode */
int shim_halfkay_config(const shim_halfkay_s *h, struct libusb_config_descriptor **config);
/* strings 1 manufacturer, 2 product, 3 serial; NULL for others */
const char *shim_halfkay_string(const shim_halfkay_s *h, uint8_t idx);
/* a control transfer: bytes moved, a LIBUSB_ERROR, or SHIM_HALFKAY_NOT_MINE */
int shim_halfkay_control(shim_halfkay_s *h, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                         unsigned char *data, uint16_t length, unsigned timeout_ms);
/* the flash image into LODE_USB_SHIM_STATE_DIR/<serial>.halfkay when it was written */
void shim_halfkay_save(shim_halfkay_s *h);

#endif
