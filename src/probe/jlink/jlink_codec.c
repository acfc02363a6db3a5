/* SPDX-License-Identifier: MIT */
/* The J-Link USB protocol as bytes (see jlink_codec.h). */
#include "probe/jlink/jlink_codec.h"

#include <stdio.h>
#include <string.h>

#include "lode/error.h"
#include "util/bytes.h"

int lodei_jl_enc_simple(uint8_t *b, size_t cap, uint8_t cmd)
{
    if (!b || cap < 1)
        return LODE_E_RANGE;
    b[0] = cmd;
    return 1;
}

int lodei_jl_enc_set_speed(uint8_t *b, size_t cap, uint16_t khz)
{
    if (!b || cap < 3)
        return LODE_E_RANGE;
    b[0] = LODEI_JL_SET_SPEED;
    lodei_put_le16(b + 1, khz);
    return 3;
}

static int enc_u8(uint8_t *b, size_t cap, uint8_t cmd, uint8_t arg)
{
    if (!b || cap < 2)
        return LODE_E_RANGE;
    b[0] = cmd;
    b[1] = arg;
    return 2;
}

int lodei_jl_enc_select_if(uint8_t *b, size_t cap, uint8_t arg) { return enc_u8(b, cap, LODEI_JL_SELECT_IF, arg); }

int lodei_jl_enc_set_power(uint8_t *b, size_t cap, bool on) { return enc_u8(b, cap, LODEI_JL_SET_KS_POWER, on ? 1 : 0); }

int lodei_jl_enc_jtag3(uint8_t *b, size_t cap, const uint8_t *dir, const uint8_t *out, size_t nbits)
{
    if (!b || !dir || !out || nbits == 0 || nbits > LODEI_JL_JTAG3_MAX_BITS)
        return LODE_E_INVALID_ARG;
    size_t n = (nbits + 7) / 8;
    if (cap < 4 + 2 * n)
        return LODE_E_RANGE;
    b[0] = LODEI_JL_HW_JTAG3;
    b[1] = 0;
    lodei_put_le16(b + 2, (uint16_t)nbits);
    memcpy(b + 4, dir, n);
    memcpy(b + 4 + n, out, n);
    return (int)(4 + 2 * n);
}

/* SWO: command, sub-command, parameters (4, id, u32), 0 */
static int enc_swo(uint8_t *b, size_t cap, uint8_t sub, const uint8_t *ids, const uint32_t *vals, size_t np)
{
    size_t need = 2 + 6 * np + 1;
    if (!b || cap < need)
        return LODE_E_RANGE;
    b[0] = LODEI_JL_SWO;
    b[1] = sub;
    for (size_t i = 0; i < np; i++) {
        b[2 + 6 * i] = 4;
        b[3 + 6 * i] = ids[i];
        lodei_put_le32(b + 4 + 6 * i, vals[i]);
    }
    b[need - 1] = 0;
    return (int)need;
}

int lodei_jl_enc_swo_start(uint8_t *b, size_t cap, uint32_t mode, uint32_t baud, uint32_t bufsize)
{
    static const uint8_t ids[3] = {LODEI_JL_SWO_PARAM_MODE, LODEI_JL_SWO_PARAM_BAUD, LODEI_JL_SWO_PARAM_BUFFER_SIZE};
    uint32_t vals[3] = {mode, baud, bufsize};
    return enc_swo(b, cap, LODEI_JL_SWO_START, ids, vals, 3);
}

int lodei_jl_enc_swo_stop(uint8_t *b, size_t cap) { return enc_swo(b, cap, LODEI_JL_SWO_STOP, NULL, NULL, 0); }

int lodei_jl_enc_swo_read(uint8_t *b, size_t cap, uint32_t size)
{
    static const uint8_t id = LODEI_JL_SWO_PARAM_READ_SIZE;
    return enc_swo(b, cap, LODEI_JL_SWO_READ, &id, &size, 1);
}

int lodei_jl_enc_swo_speeds(uint8_t *b, size_t cap, uint32_t mode)
{
    static const uint8_t id = LODEI_JL_SWO_PARAM_MODE;
    return enc_swo(b, cap, LODEI_JL_SWO_GET_SPEEDS, &id, &mode, 1);
}

/* ---- replies -------------------------------------------------------------------------------- */
int lodei_jl_dec_version_len(const uint8_t *r, size_t len, uint16_t *text_len)
{
    if (!r || len != 2 || !text_len)
        return LODE_E_PROTOCOL;
    *text_len = lodei_get_le16(r);
    return LODE_OK;
}

int lodei_jl_dec_version_text(const uint8_t *r, size_t len, char *out, size_t cap)
{
    if ((!r && len) || !out || cap == 0)
        return LODE_E_INVALID_ARG;
    size_t n = 0;
    for (size_t i = 0; i < len && r[i] && n + 1 < cap; i++)
        out[n++] = (r[i] >= 0x20 && r[i] < 0x7F) ? (char)r[i] : '?';
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = 0;
    return LODE_OK;
}

