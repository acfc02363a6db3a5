/* SPDX-License-Identifier: MIT */
/* nRF52840 (QIAA, 1 MiB flash / 256 KiB RAM): memories, FICR, UICR, the non-volatile memory
 * controller (NVMC), UARTE0 (EasyDMA transmit), the watchdog, CLOCK/POWER and GPIO P0/P1.
 *
 * Source: nRF52840 Product Specification v1.x — memory map and instantiation table, §4.3 NVMC
 * (incl. its electrical specification), FICR, UICR, §6.x CLOCK, POWER, GPIO, UARTE, WDT, and
 * the EasyDMA chapter. Written from those register descriptions.
 *
 * Documented choices / not modelled:
 *  - WDT CONFIG.HALT (pause while the debugger halts the CPU) and CONFIG.SLEEP: the board
 *    interface does not expose the halt state, so the watchdog always runs.
 *  - A reset here cannot tell power-on from soft reset; the watchdog, RESETREAS and GPREGRET,
 *    which the PS treats differently for the two, are reset on every reset (GPREGRET kept).
 *  - UARTE receive, legacy UART receive (no input path in the board interface).
 *  - The NVMC's nWRITE limit (2 writes per word between erases) is logged when exceeded; the
 *    write still ANDs into the array. */
#include <stdlib.h>
#include <string.h>

#include "simi.h"

#define N52_FLASH_SIZE (1024u * 1024u)
#define N52_PAGE 4096u
#define N52_RAM_BASE 0x20000000u
#define N52_RAM_SIZE (256u * 1024u)
#define N52_FICR_BASE 0x10000000u
#define N52_UICR_BASE 0x10001000u
#define N52_CLOCK_BASE 0x40000000u
#define N52_UARTE0_BASE 0x40002000u
#define N52_WDT_BASE 0x40010000u
#define N52_NVMC_BASE 0x4001E000u
#define N52_GPIO_BASE 0x50000000u

#define N52_IRQ_POWER_CLOCK 0u
#define N52_IRQ_UARTE0 2u
#define N52_IRQ_WDT 16u

/* PS §4.3 NVMC electrical specification (maximum values): tWRITE 41 us, tERASEPAGE 85 ms,
 * tERASEALL 173 ms. ERASEUICR is given the page-erase time. */
#define N52_T_WRITE_PS (41ull * SIM_PS_PER_US)
#define N52_T_ERASEPAGE_PS (85ull * SIM_PS_PER_MS)
#define N52_T_ERASEALL_PS (173ull * SIM_PS_PER_MS)
#define N52_T_ERASEPAGE_MS 85u
#define N52_NWRITE 2u

/* NVMC registers */
#define NVMC_READY 0x400u
#define NVMC_READYNEXT 0x408u
#define NVMC_CONFIG 0x504u
#define NVMC_ERASEPAGE 0x508u /* also the deprecated ERASEPCR1 */
#define NVMC_ERASEALL 0x50Cu
#define NVMC_ERASEPCR0 0x510u
#define NVMC_ERASEUICR 0x514u
#define NVMC_ERASEPAGEPARTIAL 0x518u
#define NVMC_ERASEPAGEPARTIALCFG 0x51Cu
#define NVMC_ICACHECNF 0x540u
#define NVMC_IHIT 0x548u
#define NVMC_IMISS 0x54Cu

enum { WEN_REN = 0, WEN_WEN = 1, WEN_EEN = 2 };

typedef struct n52_s {
    sim_board_s *b;
    sim_nor_s *flash, *uicr;

    /* NVMC */
    uint32_t config, partial_cfg, icachecnf, ihit, imiss;
    uint64_t busy_until;
    sim_timer_s nvmc_timer;
    uint8_t *nwrites;       /* writes per flash word since its page was erased */
    uint8_t *uicr_nwrites;
    uint16_t partial_ms[N52_FLASH_SIZE / N52_PAGE]; /* accumulated partial-erase time */

    /* UARTE0 */
    uint32_t ua[0x1000 / 4]; /* register file (events, config) */
    uint32_t ua_inten;
    bool ua_tx_active;
    uint32_t ua_tx_ptr, ua_tx_n, ua_tx_done;
    bool ua_stop_req;
    bool ua_legacy_tx_busy;
    sim_timer_s ua_timer;
    bool ua_irq;
    bool ua_warned;

    /* WDT */
    bool wdt_running;
    uint32_t wdt_crv, wdt_rren, wdt_config, wdt_reqstatus, wdt_inten;
    uint32_t wdt_event_timeout;
    bool wdt_timed_out;
    sim_timer_s wdt_timer;
    bool wdt_irq;

    /* CLOCK / POWER */
    uint32_t cp[0x1000 / 4];
    uint32_t cp_inten;
    bool cp_irq;

    /* GPIO */
    uint32_t out[2], pin_cnf[2][32], latch[2], detectmode[2];
} n52_s;

