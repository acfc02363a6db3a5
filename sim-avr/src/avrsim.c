/* SPDX-License-Identifier: MIT */
/* Simulated Arduino boards on simavr (avrsim.h). The UART is bridged in the simulation's own
 * thread (simavr's uart_pty part raises AVR interrupts from a thread of its own, which is not
 * safe); the UART's poll sleep is switched off and the CPU's sleep callback does not sleep
 * (the lock-step loop here decides when the board runs). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_eeprom.h>
#include <avr_flash.h>
#include <avr_ioport.h>
#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_cycle_timers.h>
#include <sim_io.h>
#include <sim_regbit.h>

#include "lode/avrsim.h"
#include "lode/error.h"

#define BURST_NS 20000000u    /* after traffic the board may run this far ahead of the wall clock */
#define HOST_WAIT_NS 1000000000u /* the board waiting for the host stands still this long (wall) */
#define SPM_NS 4500000u       /* a page erase or write by SPM (ATmega328P/2560 datasheets: 3.7..4.5 ms) */
/* The USART's receive buffer holds two bytes, a third waits in the shift register. simavr shows
 * a byte to the program one byte time after it is handed over (its own wire time): bytes go to
 * it at their start bit, and its FIFO holds one more than the chip's buffer (the byte on the
 * wire). */
#define RX_FIFO 3
#define RXQ 4096
#define TXQ 4096
#define MCUSR_ADDR 0x54       /* MCUSR in data space (ATmega328P/168/2560) */
#define MCUSR_EXTRF 0x02
#define MCUSR_WDRF 0x08
#define BOOT_KEY_ADDR 0x0800  /* where a 32U4 sketch leaves Caterina's key before its reset */
#define BOOT_KEY 0x7777u
#define TOUCH_BAUD B1200
#define WILD_SPACE 0x10004u   /* every 16-bit data/Z address (+ a word) stays inside simavr's arrays */
#define WILD_FAR 0x1000004u   /* every 24-bit RAMPZ:Z address (+ a word), on parts with RAMPZ */

typedef struct board_s {
    const char *name, *mcu, *chip;
    uint32_t freq, boot_addr, baud;
    const char *bootloader;
    const char *protocol;     /* the probe kind its bootloader speaks */
    char uart;                /* the bootloader's USART ('0', '1') */
    bool touch;               /* a USB board: the 1200-baud touch resets it into its bootloader,
                                 which then is another USB device (sketch_pid -> boot_pid) */
    uint16_t vid, sketch_pid, boot_pid;
} board_s;

static const board_s boards[] = {
    {"uno", "atmega328p", "ATmega328P", 16000000u, 0x7E00u, 115200u,
     "/usr/share/arduino/hardware/arduino/avr/bootloaders/optiboot/optiboot_atmega328.hex", "arduino", '0', false, 0,
     0, 0},
    {"mega2560", "atmega2560", "ATmega2560", 16000000u, 0x3E000u, 115200u,
     "/usr/share/arduino/hardware/arduino/avr/bootloaders/stk500v2/stk500boot_v2_mega2560.hex", "wiring", '0', false,
     0, 0, 0},
    /* lode's AVR109 test bootloader (firmware/avr/boot), on USART1 at 500 kbaud: the Leonardo's
     * USB CDC port as a flow-controlled serial line */
    {"leonardo", "atmega32u4", "ATmega32U4", 16000000u, 0x7000u, 500000u, LODE_AVR109BOOT_HEX, "avr109", '1', true,
     0x2341, 0x8036, 0x0036},
};

static const char *const board_names[] = {"uno", "mega2560", "leonardo", NULL};

struct lode_avrsim_s {
    const board_s *b;
    avr_t *avr;
    const lode_log_s *log;
    unsigned baud;
    uint64_t byte_cycles;      /* one UART byte on the wire */
    avr_irq_t *uart_in;
    avr_uart_t *uart;          /* the bootloader's USART (its receive FIFO, its byte time) */
    avr_flash_t *flash;        /* the self-programming module */
    int (*flash_ioctl)(avr_io_t *io, uint32_t ctl, void *param); /* simavr's own */
    avr_io_read_t ucsra_read;  /* simavr's own read of UCSR0A */
    void *ucsra_param;
    bool dead;                 /* crashed: waits for the next reset */
    uint8_t rx[RXQ];           /* from the host, to feed */
    size_t rx_head, rx_len;
    uint64_t rx_due;           /* the head byte's stop bit is in (its 10 bit times after it was sent) */
    uint64_t last_due;         /* the last fed byte's */
    bool overrun;              /* lose bytes the USART cannot buffer (else they wait for room) */
    uint64_t overruns;         /* bytes lost: the receive buffer was full */
    uint8_t tx[TXQ];           /* from the UART, to the host */
    uint64_t tx_due[TXQ];      /* when each is through on the wire */
    size_t tx_len, tx_sent;
    uint64_t tx_free;          /* when the line is free for the next byte */
    bool polled;               /* the program polled for a received byte with none on its way */
    unsigned polls;            /* such reads of UCSR0A in a row, by the instruction at poll_pc */
    avr_flashaddr_t poll_pc;
    bool waiting;              /* standing still for the host since wait_ns */
    uint64_t wait_ns;
    bool no_wait;              /* waited its full time for the host: follow the wall clock until the line moves */
    uint64_t anchor_cycle, anchor_ns; /* simulated and wall time when the host last sent */
    lode_avrsim_session_s sess;
    uint64_t sess_cycle;
    _Atomic uint64_t shown_us;  /* the simulated time, published by the serving thread */
    int pty_master;
    int opens;                 /* inotify on the pty's slave: every open is a new session */
    char pty_link[256];
    char pty_name[64];         /* the slave's path */
    char sysfs[256];           /* a sysfs tree to publish the USB port in ("" none) */
    bool in_boot;              /* touch boards: the port is the bootloader's */
    bool in_app;               /* the program counter was in the application since the reset */
};

