/* SPDX-License-Identifier: MIT */
/* The J-Link codec and driver (src/probe/jlink/) against a stand-in J-Link (jlink_stub.c) in
 * front of the bit-level SWD target (swd_wire.c) and the simulated SW-DP on a fake board. */
#include <stdio.h>
#include <unistd.h>

#include "lode/adi.h"
#include "lode/error.h"
#include "lode/jlink.h"
#include "lode/sim.h"
#include "probe/jlink/jlink_codec.h"
#include "jlink_stub.h"
#include "simi.h"
#include "swdp.h"
#include "test.h"

sim_board_s *fakeboard_new(uint32_t ram_base, uint32_t ram_size);
void fakeboard_free(sim_board_s *b);
uint8_t *fakeboard_ram(sim_board_s *b, uint32_t addr, uint32_t len);

#define RAM_BASE 0x20000000u
#define DPIDR_M3 0x1BA01477u

static int dp_xfer(void *ctx, bool ap, bool rnw, uint8_t a, uint32_t *data)
{
    return simi_swdp_transfer(ctx, ap, rnw, a, data);
}
static void dp_seq(void *ctx, unsigned bits, const uint8_t *data) { simi_swdp_sequence(ctx, bits, data); }

typedef struct rig_s {
    sim_board_s *board;
    sim_swdp_s *dp;
    jstub_s stub;
    lode_jlink_s *jl;
    lode_dap_ops_s ops;
    lode_adi_s *adi;
} rig_s;

static bool rig_new(rig_s *r)
{
    memset(r, 0, sizeof *r);
    r->board = fakeboard_new(RAM_BASE, 0x4000);
    sim_swdp_config_s cfg = {.dpidr = DPIDR_M3, .ap_idr = 0x24770011u, .rom_base = 0xE00FF003u, .swj = true,
                             .tar_wrap = 0x1000};
    r->dp = simi_swdp_new(r->board, &cfg);
    swdw_dp_s wdp = {.xfer = dp_xfer, .seq = dp_seq, .ctx = r->dp};
    jstub_init(&r->stub, &wdp);
    return r->board && r->dp;
}

static bool rig_open(rig_s *r)
{
    lode_jlink_io_s io;
    jstub_io(&r->stub, &io);
    return lode_jlink_open(&io, NULL, &r->jl) == LODE_OK;
}

static void rig_free(rig_s *r)
{
    lode_adi_free(r->adi);
    lode_jlink_close(r->jl);
    jstub_free(&r->stub);
    simi_swdp_free(r->dp);
    fakeboard_free(r->board);
}

