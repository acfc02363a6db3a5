/* SPDX-License-Identifier: MIT */
/* The whole stack against the simulated board: simulated CMSIS-DAP probe (USB model) ->
 * CMSIS-DAP driver -> ADIv5 -> Cortex-M -> chip detection -> flash planner + runner, with
 * ELF, HEX and BIN images on both chips, and the fault injections: WAIT storms, FAULT in the
 * middle of transfers, a reset in the middle of flashing, power loss during an erase. */
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/run.h"
#include "lode/semihost.h"
#include "lode/cmsis_dap.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "test.h"

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_dap_s *dap;
    lode_transport_s *tr;
    lode_session_s *s;
    lode_core_ops_s core;
    const lode_target_chip_s *chip;
} rig_s;

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

static int rig_session(rig_s *r, const char *chip)
{
    lode_probe_s *sc_probe = NULL;
    lode_probe_cmsis_dap_new(r->tr, false, NULL, NULL, &sc_probe);
    lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .chip = chip, .now_us = v_now,
                                .delay_us = v_delay, .time_user = r->sim};
    int rc = lode_session_open(&sc, &r->s);
    if (rc == LODE_OK) {
        lode_session_core_ops(r->s, &r->core);
        r->chip = lode_session_chip(r->s, NULL);
    }
    return rc;
}

static int rig_open(rig_s *r, const char *simchip, int version)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg = {.chip = simchip, .swd_hz = 10000000};
    int rc = lode_sim_new(&cfg, &r->sim);
    lode_sim_dap_config_s dc = {.version = version};
    if (rc == LODE_OK)
        rc = lode_sim_dap_new(r->sim, &dc, &r->dap);
    if (rc == LODE_OK)
        rc = lode_sim_dap_transport(r->dap, &r->tr);
    if (rc == LODE_OK)
        rc = rig_session(r, NULL);
    return rc;
}

static void rig_close(rig_s *r)
{
    lode_session_close(r->s);
    lode_transport_close(r->tr);
    lode_sim_dap_free(r->dap);
    lode_sim_free(r->sim);
}

static lode_image_s *load(const char *name, bool bin, uint32_t base)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LODE_FW_DIR, name);
    lode_image_s *img = NULL;
    int rc = lode_image_load_file(path, bin ? LODE_IMAGE_BIN : LODE_IMAGE_AUTO, base, bin, NULL, &img);
    CHECK_EQ(rc, LODE_OK);
    return img;
}

static bool target_equals(rig_s *r, const lode_image_s *img)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        uint8_t *buf = malloc(img->segs[i].len);
        bool ok = buf && lode_sim_mem_read(r->sim, img->segs[i].addr, buf, img->segs[i].len) == LODE_OK &&
                  !memcmp(buf, img->segs[i].data, img->segs[i].len);
        free(buf);
        if (!ok)
            return false;
    }
    return true;
}

static void flash_formats(const char *simchip, const char *stem, uint32_t base)
{
    rig_s r;
    REQUIRE(rig_open(&r, simchip, 2) == LODE_OK);
    CHECK(!strcmp(r.chip->name, simchip)); /* detected */
    const char *ext[] = {"elf", "hex", "bin"};
    for (int k = 0; k < 3; k++) {
        char name[128];
        snprintf(name, sizeof name, "%s.%s", stem, ext[k]);
        lode_image_s *img = load(name, k == 2, base);
        REQUIRE(img);
        lode_flash_opts_s o = {.verify = true, .chip_erase = k == 1};
        lode_flash_result_s res;
        CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
        CHECK(target_equals(&r, img));
        lode_image_free(img);
    }
    /* read through the debug port equals the back door */
    uint8_t a[600], b[600];
    CHECK_EQ(r.core.mem_read(r.core.ctx, base + 3, a, sizeof a), LODE_OK);
    CHECK_EQ(lode_sim_mem_read(r.sim, base + 3, b, sizeof b), LODE_OK);
    CHECK(!memcmp(a, b, sizeof a));
    rig_close(&r);
}

static void test_formats_stm32(void) { flash_formats("STM32F103C8", "hello-stm32f103", 0x08000000u); }
static void test_formats_nrf(void) { flash_formats("nRF52840_xxAA", "hello-nrf52840", 0x00000000u); }

