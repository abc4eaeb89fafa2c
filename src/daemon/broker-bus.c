/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.pidbroker.Broker1 at /org/pidbroker/Broker1. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authorize.h"
#include "bus-error.h"
#include "config.h"
#include "feature.h"
#include "legacy.h"
#include "log.h"
#include "missing-pidfd.h"
#include "spawn-args.h"
#include "workload.h"

int signal_check_args(int sig, unsigned flags, sd_bus_error *error) {
        /* 0 probes liveness; the kernel knows 1.._NSIG-1. */
        if (sig < 0 || sig >= _NSIG)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Signal %d out of range.", sig);
        if (flags & ~PB_PIDFD_SIGNAL_SCOPES)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown flags %#x.", flags);
        if (__builtin_popcount(flags) > 1)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "At most one signal scope flag.");
        if (flags != 0 && !feature_available(FEATURE_PIDFD_SIGNAL_SCOPE))
                return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "The kernel has no pidfd signal scopes.");
        return 0;
}

static bool gid_in(gid_t g, const gid_t *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == g)
                        return true;
        return false;
}

static int deny(sd_bus_error *error, Action a) {
        return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Not authorized (%s).", action_to_string(a));
}

/* Which actions a spawn request needs beyond org.pidbroker.spawn. */
static int spawn_authorize(Manager *m, const Caller *c, const SpawnArgs *a, sd_bus_error *error) {
        bool as_user = false, privileged = false;
        uid_t user = a->has_user ? a->user : c->uid;
        gid_t group = a->has_group ? a->group : c->gid;
        AuthTarget t = AUTH_TARGET_NULL;

        t.uid = user;

        if (user != c->uid || group != c->gid)
                as_user = true;
        if (a->has_groups)
                for (size_t i = 0; i < a->n_groups; i++)
                        if (a->groups[i] != c->gid && !gid_in(a->groups[i], c->groups, c->n_groups))
                                as_user = true;

        if (a->capabilities != 0 || (a->has_no_new_privileges && !a->no_new_privileges) ||
            (a->seccomp && strcmp(a->seccomp, "none") == 0))
                privileged = true;
        /* A cgroup the caller does not own (not delegated to it) is foreign. */
        if (a->cgroup_fd >= 0) {
                struct stat st;
                if (fstat(a->cgroup_fd, &st) < 0 || st.st_uid != c->uid)
                        privileged = true;
        }
        /* Mapping ids other than one's own into a user namespace is a way to
         * become someone else outside it. */
        for (size_t i = 0; i < a->n_uid_map; i++)
                if (a->uid_map[i].outside != user || a->uid_map[i].count != 1)
                        privileged = true;
        for (size_t i = 0; i < a->n_gid_map; i++)
                if (a->gid_map[i].outside != group || a->gid_map[i].count != 1)
                        privileged = true;

        if (authorize(m, c, ACTION_SPAWN, &t, NULL) < 0)
                return deny(error, ACTION_SPAWN);
        if (as_user && authorize(m, c, ACTION_SPAWN_AS_USER, &t, NULL) < 0)
                return deny(error, ACTION_SPAWN_AS_USER);
        if (privileged && authorize(m, c, ACTION_SPAWN_PRIVILEGED, &t, NULL) < 0)
                return deny(error, ACTION_SPAWN_PRIVILEGED);
        return 0;
}

static void kill_and_reap(Spawned *s) {
        siginfo_t si;
        (void) process_signal(&s->process, SIGKILL, 0);
        (void) process_wait(&s->process, WEXITED, &si);
        spawned_done(s);
}

