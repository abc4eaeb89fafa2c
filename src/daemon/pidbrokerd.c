/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbrokerd: read the configuration, probe the kernel, serve. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "daemon-config.h"
#include "feature.h"
#include "legacy.h"
#include "log.h"
#include "manager.h"
#include "sched-util.h"

/* What the daemon does without each feature it can do without. */
static const char *const feature_fallback[_FEATURE_MAX] = {
        [FEATURE_PIDFD_OPEN] = "bus callers are named by bare pid through the legacy adapter; process-group members "
                               "cannot be pinned",
        [FEATURE_PIDFD_SEND_SIGNAL] = "kill() to the daemon's own unreaped workloads; Signal to other processes is NotSupported",
        [FEATURE_CLONE3] = "clone(CLONE_PIDFD), then fork and pidfd_open",
        [FEATURE_CLONE_PIDFD] = "fork and pidfd_open while the child is unreaped",
        [FEATURE_WAITID_PIDFD] = "waitid(P_PID) for the daemon's own unreaped workloads",
        [FEATURE_PIDFD_GETFD] = "GetFd is NotSupported",
        [FEATURE_PIDFD_SIGNAL_SCOPE] = "Signal with a scope flag is NotSupported",
        [FEATURE_PIDFS] = "workload ids from a counter",
        [FEATURE_PIDFD_GET_INFO] = "credentials from /proc, checked against the pidfd",
        [FEATURE_PIDFD_NAMESPACE_IOCTLS] = "namespace ids from /proc, checked against the pidfd",
        [FEATURE_SO_PEERPIDFD] = "direct-socket callers pinned by pid, marked bus-pid-unpinned",
        [FEATURE_CLONE_INTO_CGROUP] = "a cgroup option is NotSupported",
        [FEATURE_CLOSE_RANGE] = "the workload's stray fds closed one by one",
};

/* One warning per missing feature, naming what is done instead. Under
 * ControlPath=pidfd, a kernel that cannot give every workload and every
 * signal a pidfd is a reason not to start at all. */
static int check_features(const Config *config) {
        bool can_spawn_pidfd = feature_available(FEATURE_CLONE3) || feature_available(FEATURE_CLONE_PIDFD) ||
                               feature_available(FEATURE_PIDFD_OPEN);

        for (Feature f = 0; f < _FEATURE_MAX; f++) {
                if (feature_available(f))
                        log_debug("feature %s: yes (%s)", feature_name(f), feature_detail(f) ?: "");
                else if (feature_fallback[f])
                        log_warning("Kernel feature %s is missing (%s): %s.", feature_name(f),
                                    feature_detail(f) ?: "?", feature_fallback[f]);
                else
                        log_info("Kernel feature %s is missing (%s).", feature_name(f), feature_detail(f) ?: "?");
        }
        if (!can_spawn_pidfd && config->control_path != CONTROL_PATH_PIDFD)
                log_warning("No pidfd for new workloads (clone3, clone(CLONE_PIDFD) and pidfd_open are missing): "
                            "workloads run on the legacy PID path (ControlPath legacy_pid), signalled with kill() "
                            "and reaped with waitid(P_PID); Spawn replies carry /dev/null in the pidfd slot.");
        if (config->control_path == CONTROL_PATH_PIDFD &&
            (!can_spawn_pidfd || !feature_available(FEATURE_PIDFD_OPEN) ||
             !feature_available(FEATURE_PIDFD_SEND_SIGNAL) || !feature_available(FEATURE_WAITID_PIDFD)))
                return log_error_errno(-EOPNOTSUPP, "ControlPath=pidfd, but the kernel lacks a pidfd primitive "
                                                    "(pidfd_open, pidfd_send_signal, waitid(P_PIDFD), or a pidfd "
                                                    "from clone): refusing to start.");
        return 0;
}

/* A pidfd per live workload, and no select() anywhere: the soft fd limit
 * goes up to the hard one, as systemd's own daemons do. Workloads never
 * inherit it: they get their caller's limits (caller-resources.h). */
static void raise_fd_limit(void) {
        struct rlimit l;

        if (getrlimit(RLIMIT_NOFILE, &l) < 0 || l.rlim_cur >= l.rlim_max)
                return;
        l.rlim_cur = l.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &l) < 0)
                log_debug_errno(-errno, "Cannot raise the soft fd limit: %m");
}

static void print_features(void) {
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                printf("%-24s %-3s %s\n", feature_name(f), feature_available(f) ? "yes" : "no",
                       feature_detail(f) ?: "");
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config config;
        int r;

        log_setup(LOG_TARGET_AUTO, -1);
        config_init(&config);

        r = config_parse_argv(&config, argc, argv);
        if (r != 0) {
                config_done(&config);
                return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        log_setup(config.log_target, config.log_level);

        feature_probe_all();

        if (config.show_features) {
                print_features();
                config_done(&config);
                return EXIT_SUCCESS;
        }

        r = check_features(&config);
        raise_fd_limit();
        /* A spawn is a relay of wake-ups (the loop, a spawn thread, the
         * child): each waits for its CPU's current task to use up a full
         * slice unless it asks for a short one. Not more CPU, only sooner. */
        (void) sched_short_slice(SCHED_SLICE_NSEC);
        if (r >= 0)
                r = manager_new(&config, &m);
        if (r >= 0) {
                m->argv = argv; /* Reexecute() starts the same command again */
                r = manager_start(m);
        }
        if (r >= 0)
                r = manager_run(m);

        m = manager_free(m);
        config_done(&config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
