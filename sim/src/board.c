/* SPDX-License-Identifier: MIT */
/* The simulated board: memory map and bus, the virtual clock and timers, the run loop that
 * drives the CPU backend and the exception engine, NOR flash arrays, and the public API. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board.h"
#include "state_file.h"
#include "lode/image.h"
#include "util/bytes.h"

struct lode_sim_s {
    sim_board_s b;
};

static const char *const chip_names[] = {"STM32F103C8", "nRF52840_xxAA", "ATSAMD21G18A", NULL};

const char *const *lode_sim_chips(void) { return chip_names; }

const sim_chip_desc_s *simi_chip_find(const char *name)
{
    if (!name)
        return NULL;
    if (!strcasecmp(name, "STM32F103C8") || !strcasecmp(name, "STM32F103C8Tx") ||
        !strcasecmp(name, "stm32f103"))
        return &simi_chip_stm32f103c8;
    if (!strcasecmp(name, "nRF52840_xxAA") || !strcasecmp(name, "nRF52840") ||
        !strcasecmp(name, "nrf52840"))
        return &simi_chip_nrf52840;
    if (!strcasecmp(name, "ATSAMD21G18A") || !strcasecmp(name, "ATSAMD21G18AU") || !strcasecmp(name, "samd21"))
        return &simi_chip_atsamd21g18a;
    return NULL;
}

/* ---- logging, rng, output ---------------------------------------------------------------- */

void simi_log(const sim_board_s *b, lode_log_level_e lvl, const char *fmt, ...)
{
    /* the category already says "sim": drop the prefix the messages carry in the source */
    if (!strncmp(fmt, "sim: ", 5))
        fmt += 5;
    va_list ap;
    va_start(ap, fmt);
    lode_logv(&b->cfg.log, lvl, LODE_LOGC_SIM, fmt, ap);
    va_end(ap);
}

uint32_t simi_rand(sim_board_s *b)
{
    uint32_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->rng = x;
    return x;
}

void simi_output(sim_board_s *b, const char *port, const uint8_t *data, size_t len)
{
    if (b->cfg.output && len)
        b->cfg.output(b->cfg.output_user, port, data, len);
}

/* ---- time ---------------------------------------------------------------------------------- */

/* During a CPU run the board's clock has not been advanced yet: peripherals see the time of
 * the instruction that accesses them (to block granularity outside precise mode). */
uint64_t simi_now(const sim_board_s *b)
{
    if (!b->in_cpu_run)
        return b->now;
    uint64_t n = b->cpu->ops->executed_so_far(b->cpu);
    unsigned __int128 t = (unsigned __int128)n * 1000000000000ull + b->frac;
    return b->now + (uint64_t)(t / b->cpu_hz);
}
uint32_t simi_cpu_hz(const sim_board_s *b) { return b->cpu_hz; }

/* Advance the clock by whole core cycles, exactly (the remainder carries over). */
void simi_advance_cycles(sim_board_s *b, uint64_t cycles)
{
    unsigned __int128 t = (unsigned __int128)cycles * 1000000000000ull + b->frac;
    b->now += (uint64_t)(t / b->cpu_hz);
    b->frac = (uint64_t)(t % b->cpu_hz);
    b->cycles += cycles;
}

uint64_t simi_cycles(const sim_board_s *b)
{
    return b->cycles + (b->in_cpu_run ? b->cpu->ops->executed_so_far(b->cpu) : 0);
}

static void apply_cpu_hz(sim_board_s *b, uint32_t hz)
{
    if (!hz || hz == b->cpu_hz)
        return;
    /* keep the sub-picosecond remainder in proportion */
    b->frac = (uint64_t)((unsigned __int128)b->frac * hz / b->cpu_hz);
    b->cpu_hz = hz;
    simi_scs_clock_changed(b);
}

void simi_set_cpu_hz(sim_board_s *b, uint32_t hz)
{
    if (hz == (b->pending_hz ? b->pending_hz : b->cpu_hz))
        return; /* no change: the run goes on (a poll of RCC must not end every run) */
    if (b->in_cpu_run) {
        b->pending_hz = hz; /* the run's retired instructions are counted at the old clock */
        b->cpu->ops->request_stop(b->cpu);
        return;
    }
    apply_cpu_hz(b, hz);
}

static uint64_t ps_to_cycles_ceil(const sim_board_s *b, uint64_t ps)
{
    unsigned __int128 t = (unsigned __int128)ps * b->cpu_hz;
    if (t <= b->frac)
        return 0;
    t -= b->frac;
    return (uint64_t)((t + 1000000000000ull - 1) / 1000000000000ull);
}

void simi_timer_arm(sim_board_s *b, sim_timer_s *t, uint64_t at_ps)
{
    if (t->armed)
        simi_timer_cancel(b, t);
    t->at = at_ps;
    t->armed = true;
    /* keep the list sorted by time (ties: first armed first) */
    sim_timer_s **pp = &b->timers;
    while (*pp && (*pp)->at <= at_ps)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    if (b->in_cpu_run)
        b->cpu->ops->request_stop(b->cpu); /* re-plan the run's budget */
}

void simi_timer_cancel(sim_board_s *b, sim_timer_s *t)
{
    if (!t->armed)
        return;
    for (sim_timer_s **pp = &b->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

static void fire_timers(sim_board_s *b)
{
    while (b->timers && b->timers->at <= b->now) {
        sim_timer_s *t = b->timers;
        b->timers = t->next;
        t->armed = false;
        t->next = NULL;
        t->fn(b, t->ctx);
    }
}

static uint64_t next_timer(const sim_board_s *b) { return b->timers ? b->timers->at : UINT64_MAX; }
bool simi_timers_idle(const sim_board_s *b) { return b->timers == NULL; }
uint64_t simi_next_event(const sim_board_s *b) { return next_timer(b); }

/* Let time pass with the core not executing (halted, in reset, locked up or asleep):
 * `core_clocked` says whether core cycles count (sleep: yes; halt/reset: no). */
static void idle_until(sim_board_s *b, uint64_t until, bool core_clocked)
{
    if (until <= b->now)
        return;
    if (core_clocked) {
        uint64_t c = ps_to_cycles_ceil(b, until - b->now);
        simi_advance_cycles(b, c);
    } else {
        b->now = until;
    }
}

/* ---- regions and bus ------------------------------------------------------------------------- */

static sim_region_s *find_region(sim_board_s *b, uint32_t addr)
{
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (addr >= r->base && addr - r->base < r->size)
            return r;
    }
    return NULL;
}

static sim_region_s *new_region(sim_board_s *b, const char *name, uint32_t base, uint32_t size,
                                sim_region_kind_e kind)
{
    if (b->nregions >= SIM_MAX_REGIONS || !size || (uint64_t)base + size > 0x100000000ull)
        return NULL;
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (base < r->base + (uint64_t)r->size && r->base < base + (uint64_t)size) {
            simi_log(b, LODE_LOG_ERROR, "sim: region %s overlaps %s", name, r->name);
            return NULL;
        }
    }
    sim_region_s *r = &b->regions[b->nregions++];
    memset(r, 0, sizeof *r);
    r->name = name;
    r->base = base;
    r->size = size;
    r->kind = kind;
    return r;
}

static uint8_t *alloc_mem(uint32_t size, uint32_t page)
{
    size_t rounded = ((size_t)size + page - 1) / page * page;
    void *p = aligned_alloc(4096, (rounded + 4095) / 4096 * 4096);
    return p;
}

