/* SPDX-License-Identifier: MIT */
/* rtt: console I/O through RTT ("Real Time Transfer") instead of semihosting.
 *
 *     $ printf 'hi\nquit\n' | lode run build/firmware/examples/rtt-stm32f103.elf
 *     rtt: hello
 *     echo: hi
 *     $ echo $?
 *     0
 *
 * Semihosting stops the core for every call. RTT does not: the program writes into ring
 * buffers in its own RAM and a debugger reads (and writes) them through the debug port while
 * the core keeps running. The debugger finds the buffers by looking for a control block
 * that starts with the ID "SEGGER RTT" (or by the symbol _SEGGER_RTT in the ELF). This file
 * defines its own small control block with the layout SEGGER's tools and lode expect:
 *
 *     char acID[16]            "SEGGER RTT", NUL-padded
 *     int  MaxNumUpBuffers     up = target to host
 *     int  MaxNumDownBuffers   down = host to target
 *     buffer descriptors: the up ones, then the down ones, each
 *         const char *sName; char *pBuffer; unsigned SizeOfBuffer;
 *         unsigned WrOff; unsigned RdOff; unsigned Flags;
 *
 * Each ring has one writer and one reader. The writer owns WrOff, the reader owns RdOff; the
 * buffer is empty when they are equal, and full when WrOff is one byte behind RdOff (one
 * byte always stays free, so "full" and "empty" look different). For the up buffer the
 * program writes and the host reads; for the down buffer it is the other way round.
 *
 * The program prints "rtt: hello\n" on up channel 0, then reads down channel 0 and echoes
 * each line back as "echo: <line>" until it reads the line "quit"; then it exits 0 through
 * semihosting. Lines longer than LINE_MAX characters are cut. Without a host on the other
 * end it waits for input forever (lode run's --timeout ends it). */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

#define UP_SIZE   1024u
#define DOWN_SIZE 64u
#define LINE_MAX  80u

/* Flags bits 0-1, the up channel's mode when the buffer is full: 0 drop the new data,
 * 1 write what fits, 2 wait until the host has made room. Waiting loses nothing, but a
 * program blocks for good if no host ever reads. */
#define RTT_MODE_BLOCK_IF_FULL 2u

/* WrOff and RdOff are both volatile: in each ring one of them is changed by the host behind
 * the compiler's back (RdOff in an up buffer, WrOff in a down buffer). The layout is the same
 * as with plain unsigned fields. */
struct rtt_buffer {
    const char *sName;
    char *pBuffer;
    unsigned SizeOfBuffer;
    volatile unsigned WrOff;
    volatile unsigned RdOff;
    unsigned Flags;
};

struct rtt_control_block {
    char acID[16];
    int MaxNumUpBuffers;
    int MaxNumDownBuffers;
    struct rtt_buffer up[1];
    struct rtt_buffer down[1];
};

/* The name is the one debuggers look up in the ELF. It lives in .bss, which the reset
 * handler clears, so the ID is absent until rtt_init writes it. */
struct rtt_control_block _SEGGER_RTT;

static char up_buffer[UP_SIZE];
static char down_buffer[DOWN_SIZE];

/* Orders memory accesses for the compiler and the core. "dmb" is enough between the data
 * and the offsets; "dsb" before the ID waits until everything before it has been written. */
static inline void dmb(void) { __asm__ volatile("dmb" ::: "memory"); }
static inline void dsb(void) { __asm__ volatile("dsb" ::: "memory"); }

static void rtt_init(void)
{
    struct rtt_control_block *cb = &_SEGGER_RTT;

    cb->MaxNumUpBuffers = 1;
    cb->MaxNumDownBuffers = 1;
    cb->up[0] = (struct rtt_buffer){.sName = "Terminal", .pBuffer = up_buffer,
                                     .SizeOfBuffer = UP_SIZE, .Flags = RTT_MODE_BLOCK_IF_FULL};
    cb->down[0] = (struct rtt_buffer){.sName = "Terminal", .pBuffer = down_buffer,
                                       .SizeOfBuffer = DOWN_SIZE};

    /* A host may scan RAM at any moment, even while this function runs. Once it sees the ID
     * it trusts the rest of the block, so the ID goes in last, after a barrier that makes
     * sure the descriptors are written. The bytes are stored through a volatile pointer so
     * the compiler keeps the stores where they are. */
    dsb();
    static const char id[] = "SEGGER RTT";
    volatile char *dst = cb->acID;
    for (size_t i = 0; i < sizeof id; i++)
        dst[i] = id[i];
    dsb();
}

/* Writes n bytes to up channel 0, waiting for room whenever the buffer is full. */
static void rtt_write(const char *s, size_t n)
{
    struct rtt_buffer *up = &_SEGGER_RTT.up[0];
    while (n) {
        unsigned wr = up->WrOff, rd = up->RdOff;
        /* free bytes up to the end of the buffer, or up to one before RdOff */
        unsigned room = rd > wr ? rd - wr - 1u : up->SizeOfBuffer - wr - (rd == 0 ? 1u : 0u);
        if (room == 0)
            continue; /* full: block until the host reads */
        unsigned chunk = n < room ? (unsigned)n : room;
        for (unsigned i = 0; i < chunk; i++)
            up->pBuffer[wr + i] = s[i];
        wr += chunk;
        if (wr == up->SizeOfBuffer)
            wr = 0;
        dmb(); /* the data must be in RAM before the host sees the new WrOff */
        up->WrOff = wr;
        s += chunk;
        n -= chunk;
    }
}

static void rtt_puts(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    rtt_write(s, n);
}

/* Returns the next byte from down channel 0, or -1 if the host has sent nothing new. */
static int rtt_getc(void)
{
    struct rtt_buffer *down = &_SEGGER_RTT.down[0];
    unsigned rd = down->RdOff;
    if (rd == down->WrOff)
        return -1;
    dmb(); /* read the data only after WrOff said it is there */
    unsigned char c = (unsigned char)down->pBuffer[rd];
    rd++;
    if (rd == down->SizeOfBuffer)
        rd = 0;
    dmb(); /* finish reading the byte before handing its slot back to the host */
    down->RdOff = rd;
    return c;
}

static int is_quit(const char *line, size_t len)
{
    static const char quit[] = "quit";
    if (len != sizeof quit - 1)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] != quit[i])
            return 0;
    return 1;
}

int main(void)
{
    rtt_init();
    rtt_puts("rtt: hello\n");

    char line[LINE_MAX];
    size_t len = 0;
    for (;;) {
        int c = rtt_getc();
        if (c < 0)
            continue; /* nothing yet: poll again */
        if (c != '\n') {
            if (len < LINE_MAX)
                line[len++] = (char)c;
            continue;
        }
        if (is_quit(line, len))
            break;
        rtt_puts("echo: ");
        rtt_write(line, len);
        rtt_puts("\n");
        len = 0;
    }

    /* The host reads what is still in the up buffer when the program has exited. */
    sh_exit(0);
}
