/* SPDX-License-Identifier: MIT */
/* The simulated J-Link (sim/src/sim_jlink.c): its commands as RM08001 gives them, the
 * HW_JTAG3 bit streams with the J-Link's sampling skew in front of the bit-level SWD target,
 * the byte-stream command parser, the USB timing model, SWO, VTref and target power. The
 * expected bytes are written out here from the manual, not taken from the model. */
#include "lode/sim.h"
#include "lode/transport.h"
#include "test.h"

#define F103_DPIDR 0x1BA01477u

static lode_sim_s *board(void)
{
    lode_sim_config_s sc = {.chip = "STM32F103C8"};
    lode_sim_s *sim = NULL;
    if (lode_sim_new(&sc, &sim) != LODE_OK) {
        fprintf(stderr, "lode_sim_new failed\n");
        exit(1);
    }
    return sim;
}

static uint32_t le32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

/* one command through the USB model; the reply (exactly `want` bytes expected) */
static size_t xfer(lode_sim_jlink_s *p, const uint8_t *cmd, size_t len, uint8_t *resp, size_t cap)
{
    if (lode_sim_jlink_usb_write(p, cmd, len) != LODE_OK)
        return (size_t)-1;
    size_t got = 0, total = 0;
    while (total < cap && lode_sim_jlink_usb_read(p, resp + total, cap - total, &got) == LODE_OK)
        total += got;
    return total;
}

static void test_info_commands(void)
{
    lode_sim_s *sim = board();
    lode_sim_jlink_s *p = NULL;
    lode_sim_jlink_config_s jc = {.serial = "123456789"};
    REQUIRE(lode_sim_jlink_new(sim, &jc, &p) == LODE_OK);
    uint8_t r[512];

    /* VERSION: u16 length, then the string */
    REQUIRE(xfer(p, (const uint8_t[]){0x01}, 1, r, sizeof r) == 2u + 0x70u);
    CHECK_EQ(r[0] | r[1] << 8, 0x70);
    CHECK(!strncmp((const char *)r + 2, "J-Link V11", 10));

    /* GET_CAPS: bit 1 HW version, 9 speeds, 11 free memory, 17 SELECT_IF, 23 SWO, 31 caps ex */
    REQUIRE(xfer(p, (const uint8_t[]){0xE8}, 1, r, sizeof r) == 4u);
    uint32_t caps = le32(r);
    CHECK((caps & 0x80820A03u) == 0x80820A03u);
    REQUIRE(xfer(p, (const uint8_t[]){0xED}, 1, r, sizeof r) == 32u);
    CHECK_EQ(le32(r), caps);

    /* GET_HW_VERSION: V11.00 of type 0 = 110000 */
    REQUIRE(xfer(p, (const uint8_t[]){0xF0}, 1, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 110000u);
    REQUIRE(xfer(p, (const uint8_t[]){0xD4}, 1, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 16384u);

    /* GET_STATE: VTref 3300 mV, nRESET high */
    REQUIRE(xfer(p, (const uint8_t[]){0x07}, 1, r, sizeof r) == 8u);
    CHECK_EQ(r[0] | r[1] << 8, 3300);
    CHECK_EQ(r[6], 1);
    /* HW_RESET0: nRESET low, seen in GET_STATE, the chip held in reset */
    REQUIRE(xfer(p, (const uint8_t[]){0xDC, 0x07}, 2, r, sizeof r) == 8u);
    CHECK_EQ(r[6], 0);
    REQUIRE(xfer(p, (const uint8_t[]){0xDD, 0x07}, 2, r, sizeof r) == 8u);
    CHECK_EQ(r[6], 1);

    /* GET_SPEEDS: base 60 MHz, divider >= 4; SET_SPEED clamps and rounds down */
    REQUIRE(xfer(p, (const uint8_t[]){0xC0}, 1, r, sizeof r) == 6u);
    CHECK_EQ(le32(r), 60000000u);
    CHECK_EQ(r[4] | r[5] << 8, 4);
    REQUIRE(xfer(p, (const uint8_t[]){0x05, 0xA0, 0x0F}, 3, r, sizeof r) == 0u); /* 4000 kHz */
    CHECK_EQ(lode_sim_jlink_speed_hz(p), 4000000u);
    REQUIRE(xfer(p, (const uint8_t[]){0x05, 0x50, 0xC3}, 3, r, sizeof r) == 0u); /* 50000 kHz */
    CHECK_EQ(lode_sim_jlink_speed_hz(p), 15000000u);
    REQUIRE(xfer(p, (const uint8_t[]){0x05, 0xB8, 0x0B}, 3, r, sizeof r) == 0u); /* 3000 kHz */
    CHECK_EQ(lode_sim_jlink_speed_hz(p), 3000000u);
    REQUIRE(xfer(p, (const uint8_t[]){0x05, 0xAC, 0x0D}, 3, r, sizeof r) == 0u); /* 3500: 60/18 */
    CHECK_EQ(lode_sim_jlink_speed_hz(p), 3333333u);

    /* SELECT_IF: available JTAG + SWD; select SWD answers the previous (JTAG) */
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0xFF}, 2, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 3u);
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0x01}, 2, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 0u);
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0xFE}, 2, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 1u);

    /* two commands in one transfer, one command over two transfers */
    REQUIRE(xfer(p, (const uint8_t[]){0xF0, 0xD4}, 2, r, sizeof r) == 8u);
    CHECK_EQ(le32(r), 110000u);
    CHECK_EQ(le32(r + 4), 16384u);
    REQUIRE(lode_sim_jlink_usb_write(p, (const uint8_t[]){0xC7}, 1) == LODE_OK);
    size_t got = 0;
    CHECK_EQ(lode_sim_jlink_usb_read(p, r, sizeof r, &got), LODE_E_TIMEOUT); /* not complete */
    REQUIRE(xfer(p, (const uint8_t[]){0xFE}, 1, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 1u);
    CHECK(!strcmp(lode_sim_jlink_serial(p), "123456789"));
    lode_sim_jlink_free(p);
    lode_sim_free(sim);
}

