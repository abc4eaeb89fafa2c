/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A method call on its way through policy and audit. The handler reads the
 * arguments and the facts, then hands the request to request_authorize();
 * the decision may come at once (embedded) or later (polkit), so everything
 * the operation needs lives in the request, never on the handler's stack:
 * the caller's identity is copied (the per-message cache dies with the
 * dispatch), the target's pidfd is owned, the message is referenced (its fds
 * stay open). Once decided, the request's decided() does, in this order:
 *
 *     request_audit()        the record: allow ("pending") or deny ("denied");
 *                            on failure → AuditFailed, nothing runs
 *     deny                   → AccessDenied / InteractiveAuthorizationRequired
 *     the operation
 *     request_audit_outcome()
 *     the reply
 *
 * and the request is freed after it returns. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "audit.h"
#include "authorize.h"
#include "caller.h"
#include "manager.h"
#include "process.h"

/* The target process as the policy and the audit record see it. */
typedef struct TargetFacts {
        pid_t pid;
        uint64_t pidfd_id;        /* pidfs inode; 0 unknown */
        /* The uid compared with the caller's: the real uid, unless that is the
         * caller's and the effective one is not (a setuid program the caller
         * started is not "the caller's own process"), so that "same" means
         * real and effective uid both are the caller's. (uid_t) -1 unknown. */
        uid_t uid;
        uint64_t pidns, userns;   /* 0 unknown */
        char comm[PROCESS_COMM_MAX];
        uint64_t workload_id;     /* 0: not one of ours */
        bool is_own_workload;     /* our workload, owned by the caller, same pidfs id */
        const char *control_path; /* "pidfd" or "legacy_pid" */
} TargetFacts;

/* -ESRCH when the target is gone (its credentials cannot be read). */
int target_facts_read(Manager *m, const Process *p, uid_t caller_uid, TargetFacts *ret);
/* PIDFD_SIGNAL_PROCESS_GROUP reaches every member of the process group
 * whose id is the target's pid, each checked by the kernel against the
 * daemon's credentials, not the caller's. Finds a member kill(2) would not
 * let the caller signal: its real and saved uid both differ from caller_uid.
 * 1 with *ret_pid, *ret_uid (uid 0 preferred where there are several), 0
 * when there is none, -errno when the group cannot be read (deny then). */
int process_group_foreign_member(pid_t pgid, uid_t caller_uid, pid_t *ret_pid, uid_t *ret_uid);
/* The target's pid or user namespace differs from the caller's, or either
 * is unknown (which must ask the stricter action). */
bool target_is_cross_namespace(const TargetFacts *t, const CallerFacts *f);

void audit_subject_from_caller(AuditSubject *ret, const Caller *c, const CallerFacts *f);
void audit_target_from_facts(AuditTarget *ret, const TargetFacts *t);

typedef struct Request Request;

struct Request {
        Manager *manager;
        Request *next, *prev;

        sd_bus_message *msg;
        Caller caller;            /* a copy */
        CallerFacts facts;
        bool interactive;         /* ALLOW_INTERACTIVE_AUTHORIZATION on msg */
        AuthCheck *check;         /* while the decision is pending */

        /* Runs once with the decision; the request is freed afterwards. */
        void (*decided)(Request *r, const AuthResult *res);
        /* Frees what the embedding struct owns (may be NULL). */
        void (*destroy)(Request *r);
};

/* Allocate size bytes (a struct that starts with a Request), copy the
 * caller, read its facts, reference msg. LimitExceeded in *error when msg's
 * connection has MaxPendingPerConnection requests waiting already. */
int request_new(Manager *m, size_t size, sd_bus_message *msg, const Caller *caller, Request **ret,
                sd_bus_error *error);
void request_free(Request *r);

/* Ask the actions; r->decided runs when decided, then r is freed. Always
 * consumes r: if nothing could be asked, msg is answered with an error.
 * Returns 1, what a method handler returns for "answered or to be
 * answered". */
int request_authorize(Request *r, const Action *actions, size_t n_actions, const AuthTarget *target);

/* The audit record of the decision res. target may be NULL (Spawn), d may be
 * NULL. 0 and *ret_seq, or -errno (logged) when it could not be written. */
int request_audit(Request *r, const AuthResult *res, const AuditTarget *target, const AuditDetails *d,
                  const char *control_path, uint64_t *ret_seq);
/* The outcome (0 or -errno) of an allowed operation; failures are logged. */
void request_audit_outcome(Request *r, uint64_t seq, int result);

/* AccessDenied, or InteractiveAuthorizationRequired where polkit says
 * authentication could grant it and the caller did not allow it. */
int reply_denied(sd_bus_message *msg, const AuthResult *res, bool interactive);
int reply_audit_failed(sd_bus_message *msg, int error);
