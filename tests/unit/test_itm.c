/* SPDX-License-Identifier: MIT */
/* ITM/DWT packet decoder (src/itm/itm.c) on hand-built byte sequences. Section numbers are
 * those of the ARMv7-M Architecture Reference Manual, Appendix D4. */
#include "lode/error.h"
#include "lode/itm.h"
#include "test.h"

#define MAXP 64

typedef struct sink_s {
    lode_itm_packet_s p[MAXP];
    size_t n;
    size_t dropped;
} sink_s;

static void collect(void *user, const lode_itm_packet_s *pkt)
{
    sink_s *s = user;
    if (s->n < MAXP)
        s->p[s->n++] = *pkt;
    else
        s->dropped++;
}

/* Decode a whole buffer (and flush) into s. */
static void decode(sink_s *s, const uint8_t *b, size_t n, lode_itm_resync_e mode)
{
    memset(s, 0, sizeof *s);
    lode_itm_decoder_s d;
    lode_itm_decoder_init(&d);
    lode_itm_decoder_set_resync(&d, mode);
    CHECK_EQ(lode_itm_feed(&d, b, n, collect, s), LODE_OK);
    CHECK_EQ(lode_itm_flush(&d, collect, s), LODE_OK);
}

#define DECODE(s, ...)                                                                       \
    do {                                                                                     \
        static const uint8_t in_[] = {__VA_ARGS__};                                          \
        decode(s, in_, sizeof in_, LODE_ITM_RESYNC_SYNC);                                    \
    } while (0)

static sink_s S;

static void check_text(const lode_itm_packet_s *p, const char *want)
{
    char buf[160];
    size_t n = lode_itm_describe(p, buf, sizeof buf);
    CHECK_EQ(n, strlen(buf));
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "  describe: got \"%s\", want \"%s\"\n", buf, want);
        CHECK(0);
    }
}

/* D4.2.1: 47 zero bits then a one; longer zero runs are allowed. Resets the port page. */
static void test_sync(void)
{
    DECODE(&S, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80);
    REQUIRE(S.n == 2);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_SYNC);
    CHECK_EQ(S.p[0].offset, 0);
    CHECK_EQ(S.p[0].len, 6);
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_SYNC);
    CHECK_EQ(S.p[1].offset, 6);
    CHECK_EQ(S.p[1].len, 8);
    check_text(&S.p[0], "synchronization (6 bytes)");

    /* only 39 zero bits: not a sync */
    DECODE(&S, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x41);
    REQUIRE(S.n >= 1);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(S.p[0].reason, LODE_ITM_INV_BAD_SYNC);
    CHECK_EQ(S.p[0].len, 4);
}

/* D4.2.3 */
static void test_overflow(void)
{
    DECODE(&S, 0x70);
    REQUIRE(S.n == 1);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_OVERFLOW);
    CHECK_EQ(S.p[0].len, 1);
    check_text(&S.p[0], "overflow (trace data lost)");
}

/* D4.2.4: format 1 = 11TC0000 + 1..4 continuation bytes; format 2 = 0TTT0000, TTT 1..6. */
static void test_local_ts(void)
{
    DECODE(&S, 0xC0, 0x05,                    /* TC 0, 5 */
           0xD0, 0x81, 0x01,                  /* TC 1, 1 + 1<<7 = 129 */
           0xE0, 0xFF, 0xFF, 0xFF, 0x7F,      /* TC 2, 4 bytes: 2^28 - 1 */
           0xF0, 0x00,                        /* TC 3, 0 */
           0x10, 0x60);                       /* format 2: 1 and 6 */
    REQUIRE(S.n == 6);
    for (size_t i = 0; i < 6; i++)
        CHECK_EQ(S.p[i].kind, LODE_ITM_PKT_LOCAL_TS);
    CHECK_EQ(S.p[0].ts, 5);
    CHECK_EQ(S.p[0].tc, LODE_ITM_TC_SYNC);
    CHECK_EQ(S.p[1].ts, 129);
    CHECK_EQ(S.p[1].tc, LODE_ITM_TC_TS_DELAYED);
    CHECK_EQ(S.p[1].len, 3);
    CHECK_EQ(S.p[2].ts, 0x0FFFFFFF);
    CHECK_EQ(S.p[2].tc, LODE_ITM_TC_PKT_DELAYED);
    CHECK_EQ(S.p[2].len, 5);
    CHECK_EQ(S.p[3].ts, 0);
    CHECK_EQ(S.p[3].tc, LODE_ITM_TC_BOTH_DELAYED);
    CHECK_EQ(S.p[4].ts, 1);
    CHECK_EQ(S.p[4].len, 1);
    CHECK_EQ(S.p[5].ts, 6);
    CHECK_EQ(S.p[5].tc, LODE_ITM_TC_SYNC);
    check_text(&S.p[1], "local timestamp +129 (timestamp delayed)");

    /* a fifth continuation byte is not allowed */
    DECODE(&S, 0xC0, 0x80, 0x80, 0x80, 0x80, 0x01);
    REQUIRE(S.n >= 1);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(S.p[0].reason, LODE_ITM_INV_TOO_LONG);
    CHECK_EQ(S.p[0].len, 5);
}

