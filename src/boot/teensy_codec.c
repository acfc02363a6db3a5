/* SPDX-License-Identifier: MIT */
/* Teensy models and HalfKay reports (see teensy.h). Figures: PJRC's HalfKay protocol page and
 * the code sizes and block layouts teensy_loader_cli 2.2 uses; the HID usages and bcdDevice
 * values the bootloaders report; the image marks Teensyduino's startup code leaves. */
#include "boot/teensy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "util/bytes.h"

#define T4_BASE 0x60000000u

static const lodei_teensy_model_s models[] = {
    {"teensy2", "Teensy 2.0", "atmega32u4", "TEENSY2", 0x1B, 0, 32256, 128, LODEI_HALFKAY_HDR_ADDR16, 0, false},
    {"teensypp2", "Teensy++ 2.0", "at90usb1286", "TEENSY2PP", 0x1C, 0, 130048, 256, LODEI_HALFKAY_HDR_PAGE16, 0, false},
    {"teensylc", "Teensy LC", "mkl26z64", "TEENSYLC", 0x20, 0x273, 63488, 512, LODEI_HALFKAY_HDR_ADDR24, 0, true},
    {"teensy30", "Teensy 3.0", "mk20dx128", "TEENSY30", 0x1D, 0x274, 131072, 1024, LODEI_HALFKAY_HDR_ADDR24, 0, true},
    {"teensy31", "Teensy 3.1", "mk20dx256", "TEENSY31", 0x1E, 0x275, 262144, 1024, LODEI_HALFKAY_HDR_ADDR24, 0, true},
    {"teensy32", "Teensy 3.2", "mk20dx256", "TEENSY32", 0x21, 0, 262144, 1024, LODEI_HALFKAY_HDR_ADDR24, 0, true},
    {"teensy35", "Teensy 3.5", "mk64fx512", "TEENSY35", 0x1F, 0x276, 524288, 1024, LODEI_HALFKAY_HDR_ADDR24, 0, true},
    {"teensy36", "Teensy 3.6", "mk66fx1m0", "TEENSY36", 0x22, 0x277, 1048576, 1024, LODEI_HALFKAY_HDR_ADDR24, 0, true},
    {"teensy40", "Teensy 4.0", "imxrt1062", "TEENSY40", 0x24, 0x279, 2031616, 1024, LODEI_HALFKAY_HDR_ADDR24, T4_BASE, true},
    {"teensy41", "Teensy 4.1", "imxrt1062", "TEENSY41", 0x25, 0x280, 8126464, 1024, LODEI_HALFKAY_HDR_ADDR24, T4_BASE, true},
    {"teensymm", "Teensy MicroMod", "imxrt1062", "TEENSY_MICROMOD", 0x26, 0x281, 16515072, 1024,
     LODEI_HALFKAY_HDR_ADDR24, T4_BASE, true},
};
#define NMODELS (sizeof models / sizeof models[0])

const lodei_teensy_model_s *lodei_teensy_model_at(size_t i) { return i < NMODELS ? &models[i] : NULL; }

const lodei_teensy_model_s *lodei_teensy_model_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NMODELS; i++)
        if (!strcasecmp(name, models[i].name) || !strcasecmp(name, models[i].cli_name))
            return &models[i];
    return NULL;
}

const lodei_teensy_model_s *lodei_teensy_model_by_usage(uint16_t usage)
{
    for (size_t i = 0; i < NMODELS; i++)
        if (models[i].usage == usage)
            return &models[i];
    return NULL;
}

const lodei_teensy_model_s *lodei_teensy_model_by_bcd(uint16_t bcd_device)
{
    for (size_t i = 0; bcd_device && i < NMODELS; i++)
        if (models[i].bcd_device == bcd_device)
            return &models[i];
    return NULL;
}

static size_t hdr_len(const lodei_teensy_model_s *m) { return m->hdr == LODEI_HALFKAY_HDR_ADDR24 ? 64u : 2u; }

size_t lodei_halfkay_report_len(const lodei_teensy_model_s *m) { return m->block_size + hdr_len(m); }

void lodei_halfkay_report(const lodei_teensy_model_s *m, uint32_t addr, const uint8_t *data, uint8_t *out)
{
    size_t h = hdr_len(m);
    memset(out, 0, h);
    if (m->hdr == LODEI_HALFKAY_HDR_PAGE16) {
        out[0] = (uint8_t)(addr >> 8);
        out[1] = (uint8_t)(addr >> 16);
    } else {
        out[0] = (uint8_t)addr;
        out[1] = (uint8_t)(addr >> 8);
        if (m->hdr == LODEI_HALFKAY_HDR_ADDR24)
            out[2] = (uint8_t)(addr >> 16);
    }
    if (data)
        memcpy(out + h, data, m->block_size);
    else
        memset(out + h, 0, m->block_size);
}

void lodei_halfkay_boot_report(const lodei_teensy_model_s *m, uint8_t *out)
{
    memset(out, 0, lodei_halfkay_report_len(m));
    out[0] = out[1] = out[2] = 0xFF; /* 0xFFFF / 0xFFFFFF; the third byte is data on 2-byte headers */
}

int lodei_halfkay_decode(const lodei_teensy_model_s *m, const uint8_t *rep, size_t len, uint32_t *addr, bool *boot)
{
    if (!rep || len != lodei_halfkay_report_len(m))
        return LODE_E_PROTOCOL;
    switch (m->hdr) {
    case LODEI_HALFKAY_HDR_ADDR16:
        *addr = (uint32_t)rep[0] | (uint32_t)rep[1] << 8;
        *boot = *addr == 0xFFFFu;
        break;
    case LODEI_HALFKAY_HDR_PAGE16:
        *addr = (uint32_t)rep[0] << 8 | (uint32_t)rep[1] << 16;
        *boot = rep[0] == 0xFF && rep[1] == 0xFF;
        break;
    default:
        *addr = (uint32_t)rep[0] | (uint32_t)rep[1] << 8 | (uint32_t)rep[2] << 16;
        *boot = *addr == 0xFFFFFFu;
        break;
    }
    return LODE_OK;
}

