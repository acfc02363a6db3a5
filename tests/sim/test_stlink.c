/* SPDX-License-Identifier: MIT */
/* The ST-Link driver (src/probe/stlink) against the simulated ST-Link/V2 (sim/src/sim_stlink.c)
 * in process, a whole session over it (chip detection, flashing), the regression for code
 * overwritten after the core ran it, the stlink-server protocol without sockets
 * (sim/src/stlink_server.c), and the TCP client (src/probe/stlink/stlink_tcp.c) end to end. */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lode/adi.h"
#include "lode/core.h"
#include "lode/error.h"
#include "lode/flash.h"
#include "lode/cmsis_dap.h"
#include "lode/session.h"
#include "lode/sim.h"
#include "lode/stlink.h"
#include "test.h"

#define RAM 0x20000000u
#define DHCSR_ADDR 0xE000EDF0u
#define BAD_ADDR 0x40030000u /* a reserved gap of the STM32F1 memory map: bus fault */

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    if (level <= LODE_LOG_WARN)
        fprintf(stderr, "  [%s] %s\n", lode_log_cat_name(cat), msg);
}
static const lode_log_s logger = {log_fn, NULL, LODE_LOG_WARN};

static uint64_t v_now(void *u) { return lode_sim_now(u) / 1000000u; }
static void v_delay(void *u, uint32_t us) { lode_sim_advance(u, (uint64_t)us * 1000000u); }

/* a deterministic byte pattern */
static void pattern(uint8_t *b, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
}

/* ---- a: driver <-> simulated ST-Link in process ------------------------------------------------ */
typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_stlink_s *probe;
    lode_stlink_s *st;
    lode_dap_ops_s ops;
    lode_adi_s *adi;
} rig_s;

static bool rig_open(rig_s *r, const char *chip)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s sc = {.chip = chip, .log = logger};
    if (lode_sim_new(&sc, &r->sim) != LODE_OK)
        return false;
    lode_sim_stlink_config_s pc = {.log = logger};
    if (lode_sim_stlink_new(r->sim, &pc, &r->probe) != LODE_OK)
        return false;
    lode_stlink_io_s io;
    lode_sim_stlink_io(r->probe, &io);
    return lode_stlink_open(&io, &logger, &r->st) == LODE_OK;
}

static void rig_close(rig_s *r)
{
    lode_adi_free(r->adi);
    lode_stlink_close(r->st);
    lode_sim_stlink_free(r->probe);
    lode_sim_free(r->sim);
}

static bool mem_equals(lode_sim_s *sim, uint32_t addr, const uint8_t *want, size_t n)
{
    uint8_t *b = malloc(n);
    bool ok = b && lode_sim_mem_read(sim, addr, b, n) == LODE_OK && !memcmp(b, want, n);
    free(b);
    return ok;
}

