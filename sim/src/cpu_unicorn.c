/* SPDX-License-Identifier: MIT */
/* CPU backend on the Unicorn engine 2.0.x (Debian's libunicorn-dev).
 *
 * Behaviour of Unicorn 2.0.1 this file is built around (measured on this machine):
 * - the core is chosen with uc_ctl_set_cpu_model on a plain UC_MODE_THUMB engine
 *   (UC_MODE_MCLASS forces a Cortex-M33);
 * - `until` = 0 stops at address 0, so runs use an address no Thumb PC can take;
 * - BKPT arrives as interrupt 7 with PC at the BKPT, SVC as 2 with PC after it, a branch to
 *   an EXC_RETURN value in handler mode as 8 at 0xFFFFFFF8, WFI ends the run silently with
 *   PC after it, an undefined instruction ends the run with UC_ERR_INSN_INVALID and PC at it;
 * - a store to a read-only mapping calls the WRITE_PROT hook and then lands anyway, so the
 *   board restores flash content afterwards (the "fixup");
 * - PC is not exact inside memory callbacks, and uc_emu_stop there is unsafe: memory
 *   callbacks only flag a stop, taken at the next block (or, in precise mode, instruction);
 * - hooks added after code was translated need the translation cache flushed;
 * - uc_emu_stop in a block or code hook stops before that block/instruction executes.
 *
 * Instruction counting: a block hook adds the number of Thumb instructions in each translated
 * block (decoded once per block address). In precise mode a code hook counts one by one.
 * With the mask watch on, a run also ends after any block (instruction, in precise mode) that
 * holds a CPS or an MSR to PRIMASK/BASEPRI/FAULTMASK: no hook beyond the two above. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "cpu.h"
#include "simi.h"
#include "thumb_mem.h"

#define UCPU_MAX_MAPS 16
#define UCPU_MAX_MMIO 256
#define UCPU_NBP 16
#define UCPU_NWP 8
#define UCPU_ICACHE 4096
/* ram_addr reservation before writable RAM (ucpu_map_ram): one block of QEMU's page
 * descriptors (1024 pages) in the Cortex-M "external device" range, where no simulated chip
 * maps anything */
#define UCPU_PAD_BASE 0xA0000000u
#define UCPU_PAD_PAGES 1024u
/* The engine's page (TARGET_PAGE_SIZE) asked for: see open_engine */
#define UCPU_PAGE 4096u
/* An address no Thumb PC can reach (odd), used as `until`. */
#define UCPU_NEVER 0xFFFFFFFFull

#define UCPU_POLL_BLOCKS 8        /* translated blocks a polling loop may span */
#define UCPU_POLL_MAX_PERIOD 4096 /* instructions per iteration at most */
#define UCPU_POLL_NREGS 21

typedef struct ucpu_mmio_s {
    struct ucpu_s *u;
    uint32_t base;
} ucpu_mmio_s;

typedef struct ucpu_s {
    sim_cpu_s base;
    sim_board_s *b;
    uc_engine *uc;
    sim_cpu_model_e model;

    struct {
        uint32_t base, size;
        uint8_t *host;
    } maps[UCPU_MAX_MAPS];
    unsigned nmaps;
    ucpu_mmio_s mmio[UCPU_MAX_MMIO];
    unsigned nmmio;

    uc_hook h_intr, h_block, h_code, h_wprot;
    bool have_code_hook;
    bool bp_on[UCPU_NBP];
    uint32_t bp_addr[UCPU_NBP];
    uc_hook h_wp[UCPU_NWP];
    struct ucpu_wp_s {
        struct ucpu_s *u;
        unsigned slot;
    } wp_ctx[UCPU_NWP];
    bool wp_on[UCPU_NWP];
    uint32_t wp_addr[UCPU_NWP], wp_len[UCPU_NWP];

    /* requested breakpoint/watchpoint state, applied outside uc_emu_start */
    bool want_bp_on[UCPU_NBP];
    uint32_t want_bp_addr[UCPU_NBP];
    bool want_wp_on[UCPU_NWP];
    uint32_t want_wp_addr[UCPU_NWP], want_wp_len[UCPU_NWP];

    /* 1 KiB pages from which code has been translated (a bit per page of the 4 GiB space):
     * dropping translations is only needed there, and Unicorn's invalidation is slow */
    uint8_t *code_pages;
    bool inval_pending; /* translations to drop after the run */
    uint64_t inval_lo, inval_hi;

    bool precise;
    bool in_run;
    bool reconfig_pending; /* hook changes requested while running */
    bool want_precise;

    /* per-run state */
    uint64_t limit, count;
    uint64_t blk_base;     /* count before the current block */
    uint32_t blk_addr, blk_size;
    bool blk_valid;
    uint64_t code_count_before; /* precise mode: count before the current instruction */
    uint32_t code_pc;
    bool exit_set;
    sim_cpu_exit_e exit;
    uint32_t exit_info;
    volatile bool stop_req;
    bool fixup_pending;

    /* precise data bus faults: the state before the faulting load, restored after the run */
    uc_context *fault_ctx;
    bool fault_ctx_valid;
    uint32_t fault_pc;
    uint64_t fault_count;

    struct {
        uint32_t addr;
        uint32_t size;
        uint32_t n;
        bool masks; /* the block may write PRIMASK, FAULTMASK or BASEPRI (mask_writer) */
    } icache[UCPU_ICACHE];

    /* end a run after an instruction that may write the masks (ucpu_set_mask_watch) */
    bool mask_watch;

    /* busy-wait fast-forward: the anchor is a stable MMIO read (see poll_read) */
    bool ffwd;
    bool time_queried; /* the board asked for the time during the current MMIO read */
    uint64_t ffwd_skipped;
    struct {
        bool valid, have_regs;
        uint32_t blk, addr, val;
        uint64_t count;
        uint32_t regs[UCPU_POLL_NREGS];
        uint32_t blk_addr[UCPU_POLL_BLOCKS], blk_size[UCPU_POLL_BLOCKS];
        unsigned nblk;
        bool overflow;
    } poll;
} ucpu_s;