/* simavr does not bound what a program addresses: the PC runs off the end of the flash (a
 * real AVR's wraps), LD/ST/LPM reach any 16-bit address, ELPM any 24-bit one (RAMPZ:Z) while
 * its data and flash arrays end at RAMEND/FLASHEND. Application code the host wrote (random
 * bytes in the tests) would read and write outside them. Give the arrays the whole space their
 * addresses reach, zeroed past the real end. */
static int widen_memories(avr_t *avr)
{
    size_t fsize = avr->rampz ? WILD_FAR : WILD_SPACE;
    uint8_t *d = calloc(1, WILD_SPACE), *f = calloc(1, fsize);
    if (!d || !f || avr->ramend + 1u > WILD_SPACE || avr->flashend + 1u > fsize) {
        free(d);
        free(f);
        return LODE_E_NOMEM;
    }
    memcpy(d, avr->data, avr->ramend + 1u);
    memcpy(f, avr->flash, avr->flashend + 1u);
    free(avr->data);
    free(avr->flash);
    avr->data = d;
    avr->flash = f;
    return LODE_OK;
}

/* simavr's USB device model (ATmega32U4) asserts on endpoint use it does not cover: a sketch's
 * random bytes poking its registers would end the simulator. The simulated Leonardo's USB port is
 * the pty, not that model: its registers become plain memory. */
static void unplug_usb(avr_t *avr)
{
    void *usb = NULL;
    for (avr_io_t *p = avr->io_port; p; p = p->next)
        if (p->kind && !strcmp(p->kind, "usb"))
            usb = p;
    for (int i = 0; usb && i < MAX_IOs; i++) {
        if (avr->io[i].w.param == usb) {
            avr->io[i].w.c = NULL;
            avr->io[i].w.param = NULL;
        }
        if (avr->io[i].r.param == usb) {
            avr->io[i].r.c = NULL;
            avr->io[i].r.param = NULL;
        }
    }
}

/* A byte the program wrote to UDR0 reaches the host once its ten bit times on the wire are
 * over (it starts when the line is free). */
static void uart_out(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    lode_avrsim_s *s = param;
    uint64_t bt = s->uart && s->uart->cycles_per_byte ? s->uart->cycles_per_byte : s->byte_cycles;
    s->tx_free = (s->tx_free > s->avr->cycle ? s->tx_free : s->avr->cycle) + bt;
    s->polls = 0;
    if (s->tx_len < TXQ) {
        s->tx_due[s->tx_len] = s->tx_free;
        s->tx[s->tx_len++] = (uint8_t)value;
    }
    s->sess.bytes_out++;
}

/* Bytes handed to simavr's UART that the program has not read (those on the wire included). */
static unsigned fifo_count(const lode_avrsim_s *s)
{
    const uart_fifo_t *q = &s->uart->input;
    return ((unsigned)q->write + uart_fifo_fifo_size - q->read) % uart_fifo_fifo_size;
}

/* The program reads UCSR0A: with no byte received and none on its way from the host, and all
 * it sent delivered, it waits for the host (a getch loop). */
static uint8_t ucsra_read(struct avr_t *avr, avr_io_addr_t addr, void *param)
{
    lode_avrsim_s *s = param;
    uint8_t v = s->ucsra_read ? s->ucsra_read(avr, addr, s->ucsra_param) : avr->data[addr];
    bool rxc = v >> s->uart->rxc.raised.bit & 1, udre = v >> s->uart->udrc.raised.bit & 1,
         txc = v >> s->uart->txc.raised.bit & 1;
    /* by the same instruction twice in a row (a loop: a putch reads it once with UDRE set and
     * writes; a program clearing TXC reads it once more elsewhere), with the last byte out (TXC:
     * a loop waiting for TXC is no getch) */
    if (!rxc && udre && txc && !s->rx_len && !fifo_count(s) && s->tx_sent == s->tx_len && !s->no_wait) {
        s->polls = s->poll_pc == avr->pc ? s->polls + 1 : 1;
        s->poll_pc = avr->pc;
        s->polled = s->polls >= 2;
    } else {
        s->polls = 0;
    }
    return v;
}

/* The flash operation started by SPM is over: SPMEN (and the operation's bit) clear. */
static avr_cycle_count_t spm_done(struct avr_t *avr, avr_cycle_count_t when, void *param)
{
    (void)when;
    avr_flash_t *f = param;
    avr_regbit_clear(avr, f->selfprgen);
    avr_regbit_clear(avr, f->pgers);
    avr_regbit_clear(avr, f->pgwrt);
    return 0;
}

/* simavr erases and writes a page at once: the page stays busy (SPMEN set, which the program
 * polls) for the datasheet's time, as on the chip. */
