/* SPDX-License-Identifier: MIT */
/* lode's flash stream (firmware/flash-algos/stream.c, src/flash/algo_run.c stream_region) on the
 * simulated chips, through the back door's core ops wrapped by a counter:
 * - a page is sent as its bytes that are not erased: flashing 16 bytes to the STM32F103 (a
 *   1 KiB page) writes nothing longer than a slot trailer besides the algorithm's upload, and
 *   the flash holds the image with 0xFF after it;
 * - the page is still verified whole: a byte of the padding that does not read back erased (a
 *   sector the plan takes as erased) fails the verify, naming its address;
 * - the algorithm's code only program operations use goes after the start (while the erase
 *   runs): RAM full of UDF instructions before the flash changes nothing;
 * - the call starts with R0, PC and xPSR (after the runner's reset-halt the entry masks
 *   interrupts itself; without that reset the masks are written too) and its result comes from
 *   the control block: no core register is read;
 * - the nRF52840's algorithm does not program erased words: a page whose inner words are
 *   0xFFFFFFFF (sent, since they lie between data) costs their 41 us each less than the same
 *   page full of data (both stay deterministic);
 * - page data damaged on its way to RAM is caught by the target's hash against the image's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/core.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/image.h"
#include "lode/sim.h"
#include "lode/target.h"
#include "test.h"

typedef struct counter_s {
    lode_core_ops_s inner;
    uint32_t ram_start;
    /* memory writes; the longest to a data area (on a 1 KiB boundary past the RAM's start) */
    size_t writes, longest_other;
    size_t reg_writes, reg_reads;
    size_t first_len;      /* the first write of the RAM's start, and */
    uint32_t first_addr;   /* ...the first write's address */
    size_t start_after;    /* the length of a write at the RAM's start after the call started */
    bool flip_data;        /* corrupt the first byte of the next write to a data area */
} counter_s;

static counter_s ctr; /* the wrapped ops get `ctr.inner.ctx` as their context */

static int c_mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    if (ctr.writes++ == 0)
        ctr.first_addr = addr, ctr.first_len = len;
    if (addr != ctr.ram_start && addr % 1024u == 0 && len > ctr.longest_other)
        ctr.longest_other = len;
    if (addr == ctr.ram_start && ctr.reg_writes)
        ctr.start_after = len;
    if (ctr.flip_data && addr != ctr.ram_start && addr % 1024u == 0 && len) {
        uint8_t b[64];
        size_t n = len < sizeof b ? len : sizeof b;
        memcpy(b, buf, n);
        b[0] ^= 0x01u; /* what a bad link might deliver: the target programs and compares it */
        ctr.flip_data = false;
        int rc = ctr.inner.mem_write(ctx, addr, b, n);
        return rc == LODE_OK && len > n ? ctr.inner.mem_write(ctx, addr + (uint32_t)n, (const uint8_t *)buf + n, len - n) : rc;
    }
    return ctr.inner.mem_write(ctx, addr, buf, len);
}

static int c_reg_write(void *ctx, unsigned reg, uint32_t val)
{
    ctr.reg_writes++;
    return ctr.inner.reg_write(ctx, reg, val);
}

static int c_regs_write(void *ctx, const unsigned *regs, const uint32_t *vals, size_t n)
{
    ctr.reg_writes += n;
    return ctr.inner.regs_write(ctx, regs, vals, n);
}

static int c_reg_read(void *ctx, unsigned reg, uint32_t *val)
{
    ctr.reg_reads++;
    return ctr.inner.reg_read(ctx, reg, val);
}

static int c_regs_read(void *ctx, const unsigned *regs, uint32_t *vals, size_t n)
{
    ctr.reg_reads += n;
    return ctr.inner.regs_read(ctx, regs, vals, n);
}

typedef struct rig_s {
    lode_sim_s *sim;
    lode_target_db_s *db;
    const lode_target_chip_s *chip;
    lode_flash_layout_s *layout;
    lode_core_ops_s core; /* counted */
} rig_s;

static bool rig_open(rig_s *r, const char *chip)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg = {.chip = chip};
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK || lode_target_db_new(NULL, &r->db) != LODE_OK ||
        lode_target_find_chip(r->db, chip, &r->chip) != LODE_OK ||
        lode_flash_layout_for_chip(r->chip, NULL, &r->layout) != LODE_OK)
        return false;
    lode_sim_erase_all(r->sim);
    memset(&ctr, 0, sizeof ctr);
    lode_sim_core_ops(r->sim, &ctr.inner);
    ctr.ram_start = r->layout->work_ram.start;
    r->core = ctr.inner;
    r->core.mem_write = c_mem_write;
    r->core.reg_write = ctr.inner.reg_write ? c_reg_write : NULL;
    r->core.regs_write = ctr.inner.regs_write ? c_regs_write : NULL;
    r->core.reg_read = ctr.inner.reg_read ? c_reg_read : NULL;
    r->core.regs_read = ctr.inner.regs_read ? c_regs_read : NULL;
    return true;
}

