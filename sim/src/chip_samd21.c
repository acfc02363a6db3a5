/* SPDX-License-Identifier: MIT */
/* ATSAMD21G18A (Cortex-M0+, 256 KiB flash, 32 KiB SRAM) as on the Arduino Zero: memories,
 * NVMCTRL (page buffer, row erase, user row with BOOTPROT and the region locks), DSU (DID,
 * chip erase, CRC32), PM, SYSCTRL, GCLK, PORT (registers only) and the SERCOM USARTs.
 *
 * Source: the SAM D21 family datasheet (Microchip DS40001882): §9 memories (memory map, NVM
 * user row layout, serial number words), §13 DSU, §15 GCLK, §16 PM, §17 SYSCTRL, §22 NVMCTRL,
 * §25-26 SERCOM/USART, §37 "NVM characteristics" (page write 2.5 ms, row erase 6 ms: the
 * maxima the datasheet gives). Written from those register descriptions.
 *
 * The factory state is an Arduino Zero's: lode's own SAM-BA bootloader (firmware/samd21,
 * embedded by the build when firmware is built) at 0x0000 and the user row with BOOTPROT = 8 KiB.
 *
 * What is not modelled (documented choices):
 *  - The clock tree is followed as far as GCLK generator 0 (the core) and the generator feeding
 *    each SERCOM: OSC8M (with its prescaler), DFLL48M (48 MHz when enabled, open or closed
 *    loop), OSC32K/XOSC32K/OSCULP32K (32768 Hz), XOSC and FDPLL96M are taken as 0 Hz (logged).
 *    Oscillators are ready at once (PCLKSR reads all ready).
 *  - SERCOMs do USART only (internal clock, asynchronous); SPI and I2C modes are registers only.
 *  - The native USB port is not modelled as the USB peripheral: a SERCOM USART stands for its
 *    CDC function when a host line says so (simi_uart_usb; lode sim-server --board zero does
 *    for SERCOM5). The registers stay the USART's; the timing and flow control become USB
 *    full speed's (USB 2.0 §5.8, §8.4, §11.18): 1 ms frames of at most 19 bulk packets of 64
 *    bytes (a packet moves in 1/19 ms, on that grid), two 64-byte banks each way (the
 *    endpoints' ping-pong banks, §32.6.2.8); an OUT packet is taken only into a free bank (a
 *    full one answers NAK and the host tries again — nothing is lost while the firmware is
 *    busy, e.g. waiting for the flash), an IN packet carries what the banks hold at its slot.
 *  - The security bit (SSB) is kept in STATUS.SB but does not block the debugger.
 *  - PAC write protection is not enforced; EEPROM emulation area sizes are not enforced.
 *  - The SysTick CALIB, the MTB and the DMAC are not modelled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simi.h"

/* ---- memory map (§9.2) ----------------------------------------------------------------------- */
#define SD_FLASH_SIZE (256u * 1024u)
#define SD_PAGE 64u
#define SD_ROW 256u
#define SD_SRAM_BASE 0x20000000u
#define SD_SRAM_SIZE (32u * 1024u)
#define SD_USER_ROW 0x00804000u /* NVM user row: one row */
#define SD_USER_MAP 0x1000u     /* mapped as 4 KiB (the CPU's page): the rest reads erased */
#define SD_CAL_BASE 0x00806000u /* NVM software calibration area at 0x00806020 */
#define SD_SERIAL_BASE 0x0080A000u
#define SD_PM 0x40000400u
#define SD_SYSCTRL 0x40000800u
#define SD_GCLK 0x40000C00u
#define SD_DSU 0x41002000u
#define SD_NVMCTRL 0x41004000u
#define SD_PORT 0x41004400u
#define SD_SERCOM0 0x42000800u
#define SD_NSERCOM 6u
#define SD_IRQ_NVMCTRL 5u
#define SD_IRQ_SERCOM0 9u

/* DSU.DID (§13.13.14): PROCESSOR 1 (Cortex-M0+), FAMILY 0, SERIES 1 (SAMD21), DIE 0,
 * REVISION 3 (D), DEVSEL 0x05 (SAMD21G18A) */
#define SD_DID 0x10010305u

/* §37.12 NVM characteristics: tFPP page programming 2.5 ms, tFRE row erase 6 ms; chip erase
 * through the DSU 240 ms */
#define SD_T_WRITE_PS (2500ull * SIM_PS_PER_US)
#define SD_T_ERASE_PS (6ull * SIM_PS_PER_MS)
#define SD_T_CHIP_ERASE_PS (240ull * SIM_PS_PER_MS)

/* NVMCTRL (§22.8) */
#define NV_CTRLA 0x00u
#define NV_CTRLB 0x04u
#define NV_PARAM 0x08u
#define NV_INTENCLR 0x0Cu
#define NV_INTENSET 0x10u
#define NV_INTFLAG 0x14u
#define NV_STATUS 0x18u
#define NV_ADDR 0x1Cu
#define NV_LOCK 0x20u
#define NV_CMDEX_KEY 0xA5u
#define NV_CMD_ER 0x02u
#define NV_CMD_WP 0x04u
#define NV_CMD_EAR 0x05u
#define NV_CMD_WAP 0x06u
#define NV_CMD_SF 0x0Au
#define NV_CMD_WL 0x0Fu
#define NV_CMD_LR 0x40u
#define NV_CMD_UR 0x41u
#define NV_CMD_SPRM 0x42u
#define NV_CMD_CPRM 0x43u
#define NV_CMD_PBC 0x44u
#define NV_CMD_SSB 0x45u
#define NV_CMD_INVALL 0x46u
#define NV_INT_READY 0x01u
#define NV_INT_ERROR 0x02u
#define NV_ST_PRM (1u << 0)
#define NV_ST_LOAD (1u << 1)
#define NV_ST_PROGE (1u << 2)
#define NV_ST_LOCKE (1u << 3)
#define NV_ST_NVME (1u << 4)
#define NV_ST_SB (1u << 8)
#define NV_CTRLB_MANW (1u << 7)
/* PARAM: NVMP = 4096 pages, PSZ = 3 (64 bytes), no RWWEE */
#define SD_PARAM ((3u << 16) | (SD_FLASH_SIZE / SD_PAGE))

/* SERCOM USART registers (§26.8) */
#define US_CTRLA 0x00u
#define US_CTRLB 0x04u
#define US_BAUD 0x0Cu
#define US_INTENCLR 0x14u
#define US_INTENSET 0x16u
#define US_INTFLAG 0x18u
#define US_STATUS 0x1Au
#define US_SYNCBUSY 0x1Cu
#define US_DATA 0x28u
#define US_DBGCTRL 0x30u
#define US_INT_DRE 0x01u
#define US_INT_TXC 0x02u
#define US_INT_RXC 0x04u
#define US_ST_BUFOVF 0x04u
#define US_CTRLA_ENABLE (1u << 1)
#define US_CTRLB_TXEN (1u << 16)
#define US_CTRLB_RXEN (1u << 17)
/* USB full speed: 1 ms frames, 19 bulk packets of 64 bytes in one at most */
#define US_USB_MPS 64u
#define US_USB_FRAME_PS (1000ull * SIM_PS_PER_US)
#define US_USB_SLOTS 19u

typedef struct sd_s sd_s;