static const uint8_t *host_ptr(ucpu_s *u, uint32_t addr, uint32_t len)
{
    for (unsigned i = 0; i < u->nmaps; i++) {
        if (addr >= u->maps[i].base && (uint64_t)addr + len <= (uint64_t)u->maps[i].base + u->maps[i].size)
            return u->maps[i].host + (addr - u->maps[i].base);
    }
    return NULL;
}

/* Thumb: a halfword whose top five bits are 0b11101, 0b11110 or 0b11111 starts a 32-bit
 * instruction (ARMv7-M ARM A5.1). */
static uint32_t count_range(ucpu_s *u, uint32_t addr, uint32_t size)
{
    const uint8_t *p = host_ptr(u, addr, size);
    if (!p)
        return (size + 1) / 2;
    uint32_t n = 0, off = 0;
    while (off < size) {
        uint16_t hw = (uint16_t)(p[off] | (p[off + 1 < size ? off + 1 : off] << 8));
        off += ((hw >> 11) >= 0x1D) ? 4 : 2;
        n++;
    }
    return n;
}

/* An instruction that can change the execution priority's boost: CPS (T1: 1011 0110 011 im
 * (0)(0) I F) or MSR to PRIMASK, BASEPRI, BASEPRI_MAX or FAULTMASK (T1: 1111 0011 1000 Rn,
 * 10(0)0 mask (0)(0) SYSm with SYSm 16-19) (ARMv7-M ARM B5.2.1, B5.2.3). */
static bool mask_writer(uint16_t hw1, uint16_t hw2)
{
    if ((hw1 & 0xFFE0u) == 0xB660u)
        return true;
    return (hw1 & 0xFFF0u) == 0xF380u && (hw2 & 0xD000u) == 0x8000u && (hw2 & 0xFFu) >= 16 &&
           (hw2 & 0xFFu) <= 19;
}

/* Any instruction of the block is a mask_writer (unreadable code counts as one). */
static bool range_writes_masks(ucpu_s *u, uint32_t addr, uint32_t size)
{
    const uint8_t *p = host_ptr(u, addr, size);
    if (!p)
        return true;
    uint32_t off = 0;
    while (off + 2 <= size) {
        uint16_t hw1 = (uint16_t)(p[off] | p[off + 1] << 8);
        bool wide = (hw1 >> 11) >= 0x1D;
        uint16_t hw2 = wide && off + 4 <= size ? (uint16_t)(p[off + 2] | p[off + 3] << 8) : 0;
        if (mask_writer(hw1, hw2))
            return true;
        off += wide ? 4 : 2;
    }
    return false;
}

static inline void mark_code(ucpu_s *u, uint32_t addr, uint32_t size);

/* The block's instruction count; *masks: whether it may write the masks. */
static uint32_t block_insns(ucpu_s *u, uint32_t addr, uint32_t size, bool *masks)
{
    unsigned i = (addr >> 1) & (UCPU_ICACHE - 1);
    if (u->icache[i].addr == addr && u->icache[i].size == size && size) {
        *masks = u->icache[i].masks;
        return u->icache[i].n;
    }
    /* a block seen for the first time (since its page was last invalidated): its page now
     * holds translated code */
    mark_code(u, addr, size);
    uint32_t n = count_range(u, addr, size);
    u->icache[i].addr = addr;
    u->icache[i].size = size;
    u->icache[i].n = n;
    u->icache[i].masks = *masks = range_writes_masks(u, addr, size);
    return n;
}

static void set_exit(ucpu_s *u, sim_cpu_exit_e why, uint32_t info)
{
    if (u->exit_set)
        return;
    u->exit_set = true;
    u->exit = why;
    u->exit_info = info;
    uc_emu_stop(u->uc);
}

static void run_fixup(ucpu_s *u)
{
    if (u->fixup_pending) {
        u->fixup_pending = false;
        simi_cpu_cb_fixup(u->b);
    }
}

static inline void mark_code(ucpu_s *u, uint32_t addr, uint32_t size)
{
    uint32_t first = addr >> 10, last = (uint32_t)((addr + (uint64_t)(size ? size - 1 : 0)) >> 10);
    for (uint32_t p = first; p <= last; p++)
        u->code_pages[p >> 3] |= (uint8_t)(1u << (p & 7));
}

static bool range_has_code(const ucpu_s *u, uint64_t lo, uint64_t hi)
{
    for (uint64_t p = lo >> 10; p <= ((hi - 1) >> 10) && p < (1u << 22); p++)
        if (u->code_pages[p >> 3] & (1u << (p & 7)))
            return true;
    return false;
}

static void unmark_code(ucpu_s *u, uint64_t lo, uint64_t hi)
{
    for (uint64_t p = lo >> 10; p <= ((hi - 1) >> 10) && p < (1u << 22); p++)
        u->code_pages[p >> 3] &= (uint8_t) ~(1u << (p & 7));
}

/* Drop every translation: the translated ranges are exactly the marked pages. (Unicorn
 * 2.0.1's full flush, UC_CTL_TB_FLUSH, clears its whole 1 GiB code buffer with memset, which
 * makes every byte of it resident: ~1 GiB for a program that merely single-steps.) */
static void drop_all_code(ucpu_s *u)
{
    const uint64_t *w = (const uint64_t *)(void *)u->code_pages;
    const uint32_t nwords = (1u << 22) / 64;
    for (uint32_t i = 0; i < nwords; i++) {
        if (!w[i])
            continue;
        for (uint32_t bit = 0; bit < 64; bit++) {
            if (!(w[i] >> bit & 1u))
                continue;
            uint64_t first = (uint64_t)i * 64 + bit, last = first;
            /* a run of marked pages in one call */
            while (last + 1 < (1u << 22) && (u->code_pages[(last + 1) >> 3] >> ((last + 1) & 7) & 1u))
                last++;
            uc_ctl_remove_cache(u->uc, first << 10, (last + 1) << 10);
            unmark_code(u, first << 10, (last + 1) << 10);
            i = (uint32_t)(last / 64);
            bit = (uint32_t)(last % 64);
        }
    }
    memset(u->icache, 0, sizeof u->icache);
}