/* ---- FICR (PS "FICR — Factory information configuration registers") --------------------------- */
static uint32_t ficr_word(uint32_t off)
{
    switch (off) {
    case 0x010: return N52_PAGE;                      /* CODEPAGESIZE */
    case 0x014: return N52_FLASH_SIZE / N52_PAGE;     /* CODESIZE (pages) */
    case 0x060: return 0x6B3C9A21u;                   /* DEVICEID[0] (any fixed value) */
    case 0x064: return 0x5DE0F417u;                   /* DEVICEID[1] */
    case 0x080: return 0x1F2E3D4Cu;                   /* ER[0..3] */
    case 0x084: return 0x5B6A7988u;
    case 0x088: return 0x97A6B5C4u;
    case 0x08C: return 0xD3E2F100u;
    case 0x090: return 0x0F1E2D3Cu;                   /* IR[0..3] */
    case 0x094: return 0x4B5A6978u;
    case 0x098: return 0x8796A5B4u;
    case 0x09C: return 0xC3D2E1F0u;
    case 0x0A0: return 0xFFFFFFFFu;                   /* DEVICEADDRTYPE: random */
    case 0x0A4: return 0x9C1A55E2u;                   /* DEVICEADDR[0] */
    case 0x0A8: return 0xFFFFC3B7u;                   /* DEVICEADDR[1] */
    case 0x100: return 0x00052840u;                   /* INFO.PART */
    case 0x104: return 0x41414430u;                   /* INFO.VARIANT 'AAD0' */
    case 0x108: return 0x00002004u;                   /* INFO.PACKAGE: QI (aQFN73) */
    case 0x10C: return N52_RAM_SIZE / 1024u;          /* INFO.RAM (KiB) */
    case 0x110: return N52_FLASH_SIZE / 1024u;        /* INFO.FLASH (KiB) */
    default: return 0xFFFFFFFFu;                      /* unprogrammed words read erased */
    }
}

static int ficr_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    (void)ctx;
    (void)who;
    *val = simi_lane_extract(ficr_word(off & ~3u), off, size);
    return SIM_BUS_OK;
}

static int ignore_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    (void)ctx;
    (void)off;
    (void)size;
    (void)val;
    (void)who;
    return SIM_BUS_OK; /* FICR is factory-programmed, read-only */
}

/* ---- NVMC (PS §4.3) -------------------------------------------------------------------------- */
static bool nvmc_busy(const n52_s *c) { return c->nvmc_timer.armed; }

static void nvmc_done(sim_board_s *b, void *ctx)
{
    (void)b;
    (void)ctx; /* READY follows the timer; nothing else changes at the end */
}

/* Start an operation of `dur` ps. One issued while the previous runs is buffered behind it
 * (READYNEXT); the CPU stalls on flash accesses until the array is free again. */
static void nvmc_start(n52_s *c, uint64_t dur)
{
    uint64_t now = simi_now(c->b);
    uint64_t start = c->busy_until > now ? c->busy_until : now;
    c->busy_until = start + dur;
    simi_flash_busy_until(c->b, c->busy_until);
    simi_timer_arm(c->b, &c->nvmc_timer, c->busy_until);
}

static int nvmc_array_write(void *ctx, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    if ((c->config & 3u) != WEN_WEN) {
        /* writes to the array with CONFIG.WEN != Wen do nothing */
        simi_log(c->b, LODE_LOG_DEBUG, "nrf52: store to 0x%08x with NVMC.CONFIG.WEN=%u ignored", addr,
                 (unsigned)(c->config & 3u));
        return SIM_BUS_OK;
    }
    /* PS §4.3 "Writing to flash": "Only word-aligned writes are allowed. Byte or half-word-
     * aligned writes will result in a hard fault." */
    if (size != 4) {
        simi_log(c->b, LODE_LOG_WARN, "nrf52: %u-byte store to flash 0x%08x: bus error", size, addr);
        return SIM_BUS_FAULT;
    }
    sim_nor_s *nor = addr >= N52_UICR_BASE ? c->uicr : c->flash;
    uint8_t *nw = nor == c->uicr ? c->uicr_nwrites : c->nwrites;
    uint32_t off = addr - nor->base;
    uint8_t bytes[4] = {(uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16), (uint8_t)(val >> 24)};
    if (nw[off / 4] < 255 && ++nw[off / 4] > N52_NWRITE)
        simi_log(c->b, LODE_LOG_WARN, "nrf52: word 0x%08x written %u times since erase (nWRITE = %u)", addr,
                 (unsigned)nw[off / 4], N52_NWRITE);
    if (simi_flash_op_begin(c->b, nor, off, 4, false, bytes))
        return SIM_BUS_OK; /* power lost: the board resets the chip */
    simi_nor_program(c->b, nor, off, bytes, 4); /* NOR: only 1 -> 0 */
    nvmc_start(c, N52_T_WRITE_PS);
    return SIM_BUS_OK;
}

static const sim_flashctl_ops_s nvmc_flashctl = {.array_write = nvmc_array_write};

static void erase_region(n52_s *c, sim_nor_s *nor, uint32_t off, uint32_t len)
{
    simi_nor_erase(c->b, nor, off, len);
    uint8_t *nw = nor == c->uicr ? c->uicr_nwrites : c->nwrites;
    memset(nw + off / 4, 0, len / 4);
    if (nor == c->flash)
        for (uint32_t p = off / N52_PAGE; p < (off + len) / N52_PAGE; p++)
            c->partial_ms[p] = 0;
}

