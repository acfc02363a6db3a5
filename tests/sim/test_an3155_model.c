/* SPDX-License-Identifier: MIT */
/* The simulated STM32F103's system bootloader (AN3155, sim_an3155.c) byte by byte: auto-baud,
 * ACK/NACK, Get (Erase 0x43 on the F1's version 2.2, Extended Erase 0x44 on the variant), Get
 * ID, Write/Read/Erase through the FPEC with its timings, read-out protection, Go into an
 * application that echoes on USART1 (the receive path). */
#include "lode/sim.h"
#include "test.h"

#define ACK 0x79
#define NACK 0x1F
#define FLASH 0x08000000u

typedef struct rig_s {
    lode_sim_s *sim;
    lode_sim_an3155_s *m;
    uint8_t out[4096];
    size_t n;
} rig_s;

static void rig_open(rig_s *r, bool ext)
{
    memset(r, 0, sizeof *r);
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "STM32F103C8";
    REQUIRE(lode_sim_new(&cfg, &r->sim) == LODE_OK);
    lode_sim_an3155_config_s mc = {.extended_erase = ext};
    REQUIRE(lode_sim_an3155_new(r->sim, &mc, &r->m) == LODE_OK);
}

static void rig_close(rig_s *r)
{
    lode_sim_an3155_free(r->m);
    lode_sim_free(r->sim);
}

static void tx(rig_s *r, const uint8_t *d, size_t n) { REQUIRE(lode_sim_an3155_feed(r->m, d, n, r->out, sizeof r->out, &r->n) == LODE_OK); }
static void tx1(rig_s *r, uint8_t b) { tx(r, &b, 1); }

/* a command and its complement: the bootloader's first answer */
static uint8_t cmd(rig_s *r, uint8_t c)
{
    uint8_t p[2] = {c, (uint8_t)~c};
    tx(r, p, 2);
    return r->n ? r->out[0] : 0;
}

static uint8_t addr(rig_s *r, uint32_t a)
{
    uint8_t p[5] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a, 0};
    p[4] = p[0] ^ p[1] ^ p[2] ^ p[3];
    tx(r, p, 5);
    return r->n == 1 ? r->out[0] : 0;
}

static bool write_mem(rig_s *r, uint32_t a, const uint8_t *d, size_t n)
{
    if (cmd(r, 0x31) != ACK || addr(r, a) != ACK)
        return false;
    uint8_t p[260];
    p[0] = (uint8_t)(n - 1);
    memcpy(p + 1, d, n);
    uint8_t x = p[0];
    for (size_t i = 0; i < n; i++)
        x ^= d[i];
    p[n + 1] = x;
    tx(r, p, n + 2);
    return r->n == 1 && r->out[0] == ACK;
}

static bool read_mem(rig_s *r, uint32_t a, uint8_t *d, size_t n)
{
    if (cmd(r, 0x11) != ACK || addr(r, a) != ACK)
        return false;
    uint8_t p[2] = {(uint8_t)(n - 1), (uint8_t)~(n - 1)};
    tx(r, p, 2);
    if (r->n != n + 1 || r->out[0] != ACK)
        return false;
    memcpy(d, r->out + 1, n);
    return true;
}

static void test_sync_get(void)
{
    rig_s r;
    rig_open(&r, false);
    tx1(&r, 0x00); /* no 0x7F yet: nothing */
    CHECK_EQ(r.n, 0);
    tx1(&r, 0x7F);
    REQUIRE(r.n == 1);
    CHECK_EQ(r.out[0], ACK);
    CHECK_EQ(cmd(&r, 0x00), ACK);
    REQUIRE(r.n == 15);
    CHECK_EQ(r.out[1], 11);
    CHECK_EQ(r.out[2], 0x22);
    CHECK(memchr(r.out + 3, 0x43, 11) != NULL);
    CHECK(memchr(r.out + 3, 0x44, 11) == NULL);
    CHECK_EQ(r.out[14], ACK);
    CHECK_EQ(cmd(&r, 0x02), ACK);
    REQUIRE(r.n == 5);
    CHECK_EQ(r.out[2] << 8 | r.out[3], 0x410);
    /* a wrong complement, an unknown command, a second 0x7F taken as a command: NACK */
    uint8_t bad[2] = {0x00, 0x00};
    tx(&r, bad, 2);
    CHECK(r.n == 1 && r.out[0] == NACK);
    CHECK_EQ(cmd(&r, 0x44), NACK); /* the F1's bootloader has no Extended Erase */
    tx1(&r, 0x7F);
    CHECK_EQ(r.n, 0);
    tx1(&r, 0x7F);
    CHECK(r.n == 1 && r.out[0] == NACK);
    rig_close(&r);
}

