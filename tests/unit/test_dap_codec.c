/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP codec: encoders produce the bytes of the ARM CMSIS-DAP command reference,
 * decoders reject short, oversized, wrong-id and wrong-status replies (one log line each),
 * the Transfer packing plan, and the driver's WAIT / in-doubt handling over a scripted
 * transport (replies crafted by hand, as a probe's firmware would send them). */
#include <stdbool.h>

#include "lode/cmsis_dap.h"
#include "lode/error.h"
#include "lode/transport.h"
#include "probe/cmsis_dap/dap_codec.h"
#include "test.h"

/* ---- log capture -------------------------------------------------------------------- */
typedef struct logcap_s {
    int nerr, nall;
    char last[256];
} logcap_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    logcap_s *l = user;
    (void)cat;
    l->nall++;
    if (level == LODE_LOG_ERROR)
        l->nerr++;
    snprintf(l->last, sizeof l->last, "%s", msg);
}

static logcap_s lc;
static lode_log_s logger = {log_fn, &lc, LODE_LOG_DEBUG};

static void log_reset(void) { memset(&lc, 0, sizeof lc); }

#define CHECK_BYTES(buf, n, ...)                                                    \
    do {                                                                            \
        const uint8_t exp_[] = {__VA_ARGS__};                                       \
        CHECK_EQ((n), (int)sizeof exp_);                                            \
        if ((n) == (int)sizeof exp_)                                                \
            CHECK(memcmp((buf), exp_, sizeof exp_) == 0);                           \
    } while (0)

/* A decoder error: the code, and exactly one error line. */
#define CHECK_REJECT(expr, code)                                                    \
    do {                                                                            \
        log_reset();                                                                \
        CHECK_EQ((expr), (code));                                                   \
        CHECK_EQ(lc.nerr, 1);                                                       \
    } while (0)

