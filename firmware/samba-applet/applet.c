/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA applet for the SAMD21 (see applet.h): the mailbox's operation through the
 * SAMD21 flash algorithm's EraseSector and ProgramPage (firmware/flash-algos/samd21.c, linked
 * in), each programmed page read back. */
#include <stdint.h>

#include "algo.h"
#include "applet.h"

#define NVM_PARAM 0x41004008u

/* The header (see applet.h): the stack top, then the entry; also four harmless instructions. */
__asm__(".section .text.applet_header,\"ax\",%progbits\n"
        ".balign 4\n"
        ".word 0x200046C0\n"
        ".word 0x20004009\n"
        ".text\n");

static volatile uint32_t *const mbox = (volatile uint32_t *)APPLET_MBOX;

static uint32_t fail(uint32_t code, uint32_t addr)
{
    mbox[5] = addr;
    return code;
}

static uint32_t run(void)
{
    uint32_t cmd = mbox[0], dst = mbox[1], src = mbox[2], len = mbox[3];
    uint32_t param = REG32(NVM_PARAM);
    uint32_t page = 8u << ((param >> 16) & 7u), size = page * (param & 0xFFFFu), row = page * 4u;
    if (dst >= size || len > size - dst)
        return fail(APPLET_E_ARG, dst);
    Init(dst, 0, cmd == APPLET_CMD_ERASE ? ALGO_FNC_ERASE : ALGO_FNC_PROGRAM);
    if (cmd == APPLET_CMD_ERASE) {
        if (dst & (row - 1u))
            return fail(APPLET_E_ARG, dst);
        for (uint32_t a = dst; a < dst + len; a += row)
            if (EraseSector(a))
                return fail(APPLET_E_NVM, a);
        return APPLET_OK;
    }
    if (cmd != APPLET_CMD_PROGRAM || (dst | len) & (page - 1u) || src & 3u)
        return fail(APPLET_E_ARG, dst);
    for (uint32_t off = 0; off < len; off += page) {
        if (ProgramPage(dst + off, page, (unsigned char *)(uintptr_t)(src + off)))
            return fail(APPLET_E_NVM, dst + off);
        for (uint32_t i = 0; i < page; i += 4u)
            if (REG32(dst + off + i) != REG32(src + off + i))
                return fail(APPLET_E_VERIFY, dst + off + i);
    }
    return APPLET_OK;
}

/* At APPLET_ADDR + 8 (the linker script checks). */
__attribute__((section(".text.applet_entry"), used)) void applet_main(void)
{
    mbox[4] = run();
}