static void nvmc_erase_page(n52_s *c, uint32_t addr)
{
    if (addr >= N52_FLASH_SIZE) {
        simi_log(c->b, LODE_LOG_WARN, "nrf52: ERASEPAGE 0x%08x is outside the code flash: ignored", addr);
        return;
    }
    uint32_t off = addr & ~(N52_PAGE - 1u);
    if (simi_flash_op_begin(c->b, c->flash, off, N52_PAGE, true, NULL))
        return;
    erase_region(c, c->flash, off, N52_PAGE);
    nvmc_start(c, N52_T_ERASEPAGE_PS);
}

static void nvmc_erase_all(n52_s *c)
{
    if (simi_flash_op_begin(c->b, c->flash, 0, c->flash->size, true, NULL)) {
        simi_nor_corrupt(c->b, c->uicr, 0, c->uicr->size, true, NULL);
        return;
    }
    erase_region(c, c->flash, 0, c->flash->size);
    erase_region(c, c->uicr, 0, c->uicr->size);
    nvmc_start(c, N52_T_ERASEALL_PS);
}

static void nvmc_erase_uicr(n52_s *c)
{
    if (simi_flash_op_begin(c->b, c->uicr, 0, c->uicr->size, true, NULL))
        return;
    erase_region(c, c->uicr, 0, c->uicr->size);
    nvmc_start(c, N52_T_ERASEPAGE_PS);
}

/* ERASEPAGEPARTIAL: erases for ERASEPAGEPARTIALCFG.DURATION ms; the page is erased once the
 * partial erases add up to tERASEPAGE. Until then its content is left as it was. */
static void nvmc_erase_partial(n52_s *c, uint32_t addr)
{
    if (addr >= N52_FLASH_SIZE)
        return;
    uint32_t off = addr & ~(N52_PAGE - 1u);
    uint32_t ms = c->partial_cfg & 0x7Fu;
    if (simi_flash_op_begin(c->b, c->flash, off, N52_PAGE, true, NULL))
        return;
    unsigned p = off / N52_PAGE;
    uint32_t acc = c->partial_ms[p] + ms;
    if (acc >= N52_T_ERASEPAGE_MS)
        erase_region(c, c->flash, off, N52_PAGE);
    else
        c->partial_ms[p] = (uint16_t)acc;
    nvmc_start(c, (uint64_t)ms * SIM_PS_PER_MS);
}

static int nvmc_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case NVMC_READY: r = nvmc_busy(c) ? 0u : 1u; break;
    case NVMC_READYNEXT:
        /* ready for the next write when at most the current operation is in flight */
        r = (c->busy_until <= simi_now(c->b) + N52_T_WRITE_PS) ? 1u : 0u;
        break;
    case NVMC_CONFIG: r = c->config; break;
    case NVMC_ERASEPAGEPARTIALCFG: r = c->partial_cfg; break;
    case NVMC_ICACHECNF: r = c->icachecnf; break;
    case NVMC_IHIT: r = c->ihit; break;
    case NVMC_IMISS: r = c->imiss; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int nvmc_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    bool een = (c->config & 3u) == WEN_EEN;
    switch (reg) {
    case NVMC_CONFIG: c->config = v & 3u; break;
    case NVMC_ERASEPAGE:
    case NVMC_ERASEPCR0:
        if (een)
            nvmc_erase_page(c, v);
        break;
    case NVMC_ERASEALL:
        if (een && (v & 1u))
            nvmc_erase_all(c);
        break;
    case NVMC_ERASEUICR:
        if (een && (v & 1u))
            nvmc_erase_uicr(c);
        break;
    case NVMC_ERASEPAGEPARTIAL:
        if (een)
            nvmc_erase_partial(c, v);
        break;
    case NVMC_ERASEPAGEPARTIALCFG: c->partial_cfg = v & 0x7Fu; break;
    case NVMC_ICACHECNF: c->icachecnf = v & 0x101u; break;
    case NVMC_IHIT: c->ihit = v; break;
    case NVMC_IMISS: c->imiss = v; break;
    default: break;
    }
    if (!een && (reg == NVMC_ERASEPAGE || reg == NVMC_ERASEPCR0 || reg == NVMC_ERASEALL ||
                 reg == NVMC_ERASEUICR || reg == NVMC_ERASEPAGEPARTIAL))
        simi_log(c->b, LODE_LOG_DEBUG, "nrf52: NVMC erase register 0x%03x written without CONFIG=Een: ignored", reg);
    return SIM_BUS_OK;
}

/* ---- UARTE0 (PS "UARTE — UART with EasyDMA") --------------------------------------------------- */
#define UA_TASKS_STARTRX 0x000u
#define UA_TASKS_STOPRX 0x004u
#define UA_TASKS_STARTTX 0x008u
#define UA_TASKS_STOPTX 0x00Cu
#define UA_EV_TXDRDY 0x11Cu
#define UA_EV_ENDTX 0x120u
#define UA_EV_RXTO 0x144u
#define UA_EV_RXSTARTED 0x14Cu
#define UA_EV_TXSTARTED 0x150u
#define UA_EV_TXSTOPPED 0x158u
#define UA_SHORTS 0x200u
#define UA_INTEN 0x300u
#define UA_INTENSET 0x304u
#define UA_INTENCLR 0x308u
#define UA_ERRORSRC 0x480u
#define UA_ENABLE 0x500u
#define UA_PSEL_RTS 0x508u
#define UA_PSEL_TXD 0x50Cu
#define UA_PSEL_CTS 0x510u
#define UA_PSEL_RXD 0x514u
#define UA_TXD_LEGACY 0x51Cu /* legacy UART TXD */
#define UA_BAUDRATE 0x524u
#define UA_RXD_PTR 0x534u
#define UA_RXD_MAXCNT 0x538u
#define UA_RXD_AMOUNT 0x53Cu
#define UA_TXD_PTR 0x544u
#define UA_TXD_MAXCNT 0x548u
#define UA_TXD_AMOUNT 0x54Cu
#define UA_CONFIG 0x56Cu

