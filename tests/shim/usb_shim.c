/* SPDX-License-Identifier: MIT (this file); the shared library links liblode-sim (Unicorn,
 * GPL-2.0). */
/* A stand-in libusb-1.0.so.0 whose USB bus holds simulated probes, each in front of its own
 * simulated board: programs that use libusb (lode itself, OpenOCD) run unchanged with
 * LD_LIBRARY_PATH pointing here, and their USB code paths (enumeration, endpoints per probe
 * version, bulk and asynchronous transfers) are exercised against the simulator.
 *
 *   LODE_USB_SHIM=stlink-v2:SERIAL,stlink-v21,stlink-v3,cmsis-dap,cmsis-dap-v1,dfuse,jlink   the devices
 *                                 on the bus (cmsis-dap-v1: a HID interface with interrupt
 *                                 endpoints, 64-byte reports, full speed; dfuse: an STM32 in
 *                                 DfuSe mode, shim_dfuse.c; jlink / jlink-v9: a SEGGER J-Link V11
 *                                 (high speed) / V9 (full speed), shim_jlink.c;
 *                                 halfkay-MODEL, teensy-serial-MODEL, teensy-midi-MODEL,
 *                                 teensy-keyboard-MODEL: a Teensy, shim_halfkay.c; dfu11,
 *                                 dfu11-nt, dfu11-rt, dfu11-rtw: plain DFU 1.1 devices,
 *                                 shim_dfu11.c)
 *   LODE_USB_SHIM_DENY=SERIAL     opening that device fails with LIBUSB_ERROR_ACCESS
 *   LODE_USB_SHIM_CHIP=STM32F103C8                                the simulated chip
 *   LODE_USB_SHIM_STATE_DIR=DIR   flash kept in DIR/<serial>.state between processes
 *   LODE_USB_SHIM_BUSY=SERIAL     that device's interface is claimed by "another program"
 *                                 (libusb_claim_interface answers LIBUSB_ERROR_BUSY)
 *   LODE_USB_SHIM_NO_IDLE=1       the board stands still between transfers (see below)
 *   LODE_USB_SHIM_REPORT=1        at libusb_close, one line on stderr: the board's virtual time
 *                                 and the probe commands (ST-Link commands, CMSIS-DAP packets)
 *
 * The devices are process-wide, as a USB bus is; this test library is the one place with such
 * state. Only what lode, OpenOCD and pyOCD (pyusb's libusb1 backend) call is implemented;
 * anything else fails cleanly. A board runs in real time while nobody talks to its probe (up
 * to 100 ms per gap; the gap is the host's time between transfers, not the shim's time
 * simulating), as hardware does; with LODE_USB_SHIM_NO_IDLE its clock moves only with
 * the probe's traffic, so a peer's virtual-time figure is the same in every run (host noise
 * stays out). A program that waits for the target on the host clock (lode: until a flash
 * operation is due) would then wait in vain: in that mode the process's CLOCK_MONOTONIC is the
 * board's clock (the device last used; the real clock before any transfer) and nanosleep
 * advances that board instead of sleeping, so lode runs in virtual time, bit for bit the same
 * in every run. OpenOCD (usleep, gettimeofday) and Python programs (whose libc calls do not
 * come through this library) see the real clock.
 * Exported: the libusb_* functions, clock_gettime and nanosleep (the build hides everything
 * else). */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/sim.h"
#include "lode/stlink.h"
#include "shim_dfu11.h"
#include "shim_dfuse.h"
#include "shim_jlink.h"
#include "shim_halfkay.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_DEV 8
#define MAX_DONE 64

typedef enum kind_e { K_STLINK_V2, K_STLINK_V21, K_STLINK_V3, K_CMSIS_DAP, K_CMSIS_DAP_V1, K_DFUSE, K_JLINK, K_TEENSY, K_DFU11 } kind_e;
#define IS_DAP(d) ((d)->kind == K_CMSIS_DAP || (d)->kind == K_CMSIS_DAP_V1)

typedef struct shim_dev_s {
    kind_e kind;
    uint16_t vid, pid;
    char serial[64], product[64];
    uint8_t ep_out, ep_in, ep_trace;
    lode_sim_s *sim;
    lode_sim_stlink_s *st;
    lode_sim_dap_s *dap;
    shim_dfuse_s *dfuse; /* K_DFUSE: the STM32 system bootloader (shim_dfuse.c) */
    shim_jlink_s *jlink; /* K_JLINK: a SEGGER J-Link (shim_jlink.c) */
    int jlink_hw;
    shim_halfkay_s *teensy; /* K_TEENSY: a Teensy, in HalfKay or running (shim_halfkay.c) */
    shim_dfu11_s *dfu11; /* K_DFU11: a plain DFU 1.1 device (shim_dfu11.c) */
    uint8_t pending[16];
    int pending_state; /* 0 none, 1 command waiting for its IN phase or the next command,
                        * 2 command waiting for its OUT data */
    double last_wall;
    unsigned long long packets; /* OUT transfers (CMSIS-DAP: one command packet each) */
    struct libusb_device *udev;
} shim_dev_s;

struct libusb_context {
    int unused;
};
struct libusb_device {
    shim_dev_s *d;
    uint8_t bus, addr;
};
struct libusb_device_handle {
    shim_dev_s *d;
    struct libusb_device *dev;
};

