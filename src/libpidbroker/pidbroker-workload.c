/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A workload handle: its id, object path and pidfd, and the Workload1 calls
 * on it, sync and on an sd-event loop; plus the Broker1 calls on any pidfd. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "pidbroker-internal.h"

int workload_new(pidbroker_client *c, uint64_t id, const char *path, int pidfd, pidbroker_workload **ret) {
        pidbroker_workload *w;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->path = strdup(path);
        if (!w->path) {
                free(w);
                return -ENOMEM;
        }
        w->n_ref = 1;
        w->client = pidbroker_client_ref(c);
        w->id = id;
        w->pidfd = pidfd;
        *ret = w;
        return 0;
}

_public_ int pidbroker_workload_open_path(pidbroker_client *c, const char *path, pidbroker_workload **ret) {
        uint64_t id = 0;
        char *end;

        if (!c || !path || !ret || !sd_bus_object_path_is_valid(path))
                return -EINVAL;
        /* The id is the path's last element; another path has id 0. */
        if (strncmp(path, WORKLOAD_PATH_PREFIX, strlen(WORKLOAD_PATH_PREFIX)) == 0) {
                const char *s = path + strlen(WORKLOAD_PATH_PREFIX);

                errno = 0;
                id = strtoull(s, &end, 10);
                if (errno != 0 || end == s || *end != 0)
                        id = 0;
        }
        return workload_new(c, id, path, -EBADF, ret);
}

_public_ int pidbroker_workload_open(pidbroker_client *c, uint64_t id, pidbroker_workload **ret) {
        char path[sizeof(WORKLOAD_PATH_PREFIX) + 20];

        if (!c || !ret)
                return -EINVAL;
        snprintf(path, sizeof path, WORKLOAD_PATH_PREFIX "%" PRIu64, id);
        return workload_new(c, id, path, -EBADF, ret);
}

_public_ pidbroker_workload *pidbroker_workload_ref(pidbroker_workload *w) {
        if (w)
                w->n_ref++;
        return w;
}

_public_ pidbroker_workload *pidbroker_workload_unref(pidbroker_workload *w) {
        if (!w || --w->n_ref > 0)
                return NULL;
        (void) pidbroker_workload_cancel(w);
        safe_close(w->pidfd);
        free(w->path);
        pidbroker_client_unref(w->client);
        free(w);
        return NULL;
}

_public_ uint64_t pidbroker_workload_get_id(pidbroker_workload *w) {
        return w ? w->id : 0;
}

_public_ const char *pidbroker_workload_get_path(pidbroker_workload *w) {
        return w ? w->path : NULL;
}

_public_ int pidbroker_workload_get_pidfd(pidbroker_workload *w) {
        return w ? w->pidfd : -EBADF;
}

_public_ pid_t pidbroker_workload_get_pid(pidbroker_workload *w) {
        char path[64], line[256];
        FILE *f;
        long pid = 0;
        bool found = false;

        if (!w || w->pidfd < 0)
                return -EBADF;
        /* fdinfo's "Pid:" is in our pid namespace: 0 outside it, -1 once
         * the process is gone. */
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", w->pidfd);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "Pid: %ld", &pid) == 1) {
                        found = true;
                        break;
                }
        fclose(f);
        if (!found)
                return -EOPNOTSUPP;
        return pid < 0 ? -ESRCH : (pid_t) pid;
}

static int call_workload(pidbroker_workload *w, const char *method, uint64_t timeout_usec, sd_bus_error *e,
                         sd_bus_message **reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(w->client->bus, &m, pidbroker_client_get_destination(w->client), w->path,
                                           WORKLOAD_INTERFACE, method);
        if (r < 0)
                return r;
        return sd_bus_call(w->client->bus, m, timeout_usec, e, reply);
}

_public_ int pidbroker_workload_fetch_pidfd(pidbroker_workload *w, pidbroker_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int fd, copy, r;

        if (!w)
                return client_set_error(error, -EINVAL, NULL, "No workload");
        r = call_workload(w, "GetPidfd", 0, &e, &reply);
        if (r < 0)
                return client_set_error(error, r, &e, "GetPidfd failed");
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return client_set_error(error, r, NULL, "Failed to parse the GetPidfd reply");
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return client_set_error(error, -errno, NULL, "Failed to keep the pidfd");
        safe_close(w->pidfd);
        w->pidfd = copy;
        return 0;
}