#define UA(c, off) ((c)->ua[(off) / 4])

static void ua_irq_update(n52_s *c)
{
    bool lvl = false;
    for (unsigned i = 0; i < 32; i++)
        if ((c->ua_inten & (1u << i)) && c->ua[(0x100u + 4u * i) / 4])
            lvl = true;
    if (lvl && !c->ua_irq)
        simi_irq_set(c->b, N52_IRQ_UARTE0, true);
    c->ua_irq = lvl;
}

static void ua_event(n52_s *c, uint32_t off)
{
    UA(c, off) = 1;
    ua_irq_update(c);
}

/* Time of one frame: start + 8 data + (parity) + 1 or 2 stop bits. BAUDRATE holds
 * baud * 2^32 / 16 MHz (rounded); the bits above 12 carry the rate. */
static uint64_t ua_frame_ps(const n52_s *c)
{
    uint64_t reg = UA(c, UA_BAUDRATE) >> 12;
    if (reg == 0)
        return 0;
    unsigned bits = 1 + 8 + ((UA(c, UA_CONFIG) >> 1) & 7u ? 1 : 0) + ((UA(c, UA_CONFIG) >> 4) & 1u ? 2 : 1);
    /* baud = reg * 16e6 / 2^20  ->  bit time = 2^20 / (reg * 16e6) s */
    return (uint64_t)bits * 1048576ull * 1000000ull / (reg * 16ull);
}

static bool ua_connected(n52_s *c)
{
    if (!(UA(c, UA_PSEL_TXD) & 0x80000000u))
        return true; /* CONNECT = 0: connected */
    if (!c->ua_warned) {
        c->ua_warned = true;
        simi_log(c->b, LODE_LOG_WARN, "nrf52: UARTE0 transmits with PSEL.TXD disconnected: no output");
    }
    return false;
}

static bool in_data_ram(uint32_t addr, uint32_t len)
{
    return addr >= N52_RAM_BASE && len <= N52_RAM_SIZE && addr - N52_RAM_BASE <= N52_RAM_SIZE - len;
}

/* EasyDMA transmit: one byte per frame time, each read from RAM when it is sent. */
static void ua_tx_step(sim_board_s *b, void *ctx)
{
    n52_s *c = ctx;
    if (c->ua_legacy_tx_busy) {
        c->ua_legacy_tx_busy = false;
        ua_event(c, UA_EV_TXDRDY);
        return;
    }
    if (!c->ua_tx_active)
        return;
    if (c->ua_tx_done < c->ua_tx_n && !c->ua_stop_req) {
        uint32_t v = 0;
        simi_bus_read(b, c->ua_tx_ptr + c->ua_tx_done, 1, &v, SIM_INIT_CPU);
        uint8_t byte = (uint8_t)v;
        if (ua_connected(c))
            simi_output(b, "UARTE0", &byte, 1);
        c->ua_tx_done++;
        UA(c, UA_TXD_AMOUNT) = c->ua_tx_done;
        ua_event(c, UA_EV_TXDRDY);
    }
    if (c->ua_tx_done >= c->ua_tx_n || c->ua_stop_req) {
        c->ua_tx_active = false;
        UA(c, UA_TXD_AMOUNT) = c->ua_tx_done;
        ua_event(c, UA_EV_ENDTX);
        if (c->ua_stop_req) {
            c->ua_stop_req = false;
            ua_event(c, UA_EV_TXSTOPPED);
        }
        return;
    }
    simi_timer_arm(b, &c->ua_timer, simi_now(b) + ua_frame_ps(c));
}

static void ua_start_tx(n52_s *c)
{
    uint32_t en = UA(c, UA_ENABLE) & 0xFu;
    if (en == 4) { /* legacy UART: STARTTX starts the transmitter, bytes go through TXD */
        return;
    }
    if (en != 8 || c->ua_tx_active)
        return;
    uint32_t ptr = UA(c, UA_TXD_PTR), n = UA(c, UA_TXD_MAXCNT) & 0xFFFFu;
    ua_event(c, UA_EV_TXSTARTED);
    c->ua_tx_ptr = ptr;
    c->ua_tx_n = n;
    c->ua_tx_done = 0;
    c->ua_stop_req = false;
    if (n && !in_data_ram(ptr, n)) {
        /* EasyDMA only reaches Data RAM; the PS warns of a HardFault or corruption otherwise.
         * Model: nothing is sent, AMOUNT = 0. */
        simi_log(c->b, LODE_LOG_WARN, "nrf52: UARTE0 TXD.PTR 0x%08x is not in Data RAM: nothing sent", ptr);
        c->ua_tx_n = 0;
    }
    c->ua_tx_active = true;
    simi_timer_arm(c->b, &c->ua_timer, simi_now(c->b) + ua_frame_ps(c));
}

