/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA bootloader for the ATSAMD21G18A (Arduino Zero layout): 8 KiB at 0x0000 (the
 * user row's BOOTPROT protects them), the application from 0x2000. Written from the SAM-BA
 * boot protocol and the SAMD21 datasheet; the monitor itself is samba_mon.c.
 *
 * At reset it stays in the bootloader when
 *  - the application is not valid (its stack pointer is not in SRAM or its reset vector is not
 *    in the application's flash), or
 *  - the last SRAM word holds the double-tap magic (0x07738135): a second external reset within
 *    0.5 s of the first (double tap on RESET), or an application asking for the bootloader (the
 *    1200-baud touch of Arduino's cores), and
 * otherwise starts the application (after an external reset, 0.5 s later: the double-tap window).
 *
 * The line: SERCOM5 (PB22 TX / PB23 RX) at 1 Mbaud 8N1, the core at 48 MHz. The monitor
 * speaks the USB CDC flavour (S/R data raw, no XMODEM). A half-received S is given up after
 * S_TIMEOUT_MS without a byte (a host that died mid-block; SysTick counts milliseconds only
 * during an S data phase). Memory accesses that fault (a bad
 * address from the host) read as 0 and write nothing: the HardFault handler steps over the
 * load or store (every ARMv6-M load/store is 16 bits long). */
#include <stdint.h>

#include "samba_mon.h"
#include "samd21g18a.h"

#define LINE_BAUD 1000000u
#define CORE_HZ 48000000u
#define S_TIMEOUT_MS 2000u

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];
void Reset_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);
int main(void);

static void Default_Handler(void)
{
    for (;;)
        ;
}

/* 16 system vectors and the device's 28; only Reset and HardFault are used */
__attribute__((section(".isr_vector"), used)) void (*const vectors[16 + 28])(void) = {
    (void (*)(void))(uintptr_t)_estack,
    Reset_Handler,
    Default_Handler, /* NMI */
    HardFault_Handler,
    [4 ... 14] = Default_Handler,
    [15] = SysTick_Handler,
    [16 ... 16 + 27] = Default_Handler,
};

void Reset_Handler(void)
{
    for (uint32_t *s = _sidata, *d = _sdata; d < _edata;)
        *d++ = *s++;
    for (uint32_t *d = _sbss; d < _ebss;)
        *d++ = 0;
    main();
    for (;;)
        ;
}

/* Set by the HardFault handler when it stepped over a faulting access. */
static volatile uint32_t g_faulted;

/* Step over the faulting load/store: the stacked PC + 2. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        ".syntax unified\n"
        "movs r0, #4\n"
        "mov r1, lr\n"
        "tst r0, r1\n"
        "beq 1f\n"
        "mrs r0, psp\n"
        "b 2f\n"
        "1: mrs r0, msp\n"
        "2: ldr r1, [r0, #24]\n"
        "adds r1, #2\n"
        "str r1, [r0, #24]\n"
        "ldr r0, =g_faulted\n"
        "movs r1, #1\n"
        "str r1, [r0]\n"
        "bx lr\n");
}

/* ---- the line ---------------------------------------------------------------------------------- */
static void line_put(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++) {
        while (!(US_INTFLAG(ZERO_SERCOM) & US_INT_DRE))
            ;
        US_DATA(ZERO_SERCOM) = data[i];
    }
}

/* ---- memory ------------------------------------------------------------------------------------ */
static uint32_t mem_read(void *user, uint32_t addr, unsigned size)
{
    (void)user;
    g_faulted = 0;
    uint32_t v;
    if (size == 4)
        v = *(volatile uint32_t *)addr;
    else if (size == 2)
        v = *(volatile uint16_t *)addr;
    else
        v = *(volatile uint8_t *)addr;
    return g_faulted ? 0 : v;
}

static void mem_write(void *user, uint32_t addr, unsigned size, uint32_t val)
{
    (void)user;
    if (size == 4)
        *(volatile uint32_t *)addr = val;
    else if (size == 2)
        *(volatile uint16_t *)addr = (uint16_t)val;
    else
        *(volatile uint8_t *)addr = (uint8_t)val;
}

/* ---- flash (NVMCTRL) --------------------------------------------------------------------------- */
static int nvm_command(uint32_t addr, uint32_t cmd)
{
    while (!(NVMCTRL_INTFLAG & NVMCTRL_READY))
        ;
    NVMCTRL_STATUS = NVMCTRL_ERRORS; /* clear the last errors */
    NVMCTRL_ADDR = addr / 2u;         /* half-word address */
    NVMCTRL_CTRLA = (uint16_t)(NVMCTRL_CMDEX | cmd);
    while (!(NVMCTRL_INTFLAG & NVMCTRL_READY))
        ;
    return (NVMCTRL_STATUS & NVMCTRL_ERRORS) ? -1 : 0;
}

static int flash_erase_from(void *user, uint32_t addr)
{
    (void)user;
    if (addr < SD_APP_START || addr >= SD_FLASH_SIZE || (addr % SD_ROW_SIZE))
        return -1;
    for (uint32_t a = addr; a < SD_FLASH_SIZE; a += SD_ROW_SIZE)
        if (nvm_command(a, NVMCTRL_CMD_ER) != 0)
            return -1;
    return 0;
}

