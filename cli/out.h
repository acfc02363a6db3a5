/* SPDX-License-Identifier: MIT */
/* Output helpers of the lode command: numbers, hexdump, progress bar, JSON. */
#ifndef LODE_CLI_OUT_H
#define LODE_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parse a number: decimal, 0x hex, with optional K/M suffix (KiB/MiB). */
bool cli_parse_u32(const char *s, uint32_t *out);

/* Classic hexdump: address, 16 bytes, ASCII. */
void cli_hexdump(FILE *f, uint32_t addr, const uint8_t *data, size_t len);

/* Progress bar on stderr when it is a terminal (quiet otherwise). */
typedef struct cli_progress_s {
    bool tty;
    bool active;
    const char *label;
    double t0;
} cli_progress_s;
void cli_progress_init(cli_progress_s *p, bool enabled);
void cli_progress_update(cli_progress_s *p, const char *label, size_t done, size_t total);
void cli_progress_end(cli_progress_s *p);

double cli_now_s(void);
/* "12.3 KiB", "1.50 MiB" */
void cli_fmt_bytes(char *buf, size_t len, double bytes);

/* Minimal JSON writer: values are written as they come; commas handled by the writer. */
typedef struct cli_json_s {
    FILE *f;
    int depth;
    bool need_comma[32];
} cli_json_s;
void cli_json_begin_object(cli_json_s *j, const char *key);
void cli_json_end_object(cli_json_s *j);
void cli_json_begin_array(cli_json_s *j, const char *key);
void cli_json_end_array(cli_json_s *j);
void cli_json_string(cli_json_s *j, const char *key, const char *val);
void cli_json_uint(cli_json_s *j, const char *key, uint64_t val);
void cli_json_hex(cli_json_s *j, const char *key, uint32_t val); /* "0x08000000" as a string */
void cli_json_double(cli_json_s *j, const char *key, double val);
void cli_json_bool(cli_json_s *j, const char *key, bool val);

#endif