static void hook_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    (void)uc;
    ucpu_s *u = user;
    if (u->fixup_pending)
        run_fixup(u);
    if (u->exit_set)
        return;
    if (u->precise) {
        u->blk_valid = false;
        return;
    }
    if (u->stop_req) {
        set_exit(u, SIM_CPU_EXIT_STOP, 0);
        return;
    }
    if (u->count >= u->limit) {
        set_exit(u, SIM_CPU_EXIT_LIMIT, 0);
        return;
    }
    u->blk_base = u->count;
    u->blk_addr = (uint32_t)addr;
    u->blk_size = size;
    u->blk_valid = true;
    bool masks = false;
    u->count += block_insns(u, (uint32_t)addr, size, &masks);
    /* the run ends after this block, so the board sees the new masks at once (QEMU ends a
     * block after CPS and MSR, so the writer is the block's last instruction) */
    if (masks && u->mask_watch && u->limit > u->count)
        u->limit = u->count;
    if (u->poll.valid) {
        if (u->poll.nblk < UCPU_POLL_BLOCKS) {
            u->poll.blk_addr[u->poll.nblk] = (uint32_t)addr;
            u->poll.blk_size[u->poll.nblk++] = size;
        } else {
            u->poll.overflow = true;
        }
    }
}

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    (void)uc;
    ucpu_s *u = user;
    u->code_pages[(uint32_t)addr >> 13] |= (uint8_t)(1u << (((uint32_t)addr >> 10) & 7));
    (void)size;
    if (u->fixup_pending)
        run_fixup(u);
    if (u->exit_set)
        return;
    if (u->stop_req) {
        set_exit(u, SIM_CPU_EXIT_STOP, 0);
        return;
    }
    if (u->count >= u->limit) {
        set_exit(u, SIM_CPU_EXIT_LIMIT, 0);
        return;
    }
    u->code_pc = (uint32_t)addr;
    u->code_count_before = u->count;
    u->count++;
    if (u->mask_watch && u->limit > u->count) {
        const uint8_t *p = host_ptr(u, (uint32_t)addr, size >= 4 ? 4 : 2);
        if (!p || mask_writer((uint16_t)(p[0] | p[1] << 8), size >= 4 ? (uint16_t)(p[2] | p[3] << 8) : 0))
            u->limit = u->count;
    }
}

/* Instructions retired when the run stopped with PC at `pc` (instruction at pc not retired). */
static void settle_count_at(ucpu_s *u, uint32_t pc)
{
    if (u->precise) {
        if (u->code_pc == pc)
            u->count = u->code_count_before;
        return;
    }
    if (u->blk_valid && pc >= u->blk_addr && pc <= u->blk_addr + u->blk_size)
        u->count = u->blk_base + count_range(u, u->blk_addr, pc - u->blk_addr);
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *user)
{
    ucpu_s *u = user;
    uint32_t pc = 0;
    uc_reg_read(uc, UC_ARM_REG_PC, &pc);
    switch (intno) {
    case 7: { /* EXCP_BKPT: PC at the BKPT */
        settle_count_at(u, pc);
        const uint8_t *p = host_ptr(u, pc, 2);
        set_exit(u, SIM_CPU_EXIT_BKPT, p ? p[0] : 0);
        break;
    }
    case 2: /* EXCP_SWI: PC after the SVC */
        settle_count_at(u, pc);
        set_exit(u, SIM_CPU_EXIT_SVC, 0);
        break;
    case 8: /* EXCP_EXCEPTION_EXIT: PC holds the EXC_RETURN value without bit 0 */
        set_exit(u, SIM_CPU_EXIT_EXC_RETURN, pc | 1u);
        break;
    case 3: { /* EXCP_PREFETCH_ABORT: fetch from a non-executable address */
        /* In handler mode a branch to 0xFFFFFFxx is an exception return (ARMv7-M B1.5.8);
         * depending on Unicorn's cached mode flags it can arrive here instead of as 8. */
        uint32_t ipsr = 0;
        uc_reg_read(uc, UC_ARM_REG_IPSR, &ipsr);
        if (pc >= 0xFFFFFF00u && (ipsr & 0x1FF))
            set_exit(u, SIM_CPU_EXIT_EXC_RETURN, pc | 1u);
        else
            set_exit(u, SIM_CPU_EXIT_FETCH_FAULT, pc);
        break;
    }
    case 1:  /* EXCP_UDEF */
    case 17: /* EXCP_NOCP */
        settle_count_at(u, pc);
        set_exit(u, SIM_CPU_EXIT_UNDEF, pc);
        break;
    case 18: /* EXCP_INVSTATE */
        settle_count_at(u, pc);
        set_exit(u, SIM_CPU_EXIT_INVSTATE, pc);
        break;
    default:
        simi_log(u->b, LODE_LOG_WARN, "cpu: unexpected exception %u at pc 0x%08x", intno, pc);
        set_exit(u, SIM_CPU_EXIT_UNDEF, pc);
        break;
    }
}

static bool hook_wprot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *user)
{
    (void)uc;
    (void)type;
    ucpu_s *u = user;
    u->poll.valid = false;
    simi_cpu_cb_rom_write(u->b, (uint32_t)addr, (unsigned)size, (uint32_t)value);
    u->fixup_pending = true;
    return true; /* the store proceeds into the host buffer; the fixup restores it */
}

static void hook_watch(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *user)
{
    (void)uc;
    struct ucpu_wp_s *w = user;
    simi_cpu_cb_watch(w->u->b, w->slot, (uint32_t)addr, (unsigned)size, type == UC_MEM_WRITE,
                      (uint32_t)value);
}

/* A load that bus-faults is a precise fault (ARMv7-M B1.5.6, B3.2.15): the exception is taken
 * with PC at the load and without the load's effects. Unicorn cannot abort the instruction
 * from an MMIO callback, and PC there is only the block's start (2.0.1, measured), but the
 * other registers are written back: they are the state just before the load. The load is
 * found by decoding the block against them, the state is saved, and put back after the run
 * with PC at the load. Stores later in the same block still land (a rare imprecision). */
