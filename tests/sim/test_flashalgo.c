/* SPDX-License-Identifier: MIT */
/* A real vendor flash algorithm on the simulated STM32F103C8: the `stm32f10x_128` entry of
 * probe-rs' STM32F1_Series.yaml (Keil/ST FLM code, base64 in the YAML) is loaded into RAM and
 * called the CMSIS-Pack way — R0-R3 arguments, R9 static base, SP at the top of RAM, LR at a
 * BKPT stub, PC at the function, run until the core halts on the BKPT, result in R0 — through
 * the public liblode-sim API only. It must erase, program (byte-exact), refuse to program an
 * unerased page, mass-erase, take the modeled FPEC times, and work again after a power loss
 * in the middle of an erase.
 *
 * What the blob looks like (arm-none-eabi-objdump -b binary -Mforce-thumb): the YAML entry
 * has no `load_address` and no BKPT header — Init's `push {r4, lr}` is at offset 0 — and the
 * pc_* values are blob offsets with the Thumb bit set (pc_init 0x1 -> offset 0, pc_uninit
 * 0x33 -> 0x32, ...). So the test places the blob itself and supplies its own return stub.
 * ProgramPage writes half-words with FLASH_CR.PG, waits for BSY, and returns 1 as soon as
 * FLASH_SR has PGERR or WRPRTERR (clearing them), so programming an unerased page fails. */
#include <errno.h>
#include <yaml.h>

#include "lode/sim.h"
#include "test.h"

#define US 1000000ull
#define MS 1000000000ull

#define FLASH_BASE 0x08000000u
#define FLASH_SIZE (64u * 1024u) /* STM32F103C8 */
#define PAGE 1024u
#define NPAGES (FLASH_SIZE / PAGE)
#define RAM_BASE 0x20000000u
#define RAM_END 0x20005000u /* 20 KiB */
#define STACK_SIZE 0x800u

#define F_SR 0x4002200Cu
#define F_CR 0x40022010u
#define CR_LOCK 0x80u
#define DHCSR 0xE000EDF0u
#define DFSR 0xE000ED30u
#define DFSR_BKPT 0x02u
#define DHCSR_S_LOCKUP (1u << 19)
#define DHCSR_S_RESET_ST (1u << 25)

#define FNC_ERASE 1u
#define FNC_PROGRAM 2u

#define T_PAGE_ERASE (20 * MS)       /* modeled tERASE */
#define T_PROG_HALFWORD (52500000ull) /* modeled tPROG, 52.5 us */

/* ---- base64 (RFC 4648, standard alphabet, padding required) -------------------------------- */

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode `in` (whitespace ignored) into a malloc'ed buffer. Returns 0 or -1 on bad input. */
static int b64_decode(const char *in, uint8_t **out, size_t *out_len)
{
    size_t n = strlen(in);
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    if (!buf)
        return -1;
    size_t len = 0;
    int quad[4];
    unsigned q = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        int v;
        if (c == '=') {
            if (q < 2)
                goto bad;
            v = 0;
            pad++;
        } else {
            if (pad)
                goto bad; /* data after padding */
            v = b64_val(c);
            if (v < 0)
                goto bad;
        }
        quad[q++] = v;
        if (q == 4) {
            uint32_t w = (uint32_t)quad[0] << 18 | (uint32_t)quad[1] << 12 | (uint32_t)quad[2] << 6 |
                         (uint32_t)quad[3];
            buf[len++] = (uint8_t)(w >> 16);
            if (pad < 2)
                buf[len++] = (uint8_t)(w >> 8);
            if (pad < 1)
                buf[len++] = (uint8_t)w;
            q = 0;
            if (pad)
                pad = 3; /* anything but more padding/whitespace is an error now */
        }
    }
    if (q != 0)
        goto bad;
    *out = buf;
    *out_len = len;
    return 0;
bad:
    free(buf);
    return -1;
}

