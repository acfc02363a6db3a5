/* SPDX-License-Identifier: MIT */
/* The SWD wire in front of the board's SW-DP (swdp.c): SWDIO/SWCLK cycle by cycle, as the
 * target's serial engine sees them. See lode/sim.h (lode_sim_swdwire_*) for the interface.
 *
 * Written from ARM IHI 0031 (ADIv5.2) chapter B4 (SWD protocol: packet request, turnaround,
 * ACK, data and parity, protocol errors, line reset, the protocol version 2 TARGETSEL
 * write) and chapter B5 (SWJ-DP: the JTAG-to-SWD / SWD-to-JTAG select sequences, dormant
 * state, the selection alert and activation codes).
 *
 * Decisions:
 *  1. Requests are parsed only while the DP is in SWD mode and not locked out (after a line
 *     reset). In JTAG mode, lockout or dormant the target only watches for sequences, so bits
 *     that happen to look like requests (inside a selection alert, a select sequence) are
 *     never answered. The DP itself (simi_swdp_sequence) finds line resets and the JTAG/SWD
 *     select sequences in every bit that is not part of an accepted request header.
 *  2. A header whose parity, stop or park bit is wrong is a protocol error (B4.2.4): the
 *     target does not drive the line, its bits go to the sequence detector (whose run of
 *     ones then ends in a 0: the DP locks out until a line reset).
 *  3. Turnaround is one cycle (DLCR.TURNROUND reset value). During it, and whenever nobody
 *     drives, SWDIO reads 1 (the pull-up ADIv5 requires). The target drives ACK (LSB first),
 *     a read's 32 data bits and parity; everything else is the host's.
 *  4. After WAIT or FAULT the packet ends after the turnaround, unless CTRL/STAT.ORUNDETECT
 *     is set: then the data phase follows as for OK (B4.2.3), undriven for reads.
 *  5. Write data parity is checked; a bad one drops the write and sets WDATAERR (the DP
 *     does that in simi_swdp_write_data).
 *  6. Dormant (config `dormant`, ADIv5.2 B5.3): SWD-to-dormant (>= 50 ones, 0xE3BC),
 *     JTAG-to-dormant (>= 5 ones, 0x33BBBBBA in 31 bits); out of dormant only the 128-bit
 *     selection alert, 4 cycles, then the SWD activation code 0x1A (8 bits; SWD selected,
 *     line reset next) or the JTAG one 0x00A (12 bits). Without `dormant` (the STM32F1's
 *     SWJ-DP and the nRF52's SW-DP predate it) those bits are just bits.
 *  7. Multidrop (config `multidrop`, protocol version 2): in the reset state a DP write to
 *     0xC is TARGETSEL. The target drives nothing for the 5 cycles of turnaround + ACK +
 *     turnaround, then takes the 33 data bits; a mismatch of TARGETID[27:0] and TINSTANCE
 *     (or a parity error) deselects it until the next line reset.
 *  8. Wire time: every cycle costs one SWD clock at the board's SWD frequency; the core runs
 *     for the cycles before a header reaches the DP, and for the rest at the end of a call.
 *  9. A start bit is a 1 after a 0 or right after a packet: the ones of a line reset, also
 *     those after the 50th, are never a request (a line reset ends with idle cycles).
 */
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "lode/sim.h"
#include "swdp.h"

#define LINE_RESET_ONES 50u

typedef enum phase_e {
    PH_IDLE = 0, /* host drives: idle bits, sequences, or a start bit */
    PH_REQ,      /* host drives the 8 request bits */
    PH_TRN1,     /* turnaround to the target */
    PH_ACK,      /* target drives 3 ACK bits */
    PH_RDATA,    /* target drives 32 data bits + parity (or nobody: overrun detection) */
    PH_TRN2,     /* turnaround back to the host */
    PH_WDATA,    /* host drives 32 data bits + parity */
    PH_TS_GAP,   /* TARGETSEL: 5 undriven cycles */
    PH_TS_DATA,  /* TARGETSEL: host drives 32 data bits + parity */
} phase_e;

/* ADIv5.2 B5.3.4: the selection alert, least significant bit first */
static const uint32_t alert_words[4] = {0x6209F392u, 0x86852D95u, 0xE3DDAFE9u, 0x19BC0EA2u};

struct lode_sim_swdwire_s {
    lode_sim_s *sim;
    sim_board_s *b;
    lode_sim_swdwire_config_s cfg;

    phase_e ph;
    unsigned n;           /* bits done in this phase */
    uint8_t req;          /* request bits so far */
    bool apndp, rnw;
    uint8_t a;
    int ack;
    bool data_phase;      /* WAIT/FAULT with overrun detection: a data phase without effect */
    uint32_t data;
    unsigned parity;
    bool flip_parity;     /* this read's parity bit is sent wrong (injected) */
    unsigned inject_parity;
    uint64_t req_cycle;

