/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Parsing and formatting helpers of pidbrokerctl; no D-Bus here. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "macro.h"

#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

/* NULL-terminated string arrays. */
size_t strv_length(char *const *l);
int strv_push(char ***l, const char *s);          /* appends a copy */
int strv_push_split(char ***l, const char *s);    /* appends each comma-separated item */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

int parse_u64(const char *s, uint64_t *ret);
int parse_pid(const char *s, pid_t *ret);
int parse_fd(const char *s, int *ret);
/* A user name or a numeric uid; *ret_gid gets the user's primary group when
 * known (else (gid_t) -1). */
int parse_user(const char *s, uid_t *ret, gid_t *ret_gid);
int parse_group(const char *s, gid_t *ret);

/* "TERM", "SIGTERM", "15", "RTMIN+2", "SIGRTMAX-1". */
int parse_signal(const char *s);
/* "SIGTERM", or "SIGRTMIN+2", or "SIG42"; buf of at least 16 bytes. */
const char *signal_to_string(int sig, char *buf, size_t size);

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