static void test_base64(void)
{
    static const struct {
        const char *in;
        const char *out;
    } ok[] = {{"", ""},           {"TQ==", "M"},          {"TWE=", "Ma"},
              {"TWFu", "Man"},    {"TWFu\nTWE=", "ManMa"}, {"/+/+", "\xff\xef\xfe"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        CHECK_EQ(b64_decode(ok[i].in, &d, &n), 0);
        if (d) {
            CHECK_EQ(n, strlen(ok[i].out));
            CHECK(memcmp(d, ok[i].out, n) == 0);
        }
        free(d);
    }
    static const char *const bad[] = {"TWF", "T===", "TW=u", "TWE=TWFu", "TW!u", "TWE=="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        CHECK_EQ(b64_decode(bad[i], &d, &n), -1);
        CHECK(d == NULL);
    }
}

/* ---- the algorithm description from the probe-rs YAML ------------------------------------- */

typedef struct algo_s {
    uint8_t *code;
    size_t len;
    bool has_load_address, has_erase_all;
    uint32_t load_address, pc_init, pc_uninit, pc_program_page, pc_erase_sector, pc_erase_all;
    uint32_t data_section_offset, page_size, sector_size, sector_address;
    uint32_t range_start, range_end;
    unsigned found; /* bit per required key */
} algo_s;

enum {
    K_INSTR = 1u << 0, K_INIT = 1u << 1, K_UNINIT = 1u << 2, K_PROG = 1u << 3, K_ERASE = 1u << 4,
    K_DATA = 1u << 5, K_PAGE = 1u << 6, K_SECTOR = 1u << 7, K_RANGE = 1u << 8,
    K_REQUIRED = (1u << 9) - 1u,
};

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* A YAML integer (decimal or 0x hex) that fits in 32 bits. */
static bool num(yaml_document_t *doc, yaml_node_t *n, uint32_t *out)
{
    const char *s = scalar(doc, n);
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool num_key(yaml_document_t *doc, yaml_node_t *map, const char *key, uint32_t *out)
{
    yaml_node_t *n = map_get(doc, map, key);
    if (!n)
        return false;
    if (!num(doc, n, out)) {
        fprintf(stderr, "flash algorithm key %s: bad number '%s'\n", key, scalar(doc, n) ? scalar(doc, n) : "?");
        return false;
    }
    return true;
}

/* Read the flash_algorithms item called `name` from a probe-rs target file. */
static int algo_load(const char *path, const char *name, algo_s *a)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(stderr, "%s: YAML error at line %lu: %s\n", path, (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    yaml_node_t *algos = map_get(&doc, yaml_document_get_root_node(&doc), "flash_algorithms");
    yaml_node_t *item = NULL;
    if (algos && algos->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = algos->data.sequence.items.start; it < algos->data.sequence.items.top; it++) {
            yaml_node_t *n = yaml_document_get_node(&doc, *it);
            const char *nm = scalar(&doc, map_get(&doc, n, "name"));
            if (nm && strcmp(nm, name) == 0) {
                item = n;
                break;
            }
        }
    }
    if (!item) {
        fprintf(stderr, "%s: no flash_algorithms entry named %s\n", path, name);
        goto out;
    }
    const char *b64 = scalar(&doc, map_get(&doc, item, "instructions"));
    if (b64 && b64_decode(b64, &a->code, &a->len) == 0)
        a->found |= K_INSTR;
    else
        fprintf(stderr, "%s: %s: instructions missing or not base64\n", path, name);
    a->has_load_address = num_key(&doc, item, "load_address", &a->load_address);
    a->found |= num_key(&doc, item, "pc_init", &a->pc_init) ? K_INIT : 0;
    a->found |= num_key(&doc, item, "pc_uninit", &a->pc_uninit) ? K_UNINIT : 0;
    a->found |= num_key(&doc, item, "pc_program_page", &a->pc_program_page) ? K_PROG : 0;
    a->found |= num_key(&doc, item, "pc_erase_sector", &a->pc_erase_sector) ? K_ERASE : 0;
    a->found |= num_key(&doc, item, "data_section_offset", &a->data_section_offset) ? K_DATA : 0;
    a->has_erase_all = num_key(&doc, item, "pc_erase_all", &a->pc_erase_all);
    yaml_node_t *fp = map_get(&doc, item, "flash_properties");
    a->found |= num_key(&doc, fp, "page_size", &a->page_size) ? K_PAGE : 0;
    yaml_node_t *ar = map_get(&doc, fp, "address_range");
    if (num_key(&doc, ar, "start", &a->range_start) && num_key(&doc, ar, "end", &a->range_end))
        a->found |= K_RANGE;
    yaml_node_t *sectors = map_get(&doc, fp, "sectors");
    if (sectors && sectors->type == YAML_SEQUENCE_NODE &&
        sectors->data.sequence.items.top - sectors->data.sequence.items.start == 1) {
        yaml_node_t *s0 = yaml_document_get_node(&doc, sectors->data.sequence.items.start[0]);
        if (num_key(&doc, s0, "size", &a->sector_size) && num_key(&doc, s0, "address", &a->sector_address))
            a->found |= K_SECTOR;
    }
    if ((a->found & K_REQUIRED) != K_REQUIRED) {
        fprintf(stderr, "%s: %s: keys missing (found mask 0x%x)\n", path, name, a->found);
        goto out;
    }
    rc = 0;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc) {
        free(a->code);
        a->code = NULL;
    }
    return rc;
}

/* ---- running the algorithm on the sim --------------------------------------------------------- */

typedef struct layout_s {
    uint32_t code;     /* blob base */
    uint32_t stub;     /* BKPT return stub */
    uint32_t sb;       /* R9 static base */
    uint32_t buf[2];   /* double page buffers */
    uint32_t sp;       /* initial SP (top of RAM) */
} layout_s;

typedef struct rig_s {
    lode_sim_s *sim;
    algo_s algo;
    layout_s l;
    lode_sim_stop_e last_stop; /* how the last call's run ended */
} rig_s;

static void on_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)user;
    (void)cat;
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

