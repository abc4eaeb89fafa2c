/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The feature probe against the kernel. Every probed feature has a test that
 * checks the probe's answer against an independent observation: a different
 * syscall or file than the probe used. Seccomp tests run in forked children
 * and check that feature_reset() + a re-probe sees the filter. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "feature.h"
#include "macro.h"
#include "missing-pidfd.h"
#include "namespace.h"
#include "test-util.h"

/* ---- helpers ------------------------------------------------------------ */

static int sys_pidfd_open(pid_t pid, unsigned flags) {
        return (int) syscall(__NR_pidfd_open, pid, flags);
}

static int sys_pidfd_send_signal(int pidfd, int sig, unsigned flags) {
        return (int) syscall(__NR_pidfd_send_signal, pidfd, sig, NULL, flags);
}

/* "Pid:" from /proc/self/fdinfo/<fd>: what the kernel says the pidfd names.
 * -1 once reaped, -2 when there is no such line (not a pidfd). */
static pid_t fdinfo_pid(int fd) {
        g_autofree char *path = g_strdup_printf("/proc/self/fdinfo/%d", fd);
        g_autofree char *s = NULL;
        const char *p;

        if (!g_file_get_contents(path, &s, NULL, NULL))
                return -2;
        p = strstr(s, "\nPid:");
        if (!p)
                return -2;
        return (pid_t) strtol(p + strlen("\nPid:"), NULL, 10);
}

static uint64_t fd_inode(int fd) {
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        return (uint64_t) st.st_ino;
}

/* A forked child that blocks until released with a byte, then exits with
 * exit_code. PR_SET_PDEATHSIG keeps an aborted test from leaving it behind;
 * a byte (not EOF) releases it, so fds other children inherit don't matter. */
typedef struct Blocked {
        pid_t pid;
        int release;
} Blocked;

static Blocked blocked_child_start(int exit_code) {
        int p[2];
        pid_t pid;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                char c;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                while (read(p[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(exit_code);
        }
        close(p[0]);
        return (Blocked) { pid, p[1] };
}

static void blocked_child_release(Blocked *b) {
        if (b->release >= 0)
                g_assert_cmpint(write(b->release, "x", 1), ==, 1);
        b->release = safe_close(b->release);
}

/* Release (if not yet), reap and return the wait status. */
static int blocked_child_finish(Blocked *b) {
        int status;

        blocked_child_release(b);
        g_assert_cmpint(waitpid(b->pid, &status, 0), ==, b->pid);
        return status;
}

static void assert_agrees(Feature f, bool observed) {
        bool probed = feature_available(f);

        g_test_message("%s: probe says %s (%s); observed %s", feature_name(f),
                       probed ? "yes" : "no", feature_detail(f), observed ? "yes" : "no");
        g_assert_cmpint(probed, ==, observed);
}

/* ---- names, errnos, cache ------------------------------------------------ */

static const char *const expected_names[] = {
        "pidfd_open", "pidfd_send_signal", "clone3", "clone_pidfd", "waitid_pidfd",
        "pidfd_getfd", "pidfd_nonblock", "pidfd_thread", "pidfd_signal_scope", "pidfs",
        "pidfd_get_info", "pidfd_info_exit", "pidfd_namespace_ioctls",
        "pidfs_file_handles", "so_peerpidfd", "clone_into_cgroup", "close_range",
};

static void test_names(void) {
        g_assert_cmpuint(G_N_ELEMENTS(expected_names), ==, _FEATURE_MAX);
        for (Feature f = 0; f < _FEATURE_MAX; f++) {
                g_assert_cmpstr(feature_name(f), ==, expected_names[f]);
                g_assert_cmpint(feature_from_name(expected_names[f]), ==, f);
        }
        g_assert_null(feature_name(_FEATURE_MAX));
        g_assert_null(feature_name((Feature) -1));
        g_assert_null(feature_detail(_FEATURE_MAX));
        g_assert_false(feature_available(_FEATURE_MAX));
        g_assert_cmpint(feature_from_name("pidfd"), ==, -EINVAL);
        g_assert_cmpint(feature_from_name("CLONE3"), ==, -EINVAL);
        g_assert_cmpint(feature_from_name(""), ==, -EINVAL);
        g_assert_cmpint(feature_from_name(NULL), ==, -EINVAL);
}

static void test_errno_is_not_supported(void) {
        static const int yes[] = { ENOSYS, EPERM, ENOTTY, EOPNOTSUPP, ENOTSUP };
        static const int no[] = { 0, EINVAL, ENOENT, ESRCH, EBADF, EACCES, ENOPROTOOPT, EMFILE, EAGAIN };

        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
                g_assert_true(errno_is_not_supported(yes[i]));
                g_assert_true(errno_is_not_supported(-yes[i]));
        }
        for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
                g_assert_false(errno_is_not_supported(no[i]));
                g_assert_false(errno_is_not_supported(-no[i]));
        }
}

/* Probing leaves no fd open and no child behind, and every detail is one
 * non-empty line. */
static void test_probe_all_is_clean(void) {
        siginfo_t si = {};
        unsigned before, after;

        feature_reset();
        before = test_count_open_fds();
        feature_probe_all();
        after = test_count_open_fds();
        g_assert_cmpuint(after, ==, before);

        errno = 0;
        g_assert_cmpint(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL), ==, -1);
        g_assert_cmpint(errno, ==, ECHILD);

        for (Feature f = 0; f < _FEATURE_MAX; f++) {
                const char *d = feature_detail(f);

                g_assert_nonnull(d);
                g_assert_cmpuint(strlen(d), >, 0);
                g_assert_null(strchr(d, '\n'));
                g_test_message("%-22s %-3s %s", feature_name(f), feature_available(f) ? "yes" : "no", d);
        }
}

