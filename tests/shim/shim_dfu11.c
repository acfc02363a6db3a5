/* SPDX-License-Identifier: MIT */
/* A plain USB DFU 1.1 device (1209:0DF1), written from the USB-IF "Device Class Specification
 * for Device Firmware Upgrade" 1.1: no DfuSe commands, no addresses. The firmware is one
 * stream: DNLOAD blocks (wValue = wBlockNum, each at most wTransferSize) are written one after
 * the other from the start of the application area, a zero-length DNLOAD starts manifestation,
 * UPLOAD reads the application area from its start (a short frame ends it).
 *
 * State machine (figure A.1 of the specification): dfuIDLE -DNLOAD-> dfuDNLOAD-SYNC
 * -GETSTATUS-> dfuDNBUSY (bwPollTimeout = the time the flash needs) -GETSTATUS-> dfuDNLOAD-IDLE;
 * dfuDNLOAD-IDLE -DNLOAD(0)-> dfuMANIFEST-SYNC -GETSTATUS-> dfuMANIFEST (bwPollTimeout) -GETSTATUS->
 * dfuIDLE when bitManifestationTolerant, else dfuMANIFEST-WAIT-RESET (the device then waits for
 * a USB reset and starts the application: it leaves the bus as a DFU device). UPLOAD from
 * dfuIDLE/dfuUPLOAD-IDLE; ABORT to dfuIDLE; CLRSTATUS from dfuERROR; a request not allowed in a
 * state stalls and enters dfuERROR (errSTALLEDPKT).
 *
 * Run-time mode (variants dfu11-rt / dfu11-rtw): the application (1209:0AF1) has a DFU run-time
 * interface (class FE/01, protocol 1) in appIDLE; DETACH (wValue = timeout in ms) enters
 * appDETACH; a USB reset within the timeout (or at once with bitWillDetach) brings the device
 * back as 1209:0DF1 in DFU mode (protocol 2, dfuIDLE) with the same serial number.
 *
 * The application area is the simulated STM32F103's flash (0x08000000, F_SIZE), erased page by
 * page as the download reaches it and programmed through the FPEC model (shim_dfuse.c), so the
 * times pass on the board's virtual clock. LODE_USB_SHIM_DFU11_QUIRKS: start-error (starts in
 * dfuERROR), start-dnload (starts in dfuDNLOAD-IDLE, as a host that died mid-download leaves
 * it), vanish-after=N (unplugged after N requests). */
#include "shim_dfu11.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim_dfuse.h"

#define XFER 1024u
#define FLASH_BASE 0x08000000u
#define F_SIZE 0x1FFFF7E0u
#define PAGE 1024u
#define MANIFEST_MS 30u
#define DETACH_MS 1000u

enum {
    S_APP_IDLE = 0, S_APP_DETACH = 1, S_IDLE = 2, S_DN_SYNC = 3, S_DN_BUSY = 4, S_DN_IDLE = 5, S_MAN_SYNC = 6,
    S_MAN = 7, S_MAN_WAIT_RESET = 8, S_UP_IDLE = 9, S_ERROR = 10
};
enum { OK = 0, errADDRESS = 8, errSTALLEDPKT = 15 };