    /* sequences (host bits outside target phases) */
    unsigned ones;
    uint32_t seq;         /* last 32 host bits, newest in bit 31 */
    uint16_t hist[32];    /* `ones` after each of the last 32 host bits (ring) */
    unsigned hpos;
    bool can_start;       /* the previous host bit was 0, or a packet just ended */
    bool dormant;
    uint32_t alert[4];    /* last 128 bits in dormant state, newest in alert[3] bit 31 */
    unsigned act_n;       /* bits taken after a selection alert (0: none seen) */
    uint32_t act;

    uint64_t cycles, charged;
    lode_sim_swdwire_stats_s st;
};

static void emit(lode_sim_swdwire_s *w, lode_sim_swd_event_s *ev)
{
    if (w->cfg.event)
        w->cfg.event(w->cfg.event_user, ev);
}

static void emit_simple(lode_sim_swdwire_s *w, lode_sim_swd_ev_e kind)
{
    lode_sim_swd_event_s ev = {.kind = kind, .cycle = w->cycles};
    emit(w, &ev);
}

static void charge(lode_sim_swdwire_s *w)
{
    simi_board_wire_cycles(w->b, w->cycles - w->charged);
    w->charged = w->cycles;
}

static bool parity32(uint32_t v)
{
    v ^= v >> 16;
    v ^= v >> 8;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return v & 1u;
}

/* The level the target drives in the current phase position, -1 when it does not. */
static int target_bit(const lode_sim_swdwire_s *w)
{
    switch (w->ph) {
    case PH_ACK: return (w->ack >> w->n) & 1;
    case PH_RDATA:
        if (w->ack != LODE_SWD_ACK_OK)
            return -1;
        return w->n < 32 ? (int)((w->data >> w->n) & 1u) : (int)(parity32(w->data) ^ w->flip_parity);
    default: return -1;
    }
}

static bool host_phase(phase_e ph)
{
    return ph == PH_IDLE || ph == PH_REQ || ph == PH_WDATA || ph == PH_TS_DATA || ph == PH_TS_GAP;
}

static void go_dormant(lode_sim_swdwire_s *w)
{
    w->dormant = true;
    w->act_n = 0;
    memset(w->alert, 0, sizeof w->alert);
    w->ph = PH_IDLE;
    simi_swdp_set_link(w->b->dp, SIMI_LINK_LOCKOUT);
    emit_simple(w, LODE_SIM_SWD_EV_TO_DORMANT);
}

/* Dormant state: only the selection alert and an activation code count. */
static void dormant_bit(lode_sim_swdwire_s *w, unsigned bit)
{
    if (w->act_n) {
        if (w->act_n > 4) /* the 4 cycles after the alert are not part of the code */
            w->act |= (uint32_t)bit << (w->act_n - 5);
        w->act_n++;
        if (w->act_n == 4 + 8 + 1 && w->act == 0x1Au) {
            w->dormant = false;
            w->act_n = 0;
            simi_swdp_set_link(w->b->dp, SIMI_LINK_LOCKOUT); /* SWD, a line reset is next */
            emit_simple(w, LODE_SIM_SWD_EV_DORMANT_TO_SWD);
        } else if (w->act_n == 4 + 12 + 1) {
            w->act_n = 0;
            if (w->act == 0x00Au) {
                w->dormant = false;
                simi_swdp_set_link(w->b->dp, SIMI_LINK_JTAG);
                emit_simple(w, LODE_SIM_SWD_EV_DORMANT_TO_JTAG);
            }
        }
        return;
    }
    for (unsigned i = 0; i < 3; i++)
        w->alert[i] = w->alert[i] >> 1 | w->alert[i + 1] << 31;
    w->alert[3] = w->alert[3] >> 1 | (uint32_t)bit << 31;
    if (!memcmp(w->alert, alert_words, sizeof alert_words)) {
        w->act_n = 1;
        w->act = 0;
    }
}

/* A host bit outside the target's phases: line resets, dormant entry. Returns true when the
 * bit took the target into dormant state. */
static bool watch_bit(lode_sim_swdwire_s *w, unsigned bit)
{
    w->seq = w->seq >> 1 | (uint32_t)bit << 31;
    if (bit) {
        if (w->ones < 1000u)
            w->ones++;
        if (w->ones == LINE_RESET_ONES) {
            w->st.line_resets++;
            emit_simple(w, LODE_SIM_SWD_EV_LINE_RESET);
        }
    } else {
        w->ones = 0;
    }
    w->hist[w->hpos] = (uint16_t)w->ones;
    w->hpos = (w->hpos + 1u) & 31u;
    if (!w->cfg.dormant || w->dormant)
        return false;
    simi_swd_link_e link = simi_swdp_link(w->b->dp);
    /* the 16 bits of SWD-to-dormant after >= 50 ones: the run ended 16 bits ago */
    if (link != SIMI_LINK_JTAG && (w->seq >> 16) == 0xE3BCu && w->hist[(w->hpos - 17u) & 31u] >= LINE_RESET_ONES) {
        go_dormant(w);
        return true;
    }
    if (link == SIMI_LINK_JTAG && (w->seq >> 1) == 0x33BBBBBAu && w->hist[w->hpos] >= 5u) {
        go_dormant(w);
        return true;
    }
    return false;
}

