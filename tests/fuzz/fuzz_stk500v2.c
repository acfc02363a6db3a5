/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the STK500v2 reply decoder (lodei_stk2_rx_feed): any byte stream.
 * Invariants (a violation aborts): a frame's size is 1..LODEI_STK2_MAX_BODY, its checksum
 * holds, and encoding its body with its sequence number gives the very bytes that ended in it;
 * the decoder never reads or writes past its body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/stk500v2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lodei_stk2_rx_s rx;
    lodei_stk2_rx_init(&rx);
    size_t start = 0; /* where the current message may have begun */
    for (size_t i = 0; i < size; i++) {
        if (rx.state == 0)
            start = i;
        lodei_stk2_rx_e r = lodei_stk2_rx_feed(&rx, data[i]);
        if (r == LODEI_STK2_RX_FRAME) {
            if (rx.size < 1 || rx.size > LODEI_STK2_MAX_BODY)
                abort();
            uint8_t frame[LODEI_STK2_MAX_BODY + 6];
            size_t n = lodei_stk2_encode(frame, sizeof frame, rx.seq, rx.body, rx.size);
            if (n != rx.size + 6 || i + 1 < n || memcmp(frame, data + i + 1 - n, n))
                abort();
            (void)start;
        } else if (r != LODEI_STK2_RX_MORE && rx.state != 0) {
            abort(); /* after a bad message the decoder looks for the next start */
        }
        if (rx.got > sizeof rx.body)
            abort();
    }
    return 0;
}
