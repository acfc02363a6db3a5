/* SPDX-License-Identifier: MIT */
/* PJRC Teensy through its HalfKay bootloader (USB HID 16C0:0478) as a probe with a loader face:
 * the registry row "teensy[:SERIAL|:PORT]". HalfKay takes one HID output report per block
 * (SET_REPORT control transfers on the default pipe) and cannot read anything back; its first
 * write erases the whole chip, so that one may take seconds; a write to 0xFFFFFF starts the
 * program. The model comes from the device (its HID usage, else its bcdDevice) or --chip, and is
 * checked against the image's. A Teensy running a sketch is rebooted into HalfKay by setting
 * its USB serial port to 134 baud (a CDC SET_LINE_CODING, or the tty itself when PORT names
 * it), or, for USB types without one, through Teensyduino's serial emulation (a HID interface on
 * usage page 0xFFC9: the feature report A9 45 C2 6B), so no button press is needed -- when the
 * sketch has either. Reports and models: teensy_codec.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/teensy.h"
#include "lode/error.h"
#include "lode/serial_usb.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/stream.h"
#include "lode/usb.h"
#include "probe/probe_i.h"

#define CTRL_MS 1000u
#define FIRST_WRITE_MS 45000u  /* the first write erases the chip: Teensy 4.1's 8 MiB take long */
#define WRITE_MS 3000u         /* HalfKay stalls while it programs the block before */
#define RETRY_MS 10u
#define REBOOT_WAIT_MS 10000u  /* a rebooted Teensy comes back as HalfKay within this */

enum { TAG_HALFKAY = 1, TAG_CDC, TAG_HID, TAG_OTHER, TAG_SEREMU };

typedef struct teensy_s {
    lode_transport_s *t;
    const lode_log_s *log;
    lode_usb_probe_s usb;
    const lodei_teensy_model_s *model;
    char how[96];               /* how the model was learnt */
    char rebooted[160];         /* how HalfKay was reached, "" when it was running already */
    bool force;
    lode_flash_region_s region;
    lode_loader_s *loader;
} teensy_s;

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* ---- the loader ------------------------------------------------------------------------------ */

/* One report, tried again (HalfKay stalls while it programs the block before: after 1 ms, then
 * waiting twice as long each time up to 10 ms) until `limit_ms` passed. */
static int send_report(teensy_s *k, uint8_t *rep, size_t len, unsigned limit_ms)
{
    uint64_t until = now_ms() + limit_ms;
    for (uint32_t wait = 1;; wait = wait * 2 < RETRY_MS ? wait * 2 : RETRY_MS) {
        unsigned left = (unsigned)(until > now_ms() ? until - now_ms() : 1);
        int rc = lode_usb_control(k->t, 0x21, 9 /* SET_REPORT */, 0x0200 /* output, ID 0 */, k->usb.interface, rep,
                                  len, NULL, left < CTRL_MS ? left : limit_ms);
        if (rc == LODE_OK || rc == LODE_E_NO_DEVICE || now_ms() >= until)
            return rc;
        sleep_ms(wait);
    }
}

static int sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    const lode_flash_region_s *r = user;
    if (addr < r->start || addr >= r->end)
        return LODE_E_RANGE;
    *start = addr - (addr - r->start) % r->page_size;
    *size = r->page_size;
    return LODE_OK;
}

static int l_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **regions, size_t *nregions,
                    const lode_mem_range_s **ram, size_t *nram)
{
    teensy_s *k = ctx;
    (void)log;
    *regions = &k->region;
    *nregions = 1;
    *ram = NULL;
    *nram = 0;
    return LODE_OK;
}

/* the plan's pages as image bytes, for the model check */
typedef struct pages_view_s {
    const lode_flash_plan_s *plan;
} pages_view_s;

static bool read_pages(void *user, uint32_t addr, uint8_t *buf, size_t len)
{
    const lode_flash_plan_s *p = ((pages_view_s *)user)->plan;
    bool any = false;
    memset(buf, 0xFF, len);
    for (size_t i = 0; i < p->npages; i++) {
        const lode_flash_page_s *pg = &p->pages[i];
        uint64_t lo = pg->addr > addr ? pg->addr : addr;
        uint64_t hi = (uint64_t)pg->addr + pg->size < (uint64_t)addr + len ? (uint64_t)pg->addr + pg->size
                                                                           : (uint64_t)addr + len;
        if (lo < hi) {
            memcpy(buf + (lo - addr), pg->data + (lo - pg->addr), (size_t)(hi - lo));
            any = true;
        }
    }
    return any;
}

