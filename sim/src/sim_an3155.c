/* SPDX-License-Identifier: MIT */
/* The STM32F103's system bootloader on USART1 (see sim.h), modelled from ST's AN3155 ("USART
 * protocol used in the STM32 bootloader") and AN2606 (bootloader version 2.2 on the F1, its
 * memory areas), acting on the board through the same registers its ROM code uses: the FPEC for
 * every flash and option-byte change (so each operation takes the FPEC's time), RCC and USART1
 * for the line it sets up after auto-baud. The core is held while the bootloader runs.
 *
 * Protocol summary (AN3155): the host sends 0x7F once (auto-baud), the bootloader answers ACK
 * 0x79. A command is its code and the code's complement; a wrong pair is answered NACK 0x1F.
 * Addresses are 4 bytes big-endian plus their XOR; a byte count N (meaning N+1) comes with its
 * complement (Read) or is part of the data's XOR (Write, Erase). With read-out protection active
 * only Get, Get Version, Get ID and Readout Unprotect are served; the others answer NACK at once.
 * Write Protect, Write Unprotect, Readout Protect and Readout Unprotect end in a system reset
 * (after which the host syncs again with 0x7F).
 *
 * Documented choices: the bootloader's own RAM (the first 512 bytes, AN2606) refuses writes;
 * Write Memory into the option bytes is refused (NACK) rather than modelled; flash writes must
 * start 4-byte aligned (as AN3155 asks of the host). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "lode/sim.h"
#include "sim_pty.h"
#include "simi.h"

int simi_core_reg_write(sim_board_s *b, unsigned regsel, uint32_t val); /* scs.c */

#define ACK 0x79u
#define NACK 0x1Fu
#define SYNC 0x7Fu

enum {
    C_GET = 0x00, C_GETVER = 0x01, C_GETID = 0x02, C_READ = 0x11, C_GO = 0x21, C_WRITE = 0x31, C_ERASE = 0x43,
    C_EXTERASE = 0x44, C_WP = 0x63, C_WUP = 0x73, C_RP = 0x82, C_RUP = 0x92,
};

/* STM32F103 medium density (RM0008, AN2606) */
#define PID 0x0410u
#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (64u * 1024u)
#define PAGE 1024u
#define SRAM_BASE 0x20000000u
#define SRAM_SIZE (20u * 1024u)
#define BOOT_RAM 0x200u /* used by the bootloader itself */
#define SYSMEM_BASE 0x1FFFF000u
#define SYSMEM_SIZE 0x800u
#define OB_BASE 0x1FFFF800u
#define OB_SIZE 0x10u
#define FPEC 0x40022000u
#define F_KEYR (FPEC + 0x04u)
#define F_OPTKEYR (FPEC + 0x08u)
#define F_SR (FPEC + 0x0Cu)
#define F_CR (FPEC + 0x10u)
#define F_AR (FPEC + 0x14u)
#define F_OBR (FPEC + 0x1Cu)
#define F_WRPR (FPEC + 0x20u)
#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu
#define SR_BSY 0x01u
#define SR_ERR 0x14u /* PGERR | WRPRTERR */
#define SR_EOP 0x20u
#define CR_PG 0x01u
#define CR_PER 0x02u
#define CR_MER 0x04u
#define CR_OPTPG 0x10u
#define CR_OPTER 0x20u
#define CR_STRT 0x40u
#define CR_LOCK 0x80u
#define CR_OPTWRE 0x200u
#define RCC_APB2RSTR 0x4002100Cu
#define RCC_APB2ENR 0x40021018u
#define APB2_USART1_GPIOA 0x4004u /* USART1EN | IOPAEN */
#define USART1 0x40013800u
#define GPIOA_CRH 0x40010804u

typedef enum st_e {
    S_AUTOBAUD = 0, /* waiting for 0x7F */
    S_CMD,          /* a command code */
    S_COMP,         /* its complement */
    S_COLLECT,      /* `need` more bytes of the command's arguments */
    S_APP,          /* the application runs (after Go) */
} st_e;

