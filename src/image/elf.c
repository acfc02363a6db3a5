/* SPDX-License-Identifier: MIT */
/* ELF32 little-endian ARM reader, written from the System V gABI and the ARM ELF supplement.
 * The file is a byte array read with get_le helpers; every offset and size is checked
 * against the buffer with 64-bit arithmetic before use. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/imagei.h"
#include "lode/error.h"
#include "util/bytes.h"

/* e_ident */
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2
#define EV_CURRENT 1
/* e_type */
#define ET_NONE 0
#define ET_REL 1
#define ET_EXEC 2
#define ET_DYN 3
#define ET_CORE 4
#define EM_ARM 40
#define EM_AVR 83 /* avr-gcc: flash at 0 (.text, .data's load address), .eeprom at 0x810000 */
/* sizes of the ELF32 structures */
#define EHDR_SIZE 52u
#define PHDR_SIZE 32u
#define SHDR_SIZE 40u
#define SYM_SIZE 16u
/* special values */
#define PN_XNUM 0xffffu
#define PT_LOAD 1
#define SHT_NULL 0
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_NOBITS 8
#define SHN_UNDEF 0
#define STT_NOTYPE 0
#define STT_OBJECT 1
#define STT_FUNC 2

#define ADVICE_TRUNC "the file is truncated or corrupt: rebuild or re-download it"
#define ADVICE_CORRUPT "the file is corrupt: rebuild or re-download it"

typedef struct elf_ctx_s {
    const uint8_t *buf;
    uint64_t len;
    const char *name;
    const lode_log_s *log;
    /* section header table (shnum == 0: none) */
    uint32_t shoff, shentsize, shnum;
} elf_ctx_s;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(const elf_ctx_s *c, int err, const char *fmt, ...)
{
    if (!c->log || !c->log->fn)
        return err;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lode_log(c->log, LODE_LOG_ERROR, LODE_LOGC_IMAGE, "%s: %s", c->name, msg);
    return err;
}

/* Is [off, off + size) inside the file? */
static int in_file(const elf_ctx_s *c, uint64_t off, uint64_t size)
{
    return off <= c->len && size <= c->len - off;
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case 0: return "none";
    case 2: return "SPARC";
    case 3: return "x86";
    case 8: return "MIPS";
    case 20: return "PowerPC";
    case 40: return "ARM";
    case 62: return "x86-64";
    case 83: return "AVR";
    case 94: return "Xtensa";
    case 105: return "MSP430";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    default: return "unknown";
    }
}

static const uint8_t *shdr(const elf_ctx_s *c, uint32_t idx)
{
    return c->buf + c->shoff + (uint64_t)idx * c->shentsize;
}

/* Validates the section header table and every section's extent in the file. */
static int check_sections(elf_ctx_s *c, uint32_t e_shoff, uint32_t e_shentsize, uint32_t e_shnum)
{
    c->shnum = 0;
    if (e_shoff == 0)
        return LODE_OK; /* no section header table: no symbols */
    if (e_shentsize < SHDR_SIZE)
        return fail(c, LODE_E_FORMAT,
                    "section header entry size is %u bytes, less than %u: " ADVICE_CORRUPT,
                    (unsigned)e_shentsize, SHDR_SIZE);
    c->shoff = e_shoff;
    c->shentsize = e_shentsize;
    if (!in_file(c, e_shoff, e_shentsize))
        return fail(c, LODE_E_FORMAT,
                    "section header table at offset 0x%x is past the end of the file (%llu "
                    "bytes): " ADVICE_TRUNC,
                    (unsigned)e_shoff, (unsigned long long)c->len);
    uint32_t shnum = e_shnum;
    if (shnum == 0) /* SHN_LORESERVE or more sections: the count is in section 0's sh_size */
        shnum = lodei_get_le32(shdr(c, 0) + 20);
    if (!in_file(c, e_shoff, (uint64_t)shnum * e_shentsize))
        return fail(c, LODE_E_FORMAT,
                    "section header table (offset 0x%x, %u entries of %u bytes) extends past "
                    "the end of the file (%llu bytes): " ADVICE_TRUNC,
                    (unsigned)e_shoff, (unsigned)shnum, (unsigned)e_shentsize,
                    (unsigned long long)c->len);
    for (uint32_t i = 1; i < shnum; i++) {
        const uint8_t *s = shdr(c, i);
        uint32_t type = lodei_get_le32(s + 4);
        uint32_t off = lodei_get_le32(s + 16);
        uint32_t size = lodei_get_le32(s + 20);
        if (type == SHT_NULL || type == SHT_NOBITS)
            continue;
        if (!in_file(c, off, size))
            return fail(c, LODE_E_FORMAT,
                        "section %u (offset 0x%x, 0x%x bytes) extends past the end of the file "
                        "(%llu bytes): " ADVICE_TRUNC,
                        (unsigned)i, (unsigned)off, (unsigned)size, (unsigned long long)c->len);
    }
    c->shnum = shnum;
    return LODE_OK;
}

