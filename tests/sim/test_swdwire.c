/* SPDX-License-Identifier: MIT */
/* The bit-level SWD front end (sim/src/swdwire.c) against hand-built bit vectors: the packet
 * layouts of ADIv5.2 B4.2 (request, turnaround, ACK, data, parity) and the sequences of
 * B4.3 / B5 (line reset, JTAG-to-SWD, dormant, TARGETSEL), written out here bit by bit. */
#include "lode/sim.h"
#include "test.h"

#define F103_DPIDR 0x1BA01477u

typedef struct bits_s {
    uint8_t dir[2048], out[2048], line[2048];
    size_t n;
} bits_s;

static void put(uint8_t *a, size_t i, unsigned v)
{
    if (v)
        a[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        a[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static unsigned bit_at(const uint8_t *a, size_t i) { return (a[i / 8] >> (i % 8)) & 1u; }

/* the host drives n bits of v, LSB first */
static void host(bits_s *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, b->n++) {
        put(b->dir, b->n, 1);
        put(b->out, b->n, (unsigned)(v >> i) & 1u);
    }
}

static void ones(bits_s *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        host(b, 1, 1);
}

/* the host's driver is off for n cycles */
static void off(bits_s *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++, b->n++) {
        put(b->dir, b->n, 0);
        put(b->out, b->n, 0);
    }
}

static uint32_t line_bits(const bits_s *b, size_t pos, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)bit_at(b->line, pos + i) << i;
    return v;
}

static unsigned par32(uint32_t v)
{
    unsigned p = 0;
    for (unsigned i = 0; i < 32; i++)
        p ^= (v >> i) & 1u;
    return p;
}

/* Request headers, LSB first (start, APnDP, RnW, A2, A3, parity, stop, park), worked out by
 * hand from B4.2.1: */
#define H_DPIDR_RD 0xA5u    /* 1 0 1 0 0 1 0 1 */
#define H_CTRL_WR 0xA9u     /* 1 0 0 1 0 1 0 1 : DP 0x4 write */
#define H_CTRL_RD 0x8Du     /* 1 0 1 1 0 0 0 1 : DP 0x4 read */
#define H_ABORT_WR 0x81u    /* 1 0 0 0 0 0 0 1 */
#define H_TARGETSEL 0x99u   /* 1 0 0 1 1 0 0 1 : DP 0xC write */
#define H_AP_IDR_RD 0x9Fu   /* 1 1 1 1 1 0 0 1 : AP 0xC read (IDR with APBANKSEL 0xF) */
#define H_SELECT_WR 0xB1u   /* 1 0 0 0 1 1 0 1 : DP 0x8 write */

/* a read packet: returns its position; ACK at +9, data at +12, parity at +44 */
static size_t rd(bits_s *b, uint8_t header)
{
    size_t p = b->n;
    host(b, header, 8);
    off(b, 1 + 3 + 33 + 1);
    return p;
}

/* a write packet with the given parity bit (par < 0: the right one) */
static size_t wr(bits_s *b, uint8_t header, uint32_t v, int par)
{
    size_t p = b->n;
    host(b, header, 8);
    off(b, 1 + 3 + 1);
    host(b, v, 32);
    host(b, par < 0 ? par32(v) : (unsigned)par, 1);
    return p;
}

static void line_reset(bits_s *b)
{
    ones(b, 56);
    host(b, 0, 2);
}

static void jtag_to_swd(bits_s *b)
{
    ones(b, 56);
    host(b, 0xE79E, 16);
    line_reset(b);
}

static void run(lode_sim_swdwire_s *w, bits_s *b)
{
    lode_sim_swdwire_clock(w, b->n, b->dir, b->out, b->line);
}

typedef struct evlog_s {
    lode_sim_swd_event_s ev[64];
    unsigned n;
} evlog_s;

static void on_event(void *user, const lode_sim_swd_event_s *ev)
{
    evlog_s *l = user;
    if (l->n < 64)
        l->ev[l->n++] = *ev;
}

static unsigned count_kind(const evlog_s *l, lode_sim_swd_ev_e k)
{
    unsigned c = 0;
    for (unsigned i = 0; i < l->n; i++)
        c += l->ev[i].kind == k;
    return c;
}

static lode_sim_s *board(void)
{
    lode_sim_config_s sc = {.chip = "STM32F103C8", .swd_hz = 4000000};
    lode_sim_s *sim = NULL;
    if (lode_sim_new(&sc, &sim) != LODE_OK) {
        fprintf(stderr, "lode_sim_new failed\n");
        exit(1);
    }
    return sim;
}