static void test_mark_missing(void) {
        feature_reset();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE3);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_INTO_CGROUP);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        /* A shortage is not "missing". */
        feature_mark_missing(FEATURE_PIDFD_OPEN, EMFILE);
        g_assert_true(feature_available(FEATURE_PIDFD_OPEN));

        feature_mark_missing(FEATURE_CLONE3, -ENOSYS);
        g_assert_false(feature_available(FEATURE_CLONE3));
        g_assert_nonnull(strstr(feature_detail(FEATURE_CLONE3), "ENOSYS"));
        /* What builds on clone3 goes with it. */
        g_assert_false(feature_available(FEATURE_CLONE_INTO_CGROUP));
        g_assert_true(feature_available(FEATURE_CLONE_PIDFD));

        feature_reset();
        g_assert_true(feature_available(FEATURE_CLONE3));
        g_assert_true(feature_available(FEATURE_CLONE_INTO_CGROUP));
}

/* ---- one independent observation per feature ---------------------------- */

/* A pidfd from pidfd_open() names the child in fdinfo and polls readable
 * once the child exits. */
static void test_observe_pidfd_open(void) {
        Blocked b = blocked_child_start(0);
        _cleanup_close_ int fd = sys_pidfd_open(b.pid, 0);
        bool observed = fd >= 0 && fdinfo_pid(fd) == b.pid;

        if (fd >= 0) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                g_assert_cmpint(poll(&p, 1, 0), ==, 0);
                blocked_child_release(&b);
                observed = observed && poll(&p, 1, 5000) == 1 && (p.revents & POLLIN);
        }
        (void) blocked_child_finish(&b);
        assert_agrees(FEATURE_PIDFD_OPEN, observed);
}

/* The probe sent signal 0 to itself; here SIGKILL through a pidfd must show
 * up in the child's wait status. */
