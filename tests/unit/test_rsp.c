/* SPDX-License-Identifier: MIT */
/* GDB Remote Serial Protocol framing: decoder events, encoder, hex helpers. */
#include "lode/error.h"
#include "lode/rsp.h"
#include "test.h"

#define MAX_EVENTS 64

typedef struct rec_ev_s {
    lode_rsp_event_type_e type;
    bool notification;
    size_t len;
    uint8_t data[256];
    uint8_t sent, computed;
} rec_ev_s;

typedef struct rec_s {
    size_t n;
    rec_ev_s ev[MAX_EVENTS];
    int bad_nul; /* data not NUL-terminated */
} rec_s;

static void record(void *user, const lode_rsp_event_s *ev)
{
    rec_s *r = user;
    if (r->n >= MAX_EVENTS)
        return;
    rec_ev_s *e = &r->ev[r->n++];
    e->type = ev->type;
    e->notification = ev->notification;
    e->len = ev->len;
    e->sent = ev->checksum_sent;
    e->computed = ev->checksum_computed;
    if (ev->data) {
        memcpy(e->data, ev->data, ev->len < sizeof e->data ? ev->len : sizeof e->data);
        if (ev->data[ev->len] != 0)
            r->bad_nul++;
    }
}

/* Decode `in` whole with a fresh decoder (max 0 = default). */
static void decode(const char *in, size_t len, size_t max, rec_s *r)
{
    static lode_rsp_decoder_s d; /* 16 KiB: keep it off the stack (test-only static) */
    memset(r, 0, sizeof *r);
    CHECK_EQ(lode_rsp_decoder_init(&d, max), LODE_OK);
    CHECK_EQ(lode_rsp_feed(&d, (const uint8_t *)in, len, record, r), LODE_OK);
}

#define DECODE(lit, max, r) decode((lit), sizeof(lit) - 1, (max), (r))

static bool is_packet(const rec_ev_s *e, const char *text)
{
    size_t n = strlen(text);
    return e->type == LODE_RSP_EV_PACKET && e->len == n && memcmp(e->data, text, n) == 0;
}

static void test_manual_examples(void)
{
    rec_s r;
    DECODE("$m0,4#fd", 0, &r);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "m0,4"));
    CHECK_EQ(r.bad_nul, 0);

    DECODE("$OK#9a+$#00", 0, &r);
    REQUIRE(r.n == 3);
    CHECK(is_packet(&r.ev[0], "OK"));
    CHECK_EQ(r.ev[1].type, LODE_RSP_EV_ACK);
    CHECK(is_packet(&r.ev[2], ""));

    /* checksum digits in upper case are accepted */
    DECODE("$m0,4#FD", 0, &r);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "m0,4"));

    /* encoder gives the same bytes */
    uint8_t out[32];
    size_t n = 0;
    CHECK_EQ(lode_rsp_encode((const uint8_t *)"m0,4", 4, out, sizeof out, &n), LODE_OK);
    CHECK_EQ(n, 8);
    CHECK(memcmp(out, "$m0,4#fd", 8) == 0);
    CHECK_EQ(lode_rsp_encode(NULL, 0, out, sizeof out, &n), LODE_OK);
    CHECK(n == 4 && memcmp(out, "$#00", 4) == 0);
    CHECK_EQ(lode_rsp_checksum((const uint8_t *)"OK", 2), 0x9a);
}

