/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The process handle (process.h) against the real kernel, no mocks: taking
 * handles, identity, signals and their scopes, waiting, information, exit
 * status, namespaces, and the reason pidbroker exists: a handle whose
 * process is gone never signals the process that got its pid next. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "legacy.h"
#include "macro.h"
#include "missing-pidfd.h"
#include "namespace.h"
#include "process.h"
#include "test-util.h"

/* How long to wait for a child's report: long enough for a loaded CI
 * machine, and never reached when things work. */
#define REPORT_TIMEOUT_MS 10000

/* Sent last to a signal recorder to prove nothing reached it before: the
 * kernel hands out the lowest pending signal first, and every signal these
 * tests send is below SIGWINCH (28), so if the marker is the first record
 * after the ready one, nothing else arrived. */
#define MARKER_SIGNAL SIGWINCH

#define NOBODY 65534

/* --- Children for the parent-side tests ---------------------------------- */

static pid_t fork_child(void) {
        pid_t parent = getpid(), pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        g_assert_no_errno(pid);
        if (pid == 0) {
                /* Never outlive a test process that died on an assertion. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(120);
        }
        return pid;
}

/* Extra step a blocker runs before it reports ready: 0 or an exit code. */
typedef int (*BlockerSetup)(void);

#define BLOCKER_READY_FAILED 121

/* A child that runs setup, reports ready, and blocks until *ret_release is
 * closed; then it exits with exit_code. Its default signal dispositions are
 * untouched, so SIGTERM kills it. */
static void spawn_blocker(Process *ret, int *ret_release, BlockerSetup setup, int exit_code) {
        _cleanup_close_pair_ int release[2] = { -EBADF, -EBADF }, ready[2] = { -EBADF, -EBADF };
        ssize_t n;
        pid_t pid;
        char c;

        g_assert_no_errno(pipe2(release, O_CLOEXEC));
        g_assert_no_errno(pipe2(ready, O_CLOEXEC));

        pid = fork_child();
        if (pid == 0) {
                int r;

                release[1] = safe_close(release[1]);
                ready[0] = safe_close(ready[0]);
                if (setup) {
                        r = setup();
                        if (r != 0)
                                _exit(r);
                }
                if (write(ready[1], "R", 1) != 1)
                        _exit(BLOCKER_READY_FAILED);
                do
                        n = read(release[0], &c, 1);
                while (n < 0 && errno == EINTR);
                _exit(exit_code);
        }

        /* An unreaped child's pid cannot be reused: pinning it now is safe. */
        g_assert_cmpint(process_from_pid(ret, pid, CONTROL_PATH_AUTO), ==, 0);
        ready[1] = safe_close(ready[1]);
        do
                n = read(ready[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) {
                int status;

                g_assert_no_errno(waitpid(pid, &status, 0));
                g_error("blocker child failed before it was ready: wait status 0x%x", (unsigned) status);
        }
        *ret_release = TAKE_FD(release[1]);
}

/* Wait for the blocker to exit, and reap it. */
static void reap(const Process *p, siginfo_t *ret) {
        siginfo_t si = {};

        g_assert_cmpint(process_wait(p, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_pid, ==, p->pid);
        if (ret)
                *ret = si;
}

static void assert_exited(const siginfo_t *si, int code) {
        g_assert_cmpint(si->si_signo, ==, SIGCHLD);
        g_assert_cmpint(si->si_code, ==, CLD_EXITED);
        g_assert_cmpint(si->si_status, ==, code);
}

static void assert_killed(const siginfo_t *si, int sig) {
        g_assert_cmpint(si->si_signo, ==, SIGCHLD);
        g_assert_cmpint(si->si_code, ==, CLD_KILLED);
        g_assert_cmpint(si->si_status, ==, sig);
}

static int recorder_main(void *userdata) {
        return test_signal_recorder(*(int *) userdata);
}

/* A child running test_signal_recorder(); *ret_report reads its records.
 * Returns once its signals are blocked. */
static void spawn_recorder(Process *ret, int *ret_report) {
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        TestSignalRecord rec;
        pid_t pid;

        g_assert_no_errno(pipe2(report, O_CLOEXEC));
        pid = fork_child();
        if (pid == 0)
                _exit(recorder_main(&report[1]));
        report[1] = safe_close(report[1]);

        g_assert_cmpint(process_from_pid(ret, pid, CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), ==, 0);
        g_assert_cmpint(rec.sig, ==, 0);
        g_assert_cmpint(rec.pid, ==, pid);
        *ret_report = TAKE_FD(report[0]);
}

static void expect_record(int report_fd, pid_t pid, pid_t tid, int sig) {
        TestSignalRecord rec;

        g_assert_cmpint(test_signal_record_read(report_fd, REPORT_TIMEOUT_MS, &rec), ==, 0);
        g_assert_cmpint(rec.sig, ==, sig);
        g_assert_cmpint(rec.pid, ==, pid);
        if (tid > 0)
                g_assert_cmpint(rec.tid, ==, tid);
}

/* Nothing reached the recorder since the last record read. */
static void expect_nothing_received(const Process *p, int report_fd) {
        g_assert_cmpint(process_signal(p, MARKER_SIGNAL, 0), ==, 0);
        expect_record(report_fd, p->pid, 0, MARKER_SIGNAL);
}

/* End a recorder with SIGTERM (recorded) and reap it. */
static void stop_recorder(const Process *p, int report_fd) {
        siginfo_t si;

        g_assert_cmpint(process_signal(p, SIGTERM, 0), ==, 0);
        expect_record(report_fd, p->pid, p->pid, SIGTERM);
        reap(p, &si);
        assert_exited(&si, 0);
}

/* The pidfd-only checks that say a handle names pid through a pidfd. */
static void assert_pidfd_handle(const Process *p, pid_t pid) {
        struct statfs sfs;
        struct stat st;
        uint64_t id = 0;
        pid_t fdpid = 0;
        int flags;

        g_assert_cmpint(p->pid, ==, pid);
        g_assert_cmpint(p->fd, >=, 0);
        g_assert_false(process_is_legacy(p));
        g_assert_cmpstr(process_control_path(p), ==, "pidfd");

        /* A pidfd: a pidfs file whose fdinfo names pid. */
        g_assert_no_errno(fstatfs(p->fd, &sfs));
        g_assert_cmphex((unsigned long) sfs.f_type, ==, PIDFS_MAGIC);
        g_assert_cmpint(pidfd_get_pid(p->fd, &fdpid), ==, 0);
        g_assert_cmpint(fdpid, ==, pid);

        /* The identity is the pidfs inode. */
        g_assert_no_errno(fstat(p->fd, &st));
        g_assert_cmpuint(p->id, !=, 0);
        g_assert_cmpuint(p->id, ==, (uint64_t) st.st_ino);
        g_assert_cmpint(pidfd_get_id(p->fd, &id), ==, 0);
        g_assert_cmpuint(id, ==, p->id);

        /* A daemon's handles must not leak into what it spawns. */
        flags = fcntl(p->fd, F_GETFD);
        g_assert_no_errno(flags);
        g_assert_true(flags & FD_CLOEXEC);
}

static void assert_fd_closed(int fd) {
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
        g_assert_cmpint(errno, ==, EBADF);
}

static int sys_pidfd_open(pid_t pid, unsigned flags) {
        return (int) syscall(__NR_pidfd_open, pid, flags);
}

/* --- Taking handles ------------------------------------------------------ */

static void test_from_pid_self(void) {
        _cleanup_process_ Process p = PROCESS_NULL;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        g_assert_cmpint(process_from_pid(&p, getpid(), CONTROL_PATH_AUTO), ==, 0);
        assert_pidfd_handle(&p, getpid());
        g_assert_cmpint(process_check_alive(&p), ==, 0);
}

static void test_from_pid_child(void) {
        _cleanup_process_ Process self = PROCESS_NULL, p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        spawn_blocker(&p, &release, NULL, 0);
        assert_pidfd_handle(&p, p.pid);
        g_assert_cmpint(process_from_pid(&self, getpid(), CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpuint(p.id, !=, self.id);

        release = safe_close(release);
        reap(&p, &si);
        assert_exited(&si, 0);
}

typedef struct ThreadData {
        int ready[2];   /* the thread writes its tid */
        int release[2]; /* closing [1] ends the thread */
} ThreadData;

static void *thread_report_tid(void *userdata) {
        ThreadData *t = userdata;
        pid_t tid = gettid();
        char c;

        if (write(t->ready[1], &tid, sizeof(tid)) != sizeof(tid))
                return NULL;
        while (read(t->release[0], &c, 1) < 0 && errno == EINTR)
                ;
        return NULL;
}

static void test_from_pid_thread(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        ThreadData t;
        pthread_t thread;
        pid_t tid = 0;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        g_assert_no_errno(pipe2(t.ready, O_CLOEXEC));
        g_assert_no_errno(pipe2(t.release, O_CLOEXEC));
        g_assert_cmpint(pthread_create(&thread, NULL, thread_report_tid, &t), ==, 0);
        g_assert_cmpint(read(t.ready[0], &tid, sizeof(tid)), ==, sizeof(tid));
        g_assert_cmpint(tid, !=, getpid());

        /* A live thread, but no thread-group leader: not a process. */
        g_assert_cmpint(process_from_pid(&p, tid, CONTROL_PATH_AUTO), ==, -ESRCH);
        g_assert_false(process_is_set(&p));

        close(t.release[1]);
        g_assert_cmpint(pthread_join(thread, NULL), ==, 0);
        close(t.release[0]);
        close(t.ready[0]);
        close(t.ready[1]);
}

static void test_from_pid_nonexistent(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        g_autofree char *text = NULL;
        long pid_max;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        /* pids are below pid_max: pid_max itself never names a process. */
        g_assert_true(g_file_get_contents("/proc/sys/kernel/pid_max", &text, NULL, NULL));
        pid_max = strtol(text, NULL, 10);
        g_assert_cmpint(pid_max, >, 300);

        g_assert_cmpint(process_from_pid(&p, (pid_t) pid_max, CONTROL_PATH_AUTO), ==, -ESRCH);
        g_assert_false(process_is_set(&p));
        g_assert_cmpint(process_from_pid(&p, 0, CONTROL_PATH_AUTO), <, 0);
        g_assert_cmpint(process_from_pid(&p, -1, CONTROL_PATH_AUTO), <, 0);
}

static void test_from_pidfd(void) {
        _cleanup_process_ Process p = PROCESS_NULL, q = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        int fd, pipefd[2], efd, procfd;
        char path[64];
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        spawn_blocker(&q, &release, NULL, 0);

        /* Ownership moves in: same fd number, closed with the handle. */
        fd = sys_pidfd_open(q.pid, 0);
        g_assert_no_errno(fd);
        g_assert_cmpint(process_from_pidfd(&p, fd), ==, 0);
        g_assert_cmpint(p.fd, ==, fd);
        assert_pidfd_handle(&p, q.pid);
        g_assert_true(process_same(&p, &q));
        process_done(&p);
        assert_fd_closed(fd);

        /* Not a pidfd: refused, and closed all the same. */
        g_assert_no_errno(pipe2(pipefd, O_CLOEXEC));
        g_assert_cmpint(process_from_pidfd(&p, pipefd[0]), ==, -EBADF);
        assert_fd_closed(pipefd[0]);
        g_assert_cmpint(process_from_pidfd(&p, pipefd[1]), ==, -EBADF);
        assert_fd_closed(pipefd[1]);

        efd = eventfd(0, EFD_CLOEXEC);
        g_assert_no_errno(efd);
        g_assert_cmpint(process_from_pidfd(&p, efd), ==, -EBADF);
        assert_fd_closed(efd);

        /* The pre-pidfd way to hold a process: a /proc/<pid> directory. */
        snprintf(path, sizeof(path), "/proc/%d", (int) q.pid);
        procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_no_errno(procfd);
        g_assert_cmpint(process_from_pidfd(&p, procfd), ==, -EBADF);
        assert_fd_closed(procfd);

        g_assert_cmpint(process_from_pidfd(&p, -EBADF), ==, -EBADF);
        g_assert_false(process_is_set(&p));

        /* A pidfd whose process was reaped names nobody: -ESRCH, closed. */
        fd = sys_pidfd_open(q.pid, 0);
        g_assert_no_errno(fd);
        release = safe_close(release);
        reap(&q, &si);
        assert_exited(&si, 0);
        g_assert_cmpint(process_from_pidfd(&p, fd), ==, -ESRCH);
        assert_fd_closed(fd);
        g_assert_false(process_is_set(&p));
}

/* Borrowed: the handle is the caller's fd itself, which stays the caller's. */
static void test_borrow_pidfd(void) {
        _cleanup_process_ Process q = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF, fd = -EBADF, efd = -EBADF;
        Process p = PROCESS_NULL;
        unsigned nfds;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        spawn_blocker(&q, &release, NULL, 0);
        fd = sys_pidfd_open(q.pid, 0);
        g_assert_no_errno(fd);
        nfds = test_count_open_fds();
        g_assert_cmpint(process_borrow_pidfd(&p, fd), ==, 0);
        g_assert_cmpint(p.fd, ==, fd);
        g_assert_cmpint(p.pid, ==, q.pid);
        g_assert_cmpuint(p.id, ==, q.id);
        g_assert_true(process_same(&p, &q));
        g_assert_cmpuint(test_count_open_fds(), ==, nfds);

        /* Not a pidfd: refused, nothing closed, nothing opened. */
        efd = eventfd(0, EFD_CLOEXEC);
        g_assert_no_errno(efd);
        nfds = test_count_open_fds();
        g_assert_cmpint(process_borrow_pidfd(&p, efd), ==, -EBADF);
        g_assert_no_errno(fcntl(efd, F_GETFD));
        g_assert_cmpuint(test_count_open_fds(), ==, nfds);
        g_assert_cmpint(process_borrow_pidfd(&p, -EBADF), ==, -EBADF);

        release = safe_close(release);
        reap(&q, &si);
        assert_exited(&si, 0);
        /* Reaped: nothing left to name. */
        g_assert_cmpint(process_borrow_pidfd(&p, fd), ==, -ESRCH);
        g_assert_no_errno(fcntl(fd, F_GETFD));
}

static void test_from_pidfd_dup(void) {
        _cleanup_process_ Process p = PROCESS_NULL, q = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF, fd = -EBADF;
        _cleanup_close_pair_ int pipefd[2] = { -EBADF, -EBADF };
        unsigned nfds;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        spawn_blocker(&q, &release, NULL, 0);
        fd = sys_pidfd_open(q.pid, 0);
        g_assert_no_errno(fd);

        /* The handle gets its own fd; the caller's stays open and usable. */
        g_assert_cmpint(process_from_pidfd_dup(&p, fd), ==, 0);
        g_assert_cmpint(p.fd, !=, fd);
        assert_pidfd_handle(&p, q.pid);
        g_assert_true(process_same(&p, &q));
        process_done(&p);
        g_assert_no_errno(fcntl(fd, F_GETFD));
        g_assert_cmpint(process_from_pidfd_dup(&p, fd), ==, 0);
        g_assert_true(process_same(&p, &q));

        /* Not a pidfd: refused, the caller's fd left alone, nothing leaked. */
        process_done(&p);
        g_assert_no_errno(pipe2(pipefd, O_CLOEXEC));
        nfds = test_count_open_fds();
        g_assert_cmpint(process_from_pidfd_dup(&p, pipefd[0]), ==, -EBADF);
        g_assert_no_errno(fcntl(pipefd[0], F_GETFD));
        g_assert_cmpuint(test_count_open_fds(), ==, nfds);
        g_assert_cmpint(process_from_pidfd_dup(&p, -EBADF), ==, -EBADF);

        release = safe_close(release);
        reap(&q, &si);
        assert_exited(&si, 0);
}

static void test_same(void) {
        _cleanup_process_ Process a = PROCESS_NULL, b = PROCESS_NULL, c = PROCESS_NULL, child = PROCESS_NULL;
        Process null = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        /* Two pidfds of one process: different fds, one identity. */
        g_assert_cmpint(process_from_pid(&a, getpid(), CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(process_from_pid(&b, getpid(), CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(a.fd, !=, b.fd);
        g_assert_true(process_same(&a, &b));
        g_assert_true(process_same(&b, &a));
        g_assert_true(process_same(&a, &a));

        g_assert_cmpint(process_copy(&c, &a), ==, 0);
        g_assert_cmpint(c.fd, !=, a.fd);
        g_assert_cmpint(c.pid, ==, a.pid);
        g_assert_cmpuint(c.id, ==, a.id);
        g_assert_true(process_same(&a, &c));
        /* The copy owns its fd: it outlives the original. */
        process_done(&a);
        g_assert_true(process_same(&b, &c));
        g_assert_cmpint(process_check_alive(&c), ==, 0);

        spawn_blocker(&child, &release, NULL, 0);
        g_assert_false(process_same(&b, &child));
        g_assert_false(process_same(&child, &b));
        g_assert_false(process_same(&b, &null));
        g_assert_false(process_same(&null, &null));

        release = safe_close(release);
        reap(&child, &si);
}

/* --- Signals ------------------------------------------------------------- */

static void test_signal_delivers(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);

        spawn_recorder(&p, &report);
        g_assert_cmpint(process_signal(&p, SIGUSR1, 0), ==, 0);
        expect_record(report, p.pid, p.pid, SIGUSR1);
        g_assert_cmpint(process_signal(&p, SIGHUP, 0), ==, 0);
        expect_record(report, p.pid, p.pid, SIGHUP);
        /* A real-time signal, the highest there is. */
        g_assert_cmpint(process_signal(&p, SIGRTMAX, 0), ==, 0);
        expect_record(report, p.pid, p.pid, SIGRTMAX);
        stop_recorder(&p, report);
}

static void test_signal_zero(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);

        spawn_recorder(&p, &report);
        g_assert_cmpint(process_signal(&p, 0, 0), ==, 0);
        g_assert_cmpint(process_check_alive(&p), ==, 0);
        /* Signal 0 checks, and delivers nothing. */
        expect_nothing_received(&p, report);
        stop_recorder(&p, report);
}

static void test_signal_invalid(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;
        const unsigned bad_flags[] = {
                PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP,
                PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_PROCESS_GROUP,
                PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP,
                PB_PIDFD_SIGNAL_SCOPES,
                1u << 5,
                1u << 31,
        };

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SIGNAL_SCOPE);

        spawn_recorder(&p, &report);

        g_assert_cmpint(process_signal(&p, -1, 0), ==, -EINVAL);
        g_assert_cmpint(process_signal(&p, _NSIG, 0), ==, -EINVAL);
        g_assert_cmpint(process_signal(&p, 1000, 0), ==, -EINVAL);
        for (size_t i = 0; i < G_N_ELEMENTS(bad_flags); i++)
                g_assert_cmpint(process_signal(&p, SIGUSR1, bad_flags[i]), ==, -EINVAL);

        /* The kernel agrees that two scopes are one too many. */
        g_assert_cmpint(syscall(__NR_pidfd_send_signal, p.fd, SIGUSR1, NULL,
                                PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP),
                        ==, -1);
        g_assert_cmpint(errno, ==, EINVAL);

        expect_nothing_received(&p, report);
        stop_recorder(&p, report);
}

/* A process group of two: the child leads it, its own child is a member.
 * Both record signals into one pipe. */
static void test_signal_process_group(void) {
        _cleanup_process_ Process leader = PROCESS_NULL, member = PROCESS_NULL;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        TestSignalRecord rec;
        pid_t pid, member_pid = 0;
        bool got_leader = false, got_member = false;
        siginfo_t si;
        int status;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SIGNAL_SCOPE);

        g_assert_no_errno(pipe2(report, O_CLOEXEC));
        pid = fork_child();
        if (pid == 0) {
                pid_t gc;

                if (setpgid(0, 0) < 0)
                        _exit(2);
                gc = fork();
                if (gc < 0)
                        _exit(3);
                if (gc == 0) {
                        /* Dies with the leader, whatever happens. */
                        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                                _exit(4);
                        _exit(recorder_main(&report[1]));
                }
                _exit(recorder_main(&report[1]));
        }
        report[1] = safe_close(report[1]);
        g_assert_cmpint(process_from_pid(&leader, pid, CONTROL_PATH_AUTO), ==, 0);

        for (int i = 0; i < 2; i++) {
                g_assert_cmpint(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), ==, 0);
                g_assert_cmpint(rec.sig, ==, 0);
                if (rec.pid != pid)
                        member_pid = rec.pid;
        }
        g_assert_cmpint(member_pid, >, 0);
        g_assert_cmpint(getpgid(pid), ==, pid);
        g_assert_cmpint(getpgid(member_pid), ==, pid);
        g_assert_cmpint(process_from_pid(&member, member_pid, CONTROL_PATH_AUTO), ==, 0);

        /* One signal through the leader's pidfd reaches the whole group. */
        g_assert_cmpint(process_signal(&leader, SIGUSR1, PIDFD_SIGNAL_PROCESS_GROUP), ==, 0);
        for (int i = 0; i < 2; i++) {
                g_assert_cmpint(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), ==, 0);
                g_assert_cmpint(rec.sig, ==, SIGUSR1);
                if (rec.pid == pid)
                        got_leader = true;
                else if (rec.pid == member_pid)
                        got_member = true;
        }
        g_assert_true(got_leader);
        g_assert_true(got_member);

        /* The member leads no group of its own: nobody to signal. */
        g_assert_cmpint(process_signal(&member, SIGUSR2, PIDFD_SIGNAL_PROCESS_GROUP), ==, -ESRCH);

        /* Without a scope, only the leader: its marker comes alone, then the
         * member's marker proves the member got nothing in between. */
        g_assert_cmpint(process_signal(&leader, MARKER_SIGNAL, 0), ==, 0);
        expect_record(report[0], pid, pid, MARKER_SIGNAL);
        g_assert_cmpint(process_signal(&member, MARKER_SIGNAL, 0), ==, 0);
        expect_record(report[0], member_pid, member_pid, MARKER_SIGNAL);

        g_assert_cmpint(process_signal(&leader, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP), ==, 0);
        reap(&leader, &si);
        assert_killed(&si, SIGKILL);
        /* The member was reparented to us (main() made us a subreaper). */
        g_assert_cmpint(waitpid(member_pid, &status, 0), ==, member_pid);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
}

/* Which signals wait in a thread's own pending set (SigPnd) and in the
 * process's shared one (ShdPnd), from /proc/<pid>/task/<tid>/status. */
static void read_pending(pid_t pid, pid_t tid, uint64_t *ret_thread, uint64_t *ret_shared) {
        g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/status", (int) pid, (int) tid);
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;
        unsigned found = 0;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                unsigned long long v;

                if (sscanf(*l, "SigPnd: %llx", &v) == 1) {
                        *ret_thread = v;
                        found |= 1;
                } else if (sscanf(*l, "ShdPnd: %llx", &v) == 1) {
                        *ret_shared = v;
                        found |= 2;
                }
        }
        g_assert_cmpuint(found, ==, 3);
}

#define SIGBIT(s) (1ULL << ((s) - 1))

static void *recorder_thread(void *userdata) {
        (void) test_signal_recorder(*(int *) userdata);
        return NULL;
}

/* The child's main thread (the leader) blocks every signal without waiting
 * for any; a second thread records. A thread-group signal goes to the
 * thread that can take it; a PIDFD_SIGNAL_THREAD one stays with the leader. */
static void test_signal_thread(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF }, release[2] = { -EBADF, -EBADF };
        TestSignalRecord rec;
        uint64_t thread_pending = 0, shared_pending = 0;
        pid_t pid, tid;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SIGNAL_SCOPE);

        g_assert_no_errno(pipe2(report, O_CLOEXEC));
        g_assert_no_errno(pipe2(release, O_CLOEXEC));
        pid = fork_child();
        if (pid == 0) {
                pthread_t t;
                sigset_t all;
                char c;

                release[1] = safe_close(release[1]);
                sigfillset(&all);
                if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
                        _exit(2);
                if (pthread_create(&t, NULL, recorder_thread, &report[1]) != 0)
                        _exit(3);
                while (read(release[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        report[1] = safe_close(report[1]);
        release[0] = safe_close(release[0]);
        g_assert_cmpint(process_from_pid(&p, pid, CONTROL_PATH_AUTO), ==, 0);

        g_assert_cmpint(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), ==, 0);
        g_assert_cmpint(rec.sig, ==, 0);
        g_assert_cmpint(rec.pid, ==, pid);
        tid = rec.tid;
        g_assert_cmpint(tid, !=, pid);

        /* To the leader thread alone: pending there, not process-wide, and
         * the recording thread cannot take it. */
        g_assert_cmpint(process_signal(&p, SIGUSR1, PIDFD_SIGNAL_THREAD), ==, 0);
        read_pending(pid, pid, &thread_pending, &shared_pending);
        g_assert_cmphex(thread_pending & SIGBIT(SIGUSR1), ==, SIGBIT(SIGUSR1));
        g_assert_cmphex(shared_pending & SIGBIT(SIGUSR1), ==, 0);

        /* To the thread group: the recording thread takes it. That this is
         * the first record also says SIGUSR1 never reached that thread. */
        g_assert_cmpint(process_signal(&p, SIGUSR2, PIDFD_SIGNAL_THREAD_GROUP), ==, 0);
        expect_record(report[0], pid, tid, SIGUSR2);
        /* No scope on a process pidfd means the thread group. */
        g_assert_cmpint(process_signal(&p, SIGHUP, 0), ==, 0);
        expect_record(report[0], pid, tid, SIGHUP);

        read_pending(pid, pid, &thread_pending, &shared_pending);
        g_assert_cmphex(thread_pending & SIGBIT(SIGUSR1), ==, SIGBIT(SIGUSR1));

        release[1] = safe_close(release[1]);
        reap(&p, &si);
        assert_exited(&si, 0);
}

static void test_signal_after_reap(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);

        spawn_recorder(&p, &report);
        stop_recorder(&p, report);

        g_assert_cmpint(process_signal(&p, SIGTERM, 0), ==, -ESRCH);
        g_assert_cmpint(process_signal(&p, 0, 0), ==, -ESRCH);
        g_assert_cmpint(process_check_alive(&p), ==, -ESRCH);
}

/* process.h: "0 while the pidfd names a live process, -ESRCH once it has
 * exited". An exited child nobody has reaped yet (a zombie) has exited. */
static void test_check_alive_zombie(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        struct pollfd pfd;
        siginfo_t si;
        int r;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        spawn_blocker(&p, &release, NULL, 0);
        g_assert_cmpint(process_check_alive(&p), ==, 0);
        release = safe_close(release);
        /* Exited, left waitable. */
        g_assert_cmpint(process_wait(&p, WNOWAIT, &si), ==, 0);
        assert_exited(&si, 0);
        pfd = (struct pollfd) { .fd = p.fd, .events = POLLIN };
        g_assert_cmpint(poll(&pfd, 1, 0), ==, 1);

        /* Signal 0 still succeeds on a zombie, so it alone cannot say this.
         * Reported without aborting, so the tests after this one still run. */
        r = process_check_alive(&p);
        if (r != -ESRCH)
                g_test_fail_printf("process_check_alive() on an exited, unreaped child returned %d (%s), "
                                   "expected -ESRCH", r, r < 0 ? g_strerror(-r) : "alive");

        reap(&p, &si);
        g_assert_cmpint(process_check_alive(&p), ==, -ESRCH);
}

/* --- comm ---------------------------------------------------------------- */

static int rename_comm(void) {
        return prctl(PR_SET_NAME, "renamed-blocker") < 0 ? 2 : 0;
}

/* The comm fd is read again and again: it follows a rename, and once the
 * process is reaped it says so, never describing whoever gets the pid. */
static void test_comm_fd(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF, fd = -EBADF;
        char comm[PROCESS_COMM_MAX], again[PROCESS_COMM_MAX];
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        spawn_blocker(&p, &release, rename_comm, 0);
        fd = process_open_comm(&p);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(process_read_comm_fd(fd, comm), ==, 0);
        g_assert_cmpstr(comm, ==, "renamed-blocker");
        g_assert_cmpint(process_get_comm(&p, again), ==, 0);
        g_assert_cmpstr(again, ==, comm);
        /* Read twice from the same fd: the same answer. */
        g_assert_cmpint(process_read_comm_fd(fd, again), ==, 0);
        g_assert_cmpstr(again, ==, comm);
        /* With the user namespace, as the pidfd's ioctl names it. */
        uint64_t userns = 0, ioctl_userns = 0;
        g_assert_cmpint(process_get_comm_userns(&p, again, &userns), ==, 0);
        g_assert_cmpstr(again, ==, comm);
        g_assert_cmpint(process_namespace_id(&p, NAMESPACE_USER, &ioctl_userns), ==, 0);
        g_assert_cmpuint(userns, ==, ioctl_userns);
        g_assert_cmpuint(userns, !=, 0);

        release = safe_close(release);
        reap(&p, &si);
        assert_exited(&si, 0);
        g_assert_cmpint(process_read_comm_fd(fd, comm), ==, -ESRCH);
        g_assert_cmpint(process_open_comm(&p), ==, -ESRCH);
        g_assert_cmpint(process_get_comm_userns(&p, comm, &userns), ==, -ESRCH);
}

/* --- Waiting ------------------------------------------------------------- */

static void test_wait_exit_code(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        siginfo_t si = {};

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_WAITID_PIDFD);

        spawn_blocker(&p, &release, NULL, 3);
        g_assert_cmpint(process_wait(&p, WNOHANG, &si), ==, -EAGAIN);
        g_assert_cmpint(process_wait(&p, WEXITED | WNOHANG | WNOWAIT, &si), ==, -EAGAIN);
        g_assert_cmpint(process_wait(&p, WSTOPPED, &si), ==, -EINVAL);

        release = safe_close(release);

        /* WNOWAIT reads the status and leaves it for the next wait. */
        g_assert_cmpint(process_wait(&p, WNOWAIT, &si), ==, 0);
        g_assert_cmpint(si.si_pid, ==, p.pid);
        assert_exited(&si, 3);
        memset(&si, 0, sizeof(si));
        g_assert_cmpint(process_wait(&p, WNOHANG | WNOWAIT, &si), ==, 0);
        assert_exited(&si, 3);

        memset(&si, 0, sizeof(si));
        g_assert_cmpint(process_wait(&p, WNOHANG, &si), ==, 0);
        g_assert_cmpint(si.si_pid, ==, p.pid);
        assert_exited(&si, 3);

        /* Reaped: nothing left to wait for. */
        g_assert_cmpint(process_wait(&p, WNOHANG, &si), ==, -ECHILD);
}

static void test_wait_killed(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        siginfo_t si = {};

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_WAITID_PIDFD);

        spawn_blocker(&p, &release, NULL, 0);
        g_assert_cmpint(process_signal(&p, SIGTERM, 0), ==, 0);
        g_assert_cmpint(process_wait(&p, 0, &si), ==, 0);
        g_assert_cmpint(si.si_pid, ==, p.pid);
        assert_killed(&si, SIGTERM);
}

static void assert_wait_not_child(pid_t pid) {
        _cleanup_process_ Process p = PROCESS_NULL;
        siginfo_t si;

        g_assert_cmpint(process_from_pid(&p, pid, CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(process_wait(&p, WNOHANG, &si), ==, -ECHILD);
        g_assert_cmpint(process_wait(&p, WNOHANG | WNOWAIT, &si), ==, -ECHILD);
}

static void test_wait_not_child(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_WAITID_PIDFD);

        assert_wait_not_child(getppid());
        assert_wait_not_child(getpid());
        if (getppid() != 1)
                assert_wait_not_child(1);
}

/* --- Information and exit status ----------------------------------------- */

static void test_info_self(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        ProcessInfo info;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_GET_INFO);

        g_assert_cmpint(process_from_pid(&p, getpid(), CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(process_get_info(&p, &info), ==, 0);
        g_assert_cmpint(info.source, ==, PROCESS_INFO_PIDFD_IOCTL);
        g_assert_cmpint(info.pid, ==, getpid());
        g_assert_cmpint(info.ppid, ==, getppid());
        g_assert_cmpuint(info.ruid, ==, getuid());
        g_assert_cmpuint(info.euid, ==, geteuid());
        g_assert_cmpuint(info.rgid, ==, getgid());
        g_assert_cmpuint(info.egid, ==, getegid());
        g_test_message("cgroup id %" G_GUINT64_FORMAT, info.cgroup_id);
}

static int become_nobody(void) {
        if (setgroups(0, NULL) < 0)
                return 2;
        if (setresgid(NOBODY, NOBODY, NOBODY) < 0)
                return 3;
        if (setresuid(NOBODY, NOBODY, NOBODY) < 0)
                return 4;
        return 0;
}

static void test_info_child_nobody(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        ProcessInfo info;
        siginfo_t si;

        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_GET_INFO);

        spawn_blocker(&p, &release, become_nobody, 0);
        g_assert_cmpint(process_get_info(&p, &info), ==, 0);
        g_assert_cmpint(info.source, ==, PROCESS_INFO_PIDFD_IOCTL);
        g_assert_cmpint(info.pid, ==, p.pid);
        g_assert_cmpint(info.ppid, ==, getpid());
        g_assert_cmpuint(info.ruid, ==, NOBODY);
        g_assert_cmpuint(info.euid, ==, NOBODY);
        g_assert_cmpuint(info.rgid, ==, NOBODY);
        g_assert_cmpuint(info.egid, ==, NOBODY);

        release = safe_close(release);
        reap(&p, &si);
        assert_exited(&si, 0);

        /* Reaped: nothing to describe, and nobody else described instead. */
        g_assert_cmpint(process_get_info(&p, &info), ==, -ESRCH);
}

/* A caller with limits of its own: nofile 64:64, nproc 200:300, nice 5,
 * oom_score_adj 300 (all lowered or raised the way no privilege needs). */
static int set_caller_limits(void) {
        struct rlimit nofile = { 64, 64 }, nproc = { 200, 300 };
        int fd;

        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_NPROC, &nproc) < 0)
                return 5;
        if (setpriority(PRIO_PROCESS, 0, 5) < 0)
                return 6;
        fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "300", 3) != 3)
                return 7;
        close(fd);
        return 0;
}

