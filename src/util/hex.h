/* SPDX-License-Identifier: MIT */
/* Hex digits (private to liblode). */
#ifndef LODE_UTIL_HEX_H
#define LODE_UTIL_HEX_H

/* The value of one hex digit, either case; -1 when ch is not one. */
static inline int lodei_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

#endif
