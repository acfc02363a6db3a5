/* SPDX-License-Identifier: MIT */
/* Placeholder for the generated table of lode's own flash algorithms: empty, so the library
 * links before firmware/flash-algos/ is built. Replace with the generated file. */
#include "target/builtin_algos.h"

/* C11 forbids zero-length arrays: one unused entry, count 0. */
const struct lodei_builtin_algo_s lodei_builtin_algos[1] = {{0}};
const size_t lodei_builtin_algos_count = 0;
