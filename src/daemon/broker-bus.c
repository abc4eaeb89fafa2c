/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.pidbroker.Broker1 at /org/pidbroker/Broker1. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "authorize.h"
#include "bus-error.h"
#include "config.h"
#include "feature.h"
#include "legacy.h"
#include "log.h"
#include "missing-pidfd.h"
#include "namespace.h"
#include "request.h"
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

/* Answer msg with the named error for r (a -errno): for replies sent after
 * the handler returned. */
static int reply_errno(sd_bus_message *msg, int r, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        (void) bus_error_from_errno(&error, r, what);
        return sd_bus_reply_method_error(msg, &error);
}

/* ---- Spawn ------------------------------------------------------------- */

typedef struct SpawnOp {
        Request req;
        SpawnArgs args;
        const SeccompProfile *profile;
} SpawnOp;

static void spawn_op_destroy(Request *r) {
        spawn_args_done(&((SpawnOp *) r)->args);
}

static bool gid_is_callers(const Caller *c, gid_t g) {
        return g == c->gid || gid_in(g, c->groups, c->n_groups);
}

static bool spawn_has_userns_map(const SpawnArgs *a, size_t n_map) {
        return (a->namespaces & (UINT64_C(1) << NAMESPACE_USER)) && n_map > 0;
}

/* The uid the workload has outside any user namespace: with a uid_map the
 * user option names an id inside it. (uid_t) -1 if unmapped (the spawn
 * validation refuses that). */
static uid_t spawn_outside_uid(const Caller *c, const SpawnArgs *a) {
        uid_t user = a->has_user ? a->user : c->uid;

        if (!spawn_has_userns_map(a, a->n_uid_map))
                return user;
        for (size_t i = 0; i < a->n_uid_map; i++)
                if (user >= a->uid_map[i].inside && user - a->uid_map[i].inside < a->uid_map[i].count)
                        return a->uid_map[i].outside + (user - a->uid_map[i].inside);
        return (uid_t) -1;
}

/* Which actions a spawn request asks: spawn always; spawn-as-user when the
 * workload could act as ids other than the caller's outside a user
 * namespace (user, group, groups; with a user namespace, every outside id
 * its uid_map/gid_map maps, since the inside ids then mean nothing else);
 * spawn-privileged for giving up confinement. */
static size_t spawn_actions(const Caller *c, const SpawnArgs *a, Action actions[static 3]) {
        bool as_user = false, privileged = false;
        size_t n = 0;

        if (spawn_has_userns_map(a, a->n_uid_map)) {
                for (size_t i = 0; i < a->n_uid_map; i++)
                        if (a->uid_map[i].outside != c->uid || a->uid_map[i].count != 1)
                                as_user = true;
        } else if ((a->has_user ? a->user : c->uid) != c->uid)
                as_user = true;

        if (spawn_has_userns_map(a, a->n_gid_map)) {
                for (size_t i = 0; i < a->n_gid_map; i++)
                        if (a->gid_map[i].count != 1 || !gid_is_callers(c, a->gid_map[i].outside))
                                as_user = true;
        } else {
                if ((a->has_group ? a->group : c->gid) != c->gid)
                        as_user = true;
                for (size_t i = 0; a->has_groups && i < a->n_groups; i++)
                        if (!gid_is_callers(c, a->groups[i]))
                                as_user = true;
        }

        if (a->capabilities != 0 || (a->has_no_new_privileges && !a->no_new_privileges) ||
            (a->seccomp && strcmp(a->seccomp, "none") == 0))
                privileged = true;
        /* A cgroup the caller does not own (not delegated to it) is foreign. */
        if (a->cgroup_fd >= 0) {
                struct stat st;
                if (fstat(a->cgroup_fd, &st) < 0 || st.st_uid != c->uid)
                        privileged = true;
        }

        actions[n++] = ACTION_SPAWN;
        if (as_user)
                actions[n++] = ACTION_SPAWN_AS_USER;
        if (privileged)
                actions[n++] = ACTION_SPAWN_PRIVILEGED;
        return n;
}

