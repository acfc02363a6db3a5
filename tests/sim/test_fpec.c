/* SPDX-License-Identifier: MIT */
/* STM32F103C8 on the simulated board, through the public API only: the flash program/erase
 * controller (FPEC) step by step as RM0008 §3 / PM0075 describe it, option bytes, power loss
 * during an erase, and a few of the other modelled peripherals (RCC, USART1, memory map). */
#include "lode/sim.h"
#include "test.h"

#define FLASH_BASE 0x08000000u
#define PAGE 1024u
#define FPEC 0x40022000u
#define F_ACR (FPEC + 0x00)
#define F_KEYR (FPEC + 0x04)
#define F_OPTKEYR (FPEC + 0x08)
#define F_SR (FPEC + 0x0C)
#define F_CR (FPEC + 0x10)
#define F_AR (FPEC + 0x14)
#define F_OBR (FPEC + 0x1C)
#define F_WRPR (FPEC + 0x20)
#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_BSY 0x01u
#define SR_PGERR 0x04u
#define SR_WRPRTERR 0x10u
#define SR_EOP 0x20u
#define CR_PG 0x01u
#define CR_PER 0x02u
#define CR_MER 0x04u
#define CR_OPTPG 0x10u
#define CR_OPTER 0x20u
#define CR_STRT 0x40u
#define CR_LOCK 0x80u
#define CR_OPTWRE 0x200u

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
    (void)port;
    for (size_t i = 0; i < len && o->n < sizeof o->buf - 1; i++)
        o->buf[o->n++] = (char)data[i];
}

static void halt(lode_sim_s *s) { CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0003u), LODE_OK); }

static lode_sim_s *open_sim(out_s *o)
{
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "STM32F103C8";
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

static uint16_t rd16(lode_sim_s *s, uint32_t a)
{
    uint8_t b[2] = {0, 0};
    CHECK_EQ(lode_sim_mem_read(s, a, b, 2), LODE_OK);
    return (uint16_t)(b[0] | (b[1] << 8));
}

static int wr16(lode_sim_s *s, uint32_t a, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return lode_sim_mem_write(s, a, b, 2); /* one 16-bit access at an even address */
}

static int wr8(lode_sim_s *s, uint32_t a, uint8_t v) { return lode_sim_mem_write(s, a, &v, 1); }

static void unlock(lode_sim_s *s)
{
    CHECK_EQ(lode_sim_write32(s, F_KEYR, KEY1), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_KEYR, KEY2), LODE_OK);
    CHECK_EQ(rd(s, F_CR) & CR_LOCK, 0);
}

/* Poll SR.BSY with `step` of virtual time between reads; returns the time BSY stayed set
 * (measured from the call). */
static uint64_t wait_idle(lode_sim_s *s, uint64_t step, uint64_t limit)
{
    uint64_t t0 = lode_sim_now(s);
    while ((rd(s, F_SR) & SR_BSY) && lode_sim_now(s) - t0 < limit)
        lode_sim_run(s, step);
    return lode_sim_now(s) - t0;
}

static void program(lode_sim_s *s, uint32_t a, uint16_t v)
{
    CHECK_EQ(wr16(s, a, v), LODE_OK);
    wait_idle(s, 10 * US, 10 * MS);
}

static void test_reset_state(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    CHECK_EQ(rd(s, F_CR), 0x80);           /* LOCK */
    CHECK_EQ(rd(s, F_SR), 0);
    CHECK_EQ(rd(s, F_ACR), 0x30);          /* PRFTBE | PRFTBS */
    CHECK_EQ(rd(s, F_OBR), 0x03FFFFFC);    /* factory option bytes, RDPRT = 0 */
    CHECK_EQ(rd(s, F_WRPR), 0xFFFFFFFF);   /* no write protection */
    CHECK_EQ(rd(s, 0x1FFFF800u), 0x00FF5AA5);
    CHECK_EQ(rd16(s, 0x1FFFF7E0u), 64);    /* F_SIZE in KiB */
    CHECK_EQ(rd(s, 0xE0042000u), 0x20036410);
    CHECK_EQ(rd(s, FLASH_BASE), 0xFFFFFFFF);
    CHECK_EQ(rd(s, FLASH_BASE + 64 * 1024 - 4), 0xFFFFFFFF);
    CHECK_EQ(rd(s, 0x20000000u + 20 * 1024 - 4) != 0xDEADBEEFu, 1);
    uint32_t v;
    CHECK(lode_sim_read32(s, FLASH_BASE + 64 * 1024, &v) != LODE_OK); /* past the flash */
    CHECK(lode_sim_read32(s, 0x20005000u, &v) != LODE_OK);            /* past the SRAM */
    lode_sim_free(s);
}

