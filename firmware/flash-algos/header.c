/* SPDX-License-Identifier: MIT */
/* Offset 0 of every algorithm blob: BKPT #0; BKPT #0 — a return stub a host may point LR at
 * (load_address | 1). The linker script places this section first. */
__asm__(".section .text.lode_header,\"ax\",%progbits\n"
        ".balign 4\n"
        ".short 0xBE00, 0xBE00\n"
        ".text\n");
