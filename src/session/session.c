/* SPDX-License-Identifier: MIT */
/* The connection: probe -> (dap -> ADI -> Cortex-M | the probe's core) -> chip (named, or
 * identified through the vendor hooks) -> SWO. No probe names here: a probe's faces decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/error.h"
#include "lode/session.h"
#include "boot/avr_parts.h"
#include "boot/samba.h"
#include "boot/teensy.h"
#include "target/vendor/vendor.h"

struct lode_session_s {
    lode_session_config_s cfg;
    lode_probe_s *probe;
    bool own_probe;
    lode_dap_ops_s dap_ops;
    lode_adi_s *adi;
    lode_cortexm_s *cm;
    const lode_core_ops_s *probe_core; /* a probe with a core face */
    unsigned ap;
    lode_target_db_s *db;
    const lode_target_chip_s *chip;
    const char *chip_how;
    lode_core_ops_s core;            /* what the loaders use */
    lode_loader_s *algo;             /* the chip's flash algorithms, made on first use */
    lode_loader_s *probe_loader;     /* a probe with only a loader face (a bootloader) */
};

/* ---- chip identification: the vendor hooks over the ADI ------------------------------------- */

static int vm_read32(void *ctx, uint32_t a, uint32_t *v)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_read32(s->adi, s->ap, a, v);
}

static int vm_read16(void *ctx, uint32_t a, uint16_t *v)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_read16(s->adi, s->ap, a, v);
}

/* The designer of the chip (JEP106, ADIv5.2 D3): the PIDR of the ROM table the MEM-AP's BASE
 * names. 0 when there is none or it cannot be read (every vendor hook is tried then). */
static uint16_t rom_designer(lode_session_s *s, const lode_log_s *log)
{
    uint32_t base = 0;
    lode_adi_component_s c;
    /* BASE: bit 1 set = ADIv5 format, bit 0 then says present; legacy: all ones = none */
    if (lode_adi_ap_base(s->adi, s->ap, &base) != LODE_OK || base == 0xFFFFFFFFu || (base & 3u) == 2u ||
        lode_adi_component_id(s->adi, s->ap, base & ~0xFFFu, &c) != LODE_OK || c.cls != LODE_CID_CLASS_ROM)
        return 0;
    const char *who = lodei_vendor_name(c.designer);
    lode_log(log, LODE_LOG_DEBUG, LODE_LOGC_GENERAL, "ROM table at 0x%08x: designer JEP106 0x%03x (%s), part 0x%03x",
             c.base, c.designer, who ? who : "no vendor hook", c.part);
    return c.designer;
}

static int identify(lode_session_s *s, const lode_log_s *log)
{
    const lode_target_chip_s *det = NULL;
    char why[240];
    lodei_vendor_mem_s mem = {.read32 = vm_read32, .read16 = vm_read16, .ctx = s};
    int drc = lodei_vendor_detect(&mem, rom_designer(s, log), s->db, &det, why, sizeof why);
    if (!s->chip) {
        if (drc != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "cannot identify the chip: %s: name it with --chip",
                     why);
            return LODE_E_NO_DEVICE;
        }
        s->chip = det;
        s->chip_how = "detected";
    } else if (drc == LODE_OK && det && strcmp(det->name, s->chip->name) != 0 &&
               strncmp(det->name, s->chip->name, strlen(s->chip->name)) != 0) {
        lode_log(log, LODE_LOG_WARN, LODE_LOGC_GENERAL, "--chip %s given, but the target identifies as %s",
                 s->chip->name, det->name);
    }
    return LODE_OK;
}