typedef struct sd_sercom_s {
    sd_s *c;
    unsigned idx;
    char name[8];
    uint32_t ctrla, ctrlb, ctrlc;
    uint16_t baud;
    uint8_t intenset, intflag, dbgctrl;
    uint16_t status;
    bool irq;
    /* transmitter: shift register busy until the timer fires; DATA buffer one deep */
    bool shifting, tx_full;
    uint8_t tx_shift, tx_buf;
    sim_timer_s tx_timer;
    /* receiver: two-level FIFO; the host's bytes wait in rxq, one frame apart */
    uint8_t fifo[2 * US_USB_MPS]; /* UART: 2 deep; USB: the two OUT banks */
    unsigned fifoh, nfifo;
    uint8_t rxq[4096]; /* sim_serial.c hands over at most half of it at a time */
    size_t rxh, rxn;
    sim_timer_s rx_timer;
    /* standing for a USB CDC function (see the top): the packets on the bus; rx_timer and
     * tx_timer then tick at slot boundaries */
    bool usb;
    uint8_t out_pkt[US_USB_MPS], in_pkt[US_USB_MPS], txq[2 * US_USB_MPS];
    unsigned out_n, in_n, txh, ntx;
} sd_sercom_s;

struct sd_s {
    sim_board_s *b;
    sim_nor_s *flash, *user;
    /* NVMCTRL */
    uint32_t ctrlb, addr;
    uint16_t status, lock;
    uint32_t bootprot;      /* bytes, latched from the user row at reset */
    uint8_t intenset, intflag_error;
    uint8_t pagebuf[SD_PAGE];
    bool pb_loaded;
    uint64_t busy_until;
    sim_timer_s op_timer;
    bool nv_irq;
    /* DSU */
    uint8_t dsu_ctrl, dsu_statusa;
    uint32_t dsu_addr, dsu_length, dsu_data, dsu_dcc[2];
    sim_timer_s dsu_timer;
    /* PM */
    uint8_t pm_ctrl, pm_sleep, pm_cpusel, pm_apbsel[3], pm_rcause;
    uint32_t pm_ahbmask, pm_apbmask[3];
    /* SYSCTRL */
    uint32_t osc8m, dfllctrl, dfllval, dfllmul, xosc32k, osc32k, bod33, vref, xosc, dpllctrl[3];
    /* GCLK */
    uint8_t gclk_sel_gen, gclk_sel_div, gclk_sel_id;
    uint32_t genctrl[9], gendiv[9];
    uint16_t clkctrl[0x25];
    /* PORT: two groups, registers only */
    uint32_t port_dir[2], port_out[2], port_pincfg[2][8], port_pmux[2][4];
    sd_sercom_s sercom[SD_NSERCOM];
};

/* ---- clocks ------------------------------------------------------------------------------------ */
static uint32_t src_hz(const sd_s *c, unsigned src, unsigned depth);

static uint32_t gen_hz(const sd_s *c, unsigned gen, unsigned depth)
{
    if (gen > 8 || depth > 3)
        return 0;
    uint32_t g = c->genctrl[gen];
    if (!(g & (1u << 16))) /* GENEN */
        return 0;
    uint32_t hz = src_hz(c, (g >> 8) & 0x1Fu, depth + 1);
    uint32_t div = c->gendiv[gen] >> 8 & (gen == 1 ? 0xFFFFu : gen == 2 ? 0x1Fu : 0xFFu);
    if (g & (1u << 20)) /* DIVSEL: 2^(DIV+1) */
        return div >= 31 ? 0 : hz >> (div + 1);
    return div > 1 ? hz / div : hz;
}

static uint32_t src_hz(const sd_s *c, unsigned src, unsigned depth)
{
    switch (src) {
    case 0x02: return gen_hz(c, 1, depth);                          /* GCLKGEN1 */
    case 0x03: case 0x04: case 0x05: return 32768u;                 /* OSCULP32K, OSC32K, XOSC32K */
    case 0x06: return (c->osc8m & 2u) ? 8000000u >> ((c->osc8m >> 8) & 3u) : 0; /* OSC8M / PRESC */
    case 0x07: return (c->dfllctrl & 2u) ? 48000000u : 0;           /* DFLL48M */
    default: return 0;                                              /* XOSC, GCLKIN, FDPLL96M */
    }
}

static void clocks_changed(sd_s *c)
{
    uint32_t hz = gen_hz(c, 0, 0) >> (c->pm_cpusel & 7u);
    if (hz == 0) {
        simi_log(c->b, LODE_LOG_WARN, "samd21: GCLK0 stopped (source not modelled): core kept at 1 MHz");
        hz = 1000000u;
    }
    if (hz != simi_cpu_hz(c->b))
        simi_set_cpu_hz(c->b, hz);
}

/* the clock of a GCLK channel (SERCOMn_CORE = 0x14 + n): its generator's, when enabled */
static uint32_t channel_hz(const sd_s *c, unsigned id)
{
    if (id >= sizeof c->clkctrl / sizeof c->clkctrl[0])
        return 0;
    uint16_t cc = c->clkctrl[id];
    if (!(cc & (1u << 14)))
        return 0;
    return gen_hz(c, (cc >> 8) & 0xFu, 0);
}

/* ---- NVMCTRL ----------------------------------------------------------------------------------- */
static void nv_irq_update(sd_s *c)
{
    uint8_t flags = (uint8_t)((c->op_timer.armed ? 0 : NV_INT_READY) | c->intflag_error);
    bool level = (flags & c->intenset) != 0;
    if (level && !c->nv_irq)
        simi_irq_set(c->b, SD_IRQ_NVMCTRL, true);
    c->nv_irq = level;
}

static void nv_op_done(sim_board_s *b, void *ctx)
{
    (void)b;
    nv_irq_update(ctx);
}

static void nv_busy(sd_s *c, uint64_t dur)
{
    uint64_t now = simi_now(c->b);
    c->busy_until = now + dur;
    simi_flash_busy_until(c->b, c->busy_until);
    simi_timer_arm(c->b, &c->op_timer, c->busy_until);
    nv_irq_update(c);
}

static void nv_error(sd_s *c, uint16_t bits)
{
    c->status |= bits;
    c->intflag_error = NV_INT_ERROR;
    nv_irq_update(c);
}

/* BOOTPROT (user row bits 2:0): 7 = none, 6 = 512 bytes ... 0 = 32 KiB (§22.6.5); the NVM
 * reads the user row at reset, so a new value counts from the next reset */
static uint32_t bootprot_bytes(const sd_s *c)
{
    unsigned bp = c->user->mem[0] & 7u;
    return bp == 7 ? 0 : 512u << (6 - bp);
}

/* The region lock bits (16 regions of 16 KiB) or the BOOTPROT section refuse a row or page. */
static bool nv_locked(const sd_s *c, uint32_t off)
{
    if (off < c->bootprot)
        return true;
    unsigned region = off / (SD_FLASH_SIZE / 16u);
    return !(c->lock & (1u << region));
}

static void pb_clear(sd_s *c)
{
    memset(c->pagebuf, 0xFF, sizeof c->pagebuf);
    c->pb_loaded = false;
    c->status &= (uint16_t)~NV_ST_LOAD;
}

/* The byte address ADDR names (ADDR holds half-word addresses, §22.8.8): in the main array, or
 * for EAR/WAP in the auxiliary space at 0x00800000 (the user row is ADDR 0x2000). */
