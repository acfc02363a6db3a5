/* SPDX-License-Identifier: MIT */
#ifndef LODE_CLI_SH_IO_H
#define LODE_CLI_SH_IO_H

#include "lode/core.h"
#include "lode/semihost.h"

/* Semihosting I/O on `core` (borrowed: it must outlive the host) and the terminal. */
lode_semihost_io_s cli_semihost_io(const lode_core_ops_s *core);

#endif
