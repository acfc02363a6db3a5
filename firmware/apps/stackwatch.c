/* SPDX-License-Identifier: MIT */
/* stackwatch: a counter that lives on the stack, for watchpoint tests. main publishes the
 * counter's address in `stack_slot`, calls `stack_ready` (a place to break), then increments
 * the counter five times and exits with its value (5). */
#include <stdint.h>

volatile uint32_t *volatile stack_slot;

__attribute__((noinline)) void stack_ready(void) { __asm__ volatile("" ::: "memory"); }

int main(void)
{
    volatile uint32_t counter = 0;
    stack_slot = &counter;
    stack_ready();
    for (int i = 0; i < 5; i++)
        counter = counter + 1;
    return (int)counter;
}