/* Put the algorithm and the return stub in RAM. */
static bool load_algo(rig_s *r)
{
    const algo_s *a = &r->algo;
    layout_s *l = &r->l;
    l->code = a->has_load_address ? a->load_address : RAM_BASE;
    l->stub = (l->code + (uint32_t)a->len + 3u) & ~3u;
    l->sb = l->code + a->data_section_offset;
    l->buf[0] = (l->stub + 4u + 255u) & ~255u;
    l->buf[1] = l->buf[0] + a->page_size;
    l->sp = RAM_END;
    if (l->code < RAM_BASE || (l->code & 3u) || l->buf[1] + a->page_size > RAM_END - STACK_SIZE ||
        a->data_section_offset > a->len) {
        fprintf(stderr, "algorithm layout does not fit the RAM\n");
        return false;
    }
    /* BKPT #0; BKPT #0 */
    static const uint8_t stub[4] = {0x00, 0xBE, 0x00, 0xBE};
    if (lode_sim_mem_write(r->sim, l->code, a->code, a->len) != LODE_OK ||
        lode_sim_mem_write(r->sim, l->stub, stub, sizeof stub) != LODE_OK)
        return false;
    uint8_t back[512];
    if (a->len > sizeof back || lode_sim_mem_read(r->sim, l->code, back, a->len) != LODE_OK)
        return false;
    return memcmp(back, a->code, a->len) == 0;
}

static void halt(lode_sim_s *s)
{
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0003u), LODE_OK); /* C_DEBUGEN | C_HALT */
    CHECK(lode_sim_halted(s));
}

/* Call the function at blob offset `pc` (Thumb bit set) with R0-R2. Returns its R0 in *ret and
 * the virtual time from resume to the BKPT halt in *ps. false when it did not come back. */
static bool call(rig_s *r, uint32_t pc, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t *ret, uint64_t *ps)
{
    lode_sim_s *s = r->sim;
    CHECK(pc & 1u);
    if (!lode_sim_halted(s)) {
        fprintf(stderr, "call: core not halted\n");
        return false;
    }
    const uint32_t regs[][2] = {
        {0, a0}, {1, a1}, {2, a2}, {3, 0}, {9, r->l.sb}, {13, r->l.sp},
        {14, r->l.stub | 1u}, {15, (r->l.code + pc) & ~1u}, {16, 0x01000000u},
    };
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        if (lode_sim_reg_write(s, regs[i][0], regs[i][1]) != LODE_OK) {
            fprintf(stderr, "call: cannot write register %u\n", regs[i][0]);
            return false;
        }
    CHECK_EQ(lode_sim_write32(s, DFSR, 0x1Fu), LODE_OK); /* clear the sticky reasons */
    uint64_t t0 = lode_sim_now(s);
    CHECK_EQ(lode_sim_write32(s, DHCSR, 0xA05F0001u), LODE_OK); /* resume */
    lode_sim_stop_e st = LODE_SIM_STOP_BUDGET;
    for (int i = 0; i < 100 && st == LODE_SIM_STOP_BUDGET; i++) /* at most 1 s: timeouts are 100/500 ms */
        st = lode_sim_run(s, 10 * MS);
    *ps = lode_sim_now(s) - t0;
    r->last_stop = st;
    if (st != LODE_SIM_STOP_HALTED) {
        fprintf(stderr, "call 0x%x: run stopped with %d, PC 0x%08x\n", pc, (int)st, reg(s, 15));
        return false;
    }
    uint32_t dfsr = rd(s, DFSR), at = reg(s, 15);
    if (!(dfsr & DFSR_BKPT) || at != r->l.stub) {
        fprintf(stderr, "call 0x%x: halted with DFSR 0x%x at 0x%08x (stub 0x%08x)\n", pc, dfsr, at, r->l.stub);
        return false;
    }
    CHECK_EQ(reg(s, 13), r->l.sp); /* AAPCS: the stack is balanced */
    *ret = reg(s, 0);
    return true;
}

