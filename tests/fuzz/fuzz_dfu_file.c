/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the DFU file readers: the DfuSe file (UM0391) and a raw binary's DFU
 * suffix (CRC, IDs). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int k = 0; k < 2; k++) {
        fuzz_log_s f = {0};
        lode_log_s log = {.fn = fuzz_log_fn, .user = &f, .max_level = LODE_LOG_DEBUG};
        lode_image_s *img = (lode_image_s *)&f.nerr; /* sentinel: must stay untouched on error */
        int rc = lode_image_parse(data, size, k ? LODE_IMAGE_BIN : LODE_IMAGE_DFUSE, "fuzz.dfu", 0x08000000u, true,
                                  &log, &img);
        fuzz_check_result(rc, img, &f);
    }
    return 0;
}
