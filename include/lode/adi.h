/* SPDX-License-Identifier: MIT */
/* ADIv5 debug port / access port layer (ARM IHI 0031, ADIv5.2): DP and AP register access
 * queued on top of a probe's transfer interface (lode/dap.h), MEM-AP memory access, AP
 * identification and the CoreSight ROM table walk.
 *
 * Queued access: callers queue DP/AP reads and writes, then lode_adi_run() executes the
 * whole queue in as few ops->transfer (and ops->transfer_block) calls as it can and returns
 * the first error. A read's output is written only if that transfer completed. The layer
 * inserts SELECT writes itself (APSEL/APBANKSEL/DPBANKSEL, written only when they change)
 * and caches each AP's CSW and TAR; every error invalidates all caches.
 *
 * Errors: a FAULT from the target (sticky error) is recovered at once: CTRL/STAT is read,
 * the sticky flags are cleared through ABORT, the caches invalidated, and lode_adi_run()
 * returns LODE_E_FAULT (the log names the faulting address when it is known; see
 * lode_adi_fault_addr). WAIT after the probe's retries: ABORT.DAPABORT is written and
 * LODE_E_WAIT returned. Either way the next access works without a reconnect.
 *
 * A lode_adi_s is not thread-safe; it borrows `ops` and `log` (both must outlive it). */
#ifndef LODE_ADI_H
#define LODE_ADI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/dap.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_adi_s lode_adi_s;

/* ---- register numbers ----------------------------------------------------------------- */
/* DP registers: A[3:2] in bits 3:2, DPBANKSEL in bits 7:4 (only A = 0x4 is banked). */
#define LODE_DP_DPIDR 0x00u     /* read */
#define LODE_DP_ABORT 0x00u     /* write */
#define LODE_DP_CTRL_STAT 0x04u /* bank 0 */
#define LODE_DP_DLCR 0x14u      /* bank 1 */
#define LODE_DP_TARGETID 0x24u  /* bank 2 (DPv2) */
#define LODE_DP_DLPIDR 0x34u    /* bank 3 (DPv2) */
#define LODE_DP_EVENTSTAT 0x44u /* bank 4 (DPv2) */
#define LODE_DP_RESEND 0x08u    /* read */
#define LODE_DP_SELECT 0x08u    /* write */
#define LODE_DP_RDBUFF 0x0Cu    /* read */

/* AP registers: the full 8-bit register address (APBANKSEL = bits 7:4, A[3:2] = bits 3:2). */
#define LODE_AP_CSW 0x00u
#define LODE_AP_TAR 0x04u
#define LODE_AP_DRW 0x0Cu
#define LODE_AP_BD0 0x10u
#define LODE_AP_BD1 0x14u
#define LODE_AP_BD2 0x18u
#define LODE_AP_BD3 0x1Cu
#define LODE_AP_CFG 0xF4u
#define LODE_AP_BASE 0xF8u
#define LODE_AP_IDR 0xFCu

/* ABORT bits (ADIv5.2 B2.2.1) */
#define LODE_DP_ABORT_DAPABORT (1u << 0)
#define LODE_DP_ABORT_STKCMPCLR (1u << 1)
#define LODE_DP_ABORT_STKERRCLR (1u << 2)
#define LODE_DP_ABORT_WDERRCLR (1u << 3)
#define LODE_DP_ABORT_ORUNERRCLR (1u << 4)
#define LODE_DP_ABORT_CLEAR_ALL 0x1Eu /* all four sticky-flag clears */

/* CTRL/STAT bits (ADIv5.2 B2.2.2) */
#define LODE_DP_CS_ORUNDETECT (1u << 0)
#define LODE_DP_CS_STICKYORUN (1u << 1)
#define LODE_DP_CS_STICKYCMP (1u << 4)
#define LODE_DP_CS_STICKYERR (1u << 5)
#define LODE_DP_CS_READOK (1u << 6)
#define LODE_DP_CS_WDATAERR (1u << 7)
#define LODE_DP_CS_CDBGRSTREQ (1u << 26)
#define LODE_DP_CS_CDBGRSTACK (1u << 27)
#define LODE_DP_CS_CDBGPWRUPREQ (1u << 28)
#define LODE_DP_CS_CDBGPWRUPACK (1u << 29)
#define LODE_DP_CS_CSYSPWRUPREQ (1u << 30)
#define LODE_DP_CS_CSYSPWRUPACK (1u << 31)

/* MEM-AP CSW fields (ADIv5.2 C2.6.4) */
#define LODE_AP_CSW_SIZE8 0x0u
#define LODE_AP_CSW_SIZE16 0x1u
#define LODE_AP_CSW_SIZE32 0x2u
#define LODE_AP_CSW_ADDRINC_SINGLE (1u << 4)
#define LODE_AP_CSW_DEVICEEN (1u << 6)