static void test_rle(void)
{
    rec_s r;
    /* the manual: "0* " is '0' followed by 3 more '0' (' ' = 32, 32 - 29 = 3) */
    char frame[32];
    const char *data = "0* ";
    int n = snprintf(frame, sizeof frame, "$%s#%02x", data,
                     lode_rsp_checksum((const uint8_t *)data, strlen(data)));
    decode(frame, (size_t)n, 0, &r);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "0000"));

    /* longer runs and two runs in a row: "a*~" = 1 + 97 'a' */
    data = "Xa*~b*\"";
    n = snprintf(frame, sizeof frame, "$%s#%02x", data,
                 lode_rsp_checksum((const uint8_t *)data, strlen(data)));
    decode(frame, (size_t)n, 0, &r);
    REQUIRE(r.n == 1);
    REQUIRE(r.ev[0].len == 1 + 98 + 6);
    CHECK(r.ev[0].data[0] == 'X' && r.ev[0].data[1] == 'a' && r.ev[0].data[98] == 'a');
    CHECK(r.ev[0].data[99] == 'b' && r.ev[0].data[104] == 'b');

    /* '*' with nothing to repeat, a count below ' ', '*' right before '#' */
    const char *bad[] = {"* ", "a*\x1f", "a*", "a}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = snprintf(frame, sizeof frame, "$%s#%02x", bad[i],
                     lode_rsp_checksum((const uint8_t *)bad[i], strlen(bad[i])));
        decode(frame, (size_t)n, 0, &r);
        REQUIRE(r.n == 1);
        CHECK_EQ(r.ev[0].type, LODE_RSP_EV_MALFORMED);
    }

    /* a run past max_packet is oversized */
    data = "a*~";
    n = snprintf(frame, sizeof frame, "$%s#%02x+", data,
                 lode_rsp_checksum((const uint8_t *)data, strlen(data)));
    decode(frame, (size_t)n, 50, &r);
    REQUIRE(r.n == 2);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_OVERSIZED);
    CHECK_EQ(r.ev[1].type, LODE_RSP_EV_ACK);
}

static void test_escape_round_trip(void)
{
    uint8_t payload[256];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    uint8_t out[LODE_RSP_ENCODED_MAX(256)];
    size_t n = 0;
    CHECK_EQ(lode_rsp_encode(payload, sizeof payload, out, sizeof out, &n), LODE_OK);
    CHECK_EQ(n, 4 + 256 + 4); /* four bytes escaped */
    /* no raw framing characters inside */
    for (size_t i = 1; i + 3 < n; i++)
        CHECK(out[i] != '#' && out[i] != '$' && out[i] != '*');

    rec_s r;
    decode((const char *)out, n, 0, &r);
    REQUIRE(r.n == 1);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_PACKET);
    CHECK_EQ(r.ev[0].len, 256);
    CHECK(memcmp(r.ev[0].data, payload, 256) == 0);

    /* escaped bytes by hand: "}\x03" = '#', "}]" = '}' */
    DECODE("$}\x03}]#5a", 0, &r);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "#}"));

    /* the encoder needs room; out_len untouched on failure */
    size_t keep = 1234;
    CHECK_EQ(lode_rsp_encode((const uint8_t *)"#", 1, out, 5, &keep), LODE_E_NOMEM);
    CHECK_EQ(keep, 1234);
    CHECK_EQ(lode_rsp_encode((const uint8_t *)"#", 1, out, 6, &keep), LODE_OK);
    CHECK(keep == 6 && memcmp(out, "$}\x03#80", 6) == 0);

    /* notification */
    CHECK_EQ(lode_rsp_encode_notification((const uint8_t *)"Stop:T05", 8, out, sizeof out, &n),
             LODE_OK);
    CHECK(n == 12 && out[0] == '%' && out[9] == '#');
    decode((const char *)out, n, 0, &r);
    REQUIRE(r.n == 1);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_NOTIFICATION);
    CHECK(r.ev[0].notification);
    CHECK(r.ev[0].len == 8 && memcmp(r.ev[0].data, "Stop:T05", 8) == 0);
}

static void test_bad_checksum(void)
{
    rec_s r;
    DECODE("$m0,4#fe$m0,4#fd", 0, &r);
    REQUIRE(r.n == 2);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_BAD_CHECKSUM);
    CHECK(!r.ev[0].notification);
    CHECK_EQ(r.ev[0].sent, 0xfe);
    CHECK_EQ(r.ev[0].computed, 0xfd);
    CHECK(is_packet(&r.ev[1], "m0,4"));

    DECODE("$OK#xz", 0, &r); /* not hex */
    REQUIRE(r.n == 1);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_BAD_CHECKSUM);

    DECODE("%Stop#00", 0, &r); /* bad notification: flagged, never acknowledged */
    REQUIRE(r.n == 1);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_BAD_CHECKSUM);
    CHECK(r.ev[0].notification);
}

