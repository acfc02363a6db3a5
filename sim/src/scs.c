/* SPDX-License-Identifier: MIT */
/* The Cortex-M core's own PPB components, modeled from the ARMv7-M Architecture Reference
 * Manual (DDI 0403E): System Control Space (NVIC, SCB, SysTick, debug registers), FPB, DWT,
 * ITM, TPIU stub and the ROM table; and the exception model (B1.5): priorities, entry with
 * an 8-word (or 26-word FP) frame, EXC_RETURN, fault escalation, vector catch. */
#include <string.h>

#include "board.h"

#define SCS_BASE 0xE000E000u
#define ITM_BASE 0xE0000000u
#define DWT_BASE 0xE0001000u
#define FPB_BASE 0xE0002000u
#define TPIU_BASE 0xE0040000u
#define ROM_BASE 0xE00FF000u

#define DHCSR_C_DEBUGEN (1u << 0)
#define DHCSR_C_HALT (1u << 1)
#define DHCSR_C_STEP (1u << 2)
#define DHCSR_C_MASKINTS (1u << 3)
#define DHCSR_C_SNAPSTALL (1u << 5)

#define DEMCR_VC_CORERESET (1u << 0)
#define DEMCR_VC_MMERR (1u << 4)
#define DEMCR_VC_NOCPERR (1u << 5)
#define DEMCR_VC_CHKERR (1u << 6)
#define DEMCR_VC_STATERR (1u << 7)
#define DEMCR_VC_BUSERR (1u << 8)
#define DEMCR_VC_INTERR (1u << 9)
#define DEMCR_VC_HARDERR (1u << 10)
#define DEMCR_TRCENA (1u << 24)

/* Peripheral ID (PIDR4..0 packed as 40 bits) for the components, per core */
static uint64_t component_pid(const sim_board_s *b, uint32_t base)
{
    bool m4 = b->chip->core == SIM_CORE_M4F;
    if (b->chip->core == SIM_CORE_M0P) { /* Cortex-M0+ TRM: SCS, DWT, BPU, ROM table */
        switch (base) {
        case SCS_BASE: return 0x4000BB008ull;
        case DWT_BASE: return 0x4000BB00Aull;
        case FPB_BASE: return 0x4000BB00Bull;
        case ROM_BASE: return 0x4000BB4C0ull;
        default: return 0;
        }
    }
    switch (base) {
    case SCS_BASE: return m4 ? 0x4000BB00Cull : 0x4000BB000ull;
    case ITM_BASE: return 0x4003BB001ull;
    case DWT_BASE: return 0x4003BB002ull;
    case FPB_BASE: return 0x4002BB003ull;
    case TPIU_BASE: return m4 ? 0x4000BB9A1ull : 0x4003BB923ull;
    case ROM_BASE:
        if (b->chip->rom_designer) { /* PIDR0-2 part and JEP106 identity (JEDEC bit set), PIDR4 bank */
            uint64_t id = b->chip->rom_designer & 0x7Fu, part = b->chip->rom_part & 0xFFFu;
            return part | (id & 0xFu) << 12 | (id >> 4) << 16 | 1u << 19 |
                   (uint64_t)(b->chip->rom_designer >> 8 & 0xFu) << 32;
        }
        return m4 ? 0x4000BB4C4ull : 0x4000BB4C3ull;
    default: return 0;
    }
}

bool simi_scs_owns(const sim_board_s *b, uint32_t addr)
{
    if (b->chip->core == SIM_CORE_M0P) /* no ITM, no TPIU: those addresses are reserved */
        return (addr >= DWT_BASE && addr < 0xE0003000u) || (addr >= SCS_BASE && addr < 0xE000F000u) ||
               (addr >= ROM_BASE && addr < 0xE0100000u);
    return (addr >= ITM_BASE && addr < 0xE0003000u) ||  /* ITM, DWT, FPB */
           (addr >= SCS_BASE && addr < 0xE000F000u) ||  /* SCS */
           (addr >= TPIU_BASE && addr < 0xE0041000u) || /* TPIU */
           (addr >= ROM_BASE && addr < 0xE0100000u);    /* ROM table */
}

/* Component ID / peripheral ID words at offsets 0xFD0-0xFFC of a 4 KiB component. */
static bool id_register(const sim_board_s *b, uint32_t base, uint32_t off, uint32_t *val)
{
    if (off < 0xFD0)
        return false;
    uint64_t pid = component_pid(b, base);
    bool rom = base == ROM_BASE;
    /* CIDR1 class: ROM table 0x1; SCS/ITM/DWT/FPB generic IP 0xE; the TPIU is a CoreSight
     * component, class 0x9 (ADIv5.2 D1.2.1; Cortex-M3/M4 TRMs, TPIU component ID 0xB105900D) */
    uint8_t cidr[4] = {0x0D, rom ? 0x10 : base == TPIU_BASE ? 0x90 : 0xE0, 0x05, 0xB1};
    switch (off) {
    case 0xFD0: *val = (uint32_t)(pid >> 32) & 0xFF; return true; /* PIDR4 */
    case 0xFD4: case 0xFD8: case 0xFDC: *val = 0; return true;    /* PIDR5-7 */
    case 0xFE0: *val = (uint32_t)pid & 0xFF; return true;
    case 0xFE4: *val = (uint32_t)(pid >> 8) & 0xFF; return true;
    case 0xFE8: *val = (uint32_t)(pid >> 16) & 0xFF; return true;
    case 0xFEC: *val = (uint32_t)(pid >> 24) & 0xFF; return true;
    case 0xFF0: *val = cidr[0]; return true;
    case 0xFF4: *val = cidr[1]; return true;
    case 0xFF8: *val = cidr[2]; return true;
    case 0xFFC: *val = cidr[3]; return true;
    default: *val = 0; return true;
    }
}

/* ---- core register access (DCRSR.REGSEL numbering, ARMv7-M C1.6.3) --------------------------- */

int simi_core_reg_read(sim_board_s *b, unsigned regsel, uint32_t *val);
int simi_core_reg_write(sim_board_s *b, unsigned regsel, uint32_t val);

int simi_core_reg_read(sim_board_s *b, unsigned regsel, uint32_t *val)
{
    const sim_cpu_ops_s *o = b->cpu->ops;
    uint32_t v = 0;
    if (regsel <= 15)
        return o->reg_read(b->cpu, (sim_reg_e)regsel, val);
    switch (regsel) {
    case 16: return o->reg_read(b->cpu, SIM_REG_XPSR, val);
    case 17: return o->reg_read(b->cpu, SIM_REG_MSP, val);
    case 18: return o->reg_read(b->cpu, SIM_REG_PSP, val);
    case 20: {
        uint32_t c = 0, fm = 0, bp = 0, pm = 0;
        o->reg_read(b->cpu, SIM_REG_CONTROL, &c);
        o->reg_read(b->cpu, SIM_REG_FAULTMASK, &fm);
        o->reg_read(b->cpu, SIM_REG_BASEPRI, &bp);
        o->reg_read(b->cpu, SIM_REG_PRIMASK, &pm);
        if (!b->has_fpu)
            c &= 3;
        *val = ((c & 0xFF) << 24) | ((fm & 1) << 16) | ((bp & 0xFF) << 8) | (pm & 1);
        return 0;
    }
    case 33:
        if (!b->has_fpu)
            return -1;
        return o->reg_read(b->cpu, SIM_REG_FPSCR, val);
    default:
        if (regsel >= 64 && regsel <= 95 && b->has_fpu)
            return o->reg_read(b->cpu, (sim_reg_e)(SIM_REG_S0 + (regsel - 64)), val);
        (void)v;
        return -1;
    }
}

