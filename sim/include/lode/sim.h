/* SPDX-License-Identifier: MIT (this header); binaries linking liblode-sim link Unicorn (GPL-2.0). */
/* liblode-sim: a simulated board — a Cortex-M core (Unicorn) with modeled chips, debug
 * components and an ADIv5 SW-DP, on a deterministic virtual clock. */
#ifndef LODE_SIM_H
#define LODE_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/error.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_sim_s lode_sim_s;

/* Bytes leaving the chip through a UART: `port` is e.g. "USART1" or "UARTE0". */
typedef void (*lode_sim_output_fn)(void *user, const char *port, const uint8_t *data, size_t len);

typedef struct lode_sim_config_s {
    const char *chip;             /* "STM32F103C8" or "nRF52840_xxAA" (case-insensitive) */
    lode_log_s log;               /* where the sim's log goes (may be zeroed) */
    lode_sim_output_fn output;    /* UART output (may be NULL) */
    void *output_user;
    uint32_t seed;                /* PRNG seed for fault injection (0 = default) */
    uint32_t swd_hz;              /* SWD clock for wire-time accounting (0 = 4 MHz) */
} lode_sim_config_s;

/* Names of the chips the sim models, NULL-terminated. */
const char *const *lode_sim_chips(void);

int lode_sim_new(const lode_sim_config_s *cfg, lode_sim_s **out);
void lode_sim_free(lode_sim_s *sim);

/* Chip facts. */
const char *lode_sim_chip_name(const lode_sim_s *sim);
uint32_t lode_sim_cpu_hz(const lode_sim_s *sim);

/* ---- loading (a "factory programmer" back door: writes flash/RAM without the controllers) -- */
/* Load an ELF file's PT_LOAD segments at their load addresses, or raw bytes at an address.
 * Flash bytes are programmed NOR-style (AND); anything outside memory is LODE_E_RANGE. */
int lode_sim_load_elf(lode_sim_s *sim, const char *path);
int lode_sim_load(lode_sim_s *sim, uint32_t addr, const uint8_t *data, size_t len);
/* Erase the flash pages that cover [addr, addr+len) (back door; LODE_E_RANGE outside flash). */
int lode_sim_flash_erase(lode_sim_s *sim, uint32_t addr, uint32_t len);
/* The main (first) flash array's address and size. */
int lode_sim_flash_range(lode_sim_s *sim, uint32_t *base, uint32_t *size);
/* Erase all flash arrays (back door). */
void lode_sim_erase_all(lode_sim_s *sim);
/* Non-volatile state (every flash array) to and from a file, so a simulated board keeps its
 * flash between processes.
 * Only a lode state file is ever read or replaced: lode_sim_state_check gives LODE_OK for a
 * path that does not exist, an empty regular file or a regular file starting with the state
 * file's magic (any version), and LODE_E_INVALID_ARG for anything else (a symlink, a device,
 * a directory, a file of other content), LODE_E_IO when it cannot be examined.
 * Load: LODE_E_INVALID_ARG as the check (the board untouched), LODE_E_NO_DEVICE if the file
 * does not exist or is empty, LODE_E_FORMAT if it is a state file of another version or chip
 * (the board is then left erased, and a save replaces it).
 * Save: a temporary file beside PATH, renamed over it; LODE_E_IO (PATH untouched) when PATH
 * may not be replaced or the file cannot be written. */
int lode_sim_state_check(const char *path);
int lode_sim_state_save(const lode_sim_s *sim, const char *path);
int lode_sim_state_load(lode_sim_s *sim, const char *path);

/* One board, one user at a time: a lock on PATH.lock (POSIX record lock, released when the
 * process ends). Users that only read the board take it shared, users that save it take it
 * exclusive and write "PID WHAT" into the lock file for whoever waits. */
typedef struct lode_sim_lock_s lode_sim_lock_s;
typedef struct lode_sim_lock_config_s {
    const char *path;             /* the state file */
    bool exclusive;               /* false: shared with other readers */
    bool wait;                    /* block until free (else LODE_E_STATE at once) */
    const char *what;             /* e.g. "lode gdb": shown to whoever waits */
    bool server;                  /* the holder stays (a server): others should not wait */
} lode_sim_lock_config_s;
typedef struct lode_sim_lock_holder_s {
    long pid;                     /* 0 if unknown */
    char what[96];                /* its description, "" if unknown */
    bool server;
} lode_sim_lock_holder_s;
/* LODE_OK, LODE_E_STATE when held by another process (holder filled when not NULL),
 * LODE_E_INVALID_ARG when PATH.lock is not a regular file, LODE_E_IO. */
int lode_sim_state_lock(const lode_sim_lock_config_s *cfg, lode_sim_lock_s **out, lode_sim_lock_holder_s *holder);
void lode_sim_state_unlock(lode_sim_lock_s *lock);

/* ---- running ------------------------------------------------------------------------------ */
typedef enum lode_sim_stop_e {
    LODE_SIM_STOP_BUDGET = 0,  /* the time budget ran out, core still running */
    LODE_SIM_STOP_HALTED,      /* core entered debug halt (see DFSR / lode_sim_halt_reason) */
    LODE_SIM_STOP_LOCKUP,      /* core is locked up (fault in HardFault / NMI) */
    LODE_SIM_STOP_ERROR,       /* the CPU backend failed (log says why) */
} lode_sim_stop_e;