struct shim_dfu11_s {
    lode_sim_s *sim;
    bool runtime, tolerant, will_detach, gone, app; /* app: started the application (left DFU) */
    int state, status;
    uint32_t flash_size;
    uint32_t dn_off, up_off;  /* the stream's position */
    uint8_t buf[XFER];
    size_t len;
    uint32_t poll_ms;
    double busy_until, detach_until;
    unsigned long long vanish_after, requests, early;
    unsigned char func[9];
};

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int shim_dfu11_new(const char *variant, shim_dfu11_s **out)
{
    bool rt = !strcmp(variant, "dfu11-rt"), rtw = !strcmp(variant, "dfu11-rtw"), nt = !strcmp(variant, "dfu11-nt");
    if (!rt && !rtw && !nt && strcmp(variant, "dfu11"))
        return -1;
    shim_dfu11_s *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->runtime = rt || rtw;
    d->will_detach = rtw;
    d->tolerant = !nt;
    d->state = d->runtime ? S_APP_IDLE : S_IDLE;
    /* functional descriptor (DFU 1.1 4.1.3): bmAttributes, wDetachTimeOut, wTransferSize, bcdDFU */
    const unsigned char f[9] = {9, 0x21, (unsigned char)(0x03 | (d->tolerant ? 0x04 : 0) | (rtw ? 0x08 : 0)),
                                DETACH_MS & 0xFF, DETACH_MS >> 8, XFER & 0xFF, XFER >> 8, 0x10, 0x01};
    memcpy(d->func, f, sizeof f);
    const char *q = getenv("LODE_USB_SHIM_DFU11_QUIRKS");
    if (q && strstr(q, "start-error") && !d->runtime)
        d->state = S_ERROR, d->status = 14;
    if (q && strstr(q, "start-dnload") && !d->runtime)
        d->state = S_DN_IDLE;
    const char *va = q ? strstr(q, "vanish-after=") : NULL;
    if (va)
        d->vanish_after = strtoull(va + 13, NULL, 10);
    *out = d;
    return 0;
}

void shim_dfu11_free(shim_dfu11_s *d) { free(d); }

void shim_dfu11_attach(shim_dfu11_s *d, lode_sim_s *sim)
{
    d->sim = sim;
    uint8_t fs[2] = {0, 0};
    lode_sim_mem_read(sim, F_SIZE, fs, 2);
    d->flash_size = ((uint32_t)fs[0] | (uint32_t)fs[1] << 8) * 1024u;
    if (!d->runtime) /* the core sits in the bootloader (this code): halted for the board */
        lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0003u);
}

uint16_t shim_dfu11_pid(const shim_dfu11_s *d) { return d->runtime ? SHIM_DFU11_RT_PID : SHIM_DFU11_PID; }
bool shim_dfu11_gone(const shim_dfu11_s *d) { return d->gone; }

void shim_dfu11_stats(const shim_dfu11_s *d, unsigned long long *requests, unsigned long long *early_polls)
{
    *requests = d->requests;
    *early_polls = d->early;
}

const char *shim_dfu11_string(const shim_dfu11_s *d, uint8_t idx)
{
    if (idx != 4)
        return NULL;
    return d->runtime ? "lode app DFU run-time" : "lode DFU 1.1 application area";
}

int shim_dfu11_config(const shim_dfu11_s *d, struct libusb_config_descriptor **config)
{
    struct libusb_config_descriptor *c = calloc(1, sizeof *c);
    struct libusb_interface *itf = calloc(1, sizeof *itf);
    struct libusb_interface_descriptor *alt = calloc(1, sizeof *alt);
    if (!c || !itf || !alt) {
        free(c), free(itf), free(alt);
        return LIBUSB_ERROR_NO_MEM;
    }
    *alt = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                .bInterfaceClass = 0xFE, .bInterfaceSubClass = 1,
                                                .bInterfaceProtocol = d->runtime ? 1 : 2, .iInterface = 4,
                                                .extra = d->func, .extra_length = sizeof d->func};
    itf->altsetting = alt;
    itf->num_altsetting = 1;
    *c = (struct libusb_config_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_CONFIG, .bNumInterfaces = 1,
                                           .bConfigurationValue = 1, .MaxPower = 50, .interface = itf};
    *config = c;
    return 0;
}

static int raw_config(const shim_dfu11_s *d, unsigned char *b)
{
    const unsigned char id[9] = {9, LIBUSB_DT_INTERFACE, 0, 0, 0, 0xFE, 1, (unsigned char)(d->runtime ? 1 : 2), 4};
    const unsigned char cd[9] = {9, LIBUSB_DT_CONFIG, 27, 0, 1, 1, 0, 0x80, 50};
    memcpy(b, cd, 9);
    memcpy(b + 9, id, 9);
    memcpy(b + 18, d->func, 9);
    return 27;
}

