/* SPDX-License-Identifier: MIT */
/* Flash programming: the planner turns an image into sector erases and page programs; the
 * runner (flash_algo) executes a plan through a CMSIS-Pack style flash algorithm. */
#ifndef LODE_FLASH_H
#define LODE_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/image.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One flash array as the planner sees it. */
typedef struct lode_flash_region_s {
    const char *name;
    uint32_t start, end;   /* [start, end) */
    uint32_t page_size;    /* programming unit (ProgramPage size) */
    uint8_t erased;        /* erased byte value */
    /* the sector containing addr (its start and size); LODE_OK or LODE_E_RANGE */
    int (*sector_at)(const void *user, uint32_t addr, uint32_t *start, uint32_t *size);
    const void *user;
    int algo;              /* caller's tag: which flash algorithm handles this region */
    /* the region can be erased whole in one operation (its algorithm has a chip erase), which
     * also erases [chip_erase_also_start, chip_erase_also_end) (0, 0: nothing else; e.g. the
     * nRF52's ERASEALL erases the UICR, another region) */
    bool has_chip_erase;
    uint32_t chip_erase_also_start, chip_erase_also_end;
} lode_flash_region_s;

/* RAM the image may also load into (written directly, not through an algorithm). */
typedef struct lode_mem_range_s {
    uint32_t start, end;   /* [start, end) */
} lode_mem_range_s;

typedef struct lode_flash_sector_s {
    uint32_t addr, size;
    unsigned region;       /* index into the regions given to the planner */
    bool skip;             /* contents already match: neither erased nor programmed */
    bool wiped;            /* erased by region wiped_by's chip erase, never on its own */
    unsigned wiped_by;
} lode_flash_sector_s;

typedef struct lode_flash_page_s {
    uint32_t addr, size;
    unsigned region;
    size_t sector;         /* index into plan->sectors */
    uint8_t *data;         /* size bytes: image bytes, padding = erased value */
} lode_flash_page_s;

typedef struct lode_flash_plan_s {
    lode_flash_sector_s *sectors; /* sorted by address */
    size_t nsectors;
    lode_flash_page_s *pages;     /* sorted by address; pages of skipped sectors are omitted */
    size_t npages;
    const lode_segment_s **ram;   /* segments (or parts) that go to RAM, borrowed from the image */
    size_t nram;
    bool chip_erase;              /* asked for: every region erased entirely */
    /* bit r: region r is erased with its chip erase (asked for, or cheaper: the image covers
     * every sector); regions its chip erase also wipes have their sectors marked `wiped`, and
     * their pages include what the planner read back there (restored after the erase) */
    uint32_t chip_regions;
    size_t image_flash_bytes;     /* image bytes that land in flash */
    size_t restored_bytes;        /* bytes read back to be programmed again after a chip erase */
    const lode_flash_region_s *regions; /* borrowed from the planner's caller: names in messages */
    size_t nregions;
} lode_flash_plan_s;

typedef enum lode_flash_phase_e {
    LODE_FLASH_PHASE_ERASE = 0,
    LODE_FLASH_PHASE_PROGRAM,
    LODE_FLASH_PHASE_VERIFY,
} lode_flash_phase_e;

typedef void (*lode_flash_progress_fn)(void *user, lode_flash_phase_e phase, size_t done,
                                       size_t total);

/* The one set of options for planning and writing (lode flash / erase / run, the GDB server's
 * load), whatever loader does it. */
typedef struct lode_flash_opts_s {
    bool chip_erase;             /* erase every region entirely instead of the touched sectors */
    /* skip sectors whose current contents already equal what the plan would leave there (read
     * with `read`; through a loader, the loader's read when NULL) */
    bool skip_unchanged;
    int (*read)(void *user, uint32_t addr, void *buf, size_t len);
    void *read_user;
    bool verify;                 /* check every programmed page: on the target when the
                                    algorithm streams (each page compared with the data sent,
                                    and a hash of the flash compared with the image's), else
                                    by reading it back through the probe */
    bool verify_readback;        /* verify by reading back through the probe in any case */
    bool single_buffer;          /* don't overlap page transfer with programming (implies
                                    no_stream) */
    bool no_stream;              /* one algorithm call per sector and page, even when the
                                    algorithm has lode's streaming entry */
    bool no_reset_halt;          /* don't reset-and-halt the core first (running firmware,
                                    its interrupts and peripherals may then disturb the algorithm) */
    bool unprotect;              /* erase: remove the device's read protection, with the mass
                                    erase that implies (a DfuSe device's Read Unprotect); a
                                    loader that cannot is LODE_E_INVALID_ARG */
    uint32_t clock_hz;           /* passed to Init (informational for most algorithms) */
    uint32_t stack_size;         /* 0: 1 KiB */
    lode_flash_progress_fn progress;
    void *progress_user;
} lode_flash_opts_s;

/* Plan writing `img`. Every image byte must fall in a flash region or a RAM range, otherwise
 * LODE_E_RANGE with a message naming the address and the chip's memory. The plan borrows the
 * image (for RAM segments): free the plan before the image. */
int lode_flash_plan(const lode_image_s *img, const lode_flash_region_s *regions, size_t nregions,
                    const lode_mem_range_s *ram, size_t nram, const lode_flash_opts_s *opts,
                    const lode_log_s *log, lode_flash_plan_s **out);
