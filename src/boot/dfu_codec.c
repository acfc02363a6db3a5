/* SPDX-License-Identifier: MIT */
/* DFU 1.1 / DfuSe: descriptor and reply decoding, command encoding, memory-layout strings.
 * No I/O here (dfu.c moves the bytes). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "boot/dfu.h"
#include "lode/error.h"
#include "util/bytes.h"

int lodei_dfu_parse_config(const uint8_t *d, size_t len, lodei_dfu_config_s *out)
{
    lodei_dfu_config_s c;
    memset(&c, 0, sizeof c);
    bool found = false, in_dfu = false;
    size_t total = len;
    if (len >= 4 && d[1] == 0x02) { /* wTotalLength bounds the walk */
        size_t tl = lodei_get_le16(d + 2);
        if (tl < total)
            total = tl;
    }
    for (size_t off = 0; off + 2 <= total;) {
        uint8_t bl = d[off], type = d[off + 1];
        if (bl < 2 || off + bl > total)
            return LODE_E_FORMAT;
        if (type == 0x04 && bl >= 9) { /* interface */
            uint8_t num = d[off + 2], alt = d[off + 3], cls = d[off + 5], sub = d[off + 6];
            in_dfu = cls == 0xFE && sub == 0x01 && (!found || num == c.interface);
            if (in_dfu) {
                if (!found) {
                    found = true;
                    c.interface = num;
                    c.protocol = d[off + 7];
                }
                if (c.nalts < LODEI_DFU_MAX_ALTS) {
                    c.alt[c.nalts] = alt;
                    c.alt_string[c.nalts] = d[off + 8];
                    c.nalts++;
                }
            }
        } else if (type == 0x21 && bl >= 7 && found && !c.has_func) { /* DFU functional */
            c.has_func = true;
            c.func.attributes = d[off + 2];
            c.func.detach_timeout_ms = lodei_get_le16(d + off + 3);
            c.func.transfer_size = lodei_get_le16(d + off + 5);
            c.func.bcd_dfu = bl >= 9 ? lodei_get_le16(d + off + 7) : 0x0100;
        }
        off += bl;
    }
    (void)in_dfu;
    if (!found)
        return LODE_E_FORMAT;
    *out = c;
    return LODE_OK;
}