int simi_core_reg_write(sim_board_s *b, unsigned regsel, uint32_t val)
{
    const sim_cpu_ops_s *o = b->cpu->ops;
    if (regsel <= 15) {
        if (regsel == 13)
            val &= ~3u; /* SP is word aligned */
        return o->reg_write(b->cpu, (sim_reg_e)regsel, val);
    }
    switch (regsel) {
    case 16: {
        int r = o->reg_write(b->cpu, SIM_REG_XPSR, val);
        simi_update_precise(b);
        return r;
    }
    case 17: return o->reg_write(b->cpu, SIM_REG_MSP, val & ~3u);
    case 18: return o->reg_write(b->cpu, SIM_REG_PSP, val & ~3u);
    case 20:
        o->reg_write(b->cpu, SIM_REG_PRIMASK, val & 1);
        o->reg_write(b->cpu, SIM_REG_BASEPRI, (val >> 8) & 0xFF);
        o->reg_write(b->cpu, SIM_REG_FAULTMASK, (val >> 16) & 1);
        o->reg_write(b->cpu, SIM_REG_CONTROL, (val >> 24) & (b->has_fpu ? 7 : 3));
        return 0;
    case 33:
        if (!b->has_fpu)
            return -1;
        return o->reg_write(b->cpu, SIM_REG_FPSCR, val);
    default:
        if (regsel >= 64 && regsel <= 95 && b->has_fpu)
            return o->reg_write(b->cpu, (sim_reg_e)(SIM_REG_S0 + (regsel - 64)), val);
        return -1;
    }
}

static uint32_t reg(sim_board_s *b, sim_reg_e r)
{
    uint32_t v = 0;
    b->cpu->ops->reg_read(b->cpu, r, &v);
    return v;
}

static void set_reg(sim_board_s *b, sim_reg_e r, uint32_t v) { b->cpu->ops->reg_write(b->cpu, r, v); }

/* ---- exception priorities (B1.5.4) ----------------------------------------------------------- */

static int exc_priority(const sim_board_s *b, unsigned exc)
{
    if (exc == EXC_RESET)
        return -3;
    if (exc == EXC_NMI)
        return -2;
    if (exc == EXC_HARDFAULT)
        return -1;
    return b->scs.prio[exc];
}

/* Group priority: bits above PRIGROUP (B1.5.4 "Priority grouping"). */
static int group_prio(const sim_board_s *b, int p)
{
    if (p < 0)
        return p;
    unsigned subbits = b->scs.aircr_prigroup + 1;
    return (p >> subbits) << subbits;
}

/* Priority of the active exceptions alone (no PRIMASK/FAULTMASK/BASEPRI boost). */
static int active_priority(sim_board_s *b)
{
    int prio = 256;
    for (unsigned e = 2; e < b->scs.nexc; e++)
        if (b->scs.active[e]) {
            int gp = group_prio(b, exc_priority(b, e));
            if (gp < prio)
                prio = gp;
        }
    return prio;
}

/* Current execution priority: the highest (lowest number) of active exceptions and boosts. */
static int exec_priority(sim_board_s *b)
{
    int prio = active_priority(b);
    uint32_t primask = reg(b, SIM_REG_PRIMASK) & 1, faultmask = reg(b, SIM_REG_FAULTMASK) & 1;
    uint32_t basepri = reg(b, SIM_REG_BASEPRI) & 0xFF;
    if (basepri && group_prio(b, (int)basepri) < prio)
        prio = group_prio(b, (int)basepri);
    if (primask && prio > 0)
        prio = 0;
    if (faultmask && prio > -1)
        prio = -1;
    return prio;
}

static bool exc_enabled(const sim_board_s *b, unsigned exc)
{
    if (exc >= EXC_IRQ0)
        return b->scs.enabled[exc];
    return true; /* system exceptions are always enabled once pending */
}

/* Highest-priority pending exception, or 0. Ties: lowest number. */
static unsigned highest_pending(sim_board_s *b, int *prio_out)
{
    unsigned best = 0;
    int bestp = 1000;
    for (unsigned e = 2; e < b->scs.nexc; e++) {
        if (!b->scs.pending[e] || !exc_enabled(b, e))
            continue;
        int p = group_prio(b, exc_priority(b, e));
        if (p < bestp) {
            bestp = p;
            best = e;
        }
    }
    *prio_out = bestp;
    return best;
}

/* A pending, enabled exception that only PRIMASK, FAULTMASK or BASEPRI hold back. Software
 * can lower the boost with CPS or MSR at any instruction, and the exception must be taken
 * right after that instruction (ARMv7-M B5.2.1 CPS, B5.2.3 MSR: the change of execution
 * priority is visible to the next instruction). While this is true the run loop has the
 * CPU end its runs after every such instruction (set_mask_watch). */
bool simi_exc_masked_pending(sim_board_s *b);
bool simi_exc_masked_pending(sim_board_s *b)
{
    int p;
    if (!highest_pending(b, &p))
        return false;
    return p < active_priority(b) && p >= exec_priority(b);
}

void simi_exc_pend(sim_board_s *b, unsigned exc)
{
    if (exc < b->scs.nexc)
        b->scs.pending[exc] = true;
}

bool simi_exc_wake_pending(sim_board_s *b)
{
    int p;
    unsigned e = highest_pending(b, &p);
    if (!e)
        return false;
    /* WFI wakes for an exception that would preempt, or with PRIMASK set for any that would
     * preempt if PRIMASK were clear (B1.5.19) */
    int cur = exec_priority(b);
    if (p < cur)
        return true;
    if (reg(b, SIM_REG_PRIMASK) & 1) {
        uint32_t pm = 0;
        set_reg(b, SIM_REG_PRIMASK, 0);
        cur = exec_priority(b);
        set_reg(b, SIM_REG_PRIMASK, 1);
        (void)pm;
        return p < cur;
    }
    return false;
}

/* ---- exception entry and return (B1.5.6-B1.5.8) --------------------------------------------- */

static bool push_word(sim_board_s *b, uint32_t addr, uint32_t v)
{
    return simi_bus_write(b, addr, 4, v, SIM_INIT_CPU) == SIM_BUS_OK;
}

static bool pop_word(sim_board_s *b, uint32_t addr, uint32_t *v)
{
    return simi_bus_read(b, addr, 4, v, SIM_INIT_CPU) == SIM_BUS_OK;
}

static void enter_lockup(sim_board_s *b, const char *why)
{
    simi_log(b, LODE_LOG_INFO, "sim: core locked up (%s)", why);
    b->lockup = true;
    set_reg(b, SIM_REG_PC, 0xFFFFFFFEu);
}

static void vector_catch_check(sim_board_s *b, unsigned exc, uint32_t cfsr_bits);

