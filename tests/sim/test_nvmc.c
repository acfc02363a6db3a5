/* SPDX-License-Identifier: MIT */
/* nRF52840 on the simulated board, through the public API only: the NVMC as the nRF52840
 * Product Specification §4.3 describes it, FICR/UICR, power loss during an erase, UARTE0
 * EasyDMA transmit, the watchdog, CLOCK and the memory map. */
#include "lode/sim.h"
#include "test.h"

#define NVMC 0x4001E000u
#define N_READY (NVMC + 0x400)
#define N_READYNEXT (NVMC + 0x408)
#define N_CONFIG (NVMC + 0x504)
#define N_ERASEPAGE (NVMC + 0x508)
#define N_ERASEALL (NVMC + 0x50C)
#define N_ERASEUICR (NVMC + 0x514)
#define N_ERASEPAGEPARTIAL (NVMC + 0x518)
#define N_ERASEPAGEPARTIALCFG (NVMC + 0x51C)
#define REN 0u
#define WEN 1u
#define EEN 2u
#define UICR 0x10001000u
#define FICR 0x10000000u
#define PAGE 4096u

#define DHCSR 0xE000EDF0u
#define US 1000000ull
#define MS 1000000000ull

typedef struct out_s {
    char buf[256];
    size_t n;
} out_s;

static void on_output(void *user, const char *port, const uint8_t *data, size_t len)
{
    out_s *o = user;
    if (strcmp(port, "UARTE0") != 0)
        return;
    for (size_t i = 0; i < len && o->n < sizeof o->buf - 1; i++)
        o->buf[o->n++] = (char)data[i];
}

static void halt(lode_sim_s *s) { CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0003u), LODE_OK); }

static lode_sim_s *open_sim(out_s *o)
{
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "nRF52840_xxAA";
    cfg.output = on_output;
    cfg.output_user = o;
    lode_sim_s *s = NULL;
    if (lode_sim_new(&cfg, &s) != LODE_OK)
        return NULL;
    halt(s);
    return s;
}

static uint32_t rd(lode_sim_s *s, uint32_t a)
{
    uint32_t v = 0xDEADBEEFu;
    CHECK_EQ(lode_sim_read32(s, a, &v), LODE_OK);
    return v;
}

static void wr(lode_sim_s *s, uint32_t a, uint32_t v) { CHECK_EQ(lode_sim_write32(s, a, v), LODE_OK); }

/* Poll READY with `step` between reads; returns how long it stayed 0. */
static uint64_t wait_ready(lode_sim_s *s, uint64_t step, uint64_t limit)
{
    uint64_t t0 = lode_sim_now(s);
    while (rd(s, N_READY) == 0 && lode_sim_now(s) - t0 < limit)
        lode_sim_run(s, step);
    return lode_sim_now(s) - t0;
}

static void write_word(lode_sim_s *s, uint32_t a, uint32_t v)
{
    wr(s, N_CONFIG, WEN);
    wr(s, a, v);
    wait_ready(s, 5 * US, 1 * MS);
    wr(s, N_CONFIG, REN);
}

static void erase_page(lode_sim_s *s, uint32_t a)
{
    wr(s, N_CONFIG, EEN);
    wr(s, N_ERASEPAGE, a);
    wait_ready(s, 1 * MS, 1000 * MS);
    wr(s, N_CONFIG, REN);
}

static void test_ficr(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    CHECK_EQ(rd(s, FICR + 0x010), 4096);         /* CODEPAGESIZE */
    CHECK_EQ(rd(s, FICR + 0x014), 256);          /* CODESIZE */
    CHECK_EQ(rd(s, FICR + 0x100), 0x52840);      /* INFO.PART */
    CHECK_EQ(rd(s, FICR + 0x104), 0x41414430);   /* INFO.VARIANT "AAD0" */
    CHECK_EQ(rd(s, FICR + 0x108), 0x2004);       /* INFO.PACKAGE */
    CHECK_EQ(rd(s, FICR + 0x10C), 256);          /* INFO.RAM */
    CHECK_EQ(rd(s, FICR + 0x110), 1024);         /* INFO.FLASH */
    uint32_t id0 = rd(s, FICR + 0x060);
    wr(s, FICR + 0x060, 0);                      /* read-only */
    CHECK_EQ(rd(s, FICR + 0x060), id0);
    CHECK_EQ(rd(s, UICR + 0x208), 0xFFFFFFFF);   /* UICR erased */
    CHECK_EQ(rd(s, N_READY), 1);
    CHECK_EQ(rd(s, N_CONFIG), 0);
    lode_sim_free(s);
}

