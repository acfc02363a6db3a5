/* SPDX-License-Identifier: MIT */
/* A PJRC Teensy on the stand-in libusb's bus, modelled from PJRC's published HalfKay behaviour
 * (the HalfKay protocol page, the loader's documented timings) and Teensyduino's USB types:
 *
 *   halfkay-MODEL        the bootloader (16C0:0478): a HID interface on usage page 0xFF9C whose
 *                        usage names the model, one output report per block (SET_REPORT, block
 *                        + 2- or 64-byte address header). The first write of a bootloader
 *                        session erases the whole flash and takes the erase time (the control
 *                        transfer completes when it is done, or times out first -- then the
 *                        device stalls until the erase is over); each later block stalls the
 *                        next request for its programming time. A write to 0xFFFF / 0xFFFFFF
 *                        boots the program: the bootloader leaves the bus.
 *   teensy-serial-MODEL  a sketch built with USB type Serial (16C0:0483, CDC ACM): a
 *                        SET_LINE_CODING at 134 baud reboots it into HalfKay (same board); after
 *                        the boot command it runs the sketch again.
 *   teensy-midi-MODEL    a sketch with USB type MIDI (16C0:0485): no serial port, but
 *                        Teensyduino's serial emulation (SEREMU: a HID interface on usage page
 *                        0xFFC9), whose feature report A9 45 C2 6B reboots it into HalfKay.
 *   teensy-keyboard-MODEL  USB type "Keyboard" (16C0:04D0): one boot-keyboard interface, no
 *                        serial port of any kind: only the button (not modelled) gets it into
 *                        HalfKay.
 *
 * MODEL: teensy2, teensypp2, teensylc, teensy30, teensy31, teensy32, teensy35, teensy36,
 * teensy40, teensy41. The flash image is kept in LODE_USB_SHIM_STATE_DIR/<serial>.halfkay
 * (code-size bytes) once written. LODE_USB_SHIM_HALFKAY_ERASE_MS replaces the erase time (300
 * ms); LODE_USB_SHIM_HALFKAY_QUIRKS=vanish-after=N: the board is unplugged after N block writes. */
#include "shim_halfkay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VID 0x16C0u
#define HALFKAY_PID 0x0478u
#define SERIAL_PID 0x0483u
#define MIDI_PID 0x0485u
#define KEYBOARD_PID 0x04D0u

typedef struct model_s {
    const char *name;
    uint8_t usage;        /* on usage page 0xFF9C */
    uint16_t bcd;         /* bcdDevice */
    uint32_t code_size;
    uint16_t block;
    uint8_t hdr;          /* 2: byte address (16 bit), 1: address bits 8-23, 64: 24-bit address + zeros */
    uint32_t block_us;    /* programming time of one block */
} model_s;

static const model_s models[] = {
    {"teensy2", 0x1B, 0x0100, 32256, 128, 2, 4500},      {"teensypp2", 0x1C, 0x0100, 130048, 256, 1, 4500},
    {"teensylc", 0x20, 0x0273, 63488, 512, 64, 2000},    {"teensy30", 0x1D, 0x0274, 131072, 1024, 64, 2000},
    {"teensy31", 0x1E, 0x0275, 262144, 1024, 64, 2000},  {"teensy32", 0x21, 0x0275, 262144, 1024, 64, 2000},
    {"teensy35", 0x1F, 0x0276, 524288, 1024, 64, 2000},  {"teensy36", 0x22, 0x0277, 1048576, 1024, 64, 2000},
    {"teensy40", 0x24, 0x0279, 2031616, 1024, 64, 1000}, {"teensy41", 0x25, 0x0280, 8126464, 1024, 64, 1000},
};

typedef enum mode_e { M_HALFKAY, M_SERIAL, M_MIDI, M_KEYBOARD, M_GONE } mode_e;

