/* SPDX-License-Identifier: MIT */
/* Unit tests of the simulated SW-DP + AHB MEM-AP (sim/src/swdp.c) against a fake board. */
#include "lode/sim.h"
#include "simi.h"
#include "swdp.h"
#include "test.h"

/* The fake board (swdp_fakeboard.c). */
sim_board_s *fakeboard_new(uint32_t ram_base, uint32_t ram_size);
void fakeboard_free(sim_board_s *b);
uint8_t *fakeboard_ram(sim_board_s *b, uint32_t addr, uint32_t len);
void fakeboard_set_fault(sim_board_s *b, uint32_t addr, bool on);
unsigned fakeboard_accesses(const sim_board_s *b);
unsigned fakeboard_contract_violations(const sim_board_s *b);
unsigned fakeboard_log_lines(const sim_board_s *b);

#define RAM_BASE 0x20000000u
#define RAM_SIZE 0x1000u
#define DPIDR_M3 0x1BA01477u
#define DPIDR_M4 0x2BA01477u
#define DPIDR_M0P 0x0BC11477u /* MINDP */
#define AP_IDR 0x24770011u
#define ROM_BASE 0xE00FF003u

/* DP addresses */
#define DP_DPIDR 0x0
#define DP_ABORT 0x0
#define DP_CTRL 0x4
#define DP_SELECT 0x8
#define DP_RESEND 0x8
#define DP_RDBUFF 0xC
/* CTRL/STAT bits */
#define ORUNDETECT (1u << 0)
#define STICKYORUN (1u << 1)
#define TRNMODE_VERIFY (1u << 2)
#define TRNMODE_COMPARE (2u << 2)
#define STICKYCMP (1u << 4)
#define STICKYERR (1u << 5)
#define READOK (1u << 6)
#define WDATAERR (1u << 7)
#define MASKLANE_ALL (0xFu << 8)
#define CDBGRSTREQ (1u << 26)
#define CDBGRSTACK (1u << 27)
#define CDBGPWRUPREQ (1u << 28)
#define CDBGPWRUPACK (1u << 29)
#define CSYSPWRUPREQ (1u << 30)
#define CSYSPWRUPACK (1u << 31)
/* MEM-AP */
#define CSW 0x0
#define TAR 0x4
#define DRW 0xC
#define CSW_8 0x0u
#define CSW_16 0x1u
#define CSW_32 0x2u
#define CSW_INC (1u << 4)
#define CSW_PACKED (2u << 4)
#define CSW_BASEVAL 0x23000040u

enum { OK = LODE_SWD_ACK_OK, WAIT = LODE_SWD_ACK_WAIT, FAULT = LODE_SWD_ACK_FAULT,
       NONE = LODE_SWD_ACK_NONE };

typedef struct fix_s {
    sim_board_s *b;
    sim_swdp_s *dp;
} fix_s;

static fix_s fix_new(bool swj, uint32_t dpidr)
{
    fix_s f = {0};
    f.b = fakeboard_new(RAM_BASE, RAM_SIZE);
    sim_swdp_config_s cfg = {.dpidr = dpidr, .ap_idr = AP_IDR, .rom_base = ROM_BASE, .swj = swj};
    if (f.b)
        f.dp = simi_swdp_new(f.b, &cfg);
    return f;
}

static void fix_free(fix_s *f)
{
    CHECK_EQ(fakeboard_contract_violations(f->b), 0);
    simi_swdp_free(f->dp);
    fakeboard_free(f->b);
}

/* ---- wire helpers ---------------------------------------------------------------------- */
static const uint8_t ONES56[7] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
static const uint8_t ZEROS8[1] = {0x00};
static const uint8_t SEL_JTAG_TO_SWD[2] = {0x9E, 0xE7}; /* 0xE79E, LSB first */
static const uint8_t SEL_SWD_TO_JTAG[2] = {0x3C, 0xE7}; /* 0xE73C */

static void line_reset(sim_swdp_s *dp)
{
    simi_swdp_sequence(dp, 56, ONES56);
    simi_swdp_sequence(dp, 8, ZEROS8);
}

static void jtag_to_swd(sim_swdp_s *dp)
{
    simi_swdp_sequence(dp, 56, ONES56);
    simi_swdp_sequence(dp, 16, SEL_JTAG_TO_SWD);
    line_reset(dp);
}

static int dp_rd(sim_swdp_s *dp, uint8_t a, uint32_t *v)
{
    return simi_swdp_transfer(dp, false, true, a, v);
}

