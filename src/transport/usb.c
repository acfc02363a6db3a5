/* SPDX-License-Identifier: MIT */
/* USB transports for CMSIS-DAP probes.
 * v2: a vendor-specific interface (class 0xFF) whose interface string contains "CMSIS-DAP",
 *     with a bulk OUT and a bulk IN endpoint (the first two bulk endpoints; a third is SWO).
 * v1: a HID interface; the device's product string contains "CMSIS-DAP"; 64-byte reports
 *     (full speed) written with a report ID of 0. */
#include <hidapi/hidapi.h>
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/stlink.h"
#include "lode/usb.h"

bool lode_usb_is_cmsis_dap_string(const char *s)
{
    return s && strstr(s, "CMSIS-DAP") != NULL;
}

int lode_usb_parse_filter(const char *spec, lode_usb_filter_s *f)
{
    memset(f, 0, sizeof *f);
    if (!spec || !*spec)
        return LODE_OK;
    char *end;
    unsigned long vid = strtoul(spec, &end, 16);
    if (end == spec || *end != ':' || vid > 0xFFFF)
        return LODE_E_INVALID_ARG;
    const char *p = end + 1;
    unsigned long pid = strtoul(p, &end, 16);
    if (end == p || (*end && *end != ':') || pid > 0xFFFF)
        return LODE_E_INVALID_ARG;
    f->vid = (uint16_t)vid;
    f->pid = (uint16_t)pid;
    if (*end == ':' && end[1])
        f->serial = end + 1;
    return LODE_OK;
}

static bool filter_match(const lode_usb_filter_s *f, uint16_t vid, uint16_t pid, const char *serial)
{
    if (!f)
        return true;
    if (f->vid && f->vid != vid)
        return false;
    if (f->pid && f->pid != pid)
        return false;
    if (f->serial && *f->serial && strcmp(f->serial, serial ? serial : "") != 0)
        return false;
    return true;
}

/* ---- growable probe list (bounded) --------------------------------------------------------- */

#define USB_MAX_PROBES 64

static int list_add(lode_usb_probe_s **arr, size_t *n, const lode_usb_probe_s *p)
{
    if (*n >= USB_MAX_PROBES)
        return LODE_E_NOMEM;
    lode_usb_probe_s *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (!na)
        return LODE_E_NOMEM;
    na[*n] = *p;
    *arr = na;
    (*n)++;
    return LODE_OK;
}

static void get_string(libusb_device_handle *h, uint8_t idx, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!idx || !h)
        return;
    int r = libusb_get_string_descriptor_ascii(h, idx, (unsigned char *)buf, (int)cap);
    if (r < 0)
        buf[0] = 0;
    else
        buf[(size_t)r < cap ? (size_t)r : cap - 1] = 0;
}

static void wide_to_ascii(const wchar_t *w, char *buf, size_t cap)
{
    size_t i = 0;
    for (; w && w[i] && i + 1 < cap; i++)
        buf[i] = (w[i] >= 0x20 && w[i] < 0x7F) ? (char)w[i] : '?';
    buf[i] = 0;
}

/* ---- enumeration --------------------------------------------------------------------------- */

static void list_v2(libusb_context *ctx, const lode_usb_filter_s *filter, const lode_log_s *log,
                    lode_usb_probe_s **arr, size_t *n)
{
    libusb_device **devs = NULL;
    ssize_t nd = libusb_get_device_list(ctx, &devs);
    for (ssize_t i = 0; i < nd; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(devs[i], &dd) != 0)
            continue;
        struct libusb_config_descriptor *cfg = NULL;
        if (libusb_get_active_config_descriptor(devs[i], &cfg) != 0 || !cfg)
            continue;
        libusb_device_handle *h = NULL;
        bool opened = libusb_open(devs[i], &h) == 0;
        for (uint8_t k = 0; opened && k < cfg->bNumInterfaces; k++) {
            const struct libusb_interface *itf = &cfg->interface[k];
            if (itf->num_altsetting < 1)
                continue;
            const struct libusb_interface_descriptor *id = &itf->altsetting[0];
            if (id->bInterfaceClass != 0xFF)
                continue;
            char istr[128];
            get_string(h, id->iInterface, istr, sizeof istr);
            if (!lode_usb_is_cmsis_dap_string(istr))
                continue;
            lode_usb_probe_s p;
            memset(&p, 0, sizeof p);
            p.kind = LODE_USB_CMSIS_DAP_V2;
            p.vid = dd.idVendor;
            p.pid = dd.idProduct;
            get_string(h, dd.iSerialNumber, p.serial, sizeof p.serial);
            get_string(h, dd.iProduct, p.product, sizeof p.product);
            get_string(h, dd.iManufacturer, p.manufacturer, sizeof p.manufacturer);
            p.bus = libusb_get_bus_number(devs[i]);
            p.address = libusb_get_device_address(devs[i]);
            p.interface = id->bInterfaceNumber;
            /* the first bulk OUT and the first bulk IN endpoint carry commands/responses */
            for (uint8_t e = 0; e < id->bNumEndpoints; e++) {
                const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];
                if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
                    continue;
                if ((ep->bEndpointAddress & 0x80) && !p.ep_in)
                    p.ep_in = ep->bEndpointAddress;
                else if (!(ep->bEndpointAddress & 0x80) && !p.ep_out) {
                    p.ep_out = ep->bEndpointAddress;
                    p.max_packet = ep->wMaxPacketSize;
                }
            }
            if (!p.ep_in || !p.ep_out) {
                lode_log(log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                         "USB %04x:%04x: CMSIS-DAP interface %u has no bulk endpoint pair; ignored",
                         p.vid, p.pid, p.interface);
                continue;
            }
            if (filter_match(filter, p.vid, p.pid, p.serial))
                list_add(arr, n, &p);
        }
        if (h)
            libusb_close(h);
        libusb_free_config_descriptor(cfg);
    }
    if (devs)
        libusb_free_device_list(devs, 1);
}

