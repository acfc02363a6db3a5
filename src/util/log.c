/* SPDX-License-Identifier: MIT */
#include "lode/log.h"

#include <stdio.h>

void lode_logv(const lode_log_s *log, lode_log_level_e level, lode_log_cat_e cat,
               const char *fmt, va_list ap)
{
    if (!log || !log->fn || level > log->max_level)
        return;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    log->fn(log->user, level, cat, buf);
}

void lode_log(const lode_log_s *log, lode_log_level_e level, lode_log_cat_e cat,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lode_logv(log, level, cat, fmt, ap);
    va_end(ap);
}

const char *lode_log_cat_name(lode_log_cat_e cat)
{
    static const char *const names[] = {"lode", "probe", "wire", "adi", "flash",
                                        "gdb",  "rtt",   "sim",  "image"};
    if ((unsigned)cat < sizeof names / sizeof names[0])
        return names[cat];
    return "?";
}

const char *lode_log_level_name(lode_log_level_e level)
{
    switch (level) {
    case LODE_LOG_ERROR: return "error";
    case LODE_LOG_WARN: return "warning";
    case LODE_LOG_INFO: return "info";
    default: return "debug";
    }
}
