/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authorize.h"
#include "list.h"
#include "log.h"
#include "time-util.h"
#include "policy.h"

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorizationFlags: AllowUserInteraction. */
#define POLKIT_FLAG_ALLOW_USER_INTERACTION 1u

#define DETAILS_MAX 8

static const char *const action_table[_ACTION_MAX] = {
        [ACTION_SPAWN] = POLICY_ACTION_SPAWN,
        [ACTION_SPAWN_AS_USER] = POLICY_ACTION_SPAWN_AS_USER,
        [ACTION_SPAWN_PRIVILEGED] = POLICY_ACTION_SPAWN_PRIVILEGED,
        [ACTION_SIGNAL] = POLICY_ACTION_SIGNAL,
        [ACTION_SIGNAL_OTHER_USER] = POLICY_ACTION_SIGNAL_OTHER_USER,
        [ACTION_SIGNAL_CROSS_NAMESPACE] = POLICY_ACTION_SIGNAL_CROSS_NAMESPACE,
        [ACTION_GETFD] = POLICY_ACTION_GETFD,
        [ACTION_MANAGE] = POLICY_ACTION_MANAGE,
        [ACTION_MANAGE_DAEMON] = POLICY_ACTION_MANAGE_DAEMON,
};

const char *action_to_string(Action a) {
        return a >= 0 && a < _ACTION_MAX ? action_table[a] : NULL;
}

struct AuthCheck {
        Authority *authority;
        AuthCheck *next, *prev;

        AuthCallback callback;
        void *userdata;

        Action actions[_ACTION_MAX];
        const char *builtin_rule[_ACTION_MAX]; /* non-NULL: allowed by the built-in rules */
        size_t n_actions;
        size_t current;                        /* the action being asked */
        const char *last_rule;                 /* rule of the last allowed action */

        char *bus_name;                        /* the subject; NULL on the direct socket */
        char details[DETAILS_MAX][2][64];      /* CheckAuthorization's a{ss} */
        size_t n_details;
        bool interactive;
        char cancellation_id[64];

        sd_bus_slot *slot;
        uint64_t started_usec;
};

struct Authority {
        PolicyBackend backend;  /* resolved: EMBEDDED or POLKIT once started */
        PolicyBackend configured;
        Policy *policy;
        sd_bus *bus;
        uint64_t timeout_usec;
        uint64_t n_checks;      /* for unique cancellation ids */
        AuthCheck *checks;
};

int authority_new(const Config *config, Authority **ret) {
        _cleanup_free_ char *error = NULL;
        const char *file = config->policy_actions_file ?: policy_default_actions_file();
        const char *const *dirs = config->policy_rules_dirs ? (const char *const *) config->policy_rules_dirs
                                                            : policy_default_rules_dirs();
        Authority *a;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return log_oom();
        a->configured = config->policy_backend;
        a->backend = config->policy_backend;
        a->timeout_usec = config->polkit_timeout_usec;

        /* Loaded for every backend: the polkit one still takes the built-in
         * own-workload rule from the action file's annotations. */
        r = policy_load(&a->policy, file, dirs, &error);
        if (r < 0) {
                log_error_errno(r, "Failed to load the policy (%s): %s", file, error ?: "(no detail)");
                free(a);
                return r;
        }
        log_info("Policy loaded from %s: %zu actions, %zu rules.", file, policy_n_actions(a->policy),
                 policy_n_rules(a->policy));
        for (size_t i = 0; i < policy_n_rules(a->policy); i++)
                log_debug("Rule %zu: %s", i, policy_rule_origin(a->policy, i));

        /* Every action the daemon asks must be declared: an undeclared one
         * would deny forever ("unknown-action"), which is a packaging bug to
         * report at start, not at the first request. */
        for (Action act = 0; act < _ACTION_MAX; act++)
                if (policy_action_default(a->policy, action_to_string(act), NULL) < 0)
                        log_warning("%s does not declare %s: it will always be denied.", file, action_to_string(act));

        *ret = a;
        return 0;
}

