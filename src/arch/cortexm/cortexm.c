/* SPDX-License-Identifier: MIT */
/* Cortex-M run control, core registers, FPB and DWT through a MEM-AP. Written from the
 * ARMv7-M Architecture Reference Manual (DDI 0403E): B3.2 (SCB: CPUID, AIRCR, CPACR),
 * B4.6 / MVFR0, C1.6 (DHCSR, DCRSR, DCRDR, DEMCR, DFSR), C1.8 (DWT), C1.11 (FPB). */
#include "lode/cortexm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"

#define HALT_POLLS 200u
#define REGRDY_POLLS 100u
#define RESET_POLLS 500u
#define BATCH_REGS 32u
#define FPB_MAX 128u
#define DWT_MAX 16u

#define AIRCR_VECTKEY 0x05FA0000u
#define AIRCR_SYSRESETREQ (1u << 2)
#define DCRSR_REGWNR (1u << 16)
#define FP_CTRL_KEY (1u << 1)
#define FP_CTRL_ENABLE (1u << 0)
#define FP_COMP(n) (0xE0002008u + 4u * (n))
#define DWT_COMP(n) (0xE0001020u + 16u * (n))
#define DWT_MASK(n) (0xE0001024u + 16u * (n))
#define DWT_FUNCTION(n) (0xE0001028u + 16u * (n))
#define DFSR_ALL 0x1Fu

typedef struct fpb_slot_s {
    bool used;
    uint32_t addr; /* FPBv1: word address; FPBv2: instruction address */
    uint8_t hw;    /* FPBv1: bit 0 lower halfword, bit 1 upper halfword */
} fpb_slot_s;

typedef struct dwt_slot_s {
    bool used;
    uint32_t addr, size;
    unsigned kind;
} dwt_slot_s;

struct lode_cortexm_s {
    lode_adi_s *adi;
    unsigned ap;
    const lode_log_s *log;
    lode_cortexm_info_s info;
    bool halted_known; /* we saw S_HALT and have not let the core run since */
    lode_cortexm_regio_s regio; /* a probe's own register commands (read/write NULL if none) */

    bool fpb_init;
    unsigned fpb_n, fpb_rev;
    fpb_slot_s fpb[FPB_MAX];

    bool dwt_init;
    unsigned dwt_n;
    dwt_slot_s dwt[DWT_MAX];
};

static int rd(lode_cortexm_s *cm, uint32_t addr, uint32_t *v)
{
    return lode_adi_mem_read32(cm->adi, cm->ap, addr, v);
}

static int wr(lode_cortexm_s *cm, uint32_t addr, uint32_t v)
{
    return lode_adi_mem_write32(cm->adi, cm->ap, addr, v);
}

/* ---- identification ---------------------------------------------------------------------- */
static void identify(lode_cortexm_info_s *in)
{
    unsigned part = (in->cpuid >> 4) & 0xFFFu;
    in->variant = (in->cpuid >> 20) & 0xFu;
    in->revision = in->cpuid & 0xFu;
    static const struct {
        unsigned part;
        lode_cortexm_core_e core;
        const char *name;
        bool v6m;
    } cores[] = {
        {0xC20, LODE_CM_CORE_M0, "Cortex-M0", true},
        {0xC60, LODE_CM_CORE_M0PLUS, "Cortex-M0+", true},
        {0xC21, LODE_CM_CORE_M1, "Cortex-M1", true},
        {0xC23, LODE_CM_CORE_M3, "Cortex-M3", false},
        {0xC24, LODE_CM_CORE_M4, "Cortex-M4", false},
        {0xC27, LODE_CM_CORE_M7, "Cortex-M7", false},
        {0xD20, LODE_CM_CORE_M23, "Cortex-M23", true},
        {0xD21, LODE_CM_CORE_M33, "Cortex-M33", false},
    };
    in->core = LODE_CM_CORE_UNKNOWN;
    in->name = "unknown Cortex-M";
    if ((in->cpuid >> 24) != 0x41u) /* implementer ARM */
        return;
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        if (cores[i].part == part) {
            in->core = cores[i].core;
            in->name = cores[i].name;
            in->v6m = cores[i].v6m;
        }
    }
}

static int probe_fpu(lode_cortexm_s *cm)
{
    lode_cortexm_info_s *in = &cm->info;
    if (in->core != LODE_CM_CORE_M4 && in->core != LODE_CM_CORE_M7 &&
        in->core != LODE_CM_CORE_M33)
        return LODE_OK; /* no FP extension exists for the others */
    uint32_t mvfr0 = 0;
    int err = rd(cm, LODE_CM_MVFR0, &mvfr0);
    if (err != LODE_OK)
        return err;
    if (mvfr0 != 0) {
        in->fpu = ((mvfr0 >> 4) & 0xFu) != 0; /* single precision */
        in->fpu_double = ((mvfr0 >> 8) & 0xFu) != 0;
        return LODE_OK;
    }
    /* CPACR.CP10/CP11 are RAZ/WI without the FP extension (B3.2.20): write and read back. */
    uint32_t cpacr = 0, probe = 0;
    err = rd(cm, LODE_CM_CPACR, &cpacr);
    if (err == LODE_OK)
        err = wr(cm, LODE_CM_CPACR, cpacr | (0xFu << 20));
    if (err == LODE_OK)
        err = rd(cm, LODE_CM_CPACR, &probe);
    int err2 = wr(cm, LODE_CM_CPACR, cpacr);
    if (err == LODE_OK)
        err = err2;
    if (err == LODE_OK)
        in->fpu = ((probe >> 20) & 0xFu) != 0;
    return err;
}

int lode_cortexm_new(lode_adi_s *adi, unsigned ap, const lode_log_s *log, lode_cortexm_s **out)
{
    if (!adi || !out || ap > 255u)
        return LODE_E_INVALID_ARG;
    lode_cortexm_s *cm = calloc(1, sizeof *cm);
    if (!cm)
        return LODE_E_NOMEM;
    cm->adi = adi;
    cm->ap = ap;
    cm->log = log;
    int err = rd(cm, LODE_CM_CPUID, &cm->info.cpuid);
    if (err != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: cannot read CPUID on AP%u (%s); is it the core's AHB-AP?", ap,
                 lode_strerror(err));
        goto fail;
    }
    identify(&cm->info);
    err = probe_fpu(cm);
    if (err != LODE_OK)
        goto fail;
    lode_log(log, LODE_LOG_INFO, LODE_LOGC_ADI, "cortexm: %s r%up%u (CPUID 0x%08x)%s",
             cm->info.name, cm->info.variant, cm->info.revision, (unsigned)cm->info.cpuid,
             cm->info.fpu ? (cm->info.fpu_double ? ", FPU (DP)" : ", FPU") : "");
    *out = cm;
    return LODE_OK;
