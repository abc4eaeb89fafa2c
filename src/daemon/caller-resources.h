/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The caller's own rlimits, nice and oom_score_adj: what a workload gets by
 * default (DESIGN §2: never the daemon's), and the line past which a Spawn
 * asks org.pidbroker.spawn-privileged. */

#include <stdbool.h>
#include <sys/resource.h>

#include "caller.h"

typedef struct CallerResources {
        struct rlimit rlimits[RLIMIT_NLIMITS];
        int nice;
        int oom_score_adj;
        bool capped;   /* an unpinned caller's, capped at UNPINNED_* below */
} CallerResources;

/* Read through the caller's pinned process handle (each read re-checked
 * against its pidfd). A "bus-pid-unpinned" caller's values may be those of
 * another process of its uid that took its pid: they are capped at what
 * any new process of an unprivileged user has (caller_resources_cap()).
 * -ESRCH once the caller is gone. */
int caller_resources_read(const Caller *c, CallerResources *ret);

/* Make r no more generous than an unprivileged process's defaults: hard
 * rlimits at most the kernel's initial ones (NOFILE: systemd's 524288),
 * nice and oom_score_adj at least 0. Soft limits follow their hard ones
 * down. */
void caller_resources_cap(CallerResources *r);
