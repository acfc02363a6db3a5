/* SPDX-License-Identifier: MIT */
/* lode's SAM-BA monitor: see samba_mon.h. Written from the SAM-BA boot chapter of Atmel's SAM
 * datasheets and the Arduino extensions' description (X, Y, Z). */
#include "samba_mon.h"

static const char hexdig[] = "0123456789ABCDEF";

uint16_t samba_crc16(uint16_t crc, uint8_t byte)
{
    crc ^= (uint16_t)(byte << 8);
    for (int i = 0; i < 8; i++)
        crc = (uint16_t)((crc & 0x8000u) ? ((uint32_t)crc << 1) ^ 0x1021u : (uint32_t)crc << 1);
    return crc;
}

static void put(samba_mon_s *m, const char *s, size_t n) { m->ops->put(m->user, (const uint8_t *)s, n); }

static void put_str(samba_mon_s *m, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    put(m, s, n);
}

/* "0x" and `digits` hex digits */
static void put_hex(samba_mon_s *m, uint32_t v, unsigned digits, bool prefix)
{
    char b[10];
    unsigned n = 0;
    if (prefix) {
        b[n++] = '0';
        b[n++] = 'x';
    }
    for (unsigned i = digits; i-- > 0;)
        b[n++] = hexdig[(v >> (4 * i)) & 0xFu];
    put(m, b, n);
}

void samba_mon_init(samba_mon_s *m, const samba_ops_s *ops, void *user)
{
    m->ops = ops;
    m->user = user;
    m->cmd = 0;
    m->arg[0] = m->arg[1] = 0;
    m->narg = 0;
    m->terminal = false;
    m->s_addr = m->s_left = 0;
    m->y_src = 0;
}

bool samba_mon_receiving(const samba_mon_s *m) { return m->s_left != 0; }

void samba_mon_abort(samba_mon_s *m)
{
    m->s_left = 0;
    m->cmd = 0;
}

static void prompt(samba_mon_s *m)
{
    if (m->terminal)
        put_str(m, ">");
}

static void read_cmd(samba_mon_s *m, uint32_t a, unsigned size)
{
    uint32_t v = m->ops->read(m->user, a, size);
    if (m->terminal) {
        put_hex(m, v, size * 2u, true);
        put_str(m, "\n\r");
        return;
    }
    uint8_t b[4];
    for (unsigned i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    m->ops->put(m->user, b, size);
}

static void execute(samba_mon_s *m)
{
    uint32_t a = m->arg[0], n = m->arg[1];
    switch (m->cmd) {
    case 'N':
        m->terminal = false;
        put_str(m, "\n\r");
        break;
    case 'T':
        m->terminal = true;
        put_str(m, "\n\r");
        break;
    case 'V':
        put_str(m, m->ops->version);
        put_str(m, "\n\r");
        break;
    case 'w': read_cmd(m, a & ~3u, 4); break;
    case 'h': read_cmd(m, a & ~1u, 2); break;
    case 'o': read_cmd(m, a, 1); break;
    case 'W': m->ops->write(m->user, a & ~3u, 4, n); break;
    case 'H': m->ops->write(m->user, a & ~1u, 2, n & 0xFFFFu); break;
    case 'O': m->ops->write(m->user, a, 1, n & 0xFFu); break;
    case 'S':
        m->s_addr = a;
        m->s_left = n;
        break;
    case 'R':
        for (uint32_t i = 0; i < n; i++) {
            uint8_t b = (uint8_t)m->ops->read(m->user, a + i, 1);
            m->ops->put(m->user, &b, 1);
        }
        break;
    case 'G': m->ops->go(m->user, a); break;
    case 'X': put_str(m, m->ops->erase_from(m->user, a) == 0 ? "X\n\r" : "E\n\r"); break;
    case 'Y':
        if (n == 0) {
            m->y_src = a;
            put_str(m, "Y\n\r");
        } else {
            put_str(m, m->ops->copy(m->user, a, m->y_src, n) == 0 ? "Y\n\r" : "E\n\r");
        }
        break;
    case 'Z': {
        uint16_t crc = 0;
        for (uint32_t i = 0; i < n; i++)
            crc = samba_crc16(crc, (uint8_t)m->ops->read(m->user, a + i, 1));
        put_str(m, "Z");
        put_hex(m, crc, 8, false);
        put_str(m, "#\n\r");
        break;
    }
    default: break;
    }
    if (m->cmd != 'S' && m->cmd != 'N' && m->cmd != 'V')
        prompt(m);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void samba_mon_byte(samba_mon_s *m, uint8_t c)
{
    if (m->s_left) { /* S data phase: raw bytes (USB CDC) */
        m->ops->write(m->user, m->s_addr++, 1, c);
        m->s_left--;
        return;
    }
    int h = hexval(c);
    if (m->cmd && h >= 0) {
        m->arg[m->narg] = m->arg[m->narg] << 4 | (uint32_t)h;
        return;
    }
    switch (c) {
    case 'N': case 'T': case 'V': case 'w': case 'h': case 'o': case 'W': case 'H': case 'O':
    case 'S': case 'R': case 'G': case 'X': case 'Y': case 'Z':
        m->cmd = (char)c;
        m->arg[0] = m->arg[1] = 0;
        m->narg = 0;
        return;
    case ',':
        if (m->cmd)
            m->narg = 1;
        return;
    case '#':
        if (m->cmd)
            execute(m);
        m->cmd = 0;
        return;
    default:
        return; /* line ends and noise between commands */
    }
}
