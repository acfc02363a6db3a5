/* SPDX-License-Identifier: MIT */
/* STM32F103C8 (medium-density performance line): memories, the flash program/erase controller
 * (FPEC), RCC, GPIO, AFIO, USART1, the option bytes, the system-memory ID words and DBGMCU.
 *
 * Sources: RM0008 (STM32F101/102/103/105/107 reference manual) §2.3 memory map, §3 embedded
 * flash, §7.3 RCC registers, §9 GPIO/AFIO, §27 USART, §31.6 DBGMCU; PM0075 (STM32F10xxx flash
 * memory programming manual) §2.3-2.4 and §3; the STM32F103x8/B datasheet (DS5319) table
 * "Flash memory characteristics" for the program/erase times. Everything below is written
 * from those documents' register descriptions.
 *
 * What is not modelled (documented choices):
 *  - Read-out protection (RDP) is reported in FLASH_OBR.RDPRT and unprotecting mass-erases as
 *    the manual says, but debug reads of a protected flash are not blocked (the board's flash
 *    read path has no hook for it).
 *  - The core runs at the chip's nominal 72 MHz whatever RCC says; RCC only reports ready bits
 *    and clock-switch status so clock set-up code runs; it also feeds USART1's bit timing.
 *  - USART1 receive takes whole bytes from the host (lode_sim_uart_input) at its frame rate;
 *    parity and framing errors never happen (the host's line has no bit errors).
 *  - A reset cannot tell power-on from system reset here, so registers the manual keeps over a
 *    system reset (RCC_BDCR, RCC_CSR flags, DBGMCU_CR) are kept over every reset. */
#include <stdlib.h>
#include <string.h>

#include "simi.h"

/* ---- memory map ------------------------------------------------------------------------------ */
#define F1_FLASH_BASE 0x08000000u
#define F1_FLASH_SIZE (64u * 1024u)
#define F1_FLASH_PAGE 1024u
#define F1_SRAM_BASE 0x20000000u
#define F1_SRAM_SIZE (20u * 1024u)
#define F1_SYSMEM_BASE 0x1FFFF000u /* system memory (boot loader ROM), 2 KiB */
#define F1_SYSMEM_SIZE 0x800u
#define F1_OB_BASE 0x1FFFF800u     /* option bytes, 16 bytes */
#define F1_OB_SIZE 0x10u
#define F1_FPEC_BASE 0x40022000u
#define F1_RCC_BASE 0x40021000u
#define F1_AFIO_BASE 0x40010000u
#define F1_GPIOA_BASE 0x40010800u
#define F1_USART1_BASE 0x40013800u
#define F1_DBGMCU_BASE 0xE0042000u

#define F1_IRQ_FLASH 4u
#define F1_IRQ_RCC 5u
#define F1_IRQ_USART1 37u
/* Interrupt lines: the NVIC latches a pending state (ARMv7-M B3.4), so a peripheral here pends
 * its IRQ when its request line rises and never clears the pending bit itself. */

/* DS5319 "Flash memory characteristics": tprog (16-bit) 40/52.5/70 us min/typ/max; tERASE
 * (page) 20..40 ms; tME (mass) 20..40 ms. We use the typical program time and the minimum
 * (= the only guaranteed lower bound, also the figure usually quoted) erase times. */
#define F1_T_PROG_PS (52500ull * 1000ull) /* 52.5 us */
#define F1_T_PAGE_ERASE_PS (20ull * SIM_PS_PER_MS)
#define F1_T_MASS_ERASE_PS (20ull * SIM_PS_PER_MS)

/* FPEC registers (RM0008 §3.4 / PM0075 §3) */
#define FLASH_ACR 0x00u
#define FLASH_KEYR 0x04u
#define FLASH_OPTKEYR 0x08u
#define FLASH_SR 0x0Cu
#define FLASH_CR 0x10u
#define FLASH_AR 0x14u
#define FLASH_OBR 0x1Cu
#define FLASH_WRPR 0x20u

#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

#define SR_BSY (1u << 0)
#define SR_PGERR (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP (1u << 5)

#define CR_PG (1u << 0)
#define CR_PER (1u << 1)
#define CR_MER (1u << 2)
#define CR_OPTPG (1u << 4)
#define CR_OPTER (1u << 5)
#define CR_STRT (1u << 6)
#define CR_LOCK (1u << 7)
#define CR_OPTWRE (1u << 9)
#define CR_ERRIE (1u << 10)
#define CR_EOPIE (1u << 12)

/* APB2ENR bits gating the peripherals modelled here */
#define APB2_AFIOEN (1u << 0)
#define APB2_IOPAEN (1u << 2)
#define APB2_USART1EN (1u << 14)

#define F1_NGPIO 5 /* GPIOA..GPIOE (the medium-density die has all five register blocks) */

typedef enum f1_op_e { F1_OP_NONE, F1_OP_PROG, F1_OP_PAGE, F1_OP_MASS, F1_OP_OBPROG, F1_OP_OBERASE } f1_op_e;

typedef struct f1_gpio_s {
    uint32_t crl, crh, odr;
    uint32_t lckr;      /* LCK[15:0] currently locked pins + LCKK (bit 16) once locked */
    unsigned lck_step;  /* lock key sequence position: 0 idle, 1 after W1, 2 after W0 */
    uint32_t lck_pending;
    bool lck_read0;     /* next LCKR read returns LCKK=0 (the "read 0" step) */
} f1_gpio_s;

typedef struct f1_s {
    sim_board_s *b;
    sim_nor_s *flash;

    /* FPEC */
    uint32_t acr, sr, cr, ar;
    unsigned key_step;      /* 1 after KEY1 was written to KEYR */
    bool key_lockout;       /* a wrong key sequence locked the FPEC until reset */
    unsigned optkey_step;
    uint32_t obr, wrpr;     /* loaded from the option bytes at reset */
    uint8_t ob[F1_OB_SIZE]; /* the option-byte block (non-volatile) */
    f1_op_e op;
    uint64_t busy_until;
    sim_timer_s op_timer;
    bool flash_irq;

    /* RCC (RM0008 §7.3) */
    uint32_t rcc_cr, rcc_cfgr, rcc_cir, rcc_apb2rstr, rcc_apb1rstr, rcc_ahbenr, rcc_apb2enr,
        rcc_apb1enr, rcc_bdcr, rcc_csr;
    uint32_t sws;
    bool rcc_irq;

    /* GPIO / AFIO */
    f1_gpio_s gpio[F1_NGPIO];
    uint32_t afio_evcr, afio_mapr, afio_exticr[4], afio_mapr2;

    /* USART1 (RM0008 §27.6) */
    uint32_t us_sr, us_dr_rx, us_brr, us_cr1, us_cr2, us_cr3, us_gtpr;
    bool us_shifting, us_tdr_full;
    uint8_t us_tdr;
    sim_timer_s us_timer;
    uint8_t us_rxq[4096]; /* bytes on their way from the host, one frame apart */
    size_t us_rxh, us_rxn;
    sim_timer_s us_rx_timer;
    bool us_irq;

    /* DBGMCU */
    uint32_t dbgmcu_cr;

    bool warned_gate;
} f1_s;