static bool blank(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0xFF)
            return false;
    return true;
}

static void progress(const lode_flash_opts_s *o, lode_flash_phase_e ph, size_t done, size_t total)
{
    if (o && o->progress)
        o->progress(o->progress_user, ph, done, total);
}

static int l_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                   lode_flash_result_s *res)
{
    teensy_s *k = ctx;
    const lodei_teensy_model_s *m = k->model;
    (void)log;
    if (plan->nram) {
        lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "HalfKay writes only the %s's flash, not RAM", m->title);
        return LODE_E_RANGE;
    }
    if (o->verify || o->skip_unchanged) {
        lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "HalfKay cannot read the flash back, so lode can neither verify a Teensy nor skip what is unchanged: "
                 "flash without --verify/--skip-unchanged");
        return LODE_E_INVALID_ARG;
    }
    if (plan->npages) {
        pages_view_s v = {plan};
        uint32_t lo = plan->pages[0].addr, hi = plan->pages[plan->npages - 1].addr + plan->pages[plan->npages - 1].size;
        const lodei_teensy_model_s *built = lodei_teensy_model_of_image(read_pages, &v, lo, hi);
        if (built && !lodei_teensy_same_build(built, m)) {
            lode_log(k->log, k->force ? LODE_LOG_WARN : LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "the image is built for a %s, the board is a %s (%s)%s", built->title, m->title, k->how,
                     k->force ? ": writing it anyway (--force)" : ": build it for the board, or --force writes it anyway");
            if (!k->force)
                return LODE_E_FORMAT;
        }
    } else {
        /* an erase: HalfKay has no erase command, but its first write erases the whole chip */
        size_t all = (k->region.end - k->region.start) / k->region.page_size, n = 0;
        for (size_t i = 0; i < plan->nsectors; i++)
            n += !plan->sectors[i].skip;
        if (n < all) {
            lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "HalfKay erases only the whole chip (its first write does): use lode erase --all");
            return LODE_E_INVALID_ARG;
        }
    }
    size_t rlen = lodei_halfkay_report_len(m);
    uint8_t *rep = malloc(rlen);
    uint8_t *ones = malloc(m->block_size);
    if (!rep || !ones) {
        free(rep), free(ones);
        return LODE_E_NOMEM;
    }
    memset(ones, 0xFF, m->block_size);
    int rc = LODE_OK;
    bool first = true;
    uint32_t at = k->region.start;
    size_t nblocks = plan->npages ? plan->npages : 1;
    for (size_t i = 0; i < nblocks && rc == LODE_OK; i++) {
        const lode_flash_page_s *pg = plan->npages ? &plan->pages[i] : NULL;
        const uint8_t *data = pg ? pg->data : ones;
        at = pg ? pg->addr : k->region.start;
        if (pg && pg->size != m->block_size) {
            lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "planner gave a %u-byte page at 0x%08x (HalfKay blocks are %u)",
                     (unsigned)pg->size, (unsigned)pg->addr, m->block_size);
            rc = LODE_E_INVALID_ARG;
            break;
        }
        if (!first && blank(data, m->block_size)) /* erased by the first write already */
            continue;
        lodei_halfkay_report(m, at - m->base, data, rep);
        if (first)
            lode_log(k->log, LODE_LOG_INFO, LODE_LOGC_FLASH, "HalfKay erases the %s's flash (%u KiB) at the first write",
                     m->title, (unsigned)(m->code_size / 1024u));
        rc = send_report(k, rep, rlen, first ? FIRST_WRITE_MS : WRITE_MS);
        if (rc == LODE_OK) {
            if (first)
                res->sectors_erased = (k->region.end - k->region.start) / k->region.page_size;
            first = false;
            if (pg) {
                res->pages_programmed++;
                res->bytes_programmed += m->block_size;
            }
        }
        progress(o, LODE_FLASH_PHASE_PROGRAM, i + 1, nblocks);
    }
    free(rep);
    free(ones);
    if (rc != LODE_OK) {
        const char *what = rc == LODE_E_NO_DEVICE ? "the Teensy vanished during programming"
                           : rc == LODE_E_TIMEOUT ? "HalfKay stopped answering"
                                                  : "HalfKay refused a block";
        if (first)
            lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "%s at its first write (0x%08x, which erases the chip): the flash may be erased; press the "
                     "button and flash again", what, (unsigned)at);
        else
            lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                     "%s at 0x%08x: the chip is erased and written only below that; press the Teensy's button and "
                     "flash again", what, (unsigned)at);
        if (rc != LODE_E_NO_DEVICE)
            rc = LODE_E_FLASH;
    }
    return rc;
}