struct lode_sim_an3155_s {
    lode_sim_s *sim;
    sim_board_s *b;
    lode_sim_an3155_config_s cfg;
    unsigned baud;
    st_e st;
    uint8_t cmd;
    unsigned phase;        /* step within the command */
    uint8_t arg[300];      /* the bytes collected for this step */
    size_t narg, need;
    uint32_t addr;         /* from the address step */
    uint8_t *out;          /* where answers go during a feed */
    size_t cap, *out_len;
    lode_sim_an3155_stats_s stats;
    uint64_t session_start;
    int pty_master, opens;
    char pty_link[256];
    int app_fd;            /* where the application's USART1 output goes while serving */
    uint8_t early[512];    /* bytes a new client sent before its session began */
    size_t nearly;
};

/* ---- the line ------------------------------------------------------------------------------- */

static uint64_t frame_ps(const lode_sim_an3155_s *m) { return 11ull * 1000000000000ull / m->baud; }

static void pass(lode_sim_an3155_s *m, uint64_t ps) { simi_run_until(m->b, simi_now(m->b) + ps); }

static void send(lode_sim_an3155_s *m, uint8_t byte)
{
    pass(m, frame_ps(m));
    if (*m->out_len < m->cap)
        m->out[(*m->out_len)++] = byte;
    m->stats.bytes_out++;
}

static void send_n(lode_sim_an3155_s *m, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        send(m, d[i]);
}

/* ---- the chip, through its registers --------------------------------------------------------- */

static uint32_t rd32(lode_sim_an3155_s *m, uint32_t a)
{
    uint32_t v = 0;
    simi_bus_read(m->b, a, 4, &v, SIM_INIT_CPU);
    return v;
}

static void wr32(lode_sim_an3155_s *m, uint32_t a, uint32_t v) { simi_bus_write(m->b, a, 4, v, SIM_INIT_CPU); }

static bool rdp_active(lode_sim_an3155_s *m) { return (rd32(m, F_OBR) & 2u) != 0; }

/* Wait for the FPEC (its time passes on the board's clock); true when the operation went well.
 * The error and EOP flags are cleared. */
static bool fpec_wait(lode_sim_an3155_s *m)
{
    uint32_t sr;
    while ((sr = rd32(m, F_SR)) & SR_BSY)
        simi_run_until(m->b, m->b->flash_busy_until > simi_now(m->b) ? m->b->flash_busy_until : simi_now(m->b) + 1000000u);
    wr32(m, F_SR, SR_ERR | SR_EOP);
    return !(sr & SR_ERR);
}

static void fpec_unlock(lode_sim_an3155_s *m)
{
    if (rd32(m, F_CR) & CR_LOCK) {
        wr32(m, F_KEYR, KEY1);
        wr32(m, F_KEYR, KEY2);
    }
}

static void fpec_lock(lode_sim_an3155_s *m) { wr32(m, F_CR, CR_LOCK); }

static bool flash_program(lode_sim_an3155_s *m, uint32_t addr, const uint8_t *d, size_t n)
{
    bool ok = true;
    fpec_unlock(m);
    wr32(m, F_CR, CR_PG);
    for (size_t i = 0; i < n && ok; i += 2) {
        uint32_t hw = d[i] | (uint32_t)(i + 1 < n ? d[i + 1] : 0xFF) << 8;
        ok = simi_bus_write(m->b, addr + (uint32_t)i, 2, hw, SIM_INIT_CPU) == SIM_BUS_OK && fpec_wait(m);
    }
    wr32(m, F_CR, 0);
    fpec_lock(m);
    return ok;
}

static bool flash_erase(lode_sim_an3155_s *m, bool mass, uint32_t page)
{
    fpec_unlock(m);
    wr32(m, F_CR, mass ? CR_MER : CR_PER);
    if (!mass)
        wr32(m, F_AR, FLASH_BASE + page * PAGE);
    wr32(m, F_CR, (mass ? CR_MER : CR_PER) | CR_STRT);
    bool ok = fpec_wait(m);
    wr32(m, F_CR, 0);
    fpec_lock(m);
    return ok;
}

/* Rewrite the option bytes: erase them, then program the 8 data bytes (each with its
 * complement, made by the FPEC). RDP 0xA5 while protected makes the FPEC mass-erase first. */
