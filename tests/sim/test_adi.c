/* SPDX-License-Identifier: MIT */
/* The ADIv5 layer (src/adi) end to end on the simulated board's SW-DP through a
 * transfer-level test probe (dap_direct.c): connect on both chips, queued DP/AP access with
 * SELECT/CSW/TAR caching, MEM-AP reads and writes of every alignment and length checked
 * against the sim's back door, 8/16-bit lanes, the ROM table walk, sticky-error (FAULT)
 * recovery with the faulting address, WAIT storms and injected fault ranges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dap_direct.h"
#include "lode/adi.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "test.h"

#define RAM 0x20000000u
#define DHCSR 0xE000EDF0u

typedef struct chip_s {
    const char *name;
    uint32_t dpidr;
    bool m4;
    uint32_t ram_size;
} chip_s;

static const chip_s chips[] = {
    {"STM32F103C8", 0x1BA01477u, false, 20u * 1024u},
    {"nRF52840_xxAA", 0x2BA01477u, true, 256u * 1024u},
};
#define NCHIPS (sizeof chips / sizeof chips[0])

typedef struct rig_s {
    lode_sim_s *sim;
    dap_direct_s dap;
    lode_adi_s *adi;
} rig_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    if (getenv("LODE_TEST_VERBOSE"))
        fprintf(stderr, "[%s %s] %s\n", lode_log_level_name(level), lode_log_cat_name(cat), msg);
}

static const lode_log_s test_log = {log_fn, NULL, LODE_LOG_DEBUG};

static bool rig_open(rig_s *r, const char *chip, bool with_block, bool connect)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip;
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK)
        return false;
    dap_direct_init(&r->dap, r->sim, with_block);
    if (lode_adi_new(&r->dap.ops, &test_log, &r->adi) != LODE_OK)
        return false;
    if (!connect)
        return true;
    if (lode_adi_connect(r->adi) != LODE_OK)
        return false;
    /* keep the (firmware-less) core halted so that only the debugger touches RAM */
    return lode_adi_mem_write32(r->adi, 0, DHCSR, 0xA05F0003u) == LODE_OK;
}

static void rig_close(rig_s *r)
{
    lode_adi_free(r->adi);
    lode_sim_free(r->sim);
    memset(r, 0, sizeof *r);
}

static uint32_t prng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed ? seed : 1;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)prng(&s);
}

