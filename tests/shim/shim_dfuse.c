/* SPDX-License-Identifier: MIT */
/* An STM32 in DfuSe mode (0483:DF11) on the stand-in libusb's bus, written from the USB DFU 1.1
 * class specification and ST AN3156: the state machine (DFU 1.1 figure A.1: dfuIDLE,
 * dfuDNLOAD-SYNC, dfuDNBUSY, dfuDNLOAD-IDLE, dfuMANIFEST-SYNC, dfuMANIFEST, dfuUPLOAD-IDLE,
 * dfuERROR), GETSTATUS carrying out the request before it with bwPollTimeout the time the
 * flash needs, the DfuSe commands (Get commands, Set Address Pointer, Erase page/mass, Read
 * unprotect) and data blocks at pointer + (wBlockNum - 2) * wTransferSize, and "leave": a
 * zero-length DNLOAD, answered in dfuMANIFEST, after which the device resets into the
 * application and leaves the bus.
 *
 * The system bootloader here is this C code; the memories are the simulated board's: flash is
 * erased and programmed through the STM32F1 FPEC model (unlock keys, PER/MER + STRT, PG +
 * half-word stores, BSY), so erase and program times pass on the board's virtual clock. The
 * alternate settings: 0 internal flash (its size from F_SIZE, 1 KiB pages up to 128 KiB, else
 * 2 KiB), 1 option bytes (read only in this model). LODE_USB_SHIM_DFUSE_LAYOUT replaces the
 * internal flash's layout string (tests of what a host does with a malformed one);
 * LODE_USB_SHIM_DFUSE_QUIRKS: start-error (the device starts in dfuERROR, as an earlier host
 * may leave it), reset-early (after leave the device resets before answering GETSTATUS, as
 * ST's bootloaders often do), vanish-after=N (unplugged after N requests), protected (read
 * protection on: every memory command fails with errVENDOR and uploads stall, as AN3156
 * describes, until Read Unprotect mass-erases the flash and the device resets). */
#include "shim_dfuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XFER 2048u
#define FLASH_BASE 0x08000000u
#define OB_BASE 0x1FFFF800u
#define OB_SIZE 16u
#define FPEC 0x40022000u
#define F_SIZE 0x1FFFF7E0u

enum { S_IDLE = 2, S_DN_SYNC = 3, S_DN_BUSY = 4, S_DN_IDLE = 5, S_MAN_SYNC = 6, S_MAN = 7, S_UP_IDLE = 9, S_ERROR = 10 };
enum { OK = 0, errTARGET = 1, errWRITE = 3, errERASE = 4, errPROG = 6, errADDRESS = 8, errVENDOR = 11, errSTALLEDPKT = 15 };

struct shim_dfuse_s {
    lode_sim_s *sim;
    int state, status, alt;
    uint32_t pointer, flash_size, page;
    uint16_t block;
    uint8_t buf[XFER];
    size_t len;
    uint32_t poll_ms;
    double busy_until;      /* wall clock: when the host may poll again */
    bool gone;
    bool reset_early;       /* quirk: leave resets before GETSTATUS is answered */
    bool rdp, unprotected;  /* quirk: read protection on; Read Unprotect done (resets next) */
    unsigned long long vanish_after; /* quirk: unplugged after this many requests (0: never) */
    char layout[2][64];
    unsigned long long requests, early;
};

/* functional descriptor (DFU 1.1 4.1.3): can download, can upload, will detach, 255 ms, XFER,
 * bcdDFU 1.1a (DfuSe) */
static const unsigned char func_desc[9] = {9, 0x21, 0x0B, 0xFF, 0x00, XFER & 0xFF, XFER >> 8, 0x1A, 0x01};

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int shim_dfuse_new(lode_sim_s *sim, shim_dfuse_s **out)
{
    shim_dfuse_s *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->sim = sim;
    d->state = S_IDLE;
    uint8_t fs[2] = {0, 0};
    lode_sim_mem_read(sim, F_SIZE, fs, 2);
    d->flash_size = ((uint32_t)fs[0] | (uint32_t)fs[1] << 8) * 1024u;
    d->page = d->flash_size <= 128u * 1024u ? 1024u : 2048u;
    snprintf(d->layout[0], sizeof d->layout[0], "@Internal Flash  /0x%08X/%03u*%03uKg", FLASH_BASE,
             d->flash_size / d->page, d->page / 1024u);
    snprintf(d->layout[1], sizeof d->layout[1], "@Option Bytes  /0x%08X/01*%03u a", OB_BASE, OB_SIZE);
    const char *q = getenv("LODE_USB_SHIM_DFUSE_QUIRKS");
    if (q && strstr(q, "start-error")) /* left in dfuERROR by an earlier host */
        d->state = S_ERROR, d->status = 14;
    d->reset_early = q && strstr(q, "reset-early");
    d->rdp = q && strstr(q, "protected");
    const char *va = q ? strstr(q, "vanish-after=") : NULL;
    if (va)
        d->vanish_after = strtoull(va + 13, NULL, 10);
    const char *forced = getenv("LODE_USB_SHIM_DFUSE_LAYOUT"); /* a device with a broken string */
    if (forced && *forced)
        snprintf(d->layout[0], sizeof d->layout[0], "%s", forced);
    /* the core sits in the system bootloader (this code): halted for the board */
    lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0003u);
    *out = d;
    return 0;
}

