/* SPDX-License-Identifier: MIT */
#include "lode/error.h"

const char *lode_strerror(int err)
{
    switch (err) {
    case LODE_OK: return "success";
    case LODE_E_IO: return "input/output error";
    case LODE_E_TIMEOUT: return "timed out";
    case LODE_E_NO_DEVICE: return "no such device";
    case LODE_E_ACCESS: return "access denied";
    case LODE_E_WAIT: return "target kept answering WAIT";
    case LODE_E_FAULT: return "target answered FAULT (bus error)";
    case LODE_E_PROTOCOL: return "protocol error";
    case LODE_E_VERIFY: return "verify failed";
    case LODE_E_NOMEM: return "out of memory or size limit reached";
    case LODE_E_UNSUPPORTED: return "not supported";
    case LODE_E_INVALID_ARG: return "invalid argument";
    case LODE_E_FORMAT: return "malformed input";
    case LODE_E_STATE: return "wrong state for this request";
    case LODE_E_FLASH: return "flash controller error";
    case LODE_E_RANGE: return "address or length out of range";
    case LODE_E_BUSY: return "in use by another program";
    default: return "unknown error";
    }
}
