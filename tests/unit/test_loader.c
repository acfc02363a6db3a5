/* SPDX-License-Identifier: MIT */
/* The loader seam through a connection: a probe with only a loader face (as a bootloader will
 * be) and a fake loader over host memory. lode_session_flash / erase / verify plan with plan.c
 * and hand the plan to the loader; an image with nothing for the flash is refused. */
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/session.h"
#include "test.h"

#define FLASH 0x08000000u
#define FLASH_LEN 4096u
#define SECTOR 1024u
#define PAGE 256u

typedef struct fake_s {
    uint8_t mem[FLASH_LEN];
    unsigned writes, erased, programmed, resets;
    uint32_t erased_at[8];
    lode_flash_region_s region;
    lode_mem_range_s ram;
    lode_loader_s *loader;
} fake_s;

static int sector_at(const void *user, uint32_t addr, uint32_t *start, uint32_t *size)
{
    (void)user;
    if (addr < FLASH || addr >= FLASH + FLASH_LEN)
        return LODE_E_RANGE;
    *start = addr & ~(SECTOR - 1u);
    *size = SECTOR;
    return LODE_OK;
}

static int fl_layout(void *ctx, const lode_log_s *log, const lode_flash_region_s **r, size_t *nr,
                     const lode_mem_range_s **ram, size_t *nram)
{
    (void)log;
    fake_s *f = ctx;
    *r = &f->region;
    *nr = 1;
    *ram = &f->ram;
    *nram = 1;
    return LODE_OK;
}

static int fl_write(void *ctx, const lode_flash_plan_s *plan, const lode_flash_opts_s *o, const lode_log_s *log,
                    lode_flash_result_s *res)
{
    (void)o, (void)log;
    fake_s *f = ctx;
    f->writes++;
    for (size_t i = 0; i < plan->nsectors; i++) {
        if (plan->sectors[i].skip)
            continue;
        if (f->erased < 8)
            f->erased_at[f->erased] = plan->sectors[i].addr;
        f->erased++;
        memset(f->mem + (plan->sectors[i].addr - FLASH), 0xFF, plan->sectors[i].size);
        res->sectors_erased++;
    }
    for (size_t i = 0; i < plan->npages; i++) {
        CHECK_EQ(plan->pages[i].size, PAGE);
        memcpy(f->mem + (plan->pages[i].addr - FLASH), plan->pages[i].data, PAGE);
        f->programmed++;
        res->pages_programmed++;
        res->bytes_programmed += PAGE;
    }
    return LODE_OK;
}

static int fl_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fake_s *f = ctx;
    if (addr < FLASH || addr + len > FLASH + FLASH_LEN)
        return LODE_E_FAULT;
    memcpy(buf, f->mem + (addr - FLASH), len);
    return LODE_OK;
}

static int fl_reset_run(void *ctx)
{
    ((fake_s *)ctx)->resets++;
    return LODE_OK;
}

static const lode_loader_ops_s fake_loader_ops = {
    .name = "fake", .via = " through the fake", .layout = fl_layout, .write = fl_write, .read = fl_read,
    .reset_run = fl_reset_run};

static int fp_loader(void *ctx, lode_loader_s **out)
{
    *out = ((fake_s *)ctx)->loader;
    return LODE_OK;
}
static const lode_probe_ops_s fake_probe_ops = {.loader = fp_loader};