static int flash_ioctl(avr_io_t *io, uint32_t ctl, void *param)
{
    lode_avrsim_s *s = io->avr->custom.data;
    avr_t *avr = io->avr;
    avr_flash_t *f = s->flash;
    bool busy = ctl == AVR_IOCTL_FLASH_SPM && avr_regbit_get(avr, f->selfprgen) &&
                (avr_regbit_get(avr, f->pgers) || avr_regbit_get(avr, f->pgwrt));
    bool erase = busy && avr_regbit_get(avr, f->pgers);
    int rc = s->flash_ioctl(io, ctl, param);
    if (busy) {
        avr_regbit_set(avr, f->selfprgen);
        avr_regbit_set(avr, erase ? f->pgers : f->pgwrt);
        avr_cycle_timer_cancel(avr, spm_done, f);
        avr_cycle_timer_register(avr, (avr_cycle_count_t)((uint64_t)s->b->freq / 1000u * (SPM_NS / 1000u) / 1000u),
                                 spm_done, f);
    }
    return rc;
}

static avr_io_t *io_of(avr_t *avr, const char *kind, char name)
{
    for (avr_io_t *p = avr->io_port; p; p = p->next)
        if (p->kind && !strcmp(p->kind, kind) && (!name || ((avr_uart_t *)p)->name == name))
            return p;
    return NULL;
}

static void no_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
    (void)avr;
    (void)how_long;
}

/* simavr logs through one global function; lode's library never prints */
static void quiet_logger(avr_t *avr, const int level, const char *format, va_list ap)
{
    (void)avr;
    (void)level;
    (void)format;
    (void)ap;
}

const char *const *lode_avrsim_boards(void) { return board_names; }

const char *lode_avrsim_board_for_chip(const char *chip)
{
    for (size_t i = 0; chip && i < sizeof boards / sizeof boards[0]; i++)
        if (!strcasecmp(chip, boards[i].chip))
            return boards[i].name;
    return NULL;
}

static uint64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void anchor(lode_avrsim_s *s)
{
    s->anchor_cycle = s->avr->cycle;
    s->anchor_ns = wall_ns();
}

/* A reset: external (the reset button, the auto-reset circuit), or the watchdog reset a 32U4
 * sketch makes after the 1200-baud touch, Caterina's key left in RAM. */
static void reset_by(lode_avrsim_s *s, bool touch)
{
    avr_reset(s->avr);
    s->avr->pc = s->b->boot_addr; /* BOOTRST programmed: the reset vector is the bootloader's */
    if (touch) {
        s->avr->data[MCUSR_ADDR] |= MCUSR_WDRF;
        s->avr->data[BOOT_KEY_ADDR] = BOOT_KEY & 0xFF;
        s->avr->data[BOOT_KEY_ADDR + 1] = BOOT_KEY >> 8;
    } else {
        s->avr->data[MCUSR_ADDR] |= MCUSR_EXTRF;
    }
    s->dead = false;
    s->in_app = false;
    s->rx_len = s->rx_head = s->tx_len = s->tx_sent = 0;
    s->last_due = s->tx_free = s->avr->cycle;
    s->polled = s->waiting = s->no_wait = false;
    anchor(s);
}

static void reset(lode_avrsim_s *s) { reset_by(s, false); }

static int hexval(const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* The bootloader's Intel HEX into flash as a programmer burns it: later records win (the stock
 * optiboot_atmega328.hex writes its version word over the end of its own code, which runs past
 * the flash: lode's image reader rightly refuses that file), bytes past the flash are dropped. */
static int burn_hex(lode_avrsim_s *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return LODE_E_NO_DEVICE;
    char line[600];
    uint32_t base = 0;
    int rc = LODE_OK, lineno = 0;
    bool eof = false;
    while (!eof && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        if (!len)
            continue;
        int n = len >= 11 && line[0] == ':' ? hexval(line + 1, 2) : -1;
        int addr = n >= 0 ? hexval(line + 3, 4) : -1, type = n >= 0 ? hexval(line + 7, 2) : -1;
        if (n < 0 || addr < 0 || type < 0 || len < 11 + 2 * (size_t)n) {
            rc = LODE_E_FORMAT;
            break;
        }
        uint8_t data[256];
        unsigned sum = (unsigned)n + ((unsigned)addr >> 8) + ((unsigned)addr & 0xFF) + (unsigned)type;
        for (int i = 0; i <= n && rc == LODE_OK; i++) {
            int b = hexval(line + 9 + 2 * i, 2);
            if (b < 0)
                rc = LODE_E_FORMAT;
            else if (i < n)
                data[i] = (uint8_t)b;
            sum += (unsigned)(b < 0 ? 0 : b);
        }
        if (rc != LODE_OK || (sum & 0xFF)) {
            rc = LODE_E_FORMAT;
            break;
        }
        if (type == 0) {
            for (int i = 0; i < n; i++)
                if (base + (uint32_t)addr + (uint32_t)i <= s->avr->flashend)
                    s->avr->flash[base + (uint32_t)addr + (uint32_t)i] = data[i];
        } else if (type == 1) {
            eof = true;
        } else if (type == 2 && n == 2) {
            base = ((uint32_t)data[0] << 8 | data[1]) << 4;
        } else if (type == 4 && n == 2) {
            base = ((uint32_t)data[0] << 8 | data[1]) << 16;
        } /* 03/05: start addresses, nothing to burn */
    }
    fclose(f);
    if (rc != LODE_OK)
        lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "%s line %d is no Intel HEX record: give the bootloader as "
                 "Intel HEX", path, lineno);
    return rc;
}

