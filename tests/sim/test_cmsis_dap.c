/* SPDX-License-Identifier: MIT */
/* The CMSIS-DAP driver (src/probe/cmsis_dap) against the simulated CMSIS-DAP probe
 * (sim/src/sim_cmsis_dap.c) through its in-process transport, on both chips: DAP_Info, SWD
 * connect, line reset / JTAG-to-SWD, DPIDR, power-up, CPUID through the MEM-AP, TransferBlock,
 * WAIT storms, FAULTs, nRESET, and the virtual-time figures of the USB model. */
#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "lode/transport.h"
#include "test.h"

#define PS_PER_US 1000000ull
#define PS_PER_MS 1000000000ull

#define DP_RD(a) (LODE_DAP_RNW | LODE_DAP_A(a))
#define DP_WR(a) (LODE_DAP_A(a))
#define AP_RD(a) (LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(a))
#define AP_WR(a) (LODE_DAP_APNDP | LODE_DAP_A(a))

#define CSW_32_INC 0x23000052u
#define CPUID_ADDR 0xE000ED00u
#define DHCSR_ADDR 0xE000EDF0u
#define RAM 0x20000000u

typedef struct chip_s {
    const char *name;
    uint32_t dpidr, cpuid;
    bool swj;
} chip_s;

static const chip_s chips[] = {
    {"STM32F103C8", 0x1BA01477u, 0x411FC231u, true},
    {"nRF52840_xxAA", 0x2BA01477u, 0x410FC241u, false},
};

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    if (level <= LODE_LOG_WARN)
        fprintf(stderr, "  [%s] %s\n", lode_log_cat_name(cat), msg);
}
static const lode_log_s logger = {log_fn, NULL, LODE_LOG_WARN};

typedef struct sess_s {
    lode_sim_s *sim;
    lode_sim_dap_s *probe;
    lode_transport_s *t;
    lode_cmsis_dap_s *dap;
    lode_dap_ops_s ops;
} sess_s;

static bool sess_open(sess_s *s, const char *chip, int version, uint8_t pcount, uint16_t caps)
{
    memset(s, 0, sizeof *s);
    lode_sim_config_s sc = {.chip = chip, .log = logger};
    if (lode_sim_new(&sc, &s->sim) != LODE_OK)
        return false;
    lode_sim_dap_config_s pc = {.version = version, .packet_count = pcount, .caps = caps,
                                .serial = "SIM42", .log = logger};
    if (lode_sim_dap_new(s->sim, &pc, &s->probe) != LODE_OK)
        return false;
    if (lode_sim_dap_transport(s->probe, &s->t) != LODE_OK)
        return false;
    return true;
}

static bool sess_connect(sess_s *s, uint32_t hz)
{
    if (lode_cmsis_dap_open(s->t, &logger, &s->dap) != LODE_OK)
        return false;
    if (lode_cmsis_dap_connect_swd(s->dap, hz) != LODE_OK)
        return false;
    return lode_cmsis_dap_dap_ops(s->dap, &s->ops) == LODE_OK;
}

static void sess_close(sess_s *s)
{
    lode_cmsis_dap_close(s->dap);
    lode_transport_close(s->t);
    lode_sim_dap_free(s->probe);
    lode_sim_free(s->sim);
}

static int xfer(sess_s *s, lode_dap_xfer_s *x, size_t n, size_t *done, lode_dap_ack_e *ack)
{
    size_t d = 0;
    lode_dap_ack_e a = LODE_DAP_ACK_NONE;
    int rc = s->ops.transfer(s->ops.ctx, x, n, &d, &a);
    if (done)
        *done = d;
    if (ack)
        *ack = a;
    return rc;
}

