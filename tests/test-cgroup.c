/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Workload units on the real cgroup2 hierarchy: each test works in a
 * directory of its own under the mount, removed at the end. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup.h"
#include "legacy.h"
#include "missing-pidfd.h"
#include "process.h"
#include "spawn.h"
#include "test-util.h"

static char *mount_point;

#define TEST_REQUIRE_CGROUP2()                                                  \
        do {                                                                    \
                TEST_REQUIRE_ROOT();                                            \
                if (!mount_point) {                                             \
                        g_test_skip("no cgroup2 hierarchy is mounted");         \
                        return;                                                 \
                }                                                               \
        } while (0)

static char *full_path(const char *rel) {
        return g_strconcat(mount_point, rel, NULL);
}

/* A private "own cgroup" for the test, at the top of the hierarchy. */
static char *make_test_root(const char *what) {
        char *rel = g_strdup_printf("/pidbroker-test-%s-%d", what, (int) getpid());
        g_autofree char *dir = full_path(rel);
        g_assert_no_errno(mkdir(dir, 0755));
        return rel;
}

static void remove_dir(const char *rel) {
        g_autofree char *dir = full_path(rel);
        g_assert_no_errno(rmdir(dir));
}

static void test_find(void) {
        TEST_REQUIRE_CGROUP2();
        g_autofree char *own = NULL, *dir = NULL, *line = NULL;
        g_autofree char *self = NULL;
        struct statfs sfs;

        g_assert_no_errno(statfs(mount_point, &sfs));
        g_assert_cmpuint(sfs.f_type, ==, CGROUP2_SUPER_MAGIC);
        g_assert_cmpint(cgroup_get_own(&own), ==, 0);
        g_assert_true(own[0] == '/');
        /* The "0::" line names a directory under the mount that lists us. */
        dir = g_strconcat(mount_point, own, "/cgroup.procs", NULL);
        g_assert_true(g_file_get_contents(dir, &line, NULL, NULL));
        self = g_strdup_printf("%d", (int) getpid());
        g_auto(GStrv) pids = g_strsplit(line, "\n", -1);
        g_assert_true(g_strv_contains((const char *const *) pids, self));

        g_assert_cmpint(cgroup_controller_from_string("memory"), ==, CGROUP_CONTROLLER_MEMORY);
        g_assert_cmpint(cgroup_controller_from_string("hugetlb"), ==, -EINVAL);
        g_assert_cmpstr(cgroup_controller_to_string(CGROUP_CONTROLLER_IO), ==, "io");
}

/* Not delegated (the root cgroup here, or a test directory without the
 * xattr): the subtree is <own>/pidbroker and we stay where we are. */
static void test_subtree_not_delegated(void) {
        TEST_REQUIRE_CGROUP2();
        g_autofree char *own = make_test_root("plain");
        g_autofree char *expected = g_strconcat(own, "/" CGROUP_SUBTREE_NAME, NULL);
        g_autofree char *before = NULL, *after = NULL;
        CgroupSubtree s = CGROUP_SUBTREE_NULL, again = CGROUP_SUBTREE_NULL;
        struct stat st;

        g_assert_cmpint(cgroup_get_own(&before), ==, 0);
        g_assert_cmpint(cgroup_subtree_open_at(&s, mount_point, own, false), ==, 0);
        g_assert_cmpstr(s.path, ==, expected);
        g_assert_cmpstr(s.mount, ==, mount_point);
        g_assert_false(s.moved_to_leaf);
        g_assert_cmpint(cgroup_get_own(&after), ==, 0);
        g_assert_cmpstr(before, ==, after);
        g_assert_no_errno(fstat(s.fd, &st));
        g_assert_true(S_ISDIR(st.st_mode));
        /* No memory, pids, cpu or io for cgroup2 on a hybrid host. */
        g_test_message("controllers for workloads: 0x%x", s.controllers);

        /* Opening again finds the same directory. */
        g_assert_cmpint(cgroup_subtree_open_at(&again, mount_point, own, false), ==, 0);
        g_assert_cmpstr(again.path, ==, s.path);
        cgroup_subtree_done(&again);
        cgroup_subtree_done(&s);
        remove_dir(expected);
        remove_dir(own);

        g_assert_cmpint(cgroup_subtree_open_at(&s, mount_point, "relative", false), ==, -EINVAL);
        g_assert_cmpint(cgroup_subtree_open_at(&s, "/proc", "/", false), ==, -ENOMEDIUM);
}