int simi_add_ram(sim_board_s *b, const char *name, uint32_t base, uint32_t size)
{
    uint8_t *mem = alloc_mem(size, b->page);
    if (!mem)
        return -1;
    memset(mem, 0, size);
    sim_region_s *r = new_region(b, name, base, size, SIM_RK_RAM);
    if (!r || b->cpu->ops->map_ram(b->cpu, base, size, mem, true) != 0) {
        if (r)
            b->nregions--;
        free(mem);
        return -1;
    }
    r->mem = mem;
    r->owns_mem = true;
    return 0;
}

sim_nor_s *simi_add_flash(sim_board_s *b, const char *name, uint32_t base, uint32_t size,
                          uint32_t page_size, uint32_t alias)
{
    if (b->nnor >= SIM_MAX_NOR || !page_size || size % page_size)
        return NULL;
    uint8_t *mem = alloc_mem(size, b->page);
    uint32_t npages = size / page_size;
    uint32_t *ec = calloc(npages, sizeof *ec);
    if (!mem || !ec) {
        free(mem);
        free(ec);
        return NULL;
    }
    memset(mem, 0xFF, size);
    sim_region_s *r = new_region(b, name, base, size, SIM_RK_FLASH);
    if (!r || b->cpu->ops->map_ram(b->cpu, base, size, mem, false) != 0) {
        if (r)
            b->nregions--;
        free(mem);
        free(ec);
        return NULL;
    }
    sim_nor_s *nor = &b->nor[b->nnor++];
    memset(nor, 0, sizeof *nor);
    nor->base = base;
    nor->size = size;
    nor->page_size = page_size;
    nor->erased = 0xFF;
    nor->mem = mem;
    nor->erase_count = ec;
    r->mem = mem;
    r->nor = nor;
    r->owns_mem = true;
    if (alias != SIM_NO_ALIAS) {
        sim_region_s *a = new_region(b, "flash alias", alias, size, SIM_RK_FLASH);
        if (!a || b->cpu->ops->map_ram(b->cpu, alias, size, mem, false) != 0)
            return NULL;
        a->mem = mem;
        a->nor = nor;
    }
    return nor;
}

void simi_set_flashctl(sim_board_s *b, sim_nor_s *nor, const sim_flashctl_ops_s *ops, void *ctx)
{
    for (unsigned i = 0; i < b->nnor; i++) {
        if (&b->nor[i] == nor) {
            b->flashctl[i] = ops;
            b->flashctl_ctx[i] = ctx;
        }
    }
}

int simi_add_periph(sim_board_s *b, const char *name, uint32_t base, uint32_t size,
                    const sim_periph_ops_s *ops, void *ctx)
{
    sim_region_s *r = new_region(b, name, base, size, SIM_RK_PERIPH);
    if (!r) {
        if (ops->free)
            ops->free(ctx);
        return -1;
    }
    r->ops = ops;
    r->ctx = ctx;
    return 0;
}

int simi_add_unmodeled_window(sim_board_s *b, uint32_t base, uint32_t size)
{
    return new_region(b, "unmodeled", base, size, SIM_RK_UNMODELED) ? 0 : -1;
}

void simi_flash_busy_until(sim_board_s *b, uint64_t until_ps)
{
    if (until_ps > b->flash_busy_until)
        b->flash_busy_until = until_ps;
}

static unsigned nor_index(sim_board_s *b, const sim_nor_s *nor)
{
    return (unsigned)(nor - b->nor);
}

static void code_changed(sim_board_s *b, uint32_t base, uint32_t len)
{
    /* invalidate every mapping of this array (primary + alias) */
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (r->kind != SIM_RK_FLASH)
            continue;
        for (unsigned n = 0; n < b->nnor; n++) {
            if (r->nor == &b->nor[n] && base >= b->nor[n].base &&
                base - b->nor[n].base < b->nor[n].size) {
                uint32_t off = base - b->nor[n].base;
                b->cpu->ops->invalidate(b->cpu, r->base + off, len);
            }
        }
    }
}

void simi_nor_program(sim_board_s *b, sim_nor_s *nor, uint32_t off, const uint8_t *data, uint32_t len)
{
    if (off >= nor->size || len > nor->size - off)
        return;
    for (uint32_t i = 0; i < len; i++)
        nor->mem[off + i] &= data[i];
    nor->programs++;
    code_changed(b, nor->base + off, len);
    /* a fixup pending on these bytes must restore the programmed value, not the old one */
    for (unsigned i = 0; i < b->nfix; i++) {
        if (b->fix[i].nor != nor)
            continue;
        for (unsigned k = 0; k < b->fix[i].n; k++) {
            uint32_t a = b->fix[i].addr + k;
            if (a >= off && a < off + len)
                b->fix[i].bytes[k] = nor->mem[a];
        }
    }
}

void simi_nor_erase(sim_board_s *b, sim_nor_s *nor, uint32_t off, uint32_t len)
{
    if (off >= nor->size || len > nor->size - off)
        return;
    memset(nor->mem + off, nor->erased, len);
    for (uint32_t p = off / nor->page_size; p < (off + len + nor->page_size - 1) / nor->page_size; p++)
        nor->erase_count[p]++;
    code_changed(b, nor->base + off, len);
    for (unsigned i = 0; i < b->nfix; i++) {
        if (b->fix[i].nor != nor)
            continue;
        for (unsigned k = 0; k < b->fix[i].n; k++) {
            uint32_t a = b->fix[i].addr + k;
            if (a >= off && a < off + len)
                b->fix[i].bytes[k] = nor->erased;
        }
    }
}

void simi_nor_corrupt(sim_board_s *b, sim_nor_s *nor, uint32_t off, uint32_t len, bool was_erase,
                      const uint8_t *data)
{
    if (off >= nor->size || len > nor->size - off)
        return;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t old = nor->mem[off + i];
        /* target: what the finished operation would have left */
        uint8_t target = was_erase ? nor->erased : (uint8_t)(old & (data ? data[i] : 0));
        /* bits that would change flip individually, each with probability 1/2 */
        uint8_t change = (uint8_t)(old ^ target);
        uint8_t flip = (uint8_t)(simi_rand(b) & change);
        nor->mem[off + i] = (uint8_t)(old ^ flip);
    }
    code_changed(b, nor->base + off, len);
}

bool simi_flash_op_begin(sim_board_s *b, sim_nor_s *nor, uint32_t off, uint32_t len, bool erase,
                         const uint8_t *data)
{
    if (!b->powerloss_countdown)
        return false;
    if (--b->powerloss_countdown)
        return false;
    simi_log(b, LODE_LOG_INFO, "sim: power lost during flash %s of 0x%08x..0x%08x",
             erase ? "erase" : "program", nor->base + off, nor->base + off + len - 1);
    simi_nor_corrupt(b, nor, off, len, erase, data);
    b->powerloss_pending = true;
    if (b->in_cpu_run)
        b->cpu->ops->request_stop(b->cpu);
    return true;
}

static void log_unmodeled(sim_board_s *b, uint32_t addr, bool write, uint32_t val)
{
    for (unsigned i = 0; i < b->nunmodeled_logged; i++)
        if (b->unmodeled_logged[i] == addr)
            return;
    if (b->nunmodeled_logged < sizeof b->unmodeled_logged / sizeof b->unmodeled_logged[0])
        b->unmodeled_logged[b->nunmodeled_logged++] = addr;
    if (write)
        simi_log(b, LODE_LOG_INFO, "sim: write 0x%08x to unmodeled peripheral address 0x%08x ignored",
                 val, addr);
    else
        simi_log(b, LODE_LOG_INFO, "sim: read of unmodeled peripheral address 0x%08x returns 0", addr);
}

