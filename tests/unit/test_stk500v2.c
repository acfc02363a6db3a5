/* SPDX-License-Identifier: MIT */
/* The STK500v2 (AVR068) codec: framing as the Mega 2560's bootloader exchanges it (the bytes
 * seen on the wire with avrdude), the reply decoder's resynchronisation after noise, a bad
 * token, an impossible size and a wrong checksum. */
#include <string.h>

#include "boot/stk500v2.h"
#include "lode/error.h"
#include "test.h"

static void test_encode(void)
{
    /* LOAD_ADDRESS 0x8000C300 (bit 31: the extended byte), sequence 0x0a, as avrdude sends it */
    const uint8_t body[5] = {0x06, 0x80, 0x00, 0xC3, 0x00};
    const uint8_t want[11] = {0x1b, 0x0a, 0x00, 0x05, 0x0e, 0x06, 0x80, 0x00, 0xc3, 0x00, 0x5f};
    uint8_t buf[16];
    CHECK_EQ(lodei_stk2_encode(buf, sizeof buf, 0x0a, body, 5), 11);
    CHECK(!memcmp(buf, want, 11));
    CHECK_EQ(lodei_stk2_encode(buf, 10, 0x0a, body, 5), 0);  /* does not fit */
    CHECK_EQ(lodei_stk2_encode(buf, sizeof buf, 0, body, 0), 0); /* empty body */
    uint8_t big[LODEI_STK2_MAX_BODY + 7], bigbody[LODEI_STK2_MAX_BODY + 1];
    memset(bigbody, 0x55, sizeof bigbody);
    CHECK_EQ(lodei_stk2_encode(big, sizeof big, 1, bigbody, LODEI_STK2_MAX_BODY), LODEI_STK2_MAX_BODY + 6);
    CHECK_EQ(lodei_stk2_encode(big, sizeof big, 1, bigbody, LODEI_STK2_MAX_BODY + 1), 0);
}

static lodei_stk2_rx_e feed_all(lodei_stk2_rx_s *rx, const uint8_t *b, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        lodei_stk2_rx_e r = lodei_stk2_rx_feed(rx, b[i]);
        if (r != LODEI_STK2_RX_MORE) {
            *at = i;
            return r;
        }
    }
    *at = n;
    return LODEI_STK2_RX_MORE;
}

static void test_decode(void)
{
    lodei_stk2_rx_s rx;
    size_t at;
    /* the bootloader's answer to that LOAD_ADDRESS */
    const uint8_t ok[8] = {0x1b, 0x0a, 0x00, 0x02, 0x0e, 0x06, 0x00, 0x1b};
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, ok, 8, &at), LODEI_STK2_RX_FRAME);
    CHECK_EQ(at, 7);
    CHECK(rx.seq == 0x0a && rx.size == 2 && rx.body[0] == 0x06 && rx.body[1] == 0x00 && rx.skipped == 0);
    /* noise first (a 0x1B inside it starts a false message that fails its token), then the answer */
    const uint8_t noisy[] = {0x00, 0xff, 0x1b, 0x00, 0x00, 0x01, 0x99};
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, noisy, sizeof noisy, &at), LODEI_STK2_RX_BAD_TOKEN);
    CHECK_EQ(rx.skipped, 2);
    CHECK_EQ(feed_all(&rx, ok, 8, &at), LODEI_STK2_RX_FRAME);
    /* a wrong checksum, then the decoder takes the next message */
    uint8_t bad[8];
    memcpy(bad, ok, 8);
    bad[7] ^= 1;
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, bad, 8, &at), LODEI_STK2_RX_BAD_SUM);
    CHECK_EQ(feed_all(&rx, ok, 8, &at), LODEI_STK2_RX_FRAME);
    /* sizes 0 and past the maximum */
    const uint8_t zero[] = {0x1b, 0x01, 0x00, 0x00};
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, zero, sizeof zero, &at), LODEI_STK2_RX_TOO_LONG);
    const uint8_t huge[] = {0x1b, 0x01, 0x01, 0x2d}; /* 301 */
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, huge, sizeof huge, &at), LODEI_STK2_RX_TOO_LONG);
    /* a whole READ_FLASH answer of 256 bytes: round trip through the encoder */
    uint8_t body[259], frame[300];
    body[0] = LODEI_STK2_READ_FLASH_ISP;
    body[1] = LODEI_STK2_STATUS_OK;
    for (int i = 0; i < 256; i++)
        body[2 + i] = (uint8_t)(i * 7);
    body[258] = LODEI_STK2_STATUS_OK;
    size_t n = lodei_stk2_encode(frame, sizeof frame, 0xff, body, sizeof body);
    REQUIRE(n == sizeof body + 6);
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, frame, n, &at), LODEI_STK2_RX_FRAME);
    CHECK(rx.size == sizeof body && !memcmp(rx.body, body, sizeof body) && rx.seq == 0xff);
    /* an echo of a command is a frame too (the client sees its command id and no status) */
    const uint8_t sign_on[1] = {LODEI_STK2_SIGN_ON};
    n = lodei_stk2_encode(frame, sizeof frame, 3, sign_on, 1);
    lodei_stk2_rx_init(&rx);
    CHECK_EQ(feed_all(&rx, frame, n, &at), LODEI_STK2_RX_FRAME);
    CHECK_EQ(rx.size, 1);
}

int main(void)
{
    RUN_TEST(test_encode);
    RUN_TEST(test_decode);
    return TEST_DONE();
}
