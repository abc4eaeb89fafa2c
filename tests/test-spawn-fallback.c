/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The spawn fallback chain: clone3 → clone(CLONE_PIDFD) → clone + pidfd_open
 * → bare pid. In a forked child, a seccomp filter takes each step away in
 * turn (answering ENOSYS, as an old kernel would, and EPERM, as a container
 * runtime's filter may), and the next step must be taken and reported. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "legacy.h"
#include "missing-pidfd.h"
#include "process.h"
#include "spawn.h"
#include "test-util.h"

typedef struct Case {
        const char *name;
        int blocked[2];            /* syscall numbers answered with err (0: none) */
        unsigned long clone_mask;  /* clone() fails only with these flag bits */
        int err;                   /* ENOSYS or EPERM */
        bool reprobe;              /* feature_reset() after the filter, or find out at spawn time */
        ControlPath control_path;
        SpawnMethod expect_method;
        int expect_error;          /* 0, or the -errno spawn_run must return */
        Feature missing;           /* the feature the probe must then report missing */
        bool cgroup;               /* into a cgroup of its own (the parent moves it there) */
        bool userns;               /* in a user namespace: the parent writes the id maps too */
} Case;

enum {
        CHILD_OK = 0,
        CHILD_FILTER = 10,
        CHILD_SPAWN_RESULT,
        CHILD_METHOD,
        CHILD_NO_PIDFD,
        CHILD_WAIT,
        CHILD_EXIT_CODE,
        CHILD_FEATURE_STILL_AVAILABLE,
        CHILD_LEFTOVER_CHILD,
        CHILD_CGROUP,
        CHILD_NOT_IN_CGROUP,
};

static char *cgroup_mount;
static char *cgroup_rel; /* made by the test, used by its child */

static int run_case(void *userdata) {
        const Case *c = userdata;
        int nrs[2];
        size_t n = 0;

        for (size_t i = 0; i < 2; i++)
                if (c->blocked[i])
                        nrs[n++] = c->blocked[i];
        if (test_block_syscalls(nrs, n, c->err, c->clone_mask) < 0)
                return CHILD_FILTER;
        if (c->reprobe)
                feature_reset();

        char *argv[] = { (char *) test_helper_path(), (char *) "exit", (char *) "42", NULL };
        char *env[] = { NULL };
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si = {};

        spawn_request_init(&req);
        req.argv = argv;
        req.env = env;
        req.namespaces = 1 << NAMESPACE_UTS; /* namespace flags travel down the chain too */
        req.control_path = c->control_path;
        if (c->userns)
                req.namespaces |= 1 << NAMESPACE_USER;

        /* A cgroup of its own, made here: the workload must be in it before
         * exec, although no clone3 put it there. */
        _cleanup_close_ int cgroup_fd = -EBADF;
        if (c->cgroup) {
                g_autofree char *dir = g_strconcat(cgroup_mount, cgroup_rel, NULL);
                cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cgroup_fd < 0)
                        return CHILD_CGROUP;
                req.cgroup_fd = cgroup_fd;
                argv[1] = (char *) "in-cgroup";
                argv[2] = cgroup_rel;
        }
        int r = spawn_run(&req, &s, NULL);
        if (r != c->expect_error)
                return CHILD_SPAWN_RESULT;
        if (c->expect_error != 0) {
                /* A refused spawn leaves no child behind. */
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0)
                        return CHILD_LEFTOVER_CHILD;
                return feature_available(c->missing) ? CHILD_FEATURE_STILL_AVAILABLE : CHILD_OK;
        }
        if (s.method != c->expect_method)
                return CHILD_METHOD;
        if ((s.method == SPAWN_METHOD_LEGACY) != process_is_legacy(&s.process))
                return CHILD_NO_PIDFD;
        if (process_wait(&s.process, WEXITED, &si) < 0)
                return CHILD_WAIT;
        if (si.si_code != CLD_EXITED || si.si_status != 42)
                return CHILD_EXIT_CODE;
        if (feature_available(c->missing))
                return CHILD_FEATURE_STILL_AVAILABLE;
        spawned_done(&s);
        return CHILD_OK;
}

