/* SPDX-License-Identifier: MIT */
/* A stand-in libusb-0.1.so.4 (the old `usb.h` API that Debian's teensy_loader_cli binds) over
 * the libusb-1.0 API: next to the stand-in libusb-1.0.so.0 (usb_shim.c, the plain build) it
 * shows outside programs the same simulated devices (LODE_USB_SHIM). Written from libusb-0.1's
 * documented API and its header's structures: busses and devices as linked lists refreshed by
 * usb_find_busses/usb_find_devices, handles, control/bulk/interrupt transfers returning bytes or
 * a negative errno, usb_strerror for the last failure. The devices carry their device
 * descriptor only (config = NULL, bNumConfigurations = 0: no caller here walks configurations).
 * The API itself keeps process-wide state (usb_busses); so does this test library. */
#include <errno.h>
#include <libusb-1.0/libusb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usb.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_DEV 32

struct usb_dev_handle {
    libusb_device_handle *h;
    struct usb_device *dev;
    int interface;
};

static struct {
    libusb_context *ctx;
    bool inited;
    libusb_device **list;
    struct usb_bus bus;
    struct usb_device dev[MAX_DEV];
    libusb_device *ldev[MAX_DEV];
    char err[128];
} g; /* the bus as libusb-0.1 shows it (see the file comment) */

EXPORT struct usb_bus *usb_busses;

static int fail(int lerr)
{
    snprintf(g.err, sizeof g.err, "%s", libusb_error_name(lerr));
    switch (lerr) {
    case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
    case LIBUSB_ERROR_ACCESS: return -EACCES;
    case LIBUSB_ERROR_NO_DEVICE: return -ENODEV;
    case LIBUSB_ERROR_NOT_FOUND: return -ENOENT;
    case LIBUSB_ERROR_BUSY: return -EBUSY;
    case LIBUSB_ERROR_TIMEOUT: return -ETIMEDOUT;
    case LIBUSB_ERROR_OVERFLOW: return -EOVERFLOW;
    case LIBUSB_ERROR_PIPE: return -EPIPE;
    case LIBUSB_ERROR_INTERRUPTED: return -EINTR;
    case LIBUSB_ERROR_NO_MEM: return -ENOMEM;
    case LIBUSB_ERROR_NOT_SUPPORTED: return -ENOSYS;
    default: return -EIO;
    }
}

EXPORT void usb_init(void)
{
    if (g.inited)
        return;
    if (libusb_init(&g.ctx) == 0)
        g.inited = true;
}

EXPORT void usb_set_debug(int level) { (void)level; }

/* one bus: the changes since the last call (the first call finds it) */
EXPORT int usb_find_busses(void)
{
    if (!g.inited)
        return 0;
    if (usb_busses)
        return 0;
    snprintf(g.bus.dirname, sizeof g.bus.dirname, "001");
    g.bus.location = 1;
    usb_busses = &g.bus;
    return 1;
}

EXPORT int usb_find_devices(void)
{
    if (!g.inited || !usb_busses)
        return 0;
    libusb_device **list = NULL;
    ssize_t n = libusb_get_device_list(g.ctx, &list);
    if (n < 0)
        return fail((int)n);
    int before = 0;
    for (struct usb_device *d = g.bus.devices; d; d = d->next)
        before++;
    if (g.list)
        libusb_free_device_list(g.list, 1);
    g.list = list;
    g.bus.devices = NULL;
    struct usb_device *prev = NULL;
    int kept = 0;
    for (ssize_t i = 0; i < n && kept < MAX_DEV; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) != 0)
            continue;
        struct usb_device *d = &g.dev[kept];
        memset(d, 0, sizeof *d);
        snprintf(d->filename, sizeof d->filename, "%03u", libusb_get_device_address(list[i]));
        d->bus = &g.bus;
        d->devnum = libusb_get_device_address(list[i]);
        d->descriptor = (struct usb_device_descriptor){
            .bLength = dd.bLength, .bDescriptorType = dd.bDescriptorType, .bcdUSB = dd.bcdUSB,
            .bDeviceClass = dd.bDeviceClass, .bDeviceSubClass = dd.bDeviceSubClass,
            .bDeviceProtocol = dd.bDeviceProtocol, .bMaxPacketSize0 = dd.bMaxPacketSize0, .idVendor = dd.idVendor,
            .idProduct = dd.idProduct, .bcdDevice = dd.bcdDevice, .iManufacturer = dd.iManufacturer,
            .iProduct = dd.iProduct, .iSerialNumber = dd.iSerialNumber, .bNumConfigurations = 0};
        d->prev = prev;
        if (prev)
            prev->next = d;
        else
            g.bus.devices = d;
        prev = d;
        g.ldev[kept++] = list[i];
    }
    return kept > before ? kept - before : before - kept;
}

EXPORT struct usb_bus *usb_get_busses(void) { return usb_busses; }

EXPORT usb_dev_handle *usb_open(struct usb_device *dev)
{
    for (int i = 0; i < MAX_DEV; i++)
        if (dev == &g.dev[i]) {
            libusb_device_handle *h = NULL;
            int r = libusb_open(g.ldev[i], &h);
            if (r != 0) {
                fail(r);
                return NULL;
            }
            usb_dev_handle *u = calloc(1, sizeof *u);
            if (!u) {
                libusb_close(h);
                return NULL;
            }
            u->h = h;
            u->dev = dev;
            u->interface = -1;
            return u;
        }
    snprintf(g.err, sizeof g.err, "not a device of this bus");
    return NULL;
}