/* ---- helpers ---------------------------------------------------------------------------------- */
/* RM0008 §3.1 (AHB/APB bridges): "When a 16- or 8-bit access is performed on an APB register,
 * the access is transformed into a 32-bit access: the bridge duplicates the 16- or 8-bit data
 * to feed the 32-bit vector." */
static uint32_t apb_replicate(unsigned size, uint32_t val)
{
    if (size == 1)
        return (val & 0xFFu) * 0x01010101u;
    if (size == 2)
        return (val & 0xFFFFu) * 0x00010001u;
    return val;
}

/* ---- option bytes (RM0008 §2.5 / PM0075 §2.5) -------------------------------------------------- */
/* Factory state: RDP=0xA5 (unprotected), USER/Data0/Data1/WRP0-3 = 0xFF, each followed by its
 * complement: words 0x00FF5AA5, 0x00FF00FF, 0x00FF00FF, 0x00FF00FF. */
static void ob_factory(f1_s *c)
{
    static const uint8_t def[F1_OB_SIZE] = {0xA5, 0x5A, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00,
                                            0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00};
    memcpy(c->ob, def, sizeof def);
}

/* Option-byte loader at reset: FLASH_OBR and FLASH_WRPR. A byte whose complement does not match
 * sets OPTERR and reads as 0xFF (RM0008 FLASH_OBR). RDPRT is set unless RDP == 0xA5. */
static void ob_load(f1_s *c)
{
    uint8_t v[8];
    bool err = false;
    for (unsigned i = 0; i < 8; i++) {
        uint8_t lo = c->ob[2 * i], hi = c->ob[2 * i + 1];
        if ((unsigned)(lo ^ hi) != 0xFFu) {
            err = true;
            lo = 0xFF;
        }
        v[i] = lo;
    }
    bool rdp_ok = c->ob[0] == 0xA5 && c->ob[1] == 0x5A;
    c->obr = (err ? 1u : 0u) | (rdp_ok ? 0u : 2u) | ((uint32_t)v[1] << 2) | ((uint32_t)v[2] << 10) |
             ((uint32_t)v[3] << 18);
    c->wrpr = (uint32_t)v[4] | ((uint32_t)v[5] << 8) | ((uint32_t)v[6] << 16) | ((uint32_t)v[7] << 24);
}

/* ---- FPEC ------------------------------------------------------------------------------------- */
static void flash_irq_update(f1_s *c)
{
    bool lvl = ((c->cr & CR_EOPIE) && (c->sr & SR_EOP)) ||
               ((c->cr & CR_ERRIE) && (c->sr & (SR_PGERR | SR_WRPRTERR)));
    if (lvl && !c->flash_irq)
        simi_irq_set(c->b, F1_IRQ_FLASH, true);
    c->flash_irq = lvl;
}

/* Medium density: each WRPR bit protects 4 pages (4 KiB); bit = 0 means protected. */
static bool page_protected(const f1_s *c, uint32_t off)
{
    unsigned bit = (off / F1_FLASH_PAGE) / 4u;
    return bit < 32 && !(c->wrpr & (1u << bit));
}

static bool busy(const f1_s *c) { return c->op_timer.armed; }

/* Start the busy period of an operation that takes `dur` ps. A new operation issued while the
 * previous one runs queues behind it (on the real part the AHB write stalls until then). */
static void op_start(f1_s *c, f1_op_e op, uint64_t dur)
{
    uint64_t now = simi_now(c->b);
    uint64_t start = c->busy_until > now ? c->busy_until : now;
    c->busy_until = start + dur;
    c->op = op;
    simi_flash_busy_until(c->b, c->busy_until);
    simi_timer_arm(c->b, &c->op_timer, c->busy_until);
}

static void op_done(sim_board_s *b, void *ctx)
{
    f1_s *c = ctx;
    (void)b;
    c->op = F1_OP_NONE;
    c->cr &= ~CR_STRT; /* STRT is cleared by hardware when BSY resets */
    c->sr |= SR_EOP;
    flash_irq_update(c);
}

static void flash_error(f1_s *c, uint32_t bit)
{
    c->sr |= bit;
    flash_irq_update(c);
}

/* Translate a bus address inside the array (or its boot alias at 0) to an offset. */
static uint32_t flash_off(const f1_s *c, uint32_t addr)
{
    if (addr >= c->flash->base)
        return addr - c->flash->base;
    return addr; /* alias at 0x00000000 */
}

static int fpec_array_write(void *ctx, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    if (!(c->cr & CR_PG)) {
        /* PM0075 defines stores into the array only with PG set; without it the FPEC does not
         * start anything. We ignore the store (no bus error) and log it. */
        simi_log(c->b, LODE_LOG_DEBUG, "stm32f1: store to flash 0x%08x with FLASH_CR.PG=0 ignored", addr);
        return SIM_BUS_OK;
    }
    if (size != 2) {
        /* PM0075 §2.3.3: "Any attempt to write data that are not half-word long will result
         * in a bus error response from the FPEC." */
        simi_log(c->b, LODE_LOG_WARN, "stm32f1: %u-byte store to flash 0x%08x with PG=1: bus error", size, addr);
        return SIM_BUS_FAULT;
    }
    uint32_t off = flash_off(c, addr);
    if (off + 2 > c->flash->size)
        return SIM_BUS_FAULT;
    uint16_t data = (uint16_t)val;
    uint16_t old = (uint16_t)(c->flash->mem[off] | (c->flash->mem[off + 1] << 8));
    /* When the previous operation is still running the new one starts after it; the erased
     * check then sees the result of the previous one, which the array already holds. */
    if (page_protected(c, off)) {
        flash_error(c, SR_WRPRTERR);
        return SIM_BUS_OK;
    }
    /* PM0075 §2.3.3: the FPEC reads the location first; if it is not erased the programming is
     * skipped and PGERR set — except when 0x0000 is programmed, which is allowed. */
    if (old != 0xFFFF && data != 0x0000) {
        flash_error(c, SR_PGERR);
        return SIM_BUS_OK;
    }
    uint8_t bytes[2] = {(uint8_t)data, (uint8_t)(data >> 8)};
    if (simi_flash_op_begin(c->b, c->flash, off, 2, false, bytes))
        return SIM_BUS_OK; /* power lost; the board resets the chip */
    simi_nor_program(c->b, c->flash, off, bytes, 2);
    op_start(c, F1_OP_PROG, F1_T_PROG_PS);
    return SIM_BUS_OK;
}