static void test_observe_pidfd_send_signal(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        Blocked b = blocked_child_start(0);
        _cleanup_close_ int fd = sys_pidfd_open(b.pid, 0);
        int r, status;

        g_assert_cmpint(fd, >=, 0);
        r = sys_pidfd_send_signal(fd, SIGKILL, 0);
        if (r < 0)
                (void) kill(b.pid, SIGKILL);
        g_assert_cmpint(waitpid(b.pid, &status, 0), ==, b.pid);
        b.release = safe_close(b.release);
        assert_agrees(FEATURE_PIDFD_SEND_SIGNAL, r == 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* A fresh clone3() child reports its own pid and parent through a pipe. */
static void test_observe_clone3(void) {
        struct pb_clone_args args = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD };
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int fd = -EBADF;
        int pidfd = -1, status;
        pid_t pid, got[2] = { 0, 0 };
        bool observed = false;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        args.pidfd = (uint64_t) (uintptr_t) &pidfd;
        pid = (pid_t) syscall(__NR_clone3, &args, (size_t) PB_CLONE_ARGS_SIZE_VER0);
        if (pid == 0) {
                pid_t me[2] = { (pid_t) syscall(SYS_getpid), (pid_t) syscall(SYS_getppid) };
                _exit(write(p[1], me, sizeof(me)) == sizeof(me) ? 0 : 1);
        }
        if (pid > 0) {
                fd = pidfd;
                p[1] = safe_close(p[1]);
                g_assert_cmpint(read(p[0], got, sizeof(got)), ==, sizeof(got));
                g_assert_cmpint(fdinfo_pid(fd), ==, pid);
                g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
                g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                observed = got[0] == pid && got[1] == getpid();
        } else
                g_test_message("clone3: %s", g_strerror(errno));
        assert_agrees(FEATURE_CLONE3, observed);
}

static int clone_child_fn(void *arg) {
        int wfd = *(int *) arg;
        pid_t me = (pid_t) syscall(SYS_getpid);

        /* Return, not _exit(): glibc's clone() then exits the child itself.
         * A noreturn call on this heap stack makes ASan warn "ignoring
         * requested __asan_handle_no_return" (-Db_sanitize=address). */
        return write(wfd, &me, sizeof(me)) == sizeof(me) ? 0 : 1;
}

/* glibc's clone() with CLONE_PIDFD (the probe used the raw syscall): the
 * slot's fd names the child in fdinfo, and the child reports that pid. */
static void test_observe_clone_pidfd(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int fd = -EBADF;
        g_autofree uint8_t *stack = g_malloc(256 * 1024);
        int pidfd = -1, status;
        pid_t pid, got = 0;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pid = clone(clone_child_fn, stack + 256 * 1024, CLONE_PIDFD | SIGCHLD, &p[1], &pidfd, NULL, NULL);
        g_assert_cmpint(pid, >, 0);
        fd = pidfd;
        p[1] = safe_close(p[1]);
        g_assert_cmpint(read(p[0], &got, sizeof(got)), ==, sizeof(got));
        g_assert_cmpint(got, ==, pid);
        assert_agrees(FEATURE_CLONE_PIDFD, fd >= 0 && fdinfo_pid(fd) == pid);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
}

/* waitid(P_PIDFD) reaps: the exit code comes back, and waitpid() then finds
 * no such child. */
static void test_observe_waitid_pidfd(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        Blocked b = blocked_child_start(42);
        _cleanup_close_ int fd = sys_pidfd_open(b.pid, 0);
        siginfo_t si = {};
        bool observed;
        int r;

        g_assert_cmpint(fd, >=, 0);
        blocked_child_release(&b);
        r = waitid(P_PIDFD, (id_t) fd, &si, WEXITED);
        if (r < 0) {
                g_test_message("waitid(P_PIDFD): %s", g_strerror(errno));
                g_assert_cmpint(waitpid(b.pid, NULL, 0), ==, b.pid);
        }
        observed = r == 0 && si.si_pid == b.pid && si.si_code == CLD_EXITED && si.si_status == 42;
        errno = 0;
        g_assert_cmpint(waitpid(b.pid, NULL, WNOHANG), ==, -1);
        g_assert_cmpint(errno, ==, ECHILD);
        assert_agrees(FEATURE_WAITID_PIDFD, observed);
}

/* Take a pipe's write end out of another process and see data arrive. */
static void test_observe_pidfd_getfd(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF, fd = -EBADF;
        char buf[8] = {};
        bool observed = false;
        Blocked b;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        b = blocked_child_start(0);
        /* Only the child holds the write end now, at the same number. */
        int target = p[1];
        p[1] = safe_close(p[1]);

        pidfd = sys_pidfd_open(b.pid, 0);
        g_assert_cmpint(pidfd, >=, 0);
        fd = (int) syscall(__NR_pidfd_getfd, pidfd, target, 0U);
        if (fd >= 0) {
                g_assert_cmpint(write(fd, "hello", 5), ==, 5);
                observed = read(p[0], buf, sizeof(buf) - 1) == 5 && strcmp(buf, "hello") == 0;
        } else
                g_test_message("pidfd_getfd: %s", g_strerror(errno));
        (void) blocked_child_finish(&b);
        assert_agrees(FEATURE_PIDFD_GETFD, observed);
}

/* A non-blocking pidfd makes waitid() on a running child fail EAGAIN. */
static void test_observe_pidfd_nonblock(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        Blocked b = blocked_child_start(0);
        _cleanup_close_ int fd = sys_pidfd_open(b.pid, PIDFD_NONBLOCK);
        bool observed = false;

        if (fd >= 0) {
                siginfo_t si = {};
                int r = waitid(P_PIDFD, (id_t) fd, &si, WEXITED);

                observed = r < 0 && errno == EAGAIN && (fcntl(fd, F_GETFL) & O_NONBLOCK);
        }
        (void) blocked_child_finish(&b);
        assert_agrees(FEATURE_PIDFD_NONBLOCK, observed);
}

typedef struct ThreadData {
        pid_t tid;
        int ready[2];
        int release[2];
} ThreadData;

static void *thread_fn(void *userdata) {
        ThreadData *t = userdata;
        char c;

        t->tid = gettid();
        g_assert_cmpint(write(t->ready[1], "r", 1), ==, 1);
        while (read(t->release[0], &c, 1) < 0 && errno == EINTR)
                ;
        return NULL;
}

/* A thread pidfd names the thread (not the leader) in fdinfo and polls
 * readable when that thread exits; without the flag the tid is refused. */
static void test_observe_pidfd_thread(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        ThreadData t = {};
        _cleanup_close_ int fd = -EBADF, plain = -EBADF;
        bool observed = false;
        pthread_t thread;
        char c;
        int r;

        g_assert_cmpint(pipe2(t.ready, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(t.release, O_CLOEXEC), ==, 0);
        r = pthread_create(&thread, NULL, thread_fn, &t);
        if (r != 0) {
                /* A seccomp filter answering clone3 with EPERM does this. */
                g_autofree char *why = g_strdup_printf("pthread_create: %s", g_strerror(r));
                close_pairp(&t.ready);
                close_pairp(&t.release);
                g_test_skip(why);
                return;
        }
        g_assert_cmpint(read(t.ready[0], &c, 1), ==, 1);
        g_assert_cmpint(t.tid, !=, getpid());

        plain = sys_pidfd_open(t.tid, 0);
        g_assert_cmpint(plain, <, 0);
        fd = sys_pidfd_open(t.tid, PIDFD_THREAD);
        if (fd >= 0) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                observed = fdinfo_pid(fd) == t.tid && poll(&p, 1, 0) == 0;
                g_assert_cmpint(write(t.release[1], "x", 1), ==, 1);
                g_assert_cmpint(pthread_join(thread, NULL), ==, 0);
                observed = observed && poll(&p, 1, 5000) == 1 && (p.revents & POLLIN);
        } else {
                g_assert_cmpint(write(t.release[1], "x", 1), ==, 1);
                g_assert_cmpint(pthread_join(thread, NULL), ==, 0);
        }
        close_pairp(&t.ready);
        close_pairp(&t.release);
        assert_agrees(FEATURE_PIDFD_THREAD, observed);
}

static void sigalrm_nop(int sig) {
}

/* PIDFD_SIGNAL_PROCESS_GROUP reaches a grandchild in the target's process
 * group while the target itself ignores the signal; aimed at a process that
 * leads no group it is ESRCH (an unknown flag would be EINVAL). */
static void test_observe_pidfd_signal_scope(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int fd = -EBADF, other_fd = -EBADF;
        int r, r_other, errno_other, status;
        Blocked other;
        pid_t pid;
        char c;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                struct sigaction sa = { .sa_handler = sigalrm_nop };
                pid_t gc;
                int st;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                signal(SIGTERM, SIG_IGN);
                if (setpgid(0, 0) < 0)
                        _exit(3);
                gc = fork();
                if (gc < 0)
                        _exit(3);
                if (gc == 0) {
                        signal(SIGTERM, SIG_DFL);
                        if (write(p[1], "r", 1) != 1)
                                _exit(3);
                        for (;;)
                                pause();
                }
                /* No SA_RESTART: the alarm interrupts waitpid(). */
                sigaction(SIGALRM, &sa, NULL);
                alarm(10);
                if (waitpid(gc, &st, 0) != gc) {
                        kill(gc, SIGKILL);
                        (void) waitpid(gc, &st, 0);
                        _exit(2);
                }
                _exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? 0 : 1);
        }
        p[1] = safe_close(p[1]);
        g_assert_cmpint(read(p[0], &c, 1), ==, 1);

        fd = sys_pidfd_open(pid, 0);
        g_assert_cmpint(fd, >=, 0);
        r = sys_pidfd_send_signal(fd, SIGTERM, PIDFD_SIGNAL_PROCESS_GROUP);
        if (r < 0) {
                g_test_message("PIDFD_SIGNAL_PROCESS_GROUP: %s", g_strerror(errno));
                (void) kill(-pid, SIGKILL);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);

        other = blocked_child_start(0);
        other_fd = sys_pidfd_open(other.pid, 0);
        g_assert_cmpint(other_fd, >=, 0);
        r_other = sys_pidfd_send_signal(other_fd, 0, PIDFD_SIGNAL_PROCESS_GROUP);
        errno_other = errno;
        (void) blocked_child_finish(&other);

        assert_agrees(FEATURE_PIDFD_SIGNAL_SCOPE,
                      r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                      r_other < 0 && errno_other == ESRCH);
}

