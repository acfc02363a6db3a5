/* SPDX-License-Identifier: MIT */
/* CMSIS-DAP command encoding and reply decoding: byte arrays in, byte arrays out, no I/O.
 * Written from the ARM CMSIS-DAP command reference (DAP_Info ... DAP_ExecuteCommands).
 *
 * Encoders write one command at buf[0..] and return its length (> 0), or LODE_E_NOMEM when it
 * does not fit `cap`, or LODE_E_INVALID_ARG. Several commands can be concatenated after a
 * lodei_dap_enc_multi() header (DAP_ExecuteCommands / DAP_QueueCommands).
 *
 * Decoders check the reply's length, its echoed command id and (where the reply has one)
 * its status byte before they use anything, and return LODE_E_PROTOCOL with one log line
 * otherwise. Out-parameters are written only on success. `*used` (may be NULL) receives the
 * bytes the reply occupies, so the replies inside an ExecuteCommands reply can be walked.
 * Bytes after a reply are ignored (HID reports are zero-padded to the report size). */
#ifndef LODE_PROBE_DAP_CODEC_H
#define LODE_PROBE_DAP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/dap.h"
#include "lode/log.h"

/* Command ids */
enum {
    LODEI_DAP_INFO = 0x00,
    LODEI_DAP_HOST_STATUS = 0x01,
    LODEI_DAP_CONNECT = 0x02,
    LODEI_DAP_DISCONNECT = 0x03,
    LODEI_DAP_TRANSFER_CONFIGURE = 0x04,
    LODEI_DAP_TRANSFER = 0x05,
    LODEI_DAP_TRANSFER_BLOCK = 0x06,
    LODEI_DAP_TRANSFER_ABORT = 0x07,
    LODEI_DAP_WRITE_ABORT = 0x08,
    LODEI_DAP_DELAY = 0x09,
    LODEI_DAP_RESET_TARGET = 0x0A,
    LODEI_DAP_SWJ_PINS = 0x10,
    LODEI_DAP_SWJ_CLOCK = 0x11,
    LODEI_DAP_SWJ_SEQUENCE = 0x12,
    LODEI_DAP_SWD_CONFIGURE = 0x13,
    LODEI_DAP_SWO_TRANSPORT = 0x17,
    LODEI_DAP_SWO_MODE = 0x18,
    LODEI_DAP_SWO_BAUDRATE = 0x19,
    LODEI_DAP_SWO_CONTROL = 0x1A,
    LODEI_DAP_SWO_STATUS = 0x1B,
    LODEI_DAP_SWO_DATA = 0x1C,
    LODEI_DAP_QUEUE_COMMANDS = 0x7E,
    LODEI_DAP_EXECUTE_COMMANDS = 0x7F,
    LODEI_DAP_INVALID = 0xFF, /* the reply to a command the probe does not implement */
};

/* Status byte */
#define LODEI_DAP_STATUS_OK 0x00u
#define LODEI_DAP_STATUS_ERROR 0xFFu

/* DAP_Info ids */
enum {
    LODEI_DAP_ID_VENDOR = 0x01,
    LODEI_DAP_ID_PRODUCT = 0x02,
    LODEI_DAP_ID_SERIAL = 0x03,
    LODEI_DAP_ID_PROTOCOL_VERSION = 0x04,
    LODEI_DAP_ID_TARGET_VENDOR = 0x05,
    LODEI_DAP_ID_TARGET_NAME = 0x06,
    LODEI_DAP_ID_BOARD_VENDOR = 0x07,
    LODEI_DAP_ID_BOARD_NAME = 0x08,
    LODEI_DAP_ID_FW_VERSION = 0x09,
    LODEI_DAP_ID_CAPABILITIES = 0xF0,
    LODEI_DAP_ID_TIMER = 0xF1,
    LODEI_DAP_ID_SWO_BUFFER = 0xFD,
    LODEI_DAP_ID_PACKET_COUNT = 0xFE,
    LODEI_DAP_ID_PACKET_SIZE = 0xFF,
};

/* DAP_Connect ports */
#define LODEI_DAP_PORT_DEFAULT 0u
#define LODEI_DAP_PORT_SWD 1u
#define LODEI_DAP_PORT_JTAG 2u

/* Transfer request bits beyond lode/dap.h's APnDP / RnW / A[3:2] */
#define LODEI_DAP_REQ_MATCH_VALUE 0x10u /* read: data = value to match, no read data back */
#define LODEI_DAP_REQ_MATCH_MASK 0x20u  /* write: data = the match mask (no wire transfer) */
#define LODEI_DAP_REQ_TIMESTAMP 0x80u   /* not supported by this codec */

/* Transfer response bits */
#define LODEI_DAP_RESP_ACK_MASK 0x07u
#define LODEI_DAP_RESP_PROTOCOL_ERROR 0x08u
#define LODEI_DAP_RESP_MISMATCH 0x10u