static void spawn_request_fill(SpawnRequest *req, const SpawnArgs *a, const Caller *caller,
                               const SeccompProfile *profile) {
        spawn_request_init(req);
        req->argv = a->argv;
        req->env = a->env;
        req->fds = a->fds;
        req->n_fds = a->n_fds;
        req->cwd = a->cwd;
        req->uid = a->has_user ? a->user : caller->uid;
        req->gid = a->has_group ? a->group : caller->gid;
        if (a->has_groups) {
                req->groups = a->groups;
                req->n_groups = a->n_groups;
        } else {
                req->groups = caller->groups;
                req->n_groups = caller->n_groups;
        }
        req->namespaces = a->namespaces;
        req->uid_map = a->uid_map;
        req->n_uid_map = a->n_uid_map;
        req->gid_map = a->gid_map;
        req->n_gid_map = a->n_gid_map;
        req->hostname = a->hostname;
        req->capabilities = a->capabilities;
        if (a->has_no_new_privileges)
                req->no_new_privileges = a->no_new_privileges;
        req->seccomp = profile;
        req->cgroup_fd = a->cgroup_fd;
        req->exe_fd = a->exe_fd;
        if (a->has_umask)
                req->umask = a->umask;
        if (a->has_setsid)
                req->setsid = a->setsid;
}

static void kill_and_reap(Spawned *s) {
        siginfo_t si;
        (void) process_signal(&s->process, SIGKILL, 0);
        (void) process_wait(&s->process, WEXITED, &si);
        spawned_done(s);
}

static int reply_spawn_error(sd_bus_message *msg, int r) {
        if (r == -EINVAL)
                return sd_bus_reply_method_errorf(msg, BUS_ERROR_INVALID_ARGUMENT, "Invalid spawn request: %s",
                                                  strerror(-r));
        if (r == -EOPNOTSUPP || r == -ENOSYS)
                return sd_bus_reply_method_errorf(msg, BUS_ERROR_NOT_SUPPORTED, "No way to create the process: %s",
                                                  strerror(-r));
        return sd_bus_reply_method_errorf(msg, BUS_ERROR_SPAWN_FAILED, "clone failed: %s (%s, errno %d)",
                                          strerror(-r), strerrorname_np(-r) ?: "?", -r);
}

static void spawn_decided(Request *r, const AuthResult *res) {
        SpawnOp *op = (SpawnOp *) r;
        Manager *m = r->manager;
        const Caller *caller = &r->caller;
        AuditTarget target = AUDIT_TARGET_NULL;
        Spawned spawned = SPAWNED_NULL;
        SpawnRequest req;
        uint64_t seq;
        char buf[256];
        int k;

        /* Other spawns of this user may have been decided meanwhile. */
        if (res->allow && manager_count_workloads(m, caller->uid) >= m->config->max_workloads_per_user) {
                (void) sd_bus_reply_method_errorf(r->msg, BUS_ERROR_LIMIT_EXCEEDED, "uid %u has %u workloads already.",
                                                  (unsigned) caller->uid, m->config->max_workloads_per_user);
                return;
        }

        /* No process exists yet: the target is the user it will run as. */
        target.uid = spawn_outside_uid(caller, &op->args);
        k = request_audit(r, res, &target, NULL, manager_control_path(m), &seq);
        if (k < 0) {
                (void) reply_audit_failed(r->msg, k);
                return;
        }
        if (!res->allow) {
                log_notice("Spawn of %s denied for %s (%s, %s).", op->args.argv[0],
                           caller_describe(caller, buf, sizeof buf), action_to_string(res->action), res->rule);
                (void) reply_denied(r->msg, res, r->interactive);
                return;
        }

        spawn_request_fill(&req, &op->args, caller, op->profile);
        req.control_path = m->config->control_path;
        k = spawn_start(&req, &spawned);
        if (k < 0) {
                m->metrics.spawns_failed++;
                log_info_errno(k, "Spawn of %s for %s failed: %m", op->args.argv[0],
                               caller_describe(caller, buf, sizeof buf));
                manager_audit_outcome(m, seq, k);
                (void) reply_spawn_error(r->msg, k);
                return;
        }

        WorkloadOptions opts = {
                .user = req.uid,
                .watch_client = op->args.watch_client,
                .stop_timeout_usec = op->args.has_stop_timeout ? op->args.stop_timeout_usec
                                                               : m->config->stop_timeout_usec,
                .audit_seq = seq, /* the outcome comes with the exec result */
        };
        log_debug("Spawning %s for %s.", op->args.argv[0], caller_describe(caller, buf, sizeof buf));
        k = workload_new(m, caller, r->msg, &spawned, &op->args.argv, &opts, NULL);
        if (k < 0) {
                kill_and_reap(&spawned);
                manager_audit_outcome(m, seq, k);
                (void) reply_errno(r->msg, k, "Failed to track the workload");
        }
        /* Else the workload answers the call once the exec result is in. */
}