int lodei_jl_dec_u32(const uint8_t *r, size_t len, uint32_t *v)
{
    if (!r || len != 4 || !v)
        return LODE_E_PROTOCOL;
    *v = lodei_get_le32(r);
    return LODE_OK;
}

int lodei_jl_dec_state(const uint8_t *r, size_t len, lodei_jl_state_s *st)
{
    if (!r || len != 8 || !st)
        return LODE_E_PROTOCOL;
    st->vtref_mv = lodei_get_le16(r);
    st->tck = r[2];
    st->tdi = r[3];
    st->tdo = r[4];
    st->tms = r[5];
    st->tres = r[6];
    st->trst = r[7];
    return LODE_OK;
}

int lodei_jl_dec_speeds(const uint8_t *r, size_t len, uint32_t *base_hz, uint16_t *min_div)
{
    if (!r || len != 6 || !base_hz || !min_div)
        return LODE_E_PROTOCOL;
    uint32_t f = lodei_get_le32(r);
    uint16_t d = lodei_get_le16(r + 4);
    if (f == 0 || d == 0)
        return LODE_E_PROTOCOL; /* a divider of 0 or no clock: nothing can be set */
    *base_hz = f;
    *min_div = d;
    return LODE_OK;
}

int lodei_jl_dec_jtag3(const uint8_t *r, size_t len, size_t nbits, uint8_t *in)
{
    size_t n = (nbits + 7) / 8;
    if (!r || !in || nbits == 0 || len != n + 1)
        return LODE_E_PROTOCOL;
    if (r[n] == LODEI_JL_JTAG3_NO_MEMORY)
        return LODE_E_NOMEM;
    if (r[n] != 0)
        return LODE_E_PROTOCOL;
    memcpy(in, r, n);
    return LODE_OK;
}

int lodei_jl_dec_swo_speeds(const uint8_t *r, size_t len, lodei_jl_swo_speeds_s *sp)
{
    if (!r || len != 28 || !sp || lodei_get_le32(r) != 28)
        return LODE_E_PROTOCOL;
    lodei_jl_swo_speeds_s s = {
        .base_hz = lodei_get_le32(r + 8),
        .min_div = lodei_get_le32(r + 12),
        .max_div = lodei_get_le32(r + 16),
        .min_presc = lodei_get_le32(r + 20),
        .max_presc = lodei_get_le32(r + 24),
    };
    if (s.base_hz == 0 || s.min_div == 0 || s.max_div < s.min_div || s.min_presc == 0 ||
        s.max_presc < s.min_presc)
        return LODE_E_PROTOCOL;
    *sp = s;
    return LODE_OK;
}

int lodei_jl_dec_swo_read_hdr(const uint8_t *r, size_t len, uint32_t asked, uint32_t *status,
                              uint32_t *data_len)
{
    if (!r || len != 8 || !status || !data_len)
        return LODE_E_PROTOCOL;
    uint32_t n = lodei_get_le32(r + 4);
    if (n > asked)
        return LODE_E_PROTOCOL;
    *status = lodei_get_le32(r);
    *data_len = n;
    return LODE_OK;
}

void lodei_jl_hw_version_string(uint32_t hw, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    static const char *const types[] = {"", "J-Trace ", "Flasher ", "J-Link Pro "};
    unsigned type = (unsigned)(hw / 1000000u) % 100u;
    unsigned major = (unsigned)(hw / 10000u) % 100u, minor = (unsigned)(hw / 100u) % 100u;
    const char *t = type < sizeof types / sizeof types[0] ? types[type] : "type ";
    if (type < sizeof types / sizeof types[0])
        snprintf(out, cap, "%sV%u.%02u", t, major, minor);
    else
        snprintf(out, cap, "type %u V%u.%02u", type, major, minor);
}

void lodei_jl_caps_string(uint32_t caps, char *out, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {LODEI_JL_CAP_GET_HW_VERSION, "hw-version"}, {LODEI_JL_CAP_ADAPTIVE_CLOCKING, "adaptive-clock"},
        {LODEI_JL_CAP_GET_SPEEDS, "speeds"},         {LODEI_JL_CAP_GET_FREE_MEMORY, "free-memory"},
        {LODEI_JL_CAP_GET_HW_INFO, "hw-info"},       {LODEI_JL_CAP_SET_TARGET_POWER, "target-power"},
        {LODEI_JL_CAP_SELECT_IF, "select-if"},       {LODEI_JL_CAP_SWO, "swo"},
        {LODEI_JL_CAP_EXT, "ext-caps"},
    };
    if (!out || cap == 0)
        return;
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(caps & names[i].bit))
            continue;
        int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", names[i].name);
        if (w < 0 || used + (size_t)w >= cap)
            break;
        used += (size_t)w;
    }
}