/* Push the frame and branch to the handler of `exc`. Returns false on a stacking failure. */
static bool exception_entry(sim_board_s *b, unsigned exc, uint32_t return_addr)
{
    sim_scs_s *s = &b->scs;
    uint32_t control = reg(b, SIM_REG_CONTROL);
    uint32_t ipsr = reg(b, SIM_REG_IPSR) & 0x1FF;
    bool thread = ipsr == 0;
    bool use_psp = thread && (control & 2);
    bool fpframe = b->has_fpu && (control & 4);
    uint32_t sp = use_psp ? reg(b, SIM_REG_PSP) : reg(b, SIM_REG_MSP);
    uint32_t framesize = fpframe ? 0x68 : 0x20;
    uint32_t xpsr = reg(b, SIM_REG_XPSR);
    bool align = (s->ccr & (1u << 9)) != 0; /* STKALIGN */
    uint32_t frameptr = sp - framesize;
    bool realigned = false;
    if (align && (frameptr & 4)) {
        frameptr &= ~7u;
        realigned = true;
    } else {
        frameptr &= ~3u;
    }
    uint32_t regs[8];
    for (int i = 0; i < 4; i++)
        regs[i] = reg(b, (sim_reg_e)i);
    regs[4] = reg(b, (sim_reg_e)12);
    regs[5] = reg(b, SIM_REG_LR);
    regs[6] = return_addr & ~1u;
    regs[7] = (xpsr & ~(1u << 9)) | (realigned ? (1u << 9) : 0) | (1u << 24);
    bool ok = true;
    for (int i = 0; i < 8 && ok; i++)
        ok = push_word(b, frameptr + 4u * (unsigned)i, regs[i]);
    if (ok && fpframe) {
        for (int i = 0; i < 16 && ok; i++)
            ok = push_word(b, frameptr + 0x20 + 4u * (unsigned)i, reg(b, (sim_reg_e)(SIM_REG_S0 + i)));
        if (ok)
            ok = push_word(b, frameptr + 0x60, reg(b, SIM_REG_FPSCR));
    }
    if (use_psp)
        set_reg(b, SIM_REG_PSP, frameptr);
    else
        set_reg(b, SIM_REG_MSP, frameptr);
    uint32_t exc_return = 0xFFFFFFF1u;
    if (thread)
        exc_return = use_psp ? 0xFFFFFFFDu : 0xFFFFFFF9u;
    if (fpframe)
        exc_return &= ~0x10u;
    /* vector fetch */
    uint32_t handler = 0;
    bool vok = pop_word(b, (s->vtor & ~0x7Fu) + 4u * exc, &handler);
    /* enter handler mode: CONTROL.SPSEL can only change in thread mode, so clear it first */
    set_reg(b, SIM_REG_CONTROL, control & ~(thread ? 6u : 4u));
    set_reg(b, SIM_REG_IPSR, exc);
    set_reg(b, SIM_REG_LR, exc_return);
    s->pending[exc] = false;
    s->active[exc] = true;
    if (!vok) {
        s->hfsr |= 1u << 1; /* VECTTBL */
        return false;
    }
    if (!(handler & 1)) {
        /* a handler address without the Thumb bit: INVSTATE UsageFault on the first fetch */
        set_reg(b, SIM_REG_PC, handler & ~1u);
        s->cfsr |= 1u << 17;
        return true;
    }
    set_reg(b, SIM_REG_PC, handler & ~1u);
    if (!ok) {
        s->cfsr |= 1u << 12; /* BFSR.STKERR */
        simi_log(b, LODE_LOG_INFO, "sim: stacking for exception %u failed at 0x%08x", exc, frameptr);
    }
    return true;
}

bool simi_exc_take_pending(sim_board_s *b)
{
    if (b->halted || b->lockup)
        return false;
    if ((b->scs.dhcsr & DHCSR_C_MASKINTS) && b->stepping)
        return false;
    int p;
    unsigned e = highest_pending(b, &p);
    if (!e || p >= exec_priority(b))
        return false;
    uint32_t pc = reg(b, SIM_REG_PC);
    if (!exception_entry(b, e, pc)) {
        enter_lockup(b, "vector table read failed");
        return true;
    }
    vector_catch_check(b, e, 0);
    return true;
}

void simi_exc_return(sim_board_s *b, uint32_t exc_return)
{
    sim_scs_s *s = &b->scs;
    uint32_t ipsr = reg(b, SIM_REG_IPSR) & 0x1FF;
    if (ipsr == 0 || !s->active[ipsr]) {
        /* returning from an exception that is not active: INVPC UsageFault (B1.5.8) */
        simi_exc_fault(b, EXC_USAGEFAULT, 1u << 18);
        return;
    }
    unsigned mode = exc_return & 0xF;
    if (mode != 0x1 && mode != 0x9 && mode != 0xD) {
        simi_exc_fault(b, EXC_USAGEFAULT, 1u << 18);
        return;
    }
    s->active[ipsr] = false;
    if (ipsr == EXC_NMI || ipsr == EXC_HARDFAULT)
        set_reg(b, SIM_REG_FAULTMASK, 0); /* FAULTMASK is cleared on return (except NMI) */
    bool to_thread = (exc_return & 8) != 0;
    bool use_psp = (exc_return & 4) != 0;
    bool fpframe = b->has_fpu && !(exc_return & 0x10);
    uint32_t frameptr = use_psp ? reg(b, SIM_REG_PSP) : reg(b, SIM_REG_MSP);
    uint32_t w[8];
    bool ok = true;
    for (int i = 0; i < 8 && ok; i++)
        ok = pop_word(b, frameptr + 4u * (unsigned)i, &w[i]);
    if (!ok) {
        s->cfsr |= 1u << 11; /* UNSTKERR */
        enter_lockup(b, "unstacking failed");
        return;
    }
    uint32_t framesize = fpframe ? 0x68 : 0x20;
    if (fpframe) {
        for (int i = 0; i < 16; i++) {
            uint32_t v = 0;
            pop_word(b, frameptr + 0x20 + 4u * (unsigned)i, &v);
            set_reg(b, (sim_reg_e)(SIM_REG_S0 + i), v);
        }
        uint32_t fpscr = 0;
        pop_word(b, frameptr + 0x60, &fpscr);
        set_reg(b, SIM_REG_FPSCR, fpscr);
    }
    uint32_t newsp = frameptr + framesize + ((w[7] >> 9) & 1 ? 4u : 0u);
    for (int i = 0; i < 4; i++)
        set_reg(b, (sim_reg_e)i, w[i]);
    set_reg(b, (sim_reg_e)12, w[4]);
    set_reg(b, SIM_REG_LR, w[5]);
    /* mode first (so the right SP is banked in), then the stack pointers */
    uint32_t new_ipsr = to_thread ? 0 : (w[7] & 0x1FF);
    set_reg(b, SIM_REG_XPSR, (w[7] & 0xF80001FFu & ~0x1FFu) | new_ipsr);
    uint32_t control = reg(b, SIM_REG_CONTROL);
    control = (control & ~6u) | (to_thread && use_psp ? 2u : 0u) | (fpframe ? 4u : 0u);
    set_reg(b, SIM_REG_CONTROL, control);
    if (use_psp)
        set_reg(b, SIM_REG_PSP, newsp);
    else
        set_reg(b, SIM_REG_MSP, newsp);
    set_reg(b, SIM_REG_PC, w[6] & ~1u);
}

static void vector_catch_check(sim_board_s *b, unsigned exc, uint32_t cfsr_bits)
{
    sim_scs_s *s = &b->scs;
    if (!(s->dhcsr & DHCSR_C_DEBUGEN))
        return;
    uint32_t vc = 0;
    if (exc == EXC_HARDFAULT)
        vc = DEMCR_VC_HARDERR;
    else if (exc == EXC_BUSFAULT)
        vc = DEMCR_VC_BUSERR;
    else if (exc == EXC_MEMMANAGE)
        vc = DEMCR_VC_MMERR;
    else if (exc == EXC_USAGEFAULT)
        vc = (cfsr_bits & ((1u << 16) | (1u << 17) | (1u << 18))) ? DEMCR_VC_STATERR
             : (cfsr_bits & (1u << 19))                           ? DEMCR_VC_NOCPERR
                                                                  : DEMCR_VC_CHKERR;
    if (vc && (s->demcr & vc))
        simi_board_halt(b, DFSR_VCATCH);
}

