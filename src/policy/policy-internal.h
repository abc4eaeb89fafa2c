/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The loaded policy, shared by the pure engine (policy.c) and the loader
 * (policy-load.c). Nothing outside src/policy/ sees these structs. */

#include "policy.h"

/* A rule predicate that is not set matches everything. */
typedef enum PolicyTristate {
        POLICY_UNSET = -1,
        POLICY_NO = 0,
        POLICY_YES = 1,
} PolicyTristate;

typedef struct PolicyAction {
        char *id;
        PolicyDefault def;      /* allow_any, else allow_active, else no */
        bool own_workload;      /* POLICY_ANNOTATION_OWN_WORKLOAD */
} PolicyAction;

typedef struct PolicyRule {
        char *origin;           /* "<file>:<line of [Rule]>" */

        char **actions;         /* fnmatch() globs, any may match */
        size_t n_actions;

        uid_t *subject_users;
        size_t n_subject_users;
        gid_t *subject_groups;
        size_t n_subject_groups;

        bool has_target_user;
        bool target_same;       /* TargetUser=same */
        bool target_other;      /* TargetUser=other */
        uid_t *target_users;
        size_t n_target_users;

        PolicyTristate owned_by_subject;
        PolicyTristate cross_namespace;
        PolicyTristate identity_pinned;

        uint64_t signals;       /* bit n-1 for signal n (1..64); 0 = unset */

        char **fd_types;        /* exact, or a prefix when ending in '*' */
        size_t n_fd_types;

        PolicyTristate result;  /* POLICY_YES = allow */
} PolicyRule;

struct Policy {
        PolicyAction *actions;
        size_t n_actions;
        PolicyRule *rules;
        size_t n_rules;
};

#define POLICY_SIGNAL_MAX 64

void policy_rule_done(PolicyRule *r);
void policy_action_done(PolicyAction *a);
