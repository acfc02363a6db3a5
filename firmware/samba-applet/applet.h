/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA applet for the SAMD21 (Cortex-M0+): erases rows and programs pages through
 * NVMCTRL (SAMD21 datasheet, chapter NVMCTRL) for a SAM-BA monitor that has no Arduino Y (copy
 * to flash) command. The host (src/boot/samba_probe.c) writes the blob to APPLET_ADDR with S,
 * the operation into the mailbox at APPLET_MBOX (S), the data into its buffer (S), then `G
 * APPLET_ADDR`, and reads the result word back (w) -- the monitor runs the call to its end before
 * it reads the next command.
 *
 * G works two ways in the monitors seen: the Arduino/Adafruit bootloaders (and BOSSA's
 * applets) take the words at the address as a stack pointer and an entry point; others call
 * the address as code. The blob's first two words serve both: as numbers they are the stack
 * top APPLET_SP and the entry APPLET_ADDR + 8 (Thumb); as Thumb code they are four harmless
 * instructions (mov r8, r8; movs r0, #0; ands r1, r1; movs r0, #0) that fall through to the
 * entry at +8. The entry returns with `bx lr` either way. Shared with the host: these numbers. */
#ifndef LODE_SAMBA_APPLET_H
#define LODE_SAMBA_APPLET_H

#define APPLET_ADDR 0x20004000u /* the Arduino SAMD bootloaders keep below it (BOSSA's spot too) */
#define APPLET_SP 0x200046C0u   /* low half 0x46C0 = mov r8, r8 */
#define APPLET_MBOX 0x20004700u /* cmd, dst, src, len, result, fail address (words) */
#define APPLET_MAX 0x400u       /* the blob's room: code and the stack below APPLET_SP */

#define APPLET_CMD_ERASE 1u     /* erase the rows of [dst, dst + len) */
#define APPLET_CMD_PROGRAM 2u   /* program len bytes (whole pages) from src to dst */

#define APPLET_OK 0u
#define APPLET_E_ARG 1u         /* unknown command, misaligned or out of the flash */
#define APPLET_E_NVM 2u         /* NVMCTRL flagged PROGE, LOCKE or NVME (at the fail address) */
#define APPLET_E_VERIFY 3u      /* a programmed word reads back different */
#define APPLET_RUNNING 0xA5A5A5A5u /* what the host writes before G: still there = not run */

#endif
