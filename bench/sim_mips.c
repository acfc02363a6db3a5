/* SPDX-License-Identifier: MIT */
/* Million instructions per second of the simulated board on this machine:
 *  (a) free run: the core runs the bench firmware, no debug features armed;
 *  (b) debugger attached: C_DEBUGEN set, 4 FPB breakpoints and 2 DWT watchpoints armed (on
 *      addresses the workload never reaches, so nothing halts; the cost of watching is paid).
 * Instructions come from the sim's own count; time is the process CPU time
 * (CLOCK_PROCESS_CPUTIME_ID: the sim is single-threaded, so on a quiet host it equals wall time,
 * and other tenants on a shared host do not distort it). The real
 * STM32F103 runs at 72 MHz (at most 72 MIPS), the nRF52840 at 64 MHz.
 * Usage: bench_sim_mips [virtual-seconds] [firmware-dir] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lode/sim.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int arm_debug(lode_sim_s *sim)
{
    int rc = 0;
    rc |= lode_sim_write32(sim, 0xE000EDF0u, 0xA05F0001u);      /* DHCSR: C_DEBUGEN */
    rc |= lode_sim_write32(sim, 0xE000EDFCu, 1u << 24);         /* DEMCR: TRCENA */
    rc |= lode_sim_write32(sim, 0xE0002000u, 3u);               /* FP_CTRL: KEY|ENABLE */
    /* 4 breakpoints at the far end of the flash, never executed */
    uint32_t flash_end = !strcmp(lode_sim_chip_name(sim), "STM32F103C8") ? 0x08010000u : 0x00100000u;
    for (unsigned i = 0; i < 4; i++) {
        uint32_t addr = flash_end - 0x100u + 8u * i;
        rc |= lode_sim_write32(sim, 0xE0002008u + 4u * i, (1u << 30) | (addr & 0x1FFFFFFCu) | 1u);
    }
    /* 2 watchpoints (write, read) on RAM words the workload never touches */
    rc |= lode_sim_write32(sim, 0xE0001020u, 0x20004F00u);
    rc |= lode_sim_write32(sim, 0xE0001024u, 2u);
    rc |= lode_sim_write32(sim, 0xE0001028u, 6u);
    rc |= lode_sim_write32(sim, 0xE0001030u, 0x20004F40u);
    rc |= lode_sim_write32(sim, 0xE0001034u, 2u);
    rc |= lode_sim_write32(sim, 0xE0001038u, 5u);
    return rc;
}

static int bench(const char *chip, const char *elf, double vsec, bool debug, double *mips,
                 double *ratio)
{
    lode_sim_s *sim = NULL;
    lode_sim_config_s cfg = {.chip = chip};
    if (lode_sim_new(&cfg, &sim) != LODE_OK || lode_sim_load_elf(sim, elf) != LODE_OK) {
        fprintf(stderr, "bench: cannot start %s with %s\n", chip, elf);
        lode_sim_free(sim);
        return -1;
    }
    if (debug && arm_debug(sim) != 0) {
        fprintf(stderr, "bench: arming debug features failed\n");
        lode_sim_free(sim);
        return -1;
    }
    /* warm-up: translate the code once */
    lode_sim_run(sim, 10000000000ull);
    uint64_t i0 = lode_sim_instructions(sim), v0 = lode_sim_now(sim);
    double t0 = now_s();
    lode_sim_stop_e st = lode_sim_run(sim, (uint64_t)(vsec * 1e12));
    double t1 = now_s();
    uint64_t n = lode_sim_instructions(sim) - i0;
    double v = (double)(lode_sim_now(sim) - v0) / 1e12;
    if (st != LODE_SIM_STOP_BUDGET) {
        fprintf(stderr, "bench: %s stopped early (%d)\n", chip, (int)st);
        lode_sim_free(sim);
        return -1;
    }
    *mips = (double)n / (t1 - t0) / 1e6;
    *ratio = v / (t1 - t0);
    lode_sim_free(sim);
    return 0;
}

int main(int argc, char **argv)
{
    double vsec = argc > 1 ? atof(argv[1]) : 3.0;
    const char *dir = argc > 2 ? argv[2] : LODE_FW_DIR;
    const struct {
        const char *chip, *file;
        double mhz;
    } chips[] = {{"STM32F103C8", "bench-stm32f103.elf", 72.0}, {"nRF52840_xxAA", "bench-nrf52840.elf", 64.0}};
    printf("sim MIPS, %.1f s of virtual time per run (1 instruction = 1 cycle)\n", vsec);
    printf("%-14s %-34s %10s %14s\n", "chip", "mode", "MIPS", "x real time");
    int rc = 0;
    for (unsigned c = 0; c < 2; c++) {
        char elf[1024];
        snprintf(elf, sizeof elf, "%s/%s", dir, chips[c].file);
        for (int d = 0; d < 2; d++) {
            double mips = 0, ratio = 0;
            if (bench(chips[c].chip, elf, vsec, d, &mips, &ratio) != 0) {
                rc = 1;
                continue;
            }
            printf("%-14s %-34s %10.1f %14.2f\n", chips[c].chip,
                   d ? "(b) debugger, 4 bp + 2 wp armed" : "(a) free run", mips, ratio);
        }
    }
    return rc;
}
