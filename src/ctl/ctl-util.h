/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Parsing and formatting helpers of pidbrokerctl; no D-Bus here. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "env-util.h"
#include "macro.h"
#include "signal-util.h"
#include "strv.h"
#include "user-util.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

int parse_u64(const char *s, uint64_t *ret);
int parse_pid(const char *s, pid_t *ret);
/* yes/no, true/false, on/off, 1/0: 1 or 0; -EINVAL otherwise. */
int parse_boolean(const char *s);
/* Bytes, with an optional K, M, G, T or P suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *ret);
int parse_fd(const char *s, int *ret);
/* "5" (seconds), "1.5s", "500ms", "2min", "1h", "infinity". */
int parse_duration(const char *s, uint64_t *ret_usec);
/* --since: "2024-05-01", "2024-05-01 12:00[:00]", RFC 3339 "2024-05-01T12:00:00.123456Z"
 * or with an offset, "@EPOCH", "-10min" or "10min ago", "now", "today", "yesterday".
 * Absolute times without a zone are local time. */
int parse_timestamp(const char *s, uint64_t *ret_usec);
uint64_t now_realtime_usec(void);

/* "2024-05-01 12:00:00" in local time. */
const char *format_timestamp(uint64_t usec, char *buf, size_t size);
/* "2024-05-01T12:00:00.123456Z". */
const char *format_rfc3339(uint64_t usec, char *buf, size_t size);

/* The user name of uid, or its number. */
const char *format_uid(uid_t uid, char *buf, size_t size);

/* Resolve a command the way execvp() would, against path (a PATH value):
 * names with a '/' are made absolute against the working directory, others
 * searched. -ENOENT if not found, -EACCES if found but not executable. */
int find_executable(const char *name, const char *path, char **ret);