static int set_caller_limits_nobody(void) {
        int r = set_caller_limits();
        return r != 0 ? r : become_nobody();
}

static void assert_caller_limits(BlockerSetup setup) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        struct rlimit l[RLIMIT_NLIMITS], own;
        int nice, adj;
        siginfo_t si;

        spawn_blocker(&p, &release, setup, 0);
        g_assert_cmpint(process_get_rlimits(&p, l), ==, 0);
        g_assert_cmpuint(l[RLIMIT_NOFILE].rlim_cur, ==, 64);
        g_assert_cmpuint(l[RLIMIT_NOFILE].rlim_max, ==, 64);
        g_assert_cmpuint(l[RLIMIT_NPROC].rlim_cur, ==, 200);
        g_assert_cmpuint(l[RLIMIT_NPROC].rlim_max, ==, 300);
        /* Every other limit is ours, inherited: the whole table is read. */
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                if (i == RLIMIT_NOFILE || i == RLIMIT_NPROC)
                        continue;
                g_assert_no_errno(getrlimit((enum __rlimit_resource) i, &own));
                g_assert_cmpuint(l[i].rlim_cur, ==, own.rlim_cur);
                g_assert_cmpuint(l[i].rlim_max, ==, own.rlim_max);
        }
        g_assert_cmpint(process_get_nice(&p, &nice), ==, 0);
        g_assert_cmpint(nice, ==, 5);
        g_assert_cmpint(process_get_oom_score_adj(&p, &adj), ==, 0);
        g_assert_cmpint(adj, ==, 300);

        release = safe_close(release);
        reap(&p, &si);
        assert_exited(&si, 0);
        /* Reaped: the pid may name someone else now, and is never read. */
        g_assert_cmpint(process_get_rlimits(&p, l), ==, -ESRCH);
        g_assert_cmpint(process_get_nice(&p, &nice), ==, -ESRCH);
        g_assert_cmpint(process_get_oom_score_adj(&p, &adj), ==, -ESRCH);
}