static int read_exit_status(sd_bus_message *reply, pidbroker_exit_status *ret) {
        const char *code;
        int32_t status;
        int r;

        r = sd_bus_message_read(reply, "si", &code, &status);
        if (r < 0)
                return r;
        if (strcmp(code, "exited") == 0)
                ret->kind = PIDBROKER_EXIT_EXITED;
        else if (strcmp(code, "killed") == 0)
                ret->kind = PIDBROKER_EXIT_KILLED;
        else if (strcmp(code, "dumped") == 0)
                ret->kind = PIDBROKER_EXIT_DUMPED;
        else
                return -EBADMSG;
        ret->status = status;
        return 0;
}

/* Wait and Stop reply at exit, however long that takes. */
static int exit_method(pidbroker_workload *w, const char *method, pidbroker_exit_status *ret,
                       pidbroker_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        pidbroker_exit_status st;
        int r;

        if (!w)
                return client_set_error(error, -EINVAL, NULL, "No workload");
        r = call_workload(w, method, UINT64_MAX, &e, &reply);
        if (r < 0)
                return client_set_error(error, r, &e, method);
        r = read_exit_status(reply, &st);
        if (r < 0)
                return client_set_error(error, r, NULL, "Failed to parse the exit status");
        if (ret)
                *ret = st;
        return 0;
}

_public_ int pidbroker_workload_wait(pidbroker_workload *w, pidbroker_exit_status *ret, pidbroker_error *error) {
        return exit_method(w, "Wait", ret, error);
}

_public_ int pidbroker_workload_stop(pidbroker_workload *w, pidbroker_exit_status *ret, pidbroker_error *error) {
        return exit_method(w, "Stop", ret, error);
}

_public_ int pidbroker_workload_signal(pidbroker_workload *w, int sig, unsigned flags, pidbroker_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!w || sig < 0)
                return client_set_error(error, -EINVAL, NULL, "Invalid argument");
        r = sd_bus_call_method(w->client->bus, pidbroker_client_get_destination(w->client), w->path,
                               WORKLOAD_INTERFACE, "Signal", &e, NULL, "iu", (int32_t) sig, (uint32_t) flags);
        if (r < 0)
                return client_set_error(error, r, &e, "Signal failed");
        return 0;
}

_public_ int pidbroker_workload_release(pidbroker_workload *w, pidbroker_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!w)
                return client_set_error(error, -EINVAL, NULL, "No workload");
        r = call_workload(w, "Release", 0, &e, NULL);
        if (r < 0)
                return client_set_error(error, r, &e, "Release failed");
        return 0;
}

/* ---- async ---- */

static void async_clear(pidbroker_workload *w) {
        w->pidfd_source = sd_event_source_disable_unref(w->pidfd_source);
        w->call_slot = sd_bus_slot_unref(w->call_slot);
        if (w->async_method)
                LIST_REMOVE(w->client->pending, w);
        w->async_method = NULL;
        w->handler = NULL;
        w->userdata = NULL;
}

/* The handler runs once, after the call is forgotten, so it may start another
 * or drop the last reference. */
static void async_finish(pidbroker_workload *w, int r, const pidbroker_exit_status *st, const sd_bus_error *e,
                         const char *message) {
        pidbroker_error error = PIDBROKER_ERROR_NULL;
        pidbroker_exit_handler handler = w->handler;
        void *userdata = w->userdata;

        if (r < 0)
                r = client_set_error(&error, r, e, message);
        pidbroker_workload_ref(w);
        async_clear(w);
        if (handler)
                handler(w, r, r < 0 ? NULL : st, r < 0 ? &error : NULL, userdata);
        pidbroker_error_free(&error);
        pidbroker_workload_unref(w);
}

void client_fail_pending(pidbroker_client *c, int r, const char *message) {
        /* A handler that starts another call gets -ENOTCONN, not a loop. */
        c->disconnected = true;
        while (c->pending)
                async_finish(c->pending, r, NULL, NULL, message);
}