static bool ob_rewrite(lode_sim_an3155_s *m, const uint8_t v[8])
{
    fpec_unlock(m);
    wr32(m, F_OPTKEYR, KEY1);
    wr32(m, F_OPTKEYR, KEY2);
    wr32(m, F_CR, CR_OPTER | CR_OPTWRE);
    wr32(m, F_CR, CR_OPTER | CR_OPTWRE | CR_STRT);
    bool ok = fpec_wait(m);
    wr32(m, F_CR, CR_OPTPG | CR_OPTWRE);
    for (unsigned i = 0; i < 8 && ok; i++)
        if (v[i] != 0xFF)
            ok = simi_bus_write(m->b, OB_BASE + 2 * i, 2, v[i], SIM_INIT_CPU) == SIM_BUS_OK && fpec_wait(m);
    wr32(m, F_CR, 0);
    fpec_lock(m);
    return ok;
}

static void ob_current(lode_sim_an3155_s *m, uint8_t v[8])
{
    for (unsigned i = 0; i < 8; i++) {
        uint32_t w = 0;
        simi_bus_read(m->b, OB_BASE + 2 * i, 2, &w, SIM_INIT_CPU);
        v[i] = (uint8_t)w;
    }
}

/* The line set up as the ROM does after auto-baud: USART1 on PA9/PA10, 8 data bits + even
 * parity (M=1, PCE=1), one stop bit, at the measured speed. */
static void usart_setup(lode_sim_an3155_s *m)
{
    wr32(m, RCC_APB2ENR, rd32(m, RCC_APB2ENR) | APB2_USART1_GPIOA);
    wr32(m, GPIOA_CRH, (rd32(m, GPIOA_CRH) & ~0xFF0u) | 0x4B0u); /* PA9 AF push-pull 50 MHz, PA10 input */
    wr32(m, USART1 + 0x08, (simi_cpu_hz(m->b) + m->baud / 2) / m->baud);
    wr32(m, USART1 + 0x0C, (1u << 13) | (1u << 12) | (1u << 10) | (1u << 3) | (1u << 2));
}

/* Go: the peripherals the bootloader used back to their reset values, the application's stack
 * pointer and entry from its vector table, the core released. */
static void start_app(lode_sim_an3155_s *m, uint32_t addr)
{
    uint32_t sp = rd32(m, addr), pc = rd32(m, addr + 4);
    wr32(m, RCC_APB2RSTR, APB2_USART1_GPIOA);
    wr32(m, RCC_APB2RSTR, 0);
    wr32(m, RCC_APB2ENR, 0);
    simi_core_reg_write(m->b, 17, sp); /* MSP */
    simi_core_reg_write(m->b, 13, sp);
    simi_core_reg_write(m->b, 15, pc & ~1u);
    simi_core_reg_write(m->b, 16, 1u << 24); /* xPSR: Thumb */
    simi_board_hold_core(m->b, false);
    m->st = S_APP;
}

void lode_sim_an3155_reset(lode_sim_an3155_s *m)
{
    if (!m)
        return;
    simi_board_system_reset(m->b, false);
    simi_board_hold_core(m->b, true);
    m->st = S_AUTOBAUD;
    m->stats.bytes_in = m->stats.bytes_out = 0;
    m->stats.sessions++;
    m->session_start = simi_now(m->b);
}

/* ---- the commands ------------------------------------------------------------------------------ */

static uint8_t xor_of(const uint8_t *d, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= d[i];
    return x;
}

static bool in(uint32_t a, uint32_t n, uint32_t base, uint32_t size)
{
    return a >= base && a - base < size && n <= size - (a - base);
}

static bool readable(uint32_t a, uint32_t n)
{
    return in(a, n, FLASH_BASE, FLASH_SIZE) || in(a, n, SRAM_BASE, SRAM_SIZE) || in(a, n, SYSMEM_BASE, SYSMEM_SIZE) ||
           in(a, n, OB_BASE, OB_SIZE);
}

static bool writable(uint32_t a, uint32_t n)
{
    return (in(a, n, FLASH_BASE, FLASH_SIZE) && !(a & 3u)) || in(a, n, SRAM_BASE + BOOT_RAM, SRAM_SIZE - BOOT_RAM);
}

static void collect(lode_sim_an3155_s *m, unsigned phase, size_t need)
{
    m->st = S_COLLECT;
    m->phase = phase;
    m->narg = 0;
    m->need = need;
}

static void done(lode_sim_an3155_s *m, uint8_t answer)
{
    send(m, answer);
    m->st = S_CMD;
}

/* After the commands that change the option bytes: a system reset, and the bootloader again. */
static void reset_after(lode_sim_an3155_s *m)
{
    send(m, ACK);
    simi_board_system_reset(m->b, false);
    simi_board_hold_core(m->b, true);
    m->st = S_AUTOBAUD;
}