/* D4.2.5: GTS1 (0x94) carries bits [25:0] with Wrap and ClkCh in its 4th byte; GTS2 (0xB4)
 * bits [47:26] in 4 bytes or [63:26] in 6. A short GTS1 replaces only the bits it carries. */
static void test_global_ts(void)
{
    DECODE(&S, 0xB4, 0x81, 0x80, 0x80, 0x01,          /* GTS2: bits[47:26] = 1 | 1<<21 */
           0x94, 0xFF, 0xFF, 0xFF, 0x7F,              /* GTS1 full: 2^26-1, wrap, clkch */
           0x94, 0x05,                                /* GTS1 low 7 bits = 5 */
           0xB4, 0x81, 0x80, 0x80, 0x80, 0x80, 0x7F); /* GTS2 64-bit form */
    REQUIRE(S.n == 4);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_GLOBAL_TS2);
    CHECK_EQ(S.p[0].ts_bits, 22);
    CHECK_EQ(S.p[0].ts, 0x200001);
    CHECK_EQ(S.p[0].global_ts, 0x200001ull << 26);
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_GLOBAL_TS1);
    CHECK_EQ(S.p[1].ts_bits, 26);
    CHECK_EQ(S.p[1].ts, 0x3FFFFFF);
    CHECK(S.p[1].wrap);
    CHECK(S.p[1].clkch);
    CHECK_EQ(S.p[1].global_ts, (0x200001ull << 26) | 0x3FFFFFF);
    CHECK_EQ(S.p[2].ts_bits, 7);
    CHECK_EQ(S.p[2].ts, 5);
    CHECK(!S.p[2].wrap);
    CHECK_EQ(S.p[2].global_ts, (0x200001ull << 26) | 0x3FFFF85);
    CHECK_EQ(S.p[3].kind, LODE_ITM_PKT_GLOBAL_TS2);
    CHECK_EQ(S.p[3].ts_bits, 38);
    CHECK_EQ(S.p[3].len, 7);
    CHECK_EQ(S.p[3].ts, 1ull | (0x7Full << 35 & ((1ull << 38) - 1)));
    check_text(&S.p[2], "global timestamp 1: bits [6:0] = 0x5 -> 0x800007ffff85");

    /* 0x14 / 0x34 (GTS headers without C) and 0x80 are reserved headers */
    DECODE(&S, 0x14);
    REQUIRE(S.n == 1);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(S.p[0].reason, LODE_ITM_INV_RESERVED);
    CHECK_EQ(S.p[0].header, 0x14);
    check_text(&S.p[0], "invalid: reserved header 0x14");
}

/* D4.2.6 extension (stimulus port page) and D4.2.8 instrumentation packets. */
static void test_extension_and_instrumentation(void)
{
    DECODE(&S, 0x01, 'A',                    /* port 0, 1 byte */
           0x0A, 0x34, 0x12,                 /* port 1, 2 bytes */
           0xFB, 0x78, 0x56, 0x34, 0x12,     /* port 31, 4 bytes */
           0x28,                             /* extension SH=0, EX=2: page 2 */
           0x19, 0x7F,                       /* port 3 of page 2 = 67 */
           0x8C, 0x81, 0x01,                 /* extension SH=1 with payload */
           0x00, 0x00, 0x00, 0x00, 0x00, 0x80, /* sync: page back to 0 */
           0x19, 0x00);                      /* port 3 */
    REQUIRE(S.n == 8);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_INSTRUMENTATION);
    CHECK_EQ(S.p[0].port, 0);
    CHECK_EQ(S.p[0].size, 1);
    CHECK_EQ(S.p[0].value, 'A');
    CHECK_EQ(S.p[0].data[0], 'A');
    check_text(&S.p[0], "instrumentation port 0: 1 byte 0x41 'A'");
    CHECK_EQ(S.p[1].port, 1);
    CHECK_EQ(S.p[1].size, 2);
    CHECK_EQ(S.p[1].value, 0x1234);
    CHECK_EQ(S.p[2].port, 31);
    CHECK_EQ(S.p[2].size, 4);
    CHECK_EQ(S.p[2].value, 0x12345678);
    CHECK_EQ(S.p[2].len, 5);
    check_text(&S.p[2], "instrumentation port 31: 4 bytes 0x12345678");
    CHECK_EQ(S.p[3].kind, LODE_ITM_PKT_EXTENSION);
    CHECK(!S.p[3].sh);
    CHECK_EQ(S.p[3].value, 2);
    check_text(&S.p[3], "extension: stimulus port page 2 (ports 64-95)");
    CHECK_EQ(S.p[4].kind, LODE_ITM_PKT_INSTRUMENTATION);
    CHECK_EQ(S.p[4].port, 67);
    CHECK_EQ(S.p[5].kind, LODE_ITM_PKT_EXTENSION);
    CHECK(S.p[5].sh);
    CHECK_EQ(S.p[5].value, 0u | (1u << 3) | (1u << 10)); /* EX=0, 7-bit groups */
    CHECK_EQ(S.p[5].len, 3);
    CHECK_EQ(S.p[6].kind, LODE_ITM_PKT_SYNC);
    CHECK_EQ(S.p[7].port, 3);
}

