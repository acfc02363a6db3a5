/* SPDX-License-Identifier: MIT */
/* The Unicorn backend runs with 4 KiB pages (cpu_unicorn.c open_engine): a translated block is
 * chained to the next one directly only within a page, so with ARM's 1 KiB pages every loop
 * that crosses a 1 KiB boundary paid a hash lookup per block. Unicorn 2.0.1 sets one bit too
 * many from UC_CTL_UC_PAGE_SIZE; the backend must end up with exactly 4 KiB either way. The
 * engine itself is checked: a 4 KiB region at a 4 KiB boundary maps, a 1 KiB one does not.
 * Both simulated chips still build on that page. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "lode/error.h"
#include "lode/sim.h"
#include "test.h"

static void engine_page(sim_cpu_model_e model)
{
    char err[128] = "";
    sim_cpu_s *cpu = simi_cpu_unicorn_new(NULL, model, err, sizeof err);
    REQUIRE(cpu != NULL);
    CHECK_EQ(cpu->page, 4096u);
    uint8_t *mem = aligned_alloc(4096, 8192);
    REQUIRE(mem != NULL);
    memset(mem, 0, 8192);
    CHECK_EQ(cpu->ops->map_ram(cpu, 0x20000000u, 4096, mem, true), 0);
    CHECK(cpu->ops->map_ram(cpu, 0x20001000u, 1024, mem + 4096, true) != 0);
    CHECK(cpu->ops->map_ram(cpu, 0x20001400u, 4096, mem + 4096, true) != 0);
    cpu->ops->free(cpu);
    free(mem);
}

static void chip_builds(const char *chip)
{
    lode_sim_config_s cfg = {.chip = chip};
    lode_sim_s *sim = NULL;
    CHECK_EQ(lode_sim_new(&cfg, &sim), LODE_OK);
    lode_sim_free(sim);
}

static void page_m3(void) { engine_page(SIM_CPU_M3); }
static void page_m4f(void) { engine_page(SIM_CPU_M4F); }
static void page_m0p(void) { engine_page(SIM_CPU_M0P); }
static void f103_builds(void) { chip_builds("STM32F103C8"); }
static void nrf52840_builds(void) { chip_builds("nRF52840_xxAA"); }

int main(void)
{
    RUN_TEST(page_m3);
    RUN_TEST(page_m4f);
    RUN_TEST(page_m0p);
    RUN_TEST(f103_builds);
    RUN_TEST(nrf52840_builds);
    return TEST_DONE();
}