static bool cmd_offered(const lode_sim_an3155_s *m, uint8_t c)
{
    switch (c) {
    case C_GET: case C_GETVER: case C_GETID: case C_READ: case C_GO: case C_WRITE: case C_WP: case C_WUP: case C_RP:
    case C_RUP:
        return true;
    case C_ERASE: return !m->cfg.extended_erase;
    case C_EXTERASE: return m->cfg.extended_erase;
    default: return false;
    }
}

static void command(lode_sim_an3155_s *m)
{
    uint8_t c = m->cmd;
    bool allowed_protected = c == C_GET || c == C_GETVER || c == C_GETID || c == C_RUP;
    if (!allowed_protected && rdp_active(m)) {
        done(m, NACK);
        return;
    }
    switch (c) {
    case C_GET: {
        static const uint8_t base[] = {C_GET, C_GETVER, C_GETID, C_READ, C_GO, C_WRITE};
        static const uint8_t tail[] = {C_WP, C_WUP, C_RP, C_RUP};
        uint8_t r[16];
        size_t n = 0;
        r[n++] = ACK;
        r[n++] = 11; /* version + 11 codes follow: N = 11 */
        r[n++] = m->cfg.version;
        memcpy(r + n, base, sizeof base);
        n += sizeof base;
        r[n++] = m->cfg.extended_erase ? C_EXTERASE : C_ERASE;
        memcpy(r + n, tail, sizeof tail);
        n += sizeof tail;
        send_n(m, r, n);
        done(m, ACK);
        return;
    }
    case C_GETVER: {
        const uint8_t r[] = {ACK, m->cfg.version, 0x00, 0x00}; /* two option bytes kept 0 (AN3155) */
        send_n(m, r, sizeof r);
        done(m, ACK);
        return;
    }
    case C_GETID: {
        const uint8_t r[] = {ACK, 1, (uint8_t)(PID >> 8), (uint8_t)PID};
        send_n(m, r, sizeof r);
        done(m, ACK);
        return;
    }
    case C_READ: case C_GO: case C_WRITE:
        send(m, ACK);
        collect(m, 0, 5);
        return;
    case C_ERASE:
        send(m, ACK);
        collect(m, 0, 1);
        return;
    case C_EXTERASE:
        send(m, ACK);
        collect(m, 0, 2);
        return;
    case C_WP:
        send(m, ACK);
        collect(m, 0, 1);
        return;
    case C_WUP: {
        send(m, ACK);
        uint8_t v[8];
        ob_current(m, v);
        memset(v + 4, 0xFF, 4);
        if (!ob_rewrite(m, v)) {
            done(m, NACK);
            return;
        }
        reset_after(m);
        return;
    }
    case C_RP: {
        send(m, ACK);
        uint8_t v[8];
        ob_current(m, v);
        v[0] = 0x00; /* any value but 0xA5 protects */
        if (!ob_rewrite(m, v)) {
            done(m, NACK);
            return;
        }
        reset_after(m);
        return;
    }
    case C_RUP: {
        send(m, ACK);
        /* the option bytes erased and RDP := 0xA5: the FPEC mass-erases the flash first */
        const uint8_t v[8] = {0xA5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        if (!ob_rewrite(m, v)) {
            done(m, NACK);
            return;
        }
        reset_after(m);
        return;
    }
    default:
        done(m, NACK);
        return;
    }
}

/* An address step: 4 bytes big-endian and their XOR. */
static bool take_addr(lode_sim_an3155_s *m)
{
    if (xor_of(m->arg, 4) != m->arg[4])
        return false;
    m->addr = (uint32_t)m->arg[0] << 24 | (uint32_t)m->arg[1] << 16 | (uint32_t)m->arg[2] << 8 | m->arg[3];
    return true;
}

static void erase_pages(lode_sim_an3155_s *m, const uint8_t *list, size_t n, bool two_bytes)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        unsigned p = two_bytes ? (unsigned)list[2 * i] << 8 | list[2 * i + 1] : list[i];
        ok = p < FLASH_SIZE / PAGE && flash_erase(m, false, p);
    }
    done(m, ok ? ACK : NACK);
}

