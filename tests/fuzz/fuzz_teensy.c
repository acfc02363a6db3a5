/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for what lode reads from a Teensy and from a Teensy image: a HID report
 * descriptor (HalfKay's, over USB) -- any bytes, and a found usage comes with its page -- and the
 * model marks of an image (the same bytes as an image at 0 and at 0x60000000), and HalfKay's
 * report decoding for every model. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/teensy.h"
#include "lode/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct view_s {
    const uint8_t *d;
    size_t n;
    uint32_t base;
} view_s;

static bool read_view(void *user, uint32_t addr, uint8_t *buf, size_t len)
{
    const view_s *v = user;
    bool any = false;
    for (size_t i = 0; i < len; i++) {
        uint64_t a = (uint64_t)addr + i;
        bool in = a >= v->base && a - v->base < v->n;
        buf[i] = in ? v->d[a - v->base] : 0xFF;
        any = any || in;
    }
    return any;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t page = 0xA5A5, usage = 0xA5A5;
    if (!lodei_hid_top_usage(data, size, &page, &usage) && (page != 0xA5A5 || usage != 0xA5A5))
        abort(); /* out-parameters only on success */
    size_t n = size < 0x4000 ? size : 0x4000;
    for (int k = 0; k < 2; k++) {
        view_s v = {data, n, k ? 0x60000000u : 0};
        const lodei_teensy_model_s *m = lodei_teensy_model_of_image(read_view, &v, v.base, v.base + (uint32_t)n);
        if (m && !lodei_teensy_model_by_name(m->name))
            abort();
    }
    for (size_t i = 0; lodei_teensy_model_at(i); i++) {
        uint32_t addr = 0;
        bool boot = false;
        int rc = lodei_halfkay_decode(lodei_teensy_model_at(i), data, size, &addr, &boot);
        if (rc != LODE_OK && rc != LODE_E_PROTOCOL)
            abort();
        if (rc == LODE_OK && addr > 0xFFFFFFu)
            abort();
    }
    return 0;
}