struct shim_halfkay_s {
    const model_s *m;
    mode_e mode, sketch;      /* now; what the board runs after booting (M_GONE: unknown) */
    char serial[64];          /* the sketch's (decimal) */
    char hk_serial[64];       /* HalfKay's (hex, a tenth of the number when it ends in 0) */
    uint8_t *flash;
    bool erased, dirty;       /* this bootloader session erased the chip; something was written */
    double busy_until;        /* wall clock: stalls before this */
    unsigned long long writes, vanish_after;
    uint8_t line_coding[7];
};

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int shim_halfkay_new(const char *kind, const char *serial, shim_halfkay_s **out)
{
    mode_e mode;
    const char *model;
    if (!strncmp(kind, "halfkay-", 8))
        mode = M_HALFKAY, model = kind + 8;
    else if (!strncmp(kind, "teensy-serial-", 14))
        mode = M_SERIAL, model = kind + 14;
    else if (!strncmp(kind, "teensy-midi-", 12))
        mode = M_MIDI, model = kind + 12;
    else if (!strncmp(kind, "teensy-keyboard-", 16))
        mode = M_KEYBOARD, model = kind + 16;
    else
        return 0;
    const model_s *m = NULL;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (!strcmp(models[i].name, model))
            m = &models[i];
    if (!m) {
        fprintf(stderr, "usb shim: unknown Teensy model '%s' in LODE_USB_SHIM\n", model);
        return -1;
    }
    shim_halfkay_s *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->m = m;
    h->mode = mode;
    h->sketch = mode == M_HALFKAY ? M_GONE : mode;
    /* Teensyduino's serial numbers are decimal: HalfKay's number (hex), times ten when it is
     * below 10000000 (so SERIAL of a running sketch below 100000000 ends in 0). AVR Teensys
     * have none. */
    snprintf(h->serial, sizeof h->serial, "%s", serial && *serial ? serial : "1234560");
    unsigned long long n = strtoull(h->serial, NULL, 10);
    if (m->hdr != 64)
        h->hk_serial[0] = 0;
    else if (mode == M_HALFKAY) /* named as HalfKay shows it */
        snprintf(h->hk_serial, sizeof h->hk_serial, "%s", h->serial);
    else
        snprintf(h->hk_serial, sizeof h->hk_serial, "%08llX", n % 10 == 0 && n / 10 < 10000000u ? n / 10 : n);
    const char *q = getenv("LODE_USB_SHIM_HALFKAY_QUIRKS");
    if (q && strstr(q, "vanish-after="))
        h->vanish_after = strtoull(strstr(q, "vanish-after=") + 13, NULL, 10);
    h->flash = malloc(m->code_size);
    if (!h->flash) {
        free(h);
        return -1;
    }
    memset(h->flash, 0xFF, m->code_size);
    *out = h;
    return 1;
}

void shim_halfkay_free(shim_halfkay_s *h)
{
    if (!h)
        return;
    free(h->flash);
    free(h);
}

void shim_halfkay_ids(const shim_halfkay_s *h, uint16_t *vid, uint16_t *pid, uint16_t *bcd, bool *has_serial)
{
    *vid = VID;
    *pid = h->mode == M_HALFKAY ? HALFKAY_PID : h->mode == M_MIDI ? MIDI_PID : h->mode == M_KEYBOARD ? KEYBOARD_PID
                                                                                             : SERIAL_PID;
    *bcd = h->m->bcd;
    *has_serial = h->mode != M_HALFKAY || h->hk_serial[0];
}

bool shim_halfkay_gone(const shim_halfkay_s *h) { return h->mode == M_GONE; }

const char *shim_halfkay_string(const shim_halfkay_s *h, uint8_t idx)
{
    switch (idx) {
    case 1: return h->mode == M_HALFKAY ? NULL : "Teensyduino";
    case 2: return h->mode == M_HALFKAY ? NULL : h->mode == M_MIDI ? "Teensy MIDI" : h->mode == M_KEYBOARD ? "Keyboard" : "USB Serial";
    case 3: return h->mode == M_HALFKAY ? (h->hk_serial[0] ? h->hk_serial : NULL) : h->serial;
    default: return NULL;
    }
}

