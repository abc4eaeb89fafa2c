/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Environment names as the broker takes them: one rule for the client, the
 * daemon's argument parser and the spawn engine. */

#include <stdbool.h>
#include <string.h>

/* Non-empty, with neither '=' nor NUL (a C string has no NUL inside). */
static inline bool env_name_is_valid(const char *name) {
        return name && name[0] != '\0' && !strchr(name, '=');
}

/* "NAME=value" with a valid name; the value may be empty. */
static inline bool env_assignment_is_valid(const char *assignment) {
        const char *eq = assignment ? strchr(assignment, '=') : NULL;

        return eq && eq != assignment;
}
