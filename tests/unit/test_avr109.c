/* SPDX-License-Identifier: MIT */
/* The AVR109 codec and client (src/boot/avr109.c): what each reply is, the sync's verdicts
 * against a peer thread that answers, echoes, babbles or stays silent, block writes in flight,
 * and a port that vanishes mid-write. */
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/avr109.h"
#include "lode/error.h"
#include "test.h"

static void test_decode(void)
{
    size_t need = 0, len = 0;
    const uint8_t cr[] = {'\r'}, q[] = {'?'}, x[] = {'x'};
    CHECK_EQ(lodei_avr109_decode('A', 0, cr, 1, &need, &len), LODEI_AVR109_R_DONE);
    CHECK_EQ(len, 1);
    CHECK_EQ(lodei_avr109_decode('A', 0, cr, 0, &need, NULL), LODEI_AVR109_R_MORE);
    CHECK_EQ(need, 1);
    CHECK_EQ(lodei_avr109_decode('B', 0, q, 1, &need, NULL), LODEI_AVR109_R_UNKNOWN);
    CHECK_EQ(lodei_avr109_decode('E', 0, x, 1, &need, NULL), LODEI_AVR109_R_GARBAGE);
    const uint8_t id[] = "CATERIN", bad_id[] = "CAT\001RIN";
    CHECK_EQ(lodei_avr109_decode('S', 0, id, 3, &need, NULL), LODEI_AVR109_R_MORE);
    CHECK_EQ(need, 4);
    CHECK_EQ(lodei_avr109_decode('S', 0, id, 7, &need, &len), LODEI_AVR109_R_DONE);
    CHECK_EQ(len, 7);
    CHECK_EQ(lodei_avr109_decode('S', 0, bad_id, 7, &need, NULL), LODEI_AVR109_R_GARBAGE);
    CHECK_EQ(lodei_avr109_decode('V', 0, q, 1, &need, NULL), LODEI_AVR109_R_UNKNOWN);
    const uint8_t by[] = {'Y', 0, 128}, bn[] = {'N'};
    CHECK_EQ(lodei_avr109_decode('b', 0, by, 2, &need, NULL), LODEI_AVR109_R_MORE);
    CHECK_EQ(lodei_avr109_decode('b', 0, by, 3, &need, &len), LODEI_AVR109_R_DONE);
    CHECK_EQ(len, 3);
    CHECK_EQ(lodei_avr109_decode('b', 0, bn, 1, &need, &len), LODEI_AVR109_R_DONE);
    CHECK_EQ(len, 1);
    CHECK_EQ(lodei_avr109_decode('a', 0, x, 1, &need, NULL), LODEI_AVR109_R_GARBAGE);
    /* signature and block data are any bytes, '?' too */
    const uint8_t sig[] = {'?', 0x95, 0x1E};
    CHECK_EQ(lodei_avr109_decode('s', 0, sig, 3, &need, &len), LODEI_AVR109_R_DONE);
    CHECK_EQ(lodei_avr109_decode('g', 3, sig, 3, &need, &len), LODEI_AVR109_R_DONE);
    uint8_t blk[8];
    const uint8_t data[2] = {0x12, 0x34};
    CHECK_EQ(lodei_avr109_encode_block(blk, sizeof blk, 'F', data, 2), 6);
    CHECK(blk[0] == 'B' && blk[1] == 0 && blk[2] == 2 && blk[3] == 'F' && blk[4] == 0x12 && blk[5] == 0x34);
    CHECK_EQ(lodei_avr109_encode_block(blk, 5, 'F', data, 2), 0);
}

/* ---- a peer on a socket pair ---------------------------------------------------------------- */

typedef enum { P_BOOT, P_ECHO, P_BABBLE, P_SILENT, P_VANISH } peer_mode_e;
typedef struct peer_s {
    int fd;
    peer_mode_e mode;
    size_t cmds;      /* CRs answered */
} peer_s;