static void test_write(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t a = 0x3000;
    /* CONFIG.WEN = Ren: the write is ignored */
    wr(s, a, 0x12345678u);
    CHECK_EQ(rd(s, a), 0xFFFFFFFF);
    CHECK_EQ(rd(s, N_READY), 1);
    /* Wen: the word is written, READY = 0 for tWRITE (41 us) */
    wr(s, N_CONFIG, WEN);
    wr(s, a, 0x0000FFFFu);
    CHECK_EQ(rd(s, N_READY), 0);
    uint64_t t = wait_ready(s, 1 * US, 1 * MS);
    CHECK(t >= 41 * US && t <= 42 * US);
    CHECK_EQ(rd(s, a), 0x0000FFFF);
    /* bits only go 1 -> 0: writing 0xFFFF0000 over 0x0000FFFF gives 0 */
    wr(s, a, 0xFFFF0000u);
    wait_ready(s, 1 * US, 1 * MS);
    CHECK_EQ(rd(s, a), 0);
    /* word writes only: half-word and byte stores fault */
    uint8_t b2[2] = {0, 0};
    CHECK(lode_sim_mem_write(s, a + 4, b2, 2) != LODE_OK);
    CHECK(lode_sim_mem_write(s, a + 5, b2, 1) != LODE_OK);
    CHECK_EQ(rd(s, a + 4), 0xFFFFFFFF);
    /* a flash read during a write stalls until it is done */
    wr(s, a + 8, 0xCAFEF00Du);
    uint64_t t0 = lode_sim_now(s);
    CHECK_EQ(rd(s, a + 8), 0xCAFEF00D);
    uint64_t dt = lode_sim_now(s) - t0;
    CHECK(dt >= 41 * US && dt <= 42 * US);
    CHECK_EQ(rd(s, N_READY), 1);
    /* UICR is written the same way */
    wr(s, UICR + 0x80, 0x11223344u);
    wait_ready(s, 1 * US, 1 * MS);
    CHECK_EQ(rd(s, UICR + 0x80), 0x11223344);
    wr(s, N_CONFIG, REN);
    wr(s, UICR + 0x84, 0u);
    CHECK_EQ(rd(s, UICR + 0x84), 0xFFFFFFFF);
    lode_sim_free(s);
}

static void test_erase(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    write_word(s, 5 * PAGE, 0x11111111u);
    write_word(s, 5 * PAGE + PAGE - 4, 0x22222222u);
    write_word(s, 6 * PAGE, 0x33333333u);
    write_word(s, UICR + 0x80, 0x44444444u);
    /* ERASEPAGE without Een: ignored */
    wr(s, N_ERASEPAGE, 5 * PAGE);
    CHECK_EQ(rd(s, N_READY), 1);
    CHECK_EQ(rd(s, 5 * PAGE), 0x11111111);
    /* ERASEPAGE with Een: tERASEPAGE 85 ms */
    wr(s, N_CONFIG, EEN);
    wr(s, N_ERASEPAGE, 5 * PAGE);
    CHECK_EQ(rd(s, N_READY), 0);
    uint64_t t = wait_ready(s, 100 * US, 1000 * MS);
    CHECK(t >= 85 * MS && t <= 85 * MS + 200 * US);
    CHECK_EQ(rd(s, 5 * PAGE), 0xFFFFFFFF);
    CHECK_EQ(rd(s, 5 * PAGE + PAGE - 4), 0xFFFFFFFF);
    CHECK_EQ(rd(s, 6 * PAGE), 0x33333333);
    /* ERASEUICR: only the UICR */
    wr(s, N_ERASEUICR, 1);
    wait_ready(s, 1 * MS, 1000 * MS);
    CHECK_EQ(rd(s, UICR + 0x80), 0xFFFFFFFF);
    CHECK_EQ(rd(s, 6 * PAGE), 0x33333333);
    /* ERASEALL: code flash and UICR, tERASEALL 173 ms */
    wr(s, N_CONFIG, REN);
    write_word(s, UICR + 0x80, 0x44444444u);
    write_word(s, 0xFF000, 0x55555555u);
    wr(s, N_CONFIG, EEN);
    wr(s, N_ERASEALL, 1);
    t = wait_ready(s, 100 * US, 1000 * MS);
    CHECK(t >= 173 * MS && t <= 173 * MS + 200 * US);
    CHECK_EQ(rd(s, 6 * PAGE), 0xFFFFFFFF);
    CHECK_EQ(rd(s, 0xFF000), 0xFFFFFFFF);
    CHECK_EQ(rd(s, UICR + 0x80), 0xFFFFFFFF);
    wr(s, N_CONFIG, REN);
    lode_sim_free(s);
}