static const uint8_t ones[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
static const uint8_t jtag_to_swd[2] = {0x9E, 0xE7};
static const uint8_t idle8[1] = {0x00};

/* line reset (56 ones) [+ JTAG-to-SWD + line reset] + idle, then DPIDR */
static int swd_attach(sess_s *s, bool select, uint32_t *dpidr)
{
    int rc = s->ops.swj_sequence(s->ops.ctx, 56, ones);
    if (!rc && select)
        rc = s->ops.swj_sequence(s->ops.ctx, 16, jtag_to_swd);
    if (!rc && select)
        rc = s->ops.swj_sequence(s->ops.ctx, 56, ones);
    if (!rc)
        rc = s->ops.swj_sequence(s->ops.ctx, 8, idle8);
    if (rc)
        return rc;
    lode_dap_xfer_s x = {.req = DP_RD(0x0), .rdata = dpidr};
    return xfer(s, &x, 1, NULL, NULL);
}

/* attach + clear sticky flags + power up debug and system */
static bool swd_up(sess_s *s, const chip_s *c)
{
    uint32_t id = 0, cs = 0;
    if (swd_attach(s, c->swj, &id) != LODE_OK || id != c->dpidr)
        return false;
    lode_dap_xfer_s x[] = {
        {.req = DP_WR(0x0), .wdata = 0x1E},        /* ABORT: clear sticky flags */
        {.req = DP_WR(0x8), .wdata = 0},           /* SELECT */
        {.req = DP_WR(0x4), .wdata = 0x50000000u}, /* CSYSPWRUPREQ | CDBGPWRUPREQ */
        {.req = DP_RD(0x4), .rdata = &cs},
    };
    if (xfer(s, x, 4, NULL, NULL) != LODE_OK)
        return false;
    return (cs & 0xA0000000u) == 0xA0000000u;
}

static int mem_read32(sess_s *s, uint32_t addr, uint32_t *v)
{
    lode_dap_xfer_s x[] = {
        {.req = AP_WR(0x0), .wdata = CSW_32_INC},
        {.req = AP_WR(0x4), .wdata = addr},
        {.req = AP_RD(0xC), .rdata = v},
    };
    return xfer(s, x, 3, NULL, NULL);
}

static int set_tar(sess_s *s, uint32_t addr)
{
    lode_dap_xfer_s x[] = {
        {.req = AP_WR(0x0), .wdata = CSW_32_INC},
        {.req = AP_WR(0x4), .wdata = addr},
    };
    return xfer(s, x, 2, NULL, NULL);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* SWO through DAP_SWO_*: nothing before the start, ITM stimulus writes after it (ITM packets
 * in order, ARMv7-M D4.2), a baud rate the probe cannot do, no SWO without the capability. */
/* Runs firmware/apps/itm.c on the board until its closing semihosting BKPT. */
static lode_sim_stop_e run_itm_firmware(lode_sim_s *sim)
{
    lode_sim_power_on_reset(sim);
    lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0001u); /* DHCSR.C_DEBUGEN: the BKPT halts */
    lode_sim_stop_e stop = LODE_SIM_STOP_BUDGET;
    for (int i = 0; i < 100 && stop == LODE_SIM_STOP_BUDGET; i++)
        stop = lode_sim_run(sim, 10000000000ull);
    return stop;
}

static void test_swo(void)
{
    if (!LODE_FW_DIR[0]) {
        fprintf(stderr, "  (firmware not built: SWO capture checks skipped)\n");
        return;
    }
    for (int version = 1; version <= 2; version++) {
        sess_s s;
        REQUIRE(sess_open(&s, chips[0].name, version, 0, 0));
        REQUIRE(sess_connect(&s, 4000000));
        REQUIRE(lode_sim_load_elf(s.sim, LODE_FW_DIR "/itm-stm32f103.elf") == LODE_OK);
        uint8_t b[256];
        /* trace made before the capture starts is not delivered */
        CHECK_EQ(run_itm_firmware(s.sim), LODE_SIM_STOP_HALTED);
        uint32_t baud = 0;
        CHECK_EQ(lode_cmsis_dap_swo_start(s.dap, 3000000u, &baud), LODE_E_UNSUPPORTED);
        CHECK_EQ(lode_cmsis_dap_swo_start(s.dap, 2000000u, &baud), LODE_OK);
        CHECK_EQ(baud, 2000000u);
        size_t got = 99;
        CHECK_EQ(lode_cmsis_dap_swo_read(s.dap, b, sizeof b, &got), LODE_OK);
        CHECK_EQ(got, 0);
        /* "ITM hello\n" as byte writes to port 0 (header 0x01 + byte), then 0x12345678 to
         * port 1 (header 0x0B + 4 bytes): 25 bytes */
        CHECK_EQ(run_itm_firmware(s.sim), LODE_SIM_STOP_HALTED);
        size_t total = 0;
        for (int i = 0; i < 8 && total < sizeof b; i++) {
            CHECK_EQ(lode_cmsis_dap_swo_read(s.dap, b + total, version == 1 ? 7 : sizeof b - total, &got), LODE_OK);
            total += got;
        }
        CHECK_EQ(total, 25);
        const char *text = "ITM hello\n";
        for (size_t i = 0; i < 10 && total == 25; i++)
            CHECK(b[2 * i] == 0x01 && b[2 * i + 1] == (uint8_t)text[i]);
        CHECK(total == 25 && b[20] == 0x0B && b[21] == 0x78 && b[22] == 0x56 && b[23] == 0x34 && b[24] == 0x12);
        CHECK_EQ(lode_cmsis_dap_swo_stop(s.dap), LODE_OK);
        /* stopped: nothing more is captured */
        CHECK_EQ(run_itm_firmware(s.sim), LODE_SIM_STOP_HALTED);
        CHECK_EQ(lode_cmsis_dap_swo_read(s.dap, b, sizeof b, &got), LODE_OK);
        CHECK_EQ(got, 0);
        sess_close(&s);
    }
    sess_s s;
    REQUIRE(sess_open(&s, chips[0].name, 2, 0, LODE_CMSIS_DAP_CAP_SWD | LODE_CMSIS_DAP_CAP_ATOMIC));
    REQUIRE(sess_connect(&s, 4000000));
    CHECK_EQ(lode_cmsis_dap_swo_start(s.dap, 2000000u, NULL), LODE_E_UNSUPPORTED);
    sess_close(&s);
}

/* submit / collect: lists sent without waiting, outcomes in order, a synchronous transfer
 * mixed in runs after them, a FAULT in one list is that list's outcome only */
static void test_pipelined(void)
{
    for (int version = 1; version <= 2; version++) {
        const chip_s *c = &chips[0];
        sess_s s;
        REQUIRE(sess_open(&s, c->name, version, 4, 0));
        REQUIRE(sess_connect(&s, 4000000));
        REQUIRE(swd_up(&s, c));
        REQUIRE(s.ops.submit && s.ops.collect && s.ops.max_pending);
        CHECK_EQ(s.ops.max_pending(s.ops.ctx), 4);
        for (uint32_t k = 0; k < 4; k++)
            lode_sim_write32(s.sim, RAM + 4 * k, 0x1000u + k);
        uint32_t v[3] = {0, 0, 0};
        lode_dap_xfer_s a[] = {
            {.req = AP_WR(0x0), .wdata = CSW_32_INC},
            {.req = AP_WR(0x4), .wdata = RAM},
            {.req = AP_RD(0xC), .rdata = &v[0]},
        };
        lode_dap_xfer_s b[] = {
            {.req = AP_WR(0xC), .wdata = 0xCAFE0001u}, /* RAM + 4, then TAR = RAM + 8 */
            {.req = AP_RD(0xC), .rdata = &v[1]},      /* RAM + 8 */
        };
        size_t done = 99;
        lode_dap_ack_e ack = LODE_DAP_ACK_NONE;
        lode_cmsis_dap_stats_s st0, st1;
        lode_cmsis_dap_stats(s.dap, &st0);
        CHECK_EQ(s.ops.submit(s.ops.ctx, a, 3), LODE_OK);
        CHECK_EQ(s.ops.submit(s.ops.ctx, b, 2), LODE_OK);
        CHECK_EQ(v[0], 0); /* nothing waited for yet */
        /* a synchronous transfer: after both lists (TAR is RAM + 12 by then) */
        lode_dap_xfer_s c1 = {.req = AP_RD(0xC), .rdata = &v[2]};
        CHECK_EQ(xfer(&s, &c1, 1, &done, &ack), LODE_OK);
        CHECK_EQ(v[2], 0x1003u);
        CHECK_EQ(v[0], 0x1000u); /* the pending replies were taken in meanwhile */
        CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_OK);
        CHECK_EQ(done, 3);
        CHECK_EQ(ack, LODE_DAP_ACK_OK);
        CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_OK);
        CHECK_EQ(done, 2);
        CHECK_EQ(v[1], 0x1002u);
        uint32_t w = 0;
        lode_sim_read32(s.sim, RAM + 4, &w);
        CHECK_EQ(w, 0xCAFE0001u);
        CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_E_STATE); /* nothing pending */
        lode_cmsis_dap_stats(s.dap, &st1);
        CHECK_EQ(st1.commands - st0.commands, version == 1 ? 3 : 3);
        /* at most max_pending in flight; a list must fit one command */
        for (int k = 0; k < 4; k++)
            CHECK_EQ(s.ops.submit(s.ops.ctx, &c1, 1), LODE_OK);
        CHECK_EQ(s.ops.submit(s.ops.ctx, &c1, 1), LODE_E_STATE);
        for (int k = 0; k < 4; k++)
            CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_OK);
        lode_dap_xfer_s big[40];
        uint32_t sink[40];
        for (int k = 0; k < 40; k++)
            big[k] = (lode_dap_xfer_s){.req = AP_RD(0xC), .rdata = &sink[k]};
        CHECK_EQ(s.ops.submit(s.ops.ctx, big, 40), version == 1 ? LODE_E_RANGE : LODE_OK);
        if (version == 2)
            CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_OK);
        /* a FAULT: that list fails, the one before is intact */
        lode_sim_inject_fault_range(s.sim, RAM + 0x100, RAM + 0x103);
        uint32_t f = 0xDEAD, ok = 0;
        lode_dap_xfer_s g[] = {{.req = AP_WR(0x4), .wdata = RAM}, {.req = AP_RD(0xC), .rdata = &ok}};
        lode_dap_xfer_s h[] = {{.req = AP_WR(0x4), .wdata = RAM + 0x100}, {.req = AP_RD(0xC), .rdata = &f}};
        CHECK_EQ(s.ops.submit(s.ops.ctx, g, 2), LODE_OK);
        CHECK_EQ(s.ops.submit(s.ops.ctx, h, 2), LODE_OK);
        CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_OK);
        CHECK_EQ(ok, 0x1000u);
        CHECK_EQ(s.ops.collect(s.ops.ctx, &done, &ack), LODE_E_FAULT);
        CHECK_EQ(ack, LODE_DAP_ACK_FAULT);
        CHECK_EQ(f, 0xDEAD);
        CHECK_EQ(s.ops.write_abort(s.ops.ctx, 0x1E), LODE_OK);
        sess_close(&s);
    }
}

