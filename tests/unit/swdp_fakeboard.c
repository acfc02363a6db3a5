/* SPDX-License-Identifier: MIT */
/* A stand-in for the simulated board, just big enough for test_swdp: the simi_* calls
 * swdp.c makes (simi_bus_read, simi_bus_write, simi_log) on a small RAM with one
 * configurable faulting address. It also checks the bus contract swdp.c must keep
 * (size 1/2/4, naturally aligned, initiator DAP) and counts accesses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simi.h"

/* The test's view of the fake board (test_swdp.c declares the same). */
sim_board_s *fakeboard_new(uint32_t ram_base, uint32_t ram_size);
void fakeboard_free(sim_board_s *b);
uint8_t *fakeboard_ram(sim_board_s *b, uint32_t addr, uint32_t len); /* NULL if outside */
void fakeboard_set_fault(sim_board_s *b, uint32_t addr, bool on);
unsigned fakeboard_accesses(const sim_board_s *b);
unsigned fakeboard_contract_violations(const sim_board_s *b);
unsigned fakeboard_log_lines(const sim_board_s *b);

struct sim_board_s {
    uint32_t base, size;
    uint8_t *ram;
    bool fault_on;
    uint32_t fault_addr;
    unsigned accesses;
    unsigned violations;
    unsigned log_lines;
};

sim_board_s *fakeboard_new(uint32_t ram_base, uint32_t ram_size)
{
    sim_board_s *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->ram = calloc(1, ram_size ? ram_size : 1);
    if (!b->ram) {
        free(b);
        return NULL;
    }
    b->base = ram_base;
    b->size = ram_size;
    return b;
}

void fakeboard_free(sim_board_s *b)
{
    if (!b)
        return;
    free(b->ram);
    free(b);
}

uint8_t *fakeboard_ram(sim_board_s *b, uint32_t addr, uint32_t len)
{
    if (addr < b->base || addr - b->base > b->size || len > b->size - (addr - b->base))
        return NULL;
    return b->ram + (addr - b->base);
}

void fakeboard_set_fault(sim_board_s *b, uint32_t addr, bool on)
{
    b->fault_on = on;
    b->fault_addr = addr;
}

unsigned fakeboard_accesses(const sim_board_s *b)
{
    return b->accesses;
}

unsigned fakeboard_contract_violations(const sim_board_s *b)
{
    return b->violations;
}

unsigned fakeboard_log_lines(const sim_board_s *b)
{
    return b->log_lines;
}

/* Checks one access; returns the RAM bytes for it or NULL for a bus error. */
static uint8_t *bus_check(sim_board_s *b, uint32_t addr, unsigned size, sim_initiator_e who)
{
    b->accesses++;
    if ((size != 1 && size != 2 && size != 4) || (addr & (size - 1)) || who != SIM_INIT_DAP) {
        b->violations++;
        return NULL;
    }
    if (b->fault_on && b->fault_addr >= addr && b->fault_addr - addr < size)
        return NULL;
    return fakeboard_ram(b, addr, size);
}

int simi_bus_read(sim_board_s *b, uint32_t addr, unsigned size, uint32_t *val, sim_initiator_e who)
{
    uint8_t *p = bus_check(b, addr, size, who);
    if (!p)
        return SIM_BUS_FAULT;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    *val = v;
    return SIM_BUS_OK;
}

int simi_bus_write(sim_board_s *b, uint32_t addr, unsigned size, uint32_t val, sim_initiator_e who)
{
    uint8_t *p = bus_check(b, addr, size, who);
    if (!p)
        return SIM_BUS_FAULT;
    if (size < 4 && (val >> (8 * size)) != 0)
        b->violations++; /* data must fit the access size */
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(val >> (8 * i));
    return SIM_BUS_OK;
}

void simi_log(const sim_board_s *b, lode_log_level_e lvl, const char *fmt, ...)
{
    /* Format (so ASan/UBSan see bad format arguments) but print nothing. */
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    (void)lvl;
    if (b)
        ((sim_board_s *)b)->log_lines++;
}