/* Same uid: prlimit(2) answers. */
static void test_caller_limits(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        assert_caller_limits(set_caller_limits);
}

/* Another uid, without CAP_SYS_RESOURCE: prlimit(2) says EPERM and
 * /proc/<pid>/limits answers instead. */
static void test_caller_limits_nobody(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        assert_caller_limits(set_caller_limits_nobody);
}

static void test_exit_status_code(void) {
        _cleanup_process_ Process p = PROCESS_NULL, copy = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        int status = -1, r;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_INFO_EXIT);

        spawn_blocker(&p, &release, NULL, 7);
        g_assert_cmpint(process_get_exit_status(&p, &status), ==, -ENODATA);
        /* A handle taken before the reap, as a client holds one. */
        g_assert_cmpint(process_copy(&copy, &p), ==, 0);

        release = safe_close(release);
        g_assert_cmpint(process_wait(&p, WNOWAIT, &si), ==, 0);
        r = process_get_exit_status(&p, &status);
        g_test_message("exited, not reaped: process_get_exit_status() = %d (%s)", r, r < 0 ? g_strerror(-r) : "ok");

        reap(&p, &si);
        assert_exited(&si, 7);
        g_assert_cmpint(process_get_exit_status(&p, &status), ==, 0);
        g_assert_cmpint(status, ==, 7 << 8);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 7);
        status = -1;
        g_assert_cmpint(process_get_exit_status(&copy, &status), ==, 0);
        g_assert_cmpint(status, ==, 7 << 8);
}

