/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The direct socket: the same objects over a peer-to-peer D-Bus connection,
 * for callers that want identity without trusting a bus daemon. Each accepted
 * connection is an sd-bus server; the caller's identity is read once from
 * the socket (SO_PEERPIDFD, SO_PEERCRED), race-free. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "owner-track.h"
#include "request.h"
#include "subscription.h"
#include "manager.h"
#include "workload.h"

void private_connection_free(PrivateConnection *c) {
        if (!c)
                return;
        Manager *m = c->manager;

        LIST_REMOVE(m->connections, c);
        m->n_connections--;
        if (!c->authenticated)
                m->n_connections_authenticating--;
        c->auth_timer = sd_event_source_disable_unref(c->auth_timer);
        c->kick = sd_event_source_disable_unref(c->kick);
        /* Its workloads learn that their owner left, its calls and
         * waiters go. */
        owner_client_gone(m, c->bus, NULL);

        if (c->bus) {
                (void) sd_bus_detach_event(c->bus);
                /* No flush: it waits for a peer that may never read (or
                 * never finish authenticating) and would stall the loop. */
                sd_bus_close_unref(c->bus);
        }
        caller_done(&c->caller);
        free(c);
}

static int on_private_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        PrivateConnection *c = userdata;
        char buf[256];

        log_debug("Direct connection of %s closed.", caller_describe(&c->caller, buf, sizeof buf));
        private_connection_free(c);
        return 0;
}

static int on_auth_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        PrivateConnection *c = userdata;
        char buf[256];

        c->auth_timer = sd_event_source_disable_unref(c->auth_timer);
        if (c->authenticated)
                return 0;
        log_info("Direct connection of %s did not authenticate within AuthTimeoutSec, closing it.",
                 caller_describe(&c->caller, buf, sizeof buf));
        private_connection_free(c);
        return 0;
}

/* One message per wakeup, as sd-bus's own io source does, until none is
 * left of what came in with the authentication. */
static int on_kick(sd_event_source *s, void *userdata) {
        PrivateConnection *c = userdata;
        Manager *m = c->manager;
        sd_bus *bus = sd_bus_ref(c->bus);
        int r;

        r = sd_bus_process(bus, NULL);
        /* The call may have closed the connection (and freed c, and this
         * source with it): only a connection still listed is touched. */
        if (manager_find_connection(m, bus) == c && r <= 0)
                c->kick = sd_event_source_disable_unref(c->kick);
        sd_bus_unref(bus);
        return 0;
}

void private_connections_dispatch_new(Manager *m) {
        if (m->n_connections_authenticating == 0)
                return;
        for (PrivateConnection *c = m->connections; c; c = c->next) {
                if (c->authenticated || sd_bus_is_ready(c->bus) <= 0)
                        continue;
                c->authenticated = true;
                m->n_connections_authenticating--;
                c->auth_timer = sd_event_source_disable_unref(c->auth_timer);
                if (sd_event_add_defer(m->event, &c->kick, on_kick, c) < 0)
                        log_warning("Cannot dispatch the first calls of a direct connection now; they wait for more input.");
        }
}

/* Connections of uid on the direct socket. */
static unsigned connections_of(Manager *m, uid_t uid) {
        unsigned n = 0;
        for (PrivateConnection *c = m->connections; c; c = c->next)
                if (c->caller.uid == uid)
                        n++;
        return n;
}

