/* SPDX-License-Identifier: MIT */
/* The public API's housekeeping: every error code named (lode_error_name) and described
 * (lode_strerror) — checked against the enum as written in include/lode/error.h, so a new code
 * cannot be left out —, the version macros and lode_version(), and the umbrella header
 * lode/lode.h listing every public header. */
#include <dirent.h>
#include <stdio.h>

#include "lode/lode.h"
#include "test.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_error_names(void)
{
    CHECK_EQ(LODE_ERR_COUNT, 1 - LODE_E_LAST_);
    for (int e = 0; e >= (int)LODE_E_LAST_; e--) {
        const char *n = lode_error_name(e);
        CHECK(strncmp(n, "LODE_", 5) == 0 && strcmp(n, "LODE_E_UNKNOWN") != 0);
        CHECK(strcmp(lode_strerror(e), "unknown error") != 0);
        for (int k = 0; k > e; k--)
            CHECK(strcmp(lode_error_name(k), n) != 0);
    }
    CHECK(strcmp(lode_error_name(LODE_OK), "LODE_OK") == 0);
    CHECK(strcmp(lode_error_name(LODE_E_TIMEOUT), "LODE_E_TIMEOUT") == 0);
    CHECK(strcmp(lode_error_name((int)LODE_E_LAST_ - 1), "LODE_E_UNKNOWN") == 0);
    CHECK(strcmp(lode_error_name(1), "LODE_E_UNKNOWN") == 0);
    CHECK(strcmp(lode_strerror(-1000), "unknown error") == 0);

    /* every "LODE_E_X = -N" in the header has its own name */
    char *h = slurp(LODE_SOURCE_DIR "/include/lode/error.h");
    REQUIRE(h);
    int seen = 0;
    for (char *p = h; (p = strstr(p, "LODE_E_")) != NULL; p++) {
        char name[64];
        int code = 0, used = 0;
        if (sscanf(p, "%63[A-Z_] = %d%n", name, &code, &used) != 2 || code >= 0)
            continue;
        seen++;
        if (strcmp(lode_error_name(code), name) != 0) {
            fprintf(stderr, "%s (%d) is named %s\n", name, code, lode_error_name(code));
            CHECK(0);
        }
        CHECK(code >= (int)LODE_E_LAST_);
    }
    CHECK_EQ(seen, LODE_ERR_COUNT - 1);
}

static void test_version(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LODE_VERSION_MAJOR, LODE_VERSION_MINOR, LODE_VERSION_PATCH);
    CHECK(strcmp(want, LODE_VERSION_STRING) == 0);
    CHECK(strcmp(lode_version(), LODE_VERSION_STRING) == 0);
    CHECK_EQ(LODE_VERSION_NUM, (LODE_VERSION_MAJOR << 16) | (LODE_VERSION_MINOR << 8) | LODE_VERSION_PATCH);
}

static void test_umbrella(void)
{
    char *u = slurp(LODE_SOURCE_DIR "/include/lode/lode.h");
    REQUIRE(u);
    static char umbrella[1 << 16];
    strcpy(umbrella, u);
    DIR *d = opendir(LODE_SOURCE_DIR "/include/lode");
    REQUIRE(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0 || strcmp(e->d_name, "lode.h") == 0)
            continue;
        char inc[300];
        snprintf(inc, sizeof inc, "#include \"lode/%s\"", e->d_name);
        if (!strstr(umbrella, inc)) {
            fprintf(stderr, "lode/lode.h does not include lode/%s\n", e->d_name);
            CHECK(0);
        }
        n++;
    }
    closedir(d);
    CHECK(n > 10);
}

int main(void)
{
    RUN_TEST(test_error_names);
    RUN_TEST(test_version);
    RUN_TEST(test_umbrella);
    return TEST_DONE();
}