/* Run the board for at most `budget_ps` picoseconds of virtual time (the core, timers,
 * flash operations, idle time in WFI). Stops early when the core halts. */
lode_sim_stop_e lode_sim_run(lode_sim_s *sim, uint64_t budget_ps);
uint64_t lode_sim_now(const lode_sim_s *sim);            /* virtual ps since power-on */
uint64_t lode_sim_instructions(const lode_sim_s *sim);   /* instructions retired */
/* Times the board handed the core to the CPU emulator so far: the host's fixed cost per
 * stretch of code (a measure for tests and benchmarks, not of virtual time) */
uint64_t lode_sim_cpu_runs(const lode_sim_s *sim);
/* Busy-wait fast-forward: when the core polls a register whose value can only change at the
 * next scheduled event (flash BSY/READY, a UART flag, a timer's update flag) in a loop that
 * stores nothing and comes back to the same state, the iterations up to that event are
 * counted and timed without being executed. Figures are identical with it on or off (on by
 * default); only host time differs. lode_sim_fast_forwarded: instructions skipped so far. */
void lode_sim_set_fast_forward(lode_sim_s *sim, bool on);
uint64_t lode_sim_fast_forwarded(const lode_sim_s *sim);

/* Power-on reset: core, peripherals and debug logic reset; RAM keeps its contents. */
void lode_sim_power_on_reset(lode_sim_s *sim);

/* ---- core and memory back door (what a perfect debugger would see) ------------------------ */
/* Register numbers follow DCRSR.REGSEL: 0-12 R0-R12, 13 SP, 14 LR, 15 DebugReturnAddress (PC),
 * 16 xPSR, 17 MSP, 18 PSP, 20 CONTROL/FAULTMASK/BASEPRI/PRIMASK packed, 33 FPSCR, 64-95 S0-S31. */
int lode_sim_reg_read(lode_sim_s *sim, unsigned regsel, uint32_t *val);
int lode_sim_reg_write(lode_sim_s *sim, unsigned regsel, uint32_t val);
/* Bus reads/writes as the AHB-AP performs them (peripherals and debug registers included). */
int lode_sim_mem_read(lode_sim_s *sim, uint32_t addr, void *buf, size_t len);
int lode_sim_mem_write(lode_sim_s *sim, uint32_t addr, const void *buf, size_t len);
int lode_sim_read32(lode_sim_s *sim, uint32_t addr, uint32_t *val);
int lode_sim_write32(lode_sim_s *sim, uint32_t addr, uint32_t val);
bool lode_sim_halted(const lode_sim_s *sim);

/* ---- SWO ---------------------------------------------------------------------------------- */
/* ITM output as an SWO byte stream in ITM packet format. Returns bytes copied and removes them. */
size_t lode_sim_swo_read(lode_sim_s *sim, uint8_t *buf, size_t len);

/* ---- SW-DP at the transfer level --------------------------------------------------------- */
enum { LODE_SWD_ACK_OK = 1, LODE_SWD_ACK_WAIT = 2, LODE_SWD_ACK_FAULT = 4, LODE_SWD_ACK_NONE = 7 };
/* One SWD transfer: APnDP, RnW, A[3:2] as a byte address (0,4,8,0xC), data in/out.
 * Returns an ACK value. Charges the wire time of one transfer to the virtual clock. */
int lode_sim_swd_transfer(lode_sim_s *sim, bool apndp, bool rnw, uint8_t a, uint32_t *data);
/* SWJ sequences: `bits` clock cycles with SWDIO driven by `data` (LSB first): line reset
 * (>=50 ones), the JTAG-to-SWD select sequence, idle cycles. */
void lode_sim_swj_sequence(lode_sim_s *sim, unsigned bits, const uint8_t *data);
/* Drive the nRST pin: asserting it holds the chip in reset, releasing it starts it. */
void lode_sim_nrst(lode_sim_s *sim, bool asserted);
void lode_sim_set_swd_hz(lode_sim_s *sim, uint32_t hz);
/* Charge time spent elsewhere (a simulated USB frame) to the virtual clock; the core runs. */
void lode_sim_advance(lode_sim_s *sim, uint64_t ps);

/* ---- SWD at the bit level (swdwire.c) ------------------------------------------------------ */
/* The board's SW-DP seen through its SWDIO/SWCLK pins, cycle by cycle, as the target's
 * serial engine sees them (ADIv5.2 B4/B5): requests are parsed only in SWD mode after a line
 * reset (in JTAG mode, lockout or dormant state the target only watches for line resets and
 * select sequences), a header with a bad parity, stop or park bit is a protocol error (no
 * response, lockout until a line reset), one turnaround cycle, ACK OK/WAIT/FAULT LSB first,
 * read data + parity driven by the target, write data parity checked (a bad one drops the
 * write and sets WDATAERR), the data phase after WAIT/FAULT only with ORUNDETECT. Optional:
 * dormant state (SWD-to-dormant 0xE3BC, JTAG-to-dormant 0x33BBBBBA, selection alert +
 * activation code 0x1A / 0x00A) and SWD protocol version 2 multidrop (TARGETSEL in the
 * reset state: no ACK driven, TARGETID[27:0] and TINSTANCE compared, a mismatch deselects
 * until the next line reset). The board's injections (WAIT, fault range, disconnect, reset
 * after N transfers) apply. Each cycle costs one SWD clock of virtual time.
 * It is also the test oracle for a host-side SWD encoder: the event callback reports what
 * the target understood. */
typedef struct lode_sim_swdwire_s lode_sim_swdwire_s;