static bool bus_name_present(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int b = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", name);
        if (r >= 0 && sd_bus_message_read(reply, "b", &b) >= 0 && b)
                return true;

        /* polkitd is usually bus-activated: not running yet is not absent. */
        reply = sd_bus_message_unref(reply);
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "ListActivatableNames", NULL, &reply, NULL);
        if (r < 0 || sd_bus_message_enter_container(reply, 'a', "s") < 0)
                return false;
        const char *n;
        while (sd_bus_message_read(reply, "s", &n) > 0)
                if (strcmp(n, name) == 0)
                        return true;
        return false;
}

int authority_start(Authority *a, sd_bus *bus) {
        a->bus = sd_bus_ref(bus);
        if (a->configured == POLICY_BACKEND_AUTO)
                a->backend = bus_name_present(bus, POLKIT_BUS_NAME) ? POLICY_BACKEND_POLKIT : POLICY_BACKEND_EMBEDDED;
        log_info("Policy backend: %s%s.", policy_backend_to_string(a->backend),
                 a->configured == POLICY_BACKEND_AUTO ? " (auto)" : "");
        return 0;
}

static void check_unlink(AuthCheck *c) {
        LIST_REMOVE(c->authority->checks, c);
}

static void check_free(AuthCheck *c) {
        if (!c)
                return;
        check_unlink(c);
        sd_bus_slot_unref(c->slot);
        free(c->bus_name);
        free(c);
}

AuthCheck *auth_check_cancel(AuthCheck *c) {
        check_free(c);
        return NULL;
}

Authority *authority_free(Authority *a) {
        if (!a)
                return NULL;
        while (a->checks)
                check_free(a->checks);
        policy_free(a->policy);
        sd_bus_unref(a->bus);
        free(a);
        return NULL;
}

const char *authority_backend(const Authority *a) {
        return a->backend == POLICY_BACKEND_POLKIT ? "polkit" : "embedded";
}

bool authority_is_polkit(const Authority *a) {
        return a->backend == POLICY_BACKEND_POLKIT;
}

static void policy_request_fill(PolicyRequest *pr, Action action, const AuthRequest *req) {
        const Target *t = req->target;

        *pr = (PolicyRequest) {
                .action = action_to_string(action),
                .subject = {
                        .uid = req->caller->uid,
                        .gids = req->facts->gids,
                        .n_gids = req->facts->n_gids,
                        .identity_pinned = caller_is_pinned(req->caller),
                        .pidns = req->facts->pidns,
                        .userns = req->facts->userns,
                },
                .target = {
                        .has_uid = t->uid != (uid_t) -1,
                        .uid = t->uid,
                        .is_own_workload = t->is_own_workload,
                        .cross_namespace = t->cross_namespace,
                        .has_process = t->pid > 0,
                },
                .details = {
                        /* 0 is "no signal" to the engine: a liveness probe
                         * matches no Signal= rule. */
                        .signal = t->signal > 0 ? t->signal : 0,
                        /* A GetFd is decided before the fd is taken: its
                         * type is not known yet (see policy.h). */
                        .fd_type = t->fd_type,
                        .fd_type_pending = t->target_fd >= 0 && !t->fd_type,
                },
        };
}

static void log_decision(const AuthRequest *req, Action action, bool allow, const char *rule) {
        char buf[256];
        log_debug("authorize %s for %s: %s (%s)", action_to_string(action) ?: "?",
                  caller_describe(req->caller, buf, sizeof buf), allow ? "allow" : "deny", rule ?: "?");
}

static void decide_embedded(Authority *a, const AuthRequest *req, AuthResult *ret) {
        AuthResult res = { .allow = false, .action = _ACTION_INVALID, .rule = "error:no-action" };

        for (size_t i = 0; i < req->n_actions; i++) {
                PolicyRequest pr;
                PolicyDecision d;

                policy_request_fill(&pr, req->actions[i], req);
                /* On error the decision is still filled, as a deny. */
                (void) policy_check(a->policy, &pr, &d);
                log_decision(req, req->actions[i], d.allow, d.rule);
                res = (AuthResult) { .allow = d.allow, .action = req->actions[i], .rule = d.rule };
                if (!d.allow)
                        break;
        }
        *ret = res;
}

