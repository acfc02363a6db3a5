/* SPDX-License-Identifier: MIT */
/* SEGGER RTT end to end on the simulated board: firmware/apps/rtt_test.c runs on both chips
 * while lode (through the sim's back-door core) finds its control block, by the ELF symbol
 * _SEGGER_RTT and by scanning RAM, reads the greeting from up 0 and the binary block from up
 * 1, sends "ping\n" on down 0, gets the echo and "bye\n", and sees the semihosting exit 0. */
#include <stdint.h>

#include "lode/core.h"
#include "lode/error.h"
#include "lode/image.h"
#include "lode/rtt.h"
#include "lode/sim.h"
#include "test.h"

#define PS_PER_MS 1000000000ull
#define DHCSR 0xE000EDF0u
#define DFSR 0xE000ED30u

typedef struct chip_s {
    const char *sim_name;
    const char *fw; /* firmware file suffix */
    const char *board_name;
    uint32_t ram, ram_len;
} chip_s;

static const chip_s chips[] = {
    {"STM32F103C8", "stm32f103", "STM32F103C8", 0x20000000u, 20u * 1024u},
    {"nRF52840_xxAA", "nrf52840", "nRF52840", 0x20000000u, 256u * 1024u},
};

typedef struct rx_s {
    char text[512];
    size_t ntext;
    uint8_t data[512];
    size_t ndata;
    unsigned other; /* bytes on channels that do not exist in rtt_test */
} rx_s;

static void rx_fn(void *user, unsigned ch, const uint8_t *d, size_t len)
{
    rx_s *rx = user;
    for (size_t i = 0; i < len; i++) {
        if (ch == 0 && rx->ntext < sizeof rx->text - 1)
            rx->text[rx->ntext++] = (char)d[i];
        else if (ch == 1 && rx->ndata < sizeof rx->data)
            rx->data[rx->ndata++] = d[i];
        else
            rx->other++;
    }
    rx->text[rx->ntext] = '\0';
}

/* The core halted: a semihosting BKPT? Exit (op 0x18 / 0x20): *code and true. WRITE0 is
 * printed and the core resumed. Anything else: false with *code = -1. */
static bool serve_semihosting(lode_sim_s *sim, int *code)
{
    uint32_t pc = 0, r0 = 0, r1 = 0, dfsr = 0;
    uint8_t insn[2] = {0};
    lode_sim_reg_read(sim, 15, &pc);
    lode_sim_reg_read(sim, 0, &r0);
    lode_sim_reg_read(sim, 1, &r1);
    lode_sim_read32(sim, DFSR, &dfsr);
    lode_sim_mem_read(sim, pc, insn, 2);
    *code = -1;
    if (!(dfsr & 2) || insn[0] != 0xAB || insn[1] != 0xBE) {
        fprintf(stderr, "core halted at 0x%08x, not for semihosting (DFSR 0x%x)\n", pc, dfsr);
        return true;
    }
    if (r0 == 0x18) {
        *code = r1 == 0x20026u ? 0 : 1;
        return true;
    }
    if (r0 == 0x20) {
        uint32_t blk[2] = {0, 0};
        lode_sim_mem_read(sim, r1, blk, sizeof blk);
        *code = blk[0] == 0x20026u ? (int)blk[1] : 1;
        return true;
    }
    if (r0 == 0x04) {
        char s[128] = {0};
        lode_sim_mem_read(sim, r1, s, sizeof s - 1);
        fprintf(stderr, "firmware: %s", s);
    }
    lode_sim_reg_write(sim, 15, pc + 2);
    lode_sim_write32(sim, DFSR, 0x1Fu);
    lode_sim_write32(sim, DHCSR, 0xA05F0001u);
    return false;
}

