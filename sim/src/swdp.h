/* SPDX-License-Identifier: MIT */
/* The simulated board's debug port: an ADIv5 SW-DP (DPv1, as in the SWJ-DP / SW-DP of
 * Cortex-M3 and Cortex-M4) with one AHB MEM-AP at APSEL 0, modelled at the level of SWD
 * transfers (request + ACK + data), not of individual wire bits.
 *
 * Reference: ARM IHI 0031 (ADIv5.2); swdp.c says which part of it each rule comes from.
 *
 * What it models, in short:
 *  - link state: SWJ-DP parts start in JTAG mode and need the JTAG-to-SWD select sequence
 *    (0xE79E after >= 50 ones); SW-DP-only parts start locked out. Either way a line reset
 *    (>= 50 ones) must come next, and the first transfer after a line reset must be a DPIDR
 *    read, or the DP locks out (no ACK) until the next line reset.
 *  - DP registers DPIDR, ABORT, CTRL/STAT (power handshake, sticky flags, ORUNDETECT,
 *    READOK, pushed compare/verify), DLCR, SELECT, RESEND, RDBUFF.
 *  - FAULT for everything but a DPIDR read, CTRL/STAT read or ABORT write while a sticky
 *    error flag is set; posted AP reads; MEM-AP CSW/TAR/DRW/BD0-3/CFG/BASE/IDR; TAR
 *    auto-increment wrapping inside the core's block (1 or 4 KiB); bus errors -> STICKYERR.
 *
 * A system reset (nRST, SYSRESETREQ) does not reset the DP: only simi_swdp_power_on_reset
 * does. The DP charges no time; the board accounts for wire time around each call.
 * The DP never prints; it logs rare events (lockout, mode switches) through simi_log. */
#ifndef LODE_SIM_SWDP_H
#define LODE_SIM_SWDP_H

#include <stdbool.h>
#include <stdint.h>

#include "simi.h"

typedef struct sim_swdp_s sim_swdp_s;

typedef struct sim_swdp_config_s {
    uint32_t dpidr;    /* 0x1BA01477 Cortex-M3, 0x2BA01477 Cortex-M4 (DPv1) */
    uint32_t ap_idr;   /* AHB-AP IDR, 0x24770011 for the Cortex-M3/M4 AHB-AP */
    uint32_t rom_base; /* MEM-AP BASE register value, e.g. 0xE00FF003 */
    bool swj;          /* true: SWJ-DP (JTAG selected after power-on, e.g. STM32F1);
                        * false: SW-DP only (e.g. nRF52) */
    uint32_t tar_wrap; /* TAR auto-increment block in bytes, a power of two: 0x1000 for the
                        * Cortex-M3/M4 AHB-AP (their TRMs), 0x400 for Cortex-M0/M0+ and the
                        * ADIv5 minimum; 0 means 0x400 */
} sim_swdp_config_s;

/* Create a DP in its power-on state. `b` is borrowed and must outlive the DP (MEM-AP
 * accesses go to simi_bus_read/simi_bus_write on it). Returns NULL on bad arguments or
 * out of memory. */
sim_swdp_s *simi_swdp_new(sim_board_s *b, const sim_swdp_config_s *cfg);
void simi_swdp_free(sim_swdp_s *dp); /* accepts NULL */

/* One SWD transfer. `a` is A[3:2] as a byte address 0, 4, 8 or 0xC. For writes *data is the
 * write data; for reads *data receives the read data, written only when the ACK is OK.
 * Returns LODE_SWD_ACK_OK, _WAIT, _FAULT or _NONE (no ACK: the target did not drive the
 * line). A NULL dp/data or an `a` outside {0,4,8,0xC} returns _NONE and changes nothing. */
int simi_swdp_transfer(sim_swdp_s *dp, bool apndp, bool rnw, uint8_t a, uint32_t *data);

/* The same transfer in the two steps the wire has (the bit-level front end, swdwire.c): the
 * request header, answered with the ACK (a read's data in *data), and for a write ACKed OK
 * its data phase, which comes after the ACK: `parity_ok` false (or an injected parity error)
 * drops the write and sets WDATAERR. A header that is not followed by its data phase
 * leaves the write undone; the next header forgets it. */
int simi_swdp_header(sim_swdp_s *dp, bool apndp, bool rnw, uint8_t a, uint32_t *data);
void simi_swdp_write_data(sim_swdp_s *dp, uint32_t data, bool parity_ok);

/* The link state, for the wire layer (which parses requests only in RESET and ACTIVE, and
 * tracks the sequences the DP itself does not know: dormant, TARGETSEL). Setting JTAG on an
 * SW-DP-only part gives LOCKOUT. */
typedef enum simi_swd_link_e {
    SIMI_LINK_JTAG = 0, /* SWJ-DP with JTAG selected (or dormant, seen from here) */
    SIMI_LINK_LOCKOUT,  /* SWD, protocol error state: nothing until a line reset */
    SIMI_LINK_RESET,    /* SWD after a line reset: a DPIDR read is next */
    SIMI_LINK_ACTIVE,
} simi_swd_link_e;
simi_swd_link_e simi_swdp_link(const sim_swdp_s *dp);
void simi_swdp_set_link(sim_swdp_s *dp, simi_swd_link_e link);

/* `bits` clock cycles with SWDIO/TMS driven by `data`, LSB of data[0] first (the SWJ
 * sequence). Recognises line resets (>= 50 consecutive ones), the JTAG-to-SWD (0xE79E) and
 * SWD-to-JTAG (0xE73C) select sequences that follow >= 50 ones on an SWJ-DP, and treats any
 * other non-idle bits sent while in SWD mode as a malformed request (lockout until the next
 * line reset). State carries over between calls; a transfer ends any run of ones. */
void simi_swdp_sequence(sim_swdp_s *dp, unsigned bits, const uint8_t *data);

/* Power-on reset of the debug logic: all registers to their reset values, link back to
 * JTAG (SWJ-DP) or lockout (SW-DP). Pending injected WAITs and parity errors are dropped;
 * an injected fault range (a property of the bus) stays. */
void simi_swdp_power_on_reset(sim_swdp_s *dp);

/* ---- fault injection ---------------------------------------------------------------------- */
/* The next `transfers` transfers that a real DP may stall (everything except DPIDR reads,
 * CTRL/STAT reads and ABORT writes, which are always answered) ACK WAIT and have no effect.
 * A write of ABORT.DAPABORT abandons the stalled transaction and ends the WAITs. 0 clears. */
void simi_swdp_inject_wait(sim_swdp_s *dp, unsigned transfers);
/* MEM-AP accesses (DRW, BDn, pushed compares) touching a byte in [lo, hi] get a bus error
 * (-> CTRL/STAT.STICKYERR). lo > hi clears. */
void simi_swdp_inject_fault_range(sim_swdp_s *dp, uint32_t lo, uint32_t hi);
/* The next write transfer that is ACKed OK has a parity error in its data phase: the write
 * is discarded and CTRL/STAT.WDATAERR is set (ADIv5.2 B2.2.2 WDATAERR, chapter B4). */
void simi_swdp_inject_wdata_parity(sim_swdp_s *dp);

/* ---- inspection (no side effects) --------------------------------------------------------- */
/* CTRL/STAT as a debugger would read it (ACK bits included). */
uint32_t simi_swdp_ctrl_stat(const sim_swdp_s *dp);
/* True when the DP answers transfers (SWD selected, line reset done, DPIDR read). */
bool simi_swdp_active(const sim_swdp_s *dp);

#endif
