/* SPDX-License-Identifier: MIT */
/* lode's AVR109 test bootloader for the ATmega32U4 (the simulated Leonardo), written from Atmel's
 * AVR109 application note. It speaks over USART1 (Caterina's USB CDC is not in Debian and simavr
 * has no USB device model), 8N1 at LINE_BAUD with U2X, and behaves as Caterina does where a host
 * can tell:
 *  - it stays after an external reset, after a watchdog reset with the key 0x7777 at RAM 0x0800
 *    (what the sketch's USB code leaves before it resets on the 1200-baud touch), and when the
 *    flash holds no sketch; otherwise it starts the sketch at once;
 *  - it leaves for the sketch after 8 s without a byte (when there is one), and ~100 ms after 'E';
 *  - commands: S V v p a b t T P L A B g e E s r F N Q, ESC ignored, anything else '?'; block
 *    writes of flash are one page (erased, filled, written), EEPROM byte-wise; 'A' takes the word
 *    address for flash, the byte address for EEPROM; the signature comes lowest byte first.
 * It lives in the 4 KiB boot section at 0x7000 (BOOTSZ = 00, BOOTRST programmed). */
#include <avr/boot.h>
#include <avr/eeprom.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/wdt.h>
#include <stdbool.h>
#include <stdint.h>
#include <util/delay.h>

#ifndef LINE_BAUD
#define LINE_BAUD 500000UL
#endif
#define APP_END 0x7000UL
#define BOOT_KEY_PTR ((volatile uint16_t *)0x0800)
#define BOOT_KEY 0x7777u
#define TIMEOUT_S 8
#define CR '\r'

static uint16_t addr;          /* flash: word address; EEPROM: byte address */
static uint8_t page[SPM_PAGESIZE];
static uint8_t idle_s;         /* whole seconds without a byte */
static bool have_app;

static void start_app(void)
{
    _delay_ms(2);              /* the last byte leaves the shift register */
    UCSR1B = 0;
    UCSR1A = 0;
    TCCR1B = 0;
    TIFR1 = 0xFF;
    boot_rww_enable_safe();
    MCUCR = _BV(IVCE);         /* vectors back at the application's */
    MCUCR = 0;
    __asm__ __volatile__("jmp 0");
}

static void put(uint8_t c)
{
    while (!(UCSR1A & _BV(UDRE1)))
        ;
    UDR1 = c;
}

/* The next byte; 8 s without one starts the sketch (if there is one). */
static uint8_t get(void)
{
    while (!(UCSR1A & _BV(RXC1))) {
        if (TIFR1 & _BV(OCF1A)) {
            TIFR1 = _BV(OCF1A);
            if (++idle_s >= TIMEOUT_S && have_app)
                start_app();
        }
    }
    idle_s = 0;
    TCNT1 = 0;
    return UDR1;
}

static uint16_t get16(void)
{
    uint16_t hi = get();
    return (uint16_t)(hi << 8 | get());
}

static void write_flash_page(uint16_t len)
{
    uint32_t at = (uint32_t)addr * 2u;
    uint32_t start = at & ~(uint32_t)(SPM_PAGESIZE - 1);
    for (uint16_t i = len; i < SPM_PAGESIZE; i++)
        page[i] = 0xFF;
    boot_page_erase(start);
    boot_spm_busy_wait();
    for (uint16_t i = 0; i < SPM_PAGESIZE; i += 2)
        boot_page_fill(start + i, (uint16_t)(page[i] | page[i + 1] << 8));
    boot_page_write(start);
    boot_spm_busy_wait();
    boot_rww_enable();
    addr += len / 2;
}