static void test_wait_storm(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", 2) == LODE_OK);
    lode_image_s *img = load("hello-stm32f103.elf", false, 0);
    REQUIRE(img);
    /* 60 WAITs in a row: the probe's own retries (TransferConfigure) absorb them */
    lode_sim_inject_wait(r.sim, 60);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
    CHECK(target_equals(&r, img));
    lode_image_free(img);
    rig_close(&r);
}

static void test_fault_mid_transfer(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", 2) == LODE_OK);
    lode_image_s *img = load("hello-stm32f103.elf", false, 0);
    REQUIRE(img);
    /* the page buffers live in RAM after the algorithm: make that RAM fault for the DAP */
    lode_sim_inject_fault_range(r.sim, 0x20000100u, 0x20000FFFu);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    int rc = lode_flash_image(&r.core, r.chip, img, &o, NULL, &res);
    CHECK(rc == LODE_E_FAULT);
    /* the same flash succeeds once the bus is healthy again, on the same session */
    lode_sim_inject_fault_range(r.sim, 1, 0);
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
    CHECK(target_equals(&r, img));
    lode_image_free(img);
    rig_close(&r);
}

static void test_reset_mid_flash(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", 2) == LODE_OK);
    lode_image_s *img = load("hello-stm32f103.elf", false, 0);
    REQUIRE(img);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    /* a system reset while the algorithm runs: the core no longer returns to the stub. At
     * every point in the stream (start, erase, pages, end) the flash must either fail or
     * leave the image in flash — never report success over a half-written chip. */
    unsigned failures = 0;
    for (unsigned after = 40; after <= 1200; after += 40) {
        lode_sim_erase_all(r.sim);
        lode_sim_inject_reset_after(r.sim, after);
        int rc = lode_flash_image(&r.core, r.chip, img, &o, NULL, &res);
        lode_sim_inject_reset_after(r.sim, 0);
        if (rc != LODE_OK) {
            failures++;
            if (failures == 1)
                fprintf(stderr, "  reset mid-flash (after %u transfers): %s; unfinished: %s\n", after,
                        lode_strerror(rc), res.unfinished[0] ? res.unfinished : "(none)");
        } else if (!target_equals(&r, img)) {
            fprintf(stderr, "  reset after %u transfers: flash reported success but the image is "
                            "not in flash\n", after);
            CHECK(false);
        }
        CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
        CHECK(target_equals(&r, img));
    }
    CHECK(failures > 0);
    lode_image_free(img);
    rig_close(&r);
}

static void test_power_loss_mid_erase(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", 2) == LODE_OK);
    lode_image_s *img = load("hello-stm32f103.elf", false, 0);
    REQUIRE(img);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    lode_sim_inject_power_loss(r.sim, 2);
    int rc = lode_flash_image(&r.core, r.chip, img, &o, NULL, &res);
    CHECK(rc != LODE_OK);
    CHECK(res.unfinished[0] != 0);
    fprintf(stderr, "  power loss mid-erase: %s; unfinished: %s\n", lode_strerror(rc), res.unfinished);
    /* the debug port lost power too: connect again, then the same flash succeeds */
    lode_session_close(r.s);
    r.s = NULL;
    REQUIRE(rig_session(&r, NULL) == LODE_OK);
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
    CHECK(target_equals(&r, img));
    lode_image_free(img);
    rig_close(&r);
}

static void test_run_control(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "nRF52840_xxAA", 1) == LODE_OK);
    lode_image_s *img = load("hello-nrf52840.elf", false, 0);
    REQUIRE(img);
    lode_flash_result_s res;
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, NULL, NULL, &res), LODE_OK);
    CHECK_EQ(r.core.reset(r.core.ctx, true), LODE_OK);
    uint32_t pc = 0, vec = 0;
    CHECK_EQ(r.core.reg_read(r.core.ctx, 15, &pc), LODE_OK);
    CHECK_EQ(lode_sim_read32(r.sim, 4, &vec), LODE_OK);
    CHECK_EQ(pc, vec & ~1u);
    CHECK_EQ(r.core.step(r.core.ctx), LODE_OK);
    uint32_t pc2 = 0;
    CHECK_EQ(r.core.reg_read(r.core.ctx, 15, &pc2), LODE_OK);
    CHECK(pc2 != pc);
    CHECK_EQ(r.core.reg_write(r.core.ctx, 64 + 3, 0x3FC00000u), LODE_OK); /* S3 on the M4F */
    uint32_t s3 = 0;
    CHECK_EQ(r.core.reg_read(r.core.ctx, 64 + 3, &s3), LODE_OK);
    CHECK_EQ(s3, 0x3FC00000u);
    lode_image_free(img);
    rig_close(&r);
}

