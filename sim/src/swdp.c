/* SPDX-License-Identifier: MIT */
/* ADIv5 SW-DP (DPv1) + AHB MEM-AP at the transfer level. See swdp.h for the interface.
 *
 * Written from ARM IHI 0031 (ADIv5.2): part B (debug port: B2.2 register descriptions,
 * chapter B4 SW-DP and the SWD protocol, chapter B5 SWJ-DP) and part C (MEM-AP, chapter
 * C2); AHB-AP details (IDR, CSW fields) from the Cortex-M3/M4 TRMs. Where the architecture
 * leaves a choice to the implementation, the decisions below say what this model does.
 *
 * Decisions in one place:
 *  1. Reset/lockout (B4, "line reset" / "protocol error"): after power-on an SW-DP-only part
 *     is locked out; an SWJ-DP is in JTAG mode. After a line reset only a DPIDR read is
 *     accepted; anything else is a protocol error: no ACK, locked out until the next line
 *     reset. Stray bits in an SWJ sequence while in SWD mode are a malformed request too.
 *  2. Sticky errors (B4 "FAULT response"): while STICKYERR, STICKYCMP, STICKYORUN or WDATAERR
 *     is set, every transfer except a DPIDR read, a CTRL/STAT read (DPBANKSEL 0) and an
 *     ABORT write is answered FAULT and has no effect.
 *  3. WAIT (B4 "WAIT response"): the same three transfers are never stalled, so a debugger
 *     can always read status and abort. Injected WAITs apply to all others.
 *  4. Overrun detection (B2.2.2 ORUNDETECT/STICKYORUN): with ORUNDETECT set, any WAIT or
 *     FAULT response sets STICKYORUN.
 *  5. A MEM-AP bus error does not FAULT the transfer that caused it: an SWD transfer is
 *     ACKed before its AP transaction completes, so the transfer is OK, the error sets
 *     STICKYERR (B2.2.2, C2 "errors"), and the *next* transfer that is not exempt FAULTs.
 *     This is also why debuggers read RDBUFF after a run of AP writes: that read FAULTs if
 *     one of the writes failed.
 *  6. AP access with the debug domain powered down (CDBGPWRUPACK = 0): ADIv5.2 (B2.3, power
 *     control requirements and operation) says a debugger must not start AP transactions
 *     before the ACK and does not define a response. This model answers FAULT and sets
 *     STICKYERR, so the usual "FAULT -> read CTRL/STAT -> clear via ABORT" recovery sees
 *     why (and "FAULT means a sticky flag is set" stays true). The AP
 *     registers keep their values across a debug power-down (on Cortex-M the AHB-AP is in
 *     the always-on part of the DAP). Only CDBGPWRUPACK gates AP access; the system domain
 *     of a running MCU is always up.
 *  7. Power ACKs follow their REQs at once (CSYSPWRUP, CDBGPWRUP, CDBGRST); CDBGRSTREQ has
 *     no other effect (Cortex-M parts do not reset anything on it).
 *  8. Posted AP reads (B4 read operations, B2.2.7 RDBUFF): an AP read returns the
 *     result of the previous AP read (0 after reset: "UNKNOWN") and starts a new one whose
 *     result goes to RDBUFF. An RDBUFF read returns that result without an AP access and
 *     may be repeated. After an AP or DP write the architecture makes RDBUFF UNKNOWN; this
 *     model keeps the old value. RESEND (B2.2.8) returns the value the last AP read or
 *     RDBUFF read put on the wire. READOK is 1 when the last AP read or RDBUFF read
 *     succeeded.
 *  9. MEM-AP (C2): 8/16/32-bit accesses on the byte lanes of the address; other read lanes
 *     are 0. An address not aligned to the access size is a bus error (Cortex-M3's AHB-AP
 *     can issue unaligned accesses through its bus matrix, but no debugger relies on that
 *     and the lane mapping is not architected; refusing them keeps lode honest).
 *     This MEM-AP has no packed transfers: CSW.AddrInc bit 5 is RAZ/WI, so writing 0b10
 *     reads back 0b00 (off) and a debugger probing for packed support sees "no".
 *     Unsupported CSW.Size values (64-bit and wider) are ignored (field unchanged).
 *     TAR increments by the size after each successful DRW access when AddrInc = single,
 *     wrapping inside its block (only the low TAR bits change). The architecture only
 *     guarantees increments within 1 KiB; the block is the core's own (config tar_wrap):
 *     4 KiB on the Cortex-M3/M4 AHB-AP, 1 KiB on Cortex-M0/M0+, as their TRMs give it.
 *     Debuggers rely on it (OpenOCD sets TAR once per 4 KiB on an M3/M4). After a failed
 *     access TAR is not incremented, so it points at the faulting address.
 * 10. APs other than 0 do not exist: all their registers read 0 (IDR 0 = no AP) and
 *     writes are ignored, with an OK response.
 * 11. Write-data parity errors cannot occur at this level; simi_swdp_inject_wdata_parity
 *     simulates one: the write is dropped and WDATAERR set (B2.2.2).
 * 12. Pushed verify / pushed compare (B2.2.2 TRNMODE, MASKLANE) are implemented unless
 *     DPIDR.MIN is set (then TRNMODE, MASKLANE and TRNCNT are RAZ/WI). TRNCNT is stored
 *     only. SELECT, DLCR and the sticky flags survive a line reset. */
