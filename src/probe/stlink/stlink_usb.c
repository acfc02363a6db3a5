/* SPDX-License-Identifier: MIT */
/* The ST-Link on USB: its VID/PID match table, listing and opening through the USB transport,
 * and the lode_stlink_io_s that moves commands over the bulk endpoints (one 16-byte command
 * transfer, then the data phase in either direction; SWO on the trace endpoint). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/stlink.h"
#include "lode/usb.h"

#define ROW(pid_, hw_) {.fields = LODE_USB_M_VID | LODE_USB_M_PID, .vid = LODE_STLINK_VID, .pid = (pid_), .tag = (hw_)}

/* the debug probes (the tag is the hardware version); interface 0 is the debug interface */
static const lode_usb_match_s stlink_match[] = {
    ROW(LODE_STLINK_V2_PID, 2),  ROW(LODE_STLINK_V21_PID, 2), ROW(LODE_STLINK_V21_NOMSD_PID, 2),
    ROW(LODE_STLINK_V3E_PID, 3), ROW(LODE_STLINK_V3S_PID, 3), ROW(LODE_STLINK_V3_2VCP_PID, 3),
    ROW(LODE_STLINK_V3E_NOMSD_PID, 3),
};
#define STLINK_ROWS (sizeof stlink_match / sizeof stlink_match[0])

const lode_usb_match_s *lode_stlink_usb_match(size_t *rows)
{
    if (rows)
        *rows = STLINK_ROWS;
    return stlink_match;
}

int lode_stlink_usb_version(uint16_t vid, uint16_t pid)
{
    for (size_t i = 0; i < STLINK_ROWS; i++)
        if (stlink_match[i].vid == vid && stlink_match[i].pid == pid)
            return stlink_match[i].tag;
    return 0;
}

int lode_usb_list_stlink(const lode_usb_filter_s *filter, const lode_log_s *log,
                         lode_usb_probe_s **out, size_t *count)
{
    lode_usb_probe_s *arr = NULL;
    size_t n = 0;
    int rc = lode_usb_enumerate(stlink_match, STLINK_ROWS, filter, log, &arr, &n);
    if (rc != LODE_OK) {
        free(arr);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        lode_usb_probe_s *p = &arr[i];
        int hw = p->tag;
        /* endpoints by version: V2 out 0x02 / in 0x81 / trace 0x83; V2-1 and V3 out 0x01 /
         * in 0x81 / trace 0x82 */
        bool v2 = p->pid == LODE_STLINK_V2_PID;
        p->interface = 0;
        p->interrupt = false;
        p->ep_out = v2 ? 0x02 : 0x01;
        p->ep_in = 0x81;
        p->ep_trace = v2 ? 0x83 : 0x82;
        p->max_packet = hw == 3 ? 512 : 64;
        snprintf(p->product, sizeof p->product, "ST-Link/V%s", hw == 3 ? "3" : v2 ? "2" : "2-1");
        snprintf(p->manufacturer, sizeof p->manufacturer, "STMicroelectronics");
    }
    *out = arr;
    *count = n;
    return LODE_OK;
}

int lode_usb_open_stlink(const lode_usb_probe_s *probe, const lode_log_s *log,
                         lode_transport_s **cmd, lode_transport_s **trace)
{
    if (!probe || !cmd || !lode_stlink_usb_version(probe->vid, probe->pid))
        return LODE_E_INVALID_ARG;
    int rc = lode_usb_open(probe, log, cmd);
    if (rc != LODE_OK || !trace)
        return rc;
    if ((rc = lode_usb_open_pipe(*cmd, probe->ep_trace, trace)) != LODE_OK) {
        lode_transport_close(*cmd);
        *cmd = NULL;
    }
    return rc;
}

/* ---- lode_stlink_io_s over USB ------------------------------------------------------------- */

typedef struct usb_io_s {
    lode_transport_s *cmd, *trace;
} usb_io_s;

static int read_exact(lode_transport_s *t, uint8_t *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        size_t got = 0;
        int rc = lode_transport_read(t, buf + have, len - have, &got, 1000);
        if (rc != LODE_OK)
            return rc;
        if (!got)
            return LODE_E_PROTOCOL;
        have += got;
    }
    return LODE_OK;
}

static int usb_xfer(void *ctx, const uint8_t cmd[LODE_STLINK_CMD_SIZE], lode_stlink_dir_e dir,
                    uint8_t *data, size_t len)
{
    usb_io_s *u = ctx;
    int rc = lode_transport_write(u->cmd, cmd, LODE_STLINK_CMD_SIZE, 1000);
    if (rc != LODE_OK || !len)
        return rc;
    if (dir == LODE_STLINK_DIR_OUT)
        return lode_transport_write(u->cmd, data, len, 1000);
    return read_exact(u->cmd, data, len);
}

static int usb_trace(void *ctx, uint8_t *buf, size_t len)
{
    usb_io_s *u = ctx;
    return u->trace ? read_exact(u->trace, buf, len) : LODE_E_UNSUPPORTED;
}

static void usb_close(void *ctx) { free(ctx); }

int lode_stlink_io_usb(lode_transport_s *cmd, lode_transport_s *trace, lode_stlink_io_s *io)
{
    if (!cmd || !io)
        return LODE_E_INVALID_ARG;
    usb_io_s *u = calloc(1, sizeof *u);
    if (!u)
        return LODE_E_NOMEM;
    u->cmd = cmd;
    u->trace = trace;
    io->xfer = usb_xfer;
    io->trace_read = usb_trace;
    io->close = usb_close;
    io->ctx = u;
    io->shared = false;
    return LODE_OK;
}