static bool is_ppb(uint32_t addr) { return addr >= 0xE0000000u && addr < 0xE0100000u; }

int simi_bus_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, sim_initiator_e who)
{
    if ((size != 1 && size != 2 && size != 4) || (addr & (size - 1)))
        return SIM_BUS_FAULT;
    if (is_ppb(addr) && simi_scs_owns(b, addr))
        return simi_scs_read(b, addr, size, val, who);
    sim_region_s *r = find_region(b, addr);
    if (!r)
        return SIM_BUS_FAULT;
    uint32_t off = addr - r->base;
    if (off + size > r->size)
        return SIM_BUS_FAULT;
    switch (r->kind) {
    case SIM_RK_FLASH:
        if (b->flash_busy_until > b->now) {
            if (who == SIM_INIT_DAP) {
                idle_until(b, b->flash_busy_until, !b->halted && !b->in_reset);
                fire_timers(b);
            }
        }
        /* fall through */
    case SIM_RK_RAM: {
        const uint8_t *p = r->mem + off;
        *val = size == 1 ? p[0] : size == 2 ? lodei_get_le16(p) : lodei_get_le32(p);
        return SIM_BUS_OK;
    }
    case SIM_RK_PERIPH:
        return r->ops->read(r->ctx, off, size, val, who);
    case SIM_RK_UNMODELED:
        log_unmodeled(b, addr, false, 0);
        *val = 0;
        return SIM_BUS_OK;
    }
    return SIM_BUS_FAULT;
}

int simi_bus_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who)
{
    if ((size != 1 && size != 2 && size != 4) || (addr & (size - 1)))
        return SIM_BUS_FAULT;
    if (is_ppb(addr) && simi_scs_owns(b, addr))
        return simi_scs_write(b, addr, size, val, who);
    sim_region_s *r = find_region(b, addr);
    if (!r)
        return SIM_BUS_FAULT;
    uint32_t off = addr - r->base;
    if (off + size > r->size)
        return SIM_BUS_FAULT;
    switch (r->kind) {
    case SIM_RK_RAM: {
        uint8_t *p = r->mem + off;
        if (size == 1)
            p[0] = (uint8_t)val;
        else if (size == 2)
            lodei_put_le16(p, (uint16_t)val);
        else
            lodei_put_le32(p, val);
        /* a debugger writing over code the core has run (a flash loader, then another
         * algorithm at the same address): the core must see the new instructions. The core's
         * own stores are caught by the CPU backend's self-modifying-code handling. */
        if (who != SIM_INIT_CPU)
            b->cpu->ops->invalidate(b->cpu, addr, size);
        return SIM_BUS_OK;
    }
    case SIM_RK_FLASH: {
        unsigned n = nor_index(b, r->nor);
        if (!b->flashctl[n])
            return SIM_BUS_FAULT;
        /* controllers see the array's primary address, also for stores through an alias */
        uint32_t a = r->nor->base + off;
        return b->flashctl[n]->array_write(b->flashctl_ctx[n], a, size, val, who);
    }
    case SIM_RK_PERIPH:
        return r->ops->write(r->ctx, off, size, val, who);
    case SIM_RK_UNMODELED:
        log_unmodeled(b, addr, true, val);
        return SIM_BUS_OK;
    }
    return SIM_BUS_FAULT;
}

/* ---- callbacks from the CPU backend ----------------------------------------------------------- */

static void cpu_bus_fault(sim_board_s *b, uint32_t addr, bool write)
{
    if (!b->bus_fault_pending) {
        b->bus_fault_pending = true;
        b->bus_fault_addr = addr;
        b->bus_fault_write = write;
    }
    b->cpu->ops->request_stop(b->cpu);
}

int simi_cpu_cb_mmio_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, bool *stable)
{
    uint32_t rng = b->rng;
    int r = simi_bus_read(b, addr, size, val, SIM_INIT_CPU);
    /* the clock is seen by the CPU backend (executed_so_far); random numbers here */
    *stable = r == SIM_BUS_OK && !is_ppb(addr) && b->rng == rng;
    if (r != SIM_BUS_OK) {
        *val = 0;
        cpu_bus_fault(b, addr, false);
    }
    return r;
}

int simi_cpu_cb_mmio_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val)
{
    int r = simi_bus_write(b, addr, size, val, SIM_INIT_CPU);
    if (r != SIM_BUS_OK)
        cpu_bus_fault(b, addr, true);
    return r;
}

void simi_cpu_cb_rom_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val)
{
    sim_region_s *r = find_region(b, addr);
    if (!r || r->kind != SIM_RK_FLASH) {
        cpu_bus_fault(b, addr, true);
        return;
    }
    uint32_t off = addr - r->base;
    /* the raw stores before this one in the block have landed: put the array right first, so
     * that the snapshot below and the controller see its true content. (One block may store
     * to the same flash bytes many times — code run from a data image through the boot alias
     * did: a second snapshot of a byte held the first raw store, and restoring in order left
     * it there.) */
    if (b->nfix)
        simi_cpu_cb_fixup(b);
    /* remember the array's current bytes first: whatever the controller does, the raw store
     * that follows must not be what stays in the array */
    if (b->nfix < SIM_MAX_FIX && size <= 4 && off + size <= r->size) {
        b->fix[b->nfix].addr = off;
        b->fix[b->nfix].n = size;
        b->fix[b->nfix].nor = r->nor;
        memcpy(b->fix[b->nfix].bytes, r->nor->mem + off, size);
        b->nfix++;
    }
    if (simi_bus_write(b, addr, size, val, SIM_INIT_CPU) != SIM_BUS_OK)
        cpu_bus_fault(b, addr, true);
    /* if the controller programmed it, simi_nor_program updated the fixup bytes */
    if (b->flash_busy_until > b->now)
        b->cpu->ops->request_stop(b->cpu); /* a write starts an operation: re-plan */
}

void simi_cpu_cb_fixup(sim_board_s *b)
{
    for (unsigned i = 0; i < b->nfix; i++) {
        memcpy(b->fix[i].nor->mem + b->fix[i].addr, b->fix[i].bytes, b->fix[i].n);
        code_changed(b, b->fix[i].nor->base + b->fix[i].addr, b->fix[i].n);
    }
    b->nfix = 0;
}

void simi_cpu_cb_watch(sim_board_s *b, unsigned slot, uint32_t addr, unsigned size, bool write,
                       uint32_t value)
{
    (void)value;
    simi_dwt_watch_hit(b, slot, addr, size, write);
}

/* ---- events --------------------------------------------------------------------------------- */

void simi_irq_set(sim_board_s *b, unsigned irq, bool pending)
{
    unsigned exc = EXC_IRQ0 + irq;
    if (exc >= b->scs.nexc)
        return;
    if (pending) {
        simi_exc_pend(b, exc);
        if (b->in_cpu_run)
            b->cpu->ops->request_stop(b->cpu);
    } else {
        b->scs.pending[exc] = false;
    }
}

void simi_request_system_reset(sim_board_s *b, const char *why)
{
    b->reset_request = true;
    b->reset_why = why;
    if (b->in_cpu_run)
        b->cpu->ops->request_stop(b->cpu);
}