static void test_driver_in_process(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8"));

    lode_stlink_version_s v;
    lode_stlink_get_version(r.st, &v);
    char vs[32];
    lode_stlink_version_string(&v, vs, sizeof vs);
    CHECK(!strcmp(vs, "V2J37S7"));
    CHECK_EQ(v.hw, 2);
    CHECK_EQ(v.jtag, 37);
    CHECK_EQ(v.vid, LODE_STLINK_VID);
    CHECK_EQ(v.pid, LODE_STLINK_V2_PID);
    CHECK(v.flags & LODE_STLINK_F_DAP_REG);
    CHECK(v.flags & LODE_STLINK_F_CSW);
    CHECK(v.flags & LODE_STLINK_F_RWSTATUS2);
    double volts = 0;
    CHECK_EQ(lode_stlink_target_voltage(r.st, &volts), LODE_OK);
    CHECK(volts > 3.2 && volts < 3.4);

    /* the V2 divisor table: the nearest frequency not above the request */
    uint32_t hz = 0;
    CHECK_EQ(lode_stlink_connect_swd(r.st, 1000000u, &hz), LODE_OK);
    CHECK_EQ(hz, 950000u);
    CHECK_EQ(lode_stlink_connect_swd(r.st, 4000000u, &hz), LODE_OK);
    CHECK_EQ(hz, 4000000u);

    REQUIRE(lode_stlink_dap_ops(r.st, &r.ops) == LODE_OK);
    REQUIRE(lode_adi_new(&r.ops, &logger, &r.adi) == LODE_OK);
    REQUIRE(lode_adi_connect(r.adi) == LODE_OK);
    CHECK_EQ(lode_adi_dpidr(r.adi), 0x1BA01477u);
    uint32_t cpuid = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, 0xE000ED00u, &cpuid), LODE_OK);
    CHECK_EQ(cpuid, 0x411FC231u);

    /* every alignment and small length, both directions, against the back door */
    uint8_t buf[16], back[16];
    for (uint32_t off = 0; off < 4; off++)
        for (size_t len = 1; len <= 9; len++) {
            uint32_t a = RAM + 0x100u + off;
            memset(back, 0xEE, sizeof back);
            CHECK_EQ(lode_sim_mem_write(r.sim, RAM + 0x100u, back, sizeof back), LODE_OK);
            pattern(buf, len, off * 16u + (uint32_t)len);
            CHECK_EQ(lode_adi_mem_write(r.adi, 0, a, buf, len), LODE_OK);
            CHECK_EQ(lode_sim_mem_read(r.sim, RAM + 0x100u, back, sizeof back), LODE_OK);
            bool ok = !memcmp(back + off, buf, len);
            for (size_t i = 0; i < sizeof back; i++) /* neighbours untouched */
                if ((i < off || i >= off + len) && back[i] != 0xEE)
                    ok = false;
            CHECK(ok);
            if (!ok)
                fprintf(stderr, "  write off %u len %zu differs\n", (unsigned)off, len);
            pattern(buf, len, 1000u + off * 16u + (uint32_t)len);
            CHECK_EQ(lode_sim_mem_write(r.sim, a, buf, len), LODE_OK);
            memset(back, 0, sizeof back);
            CHECK_EQ(lode_adi_mem_read(r.adi, 0, a, back, len), LODE_OK);
            ok = !memcmp(back, buf, len);
            CHECK(ok);
            if (!ok)
                fprintf(stderr, "  read off %u len %zu differs\n", (unsigned)off, len);
        }

    /* a block crossing 1 KiB boundaries (the TAR auto-increment limit) */
    enum { BLK = 3000 };
    static uint8_t blk[BLK], rd[BLK];
    pattern(blk, BLK, 77);
    uint32_t ba = RAM + 0x3FDu; /* crosses 0x20000400, 0x20000800, 0x20000C00 */
    CHECK_EQ(lode_adi_mem_write(r.adi, 0, ba, blk, BLK), LODE_OK);
    CHECK(mem_equals(r.sim, ba, blk, BLK));
    pattern(blk, BLK, 78);
    CHECK_EQ(lode_sim_mem_write(r.sim, ba, blk, BLK), LODE_OK);
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, ba, rd, BLK), LODE_OK);
    CHECK(!memcmp(rd, blk, BLK));
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, RAM + 0x400u, rd, 2048), LODE_OK); /* aligned */
    CHECK(!memcmp(rd, blk + (RAM + 0x400u - ba), 2048));

    /* single 8/16/32-bit accesses */
    CHECK_EQ(lode_adi_mem_write32(r.adi, 0, RAM + 0x40u, 0xCAFEF00Du), LODE_OK);
    CHECK_EQ(lode_adi_mem_write16(r.adi, 0, RAM + 0x46u, 0xBEEFu), LODE_OK);
    CHECK_EQ(lode_adi_mem_write8(r.adi, 0, RAM + 0x45u, 0x5Au), LODE_OK);
    uint32_t w = 0;
    CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x40u, &w), LODE_OK);
    CHECK_EQ(w, 0xCAFEF00Du);
    CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x44u, &w), LODE_OK);
    CHECK_EQ(w & 0xFFFFFF00u, 0xBEEF5A00u);
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    uint8_t v8 = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x40u, &v32), LODE_OK);
    CHECK_EQ(v32, 0xCAFEF00Du);
    CHECK_EQ(lode_adi_mem_read16(r.adi, 0, RAM + 0x42u, &v16), LODE_OK);
    CHECK_EQ(v16, 0xCAFEu);
    CHECK_EQ(lode_adi_mem_read8(r.adi, 0, RAM + 0x41u, &v8), LODE_OK);
    CHECK_EQ(v8, 0xF0u);
    CHECK_EQ(lode_adi_mem_read16(r.adi, 0, RAM + 0x46u, &v16), LODE_OK);
    CHECK_EQ(v16, 0xBEEFu);

    /* a bus fault, then the next accesses work */
    uint32_t junk;
    CHECK(lode_sim_mem_read(r.sim, BAD_ADDR, &junk, 4) != LODE_OK); /* the sim agrees it is reserved */
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, BAD_ADDR, &junk), LODE_E_FAULT);
    v32 = 0;
    CHECK_EQ(lode_adi_mem_read32(r.adi, 0, RAM + 0x40u, &v32), LODE_OK);
    CHECK_EQ(v32, 0xCAFEF00Du);
    uint8_t eight[8];
    CHECK_EQ(lode_adi_mem_read(r.adi, 0, BAD_ADDR + 1u, eight, sizeof eight), LODE_E_FAULT);
    CHECK_EQ(lode_adi_mem_write32(r.adi, 0, RAM + 0x48u, 0x01020304u), LODE_OK);
    CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x48u, &w), LODE_OK);
    CHECK_EQ(w, 0x01020304u);

    /* scattered single words in one run: one RW_MISC batch (OUT, then IN for the values and
     * statuses) instead of a command each; in order, so a read sees the write before it */
    REQUIRE(r.ops.batches);
    lode_sim_stlink_stats_s s0, s1;
    uint32_t b1 = 0, b2 = 0, b3 = 0;
    CHECK_EQ(lode_sim_write32(r.sim, RAM + 0x200u, 0x11111111u), LODE_OK);
    CHECK_EQ(lode_sim_write32(r.sim, RAM + 0x280u, 0x22222222u), LODE_OK);
    lode_sim_stlink_stats(r.probe, &s0);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x200u, &b1);
    lode_adi_queue_write32(r.adi, 0, RAM + 0x300u, 0x33333333u);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x280u, &b2);
    lode_adi_queue_write32(r.adi, 0, RAM + 0x204u, 0x44444444u);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x300u, &b3);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    lode_sim_stlink_stats(r.probe, &s1);
    CHECK_EQ(s1.commands - s0.commands, 2u);
    CHECK_EQ(b1, 0x11111111u);
    CHECK_EQ(b2, 0x22222222u);
    CHECK_EQ(b3, 0x33333333u);
    CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x204u, &w), LODE_OK);
    CHECK_EQ(w, 0x44444444u);
    /* a fault inside a batch: that access's error, the ones before it done, the next run fine */
    b1 = 0;
    lode_adi_queue_write32(r.adi, 0, RAM + 0x208u, 0x55555555u);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x200u, &b1);
    lode_adi_queue_read32(r.adi, 0, BAD_ADDR, &junk);
    lode_adi_queue_write32(r.adi, 0, RAM + 0x20Cu, 0x66666666u);
    CHECK_EQ(lode_adi_run(r.adi), LODE_E_FAULT);
    CHECK_EQ(lode_sim_read32(r.sim, RAM + 0x208u, &w), LODE_OK);
    CHECK_EQ(w, 0x55555555u);
    CHECK_EQ(b1, 0x11111111u);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x200u, &b1);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x204u, &b2);
    lode_adi_queue_read32(r.adi, 0, RAM + 0x208u, &b3);
    CHECK_EQ(lode_adi_run(r.adi), LODE_OK);
    CHECK_EQ(b1, 0x11111111u);
    CHECK_EQ(b2, 0x44444444u);
    CHECK_EQ(b3, 0x55555555u);

    /* core registers with the probe's helpers, core halted */
    CHECK_EQ(lode_adi_mem_write32(r.adi, 0, DHCSR_ADDR, 0xA05F0003u), LODE_OK);
    CHECK(lode_sim_halted(r.sim));
    CHECK_EQ(lode_stlink_write_reg(r.st, 3, 0x12345678u), LODE_OK);
    CHECK_EQ(lode_stlink_write_reg(r.st, 12, 0x0BADCAFEu), LODE_OK);
    uint32_t sv = 0;
    CHECK_EQ(lode_sim_reg_read(r.sim, 3, &sv), LODE_OK);
    CHECK_EQ(sv, 0x12345678u);
    CHECK_EQ(lode_sim_reg_write(r.sim, 5, 0x55AA55AAu), LODE_OK);
    uint32_t pv = 0;
    CHECK_EQ(lode_stlink_read_reg(r.st, 5, &pv), LODE_OK);
    CHECK_EQ(pv, 0x55AA55AAu);
    for (unsigned i = 13; i <= 18; i++) {
        pv = 0xDEAD0000u;
        sv = 0xBEEF0000u;
        CHECK_EQ(lode_stlink_read_reg(r.st, i, &pv), LODE_OK);
        CHECK_EQ(lode_sim_reg_read(r.sim, i, &sv), LODE_OK);
        CHECK_EQ(pv, sv);
    }
    uint32_t regs[21];
    memset(regs, 0xA5, sizeof regs);
    CHECK_EQ(lode_stlink_read_all_regs(r.st, regs), LODE_OK);
    bool all_ok = true;
    for (unsigned i = 0; i < 21; i++) {
        if (i == 19)
            continue;
        sv = 0;
        CHECK_EQ(lode_sim_reg_read(r.sim, i, &sv), LODE_OK);
        if (regs[i] != sv) {
            fprintf(stderr, "  read_all_regs[%u] = 0x%08x, sim 0x%08x\n", i, regs[i], sv);
            all_ok = false;
        }
    }
    CHECK(all_ok);
    CHECK_EQ(regs[3], 0x12345678u);
    CHECK_EQ(regs[12], 0x0BADCAFEu);

    /* counters */
    lode_stlink_stats_s st;
    lode_stlink_stats(r.st, &st);
    CHECK(st.commands > 50);
    CHECK(st.mem_commands > 20);
    CHECK(st.bytes_out > 3000);
    CHECK(st.bytes_in > 3000);
    lode_sim_stlink_stats_s ps;
    lode_sim_stlink_stats(r.probe, &ps);
    CHECK(ps.commands >= st.commands);
    CHECK(ps.mem_commands > 0);
    fprintf(stderr, "  driver: %llu commands, %llu memory commands, %llu status checks\n",
            (unsigned long long)st.commands, (unsigned long long)st.mem_commands,
            (unsigned long long)st.status_checks);
    rig_close(&r);
}

