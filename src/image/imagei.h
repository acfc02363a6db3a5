/* SPDX-License-Identifier: MIT */
/* Private to src/image/: the segment builder shared by the ELF, HEX and BIN readers. */
#ifndef LODE_IMAGEI_H
#define LODE_IMAGEI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/image.h"

/* One piece of data as the parser saw it. `tag` is the parser's label for messages (ELF:
 * program header index, HEX: line number). The bytes live in the builder's arena at `off`. */
typedef struct lodei_piece_s {
    uint32_t addr;
    uint32_t len;
    uint32_t off;
    uint32_t tag;
} lodei_piece_s;

/* Collects pieces in file order into one append-only, bounded arena. With `coalesce`, a piece
 * that continues the previous one (next address) is appended to it, so an in-order HEX file
 * costs one piece per contiguous region (the merged piece keeps the first piece's tag). */
typedef struct lodei_imgbuild_s {
    uint8_t *arena;
    size_t arena_len, arena_cap;
    lodei_piece_s *pieces;
    size_t npieces, pieces_cap;
    bool coalesce;
} lodei_imgbuild_s;

void lodei_imgbuild_init(lodei_imgbuild_s *b, bool coalesce);
void lodei_imgbuild_free(lodei_imgbuild_s *b);
/* Make room for `bytes` more arena bytes at once. LODE_E_NOMEM past LODE_IMAGE_MAX_BYTES. */
int lodei_imgbuild_reserve(lodei_imgbuild_s *b, uint64_t bytes);
/* Append len bytes for address addr. The caller has checked addr + len <= 2^32.
 * LODE_E_NOMEM: out of memory, or LODE_IMAGE_MAX_BYTES / LODE_IMAGE_MAX_PIECES reached. */
int lodei_imgbuild_add(lodei_imgbuild_s *b, uint32_t addr, const uint8_t *data, uint32_t len,
                       uint32_t tag);
/* Sort, check for overlaps, merge adjacent pieces and store the segments in img (whose segs
 * must be empty). On overlap returns LODE_E_FORMAT and copies the two pieces that overlap into
 * *first / *second (first starts at the lower or equal address). LODE_E_NOMEM on allocation
 * failure. */
int lodei_imgbuild_finish(lodei_imgbuild_s *b, lode_image_s *img, lodei_piece_s *first,
                          lodei_piece_s *second);

/* A zeroed image, or NULL. */
lode_image_s *lodei_image_new(void);

int lodei_image_parse_elf(const uint8_t *buf, size_t len, const char *name,
                          const lode_log_s *log, lode_image_s **out);
int lodei_image_parse_ihex(const char *text, size_t len, const char *name,
                           const lode_log_s *log, lode_image_s **out);
/* UF2 (uf2.c): starts with the two UF2 start magics? */
bool lodei_image_is_uf2(const uint8_t *buf, size_t len);
int lodei_image_parse_uf2(const uint8_t *buf, size_t len, const char *name, const lode_log_s *log,
                          lode_image_s **out);
/* DFU files (dfufile.c): a DFU suffix at the end of buf (present = false when there is none;
 * LODE_E_FORMAT, logged, for a damaged one), and the DfuSe file format. */
typedef struct lodei_dfu_suffix_s {
    bool present;
    size_t length;
    uint16_t bcd_device, pid, vid, bcd_dfu;
} lodei_dfu_suffix_s;
int lodei_dfu_suffix(const uint8_t *buf, size_t len, const char *name, const lode_log_s *log,
                     lodei_dfu_suffix_s *out);
bool lodei_image_is_dfuse(const uint8_t *buf, size_t len);
int lodei_image_parse_dfuse(const uint8_t *buf, size_t len, const char *name, const lode_log_s *log,
                            lode_image_s **out);

#endif
