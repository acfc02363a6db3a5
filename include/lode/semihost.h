/* SPDX-License-Identifier: MIT */
/* Host side of Arm semihosting ("Semihosting for AArch32 and AArch64", v2): the target
 * executes BKPT 0xAB with the operation in R0 and a parameter block address in R1; the
 * debugger performs the operation and puts the result in R0. */
#ifndef LODE_SEMIHOST_H
#define LODE_SEMIHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LODE_SH_SYS_OPEN = 0x01,
    LODE_SH_SYS_CLOSE = 0x02,
    LODE_SH_SYS_WRITEC = 0x03,
    LODE_SH_SYS_WRITE0 = 0x04,
    LODE_SH_SYS_WRITE = 0x05,
    LODE_SH_SYS_READ = 0x06,
    LODE_SH_SYS_READC = 0x07,
    LODE_SH_SYS_ISERROR = 0x08,
    LODE_SH_SYS_ISTTY = 0x09,
    LODE_SH_SYS_SEEK = 0x0A,
    LODE_SH_SYS_FLEN = 0x0C,
    LODE_SH_SYS_CLOCK = 0x10,
    LODE_SH_SYS_TIME = 0x11,
    LODE_SH_SYS_ERRNO = 0x13,
    LODE_SH_SYS_GET_CMDLINE = 0x15,
    LODE_SH_SYS_HEAPINFO = 0x16,
    LODE_SH_SYS_EXIT = 0x18,
    LODE_SH_SYS_EXIT_EXTENDED = 0x20,
    LODE_SH_SYS_ELAPSED = 0x30,
    LODE_SH_SYS_TICKFREQ = 0x31,
};

#define LODE_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* How the semihosting host reaches the target and the console. */
typedef struct lode_semihost_io_s {
    int (*mem_read)(void *ctx, uint32_t addr, void *buf, size_t len);
    int (*mem_write)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /* console output: fd 1 = stdout, 2 = stderr */
    void (*console_write)(void *ctx, int fd, const uint8_t *data, size_t len);
    /* console input: returns bytes read, 0 at end of input, <0 on error */
    long (*console_read)(void *ctx, uint8_t *buf, size_t len);
    /* virtual time in microseconds since the target started */
    uint64_t (*time_us)(void *ctx);
    void *ctx;
} lode_semihost_io_s;

typedef struct lode_semihost_s lode_semihost_s;

int lode_semihost_new(const lode_semihost_io_s *io, const char *cmdline, lode_semihost_s **out);
void lode_semihost_free(lode_semihost_s *sh);

/* Perform one call. *r0 receives the result. When the target asked to exit, *exited is set
 * and *exit_code holds its code (SYS_EXIT: 0 for ApplicationExit, 1 otherwise;
 * SYS_EXIT_EXTENDED: the subcode). Returns LODE_OK or an error (bad parameter block). */
int lode_semihost_call(lode_semihost_s *sh, uint32_t op, uint32_t param, uint32_t *r0,
                       bool *exited, int *exit_code);

#ifdef __cplusplus
}
#endif
#endif
