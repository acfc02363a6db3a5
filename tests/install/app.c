/* SPDX-License-Identifier: MIT */
/* A program built against an installed liblode (tests/install/install.sh): the umbrella
 * header, the version, error names, and one real library call. Prints one line and exits 0
 * when all is as expected. */
#include <stdio.h>
#include <string.h>

#include <lode/lode.h>

int main(void)
{
    if (strcmp(lode_version(), LODE_VERSION_STRING) != 0) {
        fprintf(stderr, "app: compiled against %s, runs with %s\n", LODE_VERSION_STRING,
                lode_version());
        return 1;
    }
    static const unsigned char code[8] = {0x00, 0x50, 0x00, 0x20, 0x09, 0x00, 0x00, 0x08};
    lode_image_s *img = NULL;
    int rc = lode_image_from_bin(code, sizeof code, 0x08000000u, &img);
    if (rc != LODE_OK) {
        fprintf(stderr, "app: lode_image_from_bin: %s (%s)\n", lode_strerror(rc), lode_error_name(rc));
        return 1;
    }
    lode_image_free(img);
    printf("lode %s %s %d\n", lode_version(), lode_error_name(LODE_E_TIMEOUT), LODE_ERR_COUNT);
    return 0;
}
