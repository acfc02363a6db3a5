/* SPDX-License-Identifier: MIT */
#ifndef LODE_ERROR_H
#define LODE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* One error enum for the whole project. LODE_OK is 0, every error is negative. */
typedef enum lode_err_e {
    LODE_OK = 0,
    LODE_E_IO = -1,          /* transport or file I/O failed */
    LODE_E_TIMEOUT = -2,     /* an operation did not finish in time */
    LODE_E_NO_DEVICE = -3,   /* no probe / target / file found */
    LODE_E_ACCESS = -4,      /* permission or protection (flash locked, no access) */
    LODE_E_WAIT = -5,        /* target answered WAIT too often */
    LODE_E_FAULT = -6,       /* target answered FAULT / bus error */
    LODE_E_PROTOCOL = -7,    /* a reply did not follow the protocol */
    LODE_E_VERIFY = -8,      /* read back differs from what was written */
    LODE_E_NOMEM = -9,       /* allocation failed or a bound was hit */
    LODE_E_UNSUPPORTED = -10,/* the probe/target/format cannot do this */
    LODE_E_INVALID_ARG = -11,/* caller passed something invalid */
    LODE_E_FORMAT = -12,     /* input file is malformed (ELF, HEX, YAML ...) */
    LODE_E_STATE = -13,      /* wrong state for the request (e.g. core running) */
    LODE_E_FLASH = -14,      /* flash controller reported an error */
    LODE_E_RANGE = -15,      /* address or length outside what is allowed */
    LODE_E_BUSY = -16,       /* held by another program (a serial port opened exclusively) */
    /* A new code goes above this line, and LODE_E_LAST_ names it: lode_strerror and
     * lode_error_name cover every code down to it (a build-time check in error.c, and
     * test_error reads this header to check each code is named). */
    LODE_E_LAST_ = LODE_E_BUSY
} lode_err_e;

/* The number of codes, LODE_OK included. */
#define LODE_ERR_COUNT (1 - (int)LODE_E_LAST_)

/* A static, human-readable description of an error code. Never NULL. */
const char *lode_strerror(int err);
/* The code's name as written here ("LODE_E_TIMEOUT"; "LODE_OK"), for logs and JSON output;
 * "LODE_E_UNKNOWN" for a value that is no code. Never NULL. */
const char *lode_error_name(int err);

#ifdef __cplusplus
}
#endif
#endif
