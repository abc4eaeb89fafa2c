/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "hashmap-u64.h"
#include "identity-cache.h"
#include "list.h"
#include "log.h"
#include "owner-track.h"
#include "request.h"
#include "subscription.h"
#include "workload.h"

struct Owner {
        Manager *manager;
        Owner *hash_next;     /* same key: a hash collision */
        sd_bus *bus;          /* not referenced: the record goes with the client */
        char *name;           /* unique name; NULL: a direct connection */
        Workload *workloads;  /* by owner_next, owner_prev */
        unsigned n_waiters;   /* its Wait and Stop calls pending */
        sd_bus_slot *verify;  /* GetNameOwner in flight */
};

/* Bus clients by their name's hash, direct connections by their bus. */
static uint64_t owner_key(sd_bus *bus, const char *name) {
        return name ? string_hash64(name) : (uint64_t) (uintptr_t) bus;
}

static Owner *owner_find(Manager *m, sd_bus *bus, const char *name) {
        for (Owner *o = u64map_get(&m->owners, owner_key(bus, name)); o; o = o->hash_next)
                if (o->bus == bus && (name ? o->name && strcmp(o->name, name) == 0 : !o->name))
                        return o;
        return NULL;
}

static void owner_free(Owner *o) {
        Manager *m = o->manager;
        uint64_t key = owner_key(o->bus, o->name);
        Owner *head = u64map_get(&m->owners, key);

        /* Off its chain. */
        if (head == o) {
                if (o->hash_next)
                        u64map_replace(&m->owners, key, o->hash_next);
                else
                        u64map_remove(&m->owners, key);
        } else
                for (Owner *p = head; p; p = p->hash_next)
                        if (p->hash_next == o) {
                                p->hash_next = o->hash_next;
                                break;
                        }

        sd_bus_slot_unref(o->verify);
        free(o->name);
        free(o);
}

static void owner_free_if_unused(Owner *o) {
        if (!o->workloads && o->n_waiters == 0)
                owner_free(o);
}

static int owner_get(Manager *m, sd_bus *bus, const char *name, Owner **ret) {
        Owner *o = owner_find(m, bus, name);
        int r;

        if (o) {
                *ret = o;
                return 0;
        }
        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        *o = (Owner) { .manager = m, .bus = bus };
        if (name) {
                o->name = strdup(name);
                if (!o->name) {
                        free(o);
                        return -ENOMEM;
                }
        }
        /* In front of its chain, if the key has one. */
        uint64_t key = owner_key(bus, name);
        o->hash_next = u64map_replace(&m->owners, key, o);
        if (!o->hash_next) {
                r = u64map_put(&m->owners, key, o);
                if (r < 0) {
                        free(o->name);
                        free(o);
                        return r;
                }
        }
        *ret = o;
        return 1;
}

static int on_verify_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Owner *o = userdata;
        Manager *m = o->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        o->verify = sd_bus_slot_unref(o->verify);
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                log_info("Owner %s of adopted workloads is gone from the bus.", o->name);
                owner_client_gone(m, o->bus, o->name);
        } else if (e)
                log_warning("Cannot tell whether %s is still on the bus (%s), keeping its workloads as owned.",
                            o->name, e->message);
        return 0;
}

/* Whether the bus is dispatching a call of name's right now: then name is
 * connected, and its NameOwnerChanged, if it left, is still to come. */
static bool name_is_calling(sd_bus *bus, const char *name) {
        sd_bus_message *cur = sd_bus_get_current_message(bus);
        const char *s = cur ? sd_bus_message_get_sender(cur) : NULL;
        return s && strcmp(s, name) == 0;
}

int owner_track_add(Manager *m, sd_bus *bus, const char *name, Workload *w) {
        Owner *o;
        int r;

        if (!w->owner_bus)
                w->owner_bus = sd_bus_ref(bus);
        if (name && !w->owner_name) {
                w->owner_name = strdup(name);
                if (!w->owner_name)
                        return -ENOMEM;
        }
        r = owner_get(m, bus, name, &o);
        if (r < 0)
                return r;
        if (r > 0 && name && !name_is_calling(bus, name)) {
                r = sd_bus_call_method_async(bus, &o->verify, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetNameOwner", on_verify_reply, o, "s", name);
                if (r < 0) {
                        owner_free(o);
                        return r;
                }
        }
        w->owner = o;
        LIST_PREPEND_BY(owner, o->workloads, w);
        return 0;
}

void owner_track_remove(Workload *w) {
        Owner *o = w->owner;

        if (!o)
                return;
        LIST_REMOVE_BY(owner, o->workloads, w);
        w->owner = NULL;
        owner_free_if_unused(o);
}

int owner_waiter_count(Manager *m, sd_bus_message *msg, int delta) {
        sd_bus *bus = sd_bus_message_get_bus(msg);
        const char *sender = bus == m->bus ? sd_bus_message_get_sender(msg) : NULL;
        Owner *o;
        int r;

        if (delta > 0) {
                r = owner_get(m, bus, sender, &o);
                if (r < 0)
                        return r;
                o->n_waiters++;
                return 0;
        }
        o = owner_find(m, bus, sender);
        if (!o || o->n_waiters == 0)
                return 0;
        o->n_waiters--;
        owner_free_if_unused(o);
        return 0;
}

void owner_client_gone(Manager *m, sd_bus *bus, const char *name) {
        Owner *o = owner_find(m, bus, name);

        /* Its calls first: they may borrow the cached identity. */
        request_drop_from(m, bus, name);
        if (name)
                identity_cache_drop(m->identities, name);
        subscribers_drop_of(m, bus, name);
        if (!o)
                return;

        /* Held while its waiters are dropped and its workloads told (each
         * drop counts down), then freed with the last of them. */
        o->n_waiters++;
        /* Waiters on any workload: a walk, for clients that had some only. */
        if (o->n_waiters > 1)
                workloads_drop_waiters_of(m, bus, name);
        o->n_waiters = 1;
        while (o->workloads) {
                Workload *w = o->workloads;
                owner_track_remove(w);
                workload_owner_gone(w);
        }
        o->n_waiters--;
        owner_free_if_unused(o);
}

void owners_free(Manager *m) {
        size_t i = 0;
        void *v;

        while (u64map_iterate(&m->owners, &i, NULL, &v))
                for (Owner *o = v, *next; o; o = next) {
                        next = o->hash_next;
                        sd_bus_slot_unref(o->verify);
                        free(o->name);
                        free(o);
                }
        u64map_done(&m->owners);
}