/* ---- connect ------------------------------------------------------------------------------ */
static void test_connect(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, chips[c].name, true, false));
        /* Before connect the DP does not answer (F103: JTAG selected; nRF52: locked out). */
        uint32_t v = 0;
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM, &v), LODE_E_PROTOCOL);
        CHECK_EQ(lode_adi_dpidr(r.adi), 0);

        CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
        CHECK_EQ(lode_adi_dpidr(r.adi), chips[c].dpidr);

        uint32_t idr = 0, base = 0, cs = 0;
        CHECK_EQ(lode_adi_ap_idr(r.adi, 0, &idr), LODE_OK);
        CHECK_EQ(idr, 0x24770011u);
        CHECK_EQ(LODE_AP_IDR_CLASS(idr), LODE_AP_CLASS_MEM);
        CHECK_EQ(lode_adi_ap_base(r.adi, 0, &base), LODE_OK);
        CHECK_EQ(base, 0xE00FF003u);
        CHECK_EQ(lode_adi_ap_idr(r.adi, 1, &idr), LODE_OK);
        CHECK_EQ(idr, 0); /* no AP 1 */

        lode_adi_queue_dp_read(r.adi, LODE_DP_CTRL_STAT, &cs);
        CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
        uint32_t acks = LODE_DP_CS_CDBGPWRUPACK | LODE_DP_CS_CSYSPWRUPACK;
        CHECK_EQ(cs & acks, acks);
        CHECK_EQ(cs & 0xB2u, 0); /* no sticky flags */

        /* A second connect (line reset again) works and keeps memory access working. */
        CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
        CHECK_EQ(lode_adi_mem_write32(r.adi, 0, RAM + 0x100, 0xCAFEF00Du), LODE_OK);
        uint32_t back = 0;
        CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x100, &back), LODE_OK);
        CHECK_EQ(back, 0xCAFEF00Du);

        /* Line garbage locks the DP out; connect brings it back. On the SWJ-DP, going
         * back to JTAG (SWD-to-JTAG, 0xE73C) needs connect's JTAG-to-SWD sequence. */
        static const uint8_t junk[2] = {0x0F, 0x00};
        lode_sim_swj_sequence(r.sim, 16, junk);
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x100, &back), LODE_E_PROTOCOL);
        CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x100, &back), LODE_OK);
        CHECK_EQ(back, 0xCAFEF00Du);
        static const uint8_t to_jtag[9] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3C, 0xE7};
        lode_sim_swj_sequence(r.sim, 72, to_jtag);
        static const uint8_t reset_ones[7] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        lode_sim_swj_sequence(r.sim, 56, reset_ones);
        uint32_t raw = 0;
        int ack = lode_sim_swd_transfer(r.sim, false, true, 0, &raw);
        if (c == 0)
            CHECK_EQ(ack, LODE_SWD_ACK_NONE); /* JTAG selected: SWD is not answered */
        else
            CHECK_EQ(ack, LODE_SWD_ACK_OK); /* SW-DP only: no JTAG to switch to */
        CHECK_EQ(lode_adi_connect(r.adi), LODE_OK);
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x100, &back), LODE_OK);
        CHECK_EQ(back, 0xCAFEF00Du);
        rig_close(&r);
    }
}

/* ---- queue, SELECT caching ------------------------------------------------------------------ */
static void test_queue(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", true, true));
    lode_adi_stats_s s0, s1;

    /* Two reads of bank 0xF: one SELECT write; then bank 0: one more. */
    uint32_t idr = 0, base = 0, csw = 0, dpidr = 0;
    lode_adi_invalidate(r.adi);
    lode_adi_stats(r.adi, &s0);
    lode_adi_queue_ap_read(r.adi, 0, LODE_AP_IDR, &idr);
    lode_adi_queue_ap_read(r.adi, 0, LODE_AP_BASE, &base);
    lode_adi_queue_dp_read(r.adi, LODE_DP_DPIDR, &dpidr);
    lode_adi_queue_ap_read(r.adi, 0, LODE_AP_CSW, &csw);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    lode_adi_stats(r.adi, &s1);
    CHECK_EQ(idr, 0x24770011u);
    CHECK_EQ(base, 0xE00FF003u);
    CHECK_EQ(dpidr, 0x1BA01477u);
    CHECK_EQ(csw & 0x40u, 0x40u); /* DeviceEn */
    CHECK_EQ(s1.select_writes - s0.select_writes, 2);
    CHECK_EQ(s1.batches - s0.batches, 1); /* one ops->transfer call */

    /* SELECT unchanged: no SELECT write at all. */
    lode_adi_stats(r.adi, &s0);
    lode_adi_queue_ap_read(r.adi, 0, LODE_AP_CSW, &csw);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    lode_adi_stats(r.adi, &s1);
    CHECK_EQ(s1.select_writes - s0.select_writes, 0);

    /* A banked DP register (DLCR, bank 1) changes DPBANKSEL; CTRL/STAT changes it back. */
    uint32_t dlcr = 0, cs = 0;
    lode_adi_stats(r.adi, &s0);
    lode_adi_queue_dp_read(r.adi, LODE_DP_DLCR, &dlcr);
    lode_adi_queue_dp_read(r.adi, LODE_DP_CTRL_STAT, &cs);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    lode_adi_stats(r.adi, &s1);
    CHECK_EQ(dlcr & 0x40u, 0x40u);
    CHECK(cs & LODE_DP_CS_CDBGPWRUPACK);
    CHECK_EQ(s1.select_writes - s0.select_writes, 2);

    /* Bad register numbers: the run reports them and nothing else happens. */
    uint32_t v = 0x12345678u;
    lode_adi_queue_ap_read(r.adi, 0, 0x101, &v);
    CHECK_EQ(lode_adi_run(r.adi), LODE_E_INVALID_ARG);
    lode_adi_queue_dp_read(r.adi, 0x18, &v);
    CHECK_EQ(lode_adi_run(r.adi), LODE_E_INVALID_ARG);
    lode_adi_queue_read32(r.adi, 0, RAM + 2, &v);
    CHECK_EQ(lode_adi_run(r.adi), LODE_E_INVALID_ARG);
    CHECK_EQ(v, 0x12345678u);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK); /* the queue is empty again */

    /* Queued 32-bit accesses: consecutive words use DRW + auto-increment, words in TAR's
     * 16-byte window the banked registers; results match the back door. */
    uint32_t want[8], got[8];
    for (unsigned i = 0; i < 8; i++) {
        want[i] = 0x11110000u * (i + 1) + i;
        lode_adi_queue_write32(r.adi, 0, RAM + 0x200 + 4 * i, want[i]);
    }
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    for (unsigned i = 0; i < 8; i++)
        lode_adi_queue_read32(r.adi, 0, RAM + 0x200 + 4 * (7 - i), &got[7 - i]);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    for (unsigned i = 0; i < 8; i++) {
        uint32_t b = 0;
        CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x200 + 4 * i, &b), LODE_OK);
        CHECK_EQ(b, want[i]);
        CHECK_EQ(got[i], want[i]);
    }
    rig_close(&r);
}

