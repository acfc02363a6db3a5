/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP probes on USB, as the CMSIS-DAP documentation identifies them:
 * v2: a vendor-specific interface (class 0xFF) whose interface string contains "CMSIS-DAP",
 *     with a bulk OUT and a bulk IN endpoint (the first two bulk endpoints; a third is SWO).
 * v1: a HID interface; the device's product string contains "CMSIS-DAP"; 64-byte reports. */
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"

static const lode_usb_match_s dap_v2_match[] = {
    {.fields = LODE_USB_M_CLASS | LODE_USB_M_STRING, .if_class = 0xFF, .string = "CMSIS-DAP",
     .tag = LODE_CMSIS_DAP_USB_V2},
};
static const lode_usb_match_s dap_v1_match[] = {
    {.fields = LODE_USB_M_STRING, .string = "CMSIS-DAP", .tag = LODE_CMSIS_DAP_USB_V1},
};

bool lode_usb_is_cmsis_dap_string(const char *s)
{
    return s && strstr(s, "CMSIS-DAP") != NULL;
}

static bool listed_as_v2(const lode_usb_probe_s *arr, size_t n, const lode_usb_probe_s *p)
{
    for (size_t i = 0; i < n; i++)
        if (arr[i].tag == LODE_CMSIS_DAP_USB_V2 && arr[i].vid == p->vid && arr[i].pid == p->pid &&
            !strcmp(arr[i].serial, p->serial))
            return true;
    return false;
}

int lode_usb_list_cmsis_dap(const lode_usb_filter_s *filter, const lode_log_s *log,
                            lode_usb_probe_s **out, size_t *count)
{
    lode_usb_probe_s *arr = NULL;
    size_t n = 0, kept = 0;
    lode_usb_enumerate(dap_v2_match, 1, filter, log, &arr, &n);
    for (size_t i = 0; i < n; i++) {
        if (!arr[i].ep_in || !arr[i].ep_out || arr[i].interrupt) {
            lode_log(log, LODE_LOG_WARN, LODE_LOGC_PROBE,
                     "USB %04x:%04x: CMSIS-DAP interface %u has no bulk endpoint pair; ignored",
                     arr[i].vid, arr[i].pid, arr[i].interface);
            continue;
        }
        arr[kept++] = arr[i];
    }
    n = kept;
    lode_usb_enumerate_hid(dap_v1_match, 1, filter, log, &arr, &n);
    /* a probe with both a v2 and a v1 interface is listed once, as v2 */
    for (size_t i = kept; i < n; i++) {
        if (!listed_as_v2(arr, kept, &arr[i]))
            arr[kept++] = arr[i];
    }
    if (!kept) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *count = kept;
    return LODE_OK;
}