static struct {
    bool inited;
    shim_dev_s dev[MAX_DEV];
    struct libusb_device udev[MAX_DEV];
    int ndev;
    struct libusb_context ctx;
    struct libusb_transfer *done[MAX_DONE];
    int ndone;
} g; /* the simulated USB bus (see the file comment) */

/* ---- the process's clock (see the file comment) ---------------------------------------------- */
typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*nanosleep_fn)(const struct timespec *, struct timespec *);

/* libc's function behind ours */
static void *libc_next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static int real_clock_gettime(clockid_t id, struct timespec *t)
{
    static clock_gettime_fn f;
    if (!f) {
        void *p = libc_next("clock_gettime");
        memcpy(&f, &p, sizeof f);
    }
    return f ? f(id, t) : -1;
}

static double wall(void)
{
    struct timespec t = {0};
    real_clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool no_idle(void)
{
    const char *still = getenv("LODE_USB_SHIM_NO_IDLE");
    return still && *still && strcmp(still, "0");
}

static struct {
    shim_dev_s *dev; /* the device whose board is the clock (the last one used) */
    double base;     /* its virtual time 0 on the process's clock */
    double last;     /* the last time handed out (the clock never goes back) */
} vclock;

/* the device `d` is in use: from now on its board is the clock */
static void vclock_use(shim_dev_s *d)
{
    if (!no_idle() || vclock.dev == d || !d->sim)
        return;
    double now = vclock.dev ? vclock.last : wall();
    /* a whole number of seconds (up to 1 s ahead: the clock never goes back): differences of
     * two readings then round the same way in every run, whatever the wall clock was */
    double b = now - (double)lode_sim_now(d->sim) / 1e12;
    vclock.base = (double)((int64_t)b + 1);
    vclock.dev = d;
}

EXPORT int clock_gettime(clockid_t id, struct timespec *t)
{
    if ((id != CLOCK_MONOTONIC && id != CLOCK_MONOTONIC_RAW) || !vclock.dev || !no_idle())
        return real_clock_gettime(id, t);
    double v = vclock.base + (double)lode_sim_now(vclock.dev->sim) / 1e12;
    if (v < vclock.last)
        v = vclock.last;
    vclock.last = v;
    t->tv_sec = (time_t)v;
    t->tv_nsec = (long)((v - (double)t->tv_sec) * 1e9);
    if (t->tv_nsec >= 1000000000L)
        t->tv_nsec = 999999999L;
    return 0;
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (req && vclock.dev && no_idle() && req->tv_sec >= 0 && req->tv_nsec >= 0 && req->tv_nsec < 1000000000L) {
        /* the host "sleeps": its board runs on for that long (at most 10 s a call) */
        uint64_t ps = (uint64_t)req->tv_sec * 1000000000000ull + (uint64_t)req->tv_nsec * 1000ull;
        lode_sim_advance(vclock.dev->sim, ps > 10000000000000ull ? 10000000000000ull : ps);
        if (rem)
            *rem = (struct timespec){0, 0};
        return 0;
    }
    static nanosleep_fn f;
    if (!f) {
        void *p = libc_next("nanosleep");
        memcpy(&f, &p, sizeof f);
    }
    return f ? f(req, rem) : -1;
}

static void bus_init(void)
{
    if (g.inited)
        return;
    g.inited = true;
    const char *spec = getenv("LODE_USB_SHIM");
    if (!spec)
        return;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && g.ndev < MAX_DEV; tok = strtok_r(NULL, ",", &save)) {
        shim_dev_s *d = &g.dev[g.ndev];
        memset(d, 0, sizeof *d);
        char *colon = strchr(tok, ':');
        if (colon)
            *colon = 0;
        d->vid = LODE_STLINK_VID;
        if (!strcmp(tok, "stlink-v2")) {
            d->kind = K_STLINK_V2, d->pid = LODE_STLINK_V2_PID;
            d->ep_out = 0x02, d->ep_in = 0x81, d->ep_trace = 0x83;
            snprintf(d->product, sizeof d->product, "STM32 STLink");
        } else if (!strcmp(tok, "stlink-v21")) {
            d->kind = K_STLINK_V21, d->pid = LODE_STLINK_V21_NOMSD_PID;
            d->ep_out = 0x01, d->ep_in = 0x81, d->ep_trace = 0x82;
            snprintf(d->product, sizeof d->product, "STM32 STLink");
        } else if (!strcmp(tok, "stlink-v3")) {
            d->kind = K_STLINK_V3, d->pid = LODE_STLINK_V3E_PID;
            d->ep_out = 0x01, d->ep_in = 0x81, d->ep_trace = 0x82;
            snprintf(d->product, sizeof d->product, "STLINK-V3");
        } else if (!strcmp(tok, "cmsis-dap")) {
            d->kind = K_CMSIS_DAP, d->vid = 0xC251, d->pid = 0xF00A;
            d->ep_out = 0x01, d->ep_in = 0x81;
            snprintf(d->product, sizeof d->product, "lode shim CMSIS-DAP");
        } else if (!strcmp(tok, "cmsis-dap-v1")) {
            d->kind = K_CMSIS_DAP_V1, d->vid = 0xC251, d->pid = 0xF00B;
            d->ep_out = 0x01, d->ep_in = 0x81;
            snprintf(d->product, sizeof d->product, "lode shim CMSIS-DAP v1");
        } else if (!strcmp(tok, "dfuse")) {
            d->kind = K_DFUSE, d->vid = SHIM_DFUSE_VID, d->pid = SHIM_DFUSE_PID;
            snprintf(d->product, sizeof d->product, "STM32  BOOTLOADER");
        } else if (shim_jlink_kind(tok) > 0) {
            d->kind = K_JLINK, d->vid = SHIM_JLINK_VID, d->pid = SHIM_JLINK_PID, d->jlink_hw = shim_jlink_kind(tok);
            d->ep_out = SHIM_JLINK_EP_OUT, d->ep_in = SHIM_JLINK_EP_IN;
            snprintf(d->product, sizeof d->product, "J-Link");
        } else if (!strncmp(tok, "dfu11", 5) && shim_dfu11_new(tok, &d->dfu11) == 0) {
            d->kind = K_DFU11, d->vid = SHIM_DFU11_VID, d->pid = shim_dfu11_pid(d->dfu11);
            snprintf(d->product, sizeof d->product, "lode shim DFU 1.1");
        } else if (shim_halfkay_new(tok, colon ? colon + 1 : "", &d->teensy) != 0) {
            if (!d->teensy)
                continue;
            d->kind = K_TEENSY;
        } else {
            fprintf(stderr, "usb shim: unknown device '%s' in LODE_USB_SHIM\n", tok);
            continue;
        }
        snprintf(d->serial, sizeof d->serial, "%s", colon ? colon + 1 : "");
        if (!d->serial[0])
            snprintf(d->serial, sizeof d->serial, "SHIM%04d", g.ndev + 1);
        g.udev[g.ndev] = (struct libusb_device){.d = d, .bus = 1, .addr = (uint8_t)(g.ndev + 2)};
        d->udev = &g.udev[g.ndev];
        g.ndev++;
    }
}