static int dp_wr(sim_swdp_s *dp, uint8_t a, uint32_t v)
{
    return simi_swdp_transfer(dp, false, false, a, &v);
}

static int ap_rd(sim_swdp_s *dp, uint8_t a, uint32_t *v)
{
    return simi_swdp_transfer(dp, true, true, a, v);
}

static int ap_wr(sim_swdp_s *dp, uint8_t a, uint32_t v)
{
    return simi_swdp_transfer(dp, true, false, a, &v);
}

static uint32_t ctrl(sim_swdp_s *dp)
{
    uint32_t v = 0xDEADBEEF;
    CHECK_EQ(dp_rd(dp, DP_CTRL, &v), OK);
    return v;
}

/* Line reset, DPIDR read, clear errors, power up, SELECT AP0 bank 0. */
static bool connect(sim_swdp_s *dp)
{
    uint32_t id = 0;
    line_reset(dp);
    if (dp_rd(dp, DP_DPIDR, &id) != OK)
        return false;
    return dp_wr(dp, DP_ABORT, 0x1E) == OK && dp_wr(dp, DP_SELECT, 0) == OK &&
           dp_wr(dp, DP_CTRL, CDBGPWRUPREQ | CSYSPWRUPREQ) == OK;
}

/* A complete (posted) AP read: AP read + RDBUFF. */
static int ap_read_now(sim_swdp_s *dp, uint8_t a, uint32_t *v)
{
    uint32_t stale;
    int ack = ap_rd(dp, a, &stale);
    if (ack != OK)
        return ack;
    return dp_rd(dp, DP_RDBUFF, v);
}

static uint32_t ram32(fix_s *f, uint32_t addr)
{
    uint8_t *p = fakeboard_ram(f->b, addr, 4);
    if (!p)
        return 0xBAD0BAD0u;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_ram32(fix_s *f, uint32_t addr, uint32_t v)
{
    uint8_t *p = fakeboard_ram(f->b, addr, 4);
    if (!p)
        return;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- tests ----------------------------------------------------------------------------- */
static void test_no_ack_before_line_reset(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    uint32_t v = 0x12345678;
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);
    CHECK_EQ(v, 0x12345678); /* not written without OK */
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x1E), NONE);
    CHECK_EQ(ap_rd(f.dp, 0xC, &v), NONE);
    CHECK(!simi_swdp_active(f.dp));

    /* 49 ones is not a line reset (and leaves the DP locked out). */
    static const uint8_t ones49[7] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    simi_swdp_sequence(f.dp, 49, ones49);
    simi_swdp_sequence(f.dp, 8, ZEROS8);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);
    fix_free(&f);
}

static void test_line_reset_dpidr(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    uint32_t v = 0;
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(v, DPIDR_M4);
    CHECK(simi_swdp_active(f.dp));
    /* Now other registers answer. */
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), OK);
    CHECK_EQ(v, 0);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0), OK);

    /* A line reset while active needs a new DPIDR read first. */
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), NONE); /* protocol error: locked out */
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE); /* still locked out */
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);

    /* Line reset split over many calls, one bit at a time, with no idle bits. */
    for (int i = 0; i < 52; i++)
        simi_swdp_sequence(f.dp, 1, ONES56);
    CHECK(!simi_swdp_active(f.dp));
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);

    /* Stray bits in SWD mode are a malformed request. */
    static const uint8_t stray[1] = {0x06}; /* 0,1,1,0,... */
    simi_swdp_sequence(f.dp, 8, stray);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    /* Idle zeros are fine. */
    simi_swdp_sequence(f.dp, 8, ZEROS8);
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), OK);
    CHECK(fakeboard_log_lines(f.b) > 0);
    fix_free(&f);
}