typedef enum lode_sim_swd_ev_e {
    LODE_SIM_SWD_EV_LINE_RESET = 1, /* the 50th consecutive host 1 (once per run of ones) */
    LODE_SIM_SWD_EV_TRANSFER,       /* a header was accepted; ack NONE: the DP did not answer */
    LODE_SIM_SWD_EV_PROTOCOL_ERROR, /* a header with a bad parity/stop/park bit */
    LODE_SIM_SWD_EV_TARGETSEL,      /* a TARGETSEL write (multidrop): data, selected */
    LODE_SIM_SWD_EV_TO_DORMANT,     /* SWD-to-dormant or JTAG-to-dormant (dormant) */
    LODE_SIM_SWD_EV_DORMANT_TO_SWD, /* selection alert + SWD activation code (dormant) */
    LODE_SIM_SWD_EV_DORMANT_TO_JTAG,
} lode_sim_swd_ev_e;

typedef struct lode_sim_swd_event_s {
    lode_sim_swd_ev_e kind;
    uint64_t cycle;       /* cycle of the header's start bit (others: of the event), from 0 */
    bool apndp, rnw;
    uint8_t a;            /* A[3:2] as a byte address */
    int ack;              /* LODE_SWD_ACK_*; NONE when nobody drove the ACK */
    uint32_t data;        /* read data (as the target sent it) or write/TARGETSEL data */
    bool data_phase;      /* a data phase took place */
    bool parity_ok;       /* its parity bit was right */
    bool selected;        /* TARGETSEL: this target matched */
    uint8_t header;       /* the 8 request bits, first bit in bit 0 */
} lode_sim_swd_event_s;
typedef void (*lode_sim_swd_event_fn)(void *user, const lode_sim_swd_event_s *ev);

typedef struct lode_sim_swdwire_config_s {
    bool dormant;         /* the DP has dormant state (ADIv5.2 SWJ-DP); the STM32F1's SWJ-DP and
                           * the nRF52's SW-DP do not (false) */
    bool multidrop;       /* SWD protocol version 2: TARGETSEL */
    uint32_t targetid;    /* TARGETSEL match: bits 27:0 */
    uint8_t instance;     /* TINSTANCE, 0-15 */
    lode_sim_swd_event_fn event; /* may be NULL */
    void *event_user;
} lode_sim_swdwire_config_s;

typedef struct lode_sim_swdwire_stats_s {
    uint64_t cycles, transfers, line_resets, protocol_errors;
    uint64_t parity_errors; /* write data with a wrong parity bit */
    uint64_t contentions;   /* cycles in which host and target both drove SWDIO */
} lode_sim_swdwire_stats_s;

/* The wire borrows `sim` (it must outlive the wire). cfg may be NULL (defaults). */
int lode_sim_swdwire_new(lode_sim_s *sim, const lode_sim_swdwire_config_s *cfg, lode_sim_swdwire_s **out);
void lode_sim_swdwire_free(lode_sim_swdwire_s *w);
/* `n` clock cycles. Bit i (LSB first) of dir: the host drives SWDIO in cycle i with bit i of
 * out; 0: its driver is off. Bit i of line (may be NULL) receives the level of SWDIO in cycle
 * i: the host's bit, the target's, or 1 (pull-up) when nobody drives. */
void lode_sim_swdwire_clock(lode_sim_swdwire_s *w, size_t n, const uint8_t *dir, const uint8_t *out,
                            uint8_t *line);
/* The level the target drives in the next cycle, -1 if it does not drive then. */
int lode_sim_swdwire_next(const lode_sim_swdwire_s *w);
/* True when the next cycle belongs to the host (not a turnaround or target phase). */
bool lode_sim_swdwire_host_turn(const lode_sim_swdwire_s *w);
void lode_sim_swdwire_stats(const lode_sim_swdwire_s *w, lode_sim_swdwire_stats_s *out);
/* Fault injection: the next `reads` read data phases ACKed OK carry a wrong parity bit. */
void lode_sim_swdwire_inject_parity(lode_sim_swdwire_s *w, unsigned reads);

/* ---- running a program like a host program ---------------------------------------------- */
struct lode_semihost_s;

typedef struct lode_sim_program_result_s {
    bool exited;          /* the firmware exited through semihosting */
    int exit_code;        /* its exit code (valid when exited) */
    lode_sim_stop_e stop; /* why the run ended otherwise */
    uint32_t pc;          /* PC when the run ended */
    uint32_t dfsr;        /* DFSR when the core halted */
} lode_sim_program_result_s;

/* Enable debug (so BKPT halts), then run until the firmware exits through semihosting,
 * serving each BKPT 0xAB with `sh`, or until `limit_ps` of virtual time since power-on.
 * Returns LODE_OK when the firmware exited, LODE_E_TIMEOUT at the limit, LODE_E_STATE when
 * the core halted for another reason or locked up (see res), or the semihosting error. */
int lode_sim_run_program(lode_sim_s *sim, struct lode_semihost_s *sh, uint64_t limit_ps,
                         lode_sim_program_result_s *res);

/* Glue for lode_semihost_io_s: memory access and virtual time of a sim (ctx = the sim). */
int lode_sim_sh_mem_read(void *sim, uint32_t addr, void *buf, size_t len);
int lode_sim_sh_mem_write(void *sim, uint32_t addr, const void *buf, size_t len);
uint64_t lode_sim_sh_time_us(void *sim);

