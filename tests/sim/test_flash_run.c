/* SPDX-License-Identifier: MIT */
/* The flash stack end to end on the simulated chips, through the back-door core: target
 * database -> planner -> algorithm runner (lode's own algorithms and the vendor's from the
 * probe-rs file), then the flashed firmware boots and runs. */
#include "lode/core.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/semihost.h"
#include "lode/sim.h"
#include "lode/target.h"
#include "test.h"

static void cw(void *c, int fd, const uint8_t *d, size_t n)
{
    (void)c;
    (void)fd;
    (void)d;
    (void)n;
}

/* Reset and run the flashed firmware; returns its exit code (or -1). */
static int boot_and_run(lode_sim_s *sim)
{
    lode_sim_power_on_reset(sim);
    lode_semihost_config_s shc = {
        .io = {.mem_read = lode_sim_sh_mem_read, .mem_write = lode_sim_sh_mem_write,
               .console_write = cw, .time_us = lode_sim_sh_time_us, .ctx = sim},
        .cmdline = "fw"};
    lode_semihost_s *sh = NULL;
    if (lode_semihost_new(&shc, &sh) != LODE_OK)
        return -1;
    lode_sim_program_result_s res;
    int rc = lode_sim_run_program(sim, sh, lode_sim_now(sim) + 5000000000000ull, &res);
    lode_semihost_free(sh);
    return rc == LODE_OK && res.exited ? res.exit_code : -1;
}

static bool flash_equals_image(lode_sim_s *sim, const lode_image_s *img)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        uint8_t *buf = malloc(img->segs[i].len);
        if (!buf)
            return false;
        bool ok = lode_sim_mem_read(sim, img->segs[i].addr, buf, img->segs[i].len) == LODE_OK &&
                  !memcmp(buf, img->segs[i].data, img->segs[i].len);
        free(buf);
        if (!ok)
            return false;
    }
    return true;
}

static void flash_chip(const char *chipname, const char *fw, const char *yaml, int want_exit)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = chipname};
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    if (yaml) {
        char rel[256];
        snprintf(rel, sizeof rel, "targets/probe-rs/%s", yaml);
        const char *path = test_shared_path(rel, __func__);
        if (!path) {
            lode_target_db_free(db);
            lode_sim_free(sim);
            return;
        }
        REQUIRE(lode_target_db_load_file(db, path) == LODE_OK);
    }
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, chipname, &chip) == LODE_OK);
    CHECK(yaml ? !chip->family->builtin : chip->family->builtin);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LODE_FW_DIR, fw);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) == LODE_OK);

    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    uint64_t t0 = lode_sim_now(sim);
    CHECK_EQ(lode_flash_image(&core, chip, img, &o, NULL, &res), LODE_OK);
    fprintf(stderr, "  %s %s via %s: %zu sectors erased, %zu pages, %zu bytes, %.3f ms virtual\n",
            chipname, fw, chip->algos[0]->name, res.sectors_erased, res.pages_programmed,
            res.bytes_programmed, (double)(lode_sim_now(sim) - t0) / 1e9);
    CHECK(res.sectors_erased >= 1);
    CHECK(res.bytes_verified == res.bytes_programmed);
    CHECK(flash_equals_image(sim, img));
    CHECK_EQ(boot_and_run(sim), want_exit);

    /* the same image again with skip-unchanged: nothing is erased or programmed */
    o.skip_unchanged = true;
    CHECK_EQ(lode_flash_image(&core, chip, img, &o, NULL, &res), LODE_OK);
    CHECK_EQ(res.sectors_erased, 0);
    CHECK_EQ(res.pages_programmed, 0);

    /* erase everything: the firmware is gone */
    CHECK_EQ(lode_flash_erase(&core, chip, true, 0, 0, NULL, NULL, &res), LODE_OK);
    uint32_t w = 0;
    CHECK_EQ(lode_sim_read32(sim, img->segs[0].addr, &w), LODE_OK);
    CHECK_EQ(w, 0xFFFFFFFFu);
    lode_image_free(img);
    lode_target_db_free(db);
    lode_sim_free(sim);
}

/* A slow host: every state query first lets the target run on for a while, so the stream's
 * operations (and the call itself) complete between the host's progress read and its look at
 * the core. The runner must still count every page (and the verify hash must agree). */
static lode_core_ops_s g_inner; /* the wrapped ops (test-local) */
static int slow_state(void *ctx, lode_core_state_s *st)
{
    lode_sim_advance(ctx, 60ull * 1000000000ull); /* 60 ms */
    return g_inner.state(ctx, st);
}

