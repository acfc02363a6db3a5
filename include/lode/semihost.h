/* SPDX-License-Identifier: MIT */
/* Host side of Arm semihosting ("Semihosting for AArch32 and AArch64", v2): the target
 * executes BKPT 0xAB with the operation in R0 and a parameter block address in R1; the
 * debugger performs the operation and puts the result in R0.
 *
 * Every operation of the specification is served, with both extensions (SH_EXT_EXIT_EXTENDED,
 * SH_EXT_STDOUT_STDERR) reported through the virtual file ":semihosting-features".
 *
 * Host files are confined to a root directory: a path from the firmware is taken relative to
 * the root, and absolute paths, ".." components that climb above the root and symbolic links
 * that resolve outside it are refused (the firmware gets -1 and SYS_ERRNO = EACCES; one
 * warning is logged). SYS_SYSTEM is refused unless the configuration allows it. */
#ifndef LODE_SEMIHOST_H
#define LODE_SEMIHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/log.h"

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
    LODE_SH_SYS_TMPNAM = 0x0D,
    LODE_SH_SYS_REMOVE = 0x0E,
    LODE_SH_SYS_RENAME = 0x0F,
    LODE_SH_SYS_CLOCK = 0x10,
    LODE_SH_SYS_TIME = 0x11,
    LODE_SH_SYS_SYSTEM = 0x12,
    LODE_SH_SYS_ERRNO = 0x13,
    LODE_SH_SYS_GET_CMDLINE = 0x15,
    LODE_SH_SYS_HEAPINFO = 0x16,
    LODE_SH_SYS_EXIT = 0x18,
    LODE_SH_SYS_EXIT_EXTENDED = 0x20,
    LODE_SH_SYS_ELAPSED = 0x30,
    LODE_SH_SYS_TICKFREQ = 0x31,
};

/* SYS_OPEN modes: the ISO C fopen() mode with the same index. */
enum {
    LODE_SH_OPEN_R = 0, LODE_SH_OPEN_RB, LODE_SH_OPEN_RPLUS, LODE_SH_OPEN_RPLUSB,
    LODE_SH_OPEN_W, LODE_SH_OPEN_WB, LODE_SH_OPEN_WPLUS, LODE_SH_OPEN_WPLUSB,
    LODE_SH_OPEN_A, LODE_SH_OPEN_AB, LODE_SH_OPEN_APLUS, LODE_SH_OPEN_APLUSB,
};

/* Feature byte 0 of ":semihosting-features" (the file is "SHFB" + this byte). */
#define LODE_SH_FEATURE_EXIT_EXTENDED 0x01u
#define LODE_SH_FEATURE_STDOUT_STDERR 0x02u

#define LODE_SH_ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u
#define LODE_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* Bounds on what the firmware can ask for. */
#define LODE_SH_MAX_HANDLES 64   /* open handles (files, ":tt", features) at once */
#define LODE_SH_MAX_STRING 4096  /* path / command length, in bytes */
#define LODE_SH_CHUNK 4096       /* SYS_READ / SYS_WRITE move data in chunks of this size */

/* How the semihosting host reaches the target and the console. */
typedef struct lode_semihost_io_s {
    int (*mem_read)(void *ctx, uint32_t addr, void *buf, size_t len);
    int (*mem_write)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /* console output: fd 1 = stdout, 2 = stderr (NULL: output is dropped) */
    void (*console_write)(void *ctx, int fd, const uint8_t *data, size_t len);
    /* console input: returns bytes read, 0 at end of input, <0 on error (NULL: no input) */
    long (*console_read)(void *ctx, uint8_t *buf, size_t len);
    /* time in microseconds since the target started (virtual time for the simulator);
     * NULL: the host's monotonic clock */
    uint64_t (*time_us)(void *ctx);
    void *ctx;
} lode_semihost_io_s;

typedef struct lode_semihost_config_s {
    lode_semihost_io_s io; /* required: mem_read and mem_write (see lode_semihost_io_core) */
    const char *cmdline;  /* what SYS_GET_CMDLINE returns; NULL = "" */
    const char *root;     /* directory files are confined to; NULL = current dir */
    bool allow_system;    /* serve SYS_SYSTEM (host shell, run in root); default: refused */
    lode_log_s log;       /* warnings: refused paths/commands, unknown operations */
} lode_semihost_config_s;

typedef struct lode_semihost_s lode_semihost_s;

/* Create a semihosting host. Fields left zero take their defaults; cfg->io must have
 * mem_read and mem_write (LODE_E_INVALID_ARG otherwise). The root must be an existing
 * directory (LODE_E_NO_DEVICE / LODE_E_INVALID_ARG otherwise, with one logged error). */
int lode_semihost_new(const lode_semihost_config_s *cfg, lode_semihost_s **out);
/* The target side of the I/O over a core: mem_read, mem_write and time_us (the core's clock)
 * through `core` (borrowed: it must outlive the host; it becomes io.ctx). console_write and
 * console_read are left NULL for the caller to fill in (they receive `core` as ctx). */