static const sim_flashctl_ops_s fpec_flashctl = {.array_write = fpec_array_write};

static void mass_erase(f1_s *c)
{
    if (simi_flash_op_begin(c->b, c->flash, 0, c->flash->size, true, NULL))
        return;
    simi_nor_erase(c->b, c->flash, 0, c->flash->size);
    op_start(c, F1_OP_MASS, F1_T_MASS_ERASE_PS);
}

static void fpec_start(f1_s *c)
{
    if (c->cr & CR_MER) {
        for (uint32_t off = 0; off < c->flash->size; off += F1_FLASH_PAGE) {
            if (page_protected(c, off)) {
                /* the manual gives no partial mass erase; refuse as for a page */
                c->cr &= ~CR_STRT;
                flash_error(c, SR_WRPRTERR);
                return;
            }
        }
        c->cr |= CR_STRT;
        mass_erase(c);
        if (!busy(c))
            c->cr &= ~CR_STRT;
    } else if (c->cr & CR_PER) {
        uint32_t a = c->ar;
        uint32_t off;
        if (a >= F1_FLASH_BASE && a - F1_FLASH_BASE < c->flash->size)
            off = a - F1_FLASH_BASE;
        else if (a < c->flash->size)
            off = a; /* via the boot alias */
        else {
            simi_log(c->b, LODE_LOG_WARN, "stm32f1: page erase with FLASH_AR=0x%08x outside the flash: nothing erased", a);
            return;
        }
        off &= ~(F1_FLASH_PAGE - 1u);
        if (page_protected(c, off)) {
            flash_error(c, SR_WRPRTERR);
            return;
        }
        if (simi_flash_op_begin(c->b, c->flash, off, F1_FLASH_PAGE, true, NULL))
            return;
        simi_nor_erase(c->b, c->flash, off, F1_FLASH_PAGE);
        c->cr |= CR_STRT;
        op_start(c, F1_OP_PAGE, F1_T_PAGE_ERASE_PS);
    } else if ((c->cr & CR_OPTER) && (c->cr & CR_OPTWRE)) {
        memset(c->ob, 0xFF, sizeof c->ob);
        c->cr |= CR_STRT;
        op_start(c, F1_OP_OBERASE, F1_T_PAGE_ERASE_PS);
    }
}

static void fpec_write_cr(f1_s *c, uint32_t v)
{
    if (c->cr & CR_LOCK)
        return; /* PM0075 §2.3.1: FLASH_CR is not writable while locked */
    if (busy(c))
        return; /* "registers are not accessible in write mode when BSY is set" */
    uint32_t keep = c->cr & CR_OPTWRE;
    uint32_t nv = v & (CR_PG | CR_PER | CR_MER | CR_OPTPG | CR_OPTER | CR_ERRIE | CR_EOPIE);
    /* OPTWRE: set by hardware after the option key sequence, cleared by writing 0 */
    if (keep && (v & CR_OPTWRE))
        nv |= CR_OPTWRE;
    if (v & CR_LOCK) {
        nv |= CR_LOCK;
        nv &= ~CR_OPTWRE;
        c->key_step = 0;
        c->optkey_step = 0;
    }
    c->cr = nv;
    if ((v & CR_STRT) && !(v & CR_LOCK))
        fpec_start(c);
    flash_irq_update(c);
}

static int fpec_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    switch (off & ~3u) {
    case FLASH_ACR: r = c->acr | ((c->acr & (1u << 4)) ? (1u << 5) : 0); break; /* PRFTBS follows PRFTBE */
    case FLASH_SR: r = c->sr | (busy(c) ? SR_BSY : 0); break;
    case FLASH_CR: r = c->cr; break;
    case FLASH_OBR: r = c->obr; break;
    case FLASH_WRPR: r = c->wrpr; break;
    default: r = 0; break; /* KEYR, OPTKEYR, AR are write-only; reserved reads 0 */
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int fpec_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t reg = off & ~3u;
    switch (reg) {
    case FLASH_ACR: {
        uint32_t v = simi_merge_lanes(c->acr, off, size, val);
        c->acr = v & 0x1Fu; /* LATENCY[2:0], HLFCYA, PRFTBE */
        break;
    }
    case FLASH_KEYR: {
        uint32_t v = simi_merge_lanes(0, off, size, val);
        if (!(c->cr & CR_LOCK))
            break; /* already unlocked: the manual defines the sequence only from locked */
        /* PM0075 §2.3.1: "Any wrong sequence locks up the FPEC and FLASH_CR until the next
         * reset"; the wrong write gets a bus error (after the first write if KEY1 does not
         * match, during the second if KEY2 does not). */
        if (c->key_lockout)
            return SIM_BUS_FAULT;
        if (c->key_step == 0 && v == FLASH_KEY1) {
            c->key_step = 1;
        } else if (c->key_step == 1 && v == FLASH_KEY2) {
            c->key_step = 0;
            c->cr &= ~CR_LOCK;
        } else {
            c->key_step = 0;
            c->key_lockout = true;
            simi_log(c->b, LODE_LOG_WARN, "stm32f1: wrong FLASH_KEYR sequence (0x%08x): FPEC locked until reset", v);
            return SIM_BUS_FAULT;
        }
        break;
    }
    case FLASH_OPTKEYR: {
        uint32_t v = simi_merge_lanes(0, off, size, val);
        if (c->cr & CR_LOCK)
            break; /* the FPEC must be unlocked first (PM0075 §2.4) */
        if (c->optkey_step == 0 && v == FLASH_KEY1) {
            c->optkey_step = 1;
        } else if (c->optkey_step == 1 && v == FLASH_KEY2) {
            c->optkey_step = 0;
            c->cr |= CR_OPTWRE;
        } else {
            c->optkey_step = 0;
        }
        break;
    }
    case FLASH_SR: {
        uint32_t v = simi_merge_lanes(0, off, size, val);
        c->sr &= ~(v & (SR_PGERR | SR_WRPRTERR | SR_EOP)); /* rc_w1 */
        flash_irq_update(c);
        break;
    }
    case FLASH_CR:
        fpec_write_cr(c, simi_merge_lanes(c->cr, off, size, val));
        break;
    case FLASH_AR:
        if (!busy(c)) /* "Write access to this register is blocked when BSY is set" */
            c->ar = simi_merge_lanes(c->ar, off, size, val);
        break;
    default:
        break; /* OBR/WRPR read-only, reserved */
    }
    return SIM_BUS_OK;
}

/* Option bytes: read as stored; programmed with OPTPG (PM0075 §2.4.2): half-word writes only,
 * the LSB is programmed and its complement written to the MSB automatically; a location that
 * is not erased is skipped with WRPRTERR. */
static int ob_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)c->ob[off + i] << (8 * i);
    *val = v;
    return SIM_BUS_OK;
}