static void test_exit_status_signal(void) {
        _cleanup_process_ Process p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        int status = -1;
        siginfo_t si;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_INFO_EXIT);

        spawn_blocker(&p, &release, NULL, 0);
        g_assert_cmpint(process_get_exit_status(&p, &status), ==, -ENODATA);
        g_assert_cmpint(process_signal(&p, SIGTERM, 0), ==, 0);
        reap(&p, &si);
        assert_killed(&si, SIGTERM);

        g_assert_cmpint(process_get_exit_status(&p, &status), ==, 0);
        g_assert_cmpint(status, ==, SIGTERM);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGTERM);
}

/* --- Namespaces ---------------------------------------------------------- */

/* Spelled out here rather than taken from namespace.c, so a wrong table
 * there shows up as a mismatch. */
static const char *const ns_proc_names[_NAMESPACE_MAX] = {
        [NAMESPACE_USER] = "user", [NAMESPACE_PID] = "pid",  [NAMESPACE_MOUNT] = "mnt",
        [NAMESPACE_NET] = "net",   [NAMESPACE_IPC] = "ipc",  [NAMESPACE_UTS] = "uts",
        [NAMESPACE_CGROUP] = "cgroup", [NAMESPACE_TIME] = "time",
};

static uint64_t proc_ns_id(const char *pid, NamespaceType t) {
        g_autofree char *path = g_strdup_printf("/proc/%s/ns/%s", pid, ns_proc_names[t]);
        struct stat st;

        g_assert_no_errno(stat(path, &st));
        return (uint64_t) st.st_ino;
}