static void packet_event(lode_sim_swdwire_s *w, bool data_phase, bool parity_ok)
{
    lode_sim_swd_event_s ev = {.kind = LODE_SIM_SWD_EV_TRANSFER, .cycle = w->req_cycle, .apndp = w->apndp,
                               .rnw = w->rnw, .a = w->a, .ack = w->ack, .data = w->data,
                               .data_phase = data_phase, .parity_ok = parity_ok, .header = w->req};
    emit(w, &ev);
}

/* The 8th request bit is in: check the header, then ask the DP. */
static void header_done(lode_sim_swdwire_s *w)
{
    unsigned r = w->req;
    bool apndp = (r >> 1) & 1u, rnw = (r >> 2) & 1u;
    unsigned a2 = (r >> 3) & 1u, a3 = (r >> 4) & 1u;
    bool par_ok = ((r >> 5) & 1u) == ((apndp + rnw + a2 + a3) & 1u);
    bool stop_ok = !((r >> 6) & 1u), park_ok = (r >> 7) & 1u;
    w->apndp = apndp;
    w->rnw = rnw;
    w->a = (uint8_t)(a2 << 2 | a3 << 3);
    w->n = 0;
    w->data = 0;
    if (!par_ok || !stop_ok || !park_ok) {
        /* decision 2 */
        w->st.protocol_errors++;
        lode_sim_swd_event_s ev = {.kind = LODE_SIM_SWD_EV_PROTOCOL_ERROR, .cycle = w->req_cycle,
                                   .apndp = apndp, .rnw = rnw, .a = w->a, .ack = LODE_SWD_ACK_NONE,
                                   .header = w->req};
        emit(w, &ev);
        uint8_t bits = w->req;
        simi_swdp_sequence(w->b->dp, 8, &bits);
        w->ph = PH_IDLE;
        w->can_start = !(bits >> 7); /* a start bit needs a 0 before it */
        return;
    }
    if (w->cfg.multidrop && !apndp && !rnw && w->a == 0xC && simi_swdp_link(w->b->dp) == SIMI_LINK_RESET) {
        w->ph = PH_TS_GAP; /* decision 7 */
        return;
    }
    charge(w);
    uint32_t v = 0;
    w->ack = simi_board_swd_header(w->b, apndp, rnw, w->a, &v);
    w->st.transfers++;
    if (w->ack != LODE_SWD_ACK_OK && w->ack != LODE_SWD_ACK_WAIT && w->ack != LODE_SWD_ACK_FAULT) {
        w->ack = LODE_SWD_ACK_NONE; /* the target stays off the line */
        packet_event(w, false, true);
        w->ph = PH_IDLE;
        w->can_start = false;
        return;
    }
    w->data = rnw && w->ack == LODE_SWD_ACK_OK ? v : 0;
    w->flip_parity = false;
    if (rnw && w->ack == LODE_SWD_ACK_OK && w->inject_parity) {
        w->inject_parity--;
        w->flip_parity = true;
    }
    /* decision 4: ORUNDETECT is CTRL/STAT bit 0 */
    w->data_phase = w->ack == LODE_SWD_ACK_OK || (simi_swdp_ctrl_stat(w->b->dp) & 1u);
    w->ph = PH_TRN1;
}

/* A host data bit (write data or TARGETSEL); true when the 33rd came in. */
static bool data_bit(lode_sim_swdwire_s *w, unsigned bit)
{
    if (w->n < 32)
        w->data |= (uint32_t)bit << w->n;
    else
        w->parity = bit;
    return ++w->n == 33;
}