static void step(lode_sim_an3155_s *m)
{
    const uint8_t *a = m->arg;
    switch (m->cmd) {
    case C_READ:
        if (m->phase == 0) {
            if (!take_addr(m) || !readable(m->addr, 1)) {
                done(m, NACK);
                return;
            }
            send(m, ACK);
            collect(m, 1, 2);
        } else {
            unsigned n = a[0] + 1u;
            if ((a[0] ^ a[1]) != 0xFF || !readable(m->addr, n)) {
                done(m, NACK);
                return;
            }
            send(m, ACK);
            for (unsigned i = 0; i < n; i++) {
                uint32_t v = 0;
                simi_bus_read(m->b, m->addr + i, 1, &v, SIM_INIT_CPU);
                send(m, (uint8_t)v);
            }
            m->st = S_CMD;
        }
        return;
    case C_GO:
        if (!take_addr(m) || !(in(m->addr, 8, FLASH_BASE, FLASH_SIZE) || in(m->addr, 8, SRAM_BASE, SRAM_SIZE))) {
            done(m, NACK);
            return;
        }
        send(m, ACK);
        start_app(m, m->addr);
        return;
    case C_WRITE:
        if (m->phase == 0) {
            if (!take_addr(m) || !writable(m->addr, 1)) {
                done(m, NACK);
                return;
            }
            send(m, ACK);
            collect(m, 1, 1);
        } else if (m->phase == 1) {
            collect(m, 2, a[0] + 2u); /* N+1 bytes and the checksum */
            m->arg[0] = a[0];
            m->narg = 1; /* keep N in front: the checksum covers it */
            m->need = a[0] + 2u;
        } else {
            size_t n = a[0] + 1u;
            if (xor_of(a, n + 2) != 0 || !writable(m->addr, (uint32_t)n)) {
                done(m, NACK);
                return;
            }
            bool ok = true;
            if (m->addr >= FLASH_BASE && m->addr < FLASH_BASE + FLASH_SIZE) {
                ok = flash_program(m, m->addr, a + 1, n);
            } else {
                for (size_t i = 0; i < n && ok; i++)
                    ok = simi_bus_write(m->b, m->addr + (uint32_t)i, 1, a[1 + i], SIM_INIT_CPU) == SIM_BUS_OK;
            }
            done(m, ok ? ACK : NACK);
        }
        return;
    case C_ERASE:
        if (m->phase == 0) {
            if (a[0] == 0xFF) {
                collect(m, 1, 1); /* global erase: 0xFF then 0x00 */
                return;
            }
            m->phase = 2;
            m->need = a[0] + 2u; /* pages and the checksum, N kept in front */
            m->st = S_COLLECT;
        } else if (m->phase == 1) {
            done(m, a[0] == 0x00 && flash_erase(m, true, 0) ? ACK : NACK);
        } else {
            size_t n = a[0] + 1u;
            if (xor_of(a, n + 2) != 0) {
                done(m, NACK);
                return;
            }
            erase_pages(m, a + 1, n, false);
        }
        return;
    case C_EXTERASE:
        if (m->phase == 0) {
            unsigned code = (unsigned)a[0] << 8 | a[1];
            if (code >= 0xFFF0) {
                collect(m, 1, 1); /* special erase and its checksum */
                m->arg[0] = a[0];
                m->arg[1] = a[1];
                m->narg = 2;
                m->need = 1;
                return;
            }
            m->phase = 2;
            m->need = 2u * (code + 1u) + 1u;
            m->st = S_COLLECT;
        } else if (m->phase == 1) {
            unsigned code = (unsigned)a[0] << 8 | a[1];
            /* 0xFFFF mass; 0xFFFE/0xFFFD banks 1/2 (one bank here: bank 1 is the flash) */
            bool ok = xor_of(a, 3) == 0 && (code == 0xFFFF || code == 0xFFFE) && flash_erase(m, true, 0);
            done(m, ok ? ACK : NACK);
        } else {
            size_t n = ((size_t)a[0] << 8 | a[1]) + 1u;
            if (xor_of(a, 2 + 2 * n + 1) != 0) {
                done(m, NACK);
                return;
            }
            erase_pages(m, a + 2, n, true);
        }
        return;
    case C_WP:
        if (m->phase == 0) {
            m->phase = 1;
            m->need = a[0] + 2u;
            m->st = S_COLLECT;
        } else {
            size_t n = a[0] + 1u;
            if (xor_of(a, n + 2) != 0) {
                done(m, NACK);
                return;
            }
            uint8_t v[8];
            ob_current(m, v);
            /* one WRP bit per 4 pages: sector s is bit s%8 of WRP(s/8); 0 protects */
            bool ok = true;
            for (size_t i = 0; i < n; i++) {
                unsigned s = a[1 + i];
                if (s >= 32)
                    ok = false;
                else
                    v[4 + s / 8] &= (uint8_t)~(1u << (s % 8));
            }
            if (!ok || !ob_rewrite(m, v)) {
                done(m, NACK);
                return;
            }
            reset_after(m);
        }
        return;
    default:
        done(m, NACK);
        return;
    }
}