static void block_write(void)
{
    uint16_t len = get16();
    uint8_t mem = get();
    if (mem == 'F') {
        bool ok = len && len <= SPM_PAGESIZE && !(len & 1) && (uint32_t)addr * 2u + len <= APP_END;
        for (uint16_t i = 0; i < len; i++) {
            uint8_t b = get();
            if (i < SPM_PAGESIZE)
                page[i] = b;
        }
        if (!ok) {
            put('?');
            return;
        }
        write_flash_page(len);
    } else if (mem == 'E') {
        for (uint16_t i = 0; i < len; i++) {
            uint8_t b = get();
            if (addr <= E2END)
                eeprom_write_byte((uint8_t *)(uintptr_t)addr, b);
            addr++;
        }
    } else {
        for (uint16_t i = 0; i < len; i++)
            (void)get();
        put('?');
        return;
    }
    put(CR);
}

static void block_read(void)
{
    uint16_t len = get16();
    uint8_t mem = get();
    if (mem == 'F') {
        for (uint16_t i = 0; i < len; i += 2) {
            uint32_t at = (uint32_t)addr * 2u;
            put(pgm_read_byte(at));
            if (i + 1 < len)
                put(pgm_read_byte(at + 1));
            addr++;
        }
    } else if (mem == 'E') {
        for (uint16_t i = 0; i < len; i++, addr++)
            put(addr <= E2END ? eeprom_read_byte((const uint8_t *)(uintptr_t)addr) : 0xFF);
    } else {
        put('?');
    }
}

static void chip_erase(void)
{
    for (uint32_t p = 0; p < APP_END; p += SPM_PAGESIZE) {
        boot_page_erase(p);
        boot_spm_busy_wait();
    }
    boot_rww_enable();
    have_app = false;
}

int main(void)
{
    uint8_t why = MCUSR;
    MCUSR = 0;
    wdt_disable();
    uint16_t key = *BOOT_KEY_PTR;
    *BOOT_KEY_PTR = 0;
    have_app = pgm_read_word(0) != 0xFFFF;
    bool stay = (why & _BV(EXTRF)) || ((why & _BV(WDRF)) && key == BOOT_KEY) || !have_app;
    if (!stay)
        start_app();
    MCUCR = _BV(IVCE);         /* this bootloader takes no interrupts, but keep the vectors here */
    MCUCR = _BV(IVSEL);
    UBRR1 = (uint16_t)(F_CPU / 8 / LINE_BAUD - 1);
    UCSR1A = _BV(U2X1);
    UCSR1C = _BV(UCSZ11) | _BV(UCSZ10);
    UCSR1B = _BV(RXEN1) | _BV(TXEN1);
    OCR1A = (uint16_t)(F_CPU / 1024 - 1); /* 1 s */
    TCCR1A = 0;
    TCCR1B = _BV(WGM12) | _BV(CS12) | _BV(CS10);
    for (;;) {
        uint8_t c = get();
        switch (c) {
        case 'S': {
            static const char id[] = "LODE109";
            for (uint8_t i = 0; i < 7; i++)
                put((uint8_t)id[i]);
            break;
        }
        case 'V': put('1'); put('0'); break;
        case 'p': put('S'); break;
        case 'a': put('Y'); break;
        case 'b': put('Y'); put(SPM_PAGESIZE >> 8); put(SPM_PAGESIZE & 0xFF); break;
        case 't': put(0x44); put(0); break;
        case 'T': (void)get(); put(CR); break;
        case 'P': case 'L': put(CR); break;
        case 'A': addr = get16(); put(CR); break;
        case 'B': block_write(); break;
        case 'g': block_read(); break;
        case 'e': chip_erase(); put(CR); break;
        case 's': put(SIGNATURE_2); put(SIGNATURE_1); put(SIGNATURE_0); break;
        case 'r': put(boot_lock_fuse_bits_get(GET_LOCK_BITS)); break;
        case 'F': put(boot_lock_fuse_bits_get(GET_LOW_FUSE_BITS)); break;
        case 'N': put(boot_lock_fuse_bits_get(GET_HIGH_FUSE_BITS)); break;
        case 'Q': put(boot_lock_fuse_bits_get(GET_EXTENDED_FUSE_BITS)); break;
        case 'E':
            put(CR);
            _delay_ms(100);
            if (pgm_read_word(0) != 0xFFFF)
                start_app();
            break;
        case 0x1B: break;
        default: put('?'); break;
        }
    }
}
