/* SPDX-License-Identifier: MIT */
/* A stand-in J-Link for lode's tests (jlink_stub.c): the command set lode uses, written from
 * SEGGER RM08001, answering through a lode_jlink_io_s; HW_JTAG3 bit streams go to the
 * bit-level SWD target of swd_wire.c with the J-Link's one-bit reply skew. */
#ifndef LODE_TEST_JLINK_STUB_H
#define LODE_TEST_JLINK_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/jlink.h"
#include "swd_wire.h"

typedef struct jstub_s {
    /* configuration (set before use; jstub_init gives a J-Link V11) */
    char firmware[96];
    uint32_t caps;
    uint32_t hw_version;
    uint32_t free_mem;
    uint16_t vtref_mv;
    uint16_t powered_mv;       /* VTref once SET_KS_POWER switched the supply on */
    uint32_t interfaces;       /* SELECT_IF 0xFF answer */
    uint32_t base_hz;
    uint16_t min_div;
    void (*nrst)(void *user, bool asserted);
    void *nrst_user;
    swdw_s wire;               /* the target */
    /* SWO */
    uint8_t swo[8192];
    size_t swo_len;
    /* state and counts */
    uint32_t speed_khz;
    uint32_t selected_if;
    bool power_on, swo_running;
    uint32_t swo_baud;
    unsigned cmds, jtag3, resets, bad_cmds, bytes_in_flight_max;
    unsigned cmd_count[256];
    /* replies not read yet */
    uint8_t *out;
    size_t out_len, out_cap, out_head;
} jstub_s;

void jstub_init(jstub_s *j, const swdw_dp_s *dp);
void jstub_free(jstub_s *j);
/* The io (ctx = j; close does nothing). */
void jstub_io(jstub_s *j, lode_jlink_io_s *io);

#endif
