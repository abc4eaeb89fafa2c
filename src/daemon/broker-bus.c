/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.pidbroker.Broker1 at /org/pidbroker/Broker1. */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "authorize.h"
#include "bus-error.h"
#include "caller-resources.h"
#include "config.h"
#include "feature.h"
#include "legacy.h"
#include "log.h"
#include "missing-pidfd.h"
#include "namespace.h"
#include "request.h"
#include "process-group.h"
#include "spawn-args.h"
#include "subscription.h"
#include "workload.h"
#include "workload-state.h"

/* ---- Spawn ------------------------------------------------------------- */

static int gid_compare(const void *a, const void *b) {
        gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;
        return x < y ? -1 : x > y;
}

/* Sorted, without duplicates, into a new array. */
static gid_t *gid_set(const gid_t *l, size_t n, size_t *ret_n) {
        gid_t *s = calloc(n + 1, sizeof(gid_t));
        size_t k = 0;

        if (!s)
                return NULL;
        memcpy(s, l, n * sizeof(gid_t));
        qsort(s, n, sizeof(gid_t), gid_compare);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || s[k - 1] != s[i])
                        s[k++] = s[i];
        *ret_n = k;
        return s;
}

/* Whether the workload's supplementary groups are exactly the caller's, as
 * sets: dropping a group is a privilege too (deny-by-group permissions and
 * ACLs rely on it). O(n log n) in the groups given. */
static int groups_are_callers(const Caller *c, const gid_t *groups, size_t n_groups) {
        _cleanup_free_ gid_t *a = NULL, *b = NULL;
        size_t na, nb;

        a = gid_set(groups, n_groups, &na);
        b = gid_set(c->groups, c->n_groups, &nb);
        if (!a || !b)
                return -ENOMEM;
        return na == nb && memcmp(a, b, na * sizeof(gid_t)) == 0;
}

static bool gid_is_callers(const Caller *c, gid_t g) {
        if (g == c->gid)
                return true;
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i] == g)
                        return true;
        return false;
}

static bool spawn_has_userns_map(const SpawnArgs *a, size_t n_map) {
        return (a->req.namespaces & (UINT64_C(1) << NAMESPACE_USER)) && n_map > 0;
}

/* The uid the workload has outside any user namespace: with a uid_map the
 * user option names an id inside it. (uid_t) -1 if unmapped (the spawn
 * validation refuses that). */
static uid_t spawn_outside_uid(const Caller *c, const SpawnArgs *a) {
        uid_t user = a->has_user ? a->req.uid : c->uid;

        if (!spawn_has_userns_map(a, a->req.n_uid_map))
                return user;
        for (size_t i = 0; i < a->req.n_uid_map; i++)
                if (user >= a->req.uid_map[i].inside && user - a->req.uid_map[i].inside < a->req.uid_map[i].count)
                        return a->req.uid_map[i].outside + (user - a->req.uid_map[i].inside);
        return (uid_t) -1;
}

/* What a cgroup fd the caller passed is, read off the loop: fstat() on a
 * client's fd may block for as long as a FUSE server likes. */
typedef struct CgroupCheck {
        int fd;
        int error;
        bool is_cgroup2_dir;
        uid_t owner;
} CgroupCheck;

static void cgroup_check_free(void *p) {
        CgroupCheck *c = p;
        safe_close(c->fd);
        free(c);
}

static void cgroup_check_run(void *p) {
        CgroupCheck *c = p;
        struct statfs sfs;
        struct stat st;

        if (fstatfs(c->fd, &sfs) < 0 || fstat(c->fd, &st) < 0) {
                c->error = -errno;
                return;
        }
        c->is_cgroup2_dir = sfs.f_type == CGROUP2_SUPER_MAGIC && S_ISDIR(st.st_mode);
        c->owner = st.st_uid;
}

/* Which actions a spawn request asks: spawn always; spawn-as-user when the
 * workload could act as ids other than the caller's (user, group, a set of
 * supplementary groups other than exactly the caller's; with a user
 * namespace, every outside id its uid_map/gid_map maps); spawn-privileged
 * for capabilities, a cgroup not delegated to the caller, and resources
 * beyond the caller's own (beyond: spawn_resources_beyond_caller()).
 * Seccomp and no_new_privileges ask nothing more: without capabilities and
 * as the caller, a workload can do nothing the caller could not run
 * directly. */