/* the host's sleeps pass little target time (at most 50 us each) */
static void short_delay(void *ctx, uint32_t us) { lode_sim_advance(ctx, (uint64_t)(us < 50 ? us : 50) * 1000000u); }

static void test_stream_completes_unseen(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "STM32F103C8", &chip) == LODE_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/systick-stm32f103.elf", LODE_FW_DIR);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) == LODE_OK);
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    g_inner = core;
    core.state = slow_state;
    core.delay_us = short_delay; /* the target runs mostly while the host looks at the core */
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_flash_image(&core, chip, img, &o, NULL, &res), LODE_OK);
    CHECK(res.pages_programmed >= 2);
    CHECK_EQ(res.bytes_verified, res.bytes_programmed);
    CHECK(flash_equals_image(sim, img));
    lode_image_free(img);
    lode_target_db_free(db);
    lode_sim_free(sim);
}

/* A host descheduled for a second in every wait: the target finishes every operation it was
 * given before the host looks again, with no free slot yet for the stream's end. */
static void long_delay(void *ctx, uint32_t us)
{
    (void)us;
    lode_sim_advance(ctx, 1000000000000ull);
}

static void test_stream_slow_host(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "STM32F103C8", &chip) == LODE_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/hello-stm32f103.elf", LODE_FW_DIR);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) == LODE_OK);
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    core.delay_us = long_delay;
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_flash_image(&core, chip, img, &o, NULL, &res), LODE_OK);
    CHECK(flash_equals_image(sim, img));
    lode_image_free(img);
    lode_target_db_free(db);
    lode_sim_free(sim);
}

static void test_stm32_builtin(void) { flash_chip("STM32F103C8", "hello-stm32f103.elf", NULL, 3); }
static void test_stm32_vendor(void)
{
    flash_chip("STM32F103C8", "hello-stm32f103.elf", "STM32F1_Series.yaml", 3);
}
static void test_nrf_builtin(void) { flash_chip("nRF52840_xxAA", "hello-nrf52840.elf", NULL, 3); }

static int sim_read_cb(void *user, uint32_t addr, void *buf, size_t len) { return lode_sim_mem_read(user, addr, buf, len); }

/* A whole-chip nRF52840 image: the planner picks one ERASEALL (which wipes the UICR too)
 * instead of 256 page erases, reads the UICR back first and programs it again after, under
 * the image's own UICR bytes; the UICR is erased once. A failure after the erase names the
 * UICR among what may now be erased. */