/* ---- core control ------------------------------------------------------------------------- */

void simi_update_precise(sim_board_s *b)
{
    bool watch = false;
    for (unsigned i = 0; i < b->scs.dwt_ncomp; i++) {
        unsigned f = b->scs.dwt_function[i] & 0xF;
        if (f >= 5 && f <= 7)
            watch = true;
    }
    b->cpu->ops->set_precise(b->cpu, watch || b->stepping);
}

void simi_board_halt(sim_board_s *b, uint32_t dfsr_bits)
{
    b->scs.dfsr |= dfsr_bits;
    if (b->halted)
        return;
    b->halted = true;
    b->sleeping = false;
    b->stepping = false;
    simi_scs_halted_changed(b);
    if (b->in_cpu_run)
        b->cpu->ops->request_stop(b->cpu);
}

void simi_board_resume(sim_board_s *b)
{
    if (!b->halted)
        return;
    b->halted = false;
    simi_scs_halted_changed(b);
    simi_update_precise(b);
}

static void reset_ram(sim_board_s *b, bool random)
{
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (r->kind != SIM_RK_RAM)
            continue;
        if (random) {
            for (uint32_t k = 0; k < r->size; k += 4) {
                uint32_t v = simi_rand(b);
                memcpy(r->mem + k, &v, r->size - k >= 4 ? 4 : r->size - k);
            }
        }
    }
}

sim_reset_cause_e simi_reset_cause(const sim_board_s *b) { return b->reset_cause; }

void simi_board_system_reset(sim_board_s *b, bool power_on)
{
    if (power_on)
        b->reset_cause = SIM_RESET_POR;
    else if (b->reset_cause == SIM_RESET_POR)
        b->reset_cause = SIM_RESET_SYST; /* callers set EXT before a pin reset */
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (r->kind == SIM_RK_PERIPH && r->ops->reset)
            r->ops->reset(r->ctx);
    }
    b->flash_busy_until = 0;
    b->sleeping = false;
    b->lockup = false;
    b->bus_fault_pending = false;
    b->reset_request = false;
    b->nfix = 0;
    if (power_on) {
        b->halted = false;
        b->stepping = false;
        if (b->dp)
            simi_swdp_power_on_reset(b->dp);
    }
    b->pending_hz = 0;
    apply_cpu_hz(b, b->chip->reset_hz ? b->chip->reset_hz : b->chip->cpu_hz);
    simi_scs_reset(b, power_on);
    simi_core_reset_from_vectors(b);
    simi_update_precise(b);
}

/* ---- the run loop --------------------------------------------------------------------------- */

static bool addr_in_flash(sim_board_s *b, uint32_t addr)
{
    sim_region_s *r = find_region(b, addr);
    return r && r->kind == SIM_RK_FLASH;
}

static uint32_t cpu_pc(sim_board_s *b)
{
    uint32_t pc = 0;
    b->cpu->ops->reg_read(b->cpu, SIM_REG_PC, &pc);
    return pc;
}

/* A fault or event reported by the backend. */
static void handle_exit(sim_board_s *b, sim_cpu_exit_e why, uint32_t info)
{
    sim_scs_s *s = &b->scs;
    switch (why) {
    case SIM_CPU_EXIT_LIMIT:
    case SIM_CPU_EXIT_STOP:
        break;
    case SIM_CPU_EXIT_BKPT:
        if (s->dhcsr & 1u) {
            simi_board_halt(b, DFSR_BKPT);
        } else {
            /* no debugger: BKPT escalates to HardFault (DEBUGEVT), ARMv7-M C1.4 */
            s->hfsr |= 1u << 31;
            simi_exc_fault(b, EXC_HARDFAULT, 0);
        }
        break;
    case SIM_CPU_EXIT_BREAKPOINT:
        if (s->dhcsr & 1u) {
            simi_board_halt(b, DFSR_BKPT);
        } else {
            s->hfsr |= 1u << 31;
            simi_exc_fault(b, EXC_HARDFAULT, 0);
        }
        break;
    case SIM_CPU_EXIT_SVC:
        simi_exc_fault(b, EXC_SVCALL, 0);
        break;
    case SIM_CPU_EXIT_EXC_RETURN:
        simi_exc_return(b, info);
        break;
    case SIM_CPU_EXIT_UNDEF:
        simi_exc_fault(b, EXC_USAGEFAULT, 1u << 16); /* UFSR.UNDEFINSTR */
        break;
    case SIM_CPU_EXIT_INVSTATE:
        simi_exc_fault(b, EXC_USAGEFAULT, 1u << 17); /* UFSR.INVSTATE */
        break;
    case SIM_CPU_EXIT_FETCH_FAULT: {
        /* Execute-never regions of the default memory map (ARMv7-M B3.1): MemManage IACCVIOL;
         * otherwise a bus error on the fetch: BusFault IBUSERR. */
        bool xn = (info >= 0x40000000u && info < 0x60000000u) || info >= 0xA0000000u;
        if (xn)
            simi_exc_fault(b, EXC_MEMMANAGE, 1u << 0);
        else
            simi_exc_fault(b, EXC_BUSFAULT, 1u << 8);
        break;
    }
    case SIM_CPU_EXIT_WFI:
        if (!simi_exc_wake_pending(b))
            b->sleeping = true;
        break;
    case SIM_CPU_EXIT_ERROR:
        break;
    }
}

bool simi_exc_masked_pending(sim_board_s *b); /* scs.c */

