/* SPDX-License-Identifier: MIT */
/* The software SWD engine (src/probe/swd_bits.c) against a bit-level SWD target (swd_wire.c)
 * in front of the simulated SW-DP on a fake board, through lode's ADIv5 layer. */
#include "lode/adi.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "probe/swd_bits.h"
#include "simi.h"
#include "swd_wire.h"
#include "swdp.h"
#include "test.h"

sim_board_s *fakeboard_new(uint32_t ram_base, uint32_t ram_size);
void fakeboard_free(sim_board_s *b);
uint8_t *fakeboard_ram(sim_board_s *b, uint32_t addr, uint32_t len);
void fakeboard_set_fault(sim_board_s *b, uint32_t addr, bool on);

#define RAM_BASE 0x20000000u
#define RAM_SIZE 0x4000u
#define DPIDR_M3 0x1BA01477u

typedef struct rig_s {
    sim_board_s *board;
    sim_swdp_s *dp;
    swdw_s wire;
    lodei_swd_s *eng;
    lode_dap_ops_s ops;
    lode_adi_s *adi;
    size_t max_batch_bits;
    unsigned io_calls;
} rig_s;

static int rig_io(void *ctx, const uint8_t *dir, const uint8_t *out, uint8_t *in, size_t n)
{
    rig_s *r = ctx;
    r->io_calls++;
    if (n > r->max_batch_bits)
        r->max_batch_bits = n;
    swdw_io(&r->wire, dir, out, in, n);
    return LODE_OK;
}

static int dp_xfer(void *ctx, bool ap, bool rnw, uint8_t a, uint32_t *data)
{
    return simi_swdp_transfer(ctx, ap, rnw, a, data);
}
static void dp_seq(void *ctx, unsigned bits, const uint8_t *data) { simi_swdp_sequence(ctx, bits, data); }

static bool rig_open(rig_s *r, unsigned skew, size_t max_bits)
{
    memset(r, 0, sizeof *r);
    r->board = fakeboard_new(RAM_BASE, RAM_SIZE);
    sim_swdp_config_s cfg = {.dpidr = DPIDR_M3, .ap_idr = 0x24770011u, .rom_base = 0xE00FF003u,
                             .swj = true, .tar_wrap = 0x1000};
    r->dp = simi_swdp_new(r->board, &cfg);
    if (!r->board || !r->dp)
        return false;
    swdw_dp_s wdp = {.xfer = dp_xfer, .seq = dp_seq, .ctx = r->dp};
    swdw_init(&r->wire, &wdp, skew);
    lodei_swd_io_s io = {.io = rig_io, .max_bits = max_bits, .skew = skew, .ctx = r};
    if (lodei_swd_new(&io, NULL, &r->eng) != LODE_OK)
        return false;
    lodei_swd_dap_ops(r->eng, &r->ops);
    return lode_adi_new(&r->ops, NULL, &r->adi) == LODE_OK;
}

static void rig_close(rig_s *r)
{
    lode_adi_free(r->adi);
    lodei_swd_free(r->eng);
    simi_swdp_free(r->dp);
    fakeboard_free(r->board);
}

static void test_header(void)
{
    CHECK_EQ(lodei_swd_header(LODE_DAP_RNW), 0xA5);                       /* DPIDR read */
    CHECK_EQ(lodei_swd_header(0), 0x81);                                  /* ABORT write */
    CHECK_EQ(lodei_swd_header(LODE_DAP_APNDP | LODE_DAP_RNW | 0xC), 0x9F); /* DRW read */
    CHECK_EQ(lodei_swd_header(LODE_DAP_A(8)), 0xB1);                      /* SELECT write */
    CHECK_EQ(lodei_swd_header(LODE_DAP_RNW | LODE_DAP_A(0xC)), 0xBD);     /* RDBUFF read */
}

/* Connect and move memory with skew 0 and the J-Link's skew 1. */
static void connect_and_memory(unsigned skew)
{
    rig_s r;
    REQUIRE(rig_open(&r, skew, 8192));
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    CHECK_EQ(lode_adi_dpidr(r.adi), DPIDR_M3);
    uint32_t idr = 0;
    CHECK_EQ(lode_adi_ap_idr(r.adi, 0, &idr), LODE_OK);
    CHECK_EQ(idr, 0x24770011u);

    uint8_t buf[4096], back[4096];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    unsigned before = r.io_calls;
    CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM_BASE + 0x100, buf, sizeof buf), LODE_OK);
    CHECK(memcmp(fakeboard_ram(r.board, RAM_BASE + 0x100, sizeof buf), buf, sizeof buf) == 0);
    /* 1024 words in 8192-cycle batches: ~6 batches, not one per word */
    CHECK(r.io_calls - before <= 12);
    CHECK(r.max_batch_bits <= 8192);
    memset(back, 0, sizeof back);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM_BASE + 0x100, back, sizeof back), LODE_OK);
    CHECK(memcmp(back, buf, sizeof buf) == 0);
    /* bytes and half-words through the same posted reads */
    uint8_t b8 = 0;
    uint16_t b16 = 0;
    CHECK_EQ(lode_adi_mem_read8(r.adi, 0, RAM_BASE + 0x103, &b8), LODE_OK);
    CHECK_EQ(b8, buf[3]);
    CHECK_EQ(lode_adi_mem_read16(r.adi, 0, RAM_BASE + 0x106, &b16), LODE_OK);
    CHECK_EQ(b16, buf[6] | buf[7] << 8);
    CHECK_EQ(r.wire.contention, 0);
    CHECK_EQ(r.wire.write_parity_errors, 0);
    CHECK_EQ(r.wire.acks[1] + r.wire.acks[2], 0);
    /* overrun detection was switched on by the engine */
    CHECK(simi_swdp_ctrl_stat(r.dp) & 1u);
    rig_close(&r);
}