static int method_spawn(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(spawn_args_done) SpawnArgs a = SPAWN_ARGS_NULL;
        Manager *m = userdata;
        const Caller *caller;
        const SeccompProfile *profile = NULL;
        const char *reason = NULL;
        SpawnRequest req;
        Action actions[3];
        size_t n;
        Request *r;
        int k;

        k = manager_get_caller(m, msg, &caller, error);
        if (k < 0)
                return k;

        k = spawn_args_parse(msg, m->config, &a, error);
        if (k < 0)
                return k;

        if (manager_count_workloads(m, caller->uid) >= m->config->max_workloads_per_user)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED, "uid %u has %u workloads already.",
                                         (unsigned) caller->uid, m->config->max_workloads_per_user);

        /* What can be refused without policy is refused first: a request
         * that could never run is bad input, not a decision to record. */
        k = manager_get_seccomp_profile(m, a.seccomp ?: "default", &profile);
        if (k < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown seccomp profile '%s'.",
                                         a.seccomp ?: "default");
        spawn_request_fill(&req, &a, caller, profile);
        k = spawn_request_validate(&req, &reason);
        if (k < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s", reason ?: "Invalid spawn request.");

        n = spawn_actions(caller, &a, actions);

        k = request_new(m, sizeof(SpawnOp), msg, caller, &r, error);
        if (k < 0)
                return k;
        SpawnOp *op = (SpawnOp *) r;
        op->args = a;
        a = SPAWN_ARGS_NULL; /* moved */
        op->profile = profile;
        r->decided = spawn_decided;
        r->destroy = spawn_op_destroy;

        AuthTarget t = AUTH_TARGET_NULL;
        t.uid = spawn_outside_uid(caller, &op->args);
        return request_authorize(r, actions, n, &t);
}

/* ---- Signal (both interfaces) -------------------------------------------- */

typedef struct SignalOp {
        Request req;
        Process target;
        TargetFacts facts;
        int sig;
        unsigned flags;
} SignalOp;

static void signal_op_destroy(Request *r) {
        process_done(&((SignalOp *) r)->target);
}

static void signal_decided(Request *r, const AuthResult *res) {
        SignalOp *op = (SignalOp *) r;
        Manager *m = r->manager;
        AuditDetails d = AUDIT_DETAILS_NULL;
        AuditTarget t;
        uint64_t seq;
        char buf[256];
        int k;

        audit_target_from_facts(&t, &op->facts);
        d.signal = op->sig;
        d.flags = op->flags;
        k = request_audit(r, res, &t, &d, op->facts.control_path, &seq);
        if (k < 0) {
                (void) reply_audit_failed(r->msg, k);
                return;
        }
        if (!res->allow) {
                log_notice("Signal %d to pid %d denied for %s (%s, %s).", op->sig, (int) op->target.pid,
                           caller_describe(&r->caller, buf, sizeof buf), action_to_string(res->action), res->rule);
                (void) reply_denied(r->msg, res, r->interactive);
                return;
        }

        k = process_signal(&op->target, op->sig, op->flags);
        metrics_count_signal(&m->metrics, &op->target, k);
        manager_audit_outcome(m, seq, k);
        log_info("Signal %d (flags %u) to pid %d for %s: %s", op->sig, op->flags, (int) op->target.pid,
                 caller_describe(&r->caller, buf, sizeof buf), k < 0 ? strerror(-k) : "ok");
        if (k < 0)
                (void) reply_errno(r->msg, k, "Signal failed");
        else
                (void) sd_bus_reply_method_return(r->msg, NULL);
}