void shim_dfuse_free(shim_dfuse_s *d) { free(d); }

bool shim_dfuse_gone(const shim_dfuse_s *d) { return d->gone; }

void shim_dfuse_stats(const shim_dfuse_s *d, unsigned long long *requests, unsigned long long *early_polls)
{
    *requests = d->requests;
    *early_polls = d->early;
}

const char *shim_dfuse_string(shim_dfuse_s *d, uint8_t idx)
{
    return idx == 4 ? d->layout[0] : idx == 5 ? d->layout[1] : NULL;
}

int shim_dfuse_config(struct libusb_config_descriptor **config)
{
    struct libusb_config_descriptor *c = calloc(1, sizeof *c);
    struct libusb_interface *itf = calloc(1, sizeof *itf);
    struct libusb_interface_descriptor *alt = calloc(2, sizeof *alt);
    if (!c || !itf || !alt) {
        free(c), free(itf), free(alt);
        return LIBUSB_ERROR_NO_MEM;
    }
    for (int a = 0; a < 2; a++)
        alt[a] = (struct libusb_interface_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_INTERFACE,
                                                      .bAlternateSetting = (uint8_t)a, .bInterfaceClass = 0xFE,
                                                      .bInterfaceSubClass = 1, .bInterfaceProtocol = 2,
                                                      .iInterface = (uint8_t)(4 + a)};
    alt[1].extra = func_desc;
    alt[1].extra_length = sizeof func_desc;
    itf->altsetting = alt;
    itf->num_altsetting = 2;
    *c = (struct libusb_config_descriptor){.bLength = 9, .bDescriptorType = LIBUSB_DT_CONFIG, .bNumInterfaces = 1,
                                           .bConfigurationValue = 1, .MaxPower = 50, .interface = itf};
    *config = c;
    return 0;
}

/* the configuration descriptor as the device sends it (USB 2.0 9.6.3, 9.6.5) */
static int raw_config(unsigned char *b)
{
    int n = 9;
    for (int a = 0; a < 2; a++) {
        const unsigned char id[9] = {9, LIBUSB_DT_INTERFACE, 0, (unsigned char)a, 0, 0xFE, 1, 2, (unsigned char)(4 + a)};
        memcpy(b + n, id, 9);
        n += 9;
    }
    memcpy(b + n, func_desc, sizeof func_desc);
    n += (int)sizeof func_desc;
    const unsigned char cd[9] = {9, LIBUSB_DT_CONFIG, (unsigned char)n, 0, 1, 1, 0, 0x80, 50};
    memcpy(b, cd, 9);
    return n;
}

/* ---- the flash, through the FPEC ------------------------------------------------------------- */

static void fpec_wait(lode_sim_s *sim, uint64_t first_ps)
{
    lode_sim_advance(sim, first_ps);
    uint32_t sr = 0;
    for (int i = 0; i < 1000000 && lode_sim_read32(sim, FPEC + 0x0C, &sr) == LODE_OK && (sr & 1u); i++)
        lode_sim_advance(sim, 500000ull); /* 0.5 us */
}

static int fpec_result(lode_sim_s *sim, int err)
{
    uint32_t sr = 0;
    lode_sim_read32(sim, FPEC + 0x0C, &sr);
    lode_sim_write32(sim, FPEC + 0x0C, 0x34u); /* clear EOP, WRPRTERR, PGERR */
    lode_sim_write32(sim, FPEC + 0x10, 0x80u); /* LOCK */
    return sr & 0x14u ? err : OK;
}

static void fpec_unlock(lode_sim_s *sim)
{
    lode_sim_write32(sim, FPEC + 0x04, 0x45670123u);
    lode_sim_write32(sim, FPEC + 0x04, 0xCDEF89ABu);
}