static int spawn_actions(const Caller *c, const SpawnArgs *a, const CgroupCheck *cgroup, bool beyond,
                         Action actions[static 3]) {
        bool as_user = false, privileged = false;
        size_t n = 0;
        int k;

        if (spawn_has_userns_map(a, a->req.n_uid_map)) {
                for (size_t i = 0; i < a->req.n_uid_map; i++)
                        if (a->req.uid_map[i].outside != c->uid || a->req.uid_map[i].count != 1)
                                as_user = true;
        } else if ((a->has_user ? a->req.uid : c->uid) != c->uid)
                as_user = true;

        if (spawn_has_userns_map(a, a->req.n_gid_map)) {
                for (size_t i = 0; i < a->req.n_gid_map; i++)
                        if (a->req.gid_map[i].count != 1 || !gid_is_callers(c, a->req.gid_map[i].outside))
                                as_user = true;
        } else if ((a->has_group ? a->req.gid : c->gid) != c->gid)
                as_user = true;

        if (a->has_groups) {
                k = groups_are_callers(c, a->req.groups, a->req.n_groups);
                if (k < 0)
                        return k;
                if (k == 0)
                        as_user = true;
        }

        if (a->req.capabilities != 0)
                privileged = true;
        if (cgroup && cgroup->owner != c->uid)
                privileged = true;
        if (beyond)
                privileged = true;

        actions[n++] = ACTION_SPAWN;
        if (as_user)
                actions[n++] = ACTION_SPAWN_AS_USER;
        if (privileged)
                actions[n++] = ACTION_SPAWN_PRIVILEGED;
        return (int) n;
}

/* The caller's ids where the request names none; the site's control path. */
static void spawn_request_complete(SpawnArgs *a, const Caller *caller, const SeccompProfile *profile,
                                   ControlPath cp) {
        if (!a->has_user)
                a->req.uid = caller->uid;
        if (!a->has_group)
                a->req.gid = caller->gid;
        if (!a->has_groups) {
                a->req.groups = caller->groups;
                a->req.n_groups = caller->n_groups;
        }
        a->req.seccomp = profile;
        a->req.control_path = cp;
}

/* kill_mode=cgroup and the cgroup limits concern the workload's own unit,
 * which a workload born in the caller's cgroup (the cgroup option) does
 * not get; a limit needs its controller. */
static int spawn_check_unit_options(Manager *m, const SpawnArgs *a, sd_bus_error *error) {
        CgroupLimit missing;

        if (a->req.cgroup_fd >= 0 && a->has_kill_mode && a->kill_mode == KILL_MODE_CGROUP)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
                                        "kill_mode=cgroup needs the workload's own cgroup, which the cgroup option "
                                        "replaces.");
        if (a->req.cgroup_fd >= 0 && a->limits.set != 0)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
                                        "Cgroup limits apply to the workload's own cgroup, which the cgroup option "
                                        "replaces: set them on the cgroup passed.");
        if (!unit_limits_supported(m, &a->limits, &missing))
                return unit_limit_not_supported(m, missing, error);
        return 0;
}

static void kill_and_reap(Spawned *s) {
        siginfo_t si;
        (void) process_signal(&s->process, SIGKILL, 0);
        (void) process_wait(&s->process, WEXITED, &si);
        spawned_done(s);
}

/* A spawn whose child shares our memory (spawn_would_share()), run off the
 * loop: it owns everything the child reads, since the request may be
 * answered (BlockingTimeoutSec) before its thread returns. Freed unused, it
 * kills and reaps a child it made and removes the unit. */
typedef struct SpawnJob {
        SpawnArgs a;
        gid_t *groups;      /* the caller's, when a.req.groups is */
        CgroupUnit unit;
        Spawned spawned;
        int result;         /* spawn_start()'s */
} SpawnJob;

static void spawn_job_free(void *p) {
        SpawnJob *j = p;

        if (!j)
                return;
        if (process_is_set(&j->spawned.process))
                kill_and_reap(&j->spawned);
        spawned_done(&j->spawned);
        if (j->unit.fd >= 0) {
                (void) cgroup_unit_kill(&j->unit);
                (void) cgroup_unit_remove(&j->unit);
        }
        cgroup_unit_done(&j->unit);
        for (size_t i = 0; i < j->a.req.n_fds; i++)
                safe_close(((FdMapping *) j->a.req.fds)[i].fd);
        safe_close(j->a.req.exe_fd);
        free(j->groups);
        spawn_args_done(&j->a);
        free(j);
}