static void test_connect_skew0(void) { connect_and_memory(0); }
static void test_connect_skew1(void) { connect_and_memory(1); }

/* A decoder sampling without the skew sees garbage: the skew matters. */
static void test_skew_mismatch_fails(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    r.wire.skew = 0; /* the target's replies one cycle later than the engine expects */
    CHECK(lode_adi_connect(r.adi) != LODE_OK);
    rig_close(&r);
}

static void test_small_batches(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 256));
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    uint8_t buf[512], back[512];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i ^ 0x5A);
    CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM_BASE, buf, sizeof buf), LODE_OK);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM_BASE, back, sizeof back), LODE_OK);
    CHECK(memcmp(back, buf, sizeof buf) == 0);
    CHECK(r.max_batch_bits <= 256);
    CHECK_EQ(r.wire.contention, 0);
    rig_close(&r);
}

static void test_wait_retried(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    uint32_t *ram = (uint32_t *)fakeboard_ram(r.board, RAM_BASE, 64);
    for (unsigned i = 0; i < 16; i++)
        ram[i] = 0x1000u + i;
    simi_swdp_inject_wait(r.dp, 5);
    uint32_t back[16] = {0};
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM_BASE, back, sizeof back), LODE_OK);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(back[i], 0x1000u + i);
    lodei_swd_stats_s st;
    lodei_swd_stats(r.eng, &st);
    CHECK(st.waits >= 1);
    CHECK(st.resyncs >= 1);
    /* writes too */
    simi_swdp_inject_wait(r.dp, 3);
    uint32_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM_BASE + 0x200, w, sizeof w), LODE_OK);
    CHECK(memcmp(fakeboard_ram(r.board, RAM_BASE + 0x200, sizeof w), w, sizeof w) == 0);
    CHECK_EQ(r.wire.contention, 0);
    rig_close(&r);
}

static void test_wait_storm(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    lodei_swd_set_retries(r.eng, 8, 16);
    simi_swdp_inject_wait(r.dp, 100000);
    uint32_t v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_E_WAIT);
    /* the ADI layer's DAPABORT ended the storm: the next access works */
    *(uint32_t *)fakeboard_ram(r.board, RAM_BASE, 4) = 0xCAFEF00Du;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_OK);
    CHECK_EQ(v, 0xCAFEF00Du);
    rig_close(&r);
}

static void test_fault_then_recover(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    simi_swdp_inject_fault_range(r.dp, RAM_BASE + 0x40, RAM_BASE + 0x43);
    uint32_t buf[32];
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM_BASE, buf, sizeof buf), LODE_E_FAULT);
    uint32_t where = 0;
    CHECK(lode_adi_fault_addr(r.adi, &where));
    CHECK_EQ(where, RAM_BASE + 0x40);
    simi_swdp_inject_fault_range(r.dp, 1, 0);
    *(uint32_t *)fakeboard_ram(r.board, RAM_BASE + 0x40, 4) = 0x12345678u;
    uint32_t v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE + 0x40, &v), LODE_OK);
    CHECK_EQ(v, 0x12345678u);
    lodei_swd_stats_s st;
    lodei_swd_stats(r.eng, &st);
    CHECK(st.faults >= 1);
    rig_close(&r);
}

static void test_parity_and_noack(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    *(uint32_t *)fakeboard_ram(r.board, RAM_BASE, 4) = 0xA5A55A5Au;
    uint32_t v = 0;
    r.wire.bad_parity_left = 1;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_E_PROTOCOL);
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_OK);
    CHECK_EQ(v, 0xA5A55A5Au);
    /* one transaction lost (no ACK): sent again after the resync, the caller sees nothing */
    r.wire.noack_left = 1;
    v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_OK);
    CHECK_EQ(v, 0xA5A55A5Au);
    /* a target that stays silent: a protocol error; it answers again: the next access works */
    r.wire.noack_left = 1000;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_E_PROTOCOL);
    r.wire.noack_left = 0;
    v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_OK);
    CHECK_EQ(v, 0xA5A55A5Au);
    lodei_swd_stats_s st;
    lodei_swd_stats(r.eng, &st);
    CHECK_EQ(st.parity_errors, 1);
    CHECK(st.protocol_errors >= 2);
    CHECK(st.resyncs >= 3);
    rig_close(&r);
}