/* The real entry point from the test's own cgroup. */
static void test_subtree_open(void) {
        TEST_REQUIRE_CGROUP2();
        g_autofree char *own = NULL, *expected = NULL;
        CgroupSubtree s = CGROUP_SUBTREE_NULL;

        g_assert_cmpint(cgroup_get_own(&own), ==, 0);
        expected = g_strconcat(strcmp(own, "/") == 0 ? "" : own, "/" CGROUP_SUBTREE_NAME, NULL);
        g_autofree char *dir = full_path(expected);
        bool existed = access(dir, F_OK) == 0;
        g_assert_cmpint(cgroup_subtree_open(&s, false), ==, 0);
        if (!s.moved_to_leaf)
                g_assert_cmpstr(s.path, ==, expected);
        g_assert_cmpint(s.fd, >=, 0);
        cgroup_subtree_done(&s);
        /* Leave the machine as we found it (a running pidbrokerd keeps its own). */
        if (!existed)
                (void) rmdir(dir);
}

#define CHILD_CHECK(expr)                                                               \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "# line %d: %s failed\n", __LINE__, #expr);     \
                        return 1;                                                       \
                }                                                                       \
        } while (0)

static int write_string(const char *path, const char *value) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, value, strlen(value));
        int r = n < 0 ? -errno : 0;
        close(fd);
        return r;
}

typedef struct DelegatedCase {
        const char *own;      /* relative */
        bool controller_test; /* hugetlb is offered below the root */
} DelegatedCase;

/* In a child moved into the test's "delegated" cgroup: the subtree open
 * moves us into the supervisor leaf, after which the cgroup may enable
 * controllers for its children (EBUSY before). */
static int delegated_child(void *userdata) {
        const DelegatedCase *c = userdata;
        g_autofree char *dir = full_path(c->own);
        g_autofree char *procs = g_strconcat(dir, "/cgroup.procs", NULL);
        g_autofree char *root_procs = g_strconcat(mount_point, "/cgroup.procs", NULL);
        g_autofree char *own = NULL, *leaf = NULL;
        const char *const hugetlb[] = { "hugetlb", NULL };
        CgroupSubtree s = CGROUP_SUBTREE_NULL, again = CGROUP_SUBTREE_NULL;
        CgroupUnit u = CGROUP_UNIT_NULL;

        CHILD_CHECK(write_string(procs, "0") == 0);
        CHILD_CHECK(setxattr(dir, "trusted.delegate", "1", 1, 0) == 0);
        if (c->controller_test) {
                int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                CHILD_CHECK(dfd >= 0);
                /* A cgroup with a process in it keeps controllers to itself. */
                CHILD_CHECK(cgroup_enable_controllers(dfd, hugetlb) == -EBUSY);
                close(dfd);
        }

        CHILD_CHECK(cgroup_subtree_open(&s, false) == 0);
        CHILD_CHECK(strcmp(s.path, c->own) == 0);
        CHILD_CHECK(s.moved_to_leaf);
        CHILD_CHECK(cgroup_get_own(&own) == 0);
        leaf = g_strconcat(c->own, "/" CGROUP_SUPERVISOR_LEAF, NULL);
        CHILD_CHECK(strcmp(own, leaf) == 0);

        /* After a re-exec we already sit in the leaf. */
        CHILD_CHECK(cgroup_subtree_open(&again, false) == 0);
        CHILD_CHECK(strcmp(again.path, c->own) == 0);
        CHILD_CHECK(!again.moved_to_leaf);
        cgroup_subtree_done(&again);

        if (c->controller_test) {
                unsigned mask;
                CHILD_CHECK(cgroup_enable_controllers(s.fd, hugetlb) == 1);
                CHILD_CHECK(cgroup_file_lists_controller(s.fd, "cgroup.subtree_control", "hugetlb") == 1);
                CHILD_CHECK(cgroup_unit_create(&s, &u) == 0);
                CHILD_CHECK(cgroup_file_lists_controller(u.fd, "cgroup.controllers", "hugetlb") == 1);
                CHILD_CHECK(cgroup_unit_controllers(&u, &mask) == 0);
                CHILD_CHECK(mask == s.controllers);
                CHILD_CHECK(cgroup_unit_remove(&u) == 0);
        }

        CHILD_CHECK(write_string(root_procs, "0") == 0);
        CHILD_CHECK(unlinkat(s.fd, CGROUP_SUPERVISOR_LEAF, AT_REMOVEDIR) == 0);
        cgroup_subtree_done(&s);
        return 0;
}