/* A spawn with an inheritable filter runs on a thread of that filter's
 * lane, and the thread takes the filter first, once (spawn.h); any other
 * on lane 0, whose threads take none. */
static uint64_t spawn_job_lane(const SpawnRequest *req) {
        return req->seccomp && req->seccomp->inheritable ? req->seccomp->digest : 0;
}

static void spawn_job_run(void *p) {
        SpawnJob *j = p;

        /* Failing, the child loads the filter itself. */
        if (spawn_job_lane(&j->a.req) != 0)
                (void) spawn_thread_take_filter(j->a.req.seccomp);
        j->result = spawn_start(&j->a.req, &j->spawned);
}

/* The job takes a (its own again: nothing of it is freed here) and unit;
 * the fds that belong to the message, and the caller's groups, it copies. */
static int spawn_job_new(SpawnArgs *a, CgroupUnit *unit, SpawnJob **ret) {
        SpawnJob *j = calloc(1, sizeof *j);
        int r = 0;

        if (!j)
                return -ENOMEM;
        j->a = *a;
        j->unit = *unit;
        j->spawned = SPAWNED_NULL;
        *a = (SpawnArgs) {};
        spawn_args_init(a);
        *unit = CGROUP_UNIT_NULL;
        j->a.req.cgroup_fd = j->unit.fd;
        if (!j->a.has_groups && j->a.req.n_groups > 0) {
                j->groups = reallocarray(NULL, j->a.req.n_groups, sizeof(gid_t));
                if (j->groups)
                        memcpy(j->groups, j->a.req.groups, j->a.req.n_groups * sizeof(gid_t));
                else
                        r = -ENOMEM;
        }
        j->a.req.groups = j->a.has_groups ? j->a.req.groups : j->groups;
        for (size_t i = 0; i < j->a.req.n_fds; i++) {
                FdMapping *f = (FdMapping *) &j->a.req.fds[i];
                f->fd = r < 0 ? -EBADF : fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
                if (f->fd < 0 && r >= 0)
                        r = -errno;
        }
        if (j->a.req.exe_fd >= 0) {
                j->a.req.exe_fd = r < 0 ? -EBADF : fcntl(j->a.req.exe_fd, F_DUPFD_CLOEXEC, 3);
                if (j->a.req.exe_fd < 0 && r >= 0)
                        r = -errno;
        }
        if (r < 0) {
                spawn_job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

/* r from spawn_start(), at step: named as a failed exec is (workload.c). */
static int spawn_error(sd_bus_error *error, int r, SpawnStep step) {
        if (step == SPAWN_STEP_NONE && r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid spawn request: %s", strerror(-r));
        if (step == SPAWN_STEP_CLONE && (r == -EOPNOTSUPP || r == -ENOSYS))
                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED, "No way to create the process: %s",
                                         strerror(-r));
        return sd_bus_error_setf(error, BUS_ERROR_SPAWN_FAILED, "%s failed: %s (%s, errno %d)",
                                 spawn_step_to_string(step), strerror(-r), strerrorname_np(-r) ?: "?", -r);
}

static int method_spawn(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(spawn_args_done) SpawnArgs a = {};
        _cleanup_cgroup_unit_ CgroupUnit unit = CGROUP_UNIT_NULL;
        Workload *w;
        Manager *m = userdata;
        const SeccompProfile *profile = NULL;
        const CgroupCheck *cgroup = NULL;
        const char *reason = NULL, *profile_name, *beyond = NULL;
        CallerResources res;
        Spawned spawned = SPAWNED_NULL;
        Target t = TARGET_NULL;
        Action actions[3];
        Request *r;
        uint64_t seq;
        char buf[256];
        int k, n;

        /* 1. Who is asking. */
        t.control_path = manager_control_path(m);
        k = request_begin(m, msg, ACTION_SPAWN, &r, error);
        if (k < 0)
                return k;
        /* A child started now would be unknown to the new image; one made
         * off the loop already becomes a workload it knows. */
        if (m->reexecuting && !request_offload_done(r)) {
                sd_bus_error_set(error, BUS_ERROR_REEXECUTING,
                                 "The daemon is re-executing; try again once it is back on the bus.");
                return request_refuse(r, &t, error);
        }

        /* 2. What is asked, checked without policy. The target is the user
         *    the workload will run as: no process exists yet. */
        k = spawn_args_parse(msg, m->config, &a, error);
        if (k < 0)
                return request_refuse(r, &t, error);
        t.uid = spawn_outside_uid(&r->caller, &a);
        profile_name = a.seccomp ?: m->config->default_seccomp_profile;
        if (manager_get_seccomp_profile(m, profile_name, &profile) < 0) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Unknown seccomp profile '%s'.", profile_name);
                return request_refuse(r, &t, error);
        }
        /* require_pidfd: the pidfd path or nothing (NotSupported from the
         * engine, before the workload runs). */
        if (a.require_pidfd && m->config->control_path == CONTROL_PATH_LEGACY) {
                sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "require_pidfd, but ControlPath is legacy.");
                return request_refuse(r, &t, error);
        }
        spawn_request_complete(&a, &r->caller, profile,
                               a.require_pidfd ? CONTROL_PATH_PIDFD : m->config->control_path);
        if (spawn_request_validate(&a.req, &reason) < 0) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s", reason ?: "Invalid spawn request.");
                return request_refuse(r, &t, error);
        }
        /* The re-run once the child was made off the loop (step 5): it was
         * all checked, decided and recorded on the first pass, and the
         * child exists; only its result is left to take. */
        if (a.req.cgroup_fd < 0 && request_offload_done(r)) {
                k = request_record(r, &t, &seq, error);
                if (k < 0)
                        return k;
                goto spawned;
        }
        if (a.req.cgroup_fd >= 0) {
                CgroupCheck *c = calloc(1, sizeof *c);
                void *done = NULL;

                if (!c)
                        return -ENOMEM;
                c->fd = fcntl(a.req.cgroup_fd, F_DUPFD_CLOEXEC, 3);
                if (c->fd < 0) {
                        free(c);
                        return request_refuse_errno(r, &t, -errno, "Cannot take the cgroup fd", error);
                }
                k = request_offload(r, 0, cgroup_check_run, c, cgroup_check_free, &done, &t, error);
                RET_IF_NOT_YET(k);
                cgroup = done;
                if (cgroup->error < 0)
                        return request_refuse_errno(r, &t, cgroup->error, "Cannot read the cgroup fd", error);
                if (!cgroup->is_cgroup2_dir) {
                        sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The cgroup fd is not a cgroup2 directory.");
                        return request_refuse(r, &t, error);
                }
        }
        /* The caller's own rlimits, nice and oom_score_adj, read on each
         * pass: what the request leaves out, the workload gets from them
         * (never from us), and asking more than they allow is privileged.
         * They can only have tightened since an earlier pass. */
        k = caller_resources_read(&r->caller, &res);
        if (k < 0)
                return request_refuse_errno(r, &t, k, "Cannot read the caller's resource limits", error);
        if (spawn_resources_beyond_caller(&a.req, res.rlimits, res.nice, res.oom_score_adj, &beyond))
                log_debug("Spawn for %s asks %s: %s%s.", caller_describe(&r->caller, buf, sizeof buf),
                          action_to_string(ACTION_SPAWN_PRIVILEGED), beyond,
                          res.capped ? " (an unpinned caller's, capped)" : "");
        (void) spawn_request_inherit_resources(&a.req, res.rlimits, res.nice, res.oom_score_adj);
        if (spawn_check_unit_options(m, &a, error) < 0)
                return request_refuse(r, &t, error);
        /* Live workloads count; exited ones too while their owner, still
         * connected, keeps them unreleased (what a client holds is bounded
         * as well; those of gone clients go after ExitRetentionSec). */
        if (manager_count_workloads(m, r->caller.uid) >= m->config->max_workloads_per_user) {
                sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED, "uid %u has %u live workloads already.",
                                  (unsigned) r->caller.uid, m->config->max_workloads_per_user);
                return request_refuse(r, &t, error);
        }
        if (manager_count_unreleased(m, r->caller.uid) >= m->config->max_workloads_per_user) {
                sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                  "uid %u has %u exited workloads not released; Release them first.",
                                  (unsigned) r->caller.uid, m->config->max_workloads_per_user);
                return request_refuse(r, &t, error);
        }

        /* 3. Policy. */
        n = spawn_actions(&r->caller, &a, cgroup, beyond != NULL, actions);
        if (n < 0)
                return n;
        k = request_authorize(r, actions, (size_t) n, &t, error);
        RET_IF_NOT_YET(k);

        /* 4. The record, before anything exists. */
        k = request_record(r, &t, &seq, error);
        if (k < 0)
                return k;

        /* 5. The workload's own cgroup, its limits written (none with the
         *    cgroup option: it is born in the caller's), then clone into
         *    it. Its outcome (6) and the reply (7) come with the exec
         *    result, from the workload. A child that shares our memory is
         *    made off the loop (spawn_would_share()); with the cgroup
         *    option, whose check took this request's one job, or with the
         *    caller's blocking jobs all taken, the child is a copy, made
         *    here. */
        if (cgroup || !offload_has_room(m->offload, r->caller.uid))
                a.req.copy_child = true;
        if (a.req.cgroup_fd < 0) {
                CgroupLimit missing;

                k = unit_create_for_spawn(m, &a.limits, &unit, &missing);
                if (k < 0) {
                        m->metrics.spawns_failed++;
                        log_info_errno(k, "Cannot create the cgroup of a workload for %s: %m",
                                       caller_describe(&r->caller, buf, sizeof buf));
                        request_outcome(r, seq, k);
                        if (k == -EOPNOTSUPP)
                                return unit_limit_not_supported(m, missing, error);
                        /* Named as the engine's steps are (spawn_error()). */
                        return sd_bus_error_setf(error, BUS_ERROR_SPAWN_FAILED, "cgroup-unit failed: %s (%s, errno %d)",
                                                 strerror(-k), strerrorname_np(-k) ?: "?", -k);
                }
                a.req.cgroup_fd = unit.fd;
        }
        if (spawn_would_share(&a.req)) {
                SpawnJob *job;
                void *done;

                uint64_t lane = spawn_job_lane(&a.req);
                k = spawn_job_new(&a, &unit, &job);
                if (k < 0) {
                        manager_forget_unit(m, &unit);
                        request_outcome(r, seq, k);
                        return bus_error_from_errno(error, k, "Cannot prepare the spawn");
                }
                k = request_offload(r, lane, spawn_job_run, job, spawn_job_free, &done, &t, error);
                if (k < 0)
                        request_outcome(r, seq, k);
                RET_IF_NOT_YET(k);
        }
