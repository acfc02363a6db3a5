/* SPDX-License-Identifier: MIT */
/* Flash algorithm "lode_stm32f1_64k": STM32F1 medium density (64 KiB at 0x08000000, 1 KiB
 * pages) through the flash program/erase controller (FPEC).
 *
 * Source: RM0008 §3 (embedded flash memory) and PM0075 (STM32F10xxx Flash memory
 * microcontrollers programming manual) §2.3 (unlocking, programming, page and mass erase) and
 * §3 (FPEC registers). The FPEC programs half-words only; a store to the array with PG set
 * starts one programming operation, BSY says when it has finished, PGERR reports a location
 * that was not erased (and 0x0000 was not the value), WRPRTERR a write-protected page, EOP a
 * completed operation. Program and erase run on the HSI oscillator, which must be on. */
#include "algo.h"

#define FPEC 0x40022000u
#define FLASH_KEYR (FPEC + 0x04u)
#define FLASH_SR (FPEC + 0x0Cu)
#define FLASH_CR (FPEC + 0x10u)
#define FLASH_AR (FPEC + 0x14u)

#define SR_BSY (1u << 0)
#define SR_PGERR (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP (1u << 5)
#define SR_FLAGS (SR_PGERR | SR_WRPRTERR | SR_EOP) /* write 1 to clear */

#define CR_PG (1u << 0)
#define CR_PER (1u << 1)
#define CR_MER (1u << 2)
#define CR_STRT (1u << 6)
#define CR_LOCK (1u << 7)

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define RCC_CR 0x40021000u
#define RCC_CFGR 0x40021004u
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define CFGR_SWS (3u << 2)
#define CFGR_SWS_PLL (2u << 2)
/* SYSCLK = HSI/2 x 16 = 64 MHz (PLLSRC 0, PLLMUL 0b1110), APB1 = HCLK/2 (at most 36 MHz),
 * SW = PLL: no crystal is needed, and HSI (which the FPEC needs) stays on */
#define CFGR_FAST_NOSW ((14u << 18) | (4u << 8))
#define CFGR_FAST (CFGR_FAST_NOSW | 2u)
#define FLASH_ACR FPEC
#define ACR_LATENCY 7u
#define CLOCK_RAISED 0x80000000u

static void wait_idle(void)
{
    while (REG32(FLASH_SR) & SR_BSY) {
    }
}

/* Wait for the operation, then read and clear the status flags. */
static uint32_t finish(void)
{
    wait_idle();
    uint32_t sr = REG32(FLASH_SR);
    REG32(FLASH_SR) = SR_FLAGS;
    return sr;
}

/* Start an erase (PER or MER) and check that it completed without an error. */
__attribute__((noinline)) static int erase(uint32_t mode, unsigned long adr)
{
    wait_idle();
    REG32(FLASH_SR) = SR_FLAGS;
    REG32(FLASH_CR) = mode;
    if (mode == CR_PER)
        REG32(FLASH_AR) = (uint32_t)adr;
    REG32(FLASH_CR) = mode | CR_STRT;
    uint32_t sr = finish();
    REG32(FLASH_CR) &= ~mode;
    /* nothing happens (no EOP) when the FPEC is locked or the address is outside the array */
    return (sr & (SR_PGERR | SR_WRPRTERR)) || !(sr & SR_EOP) ? 1 : 0;
}

int Init(unsigned long adr, unsigned long clk, unsigned long fnc)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    if (!(REG32(RCC_CR) & RCC_CR_HSIRDY)) {
        REG32(RCC_CR) |= RCC_CR_HSION;
        while (!(REG32(RCC_CR) & RCC_CR_HSIRDY)) {
        }
    }
    wait_idle();
    /* The key sequence is defined from the locked state only (PM0075 §2.3.1): a wrong
     * sequence locks the FPEC until reset, so an unlocked FPEC is left alone. The status
     * flags stay (every operation clears them before it starts): an erase the host started
     * (LodeEraseStart) reports through them to EraseWait. */
    if (REG32(FLASH_CR) & CR_LOCK) {
        REG32(FLASH_KEYR) = KEY1;
        REG32(FLASH_KEYR) = KEY2;
    }
    return (REG32(FLASH_CR) & CR_LOCK) ? 1 : 0;
}

/* LodeEraseStart: the register writes that start a page erase from the reset state (FPEC
 * locked and idle, HSI on; PM0075 §2.3.1 unlock, §2.3.5 page erase), for a host that starts a
 * stream's first erase itself, right after its reset-halt, and loads the algorithm while the
 * page erases: {address, value} pairs, LODE_ERASE_ADDR standing for the page's address, up to
 * {0, 0}. The stream's op 4 finishes it with EraseWait. */
const uint32_t LodeEraseStart[] = {FLASH_KEYR, KEY1,     FLASH_KEYR, KEY2,
                                   FLASH_SR,   SR_FLAGS, FLASH_CR,   CR_PER,
                                   FLASH_AR,   LODE_ERASE_ADDR,
                                   FLASH_CR,   CR_PER | CR_STRT,     0, 0};