static void test_codec(void)
{
    uint8_t b[64];
    uint8_t dir[2] = {0xFF, 0x01}, out[2] = {0xA5, 0x00};
    CHECK_EQ(lodei_jl_enc_jtag3(b, sizeof b, dir, out, 9), 8);
    CHECK_EQ(b[0], 0xCF);
    CHECK_EQ(b[1], 0);
    CHECK_EQ(b[2], 9);
    CHECK_EQ(b[3], 0);
    CHECK_EQ(b[4], 0xFF);
    CHECK_EQ(b[6], 0xA5);
    CHECK_EQ(lodei_jl_enc_jtag3(b, 7, dir, out, 9), LODE_E_RANGE);
    CHECK_EQ(lodei_jl_enc_jtag3(b, sizeof b, dir, out, 0), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_jl_enc_set_speed(b, sizeof b, 4000), 3);
    CHECK(b[0] == 0x05 && b[1] == 0xA0 && b[2] == 0x0F);
    CHECK_EQ(lodei_jl_enc_swo_read(b, sizeof b, 256), 9);
    static const uint8_t swo_read[9] = {0xEB, 0x66, 0x04, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00};
    CHECK(!memcmp(b, swo_read, 9));
    CHECK_EQ(lodei_jl_enc_swo_start(b, sizeof b, 0, 2000000, 4096), 21);
    CHECK(b[2] == 4 && b[3] == 1 && b[8] == 4 && b[9] == 2 && b[14] == 4 && b[15] == 4 && b[20] == 0);

    uint8_t st[8] = {0xE4, 0x0C, 0, 1, 0, 1, 1, 1};
    lodei_jl_state_s s;
    CHECK_EQ(lodei_jl_dec_state(st, 8, &s), LODE_OK);
    CHECK_EQ(s.vtref_mv, 3300);
    CHECK_EQ(lodei_jl_dec_state(st, 7, &s), LODE_E_PROTOCOL);
    uint8_t sp[6] = {0x00, 0x6C, 0xDC, 0x02, 4, 0};
    uint32_t base = 0;
    uint16_t div = 0;
    CHECK_EQ(lodei_jl_dec_speeds(sp, 6, &base, &div), LODE_OK);
    CHECK_EQ(base, 48000000u);
    CHECK_EQ(div, 4);
    sp[4] = 0;
    CHECK_EQ(lodei_jl_dec_speeds(sp, 6, &base, &div), LODE_E_PROTOCOL);
    uint8_t j3[3] = {0x12, 0x34, 0x00}, in[2];
    CHECK_EQ(lodei_jl_dec_jtag3(j3, 3, 16, in), LODE_OK);
    CHECK_EQ(in[1], 0x34);
    j3[2] = 0x06;
    CHECK_EQ(lodei_jl_dec_jtag3(j3, 3, 16, in), LODE_E_NOMEM);
    CHECK_EQ(lodei_jl_dec_jtag3(j3, 2, 16, in), LODE_E_PROTOCOL);
    char text[16];
    const uint8_t ver[] = {'J', '-', 'L', 1, 'k', ' ', ' ', 0, 'x'};
    CHECK_EQ(lodei_jl_dec_version_text(ver, sizeof ver, text, sizeof text), LODE_OK);
    CHECK(!strcmp(text, "J-L?k"));
    char hw[32];
    lodei_jl_hw_version_string(110000, hw, sizeof hw);
    CHECK(!strcmp(hw, "V11.00"));
    lodei_jl_hw_version_string(2050100, hw, sizeof hw);
    CHECK(!strcmp(hw, "Flasher V5.01"));
    uint8_t rh[8] = {0, 0, 0, 0x80, 16, 0, 0, 0};
    uint32_t status = 0, n = 0;
    CHECK_EQ(lodei_jl_dec_swo_read_hdr(rh, 8, 64, &status, &n), LODE_OK);
    CHECK_EQ(n, 16);
    CHECK(status & LODEI_JL_SWO_ERROR);
    CHECK_EQ(lodei_jl_dec_swo_read_hdr(rh, 8, 8, &status, &n), LODE_E_PROTOCOL); /* more than asked */
}

static void test_spec(void)
{
    lode_jlink_spec_s s;
    CHECK_EQ(lode_jlink_parse_spec("", &s), LODE_OK);
    CHECK(!s.serial[0] && !s.power && !s.targetsel);
    CHECK_EQ(lode_jlink_parse_spec("000123456:power:targetsel=01002927", &s), LODE_OK);
    CHECK(!strcmp(s.serial, "000123456"));
    CHECK(s.power && s.targetsel);
    CHECK_EQ(s.targetsel_value, 0x01002927u);
    CHECK_EQ(lode_jlink_parse_spec("power:vcd=/tmp/x.vcd", &s), LODE_OK);
    CHECK(!strcmp(s.vcd, "/tmp/x.vcd"));
    CHECK_EQ(lode_jlink_parse_spec("12ab", &s), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_jlink_parse_spec("targetsel=xyz", &s), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_jlink_parse_spec("1:2", &s), LODE_E_INVALID_ARG);
}

static void test_usb_table(void)
{
    CHECK(lode_jlink_usb_known(0x1366, 0x0101));
    CHECK(lode_jlink_usb_known(0x1366, 0x1015));
    CHECK(lode_jlink_usb_known(0x1366, 0x1051));
    CHECK(!lode_jlink_usb_known(0x1366, 0x0106)); /* CDC only */
    CHECK(!lode_jlink_usb_known(0x0483, 0x0101));
    size_t rows = 0;
    const lode_usb_match_s *m = lode_jlink_usb_match(&rows);
    CHECK(rows > 20);
    for (size_t i = 0; i < rows; i++)
        CHECK(lode_jlink_usb_known(m[i].vid, m[i].pid));
}