static void test_info(void)
{
    for (int version = 1; version <= 2; version++) {
        sess_s s;
        REQUIRE(sess_open(&s, chips[0].name, version, 0, 0));
        REQUIRE(lode_cmsis_dap_open(s.t, &logger, &s.dap) == LODE_OK);
        lode_cmsis_dap_info_s in;
        CHECK_EQ(lode_cmsis_dap_info(s.dap, &in), LODE_OK);
        CHECK_EQ(in.packet_size, version == 1 ? 64 : 512);
        CHECK_EQ(in.used_packet_size, version == 1 ? 64 : 512);
        CHECK_EQ(in.packet_count, 4);
        CHECK_EQ(in.caps, LODE_CMSIS_DAP_CAP_SWD | LODE_CMSIS_DAP_CAP_SWO_UART | LODE_CMSIS_DAP_CAP_ATOMIC);
        CHECK(strcmp(in.vendor, "lode") == 0);
        CHECK(strstr(in.product, "CMSIS-DAP") != NULL);
        CHECK(strcmp(in.serial, "SIM42") == 0);
        CHECK(strcmp(in.protocol_version, "2.1.1") == 0);
        CHECK(strcmp(in.fw_version, "0.1.0") == 0);
        sess_close(&s);
    }
    /* a probe without SWD is refused */
    sess_s s;
    REQUIRE(sess_open(&s, chips[1].name, 2, 0, LODE_CMSIS_DAP_CAP_JTAG));
    lode_cmsis_dap_s *dap = (lode_cmsis_dap_s *)&s;
    CHECK_EQ(lode_cmsis_dap_open(s.t, NULL, &dap), LODE_E_UNSUPPORTED);
    CHECK(dap == (lode_cmsis_dap_s *)&s);
    sess_close(&s);
}