static bool already_listed(const lode_usb_probe_s *arr, size_t n, uint16_t vid, uint16_t pid,
                           const char *serial)
{
    for (size_t i = 0; i < n; i++)
        if (arr[i].vid == vid && arr[i].pid == pid && !strcmp(arr[i].serial, serial))
            return true;
    return false;
}

static void list_v1(const lode_usb_filter_s *filter, lode_usb_probe_s **arr, size_t *n)
{
    struct hid_device_info *all = hid_enumerate(0, 0);
    for (struct hid_device_info *d = all; d; d = d->next) {
        char product[128];
        wide_to_ascii(d->product_string, product, sizeof product);
        if (!lode_usb_is_cmsis_dap_string(product))
            continue;
        lode_usb_probe_s p;
        memset(&p, 0, sizeof p);
        p.kind = LODE_USB_CMSIS_DAP_V1;
        p.vid = d->vendor_id;
        p.pid = d->product_id;
        wide_to_ascii(d->serial_number, p.serial, sizeof p.serial);
        memcpy(p.product, product, sizeof p.product);
        wide_to_ascii(d->manufacturer_string, p.manufacturer, sizeof p.manufacturer);
        p.interface = (uint8_t)(d->interface_number < 0 ? 0 : d->interface_number);
        p.max_packet = 64;
        snprintf(p.hid_path, sizeof p.hid_path, "%s", d->path ? d->path : "");
        /* a probe with both a v2 and a v1 interface is listed once, as v2 */
        if (already_listed(*arr, *n, p.vid, p.pid, p.serial))
            continue;
        if (filter_match(filter, p.vid, p.pid, p.serial))
            list_add(arr, n, &p);
    }
    hid_free_enumeration(all);
}

int lode_usb_list_cmsis_dap(const lode_usb_filter_s *filter, const lode_log_s *log,
                            lode_usb_probe_s **out, size_t *count)
{
    lode_usb_probe_s *arr = NULL;
    size_t n = 0;
    libusb_context *ctx = NULL;
    if (libusb_init(&ctx) == 0) {
        list_v2(ctx, filter, log, &arr, &n);
        libusb_exit(ctx);
    } else {
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "libusb unavailable: no USB bulk probes listed");
    }
    if (hid_init() == 0) {
        list_v1(filter, &arr, &n);
        hid_exit();
    }
    *out = arr;
    *count = n;
    return LODE_OK;
}

/* ---- v2: libusb bulk ------------------------------------------------------------------------ */

typedef struct usb_bulk_s {
    lode_transport_s base;
    libusb_context *ctx;
    libusb_device_handle *h;
    uint8_t interface, ep_out, ep_in;
} usb_bulk_s;

static int bulk_write(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    usb_bulk_s *u = (usb_bulk_s *)t;
    int done = 0;
    int r = libusb_bulk_transfer(u->h, u->ep_out, (unsigned char *)(uintptr_t)data, (int)len, &done,
                                 timeout_ms);
    if (r == LIBUSB_ERROR_TIMEOUT)
        return LODE_E_TIMEOUT;
    if (r != 0 || (size_t)done != len) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "USB write failed: %s", libusb_error_name(r));
        return LODE_E_IO;
    }
    return LODE_OK;
}