static void test_namespace_self(void) {
        _cleanup_process_ Process p = PROCESS_NULL;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_NAMESPACE_IOCTLS);

        g_assert_cmpint(process_from_pid(&p, getpid(), CONTROL_PATH_AUTO), ==, 0);
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                uint64_t id = 0;

                g_assert_cmpint(process_namespace_id(&p, t, &id), ==, 0);
                g_assert_cmpuint(id, !=, 0);
                g_assert_cmpuint(id, ==, proc_ns_id("self", t));
        }
        g_assert_cmpint(process_namespace_id(&p, _NAMESPACE_MAX, &(uint64_t) { 0 }), ==, -EINVAL);
}

static int unshare_net_uts(void) {
        return unshare(CLONE_NEWNET | CLONE_NEWUTS) < 0 ? 2 : 0;
}

static void test_namespace_child(void) {
        _cleanup_process_ Process self = PROCESS_NULL, p = PROCESS_NULL;
        _cleanup_close_ int release = -EBADF;
        char pid[32];
        siginfo_t si;

        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_NAMESPACE_IOCTLS);

        g_assert_cmpint(process_from_pid(&self, getpid(), CONTROL_PATH_AUTO), ==, 0);
        spawn_blocker(&p, &release, unshare_net_uts, 0);
        snprintf(pid, sizeof(pid), "%d", (int) p.pid);

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                uint64_t mine = 0, theirs = 0;
                bool unshared = t == NAMESPACE_NET || t == NAMESPACE_UTS;

                g_assert_cmpint(process_namespace_id(&self, t, &mine), ==, 0);
                g_assert_cmpint(process_namespace_id(&p, t, &theirs), ==, 0);
                g_assert_cmpuint(theirs, ==, proc_ns_id(pid, t));
                if (unshared)
                        g_assert_cmpuint(theirs, !=, mine);
                else
                        g_assert_cmpuint(theirs, ==, mine);
        }

        release = safe_close(release);
        reap(&p, &si);
        assert_exited(&si, 0);
        g_assert_cmpint(process_namespace_id(&p, NAMESPACE_NET, &(uint64_t) { 0 }), ==, -ESRCH);
}

