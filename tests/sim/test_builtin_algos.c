/* SPDX-License-Identifier: MIT */
/* lode's built-in flash algorithms (firmware/flash-algos, turned into lodei_builtin_algos[] by
 * cmake/gen_builtin_algos.cmake) on the simulated chips: each blob from the generated table is
 * loaded at its load_address and called the CMSIS-Pack way — R0-R2 arguments, R9 static base,
 * SP at the top of RAM, LR at a BKPT stub after the blob, PC at load_address + pc_* — through
 * the public liblode-sim API only, until the core halts on the stub (result in R0).
 *
 * Checked per algorithm: erase and program are byte-exact and touch nothing else, a trailing
 * partial half-word / word is padded with the erased value, failures (programming over data,
 * a locked controller, addresses outside the region, misalignment) return nonzero, the
 * controller is left locked / read-only, and the virtual time of each call is the modeled
 * flash time plus a small overhead (STM32F1: page erase and mass erase 20 ms, half-word
 * 52.5 us; nRF52840: page erase 85 ms, ERASEALL 173 ms, ERASEUICR 85 ms, word 41 us). */
#include "lode/sim.h"
#include "samba-applet/applet.h"
#include "target/builtin_algos.h"
#include "test.h"

#define US 1000000ull
#define MS 1000000000ull

#define DHCSR 0xE000EDF0u
#define DFSR 0xE000ED30u
#define DFSR_BKPT 0x02u
#define FNC_ERASE 1u
#define FNC_PROGRAM 2u
#define NONE 0xFFFFFFFFu
#define MAX_PAGE 4096u
#define STACK_SIZE 0x800u

/* STM32F103C8 */
#define F1_FLASH 0x08000000u
#define F1_PAGE 1024u
#define F1_NPAGES 64u
#define F1_RAM_END 0x20005000u
#define F1_SR 0x4002200Cu
#define F1_CR 0x40022010u
#define F1_CR_LOCK 0x80u
#define F1_SR_ERR 0x14u /* PGERR | WRPRTERR */
#define F1_T_ERASE (20 * MS)
#define F1_T_HALFWORD (52500000ull)

/* nRF52840 */
#define N52_PAGE 4096u
#define N52_FLASH_SIZE 0x100000u
#define N52_UICR 0x10001000u
#define N52_RAM_END 0x20040000u
#define N52_CONFIG 0x4001E504u
#define N52_T_ERASEPAGE (85 * MS)
#define N52_T_ERASEALL (173 * MS)
#define N52_T_WORD (41 * US)

/* ATSAMD21G18A: 64-byte pages, 256-byte rows; the factory state keeps the first 8 KiB (lode's
 * SAM-BA bootloader) under BOOTPROT */
#define SD_RAM_END 0x20008000u
#define SD_ROW 256u
#define SD_T_ROW (6 * MS)
#define SD_T_PAGE (2500 * US)

typedef struct rig_s {
    lode_sim_s *sim;
    const lodei_builtin_algo_s *a;
    uint32_t code, stub, sb, buf[2], sp;
} rig_s;

static void on_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    (void)cat;
    if (level <= LODE_LOG_WARN)
        fprintf(stderr, "  [%s] %s\n", lode_log_level_name(level), msg);
}

static uint32_t rd(lode_sim_s *s, uint32_t a)
{
    uint32_t v = 0xDEADBEEFu;
    CHECK_EQ(lode_sim_read32(s, a, &v), LODE_OK);
    return v;
}

static uint32_t reg(lode_sim_s *s, unsigned n)
{
    uint32_t v = 0xDEADBEEFu;
    CHECK_EQ(lode_sim_reg_read(s, n, &v), LODE_OK);
    return v;
}

static uint32_t rng_state = 0x2545F491u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng();
}

static bool is_ff(lode_sim_s *s, uint32_t addr, uint32_t len)
{
    uint8_t b[MAX_PAGE];
    for (uint32_t off = 0; off < len; off += MAX_PAGE) {
        uint32_t n = len - off < MAX_PAGE ? len - off : MAX_PAGE;
        if (lode_sim_mem_read(s, addr + off, b, n) != LODE_OK)
            return false;
        for (uint32_t i = 0; i < n; i++)
            if (b[i] != 0xFF)
                return false;
    }
    return true;
}

static bool mem_is(lode_sim_s *s, uint32_t addr, const uint8_t *want, uint32_t len)
{
    uint8_t b[MAX_PAGE];
    return len <= MAX_PAGE && lode_sim_mem_read(s, addr, b, len) == LODE_OK && memcmp(b, want, len) == 0;
}