int lode_avrsim_new(const lode_avrsim_config_s *cfg, lode_avrsim_s **out)
{
    if (!cfg || !out)
        return LODE_E_INVALID_ARG;
    const board_s *b = NULL;
    for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++)
        if (cfg->board && !strcasecmp(cfg->board, boards[i].name))
            b = &boards[i];
    if (!b) {
        lode_log(cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "no simulated board '%s': the AVR boards are: uno, mega2560, leonardo",
                 cfg->board ? cfg->board : "");
        return LODE_E_NO_DEVICE;
    }
    const char *hex = cfg->bootloader ? cfg->bootloader : b->bootloader;
    if (access(hex, R_OK) != 0) {
        lode_log(cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM,
                 "the %s bootloader %s cannot be read (%s): install Debian's arduino-core-avr (scripts/deps.sh) "
                 "or give the file with --bootloader", b->name, hex, strerror(errno));
        return LODE_E_NO_DEVICE;
    }
    avr_global_logger_set(quiet_logger);
    lode_avrsim_s *s = calloc(1, sizeof *s);
    if (!s)
        return LODE_E_NOMEM;
    s->b = b;
    s->log = cfg->log;
    s->pty_master = -1;
    s->opens = -1;
    s->baud = cfg->baud ? cfg->baud : b->baud;
    s->overrun = cfg->uart_overrun;
    s->byte_cycles = (uint64_t)b->freq * 10u / s->baud;
    s->avr = avr_make_mcu_by_name(b->mcu);
    if (!s->avr || avr_init(s->avr) != 0) {
        lode_log(cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "simavr cannot make an %s", b->mcu);
        free(s);
        return LODE_E_UNSUPPORTED;
    }
    s->avr->frequency = b->freq;
    s->avr->sleep = no_sleep;
    if (widen_memories(s->avr) != LODE_OK) {
        lode_avrsim_free(s);
        return LODE_E_NOMEM;
    }
    unplug_usb(s->avr);
    memset(s->avr->flash, 0xFF, s->avr->flashend + 1);
    int rc = burn_hex(s, hex);
    if (rc != LODE_OK) {
        lode_avrsim_free(s);
        return rc;
    }
    s->avr->reset_pc = b->boot_addr;
    uint32_t flags = 0;
    avr_ioctl(s->avr, AVR_IOCTL_UART_GET_FLAGS(b->uart), &flags);
    flags &= ~(uint32_t)(AVR_UART_FLAG_POLL_SLEEP | AVR_UART_FLAG_STDIO);
    avr_ioctl(s->avr, AVR_IOCTL_UART_SET_FLAGS(b->uart), &flags);
    s->uart_in = avr_io_getirq(s->avr, AVR_IOCTL_UART_GETIRQ(b->uart), UART_IRQ_INPUT);
    avr_irq_register_notify(avr_io_getirq(s->avr, AVR_IOCTL_UART_GETIRQ(b->uart), UART_IRQ_OUTPUT), uart_out, s);
    s->uart = (avr_uart_t *)io_of(s->avr, "uart", b->uart);
    s->flash = (avr_flash_t *)io_of(s->avr, "flash", 0);
    if (!s->uart || !s->flash || !s->uart->rxc.raised.reg) {
        lode_log(cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "simavr's %s has no USART%c or no self-programming", b->mcu, b->uart);
        lode_avrsim_free(s);
        return LODE_E_UNSUPPORTED;
    }
    s->avr->custom.data = s;
    /* the simulated Leonardo keeps simavr's instant SPM for now: lode's avr109 client allows 1 s
     * for 'e', which a real 32U4's 224 page erases (4.5 ms each at most) exceed */
    if (!b->touch) {
        s->flash_ioctl = s->flash->io.ioctl;
        s->flash->io.ioctl = flash_ioctl;
    }
    /* chained in front of simavr's own reader (avr_register_io_read refuses a second one) */
    avr_io_addr_t ucsra = AVR_DATA_TO_IO(s->uart->rxc.raised.reg);
    s->ucsra_read = s->avr->io[ucsra].r.c;
    s->ucsra_param = s->avr->io[ucsra].r.param;
    s->avr->io[ucsra].r.c = ucsra_read;
    s->avr->io[ucsra].r.param = s;
    reset(s);
    *out = s;
    return LODE_OK;
}

void lode_avrsim_free(lode_avrsim_s *s)
{
    if (!s)
        return;
    if (s->pty_master >= 0)
        close(s->pty_master);
    if (s->opens >= 0)
        close(s->opens);
    if (s->pty_link[0])
        unlink(s->pty_link);
    if (s->avr) {
        avr_terminate(s->avr);
        free(s->avr);
    }
    free(s);
}

const char *lode_avrsim_chip(const lode_avrsim_s *s) { return s ? s->b->chip : NULL; }
const char *lode_avrsim_protocol(const lode_avrsim_s *s) { return s ? s->b->protocol : NULL; }
unsigned lode_avrsim_baud(const lode_avrsim_s *s) { return s ? s->baud : 0; }
uint64_t lode_avrsim_time_us(const lode_avrsim_s *s)
{
    return s ? s->avr->cycle / (s->b->freq / 1000000u) : 0;
}

uint64_t lode_avrsim_served_us(lode_avrsim_s *s)
{
    return s ? atomic_load_explicit(&s->shown_us, memory_order_relaxed) : 0;
}

int lode_avrsim_flash_read(const lode_avrsim_s *s, uint32_t addr, void *buf, size_t len)
{
    if (!s || (uint64_t)addr + len > s->avr->flashend + 1u)
        return LODE_E_RANGE;
    memcpy(buf, s->avr->flash + addr, len);
    return LODE_OK;
}

