/* SPDX-License-Identifier: MIT */
/* The J-Link USB protocol as bytes (SEGGER RM08001 "J-Link USB Protocol"; facts also in
 * ../shared/PROTOCOLS.md): encoders write one command into a buffer and return its length
 * (or LODE_E_RANGE when it does not fit), decoders check a reply's length and fields and
 * fill their out-parameters only on success. No I/O here: the commands carry no framing, the
 * host knows each reply's length (jlink.c reads exactly that much). Fuzzed by fuzz_jlink. */
#ifndef LODE_PROBE_JLINK_CODEC_H
#define LODE_PROBE_JLINK_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commands (one byte, arguments little-endian) */
#define LODEI_JL_VERSION 0x01u          /* -> u16 length, then that many bytes of text */
#define LODEI_JL_SET_SPEED 0x05u        /* u16 kHz (0xFFFF adaptive); no reply */
#define LODEI_JL_GET_STATE 0x07u        /* -> 8 bytes: u16 VTref mV, TCK, TDI, TDO, TMS, TRES, TRST */
#define LODEI_JL_SET_KS_POWER 0x08u     /* u8 on; no reply */
#define LODEI_JL_GET_SPEEDS 0xC0u       /* -> u32 base frequency Hz, u16 minimum divider */
#define LODEI_JL_SELECT_IF 0xC7u        /* u8: 0xFF -> u32 available mask, 0xFE -> u32 current,
                                           else select -> u32 previous */
#define LODEI_JL_HW_JTAG3 0xCFu         /* 00 u16 nbits, dir[n], out[n] -> in[n], u8 status */
#define LODEI_JL_GET_FREE_MEMORY 0xD4u  /* -> u32 bytes */
#define LODEI_JL_HW_RESET0 0xDCu        /* nRESET low; no reply */
#define LODEI_JL_HW_RESET1 0xDDu        /* nRESET high; no reply */
#define LODEI_JL_GET_CAPS 0xE8u         /* -> u32 */
#define LODEI_JL_SWO 0xEBu              /* sub-command, parameters; see below */
#define LODEI_JL_GET_CAPS_EX 0xEDu      /* -> 32 bytes */
#define LODEI_JL_GET_HW_VERSION 0xF0u   /* -> u32 type*1000000 + major*10000 + minor*100 + rev */

/* GET_CAPS bits */
#define LODEI_JL_CAP_GET_HW_VERSION (1u << 1)
#define LODEI_JL_CAP_ADAPTIVE_CLOCKING (1u << 3)
#define LODEI_JL_CAP_GET_SPEEDS (1u << 9)
#define LODEI_JL_CAP_GET_FREE_MEMORY (1u << 11)
#define LODEI_JL_CAP_GET_HW_INFO (1u << 12)
#define LODEI_JL_CAP_SET_TARGET_POWER (1u << 13)
#define LODEI_JL_CAP_SELECT_IF (1u << 17)
#define LODEI_JL_CAP_SWO (1u << 23)
#define LODEI_JL_CAP_EXT (1u << 31)

#define LODEI_JL_IF_JTAG 0u
#define LODEI_JL_IF_SWD 1u

/* HW_JTAG3 reply status */
#define LODEI_JL_JTAG3_NO_MEMORY 0x06u

/* SWO sub-commands and parameters (each parameter: u8 4, u8 id, u32 value; 0 ends the list) */
#define LODEI_JL_SWO_START 0x64u        /* mode, baud, buffer size -> u32 status */
#define LODEI_JL_SWO_STOP 0x65u         /* -> u32 status */
#define LODEI_JL_SWO_READ 0x66u         /* read size -> u32 status, u32 length, data */
#define LODEI_JL_SWO_GET_SPEEDS 0x6Eu   /* mode -> 28 bytes: u32 length (28), u32 reserved,
                                           base frequency, min divider, max divider, min
                                           prescaler, max prescaler */