static void test_jtag_to_swd(void)
{
    fix_s f = fix_new(true, DPIDR_M3);
    REQUIRE(f.dp);
    uint32_t v = 0;
    /* SWJ-DP powers up in JTAG: a line reset alone does nothing. */
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);

    /* Select sequence without a following line reset: still no answer. */
    simi_swdp_sequence(f.dp, 56, ONES56);
    simi_swdp_sequence(f.dp, 16, SEL_JTAG_TO_SWD);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(v, DPIDR_M3);

    /* SWD-to-JTAG switches back. */
    simi_swdp_sequence(f.dp, 56, ONES56);
    simi_swdp_sequence(f.dp, 16, SEL_SWD_TO_JTAG);
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);

    /* The select sequence needs >= 50 ones in front of it. */
    static const uint8_t ones40[5] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    simi_swdp_sequence(f.dp, 40, ones40);
    simi_swdp_sequence(f.dp, 16, SEL_JTAG_TO_SWD);
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE);

    /* The usual one-buffer form: 56 ones, 0xE79E, 56 ones, 8 zeros. */
    static const uint8_t full[17] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x9E, 0xE7,
                                     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
    simi_swdp_sequence(f.dp, 136, full);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);

    /* JTAG-to-SWD sent again while already in SWD: works with its trailing line reset. */
    jtag_to_swd(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);

    /* An SW-DP-only part ignores the select sequence (but the line reset works). */
    fix_s g = fix_new(false, DPIDR_M4);
    REQUIRE(g.dp);
    jtag_to_swd(g.dp);
    CHECK_EQ(dp_rd(g.dp, DP_DPIDR, &v), OK);
    simi_swdp_sequence(g.dp, 56, ONES56);
    simi_swdp_sequence(g.dp, 16, SEL_SWD_TO_JTAG);
    line_reset(g.dp);
    CHECK_EQ(dp_rd(g.dp, DP_DPIDR, &v), OK);
    fix_free(&g);
    fix_free(&f);
}

static void test_power_handshake(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    line_reset(f.dp);
    uint32_t v;
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(ctrl(f.dp), 0);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ), OK);
    CHECK_EQ(ctrl(f.dp), CDBGPWRUPREQ | CDBGPWRUPACK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ | CSYSPWRUPREQ | CDBGRSTREQ), OK);
    CHECK_EQ(ctrl(f.dp), CDBGPWRUPREQ | CDBGPWRUPACK | CSYSPWRUPREQ | CSYSPWRUPACK |
                             CDBGRSTREQ | CDBGRSTACK);
    CHECK_EQ(simi_swdp_ctrl_stat(f.dp), ctrl(f.dp));
    /* ACK bits and sticky flags are read-only; READOK too. */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CSYSPWRUPACK | CDBGPWRUPACK | STICKYERR | READOK | WDATAERR), OK);
    CHECK_EQ(ctrl(f.dp), 0);
    /* TRNCNT/MASKLANE/TRNMODE are kept on a full DP. */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, (0xABCu << 12) | MASKLANE_ALL | TRNMODE_VERIFY | ORUNDETECT), OK);
    CHECK_EQ(ctrl(f.dp), (0xABCu << 12) | MASKLANE_ALL | TRNMODE_VERIFY | ORUNDETECT);
    fix_free(&f);

    /* ... and RAZ/WI on a minimal DP. */
    fix_s g = fix_new(false, DPIDR_M0P);
    REQUIRE(g.dp);
    line_reset(g.dp);
    CHECK_EQ(dp_rd(g.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(dp_wr(g.dp, DP_CTRL, (0xABCu << 12) | MASKLANE_ALL | TRNMODE_VERIFY | ORUNDETECT), OK);
    CHECK_EQ(ctrl(g.dp), ORUNDETECT);
    fix_free(&g);
}

static void test_ap_before_power_up(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    uint32_t v = 0x55;
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    unsigned acc = fakeboard_accesses(f.b);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), FAULT);
    CHECK(ctrl(f.dp) & STICKYERR);
    /* Further AP and non-exempt DP accesses fault until cleared. */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ | CSYSPWRUPREQ), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE);
    CHECK_EQ(fakeboard_accesses(f.b), acc); /* no bus traffic so far */
    /* Powering down again makes AP accesses fault; registers keep their values. */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, 0), OK);
    CHECK_EQ(ap_rd(f.dp, TAR, &v), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE);
    fix_free(&f);
}

static void test_ap_id_registers(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0;
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK);
    CHECK_EQ(v, CSW_BASEVAL);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0xF0), OK); /* APBANKSEL 0xF */
    CHECK_EQ(ap_read_now(f.dp, 0xC, &v), OK);
    CHECK_EQ(v, AP_IDR);
    CHECK_EQ(ap_read_now(f.dp, 0x8, &v), OK);
    CHECK_EQ(v, ROM_BASE);
    CHECK_EQ(ap_read_now(f.dp, 0x4, &v), OK);
    CHECK_EQ(v, 0); /* CFG: little-endian */
    CHECK_EQ(ap_wr(f.dp, 0xC, 0x1234), OK); /* IDR is read-only */
    CHECK_EQ(ap_read_now(f.dp, 0xC, &v), OK);
    CHECK_EQ(v, AP_IDR);
    /* Reserved AP registers read as zero. */
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x80), OK);
    CHECK_EQ(ap_read_now(f.dp, 0x4, &v), OK);
    CHECK_EQ(v, 0);
    /* DLCR (DPBANKSEL 1) */
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x01), OK);
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), OK);
    CHECK_EQ(v, 0x40);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x02), OK);
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), OK);
    CHECK_EQ(v, 0);
    fix_free(&f);
}

