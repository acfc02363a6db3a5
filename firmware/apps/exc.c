/* SPDX-License-Identifier: MIT */
/* The ARMv7-M exception model as software sees it (ARMv7-M ARM DDI 0403E, B1.5 and B3.2-B3.4).
 * Each check prints one line over semihosting, "<name>: ok" or "<name>: FAIL <a> <b>" (a is a
 * bit mask of the sub-checks that failed, b a value worth seeing); the order checks print the
 * sequence in which handlers ran. The last line is "exc: done, <n> failed"; exit code 0 when
 * every check passed, 1 otherwise.
 *
 * First thing in main: AIRCR.SYSRESETREQ with a marker in .noinit (not zeroed by the startup
 * code); after the reset the program checks that the marker survived and that the NVIC and
 * SCB came back in their reset state. Device interrupts 20-23 are pended by software only
 * (ISPR); their handlers live in a vector table in RAM (VTOR). */
#include <stdint.h>

#include "cortexm.h"
#include "fmt.h"
#include "semihost.h"

#define NVIC_ISER0 REG32(0xE000E100u)
#define NVIC_ICER0 REG32(0xE000E180u)
#define NVIC_ISPR0 REG32(0xE000E200u)
#define NVIC_ICPR0 REG32(0xE000E280u)
#define NVIC_IABR0 REG32(0xE000E300u)
#define NVIC_IPR(n) REG8(0xE000E400u + (n))
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHPR2 REG32(0xE000ED1Cu)
#define SCB_SHPR3 REG32(0xE000ED20u)
#define SHPR_PENDSV REG8(0xE000ED22u)
#define SHPR_SYSTICK REG8(0xE000ED23u)

#define ICSR_PENDSVSET (1u << 28)
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_RETTOBASE (1u << 11)
#define CCR_STKALIGN (1u << 9)
#define AIRCR_SYSRESETREQ 0x05FA0004u

#define IRQ_LO 20u /* priority 0xC0 */
#define IRQ_HI 21u /* priority 0x40 */
#define IRQ_EQ 22u /* priority 0xC0, same as IRQ_LO */
#define IRQ_FP 23u /* priority 0x80 */
#define NVEC 64u   /* 16 system + 48 device vectors: enough for both chips */

#define MARKER_RESETTING 0x5E5E7001u
#define SPIN_LIMIT 2000000u

typedef void (*handler_fn)(void);

void Default_Handler(void); /* startup.c */

/* Survives a system reset: the startup code neither loads nor zeroes .noinit. */
__attribute__((section(".noinit"))) static volatile uint32_t reset_marker;
__attribute__((section(".noinit"))) static volatile uint32_t reset_count;

static handler_fn ram_vectors[NVEC] __attribute__((aligned(256)));
static unsigned failures;

static inline void barrier(void) { __asm__ volatile("dsb\n\tisb" ::: "memory"); }
static inline void pend(unsigned irq) { NVIC_ISPR0 = 1u << irq; barrier(); }

static uint32_t get_control(void)
{
    uint32_t v;
    __asm__ volatile("mrs %0, control" : "=r"(v));
    return v;
}

static void set_control(uint32_t v) { __asm__ volatile("msr control, %0\n\tisb" ::"r"(v) : "memory"); }

static uint32_t get_ipsr(void)
{
    uint32_t v;
    __asm__ volatile("mrs %0, ipsr" : "=r"(v));
    return v & 0x1FFu;
}

static void report(const char *name, uint32_t bad, uint32_t value)
{
    char line[96];
    char *p = fmt_str(line, name);
    if (!bad) {
        p = fmt_str(p, ": ok\n");
    } else {
        failures++;
        p = fmt_str(p, ": FAIL ");
        p = fmt_hex32(p, bad);
        *p++ = ' ';
        p = fmt_hex32(p, value);
        *p++ = '\n';
    }
    *p = '\0';
    sh_write0(line);
}

#define BAD(bit, cond) ((cond) ? 0u : (1u << (bit)))

