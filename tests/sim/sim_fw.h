/* SPDX-License-Identifier: MIT */
/* Helpers shared by the simulated-board tests that run firmware images (test_firmware.c,
 * test_exceptions.c, test_debug.c): create a sim for a chip, load <LODE_FW_DIR>/<elf>, and run
 * it to its semihosting exit with the console and the UARTs captured into buffers. */
#ifndef LODE_TESTS_SIM_FW_H
#define LODE_TESTS_SIM_FW_H

#include "lode/semihost.h"
#include "lode/sim.h"
#include "test.h"

#define FW_PS_PER_US 1000000ull
#define FW_PS_PER_MS 1000000000ull
#define FW_PS_PER_S 1000000000000ull

typedef struct fw_buf_s {
    char buf[8192];
    size_t n;
} fw_buf_s;

static inline void fw_buf_add(fw_buf_s *b, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len && b->n < sizeof b->buf - 1; i++)
        b->buf[b->n++] = (char)data[i];
    b->buf[b->n] = '\0';
}

typedef struct fw_run_s {
    lode_sim_s *sim;
    lode_semihost_s *sh;
    fw_buf_s console; /* semihosting stdout + stderr */
    fw_buf_s uart;    /* every UART byte */
    char uart_port[16];
    int rc;           /* lode_sim_run_program's result */
    lode_sim_program_result_s res;
} fw_run_s;

static inline int fw_mem_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    return lode_sim_mem_read(((fw_run_s *)ctx)->sim, addr, buf, len);
}

static inline int fw_mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return lode_sim_mem_write(((fw_run_s *)ctx)->sim, addr, buf, len);
}

static inline uint64_t fw_time_us(void *ctx) { return lode_sim_now(((fw_run_s *)ctx)->sim) / FW_PS_PER_US; }

static inline void fw_console_write(void *ctx, int fd, const uint8_t *data, size_t len)
{
    (void)fd;
    fw_buf_add(&((fw_run_s *)ctx)->console, data, len);
}

static inline long fw_console_read(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

static inline void fw_uart(void *user, const char *port, const uint8_t *data, size_t len)
{
    fw_run_s *r = user;
    snprintf(r->uart_port, sizeof r->uart_port, "%s", port);
    fw_buf_add(&r->uart, data, len);
}

static inline void fw_path(char *out, size_t n, const char *elf)
{
    snprintf(out, n, "%s/%s", LODE_FW_DIR, elf);
}

/* Create the sim and load the image (r is heap-allocated by the caller or static). */
static inline bool fw_open(fw_run_s *r, const char *chip, const char *elf)
{
    memset(r, 0, sizeof *r);
    r->rc = -1;
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip;
    cfg.output = fw_uart;
    cfg.output_user = r;
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK) {
        fprintf(stderr, "cannot create a sim for %s\n", chip);
        return false;
    }
    char path[512];
    fw_path(path, sizeof path, elf);
    if (lode_sim_load_elf(r->sim, path) != LODE_OK) {
        fprintf(stderr, "cannot load %s\n", path);
        return false;
    }
    lode_semihost_config_s shc = {
        .io = {.mem_read = fw_mem_read, .mem_write = fw_mem_write,
               .console_write = fw_console_write, .console_read = fw_console_read,
               .time_us = fw_time_us, .ctx = r}};
    return lode_semihost_new(&shc, &r->sh) == LODE_OK;
}

static inline void fw_close(fw_run_s *r)
{
    lode_semihost_free(r->sh);
    lode_sim_free(r->sim);
    r->sh = NULL;
    r->sim = NULL;
}

/* Open, run to the semihosting exit (at most limit_ps of virtual time). Leaves the sim open. */
static inline bool fw_run(fw_run_s *r, const char *chip, const char *elf, uint64_t limit_ps)
{
    if (!fw_open(r, chip, elf))
        return false;
    r->rc = lode_sim_run_program(r->sim, r->sh, limit_ps, &r->res);
    return true;
}

/* Compare two texts; on a mismatch print both. */
#define CHECK_TEXT(got, want)                                                                \
    do {                                                                                     \
        const char *g_ = (got), *w_ = (want);                                                \
        test_checks_++;                                                                      \
        if (strcmp(g_, w_) != 0) {                                                           \
            fprintf(stderr, "%s:%d: text differs\n--- got:\n%s--- want:\n%s---\n", __FILE__, \
                    __LINE__, g_, w_);                                                       \
            test_failures_++;                                                                \
        }                                                                                    \
    } while (0)

#endif
