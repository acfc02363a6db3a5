/* SPDX-License-Identifier: MIT */
/* SEGGER RTT (Real-Time Transfer), host side: find the firmware's control block in target
 * RAM, read its up channels (target -> host) and write its down channels (host -> target)
 * through lode_core_ops_s memory access while the core runs. Written from SEGGER's UM08001
 * description of the control block (see ../shared/PROTOCOLS.md).
 *
 * Control block (32-bit target, little-endian): char acID[16] = "SEGGER RTT\0...",
 * int MaxNumUpBuffers, int MaxNumDownBuffers, then MaxNumUpBuffers up descriptors followed by
 * MaxNumDownBuffers down descriptors, each 24 bytes {sName, pBuffer, SizeOfBuffer, WrOff,
 * RdOff, Flags}. The writer of a ring owns WrOff, the reader owns RdOff; one byte of each ring
 * is always left unused (WrOff == RdOff means empty). The host writes only RdOff of up
 * channels and WrOff (plus the data) of down channels. Flags (skip / trim / block-if-full)
 * are the firmware's business.
 *
 * Everything read from the target is treated as hostile: the block must lie inside the RAM
 * ranges given, every descriptor is checked (buffer inside RAM, size bounded, offsets below
 * the size, buffers not overlapping each other or the block) on attach and again on every
 * poll and write, so a block that the firmware re-initialises, or that is stale after a reset,
 * is detected: the handle detaches and the caller attaches again later.
 *
 * Memory access pattern: lode_rtt_poll reads the control block (header + every descriptor) in
 * one mem_read, then the changed spans of the up buffers with spans closer than
 * LODE_RTT_MERGE_GAP merged into one read, then writes back each changed RdOff (4 bytes).
 * While an up channel is streaming (the last poll found it at least half full) and its buffer
 * follows the control block within LODE_RTT_MERGE_GAP, the buffer is read in the same
 * mem_read as the block: this relies on mem_read reading in ascending address order (true of
 * the MEM-AP's auto-increment and of the simulator's back door), so the buffer bytes are read
 * after the WrOff that covers them. */
#ifndef LODE_RTT_H
#define LODE_RTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/core.h"
#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LODE_RTT_ID "SEGGER RTT"          /* acID, NUL-terminated in the block */
#define LODE_RTT_SYMBOL "_SEGGER_RTT"     /* the ELF symbol of the control block */
#define LODE_RTT_MAX_CHANNELS 16u         /* per direction; more is taken as a corrupt block */
#define LODE_RTT_MAX_BUFFER (1u << 20)    /* larger SizeOfBuffer is taken as corrupt */
#define LODE_RTT_MAX_RANGES 16u
#define LODE_RTT_NAME_MAX 32u             /* channel names kept (incl. NUL); longer: cut */
#define LODE_RTT_MERGE_GAP 128u           /* spans this close are read in one mem_read */
#define LODE_RTT_SCAN_CHUNK (256u * 1024u) /* bytes per mem_read while scanning RAM */
#define LODE_RTT_HEADER_SIZE 24u
#define LODE_RTT_DESC_SIZE 24u

typedef struct lode_rtt_range_s {
    uint32_t addr;
    uint32_t len;
} lode_rtt_range_s;

/* Where the control block may be when only the chip is known: its RAM regions below 4 GiB, at
 * most cap of them, in the database's order. Returns how many. */
struct lode_target_chip_s;
size_t lode_rtt_ranges_for_chip(const struct lode_target_chip_s *chip, lode_rtt_range_s *ranges, size_t cap);

typedef struct lode_rtt_config_s {
    /* Address of the control block (the ELF symbol _SEGGER_RTT); 0 = unknown: scan. */
    uint32_t cb_addr;
    /* The target's RAM (the chip's RAM regions, or `--rtt-scan ADDR LEN`): the control block
     * and every buffer must lie inside one of them; without cb_addr they are scanned for the
     * ID. 1..LODE_RTT_MAX_RANGES ranges, copied. */
    const lode_rtt_range_s *ranges;
    size_t nranges;
    lode_log_s log;
} lode_rtt_config_s;