static uint32_t nv_byte_addr(const sd_s *c) { return (c->addr & 0x3FFFFFu) * 2u; }
static uint32_t nv_aux_addr(const sd_s *c) { return 0x00800000u | ((c->addr & 0x3FFFFFu) * 2u & 0x7FFFFFu); }

static void nv_write_page(sd_s *c, sim_nor_s *nor, uint32_t off)
{
    off &= ~(SD_PAGE - 1u);
    uint8_t data[SD_PAGE];
    memcpy(data, c->pagebuf, SD_PAGE);
    pb_clear(c); /* §22.6.4.2: the page buffer is cleared (all ones) by a page write */
    if (simi_flash_op_begin(c->b, nor, off, SD_PAGE, false, data))
        return;
    simi_nor_program(c->b, nor, off, data, SD_PAGE);
    nv_busy(c, SD_T_WRITE_PS);
}

static void nv_command(sd_s *c, uint16_t v)
{
    unsigned cmd = v & 0x7Fu;
    if ((v >> 8) != NV_CMDEX_KEY) {
        nv_error(c, NV_ST_PROGE);
        return;
    }
    if (c->op_timer.armed) {
        /* a command while busy (INTFLAG.READY = 0) is not executed */
        simi_log(c->b, LODE_LOG_DEBUG, "samd21: NVMCTRL command 0x%02x while busy ignored", cmd);
        return;
    }
    uint32_t a = nv_byte_addr(c);
    switch (cmd) {
    case NV_CMD_ER:
    case NV_CMD_WP:
        if (a >= SD_FLASH_SIZE) {
            nv_error(c, NV_ST_PROGE);
            return;
        }
        if (nv_locked(c, a)) {
            nv_error(c, NV_ST_LOCKE);
            return;
        }
        if (cmd == NV_CMD_WP) {
            nv_write_page(c, c->flash, a);
        } else {
            uint32_t row = a & ~(SD_ROW - 1u);
            if (simi_flash_op_begin(c->b, c->flash, row, SD_ROW, true, NULL))
                return;
            simi_nor_erase(c->b, c->flash, row, SD_ROW);
            nv_busy(c, SD_T_ERASE_PS);
        }
        return;
    case NV_CMD_EAR:
    case NV_CMD_WAP:
        /* the auxiliary space: only the user row may be erased or written (§22.6.5) */
        a = nv_aux_addr(c);
        if (a < SD_USER_ROW || a >= SD_USER_ROW + SD_ROW || (c->status & NV_ST_SB)) {
            nv_error(c, NV_ST_PROGE);
            return;
        }
        if (cmd == NV_CMD_WAP) {
            nv_write_page(c, c->user, a - SD_USER_ROW);
        } else {
            simi_nor_erase(c->b, c->user, 0, SD_ROW);
            nv_busy(c, SD_T_ERASE_PS);
        }
        return;
    case NV_CMD_LR:
    case NV_CMD_UR: {
        if (a >= SD_FLASH_SIZE) {
            nv_error(c, NV_ST_PROGE);
            return;
        }
        uint16_t bit = (uint16_t)(1u << (a / (SD_FLASH_SIZE / 16u)));
        c->lock = cmd == NV_CMD_UR ? (uint16_t)(c->lock | bit) : (uint16_t)(c->lock & ~bit);
        nv_busy(c, SD_T_WRITE_PS);
        return;
    }
    case NV_CMD_SPRM: c->status |= NV_ST_PRM; return;
    case NV_CMD_CPRM: c->status &= (uint16_t)~NV_ST_PRM; return;
    case NV_CMD_PBC: pb_clear(c); return;
    case NV_CMD_SSB: c->status |= NV_ST_SB; nv_busy(c, SD_T_WRITE_PS); return;
    case NV_CMD_INVALL: return;
    default:
        nv_error(c, NV_ST_PROGE);
        return;
    }
}

/* A store into the flash or the user row lands in the page buffer (§22.6.4.2): 16- or 32-bit
 * only; with CTRLB.MANW = 0 the store to the page buffer's last word writes the page. */
static int nv_array_write(void *ctx, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    if (size == 1) {
        simi_log(c->b, LODE_LOG_WARN, "samd21: 8-bit store to NVM 0x%08x: the page buffer takes 16 or 32 bits", addr);
        return SIM_BUS_OK;
    }
    if (c->op_timer.armed) /* the AHB stalls until the NVM is ready: let the clock jump */
        simi_flash_busy_until(c->b, c->busy_until);
    uint32_t o = addr & (SD_PAGE - 1u);
    for (unsigned i = 0; i < size; i++)
        c->pagebuf[o + i] = (uint8_t)(val >> (8 * i));
    c->pb_loaded = true;
    c->status |= NV_ST_LOAD;
    c->addr = (addr / 2u) & 0x3FFFFFu;
    if (!(c->ctrlb & NV_CTRLB_MANW) && o + size == SD_PAGE) {
        bool user = addr >= SD_USER_ROW;
        uint32_t off = user ? addr - SD_USER_ROW : addr;
        if (user) {
            nv_write_page(c, c->user, off); /* automatic WAP */
        } else if (nv_locked(c, off)) {
            nv_error(c, NV_ST_LOCKE);
        } else {
            nv_write_page(c, c->flash, off);
        }
    }
    return SIM_BUS_OK;
}

static const sim_flashctl_ops_s nv_flashctl = {.array_write = nv_array_write};

static int nv_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case NV_CTRLA: r = 0; break;
    case NV_CTRLB: r = c->ctrlb; break;
    case NV_PARAM: r = SD_PARAM; break;
    case NV_INTENCLR: case NV_INTENSET: r = c->intenset; break;
    case NV_INTFLAG: r = (c->op_timer.armed ? 0 : NV_INT_READY) | c->intflag_error; break;
    case NV_STATUS: r = c->status; break;
    case NV_ADDR: r = c->addr; break;
    case NV_LOCK: r = c->lock; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size); /* READY changes through the op timer: stable */
    return SIM_BUS_OK;
}

static int nv_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u, v = simi_merge_lanes(0, off, size, val);
    switch (reg) {
    case NV_CTRLA:
        if ((off & 3u) == 0 && size >= 2)
            nv_command(c, (uint16_t)v);
        else
            nv_error(c, NV_ST_PROGE); /* the key and the command come in one write */
        break;
    case NV_CTRLB: c->ctrlb = simi_merge_lanes(c->ctrlb, off, size, val) & 0x000703DEu; break;
    case NV_INTENCLR: c->intenset &= (uint8_t)~v; break;
    case NV_INTENSET: c->intenset |= (uint8_t)(v & 3u); break;
    case NV_INTFLAG:
        if (v & NV_INT_ERROR)
            c->intflag_error = 0;
        break;
    case NV_STATUS:
        c->status &= (uint16_t)~(v & (NV_ST_PROGE | NV_ST_LOCKE | NV_ST_NVME));
        break;
    case NV_ADDR: c->addr = simi_merge_lanes(c->addr, off, size, val) & 0x3FFFFFu; break;
    default: break;
    }
    nv_irq_update(c);
    return SIM_BUS_OK;
}

/* ---- DSU (§13) --------------------------------------------------------------------------------- */
static uint32_t crc32_step(uint32_t crc, uint8_t byte)
{
    crc ^= byte;
    for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    return crc;
}

static void dsu_done(sim_board_s *b, void *ctx)
{
    (void)b;
    sd_s *c = ctx;
    c->dsu_statusa |= 1u; /* DONE */
}