static void state_path(const shim_dev_s *d, char *buf, size_t len)
{
    const char *dir = getenv("LODE_USB_SHIM_STATE_DIR");
    buf[0] = 0;
    if (dir && *dir)
        snprintf(buf, len, "%s/%s.state", dir, d->serial);
}

static int board_up(shim_dev_s *d)
{
    if (d->sim || d->teensy) /* a Teensy has no simulated core */
        return d->teensy && shim_halfkay_gone(d->teensy) ? -1 : 0;
    const char *chip = getenv("LODE_USB_SHIM_CHIP");
    lode_sim_config_s sc = {.chip = chip && *chip ? chip : "STM32F103C8"};
    if (lode_sim_new(&sc, &d->sim) != LODE_OK)
        return -1;
    char path[1024];
    state_path(d, path, sizeof path);
    if (path[0])
        lode_sim_state_load(d->sim, path);
    if (d->kind == K_DFUSE) {
        if (shim_dfuse_new(d->sim, &d->dfuse) != 0)
            return -1;
    } else if (d->kind == K_JLINK) {
        if (shim_jlink_new(d->sim, d->jlink_hw, d->serial, &d->jlink) != 0)
            return -1;
    } else if (d->dfu11) {
        shim_dfu11_attach(d->dfu11, d->sim);
    } else if (IS_DAP(d)) {
        lode_sim_dap_config_s dc = {.version = d->kind == K_CMSIS_DAP_V1 ? 1 : 2, .serial = d->serial};
        if (lode_sim_dap_new(d->sim, &dc, &d->dap) != LODE_OK)
            return -1;
    } else {
        lode_sim_stlink_config_s stc = {.hw_version = d->kind == K_STLINK_V3 ? 3 : 2, .serial = d->serial};
        if (lode_sim_stlink_new(d->sim, &stc, &d->st) != LODE_OK)
            return -1;
    }
    d->last_wall = wall();
    return 0;
}

/* The board ran on by itself since the last transfer ended (at most 100 ms of it): for the
 * host's time in between, not the shim's own (bulk). */
static void catch_up(shim_dev_s *d)
{
    if (no_idle()) {
        vclock_use(d);
        return;
    }
    double now = wall(), dt = now - d->last_wall;
    if (dt > 0.1)
        dt = 0.1;
    if (dt > 0 && !lode_sim_halted(d->sim))
        lode_sim_advance(d->sim, (uint64_t)(dt * 1e12));
}

/* An ST-Link command with a data phase to the probe: the memory writes (length in bytes 6-7). */
static size_t out_len(const uint8_t *c)
{
    if (c[0] != 0xF2)
        return 0;
    switch (c[1]) {
    case 0x08: case 0x0D: case 0x48: case 0x50:
        return (size_t)c[6] | (size_t)c[7] << 8;
    case 0x51: { /* RW_MISC_OUT: command bytes (padded to 4) + a word per item */
        size_t items = (size_t)c[2] | (size_t)c[3] << 8 | (size_t)c[4] << 16 | (size_t)c[5] << 24;
        return items > 4096 ? 0 : (items + 3) / 4 * 4 + 4 * items;
    }
    default:
        return 0;
    }
}

static void flush_pending(shim_dev_s *d)
{
    if (d->pending_state == 1)
        lode_sim_stlink_command(d->st, d->pending, LODE_STLINK_DIR_IN, NULL, 0);
    d->pending_state = 0;
}

static int bulk_io(shim_dev_s *d, unsigned char ep, unsigned char *data, int length);

