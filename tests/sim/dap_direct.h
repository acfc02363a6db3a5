/* SPDX-License-Identifier: MIT */
/* A test-side probe: lode_dap_ops_s implemented directly on the simulated board's
 * transfer-level SW-DP (lode_sim_swd_transfer), the way a CMSIS-DAP probe's firmware drives
 * the wire: AP reads are un-posted with an RDBUFF read, WAIT is retried up to wait_retries
 * times, write_abort is a DP write to ABORT, reset_pin drives nRST. */
#ifndef LODE_TESTS_DAP_DIRECT_H
#define LODE_TESTS_DAP_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "lode/dap.h"
#include "lode/sim.h"

typedef struct dap_direct_s {
    lode_sim_s *sim;
    unsigned wait_retries; /* WAITs retried per transfer before giving up */
    lode_dap_ops_s ops;
    /* counters */
    unsigned long transfer_calls, block_calls, wire_transfers, waits_seen, faults_seen;
} dap_direct_s;

/* Fill `d` for `sim`. with_block: also provide ops.transfer_block. */
void dap_direct_init(dap_direct_s *d, lode_sim_s *sim, bool with_block);

#endif
