/* SPDX-License-Identifier: MIT */
/* The sam-ba probe (src/boot/samba*.c) against a model of a SAMD21G18A's SAM-BA monitor on the
 * master side of a pseudo-terminal, written from the SAM-BA monitor's command set, the Arduino
 * SAMD bootloader's README (X/Y/Z) and the SAMD21 datasheet (DSU DID, NVMCTRL): USB CDC flavour
 * (raw S/R; the port reached through a link named ttyACM*, with the Arduino bootloaders' bug
 * that corrupts reads of 64 bytes or more) and UART flavour (the auto-baud preamble, XMODEM-CRC);
 * a monitor without the Arduino extensions; a sketch's port, a silent one, an echo. Plus the
 * codec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "boot/samba.h"
#include "samba-applet/applet.h"
#include "lode/board.h"
#include "lode/error.h"
#include "lode/loader.h"
#include "lode/probe.h"
#include "lode/session.h"
#include "lode/stream.h"
#include "test.h"

/* DEV_SAM3X: an ATSAM3X4E's ROM monitor on a UART (flash at 0x80000 in two EEFC banks) */
typedef enum { DEV_ARDUINO, DEV_UART, DEV_PLAIN, DEV_SILENT, DEV_ECHO, DEV_SKETCH, DEV_SAM3X } dev_mode_e;

struct dev_s;
/* called once when the port is seen at 1200 baud (the touch) */
typedef void (*touch_fn)(struct dev_s *d);

#define FLASH_SIZE (256u * 1024u)
#define SRAM_BASE 0x20000000u
#define SRAM_SIZE (32u * 1024u)
#define USER_ROW 0x00804000u
#define SAM3X_FLASH 0x00080000u

typedef struct dev_s {
    int master, slave;
    char path[64];
    char dir[64], link[96];
    dev_mode_e mode;
    uint8_t flash[FLASH_SIZE];
    uint8_t sram[SRAM_SIZE];
    uint8_t user[256];
    uint8_t pagebuf[64];
    uint32_t nvm_addr, ctrlb, status;
    uint32_t ybuf;
    uint8_t latch[2][256];      /* SAM3X: the EEFCs' write buffers */
    uint32_t gpnvm, ewp_pages, applet_calls;
    bool binary;
    unsigned x_cmds, y_copies, z_cmds, rows_erased, r_cmds, max_r, preambles, xm_blocks;
    atomic_uint resets;         /* W has no answer: the test reads it while the model runs */
    atomic_uint hashes;         /* DEV_SKETCH: the '#'s it answered (which port a console reached) */
    touch_fn on_touch;          /* NULL: the touch is ignored */
    touch_fn on_reset;          /* called at the AIRCR system reset (NULL: nothing) */
    atomic_int touches;
    atomic_bool stop;
    uint8_t in[512];            /* what the host sent, read in one go (not a syscall per byte) */
    size_t in_len, in_pos;
    pthread_t th;
} dev_s;

/* The model waits for the host's next byte this long: far longer than any of lode's own waits,
 * so that a host starved of the CPU (two busy loops) is never taken for a silent one — a model
 * that gave up in the middle of S would read the data as commands. dev_stop ends it at once. */
#define DEV_WAIT_MS 120000

static void check_touch(dev_s *d)
{
    struct termios t;
    if (!d->on_touch || tcgetattr(d->master, &t) != 0 || cfgetospeed(&t) != B1200)
        return;
    atomic_fetch_add(&d->touches, 1);
    cfsetospeed(&t, B115200); /* taken: a second look is no second touch */
    cfsetispeed(&t, B115200);
    tcsetattr(d->master, TCSANOW, &t);
    d->on_touch(d);
}

/* The host's next byte, waiting at most ms (< 0: until dev_stop); the touch is looked for
 * whenever what the host sent is used up. */
static int dev_getc(dev_s *d, int ms)
{
    for (int waited = 0; d->in_pos == d->in_len && !atomic_load(&d->stop) && (ms < 0 || waited < ms); waited += 20) {
        check_touch(d);
        struct pollfd p = {d->master, POLLIN, 0};
        if (poll(&p, 1, 20) == 1 && (p.revents & POLLIN)) {
            ssize_t r = read(d->master, d->in, sizeof d->in);
            d->in_pos = 0;
            d->in_len = r > 0 ? (size_t)r : 0;
        }
    }
    return d->in_pos < d->in_len ? d->in[d->in_pos++] : -1;
}

/* Never blocks for good (the master is non-blocking): a host that stopped reading leaves the
 * model waiting only until dev_stop. */
static void dev_put(dev_s *d, const void *b, size_t n)
{
    const uint8_t *p = b;
    while (n && !atomic_load(&d->stop)) {
        ssize_t w = write(d->master, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            abort();
        } else {
            struct pollfd q = {d->master, POLLOUT, 0};
            poll(&q, 1, 20);
        }
    }
}

static uint8_t *mem_at(dev_s *d, uint32_t a)
{
    if (d->mode == DEV_SAM3X)
        return a >= SAM3X_FLASH && a - SAM3X_FLASH < FLASH_SIZE ? &d->flash[a - SAM3X_FLASH] : NULL;
    if (a < FLASH_SIZE)
        return &d->flash[a];
    if (a >= SRAM_BASE && a - SRAM_BASE < SRAM_SIZE)
        return &d->sram[a - SRAM_BASE];
    if (a >= USER_ROW && a - USER_ROW < sizeof d->user)
        return &d->user[a - USER_ROW];
    return NULL;
}

static uint32_t sam3x_read(dev_s *d, uint32_t a)
{
    switch (a) {
    case 0xE000ED00u: return 0x412FC230u; /* Cortex-M3 r2p0 */
    case 0x400E0940u: return 0x285B0961u; /* ATSAM3X4E, version 1 */
    case 0x400E0A08u: case 0x400E0C08u: return 1; /* FSR.FRDY */
    default: break;
    }
    uint8_t *m = mem_at(d, a);
    uint32_t v = 0;
    for (int i = 0; i < 4 && m; i++)
        v |= (uint32_t)m[i] << (8 * i);
    return v;
}

