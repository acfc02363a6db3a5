/* SPDX-License-Identifier: MIT */
/* LodeStream: lode's streaming extension to the flash algorithm interface. One call runs a
 * whole sequence of erase and program operations that the host feeds through a ring of slots
 * in RAM while the core works, so the core never halts between pages and the probe's round
 * trips overlap the flash's own program and erase times.
 *
 *   int LodeStream(ctl, slots, nslots, stride)
 *
 * ctl (host-initialised, 8 words): [0] ops done (the core writes k+1 after op k; on a failure
 * of op k it writes k | 0x80000000, so one read tells progress and failure), [1] status
 * (0, or the failing op's error: 1 the operation failed, 2 verify mismatch, 3 bad op),
 * [2] failing address, [3] flags (bit 0: verify every programmed page: compare it with the
 * data, read back from flash), [4] running FNV-1a hash (32-bit words, in order) of every
 * verified page as read back from flash, [5] the flash start address for Init, [6] the
 * sequence base B (a number the host picks for this call, so slots left over from an earlier
 * call can never look valid and need no clearing), [7] reserved. The stream
 * calls Init(start, 0, program) first and UnInit(program) last, also after a failure; between
 * them the algorithm may run the core faster (LodeClockUp / LodeClockRestore, algo.h).
 *
 * Slot i is at slots + i * stride: page data from offset 0, and a 16-byte trailer at
 * stride - 16: address, size, op (0 end, 1 erase sector, 2 program page, 3 erase chip), seq.
 * Op k lives in slot k mod nslots and is valid once its seq word reads B + k + 1; the host writes
 * the trailer last (one memory write of data then trailer), so a slot is never used half
 * written. The call returns UnInit's result after the end op, or the error of the first op
 * that failed. */
#include "algo.h"

int EraseChip(void) __attribute__((weak));
uint32_t LodeClockUp(void) __attribute__((weak));
void LodeClockRestore(uint32_t token) __attribute__((weak));

/* the clock as the stream found it, then UnInit */
static int stream_uninit(uint32_t clk)
{
    if (LodeClockRestore)
        LodeClockRestore(clk);
    return UnInit(ALGO_FNC_PROGRAM);
}

#define FNV_PRIME 16777619u
#define STREAM_FAILED 0x80000000u

int LodeStream(unsigned long ctl, unsigned long slots, unsigned long nslots, unsigned long stride)
{
    volatile uint32_t *c = (volatile uint32_t *)(uintptr_t)ctl;
    uint32_t flags = c[3];
    uint32_t hash = c[4];
    uint32_t seq0 = c[6];
    /* Init and UnInit are part of the stream: no separate calls (and halts) for them */
    int irc = Init(c[5], 0, ALGO_FNC_PROGRAM);
    if (irc) {
        c[2] = c[5];
        c[1] = 1;
        c[0] = STREAM_FAILED;
        return irc;
    }
    uint32_t clk = LodeClockUp ? LodeClockUp() : 0;
    unsigned long slot = 0;
    for (uint32_t k = 0;; k++) {
        uintptr_t base = (uintptr_t)slots + slot * stride;
        volatile uint32_t *t = (volatile uint32_t *)(base + stride - 16u);
        while (t[3] != seq0 + k + 1u) {
        }
        uint32_t addr = t[0], size = t[1], op = t[2];
        int rc;
        if (op == 0)
            return stream_uninit(clk);
        if (op == 1) {
            rc = EraseSector(addr);
        } else if (op == 3) {
            rc = EraseChip ? EraseChip() : 3;
        } else if (op == 2) {
            rc = ProgramPage(addr, size, (unsigned char *)base);
            if (rc == 0 && (flags & 1u)) {
                /* read the page back from flash: compare it with the data and hash it */
                const volatile uint32_t *f = (const volatile uint32_t *)(uintptr_t)addr;
                const uint32_t *d = (const uint32_t *)base;
                uint32_t i = 0;
                for (; i < size / 4u; i++) {
                    uint32_t w = f[i];
                    if (w != d[i])
                        break;
                    hash = (hash ^ w) * FNV_PRIME;
                }
                const uint8_t *fb = (const uint8_t *)(uintptr_t)addr;
                const uint8_t *db = (const uint8_t *)base;
                for (uint32_t b = i * 4u; b < size; b++) {
                    if (fb[b] != db[b]) {
                        c[2] = addr + b;
                        c[1] = 2;
                        c[0] = k | STREAM_FAILED;
                        stream_uninit(clk);
                        return 2;
                    }
                }
                c[4] = hash;
            }
        } else {
            rc = 3;
        }
        if (rc) {
            c[2] = addr;
            c[1] = (uint32_t)rc;
            c[0] = k | STREAM_FAILED;
            stream_uninit(clk);
            return rc;
        }
        c[0] = k + 1u;
        if (++slot == nslots)
            slot = 0;
    }
}