/* dap face: ADIv5 -> Cortex-M (with the probe's register commands when it has them) */
static int open_dap_path(lode_session_s *s, const lode_log_s *log)
{
    int rc;
    if ((rc = lode_probe_dap(s->probe, s->cfg.swd_hz ? s->cfg.swd_hz : 4000000u, &s->dap_ops)) != LODE_OK)
        return rc;
    if ((rc = lode_adi_new(&s->dap_ops, log, &s->adi)) != LODE_OK)
        return rc;
    if ((rc = lode_adi_connect(s->adi)) != LODE_OK) {
        lode_log(log, LODE_LOG_ERROR, LODE_LOGC_ADI,
                 "the target does not answer on SWD: check the wiring and the target's power, "
                 "and that its firmware does not use the SWD pins as GPIO");
        return rc;
    }
    s->ap = 0;
    if (s->cfg.chip && s->chip && s->chip->variant->ncores)
        s->ap = (unsigned)s->chip->variant->cores[0].ap;
    if ((rc = lode_cortexm_new(s->adi, s->ap, log, &s->cm)) != LODE_OK)
        return rc;
    lode_cortexm_regio_s rio;
    if (s->ap == 0 && lode_probe_regio(s->probe, &rio) == LODE_OK) /* register commands work on AP 0 */
        lode_cortexm_set_regio(s->cm, &rio);
    return s->cfg.attach_only ? LODE_OK : identify(s, log);
}

/* a chip of that exact name in the database (no message when not) */
static bool chip_listed(const lode_target_db_s *db, const char *name)
{
    for (size_t i = 0; i < lode_target_chips_count(db); i++)
        if (!strcasecmp(lode_target_chips_at(db, i)->name, name))
            return true;
    return false;
}

int lode_session_open(const lode_session_config_s *cfg, lode_session_s **out)
{
    if (!cfg || !out || (!cfg->probe && (!cfg->registry || !cfg->spec))) {
        if (cfg && cfg->close_probe)
            lode_probe_close(cfg->probe);
        return LODE_E_INVALID_ARG;
    }
    lode_session_s *s = calloc(1, sizeof *s);
    if (!s) {
        if (cfg->close_probe)
            lode_probe_close(cfg->probe);
        return LODE_E_NOMEM;
    }
    s->probe = cfg->probe;
    s->own_probe = cfg->probe && cfg->close_probe;
    s->cfg = *cfg;
    const lode_log_s *log = &s->cfg.log;
    int rc;
    if ((rc = lode_target_db_new(log, &s->db)) != LODE_OK)
        goto fail;
    if (cfg->chip_description && (rc = lode_target_db_load_file(s->db, cfg->chip_description)) != LODE_OK)
        goto fail;
    /* a named chip is checked before touching the probe: a typo is the user's, not the target's */
    if (cfg->chip && !cfg->attach_only && !lodei_teensy_model_by_name(cfg->chip)) { /* Teensys: HalfKay checks them */
        /* an AVR part: its bootloader checks it (not in the ARM chip database) */
        /* ... and a SAM chip that lode's chip database lacks: its SAM-BA monitor checks it */
        bool samba = lodei_samba_chip_known(cfg->chip) && !chip_listed(s->db, cfg->chip);
        rc = lodei_avr_part_known(cfg->chip) || samba ? LODE_E_NO_DEVICE
                                                      : lode_target_find_chip(s->db, cfg->chip, &s->chip);
        if (rc != LODE_OK && !(rc == LODE_E_NO_DEVICE && (lodei_avr_part_known(cfg->chip) || samba))) {
            if (rc == LODE_E_NO_DEVICE)
                lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                         "unknown chip '%s': `lode chips` lists the known ones; "
                         "--chip-description FILE adds a probe-rs target file", cfg->chip);
            goto fail;
        }
        s->chip_how = rc == LODE_OK ? "given" : NULL;
        rc = LODE_OK;
    }
    if (!cfg->probe) {
        lode_probe_open_opts_s po = {.chip = cfg->chip, .swd_hz = cfg->swd_hz, .log = log, .force = cfg->force,
                                   .no_parity = cfg->no_parity};
        if ((rc = lode_probe_open(cfg->registry, cfg->spec, &po, &s->probe)) != LODE_OK)
            goto fail;
        s->own_probe = true;
    }
    if (lode_probe_has_dap(s->probe)) {
        if ((rc = open_dap_path(s, log)) != LODE_OK)
            goto fail;
    } else if ((s->probe_core = lode_probe_core(s->probe)) != NULL) {
        /* a whole core (a GDB server): the chip only from --chip */
        if (!s->chip && !cfg->attach_only) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL,
                     "--probe %s needs --chip for flash, verify, erase, run, debug and info (it cannot "
                     "identify the chip)", lode_probe_driver(s->probe));
            rc = LODE_E_INVALID_ARG;
            goto fail;
        }
    } else {
        /* only a loader (a bootloader): the chip only from --chip, no core */
        lode_loader_s *l = NULL;
        if (lode_probe_loader(s->probe, &l) != LODE_OK) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "--probe %s gives no access to a core or memory",
                     lode_probe_driver(s->probe));
            rc = LODE_E_UNSUPPORTED;
            goto fail;
        }
        s->probe_loader = l;
        /* a loader that names the memories itself (a DfuSe device) needs no chip */
        if (!s->chip && !cfg->attach_only && !lode_loader_ops(l)->knows_memories) {
            lode_log(log, LODE_LOG_ERROR, LODE_LOGC_GENERAL, "--probe %s needs --chip (it cannot identify the chip)",
                     lode_probe_driver(s->probe));
            rc = LODE_E_INVALID_ARG;
            goto fail;
        }
    }
    lode_session_core_ops(s, &s->core);
    *out = s;
    return LODE_OK;