#include "swdp.h"

#include <stdlib.h>

#include "lode/sim.h"

/* ---- register layout ------------------------------------------------------------------- */
#define DPIDR_MIN (1u << 16) /* minimal DP: no pushed operations, no TRNCNT/MASKLANE */
#define DPIDR_VERSION(v) (((v) >> 12) & 0xFu)

#define ABORT_DAPABORT (1u << 0)
#define ABORT_STKCMPCLR (1u << 1)
#define ABORT_STKERRCLR (1u << 2)
#define ABORT_WDERRCLR (1u << 3)
#define ABORT_ORUNERRCLR (1u << 4)

#define CS_ORUNDETECT (1u << 0)
#define CS_STICKYORUN (1u << 1)
#define CS_TRNMODE_SHIFT 2
#define CS_TRNMODE (3u << CS_TRNMODE_SHIFT)
#define CS_STICKYCMP (1u << 4)
#define CS_STICKYERR (1u << 5)
#define CS_READOK (1u << 6)
#define CS_WDATAERR (1u << 7)
#define CS_MASKLANE_SHIFT 8
#define CS_MASKLANE (0xFu << CS_MASKLANE_SHIFT)
#define CS_TRNCNT (0xFFFu << 12)
#define CS_CDBGRSTREQ (1u << 26)
#define CS_CDBGPWRUPREQ (1u << 28)
#define CS_CSYSPWRUPREQ (1u << 30)
#define CS_REQS (CS_CDBGRSTREQ | CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ)
#define CS_STICKY (CS_STICKYORUN | CS_STICKYCMP | CS_STICKYERR | CS_WDATAERR)

#define TRNMODE_NORMAL 0u
#define TRNMODE_VERIFY 1u
#define TRNMODE_COMPARE 2u

#define SELECT_APSEL(s) ((s) >> 24)
#define SELECT_APBANKSEL(s) ((s) & 0xF0u)
#define SELECT_DPBANKSEL(s) ((s) & 0x0Fu)
#define SELECT_MASK 0xFF0000FFu

#define DLCR_RES1 0x40u            /* bit 6 reads as one (former WIREMODE = synchronous) */
#define DLCR_TURNROUND (3u << 8)

/* AHB-AP CSW (Cortex-M3/M4 TRM, ADIv5.2 C2 "CSW") */
#define CSW_SIZE 0x7u
#define CSW_ADDRINC_SINGLE (1u << 4)
#define CSW_ADDRINC (3u << 4)
#define CSW_DEVICEEN (1u << 6)     /* DbgStatus: AHB transfers permitted, always on Cortex-M */
#define CSW_PROT (0x7Fu << 24)     /* HPROT / MasterType, kept as written */
#define CSW_WRITABLE (CSW_PROT | CSW_ADDRINC_SINGLE | CSW_SIZE) /* AddrInc bit 5: RAZ/WI */
/* Reset value: MasterType=debug, HPROT privileged data access, DeviceEn, Size=byte; the
 * value a Cortex-M4 AHB-AP reports before a debugger has written CSW. */
#define CSW_RESET 0x23000040u