int shim_fpec_erase(lode_sim_s *sim, bool mass, uint32_t addr)
{
    fpec_unlock(sim);
    lode_sim_write32(sim, FPEC + 0x10, mass ? 0x04u : 0x02u);
    if (!mass)
        lode_sim_write32(sim, FPEC + 0x14, addr);
    lode_sim_write32(sim, FPEC + 0x10, (mass ? 0x04u : 0x02u) | 0x40u);
    fpec_wait(sim, 19000000000ull);
    lode_sim_write32(sim, FPEC + 0x10, 0);
    return fpec_result(sim, errERASE);
}

int shim_fpec_program(lode_sim_s *sim, uint32_t addr, const uint8_t *data, size_t len)
{
    fpec_unlock(sim);
    lode_sim_write32(sim, FPEC + 0x10, 0x01u); /* PG */
    int rc = OK;
    for (size_t i = 0; i < len && rc == OK; i += 2) {
        if (lode_sim_mem_write(sim, addr + (uint32_t)i, data + i, 2) != LODE_OK)
            rc = errPROG;
        fpec_wait(sim, 50000000ull);
        uint32_t sr = 0;
        lode_sim_read32(sim, FPEC + 0x0C, &sr);
        if (sr & 0x14u)
            rc = errPROG;
    }
    lode_sim_write32(sim, FPEC + 0x10, 0);
    int r2 = fpec_result(sim, errPROG);
    return rc != OK ? rc : r2;
}

static int erase(shim_dfuse_s *d, bool mass, uint32_t addr)
{
    if (!mass && (addr < FLASH_BASE || addr - FLASH_BASE >= d->flash_size))
        return errADDRESS;
    return shim_fpec_erase(d->sim, mass, addr);
}

static int program(shim_dfuse_s *d, uint32_t addr, const uint8_t *data, size_t len)
{
    if (addr >= OB_BASE && addr < OB_BASE + OB_SIZE)
        return errWRITE; /* option bytes: read only here */
    if (addr < FLASH_BASE || addr - FLASH_BASE > d->flash_size || len > d->flash_size - (addr - FLASH_BASE) ||
        (addr & 1) || (len & 1))
        return errADDRESS;
    return shim_fpec_program(d->sim, addr, data, len);
}

/* ---- the request carried out at GETSTATUS ------------------------------------------------------ */

static int execute(shim_dfuse_s *d)
{
    if (d->block == 0) { /* a DfuSe command */
        if (d->len == 0)
            return errSTALLEDPKT;
        uint32_t a = d->len >= 5 ? (uint32_t)d->buf[1] | (uint32_t)d->buf[2] << 8 | (uint32_t)d->buf[3] << 16 |
                                       (uint32_t)d->buf[4] << 24
                                 : 0;
        if (d->rdp && d->buf[0] != 0x92)
            return errVENDOR;
        switch (d->buf[0]) {
        case 0x21:
            if (d->len != 5)
                return errSTALLEDPKT;
            d->pointer = a;
            return OK;
        case 0x41:
            if (d->len == 1)
                return erase(d, true, 0);
            return d->len == 5 ? erase(d, false, a) : errSTALLEDPKT;
        case 0x92: /* read unprotect: the flash goes with the protection, then a reset */
            if (d->len != 1)
                return errSTALLEDPKT;
            d->rdp = false, d->unprotected = true;
            return erase(d, true, 0);
        default:
            return errSTALLEDPKT;
        }
    }
    if (d->block == 1)
        return errSTALLEDPKT;
    if (d->rdp)
        return errVENDOR;
    uint64_t addr = (uint64_t)d->pointer + (uint64_t)(d->block - 2) * XFER;
    if (addr > 0xFFFFFFFFull)
        return errADDRESS;
    if (d->alt == 1)
        return errWRITE;
    return program(d, (uint32_t)addr, d->buf, d->len);
}

