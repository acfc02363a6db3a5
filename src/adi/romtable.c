/* SPDX-License-Identifier: MIT */
/* CoreSight ROM table walk (ARM IHI 0031 ADIv5.2, chapter D3 "Class 0x1 ROM tables", D1.2
 * component and peripheral identification registers). Part numbers from the Cortex-M TRMs'
 * ID register tables. */
#include <string.h>

#include "adi/adii.h"
#include "lode/error.h"

#define ROM_MAX_ENTRIES 960u  /* 0x000-0xEFC */
#define ROM_ENTRIES_PER_RUN 16u
#define WALK_MAX_COMPONENTS 512u
#define CIDR_PREAMBLE_MASK 0xFFFF0FFFu
#define CIDR_PREAMBLE 0xB105000Du
#define DEVARCH_ROM 0x47700AF7u /* ARM, present, ROM table architecture (class 0x9 ROM) */

typedef struct part_s {
    uint16_t part;
    const char *name;
} part_s;

/* ARM (JEP106 0x43B) parts: Cortex-M0/M0+/M3/M4/M7 debug components. */
static const part_s arm_parts[] = {
    {0x000, "Cortex-M3 SCS"},
    {0x001, "Cortex-M3/M4 ITM"},
    {0x002, "Cortex-M3/M4 DWT"},
    {0x003, "Cortex-M3/M4 FPB"},
    {0x008, "Cortex-M0 SCS"},
    {0x00A, "Cortex-M0 DWT"},
    {0x00B, "Cortex-M0 BPU"},
    {0x00C, "Cortex-M4 SCS"},
    {0x00E, "Cortex-M7 FPB"},
    {0x471, "Cortex-M0 ROM table"},
    {0x4C0, "Cortex-M0+ ROM table"},
    {0x4C3, "Cortex-M3 ROM table"},
    {0x4C4, "Cortex-M4 ROM table"},
    {0x4C7, "Cortex-M7 PPB ROM table"},
    {0x923, "Cortex-M3 TPIU"},
    {0x924, "Cortex-M3 ETM"},
    {0x925, "Cortex-M4 ETM"},
    {0x975, "Cortex-M7 ETM"},
    {0x9A1, "Cortex-M4 TPIU"},
    {0x9A9, "Cortex-M7 TPIU"},
};

const char *lode_adi_part_name(uint16_t designer, uint16_t part)
{
    if (designer != LODE_JEP106_ARM)
        return NULL;
    for (size_t i = 0; i < sizeof arm_parts / sizeof arm_parts[0]; i++)
        if (arm_parts[i].part == part)
            return arm_parts[i].name;
    return NULL;
}

typedef struct walk_s {
    lode_adi_s *adi;
    unsigned ap;
    lode_adi_component_fn fn;
    void *user;
    unsigned seen;
    uint32_t visited[WALK_MAX_COMPONENTS];
} walk_s;

/* Read the identification block (last 4 KiB block at `blk`): DEVARCH, PIDR4-7, PIDR0-3,
 * CIDR0-3. */
static int read_ids(lode_adi_s *adi, unsigned ap, uint32_t blk, lode_adi_component_s *c, uint32_t *devarch)
{
    uint32_t v[12] = {0}, da = 0;
    lode_adi_queue_read32(adi, ap, blk + 0xFBCu, &da);
    for (unsigned i = 0; i < 12; i++)
        lode_adi_queue_read32(adi, ap, blk + 0xFD0u + 4u * i, &v[i]);
    int err = lode_adi_run(adi);
    if (err != LODE_OK)
        return err;
    uint32_t cidr = 0;
    uint64_t pidr = 0;
    for (unsigned i = 0; i < 4; i++) {
        cidr |= (v[8 + i] & 0xFFu) << (8 * i);
        pidr |= (uint64_t)(v[4 + i] & 0xFFu) << (8 * i);       /* PIDR0-3 */
        pidr |= (uint64_t)(v[i] & 0xFFu) << (8 * (i + 4));     /* PIDR4-7 */
    }
    if ((cidr & CIDR_PREAMBLE_MASK) != CIDR_PREAMBLE)
        return LODE_E_FORMAT;
    memset(c, 0, sizeof *c);
    c->cidr = cidr;
    c->cls = (uint8_t)((cidr >> 12) & 0xFu);
    c->pidr = pidr;
    c->part = (uint16_t)(pidr & 0xFFFu);
    unsigned id = (unsigned)((pidr >> 12) & 0x7Fu);
    unsigned cont = (unsigned)((pidr >> 32) & 0xFu);
    c->designer = (uint16_t)((cont << 8) | id);
    c->revision = (uint8_t)((pidr >> 20) & 0xFu);
    unsigned size4k = (unsigned)((pidr >> 36) & 0xFu); /* PIDR4.SIZE: log2(4 KiB blocks) */
    c->base = blk - (((1u << size4k) - 1u) << 12);
    c->name = lode_adi_part_name(c->designer, c->part);
    if (devarch)
        *devarch = da;
    return LODE_OK;
}