/* HID 1.11 6.2.2.2: short items are a prefix (bSize 0,1,2,4 in bits 0-1, bType in 2-3, bTag in
 * 4-7) and data; a long item is 0xFE, bDataSize, bLongItemTag, data. */
bool lodei_hid_top_usage(const uint8_t *desc, size_t len, uint16_t *page, uint16_t *usage)
{
    uint32_t cur_page = 0;
    bool have_page = false;
    for (size_t i = 0; desc && i < len;) {
        uint8_t pfx = desc[i];
        if (pfx == 0xFE) {
            if (i + 2 >= len)
                return false;
            i += 3u + desc[i + 1];
            continue;
        }
        size_t n = (pfx & 3u) == 3u ? 4u : (pfx & 3u);
        if (i + 1 + n > len)
            return false;
        uint32_t v = 0;
        for (size_t k = 0; k < n; k++)
            v |= (uint32_t)desc[i + 1 + k] << (8 * k);
        uint8_t type = (pfx >> 2) & 3u, tag = pfx >> 4;
        if (type == 1 && tag == 0) { /* Usage Page (global) */
            cur_page = v;
            have_page = true;
        } else if (type == 2 && tag == 0) { /* Usage (local): 4 bytes carry their own page */
            uint32_t pg = n == 4 ? v >> 16 : cur_page;
            if (!(n == 4 || have_page) || pg > 0xFFFFu)
                return false;
            *page = (uint16_t)pg;
            *usage = (uint16_t)v;
            return true;
        } else if (type == 0 && tag == 0xA) { /* Collection before any usage */
            return false;
        }
        i += 1 + n;
    }
    return false;
}

typedef struct t3_key_s {
    uint32_t sp, vectors_end;
    const char *model;
} t3_key_s;

/* initial stack pointer (the top of RAM) and vector table length of Teensyduino's startup code */
static const t3_key_s t3_keys[] = {
    {0x20002000u, 0xF8u, "teensy30"},  {0x20008000u, 0x1BCu, "teensy31"}, {0x20001800u, 0xC0u, "teensylc"},
    {0x20020000u, 0x198u, "teensy35"}, {0x2002FFFCu, 0x198u, "teensy35"}, {0x2002FFF8u, 0x198u, "teensy35"},
    {0x20030000u, 0x1D0u, "teensy36"},
};

const lodei_teensy_model_s *lodei_teensy_model_of_image(lodei_teensy_read_fn read, void *user, uint32_t lo,
                                                        uint32_t hi)
{
    uint8_t b[0x400];
    /* Teensy 4.x: the FlexSPI NOR configuration block ("FCFB", version 1.56) and its flash size */
    if (read(user, T4_BASE, b, 0x54) && lodei_get_le32(b) == 0x42464346u && lodei_get_le32(b + 4) == 0x56010000u) {
        uint32_t size = lodei_get_le32(b + 0x50);
        return lodei_teensy_model_by_name(size == 0x800000u ? "teensy41" : size == 0x1000000u ? "teensymm" : "teensy40");
    }
    if (read(user, 0, b, sizeof b)) {
        uint32_t sp = lodei_get_le32(b), end = lodei_get_le32(b + 4) & ~1u;
        if (end >= sizeof b) /* the reset handler placed elsewhere: the table ends at the first blank words */
            for (uint32_t i = 0; i + 8 <= sizeof b; i += 4)
                if (lodei_get_le32(b + i) == 0xFFFFFFFFu && lodei_get_le32(b + i + 4) == 0xFFFFFFFFu) {
                    end = i;
                    break;
                }
        for (size_t i = 0; i < sizeof t3_keys / sizeof t3_keys[0]; i++)
            if (t3_keys[i].sp == sp && t3_keys[i].vectors_end == end)
                return lodei_teensy_model_by_name(t3_keys[i].model);
    }
    /* AVR: the jump into the bootloader in Teensyduino's reboot code names the boot address */
    if (hi > lo && hi <= 130048u) {
        uint8_t *all = malloc(hi);
        const lodei_teensy_model_s *found = NULL;
        if (all && read(user, 0, all, hi))
            for (uint32_t i = 0; i + 8 <= hi && !found; i++) {
                uint32_t w0 = lodei_get_le32(all + i), w1 = lodei_get_le32(all + i + 4);
                if (w1 == 0x94F8CFFFu && w0 == 0x3F00940Cu)
                    found = lodei_teensy_model_by_name("teensy2");
                else if (w1 == 0x94F8CFFFu && w0 == 0xFE00940Cu)
                    found = lodei_teensy_model_by_name("teensypp2");
            }
        free(all);
        return found;
    }
    return NULL;
}

bool lodei_teensy_same_build(const lodei_teensy_model_s *a, const lodei_teensy_model_s *b)
{
    return a == b || (a && b && !strcmp(a->mcu, b->mcu) && a->code_size == b->code_size);
}

uint64_t lodei_teensy_serial_value(const char *serial, bool halfkay)
{
    if (!serial || !*serial)
        return 0;
    char *end = NULL;
    unsigned long long v = strtoull(serial, &end, halfkay ? 16 : 10);
    if (*end)
        return 0;
    if (halfkay && v < 10000000u)
        v *= 10u;
    return v;
}