void simi_exc_fault(sim_board_s *b, unsigned exc, uint32_t cfsr_bits)
{
    sim_scs_s *s = &b->scs;
    uint32_t pc = reg(b, SIM_REG_PC);
    uint32_t ipsr = reg(b, SIM_REG_IPSR) & 0x1FF;
    s->cfsr |= cfsr_bits;
    unsigned target = exc;
    /* configurable faults that are disabled, or cannot preempt, escalate to HardFault */
    if (exc == EXC_MEMMANAGE || exc == EXC_BUSFAULT || exc == EXC_USAGEFAULT) {
        bool en = (exc == EXC_MEMMANAGE && (s->enabled[EXC_MEMMANAGE])) ||
                  (exc == EXC_BUSFAULT && (s->enabled[EXC_BUSFAULT])) ||
                  (exc == EXC_USAGEFAULT && (s->enabled[EXC_USAGEFAULT]));
        if (!en || group_prio(b, exc_priority(b, exc)) >= exec_priority(b)) {
            target = EXC_HARDFAULT;
            s->hfsr |= 1u << 30; /* FORCED */
        }
    } else if (exc == EXC_SVCALL) {
        if (group_prio(b, exc_priority(b, exc)) >= exec_priority(b)) {
            target = EXC_HARDFAULT;
            s->hfsr |= 1u << 30;
        }
    }
    if (target == EXC_HARDFAULT && (ipsr == EXC_HARDFAULT || ipsr == EXC_NMI || exec_priority(b) < 0)) {
        enter_lockup(b, "fault while in HardFault or NMI");
        return;
    }
    if (!exception_entry(b, target, pc)) {
        enter_lockup(b, "vector table read failed");
        return;
    }
    vector_catch_check(b, target, cfsr_bits);
}

void simi_core_reset_from_vectors(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    uint32_t sp = 0, pc = 0;
    simi_bus_read(b, s->vtor, 4, &sp, SIM_INIT_CPU);
    simi_bus_read(b, s->vtor + 4, 4, &pc, SIM_INIT_CPU);
    for (int i = 0; i <= 12; i++)
        set_reg(b, (sim_reg_e)i, 0);
    set_reg(b, SIM_REG_IPSR, 0);
    set_reg(b, SIM_REG_CONTROL, 0);
    set_reg(b, SIM_REG_PRIMASK, 0);
    set_reg(b, SIM_REG_FAULTMASK, 0);
    set_reg(b, SIM_REG_BASEPRI, 0);
    set_reg(b, SIM_REG_PSP, 0);
    set_reg(b, SIM_REG_MSP, sp & ~3u);
    set_reg(b, SIM_REG_LR, 0xFFFFFFFFu);
    set_reg(b, SIM_REG_XPSR, 0x01000000u);
    set_reg(b, SIM_REG_PC, pc & ~1u);
    if (b->has_fpu)
        set_reg(b, SIM_REG_FPSCR, 0);
    s->s_reset_st = true;
    if ((s->dhcsr & DHCSR_C_DEBUGEN) && (s->demcr & DEMCR_VC_CORERESET))
        simi_board_halt(b, DFSR_VCATCH);
}

/* ---- SysTick (B3.3) ------------------------------------------------------------------------- */

static uint64_t syst_cycle_ps_num(const sim_board_s *b) { return b->cpu_hz; }

/* SysTick counts core cycles (CLKSOURCE=1) or the external reference; the sim's external
 * reference is the core clock / 8 (STM32: HCLK/8). It stops while the core is halted. */
static uint32_t syst_div(const sim_board_s *b) { return (b->scs.syst_csr & 4) ? 1 : 8; }

static uint64_t syst_elapsed_ticks(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    uint64_t cyc = simi_cycles(b) - s->syst_cycles_at_epoch;
    return cyc / syst_div(b);
}

static uint32_t syst_current(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    if (!(s->syst_csr & 1) || b->halted)
        return (uint32_t)s->syst_epoch; /* syst_epoch holds the frozen value */
    uint64_t e = syst_elapsed_ticks(b);
    uint32_t start = (uint32_t)s->syst_epoch;
    if (e <= start)
        return start - (uint32_t)e;
    uint64_t period = (uint64_t)s->syst_rvr + 1;
    uint64_t after = (e - start - 1) % period; /* ticks since the first reload */
    return (uint32_t)(s->syst_rvr - after);
}

static void syst_timer_fn(sim_board_s *b, void *ctx);

/* (Re)arm the timer for the next 1->0 transition from the current state. */
static void syst_schedule(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    simi_timer_cancel(b, &s->syst_timer);
    if (!(s->syst_csr & 1) || b->halted)
        return;
    uint32_t cur = syst_current(b);
    uint64_t ticks;
    if (cur == 0) {
        if (!s->syst_rvr)
            return; /* RVR = 0: the counter stays at 0 and never fires */
        ticks = (uint64_t)s->syst_rvr + 1;
    } else {
        ticks = cur;
    }
    uint64_t cycles = ticks * syst_div(b);
    unsigned __int128 ps = (unsigned __int128)cycles * 1000000000000ull / syst_cycle_ps_num(b);
    simi_timer_arm(b, &s->syst_timer, simi_now(b) + (uint64_t)ps + 1);
}

static void syst_timer_fn(sim_board_s *b, void *ctx)
{
    (void)ctx;
    sim_scs_s *s = &b->scs;
    s->syst_countflag = true;
    if (s->syst_csr & 2)
        simi_exc_pend(b, EXC_SYSTICK);
    /* restart the count: the counter reloads RVR one tick after reaching 0 */
    s->syst_epoch = s->syst_rvr;
    s->syst_cycles_at_epoch = simi_cycles(b) + syst_div(b);
    uint64_t ticks = (uint64_t)s->syst_rvr + 1;
    if (!s->syst_rvr)
        return;
    uint64_t cycles = ticks * syst_div(b);
    unsigned __int128 ps = (unsigned __int128)cycles * 1000000000000ull / syst_cycle_ps_num(b);
    simi_timer_arm(b, &s->syst_timer, simi_now(b) + (uint64_t)ps);
}

static void syst_freeze(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    uint32_t cur = syst_current(b);
    s->syst_epoch = cur;
    s->syst_cycles_at_epoch = simi_cycles(b);
}

void simi_scs_clock_changed(sim_board_s *b)
{
    /* the counter state is kept in cycles; only the timer's time base moves */
    if ((b->scs.syst_csr & 1) && !b->halted)
        syst_schedule(b);
}

void simi_scs_halted_changed(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    if (b->halted) {
        /* freeze: compute the value as of now using running semantics */
        bool h = b->halted;
        b->halted = false;
        syst_freeze(b);
        b->halted = h;
        simi_timer_cancel(b, &s->syst_timer);
    } else {
        s->syst_cycles_at_epoch = simi_cycles(b);
        syst_schedule(b);
    }
}

/* ---- FPB / DWT ----------------------------------------------------------------------------- */

static void fpb_apply(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    for (unsigned i = 0; i < s->fp_ncode; i++) {
        uint32_t c = s->fp_comp[i];
        bool en = (s->fp_ctrl & 1) && (c & 1) && (c >> 30) != 0;
        uint32_t addr = (c & 0x1FFFFFFCu) | ((c >> 30) == 2 ? 2u : 0u);
        b->cpu->ops->set_breakpoint(b->cpu, i, addr, en);
        /* REPLACE = 3 breaks on both halfwords: the upper one gets the next slot's hook */
        b->cpu->ops->set_breakpoint(b->cpu, 8 + i, addr | 2u, en && (c >> 30) == 3);
    }
}

