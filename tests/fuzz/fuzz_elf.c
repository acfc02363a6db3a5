/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the ELF reader (and, through lode_image_parse AUTO, detection). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_log_s f = {0};
    lode_log_s log = {.fn = fuzz_log_fn, .user = &f, .max_level = LODE_LOG_DEBUG};
    lode_image_s *img = (lode_image_s *)&f.nerr; /* sentinel: must stay untouched on error */
    int rc = lode_image_parse_elf(data, size, &log, &img);
    fuzz_check_result(rc, img, &f);

    /* the same bytes through format detection (ELF, HEX or BIN at a base near the top) */
    f.nerr = 0;
    img = (lode_image_s *)&f.nerr;
    rc = lode_image_parse(data, size, LODE_IMAGE_AUTO, "fuzz", 0xffff0000u, true, &log, &img);
    fuzz_check_result(rc, img, &f);
    return 0;
}