/* The boot command: HalfKay starts the program and leaves the bus, so a failed transfer after
 * it is normal. */
static int l_reset_run(void *ctx)
{
    teensy_s *k = ctx;
    uint8_t rep[LODEI_TEENSY_MAX_REPORT];
    lodei_halfkay_boot_report(k->model, rep);
    int rc = send_report(k, rep, lodei_halfkay_report_len(k->model), CTRL_MS);
    lode_log(k->log, LODE_LOG_INFO, LODE_LOGC_FLASH, "the %s leaves HalfKay and starts its program%s", k->model->title,
             rc == LODE_OK ? "" : " (it left the bus at once)");
    return LODE_OK;
}

static const lode_loader_ops_s teensy_loader_ops = {
    .name = "HalfKay",
    .via = " through HalfKay",
    .verifies = true, /* nothing can be read back: write() refuses --verify itself */
    .knows_memories = true,
    .layout = l_layout,
    .write = l_write,
    .reset_run = l_reset_run,
};

/* ---- the probe -------------------------------------------------------------------------------- */

static int p_loader(void *ctx, lode_loader_s **out)
{
    teensy_s *k = ctx;
    return lodei_loader_once(&teensy_loader_ops, k, &k->loader, out);
}

static const char *p_chip(void *ctx) { return ((teensy_s *)ctx)->model->name; }

static void p_describe(void *ctx, lode_probe_info_s *info)
{
    teensy_s *k = ctx;
    const lodei_teensy_model_s *m = k->model;
    snprintf(info->vendor, sizeof info->vendor, "%.63s", k->usb.manufacturer);
    snprintf(info->product, sizeof info->product, "%s", m->title);
    snprintf(info->serial, sizeof info->serial, "%s", k->usb.serial);
    snprintf(info->protocol, sizeof info->protocol, "HalfKay");
    snprintf(info->description, sizeof info->description, "%s in HalfKay mode %04x:%04x%s%.40s (%.80s)%s%.100s",
             m->title, k->usb.vid, k->usb.pid, k->usb.serial[0] ? " " : "", k->usb.serial, k->how, k->rebooted[0] ? ", " : "", k->rebooted);
    snprintf(info->detail, sizeof info->detail, "%s, flash 0x%08x..0x%08x (%u bytes), blocks of %u bytes, no read-back",
             m->mcu, (unsigned)m->base, (unsigned)(m->base + m->code_size - 1), (unsigned)m->code_size, m->block_size);
}

static void p_close(void *ctx)
{
    teensy_s *k = ctx;
    lode_loader_free(k->loader);
    lode_transport_close(k->t);
    free(k);
}

static const lode_probe_ops_s teensy_probe_ops = {
    .loader = p_loader,
    .chip = p_chip,
    .describe = p_describe,
    .close = p_close,
};

static const lode_usb_match_s halfkay_match[] = {
    {.fields = LODE_USB_M_VID | LODE_USB_M_PID, .vid = LODEI_TEENSY_VID, .pid = LODEI_HALFKAY_PID, .tag = TAG_HALFKAY},
};

/* a Teensy running a sketch: PJRC's product IDs for Teensyduino's USB types; a CDC ACM control
 * interface is its serial port */
static const lode_usb_match_s running_match[] = {
    {.fields = LODE_USB_M_VID | LODE_USB_M_CLASS | LODE_USB_M_SUBCLASS, .vid = LODEI_TEENSY_VID, .if_class = 2,
     .if_subclass = 2, .tag = TAG_CDC},
    {.fields = LODE_USB_M_VID | LODE_USB_M_CLASS, .vid = LODEI_TEENSY_VID, .if_class = 3, .tag = TAG_HID},
    {.fields = LODE_USB_M_VID, .vid = LODEI_TEENSY_VID, .tag = TAG_OTHER},
};

