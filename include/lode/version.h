/* SPDX-License-Identifier: MIT */
/* lode's version: the macros give the one a program was compiled against, lode_version()
 * the one it runs with. The CMake project version is read from this file. */
#ifndef LODE_VERSION_H
#define LODE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#define LODE_VERSION_MAJOR 0
#define LODE_VERSION_MINOR 1
#define LODE_VERSION_PATCH 0
#define LODE_VERSION_STRING "0.1.0"
/* one number that compares: 0x00MMmmpp */
#define LODE_VERSION_NUM ((LODE_VERSION_MAJOR << 16) | (LODE_VERSION_MINOR << 8) | LODE_VERSION_PATCH)

/* The library's LODE_VERSION_STRING. */
const char *lode_version(void);

#ifdef __cplusplus
}
#endif
#endif
