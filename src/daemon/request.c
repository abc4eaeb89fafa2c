/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bus-error.h"
#include "log.h"
#include "request.h"
#include "workload.h"

int target_facts_read(Manager *m, const Process *p, uid_t caller_uid, TargetFacts *ret) {
        TargetFacts t = { .pid = p->pid, .pidfd_id = p->id, .uid = (uid_t) -1 };
        ProcessInfo info;
        int r;

        r = process_get_info(p, &info);
        if (r < 0)
                return r;
        t.uid = info.ruid == caller_uid ? info.euid : info.ruid;

        if (process_namespace_id(p, NAMESPACE_PID, &t.pidns) < 0)
                t.pidns = 0;
        if (process_namespace_id(p, NAMESPACE_USER, &t.userns) < 0)
                t.userns = 0;
        if (process_get_comm(p, t.comm) < 0)
                t.comm[0] = '\0';
        t.control_path = process_control_path(p);

        /* Ours only if the pidfs identity matches the record: a pid or a
         * workload id the caller names proves nothing. */
        Workload *w = p->id != 0 ? workload_find(m, p->id) : NULL;
        if (w && w->spawned.process.id == p->id) {
                t.workload_id = w->id;
                t.is_own_workload = w->owner_uid == caller_uid && w->state == WORKLOAD_RUNNING;
        }

        *ret = t;
        return 0;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Field 5 (pgrp) of /proc/<pid>/stat. comm (field 2) may hold spaces and
 * parentheses: parse after its last ')'. */
static int proc_pgrp(pid_t pid, pid_t *ret) {
        char path[64], buf[512];
        const char *p;
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        int pgrp;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        if (n == 0)
                return -ESRCH; /* gone while we read */
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %*c %*d %d", &pgrp) != 1)
                return -EIO;
        *ret = pgrp;
        return 0;
}

/* Only the group's members matter; each is pinned with a pidfd before its
 * credentials are read, and its pgrp read again after that (the pid seen in
 * the scan may have been reused by then: the pinned process must be the one
 * in the group). A member that exits meanwhile is no concern.
 *
 * What remains is a race no check before the signal can close: between this
 * scan and pidfd_send_signal() a process may join the group (setpgid: only
 * the process itself, or its parent before it execs; a child a member forks
 * is born in the group with that member's uids) or change its uids (only the
 * process itself, by set*uid() or by executing a setuid program). Whoever
 * does it acts on its own process or child: a privileged process that moves
 * into the group or drops to the caller's uid has put itself in the
 * caller's reach; a process of the caller's that executes a setuid program
 * in that window is signalled as if it had not yet. */
int process_group_foreign_member(pid_t pgid, uid_t caller_uid, pid_t *ret_pid, uid_t *ret_uid) {
        _cleanup_(closedirp) DIR *d = NULL;
        pid_t found_pid = 0;
        uid_t found_uid = (uid_t) -1;
        struct dirent *de;
        int k;

        if (pgid <= 0 || caller_uid == (uid_t) -1)
                return -EINVAL;
        d = opendir("/proc");
        if (!d)
                return -errno;
        for (;;) {
                _cleanup_process_ Process p = PROCESS_NULL;
                ProcessInfo info;
                pid_t pid, pgrp;
                char *end;
                long l;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                errno = 0;
                l = strtol(de->d_name, &end, 10);
                if (errno != 0 || *end != '\0' || l <= 0 || l > INT_MAX)
                        continue;
                pid = (pid_t) l;

                k = proc_pgrp(pid, &pgrp);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                if (pgrp != pgid)
                        continue;

                /* pidfd_open() itself, whatever the control path: signal
                 * scopes need a kernel that has it, and no pin, no fact. */
                int fd = (int) syscall(__NR_pidfd_open, pid, 0);
                if (fd < 0) {
                        /* Gone, or the pid now names a thread. */
                        if (errno == ESRCH || errno == ENOENT || errno == EINVAL)
                                continue;
                        return -errno;
                }
                k = process_from_pidfd(&p, fd);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                k = process_get_info(&p, &info);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                /* The pinned process, still alive under this pid, in the group. */
                k = proc_pgrp(pid, &pgrp);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                if (process_check_alive(&p) < 0 || pgrp != pgid)
                        continue;

                /* kill(2): an unprivileged sender may signal a process whose
                 * real or saved uid is the sender's real or effective uid. */
                if (info.ruid == caller_uid || info.suid == caller_uid)
                        continue;
                if (found_pid == 0 || (found_uid != 0 && info.ruid == 0)) {
                        found_pid = pid;
                        found_uid = info.ruid;
                }
        }

        if (found_pid == 0)
                return 0;
        *ret_pid = found_pid;
        *ret_uid = found_uid;
        return 1;
}

bool target_is_cross_namespace(const TargetFacts *t, const CallerFacts *f) {
        if (t->pidns == 0 || t->userns == 0 || f->pidns == 0 || f->userns == 0)
                return true;
        return t->pidns != f->pidns || t->userns != f->userns;
}

void audit_subject_from_caller(AuditSubject *ret, const Caller *c, const CallerFacts *f) {
        *ret = (AuditSubject) {
                .uid = c->uid,
                .gids = f->gids,
                .n_gids = f->n_gids,
                .pid = c->process.pid,
                .pidfd_id = c->process.id,
                .bus_name = c->bus_name,
                .comm = f->comm[0] ? f->comm : NULL,
                .pidns = f->pidns,
                .userns = f->userns,
                .identity = caller_identity_to_string(c->identity),
        };
}

void audit_target_from_facts(AuditTarget *ret, const TargetFacts *t) {
        *ret = (AuditTarget) {
                .pid = t->pid,
                .pidfd_id = t->pidfd_id,
                .uid = t->uid,
                .pidns = t->pidns,
                .userns = t->userns,
                .comm = t->comm[0] ? t->comm : NULL,
                .workload_id = t->workload_id,
        };
}

/* Calls of msg's connection waiting for their decision: the same sd-bus
 * connection (one per direct-socket peer) and, on the bus, the same sender.
 * Only polkit decisions wait; embedded ones free the request at once. */
static unsigned requests_pending_for(Manager *m, sd_bus_message *msg) {
        sd_bus *bus = sd_bus_message_get_bus(msg);
        const char *sender = sd_bus_message_get_sender(msg);
        unsigned n = 0;

        for (Request *r = m->requests; r; r = r->next) {
                const char *s = sd_bus_message_get_sender(r->msg);
                if (sd_bus_message_get_bus(r->msg) == bus && (s == sender || (s && sender && strcmp(s, sender) == 0)))
                        n++;
        }
        return n;
}

int request_new(Manager *m, size_t size, sd_bus_message *msg, const Caller *caller, Request **ret,
                sd_bus_error *error) {
        Request *r;
        int k;

        if (size < sizeof(Request))
                return -EINVAL;
        /* Each pending request holds its message (and the fds in it) until
         * polkit answers or times out: one client must not pile them up. */
        if (requests_pending_for(m, msg) >= m->config->max_pending_per_connection)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                         "%u calls of this connection are waiting for authorization already "
                                         "(MaxPendingPerConnection); wait for their replies.",
                                         m->config->max_pending_per_connection);
        r = calloc(1, size);
        if (!r)
                return -ENOMEM;
        r->manager = m;
        r->caller = CALLER_NULL;
        r->facts = CALLER_FACTS_NULL;

        k = caller_copy(&r->caller, caller);
        if (k >= 0)
                k = caller_facts_read(&r->caller, &r->facts);
        if (k < 0) {
                caller_done(&r->caller);
                free(r);
                return k;
        }
        r->msg = sd_bus_message_ref(msg);
        r->interactive = sd_bus_message_get_allow_interactive_authorization(msg) > 0;

        r->next = m->requests;
        if (m->requests)
                m->requests->prev = r;
        m->requests = r;

        *ret = r;
        return 0;
}