static int stall(shim_dfu11_s *d)
{
    d->state = S_ERROR, d->status = errSTALLEDPKT;
    return LIBUSB_ERROR_PIPE;
}

/* the block received last, at the stream's position: each page erased when the stream enters it */
static int execute(shim_dfu11_s *d)
{
    if (d->dn_off + d->len > d->flash_size)
        return errADDRESS;
    uint32_t a = FLASH_BASE + d->dn_off;
    for (uint32_t p = (a + PAGE - 1) / PAGE * PAGE; p < a + d->len; p += PAGE) {
        int st = shim_fpec_erase(d->sim, false, p);
        if (st != OK)
            return st;
    }
    uint8_t tmp[XFER + 1];
    memcpy(tmp, d->buf, d->len);
    size_t n = d->len;
    if (n & 1) /* half-word programming: an odd tail is padded with the erased value */
        tmp[n++] = 0xFF;
    int st = shim_fpec_program(d->sim, a, tmp, n);
    d->dn_off += (uint32_t)d->len;
    return st;
}

static int status_reply(shim_dfu11_s *d, unsigned char *data, uint16_t length)
{
    double now = wall();
    if (d->runtime) { /* run-time GETSTATUS: appIDLE / appDETACH */
    } else if (d->state == S_DN_SYNC) {
        uint64_t t0 = lode_sim_now(d->sim);
        int st = execute(d);
        uint64_t ps = lode_sim_now(d->sim) - t0;
        if (st != OK) {
            d->state = S_ERROR, d->status = st, d->poll_ms = 0;
        } else {
            d->state = S_DN_BUSY;
            d->poll_ms = (uint32_t)((ps + 999999999ull) / 1000000000ull);
            d->busy_until = now + d->poll_ms / 1000.0;
        }
    } else if (d->state == S_DN_BUSY || d->state == S_MAN) {
        if (now < d->busy_until - 0.0005) { /* the host did not wait bwPollTimeout */
            d->early++;
            d->poll_ms = (uint32_t)((d->busy_until - now) * 1000.0) + 1;
        } else if (d->state == S_DN_BUSY) {
            d->state = S_DN_IDLE, d->poll_ms = 0;
        } else { /* manifestation done */
            d->state = d->tolerant ? S_IDLE : S_MAN_WAIT_RESET, d->poll_ms = 0;
        }
    } else if (d->state == S_MAN_SYNC) {
        d->state = S_MAN, d->poll_ms = MANIFEST_MS;
        d->busy_until = now + MANIFEST_MS / 1000.0;
        lode_sim_advance(d->sim, (uint64_t)MANIFEST_MS * 1000000000ull);
    }
    unsigned char b[6] = {(unsigned char)d->status, (unsigned char)d->poll_ms, (unsigned char)(d->poll_ms >> 8),
                          (unsigned char)(d->poll_ms >> 16), (unsigned char)d->state, 0};
    int n = length < 6 ? length : 6;
    memcpy(data, b, (size_t)n);
    return n;
}

static int upload(shim_dfu11_s *d, unsigned char *data, uint16_t length)
{
    if (d->state == S_IDLE)
        d->up_off = 0;
    else if (d->state != S_UP_IDLE)
        return stall(d);
    uint32_t left = d->flash_size - d->up_off;
    uint32_t n = left < length ? left : length;
    if (n && lode_sim_mem_read(d->sim, FLASH_BASE + d->up_off, data, n) != LODE_OK)
        return stall(d);
    d->up_off += n;
    d->state = n < length ? S_IDLE : S_UP_IDLE; /* a short frame ends the upload */
    return (int)n;
}

/* the application starts: the board runs from its reset vector */
static void start_app(shim_dfu11_s *d)
{
    lode_sim_write32(d->sim, 0xE000EDF0u, 0xA05F0000u);
    lode_sim_write32(d->sim, 0xE000ED0Cu, 0x05FA0004u);
    d->gone = true;
}