/* SEREMU (usage page 0xFFC9, usage 4): 64-byte input and output reports, a 4-byte feature report */
static const uint8_t seremu_desc[] = {0x06, 0xC9, 0xFF, 0x09, 0x04, 0xA1, 0x5C, 0x75, 0x08, 0x15, 0x00, 0x26, 0xFF,
                                      0x00, 0x95, 0x40, 0x09, 0x75, 0x81, 0x02, 0x95, 0x20, 0x09, 0x76, 0x91, 0x02,
                                      0x95, 0x04, 0x09, 0x76, 0xB1, 0x02, 0xC0};
/* a boot keyboard (HID 1.11 B.1), shortened: usage page 1, usage 6 */
static const uint8_t keyboard_desc[] = {0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x75, 0x01, 0x95, 0x08, 0x05, 0x07,
                                        0x19, 0xE0, 0x29, 0xE7, 0x15, 0x00, 0x25, 0x01, 0x81, 0x02, 0xC0};

/* HID 1.11 6.2.2: usage page 0xFF9C, the model's usage, one output report of block + header */
static size_t report_desc(const shim_halfkay_s *h, uint8_t *d)
{
    unsigned n = h->m->block + (h->m->hdr == 64 ? 64u : 2u);
    const uint8_t desc[] = {0x06, 0x9C, 0xFF, 0x09, h->m->usage, 0xA1, 0x01, 0x75, 0x08, 0x15, 0x00, 0x26, 0xFF, 0x00,
                            0x96, (uint8_t)n, (uint8_t)(n >> 8), 0x09, 0x01, 0x91, 0x02, 0xC0};
    memcpy(d, desc, sizeof desc);
    return sizeof desc;
}

/* The configuration of the current mode; libusb_free_config_descriptor in usb_shim.c frees
 * interface[0].altsetting[0].endpoint, interface[0].altsetting and interface: all interfaces,
 * settings and endpoints sit in one array each. */
int shim_halfkay_config(const shim_halfkay_s *h, struct libusb_config_descriptor **config)
{
    static uint8_t hid_desc[3][9]; /* read-only once written: the same bytes for every caller */
    struct libusb_config_descriptor *c = calloc(1, sizeof *c);
    struct libusb_interface *itf = calloc(2, sizeof *itf);
    struct libusb_interface_descriptor *alt = calloc(2, sizeof *alt);
    struct libusb_endpoint_descriptor *ep = calloc(3, sizeof *ep);
    if (!c || !itf || !alt || !ep) {
        free(c), free(itf), free(alt), free(ep);
        return LIBUSB_ERROR_NO_MEM;
    }
    uint8_t nif = 1;
    if (h->mode == M_HALFKAY) {
        uint8_t rd[64];
        size_t rl = report_desc(h, rd);
        uint8_t *hd = hid_desc[h->m->hdr == 64 ? 0 : h->m->hdr == 2 ? 1 : 2];
        const uint8_t hdv[9] = {9, 0x21, 0x11, 0x01, 0, 1, 0x22, (uint8_t)rl, (uint8_t)(rl >> 8)};
        memcpy(hd, hdv, sizeof hdv);
        ep[0] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x81,
                                                    .bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT,
                                                    .wMaxPacketSize = 64, .bInterval = 1};
        alt[0] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bNumEndpoints = 1, .bInterfaceClass = LIBUSB_CLASS_HID,
                                                      .endpoint = &ep[0], .extra = hd, .extra_length = 9};
    } else if (h->mode == M_SERIAL) {
        /* CDC ACM: the control interface (notification endpoint) and the data interface */
        ep[0] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x82,
                                                    .bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT,
                                                    .wMaxPacketSize = 16, .bInterval = 64};
        ep[1] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x03, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK,
                                                    .wMaxPacketSize = 64};
        ep[2] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x84, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK,
                                                    .wMaxPacketSize = 64};
        alt[0] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bInterfaceNumber = 0, .bNumEndpoints = 1,
                                                      .bInterfaceClass = 2, .bInterfaceSubClass = 2,
                                                      .bInterfaceProtocol = 1, .endpoint = &ep[0]};
        alt[1] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bInterfaceNumber = 1, .bNumEndpoints = 2,
                                                      .bInterfaceClass = 0x0A, .endpoint = &ep[1]};
        nif = 2;
    } else if (h->mode == M_KEYBOARD) {
        ep[0] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x83,
                                                    .bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT,
                                                    .wMaxPacketSize = 8, .bInterval = 1};
        alt[0] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bNumEndpoints = 1, .bInterfaceClass = LIBUSB_CLASS_HID,
                                                      .bInterfaceSubClass = 1, .bInterfaceProtocol = 1,
                                                      .endpoint = &ep[0]};
    } else {
        /* USB MIDI 1.0: an audio-class MIDIStreaming interface with a bulk pair; SEREMU */
        ep[0] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x03, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK,
                                                    .wMaxPacketSize = 64};
        ep[1] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x84, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK,
                                                    .wMaxPacketSize = 64};
        ep[2] = (struct libusb_endpoint_descriptor){.bLength = 7, .bDescriptorType = LIBUSB_DT_ENDPOINT,
                                                    .bEndpointAddress = 0x82,
                                                    .bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT,
                                                    .wMaxPacketSize = 64, .bInterval = 1};
        alt[0] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bNumEndpoints = 2, .bInterfaceClass = 1,
                                                      .bInterfaceSubClass = 3, .endpoint = &ep[0]};
        alt[1] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bInterfaceNumber = 1, .bNumEndpoints = 1,
                                                      .bInterfaceClass = LIBUSB_CLASS_HID, .endpoint = &ep[2]};
        nif = 2;
    }
    for (uint8_t i = 0; i < nif; i++) {
        itf[i].altsetting = &alt[i];
        itf[i].num_altsetting = 1;
    }
    *c = (struct libusb_config_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_CONFIG, .bNumInterfaces = nif,
                                           .bConfigurationValue = 1, .MaxPower = 50, .interface = itf};
    *config = c;
    return 0;
}