static void test_partial_erase(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    write_word(s, 8 * PAGE, 0x0u);
    CHECK_EQ(rd(s, N_ERASEPAGEPARTIALCFG), 10);
    wr(s, N_CONFIG, EEN);
    unsigned n = 0;
    while (rd(s, 8 * PAGE) != 0xFFFFFFFFu && n < 20) {
        wr(s, N_ERASEPAGEPARTIAL, 8 * PAGE);
        uint64_t t = wait_ready(s, 1 * MS, 100 * MS);
        CHECK(t >= 10 * MS && t <= 11 * MS);
        n++;
    }
    CHECK_EQ(n, 9); /* 9 x 10 ms >= tERASEPAGE (85 ms) */
    wr(s, N_CONFIG, REN);
    lode_sim_free(s);
}

static void test_power_loss_during_erase(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    static uint8_t old[PAGE], now[PAGE];
    for (unsigned i = 0; i < PAGE; i++)
        old[i] = (uint8_t)(i * 53u + 7u);
    CHECK_EQ(lode_sim_load(s, 9 * PAGE, old, PAGE), LODE_OK);
    lode_sim_inject_power_loss(s, 1);
    wr(s, N_CONFIG, EEN);
    lode_sim_write32(s, N_ERASEPAGE, 9 * PAGE);
    lode_sim_run(s, 1 * MS);
    halt(s);
    CHECK_EQ(rd(s, N_CONFIG), 0); /* reset happened */
    CHECK_EQ(lode_sim_mem_read(s, 9 * PAGE, now, PAGE), LODE_OK);
    unsigned bad = 0, changed = 0;
    for (unsigned i = 0; i < PAGE; i++) {
        if ((now[i] & old[i]) != old[i])
            bad++; /* an erase only turns bits to 1 */
        changed += now[i] != old[i];
    }
    CHECK_EQ(bad, 0);
    CHECK(changed > 0);
    erase_page(s, 9 * PAGE);
    CHECK_EQ(lode_sim_mem_read(s, 9 * PAGE, now, PAGE), LODE_OK);
    unsigned not_erased = 0;
    for (unsigned i = 0; i < PAGE; i++)
        not_erased += now[i] != 0xFF;
    CHECK_EQ(not_erased, 0);
    write_word(s, 9 * PAGE + 16, 0xA5A5A5A5u);
    CHECK_EQ(rd(s, 9 * PAGE + 16), 0xA5A5A5A5);
    lode_sim_free(s);
}

static void test_uarte(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t u = 0x40002000u;
    CHECK_EQ(lode_sim_mem_write(s, 0x20000100u, "hi\n", 3), LODE_OK);
    wr(s, u + 0x50C, 6);            /* PSEL.TXD = P0.06 */
    wr(s, u + 0x524, 0x01D7E000u);  /* 115200 baud */
    wr(s, u + 0x500, 8);            /* ENABLE: UARTE */
    wr(s, u + 0x544, 0x20000100u);
    wr(s, u + 0x548, 3);
    wr(s, u + 0x304, 1u << 8);      /* INTENSET.ENDTX */
    CHECK_EQ(rd(s, u + 0x300), 1u << 8);
    wr(s, u + 0x008, 1);            /* STARTTX */
    CHECK_EQ(rd(s, u + 0x150), 1);  /* TXSTARTED */
    CHECK_EQ(rd(s, u + 0x120), 0);
    lode_sim_run(s, 1 * MS);        /* 3 frames of ~87 us */
    CHECK_EQ(rd(s, u + 0x120), 1);  /* ENDTX */
    CHECK_EQ(rd(s, u + 0x54C), 3);  /* TXD.AMOUNT */
    CHECK_EQ(o.n, 3);
    CHECK(memcmp(o.buf, "hi\n", 3) == 0);
    wr(s, u + 0x120, 0);
    CHECK_EQ(rd(s, u + 0x120), 0);
    /* a buffer outside Data RAM is not read by EasyDMA */
    wr(s, u + 0x544, 0x00001000u);
    wr(s, u + 0x008, 1);
    lode_sim_run(s, 1 * MS);
    CHECK_EQ(rd(s, u + 0x54C), 0);
    CHECK_EQ(o.n, 3);
    lode_sim_free(s);
}

