/* SPDX-License-Identifier: MIT */
/* Probe selection: the filter syntax, choosing one of several probes, the registry (spec
 * parsing, rows added at run time, list, open) and a probe's faces. */
#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/probe.h"
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
    CHECK_EQ(lode_probe_choose(p, 0, "CMSIS-DAP probe", "cmsis-dap", "", &log, &idx), LODE_E_NO_DEVICE);
    CHECK(strstr(last, "no CMSIS-DAP probe found") != NULL);
    CHECK(strstr(last, "--probe sim") != NULL);
    CHECK_EQ(lode_probe_choose(p, 2, "CMSIS-DAP probe", "cmsis-dap", "", &log, &idx), LODE_E_NO_DEVICE);
    CHECK(strstr(last, "0d28:0204:A1") && strstr(last, "c251:f002:B2"));
    CHECK(strstr(last, "--probe cmsis-dap:VID:PID:SERIAL") != NULL);
    CHECK_EQ(idx, 99); /* untouched on failure */
    CHECK_EQ(lode_probe_choose(p, 1, "CMSIS-DAP probe", "cmsis-dap", "", &log, &idx), LODE_OK);
    CHECK_EQ(idx, 0);
}

/* a fake driver: a probe with only a reset_pin face and a describe face */
typedef struct fake_s {
    int opened, closed, resets;
    char args[64];
} fake_s;

static int fake_reset(void *ctx, bool asserted)
{
    ((fake_s *)ctx)->resets += asserted;
    return LODE_OK;
}
static void fake_describe(void *ctx, lode_probe_info_s *info)
{
    snprintf(info->description, sizeof info->description, "fake %s", ((fake_s *)ctx)->args);
}
static void fake_close(void *ctx) { ((fake_s *)ctx)->closed++; }
static const lode_probe_ops_s fake_ops = {.reset_pin = fake_reset, .describe = fake_describe, .close = fake_close};

static int fake_open(const lode_probe_driver_s *d, const char *args, const lode_probe_open_opts_s *o,
                     lode_probe_s **out)
{
    (void)o;
    fake_s *f = d->user;
    f->opened++;
    snprintf(f->args, sizeof f->args, "%s", args);
    return lode_probe_new(&fake_ops, f, d->name, NULL, out);
}

static int nfound;
static void on_found(void *user, const lode_probe_found_s *f)
{
    (void)user;
    if (!strcmp(f->spec, "fake:1"))
        nfound++;
}
static int fake_list(const lode_probe_driver_s *d, const lode_log_s *log, lode_probe_found_fn fn, void *user)
{
    (void)d, (void)log;
    lode_probe_found_s f = {.spec = "fake:1", .kind = "fake"};
    fn(user, &f);
    return LODE_OK;
}

