/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A hash table from uint64_t keys to non-NULL pointers: open addressing with
 * linear probing and backward-shift deletion (no tombstones), at most half
 * full. It grows as entries come and shrinks as they go, so a mass release
 * gives the memory back. The values are not owned. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct U64MapSlot {
        uint64_t key;
        void *value; /* NULL: free slot */
} U64MapSlot;

typedef struct U64Map {
        U64MapSlot *slots;
        size_t n_slots; /* 0 or a power of two */
        size_t n;
} U64Map;

#define U64MAP_NULL ((U64Map) {})

void *u64map_get(const U64Map *m, uint64_t key);
/* -EEXIST when key is present already, -EINVAL for a NULL value. */
int u64map_put(U64Map *m, uint64_t key, void *value);
/* Set key's value in place (value non-NULL): the old one, or NULL and
 * nothing done when key is not present. */
void *u64map_replace(U64Map *m, uint64_t key, void *value);
/* The value removed, NULL when key was not present. */
void *u64map_remove(U64Map *m, uint64_t key);
static inline size_t u64map_size(const U64Map *m) {
        return m->n;
}
/* Frees the table, not the values. */
void u64map_done(U64Map *m);

/* Each entry once, in no order, with *i = 0 at first: true while there is
 * one. No put or remove while iterating. */
bool u64map_iterate(const U64Map *m, size_t *i, uint64_t *ret_key, void **ret_value);

/* A 64-bit hash of a string (FNV-1a), for string keys: the caller handles
 * collisions. */
uint64_t string_hash64(const char *s);
