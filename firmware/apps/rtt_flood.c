/* SPDX-License-Identifier: MIT */
/* rtt_flood: fills one RTT up channel as fast as it can, for bench/rtt_speed.c. Up 0 "Flood"
 * (1 KiB, block-if-full) carries a counting byte pattern (byte n of the stream = n mod 256);
 * rtt_flood_bytes counts the bytes written. The ring follows the control block in memory
 * (one struct), so lode reads the descriptors and the data in one memory read. Never exits. */
#include <stdint.h>

#include "rtt_target.h"

#define FLOOD_SIZE 1024u

struct rtt_flood_cb_s {
    RTT_CB_FIELDS(1, 0);
    uint8_t buf[FLOOD_SIZE];
};

struct rtt_flood_cb_s _SEGGER_RTT;
volatile uint32_t rtt_flood_bytes;

int main(void)
{
    struct rtt_flood_cb_s *cb = &_SEGGER_RTT;
    rtt_ring_s *r = &cb->up[0];
    *r = (rtt_ring_s){"Flood", cb->buf, FLOOD_SIZE, 0, 0, RTT_MODE_BLOCK};
    rtt_publish(cb->id, &cb->max_up, &cb->max_down, 1, 0);

    uint32_t n = 0;
    for (;;) {
        uint32_t wr = r->wr, space = rtt_space(r);
        if (space == 0)
            continue;
        uint32_t chunk = FLOOD_SIZE - wr;
        if (chunk > space)
            chunk = space;
        for (uint32_t i = 0; i < chunk; i++)
            cb->buf[wr + i] = (uint8_t)(n + i);
        n += chunk;
        rtt_dmb();
        wr += chunk;
        r->wr = wr == FLOOD_SIZE ? 0 : wr;
        rtt_flood_bytes = n;
    }
}