/* ---- b: a session over the simulated ST-Link ------------------------------------------------- */
typedef struct srig_s {
    lode_sim_s *sim;
    lode_sim_stlink_s *probe;
    lode_session_s *s;
    lode_core_ops_s core;
    const lode_target_chip_s *chip;
} srig_s;

static bool srig_open(srig_s *r, const char *simchip)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s sc = {.chip = simchip, .log = logger};
    if (lode_sim_new(&sc, &r->sim) != LODE_OK)
        return false;
    lode_sim_stlink_config_s pc = {.log = logger};
    if (lode_sim_stlink_new(r->sim, &pc, &r->probe) != LODE_OK)
        return false;
    lode_stlink_io_s io;
    lode_sim_stlink_io(r->probe, &io);
    lode_probe_s *cfg_probe = NULL;
    lode_probe_stlink_new(&io, false, NULL, NULL, &cfg_probe);
    lode_session_config_s cfg = {.probe = cfg_probe, .close_probe = true, .log = logger, .now_us = v_now,
                                 .delay_us = v_delay, .time_user = r->sim};
    if (lode_session_open(&cfg, &r->s) != LODE_OK)
        return false;
    lode_session_core_ops(r->s, &r->core);
    r->chip = lode_session_chip(r->s, NULL);
    return true;
}

