/* SPDX-License-Identifier: MIT */
/* Fault status in words, from the ARMv7-M ARM (DDI 0403E) B3.2.15 CFSR (MMFSR, BFSR, UFSR),
 * B3.2.16 HFSR, B3.2.17 MMFAR, B3.2.18 BFAR; STKOF from ARMv8-M. */
#include <stdarg.h>
#include <stdio.h>

#include "lode/cortexm.h"
#include "lode/error.h"

typedef struct text_s {
    char *buf;
    size_t len, used;
    bool cut;
} text_s;

static void add(text_s *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void add(text_s *t, const char *fmt, ...)
{
    if (t->cut)
        return;
    size_t before = t->used;
    if (t->used) {
        if (t->len - t->used <= 2) {
            t->cut = true;
            return;
        }
        t->buf[t->used++] = ';';
        t->buf[t->used++] = ' ';
        t->buf[t->used] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->len - t->used) {
        t->cut = true;
        t->buf[before] = '\0'; /* keep only whole items */
        t->used = before;
        return;
    }
    t->used += (size_t)n;
}

int lode_cortexm_fault_describe(uint32_t cfsr, uint32_t hfsr, uint32_t bfar, uint32_t mmfar,
                                char *buf, size_t len)
{
    if (!buf || !len)
        return LODE_E_INVALID_ARG;
    buf[0] = '\0';
    text_s t = {.buf = buf, .len = len};

    /* MemManage (MMFSR, CFSR[7:0]) */
    if (cfsr & (1u << 0))
        add(&t, "instruction access violation (MPU or execute-never region)");
    if (cfsr & (1u << 1)) {
        if (cfsr & (1u << 7))
            add(&t, "data access violation at 0x%08lx (MMFAR)", (unsigned long)mmfar);
        else
            add(&t, "data access violation (address unknown)");
    }
    if (cfsr & (1u << 3))
        add(&t, "MemManage fault while unstacking on exception return");
    if (cfsr & (1u << 4))
        add(&t, "MemManage fault while stacking on exception entry");
    if (cfsr & (1u << 5))
        add(&t, "MemManage fault during lazy FP state preservation");
    if ((cfsr & (1u << 7)) && !(cfsr & (1u << 1)))
        add(&t, "MemManage address 0x%08lx (MMFAR)", (unsigned long)mmfar);

    /* BusFault (BFSR, CFSR[15:8]) */
    if (cfsr & (1u << 8))
        add(&t, "instruction bus error (prefetch)");
    if (cfsr & (1u << 9)) {
        if (cfsr & (1u << 15))
            add(&t, "precise data bus error at 0x%08lx (BFAR)", (unsigned long)bfar);
        else
            add(&t, "precise data bus error (address unknown)");
    }
    if (cfsr & (1u << 10))
        add(&t, "imprecise data bus error (address unknown)");
    if (cfsr & (1u << 11))
        add(&t, "bus fault while unstacking on exception return");
    if (cfsr & (1u << 12))
        add(&t, "bus fault while stacking on exception entry");
    if (cfsr & (1u << 13))
        add(&t, "bus fault during lazy FP state preservation");
    if ((cfsr & (1u << 15)) && !(cfsr & (1u << 9)))
        add(&t, "bus fault address 0x%08lx (BFAR)", (unsigned long)bfar);

    /* UsageFault (UFSR, CFSR[31:16]) */
    if (cfsr & (1u << 16))
        add(&t, "undefined instruction");
    if (cfsr & (1u << 17))
        add(&t, "invalid state (EPSR.T or IT bits; a branch to an even address?)");
    if (cfsr & (1u << 18))
        add(&t, "invalid PC load (bad EXC_RETURN)");
    if (cfsr & (1u << 19))
        add(&t, "coprocessor access while disabled or absent (FPU off in CPACR?)");
    if (cfsr & (1u << 20))
        add(&t, "stack overflow (stack limit register)");
    if (cfsr & (1u << 24))
        add(&t, "unaligned access");
    if (cfsr & (1u << 25))
        add(&t, "divide by zero");

    /* HardFault (HFSR) */
    if (hfsr & (1u << 1))
        add(&t, "bus fault on a vector table read");
    if (hfsr & (1u << 30))
        add(&t, "forced (escalated to HardFault)");
    if (hfsr & (1u << 31))
        add(&t, "debug event with halting debug disabled (BKPT?)");

    if (!t.cut && t.used == 0)
        add(&t, "no fault recorded");
    return t.cut ? LODE_E_NOMEM : LODE_OK;
}