/* One bulk transfer on the simulated bus; returns a LIBUSB_ERROR or the bytes moved. The
 * board first catches up with the host; the clock for the next gap starts when this transfer
 * is done. Counting the time spent simulating (the catch-up, the probe's work) as a gap made
 * a board that simulates slower than real time (a sanitizer build, a busy host) chase its own
 * tail: 100 ms of simulation at every transfer however soon the host came back (lode run
 * --timeout 2 of an endless loop through the ST-Link: 8.4 s of simulated time, 16 s of CPU). */
static int bulk(shim_dev_s *d, unsigned char ep, unsigned char *data, int length)
{
    if (!d->sim || length < 0)
        return LIBUSB_ERROR_NO_DEVICE;
    catch_up(d);
    int n = bulk_io(d, ep, data, length);
    d->last_wall = wall();
    return n;
}

static int bulk_io(shim_dev_s *d, unsigned char ep, unsigned char *data, int length)
{
    if (ep == d->ep_out)
        d->packets++;
    if (d->jlink)
        return shim_jlink_bulk(d->jlink, ep, data, length);
    if (d->dap) {
        if (ep == d->ep_out)
            return lode_sim_dap_usb_write(d->dap, data, (size_t)length) == LODE_OK ? length : LIBUSB_ERROR_IO;
        if (ep == d->ep_in) {
            size_t got = 0;
            int rc = lode_sim_dap_usb_read(d->dap, data, (size_t)length, &got);
            return rc == LODE_OK ? (int)got : rc == LODE_E_TIMEOUT ? LIBUSB_ERROR_TIMEOUT : LIBUSB_ERROR_OVERFLOW;
        }
        return LIBUSB_ERROR_PIPE;
    }
    if (ep == d->ep_out) {
        if (d->pending_state == 2) { /* the data phase of a write */
            lode_sim_stlink_command(d->st, d->pending, LODE_STLINK_DIR_OUT, data, (size_t)length);
            d->pending_state = 0;
            return length;
        }
        flush_pending(d);
        if (length != 16)
            return LIBUSB_ERROR_IO; /* commands are 16 bytes */
        memcpy(d->pending, data, 16);
        d->pending_state = out_len(data) ? 2 : 1;
        return length;
    }
    if (ep == d->ep_in) {
        if (d->pending_state != 1)
            return LIBUSB_ERROR_TIMEOUT; /* nothing to answer */
        lode_sim_stlink_command(d->st, d->pending, LODE_STLINK_DIR_IN, data, (size_t)length);
        d->pending_state = 0;
        return length;
    }
    if (ep == d->ep_trace)
        return lode_sim_stlink_trace(d->st, data, (size_t)length) == LODE_OK ? length : LIBUSB_ERROR_IO;
    return LIBUSB_ERROR_PIPE;
}

/* ---- libusb API --------------------------------------------------------------------------- */
EXPORT int LIBUSB_CALL libusb_init(libusb_context **ctx)
{
    bus_init();
    if (ctx)
        *ctx = &g.ctx;
    return 0;
}

EXPORT void LIBUSB_CALL libusb_exit(libusb_context *ctx) { (void)ctx; }

EXPORT ssize_t LIBUSB_CALL libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
    (void)ctx;
    bus_init();
    libusb_device **l = calloc((size_t)g.ndev + 1, sizeof *l);
    if (!l)
        return LIBUSB_ERROR_NO_MEM;
    int n = 0;
    for (int i = 0; i < g.ndev; i++)
        if (!g.dev[i].teensy || !shim_halfkay_gone(g.dev[i].teensy)) /* a board that left the bus */
            l[n++] = &g.udev[i];
    *list = l;
    return n;
}

EXPORT void LIBUSB_CALL libusb_free_device_list(libusb_device **list, int unref)
{
    (void)unref;
    free(list);
}

EXPORT int LIBUSB_CALL libusb_get_device_descriptor(libusb_device *dev, struct libusb_device_descriptor *desc)
{
    memset(desc, 0, sizeof *desc);
    desc->bLength = LIBUSB_DT_DEVICE_SIZE;
    desc->bDescriptorType = LIBUSB_DT_DEVICE;
    desc->bcdUSB = dev->d->kind == K_STLINK_V3 || dev->d->kind == K_CMSIS_DAP ? 0x0200 : 0x0200;
    desc->bMaxPacketSize0 = 64;
    desc->idVendor = dev->d->vid;
    desc->idProduct = dev->d->dfu11 ? shim_dfu11_pid(dev->d->dfu11) : dev->d->pid;
    desc->bcdDevice = 0x0100;
    desc->iManufacturer = 1;
    desc->iProduct = 2;
    desc->iSerialNumber = 3;
    desc->bNumConfigurations = 1;
    if (dev->d->teensy) {
        bool has_serial = true;
        shim_halfkay_ids(dev->d->teensy, &desc->idVendor, &desc->idProduct, &desc->bcdDevice, &has_serial);
        desc->iSerialNumber = has_serial ? 3 : 0;
        if (desc->idProduct == 0x0478) /* HalfKay names nothing */
            desc->iManufacturer = desc->iProduct = 0;
    }
    return 0;
}

/* one configuration, one vendor interface with the probe's bulk endpoints (and the interface
 * string that names a CMSIS-DAP v2 interface) */