static void test_attach(void)
{
    for (size_t i = 0; i < 2; i++) {
        const chip_s *c = &chips[i];
        for (int version = 1; version <= 2; version++) {
            /* both connect paths: atomic (ExecuteCommands) and one command each */
            uint16_t caps = version == 1 ? LODE_CMSIS_DAP_CAP_SWD : 0;
            sess_s s;
            REQUIRE(sess_open(&s, c->name, version, 0, caps));
            REQUIRE(sess_connect(&s, 4000000));
            uint32_t id = 0;
            if (c->swj) {
                /* an SWJ-DP starts in JTAG: a line reset alone gets no ACK */
                size_t done = 9;
                lode_dap_ack_e ack = LODE_DAP_ACK_OK;
                CHECK_EQ(s.ops.swj_sequence(s.ops.ctx, 56, ones), LODE_OK);
                lode_dap_xfer_s x = {.req = DP_RD(0x0), .rdata = &id};
                CHECK_EQ(xfer(&s, &x, 1, &done, &ack), LODE_E_PROTOCOL);
                CHECK_EQ(ack, LODE_DAP_ACK_NONE);
                CHECK_EQ(done, 0);
                CHECK_EQ(id, 0);
            }
            CHECK_EQ(swd_attach(&s, c->swj, &id), LODE_OK);
            CHECK_EQ(id, c->dpidr);
            CHECK(swd_up(&s, c));
            uint32_t cpuid = 0;
            lode_cmsis_dap_stats_s st0, st1;
            lode_cmsis_dap_stats(s.dap, &st0);
            CHECK_EQ(mem_read32(&s, CPUID_ADDR, &cpuid), LODE_OK);
            lode_cmsis_dap_stats(s.dap, &st1);
            CHECK_EQ(cpuid, c->cpuid);
            CHECK_EQ(st1.commands - st0.commands, 1); /* CSW, TAR, DRW in one DAP_Transfer */
            sess_close(&s);
        }
    }
}