static void dwt_apply(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    for (unsigned i = 0; i < s->dwt_ncomp; i++) {
        unsigned f = s->dwt_function[i] & 0xF;
        bool data = f >= 5 && f <= 7;
        uint32_t mask = s->dwt_mask[i] & 0x1F;
        uint32_t len = mask >= 31 ? 0x80000000u : (1u << mask);
        uint32_t base = s->dwt_comp[i] & ~(len - 1);
        b->cpu->ops->set_watchpoint(b->cpu, i, base, len, data && (s->demcr & DEMCR_TRCENA));
        /* FUNCTION = 4: PC match (instruction address): a breakpoint slot after the FPB's */
        if (f == 4)
            b->cpu->ops->set_breakpoint(b->cpu, 12 + (i & 3), base, (s->demcr & DEMCR_TRCENA) != 0);
        else
            b->cpu->ops->set_breakpoint(b->cpu, 12 + (i & 3), base, false);
    }
    simi_update_precise(b);
}

void simi_dwt_watch_hit(sim_board_s *b, unsigned slot, uint32_t addr, unsigned size, bool write)
{
    sim_scs_s *s = &b->scs;
    if (slot >= s->dwt_ncomp)
        return;
    unsigned f = s->dwt_function[slot] & 0xF;
    if (!(f == 7 || (f == 5 && !write) || (f == 6 && write)))
        return;
    uint32_t mask = s->dwt_mask[slot] & 0x1F;
    uint64_t len = 1ull << mask;
    uint64_t base = s->dwt_comp[slot] & ~(uint32_t)(len - 1);
    if (!((uint64_t)addr < base + len && base < (uint64_t)addr + size))
        return;
    s->dwt_function[slot] |= 1u << 24; /* MATCHED */
    if (s->dhcsr & DHCSR_C_DEBUGEN) {
        s->dfsr |= DFSR_DWTTRAP;
        /* halt at the next instruction boundary: the backend is in precise mode */
        simi_board_halt(b, 0);
    }
}

uint32_t simi_dwt_cyccnt(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    if (!(s->dwt_ctrl & 1))
        return s->dwt_cyccnt_written;
    return s->dwt_cyccnt_written + (uint32_t)(simi_cycles(b) - s->dwt_cyccnt_base);
}

/* ---- ITM (ARMv7-M D1, packet format D4.2) ------------------------------------------------- */

static void swo_put(sim_board_s *b, const uint8_t *p, size_t n)
{
    sim_scs_s *s = &b->scs;
    if (s->swo_len + n > SIM_SWO_MAX) {
        s->swo_overflow = true;
        return;
    }
    memcpy(s->swo + s->swo_len, p, n);
    s->swo_len += n;
}

static void itm_stim_write(sim_board_s *b, unsigned port, unsigned size, uint32_t val)
{
    sim_scs_s *s = &b->scs;
    if (!(s->demcr & DEMCR_TRCENA) || !(s->itm_tcr & 1) || !(s->itm_ter & (1u << port)))
        return;
    uint8_t pkt[5];
    pkt[0] = (uint8_t)((port << 3) | (size == 1 ? 1 : size == 2 ? 2 : 3));
    for (unsigned i = 0; i < size; i++)
        pkt[1 + i] = (uint8_t)(val >> (8 * i));
    swo_put(b, pkt, 1 + size);
}

/* ---- register file --------------------------------------------------------------------------- */

static uint32_t cpuid(const sim_board_s *b)
{
    switch (b->chip->core) {
    case SIM_CORE_M0P: return 0x410CC601u;
    case SIM_CORE_M3: return 0x411FC231u; /* r1p1, as in STM32F103 */
    default: return 0x410FC241u;          /* Cortex-M4 r0p1 */
    }
}

static uint32_t icsr_read(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    uint32_t v = 0;
    uint32_t ipsr = reg(b, SIM_REG_IPSR) & 0x1FF;
    v |= ipsr;
    int p;
    unsigned hp = highest_pending(b, &p);
    v |= (hp & 0x1FF) << 12;
    bool any_irq_pending = false;
    for (unsigned e = EXC_IRQ0; e < s->nexc; e++)
        if (s->pending[e])
            any_irq_pending = true;
    if (any_irq_pending)
        v |= 1u << 22;
    unsigned nactive = 0;
    for (unsigned e = 2; e < s->nexc; e++)
        if (s->active[e])
            nactive++;
    if (nactive <= 1)
        v |= 1u << 11; /* RETTOBASE */
    if (s->pending[EXC_NMI])
        v |= 1u << 31;
    if (s->pending[EXC_PENDSV])
        v |= 1u << 28;
    if (s->pending[EXC_SYSTICK])
        v |= 1u << 26;
    return v;
}

static uint32_t shcsr_read(const sim_board_s *b)
{
    const sim_scs_s *s = &b->scs;
    uint32_t v = 0;
    v |= s->active[EXC_MEMMANAGE] ? 1u << 0 : 0;
    v |= s->active[EXC_BUSFAULT] ? 1u << 1 : 0;
    v |= s->active[EXC_USAGEFAULT] ? 1u << 3 : 0;
    v |= s->active[EXC_SVCALL] ? 1u << 7 : 0;
    v |= s->active[EXC_DEBUGMON] ? 1u << 8 : 0;
    v |= s->active[EXC_PENDSV] ? 1u << 10 : 0;
    v |= s->active[EXC_SYSTICK] ? 1u << 11 : 0;
    v |= s->pending[EXC_USAGEFAULT] ? 1u << 12 : 0;
    v |= s->pending[EXC_MEMMANAGE] ? 1u << 13 : 0;
    v |= s->pending[EXC_BUSFAULT] ? 1u << 14 : 0;
    v |= s->pending[EXC_SVCALL] ? 1u << 15 : 0;
    v |= s->enabled[EXC_MEMMANAGE] ? 1u << 16 : 0;
    v |= s->enabled[EXC_BUSFAULT] ? 1u << 17 : 0;
    v |= s->enabled[EXC_USAGEFAULT] ? 1u << 18 : 0;
    return v;
}

static uint8_t prio_mask(const sim_board_s *b) { return (uint8_t)(0xFFu << (8 - b->prio_bits)); }

static uint32_t dhcsr_read(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    uint32_t v = s->dhcsr & (DHCSR_C_DEBUGEN | DHCSR_C_HALT | DHCSR_C_STEP | DHCSR_C_MASKINTS |
                             DHCSR_C_SNAPSTALL);
    v |= 1u << 16; /* S_REGRDY: register transfers complete at once */
    if (b->halted)
        v |= 1u << 17;
    if (b->sleeping)
        v |= 1u << 18;
    if (b->lockup)
        v |= 1u << 19;
    if (s->s_retire_st)
        v |= 1u << 24;
    if (s->s_reset_st)
        v |= 1u << 25;
    s->s_retire_st = false; /* sticky bits clear on read */
    s->s_reset_st = false;
    return v;
}