static void test_oversized(void)
{
    rec_s r;
    /* max 4: "m0,4" fits, "m0,40" does not; the decoder resyncs after it */
    DECODE("$m0,4#fd$m0,40#2d+$m0,4#fd", 4, &r);
    REQUIRE(r.n == 4);
    CHECK(is_packet(&r.ev[0], "m0,4"));
    CHECK_EQ(r.ev[1].type, LODE_RSP_EV_OVERSIZED);
    CHECK_EQ(r.ev[2].type, LODE_RSP_EV_ACK);
    CHECK(is_packet(&r.ev[3], "m0,4"));

    /* an oversized frame cut short by a new '$' */
    DECODE("$aaaaaaaa$OK#9a", 4, &r);
    REQUIRE(r.n == 2);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_OVERSIZED);
    CHECK(is_packet(&r.ev[1], "OK"));

    /* the largest packet the struct can hold, and one more */
    static uint8_t payload[LODE_RSP_MAX_PACKET + 1];
    static uint8_t out[LODE_RSP_ENCODED_MAX(LODE_RSP_MAX_PACKET + 1)];
    memset(payload, 'x', sizeof payload);
    size_t n = 0;
    CHECK_EQ(lode_rsp_encode(payload, LODE_RSP_MAX_PACKET, out, sizeof out, &n), LODE_OK);
    decode((const char *)out, n, 0, &r);
    REQUIRE(r.n == 1);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_PACKET);
    CHECK_EQ(r.ev[0].len, LODE_RSP_MAX_PACKET);
    CHECK_EQ(r.bad_nul, 0);
    CHECK_EQ(lode_rsp_encode(payload, sizeof payload, out, sizeof out, &n), LODE_OK);
    decode((const char *)out, n, 0, &r);
    REQUIRE(r.n == 1);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_OVERSIZED);

    lode_rsp_decoder_s d;
    CHECK_EQ(lode_rsp_decoder_init(&d, LODE_RSP_MAX_PACKET + 1), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_rsp_decoder_init(NULL, 0), LODE_E_INVALID_ARG);
}

static void test_interrupt_acks_garbage(void)
{
    rec_s r;
    DECODE("\x03+-xyz\r\n\x7f\xff#00", 0, &r);
    REQUIRE(r.n == 3);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_INTERRUPT);
    CHECK_EQ(r.ev[1].type, LODE_RSP_EV_ACK);
    CHECK_EQ(r.ev[2].type, LODE_RSP_EV_NACK);

    /* inside a packet 0x03, '+', '-' and '%' are data (binary X packets) */
    uint8_t out[32];
    size_t n = 0;
    CHECK_EQ(lode_rsp_encode((const uint8_t *)"X\x03+-%", 5, out, sizeof out, &n), LODE_OK);
    decode((const char *)out, n, 0, &r);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "X\x03+-%"));

    /* garbage, then a packet, then garbage */
    DECODE("junk#4$OK#9a}*more", 0, &r);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "OK"));
}

static void test_chunking(void)
{
    static const char stream[] = "+$m0,4#fd\x03-%Stop:T05#00junk$a*~#xx$}\x03}]#5a$m0,40#2d$#00";
    const size_t len = sizeof stream - 1;
    static rec_s whole, parts;
    static lode_rsp_decoder_s d;
    for (size_t max = 0; max <= 8; max += 4) {
        decode(stream, len, max, &whole);
        CHECK(whole.n >= 7);
        for (size_t chunk = 1; chunk <= len; chunk++) {
            memset(&parts, 0, sizeof parts);
            CHECK_EQ(lode_rsp_decoder_init(&d, max), LODE_OK);
            for (size_t i = 0; i < len; i += chunk) {
                size_t k = len - i < chunk ? len - i : chunk;
                lode_rsp_feed(&d, (const uint8_t *)stream + i, k, record, &parts);
            }
            REQUIRE(parts.n == whole.n);
            for (size_t i = 0; i < whole.n; i++) {
                CHECK_EQ(parts.ev[i].type, whole.ev[i].type);
                CHECK_EQ(parts.ev[i].len, whole.ev[i].len);
                CHECK(memcmp(parts.ev[i].data, whole.ev[i].data, sizeof whole.ev[i].data) == 0);
            }
        }
    }
}

