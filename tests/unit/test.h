/* SPDX-License-Identifier: MIT */
/* A tiny test harness: each test file is one executable; a failed CHECK prints the
 * location and makes the executable exit non-zero. */
#ifndef LODE_TEST_H
#define LODE_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_ __attribute__((unused));
static int test_checks_ __attribute__((unused));
static int test_skips_ __attribute__((unused));

#ifdef LODE_SHARED_DIR
/* Data from ../shared (the probe-rs target files): LODE_SHARED_DIR from the build, or the
 * environment's LODE_SHARED_DIR. test_shared_path gives the path of `rel` under it, or NULL
 * after noting a skip with the reason: the executable then exits TEST_SKIP_CODE (CTest's
 * SKIP_RETURN_CODE), never passing silently. */
#define TEST_SKIP_CODE 77
static const char *test_shared_path(const char *rel, const char *who) __attribute__((unused));
static const char *test_shared_path(const char *rel, const char *who)
{
    static char buf[4][1024];
    static unsigned next;
    char *p = buf[next++ % 4];
    const char *dir = getenv("LODE_SHARED_DIR");
    snprintf(p, sizeof buf[0], "%s/%s", dir && *dir ? dir : LODE_SHARED_DIR, rel);
    FILE *f = fopen(p, "rb");
    if (f) {
        fclose(f);
        return p;
    }
    fprintf(stderr, "SKIP %s: %s is missing (../shared holds the probe-rs target files; or set "
                    "LODE_SHARED_DIR)\n", who, p);
    test_skips_++;
    return NULL;
}
#endif

#define CHECK(cond)                                                                  \
    do {                                                                             \
        test_checks_++;                                                              \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            test_failures_++;                                                        \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                               \
    do {                                                                             \
        long long va_ = (long long)(a), vb_ = (long long)(b);                        \
        test_checks_++;                                                              \
        if (va_ != vb_) {                                                            \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx)\n", \
                    __FILE__, __LINE__, #a, #b, (unsigned long long)va_,             \
                    (unsigned long long)vb_);                                        \
            test_failures_++;                                                        \
        }                                                                            \
    } while (0)

/* Stop the current test function when a precondition fails. */
#define REQUIRE(cond)                                                                \
    do {                                                                             \
        test_checks_++;                                                              \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            test_failures_++;                                                        \
            return;                                                                  \
        }                                                                            \
    } while (0)

#define RUN_TEST(fn)                                                                 \
    do {                                                                             \
        int before_ = test_failures_;                                                \
        fn();                                                                        \
        fprintf(stderr, "%s %s\n", test_failures_ == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

#define TEST_DONE()                                                                  \
    (fprintf(stderr, "%d checks, %d failed, %d skipped\n", test_checks_, test_failures_, \
             test_skips_),                                                           \
     test_failures_ ? 1 : test_skips_ ? 77 : !test_checks_ ? 1 : 0)

#endif