static void dhcsr_write(sim_board_s *b, uint32_t val, sim_initiator_e who)
{
    sim_scs_s *s = &b->scs;
    if ((val >> 16) != 0xA05F)
        return; /* DBGKEY required */
    uint32_t old = s->dhcsr;
    uint32_t c = val & (DHCSR_C_DEBUGEN | DHCSR_C_HALT | DHCSR_C_STEP | DHCSR_C_MASKINTS |
                        DHCSR_C_SNAPSTALL);
    if (who == SIM_INIT_CPU) {
        /* software cannot change C_DEBUGEN; it may set C_HALT only while debug is enabled */
        if (!(old & DHCSR_C_DEBUGEN))
            return;
        c = (c & DHCSR_C_HALT) | (old & ~DHCSR_C_HALT);
    }
    if (!(c & DHCSR_C_DEBUGEN))
        c &= ~(DHCSR_C_HALT | DHCSR_C_STEP | DHCSR_C_MASKINTS);
    /* C_MASKINTS changes only while halted */
    if (!b->halted)
        c = (c & ~DHCSR_C_MASKINTS) | (old & DHCSR_C_MASKINTS);
    s->dhcsr = c;
    if ((c & DHCSR_C_HALT) && !b->halted) {
        simi_board_halt(b, DFSR_HALTED);
    } else if (!(c & DHCSR_C_HALT) && b->halted) {
        b->stepping = (c & DHCSR_C_STEP) != 0;
        b->lockup = false;
        simi_board_resume(b);
    }
    if (!(c & DHCSR_C_DEBUGEN) && (old & DHCSR_C_DEBUGEN)) {
        fpb_apply(b);
        dwt_apply(b);
    }
}

static int scs_reg_read(sim_board_s *b, uint32_t addr, uint32_t *val)
{
    sim_scs_s *s = &b->scs;
    uint32_t off = addr - SCS_BASE;
    /* NVIC */
    if (off >= 0x100 && off < 0x100 + 0x40) { /* ISER */
        unsigned base = EXC_IRQ0 + (off - 0x100) * 8;
        uint32_t v = 0;
        for (unsigned i = 0; i < 32 && base + i < s->nexc; i++)
            v |= s->enabled[base + i] ? 1u << i : 0;
        *val = v;
        return 0;
    }
    if (off >= 0x180 && off < 0x1C0) return scs_reg_read(b, addr - 0x80, val); /* ICER */
    if ((off >= 0x200 && off < 0x240) || (off >= 0x280 && off < 0x2C0) || (off >= 0x300 && off < 0x340)) {
        unsigned idx = (off & 0x3F) / 4;
        unsigned base = EXC_IRQ0 + idx * 32;
        bool *arr = (off >= 0x300) ? s->active : s->pending;
        uint32_t v = 0;
        for (unsigned i = 0; i < 32 && base + i < s->nexc; i++)
            v |= arr[base + i] ? 1u << i : 0;
        *val = v;
        return 0;
    }
    if (off >= 0x400 && off < 0x400 + 240) { /* IPR */
        uint32_t v = 0;
        for (unsigned i = 0; i < 4; i++) {
            unsigned e = EXC_IRQ0 + (off - 0x400) + i;
            if (e < s->nexc)
                v |= (uint32_t)s->prio[e] << (8 * i);
        }
        *val = v;
        return 0;
    }
    if (off >= 0xFD0)
        return id_register(b, SCS_BASE, off, val) ? 0 : -1;
    switch (off) {
    case 0x004: *val = (s->nexc - 16 + 31) / 32 - 1; return 0; /* ICTR */
    case 0x008: *val = 0; return 0;                             /* ACTLR */
    case 0x010: {
        uint32_t v = s->syst_csr & 7;
        if (s->syst_countflag)
            v |= 1u << 16;
        s->syst_countflag = false; /* COUNTFLAG clears on read */
        *val = v;
        return 0;
    }
    case 0x014: *val = s->syst_rvr; return 0;
    case 0x018: *val = syst_current(b); return 0;
    case 0x01C: *val = b->chip->core == SIM_CORE_M3 ? 0x00002328u : 0xC0000000u; return 0; /* CALIB */
    case 0xD00: *val = cpuid(b); return 0;
    case 0xD04: *val = icsr_read(b); return 0;
    case 0xD08: *val = s->vtor; return 0;
    case 0xD0C: *val = 0xFA050000u | (s->aircr_prigroup << 8); return 0;
    case 0xD10: *val = s->scr; return 0;
    case 0xD14: *val = s->ccr; return 0;
    case 0xD18: case 0xD1C: case 0xD20: {
        unsigned first = 4 + (off - 0xD18);
        uint32_t v = 0;
        for (unsigned i = 0; i < 4; i++)
            v |= (uint32_t)s->prio[first + i] << (8 * i);
        *val = v;
        return 0;
    }
    case 0xD24: *val = shcsr_read(b); return 0;
    case 0xD28: *val = s->cfsr; return 0;
    case 0xD2C: *val = s->hfsr; return 0;
    case 0xD30: *val = s->dfsr; return 0;
    case 0xD34: *val = s->mmfar; return 0;
    case 0xD38: *val = s->bfar; return 0;
    case 0xD3C: *val = s->afsr; return 0;
    /* CPUID feature registers (M3/M4 values from the TRMs) */
    case 0xD40: *val = 0x00000030u; return 0;
    case 0xD44: *val = 0x00000200u; return 0;
    case 0xD48: *val = 0x00100000u; return 0;
    case 0xD4C: *val = 0; return 0;
    case 0xD50: *val = 0x00100030u; return 0;
    case 0xD54: case 0xD58: *val = 0; return 0;
    case 0xD5C: *val = 0x00000000u; return 0;
    case 0xD60: *val = 0x01101110u; return 0;
    case 0xD64: *val = 0x02111000u; return 0;
    case 0xD68: *val = 0x21112231u; return 0;
    case 0xD6C: *val = 0x01111110u; return 0;
    case 0xD70: *val = 0x01310132u; return 0;
    case 0xD88: *val = b->has_fpu ? s->cpacr : 0; return 0;
    case 0xDF0: *val = dhcsr_read(b); return 0;
    case 0xDF4: *val = 0; return 0; /* DCRSR is write-only */
    case 0xDF8: *val = s->dcrdr; return 0;
    case 0xDFC: *val = s->demcr; return 0;
    case 0xF00: *val = 0; return 0; /* STIR write-only */
    case 0xF34: *val = b->has_fpu ? 0xC0000000u : 0; return 0; /* FPCCR: ASPEN|LSPEN */
    case 0xF38: case 0xF3C: *val = 0; return 0;
    case 0xF40: *val = b->has_fpu ? 0x10110021u : 0; return 0; /* MVFR0 */
    case 0xF44: *val = b->has_fpu ? 0x11000011u : 0; return 0; /* MVFR1 */
    default:
        *val = 0;
        return (off < 0x100) ? 0 : ((off >= 0xD00 && off < 0xD90) || off >= 0xF00) ? 0 : -1;
    }
}

