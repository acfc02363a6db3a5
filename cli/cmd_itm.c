/* SPDX-License-Identifier: MIT */
/* `lode itm FILE|-`: decode a captured SWO byte stream (ITM/DWT packets, ARMv7-M D4) from a
 * file or stdin. Default: stimulus port text like a console; --raw: every packet as a line;
 * --json: one JSON object per packet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "lode/error.h"
#include "lode/itm.h"
#include "out.h"

#define ITM_MAX_PORTS 256u /* 8 pages of 32 stimulus ports */
#define ITM_LINE_MAX 120u  /* a port's text line is printed when it gets this long */

typedef enum itm_mode_e { MODE_CONSOLE, MODE_RAW, MODE_JSON } itm_mode_e;

typedef struct itm_line_s {
    char text[ITM_LINE_MAX + 8];
    size_t n;
} itm_line_s;

typedef struct itm_cli_s {
    itm_mode_e mode;
    bool filter;                       /* --ports given */
    uint8_t want[ITM_MAX_PORTS / 8];   /* bitmap of the ports to show */
    bool col0;                         /* port 0 text is in the middle of a line */
    itm_line_s lines[ITM_MAX_PORTS];   /* console mode: pending text of ports 1.. */
    uint64_t packets, overflows, invalid, discarded;
    cli_json_s json;
    lode_itm_resync_e resync;
} itm_cli_s;

static void usage(FILE *f, const char *cmd)
{
    (void)cmd;
    fputs("usage: lode itm [--raw | --json] [--ports N,M,...] [--resync sync|next] FILE|-\n"
          "\n"
          "Decode a captured SWO byte stream (ITM and DWT packets, as the ITM sends them in\n"
          "UART/NRZ or Manchester mode, not TPIU-formatted) from FILE, or stdin for '-'.\n"
          "\n"
          "By default the stimulus ports are shown like a console: the bytes written to port 0\n"
          "as text (non-printable ones as \\xNN), 1-byte writes to other ports as\n"
          "\"[portN] text\" lines and 2/4-byte writes to them as \"[portN] 0x12345678\" lines.\n"
          "Timestamps, DWT packets and the like are shown with --raw or --json.\n"
          "\n"
          "options:\n"
          "  --raw              every packet, one line each: stream offset and description\n"
          "  --json             every packet as one JSON object per line\n"
          "  --ports N,M,...    only these stimulus ports (0-255)\n"
          "  --resync MODE      after bytes that break the protocol: 'sync' (default) skips\n"
          "                     to the next synchronization packet; 'next' decodes on at once\n"
          "                     (for streams without periodic synchronization packets)\n",
          f);
}

static bool parse_ports(itm_cli_s *c, const char *s)
{
    char buf[256];
    if (strlen(s) >= sizeof buf || !*s)
        return false;
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint32_t v;
        if (!cli_parse_u32(tok, &v) || v >= ITM_MAX_PORTS)
            return false;
        c->want[v / 8] |= (uint8_t)(1u << (v % 8));
    }
    c->filter = true;
    return true;
}

static bool port_wanted(const itm_cli_s *c, unsigned port)
{
    if (!c->filter)
        return true;
    return port < ITM_MAX_PORTS && (c->want[port / 8] & (1u << (port % 8)));
}

/* Port 0: text straight to stdout. */
static void console_byte0(itm_cli_s *c, uint8_t b)
{
    if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7F))
        fputc(b, stdout);
    else if (b == '\r' || b == 0)
        return;
    else
        printf("\\x%02x", b);
    c->col0 = b != '\n';
}

/* Start a "[portN] ..." line: end an unfinished port 0 line first. */
static void begin_port_line(itm_cli_s *c)
{
    if (c->col0) {
        fputc('\n', stdout);
        c->col0 = false;
    }
}

static void flush_line(itm_cli_s *c, unsigned port)
{
    itm_line_s *l = &c->lines[port];
    if (!l->n)
        return;
    begin_port_line(c);
    printf("[port%u] %.*s\n", port, (int)l->n, l->text);
    l->n = 0;
}

static void console_text(itm_cli_s *c, unsigned port, uint8_t b)
{
    itm_line_s *l = &c->lines[port];
    if (b == '\n') {
        if (!l->n) { /* an empty line is still a line */
            begin_port_line(c);
            printf("[port%u]\n", port);
        }
        flush_line(c, port);
        return;
    }
    if (b == '\r' || b == 0)
        return;
    if (b == '\t' || (b >= 0x20 && b < 0x7F))
        l->text[l->n++] = (char)b;
    else
        l->n += (size_t)snprintf(l->text + l->n, sizeof l->text - l->n, "\\x%02x", b);
    if (l->n >= ITM_LINE_MAX)
        flush_line(c, port);
}