/* ---- memory ------------------------------------------------------------------------------- */
static void check_read(rig_s *r, uint32_t addr, size_t len, unsigned *bad)
{
    uint8_t *want = malloc(len + 1), *got = malloc(len + 1);
    if (!want || !got) {
        free(want);
        free(got);
        (*bad)++;
        return;
    }
    memset(got, 0xA5, len + 1);
    int rc1 = lode_sim_mem_read(r->sim, addr, want, len);
    int rc2 = lode_adi_mem_read(r->adi, 0, addr, got, len);
    if (rc1 != LODE_OK || rc2 != LODE_OK || memcmp(want, got, len) != 0 || got[len] != 0xA5) {
        if (*bad < 5)
            fprintf(stderr, "read mismatch at 0x%08x len %zu (rc %d)\n", (unsigned)addr, len, rc2);
        (*bad)++;
    }
    free(want);
    free(got);
}

static void check_write(rig_s *r, uint32_t addr, size_t len, uint32_t seed, unsigned *bad)
{
    /* Surround the target range with a known pattern to catch stray lanes. */
    size_t pad = 8, total = len + 2 * pad;
    uint8_t *before = malloc(total), *data = malloc(len + 1), *after = malloc(total);
    if (!before || !data || !after) {
        (*bad)++;
        goto out;
    }
    fill_random(before, total, seed * 7u + 3u);
    fill_random(data, len, seed);
    lode_sim_mem_write(r->sim, addr - (uint32_t)pad, before, total);
    int rc = lode_adi_mem_write(r->adi, 0, addr, data, len);
    lode_sim_mem_read(r->sim, addr - (uint32_t)pad, after, total);
    memcpy(before + pad, data, len);
    if (rc != LODE_OK || memcmp(before, after, total) != 0) {
        if (*bad < 5)
            fprintf(stderr, "write mismatch at 0x%08x len %zu (rc %d)\n", (unsigned)addr, len, rc);
        (*bad)++;
    }
out:
    free(before);
    free(data);
    free(after);
}