/* pidfs: one inode per process, so two pidfds of one process share st_ino
 * and another process has another (anon_inode pidfds all share one). */
static void test_observe_pidfs(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        Blocked a = blocked_child_start(0), b = blocked_child_start(0);
        _cleanup_close_ int a1 = sys_pidfd_open(a.pid, 0), a2 = sys_pidfd_open(a.pid, 0),
                            b1 = sys_pidfd_open(b.pid, 0);
        struct statfs sfs;

        g_assert_cmpint(a1, >=, 0);
        g_assert_cmpint(a2, >=, 0);
        g_assert_cmpint(b1, >=, 0);
        g_assert_cmpint(fstatfs(a1, &sfs), ==, 0);
        g_test_message("pidfd f_type 0x%lx", (unsigned long) sfs.f_type);
        assert_agrees(FEATURE_PIDFS, fd_inode(a1) == fd_inode(a2) && fd_inode(a1) != fd_inode(b1));
        (void) blocked_child_finish(&a);
        (void) blocked_child_finish(&b);
}

/* Read "Uid:" or "Gid:" (real, effective, saved, fs) from /proc/self/status. */
static void status_ids(const char *key, unsigned ids[4]) {
        g_autofree char *s = NULL;
        g_autofree char *needle = g_strdup_printf("\n%s", key);
        const char *p;

        g_assert_true(g_file_get_contents("/proc/self/status", &s, NULL, NULL));
        p = strstr(s, needle);
        g_assert_nonnull(p);
        g_assert_cmpint(sscanf(p + strlen(needle), "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]), ==, 4);
}

/* PIDFD_GET_INFO on our own pidfd agrees with getpid()/getppid() and with
 * the ids in /proc/self/status. */
static void test_observe_pidfd_get_info(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        _cleanup_close_ int fd = sys_pidfd_open(getpid(), 0);
        struct pb_pidfd_info info = { .mask = PIDFD_INFO_PID | PIDFD_INFO_CREDS };
        unsigned uids[4], gids[4];
        bool observed;
        int r;

        g_assert_cmpint(fd, >=, 0);
        status_ids("Uid:", uids);
        status_ids("Gid:", gids);
        r = ioctl(fd, PB_PIDFD_GET_INFO, &info);
        if (r < 0)
                g_test_message("PIDFD_GET_INFO: %s", g_strerror(errno));
        observed = r == 0 && (info.mask & PIDFD_INFO_PID) && (info.mask & PIDFD_INFO_CREDS) &&
                   info.pid == (uint32_t) getpid() && info.tgid == (uint32_t) getpid() &&
                   info.ppid == (uint32_t) getppid() &&
                   info.ruid == uids[0] && info.euid == uids[1] && info.suid == uids[2] && info.fsuid == uids[3] &&
                   info.rgid == gids[0] && info.egid == gids[1] && info.sgid == gids[2] && info.fsgid == gids[3] &&
                   info.ruid == getuid() && info.rgid == getgid();
        assert_agrees(FEATURE_PIDFD_GET_INFO, observed);
}

/* The struct is size-versioned from 64 bytes: a smaller one is refused with
 * ENOTTY even where the ioctl exists, which is why that ENOTTY must not be
 * read as "unsupported". */
static void test_get_info_small_struct(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_GET_INFO);
        _cleanup_close_ int fd = sys_pidfd_open(getpid(), 0);
        struct { uint64_t mask, cgroupid; uint32_t pid, tgid; } small = { .mask = PIDFD_INFO_PID };

        g_assert_cmpint(fd, >=, 0);
        errno = 0;
        g_assert_cmpint(ioctl(fd, _IOWR(PIDFS_IOCTL_MAGIC, 11, small), &small), ==, -1);
        g_assert_cmpint(errno, ==, ENOTTY);
        feature_reset();
        g_assert_true(feature_available(FEATURE_PIDFD_GET_INFO));
}

/* After the child is reaped with waitpid(), PIDFD_INFO_EXIT hands back the
 * very wait status waitpid() saw: for an exit and for a signal. */
static void test_observe_pidfd_info_exit(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        bool observed = true;

        for (int killed = 0; killed < 2; killed++) {
                Blocked b = blocked_child_start(42);
                _cleanup_close_ int fd = sys_pidfd_open(b.pid, 0);
                struct pb_pidfd_info info = { .mask = PIDFD_INFO_EXIT };
                int status, r;

                g_assert_cmpint(fd, >=, 0);
                if (killed) {
                        g_assert_cmpint(kill(b.pid, SIGKILL), ==, 0);
                        g_assert_cmpint(waitpid(b.pid, &status, 0), ==, b.pid);
                        b.release = safe_close(b.release);
                } else
                        status = blocked_child_finish(&b);
                g_assert_cmpint(fdinfo_pid(fd), ==, -1);

                r = ioctl(fd, PB_PIDFD_GET_INFO, &info);
                if (r < 0)
                        g_test_message("PIDFD_GET_INFO(EXIT) after reap: %s", g_strerror(errno));
                else
                        g_test_message("wait status 0x%x, exit_code 0x%x, mask 0x%llx", (unsigned) status,
                                       (unsigned) info.exit_code, (unsigned long long) info.mask);
                observed = observed && r == 0 && (info.mask & PIDFD_INFO_EXIT) && info.exit_code == status;
        }
        assert_agrees(FEATURE_PIDFD_INFO_EXIT, observed);
}

/* Every PIDFD_GET_*_NAMESPACE fd of a child that unshared its UTS namespace
 * has the inode of the child's /proc/<pid>/ns entry. */
static void test_observe_pidfd_namespace_ioctls(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF }, rel[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        bool observed = true;
        struct stat own_uts;
        pid_t pid;
        char c;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(rel, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWUTS) < 0)
                        _exit(3);
                if (write(p[1], "r", 1) != 1)
                        _exit(3);
                while (read(rel[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        g_assert_cmpint(read(p[0], &c, 1), ==, 1);
        pidfd = sys_pidfd_open(pid, 0);
        g_assert_cmpint(pidfd, >=, 0);

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                g_autofree char *path = g_strdup_printf("/proc/%d/ns/%s", pid, namespace_proc_name(t));
                _cleanup_close_ int nsfd = ioctl(pidfd, namespace_pidfd_ioctl(t), 0);
                struct stat st;

                if (stat(path, &st) < 0) {
                        /* A namespace type this kernel lacks: the ioctl must fail too. */
                        g_assert_cmpint(errno, ==, ENOENT);
                        g_assert_cmpint(nsfd, <, 0);
                        continue;
                }
                if (nsfd < 0)
                        g_test_message("PIDFD_GET_%s_NAMESPACE: %s", namespace_name(t), g_strerror(errno));
                observed = observed && nsfd >= 0 && fd_inode(nsfd) == (uint64_t) st.st_ino;
                if (t == NAMESPACE_UTS) {
                        g_assert_cmpint(stat("/proc/self/ns/uts", &own_uts), ==, 0);
                        g_assert_cmpuint(own_uts.st_ino, !=, st.st_ino);
                }
        }
        g_assert_cmpint(write(rel[1], "x", 1), ==, 1);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        assert_agrees(FEATURE_PIDFD_NAMESPACE_IOCTLS, observed);
}

/* A pidfs handle carries the pidfd's inode, reopens to a pidfd of the same
 * process with open_by_handle_at(), and goes stale after the reap. */
static void test_observe_pidfs_file_handles(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        Blocked b = blocked_child_start(0);
        _cleanup_close_ int pidfd = sys_pidfd_open(b.pid, 0), fd = -EBADF;
        union {
                struct file_handle fh;
                uint8_t space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
        } h = { .fh.handle_bytes = MAX_HANDLE_SZ };
        bool observed = false;
        uint64_t ino = 0;
        int mnt_id;

        g_assert_cmpint(pidfd, >=, 0);
        if (name_to_handle_at(pidfd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) == 0 &&
            h.fh.handle_type == PB_FILEID_PIDFS && h.fh.handle_bytes == sizeof(ino)) {
                memcpy(&ino, h.fh.f_handle, sizeof(ino));
                /* Any pidfd names the pidfs mount; FD_PIDFS_ROOT only since 6.17. */
                fd = open_by_handle_at(pidfd, &h.fh, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        g_test_message("open_by_handle_at: %s", g_strerror(errno));
                observed = ino == fd_inode(pidfd) && fd >= 0 && fd_inode(fd) == ino && fdinfo_pid(fd) == b.pid;
        }
        (void) blocked_child_finish(&b);
        if (observed) {
                errno = 0;
                g_assert_cmpint(open_by_handle_at(pidfd, &h.fh, O_RDONLY | O_CLOEXEC), ==, -1);
                g_assert_cmpint(errno, ==, ESTALE);
        }
        assert_agrees(FEATURE_PIDFS_FILE_HANDLES, observed);
}

/* On an accepted connection (the probe used a socketpair) the peer pidfd
 * names the connecting child, as SO_PEERCRED does. */
static void test_observe_so_peerpidfd(void) {
        _cleanup_close_ int listener = -EBADF, conn = -EBADF, pidfd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t salen = sizeof(sa), len;
        struct ucred cred = {};
        bool observed = false;
        pid_t pid;

        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(listener, >=, 0);
        /* Autobind: the kernel picks a unique abstract address. */
        g_assert_cmpint(bind(listener, (struct sockaddr *) &sa, sizeof(sa_family_t)), ==, 0);
        g_assert_cmpint(getsockname(listener, (struct sockaddr *) &sa, &salen), ==, 0);
        g_assert_cmpint(listen(listener, 1), ==, 0);

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                char c;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (s < 0 || connect(s, (struct sockaddr *) &sa, salen) < 0)
                        _exit(3);
                /* Stay alive until the parent hangs up. */
                while (read(s, &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }

        conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        g_assert_cmpint(conn, >=, 0);
        len = sizeof(cred);
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
                g_assert_cmpint(cred.pid, ==, pid);
        len = sizeof(pidfd);
        if (getsockopt(conn, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
                observed = pidfd >= 0 && fdinfo_pid(pidfd) == pid;
        else
                g_test_message("SO_PEERPIDFD: %s", g_strerror(errno));
        conn = safe_close(conn);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        assert_agrees(FEATURE_SO_PEERPIDFD, observed);
}

/* The cgroup2 mount point, from /proc/self/mountinfo (the probe only looks
 * at the two usual places). */
static char *find_cgroup2_mount(void) {
        g_autofree char *s = NULL;
        g_auto(GStrv) lines = NULL;

        g_assert_true(g_file_get_contents("/proc/self/mountinfo", &s, NULL, NULL));
        lines = g_strsplit(s, "\n", -1);
        for (char **l = lines; *l; l++) {
                const char *sep = strstr(*l, " - ");
                g_auto(GStrv) f = NULL;

                if (!sep || !g_str_has_prefix(sep, " - cgroup2 "))
                        continue;
                f = g_strsplit(*l, " ", 6);
                if (g_strv_length(f) >= 5)
                        return g_strdup(f[4]);
        }
        return NULL;
}

static char *own_cgroup2_path(void) {
        g_autofree char *s = NULL;
        g_auto(GStrv) lines = NULL;

        g_assert_true(g_file_get_contents("/proc/self/cgroup", &s, NULL, NULL));
        lines = g_strsplit(s, "\n", -1);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, "0::"))
                        return g_strdup(*l + 3);
        return NULL;
}

/* Clone into a fresh sub-cgroup: /proc/<pid>/cgroup and the new cgroup's
 * cgroup.procs both show the child there, from its first instruction. */
static void test_observe_clone_into_cgroup(void) {
        TEST_REQUIRE_ROOT();
        g_autofree char *mnt = find_cgroup2_mount(), *own = NULL, *rel = NULL, *dir = NULL;
        g_autofree char *procs_path = NULL, *procs = NULL, *cg_path = NULL, *cg = NULL, *want = NULL;
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        struct pb_clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
        _cleanup_close_ int cgfd = -EBADF;
        bool observed = false;
        pid_t pid;

        own = own_cgroup2_path();
        if (!mnt || !own) {
                /* Nowhere to clone into: the probe must say so too. */
                g_test_message("cgroup2 mount: %s, own cgroup2 path: %s", mnt ?: "none", own ?: "none");
                assert_agrees(FEATURE_CLONE_INTO_CGROUP, false);
                return;
        }
        rel = g_strdup_printf("%s%spidbroker-test-%d", own, g_str_has_suffix(own, "/") ? "" : "/", getpid());
        dir = g_strconcat(mnt, rel, NULL);
        g_test_message("cgroup2 at %s, test cgroup %s", mnt, dir);
        g_assert_cmpint(mkdir(dir, 0755), ==, 0);
        cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(cgfd, >=, 0);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);

        args.cgroup = (uint64_t) cgfd;
        pid = (pid_t) syscall(__NR_clone3, &args, (size_t) PB_CLONE_ARGS_SIZE_VER2);
        if (pid == 0) {
                char c;

                while (read(p[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        if (pid > 0) {
                g_auto(GStrv) lines = NULL;
                bool listed = false;

                cg_path = g_strdup_printf("/proc/%d/cgroup", pid);
                g_assert_true(g_file_get_contents(cg_path, &cg, NULL, NULL));
                want = g_strdup_printf("0::%s\n", rel);
                procs_path = g_strconcat(dir, "/cgroup.procs", NULL);
                g_assert_true(g_file_get_contents(procs_path, &procs, NULL, NULL));
                lines = g_strsplit(procs, "\n", -1);
                for (char **l = lines; *l; l++)
                        listed = listed || atoi(*l) == pid;
                observed = strstr(cg, want) != NULL && listed;

                g_assert_cmpint(write(p[1], "x", 1), ==, 1);
                g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        } else
                g_test_message("clone3(CLONE_INTO_CGROUP): %s", g_strerror(errno));

        cgfd = safe_close(cgfd);
        /* The cgroup empties with the reap; allow the kernel a moment. */
        for (int i = 0; rmdir(dir) < 0; i++) {
                g_assert_cmpint(errno, ==, EBUSY);
                g_assert_cmpint(i, <, 100);
                g_usleep(10 * 1000);
        }
        assert_agrees(FEATURE_CLONE_INTO_CGROUP, observed);
}

/* close_range() over three fds: each is gone by fcntl() and from
 * /proc/self/fd. */
static void test_observe_close_range(void) {
        _cleanup_close_ int src = open("/", O_PATH | O_CLOEXEC);
        int base = 900, r;
        bool observed = true;

        g_assert_cmpint(src, >=, 0);
        for (int i = 0; i < 3; i++) {
                errno = 0;
                g_assert_cmpint(fcntl(base + i, F_GETFD), ==, -1);
                g_assert_cmpint(errno, ==, EBADF);
                g_assert_cmpint(dup3(src, base + i, O_CLOEXEC), ==, base + i);
        }
        r = (int) syscall(__NR_close_range, (unsigned) base, (unsigned) base + 2, 0U);
        if (r < 0) {
                g_test_message("close_range: %s", g_strerror(errno));
                for (int i = 0; i < 3; i++)
                        close(base + i);
        }
        for (int i = 0; i < 3; i++) {
                g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", base + i);
                struct stat st;

                errno = 0;
                observed = observed && fcntl(base + i, F_GETFD) < 0 && errno == EBADF;
                observed = observed && lstat(path, &st) < 0 && errno == ENOENT;
        }
        assert_agrees(FEATURE_CLOSE_RANGE, observed && r == 0);
}

/* ---- seccomp: a filter installed after the probe, then feature_reset() ---- */

typedef struct BlockCase {
        const char *name;
        int nrs[4];
        size_t n_nrs;
        unsigned long clone_mask;
        int err;
        Feature blocked;
        Feature gone[3];    /* must also read missing */
        size_t n_gone;
        Feature kept[4];    /* must still read available */
        size_t n_kept;
        bool via_peerpidfd; /* kept ones get their pidfd of self this way */
} BlockCase;

static const BlockCase block_cases[] = {
        { "pidfd_open-ENOSYS", { __NR_pidfd_open }, 1, 0, ENOSYS, FEATURE_PIDFD_OPEN,
          { FEATURE_PIDFD_NONBLOCK, FEATURE_PIDFD_THREAD }, 2,
          { FEATURE_PIDFD_SEND_SIGNAL, FEATURE_PIDFS, FEATURE_PIDFD_GET_INFO, FEATURE_WAITID_PIDFD }, 4, true },
        { "pidfd_open-EPERM", { __NR_pidfd_open }, 1, 0, EPERM, FEATURE_PIDFD_OPEN,
          { FEATURE_PIDFD_NONBLOCK, FEATURE_PIDFD_THREAD }, 2,
          { FEATURE_PIDFD_SEND_SIGNAL, FEATURE_PIDFS, FEATURE_PIDFD_GET_INFO, FEATURE_WAITID_PIDFD }, 4, true },
        { "clone3-ENOSYS", { __NR_clone3 }, 1, 0, ENOSYS, FEATURE_CLONE3,
          { FEATURE_CLONE_INTO_CGROUP }, 1,
          { FEATURE_CLONE_PIDFD, FEATURE_WAITID_PIDFD, FEATURE_PIDFD_INFO_EXIT, FEATURE_PIDFD_OPEN }, 4 },
        { "clone3-EPERM", { __NR_clone3 }, 1, 0, EPERM, FEATURE_CLONE3,
          { FEATURE_CLONE_INTO_CGROUP }, 1,
          { FEATURE_CLONE_PIDFD, FEATURE_WAITID_PIDFD, FEATURE_PIDFD_INFO_EXIT, FEATURE_PIDFD_OPEN }, 4 },
        { "clone-CLONE_PIDFD-EPERM", { 0 }, 0, CLONE_PIDFD, EPERM, FEATURE_CLONE_PIDFD,
          {}, 0,
          { FEATURE_CLONE3, FEATURE_WAITID_PIDFD }, 2 },
        /* No way at all to a child's pidfd: waitid_pidfd still answers
         * through its bad-fd fallback, and pidfs through SO_PEERPIDFD. */
        { "every-child-pidfd-ENOSYS", { __NR_pidfd_open, __NR_clone3 }, 2, CLONE_PIDFD, ENOSYS,
          FEATURE_PIDFD_OPEN, { FEATURE_CLONE3, FEATURE_CLONE_PIDFD, FEATURE_PIDFD_INFO_EXIT }, 3,
          { FEATURE_WAITID_PIDFD, FEATURE_PIDFD_SEND_SIGNAL, FEATURE_PIDFS }, 3, true },
};

/* Runs in a forked child; the exit code says which step failed. */
static int block_and_reprobe(void *userdata) {
        const BlockCase *c = userdata;
        unsigned fds;

        feature_reset();
        if (!feature_available(c->blocked))
                return 10;
        if (test_block_syscalls(c->nrs, c->n_nrs, c->err, c->clone_mask) < 0)
                return 11;
        /* Cached: the filter is not seen until the cache is dropped. */
        if (!feature_available(c->blocked))
                return 12;

        feature_reset();
        fds = test_count_open_fds();
        feature_probe_all();
        if (test_count_open_fds() != fds)
                return 13;
        if (feature_available(c->blocked))
                return 14;
        if (!strstr(feature_detail(c->blocked), strerrorname_np(c->err)))
                return 15;
        for (size_t i = 0; i < c->n_gone; i++)
                if (feature_available(c->gone[i]))
                        return 20 + (int) i;
        for (size_t i = 0; i < c->n_kept; i++)
                if (!feature_available(c->kept[i]))
                        return 30 + (int) i;
        return 0;
}

static void test_seccomp_block(gconstpointer data) {
        const BlockCase *c = data;
        int status;

        /* What the filter should take away, and what it should leave, must
         * be there to begin with. */
        TEST_REQUIRE_FEATURE(c->blocked);
        for (size_t i = 0; i < c->n_gone; i++)
                TEST_REQUIRE_FEATURE(c->gone[i]);
        for (size_t i = 0; i < c->n_kept; i++)
                TEST_REQUIRE_FEATURE(c->kept[i]);
        if (c->via_peerpidfd)
                TEST_REQUIRE_FEATURE(FEATURE_SO_PEERPIDFD);

        status = test_run_in_child(block_and_reprobe, (void *) c);
        g_assert_cmpint(status, >=, 0);
        g_assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
                g_test_message("%s: child failed at step %d", c->name, WEXITSTATUS(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* ---- seccomp matrix: each primitive missing, ENOSYS and EPERM ----------- */

static const int missing_errnos[] = { ENOSYS, EPERM };

typedef struct MissingRun {
        const TestMissingCase *c;
        int err;
} MissingRun;

static MissingRun missing_runs[TEST_N_MISSING_CASES * G_N_ELEMENTS(missing_errnos)];

/* In a forked child: block, probe everything afresh, and check the feature
 * reads missing with the errno named, no fd is left open and no child of
 * the probes is left unreaped (wait4() is never blocked here). */
static int block_one_and_probe(void *userdata) {
        const MissingRun *m = userdata;
        const TestMissingCase *c = m->c;
        unsigned fds;
        pid_t left;

        TEST_CHILD_CHECK_R(test_block_missing(c, m->err), 0);

        feature_reset();
        fds = test_count_open_fds();
        feature_probe_all();
        test_child_info("%s under %s: %s", feature_name(c->feature), strerrorname_np(m->err),
                        feature_detail(c->feature));
        TEST_CHILD_CHECK(!feature_available(c->feature));
        TEST_CHILD_CHECK(strstr(feature_detail(c->feature), strerrorname_np(m->err)));
        TEST_CHILD_CHECK(test_count_open_fds() == fds);

        left = wait4(-1, NULL, WNOHANG | __WALL, NULL);
        if (left != -1 || errno != ECHILD)
                return test_child_fail("the probes left a child behind (wait4 gave %d, %s)", left,
                                       left < 0 ? strerror(errno) : "a zombie or a live child");
        return 0;
}

static void test_seccomp_missing(gconstpointer data) {
        const MissingRun *m = data;
        feature_reset();
        TEST_REQUIRE_FEATURE(m->c->feature);
        test_run_in_child_checked(m->c->name, block_one_and_probe, (void *) m);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/feature/names", test_names);
        g_test_add_func("/feature/errno-is-not-supported", test_errno_is_not_supported);
        g_test_add_func("/feature/probe-all-is-clean", test_probe_all_is_clean);
        g_test_add_func("/feature/mark-missing", test_mark_missing);
        g_test_add_func("/feature/get-info-small-struct", test_get_info_small_struct);

        g_test_add_func("/feature/observe/pidfd_open", test_observe_pidfd_open);
        g_test_add_func("/feature/observe/pidfd_send_signal", test_observe_pidfd_send_signal);
        g_test_add_func("/feature/observe/clone3", test_observe_clone3);
        g_test_add_func("/feature/observe/clone_pidfd", test_observe_clone_pidfd);
        g_test_add_func("/feature/observe/waitid_pidfd", test_observe_waitid_pidfd);
        g_test_add_func("/feature/observe/pidfd_getfd", test_observe_pidfd_getfd);
        g_test_add_func("/feature/observe/pidfd_nonblock", test_observe_pidfd_nonblock);
        g_test_add_func("/feature/observe/pidfd_thread", test_observe_pidfd_thread);
        g_test_add_func("/feature/observe/pidfd_signal_scope", test_observe_pidfd_signal_scope);
        g_test_add_func("/feature/observe/pidfs", test_observe_pidfs);
        g_test_add_func("/feature/observe/pidfd_get_info", test_observe_pidfd_get_info);
        g_test_add_func("/feature/observe/pidfd_info_exit", test_observe_pidfd_info_exit);
        g_test_add_func("/feature/observe/pidfd_namespace_ioctls", test_observe_pidfd_namespace_ioctls);
        g_test_add_func("/feature/observe/pidfs_file_handles", test_observe_pidfs_file_handles);
        g_test_add_func("/feature/observe/so_peerpidfd", test_observe_so_peerpidfd);
        g_test_add_func("/feature/observe/clone_into_cgroup", test_observe_clone_into_cgroup);
        g_test_add_func("/feature/observe/close_range", test_observe_close_range);

        for (size_t i = 0; i < G_N_ELEMENTS(block_cases); i++) {
                g_autofree char *path = g_strdup_printf("/feature/seccomp/%s", block_cases[i].name);
                g_test_add_data_func(path, &block_cases[i], test_seccomp_block);
        }

        for (size_t i = 0; i < TEST_N_MISSING_CASES; i++)
                for (size_t j = 0; j < G_N_ELEMENTS(missing_errnos); j++) {
                        MissingRun *m = &missing_runs[i * G_N_ELEMENTS(missing_errnos) + j];
                        g_autofree char *path = NULL;

                        *m = (MissingRun) { &test_missing_cases[i], missing_errnos[j] };
                        path = g_strdup_printf("/feature/seccomp-missing/%s/%s", test_missing_cases[i].name,
                                               strerrorname_np(missing_errnos[j]));
                        g_test_add_data_func(path, m, test_seccomp_missing);
                }

        return g_test_run();
}
