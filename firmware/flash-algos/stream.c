/* SPDX-License-Identifier: MIT */
/* LodeStream: lode's streaming extension to the flash algorithm interface. One call runs a
 * whole sequence of erase and program operations that the host feeds through a ring of slots
 * in RAM while the core works, so the core never halts between pages and the probe's round
 * trips overlap the flash's own program and erase times.
 *
 *   int LodeStream(ctl)
 *
 * The host sets only R0 = ctl, PC and xPSR (and the masks unless it reset the core): the entry
 * masks interrupts and takes the static base, the stack and the return address from the
 * control block, so a probe that writes core registers one round trip at a time (the ST-Link)
 * writes three instead of ten.
 *
 * ctl (host-initialised, 18 words): [0] ops done (the core writes k+1 after op k; on a failure
 * of op k it writes k | 0x80000000, so one read tells progress and failure), [1] status
 * (0, or the failing op's error: 1 the operation failed, 2 verify mismatch, 3 bad op, 4 the
 * hash at the end differs from [16]),
 * [2] failing address, [3] flags (bit 0: verify every programmed page: compare it with the
 * data, read back from flash; bit 1: at the end, compare [4] with [16]: a host that knows the
 * image's hash up front then needs only word [7] to know the outcome), [4] running FNV-1a hash (32-bit words, in order) of every
 * verified page as read back from flash, [5] the flash start address for Init, [6] the
 * sequence base B (a number the host picks for this call, so slots left over from an earlier
 * call can never look valid and need no clearing), [7] 0, and 0x80000000 | the call's result
 * once it returns (the host needs no register read for it), [8] the trailers, [9] the number
 * of slots, [10] the data areas, [11] their stride, [12] R9 (static base), [13] SP, [14] LR
 * (the return stub), [15] the erased word (what a byte the host did not send must read back as),
 * [16] the hash every verified page should give (flags bit 1), [17] 0.
 * The stream calls Init(start, 0, program) first and UnInit(program) last, also after a
 * failure; between them the algorithm may run the core faster (LodeClockUp /
 * LodeClockRestore, algo.h).
 *
 * Slot i has a 32-byte trailer at trailers + 32 i: page address, page size (a multiple of 4),
 * op (0 end, 1 erase
 * sector, 2 program page, 3 erase chip, 4 finish the sector erase the host started with the
 * algorithm's LodeEraseStart writes: EraseWait), offset and length of the bytes sent, two reserved
 * words, seq; and a data area at data + i * stride holding the bytes sent. The host sends only
 * the part of a page that is not erased (whole words): the rest needs no programming, and
 * with verify it must read back erased. Op k lives in slot k mod nslots and is valid once its
 * seq word reads B + k + 1; the host writes the trailer last (its seq word last), so a slot is
 * never used half written. The call returns UnInit's result after the end op, or the error of
 * the first op that failed. */
#include "algo.h"

int EraseChip(void) __attribute__((weak));
int EraseWait(unsigned long adr) __attribute__((weak));
uint32_t LodeClockUp(void) __attribute__((weak));
void LodeClockRestore(uint32_t token) __attribute__((weak));
int LodeStreamRun(volatile uint32_t *c);

#define FNV_PRIME 16777619u
#define STREAM_FAILED 0x80000000u
#define STREAM_RETURNED 0x80000000u

/* Interrupts masked (PRIMASK; the host need not write it when CONTROL, FAULTMASK and BASEPRI
 * are at their reset values), R9, SP and LR from the control block, then the stream proper
 * (which returns through LR) */
__attribute__((naked)) int LodeStream(unsigned long ctl __attribute__((unused)))
{
    __asm__ volatile("cpsid i\n\t"
                     "ldr r9, [r0, #48]\n\t"
                     "ldr r1, [r0, #52]\n\t"
                     "mov sp, r1\n\t"
                     "ldr lr, [r0, #56]\n\t"
                     "b LodeStreamRun\n\t");
}

/* The first byte that differs in a word (x = read ^ wanted, not 0) at address a, + 1. */
ALGO_LATE static uint32_t bad_byte(uint32_t a, uint32_t x)
{
    while (!(x & 0xFFu)) {
        x >>= 8;
        a++;
    }
    return a + 1u;
}

