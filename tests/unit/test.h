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
    (fprintf(stderr, "%d checks, %d failed\n", test_checks_, test_failures_),        \
     (test_failures_ || !test_checks_) ? 1 : 0)

#endif