static char last_error[512];
static void keep_error(void *u, lode_log_level_e l, lode_log_cat_e c, const char *m)
{
    (void)u;
    (void)c;
    if (l == LODE_LOG_ERROR)
        snprintf(last_error, sizeof last_error, "%s", m);
}

static char designer_line[512];
static void keep_designer(void *u, lode_log_level_e l, lode_log_cat_e c, const char *m)
{
    (void)u;
    (void)l;
    (void)c;
    if (strstr(m, "ROM table at"))
        snprintf(designer_line, sizeof designer_line, "%s", m);
}

/* The connection reads the ROM table's designer and names the vendor whose hook it tries first */
static void test_designer_read(void)
{
    static const struct {
        const char *sim, *want, *chip;
    } k[] = {{"STM32F103C8", "designer JEP106 0x020 (STMicroelectronics)", "STM32F103C8"},
             {"nRF52840_xxAA", "designer JEP106 0x244 (Nordic Semiconductor)", "nRF52840"}};
    for (size_t i = 0; i < 2; i++) {
        rig_s r;
        memset(&r, 0, sizeof r);
        lode_sim_config_s cfg = {.chip = k[i].sim};
        REQUIRE(lode_sim_new(&cfg, &r.sim) == LODE_OK);
        lode_sim_dap_config_s dc = {.version = 2};
        REQUIRE(lode_sim_dap_new(r.sim, &dc, &r.dap) == LODE_OK);
        REQUIRE(lode_sim_dap_transport(r.dap, &r.tr) == LODE_OK);
        lode_probe_s *sc_probe = NULL;
        lode_probe_cmsis_dap_new(r.tr, false, NULL, NULL, &sc_probe);
        lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .now_us = v_now,
                                    .delay_us = v_delay, .time_user = r.sim};
        sc.log.fn = keep_designer;
        sc.log.max_level = LODE_LOG_DEBUG;
        designer_line[0] = 0;
        CHECK_EQ(lode_session_open(&sc, &r.s), LODE_OK);
        CHECK(strstr(designer_line, k[i].want) != NULL);
        const lode_target_chip_s *chip = r.s ? lode_session_chip(r.s, NULL) : NULL;
        CHECK(chip && strncmp(chip->name, k[i].chip, strlen(k[i].chip)) == 0);
        if (!strstr(designer_line, k[i].want))
            fprintf(stderr, "  %s: '%s'\n", k[i].sim, designer_line);
        rig_close(&r);
    }
}

static void test_target_does_not_answer(void)
{
    rig_s r;
    memset(&r, 0, sizeof r);
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    REQUIRE(lode_sim_new(&cfg, &r.sim) == LODE_OK);
    lode_sim_dap_config_s dc = {.version = 2};
    REQUIRE(lode_sim_dap_new(r.sim, &dc, &r.dap) == LODE_OK);
    REQUIRE(lode_sim_dap_transport(r.dap, &r.tr) == LODE_OK);
    lode_sim_inject_disconnect(r.sim, true);
    lode_probe_s *sc_probe = NULL;
    lode_probe_cmsis_dap_new(r.tr, false, NULL, NULL, &sc_probe);
    lode_session_config_s sc = {.probe = sc_probe, .close_probe = true, .now_us = v_now, .delay_us = v_delay,
                                .time_user = r.sim};
    sc.log.fn = keep_error;
    sc.log.max_level = LODE_LOG_ERROR;
    last_error[0] = 0;
    int rc = lode_session_open(&sc, &r.s);
    CHECK(rc != LODE_OK);
    CHECK(r.s == NULL);
    CHECK(strstr(last_error, "does not answer") != NULL);
    fprintf(stderr, "  no target: %s (%s)\n", lode_strerror(rc), last_error);
    /* wires back on: the same probe connects */
    lode_sim_inject_disconnect(r.sim, false);
    CHECK_EQ(rig_session(&r, NULL), LODE_OK);
    rig_close(&r);
}