static int status_reply(shim_dfuse_s *d, unsigned char *data, uint16_t length)
{
    double now = wall();
    if (d->state == S_DN_SYNC) {
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
    } else if (d->state == S_DN_BUSY) {
        if (now < d->busy_until - 0.0005) { /* still busy: the host did not wait bwPollTimeout */
            d->early++;
            d->poll_ms = (uint32_t)((d->busy_until - now) * 1000.0) + 1;
        } else {
            d->state = S_DN_IDLE, d->poll_ms = 0;
        }
    } else if (d->state == S_MAN_SYNC) {
        d->state = S_MAN, d->poll_ms = 0;
        if (d->reset_early) {
            lode_sim_write32(d->sim, 0xE000EDF0u, 0xA05F0000u);
            lode_sim_write32(d->sim, 0xE000ED0Cu, 0x05FA0004u);
            d->gone = true;
            return LIBUSB_ERROR_NO_DEVICE;
        }
    }
    unsigned char b[6] = {(unsigned char)d->status, (unsigned char)d->poll_ms, (unsigned char)(d->poll_ms >> 8),
                          (unsigned char)(d->poll_ms >> 16), (unsigned char)d->state, 0};
    int n = length < 6 ? length : 6;
    memcpy(data, b, (size_t)n);
    if (d->unprotected && d->state == S_DN_BUSY) { /* Read Unprotect ends with a system reset */
        d->gone = true;
        return n;
    }
    if (d->state == S_MAN) {
        /* leave: the device resets into the application and drops off the bus */
        lode_sim_write32(d->sim, 0xE000EDF0u, 0xA05F0000u);
        lode_sim_write32(d->sim, 0xE000ED0Cu, 0x05FA0004u);
        d->gone = true;
    }
    return n;
}

static int stall(shim_dfuse_s *d)
{
    d->state = S_ERROR, d->status = errSTALLEDPKT;
    return LIBUSB_ERROR_PIPE;
}

static int upload(shim_dfuse_s *d, uint16_t block, unsigned char *data, uint16_t length)
{
    if (d->state != S_IDLE && d->state != S_UP_IDLE)
        return stall(d);
    if (block == 0) { /* Get commands */
        const unsigned char cmds[4] = {0x00, 0x21, 0x41, 0x92};
        int n = length < 4 ? length : 4;
        memcpy(data, cmds, (size_t)n);
        d->state = S_IDLE;
        return n;
    }
    if (block == 1 || length > XFER)
        return stall(d);
    if (d->rdp) { /* read protection: the upload stalls, GETSTATUS says errVENDOR */
        d->state = S_ERROR, d->status = errVENDOR;
        return LIBUSB_ERROR_PIPE;
    }
    uint64_t addr = (uint64_t)d->pointer + (uint64_t)(block - 2) * XFER;
    uint64_t lo = d->alt == 1 ? OB_BASE : FLASH_BASE, hi = d->alt == 1 ? OB_BASE + OB_SIZE : FLASH_BASE + d->flash_size;
    if (addr < lo || addr >= hi) {
        d->state = S_ERROR, d->status = errADDRESS;
        return LIBUSB_ERROR_PIPE;
    }
    uint32_t n = (uint32_t)(hi - addr < length ? hi - addr : length);
    if (lode_sim_mem_read(d->sim, (uint32_t)addr, data, n) != LODE_OK)
        return stall(d);
    d->state = n < length ? S_IDLE : S_UP_IDLE; /* a short frame ends the upload */
    return (int)n;
}

int shim_dfuse_control(shim_dfuse_s *d, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                       unsigned char *data, uint16_t length)
{
    if (d->gone || (d->vanish_after && d->requests >= d->vanish_after)) {
        d->gone = true;
        return LIBUSB_ERROR_NO_DEVICE;
    }
    d->requests++;
    if (type == 0x80 && req == LIBUSB_REQUEST_GET_DESCRIPTOR && (value >> 8) == LIBUSB_DT_CONFIG) {
        unsigned char b[64];
        int n = raw_config(b);
        n = n < length ? n : length;
        memcpy(data, b, (size_t)n);
        return n;
    }
    if ((type & 0x7F) != 0x21 || index != 0)
        return SHIM_NOT_MINE;
    bool in = type & 0x80;
    switch (req) {
    case 1: /* DNLOAD */
        if (in || length > XFER || (d->state != S_IDLE && d->state != S_DN_IDLE))
            return stall(d);
        if (length == 0) {
            if (value == 1)
                return stall(d);
            d->state = S_MAN_SYNC; /* end of the download: manifestation (DfuSe: leave) */
            return 0;
        }
        memcpy(d->buf, data, length);
        d->len = length;
        d->block = value;
        d->state = S_DN_SYNC;
        return length;
    case 2: /* UPLOAD */
        return in ? upload(d, value, data, length) : stall(d);
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
    case 6: /* ABORT */
        if (in || d->state == S_ERROR || d->state == S_DN_BUSY || d->state == S_MAN)
            return stall(d);
        d->state = S_IDLE;
        return 0;
    default:
        return stall(d);
    }
}

int shim_dfuse_set_alt(shim_dfuse_s *d, int alt)
{
    if (alt < 0 || alt > 1)
        return LIBUSB_ERROR_NOT_FOUND;
    if (d->gone)
        return LIBUSB_ERROR_NO_DEVICE;
    d->alt = alt;
    d->state = S_IDLE, d->status = OK;
    return 0;
}
