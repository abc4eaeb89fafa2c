/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The decision itself. Everything here is a pure function of the loaded
 * Policy and the request: no I/O, no syscalls, no logging, no allocation.
 * Order (pidbroker-rules(5)): unknown action → deny; rules.d, first match
 * wins; built-in rules; the action's default, where auth_* means deny
 * (nobody can be prompted) except for root. */

#include <fnmatch.h>
#include <string.h>

#include "config.h"
#include "macro.h"
#include "policy-internal.h"
#include "string-table.h"
#include "strv.h"

static const char *const policy_default_table[_POLICY_DEFAULT_MAX] = {
        [POLICY_DEFAULT_NO]              = "no",
        [POLICY_DEFAULT_YES]             = "yes",
        [POLICY_DEFAULT_AUTH_SELF]       = "auth_self",
        [POLICY_DEFAULT_AUTH_SELF_KEEP]  = "auth_self_keep",
        [POLICY_DEFAULT_AUTH_ADMIN]      = "auth_admin",
        [POLICY_DEFAULT_AUTH_ADMIN_KEEP] = "auth_admin_keep",
};

/* The decision's rule strings are static so a PolicyDecision needs no
 * allocation and outlives nothing it points to. */
static const char *const default_rule_table[_POLICY_DEFAULT_MAX] = {
        [POLICY_DEFAULT_NO]              = "default:no",
        [POLICY_DEFAULT_YES]             = "default:yes",
        [POLICY_DEFAULT_AUTH_SELF]       = "default:auth_self",
        [POLICY_DEFAULT_AUTH_SELF_KEEP]  = "default:auth_self_keep",
        [POLICY_DEFAULT_AUTH_ADMIN]      = "default:auth_admin",
        [POLICY_DEFAULT_AUTH_ADMIN_KEEP] = "default:auth_admin_keep",
};

static const char *const default_root_rule_table[_POLICY_DEFAULT_MAX] = {
        [POLICY_DEFAULT_AUTH_SELF]       = "default:auth_self:root",
        [POLICY_DEFAULT_AUTH_SELF_KEEP]  = "default:auth_self_keep:root",
        [POLICY_DEFAULT_AUTH_ADMIN]      = "default:auth_admin:root",
        [POLICY_DEFAULT_AUTH_ADMIN_KEEP] = "default:auth_admin_keep:root",
};

#define RULE_BUILTIN_OWN_WORKLOAD "builtin:own-workload"
#define RULE_UNKNOWN_ACTION "unknown-action"
#define RULE_ERROR_NO_POLICY "error:no-policy"
#define RULE_ERROR_INVALID_REQUEST "error:invalid-request"

DEFINE_STRING_TABLE_LOOKUP(policy_default, PolicyDefault);

static const PolicyAction *policy_find_action(const Policy *p, const char *id) {
        for (size_t i = 0; i < p->n_actions; i++)
                if (strcmp(p->actions[i].id, id) == 0)
                        return &p->actions[i];
        return NULL;
}

static bool uid_in(uid_t uid, const uid_t *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == uid)
                        return true;
        return false;
}

static bool subject_in_groups(const PolicySubject *s, const gid_t *groups, size_t n) {
        for (size_t i = 0; i < s->n_gids; i++)
                for (size_t j = 0; j < n; j++)
                        if (s->gids[i] == groups[j])
                                return true;
        return false;
}

static bool fd_type_matches(const char *fd_type, char *const *patterns, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(patterns[i]);

                /* Only a trailing '*' is special: fd types such as
                 * "anon_inode:[eventfd]" hold fnmatch() metacharacters. */
                if (len > 0 && patterns[i][len - 1] == '*') {
                        if (strncmp(fd_type, patterns[i], len - 1) == 0)
                                return true;
                } else if (strcmp(fd_type, patterns[i]) == 0)
                        return true;
        }
        return false;
}