int lode_avrsim_flash_write(lode_avrsim_s *s, uint32_t addr, const void *buf, size_t len)
{
    if (!s || (uint64_t)addr + len > s->avr->flashend + 1u)
        return LODE_E_RANGE;
    memcpy(s->avr->flash + addr, buf, len);
    return LODE_OK;
}

uint32_t lode_avrsim_flash_size(const lode_avrsim_s *s) { return s ? s->avr->flashend + 1u : 0; }

/* simavr's EEPROM ioctls never arrive (the flash module before it in the list answers every
 * ioctl): the EEPROM module's own array, found by its kind */
static avr_eeprom_t *eeprom_of(const lode_avrsim_s *s)
{
    for (avr_io_t *p = s ? s->avr->io_port : NULL; p; p = p->next)
        if (p->kind && !strcmp(p->kind, "eeprom"))
            return (avr_eeprom_t *)p;
    return NULL;
}

uint32_t lode_avrsim_eeprom_size(const lode_avrsim_s *s)
{
    avr_eeprom_t *e = eeprom_of(s);
    return e && e->eeprom ? e->size : 0;
}

int lode_avrsim_eeprom_read(const lode_avrsim_s *s, uint32_t addr, void *buf, size_t len)
{
    avr_eeprom_t *e = eeprom_of(s);
    if (!e || !e->eeprom || (uint64_t)addr + len > e->size)
        return LODE_E_RANGE;
    memcpy(buf, e->eeprom + addr, len);
    return LODE_OK;
}

int lode_avrsim_eeprom_write(lode_avrsim_s *s, uint32_t addr, const void *buf, size_t len)
{
    avr_eeprom_t *e = eeprom_of(s);
    if (!e || !e->eeprom || (uint64_t)addr + len > e->size)
        return LODE_E_RANGE;
    memcpy(e->eeprom + addr, buf, len);
    return LODE_OK;
}

/* ---- the lock-step loop ---------------------------------------------------------------------- */

/* ELPM, EIJMP and EICALL do not exist on cores without RAMPZ/EIND (the ATmega328P); simavr
 * executes them with r0 (data[0]) as the high address byte and reads megabytes past its flash
 * array. An application doing that (random bytes) crashes the board, not the simulator. */
static bool foreign_opcode(const avr_t *avr)
{
    uint16_t op = (uint16_t)(avr->flash[avr->pc] | avr->flash[avr->pc + 1] << 8);
    bool elpm = op == 0x95D8 || (op & 0xFE0E) == 0x9006;
    bool ejump = op == 0x9419 || op == 0x9519;
    return (elpm && !avr->rampz) || (ejump && !avr->eind);
}

/* Received bytes go to the USART (see RX_FIFO): with its buffer full a byte waits in the shift
 * register and, with `overrun`, is lost (data overrun) once the next one's start bit comes, as
 * on the chip; without, the line waits for room (a host with flow control). The line moved:
 * the board may stand still for the host again. */
static void feed(lode_avrsim_s *s)
{
    avr_t *avr = s->avr;
    /* (not while the receiver is off: a real chip loses those bytes, but a host cannot see when
     * the simulated board, which runs on the host's CPU, has started) */
    while (s->rx_len && avr->cycle + s->byte_cycles >= s->rx_due && avr_regbit_get(avr, s->uart->rxen)) {
        if (fifo_count(s) < RX_FIFO) {
            avr_raise_irq(s->uart_in, s->rx[s->rx_head]);
        } else if (s->rx_len > 1 && s->overrun) {
            s->overruns++;
            avr_regbit_set(avr, s->uart->dor);
        } else {
            break; /* in the shift register until the program makes room */
        }
        s->rx_head = (s->rx_head + 1) % RXQ;
        s->rx_len--;
        s->polls = 0;
        s->sess.bytes_in++;
        s->last_due = s->rx_due;
        s->rx_due += s->byte_cycles;
        s->no_wait = false;
        anchor(s);
    }
}

/* Run a slice: feed what is due, run instructions up to the next byte time, the next byte due
 * either way, or until the program polls for a byte that is not on its way. */
static void run_slice(lode_avrsim_s *s)
{
    avr_t *avr = s->avr;
    feed(s);
    uint64_t until = avr->cycle + s->byte_cycles;
    if (s->rx_len && s->rx_due - s->byte_cycles > avr->cycle && s->rx_due - s->byte_cycles < until)
        until = s->rx_due - s->byte_cycles;
    if (s->tx_sent < s->tx_len && s->tx_due[s->tx_sent] > avr->cycle && s->tx_due[s->tx_sent] < until)
        until = s->tx_due[s->tx_sent];
    s->polled = false;
    while (!s->dead && avr->cycle < until && s->tx_len < TXQ && !s->polled) {
        avr->pc &= avr->flashend; /* the program counter wraps round the flash */
        if (foreign_opcode(avr)) {
            s->dead = true;
            break;
        }
        int st = avr_run(avr);
        if (st == cpu_Crashed || st == cpu_Done)
            s->dead = true; /* until the next reset */
        if (avr->pc < s->b->boot_addr) /* the bootloader started the application */
            s->in_app = true;
    }
    if (s->dead) /* a dead board's time still passes for the host's bytes */
        avr->cycle = until;
    /* waiting for the host: its time to answer is not the board's (up to HOST_WAIT_NS) */
    if (s->polled && !s->rx_len && s->tx_sent == s->tx_len && !s->waiting) {
        s->waiting = true;
        s->wait_ns = wall_ns();
    }
}