static void dsu_ctrl(sd_s *c, uint8_t v)
{
    if (c->dsu_timer.armed)
        return;
    if (v & 0x10u) { /* CE: chip erase (§13.11.2): the main array; the user row is kept */
        c->dsu_statusa &= (uint8_t)~0x1Du;
        if (!simi_flash_op_begin(c->b, c->flash, 0, SD_FLASH_SIZE, true, NULL))
            simi_nor_erase(c->b, c->flash, 0, SD_FLASH_SIZE);
        simi_flash_busy_until(c->b, simi_now(c->b) + SD_T_CHIP_ERASE_PS);
        simi_timer_arm(c->b, &c->dsu_timer, simi_now(c->b) + SD_T_CHIP_ERASE_PS);
    } else if (v & 0x04u) { /* CRC32 over [ADDR, ADDR+LENGTH) words, seeded by DATA (§13.11.3) */
        c->dsu_statusa &= (uint8_t)~0x1Du;
        uint32_t a = c->dsu_addr & ~3u, n = c->dsu_length & ~3u, crc = c->dsu_data;
        for (uint32_t i = 0; i < n; i += 4) {
            uint32_t w = 0;
            if (simi_bus_read(c->b, a + i, 4, &w, SIM_INIT_DAP) != SIM_BUS_OK) {
                c->dsu_statusa |= 0x04u; /* BERR */
                break;
            }
            for (int k = 0; k < 4; k++)
                crc = crc32_step(crc, (uint8_t)(w >> (8 * k)));
        }
        c->dsu_data = crc;
        /* one word per two bus clocks */
        uint64_t cyc = simi_cpu_hz(c->b) ? 1000000000000ull / simi_cpu_hz(c->b) : SIM_PS_PER_US;
        simi_timer_arm(c->b, &c->dsu_timer, simi_now(c->b) + cyc * 2u * (n / 4u + 1u));
    }
}

static int dsu_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    if (off < 0x1000) {
        switch (off & ~3u) {
        case 0x00: r = (uint32_t)c->dsu_ctrl | (uint32_t)c->dsu_statusa << 8 | 0x2u << 16; break; /* STATUSB.DBGPRES */
        case 0x04: r = c->dsu_addr; break;
        case 0x08: r = c->dsu_length; break;
        case 0x0C: r = c->dsu_data; break;
        case 0x10: r = c->dsu_dcc[0]; break;
        case 0x14: r = c->dsu_dcc[1]; break;
        case 0x18: r = SD_DID; break;
        default: r = 0; break;
        }
    } else {
        /* the device's CoreSight ROM table at 0x41003000 (§13.12): the Cortex-M0+ ROM table and
         * the MTB, then the end marker; Atmel's identification */
        uint32_t o = (off - 0x1000u) & ~3u;
        switch (o) {
        case 0x000: r = 0x9F0FC002u | 1u; break; /* 0xE00FF000 - 0x41003000, present, 32-bit format */
        case 0x004: r = 0x00003002u; break;      /* MTB at 0x41006000 (not modelled) */
        case 0xFCC: r = 1; break;                /* MEMTYPE */
        case 0xFD0: r = 0x00; break;             /* PID4: JEP106 continuation 0 */
        case 0xFE0: r = 0xD0; break;             /* PID0: part 0xCD0 */
        case 0xFE4: r = 0xFC; break;             /* PID1: part 0xC, JEP106 id bits 3:0 = 0xF */
        case 0xFE8: r = 0x09; break;             /* PID2: JEP106 id 6:4 = 0x1F >> 4, JEDEC */
        case 0xFF0: r = 0x0D; break;
        case 0xFF4: r = 0x10; break;
        case 0xFF8: r = 0x05; break;
        case 0xFFC: r = 0xB1; break;
        default: r = 0; break;
        }
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int dsu_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    switch (off & ~3u) {
    case 0x00:
        if ((off & 3u) == 0)
            dsu_ctrl(c, (uint8_t)v);
        if (size == 4 || (off & 3u) == 1) /* STATUSA: write one to clear */
            c->dsu_statusa &= (uint8_t)~(v >> 8);
        break;
    case 0x04: c->dsu_addr = simi_merge_lanes(c->dsu_addr, off, size, val); break;
    case 0x08: c->dsu_length = simi_merge_lanes(c->dsu_length, off, size, val); break;
    case 0x0C: c->dsu_data = simi_merge_lanes(c->dsu_data, off, size, val); break;
    case 0x10: c->dsu_dcc[0] = simi_merge_lanes(c->dsu_dcc[0], off, size, val); break;
    case 0x14: c->dsu_dcc[1] = simi_merge_lanes(c->dsu_dcc[1], off, size, val); break;
    default: break;
    }
    return SIM_BUS_OK;
}

/* ---- NVM software calibration area and serial number (read-only) ------------------------------- */
static int cal_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    (void)ctx;
    (void)who;
    uint32_t r = 0xFFFFFFFFu;
    /* 0x00806020: ADC linearity/bias, OSC32K cal (bits 44:38), USB pads, DFLL48M coarse (63:58) */
    if ((off & ~3u) == 0x20)
        r = 0xDD87FFFFu;
    else if ((off & ~3u) == 0x24)
        r = 0x7FFFF83Fu;
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int serial_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    (void)ctx;
    (void)who;
    uint32_t r = 0xFFFFFFFFu;
    switch (off & ~3u) {
    case 0x00C: r = 0x4C4F4445u; break; /* "LODE": word 0 of the 128-bit serial number */
    case 0x040: r = 0x53414D44u; break;
    case 0x044: r = 0x32314731u; break;
    case 0x048: r = 0x38410001u; break;
    default: break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int rom_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    (void)ctx;
    (void)off;
    (void)size;
    (void)val;
    (void)who;
    return SIM_BUS_FAULT;
}

/* ---- PM (§16.8) -------------------------------------------------------------------------------- */
static int pm_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case 0x00: r = c->pm_ctrl | (uint32_t)c->pm_sleep << 8; break;
    case 0x08: r = c->pm_cpusel | (uint32_t)c->pm_apbsel[0] << 8 | (uint32_t)c->pm_apbsel[1] << 16 |
                   (uint32_t)c->pm_apbsel[2] << 24; break;
    case 0x14: r = c->pm_ahbmask; break;
    case 0x18: r = c->pm_apbmask[0]; break;
    case 0x1C: r = c->pm_apbmask[1]; break;
    case 0x20: r = c->pm_apbmask[2]; break;
    case 0x34: r = 0x01u << 16; break; /* INTFLAG.CKRDY */
    case 0x38: r = c->pm_rcause; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int pm_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    switch (off & ~3u) {
    case 0x00: {
        uint32_t v = simi_merge_lanes(c->pm_ctrl | (uint32_t)c->pm_sleep << 8, off, size, val);
        c->pm_ctrl = (uint8_t)v;
        c->pm_sleep = (uint8_t)((v >> 8) & 3u);
        break;
    }
    case 0x08: {
        uint32_t cur = c->pm_cpusel | (uint32_t)c->pm_apbsel[0] << 8 | (uint32_t)c->pm_apbsel[1] << 16 |
                       (uint32_t)c->pm_apbsel[2] << 24;
        uint32_t v = simi_merge_lanes(cur, off, size, val);
        c->pm_cpusel = (uint8_t)(v & 7u);
        for (int i = 0; i < 3; i++)
            c->pm_apbsel[i] = (uint8_t)((v >> (8 * (i + 1))) & 7u);
        clocks_changed(c);
        break;
    }
    case 0x14: c->pm_ahbmask = simi_merge_lanes(c->pm_ahbmask, off, size, val) & 0x7Fu; break;
    case 0x18: c->pm_apbmask[0] = simi_merge_lanes(c->pm_apbmask[0], off, size, val) & 0x7Fu; break;
    case 0x1C: c->pm_apbmask[1] = simi_merge_lanes(c->pm_apbmask[1], off, size, val) & 0x7Fu; break;
    case 0x20: c->pm_apbmask[2] = simi_merge_lanes(c->pm_apbmask[2], off, size, val) & 0x3FFFFFu; break;
    default: break;
    }
    return SIM_BUS_OK;
}