static void test_write_read_erase(void)
{
    rig_s r;
    rig_open(&r, false);
    tx1(&r, 0x7F);
    uint8_t d[256], back[256];
    for (unsigned i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)(i * 7 + 3);
    uint64_t t0 = lode_sim_now(r.sim);
    CHECK(write_mem(&r, FLASH + 0x400, d, sizeof d));
    uint64_t dt = lode_sim_now(r.sim) - t0;
    /* 128 half-words at 52.5 us each, plus 263 bytes in and 3 out at 11 bits / 115200 baud */
    uint64_t wire = 266ull * 11 * 1000000000000ull / 115200;
    CHECK(dt >= 128ull * 52500000ull + wire);
    CHECK(dt < 128ull * 52500000ull + wire + 1000000000ull);
    CHECK_EQ(lode_sim_mem_read(r.sim, FLASH + 0x400, back, sizeof back), LODE_OK);
    CHECK(!memcmp(d, back, sizeof d));
    memset(back, 0, sizeof back);
    CHECK(read_mem(&r, FLASH + 0x400, back, sizeof back));
    CHECK(!memcmp(d, back, sizeof d));
    /* over bytes not erased: the FPEC's PGERR, NACK */
    uint8_t ones[4] = {0x01, 0x01, 0x01, 0x01};
    CHECK(!write_mem(&r, FLASH + 0x400, ones, 4));
    /* unaligned into flash, outside any memory, into the bootloader's RAM: NACK at the address */
    CHECK_EQ(cmd(&r, 0x31), ACK);
    CHECK_EQ(addr(&r, FLASH + 2), NACK);
    CHECK_EQ(cmd(&r, 0x11), ACK);
    CHECK_EQ(addr(&r, 0x30000000u), NACK);
    CHECK_EQ(cmd(&r, 0x31), ACK);
    CHECK_EQ(addr(&r, 0x20000100u), NACK);
    /* a wrong address checksum */
    CHECK_EQ(cmd(&r, 0x11), ACK);
    uint8_t pa[5] = {0x08, 0, 0, 0, 0x00};
    tx(&r, pa, 5);
    CHECK(r.n == 1 && r.out[0] == NACK);
    /* Erase page 1 (N=0, page 1, checksum 0^1) */
    CHECK_EQ(cmd(&r, 0x43), ACK);
    uint8_t pe[3] = {0x00, 0x01, 0x01};
    t0 = lode_sim_now(r.sim);
    tx(&r, pe, 3);
    CHECK(r.n == 1 && r.out[0] == ACK);
    CHECK(lode_sim_now(r.sim) - t0 >= 20ull * 1000000000ull); /* tERASE 20 ms */
    CHECK_EQ(lode_sim_mem_read(r.sim, FLASH + 0x400, back, 4), LODE_OK);
    CHECK(back[0] == 0xFF && back[3] == 0xFF);
    CHECK(write_mem(&r, FLASH, d, 16));
    /* global erase */
    CHECK_EQ(cmd(&r, 0x43), ACK);
    uint8_t ge[2] = {0xFF, 0x00};
    tx(&r, ge, 2);
    CHECK(r.n == 1 && r.out[0] == ACK);
    CHECK_EQ(lode_sim_mem_read(r.sim, FLASH, back, 4), LODE_OK);
    CHECK(back[0] == 0xFF);
    rig_close(&r);
}

static void test_extended_erase_variant(void)
{
    rig_s r;
    rig_open(&r, true);
    tx1(&r, 0x7F);
    CHECK_EQ(cmd(&r, 0x00), ACK);
    CHECK(memchr(r.out + 3, 0x44, 11) != NULL && memchr(r.out + 3, 0x43, 11) == NULL);
    CHECK_EQ(cmd(&r, 0x43), NACK);
    uint8_t d[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];
    CHECK(write_mem(&r, FLASH + 2 * 1024, d, 8));
    CHECK(write_mem(&r, FLASH + 3 * 1024, d, 8));
    /* pages 2 and 3: N = 0x0001, 0x0002, 0x0003, checksum */
    CHECK_EQ(cmd(&r, 0x44), ACK);
    uint8_t pe[7] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0};
    pe[6] = pe[0] ^ pe[1] ^ pe[2] ^ pe[3] ^ pe[4] ^ pe[5];
    tx(&r, pe, 7);
    CHECK(r.n == 1 && r.out[0] == ACK);
    CHECK_EQ(lode_sim_mem_read(r.sim, FLASH + 3 * 1024, back, 8), LODE_OK);
    CHECK(back[0] == 0xFF && back[7] == 0xFF);
    CHECK(write_mem(&r, FLASH, d, 8));
    CHECK_EQ(cmd(&r, 0x44), ACK);
    uint8_t me[3] = {0xFF, 0xFF, 0x00};
    tx(&r, me, 3);
    CHECK(r.n == 1 && r.out[0] == ACK);
    CHECK_EQ(lode_sim_mem_read(r.sim, FLASH, back, 8), LODE_OK);
    CHECK(back[0] == 0xFF);
    rig_close(&r);
}

