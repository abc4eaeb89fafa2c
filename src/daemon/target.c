/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "target.h"
#include "workload.h"

static bool namespaces_differ(const Target *t, const Caller *c, const CallerFacts *f) {
        /* The caller's namespaces are facts about a pid the bus named; where
         * it could not be pinned they prove nothing: ask the stricter action. */
        if (!caller_is_pinned(c))
                return true;
        if (t->pidns == 0 || t->userns == 0 || f->pidns == 0 || f->userns == 0)
                return true;
        return t->pidns != f->pidns || t->userns != f->userns;
}

int target_read(Manager *m, const Process *p, const Caller *c, const CallerFacts *f, Target *ret) {
        Target t = TARGET_NULL;
        ProcessInfo info;
        int r;

        r = process_get_info(p, &info);
        if (r < 0)
                return r;
        t.pid = p->pid;
        t.pidfd_id = p->id;
        t.uid = info.ruid == c->uid ? info.euid : info.ruid;

        /* Ours only if the pidfs identity matches the record: a pid or a
         * workload id the caller names proves nothing. */
        Workload *w = p->id != 0 ? workload_find(m, p->id) : NULL;
        if (w && w->spawned.process.id == p->id) {
                t.workload_id = w->id;
                t.is_own_workload = w->owner_uid == c->uid && w->state == WORKLOAD_RUNNING;
                /* Read while it was spawned; a process never changes its pid
                 * namespace (its user namespace and comm it can). */
                t.pidns = w->namespaces[NAMESPACE_PID];
        }

        if (t.pidns == 0 && process_namespace_id(p, NAMESPACE_PID, &t.pidns) < 0)
                t.pidns = 0;
        if (process_get_comm_userns(p, t.comm, &t.userns) < 0) {
                t.comm[0] = '\0';
                t.userns = 0;
        }
        t.control_path = process_control_path(p);
        t.cross_namespace = namespaces_differ(&t, c, f);

        *ret = t;
        return 0;
}

void target_from_workload(const Workload *w, const Caller *c, const CallerFacts *f, Target *ret) {
        if (w->state == WORKLOAD_RUNNING && target_read(w->manager, &w->spawned.process, c, f, ret) >= 0) {
                ret->workload_id = w->id;
                return;
        }
        Target t = TARGET_NULL;
        t.pid = w->spawned.process.pid;
        t.pidfd_id = w->spawned.process.id;
        t.uid = w->user;
        t.pidns = w->namespaces[NAMESPACE_PID];
        t.userns = w->namespaces[NAMESPACE_USER];
        t.workload_id = w->id;
        t.control_path = process_control_path(&w->spawned.process);
        t.cross_namespace = namespaces_differ(&t, c, f);
        *ret = t;
}

void target_to_audit(const Target *t, AuditTarget *ret_target, AuditDetails *ret_details) {
        *ret_target = (AuditTarget) {
                .pid = t->pid,
                .pidfd_id = t->pidfd_id,
                .uid = t->uid,
                .pidns = t->pidns,
                .userns = t->userns,
                .comm = t->comm[0] ? t->comm : NULL,
                .workload_id = t->workload_id,
        };
        *ret_details = AUDIT_DETAILS_NULL;
        if (t->signal >= 0)
                ret_details->signal = t->signal;
        if (t->flags >= 0)
                ret_details->flags = t->flags;
        if (t->target_fd >= 0)
                ret_details->target_fd = t->target_fd;
        ret_details->fd_type = t->fd_type;
}