void request_free(Request *r) {
        Manager *m;

        if (!r)
                return;
        m = r->manager;
        if (r->prev)
                r->prev->next = r->next;
        else if (m->requests == r)
                m->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;

        r->check = auth_check_cancel(r->check);
        if (r->destroy)
                r->destroy(r);
        sd_bus_message_unref(r->msg);
        caller_facts_done(&r->facts);
        caller_done(&r->caller);
        free(r);
}

static void on_decided(const AuthResult *res, void *userdata) {
        Request *r = userdata;

        r->check = NULL; /* the check frees itself */
        r->decided(r, res);
        request_free(r);
}

int request_authorize(Request *r, const Action *actions, size_t n_actions, const AuthTarget *target) {
        AuthRequest ar = {
                .caller = &r->caller,
                .facts = &r->facts,
                .actions = actions,
                .n_actions = n_actions,
                .target = *target,
                .interactive = r->interactive,
        };
        AuthCheck *check = NULL;
        int k;

        k = authorize(r->manager->authority, &ar, on_decided, r, &check);
        if (k < 0) {
                /* Nothing was asked: an error, never an allow. */
                log_warning_errno(k, "Cannot authorize a request: %m");
                (void) sd_bus_reply_method_errorf(r->msg, BUS_ERROR_ACCESS_DENIED, "Authorization failed: %s",
                                                  strerror(-k));
                request_free(r);
                return 1;
        }
        if (k > 0)
                r->check = check; /* pending; r lives on */
        /* k == 0: decided already, and r is gone. */
        return 1;
}

int request_audit(Request *r, const AuthResult *res, const AuditTarget *target, const AuditDetails *d,
                  const char *control_path, uint64_t *ret_seq) {
        AuditRecord rec = AUDIT_RECORD_NULL;

        rec.action = action_to_string(res->action) ?: "org.pidbroker.unknown";
        rec.decision = res->allow ? AUDIT_DECISION_ALLOW : AUDIT_DECISION_DENY;
        rec.rule = res->rule;
        audit_subject_from_caller(&rec.subject, &r->caller, &r->facts);
        rec.target = target;
        if (d)
                rec.details = *d;
        rec.control_path = control_path;
        return manager_audit(r->manager, &rec, ret_seq);
}

void request_audit_outcome(Request *r, uint64_t seq, int result) {
        manager_audit_outcome(r->manager, seq, result);
}

int reply_denied(sd_bus_message *msg, const AuthResult *res, bool interactive) {
        const char *action = action_to_string(res->action) ?: "?";

        /* The D-Bus meaning of InteractiveAuthorizationRequired is "would
         * have worked had the call allowed interaction": only when polkit
         * says a challenge could grant it and the caller did not allow one.
         * A call that allowed it was already shown to an agent (or there is
         * none): that is a plain denial. The embedded engine never prompts. */
        if (res->challenge && !interactive)
                return sd_bus_reply_method_errorf(msg, BUS_ERROR_INTERACTIVE_AUTH,
                                                  "Interactive authorization required (%s).", action);
        return sd_bus_reply_method_errorf(msg, BUS_ERROR_ACCESS_DENIED, "Not authorized (%s).", action);
}

int reply_audit_failed(sd_bus_message *msg, int error) {
        return sd_bus_reply_method_errorf(msg, BUS_ERROR_AUDIT_FAILED,
                                          "The audit record could not be written (%s); nothing was done.",
                                          strerror(abs(error)));
}