static void console_packet(itm_cli_s *c, const lode_itm_packet_s *p)
{
    if (p->kind != LODE_ITM_PKT_INSTRUMENTATION)
        return;
    if (p->port == 0) {
        for (unsigned i = 0; i < p->size && i < 4; i++)
            console_byte0(c, p->data[i]);
    } else if (p->port < ITM_MAX_PORTS && p->size == 1) {
        console_text(c, p->port, p->data[0]);
    } else {
        if (p->port < ITM_MAX_PORTS)
            flush_line(c, p->port);
        begin_port_line(c);
        printf("[port%u] 0x%0*x\n", p->port, 2 * (p->size <= 4 ? p->size : 4), (unsigned)p->value);
    }
}

static void json_packet(itm_cli_s *c, const lode_itm_packet_s *p)
{
    static const char *const fn_names[4] = {"reserved", "entered", "exited", "returned"};
    static const char *const reasons[] = {"none", "reserved_header", "bad_sync", "too_long",
                                          "truncated"};
    cli_json_s *j = &c->json;
    char text[160];
    lode_itm_describe(p, text, sizeof text);
    cli_json_begin_object(j, NULL);
    cli_json_uint(j, "offset", p->offset);
    cli_json_uint(j, "len", p->len);
    cli_json_string(j, "kind", lode_itm_kind_name(p->kind));
    switch (p->kind) {
    case LODE_ITM_PKT_INSTRUMENTATION:
        cli_json_uint(j, "port", p->port);
        cli_json_uint(j, "size", p->size);
        cli_json_uint(j, "value", p->value);
        break;
    case LODE_ITM_PKT_HARDWARE:
        cli_json_uint(j, "id", p->port);
        cli_json_uint(j, "size", p->size);
        cli_json_uint(j, "value", p->value);
        break;
    case LODE_ITM_PKT_EVENT_COUNTER:
        cli_json_uint(j, "flags", p->value);
        break;
    case LODE_ITM_PKT_EXCEPTION:
        cli_json_uint(j, "exception", p->exception);
        cli_json_string(j, "name", lode_itm_exception_name(p->exception));
        cli_json_string(j, "fn", fn_names[p->fn & 3]);
        break;
    case LODE_ITM_PKT_PC_SAMPLE:
        cli_json_bool(j, "sleep", p->sleep);
        if (!p->sleep)
            cli_json_hex(j, "pc", p->value);
        break;
    case LODE_ITM_PKT_DATA_PC:
        cli_json_uint(j, "comparator", p->comparator);
        cli_json_hex(j, "pc", p->value);
        break;
    case LODE_ITM_PKT_DATA_ADDR:
        cli_json_uint(j, "comparator", p->comparator);
        cli_json_uint(j, "address_offset", p->value);
        break;
    case LODE_ITM_PKT_DATA_VALUE:
        cli_json_uint(j, "comparator", p->comparator);
        cli_json_bool(j, "write", p->write);
        cli_json_uint(j, "size", p->size);
        cli_json_uint(j, "value", p->value);
        break;
    case LODE_ITM_PKT_LOCAL_TS:
        cli_json_uint(j, "ts", p->ts);
        cli_json_uint(j, "tc", (unsigned)p->tc);
        break;
    case LODE_ITM_PKT_GLOBAL_TS1:
    case LODE_ITM_PKT_GLOBAL_TS2:
        cli_json_uint(j, "ts", p->ts);
        cli_json_uint(j, "bits", p->ts_bits);
        cli_json_uint(j, "global_ts", p->global_ts);
        if (p->kind == LODE_ITM_PKT_GLOBAL_TS1) {
            cli_json_bool(j, "wrap", p->wrap);
            cli_json_bool(j, "clkch", p->clkch);
        }
        break;
    case LODE_ITM_PKT_EXTENSION:
        cli_json_bool(j, "sh", p->sh);
        cli_json_uint(j, "value", p->value);
        break;
    case LODE_ITM_PKT_INVALID:
        cli_json_string(j, "reason", (unsigned)p->reason < 5 ? reasons[p->reason] : "?");
        cli_json_uint(j, "header", p->header);
        break;
    default:
        break;
    }
    cli_json_string(j, "text", text);
    cli_json_end_object(j); /* newline at depth 0 */
}

static void on_packet(void *user, const lode_itm_packet_s *p)
{
    itm_cli_s *c = user;
    switch (p->kind) {
    case LODE_ITM_PKT_OVERFLOW: c->overflows++; break;
    case LODE_ITM_PKT_INVALID: c->invalid++; break;
    case LODE_ITM_PKT_DISCARD: c->discarded += p->len; break;
    default: c->packets++; break;
    }
    if (p->kind == LODE_ITM_PKT_INSTRUMENTATION && !port_wanted(c, p->port))
        return;
    if (c->mode == MODE_CONSOLE) {
        console_packet(c, p);
    } else if (c->mode == MODE_JSON) {
        json_packet(c, p);
    } else {
        char text[160];
        lode_itm_describe(p, text, sizeof text);
        printf("%08llx  %s\n", (unsigned long long)p->offset, text);
    }
}

