/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Print policy_method_actions(), the method → action table the daemon
 * follows, one row per line: interface, member, action, when, separated by
 * tabs. check-man.py compares it with org.pidbroker.Broker1(5). */

#include <stdio.h>

#include "policy.h"

int main(void) {
        const PolicyMethodAction *t;
        size_t n = 0;

        t = policy_method_actions(&n);
        for (size_t i = 0; i < n; i++)
                printf("%s\t%s\t%s\t%s\n", t[i].interface, t[i].member, t[i].action, t[i].when);
        return n > 0 ? 0 : 1;
}