static void test_locked_cr_ignores_writes(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    CHECK_EQ(rd(s, F_CR), 0x80);
    /* PG is not set, so a half-word store into the array starts nothing */
    CHECK_EQ(wr16(s, FLASH_BASE, 0x1234), LODE_OK);
    CHECK_EQ(rd16(s, FLASH_BASE), 0xFFFF);
    CHECK_EQ(rd(s, F_SR), 0);
    /* unlock, lock again with LOCK, unlock again */
    unlock(s);
    CHECK_EQ(rd(s, F_CR), 0);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_LOCK), LODE_OK);
    CHECK_EQ(rd(s, F_CR), 0x80);
    CHECK_EQ(lode_sim_write32(s, F_CR, 0), LODE_OK); /* LOCK cannot be cleared by writing 0 */
    CHECK_EQ(rd(s, F_CR), 0x80);
    unlock(s);
    lode_sim_free(s);
}

static void test_wrong_key_locks_until_reset(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    /* KEY1 right, KEY2 wrong: the second write gets a bus error */
    CHECK_EQ(lode_sim_write32(s, F_KEYR, KEY1), LODE_OK);
    CHECK(lode_sim_write32(s, F_KEYR, 0x12345678u) != LODE_OK);
    CHECK_EQ(rd(s, F_CR), 0x80);
    /* the right sequence no longer helps */
    CHECK(lode_sim_write32(s, F_KEYR, KEY1) != LODE_OK);
    CHECK(lode_sim_write32(s, F_KEYR, KEY2) != LODE_OK);
    CHECK_EQ(rd(s, F_CR), 0x80);
    lode_sim_power_on_reset(s);
    halt(s);
    unlock(s);
    /* a wrong first key faults at once */
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_LOCK), LODE_OK);
    CHECK(lode_sim_write32(s, F_KEYR, KEY2) != LODE_OK);
    CHECK(lode_sim_write32(s, F_KEYR, KEY1) != LODE_OK);
    CHECK_EQ(rd(s, F_CR), 0x80);
    lode_sim_free(s);
}

static void test_program_halfword(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    unlock(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    CHECK_EQ(wr16(s, FLASH_BASE + 0x100, 0x1234), LODE_OK);
    CHECK_EQ(rd(s, F_SR) & SR_BSY, SR_BSY);
    uint64_t t = wait_idle(s, 1 * US, 1 * MS);
    /* DS5319: tprog typ 52.5 us */
    CHECK(t >= 52 * US && t <= 54 * US);
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x100), 0x1234);
    CHECK_EQ(rd16(s, 0x100), 0x1234); /* boot alias at 0 */
    CHECK_EQ(rd16(s, FLASH_BASE + 0x102), 0xFFFF);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK); /* EOP: write 1 clears */
    CHECK_EQ(rd(s, F_SR), 0);

    /* a flash read while programming stalls until the operation ends */
    CHECK_EQ(wr16(s, FLASH_BASE + 0x104, 0xA5A5), LODE_OK);
    uint64_t t0 = lode_sim_now(s);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x104), 0xA5A5);
    uint64_t dt = lode_sim_now(s) - t0;
    CHECK(dt >= 52 * US && dt <= 53 * US);
    CHECK_EQ(rd(s, F_SR) & SR_BSY, 0);
    lode_sim_free(s);
}

