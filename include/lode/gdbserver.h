/* SPDX-License-Identifier: MIT */
/* A GDB remote-protocol server (the GDB manual's "Remote Protocol" appendix) over one target
 * core (`lode_core_ops_s`), all-stop, one thread. Framing is lode_rsp (rsp.h).
 *
 * Served: qSupported (PacketSize=4000; qXfer:features:read+; qXfer:memory-map:read+ with a
 * chip; QStartNoAckMode+; vContSupported+),
 * qXfer:features:read:target.xml (org.gnu.gdb.arm.m-profile: r0-r12, sp, lr, pc, xpsr as
 * remote registers 0-16; with `fpu`, org.gnu.gdb.arm.vfp: d0-d15 as 17-32 and fpscr as 33;
 * then org.gnu.gdb.arm.m-system msp, psp and primask, basepri, faultmask, control: 17-22, or
 * 34-39 with the FPU), qXfer:memory-map:read and vFlashErase/vFlashWrite/vFlashDone (below),
 * ?, g/G, p/P, m/M/X, Z0/Z1 (both hardware breakpoints), Z2/Z3/Z4 (DWT watchpoints: write,
 * read, access), c/s/C/S, vCont? and vCont;c/s/C/S (signals are ignored), Ctrl-C (0x03) while
 * running (reply T02), qAttached, qC, qfThreadInfo/qsThreadInfo (thread 1), qOffsets (empty:
 * no relocation), qSymbol (OK), H (OK), T (OK), D (detach: breakpoints and watchpoints are
 * removed, the core resumes), k (the connection ends, the core stays as it is), qRcmd monitor
 * commands "reset" (reset and run), "reset halt", "halt", "resume", "help" (output as O
 * packets). Unknown packets get the empty reply.
 *
 * While the core runs the server polls its state every `poll_us` of the core's clock
 * (core->delay_us) and looks at the socket for 0x03 without blocking. A semihosting halt
 * (BKPT 0xAB) is served by `sh` and the core resumed, without GDB seeing it; SYS_EXIT becomes
 * a W (exited) stop reply. Without `sh` such a halt is reported as SIGTRAP. While a client is
 * connected the HardFault vector catch is set (where the core can): a HardFault stops the core
 * as it is taken, the fault report (fault status, faulting pc/lr/xpsr) goes to GDB as console
 * output and the stop reply is SIGSEGV (T0b). The semihosting, watchpoint and fault handling
 * is the halted-core service lode_run uses (src/run/halt.h).
 *
 * A client that connects finds the core halted (halted for it if a previous one left it
 * running). When the client disconnects without D, breakpoints and watchpoints the server set are
 * removed and the core is left as it is. The library never prints: messages go to `log`. */
#ifndef LODE_GDBSERVER_H
#define LODE_GDBSERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/log.h"
#include "lode/rtt.h"
#include "lode/semihost.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lode_target_chip_s;

/* Called once the server listens: the address and the port it is bound to (the real one
 * when port 0 asked for any free port). */
typedef void (*lode_gdbserver_listening_fn)(void *user, const char *addr, int port);

typedef struct lode_gdbserver_config_s {
    const lode_core_ops_s *core;  /* required; bp_set/wp_set may be NULL (Z then unsupported) */
    lode_semihost_s *sh;          /* semihosting host, or NULL */
    /* forward the console/file/time semihosting calls to GDB as File-I/O ("F" requests; the
     * handle of a GDB fd is fd + 1); the rest stays with `sh`. `monitor semihosting gdb|on`
     * switches it at run time. */
    bool sh_gdb;
    bool sh_off;                  /* start with `monitor semihosting off` (BKPT 0xAB -> SIGTRAP) */
    bool fpu;                     /* the core has an FPU: offer d0-d15 and fpscr */
    /* the chip, or NULL: with it the server offers qXfer:memory-map:read (flash regions with
     * their sector sizes as blocksize, and RAM) and GDB's `load` into flash: vFlashErase
     * ranges are collected, vFlashWrite data placed into them, and vFlashDone programs them
     * through lode's flash loader (unchanged sectors skipped, verified) */
    const struct lode_target_chip_s *chip;
    /* RTT while GDB runs the target, or NULL: polled every poll_us (attached when the control
     * block appears), up-channel data handed to rtt_out; `monitor rtt off|on` pauses it */
    lode_rtt_s *rtt;
    lode_rtt_data_fn rtt_out;
    void *rtt_user;
    uint32_t poll_us;             /* state poll period while running; 0 = 1000 */
    /* non-zero ends serving (checked at least every 100 ms of host time while idle and
     * every poll while running): e.g. set from a SIGINT handler */
    volatile int *stop;
    lode_gdbserver_listening_fn on_listening;
    void *user;
    lode_log_s log;
} lode_gdbserver_config_s;

/* Serve one connected client on `fd` (a socket; also works on a pipe pair's read/write fd when
 * they are the same descriptor, e.g. a socketpair) until it detaches (D), kills (k),
 * disconnects or cfg->stop is set. The fd is not closed. Returns LODE_OK, or an error when
 * the target could not be reached (LODE_E_* from the core) or cfg is invalid. */
int lode_gdbserver_serve_fd(const lode_gdbserver_config_s *cfg, int fd);

/* Listen on bind_addr:port (bind_addr NULL = "127.0.0.1": only this machine; give "0.0.0.0"
 * explicitly to accept other hosts) and serve clients one at a time, each until it detaches
 * or disconnects. max_clients: return after serving that many (0: until cfg->stop is set).
 * A client that connects while another is served is accepted and closed at once (GDB reports
 * "Remote connection closed"); a warning names it in the log. Returns LODE_OK when stopped or
 * done, LODE_E_IO (logged) when the address cannot be bound or clients cannot be accepted
 * for about 2 s (e.g. out of descriptors; retried 100 ms apart), LODE_E_INVALID_ARG for a bad
 * address or port, or a target error. */
int lode_gdbserver_listen(const lode_gdbserver_config_s *cfg, const char *bind_addr, int port,
                          unsigned max_clients);

#ifdef __cplusplus
}
#endif
#endif