static void test_open_and_swd(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    REQUIRE(rig_open(&r));
    lode_jlink_info_s ji;
    lode_jlink_get_info(r.jl, &ji);
    CHECK(!strncmp(ji.firmware, "J-Link V11 compiled", 19));
    CHECK(!strcmp(ji.hw_string, "V11.00"));
    CHECK_EQ(ji.free_mem, 32768);
    CHECK_EQ(ji.vtref_mv, 3300);
    /* 20 MHz asked: 48 MHz / 4 is the most */
    uint32_t hz = 0;
    lode_jlink_swd_opts_s o = {.hz = 20000000};
    CHECK_EQ(lode_jlink_connect_swd(r.jl, &o, &hz, &r.ops), LODE_OK);
    CHECK_EQ(hz, 12000000u);
    CHECK_EQ(r.stub.speed_khz, 12000);
    CHECK_EQ(r.stub.selected_if, 1);
    /* 5 MHz: the divider 10 gives 4.8 MHz, reported as such */
    o.hz = 5000000;
    CHECK_EQ(lode_jlink_connect_swd(r.jl, &o, &hz, &r.ops), LODE_OK);
    CHECK_EQ(hz, 4800000u);
    CHECK_EQ(r.stub.speed_khz, 4800);
    REQUIRE(lode_adi_new(&r.ops, NULL, &r.adi) == LODE_OK);
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    CHECK_EQ(lode_adi_dpidr(r.adi), DPIDR_M3);
    uint8_t buf[2048], back[2048];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 13);
    unsigned before = r.stub.jtag3;
    CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM_BASE, buf, sizeof buf), LODE_OK);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM_BASE, back, sizeof back), LODE_OK);
    CHECK(!memcmp(buf, back, sizeof buf));
    CHECK(r.stub.jtag3 - before <= 8); /* 2 x 512 words in a few HW_JTAG3 commands */
    CHECK_EQ(r.stub.wire.contention, 0);
    CHECK_EQ(r.stub.bad_cmds, 0);
    lode_jlink_stats_s st;
    lode_jlink_stats(r.jl, &st);
    CHECK(st.swd_transactions >= 1024);
    CHECK(st.jtag3 >= 1);
    /* reset line */
    unsigned resets = r.stub.resets;
    CHECK_EQ(r.ops.reset_pin(r.ops.ctx, true), LODE_OK);
    CHECK_EQ(r.ops.reset_pin(r.ops.ctx, false), LODE_OK);
    CHECK_EQ(r.stub.resets, resets + 2);
    rig_free(&r);
}

static void test_small_memory(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    r.stub.free_mem = 600; /* a command of ~1500 cycles at most */
    REQUIRE(rig_open(&r));
    CHECK_EQ(lode_jlink_connect_swd(r.jl, NULL, NULL, &r.ops), LODE_OK);
    REQUIRE(lode_adi_new(&r.ops, NULL, &r.adi) == LODE_OK);
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    uint8_t buf[1024], back[1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i ^ 0x33);
    CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM_BASE, buf, sizeof buf), LODE_OK);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM_BASE, back, sizeof back), LODE_OK);
    CHECK(!memcmp(buf, back, sizeof buf));
    CHECK_EQ(r.stub.bad_cmds, 0);
    rig_free(&r);
}

static void test_unpowered_and_power(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    r.stub.vtref_mv = 0;
    REQUIRE(rig_open(&r));
    CHECK_EQ(lode_jlink_connect_swd(r.jl, NULL, NULL, &r.ops), LODE_E_NO_DEVICE);
    CHECK_EQ(r.stub.jtag3, 0);
    lode_jlink_swd_opts_s o = {.power = true};
    CHECK_EQ(lode_jlink_connect_swd(r.jl, &o, NULL, &r.ops), LODE_OK);
    CHECK(r.stub.power_on);
    rig_free(&r);
    /* a probe without the power capability says so */
    REQUIRE(rig_new(&r));
    r.stub.vtref_mv = 0;
    r.stub.caps &= ~(1u << 13);
    REQUIRE(rig_open(&r));
    CHECK_EQ(lode_jlink_connect_swd(r.jl, &o, NULL, &r.ops), LODE_E_UNSUPPORTED);
    rig_free(&r);
}

