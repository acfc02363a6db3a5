/* SPDX-License-Identifier: MIT */
/* Run firmware on the board like a host program: the debugger side of semihosting. */
#include <string.h>

#include "lode/core.h"
#include "lode/cortexm.h"
#include "lode/error.h"
#include "lode/semihost.h"
#include "lode/sim.h"

#define DBGKEY_DEBUGEN 0xA05F0001u

int lode_sim_sh_mem_read(void *sim, uint32_t addr, void *buf, size_t len)
{
    return lode_sim_mem_read(sim, addr, buf, len);
}

int lode_sim_sh_mem_write(void *sim, uint32_t addr, const void *buf, size_t len)
{
    return lode_sim_mem_write(sim, addr, buf, len);
}

uint64_t lode_sim_sh_time_us(void *sim) { return lode_sim_now(sim) / 1000000u; }

int lode_sim_run_program(lode_sim_s *sim, struct lode_semihost_s *sh, uint64_t limit_ps,
                         lode_sim_program_result_s *res)
{
    memset(res, 0, sizeof *res);
    lode_sim_write32(sim, LODE_CM_DHCSR, DBGKEY_DEBUGEN);
    for (;;) {
        uint64_t now = lode_sim_now(sim);
        if (now >= limit_ps) {
            res->stop = LODE_SIM_STOP_BUDGET;
            lode_sim_reg_read(sim, 15, &res->pc);
            return LODE_E_TIMEOUT;
        }
        /* slices of 100 ms of virtual time keep the caller's limit exact enough */
        uint64_t slice = limit_ps - now < 100000000000ull ? limit_ps - now : 100000000000ull;
        lode_sim_stop_e st = lode_sim_run(sim, slice);
        if (st == LODE_SIM_STOP_BUDGET)
            continue;
        res->stop = st;
        lode_sim_reg_read(sim, 15, &res->pc);
        if (st != LODE_SIM_STOP_HALTED)
            return LODE_E_STATE;
        uint8_t insn[2] = {0};
        lode_sim_read32(sim, LODE_CM_DFSR, &res->dfsr);
        lode_sim_mem_read(sim, res->pc, insn, 2);
        if (!(res->dfsr & 2) || insn[0] != 0xAB || insn[1] != 0xBE)
            return LODE_E_STATE; /* halted, but not for semihosting */
        uint32_t r0 = 0, r1 = 0, result = 0;
        lode_sim_reg_read(sim, 0, &r0);
        lode_sim_reg_read(sim, 1, &r1);
        bool exited = false;
        int code = 0;
        int rc = lode_semihost_call(sh, r0, r1, &result, &exited, &code);
        if (rc != LODE_OK)
            return rc;
        if (exited) {
            res->exited = true;
            res->exit_code = code;
            return LODE_OK;
        }
        lode_sim_reg_write(sim, 0, result);
        lode_sim_reg_write(sim, 15, res->pc + 2);
        lode_sim_write32(sim, LODE_CM_DFSR, 0x1Fu);
        lode_sim_write32(sim, LODE_CM_DHCSR, DBGKEY_DEBUGEN); /* clears C_HALT: resume */
    }
}

/* ---- lode_core_ops_s through the back door ------------------------------------------------- */


static int bd_halt(void *ctx) { return lode_sim_write32(ctx, LODE_CM_DHCSR, 0xA05F0003u); }

static int bd_resume(void *ctx)
{
    int rc = lode_sim_write32(ctx, LODE_CM_DFSR, 0x1Fu);
    if (rc == LODE_OK)
        rc = lode_sim_write32(ctx, LODE_CM_DHCSR, DBGKEY_DEBUGEN);
    return rc;
}

static int bd_step(void *ctx)
{
    lode_sim_write32(ctx, LODE_CM_DFSR, 0x1Fu);
    int rc = lode_sim_write32(ctx, LODE_CM_DHCSR, 0xA05F0005u); /* C_DEBUGEN | C_STEP, C_HALT clear */
    if (rc == LODE_OK)
        lode_sim_run(ctx, 1000000000ull); /* the step completes within the sim's next run */
    return rc;
}

static int bd_state(void *ctx, lode_core_state_s *st)
{
    uint32_t dhcsr = 0, dfsr = 0;
    int rc = lode_sim_read32(ctx, LODE_CM_DHCSR, &dhcsr);
    if (rc == LODE_OK)
        rc = lode_sim_read32(ctx, LODE_CM_DFSR, &dfsr);
    if (rc != LODE_OK)
        return rc;
    st->halted = (dhcsr >> 17) & 1;
    st->sleeping = (dhcsr >> 18) & 1;
    st->lockup = (dhcsr >> 19) & 1;
    st->dfsr = dfsr;
    return LODE_OK;
}

static int bd_reg_read(void *ctx, unsigned regsel, uint32_t *v) { return lode_sim_reg_read(ctx, regsel, v); }
static int bd_reg_write(void *ctx, unsigned regsel, uint32_t v) { return lode_sim_reg_write(ctx, regsel, v); }

static int bd_reset(void *ctx, bool halt)
{
    uint32_t demcr = 0;
    lode_sim_read32(ctx, LODE_CM_DEMCR, &demcr);
    lode_sim_write32(ctx, LODE_CM_DHCSR, DBGKEY_DEBUGEN);
    if (halt)
        lode_sim_write32(ctx, LODE_CM_DEMCR, demcr | 1u);
    lode_sim_write32(ctx, LODE_CM_DFSR, 0x1Fu);
    lode_sim_write32(ctx, LODE_CM_AIRCR, 0x05FA0004u);
    lode_sim_run(ctx, 1000000ull); /* the reset happens at the next instruction boundary */
    if (halt)
        lode_sim_write32(ctx, LODE_CM_DEMCR, demcr & ~1u);
    return LODE_OK;
}

static int bd_vector_catch(void *ctx, uint32_t set, uint32_t clear)
{
    uint32_t demcr = 0;
    int rc = lode_sim_read32(ctx, LODE_CM_DEMCR, &demcr);
    if (rc == LODE_OK)
        rc = lode_sim_write32(ctx, LODE_CM_DEMCR, (demcr | set) & ~clear);
    return rc;
}

static uint64_t bd_now_us(void *ctx) { return lode_sim_now(ctx) / 1000000u; }
static void bd_delay_us(void *ctx, uint32_t us) { lode_sim_advance(ctx, (uint64_t)us * 1000000u); }

void lode_sim_core_ops(lode_sim_s *sim, lode_core_ops_s *ops)
{
    memset(ops, 0, sizeof *ops); /* the optional operations it lacks are NULL */
    ops->halt = bd_halt;
    ops->resume = bd_resume;
    ops->step = bd_step;
    ops->state = bd_state;
    ops->reg_read = bd_reg_read;
    ops->reg_write = bd_reg_write;
    ops->regs_read = NULL;
    ops->reg_list = NULL;
    ops->regs_write = NULL;
    ops->bp_set = NULL;
    ops->bp_clear = NULL;
    ops->wp_set = NULL;
    ops->wp_clear = NULL;
    ops->vector_catch = bd_vector_catch;
    ops->mem_read = lode_sim_sh_mem_read;
    ops->mem_write = lode_sim_sh_mem_write;
    ops->reset = bd_reset;
    ops->resume_regs = NULL;
    ops->mem_submit = NULL;
    ops->mem_collect = NULL;
    ops->mem_depth = NULL;
    ops->now_us = bd_now_us;
    ops->delay_us = bd_delay_us;
    ops->ctx = sim;
}
