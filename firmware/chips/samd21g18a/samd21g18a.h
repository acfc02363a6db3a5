/* SPDX-License-Identifier: MIT */
/* ATSAMD21G18A registers used by lode's firmware (SAM D21 datasheet DS40001882: §9 memory
 * map, §15 GCLK, §16 PM, §17 SYSCTRL, §22 NVMCTRL, §23 PORT, §26 SERCOM USART). */
#ifndef SAMD21G18A_H
#define SAMD21G18A_H

#include <stdint.h>

#define SD_REG32(a) (*(volatile uint32_t *)(a))
#define SD_REG16(a) (*(volatile uint16_t *)(a))
#define SD_REG8(a) (*(volatile uint8_t *)(a))

#define SD_FLASH_SIZE 0x40000u
#define SD_PAGE_SIZE 64u
#define SD_ROW_SIZE 256u
#define SD_SRAM_BASE 0x20000000u
#define SD_SRAM_SIZE 0x8000u
#define SD_APP_START 0x2000u            /* Arduino/Adafruit SAMD21 boards: 8 KiB bootloader */
#define SD_DBL_TAP_ADDR 0x20007FFCu     /* the last SRAM word: the bootloader's magic */
#define SD_DBL_TAP_MAGIC 0x07738135u    /* the value Arduino's cores and bootloaders use */

/* PM */
#define PM_CPUSEL SD_REG8(0x40000408u)
#define PM_APBCMASK SD_REG32(0x40000420u)
#define PM_RCAUSE SD_REG8(0x40000438u)
#define PM_RCAUSE_POR 0x01u
#define PM_RCAUSE_EXT 0x10u

/* SYSCTRL */
#define SYSCTRL_PCLKSR SD_REG32(0x4000080Cu)
#define SYSCTRL_PCLKSR_DFLLRDY (1u << 4)
#define SYSCTRL_OSC8M SD_REG32(0x40000820u)
#define SYSCTRL_DFLLCTRL SD_REG16(0x40000824u)
#define SYSCTRL_DFLLVAL SD_REG32(0x40000828u)
#define SYSCTRL_DFLLCTRL_ENABLE (1u << 1)

/* GCLK */
#define GCLK_STATUS SD_REG8(0x40000C01u)
#define GCLK_CLKCTRL SD_REG16(0x40000C02u)
#define GCLK_GENCTRL SD_REG32(0x40000C04u)
#define GCLK_GENDIV SD_REG32(0x40000C08u)
#define GCLK_SYNCBUSY 0x80u
#define GCLK_CLKCTRL_CLKEN (1u << 14)
#define GCLK_GENCTRL_GENEN (1u << 16)
#define GCLK_SRC_DFLL48M 0x07u
#define GCLK_ID_SERCOM0_CORE 0x14u

/* NVMCTRL */
#define NVMCTRL_CTRLA SD_REG16(0x41004000u)
#define NVMCTRL_CTRLB SD_REG32(0x41004004u)
#define NVMCTRL_PARAM SD_REG32(0x41004008u)
#define NVMCTRL_INTFLAG SD_REG8(0x41004014u)
#define NVMCTRL_STATUS SD_REG16(0x41004018u)
#define NVMCTRL_ADDR SD_REG32(0x4100401Cu)
#define NVMCTRL_CMDEX 0xA500u
#define NVMCTRL_CMD_ER 0x02u
#define NVMCTRL_CMD_WP 0x04u
#define NVMCTRL_CMD_PBC 0x44u
#define NVMCTRL_READY 0x01u
#define NVMCTRL_ERRORS 0x1Cu /* STATUS: PROGE, LOCKE, NVME */
#define NVMCTRL_CTRLB_MANW (1u << 7)
#define NVMCTRL_CTRLB_RWS(n) ((uint32_t)(n) << 1)

/* PORT (group 0 = PA, 1 = PB) */
#define PORT_DIRSET(g) SD_REG32(0x41004408u + 0x80u * (g))
#define PORT_OUTCLR(g) SD_REG32(0x41004414u + 0x80u * (g))
#define PORT_OUTSET(g) SD_REG32(0x41004418u + 0x80u * (g))
#define PORT_OUTTGL(g) SD_REG32(0x4100441Cu + 0x80u * (g))
#define PORT_PMUX(g, n) SD_REG8(0x41004430u + 0x80u * (g) + (n))
#define PORT_PINCFG(g, n) SD_REG8(0x41004440u + 0x80u * (g) + (n))
#define PORT_PINCFG_PMUXEN 0x01u
#define PORT_PINCFG_INEN 0x02u
#define ZERO_LED_PIN 17u /* PA17, the Arduino Zero's "L" LED */

/* SERCOM USART; the Arduino Zero's console (the EDBG port, "Serial") is SERCOM5 on PB22 (TX,
 * PAD2) and PB23 (RX, PAD3), peripheral function D */
