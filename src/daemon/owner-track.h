/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Clients by connection: a record per client that owns workloads or has
 * Wait and Stop calls pending, found by its unique name on the system bus or
 * by its direct connection. When the client goes away (NameOwnerChanged on
 * the bus, the one match the daemon has for names; Disconnected on a direct
 * connection), everything that was its goes in one place: its cached
 * identity, its calls awaiting an answer, its pending waiters, and its
 * workloads learn that their owner left (watch_client stops them).
 *
 * Nothing here costs a bus resource per workload: no AddMatch, no
 * sd_bus_track. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"


/* Track w as owned by name on bus (name NULL: the direct connection bus),
 * setting w->owner_bus and w->owner_name. A name first seen outside a call
 * of its own (a workload adopted again after a restart) is asked of the bus,
 * and treated as gone when the bus does not know it. */
int owner_track_add(Manager *m, sd_bus *bus, const char *name, Workload *w);
/* w is freed or its owner has gone: off the owner's list. */
void owner_track_remove(Workload *w);

/* A Wait or Stop call of msg's sender is pending (+1) or no longer (-1). */
int owner_waiter_count(Manager *m, sd_bus_message *msg, int delta);

/* The client is gone (name NULL: the direct connection bus). */
void owner_client_gone(Manager *m, sd_bus *bus, const char *name);

/* Every record (daemon shutdown); workloads must be freed first. */
void owners_free(Manager *m);