#define AP_CSW 0x00u
#define AP_TAR 0x04u
#define AP_TAR_HI 0x08u
#define AP_DRW 0x0Cu
#define AP_BD0 0x10u
#define AP_BD3 0x1Cu
#define AP_CFG 0xF4u
#define AP_BASE 0xF8u
#define AP_IDR 0xFCu

#define LINE_RESET_ONES 50u

/* ---- state --------------------------------------------------------------------------- */
typedef enum link_e {
    LINK_JTAG = 0,  /* SWJ-DP with JTAG selected: SWD requests go unanswered */
    LINK_LOCKOUT,   /* SWD selected, protocol error state: nothing until a line reset */
    LINK_RESET,     /* line reset seen: only a DPIDR read is accepted */
    LINK_ACTIVE,
} link_e;

struct sim_swdp_s {
    sim_board_s *b;
    sim_swdp_config_s cfg;
    link_e link;

    /* SWJ sequence tracking */
    unsigned ones;  /* consecutive 1 bits so far (saturating) */
    unsigned cap_n; /* bits captured of a possible select sequence (0 = not capturing) */
    uint16_t cap;

    /* DP registers */
    uint32_t ctrl;   /* CTRL/STAT without the ACK bits (derived from the REQs) */
    uint32_t select;
    uint32_t dlcr;
    uint32_t rdbuff; /* result of the last AP read */
    uint32_t resend; /* value last returned by an AP read or RDBUFF read */

    /* MEM-AP (APSEL 0) */
    uint32_t csw;
    uint32_t tar;

    /* a write whose header was ACKed OK and whose data phase is still to come (wire layer) */
    bool wpending;
    bool wpending_ap;
    uint8_t wpending_a;

    /* fault injection */
    unsigned wait_left;
    bool wdata_parity;
    bool fault_on;
    uint32_t fault_lo, fault_hi;
};

static bool dp_min(const sim_swdp_s *dp)
{
    return (dp->cfg.dpidr & DPIDR_MIN) != 0;
}

static void regs_reset(sim_swdp_s *dp)
{
    dp->ctrl = 0;
    dp->select = 0; /* UNKNOWN at power-on in the architecture */
    dp->dlcr = DLCR_RES1;
    dp->rdbuff = 0;
    dp->resend = 0;
    dp->csw = CSW_RESET;
    dp->tar = 0;
}

static void lockout(sim_swdp_s *dp, const char *why)
{
    if (dp->link != LINK_LOCKOUT)
        simi_log(dp->b, LODE_LOG_DEBUG, "swdp: protocol error (%s): locked out until line reset",
                 why);
    dp->link = LINK_LOCKOUT;
}

/* ---- SWJ sequences --------------------------------------------------------------------- */
/* A complete 16-bit select sequence. Returns true when it switched the interface. */
static bool select_sequence(sim_swdp_s *dp, uint16_t seq)
{
    if (!dp->cfg.swj)
        return false; /* SW-DP only: no JTAG, no switching */
    if (seq == 0xE79Eu && dp->link == LINK_JTAG) {
        /* B5: after JTAG-to-SWD the SW-DP needs a line reset, then a DPIDR read. */
        dp->link = LINK_LOCKOUT;
        simi_log(dp->b, LODE_LOG_DEBUG, "swdp: JTAG-to-SWD: SWD selected");
        return true;
    }
    if (seq == 0xE73Cu && dp->link != LINK_JTAG) {
        dp->link = LINK_JTAG;
        simi_log(dp->b, LODE_LOG_DEBUG, "swdp: SWD-to-JTAG: JTAG selected");
        return true;
    }
    return false;
}