static void test_program_errors(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    unlock(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    program(s, FLASH_BASE + 0x200, 0x1234);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK);
    /* not erased and not 0x0000: PGERR, nothing programmed */
    CHECK_EQ(wr16(s, FLASH_BASE + 0x200, 0x1030), LODE_OK);
    CHECK_EQ(rd(s, F_SR), SR_PGERR);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x200), 0x1234);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_PGERR), LODE_OK);
    CHECK_EQ(rd(s, F_SR), 0);
    /* 0x0000 may be written over anything (PM0075 §2.3.3) */
    program(s, FLASH_BASE + 0x200, 0x0000);
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x200), 0x0000);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK);
    /* only half-words: word and byte stores with PG set get a bus error */
    CHECK(lode_sim_write32(s, FLASH_BASE + 0x300, 0x11223344u) != LODE_OK);
    CHECK(wr8(s, FLASH_BASE + 0x301, 0x55) != LODE_OK);
    CHECK_EQ(rd(s, FLASH_BASE + 0x300), 0xFFFFFFFF);
    CHECK_EQ(rd(s, F_SR), 0);
    /* with PG clear a half-word store is ignored */
    CHECK_EQ(lode_sim_write32(s, F_CR, 0), LODE_OK);
    CHECK_EQ(wr16(s, FLASH_BASE + 0x300, 0x1111), LODE_OK);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x300), 0xFFFF);
    lode_sim_free(s);
}

static void test_page_and_mass_erase(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    unlock(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    program(s, FLASH_BASE + 5 * PAGE, 0x1111);
    program(s, FLASH_BASE + 5 * PAGE + PAGE - 2, 0x2222);
    program(s, FLASH_BASE + 6 * PAGE, 0x3333);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK);

    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PER), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_AR, FLASH_BASE + 5 * PAGE + 0x10), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PER | CR_STRT), LODE_OK);
    CHECK_EQ(rd(s, F_SR) & SR_BSY, SR_BSY);
    uint64_t t = wait_idle(s, 100 * US, 100 * MS);
    CHECK(t >= 20 * MS && t <= 20 * MS + 200 * US); /* tERASE 20 ms */
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd(s, F_CR), CR_PER);                  /* STRT cleared by hardware */
    CHECK_EQ(rd16(s, FLASH_BASE + 5 * PAGE), 0xFFFF);
    CHECK_EQ(rd16(s, FLASH_BASE + 5 * PAGE + PAGE - 2), 0xFFFF);
    CHECK_EQ(rd16(s, FLASH_BASE + 6 * PAGE), 0x3333);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK);

    CHECK_EQ(lode_sim_write32(s, F_CR, CR_MER), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_MER | CR_STRT), LODE_OK);
    t = wait_idle(s, 100 * US, 100 * MS);
    CHECK(t >= 20 * MS && t <= 20 * MS + 200 * US); /* tME 20 ms */
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd16(s, FLASH_BASE + 6 * PAGE), 0xFFFF);
    lode_sim_free(s);
}

static void test_power_loss_during_erase(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    uint8_t old[PAGE];
    for (unsigned i = 0; i < PAGE; i++)
        old[i] = (uint8_t)(i * 37u + 11u);
    CHECK_EQ(lode_sim_load(s, FLASH_BASE + 7 * PAGE, old, PAGE), LODE_OK);
    unlock(s);
    lode_sim_inject_power_loss(s, 1);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PER), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_AR, FLASH_BASE + 7 * PAGE), LODE_OK);
    lode_sim_write32(s, F_CR, CR_PER | CR_STRT);
    lode_sim_run(s, 1 * MS);
    halt(s);
    CHECK_EQ(rd(s, F_CR), 0x80); /* the chip went through reset */
    uint8_t now[PAGE];
    CHECK_EQ(lode_sim_mem_read(s, FLASH_BASE + 7 * PAGE, now, PAGE), LODE_OK);
    unsigned bad = 0, changed = 0;
    for (unsigned i = 0; i < PAGE; i++) {
        if ((now[i] & old[i]) != old[i])
            bad++; /* an erase can only turn bits to 1 */
        if (now[i] != old[i])
            changed++;
    }
    CHECK_EQ(bad, 0);
    CHECK(changed > 0); /* the interrupted erase did change bits */
    /* erase again and program: works */
    unlock(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PER), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_AR, FLASH_BASE + 7 * PAGE), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PER | CR_STRT), LODE_OK);
    wait_idle(s, 1 * MS, 100 * MS);
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(lode_sim_mem_read(s, FLASH_BASE + 7 * PAGE, now, PAGE), LODE_OK);
    unsigned not_erased = 0;
    for (unsigned i = 0; i < PAGE; i++)
        not_erased += now[i] != 0xFF;
    CHECK_EQ(not_erased, 0);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    program(s, FLASH_BASE + 7 * PAGE + 8, 0xBEEF);
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd16(s, FLASH_BASE + 7 * PAGE + 8), 0xBEEF);
    lode_sim_free(s);
}

