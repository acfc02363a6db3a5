/* SPDX-License-Identifier: MIT */
/* Symbols and break/watch specs on the command line. */
#ifndef LODE_CLI_POINTS_H
#define LODE_CLI_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "lode/image.h"
#include "lode/run.h"

/* "0x08000123 <main+0x12>" */
void cli_sym(const lode_image_s *img, uint32_t addr, char *buf, size_t len);
/* "SYMBOL" or "ADDR"; for watches also "+LEN" (1, 2, 4) and ":r|w|rw". `spec` is modified
 * (the parts are cut out) and p->name points into it. 0 or -1 (message printed). */
int cli_parse_point(const lode_image_s *img, char *spec, int watch, lode_run_point_s *p);

#endif
