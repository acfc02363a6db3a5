/* SPDX-License-Identifier: MIT */
/* Text from a file shown in a message. Private to liblode. */
#ifndef LODE_UTIL_TEXT_H
#define LODE_UTIL_TEXT_H

#include <stddef.h>
#include <string.h>

/* `s` as printable ASCII ('?' for anything else), cut with "..." to fit `n` (>= 8) bytes */
static inline const char *lodei_text_shown(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 4 < n; s++)
        buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s)
        memcpy(buf + o, "...", 3), o += 3;
    buf[o] = 0;
    return buf;
}

#endif