static int make_config(libusb_device *dev, struct libusb_config_descriptor **config)
{
    shim_dev_s *d = dev->d;
    if (d->kind == K_DFUSE)
        return shim_dfuse_config(config);
    if (d->teensy)
        return shim_halfkay_config(d->teensy, config);
    if (d->dfu11)
        return shim_dfu11_config(d->dfu11, config);
    struct libusb_config_descriptor *c = calloc(1, sizeof *c);
    struct libusb_interface *itf = calloc(1, sizeof *itf);
    struct libusb_interface_descriptor *alt = calloc(1, sizeof *alt);
    struct libusb_endpoint_descriptor *ep = calloc(3, sizeof *ep);
    if (!c || !itf || !alt || !ep) {
        free(c), free(itf), free(alt), free(ep);
        return LIBUSB_ERROR_NO_MEM;
    }
    uint16_t mps = d->kind == K_STLINK_V3 || d->kind == K_CMSIS_DAP || (d->kind == K_JLINK && d->jlink_hw >= 11) ? 512 : 64;
    /* CMSIS-DAP v1 is a HID device (HID 1.11 4.4: an interrupt IN endpoint, here also the
     * optional interrupt OUT endpoint) polled every 1 ms */
    bool hid = d->kind == K_CMSIS_DAP_V1;
    uint8_t type = hid ? LIBUSB_TRANSFER_TYPE_INTERRUPT : LIBUSB_TRANSFER_TYPE_BULK;
    uint8_t n = 0;
    /* CMSIS-DAP v2 puts bulk OUT first, then bulk IN (then the optional SWO IN); hosts look
     * for them in that order. The ST-Link lists its IN endpoint first. */
    bool out_first = IS_DAP(d);
    ep[n++] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                  .bEndpointAddress = out_first ? d->ep_out : d->ep_in,
                                                  .bmAttributes = type, .wMaxPacketSize = mps, .bInterval = hid};
    ep[n++] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                  .bEndpointAddress = out_first ? d->ep_in : d->ep_out,
                                                  .bmAttributes = type, .wMaxPacketSize = mps, .bInterval = hid};
    if (d->ep_trace)
        ep[n++] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                      .bEndpointAddress = d->ep_trace, .bmAttributes = type,
                                                      .wMaxPacketSize = mps, .bInterval = hid};
    *alt = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                .bInterfaceNumber = 0, .bNumEndpoints = n,
                                                .bInterfaceClass = hid ? LIBUSB_CLASS_HID : 0xFF,
                                                .bInterfaceSubClass = d->kind == K_JLINK ? 0xFF : 0, .iInterface = 4,
                                                .endpoint = ep};
    itf->altsetting = alt;
    itf->num_altsetting = 1;
    *c = (struct libusb_config_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_CONFIG,
                                           .bNumInterfaces = 1, .bConfigurationValue = 1,
                                           .MaxPower = 50, .interface = itf};
    *config = c;
    return 0;
}

EXPORT int LIBUSB_CALL libusb_get_active_config_descriptor(libusb_device *dev, struct libusb_config_descriptor **config)
{
    return make_config(dev, config);
}

EXPORT int LIBUSB_CALL libusb_get_config_descriptor(libusb_device *dev, uint8_t idx, struct libusb_config_descriptor **config)
{
    return idx ? LIBUSB_ERROR_NOT_FOUND : make_config(dev, config);
}

EXPORT void LIBUSB_CALL libusb_free_config_descriptor(struct libusb_config_descriptor *config)
{
    if (!config)
        return;
    free((void *)config->interface->altsetting->endpoint);
    free((void *)config->interface->altsetting);
    free((void *)config->interface);
    free(config);
}

EXPORT uint8_t LIBUSB_CALL libusb_get_bus_number(libusb_device *dev) { return dev->bus; }
EXPORT uint8_t LIBUSB_CALL libusb_get_device_address(libusb_device *dev) { return dev->addr; }

EXPORT int LIBUSB_CALL libusb_get_port_numbers(libusb_device *dev, uint8_t *ports, int len)
{
    if (len < 1)
        return LIBUSB_ERROR_OVERFLOW;
    ports[0] = dev->addr;
    return 1;
}

EXPORT int LIBUSB_CALL libusb_open(libusb_device *dev, libusb_device_handle **handle)
{
    const char *deny = getenv("LODE_USB_SHIM_DENY"); /* a device node without permission */
    if (deny && *deny && !strcmp(deny, dev->d->serial))
        return LIBUSB_ERROR_ACCESS;
    if (board_up(dev->d) != 0)
        return LIBUSB_ERROR_NO_DEVICE;
    libusb_device_handle *h = calloc(1, sizeof *h);
    if (!h)
        return LIBUSB_ERROR_NO_MEM;
    h->d = dev->d;
    h->dev = dev;
    *handle = h;
    return 0;
}