static void test_posted_reads(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    for (uint32_t i = 0; i < 4; i++)
        set_ram32(&f, RAM_BASE + 4 * i, 0x11111111u * (i + 1));
    uint32_t v = 0xFFFFFFFF;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), OK);
    /* First AP read: stale (reset value of the read buffer). */
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0);
    CHECK(ctrl(f.dp) & READOK);
    /* A DP read other than RDBUFF does not disturb the pending result. */
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), OK);
    CHECK_EQ(v, 0x11111111);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), OK); /* RDBUFF does not start a new AP read */
    CHECK_EQ(v, 0x11111111);
    CHECK_EQ(dp_rd(f.dp, DP_RESEND, &v), OK);
    CHECK_EQ(v, 0x11111111);

    /* Back-to-back reads pipeline: each returns the previous one's data. */
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0x11111111); /* stale: the previous AP read */
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0x22222222);
    CHECK_EQ(dp_rd(f.dp, DP_RESEND, &v), OK);
    CHECK_EQ(v, 0x22222222);
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0x33333333);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), OK);
    CHECK_EQ(v, 0x44444444);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 16);

    /* Writes are not posted in a way the debugger can see: they land at once. */
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x100), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xCAFEF00D), OK);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x100), 0xCAFEF00D);
    fix_free(&f);
}

/* Cortex-M3/M4 AHB-AP: auto-increment carries across 1 KiB and wraps at 4 KiB. */
static void test_tar_autoinc_wrap_4k(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    simi_swdp_free(f.dp);
    sim_swdp_config_s cfg = {.dpidr = DPIDR_M4, .ap_idr = AP_IDR, .rom_base = ROM_BASE, .tar_wrap = 0x1000};
    f.dp = simi_swdp_new(f.b, &cfg);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x3FC), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xB0B0B0B0), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xB1B1B1B1), OK); /* carried into the next 1 KiB */
    CHECK_EQ(ram32(&f, RAM_BASE + 0x3FC), 0xB0B0B0B0);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x400), 0xB1B1B1B1);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0xFFC), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 1), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE); /* wrapped at 4 KiB */
    sim_swdp_config_s bad = cfg;
    bad.tar_wrap = 0x600; /* not a power of two */
    CHECK(simi_swdp_new(f.b, &bad) == NULL);
    bad.tar_wrap = 0x200; /* below the ADIv5 minimum */
    CHECK(simi_swdp_new(f.b, &bad) == NULL);
    fix_free(&f);
}

static void test_tar_autoinc_wrap(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x3F8), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xA0A0A0A0), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xA1A1A1A1), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xA2A2A2A2), OK); /* TAR wrapped to the block start */
    CHECK_EQ(ram32(&f, RAM_BASE + 0x3F8), 0xA0A0A0A0);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x3FC), 0xA1A1A1A1);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x000), 0xA2A2A2A2);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x400), 0); /* never carried into the next block */
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 4);

    /* In the next block too: upper TAR bits never change. */
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x7FC), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 1), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 0x400);

    /* 16-bit increments by 2, 8-bit by 1; AddrInc off does not move TAR. */
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_16 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x3FE), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x12340000), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE);
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_8 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x77), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 1);
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 8), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 5), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 6), OK);
    CHECK_EQ(ram32(&f, RAM_BASE + 8), 6);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 8);
    fix_free(&f);
}

static void test_byte_lanes(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0;
    set_ram32(&f, RAM_BASE, 0x44332211);
    /* 8-bit write at +1: data on lane 1, other bytes untouched. */
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_8), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 1), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xEEEEABEE), OK);
    CHECK_EQ(ram32(&f, RAM_BASE), 0x4433AB11);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 3), OK);
    CHECK_EQ(ap_read_now(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0x44000000);
    /* 16-bit at +2 uses lanes 2-3. */
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_16), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 2), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xBEEF1234), OK);
    CHECK_EQ(ram32(&f, RAM_BASE), 0xBEEFAB11);
    CHECK_EQ(ap_read_now(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0xBEEF0000);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), OK);
    CHECK_EQ(ap_read_now(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0x0000AB11);
    CHECK_EQ(fakeboard_contract_violations(f.b), 0);

    /* Unaligned 16-bit / 32-bit accesses are bus errors. */
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 1), OK);
    unsigned acc = fakeboard_accesses(f.b);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x5555), OK);
    CHECK(ctrl(f.dp) & STICKYERR);
    CHECK_EQ(fakeboard_accesses(f.b), acc);
    CHECK_EQ(ram32(&f, RAM_BASE), 0xBEEFAB11);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 2), OK);
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK(ctrl(f.dp) & STICKYERR);
    fix_free(&f);
}

