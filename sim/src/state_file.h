/* SPDX-License-Identifier: MIT */
/* Replacing the state file safely (state_file.c), for the save in board.c. */
#ifndef LODE_SIM_STATE_FILE_H
#define LODE_SIM_STATE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A new temporary file beside PATH (its name into tmp), or NULL when PATH may not be
 * replaced (lode_sim_state_check) or the file cannot be made. */
FILE *simi_state_tmp_open(const char *path, char *tmp, size_t tmplen);
/* Close the temporary file and, when ok and PATH may still be replaced, rename it over PATH
 * (which never follows a symlink: the rename replaces the link itself, and the check refuses
 * links anyway). Otherwise the temporary file is removed and LODE_E_IO returned. */
int simi_state_tmp_commit(FILE *f, const char *tmp, const char *path, bool ok);

/* Open PATH for reading the state (after lode_sim_state_check): not through a symlink, never
 * blocking on a FIFO, a regular file only. LODE_OK with *out; LODE_E_INVALID_ARG for what is
 * no state file (also one swapped in since the check), LODE_E_NO_DEVICE when it is missing or
 * empty (a fresh board). */
int simi_state_open_read(const char *path, FILE **out);

#endif