fail:
    free(cm);
    return err;
}

void lode_cortexm_free(lode_cortexm_s *cm)
{
    free(cm);
}

const lode_cortexm_info_s *lode_cortexm_info(const lode_cortexm_s *cm)
{
    return cm ? &cm->info : NULL;
}

/* ---- status and run control ---------------------------------------------------------------- */
int lode_cortexm_status(lode_cortexm_s *cm, lode_cortexm_status_s *st)
{
    if (!cm || !st)
        return LODE_E_INVALID_ARG;
    uint32_t dhcsr = 0, dfsr = 0;
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &dhcsr);
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DFSR, &dfsr);
    int err = lode_adi_run(cm->adi);
    if (err != LODE_OK)
        return err;
    memset(st, 0, sizeof *st);
    st->dhcsr = dhcsr;
    st->dfsr = dfsr;
    st->halted = (dhcsr & LODE_CM_DHCSR_S_HALT) != 0;
    st->lockup = (dhcsr & LODE_CM_DHCSR_S_LOCKUP) != 0;
    st->sleeping = (dhcsr & LODE_CM_DHCSR_S_SLEEP) != 0;
    st->reset_seen = (dhcsr & LODE_CM_DHCSR_S_RESET_ST) != 0;
    st->retired = (dhcsr & LODE_CM_DHCSR_S_RETIRE_ST) != 0;
    cm->halted_known = st->halted;
    return LODE_OK;
}

int lode_cortexm_is_halted(lode_cortexm_s *cm, bool *halted)
{
    if (!cm || !halted)
        return LODE_E_INVALID_ARG;
    uint32_t dhcsr = 0;
    int err = rd(cm, LODE_CM_DHCSR, &dhcsr);
    if (err != LODE_OK)
        return err;
    *halted = (dhcsr & LODE_CM_DHCSR_S_HALT) != 0;
    cm->halted_known = *halted;
    return LODE_OK;
}

void lode_cortexm_dfsr_describe(uint32_t dfsr, char *buf, size_t len)
{
    static const char *const words[] = {"halt request", "breakpoint", "watchpoint (DWT)",
                                        "vector catch", "external (EDBGRQ)"};
    if (!buf || !len)
        return;
    buf[0] = '\0';
    size_t used = 0;
    for (unsigned i = 0; i < 5; i++) {
        if (!(dfsr & (1u << i)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", words[i]);
        if (n < 0 || (size_t)n >= len - used)
            return;
        used += (size_t)n;
    }
    if (!used)
        snprintf(buf, len, "none");
}

/* Poll DHCSR until (dhcsr & mask) == want. */
static int poll_dhcsr(lode_cortexm_s *cm, uint32_t mask, uint32_t want, unsigned polls,
                      uint32_t *last)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < polls; i++) {
        int err = rd(cm, LODE_CM_DHCSR, &v);
        if (err != LODE_OK)
            return err;
        if ((v & mask) == want) {
            if (last)
                *last = v;
            return LODE_OK;
        }
    }
    if (last)
        *last = v;
    return LODE_E_TIMEOUT;
}

int lode_cortexm_halt(lode_cortexm_s *cm)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    int err = wr(cm, LODE_CM_DHCSR,
                 LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN | LODE_CM_DHCSR_C_HALT);
    if (err != LODE_OK)
        return err;
    uint32_t v = 0;
    err = poll_dhcsr(cm, LODE_CM_DHCSR_S_HALT, LODE_CM_DHCSR_S_HALT, HALT_POLLS, &v);
    if (err == LODE_E_TIMEOUT)
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: core did not halt (DHCSR 0x%08x)%s", (unsigned)v,
                 (v & LODE_CM_DHCSR_S_LOCKUP) ? "; it is locked up: reset it" : "");
    cm->halted_known = err == LODE_OK;
    return err;
}

/* FPB slot whose breakpoint matches `pc`, or -1. */
static bool fpb_any_used(const lode_cortexm_s *cm)
{
    for (unsigned i = 0; cm->fpb_init && i < cm->fpb_n; i++)
        if (cm->fpb[i].used)
            return true;
    return false;
}

static int fpb_slot_at(const lode_cortexm_s *cm, uint32_t pc)
{
    if (!cm->fpb_init)
        return -1;
    for (unsigned i = 0; i < cm->fpb_n; i++) {
        const fpb_slot_s *s = &cm->fpb[i];
        if (!s->used)
            continue;
        if (cm->fpb_rev == 0) {
            if (s->addr == (pc & ~3u) && (s->hw & ((pc & 2u) ? 2u : 1u)))
                return (int)i;
        } else if (s->addr == pc) {
            return (int)i;
        }
    }
    return -1;
}

static uint32_t fpb_comp_value(const lode_cortexm_s *cm, const fpb_slot_s *s)
{
    if (!s->used)
        return 0;
    if (cm->fpb_rev == 0) {
        /* FPBv1 (C1.11.5): REPLACE[31:30] = 01 lower, 10 upper, 11 both halfwords;
         * COMP[28:2] the word address; ENABLE bit 0. */
        uint32_t replace = (uint32_t)s->hw << 30;
        return replace | (s->addr & 0x1FFFFFFCu) | 1u;
    }
    return (s->addr & ~1u) | 1u; /* FPBv2: BPADDR[31:1], BE */
}

/* One instruction with the core halted. */
static int do_step(lode_cortexm_s *cm, bool mask_ints)
{
    const uint32_t base = LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN;
    int err = LODE_OK;
    if (mask_ints) /* C_MASKINTS may change only while halted (C1.6.2) */
        err = wr(cm, LODE_CM_DHCSR, base | LODE_CM_DHCSR_C_HALT | LODE_CM_DHCSR_C_MASKINTS);
    if (err == LODE_OK)
        err = wr(cm, LODE_CM_DFSR, DFSR_ALL);
    if (err == LODE_OK)
        err = wr(cm, LODE_CM_DHCSR,
                 base | LODE_CM_DHCSR_C_STEP | (mask_ints ? LODE_CM_DHCSR_C_MASKINTS : 0));
    cm->halted_known = false;
    if (err == LODE_OK)
        err = poll_dhcsr(cm, LODE_CM_DHCSR_S_HALT, LODE_CM_DHCSR_S_HALT, HALT_POLLS, NULL);
    if (err == LODE_OK) {
        cm->halted_known = true;
        /* back to a plain halt: C_STEP and C_MASKINTS off */
        err = wr(cm, LODE_CM_DHCSR, base | LODE_CM_DHCSR_C_HALT);
    }
    return err;
}

