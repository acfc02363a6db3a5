/* SPDX-License-Identifier: MIT */
/* Probe selection: the filter syntax and choosing one of several probes. */
#include "lode/error.h"
#include "lode/session.h"
#include "lode/usb.h"
#include "test.h"

static char last[512];
static void lg(void *u, lode_log_level_e l, lode_log_cat_e c, const char *m)
{
    (void)u;
    (void)l;
    (void)c;
    snprintf(last, sizeof last, "%s", m);
}

static void test_filter(void)
{
    lode_usb_filter_s f;
    CHECK_EQ(lode_usb_parse_filter("0d28:0204", &f), LODE_OK);
    CHECK_EQ(f.vid, 0x0d28);
    CHECK_EQ(f.pid, 0x0204);
    CHECK(f.serial == NULL);
    CHECK_EQ(lode_usb_parse_filter("c251:f002:ABC123", &f), LODE_OK);
    CHECK(f.serial && !strcmp(f.serial, "ABC123"));
    CHECK_EQ(lode_usb_parse_filter("", &f), LODE_OK);
    CHECK_EQ(f.vid, 0);
    CHECK_EQ(lode_usb_parse_filter("zz:12", &f), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_usb_parse_filter("1234", &f), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_usb_parse_filter("12345:1", &f), LODE_E_INVALID_ARG);
    CHECK(lode_usb_is_cmsis_dap_string("MCU-LINK CMSIS-DAP V3.108"));
    CHECK(!lode_usb_is_cmsis_dap_string("ST-LINK"));
    CHECK(!lode_usb_is_cmsis_dap_string(NULL));
}

static void test_choose(void)
{
    lode_log_s log = {.fn = lg, .max_level = LODE_LOG_DEBUG};
    lode_usb_probe_s p[2];
    memset(p, 0, sizeof p);
    p[0].vid = 0x0d28;
    p[0].pid = 0x0204;
    snprintf(p[0].serial, sizeof p[0].serial, "A1");
    p[1].vid = 0xc251;
    p[1].pid = 0xf002;
    snprintf(p[1].serial, sizeof p[1].serial, "B2");
    size_t idx = 99;
    CHECK_EQ(lode_probe_choose(p, 0, "", &log, &idx), LODE_E_NO_DEVICE);
    CHECK(strstr(last, "no CMSIS-DAP probe found") != NULL);
    CHECK(strstr(last, "--probe sim") != NULL);
    CHECK_EQ(lode_probe_choose(p, 2, "", &log, &idx), LODE_E_INVALID_ARG);
    CHECK(strstr(last, "0d28:0204:A1") && strstr(last, "c251:f002:B2"));
    CHECK(strstr(last, "--probe cmsis-dap:VID:PID:SERIAL") != NULL);
    CHECK_EQ(idx, 99); /* untouched on failure */
    CHECK_EQ(lode_probe_choose(p, 1, "", &log, &idx), LODE_OK);
    CHECK_EQ(idx, 0);
}

int main(void)
{
    RUN_TEST(test_filter);
    RUN_TEST(test_choose);
    return TEST_DONE();
}