int signal_request_start(Manager *m, sd_bus_message *msg, const Caller *caller, Process *target, int sig,
                         unsigned flags, sd_bus_error *error) {
        Action actions[2];
        size_t n = 0;
        Request *r;
        int k;

        k = request_new(m, sizeof(SignalOp), msg, caller, &r, error);
        if (k < 0) {
                process_done(target);
                return k;
        }
        SignalOp *op = (SignalOp *) r;
        op->target = *target;
        *target = PROCESS_NULL; /* moved */
        op->sig = sig;
        op->flags = flags;
        r->decided = signal_decided;
        r->destroy = signal_op_destroy;

        k = target_facts_read(m, &op->target, r->caller.uid, &op->facts);
        if (k < 0) {
                request_free(r);
                if (k == -ESRCH)
                        return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
                return bus_error_from_errno(error, k, "Cannot read the target's credentials");
        }

        /* Which actions: another user's process asks signal-other-user,
         * one in another pid or user namespace signal-cross-namespace (your
         * own workloads there are allowed by the built-in rule), both when
         * both; plain signal otherwise. */
        bool cross = target_is_cross_namespace(&op->facts, &r->facts);
        uid_t uid = op->facts.uid;
        bool own_workload = op->facts.is_own_workload;

        /* A group-scoped signal goes, with our credentials, to every member
         * of the group the target's pid names: the target's uid alone says
         * nothing of them. A member the caller's own kill(2) could not
         * reach makes it another user's business, and the policy sees that
         * member's uid (not your workload, whatever the leader is). The audit
         * target stays the process the caller named; details.flags says 4. */
        if (flags & PIDFD_SIGNAL_PROCESS_GROUP) {
                pid_t member;
                uid_t member_uid;

                k = process_group_foreign_member(op->target.pid, r->caller.uid, &member, &member_uid);
                if (k < 0) {
                        request_free(r);
                        return bus_error_from_errno(error, k, "Cannot read the members of the target's process group");
                }
                if (k > 0) {
                        log_info("Process group %d holds pid %d of uid %u: signalling it is another user's business.",
                                 (int) op->target.pid, (int) member, (unsigned) member_uid);
                        if (uid == r->caller.uid || member_uid == 0)
                                uid = member_uid;
                        own_workload = false;
                }
        }

        if (uid != r->caller.uid)
                actions[n++] = ACTION_SIGNAL_OTHER_USER;
        if (cross)
                actions[n++] = ACTION_SIGNAL_CROSS_NAMESPACE;
        if (n == 0)
                actions[n++] = ACTION_SIGNAL;

        AuthTarget t = AUTH_TARGET_NULL;
        t.has_process = true;
        t.pid = op->facts.pid;
        t.uid = uid;
        t.is_own_workload = own_workload;
        t.cross_namespace = cross;
        t.workload_id = op->facts.workload_id;
        t.signal = sig;
        return request_authorize(r, actions, n, &t);
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_process_ Process p = PROCESS_NULL;
        Manager *m = userdata;
        const Caller *caller;
        int32_t sig;
        uint32_t flags;
        int fd, r;

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

        return signal_request_start(m, msg, caller, &p, sig, flags, error);
}

/* ---- GetFd ------------------------------------------------------------- */

typedef struct GetFdOp {
        Request req;
        Process target;
        TargetFacts facts;
        int target_fd;
        int fd;                 /* what pidfd_getfd gave, or -errno */
        char *fd_type;          /* FdType= of the policy: "socket", "file", ... */
        char *fd_type_audit;    /* the audit record's: "file:/path", ... */
} GetFdOp;

static void getfd_op_destroy(Request *r) {
        GetFdOp *op = (GetFdOp *) r;

        /* A denied or failed request never hands the fd out. */
        op->fd = safe_close(op->fd);
        process_done(&op->target);
        free(op->fd_type);
        free(op->fd_type_audit);
}

/* The kind of an open file: for the policy, one word ("socket", "pipe",
 * "file", "directory", "chardev", "blockdev") or the anon inode's name
 * ("anon_inode:[eventfd]"); for the audit record the same, with the path
 * appended for things that have one ("file:/etc/passwd"). The path is what
 * /proc/self/fd says of our copy: informational, the file may have been
 * renamed or deleted (" (deleted)"). */
static int fd_classify(int fd, char **ret_type, char **ret_audit) {
        _cleanup_free_ char *type = NULL, *audit = NULL;
        char path[64], link[4096];
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return -errno;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n = readlink(path, link, sizeof link - 1);
        if (n < 0)
                return -errno;
        link[n] = '\0';

        /* Before the mode: since 6.x anon inodes report S_IFREG. */
        if (strncmp(link, "anon_inode:", strlen("anon_inode:")) == 0) {
                type = strdup(link);
                audit = strdup(link);
        } else {
                const char *t = S_ISSOCK(st.st_mode) ? "socket" :
                                S_ISFIFO(st.st_mode) ? "pipe" :
                                S_ISREG(st.st_mode)  ? "file" :
                                S_ISDIR(st.st_mode)  ? "directory" :
                                S_ISCHR(st.st_mode)  ? "chardev" :
                                S_ISBLK(st.st_mode)  ? "blockdev" : "unknown";
                type = strdup(t);
                /* "socket:[1234]", "pipe:[1234]" name no path. */
                if (link[0] == '/') {
                        if (asprintf(&audit, "%s:%s", t, link) < 0)
                                audit = NULL;
                } else
                        audit = strdup(t);
        }
        if (!type || !audit)
                return -ENOMEM;
        *ret_type = TAKE_PTR(type);
        *ret_audit = TAKE_PTR(audit);
        return 0;
}