int private_connection_add(Manager *m, int fd) {
        _cleanup_close_ int cfd = fd;
        PrivateConnection *c;
        sd_id128_t id;
        char buf[256];
        int r;

        if (m->n_connections >= m->config->max_connections) {
                log_warning("Too many direct connections (%u), refusing one.", m->n_connections);
                return -EUSERS;
        }

        c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->manager = m;
        c->caller = CALLER_NULL;

        r = caller_from_socket(cfd, m->config->control_path, &c->caller);
        if (r < 0) {
                log_warning_errno(r, "Cannot identify the peer of a direct connection, closing it: %m");
                free(c);
                return r;
        }
        /* One uid holding every slot would shut every other user out. */
        if (connections_of(m, c->caller.uid) >= m->config->max_connections_per_user) {
                log_warning("uid %u has %u direct connections (MaxConnectionsPerUser), refusing one.",
                            (unsigned) c->caller.uid, m->config->max_connections_per_user);
                caller_done(&c->caller);
                free(c);
                return -EUSERS;
        }

        LIST_PREPEND(m->connections, c);
        m->n_connections++;
        m->n_connections_authenticating++;

        r = sd_event_add_time_relative(m->event, &c->auth_timer, CLOCK_MONOTONIC, m->config->auth_timeout_usec, 0,
                                       on_auth_timeout, c);
        if (r < 0)
                goto fail_log;

        r = sd_bus_new(&c->bus);
        if (r < 0)
                goto fail_log;
        r = sd_bus_set_fd(c->bus, cfd, cfd);
        if (r < 0)
                goto fail_log;
        TAKE_FD(cfd); /* the bus owns it now */
        r = sd_id128_randomize(&id);
        if (r < 0)
                goto fail_log;
        r = sd_bus_set_server(c->bus, 1, id);
        if (r < 0)
                goto fail_log;
        /* The socket, not the auth exchange, says who the peer is. */
        r = sd_bus_set_anonymous(c->bus, 1);
        if (r < 0)
                goto fail_log;
        r = sd_bus_negotiate_fds(c->bus, 1);
        if (r < 0)
                goto fail_log;
        (void) sd_bus_set_description(c->bus, "direct");
        r = manager_register_objects(m, c->bus);
        if (r < 0)
                goto fail_log;
        r = sd_bus_match_signal(c->bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_private_disconnected, c);
        if (r < 0)
                goto fail_log;
        r = sd_bus_start(c->bus);
        if (r < 0)
                goto fail_log;
        r = sd_bus_attach_event(c->bus, m->event, 0);
        if (r < 0)
                goto fail_log;

        log_info("Direct connection from %s.", caller_describe(&c->caller, buf, sizeof buf));
        return 0;

fail_log:
        log_warning_errno(r, "Failed to set up a direct connection: %m");
        private_connection_free(c);
        return r;
}

static int on_private_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(-errno, "accept() on the direct socket failed: %m");
                return 0;
        }
        /* A connection that cannot be served is closed; the listener goes on. */
        (void) private_connection_add(userdata, cfd);
        return 0;
}

int private_socket_open(Manager *m) {
        const char *path = m->config->private_socket;
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof sa.un.sun_path)
                return log_error_errno(-EINVAL, "Direct socket path too long: %s", path);
        strcpy(sa.un.sun_path, path);

        /* Create the parent (/run/pidbroker) if needed; a stale socket from
         * an earlier run is replaced. */
        char *dir = strdup(path), *slash;
        if (!dir)
                return log_oom();
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                        r = log_error_errno(-errno, "Failed to create %s: %m", dir);
                        free(dir);
                        return r;
                }
        }
        free(dir);
        (void) unlink(path);

        m->private_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (m->private_fd < 0)
                return log_error_errno(-errno, "Failed to create the direct socket: %m");
        if (bind(m->private_fd, &sa.sa, sizeof sa.un) < 0)
                return log_error_errno(-errno, "Failed to bind %s: %m", path);
        /* Anyone may call, as on the bus; identity comes from the socket. */
        if (chmod(path, 0666) < 0)
                return log_error_errno(-errno, "Failed to chmod %s: %m", path);
        if (listen(m->private_fd, SOMAXCONN) < 0)
                return log_error_errno(-errno, "Failed to listen on %s: %m", path);

        r = sd_event_add_io(m->event, &m->private_source, m->private_fd, EPOLLIN, on_private_accept, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the direct socket: %m");
        return 0;
}