static void test_memory(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        for (int blk = 0; blk < 2; blk++) {
            rig_s r;
            REQUIRE(rig_open(&r, chips[c].name, blk != 0, true));
            /* random RAM contents (back door) */
            size_t n = 8192;
            uint8_t *img = malloc(n);
            REQUIRE(img);
            fill_random(img, n, 42 + (uint32_t)c);
            CHECK_EQ(lode_sim_mem_write(r.sim, RAM, img, n), LODE_OK);
            free(img);

            unsigned bad = 0;
            /* every alignment x short lengths */
            for (uint32_t a = 0; a < 8; a++)
                for (size_t len = 0; len <= 21; len++)
                    check_read(&r, RAM + 0x40 + a, len, &bad);
            /* across 1 KiB boundaries, odd edges, several blocks */
            static const struct {
                uint32_t off;
                size_t len;
            } big[] = {{0x3FC, 8}, {0x3FD, 3}, {0x3FE, 4}, {0x3FF, 2}, {0x3F0, 0x20},
                       {0x3FD, 1030}, {0x001, 4095}, {0x400, 4096}, {0x7FE, 2051}};
            for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
                check_read(&r, RAM + big[i].off, big[i].len, &bad);
            CHECK_EQ(bad, 0);

            bad = 0;
            uint32_t seed = 1;
            for (uint32_t a = 0; a < 8; a++)
                for (size_t len = 1; len <= 21; len++)
                    check_write(&r, RAM + 0x1000 + a * 64, len, seed++, &bad);
            for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
                check_write(&r, RAM + 0x1000 + big[i].off, big[i].len, seed++, &bad);
            CHECK_EQ(bad, 0);

            /* A 4 KiB aligned read: 32-bit block transfers, few round trips. */
            lode_adi_stats_s s0, s1;
            uint8_t buf[4096];
            lode_adi_stats(r.adi, &s0);
            CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM, buf, sizeof buf), LODE_OK);
            lode_adi_stats(r.adi, &s1);
            if (blk) /* one TransferBlock per 1 KiB block plus the TAR writes around them */
                CHECK(s1.batches - s0.batches <= 9);
            else
                CHECK_EQ(s1.batches - s0.batches, 1);
            /* 1024 DRW + 4 TAR writes (+ at most one CSW and SELECT) */
            CHECK(s1.transfers - s0.transfers <= 1024 + 4 + 2);
            CHECK(s1.transfers - s0.transfers >= 1024 + 4);

            /* larger than one run's chunk */
            size_t big_n = chips[c].ram_size >= 64u * 1024u ? 40000u : 12000u;
            uint8_t *w = malloc(big_n), *g = malloc(big_n), *bd = malloc(big_n);
            REQUIRE(w && g && bd);
            fill_random(w, big_n, 99);
            CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM + 0x2003, w, big_n), LODE_OK);
            CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM + 0x2003, g, big_n), LODE_OK);
            CHECK_EQ(lode_sim_mem_read(r.sim, RAM + 0x2003, bd, big_n), LODE_OK);
            CHECK(memcmp(w, g, big_n) == 0);
            CHECK(memcmp(w, bd, big_n) == 0);
            free(w);
            free(g);
            free(bd);

            /* range checks */
            CHECK_EQ(lode_adi_mem_read(r.adi, 0, 0xFFFFFFFEu, buf, 3), LODE_E_RANGE);
            CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM, NULL, 4), LODE_E_INVALID_ARG);
            CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM, buf, 0), LODE_OK);
            rig_close(&r);
        }
    }
}

