/* SPDX-License-Identifier: MIT */
/* The J-Link on USB: its match table (VID 0x1366, the PIDs of current and older units, the
 * vendor-class interface with the bulk pair), listing, and a lode_jlink_io_s over the bulk
 * endpoints. The protocol has no framing: replies are read in large transfers into a buffer
 * and handed out in the lengths the driver asks for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/jlink.h"
#include "lode/usb.h"

/* Product IDs (SEGGER): 0x0101-0x0104 J-Link with USB address 0-3 (older units, and current
 * ones set to the old enumeration), 0x0105 J-Link + CDC, 0x0107 J-Link + RNDIS, 0x0108 J-Link
 * + mass storage; the newer scheme 0x1010-0x101F (J-Link with the SEGGER driver, plus CDC /
 * MSD / HID functions), 0x1020, 0x1050-0x1069 (on-board J-Links: nRF DKs, LPC-Link2 and others
 * reflashed). The interface that carries the protocol is the vendor-specific one. */
static const struct {
    uint16_t lo, hi;
} pid_ranges[] = {
    {0x0101, 0x0105}, {0x0107, 0x0108}, {0x1010, 0x101F}, {0x1020, 0x1020}, {0x1050, 0x1069},
};
#define NRANGES (sizeof pid_ranges / sizeof pid_ranges[0])

#define ROW(pid_) {.fields = LODE_USB_M_VID | LODE_USB_M_PID | LODE_USB_M_CLASS | LODE_USB_M_SUBCLASS, \
                   .vid = LODE_JLINK_VID, .pid = (pid_), .if_class = 0xFF, .if_subclass = 0xFF}

/* the table, one row per PID (filled from the ranges) */
static const lode_usb_match_s jlink_match[] = {
    ROW(0x0101), ROW(0x0102), ROW(0x0103), ROW(0x0104), ROW(0x0105), ROW(0x0107), ROW(0x0108),
    ROW(0x1010), ROW(0x1011), ROW(0x1012), ROW(0x1013), ROW(0x1014), ROW(0x1015), ROW(0x1016),
    ROW(0x1017), ROW(0x1018), ROW(0x1019), ROW(0x101A), ROW(0x101B), ROW(0x101C), ROW(0x101D),
    ROW(0x101E), ROW(0x101F), ROW(0x1020), ROW(0x1050), ROW(0x1051), ROW(0x1052), ROW(0x1053),
    ROW(0x1054), ROW(0x1055), ROW(0x1056), ROW(0x1057), ROW(0x1058), ROW(0x1059), ROW(0x105A),
    ROW(0x105B), ROW(0x105C), ROW(0x105D), ROW(0x105E), ROW(0x105F), ROW(0x1060), ROW(0x1061),
    ROW(0x1062), ROW(0x1063), ROW(0x1064), ROW(0x1065), ROW(0x1066), ROW(0x1067), ROW(0x1068),
    ROW(0x1069),
};
#define JLINK_ROWS (sizeof jlink_match / sizeof jlink_match[0])

bool lode_jlink_usb_known(uint16_t vid, uint16_t pid)
{
    if (vid != LODE_JLINK_VID)
        return false;
    for (size_t i = 0; i < NRANGES; i++)
        if (pid >= pid_ranges[i].lo && pid <= pid_ranges[i].hi)
            return true;
    return false;
}

const lode_usb_match_s *lode_jlink_usb_match(size_t *rows)
{
    if (rows)
        *rows = JLINK_ROWS;
    return jlink_match;
}

int lode_usb_list_jlink(const lode_usb_filter_s *filter, const lode_log_s *log, lode_usb_probe_s **out,
                        size_t *count)
{
    if (!out || !count)
        return LODE_E_INVALID_ARG;
    lode_usb_probe_s *arr = NULL;
    size_t n = 0;
    int rc = lode_usb_enumerate(jlink_match, JLINK_ROWS, filter, log, &arr, &n);
    if (rc != LODE_OK) {
        free(arr);
        return rc;
    }
    /* an interface named CMSIS-DAP on a J-Link is the other protocol (cmsis-dap row) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strstr(arr[i].if_string, "CMSIS-DAP") || !arr[i].ep_in || !arr[i].ep_out || arr[i].interrupt)
            continue;
        if (!arr[i].product[0])
            snprintf(arr[i].product, sizeof arr[i].product, "J-Link");
        if (!arr[i].manufacturer[0])
            snprintf(arr[i].manufacturer, sizeof arr[i].manufacturer, "SEGGER");
        arr[k++] = arr[i];
    }
    *out = arr;
    *count = k;
    return LODE_OK;
}

/* ---- lode_jlink_io_s over USB ------------------------------------------------------------- */
#define RX_CHUNK 16384u
#define TIMEOUT_MS 1000u

typedef struct usb_io_s {
    lode_transport_s *t;
    bool own;
    uint8_t buf[RX_CHUNK];
    size_t head, tail;  /* unread bytes [head, tail) */
} usb_io_s;

static int usb_write(void *ctx, const uint8_t *b, size_t len)
{
    usb_io_s *u = ctx;
    return lode_transport_write(u->t, b, len, TIMEOUT_MS);
}

static int usb_read(void *ctx, uint8_t *b, size_t len)
{
    usb_io_s *u = ctx;
    size_t have = 0;
    while (have < len) {
        if (u->head == u->tail) {
            size_t got = 0;
            u->head = u->tail = 0;
            int rc = lode_transport_read(u->t, u->buf, sizeof u->buf, &got, TIMEOUT_MS);
            if (rc)
                return rc;
            if (!got)
                return LODE_E_PROTOCOL;
            u->tail = got;
        }
        size_t k = u->tail - u->head;
        if (k > len - have)
            k = len - have;
        memcpy(b + have, u->buf + u->head, k);
        u->head += k;
        have += k;
    }
    return LODE_OK;
}

static void usb_close(void *ctx)
{
    usb_io_s *u = ctx;
    if (u->own)
        lode_transport_close(u->t);
    free(u);
}

static int io_usb(lode_transport_s *t, bool own, lode_jlink_io_s *io)
{
    if (!t || !io)
        return LODE_E_INVALID_ARG;
    usb_io_s *u = calloc(1, sizeof *u);
    if (!u)
        return LODE_E_NOMEM;
    u->t = t;
    u->own = own;
    *io = (lode_jlink_io_s){.write = usb_write, .read = usb_read, .close = usb_close, .ctx = u};
    return LODE_OK;
}

int lode_jlink_io_usb(lode_transport_s *t, lode_jlink_io_s *io) { return io_usb(t, false, io); }

int lode_jlink_io_usb_owned(lode_transport_s *t, lode_jlink_io_s *io)
{
    int rc = io_usb(t, true, io);
    if (rc != LODE_OK)
        lode_transport_close(t);
    return rc;
}
