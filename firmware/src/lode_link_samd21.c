/* SPDX-License-Identifier: MIT */
/* The lode serial link's port for the ATSAMD21's SERCOM5 (the Arduino Zero's console, PB22 TX /
 * PB23 RX). The core clock is LODE_LINK_CORE_HZ (default 48 MHz: what board_init and lode's
 * SAM-BA bootloader leave running); SERCOM5 is clocked from GCLK0. */
#include <stdint.h>

#include "lode_link.h"
#include "samd21g18a.h"

#ifndef LODE_LINK_CORE_HZ
#define LODE_LINK_CORE_HZ 48000000u
#endif

void lode_link_port_init(uint32_t baud)
{
    zero_console_pins();
    samd21_usart_init(ZERO_SERCOM, LODE_LINK_CORE_HZ, baud);
}

void lode_link_port_putc(uint8_t b)
{
    while (!(US_INTFLAG(ZERO_SERCOM) & US_INT_DRE))
        ;
    US_DATA(ZERO_SERCOM) = b;
}

int lode_link_port_getc(uint16_t timeout_ms)
{
    /* about 8 cycles a turn */
    uint32_t turns = (uint32_t)timeout_ms * (LODE_LINK_CORE_HZ / 8000u);
    for (uint32_t n = 0; timeout_ms == 0xFFFFu || n < turns; n++)
        if (US_INTFLAG(ZERO_SERCOM) & US_INT_RXC)
            return (int)(US_DATA(ZERO_SERCOM) & 0xFFu);
    return -1;
}

void lode_link_port_flush(void)
{
    while (!(US_INTFLAG(ZERO_SERCOM) & US_INT_TXC))
        ;
}

void lode_link_port_halt(void)
{
    __asm__ volatile("cpsid i");
    for (;;)
        __asm__ volatile("wfi");
}