/* Run until `deadline` (ps). Returns early when the core halts if stop_on_halt. */
static lode_sim_stop_e run_until(sim_board_s *b, uint64_t deadline, bool stop_on_halt)
{
    lode_sim_stop_e result = LODE_SIM_STOP_BUDGET;
    bool was_halted = b->halted;
    while (b->now < deadline) {
        fire_timers(b);
        if (b->powerloss_pending) {
            b->powerloss_pending = false;
            reset_ram(b, true);
            simi_board_system_reset(b, true);
        }
        if (b->reset_request) {
            simi_log(b, LODE_LOG_INFO, "sim: system reset (%s)", b->reset_why ? b->reset_why : "?");
            simi_board_system_reset(b, false);
        }
        if (b->halted && !was_halted && stop_on_halt)
            return LODE_SIM_STOP_HALTED;
        uint64_t next = next_timer(b);
        if (next > deadline)
            next = deadline;
        if (b->in_reset || b->halted || b->lockup) {
            idle_until(b, next, false);
            continue;
        }
        if (b->core_held) {
            idle_until(b, next, true);
            continue;
        }
        if (b->sleeping) {
            if (simi_exc_wake_pending(b)) {
                b->sleeping = false;
            } else {
                idle_until(b, next, true);
                continue;
            }
        }
        if (simi_exc_take_pending(b)) {
            if (b->halted)
                continue; /* vector catch */
            if (b->stepping) {
                /* a step that enters an exception halts on the handler's first instruction */
                simi_board_halt(b, DFSR_HALTED);
                continue;
            }
        }
        /* executing from flash while it is busy stalls the core */
        if (b->flash_busy_until > b->now && addr_in_flash(b, cpu_pc(b))) {
            uint64_t until = b->flash_busy_until < next ? b->flash_busy_until : next;
            idle_until(b, until, true);
            continue;
        }
        /* An exception held back only by PRIMASK/FAULTMASK/BASEPRI must be taken right after
         * the CPS/MSR that unmasks it (ARMv7-M B5.2.1, B5.2.3): the run then ends after every
         * such instruction. Nothing else during a run can unmask it without ending the run
         * already: an exception return, SVC and faults exit; NVIC/SCB writes that change what
         * may preempt, IRQs and new timers request a stop; the debugger acts between runs. */
        b->cpu->ops->set_mask_watch(b->cpu, simi_exc_masked_pending(b));
        uint64_t cycles = b->stepping ? 1 : ps_to_cycles_ceil(b, next - b->now);
        if (!cycles)
            cycles = 1;
        uint64_t executed = 0;
        uint32_t info = 0;
        b->in_cpu_run = true;
        b->cpu_runs++;
        sim_cpu_exit_e why = b->cpu->ops->run(b->cpu, cycles, &executed, &info);
        b->in_cpu_run = false;
        b->insns += executed;
        if (executed)
            b->scs.s_retire_st = true;
        simi_advance_cycles(b, executed ? executed : (why == SIM_CPU_EXIT_LIMIT ? 1 : 0));
        if (b->pending_hz) {
            apply_cpu_hz(b, b->pending_hz);
            b->pending_hz = 0;
        }
        if (why == SIM_CPU_EXIT_ERROR) {
            b->lockup = true;
            return LODE_SIM_STOP_ERROR;
        }
        if (b->bus_fault_pending) {
            b->bus_fault_pending = false;
            s_bus_fault:
            b->scs.bfar = b->bus_fault_addr;
            /* data bus error: PRECISERR + BFARVALID (reads); writes are buffered: IMPRECISERR */
            simi_exc_fault(b, EXC_BUSFAULT,
                           b->bus_fault_write ? (1u << 10) : ((1u << 9) | (1u << 15)));
        }
        handle_exit(b, why, info);
        if (b->stepping && !b->halted && (executed || why != SIM_CPU_EXIT_LIMIT))
            simi_board_halt(b, DFSR_HALTED);
        if (b->lockup)
            return LODE_SIM_STOP_LOCKUP;
        if (b->halted && stop_on_halt)
            return LODE_SIM_STOP_HALTED;
        continue;
        goto s_bus_fault; /* keeps the label used for compilers that warn */
    }
    fire_timers(b);
    if (b->halted)
        result = LODE_SIM_STOP_HALTED;
    if (b->lockup)
        result = LODE_SIM_STOP_LOCKUP;
    return result;
}

/* ---- public API ------------------------------------------------------------------------------ */

static void free_board(sim_board_s *b)
{
    if (b->dp)
        simi_swdp_free(b->dp);
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (r->kind == SIM_RK_PERIPH && r->ops->free)
            r->ops->free(r->ctx);
        if (r->owns_mem)
            free(r->mem);
    }
    for (unsigned i = 0; i < b->nnor; i++)
        free(b->nor[i].erase_count);
    if (b->cpu)
        b->cpu->ops->free(b->cpu);
}

/* Everything below 0xF0000000 that is not RAM or flash is mapped as I/O in the CPU: the board's
 * bus dispatch then decides (peripheral, unmodeled window, PPB, or a bus fault for reserved
 * addresses). Few, large regions keep Unicorn's region lookup cheap. 0xF0000000 and up stay
 * unmapped: EXC_RETURN values live there and Unicorn must see a branch to them as a fetch
 * fault. */
static int map_io(sim_board_s *b)
{
    struct {
        uint64_t lo, hi;
    } used[SIM_MAX_REGIONS];
    unsigned nu = 0;
    uint64_t pg = b->page;
    for (unsigned k = 0; k < b->nregions; k++) {
        sim_region_s *r = &b->regions[k];
        if (r->kind != SIM_RK_RAM && r->kind != SIM_RK_FLASH)
            continue;
        if ((r->base % pg) || (r->size % pg)) {
            simi_log(b, LODE_LOG_ERROR, "sim: memory %s is not aligned to the CPU's %u-byte pages",
                     r->name, b->page);
            return -1;
        }
        used[nu].lo = r->base;
        used[nu].hi = (uint64_t)r->base + r->size;
        nu++;
    }
    for (unsigned i = 1; i < nu; i++)
        for (unsigned j = i; j > 0 && used[j].lo < used[j - 1].lo; j--) {
            uint64_t tl = used[j].lo, th = used[j].hi;
            used[j] = used[j - 1];
            used[j - 1].lo = tl;
            used[j - 1].hi = th;
        }
    uint64_t cursor = 0, top = 0xF0000000ull;
    for (unsigned i = 0; i <= nu && cursor < top; i++) {
        uint64_t lo = i < nu ? used[i].lo : top;
        if (lo > top)
            lo = top;
        if (lo > cursor && b->cpu->ops->map_mmio(b->cpu, (uint32_t)cursor, lo - cursor) != 0)
            return -1;
        if (i < nu && used[i].hi > cursor)
            cursor = used[i].hi;
    }
    return 0;
}

int lode_sim_new(const lode_sim_config_s *cfg, lode_sim_s **out)
{
    if (!cfg || !out)
        return LODE_E_INVALID_ARG;
    const sim_chip_desc_s *chip = simi_chip_find(cfg->chip);
    if (!chip) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM,
                 "unknown simulated chip '%s': use STM32F103C8, nRF52840_xxAA or ATSAMD21G18A",
                 cfg->chip ? cfg->chip : "(none)");
        return LODE_E_NO_DEVICE;
    }
    lode_sim_s *sim = calloc(1, sizeof *sim);
    if (!sim)
        return LODE_E_NOMEM;
    sim_board_s *b = &sim->b;
    b->cfg = *cfg;
    b->chip = chip;
    b->rng = cfg->seed ? cfg->seed : 0x2545F491u;
    b->swd_hz = cfg->swd_hz ? cfg->swd_hz : 4000000u;
    b->has_fpu = chip->core == SIM_CORE_M4F;
    b->cpu_hz = chip->reset_hz ? chip->reset_hz : chip->cpu_hz;
    b->prio_bits = chip->prio_bits ? chip->prio_bits : (chip->core == SIM_CORE_M0P ? 2 : 4);
    char err[128] = "";
    sim_cpu_model_e model = chip->core == SIM_CORE_M0P ? SIM_CPU_M0P
                            : chip->core == SIM_CORE_M3 ? SIM_CPU_M3
                                                        : SIM_CPU_M4F;
    b->cpu = simi_cpu_unicorn_new(b, model, err, sizeof err);
    if (!b->cpu) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot start the CPU emulator: %s", err);
        free(sim);
        return LODE_E_IO;
    }
    b->page = b->cpu->page;
    simi_scs_init(b);
    if (chip->build(b, chip) != 0 || map_io(b) != 0) {
        lode_log(&cfg->log, LODE_LOG_ERROR, LODE_LOGC_SIM, "cannot build simulated chip %s", chip->name);
        free_board(b);
        free(sim);
        return LODE_E_IO;
    }
    sim_swdp_config_s dc = {.dpidr = chip->dpidr, .ap_idr = chip->ap_idr ? chip->ap_idr : 0x24770011u,
                            .rom_base = chip->ap_base ? chip->ap_base : 0xE00FF003u,
                            .swj = chip->swj, .tar_wrap = chip->core == SIM_CORE_M0P ? 0x400u : 0x1000u};
    b->dp = simi_swdp_new(b, &dc);
    if (!b->dp) {
        free_board(b);
        free(sim);
        return LODE_E_NOMEM;
    }
    simi_board_system_reset(b, true);
    *out = sim;
    return LODE_OK;
}

