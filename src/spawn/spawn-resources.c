/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A workload's rlimits, nice and oom_score_adj: by default the caller's own,
 * never the daemon's; beyond the caller's only with privilege. */

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "spawn.h"

/* The names of systemd's Limit*= settings, in RLIMIT_* order. */
static const char *const rlimit_names[RLIMIT_NLIMITS] = {
        [RLIMIT_CPU] = "CPU",         [RLIMIT_FSIZE] = "FSIZE",           [RLIMIT_DATA] = "DATA",
        [RLIMIT_STACK] = "STACK",     [RLIMIT_CORE] = "CORE",             [RLIMIT_RSS] = "RSS",
        [RLIMIT_NPROC] = "NPROC",     [RLIMIT_NOFILE] = "NOFILE",         [RLIMIT_MEMLOCK] = "MEMLOCK",
        [RLIMIT_AS] = "AS",           [RLIMIT_LOCKS] = "LOCKS",           [RLIMIT_SIGPENDING] = "SIGPENDING",
        [RLIMIT_MSGQUEUE] = "MSGQUEUE", [RLIMIT_NICE] = "NICE",           [RLIMIT_RTPRIO] = "RTPRIO",
        [RLIMIT_RTTIME] = "RTTIME",
};

const char *spawn_rlimit_to_name(int resource) {
        return resource >= 0 && resource < RLIMIT_NLIMITS ? rlimit_names[resource] : NULL;
}

int spawn_rlimit_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        if (strncasecmp(name, "RLIMIT_", 7) == 0)
                name += 7;
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                if (rlimit_names[i] && strcasecmp(name, rlimit_names[i]) == 0)
                        return i;
        return -EINVAL;
}

/* Ours, read once: what spawns are clamped to without CAP_SYS_RESOURCE.
 * They do not change while we run (pidbrokerd raises a soft limit only,
 * at start), and reading them cost 18 syscalls per spawn. */
typedef struct Own {
        bool sys_resource;
        struct rlimit rlimits[RLIMIT_NLIMITS];
        bool have_rlimit[RLIMIT_NLIMITS];
        bool have_oom_score_adj;
        int oom_score_adj;
} Own;

static Own own;
static pthread_once_t own_once = PTHREAD_ONCE_INIT;

static void own_read(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        char buf[32];

        own.sys_resource = syscall(SYS_capget, &h, d) == 0 &&
                           (d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE));
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                own.have_rlimit[i] = getrlimit((__rlimit_resource_t) i, &own.rlimits[i]) == 0;
        own.have_oom_score_adj = read_small_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, sizeof buf) >= 0 &&
                                 sscanf(buf, "%d", &own.oom_score_adj) == 1;
}

int spawn_request_inherit_resources(SpawnRequest *req, const struct rlimit caller[static RLIMIT_NLIMITS], int nice,
                                    int oom_score_adj) {
        int clamped = 0;

        (void) pthread_once(&own_once, own_read);
        bool privileged = own.sys_resource;
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                struct rlimit l = caller[i];

                if (req->rlimits_set & (UINT32_C(1) << i))
                        continue; /* asked for: the policy decided on it */

                /* Without CAP_SYS_RESOURCE no hard limit goes above ours: the
                 * caller gets as much of its own as we can give. */
                if (!privileged && own.have_rlimit[i] && l.rlim_max > own.rlimits[i].rlim_max) {
                        l.rlim_max = own.rlimits[i].rlim_max;
                        if (l.rlim_cur > l.rlim_max)
                                l.rlim_cur = l.rlim_max;
                        clamped |= 1 << i;
                }
                req->rlimits[i] = l;
        }
        req->rlimits_set = (UINT32_C(1) << RLIMIT_NLIMITS) - 1;
        if (!req->nice_set) {
                req->nice_set = true;
                req->nice = nice;
        }
        if (req->oom_score_adj_set)
                return clamped;

        req->oom_score_adj_set = true;
        req->oom_score_adj = oom_score_adj;
        /* Nor does oom_score_adj go below ours. */
        if (!privileged && own.have_oom_score_adj && oom_score_adj < own.oom_score_adj) {
                req->oom_score_adj = own.oom_score_adj;
                clamped |= SPAWN_CLAMPED_OOM_SCORE_ADJ;
        }
        return clamped;
}

bool spawn_resources_beyond_caller(const SpawnRequest *req, const struct rlimit caller[static RLIMIT_NLIMITS],
                                   int nice, int oom_score_adj, const char **ret_what) {
        const char *what = NULL;

        for (int i = 0; i < RLIMIT_NLIMITS && !what; i++)
                if ((req->rlimits_set & (UINT32_C(1) << i)) && req->rlimits[i].rlim_max > caller[i].rlim_max)
                        what = "an rlimit above the caller's hard limit";
        if (!what && req->nice_set && req->nice < nice)
                what = "a nice value below the caller's";
        if (!what && req->oom_score_adj_set && req->oom_score_adj < oom_score_adj)
                what = "an oom_score_adj below the caller's";
        if (what && ret_what)
                *ret_what = what;
        return what != NULL;
}