static void test_csw(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0;
    /* Prot bits kept, DeviceEn reads 1, packed reads back as off, Mode RAZ. */
    CHECK_EQ(ap_wr(f.dp, CSW, 0x7F000000u | CSW_PACKED | CSW_16 | 0xF00), OK);
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK);
    CHECK_EQ(v, 0x7F000000u | 0x40 | CSW_16);
    /* Unsupported sizes leave Size unchanged. */
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | 0x3), OK);
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK);
    CHECK_EQ(v, CSW_BASEVAL | CSW_16);
    /* Packed behaves as no increment. */
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_8 | CSW_PACKED), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x20), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x1), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 0x20);
    fix_free(&f);
}

static void test_banked_data(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x24), OK); /* TAR[3:0] is replaced */
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x10), OK);      /* APBANKSEL 1: BD0-BD3 */
    CHECK_EQ(ap_wr(f.dp, 0x0, 0xB0B0B0B0), OK);
    CHECK_EQ(ap_wr(f.dp, 0x8, 0xB2B2B2B2), OK);
    CHECK_EQ(ap_wr(f.dp, 0xC, 0xB3B3B3B3), OK);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x20), 0xB0B0B0B0);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x24), 0);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x28), 0xB2B2B2B2);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x2C), 0xB3B3B3B3);
    set_ram32(&f, RAM_BASE + 0x24, 0xB1B1B1B1);
    CHECK_EQ(ap_read_now(f.dp, 0x4, &v), OK);
    CHECK_EQ(v, 0xB1B1B1B1);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x00), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 0x24); /* no auto-increment on BDn */
    fix_free(&f);
}

static void test_bus_fault_sticky(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0x99;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    fakeboard_set_fault(f.b, RAM_BASE + 0x10, true);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0xC), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 1), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 2), OK); /* the failing transfer itself is OK ... */
    unsigned acc = fakeboard_accesses(f.b);
    CHECK_EQ(ap_wr(f.dp, DRW, 3), FAULT); /* ... the next one FAULTs and does nothing */
    CHECK_EQ(fakeboard_accesses(f.b), acc);
    CHECK_EQ(ram32(&f, RAM_BASE + 0xC), 1);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x14), 0);
    /* Exempt: DPIDR read, CTRL/STAT read, ABORT write. Everything else FAULTs. */
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    uint32_t cs = ctrl(f.dp);
    CHECK(cs & STICKYERR);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), FAULT);
    CHECK_EQ(dp_rd(f.dp, DP_RESEND, &v), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, 0), FAULT);
    CHECK_EQ(ap_rd(f.dp, TAR, &v), FAULT);
    CHECK_EQ(ctrl(f.dp) & CDBGPWRUPACK, CDBGPWRUPACK); /* the CTRL/STAT write was dropped */
    /* The wrong ABORT bits do not help. */
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x1A), OK);
    CHECK(ctrl(f.dp) & STICKYERR);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYERR, 0);
    /* TAR points at the failed access. */
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 0x10);

    /* A failing read: OK, returns stale data, READOK cleared, then RDBUFF FAULTs. */
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    uint32_t cs2 = ctrl(f.dp);
    CHECK(cs2 & STICKYERR);
    CHECK_EQ(cs2 & READOK, 0);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x1E), OK);
    fakeboard_set_fault(f.b, 0, false);
    CHECK_EQ(ap_read_now(f.dp, DRW, &v), OK);
    CHECK_EQ(v, 0);
    CHECK(ctrl(f.dp) & READOK);

    /* Outside RAM is a bus error as well. */
    CHECK_EQ(ap_wr(f.dp, TAR, 0x10000000), OK);
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), FAULT);
    fix_free(&f);
}