static int ob_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    if (!(c->cr & CR_OPTPG) || !(c->cr & CR_OPTWRE) || (c->cr & CR_LOCK))
        return SIM_BUS_OK; /* nothing starts */
    if (size != 2)
        return SIM_BUS_FAULT;
    if (c->ob[off] != 0xFF || c->ob[off + 1] != 0xFF) {
        flash_error(c, SR_WRPRTERR);
        return SIM_BUS_OK;
    }
    uint8_t lo = (uint8_t)val;
    /* Unprotecting (RDP := 0xA5 while read protection is active) mass-erases the main flash
     * first (RM0008 §2.5 / PM0075 §2.4.1). */
    if (off == 0 && lo == 0xA5 && (c->obr & 2u)) {
        mass_erase(c);
        if (!busy(c))
            return SIM_BUS_OK; /* power lost */
    }
    c->ob[off] = lo;
    c->ob[off + 1] = (uint8_t)~lo;
    op_start(c, F1_OP_OBPROG, F1_T_PROG_PS);
    return SIM_BUS_OK;
}

/* ---- system memory: flash size and unique ID (RM0008 §30.1, §30.2) ----------------------------- */
static const uint8_t f1_uid[12] = {0x37, 0xFF, 0xD8, 0x05, 0x4E, 0x50, 0x39, 0x35,
                                   0x32, 0x35, 0x11, 0x43};

static int sysmem_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    (void)ctx;
    (void)who;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint32_t o = off + i;
        uint8_t byte = 0;
        if (o == 0x7E0)
            byte = (uint8_t)(F1_FLASH_SIZE / 1024u); /* F_SIZE: flash size in KiB */
        else if (o == 0x7E1)
            byte = (uint8_t)((F1_FLASH_SIZE / 1024u) >> 8);
        else if (o >= 0x7E2 && o < 0x7E8)
            byte = 0xFF;
        else if (o >= 0x7E8 && o < 0x7F4)
            byte = f1_uid[o - 0x7E8];
        v |= (uint32_t)byte << (8 * i);
    }
    *val = v;
    return SIM_BUS_OK;
}

static int rom_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    (void)ctx;
    (void)off;
    (void)size;
    (void)val;
    (void)who;
    return SIM_BUS_OK; /* ROM: writes have no effect */
}

/* ---- RCC (RM0008 §7.3) ------------------------------------------------------------------------- */
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_HSICAL 0x5Au /* factory calibration byte: any fixed value */

static bool rcc_src_ready(const f1_s *c, uint32_t sw)
{
    switch (sw) {
    case 0: return (c->rcc_cr & RCC_CR_HSIRDY) != 0;
    case 1: return (c->rcc_cr & RCC_CR_HSERDY) != 0;
    case 2: return (c->rcc_cr & RCC_CR_PLLRDY) != 0;
    default: return false;
    }
}

static uint32_t hclk_hz(const f1_s *c);

/* The switch to the source selected by SW happens once it is ready; SWS reports the result.
 * The core runs on HCLK: the board's clock follows every change of source or prescaler. */
static void rcc_update(f1_s *c)
{
    uint32_t sw = c->rcc_cfgr & 3u;
    if (sw != c->sws && rcc_src_ready(c, sw))
        c->sws = sw;
    bool lvl = (c->rcc_cir & 0x1Fu & (c->rcc_cir >> 8)) != 0 || (c->rcc_cir & (1u << 7));
    if (lvl && !c->rcc_irq)
        simi_irq_set(c->b, F1_IRQ_RCC, true);
    c->rcc_irq = lvl;
    simi_set_cpu_hz(c->b, hclk_hz(c));
}

static uint32_t sysclk_hz(const f1_s *c)
{
    const uint32_t hsi = 8000000u, hse = 8000000u; /* HSE: the usual 8 MHz crystal */
    switch (c->sws) {
    case 1: return hse;
    case 2: {
        uint32_t mul = ((c->rcc_cfgr >> 18) & 0xFu) + 2u;
        if (mul > 16)
            mul = 16;
        uint32_t in = (c->rcc_cfgr & (1u << 16)) ? ((c->rcc_cfgr & (1u << 17)) ? hse / 2 : hse) : hsi / 2;
        return in * mul;
    }
    default: return hsi;
    }
}