/* The end of the page erase LodeEraseStart started: as erase() checks its own. */
int EraseWait(unsigned long adr)
{
    (void)adr;
    uint32_t sr = finish();
    REG32(FLASH_CR) &= ~CR_PER;
    return (sr & (SR_PGERR | SR_WRPRTERR)) || !(sr & SR_EOP) ? 1 : 0;
}

int UnInit(unsigned long fnc)
{
    (void)fnc;
    wait_idle();
    REG32(FLASH_CR) = (REG32(FLASH_CR) & ~(CR_PG | CR_PER | CR_MER | CR_STRT)) | CR_LOCK;
    return 0;
}

/* LodeStream: run the stream at 64 MHz when the core is at its reset clock (HSI 8 MHz, PLL
 * off, RCC_CFGR at its reset value 0), with the two flash wait states that SYSCLK > 48 MHz
 * needs (RM0008 §3.3.3); program and erase times do not depend on it (the FPEC runs on HSI).
 * Anything else (a clock the firmware set up) is left alone. */
uint32_t LodeClockUp(void)
{
    if (REG32(RCC_CFGR) != 0 || (REG32(RCC_CR) & RCC_CR_PLLON) || !(REG32(RCC_CR) & RCC_CR_HSIRDY))
        return 0;
    uint32_t acr = REG32(FLASH_ACR);
    REG32(FLASH_ACR) = (acr & ~ACR_LATENCY) | 2u;
    REG32(RCC_CFGR) = CFGR_FAST_NOSW;
    REG32(RCC_CR) |= RCC_CR_PLLON;
    while (!(REG32(RCC_CR) & RCC_CR_PLLRDY)) {
    }
    REG32(RCC_CFGR) = CFGR_FAST;
    while ((REG32(RCC_CFGR) & CFGR_SWS) != CFGR_SWS_PLL) {
    }
    return CLOCK_RAISED | (acr & 0xFFu);
}

/* Back to HSI with the PLL off and RCC_CFGR and FLASH_ACR as they were. */
void LodeClockRestore(uint32_t token)
{
    if (!(token & CLOCK_RAISED))
        return;
    REG32(RCC_CFGR) = CFGR_FAST_NOSW;
    while (REG32(RCC_CFGR) & CFGR_SWS) {
    }
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    REG32(RCC_CFGR) = 0;
    REG32(FLASH_ACR) = token & 0xFFu;
}

int EraseSector(unsigned long adr)
{
    return erase(CR_PER, adr);
}

int EraseChip(void)
{
    return erase(CR_MER, 0);
}

/* The first half-word from i on that needs programming, as (index << 16) | value: 0xFFFF onto
 * an erased half-word changes nothing (52.5 us saved each). An odd trailing byte is paired
 * with 0xFF. */
ALGO_LATE static uint32_t next_to_program(const unsigned char *buf, unsigned long sz,
                                const volatile uint16_t *dst, uint32_t i, uint32_t n)
{
    for (; i < n; i++) {
        uint32_t b = 2u * i;
        uint32_t hw = buf[b] | (b + 1u < sz ? buf[b + 1u] : 0xFFu) << 8;
        if (hw != 0xFFFFu || dst[i] != 0xFFFFu)
            return i << 16 | hw;
    }
    return n << 16;
}

/* Program sz bytes from buf (any alignment) at adr (even) in half-words; an odd trailing byte
 * is paired with 0xFF (the erased value). Half-words of 0xFFFF that are already erased are
 * skipped. The next half-word is found while one programs, and stored by the instruction after
 * the poll that sees BSY clear (about 14 instructions per half-word otherwise: ~4 ms per 64 KiB
 * at 64 MHz). PGERR (not erased) and WRPRTERR (protected) stay set once raised and EOP says
 * something was programmed (nothing is outside the array), so one check at the end finds any
 * failure; the first failing address is left for a verify to name. A locked FPEC ignores the
 * PG bit, which is refused up front. Pages are at most 64 KiB. */
ALGO_LATE int ProgramPage(unsigned long adr, unsigned long sz, unsigned char *buf)
{
    if ((adr & 1u) || sz > 0x10000u)
        return 1;
    wait_idle();
    REG32(FLASH_SR) = SR_FLAGS;
    REG32(FLASH_CR) = CR_PG;
    if (!(REG32(FLASH_CR) & CR_PG))
        return 1; /* locked: Init was not called or failed */
    volatile uint16_t *dst = (volatile uint16_t *)(uintptr_t)adr;
    uint32_t programmed = 0, n = (uint32_t)(sz + 1u) / 2u;
    for (uint32_t next = next_to_program(buf, sz, dst, 0, n); next >> 16 < n;
         next = next_to_program(buf, sz, dst, (next >> 16) + 1u, n)) {
        while (REG32(FLASH_SR) & SR_BSY) {
        }
        dst[next >> 16] = (uint16_t)next; /* the store follows the poll that saw BSY clear */
        programmed++;
    }
    uint32_t sr = finish();
    REG32(FLASH_CR) &= ~CR_PG;
    return programmed && ((sr & (SR_PGERR | SR_WRPRTERR)) || !(sr & SR_EOP)) ? 1 : 0;
}