static void note_read_fault(ucpu_s *u, uc_engine *uc, uint32_t addr)
{
    uint32_t pc;
    uint64_t count;
    if (u->precise) {
        pc = u->code_pc;
        count = u->code_count_before;
    } else {
        if (!u->blk_valid)
            return;
        static const int ids[16] = {
            UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2,  UC_ARM_REG_R3,  UC_ARM_REG_R4,  UC_ARM_REG_R5,
            UC_ARM_REG_R6, UC_ARM_REG_R7, UC_ARM_REG_R8,  UC_ARM_REG_R9,  UC_ARM_REG_R10, UC_ARM_REG_R11,
            UC_ARM_REG_R12, UC_ARM_REG_SP, UC_ARM_REG_LR, UC_ARM_REG_PC};
        uint32_t r[16] = {0};
        for (unsigned i = 0; i < 16; i++)
            uc_reg_read(uc, ids[i], &r[i]);
        bool found = false;
        uint32_t at = u->blk_addr, end = u->blk_addr + u->blk_size;
        for (unsigned n = 0; at < end && n < 256 && !found; n++) {
            const uint8_t *p = host_ptr(u, at, 4 <= end - at ? 4 : 2);
            if (!p)
                return;
            uint16_t hw1 = (uint16_t)(p[0] | p[1] << 8);
            uint16_t hw2 = end - at >= 4 ? (uint16_t)(p[2] | p[3] << 8) : 0;
            simi_thumb_access_s acc;
            unsigned len = simi_thumb_mem(hw1, hw2, r, at, &acc);
            if (acc.is_mem && acc.load && addr - acc.lo < acc.len)
                found = true;
            else
                at += len;
        }
        if (!found)
            return; /* left as it is: the fault is taken after the block */
        pc = at;
        count = u->blk_base + count_range(u, u->blk_addr, at - u->blk_addr);
    }
    if (!u->fault_ctx && uc_context_alloc(uc, &u->fault_ctx) != UC_ERR_OK)
        return;
    if (uc_context_save(uc, u->fault_ctx) != UC_ERR_OK)
        return;
    u->fault_ctx_valid = true;
    u->fault_pc = pc;
    u->fault_count = count;
}

/* ---- busy-wait fast-forward ----
 * A core that polls a register until a flash operation, a UART frame or a timer completes
 * spends host time in proportion to the virtual time it waits. Such a loop is recognised at
 * its MMIO read (the anchor): the read is stable (its value can only change through a write
 * or a scheduled event, simi_cpu_cb_mmio_read), the anchor is reached again at the same
 * instruction with the same value and the same registers (general, flags, stack pointers,
 * masks, CONTROL), and the blocks run in between hold no store (nor coprocessor access, which
 * the decoder does not cover) and made no MMIO write or other unstable read. The state then
 * repeats exactly every `period` instructions, and nothing can change it before the run's
 * limit, which the board sets at the next scheduled event: all but the last whole iterations
 * that fit are added to the count without being executed. The run then goes on as it would
 * have, so every figure (instructions, virtual time, state) is the same as without it. */
static const int poll_reg_ids[UCPU_POLL_NREGS] = {
    UC_ARM_REG_R0,  UC_ARM_REG_R1,  UC_ARM_REG_R2,      UC_ARM_REG_R3,       UC_ARM_REG_R4,
    UC_ARM_REG_R5,  UC_ARM_REG_R6,  UC_ARM_REG_R7,      UC_ARM_REG_R8,       UC_ARM_REG_R9,
    UC_ARM_REG_R10, UC_ARM_REG_R11, UC_ARM_REG_R12,     UC_ARM_REG_SP,       UC_ARM_REG_LR,
    UC_ARM_REG_XPSR, UC_ARM_REG_MSP, UC_ARM_REG_PSP,    UC_ARM_REG_PRIMASK,  UC_ARM_REG_BASEPRI,
    UC_ARM_REG_CONTROL};

static bool poll_read_regs(ucpu_s *u, uint32_t regs[UCPU_POLL_NREGS])
{
    void *ptrs[UCPU_POLL_NREGS];
    for (unsigned i = 0; i < UCPU_POLL_NREGS; i++) {
        regs[i] = 0;
        ptrs[i] = &regs[i];
    }
    return uc_reg_read_batch(u->uc, (int *)poll_reg_ids, ptrs, UCPU_POLL_NREGS) == UC_ERR_OK;
}

/* No instruction of the block stores to memory or touches a coprocessor. */
static bool block_is_pure(ucpu_s *u, uint32_t addr, uint32_t size)
{
    const uint8_t *p = host_ptr(u, addr, size);
    if (!p)
        return false;
    static const uint32_t zero[16];
    uint32_t off = 0;
    while (off + 2 <= size) {
        uint16_t hw1 = (uint16_t)(p[off] | p[off + 1] << 8);
        bool wide = (hw1 >> 11) >= 0x1D;
        if (wide && off + 4 > size)
            return false;
        uint16_t hw2 = wide ? (uint16_t)(p[off + 2] | p[off + 3] << 8) : 0;
        if (wide && (hw1 & 0xEC00u) == 0xEC00u)
            return false; /* coprocessor / FP: not decoded */
        simi_thumb_access_s acc;
        unsigned len = simi_thumb_mem(hw1, hw2, zero, addr + off, &acc);
        if (acc.is_mem && !acc.load)
            return false;
        off += len;
    }
    return true;
}

static bool loop_is_pure(ucpu_s *u)
{
    if (!block_is_pure(u, u->blk_addr, u->blk_size))
        return false;
    for (unsigned i = 0; i < u->poll.nblk; i++)
        if (!block_is_pure(u, u->poll.blk_addr[i], u->poll.blk_size[i]))
            return false;
    return true;
}

