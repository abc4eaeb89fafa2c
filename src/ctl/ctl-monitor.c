/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `monitor`: one line per workload event. It subscribes
 * (Broker1.Subscribe), so the broker sends it InterfacesAdded,
 * PropertiesChanged, Exited and InterfacesRemoved of every workload it may
 * see, and takes one GetManagedObjects snapshot to know what exists
 * already; from then on it only listens: no call, however many workloads
 * come and go. An exit is reported once, whether PropertiesChanged (State
 * "exited") or Exited says it first. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "ctl-util.h"
#include "ctl-workload-info.h"
#include "ctl.h"
#include "json.h"

typedef struct Known {
        char *path;
        bool exited;
} Known;

typedef struct Monitor {
        sd_bus *bus;
        sd_event *event;
        Known *known;
        size_t n_known;
        int result;
} Monitor;

static Known *known_find(Monitor *m, const char *path) {
        for (size_t i = 0; i < m->n_known; i++)
                if (strcmp(m->known[i].path, path) == 0)
                        return &m->known[i];
        return NULL;
}

static Known *known_add(Monitor *m, const char *path) {
        Known *n = realloc(m->known, (m->n_known + 1) * sizeof *n);

        if (!n)
                return NULL;
        m->known = n;
        n[m->n_known] = (Known) { .path = strdup(path) };
        if (!n[m->n_known].path)
                return NULL;
        return &n[m->n_known++];
}

static void known_remove(Monitor *m, Known *k) {
        free(k->path);
        *k = m->known[--m->n_known];
}

static bool is_workload_path(const char *path) {
        return path && strncmp(path, WORKLOAD_PATH_PREFIX, strlen(WORKLOAD_PATH_PREFIX)) == 0;
}

static bool workload_path_id(const char *path, uint64_t *ret) {
        return is_workload_path(path) && parse_u64(path + strlen(WORKLOAD_PATH_PREFIX), ret) >= 0;
}

/* ---- output: "TIME EVENT ID details" or one JSON object per line ---- */

static void event_begin(const char *event, const char *path) {
        uint64_t now = now_realtime_usec(), id;
        char buf[64];

        if (arg.json) {
                fputc('{', stdout);
                json_write_key(stdout, "time_usec", true);
                printf("%" PRIu64, now);
                json_write_key(stdout, "event", false);
                json_write_string(stdout, event);
                json_write_key(stdout, "path", false);
                json_write_string(stdout, path);
                json_write_key(stdout, "id", false);
                if (workload_path_id(path, &id))
                        printf("%" PRIu64, id);
                else
                        fputs("null", stdout);
        } else {
                printf("%s %-7s ", format_timestamp(now, buf, sizeof buf), event);
                if (workload_path_id(path, &id))
                        printf("%" PRIu64, id);
                else
                        fputs(path, stdout);
        }
}

static void event_end(void) {
        fputs(arg.json ? "}\n" : "\n", stdout);
        fflush(stdout);
}

/* The exit status: a JSON member "exit" (first: no leading comma), or text. */
static void write_exit(const char *code, int32_t status, bool first) {
        char sig[32];

        if (arg.json) {
                json_write_key(stdout, "exit", first);
                if (!code || !*code) {
                        fputs("null", stdout);
                        return;
                }
                fputc('{', stdout);
                json_write_key(stdout, "code", true);
                json_write_string(stdout, code);
                json_write_key(stdout, "status", false);
                printf("%" PRIi32 "}", status);
        } else if (code && strcmp(code, "exited") == 0)
                printf(" exited %" PRIi32, status);
        else if (code && *code)
                printf(" %s %s", code, signal_to_string(status, sig, sizeof sig));
}

static void emit_new(const WorkloadInfo *info) {
        event_begin("new", info->path);
        if (arg.json) {
                json_write_key(stdout, "workload", false);
                workload_info_write_json(stdout, info);
        } else {
                _cleanup_free_ char *cmdline = workload_info_command_line(info);
                printf(" pid %" PRIu32 " %s", info->pid, cmdline ?: "");
        }
        event_end();
}

