/* SPDX-License-Identifier: MIT */
#ifndef LODE_LOG_H
#define LODE_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lode_log_level_e {
    LODE_LOG_ERROR = 0,
    LODE_LOG_WARN = 1,
    LODE_LOG_INFO = 2,
    LODE_LOG_DEBUG = 3,
} lode_log_level_e;

typedef enum lode_log_cat_e {
    LODE_LOGC_GENERAL = 0,
    LODE_LOGC_PROBE,
    LODE_LOGC_WIRE,
    LODE_LOGC_ADI,
    LODE_LOGC_FLASH,
    LODE_LOGC_GDB,
    LODE_LOGC_RTT,
    LODE_LOGC_SIM,
    LODE_LOGC_IMAGE,
} lode_log_cat_e;

/* The library never prints: it hands messages to a callback the front end installs. */
typedef void (*lode_log_fn)(void *user, lode_log_level_e level, lode_log_cat_e cat,
                            const char *msg);

typedef struct lode_log_s {
    lode_log_fn fn;          /* NULL: messages are dropped */
    void *user;
    lode_log_level_e max_level; /* messages above this level are not formatted */
} lode_log_s;

/* Format and deliver a message. `log` may be NULL. */
void lode_log(const lode_log_s *log, lode_log_level_e level, lode_log_cat_e cat,
              const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void lode_logv(const lode_log_s *log, lode_log_level_e level, lode_log_cat_e cat,
               const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;

const char *lode_log_cat_name(lode_log_cat_e cat);
const char *lode_log_level_name(lode_log_level_e level);

#ifdef __cplusplus
}
#endif
#endif