static void test_subtree_delegated(void) {
        TEST_REQUIRE_CGROUP2();
        /* Its forked child exits without our cleanups, and memcheck counts
         * the strings of this frame as lost there. */
        TEST_SKIP_UNDER_VALGRIND("reports this test's strings as lost in the child it forks");
        g_autofree char *own = make_test_root("delegated");
        g_autofree char *root_subtree = full_path("/cgroup.subtree_control");
        _cleanup_close_ int rootfd = open(mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DelegatedCase c = { .own = own };
        bool enabled_hugetlb = false;

        g_assert_cmpint(rootfd, >=, 0);
        /* hugetlb is the one controller cgroup2 has on a hybrid host: with
         * it the test sees the no-internal-processes rule for real. */
        if (cgroup_file_lists_controller(rootfd, "cgroup.controllers", "hugetlb") == 1) {
                if (cgroup_file_lists_controller(rootfd, "cgroup.subtree_control", "hugetlb") == 0) {
                        g_assert_cmpint(write_string(root_subtree, "+hugetlb"), ==, 0);
                        enabled_hugetlb = true;
                }
                c.controller_test = true;
        } else
                g_test_message("hugetlb is not offered by cgroup2 here: controller enabling not exercised");

        int status = test_run_in_child(delegated_child, &c);
        remove_dir(own);
        if (enabled_hugetlb)
                g_assert_cmpint(write_string(root_subtree, "-hugetlb"), ==, 0);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

typedef struct TestUnit {
        char *own;
        CgroupSubtree subtree;
        CgroupUnit unit;
} TestUnit;

static void test_unit_setup(TestUnit *t, const char *what) {
        t->own = make_test_root(what);
        t->subtree = CGROUP_SUBTREE_NULL;
        t->unit = CGROUP_UNIT_NULL;
        g_assert_cmpint(cgroup_subtree_open_at(&t->subtree, mount_point, t->own, false), ==, 0);
        g_assert_cmpint(cgroup_unit_create(&t->subtree, &t->unit), ==, 0);
}

static void test_unit_teardown(TestUnit *t) {
        g_autofree char *sub = g_strdup(t->subtree.path);
        if (t->unit.fd >= 0)
                g_assert_cmpint(cgroup_unit_remove(&t->unit), ==, 0);
        cgroup_subtree_done(&t->subtree);
        remove_dir(sub);
        remove_dir(t->own);
        g_free(t->own);
}

static void test_unit_names(void) {
        TEST_REQUIRE_CGROUP2();
        TestUnit t;
        CgroupUnit other = CGROUP_UNIT_NULL, same = CGROUP_UNIT_NULL;
        struct stat st;

        test_unit_setup(&t, "names");
        const char *name = strrchr(t.unit.path, '/') + 1;
        g_assert_true(g_str_has_prefix(name, CGROUP_UNIT_PREFIX));
        g_assert_cmpuint(strlen(name), ==, strlen(CGROUP_UNIT_PREFIX) + 16);
        g_assert_true(g_str_has_prefix(t.unit.path, t.subtree.path));
        g_assert_no_errno(fstat(t.unit.fd, &st));
        g_assert_cmpuint(t.unit.id, ==, st.st_ino);

        g_assert_cmpint(cgroup_unit_create_named(&t.subtree, name, &other), ==, -EEXIST);
        g_assert_cmpint(cgroup_unit_open(&t.subtree, name, &same), ==, 0);
        g_assert_cmpuint(same.id, ==, t.unit.id);
        g_assert_cmpstr(same.path, ==, t.unit.path);
        cgroup_unit_done(&same);
        g_assert_cmpint(cgroup_unit_open(&t.subtree, "w-nonexistent", &other), ==, -ENOENT);
        g_assert_cmpint(cgroup_unit_create_named(&t.subtree, "../escape", &other), ==, -EINVAL);
        g_assert_cmpint(cgroup_unit_create_named(&t.subtree, "..", &other), ==, -EINVAL);
        g_assert_cmpint(cgroup_unit_create_named(&t.subtree, "a\nb", &other), ==, -EINVAL);
        g_assert_cmpint(cgroup_unit_create_named(&t.subtree, "", &other), ==, -EINVAL);

        g_assert_cmpint(cgroup_unit_create(&t.subtree, &other), ==, 0);
        g_assert_cmpstr(other.path, !=, t.unit.path);
        g_assert_cmpint(cgroup_unit_is_populated(&other), ==, 0);
        g_assert_cmpint(cgroup_unit_remove(&other), ==, 0);
        g_assert_cmpint(other.fd, <, 0);
        test_unit_teardown(&t);
}

static void test_limits_not_supported(void) {
        TEST_REQUIRE_CGROUP2();
        TestUnit t;
        unsigned enabled;
        const char *reason = NULL;

        test_unit_setup(&t, "limits");
        g_assert_cmpint(cgroup_unit_controllers(&t.unit, &enabled), ==, 0);
        g_assert_cmpuint(enabled, ==, t.subtree.controllers);

        for (CgroupLimit l = 0; l < _CGROUP_LIMIT_MAX; l++) {
                CgroupLimits limits = { .set = 1U << l };
                CgroupLimit missing = _CGROUP_LIMIT_MAX;
                limits.value[l] = l == CGROUP_LIMIT_MEMORY_MAX ? 64 << 20 : 100;
                int r = cgroup_unit_set_limits(&t.unit, &limits, &missing);
                if (enabled & CGROUP_CONTROLLER_BIT(cgroup_limit_controller(l))) {
                        g_test_message("%s: controller enabled, written", cgroup_limit_to_string(l));
                        g_assert_cmpint(r, ==, 0);
                        continue;
                }
                g_assert_cmpint(r, ==, -EOPNOTSUPP);
                g_assert_cmpint(missing, ==, l);
        }

        /* Nothing at all is written when one of several is missing. */
        if (!(enabled & CGROUP_CONTROLLER_BIT(CGROUP_CONTROLLER_MEMORY))) {
                CgroupLimits two = { .set = (1U << CGROUP_LIMIT_PIDS_MAX) | (1U << CGROUP_LIMIT_MEMORY_MAX) };
                two.value[CGROUP_LIMIT_PIDS_MAX] = 10;
                two.value[CGROUP_LIMIT_MEMORY_MAX] = UINT64_MAX;
                g_assert_cmpint(cgroup_unit_set_limits(&t.unit, &two, NULL), ==, -EOPNOTSUPP);
                g_assert_cmpint(faccessat(t.unit.fd, "memory.max", F_OK, 0), ==, -1);
        }

        CgroupLimits bad = { .set = 1U << CGROUP_LIMIT_CPU_WEIGHT };
        g_assert_cmpint(cgroup_limits_validate(&bad, &reason), ==, -EINVAL);
        g_assert_cmpstr(reason, ==, "cpu_weight must be 1..10000");
        bad = (CgroupLimits) { .set = 1U << CGROUP_LIMIT_IO_WEIGHT, .value[CGROUP_LIMIT_IO_WEIGHT] = 10001 };
        g_assert_cmpint(cgroup_limits_validate(&bad, &reason), ==, -EINVAL);
        g_assert_cmpstr(reason, ==, "io_weight must be 1..10000");
        bad = (CgroupLimits) { .set = 1U << CGROUP_LIMIT_PIDS_MAX };
        g_assert_cmpint(cgroup_limits_validate(&bad, &reason), ==, -EINVAL);
        bad = (CgroupLimits) { .set = 1U << _CGROUP_LIMIT_MAX };
        g_assert_cmpint(cgroup_limits_validate(&bad, &reason), ==, -EINVAL);
        g_assert_cmpint(cgroup_unit_set_limits(&t.unit, &bad, NULL), ==, -EINVAL);
        test_unit_teardown(&t);
}

/* Start sh with two sleeps in the unit; returns once all three are in it. */
static void start_tree(const CgroupUnit *u, bool ignore_term, Spawned *ret) {
        char script[256];
        snprintf(script, sizeof script, "%s/bin/sleep 600 & /bin/sleep 600 & wait; wait",
                 ignore_term ? "trap '' TERM; " : "");
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", script, NULL };
        char *env[] = { NULL };
        SpawnRequest req;

        spawn_request_init(&req);
        req.argv = argv;
        req.env = env;
        req.uid = 65534;
        req.gid = 65534;
        req.cgroup_fd = u->fd;
        *ret = SPAWNED_NULL;
        g_assert_cmpint(spawn_run(&req, ret, NULL), ==, 0);

        /* sh forks its sleeps after exec: wait for them to land. */
        for (int i = 0; i < 1000; i++) {
                g_autofree char *text = NULL;
                g_autofree char *procs = g_strdup_printf("/proc/self/fd/%d/cgroup.procs", u->fd);
                g_assert_true(g_file_get_contents(procs, &text, NULL, NULL));
                g_auto(GStrv) lines = g_strsplit(g_strstrip(text), "\n", -1);
                if (g_strv_length(lines) == 3)
                        return;
                g_usleep(10 * 1000);
        }
        g_error("the tree never had three processes in its unit");
}

/* Block on cgroup.events until the unit is empty, reading it through the
 * watched fd as the daemon does: once read, the fd is quiet until the next
 * change. */
static void wait_unpopulated(const CgroupUnit *u) {
        _cleanup_close_ int fd = cgroup_unit_open_events(u);
        g_assert_cmpint(fd, >=, 0);
        for (;;) {
                int r = cgroup_events_read_populated(fd);
                g_assert_cmpint(r, >=, 0);
                if (r == 0)
                        return;
                struct pollfd p = { .fd = fd, .events = POLLPRI };
                g_assert_cmpint(poll(&p, 1, 30000), ==, 1);
                g_assert_true(p.revents & POLLPRI);
        }
}

static void test_signal_all(void) {
        TEST_REQUIRE_CGROUP2();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_INTO_CGROUP);
        TestUnit t;
        Spawned s;
        siginfo_t si;

        test_unit_setup(&t, "signal");
        g_assert_cmpint(cgroup_unit_is_populated(&t.unit), ==, 0);
        _cleanup_close_ int events = cgroup_unit_open_events(&t.unit);
        g_assert_cmpint(events, >=, 0);
        start_tree(&t.unit, false, &s);
        g_assert_cmpint(cgroup_unit_is_populated(&t.unit), ==, 1);
        /* The change woke the events fd; read through it, the fd is quiet
         * again while nothing changes (a watch on it does not spin). */
        struct pollfd pfd = { .fd = events, .events = POLLPRI };
        g_assert_cmpint(poll(&pfd, 1, 0), ==, 1);
        g_assert_cmpint(cgroup_events_read_populated(events), ==, 1);
        g_assert_cmpint(poll(&pfd, 1, 0), ==, 0);
        g_assert_cmpint(cgroup_unit_remove(&t.unit), ==, -EBUSY);

        g_assert_cmpint(cgroup_unit_signal_all(&t.unit, SIGTERM, CONTROL_PATH_AUTO, NULL), ==, 3);
        wait_unpopulated(&t.unit);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_code, ==, CLD_KILLED);
        g_assert_cmpint(si.si_status, ==, SIGTERM);
        /* An empty unit: nobody to signal. */
        g_assert_cmpint(cgroup_unit_signal_all(&t.unit, SIGTERM, CONTROL_PATH_AUTO, NULL), ==, 0);
        g_assert_cmpint(cgroup_unit_signal_all(&t.unit, 0, CONTROL_PATH_AUTO, NULL), ==, -EINVAL);
        spawned_done(&s);
        test_unit_teardown(&t);
}