static void sequence_bit(sim_swdp_s *dp, unsigned bit)
{
    if (dp->cap_n) {
        dp->cap |= (uint16_t)(bit << dp->cap_n);
        if (++dp->cap_n == 16) {
            dp->cap_n = 0;
            if (select_sequence(dp, dp->cap)) {
                dp->ones = 0; /* the new interface starts counting from here */
                return;
            }
        }
    } else if (!bit && dp->ones >= LINE_RESET_ONES) {
        /* Both select sequences start with a 0 right after >= 50 ones (B5). */
        dp->cap = 0;
        dp->cap_n = 1;
    }

    if (bit) {
        if (dp->ones < LINE_RESET_ONES)
            dp->ones++;
        if (dp->ones == LINE_RESET_ONES && dp->link != LINK_JTAG && dp->link != LINK_RESET) {
            /* Line reset (B4): leaves the protocol error state; SELECT and the sticky
             * flags are not touched. */
            dp->link = LINK_RESET;
        }
    } else {
        /* A 1..49-long run of ones ended: in SWD mode that is the start of a request
         * header sent as raw bits, which this transfer-level model treats as malformed. */
        if (dp->ones && dp->ones < LINE_RESET_ONES && dp->link != LINK_JTAG)
            lockout(dp, "stray bits in an SWJ sequence");
        dp->ones = 0;
    }
}

void simi_swdp_sequence(sim_swdp_s *dp, unsigned bits, const uint8_t *data)
{
    if (!dp || !data)
        return;
    for (unsigned i = 0; i < bits; i++)
        sequence_bit(dp, (data[i / 8] >> (i % 8)) & 1u);
}

/* ---- MEM-AP ---------------------------------------------------------------------------- */
static unsigned csw_bytes(const sim_swdp_s *dp)
{
    return 1u << (dp->csw & CSW_SIZE); /* Size is only ever 0, 1 or 2 */
}

static uint32_t size_mask(unsigned bytes)
{
    return bytes >= 4 ? 0xFFFFFFFFu : (1u << (bytes * 8)) - 1u;
}

static bool in_fault_range(const sim_swdp_s *dp, uint32_t addr, unsigned bytes)
{
    if (!dp->fault_on)
        return false;
    uint32_t last = addr + (bytes - 1); /* aligned, so no wrap past 0xFFFFFFFF */
    return addr <= dp->fault_hi && last >= dp->fault_lo;
}

/* One bus access of CSW.Size at `addr`, data on the byte lanes of the address.
 * Returns false on a bus error. */
static bool mem_access(sim_swdp_s *dp, uint32_t addr, bool write, uint32_t *lanes)
{
    unsigned bytes = csw_bytes(dp);
    unsigned shift = (addr & 3u) * 8u;
    uint32_t mask = size_mask(bytes);

    if (addr & (bytes - 1u))
        return false; /* decision 9: unaligned -> bus error */
    if (in_fault_range(dp, addr, bytes))
        return false;
    if (write)
        return simi_bus_write(dp->b, addr, bytes, (*lanes >> shift) & mask, SIM_INIT_DAP) ==
               SIM_BUS_OK;
    uint32_t v = 0;
    if (simi_bus_read(dp->b, addr, bytes, &v, SIM_INIT_DAP) != SIM_BUS_OK)
        return false;
    *lanes = (v & mask) << shift;
    return true;
}

static void tar_increment(sim_swdp_s *dp)
{
    if ((dp->csw & CSW_ADDRINC) != CSW_ADDRINC_SINGLE)
        return;
    uint32_t block = dp->cfg.tar_wrap - 1u;
    uint32_t low = (dp->tar + csw_bytes(dp)) & block;
    dp->tar = (dp->tar & ~block) | low;
}

static void csw_write(sim_swdp_s *dp, uint32_t v)
{
    uint32_t keep = dp->csw & ~CSW_WRITABLE;
    uint32_t nv = v & CSW_WRITABLE;
    if ((v & CSW_SIZE) > 2u) /* 64/128/256-bit need the large data extension */
        nv = (nv & ~CSW_SIZE) | (dp->csw & CSW_SIZE);
    dp->csw = keep | nv;
}

/* Read AP register `reg` (APBANKSEL:A) of the selected AP. Returns false on a bus error. */
static bool ap_read(sim_swdp_s *dp, unsigned reg, uint32_t *val)
{
    *val = 0;
    if (SELECT_APSEL(dp->select) != 0)
        return true; /* decision 10: no such AP */
    switch (reg) {
    case AP_CSW: *val = dp->csw | CSW_DEVICEEN; return true;
    case AP_TAR: *val = dp->tar; return true;
    case AP_DRW:
        if (!mem_access(dp, dp->tar, false, val)) {
            *val = 0;
            return false;
        }
        tar_increment(dp);
        return true;
    case AP_CFG: *val = 0; return true; /* little-endian, no large address/data */
    case AP_BASE: *val = dp->cfg.rom_base; return true;
    case AP_IDR: *val = dp->cfg.ap_idr; return true;
    default: break;
    }
    if (reg >= AP_BD0 && reg <= AP_BD3) {
        /* Banked data (C2): address TAR[31:4] with [3:0] from the register, no increment. */
        if (!mem_access(dp, (dp->tar & ~0xFu) | (reg & 0xCu), false, val)) {
            *val = 0;
            return false;
        }
        return true;
    }
    return true; /* reserved (incl. TAR[63:32], MBT, BASE[63:32]): RAZ */
}

