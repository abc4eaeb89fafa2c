/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Connecting to the broker and reporting errors, the same way for every verb. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"

static void print_error_line(const char *name, const char *message) {
        /* One line, whatever the daemon put in its message. */
        fprintf(stderr, "pidbrokerctl: %s: ", name);
        for (const char *p = message; *p; p++)
                fputc(*p == '\n' ? ' ' : *p, stderr);
        fputc('\n', stderr);
}

/* One line: "NAME: message" for the broker's errors, "context: reason" for
 * ours, which are never dressed up as D-Bus errors. */
static int report(int r, const char *name, const char *message, const char *format, va_list ap) {
        _cleanup_free_ char *context = NULL;

        if (r >= 0)
                r = -EIO;
        if (vasprintf(&context, format, ap) < 0)
                context = NULL;

        if (name) {
                /* The broker's own words; the local context only with -v. */
                if (arg.verbose > 0 && context)
                        fprintf(stderr, "pidbrokerctl: %s\n", context);
                print_error_line(name, message ?: context ?: "");
        } else
                print_error_line(context ?: "Failed", strerror(-r));
        return r;
}

int ctl_error(int r, const sd_bus_error *error, const char *format, ...) {
        /* sd-bus names a local failure System.Error.<ERRNO>. */
        bool remote = error && sd_bus_error_is_set(error) && strncmp(error->name, "System.Error.", 13) != 0;
        va_list ap;

        va_start(ap, format);
        r = report(r, remote ? error->name : NULL, remote ? error->message : NULL, format, ap);
        va_end(ap);
        return r;
}

int ctl_lib_error(int r, const pidbroker_error *error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        r = report(r, error ? error->name : NULL, error ? error->message : NULL, format, ap);
        va_end(ap);
        return r;
}

int ctl_plain_error(int r, const char *format, ...) {
        va_list ap;

        fputs("pidbrokerctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r < 0 ? r : -EIO;
}

static bool usage_error_seen;

bool ctl_usage_error_seen(void) {
        return usage_error_seen;
}

int ctl_usage_error(const char *format, ...) {
        va_list ap;

        usage_error_seen = true;
        fputs("pidbrokerctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

void ctl_debug(const char *format, ...) {
        va_list ap;

        if (arg.verbose <= 0)
                return;
        fputs("pidbrokerctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

const char *ctl_destination(void) {
        /* A peer-to-peer connection has no bus driver to route by name. */
        return arg.transport == TRANSPORT_DIRECT ? NULL : BROKER_BUS_NAME;
}

/* One connection per run, made by libpidbroker. */
static pidbroker_client *client;

int ctl_connect_client(pidbroker_client **ret) {
        int r;

        if (!client) {
                switch (arg.transport) {
                case TRANSPORT_SYSTEM:
                        /* Honours $DBUS_SYSTEM_BUS_ADDRESS. */
                        r = pidbroker_connect_system(&client);
                        break;
                case TRANSPORT_DIRECT:
                        r = pidbroker_connect_direct(arg.address, &client);
                        break;
                case TRANSPORT_ADDRESS:
                        r = pidbroker_connect_address(arg.address, &client);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to connect to %s",
                                         arg.transport == TRANSPORT_SYSTEM ? "the system bus" : arg.address);
                /* Let polkit ask an agent when a person is at the terminal. */
                (void) pidbroker_client_set_interactive(client, isatty(STDIN_FILENO) > 0);
                ctl_debug("connected to %s", arg.transport == TRANSPORT_SYSTEM ? "the system bus" : arg.address);
        }
        *ret = client;
        return 0;
}

int ctl_connect(sd_bus **ret) {
        pidbroker_client *c;
        int r;

        r = ctl_connect_client(&c);
        if (r < 0)
                return r;
        *ret = sd_bus_ref(pidbroker_client_get_bus(c));
        return 0;
}

void ctl_disconnect(void) {
        client = pidbroker_client_unref(client);
}

int ctl_workload_path(const char *id_or_path, char **ret) {
        uint64_t id;
        char *path;

        if (id_or_path[0] == '/') {
                if (!sd_bus_object_path_is_valid(id_or_path))
                        return ctl_usage_error("'%s' is not a valid object path", id_or_path);
                path = strdup(id_or_path);
        } else {
                if (parse_u64(id_or_path, &id) < 0)
                        return ctl_usage_error("'%s' is neither a workload id nor an object path", id_or_path);
                if (asprintf(&path, WORKLOAD_PATH_PREFIX "%" PRIu64, id) < 0)
                        path = NULL;
        }
        if (!path)
                return ctl_error(-ENOMEM, NULL, "Out of memory");
        *ret = path;
        return 0;
}

int ctl_exit_code(const char *code, int status) {
        if (code && strcmp(code, "exited") == 0)
                return status & 0xff;
        if (code && (strcmp(code, "killed") == 0 || strcmp(code, "dumped") == 0))
                return 128 + (status & 0x7f);
        return EXIT_CTL_FAILED;
}

int ctl_read_properties(sd_bus_message *m, ctl_property_reader read_one, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name, *sig;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &sig);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(m, 'v', sig);
                if (r < 0)
                        return r;
                r = read_one(m, name, sig, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int ctl_read_string(sd_bus_message *m, char **ret) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}