static const lodei_builtin_algo_s *find_algo(const char *name)
{
    for (size_t i = 0; i < lodei_builtin_algos_count; i++)
        if (strcmp(lodei_builtin_algos[i].name, name) == 0)
            return &lodei_builtin_algos[i];
    fprintf(stderr, "no built-in algorithm %s\n", name);
    return NULL;
}

static void halt(lode_sim_s *s)
{
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0003u), LODE_OK); /* C_DEBUGEN | C_HALT */
    CHECK(lode_sim_halted(s));
}

/* A fresh chip, halted, with the algorithm, a BKPT stub after it and two page buffers in RAM. */
static bool rig_open(rig_s *r, const char *chip, const char *algo, uint32_t ram_end)
{
    memset(r, 0, sizeof *r);
    r->a = find_algo(algo);
    if (!r->a)
        return false;
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip;
    cfg.log.fn = on_log;
    cfg.log.max_level = LODE_LOG_INFO;
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK)
        return false;
    halt(r->sim);
    const lodei_builtin_algo_s *a = r->a;
    r->code = a->load_address;
    r->stub = (r->code + (uint32_t)a->instructions_len + 3u) & ~3u;
    r->sb = r->code + a->data_section_offset;
    r->buf[0] = (r->stub + 4u + 255u) & ~255u;
    r->buf[1] = r->buf[0] + a->page_size;
    r->sp = ram_end;
    if (a->page_size > MAX_PAGE || r->buf[1] + a->page_size > ram_end - STACK_SIZE) {
        fprintf(stderr, "%s: layout does not fit the RAM\n", algo);
        return false;
    }
    static const uint8_t stub[4] = {0x00, 0xBE, 0x00, 0xBE}; /* BKPT #0; BKPT #0 */
    if (lode_sim_mem_write(r->sim, r->code, a->instructions, a->instructions_len) != LODE_OK ||
        lode_sim_mem_write(r->sim, r->stub, stub, sizeof stub) != LODE_OK)
        return false;
    return mem_is(r->sim, r->code, a->instructions, (uint32_t)a->instructions_len);
}

static void rig_close(rig_s *r)
{
    lode_sim_free(r->sim);
    r->sim = NULL;
}

/* Call the entry point at blob offset `pc` with R0-R2; its R0 in *ret, the virtual time from
 * resume to the halt on the stub in *ps. false when it did not come back there. */
static bool call(rig_s *r, uint32_t pc, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t *ret, uint64_t *ps)
{
    lode_sim_s *s = r->sim;
    *ret = 0xFFFFFFFFu;
    *ps = 0;
    if (pc == NONE || (pc & 1u) || pc >= r->a->instructions_len || !lode_sim_halted(s)) {
        fprintf(stderr, "call: bad entry 0x%x or core not halted\n", pc);
        return false;
    }
    const uint32_t regs[][2] = {
        {0, a0}, {1, a1}, {2, a2}, {3, 0}, {9, r->sb}, {13, r->sp},
        {14, r->stub | 1u}, {15, r->code + pc}, {16, 0x01000000u},
    };
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        if (lode_sim_reg_write(s, regs[i][0], regs[i][1]) != LODE_OK)
            return false;
    CHECK_EQ(lode_sim_write32(s, DFSR, 0x1Fu), LODE_OK); /* clear the sticky reasons */
    uint64_t t0 = lode_sim_now(s);
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK); /* resume */
    lode_sim_stop_e st = LODE_SIM_STOP_BUDGET;
    for (int i = 0; i < 200 && st == LODE_SIM_STOP_BUDGET; i++) /* at most 2 s */
        st = lode_sim_run(s, 10 * MS);
    *ps = lode_sim_now(s) - t0;
    if (st != LODE_SIM_STOP_HALTED) {
        fprintf(stderr, "call 0x%x: run stopped with %d, PC 0x%08x\n", pc, (int)st, reg(s, 15));
        halt(s);
        return false;
    }
    uint32_t dfsr = rd(s, DFSR), at = reg(s, 15);
    if (!(dfsr & DFSR_BKPT) || at != r->stub) {
        fprintf(stderr, "call 0x%x: halted with DFSR 0x%x at 0x%08x (stub 0x%08x)\n", pc, dfsr, at, r->stub);
        return false;
    }
    CHECK_EQ(reg(s, 13), r->sp); /* the stack is balanced */
    *ret = reg(s, 0);
    return true;
}

