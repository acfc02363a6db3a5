/* SPDX-License-Identifier: MIT */
/* The chip database: chip families described in the probe-rs target YAML format (one family
 * per file: name, manufacturer, variants with cores and memory map, flash algorithms), plus
 * lode's built-in descriptions of the simulated chips.
 *
 * Everything read from a file is treated as hostile: the file size, the YAML nesting depth and
 * every count are capped (LODE_TARGET_MAX_*), every number is range-checked, and a bad input
 * is LODE_E_FORMAT plus one LODE_LOG_ERROR message (category LODE_LOGC_GENERAL) of the form
 * "<file>:<line>: <key path>: <problem>; <what to do>". Unknown keys are ignored (logged at
 * LODE_LOG_DEBUG) so newer probe-rs files still load.
 *
 * Lifetime: every pointer handed out (families, variants, chips, algorithms, strings) is owned
 * by the database and stays valid until lode_target_db_free(); loading more files never moves
 * what was handed out before. A database is not thread-safe. */
#ifndef LODE_TARGET_H
#define LODE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (hitting one is LODE_E_FORMAT, or LODE_E_NOMEM for the file size). */
#define LODE_TARGET_MAX_FILE (16u * 1024u * 1024u) /* bytes of YAML */
#define LODE_TARGET_MAX_DEPTH 32u                  /* YAML nesting levels */
#define LODE_TARGET_MAX_NODES (1u << 20)           /* YAML nodes (scalars + collections) */
#define LODE_TARGET_MAX_ITEMS 65536u               /* entries of one YAML sequence */
#define LODE_TARGET_MAX_NAME 256u                  /* bytes of a name */
#define LODE_TARGET_MAX_ALGO_BYTES (1u << 20)      /* decoded flash algorithm blob */
#define LODE_TARGET_MAX_FAMILIES 4096u             /* families in one database */

/* pc_* value of an absent entry point. */
#define LODE_TARGET_PC_NONE 0xFFFFFFFFu

typedef enum lode_target_mem_kind_e {
    LODE_TARGET_MEM_RAM = 0,  /* !Ram */
    LODE_TARGET_MEM_NVM,      /* !Nvm: flash, programmed through a flash algorithm */
    LODE_TARGET_MEM_GENERIC,  /* !Generic: anything else (peripherals, ROM ...) */
} lode_target_mem_kind_e;

/* What the debugger may do to a region. Absent keys default to read, write and execute true,
 * boot false (as in probe-rs). The old `is_boot_memory: true` key sets `boot`. */
typedef struct lode_target_access_s {
    bool read, write, execute, boot;
} lode_target_access_s;

typedef struct lode_target_mem_s {
    lode_target_mem_kind_e kind;
    const char *name;        /* "" when the file gives none */
    uint64_t start, end;     /* [start, end): end is exclusive, start < end */
    lode_target_access_s access;
    bool is_alias;           /* NVM mirrored elsewhere (not flashed through this range) */
    const char *const *cores; /* names of the cores that see the region */
    size_t ncores;
} lode_target_mem_s;

typedef enum lode_target_arch_e {
    LODE_TARGET_ARCH_UNKNOWN = 0, /* a type lode does not know (kept in `type`) */
    LODE_TARGET_ARCH_ARMV6M,
    LODE_TARGET_ARCH_ARMV7M,
    LODE_TARGET_ARCH_ARMV7EM,
    LODE_TARGET_ARCH_ARMV8M,
    LODE_TARGET_ARCH_ARMV7A,
    LODE_TARGET_ARCH_ARMV8A,
    LODE_TARGET_ARCH_RISCV,
    LODE_TARGET_ARCH_XTENSA,
} lode_target_arch_e;

typedef enum lode_target_access_port_e {
    LODE_TARGET_PORT_NONE = 0,
    LODE_TARGET_PORT_ARM,    /* !Arm: reached through an ADI access port */
    LODE_TARGET_PORT_RISCV,  /* !Riscv */
    LODE_TARGET_PORT_XTENSA, /* !Xtensa */
} lode_target_access_port_e;

typedef struct lode_target_core_s {
    const char *name;
    const char *type;          /* as written, e.g. "armv7em" */
    lode_target_arch_e arch;
    lode_target_access_port_e port;
    /* Arm only. ap_version 1: `ap` is the APSEL index (`ap: !v1 N` or plain `ap: N`);
     * 2: `ap` is an ADIv6 AP base address (`ap: !v2 A`). */
    uint8_t ap_version;
    uint64_t ap;
    bool has_psel;
    uint32_t psel;
    bool has_debug_base;
    uint64_t debug_base;
} lode_target_core_s;

/* One run of equal sectors: starts at flash_start + address and lasts until the next entry's
 * address (or the end of the flash range). */
typedef struct lode_target_sector_s {
    uint64_t size;
    uint64_t address; /* relative to flash_start */
} lode_target_sector_s;