EXPORT void LIBUSB_CALL libusb_close(libusb_device_handle *h)
{
    if (!h)
        return;
    shim_dev_s *d = h->d;
    if (d->st)
        flush_pending(d);
    char path[1024];
    state_path(d, path, sizeof path);
    if (path[0] && d->sim)
        lode_sim_state_save(d->sim, path);
    if (d->teensy)
        shim_halfkay_save(d->teensy);
    const char *rep = getenv("LODE_USB_SHIM_REPORT");
    if (d->sim && rep && *rep && strcmp(rep, "0")) {
        unsigned long long cmds = d->packets, early = 0;
        if (d->dfuse || d->dfu11) {
            if (d->dfuse)
                shim_dfuse_stats(d->dfuse, &cmds, &early);
            else
                shim_dfu11_stats(d->dfu11, &cmds, &early);
            fprintf(stderr, "usb shim: %s: %llu DFU status polls before bwPollTimeout\n", d->serial, early);
        }
        if (d->st) {
            lode_sim_stlink_stats_s ss;
            lode_sim_stlink_stats(d->st, &ss);
            cmds = (unsigned long long)ss.commands;
        }
        if (d->jlink)
            cmds = shim_jlink_report(d->jlink, d->serial);
        fprintf(stderr, "usb shim: %s closed at %.6f s of simulated time, %llu probe commands\n", d->serial,
                (double)lode_sim_now(d->sim) / 1e12, cmds);
    }
    free(h);
}

EXPORT libusb_device *LIBUSB_CALL libusb_get_device(libusb_device_handle *h) { return h->dev; }

static const char *string_of(const shim_dev_s *d, uint8_t idx)
{
    if (d->dfuse && idx >= 4)
        return shim_dfuse_string(d->dfuse, idx);
    if (d->kind == K_JLINK)
        return d->jlink ? shim_jlink_string(d->jlink, idx) : NULL;
    if (d->teensy)
        return shim_halfkay_string(d->teensy, idx);
    if (d->dfu11 && idx >= 4)
        return shim_dfu11_string(d->dfu11, idx);
    switch (idx) {
    case 1: return IS_DAP(d) || d->dfu11 ? "lode" : "STMicroelectronics";
    case 2: return d->product;
    case 3: return d->serial;
    case 4: return d->kind == K_CMSIS_DAP ? "CMSIS-DAP v2" : d->kind == K_CMSIS_DAP_V1 ? "CMSIS-DAP v1" : "ST-Link Debug";
    default: return NULL;
    }
}

EXPORT int LIBUSB_CALL libusb_get_string_descriptor_ascii(libusb_device_handle *h, uint8_t idx,
                                                         unsigned char *data, int length)
{
    const char *s = string_of(h->d, idx);
    if (!s)
        return LIBUSB_ERROR_INVALID_PARAM;
    int n = (int)strlen(s);
    if (n > length - 1)
        n = length - 1;
    if (n < 0)
        return LIBUSB_ERROR_OVERFLOW;
    memcpy(data, s, (size_t)n);
    data[n] = 0;
    return n;
}

/* A full-speed control transfer's time on the bus, charged to the board's clock for the DFU
 * devices (what a bound for DFU must count besides the flash): a SETUP transaction (token, an
 * 8-byte DATA0, ACK), one transaction per 64-byte data packet, a zero-length status
 * transaction (USB 2.0 5.5, 8.4-8.5). Bits per packet: SYNC 8 + PID 8 + fields + CRC + EOP 3
 * (token 35, data 35 + 8 per byte, handshake 19), 16 bit times of gaps per transaction
 * (inter-packet delay and turnaround), 12 Mbit/s, no bit stuffing. */
static uint64_t fs_control_ps(int bytes)
{
    uint64_t bits = 35 + 99 + 19 + 16;                 /* SETUP */
    for (int left = bytes; left > 0; left -= 64)        /* DATA */
        bits += 35 + 35 + 8u * (unsigned)(left < 64 ? left : 64) + 19 + 16;
    bits += 35 + 35 + 19 + 16;                          /* status */
    return bits * 1000000ull / 12;                      /* 83.3 ns a bit, in ps */
}

static int dfu_charged(shim_dev_s *d, int n)
{
    if (d->sim && n != SHIM_NOT_MINE)
        lode_sim_advance(d->sim, fs_control_ps(n > 0 ? n : 0));
    return n;
}

/* Standard device requests on the default pipe (USB 2.0 9.4): GET_STATUS (9.4.5: a
 * bus-powered device without remote wakeup answers two zero bytes) and GET_DESCRIPTOR (9.4.3)
 * of the device (Table 9-8) or a string (Table 9-15/9-16; index 0: the language IDs). The
 * reply is cut to wLength; any other request stalls. */