spawned:
        if (request_offload_done(r) && !cgroup) {
                SpawnJob *job = NULL;

                /* The job's answer, kept with the request: take what it made. */
                k = request_offload(r, 0, NULL, NULL, NULL, (void **) &job, &t, error);
                if (k < 0) {
                        request_outcome(r, seq, -ETIMEDOUT);
                        return k;
                }
                unit = job->unit;
                job->unit = CGROUP_UNIT_NULL;
                spawned = job->spawned;
                job->spawned = SPAWNED_NULL;
                k = job->result;
        } else
                k = spawn_start(&a.req, &spawned);
        if (k < 0) {
                m->metrics.spawns_failed++;
                log_info_errno(k, "Spawn of %s for %s failed: %m", a.req.argv[0],
                               caller_describe(&r->caller, buf, sizeof buf));
                manager_forget_unit(m, &unit);
                request_outcome(r, seq, k);
                return spawn_error(error, k, spawned.failed_step);
        }
        WorkloadOptions opts = {
                .user = a.req.uid,
                .watch_client = a.watch_client,
                .stop_timeout_usec = a.has_stop_timeout ? a.stop_timeout_usec : m->config->stop_timeout_usec,
                .kill_mode = unit.fd >= 0 ? a.kill_mode : KILL_MODE_PROCESS,
                .audit_seq = seq,
        };
        k = workload_new(m, &r->caller, msg, &spawned, &a.req.argv, &opts, &w);
        if (k < 0) {
                kill_and_reap(&spawned);
                manager_forget_unit(m, &unit);
                request_outcome(r, seq, k);
                return bus_error_from_errno(error, k, "Failed to track the workload");
        }
        /* Nothing of it is dispatched before we return. */
        w->unit = unit;
        unit = CGROUP_UNIT_NULL;
        unit_close_fd(&w->unit);
        workload_spawn_settle(w);
        return 1; /* answered with the exec result */
}