/* D4.3.1 event counter, D4.3.2 exception trace, D4.3.3 PC sample. */
static void test_dwt_basic(void)
{
    DECODE(&S, 0x05, 0x21,                   /* id 0: CPI | CYC */
           0x0E, 0x0F, 0x10,                 /* id 1: SysTick (15) entered */
           0x0E, 0x11, 0x21,                 /* id 1: 0x111 = 273 (IRQ 257) exited */
           0x0E, 0x00, 0x30,                 /* id 1: returned to thread (0) */
           0x17, 0x34, 0x12, 0x00, 0x08,     /* id 2: PC 0x08001234 */
           0x15, 0x00);                      /* id 2, 1 byte 0: sleeping */
    REQUIRE(S.n == 6);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_EVENT_COUNTER);
    CHECK_EQ(S.p[0].value, LODE_ITM_EVT_CPI | LODE_ITM_EVT_CYC);
    check_text(&S.p[0], "event counter wrap: CPI CYC");
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_EXCEPTION);
    CHECK_EQ(S.p[1].exception, 15);
    CHECK_EQ(S.p[1].fn, LODE_ITM_EXC_ENTERED);
    check_text(&S.p[1], "exception 15 (SysTick) entered");
    CHECK_EQ(S.p[2].exception, 0x111);
    CHECK_EQ(S.p[2].fn, LODE_ITM_EXC_EXITED);
    check_text(&S.p[2], "exception 273 (IRQ 257) exited");
    CHECK_EQ(S.p[3].exception, 0);
    CHECK_EQ(S.p[3].fn, LODE_ITM_EXC_RETURNED);
    CHECK_EQ(S.p[4].kind, LODE_ITM_PKT_PC_SAMPLE);
    CHECK_EQ(S.p[4].value, 0x08001234);
    CHECK(!S.p[4].sleep);
    check_text(&S.p[4], "PC sample 0x08001234");
    CHECK_EQ(S.p[5].kind, LODE_ITM_PKT_PC_SAMPLE);
    CHECK(S.p[5].sleep);
    check_text(&S.p[5], "PC sample: core sleeping");
}