void lode_sim_free(lode_sim_s *sim)
{
    if (!sim)
        return;
    free_board(&sim->b);
    free(sim);
}

const char *lode_sim_chip_name(const lode_sim_s *sim) { return sim->b.chip->name; }
uint32_t lode_sim_cpu_hz(const lode_sim_s *sim) { return sim->b.cpu_hz; }
uint64_t lode_sim_now(const lode_sim_s *sim) { return sim->b.now; }
uint64_t lode_sim_instructions(const lode_sim_s *sim) { return sim->b.insns; }
uint64_t lode_sim_cpu_runs(const lode_sim_s *sim) { return sim->b.cpu_runs; }
void lode_sim_set_fast_forward(lode_sim_s *sim, bool on) { sim->b.cpu->ops->set_fast_forward(sim->b.cpu, on); }
uint64_t lode_sim_fast_forwarded(const lode_sim_s *sim) { return sim->b.cpu->ops->fast_forwarded(sim->b.cpu); }
bool lode_sim_halted(const lode_sim_s *sim) { return sim->b.halted; }

lode_sim_stop_e lode_sim_run(lode_sim_s *sim, uint64_t budget_ps)
{
    sim_board_s *b = &sim->b;
    uint64_t deadline = b->now + budget_ps < b->now ? UINT64_MAX : b->now + budget_ps;
    return run_until(b, deadline, true);
}

void lode_sim_advance(lode_sim_s *sim, uint64_t ps)
{
    sim_board_s *b = &sim->b;
    run_until(b, b->now + ps, false);
}

int simi_add_uart_rx(sim_board_s *b, const char *port, sim_uart_rx_fn fn, void *ctx)
{
    if (b->nuart_rx == sizeof b->uart_rx / sizeof b->uart_rx[0])
        return -1;
    b->uart_rx[b->nuart_rx].port = port;
    b->uart_rx[b->nuart_rx].fn = fn;
    b->uart_rx[b->nuart_rx].ctx = ctx;
    b->uart_rx[b->nuart_rx].pending = NULL;
    b->uart_rx[b->nuart_rx].ready = NULL;
    b->uart_rx[b->nuart_rx].usb = NULL;
    b->nuart_rx++;
    return 0;
}

void simi_set_uart_usb(sim_board_s *b, const char *port, sim_uart_usb_fn fn)
{
    for (unsigned i = 0; i < b->nuart_rx; i++)
        if (!strcasecmp(b->uart_rx[i].port, port))
            b->uart_rx[i].usb = fn;
}

bool simi_uart_usb(sim_board_s *b, const char *port, bool usb)
{
    for (unsigned i = 0; port && i < b->nuart_rx; i++)
        if (!strcasecmp(b->uart_rx[i].port, port) && b->uart_rx[i].usb) {
            b->uart_rx[i].usb(b->uart_rx[i].ctx, usb);
            return true;
        }
    return false;
}

void simi_set_uart_rx_state(sim_board_s *b, const char *port, sim_uart_pending_fn pending, sim_uart_ready_fn ready)
{
    for (unsigned i = 0; i < b->nuart_rx; i++)
        if (!strcasecmp(b->uart_rx[i].port, port)) {
            b->uart_rx[i].pending = pending;
            b->uart_rx[i].ready = ready;
        }
}

bool lode_sim_uart_ready(lode_sim_s *sim, const char *port)
{
    sim_board_s *b = &sim->b;
    for (unsigned i = 0; port && i < b->nuart_rx; i++)
        if (!strcasecmp(b->uart_rx[i].port, port))
            return !b->uart_rx[i].ready || b->uart_rx[i].ready(b->uart_rx[i].ctx);
    return false;
}

size_t lode_sim_uart_pending(lode_sim_s *sim, const char *port)
{
    sim_board_s *b = &sim->b;
    for (unsigned i = 0; port && i < b->nuart_rx; i++)
        if (!strcasecmp(b->uart_rx[i].port, port) && b->uart_rx[i].pending)
            return b->uart_rx[i].pending(b->uart_rx[i].ctx);
    return 0;
}

int lode_sim_uart_input(lode_sim_s *sim, const char *port, const uint8_t *data, size_t len)
{
    sim_board_s *b = &sim->b;
    for (unsigned i = 0; port && i < b->nuart_rx; i++)
        if (!strcasecmp(b->uart_rx[i].port, port)) {
            if (len)
                b->uart_rx[i].fn(b->uart_rx[i].ctx, data, len);
            return LODE_OK;
        }
    return LODE_E_NO_DEVICE;
}

void lode_sim_set_output(lode_sim_s *sim, lode_sim_output_fn fn, void *user)
{
    sim->b.cfg.output = fn;
    sim->b.cfg.output_user = user;
}

sim_board_s *simi_board_of(lode_sim_s *sim) { return &sim->b; }
void simi_board_hold_core(sim_board_s *b, bool held) { b->core_held = held; }
void simi_run_until(sim_board_s *b, uint64_t until_ps) { run_until(b, until_ps, false); }

void lode_sim_power_on_reset(lode_sim_s *sim) { simi_board_system_reset(&sim->b, true); }

/* Back-door load: flash bytes are ANDed in (NOR), RAM bytes copied. */
int lode_sim_load(lode_sim_s *sim, uint32_t addr, const uint8_t *data, size_t len)
{
    sim_board_s *b = &sim->b;
    size_t done = 0;
    while (done < len) {
        uint32_t a = addr + (uint32_t)done;
        sim_region_s *r = find_region(b, a);
        /* only the arrays' own addresses: a boot alias is not where images are linked */
        if (!r || (r->kind != SIM_RK_RAM && r->kind != SIM_RK_FLASH) ||
            (r->kind == SIM_RK_FLASH && r->base != r->nor->base)) {
            simi_log(b, LODE_LOG_ERROR,
                     "image data at 0x%08x is outside the %s's flash and RAM: is the image linked for this chip? (choose it with --chip)", a, b->chip->name);
            return LODE_E_RANGE;
        }
        uint32_t off = a - r->base;
        size_t n = r->size - off;
        if (n > len - done)
            n = len - done;
        if (r->kind == SIM_RK_RAM) {
            memcpy(r->mem + off, data + done, n);
            b->cpu->ops->invalidate(b->cpu, a, (uint32_t)n);
        } else {
            simi_nor_program(b, r->nor, off, data + done, (uint32_t)n);
        }
        done += n;
    }
    return LODE_OK;
}

int lode_sim_flash_erase(lode_sim_s *sim, uint32_t addr, uint32_t len)
{
    sim_board_s *b = &sim->b;
    for (uint64_t a = addr; a < (uint64_t)addr + len;) {
        sim_region_s *r = find_region(b, (uint32_t)a);
        if (!r || r->kind != SIM_RK_FLASH || r->base != r->nor->base)
            return LODE_E_RANGE;
        uint32_t ps = r->nor->page_size, off = ((uint32_t)a - r->base) / ps * ps;
        simi_nor_erase(b, r->nor, off, ps);
        a = (uint64_t)r->base + off + ps;
    }
    return LODE_OK;
}