static bool teensyduino_pid(uint16_t pid)
{
    return pid >= 0x0476 && pid <= 0x04DF && pid != LODEI_HALFKAY_PID && pid != 0x0477 /* Rebootor */;
}

static const char *usb_type(uint16_t pid)
{
    switch (pid) {
    case 0x0482: return "Keyboard + Mouse + Joystick";
    case 0x0483: return "Serial";
    case 0x0485: return "MIDI";
    case 0x0486: return "Raw HID";
    case 0x0487: return "Serial + Keyboard + Mouse + Joystick";
    case 0x0488: return "Flight Sim Controls";
    case 0x0489: return "Serial + MIDI";
    case 0x048B: return "Dual Serial";
    case 0x048C: return "Triple Serial";
    case 0x04D0: return "Keyboard";
    default: return NULL;
    }
}

/* the HalfKay devices whose serial fits `serial` (NULL: any) */
static int find_halfkay(const char *serial, const lode_log_s *log, lode_usb_probe_s **arr, size_t *n)
{
    lode_usb_probe_s *all = NULL;
    size_t na = 0;
    int rc = lode_usb_enumerate(halfkay_match, 1, NULL, log, &all, &na);
    *arr = NULL;
    *n = 0;
    for (size_t i = 0; rc == LODE_OK && i < na; i++) {
        if (serial && *serial && strcmp(all[i].serial, serial) &&
            lodei_teensy_serial_value(all[i].serial, true) != lodei_teensy_serial_value(serial, false))
            continue;
        all[(*n)++] = all[i];
    }
    if (*n)
        *arr = all;
    else
        free(all);
    return rc;
}

/* Is this HID interface Teensyduino's serial emulation (usage page 0xFFC9)? */
static bool is_seremu(const lode_usb_probe_s *p)
{
    lode_transport_s *t = NULL;
    uint8_t d[512];
    size_t got = 0;
    uint16_t page = 0, usage = 0;
    if (lode_usb_open(p, NULL, &t) != LODE_OK)
        return false;
    bool yes = lode_usb_control(t, 0x81, 6, 0x2200, p->interface, d, sizeof d, &got, CTRL_MS) == LODE_OK &&
               lodei_hid_top_usage(d, got, &page, &usage) && page == LODEI_TEENSY_SEREMU_USAGE_PAGE;
    lode_transport_close(t);
    return yes;
}

static int rank(int tag) { return tag == TAG_CDC ? 3 : tag == TAG_SEREMU ? 2 : 1; }

/* Running Teensys, one row per device whose serial fits: the interface that can reboot it, its
 * serial port (tag TAG_CDC: the CDC control interface) else its serial emulation (TAG_SEREMU),
 * else any (it cannot be rebooted). */
static int find_running(const char *serial, const lode_log_s *log, lode_usb_probe_s **arr, size_t *n)
{
    lode_usb_probe_s *all = NULL;
    size_t na = 0;
    int rc = lode_usb_enumerate(running_match, 3, NULL, log, &all, &na);
    *arr = NULL;
    *n = 0;
    for (size_t i = 0; rc == LODE_OK && i < na; i++) {
        if (!teensyduino_pid(all[i].pid) || (serial && *serial && strcmp(all[i].serial, serial)))
            continue;
        if (all[i].tag == TAG_HID && is_seremu(&all[i]))
            all[i].tag = TAG_SEREMU;
        size_t j = 0;
        while (j < *n && !(all[j].bus == all[i].bus && all[j].address == all[i].address))
            j++;
        if (j == *n)
            all[(*n)++] = all[i];
        else if (rank(all[i].tag) > rank(all[j].tag))
            all[j] = all[i];
    }
    if (*n)
        *arr = all;
    else
        free(all);
    return rc;
}

static int several(const lode_usb_probe_s *p, size_t n, const char *what, const lode_log_s *log)
{
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 p[i].serial[0] ? p[i].serial : "(no serial number)");
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "%zu %s are attached (%s): choose one with --probe teensy:SERIAL", n,
             what, list);
    return LODE_E_INVALID_ARG;
}

