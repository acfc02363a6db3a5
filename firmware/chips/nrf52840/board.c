/* SPDX-License-Identifier: MIT */
/* nRF52840 console: UARTE0, TX on P0.06 (as on the nRF52840 DK), 115200 8N1. Text is copied
 * into a RAM buffer because EasyDMA cannot read flash. */
#include "board.h"
#include "nrf52840.h"
#include "semihost.h"

const char board_chip_name[] = "nRF52840";
const uint32_t board_core_hz = 64000000u;

#define TX_PIN 6u
#define UART_SPIN_LIMIT 10000000u

static char tx_buf[64];

static void wait_event(volatile uint32_t *event, const char *what)
{
    for (uint32_t n = 0; !*event; n++)
        if (n == UART_SPIN_LIMIT)
            sh_fail(what, 1);
}

void board_uart_init(void)
{
    P0_OUTSET = 1u << TX_PIN; /* TXD idles high: output, value 1, before enabling */
    P0_DIRSET = 1u << TX_PIN;
    UARTE0_PSEL_TXD = UARTE_PSEL_PIN(0, TX_PIN);
    UARTE0_BAUDRATE = UARTE_BAUDRATE_115200;
    UARTE0_ENABLE = UARTE_ENABLE_ENABLED;
}

void board_uart_write(const char *s, size_t len)
{
    while (len) {
        size_t n = len < sizeof tx_buf ? len : sizeof tx_buf;
        for (size_t i = 0; i < n; i++)
            tx_buf[i] = s[i];
        UARTE0_TXD_PTR = (uint32_t)(uintptr_t)tx_buf;
        UARTE0_TXD_MAXCNT = (uint32_t)n;
        UARTE0_EVENTS_ENDTX = 0;
        UARTE0_TASKS_STARTTX = 1;
        wait_event(&UARTE0_EVENTS_ENDTX, "uart: timeout waiting on UARTE0 EVENTS_ENDTX\n");
        if (UARTE0_TXD_AMOUNT != n)
            sh_fail("uart: UARTE0 TXD.AMOUNT differs from TXD.MAXCNT\n", 1);
        s += n;
        len -= n;
    }
}

void board_uart_puts(const char *s)
{
    size_t len = 0;
    while (s[len])
        len++;
    board_uart_write(s, len);
}

void board_uart_flush(void)
{
    /* ENDTX only says EasyDMA has read the buffer; TXSTOPPED (after STOPTX) says the
     * transmitter has finished and stopped. */
    UARTE0_EVENTS_TXSTOPPED = 0;
    UARTE0_TASKS_STOPTX = 1;
    wait_event(&UARTE0_EVENTS_TXSTOPPED, "uart: timeout waiting on UARTE0 EVENTS_TXSTOPPED\n");
}

void board_init(void)
{
    /* the nRF52840 core runs from the 64 MHz HFINT after reset: nothing to set up */
}
