/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one seam where policy decides. Every privileged operation of the daemon
 * asks authorize() first, with every action the request needs (pidbroker-rules(5),
 * the method table of pidbroker-rules(5)); all must allow.
 *
 * Two backends behind one asynchronous interface:
 *  - embedded: the pure policy_check() of src/policy over the .policy defaults
 *    and the rules.d files loaded at start. Decides at once: the callback runs
 *    before authorize() returns.
 *  - polkit: the built-in own-workload rule (policy_check_builtin) first, then
 *    org.freedesktop.PolicyKit1.Authority.CheckAuthorization with the subject
 *    ("system-bus-name", {"name": <the sender's unique name>}): the bus, not
 *    the daemon, resolves who the caller is. The call is asynchronous: the
 *    event loop keeps serving others while polkitd thinks. An error, a
 *    timeout or polkitd's absence is a deny.
 *    The direct socket has no bus name, and polkitd 122 accepts no pidfd in a
 *    "unix-process" subject (only pid + start time, the forgeable pair of
 *    CVE-2019-6133), so under the polkit backend a direct-socket caller is
 *    denied whatever the built-in rule does not allow (rule
 *    "polkit:no-bus-name").
 *
 * Decisions are never cached: each request is decided on its own. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "caller.h"
#include "daemon-config.h"
#include "target.h"

typedef enum Action {
        ACTION_SPAWN,
        ACTION_SPAWN_AS_USER,
        ACTION_SPAWN_PRIVILEGED,
        ACTION_SIGNAL,
        ACTION_SIGNAL_OTHER_USER,
        ACTION_SIGNAL_CROSS_NAMESPACE,
        ACTION_GETFD,
        ACTION_MANAGE,
        ACTION_MANAGE_DAEMON,
        _ACTION_MAX,
        _ACTION_INVALID = -1,
} Action;

/* "org.pidbroker.spawn", ... */
const char *action_to_string(Action a);

typedef struct AuthRequest {
        const Caller *caller;
        const CallerFacts *facts;
        const Action *actions;    /* asked in this order; the first deny ends it */
        size_t n_actions;
        const Target *target;
        bool interactive;         /* the message carries ALLOW_INTERACTIVE_AUTHORIZATION */
} AuthRequest;

typedef struct AuthResult {
        bool allow;
        /* polkit answered is_challenge: authentication could grant it (an
         * agent would have been asked, had the message allowed it). */
        bool challenge;
        /* The action the audit record names: the first that denied, or the
         * last one asked (the most specific) when all allowed. */
        Action action;
        /* What decided that action: a rule origin ("<file>:<line>"),
         * "builtin:own-workload", "default:<value>[:root]", or one of the
         * polkit ones: "polkit:authorized", "polkit:not-authorized",
         * "polkit:challenge", "polkit:timeout", "polkit:unavailable",
         * "polkit:error", "polkit:no-bus-name". Static or owned by the
         * loaded policy: valid as long as the Authority. */
        const char *rule;
} AuthResult;

typedef void (*AuthCallback)(const AuthResult *result, void *userdata);

typedef struct Authority Authority;
typedef struct AuthCheck AuthCheck;

/* Load the action file and the rules named by the configuration. Fails (and
 * logs why) when either cannot be loaded: the daemon must not start then. */
int authority_new(const Config *config, Authority **ret);
/* Attach the system bus and resolve PolicyBackend=auto: polkit when
 * org.freedesktop.PolicyKit1 has an owner or can be activated, else
 * embedded. */
int authority_start(Authority *a, sd_bus *bus);
/* Pending checks are dropped without their callbacks. */
Authority *authority_free(Authority *a);
/* "embedded" or "polkit" (the resolved backend). */
const char *authority_backend(const Authority *a);
bool authority_is_polkit(const Authority *a);

/* Decide req; cb runs exactly once unless the check is cancelled. Returns 0
 * when the callback already ran (embedded backend, or decided by the
 * built-in rules), 1 when it is pending (*ret_check, if not NULL, may cancel
 * it), -errno when nothing could be started (the callback never runs). */
int authorize(Authority *a, const AuthRequest *req, AuthCallback cb, void *userdata, AuthCheck **ret_check);
/* Decide req at once with the embedded engine (its rules.d and defaults),
 * whatever the backend: for facts only the daemon has, such as the type of
 * the fd a GetFd took (FdType=, pidbroker-rules(5)). -EOPNOTSUPP under the
 * polkit backend, whose rules never see those facts. */
int authorize_now(Authority *a, const AuthRequest *req, AuthResult *ret);
/* Drop a pending check: its callback never runs. Returns NULL. */
AuthCheck *auth_check_cancel(AuthCheck *c);