/* Nothing from the host to feed, nothing on its way to it, and the board either waiting for
 * the host (it stands still, up to HOST_WAIT_NS of wall time; then it follows the wall clock
 * until the line moves again) or as far ahead of the wall clock (since the line last moved)
 * as it may be. While the line moves the board runs as fast as it can. */
static bool idle(lode_avrsim_s *s)
{
    if (s->rx_len || s->tx_sent < s->tx_len)
        return false;
    if (s->waiting) {
        if (wall_ns() - s->wait_ns < HOST_WAIT_NS)
            return true;
        s->waiting = false;
        s->no_wait = true;
        anchor(s);
        return false;
    }
    uint64_t sim_ns = (s->avr->cycle - s->anchor_cycle) * 1000u / (s->b->freq / 1000000u);
    return sim_ns >= wall_ns() - s->anchor_ns + BURST_NS;
}

/* The bytes through on the wire to the host. */
static int flush_tx(lode_avrsim_s *s, int fd)
{
    size_t off = s->tx_sent, end = s->tx_sent;
    while (end < s->tx_len && s->tx_due[end] <= s->avr->cycle)
        end++;
    if (end == off)
        return LODE_OK;
    while (off < end) {
        /* a socket whose host end closed must not raise SIGPIPE (that would end the host's
         * process): send without it; a pty is no socket */
        ssize_t w = send(fd, s->tx + off, end - off, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, s->tx + off, end - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 100);
            continue;
        }
        if (w <= 0)
            return LODE_E_IO;
        off += (size_t)w;
    }
    s->tx_sent = end;
    if (s->tx_sent == s->tx_len)
        s->tx_len = s->tx_sent = 0;
    s->no_wait = false;
    anchor(s);
    return LODE_OK;
}

/* Bytes from the host, sent now (the board's time stood still while it waited): the first one's
 * stop bit is in ten bit times later, not before the last one's. */
static void rx_arrived(lode_avrsim_s *s, const uint8_t *buf, size_t n)
{
    if (!s->rx_len)
        s->rx_due = (s->avr->cycle > s->last_due ? s->avr->cycle : s->last_due) + s->byte_cycles;
    for (size_t i = 0; i < n; i++)
        s->rx[(s->rx_head + s->rx_len + i) % RXQ] = buf[i];
    s->rx_len += n;
    s->waiting = s->no_wait = false;
    anchor(s);
}

/* Did a client open the pty since last asked? (Two clients in quick succession may leave no
 * moment where the master sees the port closed; the open events do not get lost.) */
static bool opened_again(lode_avrsim_s *s)
{
    if (s->opens < 0)
        return false;
    bool any = false;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(s->opens, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)(void *)p;
            if (e->mask & IN_OPEN)
                any = true;
            p += sizeof *e + e->len;
        }
    return any;
}

/* Take what the host sent (wait up to wait_ms when the board is idle). LODE_E_IO: the host
 * closed, or another client opened the pty (its bytes are left for its own session). */
static int take_rx(lode_avrsim_s *s, int fd, int wait_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int n = s->rx_len == RXQ ? 0 : poll(&p, 1, wait_ms);
    /* asked after the poll: a client's open is seen before any byte it sent can be read, so
     * none of a new client's bytes goes to the session before its reset (a busy host may not
     * have seen the last client close at all) */
    if (fd == s->pty_master && opened_again(s))
        return LODE_E_IO;
    if (n <= 0)
        return LODE_OK;
    if (p.revents & POLLIN) {
        uint8_t buf[RXQ];
        ssize_t r = read(fd, buf, RXQ - s->rx_len);
        if (r > 0) {
            rx_arrived(s, buf, (size_t)r);
            return LODE_OK;
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            return LODE_OK;
        return LODE_E_IO;
    }
    return (p.revents & (POLLHUP | POLLERR)) ? LODE_E_IO : LODE_OK;
}

int lode_avrsim_serve_fd(lode_avrsim_s *s, int fd, volatile const sig_atomic_t *stop)
{
    if (!s || fd < 0)
        return LODE_E_INVALID_ARG;
    if (fd == s->pty_master)
        (void)opened_again(s); /* this session's own open */
    reset(s);
    atomic_store_explicit(&s->shown_us, lode_avrsim_time_us(s), memory_order_relaxed);
    s->sess = (lode_avrsim_session_s){.id = s->sess.id + 1};
    s->sess_cycle = s->avr->cycle;
    while (!(stop && *stop)) {
        s->sess.sim_us = (s->avr->cycle - s->sess_cycle) / (s->b->freq / 1000000u);
        /* the host closed, or a new client: the caller starts the next session with a reset */
        if (take_rx(s, fd, idle(s) ? 1 : 0) != LODE_OK)
            break;
        if (idle(s))
            continue;
        run_slice(s);
        atomic_store_explicit(&s->shown_us, lode_avrsim_time_us(s), memory_order_relaxed);
        if (flush_tx(s, fd) != LODE_OK)
            break;
    }
    s->sess.sim_us = (s->avr->cycle - s->sess_cycle) / (s->b->freq / 1000000u);
    return LODE_OK;
}

/* ---- the pseudo-terminal ------------------------------------------------------------------- */

int lode_avrsim_pty_open(lode_avrsim_s *s, const char *link_path, char *name, size_t cap)
{
    if (!s || s->pty_master >= 0)
        return LODE_E_INVALID_ARG;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot make a pseudo-terminal: %s", strerror(errno));
        if (m >= 0)
            close(m);
        return LODE_E_IO;
    }
    const char *pts = ptsname(m);
    /* raw from the start; a client sets its own speed */
    int sl = pts ? open(pts, O_RDWR | O_NOCTTY) : -1;
    if (sl >= 0) {
        struct termios t;
        if (tcgetattr(sl, &t) == 0) {
            cfmakeraw(&t);
            cfsetspeed(&t, B115200);
            tcsetattr(sl, TCSANOW, &t);
        }
        close(sl); /* from now on POLLHUP on the master says nobody has the port open */
    }
    if (link_path) {
        struct stat st;
        if (lstat(link_path, &st) == 0 && !S_ISLNK(st.st_mode)) {
            lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_SIM,
                     "%s exists and is no symbolic link: give --serial-pty a new path", link_path);
            close(m);
            return LODE_E_INVALID_ARG;
        }
        unlink(link_path);
        if (symlink(pts, link_path) != 0) {
            lode_log(s->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot link %s to %s: %s", link_path, pts,
                     strerror(errno));
            close(m);
            return LODE_E_IO;
        }
        snprintf(s->pty_link, sizeof s->pty_link, "%s", link_path);
    }
    snprintf(name, cap, "%s", pts);
    snprintf(s->pty_name, sizeof s->pty_name, "%s", pts);
    s->pty_master = m;
    s->opens = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->opens >= 0 && inotify_add_watch(s->opens, pts, IN_OPEN) < 0) {
        close(s->opens);
        s->opens = -1;
    }
    return LODE_OK;
}