static bool ap_write(sim_swdp_s *dp, unsigned reg, uint32_t val)
{
    if (SELECT_APSEL(dp->select) != 0)
        return true;
    switch (reg) {
    case AP_CSW: csw_write(dp, val); return true;
    case AP_TAR: dp->tar = val; return true;
    case AP_DRW:
        if (!mem_access(dp, dp->tar, true, &val))
            return false;
        tar_increment(dp);
        return true;
    default: break;
    }
    if (reg >= AP_BD0 && reg <= AP_BD3)
        return mem_access(dp, (dp->tar & ~0xFu) | (reg & 0xCu), true, &val);
    return true; /* read-only or reserved: ignored */
}

/* Pushed verify / pushed compare (B2.2.2 TRNMODE, MASKLANE): the AP write becomes a read
 * of the same register, compared with the write data on the lanes MASKLANE selects. */
static void ap_pushed(sim_swdp_s *dp, unsigned reg, uint32_t wdata, unsigned mode)
{
    uint32_t rd;
    if (!ap_read(dp, reg, &rd)) {
        dp->ctrl |= CS_STICKYERR;
        return;
    }
    unsigned lanes = (dp->ctrl & CS_MASKLANE) >> CS_MASKLANE_SHIFT;
    uint32_t mask = 0;
    for (unsigned i = 0; i < 4; i++)
        if (lanes & (1u << i))
            mask |= 0xFFu << (8 * i);
    bool match = ((rd ^ wdata) & mask) == 0;
    if ((mode == TRNMODE_VERIFY && !match) || (mode == TRNMODE_COMPARE && match))
        dp->ctrl |= CS_STICKYCMP;
}

/* ---- DP registers ---------------------------------------------------------------------- */
uint32_t simi_swdp_ctrl_stat(const sim_swdp_s *dp)
{
    if (!dp)
        return 0;
    return dp->ctrl | ((dp->ctrl & CS_REQS) << 1); /* each ACK is the bit above its REQ */
}

bool simi_swdp_active(const sim_swdp_s *dp)
{
    return dp && dp->link == LINK_ACTIVE;
}

static uint32_t dp_read(sim_swdp_s *dp, uint8_t a)
{
    unsigned bank = SELECT_DPBANKSEL(dp->select);
    switch (a) {
    case 0x0: return dp->cfg.dpidr;
    case 0x4:
        if (bank == 0)
            return simi_swdp_ctrl_stat(dp);
        if (bank == 1)
            return dp->dlcr;
        if (bank == 3 && DPIDR_VERSION(dp->cfg.dpidr) >= 2)
            return 0x1u; /* DLPIDR: SWD protocol version 2, instance 0 */
        return 0;        /* TARGETID (not modelled), EVENTSTAT, reserved banks */
    case 0x8: return dp->resend;
    default: /* 0xC RDBUFF: no new AP transaction */
        dp->resend = dp->rdbuff;
        dp->ctrl |= CS_READOK;
        return dp->rdbuff;
    }
}