static void byte_in(lode_sim_an3155_s *m, uint8_t byte)
{
    m->stats.bytes_in++;
    if (m->st == S_APP) {
        lode_sim_uart_input(m->sim, "USART1", &byte, 1);
        return;
    }
    pass(m, frame_ps(m));
    switch (m->st) {
    case S_AUTOBAUD:
        if (byte == SYNC) {
            usart_setup(m);
            send(m, ACK);
            m->st = S_CMD;
        } /* anything else: the auto-baud sees no 0x7F pattern and keeps waiting */
        return;
    case S_CMD:
        m->cmd = byte;
        m->st = S_COMP;
        return;
    case S_COMP:
        if ((uint8_t)(m->cmd ^ byte) != 0xFF || !cmd_offered(m, m->cmd)) {
            done(m, NACK);
            return;
        }
        command(m);
        return;
    case S_COLLECT:
        if (m->narg < sizeof m->arg)
            m->arg[m->narg++] = byte;
        if (--m->need == 0)
            step(m);
        return;
    case S_APP:
        return;
    }
}

int lode_sim_an3155_feed(lode_sim_an3155_s *m, const uint8_t *inb, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len)
{
    if (!m || (n && !inb) || !out || !out_len)
        return LODE_E_INVALID_ARG;
    m->out = out;
    m->cap = cap;
    m->out_len = out_len;
    *out_len = 0;
    for (size_t i = 0; i < n; i++)
        byte_in(m, inb[i]);
    m->out = NULL;
    return LODE_OK;
}

bool lode_sim_an3155_running(const lode_sim_an3155_s *m) { return m && m->st == S_APP; }

void lode_sim_an3155_stats(const lode_sim_an3155_s *m, lode_sim_an3155_stats_s *out)
{
    if (!m || !out)
        return;
    *out = m->stats;
    out->session_ps = simi_now(m->b) - m->session_start;
}

void lode_sim_an3155_set_baud(lode_sim_an3155_s *m, unsigned baud)
{
    if (m && baud >= 300)
        m->baud = baud;
}

int lode_sim_an3155_new(lode_sim_s *sim, const lode_sim_an3155_config_s *cfg, lode_sim_an3155_s **out)
{
    if (!sim || !out)
        return LODE_E_INVALID_ARG;
    if (strcasecmp(lode_sim_chip_name(sim), "STM32F103C8") != 0)
        return LODE_E_UNSUPPORTED;
    lode_sim_an3155_s *m = calloc(1, sizeof *m);
    if (!m)
        return LODE_E_NOMEM;
    m->sim = sim;
    m->b = simi_board_of(sim);
    if (cfg)
        m->cfg = *cfg;
    if (!m->cfg.version)
        m->cfg.version = 0x22;
    m->baud = m->cfg.baud >= 300 ? m->cfg.baud : 115200u;
    m->pty_master = m->opens = m->app_fd = -1;
    lode_sim_an3155_reset(m);
    m->stats.sessions = 0;
    *out = m;
    return LODE_OK;
}

void lode_sim_an3155_free(lode_sim_an3155_s *m)
{
    if (!m)
        return;
    if (m->pty_master >= 0)
        close(m->pty_master);
    if (m->opens >= 0)
        close(m->opens);
    if (m->pty_link[0])
        unlink(m->pty_link);
    simi_board_hold_core(m->b, false);
    free(m);
}

/* ---- serving a host ---------------------------------------------------------------------------- */

static void app_output(void *user, const char *port, const uint8_t *data, size_t len)
{
    lode_sim_an3155_s *m = user;
    if (!strcmp(port, "USART1") && m->app_fd >= 0)
        simi_write_all(m->app_fd, data, len);
}