/* ---- Signal (both interfaces) -------------------------------------------- */

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

/* The /proc walk of a group-scoped signal, off the loop. */
typedef struct ProcessGroupScan {
        pid_t pgid;
        uid_t caller_uid;
        int result;
        pid_t member;
        uid_t member_uid;
} ProcessGroupScan;

static void process_group_scan_free(void *p) {
        free(p);
}

static void process_group_scan_run(void *p) {
        ProcessGroupScan *s = p;
        s->result = process_group_foreign_member(s->pgid, s->caller_uid, &s->member, &s->member_uid);
}

int handle_signal(Request *r, const Process *p, int sig, unsigned flags, sd_bus_error *error) {
        Manager *m = r->manager;
        Target t = TARGET_NULL;
        Action actions[2];
        size_t n = 0;
        uint64_t seq;
        char buf[256];
        int k;

        /* 2. The target as the policy and the record see it. */
        t.signal = sig;
        t.flags = flags;
        k = target_read(m, p, &r->caller, &r->facts, &t);
        if (k == -ESRCH) {
                t.pid = p->pid;
                t.pidfd_id = p->id;
                sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
                return request_refuse(r, &t, error);
        }
        if (k < 0)
                return request_refuse_errno(r, &t, k, "Cannot read the target's credentials", error);
        t.signal = sig;
        t.flags = flags;

        /* A group-scoped signal goes, with our credentials, to every member
         * of the group the target's pid names: the target's uid alone says
         * nothing of them. A member the caller's own kill(2) could not reach
         * makes it another user's business, and the policy sees that
         * member's uid (not your workload, whatever the leader is). The walk
         * of /proc runs off the loop. */
        if (flags & PIDFD_SIGNAL_PROCESS_GROUP) {
                ProcessGroupScan *scan = calloc(1, sizeof *scan);
                void *done = NULL;

                if (!scan)
                        return -ENOMEM;
                *scan = (ProcessGroupScan) { .pgid = p->pid, .caller_uid = r->caller.uid };
                k = request_offload(r, 0, process_group_scan_run, scan, process_group_scan_free, &done, &t, error);
                RET_IF_NOT_YET(k);
                scan = done;
                if (scan->result < 0)
                        return request_refuse_errno(r, &t, scan->result,
                                                    "Cannot read the members of the target's process group", error);
                if (scan->result > 0) {
                        if (t.uid == r->caller.uid || scan->member_uid == 0)
                                t.uid = scan->member_uid;
                        t.is_own_workload = false;
                }
        }

        /* 3. Another user's process asks signal-other-user, one in another
         *    pid or user namespace signal-cross-namespace (your own
         *    workloads there are allowed by the built-in rule), both when
         *    both; plain signal otherwise. */
        if (t.uid != r->caller.uid)
                actions[n++] = ACTION_SIGNAL_OTHER_USER;
        if (t.cross_namespace)
                actions[n++] = ACTION_SIGNAL_CROSS_NAMESPACE;
        if (n == 0)
                actions[n++] = ACTION_SIGNAL;
        k = request_authorize(r, actions, n, &t, error);
        RET_IF_NOT_YET(k);

        /* 4. */
        k = request_record(r, &t, &seq, error);
        if (k < 0)
                return k;

        /* 5, 6. */
        k = process_signal(p, sig, flags);
        metrics_count_signal(&m->metrics, p, k);
        request_outcome(r, seq, k);
        log_info("Signal %d (flags %u) to pid %d for %s: %s", sig, flags, (int) p->pid,
                 caller_describe(&r->caller, buf, sizeof buf), k < 0 ? strerror(-k) : "ok");

        /* 7. */
        if (k < 0)
                return bus_error_from_errno(error, k, "Signal failed");
        return sd_bus_reply_method_return(r->msg, NULL);
}

