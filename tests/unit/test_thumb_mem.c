/* SPDX-License-Identifier: MIT */
/* The simulator's Thumb load/store decoder (sim/src/thumb_mem.c), which finds the instruction
 * behind a precise bus fault. Encodings below are arm-none-eabi-as output (-mcpu=cortex-m4). */
#include "test.h"
#include "thumb_mem.h"

typedef struct {
    uint16_t hw1, hw2;
    const char *text;
    unsigned size; /* instruction length */
    bool is_mem, load;
    uint32_t lo, len;
} case_s;

/* registers before each instruction: rN = 0x1000 * N, sp = 0x20001000 */
static const case_s cases[] = {
    {0x681b, 0, "ldr r3,[r3]", 2, true, true, 0x3000, 4},
    {0x6888, 0, "ldr r0,[r1,#8]", 2, true, true, 0x1008, 4},
    {0x78e2, 0, "ldrb r2,[r4,#3]", 2, true, true, 0x4003, 1},
    {0x88e2, 0, "ldrh r2,[r4,#6]", 2, true, true, 0x4006, 2},
    {0x58d1, 0, "ldr r1,[r2,r3]", 2, true, true, 0x5000, 4},
    {0x5ed1, 0, "ldrsh r1,[r2,r3]", 2, true, true, 0x5000, 2},
    {0x9804, 0, "ldr r0,[sp,#16]", 2, true, true, 0x20001010, 4},
    {0x6048, 0, "str r0,[r1,#4]", 2, true, false, 0x1004, 4},
    {0x4801, 0, "ldr r0,[pc,#4] at 0x102", 2, true, true, 0x108, 4},
    {0xf8d1, 0x0400, "ldr.w r0,[r1,#1024]", 4, true, true, 0x1400, 4},
    {0xf851, 0x0c08, "ldr.w r0,[r1,#-8]", 4, true, true, 0x0ff8, 4},
    {0xf851, 0x0b04, "ldr.w r0,[r1],#4", 4, true, true, 0x1000, 4},
    {0xf851, 0x0022, "ldr.w r0,[r1,r2,lsl #2]", 4, true, true, 0x9000, 4},
    {0xe9d2, 0x0102, "ldrd r0,r1,[r2,#8]", 4, true, true, 0x2008, 8},
    {0xe852, 0x0f00, "ldrex r0,[r2]", 4, true, true, 0x2000, 4},
    {0xe890, 0x000e, "ldmia.w r0,{r1,r2,r3}", 4, true, true, 0x0000, 12},
    {0xe910, 0x001e, "ldmdb r0,{r1-r4}", 4, true, true, 0x0000 - 16u, 16},
    {0xbd10, 0, "pop {r4,pc}", 2, true, true, 0x20001000, 8},
    {0xb510, 0, "push {r4,lr}", 2, true, false, 0x20000ff8, 8},
    {0xe8d0, 0xf011, "tbh [r0,r1,lsl #1]", 4, true, true, 0x2000, 2},
    {0xf890, 0xf000, "pld [r0]", 4, false, false, 0, 0},
    {0x3001, 0, "adds r0,#1", 2, false, false, 0, 0},
    {0xf991, 0x0001, "ldrsb.w r0,[r1,#1]", 4, true, true, 0x1001, 1},
    {0xf000, 0xf800, "bl", 4, false, false, 0, 0},
};

static void test_decode(void)
{
    uint32_t r[16];
    for (unsigned i = 0; i < 16; i++)
        r[i] = 0x1000u * i;
    r[13] = 0x20001000u;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const case_s *c = &cases[i];
        simi_thumb_access_s a;
        uint32_t pc = c->hw1 == 0x4801 ? 0x102u : 0x100u;
        unsigned n = simi_thumb_mem(c->hw1, c->hw2, r, pc, &a);
        int bad = n != c->size || a.is_mem != c->is_mem ||
                  (c->is_mem && (a.load != c->load || a.lo != c->lo || a.len != c->len));
        if (bad)
            fprintf(stderr, "%s: size %u mem %d load %d lo %08x len %u\n", c->text, n, a.is_mem,
                    a.load, (unsigned)a.lo, (unsigned)a.len);
        CHECK(!bad);
    }
}

int main(void)
{
    RUN_TEST(test_decode);
    return TEST_DONE();
}
