/* SPDX-License-Identifier: MIT */
/* nRF52840 registers used by the test firmware (nRF52840 Product Specification). */
#ifndef FW_NRF52840_H
#define FW_NRF52840_H

#include "cortexm.h"

/* GPIO port 0 */
#define P0_BASE    0x50000000u
#define P0_OUTSET  REG32(P0_BASE + 0x508u)
#define P0_DIRSET  REG32(P0_BASE + 0x518u)

/* UARTE0 (EasyDMA: it reads only from Data RAM) */
#define UARTE0_BASE           0x40002000u
#define UARTE0_TASKS_STARTTX  REG32(UARTE0_BASE + 0x008u)
#define UARTE0_TASKS_STOPTX   REG32(UARTE0_BASE + 0x00Cu)
#define UARTE0_EVENTS_ENDTX   REG32(UARTE0_BASE + 0x120u)
#define UARTE0_EVENTS_TXSTOPPED REG32(UARTE0_BASE + 0x158u)
#define UARTE0_ENABLE         REG32(UARTE0_BASE + 0x500u)
#define UARTE0_PSEL_TXD       REG32(UARTE0_BASE + 0x50Cu)
#define UARTE0_BAUDRATE       REG32(UARTE0_BASE + 0x524u)
#define UARTE0_TXD_PTR        REG32(UARTE0_BASE + 0x544u)
#define UARTE0_TXD_MAXCNT     REG32(UARTE0_BASE + 0x548u)
#define UARTE0_TXD_AMOUNT     REG32(UARTE0_BASE + 0x54Cu)
#define UARTE_ENABLE_ENABLED  8u
#define UARTE_BAUDRATE_115200 0x01D7E000u
#define UARTE_PSEL_PIN(port, pin) (((uint32_t)(port) << 5) | (uint32_t)(pin)) /* CONNECT = 0 */

#endif