static void rig_close(rig_s *r)
{
    lode_flash_layout_free(r->layout);
    lode_target_db_free(r->db);
    lode_sim_free(r->sim);
}

/* plan `data` at `addr`, optionally with every sector taken as already erased, and run it */
static int run(rig_s *r, uint32_t addr, const uint8_t *data, size_t len, const lode_flash_opts_s *o,
               bool sectors_erased, lode_flash_result_s *res)
{
    lode_image_s *img = NULL;
    lode_flash_plan_s *plan = NULL;
    int rc = lode_image_from_bin(data, len, addr, &img);
    if (rc == LODE_OK)
        rc = lode_flash_plan(img, r->layout->regions, r->layout->nregions, r->layout->ram,
                             r->layout->nram, o, NULL, &plan);
    if (rc == LODE_OK && sectors_erased)
        for (size_t i = 0; i < plan->nsectors; i++)
            if (!plan->sectors[i].skip)
                plan->sectors[i].wiped = true;
    if (rc == LODE_OK)
        rc = lode_flash_run(&r->core, r->layout->algo_ptrs, r->layout->nregions, plan,
                            &r->layout->work_ram, o, NULL, res);
    lode_flash_plan_free(plan);
    lode_image_free(img);
    return rc;
}

static const uint8_t image16[16] = {0x00, 0x50, 0x00, 0x20, 0x09, 0x01, 0x00, 0x08,
                                    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

static void test_sends_image_bytes(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8"));
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(run(&r, 0x08000000u, image16, sizeof image16, &o, false, &res), LODE_OK);
    CHECK_EQ(res.pages_programmed, 1);
    /* the 1 KiB page went as its 16 bytes: nothing longer than a 32-byte trailer */
    CHECK(ctr.longest_other <= 32);
    uint8_t back[1024];
    CHECK_EQ(lode_sim_mem_read(r.sim, 0x08000000u, back, sizeof back), LODE_OK);
    CHECK(memcmp(back, image16, sizeof image16) == 0);
    bool ff = true;
    for (size_t i = sizeof image16; i < sizeof back; i++)
        ff &= back[i] == 0xFF;
    CHECK(ff);
    rig_close(&r);
}

/* The algorithm's late part (ProgramPage, the page verify) goes after the stream started, while
 * the erase runs, and before the program operation: with the RAM full of UDF instructions (or
 * an earlier algorithm) the image still lands; a program-only plan sends the whole blob first. */
static void test_late_code_after_start(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8"));
    const lode_flash_algo_s *a = r.layout->algo_ptrs[0];
    REQUIRE(a->stream_late_len > 0 && a->stream_late_len < a->instructions_len);
    static uint8_t udf[4096];
    for (size_t i = 0; i < sizeof udf; i += 2)
        udf[i] = 0xDE, udf[i + 1] = 0xDE;
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    for (int k = 0; k < 2; k++) {
        REQUIRE(lode_sim_mem_write(r.sim, ctr.ram_start, udf, sizeof udf) == LODE_OK);
        ctr.writes = 0;
        ctr.reg_writes = 0;
        ctr.start_after = 0;
        uint32_t at = 0x08000000u + 0x400u * (uint32_t)k;
        CHECK_EQ(run(&r, at, image16, sizeof image16, &o, k == 1, &res), LODE_OK);
        uint8_t back[16];
        CHECK_EQ(lode_sim_mem_read(r.sim, at, back, sizeof back), LODE_OK);
        CHECK(memcmp(back, image16, sizeof back) == 0);
        if (k == 0) { /* erase first: the late part after the start */
            CHECK_EQ(ctr.first_addr, ctr.ram_start + a->stream_late_len);
            CHECK_EQ(ctr.start_after, a->stream_late_len);
        } else { /* a sector taken as erased: the program is the first operation */
            CHECK_EQ(ctr.first_addr, ctr.ram_start);
            CHECK(ctr.first_len > a->instructions_len);
            CHECK_EQ(ctr.start_after, 0);
        }
    }
    rig_close(&r);
}

static void test_padding_verified(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8"));
    /* a sector the plan takes as erased, with one byte of data where the page is padding */
    const uint8_t junk = 0x5A;
    REQUIRE(lode_sim_load(r.sim, 0x08000000u + 700u, &junk, 1) == LODE_OK);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(run(&r, 0x08000000u, image16, sizeof image16, &o, true, &res), LODE_E_VERIFY);
    /* without verify the same page is programmed (only its 16 bytes) and left as it is */
    o.verify = false;
    CHECK_EQ(run(&r, 0x08000400u, image16, sizeof image16, &o, true, &res), LODE_OK);
    rig_close(&r);
}

static void test_start_and_result(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8"));
    lode_flash_opts_s o = {0};
    lode_flash_result_s res;
    ctr.reg_writes = ctr.reg_reads = 0;
    CHECK_EQ(run(&r, 0x08000000u, image16, sizeof image16, &o, false, &res), LODE_OK);
    CHECK_EQ(ctr.reg_writes, 3); /* R0, PC, xPSR */
    CHECK_EQ(ctr.reg_reads, 0);
    /* no reset first: CONTROL and the masks are whatever the core had, so they are written */
    o.no_reset_halt = true;
    ctr.reg_writes = ctr.reg_reads = 0;
    CHECK_EQ(run(&r, 0x08000400u, image16, sizeof image16, &o, false, &res), LODE_OK);
    CHECK_EQ(ctr.reg_writes, 4);
    CHECK_EQ(ctr.reg_reads, 0);
    uint8_t back[16];
    CHECK_EQ(lode_sim_mem_read(r.sim, 0x08000400u, back, sizeof back), LODE_OK);
    CHECK(memcmp(back, image16, sizeof back) == 0);
    rig_close(&r);
}

/* Page data damaged on the way to the target's RAM: the algorithm programs it and its page
 * verify agrees with RAM, but the hash of the flash read back differs from the image's, which
 * the host put in the control block: the stream fails with the verify error (the result word
 * alone carries it: status 4) */
static void test_target_hash(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8"));
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    ctr.flip_data = true;
    CHECK_EQ(run(&r, 0x08000000u, image16, sizeof image16, &o, false, &res), LODE_E_VERIFY);
    CHECK(!ctr.flip_data); /* the data went through the hook */
    /* undamaged, the same passes */
    CHECK_EQ(run(&r, 0x08000000u, image16, sizeof image16, &o, false, &res), LODE_OK);
    rig_close(&r);
}

/* one 4 KiB nRF52840 page: virtual time of its stream */
static uint64_t nrf_page(const uint8_t *page)
{
    rig_s r;
    if (!rig_open(&r, "nRF52840_xxAA")) {
        CHECK(!"rig_open nRF52840_xxAA");
        return 0;
    }
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    uint64_t t0 = lode_sim_now(r.sim);
    CHECK_EQ(run(&r, 0x00010000u, page, 4096, &o, false, &res), LODE_OK);
    uint64_t dt = lode_sim_now(r.sim) - t0;
    uint8_t back[4096];
    CHECK_EQ(lode_sim_mem_read(r.sim, 0x00010000u, back, sizeof back), LODE_OK);
    CHECK(memcmp(back, page, sizeof back) == 0);
    rig_close(&r);
    return dt;
}

static void test_nrf_erased_words_skipped(void)
{
    static uint8_t full[4096], holes[4096];
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof full; i++) {
        x = x * 1103515245u + 12345u;
        full[i] = (uint8_t)(x >> 16) | 1u; /* never an erased word of its own */
    }
    /* data in the first and the last word only: the 1022 words between are sent (they lie
     * between data) and must not be programmed */
    memset(holes, 0xFF, sizeof holes);
    memcpy(holes, full, 4);
    memcpy(holes + 4092, full + 4092, 4);
    uint64_t t_full = nrf_page(full), t_holes = nrf_page(holes);
    /* 1022 x 41 us = 41.9 ms less; allow the transfer of the page's bytes to differ */
    CHECK(t_full > t_holes + 1000ull * 41000000ull);
    CHECK_EQ(nrf_page(holes), t_holes); /* deterministic */
    printf("  nRF52840 4 KiB page: data %.6f s, 2 words of data %.6f s\n", (double)t_full / 1e12,
           (double)t_holes / 1e12);
}

int main(void)
{
    RUN_TEST(test_sends_image_bytes);
    RUN_TEST(test_padding_verified);
    RUN_TEST(test_late_code_after_start);
    RUN_TEST(test_start_and_result);
    RUN_TEST(test_target_hash);
    RUN_TEST(test_nrf_erased_words_skipped);
    return TEST_DONE();
}