/* Copy `data` into page buffer `b` and call ProgramPage(addr, len, buffer). */
static bool program(rig_s *r, unsigned b, uint32_t addr, const uint8_t *data, uint32_t len, uint32_t *ret,
                    uint64_t *ps)
{
    if (lode_sim_mem_write(r->sim, r->buf[b], data, len) != LODE_OK)
        return false;
    return call(r, r->a->pc_program_page, addr, len, r->buf[b], ret, ps);
}

/* ---- the generated table ---------------------------------------------------------------------- */

static void test_table(void)
{
    static const struct {
        const char *name;
        uint32_t start, end, page, prog_ms, erase_ms;
    } want[] = {
        {"lode_stm32f1_64k", 0x08000000u, 0x08010000u, 1024u, 100u, 100u},
        {"lode_nrf52_1m", 0x00000000u, 0x00100000u, 4096u, 100u, 200u},
        {"lode_nrf52_uicr", 0x10001000u, 0x10002000u, 4096u, 100u, 200u},
        {"lode_samd21_256k", 0x00000000u, 0x00040000u, 256u, 50u, 50u},
    };
    CHECK_EQ(lodei_builtin_algos_count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const lodei_builtin_algo_s *a = find_algo(want[i].name);
        CHECK(a != NULL);
        if (!a)
            continue;
        fprintf(stderr, "  %-16s %3zu bytes at 0x%08x: init 0x%02x uninit 0x%02x program 0x%02x erase 0x%02x "
                        "erase_all 0x%02x data 0x%03x\n",
                a->name, a->instructions_len, a->load_address, a->pc_init, a->pc_uninit, a->pc_program_page,
                a->pc_erase_sector, a->pc_erase_all, a->data_section_offset);
        CHECK(a->description && *a->description);
        CHECK(a->instructions_len >= 8 && a->instructions_len <= 4096 && a->instructions_len % 4 == 0);
        CHECK_EQ(a->load_address, 0x20000000u);
        /* offset 0: BKPT #0; BKPT #0 */
        CHECK(a->instructions_len >= 4 && a->instructions[0] == 0x00 && a->instructions[1] == 0xBE &&
              a->instructions[2] == 0x00 && a->instructions[3] == 0xBE);
        const uint32_t pcs[] = {a->pc_init, a->pc_uninit, a->pc_program_page, a->pc_erase_sector, a->pc_erase_all};
        for (size_t k = 0; k < sizeof pcs / sizeof pcs[0]; k++) {
            CHECK(pcs[k] >= 4 && pcs[k] < a->instructions_len); /* EraseChip exists in all four */
            CHECK_EQ(pcs[k] & 1u, 0);                           /* offsets, Thumb bit clear */
            for (size_t m = 0; m < k; m++)
                CHECK(pcs[k] != pcs[m]);
        }
        CHECK_EQ(a->data_section_offset, a->instructions_len); /* no .data: R9 points past the code */
        CHECK_EQ(a->flash_start, want[i].start);
        CHECK_EQ(a->flash_end, want[i].end);
        CHECK_EQ(a->page_size, want[i].page);
        CHECK_EQ(a->sector_size, want[i].page);
        CHECK_EQ(a->erased_byte_value, 0xFF);
        CHECK_EQ(a->program_page_timeout_ms, want[i].prog_ms);
        CHECK_EQ(a->erase_sector_timeout_ms, want[i].erase_ms);
    }
}

/* ---- STM32F1 ---------------------------------------------------------------------------------- */

static const uint32_t f1_pages[] = {0, 1, 2, 3, F1_NPAGES - 1};
#define F1_N (sizeof f1_pages / sizeof f1_pages[0])

