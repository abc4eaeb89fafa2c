/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of libpidbroker share: the objects behind the opaque types. */

#include "list.h"
#include "macro.h"
#include "pidbroker.h"

#define _public_ __attribute__((visibility("default")))

#define BROKER_BUS_NAME "org.pidbroker.Broker1"
#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_INTERFACE "org.pidbroker.Broker1"
#define WORKLOAD_PATH_PREFIX "/org/pidbroker/Broker1/workload/"
#define WORKLOAD_INTERFACE "org.pidbroker.Workload1"

struct pidbroker_client {
        unsigned n_ref;
        sd_bus *bus;
        bool direct;                   /* peer to peer: no destination */
        bool disconnected;             /* the bus said Disconnected: no new async calls */
        sd_bus_slot *disconnected_slot;
        pidbroker_workload *pending;   /* workloads with an async call */

        /* pidbroker_subscribe(): set while subscribed. */
        pidbroker_workload_event_handler event_handler;
        void *event_userdata;
        sd_bus_slot *new_slot, *removed_slot;
};

struct pidbroker_workload {
        unsigned n_ref;
        pidbroker_client *client;
        uint64_t id;
        char *path;
        int pidfd;

        /* The one async call: the pidfd watch, then the bus call. */
        const char *async_method;      /* "Wait" or "Stop"; NULL: none */
        pidbroker_exit_handler handler;
        void *userdata;
        sd_event_source *pidfd_source;
        sd_bus_slot *call_slot;
        pidbroker_workload *next, *prev; /* in client->pending */
};

/* A workload object taking ownership of pidfd (on success). */
int workload_new(pidbroker_client *c, uint64_t id, const char *path, int pidfd, pidbroker_workload **ret);

/* Fill error (may be NULL) from an sd-bus error or, when it is unset, from
 * a local -errno and a message. Returns the -errno. */
int client_set_error(pidbroker_error *error, int r, const sd_bus_error *e, const char *message);
/* Drop the signal matches of pidbroker_subscribe(), no call. */
void client_drop_subscription(pidbroker_client *c);
/* Every workload's pending async call ends with r (the connection is gone). */
void client_fail_pending(pidbroker_client *c, int r, const char *message);