#define LODEI_JL_SWO_PARAM_MODE 0x01u
#define LODEI_JL_SWO_PARAM_BAUD 0x02u
#define LODEI_JL_SWO_PARAM_READ_SIZE 0x03u
#define LODEI_JL_SWO_PARAM_BUFFER_SIZE 0x04u
#define LODEI_JL_SWO_MODE_UART 0u
#define LODEI_JL_SWO_ERROR (1u << 31)   /* in a status word */

#define LODEI_JL_JTAG3_MAX_BITS 65528u  /* u16 bit count, whole bytes */

typedef struct lodei_jl_state_s {
    uint16_t vtref_mv;
    uint8_t tck, tdi, tdo, tms, tres, trst;
} lodei_jl_state_s;

typedef struct lodei_jl_swo_speeds_s {
    uint32_t base_hz, min_div, max_div, min_presc, max_presc;
} lodei_jl_swo_speeds_s;

/* One-byte commands (VERSION, GET_CAPS, GET_CAPS_EX, GET_HW_VERSION, GET_FREE_MEMORY,
 * GET_STATE, GET_SPEEDS, HW_RESET0/1). */
int lodei_jl_enc_simple(uint8_t *b, size_t cap, uint8_t cmd);
int lodei_jl_enc_set_speed(uint8_t *b, size_t cap, uint16_t khz);
int lodei_jl_enc_select_if(uint8_t *b, size_t cap, uint8_t arg);
int lodei_jl_enc_set_power(uint8_t *b, size_t cap, bool on);
/* HW_JTAG3 with nbits cycles (1..LODEI_JL_JTAG3_MAX_BITS): 4 + 2*ceil(nbits/8) bytes. */
int lodei_jl_enc_jtag3(uint8_t *b, size_t cap, const uint8_t *dir, const uint8_t *out, size_t nbits);
int lodei_jl_enc_swo_start(uint8_t *b, size_t cap, uint32_t mode, uint32_t baud, uint32_t bufsize);
int lodei_jl_enc_swo_stop(uint8_t *b, size_t cap);
int lodei_jl_enc_swo_read(uint8_t *b, size_t cap, uint32_t size);
int lodei_jl_enc_swo_speeds(uint8_t *b, size_t cap, uint32_t mode);

/* VERSION: the 2-byte length first, then the text (len bytes; NULs and trailing blanks cut,
 * non-printable bytes replaced). */
int lodei_jl_dec_version_len(const uint8_t *r, size_t len, uint16_t *text_len);
int lodei_jl_dec_version_text(const uint8_t *r, size_t len, char *out, size_t cap);
int lodei_jl_dec_u32(const uint8_t *r, size_t len, uint32_t *v);
int lodei_jl_dec_state(const uint8_t *r, size_t len, lodei_jl_state_s *st);
int lodei_jl_dec_speeds(const uint8_t *r, size_t len, uint32_t *base_hz, uint16_t *min_div);
/* HW_JTAG3: n = ceil(nbits/8) bytes of input then the status byte. */
int lodei_jl_dec_jtag3(const uint8_t *r, size_t len, size_t nbits, uint8_t *in);
int lodei_jl_dec_swo_speeds(const uint8_t *r, size_t len, lodei_jl_swo_speeds_s *sp);
/* SWO READ header (8 bytes): status and the length of the data that follows (<= asked). */
int lodei_jl_dec_swo_read_hdr(const uint8_t *r, size_t len, uint32_t asked, uint32_t *status,
                              uint32_t *data_len);

/* "V11.00" style from a GET_HW_VERSION word (type in front for other than J-Link: "Flasher
 * V5.00"). */
void lodei_jl_hw_version_string(uint32_t hw, char *out, size_t cap);
/* Names of the capability bits that are set, comma-separated. */
void lodei_jl_caps_string(uint32_t caps, char *out, size_t cap);

#endif