EXPORT int usb_close(usb_dev_handle *dev)
{
    if (!dev)
        return -EINVAL;
    libusb_close(dev->h);
    free(dev);
    return 0;
}

EXPORT struct usb_device *usb_device(usb_dev_handle *dev) { return dev ? dev->dev : NULL; }

static int done(int r) { return r < 0 ? fail(r) : r; }

EXPORT int usb_claim_interface(usb_dev_handle *dev, int interface)
{
    int r = libusb_claim_interface(dev->h, interface);
    if (r == 0)
        dev->interface = interface;
    return r ? fail(r) : 0;
}

EXPORT int usb_release_interface(usb_dev_handle *dev, int interface)
{
    int r = libusb_release_interface(dev->h, interface);
    if (r == 0)
        dev->interface = -1;
    return r ? fail(r) : 0;
}

EXPORT int usb_set_configuration(usb_dev_handle *dev, int configuration)
{
    return done(libusb_set_configuration(dev->h, configuration));
}

EXPORT int usb_set_altinterface(usb_dev_handle *dev, int alternate)
{
    if (dev->interface < 0)
        return -EINVAL;
    return done(libusb_set_interface_alt_setting(dev->h, dev->interface, alternate));
}

EXPORT int usb_clear_halt(usb_dev_handle *dev, unsigned int ep) { return done(libusb_clear_halt(dev->h, (unsigned char)ep)); }
EXPORT int usb_resetep(usb_dev_handle *dev, unsigned int ep) { return usb_clear_halt(dev, ep); }
EXPORT int usb_reset(usb_dev_handle *dev) { return done(libusb_reset_device(dev->h)); }

EXPORT int usb_control_msg(usb_dev_handle *dev, int requesttype, int request, int value, int index, char *bytes,
                           int size, int timeout)
{
    if (!dev || size < 0 || size > 0xFFFF)
        return -EINVAL;
    return done(libusb_control_transfer(dev->h, (uint8_t)requesttype, (uint8_t)request, (uint16_t)value,
                                        (uint16_t)index, (unsigned char *)bytes, (uint16_t)size,
                                        timeout < 0 ? 0u : (unsigned)timeout));
}

static int xfer(usb_dev_handle *dev, bool interrupt, int ep, char *bytes, int size, int timeout)
{
    int moved = 0;
    int r = interrupt ? libusb_interrupt_transfer(dev->h, (unsigned char)ep, (unsigned char *)bytes, size, &moved,
                                                  timeout < 0 ? 0u : (unsigned)timeout)
                      : libusb_bulk_transfer(dev->h, (unsigned char)ep, (unsigned char *)bytes, size, &moved,
                                             timeout < 0 ? 0u : (unsigned)timeout);
    return r ? fail(r) : moved;
}

EXPORT int usb_bulk_write(usb_dev_handle *dev, int ep, const char *bytes, int size, int timeout)
{
    return xfer(dev, false, ep & 0x7F, (char *)(uintptr_t)bytes, size, timeout);
}
EXPORT int usb_bulk_read(usb_dev_handle *dev, int ep, char *bytes, int size, int timeout)
{
    return xfer(dev, false, ep | 0x80, bytes, size, timeout);
}
EXPORT int usb_interrupt_write(usb_dev_handle *dev, int ep, const char *bytes, int size, int timeout)
{
    return xfer(dev, true, ep & 0x7F, (char *)(uintptr_t)bytes, size, timeout);
}
EXPORT int usb_interrupt_read(usb_dev_handle *dev, int ep, char *bytes, int size, int timeout)
{
    return xfer(dev, true, ep | 0x80, bytes, size, timeout);
}

EXPORT int usb_get_descriptor(usb_dev_handle *udev, unsigned char type, unsigned char index, void *buf, int size)
{
    return usb_control_msg(udev, 0x80, LIBUSB_REQUEST_GET_DESCRIPTOR, (type << 8) | index, 0, buf, size, 1000);
}

EXPORT int usb_get_string(usb_dev_handle *dev, int index, int langid, char *buf, size_t buflen)
{
    return usb_control_msg(dev, 0x80, LIBUSB_REQUEST_GET_DESCRIPTOR, (LIBUSB_DT_STRING << 8) | index, langid, buf,
                           buflen > 255 ? 255 : (int)buflen, 1000);
}

EXPORT int usb_get_string_simple(usb_dev_handle *dev, int index, char *buf, size_t buflen)
{
    if (!buflen)
        return -EINVAL;
    int r = libusb_get_string_descriptor_ascii(dev->h, (uint8_t)index, (unsigned char *)buf,
                                               buflen > 255 ? 255 : (int)buflen);
    return done(r);
}

/* Linux usbfs: the kernel driver bound to an interface */
EXPORT int usb_get_driver_np(usb_dev_handle *dev, int interface, char *name, unsigned int namelen)
{
    int r = libusb_kernel_driver_active(dev->h, interface);
    if (r < 0)
        return fail(r);
    if (r == 0) {
        snprintf(g.err, sizeof g.err, "no driver bound");
        return -ENODATA;
    }
    snprintf(name, namelen, "usbfs");
    return 0;
}

EXPORT int usb_detach_kernel_driver_np(usb_dev_handle *dev, int interface)
{
    return done(libusb_detach_kernel_driver(dev->h, interface));
}

EXPORT char *usb_strerror(void) { return g.err; }