static int flash_copy(void *user, uint32_t dst, uint32_t src, uint32_t len)
{
    (void)user;
    if (dst < SD_APP_START || (dst % SD_PAGE_SIZE) || len > SD_FLASH_SIZE - dst || (src & 3u) ||
        src < SD_SRAM_BASE || src + len > SD_SRAM_BASE + SD_SRAM_SIZE)
        return -1;
    NVMCTRL_CTRLB |= NVMCTRL_CTRLB_MANW;
    for (uint32_t off = 0; off < len; off += SD_PAGE_SIZE) {
        if (nvm_command(dst + off, NVMCTRL_CMD_PBC) != 0)
            return -1;
        uint32_t n = len - off < SD_PAGE_SIZE ? len - off : SD_PAGE_SIZE;
        volatile uint32_t *d = (volatile uint32_t *)(dst + off);
        const uint32_t *s = (const uint32_t *)(src + off);
        for (uint32_t i = 0; i < (n + 3u) / 4u; i++) {
            uint32_t w = s[i];
            if (n - 4u * i < 4u) /* a partial last word: the rest stays erased */
                w |= 0xFFFFFFFFu << (8u * (n - 4u * i));
            d[i] = w;
        }
        if (nvm_command(dst + off, NVMCTRL_CMD_WP) != 0)
            return -1;
    }
    return 0;
}

static void call(void *user, uint32_t addr)
{
    (void)user;
    ((void (*)(void))(uintptr_t)(addr | 1u))();
}

static const samba_ops_s ops = {
    .read = mem_read,
    .write = mem_write,
    .put = line_put,
    .erase_from = flash_erase_from,
    .copy = flash_copy,
    .go = call,
    .version = "v1.1 [Arduino:XYZ] lode SAM-BA for SAMD21 (app at 0x2000)",
};

/* ---- start ------------------------------------------------------------------------------------- */
static int app_valid(void)
{
    uint32_t sp = *(const volatile uint32_t *)SD_APP_START;
    uint32_t pc = *(const volatile uint32_t *)(SD_APP_START + 4u);
    return sp > SD_SRAM_BASE && sp <= SD_SRAM_BASE + SD_SRAM_SIZE && !(sp & 3u) && (pc & 1u) &&
           pc > SD_APP_START && pc < SD_FLASH_SIZE;
}

static void start_app(void)
{
    uint32_t sp = *(const volatile uint32_t *)SD_APP_START;
    uint32_t pc = *(const volatile uint32_t *)(SD_APP_START + 4u);
    SCB_VTOR_REG = SD_APP_START;
    __asm__ volatile("msr msp, %0\n"
                     "bx %1\n" ::"r"(sp),
                     "r"(pc));
    for (;;)
        ;
}

/* SysTick on the core clock (1 MHz after reset): one wrap a millisecond */
#define SYST_CSR SD_REG32(0xE000E010u)
#define SYST_RVR SD_REG32(0xE000E014u)
#define SYST_CVR SD_REG32(0xE000E018u)

/* Milliseconds while an S data phase is in progress (SysTick's interrupt at 48 MHz). */
static volatile uint32_t g_ms;

void SysTick_Handler(void) { g_ms++; }

static void ms_start(void)
{
    g_ms = 0;
    SYST_RVR = CORE_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* ENABLE, TICKINT, CLKSOURCE = core */
}

static void ms_stop(void) { SYST_CSR = 0; }

static void wait_ms_1mhz(uint32_t ms)
{
    SYST_RVR = 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* ENABLE, CLKSOURCE = core */
    for (uint32_t n = 0; n < ms;)
        if (SYST_CSR & (1u << 16)) /* COUNTFLAG */
            n++;
    SYST_CSR = 0;
}

static void bootloader_check(void)
{
    volatile uint32_t *magic = (volatile uint32_t *)SD_DBL_TAP_ADDR;
    uint8_t cause = PM_RCAUSE;
    if (cause & PM_RCAUSE_POR)
        *magic = 0; /* SRAM holds noise after power-on */
    if (*magic == SD_DBL_TAP_MAGIC) {
        *magic = 0;
        return; /* asked for: stay */
    }
    if (!app_valid())
        return;
    if (cause & PM_RCAUSE_EXT) { /* the double-tap window */
        *magic = SD_DBL_TAP_MAGIC;
        wait_ms_1mhz(500);
        *magic = 0;
    }
    start_app();
}

int main(void)
{
    bootloader_check();
    samd21_clock_48mhz();
    zero_console_pins();
    samd21_usart_init(ZERO_SERCOM, CORE_HZ, LINE_BAUD);
    PORT_DIRSET(0) = 1u << ZERO_LED_PIN;
    PORT_OUTSET(0) = 1u << ZERO_LED_PIN;
    static samba_mon_s mon;
    samba_mon_init(&mon, &ops, 0);
    bool timing = false;
    uint32_t last = 0; /* g_ms at the last byte of the S data */
    for (;;) {
        if (US_INTFLAG(ZERO_SERCOM) & US_INT_RXC) {
            samba_mon_byte(&mon, (uint8_t)US_DATA(ZERO_SERCOM));
            if (samba_mon_receiving(&mon)) {
                if (!timing)
                    ms_start();
                timing = true;
                last = g_ms;
            } else if (timing) {
                ms_stop();
                timing = false;
            }
        } else if (timing && g_ms - last >= S_TIMEOUT_MS) {
            samba_mon_abort(&mon); /* the host went away mid-block */
            ms_stop();
            timing = false;
        }
    }
}