/* A client opened the pty since last asked (inotify sees every open, also two in a row). */
static bool opened_again(lode_sim_an3155_s *m) { return simi_pty_opened(m->opens) != 0; }

/* The line's speed as the client set it (a pty's termios is shared by both ends). */
static void line_speed(lode_sim_an3155_s *m, int fd)
{
    unsigned baud = fd == m->pty_master ? simi_pty_baud(fd) : 0;
    if (baud >= 1200)
        m->baud = baud;
}

int lode_sim_an3155_serve_fd(lode_sim_an3155_s *m, int fd, volatile const sig_atomic_t *stop)
{
    if (!m || fd < 0)
        return LODE_E_INVALID_ARG;
    if (fd == m->pty_master)
        (void)opened_again(m); /* this session's own open */
    else
        m->nearly = 0;
    lode_sim_an3155_reset(m);
    lode_sim_set_output(m->sim, app_output, m);
    m->app_fd = fd;
    uint64_t last = simi_wall_ns();
    int rc = LODE_OK;
    while (!(stop && *stop)) {
        if (fd == m->pty_master && opened_again(m))
            break; /* a new client: the caller starts the next session with a reset */
        struct pollfd p = {fd, POLLIN, 0};
        int k = m->nearly ? 1 : poll(&p, 1, m->st == S_APP ? 5 : 50);
        if (m->nearly || (k > 0 && (p.revents & POLLIN))) {
            uint8_t buf[512], out[4096];
            ssize_t r = (ssize_t)m->nearly;
            if (m->nearly) { /* what the client sent before this session's reset */
                memcpy(buf, m->early, m->nearly);
                m->nearly = 0;
            } else {
                r = read(fd, buf, sizeof buf);
            }
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0)
                break;
            /* a client that opened the port since the last look sent these: they are the next
             * session's (its open is seen before its bytes can be read) */
            if (fd == m->pty_master && opened_again(m)) {
                memcpy(m->early, buf, (size_t)r);
                m->nearly = (size_t)r;
                break;
            }
            line_speed(m, fd);
            size_t nout = 0;
            /* fed a byte at a time so that a long answer never outgrows out */
            for (ssize_t i = 0; i < r && rc == LODE_OK; i++) {
                lode_sim_an3155_feed(m, buf + i, 1, out, sizeof out, &nout);
                rc = simi_write_all(fd, out, nout);
            }
            if (rc != LODE_OK)
                break;
        } else if (k > 0 && (p.revents & (POLLHUP | POLLERR))) {
            break;
        }
        uint64_t now = simi_wall_ns();
        if (m->st == S_APP) {
            /* the application runs in real time, at most 50 ms at a time */
            uint64_t dt = now - last;
            if (dt > 50000000u)
                dt = 50000000u;
            simi_run_until(m->b, simi_now(m->b) + dt * 1000u);
        }
        last = now;
    }
    m->app_fd = -1;
    return rc;
}

int lode_sim_an3155_pty_open(lode_sim_an3155_s *m, const char *link_path, char *name, size_t cap)
{
    if (!m || m->pty_master >= 0 || !name)
        return LODE_E_INVALID_ARG;
    int rc = simi_pty_open(&m->cfg.log, link_path, name, cap, m->pty_link, sizeof m->pty_link, &m->pty_master);
    if (rc == LODE_OK)
        m->opens = simi_pty_watch_opens(m->pty_master);
    return rc;
}

int lode_sim_an3155_pty_serve(lode_sim_an3155_s *m, volatile const sig_atomic_t *stop, lode_sim_an3155_session_fn fn,
                              void *user)
{
    if (!m || m->pty_master < 0)
        return LODE_E_INVALID_ARG;
    while (!(stop && *stop)) {
        struct pollfd p = {m->pty_master, POLLIN, 0};
        poll(&p, 1, 50);
        if ((p.revents & POLLHUP) && !opened_again(m)) { /* nobody has the port open */
            m->nearly = 0; /* a client that came and went unserved */
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        /* opened: the adapter's RESET line with BOOT0 high; serve until the client closes */
        lode_sim_an3155_serve_fd(m, m->pty_master, stop);
        if (fn) {
            lode_sim_an3155_stats_s s;
            lode_sim_an3155_stats(m, &s);
            fn(user, &s);
        }
    }
    return LODE_OK;
}