typedef struct jbits_s {
    uint8_t cmd[4 + 2 * 256];
    uint8_t dir[256], out[256];
    unsigned n;
} jbits_s;

static void jput(jbits_s *j, int drive, uint64_t v, unsigned bits)
{
    for (unsigned i = 0; i < bits; i++, j->n++) {
        if (drive)
            j->dir[j->n / 8] |= (uint8_t)(1u << (j->n % 8));
        if ((v >> i) & 1u)
            j->out[j->n / 8] |= (uint8_t)(1u << (j->n % 8));
    }
}

static size_t jcmd(jbits_s *j)
{
    size_t nb = (j->n + 7) / 8;
    j->cmd[0] = 0xCF;
    j->cmd[1] = 0;
    j->cmd[2] = (uint8_t)j->n;
    j->cmd[3] = (uint8_t)(j->n >> 8);
    memcpy(j->cmd + 4, j->dir, nb);
    memcpy(j->cmd + 4 + nb, j->out, nb);
    return 4 + 2 * nb;
}

static uint32_t in_bits(const uint8_t *in, unsigned pos, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)((in[(pos + i) / 8] >> ((pos + i) % 8)) & 1u) << i;
    return v;
}

/* JTAG-to-SWD, line reset, DPIDR read: the reply's ACK sits at the turnaround position */
static unsigned connect_bits(jbits_s *j)
{
    memset(j, 0, sizeof *j);
    jput(j, 1, ~0ull, 56);
    jput(j, 1, 0xE79E, 16);
    jput(j, 1, ~0ull, 56);
    jput(j, 1, 0, 2);
    unsigned req = j->n;
    jput(j, 1, 0xA5, 8);   /* DPIDR read (ADIv5.2 B4.2.1, worked out by hand) */
    jput(j, 0, 0, 1 + 3 + 33 + 1);
    jput(j, 1, 0, 8);
    return req;
}