void shim_halfkay_save(shim_halfkay_s *h)
{
    const char *dir = getenv("LODE_USB_SHIM_STATE_DIR");
    if (!h->dirty || !dir || !*dir)
        return;
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/%s.halfkay", dir, h->serial);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return;
    bool ok = fwrite(h->flash, 1, h->m->code_size, f) == h->m->code_size;
    if (fclose(f) == 0 && ok)
        rename(tmp, path);
    h->dirty = false;
}

/* One output report in HalfKay mode. */
static int write_block(shim_halfkay_s *h, const uint8_t *rep, uint16_t len, unsigned timeout_ms)
{
    const model_s *m = h->m;
    unsigned hdr = m->hdr == 64 ? 64u : 2u;
    if (len != m->block + hdr)
        return LIBUSB_ERROR_PIPE; /* not the report HalfKay declares */
    double now = wall();
    if (now < h->busy_until)
        return LIBUSB_ERROR_PIPE; /* still erasing or programming: stalls */
    uint32_t addr;
    bool boot;
    if (m->hdr == 2) {
        addr = (uint32_t)rep[0] | (uint32_t)rep[1] << 8;
        boot = addr == 0xFFFFu;
    } else if (m->hdr == 1) {
        addr = (uint32_t)rep[0] << 8 | (uint32_t)rep[1] << 16;
        boot = rep[0] == 0xFF && rep[1] == 0xFF;
    } else {
        addr = (uint32_t)rep[0] | (uint32_t)rep[1] << 8 | (uint32_t)rep[2] << 16;
        boot = addr == 0xFFFFFFu;
    }
    if (boot) { /* start the program: the bootloader leaves the bus */
        shim_halfkay_save(h);
        h->mode = h->sketch;
        return len;
    }
    if (addr % m->block || addr + m->block > m->code_size)
        return LIBUSB_ERROR_PIPE;
    if (h->vanish_after && h->writes >= h->vanish_after) {
        shim_halfkay_save(h);
        h->mode = M_GONE;
        return LIBUSB_ERROR_NO_DEVICE;
    }
    if (!h->erased) { /* the first write of a session erases the whole flash first */
        const char *e = getenv("LODE_USB_SHIM_HALFKAY_ERASE_MS");
        double erase_s = (e && *e ? strtod(e, NULL) : 300.0) / 1e3;
        memset(h->flash, 0xFF, m->code_size);
        h->erased = h->dirty = true;
        if (timeout_ms && erase_s > timeout_ms / 1e3) { /* the host gave up first; the erase goes on */
            sleep_s(timeout_ms / 1e3);
            h->busy_until = now + erase_s;
            return LIBUSB_ERROR_TIMEOUT;
        }
        sleep_s(erase_s);
        now = wall();
    }
    memcpy(h->flash + addr, rep + hdr, m->block);
    h->dirty = true;
    h->writes++;
    h->busy_until = now + m->block_us / 1e6;
    return len;
}