/* 256 words of RAM written with TransferBlock and read back; also many single transfers */
static void test_block(void)
{
    for (size_t i = 0; i < 2; i++) {
        for (int version = 1; version <= 2; version++) {
            sess_s s;
            REQUIRE(sess_open(&s, chips[i].name, version, 0, 0));
            REQUIRE(sess_connect(&s, 8000000));
            REQUIRE(swd_up(&s, &chips[i]));
            uint32_t w[256], r[256];
            for (uint32_t k = 0; k < 256; k++)
                w[k] = 0x9E3779B9u * (k + 1) + (uint32_t)i + (uint32_t)version;
            size_t done = 0;
            lode_dap_ack_e ack = LODE_DAP_ACK_NONE;
            CHECK_EQ(set_tar(&s, RAM), LODE_OK);
            CHECK_EQ(s.ops.transfer_block(s.ops.ctx, AP_WR(0xC), w, 256, &done, &ack), LODE_OK);
            CHECK_EQ(done, 256);
            CHECK_EQ(ack, LODE_DAP_ACK_OK);
            uint8_t back[1024];
            CHECK_EQ(lode_sim_mem_read(s.sim, RAM, back, sizeof back), LODE_OK);
            CHECK_EQ(back[1020] | back[1021] << 8 | back[1022] << 16 | (uint32_t)back[1023] << 24,
                     w[255]);
            memset(r, 0, sizeof r);
            CHECK_EQ(set_tar(&s, RAM), LODE_OK);
            CHECK_EQ(s.ops.transfer_block(s.ops.ctx, AP_RD(0xC), r, 256, &done, &ack), LODE_OK);
            CHECK_EQ(done, 256);
            CHECK(memcmp(w, r, sizeof w) == 0);

            /* the same words read as 64 single DRW reads in one transfer call */
            lode_dap_xfer_s x[66];
            uint32_t v[64];
            x[0] = (lode_dap_xfer_s){.req = AP_WR(0x0), .wdata = CSW_32_INC};
            x[1] = (lode_dap_xfer_s){.req = AP_WR(0x4), .wdata = RAM + 64};
            for (int k = 0; k < 64; k++)
                x[2 + k] = (lode_dap_xfer_s){.req = AP_RD(0xC), .rdata = &v[k]};
            lode_cmsis_dap_stats_s st0, st1;
            lode_cmsis_dap_stats(s.dap, &st0);
            CHECK_EQ(xfer(&s, x, 66, &done, &ack), LODE_OK);
            lode_cmsis_dap_stats(s.dap, &st1);
            CHECK_EQ(done, 66);
            CHECK(memcmp(v, w + 16, sizeof v) == 0);
            /* v1: 17 + 15 + 15 + 15 + 4; v2: one command */
            CHECK_EQ(st1.commands - st0.commands, version == 1 ? 5 : 1);
            if (version == 1)
                CHECK(st1.max_inflight >= 4);
            sess_close(&s);
        }
    }
}

static void test_wait(void)
{
    for (size_t i = 0; i < 2; i++) {
        const chip_s *c = &chips[i];
        sess_s s;
        REQUIRE(sess_open(&s, c->name, 1, 4, 0));
        REQUIRE(sess_connect(&s, 4000000));
        REQUIRE(swd_up(&s, c));
        /* a storm shorter than the probe's own retries is invisible */
        uint32_t cpuid = 0;
        lode_sim_inject_wait(s.sim, 50);
        CHECK_EQ(mem_read32(&s, CPUID_ADDR, &cpuid), LODE_OK);
        CHECK_EQ(cpuid, c->cpuid);
        lode_cmsis_dap_stats_s st;
        lode_cmsis_dap_stats(s.dap, &st);
        CHECK_EQ(st.host_retries, 0);

        /* probe retries 8: a storm of 20 needs two batch resends by the driver */
        CHECK_EQ(lode_cmsis_dap_set_retries(s.dap, 8, 3), LODE_OK);
        lode_sim_inject_wait(s.sim, 20);
        cpuid = 0;
        CHECK_EQ(mem_read32(&s, CPUID_ADDR, &cpuid), LODE_OK);
        CHECK_EQ(cpuid, c->cpuid);
        lode_cmsis_dap_stats(s.dap, &st);
        CHECK_EQ(st.host_retries, 2);

        /* a storm over a pipelined batch (42 transfers = 4 commands in flight on v1, each
         * stalling after 9 WAITs). 25 WAITs: commands 1 and 2 stall, command 3 runs: the
         * driver must not resend 1 and 2 behind it. */
        lode_dap_xfer_s x[42];
        x[0] = (lode_dap_xfer_s){.req = AP_WR(0x0), .wdata = CSW_32_INC};
        x[1] = (lode_dap_xfer_s){.req = AP_WR(0x4), .wdata = RAM + 0x200};
        for (uint32_t k = 0; k < 40; k++)
            x[2 + k] = (lode_dap_xfer_s){.req = AP_WR(0xC), .wdata = 0xC0DE0000u + k};
        size_t done = 99;
        lode_dap_ack_e ack = LODE_DAP_ACK_NONE;
        lode_cmsis_dap_stats(s.dap, &st);
        uint64_t retries0 = st.host_retries;
        lode_sim_inject_wait(s.sim, 25);
        CHECK_EQ(xfer(&s, x, 42, &done, &ack), LODE_E_WAIT);
        CHECK_EQ(done, 0);
        CHECK_EQ(ack, LODE_DAP_ACK_WAIT);
        lode_cmsis_dap_stats(s.dap, &st);
        CHECK_EQ(st.host_retries, retries0);
        /* 40 WAITs: all four stall with nothing done, the resend goes through */
        lode_sim_inject_wait(s.sim, 40);
        CHECK_EQ(xfer(&s, x, 42, &done, &ack), LODE_OK);
        CHECK_EQ(done, 42);
        lode_cmsis_dap_stats(s.dap, &st);
        CHECK_EQ(st.host_retries, retries0 + 1);
        uint32_t back[40];
        CHECK_EQ(lode_sim_mem_read(s.sim, RAM + 0x200, back, sizeof back), LODE_OK);
        bool same = true;
        for (uint32_t k = 0; k < 40; k++)
            same = same && back[k] == 0xC0DE0000u + k;
        CHECK(same);

        /* a storm beyond all retries: LODE_E_WAIT, nothing done; DAPABORT ends it */
        lode_sim_inject_wait(s.sim, 1000);
        cpuid = 0;
        lode_dap_xfer_s y[] = {
            {.req = AP_WR(0x4), .wdata = CPUID_ADDR},
            {.req = AP_RD(0xC), .rdata = &cpuid},
        };
        CHECK_EQ(xfer(&s, y, 2, &done, &ack), LODE_E_WAIT);
        CHECK_EQ(done, 0);
        CHECK_EQ(ack, LODE_DAP_ACK_WAIT);
        CHECK_EQ(cpuid, 0);
        CHECK_EQ(s.ops.write_abort(s.ops.ctx, 0x1F), LODE_OK);
        CHECK_EQ(mem_read32(&s, CPUID_ADDR, &cpuid), LODE_OK);
        CHECK_EQ(cpuid, c->cpuid);

        /* block write through a storm */
        uint32_t w[100];
        for (uint32_t k = 0; k < 100; k++)
            w[k] = 0x5A000000u | k;
        CHECK_EQ(set_tar(&s, RAM + 0x400), LODE_OK);
        lode_sim_inject_wait(s.sim, 36); /* 4 blocks in flight x 9 WAITs */
        CHECK_EQ(s.ops.transfer_block(s.ops.ctx, AP_WR(0xC), w, 100, &done, &ack), LODE_OK);
        CHECK_EQ(done, 100);
        uint32_t wb[100];
        CHECK_EQ(lode_sim_mem_read(s.sim, RAM + 0x400, wb, sizeof wb), LODE_OK);
        CHECK(memcmp(w, wb, sizeof w) == 0);
        sess_close(&s);
    }
}