/* D4.3.4 data trace: PC value (id 01NN0), address offset (01NN1), data value (10NNW). */
static void test_dwt_data(void)
{
    DECODE(&S, 0x47, 0x00, 0x01, 0x00, 0x08, /* id 8: comparator 0 PC 0x08000100 */
           0x6E, 0xCD, 0xAB,                 /* id 13: comparator 2 address offset 0xABCD */
           0x85, 0x7F,                       /* id 16: comparator 0 read, 1 byte */
           0xBF, 0x01, 0x02, 0x03, 0x04,     /* id 23: comparator 3 write, 4 bytes */
           0x96, 0xEF, 0xBE,                 /* id 18: comparator 1 read, 2 bytes */
           0x1D, 0xAA,                       /* id 3: reserved discriminator */
           0x0D, 0x01);                      /* id 1 with 1 byte: not an exception packet */
    REQUIRE(S.n == 7);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_DATA_PC);
    CHECK_EQ(S.p[0].comparator, 0);
    CHECK_EQ(S.p[0].value, 0x08000100);
    check_text(&S.p[0], "data trace comparator 0: PC 0x08000100");
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_DATA_ADDR);
    CHECK_EQ(S.p[1].comparator, 2);
    CHECK_EQ(S.p[1].value, 0xABCD);
    CHECK_EQ(S.p[2].kind, LODE_ITM_PKT_DATA_VALUE);
    CHECK_EQ(S.p[2].comparator, 0);
    CHECK(!S.p[2].write);
    CHECK_EQ(S.p[2].size, 1);
    CHECK_EQ(S.p[2].value, 0x7F);
    CHECK_EQ(S.p[3].kind, LODE_ITM_PKT_DATA_VALUE);
    CHECK_EQ(S.p[3].comparator, 3);
    CHECK(S.p[3].write);
    CHECK_EQ(S.p[3].size, 4);
    CHECK_EQ(S.p[3].value, 0x04030201);
    check_text(&S.p[3], "data trace comparator 3: write 4 bytes 0x04030201");
    CHECK_EQ(S.p[4].comparator, 1);
    CHECK(!S.p[4].write);
    CHECK_EQ(S.p[4].value, 0xBEEF);
    CHECK_EQ(S.p[5].kind, LODE_ITM_PKT_HARDWARE);
    CHECK_EQ(S.p[5].port, 3);
    check_text(&S.p[5], "hardware source id 3: 1 byte 0xaa");
    CHECK_EQ(S.p[6].kind, LODE_ITM_PKT_HARDWARE);
    CHECK_EQ(S.p[6].port, 1);
}

/* A mixed stream decodes the same whatever the chunking. */
static const uint8_t mixed[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 'h', 0x01, 'i', 0xC0, 0x85, 0x03,
    0x0B, 0x78, 0x56, 0x34, 0x12, 0x94, 0x81, 0x82, 0x83, 0x04, 0xB4, 0x81, 0x80, 0x80,
    0x01, 0x38, 0x09, 0x55, 0x0E, 0x0F, 0x10, 0x17, 0x01, 0x02, 0x03, 0x04, 0x15, 0x00,
    0x70, 0x47, 0xAA, 0xBB, 0xCC, 0xDD, 0x6E, 0x11, 0x22, 0xBF, 1, 2, 3, 4, 0x20,
    0x90, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, '!',
};

static sink_s whole, pieces;

static bool same(const lode_itm_packet_s *a, const lode_itm_packet_s *b)
{
    return a->kind == b->kind && a->offset == b->offset && a->len == b->len &&
           a->header == b->header && a->port == b->port && a->comparator == b->comparator &&
           a->size == b->size && !memcmp(a->data, b->data, sizeof a->data) &&
           a->value == b->value && a->write == b->write && a->sleep == b->sleep &&
           a->exception == b->exception && a->fn == b->fn && a->ts == b->ts &&
           a->ts_bits == b->ts_bits && a->tc == b->tc && a->wrap == b->wrap &&
           a->clkch == b->clkch && a->global_ts == b->global_ts && a->sh == b->sh &&
           a->reason == b->reason;
}