int lode_adi_component_id(lode_adi_s *adi, unsigned ap, uint32_t blk, lode_adi_component_s *out)
{
    if (!adi || !out || (blk & 0xFFFu))
        return LODE_E_INVALID_ARG;
    lode_adi_component_s c;
    int err = read_ids(adi, ap, blk, &c, NULL);
    if (err == LODE_OK)
        *out = c;
    return err;
}

static int walk(walk_s *w, uint32_t blk, unsigned depth)
{
    for (unsigned i = 0; i < w->seen; i++)
        if (w->visited[i] == blk)
            return LODE_OK; /* a loop in the tables */
    if (w->seen >= WALK_MAX_COMPONENTS) {
        lode_log(w->adi->log, LODE_LOG_WARN, LODE_LOGC_ADI,
                 "adi: ROM table walk stopped after %u components", WALK_MAX_COMPONENTS);
        return LODE_OK;
    }
    w->visited[w->seen++] = blk;

    lode_adi_component_s c;
    uint32_t devarch = 0;
    int err = read_ids(w->adi, w->ap, blk, &c, &devarch);
    if (err != LODE_OK) {
        if (depth == 0) {
            lode_log(w->adi->log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                     "adi: no ROM table at 0x%08x on AP%u (%s)", (unsigned)blk, w->ap,
                     err == LODE_E_FORMAT ? "bad component ID" : lode_strerror(err));
            return err;
        }
        lode_log(w->adi->log, LODE_LOG_WARN, LODE_LOGC_ADI,
                 "adi: skipping the component at 0x%08x (%s)", (unsigned)blk,
                 err == LODE_E_FORMAT ? "bad component ID" : lode_strerror(err));
        return LODE_OK;
    }
    c.depth = depth;
    bool rom = c.cls == LODE_CID_CLASS_ROM ||
               (c.cls == LODE_CID_CLASS_CORESIGHT && devarch == DEVARCH_ROM);
    if (rom && !c.name)
        c.name = "ROM table";
    int stop = w->fn ? w->fn(w->user, &c) : 0;
    if (stop)
        return stop;
    if (!rom)
        return LODE_OK;
    if (depth + 1 >= LODE_ADI_ROM_MAX_DEPTH) {
        lode_log(w->adi->log, LODE_LOG_WARN, LODE_LOGC_ADI,
                 "adi: ROM table at 0x%08x nested too deep; not entered", (unsigned)blk);
        return LODE_OK;
    }
    /* Entries (D3.4.2): bit 0 present, bit 1 format (1 = 32-bit), bits 31:12 signed offset
     * of the component from the table. A zero entry ends the table. */
    for (unsigned first = 0; first < ROM_MAX_ENTRIES; first += ROM_ENTRIES_PER_RUN) {
        uint32_t ent[ROM_ENTRIES_PER_RUN] = {0};
        for (unsigned i = 0; i < ROM_ENTRIES_PER_RUN; i++)
            lode_adi_queue_read32(w->adi, w->ap, blk + 4u * (first + i), &ent[i]);
        err = lode_adi_run(w->adi);
        if (err != LODE_OK)
            return err;
        for (unsigned i = 0; i < ROM_ENTRIES_PER_RUN; i++) {
            uint32_t e = ent[i];
            if (e == 0)
                return LODE_OK;
            if (!(e & 2u)) {
                lode_log(w->adi->log, LODE_LOG_WARN, LODE_LOGC_ADI,
                         "adi: ROM table at 0x%08x uses 8-bit entries (unsupported)",
                         (unsigned)blk);
                return LODE_OK;
            }
            if (!(e & 1u))
                continue; /* not present */
            uint32_t child = blk + (e & 0xFFFFF000u); /* two's complement offset, mod 2^32 */
            int rc = walk(w, child, depth + 1);
            if (rc != LODE_OK)
                return rc;
        }
    }
    return LODE_OK;
}

int lode_adi_romtable_walk(lode_adi_s *adi, unsigned ap, uint32_t base, lode_adi_component_fn fn,
                           void *user)
{
    if (!adi || ap >= ADI_NUM_AP || (base & 0xFFFu))
        return LODE_E_INVALID_ARG;
    int err = lodei_adi_csw_base(adi, ap);
    if (err != LODE_OK)
        return err;
    walk_s w;
    memset(&w, 0, sizeof w);
    w.adi = adi;
    w.ap = ap;
    w.fn = fn;
    w.user = user;
    return walk(&w, base, 0);
}