static void test_swd_stream(void)
{
    for (int vt = 0; vt <= 1; vt++) {
        lode_sim_s *sim = board();
        lode_sim_jlink_s *p = NULL;
        lode_sim_jlink_config_s jc = {.vtref_off = vt == 0};
        REQUIRE(lode_sim_jlink_new(sim, &jc, &p) == LODE_OK);
        uint8_t r[600];
        REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0x01}, 2, r, sizeof r) == 4u);
        jbits_s j;
        unsigned req = connect_bits(&j);
        size_t len = jcmd(&j), nb = (j.n + 7) / 8;
        REQUIRE(xfer(p, j.cmd, len, r, sizeof r) == nb + 1);
        CHECK_EQ(r[nb], 0); /* status */
        if (vt == 0) {
            /* VTref 0 V: nothing reaches the target, the inputs read 0 */
            CHECK_EQ(in_bits(r, req + 8, 3), 0u);
            REQUIRE(xfer(p, (const uint8_t[]){0x07}, 1, r, sizeof r) == 8u);
            CHECK_EQ(r[0] | r[1] << 8, 0);
            /* target power on: the board comes up, VTref 3.3 V */
            REQUIRE(xfer(p, (const uint8_t[]){0x08, 0x01}, 2, r, sizeof r) == 0u);
            REQUIRE(xfer(p, (const uint8_t[]){0x07}, 1, r, sizeof r) == 8u);
            CHECK_EQ(r[0] | r[1] << 8, 3300);
            REQUIRE(xfer(p, j.cmd, len, r, sizeof r) == nb + 1);
        }
        /* the J-Link's skew: ACK (OK = 1,0,0) at the turnaround position, data 3 later */
        CHECK_EQ(in_bits(r, req + 8, 3), 1u);
        CHECK_EQ(in_bits(r, req + 11, 32), F103_DPIDR);
        lode_sim_jlink_stats_s st;
        lode_sim_jlink_stats(p, &st);
        CHECK_EQ(st.bits, (uint64_t)j.n); /* the unpowered command clocked nothing */
        lode_sim_jlink_free(p);
        lode_sim_free(sim);
    }
}

static void test_no_memory_and_jtag(void)
{
    lode_sim_s *sim = board();
    lode_sim_jlink_s *p = NULL;
    lode_sim_jlink_config_s jc = {.free_mem = 64};
    REQUIRE(lode_sim_jlink_new(sim, &jc, &p) == LODE_OK);
    uint8_t r[600];
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0x01}, 2, r, sizeof r) == 4u);
    jbits_s j;
    connect_bits(&j); /* 184 bits: 2 x 23 bytes fit in 64 */
    size_t len = jcmd(&j), nb = (j.n + 7) / 8;
    REQUIRE(xfer(p, j.cmd, len, r, sizeof r) == nb + 1);
    CHECK_EQ(r[nb], 0);
    /* 300 bits need 2 x 38 bytes: status 6 (no memory) */
    uint8_t big[4 + 76] = {0xCF, 0, 44, 1};
    REQUIRE(xfer(p, big, sizeof big, r, sizeof r) == 38u + 1u);
    CHECK_EQ(r[38], 6);
    lode_sim_jlink_free(p);
    lode_sim_free(sim);

    /* firmware without SWD: SELECT_IF offers JTAG only and SWD is not selected */
    sim = board();
    lode_sim_jlink_config_s jc2 = {.no_swd = true};
    REQUIRE(lode_sim_jlink_new(sim, &jc2, &p) == LODE_OK);
    REQUIRE(xfer(p, (const uint8_t[]){0xE8}, 1, r, sizeof r) == 4u);
    CHECK(!(le32(r) & (1u << 17)));
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0xFF}, 2, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 1u);
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0x01}, 2, r, sizeof r) == 4u);
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0xFE}, 2, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 0u);
    /* in JTAG mode the SWD request is TMS: no ACK, TDO reads 1 */
    unsigned req = connect_bits(&j);
    len = jcmd(&j);
    nb = (j.n + 7) / 8;
    REQUIRE(xfer(p, j.cmd, len, r, sizeof r) == nb + 1);
    CHECK_EQ(in_bits(r, req + 8, 3), 7u);
    lode_sim_jlink_free(p);
    lode_sim_free(sim);
}