/* ---- encoders ----------------------------------------------------------------------- */
static void test_encoders(void)
{
    uint8_t b[600];
    int n;
    n = lodei_dap_enc_info(b, sizeof b, LODEI_DAP_ID_PACKET_SIZE);
    CHECK_BYTES(b, n, 0x00, 0xFF);
    n = lodei_dap_enc_host_status(b, sizeof b, 0, 1);
    CHECK_BYTES(b, n, 0x01, 0x00, 0x01);
    n = lodei_dap_enc_connect(b, sizeof b, LODEI_DAP_PORT_SWD);
    CHECK_BYTES(b, n, 0x02, 0x01);
    n = lodei_dap_enc_disconnect(b, sizeof b);
    CHECK_BYTES(b, n, 0x03);
    n = lodei_dap_enc_transfer_configure(b, sizeof b, 2, 0x1234, 0x0100);
    CHECK_BYTES(b, n, 0x04, 0x02, 0x34, 0x12, 0x00, 0x01);
    n = lodei_dap_enc_transfer_abort(b, sizeof b);
    CHECK_BYTES(b, n, 0x07);
    n = lodei_dap_enc_write_abort(b, sizeof b, 0, 0x1E);
    CHECK_BYTES(b, n, 0x08, 0x00, 0x1E, 0x00, 0x00, 0x00);
    n = lodei_dap_enc_delay(b, sizeof b, 1000);
    CHECK_BYTES(b, n, 0x09, 0xE8, 0x03);
    n = lodei_dap_enc_reset_target(b, sizeof b);
    CHECK_BYTES(b, n, 0x0A);
    n = lodei_dap_enc_swj_pins(b, sizeof b, 0x00, LODEI_DAP_PIN_NRESET, 0x01020304);
    CHECK_BYTES(b, n, 0x10, 0x00, 0x80, 0x04, 0x03, 0x02, 0x01);
    n = lodei_dap_enc_swj_clock(b, sizeof b, 4000000);
    CHECK_BYTES(b, n, 0x11, 0x00, 0x09, 0x3D, 0x00);
    n = lodei_dap_enc_swd_configure(b, sizeof b, 0);
    CHECK_BYTES(b, n, 0x13, 0x00);
    n = lodei_dap_enc_multi(b, sizeof b, LODEI_DAP_EXECUTE_COMMANDS, 3);
    CHECK_BYTES(b, n, 0x7F, 0x03);
    n = lodei_dap_enc_multi(b, sizeof b, LODEI_DAP_QUEUE_COMMANDS, 1);
    CHECK_BYTES(b, n, 0x7E, 0x01);

    /* line reset: 51 ones -> count 51, 7 bytes, bits past 51 cleared */
    const uint8_t ones[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    n = lodei_dap_enc_swj_sequence(b, sizeof b, 51, ones);
    CHECK_BYTES(b, n, 0x12, 51, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07);
    const uint8_t sel[2] = {0x9E, 0xE7};
    n = lodei_dap_enc_swj_sequence(b, sizeof b, 16, sel);
    CHECK_BYTES(b, n, 0x12, 16, 0x9E, 0xE7);
    n = lodei_dap_enc_swj_sequence(b, sizeof b, 256, ones);
    CHECK_EQ(n, 34);
    CHECK_EQ(b[1], 0); /* 256 bits are sent as count 0 */

    /* Transfer: DP read DPIDR, AP write TAR, AP read DRW, DP write with match mask,
     * DP read CTRL/STAT with value match */
    lode_dap_xfer_s x[] = {
        {.req = LODE_DAP_RNW},
        {.req = LODE_DAP_APNDP | LODE_DAP_A(0x4), .wdata = 0xE000ED00u},
        {.req = LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(0xC)},
        {.req = LODEI_DAP_REQ_MATCH_MASK, .wdata = 0xF0000000u},
        {.req = LODE_DAP_RNW | LODE_DAP_A(0x4) | LODEI_DAP_REQ_MATCH_VALUE, .wdata = 0xF0000000u},
    };
    n = lodei_dap_enc_transfer(b, sizeof b, 0, x, 5);
    CHECK_BYTES(b, n, 0x05, 0x00, 0x05, 0x02, 0x05, 0x00, 0xED, 0x00, 0xE0, 0x0F, 0x20, 0x00,
                0x00, 0x00, 0xF0, 0x16, 0x00, 0x00, 0x00, 0xF0);

    /* TransferBlock: 256 reads of DRW; 2 writes of DRW */
    n = lodei_dap_enc_transfer_block(b, sizeof b, 0, LODE_DAP_APNDP | LODE_DAP_RNW | 0xC, NULL, 256);
    CHECK_BYTES(b, n, 0x06, 0x00, 0x00, 0x01, 0x0F);
    const uint32_t w[2] = {0x11223344u, 0xA5A5A5A5u};
    n = lodei_dap_enc_transfer_block(b, sizeof b, 0, LODE_DAP_APNDP | 0xC, w, 2);
    CHECK_BYTES(b, n, 0x06, 0x00, 0x02, 0x00, 0x0D, 0x44, 0x33, 0x22, 0x11, 0xA5, 0xA5, 0xA5, 0xA5);

    /* refusals */
    CHECK_EQ(lodei_dap_enc_info(b, 1, 0x01), LODE_E_NOMEM);
    CHECK_EQ(lodei_dap_enc_transfer(b, 8, 0, x, 2), LODE_E_NOMEM); /* needs 9 */
    CHECK_EQ(lodei_dap_enc_transfer(b, 9, 0, x, 2), 9);
    CHECK_EQ(lodei_dap_enc_transfer(b, sizeof b, 0, x, 0), LODE_E_INVALID_ARG);
    lode_dap_xfer_s many[256] = {{0}};
    CHECK_EQ(lodei_dap_enc_transfer(b, sizeof b, 0, many, 256), LODE_E_INVALID_ARG);
    lode_dap_xfer_s ts = {.req = LODE_DAP_RNW | LODEI_DAP_REQ_TIMESTAMP};
    CHECK_EQ(lodei_dap_enc_transfer(b, sizeof b, 0, &ts, 1), LODE_E_INVALID_ARG);
    lode_dap_xfer_s badmatch = {.req = LODEI_DAP_REQ_MATCH_VALUE}; /* value match on a write */
    CHECK_EQ(lodei_dap_enc_transfer(b, sizeof b, 0, &badmatch, 1), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_swj_sequence(b, sizeof b, 0, ones), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_swj_sequence(b, sizeof b, 257, ones), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_swj_sequence(b, 8, 64, ones), LODE_E_NOMEM);
    CHECK_EQ(lodei_dap_enc_swj_clock(b, sizeof b, 0), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_transfer_block(b, sizeof b, 0, 0x0D, NULL, 2), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_transfer_block(b, sizeof b, 0, 0x0F, NULL, 0), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_transfer_block(b, 12, 0, 0x0D, w, 2), LODE_E_NOMEM);
    CHECK_EQ(lodei_dap_enc_multi(b, sizeof b, 0x05, 1), LODE_E_INVALID_ARG);
    CHECK_EQ(lodei_dap_enc_swd_configure(b, sizeof b, 0x08), LODE_E_INVALID_ARG);
}

/* ---- simple decoders ------------------------------------------------------------------ */
static void test_status_decoders(void)
{
    size_t used = 0;
    const uint8_t ok[] = {0x11, 0x00};
    CHECK_EQ(lodei_dap_dec_status(ok, 2, 0x11, &logger, &used), LODE_OK);
    CHECK_EQ(used, 2);
    /* HID padding after the reply is ignored */
    uint8_t padded[64] = {0x04, 0x00};
    CHECK_EQ(lodei_dap_dec_status(padded, 64, 0x04, &logger, NULL), LODE_OK);

    CHECK_REJECT(lodei_dap_dec_status(ok, 1, 0x11, &logger, NULL), LODE_E_PROTOCOL);  /* short */
    CHECK_REJECT(lodei_dap_dec_status(ok, 0, 0x11, &logger, NULL), LODE_E_PROTOCOL);  /* empty */
    CHECK_REJECT(lodei_dap_dec_status(NULL, 2, 0x11, &logger, NULL), LODE_E_PROTOCOL);
    CHECK_REJECT(lodei_dap_dec_status(ok, 2, 0x12, &logger, NULL), LODE_E_PROTOCOL); /* wrong id */
    const uint8_t err[] = {0x11, 0xFF};
    CHECK_REJECT(lodei_dap_dec_status(err, 2, 0x11, &logger, NULL), LODE_E_PROTOCOL); /* status */
    const uint8_t odd[] = {0x11, 0x01};
    CHECK_REJECT(lodei_dap_dec_status(odd, 2, 0x11, &logger, NULL), LODE_E_PROTOCOL);
    const uint8_t inval[] = {0xFF};
    CHECK_REJECT(lodei_dap_dec_status(inval, 1, 0x13, &logger, NULL), LODE_E_UNSUPPORTED);
    CHECK(strstr(lc.last, "DAP_SWD_Configure") != NULL);
    static uint8_t huge[LODEI_DAP_PACKET_MAX + 1] = {0x11, 0x00};
    CHECK_REJECT(lodei_dap_dec_status(huge, sizeof huge, 0x11, &logger, NULL), LODE_E_PROTOCOL);

    uint8_t port = 9;
    const uint8_t con[] = {0x02, 0x01};
    CHECK_EQ(lodei_dap_dec_connect(con, 2, &logger, &port, NULL), LODE_OK);
    CHECK_EQ(port, 1);
    const uint8_t con0[] = {0x02, 0x00};
    CHECK_EQ(lodei_dap_dec_connect(con0, 2, &logger, &port, NULL), LODE_OK);
    CHECK_EQ(port, 0);
    const uint8_t con9[] = {0x02, 0x09};
    port = 7;
    CHECK_REJECT(lodei_dap_dec_connect(con9, 2, &logger, &port, NULL), LODE_E_PROTOCOL);
    CHECK_EQ(port, 7); /* untouched on error */
    CHECK_REJECT(lodei_dap_dec_connect(con, 1, &logger, &port, NULL), LODE_E_PROTOCOL);

    uint8_t pins = 0, exe = 9;
    const uint8_t pr[] = {0x10, 0x83};
    CHECK_EQ(lodei_dap_dec_swj_pins(pr, 2, &logger, &pins, NULL), LODE_OK);
    CHECK_EQ(pins, 0x83);
    CHECK_REJECT(lodei_dap_dec_swj_pins(pr, 1, &logger, &pins, NULL), LODE_E_PROTOCOL);
    const uint8_t rt[] = {0x0A, 0x00, 0x01};
    CHECK_EQ(lodei_dap_dec_reset_target(rt, 3, &logger, &exe, NULL), LODE_OK);
    CHECK_EQ(exe, 1);
    CHECK_REJECT(lodei_dap_dec_reset_target(rt, 2, &logger, &exe, NULL), LODE_E_PROTOCOL);
    const uint8_t rtf[] = {0x0A, 0xFF, 0x00};
    CHECK_REJECT(lodei_dap_dec_reset_target(rtf, 3, &logger, &exe, NULL), LODE_E_PROTOCOL);

    uint8_t num = 0;
    const uint8_t mul[] = {0x7F, 0x02, 0x02, 0x01, 0x11, 0x00};
    CHECK_EQ(lodei_dap_dec_multi(mul, sizeof mul, &logger, &num, &used), LODE_OK);
    CHECK_EQ(num, 2);
    CHECK_EQ(used, 2);
    CHECK_EQ(lodei_dap_dec_connect(mul + 2, 4, &logger, &port, &used), LODE_OK);
    CHECK_EQ(lodei_dap_dec_status(mul + 2 + used, 2, 0x11, &logger, NULL), LODE_OK);
    CHECK_REJECT(lodei_dap_dec_multi(con, 2, &logger, &num, NULL), LODE_E_PROTOCOL);
}

static void test_info_decoders(void)
{
    char s[8];
    const uint8_t str[] = {0x00, 0x04, 'A', 'B', 'C', 0x00, 0xEE};
    CHECK_EQ(lodei_dap_dec_info_string(str, sizeof str, 1, &logger, s, sizeof s), LODE_OK);
    CHECK(strcmp(s, "ABC") == 0);
    CHECK_EQ(lodei_dap_dec_info_string(str, sizeof str, 1, &logger, s, 3), LODE_OK);
    CHECK(strcmp(s, "AB") == 0); /* truncated, terminated */
    const uint8_t nonul[] = {0x00, 0x03, 'x', 'y', 'z'};
    CHECK_EQ(lodei_dap_dec_info_string(nonul, sizeof nonul, 1, &logger, s, sizeof s), LODE_OK);
    CHECK(strcmp(s, "xyz") == 0);
    const uint8_t none[] = {0x00, 0x00};
    CHECK_EQ(lodei_dap_dec_info_string(none, 2, 1, &logger, s, sizeof s), LODE_OK);
    CHECK(strcmp(s, "") == 0);
    strcpy(s, "keep");
    CHECK_REJECT(lodei_dap_dec_info_string(str, 5, 1, &logger, s, sizeof s), LODE_E_PROTOCOL);
    CHECK(strcmp(s, "keep") == 0); /* claims 4 bytes, has 3 */
    const uint8_t wrong[] = {0x01, 0x00};
    CHECK_REJECT(lodei_dap_dec_info_string(wrong, 2, 1, &logger, s, sizeof s), LODE_E_PROTOCOL);

    uint16_t caps = 0, size = 0;
    uint8_t count = 0;
    const uint8_t c1[] = {0x00, 0x01, 0x13};
    CHECK_EQ(lodei_dap_dec_info_caps(c1, 3, &logger, &caps), LODE_OK);
    CHECK_EQ(caps, 0x13);
    const uint8_t c2[] = {0x00, 0x02, 0x11, 0x01};
    CHECK_EQ(lodei_dap_dec_info_caps(c2, 4, &logger, &caps), LODE_OK);
    CHECK_EQ(caps, 0x0111);
    CHECK_REJECT(lodei_dap_dec_info_caps(none, 2, &logger, &caps), LODE_E_PROTOCOL);
    const uint8_t pc[] = {0x00, 0x01, 0x04};
    CHECK_EQ(lodei_dap_dec_info_packet_count(pc, 3, &logger, &count), LODE_OK);
    CHECK_EQ(count, 4);
    const uint8_t pc2[] = {0x00, 0x02, 0x04, 0x00};
    CHECK_REJECT(lodei_dap_dec_info_packet_count(pc2, 4, &logger, &count), LODE_E_PROTOCOL);
    const uint8_t ps[] = {0x00, 0x02, 0x00, 0x02};
    CHECK_EQ(lodei_dap_dec_info_packet_size(ps, 4, &logger, &size), LODE_OK);
    CHECK_EQ(size, 512);
    CHECK_REJECT(lodei_dap_dec_info_packet_size(pc, 3, &logger, &size), LODE_E_PROTOCOL);
    CHECK_REJECT(lodei_dap_dec_info_packet_size(ps, 3, &logger, &size), LODE_E_PROTOCOL);
    CHECK_EQ(size, 512);
}

/* ---- Transfer / TransferBlock replies -------------------------------------------------- */
#define AP_RD(a) (LODE_DAP_APNDP | LODE_DAP_RNW | LODE_DAP_A(a))
#define AP_WR(a) (LODE_DAP_APNDP | LODE_DAP_A(a))
#define DP_RD(a) (LODE_DAP_RNW | LODE_DAP_A(a))
#define DP_WR(a) (LODE_DAP_A(a))

static void test_transfer_decoder(void)
{
    uint32_t v[4] = {0xDEAD, 0xDEAD, 0xDEAD, 0xDEAD};
    lode_dap_xfer_s x[4] = {
        {.req = DP_RD(0x0), .rdata = &v[0]},
        {.req = AP_WR(0x4), .wdata = 0x20000000u},
        {.req = AP_RD(0xC), .rdata = &v[2]},
        {.req = AP_RD(0xC), .rdata = &v[3]},
    };
    lodei_dap_xfer_result_s res;
    size_t used = 0;
    const uint8_t ok[] = {0x05, 0x04, 0x01, 0x77, 0x14, 0xA0, 0x1B, 0x01, 0, 0, 0, 0x02, 0, 0, 0};
    CHECK_EQ(lodei_dap_dec_transfer(ok, sizeof ok, x, 4, &logger, &res, &used), LODE_OK);
    CHECK_EQ(res.ack, LODE_DAP_ACK_OK);
    CHECK_EQ(res.done, 4);
    CHECK(!res.indoubt);
    CHECK_EQ(used, sizeof ok);
    CHECK_EQ(v[0], 0x1BA01477u);
    CHECK_EQ(v[2], 1);
    CHECK_EQ(v[3], 2);

    /* rejections leave rdata alone */
    v[0] = v[2] = v[3] = 0xDEAD;
    CHECK_REJECT(lodei_dap_dec_transfer(ok, sizeof ok - 1, x, 4, &logger, &res, NULL),
                 LODE_E_PROTOCOL); /* short data */
    CHECK_EQ(v[0], 0xDEAD);
    CHECK_REJECT(lodei_dap_dec_transfer(ok, 2, x, 4, &logger, &res, NULL), LODE_E_PROTOCOL);
    CHECK_REJECT(lodei_dap_dec_transfer(ok, sizeof ok, x, 3, &logger, &res, NULL),
                 LODE_E_PROTOCOL); /* count 4 > 3 sent */
    const uint8_t okshort[] = {0x05, 0x02, 0x01, 0, 0, 0, 0};
    CHECK_REJECT(lodei_dap_dec_transfer(okshort, sizeof okshort, x, 4, &logger, &res, NULL),
                 LODE_E_PROTOCOL); /* OK after 2 of 4 */
    const uint8_t wrongid[] = {0x06, 0x04, 0x01, 0x77, 0x14, 0xA0, 0x1B, 1, 0, 0, 0, 2, 0, 0, 0};
    CHECK_REJECT(lodei_dap_dec_transfer(wrongid, sizeof wrongid, x, 4, &logger, &res, NULL),
                 LODE_E_PROTOCOL);
    const uint8_t badresp[] = {0x05, 0x00, 0x41};
    CHECK_REJECT(lodei_dap_dec_transfer(badresp, 3, x, 4, &logger, &res, NULL), LODE_E_PROTOCOL);
    const uint8_t inval[] = {0xFF, 0, 0};
    CHECK_REJECT(lodei_dap_dec_transfer(inval, 3, x, 4, &logger, &res, NULL), LODE_E_UNSUPPORTED);
    CHECK_EQ(v[0], 0xDEAD);

    /* FAULT at the TAR write: DPIDR delivered, nothing in doubt */
    const uint8_t f1[] = {0x05, 0x01, 0x04, 0x77, 0x14, 0xA0, 0x1B};
    CHECK_EQ(lodei_dap_dec_transfer(f1, sizeof f1, x, 4, &logger, &res, NULL), LODE_OK);
    CHECK_EQ(res.ack, LODE_DAP_ACK_FAULT);
    CHECK_EQ(res.done, 1);
    CHECK(!res.indoubt);
    CHECK_EQ(v[0], 0x1BA01477u);

    /* WAIT at the second AP read: the first AP read was issued (count 3) but its value
     * never came back: done 2, transfer 2 in doubt */
    v[2] = 0xDEAD;
    const uint8_t w3[] = {0x05, 0x03, 0x02, 0x77, 0x14, 0xA0, 0x1B};
    CHECK_EQ(lodei_dap_dec_transfer(w3, sizeof w3, x, 4, &logger, &res, NULL), LODE_OK);
    CHECK_EQ(res.ack, LODE_DAP_ACK_WAIT);
    CHECK_EQ(res.count, 3);
    CHECK_EQ(res.done, 2);
    CHECK(res.indoubt);
    CHECK_EQ(v[2], 0xDEAD);

    /* FAULT on the final RDBUFF read of a posted AP read: count 4, last in doubt */
    v[3] = 0xDEAD;
    const uint8_t f4[] = {0x05, 0x04, 0x04, 0x77, 0x14, 0xA0, 0x1B, 0x01, 0, 0, 0};
    CHECK_EQ(lodei_dap_dec_transfer(f4, sizeof f4, x, 4, &logger, &res, NULL), LODE_OK);
    CHECK_EQ(res.done, 3);
    CHECK(res.indoubt);
    CHECK_EQ(v[3], 0xDEAD);

    /* failed check of the last write */
    lode_dap_xfer_s wx[2] = {{.req = AP_WR(0x4), .wdata = 1}, {.req = AP_WR(0xC), .wdata = 2}};
    const uint8_t wf[] = {0x05, 0x02, 0x04};
    CHECK_EQ(lodei_dap_dec_transfer(wf, sizeof wf, wx, 2, &logger, &res, NULL), LODE_OK);
    CHECK_EQ(res.done, 1);
    CHECK(res.indoubt);

    /* no ACK, protocol error, mismatch */
    const uint8_t na[] = {0x05, 0x00, 0x07};
    CHECK_EQ(lodei_dap_dec_transfer(na, 3, x, 4, &logger, &res, NULL), LODE_OK);
    CHECK_EQ(res.ack, LODE_DAP_ACK_NONE);
    const uint8_t pe[] = {0x05, 0x00, 0x09};
    CHECK_EQ(lodei_dap_dec_transfer(pe, 3, x, 4, &logger, &res, NULL), LODE_OK);
    CHECK_EQ(res.ack, LODE_DAP_ACK_NONE);
    CHECK(res.protocol_error);
    lode_dap_xfer_s mx[1] = {{.req = DP_RD(0x4) | LODEI_DAP_REQ_MATCH_VALUE, .wdata = 1}};
    const uint8_t mm[] = {0x05, 0x00, 0x11};
    CHECK_EQ(lodei_dap_dec_transfer(mm, 3, mx, 1, &logger, &res, NULL), LODE_OK);
    CHECK(res.mismatch);
    CHECK_EQ(res.done, 0);
    const uint8_t mmall[] = {0x05, 0x01, 0x11};
    CHECK_REJECT(lodei_dap_dec_transfer(mmall, 3, mx, 1, &logger, &res, NULL), LODE_E_PROTOCOL);
}

static void test_block_decoder(void)
{
    uint32_t d[3] = {0, 0, 0};
    lodei_dap_xfer_result_s res;
    const uint8_t ok[] = {0x06, 0x03, 0x00, 0x01, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
    CHECK_EQ(lodei_dap_dec_transfer_block(ok, sizeof ok, AP_RD(0xC), 3, &logger, d, &res, NULL),
             LODE_OK);
    CHECK_EQ(d[0], 1);
    CHECK_EQ(d[2], 3);
    CHECK_EQ(res.done, 3);
    CHECK_REJECT(lodei_dap_dec_transfer_block(ok, sizeof ok - 4, AP_RD(0xC), 3, &logger, d, &res,
                                              NULL), LODE_E_PROTOCOL);
    CHECK_REJECT(lodei_dap_dec_transfer_block(ok, sizeof ok, AP_RD(0xC), 2, &logger, d, &res,
                                              NULL), LODE_E_PROTOCOL); /* 3 words > 2 sent */
    CHECK_REJECT(lodei_dap_dec_transfer_block(ok, 3, AP_RD(0xC), 3, &logger, d, &res, NULL),
                 LODE_E_PROTOCOL);
    const uint8_t okshort[] = {0x06, 0x01, 0x00, 0x01, 1, 0, 0, 0};
    CHECK_REJECT(lodei_dap_dec_transfer_block(okshort, sizeof okshort, AP_RD(0xC), 3, &logger, d,
                                              &res, NULL), LODE_E_PROTOCOL);
    const uint8_t wrongid[] = {0x05, 0x03, 0x00, 0x01};
    CHECK_REJECT(lodei_dap_dec_transfer_block(wrongid, 4, AP_WR(0xC), 3, &logger, NULL, &res,
                                              NULL), LODE_E_PROTOCOL);
    /* reads stopped after 1 word: word 1 waits in RDBUFF */
    const uint8_t r1[] = {0x06, 0x01, 0x00, 0x02, 9, 0, 0, 0};
    CHECK_EQ(lodei_dap_dec_transfer_block(r1, sizeof r1, AP_RD(0xC), 3, &logger, d, &res, NULL),
             LODE_OK);
    CHECK_EQ(res.done, 1);
    CHECK(res.indoubt);
    CHECK_EQ(d[0], 9);
    /* stopped at 0: ambiguous, not in doubt */
    const uint8_t r0[] = {0x06, 0x00, 0x00, 0x02};
    CHECK_EQ(lodei_dap_dec_transfer_block(r0, 4, AP_RD(0xC), 3, &logger, d, &res, NULL), LODE_OK);
    CHECK(!res.indoubt);
    /* writes: failed final check */
    const uint8_t wf[] = {0x06, 0x03, 0x00, 0x04};
    CHECK_EQ(lodei_dap_dec_transfer_block(wf, 4, AP_WR(0xC), 3, &logger, NULL, &res, NULL), LODE_OK);
    CHECK_EQ(res.done, 2);
    CHECK(res.indoubt);
}

/* ---- packing plan -------------------------------------------------------------------- */
static void test_plan(void)
{
    lode_dap_xfer_s x[400];
    for (size_t i = 0; i < 400; i++)
        x[i] = (lode_dap_xfer_s){.req = AP_WR(0xC)};
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 64), 12);    /* 3 + 12*5 = 63 */
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 512), 101);  /* 3 + 101*5 = 508 */
    CHECK_EQ(lodei_dap_plan_transfer(x, 5, 512), 5);
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 2048), 255);
    for (size_t i = 0; i < 400; i++)
        x[i] = (lode_dap_xfer_s){.req = AP_RD(0xC)};
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 64), 15);    /* reply 3 + 15*4 = 63 */
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 512), 127);
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 4096), 255);
    /* mixed: write CSW, write TAR, then reads: request 13 + n, reply 3 + 4n */
    x[0] = (lode_dap_xfer_s){.req = AP_WR(0x0)};
    x[1] = (lode_dap_xfer_s){.req = AP_WR(0x4)};
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 64), 17);    /* 2 writes + 15 reads */
    CHECK_EQ(lodei_dap_plan_transfer(x, 400, 5), 0);
    CHECK_EQ(lodei_dap_plan_transfer(x, 0, 64), 0);
    /* every planned command encodes within the packet */
    uint8_t b[64];
    CHECK(lodei_dap_enc_transfer(b, sizeof b, 0, x, 17) > 0);
    CHECK_EQ(lodei_dap_block_max(64, true), 15);
    CHECK_EQ(lodei_dap_block_max(64, false), 14);
    CHECK_EQ(lodei_dap_block_max(512, true), 127);
    CHECK_EQ(lodei_dap_block_max(512, false), 126);
    CHECK_EQ(lodei_dap_block_max(4, true), 0);
}

