/* SPDX-License-Identifier: MIT */
/* Flash algorithm "lode_samd21_256k" for the SAMD21 (ATSAMD21x18: 256 KiB main array, 64-byte
 * pages, 256-byte rows) through NVMCTRL. Also the core of lode's SAM-BA applet
 * (firmware/samba-applet), which calls EraseSector and ProgramPage.
 *
 * Source: the SAM D21 family datasheet, NVMCTRL chapter: a command is written to CTRLA with the
 * key 0xA5 in CMDEX and acts on the address in ADDR (counted in 16-bit words); INTFLAG.READY
 * says it is done and STATUS.PROGE/LOCKE/NVME (written one to clear) that it failed. A row (four
 * pages) is the erase unit (ER); a page is written by clearing the page buffer (PBC), filling
 * it with 32-bit stores to the page's addresses and Write Page (WP) -- whether CTRLB.MANW is set
 * or not, since the last store of a page with MANW clear writes it by itself and WP then finds
 * an empty buffer to write; the algorithm sets MANW so that exactly one write happens. A
 * region lock or BOOTPROT makes the command fail with LOCKE. */
#include "algo.h"

#define NVMCTRL 0x41004000u
#define NVM_CTRLA (NVMCTRL + 0x00u)
#define NVM_CTRLB (NVMCTRL + 0x04u)
#define NVM_PARAM (NVMCTRL + 0x08u)
#define NVM_INTFLAG (NVMCTRL + 0x14u)
#define NVM_STATUS (NVMCTRL + 0x18u)
#define NVM_ADDR (NVMCTRL + 0x1Cu)
#define CMD_ER 0x02u
#define CMD_WP 0x04u
#define CMD_PBC 0x44u
#define CMDEX 0xA500u
#define ST_ERRORS 0x1Cu /* PROGE, LOCKE, NVME */
#define CTRLB_MANW (1u << 7)

/* the page size from PARAM.PSZ (8 << PSZ bytes) */
static uint32_t page_size(void) { return 8u << ((REG32(NVM_PARAM) >> 16) & 7u); }

/* one NVMCTRL command at addr; 0 or the STATUS error bits */
static uint32_t nvm_command(uint32_t cmd, uint32_t addr)
{
    while (!(REG32(NVM_INTFLAG) & 1u))
        ;
    REG16(NVM_STATUS) = ST_ERRORS;
    REG32(NVM_ADDR) = addr >> 1;
    REG16(NVM_CTRLA) = (uint16_t)(CMDEX | cmd);
    while (!(REG32(NVM_INTFLAG) & 1u))
        ;
    return REG16(NVM_STATUS) & ST_ERRORS;
}

int Init(unsigned long adr, unsigned long clk, unsigned long fnc)
{
    (void)adr, (void)clk, (void)fnc;
    REG32(NVM_CTRLB) |= CTRLB_MANW;
    return 0;
}

int UnInit(unsigned long fnc)
{
    (void)fnc;
    return 0;
}

int EraseSector(unsigned long adr)
{
    return nvm_command(CMD_ER, (uint32_t)adr) ? 1 : 0;
}

/* sz bytes (whole pages or a partial last one, padded with 0xFF) from buf (word-aligned) */
int ProgramPage(unsigned long adr, unsigned long sz, unsigned char *buf)
{
    uint32_t page = page_size(), a = (uint32_t)adr;
    const uint32_t *src = (const uint32_t *)(uintptr_t)buf;
    if (a & 3u)
        return 1;
    while (sz) {
        uint32_t n = sz < page ? (uint32_t)sz : page;
        if (nvm_command(CMD_PBC, a))
            return 1;
        for (uint32_t i = 0; i < n; i += 4u) {
            uint32_t w = *src++;
            if (n - i < 4u)
                w |= 0xFFFFFFFFu << (8u * (n - i));
            REG32(a + i) = w;
        }
        if (nvm_command(CMD_WP, a))
            return 1;
        a += n;
        sz -= n;
    }
    return 0;
}

/* every row of the main array (PARAM.NVMP pages); a row under BOOTPROT or a region lock fails */
int EraseChip(void)
{
    uint32_t page = page_size(), end = page * (REG32(NVM_PARAM) & 0xFFFFu);
    for (uint32_t a = 0; a < end; a += 4u * page)
        if (nvm_command(CMD_ER, a))
            return 1;
    return 0;
}