static void scs_reg_write(sim_board_s *b, uint32_t addr, uint32_t val, sim_initiator_e who)
{
    sim_scs_s *s = &b->scs;
    uint32_t off = addr - SCS_BASE;
    if (off >= 0x100 && off < 0x140) {
        for (unsigned i = 0; i < 32; i++)
            if ((val >> i) & 1 && EXC_IRQ0 + (off - 0x100) * 8 + i < s->nexc)
                s->enabled[EXC_IRQ0 + (off - 0x100) * 8 + i] = true;
        /* enabling an interrupt that is already pending makes it eligible at once (B3.4.3):
         * stop the run so the exception engine sees it */
        if (b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu);
        return;
    }
    if (off >= 0x180 && off < 0x1C0) {
        for (unsigned i = 0; i < 32; i++)
            if ((val >> i) & 1 && EXC_IRQ0 + (off - 0x180) * 8 + i < s->nexc)
                s->enabled[EXC_IRQ0 + (off - 0x180) * 8 + i] = false;
        return;
    }
    if ((off >= 0x200 && off < 0x240) || (off >= 0x280 && off < 0x2C0)) {
        bool set = off < 0x280;
        unsigned base = EXC_IRQ0 + ((off & 0x3F) / 4) * 32;
        for (unsigned i = 0; i < 32; i++)
            if ((val >> i) & 1 && base + i < s->nexc)
                s->pending[base + i] = set;
        if (set && b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu);
        return;
    }
    if (off >= 0x400 && off < 0x400 + 240) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned e = EXC_IRQ0 + (off - 0x400) + i;
            if (e < s->nexc)
                s->prio[e] = (uint8_t)(val >> (8 * i)) & prio_mask(b);
        }
        /* a pending interrupt whose priority was raised may now preempt */
        if (b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu);
        return;
    }
    switch (off) {
    case 0x010: {
        uint32_t old = s->syst_csr;
        if (!(old & 1) && (val & 1)) {
            /* enabling: the counter continues from its current value */
        }
        syst_freeze(b);
        s->syst_csr = val & 7;
        syst_schedule(b);
        return;
    }
    case 0x014:
        s->syst_rvr = val & 0x00FFFFFFu;
        return;
    case 0x018: /* any write clears the counter and COUNTFLAG */
        s->syst_epoch = 0;
        s->syst_cycles_at_epoch = simi_cycles(b);
        s->syst_countflag = false;
        syst_schedule(b);
        return;
    case 0xD04:
        if (val & (1u << 31))
            simi_exc_pend(b, EXC_NMI);
        if (val & (1u << 28))
            simi_exc_pend(b, EXC_PENDSV);
        if (val & (1u << 27))
            s->pending[EXC_PENDSV] = false;
        if (val & (1u << 26))
            simi_exc_pend(b, EXC_SYSTICK);
        if (val & (1u << 25))
            s->pending[EXC_SYSTICK] = false;
        if (b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu);
        return;
    case 0xD08:
        s->vtor = val & 0xFFFFFF80u;
        return;
    case 0xD0C:
        if ((val >> 16) != 0x05FA)
            return; /* VECTKEY */
        s->aircr_prigroup = (val >> 8) & 7;
        if (b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu); /* grouping changes who may preempt */
        if (val & (1u << 2))
            simi_request_system_reset(b, "AIRCR.SYSRESETREQ");
        if ((val & (1u << 0)) && (b->halted)) /* VECTRESET (M3/M4, debug only) */
            simi_request_system_reset(b, "AIRCR.VECTRESET");
        if ((val & (1u << 1)) && b->halted) { /* VECTCLRACTIVE */
            memset(s->active, 0, sizeof s->active);
            set_reg(b, SIM_REG_IPSR, 0);
        }
        return;
    case 0xD10: s->scr = val & 0x16; return;
    case 0xD14: s->ccr = val & 0x31B; return;
    case 0xD18: case 0xD1C: case 0xD20: {
        unsigned first = 4 + (off - 0xD18);
        for (unsigned i = 0; i < 4; i++) {
            unsigned e = first + i;
            if (e == EXC_MEMMANAGE || e == EXC_BUSFAULT || e == EXC_USAGEFAULT ||
                e == EXC_SVCALL || e == EXC_DEBUGMON || e == EXC_PENDSV || e == EXC_SYSTICK)
                s->prio[e] = (uint8_t)(val >> (8 * i)) & prio_mask(b);
        }
        if (b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu);
        return;
    }
    case 0xD24:
        s->enabled[EXC_MEMMANAGE] = (val >> 16) & 1;
        s->enabled[EXC_BUSFAULT] = (val >> 17) & 1;
        s->enabled[EXC_USAGEFAULT] = (val >> 18) & 1;
        if (b->in_cpu_run) /* a pending fault just enabled may preempt */
            b->cpu->ops->request_stop(b->cpu);
        return;
    case 0xD28: s->cfsr &= ~val; return;  /* write 1 to clear */
    case 0xD2C: s->hfsr &= ~val; return;
    case 0xD30: s->dfsr &= ~val; return;
    case 0xD34: s->mmfar = val; return;
    case 0xD38: s->bfar = val; return;
    case 0xD88: s->cpacr = val & (0xFu << 20); return;
    case 0xDF0: dhcsr_write(b, val, who); return;
    case 0xDF4: { /* DCRSR */
        if (who == SIM_INIT_CPU || !b->halted) {
            simi_log(b, LODE_LOG_INFO, "sim: DCRSR write ignored (core not halted)");
            return;
        }
        unsigned regsel = val & 0x7F;
        if (val & (1u << 16)) {
            if (simi_core_reg_write(b, regsel, s->dcrdr) != 0)
                simi_log(b, LODE_LOG_INFO, "sim: DCRSR write to unknown register %u", regsel);
        } else {
            uint32_t v = 0;
            if (simi_core_reg_read(b, regsel, &v) == 0)
                s->dcrdr = v;
        }
        return;
    }
    case 0xDF8: s->dcrdr = val; return;
    case 0xDFC:
        s->demcr = val & 0x010F07F1u;
        fpb_apply(b);
        dwt_apply(b);
        return;
    case 0xF00: /* STIR */
        if ((val & 0x1FF) + EXC_IRQ0 < s->nexc) {
            simi_exc_pend(b, EXC_IRQ0 + (val & 0x1FF));
            if (b->in_cpu_run)
                b->cpu->ops->request_stop(b->cpu);
        }
        return;
    default:
        return;
    }
}

int simi_scs_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, sim_initiator_e who)
{
    (void)who;
    sim_scs_s *s = &b->scs;
    uint32_t a4 = addr & ~3u, v = 0;
    int rc = 0;
    if (a4 >= ROM_BASE) {
        uint32_t off = a4 - ROM_BASE;
        static const uint32_t rom[] = {0xFFF0F003u, 0xFFF02003u, 0xFFF03003u, 0xFFF01003u,
                                       0xFFF41003u, 0xFFF42002u, 0};
        static const uint32_t rom_m0p[] = {0xFFF0F003u, 0xFFF02003u, 0xFFF03003u, 0};
        bool m0p = b->chip->core == SIM_CORE_M0P;
        if (off < (m0p ? sizeof rom_m0p : sizeof rom))
            v = m0p ? rom_m0p[off / 4] : rom[off / 4];
        else if (off == 0xFCC)
            v = 1; /* MEMTYPE: system memory present */
        else if (!id_register(b, ROM_BASE, off, &v))
            v = 0;
    } else if (a4 >= TPIU_BASE) {
        uint32_t off = a4 - TPIU_BASE;
        if (!id_register(b, TPIU_BASE, off, &v))
            v = off == 0 ? 0xF : off == 4 ? 1 : off == 0xFCC ? 0x11 : 0; /* SSPSR / CSPSR / DEVTYPE */
    } else if (a4 >= SCS_BASE) {
        rc = scs_reg_read(b, a4, &v);
    } else if (a4 >= FPB_BASE) {
        uint32_t off = a4 - FPB_BASE;
        if (off == 0)
            v = (s->fp_ctrl & 1) | ((s->fp_ncode & 0xF) << 4) | ((s->fp_nlit & 0xF) << 8) |
                (((s->fp_ncode >> 4) & 7) << 12);
        else if (off == 4)
            v = s->fp_remap;
        else if (off >= 8 && off < 8 + 4 * (s->fp_ncode + s->fp_nlit))
            v = s->fp_comp[(off - 8) / 4];
        else if (!id_register(b, FPB_BASE, off, &v))
            v = 0;
    } else if (a4 >= DWT_BASE) {
        uint32_t off = a4 - DWT_BASE;
        bool v6m = b->chip->core == SIM_CORE_M0P; /* ARMv6-M DWT: no CYCCNT, CTRL = NUMCOMP */
        if (off == 0)
            v = (s->dwt_ncomp << 28) | (v6m ? 0 : s->dwt_ctrl & 0x0FFFFFFFu);
        else if (off == 4)
            v = v6m ? 0 : simi_dwt_cyccnt(b);
        else if (off >= 0x20 && off < 0x20 + 16 * s->dwt_ncomp) {
            unsigned i = (off - 0x20) / 16, r = (off - 0x20) % 16;
            if (r == 0)
                v = s->dwt_comp[i];
            else if (r == 4)
                v = s->dwt_mask[i];
            else if (r == 8) {
                v = s->dwt_function[i];
                s->dwt_function[i] &= ~(1u << 24); /* MATCHED clears on read */
            }
        } else if (!id_register(b, DWT_BASE, off, &v))
            v = 0;
    } else { /* ITM */
        uint32_t off = a4 - ITM_BASE;
        if (off < 0x80)
            v = 1; /* stimulus port read: FIFOREADY */
        else if (off == 0xE00)
            v = s->itm_ter;
        else if (off == 0xE40)
            v = s->itm_tpr;
        else if (off == 0xE80)
            v = s->itm_tcr;
        else if (off == 0xFB4)
            v = s->itm_unlocked ? 0x1 : 0x3; /* LSR: lock present, locked */
        else if (!id_register(b, ITM_BASE, off, &v))
            v = 0;
    }
    if (rc)
        return SIM_BUS_FAULT;
    *val = (v >> ((addr & 3) * 8)) & (size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu);
    return SIM_BUS_OK;
}

