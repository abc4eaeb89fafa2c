/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "caller-resources.h"

/* Hard limits no unprivileged process starts above: the kernel's initial
 * ones (include/asm-generic/resource.h), NOFILE as systemd raises it for
 * every unit and session. NPROC and SIGPENDING, sized by the kernel from
 * memory at boot, have no fixed value and stay uncapped: both count
 * against the uid, which the bus vouches for. */
static const rlim_t unpinned_hard_max[RLIMIT_NLIMITS] = {
        [RLIMIT_CPU] = RLIM_INFINITY,     [RLIMIT_FSIZE] = RLIM_INFINITY,    [RLIMIT_DATA] = RLIM_INFINITY,
        [RLIMIT_STACK] = RLIM_INFINITY,   [RLIMIT_CORE] = RLIM_INFINITY,     [RLIMIT_RSS] = RLIM_INFINITY,
        [RLIMIT_NPROC] = RLIM_INFINITY,   [RLIMIT_NOFILE] = 524288,          [RLIMIT_MEMLOCK] = 8 << 20,
        [RLIMIT_AS] = RLIM_INFINITY,      [RLIMIT_LOCKS] = RLIM_INFINITY,    [RLIMIT_SIGPENDING] = RLIM_INFINITY,
        [RLIMIT_MSGQUEUE] = 819200,       [RLIMIT_NICE] = 0,                 [RLIMIT_RTPRIO] = 0,
        [RLIMIT_RTTIME] = RLIM_INFINITY,
};

void caller_resources_cap(CallerResources *r) {
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                struct rlimit *l = &r->rlimits[i];
                if (l->rlim_max > unpinned_hard_max[i])
                        l->rlim_max = unpinned_hard_max[i];
                if (l->rlim_cur > l->rlim_max)
                        l->rlim_cur = l->rlim_max;
        }
        if (r->nice < 0)
                r->nice = 0;
        if (r->oom_score_adj < 0)
                r->oom_score_adj = 0;
        r->capped = true;
}

/* On the event loop: prlimit() and getpriority() do not block, and
 * oom_score_adj (like limits, where prlimit() is refused) is a /proc file
 * the kernel fills under the target's task lock only, never its mm lock,
 * so a client cannot stall the read (as it could /proc/<pid>/cmdline's,
 * with a page fault its own FUSE server or userfaultfd holds). */
int caller_resources_read(const Caller *c, CallerResources *ret) {
        CallerResources r = {};
        int k;

        k = process_get_rlimits(&c->process, r.rlimits);
        if (k < 0)
                return k;
        k = process_get_nice(&c->process, &r.nice);
        if (k < 0)
                return k;
        k = process_get_oom_score_adj(&c->process, &r.oom_score_adj);
        if (k < 0)
                return k;
        /* A pid pinned after the fact may name another process of the
         * caller's uid, with better values than the caller's: a value read
         * there is not the caller's fact (DESIGN §3), so it may give no
         * more than any process of an unprivileged user starts with. */
        if (!caller_is_pinned(c))
                caller_resources_cap(&r);
        *ret = r;
        return 0;
}
