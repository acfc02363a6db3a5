/* SPDX-License-Identifier: MIT */
/* The pure part of the SAM-BA monitor protocol (samba.h): commands, the answers' decoders,
 * XMODEM-CRC blocks, and what the ID registers say. Written from the SAM-BA Boot chapters of
 * the SAM3X and SAMD21 datasheets and the Arduino SAMD bootloader's README. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "boot/samba.h"
#include "util/hex.h"

size_t lodei_samba_cmd(char op, uint32_t addr, uint32_t arg, bool has_arg, char *out)
{
    int n;
    if (op == 'N' || op == 'T' || op == 'V')
        n = snprintf(out, LODEI_SAMBA_CMD_MAX, "%c#", op);
    else if (has_arg)
        n = snprintf(out, LODEI_SAMBA_CMD_MAX, "%c%08X,%08X#", op, (unsigned)addr, (unsigned)arg);
    else
        n = snprintf(out, LODEI_SAMBA_CMD_MAX, "%c%08X#", op, (unsigned)addr);
    return n > 0 ? (size_t)n : 0;
}

uint16_t lodei_samba_crc16(uint16_t crc, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc = (uint16_t)(crc ^ (unsigned)data[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000u ? ((unsigned)crc << 1) ^ 0x1021u : (unsigned)crc << 1);
    }
    return crc;
}

bool lodei_samba_parse_version(const uint8_t *buf, size_t n, lodei_samba_version_s *v)
{
    memset(v, 0, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof v->text; i++) {
        uint8_t ch = buf[i];
        if (ch == '\n' || ch == '\r' || ch == 0)
            continue;
        v->text[k++] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
    }
    v->text[k] = 0;
    const char *tag = strstr(v->text, "[Arduino:");
    if (tag) {
        v->arduino = true;
        for (const char *p = tag + 9; *p && *p != ']'; p++) {
            v->ext_x |= *p == 'X';
            v->ext_y |= *p == 'Y';
            v->ext_z |= *p == 'Z';
        }
    }
    for (size_t i = 0; i < k; i++)
        if (v->text[i] != ' ' && v->text[i] != '?')
            return true;
    return false;
}

lodei_samba_reply_e lodei_samba_decode_ack(char letter, const uint8_t *buf, size_t n, size_t *used)
{
    static const char tail[] = "\n\r";
    if (n == 0)
        return LODEI_SAMBA_R_MORE;
    if (buf[0] != (uint8_t)letter && buf[0] != 'E')
        return LODEI_SAMBA_R_GARBAGE;
    for (size_t i = 1; i < 3; i++) {
        if (i >= n)
            return LODEI_SAMBA_R_MORE;
        if (buf[i] != (uint8_t)tail[i - 1])
            return LODEI_SAMBA_R_GARBAGE;
    }
    *used = 3;
    return buf[0] == 'E' ? LODEI_SAMBA_R_REFUSED : LODEI_SAMBA_R_DONE;
}

lodei_samba_reply_e lodei_samba_decode_crc(const uint8_t *buf, size_t n, uint16_t *crc, size_t *used)
{
    if (n == 0)
        return LODEI_SAMBA_R_MORE;
    if (buf[0] != 'Z')
        return LODEI_SAMBA_R_GARBAGE;
    uint32_t v = 0;
    size_t i = 1;
    for (; i < n && i <= 8; i++) {
        int d = lodei_hexval(buf[i]);
        if (d < 0)
            return LODEI_SAMBA_R_GARBAGE;
        v = v << 4 | (uint32_t)d;
    }
    if (i <= 8)
        return LODEI_SAMBA_R_MORE;
    if (n < 10)
        return LODEI_SAMBA_R_MORE;
    if (buf[9] != '#' || v > 0xFFFFu)
        return LODEI_SAMBA_R_GARBAGE;
    size_t k = 10;
    /* "\n\r" after the '#' in binary mode; take what is there of it */
    if (k < n && buf[k] == '\n') {
        k++;
        if (k < n && buf[k] == '\r')
            k++;
        else if (k == n)
            return LODEI_SAMBA_R_MORE;
    } else if (k == n) {
        return LODEI_SAMBA_R_MORE;
    }
    *crc = (uint16_t)v;
    *used = k;
    return LODEI_SAMBA_R_DONE;
}

lodei_samba_reply_e lodei_samba_decode_line(const uint8_t *buf, size_t n, size_t max, size_t *len, size_t *used)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (buf[i] == '\n' && buf[i + 1] == '\r') {
            *len = i;
            *used = i + 2;
            return LODEI_SAMBA_R_DONE;
        }
    return n > max ? LODEI_SAMBA_R_GARBAGE : LODEI_SAMBA_R_MORE;
}

void lodei_samba_xm_block(uint8_t blk, const uint8_t *data, size_t n, uint8_t pad, uint8_t out[LODEI_SAMBA_XM_FRAME])
{
    if (n > LODEI_SAMBA_XM_BLOCK)
        n = LODEI_SAMBA_XM_BLOCK;
    out[0] = LODEI_XM_SOH;
    out[1] = blk;
    out[2] = (uint8_t)(0xFFu - blk);
    if (n)
        memcpy(out + 3, data, n);
    memset(out + 3 + n, pad, LODEI_SAMBA_XM_BLOCK - n);
    uint16_t crc = lodei_samba_crc16(0, out + 3, LODEI_SAMBA_XM_BLOCK);
    out[3 + LODEI_SAMBA_XM_BLOCK] = (uint8_t)(crc >> 8);
    out[4 + LODEI_SAMBA_XM_BLOCK] = (uint8_t)crc;
}

