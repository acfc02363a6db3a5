/* SPDX-License-Identifier: MIT */
/* The same Cortex-M3 ELF (firmware/apps/mips.c, linked for QEMU's stm32vldiscovery as well)
 * on lode's simulator and on qemu-system-arm: an ALU kernel, a store kernel and a mixed one
 * (CRC-32 with a table + buffer rewrite). Host figures are CPU time: lode's is the process CPU
 * time of lode_sim_run_program in this process, QEMU's the child's user+system time. The
 * kernel's share is the run with N rounds minus the run with 0 rounds; its instructions are
 * lode's own count (the same code runs on both). QEMU runs `scale` times as many rounds, since
 * it is much faster than lode on some kernels. Both print the same checksum (checked). Each
 * figure is the best of 3 runs. Prints MIPS for both and lode/QEMU.
 * Usage: bench_sim_vs_qemu [firmware-dir]   (needs qemu-system-arm: scripts/deps.sh test) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lode/error.h"
#include "lode/semihost.h"
#include "lode/sim.h"

typedef struct out_s {
    char text[256];
    size_t len;
} out_s;

static void capture(void *ctx, int fd, const uint8_t *data, size_t len)
{
    (void)fd;
    out_s *o = *(out_s **)ctx;
    size_t room = sizeof o->text - 1 - o->len;
    if (len > room)
        len = room;
    memcpy(o->text + o->len, data, len);
    o->len += len;
    o->text[o->len] = 0;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct sim_ctx_s {
    out_s *out; /* first: capture() reads it through ctx */
    lode_sim_s *sim;
} sim_ctx_s;

static int sh_rd(void *ctx, uint32_t a, void *b, size_t n) { return lode_sim_sh_mem_read(((sim_ctx_s *)ctx)->sim, a, b, n); }
static int sh_wr(void *ctx, uint32_t a, const void *b, size_t n) { return lode_sim_sh_mem_write(((sim_ctx_s *)ctx)->sim, a, b, n); }
static uint64_t sh_us(void *ctx) { return lode_sim_sh_time_us(((sim_ctx_s *)ctx)->sim); }

/* lode: CPU seconds and instructions of one run; out gets the firmware's output */
static int run_lode(const char *elf, const char *kernel, unsigned rounds, double *cpu, uint64_t *insns, out_s *out)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%s %u", kernel, rounds);
    lode_sim_config_s cfg = {.chip = "STM32F103C8"};
    lode_sim_s *sim = NULL;
    lode_semihost_s *sh = NULL;
    int rc = lode_sim_new(&cfg, &sim);
    if (rc == LODE_OK)
        rc = lode_sim_load_elf(sim, elf);
    sim_ctx_s sc = {.out = out, .sim = sim};
    out->len = 0;
    out->text[0] = 0;
    lode_semihost_config_s shc = {
        .io = {.mem_read = sh_rd, .mem_write = sh_wr, .console_write = capture, .time_us = sh_us, .ctx = &sc},
        .cmdline = cmd};
    if (rc == LODE_OK)
        rc = lode_semihost_new(&shc, &sh);
    if (rc == LODE_OK) {
        lode_sim_program_result_s res;
        uint64_t i0 = lode_sim_instructions(sim);
        double t0 = cpu_now();
        rc = lode_sim_run_program(sim, sh, 1000ull * 1000000000000ull, &res);
        *cpu = cpu_now() - t0;
        *insns = lode_sim_instructions(sim) - i0;
    }
    lode_semihost_free(sh);
    lode_sim_free(sim);
    return rc;
}

/* QEMU: the child's CPU seconds; out gets its semihosting console */
static int run_qemu(const char *elf, const char *kernel, unsigned rounds, double *cpu, out_s *out)
{
    char shcfg[160], kern[300];
    snprintf(shcfg, sizeof shcfg, "enable=on,target=native,chardev=sh0,arg=%s,arg=%u", kernel, rounds);
    snprintf(kern, sizeof kern, "%s", elf);
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execlp("qemu-system-arm", "qemu-system-arm", "-M", "stm32vldiscovery", "-nographic", "-monitor", "none",
               "-serial", "null", "-chardev", "stdio,id=sh0", "-semihosting-config", shcfg, "-kernel", kern,
               (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    out->len = 0;
    out->text[0] = 0;
    char tmp[256];
    ssize_t n;
    while ((n = read(pfd[0], tmp, sizeof tmp)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            capture(&out, 1, (const uint8_t *)tmp, (size_t)n);
    close(pfd[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : LODE_FW_DIR;
    char elf[1024];
    snprintf(elf, sizeof elf, "%s/mips-stm32f103.elf", dir);
    static const struct {
        const char *name;
        unsigned rounds, scale; /* lode runs `rounds`, QEMU rounds x scale */
    } k[] = {{"alu", 400000, 10}, {"store", 50000, 40}, {"mixed", 16000, 10}};
    printf("same Cortex-M3 ELF (%s), host CPU time, best of 3; lode = liblode-sim (Unicorn), QEMU = qemu-system-arm -M stm32vldiscovery\n", "mips-stm32f103.elf");
    printf("%-8s %14s %12s %12s %12s\n", "kernel", "instructions", "lode MIPS", "QEMU MIPS", "lode/QEMU");
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double lbest = 1e9, l0 = 1e9, qbest = 1e9, q0 = 1e9;
        uint64_t insns = 0, insns0 = 0;
        out_s lo, qo;
        for (int rep = 0; rep < 3; rep++) {
            double c;
            uint64_t n;
            if (run_lode(elf, k[i].name, k[i].rounds, &c, &n, &lo) != LODE_OK) {
                fprintf(stderr, "bench: lode could not run %s %s\n", elf, k[i].name);
                return 1;
            }
            insns = n;
            lbest = c < lbest ? c : lbest;
            if (run_lode(elf, k[i].name, 0, &c, &n, &qo) != LODE_OK)
                return 1;
            insns0 = n;
            l0 = c < l0 ? c : l0;
            if (run_qemu(elf, k[i].name, k[i].rounds * k[i].scale, &c, &qo) != 0) {
                fprintf(stderr, "bench: qemu-system-arm failed (installed? scripts/deps.sh test)\n");
                return 1;
            }
            qbest = c < qbest ? c : qbest;
            if (run_qemu(elf, k[i].name, 0, &c, &qo) != 0)
                return 1;
            q0 = c < q0 ? c : q0;
        }
        /* the checksum after `rounds` must be the same on both */
        double c;
        if (run_qemu(elf, k[i].name, k[i].rounds, &c, &qo) != 0)
            return 1;
        if (strcmp(lo.text, qo.text) != 0) {
            fprintf(stderr, "bench: %s: lode printed \"%s\", QEMU \"%s\"\n", k[i].name, lo.text, qo.text);
            return 1;
        }
        double kin = (double)(insns - insns0);
        double lm = kin / (lbest - l0) / 1e6;
        double qm = kin * k[i].scale / (qbest - q0) / 1e6;
        printf("%-8s %14.0f %12.1f %12.1f %12.3f\n", k[i].name, kin, lm, qm, lm / qm);
    }
    return 0;
}