/* ---- SYSCTRL (§17.8) --------------------------------------------------------------------------- */
/* PCLKSR: every oscillator ready, the DFLL locked (coarse and fine), BOD33 ready, DPLL locked */
#define SD_PCLKSR 0x000389DFu

static int sysctrl_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case 0x0C: r = SD_PCLKSR; break;
    case 0x10: r = c->xosc; break;
    case 0x14: r = c->xosc32k; break;
    case 0x18: r = c->osc32k; break;
    case 0x20: r = c->osc8m; break;
    case 0x24: r = c->dfllctrl; break;
    case 0x28: r = c->dfllval; break;
    case 0x2C: r = c->dfllmul; break;
    case 0x34: r = c->bod33; break;
    case 0x40: r = c->vref; break;
    case 0x44: r = c->dpllctrl[0]; break;
    case 0x48: r = c->dpllctrl[1]; break;
    case 0x4C: r = c->dpllctrl[2]; break;
    case 0x50: r = 0x7u; break; /* DPLLSTATUS: LOCK, CLKRDY, ENABLE as if running */
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int sysctrl_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t *reg = NULL;
    switch (off & ~3u) {
    case 0x10: reg = &c->xosc; break;
    case 0x14: reg = &c->xosc32k; break;
    case 0x18: reg = &c->osc32k; break;
    case 0x20: reg = &c->osc8m; break;
    case 0x24: reg = &c->dfllctrl; break;
    case 0x28: reg = &c->dfllval; break;
    case 0x2C: reg = &c->dfllmul; break;
    case 0x34: reg = &c->bod33; break;
    case 0x40: reg = &c->vref; break;
    case 0x44: reg = &c->dpllctrl[0]; break;
    case 0x48: reg = &c->dpllctrl[1]; break;
    case 0x4C: reg = &c->dpllctrl[2]; break;
    default: return SIM_BUS_OK;
    }
    *reg = simi_merge_lanes(*reg, off, size, val);
    clocks_changed(c);
    return SIM_BUS_OK;
}

/* ---- GCLK (§15.8): GENCTRL/GENDIV/CLKCTRL are read by first writing their ID byte ------------- */
static int gclk_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case 0x00: r = (uint32_t)c->clkctrl[c->gclk_sel_id] << 16; break; /* CTRL, STATUS (SYNCBUSY 0) */
    case 0x04: r = (c->genctrl[c->gclk_sel_gen] & ~0xFu) | c->gclk_sel_gen; break;
    case 0x08: r = (c->gendiv[c->gclk_sel_div] & ~0xFu) | c->gclk_sel_div; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int gclk_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    switch (off & ~3u) {
    case 0x00:
        if (off == 2 || (off == 0 && size == 4)) { /* CLKCTRL (16 bit at 0x02) */
            uint16_t cc = (uint16_t)(size == 4 ? v >> 16 : v >> 16);
            unsigned id = cc & 0x3Fu;
            if (id < sizeof c->clkctrl / sizeof c->clkctrl[0]) {
                c->gclk_sel_id = (uint8_t)id;
                if (size >= 2 && !(c->clkctrl[id] & 0x8000u))
                    c->clkctrl[id] = cc & 0xCF3Fu;
            }
        } else if (off == 0 && (v & 1u)) { /* SWRST */
            memset(c->clkctrl, 0, sizeof c->clkctrl);
        }
        break;
    case 0x04: {
        unsigned id = v & 0xFu;
        if (id > 8)
            break;
        c->gclk_sel_gen = (uint8_t)id;
        if (size == 4)
            c->genctrl[id] = v & 0x003F1F0Fu;
        break;
    }
    case 0x08: {
        unsigned id = v & 0xFu;
        if (id > 8)
            break;
        c->gclk_sel_div = (uint8_t)id;
        if (size == 4)
            c->gendiv[id] = v & 0x00FFFF0Fu;
        break;
    }
    default: break;
    }
    clocks_changed(c);
    return SIM_BUS_OK;
}

/* ---- PORT (§23.8): registers only; LED = PA17 on the Zero ------------------------------------- */
static int port_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    unsigned g = (off / 0x80u) & 1u;
    uint32_t o = off % 0x80u & ~3u, r = 0;
    if (off >= 0x100) {
        *val = 0;
        return SIM_BUS_OK;
    }
    switch (o) {
    case 0x00: case 0x04: case 0x08: case 0x0C: r = c->port_dir[g]; break;
    case 0x10: case 0x14: case 0x18: case 0x1C: r = c->port_out[g]; break;
    case 0x20: r = c->port_out[g] & c->port_dir[g]; break; /* IN: the driven pins read back */
    default:
        if (o >= 0x30 && o < 0x40)
            r = c->port_pmux[g][(o - 0x30) / 4];
        else if (o >= 0x40 && o < 0x60)
            r = c->port_pincfg[g][(o - 0x40) / 4];
        break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int port_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_s *c = ctx;
    (void)who;
    if (off >= 0x100)
        return SIM_BUS_OK;
    unsigned g = (off / 0x80u) & 1u;
    uint32_t o = off % 0x80u & ~3u, v = simi_merge_lanes(0, off, size, val);
    switch (o) {
    case 0x00: c->port_dir[g] = simi_merge_lanes(c->port_dir[g], off, size, val); break;
    case 0x04: c->port_dir[g] &= ~v; break;
    case 0x08: c->port_dir[g] |= v; break;
    case 0x0C: c->port_dir[g] ^= v; break;
    case 0x10: c->port_out[g] = simi_merge_lanes(c->port_out[g], off, size, val); break;
    case 0x14: c->port_out[g] &= ~v; break;
    case 0x18: c->port_out[g] |= v; break;
    case 0x1C: c->port_out[g] ^= v; break;
    default:
        if (o >= 0x30 && o < 0x40)
            c->port_pmux[g][(o - 0x30) / 4] = simi_merge_lanes(c->port_pmux[g][(o - 0x30) / 4], off, size, val);
        else if (o >= 0x40 && o < 0x60)
            c->port_pincfg[g][(o - 0x40) / 4] =
                simi_merge_lanes(c->port_pincfg[g][(o - 0x40) / 4], off, size, val);
        break;
    }
    return SIM_BUS_OK;
}

/* ---- SERCOM USART (§26) ------------------------------------------------------------------------ */
static bool us_on(const sd_sercom_s *s)
{
    /* USART with internal clock (MODE 1), enabled, and its APBC clock on */
    return (s->ctrla & US_CTRLA_ENABLE) && ((s->ctrla >> 2) & 7u) == 1u &&
           (s->c->pm_apbmask[2] & (1u << (2 + s->idx)));
}