/* A pidfd the caller passed, as a handle borrowed from the message (no dup:
 * the message keeps the fd while its handler runs, and a handler that runs
 * again reads it again): a refusal (recorded) when it is none. Reading what
 * it is never blocks: the pidfd is recognised by its file system (statx
 * without a sync) or from our own fdinfo before anything else touches it. */
static int request_borrow_pidfd(Request *r, int fd, Process *ret, sd_bus_error *error) {
        int k = process_borrow_pidfd(ret, fd);

        if (k == -ESRCH)
                sd_bus_error_set(error, BUS_ERROR_NO_SUCH_PROCESS, "The process has exited.");
        else if (k < 0)
                sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The fd passed is not a pidfd.");
        else
                return 0;
        return request_refuse(r, NULL, error);
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Process p = PROCESS_NULL; /* borrowed from msg: not closed here */
        Manager *m = userdata;
        Request *r;
        int32_t sig;
        uint32_t flags;
        int fd, k;

        k = request_begin(m, msg, ACTION_SIGNAL, &r, error);
        if (k < 0)
                return k;
        k = sd_bus_message_read(msg, "hiu", &fd, &sig, &flags);
        if (k < 0)
                return request_refuse_errno(r, NULL, k, "Bad arguments", error);
        if (signal_check_args(sig, flags, error) < 0)
                return request_refuse(r, NULL, error);
        k = request_borrow_pidfd(r, fd, &p, error);
        if (k < 0)
                return k;
        return handle_signal(r, &p, sig, flags, error);
}