/* Words [from, to) of the flash at addr against data (from its start), or against the erased
 * word when data is NULL, hashed as read back. 0, or the address of the first byte that
 * differs + 1. Two plain loops: this runs between pages, while the flash waits. */
ALGO_LATE __attribute__((noinline)) static uint32_t verify_words(uint32_t addr, uint32_t from, uint32_t to,
                                                       const uint32_t *data, uint32_t erased,
                                                       uint32_t *hash)
{
    const volatile uint32_t *f = (const volatile uint32_t *)(uintptr_t)addr + from;
    const volatile uint32_t *end = (const volatile uint32_t *)(uintptr_t)addr + to;
    uint32_t h = *hash;
    if (data) {
        for (; f < end; f++, data++) {
            uint32_t w = *f;
            if (w != *data)
                return bad_byte((uint32_t)(uintptr_t)f, w ^ *data);
            h = (h ^ w) * FNV_PRIME;
        }
    } else {
        for (; f < end; f++) {
            uint32_t w = *f;
            if (w != erased)
                return bad_byte((uint32_t)(uintptr_t)f, w ^ erased);
            h = (h ^ w) * FNV_PRIME;
        }
    }
    *hash = h;
    return 0;
}

/* Page verify after programming: the words before the bytes sent [off, off + len) and after
 * them read erased, the ones sent as sent; all hashed as read back. 0 or the first bad byte +
 * 1. */
ALGO_LATE __attribute__((noinline)) static uint32_t verify_page(uint32_t addr, uint32_t size, uint32_t off,
                                                                uint32_t len, const uint8_t *d, uint32_t e,
                                                                uint32_t *hash)
{
    uint32_t n = size / 4u, lo = off / 4u, hi = (off + len) / 4u;
    uint32_t bad = verify_words(addr, 0, lo, 0, e, hash);
    if (!bad)
        bad = verify_words(addr, lo, hi, (const uint32_t *)(const void *)d, e, hash);
    if (!bad)
        bad = verify_words(addr, hi, n, 0, e, hash);
    return bad;
}

int LodeStreamRun(volatile uint32_t *c)
{
    uint32_t hash = c[4], clk = 0, k = 0, slot = 0, addr = c[5];
    /* Init and UnInit are part of the stream: no separate calls (and halts) for them */
    int rc = Init(addr, 0, ALGO_FNC_PROGRAM);
    if (!rc && LodeClockUp)
        clk = LodeClockUp();
    while (!rc) {
        volatile uint32_t *t = (volatile uint32_t *)(uintptr_t)(c[8] + slot * 32u);
        const uint8_t *d = (const uint8_t *)(uintptr_t)(c[10] + slot * c[11]);
        while (t[7] != c[6] + k + 1u) {
        }
        addr = t[0];
        uint32_t op = t[2];
        if (op == 0)
            break;
        if (op == 1) {
            rc = EraseSector(addr);
        } else if (op == 3) {
            rc = EraseChip ? EraseChip() : 3;
        } else if (op == 4) {
            rc = EraseWait ? EraseWait(addr) : 3;
        } else if (op == 2) {
            uint32_t off = t[3], len = t[4];
            rc = len ? ProgramPage(addr + off, len, (unsigned char *)(uintptr_t)d) : 0;
            if (!rc && (c[3] & 1u)) {
                /* the page read back: compared with what was sent, hashed */
                uint32_t bad = verify_page(addr, t[1], off, len, d, c[15], &hash);
                if (bad) {
                    addr = bad - 1u;
                    rc = 2;
                } else {
                    c[4] = hash;
                }
            }
        } else {
            rc = 3;
        }
        if (!rc) {
            c[0] = ++k;
            if (++slot == c[9])
                slot = 0;
        }
    }
    if (!rc && (c[3] & 2u) && hash != c[16]) {
        addr = 0;
        rc = 4;
    }
    if (rc) {
        c[2] = addr;
        c[1] = (uint32_t)rc;
        c[0] = k | STREAM_FAILED;
    }
    /* the clock as the stream found it, then UnInit; the result goes to ctl[7] as well */
    if (LodeClockRestore)
        LodeClockRestore(clk);
    int urc = UnInit(ALGO_FNC_PROGRAM);
    if (!rc)
        rc = urc;
    c[7] = STREAM_RETURNED | ((uint32_t)rc & 0x7FFFFFFFu);
    return rc;
}