static void test_fault(void)
{
    for (size_t i = 0; i < 2; i++) {
        const chip_s *c = &chips[i];
        sess_s s;
        REQUIRE(sess_open(&s, c->name, 2, 4, 0));
        REQUIRE(sess_connect(&s, 4000000));
        REQUIRE(swd_up(&s, c));
        lode_sim_inject_fault_range(s.sim, RAM + 0x100, RAM + 0x103);
        uint32_t v = 0xDEAD;
        size_t done = 99;
        lode_dap_ack_e ack = LODE_DAP_ACK_OK;
        lode_dap_xfer_s x[] = {
            {.req = AP_WR(0x0), .wdata = CSW_32_INC},
            {.req = AP_WR(0x4), .wdata = RAM + 0x100},
            {.req = AP_RD(0xC), .rdata = &v},
        };
        /* the AP read is ACKed (posted); the probe's RDBUFF read gets the FAULT */
        CHECK_EQ(xfer(&s, x, 3, &done, &ack), LODE_E_FAULT);
        CHECK_EQ(ack, LODE_DAP_ACK_FAULT);
        CHECK_EQ(done, 2);
        CHECK_EQ(v, 0xDEAD);
        /* sticky: everything but CTRL/STAT reads faults until ABORT.STKERRCLR */
        uint32_t cs = 0;
        lode_dap_xfer_s rcs = {.req = DP_RD(0x4), .rdata = &cs};
        CHECK_EQ(xfer(&s, &rcs, 1, NULL, NULL), LODE_OK);
        CHECK(cs & 0x20u); /* STICKYERR */
        CHECK_EQ(mem_read32(&s, RAM, &v), LODE_E_FAULT);
        CHECK_EQ(s.ops.write_abort(s.ops.ctx, 0x1E), LODE_OK);
        CHECK_EQ(xfer(&s, &rcs, 1, NULL, NULL), LODE_OK);
        CHECK(!(cs & 0x20u));
        /* block read across the faulting word stops there */
        uint32_t r[128];
        CHECK_EQ(set_tar(&s, RAM + 0xF0), LODE_OK);
        CHECK_EQ(s.ops.transfer_block(s.ops.ctx, AP_RD(0xC), r, 8, &done, &ack), LODE_E_FAULT);
        CHECK_EQ(ack, LODE_DAP_ACK_FAULT);
        CHECK_EQ(done, 4);
        CHECK_EQ(s.ops.write_abort(s.ops.ctx, 0x1E), LODE_OK);
        lode_sim_inject_fault_range(s.sim, 1, 0);
        CHECK_EQ(mem_read32(&s, RAM + 0x100, &v), LODE_OK);
        sess_close(&s);
    }
}

static void test_reset_pin(void)
{
    for (size_t i = 0; i < 2; i++) {
        const chip_s *c = &chips[i];
        sess_s s;
        REQUIRE(sess_open(&s, c->name, 2, 4, 0));
        REQUIRE(sess_connect(&s, 4000000));
        REQUIRE(swd_up(&s, c));
        uint32_t d = 0;
        CHECK_EQ(mem_read32(&s, DHCSR_ADDR, &d), LODE_OK); /* clears S_RESET_ST */
        CHECK_EQ(mem_read32(&s, DHCSR_ADDR, &d), LODE_OK);
        CHECK(!(d & (1u << 25)));
        CHECK_EQ(s.ops.reset_pin(s.ops.ctx, true), LODE_OK);
        CHECK_EQ(s.ops.reset_pin(s.ops.ctx, false), LODE_OK);
        CHECK_EQ(mem_read32(&s, DHCSR_ADDR, &d), LODE_OK);
        CHECK(d & (1u << 25)); /* S_RESET_ST: the core was reset */
        sess_close(&s);
    }
}