static int is_mapping_symbol(const char *n)
{
    /* ARM ELF: $a, $t, $d (and $x), optionally followed by '.' and anything. */
    return n[0] == '$' && (n[1] == 'a' || n[1] == 't' || n[1] == 'd' || n[1] == 'x') &&
           (n[2] == '\0' || n[2] == '.');
}

static int read_symbols(elf_ctx_s *c, lode_image_s *img)
{
    uint32_t symidx = 0;
    for (uint32_t i = 1; i < c->shnum; i++) {
        if (lodei_get_le32(shdr(c, i) + 4) == SHT_SYMTAB) {
            symidx = i;
            break;
        }
    }
    if (symidx == 0)
        return LODE_OK;
    const uint8_t *sh = shdr(c, symidx);
    uint32_t off = lodei_get_le32(sh + 16);
    uint32_t size = lodei_get_le32(sh + 20);
    uint32_t link = lodei_get_le32(sh + 24);
    uint32_t entsize = lodei_get_le32(sh + 36);
    if (entsize < SYM_SIZE)
        return fail(c, LODE_E_FORMAT,
                    "symbol table (section %u) entry size is %u bytes, less than %u: "
                    ADVICE_CORRUPT,
                    (unsigned)symidx, (unsigned)entsize, SYM_SIZE);
    if (link == 0 || link >= c->shnum)
        return fail(c, LODE_E_FORMAT,
                    "symbol table (section %u) links to string table section %u, which does not "
                    "exist: " ADVICE_CORRUPT,
                    (unsigned)symidx, (unsigned)link);
    const uint8_t *strsh = shdr(c, link);
    if (lodei_get_le32(strsh + 4) != SHT_STRTAB)
        return fail(c, LODE_E_FORMAT,
                    "symbol table (section %u) links to section %u, which is not a string "
                    "table: " ADVICE_CORRUPT,
                    (unsigned)symidx, (unsigned)link);
    const char *strtab = (const char *)c->buf + lodei_get_le32(strsh + 16);
    uint32_t strsize = lodei_get_le32(strsh + 20);
    /* check_sections() proved both sections lie inside the file. */
    const uint8_t *symtab = c->buf + off;
    uint32_t count = size / entsize;

    /* First pass: count what we keep, so one allocation suffices. */
    size_t keep = 0, too_long = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (uint32_t i = 1; i < count; i++) { /* entry 0 is the reserved null symbol */
            const uint8_t *s = symtab + (uint64_t)i * entsize;
            uint32_t st_name = lodei_get_le32(s);
            uint8_t info = s[12];
            uint16_t shndx = lodei_get_le16(s + 14);
            uint8_t type = info & 0xf;
            if (type != STT_NOTYPE && type != STT_OBJECT && type != STT_FUNC)
                continue;
            if (shndx == SHN_UNDEF || st_name == 0)
                continue;
            if (st_name >= strsize)
                return fail(c, LODE_E_FORMAT,
                            "symbol %u: name offset 0x%x is outside the string table (0x%x "
                            "bytes): " ADVICE_CORRUPT,
                            (unsigned)i, (unsigned)st_name, (unsigned)strsize);
            const char *n = strtab + st_name;
            size_t max = strsize - st_name;
            const char *nul = memchr(n, '\0', max);
            if (!nul)
                return fail(c, LODE_E_FORMAT,
                            "symbol %u: name is not terminated inside the string table: "
                            ADVICE_CORRUPT,
                            (unsigned)i);
            size_t nlen = (size_t)(nul - n);
            if (nlen == 0 || is_mapping_symbol(n))
                continue;
            if (nlen > LODE_IMAGE_MAX_SYMBOL_NAME) {
                if (pass == 0)
                    too_long++;
                continue;
            }
            if (pass == 1) {
                lode_symbol_s *sym = &img->syms[k];
                sym->name = malloc(nlen + 1);
                if (!sym->name)
                    return fail(c, LODE_E_NOMEM, "out of memory reading symbols");
                memcpy(sym->name, n, nlen + 1);
                sym->value = lodei_get_le32(s + 4);
                sym->size = lodei_get_le32(s + 8);
                sym->type = type;
                sym->bind = (uint8_t)(info >> 4);
                img->nsyms = ++k; /* lode_image_free() frees what is counted */
            } else {
                k++;
            }
        }
        if (pass == 0) {
            keep = k;
            if (keep == 0)
                break;
            img->syms = calloc(keep, sizeof *img->syms);
            if (!img->syms)
                return fail(c, LODE_E_NOMEM, "out of memory reading %zu symbols", keep);
        }
    }
    if (too_long)
        lode_log(c->log, LODE_LOG_WARN, LODE_LOGC_IMAGE,
                 "%s: skipped %zu symbols with names longer than %u bytes", c->name, too_long,
                 LODE_IMAGE_MAX_SYMBOL_NAME);
    return LODE_OK;
}

