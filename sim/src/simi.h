/* SPDX-License-Identifier: MIT */
/* Internal interface of the simulated board: what chip peripherals, flash controllers and the
 * debug port see of the board. Nothing here is public API (see sim/include/lode/sim.h). */
#ifndef LODE_SIMI_H
#define LODE_SIMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

typedef struct sim_board_s sim_board_s;

/* Result of one bus access. */
enum {
    SIM_BUS_OK = 0,
    SIM_BUS_FAULT = -1, /* bus error response (HardFault/BusFault for the CPU, FAULT/STICKYERR for the DAP) */
};

/* Who drives an access. The AHB-AP and the core share the bus; a few registers differ. */
typedef enum sim_initiator_e {
    SIM_INIT_CPU = 0,
    SIM_INIT_DAP = 1,
} sim_initiator_e;

/* Virtual time is kept in picoseconds. */
#define SIM_PS_PER_US 1000000ull
#define SIM_PS_PER_MS 1000000000ull

/* ---- memory-mapped peripherals ------------------------------------------------------------- */
/* A peripheral owns [base, base+size). `off` is relative to base; size is 1, 2 or 4; the
 * address is naturally aligned. Return SIM_BUS_OK or SIM_BUS_FAULT. */
typedef struct sim_periph_ops_s {
    int (*read)(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who);
    int (*write)(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who);
    void (*reset)(void *ctx); /* system reset (SYSRESETREQ, watchdog, power-on) */
    void (*free)(void *ctx);  /* may be NULL */
} sim_periph_ops_s;

/* Register a peripheral. The board owns ctx afterwards (ops->free is called on board free).
 * Peripherals may also sit in the vendor part of the PPB (0xE0040000-0xE00FEFFF, e.g.
 * DBGMCU at 0xE0042000); the board's own debug components take precedence there. */
int simi_add_periph(sim_board_s *b, const char *name, uint32_t base, uint32_t size,
                    const sim_periph_ops_s *ops, void *ctx);

/* An address window the chip has peripherals in that the sim does not model: reads return 0,
 * writes are ignored, both are logged once per address. Addresses outside every registered
 * region, memory and window bus-fault. */
int simi_add_unmodeled_window(sim_board_s *b, uint32_t base, uint32_t size);

/* ---- NOR flash ------------------------------------------------------------------------------ */
/* A flash array: host memory the CPU executes from directly. Content changes only through
 * the simi_nor_* calls below (which keep the CPU's translated-code cache coherent). */
typedef struct sim_nor_s {
    uint32_t base;         /* bus address of the array */
    uint32_t size;         /* bytes */
    uint32_t page_size;    /* erase granule */
    uint8_t erased;        /* erased byte value (0xFF) */
    uint8_t *mem;          /* size bytes, owned by the board */
    uint32_t *erase_count; /* per page */
    uint64_t programs;     /* program operations done */
} sim_nor_s;

/* NOR semantics: programming only clears bits (new = old & data). */
void simi_nor_program(sim_board_s *b, sim_nor_s *nor, uint32_t off, const uint8_t *data, uint32_t len);
void simi_nor_erase(sim_board_s *b, sim_nor_s *nor, uint32_t off, uint32_t len);
/* Power was lost in the middle of programming or erasing [off, off+len): leave each bit either
 * as it was or as the operation would have left it, chosen by the board's deterministic PRNG. */
void simi_nor_corrupt(sim_board_s *b, sim_nor_s *nor, uint32_t off, uint32_t len, bool was_erase,
                      const uint8_t *data);

/* A flash controller decides what a store into the array does. Installed for one nor. */
typedef struct sim_flashctl_ops_s {
    /* A store of `size` bytes of `val` (little-endian) at bus address `addr` inside the array,
     * from the CPU or the DAP. The controller checks its state (unlocked, PG/WEN, width,
     * erased) and calls simi_nor_program, or ignores it, and returns SIM_BUS_OK, or returns
     * SIM_BUS_FAULT for a bus error response. */
    int (*array_write)(void *ctx, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who);
} sim_flashctl_ops_s;

