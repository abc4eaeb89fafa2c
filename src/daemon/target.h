/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a request is about: the one description of a target, from the moment
 * it is read until it is recorded. The policy (authorize.c) and the audit
 * record (request.c) each take it as it is; nothing is copied into a second
 * struct on the way. "None" is -1 for every detail, (uid_t) -1 for the uid,
 * 0 for ids. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "caller.h"
#include "process.h"

typedef struct Manager Manager;
typedef struct Workload Workload;

typedef struct Target {
        pid_t pid;                 /* 0: no process (a Spawn names a user, not a process) */
        uint64_t pidfd_id;         /* pidfs inode; 0 unknown */
        /* The uid compared with the caller's: the real uid, unless that is the
         * caller's and the effective one is not (a setuid program the caller
         * started is not "the caller's own process"), so that "same" means
         * real and effective uid both are the caller's. For a Spawn, the user
         * the workload will run as outside any user namespace. */
        uid_t uid;
        uint64_t pidns, userns;    /* nsfs inodes; 0 unknown */
        char comm[PROCESS_COMM_MAX];
        uint64_t workload_id;      /* 0: not one of ours */
        bool is_own_workload;      /* our workload, owned by the caller, same pidfs id */
        /* Another pid or user namespace than the caller's, or either unknown,
         * or the caller's own namespaces come from a pid that could not be
         * pinned (DESIGN §3: such a fact satisfies no rule). */
        bool cross_namespace;
        const char *control_path;  /* "pidfd" or "legacy_pid"; NULL: none */

        int signal;                /* -1: none; 0 probes */
        int64_t flags;             /* -1: none */
        int target_fd;             /* -1: none */
        const char *fd_type;       /* "socket", "file:/path", ...; NULL: not known (yet) */
} Target;

#define TARGET_NULL ((Target) { .uid = (uid_t) -1, .signal = -1, .flags = -1, .target_fd = -1 })

/* Describe p as seen by the caller c (with its facts f). -ESRCH when the
 * target is gone (its credentials cannot be read). */
int target_read(Manager *m, const Process *p, const Caller *c, const CallerFacts *f, Target *ret);

/* A workload: from its process while it runs, from our record once it is
 * reaped. Never fails. */
void target_from_workload(const Workload *w, const Caller *c, const CallerFacts *f, Target *ret);

/* The audit record's view of t: its target and its details. */
void target_to_audit(const Target *t, AuditTarget *ret_target, AuditDetails *ret_details);