static int bulk_read(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms)
{
    usb_bulk_s *u = (usb_bulk_s *)t;
    int done = 0;
    int r = libusb_bulk_transfer(u->h, u->ep_in, buf, (int)cap, &done, timeout_ms);
    if (r == LIBUSB_ERROR_TIMEOUT)
        return LODE_E_TIMEOUT;
    if (r != 0) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "USB read failed: %s", libusb_error_name(r));
        return LODE_E_IO;
    }
    *got = (size_t)done;
    return LODE_OK;
}

static void bulk_close(lode_transport_s *t)
{
    usb_bulk_s *u = (usb_bulk_s *)t;
    if (u->h) {
        libusb_release_interface(u->h, u->interface);
        libusb_close(u->h);
    }
    if (u->ctx)
        libusb_exit(u->ctx);
    free(u);
}

static const lode_transport_ops_s bulk_ops = {bulk_write, bulk_read, bulk_close};

static int open_v2(const lode_usb_probe_s *p, const lode_log_s *log, lode_transport_s **out)
{
    usb_bulk_s *u = calloc(1, sizeof *u);
    if (!u)
        return LODE_E_NOMEM;
    u->base.ops = &bulk_ops;
    u->base.kind = LODE_TRANSPORT_USB_BULK;
    u->base.packet_size = p->max_packet ? p->max_packet : 512;
    u->base.log = log;
    u->interface = p->interface;
    u->ep_in = p->ep_in;
    u->ep_out = p->ep_out;
    int rc = LODE_E_NO_DEVICE;
    if (libusb_init(&u->ctx) != 0)
        goto fail;
    libusb_device **devs = NULL;
    ssize_t nd = libusb_get_device_list(u->ctx, &devs);
    for (ssize_t i = 0; i < nd && !u->h; i++) {
        if (libusb_get_bus_number(devs[i]) == p->bus && libusb_get_device_address(devs[i]) == p->address) {
            int r = libusb_open(devs[i], &u->h);
            if (r != 0) {
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                         "cannot open USB device %04x:%04x: %s (check the udev rules / permissions)",
                         p->vid, p->pid, libusb_error_name(r));
                rc = r == LIBUSB_ERROR_ACCESS ? LODE_E_ACCESS : LODE_E_IO;
                u->h = NULL;
            }
        }
    }
    if (devs)
        libusb_free_device_list(devs, 1);
    if (!u->h)
        goto fail;
    libusb_set_auto_detach_kernel_driver(u->h, 1);
    if (libusb_claim_interface(u->h, u->interface) != 0) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "USB device %04x:%04x: interface %u is busy (another program uses the probe?)",
                 p->vid, p->pid, u->interface);
        rc = LODE_E_ACCESS;
        goto fail;
    }
    *out = &u->base;
    return LODE_OK;
fail:
    bulk_close(&u->base);
    return rc;
}

/* ---- ST-Link ---------------------------------------------------------------------------------- */

int lode_usb_list_stlink(const lode_usb_filter_s *filter, const lode_log_s *log,
                         lode_usb_probe_s **out, size_t *count)
{
    lode_usb_probe_s *arr = NULL;
    size_t n = 0;
    libusb_context *ctx = NULL;
    if (libusb_init(&ctx) != 0) {
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "libusb unavailable: no ST-Link listed");
        *out = NULL;
        *count = 0;
        return LODE_OK;
    }
    libusb_device **devs = NULL;
    ssize_t nd = libusb_get_device_list(ctx, &devs);
    for (ssize_t i = 0; i < nd; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(devs[i], &dd) != 0)
            continue;
        int hw = lode_stlink_usb_version(dd.idVendor, dd.idProduct);
        if (!hw)
            continue;
        lode_usb_probe_s p;
        memset(&p, 0, sizeof p);
        p.kind = LODE_USB_STLINK;
        p.vid = dd.idVendor;
        p.pid = dd.idProduct;
        p.bus = libusb_get_bus_number(devs[i]);
        p.address = libusb_get_device_address(devs[i]);
        p.interface = 0;
        /* endpoints by version: V2 out 0x02 / in 0x81 / trace 0x83; V2-1 and V3 out 0x01 /
         * in 0x81 / trace 0x82 */
        bool v2 = dd.idProduct == LODE_STLINK_V2_PID;
        p.ep_out = v2 ? 0x02 : 0x01;
        p.ep_in = 0x81;
        p.ep_trace = v2 ? 0x83 : 0x82;
        p.max_packet = hw == 3 ? 512 : 64;
        snprintf(p.product, sizeof p.product, "ST-Link/V%s", hw == 3 ? "3" : v2 ? "2" : "2-1");
        snprintf(p.manufacturer, sizeof p.manufacturer, "STMicroelectronics");
        libusb_device_handle *h = NULL;
        if (libusb_open(devs[i], &h) == 0) {
            get_string(h, dd.iSerialNumber, p.serial, sizeof p.serial);
            libusb_close(h);
        }
        if (filter_match(filter, p.vid, p.pid, p.serial))
            list_add(&arr, &n, &p);
    }
    if (devs)
        libusb_free_device_list(devs, 1);
    libusb_exit(ctx);
    *out = arr;
    *count = n;
    return LODE_OK;
}

