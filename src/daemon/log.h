/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Daemon logging: sd-journal where journald runs (its socket exists), stderr
 * otherwise. log_*_errno() return the (negative) error they were given, so a
 * failure is logged and returned in one line, systemd-style; %m in the format
 * prints that error. */

#include <stdlib.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journal if /run/systemd/journal/socket exists, else stderr */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
        _LOG_TARGET_MAX,
} LogTarget;

int log_target_from_string(const char *s);
void log_setup(LogTarget target, int max_level);
int log_parse_level(const char *s); /* "debug", "info", ... or a number; -EINVAL */

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

/* The most verbose level written; set by log_setup(). */
extern int log_max_level;

/* What log_internal() returns for error, without it being called. */
static inline int log_error_value(int error) {
        return error < 0 ? error : -abs(error);
}

/* A level that is off costs one comparison: the arguments (a
 * caller_describe(), a strerror()) are not even evaluated. */
#define log_full_errno(level, error, ...)                                                        \
        ({                                                                                       \
                int _level = (level), _error = (error);                                          \
                _level <= log_max_level ?                                                        \
                        log_internal(_level, _error, __FILE__, __LINE__, __func__, __VA_ARGS__) : \
                        log_error_value(_error);                                                 \
        })

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