static void emit_exited(const char *path, const char *code, int32_t status) {
        event_begin("exited", path);
        write_exit(code, status, false);
        event_end();
}

static void emit_removed(const char *path) {
        event_begin("removed", path);
        event_end();
}

/* By State where it is given: in "stopping" the main process's status may
 * be known already, but the workload has not ended. */
static bool info_exited(const WorkloadInfo *info) {
        if (info->state)
                return strcmp(info->state, "exited") == 0;
        return info->exit_code && *info->exit_code;
}

/* A workload in InterfacesAdded: report what is new about it. */
static void observe(Monitor *m, const WorkloadInfo *info) {
        Known *k = known_find(m, info->path);

        if (!k) {
                k = known_add(m, info->path);
                if (!k) {
                        m->result = ctl_error(-ENOMEM, NULL, "Out of memory");
                        sd_event_exit(m->event, 0);
                        return;
                }
                emit_new(info);
        }
        if (!k->exited && info_exited(info)) {
                k->exited = true;
                emit_exited(info->path, info->exit_code, info->exit_status);
        }
}

/* ---- signals ---- */

static int on_interfaces_added(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *path;

        if (sd_bus_message_read(msg, "o", &path) < 0 || !is_workload_path(path) ||
            sd_bus_message_enter_container(msg, 'a', "{sa{sv}}") < 0)
                return 0;
        while (sd_bus_message_enter_container(msg, 'e', "sa{sv}") > 0) {
                WorkloadInfo info = {};
                const char *iface;

                if (sd_bus_message_read(msg, "s", &iface) < 0)
                        break;
                if (strcmp(iface, WORKLOAD_INTERFACE) != 0) {
                        if (sd_bus_message_skip(msg, "a{sv}") < 0 || sd_bus_message_exit_container(msg) < 0)
                                break;
                        continue;
                }
                info.path = strdup(path);
                if (info.path && workload_info_read(msg, &info) >= 0)
                        observe(m, &info);
                workload_info_done(&info);
                break;
        }
        return 0;
}

static int on_interfaces_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *path;
        Known *k;

        if (sd_bus_message_read(msg, "o", &path) < 0 || !is_workload_path(path))
                return 0;
        k = known_find(m, path);
        if (k) {
                emit_removed(path);
                known_remove(m, k);
        }
        return 0;
}

static int on_exited(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *path = sd_bus_message_get_path(msg), *code;
        int32_t status;
        Known *k;

        if (!is_workload_path(path) || sd_bus_message_read(msg, "si", &code, &status) < 0)
                return 0;
        k = known_find(m, path);
        if (!k) {
                k = known_add(m, path);
                if (!k)
                        return 0;
        }
        if (!k->exited) {
                k->exited = true;
                emit_exited(path, code, status);
        }
        return 0;
}

/* An exit is the "exited" line (once, as Exited would say it); any other
 * State, such as "stopping" or "lost", a "changed" line. */
static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *path = sd_bus_message_get_path(msg), *iface;
        WorkloadInfo info = {};
        Known *k;

        if (!is_workload_path(path) || sd_bus_message_read(msg, "s", &iface) < 0 ||
            strcmp(iface, WORKLOAD_INTERFACE) != 0 || workload_info_read(msg, &info) < 0)
                goto finish;

        k = known_find(m, path);
        if (info_exited(&info)) {
                if (!k)
                        k = known_add(m, path);
                if (k && !k->exited) {
                        k->exited = true;
                        emit_exited(path, info.exit_code, info.exit_status);
                }
                goto finish;
        }
        if (!info.state)
                goto finish;

        event_begin("changed", path);
        if (arg.json) {
                json_write_key(stdout, "changed", false);
                fputc('{', stdout);
                json_write_key(stdout, "state", true);
                json_write_string(stdout, info.state);
                fputc('}', stdout);
        } else
                printf(" State=%s", info.state);
        event_end();
