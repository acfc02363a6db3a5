/* SPDX-License-Identifier: MIT */
/* USB transport (lode/usb.h): enumeration by the callers' match tables, libusb bulk /
 * interrupt and control transfers, hidapi HID reports (64 bytes, written with report ID 0).
 * It knows no probe: which devices matter is the drivers' business. */
#include <hidapi/hidapi.h>
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/usb.h"

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

bool lode_usb_filter_match(const lode_usb_filter_s *f, const lode_usb_probe_s *p)
{
    if (!f)
        return true;
    if (f->vid && f->vid != p->vid)
        return false;
    if (f->pid && f->pid != p->pid)
        return false;
    if (f->serial && *f->serial && strcmp(f->serial, p->serial) != 0)
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

#define IF_FIELDS (LODE_USB_M_CLASS | LODE_USB_M_SUBCLASS | LODE_USB_M_PROTOCOL | LODE_USB_M_IFNUM | \
                   LODE_USB_M_STRING)

static bool row_fits_device(const lode_usb_match_s *r, uint16_t vid, uint16_t pid)
{
    return (!(r->fields & LODE_USB_M_VID) || r->vid == vid) && (!(r->fields & LODE_USB_M_PID) || r->pid == pid);
}

static bool row_fits_interface(const lode_usb_match_s *r, const struct libusb_interface_descriptor *id,
                               const char *istr)
{
    return (!(r->fields & LODE_USB_M_CLASS) || r->if_class == id->bInterfaceClass) &&
           (!(r->fields & LODE_USB_M_SUBCLASS) || r->if_subclass == id->bInterfaceSubClass) &&
           (!(r->fields & LODE_USB_M_PROTOCOL) || r->if_protocol == id->bInterfaceProtocol) &&
           (!(r->fields & LODE_USB_M_IFNUM) || r->if_number == id->bInterfaceNumber) &&
           (!(r->fields & LODE_USB_M_STRING) || (r->string && strstr(istr, r->string)));
}

/* endpoints of one interface: the first bulk OUT/IN pair (else the first interrupt pair), the
 * second IN endpoint of that type as the "trace" endpoint */
static void take_endpoints(lode_usb_probe_s *p, const struct libusb_interface_descriptor *id)
{
    for (int pass = 0; pass < 2 && !(p->ep_in && p->ep_out); pass++) {
        uint8_t type = pass == 0 ? LIBUSB_TRANSFER_TYPE_BULK : LIBUSB_TRANSFER_TYPE_INTERRUPT;
        p->ep_in = p->ep_out = p->ep_trace = 0;
        for (uint8_t e = 0; e < id->bNumEndpoints; e++) {
            const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];
            if ((ep->bmAttributes & 3) != type)
                continue;
            if (ep->bEndpointAddress & 0x80) {
                if (!p->ep_in)
                    p->ep_in = ep->bEndpointAddress;
                else if (!p->ep_trace)
                    p->ep_trace = ep->bEndpointAddress;
            } else if (!p->ep_out) {
                p->ep_out = ep->bEndpointAddress;
                p->max_packet = ep->wMaxPacketSize;
            }
        }
        p->interrupt = pass == 1;
    }
    if (!(p->ep_in && p->ep_out))
        p->interrupt = false;
}

static void device_strings(libusb_device_handle *h, const struct libusb_device_descriptor *dd,
                           lode_usb_probe_s *p)
{
    get_string(h, dd->iSerialNumber, p->serial, sizeof p->serial);
    get_string(h, dd->iProduct, p->product, sizeof p->product);
    get_string(h, dd->iManufacturer, p->manufacturer, sizeof p->manufacturer);
}