static void poll_read(ucpu_s *u, uint32_t addr, uint32_t val, bool stable)
{
    if (!u->ffwd || !stable || u->precise || !u->blk_valid) {
        u->poll.valid = false;
        return;
    }
    if (u->poll.valid && (u->poll.overflow || u->count - u->poll.count > UCPU_POLL_MAX_PERIOD))
        u->poll.valid = false;
    if (u->poll.valid && (u->poll.blk != u->blk_addr || u->poll.addr != addr))
        return; /* another stable read inside the iteration */
    if (u->poll.valid && u->poll.val == val) {
        uint32_t regs[UCPU_POLL_NREGS];
        if (!poll_read_regs(u, regs)) {
            u->poll.valid = false;
            return;
        }
        if (u->poll.have_regs && !memcmp(regs, u->poll.regs, sizeof regs) && loop_is_pure(u)) {
            uint64_t period = u->count - u->poll.count;
            if (period && u->limit > u->count) {
                uint64_t n = (u->limit - u->count) / period;
                if (n > 1) {
                    uint64_t skip = (n - 1) * period;
                    u->count += skip;
                    u->blk_base += skip;
                    u->ffwd_skipped += skip;
                }
            }
        }
        memcpy(u->poll.regs, regs, sizeof regs);
        u->poll.have_regs = true;
        u->poll.count = u->count;
        u->poll.nblk = 0;
        u->poll.overflow = false;
        return;
    }
    u->poll.valid = true; /* a new anchor */
    u->poll.have_regs = false;
    u->poll.blk = u->blk_addr;
    u->poll.addr = addr;
    u->poll.val = val;
    u->poll.count = u->count;
    u->poll.nblk = 0;
    u->poll.overflow = false;
}

static uint64_t mmio_read_cb(uc_engine *uc, uint64_t offset, unsigned size, void *user)
{
    ucpu_mmio_s *m = user;
    ucpu_s *u = m->u;
    uint32_t val = 0, addr = m->base + (uint32_t)offset;
    bool stable = false;
    u->time_queried = false;
    if (simi_cpu_cb_mmio_read(u->b, addr, size, &val, &stable) != SIM_BUS_OK && !u->fault_ctx_valid)
        note_read_fault(u, uc, addr);
    poll_read(u, addr, val, stable && !u->time_queried);
    return val;
}

static void mmio_write_cb(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    (void)uc;
    ucpu_mmio_s *m = user;
    m->u->poll.valid = false;
    simi_cpu_cb_mmio_write(m->u->b, m->base + (uint32_t)offset, size, (uint32_t)value);
}

/* ---- ops ---- */

static void ucpu_free(sim_cpu_s *cpu)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (!u)
        return;
    if (u->fault_ctx)
        uc_context_free(u->fault_ctx);
    /* Unicorn 2.0.1 frees a page's self-modifying-code bitmap (built after 10 stores into a page
     * that holds translated code: a flash algorithm's control block beside its code) only when
     * the page loses its last translation, not in uc_close */
    if (u->uc)
        drop_all_code(u);
    if (u->uc)
        uc_close(u->uc);
    free(u->code_pages);
    free(u);
}

static int ucpu_map_ram(sim_cpu_s *cpu, uint32_t base, uint32_t size, uint8_t *host, bool writable)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (u->nmaps >= UCPU_MAX_MAPS)
        return -1;
    uint32_t perms = UC_PROT_READ | UC_PROT_EXEC | (writable ? UC_PROT_WRITE : 0);
    /* Unicorn 2.0.1 takes the self-modifying-code path on every RAM store, and that path costs
     * about twice as much when the store's page shares a block of QEMU's page descriptors
     * (1024 pages, indexed by ram_addr) with translated code: the STM32F103's 64 KiB flash
     * (+ alias) and its SRAM are allocated back to back. Reserving one block of ram_addr space
     * just before a writable block puts it in a block of its own; the reservation (mapped at
     * an address the board does not use) goes again at once. */
    uint32_t pad_size = UCPU_PAD_PAGES * u->base.page;
    bool pad = writable && uc_mem_map(u->uc, UCPU_PAD_BASE, pad_size, UC_PROT_READ) == UC_ERR_OK;
    uc_err e = uc_mem_map_ptr(u->uc, base, size, perms, host);
    if (pad)
        uc_mem_unmap(u->uc, UCPU_PAD_BASE, pad_size);
    if (e != UC_ERR_OK)
        return -1;
    u->maps[u->nmaps].base = base;
    u->maps[u->nmaps].size = size;
    u->maps[u->nmaps].host = host;
    u->nmaps++;
    return 0;
}

static int ucpu_map_mmio(sim_cpu_s *cpu, uint32_t base, uint64_t size)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (u->nmmio >= UCPU_MAX_MMIO)
        return -1;
    ucpu_mmio_s *m = &u->mmio[u->nmmio];
    m->u = u;
    m->base = base;
    if (uc_mmio_map(u->uc, base, size, mmio_read_cb, m, mmio_write_cb, m) != UC_ERR_OK)
        return -1;
    u->nmmio++;
    return 0;
}

static void apply_precise(ucpu_s *u, bool on)
{
    if (on == u->have_code_hook)
        return;
    /* one hook per instruction in precise mode, one per block otherwise: never both */
    if (on) {
        uc_hook_del(u->uc, u->h_block);
        uc_hook_add(u->uc, &u->h_code, UC_HOOK_CODE, (void *)hook_code, u, 1, 0);
    } else {
        uc_hook_del(u->uc, u->h_code);
        uc_hook_add(u->uc, &u->h_block, UC_HOOK_BLOCK, (void *)hook_block, u, 1, 0);
    }
    u->have_code_hook = on;
    u->precise = on;
    drop_all_code(u); /* retranslate with/without the hook */
}

static int apply_breakpoint(ucpu_s *u, unsigned slot, uint32_t addr, bool enable);
static bool is_breakpoint(const ucpu_s *u, uint32_t pc);
static int apply_watchpoint(ucpu_s *u, unsigned slot, uint32_t addr, uint32_t len, bool enable);

static void apply_invalidate(ucpu_s *u);

static void apply_reconfig(ucpu_s *u)
{
    if (!u->reconfig_pending)
        return;
    u->reconfig_pending = false;
    for (unsigned i = 0; i < UCPU_NBP; i++)
        apply_breakpoint(u, i, u->want_bp_addr[i], u->want_bp_on[i]);
    for (unsigned i = 0; i < UCPU_NWP; i++)
        apply_watchpoint(u, i, u->want_wp_addr[i], u->want_wp_len[i], u->want_wp_on[i]);
    apply_precise(u, u->want_precise);
}