static void test_nrf_whole_chip_keeps_uicr(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = "nRF52840_xxAA"};
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "nRF52840_xxAA", &chip) == LODE_OK);
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    lode_flash_result_s res;
    lode_flash_opts_s o = {.verify = true};

    /* something in the UICR that must survive (a customer word, NFCPINS-like settings) */
    uint8_t uicr[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0x0F, 0x01};
    lode_segment_s useg = {.addr = 0x10001080u, .len = sizeof uicr, .data = uicr};
    lode_image_s uimg = {.segs = &useg, .nsegs = 1};
    CHECK_EQ(lode_flash_image(&core, chip, &uimg, &o, NULL, &res), LODE_OK);

    /* 1 MiB of code flash, plus 4 bytes of the image in the UICR */
    uint8_t *code = malloc(1u << 20);
    REQUIRE(code);
    for (uint32_t i = 0; i < 1u << 20; i++)
        code[i] = (uint8_t)(i * 2654435761u >> 24);
    uint8_t own[4] = {0xA5, 0x5A, 0x00, 0x7E};
    lode_segment_s segs[2] = {{.addr = 0, .len = 1u << 20, .data = code},
                              {.addr = 0x10001200u, .len = sizeof own, .data = own}};
    lode_image_s img = {.segs = segs, .nsegs = 2};

    /* the plan: the code flash by its chip erase, the UICR wiped by it (not erased again) and
     * programmed with what was there plus the image's bytes */
    lode_flash_layout_s *lay = NULL;
    REQUIRE(lode_flash_layout_for_chip(chip, NULL, &lay) == LODE_OK);
    lode_flash_opts_s po = {.read = sim_read_cb, .read_user = sim};
    lode_flash_plan_s *plan = NULL;
    REQUIRE(lode_flash_plan(&img, lay->regions, lay->nregions, lay->ram, lay->nram, &po, NULL, &plan) == LODE_OK);
    CHECK_EQ(plan->chip_regions, 1u);
    size_t wiped = 0, upages = 0;
    for (size_t i = 0; i < plan->nsectors; i++)
        wiped += plan->sectors[i].wiped && plan->sectors[i].wiped_by == 0 && plan->sectors[i].addr == 0x10001000u;
    for (size_t i = 0; i < plan->npages; i++)
        if (plan->pages[i].addr == 0x10001000u) {
            upages++;
            CHECK(!memcmp(plan->pages[i].data + 0x80, uicr, sizeof uicr));
            CHECK(!memcmp(plan->pages[i].data + 0x200, own, sizeof own));
        }
    CHECK_EQ(wiped, 1);
    CHECK_EQ(upages, 1);
    lode_flash_plan_free(plan);
    /* without a way to read the UICR back the chip erase is not chosen */
    REQUIRE(lode_flash_plan(&img, lay->regions, lay->nregions, lay->ram, lay->nram, NULL, NULL, &plan) == LODE_OK);
    CHECK_EQ(plan->chip_regions, 0u);
    lode_flash_plan_free(plan);
    lode_flash_layout_free(lay);

    uint64_t t0 = lode_sim_now(sim);
    CHECK_EQ(lode_flash_image(&core, chip, &img, &o, NULL, &res), LODE_OK);
    double s = (double)(lode_sim_now(sim) - t0) / 1e12;
    fprintf(stderr, "  nRF52840 1 MiB + UICR: %zu sectors erased, %zu pages, %.3f s virtual\n",
            res.sectors_erased, res.pages_programmed, s);
    /* ERASEALL 173 ms + 256 Ki words x 41 us = 10.92 s; 256 page erases alone take 21.8 s */
    CHECK(s < 11.5);
    CHECK_EQ(res.sectors_erased, 257); /* 256 pages and the UICR, by one erase */
    CHECK(flash_equals_image(sim, &img));
    CHECK(flash_equals_image(sim, &uimg));
    uint32_t w = 0;
    CHECK_EQ(lode_sim_read32(sim, 0x10001000u, &w), LODE_OK);
    CHECK_EQ(w, 0xFFFFFFFFu);

    /* power lost during the first word programmed after the ERASEALL */
    lode_sim_inject_power_loss(sim, 2);
    int rc = lode_flash_image(&core, chip, &img, &o, NULL, &res);
    CHECK(rc != LODE_OK);
    fprintf(stderr, "  power loss after the chip erase (%s): unfinished %s\n", lode_strerror(rc), res.unfinished);
    CHECK(strstr(res.unfinished, "UICR 0x10001000-0x10001fff") != NULL);
    CHECK(strstr(res.unfinished, "FLASH 0x00000000-0x000fffff") != NULL);
    /* erasing everything: one ERASEALL, the UICR not erased a second time by ERASEUICR */
    CHECK_EQ(lode_flash_erase(&core, chip, true, 0, 0, NULL, NULL, &res), LODE_OK);
    CHECK_EQ(res.sectors_erased, 257);
    free(code);
    lode_target_db_free(db);
    lode_sim_free(sim);
}

static void test_power_loss_then_reflash(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "STM32F103C8", &chip) == LODE_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/hello-stm32f103.elf", LODE_FW_DIR);
    lode_image_s *img = NULL;
    REQUIRE(lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) == LODE_OK);
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    lode_flash_result_s res;
    lode_flash_opts_s o = {.verify = true};
    /* lose power during the 2nd flash operation: the first sector's erase has been done */
    lode_sim_inject_power_loss(sim, 2);
    int rc = lode_flash_image(&core, chip, img, &o, NULL, &res);
    CHECK(rc != LODE_OK);
    CHECK(res.unfinished[0] != 0); /* names the sectors that may now be erased */
    fprintf(stderr, "  after power loss (%s): unfinished %s\n", lode_strerror(rc), res.unfinished);
    /* flashing again succeeds and verifies */
    CHECK_EQ(lode_flash_image(&core, chip, img, &o, NULL, &res), LODE_OK);
    CHECK(flash_equals_image(sim, img));
    CHECK_EQ(boot_and_run(sim), 3);
    lode_image_free(img);
    lode_target_db_free(db);
    lode_sim_free(sim);
}