static void srig_close(srig_s *r)
{
    lode_session_close(r->s);
    lode_sim_stlink_free(r->probe);
    lode_sim_free(r->sim);
}

static void test_session_flash(void)
{
    srig_s r;
    REQUIRE(srig_open(&r, "STM32F103C8"));
    REQUIRE(r.chip);
    CHECK(!strcmp(r.chip->name, "STM32F103C8"));
    CHECK(lode_probe_stlink_handle(lode_session_probe(r.s)) != NULL);
    CHECK(lode_probe_cmsis_dap_handle(lode_session_probe(r.s)) == NULL);
    CHECK_EQ(lode_adi_dpidr(lode_session_adi(r.s)), 0x1BA01477u);

    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LODE_FW_DIR, "hello-stm32f103.elf");
    lode_image_s *img = NULL;
    int rc = lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img);
    if (rc != LODE_OK) {
        fprintf(stderr, "  %s not available (%s): flashing a generated image\n", path, lode_strerror(rc));
        static uint8_t raw[5000];
        pattern(raw, sizeof raw, 5);
        char tmp[] = "/tmp/lode_stlink_img_XXXXXX";
        int fd = mkstemp(tmp);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, raw, sizeof raw) == (ssize_t)sizeof raw);
        close(fd);
        rc = lode_image_load_file(tmp, LODE_IMAGE_BIN, 0x08000000u, true, NULL, &img);
        unlink(tmp);
    }
    REQUIRE(rc == LODE_OK && img);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
    bool same = img->nsegs > 0;
    for (size_t i = 0; i < img->nsegs; i++)
        if (!mem_equals(r.sim, img->segs[i].addr, img->segs[i].data,
                        img->segs[i].len))
            same = false;
    CHECK(same);
    /* read through the probe equals the back door */
    uint8_t a[600], b[600];
    CHECK_EQ(r.core.mem_read(r.core.ctx, 0x08000003u, a, sizeof a), LODE_OK);
    CHECK_EQ(lode_sim_mem_read(r.sim, 0x08000003u, b, sizeof b), LODE_OK);
    CHECK(!memcmp(a, b, sizeof a));
    lode_image_free(img);
    srig_close(&r);
}

/* A 16-byte image into a page that held other data, through the simulated ST-Link (virtual
 * time, deterministic): the page erase starts in the reset-halt's last batch (the algorithm's
 * LodeEraseStart writes) and runs while the algorithm loads, so the whole flash operation
 * takes at most 25.5 ms, 80 % of its bound (one 20 ms page erase and 8 half-words of 52.5
 * us); the page holds the image and reads erased after it. */
static void test_small_image_time(void)
{
    srig_s r;
    REQUIRE(srig_open(&r, "STM32F103C8"));
    REQUIRE(r.chip);
    static uint8_t old[2048];
    pattern(old, sizeof old, 9);
    REQUIRE(lode_sim_load(r.sim, 0x08000000u, old, sizeof old) == LODE_OK);
    static const uint8_t small[16] = {0x00, 0x50, 0x00, 0x20, 0x09, 0x00, 0x00, 0x08,
                                      0xFE, 0xE7, 0xFE, 0xE7, 0x78, 0x56, 0x34, 0x12};
    lode_image_s *img = NULL;
    REQUIRE(lode_image_from_bin(small, sizeof small, 0x08000000u, &img) == LODE_OK);
    lode_flash_opts_s o = {.verify = true};
    lode_flash_result_s res;
    uint64_t t0 = lode_sim_now(r.sim);
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
    double ms = (double)(lode_sim_now(r.sim) - t0) / 1e9;
    fprintf(stderr, "  16 bytes through the ST-Link: %.3f ms of virtual time\n", ms);
    CHECK(ms <= 25.5);
    CHECK(mem_equals(r.sim, 0x08000000u, small, sizeof small));
    static uint8_t ff[1024 - 16];
    memset(ff, 0xFF, sizeof ff);
    CHECK(mem_equals(r.sim, 0x08000010u, ff, sizeof ff));
    CHECK(mem_equals(r.sim, 0x08000400u, old + 1024, 1024)); /* the next page untouched */
    /* the erase-start writes fail (FLASH_AR faults): an error, the page named as maybe erased */
    lode_sim_inject_fault_range(r.sim, 0x40022014u, 0x40022017u);
    CHECK(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res) != LODE_OK);
    CHECK(strstr(res.unfinished, "0x08000000-0x080003ff") != NULL);
    lode_sim_inject_fault_range(r.sim, 1, 0);
    CHECK_EQ(lode_flash_image(&r.core, r.chip, img, &o, NULL, &res), LODE_OK);
    CHECK(mem_equals(r.sim, 0x08000000u, small, sizeof small));
    lode_image_free(img);
    srig_close(&r);
}