/* --- PID reuse ------------------------------------------------------------ */

/* Runs as pid 1 of a pid namespace with pid_max 400. */
static int pid_reuse_in_namespace(void *userdata) {
        _cleanup_process_ Process victim = PROCESS_NULL, stranger = PROCESS_NULL, stale = PROCESS_NULL;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        TestSignalRecord rec;
        unsigned forks = 0;
        pid_t victim_pid, stranger_pid, fdpid;
        int pidfd = -EBADF, status = -1;
        siginfo_t si = {};

        TEST_CHILD_CHECK(getpid() == 1);
        TEST_CHILD_CHECK(pipe2(report, O_CLOEXEC) == 0);

        /* The victim's pidfd comes from clone3 itself: no window in which
         * the pid names anyone else. */
        victim_pid = test_clone_reusable_victim(&pidfd);
        TEST_CHILD_CHECK(victim_pid > 0);
        TEST_CHILD_CHECK_R(process_from_pidfd(&victim, pidfd), 0);
        TEST_CHILD_CHECK(victim.pid == victim_pid);

        /* Reap through the pidfd, and keep the handle: it is stale now. */
        TEST_CHILD_CHECK_R(process_wait(&victim, WEXITED, &si), 0);
        TEST_CHILD_CHECK(si.si_pid == victim_pid && si.si_code == CLD_EXITED && si.si_status == 0);

        stranger_pid = test_fork_until_pid(victim_pid, TEST_PID_REUSE_MAX_FORKS, recorder_main, &report[1], &forks);
        if (stranger_pid == -EBUSY)
                return test_child_fail("pid %d did not come back within %u forks", (int) victim_pid,
                                  TEST_PID_REUSE_MAX_FORKS);
        TEST_CHILD_CHECK_R(stranger_pid, victim_pid);
        test_child_info("pid %d came back after %u forks", (int) victim_pid, forks);
        report[1] = safe_close(report[1]);
        TEST_CHILD_CHECK_R(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), 0);
        TEST_CHILD_CHECK(rec.sig == 0 && rec.pid == stranger_pid);

        /* What pidbroker exists for: the stale handle fails, and the signal
         * goes nowhere, although its pid names a live process. */
        TEST_CHILD_CHECK_R(process_signal(&victim, SIGTERM, 0), -ESRCH);
        TEST_CHILD_CHECK_R(process_signal(&victim, SIGKILL, 0), -ESRCH);
        TEST_CHILD_CHECK_R(process_check_alive(&victim), -ESRCH);
        TEST_CHILD_CHECK(victim.pid == stranger_pid);

        /* Nor can the stale pidfd be turned into a handle of the stranger. */
        TEST_CHILD_CHECK_R(pidfd_get_pid(victim.fd, &fdpid), -ESRCH);
        TEST_CHILD_CHECK_R(process_from_pidfd_dup(&stale, victim.fd), -ESRCH);
        TEST_CHILD_CHECK_R(process_get_info(&victim, &(ProcessInfo) {}), -ESRCH);
        TEST_CHILD_CHECK_R(process_wait(&victim, WNOHANG, &si), -ECHILD);
        /* What it can still tell: how its own process ended. */
        if (feature_available(FEATURE_PIDFD_INFO_EXIT)) {
                TEST_CHILD_CHECK_R(process_get_exit_status(&victim, &status), 0);
                TEST_CHILD_CHECK(status == 0);
        }

        /* The stranger: a different process, alive, and untouched. */
        TEST_CHILD_CHECK_R(process_from_pid(&stranger, stranger_pid, CONTROL_PATH_AUTO), 0);
        TEST_CHILD_CHECK(stranger.id != victim.id);
        TEST_CHILD_CHECK(!process_same(&victim, &stranger));
        TEST_CHILD_CHECK_R(process_check_alive(&stranger), 0);
        TEST_CHILD_CHECK_R(process_signal(&stranger, MARKER_SIGNAL, 0), 0);
        TEST_CHILD_CHECK_R(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), 0);
        if (rec.sig != MARKER_SIGNAL)
                return test_child_fail("the stranger received signal %d (%s) through the stale handle",
                                  rec.sig, strsignal(rec.sig));
        TEST_CHILD_CHECK_R(process_check_alive(&stranger), 0);
        return 0;
}

