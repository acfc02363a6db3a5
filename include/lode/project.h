/* SPDX-License-Identifier: MIT */
/* lode.yaml: a project's defaults for the target options, found by walking up from the
 * current directory. Precedence (the CLI's): command-line flags, then the environment
 * (LODE_PROBE, LODE_CHIP, LODE_SPEED), then this file.
 *
 *     # lode.yaml
 *     probe: sim                 # as --probe
 *     chip: STM32F103C8          # as --chip
 *     board: uno                 # as --board (its chip, probe kind and baud)
 *     speed: 4M                  # as --speed (Hz; K and M suffixes)
 *     chip-description: targets/MyChip.yaml   # as --chip-description (relative to this file)
 */
#ifndef LODE_PROJECT_H
#define LODE_PROJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LODE_PROJECT_FILE "lode.yaml"
#define LODE_PROJECT_MAX_FILE (64u * 1024u) /* a larger lode.yaml is refused */

typedef struct lode_project_s {
    char probe[256];              /* "" when not given */
    char chip[128];
    char board[64];               /* a board of lode/board.h's database ("uno") */
    char chip_description[1024];  /* resolved against the file's directory */
    uint32_t speed_hz;            /* 0 when not given */
} lode_project_s;

/* Parse a lode.yaml held in memory: a mapping of the keys above to text values. `name` names
 * it in messages, `dir` is what a relative chip-description is resolved against (NULL: left
 * as written). LODE_OK, or LODE_E_FORMAT with one error message (file:line: what is wrong
 * and what to do) through `log`; *out is written only on success. */
int lode_project_parse(const char *text, size_t len, const char *name, const char *dir, const lode_log_s *log,
                       lode_project_s *out);
/* Find lode.yaml in `dir` or the nearest parent that has one, parse it. LODE_OK (path of the
 * file in `path`), LODE_E_NO_DEVICE when no directory up to / has one (*out zeroed),
 * LODE_E_FORMAT / LODE_E_IO with one message. */
int lode_project_find_load(const char *dir, const lode_log_s *log, char *path, size_t pathlen,
                           lode_project_s *out);
/* "4000000", "4000k", "4M" (K = 1000): Hz. false if malformed, 0 or above 4 GHz. */
bool lode_project_parse_hz(const char *s, uint32_t *hz);

#ifdef __cplusplus
}
#endif
#endif