static void test_connect(void)
{
    lode_sim_s *sim = board();
    evlog_s log = {0};
    lode_sim_swdwire_config_s wc = {.event = on_event, .event_user = &log};
    lode_sim_swdwire_s *w = NULL;
    REQUIRE(lode_sim_swdwire_new(sim, &wc, &w) == LODE_OK);

    /* after power-on the SWJ-DP is in JTAG mode: a line reset alone is not enough */
    bits_s b = {0};
    line_reset(&b);
    size_t p0 = rd(&b, H_DPIDR_RD);
    run(w, &b);
    CHECK_EQ(line_bits(&b, p0 + 9, 3), 7u); /* nobody drives: the pull-up */

    /* JTAG-to-SWD, line reset, DPIDR read */
    uint64_t t0 = lode_sim_now(sim);
    memset(&b, 0, sizeof b);
    jtag_to_swd(&b);
    size_t p = rd(&b, H_DPIDR_RD);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, p + 8, 1), 1u);     /* turnaround: pull-up */
    CHECK_EQ(line_bits(&b, p + 9, 3), 1u);     /* ACK OK = 0b001, LSB first */
    CHECK_EQ(line_bits(&b, p + 12, 32), F103_DPIDR);
    CHECK_EQ(line_bits(&b, p + 44, 1), par32(F103_DPIDR));
    /* wire time: one SWD clock (250 ns at 4 MHz) per cycle */
    CHECK_EQ(lode_sim_now(sim) - t0, (uint64_t)b.n * 250000u);
    CHECK(count_kind(&log, LODE_SIM_SWD_EV_LINE_RESET) >= 3);
    CHECK_EQ(log.ev[log.n - 1].kind, LODE_SIM_SWD_EV_TRANSFER);
    CHECK_EQ(log.ev[log.n - 1].ack, LODE_SWD_ACK_OK);
    CHECK_EQ(log.ev[log.n - 1].data, F103_DPIDR);
    CHECK(log.ev[log.n - 1].rnw && !log.ev[log.n - 1].apndp);

    /* power-up request through CTRL/STAT, read back with the ACKs */
    memset(&b, 0, sizeof b);
    size_t pw = wr(&b, H_CTRL_WR, 0x50000000u, -1);
    host(&b, 0, 2);
    size_t pr = rd(&b, H_CTRL_RD);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pw + 9, 3), 1u);
    CHECK_EQ(line_bits(&b, pr + 9, 3), 1u);
    CHECK_EQ(line_bits(&b, pr + 12, 32) & 0xF0000000u, 0xF0000000u);

    /* the AHB-AP's IDR: SELECT APBANKSEL 0xF, then a posted read and RDBUFF */
    memset(&b, 0, sizeof b);
    wr(&b, H_SELECT_WR, 0x000000F0u, -1);
    host(&b, 0, 2);
    rd(&b, H_AP_IDR_RD);
    host(&b, 0, 8);
    size_t pb = rd(&b, 0xBDu); /* 1 0 1 1 1 1 0 1: DP 0xC read (RDBUFF) */
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pb + 9, 3), 1u);
    CHECK_EQ(line_bits(&b, pb + 12, 32), 0x24770011u);

    lode_sim_swdwire_stats_s st;
    lode_sim_swdwire_stats(w, &st);
    CHECK_EQ(st.contentions, 0u);
    CHECK_EQ(st.protocol_errors, 0u);
    lode_sim_swdwire_free(w);
    lode_sim_free(sim);
}

static lode_sim_swdwire_s *connected(lode_sim_s *sim, const lode_sim_swdwire_config_s *wc)
{
    lode_sim_swdwire_s *w = NULL;
    if (lode_sim_swdwire_new(sim, wc, &w) != LODE_OK) {
        fprintf(stderr, "lode_sim_swdwire_new failed\n");
        exit(1);
    }
    bits_s b = {0};
    jtag_to_swd(&b);
    size_t p = rd(&b, H_DPIDR_RD);
    host(&b, 0, 2);
    wr(&b, H_CTRL_WR, 0x50000000u, -1);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, p + 12, 32), F103_DPIDR);
    return w;
}