/* the matches of one device */
static void enum_device(libusb_device *dev, const lode_usb_match_s *table, size_t rows,
                        const lode_usb_filter_s *filter, lode_usb_probe_s **arr, size_t *n)
{
    struct libusb_device_descriptor dd;
    if (libusb_get_device_descriptor(dev, &dd) != 0)
        return;
    bool any = false;
    for (size_t r = 0; r < rows && !any; r++)
        any = row_fits_device(&table[r], dd.idVendor, dd.idProduct);
    if (!any)
        return;
    struct libusb_config_descriptor *cfg = NULL;
    if (libusb_get_active_config_descriptor(dev, &cfg) != 0)
        cfg = NULL;
    libusb_device_handle *h = NULL;
    if (libusb_open(dev, &h) != 0)
        h = NULL; /* no access: listed without strings, interface strings cannot match */
    lode_usb_probe_s base;
    memset(&base, 0, sizeof base);
    base.vid = dd.idVendor;
    base.pid = dd.idProduct;
    base.bus = libusb_get_bus_number(dev);
    base.address = libusb_get_device_address(dev);
    device_strings(h, &dd, &base);
    bool device_listed = false;
    unsigned nif = cfg ? cfg->bNumInterfaces : 0;
    for (unsigned k = 0; k < (nif ? nif : 1); k++) {
        const struct libusb_interface_descriptor *id =
            nif && cfg->interface[k].num_altsetting > 0 ? &cfg->interface[k].altsetting[0] : NULL;
        char istr[128] = "";
        if (id)
            get_string(h, id->iInterface, istr, sizeof istr);
        for (size_t r = 0; r < rows; r++) {
            const lode_usb_match_s *row = &table[r];
            if (!row_fits_device(row, dd.idVendor, dd.idProduct))
                continue;
            bool if_row = (row->fields & IF_FIELDS) != 0;
            if (if_row ? !id || !row_fits_interface(row, id, istr) : device_listed)
                continue;
            lode_usb_probe_s p = base;
            if (id) {
                p.interface = id->bInterfaceNumber;
                p.if_class = id->bInterfaceClass;
                p.if_subclass = id->bInterfaceSubClass;
                p.if_protocol = id->bInterfaceProtocol;
                snprintf(p.if_string, sizeof p.if_string, "%s", istr);
                take_endpoints(&p, id);
            }
            p.match = (int)r;
            p.tag = row->tag;
            device_listed = device_listed || !if_row;
            if (lode_usb_filter_match(filter, &p))
                list_add(arr, n, &p);
            break; /* the first fitting row wins */
        }
    }
    if (h)
        libusb_close(h);
    if (cfg)
        libusb_free_config_descriptor(cfg);
}

int lode_usb_enumerate(const lode_usb_match_s *table, size_t rows, const lode_usb_filter_s *filter,
                       const lode_log_s *log, lode_usb_probe_s **arr, size_t *n)
{
    if ((!table && rows) || !arr || !n)
        return LODE_E_INVALID_ARG;
    libusb_context *ctx = NULL;
    if (libusb_init(&ctx) != 0) {
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "libusb unavailable: no USB devices listed");
        return LODE_OK;
    }
    libusb_device **devs = NULL;
    ssize_t nd = libusb_get_device_list(ctx, &devs);
    for (ssize_t i = 0; i < nd; i++)
        enum_device(devs[i], table, rows, filter, arr, n);
    if (devs)
        libusb_free_device_list(devs, 1);
    libusb_exit(ctx);
    return LODE_OK;
}