/* ---- the driver over a scripted transport ---------------------------------------------- */
typedef struct script_s {
    lode_transport_s base;
    const uint8_t *const *replies;
    const size_t *rlen;
    size_t nreplies, next;
    uint8_t sent[32][64];
    size_t sent_len[32], nsent;
} script_s;

static int s_write(lode_transport_s *t, const uint8_t *d, size_t n, unsigned ms)
{
    script_s *s = (script_s *)t;
    (void)ms;
    if (s->nsent < 32 && n <= 64) {
        memcpy(s->sent[s->nsent], d, n);
        s->sent_len[s->nsent] = n;
    }
    s->nsent++;
    return LODE_OK;
}

static int s_read(lode_transport_s *t, uint8_t *b, size_t cap, size_t *got, unsigned ms)
{
    script_s *s = (script_s *)t;
    (void)ms;
    if (s->next >= s->nreplies)
        return LODE_E_TIMEOUT;
    size_t n = s->rlen[s->next];
    if (n > cap)
        n = cap;
    memcpy(b, s->replies[s->next], n);
    s->next++;
    *got = n;
    return LODE_OK;
}

static void s_close(lode_transport_s *t) { (void)t; }
static const lode_transport_ops_s script_ops = {s_write, s_read, s_close};

#define R(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