/* A workload that made sub-cgroups of its own: their processes are
 * signalled too, and the unit goes with them. */
static void test_nested(void) {
        TEST_REQUIRE_CGROUP2();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_INTO_CGROUP);
        char *argv[] = { (char *) "/bin/sleep", (char *) "600", NULL };
        char *env[] = { NULL };
        TestUnit t;
        Spawned s, inner = SPAWNED_NULL;
        SpawnRequest req;
        siginfo_t si;

        test_unit_setup(&t, "nested");
        g_assert_no_errno(mkdirat(t.unit.fd, "inner", 0755));
        g_assert_no_errno(mkdirat(t.unit.fd, "inner/deeper", 0755));
        g_assert_no_errno(mkdirat(t.unit.fd, "empty", 0755));
        _cleanup_close_ int deeper = openat(t.unit.fd, "inner/deeper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(deeper, >=, 0);

        spawn_request_init(&req);
        req.argv = argv;
        req.env = env;
        req.uid = 65534;
        req.gid = 65534;
        req.cgroup_fd = deeper;
        g_assert_cmpint(spawn_run(&req, &inner, NULL), ==, 0);
        start_tree(&t.unit, false, &s);

        g_assert_cmpint(cgroup_unit_remove(&t.unit), ==, -EBUSY);
        g_assert_cmpint(cgroup_unit_signal_all(&t.unit, SIGTERM, CONTROL_PATH_AUTO, NULL), ==, 4);
        wait_unpopulated(&t.unit);
        g_assert_cmpint(process_wait(&inner.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_status, ==, SIGTERM);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        spawned_done(&inner);
        spawned_done(&s);
        /* teardown removes the unit, sub-cgroups first. */
        test_unit_teardown(&t);
}

/* Where pidfd_open is refused (ControlPath=legacy), each pid is still
 * checked against the unit, through /proc/<pid>/cgroup. */
static void test_signal_all_legacy(void) {
        TEST_REQUIRE_CGROUP2();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_INTO_CGROUP);
        TestUnit t;
        Spawned s;
        siginfo_t si;

        test_unit_setup(&t, "legacy");
        start_tree(&t.unit, false, &s);
        int n = cgroup_unit_signal_all(&t.unit, SIGTERM, CONTROL_PATH_LEGACY, NULL);
        g_assert_cmpint(n, ==, 3);
        wait_unpopulated(&t.unit);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_status, ==, SIGTERM);
        spawned_done(&s);
        test_unit_teardown(&t);
}

