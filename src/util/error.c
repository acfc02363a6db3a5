/* SPDX-License-Identifier: MIT */
#include "lode/error.h"

#include <stddef.h>

typedef struct err_row_s {
    const char *name, *text;
} err_row_s;

/* indexed by -code */
static const err_row_s k_err[] = {
    [0] = {"LODE_OK", "success"},
    [-LODE_E_IO] = {"LODE_E_IO", "input/output error"},
    [-LODE_E_TIMEOUT] = {"LODE_E_TIMEOUT", "timed out"},
    [-LODE_E_NO_DEVICE] = {"LODE_E_NO_DEVICE", "no such device"},
    [-LODE_E_ACCESS] = {"LODE_E_ACCESS", "access denied"},
    [-LODE_E_WAIT] = {"LODE_E_WAIT", "target kept answering WAIT"},
    [-LODE_E_FAULT] = {"LODE_E_FAULT", "target answered FAULT (bus error)"},
    [-LODE_E_PROTOCOL] = {"LODE_E_PROTOCOL", "protocol error"},
    [-LODE_E_VERIFY] = {"LODE_E_VERIFY", "verify failed"},
    [-LODE_E_NOMEM] = {"LODE_E_NOMEM", "out of memory or size limit reached"},
    [-LODE_E_UNSUPPORTED] = {"LODE_E_UNSUPPORTED", "not supported"},
    [-LODE_E_INVALID_ARG] = {"LODE_E_INVALID_ARG", "invalid argument"},
    [-LODE_E_FORMAT] = {"LODE_E_FORMAT", "malformed input"},
    [-LODE_E_STATE] = {"LODE_E_STATE", "wrong state for this request"},
    [-LODE_E_FLASH] = {"LODE_E_FLASH", "flash controller error"},
    [-LODE_E_RANGE] = {"LODE_E_RANGE", "address or length out of range"},
    [-LODE_E_BUSY] = {"LODE_E_BUSY", "in use by another program"},
};

/* every code has a row (a row left out in the middle is caught by test_error) */
_Static_assert(sizeof k_err / sizeof k_err[0] == LODE_ERR_COUNT,
               "lode_err_e and the table in error.c differ: name the new code here");

static const err_row_s *row(int err)
{
    if (err > 0 || err < (int)LODE_E_LAST_ || !k_err[-err].name)
        return NULL;
    return &k_err[-err];
}

const char *lode_strerror(int err)
{
    const err_row_s *r = row(err);
    return r ? r->text : "unknown error";
}

const char *lode_error_name(int err)
{
    const err_row_s *r = row(err);
    return r ? r->name : "LODE_E_UNKNOWN";
}
