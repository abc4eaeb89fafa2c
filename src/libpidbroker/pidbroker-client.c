/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Connecting to the broker, and errors: the D-Bus error names of
 * org.pidbroker.Broker1(5) mapped to errnos once, for every caller. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pidbroker-internal.h"

static const sd_bus_error_map pidbroker_error_map[] = {
        SD_BUS_ERROR_MAP(PIDBROKER_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(PIDBROKER_ERROR_NO_SUCH_PROCESS, ESRCH),
        SD_BUS_ERROR_MAP(PIDBROKER_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(PIDBROKER_ERROR_SPAWN_FAILED, ENOEXEC),
        SD_BUS_ERROR_MAP(PIDBROKER_ERROR_AUDIT_FAILED, EIO),
        SD_BUS_ERROR_MAP(PIDBROKER_ERROR_LIMIT_EXCEEDED, EUSERS),
        SD_BUS_ERROR_MAP_END,
};

_public_ void pidbroker_error_free(pidbroker_error *e) {
        if (!e)
                return;
        free(e->name);
        free(e->message);
        e->name = e->message = NULL;
}

int client_set_error(pidbroker_error *error, int r, const sd_bus_error *e, const char *message) {
        /* sd-bus names a local failure System.Error.<ERRNO>: that is ours,
         * not the broker's. */
        bool remote = e && sd_bus_error_is_set(e) && strncmp(e->name, "System.Error.", 13) != 0;

        if (remote) {
                int n = sd_bus_error_get_errno(e);
                r = n > 0 ? -n : -EIO;
        } else if (r >= 0)
                r = -EIO;

        if (!error)
                return r;
        pidbroker_error_free(error);
        if (remote) {
                error->name = strdup(e->name);
                error->message = e->message ? strdup(e->message) : NULL;
        } else if (asprintf(&error->message, "%s: %s", message ?: "Failed", strerror(-r)) < 0)
                error->message = NULL;
        return r;
}

_public_ const char *pidbroker_exit_kind_to_string(pidbroker_exit_kind kind) {
        switch (kind) {
        case PIDBROKER_EXIT_EXITED:
                return "exited";
        case PIDBROKER_EXIT_KILLED:
                return "killed";
        case PIDBROKER_EXIT_DUMPED:
                return "dumped";
        default:
                return "";
        }
}

_public_ int pidbroker_exit_status_to_code(const pidbroker_exit_status *s) {
        if (!s)
                return -EINVAL;
        switch (s->kind) {
        case PIDBROKER_EXIT_EXITED:
                return s->status & 0xff;
        case PIDBROKER_EXIT_KILLED:
        case PIDBROKER_EXIT_DUMPED:
                return 128 + (s->status & 0x7f);
        default:
                return -EINVAL;
        }
}

/* D-Bus address escaping: optionally-escaped bytes pass, others become %XX. */
static char *address_escape(const char *s) {
        char *buf = malloc(strlen(s) * 3 + 1), *p = buf;

        if (!buf)
                return NULL;
        for (; *s; s++) {
                if (strchr("-_/\\.*", *s) || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                    (*s >= 'A' && *s <= 'Z'))
                        *p++ = *s;
                else
                        p += sprintf(p, "%%%02x", (unsigned char) *s);
        }
        *p = 0;
        return buf;
}

/* Takes over bus on success. */
static int client_new(sd_bus *bus, bool direct, pidbroker_client **ret) {
        pidbroker_client *c;
        int r;

        /* Process-wide and idempotent: sd_bus_error_get_errno() then knows
         * the broker's names. */
        r = sd_bus_error_add_map(pidbroker_error_map);
        if (r < 0)
                return r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->bus = bus;
        c->direct = direct;
        *ret = c;
        return 0;
}

_public_ int pidbroker_connect_system(pidbroker_client **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = client_new(bus, false, ret);
        if (r >= 0)
                TAKE_PTR(bus);
        return r;
}

static int connect_to(const char *address, bool direct, pidbroker_client **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        /* The direct socket is peer-to-peer: no Hello, no bus driver. */
        r = sd_bus_set_bus_client(bus, !direct);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_fds(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = client_new(bus, direct, ret);
        if (r >= 0)
                TAKE_PTR(bus);
        return r;
}

_public_ int pidbroker_connect_address(const char *address, pidbroker_client **ret) {
        if (!address || !ret)
                return -EINVAL;
        return connect_to(address, false, ret);
}

_public_ int pidbroker_connect_direct(const char *socket_path, pidbroker_client **ret) {
        _cleanup_free_ char *escaped = NULL, *address = NULL;

        if (!ret)
                return -EINVAL;
        escaped = address_escape(socket_path ?: PIDBROKER_DEFAULT_PRIVATE_SOCKET);
        if (!escaped || asprintf(&address, "unix:path=%s", escaped) < 0)
                return -ENOMEM;
        return connect_to(address, true, ret);
}

_public_ pidbroker_client *pidbroker_client_ref(pidbroker_client *c) {
        if (c)
                c->n_ref++;
        return c;
}

_public_ pidbroker_client *pidbroker_client_unref(pidbroker_client *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        /* Workloads hold a reference: none is pending here. */
        client_drop_subscription(c);
        c->disconnected_slot = sd_bus_slot_unref(c->disconnected_slot);
        (void) sd_bus_detach_event(c->bus);
        sd_bus_flush_close_unref(c->bus);
        free(c);
        return NULL;
}

_public_ int pidbroker_client_set_interactive(pidbroker_client *c, bool b) {
        if (!c)
                return -EINVAL;
        return sd_bus_set_allow_interactive_authorization(c->bus, b);
}

_public_ sd_bus *pidbroker_client_get_bus(pidbroker_client *c) {
        return c ? c->bus : NULL;
}

_public_ const char *pidbroker_client_get_destination(pidbroker_client *c) {
        return !c || c->direct ? NULL : BROKER_BUS_NAME;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        pidbroker_client *c = userdata;

        /* A workload still watched on its pidfd would otherwise wait for an
         * exit status nobody can give any more. */
        client_fail_pending(c, -ECONNRESET, "Lost the connection to the broker");
        return 0;
}

_public_ int pidbroker_client_attach_event(pidbroker_client *c, sd_event *event, int64_t priority) {
        int r;

        if (!c)
                return -EINVAL;
        r = sd_bus_attach_event(c->bus, event, (int) priority);
        if (r < 0)
                return r;
        if (!c->disconnected_slot) {
                r = sd_bus_match_signal(c->bus, &c->disconnected_slot, "org.freedesktop.DBus.Local",
                                        "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnected, c);
                if (r < 0) {
                        (void) sd_bus_detach_event(c->bus);
                        return r;
                }
        }
        return 0;
}

_public_ int pidbroker_client_detach_event(pidbroker_client *c) {
        int r;

        if (!c)
                return -EINVAL;
        if (c->pending)
                return -EBUSY;
        c->disconnected_slot = sd_bus_slot_unref(c->disconnected_slot);
        r = sd_bus_detach_event(c->bus);
        return r < 0 ? r : 0;
}