static void test_option_bytes_and_write_protection(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    unlock(s);
    /* option byte writes need the OPTKEYR sequence (OPTWRE) */
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_OPTER | CR_STRT), LODE_OK);
    CHECK_EQ(rd(s, F_SR) & SR_BSY, 0);
    CHECK_EQ(rd(s, 0x1FFFF800u), 0x00FF5AA5);
    CHECK_EQ(lode_sim_write32(s, F_OPTKEYR, KEY1), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_OPTKEYR, KEY2), LODE_OK);
    CHECK_EQ(rd(s, F_CR) & CR_OPTWRE, CR_OPTWRE);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_OPTWRE | CR_OPTER), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_OPTWRE | CR_OPTER | CR_STRT), LODE_OK);
    uint64_t t = wait_idle(s, 1 * MS, 100 * MS);
    CHECK(t >= 20 * MS);
    CHECK_EQ(rd(s, 0x1FFFF800u), 0xFFFFFFFF);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_OPTWRE | CR_OPTPG), LODE_OK);
    CHECK_EQ(wr16(s, 0x1FFFF800u, 0x00A5), LODE_OK); /* RDP: level 0 */
    wait_idle(s, 10 * US, 1 * MS);
    CHECK_EQ(wr16(s, 0x1FFFF808u, 0x00FE), LODE_OK); /* WRP0: protect pages 0..3 */
    wait_idle(s, 10 * US, 1 * MS);
    CHECK_EQ(rd16(s, 0x1FFFF800u), 0x5AA5);          /* complement written by hardware */
    CHECK_EQ(rd16(s, 0x1FFFF808u), 0x01FE);
    /* programming a non-erased option byte: WRPRTERR */
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_EOP), LODE_OK);
    CHECK_EQ(wr16(s, 0x1FFFF808u, 0x00FC), LODE_OK);
    CHECK_EQ(rd(s, F_SR) & SR_WRPRTERR, SR_WRPRTERR);
    /* the loader takes the new values at reset */
    CHECK_EQ(rd(s, F_WRPR), 0xFFFFFFFF);
    lode_sim_power_on_reset(s);
    halt(s);
    CHECK_EQ(rd(s, F_WRPR), 0xFFFFFFFE);
    CHECK_EQ(rd(s, F_OBR) & 2u, 0); /* RDPRT clear */
    unlock(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    CHECK_EQ(wr16(s, FLASH_BASE + 2 * PAGE, 0x1234), LODE_OK);  /* page 2: protected */
    CHECK_EQ(rd(s, F_SR), SR_WRPRTERR);
    CHECK_EQ(rd16(s, FLASH_BASE + 2 * PAGE), 0xFFFF);
    CHECK_EQ(lode_sim_write32(s, F_SR, SR_WRPRTERR), LODE_OK);
    program(s, FLASH_BASE + 4 * PAGE, 0x1234);                   /* page 4: not protected */
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd16(s, FLASH_BASE + 4 * PAGE), 0x1234);
    lode_sim_free(s);
}