static void sam3x_write(dev_s *d, uint32_t a, uint32_t v)
{
    if ((a == 0x400E0A04u || a == 0x400E0C04u) && v >> 24 == 0x5Au) {
        unsigned bank = a == 0x400E0C04u, cmd = v & 0xFFu, arg = (v >> 8) & 0xFFFFu;
        if (cmd == 0x03 && arg < 512) { /* EWP: erase the page, write the latch */
            uint8_t *pg = &d->flash[bank * (FLASH_SIZE / 2) + arg * 256u];
            memcpy(pg, d->latch[bank], 256);
            memset(d->latch[bank], 0xFF, 256);
            d->ewp_pages++;
        } else if (cmd == 0x0B) {
            d->gpnvm |= 1u << arg;
        }
        return;
    }
    if (a == 0x400E1A00u && v == 0xA5000005u) {
        d->resets++;
        return;
    }
    if (a >= SAM3X_FLASH && a - SAM3X_FLASH < FLASH_SIZE) { /* the latch of the bank */
        uint32_t off = a - SAM3X_FLASH;
        for (int i = 0; i < 4; i++)
            d->latch[off / (FLASH_SIZE / 2)][(off + (uint32_t)i) % 256u] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t reg_read(dev_s *d, uint32_t a)
{
    if (d->mode == DEV_SAM3X)
        return sam3x_read(d, a);
    switch (a) {
    case 0xE000ED00u: return 0x410CC601u; /* Cortex-M0+ r0p1 */
    case 0x41002018u: return 0x10010005u; /* SAMD21G18A */
    case 0x41004004u: return d->ctrlb;
    case 0x41004008u: return 0x00031000u; /* PSZ 3 (64 bytes), NVMP 4096 */
    case 0x41004014u: return 1;           /* READY */
    case 0x41004018u: return d->status;
    case 0x4100401Cu: return d->nvm_addr;
    default: break;
    }
    uint8_t *m = mem_at(d, a);
    uint32_t v = 0;
    for (int i = 0; i < 4 && m; i++) {
        uint8_t *b = mem_at(d, a + (uint32_t)i);
        v |= (uint32_t)(b ? *b : 0) << (8 * i);
    }
    return v;
}

static void reg_write(dev_s *d, uint32_t a, uint32_t v, unsigned size)
{
    if (d->mode == DEV_SAM3X) {
        if (size == 4)
            sam3x_write(d, a, v);
        return;
    }
    if (a == 0x41004000u && size == 4 && (v & 0xFF00u) == 0xA500u) {
        uint32_t cmd = v & 0x7Fu, at = d->nvm_addr * 2u;
        if (cmd == 0x02 && at < FLASH_SIZE) { /* ER */
            if (at < 0x2000u && (d->user[0] & 7u) != 7u) { /* BOOTPROT 8 KiB (value 2) or more */
                d->status |= 0x08u;
                return;
            }
            memset(&d->flash[at & ~255u], 0xFF, 256);
            d->rows_erased++;
        }
        return;
    }
    if (a == 0x41004004u) {
        d->ctrlb = v;
        return;
    }
    if (a == 0x41004018u) {
        d->status &= ~v;
        return;
    }
    if (a == 0x4100401Cu) {
        d->nvm_addr = v & 0x3FFFFFu;
        return;
    }
    if (a == 0xE000ED0Cu && v == 0x05FA0004u) {
        d->resets++;
        if (d->on_reset)
            d->on_reset(d);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint8_t *m = mem_at(d, a + i);
        if (m && (a + i) >= FLASH_SIZE) /* flash takes writes only through NVMCTRL */
            *m = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t rd32(dev_s *d, uint32_t a) { return reg_read(d, a); }

static void wr32(dev_s *d, uint32_t a, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        *mem_at(d, a + i) = (uint8_t)(v >> (8 * i));
}

/* G on lode's applet (what the real one does on the simulated SAMD21, tests/sim): the mailbox's
 * erase or program, when the blob with its two header words is in place */
static void model_applet(dev_s *d, uint32_t addr)
{
    if (addr != APPLET_ADDR || rd32(d, APPLET_ADDR) != APPLET_SP || rd32(d, APPLET_ADDR + 4) != APPLET_ADDR + 9)
        return;
    d->applet_calls++;
    uint32_t cmd = rd32(d, APPLET_MBOX), dst = rd32(d, APPLET_MBOX + 4), src = rd32(d, APPLET_MBOX + 8),
             len = rd32(d, APPLET_MBOX + 12), result = APPLET_OK;
    if (dst >= FLASH_SIZE || len > FLASH_SIZE - dst)
        result = APPLET_E_ARG;
    else if (cmd == APPLET_CMD_ERASE)
        for (uint32_t a = dst; a < dst + len; a += 256) {
            memset(&d->flash[a], 0xFF, 256);
            d->rows_erased++;
        }
    else if (cmd == APPLET_CMD_PROGRAM)
        for (uint32_t i = 0; i < len; i++)
            d->flash[dst + i] &= *mem_at(d, src + i);
    else
        result = APPLET_E_ARG;
    wr32(d, APPLET_MBOX + 16, result);
}

static bool get_n(dev_s *d, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = dev_getc(d, DEV_WAIT_MS);
        if (c < 0)
            return false;
        b[i] = (uint8_t)c;
    }
    return true;
}

static void xm_recv(dev_s *d, uint32_t addr, uint32_t n)
{
    uint8_t c = 'C';
    dev_put(d, &c, 1);
    uint32_t off = 0;
    for (uint8_t blk = 1;;) {
        int h = dev_getc(d, DEV_WAIT_MS);
        if (h == LODEI_XM_EOT) {
            c = LODEI_XM_ACK;
            dev_put(d, &c, 1);
            return;
        }
        uint8_t f[LODEI_SAMBA_XM_FRAME];
        f[0] = (uint8_t)h;
        if (h < 0 || !get_n(d, f + 1, sizeof f - 1))
            return;
        if (!lodei_samba_xm_check(f, blk)) {
            c = LODEI_XM_NAK;
            dev_put(d, &c, 1);
            continue;
        }
        d->xm_blocks++;
        for (uint32_t i = 0; i < 128 && off < n; i++, off++) {
            uint8_t *m = mem_at(d, addr + off);
            if (m && addr + off >= FLASH_SIZE)
                *m = f[3 + i];
        }
        blk++;
        c = LODEI_XM_ACK;
        dev_put(d, &c, 1);
    }
}

static void xm_send(dev_s *d, const uint8_t *data, uint32_t n)
{
    if (dev_getc(d, DEV_WAIT_MS) != 'C')
        return;
    uint8_t blk = 1;
    for (uint32_t off = 0; off < n; blk++) {
        uint8_t f[LODEI_SAMBA_XM_FRAME];
        uint32_t k = n - off < 128 ? n - off : 128;
        lodei_samba_xm_block(blk, data + off, k, 0, f);
        dev_put(d, f, sizeof f);
        if (dev_getc(d, DEV_WAIT_MS) != LODEI_XM_ACK)
            return;
        off += k;
    }
    uint8_t eot = LODEI_XM_EOT;
    dev_put(d, &eot, 1);
    dev_getc(d, DEV_WAIT_MS);
}

static void *dev_main(void *arg)
{
    dev_s *d = arg;
    char cmd[64];
    size_t n = 0;
    int c;
    while ((c = dev_getc(d, -1)) >= 0) {
        uint8_t b = (uint8_t)c;
        if (d->mode == DEV_SILENT)
            continue;
        if (d->mode == DEV_ECHO) {
            dev_put(d, &b, 1);
            continue;
        }
        if (d->mode == DEV_SKETCH) {
            if (b == '#') {
                atomic_fetch_add(&d->hashes, 1);
                dev_put(d, "count 17\r\n", 10);
            }
            continue;
        }
        if (b == 0x80 && n == 0) {
            d->preambles++;
            continue;
        }
        if (b != '#') {
            if (n < sizeof cmd - 1)
                cmd[n++] = (char)b;
            continue;
        }
        cmd[n] = 0;
        n = 0;
        if (!cmd[0])
            continue;
        char op = cmd[0];
        uint32_t a0 = 0, a1 = 0;
        char *comma = NULL;
        a0 = (uint32_t)strtoul(cmd + 1, &comma, 16);
        if (comma && *comma == ',')
            a1 = (uint32_t)strtoul(comma + 1, NULL, 16);
        bool ard = d->mode != DEV_PLAIN && d->mode != DEV_SAM3X;
        switch (op) {
        case 'N': d->binary = true; dev_put(d, "\n\r", 2); break;
        case 'T': d->binary = false; dev_put(d, "\n\r", 2); break;
        case 'V':
            if (ard)
                dev_put(d, "v2.0 [Arduino:XYZ] Dec  7 2026 11:00:00\n\r", 41);
            else
                dev_put(d, "v1.1 Dec 15 2010 19:25:04\n\r", 27);
            break;
        case 'w': case 'h': case 'o': {
            uint32_t v = reg_read(d, a0);
            uint8_t out[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
            dev_put(d, out, op == 'w' ? 4 : op == 'h' ? 2 : 1);
            break;
        }
        case 'W': reg_write(d, a0, a1, 4); break;
        case 'H': reg_write(d, a0, a1, 2); break;
        case 'O': reg_write(d, a0, a1, 1); break;
        case 'S':
            if (d->mode == DEV_UART || d->mode == DEV_SAM3X) {
                xm_recv(d, a0, a1);
            } else {
                for (uint32_t i = 0; i < a1; i++) {
                    int ch = dev_getc(d, DEV_WAIT_MS);
                    uint8_t *m = mem_at(d, a0 + i);
                    if (ch < 0)
                        break;
                    if (m && a0 + i >= FLASH_SIZE)
                        *m = (uint8_t)ch;
                }
            }
            break;
        case 'R': {
            uint8_t *buf = malloc(a1 ? a1 : 1);
            for (uint32_t i = 0; i < a1; i++) {
                uint8_t *m = mem_at(d, a0 + i);
                buf[i] = m ? *m : 0;
            }
            d->r_cmds++;
            d->max_r = a1 > d->max_r ? a1 : d->max_r;
            if (d->mode == DEV_ARDUINO && a1 >= 64)
                buf[a1 - 1] ^= 0x5A; /* the bootloaders' bug with long USB reads */
            if (d->mode == DEV_UART || d->mode == DEV_SAM3X)
                xm_send(d, buf, a1);
            else
                dev_put(d, buf, a1);
            free(buf);
            break;
        }
        case 'G': model_applet(d, a0); break;
        case 'X':
            if (!ard)
                break;
            if (a0 < FLASH_SIZE)
                memset(&d->flash[a0], 0xFF, FLASH_SIZE - a0);
            d->x_cmds++;
            dev_put(d, "X\n\r", 3);
            break;
        case 'Y':
            if (!ard)
                break;
            if (a1 == 0) {
                d->ybuf = a0;
            } else {
                for (uint32_t i = 0; i < a1; i++) {
                    uint8_t *src = mem_at(d, d->ybuf + i);
                    if (a0 + i < FLASH_SIZE && src)
                        d->flash[a0 + i] &= *src;
                }
                d->y_copies++;
            }
            dev_put(d, "Y\n\r", 3);
            break;
        case 'Z': {
            if (!ard)
                break;
            uint16_t crc = 0;
            for (uint32_t i = 0; i < a1; i++) {
                uint8_t *m = mem_at(d, a0 + i);
                uint8_t v = m ? *m : 0;
                crc = lodei_samba_crc16(crc, &v, 1);
            }
            char out[24];
            int k = snprintf(out, sizeof out, "Z%08X#\n\r", crc);
            d->z_cmds++;
            dev_put(d, out, (size_t)k);
            break;
        }
        default: break;
        }
        if (!d->binary && op != 'N')
            dev_put(d, ">", 1);
    }
    return NULL;
}

static dev_s *dev_start(dev_mode_e mode)
{
    dev_s *d = calloc(1, sizeof *d);
    d->mode = mode;
    memset(d->flash, 0xFF, sizeof d->flash);
    memset(d->user, 0xFF, sizeof d->user);
    d->user[0] = 0xFA; /* BOOTPROT 2: 8 KiB */
    for (uint32_t i = 0; i < 0x2000u; i++)
        d->flash[i] = (uint8_t)(i * 13 + 1); /* the bootloader */
    d->ctrlb = 0x80;
    d->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (d->master < 0 || grantpt(d->master) || unlockpt(d->master) ||
        snprintf(d->path, sizeof d->path, "%s", ptsname(d->master)) <= 0 ||
        fcntl(d->master, F_SETFL, fcntl(d->master, F_GETFL) | O_NONBLOCK) != 0)
        abort();
    d->slave = open(d->path, O_RDWR | O_NOCTTY);
    struct termios t;
    tcgetattr(d->slave, &t);
    cfmakeraw(&t);
    tcsetattr(d->slave, TCSANOW, &t);
    snprintf(d->dir, sizeof d->dir, "/tmp/lode-samba-XXXXXX");
    if (!mkdtemp(d->dir))
        abort();
    snprintf(d->link, sizeof d->link, "%s/ttyACM0", d->dir);
    if (symlink(d->path, d->link))
        abort();
    pthread_create(&d->th, NULL, dev_main, d);
    return d;
}

static void dev_stop(dev_s *d)
{
    atomic_store(&d->stop, true);
    pthread_join(d->th, NULL);
    close(d->slave);
    close(d->master);
    unlink(d->link);
    rmdir(d->dir);
    free(d);
}

typedef struct logbuf_s {
    char text[4096];
} logbuf_s;

static void log_fn(void *user, lode_log_level_e level, lode_log_cat_e cat, const char *msg)
{
    (void)cat;
    logbuf_s *l = user;
    if (level <= LODE_LOG_WARN) {
        size_t n = strlen(l->text);
        snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
    }
}

/* the USB flavour through the ttyACM link, the UART one by the pty's own name */
static const char *dev_port(const dev_s *d) { return d->mode == DEV_UART || d->mode == DEV_SAM3X ? d->path : d->link; }

static lode_session_s *session(dev_s *d, const char *extra, const char *chip, logbuf_s *lb, int *rc_out)
{
    lode_probe_registry_s *reg = NULL;
    lode_probe_registry_new(&reg);
    char spec[200];
    snprintf(spec, sizeof spec, "sam-ba:%s%s", dev_port(d), extra ? extra : "");
    lode_session_config_s sc = {.registry = reg, .spec = spec, .chip = chip,
                                .log = {.fn = log_fn, .user = lb, .max_level = LODE_LOG_WARN}};
    lode_session_s *s = NULL;
    int rc = lode_session_open(&sc, &s);
    lode_probe_registry_free(reg); /* the session keeps the probe it opened */
    *rc_out = rc;
    return rc == LODE_OK ? s : NULL;
}

static void test_codec(void)
{
    char cmd[LODEI_SAMBA_CMD_MAX];
    CHECK_EQ(lodei_samba_cmd('W', 0x41004000u, 0xA502u, true, cmd), 19);
    CHECK(!strcmp(cmd, "W41004000,0000A502#"));
    CHECK_EQ(lodei_samba_cmd('G', 0x20004000u, 0, false, cmd), 10);
    CHECK(!strcmp(cmd, "G20004000#"));
    CHECK_EQ(lodei_samba_cmd('N', 0, 0, false, cmd), 2);
    CHECK_EQ(lodei_samba_crc16(0, (const uint8_t *)"123456789", 9), 0x31C3); /* CRC-16/XMODEM check */

    lodei_samba_version_s v;
    const char *ard = "v2.0 [Arduino:XYZ] Mar 19 2018";
    CHECK(lodei_samba_parse_version((const uint8_t *)ard, strlen(ard), &v));
    CHECK(v.arduino && v.ext_x && v.ext_y && v.ext_z);
    CHECK(!strcmp(v.text, ard));
    const char *rom = "v1.1 Dec 15 2010 19:25:04";
    CHECK(lodei_samba_parse_version((const uint8_t *)rom, strlen(rom), &v));
    CHECK(!v.arduino && !v.ext_x && !v.ext_y);
    const char *xonly = "v2.0 [Arduino:X]";
    CHECK(lodei_samba_parse_version((const uint8_t *)xonly, strlen(xonly), &v));
    CHECK(v.ext_x && !v.ext_y && !v.ext_z);
    CHECK(!lodei_samba_parse_version((const uint8_t *)"\n\r", 2, &v));

    size_t used = 0, len = 0;
    uint16_t crc = 0;
    CHECK_EQ(lodei_samba_decode_ack('X', (const uint8_t *)"X\n\r", 3, &used), LODEI_SAMBA_R_DONE);
    CHECK_EQ(used, 3);
    CHECK_EQ(lodei_samba_decode_ack('X', (const uint8_t *)"X\n", 2, &used), LODEI_SAMBA_R_MORE);
    CHECK_EQ(lodei_samba_decode_ack('Y', (const uint8_t *)"X\n\r", 3, &used), LODEI_SAMBA_R_GARBAGE);
    CHECK_EQ(lodei_samba_decode_ack('Y', (const uint8_t *)"E\n\r", 3, &used), LODEI_SAMBA_R_REFUSED);
    CHECK_EQ(lodei_samba_decode_crc((const uint8_t *)"Z0000BEEF#\n\r", 12, &crc, &used), LODEI_SAMBA_R_DONE);
    CHECK_EQ(crc, 0xBEEF);
    CHECK_EQ(used, 12);
    CHECK_EQ(lodei_samba_decode_crc((const uint8_t *)"Z0000BE", 7, &crc, &used), LODEI_SAMBA_R_MORE);
    CHECK_EQ(lodei_samba_decode_crc((const uint8_t *)"Z0001BEEF#\n\r", 12, &crc, &used), LODEI_SAMBA_R_GARBAGE);
    CHECK_EQ(lodei_samba_decode_crc((const uint8_t *)"Z0000BXEF#", 10, &crc, &used), LODEI_SAMBA_R_GARBAGE);
    CHECK_EQ(lodei_samba_decode_line((const uint8_t *)">\n\r", 3, 64, &len, &used), LODEI_SAMBA_R_DONE);
    CHECK(len == 1 && used == 3);
    CHECK_EQ(lodei_samba_decode_line((const uint8_t *)"abc", 3, 2, &len, &used), LODEI_SAMBA_R_GARBAGE);

    uint8_t f[LODEI_SAMBA_XM_FRAME], data[100];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    lodei_samba_xm_block(7, data, sizeof data, 0x1A, f);
    CHECK(f[0] == 1 && f[1] == 7 && f[2] == 0xF8 && f[3 + 99] == 99 && f[3 + 100] == 0x1A);
    CHECK(lodei_samba_xm_check(f, 7));
    CHECK(!lodei_samba_xm_check(f, 8));
    f[50] ^= 1;
    CHECK(!lodei_samba_xm_check(f, 7));

    lodei_samba_chip_s c;
    CHECK(lodei_samba_dsu_chip(0x10010005u, &c));
    CHECK(c.family == LODEI_SAMBA_SAMD21 && !strcmp(c.name, "ATSAMD21G18A"));
    CHECK(lodei_samba_samd21_param(0x00031000u, &c));
    CHECK(c.page_size == 64 && c.row_size == 256 && c.flash_size == 256u * 1024u && c.ram_size == 32768u);
    CHECK(!lodei_samba_samd21_param(0x00030000u, &c));
    CHECK(lodei_samba_dsu_chip(0x10010077u, &c) && strstr(c.name, "DEVSEL 0x77"));
    CHECK(!lodei_samba_dsu_chip(0x20010005u, &c));
    CHECK_EQ(lodei_samba_samd21_bootprot(0xFFFFFFFAu), 8192);
    CHECK_EQ(lodei_samba_samd21_bootprot(0xFFFFFFFFu), 0);
    CHECK_EQ(lodei_samba_samd21_bootprot(0xFFFFFFF8u), 32768);
    CHECK(lodei_samba_sam3x_chip(0x285E0A60u, &c));
    CHECK(!strcmp(c.name, "ATSAM3X8E") && c.flash_start == 0x80000u && c.flash_size == 512u * 1024u);
    CHECK(!lodei_samba_sam3x_chip(0x12345678u, &c));
    CHECK_EQ(lodei_samba_cpuid_part(0x410CC601u), 0xC60);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static void flash_cycle(dev_mode_e mode)
{
    dev_s *d = dev_start(mode);
    logbuf_s lb = {{0}};
    int rc;
    lode_session_s *s = session(d, NULL, NULL, &lb, &rc);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    REQUIRE(rc == LODE_OK);
    lode_probe_info_s info = {0};
    lode_probe_describe(lode_session_probe(s), &info);
    CHECK(strstr(info.description, "ATSAMD21G18A") != NULL);
    CHECK(strstr(info.description, mode == DEV_UART ? "UART, XMODEM" : "USB CDC") != NULL);
    CHECK(strstr(info.detail, "application from 0x2000") != NULL);
    CHECK(!strcmp(lode_probe_chip(lode_session_probe(s)), "ATSAMD21G18A"));
    if (mode == DEV_UART)
        CHECK(d->preambles >= 2);

    static uint8_t img_data[60000];
    fill(img_data, sizeof img_data, 3);
    lode_segment_s seg = {0x2000, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_OK);
    CHECK(memcmp(d->flash + 0x2000, img_data, sizeof img_data) == 0);
    CHECK_EQ(d->flash[0x2000 + sizeof img_data], 0xFF);
    CHECK_EQ(d->rows_erased, 0); /* X from the image's first row: answered when done */
    CHECK_EQ(d->x_cmds, 1);
    CHECK_EQ(d->y_copies, (sizeof img_data + 4095) / 4096);
    CHECK_EQ(d->z_cmds, d->y_copies); /* verified by CRC, not read back */
    CHECK_EQ(res.bytes_verified, 60032); /* whole pages */
    CHECK_EQ(d->flash[0], 1); /* the bootloader untouched */

    /* again with skip_unchanged and one row changed near the start: X from that row, the
     * unchanged rows above it read first and written again */
    unsigned xs = d->x_cmds;
    img_data[0x300] ^= 0xFF;
    lode_flash_opts_s fs = {.verify = true, .skip_unchanged = true};
    CHECK_EQ(lode_session_flash(s, &img, &fs, &res), LODE_OK);
    CHECK_EQ(d->x_cmds, xs + 1);
    CHECK(memcmp(d->flash + 0x2000, img_data, sizeof img_data) == 0);
    /* read back: in pieces below 64 bytes on USB (the bug would flip a byte otherwise) */
    size_t checked = 0;
    CHECK_EQ(lode_session_verify(s, &img, &checked), LODE_OK);
    CHECK_EQ(checked, sizeof img_data);
    if (mode == DEV_ARDUINO)
        CHECK(d->max_r <= 63);
    else
        CHECK(d->xm_blocks >= sizeof img_data / 128);

    /* an image linked at 0 (for a debug probe): refused, nothing written */
    unsigned before = d->y_copies, erased = d->rows_erased;
    lode_segment_s zseg = {0, 1000, img_data};
    lode_image_s zimg = {.segs = &zseg, .nsegs = 1};
    lb.text[0] = 0;
    CHECK_EQ(lode_session_flash(s, &zimg, &fo, &res), LODE_E_RANGE);
    CHECK(strstr(lb.text, "inside the bootloader (0x00000000..0x00001fff, protected by BOOTPROT): link the "
                          "application at 0x2000 (a raw .bin: --base 0x2000)") != NULL);
    CHECK(d->y_copies == before && d->rows_erased == erased);
    /* too large for the flash */
    static uint8_t big[FLASH_SIZE];
    lode_segment_s bseg = {0x2000, FLASH_SIZE - 0x1000, big};
    lode_image_s bimg = {.segs = &bseg, .nsegs = 1};
    lb.text[0] = 0;
    CHECK_EQ(lode_session_flash(s, &bimg, &fo, &res), LODE_E_RANGE);
    CHECK(lb.text[0] != 0);
    CHECK(d->y_copies == before && d->rows_erased == erased);

    /* an erase of a few rows: row by row through NVMCTRL, the rest kept */
    CHECK_EQ(lode_session_erase(s, false, 0x3000, 0x200, &fo, &res), LODE_OK);
    CHECK_EQ(d->rows_erased, 2);
    CHECK(d->flash[0x2FFF] == img_data[0xFFF] && d->flash[0x3000] == 0xFF && d->flash[0x31FF] == 0xFF &&
          d->flash[0x3200] == img_data[0x1200]);
    /* erase everything after the bootloader: one X */
    CHECK_EQ(lode_session_erase(s, true, 0, 0, &fo, &res), LODE_OK);
    CHECK_EQ(d->x_cmds, 3);
    CHECK_EQ(d->flash[0x2000], 0xFF);
    CHECK_EQ(d->flash[0], 1);

    lode_loader_s *l = NULL;
    REQUIRE(lode_session_loader(s, &l) == LODE_OK);
    CHECK_EQ(lode_loader_reset_run(l), LODE_OK);
    lode_session_close(s);
    for (int i = 0; i < 3000 && !d->resets; i++) /* W has no answer: the model takes it when it comes */
        usleep(20000);
    CHECK_EQ(d->resets, 1);
    dev_stop(d);
}

static void test_flash_usb(void) { flash_cycle(DEV_ARDUINO); }
static void test_flash_uart(void) { flash_cycle(DEV_UART); }

/* the touch on a port without a USB identity: the same port then has the monitor */
static void become_monitor(dev_s *d) { d->mode = DEV_ARDUINO; }

static void test_options(void)
{
    dev_s *d = dev_start(DEV_ARDUINO);
    d->user[0] = 0xFF; /* BOOTPROT off */
    logbuf_s lb = {{0}};
    int rc;
    /* a chip that is not this one */
    lode_session_s *s = session(d, NULL, "STM32F103C8", &lb, &rc);
    CHECK_EQ(rc, LODE_E_NO_DEVICE);
    CHECK(strstr(lb.text, "runs on ATSAMD21G18A, not STM32F103C8") != NULL);
    /* an offset that is no row boundary */
    lb.text[0] = 0;
    s = session(d, ":offset=0x2010", NULL, &lb, &rc);
    CHECK_EQ(rc, LODE_E_INVALID_ARG);
    CHECK(strstr(lb.text, "not a row boundary") != NULL);
    lb.text[0] = 0;
    s = session(d, ":offset=zz", NULL, &lb, &rc);
    CHECK_EQ(rc, LODE_E_INVALID_ARG);
    CHECK(strstr(lb.text, "bad probe 'sam-ba:") != NULL);
    /* touch=auto leaves a port that is no sketch's by its USB ID alone */
    d->on_touch = become_monitor;
    lb.text[0] = 0;
    s = session(d, ":touch=auto", NULL, &lb, &rc);
    CHECK_EQ(rc, LODE_OK);
    CHECK_EQ(atomic_load(&d->touches), 0);
    lode_session_close(s);
    d->on_touch = NULL;
    /* a smaller bootloader: offset=0x1000 */
    lb.text[0] = 0;
    s = session(d, ":offset=0x1000", NULL, &lb, &rc);
    REQUIRE(rc == LODE_OK);
    uint8_t img_data[300];
    fill(img_data, sizeof img_data, 9);
    lode_segment_s seg = {0x1000, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_OK);
    CHECK(memcmp(d->flash + 0x1000, img_data, sizeof img_data) == 0);
    lode_session_close(s);
    /* BOOTPROT over the offset wins, with a warning */
    d->user[0] = 0xF9; /* 16 KiB */
    lb.text[0] = 0;
    s = session(d, NULL, NULL, &lb, &rc);
    REQUIRE(rc == LODE_OK);
    CHECK(strstr(lb.text, "BOOTPROT protects the first 16384 bytes") != NULL);
    seg.addr = 0x2000;
    lb.text[0] = 0;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_E_RANGE);
    CHECK(strstr(lb.text, "link the application at 0x4000") != NULL);
    lode_session_close(s);
    dev_stop(d);
}

static void test_plain_monitor(void)
{
    dev_s *d = dev_start(DEV_PLAIN);
    logbuf_s lb = {{0}};
    int rc;
    lode_session_s *s = session(d, NULL, NULL, &lb, &rc);
    REQUIRE(rc == LODE_OK);
    lode_probe_info_s info = {0};
    lode_probe_describe(lode_session_probe(s), &info);
    CHECK(strstr(info.description, "v1.1 Dec 15 2010") != NULL);
    /* reads need no chunks here */
    uint8_t buf[200];
    lode_loader_s *l = NULL;
    REQUIRE(lode_session_loader(s, &l) == LODE_OK);
    CHECK_EQ(lode_loader_read(l, 0, buf, sizeof buf), LODE_OK);
    CHECK(buf[0] == 1 && buf[199] == d->flash[199]);
    CHECK_EQ(d->max_r, 200);
    /* no Y: lode's applet erases and programs (one call per run of rows, one per buffer) */
    static uint8_t img_data[5000];
    fill(img_data, sizeof img_data, 2);
    lode_segment_s seg = {0x3000, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    int frc = lode_session_flash(s, &img, &fo, &res);
    if (frc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    CHECK_EQ(frc, LODE_OK);
    CHECK(memcmp(d->flash + 0x3000, img_data, sizeof img_data) == 0);
    CHECK_EQ(d->rows_erased, (sizeof img_data + 255) / 256);
    CHECK_EQ(d->applet_calls, 1 + (sizeof img_data + 4095) / 4096);
    CHECK_EQ(res.bytes_verified, 5056); /* read back: no Z */
    lode_session_close(s);
    dev_stop(d);
}

static void test_no_sync(void)
{
    static const struct {
        dev_mode_e mode;
        const char *says;
    } cases[] = {
        {DEV_SILENT, "no answer from a SAM-BA monitor on"},
        {DEV_ECHO, "sends back what lode sends (4e 23"},
        {DEV_SKETCH, "that is the sketch's port, not the bootloader's: add :touch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dev_s *d = dev_start(cases[i].mode);
        logbuf_s lb = {{0}};
        int rc;
        lode_session_s *s = session(d, NULL, NULL, &lb, &rc);
        CHECK(s == NULL);
        CHECK_EQ(rc, LODE_E_NO_DEVICE);
        if (!strstr(lb.text, cases[i].says))
            fprintf(stderr, "case %zu said: %s", i, lb.text);
        CHECK(strstr(lb.text, cases[i].says) != NULL);
        CHECK(strchr(lb.text, '\n') == lb.text + strlen(lb.text) - 1); /* one line */
        dev_stop(d);
    }
}

/* The Due's ROM monitor, as --board due words the spec (UART, the application at 0x80000). */
static void test_sam3x(void)
{
    dev_s *d = dev_start(DEV_SAM3X);
    memset(d->flash, 0xFF, sizeof d->flash);
    lode_board_db_s *db = NULL;
    const lode_board_s *due = NULL;
    REQUIRE(lode_board_db_new(NULL, &db) == LODE_OK && lode_board_find(db, "due", &due) == LODE_OK);
    char spec[200];
    REQUIRE(lode_board_probe_spec(due, d->path, spec, sizeof spec) == LODE_OK);
    lode_board_db_free(db);
    logbuf_s lb = {{0}};
    int rc;
    lode_session_s *s = session(d, spec + strlen("sam-ba:") + strlen(d->path), "ATSAM3X4E", &lb, &rc);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    REQUIRE(rc == LODE_OK);
    lode_probe_info_s info = {0};
    lode_probe_describe(lode_session_probe(s), &info);
    CHECK(strstr(info.description, "ATSAM3X4E") && strstr(info.description, "UART, XMODEM"));
    CHECK(strstr(info.detail, "flash 0x00080000..0x000bffff") != NULL);
    static uint8_t img_data[3000];
    fill(img_data, sizeof img_data, 1);
    /* into both banks: across 0xA0000 */
    lode_segment_s seg = {0x9F800, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_OK);
    CHECK(memcmp(d->flash + 0x1F800, img_data, sizeof img_data) == 0);
    CHECK_EQ(d->ewp_pages, (sizeof img_data + 255) / 256);
    CHECK_EQ(res.bytes_verified, 3072);
    lb.text[0] = 0;
    CHECK_EQ(lode_session_erase(s, true, 0, 0, &fo, &res), LODE_E_INVALID_ARG);
    CHECK(strstr(lb.text, "erased page by page as it is written") != NULL);
    lode_loader_s *l = NULL;
    REQUIRE(lode_session_loader(s, &l) == LODE_OK);
    CHECK_EQ(lode_loader_reset_run(l), LODE_OK);
    lode_session_close(s);
    for (int i = 0; i < 3000 && !d->resets; i++)
        usleep(20000);
    CHECK_EQ(d->gpnvm, 2); /* GPNVM1: boot from flash */
    CHECK_EQ(d->resets, 1);
    dev_stop(d);
}


static void test_touch_in_place(void)
{
    dev_s *d = dev_start(DEV_SKETCH);
    d->on_touch = become_monitor;
    logbuf_s lb = {{0}};
    int rc;
    lode_session_s *s = session(d, ":touch", NULL, &lb, &rc);
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    REQUIRE(rc == LODE_OK);
    CHECK_EQ(atomic_load(&d->touches), 1);
    uint8_t img_data[512];
    fill(img_data, sizeof img_data, 5);
    lode_segment_s seg = {0x2000, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_OK);
    CHECK(memcmp(d->flash + 0x2000, img_data, sizeof img_data) == 0);
    lode_session_close(s);
    dev_stop(d);
}

/* ---- a sysfs tree: the sketch's port is USB 2341:804d, the bootloader comes up as 2341:004d on
 * another port (LODE_SYSFS_ROOT; the layout lode/serial_usb.h reads) */
static char sysroot[64];

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void add_tty(const char *devpath, unsigned vid, unsigned pid)
{
    char name[64], dir[400], cls[400], buf[1024], v[64];
    snprintf(name, sizeof name, "%s", devpath + 5); /* "pts/N" */
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '!';
    snprintf(dir, sizeof dir, "%s/devices/usb1/1-%s", sysroot, name);
    snprintf(buf, sizeof buf, "mkdir -p '%s/1-%s:1.0' '%s/class/tty/%s'", dir, name, sysroot, name);
    if (system(buf) != 0)
        abort();
    snprintf(v, sizeof v, "%04x\n", vid);
    snprintf(buf, sizeof buf, "%s/idVendor", dir);
    put_file(buf, v);
    snprintf(v, sizeof v, "%04x\n", pid);
    snprintf(buf, sizeof buf, "%s/idProduct", dir);
    put_file(buf, v);
    snprintf(cls, sizeof cls, "%s/class/tty/%s", sysroot, name);
    snprintf(buf, sizeof buf, "%s/uevent", cls);
    snprintf(v, sizeof v, "MAJOR=136\nDEVNAME=%s\n", devpath + 5);
    put_file(buf, v);
    snprintf(buf, sizeof buf, "%s/device", cls);
    snprintf(v, sizeof v, "%.40s", ""); /* unused */
    char target[600];
    snprintf(target, sizeof target, "%s/1-%s:1.0", dir, name);
    if (symlink(target, buf) != 0)
        abort();
}

static void remove_tty(const char *devpath)
{
    char name[64], buf[400];
    snprintf(name, sizeof name, "%s", devpath + 5);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '!';
    snprintf(buf, sizeof buf, "rm -rf '%s/class/tty/%s'", sysroot, name);
    if (system(buf) != 0)
        abort();
}

static dev_s *boot_dev; /* the bootloader's port after the touch */
static dev_s *app_dev;  /* the sketch's port after the reset */

/* As on USB, the port that goes is gone before the one that comes is there: a search that
 * finds the new port never finds the old one beside it. */
static void back_to_sketch(dev_s *d)
{
    remove_tty(d->path);
    add_tty(app_dev->path, 0x2341, 0x804d);
}

static void reenumerate(dev_s *d)
{
    remove_tty(d->path);
    add_tty(boot_dev->path, 0x2341, 0x004d);
}

static void test_touch_usb(void)
{
    snprintf(sysroot, sizeof sysroot, "/tmp/lode-samba-sys-XXXXXX");
    REQUIRE(mkdtemp(sysroot) != NULL);
    setenv("LODE_SYSFS_ROOT", sysroot, 1);
    dev_s *sketch = dev_start(DEV_SKETCH);
    boot_dev = dev_start(DEV_ARDUINO);
    add_tty(sketch->path, 0x2341, 0x804d);
    sketch->on_touch = reenumerate;
    logbuf_s lb = {{0}};
    int rc;
    /* without :touch: named, and refused without a byte sent */
    lode_session_s *s = session(sketch, ":usb", NULL, &lb, &rc);
    CHECK_EQ(rc, LODE_E_NO_DEVICE);
    CHECK(strstr(lb.text, "is the port of the sketch running on the Arduino Zero (ATSAMD21G18A; native USB port, "
                          "SAM-BA bootloader at 0x0000) (USB 2341:804d), not of its bootloader: add :touch") != NULL);
    CHECK_EQ(atomic_load(&sketch->touches), 0);
    lb.text[0] = 0;
    s = session(sketch, ":usb:touch=auto", NULL, &lb, &rc); /* --board zero's option: this port is a sketch's */
    if (rc != LODE_OK)
        fprintf(stderr, "%s", lb.text);
    REQUIRE(rc == LODE_OK);
    CHECK_EQ(atomic_load(&sketch->touches), 1);
    lode_probe_info_s info = {0};
    lode_probe_describe(lode_session_probe(s), &info);
    CHECK(strstr(info.description, boot_dev->path) != NULL); /* the bootloader's port */
    uint8_t img_data[300];
    fill(img_data, sizeof img_data, 11);
    lode_segment_s seg = {0x2000, sizeof img_data, img_data};
    lode_image_s img = {.segs = &seg, .nsegs = 1};
    lode_flash_opts_s fo = {.verify = true};
    lode_flash_result_s res;
    CHECK_EQ(lode_session_flash(s, &img, &fo, &res), LODE_OK);
    CHECK(memcmp(boot_dev->flash + 0x2000, img_data, sizeof img_data) == 0);
    /* the console: the reset takes the bootloader's port away, the sketch's comes back */
    app_dev = dev_start(DEV_SKETCH);
    boot_dev->on_reset = back_to_sketch;
    lode_stream_s *con = NULL;
    unsigned sketch_hashes = atomic_load(&sketch->hashes);
    CHECK_EQ(lode_probe_console(lode_session_probe(s), &con), LODE_OK);
    /* the sketch's port comes back only in the model's reset (back_to_sketch): a console that
     * found it came after the reset, so no wait here */
    CHECK_EQ(atomic_load(&boot_dev->resets), 1);
    char said[16] = {0};
    if (con) {
        CHECK_EQ(lode_stream_write(con, "#", 1), LODE_OK);
        CHECK_EQ(lode_stream_read_exact(con, said, 10, 60000), LODE_OK);
        CHECK(!strcmp(said, "count 17\r\n"));
    }
    /* ... and it is the new sketch's port, not the one the touch took away */
    CHECK_EQ(atomic_load(&app_dev->hashes), 1);
    CHECK_EQ(atomic_load(&sketch->hashes), sketch_hashes);
    lode_session_close(s);
    dev_stop(sketch);
    dev_stop(boot_dev);
    dev_stop(app_dev);
    unsetenv("LODE_SYSFS_ROOT");
    char buf[100];
    snprintf(buf, sizeof buf, "rm -rf '%s'", sysroot);
    CHECK(system(buf) == 0);
}

int main(void)
{
    RUN_TEST(test_codec);
    RUN_TEST(test_flash_usb);
    RUN_TEST(test_flash_uart);
    RUN_TEST(test_options);
    RUN_TEST(test_plain_monitor);
    RUN_TEST(test_no_sync);
    RUN_TEST(test_sam3x);
    RUN_TEST(test_touch_in_place);
    RUN_TEST(test_touch_usb);
    return TEST_DONE();
}