int lodei_dfu_decode_status(const uint8_t *d, size_t len, lodei_dfu_status_s *out)
{
    if (!d || len < 6)
        return LODE_E_PROTOCOL;
    out->status = d[0];
    out->poll_ms = (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16;
    out->state = d[4];
    out->istring = d[5];
    return LODE_OK;
}

const char *lodei_dfu_state_name(uint8_t state)
{
    static const char *const names[] = {"appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC", "dfuDNBUSY",
                                        "dfuDNLOAD-IDLE", "dfuMANIFEST-SYNC", "dfuMANIFEST",
                                        "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE", "dfuERROR"};
    return state < sizeof names / sizeof names[0] ? names[state] : "unknown state";
}

const char *lodei_dfu_status_name(uint8_t status)
{
    static const char *const names[] = {
        "OK", "errTARGET (file not for this device)", "errFILE (file rejected)", "errWRITE (cannot write)",
        "errERASE (erase failed)", "errCHECK_ERASED (erase check failed)", "errPROG (program failed)",
        "errVERIFY (verify failed)", "errADDRESS (address out of range)", "errNOTDONE (data ended early)",
        "errFIRMWARE (firmware corrupt)", "errVENDOR (vendor error: read protection?)",
        "errUSBR (unexpected USB reset)", "errPOR (unexpected power-on reset)", "errUNKNOWN",
        "errSTALLEDPKT (request not expected)"};
    return status < sizeof names / sizeof names[0] ? names[status] : "unknown status";
}

size_t lodei_dfuse_command(uint8_t cmd, bool with_addr, uint32_t addr, uint8_t out[5])
{
    out[0] = cmd;
    if (!with_addr)
        return 1;
    lodei_put_le32(out + 1, addr);
    return 5;
}

/* ---- layout strings ---------------------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool parse_num(const char **pp, int base, uint64_t max, uint64_t *out)
{
    const char *p = skip_ws(*pp);
    if (base == 16) {
        if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
            return false;
        p += 2;
    }
    uint64_t v = 0;
    const char *start = p;
    for (; *p; p++) {
        int dv = isdigit((unsigned char)*p) ? *p - '0'
                 : base == 16 && isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10
                                                              : -1;
        if (dv < 0)
            break;
        v = v * (uint64_t)base + (uint64_t)dv;
        if (v > max)
            return false;
    }
    if (p == start)
        return false;
    *pp = p;
    *out = v;
    return true;
}

int lodei_dfuse_parse_layout(const char *s, const lode_log_s *log, lodei_dfuse_layout_s *out)
{
    lodei_dfuse_layout_s L;
    memset(&L, 0, sizeof L);
    const char *what = "it does not start with '@'";
    const char *p = s;
    if (!p || *p != '@')
        goto bad;
    p++;
    const char *slash = strchr(p, '/');
    what = "no '/ADDRESS/' after the name";
    if (!slash)
        goto bad;
    size_t nl = (size_t)(slash - p);
    while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
    if (nl >= sizeof L.name)
        nl = sizeof L.name - 1;
    memcpy(L.name, p, nl);
    p = slash;
    while (*p == '/') {
        p++;
        uint64_t addr = 0;
        what = "the address is not 0x followed by hex digits (at most 32 bits)";
        if (!parse_num(&p, 16, 0xFFFFFFFFull, &addr))
            goto bad;
        p = skip_ws(p);
        what = "no '/' after the address";
        if (*p != '/')
            goto bad;
        p++;
        for (;;) {
            uint64_t count = 0, size = 0;
            what = "a sector group is not COUNT*SIZE<unit><type> (e.g. 064*002Kg)";
            if (!parse_num(&p, 10, 0xFFFFFFFFull, &count) || *skip_ws(p) != '*')
                goto bad;
            p = skip_ws(p) + 1;
            if (!parse_num(&p, 10, 0xFFFFFFFFull, &size))
                goto bad;
            /* the unit: ' ' (or none) bytes, K, M; then the type letter */
            p = skip_ws(p);
            if (*p == 'K')
                size *= 1024, p++;
            else if (*p == 'M')
                size *= 1024 * 1024, p++;
            else if (*p == 'B')
                p++;
            p = skip_ws(p);
            what = "a sector group has no type letter a-g";
            if (*p < 'a' || *p > 'g')
                goto bad;
            unsigned flags = (unsigned)(*p - 'a' + 1);
            p++;
            what = "a sector group is empty (0 sectors or 0 bytes)";
            if (!count || !size)
                goto bad;
            what = "the sectors run past 4 GiB";
            if (size > 0x100000000ull || count > (0x100000000ull - addr) / size)
                goto bad;
            what = "too many sector groups (at most 16)";
            if (L.nsegs == LODEI_DFUSE_MAX_SEGS)
                goto bad;
            L.seg[L.nsegs++] = (lodei_dfuse_seg_s){.start = (uint32_t)addr,
                                                   .end = (uint32_t)(addr + count * size),
                                                   .sector_size = (uint32_t)size, .flags = flags};
            addr += count * size;
            p = skip_ws(p);
            if (*p != ',')
                break;
            p++;
        }
        p = skip_ws(p);
    }
    what = "unexpected characters after the sector groups";
    if (*p)
        goto bad;
    *out = L;
    return LODE_OK;
bad:
    lode_log(log, LODE_LOG_ERROR, LODE_LOGC_PROBE, "malformed DfuSe memory layout \"%.80s\": %s", s ? s : "",
             what);
    return LODE_E_FORMAT;
}
