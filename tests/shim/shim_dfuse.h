/* SPDX-License-Identifier: MIT */
/* The simulated STM32 in DfuSe mode on the stand-in libusb's bus (shim_dfuse.c). */
#ifndef LODE_SHIM_DFUSE_H
#define LODE_SHIM_DFUSE_H

#include <libusb-1.0/libusb.h>
#include <stdbool.h>

#include "lode/sim.h"

#define SHIM_DFUSE_VID 0x0483
#define SHIM_DFUSE_PID 0xDF11
#define SHIM_NOT_MINE 0x10000 /* shim_dfuse_control: a request for the generic shim */

typedef struct shim_dfuse_s shim_dfuse_s;

int shim_dfuse_new(lode_sim_s *sim, shim_dfuse_s **out);
void shim_dfuse_free(shim_dfuse_s *d);
/* the configuration: one interface, two alternate settings, the functional descriptor in the
 * last one's extra bytes */
int shim_dfuse_config(struct libusb_config_descriptor **config);
/* interface strings (index 4: internal flash, 5: option bytes), NULL for others */
const char *shim_dfuse_string(shim_dfuse_s *d, uint8_t idx);
/* a control transfer: bytes moved, a LIBUSB_ERROR, or SHIM_NOT_MINE */
int shim_dfuse_control(shim_dfuse_s *d, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                       unsigned char *data, uint16_t length);
int shim_dfuse_set_alt(shim_dfuse_s *d, int alt);
bool shim_dfuse_gone(const shim_dfuse_s *d);
/* the STM32F1 flash through its FPEC model (times on the board's clock): a DFU status (0 OK,
 * 4 errERASE, 6 errPROG); also used by the plain DFU 1.1 device (shim_dfu11.c) */
int shim_fpec_erase(lode_sim_s *sim, bool mass, uint32_t addr);
int shim_fpec_program(lode_sim_s *sim, uint32_t addr, const uint8_t *data, size_t len);
/* for LODE_USB_SHIM_REPORT: requests, GETSTATUS polls that came before bwPollTimeout ran out */
void shim_dfuse_stats(const shim_dfuse_s *d, unsigned long long *requests, unsigned long long *early_polls);

#endif