static void test_usb_timing(void)
{
    /* a GET_CAPS round trip: two (micro)frames: 250 us at high speed, 2 ms at full speed */
    uint64_t dt[2];
    for (int hs = 0; hs <= 1; hs++) {
        lode_sim_s *sim = board();
        lode_sim_jlink_s *p = NULL;
        lode_sim_jlink_config_s jc = {.hw_major = hs ? 11u : 9u};
        REQUIRE(lode_sim_jlink_new(sim, &jc, &p) == LODE_OK);
        CHECK_EQ(lode_sim_jlink_high_speed(p), (bool)hs);
        uint8_t r[8];
        uint64_t t0 = lode_sim_now(sim);
        for (int i = 0; i < 10; i++)
            REQUIRE(xfer(p, (const uint8_t[]){0xE8}, 1, r, sizeof r) == 4u);
        dt[hs] = (lode_sim_now(sim) - t0) / 10;
        lode_sim_jlink_free(p);
        lode_sim_free(sim);
    }
    CHECK(dt[1] >= 200000000ull && dt[1] <= 300000000ull); /* ps */
    CHECK(dt[0] >= 1800000000ull && dt[0] <= 2200000000ull);
}

static void test_swo(void)
{
    lode_sim_s *sim = board();
    CHECK_EQ(lode_sim_load_elf(sim, LODE_FW_DIR "/itm-stm32f103.elf"), LODE_OK);
    lode_sim_power_on_reset(sim);
    /* halted while the capture is set up (the USB traffic takes virtual time) */
    CHECK_EQ(lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0003u), LODE_OK); /* C_HALT | C_DEBUGEN */
    lode_sim_jlink_s *p = NULL;
    REQUIRE(lode_sim_jlink_new(sim, NULL, &p) == LODE_OK);
    uint8_t r[256];
    /* SWO speeds (UART): length 28, then base frequency, dividers, prescalers */
    REQUIRE(xfer(p, (const uint8_t[]){0xEB, 0x6E, 4, 1, 0, 0, 0, 0, 0}, 9, r, sizeof r) == 28u);
    CHECK_EQ(le32(r), 28u);
    CHECK(le32(r + 8) > 0 && le32(r + 12) >= 1 && le32(r + 16) >= le32(r + 12));
    /* start: UART mode, 2 MBd, a 4 KiB buffer */
    const uint8_t start[21] = {0xEB, 0x64, 4, 1, 0, 0, 0, 0, 4, 2, 0x80, 0x84, 0x1E, 0, 4, 4, 0, 0x10, 0, 0, 0};
    REQUIRE(xfer(p, start, sizeof start, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 0u);
    CHECK_EQ(lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0001u), LODE_OK); /* resume */
    lode_sim_stop_e stop = LODE_SIM_STOP_BUDGET;
    for (int i = 0; i < 100 && stop == LODE_SIM_STOP_BUDGET; i++)
        stop = lode_sim_run(sim, 10000000000ull);
    CHECK_EQ(stop, LODE_SIM_STOP_HALTED);
    /* read up to 16 bytes, then the rest: the firmware's 10 byte writes + a word = 25 bytes */
    const uint8_t rd16[9] = {0xEB, 0x66, 4, 3, 16, 0, 0, 0, 0};
    REQUIRE(xfer(p, rd16, sizeof rd16, r, sizeof r) == 8u + 16u);
    CHECK_EQ(le32(r), 0u);
    CHECK_EQ(le32(r + 4), 16u);
    CHECK_EQ(r[8], 0x01); /* stimulus port 0, one byte */
    CHECK_EQ(r[9], 'I');
    const uint8_t rd64[9] = {0xEB, 0x66, 4, 3, 64, 0, 0, 0, 0};
    REQUIRE(xfer(p, rd64, sizeof rd64, r, sizeof r) == 8u + 9u);
    CHECK_EQ(le32(r + 4), 9u);
    REQUIRE(xfer(p, (const uint8_t[]){0xEB, 0x65, 0}, 3, r, sizeof r) == 4u);
    CHECK_EQ(le32(r), 0u);
    lode_sim_jlink_stats_s st;
    lode_sim_jlink_stats(p, &st);
    CHECK_EQ(st.swo_bytes, 25u);
    lode_sim_jlink_free(p);
    lode_sim_free(sim);
}