static void test_no_swd(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    r.stub.interfaces = 1; /* JTAG only */
    REQUIRE(rig_open(&r));
    CHECK_EQ(lode_jlink_connect_swd(r.jl, NULL, NULL, &r.ops), LODE_E_UNSUPPORTED);
    rig_free(&r);
    REQUIRE(rig_new(&r));
    r.stub.caps &= ~(1u << 17); /* firmware without SELECT_IF */
    REQUIRE(rig_open(&r));
    CHECK_EQ(lode_jlink_connect_swd(r.jl, NULL, NULL, &r.ops), LODE_E_UNSUPPORTED);
    rig_free(&r);
}

static void test_not_a_jlink(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    snprintf(r.stub.firmware, sizeof r.stub.firmware, "x");
    r.stub.caps = 0; /* no extras: VERSION, CAPS, STATE only */
    REQUIRE(rig_open(&r));
    lode_jlink_info_s ji;
    lode_jlink_get_info(r.jl, &ji);
    CHECK_EQ(ji.hw_version, 0);
    CHECK_EQ(r.stub.cmd_count[0xF0], 0); /* not asked without the capability */
    CHECK_EQ(r.stub.cmd_count[0xD4], 0);
    lode_jlink_close(r.jl);
    r.jl = NULL;
    /* a device that does not answer */
    lode_jlink_io_s io;
    jstub_io(&r.stub, &io);
    r.stub.out_len = 0;
    lode_jlink_io_s silent = io;
    silent.read = NULL;
    CHECK_EQ(lode_jlink_open(&silent, NULL, &r.jl), LODE_E_INVALID_ARG);
    rig_free(&r);
}

static void test_swo(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    REQUIRE(rig_open(&r));
    uint32_t actual = 0;
    CHECK_EQ(lode_jlink_swo_start(r.jl, 2000000, &actual), LODE_OK);
    CHECK_EQ(actual, 2000000u);
    CHECK(r.stub.swo_running);
    CHECK_EQ(r.stub.swo_baud, 2000000u);
    memcpy(r.stub.swo, "\x01hello", 6);
    r.stub.swo_len = 6;
    uint8_t buf[64];
    size_t got = 0;
    CHECK_EQ(lode_jlink_swo_read(r.jl, buf, sizeof buf, &got), LODE_OK);
    CHECK_EQ(got, 6);
    CHECK(!memcmp(buf, "\x01hello", 6));
    CHECK_EQ(lode_jlink_swo_read(r.jl, buf, sizeof buf, &got), LODE_OK);
    CHECK_EQ(got, 0);
    CHECK_EQ(lode_jlink_swo_stop(r.jl), LODE_OK);
    CHECK(!r.stub.swo_running);
    /* 1.5 Mbaud from 60 MHz: divider 40 */
    CHECK_EQ(lode_jlink_swo_start(r.jl, 1500000, &actual), LODE_OK);
    CHECK_EQ(actual, 1500000u);
    CHECK_EQ(r.stub.bad_cmds, 0);
    rig_free(&r);
}