EXPORT int LIBUSB_CALL libusb_control_transfer(libusb_device_handle *h, uint8_t type, uint8_t req,
                                              uint16_t value, uint16_t index, unsigned char *data,
                                              uint16_t length, unsigned int timeout)
{
    (void)index, (void)timeout;
    unsigned char buf[256];
    int n;
    if (h->d->dfuse || h->d->dfu11) {
        n = dfu_charged(h->d, h->d->dfuse ? shim_dfuse_control(h->d->dfuse, type, req, value, index, data, length)
                                          : shim_dfu11_control(h->d->dfu11, type, req, value, index, data, length));
        if (n != SHIM_NOT_MINE)
            return n;
    }
    if (h->d->teensy) {
        n = shim_halfkay_control(h->d->teensy, type, req, value, index, data, length, timeout);
        if (n != SHIM_HALFKAY_NOT_MINE)
            return n;
    }
    if (type == 0x80 && req == LIBUSB_REQUEST_GET_STATUS && value == 0) {
        buf[0] = buf[1] = 0;
        n = 2;
    } else if (type == 0x80 && req == LIBUSB_REQUEST_GET_DESCRIPTOR && (value >> 8) == LIBUSB_DT_DEVICE &&
               (value & 0xFF) == 0) {
        struct libusb_device_descriptor dd;
        libusb_get_device_descriptor(h->dev, &dd);
        const uint8_t dev[18] = {dd.bLength, dd.bDescriptorType, (uint8_t)dd.bcdUSB, (uint8_t)(dd.bcdUSB >> 8),
                                 dd.bDeviceClass, dd.bDeviceSubClass, dd.bDeviceProtocol, dd.bMaxPacketSize0,
                                 (uint8_t)dd.idVendor, (uint8_t)(dd.idVendor >> 8), (uint8_t)dd.idProduct,
                                 (uint8_t)(dd.idProduct >> 8), (uint8_t)dd.bcdDevice, (uint8_t)(dd.bcdDevice >> 8),
                                 dd.iManufacturer, dd.iProduct, dd.iSerialNumber, dd.bNumConfigurations};
        memcpy(buf, dev, sizeof dev);
        n = (int)sizeof dev;
    } else if (type == 0x80 && req == LIBUSB_REQUEST_GET_DESCRIPTOR && (value >> 8) == LIBUSB_DT_STRING) {
        uint8_t idx = (uint8_t)value;
        if (idx == 0) { /* language IDs: US English */
            buf[0] = 4, buf[1] = LIBUSB_DT_STRING, buf[2] = 0x09, buf[3] = 0x04;
            n = 4;
        } else {
            const char *s = string_of(h->d, idx);
            if (!s)
                return LIBUSB_ERROR_PIPE;
            size_t l = strlen(s);
            if (l > 120)
                l = 120;
            n = (int)(2 + 2 * l);
            buf[0] = (unsigned char)n, buf[1] = LIBUSB_DT_STRING;
            for (size_t i = 0; i < l; i++)
                buf[2 + 2 * i] = (unsigned char)s[i], buf[3 + 2 * i] = 0;
        }
    } else {
        return LIBUSB_ERROR_PIPE;
    }
    if (n > length)
        n = length;
    memcpy(data, buf, (size_t)n);
    return n;
}

EXPORT int LIBUSB_CALL libusb_claim_interface(libusb_device_handle *h, int itf)
{
    const char *busy = getenv("LODE_USB_SHIM_BUSY");
    if (busy && !strcmp(busy, h->d->serial))
        return LIBUSB_ERROR_BUSY;
    return itf == 0 || (h->d->teensy && itf == 1) ? 0 : LIBUSB_ERROR_NOT_FOUND; /* a Teensy: up to two */
}
EXPORT int LIBUSB_CALL libusb_release_interface(libusb_device_handle *h, int itf) { (void)h, (void)itf; return 0; }
EXPORT int LIBUSB_CALL libusb_set_auto_detach_kernel_driver(libusb_device_handle *h, int e) { (void)h, (void)e; return 0; }
EXPORT int LIBUSB_CALL libusb_detach_kernel_driver(libusb_device_handle *h, int i) { (void)h, (void)i; return LIBUSB_ERROR_NOT_FOUND; }
EXPORT int LIBUSB_CALL libusb_get_configuration(libusb_device_handle *h, int *config) { (void)h; *config = 1; return 0; }
EXPORT int LIBUSB_CALL libusb_set_configuration(libusb_device_handle *h, int config) { (void)h, (void)config; return 0; }
EXPORT int LIBUSB_CALL libusb_set_interface_alt_setting(libusb_device_handle *h, int i, int a)
{
    if (h->d->dfuse)
        return i ? LIBUSB_ERROR_NOT_FOUND : shim_dfuse_set_alt(h->d->dfuse, a);
    return i || a ? LIBUSB_ERROR_NOT_FOUND : 0;
}
EXPORT int LIBUSB_CALL libusb_clear_halt(libusb_device_handle *h, unsigned char ep) { (void)h, (void)ep; return 0; }
EXPORT int LIBUSB_CALL libusb_reset_device(libusb_device_handle *h) { return h->d->dfu11 ? shim_dfu11_reset(h->d->dfu11) : 0; }

EXPORT int LIBUSB_CALL libusb_bulk_transfer(libusb_device_handle *h, unsigned char ep, unsigned char *data,
                                           int length, int *transferred, unsigned int timeout)
{
    (void)timeout;
    int n = bulk(h->d, ep, data, length);
    if (n < 0)
        return n;
    if (transferred)
        *transferred = n;
    return 0;
}

/* asynchronous transfers: done at submit, completed (callback) in handle_events */
EXPORT struct libusb_transfer *LIBUSB_CALL libusb_alloc_transfer(int iso_packets)
{
    (void)iso_packets;
    return calloc(1, sizeof(struct libusb_transfer));
}

EXPORT void LIBUSB_CALL libusb_free_transfer(struct libusb_transfer *t) { free(t); }

EXPORT int LIBUSB_CALL libusb_submit_transfer(struct libusb_transfer *t)
{
    if (g.ndone >= MAX_DONE)
        return LIBUSB_ERROR_BUSY;
    int n = bulk(t->dev_handle->d, t->endpoint, t->buffer, t->length);
    t->status = n < 0 ? (n == LIBUSB_ERROR_TIMEOUT ? LIBUSB_TRANSFER_TIMED_OUT : LIBUSB_TRANSFER_ERROR)
                      : LIBUSB_TRANSFER_COMPLETED;
    t->actual_length = n < 0 ? 0 : n;
    g.done[g.ndone++] = t;
    return 0;
}