/* SWJ_Pins bits */
#define LODEI_DAP_PIN_SWCLK 0x01u
#define LODEI_DAP_PIN_SWDIO 0x02u
#define LODEI_DAP_PIN_TDI 0x04u
#define LODEI_DAP_PIN_TDO 0x08u
#define LODEI_DAP_PIN_NTRST 0x20u
#define LODEI_DAP_PIN_NRESET 0x80u

/* Largest packet this code handles (a probe reporting more is used with this size). */
#define LODEI_DAP_PACKET_MAX 4096u
/* Smallest packet size a probe may report and still be usable (HID full speed is 64). */
#define LODEI_DAP_PACKET_MIN 16u

/* ---- encoders -------------------------------------------------------------------------- */
int lodei_dap_enc_info(uint8_t *buf, size_t cap, uint8_t id);
int lodei_dap_enc_host_status(uint8_t *buf, size_t cap, uint8_t type, uint8_t status);
int lodei_dap_enc_connect(uint8_t *buf, size_t cap, uint8_t port);
int lodei_dap_enc_disconnect(uint8_t *buf, size_t cap);
int lodei_dap_enc_transfer_configure(uint8_t *buf, size_t cap, uint8_t idle_cycles,
                                     uint16_t wait_retry, uint16_t match_retry);
/* 1..255 transfers; uses x[i].req and x[i].wdata (writes, match value, match mask). */
int lodei_dap_enc_transfer(uint8_t *buf, size_t cap, uint8_t dap_index, const lode_dap_xfer_s *x,
                           size_t n);
/* 1..65535 words of one register; `wdata` (n words) for writes, NULL for reads. */
int lodei_dap_enc_transfer_block(uint8_t *buf, size_t cap, uint8_t dap_index, uint8_t req,
                                 const uint32_t *wdata, size_t n);
int lodei_dap_enc_transfer_abort(uint8_t *buf, size_t cap);
int lodei_dap_enc_write_abort(uint8_t *buf, size_t cap, uint8_t dap_index, uint32_t value);
int lodei_dap_enc_delay(uint8_t *buf, size_t cap, uint16_t us);
int lodei_dap_enc_reset_target(uint8_t *buf, size_t cap);
int lodei_dap_enc_swj_pins(uint8_t *buf, size_t cap, uint8_t output, uint8_t select,
                           uint32_t wait_us);
int lodei_dap_enc_swj_clock(uint8_t *buf, size_t cap, uint32_t hz);
/* SWO (CMSIS-DAP v1.1+): transport (0 none, 1 DAP_SWO_Data), mode (0 off, 1 UART,
 * 2 Manchester), baud rate, control (0 stop, 1 start), status, data (up to `max` bytes). */
int lodei_dap_enc_swo_u8(uint8_t *buf, size_t cap, uint8_t cmd, uint8_t value);
int lodei_dap_enc_swo_baudrate(uint8_t *buf, size_t cap, uint32_t baud);
int lodei_dap_enc_swo_data(uint8_t *buf, size_t cap, uint16_t max);
/* DAP_SWO_Baudrate reply: the baud rate the probe set (0: not possible) */
int lodei_dap_dec_swo_baudrate(const uint8_t *r, size_t len, const lode_log_s *log, uint32_t *baud);
/* DAP_SWO_Data reply: trace status, and the data (pointer into r, *n bytes) */
int lodei_dap_dec_swo_data(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *status,
                           const uint8_t **data, size_t *n);
/* 1..256 bits, LSB of data[0] first. */
int lodei_dap_enc_swj_sequence(uint8_t *buf, size_t cap, unsigned bits, const uint8_t *data);
/* cfg bits 1:0 = turnaround - 1, bit 2 = always generate a data phase. */
int lodei_dap_enc_swd_configure(uint8_t *buf, size_t cap, uint8_t cfg);
/* The 2-byte header of DAP_ExecuteCommands (0x7F) or DAP_QueueCommands (0x7E). */
int lodei_dap_enc_multi(uint8_t *buf, size_t cap, uint8_t cmd, uint8_t num);

/* ---- decoders ------------------------------------------------------------------------- */
/* Replies of the form `cmd status`: HostStatus, Disconnect, TransferConfigure, WriteABORT,
 * Delay, SWJ_Clock, SWJ_Sequence, SWD_Configure. Status 0xFF -> LODE_E_PROTOCOL. */
int lodei_dap_dec_status(const uint8_t *r, size_t len, uint8_t cmd, const lode_log_s *log,
                         size_t *used);
/* DAP_Info: *data and *dlen point into r (dlen 0 = the probe does not have this item). */
int lodei_dap_dec_info(const uint8_t *r, size_t len, uint8_t id, const lode_log_s *log,
                       const uint8_t **data, size_t *dlen, size_t *used);