void lode_avrsim_last_session(const lode_avrsim_s *s, lode_avrsim_session_s *out)
{
    if (s && out)
        *out = s->sess;
}

static int touch_serve(lode_avrsim_s *s, volatile const sig_atomic_t *stop, lode_avrsim_session_fn fn, void *user);

int lode_avrsim_pty_serve(lode_avrsim_s *s, volatile const sig_atomic_t *stop, lode_avrsim_session_fn fn,
                          void *user)
{
    if (!s || s->pty_master < 0)
        return LODE_E_INVALID_ARG;
    if (s->b->touch)
        return touch_serve(s, stop, fn, user);
    while (!(stop && *stop)) {
        struct pollfd p = {s->pty_master, POLLIN, 0};
        poll(&p, 1, 50);
        if ((p.revents & POLLHUP) && !opened_again(s)) { /* nobody has the port open */
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        /* opened: the auto-reset; serve until the client closes */
        lode_avrsim_serve_fd(s, s->pty_master, stop);
        if (fn)
            fn(user, &s->sess);
    }
    return LODE_OK;
}

/* ---- USB boards: the 1200-baud touch and re-enumeration ------------------------------------ */

bool lode_avrsim_is_usb(const lode_avrsim_s *s) { return s && s->b->touch; }

int lode_avrsim_set_sysfs(lode_avrsim_s *s, const char *dir)
{
    if (!s || !dir || strlen(dir) >= sizeof s->sysfs)
        return LODE_E_INVALID_ARG;
    snprintf(s->sysfs, sizeof s->sysfs, "%s", dir);
    return LODE_OK;
}

static void mkdirs(const char *path)
{
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    for (char *c = p + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            mkdir(p, 0755);
            *c = '/';
        }
    mkdir(p, 0755);
}

static void put_text(const char *dir, const char *file, const char *text)
{
    char path[640];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* class/tty/NAME of the current pty ("/dev/pts/7" -> "pts!7") */
static void tty_entry(const lode_avrsim_s *s, char *out, size_t cap)
{
    const char *rel = !strncmp(s->pty_name, "/dev/", 5) ? s->pty_name + 5 : s->pty_name;
    char name[64];
    snprintf(name, sizeof name, "%s", rel);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '!';
    snprintf(out, cap, "%s/class/tty/%s", s->sysfs, name);
}

/* The port in the sysfs tree as the kernel shows a CDC-ACM port: the USB device (idVendor,
 * idProduct) with its interface, class/tty/NAME linking to the interface, DEVNAME in uevent. */
static void sysfs_publish(const lode_avrsim_s *s)
{
    if (!s->sysfs[0])
        return;
    char dev[320], iface[400], entry[400], text[128], link[440];
    snprintf(dev, sizeof dev, "%s/devices/lode-sim/usb1/1-1", s->sysfs);
    snprintf(iface, sizeof iface, "%s/1-1:1.0", dev);
    mkdirs(iface);
    snprintf(text, sizeof text, "%04x\n", s->b->vid);
    put_text(dev, "idVendor", text);
    snprintf(text, sizeof text, "%04x\n", s->in_boot ? s->b->boot_pid : s->b->sketch_pid);
    put_text(dev, "idProduct", text);
    put_text(dev, "product", s->in_boot ? "simulated Leonardo bootloader\n" : "simulated Leonardo\n");
    tty_entry(s, entry, sizeof entry);
    mkdirs(entry);
    snprintf(text, sizeof text, "DEVNAME=%s\n", !strncmp(s->pty_name, "/dev/", 5) ? s->pty_name + 5 : s->pty_name);
    put_text(entry, "uevent", text);
    snprintf(link, sizeof link, "%s/device", entry);
    unlink(link);
    if (symlink(iface, link) != 0)
        lode_log(s->log, LODE_LOG_WARN, LODE_LOGC_SIM, "cannot link %s: %s", link, strerror(errno));
}

static void sysfs_withdraw(const lode_avrsim_s *s)
{
    if (!s->sysfs[0])
        return;
    char entry[400], path[440];
    tty_entry(s, entry, sizeof entry);
    snprintf(path, sizeof path, "%s/device", entry);
    unlink(path);
    snprintf(path, sizeof path, "%s/uevent", entry);
    unlink(path);
    rmdir(entry);
}

/* The USB device leaves the bus and comes back as the other one: the pty closed (its client
 * sees a hang-up), a new one made, linked and published. */
static int reenumerate(lode_avrsim_s *s, bool boot, lode_avrsim_session_fn fn, void *user)
{
    sysfs_withdraw(s);
    if (fn)
        fn(user, &s->sess);
    /* the new port is made before the old one closes, so that it gets another name (as a new
     * ttyACM often does): lode must find it by its USB ID */
    int old = s->pty_master;
    s->pty_master = -1;
    if (s->opens >= 0)
        close(s->opens);
    s->opens = -1;
    char link[256], name[64];
    snprintf(link, sizeof link, "%s", s->pty_link);
    s->pty_link[0] = 0; /* pty_open replaces the link */
    int rc = lode_avrsim_pty_open(s, link[0] ? link : NULL, name, sizeof name);
    close(old);
    if (rc != LODE_OK)
        return rc;
    s->in_boot = boot;
    s->tx_len = s->rx_len = s->rx_head = 0;
    s->sess = (lode_avrsim_session_s){.id = s->sess.id + 1};
    s->sess_cycle = s->avr->cycle;
    sysfs_publish(s);
    lode_log(s->log, LODE_LOG_INFO, LODE_LOGC_SIM, "the simulated %s is now %s on %s", s->b->name,
             boot ? "its bootloader" : "its sketch", name);
    return LODE_OK;
}

/* Serve a USB board: it runs all the time (paced to the wall clock, the host's bytes fed at wire
 * speed) whether or not the port is open; what it sends while nobody has the port open is lost,
 * as a USB CDC port's is. Opening the port does not reset it. The port at 1200 baud while the
 * sketch has it (a client holding it there, or one that closed it at 1200) is the touch: the
 * sketch's USB code resets the chip with Caterina's key, the port leaves and the bootloader's
 * comes; the bootloader starting the sketch ('E', its timeout) is the way back. */
static int touch_serve(lode_avrsim_s *s, volatile const sig_atomic_t *stop, lode_avrsim_session_fn fn, void *user)
{
    avr_t *avr = s->avr;
    /* from the power-on reset: the bootloader starts the sketch at once, unless there is none */
    avr_reset(avr);
    avr->pc = s->b->boot_addr;
    bool left = false;
    for (uint64_t end = avr->cycle + s->b->freq / 1000u; avr->cycle < end && !s->dead;) {
        int st = avr_run(avr);
        if (st == cpu_Crashed || st == cpu_Done)
            s->dead = true;
        left = left || avr->pc < s->b->boot_addr;
    }
    s->in_boot = !s->dead && !left;
    s->in_app = false;
    s->tx_len = s->tx_sent = 0;
    anchor(s);
    s->sess = (lode_avrsim_session_s){.id = 1};
    s->sess_cycle = avr->cycle;
    sysfs_publish(s);
    uint64_t next_look = 0;
    while (!(stop && *stop)) {
        s->sess.sim_us = (avr->cycle - s->sess_cycle) / (s->b->freq / 1000000u);
        struct pollfd p = {s->pty_master, POLLIN, 0};
        bool busy = s->rx_len || !idle(s);
        int n = poll(&p, 1, 0);
        bool open = !(n > 0 && (p.revents & POLLHUP));
        if (n > 0 && (p.revents & POLLIN) && s->rx_len < RXQ) {
            uint8_t buf[RXQ];
            ssize_t r = read(s->pty_master, buf, RXQ - s->rx_len);
            if (r > 0) {
                rx_arrived(s, buf, (size_t)r);
                busy = true;
            }
        }
        uint64_t now = wall_ns();
        if (now >= next_look) { /* the touch: the sketch sees the line coding at 1200 baud */
            next_look = now + 5000000u;
            struct termios t;
            if (!s->in_boot && tcgetattr(s->pty_master, &t) == 0 && cfgetospeed(&t) == TOUCH_BAUD) {
                reset_by(s, true);
                if (reenumerate(s, true, fn, user) != LODE_OK)
                    return LODE_E_IO;
                continue;
            }
        }
        if (!busy) {
            struct timespec ts = {0, 1000000L};
            if (open && !s->tx_len) {
                poll(&p, 1, 1);
            } else {
                nanosleep(&ts, NULL);
            }
            continue;
        }
        run_slice(s);
        if (s->tx_len) {
            /* what nobody takes is lost (a USB CDC port without a reader): never wait for room
             * (a client that closed since the poll leaves the pty's buffer to fill) */
            size_t off = 0;
            for (int tries = 0; open && off < s->tx_len && tries < 40;) {
                ssize_t w = write(s->pty_master, s->tx + off, s->tx_len - off);
                if (w > 0) {
                    off += (size_t)w;
                    continue;
                }
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                    break;
                struct pollfd q = {s->pty_master, POLLOUT, 0};
                tries++;
                if (poll(&q, 1, 50) > 0 && (q.revents & POLLHUP))
                    break;
            }
            s->tx_len = s->tx_sent = 0; /* a USB port: the bytes go at once, not at a UART's pace */
        }
        /* the bootloader started the sketch (which may have crashed within the slice) */
        if (s->in_boot && (s->dead || s->in_app)) {
            if (reenumerate(s, false, fn, user) != LODE_OK)
                return LODE_E_IO;
        }
    }
    sysfs_withdraw(s);
    return LODE_OK;
}