int lode_sim_flash_range(lode_sim_s *sim, uint32_t *base, uint32_t *size)
{
    sim_board_s *b = &sim->b;
    for (unsigned i = 0; i < b->nregions; i++) {
        const sim_region_s *r = &b->regions[i];
        if (r->kind == SIM_RK_FLASH && r->base == r->nor->base) {
            *base = r->base;
            *size = r->size;
            return LODE_OK;
        }
    }
    return LODE_E_RANGE;
}

void lode_sim_erase_all(lode_sim_s *sim)
{
    sim_board_s *b = &sim->b;
    for (unsigned i = 0; i < b->nnor; i++)
        simi_nor_erase(b, &b->nor[i], 0, b->nor[i].size);
}

/* State file: "LODESIM2", the chip name (32 bytes, NUL padded), the number of arrays (LE32),
 * then per array (flash arrays first, then RAM) its base and size (LE32 each) and its bytes.
 * RAM is kept too: the board stays powered between debugger sessions. Then the core: a
 * halted flag, DEMCR, and (when halted) its registers as (REGSEL, value) pairs, so a core a
 * debugger left halted is found halted where it was. (Peripheral and NVIC state are not kept:
 * a running core starts again from reset.) */
int simi_core_reg_read(sim_board_s *b, unsigned regsel, uint32_t *val);
int simi_core_reg_write(sim_board_s *b, unsigned regsel, uint32_t val);

static unsigned state_regs(const sim_board_s *b, unsigned *out)
{
    unsigned n = 0;
    for (unsigned r = 0; r <= 18; r++)
        out[n++] = r;
    out[n++] = 20;
    if (b->has_fpu) {
        out[n++] = 33;
        for (unsigned r = 64; r < 96; r++)
            out[n++] = r;
    }
    return n;
}
#define STATE_MAGIC "LODESIM3"

int lode_sim_state_save(const lode_sim_s *sim, const char *path)
{
    const sim_board_s *b = &sim->b;
    char tmp[4096];
    FILE *f = simi_state_tmp_open(path, tmp, sizeof tmp);
    if (!f)
        return LODE_E_IO;
    uint8_t hdr[8 + 32 + 4] = {0};
    memcpy(hdr, STATE_MAGIC, 8);
    snprintf((char *)hdr + 8, 32, "%s", b->chip->name);
    unsigned nram = 0;
    for (unsigned i = 0; i < b->nregions; i++)
        nram += b->regions[i].kind == SIM_RK_RAM;
    lodei_put_le32(hdr + 40, b->nnor + nram);
    bool ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    for (unsigned i = 0; ok && i < b->nnor; i++) {
        uint8_t a[8];
        lodei_put_le32(a, b->nor[i].base);
        lodei_put_le32(a + 4, b->nor[i].size);
        ok = fwrite(a, 1, 8, f) == 8 && fwrite(b->nor[i].mem, 1, b->nor[i].size, f) == b->nor[i].size;
    }
    for (unsigned i = 0; ok && i < b->nregions; i++) {
        const sim_region_s *r = &b->regions[i];
        if (r->kind != SIM_RK_RAM)
            continue;
        uint8_t a[8];
        lodei_put_le32(a, r->base);
        lodei_put_le32(a + 4, r->size);
        ok = fwrite(a, 1, 8, f) == 8 && fwrite(r->mem, 1, r->size, f) == r->size;
    }
    if (ok) {
        unsigned regs[64], nr = state_regs(b, regs);
        uint8_t c[16];
        memcpy(c, "CORE", 4);
        lodei_put_le32(c + 4, b->halted ? 1u : 0u);
        lodei_put_le32(c + 8, b->scs.demcr);
        lodei_put_le32(c + 12, b->halted ? nr : 0u);
        ok = fwrite(c, 1, 16, f) == 16;
        for (unsigned i = 0; ok && b->halted && i < nr; i++) {
            uint32_t v = 0;
            simi_core_reg_read((sim_board_s *)b, regs[i], &v);
            uint8_t e[8];
            lodei_put_le32(e, regs[i]);
            lodei_put_le32(e + 4, v);
            ok = fwrite(e, 1, 8, f) == 8;
        }
    }
    return simi_state_tmp_commit(f, tmp, path, ok);
}

int lode_sim_state_load(lode_sim_s *sim, const char *path)
{
    sim_board_s *b = &sim->b;
    FILE *f = NULL;
    int crc = simi_state_open_read(path, &f);
    if (crc != LODE_OK)
        return crc; /* not ours to read (or replace), or none: the board stays as it is */
    uint8_t hdr[8 + 32 + 4];
    int rc = LODE_E_FORMAT;
    unsigned nram = 0;
    for (unsigned i = 0; i < b->nregions; i++)
        nram += b->regions[i].kind == SIM_RK_RAM;
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, STATE_MAGIC, 8) != 0 ||
        strncmp((char *)hdr + 8, b->chip->name, 32) != 0 || lodei_get_le32(hdr + 40) != b->nnor + nram)
        goto out;
    for (unsigned i = 0; i < b->nnor; i++) {
        uint8_t a[8];
        if (fread(a, 1, 8, f) != 8 || lodei_get_le32(a) != b->nor[i].base ||
            lodei_get_le32(a + 4) != b->nor[i].size)
            goto out;
        if (fread(b->nor[i].mem, 1, b->nor[i].size, f) != b->nor[i].size)
            goto out;
        code_changed(b, b->nor[i].base, b->nor[i].size);
    }
    for (unsigned i = 0; i < b->nregions; i++) {
        sim_region_s *r = &b->regions[i];
        if (r->kind != SIM_RK_RAM)
            continue;
        uint8_t a[8];
        if (fread(a, 1, 8, f) != 8 || lodei_get_le32(a) != r->base || lodei_get_le32(a + 4) != r->size ||
            fread(r->mem, 1, r->size, f) != r->size)
            goto out;
        b->cpu->ops->invalidate(b->cpu, r->base, r->size);
    }
    uint8_t c[16];
    if (fread(c, 1, 16, f) != 16 || memcmp(c, "CORE", 4) != 0 || lodei_get_le32(c + 12) > 64)
        goto out;
    simi_board_system_reset(b, true);
    if (lodei_get_le32(c + 4)) {
        /* found halted where the last session left it, debug enabled */
        b->scs.dhcsr = 0x3u;
        b->scs.demcr = lodei_get_le32(c + 8);
        simi_board_halt(b, DFSR_HALTED);
        for (uint32_t i = 0, n = lodei_get_le32(c + 12); i < n; i++) {
            uint8_t e[8];
            if (fread(e, 1, 8, f) != 8)
                goto out;
            simi_core_reg_write(b, lodei_get_le32(e), lodei_get_le32(e + 4));
        }
    }
    rc = LODE_OK;
out:
    fclose(f);
    if (rc != LODE_OK) {
        lode_sim_erase_all(sim);
        simi_log(b, LODE_LOG_WARN, "sim: %s is a state file of another lode version or chip (not a %s): starting with erased flash",
                 path, b->chip->name);
    }
    return rc;
}

int lode_sim_load_elf(lode_sim_s *sim, const char *path)
{
    sim_board_s *b = &sim->b;
    lode_image_s *img = NULL;
    int rc = lode_image_load_file(path, LODE_IMAGE_ELF, 0, false, &b->cfg.log, &img);
    if (rc != LODE_OK)
        return rc;
    for (size_t i = 0; i < img->nsegs && rc == LODE_OK; i++)
        rc = lode_sim_load(sim, img->segs[i].addr, img->segs[i].data, img->segs[i].len);
    lode_image_free(img);
    if (rc == LODE_OK)
        simi_board_system_reset(b, false);
    return rc;
}