typedef struct lode_rtt_channel_s {
    char name[LODE_RTT_NAME_MAX]; /* printable ASCII ("" when sName is NULL) */
    uint32_t name_addr;
    uint32_t buffer;              /* pBuffer (0 with size 0: channel not configured) */
    uint32_t size;                /* SizeOfBuffer */
    uint32_t flags;               /* Flags as last read; [1:0] 0 skip, 1 trim, 2 block-if-full */
} lode_rtt_channel_s;

typedef struct lode_rtt_info_s {
    uint32_t cb_addr;
    unsigned num_up;
    unsigned num_down;
    lode_rtt_channel_s up[LODE_RTT_MAX_CHANNELS];
    lode_rtt_channel_s down[LODE_RTT_MAX_CHANNELS];
} lode_rtt_info_s;

typedef struct lode_rtt_stats_s {
    uint64_t bytes_up;     /* delivered to the poll callback */
    uint64_t bytes_down;   /* written into down buffers */
    uint64_t polls;
    uint64_t mem_reads;    /* mem_read calls (scan, attach, poll, write) */
    uint64_t mem_writes;   /* mem_write calls */
    uint64_t read_bytes;   /* bytes moved by those mem_read calls */
    uint64_t attaches;     /* successful attaches */
    uint64_t reinits;      /* times the block was found changed or invalid while attached */
    uint64_t stream_units; /* pipelined units (WrOff read, window read, RdOff write) sent */
} lode_rtt_stats_s;

typedef struct lode_rtt_s lode_rtt_s;

/* Data from up channel `channel`. A poll may call it twice for one channel (ring wrap). */
typedef void (*lode_rtt_data_fn)(void *user, unsigned channel, const uint8_t *data, size_t len);

/* Borrows `core` (it must outlive the handle). No target access. */
int lode_rtt_new(const lode_core_ops_s *core, const lode_rtt_config_s *cfg, lode_rtt_s **out);
void lode_rtt_free(lode_rtt_s *rtt);

/* Find and validate the control block: at cfg->cb_addr when given; otherwise at the address
 * it was last found (one read), then by scanning the RAM ranges for "SEGGER RTT\0" at 4-byte
 * aligned addresses (LODE_RTT_SCAN_CHUNK bytes per read); the first valid candidate wins.
 * LODE_E_NO_DEVICE: no ID found; LODE_E_FORMAT: only invalid or half-initialised blocks
 * (both are normal while the firmware starts: retry later); memory access errors as is. */
int lode_rtt_attach(lode_rtt_s *rtt);
void lode_rtt_detach(lode_rtt_s *rtt);
bool lode_rtt_attached(const lode_rtt_s *rtt);

/* The channels as found (LODE_E_STATE when not attached). */
int lode_rtt_channels(const lode_rtt_s *rtt, lode_rtt_info_s *out);

/* Read what every up channel holds, hand it to `fn` (may be NULL: data dropped), free the
 * space (RdOff). `*bytes` (may be NULL) = bytes delivered. LODE_E_STATE when not attached;
 * LODE_E_FORMAT when the block is no longer valid (re-initialised, overwritten): the handle
 * has detached, attach again later. */
int lode_rtt_poll(lode_rtt_s *rtt, lode_rtt_data_fn fn, void *user, size_t *bytes);

/* Write up to `len` bytes into down channel `channel` as far as there is room (the firmware's
 * RdOff; one byte always unused), then advance WrOff. `*written` may be less than len (0 when
 * the buffer is full). LODE_E_INVALID_ARG for a channel that does not exist or has no buffer;
 * LODE_E_STATE / LODE_E_FORMAT as lode_rtt_poll. */
int lode_rtt_write(lode_rtt_s *rtt, unsigned channel, const void *data, size_t len,
                   size_t *written);

void lode_rtt_stats(const lode_rtt_s *rtt, lode_rtt_stats_s *out);

#ifdef __cplusplus
}
#endif
#endif