fail:
    lode_session_close(s);
    return rc;
}

void lode_session_close(lode_session_s *s)
{
    if (!s)
        return;
    lode_loader_free(s->algo);
    lode_cortexm_free(s->cm);
    lode_adi_free(s->adi);
    if (s->own_probe)
        lode_probe_close(s->probe);
    lode_target_db_free(s->db);
    free(s);
}

/* ---- loading ----------------------------------------------------------------------------------- */

int lode_session_loader(lode_session_s *s, lode_loader_s **out)
{
    if (!s || !out)
        return LODE_E_INVALID_ARG;
    if (lode_probe_loader(s->probe, out) == LODE_OK)
        return LODE_OK;
    if (!s->chip) {
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "no chip: name it with --chip to write its flash");
        return LODE_E_INVALID_ARG;
    }
    if (!s->algo) {
        int rc = lode_loader_algo_new(&s->core, s->chip, &s->cfg.log, &s->algo);
        if (rc != LODE_OK)
            return rc;
    }
    *out = s->algo;
    return LODE_OK;
}

void lode_session_where(const lode_session_s *s, const lode_image_s *img, lode_image_where_s *w)
{
    memset(w, 0, sizeof *w);
    bool first = true;
    const lode_flash_region_s *regs = NULL;
    const lode_mem_range_s *ram = NULL;
    size_t nregs = 0, nram = 0;
    if (s && !s->chip && s->probe_loader &&
        lode_loader_layout(s->probe_loader, NULL, &regs, &nregs, &ram, &nram) != LODE_OK)
        nregs = 0;
    for (size_t i = 0; img && i < img->nsegs; i++) {
        const lode_segment_s *sg = &img->segs[i];
        if (!sg->len)
            continue;
        if (first || sg->addr < w->lo)
            w->lo = sg->addr;
        if (first || (uint64_t)sg->addr + sg->len > w->hi)
            w->hi = (uint64_t)sg->addr + sg->len;
        first = false;
        for (uint32_t off = 0; off < sg->len;) {
            uint64_t a = sg->addr + off, n = sg->len - off;
            const lode_target_mem_s *m = NULL;
            lode_target_mem_s lm; /* a bootloader's memory, from its loader */
            for (size_t k = 0; s && s->chip && k < s->chip->nmemory && !m; k++)
                if (a >= s->chip->memory[k].start && a < s->chip->memory[k].end)
                    m = &s->chip->memory[k];
            for (size_t k = 0; !m && k < nregs; k++)
                if (a >= regs[k].start && a < regs[k].end) {
                    memset(&lm, 0, sizeof lm);
                    lm.kind = LODE_TARGET_MEM_NVM, lm.start = regs[k].start, lm.end = regs[k].end;
                    m = &lm;
                }
            if (m && m->end - a < n)
                n = m->end - a;
            else if (!m)
                n = 1;
            if (m && m->kind == LODE_TARGET_MEM_NVM)
                w->flash_bytes += n;
            else if (m && m->kind == LODE_TARGET_MEM_RAM)
                w->ram_bytes += n;
            else
                w->other_bytes += n;
            off += (uint32_t)n;
        }
    }
}