static uint8_t us_flags(const sd_sercom_s *s)
{
    uint8_t f = s->intflag & US_INT_TXC;
    if (s->usb ? s->ntx < sizeof s->txq : !s->tx_full)
        f |= US_INT_DRE;
    if (s->nfifo)
        f |= US_INT_RXC;
    return f;
}

static void us_irq_update(sd_sercom_s *s)
{
    bool level = (us_flags(s) & s->intenset) != 0;
    if (level && !s->irq)
        simi_irq_set(s->c->b, SD_IRQ_SERCOM0 + s->idx, true);
    s->irq = level;
}

/* One frame: start bit, 5-9 data bits, optional parity, 1 or 2 stop bits, at the arithmetic
 * baud rate f = fref / 16 * (1 - BAUD / 65536) (§26.6.2.3, 16x oversampling). */
static uint64_t us_frame_ps(const sd_sercom_s *s)
{
    uint32_t fref = channel_hz(s->c, 0x14u + s->idx);
    unsigned chsize = s->ctrlb & 7u;
    unsigned bits = 1u + (chsize >= 5 ? chsize : chsize + 8u) + ((s->ctrla >> 24 & 0xFu) == 1 ? 1u : 0u) +
                    ((s->ctrlb >> 6) & 1u) + 1u;
    double baud = (double)fref / 16.0 * (1.0 - (double)s->baud / 65536.0);
    if (baud < 1.0)
        return 0;
    return (uint64_t)((double)bits * 1e12 / baud);
}

static void us_shift(sd_sercom_s *s, uint8_t byte)
{
    uint64_t f = us_frame_ps(s);
    s->shifting = true;
    s->tx_shift = byte;
    s->intflag &= (uint8_t)~US_INT_TXC;
    simi_timer_arm(s->c->b, &s->tx_timer, simi_now(s->c->b) + (f ? f : SIM_PS_PER_US));
}

/* ---- the USART standing for a USB CDC function ---- */
/* The first bulk-packet slot boundary after t: slot k of a frame starts k/19 ms into it. */
static uint64_t usb_next_slot(uint64_t t)
{
    uint64_t frame = t / US_USB_FRAME_PS, k = (t % US_USB_FRAME_PS) * US_USB_SLOTS / US_USB_FRAME_PS;
    for (;;) {
        if (k == US_USB_SLOTS) {
            frame++;
            k = 0;
        }
        uint64_t at = frame * US_USB_FRAME_PS + k * US_USB_FRAME_PS / US_USB_SLOTS;
        if (at > t)
            return at;
        k++;
    }
}

static bool us_rx_on(const sd_sercom_s *s) { return us_on(s) && (s->ctrlb & US_CTRLB_RXEN); }

/* Arm the next OUT or IN packet's slot when there is one to move: host bytes and a free bank
 * (the receiver on), or bytes in the IN banks. */
static void usb_kick(sd_sercom_s *s)
{
    sim_board_s *b = s->c->b;
    if (!s->rx_timer.armed && s->rxn && us_rx_on(s) && sizeof s->fifo - s->nfifo >= US_USB_MPS)
        simi_timer_arm(b, &s->rx_timer, usb_next_slot(simi_now(b)));
    if (!s->tx_timer.armed && s->ntx)
        simi_timer_arm(b, &s->tx_timer, usb_next_slot(simi_now(b)));
}

/* A slot boundary for OUT: the packet in flight lands in the banks, the next one starts when a
 * bank is free (else NAK: it is tried again once the firmware has emptied one). */
static void usb_out_slot(sd_sercom_s *s)
{
    sim_board_s *b = s->c->b;
    for (unsigned i = 0; i < s->out_n; i++)
        s->fifo[(s->fifoh + s->nfifo++) % sizeof s->fifo] = s->out_pkt[i];
    s->out_n = 0;
    if (s->rxn && us_rx_on(s) && sizeof s->fifo - s->nfifo >= US_USB_MPS) {
        while (s->out_n < US_USB_MPS && s->rxn) {
            s->out_pkt[s->out_n++] = s->rxq[s->rxh];
            s->rxh = (s->rxh + 1) % sizeof s->rxq;
            s->rxn--;
        }
        simi_timer_arm(b, &s->rx_timer, usb_next_slot(simi_now(b)));
    }
    us_irq_update(s);
}

/* A slot boundary for IN: the packet in flight reaches the host, the next one takes what the
 * banks hold (up to 64 bytes). */
static void usb_in_slot(sd_sercom_s *s)
{
    sim_board_s *b = s->c->b;
    if (s->in_n)
        simi_output(b, s->name, s->in_pkt, s->in_n);
    s->in_n = 0;
    while (s->in_n < US_USB_MPS && s->ntx) {
        s->in_pkt[s->in_n++] = s->txq[s->txh];
        s->txh = (s->txh + 1) % sizeof s->txq;
        s->ntx--;
    }
    if (s->in_n)
        simi_timer_arm(b, &s->tx_timer, usb_next_slot(simi_now(b)));
    else
        s->intflag |= US_INT_TXC;
    us_irq_update(s);
}

static void us_set_usb(void *ctx, bool usb)
{
    sd_sercom_s *s = ctx;
    s->usb = usb;
}

static void us_tx_done(sim_board_s *b, void *ctx)
{
    sd_sercom_s *s = ctx;
    if (s->usb) {
        usb_in_slot(s);
        return;
    }
    simi_output(b, s->name, &s->tx_shift, 1);
    s->shifting = false;
    if (s->tx_full) {
        s->tx_full = false;
        us_shift(s, s->tx_buf);
    } else {
        s->intflag |= US_INT_TXC;
    }
    us_irq_update(s);
}

static void us_rx_frame(sim_board_s *b, void *ctx)
{
    sd_sercom_s *s = ctx;
    if (s->usb) {
        usb_out_slot(s);
        return;
    }
    if (!s->rxn)
        return;
    uint8_t byte = s->rxq[s->rxh];
    s->rxh = (s->rxh + 1) % sizeof s->rxq;
    s->rxn--;
    if (us_on(s) && (s->ctrlb & US_CTRLB_RXEN)) {
        if (s->nfifo < 2)
            s->fifo[(s->fifoh + s->nfifo++) % sizeof s->fifo] = byte;
        else {
            s->status |= US_ST_BUFOVF; /* the two-level buffer and the shift register were full */
            simi_log(s->c->b, LODE_LOG_WARN, "samd21: %s receive buffer overflow (byte 0x%02x lost)", s->name, byte);
        }
        us_irq_update(s);
    }
    if (s->rxn) {
        uint64_t f = us_frame_ps(s);
        simi_timer_arm(b, &s->rx_timer, simi_now(b) + (f ? f : SIM_PS_PER_US));
    }
}

static void us_rx_input(void *ctx, const uint8_t *data, size_t len)
{
    sd_sercom_s *s = ctx;
    if (len > sizeof s->rxq - s->rxn)
        simi_log(s->c->b, LODE_LOG_WARN, "samd21: %s: %zu bytes from the host dropped (more than the line holds)",
                 s->name, len - (sizeof s->rxq - s->rxn));
    for (size_t i = 0; i < len && s->rxn < sizeof s->rxq; i++, s->rxn++)
        s->rxq[(s->rxh + s->rxn) % sizeof s->rxq] = data[i];
    if (s->usb)
        usb_kick(s);
    else if (!s->rx_timer.armed && s->rxn) {
        uint64_t f = us_frame_ps(s);
        simi_timer_arm(s->c->b, &s->rx_timer, simi_now(s->c->b) + (f ? f : SIM_PS_PER_US));
    }
}