#define SERCOM_BASE(n) (0x42000800u + 0x400u * (n))
#define US_CTRLA(n) SD_REG32(SERCOM_BASE(n) + 0x00u)
#define US_CTRLB(n) SD_REG32(SERCOM_BASE(n) + 0x04u)
#define US_BAUD(n) SD_REG16(SERCOM_BASE(n) + 0x0Cu)
#define US_INTFLAG(n) SD_REG8(SERCOM_BASE(n) + 0x18u)
#define US_SYNCBUSY(n) SD_REG32(SERCOM_BASE(n) + 0x1Cu)
#define US_DATA(n) SD_REG16(SERCOM_BASE(n) + 0x28u)
#define US_INT_DRE 0x01u
#define US_INT_TXC 0x02u
#define US_INT_RXC 0x04u
#define US_CTRLA_ENABLE (1u << 1)
#define US_CTRLA_MODE_INT (1u << 2)
#define US_CTRLA_TXPO(n) ((uint32_t)(n) << 16)
#define US_CTRLA_RXPO(n) ((uint32_t)(n) << 20)
#define US_CTRLA_DORD (1u << 30)
#define US_CTRLB_TXEN (1u << 16)
#define US_CTRLB_RXEN (1u << 17)
#define ZERO_SERCOM 5u

/* BAUD for 16x arithmetic mode: 65536 * (1 - 16 * baud / fref), rounded */
#define US_BAUD_VALUE(fref, baud) \
    ((uint16_t)(65536u - (uint32_t)(((uint64_t)16u * (baud) * 65536u + (fref) / 2u) / (fref))))

/* System control block (ARMv6-M) */
#define SCB_VTOR_REG SD_REG32(0xE000ED08u)
#define SCB_AIRCR_REG SD_REG32(0xE000ED0Cu)

/* The core at 48 MHz from the DFLL48M in open loop (the datasheet's wait-state table: one
 * flash wait state above 24 MHz at 2.7-3.6 V), then the SERCOM's clock from GCLK0 too. */
static inline void samd21_clock_48mhz(void)
{
    NVMCTRL_CTRLB = (NVMCTRL_CTRLB & ~NVMCTRL_CTRLB_RWS(0xF)) | NVMCTRL_CTRLB_RWS(1) | NVMCTRL_CTRLB_MANW;
    SYSCTRL_DFLLCTRL = 0; /* ONDEMAND off before the DFLL is configured (datasheet erratum) */
    while (!(SYSCTRL_PCLKSR & SYSCTRL_PCLKSR_DFLLRDY))
        ;
    SYSCTRL_DFLLCTRL = SYSCTRL_DFLLCTRL_ENABLE;
    while (!(SYSCTRL_PCLKSR & SYSCTRL_PCLKSR_DFLLRDY))
        ;
    GCLK_GENDIV = 0; /* generator 0, no division */
    GCLK_GENCTRL = 0u | (GCLK_SRC_DFLL48M << 8) | GCLK_GENCTRL_GENEN;
    while (GCLK_STATUS & GCLK_SYNCBUSY)
        ;
}

/* SERCOM n as an 8N1 USART at `baud` from GCLK0 (fref_hz); pins are the caller's. */
static inline void samd21_usart_init(unsigned n, uint32_t fref_hz, uint32_t baud)
{
    PM_APBCMASK |= 1u << (2u + n);
    GCLK_CLKCTRL = (uint16_t)((GCLK_ID_SERCOM0_CORE + n) | (0u << 8) | GCLK_CLKCTRL_CLKEN);
    while (GCLK_STATUS & GCLK_SYNCBUSY)
        ;
    US_CTRLA(n) = 1u; /* SWRST */
    while (US_SYNCBUSY(n) & 1u)
        ;
    US_CTRLA(n) = US_CTRLA_MODE_INT | US_CTRLA_DORD | US_CTRLA_TXPO(1) | US_CTRLA_RXPO(3);
    US_CTRLB(n) = US_CTRLB_TXEN | US_CTRLB_RXEN;
    while (US_SYNCBUSY(n) & 4u)
        ;
    US_BAUD(n) = US_BAUD_VALUE(fref_hz, baud);
    US_CTRLA(n) |= US_CTRLA_ENABLE;
    while (US_SYNCBUSY(n) & 2u)
        ;
}

/* PB22/PB23 to SERCOM5 (function D) */
static inline void zero_console_pins(void)
{
    PORT_PMUX(1, 11) = 0x33u; /* PB22 even nibble, PB23 odd nibble: D */
    PORT_PINCFG(1, 22) = PORT_PINCFG_PMUXEN;
    PORT_PINCFG(1, 23) = PORT_PINCFG_PMUXEN | PORT_PINCFG_INEN;
}

#endif
