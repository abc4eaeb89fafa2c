/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The legacy PID path (legacy.h): ControlPath names, ControlPath=pidfd
 * refusing bare pids, legacy handles, and, for contrast with test-process's
 * /process/pid-reuse, the bug the path keeps around: once a pid has been
 * reused, a bare pid names whoever got it next, and the signal meant for the
 * dead process lands on that stranger. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "feature.h"
#include "legacy.h"
#include "macro.h"
#include "missing-pidfd.h"
#include "process.h"
#include "test-util.h"

#define REPORT_TIMEOUT_MS 10000

/* Above every signal these tests send: the kernel hands out the lowest
 * pending signal first, so a marker that comes first means nothing else
 * came (see test-process.c). */
#define MARKER_SIGNAL SIGWINCH


/* --- Children for the parent-side tests ---------------------------------- */

static int recorder_main(void *userdata) {
        return test_signal_recorder(*(int *) userdata);
}

/* A child running test_signal_recorder(), pinned by a pidfd handle. Returns
 * once the child's signals are blocked. */
static void spawn_recorder(Process *ret, int *ret_report) {
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        TestSignalRecord rec;
        pid_t parent = getpid(), pid;

        g_assert_no_errno(pipe2(report, O_CLOEXEC));
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        g_assert_no_errno(pid);
        if (pid == 0) {
                /* Never outlive a test process that died on an assertion. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(120);
                _exit(recorder_main(&report[1]));
        }
        report[1] = safe_close(report[1]);

        g_assert_cmpint(process_from_pid(ret, pid, CONTROL_PATH_AUTO), ==, 0);
        g_assert_false(process_is_legacy(ret));

        g_assert_cmpint(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), ==, 0);
        g_assert_cmpint(rec.sig, ==, 0);
        g_assert_cmpint(rec.pid, ==, pid);
        *ret_report = TAKE_FD(report[0]);
}

static void expect_record(int report_fd, pid_t pid, int sig) {
        TestSignalRecord rec;

        g_assert_cmpint(test_signal_record_read(report_fd, REPORT_TIMEOUT_MS, &rec), ==, 0);
        g_assert_cmpint(rec.sig, ==, sig);
        g_assert_cmpint(rec.pid, ==, pid);
}

/* Nothing reached the recorder since the last record read. */
static void expect_nothing_received(const Process *p, int report_fd) {
        g_assert_cmpint(process_signal(p, MARKER_SIGNAL, 0), ==, 0);
        expect_record(report_fd, p->pid, MARKER_SIGNAL);
}

static void assert_exited(const siginfo_t *si, pid_t pid, int code) {
        g_assert_cmpint(si->si_pid, ==, pid);
        g_assert_cmpint(si->si_signo, ==, SIGCHLD);
        g_assert_cmpint(si->si_code, ==, CLD_EXITED);
        g_assert_cmpint(si->si_status, ==, code);
}

static pid_t read_pid_max(void) {
        g_autofree char *text = NULL;
        long v;

        g_assert_true(g_file_get_contents("/proc/sys/kernel/pid_max", &text, NULL, NULL));
        v = strtol(text, NULL, 10);
        g_assert_cmpint(v, >, 300);
        return (pid_t) v;
}

/* --- ControlPath ---------------------------------------------------------- */

static void test_control_path_strings(void) {
        static const char *const names[_CONTROL_PATH_MAX] = {
                [CONTROL_PATH_AUTO] = "auto",
                [CONTROL_PATH_PIDFD] = "pidfd",
                [CONTROL_PATH_LEGACY] = "legacy",
        };
        static const char *const bad[] = {
                "", "Auto", "PIDFD", "pidfd ", " legacy", "legacy_pid", "pid", "0", "bogus",
        };

        for (ControlPath c = 0; c < _CONTROL_PATH_MAX; c++) {
                g_assert_cmpstr(control_path_to_string(c), ==, names[c]);
                g_assert_cmpint(control_path_from_string(names[c]), ==, c);
                g_assert_cmpint(control_path_from_string(control_path_to_string(c)), ==, c);
        }
        g_assert_null(control_path_to_string(_CONTROL_PATH_MAX));
        g_assert_null(control_path_to_string((ControlPath) -1));

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                g_assert_cmpint(control_path_from_string(bad[i]), ==, -EINVAL);
        g_assert_cmpint(control_path_from_string(NULL), ==, -EINVAL);

        for (ControlPath c = 0; c < _CONTROL_PATH_MAX; c++)
                g_assert_cmpint(control_path_allows_legacy(c), ==, c != CONTROL_PATH_PIDFD);
}

/* The default: pidfds where the kernel has them, and the legacy adapter
 * still there for whoever asks for it by name. */
static void test_control_path_auto(void) {
        _cleanup_process_ Process p = PROCESS_NULL, l = PROCESS_NULL, rec = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;
        siginfo_t si = {};

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        g_assert_cmpint(process_from_pid(&p, getpid(), CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(p.fd, >=, 0);
        g_assert_cmpstr(process_control_path(&p), ==, "pidfd");

        g_assert_cmpint(legacy_process_from_pid(&l, getpid()), ==, 0);
        g_assert_cmpint(l.pid, ==, getpid());
        g_assert_cmpint(l.fd, <, 0);
        g_assert_cmpuint(l.id, ==, 0);
        g_assert_true(process_is_legacy(&l));
        g_assert_cmpstr(process_control_path(&l), ==, "legacy_pid");
        g_assert_cmpint(legacy_process_from_pid(&l, read_pid_max()), ==, -ESRCH);
        g_assert_cmpint(legacy_process_from_pid(&l, 0), ==, -EINVAL);
        g_assert_cmpint(legacy_process_from_pid(&l, -1), ==, -EINVAL);

        /* 0 and -1 would be kill()'s "my process group" and "everyone". */
        g_assert_cmpint(legacy_signal(0, 0), ==, -EINVAL);
        g_assert_cmpint(legacy_signal(-1, 0), ==, -EINVAL);
        g_assert_cmpint(legacy_signal(-getpgrp(), 0), ==, -EINVAL);
        g_assert_cmpint(legacy_wait(0, WNOHANG, &si), ==, -EINVAL);
        g_assert_cmpint(legacy_wait(-1, WNOHANG, &si), ==, -EINVAL);
        g_assert_cmpint(legacy_signal(read_pid_max(), 0), ==, -ESRCH);

        /* The adapter does what kill() and waitid(P_PID) do. */
        spawn_recorder(&rec, &report);
        g_assert_cmpint(legacy_signal(rec.pid, 0), ==, 0);
        g_assert_cmpint(legacy_signal(rec.pid, SIGUSR1), ==, 0);
        expect_record(report, rec.pid, SIGUSR1);
        g_assert_cmpint(legacy_wait(rec.pid, WNOHANG, &si), ==, -EAGAIN);
        g_assert_cmpint(legacy_signal(rec.pid, SIGTERM), ==, 0);
        expect_record(report, rec.pid, SIGTERM);
        g_assert_cmpint(legacy_wait(rec.pid, WNOWAIT, &si), ==, 0);
        assert_exited(&si, rec.pid, 0);
        memset(&si, 0, sizeof(si));
        g_assert_cmpint(legacy_wait(rec.pid, 0, &si), ==, 0);
        assert_exited(&si, rec.pid, 0);
        g_assert_cmpint(legacy_wait(rec.pid, WNOHANG, &si), ==, -ECHILD);
        /* Reaped behind the pidfd's back: the pidfd still knows. */
        g_assert_cmpint(process_check_alive(&rec), ==, -ESRCH);
}

/* In a child whose pidfd_open() is gone (a seccomp filter): ControlPath=pidfd
 * takes no bare pid, auto falls back to one. */
static int child_pidfd_refuses(void *userdata) {
        pid_t target = *(pid_t *) userdata;
        _cleanup_process_ Process p = PROCESS_NULL, l = PROCESS_NULL;
        const int nr = __NR_pidfd_open;

        /* With pidfds at hand, ControlPath=pidfd changes nothing. */
        TEST_CHILD_CHECK_R(process_from_pid(&p, target, CONTROL_PATH_PIDFD), 0);
        TEST_CHILD_CHECK(!process_is_legacy(&p));
        process_done(&p);

        TEST_CHILD_CHECK_R(test_block_syscalls(&nr, 1, ENOSYS, 0), 0);
        TEST_CHILD_CHECK_R(process_from_pid(&p, target, CONTROL_PATH_PIDFD), -EOPNOTSUPP);
        TEST_CHILD_CHECK(!process_is_set(&p));
        TEST_CHILD_CHECK(!feature_available(FEATURE_PIDFD_OPEN));
        TEST_CHILD_CHECK_R(process_from_pid(&l, target, CONTROL_PATH_AUTO), 0);
        TEST_CHILD_CHECK(process_is_legacy(&l));
        TEST_CHILD_CHECK(l.pid == target);
        return 0;
}

/* ControlPath=pidfd: no bare pid is taken when pidfds are missing, and the
 * refusal has no side effect on the process. */
static void test_control_path_pidfd_refuses(void) {
        _cleanup_process_ Process rec = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;
        siginfo_t si = {};
        int status;

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);

        spawn_recorder(&rec, &report);
        status = test_run_in_child(child_pidfd_refuses, &rec.pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        /* Nothing arrived, nothing was reaped: the pidfd wait finds the exit. */
        expect_nothing_received(&rec, report);
        g_assert_cmpint(process_signal(&rec, SIGTERM, 0), ==, 0);
        expect_record(report, rec.pid, SIGTERM);
        g_assert_cmpint(process_wait(&rec, 0, &si), ==, 0);
        assert_exited(&si, rec.pid, 0);
}

/* ControlPath=legacy: every handle is a bare pid, and works like one. */
static void test_control_path_legacy_handles(void) {
        _cleanup_process_ Process rec = PROCESS_NULL, h = PROCESS_NULL, h2 = PROCESS_NULL, self = PROCESS_NULL;
        _cleanup_close_ int report = -EBADF;
        ProcessInfo info;
        siginfo_t si = {};

        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);

        spawn_recorder(&rec, &report);

        g_assert_cmpint(process_from_pid(&h, rec.pid, CONTROL_PATH_LEGACY), ==, 0);
        g_assert_cmpint(h.pid, ==, rec.pid);
        g_assert_cmpint(h.fd, <, 0);
        g_assert_cmpuint(h.id, ==, 0);
        g_assert_true(process_is_legacy(&h));
        g_assert_cmpstr(process_control_path(&h), ==, "legacy_pid");
        g_assert_cmpstr(process_control_path(&rec), ==, "pidfd");

        g_assert_cmpint(process_from_pid(&self, getpid(), CONTROL_PATH_LEGACY), ==, 0);
        g_assert_cmpint(self.fd, <, 0);
        g_assert_cmpint(process_from_pid(&h2, read_pid_max(), CONTROL_PATH_LEGACY), ==, -ESRCH);

        /* A copy of a legacy handle is a legacy handle; two bare pids prove
         * no identity, even when equal. */
        g_assert_cmpint(process_copy(&h2, &h), ==, 0);
        g_assert_cmpint(h2.fd, <, 0);
        g_assert_cmpint(h2.pid, ==, h.pid);
        g_assert_false(process_same(&h, &h2));
        g_assert_false(process_same(&h, &rec));

        g_assert_cmpint(process_check_alive(&h), ==, 0);
        g_assert_cmpint(process_signal(&h, SIGUSR1, 0), ==, 0);
        expect_record(report, rec.pid, SIGUSR1);
        /* Signal scopes need a pidfd. */
        g_assert_cmpint(process_signal(&h, SIGUSR1, PIDFD_SIGNAL_PROCESS_GROUP), ==, -EOPNOTSUPP);

        g_assert_cmpint(process_get_info(&h, &info), ==, 0);
        g_assert_cmpint(info.source, ==, PROCESS_INFO_PROC);
        g_assert_cmpint(info.pid, ==, rec.pid);
        g_assert_cmpint(info.ppid, ==, getpid());
        g_assert_cmpuint(info.ruid, ==, getuid());
        g_assert_cmpuint(info.euid, ==, geteuid());

        g_assert_cmpint(process_wait(&h, WNOHANG, &si), ==, -EAGAIN);
        expect_nothing_received(&rec, report);

        g_assert_cmpint(process_signal(&h, SIGTERM, 0), ==, 0);
        expect_record(report, rec.pid, SIGTERM);
        g_assert_cmpint(process_wait(&h, 0, &si), ==, 0);
        assert_exited(&si, rec.pid, 0);
}

/* --- PID reuse: the legacy path hits the stranger -------------------------- */

typedef enum ReuseVia {
        REUSE_VIA_LEGACY_SIGNAL, /* legacy_signal(pid) under ControlPath=auto */
        REUSE_VIA_LEGACY_HANDLE, /* process_signal() on a ControlPath=legacy handle */
} ReuseVia;

/* Runs as pid 1 of a pid namespace with pid_max 400. */
static int legacy_reuse_in_namespace(void *userdata) {
        ReuseVia via = *(ReuseVia *) userdata;
        _cleanup_process_ Process victim = PROCESS_NULL, legacy = PROCESS_NULL;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        TestSignalRecord rec;
        unsigned forks = 0;
        pid_t victim_pid, stranger_pid;
        int pidfd = -EBADF, status;
        siginfo_t si = {};

        TEST_CHILD_CHECK(getpid() == 1);
        TEST_CHILD_CHECK(pipe2(report, O_CLOEXEC) == 0);

        victim_pid = test_clone_reusable_victim(&pidfd);
        TEST_CHILD_CHECK(victim_pid > 0);
        /* Kept only to show the pidfd path's answer beside the legacy one. */
        TEST_CHILD_CHECK_R(process_from_pidfd(&victim, pidfd), 0);

        if (via == REUSE_VIA_LEGACY_HANDLE) {
                TEST_CHILD_CHECK_R(process_from_pid(&legacy, victim_pid, CONTROL_PATH_LEGACY), 0);
                TEST_CHILD_CHECK(process_is_legacy(&legacy));
        }

        /* Reaped the legacy way; from here on the number is free. */
        TEST_CHILD_CHECK_R(legacy_wait(victim_pid, 0, &si), 0);
        TEST_CHILD_CHECK(si.si_pid == victim_pid && si.si_code == CLD_EXITED && si.si_status == 0);

        stranger_pid = test_fork_until_pid(victim_pid, TEST_PID_REUSE_MAX_FORKS, recorder_main, &report[1], &forks);
        if (stranger_pid == -EBUSY)
                return test_child_fail("pid %d did not come back within %u forks", (int) victim_pid,
                                  TEST_PID_REUSE_MAX_FORKS);
        TEST_CHILD_CHECK_R(stranger_pid, victim_pid);
        report[1] = safe_close(report[1]);
        TEST_CHILD_CHECK_R(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), 0);
        TEST_CHILD_CHECK(rec.sig == 0 && rec.pid == stranger_pid);

        /* The pidfd knows its process is gone... */
        TEST_CHILD_CHECK_R(process_signal(&victim, SIGTERM, 0), -ESRCH);

        /* ...the bare pid does not: the signal "succeeds", on the stranger. */
        if (via == REUSE_VIA_LEGACY_SIGNAL)
                TEST_CHILD_CHECK_R(legacy_signal(victim_pid, SIGTERM), 0);
        else {
                TEST_CHILD_CHECK_R(process_check_alive(&legacy), 0);
                TEST_CHILD_CHECK_R(process_signal(&legacy, SIGTERM, 0), 0);
        }
        TEST_CHILD_CHECK_R(test_signal_record_read(report[0], REPORT_TIMEOUT_MS, &rec), 0);
        if (rec.sig != SIGTERM || rec.pid != stranger_pid)
                return test_child_fail("expected the stranger %d to record SIGTERM, got signal %d from %d",
                                  (int) stranger_pid, rec.sig, (int) rec.pid);

        if (via == REUSE_VIA_LEGACY_SIGNAL) {
                TEST_CHILD_CHECK(waitpid(stranger_pid, &status, 0) == stranger_pid);
                TEST_CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        } else {
                /* And the stale handle's wait reaps the stranger, handing
                 * over an exit status that belongs to another process. */
                memset(&si, 0, sizeof(si));
                TEST_CHILD_CHECK_R(process_wait(&legacy, 0, &si), 0);
                TEST_CHILD_CHECK(si.si_pid == stranger_pid && si.si_code == CLD_EXITED);
        }

        test_child_info("pid %d came back after %u forks; %s reached the stranger", (int) victim_pid, forks,
                   via == REUSE_VIA_LEGACY_SIGNAL ? "legacy_signal(pid, SIGTERM)" :
                                                    "process_signal(legacy handle, SIGTERM)");
        return 0;
}

static void test_pid_reuse_common(ReuseVia via) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE3);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_PIDFD);

        test_run_in_pid_namespace_checked("legacy pid reuse", legacy_reuse_in_namespace, &via);
}

static void test_pid_reuse_legacy_signal(void) {
        test_pid_reuse_common(REUSE_VIA_LEGACY_SIGNAL);
}

static void test_pid_reuse_legacy_handle(void) {
        test_pid_reuse_common(REUSE_VIA_LEGACY_HANDLE);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/legacy/control-path/strings", test_control_path_strings);
        g_test_add_func("/legacy/control-path/auto", test_control_path_auto);
        g_test_add_func("/legacy/control-path/pidfd-refuses", test_control_path_pidfd_refuses);
        g_test_add_func("/legacy/control-path/legacy-handles", test_control_path_legacy_handles);
        g_test_add_func("/legacy/pid-reuse/legacy-signal", test_pid_reuse_legacy_signal);
        g_test_add_func("/legacy/pid-reuse/legacy-handle", test_pid_reuse_legacy_handle);

        return g_test_run();
}