static void test_f1_erase_program(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", "lode_stm32f1_64k", F1_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    uint8_t old[F1_PAGE], neighbour[F1_PAGE];
    fill_random(old, F1_PAGE);
    fill_random(neighbour, F1_PAGE);
    for (size_t i = 0; i < F1_N; i++)
        REQUIRE(lode_sim_load(s, F1_FLASH + f1_pages[i] * F1_PAGE, old, F1_PAGE) == LODE_OK);
    REQUIRE(lode_sim_load(s, F1_FLASH + 4 * F1_PAGE, neighbour, F1_PAGE) == LODE_OK);
    uint32_t ret;
    uint64_t t;

    CHECK(rd(s, F1_CR) & F1_CR_LOCK);
    REQUIRE(call(&r, a->pc_init, F1_FLASH, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK_EQ(rd(s, F1_CR) & F1_CR_LOCK, 0); /* unlocked */
    /* Init on an unlocked FPEC must not write the keys again (that would lock it until reset) */
    REQUIRE(call(&r, a->pc_init, F1_FLASH, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK_EQ(rd(s, F1_CR) & F1_CR_LOCK, 0);
    for (size_t i = 0; i < F1_N; i++) {
        uint32_t addr = F1_FLASH + f1_pages[i] * F1_PAGE;
        REQUIRE(call(&r, a->pc_erase_sector, addr, 0, 0, &ret, &t));
        if (i == 0)
            fprintf(stderr, "  EraseSector(0x%08x) = %u in %.6f ms\n", addr, ret, (double)t / (double)MS);
        CHECK_EQ(ret, 0);
        CHECK(t >= F1_T_ERASE && t <= F1_T_ERASE + 200 * US);
        CHECK(is_ff(s, addr, F1_PAGE));
    }
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(rd(s, F1_CR) & F1_CR_LOCK);

    uint8_t data[F1_N][F1_PAGE];
    REQUIRE(call(&r, a->pc_init, F1_FLASH, 8000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);
    for (size_t i = 0; i < F1_N; i++) {
        uint32_t addr = F1_FLASH + f1_pages[i] * F1_PAGE;
        fill_random(data[i], F1_PAGE);
        REQUIRE(program(&r, i & 1u, addr, data[i], F1_PAGE, &ret, &t));
        uint64_t ideal = (F1_PAGE / 2) * F1_T_HALFWORD;
        if (i == 0)
            fprintf(stderr, "  ProgramPage(0x%08x, %u) = %u in %.6f ms (FPEC alone %.3f ms, +%.3f us/half-word)\n",
                    addr, F1_PAGE, ret, (double)t / (double)MS, (double)ideal / (double)MS,
                    (double)(t - ideal) / (F1_PAGE / 2) / (double)US);
        CHECK_EQ(ret, 0);
        CHECK(t >= ideal && t <= ideal + 3 * MS);
    }
    REQUIRE(call(&r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(rd(s, F1_CR) & F1_CR_LOCK);
    CHECK_EQ(rd(s, F1_SR) & F1_SR_ERR, 0);
    for (size_t i = 0; i < F1_N; i++)
        CHECK(mem_is(s, F1_FLASH + f1_pages[i] * F1_PAGE, data[i], F1_PAGE));
    CHECK(mem_is(s, F1_FLASH + 4 * F1_PAGE, neighbour, F1_PAGE)); /* not asked to touch it */
    CHECK(is_ff(s, F1_FLASH + 5 * F1_PAGE, (F1_NPAGES - 6) * F1_PAGE));
    rig_close(&r);
}

static void test_f1_partial_and_errors(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", "lode_stm32f1_64k", F1_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    const uint32_t page = F1_FLASH + 5 * F1_PAGE;
    uint32_t ret;
    uint64_t t;
    REQUIRE(call(&r, a->pc_init, F1_FLASH, 8000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);

    /* 7 bytes: three half-words and the last byte paired with 0xFF */
    uint8_t seven[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0xFF};
    REQUIRE(program(&r, 0, page, seven, 7, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(t >= 4 * F1_T_HALFWORD && t <= 4 * F1_T_HALFWORD + 100 * US);
    CHECK(mem_is(s, page, seven, 8));
    CHECK(is_ff(s, page + 8, F1_PAGE - 8));
    /* continue in the same page */
    uint8_t three[4] = {0xA1, 0xA2, 0xA3, 0xFF};
    REQUIRE(program(&r, 1, page + 8, three, 3, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(mem_is(s, page + 8, three, 4));

    /* over programmed data: PGERR on the first half-word, 1, flags cleared, nothing written */
    uint8_t other[8] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};
    REQUIRE(program(&r, 0, page, other, 8, &ret, &t));
    fprintf(stderr, "  ProgramPage over programmed data = %u after %.3f us\n", ret, (double)t / (double)US);
    CHECK_EQ(ret, 1);
    CHECK(t < 100 * US);
    CHECK_EQ(rd(s, F1_SR) & F1_SR_ERR, 0);
    CHECK(mem_is(s, page, seven, 8));
    /* an odd address */
    REQUIRE(program(&r, 0, page + 0x21, other, 2, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(is_ff(s, page + 0x20, 4));
    /* 0x0000 may be programmed over anything */
    uint8_t zero[8] = {0};
    REQUIRE(program(&r, 1, page, zero, 8, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(mem_is(s, page, zero, 8));
    REQUIRE(call(&r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);

    /* locked (no Init): the FPEC ignores everything; the algorithm notices */
    CHECK(rd(s, F1_CR) & F1_CR_LOCK);
    REQUIRE(program(&r, 0, page + 0x40, other, 8, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(is_ff(s, page + 0x40, 8));
    REQUIRE(call(&r, a->pc_erase_sector, page, 0, 0, &ret, &t));
    CHECK_EQ(ret, 1); /* no EOP */
    CHECK(mem_is(s, page, zero, 8));

    /* a page outside the array: no operation, no EOP */
    REQUIRE(call(&r, a->pc_init, F1_FLASH, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_erase_sector, 0x08100000u, 0, 0, &ret, &t));
    CHECK_EQ(ret, 1);
    REQUIRE(call(&r, a->pc_erase_sector, page, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(is_ff(s, page, F1_PAGE));
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(rd(s, F1_CR) & F1_CR_LOCK);
    rig_close(&r);
}

static void test_f1_erase_chip(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "STM32F103C8", "lode_stm32f1_64k", F1_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    uint8_t junk[F1_PAGE];
    for (uint32_t p = 0; p < F1_NPAGES; p += 7) {
        fill_random(junk, F1_PAGE);
        REQUIRE(lode_sim_load(s, F1_FLASH + p * F1_PAGE, junk, F1_PAGE) == LODE_OK);
    }
    uint32_t ret;
    uint64_t t;
    REQUIRE(call(&r, a->pc_init, F1_FLASH, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_erase_all, 0, 0, 0, &ret, &t));
    fprintf(stderr, "  EraseChip() = %u in %.6f ms\n", ret, (double)t / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= F1_T_ERASE && t <= F1_T_ERASE + 200 * US); /* modeled tME */
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(is_ff(s, F1_FLASH, F1_NPAGES * F1_PAGE));
    CHECK(mem_is(s, r.code, a->instructions, (uint32_t)a->instructions_len)); /* RAM untouched */
    rig_close(&r);
}

/* ---- nRF52840 --------------------------------------------------------------------------------- */

static void test_nrf52_erase_program(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "nRF52840_xxAA", "lode_nrf52_1m", N52_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    static const uint32_t pages[] = {0, 1, 255};
    static uint8_t old[N52_PAGE], neighbour[N52_PAGE], uicr[256], data[3][N52_PAGE];
    fill_random(old, N52_PAGE);
    fill_random(neighbour, N52_PAGE);
    fill_random(uicr, sizeof uicr);
    for (size_t i = 0; i < 3; i++)
        REQUIRE(lode_sim_load(s, pages[i] * N52_PAGE, old, N52_PAGE) == LODE_OK);
    REQUIRE(lode_sim_load(s, 2 * N52_PAGE, neighbour, N52_PAGE) == LODE_OK);
    REQUIRE(lode_sim_load(s, N52_UICR, uicr, sizeof uicr) == LODE_OK);
    uint32_t ret;
    uint64_t t;

    REQUIRE(call(&r, a->pc_init, 0, 64000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK_EQ(rd(s, N52_CONFIG), 0); /* Ren */
    for (size_t i = 0; i < 3; i++) {
        uint32_t addr = pages[i] * N52_PAGE;
        REQUIRE(call(&r, a->pc_erase_sector, addr, 0, 0, &ret, &t));
        if (i == 0)
            fprintf(stderr, "  EraseSector(0x%08x) = %u in %.6f ms\n", addr, ret, (double)t / (double)MS);
        CHECK_EQ(ret, 0);
        CHECK(t >= N52_T_ERASEPAGE && t <= N52_T_ERASEPAGE + 500 * US); /* + the blank check */
        CHECK(is_ff(s, addr, N52_PAGE));
        CHECK_EQ(rd(s, N52_CONFIG), 0);
    }
    /* outside the code flash */
    REQUIRE(call(&r, a->pc_erase_sector, N52_FLASH_SIZE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 1);
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);

    REQUIRE(call(&r, a->pc_init, 0, 64000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);
    for (size_t i = 0; i < 3; i++) {
        uint32_t addr = pages[i] * N52_PAGE;
        fill_random(data[i], N52_PAGE);
        REQUIRE(program(&r, i & 1u, addr, data[i], N52_PAGE, &ret, &t));
        uint64_t ideal = (N52_PAGE / 4) * N52_T_WORD;
        if (i == 0)
            fprintf(stderr, "  ProgramPage(0x%08x, %u) = %u in %.6f ms (NVMC alone %.3f ms, +%.3f us/word)\n", addr,
                    N52_PAGE, ret, (double)t / (double)MS, (double)ideal / (double)MS,
                    (double)(t - ideal) / (N52_PAGE / 4) / (double)US);
        CHECK_EQ(ret, 0);
        CHECK(t >= ideal && t <= ideal + 3 * MS);
        CHECK_EQ(rd(s, N52_CONFIG), 0);
    }
    REQUIRE(call(&r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    for (size_t i = 0; i < 3; i++)
        CHECK(mem_is(s, pages[i] * N52_PAGE, data[i], N52_PAGE));
    CHECK(mem_is(s, 2 * N52_PAGE, neighbour, N52_PAGE));
    CHECK(mem_is(s, N52_UICR, uicr, sizeof uicr));
    CHECK(is_ff(s, 3 * N52_PAGE, 252 * N52_PAGE));
    rig_close(&r);
}

static void test_nrf52_partial_and_errors(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "nRF52840_xxAA", "lode_nrf52_1m", N52_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    const uint32_t page = 7 * N52_PAGE;
    uint32_t ret;
    uint64_t t;
    REQUIRE(call(&r, a->pc_init, 0, 64000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);
    /* 6 bytes: one word, then two bytes padded with 0xFF */
    uint8_t six[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xFF, 0xFF};
    REQUIRE(program(&r, 0, page, six, 6, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(t >= 2 * N52_T_WORD && t <= 2 * N52_T_WORD + 50 * US);
    CHECK(mem_is(s, page, six, 8));
    CHECK(is_ff(s, page + 8, N52_PAGE - 8));
    /* over programmed data: the NVMC ANDs the bits, the read-back differs: 1 */
    uint8_t other[4] = {0xF0, 0x0F, 0xAA, 0x55};
    REQUIRE(program(&r, 1, page, other, 4, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK_EQ(rd(s, N52_CONFIG), 0); /* back to read-only on the error path too */
    /* misaligned, outside, running past the end */
    REQUIRE(program(&r, 0, page + 0x102, other, 4, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(is_ff(s, page + 0x100, 8));
    REQUIRE(program(&r, 0, N52_FLASH_SIZE, other, 4, &ret, &t));
    CHECK_EQ(ret, 1);
    REQUIRE(program(&r, 0, N52_FLASH_SIZE - 4, six, 8, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(is_ff(s, N52_FLASH_SIZE - 4, 4));
    REQUIRE(program(&r, 0, N52_UICR, other, 4, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(is_ff(s, N52_UICR, 4));
    REQUIRE(call(&r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK_EQ(rd(s, N52_CONFIG), 0);
    rig_close(&r);
}

static void test_nrf52_erase_chip(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "nRF52840_xxAA", "lode_nrf52_1m", N52_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    static uint8_t junk[N52_PAGE];
    for (uint32_t p = 0; p < N52_FLASH_SIZE / N52_PAGE; p += 37) {
        fill_random(junk, N52_PAGE);
        REQUIRE(lode_sim_load(s, p * N52_PAGE, junk, N52_PAGE) == LODE_OK);
    }
    REQUIRE(lode_sim_load(s, N52_UICR, junk, 64) == LODE_OK);
    uint32_t ret;
    uint64_t t;
    REQUIRE(call(&r, a->pc_init, 0, 64000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_erase_all, 0, 0, 0, &ret, &t));
    fprintf(stderr, "  EraseChip() = %u in %.6f ms (ERASEALL %.0f ms + blank check of 1 MiB)\n", ret,
            (double)t / (double)MS, (double)N52_T_ERASEALL / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= N52_T_ERASEALL && t <= N52_T_ERASEALL + 50 * MS);
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(is_ff(s, 0, N52_FLASH_SIZE));
    CHECK(is_ff(s, N52_UICR, N52_PAGE)); /* ERASEALL erases the UICR as well */
    CHECK_EQ(rd(s, N52_CONFIG), 0);
    rig_close(&r);
}

static void test_nrf52_uicr(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "nRF52840_xxAA", "lode_nrf52_uicr", N52_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    static uint8_t old[N52_PAGE], code[N52_PAGE], data[N52_PAGE];
    fill_random(old, N52_PAGE);
    fill_random(code, N52_PAGE);
    REQUIRE(lode_sim_load(s, N52_UICR, old, N52_PAGE) == LODE_OK);
    REQUIRE(lode_sim_load(s, 0, code, N52_PAGE) == LODE_OK);
    uint32_t ret;
    uint64_t t;

    REQUIRE(call(&r, a->pc_init, N52_UICR, 64000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    /* outside the UICR: refused (the code flash is someone else's) */
    REQUIRE(call(&r, a->pc_erase_sector, 0, 0, 0, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(mem_is(s, 0, code, N52_PAGE));
    REQUIRE(call(&r, a->pc_erase_sector, N52_UICR, 0, 0, &ret, &t));
    fprintf(stderr, "  EraseSector(UICR) = %u in %.6f ms\n", ret, (double)t / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= N52_T_ERASEPAGE && t <= N52_T_ERASEPAGE + 500 * US);
    CHECK(is_ff(s, N52_UICR, N52_PAGE));
    CHECK(mem_is(s, 0, code, N52_PAGE));
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);

    REQUIRE(call(&r, a->pc_init, N52_UICR, 64000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);
    fill_random(data, N52_PAGE);
    REQUIRE(program(&r, 0, N52_UICR, data, N52_PAGE, &ret, &t));
    uint64_t ideal = (N52_PAGE / 4) * N52_T_WORD;
    fprintf(stderr, "  ProgramPage(UICR, %u) = %u in %.6f ms\n", N52_PAGE, ret, (double)t / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= ideal && t <= ideal + 3 * MS);
    CHECK(mem_is(s, N52_UICR, data, N52_PAGE));
    REQUIRE(program(&r, 1, N52_UICR + N52_PAGE, data, 4, &ret, &t)); /* past the end */
    CHECK_EQ(ret, 1);
    REQUIRE(program(&r, 1, 0, data, 4, &ret, &t)); /* the code flash */
    CHECK_EQ(ret, 1);
    CHECK(mem_is(s, 0, code, N52_PAGE));
    REQUIRE(call(&r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);

    /* EraseChip of the UICR algorithm: ERASEUICR only */
    REQUIRE(call(&r, a->pc_init, N52_UICR, 64000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_erase_all, 0, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(t >= N52_T_ERASEPAGE && t <= N52_T_ERASEPAGE + 500 * US);
    CHECK(is_ff(s, N52_UICR, N52_PAGE));
    CHECK(mem_is(s, 0, code, N52_PAGE));
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK_EQ(rd(s, N52_CONFIG), 0);
    rig_close(&r);
}

static void test_samd21(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "ATSAMD21G18A", "lode_samd21_256k", SD_RAM_END));
    lode_sim_s *s = r.sim;
    const lodei_builtin_algo_s *a = r.a;
    static uint8_t data[2][SD_ROW], old[SD_ROW];
    fill_random(old, SD_ROW);
    REQUIRE(lode_sim_load(s, 0x4000, old, SD_ROW) == LODE_OK);
    REQUIRE(lode_sim_load(s, 0x4100, old, SD_ROW) == LODE_OK);
    uint32_t ret;
    uint64_t t;
    REQUIRE(call(&r, a->pc_init, 0, 1000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_erase_sector, 0x4000, 0, 0, &ret, &t));
    fprintf(stderr, "  EraseSector(0x4000) = %u in %.3f ms\n", ret, (double)t / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= SD_T_ROW && t <= SD_T_ROW + MS);
    CHECK(is_ff(s, 0x4000, SD_ROW));
    CHECK(mem_is(s, 0x4100, old, SD_ROW)); /* the next row kept */
    /* under BOOTPROT: LOCKE */
    uint8_t boot[SD_ROW];
    REQUIRE(lode_sim_mem_read(s, 0, boot, SD_ROW) == LODE_OK);
    REQUIRE(call(&r, a->pc_erase_sector, 0, 0, 0, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(mem_is(s, 0, boot, SD_ROW));
    REQUIRE(call(&r, a->pc_erase_all, 0, 0, 0, &ret, &t));
    CHECK_EQ(ret, 1);
    CHECK(mem_is(s, 0, boot, SD_ROW));
    REQUIRE(call(&r, a->pc_init, 0, 1000000u, FNC_PROGRAM, &ret, &t));
    fill_random(data[0], SD_ROW);
    REQUIRE(program(&r, 0, 0x4000, data[0], SD_ROW, &ret, &t));
    fprintf(stderr, "  ProgramPage(0x4000, 256) = %u in %.3f ms\n", ret, (double)t / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= 4 * SD_T_PAGE && t <= 4 * SD_T_PAGE + MS);
    CHECK(mem_is(s, 0x4000, data[0], SD_ROW));
    /* a partial last word is padded with 0xFF */
    REQUIRE(call(&r, a->pc_erase_sector, 0x4200, 0, 0, &ret, &t));
    REQUIRE(program(&r, 1, 0x4200, data[0], 10, &ret, &t));
    CHECK_EQ(ret, 0);
    uint8_t want[16];
    memset(want, 0xFF, sizeof want);
    memcpy(want, data[0], 10);
    CHECK(mem_is(s, 0x4200, want, sizeof want));
    rig_close(&r);
}

/* the applet's blob, embedded in liblode (src/boot/samba_probe.c) */
extern const uint8_t lodei_samba_applet[];
extern const size_t lodei_samba_applet_len;

/* lode's SAM-BA applet (firmware/samba-applet) on the simulated core, called both ways a G does:
 * the address as code (through its two header words) and SP/entry from them */
static void test_samba_applet(void)
{
    rig_s r;
    REQUIRE(rig_open(&r, "ATSAMD21G18A", "lode_samd21_256k", SD_RAM_END));
    lode_sim_s *s = r.sim;
    REQUIRE(lodei_samba_applet_len > 8 && lodei_samba_applet_len <= APPLET_MAX);
    REQUIRE(lode_sim_mem_write(s, APPLET_ADDR, lodei_samba_applet, lodei_samba_applet_len) == LODE_OK);
    static uint8_t data[1024];
    fill_random(data, sizeof data);
    REQUIRE(lode_sim_load(s, 0x6000, data, sizeof data) == LODE_OK); /* old contents */
    fill_random(data, sizeof data);
    REQUIRE(lode_sim_mem_write(s, 0x20005000u, data, sizeof data) == LODE_OK);
    for (int way = 0; way < 2; way++) {
        const uint32_t erase[6] = {APPLET_CMD_ERASE, 0x6000, 0, sizeof data, APPLET_RUNNING, 0};
        const uint32_t prog[6] = {APPLET_CMD_PROGRAM, 0x6000, 0x20005000u, sizeof data, APPLET_RUNNING, 0};
        for (int op = 0; op < 2; op++) {
            REQUIRE(lode_sim_mem_write(s, APPLET_MBOX, op ? prog : erase, sizeof erase) == LODE_OK);
            const uint32_t regs[][2] = {{13, way ? APPLET_SP : 0x20007F00u}, {14, r.stub | 1u},
                                        {15, way ? APPLET_ADDR + 8u : APPLET_ADDR}, {16, 0x01000000u}};
            for (size_t i = 0; i < 4; i++)
                REQUIRE(lode_sim_reg_write(s, regs[i][0], regs[i][1]) == LODE_OK);
            CHECK_EQ(lode_sim_write32(s, DFSR, 0x1Fu), LODE_OK);
            CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK);
            lode_sim_stop_e st = LODE_SIM_STOP_BUDGET;
            for (int i = 0; i < 200 && st == LODE_SIM_STOP_BUDGET; i++)
                st = lode_sim_run(s, 10 * MS);
            CHECK_EQ(st, LODE_SIM_STOP_HALTED);
            CHECK_EQ(reg(s, 15), r.stub);
            CHECK_EQ(rd(s, APPLET_MBOX + 16), APPLET_OK);
            if (op)
                CHECK(mem_is(s, 0x6000, data, sizeof data));
            else
                CHECK(is_ff(s, 0x6000, sizeof data));
        }
    }
    /* under BOOTPROT: the applet says NVM and where */
    const uint32_t locked[6] = {APPLET_CMD_ERASE, 0x1000, 0, 256, APPLET_RUNNING, 0};
    REQUIRE(lode_sim_mem_write(s, APPLET_MBOX, locked, sizeof locked) == LODE_OK);
    const uint32_t regs[][2] = {{13, APPLET_SP}, {14, r.stub | 1u}, {15, APPLET_ADDR + 8u}, {16, 0x01000000u}};
    for (size_t i = 0; i < 4; i++)
        REQUIRE(lode_sim_reg_write(s, regs[i][0], regs[i][1]) == LODE_OK);
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK);
    lode_sim_stop_e st = LODE_SIM_STOP_BUDGET;
    for (int i = 0; i < 200 && st == LODE_SIM_STOP_BUDGET; i++)
        st = lode_sim_run(s, 10 * MS);
    CHECK_EQ(st, LODE_SIM_STOP_HALTED);
    CHECK_EQ(rd(s, APPLET_MBOX + 16), APPLET_E_NVM);
    CHECK_EQ(rd(s, APPLET_MBOX + 20), 0x1000);
    rig_close(&r);
}

int main(void)
{
    RUN_TEST(test_table);
    RUN_TEST(test_f1_erase_program);
    RUN_TEST(test_f1_partial_and_errors);
    RUN_TEST(test_f1_erase_chip);
    RUN_TEST(test_nrf52_erase_program);
    RUN_TEST(test_nrf52_partial_and_errors);
    RUN_TEST(test_nrf52_erase_chip);
    RUN_TEST(test_nrf52_uicr);
    RUN_TEST(test_samd21);
    RUN_TEST(test_samba_applet);
    return TEST_DONE();
}