int lodei_image_parse_elf(const uint8_t *buf, size_t len, const char *name,
                          const lode_log_s *log, lode_image_s **out)
{
    elf_ctx_s ctx = {.buf = buf, .len = len, .name = name ? name : "ELF image", .log = log};
    elf_ctx_s *c = &ctx;
    lodei_imgbuild_s b;
    lode_image_s *img = NULL;
    int err = LODE_OK;

    lodei_imgbuild_init(&b, false); /* one piece per program header, for messages */
    if (!out || (!buf && len))
        return fail(c, LODE_E_INVALID_ARG, "no buffer or output given");
    if (len < 4 || buf[0] != 0x7f || buf[1] != 'E' || buf[2] != 'L' || buf[3] != 'F')
        return fail(c, LODE_E_FORMAT,
                    "not an ELF file (no \\x7fELF magic): give an ELF, Intel HEX or raw binary "
                    "image");
    if (len < 16)
        return fail(c, LODE_E_FORMAT,
                    "file too short for an ELF identification (%zu bytes): " ADVICE_TRUNC, len);
    if (buf[EI_CLASS] == ELFCLASS64)
        return fail(c, LODE_E_UNSUPPORTED,
                    "64-bit ELF is not supported: lode loads 32-bit ARM ELF files; build the "
                    "firmware with an ARM Cortex-M toolchain (arm-none-eabi-gcc)");
    if (buf[EI_CLASS] != ELFCLASS32)
        return fail(c, LODE_E_FORMAT, "invalid ELF class %u: " ADVICE_CORRUPT,
                    (unsigned)buf[EI_CLASS]);
    if (buf[EI_DATA] == ELFDATA2MSB)
        return fail(c, LODE_E_UNSUPPORTED,
                    "big-endian ELF is not supported: lode loads little-endian ARM ELF files; "
                    "build the firmware for little-endian ARM");
    if (buf[EI_DATA] != ELFDATA2LSB)
        return fail(c, LODE_E_FORMAT, "invalid ELF data encoding %u: " ADVICE_CORRUPT,
                    (unsigned)buf[EI_DATA]);
    if (buf[EI_VERSION] != EV_CURRENT)
        return fail(c, LODE_E_FORMAT, "invalid ELF version %u: " ADVICE_CORRUPT,
                    (unsigned)buf[EI_VERSION]);
    if (len < EHDR_SIZE)
        return fail(c, LODE_E_FORMAT,
                    "file too short for an ELF header (%zu bytes, need %u): " ADVICE_TRUNC, len,
                    EHDR_SIZE);

    uint16_t e_type = lodei_get_le16(buf + 16);
    uint16_t e_machine = lodei_get_le16(buf + 18);
    uint32_t e_entry = lodei_get_le32(buf + 24);
    uint32_t e_phoff = lodei_get_le32(buf + 28);
    uint32_t e_shoff = lodei_get_le32(buf + 32);
    uint16_t e_phentsize = lodei_get_le16(buf + 42);
    uint32_t e_phnum = lodei_get_le16(buf + 44);
    uint16_t e_shentsize = lodei_get_le16(buf + 46);
    uint16_t e_shnum = lodei_get_le16(buf + 48);

    if (e_machine != EM_ARM && e_machine != EM_AVR)
        return fail(c, LODE_E_UNSUPPORTED,
                    "ELF machine is %s (%u), not ARM (%u) or AVR (%u): this file was not built for a "
                    "microcontroller lode knows; build it with arm-none-eabi-gcc or avr-gcc",
                    machine_name(e_machine), (unsigned)e_machine, EM_ARM, EM_AVR);
    if (e_type == ET_REL)
        return fail(c, LODE_E_UNSUPPORTED,
                    "this is a relocatable object file (ET_REL), not an executable: link it "
                    "first and load the linked .elf");
    if (e_type != ET_EXEC && e_type != ET_DYN)
        return fail(c, LODE_E_UNSUPPORTED,
                    "ELF type %u is not an executable (ET_EXEC): load the linked firmware .elf",
                    (unsigned)e_type);

    err = check_sections(c, e_shoff, e_shentsize, e_shnum);
    if (err)
        return err;

    if (e_phnum == PN_XNUM) { /* the real count is in section 0's sh_info */
        if (c->shnum == 0)
            return fail(c, LODE_E_FORMAT,
                        "program header count is PN_XNUM but there is no section header 0 to "
                        "hold it: " ADVICE_CORRUPT);
        e_phnum = lodei_get_le32(shdr(c, 0) + 28);
    }
    if (e_phnum > 0) {
        if (e_phentsize < PHDR_SIZE)
            return fail(c, LODE_E_FORMAT,
                        "program header entry size is %u bytes, less than %u: " ADVICE_CORRUPT,
                        (unsigned)e_phentsize, PHDR_SIZE);
        if (!in_file(c, e_phoff, (uint64_t)e_phnum * e_phentsize))
            return fail(c, LODE_E_FORMAT,
                        "program header table (offset 0x%x, %u entries of %u bytes) extends past "
                        "the end of the file (%zu bytes): " ADVICE_TRUNC,
                        (unsigned)e_phoff, (unsigned)e_phnum, (unsigned)e_phentsize, len);
    }

    /* Check every loadable program header first, then copy. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < e_phnum; i++) {
        const uint8_t *p = buf + e_phoff + (uint64_t)i * e_phentsize;
        uint32_t p_type = lodei_get_le32(p);
        uint32_t p_offset = lodei_get_le32(p + 4);
        uint32_t p_paddr = lodei_get_le32(p + 12);
        uint32_t p_filesz = lodei_get_le32(p + 16);
        uint32_t p_memsz = lodei_get_le32(p + 20);
        if (p_type != PT_LOAD || p_filesz == 0)
            continue;
        if (p_filesz > p_memsz)
            return fail(c, LODE_E_FORMAT,
                        "program header %u: file size 0x%x is larger than memory size 0x%x: "
                        ADVICE_CORRUPT,
                        (unsigned)i, (unsigned)p_filesz, (unsigned)p_memsz);
        if (!in_file(c, p_offset, p_filesz))
            return fail(c, LODE_E_FORMAT,
                        "program header %u: segment data (offset 0x%x, 0x%x bytes) extends past "
                        "the end of the file (%zu bytes): " ADVICE_TRUNC,
                        (unsigned)i, (unsigned)p_offset, (unsigned)p_filesz, len);
        if ((uint64_t)p_paddr + p_filesz > 0x100000000ull)
            return fail(c, LODE_E_FORMAT,
                        "program header %u: 0x%x bytes at load address 0x%08x run past the end "
                        "of the 32-bit address space: " ADVICE_CORRUPT,
                        (unsigned)i, (unsigned)p_filesz, (unsigned)p_paddr);
        total += p_filesz;
        if (total > LODE_IMAGE_MAX_BYTES)
            return fail(c, LODE_E_NOMEM,
                        "loadable segments add up to more than the %u MiB image limit: this is "
                        "not a microcontroller image, or the file is corrupt",
                        LODE_IMAGE_MAX_BYTES >> 20);
    }
    if (total == 0)
        lode_log(log, LODE_LOG_WARN, LODE_LOGC_IMAGE,
                 "%s: no loadable data (no PT_LOAD program header with file contents)", c->name);

    img = lodei_image_new();
    if (!img) {
        err = fail(c, LODE_E_NOMEM, "out of memory");
        goto out;
    }
    if (lodei_imgbuild_reserve(&b, total) != LODE_OK) {
        err = fail(c, LODE_E_NOMEM, "out of memory for %llu bytes of segment data",
                   (unsigned long long)total);
        goto out;
    }
    for (uint32_t i = 0; i < e_phnum; i++) {
        const uint8_t *p = buf + e_phoff + (uint64_t)i * e_phentsize;
        uint32_t p_filesz = lodei_get_le32(p + 16);
        if (lodei_get_le32(p) != PT_LOAD || p_filesz == 0)
            continue;
        err = lodei_imgbuild_add(&b, lodei_get_le32(p + 12), buf + lodei_get_le32(p + 4),
                                 p_filesz, i);
        if (err) {
            err = fail(c, err, "too many program headers or too much data: " ADVICE_CORRUPT);
            goto out;
        }
    }
    lodei_piece_s a, z;
    err = lodei_imgbuild_finish(&b, img, &a, &z);
    if (err == LODE_E_FORMAT) {
        if (a.tag > z.tag) {
            lodei_piece_s t = a;
            a = z;
            z = t;
        }
        err = fail(c, err,
                   "program header %u (load address 0x%08x-0x%08x) overlaps program header %u "
                   "(0x%08x-0x%08x): fix the linker script so load regions (LMA) do not overlap",
                   (unsigned)z.tag, (unsigned)z.addr, (unsigned)(z.addr + z.len - 1),
                   (unsigned)a.tag, (unsigned)a.addr, (unsigned)(a.addr + a.len - 1));
        goto out;
    }
    if (err) {
        err = fail(c, err, "out of memory");
        goto out;
    }
    lodei_imgbuild_free(&b);

    err = read_symbols(c, img);
    if (err)
        goto out;
    img->entry = e_entry;
    img->has_entry = e_entry != 0; /* gABI: zero means the file has no entry point */
    *out = img;
    return LODE_OK;
out:
    lodei_imgbuild_free(&b);
    lode_image_free(img);
    return err;
}

int lode_image_parse_elf(const uint8_t *buf, size_t len, const lode_log_s *log,
                         lode_image_s **out)
{
    return lodei_image_parse_elf(buf, len, NULL, log, out);
}