static bool rule_matches(const PolicyRule *r, const PolicyRequest *req) {
        const PolicySubject *s = &req->subject;
        const PolicyTarget *t = &req->target;
        bool matched = false;

        for (size_t i = 0; i < r->n_actions && !matched; i++)
                matched = fnmatch(r->actions[i], req->action, 0) == 0;
        if (!matched)
                return false;

        if (r->n_subject_users > 0 && !uid_in(s->uid, r->subject_users, r->n_subject_users))
                return false;

        if (r->n_subject_groups > 0 && !subject_in_groups(s, r->subject_groups, r->n_subject_groups))
                return false;

        if (r->has_target_user) {
                if (!t->has_uid)
                        return false;
                if (!((r->target_same && t->uid == s->uid) ||
                      (r->target_other && t->uid != s->uid) ||
                      uid_in(t->uid, r->target_users, r->n_target_users)))
                        return false;
        }

        if (r->owned_by_subject != POLICY_UNSET && t->is_own_workload != (r->owned_by_subject == POLICY_YES))
                return false;

        if (r->cross_namespace != POLICY_UNSET) {
                /* Derived from the caller's process: only a pinned identity
                 * with known namespaces establishes it. An unestablished fact
                 * never grants, but still lets a deny rule match: fail closed. */
                bool known = s->identity_pinned && s->pidns != 0 && s->userns != 0;

                if (!t->has_process)
                        return false;
                if (!known) {
                        if (r->result == POLICY_YES)
                                return false;
                } else if (t->cross_namespace != (r->cross_namespace == POLICY_YES))
                        return false;
        }

        if (r->signals != 0) {
                int sig = req->details.signal;

                if (sig < 1 || sig > POLICY_SIGNAL_MAX || !(r->signals & (UINT64_C(1) << (sig - 1))))
                        return false;
        }

        if (r->n_fd_types > 0) {
                /* Type not known yet: a rule that allows some types may
                 * allow this one, a rule that denies some may not deny it;
                 * the second check, with the type, settles both. */
                if (req->details.fd_type_pending) {
                        if (r->result != POLICY_YES)
                                return false;
                } else if (!req->details.fd_type || !fd_type_matches(req->details.fd_type, r->fd_types, r->n_fd_types))
                        return false;
        }

        if (r->identity_pinned != POLICY_UNSET && s->identity_pinned != (r->identity_pinned == POLICY_YES))
                return false;

        return true;
}

static bool request_is_valid(const PolicyRequest *req) {
        /* (uid_t) -1 is what an unset identity looks like (CALLER_NULL):
         * never decide for it. */
        if (!req->action || req->action[0] == '\0')
                return false;
        if (req->subject.uid == (uid_t) -1)
                return false;
        if (req->subject.n_gids > 0 && !req->subject.gids)
                return false;
        if (req->target.has_uid && req->target.uid == (uid_t) -1)
                return false;
        if (req->details.signal < 0)
                return false;
        return true;
}

static int decide(PolicyDecision *ret, bool allow, const char *rule) {
        *ret = (PolicyDecision) { .allow = allow, .rule = rule };
        return 0;
}

static bool builtin_allows(const PolicyAction *a, const PolicyRequest *req, const char **ret_rule) {
        /* Ownership comes from the workload table and the target's pidfd,
         * not from the caller's pid, so it holds for unpinned callers too. */
        if (a->own_workload && req->target.is_own_workload) {
                *ret_rule = RULE_BUILTIN_OWN_WORKLOAD;
                return true;
        }
        return false;
}

bool policy_check_builtin(const Policy *policy, const PolicyRequest *req, const char **ret_rule) {
        const PolicyAction *a;
        const char *rule = NULL;

        if (!policy || !req || !ret_rule || !request_is_valid(req))
                return false;
        a = policy_find_action(policy, req->action);
        if (!a || !builtin_allows(a, req, &rule))
                return false;
        *ret_rule = rule;
        return true;
}

int policy_check(const Policy *policy, const PolicyRequest *req, PolicyDecision *ret) {
        const PolicyAction *a;
        const char *rule;

        if (!ret)
                return -EINVAL;
        if (!policy) {
                decide(ret, false, RULE_ERROR_NO_POLICY);
                return -EINVAL;
        }
        if (!req || !request_is_valid(req)) {
                decide(ret, false, RULE_ERROR_INVALID_REQUEST);
                return -EINVAL;
        }

        /* A glob rule must not grant an action the .policy never declared. */
        a = policy_find_action(policy, req->action);
        if (!a)
                return decide(ret, false, RULE_UNKNOWN_ACTION);

        for (size_t i = 0; i < policy->n_rules; i++) {
                const PolicyRule *r = &policy->rules[i];

                if (rule_matches(r, req))
                        return decide(ret, r->result == POLICY_YES, r->origin);
        }

        if (builtin_allows(a, req, &rule))
                return decide(ret, true, rule);

        switch (a->def) {
        case POLICY_DEFAULT_YES:
                return decide(ret, true, default_rule_table[a->def]);
        case POLICY_DEFAULT_AUTH_SELF:
        case POLICY_DEFAULT_AUTH_SELF_KEEP:
        case POLICY_DEFAULT_AUTH_ADMIN:
        case POLICY_DEFAULT_AUTH_ADMIN_KEEP:
                /* No agent can prompt. Root is the administrator polkit
                 * would ask for, and its uid comes from the bus driver or
                 * SO_PEERCRED, which the caller cannot forge. */
                if (req->subject.uid == 0)
                        return decide(ret, true, default_root_rule_table[a->def]);
                return decide(ret, false, default_rule_table[a->def]);
        case POLICY_DEFAULT_NO:
                return decide(ret, false, default_rule_table[a->def]);
        default:
                break;
        }

        decide(ret, false, RULE_ERROR_INVALID_REQUEST);
        return -EINVAL;
}

const char *policy_default_actions_file(void) {
        return PIDBROKER_POLKIT_ACTIONS_DIR "/org.pidbroker.policy";
}