static int on_exit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        pidbroker_workload *w = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        pidbroker_exit_status st = {};
        int r;

        if (e)
                async_finish(w, -EIO, NULL, e, w->async_method);
        else {
                r = read_exit_status(reply, &st);
                async_finish(w, r < 0 ? r : 0, &st, NULL, "Failed to parse the exit status");
        }
        return 0;
}

static int call_exit_method_async(pidbroker_workload *w) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(w->client->bus, &m, pidbroker_client_get_destination(w->client), w->path,
                                           WORKLOAD_INTERFACE, w->async_method);
        if (r < 0)
                return r;
        return sd_bus_call_async(w->client->bus, &w->call_slot, m, on_exit_reply, w, UINT64_MAX);
}

static int on_pidfd_readable(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        pidbroker_workload *w = userdata;
        int r;

        /* The kernel says it exited; the broker has the status. */
        w->pidfd_source = sd_event_source_disable_unref(w->pidfd_source);
        r = call_exit_method_async(w);
        if (r < 0)
                async_finish(w, r, NULL, NULL, "Failed to ask for the exit status");
        return 0;
}

static int start_async(pidbroker_workload *w, const char *method, bool watch_pidfd, pidbroker_exit_handler handler,
                       void *userdata) {
        sd_event *event;
        int r;

        if (!w || !handler)
                return -EINVAL;
        if (w->async_method)
                return -EBUSY;
        if (w->client->disconnected)
                return -ENOTCONN;
        event = sd_bus_get_event(w->client->bus);
        if (!event)
                return -ENXIO; /* pidbroker_client_attach_event() first */

        w->async_method = method;
        w->handler = handler;
        w->userdata = userdata;
        LIST_PREPEND(w->client->pending, w);

        /* Wait on the pidfd: no bus traffic while the workload runs. Where
         * it cannot be polled, ask the broker from the start. */
        r = watch_pidfd && w->pidfd >= 0 ? sd_event_add_io(event, &w->pidfd_source, w->pidfd, EPOLLIN,
                                                           on_pidfd_readable, w)
                                         : -EBADF;
        if (r < 0)
                r = call_exit_method_async(w);
        if (r < 0) {
                async_clear(w);
                return r;
        }
        return 0;
}

_public_ int pidbroker_workload_wait_async(pidbroker_workload *w, pidbroker_exit_handler handler, void *userdata) {
        return start_async(w, "Wait", true, handler, userdata);
}

_public_ int pidbroker_workload_stop_async(pidbroker_workload *w, pidbroker_exit_handler handler, void *userdata) {
        return start_async(w, "Stop", false, handler, userdata);
}

_public_ int pidbroker_workload_cancel(pidbroker_workload *w) {
        if (!w)
                return -EINVAL;
        if (!w->async_method)
                return 0;
        async_clear(w);
        return 1;
}

/* ---- any process, by pidfd ---- */

_public_ int pidbroker_signal_pidfd(pidbroker_client *c, int pidfd, int sig, unsigned flags,
                                    pidbroker_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!c || pidfd < 0 || sig < 0)
                return client_set_error(error, -EINVAL, NULL, "Invalid argument");
        r = sd_bus_call_method(c->bus, pidbroker_client_get_destination(c), BROKER_PATH, BROKER_INTERFACE, "Signal",
                               &e, NULL, "hiu", pidfd, (int32_t) sig, (uint32_t) flags);
        if (r < 0)
                return client_set_error(error, r, &e, "Signal failed");
        return 0;
}

_public_ int pidbroker_getfd(pidbroker_client *c, int pidfd, int target_fd, int *ret_fd, pidbroker_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int fd, copy, r;

        if (!c || pidfd < 0 || target_fd < 0 || !ret_fd)
                return client_set_error(error, -EINVAL, NULL, "Invalid argument");
        r = sd_bus_call_method(c->bus, pidbroker_client_get_destination(c), BROKER_PATH, BROKER_INTERFACE, "GetFd",
                               &e, &reply, "hi", pidfd, (int32_t) target_fd);
        if (r < 0)
                return client_set_error(error, r, &e, "GetFd failed");
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return client_set_error(error, r, NULL, "Failed to parse the GetFd reply");
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return client_set_error(error, -errno, NULL, "Failed to keep the fd");
        *ret_fd = copy;
        return 0;
}
