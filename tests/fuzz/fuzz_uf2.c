/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the UF2 reader. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_log_s f = {0};
    lode_log_s log = {.fn = fuzz_log_fn, .user = &f, .max_level = LODE_LOG_DEBUG};
    lode_image_s *img = (lode_image_s *)&f.nerr; /* sentinel: must stay untouched on error */
    int rc = lode_image_parse(data, size, LODE_IMAGE_UF2, "fuzz.uf2", 0, false, &log, &img);
    fuzz_check_result(rc, img, &f);
    return 0;
}
