/* SPDX-License-Identifier: MIT */
/* Tiny formatting helpers: each writes at p and returns the new end (no terminator). */
#ifndef FW_FMT_H
#define FW_FMT_H

#include <stdint.h>

char *fmt_str(char *p, const char *s);
char *fmt_hex32(char *p, uint32_t v); /* always 8 lowercase digits */
char *fmt_udec(char *p, uint32_t v);

#endif