static void test_rcc_usart(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t rcc = 0x40021000u, us = 0x40013800u;
    CHECK_EQ(rd(s, rcc + 0x00) & 3u, 3u);          /* HSION, HSIRDY */
    CHECK_EQ(rd(s, rcc + 0x14), 0x14);             /* AHBENR */
    /* 72 MHz set-up: HSE on, PLL x9 from HSE, switch */
    CHECK_EQ(lode_sim_write32(s, rcc + 0x00, rd(s, rcc) | (1u << 16)), LODE_OK);
    CHECK_EQ(rd(s, rcc) & (1u << 17), 1u << 17);   /* HSERDY */
    CHECK_EQ(lode_sim_write32(s, rcc + 0x04, (1u << 16) | (7u << 18) | (4u << 8)), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, rcc + 0x00, rd(s, rcc) | (1u << 24)), LODE_OK);
    CHECK_EQ(rd(s, rcc) & (1u << 25), 1u << 25);   /* PLLRDY */
    CHECK_EQ(lode_sim_write32(s, rcc + 0x04, rd(s, rcc + 4) | 2u), LODE_OK);
    CHECK_EQ((rd(s, rcc + 0x04) >> 2) & 3u, 2u);  /* SWS = PLL */

    /* USART1 with its clock off: writes ignored */
    CHECK_EQ(lode_sim_write32(s, us + 0x0C, 0x2008), LODE_OK);
    CHECK_EQ(rd(s, us + 0x0C), 0);
    CHECK_EQ(lode_sim_write32(s, rcc + 0x18, (1u << 14) | (1u << 2)), LODE_OK);
    CHECK_EQ(rd(s, us + 0x00), 0xC0);              /* TXE, TC */
    CHECK_EQ(lode_sim_write32(s, us + 0x08, 625), LODE_OK); /* 72 MHz / 115200 */
    CHECK_EQ(lode_sim_write32(s, us + 0x0C, 0x2008), LODE_OK); /* UE | TE */
    CHECK_EQ(lode_sim_write32(s, us + 0x04, 'o'), LODE_OK);
    CHECK_EQ(rd(s, us + 0x00) & 0xC0u, 0x80u);     /* TXE, TC=0 while the frame shifts out */
    CHECK_EQ(lode_sim_write32(s, us + 0x04, 'k'), LODE_OK);
    CHECK_EQ(rd(s, us + 0x00) & 0xC0u, 0x00u);     /* TDR full */
    lode_sim_run(s, 200 * US);                     /* two frames of 86.8 us */
    CHECK_EQ(rd(s, us + 0x00) & 0xC0u, 0xC0u);
    CHECK_EQ(o.n, 2);
    CHECK(memcmp(o.buf, "ok", 2) == 0);
    lode_sim_free(s);
}

static void test_memory_map(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    uint32_t v;
    CHECK_EQ(lode_sim_read32(s, 0x40000000u, &v), LODE_OK);   /* TIM2: unmodeled, reads 0 */
    CHECK_EQ(v, 0);
    CHECK(lode_sim_read32(s, 0x40001000u, &v) != LODE_OK);    /* reserved */
    CHECK(lode_sim_read32(s, 0x40024000u, &v) != LODE_OK);    /* past CRC */
    CHECK_EQ(lode_sim_read32(s, 0x40010800u, &v), LODE_OK);   /* GPIOA, clock off: 0 */
    CHECK_EQ(lode_sim_write32(s, 0x40021018u, 1u << 2), LODE_OK);
    CHECK_EQ(rd(s, 0x40010800u), 0x44444444);
    CHECK_EQ(lode_sim_write32(s, 0x40010800u, 0x44444443u), LODE_OK); /* PA0 output */
    CHECK_EQ(lode_sim_write32(s, 0x40010810u, 1u), LODE_OK);         /* BSRR: set PA0 */
    CHECK_EQ(rd(s, 0x4001080Cu), 1);
    CHECK_EQ(rd(s, 0x40010808u) & 1u, 1);
    CHECK_EQ(lode_sim_write32(s, 0x40010814u, 1u), LODE_OK);         /* BRR */
    CHECK_EQ(rd(s, 0x4001080Cu), 0);
    lode_sim_free(s);
}

/* The CPU performs the stores: a half-word store programs, a byte store gets a bus error
 * (BusFault escalated to HardFault; the handler is a BKPT in RAM). */