/* The process that takes the victim's pid: it exits, but stays unreaped,
 * holding the pid. */
static int stranger_exits(void *userdata) {
        return 0;
}

/* A stored pidfs handle of a reaped process never opens the process that
 * reuses its pid, by handle or by pid: it is "lost". */
static int handle_reuse_in_namespace(void *userdata) {
        _cleanup_process_ Process victim = PROCESS_NULL, live = PROCESS_NULL, again = PROCESS_NULL,
                                  wrong = PROCESS_NULL;
        PidfsHandle h, live_h;
        unsigned forks = 0;
        pid_t victim_pid, stranger_pid;
        int pidfd = -EBADF;
        siginfo_t si = {};

        TEST_CHILD_CHECK(getpid() == 1);

        /* A live process: its handle and its pid both lead back to it. */
        TEST_CHILD_CHECK_R(process_from_pid(&live, getpid(), CONTROL_PATH_AUTO), 0);
        TEST_CHILD_CHECK_R(process_get_pidfs_handle(&live, &live_h), 0);
        TEST_CHILD_CHECK(live_h.size == 8);
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&again, &live_h, live.pid, live.id), 0);
        TEST_CHILD_CHECK(again.id == live.id && again.pid == live.pid);
        process_done(&again);
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&again, NULL, live.pid, live.id), 0);
        TEST_CHILD_CHECK(again.id == live.id);
        process_done(&again);
        /* The right handle with a wrong id proves nothing. */
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&again, &live_h, live.pid, live.id + 1), -ESRCH);

        victim_pid = test_clone_reusable_victim(&pidfd);
        TEST_CHILD_CHECK(victim_pid > 0);
        TEST_CHILD_CHECK_R(process_from_pidfd(&victim, pidfd), 0);
        TEST_CHILD_CHECK_R(process_get_pidfs_handle(&victim, &h), 0);
        /* Exited, not yet reaped: still the one process. */
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&again, &h, victim_pid, victim.id), 0);
        TEST_CHILD_CHECK(again.id == victim.id);
        process_done(&again);

        TEST_CHILD_CHECK_R(process_wait(&victim, WEXITED, &si), 0);
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&wrong, &h, victim_pid, victim.id), -ESRCH);

        stranger_pid = test_fork_until_pid(victim_pid, TEST_PID_REUSE_MAX_FORKS, stranger_exits, NULL, &forks);
        if (stranger_pid == -EBUSY)
                return test_child_fail("pid %d did not come back within %u forks", (int) victim_pid,
                                       TEST_PID_REUSE_MAX_FORKS);
        TEST_CHILD_CHECK_R(stranger_pid, victim_pid);
        test_child_info("pid %d came back after %u forks", (int) victim_pid, forks);

        /* The pid names a process again, and neither path takes it. */
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&wrong, &h, victim_pid, victim.id), -ESRCH);
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&wrong, NULL, victim_pid, victim.id), -ESRCH);
        TEST_CHILD_CHECK_R(process_from_pid_checked(&wrong, victim_pid, victim.id), -ESRCH);
        TEST_CHILD_CHECK(wrong.fd < 0);

        /* Malformed records are refused, not tried. */
        PidfsHandle bad = h;
        bad.size = PIDFS_HANDLE_MAX + 1;
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&wrong, &bad, victim_pid, victim.id), -EINVAL);
        bad = h;
        bad.type = 1;
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&wrong, &bad, victim_pid, victim.id), -EINVAL);
        TEST_CHILD_CHECK_R(process_from_pidfs_handle(&wrong, &h, victim_pid, 0), -EINVAL);
        return 0;
}