static void dp_write(sim_swdp_s *dp, uint8_t a, uint32_t v)
{
    switch (a) {
    case 0x0: /* ABORT (B2.2.1) */
        if (v & ABORT_DAPABORT)
            dp->wait_left = 0; /* the stalled AP transaction is abandoned */
        if (v & ABORT_STKCMPCLR)
            dp->ctrl &= ~CS_STICKYCMP;
        if (v & ABORT_STKERRCLR)
            dp->ctrl &= ~CS_STICKYERR;
        if (v & ABORT_WDERRCLR)
            dp->ctrl &= ~CS_WDATAERR;
        if (v & ABORT_ORUNERRCLR)
            dp->ctrl &= ~CS_STICKYORUN;
        break;
    case 0x4: {
        unsigned bank = SELECT_DPBANKSEL(dp->select);
        if (bank == 0) {
            /* CTRL/STAT (B2.2.2): on an SW-DP the sticky flags are read-only (cleared through
             * ABORT) and READOK is read-only. */
            uint32_t w = CS_REQS | CS_ORUNDETECT;
            if (!dp_min(dp))
                w |= CS_TRNCNT | CS_MASKLANE | CS_TRNMODE;
            dp->ctrl = (dp->ctrl & ~w) | (v & w);
        } else if (bank == 1) {
            /* DLCR: TURNROUND is stored; at transfer level the turnaround length has no
             * effect. */
            dp->dlcr = DLCR_RES1 | (v & DLCR_TURNROUND);
        }
        break;
    }
    case 0x8: dp->select = v & SELECT_MASK; break;
    default: break; /* 0xC: reserved in DPv1 (TARGETSEL outside the reset state in DPv2) */
    }
}

/* ---- transfers ------------------------------------------------------------------------- */
/* A WAIT or FAULT: no effect except overrun detection and READOK. */
static int refuse(sim_swdp_s *dp, int ack, bool read_with_data)
{
    if (dp->ctrl & CS_ORUNDETECT)
        dp->ctrl |= CS_STICKYORUN;
    if (read_with_data)
        dp->ctrl &= ~CS_READOK;
    return ack;
}

int simi_swdp_header(sim_swdp_s *dp, bool apndp, bool rnw, uint8_t a, uint32_t *data)
{
    if (!dp || !data || (a & ~0xCu))
        return LODE_SWD_ACK_NONE;
    dp->wpending = false;

    /* The request header has zeros in it: any run of ones and any select capture ends. */
    dp->ones = 0;
    dp->cap_n = 0;

    bool dpidr_read = !apndp && rnw && a == 0x0;
    switch (dp->link) {
    case LINK_JTAG:
    case LINK_LOCKOUT: return LODE_SWD_ACK_NONE;
    case LINK_RESET:
        if (!dpidr_read) {
            lockout(dp, "first transfer after line reset is not a DPIDR read");
            return LODE_SWD_ACK_NONE;
        }
        dp->link = LINK_ACTIVE;
        break;
    case LINK_ACTIVE: break;
    }

    /* Decisions 2 and 3: always answered. */
    bool exempt = dpidr_read || (!apndp && !rnw && a == 0x0) ||
                  (!apndp && rnw && a == 0x4 && SELECT_DPBANKSEL(dp->select) == 0);
    bool read_with_data = rnw && (apndp || a == 0xC); /* what READOK reports on */

    if (!exempt && (dp->ctrl & CS_STICKY))
        return refuse(dp, LODE_SWD_ACK_FAULT, read_with_data);
    if (!exempt && dp->wait_left) {
        dp->wait_left--;
        return refuse(dp, LODE_SWD_ACK_WAIT, read_with_data);
    }
    if (apndp && !(dp->ctrl & CS_CDBGPWRUPREQ)) { /* decision 6: ACK follows REQ */
        dp->ctrl |= CS_STICKYERR;
        return refuse(dp, LODE_SWD_ACK_FAULT, read_with_data);
    }

    if (!rnw) { /* the data phase comes after the ACK: simi_swdp_write_data */
        dp->wpending = true;
        dp->wpending_ap = apndp;
        dp->wpending_a = a;
        return LODE_SWD_ACK_OK;
    }
    if (!apndp) {
        *data = dp_read(dp, a);
        return LODE_SWD_ACK_OK;
    }

    unsigned reg = SELECT_APBANKSEL(dp->select) | a;
    {
        /* Decision 8: posted read. */
        uint32_t prev = dp->rdbuff, v;
        if (ap_read(dp, reg, &v)) {
            dp->ctrl |= CS_READOK;
        } else {
            dp->ctrl |= CS_STICKYERR; /* decision 5 */
            dp->ctrl &= ~CS_READOK;
        }
        dp->rdbuff = v;
        dp->resend = prev;
        *data = prev;
        return LODE_SWD_ACK_OK;
    }
}