static void test_kill_ignores_term(void) {
        TEST_REQUIRE_CGROUP2();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_INTO_CGROUP);
        TestUnit t;
        Spawned s;
        siginfo_t si;

        test_unit_setup(&t, "kill");
        start_tree(&t.unit, true, &s);
        /* An ignored signal is dropped when sent: all three live on. */
        g_assert_cmpint(cgroup_unit_signal_all(&t.unit, SIGTERM, CONTROL_PATH_AUTO, NULL), ==, 3);
        g_assert_cmpint(cgroup_unit_is_populated(&t.unit), ==, 1);
        g_assert_cmpint(process_check_alive(&s.process), ==, 0);

        g_assert_cmpint(cgroup_unit_kill(&t.unit), ==, 0);
        wait_unpopulated(&t.unit);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_code, ==, CLD_KILLED);
        g_assert_cmpint(si.si_status, ==, SIGKILL);
        spawned_done(&s);
        test_unit_teardown(&t);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        if (cgroup_find_mount(&mount_point) < 0)
                mount_point = NULL;

        g_test_add_func("/cgroup/find", test_find);
        g_test_add_func("/cgroup/subtree-not-delegated", test_subtree_not_delegated);
        g_test_add_func("/cgroup/subtree-open", test_subtree_open);
        g_test_add_func("/cgroup/subtree-delegated", test_subtree_delegated);
        g_test_add_func("/cgroup/unit-names", test_unit_names);
        g_test_add_func("/cgroup/limits-not-supported", test_limits_not_supported);
        g_test_add_func("/cgroup/signal-all", test_signal_all);
        g_test_add_func("/cgroup/nested", test_nested);
        g_test_add_func("/cgroup/signal-all-legacy", test_signal_all_legacy);
        g_test_add_func("/cgroup/kill-ignores-term", test_kill_ignores_term);
        return g_test_run();
}
