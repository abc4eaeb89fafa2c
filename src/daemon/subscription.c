/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "log.h"
#include "subscription.h"

static bool subscriber_is(const Subscriber *s, sd_bus *bus, const char *name) {
        return s->bus == bus && (s->name == name || (s->name && name && strcmp(s->name, name) == 0));
}

Subscriber *subscriber_find(Manager *m, sd_bus_message *msg) {
        sd_bus *bus = sd_bus_message_get_bus(msg);
        const char *sender = sd_bus_message_get_sender(msg);

        for (Subscriber *s = m->subscribers; s; s = s->next)
                if (subscriber_is(s, bus, sender))
                        return s;
        return NULL;
}

int subscriber_add(Manager *m, sd_bus_message *msg, uid_t uid, bool all, Subscriber **ret) {
        const char *sender = sd_bus_message_get_sender(msg);
        Subscriber *s;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        if (sender) {
                s->name = strdup(sender);
                if (!s->name) {
                        free(s);
                        return -ENOMEM;
                }
        }
        s->manager = m;
        s->bus = sd_bus_ref(sd_bus_message_get_bus(msg));
        s->uid = uid;
        s->all = all;
        LIST_PREPEND(m->subscribers, s);
        m->n_subscribers++;
        log_debug("%s (uid %u) subscribed to %s workloads.", sender ?: "A direct connection", (unsigned) uid,
                  all ? "all" : "its own");
        if (ret)
                *ret = s;
        return 0;
}

Subscriber *subscriber_free(Subscriber *s) {
        if (!s)
                return NULL;
        LIST_REMOVE(s->manager->subscribers, s);
        s->manager->n_subscribers--;
        sd_bus_unref(s->bus);
        free(s->name);
        free(s);
        return NULL;
}

unsigned subscribers_count(Manager *m, uid_t uid) {
        unsigned n = 0;

        for (Subscriber *s = m->subscribers; s; s = s->next)
                if (s->uid == uid)
                        n++;
        return n;
}

void subscribers_drop_of(Manager *m, sd_bus *bus, const char *sender) {
        for (Subscriber *s = m->subscribers, *next; s; s = next) {
                next = s->next;
                if (s->bus == bus && (!sender || (s->name && strcmp(s->name, sender) == 0)))
                        subscriber_free(s);
        }
}
