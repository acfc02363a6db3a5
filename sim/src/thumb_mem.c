/* SPDX-License-Identifier: MIT */
/* Which bytes a Thumb load or store touches, from its encoding and the registers before it
 * executes (ARMv7-M ARM, A5.2.4/A5.2.5 16-bit and A5.3.7-A5.3.10 32-bit load/store groups).
 * Used to find the instruction behind a precise data bus fault. */
#include "thumb_mem.h"

static uint32_t bitcount(uint32_t v)
{
    uint32_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* Base for an access: PC reads as the instruction's address + 4, word-aligned for literals. */
static uint32_t base_reg(const uint32_t r[16], unsigned n, uint32_t pc)
{
    return n == 15 ? ((pc + 4u) & ~3u) : r[n];
}

unsigned simi_thumb_mem(uint16_t hw1, uint16_t hw2, const uint32_t r[16], uint32_t pc,
                        simi_thumb_access_s *acc)
{
    acc->is_mem = false;
    acc->lo = acc->len = 0;
    acc->load = false;
    bool wide = (hw1 >> 11) >= 0x1D; /* 0b11101, 0b11110, 0b11111 */
    if (!wide) {
        unsigned rn = (hw1 >> 3) & 7, rm = (hw1 >> 6) & 7, imm5 = (hw1 >> 6) & 31;
        if ((hw1 & 0xF000) == 0x5000) { /* register offset: STR STRH STRB LDRSB LDR LDRH LDRB LDRSH */
            static const uint8_t sz[8] = {4, 2, 1, 1, 4, 2, 1, 2};
            unsigned op = (hw1 >> 9) & 7;
            acc->lo = r[rn] + r[rm];
            acc->len = sz[op];
            acc->load = op >= 3;
        } else if ((hw1 & 0xE000) == 0x6000) { /* STR/LDR(B) immediate */
            bool byte = hw1 & 0x1000;
            acc->lo = r[rn] + (byte ? imm5 : imm5 * 4u);
            acc->len = byte ? 1 : 4;
            acc->load = hw1 & 0x0800;
        } else if ((hw1 & 0xF000) == 0x8000) { /* STRH/LDRH immediate */
            acc->lo = r[rn] + imm5 * 2u;
            acc->len = 2;
            acc->load = hw1 & 0x0800;
        } else if ((hw1 & 0xF000) == 0x9000) { /* SP-relative STR/LDR */
            acc->lo = r[13] + (hw1 & 0xFFu) * 4u;
            acc->len = 4;
            acc->load = hw1 & 0x0800;
        } else if ((hw1 & 0xF800) == 0x4800) { /* LDR literal */
            acc->lo = base_reg(r, 15, pc) + (hw1 & 0xFFu) * 4u;
            acc->len = 4;
            acc->load = true;
        } else if ((hw1 & 0xF000) == 0xC000) { /* STM/LDM */
            acc->lo = r[(hw1 >> 8) & 7];
            acc->len = 4 * bitcount(hw1 & 0xFFu);
            acc->load = hw1 & 0x0800;
        } else if ((hw1 & 0xFE00) == 0xB400) { /* PUSH */
            uint32_t n = bitcount(hw1 & 0x1FFu);
            acc->lo = r[13] - 4 * n;
            acc->len = 4 * n;
        } else if ((hw1 & 0xFE00) == 0xBC00) { /* POP */
            acc->lo = r[13];
            acc->len = 4 * bitcount(hw1 & 0x1FFu);
            acc->load = true;
        } else {
            return 2;
        }
        acc->is_mem = acc->len != 0;
        return 2;
    }

    unsigned rn = hw1 & 15;
    if ((hw1 & 0xFE00) == 0xF800 && ((hw1 >> 5) & 3) != 3) {
        /* single loads and stores (A5.3.7-A5.3.10): size in bits 6:5, L in bit 4 */
        static const uint8_t sz[3] = {1, 2, 4};
        unsigned size = sz[(hw1 >> 5) & 3];
        acc->load = hw1 & 0x0010;
        if (!acc->load && (hw1 & 0x0100))
            return 4; /* not a store encoding */
        uint32_t base = base_reg(r, rn, pc);
        if (rn == 15 && acc->load) { /* literal: U in bit 7 */
            uint32_t imm = hw2 & 0xFFFu;
            acc->lo = (hw1 & 0x0080) ? base + imm : base - imm;
        } else if (hw1 & 0x0080) { /* imm12 */
            acc->lo = base + (hw2 & 0xFFFu);
        } else if (hw2 & 0x0800) { /* imm8 with P U W (or T: unprivileged) */
            uint32_t imm = hw2 & 0xFFu;
            bool p = hw2 & 0x0400, u = hw2 & 0x0200;
            acc->lo = p ? (u ? base + imm : base - imm) : base;
        } else if ((hw2 & 0x0FC0) == 0) { /* register, LSL imm2 */
            acc->lo = base + (r[hw2 & 15] << ((hw2 >> 4) & 3));
        } else {
            return 4;
        }
        acc->len = size;
        acc->is_mem = !(acc->load && ((hw2 >> 12) & 15) == 15 && size < 4); /* PLD/PLI hints */
        return 4;
    }
    if ((hw1 & 0xFE40) == 0xE840) { /* LDRD/STRD (P or W set), LDREX/STREX family */
        bool p = hw1 & 0x0100, u = hw1 & 0x0080, w = hw1 & 0x0020;
        uint32_t base = base_reg(r, rn, pc);
        acc->load = hw1 & 0x0010;
        if (!p && !w) { /* exclusives and table branch */
            if ((hw1 & 0xFFF0) == 0xE8D0 && (hw2 & 0x00E0) == 0x0000) { /* TBB/TBH */
                bool h = hw2 & 0x0010;
                acc->lo = base + (r[hw2 & 15] << (h ? 1 : 0));
                acc->len = h ? 2 : 1;
                acc->load = true;
            } else if ((hw1 & 0xFFE0) == 0xE840) { /* STREX/LDREX word */
                acc->lo = base + (hw2 & 0xFFu) * 4u;
                acc->len = 4;
            } else if ((hw1 & 0xFFE0) == 0xE8C0) { /* byte/half exclusives */
                acc->lo = base;
                acc->len = (hw2 & 0x0010) ? 2 : 1;
            } else {
                return 4;
            }
        } else {
            uint32_t imm = (hw2 & 0xFFu) * 4u;
            acc->lo = p ? (u ? base + imm : base - imm) : base;
            acc->len = 8;
        }
        acc->is_mem = true;
        return 4;
    }
    if ((hw1 & 0xFE40) == 0xE800 && (((hw1 >> 7) & 3) == 1 || ((hw1 >> 7) & 3) == 2)) {
        /* LDM/STM: IA when bit 7 set (op 01), DB when bit 8 set (op 10) */
        uint32_t n = bitcount(hw2);
        bool db = ((hw1 >> 7) & 3) == 2;
        acc->lo = db ? r[rn] - 4 * n : r[rn];
        acc->len = 4 * n;
        acc->load = hw1 & 0x0010;
        acc->is_mem = n != 0;
        return 4;
    }
    return 4;
}
