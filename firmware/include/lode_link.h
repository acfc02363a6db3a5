/* SPDX-License-Identifier: MIT */
/* The lode serial link, firmware side: what semihosting gives a board behind a debug probe —
 * the command-line arguments in, the exit code out — over a plain UART, for `lode run` on a
 * bootloader board (an Arduino) or any board on a USB-serial adapter. The wire format is in
 * docs/serial-link.md; the host side is lode/serlink.h.
 *
 * Portable: lode_link.c needs four functions from a port (lode_link_avr.c: USART0 of the
 * ATmega328P and relatives; lode_link_stm32f1.c: USART1 of the STM32F1). No heap; the
 * arguments live in static buffers of the sizes below (define them on the compiler's command
 * line to change them). */
#ifndef LODE_LINK_H
#define LODE_LINK_H

#include <stddef.h>
#include <stdint.h>

#ifndef LODE_LINK_ARGS_BYTES
#define LODE_LINK_ARGS_BYTES 128  /* the arguments' characters with their NULs, argv[0] too */
#endif
#ifndef LODE_LINK_ARGS_MAX
#define LODE_LINK_ARGS_MAX 8      /* argc at most */
#endif
#ifndef LODE_LINK_BAUD
#define LODE_LINK_BAUD 115200u
#endif
#define LODE_LINK_ANSWER_MS 1000u /* how long lode_link_args waits for each answer */
#define LODE_LINK_TRIES 3u

/* The UART: LODE_LINK_BAUD, 8N1. */
void lode_link_init(void);
/* Ask the host for the arguments: *argc and *argv (argv[argc] is NULL; argv[0] is the
 * firmware's name as the host gave it). Returns 0; -1 when no host answered (tries three
 * times, LODE_LINK_ANSWER_MS each) or the arguments did not fit (argc is 0 then). Bytes other
 * than the answer that arrive meanwhile are dropped: ask before reading input. */
int lode_link_args(int *argc, char ***argv);
/* Output to the host's stdout; a DLE byte (0x10) is escaped, so nothing written here is ever
 * taken for a frame. lode_link_putchar is the putchar hook (returns c). */
int lode_link_putchar(int c);
void lode_link_write(const void *data, size_t len);
void lode_link_puts(const char *s);   /* no newline added */
/* Input from the host's stdin: the next byte, waiting at most timeout_ms (0xFFFF: for ever);
 * -1 when none came. */
int lode_link_getchar(uint16_t timeout_ms);
/* Send the exit code (`lode run` exits with it) and stop. */
void lode_link_exit(int32_t code) __attribute__((noreturn));

/* AVR (avr-libc): stdout and stdin through the link, for printf/puts/getchar. */
void lode_link_stdio(void);

/* ---- the port (one per chip family) ---------------------------------------------------------- */
void lode_link_port_init(uint32_t baud);
void lode_link_port_putc(uint8_t b);
int lode_link_port_getc(uint16_t timeout_ms); /* -1: nothing within timeout_ms */
void lode_link_port_flush(void);              /* everything sent has left the UART */
void lode_link_port_halt(void) __attribute__((noreturn));

#endif
