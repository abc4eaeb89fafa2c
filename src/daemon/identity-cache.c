/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap-u64.h"
#include "identity-cache.h"

typedef struct Entry Entry;
struct Entry {
        Entry *next;
        char *sender;
        Caller caller;
};

struct IdentityCache {
        Entry **buckets;
        size_t n_buckets; /* a power of two, twice max */
        size_t n, max;
};

static size_t bucket_of(const IdentityCache *c, const char *s) {
        return (size_t) string_hash64(s) & (c->n_buckets - 1);
}

static void entry_free(Entry *e) {
        caller_done(&e->caller);
        free(e->sender);
        free(e);
}

static void identity_cache_clear(IdentityCache *c) {
        for (size_t i = 0; i < c->n_buckets; i++)
                while (c->buckets[i]) {
                        Entry *e = c->buckets[i];
                        c->buckets[i] = e->next;
                        entry_free(e);
                }
        c->n = 0;
}

int identity_cache_new(size_t max, IdentityCache **ret) {
        IdentityCache *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        c->max = max > 0 ? max : 1;
        c->n_buckets = 1;
        while (c->n_buckets < 2 * c->max)
                c->n_buckets <<= 1;
        c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
        if (!c->buckets) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

IdentityCache *identity_cache_free(IdentityCache *c) {
        if (!c)
                return NULL;
        identity_cache_clear(c);
        free(c->buckets);
        free(c);
        return NULL;
}

static Entry **entry_find(IdentityCache *c, const char *sender) {
        Entry **p = &c->buckets[bucket_of(c, sender)];
        for (; *p; p = &(*p)->next)
                if (strcmp((*p)->sender, sender) == 0)
                        return p;
        return NULL;
}

void identity_cache_drop(IdentityCache *c, const char *sender) {
        Entry **p = sender ? entry_find(c, sender) : NULL;

        if (!p)
                return;
        Entry *e = *p;
        *p = e->next;
        entry_free(e);
        c->n--;
}

const Caller *identity_cache_get(IdentityCache *c, const char *sender) {
        Entry **p = sender ? entry_find(c, sender) : NULL;

        if (!p)
                return NULL;
        /* Its process gone: ask the bus again, which then tells. */
        if (process_check_alive(&(*p)->caller.process) < 0) {
                identity_cache_drop(c, sender);
                return NULL;
        }
        return &(*p)->caller;
}

int identity_cache_put(IdentityCache *c, const char *sender, const Caller *caller) {
        Entry *e;
        int r;

        identity_cache_drop(c, sender);
        if (c->n >= c->max)
                identity_cache_clear(c);
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->caller = CALLER_NULL;
        e->sender = strdup(sender);
        r = e->sender ? caller_copy(&e->caller, caller) : -ENOMEM;
        if (r < 0) {
                entry_free(e);
                return r;
        }
        size_t b = bucket_of(c, sender);
        e->next = c->buckets[b];
        c->buckets[b] = e;
        c->n++;
        return 0;
}
