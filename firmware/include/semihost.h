/* SPDX-License-Identifier: MIT */
/* Minimal ARM semihosting (BKPT 0xAB): operation in r0, argument in r1, result in r0. */
#ifndef FW_SEMIHOST_H
#define FW_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

#define SH_SYS_OPEN          0x01u
#define SH_SYS_WRITEC        0x03u
#define SH_SYS_WRITE0        0x04u
#define SH_SYS_WRITE         0x05u
#define SH_SYS_EXIT          0x18u
#define SH_SYS_EXIT_EXTENDED 0x20u

#define SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static inline uint32_t sh_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_writec(char c);
void sh_write0(const char *s);
/* SYS_WRITE: returns the number of bytes NOT written (0 = all written). */
uint32_t sh_write(uint32_t handle, const void *buf, size_t len);
/* SYS_OPEN: returns a handle or (uint32_t)-1. */
uint32_t sh_open(const char *name, uint32_t mode);
/* SYS_EXIT with reason ApplicationExit (exit status 0 on every host). */
_Noreturn void sh_exit_ok(void);
/* SYS_EXIT_EXTENDED {ApplicationExit, code}. */
_Noreturn void sh_exit(uint32_t code);
/* Print msg with SYS_WRITE0, then sh_exit(code). */
_Noreturn void sh_fail(const char *msg, uint32_t code);

#endif