/* Step with the FPB comparator at the PC switched off (a breakpoint at the PC would halt
 * again before the instruction executes). */
static int step_over(lode_cortexm_s *cm, bool mask_ints)
{
    uint32_t pc = 0;
    int err = lode_cortexm_reg_read(cm, LODE_CM_REG_PC, &pc);
    if (err != LODE_OK)
        return err;
    int slot = fpb_slot_at(cm, pc);
    if (slot >= 0) {
        err = wr(cm, FP_COMP(slot), 0);
        if (err != LODE_OK)
            return err;
    }
    err = do_step(cm, mask_ints);
    if (slot >= 0) {
        int err2 = wr(cm, FP_COMP(slot), fpb_comp_value(cm, &cm->fpb[slot]));
        if (err == LODE_OK)
            err = err2;
    }
    return err;
}

int lode_cortexm_step(lode_cortexm_s *cm, bool mask_ints)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    bool halted = false;
    int err = lode_cortexm_is_halted(cm, &halted);
    if (err != LODE_OK)
        return err;
    if (!halted)
        return LODE_E_STATE;
    return step_over(cm, mask_ints);
}

int lode_cortexm_resume(lode_cortexm_s *cm)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    /* a core seen halted stays halted until the debugger lets it run (and if a reset let it
     * run meanwhile, the writes below change nothing) */
    bool halted = cm->halted_known;
    int err = LODE_OK;
    if (!halted && ((err = lode_cortexm_is_halted(cm, &halted)) != LODE_OK || !halted))
        return err;
    if (fpb_any_used(cm)) { /* step over a breakpoint at the PC first */
        uint32_t pc = 0;
        err = lode_cortexm_reg_read(cm, LODE_CM_REG_PC, &pc);
        if (err != LODE_OK)
            return err;
        if (fpb_slot_at(cm, pc) >= 0) {
            err = step_over(cm, true);
            if (err != LODE_OK)
                return err;
        }
    }
    /* clear the halt reasons and let it run: one probe round trip */
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DFSR, DFSR_ALL);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DHCSR, LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN);
    err = lode_adi_run(cm->adi);
    cm->halted_known = false;
    return err;
}

static int regsel_of(const lode_cortexm_s *cm, unsigned reg, unsigned *sel);

int lode_cortexm_resume_regs(lode_cortexm_s *cm, const unsigned *regs, const uint32_t *vals, size_t n)
{
    if (!cm || (n && (!regs || !vals)))
        return LODE_E_INVALID_ARG;
    bool fast = cm->halted_known && !cm->regio.write && n <= 4 && lode_adi_can_submit(cm->adi) > 0 &&
                lode_adi_pending(cm->adi) == 0;
    fast = fast && !fpb_any_used(cm); /* a breakpoint at the new PC needs the step-over path */
    unsigned sel[4];
    for (size_t i = 0; fast && i < n; i++)
        fast = regsel_of(cm, regs[i], &sel[i]) == LODE_OK &&
               !(regs[i] >= LODE_CM_REG_PRIMASK && regs[i] <= LODE_CM_REG_CONTROL);
    if (fast) {
        for (size_t i = 0; i < n; i++) {
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRDR, vals[i]);
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRSR, DCRSR_REGWNR | sel[i]);
            /* the transfer done (and still halted), or the command stops here */
            lode_adi_queue_match32(cm->adi, cm->ap, LODE_CM_DHCSR,
                                   LODE_CM_DHCSR_S_REGRDY | LODE_CM_DHCSR_S_HALT,
                                   LODE_CM_DHCSR_S_REGRDY | LODE_CM_DHCSR_S_HALT);
        }
        lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DFSR, DFSR_ALL);
        lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DHCSR, LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN);
        int err = lode_adi_submit(cm->adi);
        if (err == LODE_OK)
            err = lode_adi_collect(cm->adi);
        if (err == LODE_OK) {
            cm->halted_known = false;
            return LODE_OK;
        }
        /* too big for one command, or a register not ready: the resume did not happen */
        if (err != LODE_E_RANGE && err != LODE_E_TIMEOUT) {
            cm->halted_known = false; /* the resume may have been executed */
            return err;
        }
    }
    /* a probe that batches scattered accesses (the ST-Link) instead of its one-register
     * commands: the registers through DCRDR/DCRSR, each followed by a DHCSR read, and the DFSR
     * clear in one run; the resume once every read showed S_REGRDY (no value match here) */
    bool batch = cm->halted_known && lode_adi_batches(cm->adi) && lode_adi_pending(cm->adi) == 0 &&
                 n >= 1 && n <= 8 && !fpb_any_used(cm);
    unsigned bsel[8];
    for (size_t i = 0; batch && i < n; i++)
        batch = regsel_of(cm, regs[i], &bsel[i]) == LODE_OK &&
                !(regs[i] >= LODE_CM_REG_PRIMASK && regs[i] <= LODE_CM_REG_CONTROL);
    if (batch) {
        uint32_t seen[8];
        for (size_t i = 0; i < n; i++) {
            seen[i] = 0;
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRDR, vals[i]);
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRSR, DCRSR_REGWNR | bsel[i]);
            lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &seen[i]);
        }
        lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DFSR, DFSR_ALL);
        int err = lode_adi_run(cm->adi);
        const uint32_t ready = LODE_CM_DHCSR_S_REGRDY | LODE_CM_DHCSR_S_HALT;
        bool ok = err == LODE_OK;
        for (size_t i = 0; ok && i < n; i++)
            ok = (seen[i] & ready) == ready;
        if (ok) {
            err = wr(cm, LODE_CM_DHCSR, LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN);
            cm->halted_known = false;
            return err;
        }
        if (err != LODE_OK && err != LODE_E_FAULT && err != LODE_E_WAIT)
            return err;
        /* a register not ready (or a failed access): written again one at a time */
    }
    int err = lode_cortexm_regs_write(cm, regs, vals, n);
    if (err == LODE_OK)
        err = lode_cortexm_resume(cm);
    return err;
}

