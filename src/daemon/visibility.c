/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "request.h"
#include "visibility.h"
#include "workload.h"

static bool others_have_workloads(Manager *m, uid_t uid) {
        for (Workload *w = m->workloads; w; w = w->next)
                if (w->owner_uid != uid && workload_is_listed(w))
                        return true;
        return false;
}

static bool is_listing(const char *path, const char *iface) {
        if (!iface)
                return false;
        if (strcmp(path, BROKER_PATH) == 0 && strcmp(iface, "org.freedesktop.DBus.ObjectManager") == 0)
                return true;
        return (strcmp(path, BROKER_PATH) == 0 || strcmp(path, WORKLOAD_PATH_PREFIX) == 0) &&
               strcmp(iface, "org.freedesktop.DBus.Introspectable") == 0;
}

static int visibility_filter(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *path, *iface;
        Workload *w = NULL;
        Target t = TARGET_NULL;
        Request *r;
        uint64_t id;

        if (!sd_bus_message_is_method_call(msg, NULL, NULL))
                return 0;
        path = sd_bus_message_get_path(msg);
        iface = sd_bus_message_get_interface(msg);
        if (!path || (iface && strcmp(iface, "org.freedesktop.DBus.Peer") == 0))
                return 0;

        if (workload_id_from_path(path, &id) >= 0) {
                w = workload_find(m, id);
                if (!w)
                        return 0; /* sd-bus answers UnknownObject */
        } else if (!is_listing(path, iface))
                return 0;

        /* Not identifiable: nobody's workload is visible; the handler, if
         * one runs, records the refusal. */
        r = request_current(m, sd_bus_message_get_bus(msg));
        if (!r)
                return 0;
        if (w && r->caller.uid == w->owner_uid)
                return 0;
        if (!w && !others_have_workloads(m, r->caller.uid))
                return 0;

        if (w)
                target_from_workload(w, &r->caller, &r->facts, &t);
        /* Answered later: hold the message back until then. */
        return request_authorize_manage(r, &t, /* record= */ w != NULL) == -EAGAIN ? 1 : 0;
}

int visibility_attach(Manager *m, sd_bus *bus) {
        return sd_bus_add_filter(bus, NULL, visibility_filter, m);
}

bool workload_visible(Manager *m, sd_bus *bus, const Workload *w) {
        Request *r;

        if (!workload_is_listed(w))
                return false;
        r = request_current(m, bus);
        if (!r)
                return false;
        /* Root has no special case: manage decides for it too. */
        return r->caller.uid == w->owner_uid || (r->manage.done && r->manage.result.allow);
}
