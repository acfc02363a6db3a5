/* SPDX-License-Identifier: MIT */
/* The stand-in J-Link (see jlink_stub.h). Commands arrive whole through write(); replies are
 * queued and read back in whatever lengths the host asks for, as from a bulk pipe. */
#include "jlink_stub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/error.h"

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void reply(jstub_s *j, const void *data, size_t n)
{
    if (j->out_len + n > j->out_cap) {
        size_t nc = (j->out_len + n) * 2 + 64;
        uint8_t *no = realloc(j->out, nc);
        if (!no)
            return;
        j->out = no;
        j->out_cap = nc;
    }
    memcpy(j->out + j->out_len, data, n);
    j->out_len += n;
}

static void reply_u32(jstub_s *j, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    reply(j, b, 4);
}

static void reply_u16(jstub_s *j, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    reply(j, b, 2);
}

void jstub_init(jstub_s *j, const swdw_dp_s *dp)
{
    memset(j, 0, sizeof *j);
    snprintf(j->firmware, sizeof j->firmware, "J-Link V11 compiled Dec  7 2026 (lode test stub)");
    j->caps = (1u << 0) | (1u << 1) | (1u << 9) | (1u << 11) | (1u << 13) | (1u << 17) | (1u << 23);
    j->hw_version = 110000;
    j->free_mem = 32768;
    j->vtref_mv = 3300;
    j->powered_mv = 5000;
    j->interfaces = 3;
    j->base_hz = 48000000;
    j->min_div = 4;
    swdw_init(&j->wire, dp, 1);
}

void jstub_free(jstub_s *j) { free(j->out); }

/* SWO parameters: (4, id, u32)* 0 */
static bool swo_params(const uint8_t *b, size_t len, uint32_t vals[5])
{
    size_t i = 0;
    while (i < len && b[i]) {
        if (b[i] != 4 || i + 6 > len || b[i + 1] > 4)
            return false;
        vals[b[i + 1]] = le32(b + i + 2);
        i += 6;
    }
    return i < len;
}

static void command(jstub_s *j, const uint8_t *b, size_t len)
{
    j->cmds++;
    j->cmd_count[b[0]]++;
    switch (b[0]) {
    case 0x01: {
        reply_u16(j, 0x70);
        uint8_t t[0x70] = {0};
        memcpy(t, j->firmware, strlen(j->firmware));
        reply(j, t, sizeof t);
        return;
    }
    case 0xE8: reply_u32(j, j->caps); return;
    case 0xED: {
        uint8_t t[32] = {0};
        memcpy(t, &j->caps, 4);
        reply(j, t, sizeof t);
        return;
    }
    case 0xF0: reply_u32(j, j->hw_version); return;
    case 0xD4: reply_u32(j, j->free_mem); return;
    case 0x07: {
        uint8_t t[8] = {0};
        uint16_t mv = j->power_on ? j->powered_mv : j->vtref_mv;
        t[0] = (uint8_t)mv;
        t[1] = (uint8_t)(mv >> 8);
        t[6] = 1;
        t[7] = 1;
        reply(j, t, sizeof t);
        return;
    }
    case 0xC0:
        reply_u32(j, j->base_hz);
        reply_u16(j, j->min_div);
        return;
    case 0x05:
        if (len != 3)
            break;
        j->speed_khz = (uint32_t)b[1] | (uint32_t)b[2] << 8;
        return;
    case 0xC7:
        if (len != 2)
            break;
        if (b[1] == 0xFF)
            reply_u32(j, j->interfaces);
        else if (b[1] == 0xFE)
            reply_u32(j, j->selected_if);
        else {
            reply_u32(j, j->selected_if);
            if (j->interfaces & (1u << b[1]))
                j->selected_if = b[1];
        }
        return;
    case 0x08:
        if (len != 2 || !(j->caps & (1u << 13)))
            break;
        j->power_on = b[1] != 0;
        return;
    case 0xDC:
    case 0xDD:
        j->resets++;
        if (j->nrst)
            j->nrst(j->nrst_user, b[0] == 0xDC);
        return;
    case 0xCF: {
        if (len < 4)
            break;
        size_t nbits = (size_t)b[2] | (size_t)b[3] << 8;
        size_t n = (nbits + 7) / 8;
        if (b[1] != 0 || nbits == 0 || len != 4 + 2 * n || j->selected_if != 1)
            break;
        j->jtag3++;
        uint8_t *in = calloc(n + 1, 1);
        if (!in)
            return;
        if (3 * n > j->free_mem) {
            in[n] = 0x06; /* no memory */
        } else {
            swdw_io(&j->wire, b + 4, b + 4 + n, in, nbits);
        }
        reply(j, in, n + 1);
        free(in);
        return;
    }
    case 0xEB: {
        if (len < 3 || !(j->caps & (1u << 23)))
            break;
        uint32_t v[5] = {0};
        if (!swo_params(b + 2, len - 2, v))
            break;
        switch (b[1]) {
        case 0x64:
            j->swo_running = true;
            j->swo_baud = v[2];
            reply_u32(j, 0);
            return;
        case 0x65:
            j->swo_running = false;
            reply_u32(j, 0);
            return;
        case 0x66: {
            uint32_t n = v[3] < j->swo_len ? v[3] : (uint32_t)j->swo_len;
            reply_u32(j, 0);
            reply_u32(j, n);
            reply(j, j->swo, n);
            memmove(j->swo, j->swo + n, j->swo_len - n);
            j->swo_len -= n;
            return;
        }
        case 0x6E:
            reply_u32(j, 28);
            reply_u32(j, 0);
            reply_u32(j, 60000000u);
            reply_u32(j, 1);
            reply_u32(j, 8192);
            reply_u32(j, 1);
            reply_u32(j, 1);
            return;
        default:
            break;
        }
        break;
    }
    default:
        break;
    }
    j->bad_cmds++;
}

static int st_write(void *ctx, const uint8_t *b, size_t len)
{
    jstub_s *j = ctx;
    if (!len)
        return LODE_E_INVALID_ARG;
    command(j, b, len);
    return LODE_OK;
}

static int st_read(void *ctx, uint8_t *b, size_t len)
{
    jstub_s *j = ctx;
    if (j->out_len - j->out_head < len)
        return LODE_E_TIMEOUT; /* nothing more to read: the host asked for too much */
    memcpy(b, j->out + j->out_head, len);
    j->out_head += len;
    if (j->out_head == j->out_len)
        j->out_head = j->out_len = 0;
    return LODE_OK;
}

void jstub_io(jstub_s *j, lode_jlink_io_s *io)
{
    *io = (lode_jlink_io_s){.write = st_write, .read = st_read, .ctx = j};
}
