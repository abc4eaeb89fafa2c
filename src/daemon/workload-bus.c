/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.pidbroker.Workload1: one object per workload under
 * /org/pidbroker/Broker1/workload/<id>, served by a fallback vtable whose
 * lookup shows the caller its own workloads, and another user's only when
 * manage allowed the message being dispatched (visibility.h), so
 * properties, methods, introspection and GetManagedObjects all share one
 * visibility rule. Nothing about a workload is broadcast: its signals
 * (Exited, PropertiesChanged, the ObjectManager's) go to the owner's
 * connection and to the subscribers that see it, each addressed. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "bus-error.h"
#include "legacy.h"
#include "log.h"
#include "visibility.h"
#include "missing-pidfd.h"
#include "parse-util.h"
#include "request.h"
#include "subscription.h"
#include "workload.h"

/* A property read straight off the workload. */
#define DEFINE_WORKLOAD_PROPERTY(name, signature, value)                                                       \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {           \
                const Workload *w = userdata;                                                                   \
                return sd_bus_message_append(reply, signature, value);                                          \
        }

DEFINE_WORKLOAD_PROPERTY(id, "t", w->id)
/* A lost workload's pid may name anyone by now: 0. */
DEFINE_WORKLOAD_PROPERTY(pid, "u", w->state == WORKLOAD_LOST ? 0 : (uint32_t) w->spawned.process.pid)
DEFINE_WORKLOAD_PROPERTY(owner_uid, "u", (uint32_t) w->owner_uid)
DEFINE_WORKLOAD_PROPERTY(user, "u", (uint32_t) w->user)
DEFINE_WORKLOAD_PROPERTY(state, "s", workload_state_to_string(w->state))
DEFINE_WORKLOAD_PROPERTY(created, "t", w->created_usec)
DEFINE_WORKLOAD_PROPERTY(control_path, "s", process_control_path(&w->spawned.process))
/* The unit's path as /proc/<pid>/cgroup shows it; "" without a unit. */
DEFINE_WORKLOAD_PROPERTY(control_group, "s", w->unit.path ?: "")

/* Each element with its trailing NUL, as GLib's bytestrings have it:
 * g_variant_get_bytestring_array() reads nothing from an element without
 * one. */
static int property_get_argv(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "ay");
        if (r < 0)
                return r;
        for (char **a = w->argv; a && *a; a++) {
                r = sd_bus_message_append_array(reply, 'y', *a, strlen(*a) + 1);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_exit_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        return sd_bus_message_append(reply, "(si)", w->exit_code, w->exit_status);
}

static int property_get_namespaces(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                if (w->namespaces[t] == 0)
                        continue;
                r = sd_bus_message_append(reply, "{st}", namespace_name(t), w->namespaces[t]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* Who may call a method here was settled before dispatch (visibility.h):
 * the owner, or a caller manage let see it. What a method then does with
 * the process goes through the request pipeline like Broker1's. */

static int method_get_pidfd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;

        if (w->spawned.process.fd < 0 && w->state != WORKLOAD_RUNNING)
                return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS,
                                        "The workload has no pidfd any more (lost, or exited before a restart).");
        if (w->spawned.process.fd < 0)
                return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "Workload runs on the legacy PID path.");
        return sd_bus_reply_method_return(msg, "h", w->spawned.process.fd);
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        Request *r;
        int32_t sig;
        uint32_t flags;
        int k;

        k = request_begin(w->manager, msg, ACTION_SIGNAL, &r, error);
        if (k < 0)
                return k;
        k = sd_bus_message_read(msg, "iu", &sig, &flags);
        if (k < 0)
                return request_refuse_errno(r, NULL, k, "Bad arguments", error);
        if (signal_check_args(sig, flags, error) < 0)
                return request_refuse(r, NULL, error);
        if (w->state != WORKLOAD_RUNNING) {
                sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The workload has exited.");
                return request_refuse(r, NULL, error);
        }
        return handle_signal(r, &w->spawned.process, sig, flags, error);
}

/* Wait and Stop beyond MaxWaitersPerWorkload. */
static int waiters_full(Workload *w, sd_bus_error *error) {
        return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                 "Workload %" PRIu64 " has %u Wait or Stop calls pending already "
                                 "(MaxWaitersPerWorkload); wait for one of them to return.",
                                 w->id, w->manager->config->max_waiters_per_workload);
}

/* Stop sends SIGTERM now (and SIGKILL after the timeout): the owner's own
 * business (the method table asks nothing of the owner), another user's
 * once manage let the caller see it. The SIGTERM is recorded with the
 * caller as subject, under org.pidbroker.signal ("daemon:owner") or
 * org.pidbroker.manage (the rule that let it see the workload). */