int lode_sim_mem_read(lode_sim_s *sim, uint32_t addr, void *buf, size_t len)
{
    sim_board_s *b = &sim->b;
    uint8_t *p = buf;
    size_t i = 0;
    while (i < len) {
        uint32_t a = addr + (uint32_t)i;
        unsigned sz = (!(a & 3) && len - i >= 4) ? 4 : (!(a & 1) && len - i >= 2) ? 2 : 1;
        uint32_t v = 0;
        if (simi_bus_read(b, a, sz, &v, SIM_INIT_DAP) != SIM_BUS_OK)
            return LODE_E_FAULT;
        for (unsigned k = 0; k < sz; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
        i += sz;
    }
    return LODE_OK;
}

int lode_sim_mem_write(lode_sim_s *sim, uint32_t addr, const void *buf, size_t len)
{
    sim_board_s *b = &sim->b;
    const uint8_t *p = buf;
    size_t i = 0;
    while (i < len) {
        uint32_t a = addr + (uint32_t)i;
        unsigned sz = (!(a & 3) && len - i >= 4) ? 4 : (!(a & 1) && len - i >= 2) ? 2 : 1;
        uint32_t v = 0;
        for (unsigned k = 0; k < sz; k++)
            v |= (uint32_t)p[i + k] << (8 * k);
        if (simi_bus_write(b, a, sz, v, SIM_INIT_DAP) != SIM_BUS_OK)
            return LODE_E_FAULT;
        i += sz;
    }
    fire_timers(b);
    return LODE_OK;
}

int lode_sim_read32(lode_sim_s *sim, uint32_t addr, uint32_t *val)
{
    uint32_t v = 0;
    if (addr & 3)
        return LODE_E_INVALID_ARG;
    if (simi_bus_read(&sim->b, addr, 4, &v, SIM_INIT_DAP) != SIM_BUS_OK)
        return LODE_E_FAULT;
    *val = v;
    return LODE_OK;
}

int lode_sim_write32(lode_sim_s *sim, uint32_t addr, uint32_t val)
{
    if (addr & 3)
        return LODE_E_INVALID_ARG;
    if (simi_bus_write(&sim->b, addr, 4, val, SIM_INIT_DAP) != SIM_BUS_OK)
        return LODE_E_FAULT;
    fire_timers(&sim->b);
    return LODE_OK;
}

size_t lode_sim_swo_read(lode_sim_s *sim, uint8_t *buf, size_t len)
{
    sim_scs_s *s = &sim->b.scs;
    size_t n = s->swo_len < len ? s->swo_len : len;
    memcpy(buf, s->swo, n);
    memmove(s->swo, s->swo + n, s->swo_len - n);
    s->swo_len -= n;
    return n;
}

/* ---- debug port ----------------------------------------------------------------------------- */

/* SWD wire cost (ADIv5.2 B4.2): 8 request bits + turnaround + 3 ACK bits; a data phase of
 * 32 bits + parity (+ turnaround for writes... folded in); 2 idle cycles after each transfer. */
#define SWD_HDR_BITS 13u
#define SWD_DATA_BITS 33u
#define SWD_IDLE_BITS 2u

static uint64_t swd_bits_ps(const sim_board_s *b, unsigned bits)
{
    return (uint64_t)bits * 1000000000000ull / b->swd_hz;
}

int lode_sim_swd_transfer(lode_sim_s *sim, bool apndp, bool rnw, uint8_t a, uint32_t *data)
{
    sim_board_s *b = &sim->b;
    run_until(b, b->now + swd_bits_ps(b, SWD_HDR_BITS), false);
    if (b->disconnected)
        return LODE_SWD_ACK_NONE; /* nothing drives SWDIO: the ACK bits read as 1s */
    if (b->inject_reset_after && --b->inject_reset_after == 0) {
        simi_log(b, LODE_LOG_INFO, "sim: injected system reset");
        simi_board_system_reset(b, false);
    }
    int ack = simi_swdp_transfer(b->dp, apndp, rnw, a, data);
    if (ack == LODE_SWD_ACK_OK)
        run_until(b, b->now + swd_bits_ps(b, SWD_DATA_BITS + SWD_IDLE_BITS), false);
    else
        run_until(b, b->now + swd_bits_ps(b, SWD_IDLE_BITS), false);
    return ack;
}

void simi_board_wire_cycles(sim_board_s *b, uint64_t cycles)
{
    if (cycles)
        run_until(b, b->now + cycles * 1000000000000ull / b->swd_hz, false);
}

int simi_board_swd_header(sim_board_s *b, bool apndp, bool rnw, uint8_t a, uint32_t *data)
{
    if (b->disconnected)
        return LODE_SWD_ACK_NONE;
    if (b->inject_reset_after && --b->inject_reset_after == 0) {
        simi_log(b, LODE_LOG_INFO, "sim: injected system reset");
        simi_board_system_reset(b, false);
    }
    return simi_swdp_header(b->dp, apndp, rnw, a, data);
}

void lode_sim_swj_sequence(lode_sim_s *sim, unsigned bits, const uint8_t *data)
{
    sim_board_s *b = &sim->b;
    simi_swdp_sequence(b->dp, bits, data);
    run_until(b, b->now + swd_bits_ps(b, bits), false);
}

void lode_sim_nrst(lode_sim_s *sim, bool asserted)
{
    sim_board_s *b = &sim->b;
    if (asserted && !b->in_reset) {
        b->in_reset = true;
    } else if (!asserted && b->in_reset) {
        b->in_reset = false;
        b->reset_cause = SIM_RESET_EXT;
        simi_board_system_reset(b, false);
        b->reset_cause = SIM_RESET_SYST;
    }
}

void lode_sim_set_swd_hz(lode_sim_s *sim, uint32_t hz)
{
    if (hz)
        sim->b.swd_hz = hz;
}

void lode_sim_inject_wait(lode_sim_s *sim, unsigned transfers)
{
    simi_swdp_inject_wait(sim->b.dp, transfers);
}

void lode_sim_inject_fault_range(lode_sim_s *sim, uint32_t lo, uint32_t hi)
{
    simi_swdp_inject_fault_range(sim->b.dp, lo, hi);
}

void lode_sim_inject_reset_after(lode_sim_s *sim, unsigned transfers)
{
    sim->b.inject_reset_after = transfers;
}

void lode_sim_inject_disconnect(lode_sim_s *sim, bool disconnected)
{
    sim->b.disconnected = disconnected;
}

void lode_sim_inject_power_loss(lode_sim_s *sim, unsigned nth_flash_op)
{
    sim->b.powerloss_countdown = nth_flash_op;
}

/* ---- registers (back door shares the DCRSR path) ----------------------------------------- */
int simi_core_reg_read(sim_board_s *b, unsigned regsel, uint32_t *val);
int simi_core_reg_write(sim_board_s *b, unsigned regsel, uint32_t val);

int lode_sim_reg_read(lode_sim_s *sim, unsigned regsel, uint32_t *val)
{
    return simi_core_reg_read(&sim->b, regsel, val) == 0 ? LODE_OK : LODE_E_INVALID_ARG;
}

int lode_sim_reg_write(lode_sim_s *sim, unsigned regsel, uint32_t val)
{
    return simi_core_reg_write(&sim->b, regsel, val) == 0 ? LODE_OK : LODE_E_INVALID_ARG;
}