/* ---- reset ---------------------------------------------------------------------------------- */
int lode_cortexm_vector_catch(lode_cortexm_s *cm, uint32_t set, uint32_t clear)
{
    if (!cm || ((set | clear) & ~(0x7F1u | LODE_CM_DEMCR_TRCENA)))
        return LODE_E_INVALID_ARG;
    uint32_t demcr = 0;
    int err = rd(cm, LODE_CM_DEMCR, &demcr);
    if (err == LODE_OK)
        err = wr(cm, LODE_CM_DEMCR, (demcr & ~clear) | set);
    return err;
}

/* Wait after SYSRESETREQ for S_RESET_ST (and then S_HALT when want_halt); reset_seen says
 * whether an earlier read already saw S_RESET_ST. The DP may not answer while the system is
 * in reset: errors during the wait count as polls. */
static int reset_wait(lode_cortexm_s *cm, bool want_halt, bool reset_seen)
{
    uint32_t dhcsr = 0;
    int last = LODE_OK;
    for (unsigned i = 0; i < RESET_POLLS; i++) {
        last = rd(cm, LODE_CM_DHCSR, &dhcsr);
        if (last != LODE_OK)
            continue;
        if (dhcsr & LODE_CM_DHCSR_S_RESET_ST)
            reset_seen = true;
        if (reset_seen && (!want_halt || (dhcsr & LODE_CM_DHCSR_S_HALT))) {
            cm->halted_known = (dhcsr & LODE_CM_DHCSR_S_HALT) != 0;
            return LODE_OK;
        }
    }
    lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
             "cortexm: %s after SYSRESETREQ (DHCSR 0x%08x%s%s)",
             reset_seen ? "core did not halt" : "no reset seen", (unsigned)dhcsr,
             last != LODE_OK ? ", last read: " : "", last != LODE_OK ? lode_strerror(last) : "");
    return LODE_E_TIMEOUT;
}

/* SYSRESETREQ (B3.2.6) and wait; the caller has read DHCSR since the last reset it cares
 * about (that read cleared a stale S_RESET_ST, C1.6.3). */
static int sysreset(lode_cortexm_s *cm, bool want_halt)
{
    cm->halted_known = false;
    int err = wr(cm, LODE_CM_AIRCR, AIRCR_VECTKEY | AIRCR_SYSRESETREQ);
    if (err != LODE_OK && err != LODE_E_FAULT && err != LODE_E_WAIT)
        return err; /* a FAULT/WAIT here can be the reset itself: the wait decides */
    return reset_wait(cm, want_halt, false);
}

/* The whole reset as one pipelined probe command when the probe takes value-match reads
 * (CMSIS-DAP): `pre` writes, SYSRESETREQ, the probe reads DHCSR until S_RESET_ST (a reset
 * since the caller's read), one more DHCSR read (proof of that match for a failed run), then
 * until S_HALT (want_halt; the halt that follows the reset: S_HALT before it was cleared by
 * the reset), then `post` writes. *sent = false: not possible (nothing was sent); after a
 * failed run *seen says whether the reset was seen (the rest is the caller's slow path). */
static int reset_batched(lode_cortexm_s *cm, const uint32_t (*pre)[2], size_t npre, bool want_halt,
                         const uint32_t (*post)[2], size_t npost, bool *sent, bool *seen)
{
    *sent = *seen = false;
    if (lode_adi_can_submit(cm->adi) == 0 || lode_adi_pending(cm->adi) != 0)
        return LODE_OK;
    uint32_t after = 0;
    for (size_t i = 0; i < npre; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, pre[i][0], pre[i][1]);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_AIRCR, AIRCR_VECTKEY | AIRCR_SYSRESETREQ);
    lode_adi_queue_match32(cm->adi, cm->ap, LODE_CM_DHCSR, LODE_CM_DHCSR_S_RESET_ST, LODE_CM_DHCSR_S_RESET_ST);
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &after);
    if (want_halt)
        lode_adi_queue_match32(cm->adi, cm->ap, LODE_CM_DHCSR, LODE_CM_DHCSR_S_HALT, LODE_CM_DHCSR_S_HALT);
    for (size_t i = 0; i < npost; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, post[i][0], post[i][1]);
    int err = lode_adi_submit(cm->adi);
    if (err == LODE_E_RANGE || err == LODE_E_UNSUPPORTED)
        return LODE_OK; /* too big for one command: nothing was sent */
    *sent = true;
    cm->halted_known = false;
    if (err == LODE_OK)
        err = lode_adi_collect(cm->adi);
    /* DHCSR always reads with C_DEBUGEN set here: 0 means the read did not happen */
    *seen = after != 0;
    if (err == LODE_OK)
        cm->halted_known = want_halt;
    return err;
}

int lode_cortexm_reset(lode_cortexm_s *cm)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    uint32_t dhcsr = 0;
    int err = rd(cm, LODE_CM_DHCSR, &dhcsr); /* clears a stale S_RESET_ST */
    if (err != LODE_OK)
        return err;
    bool sent = false, seen = false;
    err = reset_batched(cm, NULL, 0, false, NULL, 0, &sent, &seen);
    if (sent && (err == LODE_OK || seen))
        return LODE_OK;
    if (sent && (err = rd(cm, LODE_CM_DHCSR, &dhcsr)) != LODE_OK)
        return err;
    return sysreset(cm, false);
}

#define DEMCR_UNREAD 0xFFFFFFFFu /* DEMCR's reserved bits read as zero: never a value read */

/* Reset-halt with a probe that batches scattered accesses (the ST-Link's RW_MISC) and has no
 * value-match reads: DHCSR read (clearing a stale S_RESET_ST) and DEMCR read, halt with
 * DEBUGEN, DEMCR = VC_CORERESET | TRCENA (the value read is put back after), SYSRESETREQ, all
 * in one run (one batch); then the waits, DEMCR put back, DFSR.VCATCH cleared. On a failed
 * batch *retry (the caller's path, with *demcr the value read or DEMCR_UNREAD). */
static int reset_halt_batched(lode_cortexm_s *cm, const uint32_t (*w)[2], size_t n, uint32_t *demcr,
                              bool *retry)
{
    uint32_t dhcsr = 0;
    *demcr = DEMCR_UNREAD;
    *retry = false;
    cm->halted_known = false;
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &dhcsr);
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DEMCR, demcr);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DHCSR,
                           LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN | LODE_CM_DHCSR_C_HALT);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DEMCR, LODE_CM_DEMCR_VC_CORERESET | LODE_CM_DEMCR_TRCENA);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_AIRCR, AIRCR_VECTKEY | AIRCR_SYSRESETREQ);
    int err = lode_adi_run(cm->adi);
    if (err != LODE_OK || *demcr == DEMCR_UNREAD) {
        *retry = true;
        return err;
    }
    err = reset_wait(cm, true, false);
    if (err != LODE_OK) {
        wr(cm, LODE_CM_DEMCR, *demcr); /* restore DEMCR even when the reset failed */
        return err;
    }
    /* the caller's writes, DEMCR put back and VCATCH cleared: one batch when they are three */
    for (size_t i = 0; i < n; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, w[i][0], w[i][1]);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DEMCR, *demcr);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DFSR, LODE_CM_DFSR_VCATCH);
    return lode_adi_run(cm->adi);
}

