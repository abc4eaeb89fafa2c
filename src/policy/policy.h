/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The embedded policy engine. policy_check() is a pure function of the
 * loaded Policy and one request: no files, no syscalls, no logging, so a
 * table test covers it. All I/O (the polkit .policy XML, the rules.d files,
 * user and group names) happens in policy_load(). The format and the
 * evaluation order are documented in pidbroker-rules(5). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_ACTION_SPAWN                  "org.pidbroker.spawn"
#define POLICY_ACTION_SPAWN_AS_USER          "org.pidbroker.spawn-as-user"
#define POLICY_ACTION_SPAWN_PRIVILEGED       "org.pidbroker.spawn-privileged"
#define POLICY_ACTION_SIGNAL                 "org.pidbroker.signal"
#define POLICY_ACTION_SIGNAL_OTHER_USER      "org.pidbroker.signal-other-user"
#define POLICY_ACTION_SIGNAL_CROSS_NAMESPACE "org.pidbroker.signal-cross-namespace"
#define POLICY_ACTION_GETFD                  "org.pidbroker.getfd"
#define POLICY_ACTION_MANAGE                 "org.pidbroker.manage"
#define POLICY_ACTION_MANAGE_DAEMON          "org.pidbroker.manage-daemon"

/* The .policy annotation that makes the engine allow an action when the
 * target is a workload the subject owns (rule "builtin:own-workload"). */
#define POLICY_ANNOTATION_OWN_WORKLOAD "org.pidbroker.embedded.own-workload"

/* polkit's implicit authorizations, as written in the .policy file. */
typedef enum PolicyDefault {
        POLICY_DEFAULT_NO,
        POLICY_DEFAULT_YES,
        POLICY_DEFAULT_AUTH_SELF,
        POLICY_DEFAULT_AUTH_SELF_KEEP,
        POLICY_DEFAULT_AUTH_ADMIN,
        POLICY_DEFAULT_AUTH_ADMIN_KEEP,
        _POLICY_DEFAULT_MAX,
        _POLICY_DEFAULT_INVALID = -EINVAL,
} PolicyDefault;

/* "no", "yes", "auth_self", ...; NULL when out of range. */
const char *policy_default_to_string(PolicyDefault d);
/* -EINVAL for anything else. */
int policy_default_from_string(const char *s);

typedef struct PolicySubject {
        uid_t uid;              /* from the bus driver or SO_PEERCRED: trusted */
        const gid_t *gids;      /* primary and supplementary groups */
        size_t n_gids;
        bool identity_pinned;   /* false for "bus-pid-unpinned" */
        uint64_t pidns;         /* nsfs inode of the caller's pid namespace; 0 = unknown */
        uint64_t userns;        /* same for the user namespace */
} PolicySubject;

typedef struct PolicyTarget {
        bool has_uid;           /* uid is meaningful */
        uid_t uid;              /* target process's uid, or the user a Spawn asks for */
        bool is_own_workload;   /* a workload this broker spawned for subject.uid */
        bool cross_namespace;   /* pid or user namespace differs from the subject's */
        bool has_process;       /* the request names a process (Signal, GetFd) */
} PolicyTarget;

typedef struct PolicyDetails {
        int signal;             /* 0 = no signal */
        const char *fd_type;    /* "socket", "pipe", "file", "anon_inode:[eventfd]", ...; NULL = none */
        /* A GetFd is decided before the fd is taken (nothing is taken
         * before an allow), so its type is not known then: an allowing rule
         * with FdType= matches any type, a denying one none, and the daemon
         * asks again with the type before it hands the fd out. */
        bool fd_type_pending;
} PolicyDetails;

typedef struct PolicyRequest {
        const char *action;
        PolicySubject subject;
        PolicyTarget target;
        PolicyDetails details;
} PolicyRequest;

typedef struct PolicyDecision {
        bool allow;
        /* What decided, for the audit record: "<file>:<line>" of a rule,
         * "builtin:own-workload", "default:<value>", "default:<value>:root",
         * "unknown-action", "error:no-policy", "error:invalid-request".
         * Static or owned by the Policy: valid until policy_free(). */
        const char *rule;
} PolicyDecision;

typedef struct Policy Policy;

/* Decide one request. Returns 0 with *ret filled, or -EINVAL for a NULL
 * policy or a malformed request, in which case *ret is still filled with a
 * deny ("error:..."): a caller that only looks at ret->allow fails closed. */
int policy_check(const Policy *policy, const PolicyRequest *req, PolicyDecision *ret);

/* Only the built-in rules (no rules.d, no defaults): for the polkit backend,
 * which asks polkitd only when this returns false. *ret_rule is set when it
 * returns true. */
bool policy_check_builtin(const Policy *policy, const PolicyRequest *req, const char **ret_rule);

/* Load the actions from a polkit .policy file and the rules from rules_dirs
 * (NULL-terminated, highest precedence first: a file name in an earlier
 * directory hides the same name in later ones; missing directories are
 * fine). Any error fails the whole load: nothing is returned, so the caller
 * keeps its previous policy or denies everything. On error *ret_error (if
 * not NULL) gets a malloc'ed "<file>:<line>: <what>" message. Not
 * thread-safe: it flips inih's process-wide options for each parse. */
int policy_load(Policy **ret, const char *actions_file, const char *const *rules_dirs, char **ret_error);

/* The installed locations: the polkit actions file, and
 * { /etc/pidbroker/rules.d, /usr/share/pidbroker/rules.d, NULL }. */
const char *policy_default_actions_file(void);
const char *const *policy_default_rules_dirs(void);

Policy *policy_free(Policy *p);
static inline void policy_freep(Policy **p) {
        if (*p)
                *p = policy_free(*p);
}
#define _cleanup_policy_ __attribute__((cleanup(policy_freep)))

/* Introspection, for tests and diagnostics. */
size_t policy_n_actions(const Policy *p);
/* i-th action in file order, or NULL when out of range. */
const char *policy_action_id(const Policy *p, size_t i);
/* The default the engine uses for the action; -ENOENT for an unknown action. */
int policy_action_default(const Policy *p, const char *action, PolicyDefault *ret);
/* Whether the action carries POLICY_ANNOTATION_OWN_WORKLOAD=yes. */
bool policy_action_allows_own_workload(const Policy *p, const char *action);
size_t policy_n_rules(const Policy *p);
/* "<file>:<line>" of the i-th rule in evaluation order, or NULL. */
const char *policy_rule_origin(const Policy *p, size_t i);

/* Which D-Bus method asks which action, and when: one row per (method,
 * action). A method or case not listed asks nothing (Wait on your own
 * workload, the Broker1 properties). */
typedef struct PolicyMethodAction {
        const char *interface;
        const char *member;
        const char *action;
        const char *when;
} PolicyMethodAction;

const PolicyMethodAction *policy_method_actions(size_t *ret_n);
