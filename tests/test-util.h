/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared helpers for the GTest programs. Tests skip with a reason (never
 * pass silently) when they need root or a kernel feature the machine lacks. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "feature.h"

/* g_test_skip() + return from the calling test when not root. */
#define TEST_REQUIRE_ROOT()                                                 \
        do {                                                                \
                if (geteuid() != 0) {                                       \
                        g_test_skip("needs root");                          \
                        return;                                             \
                }                                                           \
        } while (0)

#define TEST_REQUIRE_FEATURE(f)                                             \
        do {                                                                \
                if (!feature_available(f)) {                                \
                        g_autofree char *_why = test_missing_feature_reason(f); \
                        g_test_skip(_why);                                  \
                        return;                                             \
                }                                                           \
        } while (0)

/* Whether the test runs under valgrind (meson test --setup valgrind). */
bool test_under_valgrind(void);

/* g_test_skip() + return under valgrind, for a test that needs what
 * valgrind does not emulate; why completes "under valgrind, which ...". */
#define TEST_SKIP_UNDER_VALGRIND(why)                                       \
        do {                                                                \
                if (test_under_valgrind()) {                                \
                        g_test_skip("under valgrind, which " why);          \
                        return;                                             \
                }                                                           \
        } while (0)
/* Why a test skips for a missing feature: the kernel, or valgrind, which
 * does not know clone3, pidfd_open, pidfd_send_signal or pidfd_getfd. */
char *test_missing_feature_reason(Feature f);

/* Path of tests/test-helper (the program spawned children run), as a copy
 * every uid can execute. */
const char *test_helper_path(void);

/* A copy of the program at path in a 0755 directory removed at exit, so
 * unprivileged uids can run it wherever the build tree lives. */
const char *test_public_copy(const char *path);

/* Read everything from fd until EOF (fd is not closed). */
char *test_read_all(int fd);

/* Fill the file system of dir with a file "filler" in it, to the last byte
 * (ENOSPC asserted). Returns its path, to unlink for room again. */
char *test_fill_fs(const char *dir);

/* Number of open fds of this process (from /proc/self/fd). */
unsigned test_count_open_fds(void);

/* Run fn in a forked child and return its wait status; the child's exit code
 * is fn's return value. For tests that install seccomp filters or change
 * namespaces without touching the test process. */
int test_run_in_child(int (*fn)(void *userdata), void *userdata);

/* Install a seccomp filter in the calling process that answers the given
 * syscall numbers with errno (ENOSYS or EPERM). clone_flag_mask, when not 0,
 * makes clone(2) fail only when (flags & mask) != 0. Returns 0 or -errno. */
int test_block_syscalls(const int *nrs, size_t n, int err, unsigned long clone_flag_mask);

/* Same, for one syscall only when argument arg (0-5) equals value in its
 * low 32 bits: an ioctl request, a socket option, waitid's idtype. Filters
 * stack: call it after test_block_syscalls() to add a rule. */
int test_block_syscall_arg(int nr, unsigned arg, uint64_t value, int err);

/* The ways a seccomp filter takes one kernel primitive away: a whole
 * syscall, a clone(2) flag, or one value of one argument (an ioctl request,
 * a socket option, waitid's idtype). Shared by the probe's matrix
 * (test-feature) and the daemon's (test-kernel-matrix, via seccomp-exec). */
typedef struct TestMissingCase {
        const char *name;
        Feature feature;
        int nr;                   /* syscall blocked (with arg: only for that value); -1: none */
        int arg;                  /* -1: every call */
        uint64_t value;
        unsigned long clone_mask; /* or clone(2) with one of these flags */
} TestMissingCase;

#define TEST_N_MISSING_CASES 9
extern const TestMissingCase test_missing_cases[TEST_N_MISSING_CASES];
/* By name, NULL when there is no such case. */
const TestMissingCase *test_missing_case_find(const char *name);
/* Install a filter that takes c away, answering err. 0 or -errno. */
int test_block_missing(const TestMissingCase *c, int err);

/* Forcing PID reuse (pid_max is per pid namespace since Linux 6.14): in a
 * pid namespace of its own with a small pid_max, pids wrap after a few
 * hundred forks. After the wrap the kernel starts again at RESERVED_PIDS
 * (300), not at 1, so only a pid >= 300 is ever handed out twice. */
#define TEST_PID_REUSE_PID_MAX 400
#define TEST_PID_REUSE_MAX_FORKS 5000u

