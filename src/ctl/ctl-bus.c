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

int ctl_error(int r, const sd_bus_error *error, const char *format, ...) {
        _cleanup_free_ char *context = NULL;
        va_list ap;

        if (r >= 0)
                r = -EIO;

        va_start(ap, format);
        if (vasprintf(&context, format, ap) < 0)
                context = NULL;
        va_end(ap);

        if (error && sd_bus_error_is_set(error)) {
                /* A D-Bus error is shown by its name and the daemon's own
                 * words; the local context only with -v. */
                if (arg.verbose > 0 && context)
                        fprintf(stderr, "pidbrokerctl: %s\n", context);
                print_error_line(error->name, error->message ?: context ?: "");
        } else {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *msg = NULL;

                /* A local failure gets sd-bus's name for the errno, so the
                 * line has the same shape as a remote one. */
                sd_bus_error_set_errno(&e, r);
                if (asprintf(&msg, "%s: %s", context ?: "Failed", strerror(-r)) < 0)
                        msg = NULL;
                print_error_line(e.name ?: "System.Error", msg ?: strerror(-r));
                sd_bus_error_free(&e);
        }
        return r;
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

const char *ctl_destination(void) {
        /* A peer-to-peer connection has no bus driver to route by name. */
        return arg.transport == TRANSPORT_DIRECT ? NULL : BROKER_BUS_NAME;
}

int ctl_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *address = NULL;
        const char *what;
        int r;

        switch (arg.transport) {
        case TRANSPORT_SYSTEM:
                /* Honours $DBUS_SYSTEM_BUS_ADDRESS. */
                what = "system bus";
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to connect to the %s", what);
                break;

        case TRANSPORT_DIRECT:
        case TRANSPORT_ADDRESS:
                if (arg.transport == TRANSPORT_DIRECT) {
                        _cleanup_free_ char *escaped = address_escape(arg.address ?: DEFAULT_PRIVATE_SOCKET);
                        if (!escaped || asprintf(&address, "unix:path=%s", escaped) < 0)
                                return ctl_error(-ENOMEM, NULL, "Out of memory");
                } else {
                        address = strdup(arg.address);
                        if (!address)
                                return ctl_error(-ENOMEM, NULL, "Out of memory");
                }
                what = address;

                r = sd_bus_new(&bus);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to allocate a bus connection");
                r = sd_bus_set_address(bus, address);
                if (r < 0)
                        return ctl_error(r, NULL, "Invalid bus address '%s'", address);
                /* --direct is peer-to-peer: no Hello, no bus driver. */
                r = sd_bus_set_bus_client(bus, arg.transport == TRANSPORT_ADDRESS);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to configure the connection");
                r = sd_bus_negotiate_fds(bus, true);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to enable fd passing");
                r = sd_bus_start(bus);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to connect to %s", what);
                break;

        default:
                return ctl_error(-EINVAL, NULL, "Unknown transport");
        }

        /* Let polkit ask an agent when a person is at the terminal. */
        (void) sd_bus_set_allow_interactive_authorization(bus, isatty(STDIN_FILENO) > 0);

        ctl_debug("connected to %s", what);
        *ret = TAKE_PTR(bus);
        return 0;
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

int ctl_call(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, sd_bus_error *error, sd_bus_message **reply) {
        /* sd-bus takes UINT64_MAX as "no timeout" and 0 as its 25s default. */
        return sd_bus_call(bus, m, timeout_usec, error, reply);
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
