/* SPDX-License-Identifier: MIT */
#ifndef LODE_SIM_THUMB_MEM_H
#define LODE_SIM_THUMB_MEM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct simi_thumb_access_s {
    bool is_mem; /* the instruction reads or writes memory */
    bool load;
    uint32_t lo;  /* first byte touched */
    uint32_t len; /* bytes touched from lo */
} simi_thumb_access_s;

/* Decode the Thumb instruction hw1[,hw2] at pc against registers r (as before it executes):
 * fill acc and return the instruction's length in bytes (2 or 4). Coprocessor/FP loads and
 * stores are not decoded (is_mem false). */
unsigned simi_thumb_mem(uint16_t hw1, uint16_t hw2, const uint32_t r[16], uint32_t pc,
                        simi_thumb_access_s *acc);

#endif