static void test_wdataerr(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x40), OK);
    simi_swdp_inject_wdata_parity(f.dp);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x12345678), OK); /* ACK OK, data phase bad */
    CHECK_EQ(ram32(&f, RAM_BASE + 0x40), 0);
    CHECK(ctrl(f.dp) & WDATAERR);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x12345678), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK); /* STKERRCLR is not WDERRCLR */
    CHECK(ctrl(f.dp) & WDATAERR);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x08), OK);
    CHECK_EQ(ctrl(f.dp) & WDATAERR, 0);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x12345678), OK);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x40), 0x12345678);
    /* Reads are not affected by a pending write parity error. */
    simi_swdp_inject_wdata_parity(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), OK);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0xF0), OK); /* dropped */
    CHECK(ctrl(f.dp) & WDATAERR);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x08), OK);
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK); /* still bank 0 */
    CHECK_EQ(v, CSW_BASEVAL | CSW_32);
    fix_free(&f);
}

static void test_orundetect(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v;
    /* Without ORUNDETECT, a WAIT leaves no trace. */
    simi_swdp_inject_wait(f.dp, 1);
    CHECK_EQ(ap_rd(f.dp, CSW, &v), WAIT);
    CHECK_EQ(ctrl(f.dp) & (STICKYORUN | READOK), 0);
    CHECK_EQ(ap_rd(f.dp, CSW, &v), OK);

    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ | CSYSPWRUPREQ | ORUNDETECT), OK);
    simi_swdp_inject_wait(f.dp, 1);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), WAIT);
    CHECK(ctrl(f.dp) & STICKYORUN);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), FAULT); /* overrun is sticky */
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK(ctrl(f.dp) & STICKYORUN);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x10), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYORUN, 0);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), OK);

    /* A FAULT with ORUNDETECT also sets STICKYORUN. */
    fakeboard_set_fault(f.b, RAM_BASE, true);
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK_EQ(ap_rd(f.dp, DRW, &v), FAULT);
    CHECK_EQ(ctrl(f.dp) & (STICKYERR | STICKYORUN), STICKYERR | STICKYORUN);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x1E), OK);
    CHECK_EQ(ctrl(f.dp) & (STICKYERR | STICKYORUN), 0);
    fix_free(&f);
}

static void test_inject_wait(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0x77;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x80), OK);
    simi_swdp_inject_wait(f.dp, 3);
    unsigned acc = fakeboard_accesses(f.b);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xABCD), WAIT);
    /* Always answered, and they do not use up the WAITs. */
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), OK);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x1E), OK);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), WAIT);
    v = 0x77;
    CHECK_EQ(ap_rd(f.dp, DRW, &v), WAIT);
    CHECK_EQ(v, 0x77);
    CHECK_EQ(fakeboard_accesses(f.b), acc);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x80), 0);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xABCD), OK);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x80), 0xABCD);

    /* DAPABORT abandons the stalled transaction. */
    simi_swdp_inject_wait(f.dp, 1000);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0), WAIT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x01), OK);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0), OK);
    /* inject_wait(0) clears. */
    simi_swdp_inject_wait(f.dp, 5);
    simi_swdp_inject_wait(f.dp, 0);
    CHECK_EQ(ap_rd(f.dp, CSW, &v), OK);
    /* CTRL/STAT writes can stall (only its reads are always answered). */
    simi_swdp_inject_wait(f.dp, 1);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, 0), WAIT);
    CHECK(ctrl(f.dp) & CDBGPWRUPACK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, 0), OK); /* debug power down */
    simi_swdp_inject_wait(f.dp, 1);
    CHECK_EQ(ap_rd(f.dp, CSW, &v), WAIT);  /* WAIT comes before the power check */
    CHECK_EQ(ap_rd(f.dp, CSW, &v), FAULT); /* powered down: FAULT + STICKYERR */
    CHECK(ctrl(f.dp) & STICKYERR);
    /* A sticky FAULT wins over WAIT and does not use the WAIT up. */
    simi_swdp_inject_wait(f.dp, 1);
    CHECK_EQ(ap_rd(f.dp, CSW, &v), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), WAIT);
    CHECK_EQ(dp_rd(f.dp, DP_RDBUFF, &v), OK);
    fix_free(&f);
}