static void *peer_main(void *arg)
{
    peer_s *p = arg;
    uint8_t b[600];
    ssize_t n;
    while ((n = read(p->fd, b, sizeof b)) > 0) {
        if (p->mode == P_ECHO) {
            if (write(p->fd, b, (size_t)n) != n)
                break;
        } else if (p->mode == P_BABBLE) {
            if (write(p->fd, "\x15\x10\x15", 3) != 3)
                break;
        } else if (p->mode == P_VANISH) {
            break; /* the port goes away at the first command */
        } else if (p->mode == P_BOOT) {
            for (ssize_t i = 0; i < n; i++)
                if (b[i] == 'S') {
                    if (write(p->fd, "CATERIN", 7) != 7)
                        return NULL;
                } else if (b[i] == 'B') {
                    /* B hi lo F + 4 bytes in these tests: a CR per block */
                    i += 3 + 4;
                    p->cmds++;
                    if (write(p->fd, "\r", 1) != 1)
                        return NULL;
                }
        }
    }
    close(p->fd);
    return NULL;
}

static int start_peer(peer_s *p, peer_mode_e mode, lode_stream_s **s, pthread_t *th)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    *p = (peer_s){.fd = sv[1], .mode = mode};
    if (lode_stream_from_fd(sv[0], true, NULL, s) != LODE_OK)
        return -1;
    return pthread_create(th, NULL, peer_main, p);
}

typedef struct errs_s {
    int n;
    char last[400];
} errs_s;

static void on_log(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    errs_s *e = user;
    if (level == LODE_LOG_ERROR) {
        e->n++;
        snprintf(e->last, sizeof e->last, "%s", msg);
    }
}

static void test_sync(void)
{
    static const peer_mode_e modes[] = {P_BOOT, P_ECHO, P_BABBLE, P_SILENT};
    static const lodei_avr109_sync_e want[] = {LODEI_AVR109_SYNC_OK, LODEI_AVR109_SYNC_ECHO,
                                               LODEI_AVR109_SYNC_GARBAGE, LODEI_AVR109_SYNC_SILENT};
    for (size_t k = 0; k < 4; k++) {
        peer_s p;
        lode_stream_s *s = NULL;
        pthread_t th;
        REQUIRE(start_peer(&p, modes[k], &s, &th) == 0);
        lodei_avr109_s c = {.s = s};
        char id[8] = "";
        lodei_avr109_sync_e seen = LODEI_AVR109_SYNC_OK;
        uint8_t first[8];
        size_t nfirst = 0;
        int rc = lodei_avr109_sync(&c, 2, modes[k] == P_SILENT ? 100 : 2000, id, &seen, first, &nfirst);
        CHECK_EQ(rc, k == 0 ? LODE_OK : LODE_E_NO_DEVICE);
        CHECK_EQ(seen, want[k]);
        if (k == 0)
            CHECK(!strcmp(id, "CATERIN"));
        if (k == 1)
            CHECK(nfirst >= 2 && first[0] == 0x1B && first[1] == 'S');
        lode_stream_close(s);
        pthread_join(th, NULL);
    }
}

static void test_blocks_and_vanish(void)
{
    peer_s p;
    lode_stream_s *s = NULL;
    pthread_t th;
    REQUIRE(start_peer(&p, P_BOOT, &s, &th) == 0);
    errs_s e = {0};
    lode_log_s log = {.fn = on_log, .user = &e, .max_level = LODE_LOG_ERROR};
    lodei_avr109_s c = {.s = s, .log = &log, .timeout_ms = 5000};
    uint8_t out[64];
    size_t n = 0;
    const uint8_t d[4] = {1, 2, 3, 4};
    for (int i = 0; i < 3; i++)
        n += lodei_avr109_encode_block(out + n, sizeof out - n, 'F', d, 4);
    CHECK_EQ(lodei_avr109_send_cr_batch(&c, out, n, 3, "'B' (block write)"), LODE_OK);
    CHECK_EQ(e.n, 0);
    lode_stream_close(s);
    pthread_join(th, NULL);
    CHECK_EQ(p.cmds, 3);
    /* the port vanishes (a board unplugged, or reset) at a block write: one line saying so */
    REQUIRE(start_peer(&p, P_VANISH, &s, &th) == 0);
    c.s = s;
    int rc = lodei_avr109_send_cr_batch(&c, out, n, 3, "'B' (block write)");
    CHECK(rc == LODE_E_IO);
    CHECK_EQ(e.n, 1);
    CHECK(strstr(e.last, "the board vanished") != NULL);
    lode_stream_close(s);
    pthread_join(th, NULL);
}

int main(void)
{
    RUN_TEST(test_decode);
    RUN_TEST(test_sync);
    RUN_TEST(test_blocks_and_vanish);
    return TEST_DONE();
}