static void run_one(const chip_s *c, bool by_symbol)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rtt_test-%s.elf", LODE_FW_DIR, c->fw);
    fprintf(stderr, "-- %s, control block %s\n", c->fw, by_symbol ? "by symbol" : "by scan");
    lode_sim_config_s sc = {.chip = c->sim_name};
    lode_sim_s *sim = NULL;
    REQUIRE(lode_sim_new(&sc, &sim) == LODE_OK);
    lode_image_s *img = NULL;
    lode_rtt_s *rtt = NULL;
    if (lode_sim_load_elf(sim, path) != LODE_OK ||
        lode_image_load_file(path, LODE_IMAGE_AUTO, 0, false, NULL, &img) != LODE_OK) {
        fprintf(stderr, "cannot load %s\n", path);
        CHECK(0);
        goto out;
    }
    const lode_symbol_s *sym = lode_image_find_symbol(img, LODE_RTT_SYMBOL);
    const lode_symbol_s *done_sym = lode_image_find_symbol(img, "rtt_test_done");
    CHECK(sym != NULL);
    CHECK(done_sym != NULL);
    if (!sym || !done_sym)
        goto out;
    lode_core_ops_s core;
    memset(&core, 0, sizeof core);
    lode_sim_core_ops(sim, &core);
    lode_rtt_range_s ram = {c->ram, c->ram_len};
    lode_rtt_config_s rc = {.cb_addr = by_symbol ? sym->value : 0, .ranges = &ram, .nranges = 1};
    if (lode_rtt_new(&core, &rc, &rtt) != LODE_OK) {
        CHECK(0);
        goto out;
    }
    /* debug on, so the semihosting BKPT halts the core */
    lode_sim_write32(sim, DHCSR, 0xA05F0001u);

    /* before the firmware ran: nothing there yet (retry later) */
    int first = lode_rtt_attach(rtt);
    CHECK_EQ(first, by_symbol ? LODE_E_FORMAT : LODE_E_NO_DEVICE);

    rx_s rx;
    memset(&rx, 0, sizeof rx);
    const char *ping = "ping\n";
    size_t ping_sent = 0;
    int code = -1;
    bool exited = false;
    uint64_t attached_at = 0;
    for (int ms = 0; ms < 3000 && !exited; ms++) {
        lode_sim_stop_e st = lode_sim_run(sim, PS_PER_MS);
        if (st == LODE_SIM_STOP_HALTED)
            exited = serve_semihosting(sim, &code);
        else if (st != LODE_SIM_STOP_BUDGET) {
            fprintf(stderr, "sim stopped: %d\n", (int)st);
            break;
        }
        if (!lode_rtt_attached(rtt)) {
            if (lode_rtt_attach(rtt) != LODE_OK)
                continue;
            attached_at = lode_sim_now(sim);
        }
        int prc = lode_rtt_poll(rtt, rx_fn, &rx, NULL);
        CHECK_EQ(prc, LODE_OK);
        /* once the greeting and the data are in, type "ping\n" */
        if (rx.ndata == 200 && strchr(rx.text, '\n') && ping_sent < strlen(ping)) {
            size_t w = 0;
            CHECK_EQ(lode_rtt_write(rtt, 0, ping + ping_sent, strlen(ping) - ping_sent, &w), LODE_OK);
            ping_sent += w;
        }
    }
    CHECK(exited);
    CHECK_EQ(code, 0);
    CHECK(attached_at > 0);
    /* whatever is left after the exit */
    if (lode_rtt_attached(rtt))
        CHECK_EQ(lode_rtt_poll(rtt, rx_fn, &rx, NULL), LODE_OK);

    char want[128];
    snprintf(want, sizeof want, "rtt_test: hello from %s\nping\nbye\n", c->board_name);
    if (strcmp(rx.text, want) != 0)
        fprintf(stderr, "up 0 got:\n%s--- want:\n%s---\n", rx.text, want);
    CHECK(strcmp(rx.text, want) == 0);
    CHECK_EQ(rx.ndata, 200);
    int bad = 0;
    for (size_t i = 0; i < rx.ndata; i++)
        bad += rx.data[i] != (uint8_t)i;
    CHECK_EQ(bad, 0);
    CHECK_EQ(rx.other, 0);

    lode_rtt_info_s info;
    if (lode_rtt_channels(rtt, &info) == LODE_OK) {
        CHECK_EQ(info.cb_addr, sym->value);
        CHECK_EQ(info.num_up, 2);
        CHECK_EQ(info.num_down, 1);
        CHECK(strcmp(info.up[0].name, "Terminal") == 0);
        CHECK(strcmp(info.up[1].name, "Data") == 0);
        CHECK(strcmp(info.down[0].name, "Terminal") == 0);
        CHECK_EQ(info.up[0].size, 1024);
        CHECK_EQ(info.up[1].size, 256);
        CHECK_EQ(info.down[0].size, 64);
    } else {
        CHECK(0);
    }
    uint32_t done = 0;
    CHECK_EQ(lode_sim_read32(sim, done_sym->value, &done), LODE_OK);
    CHECK_EQ(done, 1);
    lode_rtt_stats_s st;
    lode_rtt_stats(rtt, &st);
    CHECK_EQ(st.reinits, 0);
    CHECK_EQ(st.bytes_down, 5);
    CHECK_EQ(st.bytes_up, rx.ntext + rx.ndata);
    fprintf(stderr, "   %" PRIu64 " polls, %" PRIu64 " mem reads (%" PRIu64 " bytes), %" PRIu64
                    " mem writes, %" PRIu64 " bytes up\n",
            st.polls, st.mem_reads, st.read_bytes, st.mem_writes, st.bytes_up);
out:
    lode_rtt_free(rtt);
    lode_image_free(img);
    lode_sim_free(sim);
}

static void test_rtt_sim(void)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        run_one(&chips[i], true);
        run_one(&chips[i], false);
    }
}

int main(void)
{
    RUN_TEST(test_rtt_sim);
    return TEST_DONE();
}
