/* SPDX-License-Identifier: MIT */
/* The lode serial link's port for the classic AVR USART0 (ATmega328P, ATmega168, ATmega2560:
 * UDR0/UCSR0A-C/UBRR0), double speed (U2X0) as the Arduino bootloaders run it; and stdio
 * (avr-libc) over the link. F_CPU from the build. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>
#include <stdio.h>
#include <util/delay.h>

#include "lode_link.h"

void lode_link_port_init(uint32_t baud)
{
    /* a bootloader that left through a watchdog reset may leave the watchdog running (WDRF in
     * MCUSR keeps WDE set until it is cleared) */
    MCUSR = 0;
    wdt_disable();
    uint16_t ubrr = (uint16_t)((F_CPU / 4u / baud - 1u) / 2u); /* U2X: F_CPU / (8 * baud) - 1, rounded */
    UBRR0H = (uint8_t)(ubrr >> 8);
    UBRR0L = (uint8_t)ubrr;
    UCSR0A = _BV(U2X0);
    UCSR0B = _BV(RXEN0) | _BV(TXEN0);
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8N1 */
}

void lode_link_port_putc(uint8_t b)
{
    loop_until_bit_is_set(UCSR0A, UDRE0);
    UCSR0A = (uint8_t)((UCSR0A & _BV(U2X0)) | _BV(TXC0)); /* clear TXC (written 1) for flush */
    UDR0 = b;
}

int lode_link_port_getc(uint16_t timeout_ms)
{
    for (uint32_t n = 0; timeout_ms == 0xFFFFu || n < (uint32_t)timeout_ms * 100u; n++) {
        if (bit_is_set(UCSR0A, RXC0))
            return UDR0;
        _delay_us(10);
    }
    return -1;
}

void lode_link_port_flush(void)
{
    if (bit_is_set(UCSR0B, TXEN0))
        loop_until_bit_is_set(UCSR0A, TXC0);
}

void lode_link_port_halt(void)
{
    cli();
    set_sleep_mode(SLEEP_MODE_PWR_DOWN);
    for (;;)
        sleep_mode();
}

static int put(char c, FILE *f)
{
    (void)f;
    lode_link_putchar((uint8_t)c);
    return 0;
}

static int get(FILE *f)
{
    (void)f;
    return lode_link_port_getc(0xFFFFu);
}

static FILE link_stream = FDEV_SETUP_STREAM(put, get, _FDEV_SETUP_RW);

void lode_link_stdio(void)
{
    stdout = &link_stream;
    stdin = &link_stream;
}