/* CDC SET_LINE_CODING (CDC PSTN 6.3.10) at 134 baud, 8N1 on the serial port's control interface */
static int reboot_usb(const lode_usb_probe_s *p, const lode_log_s *log)
{
    lode_transport_s *t = NULL;
    int rc = lode_usb_open(p, log, &t);
    if (rc != LODE_OK)
        return rc;
    uint8_t coding[7] = {0, 0, 0, 0, 0 /* 1 stop bit */, 0 /* no parity */, 8};
    coding[0] = (uint8_t)LODEI_TEENSY_REBOOT_BAUD;
    rc = lode_usb_control(t, 0x21, 0x20, 0, p->interface, coding, sizeof coding, NULL, CTRL_MS);
    lode_transport_close(t);
    return rc == LODE_E_NO_DEVICE ? LODE_OK : rc; /* gone at once: rebooting */
}

/* SEREMU's reboot request: a 4-byte feature report (HID SET_REPORT, feature, ID 0) */
static int reboot_seremu(const lode_usb_probe_s *p, const lode_log_s *log)
{
    lode_transport_s *t = NULL;
    int rc = lode_usb_open(p, log, &t);
    if (rc != LODE_OK)
        return rc;
    uint8_t req[4] = {0xA9, 0x45, 0xC2, 0x6B};
    rc = lode_usb_control(t, 0x21, 9, 0x0300, p->interface, req, sizeof req, NULL, CTRL_MS);
    lode_transport_close(t);
    return rc == LODE_E_NO_DEVICE ? LODE_OK : rc;
}

/* 134 baud on the tty, then its settings back (the tty keeps them: a terminal opened on it later
 * would reboot the Teensy again) */
static int reboot_tty(const char *port, const lode_log_s *log)
{
    return lode_serial_baud_signal(port, LODEI_TEENSY_REBOOT_BAUD, 20, log);
}

/* Put a running Teensy into HalfKay and wait for it. `serial` / `port` choose it. */
static int reboot_into_halfkay(const char *serial, const char *port, teensy_s *k, const lode_log_s *log)
{
    const char *sn = serial;
    char sbuf[64] = "";
    if (port) {
        int rc = reboot_tty(port, log);
        if (rc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "cannot set %s to %u baud to reboot the Teensy into HalfKay",
                     port, LODEI_TEENSY_REBOOT_BAUD);
            return rc;
        }
        snprintf(k->rebooted, sizeof k->rebooted, "rebooted by setting %.100s to %u baud", port,
                 LODEI_TEENSY_REBOOT_BAUD);
    } else {
        lode_usb_probe_s *run = NULL;
        size_t n = 0;
        int rc = find_running(serial, log, &run, &n);
        if (rc == LODE_OK && n == 0) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "no Teensy found%s%s: press the button on the Teensy to start HalfKay (a Teensy running a sketch "
                     "with a serial port is rebooted by lode itself, at %u baud: none is attached either; check the "
                     "cable and the udev rules)", serial && *serial ? " with serial " : "", serial ? serial : "",
                     LODEI_TEENSY_REBOOT_BAUD);
            rc = LODE_E_NO_DEVICE;
        } else if (rc == LODE_OK && n > 1) {
            rc = several(run, n, "running Teensys", log);
        } else if (rc == LODE_OK && run[0].tag != TAG_CDC && run[0].tag != TAG_SEREMU) {
            char type[48];
            snprintf(type, sizeof type, "%s", usb_type(run[0].pid) ? usb_type(run[0].pid) : "");
            if (!type[0])
                snprintf(type, sizeof type, "product ID 0x%04x", run[0].pid);
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                     "the Teensy %04x:%04x %s runs a sketch whose USB type (%s) has no serial port, not even "
                     "Teensyduino's serial emulation, so lode cannot reboot it into HalfKay: press its button, or build "
                     "the sketch with another USB type (Serial, or one with serial emulation)",
                     run[0].vid, run[0].pid, run[0].serial, type);
            rc = LODE_E_NO_DEVICE;
        } else if (rc == LODE_OK) {
            const char *type = usb_type(run[0].pid);
            bool cdc = run[0].tag == TAG_CDC;
            rc = cdc ? reboot_usb(&run[0], log) : reboot_seremu(&run[0], log);
            if (cdc)
                snprintf(k->rebooted, sizeof k->rebooted, "rebooted from its serial port at %u baud (sketch USB type %s)",
                         LODEI_TEENSY_REBOOT_BAUD, type ? type : "with a serial port");
            else
                snprintf(k->rebooted, sizeof k->rebooted, "rebooted through its serial emulation (sketch USB type %s)",
                         type ? type : "with serial emulation");
            snprintf(sbuf, sizeof sbuf, "%s", run[0].serial);
            sn = sbuf;
            if (rc != LODE_OK)
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                         "the Teensy %s did not take the reboot request: press its button", run[0].serial);
        }
        free(run);
        if (rc != LODE_OK)
            return rc;
    }
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_PROBE, "Teensy %s: waiting for HalfKay", k->rebooted);
    for (uint64_t until = now_ms() + REBOOT_WAIT_MS; now_ms() < until;) {
        lode_usb_probe_s *hk = NULL;
        size_t n = 0;
        sleep_ms(100);
        /* the rebooted one by its serial number; else the only one, when no serial was asked for */
        if ((find_halfkay(sn && *sn ? sn : NULL, log, &hk, &n) == LODE_OK && n == 1) ||
            (!(serial && *serial) && (free(hk), hk = NULL, find_halfkay(NULL, log, &hk, &n)) == LODE_OK && n == 1)) {
            k->usb = hk[0];
            free(hk);
            return LODE_OK;
        }
        free(hk);
    }
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
             "the Teensy (%s) did not come back in HalfKay mode within %u s: press its button", k->rebooted,
             REBOOT_WAIT_MS / 1000u);
    return LODE_E_NO_DEVICE;
}