/* Typed Info helpers (each decodes a whole Info reply for `id`). A string reply is copied
 * up to its NUL, truncated to cap-1 characters, always terminated; an absent item is "". */
int lodei_dap_dec_info_string(const uint8_t *r, size_t len, uint8_t id, const lode_log_s *log,
                              char *out, size_t cap);
int lodei_dap_dec_info_caps(const uint8_t *r, size_t len, const lode_log_s *log, uint16_t *caps);
int lodei_dap_dec_info_packet_count(const uint8_t *r, size_t len, const lode_log_s *log,
                                    uint8_t *count);
int lodei_dap_dec_info_packet_size(const uint8_t *r, size_t len, const lode_log_s *log,
                                   uint16_t *size);
/* DAP_Connect: the port the probe connected (0 = initialisation failed; not an error here). */
int lodei_dap_dec_connect(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *port,
                          size_t *used);
int lodei_dap_dec_swj_pins(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *pins,
                           size_t *used);
/* DAP_ResetTarget: status must be OK; *execute = 1 if a device-specific sequence ran. */
int lodei_dap_dec_reset_target(const uint8_t *r, size_t len, const lode_log_s *log,
                               uint8_t *execute, size_t *used);

/* What a Transfer / TransferBlock reply says. The firmware semantics (AP reads posted on the
 * wire, the probe fetching the value with the next AP read or an RDBUFF read, and checking
 * the last write with an RDBUFF read) make one transfer "in doubt" when a batch fails:
 *  - `done` transfers completed and their read values were delivered;
 *  - `indoubt`: transfer `done` went out on the wire and was ACKed, but the probe could not
 *    deliver its value (a posted AP read) or confirm it (the final write). A host can fetch
 *    the value / confirm the write with a DP RDBUFF read; it must not repeat the transfer.
 *  - `ack` is the ACK that stopped the batch (OK if none did). */
typedef struct lodei_dap_xfer_result_s {
    size_t count;            /* the count field of the reply */
    uint8_t resp;            /* the raw response byte */
    lode_dap_ack_e ack;      /* OK / WAIT / FAULT / NONE (no ACK, protocol error, bad value) */
    bool protocol_error;     /* response bit 3 (SWD parity error on read data) */
    bool mismatch;           /* response bit 4 (value match retries exhausted) */
    size_t done;
    bool indoubt;
} lodei_dap_xfer_result_s;

/* DAP_Transfer reply to the request encoded from x[0..n). On success the read values of the
 * first res->done transfers go to x[i].rdata (where not NULL). */
int lodei_dap_dec_transfer(const uint8_t *r, size_t len, const lode_dap_xfer_s *x, size_t n,
                           const lode_log_s *log, lodei_dap_xfer_result_s *res, size_t *used);
/* DAP_TransferBlock reply to a request of n words; for reads the res->done words go to
 * rdata[0..done) (rdata may be NULL for writes). For AP block reads the firmware counts a
 * word when its value is delivered, so `indoubt` is set only for writes (last write
 * unchecked) and for AP reads with count >= 1 (the next word waits in RDBUFF); an AP block
 * read stopped with count 0 is ambiguous (first read not issued, or issued and its value
 * lost) and sets neither. */
int lodei_dap_dec_transfer_block(const uint8_t *r, size_t len, uint8_t req, size_t n,
                                 const lode_log_s *log, uint32_t *rdata,
                                 lodei_dap_xfer_result_s *res, size_t *used);
/* DAP_ExecuteCommands / QueueCommands reply header (`7F num`): *num = commands executed;
 * the sub-replies follow at r + 2. */
int lodei_dap_dec_multi(const uint8_t *r, size_t len, const lode_log_s *log, uint8_t *num,
                        size_t *used);

/* ---- planning --------------------------------------------------------------------------- */
/* Request / reply bytes one transfer adds to a Transfer command. */
size_t lodei_dap_xfer_req_bytes(uint8_t req);
size_t lodei_dap_xfer_resp_bytes(uint8_t req);
/* How many of x[0..n) fit one DAP_Transfer for this packet size: request bytes
 * (3 + per transfer 1 + 4 with data) and reply bytes (3 + 4 per read value) both within
 * packet_size, at most 255. 0 only when n == 0 or the packet is too small for one. */
size_t lodei_dap_plan_transfer(const lode_dap_xfer_s *x, size_t n, size_t packet_size);
/* Most words one DAP_TransferBlock carries for this packet size (reads: reply 4 + 4n bytes;
 * writes: request 5 + 4n bytes), at most 65535. */
size_t lodei_dap_block_max(size_t packet_size, bool rnw);

/* A name for a command id, for log messages. */
const char *lodei_dap_cmd_name(uint8_t cmd);

#endif