static void say_where(const lode_session_s *s, const lode_image_where_s *w, char *buf, size_t len)
{
    if (!w->hi)
        snprintf(buf, len, "it is empty (no loadable segments: an ELF without program headers?)");
    else
        snprintf(buf, len, "it lives at 0x%08x..0x%08x (%zu bytes in RAM, %zu elsewhere), outside the flash of %s",
                 w->lo, (uint32_t)(w->hi - 1), w->ram_bytes, w->other_bytes, s->chip ? s->chip->name : "the chip");
}

int lode_session_flash(lode_session_s *s, const lode_image_s *img, const lode_flash_opts_s *opts,
                       lode_flash_result_s *res)
{
    memset(res, 0, sizeof *res);
    if (!s || !img)
        return LODE_E_INVALID_ARG;
    lode_image_where_s w;
    lode_session_where(s, img, &w);
    if (!w.flash_bytes) {
        char where[200];
        say_where(s, &w, where, sizeof where);
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "the image has nothing for the flash: %s%s", where,
                 w.ram_bytes ? "; `lode run` loads a RAM image and runs it" : "");
        return LODE_E_FORMAT;
    }
    if (img->has_uf2_family && s->chip && lode_uf2_family_fits(img->uf2_family, s->chip->name) != LODE_OK) {
        const char *fam = lode_uf2_family_name(img->uf2_family);
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the UF2 image is for family %s (0x%08x), the chip is %s: use the image built for this chip",
                 fam ? fam : "?", (unsigned)img->uf2_family, s->chip->name);
        return LODE_E_FORMAT;
    }
    lode_loader_s *l = NULL;
    int rc = lode_session_loader(s, &l);
    return rc == LODE_OK ? lode_loader_flash(l, img, opts, &s->cfg.log, res) : rc;
}

int lode_session_erase(lode_session_s *s, bool all, uint32_t addr, uint32_t len, const lode_flash_opts_s *opts,
                       lode_flash_result_s *res)
{
    memset(res, 0, sizeof *res);
    lode_loader_s *l = NULL;
    int rc = s ? lode_session_loader(s, &l) : LODE_E_INVALID_ARG;
    return rc == LODE_OK ? lode_loader_erase(l, all, addr, len, opts, &s->cfg.log, res) : rc;
}

int lode_session_read(lode_session_s *s, uint32_t addr, void *buf, size_t len)
{
    if (!s || (len && !buf))
        return LODE_E_INVALID_ARG;
    if (s->core.mem_read)
        return s->core.mem_read(s->core.ctx, addr, buf, len);
    return lode_loader_read(s->probe_loader, addr, buf, len);
}

int lode_session_verify(lode_session_s *s, const lode_image_s *img, size_t *checked)
{
    if (!s || !img)
        return LODE_E_INVALID_ARG;
    lode_image_where_s w;
    lode_session_where(s, img, &w);
    if (!w.hi) {
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "nothing to verify: the image is empty (no loadable segments: an ELF without program headers?)");
        return LODE_E_FORMAT;
    }
    lode_loader_s *l = NULL;
    int rc = lode_session_loader(s, &l);
    return rc == LODE_OK ? lode_loader_verify(l, img, &s->cfg.log, checked) : rc;
}

#define SCB_VTOR 0xE000ED08u