static void test_transport(void)
{
    lode_sim_s *sim = board();
    lode_sim_jlink_s *p = NULL;
    REQUIRE(lode_sim_jlink_new(sim, NULL, &p) == LODE_OK);
    lode_transport_s *t = NULL;
    REQUIRE(lode_sim_jlink_transport(p, &t) == LODE_OK);
    CHECK_EQ(t->kind, LODE_TRANSPORT_INPROC);
    CHECK_EQ(t->packet_size, 512u);
    CHECK_EQ(lode_transport_write(t, (const uint8_t[]){0xF0}, 1, 1000), LODE_OK);
    uint8_t r[8];
    size_t got = 0;
    CHECK_EQ(lode_transport_read(t, r, sizeof r, &got, 1000), LODE_OK);
    CHECK_EQ(got, 4u);
    CHECK_EQ(le32(r), 110000u);
    lode_transport_close(t);
    lode_sim_jlink_free(p);
    lode_sim_free(sim);
}

/* The board's and the wire's fault injections as a host sees them through HW_JTAG3: ACK
 * WAIT (0b010) and FAULT (0b100) at the skewed ACK position, a read with a wrong parity bit,
 * and no ACK at all (0b111) with the wires off. */
static void test_faults(void)
{
    lode_sim_s *sim = board();
    lode_sim_jlink_s *p = NULL;
    REQUIRE(lode_sim_jlink_new(sim, NULL, &p) == LODE_OK);
    uint8_t r[600];
    REQUIRE(xfer(p, (const uint8_t[]){0xC7, 0x01}, 2, r, sizeof r) == 4u);
    jbits_s j;
    unsigned req = connect_bits(&j);
    /* power-up request: DP CTRL/STAT write (header 0xA9) */
    jput(&j, 1, 0xA9, 8);
    jput(&j, 0, 0, 5);
    jput(&j, 1, 0x50000000u, 32);
    jput(&j, 1, 0, 1); /* parity of 0x50000000: two ones */
    jput(&j, 1, 0, 8);
    size_t len = jcmd(&j), nb = (j.n + 7) / 8;
    REQUIRE(xfer(p, j.cmd, len, r, sizeof r) == nb + 1);
    CHECK_EQ(in_bits(r, req + 8, 3), 1u);

    /* AP read of IDR (header 0x9F): an injected WAIT, then OK, then OK with a wrong parity
     * bit, then nothing with the wires off */
    for (int k = 0; k < 4; k++) {
        memset(&j, 0, sizeof j);
        unsigned at = j.n;
        jput(&j, 1, 0x9F, 8);
        if (k == 0) { /* WAIT has no data phase: the host drives again after the turnaround
                       * (a line left to the pull-up would be a start bit) */
            jput(&j, 0, 0, 1 + 3 + 1);
            jput(&j, 1, 0, 41);
        } else {
            jput(&j, 0, 0, 1 + 3 + 33 + 1);
            jput(&j, 1, 0, 8);
        }
        if (k == 0)
            lode_sim_inject_wait(sim, 5);
        if (k == 1)
            lode_sim_inject_wait(sim, 0);
        if (k == 2)
            lode_sim_swdwire_inject_parity(lode_sim_jlink_wire(p), 1);
        if (k == 3)
            lode_sim_inject_disconnect(sim, true);
        len = jcmd(&j);
        nb = (j.n + 7) / 8;
        REQUIRE(xfer(p, j.cmd, len, r, sizeof r) == nb + 1);
        unsigned want[4] = {2u, 1u, 1u, 7u};
        CHECK_EQ(in_bits(r, at + 8, 3), want[k]);
        if (k == 1 || k == 2) { /* data and its parity: wrong only when injected */
            uint32_t v = in_bits(r, at + 11, 32);
            unsigned par = in_bits(r, at + 43, 1), calc = 0;
            for (unsigned i = 0; i < 32; i++)
                calc ^= (v >> i) & 1u;
            CHECK_EQ(par ^ calc, k == 2 ? 1u : 0u);
        }
    }
    lode_sim_inject_disconnect(sim, false);
    lode_sim_jlink_free(p);
    lode_sim_free(sim);
}

int main(void)
{
    RUN_TEST(test_info_commands);
    RUN_TEST(test_swd_stream);
    RUN_TEST(test_no_memory_and_jtag);
    RUN_TEST(test_usb_timing);
    RUN_TEST(test_swo);
    RUN_TEST(test_transport);
    RUN_TEST(test_faults);
    return TEST_DONE();
}