static void test_chunking(void)
{
    decode(&whole, mixed, sizeof mixed, LODE_ITM_RESYNC_SYNC);
    REQUIRE(whole.dropped == 0);
    CHECK(whole.n >= 20);
    for (size_t chunk = 1; chunk <= 7; chunk++) {
        memset(&pieces, 0, sizeof pieces);
        lode_itm_decoder_s d;
        lode_itm_decoder_init(&d);
        for (size_t i = 0; i < sizeof mixed; i += chunk) {
            size_t n = sizeof mixed - i < chunk ? sizeof mixed - i : chunk;
            CHECK_EQ(lode_itm_feed(&d, mixed + i, n, collect, &pieces), LODE_OK);
            CHECK_EQ(lode_itm_feed(&d, NULL, 0, collect, &pieces), LODE_OK); /* empty feed */
        }
        CHECK_EQ(lode_itm_flush(&d, collect, &pieces), LODE_OK);
        REQUIRE(pieces.n == whole.n);
        for (size_t i = 0; i < whole.n; i++)
            CHECK(same(&pieces.p[i], &whole.p[i]));
    }
    /* the reserved header 0x90 lost sync: two bytes discarded, then the sync, then '!' */
    const lode_itm_packet_s *last = &whole.p[whole.n - 1];
    CHECK_EQ(last->kind, LODE_ITM_PKT_INSTRUMENTATION);
    CHECK_EQ(last->value, '!');
    CHECK_EQ(whole.p[whole.n - 4].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(whole.p[whole.n - 4].header, 0x90);
    CHECK_EQ(whole.p[whole.n - 3].kind, LODE_ITM_PKT_DISCARD);
    CHECK_EQ(whole.p[whole.n - 3].len, 2);
    CHECK_EQ(whole.p[whole.n - 2].kind, LODE_ITM_PKT_SYNC);
}

/* Garbage: a reserved header loses sync; what follows is discarded until a sync packet. */
static void test_garbage_resync(void)
{
    DECODE(&S, 0x01, 'a', 0xA0, 0x01, 'b', 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01,
           'c');
    REQUIRE(S.n == 5);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_INSTRUMENTATION);
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(S.p[1].offset, 2);
    CHECK_EQ(S.p[1].reason, LODE_ITM_INV_RESERVED);
    CHECK_EQ(S.p[2].kind, LODE_ITM_PKT_DISCARD);
    CHECK_EQ(S.p[2].offset, 3);
    CHECK_EQ(S.p[2].len, 3);
    check_text(&S.p[2], "discarded 3 bytes (waiting for a synchronization packet)");
    CHECK_EQ(S.p[3].kind, LODE_ITM_PKT_SYNC);
    CHECK_EQ(S.p[3].offset, 6);
    CHECK_EQ(S.p[3].len, 7);
    CHECK_EQ(S.p[4].value, 'c');

    /* the same with RESYNC_NEXT: 'b' is decoded */
    static const uint8_t g[] = {0x01, 'a', 0xA0, 0x01, 'b'};
    decode(&S, g, sizeof g, LODE_ITM_RESYNC_NEXT);
    REQUIRE(S.n == 3);
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(S.p[2].kind, LODE_ITM_PKT_INSTRUMENTATION);
    CHECK_EQ(S.p[2].value, 'b');

    /* never synchronised again: flush reports the discarded bytes */
    DECODE(&S, 0xB0, 1, 2, 3, 0, 0);
    REQUIRE(S.n == 2);
    CHECK_EQ(S.p[1].kind, LODE_ITM_PKT_DISCARD);
    CHECK_EQ(S.p[1].len, 5);

    /* truncated packet at the end of the stream */
    DECODE(&S, 0x03, 0x11, 0x22);
    REQUIRE(S.n == 1);
    CHECK_EQ(S.p[0].kind, LODE_ITM_PKT_INVALID);
    CHECK_EQ(S.p[0].reason, LODE_ITM_INV_TRUNCATED);
    CHECK_EQ(S.p[0].len, 3);

    /* every single byte value as a stream of its own never crashes and always reports */
    for (unsigned b = 0; b < 256; b++) {
        uint8_t one = (uint8_t)b;
        decode(&S, &one, 1, LODE_ITM_RESYNC_SYNC);
        CHECK(S.n == 1);
    }
}

static void test_args_and_text(void)
{
    lode_itm_decoder_s d;
    lode_itm_decoder_init(&d);
    uint8_t b = 0x70;
    CHECK_EQ(lode_itm_feed(NULL, &b, 1, collect, &S), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_itm_feed(&d, &b, 1, NULL, &S), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_itm_feed(&d, NULL, 1, collect, &S), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_itm_flush(NULL, collect, &S), LODE_E_INVALID_ARG);

    lode_itm_packet_s p = {.kind = LODE_ITM_PKT_INSTRUMENTATION, .port = 7, .size = 4,
                           .value = 0xDEADBEEF};
    char small[8];
    size_t need = lode_itm_describe(&p, small, sizeof small);
    CHECK_EQ(need, strlen("instrumentation port 7: 4 bytes 0xdeadbeef"));
    CHECK_EQ(strlen(small), sizeof small - 1);
    CHECK_EQ(lode_itm_describe(&p, NULL, 0), need);
    CHECK(!strcmp(lode_itm_kind_name(LODE_ITM_PKT_DATA_VALUE), "data_value"));
    CHECK(!strcmp(lode_itm_kind_name((lode_itm_kind_e)99), "?"));
    CHECK(!strcmp(lode_itm_exception_name(3), "HardFault"));
    CHECK(!strcmp(lode_itm_exception_name(7), "reserved"));
    CHECK(!strcmp(lode_itm_exception_name(16), "IRQ"));
}

int main(void)
{
    RUN_TEST(test_sync);
    RUN_TEST(test_overflow);
    RUN_TEST(test_local_ts);
    RUN_TEST(test_global_ts);
    RUN_TEST(test_extension_and_instrumentation);
    RUN_TEST(test_dwt_basic);
    RUN_TEST(test_dwt_data);
    RUN_TEST(test_chunking);
    RUN_TEST(test_garbage_resync);
    RUN_TEST(test_args_and_text);
    return TEST_DONE();
}