static void test_inject_fault_range(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v;
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    simi_swdp_inject_fault_range(f.dp, RAM_BASE + 0x102, RAM_BASE + 0x105);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0xF8), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 1), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 2), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYERR, 0);
    CHECK_EQ(ap_wr(f.dp, DRW, 3), OK); /* 0x100..0x103 overlaps the range */
    CHECK(ctrl(f.dp) & STICKYERR);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x100), 0);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    /* Byte accesses just outside are fine, inside fault; BDn is covered too. */
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_8), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x101), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x5500), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYERR, 0);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x105), OK);
    CHECK_EQ(ap_rd(f.dp, DRW, &v), OK);
    CHECK(ctrl(f.dp) & STICKYERR);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x100), OK);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x10), OK);
    CHECK_EQ(ap_wr(f.dp, 0x4, 9), OK); /* BD1 = 0x104 */
    CHECK(ctrl(f.dp) & STICKYERR);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x04), OK);
    CHECK_EQ(ap_wr(f.dp, 0x8, 9), OK); /* BD2 = 0x108 */
    CHECK_EQ(ctrl(f.dp) & STICKYERR, 0);
    /* lo > hi clears. */
    simi_swdp_inject_fault_range(f.dp, 1, 0);
    CHECK_EQ(ap_wr(f.dp, 0x4, 9), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYERR, 0);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x104), 9);
    /* A range at the top of the address space. */
    simi_swdp_inject_fault_range(f.dp, 0xFFFFFFFC, 0xFFFFFFFF);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, 0xFFFFFFFC), OK);
    unsigned acc = fakeboard_accesses(f.b);
    CHECK_EQ(ap_wr(f.dp, DRW, 1), OK);
    CHECK_EQ(fakeboard_accesses(f.b), acc); /* refused before reaching the bus */
    CHECK(ctrl(f.dp) & STICKYERR);
    fix_free(&f);
}

static void test_nonexistent_ap(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v = 0x1234;
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x010000F0), OK); /* APSEL 1, bank 0xF */
    CHECK_EQ(ap_read_now(f.dp, 0xC, &v), OK);
    CHECK_EQ(v, 0); /* IDR 0: no AP */
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0x01000000), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), OK);
    unsigned acc = fakeboard_accesses(f.b);
    CHECK_EQ(ap_wr(f.dp, DRW, 0xFFFFFFFF), OK);
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK);
    CHECK_EQ(v, 0);
    CHECK_EQ(fakeboard_accesses(f.b), acc);
    CHECK_EQ(ctrl(f.dp) & STICKYERR, 0);
    /* AP 0 was not touched. */
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0xFF0000F0), OK);
    CHECK_EQ(ap_read_now(f.dp, 0xC, &v), OK);
    CHECK_EQ(v, 0);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0), OK);
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK);
    CHECK_EQ(v, CSW_BASEVAL);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, 0);
    fix_free(&f);
}

static void test_pushed_compare(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    REQUIRE(connect(f.dp));
    uint32_t v;
    set_ram32(&f, RAM_BASE + 0x200, 0x11223344);
    set_ram32(&f, RAM_BASE + 0x204, 0x55667788);
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_BASEVAL | CSW_32 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x200), OK);
    uint32_t base = CDBGPWRUPREQ | CSYSPWRUPREQ;
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, base | TRNMODE_VERIFY | MASKLANE_ALL), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x11223344), OK); /* verify: match, no flag, nothing written */
    CHECK_EQ(ctrl(f.dp) & STICKYCMP, 0);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x55667700), OK); /* mismatch in lane 0 */
    CHECK(ctrl(f.dp) & STICKYCMP);
    CHECK_EQ(ram32(&f, RAM_BASE + 0x204), 0x55667788);
    CHECK_EQ(ap_wr(f.dp, DRW, 0), FAULT);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x02), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYCMP, 0);
    /* Every AP write is pushed, TAR writes too: verifying TAR against another value. */
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x204), OK);
    CHECK(ctrl(f.dp) & STICKYCMP);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x02), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x208), OK); /* matches TAR: no flag */
    CHECK_EQ(ctrl(f.dp) & STICKYCMP, 0);
    /* Masking lane 0 out makes it match. */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, base), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x204), OK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, base | TRNMODE_VERIFY | (0xEu << 8)), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x55667700), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYCMP, 0);
    /* Compare: a match sets STICKYCMP. */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, base), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE + 0x200), OK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, base | TRNMODE_COMPARE | MASKLANE_ALL), OK);
    CHECK_EQ(ap_wr(f.dp, DRW, 0), OK);
    CHECK_EQ(ctrl(f.dp) & STICKYCMP, 0);
    CHECK_EQ(ap_wr(f.dp, DRW, 0x55667788), OK);
    CHECK(ctrl(f.dp) & STICKYCMP);
    CHECK_EQ(dp_wr(f.dp, DP_ABORT, 0x02), OK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, base), OK);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, RAM_BASE + 0x208); /* pushed reads auto-increment */
    fix_free(&f);
}