/* Run fn as pid 1 of a new pid namespace, in a new mount namespace with a
 * fresh /proc and the given pid_max (per pid namespace since 6.14); the test
 * process keeps its own namespaces. Returns the wait status of that pid 1
 * (its exit code is fn's return value), or -errno when the namespace could
 * not be set up (the step is logged with g_test_message()): -EOPNOTSUPP when
 * pid_max turns out to be one global value (before 6.14; it is probed by a
 * change of one, undone at once, so the machine's pid_max is never shrunk).
 * When fn returns, the kernel kills whatever is left in the namespace.
 * Needs root. */
int test_run_in_pid_namespace(unsigned pid_max, int (*fn)(void *userdata), void *userdata);

/* In such a namespace: start a child that exits at once, created with
 * clone3(CLONE_PIDFD) so that its pidfd exists before anyone can reap it,
 * at a pid the namespace will hand out again (>= 300). Children started on
 * the way there are reaped; the returned one is not. Returns its pid and
 * *ret_pidfd, or -errno. */
pid_t test_clone_reusable_victim(int *ret_pidfd);

/* The churn: fork children that _exit(0) at once and are reaped at once,
 * until a fork returns target again. That child (the "stranger") runs
 * fn(userdata), _exit()s with its return value, and is left unreaped.
 * Returns target (forks used in *ret_forks), -EBUSY when max_forks forks did
 * not bring target back, or -errno. Call it only where nothing else forks. */
pid_t test_fork_until_pid(pid_t target, unsigned max_forks, int (*fn)(void *userdata), void *userdata,
                          unsigned *ret_forks);

/* A signal recorder: what a stranger (or any test child) runs to report the
 * signals that reach it. One record per signal, written atomically. */
typedef struct TestSignalRecord {
        int32_t pid;
        int32_t tid; /* the thread that took the signal */
        int32_t sig; /* 0 in the first record: "signals blocked, ready" */
} TestSignalRecord;

/* Block every signal in the calling thread, write the ready record to
 * report_fd, then one record per signal taken with sigwaitinfo() (all but
 * SIGCHLD). Returns 0 after recording SIGTERM, 1 when report_fd fails. */
int test_signal_recorder(int report_fd);

/* Next record from a recorder: 0, -ETIMEDOUT after timeout_ms, -EPIPE at
 * EOF (every recorder gone), or -errno. */
int test_signal_record_read(int fd, int timeout_ms, TestSignalRecord *ret);

/* Checks inside forked children: g_assert there would not reach TAP. A
 * child reports "FAIL line N: ..." with test_child_fail() (and returns 1);
 * "INFO ..." lines from test_child_info() become g_test_message()s. */
G_GNUC_PRINTF(1, 2) void test_child_info(const char *fmt, ...);
G_GNUC_PRINTF(1, 2) int test_child_fail(const char *fmt, ...);

#define TEST_CHILD_CHECK(expr)                                                       \
        do {                                                                    \
                if (!(expr))                                                    \
                        return test_child_fail("line %d: %s", __LINE__, #expr);      \
        } while (0)

/* For -errno results: says what came back instead. */
#define TEST_CHILD_CHECK_R(expr, expected)                                           \
        do {                                                                    \
                long _r = (expr), _e = (expected);                              \
                if (_r != _e)                                                   \
                        return test_child_fail("line %d: %s returned %ld (%s), expected %ld (%s)", \
                                          __LINE__, #expr, _r, _r < 0 ? strerror((int) -_r) : "-", \
                                          _e, _e < 0 ? strerror((int) -_e) : "-"); \
        } while (0)

/* Run fn as pid 1 of a pid namespace whose pids wrap at
 * TEST_PID_REUSE_PID_MAX, and fail the test unless it exited 0 without a
 * FAIL line; skip where pid_max is not per pid namespace. */
void test_run_in_pid_namespace_checked(const char *what, int (*fn)(void *userdata), void *userdata);
/* Same in a plain forked child (test_run_in_child()). */
void test_run_in_child_checked(const char *what, int (*fn)(void *userdata), void *userdata);

/* A process's resources from /proc: the soft and hard value of one
 * "Max ..." line of /proc/<pid>/limits ("unlimited" as written, up to 31
 * bytes each), its nice (field 19 of stat), and a number a file of
 * /proc/<pid> holds (oom_score_adj). */
void test_proc_limit(pid_t pid, const char *name, char soft[static 32], char hard[static 32]);
int test_proc_nice(pid_t pid);
int test_proc_int(pid_t pid, const char *file);

/* Whether this process has capability cap in its effective set. */
bool test_have_capability(int cap);