static void test_narrow(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "nRF52840_xxAA", false, true));
    const uint8_t pat[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    CHECK_EQ(lode_sim_mem_write(r.sim, RAM + 0x80, pat, 8), LODE_OK);
    for (uint32_t a = 0; a < 8; a++) {
        uint8_t b = 0;
        CHECK_EQ(lode_adi_mem_read8(r.adi, 0, RAM + 0x80 + a, &b), LODE_OK);
        CHECK_EQ(b, pat[a]);
    }
    for (uint32_t a = 0; a < 8; a += 2) {
        uint16_t h = 0;
        CHECK_EQ(lode_adi_mem_read16(r.adi, 0, RAM + 0x80 + a, &h), LODE_OK);
        CHECK_EQ(h, pat[a] | (pat[a + 1] << 8));
    }
    uint32_t w = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x84, &w), LODE_OK);
    CHECK_EQ(w, 0x88776655u);
    uint16_t h;
    CHECK_EQ(lode_adi_mem_read16(r.adi, 0, RAM + 0x81, &h), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x82, &w), LODE_E_INVALID_ARG);

    /* writes touch only their lanes */
    CHECK_EQ(lode_adi_mem_write8(r.adi, 0, RAM + 0x81, 0xAB), LODE_OK);
    CHECK_EQ(lode_adi_mem_write8(r.adi, 0, RAM + 0x87, 0xCD), LODE_OK);
    CHECK_EQ(lode_adi_mem_write16(r.adi, 0, RAM + 0x82, 0xBEEF), LODE_OK);
    uint8_t got[8];
    CHECK_EQ(lode_sim_mem_read(r.sim, RAM + 0x80, got, 8), LODE_OK);
    const uint8_t want[8] = {0x11, 0xAB, 0xEF, 0xBE, 0x55, 0x66, 0x77, 0xCD};
    CHECK(memcmp(got, want, 8) == 0);
    CHECK_EQ(lode_adi_mem_write32(r.adi, 0, RAM + 0x84, 0x01020304u), LODE_OK);
    CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x84, &w), LODE_OK);
    CHECK_EQ(w, 0x01020304u);
    rig_close(&r);
}

/* ---- ROM table ---------------------------------------------------------------------------- */
typedef struct found_s {
    unsigned n;
    bool scs, dwt, fpb, itm, tpiu, rom;
    uint16_t scs_part, rom_part, rom_designer;
    const char *rom_name;
    bool all_arm;
} found_s;

static int on_component(void *user, const lode_adi_component_s *c)
{
    found_s *f = user;
    f->n++;
    if (c->depth == 0 && c->cls == LODE_CID_CLASS_ROM && c->base == 0xE00FF000u) {
        f->rom = true;
        f->rom_part = c->part;
        f->rom_designer = c->designer;
        f->rom_name = c->name;
    } else if (c->designer != LODE_JEP106_ARM) {
        f->all_arm = false;
    }
    if (c->base == 0xE000E000u && c->cls == LODE_CID_CLASS_GENERIC_IP && c->depth == 1) {
        f->scs = true;
        f->scs_part = c->part;
    }
    if (c->base == 0xE0001000u && c->part == 0x002 && c->name && strstr(c->name, "DWT"))
        f->dwt = true;
    if (c->base == 0xE0002000u && c->part == 0x003 && c->name && strstr(c->name, "FPB"))
        f->fpb = true;
    if (c->base == 0xE0000000u && c->part == 0x001 && c->name && strstr(c->name, "ITM"))
        f->itm = true;
    if (c->base == 0xE0040000u && c->cls == LODE_CID_CLASS_CORESIGHT && c->name &&
        strstr(c->name, "TPIU"))
        f->tpiu = true;
    return 0;
}

static int stop_after_two(void *user, const lode_adi_component_s *c)
{
    (void)c;
    unsigned *n = user;
    return ++*n == 2 ? 7 : 0;
}