/* AP IDR fields (ADIv5.2 C1.2 / C2.6.8): CLASS 0x8 = MEM-AP. */
#define LODE_AP_IDR_CLASS(idr) (((idr) >> 13) & 0xFu)
#define LODE_AP_IDR_TYPE(idr) ((idr) & 0xFu)
#define LODE_AP_CLASS_MEM 0x8u

/* Queue bound: lode_adi_run() must be called before this many transfers are queued
 * (beyond it the queue refuses entries and run returns LODE_E_NOMEM). */
#define LODE_ADI_QUEUE_MAX 65536u

/* ---- life cycle ------------------------------------------------------------------------ */
/* `ops` (transfer, swj_sequence and write_abort are required) and `log` (may be NULL) are
 * borrowed until lode_adi_free(). */
int lode_adi_new(const lode_dap_ops_s *ops, const lode_log_s *log, lode_adi_s **out);
void lode_adi_free(lode_adi_s *adi); /* accepts NULL */

/* Select SWD and bring the debug port up: line reset, JTAG-to-SWD, line reset, idle, DPIDR
 * read, sticky errors cleared, debug and system power-up requested and acknowledged.
 * LODE_E_TIMEOUT if the power-up ACKs do not come; LODE_E_PROTOCOL if the DP does not
 * answer. Logs the DPIDR (info). */
int lode_adi_connect(lode_adi_s *adi);
/* DPIDR read by the last successful connect (0 before). */
uint32_t lode_adi_dpidr(const lode_adi_s *adi);

/* Forget SELECT, CSW and TAR (e.g. after something else used the probe). */
void lode_adi_invalidate(lode_adi_s *adi);

/* ---- queued register access --------------------------------------------------------------
 * The queue functions record the first problem (bad register, queue full) and
 * lode_adi_run() returns it; `out` pointers must stay valid until the run. */
void lode_adi_queue_dp_read(lode_adi_s *adi, unsigned reg, uint32_t *out);
void lode_adi_queue_dp_write(lode_adi_s *adi, unsigned reg, uint32_t value);
void lode_adi_queue_ap_read(lode_adi_s *adi, unsigned ap, unsigned reg, uint32_t *out);
void lode_adi_queue_ap_write(lode_adi_s *adi, unsigned ap, unsigned reg, uint32_t value);
/* One aligned 32-bit MEM-AP access (uses TAR caching and the banked data registers). */
void lode_adi_queue_read32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t *out);
void lode_adi_queue_write32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t value);
/* A 32-bit word the probe reads until (word & mask) == want (CMSIS-DAP value match; only for
 * lode_adi_submit runs, whose probes take match requests): a miss fails the run with
 * LODE_E_TIMEOUT and nothing after it in the run is executed. */
void lode_adi_queue_match32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t mask, uint32_t want);
/* Execute everything queued, empty the queue, return the first error. */
int lode_adi_run(lode_adi_s *adi);
/* Pipelined runs (when the probe can: lode_adi_can_submit): lode_adi_submit sends what is
 * queued (single transfers, no blocks; at most one probe command's worth, else LODE_E_RANGE)
 * without waiting, lode_adi_collect waits for the oldest submitted run, fills its `out`
 * pointers and returns its outcome as lode_adi_run would (with the same recovery). At most
 * lode_adi_can_submit() runs are outstanding (LODE_E_STATE beyond). Synchronous runs may be
 * mixed in; they execute after what was submitted. */
unsigned lode_adi_can_submit(const lode_adi_s *adi);
/* The probe merges submitted runs into one command when the first is collected
 * (lode_dap_ops_s.submit_merges): nothing submitted overlaps another round trip. */
bool lode_adi_submit_merges(const lode_adi_s *adi);
/* true when single accesses at scattered addresses in one run cost a fixed number of round
 * trips (lode_dap_ops_s.batches: the ST-Link's RW_MISC): queue them together */
bool lode_adi_batches(const lode_adi_s *adi);
int lode_adi_submit(lode_adi_s *adi);
int lode_adi_collect(lode_adi_s *adi);
unsigned lode_adi_pending(const lode_adi_s *adi);

/* After lode_adi_run() returned LODE_E_FAULT: the bus address that faulted, when the layer
 * knows it (read back from the MEM-AP's TAR during recovery). */
bool lode_adi_fault_addr(const lode_adi_s *adi, uint32_t *addr);

