/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Enum ↔ name tables, systemd-style: given
 *
 *     static const char *const spawn_method_table[_SPAWN_METHOD_MAX] = { ... };
 *     DEFINE_STRING_TABLE_LOOKUP(spawn_method, SpawnMethod);
 *
 * this defines spawn_method_to_string() (NULL out of range or for a hole in
 * the table) and spawn_method_from_string() (-EINVAL when unknown or NULL). */

#include <errno.h>
#include <string.h>

#include "macro.h"

static inline int string_table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

#define _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, scope)                        \
        scope const char *name##_to_string(type i) {                                    \
                /* A negative i wraps to a huge size_t: one test covers both ends. */ \
                return (size_t) i < ELEMENTSOF(name##_table) ? name##_table[i] : NULL; \
        }

#define _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, scope)                      \
        scope int name##_from_string(const char *s) {                                   \
                return string_table_lookup(name##_table, ELEMENTSOF(name##_table), s); \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                          \
        _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, )             \
        _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, )

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type) \
        _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, )

#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP(name, type)                  \
        _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, static)       \
        _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, static)
