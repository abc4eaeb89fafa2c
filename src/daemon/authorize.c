/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "authorize.h"
#include "log.h"

static const char *const action_table[_ACTION_MAX] = {
        [ACTION_SPAWN] = "org.pidbroker.spawn",
        [ACTION_SPAWN_AS_USER] = "org.pidbroker.spawn-as-user",
        [ACTION_SPAWN_PRIVILEGED] = "org.pidbroker.spawn-privileged",
        [ACTION_SIGNAL] = "org.pidbroker.signal",
        [ACTION_SIGNAL_OTHER_USER] = "org.pidbroker.signal-other-user",
        [ACTION_SIGNAL_CROSS_NAMESPACE] = "org.pidbroker.signal-cross-namespace",
        [ACTION_GETFD] = "org.pidbroker.getfd",
        [ACTION_MANAGE] = "org.pidbroker.manage",
};

const char *action_to_string(Action a) {
        return a >= 0 && a < _ACTION_MAX ? action_table[a] : NULL;
}

int authorize(Manager *m, const Caller *caller, Action action, const AuthTarget *target, const char **ret_rule) {
        const char *rule;
        bool allow;

        switch (action) {
        case ACTION_SPAWN:
        case ACTION_SIGNAL:
                /* .policy default "yes" */
                allow = true;
                rule = "default:yes";
                break;
        case ACTION_SIGNAL_CROSS_NAMESPACE:
                /* yes for your own workloads, else auth_admin */
                allow = (target && target->is_own_workload) || caller_is_root(caller);
                rule = target && target->is_own_workload ? "default:own-workload" : "default:auth_admin";
                break;
        default:
                /* auth_admin without an agent: root only */
                allow = caller_is_root(caller);
                rule = "default:auth_admin";
        }

        if (ret_rule)
                *ret_rule = rule;

        char buf[256];
        log_debug("authorize %s for %s: %s (%s)", action_to_string(action) ?: "?",
                  caller_describe(caller, buf, sizeof buf), allow ? "allow" : "deny", rule);
        return allow ? 0 : -EACCES;
}