int shim_halfkay_control(shim_halfkay_s *h, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                         unsigned char *data, uint16_t length, unsigned timeout_ms)
{
    if (h->mode == M_GONE)
        return LIBUSB_ERROR_NO_DEVICE;
    if (h->mode == M_HALFKAY) {
        if (type == 0x21 && req == 0x09) /* SET_REPORT */
            return (value >> 8) == 2 && index == 0 ? write_block(h, data, length, timeout_ms) : LIBUSB_ERROR_PIPE;
        if (type == 0x81 && req == LIBUSB_REQUEST_GET_DESCRIPTOR && (value >> 8) == 0x22 && index == 0) {
            uint8_t d[64];
            size_t n = report_desc(h, d);
            if (n > length)
                n = length;
            memcpy(data, d, n);
            return (int)n;
        }
        return SHIM_HALFKAY_NOT_MINE;
    }
    if (h->mode == M_KEYBOARD || h->mode == M_MIDI) { /* HID: report descriptors, SEREMU's reboot */
        bool seremu = h->mode == M_MIDI && index == 1;
        if (type == 0x81 && req == LIBUSB_REQUEST_GET_DESCRIPTOR && (value >> 8) == 0x22 &&
            (seremu || (h->mode == M_KEYBOARD && index == 0))) {
            const uint8_t *d = seremu ? seremu_desc : keyboard_desc;
            uint16_t n = (uint16_t)(seremu ? sizeof seremu_desc : sizeof keyboard_desc);
            n = n < length ? n : length;
            memcpy(data, d, n);
            return n;
        }
        if (seremu && type == 0x21 && req == 0x09 && value == 0x0300) { /* SET_REPORT, feature */
            static const uint8_t reboot[4] = {0xA9, 0x45, 0xC2, 0x6B};
            if (length == 4 && !memcmp(data, reboot, 4)) {
                h->mode = M_HALFKAY;
                h->erased = false;
            }
            return length;
        }
        return type == 0x81 || (type & 0x60) == 0x20 ? LIBUSB_ERROR_PIPE : SHIM_HALFKAY_NOT_MINE;
    }
    if (h->mode == M_SERIAL && (type & 0x7F) == 0x21 && index == 0) { /* CDC PSTN 6.3 class requests */
        if (type == 0x21 && req == 0x20 && length == 7) { /* SET_LINE_CODING */
            memcpy(h->line_coding, data, 7);
            uint32_t baud = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                            (uint32_t)data[3] << 24;
            if (baud == 134) { /* Teensyduino's request to reboot into the bootloader */
                h->mode = M_HALFKAY;
                h->erased = false;
            }
            return 7;
        }
        if (type == 0xA1 && req == 0x21) { /* GET_LINE_CODING */
            uint16_t n = length < 7 ? length : 7;
            memcpy(data, h->line_coding, n);
            return n;
        }
        if (type == 0x21 && req == 0x22) /* SET_CONTROL_LINE_STATE */
            return 0;
        return LIBUSB_ERROR_PIPE;
    }
    return SHIM_HALFKAY_NOT_MINE;
}
