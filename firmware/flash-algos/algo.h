/* SPDX-License-Identifier: MIT */
/* lode's built-in flash algorithms: the entry points of the CMSIS-Pack flash programming
 * algorithm interface (Arm, "Flash Programming Algorithms" in the CMSIS-Pack documentation),
 * written for lode from the chips' reference manuals.
 *
 * Calling convention (what the host does, see src/flash/): the blob is loaded at its
 * load_address (the link address, 0x20000000), R0-R2 hold the arguments, R9 the static base
 * (unused: the algorithms keep no state in memory, .data and .bss are empty), SP a stack top,
 * LR a BKPT instruction; the function returns with R0 = 0 on success, nonzero on failure.
 * Offset 0 of every blob holds two BKPT #0 instructions a host may use as that return stub. */
#ifndef LODE_FLASH_ALGO_H
#define LODE_FLASH_ALGO_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define REG16(addr) (*(volatile uint16_t *)(uintptr_t)(addr))

/* Init's fnc argument */
#define ALGO_FNC_ERASE 1u
#define ALGO_FNC_PROGRAM 2u
#define ALGO_FNC_VERIFY 3u

/* Code only the program operations of a stream use (ProgramPage and what it calls, the page
 * verify): algo.ld puts it first, up to lode_algo_late_end, so a host can start a stream's
 * erases before it has written that part (lode_flash_algo_s.stream_late_len). */
#define ALGO_LATE __attribute__((section(".text.lode_late")))

int Init(unsigned long adr, unsigned long clk, unsigned long fnc);
int UnInit(unsigned long fnc);
int EraseSector(unsigned long adr);
int ProgramPage(unsigned long adr, unsigned long sz, unsigned char *buf);
int EraseChip(void);
/* lode's streaming extension (stream.c): a sequence of erase/program operations fed through
 * a ring of slots in RAM, without a halt between them; everything but ctl comes from the
 * control block */
int LodeStream(unsigned long ctl);
/* Optional hooks of an algorithm for LodeStream: raise the core clock while a stream runs
 * (after Init) and put it back (before UnInit). LodeClockUp returns a token for
 * LodeClockRestore, 0 when it changed nothing. */
uint32_t LodeClockUp(void);
void LodeClockRestore(uint32_t token);
/* Optional: a sector erase the host starts itself with register writes (LodeEraseStart, a
 * table of {address, value} pairs ended by {0, 0}; LODE_ERASE_ADDR = the sector's address),
 * finished by the stream's op 4, EraseWait (0 or an error like EraseSector's) */
#define LODE_ERASE_ADDR 0xFFFFFFFFu
extern const uint32_t LodeEraseStart[];
int EraseWait(unsigned long adr);

#endif