lode_semihost_io_s lode_semihost_io_core(const lode_core_ops_s *core);
/* Closes every host file the firmware left open. Accepts NULL. */
void lode_semihost_free(lode_semihost_s *sh);

/* Target memory the caller has already read (e.g. with the halt state, in one probe round
 * trip): the next lode_semihost_call reads [addr, addr + len) from it instead of the target,
 * until the call ends or writes target memory. At most LODE_SH_PREFETCH_MAX bytes. */
#define LODE_SH_PREFETCH_MAX 128u
void lode_semihost_prefetch(lode_semihost_s *sh, uint32_t addr, const void *data, size_t len);
/* How many bytes at r1 operation `op` reads, worth reading ahead: its parameter block (1 to 4
 * words), the WRITEC byte (1), LODE_SH_PREFETCH_MAX for WRITE0 (a string of unknown length:
 * all of it may not be readable), 0 when r1 is not a pointer. */
uint32_t lode_semihost_param_bytes(uint32_t op);

/* Perform one call. *r0 receives the result. When the target asked to exit, *exited is set
 * and *exit_code holds its code (SYS_EXIT: 0 for ApplicationExit, 1 otherwise;
 * SYS_EXIT_EXTENDED: the subcode for ApplicationExit, else the subcode or 1 if it is 0).
 * Failures of the operation itself (missing file, refused path, bad handle ...) are results
 * for the firmware (-1 and SYS_ERRNO, as the specification says), not errors here.
 * Returns LODE_OK, or an error when target memory named by the call cannot be accessed
 * (bad parameter block or buffer: typically LODE_E_FAULT from io->mem_read/mem_write). */
int lode_semihost_call(lode_semihost_s *sh, uint32_t op, uint32_t param, uint32_t *r0,
                       bool *exited, int *exit_code);

/* The last exit the firmware asked for, as it gave it: the reason (ADP_Stopped_*) and, for
 * SYS_EXIT_EXTENDED, the 32-bit subcode (0 for SYS_EXIT). Both 0 before any exit. */
void lode_semihost_exit_status(const lode_semihost_s *sh, uint32_t *reason, uint32_t *value);
/* The specification's name of an ADP_Stopped_* reason ("ApplicationExit",
 * "RunTimeErrorUnknown", ...), NULL for a code it does not define. */
const char *lode_semihost_reason_name(uint32_t reason);

/* Serve one GDB File-I/O request (GDB remote protocol "File-I/O Remote Protocol Extension"),
 * as a GDB server that does the semihosting itself sends them (QEMU with
 * -semihosting-config target=gdb): `req` is the packet without its 'F' ("write,1,20001000,d"),
 * `reply` receives the answer to send ("Fd", "F-1,2"). write/read on fds 0-2 are the console
 * (writes to 1 and 2 both go to console fd 1: QEMU sends its whole console as fd 2);
 * open/close/read/write/lseek/isatty/fstat/stat/unlink/rename are host files under the root
 * (same confinement as SYS_OPEN), gettimeofday, and system as SYS_SYSTEM. Failures of the
 * call are replies with the protocol's errno; LODE_OK, or an error when target memory named
 * by the request cannot be accessed. */
int lode_semihost_fileio(lode_semihost_s *sh, const char *req, char *reply, size_t cap);

/* ---- the firmware's command line (SYS_GET_CMDLINE) ------------------------------------------
 * The host hands the firmware one string; the firmware's C library splits it into argv before
 * main. How it splits decides how the host must quote. */
typedef enum lode_sh_cmdline_style_e {
    /* newlib's rdimon crt0 (and lode's example firmware): words separated by spaces (not tabs);
     * a word that starts with " or ' runs to the same quote character, which is dropped; no
     * escapes. argv[0] is the first word. */
    LODE_SH_CMDLINE_QUOTED = 0,
    /* picolibc's semihosting crt0: words separated by spaces, no quoting at all; argv[0] is
     * the library's own, so the line holds only the arguments. */
    LODE_SH_CMDLINE_WORDS,
} lode_sh_cmdline_style_e;

struct lode_image_s;
/* The style the firmware's C library expects, from its symbols: picolibc's semihosting crt0
 * (sys_semihost_get_cmdline without newlib's initialise_monitor_handles) splits WORDS,
 * anything else QUOTED. */
lode_sh_cmdline_style_e lode_semihost_cmdline_style(const struct lode_image_s *img);
/* Build the command line that `style` splits back into prog, args[0..nargs-1] (prog is left
 * out for WORDS). *out is malloc'ed (free it). LODE_E_INVALID_ARG when an argument cannot be
 * carried: *bad is its index and *why says why (a static string). */
int lode_semihost_cmdline_build(lode_sh_cmdline_style_e style, const char *prog, const char *const *args,
                                size_t nargs, char **out, size_t *bad, const char **why);

#ifdef __cplusplus
}
#endif
#endif
