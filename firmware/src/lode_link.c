/* SPDX-License-Identifier: MIT */
/* The lode serial link, firmware side (lode_link.h): frames and escaping over the port's
 * putc/getc. Written from docs/serial-link.md. */
#include "lode_link.h"

#define DLE 0x10u
#define T_EXIT 'X'
#define T_ARGS_REQ 'A'
#define T_ARGS 'a'

static char args_buf[LODE_LINK_ARGS_BYTES];
static char *argv_buf[LODE_LINK_ARGS_MAX + 1];

static uint16_t crc_step(uint16_t crc, uint8_t b)
{
    crc ^= (uint16_t)((uint16_t)b << 8);
    for (uint8_t k = 0; k < 8; k++)
        crc = (crc & 0x8000u) ? (uint16_t)((uint16_t)(crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    return crc;
}

static void send_frame4(uint8_t type, const uint8_t p[4])
{
    uint8_t head[6] = {DLE, 'L', 'D', type, 4, 0};
    uint16_t crc = 0xFFFFu;
    for (uint8_t i = 0; i < 6; i++) {
        lode_link_port_putc(head[i]);
        if (i >= 3)
            crc = crc_step(crc, head[i]);
    }
    for (uint8_t i = 0; i < 4; i++) {
        lode_link_port_putc(p[i]);
        crc = crc_step(crc, p[i]);
    }
    lode_link_port_putc((uint8_t)crc);
    lode_link_port_putc((uint8_t)(crc >> 8));
}

void lode_link_init(void) { lode_link_port_init(LODE_LINK_BAUD); }

int lode_link_putchar(int c)
{
    if ((uint8_t)c == DLE) {
        lode_link_port_putc(DLE);
        lode_link_port_putc('L');
        lode_link_port_putc('D');
        lode_link_port_putc('=');
    } else {
        lode_link_port_putc((uint8_t)c);
    }
    return c;
}

void lode_link_write(const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        lode_link_putchar(p[i]);
}

void lode_link_puts(const char *s)
{
    while (*s)
        lode_link_putchar((uint8_t)*s++);
}

int lode_link_getchar(uint16_t timeout_ms) { return lode_link_port_getc(timeout_ms); }

/* Wait for the answer frame: 1 when it came and fitted, 0 when it said the arguments do not
 * fit, -1 when the line stayed quiet for LODE_LINK_ANSWER_MS. Anything else is skipped. */
static int8_t wait_answer(int *argc)
{
    static const uint8_t magic[4] = {DLE, 'L', 'D', T_ARGS};
    uint8_t state = 0; /* 0-3 magic, 4-5 length, 6 payload, 7-8 CRC */
    uint16_t len = 0, at = 0, crc = 0xFFFFu, got_crc = 0;
    uint8_t status = 0;
    for (;;) {
        int c = lode_link_port_getc(LODE_LINK_ANSWER_MS);
        if (c < 0)
            return -1;
        uint8_t b = (uint8_t)c;
        if (state < 4) {
            if (b == magic[state]) {
                state++;
                crc = state == 4 ? crc_step(0xFFFFu, b) : crc;
            } else {
                state = b == DLE ? 1 : 0;
            }
            continue;
        }
        if (state == 4 || state == 5) {
            len |= (uint16_t)((uint16_t)b << (state == 4 ? 0 : 8));
            crc = crc_step(crc, b);
            state++;
            at = 0;
            if (state == 6 && (len == 0 || len - 1u > LODE_LINK_ARGS_BYTES)) {
                state = 0; /* not an answer this firmware can take */
                len = 0;
            }
            continue;
        }
        if (state == 6) {
            crc = crc_step(crc, b);
            if (at == 0)
                status = b;
            else
                args_buf[at - 1] = (char)b;
            if (++at == len)
                state = 7;
            continue;
        }
        if (state == 7) {
            got_crc = b;
            state = 8;
            continue;
        }
        got_crc |= (uint16_t)((uint16_t)b << 8);
        if (got_crc != crc) {
            state = 0;
            len = 0;
            continue;
        }
        if (status != 0)
            return 0;
        /* the arguments, NUL-terminated one after the other */
        int n = 0;
        uint16_t start = 0;
        for (uint16_t i = 0; i + 1u < len; i++)
            if (args_buf[i] == 0) {
                if (n < LODE_LINK_ARGS_MAX)
                    argv_buf[n++] = &args_buf[start];
                start = (uint16_t)(i + 1u);
            }
        argv_buf[n] = 0;
        *argc = n;
        return 1;
    }
}

int lode_link_args(int *argc, char ***argv)
{
    *argc = 0;
    argv_buf[0] = 0;
    *argv = argv_buf;
    uint8_t room[4] = {(uint8_t)LODE_LINK_ARGS_BYTES, (uint8_t)(LODE_LINK_ARGS_BYTES >> 8),
                       (uint8_t)LODE_LINK_ARGS_MAX, (uint8_t)(LODE_LINK_ARGS_MAX >> 8)};
    for (uint8_t t = 0; t < LODE_LINK_TRIES; t++) {
        send_frame4(T_ARGS_REQ, room);
        int8_t r = wait_answer(argc);
        if (r >= 0)
            return r ? 0 : -1;
    }
    return -1;
}

void lode_link_exit(int32_t code)
{
    uint32_t v = (uint32_t)code;
    uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    send_frame4(T_EXIT, p);
    lode_link_port_flush();
    lode_link_port_halt();
}