int lode_usb_enumerate_hid(const lode_usb_match_s *table, size_t rows,
                           const lode_usb_filter_s *filter, const lode_log_s *log,
                           lode_usb_probe_s **arr, size_t *n)
{
    if ((!table && rows) || !arr || !n)
        return LODE_E_INVALID_ARG;
    if (hid_init() != 0) {
        lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "hidapi unavailable: no HID devices listed");
        return LODE_OK;
    }
    struct hid_device_info *all = hid_enumerate(0, 0);
    for (struct hid_device_info *d = all; d; d = d->next) {
        char product[128];
        wide_to_ascii(d->product_string, product, sizeof product);
        for (size_t r = 0; r < rows; r++) {
            const lode_usb_match_s *row = &table[r];
            if (!row_fits_device(row, d->vendor_id, d->product_id) ||
                ((row->fields & LODE_USB_M_IFNUM) && row->if_number != d->interface_number) ||
                ((row->fields & LODE_USB_M_STRING) && (!row->string || !strstr(product, row->string))))
                continue;
            lode_usb_probe_s p;
            memset(&p, 0, sizeof p);
            p.vid = d->vendor_id;
            p.pid = d->product_id;
            wide_to_ascii(d->serial_number, p.serial, sizeof p.serial);
            memcpy(p.product, product, sizeof p.product);
            wide_to_ascii(d->manufacturer_string, p.manufacturer, sizeof p.manufacturer);
            p.interface = (uint8_t)(d->interface_number < 0 ? 0 : d->interface_number);
            p.if_class = 3; /* HID */
            p.max_packet = 64;
            p.match = (int)r;
            p.tag = row->tag;
            snprintf(p.hid_path, sizeof p.hid_path, "%s", d->path ? d->path : "");
            if (lode_usb_filter_match(filter, &p))
                list_add(arr, n, &p);
            break;
        }
    }
    hid_free_enumeration(all);
    hid_exit();
    return LODE_OK;
}

/* ---- v2: libusb bulk ------------------------------------------------------------------------ */

typedef struct usb_bulk_s {
    lode_transport_s base;
    libusb_context *ctx;
    libusb_device_handle *h;
    uint8_t interface, ep_out, ep_in;
    bool interrupt;
} usb_bulk_s;

static int ep_transfer(usb_bulk_s *u, uint8_t ep, uint8_t *data, size_t len, int *done, unsigned ms)
{
    if (len > INT32_MAX)
        return LIBUSB_ERROR_INVALID_PARAM;
    return u->interrupt ? libusb_interrupt_transfer(u->h, ep, data, (int)len, done, ms)
                        : libusb_bulk_transfer(u->h, ep, data, (int)len, done, ms);
}

static int bulk_write(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    usb_bulk_s *u = (usb_bulk_s *)t;
    int done = 0;
    int r = ep_transfer(u, u->ep_out, (uint8_t *)(uintptr_t)data, len, &done, timeout_ms);
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
    int r = ep_transfer(u, u->ep_in, buf, cap, &done, timeout_ms);
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

static int open_libusb(const lode_usb_probe_s *p, const lode_log_s *log, lode_transport_s **out)
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
    u->interrupt = p->interrupt;
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
                         "cannot open USB device %04x:%04x: %s%s", p->vid, p->pid,
                         libusb_error_name(r),
                         r == LIBUSB_ERROR_ACCESS ? " (no permission: install lode's udev rules, "
                                                    "60-lode.rules; see the README, Installing)"
                                                  : "");
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

/* ---- a second IN endpoint ------------------------------------------------------------------- */

typedef struct usb_pipe_s {
    lode_transport_s base;
    usb_bulk_s *dev;
    uint8_t ep;
} usb_pipe_s;

static int pipe_write(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    (void)t, (void)data, (void)len, (void)timeout_ms;
    return LODE_E_UNSUPPORTED;
}

static int pipe_read(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms)
{
    usb_pipe_s *u = (usb_pipe_s *)t;
    int done = 0;
    int r = ep_transfer(u->dev, u->ep, buf, cap, &done, timeout_ms);
    if (r == LIBUSB_ERROR_TIMEOUT)
        return LODE_E_TIMEOUT;
    if (r != 0)
        return LODE_E_IO;
    *got = (size_t)done;
    return LODE_OK;
}

static void pipe_close(lode_transport_s *t) { free(t); }

static const lode_transport_ops_s pipe_ops = {pipe_write, pipe_read, pipe_close};