EXPORT int LIBUSB_CALL libusb_cancel_transfer(struct libusb_transfer *t)
{
    for (int i = 0; i < g.ndone; i++)
        if (g.done[i] == t) {
            t->status = LIBUSB_TRANSFER_CANCELLED;
            return 0;
        }
    return LIBUSB_ERROR_NOT_FOUND;
}

static void deliver(void)
{
    while (g.ndone > 0) {
        struct libusb_transfer *t = g.done[0];
        memmove(g.done, g.done + 1, (size_t)(g.ndone - 1) * sizeof g.done[0]);
        g.ndone--;
        if (t->callback)
            t->callback(t);
    }
}

EXPORT int LIBUSB_CALL libusb_handle_events_completed(libusb_context *ctx, int *completed)
{
    (void)ctx, (void)completed;
    deliver();
    return 0;
}

EXPORT int LIBUSB_CALL libusb_handle_events_timeout_completed(libusb_context *ctx, struct timeval *tv, int *completed)
{
    (void)ctx, (void)tv, (void)completed;
    deliver();
    return 0;
}

EXPORT const char *LIBUSB_CALL libusb_error_name(int code)
{
    switch (code) {
    case 0: return "LIBUSB_SUCCESS";
    case LIBUSB_ERROR_IO: return "LIBUSB_ERROR_IO";
    case LIBUSB_ERROR_NO_DEVICE: return "LIBUSB_ERROR_NO_DEVICE";
    case LIBUSB_ERROR_TIMEOUT: return "LIBUSB_ERROR_TIMEOUT";
    case LIBUSB_ERROR_PIPE: return "LIBUSB_ERROR_PIPE";
    case LIBUSB_ERROR_ACCESS: return "LIBUSB_ERROR_ACCESS";
    default: return "LIBUSB_ERROR_OTHER";
    }
}

EXPORT const char *LIBUSB_CALL libusb_strerror(int code) { return libusb_error_name(code); }

/* ---- what pyusb's libusb1 backend (pyOCD), dfu-util and libjaylink bind as well ---------- */
static bool full_speed(const shim_dev_s *d)
{
    return d->kind == K_STLINK_V2 || d->kind == K_STLINK_V21 || d->kind == K_DFUSE || d->kind == K_DFU11 ||
           (d->kind == K_JLINK && d->jlink_hw < 11);
}

EXPORT const struct libusb_version *LIBUSB_CALL libusb_get_version(void)
{
    static const struct libusb_version v = {1, 0, 26, 0, "", "lode usb shim"};
    return &v;
}
EXPORT int LIBUSB_CALL libusb_set_option(libusb_context *ctx, enum libusb_option option, ...)
{
    (void)ctx, (void)option; /* log level, Windows backends: nothing to do here */
    return 0;
}
EXPORT void LIBUSB_CALL libusb_set_debug(libusb_context *ctx, int level) { (void)ctx, (void)level; }
/* the devices live as long as the process: references need no counting */
EXPORT libusb_device *LIBUSB_CALL libusb_ref_device(libusb_device *dev) { return dev; }
EXPORT void LIBUSB_CALL libusb_unref_device(libusb_device *dev) { (void)dev; }
EXPORT int LIBUSB_CALL libusb_kernel_driver_active(libusb_device_handle *h, int i) { (void)h, (void)i; return 0; }
EXPORT int LIBUSB_CALL libusb_attach_kernel_driver(libusb_device_handle *h, int i) { (void)h, (void)i; return LIBUSB_ERROR_NOT_FOUND; }
EXPORT int LIBUSB_CALL libusb_get_device_speed(libusb_device *dev) { return full_speed(dev->d) ? LIBUSB_SPEED_FULL : LIBUSB_SPEED_HIGH; }
EXPORT int LIBUSB_CALL libusb_get_max_packet_size(libusb_device *dev, unsigned char ep)
{
    const shim_dev_s *d = dev->d;
    if (ep != d->ep_in && ep != d->ep_out && (!d->ep_trace || ep != d->ep_trace))
        return LIBUSB_ERROR_NOT_FOUND;
    return full_speed(d) ? 64 : 512;
}
EXPORT int LIBUSB_CALL libusb_get_max_iso_packet_size(libusb_device *dev, unsigned char ep) { return libusb_get_max_packet_size(dev, ep); }
EXPORT libusb_device *LIBUSB_CALL libusb_get_parent(libusb_device *dev) { (void)dev; return NULL; }
EXPORT uint8_t LIBUSB_CALL libusb_get_port_number(libusb_device *dev) { return dev->addr; }
EXPORT int LIBUSB_CALL libusb_handle_events(libusb_context *ctx) { return libusb_handle_events_completed(ctx, NULL); }
EXPORT int LIBUSB_CALL libusb_handle_events_timeout(libusb_context *ctx, struct timeval *tv)
{
    return libusb_handle_events_timeout_completed(ctx, tv, NULL);
}
/* the probes' endpoints are bulk; an interrupt transfer moves the same way */
EXPORT int LIBUSB_CALL libusb_interrupt_transfer(libusb_device_handle *h, unsigned char ep, unsigned char *data,
                                                int length, int *transferred, unsigned int timeout)
{
    return libusb_bulk_transfer(h, ep, data, length, transferred, timeout);
}