static void test_wdt_clock_map(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t w = 0x40010000u;
    CHECK_EQ(rd(s, w + 0x504), 0xFFFFFFFF);
    CHECK_EQ(rd(s, w + 0x508), 1);
    wr(s, w + 0x504, 32767);        /* 1 s */
    wr(s, w + 0x000, 1);            /* START */
    CHECK_EQ(rd(s, w + 0x400), 1);
    wr(s, w + 0x504, 100);          /* locked while running */
    CHECK_EQ(rd(s, w + 0x504), 32767);
    lode_sim_run(s, 900 * MS);
    wr(s, w + 0x600, 0x6E524635u);  /* reload */
    lode_sim_run(s, 900 * MS);
    CHECK_EQ(rd(s, w + 0x100), 0);
    CHECK_EQ(rd(s, w + 0x400), 1);
    lode_sim_run(s, 100 * MS + 10 * US);  /* 1 s after the reload: TIMEOUT */
    CHECK_EQ(rd(s, w + 0x100), 1);
    lode_sim_run(s, 1 * MS);        /* two 32 kHz cycles later: reset */
    halt(s);
    CHECK_EQ(rd(s, w + 0x400), 0);
    CHECK_EQ(rd(s, w + 0x100), 0);

    const uint32_t c = 0x40000000u;
    wr(s, c + 0x000, 1);            /* HFCLKSTART */
    CHECK_EQ(rd(s, c + 0x100), 1);
    CHECK_EQ(rd(s, c + 0x40C), 0x10001);
    wr(s, c + 0x008, 1);            /* LFCLKSTART */
    CHECK_EQ(rd(s, c + 0x104), 1);

    uint32_t v;
    CHECK_EQ(lode_sim_read32(s, 0x40001000u, &v), LODE_OK); /* RADIO: unmodeled */
    CHECK(lode_sim_read32(s, 0x4002A000u, &v) != LODE_OK);  /* no instance */
    CHECK(lode_sim_read32(s, 0x20040000u, &v) != LODE_OK);  /* past RAM */
    CHECK(lode_sim_read32(s, 0x00100000u, &v) != LODE_OK);  /* past flash */
    /* GPIO */
    wr(s, 0x50000518u, 1u << 13);   /* P0 DIRSET */
    CHECK_EQ(rd(s, 0x50000734u) & 1u, 1);  /* PIN_CNF[13].DIR */
    wr(s, 0x50000508u, 1u << 13);   /* OUTSET */
    CHECK_EQ(rd(s, 0x50000504u), 1u << 13);
    wr(s, 0x50000734u, 1u);          /* connect the input buffer */
    CHECK_EQ(rd(s, 0x50000510u) & (1u << 13), 1u << 13);
    wr(s, 0x50000808u, 1u << 2);    /* P1 OUTSET */
    CHECK_EQ(rd(s, 0x50000804u), 1u << 2);
    lode_sim_free(s);
}

/* The CPU performs the stores: a word store programs, a half-word store faults. */
static void test_cpu_stores(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t code = 0x20000000u, vt = 0x20000400u, hf = 0x20000600u;
    const uint8_t prog[] = {0x01, 0x60, 0x00, 0xBE,  /* str r1,[r0]; bkpt #0 */
                            0x01, 0x80, 0x00, 0xBE}; /* strh r1,[r0]; bkpt #0 */
    const uint8_t handler[] = {0x01, 0xBE};          /* bkpt #1 */
    CHECK_EQ(lode_sim_mem_write(s, code, prog, sizeof prog), LODE_OK);
    CHECK_EQ(lode_sim_mem_write(s, hf, handler, sizeof handler), LODE_OK);
    wr(s, vt + 0, 0x20008000u);
    wr(s, vt + 12, hf | 1u);
    wr(s, 0xE000ED08u, vt); /* VTOR */
    wr(s, N_CONFIG, WEN);
    CHECK_EQ(lode_sim_reg_write(s, 0, 0x8000), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 1, 0x12345678u), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 13, 0x20008000u), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 15, code), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 16, 0x01000000u), LODE_OK);
    wr(s, DHCSR, 0xA05F0001u);
    CHECK_EQ(lode_sim_run(s, 1 * MS), LODE_SIM_STOP_HALTED);
    uint32_t pc = 0;
    CHECK_EQ(lode_sim_reg_read(s, 15, &pc), LODE_OK);
    CHECK_EQ(pc, code + 2);
    CHECK_EQ(rd(s, 0x8000), 0x12345678);
    CHECK_EQ(lode_sim_reg_write(s, 0, 0x8004), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 15, code + 4), LODE_OK);
    wr(s, DHCSR, 0xA05F0001u);
    CHECK_EQ(lode_sim_run(s, 1 * MS), LODE_SIM_STOP_HALTED);
    CHECK_EQ(lode_sim_reg_read(s, 15, &pc), LODE_OK);
    CHECK_EQ(pc, hf);
    CHECK_EQ(rd(s, 0x8004), 0xFFFFFFFF);
    lode_sim_free(s);
}

int main(void)
{
    RUN_TEST(test_ficr);
    RUN_TEST(test_write);
    RUN_TEST(test_erase);
    RUN_TEST(test_partial_erase);
    RUN_TEST(test_power_loss_during_erase);
    RUN_TEST(test_uarte);
    RUN_TEST(test_wdt_clock_map);
    RUN_TEST(test_cpu_stores);
    return TEST_DONE();
}