bool lodei_samba_xm_check(const uint8_t frame[LODEI_SAMBA_XM_FRAME], uint8_t blk)
{
    unsigned inv = 0xFFu - blk;
    if (frame[0] != LODEI_XM_SOH || frame[1] != blk || frame[2] != inv)
        return false;
    uint16_t crc = lodei_samba_crc16(0, frame + 3, LODEI_SAMBA_XM_BLOCK);
    return frame[3 + LODEI_SAMBA_XM_BLOCK] == (uint8_t)(crc >> 8) && frame[4 + LODEI_SAMBA_XM_BLOCK] == (uint8_t)crc;
}

/* ---- chips -------------------------------------------------------------------------------- */

unsigned lodei_samba_cpuid_part(uint32_t cpuid) { return (cpuid >> 4) & 0xFFFu; }

/* SAMD21 DEVSEL (the datasheet's device selection table, revisions A-D) */
static const struct {
    uint8_t devsel;
    const char *name;
} samd21_devsel[] = {
    {0x00, "ATSAMD21J18A"}, {0x01, "ATSAMD21J17A"}, {0x02, "ATSAMD21J16A"}, {0x03, "ATSAMD21J15A"},
    {0x05, "ATSAMD21G18A"}, {0x06, "ATSAMD21G17A"}, {0x07, "ATSAMD21G16A"}, {0x08, "ATSAMD21G15A"},
    {0x0A, "ATSAMD21E18A"}, {0x0B, "ATSAMD21E17A"}, {0x0C, "ATSAMD21E16A"}, {0x0D, "ATSAMD21E15A"},
};

bool lodei_samba_dsu_chip(uint32_t did, lodei_samba_chip_s *c)
{
    unsigned processor = did >> 28, family = (did >> 23) & 0x1Fu, series = (did >> 16) & 0x3Fu;
    unsigned devsel = did & 0xFFu;
    memset(c, 0, sizeof *c);
    c->flash_start = 0;
    c->ram_start = 0x20000000u;
    if (processor == 1 && family == 0 && series == 1) {
        c->family = LODEI_SAMBA_SAMD21;
        snprintf(c->name, sizeof c->name, "ATSAMD21 (DEVSEL 0x%02X)", devsel);
        for (size_t i = 0; i < sizeof samd21_devsel / sizeof samd21_devsel[0]; i++)
            if (samd21_devsel[i].devsel == devsel)
                snprintf(c->name, sizeof c->name, "%s", samd21_devsel[i].name);
        return true;
    }
    if (processor == 6 && family == 0) {
        c->family = LODEI_SAMBA_SAMD51;
        snprintf(c->name, sizeof c->name, "ATSAMD5x/E5x (series %u, DEVSEL 0x%02X)", series, devsel);
        return true;
    }
    return false;
}

bool lodei_samba_samd21_param(uint32_t param, lodei_samba_chip_s *c)
{
    uint32_t page = 8u << ((param >> 16) & 7u), pages = param & 0xFFFFu;
    uint64_t size = (uint64_t)page * pages;
    if (!pages || size > 0x100000u)
        return false;
    c->page_size = page;
    c->row_size = page * 4u;
    c->flash_size = (uint32_t)size;
    /* SRAM by the flash size (x18: 32 KiB ... x15: 4 KiB) */
    c->ram_size = c->flash_size / 8u;
    if (c->ram_size < 4096u)
        c->ram_size = 4096u;
    return true;
}

uint32_t lodei_samba_samd21_bootprot(uint32_t user0)
{
    unsigned bp = user0 & 7u; /* 7: none, 6: 512 B, ... 0: 32 KiB */
    return bp == 7 ? 0 : 512u << (6 - bp);
}

static const struct {
    uint32_t cidr; /* version bits [4:0] cleared */
    const char *name;
    uint32_t flash_kib, ram_kib;
} sam3x_ids[] = {
    {0x285E0A60u, "ATSAM3X8E", 512, 96}, {0x285B0960u, "ATSAM3X4E", 256, 64},
    {0x284E0A60u, "ATSAM3X8C", 512, 96}, {0x284B0960u, "ATSAM3X4C", 256, 64},
    {0x283E0A60u, "ATSAM3A8C", 512, 96}, {0x283B0960u, "ATSAM3A4C", 256, 64},
    {0x286E0A60u, "ATSAM3X8H", 512, 96},
};

bool lodei_samba_sam3x_chip(uint32_t cidr, lodei_samba_chip_s *c)
{
    for (size_t i = 0; i < sizeof sam3x_ids / sizeof sam3x_ids[0]; i++) {
        if ((cidr & ~0x1Fu) != sam3x_ids[i].cidr)
            continue;
        memset(c, 0, sizeof *c);
        c->family = LODEI_SAMBA_SAM3X;
        snprintf(c->name, sizeof c->name, "%s", sam3x_ids[i].name);
        c->flash_start = 0x00080000u;
        c->flash_size = sam3x_ids[i].flash_kib * 1024u;
        c->page_size = 256;
        c->row_size = 256; /* EEFC erases and writes a page at a time (EWP) */
        c->ram_start = 0x20070000u;
        c->ram_size = sam3x_ids[i].ram_kib * 1024u;
        return true;
    }
    return false;
}

static bool name_is(const char *name, const char *known)
{
    return !strcasecmp(name, known) || (!strncmp(known, "AT", 2) && !strcasecmp(name, known + 2));
}

bool lodei_samba_chip_known(const char *name)
{
    for (size_t i = 0; name && i < sizeof samd21_devsel / sizeof samd21_devsel[0]; i++)
        if (name_is(name, samd21_devsel[i].name))
            return true;
    for (size_t i = 0; name && i < sizeof sam3x_ids / sizeof sam3x_ids[0]; i++)
        if (name_is(name, sam3x_ids[i].name))
            return true;
    return false;
}