static int method_spawn(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(spawn_args_done) SpawnArgs a = SPAWN_ARGS_NULL;
        Manager *m = userdata;
        const Caller *caller;
        const SeccompProfile *profile = NULL;
        const char *reason = NULL;
        Spawned spawned = SPAWNED_NULL;
        SpawnRequest req;
        char buf[256];
        int r;

        r = manager_get_caller(m, msg, &caller, error);
        if (r < 0)
                return r;

        r = spawn_args_parse(msg, m->config, &a, error);
        if (r < 0)
                return r;

        if (manager_count_workloads(m, caller->uid) >= m->config->max_workloads_per_user)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED, "uid %u has %u workloads already.",
                                         (unsigned) caller->uid, m->config->max_workloads_per_user);

        r = spawn_authorize(m, caller, &a, error);
        if (r < 0) {
                log_notice("Spawn of %s denied for %s.", a.argv[0], caller_describe(caller, buf, sizeof buf));
                return r;
        }

        r = manager_get_seccomp_profile(m, a.seccomp ?: "default", &profile);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown seccomp profile '%s'.",
                                         a.seccomp ?: "default");

        spawn_request_init(&req);
        req.argv = a.argv;
        req.env = a.env;
        req.fds = a.fds;
        req.n_fds = a.n_fds;
        req.cwd = a.cwd;
        req.uid = a.has_user ? a.user : caller->uid;
        req.gid = a.has_group ? a.group : caller->gid;
        if (a.has_groups) {
                req.groups = a.groups;
                req.n_groups = a.n_groups;
        } else {
                req.groups = caller->groups;
                req.n_groups = caller->n_groups;
        }
        req.namespaces = a.namespaces;
        req.uid_map = a.uid_map;
        req.n_uid_map = a.n_uid_map;
        req.gid_map = a.gid_map;
        req.n_gid_map = a.n_gid_map;
        req.hostname = a.hostname;
        req.capabilities = a.capabilities;
        if (a.has_no_new_privileges)
                req.no_new_privileges = a.no_new_privileges;
        req.seccomp = profile;
        req.cgroup_fd = a.cgroup_fd;
        req.exe_fd = a.exe_fd;
        if (a.has_umask)
                req.umask = a.umask;
        if (a.has_setsid)
                req.setsid = a.setsid;

        r = spawn_request_validate(&req, &reason);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s", reason ?: "Invalid spawn request.");

        r = spawn_start(&req, &spawned);
        if (r < 0) {
                m->metrics.spawns_failed++;
                log_info_errno(r, "Spawn of %s for %s failed: %m", a.argv[0], caller_describe(caller, buf, sizeof buf));
                if (r == -EINVAL)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid spawn request: %s",
                                                 strerror(-r));
                if (r == -EOPNOTSUPP || r == -ENOSYS)
                        return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED, "No way to create the process: %s",
                                                 strerror(-r));
                return sd_bus_error_setf(error, BUS_ERROR_SPAWN_FAILED, "clone failed: %s (%s, errno %d)",
                                         strerror(-r), strerrorname_np(-r) ?: "?", -r);
        }

        WorkloadOptions opts = {
                .user = req.uid,
                .watch_client = a.watch_client,
                .stop_timeout_usec = a.has_stop_timeout ? a.stop_timeout_usec : m->config->stop_timeout_usec,
        };
        log_debug("Spawning %s for %s.", a.argv[0], caller_describe(caller, buf, sizeof buf));
        r = workload_new(m, caller, msg, &spawned, &a.argv, &opts, NULL);
        if (r < 0) {
                kill_and_reap(&spawned);
                return bus_error_from_errno(error, r, "Failed to track the workload");
        }
        return 1; /* answered once the exec result is in */
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_process_ Process p = PROCESS_NULL;
        Manager *m = userdata;
        const Caller *caller;
        ProcessInfo info;
        int32_t sig;
        uint32_t flags;
        int fd, r;
        char buf[256];

        r = manager_get_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "hiu", &fd, &sig, &flags);
        if (r < 0)
                return r;
        r = signal_check_args(sig, flags, error);
        if (r < 0)
                return r;

        r = process_from_pidfd_dup(&p, fd);
        if (r == -ESRCH)
                return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
        if (r < 0)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The fd passed is not a pidfd.");

        r = process_get_info(&p, &info);
        if (r == -ESRCH)
                return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
        if (r < 0)
                return bus_error_from_errno(error, r, "Cannot read the target's credentials");

        Workload *w = p.id != 0 ? workload_find(m, p.id) : NULL;
        AuthTarget t = AUTH_TARGET_NULL;
        t.process = &p;
        t.uid = info.ruid;
        t.is_own_workload = w && w->owner_uid == caller->uid && w->state == WORKLOAD_RUNNING;
        t.workload_id = w ? w->id : 0;
        t.signal = sig;
        t.flags = flags;

        /* Which action: your own workload is yours wherever it runs; another
         * user's process, or your own in another pid namespace, need more. */
        Action action = ACTION_SIGNAL;
        if (!t.is_own_workload) {
                uint64_t ns_caller = 0, ns_target = 0;
                bool cross = process_namespace_id(&caller->process, NAMESPACE_PID, &ns_caller) < 0 ||
                             process_namespace_id(&p, NAMESPACE_PID, &ns_target) < 0 || ns_caller != ns_target;
                if (info.ruid != caller->uid)
                        action = ACTION_SIGNAL_OTHER_USER;
                else if (cross)
                        action = ACTION_SIGNAL_CROSS_NAMESPACE;
        }
        r = authorize(m, caller, action, &t, NULL);
        if (r < 0) {
                log_notice("Signal %d to pid %d denied for %s (%s).", sig, (int) p.pid,
                           caller_describe(caller, buf, sizeof buf), action_to_string(action));
                return deny(error, action);
        }

        r = process_signal(&p, sig, flags);
        metrics_count_signal(&m->metrics, &p, r);
        log_info("Signal %d (flags %u) to pid %d for %s: %s", sig, flags, (int) p.pid,
                 caller_describe(caller, buf, sizeof buf), r < 0 ? strerror(-r) : "ok");
        if (r < 0)
                return bus_error_from_errno(error, r, "Signal failed");
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_get_fd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int got = -EBADF;
        Manager *m = userdata;
        const Caller *caller;
        int32_t target_fd;
        int fd, r;
        char buf[256];

        r = manager_get_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "hi", &fd, &target_fd);
        if (r < 0)
                return r;
        if (target_fd < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid target fd %d.", target_fd);

        r = process_from_pidfd_dup(&p, fd);
        if (r == -ESRCH)
                return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
        if (r < 0)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The fd passed is not a pidfd.");
        if (process_is_legacy(&p))
                return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "pidfd_getfd needs a pidfd.");

        Workload *w = p.id != 0 ? workload_find(m, p.id) : NULL;
        AuthTarget t = AUTH_TARGET_NULL;
        t.process = &p;
        t.is_own_workload = w && w->owner_uid == caller->uid;
        t.workload_id = w ? w->id : 0;
        t.target_fd = target_fd;
        r = authorize(m, caller, ACTION_GETFD, &t, NULL);
        if (r < 0) {
                log_notice("GetFd %d from pid %d denied for %s.", target_fd, (int) p.pid,
                           caller_describe(caller, buf, sizeof buf));
                return deny(error, ACTION_GETFD);
        }

        got = RET_NERRNO(syscall(__NR_pidfd_getfd, p.fd, target_fd, 0));
        metrics_count_operation(&m->metrics, &p);
        log_info("GetFd %d from pid %d for %s: %s", target_fd, (int) p.pid, caller_describe(caller, buf, sizeof buf),
                 got < 0 ? strerror(-got) : "ok");
        if (got == -EBADF)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "The target has no fd %d.", target_fd);
        if (got < 0)
                return bus_error_from_errno(error, got, "pidfd_getfd failed");
        return sd_bus_reply_method_return(msg, "h", got);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PIDBROKER_VERSION);
}