static sim_cpu_exit_e ucpu_run(sim_cpu_s *cpu, uint64_t max_insns, uint64_t *executed,
                               uint32_t *info)
{
    ucpu_s *u = (ucpu_s *)cpu;
    apply_reconfig(u);
    u->limit = max_insns ? max_insns : 1;
    u->count = 0;
    u->blk_valid = false;
    u->exit_set = false;
    u->exit = SIM_CPU_EXIT_LIMIT;
    u->exit_info = 0;
    u->stop_req = false;
    u->poll.valid = false; /* the debugger may have changed memory since the last run */

    uint32_t pc = 0;
    uc_reg_read(u->uc, UC_ARM_REG_PC, &pc);
    u->in_run = true;
    uc_err err = uc_emu_start(u->uc, pc | 1u, 0, 0, 0); /* `until` is ignored: exits are on */
    u->in_run = false;
    run_fixup(u);
    bool fault_restored = false;
    if (u->fault_ctx_valid) {
        u->fault_ctx_valid = false;
        uint32_t fpc = u->fault_pc | 1u;
        if (uc_context_restore(u->uc, u->fault_ctx) == UC_ERR_OK &&
            uc_reg_write(u->uc, UC_ARM_REG_PC, &fpc) == UC_ERR_OK) {
            u->count = u->fault_count;
            fault_restored = true;
        }
    }
    apply_invalidate(u);
    apply_reconfig(u);

    sim_cpu_exit_e why;
    uc_reg_read(u->uc, UC_ARM_REG_PC, &pc);
    if (fault_restored) {
        why = SIM_CPU_EXIT_STOP; /* the board takes the pending bus fault */
        *info = 0;
    } else if (err == UC_ERR_INSN_INVALID) {
        settle_count_at(u, pc);
        why = SIM_CPU_EXIT_UNDEF;
        *info = pc;
    } else if (err == UC_ERR_FETCH_UNMAPPED || err == UC_ERR_FETCH_PROT) {
        /* the Cortex-M0 model reports a branch to EXC_RETURN in handler mode as a fetch from
         * 0xFFFFFFxx (ARMv6-M B1.5.8: an exception return) */
        uint32_t ipsr = 0;
        uc_reg_read(u->uc, UC_ARM_REG_IPSR, &ipsr);
        why = pc >= 0xFFFFFF00u && (ipsr & 0x1FF) ? SIM_CPU_EXIT_EXC_RETURN : SIM_CPU_EXIT_FETCH_FAULT;
        *info = why == SIM_CPU_EXIT_EXC_RETURN ? pc | 1u : pc;
    } else if (err != UC_ERR_OK) {
        simi_log(u->b, LODE_LOG_ERROR, "cpu: unicorn stopped with \"%s\" at pc 0x%08x",
                 uc_strerror(err), pc);
        why = SIM_CPU_EXIT_ERROR;
        *info = pc;
    } else if (u->exit_set) {
        why = u->exit;
        *info = u->exit_info;
    } else if (is_breakpoint(u, pc)) {
        settle_count_at(u, pc);
        why = SIM_CPU_EXIT_BREAKPOINT;
        *info = pc;
    } else {
        /* A run that ends by itself without a hook stopping it: WFI/WFE (EXCP_HLT). */
        const uint8_t *p = pc >= 2 ? host_ptr(u, pc - 2, 2) : NULL;
        uint16_t hw = p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
        if (hw == 0xBF30 || hw == 0xBF20) {
            settle_count_at(u, pc);
            why = SIM_CPU_EXIT_WFI;
        } else if (u->stop_req) {
            why = SIM_CPU_EXIT_STOP;
        } else {
            why = SIM_CPU_EXIT_LIMIT;
        }
        *info = 0;
    }
    *executed = u->count;
    return why;
}

static uint64_t ucpu_executed_so_far(sim_cpu_s *cpu)
{
    ucpu_s *u = (ucpu_s *)cpu;
    u->time_queried = true;
    if (!u->in_run)
        return 0;
    if (u->precise)
        return u->code_count_before;
    return u->blk_valid ? u->blk_base : u->count;
}

static void ucpu_request_stop(sim_cpu_s *cpu)
{
    ucpu_s *u = (ucpu_s *)cpu;
    u->stop_req = true;
}

static int uc_regid(sim_reg_e reg)
{
    if (reg <= SIM_REG_R0 + 12)
        return UC_ARM_REG_R0 + (int)reg;
    if (reg >= SIM_REG_S0 && reg < SIM_REG_S0 + 32)
        return UC_ARM_REG_S0 + (int)(reg - SIM_REG_S0);
    switch (reg) {
    case SIM_REG_SP: return UC_ARM_REG_SP;
    case SIM_REG_LR: return UC_ARM_REG_LR;
    case SIM_REG_PC: return UC_ARM_REG_PC;
    case SIM_REG_XPSR: return UC_ARM_REG_XPSR;
    case SIM_REG_MSP: return UC_ARM_REG_MSP;
    case SIM_REG_PSP: return UC_ARM_REG_PSP;
    case SIM_REG_PRIMASK: return UC_ARM_REG_PRIMASK;
    case SIM_REG_BASEPRI: return UC_ARM_REG_BASEPRI;
    case SIM_REG_FAULTMASK: return UC_ARM_REG_FAULTMASK;
    case SIM_REG_CONTROL: return UC_ARM_REG_CONTROL;
    case SIM_REG_IPSR: return UC_ARM_REG_IPSR;
    case SIM_REG_FPSCR: return UC_ARM_REG_FPSCR;
    default: return -1;
    }
}

static int ucpu_reg_read(sim_cpu_s *cpu, sim_reg_e reg, uint32_t *val)
{
    ucpu_s *u = (ucpu_s *)cpu;
    int id = uc_regid(reg);
    if (id < 0)
        return -1;
    if ((reg >= SIM_REG_S0 || reg == SIM_REG_FPSCR) && u->model != SIM_CPU_M4F)
        return -1;
    uint32_t v = 0;
    if (uc_reg_read(u->uc, id, &v) != UC_ERR_OK)
        return -1;
    if (reg == SIM_REG_XPSR)
        v |= 1u << 24; /* Thumb state is always set on M-profile */
    *val = v;
    return 0;
}