static void test_registry(void)
{
    lode_log_s log = {.fn = lg, .max_level = LODE_LOG_DEBUG};
    lode_probe_registry_s *reg = NULL;
    REQUIRE(lode_probe_registry_new(&reg) == LODE_OK);
    /* the built-in rows */
    const char *want[] = {"cmsis-dap", "stlink", "stlink-tcp", "gdb", "bmp", "dfu", "arduino", "stm32-uart", "jlink", "teensy", "wiring", "avr109", "uf2", "sam-ba"};
    REQUIRE(lode_probe_registry_count(reg) == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(!strcmp(lode_probe_registry_at(reg, i)->name, want[i]));
    const lode_probe_driver_s *d = NULL;
    const char *args = NULL;
    CHECK_EQ(lode_probe_parse(reg, "CMSIS-DAP:c251:f00a", &log, &d, &args), LODE_OK);
    CHECK(d && !strcmp(d->name, "cmsis-dap") && !strcmp(args, "c251:f00a"));
    CHECK_EQ(lode_probe_parse(reg, "stlink", &log, &d, &args), LODE_OK);
    CHECK(!strcmp(d->name, "stlink") && !strcmp(args, ""));
    CHECK_EQ(lode_probe_parse(reg, "stlink-tcp:h:1", &log, &d, &args), LODE_OK);
    CHECK(!strcmp(d->name, "stlink-tcp") && !strcmp(args, "h:1"));
    CHECK_EQ(lode_probe_parse(reg, "gdb", &log, &d, &args), LODE_E_INVALID_ARG); /* needs HOST:PORT */
    CHECK(strstr(last, "gdb:HOST:PORT") != NULL);
    CHECK_EQ(lode_probe_parse(reg, "jtagkey", &log, &d, &args), LODE_E_INVALID_ARG);
    CHECK(strstr(last, "unknown probe 'jtagkey'") && strstr(last, "bmp:DEVICE"));
    CHECK_EQ(lode_probe_parse(reg, "stlinkx", &log, &d, &args), LODE_E_INVALID_ARG); /* no prefix match */
    /* spec errors of a driver's own ARGS */
    lode_probe_s *p = NULL;
    lode_probe_open_opts_s oo = {.log = &log};
    CHECK_EQ(lode_probe_open(reg, "gdb:nohost", &oo, &p), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_probe_open(reg, "stlink-tcp:localhost", &oo, &p), LODE_E_INVALID_ARG);
    CHECK(strstr(last, "stlink-tcp:HOST:PORT") != NULL);
    CHECK_EQ(lode_probe_open(reg, "cmsis-dap:zz", &oo, &p), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_probe_open(reg, "dfu:zz", &oo, &p), LODE_E_INVALID_ARG);
    CHECK(strstr(last, "dfu:VID:PID[:SERIAL]") != NULL);
    CHECK_EQ(lode_probe_open(reg, "wiring:/dev/null:12", &oo, &p), LODE_E_INVALID_ARG); /* baud 300.. */
    CHECK(strstr(last, "wiring:PORT[:BAUD]") != NULL);
    CHECK_EQ(lode_probe_open(reg, "stm32-uart:/dev/ttyUSB9:boot0=cts", &oo, &p), LODE_E_INVALID_ARG);
    CHECK(strstr(last, "stm32-uart:PORT[:BAUD]") != NULL);
    CHECK_EQ(lode_probe_open(reg, "arduino:/dev/ttyUSB0:12", &oo, &p), LODE_E_INVALID_ARG); /* baud */
    CHECK(strstr(last, "arduino:PORT[:BAUD]") != NULL);
    CHECK_EQ(lode_probe_open(reg, "jlink:12ab", &oo, &p), LODE_E_INVALID_ARG); /* serials are decimal */
    CHECK(strstr(last, "jlink[:SERIAL]") != NULL);
    CHECK_EQ(lode_probe_open(reg, "jlink:targetsel=zz", &oo, &p), LODE_E_INVALID_ARG);
    CHECK(p == NULL);

    /* a row added at run time */
    fake_s f = {0};
    lode_probe_driver_s row = {.name = "fake", .syntax = "fake:N", .open = fake_open, .list = fake_list, .user = &f};
    CHECK_EQ(lode_probe_registry_add(reg, &row), LODE_OK);
    CHECK_EQ(lode_probe_registry_add(reg, &row), LODE_E_INVALID_ARG); /* the name is taken */
    CHECK_EQ(lode_probe_registry_count(reg), sizeof want / sizeof want[0] + 1);
    CHECK_EQ(lode_probe_parse(reg, "nothing", &log, &d, &args), LODE_E_INVALID_ARG);
    CHECK(strstr(last, "fake:N") != NULL); /* the added row's syntax is offered */
    nfound = 0;
    lode_probe_list(reg, &log, on_found, NULL);
    CHECK_EQ(nfound, 1);
    REQUIRE(lode_probe_open(reg, "Fake:7", &oo, &p) == LODE_OK);
    CHECK_EQ(f.opened, 1);
    CHECK(!strcmp(f.args, "7"));
    CHECK(!strcmp(lode_probe_driver(p), "fake"));
    /* faces: what it has works, what it lacks is UNSUPPORTED */
    CHECK(!lode_probe_has_dap(p));
    CHECK(lode_probe_core(p) == NULL);
    lode_dap_ops_s dops;
    CHECK_EQ(lode_probe_dap(p, 0, &dops), LODE_E_UNSUPPORTED);
    CHECK_EQ(lode_probe_swo_start(p, 0, NULL), LODE_E_UNSUPPORTED);
    CHECK_EQ(lode_probe_set_fileio(p, NULL, NULL), LODE_E_UNSUPPORTED);
    CHECK_EQ(lode_probe_reset_pin(p, true), LODE_OK);
    CHECK_EQ(f.resets, 1);
    CHECK(!lode_probe_has_clock(p));
    lode_probe_info_s info;
    lode_probe_describe(p, &info);
    CHECK(!strcmp(info.description, "fake 7"));
    lode_probe_close(p);
    CHECK_EQ(f.closed, 1);
    lode_probe_registry_free(reg);
}

int main(void)
{
    RUN_TEST(test_registry);
    RUN_TEST(test_filter);
    RUN_TEST(test_choose);
    return TEST_DONE();
}