/* ---- c: code overwritten after the core ran it ------------------------------------------------ */
static bool run_to_halt(srig_s *r)
{
    if (r->core.resume(r->core.ctx) != LODE_OK)
        return false;
    for (int i = 0; i < 2000; i++) {
        lode_core_state_s st;
        if (r->core.state(r->core.ctx, &st) != LODE_OK)
            return false;
        if (st.halted)
            return true;
        r->core.delay_us(r->core.ctx, 100);
    }
    r->core.halt(r->core.ctx);
    return false;
}

static bool start_at(srig_s *r, uint32_t pc, uint32_t r0)
{
    return r->core.reg_write(r->core.ctx, 0, r0) == LODE_OK &&
           r->core.reg_write(r->core.ctx, 15, pc) == LODE_OK &&
           r->core.reg_write(r->core.ctx, 16, 0x01000000u) == LODE_OK;
}

static bool put_code(srig_s *r, uint32_t addr, const uint16_t *hw, size_t n)
{
    uint8_t b[64];
    for (size_t i = 0; i < n; i++) {
        b[2 * i] = (uint8_t)hw[i];
        b[2 * i + 1] = (uint8_t)(hw[i] >> 8);
    }
    return r->core.mem_write(r->core.ctx, addr, b, 2 * n) == LODE_OK;
}

static uint32_t r0_of(srig_s *r)
{
    uint32_t v = 0xFFFFFFFFu;
    r->core.reg_read(r->core.ctx, 0, &v);
    return v;
}

static void test_overwrite_code(void)
{
    srig_s r;
    REQUIRE(srig_open(&r, "STM32F103C8"));
    REQUIRE(r.core.halt(r.core.ctx) == LODE_OK);

    /* A: adds r0,#1 x3; bkpt 0 */
    static const uint16_t code_a[] = {0x3001, 0x3001, 0x3001, 0xBE00};
    REQUIRE(put_code(&r, RAM, code_a, 4));
    REQUIRE(start_at(&r, RAM, 5));
    CHECK(run_to_halt(&r));
    CHECK_EQ(r0_of(&r), 8);

    /* B at the same address, first word unchanged: adds r0,#1 x2; movs r0,#99; bkpt 0 */
    static const uint16_t code_b[] = {0x3001, 0x3001, 0x2063, 0xBE00};
    REQUIRE(put_code(&r, RAM, code_b, 4));
    REQUIRE(start_at(&r, RAM, 5));
    CHECK(run_to_halt(&r));
    CHECK_EQ(r0_of(&r), 99);

    /* only the second word rewritten, at an offset inside the same 1 KiB page: movs r0,#66 */
    static const uint16_t code_c[] = {0x2042, 0xBE00};
    REQUIRE(put_code(&r, RAM + 4u, code_c, 2));
    REQUIRE(start_at(&r, RAM, 5));
    CHECK(run_to_halt(&r));
    CHECK_EQ(r0_of(&r), 66);

    /* a loop at RAM+0x10 runs, is halted and overwritten by code spanning RAM..RAM+0x1F */
    static const uint16_t loop[] = {0xE7FE}; /* b . */
    REQUIRE(put_code(&r, RAM + 0x10u, loop, 1));
    REQUIRE(start_at(&r, RAM + 0x10u, 0));
    REQUIRE(r.core.resume(r.core.ctx) == LODE_OK);
    r.core.delay_us(r.core.ctx, 2000);
    lode_core_state_s cs;
    CHECK_EQ(r.core.state(r.core.ctx, &cs), LODE_OK);
    CHECK(!cs.halted); /* still looping */
    CHECK_EQ(r.core.halt(r.core.ctx), LODE_OK);
    uint32_t pc = 0;
    CHECK_EQ(r.core.reg_read(r.core.ctx, 15, &pc), LODE_OK);
    CHECK_EQ(pc, RAM + 0x10u);
    uint16_t code_d[16];
    for (int i = 0; i < 8; i++)
        code_d[i] = 0x3001;  /* adds r0,#1 */
    code_d[8] = 0x3002;      /* adds r0,#2 (where the loop was) */
    code_d[9] = 0xBE00;      /* bkpt 0 */
    for (int i = 10; i < 16; i++)
        code_d[i] = 0xBF00;  /* nop */
    REQUIRE(put_code(&r, RAM, code_d, 16));
    REQUIRE(start_at(&r, RAM, 0));
    CHECK(run_to_halt(&r));
    CHECK_EQ(r0_of(&r), 10);
    /* and from the old loop address directly */
    REQUIRE(start_at(&r, RAM + 0x10u, 1));
    CHECK(run_to_halt(&r));
    CHECK_EQ(r0_of(&r), 3);
    srig_close(&r);
}

/* ---- d: the stlink-server protocol without sockets ------------------------------------------- */
static const uint8_t q_version[4] = {0x06, 2, 0, 0};
static const uint8_t q_refresh[2] = {0x00, 0};
static const uint8_t q_count[1] = {0x01};
static const uint8_t q_info[8] = {0x02, 0, 0, 0, 41, 0, 0, 0};
static const uint8_t q_open[8] = {0x03, 0, 0, 0, 1, 0, 0, 0};

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)(v >> 16), b[3] = (uint8_t)(v >> 24);
}