/* Map a flash array (board allocates and erases it). alias != SIM_NO_ALIAS also maps it at
 * that address (STM32 boot alias at 0). Returns the nor or NULL. */
#define SIM_NO_ALIAS 0xFFFFFFFFu
sim_nor_s *simi_add_flash(sim_board_s *b, const char *name, uint32_t base, uint32_t size,
                          uint32_t page_size, uint32_t alias);
void simi_set_flashctl(sim_board_s *b, sim_nor_s *nor, const sim_flashctl_ops_s *ops, void *ctx);

/* The flash is busy until `until_ps`: CPU instruction fetches and data reads from flash, and
 * DAP reads of it, stall until then (the clock jumps forward). */
void simi_flash_busy_until(sim_board_s *b, uint64_t until_ps);

/* Plain RAM. */
int simi_add_ram(sim_board_s *b, const char *name, uint32_t base, uint32_t size);

/* ---- time ----------------------------------------------------------------------------------- */
uint64_t simi_now(const sim_board_s *b);      /* picoseconds since power-on */
uint32_t simi_cpu_hz(const sim_board_s *b);  /* current core clock (HCLK) */
/* The chip's clock tree changed the core clock (e.g. RCC switched SYSCLK to the PLL). Takes
 * effect at the current instruction boundary; SysTick and CYCCNT follow the core clock. */
void simi_set_cpu_hz(sim_board_s *b, uint32_t hz);

/* One-shot timers. A timer belongs to a peripheral; arming an armed timer moves it. The
 * callback runs with the board's clock at `at_ps` (between instructions). */
typedef struct sim_timer_s {
    void (*fn)(sim_board_s *b, void *ctx);
    void *ctx;
    uint64_t at;   /* when (ps), valid while armed */
    bool armed;
    struct sim_timer_s *next; /* board's list; do not touch */
} sim_timer_s;
void simi_timer_arm(sim_board_s *b, sim_timer_s *t, uint64_t at_ps);
void simi_timer_cancel(sim_board_s *b, sim_timer_s *t); /* not armed: nothing */

/* ---- byte lanes of 32-bit registers --------------------------------------------------------- */
/* A narrow write (size 1 or 2 at byte offset off) changes only its byte lanes of `old`. */
static inline uint32_t simi_merge_lanes(uint32_t old, uint32_t off, unsigned size, uint32_t val)
{
    unsigned sh = (off & 3u) * 8u;
    uint32_t m = size >= 4 ? 0xFFFFFFFFu : (((1u << (8u * size)) - 1u) << sh);
    return (old & ~m) | ((val << sh) & m);
}

/* The byte lanes a narrow read at byte offset off sees of `reg`. */
static inline uint32_t simi_lane_extract(uint32_t reg, uint32_t off, unsigned size)
{
    unsigned sh = (off & 3u) * 8u;
    if (size >= 4)
        return reg;
    return (reg >> sh) & ((1u << (8u * size)) - 1u);
}

/* ---- events towards the core and the host ---------------------------------------------------- */
void simi_irq_set(sim_board_s *b, unsigned irq, bool pending); /* external interrupt line -> NVIC pend */
void simi_request_system_reset(sim_board_s *b, const char *why); /* after the current instruction */
/* What caused the reset in progress (or the last one): for reset-cause registers. */
typedef enum sim_reset_cause_e { SIM_RESET_POR, SIM_RESET_EXT, SIM_RESET_SYST, SIM_RESET_WDT } sim_reset_cause_e;
sim_reset_cause_e simi_reset_cause(const sim_board_s *b);
/* Bytes a peripheral sends out of the chip (UART TX); `port` names the peripheral instance. */
void simi_output(sim_board_s *b, const char *port, const uint8_t *data, size_t len);

/* A UART's receiver: the bytes a host sends to it (lode_sim_uart_input). The peripheral queues
 * them and takes them in at its own frame rate. */
typedef void (*sim_uart_rx_fn)(void *ctx, const uint8_t *data, size_t len);
int simi_add_uart_rx(sim_board_s *b, const char *port, sim_uart_rx_fn fn, void *ctx);
/* Optional: how many of the host's bytes the receiver still holds back (lode_sim_uart_pending),
 * and whether it takes bytes at all (enabled; lode_sim_uart_ready). */
