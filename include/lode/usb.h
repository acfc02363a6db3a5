/* SPDX-License-Identifier: MIT */
/* USB probes: enumeration of CMSIS-DAP probes (v2 bulk via libusb, v1 HID via hidapi) and the
 * transports that talk to them. */
#ifndef LODE_USB_H
#define LODE_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"
#include "lode/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lode_usb_probe_kind_e {
    LODE_USB_CMSIS_DAP_V2 = 2, /* vendor bulk interface whose string contains "CMSIS-DAP" */
    LODE_USB_CMSIS_DAP_V1 = 1, /* HID interface, product string contains "CMSIS-DAP" */
    LODE_USB_STLINK = 16,      /* ST-Link V2/V2-1/V3 (VID 0483, known PIDs), bulk interface 0 */
} lode_usb_probe_kind_e;

typedef struct lode_usb_probe_s {
    lode_usb_probe_kind_e kind;
    uint16_t vid, pid;
    char serial[64];
    char product[128];
    char manufacturer[128];
    /* v2: bus/address/interface/endpoints; v1: the hidapi path */
    uint8_t bus, address, interface;
    uint8_t ep_out, ep_in;
    uint8_t ep_trace;          /* ST-Link: the SWO trace endpoint */
    uint16_t max_packet;
    char hid_path[256];
} lode_usb_probe_s;

/* Filter for enumeration/opening: 0 / empty fields match anything. */
typedef struct lode_usb_filter_s {
    uint16_t vid, pid;
    const char *serial;
} lode_usb_filter_s;

/* List CMSIS-DAP probes. *out is an array of *count entries (free with free()). A machine with
 * no USB access is not an error: zero probes. */
int lode_usb_list_cmsis_dap(const lode_usb_filter_s *filter, const lode_log_s *log,
                            lode_usb_probe_s **out, size_t *count);

/* List ST-Link probes (same conventions). */
int lode_usb_list_stlink(const lode_usb_filter_s *filter, const lode_log_s *log,
                         lode_usb_probe_s **out, size_t *count);
/* Open an ST-Link: its command endpoints and its trace endpoint (two transports on one
 * device; close `trace` before `cmd`). */
int lode_usb_open_stlink(const lode_usb_probe_s *probe, const lode_log_s *log,
                         lode_transport_s **cmd, lode_transport_s **trace);

/* Open the transport of one listed probe. */
int lode_usb_open(const lode_usb_probe_s *probe, const lode_log_s *log, lode_transport_s **out);

/* Parse "VID:PID[:SERIAL]" (hex VID/PID) into a filter; the serial points into `spec`. */
int lode_usb_parse_filter(const char *spec, lode_usb_filter_s *f);

/* Does a USB string identify a CMSIS-DAP interface ("CMSIS-DAP" anywhere in it)? */
bool lode_usb_is_cmsis_dap_string(const char *s);

#ifdef __cplusplus
}
#endif
#endif
