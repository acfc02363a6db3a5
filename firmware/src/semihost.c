/* SPDX-License-Identifier: MIT */
#include "semihost.h"

void sh_writec(char c)
{
    sh_call(SH_SYS_WRITEC, &c);
}

void sh_write0(const char *s)
{
    sh_call(SH_SYS_WRITE0, s);
}

uint32_t sh_write(uint32_t handle, const void *buf, size_t len)
{
    uint32_t block[3] = {handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
    return sh_call(SH_SYS_WRITE, block);
}

uint32_t sh_open(const char *name, uint32_t mode)
{
    size_t len = 0;
    while (name[len])
        len++;
    uint32_t block[3] = {(uint32_t)(uintptr_t)name, mode, (uint32_t)len};
    return sh_call(SH_SYS_OPEN, block);
}

_Noreturn void sh_exit_ok(void)
{
    /* On 32-bit ARM, SYS_EXIT takes the reason code itself in r1. */
    for (;;)
        sh_call(SH_SYS_EXIT, (const void *)(uintptr_t)SH_ADP_STOPPED_APPLICATION_EXIT);
}

_Noreturn void sh_exit(uint32_t code)
{
    uint32_t block[2] = {SH_ADP_STOPPED_APPLICATION_EXIT, code};
    for (;;)
        sh_call(SH_SYS_EXIT_EXTENDED, block);
}

_Noreturn void sh_fail(const char *msg, uint32_t code)
{
    sh_write0(msg);
    sh_exit(code);
}