static void test_multidrop(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    r.wire.multidrop = true;
    r.wire.targetid = 0x01002927u;
    /* without TARGETSEL nobody answers */
    CHECK(lode_adi_connect(r.adi) != LODE_OK);
    lodei_swd_set_targetsel(r.eng, true, 0x01002927u);
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    CHECK(r.wire.tsel_seen >= 1);
    uint32_t v = 0;
    *(uint32_t *)fakeboard_ram(r.board, RAM_BASE, 4) = 77;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE, &v), LODE_OK);
    CHECK_EQ(v, 77);
    /* another target id is not selected */
    lodei_swd_set_targetsel(r.eng, true, 0x11002927u);
    CHECK(lode_adi_connect(r.adi) != LODE_OK);
    rig_close(&r);
}

static void test_dormant_wake(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    r.wire.dormant = true;
    CHECK(lode_adi_connect(r.adi) != LODE_OK);
    CHECK_EQ(r.wire.woke, 0);
    CHECK_EQ(lodei_swd_queue_wake(r.eng), LODE_OK);
    CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
    CHECK_EQ(r.wire.woke, 1);
    CHECK_EQ(lode_adi_dpidr(r.adi), DPIDR_M3);
    rig_close(&r);
}

static void test_match(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 4096));
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    uint32_t *ram = (uint32_t *)fakeboard_ram(r.board, RAM_BASE, 64);
    ram[0] = 0x00030000u;
    /* match, then a write that must only happen on a match */
    lode_adi_queue_match32(r.adi, 0, RAM_BASE, 0x00030000u, 0x00030000u);
    lode_adi_queue_write32(r.adi, 0, RAM_BASE + 8, 0x11u);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    CHECK_EQ(ram[2], 0x11u);
    ram[0] = 0x00010000u;
    lode_adi_queue_match32(r.adi, 0, RAM_BASE, 0x00030000u, 0x00030000u);
    lode_adi_queue_write32(r.adi, 0, RAM_BASE + 8, 0x22u);
    CHECK_EQ(lode_adi_run(r.adi), LODE_E_TIMEOUT);
    CHECK_EQ(ram[2], 0x11u); /* not written */
    lodei_swd_stats_s st;
    lodei_swd_stats(r.eng, &st);
    CHECK(st.match_retries >= 16);
    rig_close(&r);
}

static void test_pipelined(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, 1, 8192));
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    CHECK(lode_adi_can_submit(r.adi) >= 2);
    uint32_t *ram = (uint32_t *)fakeboard_ram(r.board, RAM_BASE, 256);
    for (unsigned i = 0; i < 64; i++)
        ram[i] = 0xB0000000u + i;
    uint32_t a[8] = {0}, b[8] = {0};
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM_BASE + 4 * i, &a[i]);
    unsigned calls = r.io_calls;
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM_BASE + 0x80 + 4 * i, &b[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    CHECK_EQ(r.io_calls, calls); /* nothing sent yet */
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    CHECK_EQ(r.io_calls, calls + 1); /* both units in one batch */
    CHECK_EQ(lode_adi_collect(r.adi), LODE_OK);
    for (unsigned i = 0; i < 8; i++) {
        CHECK_EQ(a[i], 0xB0000000u + i);
        CHECK_EQ(b[i], 0xB0000020u + i);
    }
    /* a failed unit: reported at its collect, the engine resynchronises, the next works */
    simi_swdp_inject_fault_range(r.dp, RAM_BASE + 0x10, RAM_BASE + 0x10);
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM_BASE + 4 * i, &a[i]);
    CHECK_EQ(lode_adi_submit(r.adi), LODE_OK);
    CHECK(lode_adi_collect(r.adi) == LODE_E_FAULT);
    simi_swdp_inject_fault_range(r.dp, 1, 0);
    uint32_t v = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM_BASE + 0x10, &v), LODE_OK);
    CHECK_EQ(v, 0xB0000004u);
    CHECK_EQ(r.wire.contention, 0);
    rig_close(&r);
}

int main(void)
{
    RUN_TEST(test_header);
    RUN_TEST(test_connect_skew0);
    RUN_TEST(test_connect_skew1);
    RUN_TEST(test_skew_mismatch_fails);
    RUN_TEST(test_small_batches);
    RUN_TEST(test_wait_retried);
    RUN_TEST(test_wait_storm);
    RUN_TEST(test_fault_then_recover);
    RUN_TEST(test_parity_and_noack);
    RUN_TEST(test_multidrop);
    RUN_TEST(test_dormant_wake);
    RUN_TEST(test_match);
    RUN_TEST(test_pipelined);
    return TEST_DONE();
}