static void test_cpu_stores(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t code = 0x20000000u, vt = 0x20000200u, hf = 0x20000300u;
    const uint8_t prog[] = {0x01, 0x80, 0x00, 0xBE,  /* strh r1,[r0]; bkpt #0 */
                            0x01, 0x70, 0x00, 0xBE}; /* strb r1,[r0]; bkpt #0 */
    const uint8_t handler[] = {0x01, 0xBE};          /* bkpt #1 */
    CHECK_EQ(lode_sim_mem_write(s, code, prog, sizeof prog), LODE_OK);
    CHECK_EQ(lode_sim_mem_write(s, hf, handler, sizeof handler), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, vt + 0, 0x20004000u), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, vt + 12, hf | 1u), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, 0xE000ED08u, vt), LODE_OK); /* VTOR */
    unlock(s);
    CHECK_EQ(lode_sim_write32(s, F_CR, CR_PG), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 0, FLASH_BASE + 0x400), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 1, 0x1234), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 13, 0x20004000u), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 15, code), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 16, 0x01000000u), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK); /* run */
    CHECK_EQ(lode_sim_run(s, 1 * MS), LODE_SIM_STOP_HALTED);
    uint32_t pc = 0;
    CHECK_EQ(lode_sim_reg_read(s, 15, &pc), LODE_OK);
    CHECK_EQ(pc, code + 2);
    wait_idle(s, 10 * US, 1 * MS);
    CHECK_EQ(rd(s, F_SR), SR_EOP);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x400), 0x1234);
    /* strb with PG set: bus error */
    CHECK_EQ(lode_sim_reg_write(s, 0, FLASH_BASE + 0x402), LODE_OK);
    CHECK_EQ(lode_sim_reg_write(s, 15, code + 4), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK);
    CHECK_EQ(lode_sim_run(s, 1 * MS), LODE_SIM_STOP_HALTED);
    CHECK_EQ(lode_sim_reg_read(s, 15, &pc), LODE_OK);
    CHECK_EQ(pc, hf);
    CHECK_EQ(rd16(s, FLASH_BASE + 0x402), 0xFFFF);
    lode_sim_free(s);
}

/* Stores to flash without PG (the FPEC locked), three to the same word in one translated
 * block, directly and through the boot alias at 0: the array keeps its content. (The board
 * restores flash after a CPU store lands; a second store to the same bytes before the
 * restore once left the first store's value behind.) */
static void test_repeated_stores(void)
{
    out_s o = {0};
    lode_sim_s *s = open_sim(&o);
    REQUIRE(s);
    const uint32_t code = 0x20000000u, vt = 0x20000200u, hf = 0x20000300u;
    const uint8_t prog[] = {0x01, 0x60, 0x01, 0x60, 0x01, 0x60, 0x00, 0xBE}; /* str r1,[r0] x3; bkpt */
    const uint8_t handler[] = {0x01, 0xBE};                                 /* bkpt #1 */
    const uint8_t data[8] = {0x6C, 0x6F, 0x64, 0x65, 0x12, 0x34, 0x56, 0x78};
    CHECK_EQ(lode_sim_load(s, FLASH_BASE + 0x100, data, sizeof data), LODE_OK);
    CHECK_EQ(lode_sim_mem_write(s, code, prog, sizeof prog), LODE_OK);
    CHECK_EQ(lode_sim_mem_write(s, hf, handler, sizeof handler), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, vt + 0, 0x20004000u), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, vt + 12, hf | 1u), LODE_OK);
    CHECK_EQ(lode_sim_write32(s, 0xE000ED08u, vt), LODE_OK); /* VTOR */
    const uint32_t targets[] = {FLASH_BASE + 0x100, 0x00000104u};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        halt(s);
        CHECK_EQ(lode_sim_reg_write(s, 0, targets[i]), LODE_OK);
        CHECK_EQ(lode_sim_reg_write(s, 1, 0), LODE_OK);
        CHECK_EQ(lode_sim_reg_write(s, 13, 0x20004000u), LODE_OK);
        CHECK_EQ(lode_sim_reg_write(s, 15, code), LODE_OK);
        CHECK_EQ(lode_sim_reg_write(s, 16, 0x01000000u), LODE_OK);
        CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK); /* run */
        CHECK_EQ(lode_sim_run(s, 1 * MS), LODE_SIM_STOP_HALTED);
        uint8_t back[8] = {0};
        CHECK_EQ(lode_sim_mem_read(s, FLASH_BASE + 0x100, back, sizeof back), LODE_OK);
        CHECK(memcmp(back, data, sizeof data) == 0);
    }
    lode_sim_free(s);
}

int main(void)
{
    RUN_TEST(test_reset_state);
    RUN_TEST(test_locked_cr_ignores_writes);
    RUN_TEST(test_wrong_key_locks_until_reset);
    RUN_TEST(test_program_halfword);
    RUN_TEST(test_program_errors);
    RUN_TEST(test_page_and_mass_erase);
    RUN_TEST(test_power_loss_during_erase);
    RUN_TEST(test_option_bytes_and_write_protection);
    RUN_TEST(test_rcc_usart);
    RUN_TEST(test_memory_map);
    RUN_TEST(test_cpu_stores);
    RUN_TEST(test_repeated_stores);
    return TEST_DONE();
}