/* The command processor directly, and the USB model's edges. */
static void test_processor(void)
{
    sess_s s;
    REQUIRE(sess_open(&s, chips[1].name, 2, 2, 0));
    uint8_t resp[512];
    size_t n = 0;
    const uint8_t unknown[] = {0x42, 0x00};
    CHECK_EQ(lode_sim_dap_process(s.probe, unknown, 2, resp, sizeof resp, &n), LODE_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(resp[0], 0xFF);
    const uint8_t trunc[] = {0x05, 0x00, 0x02, 0x05, 0x01}; /* write without its data */
    CHECK_EQ(lode_sim_dap_process(s.probe, trunc, sizeof trunc, resp, sizeof resp, &n), LODE_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(resp[0], 0xFF);
    /* not connected: transfers do nothing */
    const uint8_t rd[] = {0x05, 0x00, 0x01, 0x02};
    CHECK_EQ(lode_sim_dap_process(s.probe, rd, sizeof rd, resp, sizeof resp, &n), LODE_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(resp[1], 0);
    CHECK_EQ(resp[2], 0);
    /* ExecuteCommands: Connect, SWJ_Sequence (line reset), SWJ_Sequence(idle), Transfer */
    const uint8_t ex[] = {0x7F, 0x04, 0x02, 0x01, 0x12, 56, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                          0xFF, 0x12, 8, 0x00, 0x05, 0x00, 0x01, 0x02};
    CHECK_EQ(lode_sim_dap_process(s.probe, ex, sizeof ex, resp, sizeof resp, &n), LODE_OK);
    const uint8_t exp[] = {0x7F, 0x04, 0x02, 0x01, 0x12, 0x00, 0x12, 0x00, 0x05, 0x01, 0x01,
                           0x77, 0x14, 0xA0, 0x2B};
    CHECK_EQ(n, sizeof exp);
    CHECK(n == sizeof exp && memcmp(resp, exp, n) == 0);
    /* TransferAbort has no response */
    const uint8_t ab[] = {0x07};
    CHECK_EQ(lode_sim_dap_process(s.probe, ab, 1, resp, sizeof resp, &n), LODE_OK);
    CHECK_EQ(n, 0);

    /* USB: packet_count 2 -> a third unread command is NAKed */
    const uint8_t info[] = {0x00, 0xFE};
    uint64_t pk0 = lode_sim_dap_packets(s.probe);
    CHECK_EQ(lode_sim_dap_usb_write(s.probe, info, 2), LODE_OK);
    CHECK_EQ(lode_sim_dap_usb_write(s.probe, info, 2), LODE_OK);
    CHECK_EQ(lode_sim_dap_usb_write(s.probe, info, 2), LODE_E_TIMEOUT);
    CHECK_EQ(lode_sim_dap_packets(s.probe) - pk0, 2); /* the NAKed one is not counted */
    uint8_t buf[512];
    n = 0;
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, sizeof buf, &n), LODE_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(buf[2], 2);
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, 2, &n), LODE_E_IO); /* bulk overflow */
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, sizeof buf, &n), LODE_E_TIMEOUT);
    /* QueueCommands packets are held until a packet without it arrives */
    const uint8_t q1[] = {0x7E, 0x01, 0x00, 0xFF};
    const uint8_t hs[] = {0x01, 0x00, 0x01};
    CHECK_EQ(lode_sim_dap_usb_write(s.probe, q1, sizeof q1), LODE_OK);
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, sizeof buf, &n), LODE_E_TIMEOUT);
    CHECK_EQ(lode_sim_dap_usb_write(s.probe, hs, sizeof hs), LODE_OK);
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, sizeof buf, &n), LODE_OK);
    const uint8_t qexp[] = {0x7F, 0x01, 0x00, 0x02, 0x00, 0x02};
    CHECK_EQ(n, sizeof qexp);
    CHECK(n == sizeof qexp && memcmp(buf, qexp, n) == 0);
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, sizeof buf, &n), LODE_OK);
    CHECK_EQ(n, 2);
    CHECK_EQ(buf[0], 0x01);
    sess_close(&s);

    /* v1 responses are full HID reports */
    REQUIRE(sess_open(&s, chips[1].name, 1, 0, 0));
    CHECK_EQ(lode_sim_dap_usb_write(s.probe, info, 2), LODE_OK);
    memset(buf, 0xAA, sizeof buf);
    CHECK_EQ(lode_sim_dap_usb_read(s.probe, buf, sizeof buf, &n), LODE_OK);
    CHECK_EQ(n, 64);
    CHECK_EQ(buf[2], 4);
    CHECK_EQ(buf[3], 0);
    CHECK_EQ(buf[63], 0);
    sess_close(&s);
}

/* Random requests (valid command ids, random bodies and lengths) never make the processor
 * answer beyond the packet or read beyond the request (ASan in the sanitizer build). */
