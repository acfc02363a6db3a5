/* SPDX-License-Identifier: MIT */
#include "dap_direct.h"

#include "lode/error.h"

#define RDBUFF 0x0Cu

/* One wire transfer with WAIT retries. Returns the final ACK. */
static int wire(dap_direct_s *d, bool apndp, bool rnw, uint8_t a, uint32_t *data)
{
    int ack = LODE_SWD_ACK_WAIT;
    for (unsigned i = 0; i <= d->wait_retries; i++) {
        uint32_t v = *data;
        d->wire_transfers++;
        ack = lode_sim_swd_transfer(d->sim, apndp, rnw, a, &v);
        if (ack == LODE_SWD_ACK_OK) {
            *data = v;
            return ack;
        }
        if (ack != LODE_SWD_ACK_WAIT)
            break;
        d->waits_seen++;
    }
    if (ack == LODE_SWD_ACK_FAULT)
        d->faults_seen++;
    return ack;
}

static int ack_err(int ack, lode_dap_ack_e *out)
{
    *out = (lode_dap_ack_e)ack;
    switch (ack) {
    case LODE_SWD_ACK_OK: return LODE_OK;
    case LODE_SWD_ACK_WAIT: return LODE_E_WAIT;
    case LODE_SWD_ACK_FAULT: return LODE_E_FAULT;
    default: *out = LODE_DAP_ACK_NONE; return LODE_E_PROTOCOL;
    }
}

/* One request: AP reads complete with the RDBUFF read that returns their value. */
static int one(dap_direct_s *d, uint8_t req, uint32_t wdata, uint32_t *rdata)
{
    bool apndp = (req & LODE_DAP_APNDP) != 0, rnw = (req & LODE_DAP_RNW) != 0;
    uint8_t a = LODE_DAP_A(req);
    uint32_t v = wdata;
    int ack = wire(d, apndp, rnw, a, &v);
    if (ack != LODE_SWD_ACK_OK)
        return ack;
    if (apndp && rnw) {
        v = 0;
        ack = wire(d, false, true, RDBUFF, &v);
        if (ack != LODE_SWD_ACK_OK)
            return ack;
    }
    if (rnw && rdata)
        *rdata = v;
    return ack;
}

static int dd_transfer(void *ctx, lode_dap_xfer_s *xf, size_t n, size_t *done,
                       lode_dap_ack_e *ack)
{
    dap_direct_s *d = ctx;
    d->transfer_calls++;
    *done = 0;
    *ack = LODE_DAP_ACK_OK;
    for (size_t i = 0; i < n; i++) {
        int a = one(d, xf[i].req, xf[i].wdata, xf[i].rdata);
        if (a != LODE_SWD_ACK_OK)
            return ack_err(a, ack);
        *done = i + 1;
    }
    return LODE_OK;
}

static int dd_transfer_block(void *ctx, uint8_t req, uint32_t *data, size_t n, size_t *done,
                             lode_dap_ack_e *ack)
{
    dap_direct_s *d = ctx;
    d->block_calls++;
    *done = 0;
    *ack = LODE_DAP_ACK_OK;
    for (size_t i = 0; i < n; i++) {
        int a = one(d, req, data[i], &data[i]);
        if (a != LODE_SWD_ACK_OK)
            return ack_err(a, ack);
        *done = i + 1;
    }
    return LODE_OK;
}

static int dd_swj(void *ctx, unsigned bits, const uint8_t *data)
{
    dap_direct_s *d = ctx;
    lode_sim_swj_sequence(d->sim, bits, data);
    return LODE_OK;
}

static int dd_abort(void *ctx, uint32_t value)
{
    dap_direct_s *d = ctx;
    uint32_t v = value;
    int ack = lode_sim_swd_transfer(d->sim, false, false, 0x0, &v);
    return ack == LODE_SWD_ACK_OK ? LODE_OK : ack == LODE_SWD_ACK_NONE ? LODE_E_PROTOCOL : LODE_E_IO;
}

static int dd_reset(void *ctx, bool asserted)
{
    dap_direct_s *d = ctx;
    lode_sim_nrst(d->sim, asserted);
    return LODE_OK;
}

void dap_direct_init(dap_direct_s *d, lode_sim_s *sim, bool with_block)
{
    *d = (dap_direct_s){0};
    d->sim = sim;
    d->wait_retries = 8;
    d->ops.transfer = dd_transfer;
    d->ops.transfer_block = with_block ? dd_transfer_block : NULL;
    d->ops.swj_sequence = dd_swj;
    d->ops.write_abort = dd_abort;
    d->ops.reset_pin = dd_reset;
    d->ops.ctx = d;
}
