/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>

#include "hashmap-u64.h"

#define MIN_SLOTS 16

/* Workload ids and uids come in runs: a finalizer spreads them. */
static size_t slot_of(const U64Map *m, uint64_t key) {
        key ^= key >> 33;
        key *= UINT64_C(0xff51afd7ed558ccd);
        key ^= key >> 33;
        key *= UINT64_C(0xc4ceb9fe1a85ec53);
        key ^= key >> 33;
        return (size_t) key & (m->n_slots - 1);
}

static U64MapSlot *slot_find(const U64Map *m, uint64_t key) {
        if (m->n_slots == 0)
                return NULL;
        for (size_t i = slot_of(m, key);; i = (i + 1) & (m->n_slots - 1)) {
                U64MapSlot *s = &m->slots[i];
                if (!s->value)
                        return NULL;
                if (s->key == key)
                        return s;
        }
}

void *u64map_get(const U64Map *m, uint64_t key) {
        U64MapSlot *s = slot_find(m, key);
        return s ? s->value : NULL;
}

static void slot_insert(U64Map *m, uint64_t key, void *value) {
        size_t i = slot_of(m, key);
        while (m->slots[i].value)
                i = (i + 1) & (m->n_slots - 1);
        m->slots[i] = (U64MapSlot) { key, value };
        m->n++;
}

static int resize(U64Map *m, size_t n_slots) {
        U64Map new = { .n_slots = n_slots };

        new.slots = calloc(n_slots, sizeof *new.slots);
        if (!new.slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_slots; i++)
                if (m->slots[i].value)
                        slot_insert(&new, m->slots[i].key, m->slots[i].value);
        free(m->slots);
        *m = new;
        return 0;
}

int u64map_put(U64Map *m, uint64_t key, void *value) {
        int r;

        if (!value)
                return -EINVAL;
        if (slot_find(m, key))
                return -EEXIST;
        if ((m->n + 1) * 2 > m->n_slots) {
                r = resize(m, m->n_slots ? m->n_slots * 2 : MIN_SLOTS);
                if (r < 0)
                        return r;
        }
        slot_insert(m, key, value);
        return 0;
}

void *u64map_replace(U64Map *m, uint64_t key, void *value) {
        U64MapSlot *s = slot_find(m, key);
        void *old;

        if (!s || !value)
                return NULL;
        old = s->value;
        s->value = value;
        return old;
}

void *u64map_remove(U64Map *m, uint64_t key) {
        U64MapSlot *s = slot_find(m, key);
        void *value;

        if (!s)
                return NULL;
        value = s->value;

        /* Backward shift: move later entries of the run into the hole when
         * their home slot is not between the hole and themselves. */
        size_t mask = m->n_slots - 1, hole = (size_t) (s - m->slots);
        for (size_t i = (hole + 1) & mask; m->slots[i].value; i = (i + 1) & mask) {
                size_t home = slot_of(m, m->slots[i].key);
                if (((i - home) & mask) >= ((i - hole) & mask)) {
                        m->slots[hole] = m->slots[i];
                        hole = i;
                }
        }
        m->slots[hole] = (U64MapSlot) {};
        m->n--;

        /* A failed shrink only keeps the memory. */
        if (m->n_slots > MIN_SLOTS && m->n * 8 < m->n_slots)
                (void) resize(m, m->n_slots / 2);
        return value;
}

void u64map_done(U64Map *m) {
        free(m->slots);
        *m = U64MAP_NULL;
}

bool u64map_iterate(const U64Map *m, size_t *i, uint64_t *ret_key, void **ret_value) {
        for (; *i < m->n_slots; (*i)++) {
                const U64MapSlot *s = &m->slots[*i];
                if (!s->value)
                        continue;
                if (ret_key)
                        *ret_key = s->key;
                if (ret_value)
                        *ret_value = s->value;
                (*i)++;
                return true;
        }
        return false;
}

uint64_t string_hash64(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(0x100000001b3);
        return h;
}