static void ua_reset(n52_s *c)
{
    simi_timer_cancel(c->b, &c->ua_timer);
    memset(c->ua, 0, sizeof c->ua);
    UA(c, UA_PSEL_RTS) = UA(c, UA_PSEL_TXD) = UA(c, UA_PSEL_CTS) = UA(c, UA_PSEL_RXD) = 0xFFFFFFFFu;
    UA(c, UA_BAUDRATE) = 0x04000000u; /* 250 kbaud */
    c->ua_inten = 0;
    c->ua_tx_active = c->ua_stop_req = c->ua_legacy_tx_busy = false;
    c->ua_tx_n = c->ua_tx_done = 0;
    c->ua_irq = false;
}

static int ua_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u, r;
    if (reg < 0x100u)
        r = 0; /* tasks are write-only */
    else if (reg == UA_INTEN || reg == UA_INTENSET || reg == UA_INTENCLR)
        r = c->ua_inten;
    else
        r = c->ua[reg / 4];
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int ua_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    if (reg < 0x100u) {
        if (!(v & 1u))
            return SIM_BUS_OK;
        if (reg == UA_TASKS_STARTTX)
            ua_start_tx(c);
        else if (reg == UA_TASKS_STOPTX) {
            if (c->ua_tx_active)
                c->ua_stop_req = true; /* ENDTX then TXSTOPPED after the byte in flight */
            else
                ua_event(c, UA_EV_TXSTOPPED);
        } else if (reg == UA_TASKS_STOPRX) {
            ua_event(c, UA_EV_RXTO);
        } else if (reg == UA_TASKS_STARTRX) {
            if ((UA(c, UA_ENABLE) & 0xFu) == 8)
                ua_event(c, UA_EV_RXSTARTED);
        }
        return SIM_BUS_OK;
    }
    if (reg < 0x200u) { /* events: writable (0 clears) */
        c->ua[reg / 4] = v & 1u;
        ua_irq_update(c);
        return SIM_BUS_OK;
    }
    switch (reg) {
    case UA_INTEN: c->ua_inten = v; break;
    case UA_INTENSET: c->ua_inten |= v; break;
    case UA_INTENCLR: c->ua_inten &= ~v; break;
    case UA_ERRORSRC: c->ua[reg / 4] &= ~v; break; /* write 1 clears */
    case UA_TXD_AMOUNT:
    case UA_RXD_AMOUNT: break; /* read-only */
    case UA_TXD_LEGACY:
        c->ua[reg / 4] = v & 0xFFu;
        if ((UA(c, UA_ENABLE) & 0xFu) == 4) {
            uint8_t byte = (uint8_t)v;
            if (ua_connected(c))
                simi_output(c->b, "UARTE0", &byte, 1);
            c->ua_legacy_tx_busy = true;
            simi_timer_arm(c->b, &c->ua_timer, simi_now(c->b) + ua_frame_ps(c));
        }
        break;
    default: c->ua[reg / 4] = v; break;
    }
    ua_irq_update(c);
    return SIM_BUS_OK;
}

/* ---- WDT (PS "WDT — Watchdog timer") ----------------------------------------------------------- */
#define WDT_RR_VALUE 0x6E524635u

/* 32.768 kHz ticks to ps: ticks * 1e12 / 32768 = ticks * 244140625 / 8 (no overflow for 2^32). */
static uint64_t lf_ticks_ps(uint64_t ticks) { return ticks * 244140625ull / 8ull; }

static void wdt_irq_update(n52_s *c)
{
    bool lvl = (c->wdt_inten & 1u) && c->wdt_event_timeout;
    if (lvl && !c->wdt_irq)
        simi_irq_set(c->b, N52_IRQ_WDT, true);
    c->wdt_irq = lvl;
}

static void wdt_fire(sim_board_s *b, void *ctx)
{
    n52_s *c = ctx;
    if (!c->wdt_timed_out) {
        /* TIMEOUT event; the reset follows two 32.768 kHz cycles later */
        c->wdt_timed_out = true;
        c->wdt_event_timeout = 1;
        wdt_irq_update(c);
        simi_timer_arm(b, &c->wdt_timer, simi_now(b) + lf_ticks_ps(2));
        return;
    }
    simi_request_system_reset(b, "watchdog");
}

static void wdt_reload(n52_s *c)
{
    c->wdt_reqstatus = c->wdt_rren;
    simi_timer_arm(c->b, &c->wdt_timer, simi_now(c->b) + lf_ticks_ps((uint64_t)c->wdt_crv + 1u));
}

static void wdt_reset(n52_s *c)
{
    simi_timer_cancel(c->b, &c->wdt_timer);
    c->wdt_running = false;
    c->wdt_crv = 0xFFFFFFFFu;
    c->wdt_rren = 1u;
    c->wdt_config = 1u;
    c->wdt_reqstatus = 1u;
    c->wdt_inten = 0;
    c->wdt_event_timeout = 0;
    c->wdt_timed_out = false;
    c->wdt_irq = false;
}