/* The board's core as a lode_core_ops_s through the back door (no debug port traffic, no
 * wire time): for tests and for running firmware directly. ops->ctx = sim. */
struct lode_core_ops_s;
void lode_sim_core_ops(lode_sim_s *sim, struct lode_core_ops_s *ops);

/* ---- fault injection (for tests) ------------------------------------------------------------ */
void lode_sim_inject_wait(lode_sim_s *sim, unsigned transfers);   /* next N AP/DP transfers ACK WAIT */
void lode_sim_inject_fault_range(lode_sim_s *sim, uint32_t lo, uint32_t hi); /* DAP accesses in [lo,hi] fault; lo>hi clears */
void lode_sim_inject_reset_after(lode_sim_s *sim, unsigned transfers); /* system reset after N more SWD transfers (0 clears) */
void lode_sim_inject_power_loss(lode_sim_s *sim, unsigned nth_flash_op); /* lose power during the Nth next program/erase (1 = next) */
void lode_sim_inject_disconnect(lode_sim_s *sim, bool disconnected); /* SWD wires off: every transfer gets no ACK */

/* ---- simulated CMSIS-DAP probe (sim_cmsis_dap.c) ------------------------------------------- */
/* A CMSIS-DAP probe attached to the board's SWD port: a command processor with the firmware's
 * semantics (AP reads posted on the wire, WAIT retried per DAP_TransferConfigure, a batch
 * stops at the first non-OK ACK, the last write checked with an RDBUFF read) and a USB timing
 * model charged to the board's virtual clock:
 *  - v1 (HID, full speed): packets travel in 1 ms frames, one OUT and one IN report per frame;
 *  - v2 (bulk, high speed): 125 us microframes, one OUT and one IN packet per microframe.
 * A packet larger than the USB packet (64 / 512 bytes) takes one (micro)frame per USB packet.
 * A command goes out in the first free frame at or after the write; the probe executes it
 * when it has arrived (end of that frame) and the previous command is done, spending the SWD
 * wire time on the board's clock; its response is delivered at the first free frame
 * boundary at or after the end of execution. One command's round trip is two (micro)frames.
 * The probe holds packet_count commands (written, response not yet read); a further write
 * fails with LODE_E_TIMEOUT (a real probe NAKs it). DAP_QueueCommands packets are held until
 * a packet without it arrives; DAP_TransferAbort is taken at once and has no response. */
typedef struct lode_sim_dap_s lode_sim_dap_s;
struct lode_transport_s;

typedef struct lode_sim_dap_config_s {
    int version;            /* 1: HID full speed, 2: bulk high speed */
    uint16_t packet_size;   /* DAP packet size (0: 64 for v1, 512 for v2); 16..4096 */
    uint8_t packet_count;   /* commands the probe buffers (0: 4) */
    const char *vendor;     /* DAP_Info strings (NULL: a default; "" : not available) */
    const char *product;    /* default "lode simulated CMSIS-DAP" */
    const char *serial;
    const char *protocol_version; /* default "2.1.1" */
    const char *fw_version;
    uint16_t caps;          /* DAP_Info capabilities (0: SWD | SWO UART | atomic = 0x0015;
                             * SWO: DAP_SWO_Transport/Mode/Baudrate/Control/Status/Data in UART
                             * mode through DAP_SWO_Data, a 4 KiB trace buffer) */
    lode_log_s log;         /* the probe's log (may be zeroed) */
} lode_sim_dap_config_s;

/* The probe borrows `sim` (it must outlive the probe). */
int lode_sim_dap_new(lode_sim_s *sim, const lode_sim_dap_config_s *cfg, lode_sim_dap_s **out);
void lode_sim_dap_free(lode_sim_dap_s *p);

/* One command in, one response out, as the firmware's command processor does (no USB time;
 * the SWD wire time is charged). *resp_len = 0 for a command without a response
 * (DAP_TransferAbort). A DAP_QueueCommands packet is executed at once like
 * DAP_ExecuteCommands (the holding is done by the USB model). Unknown or malformed
 * commands answer 0xFF, and so does a command whose response would not fit min(cap, packet
 * size). Returns LODE_OK, or LODE_E_INVALID_ARG for bad pointers, an empty request or one
 * longer than the packet size. */
int lode_sim_dap_process(lode_sim_dap_s *p, const uint8_t *req, size_t len, uint8_t *resp,
                         size_t cap, size_t *resp_len);

/* USB model (see above). usb_write blocks until the packet has gone out (the clock advances
 * to the end of its frame(s)). usb_read waits (advancing the clock) for the next response:
 * v1 responses are HID reports zero-padded to the packet size (truncated to cap), v2 exact
 * (LODE_E_IO when cap is too small). LODE_E_TIMEOUT when no response is coming. */
int lode_sim_dap_usb_write(lode_sim_dap_s *p, const uint8_t *data, size_t len);
int lode_sim_dap_usb_read(lode_sim_dap_s *p, uint8_t *buf, size_t cap, size_t *got);
/* Command packets the probe has accepted through lode_sim_dap_usb_write (0 for NULL). */
uint64_t lode_sim_dap_packets(const lode_sim_dap_s *p);

/* The probe as an in-process transport (kind LODE_TRANSPORT_INPROC, packet_size from the
 * config) over the USB model. Close it with lode_transport_close() before freeing `p`. */
int lode_sim_dap_transport(lode_sim_dap_s *p, struct lode_transport_s **out);