int lode_session_load_for_run(lode_session_s *s, const lode_image_s *img, const lode_flash_opts_s *opts,
                              lode_flash_result_s *res, bool *in_ram)
{
    memset(res, 0, sizeof *res);
    if (!s || !img || !in_ram)
        return LODE_E_INVALID_ARG;
    *in_ram = false;
    lode_image_where_s w;
    lode_session_where(s, img, &w);
    if (w.flash_bytes || (!w.ram_bytes && w.hi)) /* flash content (or the chip does not say) */
        return lode_session_flash(s, img, opts, res);
    if (!w.hi) {
        char where[200];
        say_where(s, &w, where, sizeof where);
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "nothing to run: %s", where);
        return LODE_E_FORMAT;
    }
    if (w.other_bytes) {
        char where[200];
        say_where(s, &w, where, sizeof where);
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH, "the image is neither in flash nor wholly in RAM: %s",
                 where);
        return LODE_E_RANGE;
    }
    /* a RAM image: its vector table at its lowest address gives SP and PC */
    uint32_t sp = 0, pc = 0;
    for (size_t i = 0; i < img->nsegs; i++) {
        const lode_segment_s *sg = &img->segs[i];
        if (sg->addr == w.lo && sg->len >= 8) {
            sp = (uint32_t)sg->data[0] | (uint32_t)sg->data[1] << 8 | (uint32_t)sg->data[2] << 16 |
                 (uint32_t)sg->data[3] << 24;
            pc = (uint32_t)sg->data[4] | (uint32_t)sg->data[5] << 8 | (uint32_t)sg->data[6] << 16 |
                 (uint32_t)sg->data[7] << 24;
        }
    }
    if (!(pc & 1u) || (w.lo & 0x7Fu)) {
        lode_log(&s->cfg.log, LODE_LOG_ERROR, LODE_LOGC_FLASH,
                 "the RAM image at 0x%08x does not start with a vector table (initial SP, then a Thumb reset "
                 "address; the table 128-byte aligned for VTOR): link it with one", w.lo);
        return LODE_E_FORMAT;
    }
    lode_core_ops_s *c = &s->core;
    int rc = c->reset(c->ctx, true); /* the chip as after reset; the core stopped before its first instruction */
    lode_loader_s *mem = NULL;
    lode_mem_range_s all = {0, 0xFFFFFFFFu};
    if (rc == LODE_OK)
        rc = lode_loader_mem_new(c, &all, 1, &mem);
    if (rc == LODE_OK)
        rc = lode_loader_flash(mem, img, NULL, &s->cfg.log, res);
    lode_loader_free(mem);
    uint8_t vtor[4] = {(uint8_t)w.lo, (uint8_t)(w.lo >> 8), (uint8_t)(w.lo >> 16), (uint8_t)(w.lo >> 24)};
    if (rc == LODE_OK)
        rc = c->mem_write(c->ctx, SCB_VTOR, vtor, 4);
    static const unsigned regs[] = {13, 15, 16};
    uint32_t vals[] = {sp, pc & ~1u, 0x01000000u}; /* xPSR: Thumb */
    if (rc == LODE_OK && c->regs_write)
        rc = c->regs_write(c->ctx, regs, vals, 3);
    for (size_t i = 0; rc == LODE_OK && !c->regs_write && i < 3; i++)
        rc = c->reg_write(c->ctx, regs[i], vals[i]);
    if (rc == LODE_OK)
        *in_ram = true;
    return rc;
}

/* ---- SWO ------------------------------------------------------------------------------------- */
#define TPIU_SPPR 0xE00400F0u
#define TPIU_FFCR 0xE0040304u
#define SWO_MAX_BAUD 2000000u

int lode_session_swo_start(lode_session_s *s, uint32_t baud, uint32_t *actual)
{
    if (!s)
        return LODE_E_INVALID_ARG;
    if (!s->adi || !s->probe) /* the TPIU is set through the debug port */
        return LODE_E_UNSUPPORTED;
    if (!baud)
        baud = SWO_MAX_BAUD;
    int rc = lode_adi_mem_write32(s->adi, s->ap, TPIU_SPPR, 2u); /* asynchronous NRZ (UART) */
    if (!rc)
        rc = lode_adi_mem_write32(s->adi, s->ap, TPIU_FFCR, 0x100u); /* TrigIn, no formatter */
    if (rc)
        return rc;
    return lode_probe_swo_start(s->probe, baud, actual);
}

int lode_session_swo_read(lode_session_s *s, uint8_t *buf, size_t cap, size_t *got)
{
    return s ? lode_probe_swo_read(s->probe, buf, cap, got) : LODE_E_INVALID_ARG;
}

int lode_session_swo_stop(lode_session_s *s)
{
    return s ? lode_probe_swo_stop(s->probe) : LODE_E_INVALID_ARG;
}