/* The operation GetFd performs is handing the caller an fd, not taking it:
 * pidfd_getfd() ran before the decision because the fd's type is a fact the
 * policy (FdType=) and the record need, and only the fd itself tells it
 * without a race on the fd number. Until the decision it stays with us; on a
 * deny or an audit failure it is closed and nothing reached the caller. What
 * the target can observe of our look: nothing (no offset moves; for a socket
 * the kernel's receive path updates its net_cls/net_prio cgroup v1 tags). */
static void getfd_decided(Request *r, const AuthResult *res) {
        GetFdOp *op = (GetFdOp *) r;
        Manager *m = r->manager;
        AuditDetails d = AUDIT_DETAILS_NULL;
        AuditTarget t;
        uint64_t seq;
        char buf[256];
        int k;

        audit_target_from_facts(&t, &op->facts);
        d.target_fd = op->target_fd;
        d.fd_type = op->fd_type_audit;
        k = request_audit(r, res, &t, &d, op->facts.control_path, &seq);
        if (k < 0) {
                (void) reply_audit_failed(r->msg, k);
                return;
        }
        if (!res->allow) {
                log_notice("GetFd %d from pid %d denied for %s (%s).", op->target_fd, (int) op->target.pid,
                           caller_describe(&r->caller, buf, sizeof buf), res->rule);
                (void) reply_denied(r->msg, res, r->interactive);
                return;
        }

        if (op->fd < 0) {
                manager_audit_outcome(m, seq, op->fd);
                if (op->fd == -EBADF)
                        (void) sd_bus_reply_method_errorf(r->msg, BUS_ERROR_INVALID_ARGUMENT, "The target has no fd %d.",
                                                          op->target_fd);
                else
                        (void) reply_errno(r->msg, op->fd, "pidfd_getfd failed");
                return;
        }

        /* Appending an 'h' dups it; ours is closed with the request. */
        k = sd_bus_reply_method_return(r->msg, "h", op->fd);
        manager_audit_outcome(m, seq, k);
        log_info("GetFd %d (%s) from pid %d for %s: %s", op->target_fd, op->fd_type_audit ?: "?", (int) op->target.pid,
                 caller_describe(&r->caller, buf, sizeof buf), k < 0 ? strerror(-k) : "ok");
}

static int method_get_fd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_process_ Process p = PROCESS_NULL;
        Manager *m = userdata;
        const Caller *caller;
        int32_t target_fd;
        Request *r;
        int fd, k;

        k = manager_get_caller(m, msg, &caller, error);
        if (k < 0)
                return k;
        k = sd_bus_message_read(msg, "hi", &fd, &target_fd);
        if (k < 0)
                return k;
        if (target_fd < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid target fd %d.", target_fd);

        k = process_from_pidfd_dup(&p, fd);
        if (k == -ESRCH)
                return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
        if (k < 0)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The fd passed is not a pidfd.");
        if (process_is_legacy(&p))
                return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "pidfd_getfd needs a pidfd.");

        k = request_new(m, sizeof(GetFdOp), msg, caller, &r, error);
        if (k < 0)
                return k;
        GetFdOp *op = (GetFdOp *) r;
        op->target = p;
        p = PROCESS_NULL; /* moved */
        op->target_fd = target_fd;
        op->fd = -EBADF;
        r->decided = getfd_decided;
        r->destroy = getfd_op_destroy;

        k = target_facts_read(m, &op->target, r->caller.uid, &op->facts);
        if (k < 0) {
                request_free(r);
                if (k == -ESRCH)
                        return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
                return bus_error_from_errno(error, k, "Cannot read the target's credentials");
        }

        op->fd = RET_NERRNO(syscall(__NR_pidfd_getfd, op->target.fd, target_fd, 0));
        metrics_count_operation(&m->metrics, &op->target);
        if (op->fd == -ESRCH) {
                request_free(r);
                return sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
        }
        if (op->fd >= 0) {
                k = fd_classify(op->fd, &op->fd_type, &op->fd_type_audit);
                if (k < 0) {
                        request_free(r);
                        return bus_error_from_errno(error, k, "Cannot classify the fd");
                }
        }
        /* A missing fd is still decided (and recorded) first: the answer
         * "no such fd" is for callers allowed to ask. */

        AuthTarget t = AUTH_TARGET_NULL;
        t.has_process = true;
        t.pid = op->facts.pid;
        t.uid = op->facts.uid;
        t.is_own_workload = op->facts.is_own_workload;
        t.cross_namespace = target_is_cross_namespace(&op->facts, &r->facts);
        t.workload_id = op->facts.workload_id;
        t.target_fd = target_fd;
        t.fd_type = op->fd_type;
        return request_authorize(r, (const Action[]) { ACTION_GETFD }, 1, &t);
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
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", authority_backend(m->authority));
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