static void test_dropped_connection(void)
{
    static lode_rsp_decoder_s d;
    rec_s r;
    memset(&r, 0, sizeof r);
    CHECK_EQ(lode_rsp_decoder_init(&d, 0), LODE_OK);
    CHECK(lode_rsp_decoder_idle(&d));
    CHECK_EQ(lode_rsp_feed(&d, (const uint8_t *)"$m0,4#f", 7, record, &r), LODE_OK);
    CHECK_EQ(r.n, 0);
    CHECK(!lode_rsp_decoder_idle(&d));
    /* reconnect: re-init drops the partial frame */
    CHECK_EQ(lode_rsp_decoder_init(&d, 0), LODE_OK);
    CHECK(lode_rsp_decoder_idle(&d));
    CHECK_EQ(lode_rsp_feed(&d, (const uint8_t *)"d+$OK#9a", 8, record, &r), LODE_OK);
    REQUIRE(r.n == 2);
    CHECK_EQ(r.ev[0].type, LODE_RSP_EV_ACK);
    CHECK(is_packet(&r.ev[1], "OK"));

    /* without re-init, a new '$' abandons the partial frame */
    memset(&r, 0, sizeof r);
    CHECK_EQ(lode_rsp_feed(&d, (const uint8_t *)"$m0,4$OK#9a", 11, record, &r), LODE_OK);
    REQUIRE(r.n == 1);
    CHECK(is_packet(&r.ev[0], "OK"));

    CHECK_EQ(lode_rsp_feed(&d, NULL, 0, record, &r), LODE_OK);
    CHECK_EQ(lode_rsp_feed(&d, NULL, 1, record, &r), LODE_E_INVALID_ARG);
    CHECK_EQ(lode_rsp_feed(&d, (const uint8_t *)"+", 1, NULL, &r), LODE_E_INVALID_ARG);
}

static void test_hex(void)
{
    char txt[16];
    uint8_t bin[8];
    size_t n = 99;
    CHECK_EQ(lode_rsp_hex_encode((const uint8_t *)"\x00\x7f\xab", 3, txt, 5, &n), LODE_E_NOMEM);
    CHECK_EQ(n, 99);
    CHECK_EQ(lode_rsp_hex_encode((const uint8_t *)"\x00\x7f\xab", 3, txt, 6, &n), LODE_OK);
    CHECK(n == 6 && memcmp(txt, "007fab", 6) == 0);

    n = 99;
    CHECK_EQ(lode_rsp_hex_decode("007FaB", 6, bin, 3, &n), LODE_OK);
    CHECK(n == 3 && memcmp(bin, "\x00\x7f\xab", 3) == 0);
    n = 99;
    CHECK_EQ(lode_rsp_hex_decode("007fab", 6, bin, 2, &n), LODE_E_NOMEM);
    CHECK_EQ(lode_rsp_hex_decode("007fa", 5, bin, 8, &n), LODE_E_PROTOCOL);
    memset(bin, 0x55, sizeof bin);
    CHECK_EQ(lode_rsp_hex_decode("00g0", 4, bin, 8, &n), LODE_E_PROTOCOL);
    CHECK_EQ(bin[0], 0x55); /* nothing written on error */
    CHECK_EQ(n, 99);
    CHECK_EQ(lode_rsp_hex_decode("", 0, bin, 0, &n), LODE_OK);
    CHECK_EQ(n, 0);
}

int main(void)
{
    RUN_TEST(test_manual_examples);
    RUN_TEST(test_rle);
    RUN_TEST(test_escape_round_trip);
    RUN_TEST(test_bad_checksum);
    RUN_TEST(test_oversized);
    RUN_TEST(test_interrupt_acks_garbage);
    RUN_TEST(test_chunking);
    RUN_TEST(test_dropped_connection);
    RUN_TEST(test_hex);
    return TEST_DONE();
}