static uint32_t hclk_hz(const f1_s *c)
{
    static const unsigned hpre_div[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    uint32_t hz = sysclk_hz(c);
    uint32_t hpre = (c->rcc_cfgr >> 4) & 0xFu;
    return (hpre & 8u) ? hz / hpre_div[hpre & 7u] : hz;
}

static uint32_t pclk2_hz(const f1_s *c)
{
    static const unsigned hpre_div[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    uint32_t hz = sysclk_hz(c);
    uint32_t hpre = (c->rcc_cfgr >> 4) & 0xFu;
    if (hpre & 8u)
        hz /= hpre_div[hpre & 7u];
    uint32_t ppre2 = (c->rcc_cfgr >> 11) & 7u;
    if (ppre2 & 4u)
        hz >>= (ppre2 & 3u) + 1u;
    return hz;
}

static void usart_reset(f1_s *c);
static void gpio_reset(f1_gpio_s *g);

static int rcc_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    rcc_update(c);
    switch (off & ~3u) {
    case 0x00: r = c->rcc_cr; break;
    case 0x04: r = (c->rcc_cfgr & ~0xCu) | (c->sws << 2); break;
    case 0x08: r = c->rcc_cir & 0x00001F9Fu; break;
    case 0x0C: r = c->rcc_apb2rstr; break;
    case 0x10: r = c->rcc_apb1rstr; break;
    case 0x14: r = c->rcc_ahbenr; break;
    case 0x18: r = c->rcc_apb2enr; break;
    case 0x1C: r = c->rcc_apb1enr; break;
    case 0x20: r = c->rcc_bdcr; break;
    case 0x24: r = c->rcc_csr; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int rcc_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    switch (off & ~3u) {
    case 0x00: {
        uint32_t v = simi_merge_lanes(c->rcc_cr, off, size, val);
        uint32_t old = c->rcc_cr;
        uint32_t nv = old & ~(RCC_CR_HSION | 0xF8u | RCC_CR_HSEON | RCC_CR_HSEBYP | (1u << 19) | RCC_CR_PLLON);
        nv |= v & (RCC_CR_HSION | 0xF8u | RCC_CR_HSEON | (1u << 19) | RCC_CR_PLLON);
        /* HSEBYP can be written only while HSE is off */
        nv |= ((old & RCC_CR_HSEON) ? old : v) & RCC_CR_HSEBYP;
        /* an oscillator feeding the system clock (directly or via the PLL) cannot be stopped */
        uint32_t pllsrc_hse = c->rcc_cfgr & (1u << 16);
        if (c->sws == 0 || (c->sws == 2 && !pllsrc_hse))
            nv |= RCC_CR_HSION;
        if (c->sws == 1 || (c->sws == 2 && pllsrc_hse))
            nv |= RCC_CR_HSEON;
        if (c->sws == 2)
            nv |= RCC_CR_PLLON;
        /* ready flags: the oscillators start at once in the model */
        nv = (nv & ~(RCC_CR_HSIRDY | RCC_CR_HSERDY | RCC_CR_PLLRDY)) | ((nv & RCC_CR_HSION) ? RCC_CR_HSIRDY : 0) |
             ((nv & RCC_CR_HSEON) ? RCC_CR_HSERDY : 0) | ((nv & RCC_CR_PLLON) ? RCC_CR_PLLRDY : 0);
        if ((nv & RCC_CR_HSIRDY) && !(old & RCC_CR_HSIRDY))
            c->rcc_cir |= 1u << 2;
        if ((nv & RCC_CR_HSERDY) && !(old & RCC_CR_HSERDY))
            c->rcc_cir |= 1u << 3;
        if ((nv & RCC_CR_PLLRDY) && !(old & RCC_CR_PLLRDY))
            c->rcc_cir |= 1u << 4;
        c->rcc_cr = nv;
        break;
    }
    case 0x04: {
        uint32_t v = simi_merge_lanes(c->rcc_cfgr, off, size, val) & 0x077FFFF3u;
        /* PLLSRC, PLLXTPRE, PLLMUL are writable only while the PLL is off */
        if (c->rcc_cr & RCC_CR_PLLON)
            v = (v & ~0x003F0000u) | (c->rcc_cfgr & 0x003F0000u);
        c->rcc_cfgr = v;
        break;
    }
    case 0x08: {
        uint32_t v = simi_merge_lanes(c->rcc_cir & 0x1F00u, off, size, val);
        c->rcc_cir = (c->rcc_cir & 0x9Fu) | (v & 0x1F00u);
        c->rcc_cir &= ~((v >> 16) & 0x9Fu); /* xxxRDYC / CSSC: write 1 clears the flag */
        break;
    }
    case 0x0C: {
        uint32_t v = simi_merge_lanes(c->rcc_apb2rstr, off, size, val) & 0x0038FFFDu;
        uint32_t rise = v & ~c->rcc_apb2rstr;
        if (rise & (1u << 14))
            usart_reset(c);
        if (rise & 1u)
            c->afio_evcr = c->afio_mapr = c->afio_mapr2 = 0, memset(c->afio_exticr, 0, sizeof c->afio_exticr);
        for (unsigned i = 0; i < F1_NGPIO; i++)
            if (rise & (APB2_IOPAEN << i))
                gpio_reset(&c->gpio[i]);
        c->rcc_apb2rstr = v;
        break;
    }
    case 0x10: c->rcc_apb1rstr = simi_merge_lanes(c->rcc_apb1rstr, off, size, val) & 0x3E7EC83Fu; break;
    case 0x14: c->rcc_ahbenr = simi_merge_lanes(c->rcc_ahbenr, off, size, val) & 0x00000557u; break;
    case 0x18: c->rcc_apb2enr = simi_merge_lanes(c->rcc_apb2enr, off, size, val) & 0x0038FFFDu; break;
    case 0x1C: c->rcc_apb1enr = simi_merge_lanes(c->rcc_apb1enr, off, size, val) & 0x3E7EC83Fu; break;
    case 0x20: {
        uint32_t v = simi_merge_lanes(c->rcc_bdcr, off, size, val);
        if (v & (1u << 16)) { /* BDRST */
            c->rcc_bdcr = 1u << 16;
            break;
        }
        v &= (1u << 0) | (1u << 2) | (3u << 8) | (1u << 15);
        if (v & 1u)
            v |= 1u << 1; /* LSERDY */
        c->rcc_bdcr = v;
        break;
    }
    case 0x24: {
        uint32_t v = simi_merge_lanes(c->rcc_csr, off, size, val);
        uint32_t flags = c->rcc_csr & 0xFC000000u;
        if (v & (1u << 24))
            flags = 0; /* RMVF */
        c->rcc_csr = flags | (v & 1u) | ((v & 1u) ? 2u : 0u);
        break;
    }
    default:
        break;
    }
    rcc_update(c);
    return SIM_BUS_OK;
}

static bool clk_on(f1_s *c, uint32_t apb2_bit, const char *what)
{
    if (c->rcc_apb2enr & apb2_bit)
        return true;
    if (!c->warned_gate) {
        c->warned_gate = true;
        simi_log(c->b, LODE_LOG_WARN,
                 "stm32f1: %s accessed with its clock disabled in RCC_APB2ENR: reads 0, writes ignored", what);
    }
    return false;
}

/* ---- GPIO (RM0008 §9.2) ----------------------------------------------------------------------- */
static void gpio_reset(f1_gpio_s *g)
{
    memset(g, 0, sizeof *g);
    g->crl = g->crh = 0x44444444u;
}

static uint32_t gpio_idr(const f1_gpio_s *g)
{
    uint32_t idr = 0;
    for (unsigned pin = 0; pin < 16; pin++) {
        uint32_t cfg = ((pin < 8 ? g->crl : g->crh) >> (4 * (pin & 7))) & 0xFu;
        uint32_t mode = cfg & 3u, cnf = cfg >> 2;
        bool bit;
        if (mode != 0)
            bit = (g->odr >> pin) & 1u;          /* output: the pad follows ODR */
        else if (cnf == 2)
            bit = (g->odr >> pin) & 1u;          /* input pull-up (ODR=1) / pull-down (ODR=0) */
        else
            bit = false;                         /* floating / analog, nothing connected */
        idr |= (uint32_t)bit << pin;
    }
    return idr;
}

typedef struct f1_gpio_ctx_s {
    f1_s *c;
    unsigned idx;
} f1_gpio_ctx_s;

static int gpio_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_gpio_ctx_s *gc = ctx;
    f1_s *c = gc->c;
    f1_gpio_s *g = &c->gpio[gc->idx];
    (void)who;
    uint32_t r = 0;
    if (!clk_on(c, APB2_IOPAEN << gc->idx, "GPIO")) {
        *val = 0;
        return SIM_BUS_OK;
    }
    switch (off & ~3u) {
    case 0x00: r = g->crl; break;
    case 0x04: r = g->crh; break;
    case 0x08: r = gpio_idr(g); break;
    case 0x0C: r = g->odr; break;
    case 0x18:
        r = g->lckr;
        if (g->lck_read0) {
            r &= ~(1u << 16);
            g->lck_read0 = false;
        }
        break;
    default: r = 0; break; /* BSRR, BRR write-only */
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static uint32_t cr_locked_merge(uint32_t old, uint32_t nv, uint32_t locked8)
{
    for (unsigned i = 0; i < 8; i++)
        if (locked8 & (1u << i))
            nv = (nv & ~(0xFu << (4 * i))) | (old & (0xFu << (4 * i)));
    return nv;
}

static int gpio_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_gpio_ctx_s *gc = ctx;
    f1_s *c = gc->c;
    f1_gpio_s *g = &c->gpio[gc->idx];
    (void)who;
    if (!clk_on(c, APB2_IOPAEN << gc->idx, "GPIO"))
        return SIM_BUS_OK;
    uint32_t v = apb_replicate(size, val);
    bool locked = (g->lckr >> 16) & 1u;
    uint32_t lck = locked ? (g->lckr & 0xFFFFu) : 0;
    switch (off & ~3u) {
    case 0x00: g->crl = cr_locked_merge(g->crl, v, lck & 0xFFu); break;
    case 0x04: g->crh = cr_locked_merge(g->crh, v, lck >> 8); break;
    case 0x0C: g->odr = v & 0xFFFFu; break;
    case 0x10: g->odr = (g->odr & ~(v >> 16)) | (v & 0xFFFFu); break; /* BSx wins over BRx */
    case 0x14: g->odr &= ~(v & 0xFFFFu); break;
    case 0x18: {
        if (locked)
            break; /* the lock holds until reset */
        /* lock key sequence: write 1, write 0, write 1 (LCK[15:0] unchanged), read 0, read 1 */
        bool k = (v >> 16) & 1u;
        uint32_t bits = v & 0xFFFFu;
        if (g->lck_step == 0 && k) {
            g->lck_step = 1;
            g->lck_pending = bits;
        } else if (g->lck_step == 1 && !k && bits == g->lck_pending) {
            g->lck_step = 2;
        } else if (g->lck_step == 2 && k && bits == g->lck_pending) {
            g->lck_step = 0;
            g->lckr = bits | (1u << 16);
            g->lck_read0 = true;
        } else {
            g->lck_step = k ? 1 : 0;
            g->lck_pending = bits;
        }
        if (!((g->lckr >> 16) & 1u))
            g->lckr = bits; /* LCK bits are rw until locked */
        break;
    }
    default: break;
    }
    return SIM_BUS_OK;
}

/* ---- AFIO (RM0008 §9.4) ----------------------------------------------------------------------- */
static int afio_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    if (!clk_on(c, APB2_AFIOEN, "AFIO")) {
        *val = 0;
        return SIM_BUS_OK;
    }
    switch (off & ~3u) {
    case 0x00: r = c->afio_evcr; break;
    case 0x04: r = c->afio_mapr & ~(7u << 24); break; /* SWJ_CFG is write-only */
    case 0x08: case 0x0C: case 0x10: case 0x14: r = c->afio_exticr[((off & ~3u) - 8) / 4]; break;
    case 0x1C: r = c->afio_mapr2; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int afio_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    if (!clk_on(c, APB2_AFIOEN, "AFIO"))
        return SIM_BUS_OK;
    uint32_t v = apb_replicate(size, val);
    switch (off & ~3u) {
    case 0x00: c->afio_evcr = v & 0xFFu; break;
    case 0x04: c->afio_mapr = v & 0x071FFFFFu; break;
    case 0x08: case 0x0C: case 0x10: case 0x14: c->afio_exticr[((off & ~3u) - 8) / 4] = v & 0xFFFFu; break;
    case 0x1C: c->afio_mapr2 = v & 0x000007E0u; break;
    default: break;
    }
    return SIM_BUS_OK;
}

/* ---- USART1 (RM0008 §27) ---------------------------------------------------------------------- */
#define US_SR_PE (1u << 0)
#define US_SR_ORE (1u << 3)
#define US_SR_IDLE (1u << 4)
#define US_SR_RXNE (1u << 5)
#define US_SR_TC (1u << 6)
#define US_SR_TXE (1u << 7)
#define US_CR1_RE (1u << 2)
#define US_CR1_TE (1u << 3)
#define US_CR1_UE (1u << 13)

static void usart_irq_update(f1_s *c)
{
    uint32_t cr1 = c->us_cr1, sr = c->us_sr;
    bool lvl = ((cr1 & (1u << 7)) && (sr & US_SR_TXE)) || ((cr1 & (1u << 6)) && (sr & US_SR_TC)) ||
               ((cr1 & (1u << 5)) && (sr & (US_SR_RXNE | US_SR_ORE))) || ((cr1 & (1u << 4)) && (sr & US_SR_IDLE)) ||
               ((cr1 & (1u << 8)) && (sr & US_SR_PE));
    if (lvl && !c->us_irq)
        simi_irq_set(c->b, F1_IRQ_USART1, true);
    c->us_irq = lvl;
}

static void usart_reset(f1_s *c)
{
    simi_timer_cancel(c->b, &c->us_timer);
    simi_timer_cancel(c->b, &c->us_rx_timer);
    c->us_rxn = c->us_rxh = 0;
    c->us_sr = US_SR_TXE | US_SR_TC; /* reset value 0x00C0 */
    c->us_dr_rx = 0;
    c->us_brr = c->us_cr1 = c->us_cr2 = c->us_cr3 = c->us_gtpr = 0;
    c->us_shifting = c->us_tdr_full = false;
    usart_irq_update(c);
}

/* One frame: start bit + 8 or 9 data bits + stop bits, each BRR/fPCLK2 long. */
static uint64_t usart_frame_ps(const f1_s *c)
{
    uint32_t brr = c->us_brr & 0xFFFFu;
    if (brr == 0)
        return 0;
    static const unsigned stop_halves[4] = {2, 1, 4, 3};
    unsigned halves = 2u * (1u + ((c->us_cr1 & (1u << 12)) ? 9u : 8u)) + stop_halves[(c->us_cr2 >> 12) & 3u];
    uint64_t hz = pclk2_hz(c);
    return (uint64_t)halves * brr * 1000000000000ull / (2ull * hz);
}

static void usart_shift(f1_s *c, uint8_t byte)
{
    simi_output(c->b, "USART1", &byte, 1);
    c->us_shifting = true;
    c->us_sr &= ~US_SR_TC;
    simi_timer_arm(c->b, &c->us_timer, simi_now(c->b) + usart_frame_ps(c));
}

static void usart_frame_done(sim_board_s *b, void *ctx)
{
    f1_s *c = ctx;
    (void)b;
    if (c->us_tdr_full) {
        c->us_tdr_full = false;
        c->us_sr |= US_SR_TXE;
        usart_shift(c, c->us_tdr);
    } else {
        c->us_shifting = false;
        c->us_sr |= US_SR_TC;
    }
    usart_irq_update(c);
}

/* The next byte from the host has come in: into DR with RXNE, or lost (receiver off, or ORE
 * when the last one was not read). */
static void usart_rx_frame(sim_board_s *b, void *ctx)
{
    f1_s *c = ctx;
    if (!c->us_rxn)
        return;
    uint8_t byte = c->us_rxq[c->us_rxh];
    c->us_rxh = (c->us_rxh + 1) % sizeof c->us_rxq;
    c->us_rxn--;
    if ((c->us_cr1 & US_CR1_UE) && (c->us_cr1 & US_CR1_RE) && (c->rcc_apb2enr & APB2_USART1EN)) {
        if (c->us_sr & US_SR_RXNE) {
            c->us_sr |= US_SR_ORE; /* RM0008 §27.3.3: the shift register's byte is lost */
        } else {
            c->us_dr_rx = byte;
            c->us_sr |= US_SR_RXNE;
        }
        usart_irq_update(c);
    }
    if (c->us_rxn) {
        uint64_t f = usart_frame_ps(c);
        simi_timer_arm(b, &c->us_rx_timer, simi_now(b) + (f ? f : SIM_PS_PER_US));
    }
}

static void usart_rx_input(void *ctx, const uint8_t *data, size_t len)
{
    f1_s *c = ctx;
    for (size_t i = 0; i < len && c->us_rxn < sizeof c->us_rxq; i++, c->us_rxn++)
        c->us_rxq[(c->us_rxh + c->us_rxn) % sizeof c->us_rxq] = data[i];
    if (!c->us_rx_timer.armed && c->us_rxn) {
        uint64_t f = usart_frame_ps(c);
        simi_timer_arm(c->b, &c->us_rx_timer, simi_now(c->b) + (f ? f : SIM_PS_PER_US));
    }
}

static int usart_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    if (!clk_on(c, APB2_USART1EN, "USART1")) {
        *val = 0;
        return SIM_BUS_OK;
    }
    switch (off & ~3u) {
    case 0x00: r = c->us_sr; break;
    case 0x04:
        r = c->us_dr_rx;
        c->us_sr &= ~(US_SR_RXNE | US_SR_ORE | US_SR_IDLE | US_SR_PE | 0x6u);
        usart_irq_update(c);
        break;
    case 0x08: r = c->us_brr; break;
    case 0x0C: r = c->us_cr1; break;
    case 0x10: r = c->us_cr2; break;
    case 0x14: r = c->us_cr3; break;
    case 0x18: r = c->us_gtpr; break;
    default: r = 0; break;
    }
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int usart_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    if (!clk_on(c, APB2_USART1EN, "USART1"))
        return SIM_BUS_OK;
    uint32_t v = apb_replicate(size, val);
    switch (off & ~3u) {
    case 0x00:
        /* CTS, LBD, TC, RXNE are rc_w0; the other flags are read-only */
        c->us_sr &= v | ~((1u << 9) | (1u << 8) | US_SR_TC | US_SR_RXNE);
        break;
    case 0x04: {
        uint8_t byte = (uint8_t)v;
        if (!(c->us_cr1 & US_CR1_UE) || !(c->us_cr1 & US_CR1_TE)) {
            simi_log(c->b, LODE_LOG_DEBUG, "stm32f1: USART1 DR written with UE/TE off: not sent");
            break;
        }
        if (!c->us_shifting) {
            usart_shift(c, byte); /* TDR moves to the shift register at once: TXE stays 1 */
        } else {
            c->us_tdr = byte; /* waits in TDR (a write while TXE=0 overwrites it) */
            c->us_tdr_full = true;
            c->us_sr &= ~US_SR_TXE;
        }
        break;
    }
    case 0x08: c->us_brr = v & 0xFFFFu; break;
    case 0x0C:
        c->us_cr1 = v & 0x3FFFu;
        break;
    case 0x10: c->us_cr2 = v & 0x7F7Fu; break;
    case 0x14: c->us_cr3 = v & 0x07FFu; break;
    case 0x18: c->us_gtpr = v & 0xFFFFu; break;
    default: break;
    }
    usart_irq_update(c);
    return SIM_BUS_OK;
}

/* ---- DBGMCU (RM0008 §31.6.1, §31.16.3) -------------------------------------------------------- */
#define F1_DBGMCU_IDCODE 0x20036410u /* REV_ID 0x2003 (rev X/Y), DEV_ID 0x410 medium density */

static int dbgmcu_read(void *ctx, uint32_t off, unsigned size, uint32_t *val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    uint32_t r = 0;
    if ((off & ~3u) == 0)
        r = F1_DBGMCU_IDCODE;
    else if ((off & ~3u) == 4)
        r = c->dbgmcu_cr;
    *val = simi_lane_extract(r, off, size);
    return SIM_BUS_OK;
}

static int dbgmcu_write(void *ctx, uint32_t off, unsigned size, uint32_t val, sim_initiator_e who)
{
    f1_s *c = ctx;
    (void)who;
    if ((off & ~3u) == 4)
        c->dbgmcu_cr = simi_merge_lanes(c->dbgmcu_cr, off, size, val) & 0x003FFFE7u;
    return SIM_BUS_OK;
}

/* ---- reset / free ------------------------------------------------------------------------------ */
static void f1_reset(void *ctx)
{
    f1_s *c = ctx;
    sim_board_s *b = c->b;
    simi_timer_cancel(b, &c->op_timer);
    c->op = F1_OP_NONE;
    c->busy_until = 0;
    c->acr = 1u << 4; /* reset 0x00000030: PRFTBE=1 (PRFTBS is read back from it) */
    c->sr = 0;
    c->cr = CR_LOCK;
    c->ar = 0;
    c->key_step = 0;
    c->key_lockout = false;
    c->optkey_step = 0;
    ob_load(c);
    c->flash_irq = false;

    c->rcc_cr = RCC_CR_HSION | RCC_CR_HSIRDY | (16u << 3) | (RCC_HSICAL << 8);
    c->rcc_cfgr = 0;
    c->sws = 0;
    c->rcc_cir = 0;
    c->rcc_apb2rstr = c->rcc_apb1rstr = 0;
    c->rcc_ahbenr = 0x14u; /* SRAMEN, FLITFEN */
    c->rcc_apb2enr = c->rcc_apb1enr = 0;
    /* RCC_BDCR lives in the backup domain: kept. RCC_CSR: flags kept until RMVF; a reset
     * through NRST/POR sets PINRSTF and PORRSTF (reset value 0x0C000000). */
    c->rcc_csr = (c->rcc_csr & 0xFC000000u) | 0x0C000000u;
    c->rcc_irq = false;

    for (unsigned i = 0; i < F1_NGPIO; i++)
        gpio_reset(&c->gpio[i]);
    c->afio_evcr = c->afio_mapr = c->afio_mapr2 = 0;
    memset(c->afio_exticr, 0, sizeof c->afio_exticr);
    c->us_irq = false;
    usart_reset(c);
    c->warned_gate = false;
    /* DBGMCU_CR is reset by power-on only: kept */
}

static void f1_free(void *ctx) { free(ctx); }

static const sim_periph_ops_s fpec_ops = {fpec_read, fpec_write, f1_reset, f1_free};
static const sim_periph_ops_s sysmem_ops = {sysmem_read, rom_write, NULL, NULL};
static const sim_periph_ops_s rcc_ops = {rcc_read, rcc_write, NULL, NULL};
static const sim_periph_ops_s afio_ops = {afio_read, afio_write, NULL, NULL};
static const sim_periph_ops_s gpio_ops = {gpio_read, gpio_write, NULL, f1_free}; /* owns its f1_gpio_ctx_s */
static const sim_periph_ops_s usart_ops = {usart_read, usart_write, NULL, NULL};
static const sim_periph_ops_s dbgmcu_ops = {dbgmcu_read, dbgmcu_write, NULL, NULL};
static const sim_periph_ops_s ob_rw_ops = {ob_read, ob_write, NULL, NULL};

/* Peripherals of the medium-density memory map (RM0008 Table 3 / DS5319 memory map) that the
 * sim does not model: each gets an unmodeled window; reserved gaps between them bus-fault. */
static const struct {
    uint32_t base, size;
} f1_unmodeled[] = {
    {0x40000000u, 0x400}, /* TIM2 */
    {0x40000400u, 0x400}, /* TIM3 */
    {0x40000800u, 0x400}, /* TIM4 */
    {0x40002800u, 0x400}, /* RTC */
    {0x40002C00u, 0x400}, /* WWDG */
    {0x40003000u, 0x400}, /* IWDG */
    {0x40003800u, 0x400}, /* SPI2 */
    {0x40004400u, 0x400}, /* USART2 */
    {0x40004800u, 0x400}, /* USART3 */
    {0x40005400u, 0x400}, /* I2C1 */
    {0x40005800u, 0x400}, /* I2C2 */
    {0x40005C00u, 0x400}, /* USB device FS registers */
    {0x40006000u, 0x400}, /* shared USB/CAN SRAM (512 bytes) */
    {0x40006400u, 0x400}, /* bxCAN */
    {0x40006C00u, 0x400}, /* BKP */
    {0x40007000u, 0x400}, /* PWR */
    {0x40010400u, 0x400}, /* EXTI */
    {0x40012400u, 0x400}, /* ADC1 */
    {0x40012800u, 0x400}, /* ADC2 */
    {0x40012C00u, 0x400}, /* TIM1 */
    {0x40013000u, 0x400}, /* SPI1 */
    {0x40020000u, 0x400}, /* DMA1 */
    {0x40023000u, 0x400}, /* CRC */
};

static int f1_build(sim_board_s *b, const sim_chip_desc_s *desc)
{
    (void)desc;
    f1_s *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->b = b;
    /* Main flash, aliased at 0 (boot from main flash, BOOT0=0; RM0008 §3.4 boot configuration). */
    c->flash = simi_add_flash(b, "flash", F1_FLASH_BASE, F1_FLASH_SIZE, F1_FLASH_PAGE, 0u);
    if (!c->flash) {
        free(c);
        return -1;
    }
    c->op_timer.fn = op_done;
    c->op_timer.ctx = c;
    c->us_timer.fn = usart_frame_done;
    c->us_timer.ctx = c;
    c->us_rx_timer.fn = usart_rx_frame;
    c->us_rx_timer.ctx = c;
    ob_factory(c);
    c->dbgmcu_cr = 0;
    c->rcc_csr = 0x0C000000u;
    c->rcc_bdcr = 0;
    f1_reset(c);

    /* The FPEC periph owns c (frees it); every other periph borrows it. */
    int rc = simi_add_periph(b, "FLASH", F1_FPEC_BASE, 0x400, &fpec_ops, c);
    if (rc != 0)
        return rc; /* the board already released c through fpec_ops.free */
    simi_set_flashctl(b, c->flash, &fpec_flashctl, c);
    rc |= simi_add_ram(b, "sram", F1_SRAM_BASE, F1_SRAM_SIZE);
    rc |= simi_add_periph(b, "sysmem", F1_SYSMEM_BASE, F1_SYSMEM_SIZE, &sysmem_ops, c);
    rc |= simi_add_periph(b, "optbytes", F1_OB_BASE, F1_OB_SIZE, &ob_rw_ops, c);
    rc |= simi_add_periph(b, "RCC", F1_RCC_BASE, 0x400, &rcc_ops, c);
    rc |= simi_add_periph(b, "AFIO", F1_AFIO_BASE, 0x400, &afio_ops, c);
    static const char *const gname[F1_NGPIO] = {"GPIOA", "GPIOB", "GPIOC", "GPIOD", "GPIOE"};
    for (unsigned i = 0; i < F1_NGPIO && rc == 0; i++) {
        f1_gpio_ctx_s *gc = calloc(1, sizeof *gc);
        if (!gc)
            return -1;
        gc->c = c;
        gc->idx = i;
        if (simi_add_periph(b, gname[i], F1_GPIOA_BASE + 0x400u * i, 0x400, &gpio_ops, gc) != 0)
            rc = -1; /* gc released by the board through gpio_ops.free */
    }
    rc |= simi_add_periph(b, "USART1", F1_USART1_BASE, 0x400, &usart_ops, c);
    rc |= simi_add_uart_rx(b, "USART1", usart_rx_input, c);
    rc |= simi_add_periph(b, "DBGMCU", F1_DBGMCU_BASE, 0x1000, &dbgmcu_ops, c);
    for (size_t i = 0; i < sizeof f1_unmodeled / sizeof f1_unmodeled[0]; i++)
        rc |= simi_add_unmodeled_window(b, f1_unmodeled[i].base, f1_unmodeled[i].size);
    return rc;
}

const sim_chip_desc_s simi_chip_stm32f103c8 = {
    .name = "STM32F103C8",
    .core = SIM_CORE_M3,
    .cpu_hz = 72000000u,
    .reset_hz = 8000000u, /* RM0008 §7.2: SYSCLK is the 8 MHz HSI after reset */
    .swj = true,          /* RM0008 §31.3: SWJ-DP, JTAG after power-on until switched to SWD */
    .dpidr = 0x1BA01477u,
    /* ST's ROM table: designer STMicroelectronics (JEP106 bank 1, 0x20), part number the
     * DBGMCU_IDCODE DEV_ID (RM0008 §31.6.1: 0x410 medium-density) */
    .rom_designer = 0x020u,
    .rom_part = 0x410u,
    .nvic_irqs = 43u, /* RM0008 §10.1.2: 43 maskable channels on non-connectivity-line parts */
    .prio_bits = 4,   /* PM0056 §4.3.7: 4 implemented priority bits on STM32F10x */
    .build = f1_build,
};
