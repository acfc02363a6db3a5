/* SPDX-License-Identifier: MIT */
/* USB transport: enumeration driven by match tables that the drivers supply (the transport
 * knows no probe), bulk / interrupt transfers (libusb), HID reports (hidapi) and control
 * transfers. A driver lists its devices with lode_usb_enumerate (+ _hid), picks one and opens
 * it with lode_usb_open. */
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

typedef struct lode_usb_probe_s {
    uint16_t vid, pid;
    char serial[64];
    char product[128];
    char manufacturer[128];
    /* libusb: bus/address/interface/endpoints; HID: the hidapi path */
    uint8_t bus, address, interface;
    uint8_t ep_out, ep_in;     /* the first bulk OUT / IN endpoints (or the first interrupt
                                  ones when the interface has no bulk pair: `interrupt`) */
    uint8_t ep_trace;          /* the second IN endpoint (CMSIS-DAP SWO, ST-Link trace) */
    bool interrupt;            /* ep_out/ep_in are interrupt endpoints */
    uint16_t max_packet;
    char hid_path[256];        /* non-empty: a HID device, opened through hidapi */
    /* what the match saw */
    uint8_t if_class, if_subclass, if_protocol;
    char if_string[128];
    int match;                 /* index of the matching row in the caller's table */
    int tag;                   /* that row's tag: what the driver knows the device as */
} lode_usb_probe_s;

/* One row of a driver's match table: the interfaces (or devices) it drives. Only the fields
 * named in `fields` are compared. A row without interface fields (LODE_USB_M_CLASS ..
 * LODE_USB_M_STRING) matches a device once, as its first interface; the others match each
 * interface (alternate setting 0) that fits. The first fitting row wins. */
#define LODE_USB_M_VID 0x01u
#define LODE_USB_M_PID 0x02u
#define LODE_USB_M_CLASS 0x04u    /* bInterfaceClass */
#define LODE_USB_M_SUBCLASS 0x08u
#define LODE_USB_M_PROTOCOL 0x10u
#define LODE_USB_M_IFNUM 0x20u    /* bInterfaceNumber */
#define LODE_USB_M_STRING 0x40u   /* `string` occurs in the interface string (HID: in the
                                     product string) */
typedef struct lode_usb_match_s {
    unsigned fields;
    uint16_t vid, pid;
    uint8_t if_class, if_subclass, if_protocol, if_number;
    const char *string;
    int tag;                   /* the driver's own value, copied to lode_usb_probe_s.tag */
} lode_usb_match_s;



/* Filter for enumeration/opening: 0 / empty fields match anything. */
typedef struct lode_usb_filter_s {
    uint16_t vid, pid;
    const char *serial;
} lode_usb_filter_s;

/* Parse "VID:PID[:SERIAL]" (hex VID/PID) into a filter; the serial points into `spec`. */
int lode_usb_parse_filter(const char *spec, lode_usb_filter_s *f);

/* Does a listed device pass the filter (vid, pid, serial)? NULL passes everything. */
bool lode_usb_filter_match(const lode_usb_filter_s *f, const lode_usb_probe_s *p);

/* List the libusb devices/interfaces that a row of `table` matches and `filter` passes,
 * APPENDED to *arr (*n entries; free with free(); at most 64 in all). A machine without USB
 * access is not an error: nothing is added. */
int lode_usb_enumerate(const lode_usb_match_s *table, size_t rows, const lode_usb_filter_s *filter,
                       const lode_log_s *log, lode_usb_probe_s **arr, size_t *n);
/* The same for HID devices (hidapi): VID, PID, LODE_USB_M_IFNUM and LODE_USB_M_STRING (on
 * the product string) are compared; 64-byte reports. */
int lode_usb_enumerate_hid(const lode_usb_match_s *table, size_t rows,
                           const lode_usb_filter_s *filter, const lode_log_s *log,
                           lode_usb_probe_s **arr, size_t *n);

/* Open a listed device: HID (hid_path set) through hidapi, otherwise its interface is claimed
 * and ep_out/ep_in carry bulk (or interrupt) transfers. */
int lode_usb_open(const lode_usb_probe_s *probe, const lode_log_s *log, lode_transport_s **out);

/* A second IN endpoint of an open libusb device as a read-only transport (close it before
 * `dev`). */
int lode_usb_open_pipe(lode_transport_s *dev, uint8_t ep_in, lode_transport_s **out);

/* A control transfer on the default pipe of an open libusb device (USB 2.0 9.3):
 * request_type bit 7 = device-to-host (then `len` bytes are read into data, *got says how many),
 * otherwise `len` bytes of data are sent. A stall is LODE_E_PROTOCOL; HID transports:
 * LODE_E_UNSUPPORTED. */
int lode_usb_control(lode_transport_s *t, uint8_t request_type, uint8_t request, uint16_t value,
                     uint16_t index, uint8_t *data, size_t len, size_t *got, unsigned timeout_ms);

/* Select alternate setting `alt` of interface `iface` (claimed by lode_usb_open) on an open
 * libusb device (USB 2.0 9.4.10 SET_INTERFACE). HID transports: LODE_E_UNSUPPORTED. */
int lode_usb_set_alt(lode_transport_s *t, uint8_t iface, uint8_t alt);

/* A USB port reset of an open libusb device (USB 2.0 7.1.7.5; DFU: the end of a detach or of
 * a manifestation). LODE_E_NO_DEVICE when the device came back as another device or left the
 * bus (the handle is then useless: close it and enumerate again). */
int lode_usb_reset(lode_transport_s *t);

#ifdef __cplusplus
}
#endif
#endif