int shim_dfu11_reset(shim_dfu11_s *d)
{
    if (d->gone)
        return LIBUSB_ERROR_NOT_FOUND;
    if (d->runtime) {
        if (d->state == S_APP_DETACH && wall() <= d->detach_until) { /* comes back in DFU mode */
            d->runtime = false;
            d->state = S_IDLE, d->status = OK;
            if (d->sim)
                lode_sim_write32(d->sim, 0xE000EDF0u, 0xA05F0003u);
            return LIBUSB_ERROR_NOT_FOUND;
        }
        d->state = S_APP_IDLE;
        return 0;
    }
    if (d->state == S_MAN_WAIT_RESET) { /* the new firmware runs */
        start_app(d);
        return LIBUSB_ERROR_NOT_FOUND;
    }
    /* a DFU-mode device reset without a complete download stays in DFU mode */
    d->state = S_IDLE, d->status = OK;
    return 0;
}

int shim_dfu11_control(shim_dfu11_s *d, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                       unsigned char *data, uint16_t length)
{
    if (d->gone || (d->vanish_after && d->requests >= d->vanish_after)) {
        d->gone = true;
        return LIBUSB_ERROR_NO_DEVICE;
    }
    d->requests++;
    if (type == 0x80 && req == LIBUSB_REQUEST_GET_DESCRIPTOR && (value >> 8) == LIBUSB_DT_CONFIG) {
        unsigned char b[32];
        int n = raw_config(d, b);
        n = n < length ? n : length;
        memcpy(data, b, (size_t)n);
        return n;
    }
    if ((type & 0x7F) != 0x21 || index != 0)
        return SHIM_NOT_MINE;
    bool in = type & 0x80;
    if (d->runtime) { /* DFU 1.1 5.1: DETACH, GETSTATUS, GETSTATE in run-time mode */
        switch (req) {
        case 0:
            if (in)
                return LIBUSB_ERROR_PIPE;
            d->state = S_APP_DETACH;
            d->detach_until = wall() + (value < DETACH_MS ? value : DETACH_MS) / 1000.0;
            if (d->will_detach) /* detaches and re-enumerates by itself */
                shim_dfu11_reset(d);
            return 0;
        case 3:
            return in && length >= 6 ? status_reply(d, data, length) : LIBUSB_ERROR_PIPE;
        case 5:
            if (!in || length < 1)
                return LIBUSB_ERROR_PIPE;
            data[0] = (unsigned char)d->state;
            return 1;
        default:
            return LIBUSB_ERROR_PIPE;
        }
    }
    if (d->state == S_MAN_WAIT_RESET && req != 3)
        return LIBUSB_ERROR_PIPE; /* it only waits for the reset */
    switch (req) {
    case 1: /* DNLOAD */
        if (in || length > XFER || (d->state != S_IDLE && d->state != S_DN_IDLE))
            return stall(d);
        if (length == 0) {
            if (d->state == S_IDLE)
                return stall(d); /* nothing was downloaded */
            d->state = S_MAN_SYNC;
            return 0;
        }
        if (d->state == S_IDLE)
            d->dn_off = 0; /* a new download */
        memcpy(d->buf, data, length);
        d->len = length;
        d->state = S_DN_SYNC;
        return length;
    case 2: /* UPLOAD */
        return in ? upload(d, data, length) : stall(d);
    case 3: /* GETSTATUS */
        return in && length >= 6 ? status_reply(d, data, length) : stall(d);
    case 4: /* CLRSTATUS */
        if (in || d->state != S_ERROR)
            return stall(d);
        d->state = S_IDLE, d->status = OK;
        return 0;
    case 5: /* GETSTATE */
        if (!in || length < 1)
            return stall(d);
        data[0] = (unsigned char)d->state;
        return 1;
    case 6: /* ABORT: from the idle states back to dfuIDLE */
        if (in || (d->state != S_IDLE && d->state != S_DN_IDLE && d->state != S_UP_IDLE))
            return stall(d);
        d->state = S_IDLE;
        return 0;
    default:
        return stall(d);
    }
}
