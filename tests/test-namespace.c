/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Namespace type names, flags and ids. The ids are checked against stat() of
 * /proc/<pid>/ns/<name> directly, and the clone flags against what a child
 * that unshare()s with them really gets. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "missing-pidfd.h"
#include "namespace.h"
#include "test-util.h"

static const struct {
        const char *name, *proc_name;
        uint64_t clone_flag;
        unsigned ioctl_nr;
} expected[_NAMESPACE_MAX] = {
        [NAMESPACE_USER]   = { "user",   "user",   CLONE_NEWUSER,   9 },
        [NAMESPACE_PID]    = { "pid",    "pid",    CLONE_NEWPID,    5 },
        [NAMESPACE_MOUNT]  = { "mount",  "mnt",    CLONE_NEWNS,     3 },
        [NAMESPACE_NET]    = { "net",    "net",    CLONE_NEWNET,    4 },
        [NAMESPACE_IPC]    = { "ipc",    "ipc",    CLONE_NEWIPC,    2 },
        [NAMESPACE_UTS]    = { "uts",    "uts",    CLONE_NEWUTS,    10 },
        [NAMESPACE_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP, 1 },
        [NAMESPACE_TIME]   = { "time",   "time",   0x00000080,      7 },
};

static uint64_t proc_ns_inode(pid_t pid, const char *proc_name) {
        g_autofree char *path = pid == 0 ? g_strdup_printf("/proc/self/ns/%s", proc_name)
                                         : g_strdup_printf("/proc/%d/ns/%s", pid, proc_name);
        struct stat st;

        g_assert_cmpint(stat(path, &st), ==, 0);
        return (uint64_t) st.st_ino;
}

static void test_names(void) {
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                g_assert_cmpstr(namespace_name(t), ==, expected[t].name);
                g_assert_cmpstr(namespace_proc_name(t), ==, expected[t].proc_name);
                g_assert_cmpint(namespace_from_name(namespace_name(t)), ==, t);
        }
        g_assert_cmpint(namespace_from_name("bogus"), ==, -EINVAL);
        g_assert_cmpint(namespace_from_name(""), ==, -EINVAL);
        g_assert_cmpint(namespace_from_name(NULL), ==, -EINVAL);
        g_assert_null(namespace_name(_NAMESPACE_MAX));
        g_assert_null(namespace_proc_name((NamespaceType) -1));
        g_assert_cmpuint(namespace_clone_flag(_NAMESPACE_MAX), ==, 0);
        g_assert_cmpuint(namespace_pidfd_ioctl(_NAMESPACE_MAX), ==, 0);
}

static void test_flags_and_ioctls(void) {
        uint64_t seen_flags = 0;

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                uint64_t flag = namespace_clone_flag(t);
                unsigned long cmd = namespace_pidfd_ioctl(t);

                g_assert_cmpuint(flag, ==, expected[t].clone_flag);
                g_assert_cmpuint(__builtin_popcountll(flag), ==, 1);
                g_assert_cmpuint(seen_flags & flag, ==, 0);
                seen_flags |= flag;

                g_assert_cmpuint(cmd, ==, _IO(0xFF, expected[t].ioctl_nr));
                g_assert_cmpuint(_IOC_TYPE(cmd), ==, 0xFF);
                g_assert_cmpuint(_IOC_SIZE(cmd), ==, 0);
        }
}

static void test_id_from_proc(void) {
        uint64_t id, id_pid;

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                g_assert_cmpint(namespace_id_from_proc(0, t, &id), ==, 0);
                g_assert_cmpuint(id, ==, proc_ns_inode(0, expected[t].proc_name));
                g_assert_cmpint(namespace_id_from_proc(getpid(), t, &id_pid), ==, 0);
                g_assert_cmpuint(id_pid, ==, id);
        }

        g_assert_cmpint(namespace_id_from_proc(-1, NAMESPACE_PID, &id), ==, -EINVAL);
        g_assert_cmpint(namespace_id_from_proc(0, _NAMESPACE_MAX, &id), ==, -EINVAL);
        g_assert_cmpint(namespace_id_from_proc(0, NAMESPACE_PID, NULL), ==, -EINVAL);
        /* Above pid_max's limit: no such process. */
        g_assert_cmpint(namespace_id_from_proc(INT_MAX, NAMESPACE_PID, &id), ==, -ENOENT);
}