static int wdt_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case 0x100: r = c->wdt_event_timeout; break;
    case 0x304: case 0x308: r = c->wdt_inten; break;
    case 0x400: r = c->wdt_running ? 1u : 0u; break;
    case 0x404: r = c->wdt_reqstatus; break;
    case 0x504: r = c->wdt_crv; break;
    case 0x508: r = c->wdt_rren; break;
    case 0x50C: r = c->wdt_config; break;
    default: r = 0; break; /* TASKS_START and RR[n] are write-only */
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int wdt_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    switch (reg) {
    case 0x000:
        if ((v & 1u) && !c->wdt_running) {
            c->wdt_running = true;
            wdt_reload(c);
        }
        break;
    case 0x100: c->wdt_event_timeout = v & 1u; wdt_irq_update(c); break;
    case 0x304: c->wdt_inten |= v & 1u; wdt_irq_update(c); break;
    case 0x308: c->wdt_inten &= ~(v & 1u); break;
    /* CRV, RREN, CONFIG cannot be changed once the watchdog runs */
    case 0x504:
        if (!c->wdt_running)
            c->wdt_crv = v < 0xFu ? 0xFu : v; /* minimum CRV is 0xF */
        break;
    case 0x508:
        if (!c->wdt_running) {
            c->wdt_rren = v & 0xFFu;
            c->wdt_reqstatus = c->wdt_rren;
        }
        break;
    case 0x50C:
        if (!c->wdt_running)
            c->wdt_config = v & 0x9u;
        break;
    default:
        if (reg >= 0x600u && reg < 0x620u) {
            unsigned n = (reg - 0x600u) / 4u;
            if (c->wdt_running && v == WDT_RR_VALUE && (c->wdt_rren & (1u << n)) && !c->wdt_timed_out) {
                c->wdt_reqstatus &= ~(1u << n);
                if (!(c->wdt_reqstatus & c->wdt_rren))
                    wdt_reload(c);
            }
        }
        break;
    }
    return SIM_BUS_OK;
}

/* ---- CLOCK / POWER (share 0x40000000) ---------------------------------------------------------- */
#define CP(c, off) ((c)->cp[(off) / 4])

static void cp_irq_update(n52_s *c)
{
    bool lvl = false;
    for (unsigned i = 0; i < 32; i++)
        if ((c->cp_inten & (1u << i)) && c->cp[(0x100u + 4u * i) / 4])
            lvl = true;
    if (lvl && !c->cp_irq)
        simi_irq_set(c->b, N52_IRQ_POWER_CLOCK, true);
    c->cp_irq = lvl;
}

static void cp_reset(n52_s *c)
{
    uint32_t gpregret = CP(c, 0x51C), gpregret2 = CP(c, 0x520);
    memset(c->cp, 0, sizeof c->cp);
    CP(c, 0x51C) = gpregret;   /* GPREGRET/GPREGRET2 are retained over soft resets */
    CP(c, 0x520) = gpregret2;
    CP(c, 0x528) = 0x10u;      /* HFXODEBOUNCE */
    CP(c, 0x55C) = 0;          /* TRACECONFIG */
    for (unsigned n = 0; n < 9; n++)
        CP(c, 0x900u + 0x10u * n) = 0xFFFFu; /* RAM[n].POWER: all sections on */
    CP(c, 0x640) = 0;          /* MAINREGSTATUS: normal voltage */
    c->cp_inten = 0;
    c->cp_irq = false;
}

static int cp_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u, r;
    if (reg < 0x100u)
        r = 0;
    else if (reg == 0x304 || reg == 0x308)
        r = c->cp_inten;
    else
        r = c->cp[reg / 4];
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int cp_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    if (reg < 0x100u) {
        if (!(v & 1u))
            return SIM_BUS_OK;
        switch (reg) {
        case 0x000: /* HFCLKSTART: the crystal oscillator starts (at once in the model) */
            CP(c, 0x408) = 1;                     /* HFCLKRUN */
            CP(c, 0x40C) = (1u << 16) | 1u;       /* HFCLKSTAT: running, Xtal */
            CP(c, 0x100) = 1;                     /* EVENTS_HFCLKSTARTED */
            break;
        case 0x004: /* HFCLKSTOP: back to HFINT */
            CP(c, 0x408) = 0;
            CP(c, 0x40C) = 0;
            break;
        case 0x008: /* LFCLKSTART */
            CP(c, 0x414) = 1;
            CP(c, 0x41C) = CP(c, 0x518) & 3u;    /* LFCLKSRCCOPY */
            CP(c, 0x418) = (1u << 16) | (CP(c, 0x518) & 3u);
            CP(c, 0x104) = 1;                     /* EVENTS_LFCLKSTARTED */
            break;
        case 0x00C: /* LFCLKSTOP */
            CP(c, 0x414) = 0;
            CP(c, 0x418) = 0;
            break;
        case 0x010: CP(c, 0x10C) = 1; break;      /* CAL -> EVENTS_DONE */
        case 0x014: CP(c, 0x128) = 1; break;      /* CTSTART -> EVENTS_CTSTARTED */
        case 0x018: CP(c, 0x12C) = 1; break;      /* CTSTOP -> EVENTS_CTSTOPPED */
        default: break;                           /* CONSTLAT, LOWPWR */
        }
        cp_irq_update(c);
        return SIM_BUS_OK;
    }
    if (reg < 0x200u) {
        c->cp[reg / 4] = v & 1u;
        cp_irq_update(c);
        return SIM_BUS_OK;
    }
    switch (reg) {
    case 0x304: c->cp_inten |= v; cp_irq_update(c); break;
    case 0x308: c->cp_inten &= ~v; break;
    case 0x400: CP(c, 0x400) &= ~v; break; /* RESETREAS: write 1 clears */
    case 0x408: case 0x40C: case 0x414: case 0x418: case 0x41C: case 0x428: case 0x438: case 0x640:
        break; /* read-only status */
    case 0x500:
        if (v & 1u)
            simi_log(c->b, LODE_LOG_WARN, "nrf52: POWER.SYSTEMOFF requested: System OFF is not modelled");
        break;
    case 0x51C: case 0x520: CP(c, reg) = v & 0xFFu; break;
    default:
        if (reg >= 0x900u && reg < 0x990u && (reg & 0xFu) == 4u) {
            CP(c, reg & ~0xFu) |= v; /* RAM[n].POWERSET */
        } else if (reg >= 0x900u && reg < 0x990u && (reg & 0xFu) == 8u) {
            CP(c, reg & ~0xFu) &= ~v; /* RAM[n].POWERCLR */
        } else {
            c->cp[reg / 4] = v;
        }
        break;
    }
    return SIM_BUS_OK;
}