static void test_probe_faces(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    lode_jlink_io_s io;
    jstub_io(&r.stub, &io);
    lode_jlink_spec_s spec;
    REQUIRE(lode_jlink_parse_spec("123456", &spec) == LODE_OK);
    lode_probe_s *p = NULL;
    REQUIRE(lode_probe_jlink_new(&io, false, &spec, NULL, NULL, &p) == LODE_OK);
    CHECK(lode_probe_jlink_handle(p) != NULL);
    CHECK(!strcmp(lode_probe_driver(p), "jlink"));
    lode_probe_info_s info;
    memset(&info, 0, sizeof info);
    lode_probe_describe(p, &info);
    CHECK(!strcmp(info.product, "J-Link V11.00"));
    CHECK(!strcmp(info.serial, "123456"));
    CHECK(info.has_voltage);
    CHECK(strstr(info.detail, "swo") != NULL);
    lode_dap_ops_s ops;
    CHECK_EQ(lode_probe_dap(p, 4000000, &ops), LODE_OK);
    lode_adi_s *adi = NULL;
    REQUIRE(lode_adi_new(&ops, NULL, &adi) == LODE_OK);
    CHECK_EQ(lode_adi_connect(adi), LODE_OK);
    CHECK_EQ(lode_adi_dpidr(adi), DPIDR_M3);
    lode_adi_free(adi);
    lode_probe_close(p);
    rig_free(&r);
}

static void test_pipelined_io(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    REQUIRE(rig_open(&r));
    CHECK_EQ(lode_jlink_connect_swd(r.jl, NULL, NULL, &r.ops), LODE_OK);
    REQUIRE(lode_adi_new(&r.ops, NULL, &r.adi) == LODE_OK);
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    CHECK(lode_adi_can_submit(r.adi) >= 2);
    uint32_t *ram = (uint32_t *)fakeboard_ram(r.board, RAM_BASE, 64);
    for (unsigned i = 0; i < 16; i++)
        ram[i] = 0x5000u + i;
    uint32_t a[8], b[8];
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM_BASE + 4 * i, &a[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM_BASE + 32 + 4 * i, &b[i]);
    unsigned before = r.stub.jtag3;
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    CHECK_EQ(r.stub.jtag3, before); /* nothing sent yet */
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    CHECK_EQ(r.stub.jtag3, before + 1); /* both units in one HW_JTAG3 */
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    CHECK_EQ(r.stub.jtag3, before + 1);
    /* a command of the driver's own sends what was submitted first */
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM_BASE + 4 * i, &a[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    uint16_t mv = 0;
    CHECK_EQ(lode_jlink_vtref(r.jl, &mv), LODE_OK);
    CHECK_EQ(mv, 3300);
    CHECK_EQ(r.stub.jtag3, before + 2);
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    for (unsigned i = 0; i < 8; i++) {
        CHECK_EQ(a[i], 0x5000u + i);
        CHECK_EQ(b[i], 0x5008u + i);
    }
    rig_free(&r);
}

static void test_vcd(void)
{
    rig_s r;
    REQUIRE(rig_new(&r));
    REQUIRE(rig_open(&r));
    char path[] = "/tmp/lode_jlink_vcd_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK_EQ(lode_jlink_set_vcd(r.jl, path), LODE_OK);
    CHECK_EQ(lode_jlink_connect_swd(r.jl, NULL, NULL, &r.ops), LODE_OK);
    REQUIRE(lode_adi_new(&r.ops, NULL, &r.adi) == LODE_OK);
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    CHECK_EQ(lode_jlink_set_vcd(r.jl, NULL), LODE_OK);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[256];
    unsigned rising = 0;
    bool header = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "$var wire 1 \" swdio"))
            header = true;
        if (!strcmp(line, "1!\n"))
            rising++;
    }
    fclose(f);
    unlink(path);
    CHECK(header);
    lode_jlink_stats_s st;
    lode_jlink_stats(r.jl, &st);
    CHECK_EQ(rising, st.swd_bits); /* one rising edge per cycle clocked */
    rig_free(&r);
}

int main(void)
{
    RUN_TEST(test_codec);
    RUN_TEST(test_spec);
    RUN_TEST(test_usb_table);
    RUN_TEST(test_open_and_swd);
    RUN_TEST(test_small_memory);
    RUN_TEST(test_unpowered_and_power);
    RUN_TEST(test_no_swd);
    RUN_TEST(test_not_a_jlink);
    RUN_TEST(test_swo);
    RUN_TEST(test_probe_faces);
    RUN_TEST(test_pipelined_io);
    RUN_TEST(test_vcd);
    return TEST_DONE();
}