static void test_romtable(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, chips[c].name, true, true));
        uint32_t base = 0;
        CHECK_EQ(lode_adi_ap_base(r.adi, 0, &base), LODE_OK);
        found_s f;
        memset(&f, 0, sizeof f);
        f.all_arm = true;
        CHECK_EQ(lode_adi_romtable_walk(r.adi, 0, base & ~0xFFFu, on_component, &f), LODE_OK);
        CHECK_EQ(f.n, 6); /* ROM, SCS, DWT, FPB, ITM, TPIU (the ETM entry is not present) */
        CHECK(f.rom && f.scs && f.dwt && f.fpb && f.itm && f.tpiu);
        CHECK(f.all_arm); /* the components are ARM's; the ROM table is the chip vendor's */
        CHECK_EQ(f.scs_part, chips[c].m4 ? 0x00C : 0x000);
        CHECK_EQ(f.rom_designer, chips[c].m4 ? 0x244 : 0x020); /* Nordic, ST */
        CHECK_EQ(f.rom_part, chips[c].m4 ? 0x000 : 0x410);
        CHECK(f.rom_name && strcmp(f.rom_name, "ROM table") == 0); /* not an ARM part */
        lode_adi_component_s rc;
        CHECK_EQ(lode_adi_component_id(r.adi, 0, 0xE00FF000u, &rc), LODE_OK);
        CHECK_EQ(rc.designer, f.rom_designer);
        CHECK_EQ(rc.cls, LODE_CID_CLASS_ROM);
        CHECK_EQ(lode_adi_component_id(r.adi, 0, RAM, &rc), LODE_E_FORMAT);

        unsigned n = 0;
        CHECK_EQ(lode_adi_romtable_walk(r.adi, 0, 0xE00FF000u, stop_after_two, &n), 7);
        CHECK_EQ(n, 2);
        /* not a ROM table: RAM has no component ID */
        CHECK_EQ(lode_adi_romtable_walk(r.adi, 0, RAM, on_component, &f), LODE_E_FORMAT);
        /* unmapped: the fault comes back */
        CHECK_EQ(lode_adi_romtable_walk(r.adi, 0, 0x30000000u, on_component, &f), LODE_E_FAULT);
        CHECK_EQ(lode_adi_romtable_walk(r.adi, 0, 0xE00FF004u, on_component, &f),
                 LODE_E_INVALID_ARG);
        rig_close(&r);
    }
    CHECK(lode_adi_part_name(LODE_JEP106_ARM, 0x00C) != NULL);
    CHECK(lode_adi_part_name(0x123, 0x00C) == NULL);
}