lode_probe_s *lode_session_probe(lode_session_s *s) { return s ? s->probe : NULL; }
lode_adi_s *lode_session_adi(lode_session_s *s) { return s ? s->adi : NULL; }
lode_cortexm_s *lode_session_cortexm(lode_session_s *s) { return s ? s->cm : NULL; }
lode_target_db_s *lode_session_db(lode_session_s *s) { return s ? s->db : NULL; }

const lode_target_chip_s *lode_session_chip(const lode_session_s *s, const char **how)
{
    if (how)
        *how = s->chip_how;
    return s->chip;
}

/* ---- the core as lode_core_ops_s ------------------------------------------------------------ */

static int co_halt(void *ctx) { return lode_cortexm_halt(((lode_session_s *)ctx)->cm); }
static int co_resume(void *ctx) { return lode_cortexm_resume(((lode_session_s *)ctx)->cm); }
static int co_resume_regs(void *ctx, const unsigned *r, const uint32_t *v, size_t n)
{
    return lode_cortexm_resume_regs(((lode_session_s *)ctx)->cm, r, v, n);
}
static int co_step(void *ctx) { return lode_cortexm_step(((lode_session_s *)ctx)->cm, true); }

static int co_state(void *ctx, lode_core_state_s *st)
{
    lode_cortexm_status_s cs;
    int rc = lode_cortexm_status(((lode_session_s *)ctx)->cm, &cs);
    if (rc != LODE_OK)
        return rc;
    st->halted = cs.halted;
    st->lockup = cs.lockup;
    st->sleeping = cs.sleeping;
    st->dfsr = cs.dfsr;
    return LODE_OK;
}

static int co_reg_read(void *ctx, unsigned r, uint32_t *v)
{
    return lode_cortexm_reg_read(((lode_session_s *)ctx)->cm, r, v);
}
static int co_reg_write(void *ctx, unsigned r, uint32_t v)
{
    return lode_cortexm_reg_write(((lode_session_s *)ctx)->cm, r, v);
}
static int co_regs_read(void *ctx, const unsigned *r, uint32_t *v, size_t n)
{
    return lode_cortexm_regs_read(((lode_session_s *)ctx)->cm, r, v, n);
}
static int co_regs_write(void *ctx, const unsigned *r, const uint32_t *v, size_t n)
{
    return lode_cortexm_regs_write(((lode_session_s *)ctx)->cm, r, v, n);
}
static int co_mem_read(void *ctx, uint32_t a, void *b, size_t n)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_read(s->adi, s->ap, a, b, n);
}
static int co_mem_write(void *ctx, uint32_t a, const void *b, size_t n)
{
    lode_session_s *s = ctx;
    return lode_adi_mem_write(s->adi, s->ap, a, b, n);
}
static int co_mem_submit(void *ctx, const lode_mem_op_s *ops, size_t n)
{
    lode_session_s *s = ctx;
    if (!ops || !n)
        return LODE_E_INVALID_ARG;
    uint64_t words = 0;
    for (size_t i = 0; i < n; i++) { /* all checked before anything is queued */
        if ((ops[i].addr & 3u) || (ops[i].n && !ops[i].words))
            return LODE_E_INVALID_ARG;
        words += ops[i].n;
    }
    if (!words)
        return LODE_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < ops[i].n; k++) {
            uint32_t a = ops[i].addr + 4u * k;
            if (ops[i].write)
                lode_adi_queue_write32(s->adi, s->ap, a, ops[i].words[k]);
            else
                lode_adi_queue_read32(s->adi, s->ap, a, &ops[i].words[k]);
        }
    }
    return lode_adi_submit(s->adi);
}
static int co_mem_collect(void *ctx)
{
    lode_session_s *s = ctx;
    return lode_adi_collect(s->adi);
}
static unsigned co_mem_depth(void *ctx)
{
    lode_session_s *s = ctx;
    return lode_adi_can_submit(s->adi);
}
static int co_reset(void *ctx, bool halt)
{
    lode_session_s *s = ctx;
    return halt ? lode_cortexm_reset_halt(s->cm) : lode_cortexm_reset(s->cm);
}
static int co_reset_halt_writes(void *ctx, const uint32_t (*w)[2], size_t n)
{
    return lode_cortexm_reset_halt_writes(((lode_session_s *)ctx)->cm, w, n);
}
static uint64_t co_now_us(void *ctx)
{
    lode_session_s *s = ctx;
    if (s->cfg.now_us && s->cfg.delay_us)
        return s->cfg.now_us(s->cfg.time_user);
    return lode_probe_now_us(s->probe);
}
static void co_delay_us(void *ctx, uint32_t us)
{
    lode_session_s *s = ctx;
    if (s->cfg.now_us && s->cfg.delay_us)
        s->cfg.delay_us(s->cfg.time_user, us);
    else
        lode_probe_delay_us(s->probe, us);
}