static void test_protocol_error(void)
{
    lode_sim_s *sim = board();
    evlog_s log = {0};
    lode_sim_swdwire_config_s wc = {.event = on_event, .event_user = &log};
    lode_sim_swdwire_s *w = connected(sim, &wc);

    /* a DPIDR read with the parity bit wrong: no response, and the target is locked out */
    bits_s b = {0};
    size_t p1 = rd(&b, H_DPIDR_RD ^ 0x20u);
    host(&b, 0, 2);
    size_t p2 = rd(&b, H_DPIDR_RD);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, p1 + 9, 3), 7u);
    CHECK_EQ(line_bits(&b, p2 + 9, 3), 7u);
    CHECK_EQ(count_kind(&log, LODE_SIM_SWD_EV_PROTOCOL_ERROR), 1u);

    /* a missing park bit is a protocol error too; a line reset and DPIDR read recover */
    memset(&b, 0, sizeof b);
    size_t p3 = rd(&b, H_DPIDR_RD & 0x7Fu);
    line_reset(&b);
    size_t p4 = rd(&b, H_DPIDR_RD);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, p3 + 9, 3), 7u);
    CHECK_EQ(line_bits(&b, p4 + 9, 3), 1u);
    CHECK_EQ(line_bits(&b, p4 + 12, 32), F103_DPIDR);

    /* after a line reset the first request must be a DPIDR read (B4.3.3) */
    memset(&b, 0, sizeof b);
    line_reset(&b);
    size_t p5 = rd(&b, H_CTRL_RD);
    host(&b, 0, 2);
    size_t p6 = rd(&b, H_DPIDR_RD);
    run(w, &b);
    CHECK_EQ(line_bits(&b, p5 + 9, 3), 7u);
    CHECK_EQ(line_bits(&b, p6 + 9, 3), 7u);
    lode_sim_swdwire_free(w);
    lode_sim_free(sim);
}

static void test_parity_wait_fault(void)
{
    lode_sim_s *sim = board();
    evlog_s log = {0};
    lode_sim_swdwire_config_s wc = {.event = on_event, .event_user = &log};
    lode_sim_swdwire_s *w = connected(sim, &wc);

    /* write data with a wrong parity bit: dropped, WDATAERR (bit 7) set */
    bits_s b = {0};
    size_t pw = wr(&b, H_SELECT_WR, 0x000000F0u, (int)!par32(0xF0u));
    host(&b, 0, 2);
    size_t pr = rd(&b, H_CTRL_RD);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pw + 9, 3), 1u); /* the ACK comes before the data */
    CHECK(line_bits(&b, pr + 12, 32) & 0x80u);
    lode_sim_swdwire_stats_s st;
    lode_sim_swdwire_stats(w, &st);
    CHECK_EQ(st.parity_errors, 1u);
    CHECK(!log.ev[log.n - 2].parity_ok);

    /* with a sticky flag set, an AP read is answered FAULT (0b100) and has no data phase:
     * the next header may follow the turnaround at once */
    memset(&b, 0, sizeof b);
    size_t pf = b.n;
    host(&b, H_AP_IDR_RD, 8);
    off(&b, 1 + 3 + 1);
    size_t pa = wr(&b, H_ABORT_WR, 0x1Eu, -1); /* clear all sticky flags */
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pf + 9, 3), 4u);
    CHECK_EQ(line_bits(&b, pa + 9, 3), 1u);

    /* WAIT (0b010) for an injected stall */
    lode_sim_inject_wait(sim, 1);
    memset(&b, 0, sizeof b);
    size_t pwt = b.n;
    host(&b, H_AP_IDR_RD, 8);
    off(&b, 1 + 3 + 1);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pwt + 9, 3), 2u);
    CHECK_EQ(log.ev[log.n - 1].ack, LODE_SWD_ACK_WAIT);

    /* a read whose parity is sent wrong (injected) */
    lode_sim_swdwire_inject_parity(w, 1);
    memset(&b, 0, sizeof b);
    size_t pp = rd(&b, H_DPIDR_RD);
    host(&b, 0, 2);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pp + 12, 32), F103_DPIDR);
    CHECK_EQ(line_bits(&b, pp + 44, 1), par32(F103_DPIDR) ^ 1u);

    /* disconnected wires: no ACK */
    lode_sim_inject_disconnect(sim, true);
    memset(&b, 0, sizeof b);
    size_t pd = rd(&b, H_DPIDR_RD);
    run(w, &b);
    CHECK_EQ(line_bits(&b, pd + 9, 3), 7u);
    lode_sim_swdwire_free(w);
    lode_sim_free(sim);
}

/* B5.3: 8 ones, the selection alert (128 bits, LSB of the first word first), 4 cycles low,
 * the SWD activation code 0x1A (8 bits) */