/* ---- GPIO P0 (0x50000000) and P1 (0x50000300), registers at +0x504.. ---------------------------- */
static bool gpio_decode(uint32_t off, unsigned *port, uint32_t *reg)
{
    if (off >= 0x500u && off < 0x780u) {
        *port = 0;
        *reg = off;
        return true;
    }
    if (off >= 0x800u && off < 0xA80u) {
        *port = 1;
        *reg = off - 0x300u;
        return true;
    }
    return false;
}

static uint32_t gpio_dir(const n52_s *c, unsigned p)
{
    uint32_t d = 0;
    for (unsigned i = 0; i < 32; i++)
        d |= (c->pin_cnf[p][i] & 1u) << i;
    return d;
}

/* IN: a pin whose input buffer is connected reads what drives it: its own output when it is
 * an output, else its pull resistor (nothing external is attached). */
static uint32_t gpio_in(const n52_s *c, unsigned p)
{
    uint32_t in = 0;
    for (unsigned i = 0; i < 32; i++) {
        uint32_t cnf = c->pin_cnf[p][i];
        if (cnf & 2u)
            continue; /* INPUT disconnected */
        bool bit = (cnf & 1u) ? ((c->out[p] >> i) & 1u) : (((cnf >> 2) & 3u) == 3u);
        in |= (uint32_t)bit << i;
    }
    return in;
}

static uint32_t gpio_pins(unsigned p) { return p == 0 ? 0xFFFFFFFFu : 0x0000FFFFu; }

static int gpio_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    unsigned p;
    uint32_t reg, r = 0;
    if (gpio_decode(off & ~3u, &p, &reg)) {
        switch (reg) {
        case 0x504: case 0x508: case 0x50C: r = c->out[p]; break;
        case 0x510: r = gpio_in(c, p); break;
        case 0x514: case 0x518: case 0x51C: r = gpio_dir(c, p); break;
        case 0x520: r = c->latch[p]; break;
        case 0x524: r = c->detectmode[p]; break;
        default:
            if (reg >= 0x700u && (reg - 0x700u) / 4u < 32u)
                r = c->pin_cnf[p][(reg - 0x700u) / 4u];
            break;
        }
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static void set_dir(n52_s *c, unsigned p, uint32_t mask, bool out)
{
    for (unsigned i = 0; i < 32; i++)
        if (mask & (1u << i))
            c->pin_cnf[p][i] = (c->pin_cnf[p][i] & ~1u) | (out ? 1u : 0u);
}

static int gpio_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    n52_s *c = ctx;
    (void)who;
    unsigned p;
    uint32_t reg;
    if (!gpio_decode(off & ~3u, &p, &reg))
        return SIM_BUS_OK;
    uint32_t m = gpio_pins(p);
    uint32_t v = simi_merge_lanes(0, off, size, val) & m;
    switch (reg) {
    case 0x504: c->out[p] = v; break;
    case 0x508: c->out[p] |= v; break;
    case 0x50C: c->out[p] &= ~v; break;
    case 0x514: set_dir(c, p, m, false); set_dir(c, p, v, true); break;
    case 0x518: set_dir(c, p, v, true); break;
    case 0x51C: set_dir(c, p, v, false); break;
    case 0x520: c->latch[p] &= ~v; break; /* write 1 clears */
    case 0x524: c->detectmode[p] = v & 1u; break;
    default:
        if (reg >= 0x700u && (reg - 0x700u) / 4u < 32u && ((m >> ((reg - 0x700u) / 4u)) & 1u))
            c->pin_cnf[p][(reg - 0x700u) / 4u] = simi_merge_lanes(0, off, size, val) & 0x0003070Fu;
        break;
    }
    return SIM_BUS_OK;
}

static void gpio_reset(n52_s *c)
{
    for (unsigned p = 0; p < 2; p++) {
        c->out[p] = c->latch[p] = c->detectmode[p] = 0;
        for (unsigned i = 0; i < 32; i++)
            c->pin_cnf[p][i] = 0x2u; /* input, buffer disconnected */
    }
}

