/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one seam where policy decides. Every privileged operation of the daemon
 * asks authorize() first; the policy engine of the next issue (embedded rules
 * or polkit) plugs in here and nowhere else. Until then the decision is the
 * .policy defaults of DESIGN.md §3 with no agent to prompt: "yes" allows,
 * auth_admin denies unless the caller is root. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "caller.h"

typedef struct Manager Manager;

typedef enum Action {
        ACTION_SPAWN,
        ACTION_SPAWN_AS_USER,
        ACTION_SPAWN_PRIVILEGED,
        ACTION_SIGNAL,
        ACTION_SIGNAL_OTHER_USER,
        ACTION_SIGNAL_CROSS_NAMESPACE,
        ACTION_GETFD,
        ACTION_MANAGE,
        _ACTION_MAX,
} Action;

/* "org.pidbroker.spawn", ... */
const char *action_to_string(Action a);

typedef struct AuthTarget {
        const Process *process;   /* NULL when the action has no target process */
        uid_t uid;                /* (uid_t) -1 when unknown */
        bool is_own_workload;     /* a workload the caller owns */
        uint64_t workload_id;
        int signal;
        unsigned flags;
        int target_fd;
} AuthTarget;

#define AUTH_TARGET_NULL ((AuthTarget) { .uid = (uid_t) -1, .target_fd = -1 })

/* 0 when allowed, -EACCES when denied. *ret_rule (static) names what decided. */
int authorize(Manager *m, const Caller *caller, Action action, const AuthTarget *target, const char **ret_rule);