typedef struct lode_target_flash_algo_s {
    const char *name;
    const char *description;   /* "" when absent */
    bool is_default;           /* `default: true` */
    const uint8_t *instructions; /* the decoded blob, loaded into target RAM */
    size_t instructions_len;
    bool has_load_address;
    uint64_t load_address;
    bool has_data_load_address;
    uint64_t data_load_address;
    /* Entry points: offsets into `instructions` (bit 0 is the Thumb bit and may be set);
     * LODE_TARGET_PC_NONE when absent. pc_program_page and pc_erase_sector are always set. */
    uint32_t pc_init, pc_uninit, pc_program_page, pc_erase_sector, pc_erase_all;
    /* lode's streaming entry (built-in algorithms only; LODE_TARGET_PC_NONE otherwise) */
    uint32_t pc_stream;
    /* built-in algorithms: the blob's first stream_late_len bytes are code only the program
     * operations of a LodeStream call use (0: none) */
    uint32_t stream_late_len;
    /* built-in algorithms: offset in the blob of the register writes that start a sector erase
     * from the reset state (LodeEraseStart, firmware/flash-algos/algo.h), 0 = none */
    uint32_t erase_start;
    uint32_t data_section_offset; /* may lie past instructions_len: then zeroed RAM up to it */
    bool has_rtt_location;
    uint64_t rtt_location;
    bool has_stack_size;
    uint32_t stack_size;
    bool big_endian;
    /* flash_properties */
    uint64_t flash_start, flash_end; /* address_range, end exclusive */
    /* memory outside [flash_start, flash_end) that the chip erase (pc_erase_all) erases too,
     * end exclusive; 0, 0 when nothing (lode's own algorithms only: nRF52 ERASEALL and UICR) */
    uint64_t chip_erase_also_start, chip_erase_also_end;
    uint32_t page_size;              /* > 0 */
    uint8_t erased_byte_value;
    uint32_t program_page_timeout_ms, erase_sector_timeout_ms;
    const lode_target_sector_s *sectors; /* >= 1, addresses strictly ascending, sizes > 0 */
    size_t nsectors;
    const char *const *cores; /* cores that may run it ("" list: any) */
    size_t ncores;
} lode_target_flash_algo_s;

typedef struct lode_target_variant_s {
    const char *name;
    const char *const *package_variants; /* e.g. "STM32F103C8Tx" ('x' = any character) */
    size_t npackage_variants;
    const lode_target_core_s *cores; /* >= 1 */
    size_t ncores;
    const lode_target_mem_s *memory; /* in file order */
    size_t nmemory;
    const char *const *flash_algorithm_names; /* as written in the variant */
    size_t nflash_algorithm_names;
} lode_target_variant_s;

typedef struct lode_target_family_s {
    const char *name;
    const char *source;        /* file name given when loading; "built-in" for lode's own */
    bool builtin;
    bool has_manufacturer;
    uint8_t manufacturer_id;   /* JEP106 identity code (7 bits) */
    uint8_t manufacturer_cc;   /* JEP106 continuation code (bank - 1) */
    const char *const *chip_detection; /* the tags of the chip_detection entries (raw) */
    size_t nchip_detection;
    const lode_target_variant_s *variants;
    size_t nvariants;
    const lode_target_flash_algo_s *algos;
    size_t nalgos;
} lode_target_family_s;

typedef struct lode_target_db_s lode_target_db_s;

/* A chip = one variant, resolved: its family, memory and the flash algorithms it names, in
 * preference order: `default: true` ones first, then those whose address range covers the
 * boot NVM, then the rest (file order within each group). Names the variant lists but no
 * algorithm provides (only possible for built-in chips whose algorithm is not in this build)
 * are in `missing_algos`. */
typedef struct lode_target_chip_s {
    const char *name;                     /* = variant->name */
    const lode_target_family_s *family;
    const lode_target_variant_s *variant;
    const lode_target_mem_s *memory;      /* = variant->memory */
    size_t nmemory;
    const lode_target_flash_algo_s *const *algos;
    size_t nalgos;
    const char *const *missing_algos;
    size_t nmissing_algos;
    const lode_target_db_s *db;           /* the database it belongs to */
} lode_target_chip_s;

/* A new database holding lode's built-in chips (STM32F103C8, nRF52840_xxAA). `log` may be
 * NULL; it is copied. */
int lode_target_db_new(const lode_log_s *log, lode_target_db_s **out);
/* NULL is fine. Invalidates every pointer the database handed out. */
void lode_target_db_free(lode_target_db_s *db);

/* Adds the family described by a probe-rs target YAML file. On error the database is
 * unchanged. Errors: LODE_E_IO / LODE_E_NO_DEVICE (cannot read), LODE_E_NOMEM (larger than
 * LODE_TARGET_MAX_FILE, out of memory), LODE_E_FORMAT, LODE_E_INVALID_ARG. A family loaded
 * later wins over one loaded earlier (and over the built-ins) when variant names collide. */