/* Reset and halt at the reset vector (C1.6.5 VC_CORERESET): DEMCR and DHCSR read in one
 * command (the read clears a stale S_RESET_ST), then DEBUGEN (if off) and VC_CORERESET, the
 * reset, the waits for S_RESET_ST and S_HALT, DEMCR put back and DFSR.VCATCH cleared; with
 * CMSIS-DAP all of that is a second command. */
int lode_cortexm_reset_halt(lode_cortexm_s *cm)
{
    return lode_cortexm_reset_halt_writes(cm, NULL, 0);
}

#define RESET_WRITES_MAX 32u

int lode_cortexm_reset_halt_writes(lode_cortexm_s *cm, const uint32_t (*w)[2], size_t n)
{
    if (!cm || (n && !w) || n > RESET_WRITES_MAX)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (w[i][0] & 3u)
            return LODE_E_INVALID_ARG;
    uint32_t known = DEMCR_UNREAD;
    bool batched = lode_adi_batches(cm->adi) && lode_adi_can_submit(cm->adi) == 0 &&
                   lode_adi_pending(cm->adi) == 0;
    if (batched) {
        bool retry = false;
        int berr = reset_halt_batched(cm, w, n, &known, &retry);
        if (!retry)
            return berr;
    }
    uint32_t demcr = 0, dhcsr = 0;
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DEMCR, &demcr);
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &dhcsr);
    int err = lode_adi_run(cm->adi);
    if (err != LODE_OK)
        return err;
    if (batched) /* the failed batch may have set VC_CORERESET: put back what it read */
        demcr = known != DEMCR_UNREAD ? known : demcr & ~LODE_CM_DEMCR_VC_CORERESET;
    cm->halted_known = false;
    uint32_t pre[2][2], post[2 + RESET_WRITES_MAX][2] = {{LODE_CM_DEMCR, demcr}, {LODE_CM_DFSR, LODE_CM_DFSR_VCATCH}};
    for (size_t i = 0; i < n; i++)
        post[2 + i][0] = w[i][0], post[2 + i][1] = w[i][1];
    size_t npre = 0;
    if (!(dhcsr & LODE_CM_DHCSR_C_DEBUGEN)) {
        pre[npre][0] = LODE_CM_DHCSR;
        pre[npre++][1] = LODE_CM_DHCSR_DBGKEY | LODE_CM_DHCSR_C_DEBUGEN;
    }
    pre[npre][0] = LODE_CM_DEMCR;
    pre[npre++][1] = demcr | LODE_CM_DEMCR_VC_CORERESET;
    bool sent = false, seen = false;
    err = reset_batched(cm, (const uint32_t(*)[2])pre, npre, true, (const uint32_t(*)[2])post, 2 + n, &sent, &seen);
    if (sent && err == LODE_OK)
        return LODE_OK;
    if (sent && seen) {
        /* the reset happened: wait for the halt, VC_CORERESET still set */
        err = reset_wait(cm, true, true);
    } else {
        /* one access at a time (also when a batch failed before the reset was seen: then a
         * fresh read of DHCSR and the whole sequence again) */
        err = LODE_OK;
        if (sent)
            err = rd(cm, LODE_CM_DHCSR, &dhcsr);
        for (size_t i = 0; i < npre && err == LODE_OK; i++)
            err = wr(cm, pre[i][0], pre[i][1]);
        if (err == LODE_OK)
            err = sysreset(cm, true);
    }
    /* restore DEMCR even when the reset failed */
    int err2 = wr(cm, LODE_CM_DEMCR, demcr);
    if (err == LODE_OK)
        err = err2;
    if (err == LODE_OK)
        err = wr(cm, LODE_CM_DFSR, LODE_CM_DFSR_VCATCH);
    for (size_t i = 0; i < n && err == LODE_OK; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, w[i][0], w[i][1]);
    if (err == LODE_OK && n)
        err = lode_adi_run(cm->adi);
    return err;
}

/* ---- core registers ------------------------------------------------------------------------ */
static const char *const reg_names[] = {"r0", "r1", "r2",  "r3",  "r4", "r5", "r6",
                                        "r7", "r8", "r9",  "r10", "r11", "r12", "sp",
                                        "lr", "pc", "xpsr", "msp", "psp"};

const char *lode_cortexm_reg_name(unsigned reg)
{
    static const char *const sregs[32] = {
        "s0",  "s1",  "s2",  "s3",  "s4",  "s5",  "s6",  "s7",  "s8",  "s9",  "s10",
        "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21",
        "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31"};
    if (reg < sizeof reg_names / sizeof reg_names[0])
        return reg_names[reg];
    switch (reg) {
    case LODE_CM_REG_CFBP: return "cfbp";
    case LODE_CM_REG_FPSCR: return "fpscr";
    case LODE_CM_REG_PRIMASK: return "primask";
    case LODE_CM_REG_BASEPRI: return "basepri";
    case LODE_CM_REG_FAULTMASK: return "faultmask";
    case LODE_CM_REG_CONTROL: return "control";
    default: break;
    }
    if (reg >= LODE_CM_REG_S0 && reg < LODE_CM_REG_S0 + 32)
        return sregs[reg - LODE_CM_REG_S0];
    return NULL;
}

int lode_cortexm_reg_number(const char *name, unsigned *reg)
{
    if (!name || !reg)
        return LODE_E_INVALID_ARG;
    static const struct {
        const char *name;
        unsigned reg;
    } aliases[] = {{"r13", 13}, {"r14", 14}, {"r15", 15}, {"psr", 16}};
    for (unsigned i = 0; i <= LODE_CM_REG_S0 + 31; i++) {
        const char *n = lode_cortexm_reg_name(i);
        if (n && strcasecmp(n, name) == 0) {
            *reg = i;
            return LODE_OK;
        }
    }
    for (unsigned i = LODE_CM_REG_PRIMASK; i <= LODE_CM_REG_CONTROL; i++) {
        if (strcasecmp(lode_cortexm_reg_name(i), name) == 0) {
            *reg = i;
            return LODE_OK;
        }
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcasecmp(aliases[i].name, name) == 0) {
            *reg = aliases[i].reg;
            return LODE_OK;
        }
    }
    return LODE_E_INVALID_ARG;
}