static int authorize_embedded(Authority *a, const AuthRequest *req, AuthCallback cb, void *userdata) {
        AuthResult res;

        decide_embedded(a, req, &res);
        cb(&res, userdata);
        return 0;
}

int authorize_now(Authority *a, const AuthRequest *req, AuthResult *ret) {
        if (a->backend == POLICY_BACKEND_POLKIT)
                return -EOPNOTSUPP;
        if (req->caller->uid == (uid_t) -1)
                return -EPERM;
        decide_embedded(a, req, ret);
        return 0;
}

_printf_(3, 4)
static void detail_add(AuthCheck *c, const char *key, const char *fmt, ...) {
        va_list ap;

        if (c->n_details >= DETAILS_MAX)
                return;
        snprintf(c->details[c->n_details][0], sizeof c->details[0][0], "%s", key);
        va_start(ap, fmt);
        vsnprintf(c->details[c->n_details][1], sizeof c->details[0][1], fmt, ap);
        va_end(ap);
        c->n_details++;
}

/* The facts a polkit rule can read with action.lookup(). */
static void details_fill(AuthCheck *c, const Target *t) {
        if (t->pid > 0)
                detail_add(c, "target_pid", "%d", (int) t->pid);
        if (t->uid != (uid_t) -1)
                detail_add(c, "target_uid", "%u", (unsigned) t->uid);
        if (t->pid > 0) {
                detail_add(c, "own_workload", "%s", t->is_own_workload ? "true" : "false");
                detail_add(c, "cross_namespace", "%s", t->cross_namespace ? "true" : "false");
        }
        if (t->workload_id != 0)
                detail_add(c, "workload_id", "%" PRIu64, t->workload_id);
        if (t->signal >= 0)
                detail_add(c, "signal", "%d", t->signal);
        if (t->target_fd >= 0)
                detail_add(c, "target_fd", "%d", t->target_fd);
        if (t->fd_type)
                detail_add(c, "fd_type", "%s", t->fd_type);
}

/* Ends the check: the callback, then the check is gone. */
static void check_finish(AuthCheck *c, bool allow, bool challenge, const char *rule) {
        AuthResult res = {
                .allow = allow,
                .challenge = !allow && challenge,
                .action = c->n_actions > 0 ? c->actions[allow ? c->n_actions - 1 : c->current] : _ACTION_INVALID,
                .rule = rule,
        };
        AuthCallback cb = c->callback;
        void *userdata = c->userdata;

        log_debug("polkit check %s: %s %s (%s)", c->cancellation_id, action_to_string(res.action) ?: "?",
                  allow ? "allow" : "deny", rule);
        check_free(c);
        cb(&res, userdata);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

static int polkit_send(AuthCheck *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Authority *a = c->authority;
        int r;

        r = sd_bus_message_new_method_call(a->bus, &m, POLKIT_BUS_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        /* The subject is the sender's unique name: polkitd asks the bus who
         * that is. Never a pid we looked up (CVE-2019-6133). */
        r = sd_bus_message_append(m, "(sa{sv})", "system-bus-name", 1, "name", "s", c->bus_name);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", action_to_string(c->actions[c->current]));
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_details; i++) {
                r = sd_bus_message_append(m, "{ss}", c->details[i][0], c->details[i][1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "us", c->interactive ? POLKIT_FLAG_ALLOW_USER_INTERACTION : 0u,
                                  c->cancellation_id);
        if (r < 0)
                return r;

        c->started_usec = now(CLOCK_MONOTONIC);
        return sd_bus_call_async(a->bus, &c->slot, m, on_polkit_reply, c, a->timeout_usec);
}

/* Ask the next action that the built-in rules did not settle. 1: a call is
 * pending; 0: the check finished (and is freed). */
static int check_continue(AuthCheck *c) {
        int r;

        for (; c->current < c->n_actions; c->current++) {
                if (c->builtin_rule[c->current]) {
                        c->last_rule = c->builtin_rule[c->current];
                        continue;
                }
                if (!c->bus_name) {
                        check_finish(c, false, false, "polkit:no-bus-name");
                        return 0;
                }
                r = polkit_send(c);
                if (r < 0) {
                        log_warning_errno(r, "Failed to ask polkit about %s: %m", action_to_string(c->actions[c->current]));
                        check_finish(c, false, false, "polkit:error");
                        return 0;
                }
                return 1;
        }
        check_finish(c, true, false, c->last_rule ?: "error:no-action");
        return 0;
}

static void polkit_cancel(AuthCheck *c) {
        /* Fire and forget: an agent dialog for an answer nobody waits for
         * should go away. */
        (void) sd_bus_call_method_async(c->authority->bus, NULL, POLKIT_BUS_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                        "CancelCheckAuthorization", NULL, NULL, "s", c->cancellation_id);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthCheck *c = userdata;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        c->slot = sd_bus_slot_unref(c->slot);

        e = sd_bus_message_get_error(reply);
        if (e) {
                const char *rule = "polkit:error";

                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        rule = "polkit:unavailable";
                else if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY))
                        /* Ours (the call timed out) or the bus's (polkitd
                         * left without answering). */
                        rule = now(CLOCK_MONOTONIC) - c->started_usec + 100000 >= c->authority->timeout_usec ? "polkit:timeout"
                                                                                                : "polkit:unavailable";
                log_warning("polkit CheckAuthorization(%s) failed, denying: %s: %s",
                            action_to_string(c->actions[c->current]), e->name, e->message ?: "");
                if (c->interactive && strcmp(rule, "polkit:timeout") == 0)
                        polkit_cancel(c);
                check_finish(c, false, false, rule);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "Malformed reply from polkit, denying: %m");
                check_finish(c, false, false, "polkit:error");
                return 0;
        }

        if (!authorized) {
                check_finish(c, false, challenge, challenge ? "polkit:challenge" : "polkit:not-authorized");
                return 0;
        }
        c->last_rule = "polkit:authorized";
        c->current++;
        (void) check_continue(c);
        return 0;
}

