/* SPDX-License-Identifier: MIT */
/* STM32F103 registers used by the test firmware (RM0008). */
#ifndef FW_STM32F103_H
#define FW_STM32F103_H

#include "cortexm.h"

/* RCC */
#define RCC_BASE     0x40021000u
#define RCC_CR       REG32(RCC_BASE + 0x00u)
#define RCC_CFGR     REG32(RCC_BASE + 0x04u)
#define RCC_APB2ENR  REG32(RCC_BASE + 0x18u)
#define RCC_CR_HSEON  (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON  (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define FLASH_ACR    REG32(0x40022000u)
#define RCC_APB2ENR_IOPAEN   (1u << 2)
#define RCC_APB2ENR_USART1EN (1u << 14)

/* GPIO port A */
#define GPIOA_BASE   0x40010800u
#define GPIOA_CRL    REG32(GPIOA_BASE + 0x00u) /* pins 0-7, 4 bits each: CNF[1:0] MODE[1:0] */
#define GPIOA_CRH    REG32(GPIOA_BASE + 0x04u) /* pins 8-15 */
#define GPIO_CFG_AF_PP_50MHZ 0xBu              /* CNF = 10 (AF push-pull), MODE = 11 */

/* USART1 */
#define USART1_BASE  0x40013800u
#define USART1_SR    REG32(USART1_BASE + 0x00u)
#define USART1_DR    REG32(USART1_BASE + 0x04u)
#define USART1_BRR   REG32(USART1_BASE + 0x08u)
#define USART1_CR1   REG32(USART1_BASE + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC   (1u << 6)
#define USART_SR_TXE  (1u << 7)
#define USART_CR1_RE  (1u << 2)
#define USART_CR1_TE  (1u << 3)
#define USART_CR1_UE  (1u << 13)

#endif