static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        Manager *m = w->manager;
        Target t = TARGET_NULL;
        Request *r;
        uint64_t seq = 0;
        int k;

        /* 1, 2. */
        k = request_begin(m, msg, ACTION_SIGNAL, &r, error);
        if (k < 0)
                return k;
        target_from_workload(w, &r->caller, &r->facts, &t);
        t.signal = SIGTERM;
        t.flags = 0;
        /* Refused before the SIGTERM is recorded: a record whose signal is
         * never sent would have no outcome. */
        if (!workload_waiter_room(w)) {
                waiters_full(w, error);
                return request_refuse(r, &t, error);
        }

        if (workload_stop_signals(w)) {
                /* 3. */
                if (r->caller.uid == w->owner_uid)
                        request_allow(r, ACTION_SIGNAL, "daemon:owner");
                else
                        request_allow(r, ACTION_MANAGE, r->manage.result.rule);
                /* 4. */
                k = request_record(r, &t, &seq, error);
                if (k < 0)
                        return k;
        }

        /* 5, 6 (in workload_stop()), 7 at exit. */
        k = workload_stop(w, msg, seq);
        if (k < 0)
                return bus_error_from_errno(error, k, "Stop failed");
        return 1;
}

static int method_wait(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        Request *r;
        int k;

        k = request_begin(w->manager, msg, ACTION_SIGNAL, &r, error);
        if (k < 0)
                return k;
        if (!workload_waiter_room(w)) {
                waiters_full(w, error);
                return request_refuse(r, NULL, error);
        }
        k = workload_add_waiter(w, msg);
        if (k < 0)
                return bus_error_from_errno(error, k, "Wait failed");
        return 1;
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;

        if (w->state == WORKLOAD_STOPPING)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
                                        "Workload is stopping: its cgroup still has processes; Stop or Wait for it "
                                        "first.");
        /* An exit the kernel has signalled but the loop not yet taken is
         * taken now: a client that saw its pidfd readable may release. */
        if (w->state != WORKLOAD_LOST && !workload_collect_exit(w))
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
                                        "Workload is still running; Stop or Wait for it first.");
        /* Forgotten, its unit and its record too, before the caller hears
         * so: once Release returns, nothing of it is left. */
        workload_release(w);
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable workload_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", property_get_pid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Argv", "aay", property_get_argv, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OwnerUid", "u", property_get_owner_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("User", "u", property_get_user, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ControlGroup", "s", property_get_control_group, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "(si)", property_get_exit_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Namespaces", "a{st}", property_get_namespaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedUsec", "t", property_get_created, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ControlPath", "s", property_get_control_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_NAMES("GetPidfd", NULL, , "h", SD_BUS_PARAM(pidfd), method_get_pidfd,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Signal", "iu", SD_BUS_PARAM(signal) SD_BUS_PARAM(flags), NULL, , method_signal,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Stop", NULL, , "si", SD_BUS_PARAM(code) SD_BUS_PARAM(status), method_stop,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Wait", NULL, , "si", SD_BUS_PARAM(code) SD_BUS_PARAM(status), method_wait,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", NULL, NULL, method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("Exited", "si", SD_BUS_PARAM(code) SD_BUS_PARAM(status), 0),
        SD_BUS_VTABLE_END
};

int workload_id_from_path(const char *path, uint64_t *ret) {
        size_t l = strlen(WORKLOAD_PATH_PREFIX);

        if (strncmp(path, WORKLOAD_PATH_PREFIX, l) != 0 || path[l] != '/')
                return -EINVAL;
        return parse_u64_strict(path + l + 1, ret);
}

static int workload_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                                void **found, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t id;

        if (workload_id_from_path(path, &id) < 0)
                return 0;
        Workload *w = workload_find(m, id);
        /* One the caller may not see is one that does not exist. */
        if (!w || !workload_visible(m, bus, w))
                return 0;
        *found = w;
        return 1;
}

static int workload_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                                    sd_bus_error *error) {
        Manager *m = userdata;
        size_t n = 0;
        char **l;

        l = calloc(m->n_workloads + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (Workload *w = m->workloads; w; w = w->next) {
                if (!w->path || !workload_visible(m, bus, w))
                        continue;
                l[n] = strdup(w->path);
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                n++;
        }
        *ret_nodes = l;
        return 0;
}

int workload_register_objects(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, WORKLOAD_PATH_PREFIX, WORKLOAD_INTERFACE, workload_vtable,
                                       workload_object_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, WORKLOAD_PATH_PREFIX, workload_node_enumerator, m);
}

/* Who hears of a workload: its owner's connection while it is there, and
 * each subscriber that sees the workload (subscription.h), the owner's own
 * connection once. Each gets its own copy, addressed to it: on the bus a
 * unicast destination; on the direct socket the connection is the peer.
 * Nothing about a workload is broadcast. */

typedef int (*SignalFill)(Workload *w, sd_bus_message *s);

static bool workload_owner_connected(const Workload *w) {
        return !w->owner_gone && w->owner_bus;
}

static bool subscriber_is_owner(const Subscriber *s, const Workload *w) {
        return workload_owner_connected(w) && s->bus == w->owner_bus &&
               (s->name == w->owner_name || (s->name && w->owner_name && strcmp(s->name, w->owner_name) == 0));
}