static void test_bad_images(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    REQUIRE(lode_sim_new(&cfg, &sim) == LODE_OK);
    lode_target_db_s *db = NULL;
    REQUIRE(lode_target_db_new(NULL, &db) == LODE_OK);
    const lode_target_chip_s *chip = NULL;
    REQUIRE(lode_target_find_chip(db, "STM32F103C8", &chip) == LODE_OK);
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    lode_flash_result_s res;
    static uint8_t big[0x10004];
    lode_image_s *img = NULL;
    /* bigger than the flash */
    REQUIRE(lode_image_from_bin(big, sizeof big, 0x08000000u, &img) == LODE_OK);
    CHECK_EQ(lode_flash_image(&core, chip, img, NULL, NULL, &res), LODE_E_RANGE);
    lode_image_free(img);
    /* an nRF image (linked at 0) on the STM32 */
    char path[1024];
    snprintf(path, sizeof path, "%s/hello-nrf52840.elf", LODE_FW_DIR);
    REQUIRE(lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) == LODE_OK);
    CHECK_EQ(lode_flash_image(&core, chip, img, NULL, NULL, &res), LODE_E_RANGE);
    lode_image_free(img);
    /* nothing was erased by refused images */
    uint32_t w = 0;
    CHECK_EQ(lode_sim_read32(sim, 0x08000000u, &w), LODE_OK);
    CHECK_EQ(w, 0xFFFFFFFFu);
    lode_target_db_free(db);
    lode_sim_free(sim);
}

/* Tiny algorithms in the CMSIS-Pack convention, to see how the runner reports failures.
 * Every entry point sits at offset 0 of its blob. */
static const uint8_t algo_ret1[] = {0x01, 0x20, 0x70, 0x47};          /* movs r0,#1; bx lr */
static const uint8_t algo_spin[] = {0xfe, 0xe7};                      /* b . */
static const uint8_t algo_udf[] = {0x00, 0xde};                       /* udf #0 */

static int run_fake(const uint8_t *blob, size_t len, uint32_t timeout_ms, lode_flash_result_s *res,
                    lode_sim_s **simout)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    if (lode_sim_new(&cfg, &sim) != LODE_OK)
        return -1000;
    lode_core_ops_s core;
    lode_sim_core_ops(sim, &core);
    lode_flash_algo_s a = {.name = "fake", .instructions = blob, .instructions_len = len,
                           .pc_init = LODE_FLASH_NO_PC, .pc_uninit = LODE_FLASH_NO_PC,
                           .pc_program_page = 0, .pc_erase_sector = 0, .pc_erase_all = LODE_FLASH_NO_PC,
                           .pc_stream = LODE_FLASH_NO_PC,
                           .flash_start = 0x08000000u, .flash_end = 0x08010000u, .page_size = 1024,
                           .erased = 0xFF, .program_page_timeout_ms = timeout_ms,
                           .erase_sector_timeout_ms = timeout_ms};
    const lode_flash_algo_s *algos[1] = {&a};
    lode_flash_plan_s plan = {0};
    lode_flash_sector_s sec = {.addr = 0x08000000u, .size = 1024, .region = 0};
    static uint8_t page[1024];
    lode_flash_page_s pg = {.addr = 0x08000000u, .size = 1024, .region = 0, .sector = 0, .data = page};
    plan.sectors = &sec;
    plan.nsectors = 1;
    plan.pages = &pg;
    plan.npages = 1;
    lode_mem_range_s ram = {0x20000000u, 0x20005000u};
    int rc = lode_flash_run(&core, algos, 1, &plan, &ram, NULL, NULL, res);
    *simout = sim;
    return rc;
}

static void test_algorithm_failures(void)
{
    lode_flash_result_s res;
    lode_sim_s *sim = NULL;
    /* an algorithm that reports an error */
    CHECK_EQ(run_fake(algo_ret1, sizeof algo_ret1, 100, &res, &sim), LODE_E_FLASH);
    lode_sim_free(sim);
    /* one that never returns: the per-call timeout from the description ends it */
    uint64_t t0 = 0;
    int rc = run_fake(algo_spin, sizeof algo_spin, 50, &res, &sim);
    CHECK_EQ(rc, LODE_E_TIMEOUT);
    t0 = lode_sim_now(sim);
    CHECK(t0 >= 50ull * 1000000000ull && t0 < 2200ull * 1000000000ull); /* 50 ms + the 2 s host slack */
    CHECK(lode_sim_halted(sim)); /* the runner halted it again */
    lode_sim_free(sim);
    /* one that faults: the core leaves the algorithm (HardFault) instead of returning */
    CHECK_EQ(run_fake(algo_udf, sizeof algo_udf, 100, &res, &sim), LODE_E_FLASH);
    lode_sim_free(sim);
}

int main(void)
{
    RUN_TEST(test_algorithm_failures);
    RUN_TEST(test_stm32_builtin);
    RUN_TEST(test_stream_completes_unseen);
    RUN_TEST(test_stream_slow_host);
    RUN_TEST(test_stm32_vendor);
    RUN_TEST(test_nrf_builtin);
    RUN_TEST(test_power_loss_then_reflash);
    RUN_TEST(test_nrf_whole_chip_keeps_uicr);
    RUN_TEST(test_bad_images);
    return TEST_DONE();
}
