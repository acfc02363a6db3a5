/* SPDX-License-Identifier: MIT */
/* A tiny Cortex-M program built with arm-none-eabi-gcc at test build time. test_image parses
 * the linked ELF and `objcopy -O ihex` of it and checks both give the same bytes. It has
 * .text + .rodata in flash, .data with its load address (LMA) in flash and its run address
 * in RAM, .bss, and a .cfg section above 64 KiB so the HEX needs extended address records. */
#include <stdint.h>

extern uint32_t _estack;
extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;

void Reset_Handler(void);
void Default_Handler(void);

volatile uint32_t g_counter = 0x12345678u;
uint32_t g_scratch[16];

const uint32_t g_table[8] = {0x01020304u, 0x05060708u, 0x090a0b0cu, 0x0d0e0f10u,
                             0x11121314u, 0x15161718u, 0x191a1b1cu, 0x1d1e1f20u};

__attribute__((section(".cfg"), used)) const uint8_t g_cfg[40] = {
    'l', 'o', 'd', 'e', '-', 'c', 'f', 'g', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

__attribute__((section(".vectors"), used)) void (*const g_vectors[4])(void) = {
    (void (*)(void))&_estack, Reset_Handler, Default_Handler, Default_Handler};

void Default_Handler(void)
{
    for (;;) {
    }
}

void Reset_Handler(void)
{
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end)
        *dst++ = *src++;
    for (dst = &__bss_start; dst < &__bss_end; dst++)
        *dst = 0;
    for (;;) {
        g_counter += g_table[g_counter & 7u] + g_cfg[g_counter & 31u];
        g_scratch[g_counter & 15u] = g_counter;
    }
}