/* REGSEL of a register number; LODE_E_INVALID_ARG / LODE_E_UNSUPPORTED. */
static int regsel_of(const lode_cortexm_s *cm, unsigned reg, unsigned *sel)
{
    if (reg <= LODE_CM_REG_PSP) {
        *sel = reg;
        return LODE_OK;
    }
    if (reg == LODE_CM_REG_CFBP || (reg >= LODE_CM_REG_PRIMASK && reg <= LODE_CM_REG_CONTROL)) {
        *sel = LODE_CM_REG_CFBP;
        return LODE_OK;
    }
    if (reg == LODE_CM_REG_FPSCR || (reg >= LODE_CM_REG_S0 && reg < LODE_CM_REG_S0 + 32)) {
        if (!cm->info.fpu)
            return LODE_E_UNSUPPORTED;
        *sel = reg;
        return LODE_OK;
    }
    return LODE_E_INVALID_ARG;
}

static uint32_t extract(unsigned reg, uint32_t raw)
{
    if (reg >= LODE_CM_REG_PRIMASK && reg <= LODE_CM_REG_CONTROL)
        return (raw >> (8u * (reg - LODE_CM_REG_PRIMASK))) & 0xFFu;
    return raw;
}

static int require_halted(lode_cortexm_s *cm)
{
    if (cm->halted_known)
        return LODE_OK;
    bool halted = false;
    int err = lode_cortexm_is_halted(cm, &halted);
    if (err != LODE_OK)
        return err;
    if (!halted) {
        lode_log(cm->log, LODE_LOG_INFO, LODE_LOGC_ADI,
                 "cortexm: core registers need a halted core; halt it first");
        return LODE_E_STATE;
    }
    return LODE_OK;
}

/* One register with S_REGRDY polling (C1.6.3: the transfer is complete when S_REGRDY = 1). */
static int reg_read_slow(lode_cortexm_s *cm, unsigned sel, uint32_t *raw)
{
    int err = wr(cm, LODE_CM_DCRSR, sel);
    if (err == LODE_OK)
        err = poll_dhcsr(cm, LODE_CM_DHCSR_S_REGRDY, LODE_CM_DHCSR_S_REGRDY, REGRDY_POLLS, NULL);
    if (err == LODE_OK)
        err = rd(cm, LODE_CM_DCRDR, raw);
    return err;
}

int lode_cortexm_regs_read(lode_cortexm_s *cm, const unsigned *regs, uint32_t *vals, size_t n)
{
    if (!cm || (n && (!regs || !vals)))
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        unsigned s;
        int err = regsel_of(cm, regs[i], &s);
        if (err != LODE_OK)
            return err;
    }
    int err = require_halted(cm);
    if (err != LODE_OK || n == 0)
        return err;
    uint32_t *raw = malloc(n * sizeof *raw);
    if (!raw)
        return LODE_E_NOMEM;
    if (cm->regio.read) {
        /* the probe transfers each register itself (DCRSR, S_REGRDY, DCRDR) */
        for (size_t i = 0; i < n && err == LODE_OK; i++) {
            unsigned s1 = 0;
            regsel_of(cm, regs[i], &s1);
            err = cm->regio.read(cm->regio.ctx, s1, &raw[i]);
        }
        if (err == LODE_OK)
            for (size_t i = 0; i < n; i++)
                vals[i] = extract(regs[i], raw[i]);
        free(raw);
        return err;
    }
    unsigned sel[BATCH_REGS];
    uint32_t st[BATCH_REGS];
    for (size_t first = 0; first < n && err == LODE_OK; first += BATCH_REGS) {
        size_t m = n - first < BATCH_REGS ? n - first : BATCH_REGS;
        /* Queue DCRSR write, DHCSR read (S_REGRDY check), DCRDR read for each register:
         * one run. An SWD transfer takes far longer than a register transfer, so S_REGRDY
         * is normally set; a register whose DHCSR read says otherwise is read again. */
        for (size_t i = 0; i < m; i++) {
            regsel_of(cm, regs[first + i], &sel[i]);
            st[i] = 0;
            raw[first + i] = 0;
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRSR, sel[i]);
            lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &st[i]);
            lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DCRDR, &raw[first + i]);
        }
        err = lode_adi_run(cm->adi);
        for (size_t i = 0; i < m && err == LODE_OK; i++) {
            if (!(st[i] & LODE_CM_DHCSR_S_HALT)) {
                cm->halted_known = false;
                err = LODE_E_STATE;
            } else if (!(st[i] & LODE_CM_DHCSR_S_REGRDY)) {
                err = reg_read_slow(cm, sel[i], &raw[first + i]);
            }
        }
    }
    if (err == LODE_OK)
        for (size_t i = 0; i < n; i++)
            vals[i] = extract(regs[i], raw[i]);
    free(raw);
    return err;
}

int lode_cortexm_reg_read(lode_cortexm_s *cm, unsigned reg, uint32_t *val)
{
    if (!val)
        return LODE_E_INVALID_ARG;
    return lode_cortexm_regs_read(cm, &reg, val, 1);
}

int lode_cortexm_reg_write(lode_cortexm_s *cm, unsigned reg, uint32_t val)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    unsigned sel;
    int err = regsel_of(cm, reg, &sel);
    if (err != LODE_OK)
        return err;
    err = require_halted(cm);
    if (err != LODE_OK)
        return err;
    uint32_t v = val;
    if (reg >= LODE_CM_REG_PRIMASK && reg <= LODE_CM_REG_CONTROL) {
        uint32_t raw = 0;
        err = reg_read_slow(cm, sel, &raw);
        if (err != LODE_OK)
            return err;
        unsigned sh = 8u * (reg - LODE_CM_REG_PRIMASK);
        v = (raw & ~(0xFFu << sh)) | ((val & 0xFFu) << sh);
    }
    if (cm->regio.write)
        return cm->regio.write(cm->regio.ctx, sel, v);
    uint32_t dhcsr = 0;
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRDR, v);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRSR, DCRSR_REGWNR | sel);
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &dhcsr);
    err = lode_adi_run(cm->adi);
    if (err != LODE_OK)
        return err;
    if (!(dhcsr & LODE_CM_DHCSR_S_HALT)) {
        cm->halted_known = false;
        return LODE_E_STATE;
    }
    if (!(dhcsr & LODE_CM_DHCSR_S_REGRDY))
        err = poll_dhcsr(cm, LODE_CM_DHCSR_S_REGRDY, LODE_CM_DHCSR_S_REGRDY, REGRDY_POLLS, NULL);
    return err;
}