typedef struct watch_log_s {
    unsigned hits;
    uint32_t last_old, last_new;
    bool ascending;
} watch_log_s;

static bool count_hit(void *user, const lode_run_hit_s *hit)
{
    watch_log_s *w = user;
    if (hit->kind == LODE_RUN_HIT_WATCH) {
        if (hit->new_value != hit->old_value + 1)
            w->ascending = false;
        w->hits++;
        w->last_old = hit->old_value;
        w->last_new = hit->new_value;
    }
    return true;
}

static bool stop_hit(void *user, const lode_run_hit_s *hit)
{
    (void)user;
    (void)hit;
    return false;
}

/* A watchpoint on a variable that lives on the stack: its address is only known at run time */
static void test_watch_stack_variable(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", 2) == LODE_OK);
    lode_image_s *img = load("stackwatch-stm32f103.elf", false, 0);
    REQUIRE(img);
    lode_flash_result_s res;
    REQUIRE(lode_flash_image(&r.core, r.chip, img, NULL, NULL, &res) == LODE_OK);
    const lode_symbol_s *ready = lode_image_find_symbol(img, "stack_ready");
    const lode_symbol_s *slot = lode_image_find_symbol(img, "stack_slot");
    REQUIRE(ready && slot);
    lode_semihost_config_s shc = {
        .io = {.mem_read = lode_sim_sh_mem_read, .mem_write = lode_sim_sh_mem_write,
               .time_us = lode_sim_sh_time_us, .ctx = r.sim},
        .cmdline = "stackwatch"};
    lode_semihost_s *sh = NULL;
    REQUIRE(lode_semihost_new(&shc, &sh) == LODE_OK);
    /* 1: run to stack_ready and learn where the counter lives */
    lode_run_point_s bp = {.name = "stack_ready", .addr = ready->value & ~1u};
    lode_run_config_s rc = {.core = &r.core, .sh = sh, .reset_first = true, .breaks = &bp,
                            .nbreaks = 1, .on_hit = stop_hit};
    lode_run_result_s rr;
    CHECK_EQ(lode_run(&rc, &rr), LODE_OK);
    CHECK_EQ(rr.end, LODE_RUN_HALTED);
    uint32_t addr = 0;
    CHECK_EQ(r.core.mem_read(r.core.ctx, slot->value, &addr, 4), LODE_OK);
    CHECK(addr >= 0x20000000u && addr < 0x20005000u); /* on the stack, in SRAM */
    /* 2: watch it (writes) and run to the end: five hits, 0->1 ... 4->5, exit code 5 */
    watch_log_s wl = {.ascending = true};
    lode_run_point_s wp = {.name = "counter", .addr = addr, .len = 4, .kind = 2};
    lode_run_config_s rc2 = {.core = &r.core, .sh = sh, .reset_first = false, .watches = &wp,
                             .nwatches = 1, .on_hit = count_hit, .hit_user = &wl,
                             .timeout_us = 2000000};
    CHECK_EQ(lode_run(&rc2, &rr), LODE_OK);
    CHECK_EQ(rr.end, LODE_RUN_EXITED);
    CHECK_EQ(rr.exit_code, 5);
    CHECK_EQ(wl.hits, 5);
    CHECK(wl.ascending);
    CHECK_EQ(wl.last_old, 4);
    CHECK_EQ(wl.last_new, 5);
    lode_semihost_free(sh);
    lode_image_free(img);
    rig_close(&r);
}

int main(void)
{
    RUN_TEST(test_watch_stack_variable);
    RUN_TEST(test_target_does_not_answer);
    RUN_TEST(test_designer_read);
    RUN_TEST(test_formats_stm32);
    RUN_TEST(test_formats_nrf);
    RUN_TEST(test_wait_storm);
    RUN_TEST(test_fault_mid_transfer);
    RUN_TEST(test_reset_mid_flash);
    RUN_TEST(test_power_loss_mid_erase);
    RUN_TEST(test_run_control);
    return TEST_DONE();
}