static int ucpu_reg_write(sim_cpu_s *cpu, sim_reg_e reg, uint32_t val)
{
    ucpu_s *u = (ucpu_s *)cpu;
    int id = uc_regid(reg);
    if (id < 0)
        return -1;
    if ((reg >= SIM_REG_S0 || reg == SIM_REG_FPSCR) && u->model != SIM_CPU_M4F)
        return -1;
    if (reg == SIM_REG_XPSR) {
        /* flags, then the exception number; then refresh Unicorn's cached mode */
        uint32_t apsr = val & 0xF8000000u;
        uint32_t ipsr = val & 0x1FFu;
        uc_reg_write(u->uc, UC_ARM_REG_IPSR, &ipsr);
        uc_reg_write(u->uc, UC_ARM_REG_APSR_NZCVQ, &apsr);
        return 0;
    }
    if (reg == SIM_REG_PC)
        val &= ~1u;
    if (uc_reg_write(u->uc, id, &val) != UC_ERR_OK)
        return -1;
    if (reg == SIM_REG_IPSR) {
        uint32_t apsr = 0;
        uc_reg_read(u->uc, UC_ARM_REG_APSR_NZCVQ, &apsr);
        uc_reg_write(u->uc, UC_ARM_REG_APSR_NZCVQ, &apsr);
    }
    return 0;
}

/* Dropping translations from inside a hook (while Unicorn executes) crashes libunicorn 2.0.1:
 * invalidations requested during a run are collected and applied when the run returns, and
 * the run is asked to stop at the next block so stale code is not executed for long. */
static void ucpu_invalidate(sim_cpu_s *cpu, uint32_t base, uint32_t size)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (!size || !range_has_code(u, base, (uint64_t)base + size))
        return;
    /* code is tracked per 1 KiB page: drop the translations of whole pages, since the page's
     * mark goes (a write to one word of a page that also holds other code must not leave
     * that other code's stale translations unmarked) */
    uint64_t lo = base & ~0x3FFull, hi = ((uint64_t)base + size + 0x3FFu) & ~0x3FFull;
    if (u->in_run) {
        if (u->inval_pending) {
            if (lo < u->inval_lo)
                u->inval_lo = lo;
            if (hi > u->inval_hi)
                u->inval_hi = hi;
        } else {
            u->inval_lo = lo;
            u->inval_hi = hi;
            u->inval_pending = true;
        }
        u->stop_req = true;
        return;
    }
    uc_ctl_remove_cache(u->uc, lo, hi);
    unmark_code(u, lo, hi);
    memset(u->icache, 0, sizeof u->icache);
}

static void apply_invalidate(ucpu_s *u)
{
    if (!u->inval_pending)
        return;
    u->inval_pending = false;
    uc_ctl_remove_cache(u->uc, u->inval_lo, u->inval_hi);
    unmark_code(u, u->inval_lo, u->inval_hi);
    memset(u->icache, 0, sizeof u->icache);
}

/* Breakpoints are Unicorn "exits": addresses where emulation stops before executing the
 * instruction. (Bounded UC_HOOK_CODE hooks were measured to corrupt the CPU state in 2.0.1 when
 * a run is also stopped from the block hook, so no code hooks are used for breakpoints.) */
static void sync_exits(ucpu_s *u)
{
    uint64_t exits[UCPU_NBP + 1];
    size_t n = 0;
    exits[n++] = UCPU_NEVER;
    for (unsigned i = 0; i < UCPU_NBP; i++)
        if (u->bp_on[i])
            exits[n++] = u->bp_addr[i];
    uc_ctl_set_exits(u->uc, exits, n);
}

static int apply_breakpoint(ucpu_s *u, unsigned slot, uint32_t addr, bool enable)
{
    if (u->bp_on[slot] == enable && (!enable || u->bp_addr[slot] == addr))
        return 0;
    if (u->bp_on[slot])
        uc_ctl_remove_cache(u->uc, u->bp_addr[slot], (uint64_t)u->bp_addr[slot] + 4);
    u->bp_on[slot] = enable;
    u->bp_addr[slot] = addr;
    if (enable)
        uc_ctl_remove_cache(u->uc, addr, (uint64_t)addr + 4);
    sync_exits(u);
    return 0;
}

static bool is_breakpoint(const ucpu_s *u, uint32_t pc)
{
    for (unsigned i = 0; i < UCPU_NBP; i++)
        if (u->bp_on[i] && u->bp_addr[i] == pc)
            return true;
    return false;
}

static int apply_watchpoint(ucpu_s *u, unsigned slot, uint32_t addr, uint32_t len, bool enable)
{
    if (!enable && !u->wp_on[slot])
        return 0;
    if (enable && u->wp_on[slot] && u->wp_addr[slot] == addr && u->wp_len[slot] == len)
        return 0;
    if (u->wp_on[slot]) {
        uc_hook_del(u->uc, u->h_wp[slot]);
        u->wp_on[slot] = false;
    }
    if (enable) {
        /* Hook from the containing word so that wider accesses overlapping the range are seen;
         * the board checks the exact overlap. */
        uint64_t lo = addr & ~3u, hi = (uint64_t)addr + len - 1;
        u->wp_ctx[slot].u = u;
        u->wp_ctx[slot].slot = slot;
        if (uc_hook_add(u->uc, &u->h_wp[slot], UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                        (void *)hook_watch, &u->wp_ctx[slot], lo, hi) != UC_ERR_OK)
            return -1;
        u->wp_on[slot] = true;
        u->wp_addr[slot] = addr;
        u->wp_len[slot] = len;
    }
    /* memory hooks are looked up at access time, but TBs may have inlined fast paths */
    drop_all_code(u);
    return 0;
}

static int ucpu_set_breakpoint(sim_cpu_s *cpu, unsigned slot, uint32_t addr, bool enable)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (slot >= UCPU_NBP)
        return -1;
    u->want_bp_on[slot] = enable;
    u->want_bp_addr[slot] = addr & ~1u;
    if (u->in_run) {
        /* hooks cannot change while Unicorn runs: apply when the run returns */
        u->reconfig_pending = true;
        u->stop_req = true;
        return 0;
    }
    return apply_breakpoint(u, slot, addr & ~1u, enable);
}

