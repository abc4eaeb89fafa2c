/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Broker1.Subscribe: WorkloadNew and WorkloadRemoved handed to one handler.
 * The broker sends them to subscribers alone, so the matches only filter
 * what reaches this connection. */

#include <errno.h>
#include <stdlib.h>

#include "pidbroker-internal.h"

static int on_workload_signal(pidbroker_client *c, sd_bus_message *m, pidbroker_workload_event event) {
        const char *path;
        uint64_t id;
        int r;

        r = sd_bus_message_read(m, "to", &id, &path);
        if (r < 0)
                return 0; /* a malformed signal is dropped, not fatal to the loop */
        if (c->event_handler)
                c->event_handler(c, event, id, path, c->event_userdata);
        return 0;
}

static int on_workload_new(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return on_workload_signal(userdata, m, PIDBROKER_WORKLOAD_NEW);
}

static int on_workload_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return on_workload_signal(userdata, m, PIDBROKER_WORKLOAD_REMOVED);
}

void client_drop_subscription(pidbroker_client *c) {
        c->new_slot = sd_bus_slot_unref(c->new_slot);
        c->removed_slot = sd_bus_slot_unref(c->removed_slot);
        c->event_handler = NULL;
        c->event_userdata = NULL;
}

_public_ int pidbroker_subscribe(pidbroker_client *c, pidbroker_workload_event_handler handler, void *userdata,
                                 pidbroker_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *sender;
        int r;

        if (!c || !handler)
                return client_set_error(error, -EINVAL, NULL, "Invalid argument");
        if (c->new_slot)
                return client_set_error(error, -EBUSY, NULL, "Already subscribed");

        /* Matches before the call: a workload spawned right after Subscribe
         * returns is heard of. sender is NULL on a direct connection. */
        sender = pidbroker_client_get_destination(c);
        r = sd_bus_match_signal(c->bus, &c->new_slot, sender, BROKER_PATH, BROKER_INTERFACE, "WorkloadNew",
                                on_workload_new, c);
        if (r >= 0)
                r = sd_bus_match_signal(c->bus, &c->removed_slot, sender, BROKER_PATH, BROKER_INTERFACE,
                                        "WorkloadRemoved", on_workload_removed, c);
        if (r < 0) {
                client_drop_subscription(c);
                return client_set_error(error, r, NULL, "Failed to add the signal matches");
        }
        c->event_handler = handler;
        c->event_userdata = userdata;

        r = sd_bus_call_method(c->bus, sender, BROKER_PATH, BROKER_INTERFACE, "Subscribe", &e, NULL, NULL);
        if (r < 0) {
                client_drop_subscription(c);
                return client_set_error(error, r, &e, "Subscribe failed");
        }
        return 0;
}

_public_ int pidbroker_unsubscribe(pidbroker_client *c, pidbroker_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!c)
                return client_set_error(error, -EINVAL, NULL, "Invalid argument");
        /* No handler call from here on, whatever the broker answers. */
        client_drop_subscription(c);
        r = sd_bus_call_method(c->bus, pidbroker_client_get_destination(c), BROKER_PATH, BROKER_INTERFACE,
                               "Unsubscribe", &e, NULL, NULL);
        if (r < 0)
                return client_set_error(error, r, &e, "Unsubscribe failed");
        return 0;
}