static int send_signal_to(Workload *w, sd_bus *bus, const char *destination, const char *path, const char *interface,
                          const char *member, SignalFill fill) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &s, path, interface, member);
        if (r < 0)
                return r;
        if (destination) {
                r = sd_bus_message_set_destination(s, destination);
                if (r < 0)
                        return r;
        }
        r = fill(w, s);
        if (r < 0)
                return r;
        return sd_bus_send(bus, s, NULL);
}

/* to_owner false: the subscribers alone (WorkloadNew, WorkloadRemoved).
 * Every recipient is tried; the first failure is returned. */
static int workload_send_signal(Workload *w, bool to_owner, const char *path, const char *interface,
                                const char *member, SignalFill fill) {
        int r = 0, k;

        if (to_owner && workload_owner_connected(w))
                r = send_signal_to(w, w->owner_bus, w->owner_name, path, interface, member, fill);
        for (Subscriber *s = w->manager->subscribers; s; s = s->next) {
                if (!subscriber_sees(s, w->owner_uid) || (to_owner && subscriber_is_owner(s, w)))
                        continue;
                k = send_signal_to(w, s->bus, s->name, path, interface, member, fill);
                if (k < 0 && r >= 0)
                        r = k;
        }
        if (r < 0)
                log_debug_errno(r, "Failed to send %s for workload %" PRIu64 ": %m", member, w->id);
        return r;
}

static int fill_exited(Workload *w, sd_bus_message *s) {
        return sd_bus_message_append(s, "si", w->exit_code, w->exit_status);
}

int workload_send_exited(Workload *w) {
        return workload_send_signal(w, true, w->path, WORKLOAD_INTERFACE, "Exited", fill_exited);
}

typedef struct PropertyRow {
        const char *name, *signature;
        sd_bus_property_get_t get;
} PropertyRow;

/* Every property, as InterfacesAdded carries them. */
static const PropertyRow workload_properties[] = {
        { "Id", "t", property_get_id },
        { "Pid", "u", property_get_pid },
        { "Argv", "aay", property_get_argv },
        { "OwnerUid", "u", property_get_owner_uid },
        { "User", "u", property_get_user },
        { "ControlGroup", "s", property_get_control_group },
        { "State", "s", property_get_state },
        { "ExitStatus", "(si)", property_get_exit_status },
        { "Namespaces", "a{st}", property_get_namespaces },
        { "CreatedUsec", "t", property_get_created },
        { "ControlPath", "s", property_get_control_path },
};

/* Those that change (SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE in the vtable). */
static const PropertyRow workload_changing_properties[] = {
        { "State", "s", property_get_state },
        { "ExitStatus", "(si)", property_get_exit_status },
};

/* The interface name and an a{sv} of the rows' current values, as both
 * PropertiesChanged and InterfacesAdded carry them. */
static int append_properties(Workload *w, sd_bus_message *s, const PropertyRow *rows, size_t n) {
        int r;

        r = sd_bus_message_append(s, "s", WORKLOAD_INTERFACE);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(s, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_open_container(s, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(s, "s", rows[i].name);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(s, 'v', rows[i].signature);
                if (r < 0)
                        return r;
                r = rows[i].get(sd_bus_message_get_bus(s), w->path, WORKLOAD_INTERFACE, rows[i].name, s, w, NULL);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(s);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(s);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(s);
}

static int fill_properties_changed(Workload *w, sd_bus_message *s) {
        int r;

        r = append_properties(w, s, workload_changing_properties, ELEMENTSOF(workload_changing_properties));
        if (r < 0)
                return r;
        return sd_bus_message_append(s, "as", 0);
}

int workload_send_properties_changed(Workload *w) {
        return workload_send_signal(w, true, w->path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                    fill_properties_changed);
}

static int fill_interfaces_added(Workload *w, sd_bus_message *s) {
        int r;

        r = sd_bus_message_append(s, "o", w->path);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(s, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(s, 'e', "sa{sv}");
        if (r < 0)
                return r;
        r = append_properties(w, s, workload_properties, ELEMENTSOF(workload_properties));
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(s);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(s);
}

static int fill_interfaces_removed(Workload *w, sd_bus_message *s) {
        return sd_bus_message_append(s, "oas", w->path, 1, WORKLOAD_INTERFACE);
}

static int fill_id_path(Workload *w, sd_bus_message *s) {
        return sd_bus_message_append(s, "to", w->id, w->path);
}

int workload_send_interfaces_added(Workload *w) {
        int r, k;

        r = workload_send_signal(w, false, BROKER_PATH, BROKER_INTERFACE, "WorkloadNew", fill_id_path);
        k = workload_send_signal(w, true, BROKER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                 fill_interfaces_added);
        return r < 0 ? r : k;
}

int workload_send_interfaces_removed(Workload *w) {
        int r, k;

        r = workload_send_signal(w, true, BROKER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                 fill_interfaces_removed);
        k = workload_send_signal(w, false, BROKER_PATH, BROKER_INTERFACE, "WorkloadRemoved", fill_id_path);
        return r < 0 ? r : k;
}