int simi_scs_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who)
{
    sim_scs_s *s = &b->scs;
    uint32_t a4 = addr & ~3u;
    if (a4 >= TPIU_BASE)
        return SIM_BUS_OK;
    if (a4 >= SCS_BASE) {
        uint32_t off = a4 - SCS_BASE;
        if (size != 4) {
            /* byte/halfword writes: NVIC_IPR and SHPR are byte-accessible; others merge */
            bool bytewise = (off >= 0x400 && off < 0x4F0) || (off >= 0xD18 && off < 0xD24);
            if (bytewise || (off >= 0xD28 && off < 0xD30)) {
                uint32_t cur = 0;
                scs_reg_read(b, a4, &cur);
                unsigned sh = (addr & 3) * 8;
                uint32_t m = (size == 2 ? 0xFFFFu : 0xFFu) << sh;
                uint32_t nv = (off >= 0xD28 && off < 0xD30) ? ((val << sh) & m) : ((cur & ~m) | ((val << sh) & m));
                scs_reg_write(b, a4, nv, who);
                return SIM_BUS_OK;
            }
        }
        scs_reg_write(b, a4, val, who);
        return SIM_BUS_OK;
    }
    if (a4 >= FPB_BASE) {
        uint32_t off = a4 - FPB_BASE;
        if (off == 0) {
            if (val & 2) /* KEY */
                s->fp_ctrl = val & 1;
        } else if (off == 4) {
            s->fp_remap = val & 0x1FFFFFE0u;
        } else if (off >= 8 && off < 8 + 4 * (s->fp_ncode + s->fp_nlit)) {
            s->fp_comp[(off - 8) / 4] = val & 0xDFFFFFFDu;
        }
        fpb_apply(b);
        return SIM_BUS_OK;
    }
    if (a4 >= DWT_BASE) {
        uint32_t off = a4 - DWT_BASE;
        if (off == 0) {
            bool was = s->dwt_ctrl & 1;
            uint32_t cnt = simi_dwt_cyccnt(b);
            s->dwt_ctrl = val & 0x0FFFFFFFu;
            if (was != (bool)(val & 1)) {
                s->dwt_cyccnt_written = cnt;
                s->dwt_cyccnt_base = simi_cycles(b);
            }
        } else if (off == 4) {
            s->dwt_cyccnt_written = val;
            s->dwt_cyccnt_base = simi_cycles(b);
        } else if (off >= 0x20 && off < 0x20 + 16 * s->dwt_ncomp) {
            unsigned i = (off - 0x20) / 16, r = (off - 0x20) % 16;
            if (r == 0)
                s->dwt_comp[i] = val;
            else if (r == 4)
                s->dwt_mask[i] = val & 0x1F;
            else if (r == 8)
                s->dwt_function[i] = (s->dwt_function[i] & (1u << 24)) | (val & 0x000F0F3Fu);
            dwt_apply(b);
        }
        return SIM_BUS_OK;
    }
    /* ITM */
    uint32_t off = a4 - ITM_BASE;
    if (off < 0x80) {
        if (who == SIM_INIT_CPU)
            itm_stim_write(b, off / 4, size, val);
        return SIM_BUS_OK;
    }
    if (off == 0xFB0) {
        s->itm_unlocked = val == 0xC5ACCE55u;
        return SIM_BUS_OK;
    }
    /* the lock applies to software; debugger writes go through */
    if (who == SIM_INIT_CPU && !s->itm_unlocked)
        return SIM_BUS_OK;
    if (off == 0xE00)
        s->itm_ter = val;
    else if (off == 0xE40)
        s->itm_tpr = val & 0xF;
    else if (off == 0xE80)
        s->itm_tcr = val & 0x00FF0F1Fu;
    return SIM_BUS_OK;
}

void simi_scs_init(sim_board_s *b)
{
    sim_scs_s *s = &b->scs;
    memset(s, 0, sizeof *s);
    unsigned irqs = b->chip->nvic_irqs ? b->chip->nvic_irqs : 32;
    if (irqs > SIM_NEXC - 16)
        irqs = SIM_NEXC - 16;
    s->nexc = 16 + irqs;
    bool m0p = b->chip->core == SIM_CORE_M0P; /* Cortex-M0+: BPU with 4 comparators, DWT with 2 */
    s->fp_ncode = m0p ? 4 : 6;
    s->fp_nlit = m0p ? 0 : 2;
    s->dwt_ncomp = m0p ? 2 : 4;
    s->syst_timer.fn = syst_timer_fn;
    s->syst_timer.ctx = NULL;
}

void simi_scs_reset(sim_board_s *b, bool power_on)
{
    sim_scs_s *s = &b->scs;
    simi_timer_cancel(b, &s->syst_timer);
    memset(s->prio, 0, sizeof s->prio);
    memset(s->enabled, 0, sizeof s->enabled);
    memset(s->pending, 0, sizeof s->pending);
    memset(s->active, 0, sizeof s->active);
    s->vtor = 0;
    s->aircr_prigroup = 0;
    s->scr = 0;
    s->ccr = b->chip->core == SIM_CORE_M3 ? 0x00000000u : 0x00000200u; /* STKALIGN */
    s->cpacr = 0;
    s->cfsr = s->hfsr = s->mmfar = s->bfar = s->afsr = 0;
    s->syst_csr = 0;
    s->syst_rvr = 0;
    s->syst_epoch = 0;
    s->syst_countflag = false;
    s->s_reset_st = true;
    if (power_on) {
        /* debug logic is reset only by a power-on reset (ARMv7-M C1.4.1) */
        s->dhcsr = 0;
        s->demcr = 0;
        s->dfsr = 0;
        s->dcrdr = 0;
        s->fp_ctrl = 0;
        memset(s->fp_comp, 0, sizeof s->fp_comp);
        s->dwt_ctrl = 0;
        memset(s->dwt_function, 0, sizeof s->dwt_function);
        s->dwt_cyccnt_written = 0;
        s->itm_ter = s->itm_tpr = s->itm_tcr = 0;
        s->itm_unlocked = false;
        s->swo_len = 0;
        fpb_apply(b);
        dwt_apply(b);
    }
}