/* ---- simulated ST-Link/V2 (sim_stlink.c, stlink_server.c) ----------------------------------- */
/* An ST-Link/V2 (USB 0483:3748, firmware V2J37S7 unless configured otherwise) attached to the
 * board's SWD port: the firmware's command processor (DP/AP register access, memory commands
 * with AP and CSW, Cortex-M register helpers, NRST, SWD clock, SWO capture) and a full-speed
 * USB timing model charged to the board's virtual clock:
 *  - 1 ms frames of 19 bulk packets of 64 bytes (one packet slot = 1/19 ms);
 *  - a new command from the host starts at the next frame boundary (the host controller
 *    schedules a newly submitted transfer in the next frame); the 16-byte command and its
 *    OUT data go out back to back in packet slots;
 *  - the probe executes when the data has arrived, spending SWD wire time on the board's
 *    clock, and its IN data follows in the next free packet slots.
 * A short command therefore costs one frame (1 ms) per round trip, a 1 KiB write about one
 * frame plus its SWD time. One command is in flight at a time (the ST-Link has no queue).
 * The V3 variant uses the same rules on high-speed microframes (125 us, 13 x 512 bytes). */
typedef struct lode_sim_stlink_s lode_sim_stlink_s;
struct lode_stlink_io_s;

typedef struct lode_sim_stlink_config_s {
    uint8_t hw_version;   /* 2 (default): ST-Link/V2, USB 0483:3748, full speed; 3: STLINK-V3E,
                           * 0483:374E, high speed (125 us microframes, 512-byte packets) */
    uint8_t jtag_version; /* J version reported (0: 37 for V2, 7 for V3). Older firmware lacks
                           * the commands that came later (J13 trace, J15 RW status 2, J22 SWD
                           * clock, J24 DAP registers, J26 16-bit memory, J28 AP init, J32 AP
                           * and CSW in memory commands) and answers them as unknown */
    const char *serial;   /* USB serial (NULL: "LODESIMSTLINK0000001") */
    lode_log_s log;
} lode_sim_stlink_config_s;

typedef struct lode_sim_stlink_stats_s {
    uint64_t commands;     /* commands (and trace reads) processed */
    uint64_t mem_commands; /* memory accesses the firmware made on the AP */
} lode_sim_stlink_stats_s;

int lode_sim_stlink_new(lode_sim_s *sim, const lode_sim_stlink_config_s *cfg, lode_sim_stlink_s **out);
void lode_sim_stlink_free(lode_sim_stlink_s *p);
/* One USB command (16 bytes) with its data phase, as lode_stlink_io_s.xfer; replies shorter
 * than `len` are zero padded. Unknown commands are logged once and answer zeros. */
int lode_sim_stlink_command(lode_sim_stlink_s *p, const uint8_t cmd[16], int dir, uint8_t *data,
                            size_t len);
/* A read of `len` bytes from the trace endpoint (captured SWO, zero padded). */
int lode_sim_stlink_trace(lode_sim_stlink_s *p, uint8_t *buf, size_t len);
/* The probe as an in-process lode_stlink_io_s (io->close is NULL; free the probe yourself). */
void lode_sim_stlink_io(lode_sim_stlink_s *p, struct lode_stlink_io_s *io);
void lode_sim_stlink_stats(const lode_sim_stlink_s *p, lode_sim_stlink_stats_s *out);
const char *lode_sim_stlink_serial(const lode_sim_stlink_s *p);
lode_sim_s *lode_sim_stlink_board(const lode_sim_stlink_s *p);
uint16_t lode_sim_stlink_pid(const lode_sim_stlink_s *p);

/* The stlink-server TCP protocol in front of one simulated ST-Link (see
 * src/probe/stlink/stlink_tcp.c for the message layouts). Several clients may connect; one at a
 * time may open the ST-Link (the others see it "in use"). The protocol state of one client
 * connection, without sockets (for the server and for fuzzing): */
typedef struct lode_sim_stlink_conn_s lode_sim_stlink_conn_s;
typedef struct lode_sim_stlink_session_s {
    unsigned id;               /* connection number, from 1 */
    uint64_t commands;         /* USB commands while the ST-Link was open */
    uint64_t virtual_ps;       /* board time from open to close */
} lode_sim_stlink_session_s;
typedef void (*lode_sim_stlink_session_fn)(void *user, const lode_sim_stlink_session_s *s);

/* Consume requests from `in` (n bytes; *used = bytes consumed, a partial request is left),
 * append replies to `out` (cap bytes; *out_len = bytes written). Returns LODE_OK, or
 * LODE_E_PROTOCOL when the client sent something that is not a request (drop it). */
int lode_sim_stlink_conn_feed(lode_sim_stlink_conn_s *c, const uint8_t *in, size_t n, size_t *used,
                              uint8_t *out, size_t cap, size_t *out_len);

typedef struct lode_sim_stlink_server_s lode_sim_stlink_server_s;
/* Listen on bind:port (bind NULL = 127.0.0.1; port 0 = any free port; bind "" = no socket at
 * all, for lode_sim_stlink_conn_new only). */
int lode_sim_stlink_server_new(lode_sim_stlink_s *p, const char *bind, uint16_t port,
                               const lode_log_s *log, lode_sim_stlink_server_s **out);
uint16_t lode_sim_stlink_server_port(const lode_sim_stlink_server_s *s);
/* Called when a client closes the ST-Link (or disconnects with it open). */
void lode_sim_stlink_server_on_session(lode_sim_stlink_server_s *s, lode_sim_stlink_session_fn fn,
                                       void *user);