static int authorize_polkit(Authority *a, const AuthRequest *req, AuthCallback cb, void *userdata,
                            AuthCheck **ret_check) {
        AuthCheck *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (AuthCheck) {
                .authority = a,
                .callback = cb,
                .userdata = userdata,
                .n_actions = req->n_actions,
                .interactive = req->interactive,
        };
        if (req->caller->bus_name) {
                c->bus_name = strdup(req->caller->bus_name);
                if (!c->bus_name) {
                        free(c);
                        return -ENOMEM;
                }
        }
        snprintf(c->cancellation_id, sizeof c->cancellation_id, "pidbroker-%d-%" PRIu64, (int) getpid(),
                 ++a->n_checks);
        details_fill(c, req->target);

        /* The built-in own-workload rule is pidbroker's half of
         * signal-cross-namespace's default ("yes for your own workloads"):
         * polkit cannot know who owns a workload, so it is settled here. */
        for (size_t i = 0; i < req->n_actions; i++) {
                PolicyRequest pr;
                const char *rule = NULL;

                c->actions[i] = req->actions[i];
                policy_request_fill(&pr, req->actions[i], req);
                if (policy_check_builtin(a->policy, &pr, &rule)) {
                        c->builtin_rule[i] = rule;
                        log_decision(req, req->actions[i], true, rule);
                }
        }

        LIST_PREPEND(a->checks, c);

        r = check_continue(c);
        if (ret_check)
                *ret_check = r > 0 ? c : NULL;
        return r;
}

int authorize(Authority *a, const AuthRequest *req, AuthCallback cb, void *userdata, AuthCheck **ret_check) {
        if (ret_check)
                *ret_check = NULL;
        if (!a || !req || !req->caller || !req->facts || !req->target || !cb || req->n_actions == 0 || req->n_actions > _ACTION_MAX)
                return -EINVAL;
        for (size_t i = 0; i < req->n_actions; i++)
                if (!action_to_string(req->actions[i]))
                        return -EINVAL;
        /* Never decide for an identity that is not there (CALLER_NULL). */
        if (req->caller->uid == (uid_t) -1)
                return -EPERM;

        if (a->backend == POLICY_BACKEND_POLKIT)
                return authorize_polkit(a, req, cb, userdata, ret_check);
        return authorize_embedded(a, req, cb, userdata);
}