typedef struct usb_trace_s {
    lode_transport_s base;
    usb_bulk_s *dev;
    uint8_t ep;
} usb_trace_s;

static int trace_write(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    (void)t, (void)data, (void)len, (void)timeout_ms;
    return LODE_E_UNSUPPORTED;
}

static int trace_read(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms)
{
    usb_trace_s *u = (usb_trace_s *)t;
    int done = 0;
    int r = libusb_bulk_transfer(u->dev->h, u->ep, buf, (int)cap, &done, timeout_ms);
    if (r == LIBUSB_ERROR_TIMEOUT)
        return LODE_E_TIMEOUT;
    if (r != 0)
        return LODE_E_IO;
    *got = (size_t)done;
    return LODE_OK;
}

static void trace_close(lode_transport_s *t) { free(t); }

static const lode_transport_ops_s trace_ops = {trace_write, trace_read, trace_close};

int lode_usb_open_stlink(const lode_usb_probe_s *probe, const lode_log_s *log,
                         lode_transport_s **cmd, lode_transport_s **trace)
{
    if (!probe || !cmd || probe->kind != LODE_USB_STLINK)
        return LODE_E_INVALID_ARG;
    int rc = open_v2(probe, log, cmd);
    if (rc != LODE_OK || !trace)
        return rc;
    usb_trace_s *u = calloc(1, sizeof *u);
    if (!u) {
        lode_transport_close(*cmd);
        *cmd = NULL;
        return LODE_E_NOMEM;
    }
    u->base.ops = &trace_ops;
    u->base.kind = LODE_TRANSPORT_USB_BULK;
    u->base.packet_size = probe->max_packet;
    u->base.log = log;
    u->dev = (usb_bulk_s *)*cmd;
    u->ep = probe->ep_trace;
    *trace = &u->base;
    return LODE_OK;
}

/* ---- v1: hidapi ------------------------------------------------------------------------------ */

typedef struct usb_hid_s {
    lode_transport_s base;
    hid_device *h;
} usb_hid_s;

static int hid_tx(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    (void)timeout_ms;
    usb_hid_s *u = (usb_hid_s *)t;
    /* report ID 0 first, then a full report (zero padded) */
    uint8_t buf[1 + 1024];
    size_t rep = t->packet_size;
    if (len > rep || rep > sizeof buf - 1)
        return LODE_E_INVALID_ARG;
    memset(buf, 0, 1 + rep);
    memcpy(buf + 1, data, len);
    int r = hid_write(u->h, buf, 1 + rep);
    if (r < 0) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "HID write failed");
        return LODE_E_IO;
    }
    return LODE_OK;
}

static int hid_rx(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms)
{
    usb_hid_s *u = (usb_hid_s *)t;
    int r = hid_read_timeout(u->h, buf, cap, (int)timeout_ms);
    if (r == 0)
        return LODE_E_TIMEOUT;
    if (r < 0) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "HID read failed");
        return LODE_E_IO;
    }
    *got = (size_t)r;
    return LODE_OK;
}

static void hid_close_t(lode_transport_s *t)
{
    usb_hid_s *u = (usb_hid_s *)t;
    if (u->h)
        hid_close(u->h);
    hid_exit();
    free(u);
}

static const lode_transport_ops_s hid_ops = {hid_tx, hid_rx, hid_close_t};

static int open_v1(const lode_usb_probe_s *p, const lode_log_s *log, lode_transport_s **out)
{
    if (hid_init() != 0)
        return LODE_E_IO;
    usb_hid_s *u = calloc(1, sizeof *u);
    if (!u) {
        hid_exit();
        return LODE_E_NOMEM;
    }
    u->base.ops = &hid_ops;
    u->base.kind = LODE_TRANSPORT_USB_HID;
    u->base.packet_size = 64;
    u->base.log = log;
    u->h = hid_open_path(p->hid_path);
    if (!u->h) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "cannot open HID device %04x:%04x (%s): check the udev rules / permissions",
                 p->vid, p->pid, p->hid_path);
        hid_close_t(&u->base);
        return LODE_E_ACCESS;
    }
    *out = &u->base;
    return LODE_OK;
}

int lode_usb_open(const lode_usb_probe_s *probe, const lode_log_s *log, lode_transport_s **out)
{
    if (!probe || !out)
        return LODE_E_INVALID_ARG;
    return probe->kind == LODE_USB_CMSIS_DAP_V2 ? open_v2(probe, log, out) : open_v1(probe, log, out);
}
