/* SPDX-License-Identifier: MIT */
/* Internal interface of the chip database (src/target/). */
#ifndef LODE_TARGETI_H
#define LODE_TARGETI_H

#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"
#include "lode/target.h"

/* A bump allocator: everything of one family lives in one arena and goes with it. Memory
 * handed out is zeroed and aligned for any type. */
typedef struct lodei_arena_blk_s lodei_arena_blk_s;
typedef struct lodei_arena_s {
    lodei_arena_blk_s *head;
    size_t total; /* bytes allocated so far, for the cap */
    size_t cap;   /* 0 = no cap */
} lodei_arena_s;

void *lodei_arena_alloc(lodei_arena_s *a, size_t size);
/* n elements of `size` bytes, with the multiplication checked. */
void *lodei_arena_calloc(lodei_arena_s *a, size_t n, size_t size);
char *lodei_arena_strndup(lodei_arena_s *a, const char *s, size_t n);
void lodei_arena_free(lodei_arena_s *a);

/* A family plus what the database needs to keep for it. `pub` comes first. */
typedef struct lodei_family_s {
    lode_target_family_s pub;
    lodei_arena_s arena;
    lode_target_chip_s *chips; /* one per variant, same order */
} lodei_family_s;

/* Parses one probe-rs target YAML document into a new family (chips not yet built). Every
 * flash algorithm name a variant lists is checked to exist. */
int lodei_target_parse_yaml(const char *yaml, size_t len, const char *source,
                            const lode_log_s *log, lodei_family_s **out);

/* Builds fam->chips (algorithms resolved and ordered) and adds the family to the database,
 * which owns it from then on, even on error (then it is freed). */
int lodei_target_db_add(lode_target_db_s *db, lodei_family_s *fam);

void lodei_family_free(lodei_family_s *fam);

/* Adds lode's built-in families (builtin.c). */
int lodei_target_add_builtins(lode_target_db_s *db, const lode_log_s *log);

/* Base64 (RFC 4648 standard alphabet, '=' padding optional, ASCII blanks ignored, non-zero
 * leftover bits refused). Decodes into `out` (at least len / 4 * 3 + 3 bytes). Returns the
 * decoded length, or -1 with *bad_at set to the offset of the offending character. */
long lodei_base64_decode(const char *s, size_t len, uint8_t *out, size_t *bad_at);

#endif