static int co_bp_set(void *ctx, uint32_t a) { return lode_cortexm_bp_set(((lode_session_s *)ctx)->cm, a); }
static int co_bp_clear(void *ctx, uint32_t a) { return lode_cortexm_bp_clear(((lode_session_s *)ctx)->cm, a); }
static int co_wp_set(void *ctx, uint32_t a, uint32_t len, int kind)
{
    lode_cortexm_watch_e k = kind == 1 ? LODE_CM_WATCH_READ : kind == 2 ? LODE_CM_WATCH_WRITE : LODE_CM_WATCH_ACCESS;
    return lode_cortexm_wp_set(((lode_session_s *)ctx)->cm, a, len, k);
}
static int co_wp_clear(void *ctx, uint32_t a) { return lode_cortexm_wp_clear(((lode_session_s *)ctx)->cm, a); }
static int co_vector_catch(void *ctx, uint32_t set, uint32_t clear)
{
    return lode_cortexm_vector_catch(((lode_session_s *)ctx)->cm, set, clear);
}

static size_t co_reg_list(void *ctx, unsigned *r, size_t max)
{
    static const unsigned base[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                    LODE_CM_REG_PRIMASK, LODE_CM_REG_BASEPRI, LODE_CM_REG_FAULTMASK,
                                    LODE_CM_REG_CONTROL};
    const lode_cortexm_info_s *ci = lode_cortexm_info(((lode_session_s *)ctx)->cm);
    size_t n = 0;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++, n++)
        if (n < max)
            r[n] = base[i];
    for (unsigned i = 0; ci && ci->fpu && i < 33; i++, n++)
        if (n < max)
            r[n] = i < 32 ? LODE_CM_REG_S0 + i : LODE_CM_REG_FPSCR;
    return n;
}

void lode_session_core_ops(lode_session_s *s, lode_core_ops_s *ops)
{
    if (s->probe_core || !s->adi) { /* the probe's core, or none (zeroed: a loader only) */
        if (s->probe_core)
            *ops = *s->probe_core;
        else
            memset(ops, 0, sizeof *ops);
        return;
    }
    ops->bp_set = co_bp_set;
    ops->bp_clear = co_bp_clear;
    ops->wp_set = co_wp_set;
    ops->wp_clear = co_wp_clear;
    ops->vector_catch = co_vector_catch;
    ops->halt = co_halt;
    ops->resume = co_resume;
    ops->resume_regs = co_resume_regs;
    ops->step = co_step;
    ops->state = co_state;
    ops->reg_read = co_reg_read;
    ops->reg_write = co_reg_write;
    ops->regs_read = co_regs_read;
    ops->regs_write = co_regs_write;
    ops->reg_list = co_reg_list;
    ops->mem_read = co_mem_read;
    ops->mem_write = co_mem_write;
    ops->reset = co_reset;
    ops->reset_halt_writes = co_reset_halt_writes;
    bool pipe = lode_adi_can_submit(s->adi) > 0;
    ops->mem_submit = pipe ? co_mem_submit : NULL;
    ops->mem_collect = pipe ? co_mem_collect : NULL;
    ops->mem_depth = pipe ? co_mem_depth : NULL;
    ops->mem_merged = pipe && lode_adi_submit_merges(s->adi);
    ops->now_us = co_now_us;
    ops->delay_us = co_delay_us;
    ops->ctx = s;
}