#define XFER_MAX 10240u /* the largest data phase the simulated stlink-server takes */
#define OUTCAP (8u + XFER_MAX)
static uint8_t outbuf[OUTCAP];

/* feed a whole request; returns the reply length (SIZE_MAX on error or partial consumption) */
static size_t feed(lode_sim_stlink_conn_s *c, const uint8_t *q, size_t n)
{
    size_t used = 0, olen = 0;
    int rc = lode_sim_stlink_conn_feed(c, q, n, &used, outbuf, OUTCAP, &olen);
    if (rc != LODE_OK || used != n)
        return SIZE_MAX;
    return olen;
}

static size_t usb_cmd(uint8_t *q, uint32_t cid, const uint8_t cmd[16], uint8_t dir, uint32_t size)
{
    memset(q, 0, 32);
    q[0] = 0x05;
    put32(q + 4, cid);
    memcpy(q + 8, cmd, 16);
    q[24] = dir;
    put32(q + 28, size);
    return 32;
}

static void test_server_protocol(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_stlink_s *p = NULL;
    lode_sim_stlink_server_s *srv = NULL;
    lode_sim_config_s sc = {.chip = "STM32F103C8", .log = logger};
    REQUIRE(lode_sim_new(&sc, &sim) == LODE_OK);
    lode_sim_stlink_config_s pc = {.log = logger};
    REQUIRE(lode_sim_stlink_new(sim, &pc, &p) == LODE_OK);
    REQUIRE(lode_sim_stlink_server_new(p, "", 0, NULL, &srv) == LODE_OK);
    CHECK_EQ(lode_sim_stlink_server_port(srv), 0);
    lode_sim_stlink_conn_s *c1 = lode_sim_stlink_conn_new(srv), *c2 = lode_sim_stlink_conn_new(srv);
    REQUIRE(c1 && c2);

    CHECK_EQ(feed(c1, q_version, sizeof q_version), 16);
    CHECK_EQ(le32(outbuf), 2); /* API v2 */
    CHECK_EQ(feed(c1, q_refresh, sizeof q_refresh), 4);
    CHECK_EQ(le32(outbuf), 1);
    CHECK_EQ(feed(c1, q_count, sizeof q_count), 4);
    CHECK_EQ(le32(outbuf), 1);
    CHECK_EQ(feed(c1, q_info, sizeof q_info), 45);
    CHECK_EQ(le32(outbuf), 1);
    uint32_t dev_id = le32(outbuf + 4);
    CHECK_EQ(dev_id, 1);
    CHECK(!memcmp(outbuf + 8, "LODESIMSTLINK0000001", 21));
    CHECK_EQ(outbuf[40] | outbuf[41] << 8, 0x0483);
    CHECK_EQ(outbuf[42] | outbuf[43] << 8, 0x3748);
    CHECK_EQ(outbuf[44], 0);
    CHECK_EQ(feed(c1, q_open, sizeof q_open), 8);
    CHECK_EQ(le32(outbuf), 1);
    uint32_t cid1 = le32(outbuf + 4);
    CHECK(cid1 != 0);

    /* the second client sees it in use and cannot open it */
    CHECK_EQ(feed(c2, q_info, sizeof q_info), 45);
    CHECK_EQ(le32(outbuf), 1);
    CHECK_EQ(outbuf[44], 1);
    CHECK_EQ(feed(c2, q_open, sizeof q_open), 8);
    CHECK(le32(outbuf) != 1);
    /* ... nor use the first one's connect id */
    uint8_t q[64];
    static const uint8_t get_version[16] = {0xF1};
    usb_cmd(q, cid1, get_version, 1, 6);
    CHECK_EQ(feed(c2, q, 32), 10);
    CHECK(le32(outbuf) != 1);

    /* GET_VERSION through the first client: V2J37S7 0483:3748 */
    CHECK_EQ(feed(c1, q, 32), 10);
    CHECK_EQ(le32(outbuf), 1);
    uint16_t ver = (uint16_t)(outbuf[4] << 8 | outbuf[5]);
    CHECK_EQ(ver >> 12, 2);
    CHECK_EQ((ver >> 6) & 0x3F, 37);
    CHECK_EQ(ver & 0x3F, 7);
    CHECK_EQ(outbuf[6] | outbuf[7] << 8, 0x0483);
    CHECK_EQ(outbuf[8] | outbuf[9] << 8, 0x3748);

    /* close; then the second client can open */
    uint8_t q_close[8] = {0x04};
    put32(q_close + 4, cid1);
    CHECK_EQ(feed(c1, q_close, sizeof q_close), 4);
    CHECK_EQ(le32(outbuf), 1);
    CHECK_EQ(feed(c1, q_close, sizeof q_close), 4); /* closing twice is refused */
    CHECK(le32(outbuf) != 1);
    CHECK_EQ(feed(c2, q_info, sizeof q_info), 45);
    CHECK_EQ(outbuf[44], 0);
    CHECK_EQ(feed(c2, q_open, sizeof q_open), 8);
    CHECK_EQ(le32(outbuf), 1);
    uint32_t cid2 = le32(outbuf + 4);
    CHECK(cid2 != 0);
    uint8_t q_close2[8] = {0x04};
    put32(q_close2 + 4, cid2);

    /* a whole session fed at once and byte by byte gives the same replies */
    uint8_t seq[256];
    size_t sn = 0;
    memcpy(seq + sn, q_version, sizeof q_version), sn += sizeof q_version;
    memcpy(seq + sn, q_refresh, sizeof q_refresh), sn += sizeof q_refresh;
    memcpy(seq + sn, q_count, sizeof q_count), sn += sizeof q_count;
    memcpy(seq + sn, q_info, sizeof q_info), sn += sizeof q_info;
    sn += usb_cmd(seq + sn, cid2, get_version, 1, 6);
    memcpy(seq + sn, q_close2, sizeof q_close2), sn += sizeof q_close2;
    size_t whole_len = feed(c2, seq, sn);
    CHECK_EQ(whole_len, 16 + 4 + 4 + 45 + 10 + 4);
    static uint8_t whole[256], bytewise[256];
    if (whole_len <= sizeof whole)
        memcpy(whole, outbuf, whole_len);
    CHECK_EQ(le32(whole + whole_len - 4), 1); /* closed */
    /* again on c2 (opened again), one byte at a time with the partial request kept */
    CHECK_EQ(feed(c2, q_open, sizeof q_open), 8);
    CHECK_EQ(le32(outbuf + 4), cid2);
    uint8_t pend[64];
    size_t plen = 0, blen = 0;
    bool fine = true;
    for (size_t i = 0; i < sn && fine; i++) {
        pend[plen++] = seq[i];
        size_t used = 0, olen = 0;
        int rc = lode_sim_stlink_conn_feed(c2, pend, plen, &used, outbuf, OUTCAP, &olen);
        if (rc != LODE_OK || (used && used != plen) || (!used && olen) || blen + olen > sizeof bytewise) {
            fine = false;
            break;
        }
        memcpy(bytewise + blen, outbuf, olen);
        blen += olen;
        if (used)
            plen = 0;
    }
    CHECK(fine);
    CHECK_EQ(plen, 0);
    CHECK_EQ(blen, whole_len);
    CHECK(blen == whole_len && !memcmp(whole, bytewise, blen));

    /* not requests: dropped */
    lode_sim_stlink_conn_s *c3 = lode_sim_stlink_conn_new(srv);
    REQUIRE(c3);
    size_t used = 0, olen = 0;
    static const uint8_t bad[4] = {0x99, 0, 0, 0};
    CHECK_EQ(lode_sim_stlink_conn_feed(c3, bad, sizeof bad, &used, outbuf, OUTCAP, &olen), LODE_E_PROTOCOL);
    /* a valid request then garbage: the first is answered */
    uint8_t mix[5] = {0x01, 0x99, 0, 0, 0};
    olen = 0;
    CHECK_EQ(lode_sim_stlink_conn_feed(c3, mix, sizeof mix, &used, outbuf, OUTCAP, &olen), LODE_E_PROTOCOL);
    CHECK_EQ(used, 1);
    CHECK_EQ(olen, 4);
    lode_sim_stlink_conn_free(c3);
    c3 = lode_sim_stlink_conn_new(srv);
    REQUIRE(c3);
    usb_cmd(q, 0, get_version, 0, XFER_MAX + 1u);
    CHECK_EQ(lode_sim_stlink_conn_feed(c3, q, 32, &used, outbuf, OUTCAP, &olen), LODE_E_PROTOCOL);
    usb_cmd(q, 0, get_version, 1, 0xFFFFFFFFu);
    CHECK_EQ(lode_sim_stlink_conn_feed(c3, q, 32, &used, outbuf, OUTCAP, &olen), LODE_E_PROTOCOL);
    /* the largest size is accepted (and refused politely without an open device) */
    usb_cmd(q, 0, get_version, 1, XFER_MAX);
    CHECK_EQ(feed(c3, q, 32), 4 + XFER_MAX);
    CHECK(le32(outbuf) != 1);
    /* a partial USB command header waits */
    usb_cmd(q, 0, get_version, 1, 6);
    CHECK_EQ(lode_sim_stlink_conn_feed(c3, q, 31, &used, outbuf, OUTCAP, &olen), LODE_OK);
    CHECK_EQ(used, 0);
    CHECK_EQ(olen, 0);
    /* a reply that does not fit the output buffer waits too */
    CHECK_EQ(lode_sim_stlink_conn_feed(c3, q_info, sizeof q_info, &used, outbuf, 44, &olen), LODE_OK);
    CHECK_EQ(used, 0);

    lode_sim_stlink_conn_free(c3);
    lode_sim_stlink_conn_free(c1);
    lode_sim_stlink_conn_free(c2);
    lode_sim_stlink_server_free(srv);
    lode_sim_stlink_free(p);
    lode_sim_free(sim);
}

