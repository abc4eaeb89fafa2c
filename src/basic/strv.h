/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated arrays of heap strings ("strv"), as systemd's strv.h. A
 * NULL strv is the empty list everywhere. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Frees each string and the array; returns NULL. */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        *l = strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* For arrays that carry their length beside them (and need no NULL end). */
void strv_free_n(char **l, size_t n);

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);

/* Appends a copy of s; on failure *l is unchanged. */
int strv_extend(char ***l, const char *s);
/* Appends each item of s split at any of the characters of separators,
 * skipping empty items ("a,,b" → "a", "b"). */
int strv_extend_split(char ***l, const char *s, const char *separators);

/* A deep copy; the empty list for NULL. */
int strv_copy(char *const *l, char ***ret);