int lode_target_db_load_file(lode_target_db_s *db, const char *path);
/* The same from memory; `name_for_messages` (may be NULL: "<buffer>") names it in messages.
 * `yaml` need not be NUL-terminated. */
int lode_target_db_load_buffer(lode_target_db_s *db, const char *yaml, size_t len,
                               const char *name_for_messages);

size_t lode_target_family_count(const lode_target_db_s *db);
const lode_target_family_s *lode_target_family_at(const lode_target_db_s *db, size_t i);

/* All chips, newest family first (the built-ins last). */
size_t lode_target_chips_count(const lode_target_db_s *db);
const lode_target_chip_s *lode_target_chips_at(const lode_target_db_s *db, size_t i);

/* Finds a chip by name, case-insensitively, trying in order:
 *  1. the exact variant name ("STM32F103C8", "nrf52840_xxaa"),
 *  2. a package variant name, where a lowercase 'x' in the database matches any character
 *     ("STM32F103C8T6" matches package "STM32F103C8Tx" of STM32F103C8),
 *  3. a unique prefix of variant names ("nRF52840" -> "nRF52840_xxAA").
 * Newest families win ties in steps 1 and 2. Errors: LODE_E_NO_DEVICE (nothing matches),
 * LODE_E_INVALID_ARG (ambiguous prefix: the message lists the candidates; or a bad name). */
int lode_target_find_chip(const lode_target_db_s *db, const char *name,
                          const lode_target_chip_s **out);

/* The memory region containing `address`, or NULL. */
const lode_target_mem_s *lode_target_chip_region_at(const lode_target_chip_s *chip,
                                                    uint64_t address);
/* The boot NVM region (access.boot), else the first NVM region, else NULL. */
const lode_target_mem_s *lode_target_chip_boot_nvm(const lode_target_chip_s *chip);
/* The main flash: the boot NVM region and the NVM regions that continue it without a gap
 * (a second bank right after the first), as [*start, *end); the number of regions (banks)
 * in it, 0 when the chip has no NVM. */
size_t lode_target_chip_main_flash(const lode_target_chip_s *chip, uint64_t *start, uint64_t *end);

/* The first algorithm (in the chip's preference order) whose address range covers `address`
 * and, when that range overlaps NVM regions of the chip, only inside one of them (so a 128 KiB
 * algorithm is not used past the end of a 64 KiB chip). NULL if none. */
const lode_target_flash_algo_s *lode_target_flash_algo_for(const lode_target_chip_s *chip,
                                                           uint64_t address);
/* The same, but an error with a message saying why when there is none: LODE_E_UNSUPPORTED
 * (the algorithm is not in this build / the chip has none), LODE_E_RANGE (not flash). */
int lode_target_flash_algo_get(const lode_target_chip_s *chip, uint64_t address,
                               const lode_target_flash_algo_s **out);

/* The erase sector containing `address`: *start (absolute) and *size. The last sector of a
 * run is cut at the run's end. LODE_E_RANGE outside the algorithm's sectors. */
int lode_target_sector_at(const lode_target_flash_algo_s *algo, uint64_t address,
                          uint64_t *start, uint64_t *size);

/* --- chip detection --------------------------------------------------------------------- */

/* What an ID register says about a chip. */
typedef struct lode_target_id_s {
    const char *family;       /* probe-rs family name, e.g. "STM32F1 Series" */
    const char *description;  /* e.g. "STM32F10x medium density" */
    /* Variant name patterns, most likely first, NULL-terminated; '?' matches one character. */
    const char *const *patterns;
    uint32_t flash_size_addr; /* 16-bit flash size in KiB lives here; 0 = none */
} lode_target_id_s;

/* STM32: `idcode` is DBGMCU_IDCODE (0xE0042000 on F1/F4/L4; the dev id is bits 11:0).
 * LODE_E_UNSUPPORTED for an unknown dev id. */
int lode_target_detect_stm32(uint32_t idcode, const lode_target_id_s **out);
/* nRF52: FICR INFO.PART (0x10000100, e.g. 0x52840) and INFO.VARIANT (0x10000104, ASCII such
 * as "AAD0" = 0x41414430; 0 or 0xFFFFFFFF = unknown). LODE_E_UNSUPPORTED when unknown. */
int lode_target_detect_nrf52(uint32_t info_part, uint32_t info_variant,
                             const lode_target_id_s **out);
/* The first chip (patterns in order, chips in database order) whose name matches one of
 * id->patterns and, if flash_kib != 0, whose boot NVM is flash_kib KiB. LODE_E_NO_DEVICE
 * when none. */
int lode_target_find_detected(const lode_target_db_s *db, const lode_target_id_s *id,
                              uint32_t flash_kib, const lode_target_chip_s **out);

#ifdef __cplusplus
}
#endif
#endif