/* ---- errors ------------------------------------------------------------------------------- */
static void test_fault(void)
{
    for (int blk = 0; blk < 2; blk++) {
        rig_s r;
        REQUIRE(rig_open(&r, "STM32F103C8", blk != 0, true));
        uint32_t v = 0x5A5A5A5Au, addr = 0;
        /* unmapped address: LODE_E_FAULT naming it, then everything works again */
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, 0x30000000u, &v), LODE_E_FAULT);
        CHECK_EQ(v, 0x5A5A5A5Au);
        CHECK(lode_adi_fault_addr(r.adi, &addr));
        CHECK_EQ(addr, 0x30000000u);
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM, &v), LODE_OK);
        CHECK(!lode_adi_fault_addr(r.adi, &addr));
        uint32_t cs = 0;
        lode_adi_queue_dp_read(r.adi, LODE_DP_CTRL_STAT, &cs);
        CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
        CHECK_EQ(cs & LODE_DP_CS_STICKYERR, 0);

        /* a failing write is reported by its own run (the trailing RDBUFF check) */
        CHECK_EQ(lode_adi_mem_write32(r.adi, 0, 0x30000010u, 1), LODE_E_FAULT);
        CHECK(lode_adi_fault_addr(r.adi, &addr));
        CHECK_EQ(addr, 0x30000010u);
        CHECK_EQ(lode_adi_mem_write32(r.adi, 0, RAM + 0x10, 0x77u), LODE_OK);

        /* outputs only for the transfers that completed */
        uint32_t a = 1, b = 2, c = 3, want = 0;
        CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x10, &want), LODE_OK);
        lode_adi_queue_read32(r.adi, 0, RAM + 0x10, &a);
        lode_adi_queue_read32(r.adi, 0, 0x30000000u, &b);
        lode_adi_queue_read32(r.adi, 0, RAM + 0x20, &c);
        CHECK_EQ(lode_adi_run(r.adi), LODE_E_FAULT);
        CHECK_EQ(a, want);
        CHECK_EQ(b, 2);
        CHECK_EQ(c, 3);

        /* injected fault range in the middle of a block read: the address is named */
        lode_sim_inject_fault_range(r.sim, RAM + 0x508, RAM + 0x50B);
        uint8_t buf[2048];
        CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM + 0x100, buf, sizeof buf), LODE_E_FAULT);
        CHECK(lode_adi_fault_addr(r.adi, &addr));
        CHECK_EQ(addr, RAM + 0x508);
        CHECK_EQ(lode_adi_mem_write(r.adi, 0, RAM + 0x501, buf, 64), LODE_E_FAULT);
        CHECK(lode_adi_fault_addr(r.adi, &addr));
        CHECK_EQ(addr, RAM + 0x508);
        /* a byte next to the range still works, and a byte inside faults */
        uint8_t b8 = 0;
        CHECK_EQ(lode_adi_mem_read8(r.adi, 0, RAM + 0x507, &b8), LODE_OK);
        CHECK_EQ(lode_adi_mem_read8(r.adi, 0, RAM + 0x50A, &b8), LODE_E_FAULT);
        lode_sim_inject_fault_range(r.sim, 1, 0);
        CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM + 0x100, buf, sizeof buf), LODE_OK);
        uint8_t bd[2048];
        CHECK_EQ(lode_sim_mem_read(r.sim, RAM + 0x100, bd, sizeof bd), LODE_OK);
        CHECK(memcmp(buf, bd, sizeof bd) == 0);

        lode_adi_stats_s st;
        lode_adi_stats(r.adi, &st);
        CHECK(st.faults >= 6);
        rig_close(&r);
    }
}

static void test_wait(void)
{
    for (size_t c = 0; c < NCHIPS; c++) {
        rig_s r;
        REQUIRE(rig_open(&r, chips[c].name, true, true));
        uint32_t v = 0, want = 0;
        CHECK_EQ(lode_adi_mem_write32(r.adi, 0, RAM + 0x40, 0x13572468u), LODE_OK);
        CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x40, &want), LODE_OK);

        /* a short WAIT storm is absorbed by the probe's retries */
        unsigned long waits0 = r.dap.waits_seen;
        lode_sim_inject_wait(r.sim, 6);
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x40, &v), LODE_OK);
        CHECK_EQ(v, want);
        CHECK_EQ(r.dap.waits_seen - waits0, 6);

        /* a long one: LODE_E_WAIT, DAPABORT, and the next access works */
        lode_sim_inject_wait(r.sim, 100000);
        v = 0;
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x40, &v), LODE_E_WAIT);
        CHECK_EQ(v, 0);
        lode_adi_stats_s st;
        lode_adi_stats(r.adi, &st);
        CHECK_EQ(st.waits, 1);
        CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x40, &v), LODE_OK);
        CHECK_EQ(v, want);

        /* WAITs in the middle of a long block read */
        uint8_t buf[3000], bd[3000];
        lode_sim_inject_wait(r.sim, 5);
        CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM + 1, buf, sizeof buf), LODE_OK);
        CHECK_EQ(lode_sim_mem_read(r.sim, RAM + 1, bd, sizeof bd), LODE_OK);
        CHECK(memcmp(buf, bd, sizeof bd) == 0);
        rig_close(&r);
    }
}

int main(void)
{
    RUN_TEST(test_connect);
    RUN_TEST(test_queue);
    RUN_TEST(test_memory);
    RUN_TEST(test_narrow);
    RUN_TEST(test_romtable);
    RUN_TEST(test_fault);
    RUN_TEST(test_wait);
    return TEST_DONE();
}
