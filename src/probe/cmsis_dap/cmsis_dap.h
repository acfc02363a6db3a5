/* SPDX-License-Identifier: MIT */
/* Internal interface of the CMSIS-DAP driver (public API: include/lode/cmsis_dap.h), for
 * other lode modules that need raw commands on the same probe (SWO, vendor commands). */
#ifndef LODE_PROBE_CMSIS_DAP_H
#define LODE_PROBE_CMSIS_DAP_H

#include <stddef.h>
#include <stdint.h>

#include "lode/cmsis_dap.h"

/* Most commands the driver keeps in flight, whatever packet count the probe reports. */
#define LODEI_CMSIS_DAP_MAX_INFLIGHT 32u

/* One command round trip (nothing else may be in flight): send req[0..len), receive the
 * reply into the driver's buffer; *reply points to it (valid until the next command) and
 * *got is its length. The reply is not decoded. */
int lodei_cmsis_dap_command(lode_cmsis_dap_s *dap, const uint8_t *req, size_t len,
                            const uint8_t **reply, size_t *got);

/* The DAP packet size the driver uses (requests and replies both fit it). */
size_t lodei_cmsis_dap_packet_size(const lode_cmsis_dap_s *dap);

#endif