static void test_case(gconstpointer data) {
        TEST_REQUIRE_ROOT();
        TEST_SKIP_UNDER_VALGRIND("creates children with clone() flags of its own and lacks clone3 and "
                                 "pidfd_open: a filter cannot take away one step of the chain");
        const Case *c = data;
        g_autofree char *dir = NULL;

        if (c->cgroup) {
                if (!cgroup_mount) {
                        g_test_skip("no cgroup2 hierarchy is mounted");
                        return;
                }
                g_free(cgroup_rel);
                cgroup_rel = g_strdup_printf("/pidbroker-test-fallback-%d", (int) getpid());
                dir = g_strconcat(cgroup_mount, cgroup_rel, NULL);
                g_assert_no_errno(mkdir(dir, 0755));
        }
        int status = test_run_in_child(run_case, (void *) c);
        if (dir)
                g_assert_no_errno(rmdir(dir));

        g_assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != CHILD_OK)
                g_error("%s: child failed with code %d", c->name, WEXITSTATUS(status));
}

int main(int argc, char *argv[]) {
        static const int errs[] = { ENOSYS, EPERM };
        GPtrArray *cases = g_ptr_array_new_with_free_func(g_free);

        g_test_init(&argc, &argv, NULL);
        /* A warm cache: the "runtime" cases must find out at spawn time. */
        feature_probe_all();
        if (cgroup_find_mount(&cgroup_mount) < 0)
                cgroup_mount = NULL;
        /* Make the helper's public copy here, not in each forked child. */
        test_helper_path();

        for (size_t e = 0; e < G_N_ELEMENTS(errs); e++)
                for (int reprobe = 0; reprobe <= 1; reprobe++) {
                        const char *en = errs[e] == ENOSYS ? "enosys" : "eperm";
                        const char *how = reprobe ? "probe" : "runtime";
                        Case list[] = {
                                { .name = "no-clone3",
                                  .blocked = { __NR_clone3 },
                                  .expect_method = SPAWN_METHOD_CLONE_PIDFD,
                                  .missing = FEATURE_CLONE3 },
                                { .name = "no-clone-pidfd",
                                  .blocked = { __NR_clone3 },
                                  .clone_mask = CLONE_PIDFD,
                                  .expect_method = SPAWN_METHOD_FORK_PIDFD_OPEN,
                                  .missing = FEATURE_CLONE_PIDFD },
                                { .name = "no-pidfd-open",
                                  .blocked = { __NR_clone3, __NR_pidfd_open },
                                  .clone_mask = CLONE_PIDFD,
                                  .expect_method = SPAWN_METHOD_LEGACY,
                                  .missing = FEATURE_PIDFD_OPEN },
                                { .name = "cgroup-no-clone3",
                                  .blocked = { __NR_clone3 },
                                  .expect_method = SPAWN_METHOD_CLONE_PIDFD,
                                  .missing = FEATURE_CLONE3,
                                  .cgroup = true },
                                { .name = "cgroup-userns-no-clone3",
                                  .blocked = { __NR_clone3 },
                                  .expect_method = SPAWN_METHOD_CLONE_PIDFD,
                                  .missing = FEATURE_CLONE3,
                                  .cgroup = true,
                                  .userns = true },
                                { .name = "cgroup-no-pidfd-open",
                                  .blocked = { __NR_clone3, __NR_pidfd_open },
                                  .clone_mask = CLONE_PIDFD,
                                  .expect_method = SPAWN_METHOD_LEGACY,
                                  .missing = FEATURE_PIDFD_OPEN,
                                  .cgroup = true },
                                { .name = "no-pidfd-open-refused",
                                  .blocked = { __NR_clone3, __NR_pidfd_open },
                                  .clone_mask = CLONE_PIDFD,
                                  .control_path = CONTROL_PATH_PIDFD,
                                  .expect_error = -EOPNOTSUPP,
                                  .missing = FEATURE_PIDFD_OPEN },
                        };
                        for (size_t i = 0; i < G_N_ELEMENTS(list); i++) {
                                Case *c = g_memdup2(&list[i], sizeof list[i]);
                                c->err = errs[e];
                                c->reprobe = reprobe;
                                g_autofree char *path =
                                        g_strdup_printf("/spawn-fallback/%s/%s/%s", en, how, c->name);
                                c->name = g_intern_string(path);
                                g_ptr_array_add(cases, c);
                                g_test_add_data_func(path, c, test_case);
                        }
                }

        int r = g_test_run();
        g_ptr_array_unref(cases);
        return r;
}