static void dormant_to_swd(bits_s *b)
{
    static const uint32_t alert[4] = {0x6209F392u, 0x86852D95u, 0xE3DDAFE9u, 0x19BC0EA2u};
    ones(b, 8);
    for (unsigned i = 0; i < 4; i++)
        host(b, alert[i], 32);
    host(b, 0, 4);
    host(b, 0x1A, 8);
    line_reset(b);
}

static void test_dormant(void)
{
    for (int capable = 0; capable <= 1; capable++) {
        lode_sim_s *sim = board();
        evlog_s log = {0};
        lode_sim_swdwire_config_s wc = {.dormant = capable, .event = on_event, .event_user = &log};
        lode_sim_swdwire_s *w = NULL;
        REQUIRE(lode_sim_swdwire_new(sim, &wc, &w) == LODE_OK);
        /* JTAG-to-dormant (>= 5 TMS ones, 0x33BBBBBA in 31 bits), then dormant-to-SWD */
        bits_s b = {0};
        ones(&b, 8);
        host(&b, 0x33BBBBBAu, 31);
        dormant_to_swd(&b);
        size_t p = rd(&b, H_DPIDR_RD);
        host(&b, 0, 2);
        run(w, &b);
        if (capable) {
            CHECK_EQ(line_bits(&b, p + 9, 3), 1u);
            CHECK_EQ(line_bits(&b, p + 12, 32), F103_DPIDR);
            CHECK_EQ(count_kind(&log, LODE_SIM_SWD_EV_TO_DORMANT), 1u);
            CHECK_EQ(count_kind(&log, LODE_SIM_SWD_EV_DORMANT_TO_SWD), 1u);
        } else { /* an SWJ-DP without dormant stays in JTAG mode */
            CHECK_EQ(line_bits(&b, p + 9, 3), 7u);
            CHECK_EQ(count_kind(&log, LODE_SIM_SWD_EV_DORMANT_TO_SWD), 0u);
        }
        if (capable) {
            /* SWD-to-dormant (line reset, 0xE3BC): requests go unanswered until woken */
            memset(&b, 0, sizeof b);
            ones(&b, 56);
            host(&b, 0xE3BC, 16);
            line_reset(&b);
            size_t q = rd(&b, H_DPIDR_RD);
            dormant_to_swd(&b);
            size_t r = rd(&b, H_DPIDR_RD);
            host(&b, 0, 2);
            run(w, &b);
            CHECK_EQ(line_bits(&b, q + 9, 3), 7u);
            CHECK_EQ(line_bits(&b, r + 9, 3), 1u);
            CHECK_EQ(count_kind(&log, LODE_SIM_SWD_EV_TO_DORMANT), 2u);
        }
        lode_sim_swdwire_free(w);
        lode_sim_free(sim);
    }
}

static void test_targetsel(void)
{
    const uint32_t tid = 0x01002927u; /* some TARGETID, instance 3 */
    for (int match = 0; match <= 1; match++) {
        lode_sim_s *sim = board();
        evlog_s log = {0};
        lode_sim_swdwire_config_s wc = {.multidrop = true, .targetid = tid, .instance = 3,
                                        .event = on_event, .event_user = &log};
        lode_sim_swdwire_s *w = connected(sim, &wc);
        bits_s b = {0};
        line_reset(&b);
        uint32_t sel = (tid & 0x0FFFFFFFu) | (match ? 3u : 5u) << 28;
        size_t pt = wr(&b, H_TARGETSEL, sel, -1);
        host(&b, 0, 2);
        size_t p = rd(&b, H_DPIDR_RD);
        host(&b, 0, 2);
        run(w, &b);
        CHECK_EQ(line_bits(&b, pt + 9, 3), 7u); /* TARGETSEL is never ACKed */
        CHECK_EQ(line_bits(&b, p + 9, 3), match ? 1u : 7u);
        REQUIRE(count_kind(&log, LODE_SIM_SWD_EV_TARGETSEL) == 1u);
        for (unsigned i = 0; i < log.n; i++)
            if (log.ev[i].kind == LODE_SIM_SWD_EV_TARGETSEL) {
                CHECK_EQ(log.ev[i].data, sel);
                CHECK_EQ(log.ev[i].selected, (bool)match);
            }
        lode_sim_swdwire_free(w);
        lode_sim_free(sim);
    }
}

int main(void)
{
    RUN_TEST(test_connect);
    RUN_TEST(test_protocol_error);
    RUN_TEST(test_parity_wait_fault);
    RUN_TEST(test_dormant);
    RUN_TEST(test_targetsel);
    return TEST_DONE();
}