/* Serve for at most `timeout_ms` (-1: until one event was handled). */
int lode_sim_stlink_server_poll(lode_sim_stlink_server_s *s, int timeout_ms);
void lode_sim_stlink_server_free(lode_sim_stlink_server_s *s);
/* For fuzzing: a connection object not attached to a socket. */
lode_sim_stlink_conn_s *lode_sim_stlink_conn_new(lode_sim_stlink_server_s *s);
void lode_sim_stlink_conn_free(lode_sim_stlink_conn_s *c);

/* ---- the STM32 system bootloader on USART1 (sim_an3155.c) ----------------------------------- */
/* The STM32F103's system-memory bootloader as a board started with BOOT0 high runs it: ST's
 * AN3155 protocol (bootloader version 2.2 on F1: Get, Get Version & Read Protection Status,
 * Get ID, Read Memory, Go, Write Memory, Erase 0x43, Write Protect/Unprotect, Readout
 * Protect/Unprotect), modelled in C from AN3155 (the core is held while it runs; no ARM code).
 * It programs the board's flash through the FPEC's registers, so every page erase and
 * half-word takes the FPEC's time on the virtual clock; each byte on the line takes one 8E1
 * frame (11 bits) at the line's baud. A line cannot carry parity here (a pseudo-terminal has
 * none): the model takes the bytes as they come. After Go the core runs the application and
 * host bytes go to USART1's receiver. */
typedef struct lode_sim_an3155_s lode_sim_an3155_s;
typedef struct lode_sim_an3155_config_s {
    uint8_t version;          /* bootloader version (0: 0x22, the F1's) */
    bool extended_erase;      /* offer Extended Erase 0x44 instead of Erase 0x43 (version 3.x
                                 bootloaders of later chips); a model variant for tests */
    unsigned baud;            /* the line's speed for the virtual clock (0: 115200) */
    lode_log_s log;
} lode_sim_an3155_config_s;
typedef struct lode_sim_an3155_stats_s {
    uint64_t bytes_in, bytes_out;   /* since the last reset */
    uint64_t session_ps;            /* virtual time since the last reset */
    unsigned sessions;              /* resets so far */
} lode_sim_an3155_stats_s;

/* The model borrows sim (an STM32F103; LODE_E_UNSUPPORTED for another chip). It starts as after
 * a reset with BOOT0 high: waiting for 0x7F. */
int lode_sim_an3155_new(lode_sim_s *sim, const lode_sim_an3155_config_s *cfg, lode_sim_an3155_s **out);
void lode_sim_an3155_free(lode_sim_an3155_s *m); /* accepts NULL */
/* Reset with BOOT0 high (what an adapter's RESET line does): back to the bootloader. */
void lode_sim_an3155_reset(lode_sim_an3155_s *m);
void lode_sim_an3155_set_baud(lode_sim_an3155_s *m, unsigned baud);
/* Bytes from the host, in order; the bootloader's answers are appended to out (cap bytes, at
 * least 300; *out_len). After Go the bytes go to USART1 and the application's output comes back
 * through lode_sim_an3155_app_output. */
int lode_sim_an3155_feed(lode_sim_an3155_s *m, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len);
/* Has Go started the application? */
bool lode_sim_an3155_running(const lode_sim_an3155_s *m);
void lode_sim_an3155_stats(const lode_sim_an3155_s *m, lode_sim_an3155_stats_s *out);
/* Serve one host connection on fd (a socket pair end, the pty master): a reset, then bytes each
 * way until the host closes or *stop. The application (after Go) runs paced to the wall
 * clock, its USART1 output sent to fd. */
int lode_sim_an3155_serve_fd(lode_sim_an3155_s *m, int fd, volatile const sig_atomic_t *stop);
/* A pseudo-terminal for outside tools (stm32flash): made, linked at link_path (an existing
 * symbolic link there is replaced, anything else refused), its name in name. Serve it until
 * *stop: every open of the port is a reset into the bootloader; fn hears of each session. */
int lode_sim_an3155_pty_open(lode_sim_an3155_s *m, const char *link_path, char *name, size_t cap);
typedef void (*lode_sim_an3155_session_fn)(void *user, const lode_sim_an3155_stats_s *s);
int lode_sim_an3155_pty_serve(lode_sim_an3155_s *m, volatile const sig_atomic_t *stop, lode_sim_an3155_session_fn fn,
                              void *user);

/* Bytes into a UART's receiver ("USART1"): they arrive one frame apart (the UART's own frame
 * time from its BRR and framing), from now on, after any still on their way; a byte that comes
 * while the receiver is off is lost, one that comes while RXNE is still set sets ORE and is
 * lost. LODE_E_NO_DEVICE when the chip has no such port. */
int lode_sim_uart_input(lode_sim_s *sim, const char *port, const uint8_t *data, size_t len);
/* Route the board's UART output (the config's output callback) elsewhere. */
void lode_sim_set_output(lode_sim_s *sim, lode_sim_output_fn fn, void *user);
/* How many of the host's bytes a UART's receiver still holds back (0 when the chip cannot say),
 * and whether it is on to take them (true when the chip cannot say). */
size_t lode_sim_uart_pending(lode_sim_s *sim, const char *port);
bool lode_sim_uart_ready(lode_sim_s *sim, const char *port);