typedef size_t (*sim_uart_pending_fn)(void *ctx);
typedef bool (*sim_uart_ready_fn)(void *ctx);
void simi_set_uart_rx_state(sim_board_s *b, const char *port, sim_uart_pending_fn pending, sim_uart_ready_fn ready);
/* Optional: the port stands for a USB CDC function (full-speed bulk timing and flow control)
 * instead of a UART at its baud rate. simi_uart_usb: false when the port has no such mode. */
typedef void (*sim_uart_usb_fn)(void *ctx, bool usb);
void simi_set_uart_usb(sim_board_s *b, const char *port, sim_uart_usb_fn fn);
bool simi_uart_usb(sim_board_s *b, const char *port, bool usb);

/* ---- fault injection ------------------------------------------------------------------------ */
/* Called by a flash controller when it starts a program/erase of [off, off+len). If a power loss
 * is armed for this operation the board returns true after corrupting the range (the controller
 * must then abandon the operation; the board performs a power-on reset at the next boundary). */
bool simi_flash_op_begin(sim_board_s *b, sim_nor_s *nor, uint32_t off, uint32_t len, bool erase,
                         const uint8_t *data);

/* ---- misc ----------------------------------------------------------------------------------- */
void simi_log(const sim_board_s *b, lode_log_level_e lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Deterministic PRNG (xorshift) owned by the board, seeded by configuration. */
uint32_t simi_rand(sim_board_s *b);

/* Whole-bus access as the AHB-AP sees it (flash, RAM, peripherals, PPB incl. debug registers).
 * size 1/2/4, address naturally aligned. Charges no time; the DP charges wire time. */
int simi_bus_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, sim_initiator_e who);
int simi_bus_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who);

/* ---- chips ---------------------------------------------------------------------------------- */
typedef enum sim_core_e { SIM_CORE_M0P, SIM_CORE_M3, SIM_CORE_M4F } sim_core_e;

typedef struct sim_chip_desc_s {
    const char *name;     /* "STM32F103C8" */
    sim_core_e core;
    uint32_t cpu_hz;      /* maximum / nominal core clock */
    uint32_t reset_hz;    /* core clock after reset (0 = cpu_hz), e.g. STM32F1 8 MHz HSI */
    uint32_t dpidr;       /* SW-DP DPIDR */
    uint32_t nvic_irqs;   /* external interrupt lines */
    uint8_t prio_bits;    /* implemented priority bits (0 = 4 on M3/M4, 2 on M0+) */
    bool swj;             /* SWJ-DP (starts in JTAG, needs JTAG-to-SWD) rather than SW-DP only */
    /* the ROM table at 0xE00FF000 as the vendor built it (ADIv5.2 D3 PIDR: JEP106 designer,
     * continuation code << 8 | identity, and part number); 0: ARM's Cortex-M ROM table */
    uint16_t rom_designer, rom_part;
    uint32_t ap_idr;      /* AHB-AP IDR (0: 0x24770011, the Cortex-M3/M4 AHB-AP) */
    uint32_t ap_base;     /* MEM-AP BASE (0: 0xE00FF003, the core's ROM table) */
    /* builds memories and peripherals on the board */
    int (*build)(sim_board_s *b, const struct sim_chip_desc_s *desc);
} sim_chip_desc_s;

const sim_chip_desc_s *simi_chip_find(const char *name); /* NULL if unknown */
extern const sim_chip_desc_s simi_chip_stm32f103c8;       /* sim/src/chip_stm32f1.c */
extern const sim_chip_desc_s simi_chip_nrf52840;          /* sim/src/chip_nrf52.c */
extern const sim_chip_desc_s simi_chip_atsamd21g18a;      /* sim/src/chip_samd21.c */

/* sim_samba_probe.c: the row "sim-sam-ba" (the simulated Zero through lode's sam-ba probe) */
struct lode_probe_registry_s;
struct lode_sim_probe_env_s;
int simi_samba_row_add(struct lode_probe_registry_s *reg, const struct lode_sim_probe_env_s *env);

#endif