static void step(lode_sim_swdwire_s *w, unsigned bit)
{
    switch (w->ph) {
    case PH_IDLE: {
        if (w->dormant) {
            dormant_bit(w, bit);
            break;
        }
        if (watch_bit(w, bit))
            break;
        simi_swd_link_e link = simi_swdp_link(w->b->dp);
        if (bit && w->can_start && (link == SIMI_LINK_RESET || link == SIMI_LINK_ACTIVE)) {
            w->ph = PH_REQ; /* a start bit (decisions 1, 9) */
            w->req = 1;
            w->n = 1;
            w->req_cycle = w->cycles - 1;
        } else {
            uint8_t b8 = (uint8_t)bit;
            simi_swdp_sequence(w->b->dp, 1, &b8);
            w->can_start = !bit;
        }
        break;
    }
    case PH_REQ:
        if (watch_bit(w, bit))
            break;
        w->req |= (uint8_t)(bit << w->n);
        if (++w->n == 8)
            header_done(w);
        break;
    case PH_TRN1:
        w->ph = PH_ACK;
        w->n = 0;
        break;
    case PH_ACK:
        if (++w->n == 3) {
            w->n = 0;
            w->ph = w->rnw && w->data_phase ? PH_RDATA : PH_TRN2;
        }
        break;
    case PH_RDATA:
        if (++w->n == 33) {
            w->n = 0;
            w->ph = PH_TRN2;
        }
        break;
    case PH_TRN2:
        w->n = 0;
        if (!w->rnw && w->data_phase) {
            w->ph = PH_WDATA;
            w->data = 0;
        } else {
            w->ph = PH_IDLE;
            w->can_start = true;
            packet_event(w, w->rnw && w->data_phase, !w->flip_parity);
        }
        break;
    case PH_WDATA:
        if (data_bit(w, bit)) {
            bool ok = w->parity == (unsigned)parity32(w->data);
            if (!ok)
                w->st.parity_errors++;
            if (w->ack == LODE_SWD_ACK_OK) {
                charge(w);
                simi_swdp_write_data(w->b->dp, w->data, ok);
            }
            w->ph = PH_IDLE;
            w->can_start = true;
            packet_event(w, true, ok);
        }
        break;
    case PH_TS_GAP:
        if (++w->n == 5) {
            w->n = 0;
            w->ph = PH_TS_DATA;
        }
        break;
    case PH_TS_DATA:
        if (data_bit(w, bit)) {
            bool ok = w->parity == (unsigned)parity32(w->data);
            bool match = ok && (w->data & 0x0FFFFFFFu) == (w->cfg.targetid & 0x0FFFFFFFu) &&
                         (w->data >> 28) == (w->cfg.instance & 0xFu);
            if (!match) /* deselected until the next line reset */
                simi_swdp_set_link(w->b->dp, SIMI_LINK_LOCKOUT);
            w->ph = PH_IDLE;
            w->can_start = true;
            lode_sim_swd_event_s ev = {.kind = LODE_SIM_SWD_EV_TARGETSEL, .cycle = w->req_cycle, .a = 0xC,
                                       .ack = LODE_SWD_ACK_NONE, .data = w->data, .data_phase = true,
                                       .parity_ok = ok, .selected = match, .header = w->req};
            emit(w, &ev);
        }
        break;
    }
}

void lode_sim_swdwire_clock(lode_sim_swdwire_s *w, size_t n, const uint8_t *dir, const uint8_t *out,
                            uint8_t *line)
{
    if (!w || !dir || !out)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned hd = (dir[i / 8] >> (i % 8)) & 1u, hb = (out[i / 8] >> (i % 8)) & 1u;
        int tb = target_bit(w);
        unsigned lv;
        if (hd) {
            lv = hb;
            if (tb >= 0)
                w->st.contentions++;
        } else {
            lv = tb >= 0 ? (unsigned)tb : 1u; /* the pull-up when nobody drives */
        }
        if (line) {
            if (lv)
                line[i / 8] |= (uint8_t)(1u << (i % 8));
            else
                line[i / 8] &= (uint8_t)~(1u << (i % 8));
        }
        w->cycles++;
        step(w, lv);
    }
    charge(w);
}

int lode_sim_swdwire_next(const lode_sim_swdwire_s *w)
{
    return w ? target_bit(w) : -1;
}

bool lode_sim_swdwire_host_turn(const lode_sim_swdwire_s *w)
{
    return w && host_phase(w->ph);
}

void lode_sim_swdwire_stats(const lode_sim_swdwire_s *w, lode_sim_swdwire_stats_s *out)
{
    if (w && out) {
        *out = w->st;
        out->cycles = w->cycles;
    }
}

void lode_sim_swdwire_inject_parity(lode_sim_swdwire_s *w, unsigned reads)
{
    if (w)
        w->inject_parity = reads;
}

int lode_sim_swdwire_new(lode_sim_s *sim, const lode_sim_swdwire_config_s *cfg, lode_sim_swdwire_s **out)
{
    if (!sim || !out)
        return LODE_E_INVALID_ARG;
    lode_sim_swdwire_s *w = calloc(1, sizeof *w);
    if (!w)
        return LODE_E_NOMEM;
    w->sim = sim;
    w->b = simi_board_of(sim);
    if (cfg)
        w->cfg = *cfg;
    *out = w;
    return LODE_OK;
}

void lode_sim_swdwire_free(lode_sim_swdwire_s *w) { free(w); }