static size_t us_rx_pending(void *ctx)
{
    const sd_sercom_s *s = ctx;
    return s->rxn;
}

static bool us_rx_ready(void *ctx) { return us_rx_on(ctx); }

static void us_reset(sd_sercom_s *s)
{
    simi_timer_cancel(s->c->b, &s->tx_timer);
    if (s->usb) { /* the packets in flight and the banks go (the host's queue stays) */
        simi_timer_cancel(s->c->b, &s->rx_timer);
        s->out_n = s->in_n = s->ntx = 0;
    }
    s->ctrla = s->ctrlb = s->ctrlc = 0;
    s->baud = 0;
    s->intenset = s->intflag = s->dbgctrl = 0;
    s->status = 0;
    s->shifting = s->tx_full = false;
    s->fifoh = s->nfifo = 0;
    s->irq = false;
}

static int us_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    sd_sercom_s *s = ctx;
    uint32_t r = 0;
    switch (off & ~3u) {
    case US_CTRLA: r = s->ctrla; break;
    case US_CTRLB: r = s->ctrlb; break;
    case 0x08: r = s->ctrlc; break;
    case US_BAUD: r = s->baud; break;
    case US_INTENCLR: r = s->intenset | (uint32_t)s->intenset << 16; break;
    case US_INTFLAG: r = us_flags(s) | (uint32_t)s->status << 16; break;
    case US_SYNCBUSY: r = 0; break;
    case US_DATA:
        if ((off & 3u) == 0 && s->nfifo && who == SIM_INIT_CPU) {
            (void)simi_now(s->c->b); /* the read pops the FIFO: not a stable register */
            r = s->fifo[s->fifoh];
            s->fifoh = (s->fifoh + 1) % sizeof s->fifo;
            s->nfifo--;
            if (s->usb)
                usb_kick(s); /* a bank freed: the host's next packet */
            us_irq_update(s);
        } else if (s->nfifo) {
            r = s->fifo[s->fifoh];
        }
        break;
    case US_DBGCTRL: r = s->dbgctrl; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size); /* the flags change through timers: stable */
    return SIM_BUS_OK;
}

static int us_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    sd_sercom_s *s = ctx;
    (void)who;
    uint32_t v = simi_merge_lanes(0, off, size, val);
    switch (off & ~3u) {
    case US_CTRLA:
        if (v & 1u) { /* SWRST */
            us_reset(s);
            break;
        }
        s->ctrla = simi_merge_lanes(s->ctrla, off, size, val) & 0x7F33E79Eu;
        break;
    case US_CTRLB: s->ctrlb = simi_merge_lanes(s->ctrlb, off, size, val) & 0x00032747u; break;
    case 0x08: s->ctrlc = simi_merge_lanes(s->ctrlc, off, size, val); break;
    case US_BAUD:
        if ((off & 3u) == 0)
            s->baud = (uint16_t)simi_merge_lanes(s->baud, off, size, val);
        break;
    case US_INTENCLR:
        if ((off & 3u) == 0)
            s->intenset &= (uint8_t)~v;
        else if ((off & 3u) == 2)
            s->intenset |= (uint8_t)(v >> 16);
        break;
    case US_INTFLAG:
        if ((off & 3u) == 0 && (v & US_INT_TXC))
            s->intflag &= (uint8_t)~US_INT_TXC;
        s->status &= (uint16_t)~((v >> 16) & 0x37u);
        break;
    case US_DATA: {
        if ((off & 3u) != 0)
            break;
        if (!us_on(s) || !(s->ctrlb & US_CTRLB_TXEN)) {
            simi_log(s->c->b, LODE_LOG_DEBUG, "samd21: %s DATA written with the USART or TXEN off: not sent", s->name);
            break;
        }
        if (s->usb) {
            if (s->ntx < sizeof s->txq) { /* DRE = 0 (both banks full): ignored, as below */
                s->txq[(s->txh + s->ntx++) % sizeof s->txq] = (uint8_t)v;
                s->intflag &= (uint8_t)~US_INT_TXC;
            }
        } else if (!s->shifting)
            us_shift(s, (uint8_t)v);
        else if (!s->tx_full) {
            s->tx_buf = (uint8_t)v;
            s->tx_full = true;
        } /* DRE = 0: the write is ignored (§26.6.2.4) */
        break;
    }
    case US_DBGCTRL: s->dbgctrl = (uint8_t)(v & 1u); break;
    default: break;
    }
    if (s->usb)
        usb_kick(s); /* a byte for IN, or the receiver just switched on */
    us_irq_update(s);
    return SIM_BUS_OK;
}

/* ---- reset / build ----------------------------------------------------------------------------- */
static void sd_reset(void *ctx)
{
    sd_s *c = ctx;
    sim_board_s *b = c->b;
    simi_timer_cancel(b, &c->op_timer);
    simi_timer_cancel(b, &c->dsu_timer);
    c->busy_until = 0;
    c->ctrlb = 0; /* MANW = 0 after reset (erratum 13134: firmware sets it) */
    c->addr = 0;
    c->status &= NV_ST_SB;
    c->intenset = c->intflag_error = 0;
    c->nv_irq = false;
    pb_clear(c);
    /* LOCK is loaded from the user row's region lock bits (bits 63:48) */
    c->lock = (uint16_t)(c->user->mem[6] | c->user->mem[7] << 8);
    c->bootprot = bootprot_bytes(c);

    c->dsu_ctrl = 0;
    c->dsu_statusa = 0;
    c->dsu_addr = c->dsu_length = c->dsu_data = 0;
    switch (simi_reset_cause(b)) {
    case SIM_RESET_POR: c->pm_rcause = 0x01u; break;
    case SIM_RESET_EXT: c->pm_rcause = 0x10u; break;
    case SIM_RESET_WDT: c->pm_rcause = 0x20u; break;
    default: c->pm_rcause = 0x40u; break; /* SYST */
    }
    c->pm_ctrl = c->pm_sleep = c->pm_cpusel = 0;
    memset(c->pm_apbsel, 0, sizeof c->pm_apbsel);
    c->pm_ahbmask = 0x7Fu;
    c->pm_apbmask[0] = 0x7Fu;
    c->pm_apbmask[1] = 0x7Fu;
    c->pm_apbmask[2] = 0x00010000u;

    c->osc8m = 0x87070382u; /* ENABLE, ONDEMAND, PRESC = 3 (/8), factory calibration */
    c->dfllctrl = 0x0080u; /* ONDEMAND */
    c->dfllval = c->dfllmul = 0;
    c->xosc32k = 0x0080u;
    c->osc32k = 0x0080u;
    c->xosc = 0x0080u;
    c->bod33 = c->vref = 0;
    memset(c->dpllctrl, 0, sizeof c->dpllctrl);

    memset(c->genctrl, 0, sizeof c->genctrl);
    memset(c->gendiv, 0, sizeof c->gendiv);
    memset(c->clkctrl, 0, sizeof c->clkctrl);
    for (unsigned g = 0; g < 9; g++) {
        c->genctrl[g] = g;
        c->gendiv[g] = g;
    }
    c->genctrl[0] = 0x00010600u; /* GEN0: OSC8M, enabled */
    c->genctrl[2] = 0x00010302u; /* GEN2: OSCULP32K, enabled (the WDT's) */
    c->gclk_sel_gen = c->gclk_sel_div = c->gclk_sel_id = 0;
    memset(c->port_dir, 0, sizeof c->port_dir);
    memset(c->port_out, 0, sizeof c->port_out);
    memset(c->port_pincfg, 0, sizeof c->port_pincfg);
    memset(c->port_pmux, 0, sizeof c->port_pmux);
    for (unsigned i = 0; i < SD_NSERCOM; i++)
        us_reset(&c->sercom[i]);
}