static uint32_t rng_state = 0x12345678u;
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

static bool all_ff(lode_sim_s *s, uint32_t addr, uint32_t len)
{
    uint8_t b[PAGE];
    for (uint32_t off = 0; off < len; off += PAGE) {
        if (lode_sim_mem_read(s, addr + off, b, PAGE) != LODE_OK)
            return false;
        for (unsigned i = 0; i < PAGE; i++)
            if (b[i] != 0xFF)
                return false;
    }
    return true;
}

static bool page_is(lode_sim_s *s, uint32_t addr, const uint8_t *want)
{
    uint8_t b[PAGE];
    return lode_sim_mem_read(s, addr, b, PAGE) == LODE_OK && memcmp(b, want, PAGE) == 0;
}

static bool rig_open(rig_s *r);
/* the rig needs ../shared's STM32F1 file: without it the test is skipped (noted by rig_open) */
#define RIG_OPEN_OR_SKIP(r)                                                          \
    do {                                                                             \
        int skips_ = test_skips_;                                                    \
        bool ok_ = rig_open(r);                                                      \
        if (!ok_ && test_skips_ > skips_)                                            \
            return;                                                                  \
        REQUIRE(ok_);                                                                \
    } while (0)

static bool rig_open(rig_s *r)
{
    memset(r, 0, sizeof *r);
    const char *path = test_shared_path("targets/probe-rs/STM32F1_Series.yaml", "rig_open");
    if (!path)
        return false;
    if (algo_load(path, "stm32f10x_128", &r->algo) != 0) {
        fprintf(stderr, "FATAL: cannot read the stm32f10x_128 algorithm from %s\n", path);
        return false;
    }
    lode_sim_config_s cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "STM32F103C8";
    cfg.log.fn = on_log;
    cfg.log.max_level = LODE_LOG_INFO;
    if (lode_sim_new(&cfg, &r->sim) != LODE_OK)
        return false;
    halt(r->sim);
    return load_algo(r);
}

static void rig_close(rig_s *r)
{
    lode_sim_free(r->sim);
    free(r->algo.code);
}

/* ---- the tests ------------------------------------------------------------------------------- */

static void test_yaml_entry(void)
{
    algo_s a;
    const char *f1 = test_shared_path("targets/probe-rs/STM32F1_Series.yaml", __func__);
    if (!f1)
        return;
    REQUIRE(algo_load(f1, "stm32f10x_128", &a) == 0);
    fprintf(stderr, "  stm32f10x_128: %zu bytes, load_address %s, init 0x%x uninit 0x%x program 0x%x erase 0x%x "
                    "erase_all %s0x%x data 0x%x page 0x%x sector 0x%x@0x%x range 0x%08x..0x%08x\n",
            a.len, a.has_load_address ? "given" : "absent", a.pc_init, a.pc_uninit, a.pc_program_page,
            a.pc_erase_sector, a.has_erase_all ? "" : "(absent) ", a.pc_erase_all, a.data_section_offset,
            a.page_size, a.sector_size, a.sector_address, a.range_start, a.range_end);
    CHECK_EQ(a.len, 300);
    CHECK_EQ(a.page_size, PAGE);
    CHECK_EQ(a.sector_size, PAGE);
    CHECK_EQ(a.sector_address, 0);
    CHECK_EQ(a.range_start, FLASH_BASE);
    CHECK(a.has_erase_all);
    /* the entry points are Thumb; Init starts with push {r4, lr} (0xB510) */
    CHECK(a.pc_init & a.pc_uninit & a.pc_program_page & a.pc_erase_sector & 1u);
    CHECK((a.pc_init & ~1u) + 1 < a.len && a.code[a.pc_init & ~1u] == 0x10 && a.code[(a.pc_init & ~1u) + 1] == 0xB5);
    CHECK(a.pc_program_page < a.len && a.pc_erase_sector < a.len && a.pc_uninit < a.len);
    free(a.code);
    /* a missing entry is an error, not a silent pass */
    CHECK(algo_load(f1, "no_such_algo", &a) != 0);
}