/* ---- e: TCP end to end ------------------------------------------------------------------------ */
typedef struct srv_thread_s {
    lode_sim_stlink_server_s *srv;
    int stop;
} srv_thread_s;

static void *serve(void *arg)
{
    srv_thread_s *t = arg;
    while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
        if (lode_sim_stlink_server_poll(t->srv, 20) != LODE_OK)
            break;
    return NULL;
}

static bool tcp_client_dpidr(uint16_t port, uint32_t *dpidr)
{
    lode_stlink_io_s io;
    if (lode_stlink_io_tcp("127.0.0.1", port, NULL, &logger, &io) != LODE_OK)
        return false;
    lode_stlink_s *st = NULL;
    if (lode_stlink_open(&io, &logger, &st) != LODE_OK)
        return false;
    lode_dap_ops_s ops;
    lode_adi_s *adi = NULL;
    bool ok = lode_stlink_connect_swd(st, 4000000u, NULL) == LODE_OK &&
              lode_stlink_dap_ops(st, &ops) == LODE_OK && lode_adi_new(&ops, &logger, &adi) == LODE_OK &&
              lode_adi_connect(adi) == LODE_OK;
    if (ok)
        *dpidr = lode_adi_dpidr(adi);
    lode_adi_free(adi);
    lode_stlink_close(st);
    return ok;
}