finish:
        workload_info_done(&info);
        return 0;
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;

        m->result = ctl_error(-ECONNRESET, NULL, "The connection to the broker was closed");
        return sd_event_exit(m->event, 0);
}

/* The broker left: the subscription went with it. */
static int on_broker_gone(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || !*old_owner)
                return 0;
        m->result = ctl_error(-ECONNRESET, NULL, "The broker left the bus; its events are no longer heard");
        return sd_event_exit(m->event, 0);
}

/* Subscribe, then learn what exists: workloads that exist when monitoring
 * starts are not events. Signals that arrive meanwhile are queued and
 * handled after it. */
static int monitor_start(Monitor *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        WorkloadInfo *list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(m->bus, ctl_destination(), BROKER_PATH, BROKER_INTERFACE, "Subscribe", &error, NULL,
                               NULL);
        if (r < 0)
                return ctl_error(r, &error, "Failed to subscribe to workload events");

        r = workload_info_list(m->bus, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                Known *k = known_add(m, list[i].path);
                if (!k) {
                        workload_info_free_array(list, n);
                        return ctl_error(-ENOMEM, NULL, "Out of memory");
                }
                k->exited = info_exited(&list[i]);
        }
        workload_info_free_array(list, n);
        return 0;
}

static int on_quit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int verb_monitor(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        const char *sender = ctl_destination();
        Monitor m = {};
        sigset_t mask;
        int r;
        static const struct {
                const char *interface, *member, *path_namespace;
                sd_bus_message_handler_t handler;
        } matches[] = {
                { "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", NULL, on_interfaces_added },
                { "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", NULL, on_interfaces_removed },
                { WORKLOAD_INTERFACE, "Exited", NULL, on_exited },
                { "org.freedesktop.DBus.Properties", "PropertiesChanged", "/org/pidbroker/Broker1/workload",
                  on_properties_changed },
        };

        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = sd_event_default(&event);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to allocate an event loop");
        m.bus = bus;
        m.event = event;

        for (size_t i = 0; i < ELEMENTSOF(matches); i++) {
                _cleanup_free_ char *rule = NULL;

                /* On the direct socket there is no sender name to match. */
                if (asprintf(&rule, "type='signal',interface='%s',member='%s'%s%s%s%s%s%s",
                             matches[i].interface, matches[i].member,
                             sender ? ",sender='" : "", sender ?: "", sender ? "'" : "",
                             matches[i].path_namespace ? ",path_namespace='" : "",
                             matches[i].path_namespace ?: "", matches[i].path_namespace ? "'" : "") < 0)
                        return ctl_error(-ENOMEM, NULL, "Out of memory");
                r = sd_bus_add_match(bus, NULL, rule, matches[i].handler, &m);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to subscribe to %s.%s", matches[i].interface,
                                         matches[i].member);
        }
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, &m);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to watch the connection");
        if (sender) {
                _cleanup_free_ char *rule = NULL;

                if (asprintf(&rule, "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                             "member='NameOwnerChanged',arg0='%s'", sender) < 0)
                        return ctl_error(-ENOMEM, NULL, "Out of memory");
                r = sd_bus_add_match(bus, NULL, rule, on_broker_gone, &m);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to watch the broker");
        }

        r = monitor_start(&m);
        if (r < 0)
                goto finish;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = ctl_error(-errno, NULL, "Failed to block signals");
                goto finish;
        }
        if (sd_event_add_signal(event, NULL, SIGINT, on_quit_signal, NULL) < 0 ||
            sd_event_add_signal(event, NULL, SIGTERM, on_quit_signal, NULL) < 0) {
                r = ctl_error(-EIO, NULL, "Failed to watch signals");
                goto finish;
        }
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                ctl_error(r, NULL, "Failed to attach the bus to the event loop");
                goto finish;
        }

        ctl_debug("monitoring workload events; ^C to stop");
        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        if (r < 0)
                ctl_error(r, NULL, "Event loop failed");
        else
                r = m.result;

finish:
        for (size_t i = 0; i < m.n_known; i++)
                free(m.known[i].path);
        free(m.known);
        return r;
}