static int ucpu_set_watchpoint(sim_cpu_s *cpu, unsigned slot, uint32_t addr, uint32_t len,
                               bool enable)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (slot >= UCPU_NWP || (enable && !len))
        return -1;
    u->want_wp_on[slot] = enable;
    u->want_wp_addr[slot] = addr;
    u->want_wp_len[slot] = len;
    if (u->in_run) {
        u->reconfig_pending = true;
        u->stop_req = true;
        return 0;
    }
    return apply_watchpoint(u, slot, addr, len, enable);
}

static void ucpu_set_precise(sim_cpu_s *cpu, bool on)
{
    ucpu_s *u = (ucpu_s *)cpu;
    if (u->in_run) {
        u->want_precise = on;
        u->reconfig_pending = true;
        u->stop_req = true;
        return;
    }
    u->want_precise = on;
    apply_precise(u, on);
}

static void ucpu_set_fast_forward(sim_cpu_s *cpu, bool on)
{
    ucpu_s *u = (ucpu_s *)cpu;
    u->ffwd = on;
    u->poll.valid = false;
}

static uint64_t ucpu_fast_forwarded(const sim_cpu_s *cpu) { return ((const ucpu_s *)cpu)->ffwd_skipped; }

static void ucpu_set_mask_watch(sim_cpu_s *cpu, bool on) { ((ucpu_s *)cpu)->mask_watch = on; }

static const sim_cpu_ops_s ucpu_ops = {
    .free = ucpu_free,
    .map_ram = ucpu_map_ram,
    .map_mmio = ucpu_map_mmio,
    .run = ucpu_run,
    .executed_so_far = ucpu_executed_so_far,
    .request_stop = ucpu_request_stop,
    .reg_read = ucpu_reg_read,
    .reg_write = ucpu_reg_write,
    .invalidate = ucpu_invalidate,
    .set_breakpoint = ucpu_set_breakpoint,
    .set_watchpoint = ucpu_set_watchpoint,
    .set_precise = ucpu_set_precise,
    .set_fast_forward = ucpu_set_fast_forward,
    .fast_forwarded = ucpu_fast_forwarded,
    .set_mask_watch = ucpu_set_mask_watch,
};

/* One engine with the core model and, where the engine lets us, 4 KiB pages instead of ARM's
 * 1 KiB: a translated block ends at a page boundary and is chained to the next one directly
 * only within a page, so code that crosses a 1 KiB boundary in a loop otherwise pays a hash
 * lookup per block (the mixed kernel of bench_sim_vs_qemu: 290 -> 415 MIPS). Every simulated
 * memory is 4 KiB-aligned, and the sim models no MPU, so nothing needs the smaller page.
 * Unicorn 2.0.1's UC_CTL_UC_PAGE_SIZE counts one bit too many (2048 gives 4 KiB pages): the
 * size is read back, the other value tried, and the engine's default kept if neither fits. */
static uc_err open_engine(ucpu_s *u)
{
    static const uint32_t asks[] = {UCPU_PAGE, UCPU_PAGE / 2, 0};
    int cpu_model = u->model == SIM_CPU_M0P ? UC_CPU_ARM_CORTEX_M0
                    : u->model == SIM_CPU_M3 ? UC_CPU_ARM_CORTEX_M3
                                             : UC_CPU_ARM_CORTEX_M4;
    uc_err e = UC_ERR_OK;
    for (unsigned i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        e = uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &u->uc);
        if (e != UC_ERR_OK)
            return e;
        e = uc_ctl_set_cpu_model(u->uc, cpu_model);
        if (e == UC_ERR_OK && asks[i] && uc_ctl_set_page_size(u->uc, asks[i]) != UC_ERR_OK) {
            uc_close(u->uc);
            continue;
        }
        size_t page = 0; /* uc_query: uc_ctl_get_page_size's UC_CTL_READ shifts 2 << 30 in an int */
        if (e == UC_ERR_OK)
            e = uc_query(u->uc, UC_QUERY_PAGE_SIZE, &page);
        if (e == UC_ERR_OK && (page == UCPU_PAGE || (!asks[i] && page))) {
            u->base.page = (uint32_t)page;
            return UC_ERR_OK;
        }
        uc_close(u->uc);
        u->uc = NULL;
        if (e != UC_ERR_OK)
            return e;
    }
    return UC_ERR_ARG;
}

sim_cpu_s *simi_cpu_unicorn_new(sim_board_s *b, sim_cpu_model_e model, char *err, unsigned errlen)
{
    ucpu_s *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->base.ops = &ucpu_ops;
    u->b = b;
    u->ffwd = true;
    u->model = model;
    u->code_pages = calloc(1, (1u << 22) / 8);
    if (!u->code_pages) {
        snprintf(err, errlen, "out of memory");
        free(u);
        return NULL;
    }
    uc_err e = open_engine(u);
    if (e != UC_ERR_OK) {
        snprintf(err, errlen, "unicorn: %s", uc_strerror(e));
        free(u->code_pages);
        free(u);
        return NULL;
    }
    if (e == UC_ERR_OK)
        e = uc_ctl_exits_enable(u->uc);
    if (e == UC_ERR_OK) {
        uint64_t never = UCPU_NEVER;
        e = uc_ctl_set_exits(u->uc, &never, 1);
    }
    if (e == UC_ERR_OK)
        e = uc_hook_add(u->uc, &u->h_intr, UC_HOOK_INTR, (void *)hook_intr, u, 1, 0);
    if (e == UC_ERR_OK)
        e = uc_hook_add(u->uc, &u->h_block, UC_HOOK_BLOCK, (void *)hook_block, u, 1, 0);
    if (e == UC_ERR_OK)
        e = uc_hook_add(u->uc, &u->h_wprot, UC_HOOK_MEM_WRITE_PROT, (void *)hook_wprot, u, 1, 0);
    if (e != UC_ERR_OK) {
        snprintf(err, errlen, "unicorn: %s", uc_strerror(e));
        uc_close(u->uc);
        free(u->code_pages);
        free(u);
        return NULL;
    }
    return &u->base;
}