int lode_cortexm_regs_write(lode_cortexm_s *cm, const unsigned *regs, const uint32_t *vals, size_t n)
{
    if (!cm || (n && (!regs || !vals)))
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        unsigned s;
        int err = regsel_of(cm, regs[i], &s);
        if (err != LODE_OK)
            return err;
    }
    int err = require_halted(cm);
    if (err != LODE_OK || n == 0)
        return err;
    /* Queue DCRDR write, DCRSR write, DHCSR read per register: one run. The DHCSR read between
     * two registers takes far longer than the core's register transfer, so the next DCRDR
     * write never overtakes it; a DHCSR without S_REGRDY sends the rest the slow way. The
     * one-byte pseudo registers need a read-modify-write and go one at a time. */
    uint32_t st[BATCH_REGS];
    size_t i = 0;
    while (i < n && err == LODE_OK) {
        if ((regs[i] >= LODE_CM_REG_PRIMASK && regs[i] <= LODE_CM_REG_CONTROL) || cm->regio.write) {
            err = lode_cortexm_reg_write(cm, regs[i], vals[i]);
            i++;
            continue;
        }
        size_t m = 0;
        while (i + m < n && m < BATCH_REGS &&
               !(regs[i + m] >= LODE_CM_REG_PRIMASK && regs[i + m] <= LODE_CM_REG_CONTROL)) {
            unsigned sel = 0;
            regsel_of(cm, regs[i + m], &sel);
            st[m] = 0;
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRDR, vals[i + m]);
            lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_DCRSR, DCRSR_REGWNR | sel);
            lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DHCSR, &st[m]);
            m++;
        }
        err = lode_adi_run(cm->adi);
        for (size_t k = 0; k < m && err == LODE_OK; k++) {
            if (!(st[k] & LODE_CM_DHCSR_S_HALT)) {
                cm->halted_known = false;
                err = LODE_E_STATE;
            } else if (!(st[k] & LODE_CM_DHCSR_S_REGRDY)) {
                /* the core was slow: redo this one and the rest one at a time */
                for (size_t r = k; r < m && err == LODE_OK; r++)
                    err = lode_cortexm_reg_write(cm, regs[i + r], vals[i + r]);
                break;
            }
        }
        i += m;
    }
    return err;
}

void lode_cortexm_set_regio(lode_cortexm_s *cm, const lode_cortexm_regio_s *io)
{
    if (!cm)
        return;
    if (io)
        cm->regio = *io;
    else
        memset(&cm->regio, 0, sizeof cm->regio);
}

/* ---- FPB -------------------------------------------------------------------------------------- */
static int fpb_setup(lode_cortexm_s *cm)
{
    if (cm->fpb_init)
        return LODE_OK;
    uint32_t ctrl = 0;
    int err = rd(cm, LODE_CM_FP_CTRL, &ctrl);
    if (err != LODE_OK)
        return err;
    /* NUM_CODE = FP_CTRL[14:12]:[7:4] (C1.11.3) */
    unsigned n = (((ctrl >> 12) & 7u) << 4) | ((ctrl >> 4) & 0xFu);
    cm->fpb_n = n > FPB_MAX ? FPB_MAX : n;
    cm->fpb_rev = (ctrl >> 28) & 0xFu;
    if (cm->fpb_rev > 1) {
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI, "cortexm: unknown FPB revision %u",
                 cm->fpb_rev);
        return LODE_E_UNSUPPORTED;
    }
    /* lode owns the FPB from here: start with every comparator off */
    for (unsigned i = 0; i < cm->fpb_n; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, FP_COMP(i), 0);
    lode_adi_queue_write32(cm->adi, cm->ap, LODE_CM_FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    err = lode_adi_run(cm->adi);
    if (err != LODE_OK)
        return err;
    memset(cm->fpb, 0, sizeof cm->fpb);
    cm->fpb_init = true;
    return LODE_OK;
}

int lode_cortexm_bp_count(lode_cortexm_s *cm, unsigned *n)
{
    if (!cm || !n)
        return LODE_E_INVALID_ARG;
    int err = fpb_setup(cm);
    if (err == LODE_OK)
        *n = cm->fpb_n;
    return err;
}

int lode_cortexm_bp_set(lode_cortexm_s *cm, uint32_t addr)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    addr &= ~1u; /* a Thumb function symbol's bit 0 */
    int err = fpb_setup(cm);
    if (err != LODE_OK)
        return err;
    if (cm->fpb_rev == 0 && addr >= 0x20000000u) {
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: 0x%08x is outside the code region the FPB can match (< 0x20000000)",
                 (unsigned)addr);
        return LODE_E_RANGE;
    }
    uint32_t key = cm->fpb_rev == 0 ? (addr & ~3u) : addr;
    uint8_t hw = cm->fpb_rev == 0 ? ((addr & 2u) ? 2u : 1u) : 0u;
    int slot = -1;
    for (unsigned i = 0; i < cm->fpb_n; i++) {
        if (cm->fpb[i].used && cm->fpb[i].addr == key) {
            if ((cm->fpb[i].hw & hw) == hw)
                return LODE_OK; /* already set */
            slot = (int)i;
            break;
        }
    }
    if (slot < 0) {
        for (unsigned i = 0; i < cm->fpb_n && slot < 0; i++)
            if (!cm->fpb[i].used)
                slot = (int)i;
    }
    if (slot < 0) {
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: all %u hardware breakpoints are in use; clear one first", cm->fpb_n);
        return LODE_E_NOMEM;
    }
    fpb_slot_s ns = cm->fpb[slot];
    if (!ns.used) {
        ns.used = true;
        ns.addr = key;
        ns.hw = 0;
    }
    ns.hw |= hw;
    err = wr(cm, FP_COMP(slot), fpb_comp_value(cm, &ns));
    if (err == LODE_OK)
        cm->fpb[slot] = ns;
    return err;
}