/* ---- a board's serial line to the host (sim_serial.c) --------------------------------------- */
/* The line of firmware running on the board (the simulated Arduino Zero: lode's SAM-BA
 * bootloader, then the sketch, both on SERCOM5) bridged to a file descriptor: a socket pair end
 * in process, or a pseudo-terminal for outside tools (bossac). The line stands for the board's
 * USB CDC port: where the chip models that (the ATSAMD21G18A's SERCOMs), the host's bytes and
 * the firmware's go in USB full-speed bulk packets (64 bytes, at most 19 a 1 ms frame, two banks
 * each way; a full bank answers NAK, so nothing is lost while the firmware is busy); with
 * `uart` set (or on other chips) bytes enter the UART's receiver at its frame rate (a receiver
 * still full loses them) and leave at the same rate. The host's bytes wait
 * (in the descriptor) while the receiver is off, as a USB CDC port is not there before the
 * firmware runs. The board is still while
 * it waits for the host (its firmware polls the line, nothing else happens): virtual time then
 * stands; after host bytes it runs as fast as it can until it is waiting again (for at most 10 s
 * of virtual time), a board still busy after that runs paced to the wall clock. The rate is the
 * model's, whatever baud rate the host sets. A pseudo-terminal
 * closed at 1200 baud is the 1200-baud touch: what the Arduino SAMD cores do on it (the
 * double-tap magic into the last SRAM word, then a reset: the bootloader stays). */
typedef struct lode_sim_serial_s lode_sim_serial_s;
typedef struct lode_sim_serial_config_s {
    const char *port;      /* the chip's UART (NULL: "SERCOM5") */
    uint32_t magic_addr;   /* the 1200-baud touch's word (0: 0x20007FFC) */
    uint32_t magic;        /* and its value (0: 0x07738135) */
    lode_log_s log;
    bool uart;             /* a plain UART at its baud rate, not the USB CDC function's timing */
} lode_sim_serial_config_s;
typedef struct lode_sim_serial_stats_s {
    uint64_t bytes_in, bytes_out;   /* this session */
    uint64_t session_ps;            /* virtual time this session */
    uint64_t wall_ns;               /* wall time this session */
    unsigned sessions;              /* sessions served */
    unsigned touches;               /* 1200-baud touches seen */
} lode_sim_serial_stats_s;
int lode_sim_serial_new(lode_sim_s *sim, const lode_sim_serial_config_s *cfg, lode_sim_serial_s **out);
void lode_sim_serial_free(lode_sim_serial_s *s); /* accepts NULL */
/* The 1200-baud touch (for a host without a terminal to close at 1200 baud). */
void lode_sim_serial_touch(lode_sim_serial_s *s);
/* Serve fd until the host closes it or *stop: no reset at the start (a USB CDC port). */
int lode_sim_serial_serve_fd(lode_sim_serial_s *s, int fd, volatile const sig_atomic_t *stop);
void lode_sim_serial_stats(const lode_sim_serial_s *s, lode_sim_serial_stats_s *out);
/* A pseudo-terminal linked at link_path (an existing symbolic link there is replaced, anything
 * else refused; bossac takes a port for USB CDC only when its name contains "ttyACM"), its name
 * in name; served until *stop, fn hearing of each session. */
int lode_sim_serial_pty_open(lode_sim_serial_s *s, const char *link_path, char *name, size_t cap);
typedef void (*lode_sim_serial_session_fn)(void *user, const lode_sim_serial_stats_s *st);
int lode_sim_serial_pty_serve(lode_sim_serial_s *s, volatile const sig_atomic_t *stop, lode_sim_serial_session_fn fn,
                              void *user);

/* ---- simulated SEGGER J-Link (sim_jlink.c) ------------------------------------------------- */
/* A J-Link (USB 1366:0101 unless configured otherwise) in front of the board's SWD wire
 * (lode_sim_swdwire_*): the firmware's command processor for the RM08001 USB protocol —
 * VERSION, GET_CAPS(_EX), GET_HW_VERSION, free memory, GET_STATE (VTref), GET_SPEEDS /
 * SET_SPEED, SELECT_IF, HW_JTAG3/HW_JTAG2 bit streams (with the J-Link's one-cycle sampling
 * skew in the reply), nRESET/nTRST, target power, SWO in UART mode — over a byte stream (the
 * protocol has no framing), and a USB bulk timing model charged to the board's clock: V11 and
 * later high speed (125 us microframes, 13 x 512-byte packets), older full speed (1 ms
 * frames, 19 x 64 bytes); an OUT transfer starts at the next (micro)frame, a complete command
 * runs when it has arrived, its reply moves from the next (micro)frame boundary after that
 * (a short command's round trip: two (micro)frames). sim_jlink.c lists every
 * command and its reply. Fault injection: the board's (WAIT, fault range, disconnect) and the
 * wire's (read parity) through lode_sim_jlink_wire. */
typedef struct lode_sim_jlink_s lode_sim_jlink_s;

