/* SPDX-License-Identifier: MIT */
/* Moving bytes to and from a probe: USB bulk (libusb), USB HID (hidapi), or in-process (the
 * simulated probes). Protocol code sees only this interface. */
#ifndef LODE_TRANSPORT_H
#define LODE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "lode/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lode_transport_s lode_transport_s;

typedef enum lode_transport_kind_e {
    LODE_TRANSPORT_USB_BULK = 0, /* CMSIS-DAP v2 */
    LODE_TRANSPORT_USB_HID,      /* CMSIS-DAP v1 */
    LODE_TRANSPORT_INPROC,       /* simulated probe in this process */
} lode_transport_kind_e;

typedef struct lode_transport_ops_s {
    /* Send one packet (a USB transfer / HID report). Returns LODE_OK or an error. */
    int (*write)(lode_transport_s *t, const uint8_t *data, size_t len, unsigned timeout_ms);
    /* Receive one packet into buf (cap bytes); *got = bytes received. */
    int (*read)(lode_transport_s *t, uint8_t *buf, size_t cap, size_t *got, unsigned timeout_ms);
    void (*close)(lode_transport_s *t);
} lode_transport_ops_s;

struct lode_transport_s {
    const lode_transport_ops_s *ops;
    lode_transport_kind_e kind;
    size_t packet_size;   /* max bytes per packet (64 for full-speed HID, 512 for HS bulk) */
    const lode_log_s *log;
};

static inline int lode_transport_write(lode_transport_s *t, const uint8_t *d, size_t n, unsigned ms)
{
    return t->ops->write(t, d, n, ms);
}
static inline int lode_transport_read(lode_transport_s *t, uint8_t *b, size_t cap, size_t *got,
                                      unsigned ms)
{
    return t->ops->read(t, b, cap, got, ms);
}
static inline void lode_transport_close(lode_transport_s *t)
{
    if (t)
        t->ops->close(t);
}

#ifdef __cplusplus
}
#endif
#endif