/* ---- GetFd ------------------------------------------------------------- */

/* The kind of an fd we took: for the policy, one word ("socket", "pipe",
 * "file", "directory", "chardev", "blockdev") or the anon inode's name
 * ("anon_inode:[eventfd]"); for the record the same, with the path appended
 * for things that have one ("file:/etc/passwd"). Neither call can block on
 * the file's file system: the link is the dentry's name, and the type comes
 * from the inode the kernel holds (AT_STATX_DONT_SYNC: a FUSE or network
 * file system is not asked). The path is informational: the file may have
 * been renamed or deleted (" (deleted)"). */
static int fd_classify(int fd, char **ret_type, char **ret_audit) {
        _cleanup_free_ char *type = NULL, *audit = NULL;
        char path[64], link[4096];
        struct statx stx;
        ssize_t n;

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
                if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
                        return -errno;
                mode_t mode = stx.stx_mode;
                const char *t = S_ISSOCK(mode) ? "socket" :
                                S_ISFIFO(mode) ? "pipe" :
                                S_ISREG(mode)  ? "file" :
                                S_ISDIR(mode)  ? "directory" :
                                S_ISCHR(mode)  ? "chardev" :
                                S_ISBLK(mode)  ? "blockdev" : "unknown";
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

/* FdType= rules (embedded engine) are asked a second time once the type is
 * known, before the fd is handed out. 0 allowed, -EACCES denied. */
static int getfd_check_fd_type(Request *r, Target *t, const char *fd_type) {
        AuthResult res;
        AuthRequest ar = {
                .caller = &r->caller,
                .facts = &r->facts,
                .actions = (const Action[]) { ACTION_GETFD },
                .n_actions = 1,
                .target = t,
        };

        t->fd_type = fd_type;
        if (authorize_now(r->manager->authority, &ar, &res) < 0 || res.allow)
                return 0;
        log_notice("GetFd %d from pid %d: fd type %s denied (%s).", t->target_fd, (int) t->pid, fd_type, res.rule);
        return -EACCES;
}

static int method_get_fd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Process p = PROCESS_NULL; /* borrowed from msg: not closed here */
        _cleanup_free_ char *fd_type = NULL, *fd_type_audit = NULL;
        _cleanup_close_ int fd = -EBADF;
        Manager *m = userdata;
        Target t = TARGET_NULL;
        int32_t target_fd;
        uint64_t seq;
        char buf[256];
        Request *r;
        int pidfd, k;

        /* 1, 2. */
        k = request_begin(m, msg, ACTION_GETFD, &r, error);
        if (k < 0)
                return k;
        k = sd_bus_message_read(msg, "hi", &pidfd, &target_fd);
        if (k < 0)
                return request_refuse_errno(r, NULL, k, "Bad arguments", error);
        t.target_fd = target_fd;
        if (target_fd < 0) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Invalid target fd %d.", target_fd);
                return request_refuse(r, &t, error);
        }
        k = request_borrow_pidfd(r, pidfd, &p, error);
        if (k < 0)
                return k;
        if (process_is_legacy(&p) || !feature_available(FEATURE_PIDFD_GETFD)) {
                sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "pidfd_getfd is not available.");
                return request_refuse(r, &t, error);
        }
        k = target_read(m, &p, &r->caller, &r->facts, &t);
        if (k < 0)
                return request_refuse_errno(r, &t, k, "Cannot read the target's credentials", error);
        t.target_fd = target_fd;

        /* 3. Decided before the fd is taken: its type is not known yet. */
        k = request_authorize(r, (const Action[]) { ACTION_GETFD }, 1, &t, error);
        RET_IF_NOT_YET(k);

        /* 4. */
        k = request_record(r, &t, &seq, error);
        if (k < 0)
                return k;

        /* 5. Take it, then look at what it is, then ask FdType= rules. A
         *    denied or failed one never reaches the caller. */
        fd = process_getfd(&p, target_fd);
        metrics_count_operation(&m->metrics, &p);
        if (fd >= 0) {
                k = fd_classify(fd, &fd_type, &fd_type_audit);
                if (k >= 0)
                        k = getfd_check_fd_type(r, &t, fd_type);
        } else
                k = fd;

        /* 6. */
        request_outcome_fd_type(r, seq, k, fd_type_audit);
        log_info("GetFd %d (%s) from pid %d for %s: %s", target_fd, fd_type_audit ?: "?", (int) p.pid,
                 caller_describe(&r->caller, buf, sizeof buf), k < 0 ? strerror(-k) : "ok");

        /* 7. Appending an 'h' dups it; ours is closed on return. */
        if (k == -EBADF)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "The target has no fd %d.", target_fd);
        if (k == -EACCES)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Not authorized (%s, fd type %s).",
                                         action_to_string(ACTION_GETFD), fd_type);
        if (k < 0)
                return bus_error_from_errno(error, k, "pidfd_getfd failed");
        return sd_bus_reply_method_return(msg, "h", fd);
}