/* which model the device says it is: the usage of its HID report descriptor, else bcdDevice */
static const lodei_teensy_model_s *device_model(teensy_s *k, char *how, size_t cap)
{
    uint8_t d[512];
    size_t got = 0;
    uint16_t page = 0, usage = 0;
    if (lode_usb_control(k->t, 0x81, 6, 0x2200, k->usb.interface, d, sizeof d, &got, CTRL_MS) == LODE_OK &&
        lodei_hid_top_usage(d, got, &page, &usage) && page == LODEI_HALFKAY_USAGE_PAGE) {
        const lodei_teensy_model_s *m = lodei_teensy_model_by_usage(usage);
        snprintf(how, cap, "HalfKay's HID usage 0x%02x", usage);
        if (m)
            return m;
    }
    if (lode_usb_control(k->t, 0x80, 6, 0x0100, 0, d, 18, &got, CTRL_MS) == LODE_OK && got >= 14) {
        uint16_t bcd = (uint16_t)(d[12] | d[13] << 8);
        const lodei_teensy_model_s *m = lodei_teensy_model_by_bcd(bcd);
        if (m || !how[0])
            snprintf(how, cap, "bcdDevice 0x%04x", bcd);
        return m;
    }
    return NULL;
}

static void model_names(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; lodei_teensy_model_at(i) && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", lodei_teensy_model_at(i)->name);
}

static int teensy_setup(teensy_s *k, const lodei_teensy_model_s *named)
{
    char how[64] = "";
    const lodei_teensy_model_s *det = device_model(k, how, sizeof how);
    if (named && det && !lodei_teensy_same_build(named, det) && !k->force) {
        lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the board is a %s (%s), not a %s: check --chip; --force writes anyway", det->title, how,
                 named->title);
        return LODE_E_NO_DEVICE;
    }
    if (!named && !det) {
        char names[256];
        model_names(names, sizeof names);
        lode_log(k->log, LODE_LOG_ERROR, LODE_LOGC_PROBE,
                 "the HalfKay device %04x:%04x does not say which Teensy it is (%s): name it with --chip (%s)",
                 k->usb.vid, k->usb.pid, how[0] ? how : "no HID usage, no bcdDevice", names);
        return LODE_E_INVALID_ARG;
    }
    k->model = named && !(det && lodei_teensy_same_build(named, det)) ? named : det; /* 3.1 or 3.2: the device knows */
    if (named)
        snprintf(k->how, sizeof k->how, "named %s%s%.60s", named->name, det ? ", device: " : "", det ? how : "");
    else
        snprintf(k->how, sizeof k->how, "%s", how);
    k->region = (lode_flash_region_s){.name = "flash", .start = k->model->base,
                                      .end = k->model->base + k->model->code_size, .page_size = k->model->block_size,
                                      .erased = 0xFF, .sector_at = sector_at, .user = &k->region,
                                      .has_chip_erase = true};
    return LODE_OK;
}