static int property_get_features(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sbs)");
        if (r < 0)
                return r;
        for (Feature f = 0; f < _FEATURE_MAX; f++) {
                r = sd_bus_message_append(reply, "(sbs)", feature_name(f), (int) feature_available(f),
                                          feature_detail(f) ?: "");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_control_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", manager_control_path(userdata));
}

static int property_get_policy_backend(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* Only the embedded defaults exist so far (authorize.c). */
        return sd_bus_message_append(reply, "s", "embedded");
}

static int property_get_metrics(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return metrics_append(reply, &m->metrics);
}

static const sd_bus_vtable broker_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Features", "a(sbs)", property_get_features, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ControlPath", "s", property_get_control_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PolicyBackend", "s", property_get_policy_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Metrics", "a{st}", property_get_metrics, 0, 0),
        SD_BUS_METHOD_WITH_NAMES("Spawn", "aaya{ss}a{uh}a{sv}",
                                 SD_BUS_PARAM(argv) SD_BUS_PARAM(env) SD_BUS_PARAM(fds) SD_BUS_PARAM(options),
                                 "oht", SD_BUS_PARAM(workload) SD_BUS_PARAM(pidfd) SD_BUS_PARAM(id), method_spawn,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Signal", "hiu", SD_BUS_PARAM(pidfd) SD_BUS_PARAM(signal) SD_BUS_PARAM(flags),
                                 NULL, , method_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetFd", "hi", SD_BUS_PARAM(pidfd) SD_BUS_PARAM(target_fd), "h", SD_BUS_PARAM(fd),
                                 method_get_fd, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int broker_register_objects(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, BROKER_PATH, BROKER_INTERFACE, broker_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, BROKER_PATH);
}
