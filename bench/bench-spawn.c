/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the spawn engine costs over a plain local spawn: N runs of /bin/true
 * each way, start to reaped, wall clock per spawn. Run by `meson test
 * --benchmark`; prints one line per method on stderr and nothing to judge
 * by: timing goals live here, never in the test suite.
 *
 *   bench-spawn [N] */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process.h"
#include "spawn.h"

extern char **environ;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static char *true_argv[] = { (char *) "/bin/true", NULL };
static char *empty_env[] = { NULL };

/* What posix_spawn() does inside glibc: the child borrows our memory. */
static int run_vfork_exec(void) {
        int status;
        pid_t pid = vfork();
        if (pid == 0) {
                execve(true_argv[0], true_argv, empty_env);
                _exit(127);
        }
        return pid > 0 && waitpid(pid, &status, 0) == pid ? 0 : -1;
}

static int run_fork_exec(void) {
        int status;
        pid_t pid = fork();
        if (pid == 0) {
                execve(true_argv[0], true_argv, empty_env);
                _exit(127);
        }
        return pid > 0 && waitpid(pid, &status, 0) == pid ? 0 : -1;
}

static uint64_t namespaces;
static const SeccompProfile *profile;

static int run_engine(void) {
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si;
        int r;

        spawn_request_init(&req);
        req.argv = true_argv;
        req.env = empty_env;
        req.uid = getuid();
        req.gid = getgid();
        req.namespaces = namespaces;
        req.seccomp = profile;
        req.no_new_privileges = true;
        r = spawn_run(&req, &s, NULL);
        if (r < 0)
                return r;
        r = process_wait(&s.process, WEXITED, &si);
        spawned_done(&s);
        return r;
}

static void measure(const char *name, int (*fn)(void), int n) {
        uint64_t start = now_ns();
        for (int i = 0; i < n; i++)
                if (fn() < 0) {
                        fprintf(stderr, "%s: failed\n", name);
                        exit(EXIT_FAILURE);
                }
        double us = (double) (now_ns() - start) / n / 1000.0;
        fprintf(stderr, "%-32s %8.1f us per spawn (%d runs)\n", name, us, n);
}

/* On a thread of its own, under the profile's filter, which every child
 * is then born with (the daemon's spawn threads). */
static void *measure_inherited(void *p) {
        int n = *(int *) p;

        if (spawn_thread_take_filter(profile) < 0) {
                fprintf(stderr, "spawn_thread_take_filter: failed\n");
                exit(EXIT_FAILURE);
        }
        measure("  the filter inherited", run_engine, n);
        return NULL;
}

int main(int argc, char *argv[]) {
        int n = argc > 1 ? atoi(argv[1]) : 500;
        SeccompProfile *p = NULL;

        measure("vfork+execve", run_vfork_exec, n);
        measure("fork+execve", run_fork_exec, n);
        measure("spawn engine (clone3, pidfd)", run_engine, n);

        /* The default seccomp profile, twice each way, interleaved. */
        if (seccomp_profile_load(seccomp_profile_dir(), "default", &p, NULL) < 0) {
                fprintf(stderr, "cannot load the default seccomp profile from %s\n", seccomp_profile_dir());
                return EXIT_FAILURE;
        }
        profile = p;
        fprintf(stderr, "spawn engine, default seccomp profile:\n");
        for (int round = 0; round < 2; round++) {
                pthread_t t;

                measure("  the filter loaded by the child", run_engine, n);
                if (pthread_create(&t, NULL, measure_inherited, &n) != 0 || pthread_join(t, NULL) != 0)
                        return EXIT_FAILURE;
        }
        profile = NULL;
        seccomp_profile_free(p);
        namespaces = (UINT64_C(1) << NAMESPACE_PID) | (UINT64_C(1) << NAMESPACE_MOUNT);
        measure("spawn engine, pid+mount ns", run_engine, n / 5);
        namespaces |= (UINT64_C(1) << NAMESPACE_NET) | (UINT64_C(1) << NAMESPACE_UTS);
        measure("spawn engine, pid+mount+net+uts", run_engine, n / 5);
        return EXIT_SUCCESS;
}
