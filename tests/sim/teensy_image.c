/* SPDX-License-Identifier: MIT */
/* Test images for Teensys as Intel HEX: `teensy_image MODEL BYTES OUT.hex [SEED]`. The bytes a
 * Teensyduino build leaves where lode (and other loaders) look for the model -- Teensy 4.x's
 * FlexSPI configuration block at 0x60000000 with the board's flash size, the Teensy 3.x/LC
 * vector table (initial stack pointer at the top of RAM, reset handler right after the table),
 * the Teensy 2.0's jump into its bootloader -- then pseudo-random code with a run of blank
 * (0xFF) blocks in the middle, which loaders skip. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct model_s {
    const char *name;
    uint32_t base, sp, vectors_end, flash_size; /* flash_size: Teensy 4.x's, in the FlexSPI block */
} model_s;

static const model_s models[] = {
    {"teensy2", 0, 0, 0, 0},
    {"teensylc", 0, 0x20001800u, 0xC0u, 0},
    {"teensy30", 0, 0x20002000u, 0xF8u, 0},
    {"teensy32", 0, 0x20008000u, 0x1BCu, 0},
    {"teensy35", 0, 0x20020000u, 0x198u, 0},
    {"teensy36", 0, 0x20030000u, 0x1D0u, 0},
    {"teensy40", 0x60000000u, 0, 0, 0x200000u},
    {"teensy41", 0x60000000u, 0, 0, 0x800000u},
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void record(FILE *f, uint8_t type, uint16_t addr, const uint8_t *d, uint8_t n)
{
    unsigned sum = n + (addr >> 8) + (addr & 0xFF) + type;
    fprintf(f, ":%02X%04X%02X", n, addr, type);
    for (uint8_t i = 0; i < n; i++) {
        fprintf(f, "%02X", d[i]);
        sum += d[i];
    }
    fprintf(f, "%02X\n", (unsigned)(-sum & 0xFF));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: teensy_image MODEL BYTES OUT.hex [SEED]\n");
        return 64;
    }
    const model_s *m = NULL;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (!strcmp(argv[1], models[i].name))
            m = &models[i];
    size_t len = strtoul(argv[2], NULL, 0);
    uint32_t seed = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 0) : 1u;
    if (!m || len < 0x2000) {
        fprintf(stderr, "teensy_image: unknown model or fewer than 8 KiB\n");
        return 64;
    }
    uint8_t *b = malloc(len);
    if (!b)
        return 70;
    for (size_t i = 0; i < len; i++) { /* xorshift32 */
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        b[i] = (uint8_t)seed;
    }
    memset(b + len / 2 / 1024 * 1024, 0xFF, 3072); /* three blank blocks (of up to 1 KiB) */
    if (m->flash_size) { /* i.MX RT FlexSPI NOR configuration block: tag "FCFB", version 1.56 */
        put32(b, 0x42464346u);
        put32(b + 4, 0x56010000u);
        put32(b + 0x50, m->flash_size);
    } else if (m->sp) { /* vector table: handlers after it, the reset handler right after it */
        put32(b, m->sp);
        put32(b + 4, m->vectors_end | 1u);
        for (uint32_t v = 8; v < m->vectors_end; v += 4)
            put32(b + v, (m->vectors_end + 0x40u) | 1u);
        memset(b + 0x400, 0xFF, 16); /* Kinetis flash configuration: unsecured */
        b[0x40C] = 0xFE;
    } else { /* Teensy 2.0: jmp 0x7E00 (the bootloader), rjmp ., cli */
        static const uint8_t reboot[8] = {0x0C, 0x94, 0x00, 0x3F, 0xFF, 0xCF, 0xF8, 0x94};
        memcpy(b + 0x100, reboot, sizeof reboot);
    }
    FILE *f = fopen(argv[3], "w");
    if (!f)
        return 73;
    uint32_t hi = 0xFFFFFFFFu;
    for (size_t off = 0; off < len; off += 16) {
        uint32_t a = m->base + (uint32_t)off;
        if (a >> 16 != hi) {
            hi = a >> 16;
            uint8_t x[2] = {(uint8_t)(hi >> 8), (uint8_t)hi};
            record(f, 4, 0, x, 2);
        }
        record(f, 0, (uint16_t)a, b + off, (uint8_t)(len - off < 16 ? len - off : 16));
    }
    record(f, 1, 0, NULL, 0);
    free(b);
    return fclose(f) == 0 ? 0 : 74;
}