/* ---- Subscribe, Unsubscribe -------------------------------------------- */

/* The connection hears of every workload it may see (subscription.h): its
 * uid's, or all of them if manage allows it now. Like a listing
 * (GetManagedObjects), not seeing others' is no refusal and is not
 * recorded, nor is an allowed subscription; a refused one (identity, the
 * limit) is. Subscribing again changes nothing. */
static int method_subscribe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Target t = TARGET_NULL;
        Request *r;
        int k;

        /* 1, 2. */
        k = request_begin(m, msg, ACTION_MANAGE, &r, error);
        if (k < 0)
                return k;
        if (subscriber_find(m, msg))
                return sd_bus_reply_method_return(msg, NULL);
        if (subscribers_count(m, r->caller.uid) >= m->config->max_subscriptions_per_user) {
                sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                  "uid %u has %u connections subscribed already (MaxSubscriptionsPerUser).",
                                  (unsigned) r->caller.uid, m->config->max_subscriptions_per_user);
                return request_refuse(r, NULL, error);
        }

        /* 3. Decided once, for the subscription's life. */
        k = request_authorize_manage(r, &t, /* record= */ false);
        if (k == -EAGAIN)
                return 1;

        /* 5, 7. */
        k = subscriber_add(m, msg, r->caller.uid, k > 0, NULL);
        if (k < 0)
                return bus_error_from_errno(error, k, "Cannot subscribe");
        return sd_bus_reply_method_return(msg, NULL);
}

/* A connection that is not subscribed is answered as one that was: the
 * outcome is the same. */
static int method_unsubscribe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Request *r;
        int k;

        k = request_begin(m, msg, ACTION_MANAGE, &r, error);
        if (k < 0)
                return k;
        subscriber_free(subscriber_find(m, msg));
        return sd_bus_reply_method_return(msg, NULL);
}

/* ---- Reexecute ----------------------------------------------------------- */

/* Allowed and recorded, the caller is answered at once; the re-exec
 * follows from the event loop (workload-state.h), whose last act before
 * execve() is this record's outcome. A second call while one is under way
 * joins it. */
static int method_reexecute(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Target t = TARGET_NULL;
        char buf[256];
        uint64_t seq;
        Request *r;
        int k;

        k = request_begin(m, msg, ACTION_MANAGE_DAEMON, &r, error);
        if (k < 0)
                return k;
        k = request_authorize(r, (const Action[]) { ACTION_MANAGE_DAEMON }, 1, &t, error);
        RET_IF_NOT_YET(k);
        k = request_record(r, &t, &seq, error);
        if (k < 0)
                return k;

        log_notice("Reexecute requested by %s.", caller_describe(&r->caller, buf, sizeof buf));
        k = m->reexecuting ? 0 : manager_reexecute(m, seq);
        if (k < 0 || m->reexec_audit_seq != seq)
                request_outcome(r, seq, k);
        if (k < 0)
                return bus_error_from_errno(error, k, "Cannot re-execute");
        return sd_bus_reply_method_return(msg, NULL);
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
        r = unit_append_features(userdata, reply);
        if (r < 0)
                return r;
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
        SD_BUS_METHOD("Subscribe", NULL, NULL, method_subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Unsubscribe", NULL, NULL, method_unsubscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("WorkloadNew", "to", SD_BUS_PARAM(id) SD_BUS_PARAM(workload), 0),
        SD_BUS_SIGNAL_WITH_NAMES("WorkloadRemoved", "to", SD_BUS_PARAM(id) SD_BUS_PARAM(workload), 0),
        SD_BUS_METHOD("Reexecute", NULL, NULL, method_reexecute, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int broker_register_objects(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, BROKER_PATH, BROKER_INTERFACE, broker_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, BROKER_PATH);
}