static int row_list(const lode_probe_driver_s *drv, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)drv;
    lode_usb_probe_s *p = NULL;
    size_t n = 0;
    int rc = find_halfkay(NULL, log, &p, &n);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        snprintf(f.spec, sizeof f.spec, "teensy%s%s", p[i].serial[0] ? ":" : "", p[i].serial);
        f.kind = "halfkay";
        snprintf(f.product, sizeof f.product, "%s", p[i].product);
        snprintf(f.serial, sizeof f.serial, "%s", p[i].serial);
        snprintf(f.text, sizeof f.text, "Teensy in HalfKay mode %04x:%04x", p[i].vid, p[i].pid);
        fn(user, &f);
    }
    free(p);
    p = NULL;
    n = 0;
    rc = find_running(NULL, log, &p, &n);
    for (size_t i = 0; rc == LODE_OK && i < n; i++) {
        lode_probe_found_s f;
        memset(&f, 0, sizeof f);
        const char *type = usb_type(p[i].pid);
        snprintf(f.spec, sizeof f.spec, "teensy%s%s", p[i].serial[0] ? ":" : "", p[i].serial);
        f.kind = "teensy";
        snprintf(f.product, sizeof f.product, "%s", p[i].product);
        snprintf(f.serial, sizeof f.serial, "%s", p[i].serial);
        snprintf(f.text, sizeof f.text, "Teensy running a sketch (USB type %s)%s", type ? type : "unknown",
                 p[i].tag == TAG_CDC || p[i].tag == TAG_SEREMU ? ": lode reboots it into HalfKay"
                                                               : ": no serial port, press its button to load");
        fn(user, &f);
    }
    free(p);
    return LODE_OK;
}

static int row_open(const lode_probe_driver_s *drv, const char *args, const lode_probe_open_opts_s *o,
                    lode_probe_s **out)
{
    (void)drv;
    const char *port = args[0] == '/' ? args : NULL;
    const char *serial = port || !args[0] ? NULL : args;
    const lodei_teensy_model_s *named = o->chip ? lodei_teensy_model_by_name(o->chip) : NULL;
    if (o->chip && !named) {
        char names[256];
        model_names(names, sizeof names);
        lode_log(o->log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "--chip %s is no Teensy lode knows: use one of %s", o->chip,
                 names);
        return LODE_E_INVALID_ARG;
    }
    teensy_s *k = calloc(1, sizeof *k);
    if (!k)
        return LODE_E_NOMEM;
    k->log = o->log;
    k->force = o->force;
    lode_usb_probe_s *hk = NULL;
    size_t n = 0;
    /* HalfKay running already (also when a PORT was named: the button was pressed) */
    int rc = find_halfkay(serial, o->log, &hk, &n);
    if (rc == LODE_OK && n == 0)
        rc = reboot_into_halfkay(serial, port, k, o->log);
    else if (rc == LODE_OK && n > 1)
        rc = several(hk, n, "Teensys in HalfKay mode", o->log);
    else if (rc == LODE_OK)
        k->usb = hk[0];
    free(hk);
    if (rc == LODE_OK)
        rc = lode_usb_open(&k->usb, o->log, &k->t);
    if (rc == LODE_OK)
        rc = teensy_setup(k, named);
    if (rc != LODE_OK) {
        lode_transport_close(k->t);
        free(k);
        return rc;
    }
    return lode_probe_new(&teensy_probe_ops, k, "teensy", NULL, out);
}

const lode_probe_driver_s lodei_probe_row_teensy = {
    .name = "teensy",
    .syntax = "teensy[:SERIAL|:PORT]",
    .help = "a PJRC Teensy through its HalfKay bootloader (a running Teensy with a serial port is rebooted into it)",
    .list = row_list,
    .open = row_open,
};