int lode_usb_open_pipe(lode_transport_s *dev, uint8_t ep_in, lode_transport_s **out)
{
    if (!dev || !out || dev->ops != &bulk_ops || !(ep_in & 0x80))
        return LODE_E_INVALID_ARG;
    usb_pipe_s *u = calloc(1, sizeof *u);
    if (!u)
        return LODE_E_NOMEM;
    u->base.ops = &pipe_ops;
    u->base.kind = LODE_TRANSPORT_USB_BULK;
    u->base.packet_size = dev->packet_size;
    u->base.log = dev->log;
    u->dev = (usb_bulk_s *)dev;
    u->ep = ep_in;
    *out = &u->base;
    return LODE_OK;
}

/* ---- control transfers ----------------------------------------------------------------------- */

int lode_usb_control(lode_transport_s *t, uint8_t request_type, uint8_t request, uint16_t value,
                     uint16_t index, uint8_t *data, size_t len, size_t *got, unsigned timeout_ms)
{
    if (!t || (len && !data) || len > 0xFFFF)
        return LODE_E_INVALID_ARG;
    usb_bulk_s *u = t->ops == &bulk_ops ? (usb_bulk_s *)t
                    : t->ops == &pipe_ops ? ((usb_pipe_s *)t)->dev
                                          : NULL;
    if (!u)
        return LODE_E_UNSUPPORTED;
    int r = libusb_control_transfer(u->h, request_type, request, value, index, data, (uint16_t)len,
                                    timeout_ms);
    if (r == LIBUSB_ERROR_TIMEOUT)
        return LODE_E_TIMEOUT;
    if (r == LIBUSB_ERROR_PIPE) {
        lode_log(t->log, LODE_LOG_DEBUG, LODE_LOGC_WIRE, "USB control request %02x/%02x stalled",
                 request_type, request);
        return LODE_E_PROTOCOL;
    }
    if (r < 0) {
        /* a device that left the bus (one that resets after a bootloader's last request) is the
         * caller's to judge */
        lode_log(t->log, r == LIBUSB_ERROR_NO_DEVICE ? LODE_LOG_DEBUG : LODE_LOG_ERROR, LODE_LOGC_WIRE,
                 "USB control request %02x/%02x failed: %s", request_type, request, libusb_error_name(r));
        return r == LIBUSB_ERROR_NO_DEVICE ? LODE_E_NO_DEVICE : LODE_E_IO;
    }
    if (got)
        *got = (size_t)r;
    return LODE_OK;
}

int lode_usb_set_alt(lode_transport_s *t, uint8_t iface, uint8_t alt)
{
    usb_bulk_s *u = t && t->ops == &bulk_ops ? (usb_bulk_s *)t : NULL;
    if (!u)
        return LODE_E_UNSUPPORTED;
    int r = libusb_set_interface_alt_setting(u->h, iface, alt);
    if (r != 0) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "USB interface %u: cannot select alternate setting %u: %s",
                 iface, alt, libusb_error_name(r));
        return r == LIBUSB_ERROR_NO_DEVICE ? LODE_E_NO_DEVICE : LODE_E_IO;
    }
    return LODE_OK;
}

int lode_usb_reset(lode_transport_s *t)
{
    usb_bulk_s *u = t && t->ops == &bulk_ops ? (usb_bulk_s *)t : NULL;
    if (!u)
        return LODE_E_UNSUPPORTED;
    int r = libusb_reset_device(u->h);
    if (r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_NO_DEVICE)
        return LODE_E_NO_DEVICE;
    if (r != 0) {
        lode_log(t->log, LODE_LOG_ERROR, LODE_LOGC_WIRE, "USB reset failed: %s", libusb_error_name(r));
        return LODE_E_IO;
    }
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

static int open_hid(const lode_usb_probe_s *p, const lode_log_s *log, lode_transport_s **out)
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
                 "cannot open HID device %04x:%04x (%s): check the permissions (install lode's "
                 "udev rules, 60-lode.rules; see the README, Installing)",
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
    return probe->hid_path[0] ? open_hid(probe, log, out) : open_libusb(probe, log, out);
}