/* ---- reset / free ----------------------------------------------------------------------------- */
static void n52_reset(void *ctx)
{
    n52_s *c = ctx;
    simi_timer_cancel(c->b, &c->nvmc_timer);
    c->busy_until = 0;
    c->config = 0;
    c->partial_cfg = 0x0Au; /* 10 ms */
    c->icachecnf = 0;
    c->ihit = c->imiss = 0;
    ua_reset(c);
    wdt_reset(c);
    cp_reset(c);
    gpio_reset(c);
}

static void n52_free(void *ctx)
{
    n52_s *c = ctx;
    if (!c)
        return;
    free(c->nwrites);
    free(c->uicr_nwrites);
    free(c);
}

static const sim_periph_ops_s nvmc_ops = {nvmc_read, nvmc_write, n52_reset, n52_free};
static const sim_periph_ops_s ficr_ops = {ficr_read, ignore_write, NULL, NULL};
static const sim_periph_ops_s ua_ops = {ua_read, ua_write, NULL, NULL};
static const sim_periph_ops_s wdt_ops = {wdt_read, wdt_write, NULL, NULL};
static const sim_periph_ops_s cp_ops = {cp_read, cp_write, NULL, NULL};
static const sim_periph_ops_s gpio_ops = {gpio_read, gpio_write, NULL, NULL};

/* Peripheral instances of the PS instantiation table that are not modelled. IDs without an
 * instance (0x4002A000-0x4002C000, 0x4002E000) are left out so accesses there bus-fault. */
static const struct {
    uint32_t base, size;
} n52_unmodeled[] = {
    {0x40001000u, 0x1000},  /* RADIO */
    {0x40003000u, 0xD000},  /* SPI0/TWI0 .. AAR/CCM (0x40003000-0x4000FFFF) */
    {0x40011000u, 0xD000},  /* RTC1 .. PDM (0x40011000-0x4001DFFF) */
    {0x4001F000u, 0xB000},  /* PPI, MWU, PWM1, PWM2, SPI2, RTC2, I2S, FPU, USBD, UARTE1, QSPI */
    {0x4002D000u, 0x1000},  /* PWM3 */
    {0x4002F000u, 0x1000},  /* SPIM3 */
    {0x5002A000u, 0x2000},  /* CRYPTOCELL */
};

static int n52_build(sim_board_s *b, const sim_chip_desc_s *desc)
{
    (void)desc;
    n52_s *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->b = b;
    c->nwrites = calloc(N52_FLASH_SIZE / 4, 1);
    c->uicr_nwrites = calloc(N52_PAGE / 4, 1);
    c->flash = simi_add_flash(b, "flash", 0x00000000u, N52_FLASH_SIZE, N52_PAGE, SIM_NO_ALIAS);
    c->uicr = simi_add_flash(b, "UICR", N52_UICR_BASE, N52_PAGE, N52_PAGE, SIM_NO_ALIAS);
    if (!c->nwrites || !c->uicr_nwrites || !c->flash || !c->uicr) {
        n52_free(c);
        return -1;
    }
    c->nvmc_timer.fn = nvmc_done;
    c->nvmc_timer.ctx = c;
    c->ua_timer.fn = ua_tx_step;
    c->ua_timer.ctx = c;
    c->wdt_timer.fn = wdt_fire;
    c->wdt_timer.ctx = c;
    n52_reset(c);

    /* The NVMC periph owns c; the others borrow it. */
    int rc = simi_add_periph(b, "NVMC", N52_NVMC_BASE, 0x1000, &nvmc_ops, c);
    if (rc != 0)
        return rc;
    simi_set_flashctl(b, c->flash, &nvmc_flashctl, c);
    simi_set_flashctl(b, c->uicr, &nvmc_flashctl, c);
    rc |= simi_add_ram(b, "ram", N52_RAM_BASE, N52_RAM_SIZE);
    rc |= simi_add_periph(b, "FICR", N52_FICR_BASE, 0x1000, &ficr_ops, c);
    rc |= simi_add_periph(b, "CLOCK/POWER", N52_CLOCK_BASE, 0x1000, &cp_ops, c);
    rc |= simi_add_periph(b, "UARTE0", N52_UARTE0_BASE, 0x1000, &ua_ops, c);
    rc |= simi_add_periph(b, "WDT", N52_WDT_BASE, 0x1000, &wdt_ops, c);
    rc |= simi_add_periph(b, "GPIO", N52_GPIO_BASE, 0x1000, &gpio_ops, c);
    for (size_t i = 0; i < sizeof n52_unmodeled / sizeof n52_unmodeled[0]; i++)
        rc |= simi_add_unmodeled_window(b, n52_unmodeled[i].base, n52_unmodeled[i].size);
    return rc;
}

const sim_chip_desc_s simi_chip_nrf52840 = {
    .name = "nRF52840_xxAA",
    .core = SIM_CORE_M4F,
    .cpu_hz = 64000000u,
    .dpidr = 0x2BA01477u,
    /* Nordic's ROM table: designer Nordic Semiconductor (JEP106 bank 3, 0x44: 0x244); the
     * product specification gives no part number for it, 0x000 here (lode reads only the
     * designer) */
    .rom_designer = 0x244u,
    .rom_part = 0x000u,
    .nvic_irqs = 48u,
    .prio_bits = 3, /* nRF52840: 3 implemented priority bits (8 levels) */
    .build = n52_build,
};