void lode_flash_plan_free(lode_flash_plan_s *plan);

/* Plan an erase: the sectors of every region (all; chip_erase is set), or those covering
 * [addr, addr+len). LODE_E_RANGE (logged) when that touches no region. */
int lode_flash_plan_erase(const lode_flash_region_s *regions, size_t nregions, bool all, uint32_t addr,
                          uint32_t len, const lode_log_s *log, lode_flash_plan_s **out);

/* Sectors that a plan erases (not skipped), as "0x08000000-0x080003ff, ..." for messages. */
size_t lode_flash_plan_describe_sectors(const lode_flash_plan_s *plan, size_t first, size_t count,
                                        char *buf, size_t len);

/* ---- the algorithm runner ---------------------------------------------------------------- */

#define LODE_FLASH_NO_PC 0xFFFFFFFFu

/* A flash algorithm in the CMSIS-Pack calling convention, as probe-rs target files describe
 * it: a position-dependent blob and entry offsets into it. */
typedef struct lode_flash_algo_s {
    const char *name;
    const uint8_t *instructions;
    size_t instructions_len;
    bool has_load_address;
    uint32_t load_address;        /* else: the start of the RAM given to the runner */
    uint32_t pc_init, pc_uninit;  /* LODE_FLASH_NO_PC if absent */
    uint32_t pc_program_page, pc_erase_sector;
    uint32_t pc_erase_all;        /* LODE_FLASH_NO_PC if absent */
    /* lode's streaming entry LodeStream (firmware/flash-algos/stream.c): erase and program
     * operations fed through a ring of RAM slots in one call; LODE_FLASH_NO_PC if absent */
    uint32_t pc_stream;
    /* the blob's first stream_late_len bytes are code only a stream's program operations use:
     * the runner writes them after the stream started, before the first program operation
     * (0: the whole blob first) */
    uint32_t stream_late_len;
    /* offset in the blob of {address, value} word pairs ending with {0, 0} (a value of
     * 0xFFFFFFFF = the sector's address): the register writes that start a sector erase from
     * the reset state, which the runner sends right after its reset-halt so that a stream's
     * first erase runs while the algorithm loads (op 4 finishes it); 0 = none */
    uint32_t erase_start;
    uint32_t data_section_offset; /* R9 = blob base + this (past the blob: zeroed RAM up to it) */
    uint32_t flash_start, flash_end;
    uint32_t page_size;
    uint8_t erased;
    uint32_t program_page_timeout_ms, erase_sector_timeout_ms;
} lode_flash_algo_s;


typedef struct lode_flash_result_s {
    size_t sectors_erased;
    size_t pages_programmed;
    size_t bytes_programmed;     /* page bytes written (incl. padding) */
    size_t bytes_verified;
    uint64_t us_erase, us_program, us_verify; /* on the core's clock (now_us) */
    /* on failure: sectors that were erased and not completely reprogrammed */
    char unfinished[256];
} lode_flash_result_s;

/* Execute `plan`: `algos[r]` handles plan region r. RAM [ram.start, ram.end) holds the
 * algorithm, its buffers and stack (its previous contents are lost). The core is reset and
 * halted first (unless no_reset_halt) and left halted; algorithms run privileged on MSP with
 * PRIMASK set, so interrupts cannot disturb them. On failure the log and res->unfinished name the sectors that may now
 * be erased. */
int lode_flash_run(const lode_core_ops_s *core, const lode_flash_algo_s *const *algos,
                   size_t nalgos, const lode_flash_plan_s *plan, const lode_mem_range_s *ram,
                   const lode_flash_opts_s *opts, const lode_log_s *log,
                   lode_flash_result_s *res);

/* ---- flashing a chip from the target database ----------------------------------------------- */
struct lode_target_chip_s;

/* The flash regions, their algorithms and the RAM of a chip, in the planner's/runner's terms.
 * Borrows from the chip (keep the target database alive). */
typedef struct lode_flash_layout_s {
    lode_flash_region_s *regions;
    lode_flash_algo_s *algos;          /* one per region */
    const lode_flash_algo_s **algo_ptrs;
    size_t nregions;
    lode_mem_range_s *ram;             /* every RAM region (image data may load there) */
    size_t nram;
    lode_mem_range_s work_ram;         /* where algorithms run */
} lode_flash_layout_s;

int lode_flash_layout_for_chip(const struct lode_target_chip_s *chip, const lode_log_s *log,
                               lode_flash_layout_s **out);
void lode_flash_layout_free(lode_flash_layout_s *layout);


/* Plan and write `img` to the chip through `core` with the flash-algorithm loader (loader.h). */
int lode_flash_image(const lode_core_ops_s *core, const struct lode_target_chip_s *chip,
                     const lode_image_s *img, const lode_flash_opts_s *opts, const lode_log_s *log,
                     lode_flash_result_s *res);

/* Erase: the whole flash (chip == everything), or the sectors covering [addr, addr+len). */
int lode_flash_erase(const lode_core_ops_s *core, const struct lode_target_chip_s *chip,
                     bool all, uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                     const lode_log_s *log, lode_flash_result_s *res);

#ifdef __cplusplus
}
#endif
#endif
