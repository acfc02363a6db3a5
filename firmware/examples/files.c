/* SPDX-License-Identifier: MIT */
/* files: host file access through semihosting.
 *
 *     $ lode run build/firmware/examples/files-stm32f103.elf
 *     files: wrote 23 bytes to out.txt
 *     files: out.txt is 23 bytes long
 *     files: read back 23 bytes, same as written
 *     files: after seeking to 7: "from the target\n"
 *     files: removed out.txt
 *     files: ok
 *     $ echo $?
 *     0
 *
 * The file lives on the host, in the directory lode runs in: the firmware asks the debugger
 * to open, write, read, seek, close and remove it. Each call takes a parameter block (an
 * array of words) whose address goes in r1. Handles and lengths are 32-bit words; a call
 * that fails returns -1, and SYS_ERRNO (0x13) then tells the host's errno value.
 *
 *   SYS_OPEN   0x01 {name, mode, strlen(name)} -> handle; mode 0 = "r", 4 = "w" (fopen modes)
 *   SYS_CLOSE  0x02 {handle}                   -> 0
 *   SYS_WRITE  0x05 {handle, buffer, count}    -> number of bytes NOT written
 *   SYS_READ   0x06 {handle, buffer, count}    -> number of bytes NOT read (count at EOF)
 *   SYS_SEEK   0x0A {handle, position}         -> 0 (position counted from the start)
 *   SYS_FLEN   0x0C {handle}                   -> file length
 *   SYS_REMOVE 0x0E {name, strlen(name)}       -> 0
 *
 * Exit code 0 when every step worked, 1 otherwise, after a line naming the failed step:
 * "files: <step> failed (errno N)" when the host refused a call, "files: <step>: <what was
 * wrong>" when a call worked but gave the wrong answer. */
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "semihost.h"

#define SYS_OPEN   0x01u
#define SYS_CLOSE  0x02u
#define SYS_WRITE  0x05u
#define SYS_READ   0x06u
#define SYS_SEEK   0x0Au
#define SYS_FLEN   0x0Cu
#define SYS_REMOVE 0x0Eu
#define SYS_ERRNO  0x13u

#define MODE_R 0u
#define MODE_W 4u

#define FILE_NAME   "out.txt"
#define TEXT        "Hello, from the target\n"
#define TEXT_LEN    (sizeof TEXT - 1)
#define SEEK_TO     7u
#define SH_ERROR    UINT32_MAX /* what a failed call returns: -1 */

static size_t length(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* A call the host refused: prints "files: <step> failed (errno N)" and exits 1. */
static _Noreturn void fail(const char *step)
{
    uint32_t err = sh_call(SYS_ERRNO, 0);
    char line[96];
    char *p = fmt_str(line, "files: ");
    p = fmt_str(p, step);
    p = fmt_str(p, " failed (errno ");
    p = fmt_udec(p, err);
    p = fmt_str(p, ")\n");
    *p = '\0';
    sh_fail(line, 1);
}

/* A call that worked but gave the wrong answer: prints "files: <what>" and exits 1. */
static _Noreturn void mismatch(const char *what)
{
    char line[96];
    char *p = fmt_str(line, "files: ");
    p = fmt_str(p, what);
    *p++ = '\n';
    *p = '\0';
    sh_fail(line, 1);
}

/* Prints "files: <text><number><rest>". */
static void report(const char *text, uint32_t number, const char *rest)
{
    char line[96];
    char *p = fmt_str(line, "files: ");
    p = fmt_str(p, text);
    p = fmt_udec(p, number);
    p = fmt_str(p, rest);
    *p = '\0';
    sh_write0(line);
}

static uint32_t file_open(const char *name, uint32_t mode)
{
    uint32_t block[3] = {(uint32_t)(uintptr_t)name, mode, (uint32_t)length(name)};
    return sh_call(SYS_OPEN, block);
}

static uint32_t file_close(uint32_t handle)
{
    uint32_t block[1] = {handle};
    return sh_call(SYS_CLOSE, block);
}

static uint32_t file_write(uint32_t handle, const void *buf, size_t n)
{
    uint32_t block[3] = {handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return sh_call(SYS_WRITE, block);
}

static uint32_t file_read(uint32_t handle, void *buf, size_t n)
{
    uint32_t block[3] = {handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return sh_call(SYS_READ, block);
}

static uint32_t file_seek(uint32_t handle, uint32_t pos)
{
    uint32_t block[2] = {handle, pos};
    return sh_call(SYS_SEEK, block);
}

static uint32_t file_length(uint32_t handle)
{
    uint32_t block[1] = {handle};
    return sh_call(SYS_FLEN, block);
}

static uint32_t file_remove(const char *name)
{
    uint32_t block[2] = {(uint32_t)(uintptr_t)name, (uint32_t)length(name)};
    return sh_call(SYS_REMOVE, block);
}

int main(void)
{
    /* 1. Create the file and write one line. */
    uint32_t h = file_open(FILE_NAME, MODE_W);
    if (h == SH_ERROR)
        fail("open(\"" FILE_NAME "\", \"w\")");
    if (file_write(h, TEXT, TEXT_LEN) != 0)
        fail("write");
    if (file_close(h) != 0)
        fail("close after writing");
    report("wrote ", TEXT_LEN, " bytes to " FILE_NAME "\n");

    /* 2. Open it again for reading and check its length. */
    h = file_open(FILE_NAME, MODE_R);
    if (h == SH_ERROR)
        fail("open(\"" FILE_NAME "\", \"r\")");
    uint32_t len = file_length(h);
    if (len == SH_ERROR)
        fail("flen");
    report(FILE_NAME " is ", len, " bytes long\n");
    if (len != TEXT_LEN)
        mismatch("flen: wrong length");

    /* 3. Read it all back (asking for more than is there) and compare. */
    char buf[64];
    uint32_t not_read = file_read(h, buf, sizeof buf);
    if (not_read == SH_ERROR || not_read > sizeof buf)
        fail("read");
    uint32_t got = (uint32_t)sizeof buf - not_read;
    if (got != TEXT_LEN || !same(buf, TEXT, TEXT_LEN))
        mismatch("read: different data");
    report("read back ", got, " bytes, same as written\n");

    /* 4. Seek into the middle and read the rest again. */
    if (file_seek(h, SEEK_TO) != 0)
        fail("seek");
    not_read = file_read(h, buf, sizeof buf);
    if (not_read == SH_ERROR || not_read > sizeof buf)
        fail("read after seek");
    got = (uint32_t)sizeof buf - not_read;
    if (got != TEXT_LEN - SEEK_TO || !same(buf, TEXT + SEEK_TO, got))
        mismatch("read after seek: different data");
    buf[got - 1] = '\0'; /* drop the newline to print it escaped */
    char line[96];
    char *p = fmt_str(line, "files: after seeking to ");
    p = fmt_udec(p, SEEK_TO);
    p = fmt_str(p, ": \"");
    p = fmt_str(p, buf);
    p = fmt_str(p, "\\n\"\n");
    *p = '\0';
    sh_write0(line);
    if (file_close(h) != 0)
        fail("close after reading");

    /* 5. Delete it; opening it again must now fail. */
    if (file_remove(FILE_NAME) != 0)
        fail("remove");
    h = file_open(FILE_NAME, MODE_R);
    if (h != SH_ERROR) {
        file_close(h);
        mismatch("remove: the file can still be opened");
    }
    sh_write0("files: removed " FILE_NAME "\n");

    sh_write0("files: ok\n");
    return 0;
}
