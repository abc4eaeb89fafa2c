/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Broker1.Subscribe(): connections that asked for the events of every
 * workload they may see, as systemd's Manager.Subscribe(). Which workloads
 * that is was settled when the connection subscribed: its own uid's, or
 * all of them when org.pidbroker.manage allowed it then. Each event goes
 * to each such connection as a unicast signal, never broadcast.
 *
 * A subscription belongs to one connection: a unique name on the bus, or
 * a direct-socket connection. It ends with Unsubscribe() or when the
 * connection goes away. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "manager.h"

struct Subscriber {
        Manager *manager;
        Subscriber *next, *prev;
        sd_bus *bus;
        char *name;      /* unique name; NULL on the direct socket */
        uid_t uid;
        bool all;        /* manage allowed: every workload, not only its uid's */
};

/* The subscription of the connection msg came from; NULL if none. */
Subscriber *subscriber_find(Manager *m, sd_bus_message *msg);
/* Subscribe the connection msg came from. */
int subscriber_add(Manager *m, sd_bus_message *msg, uid_t uid, bool all, Subscriber **ret);
Subscriber *subscriber_free(Subscriber *s);
unsigned subscribers_count(Manager *m, uid_t uid);
/* A client went away: its subscription ends. sender NULL: the one on bus
 * (a direct connection). */
void subscribers_drop_of(Manager *m, sd_bus *bus, const char *sender);

/* Whether s is to hear of the workloads of owner_uid. */
static inline bool subscriber_sees(const Subscriber *s, uid_t owner_uid) {
        return s->all || s->uid == owner_uid;
}
