/* SPDX-License-Identifier: MIT */
/* lode's own flash algorithms (built from firmware/flash-algos/), as a table generated at
 * build time. A build without them links builtin_algos_stub.c (an empty table): the built-in
 * chips are still described, and flashing them reports that the algorithm is missing. */
#ifndef LODE_BUILTIN_ALGOS_H
#define LODE_BUILTIN_ALGOS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lodei_builtin_algo_s {
    const char *name;
    const char *description;
    const uint8_t *instructions;
    size_t instructions_len;
    uint32_t load_address;
    uint32_t pc_init, pc_uninit, pc_program_page, pc_erase_sector,
        pc_erase_all /* 0xFFFFFFFF = none */;
    uint32_t pc_stream; /* LodeStream (firmware/flash-algos/stream.c), 0xFFFFFFFF = none */
    uint32_t stream_late_len; /* the blob's first bytes only program operations of a stream use */
    uint32_t erase_start; /* offset of LodeEraseStart's {address, value} pairs, 0 = none */
    uint32_t data_section_offset;
    uint32_t flash_start, flash_end, page_size, sector_size;
    uint32_t chip_erase_also_start, chip_erase_also_end; /* EraseChip erases this too (0, 0: nothing) */
    uint8_t erased_byte_value;
    uint32_t program_page_timeout_ms, erase_sector_timeout_ms;
} lodei_builtin_algo_s;

/* pc_* are offsets into instructions (bit 0 = Thumb bit), as in probe-rs. */
extern const struct lodei_builtin_algo_s lodei_builtin_algos[];
extern const size_t lodei_builtin_algos_count;

#endif