void simi_swdp_write_data(sim_swdp_s *dp, uint32_t v, bool parity_ok)
{
    if (!dp || !dp->wpending)
        return;
    dp->wpending = false;
    if (!parity_ok || dp->wdata_parity) { /* decision 11: the ACK was OK, the data phase is bad */
        dp->wdata_parity = false;
        dp->ctrl |= CS_WDATAERR;
        return;
    }
    if (!dp->wpending_ap) {
        dp_write(dp, dp->wpending_a, v);
        return;
    }
    unsigned reg = SELECT_APBANKSEL(dp->select) | dp->wpending_a;
    unsigned mode = dp_min(dp) ? TRNMODE_NORMAL : (dp->ctrl & CS_TRNMODE) >> CS_TRNMODE_SHIFT;
    if (mode == TRNMODE_VERIFY || mode == TRNMODE_COMPARE)
        ap_pushed(dp, reg, v, mode);
    else if (!ap_write(dp, reg, v))
        dp->ctrl |= CS_STICKYERR; /* decision 5 */
}

int simi_swdp_transfer(sim_swdp_s *dp, bool apndp, bool rnw, uint8_t a, uint32_t *data)
{
    int ack = simi_swdp_header(dp, apndp, rnw, a, data);
    if (ack == LODE_SWD_ACK_OK && !rnw)
        simi_swdp_write_data(dp, *data, true);
    return ack;
}

simi_swd_link_e simi_swdp_link(const sim_swdp_s *dp)
{
    switch (dp ? dp->link : LINK_JTAG) {
    case LINK_JTAG: return SIMI_LINK_JTAG;
    case LINK_LOCKOUT: return SIMI_LINK_LOCKOUT;
    case LINK_RESET: return SIMI_LINK_RESET;
    default: return SIMI_LINK_ACTIVE;
    }
}

void simi_swdp_set_link(sim_swdp_s *dp, simi_swd_link_e link)
{
    if (!dp)
        return;
    dp->ones = 0;
    dp->cap_n = 0;
    dp->wpending = false;
    switch (link) {
    case SIMI_LINK_JTAG: dp->link = dp->cfg.swj ? LINK_JTAG : LINK_LOCKOUT; break;
    case SIMI_LINK_LOCKOUT: lockout(dp, "wire layer"); break;
    case SIMI_LINK_RESET: dp->link = LINK_RESET; break;
    case SIMI_LINK_ACTIVE: dp->link = LINK_ACTIVE; break;
    }
}

/* ---- life cycle and injection ---------------------------------------------------------- */
void simi_swdp_power_on_reset(sim_swdp_s *dp)
{
    if (!dp)
        return;
    regs_reset(dp);
    dp->link = dp->cfg.swj ? LINK_JTAG : LINK_LOCKOUT;
    dp->ones = 0;
    dp->cap_n = 0;
    dp->cap = 0;
    dp->wait_left = 0;
    dp->wdata_parity = false;
    dp->wpending = false;
}

sim_swdp_s *simi_swdp_new(sim_board_s *b, const sim_swdp_config_s *cfg)
{
    if (!b || !cfg || (cfg->tar_wrap & (cfg->tar_wrap - 1u)) || (cfg->tar_wrap && cfg->tar_wrap < 0x400u))
        return NULL;
    sim_swdp_s *dp = calloc(1, sizeof *dp);
    if (!dp)
        return NULL;
    dp->b = b;
    dp->cfg = *cfg;
    if (!dp->cfg.tar_wrap)
        dp->cfg.tar_wrap = 0x400u;
    simi_swdp_power_on_reset(dp);
    return dp;
}

void simi_swdp_free(sim_swdp_s *dp)
{
    free(dp);
}

void simi_swdp_inject_wait(sim_swdp_s *dp, unsigned transfers)
{
    if (dp)
        dp->wait_left = transfers;
}

void simi_swdp_inject_fault_range(sim_swdp_s *dp, uint32_t lo, uint32_t hi)
{
    if (!dp)
        return;
    dp->fault_on = lo <= hi;
    dp->fault_lo = lo;
    dp->fault_hi = hi;
}

void simi_swdp_inject_wdata_parity(sim_swdp_s *dp)
{
    if (dp)
        dp->wdata_parity = true;
}