const char *const *policy_default_rules_dirs(void) {
        static const char *const dirs[] = {
                PIDBROKER_SYSCONFDIR "/rules.d",
                PIDBROKER_PKGDATADIR "/rules.d",
                NULL,
        };
        return dirs;
}

void policy_action_done(PolicyAction *a) {
        free(a->id);
        a->id = NULL;
}

void policy_rule_done(PolicyRule *r) {
        free(r->origin);
        strv_free_n(r->actions, r->n_actions);
        free(r->subject_users);
        free(r->subject_groups);
        free(r->target_users);
        strv_free_n(r->fd_types, r->n_fd_types);
        *r = (PolicyRule) {};
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_actions; i++)
                policy_action_done(&p->actions[i]);
        free(p->actions);
        for (size_t i = 0; i < p->n_rules; i++)
                policy_rule_done(&p->rules[i]);
        free(p->rules);
        free(p);
        return NULL;
}

size_t policy_n_actions(const Policy *p) {
        return p ? p->n_actions : 0;
}

const char *policy_action_id(const Policy *p, size_t i) {
        return p && i < p->n_actions ? p->actions[i].id : NULL;
}

int policy_action_default(const Policy *p, const char *action, PolicyDefault *ret) {
        const PolicyAction *a;

        if (!p || !action)
                return -EINVAL;
        a = policy_find_action(p, action);
        if (!a)
                return -ENOENT;
        if (ret)
                *ret = a->def;
        return 0;
}

bool policy_action_allows_own_workload(const Policy *p, const char *action) {
        const PolicyAction *a;

        if (!p || !action)
                return false;
        a = policy_find_action(p, action);
        return a && a->own_workload;
}

size_t policy_n_rules(const Policy *p) {
        return p ? p->n_rules : 0;
}

const char *policy_rule_origin(const Policy *p, size_t i) {
        return p && i < p->n_rules ? p->rules[i].origin : NULL;
}

#define BROKER "org.pidbroker.Broker1"
#define WORKLOAD "org.pidbroker.Workload1"
#define OTHER_USERS_WORKLOAD "the workload belongs to another user"

/* The contract the daemon follows and pidbroker-rules(5) prints. */
static const PolicyMethodAction method_actions[] = {
        { BROKER, "Spawn", POLICY_ACTION_SPAWN, "always" },
        { BROKER, "Spawn", POLICY_ACTION_SPAWN_AS_USER,
          "an outside uid or gid other than the caller's, or groups other than exactly the caller's (user, group, groups, uid_map, gid_map)" },
        { BROKER, "Spawn", POLICY_ACTION_SPAWN_PRIVILEGED,
          "capabilities, a cgroup fd the caller does not own, an rlimit above the caller's hard limit, or a nice "
          "or oom_score_adj below the caller's" },
        { BROKER, "Signal", POLICY_ACTION_SIGNAL,
          "the target has the caller's uid and namespaces, and a group signal reaches no other user's process" },
        { BROKER, "Signal", POLICY_ACTION_SIGNAL_OTHER_USER,
          "the target's uid differs from the caller's, or a group signal (flags 4) reaches a process whose real and "
          "saved uid both differ from it" },
        { BROKER, "Signal", POLICY_ACTION_SIGNAL_CROSS_NAMESPACE,
          "the target's pid or user namespace differs from the caller's" },
        { BROKER, "GetFd", POLICY_ACTION_GETFD, "always" },
        { BROKER, "Subscribe", POLICY_ACTION_MANAGE, "to receive the signals of workloads of other users" },
        { BROKER, "Reexecute", POLICY_ACTION_MANAGE_DAEMON, "always" },
        { WORKLOAD, "Signal", POLICY_ACTION_MANAGE, OTHER_USERS_WORKLOAD },
        { WORKLOAD, "Signal", POLICY_ACTION_SIGNAL, "as Broker1.Signal" },
        { WORKLOAD, "Signal", POLICY_ACTION_SIGNAL_OTHER_USER, "as Broker1.Signal" },
        { WORKLOAD, "Signal", POLICY_ACTION_SIGNAL_CROSS_NAMESPACE, "as Broker1.Signal" },
        { WORKLOAD, "GetPidfd", POLICY_ACTION_MANAGE, OTHER_USERS_WORKLOAD },
        { WORKLOAD, "Stop", POLICY_ACTION_MANAGE, OTHER_USERS_WORKLOAD },
        { WORKLOAD, "Wait", POLICY_ACTION_MANAGE, OTHER_USERS_WORKLOAD },
        { WORKLOAD, "Release", POLICY_ACTION_MANAGE, OTHER_USERS_WORKLOAD },
        { "org.freedesktop.DBus.Properties", "Get, GetAll", POLICY_ACTION_MANAGE,
          "on a workload of another user" },
        { "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", POLICY_ACTION_MANAGE,
          "to list workloads of other users" },
};

const PolicyMethodAction *policy_method_actions(size_t *ret_n) {
        if (ret_n)
                *ret_n = ELEMENTSOF(method_actions);
        return method_actions;
}
