/* SPDX-License-Identifier: MIT */
/* What every core offers, whatever drives it: its register list, reads and names. */
#include "lode/core.h"

#include "lode/cortexm.h"
#include "lode/error.h"

size_t lode_core_regs(const lode_core_ops_s *ops, unsigned *regsel, size_t max)
{
    if (ops->reg_list)
        return ops->reg_list(ops->ctx, regsel, max);
    for (unsigned i = 0; i < 17 && i < max; i++)
        regsel[i] = i;
    return 17;
}

int lode_core_regs_read(const lode_core_ops_s *ops, const unsigned *regsel, uint32_t *vals, size_t n)
{
    if (ops->regs_read)
        return ops->regs_read(ops->ctx, regsel, vals, n);
    int rc = LODE_OK;
    for (size_t i = 0; i < n && rc == LODE_OK; i++)
        rc = ops->reg_read(ops->ctx, regsel[i], &vals[i]);
    return rc;
}

const char *lode_core_reg_name(unsigned regsel)
{
    return lode_cortexm_reg_name(regsel);
}

bool lode_core_reg_is_fp(unsigned regsel)
{
    return regsel == LODE_CM_REG_FPSCR || (regsel >= LODE_CM_REG_S0 && regsel < LODE_CM_REG_S0 + 32);
}