static const uint32_t erase_pages[] = {0, 1, 2, 3, NPAGES - 1};
#define NERASE (sizeof erase_pages / sizeof erase_pages[0])

/* Erase the pages, then program them with random data (kept in data[]); check times. */
static void erase_and_program(rig_s *r, uint8_t data[][PAGE], bool print)
{
    lode_sim_s *s = r->sim;
    const algo_s *a = &r->algo;
    uint32_t ret = 0xFFFFFFFFu;
    uint64_t t = 0;

    REQUIRE(call(r, a->pc_init, FLASH_BASE, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK_EQ(rd(s, F_CR) & CR_LOCK, 0); /* Init unlocked the FPEC */
    for (size_t i = 0; i < NERASE; i++) {
        uint32_t addr = FLASH_BASE + erase_pages[i] * PAGE;
        REQUIRE(call(r, a->pc_erase_sector, addr, 0, 0, &ret, &t));
        CHECK_EQ(ret, 0);
        if (print)
            fprintf(stderr, "  EraseSector(0x%08x) = %u in %.6f ms\n", addr, ret, (double)t / (double)MS);
        CHECK(t >= T_PAGE_ERASE && t <= T_PAGE_ERASE + 200 * US);
        CHECK(all_ff(s, addr, PAGE));
    }
    REQUIRE(call(r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(rd(s, F_CR) & CR_LOCK); /* UnInit locked it again */

    REQUIRE(call(r, a->pc_init, FLASH_BASE, 8000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);
    for (size_t i = 0; i < NERASE; i++) {
        uint32_t addr = FLASH_BASE + erase_pages[i] * PAGE;
        fill_random(data[i], PAGE);
        uint32_t buf = r->l.buf[i & 1];
        REQUIRE(lode_sim_mem_write(s, buf, data[i], PAGE) == LODE_OK);
        REQUIRE(call(r, a->pc_program_page, addr, PAGE, buf, &ret, &t));
        CHECK_EQ(ret, 0);
        uint64_t ideal = (PAGE / 2) * T_PROG_HALFWORD;
        if (print)
            fprintf(stderr, "  ProgramPage(0x%08x, %u) = %u in %.6f ms (FPEC alone %.3f ms, +%.3f us/half-word)\n",
                    addr, PAGE, ret, (double)t / (double)MS, (double)ideal / (double)MS,
                    (double)(t - ideal) / (PAGE / 2) / (double)US);
        CHECK(t >= ideal && t <= ideal + 3 * MS);
    }
    REQUIRE(call(r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(rd(s, F_CR) & CR_LOCK);
    CHECK_EQ(rd(s, F_SR) & 0x14u, 0); /* no PGERR / WRPRTERR left behind */
    for (size_t i = 0; i < NERASE; i++)
        CHECK(page_is(s, FLASH_BASE + erase_pages[i] * PAGE, data[i]));
}

static void test_erase_program_verify(void)
{
    rig_s r;
    RIG_OPEN_OR_SKIP(&r);
    lode_sim_s *s = r.sim;
    fprintf(stderr, "  core clock %u Hz; algorithm at 0x%08x, stub 0x%08x, buffers 0x%08x/0x%08x, SP 0x%08x\n",
            lode_sim_cpu_hz(s), r.l.code, r.l.stub, r.l.buf[0], r.l.buf[1], r.l.sp);
    /* old contents (factory back door) in the pages to erase and in a neighbour page 4 */
    uint8_t old[PAGE], neighbour[PAGE];
    fill_random(old, PAGE);
    fill_random(neighbour, PAGE);
    for (size_t i = 0; i < NERASE; i++)
        REQUIRE(lode_sim_load(s, FLASH_BASE + erase_pages[i] * PAGE, old, PAGE) == LODE_OK);
    REQUIRE(lode_sim_load(s, FLASH_BASE + 4 * PAGE, neighbour, PAGE) == LODE_OK);

    uint8_t data[NERASE][PAGE];
    erase_and_program(&r, data, true);

    /* pages the algorithm was not asked to touch */
    CHECK(page_is(s, FLASH_BASE + 4 * PAGE, neighbour));
    CHECK(all_ff(s, FLASH_BASE + 5 * PAGE, (NPAGES - 6) * PAGE));
    /* the same bytes through the boot alias at 0 */
    uint8_t alias[PAGE];
    CHECK_EQ(lode_sim_mem_read(s, 0, alias, PAGE), LODE_OK);
    CHECK(memcmp(alias, data[0], PAGE) == 0);
    rig_close(&r);
}

/* Programming over data that is not erased: the FPEC sets PGERR and skips the write; the
 * algorithm notices and returns 1. Programming 0x0000 over anything is allowed (PM0075). */
static void test_program_unerased(void)
{
    rig_s r;
    RIG_OPEN_OR_SKIP(&r);
    lode_sim_s *s = r.sim;
    const algo_s *a = &r.algo;
    uint8_t data[NERASE][PAGE];
    erase_and_program(&r, data, false);

    uint32_t ret = 0, addr = FLASH_BASE + 2 * PAGE;
    uint64_t t = 0;
    uint8_t next[PAGE];
    fill_random(next, PAGE);
    for (unsigned i = 0; i < PAGE; i += 2) /* every half-word differs from the old one, none is 0x0000 */
        if ((next[i] | next[i + 1] << 8) == (data[2][i] | data[2][i + 1] << 8) || !(next[i] | next[i + 1]))
            next[i] ^= 0x5A;
    REQUIRE(lode_sim_mem_write(s, r.l.buf[0], next, PAGE) == LODE_OK);
    REQUIRE(call(&r, a->pc_init, FLASH_BASE, 8000000u, FNC_PROGRAM, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_program_page, addr, PAGE, r.l.buf[0], &ret, &t));
    fprintf(stderr, "  ProgramPage over programmed data = %u after %.3f us\n", ret, (double)t / (double)US);
    CHECK_EQ(ret, 1);
    CHECK(t < 100 * US); /* gave up on the first half-word */
    CHECK_EQ(rd(s, F_SR) & 0x14u, 0); /* the algorithm cleared PGERR (write 1 to clear) */
    CHECK(page_is(s, addr, data[2])); /* nothing written */

    /* 0x0000 may be programmed over anything: a page of zeros succeeds on programmed data */
    uint8_t zero[PAGE];
    memset(zero, 0, PAGE);
    REQUIRE(lode_sim_mem_write(s, r.l.buf[1], zero, PAGE) == LODE_OK);
    REQUIRE(call(&r, a->pc_program_page, addr, PAGE, r.l.buf[1], &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(page_is(s, addr, zero));
    REQUIRE(call(&r, a->pc_uninit, FNC_PROGRAM, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    /* the other pages are unaffected */
    CHECK(page_is(s, FLASH_BASE + 1 * PAGE, data[1]));
    CHECK(page_is(s, FLASH_BASE + 3 * PAGE, data[3]));
    rig_close(&r);
}

static void test_erase_chip(void)
{
    rig_s r;
    RIG_OPEN_OR_SKIP(&r);
    lode_sim_s *s = r.sim;
    const algo_s *a = &r.algo;
    REQUIRE(a->has_erase_all);
    uint8_t data[NERASE][PAGE];
    erase_and_program(&r, data, false);
    uint8_t junk[PAGE];
    fill_random(junk, PAGE);
    REQUIRE(lode_sim_load(s, FLASH_BASE + 30 * PAGE, junk, PAGE) == LODE_OK);

    uint32_t ret = 0xFFFFFFFFu;
    uint64_t t = 0;
    REQUIRE(call(&r, a->pc_init, FLASH_BASE, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    REQUIRE(call(&r, a->pc_erase_all, 0, 0, 0, &ret, &t));
    fprintf(stderr, "  EraseChip() = %u in %.6f ms\n", ret, (double)t / (double)MS);
    CHECK_EQ(ret, 0);
    CHECK(t >= 20 * MS && t <= 20 * MS + 200 * US); /* modeled tME */
    REQUIRE(call(&r, a->pc_uninit, FNC_ERASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);
    CHECK(all_ff(s, FLASH_BASE, FLASH_SIZE));
    /* the algorithm in RAM survived (mass erase touches only flash) */
    uint8_t back[512];
    CHECK_EQ(lode_sim_mem_read(s, r.l.code, back, a->len), LODE_OK);
    CHECK(memcmp(back, a->code, a->len) == 0);
    rig_close(&r);
}

/* Power fails during the second EraseSector: the chip comes back from a power-on reset with
 * the debug logic reset (no halt on the BKPT, the FPEC locked, RAM lost), the interrupted page
 * holds a partial erase; a debugger that halts, reloads the algorithm and starts over succeeds. */
static void test_power_loss_during_erase(void)
{
    rig_s r;
    RIG_OPEN_OR_SKIP(&r);
    lode_sim_s *s = r.sim;
    const algo_s *a = &r.algo;
    uint8_t old[4][PAGE];
    for (unsigned p = 0; p < 4; p++) {
        fill_random(old[p], PAGE);
        REQUIRE(lode_sim_load(s, FLASH_BASE + p * PAGE, old[p], PAGE) == LODE_OK);
    }
    uint32_t ret = 0xFFFFFFFFu;
    uint64_t t = 0;
    REQUIRE(call(&r, a->pc_init, FLASH_BASE, 8000000u, FNC_ERASE, &ret, &t));
    CHECK_EQ(ret, 0);
    (void)rd(s, DHCSR); /* reading clears the sticky S_RESET_ST */
    CHECK_EQ(rd(s, DHCSR) & DHCSR_S_RESET_ST, 0);
    lode_sim_inject_power_loss(s, 2);
    REQUIRE(call(&r, a->pc_erase_sector, FLASH_BASE, 0, 0, &ret, &t));
    CHECK_EQ(ret, 0);

    /* the second erase: the algorithm never comes back */
    CHECK(!call(&r, a->pc_erase_sector, FLASH_BASE + PAGE, 0, 0, &ret, &t));
    uint32_t dhcsr = rd(s, DHCSR);
    fprintf(stderr, "  after the power loss: halted %d, DHCSR 0x%08x, PC 0x%08x, FLASH_CR 0x%x\n",
            lode_sim_halted(s), dhcsr, reg(s, 15), rd(s, F_CR));
    CHECK(!lode_sim_halted(s));
    CHECK_EQ(dhcsr & 0x3u, 0);          /* C_DEBUGEN and C_HALT were reset */
    CHECK(dhcsr & DHCSR_S_RESET_ST);    /* the core went through a reset */
    /* page 0 (the vector table) is erased now: SP/PC from 0xFFFFFFFF, the HardFault's stacking
     * fails and the core locks up (ARMv7-M B1.5.15) instead of halting on the BKPT stub */
    CHECK_EQ(r.last_stop, LODE_SIM_STOP_LOCKUP);
    CHECK(dhcsr & DHCSR_S_LOCKUP);
    CHECK_EQ(rd(s, F_CR), CR_LOCK);     /* FLASH_CR reset value: locked */
    CHECK(all_ff(s, FLASH_BASE, PAGE)); /* the first erase had completed */
    uint8_t now[PAGE];
    CHECK_EQ(lode_sim_mem_read(s, FLASH_BASE + PAGE, now, PAGE), LODE_OK);
    unsigned wrong_way = 0, changed = 0;
    for (unsigned i = 0; i < PAGE; i++) {
        wrong_way += (now[i] & old[1][i]) != old[1][i]; /* an erase only sets bits */
        changed += now[i] != old[1][i];
    }
    fprintf(stderr, "  interrupted page: %u of %u bytes changed, %u changed the wrong way\n", changed, PAGE, wrong_way);
    CHECK_EQ(wrong_way, 0);
    CHECK(page_is(s, FLASH_BASE + 2 * PAGE, old[2])); /* never reached */
    CHECK(page_is(s, FLASH_BASE + 3 * PAGE, old[3]));
    uint8_t ram[512];
    CHECK_EQ(lode_sim_mem_read(s, r.l.code, ram, a->len), LODE_OK);
    CHECK(memcmp(ram, a->code, a->len) != 0); /* RAM did not keep the algorithm */

    /* start over like a debugger would */
    halt(s);
    REQUIRE(load_algo(&r));
    uint8_t data[NERASE][PAGE];
    erase_and_program(&r, data, false);
    rig_close(&r);
}

int main(void)
{
    RUN_TEST(test_base64);
    RUN_TEST(test_yaml_entry);
    RUN_TEST(test_erase_program_verify);
    RUN_TEST(test_program_unerased);
    RUN_TEST(test_erase_chip);
    RUN_TEST(test_power_loss_during_erase);
    return TEST_DONE();
}