static void test_loader_only_probe(void)
{
    fake_s *f = calloc(1, sizeof *f);
    REQUIRE(f);
    memset(f->mem, 0xFF, sizeof f->mem);
    f->region = (lode_flash_region_s){.name = "flash", .start = FLASH, .end = FLASH + FLASH_LEN, .page_size = PAGE,
                                      .erased = 0xFF, .sector_at = sector_at};
    f->ram = (lode_mem_range_s){0x20000000u, 0x20005000u};
    REQUIRE(lode_loader_new(&fake_loader_ops, f, &f->loader) == LODE_OK);
    lode_probe_s *p = NULL;
    REQUIRE(lode_probe_new(&fake_probe_ops, f, "fake", NULL, &p) == LODE_OK);

    /* no chip: a loader cannot identify it */
    lode_session_s *s = NULL;
    lode_session_config_s sc = {.probe = p};
    CHECK_EQ(lode_session_open(&sc, &s), LODE_E_INVALID_ARG);
    sc.chip = "STM32F103C8";
    REQUIRE(lode_session_open(&sc, &s) == LODE_OK);
    lode_core_ops_s core;
    lode_session_core_ops(s, &core);
    CHECK(core.halt == NULL && core.mem_read == NULL); /* no core */
    lode_loader_s *l = NULL;
    CHECK_EQ(lode_session_loader(s, &l), LODE_OK);
    CHECK(l == f->loader);

    /* 300 bytes at 0x08000180: one sector erased, pages 0x08000100 and 0x08000200 (padded) */
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_from_bin(data, sizeof data, FLASH + 0x180, &img) == LODE_OK);
    lode_flash_result_s res;
    lode_flash_opts_s fo = {.verify = true};
    CHECK_EQ(lode_session_flash(s, img, &fo, &res), LODE_OK);
    CHECK_EQ(f->erased, 1);
    CHECK_EQ(f->erased_at[0], FLASH);
    CHECK_EQ(f->programmed, 2);
    CHECK_EQ(res.bytes_programmed, 2 * PAGE);
    CHECK_EQ(res.bytes_verified, sizeof data); /* read back: the fake does not verify itself */
    CHECK(!memcmp(f->mem + 0x180, data, sizeof data));
    CHECK_EQ(f->mem[0x17F], 0xFF);
    size_t checked = 0;
    CHECK_EQ(lode_session_verify(s, img, &checked), LODE_OK);
    CHECK_EQ(checked, sizeof data);

    /* unchanged: the loader's read finds the sector as planned, nothing erased or programmed */
    fo = (lode_flash_opts_s){.skip_unchanged = true};
    CHECK_EQ(lode_session_flash(s, img, &fo, &res), LODE_OK);
    CHECK_EQ(f->erased, 1);
    CHECK_EQ(f->programmed, 2);
    f->mem[0x200] ^= 0xFF;
    CHECK_EQ(lode_session_verify(s, img, &checked), LODE_E_VERIFY);

    /* an erase request becomes the sectors covering it */
    CHECK_EQ(lode_session_erase(s, false, FLASH + 0x400, 0x401, NULL, &res), LODE_OK);
    CHECK_EQ(f->erased, 3);
    CHECK_EQ(f->erased_at[1], FLASH + 0x400);
    CHECK_EQ(f->erased_at[2], FLASH + 0x800);
    CHECK_EQ(lode_session_erase(s, false, 0x30000000u, 16, NULL, &res), LODE_E_RANGE);
    lode_image_free(img);

    /* nothing for the flash: refused before the loader is asked */
    unsigned writes = f->writes;
    REQUIRE(lode_image_from_bin(data, sizeof data, 0x20000000u, &img) == LODE_OK);
    CHECK_EQ(lode_session_flash(s, img, NULL, &res), LODE_E_FORMAT);
    lode_image_free(img);
    REQUIRE(lode_image_from_bin(data, 0, FLASH, &img) == LODE_OK || img == NULL);
    if (img) {
        CHECK_EQ(lode_session_flash(s, img, NULL, &res), LODE_E_FORMAT);
        CHECK_EQ(lode_session_verify(s, img, &checked), LODE_E_FORMAT);
        lode_image_free(img);
    }
    CHECK_EQ(f->writes, writes);
    CHECK_EQ(lode_loader_reset_run(l), LODE_OK);
    CHECK_EQ(f->resets, 1);

    lode_session_close(s);
    lode_probe_close(p);
    lode_loader_free(f->loader);
    free(f);
}

/* an image that ends exactly at 4 GiB is not "empty" */
static void test_where_top_of_memory(void)
{
    uint8_t data[16] = {1};
    lode_segment_s seg = {.addr = 0xFFFFFFF0u, .len = 16, .data = data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_image_where_s w;
    lode_session_where(NULL, &img, &w);
    CHECK_EQ(w.lo, 0xFFFFFFF0u);
    CHECK(w.hi == 0x100000000ull);
    CHECK_EQ(w.other_bytes, 16);
}

int main(void)
{
    RUN_TEST(test_loader_only_probe);
    RUN_TEST(test_where_top_of_memory);
    return TEST_DONE();
}