static void test_handle_reuse(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE3);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS_FILE_HANDLES);

        test_run_in_pid_namespace_checked("pidfs handle after pid reuse", handle_reuse_in_namespace, NULL);
}

static void test_pid_reuse(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);
        TEST_REQUIRE_FEATURE(FEATURE_WAITID_PIDFD);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE3);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_PIDFD);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFS);

        test_run_in_pid_namespace_checked("pid reuse", pid_reuse_in_namespace, NULL);
}

/* Without pidfd_send_signal and waitid(P_PIDFD) (blocked as seccomp does,
 * with errno), our own child is still signalled (kill(), result 1) and
 * reaped (waitid(P_PID)); another parent's process is not signalled. */
static int child_fallbacks(void *userdata) {
        int err = GPOINTER_TO_INT(userdata);
        _cleanup_process_ Process child = PROCESS_NULL, parent = PROCESS_NULL;
        siginfo_t si = {};
        pid_t pid;

        TEST_CHILD_CHECK(test_block_syscalls((const int[]) { SYS_pidfd_send_signal }, 1, err, 0) == 0);
        TEST_CHILD_CHECK(test_block_syscall_arg(SYS_waitid, 0, P_PIDFD, err) == 0);
        feature_reset();
        feature_probe_all();
        TEST_CHILD_CHECK(!feature_available(FEATURE_PIDFD_SEND_SIGNAL));
        TEST_CHILD_CHECK(!feature_available(FEATURE_WAITID_PIDFD));

        pid = fork();
        if (pid == 0) {
                for (;;)
                        pause();
        }
        TEST_CHILD_CHECK(pid > 0);
        TEST_CHILD_CHECK_R(process_from_pid(&child, pid, CONTROL_PATH_AUTO), 0);
        TEST_CHILD_CHECK(!process_is_legacy(&child));
        TEST_CHILD_CHECK_R(process_check_alive(&child), 0);
        TEST_CHILD_CHECK_R(process_wait(&child, WEXITED | WNOHANG, &si), -EAGAIN);
        TEST_CHILD_CHECK_R(process_signal(&child, SIGTERM, 0), 1);
        TEST_CHILD_CHECK_R(process_wait(&child, WEXITED, &si), 0);
        TEST_CHILD_CHECK(si.si_pid == pid && si.si_code == CLD_KILLED && si.si_status == SIGTERM);
        /* Reaped: nothing more reaches that pid through the handle. */
        TEST_CHILD_CHECK_R(process_signal(&child, SIGTERM, 0), -ESRCH);

        /* Not our child: no kill() by pid. */
        TEST_CHILD_CHECK_R(process_from_pid(&parent, getppid(), CONTROL_PATH_AUTO), 0);
        TEST_CHILD_CHECK_R(process_signal(&parent, 0, 0), -EOPNOTSUPP);
        TEST_CHILD_CHECK_R(process_wait(&parent, WEXITED | WNOHANG, &si), -ECHILD);
        return 0;
}

static void test_fallbacks_enosys(void) {
        /* The fallbacks are for a child pinned by pidfd_open(). */
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        test_run_in_child_checked("fallbacks under ENOSYS", child_fallbacks, GINT_TO_POINTER(ENOSYS));
}

static void test_fallbacks_eperm(void) {
        /* The fallbacks are for a child pinned by pidfd_open(). */
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        test_run_in_child_checked("fallbacks under EPERM", child_fallbacks, GINT_TO_POINTER(EPERM));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        /* Grandchildren whose parent dies come back to us to be reaped. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                g_error("PR_SET_CHILD_SUBREAPER: %s", g_strerror(errno));

        g_test_add_func("/process/from-pid/self", test_from_pid_self);
        g_test_add_func("/process/from-pid/child", test_from_pid_child);
        g_test_add_func("/process/from-pid/thread", test_from_pid_thread);
        g_test_add_func("/process/from-pid/nonexistent", test_from_pid_nonexistent);
        g_test_add_func("/process/from-pidfd/owns", test_from_pidfd);
        g_test_add_func("/process/from-pidfd/dup", test_from_pidfd_dup);
        g_test_add_func("/process/from-pidfd/borrow", test_borrow_pidfd);
        g_test_add_func("/process/same", test_same);
        g_test_add_func("/process/signal/delivers", test_signal_delivers);
        g_test_add_func("/process/signal/zero", test_signal_zero);
        g_test_add_func("/process/signal/invalid", test_signal_invalid);
        g_test_add_func("/process/signal/process-group", test_signal_process_group);
        g_test_add_func("/process/signal/thread", test_signal_thread);
        g_test_add_func("/process/signal/after-reap", test_signal_after_reap);
        g_test_add_func("/process/wait/exit-code", test_wait_exit_code);
        g_test_add_func("/process/wait/killed", test_wait_killed);
        g_test_add_func("/process/wait/not-child", test_wait_not_child);
        g_test_add_func("/process/info/self", test_info_self);
        g_test_add_func("/process/info/child-nobody", test_info_child_nobody);
        g_test_add_func("/process/caller-limits/same-user", test_caller_limits);
        g_test_add_func("/process/caller-limits/other-user", test_caller_limits_nobody);
        g_test_add_func("/process/exit-status/code", test_exit_status_code);
        g_test_add_func("/process/exit-status/signal", test_exit_status_signal);
        g_test_add_func("/process/namespace/self", test_namespace_self);
        g_test_add_func("/process/namespace/child", test_namespace_child);
        g_test_add_func("/process/pid-reuse", test_pid_reuse);
        g_test_add_func("/process/pidfs-handle/pid-reuse", test_handle_reuse);
        /* Last: it fails against the current process.c (see the test), and a
         * failure ends the run; the others should have run by then. */
        g_test_add_func("/process/check-alive/zombie", test_check_alive_zombie);
        g_test_add_func("/process/comm-fd", test_comm_fd);
        g_test_add_func("/process/fallbacks/ENOSYS", test_fallbacks_enosys);
        g_test_add_func("/process/fallbacks/EPERM", test_fallbacks_eperm);

        return g_test_run();
}
