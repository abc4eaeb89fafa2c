/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Just enough JSON for pidbrokerctl: a writer for its --json output and a
 * small tree parser for filtering audit records. No library dependency: the
 * client links libsystemd only. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writer. Strings are escaped; bytes that are not valid UTF-8 (argv is bytes)
 * become U+FFFD so the output always parses. */
void json_write_string(FILE *f, const char *s);
void json_write_key(FILE *f, const char *key, bool first); /* ,"key": */

/* Parser. */
typedef enum JsonType {
        JSON_NULL,
        JSON_BOOLEAN,
        JSON_NUMBER,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
} JsonType;

typedef struct JsonValue JsonValue;
struct JsonValue {
        JsonType type;
        bool boolean;
        char *text;          /* string contents, or a number's literal text */
        char **keys;         /* object member names; NULL for arrays */
        JsonValue **items;   /* object member values, or array elements */
        size_t n_items;
};

/* Parse one complete JSON text. -EINVAL if malformed. */
int json_parse(const char *text, JsonValue **ret);
JsonValue *json_free(JsonValue *v);
static inline void json_freep(JsonValue **v) {
        json_free(*v);
}

/* Member of an object by dotted path ("subject.uid"), or NULL. */
const JsonValue *json_get(const JsonValue *v, const char *path);
/* The string of a string value, the literal of a number or boolean, else NULL. */
const char *json_scalar(const JsonValue *v);
