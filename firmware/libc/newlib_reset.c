/* SPDX-License-Identifier: MIT */
/* The vector table and reset handler for a program on newlib's rdimon crt0: rdimon's _start
 * clears .bss and sets the stack but expects .data already in RAM (a debugger loads it), so
 * the reset handler copies it from flash first. */
#include <stdint.h>
#include <string.h>

extern uint32_t __stack[], __data_load[], __data_start__[], __data_end__[];
extern void _start(void);
void fw_reset(void);

void fw_reset(void)
{
    memcpy(__data_start__, __data_load, (size_t)((char *)__data_end__ - (char *)__data_start__));
    _start();
}

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[2] = {
    (uintptr_t)__stack, (uintptr_t)fw_reset};
