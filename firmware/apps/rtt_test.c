/* SPDX-License-Identifier: MIT */
/* rtt_test: SEGGER RTT through lode (tests/sim/test_rtt_sim.c). Its own control block
 * _SEGGER_RTT with up 0 "Terminal" (1 KiB), up 1 "Data" (256 B) and down 0 "Terminal"
 * (64 B), all block-if-full. Writes "rtt_test: hello from <chip>\n" to up 0 and the bytes
 * 0..199 to up 1, then echoes every byte from down 0 to up 0 until a newline, writes "bye\n",
 * waits until the host has read it, sets rtt_test_done and exits 0 through semihosting. */
#include <stdint.h>

#include "board.h"
#include "fmt.h"
#include "rtt_target.h"
#include "semihost.h"

struct rtt_cb_s {
    RTT_CB_FIELDS(2, 1);
};

struct rtt_cb_s _SEGGER_RTT;
volatile uint32_t rtt_test_done;

static uint8_t up0_buf[1024];
static uint8_t up1_buf[256];
static uint8_t down0_buf[64];

static void rtt_init(void)
{
    struct rtt_cb_s *cb = &_SEGGER_RTT;
    cb->up[0] = (rtt_ring_s){"Terminal", up0_buf, sizeof up0_buf, 0, 0, RTT_MODE_BLOCK};
    cb->up[1] = (rtt_ring_s){"Data", up1_buf, sizeof up1_buf, 0, 0, RTT_MODE_BLOCK};
    cb->down[0] = (rtt_ring_s){"Terminal", down0_buf, sizeof down0_buf, 0, 0, RTT_MODE_BLOCK};
    rtt_publish(cb->id, &cb->max_up, &cb->max_down, 2, 1);
}

int main(void)
{
    rtt_init();
    char line[64];
    char *p = fmt_str(line, "rtt_test: hello from ");
    p = fmt_str(p, board_chip_name);
    *p++ = '\n';
    rtt_write(&_SEGGER_RTT.up[0], line, (size_t)(p - line));

    uint8_t bin[200];
    for (unsigned i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)i;
    rtt_write(&_SEGGER_RTT.up[1], bin, sizeof bin);

    for (int done = 0; !done;) {
        uint8_t c;
        if (rtt_read(&_SEGGER_RTT.down[0], &c, 1) == 0)
            continue;
        rtt_write(&_SEGGER_RTT.up[0], &c, 1);
        done = c == '\n';
    }
    rtt_write(&_SEGGER_RTT.up[0], "bye\n", 4);
    if (rtt_drain(&_SEGGER_RTT.up[0], 50000000u) != 0)
        sh_fail("rtt_test: the host never read up 0\n", 2);
    rtt_test_done = 1;
    return 0;
}