/* Counters for tests and benchmarks. */
typedef struct lode_adi_stats_s {
    uint64_t batches;       /* ops->transfer + ops->transfer_block calls */
    uint64_t transfers;     /* transfers handed to the probe (block words included) */
    uint64_t select_writes; /* SELECT writes the layer inserted */
    uint64_t faults, waits; /* recoveries */
} lode_adi_stats_s;
void lode_adi_stats(const lode_adi_s *adi, lode_adi_stats_s *out);

/* ---- MEM-AP ------------------------------------------------------------------------------ */
/* Any address and length: 32-bit (block) accesses for the aligned middle, 8/16-bit
 * accesses on the right byte lanes for the edges, TAR rewritten at each 1 KiB boundary.
 * LODE_E_RANGE if addr + len passes 4 GiB. Runs anything queued before. On an error the
 * contents of `buf` (read) or of the target range (write) are unspecified. */
int lode_adi_mem_read(lode_adi_s *adi, unsigned ap, uint32_t addr, void *buf, size_t len);
int lode_adi_mem_write(lode_adi_s *adi, unsigned ap, uint32_t addr, const void *buf, size_t len);
/* Single accesses of one size; `addr` must be aligned to it (else LODE_E_INVALID_ARG). */
int lode_adi_mem_read32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t *val);
int lode_adi_mem_write32(lode_adi_s *adi, unsigned ap, uint32_t addr, uint32_t val);
int lode_adi_mem_read16(lode_adi_s *adi, unsigned ap, uint32_t addr, uint16_t *val);
int lode_adi_mem_write16(lode_adi_s *adi, unsigned ap, uint32_t addr, uint16_t val);
int lode_adi_mem_read8(lode_adi_s *adi, unsigned ap, uint32_t addr, uint8_t *val);
int lode_adi_mem_write8(lode_adi_s *adi, unsigned ap, uint32_t addr, uint8_t val);

/* ---- AP discovery ------------------------------------------------------------------------ */
int lode_adi_ap_idr(lode_adi_s *adi, unsigned ap, uint32_t *idr);
/* The raw BASE register (bit 0 present, bit 1 format, bits 31:12 the debug base address;
 * 0xFFFFFFFF = legacy "no debug entry"). */
int lode_adi_ap_base(lode_adi_s *adi, unsigned ap, uint32_t *base);

/* ---- ROM table walk (ADIv5.2 D1/D3, CoreSight component IDs) ----------------------------- */
#define LODE_CID_CLASS_ROM 0x1u
#define LODE_CID_CLASS_CORESIGHT 0x9u
#define LODE_CID_CLASS_GENERIC_IP 0xEu
#define LODE_JEP106_ARM 0x43Bu /* continuation code 4, identity 0x3B */
#define LODE_ADI_ROM_MAX_DEPTH 4u

typedef struct lode_adi_component_s {
    uint32_t base;     /* first 4 KiB block of the component */
    uint32_t cidr;     /* CIDR3..0 packed */
    uint8_t cls;       /* CIDR1[7:4]: LODE_CID_CLASS_* */
    uint64_t pidr;     /* PIDR7..0 packed (PIDR0 in bits 7:0) */
    uint16_t designer; /* JEP106: continuation code << 8 | identity (ARM = 0x43B) */
    uint16_t part;     /* PIDR part number */
    uint8_t revision;  /* PIDR2[7:4] */
    unsigned depth;    /* 0 = the top ROM table */
    const char *name;  /* e.g. "Cortex-M4 SCS", "Cortex-M3 ROM table"; NULL if unknown */
} lode_adi_component_s;

/* Return non-zero to stop the walk (lode_adi_romtable_walk then returns that value). */
typedef int (*lode_adi_component_fn)(void *user, const lode_adi_component_s *c);

/* Walk the ROM table at `base` (4 KiB aligned; e.g. the AP BASE & ~0xFFF): the callback sees
 * the ROM table itself and then every present component (class 0x1 tables are entered, at
 * most LODE_ADI_ROM_MAX_DEPTH deep; components that fault or lack a valid CIDR are skipped
 * with a warning). */
int lode_adi_romtable_walk(lode_adi_s *adi, unsigned ap, uint32_t base, lode_adi_component_fn fn,
                           void *user);
/* The identification registers (PIDR/CIDR, ADIv5.2 D3) of the 4 KiB block at `blk` (the last
 * block of a component; a ROM table's only one), in one queued run. LODE_E_FORMAT when the CIDR
 * preamble is not there. */
int lode_adi_component_id(lode_adi_s *adi, unsigned ap, uint32_t blk, lode_adi_component_s *out);
/* Name of a known ARM CoreSight/Cortex-M part (designer 0x43B), NULL otherwise. */
const char *lode_adi_part_name(uint16_t designer, uint16_t part);

#ifdef __cplusplus
}
#endif
#endif