/* A child unshare()s with namespace_clone_flag(t): its id for t changes and
 * no other does. PID and time namespaces apply to the children's view, so
 * for them /proc/<pid>/ns/<name>_for_children changes instead. */
static void test_clone_flags_unshare(gconstpointer data) {
        NamespaceType t = GPOINTER_TO_INT(data);
        _cleanup_close_pair_ int ready[2] = { -EBADF, -EBADF }, rel[2] = { -EBADF, -EBADF };
        bool for_children = t == NAMESPACE_PID || t == NAMESPACE_TIME;
        int status;
        pid_t pid;
        char c;

        TEST_REQUIRE_ROOT();

        g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(rel, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                pid_t init = 0;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare((int) namespace_clone_flag(t)) < 0)
                        _exit(3);
                /* pid_for_children reads ENOENT until the new namespace
                 * has its init: start one, killed and reaped before we
                 * exit (it holds the test's stdout, which the runner
                 * waits on). */
                if (t == NAMESPACE_PID) {
                        init = fork();

                        if (init < 0)
                                _exit(3);
                        if (init == 0) {
                                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                                for (;;)
                                        pause();
                        }
                }
                if (write(ready[1], "r", 1) != 1)
                        _exit(3);
                while (read(rel[0], &c, 1) < 0 && errno == EINTR)
                        ;
                if (init > 0) {
                        (void) kill(init, SIGKILL);
                        (void) waitpid(init, NULL, 0);
                }
                _exit(0);
        }
        g_assert_cmpint(read(ready[0], &c, 1), ==, 1);

        for (NamespaceType u = 0; u < _NAMESPACE_MAX; u++) {
                uint64_t own, child;

                g_assert_cmpint(namespace_id_from_proc(0, u, &own), ==, 0);
                g_assert_cmpint(namespace_id_from_proc(pid, u, &child), ==, 0);
                g_assert_cmpuint(child, ==, proc_ns_inode(pid, expected[u].proc_name));
                if (u == t && !for_children)
                        g_assert_cmpuint(child, !=, own);
                else
                        g_assert_cmpuint(child, ==, own);
        }
        if (for_children) {
                g_autofree char *name = g_strconcat(expected[t].proc_name, "_for_children", NULL);

                g_assert_cmpuint(proc_ns_inode(pid, name), !=, proc_ns_inode(0, name));
        }

        g_assert_cmpint(write(rel[1], "x", 1), ==, 1);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* namespace_pidfd_ioctl(t) on our own pidfd opens the namespace whose id
 * namespace_id_from_proc() reports. */
static void test_pidfd_ioctls(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_NAMESPACE_IOCTLS);
        _cleanup_close_ int pidfd = (int) syscall(__NR_pidfd_open, getpid(), 0U);

        g_assert_cmpint(pidfd, >=, 0);
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                _cleanup_close_ int nsfd = ioctl(pidfd, namespace_pidfd_ioctl(t), 0);
                struct statfs sfs;
                struct stat st;
                uint64_t id;

                g_assert_cmpint(nsfd, >=, 0);
                g_assert_cmpint(fstat(nsfd, &st), ==, 0);
                g_assert_cmpint(fstatfs(nsfd, &sfs), ==, 0);
                g_assert_cmpuint((unsigned long) sfs.f_type, ==, NSFS_MAGIC);
                g_assert_cmpint(namespace_id_from_proc(0, t, &id), ==, 0);
                g_assert_cmpuint(id, ==, (uint64_t) st.st_ino);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/namespace/names", test_names);
        g_test_add_func("/namespace/flags-and-ioctls", test_flags_and_ioctls);
        g_test_add_func("/namespace/id-from-proc", test_id_from_proc);
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                g_autofree char *path = g_strdup_printf("/namespace/unshare/%s", namespace_name(t));
                g_test_add_data_func(path, GINT_TO_POINTER(t), test_clone_flags_unshare);
        }
        g_test_add_func("/namespace/pidfd-ioctls", test_pidfd_ioctls);

        return g_test_run();
}