static void test_power_on_reset(void)
{
    fix_s f = fix_new(true, DPIDR_M3);
    REQUIRE(f.dp);
    uint32_t v;
    jtag_to_swd(f.dp);
    REQUIRE(dp_rd(f.dp, DP_DPIDR, &v) == OK);
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ | ORUNDETECT), OK);
    CHECK_EQ(ap_wr(f.dp, CSW, CSW_32 | CSW_INC), OK);
    CHECK_EQ(ap_wr(f.dp, TAR, RAM_BASE), OK);
    CHECK_EQ(dp_wr(f.dp, DP_SELECT, 0xF0), OK);
    simi_swdp_inject_wait(f.dp, 10);
    simi_swdp_power_on_reset(f.dp);
    CHECK(!simi_swdp_active(f.dp));
    CHECK_EQ(simi_swdp_ctrl_stat(f.dp), 0);
    line_reset(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), NONE); /* back in JTAG mode */
    jtag_to_swd(f.dp);
    CHECK_EQ(dp_rd(f.dp, DP_DPIDR, &v), OK);
    CHECK_EQ(ctrl(f.dp), 0); /* no WAITs left either */
    CHECK_EQ(dp_wr(f.dp, DP_CTRL, CDBGPWRUPREQ), OK);
    CHECK_EQ(ap_read_now(f.dp, CSW, &v), OK); /* SELECT is back to bank 0 */
    CHECK_EQ(v, CSW_BASEVAL);
    CHECK_EQ(ap_read_now(f.dp, TAR, &v), OK);
    CHECK_EQ(v, 0);
    fix_free(&f);
}

static void test_bad_arguments(void)
{
    fix_s f = fix_new(false, DPIDR_M4);
    REQUIRE(f.dp);
    uint32_t v = 0;
    CHECK(simi_swdp_new(NULL, NULL) == NULL);
    sim_swdp_config_s cfg = {0};
    CHECK(simi_swdp_new(NULL, &cfg) == NULL);
    CHECK(simi_swdp_new(f.b, NULL) == NULL);
    simi_swdp_free(NULL);
    simi_swdp_power_on_reset(NULL);
    simi_swdp_sequence(NULL, 8, ZEROS8);
    simi_swdp_sequence(f.dp, 64, NULL);
    simi_swdp_inject_wait(NULL, 1);
    simi_swdp_inject_fault_range(NULL, 0, 1);
    simi_swdp_inject_wdata_parity(NULL);
    CHECK_EQ(simi_swdp_ctrl_stat(NULL), 0);
    CHECK(!simi_swdp_active(NULL));
    CHECK_EQ(simi_swdp_transfer(NULL, false, true, 0, &v), NONE);
    line_reset(f.dp);
    CHECK_EQ(simi_swdp_transfer(f.dp, false, true, 0, NULL), NONE);
    CHECK_EQ(simi_swdp_transfer(f.dp, false, true, 0x10, &v), NONE);
    CHECK_EQ(simi_swdp_transfer(f.dp, false, true, 0x2, &v), NONE);
    /* Bad calls changed nothing: the DPIDR read after the line reset still works. */
    CHECK_EQ(simi_swdp_transfer(f.dp, false, true, 0, &v), OK);
    CHECK_EQ(v, DPIDR_M4);
    /* A zero-length sequence is harmless. */
    simi_swdp_sequence(f.dp, 0, ZEROS8);
    CHECK_EQ(dp_rd(f.dp, DP_CTRL, &v), OK);
    fix_free(&f);
}

int main(void)
{
    RUN_TEST(test_no_ack_before_line_reset);
    RUN_TEST(test_line_reset_dpidr);
    RUN_TEST(test_jtag_to_swd);
    RUN_TEST(test_power_handshake);
    RUN_TEST(test_ap_before_power_up);
    RUN_TEST(test_ap_id_registers);
    RUN_TEST(test_posted_reads);
    RUN_TEST(test_tar_autoinc_wrap);
    RUN_TEST(test_tar_autoinc_wrap_4k);
    RUN_TEST(test_byte_lanes);
    RUN_TEST(test_csw);
    RUN_TEST(test_banked_data);
    RUN_TEST(test_bus_fault_sticky);
    RUN_TEST(test_wdataerr);
    RUN_TEST(test_orundetect);
    RUN_TEST(test_inject_wait);
    RUN_TEST(test_inject_fault_range);
    RUN_TEST(test_nonexistent_ap);
    RUN_TEST(test_pushed_compare);
    RUN_TEST(test_power_on_reset);
    RUN_TEST(test_bad_arguments);
    return TEST_DONE();
}
