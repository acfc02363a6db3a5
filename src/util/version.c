/* SPDX-License-Identifier: MIT */
#include "lode/version.h"

const char *lode_version(void) { return LODE_VERSION_STRING; }