typedef struct rep_s {
    const uint8_t *b;
    size_t n;
} rep_s;

static void script_init(script_s *s, const rep_s *reps, size_t n, const uint8_t **rp, size_t *rl)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        rp[i] = reps[i].b;
        rl[i] = reps[i].n;
    }
    s->base.ops = &script_ops;
    s->base.kind = LODE_TRANSPORT_INPROC;
    s->base.packet_size = 64;
    s->replies = rp;
    s->rlen = rl;
    s->nreplies = n;
}

#define OPEN_REPLIES(caps)                                                            \
    {R(0x00, 0x02, 0x40, 0x00)}, {R(0x00, 0x01, 0x01)}, {R(0x00, 0x01, caps)},          \
        {R(0x00, 0x02, 'V', 0)}, {R(0x00, 0x02, 'P', 0)}, {R(0x00, 0x00)},            \
        {R(0x00, 0x04, '2', '.', '1', 0)}, { R(0x00, 0x00) }

static void test_driver_scripted(void)
{
    /* open: 8 Info queries; a JTAG-only probe is refused */
    {
        const rep_s reps[] = {OPEN_REPLIES(0x02)};
        const uint8_t *rp[16];
        size_t rl[16];
        script_s s;
        script_init(&s, reps, sizeof reps / sizeof reps[0], rp, rl);
        lode_cmsis_dap_s *dap = (lode_cmsis_dap_s *)&s;
        log_reset();
        CHECK_EQ(lode_cmsis_dap_open(&s.base, &logger, &dap), LODE_E_UNSUPPORTED);
        CHECK(dap == (lode_cmsis_dap_s *)&s); /* untouched */
        CHECK_EQ(lc.nerr, 1);
        CHECK(strstr(lc.last, "SWD") != NULL);
    }
    /* [AP read, AP read]: the probe issues read 0 (posted), then read 1 WAITs (count 1, no
     * data). The driver must fetch read 0's value with an RDBUFF read, not repeat read 0,
     * then send read 1 again. */
    {
        const rep_s reps[] = {
            OPEN_REPLIES(0x01),
            {R(0x05, 0x01, 0x02)},                         /* count 1, WAIT */
            {R(0x05, 0x01, 0x01, 0x11, 0x11, 0x11, 0x11)}, /* RDBUFF -> read 0's value */
            {R(0x05, 0x01, 0x01, 0x22, 0x22, 0x22, 0x22)}, /* read 1 */
        };
        const uint8_t *rp[16];
        size_t rl[16];
        script_s s;
        script_init(&s, reps, sizeof reps / sizeof reps[0], rp, rl);
        lode_cmsis_dap_s *dap = NULL;
        REQUIRE(lode_cmsis_dap_open(&s.base, &logger, &dap) == LODE_OK);
        lode_dap_ops_s ops;
        CHECK_EQ(lode_cmsis_dap_dap_ops(dap, &ops), LODE_OK);
        uint32_t v0 = 0, v1 = 0;
        lode_dap_xfer_s x[2] = {{.req = AP_RD(0xC), .rdata = &v0}, {.req = AP_RD(0xC), .rdata = &v1}};
        size_t done = 99;
        lode_dap_ack_e ack = LODE_DAP_ACK_NONE;
        CHECK_EQ(ops.transfer(ops.ctx, x, 2, &done, &ack), LODE_OK);
        CHECK_EQ(done, 2);
        CHECK_EQ(ack, LODE_DAP_ACK_OK);
        CHECK_EQ(v0, 0x11111111u);
        CHECK_EQ(v1, 0x22222222u);
        REQUIRE(s.nsent == 11);
        CHECK_BYTES(s.sent[8], (int)s.sent_len[8], 0x05, 0x00, 0x02, 0x0F, 0x0F);
        CHECK_BYTES(s.sent[9], (int)s.sent_len[9], 0x05, 0x00, 0x01, 0x0E); /* DP RDBUFF */
        CHECK_BYTES(s.sent[10], (int)s.sent_len[10], 0x05, 0x00, 0x01, 0x0F);
        lode_cmsis_dap_stats_s st;
        CHECK_EQ(lode_cmsis_dap_stats(dap, &st), LODE_OK);
        CHECK_EQ(st.host_retries, 1);
        lode_cmsis_dap_close(dap); /* never connected: no Disconnect */
        CHECK_EQ(s.nsent, 11);
    }
    /* a FAULT is reported, not retried; a reply out of step is a protocol error */
    {
        const rep_s reps[] = {
            OPEN_REPLIES(0x01),
            {R(0x05, 0x00, 0x04)},
            {R(0x06, 0x00, 0x04)},
        };
        const uint8_t *rp[16];
        size_t rl[16];
        script_s s;
        script_init(&s, reps, sizeof reps / sizeof reps[0], rp, rl);
        lode_cmsis_dap_s *dap = NULL;
        REQUIRE(lode_cmsis_dap_open(&s.base, &logger, &dap) == LODE_OK);
        lode_dap_ops_s ops;
        lode_cmsis_dap_dap_ops(dap, &ops);
        lode_dap_xfer_s x = {.req = AP_WR(0x4), .wdata = 0};
        size_t done = 99;
        lode_dap_ack_e ack = LODE_DAP_ACK_OK;
        CHECK_EQ(ops.transfer(ops.ctx, &x, 1, &done, &ack), LODE_E_FAULT);
        CHECK_EQ(done, 0);
        CHECK_EQ(ack, LODE_DAP_ACK_FAULT);
        log_reset();
        CHECK_EQ(ops.transfer(ops.ctx, &x, 1, &done, &ack), LODE_E_PROTOCOL);
        CHECK_EQ(lc.nerr, 1);
        lode_cmsis_dap_close(dap);
    }
}

int main(void)
{
    RUN_TEST(test_encoders);
    RUN_TEST(test_status_decoders);
    RUN_TEST(test_info_decoders);
    RUN_TEST(test_transfer_decoder);
    RUN_TEST(test_block_decoder);
    RUN_TEST(test_plan);
    RUN_TEST(test_driver_scripted);
    return TEST_DONE();
}
