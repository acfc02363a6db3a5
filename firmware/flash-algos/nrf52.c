/* SPDX-License-Identifier: MIT */
/* Flash algorithms "lode_nrf52_1m" (code flash, 0x00000000-0x00100000, 4 KiB pages) and
 * "lode_nrf52_uicr" (UICR, 0x10001000-0x10002000) for the nRF52840 through the non-volatile
 * memory controller (NVMC). Built twice: with ALGO_UICR=0 and ALGO_UICR=1.
 *
 * Source: nRF52840 Product Specification §4.3 (NVMC): CONFIG.WEN selects read-only (Ren),
 * write (Wen) or erase (Een); with Wen a word-aligned 32-bit store to flash or UICR writes that
 * word (other sizes fault); with Een, writing a page address to ERASEPAGE erases the page,
 * writing 1 to ERASEALL erases the code flash and UICR, writing 1 to ERASEUICR erases the UICR;
 * READY is 1 when no operation is in progress, and CONFIG is changed only when ready. The NVMC
 * reports no errors, so the algorithms read back what they erased or wrote. */
#include "algo.h"

#ifndef ALGO_UICR
#error "build with -DALGO_UICR=0 (code flash) or -DALGO_UICR=1 (UICR)"
#endif

#define NVMC 0x4001E000u
#define NVMC_READY (NVMC + 0x400u)
#define NVMC_CONFIG (NVMC + 0x504u)
#define NVMC_ERASEPAGE (NVMC + 0x508u)
#define NVMC_ERASEALL (NVMC + 0x50Cu)
#define NVMC_ERASEUICR (NVMC + 0x514u)

#define CONFIG_REN 0u
#define CONFIG_WEN 1u
#define CONFIG_EEN 2u

#define PAGE 4096u
#if ALGO_UICR
#define REGION_START 0x10001000u
#define REGION_END 0x10002000u
#else
#define REGION_START 0x00000000u
#define REGION_END 0x00100000u
#endif

static void wait_ready(void)
{
    while (!(REG32(NVMC_READY) & 1u)) {
    }
}

static void set_config(uint32_t wen)
{
    wait_ready();
    REG32(NVMC_CONFIG) = wen;
    wait_ready();
}

/* Start an erase (write 1 or the page address to `reg`), wait, back to read-only. */
static void erase(uint32_t reg, uint32_t val)
{
    set_config(CONFIG_EEN);
    REG32(reg) = val;
    set_config(CONFIG_REN);
}

static int blank(uint32_t start, uint32_t end)
{
    for (uint32_t a = start; a < end; a += 4)
        if (REG32(a) != 0xFFFFFFFFu)
            return 1;
    return 0;
}

/* [adr, adr + len) inside the region? */
static int in_region(unsigned long adr, unsigned long len)
{
    unsigned long off = adr - REGION_START; /* wraps (huge) below the region */
    return off < REGION_END - REGION_START && len <= REGION_END - REGION_START - off;
}

int Init(unsigned long adr, unsigned long clk, unsigned long fnc)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    set_config(CONFIG_REN);
    return 0;
}

int UnInit(unsigned long fnc)
{
    (void)fnc;
    set_config(CONFIG_REN);
    return 0;
}

int EraseSector(unsigned long adr)
{
    if (!in_region(adr, 1))
        return 1;
    uint32_t page = (uint32_t)adr & ~(PAGE - 1u);
#if ALGO_UICR
    erase(NVMC_ERASEUICR, 1u);
#else
    erase(NVMC_ERASEPAGE, page);
#endif
    return blank(page, page + PAGE);
}

/* The code flash: ERASEALL (which erases the UICR as well). The UICR: ERASEUICR. */
int EraseChip(void)
{
#if ALGO_UICR
    erase(NVMC_ERASEUICR, 1u);
#else
    erase(NVMC_ERASEALL, 1u);
#endif
    return blank(REGION_START, REGION_END);
}

/* Program sz bytes from buf (any alignment) at adr (word-aligned) in 32-bit words; a partial
 * last word is padded with 0xFF (the erased value). Stops at the first word that reads back
 * different (not erased before, or outside what the NVMC writes). */
ALGO_LATE int ProgramPage(unsigned long adr, unsigned long sz, unsigned char *buf)
{
    if ((adr & 3u) || !in_region(adr, (sz + 3u) & ~3ul))
        return 1;
    set_config(CONFIG_WEN);
    int rc = 0;
    for (unsigned long i = 0; i < sz; i += 4) {
        uint32_t w = 0;
        for (unsigned b = 0; b < 4; b++)
            w |= (uint32_t)(i + b < sz ? buf[i + b] : 0xFFu) << (8 * b);
        volatile uint32_t *dst = &REG32(adr + i);
        if (w == 0xFFFFFFFFu && *dst == w)
            continue; /* an erased word needs no programming (41 us saved) */
        *dst = w;
        wait_ready();
        if (*dst != w) {
            rc = 1;
            break;
        }
    }
    set_config(CONFIG_REN);
    return rc;
}