typedef struct lode_sim_jlink_config_s {
    unsigned hw_major;        /* hardware version V<n> (0: 11); 11 and later are high speed */
    uint16_t pid;             /* USB product ID (0: 0x0101) */
    const char *serial;       /* USB serial number, decimal digits (NULL: "601000001") */
    const char *firmware;     /* VERSION string (NULL: "J-Link V11 compiled ... (lode sim)") */
    uint32_t free_mem;        /* free memory reported (0: 16384): a HW_JTAG3 needing more
                               * than it fails with status 6 */
    bool vtref_off;           /* VTref 0 V (target unpowered) until the host switches target
                               * power on (SET_KS_POWER) */
    bool no_swd;              /* firmware without SWD (no SELECT_IF, JTAG only, no SWO) */
    lode_sim_swdwire_config_s wire; /* the target's wire (dormant, multidrop) */
    lode_log_s log;
    /* called after each HW_JTAG3/HW_JTAG2 that clocked the target: n cycles, what the probe
     * drove (dir, out) and the level of SWDIO/TMS in each cycle (line), bit i = cycle i */
    void (*trace)(void *user, size_t n, const uint8_t *dir, const uint8_t *out, const uint8_t *line);
    void *trace_user;
} lode_sim_jlink_config_s;

typedef struct lode_sim_jlink_stats_s {
    uint64_t commands;        /* commands executed */
    uint64_t jtag3_commands;  /* HW_JTAG3 / HW_JTAG2 among them */
    uint64_t bits;            /* SWD/JTAG clock cycles sent to the target */
    uint64_t usb_out, usb_in; /* bulk transfers through the USB model */
    uint64_t swo_bytes;       /* SWO bytes delivered */
} lode_sim_jlink_stats_s;

/* The probe borrows `sim` (it must outlive the probe). cfg may be NULL. */
int lode_sim_jlink_new(lode_sim_s *sim, const lode_sim_jlink_config_s *cfg, lode_sim_jlink_s **out);
void lode_sim_jlink_free(lode_sim_jlink_s *p);
/* OUT bytes straight into the command processor (no USB time; SWD time is charged). */
int lode_sim_jlink_process(lode_sim_jlink_s *p, const uint8_t *data, size_t len);
/* USB model: one bulk OUT transfer; one bulk IN transfer of up to cap bytes of the pending
 * replies (LODE_E_TIMEOUT when none are pending: a real read would time out). */
int lode_sim_jlink_usb_write(lode_sim_jlink_s *p, const uint8_t *data, size_t len);
int lode_sim_jlink_usb_read(lode_sim_jlink_s *p, uint8_t *buf, size_t cap, size_t *got);
/* The probe as an in-process transport over the USB model (close it before freeing p). */
int lode_sim_jlink_transport(lode_sim_jlink_s *p, struct lode_transport_s **out);
void lode_sim_jlink_stats(const lode_sim_jlink_s *p, lode_sim_jlink_stats_s *out);
const char *lode_sim_jlink_serial(const lode_sim_jlink_s *p);
uint16_t lode_sim_jlink_pid(const lode_sim_jlink_s *p);
bool lode_sim_jlink_high_speed(const lode_sim_jlink_s *p);
uint32_t lode_sim_jlink_speed_hz(const lode_sim_jlink_s *p); /* the SWD clock set */
lode_sim_swdwire_s *lode_sim_jlink_wire(lode_sim_jlink_s *p);
lode_sim_s *lode_sim_jlink_board(const lode_sim_jlink_s *p);

/* ---- a UF2 bootloader's drive (uf2_drive.c) ------------------------------------------------ */
/* A directory as the board's UF2 drive: INFO_UF2.TXT and CURRENT.UF2 are written into it; any
 * other file that holds every block of a UF2 file for this board (in any order, repeated,
 * mixed with other sectors) is flashed (pages erased, payloads programmed), removed, and the
 * drive vanishes for half a second (INFO_UF2.TXT and CURRENT.UF2 gone), as a board resetting
 * into its new firmware. Blocks of another family are ignored. */
typedef struct lode_sim_uf2_drive_s lode_sim_uf2_drive_s;
int lode_sim_uf2_drive_new(lode_sim_s *sim, const char *dir, const lode_log_s *log, lode_sim_uf2_drive_s **out);
/* Look once: *flashed = the blocks of the file flashed now (0: none). */
int lode_sim_uf2_drive_poll(lode_sim_uf2_drive_s *d, size_t *flashed);
/* The board's UF2 family (false: lode's table has none for the chip). */
bool lode_sim_uf2_drive_family(const lode_sim_uf2_drive_s *d, uint32_t *family);
void lode_sim_uf2_drive_free(lode_sim_uf2_drive_s *d); /* the drive's files removed */

/* ---- the simulated probes in lode's probe registry (probe.h) ------------------------------- */
struct lode_probe_registry_s;
typedef struct lode_sim_probe_env_s {
    /* the board a simulated probe goes in front of: the caller's (created, kept and freed by
     * it); chip is the user's --chip (NULL: a default) */
    int (*board)(void *user, const char *chip, uint32_t swd_hz, lode_sim_s **out);
    void *user;
    int dap_version;          /* "sim": CMSIS-DAP 1 (HID) or 2 (bulk; 0 = 2) */
    unsigned packet_count;    /* "sim": commands in flight (0: 4) */
    lode_log_s log;           /* the simulated probes' own log */
} lode_sim_probe_env_s;
/* Add rows "sim", "sim-stlink[:V2Jnn|:V3Jn]" and "sim-jlink[:ARGS]" (ARGS as for lode's "jlink"
 * row); env must outlive the registry. */
int lode_sim_registry_add(struct lode_probe_registry_s *reg, const lode_sim_probe_env_s *env);
/* "V2J37" / "V3J7" -> hardware and J version (false if malformed) */
bool lode_sim_stlink_parse_version(const char *s, uint8_t *hw, uint8_t *jtag);

#ifdef __cplusplus
}
#endif
#endif