static void sd_free(void *ctx) { free(ctx); }

static const sim_periph_ops_s nv_ops = {nv_read, nv_write, sd_reset, sd_free};
static const sim_periph_ops_s dsu_ops = {dsu_read, dsu_write, NULL, NULL};
static const sim_periph_ops_s cal_ops = {cal_read, rom_write, NULL, NULL};
static const sim_periph_ops_s serial_ops = {serial_read, rom_write, NULL, NULL};
static const sim_periph_ops_s pm_ops = {pm_read, pm_write, NULL, NULL};
static const sim_periph_ops_s sysctrl_ops = {sysctrl_read, sysctrl_write, NULL, NULL};
static const sim_periph_ops_s gclk_ops = {gclk_read, gclk_write, NULL, NULL};
static const sim_periph_ops_s port_ops = {port_read, port_write, NULL, NULL};
static const sim_periph_ops_s us_ops = {us_read, us_write, NULL, NULL};

/* Peripherals of the memory map (§9.2 / "Product Mapping") the sim does not model. */
static const struct {
    uint32_t base, size;
} sd_unmodeled[] = {
    {0x40000000u, 0x400}, /* PAC0 */
    {0x40001000u, 0x400}, /* WDT */
    {0x40001400u, 0x400}, /* RTC */
    {0x40001800u, 0x400}, /* EIC */
    {0x41000000u, 0x400}, /* PAC1 */
    {0x41004800u, 0x800}, /* DMAC */
    {0x41005000u, 0x1000}, /* USB */
    {0x41006000u, 0x1000}, /* MTB */
    {0x42000000u, 0x400}, /* PAC2 */
    {0x42000400u, 0x400}, /* EVSYS */
    {0x42002000u, 0x2400}, /* TCC0-2, TC3-7, ADC, AC, DAC, PTC, I2S */
    {0x60000000u, 0x200}, /* PORT IOBUS */
};

/* The factory image (lode's SAM-BA bootloader), generated from the firmware build. */
extern const uint8_t simi_samd21_bootloader[];
extern const size_t simi_samd21_bootloader_len;

static int sd_build(sim_board_s *b, const sim_chip_desc_s *desc)
{
    (void)desc;
    sd_s *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->b = b;
    c->flash = simi_add_flash(b, "flash", 0x00000000u, SD_FLASH_SIZE, SD_ROW, SIM_NO_ALIAS);
    c->user = c->flash ? simi_add_flash(b, "userrow", SD_USER_ROW, SD_USER_MAP, SD_ROW, SIM_NO_ALIAS) : NULL;
    if (!c->user) {
        free(c);
        return -1;
    }
    /* factory user row of an Arduino Zero: BOOTPROT = 2 (8 KiB), EEPROM none, BOD33 set up,
     * all 16 regions unlocked (LOCK = 0xFFFF) */
    static const uint8_t user_row[8] = {0xFA, 0xC7, 0xE0, 0xD8, 0x5D, 0xFC, 0xFF, 0xFF};
    simi_nor_program(b, c->user, 0, user_row, sizeof user_row);
    if (simi_samd21_bootloader_len && simi_samd21_bootloader_len <= 0x2000u)
        simi_nor_program(b, c->flash, 0, simi_samd21_bootloader, (uint32_t)simi_samd21_bootloader_len);
    c->op_timer.fn = nv_op_done;
    c->op_timer.ctx = c;
    c->dsu_timer.fn = dsu_done;
    c->dsu_timer.ctx = c;
    for (unsigned i = 0; i < SD_NSERCOM; i++) {
        sd_sercom_s *s = &c->sercom[i];
        s->c = c;
        s->idx = i;
        snprintf(s->name, sizeof s->name, "SERCOM%u", i);
        s->tx_timer.fn = us_tx_done;
        s->tx_timer.ctx = s;
        s->rx_timer.fn = us_rx_frame;
        s->rx_timer.ctx = s;
    }
    sd_reset(c);

    int rc = simi_add_periph(b, "NVMCTRL", SD_NVMCTRL, 0x400, &nv_ops, c);
    if (rc != 0)
        return rc; /* the board released c */
    simi_set_flashctl(b, c->flash, &nv_flashctl, c);
    simi_set_flashctl(b, c->user, &nv_flashctl, c);
    rc |= simi_add_ram(b, "sram", SD_SRAM_BASE, SD_SRAM_SIZE);
    rc |= simi_add_periph(b, "NVMCAL", SD_CAL_BASE, 0x100, &cal_ops, c);
    rc |= simi_add_periph(b, "SERIAL", SD_SERIAL_BASE, 0x100, &serial_ops, c);
    rc |= simi_add_periph(b, "PM", SD_PM, 0x400, &pm_ops, c);
    rc |= simi_add_periph(b, "SYSCTRL", SD_SYSCTRL, 0x400, &sysctrl_ops, c);
    rc |= simi_add_periph(b, "GCLK", SD_GCLK, 0x400, &gclk_ops, c);
    rc |= simi_add_periph(b, "DSU", SD_DSU, 0x2000, &dsu_ops, c);
    rc |= simi_add_periph(b, "PORT", SD_PORT, 0x400, &port_ops, c);
    for (unsigned i = 0; i < SD_NSERCOM; i++) {
        sd_sercom_s *s = &c->sercom[i];
        rc |= simi_add_periph(b, s->name, SD_SERCOM0 + 0x400u * i, 0x400, &us_ops, s);
        rc |= simi_add_uart_rx(b, s->name, us_rx_input, s);
        simi_set_uart_rx_state(b, s->name, us_rx_pending, us_rx_ready);
        simi_set_uart_usb(b, s->name, us_set_usb);
    }
    for (size_t i = 0; i < sizeof sd_unmodeled / sizeof sd_unmodeled[0]; i++)
        rc |= simi_add_unmodeled_window(b, sd_unmodeled[i].base, sd_unmodeled[i].size);
    return rc;
}

const sim_chip_desc_s simi_chip_atsamd21g18a = {
    .name = "ATSAMD21G18A",
    .core = SIM_CORE_M0P,
    .cpu_hz = 48000000u,
    .reset_hz = 1000000u, /* OSC8M / 8 through GCLK0 after reset (§17.6.2.6) */
    .swj = false,         /* SW-DP only */
    .dpidr = 0x0BC11477u, /* Cortex-M0+ SW-DP (DPv1 MINDP) */
    /* the core's ROM table at 0xE00FF000 is ARM's; the MEM-AP's BASE points at the device's
     * (Atmel, JEP106 0x1F, part 0xCD0) in the DSU at 0x41003000, which points back to it */
    .ap_idr = 0x04770031u, /* Cortex-M0+ AHB-AP */
    .ap_base = 0x41003003u,
    .nvic_irqs = 28u, /* §10.2: IRQ 0-27 (PM ... I2S) */
    .prio_bits = 2,
    .build = sd_build,
};