static bool opt_raw(void *user, const char *cmd, char *const *v)
{
    ((itm_cli_s *)user)->mode = MODE_RAW;
    return true;
}

static bool opt_json(void *user, const char *cmd, char *const *v)
{
    ((itm_cli_s *)user)->mode = MODE_JSON;
    return true;
}

static bool opt_ports(void *user, const char *cmd, char *const *v)
{
    if (!parse_ports(user, v[0])) {
        fprintf(stderr, "lode %s: --ports needs a list of port numbers 0-255, e.g. --ports 0,1\n", cmd);
        return false;
    }
    return true;
}

static bool opt_resync(void *user, const char *cmd, char *const *v)
{
    itm_cli_s *c = user;
    if (!strcmp(v[0], "sync")) {
        c->resync = LODE_ITM_RESYNC_SYNC;
    } else if (!strcmp(v[0], "next")) {
        c->resync = LODE_ITM_RESYNC_NEXT;
    } else {
        fprintf(stderr, "lode %s: --resync takes 'sync' or 'next'\n", cmd);
        return false;
    }
    return true;
}

int cli_cmd_itm(cli_ctx_s *cli, int argc, char **argv)
{
    (void)cli;
    itm_cli_s *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "lode itm: out of memory\n");
        return LODE_EXIT_SOFTWARE;
    }
    c->json.f = stdout;
    c->resync = LODE_ITM_RESYNC_SYNC;
    const char *path = NULL;
    int ex = LODE_EXIT_OK;
    const cli_opt_s opts[] = {
        {"--raw", 0, .fn = opt_raw},
        {"--json", 0, .fn = opt_json},
        {"--ports", 1, .fn = opt_ports},
        {"--resync", 1, .fn = opt_resync},
        {NULL, 0, NULL, false, NULL, NULL, NULL, false},
    };
    const cli_args_spec_s spec = {"itm", usage, opts, c, NULL, &path, 1, "one input only", true, false, false, NULL, false};
    int npos, rest;
    int pex = cli_args_parse(&spec, argc, argv, &npos, &rest);
    if (pex >= 0) {
        free(c);
        return pex;
    }
    if (!path) {
        fprintf(stderr, "lode itm: which capture? give a FILE, or '-' for stdin\n");
        usage(stderr, "itm");
        ex = LODE_EXIT_USAGE;
        goto out;
    }

    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lode itm: cannot open '%s': %s\n", path, strerror(errno));
        ex = LODE_EXIT_NOINPUT;
        goto out;
    }
    lode_itm_decoder_s d;
    lode_itm_decoder_init(&d);
    lode_itm_decoder_set_resync(&d, c->resync);
    uint8_t buf[16384];
    uint64_t total = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        total += got;
        lode_itm_feed(&d, buf, got, on_packet, c);
        if (c->mode == MODE_CONSOLE && is_stdin)
            fflush(stdout); /* live capture through a pipe: show text as it comes */
    }
    bool read_err = ferror(f) != 0;
    if (!is_stdin)
        fclose(f);
    lode_itm_flush(&d, on_packet, c);
    if (c->mode == MODE_CONSOLE)
        for (unsigned p = 1; p < ITM_MAX_PORTS; p++)
            flush_line(c, p);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "lode itm: writing the output failed: %s\n", strerror(errno));
        ex = LODE_EXIT_SOFTWARE;
        goto out;
    }
    if (read_err) {
        fprintf(stderr, "lode itm: reading '%s' failed after %llu bytes: %s\n", path,
                (unsigned long long)total, strerror(errno));
        ex = LODE_EXIT_NOINPUT;
        goto out;
    }
    if (c->overflows)
        fprintf(stderr, "lode itm: warning: %llu overflow packet(s): the ITM dropped trace data "
                        "(write less often, or raise the SWO baud rate)\n",
                (unsigned long long)c->overflows);
    if (c->invalid || c->discarded)
        fprintf(stderr, "lode itm: warning: %llu invalid byte sequence(s), %llu byte(s) skipped "
                        "(see --raw; a wrong SWO baud rate or a TPIU-formatted capture?)\n",
                (unsigned long long)c->invalid, (unsigned long long)c->discarded);
    if (total && !c->packets) {
        fprintf(stderr, "lode itm: no ITM packets in %llu bytes of '%s': is it an SWO capture "
                        "in ITM packet format?\n",
                (unsigned long long)total, is_stdin ? "stdin" : path);
        ex = LODE_EXIT_DATAERR;
    }
out:
    free(c);
    return ex;
}