static void test_tcp(void)
{
    lode_sim_s *sim = NULL;
    lode_sim_stlink_s *p = NULL;
    lode_sim_stlink_server_s *srv = NULL;
    lode_sim_config_s sc = {.chip = "STM32F103C8", .log = logger};
    REQUIRE(lode_sim_new(&sc, &sim) == LODE_OK);
    lode_sim_stlink_config_s pc = {.log = logger};
    REQUIRE(lode_sim_stlink_new(sim, &pc, &p) == LODE_OK);
    REQUIRE(lode_sim_stlink_server_new(p, "127.0.0.1", 0, &logger, &srv) == LODE_OK);
    uint16_t port = lode_sim_stlink_server_port(srv);
    CHECK(port != 0);
    srv_thread_s th = {.srv = srv};
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, serve, &th) == 0);

    /* client 1: the whole driver over TCP */
    lode_stlink_io_s io;
    lode_stlink_s *st = NULL;
    lode_adi_s *adi = NULL;
    CHECK_EQ(lode_stlink_io_tcp("127.0.0.1", port, NULL, &logger, &io), LODE_OK);
    CHECK_EQ(lode_stlink_open(&io, &logger, &st), LODE_OK);
    if (st) {
        lode_stlink_version_s v;
        lode_stlink_get_version(st, &v);
        CHECK_EQ(v.jtag, 37);
        uint32_t hz = 0;
        CHECK_EQ(lode_stlink_connect_swd(st, 4000000u, &hz), LODE_OK);
        CHECK_EQ(hz, 4000000u);
        lode_dap_ops_s ops;
        CHECK_EQ(lode_stlink_dap_ops(st, &ops), LODE_OK);
        CHECK_EQ(lode_adi_new(&ops, &logger, &adi), LODE_OK);
        CHECK_EQ(lode_adi_connect(adi), LODE_OK);
        CHECK_EQ(lode_adi_dpidr(adi), 0x1BA01477u);
        static uint8_t blk[2000], rd[2000];
        pattern(blk, sizeof blk, 9);
        CHECK_EQ(lode_adi_mem_write(adi, 0, RAM + 1u, blk, sizeof blk), LODE_OK);
        CHECK_EQ(lode_adi_mem_read(adi, 0, RAM + 1u, rd, sizeof rd), LODE_OK);
        CHECK(!memcmp(blk, rd, sizeof blk));
    }

    /* a second client while the first has it open */
    fprintf(stderr, "  (an error about the ST-Link in use is expected)\n");
    lode_stlink_io_s io2;
    CHECK_EQ(lode_stlink_io_tcp("127.0.0.1", port, NULL, &logger, &io2), LODE_E_ACCESS);

    /* the first closes: a new client works */
    lode_adi_free(adi);
    lode_stlink_close(st);
    uint32_t dpidr = 0;
    CHECK(tcp_client_dpidr(port, &dpidr));
    CHECK_EQ(dpidr, 0x1BA01477u);
    /* by serial too */
    lode_stlink_io_s io3;
    CHECK_EQ(lode_stlink_io_tcp("127.0.0.1", port, "LODESIMSTLINK0000001", &logger, &io3), LODE_OK);
    if (io3.close)
        io3.close(io3.ctx);

    /* wrong serial, closed port */
    fprintf(stderr, "  (errors about a missing ST-Link / server are expected)\n");
    CHECK_EQ(lode_stlink_io_tcp("127.0.0.1", port, "NOSUCHSERIAL", &logger, &io2), LODE_E_NO_DEVICE);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    uint16_t dead = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        dead = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd); /* bound, never listened, closed: nothing listens there */
    CHECK(dead != 0);
    CHECK_EQ(lode_stlink_io_tcp("127.0.0.1", dead, NULL, &logger, &io2), LODE_E_NO_DEVICE);

    __atomic_store_n(&th.stop, 1, __ATOMIC_RELEASE);
    pthread_join(tid, NULL);
    lode_sim_stlink_server_free(srv);
    lode_sim_stlink_free(p);
    lode_sim_free(sim);
}

int main(void)
{
    RUN_TEST(test_driver_in_process);
    RUN_TEST(test_session_flash);
    RUN_TEST(test_small_image_time);
    RUN_TEST(test_overwrite_code);
    RUN_TEST(test_server_protocol);
    RUN_TEST(test_tcp);
    return TEST_DONE();
}
