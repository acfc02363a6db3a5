/* SPDX-License-Identifier: MIT */
/* USB transport against the stand-in libusb (tests/shim, LD_LIBRARY_PATH set by CTest) with an
 * ST-Link/V2 (serial STSER1), a CMSIS-DAP v2 probe and a CMSIS-DAP v1 (HID class, interrupt
 * endpoints) on its bus: enumeration by match tables, interrupt transfers, and control
 * transfers on the default pipe (USB 2.0 9.4 standard requests). */
#include <stdlib.h>
#include <string.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/stlink.h"
#include "lode/usb.h"
#include "test.h"

static const lode_usb_probe_s *by_tag(const lode_usb_probe_s *p, size_t n, int tag)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].tag == tag)
            return &p[i];
    return NULL;
}

static void test_match_table(void)
{
    static const lode_usb_match_s table[] = {
        {.fields = LODE_USB_M_VID | LODE_USB_M_PID, .vid = 0x0483, .pid = 0x3748, .tag = 7},
        {.fields = LODE_USB_M_CLASS | LODE_USB_M_STRING, .if_class = 0xFF, .string = "CMSIS-DAP", .tag = 9},
        {.fields = LODE_USB_M_VID, .vid = 0x1234, .tag = 11},
    };
    lode_usb_probe_s *p = NULL;
    size_t n = 0;
    REQUIRE(lode_usb_enumerate(table, 3, NULL, NULL, &p, &n) == LODE_OK);
    CHECK_EQ(n, 2);
    const lode_usb_probe_s *st = by_tag(p, n, 7), *dap = by_tag(p, n, 9);
    REQUIRE(st && dap);
    CHECK_EQ(st->match, 0);
    CHECK_EQ(st->vid, 0x0483);
    CHECK(!strcmp(st->serial, "STSER1"));
    CHECK_EQ(st->interface, 0);
    /* endpoints from the interface descriptor: IN 0x81 first, OUT 0x02, then the trace IN */
    CHECK_EQ(st->ep_in, 0x81);
    CHECK_EQ(st->ep_out, 0x02);
    CHECK_EQ(st->ep_trace, 0x83);
    CHECK(!st->interrupt);
    CHECK_EQ(dap->match, 1);
    CHECK_EQ(dap->vid, 0xC251);
    CHECK_EQ(dap->if_class, 0xFF);
    CHECK(strstr(dap->if_string, "CMSIS-DAP") != NULL);
    CHECK_EQ(dap->ep_out, 0x01);
    CHECK_EQ(dap->ep_in, 0x81);
    CHECK_EQ(dap->max_packet, 512);

    /* the list is appended to; a filter narrows it */
    lode_usb_filter_s f = {.vid = 0xC251};
    REQUIRE(lode_usb_enumerate(table, 3, &f, NULL, &p, &n) == LODE_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(p[2].tag, 9);
    free(p);

    /* the first fitting row wins: a class row before a VID row takes both vendor interfaces */
    static const lode_usb_match_s by_class[] = {
        {.fields = LODE_USB_M_CLASS, .if_class = 0xFF, .tag = 1},
        {.fields = LODE_USB_M_VID, .vid = 0x0483, .tag = 2},
    };
    p = NULL, n = 0;
    REQUIRE(lode_usb_enumerate(by_class, 2, NULL, NULL, &p, &n) == LODE_OK);
    CHECK_EQ(n, 2);
    CHECK(n == 2 && p[0].tag == 1 && p[1].tag == 1);
    free(p);

    /* an interface string nobody has, a class nobody has, an interface number nobody has */
    static const lode_usb_match_s none[] = {
        {.fields = LODE_USB_M_STRING, .string = "J-Link"},
        {.fields = LODE_USB_M_CLASS, .if_class = 0x02},
        {.fields = LODE_USB_M_VID | LODE_USB_M_IFNUM, .vid = 0x0483, .if_number = 1},
    };
    p = NULL, n = 0;
    REQUIRE(lode_usb_enumerate(none, 3, NULL, NULL, &p, &n) == LODE_OK);
    CHECK_EQ(n, 0);
    free(p);
    CHECK_EQ(lode_usb_enumerate(NULL, 1, NULL, NULL, &p, &n), LODE_E_INVALID_ARG);
}

static void test_control(void)
{
    static const lode_usb_match_s dap_row[] = {
        {.fields = LODE_USB_M_VID | LODE_USB_M_PID, .vid = 0xC251, .pid = 0xF00A},
    };
    lode_usb_probe_s *p = NULL;
    size_t n = 0;
    REQUIRE(lode_usb_enumerate(dap_row, 1, NULL, NULL, &p, &n) == LODE_OK && n == 1);
    lode_transport_s *t = NULL;
    REQUIRE(lode_usb_open(&p[0], NULL, &t) == LODE_OK);

    /* GET_DESCRIPTOR(DEVICE): bmRequestType 0x80, bRequest 6, wValue 0x0100, 18 bytes */
    uint8_t d[64];
    size_t got = 0;
    memset(d, 0xEE, sizeof d);
    CHECK_EQ(lode_usb_control(t, 0x80, 6, 0x0100, 0, d, sizeof d, &got, 1000), LODE_OK);
    CHECK_EQ(got, 18);
    CHECK_EQ(d[0], 18);
    CHECK_EQ(d[1], 1);
    CHECK_EQ(d[8] | d[9] << 8, 0xC251);
    CHECK_EQ(d[10] | d[11] << 8, 0xF00A);
    CHECK_EQ(d[17], 1); /* one configuration */
    CHECK_EQ(d[18], 0xEE);
    /* wLength shorter than the descriptor: the first 8 bytes (how hosts learn bMaxPacketSize0) */
    CHECK_EQ(lode_usb_control(t, 0x80, 6, 0x0100, 0, d, 8, &got, 1000), LODE_OK);
    CHECK_EQ(got, 8);
    CHECK_EQ(d[7], 64);
    /* GET_DESCRIPTOR(STRING 0): the language IDs */
    CHECK_EQ(lode_usb_control(t, 0x80, 6, 0x0300, 0, d, sizeof d, &got, 1000), LODE_OK);
    CHECK_EQ(got, 4);
    CHECK_EQ(d[2] | d[3] << 8, 0x0409);
    /* GET_STATUS: two bytes */
    CHECK_EQ(lode_usb_control(t, 0x80, 0, 0, 0, d, 2, &got, 1000), LODE_OK);
    CHECK_EQ(got, 2);
    /* a vendor request this device does not know stalls */
    CHECK_EQ(lode_usb_control(t, 0xC0, 0x42, 0, 0, d, 4, &got, 1000), LODE_E_PROTOCOL);
    CHECK_EQ(lode_usb_control(t, 0x80, 6, 0x0100, 0, NULL, 8, &got, 1000), LODE_E_INVALID_ARG);

    /* a second IN pipe must be an IN endpoint */
    lode_transport_s *pipe = NULL;
    CHECK_EQ(lode_usb_open_pipe(t, 0x01, &pipe), LODE_E_INVALID_ARG);
    REQUIRE(lode_usb_open_pipe(t, 0x81, &pipe) == LODE_OK);
    CHECK_EQ(lode_usb_control(pipe, 0x80, 6, 0x0100, 0, d, 18, &got, 1000), LODE_OK);
    CHECK_EQ(pipe->ops->write(pipe, d, 1, 10), LODE_E_UNSUPPORTED);
    lode_transport_close(pipe);
    lode_transport_close(t);
    free(p);
}

static void test_interrupt(void)
{
    static const lode_usb_match_s hid_row[] = {
        {.fields = LODE_USB_M_CLASS | LODE_USB_M_STRING, .if_class = 3 /* HID */, .string = "CMSIS-DAP"},
    };
    lode_usb_probe_s *p = NULL;
    size_t n = 0;
    REQUIRE(lode_usb_enumerate(hid_row, 1, NULL, NULL, &p, &n) == LODE_OK && n == 1);
    /* no bulk pair on a HID interface: its interrupt endpoints carry the reports */
    CHECK(p[0].interrupt);
    CHECK_EQ(p[0].pid, 0xF00B);
    CHECK_EQ(p[0].ep_out, 0x01);
    CHECK_EQ(p[0].ep_in, 0x81);
    CHECK_EQ(p[0].max_packet, 64);
    CHECK(!p[0].hid_path[0]);
    lode_transport_s *t = NULL;
    REQUIRE(lode_usb_open(&p[0], NULL, &t) == LODE_OK);
    CHECK_EQ(t->packet_size, 64);
    /* DAP_Info(packet size) in one 64-byte report, the answer in the next: 64 (a v2 says 512) */
    uint8_t rep[64] = {0x00, 0xFF};
    CHECK_EQ(lode_transport_write(t, rep, sizeof rep, 1000), LODE_OK);
    size_t got = 0;
    memset(rep, 0, sizeof rep);
    CHECK_EQ(lode_transport_read(t, rep, sizeof rep, &got, 1000), LODE_OK);
    CHECK(got >= 4);
    CHECK_EQ(rep[0], 0x00);
    CHECK_EQ(rep[1], 2);
    CHECK_EQ(rep[2] | rep[3] << 8, 64);
    lode_transport_close(t);
    free(p);
}

/* the drivers' listings: what the device is to the driver is its tag (the transport has no
 * probe kinds); an ST-Link is opened only as what the ST-Link table lists */
static void test_driver_lists(void)
{
    lode_usb_probe_s *p = NULL;
    size_t n = 0;
    REQUIRE(lode_usb_list_cmsis_dap(NULL, NULL, &p, &n) == LODE_OK);
    const lode_usb_probe_s *v2 = by_tag(p, n, LODE_CMSIS_DAP_USB_V2);
    REQUIRE(v2 != NULL);
    CHECK(!v2->interrupt);
    lode_transport_s *cmd = NULL;
    CHECK_EQ(lode_usb_open_stlink(v2, NULL, &cmd, NULL), LODE_E_INVALID_ARG);
    free(p);
    p = NULL;
    n = 0;
    REQUIRE(lode_usb_list_stlink(NULL, NULL, &p, &n) == LODE_OK);
    REQUIRE(n == 1);
    CHECK_EQ(p[0].tag, 2); /* hardware version */
    CHECK_EQ(p[0].ep_out, 0x02);
    REQUIRE(lode_usb_open_stlink(&p[0], NULL, &cmd, NULL) == LODE_OK);
    lode_transport_close(cmd);
    free(p);
}

int main(void)
{
    const char *shim = getenv("LODE_USB_SHIM");
    if (!shim || !strstr(shim, "STSER1")) {
        fprintf(stderr, "test_usb runs against tests/shim: set LODE_USB_SHIM (CTest does)\n");
        return 1;
    }
    RUN_TEST(test_match_table);
    RUN_TEST(test_control);
    RUN_TEST(test_interrupt);
    RUN_TEST(test_driver_lists);
    return TEST_DONE();
}