static void test_processor_random(void)
{
    static const uint8_t ids[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                  0x0A, 0x10, 0x11, 0x12, 0x13, 0x7E, 0x7F, 0x42};
    sess_s s;
    REQUIRE(sess_open(&s, chips[0].name, 1, 0, 0));
    uint32_t seed = 12345;
    size_t bad = 0;
    for (int it = 0; it < 20000; it++) {
        uint8_t req[64];
        seed = seed * 1103515245u + 12345u;
        size_t len = 1 + (seed >> 16) % 64;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            req[i] = (uint8_t)(seed >> 16);
        }
        req[0] = ids[req[0] % sizeof ids];
        if (req[0] == 0x09 && len >= 3)
            req[2] = 0; /* keep DAP_Delay short */
        if (req[0] == 0x7F || req[0] == 0x7E)
            for (size_t i = 2; i < len; i++)
                if (req[i] == 0x09)
                    req[i] = 0x01;
        /* exactly len bytes, so reading past the request is caught */
        uint8_t *q = malloc(len), *r = malloc(64);
        REQUIRE(q && r);
        memcpy(q, req, len);
        size_t n = 999;
        if (lode_sim_dap_process(s.probe, q, len, r, 64, &n) != LODE_OK || n > 64)
            bad++;
        free(q);
        free(r);
    }
    CHECK_EQ(bad, 0);
    sess_close(&s);
}

/* ---- USB timing (virtual time) ------------------------------------------------------------ */
static double g_rtt_us[3], g_kbps[3][2];

static void test_timing(void)
{
    static const uint64_t frame[3] = {0, 1000 * PS_PER_US, 125 * PS_PER_US};
    for (int version = 1; version <= 2; version++) {
        /* one command round trip */
        sess_s s;
        REQUIRE(sess_open(&s, chips[0].name, version, 4, 0));
        REQUIRE(sess_connect(&s, 4000000));
        REQUIRE(swd_up(&s, &chips[0]));
        uint32_t id = 0;
        lode_dap_xfer_s x = {.req = DP_RD(0x0), .rdata = &id};
        uint64_t t0 = lode_sim_now(s.sim);
        CHECK_EQ(t0 % frame[version], 0); /* a reply arrives on a frame boundary */
        CHECK_EQ(xfer(&s, &x, 1, NULL, NULL), LODE_OK);
        uint64_t rtt = lode_sim_now(s.sim) - t0;
        CHECK_EQ(rtt, 2 * frame[version]);
        g_rtt_us[version] = (double)rtt / PS_PER_US;
        sess_close(&s);

        /* throughput: 16 KiB of RAM read with TransferBlock, 1 vs 4 commands in flight */
        for (int pc = 0; pc < 2; pc++) {
            REQUIRE(sess_open(&s, chips[0].name, version, pc ? 4 : 1, 0));
            REQUIRE(sess_connect(&s, 4000000));
            REQUIRE(swd_up(&s, &chips[0]));
            static uint32_t buf[4096];
            size_t done = 0;
            lode_dap_ack_e ack;
            uint64_t t1 = lode_sim_now(s.sim);
            bool ok = true;
            for (uint32_t blk = 0; blk < 16; blk++) { /* TAR per 1 KiB */
                ok = ok && set_tar(&s, RAM + blk * 1024) == LODE_OK;
                ok = ok && s.ops.transfer_block(s.ops.ctx, AP_RD(0xC), buf + blk * 256, 256,
                                                &done, &ack) == LODE_OK;
            }
            CHECK(ok);
            uint64_t dt = lode_sim_now(s.sim) - t1;
            g_kbps[version][pc] = 16384.0 / ((double)dt / 1e12) / 1000.0;
            sess_close(&s);
        }
        /* pipelining helps when USB is the bottleneck (v1); never hurts */
        if (version == 1)
            CHECK(g_kbps[1][1] > 1.5 * g_kbps[1][0]);
        else
            CHECK(g_kbps[2][1] >= g_kbps[2][0]);
    }
    fprintf(stderr,
            "  USB model (virtual time, SWD 4 MHz):\n"
            "    one command round trip: v1 HID %.0f us, v2 HS bulk %.0f us\n"
            "    16 KiB TransferBlock read: v1 %.1f KB/s (1 in flight) %.1f KB/s (4 in flight);"
            " v2 %.1f KB/s / %.1f KB/s\n",
            g_rtt_us[1], g_rtt_us[2], g_kbps[1][0], g_kbps[1][1], g_kbps[2][0], g_kbps[2][1]);
}

int main(void)
{
    RUN_TEST(test_info);
    RUN_TEST(test_swo);
    RUN_TEST(test_pipelined);
    RUN_TEST(test_attach);
    RUN_TEST(test_block);
    RUN_TEST(test_wait);
    RUN_TEST(test_fault);
    RUN_TEST(test_reset_pin);
    RUN_TEST(test_processor);
    RUN_TEST(test_processor_random);
    RUN_TEST(test_timing);
    return TEST_DONE();
}