static void test_readout_protection(void)
{
    rig_s r;
    rig_open(&r, false);
    tx1(&r, 0x7F);
    uint8_t d[16], back[16];
    memset(d, 0x5A, sizeof d);
    CHECK(write_mem(&r, FLASH, d, sizeof d));
    CHECK_EQ(cmd(&r, 0x82), ACK); /* Readout Protect: ACK, ACK, reset */
    REQUIRE(r.n == 2);
    CHECK_EQ(r.out[1], ACK);
    CHECK_EQ(cmd(&r, 0x00), 0); /* after the reset: auto-baud again */
    tx1(&r, 0x7F);
    CHECK(r.n == 1 && r.out[0] == ACK);
    CHECK_EQ(cmd(&r, 0x11), NACK);
    CHECK_EQ(cmd(&r, 0x31), NACK);
    CHECK_EQ(cmd(&r, 0x43), NACK);
    CHECK_EQ(cmd(&r, 0x01), ACK); /* Get Version is served */
    CHECK_EQ(cmd(&r, 0x92), ACK); /* Readout Unprotect: mass erase, reset */
    REQUIRE(r.n == 2);
    CHECK_EQ(r.out[1], ACK);
    tx1(&r, 0x7F);
    CHECK(r.n == 1 && r.out[0] == ACK);
    CHECK(read_mem(&r, FLASH, back, sizeof back));
    CHECK(back[0] == 0xFF && back[15] == 0xFF);
    /* Write Protect sector 0 (pages 0-3): writes there fail, elsewhere work; Unprotect */
    CHECK_EQ(cmd(&r, 0x63), ACK);
    uint8_t wp[3] = {0x00, 0x00, 0x00};
    tx(&r, wp, 3);
    CHECK(r.n == 1 && r.out[0] == ACK);
    tx1(&r, 0x7F);
    CHECK(!write_mem(&r, FLASH, d, 4));
    CHECK(write_mem(&r, FLASH + 4096, d, 4));
    CHECK_EQ(cmd(&r, 0x73), ACK);
    CHECK(r.n == 2 && r.out[1] == ACK);
    tx1(&r, 0x7F);
    CHECK(write_mem(&r, FLASH, d, 4));
    rig_close(&r);
}

typedef struct echo_s {
    uint8_t b[16];
    size_t n;
} echo_s;

static void on_output(void *user, const char *port, const uint8_t *data, size_t len)
{
    echo_s *e = user;
    for (size_t i = 0; !strcmp(port, "USART1") && i < len && e->n < sizeof e->b; i++)
        e->b[e->n++] = data[i];
}

/* Go: an application that echoes what USART1 receives, byte + 1, polled (the receive path). */
static void test_go_echo(void)
{
    rig_s r;
    rig_open(&r, false);
    tx1(&r, 0x7F);
    /* Thumb code at 0x08000100:
     *   ldr r0,=0x40021018 ; movw r1,#0x4004 ; str r1,[r0]         RCC_APB2ENR: USART1, GPIOA
     *   ldr r0,=0x40013800 ; movs r1,#69 ; str r1,[r0,#8]          BRR 8 MHz / 115200
     *   movw r1,#0x200C ; str r1,[r0,#12]                          CR1: UE, TE, RE
     * loop: ldr r1,[r0] ; lsls r1,r1,#26 ; bpl loop               RXNE
     *   ldr r1,[r0,#4] ; adds r1,#1 ; str r1,[r0,#4] ; b loop */
    static const uint8_t code[] = {
        0x08, 0x48, 0x44, 0xf2, 0x04, 0x01, 0x01, 0x60, 0x07, 0x48, 0x45, 0x21, 0x81, 0x60, 0x42, 0xf2,
        0x0c, 0x01, 0xc1, 0x60, 0x01, 0x68, 0x89, 0x06, 0xfc, 0xd5, 0x41, 0x68, 0x01, 0x31, 0x41, 0x60,
        0xf8, 0xe7, 0x00, 0x00, 0x18, 0x10, 0x02, 0x40, 0x00, 0x38, 0x01, 0x40};
    uint8_t vec[8] = {0x00, 0x50, 0x00, 0x20, 0x01, 0x01, 0x00, 0x08}; /* SP 0x20005000, reset 0x08000101 */
    CHECK(write_mem(&r, FLASH, vec, 8));
    CHECK(write_mem(&r, FLASH + 0x100, code, sizeof code));
    CHECK_EQ(cmd(&r, 0x21), ACK);
    CHECK_EQ(addr(&r, FLASH), ACK);
    CHECK(lode_sim_an3155_running(r.m));
    echo_s echo = {.n = 0};
    lode_sim_set_output(r.sim, on_output, &echo);
    lode_sim_advance(r.sim, 1000000000ull); /* 1 ms: set-up done */
    CHECK_EQ(lode_sim_uart_input(r.sim, "USART1", (const uint8_t *)"AB", 2), LODE_OK);
    CHECK_EQ(lode_sim_uart_input(r.sim, "USART9", (const uint8_t *)"A", 1), LODE_E_NO_DEVICE);
    lode_sim_advance(r.sim, 1000000000ull);
    CHECK(echo.n == 2 && echo.b[0] == 'B' && echo.b[1] == 'C');
    rig_close(&r);
}

int main(void)
{
    RUN_TEST(test_sync_get);
    RUN_TEST(test_write_read_erase);
    RUN_TEST(test_extended_erase_variant);
    RUN_TEST(test_readout_protection);
    RUN_TEST(test_go_echo);
    return TEST_DONE();
}