int lode_cortexm_bp_clear(lode_cortexm_s *cm, uint32_t addr)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    addr &= ~1u;
    if (!cm->fpb_init)
        return LODE_E_INVALID_ARG;
    uint32_t key = cm->fpb_rev == 0 ? (addr & ~3u) : addr;
    uint8_t hw = cm->fpb_rev == 0 ? ((addr & 2u) ? 2u : 1u) : 0u;
    for (unsigned i = 0; i < cm->fpb_n; i++) {
        fpb_slot_s ns = cm->fpb[i];
        if (!ns.used || ns.addr != key || (hw && !(ns.hw & hw)))
            continue;
        ns.hw &= (uint8_t)~hw;
        if (cm->fpb_rev != 0 || ns.hw == 0)
            ns.used = false;
        int err = wr(cm, FP_COMP(i), fpb_comp_value(cm, &ns));
        if (err == LODE_OK)
            cm->fpb[i] = ns;
        return err;
    }
    return LODE_E_INVALID_ARG;
}

int lode_cortexm_bp_clear_all(lode_cortexm_s *cm)
{
    if (!cm)
        return LODE_E_INVALID_ARG;
    if (!cm->fpb_init)
        return fpb_setup(cm); /* setup clears every comparator */
    for (unsigned i = 0; i < cm->fpb_n; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, FP_COMP(i), 0);
    int err = lode_adi_run(cm->adi);
    if (err == LODE_OK)
        memset(cm->fpb, 0, sizeof cm->fpb);
    return err;
}

/* ---- DWT -------------------------------------------------------------------------------------- */
static int dwt_setup(lode_cortexm_s *cm)
{
    if (cm->dwt_init)
        return LODE_OK;
    if (cm->info.core == LODE_CM_CORE_M23 || cm->info.core == LODE_CM_CORE_M33) {
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: ARMv8-M DWT watchpoints are not supported yet");
        return LODE_E_UNSUPPORTED;
    }
    /* TRCENA first: the DWT registers may not be accessible without it (C1.6.5). */
    int err = lode_cortexm_vector_catch(cm, LODE_CM_DEMCR_TRCENA, 0);
    uint32_t ctrl = 0;
    if (err == LODE_OK)
        err = rd(cm, LODE_CM_DWT_CTRL, &ctrl);
    if (err != LODE_OK)
        return err;
    unsigned n = ctrl >> 28; /* NUMCOMP */
    cm->dwt_n = n > DWT_MAX ? DWT_MAX : n;
    for (unsigned i = 0; i < cm->dwt_n; i++)
        lode_adi_queue_write32(cm->adi, cm->ap, DWT_FUNCTION(i), 0);
    err = lode_adi_run(cm->adi);
    if (err != LODE_OK)
        return err;
    memset(cm->dwt, 0, sizeof cm->dwt);
    cm->dwt_init = true;
    return LODE_OK;
}

int lode_cortexm_wp_count(lode_cortexm_s *cm, unsigned *n)
{
    if (!cm || !n)
        return LODE_E_INVALID_ARG;
    int err = dwt_setup(cm);
    if (err == LODE_OK)
        *n = cm->dwt_n;
    return err;
}

int lode_cortexm_wp_set(lode_cortexm_s *cm, uint32_t addr, uint32_t size,
                        lode_cortexm_watch_e kind)
{
    if (!cm || size == 0 || size > 32768u || (size & (size - 1u)) || (addr & (size - 1u)) ||
        (kind != LODE_CM_WATCH_READ && kind != LODE_CM_WATCH_WRITE &&
         kind != LODE_CM_WATCH_ACCESS))
        return LODE_E_INVALID_ARG;
    int err = dwt_setup(cm);
    if (err != LODE_OK)
        return err;
    int slot = -1;
    for (unsigned i = 0; i < cm->dwt_n && slot < 0; i++)
        if (cm->dwt[i].used && cm->dwt[i].addr == addr)
            slot = (int)i;
    for (unsigned i = 0; i < cm->dwt_n && slot < 0; i++)
        if (!cm->dwt[i].used)
            slot = (int)i;
    if (slot < 0) {
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: all %u watchpoints are in use; clear one first", cm->dwt_n);
        return LODE_E_NOMEM;
    }
    unsigned mask = 0;
    while ((1u << mask) < size)
        mask++;
    /* C1.8.7: FUNCTION off while COMP/MASK change, then 5 read / 6 write / 7 read-write. */
    uint32_t got_mask = 0;
    lode_adi_queue_write32(cm->adi, cm->ap, DWT_FUNCTION(slot), 0);
    lode_adi_queue_write32(cm->adi, cm->ap, DWT_COMP(slot), addr);
    lode_adi_queue_write32(cm->adi, cm->ap, DWT_MASK(slot), mask);
    lode_adi_queue_read32(cm->adi, cm->ap, DWT_MASK(slot), &got_mask);
    err = lode_adi_run(cm->adi);
    if (err != LODE_OK)
        return err;
    if (got_mask != mask) {
        lode_log(cm->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "cortexm: this DWT cannot watch %u bytes (MASK %u reads back as %u)",
                 (unsigned)size, mask, (unsigned)got_mask);
        return LODE_E_UNSUPPORTED;
    }
    err = wr(cm, DWT_FUNCTION(slot), (uint32_t)kind);
    if (err == LODE_OK) {
        cm->dwt[slot].used = true;
        cm->dwt[slot].addr = addr;
        cm->dwt[slot].size = size;
        cm->dwt[slot].kind = (unsigned)kind;
    }
    return err;
}

int lode_cortexm_wp_clear(lode_cortexm_s *cm, uint32_t addr)
{
    if (!cm || !cm->dwt_init)
        return LODE_E_INVALID_ARG;
    for (unsigned i = 0; i < cm->dwt_n; i++) {
        if (cm->dwt[i].used && cm->dwt[i].addr == addr) {
            int err = wr(cm, DWT_FUNCTION(i), 0);
            if (err == LODE_OK)
                cm->dwt[i].used = false;
            return err;
        }
    }
    return LODE_E_INVALID_ARG;
}

/* ---- faults ------------------------------------------------------------------------------------ */
int lode_cortexm_fault_read(lode_cortexm_s *cm, lode_cortexm_fault_s *f)
{
    if (!cm || !f)
        return LODE_E_INVALID_ARG;
    lode_cortexm_fault_s v;
    memset(&v, 0, sizeof v);
    lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_DFSR, &v.dfsr);
    if (!cm->info.v6m) {
        lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_CFSR, &v.cfsr);
        lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_HFSR, &v.hfsr);
        lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_MMFAR, &v.mmfar);
        lode_adi_queue_read32(cm->adi, cm->ap, LODE_CM_BFAR, &v.bfar);
    }
    int err = lode_adi_run(cm->adi);
    if (err == LODE_OK)
        *f = v;
    return err;
}