/* ---- handler bookkeeping ---- */
enum { M_COUNT, M_PREEMPT, M_NESTED, M_PENDSV, M_FPCLOBBER };
static volatile unsigned mode;
static volatile char seq[16];
static volatile unsigned nseq;
static volatile uint32_t hits_lo, hits_hi, hits_eq, hits_pendsv, hits_systick;
static volatile uint32_t lr_lo, lr_hi, lr_eq, lr_pendsv, ipsr_lo, icsr_hi, icsr_eq, iabr_lo;

static void mark(char c)
{
    if (nseq < sizeof seq - 1)
        seq[nseq++] = c;
}

static void seq_reset(void)
{
    nseq = 0;
    for (unsigned i = 0; i < sizeof seq; i++)
        seq[i] = 0;
}

/* Print "<name>: <sequence>" (checked by the host). */
static void report_seq(const char *name)
{
    char line[64];
    char *p = fmt_str(line, name);
    p = fmt_str(p, ": ");
    for (unsigned i = 0; i < nseq; i++)
        *p++ = seq[i];
    *p++ = '\n';
    *p = '\0';
    sh_write0(line);
}

/* Each device interrupt enters through a naked stub that hands its EXC_RETURN to C. */
#define IRQ_STUB(name)                                                                    \
    __attribute__((naked)) void name##_stub(void)                                         \
    {                                                                                     \
        __asm__ volatile("mov r0, lr\n\tb " #name "_c\n\t");                              \
    }

__attribute__((used)) void irq_lo_c(uint32_t lr)
{
    hits_lo++;
    lr_lo = lr;
    ipsr_lo = get_ipsr();
    iabr_lo = NVIC_IABR0;
    mark('A');
    if (mode == M_PREEMPT) {
        pend(IRQ_HI); /* higher priority: preempts right here */
        mark('a');
        pend(IRQ_EQ); /* same priority: waits until this handler returns */
        mark('z');
    } else if (mode == M_NESTED) {
        pend(IRQ_HI);
        mark('a');
    }
}

__attribute__((used)) void irq_hi_c(uint32_t lr)
{
    hits_hi++;
    lr_hi = lr;
    icsr_hi = SCB_ICSR;
    mark('B');
    if (mode == M_NESTED) {
        pend(IRQ_EQ); /* cannot preempt IRQ_LO either: runs after both returned */
        mark('b');
    } else if (mode == M_PENDSV) {
        SCB_ICSR = ICSR_PENDSVSET; /* lowest priority: runs after this handler */
        barrier();
        mark('b');
    }
}

__attribute__((used)) void irq_eq_c(uint32_t lr)
{
    hits_eq++;
    lr_eq = lr;
    icsr_eq = SCB_ICSR;
    mark('C');
}

IRQ_STUB(irq_lo)
IRQ_STUB(irq_hi)
IRQ_STUB(irq_eq)

__attribute__((used)) void pendsv_c(uint32_t lr)
{
    hits_pendsv++;
    lr_pendsv = lr;
    mark('P');
}

__attribute__((naked)) void PendSV_Handler(void) { __asm__ volatile("mov r0, lr\n\tb pendsv_c\n\t"); }

void SysTick_Handler(void)
{
    hits_systick++;
    mark('S');
}

/* SVC: the handler gets the frame (on the stack the caller used) and EXC_RETURN. */
static volatile uint32_t svc_imm, svc_lr, svc_frame, svc_xpsr, svc_control, svc_msp;
static volatile uint32_t svc_stacked_r2;

__attribute__((used)) void svc_c(uint32_t *frame, uint32_t lr, uint32_t msp)
{
    uint16_t insn = ((const uint16_t *)(uintptr_t)frame[6])[-1];
    svc_imm = insn & 0xFFu;
    svc_lr = lr;
    svc_frame = (uint32_t)(uintptr_t)frame;
    svc_xpsr = frame[7];
    svc_stacked_r2 = frame[2];
    svc_control = get_control();
    svc_msp = msp;
    if (svc_imm == 0x2A)
        frame[0] = frame[0] + frame[1];
}

__attribute__((naked)) void SVC_Handler(void)
{
    __asm__ volatile("mrs r2, msp\n\t"
                     "tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "mov r1, lr\n\t"
                     "b svc_c\n\t");
}

static uint32_t svc_2a(uint32_t a, uint32_t b)
{
    register uint32_t r0 __asm__("r0") = a;
    register uint32_t r1 __asm__("r1") = b;
    __asm__ volatile("svc #0x2A" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Faults: HardFault and UsageFault record what they saw and return past the instruction. */
#define SCB_SHCSR_USGFAULTENA (1u << 18)
static volatile uint32_t hf_hits, hf_hfsr, uf_hits, uf_cfsr, uf_ipsr;

__attribute__((used)) void hardfault_c(uint32_t *frame)
{
    (void)frame;
    hf_hits++;
    hf_hfsr = SCB_HFSR;
    SCB_HFSR = hf_hfsr; /* write one to clear */
    SCB_CFSR = SCB_CFSR;
    mark('H');
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "b hardfault_c\n\t");
}

__attribute__((used)) void usagefault_c(uint32_t *frame)
{
    uf_hits++;
    uf_cfsr = SCB_CFSR;
    uf_ipsr = get_ipsr();
    SCB_CFSR = uf_cfsr;
    frame[6] += 2; /* skip the 16-bit UDF */
}

__attribute__((naked)) void UsageFault_Handler(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "b usagefault_c\n\t");
}

static void check_faults(void)
{
    /* SVC while PRIMASK is set cannot be taken: it escalates to HardFault (B1.5.4 "priority
     * escalation"), which returns after the SVC */
    seq_reset();
    hf_hits = 0;
    __asm__ volatile("cpsid i\n\tsvc #3\n\tcpsie i" ::: "memory");
    report("svc-escalate", BAD(0, hf_hits == 1) | BAD(1, hf_hfsr == 0x40000000u) | BAD(2, SCB_HFSR == 0),
           hf_hfsr);
    /* UsageFault enabled: UDF goes to it, not to HardFault */
    hf_hits = 0;
    SCB_SHCSR |= SCB_SHCSR_USGFAULTENA;
    __asm__ volatile("udf #1" ::: "memory");
    report("usagefault", BAD(0, uf_hits == 1) | BAD(1, uf_cfsr == CFSR_UNDEFINSTR) | BAD(2, uf_ipsr == 6) |
           BAD(3, hf_hits == 0), uf_cfsr);
    SCB_SHCSR &= ~SCB_SHCSR_USGFAULTENA;
}

/* ---- set-up ---- */
static void setup_vectors(void)
{
    const handler_fn *flash = (const handler_fn *)(uintptr_t)SCB_VTOR;
    for (unsigned i = 0; i < 16; i++)
        ram_vectors[i] = flash[i];
    for (unsigned i = 16; i < NVEC; i++)
        ram_vectors[i] = Default_Handler;
    ram_vectors[16 + IRQ_LO] = irq_lo_stub;
    ram_vectors[16 + IRQ_HI] = irq_hi_stub;
    ram_vectors[16 + IRQ_EQ] = irq_eq_stub;
    SCB_VTOR = (uint32_t)(uintptr_t)ram_vectors;
    barrier();
    NVIC_IPR(IRQ_LO) = 0xC0;
    NVIC_IPR(IRQ_HI) = 0x40;
    NVIC_IPR(IRQ_EQ) = 0xC0;
    NVIC_IPR(IRQ_FP) = 0x80;
    SHPR_PENDSV = 0xE0;
    SHPR_SYSTICK = 0x20;
}

static void reset_counts(unsigned m)
{
    mode = m;
    hits_lo = hits_hi = hits_eq = hits_pendsv = hits_systick = 0;
    lr_lo = lr_hi = lr_eq = lr_pendsv = 0;
    seq_reset();
}

/* ---- system reset ---- */
static void check_sysreset(void)
{
    if (reset_marker != MARKER_RESETTING) {
        /* first boot: leave state behind that a system reset must clear, then reset */
        reset_marker = MARKER_RESETTING;
        reset_count = 0;
        sh_write0("sysreset: requesting\n");
        NVIC_ISER0 = 1u << IRQ_LO;
        NVIC_IPR(IRQ_LO) = 0x80;
        SHPR_PENDSV = 0x40;
        SCB_AIRCR = AIRCR_SYSRESETREQ;
        barrier();
        for (uint32_t n = 0; n < SPIN_LIMIT; n++)
            __asm__ volatile("nop");
        sh_fail("sysreset: AIRCR.SYSRESETREQ did not reset\n", 1);
    }
    reset_marker = 0;
    reset_count++;
    uint32_t bad = BAD(0, reset_count == 1) | BAD(1, NVIC_ISER0 == 0) | BAD(2, NVIC_IPR(IRQ_LO) == 0) |
                   BAD(3, SCB_SHPR3 == 0) | BAD(4, (SCB_ICSR & 0x1FFu) == 0) |
                   BAD(5, (get_control() & 3u) == 0) | BAD(6, SYST_CSR == 0);
    report("sysreset", bad, NVIC_ISER0);
}

/* ---- checks ---- */
static void check_nvic(void)
{
    reset_counts(M_COUNT);
    NVIC_ICER0 = 0xFFFFFFFFu;
    NVIC_ICPR0 = 0xFFFFFFFFu;
    pend(IRQ_LO); /* pending but disabled: must not run */
    /* VECTPENDING names the highest-priority pending *enabled* exception (B3.2.4) */
    uint32_t bad = BAD(0, hits_lo == 0) | BAD(1, NVIC_ISPR0 == (1u << IRQ_LO)) |
                   BAD(3, ((SCB_ICSR >> 12) & 0x1FFu) == 0);
    NVIC_ISER0 = 1u << IRQ_LO; /* enabling takes the pending interrupt */
    barrier();
    bad |= BAD(4, hits_lo == 1) | BAD(5, NVIC_ISPR0 == 0) | BAD(6, ipsr_lo == 16u + IRQ_LO) |
           BAD(7, iabr_lo == (1u << IRQ_LO)) | BAD(8, NVIC_IABR0 == 0) | BAD(9, lr_lo == 0xFFFFFFF9u);
    /* ICPR removes a pending interrupt before it runs */
    NVIC_ICER0 = 1u << IRQ_LO;
    pend(IRQ_LO);
    NVIC_ICPR0 = 1u << IRQ_LO;
    NVIC_ISER0 = 1u << IRQ_LO;
    barrier();
    bad |= BAD(10, hits_lo == 1) | BAD(11, NVIC_ISPR0 == 0) | BAD(12, NVIC_ISER0 == (1u << IRQ_LO));
    /* pended while enabled: runs at once */
    pend(IRQ_LO);
    bad |= BAD(13, hits_lo == 2);
    report("nvic", bad, hits_lo);
}

static void enable_test_irqs(void)
{
    NVIC_ICPR0 = 0xFFFFFFFFu;
    NVIC_ISER0 = (1u << IRQ_LO) | (1u << IRQ_HI) | (1u << IRQ_EQ);
}

static void check_preempt(void)
{
    enable_test_irqs();
    reset_counts(M_PREEMPT);
    pend(IRQ_LO);
    report_seq("preempt"); /* expect ABazC */
    report("preempt-lr", BAD(0, lr_hi == 0xFFFFFFF1u) | BAD(1, lr_eq == 0xFFFFFFF9u), lr_hi);

    reset_counts(M_NESTED);
    pend(IRQ_LO);
    report_seq("nested"); /* expect ABbaC: IRQ_EQ tail-chains after IRQ_LO */
    report("nested-rettobase",
           BAD(0, (icsr_hi & ICSR_RETTOBASE) == 0) | BAD(1, (icsr_eq & ICSR_RETTOBASE) != 0) |
               BAD(2, (icsr_hi & 0x1FFu) == 16u + IRQ_HI) | BAD(3, lr_eq == 0xFFFFFFF9u) |
               BAD(4, lr_hi == 0xFFFFFFF1u),
           icsr_hi);
}

static void check_masks(void)
{
    enable_test_irqs();
    /* PRIMASK */
    reset_counts(M_COUNT);
    __asm__ volatile("cpsid i" ::: "memory");
    pend(IRQ_HI);
    uint32_t held = hits_hi;
    uint32_t pending = NVIC_ISPR0;
    __asm__ volatile("cpsie i\n\tisb" ::: "memory");
    uint32_t after = hits_hi;
    report("primask", BAD(0, held == 0) | BAD(1, pending == (1u << IRQ_HI)) | BAD(2, after == 1), after);

    /* equal priority, both pending: the lower exception number goes first */
    reset_counts(M_COUNT);
    __asm__ volatile("cpsid i" ::: "memory");
    pend(IRQ_EQ);
    pend(IRQ_LO);
    __asm__ volatile("cpsie i\n\tisb" ::: "memory");
    report_seq("tiebreak"); /* expect AC */

    /* BASEPRI: masks priorities numerically >= it */
    reset_counts(M_COUNT);
    __asm__ volatile("msr basepri, %0\n\tisb" ::"r"(0x80u) : "memory");
    pend(IRQ_LO); /* 0xC0: masked */
    uint32_t lo_held = hits_lo;
    pend(IRQ_HI); /* 0x40: runs */
    uint32_t hi_ran = hits_hi;
    __asm__ volatile("msr basepri, %0\n\tisb" ::"r"(0u) : "memory");
    uint32_t lo_after = hits_lo;
    report("basepri", BAD(0, lo_held == 0) | BAD(1, hi_ran == 1) | BAD(2, lo_after == 1), lo_after);

    /* FAULTMASK */
    reset_counts(M_COUNT);
    __asm__ volatile("cpsid f" ::: "memory");
    pend(IRQ_HI);
    held = hits_hi;
    __asm__ volatile("cpsie f\n\tisb" ::: "memory");
    report("faultmask", BAD(0, held == 0) | BAD(1, hits_hi == 1), hits_hi);
}

static void check_pendsv_svc(void)
{
    enable_test_irqs();
    reset_counts(M_PENDSV);
    SCB_ICSR = ICSR_PENDSVSET;
    barrier();
    uint32_t bad = BAD(0, hits_pendsv == 1) | BAD(1, (SCB_ICSR & ICSR_PENDSVSET) == 0) |
                   BAD(2, lr_pendsv == 0xFFFFFFF9u);
    report("pendsv", bad, hits_pendsv);
    reset_counts(M_PENDSV);
    pend(IRQ_HI);
    report_seq("pendsv-late"); /* expect BbP */

    uint32_t r = svc_2a(0x1234u, 5u);
    bad = BAD(0, r == 0x1239u) | BAD(1, svc_imm == 0x2Au) | BAD(2, svc_lr == 0xFFFFFFF9u) |
          BAD(3, (svc_xpsr & (1u << 24)) != 0);
    report("svc", bad, svc_lr);
}

/* ---- thread mode on the process stack ---- */
static uint32_t psp_stack[256] __attribute__((aligned(8)));
static volatile uint32_t psp_sp_seen, psp_psp_seen, psp_control_seen, psp_svc_result;

/* Runs on the PSP. */
__attribute__((used, noinline)) void psp_body(void)
{
    uint32_t sp, psp;
    __asm__ volatile("mov %0, sp\n\tmrs %1, psp" : "=r"(sp), "=r"(psp));
    psp_sp_seen = sp;
    psp_psp_seen = psp;
    psp_control_seen = get_control();
    psp_svc_result = svc_2a(40u, 2u);
    reset_counts(M_COUNT);
    pend(IRQ_LO);
}

/* r0 = function, r1 = PSP top: call it in Thread mode on the PSP, then return to the MSP. */
__attribute__((naked)) static void run_on_psp(void (*fn)(void), uint32_t *top)
{
    (void)fn;
    (void)top;
    __asm__ volatile("push {r4, lr}\n\t"
                     "msr psp, r1\n\t"
                     "mrs r4, control\n\t"
                     "orr r2, r4, #2\n\t"
                     "msr control, r2\n\t"
                     "isb\n\t"
                     "blx r0\n\t"
                     "msr control, r4\n\t"
                     "isb\n\t"
                     "pop {r4, pc}\n\t");
}

static void check_psp(void)
{
    enable_test_irqs();
    uint32_t msp;
    __asm__ volatile("mrs %0, msp" : "=r"(msp));
    run_on_psp(psp_body, &psp_stack[256]);
    uint32_t top = (uint32_t)(uintptr_t)&psp_stack[256];
    uint32_t bad = BAD(0, psp_sp_seen == psp_psp_seen) | BAD(1, psp_sp_seen < top && psp_sp_seen > top - 64u) |
                   BAD(2, (psp_control_seen & 3u) == 2u) | BAD(3, psp_svc_result == 42u) |
                   BAD(4, svc_lr == 0xFFFFFFFDu) | BAD(5, svc_frame < top && svc_frame >= top - 256u) |
                   BAD(6, (svc_control & 2u) == 0) | BAD(7, svc_msp < msp) |
                   BAD(8, hits_lo == 1) | BAD(9, lr_lo == 0xFFFFFFFDu) | BAD(10, (get_control() & 2u) == 0);
    report("psp", bad, svc_lr);
}

/* ---- stack alignment (CCR.STKALIGN, B1.5.7) ---- */
/* SVC #1 with SP = 4 (mod 8); r2 holds that SP (stacked as r2). Returns SP after the return
 * minus SP before the SVC (0 when the frame was popped correctly). */
__attribute__((naked)) static uint32_t svc_misaligned(void)
{
    __asm__ volatile("push {r4, lr}\n\t"
                     "mov r4, sp\n\t"
                     "mov r0, sp\n\t"
                     "bic r0, r0, #7\n\t"
                     "sub r0, r0, #12\n\t"
                     "mov sp, r0\n\t"
                     "mov r2, r0\n\t"
                     "svc #1\n\t"
                     "mov r0, sp\n\t"
                     "sub r0, r0, r2\n\t"
                     "mov sp, r4\n\t"
                     "pop {r4, pc}\n\t");
}

static void check_stkalign(void)
{
    /* reset value recorded before anything wrote CCR (main's first line) */
    extern uint32_t exc_ccr_at_reset;
    char line[48];
    char *p = fmt_str(line, "stkalign-reset: ");
    *p++ = (exc_ccr_at_reset & CCR_STKALIGN) ? '1' : '0';
    *p++ = '\n';
    *p = '\0';
    sh_write0(line);

    SCB_CCR |= CCR_STKALIGN;
    barrier();
    uint32_t d = svc_misaligned();
    uint32_t bad = BAD(0, (SCB_CCR & CCR_STKALIGN) != 0) | BAD(1, d == 0) | BAD(2, svc_imm == 1) |
                   BAD(3, (svc_frame & 7u) == 0) | BAD(4, (svc_xpsr & (1u << 9)) != 0) |
                   BAD(5, svc_stacked_r2 - svc_frame == 0x24u);
    report("stkalign=1", bad, svc_frame);

    SCB_CCR &= ~CCR_STKALIGN;
    barrier();
    d = svc_misaligned();
    bad = BAD(0, (SCB_CCR & CCR_STKALIGN) == 0) | BAD(1, d == 0) | BAD(2, (svc_frame & 7u) == 4u) |
          BAD(3, (svc_xpsr & (1u << 9)) == 0) | BAD(4, svc_stacked_r2 - svc_frame == 0x20u);
    report("stkalign=0", bad, svc_frame);
    SCB_CCR |= CCR_STKALIGN;
    barrier();
}

/* ---- FP context (M4F): an interrupt that clobbers S0-S15 and FPSCR ---- */
#if defined(__ARM_FP)
static volatile uint32_t fp_lr, fp_control_in, fp_frame_s0, fp_frame_s15, fp_frame_fpscr;

__attribute__((used)) void irq_fp_c(uint32_t lr, uint32_t *frame)
{
    fp_lr = lr;
    fp_control_in = get_control();
    fp_frame_s0 = frame[8];
    fp_frame_s15 = frame[8 + 15];
    fp_frame_fpscr = frame[8 + 16];
    __asm__ volatile("vmov s0, %0\n\t"
                     "vmov s15, %0\n\t"
                     "vmsr fpscr, %1\n\t" ::"r"(0xDEADBEEFu),
                     "r"(0u)
                     : "s0", "s15", "memory");
}

__attribute__((naked)) void irq_fp_stub(void)
{
    __asm__ volatile("mov r0, lr\n\tmrs r1, msp\n\tb irq_fp_c\n\t");
}

static void check_fp(void)
{
    ram_vectors[16 + IRQ_FP] = irq_fp_stub;
    NVIC_ISER0 = 1u << IRQ_FP;
    set_control(get_control() & ~4u); /* no FP context yet */
    uint32_t s0, s15, fpscr, control_after;
    __asm__ volatile("vmsr fpscr, %[f]\n\t"
                     "vmov s0, %[a]\n\t"
                     "vmov s15, %[b]\n\t"
                     "str %[bit], [%[ispr]]\n\t"
                     "dsb\n\t"
                     "isb\n\t"
                     "vmov %[ra], s0\n\t"
                     "vmov %[rb], s15\n\t"
                     "vmrs %[rf], fpscr\n\t"
                     "mrs %[rc], control\n\t"
                     : [ra] "=&r"(s0), [rb] "=&r"(s15), [rf] "=&r"(fpscr), [rc] "=&r"(control_after)
                     : [a] "r"(0x3FC00000u), [b] "r"(0x12345678u), [f] "r"(0x00C00000u),
                       [bit] "r"(1u << IRQ_FP), [ispr] "r"(&NVIC_ISPR0)
                     : "s0", "s15", "memory");
    uint32_t bad = BAD(0, fp_lr == 0xFFFFFFE9u) | BAD(1, (fp_control_in & 4u) == 0) |
                   BAD(2, fp_frame_s0 == 0x3FC00000u) | BAD(3, fp_frame_s15 == 0x12345678u) |
                   BAD(4, fp_frame_fpscr == 0x00C00000u) | BAD(5, s0 == 0x3FC00000u) |
                   BAD(6, s15 == 0x12345678u) | BAD(7, fpscr == 0x00C00000u) |
                   BAD(8, (control_after & 4u) != 0);
    __asm__ volatile("vmsr fpscr, %0" ::"r"(0u));
    set_control(get_control() & ~4u);
    report("fp-context", bad, fp_lr);
}
#endif

/* ---- SysTick (B3.3) ---- */
static void check_systick(void)
{
    reset_counts(M_COUNT);
    SYST_CSR = 0;
    SYST_RVR = 999u;
    SYST_CVR = 12345u; /* any write clears the counter */
    uint32_t bad = BAD(0, SYST_CVR == 0) | BAD(1, (SYST_CSR & SYST_CSR_COUNTFLAG) == 0);
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE;
    uint32_t n = 0;
    while (!(SYST_CSR & SYST_CSR_COUNTFLAG) && n < SPIN_LIMIT)
        n++;
    bad |= BAD(2, n < SPIN_LIMIT);
    bad |= BAD(3, (SYST_CSR & SYST_CSR_COUNTFLAG) == 0); /* reading cleared it */
    uint32_t v1 = SYST_CVR, v2 = SYST_CVR;
    bad |= BAD(4, v1 <= 999u && v2 <= 999u);
    /* wait for a reload (the value jumps up), then clear COUNTFLAG by writing CVR */
    uint32_t prev = SYST_CVR;
    for (n = 0; n < SPIN_LIMIT; n++) {
        uint32_t cur = SYST_CVR;
        if (cur > prev)
            break;
        prev = cur;
    }
    SYST_CVR = 0;
    bad |= BAD(5, (SYST_CSR & SYST_CSR_COUNTFLAG) == 0);
    bad |= BAD(6, hits_systick == 0 && (SCB_ICSR & ICSR_PENDSTSET) == 0); /* TICKINT = 0 */
    /* with TICKINT the exception comes */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    for (n = 0; hits_systick == 0 && n < SPIN_LIMIT; n++)
        ;
    SYST_CSR = 0;
    bad |= BAD(7, hits_systick >= 1);
    report("systick", bad, n);
}

uint32_t exc_ccr_at_reset;

int main(void)
{
    exc_ccr_at_reset = SCB_CCR;
    check_sysreset();
    setup_vectors();
    set_control(get_control() & ~4u);
    check_nvic();
    check_preempt();
    check_masks();
    check_pendsv_svc();
    check_psp();
    check_faults();
    check_stkalign();
#if defined(__ARM_FP)
    check_fp();
#endif
    check_systick();

    char line[40];
    char *p = fmt_str(line, "exc: done, ");
    p = fmt_udec(p, failures);
    p = fmt_str(p, " failed\n");
    *p = '\0';
    sh_write0(line);
    return failures ? 1 : 0;
}
