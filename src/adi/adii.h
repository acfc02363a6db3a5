/* SPDX-License-Identifier: MIT */
/* Internal interface of the ADIv5 layer (src/adi): the queue and the per-AP caches shared by
 * adi.c (DP/AP queue, connect, error recovery), mem_ap.c (MEM-AP) and romtable.c. */
#ifndef LODE_ADII_H
#define LODE_ADII_H

#include "lode/adi.h"

#define ADI_NUM_AP 256u

/* Prot/implementation-defined CSW bits used when an AP's reset CSW has not been read:
 * the AHB-AP (Cortex-M) value MasterType = debug, HPROT = privileged data. */
#define ADI_CSW_DEFAULT_BASE 0x23000000u
#define ADI_CSW_KEEP 0xFF000000u /* bits kept from the AP's reset CSW value */

typedef enum adi_ent_kind_e {
    ADI_ENT_XFER = 0,
    ADI_ENT_BLOCK = 1,
} adi_ent_kind_e;

#define ADI_EF_MEM 0x01u  /* a MEM-AP data access (DRW or BDn) */
#define ADI_EF_ADDR 0x02u /* addr is known */
#define ADI_EF_BD 0x04u   /* a banked data register access */

typedef struct adi_entry_s {
    uint8_t kind;   /* adi_ent_kind_e */
    uint8_t req;    /* LODE_DAP_APNDP | LODE_DAP_RNW | A[3:2] */
    uint8_t ap;     /* for AP accesses */
    uint8_t flags;  /* ADI_EF_* */
    uint32_t wdata;
    uint32_t val;   /* read result (filled by the probe) */
    uint32_t *out;  /* caller's output (may be NULL) */
    uint32_t addr;  /* memory address when ADI_EF_ADDR */
    uint32_t *bdata; /* ADI_ENT_BLOCK: the words (borrowed until the run) */
    size_t bn;
} adi_entry_s;

typedef struct adi_ap_s {
    bool csw_base_known;
    uint32_t csw_base; /* CSW bits 31:24 to keep */
    bool csw_valid;
    uint32_t csw;
    bool tar_valid;
    uint32_t tar;
} adi_ap_s;

#define ADI_MAX_PEND 8u

typedef struct adi_pend_s {
    adi_entry_s *q;
    size_t nq, capq;
    lode_dap_xfer_s *xf;
    size_t capxf;
} adi_pend_s;

struct lode_adi_s {
    const lode_dap_ops_s *ops;
    const lode_log_s *log;
    uint32_t dpidr;

    bool sel_valid;
    uint32_t sel;
    adi_ap_s aps[ADI_NUM_AP];

    adi_entry_s *q;
    size_t nq, capq;
    int qerr;            /* first error while queueing */
    bool last_ap_write;  /* the last AP transfer queued is a write: check with RDBUFF */

    lode_dap_xfer_s *xf; /* scratch for ops->transfer */
    size_t capxf;

    bool fault_addr_known;
    uint32_t fault_addr;
    lode_adi_stats_s stats;

    adi_pend_s pend[ADI_MAX_PEND]; /* submitted runs, oldest first (ring) */
    unsigned pend_head, npend;
};

/* Queue one raw transfer (SELECT already handled by the caller). Returns the entry or NULL
 * (queue error recorded). */
adi_entry_s *lodei_adi_push(lode_adi_s *adi, uint8_t req, uint32_t wdata, uint32_t *out);
/* Queue a block of DRW transfers of AP `ap` (ops->transfer_block if present, else single
 * transfers). `words` is borrowed until the run. */
void lodei_adi_push_block(lode_adi_s *adi, unsigned ap, bool rnw, uint32_t addr, uint32_t *words,
                          size_t n);
/* Queue an AP register read with extra request bits (LODE_DAP_MATCH_VALUE: wdata = value). */
void lodei_adi_queue_ap_read_req(lode_adi_s *adi, unsigned ap, unsigned reg, uint8_t extra,
                                 uint32_t wdata);
/* Make SELECT address AP `ap`, bank of `reg`. */
void lodei_adi_select_ap(lode_adi_s *adi, unsigned ap, unsigned reg);
/* Read the AP's reset CSW once (runs the queue). */
int lodei_adi_csw_base(lode_adi_s *adi, unsigned ap);
void lodei_adi_record(lode_adi_s *adi, int err);

#endif
