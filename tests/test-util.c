/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Shared helpers for the GTest programs (contract in test-util.h). Anything
 * printed here goes to stderr or g_test_message(): stdout carries TAP. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "missing-pidfd.h"
#include "pid-reuse.h"
#include "test-util.h"

#if HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

static char *public_dir = NULL;
static pid_t public_dir_owner = 0;

static void public_dir_remove(void) {
        g_autoptr(GDir) d = NULL;
        const char *name;

        /* Forked children that exit() must not remove the parent's copies. */
        if (getpid() != public_dir_owner)
                return;
        d = g_dir_open(public_dir, 0, NULL);

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(public_dir, name, NULL);
                unlink(p);
        }
        rmdir(public_dir);
}

const char *test_public_copy(const char *path) {
        g_autofree char *contents = NULL;
        gsize len;

        /* Tests run programs as unprivileged uids, and the checkout may sit
         * in a directory they cannot enter (a 0700 home or mktemp dir): run
         * a copy from a 0755 directory of our own instead. */
        if (!public_dir) {
                public_dir = g_dir_make_tmp("pidbroker-test-bin-XXXXXX", NULL);
                g_assert_nonnull(public_dir);
                g_assert_cmpint(chmod(public_dir, 0755), ==, 0);
                public_dir_owner = getpid();
                atexit(public_dir_remove);
        }
        g_autofree char *base = g_path_get_basename(path);
        char *copy = g_build_filename(public_dir, base, NULL);
        if (!g_file_test(copy, G_FILE_TEST_EXISTS)) {
                g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
                g_assert_true(g_file_set_contents_full(copy, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE,
                                                       0755, NULL));
        }
        /* The names are the program's for its life: callers keep them. */
        static GPtrArray *copies;
        if (!copies)
                copies = g_ptr_array_new();
        g_ptr_array_add(copies, copy);
        return copy;
}

const char *test_helper_path(void) {
        static const char *path = NULL;
        const char *built;

        if (path)
                return path;
        /* meson.build sets PIDBROKER_TEST_HELPER; fall back to the build dir
         * so a test program run by hand still finds the helper beside it. */
        built = getenv("PIDBROKER_TEST_HELPER");
        if (!built || !*built)
                built = g_test_build_filename(G_TEST_BUILT, "test-helper", NULL);
        /* A parent test already made the public copy: children (possibly of
         * another uid) use that one. */
        if (getenv("PIDBROKER_TEST_HELPER_PUBLIC")) {
                path = built;
                return path;
        }
        path = test_public_copy(built);
        g_setenv("PIDBROKER_TEST_HELPER", path, true);
        g_setenv("PIDBROKER_TEST_HELPER_PUBLIC", "1", true);
        return path;
}

/* Returns a g_malloc'ed NUL-terminated string, or NULL with errno set when
 * read() fails. A non-blocking fd is waited for with poll(). */
char *test_fill_fs(const char *dir) {
        char *filler = g_build_filename(dir, "filler", NULL);
        static char block[65536];
        int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(fd, >=, 0);
        for (size_t chunk = sizeof block; chunk > 0; chunk /= 2)
                while (write(fd, block, chunk) == (ssize_t) chunk)
                        ;
        g_assert_cmpint(errno, ==, ENOSPC);
        close(fd);
        return filler;
}

char *test_read_all(int fd) {
        g_autoptr(GString) s = g_string_new(NULL);
        char buf[4096];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLIN };
                                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                        return NULL;
                                continue;
                        }
                        return NULL;
                }
                if (n == 0)
                        break;
                g_string_append_len(s, buf, n);
        }

        return g_string_free(g_steal_pointer(&s), FALSE);
}

unsigned test_count_open_fds(void) {
        DIR *d;
        struct dirent *de;
        unsigned n = 0;

        d = opendir("/proc/self/fd");
        if (!d)
                g_error("opendir(/proc/self/fd): %s", g_strerror(errno));

        while ((de = readdir(d))) {
                char *end;
                long fd;

                if (de->d_name[0] == '.')
                        continue;
                fd = strtol(de->d_name, &end, 10);
                if (*end != '\0' || fd == dirfd(d))
                        continue;
                n++;
        }

        closedir(d);
        return n;
}

/* Returns the wait status (>= 0), or -errno if fork() or waitpid() failed. */
bool test_under_valgrind(void) {
#if HAVE_VALGRIND_VALGRIND_H
        if (RUNNING_ON_VALGRIND)
                return true;
#endif
        /* Set by the meson test setup, for builds without valgrind.h. */
        return g_strcmp0(g_getenv("PIDBROKER_TEST_VALGRIND"), "1") == 0;
}

char *test_missing_feature_reason(Feature f) {
        if (test_under_valgrind())
                return g_strdup_printf("under valgrind, which answers clone3, pidfd_open, pidfd_send_signal "
                                       "and pidfd_getfd with ENOSYS: %s missing (%s)",
                                       feature_name(f), feature_detail(f));
        return g_strdup_printf("kernel lacks %s: %s", feature_name(f), feature_detail(f));
}

int test_run_in_child(int (*fn)(void *userdata), void *userdata) {
        pid_t pid;
        int status;

        /* The child leaves with _exit() and never flushes stdio, but flush
         * anyway so that nothing buffered can reach stdout (TAP) twice. */
        fflush(stdout);
        fflush(stderr);

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                _exit(fn(userdata) & 0xff);

        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        return status;
}

int test_block_syscalls(const int *nrs, size_t n, int err, unsigned long clone_flag_mask) {
        scmp_filter_ctx ctx;
        bool clone_blocked = false;
        int r;

        if (err < 0)
                err = -err;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

        /* Loading a filter unprivileged needs no_new_privs; it is libseccomp's
         * default, set it explicitly so the test does not depend on that. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < n; i++) {
                if (nrs[i] == SCMP_SYS(clone))
                        clone_blocked = true;
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nrs[i], 0);
                if (r < 0)
                        goto finish;
        }

        /* clone(2)'s first argument is the flags word on x86-64 and most
         * architectures. SCMP_CMP_MASKED_EQ with (bit, bit) matches when
         * that bit is set; one rule per bit makes "flags & mask != 0".
         * An unconditional clone rule above already covers every case. */
        if (clone_flag_mask != 0 && !clone_blocked)
                for (unsigned b = 0; b < sizeof(clone_flag_mask) * 8; b++) {
                        scmp_datum_t bit = (scmp_datum_t) 1 << b;

                        if (!(clone_flag_mask & bit))
                                continue;
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(clone), 1,
                                             SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
                        if (r < 0)
                                goto finish;
                }

        r = seccomp_load(ctx);

finish:
        seccomp_release(ctx);
        return r < 0 ? r : 0;
}

int test_block_syscall_arg(int nr, unsigned arg, uint64_t value, int err) {
        scmp_filter_ctx ctx;
        int r;

        if (arg > 5)
                return -EINVAL;
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (r >= 0) {
                /* The low 32 bits only: an int argument's upper half is not
                 * guaranteed to be zero in the register. */
                struct scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, UINT32_MAX, value & UINT32_MAX);

                r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(abs(err)), nr, 1, &cmp);
        }
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r < 0 ? r : 0;
}

const TestMissingCase test_missing_cases[TEST_N_MISSING_CASES] = {
        { "clone3", FEATURE_CLONE3, __NR_clone3, -1, 0, 0 },
        { "clone-CLONE_PIDFD", FEATURE_CLONE_PIDFD, -1, -1, 0, CLONE_PIDFD },
        { "pidfd_open", FEATURE_PIDFD_OPEN, __NR_pidfd_open, -1, 0, 0 },
        { "pidfd_send_signal", FEATURE_PIDFD_SEND_SIGNAL, __NR_pidfd_send_signal, -1, 0, 0 },
        { "waitid-P_PIDFD", FEATURE_WAITID_PIDFD, __NR_waitid, 0, P_PIDFD, 0 },
        /* The whole of waitid(): probes must reap their children by other means. */
        { "waitid", FEATURE_WAITID_PIDFD, __NR_waitid, -1, 0, 0 },
        { "pidfd_getfd", FEATURE_PIDFD_GETFD, __NR_pidfd_getfd, -1, 0, 0 },
        { "PIDFD_GET_INFO", FEATURE_PIDFD_GET_INFO, __NR_ioctl, 1, PB_PIDFD_GET_INFO, 0 },
        { "SO_PEERPIDFD", FEATURE_SO_PEERPIDFD, __NR_getsockopt, 2, SO_PEERPIDFD, 0 },
};

const TestMissingCase *test_missing_case_find(const char *name) {
        for (size_t i = 0; i < TEST_N_MISSING_CASES; i++)
                if (strcmp(test_missing_cases[i].name, name) == 0)
                        return &test_missing_cases[i];
        return NULL;
}

int test_block_missing(const TestMissingCase *c, int err) {
        if (c->arg >= 0)
                return test_block_syscall_arg(c->nr, (unsigned) c->arg, c->value, err);
        if (c->nr >= 0)
                return test_block_syscalls(&c->nr, 1, err, 0);
        return test_block_syscalls(NULL, 0, err, c->clone_mask);
}

int test_run_in_pid_namespace(unsigned pid_max, int (*fn)(void *userdata), void *userdata) {
        PidReuseError e = {};
        int r;

        fflush(stdout);
        fflush(stderr);
        r = pid_reuse_run(pid_max, fn, userdata, &e);
        if (r < 0 && e.step)
                g_test_message("pid namespace setup failed: %s: %s", e.step, g_strerror(e.err));
        return r;
}


static int reap_pid(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

pid_t test_clone_reusable_victim(int *ret_pidfd) {
        for (unsigned i = 0; i < TEST_PID_REUSE_MAX_FORKS; i++) {
                struct pb_clone_args args = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD };
                int pidfd = -1, r;
                pid_t pid;

                args.pidfd = (uint64_t) (uintptr_t) &pidfd;
                pid = (pid_t) syscall(__NR_clone3, &args, PB_CLONE_ARGS_SIZE_VER0);
                if (pid == 0)
                        _exit(0); /* a raw clone3 child: nothing but the syscall */
                if (pid < 0)
                        return -errno;
                if (pidfd < 0) {
                        (void) reap_pid(pid);
                        return -EBADF;
                }
                if (pid >= PID_RESERVED) {
                        *ret_pidfd = pidfd;
                        return pid;
                }
                close(pidfd);
                r = reap_pid(pid);
                if (r < 0)
                        return r;
        }
        return -EBUSY;
}

pid_t test_fork_until_pid(pid_t target, unsigned max_forks, int (*fn)(void *userdata), void *userdata,
                          unsigned *ret_forks) {
        fflush(stdout);
        fflush(stderr);
        return pid_fork_until(target, max_forks, fn, userdata, ret_forks);
}

int test_signal_recorder(int report_fd) {
        TestSignalRecord rec = { .pid = getpid(), .tid = gettid(), .sig = 0 };
        sigset_t all, wanted;

        sigfillset(&all);
        if (pthread_sigmask(SIG_SETMASK, &all, NULL) != 0)
                return 1;
        if (write(report_fd, &rec, sizeof(rec)) != (ssize_t) sizeof(rec))
                return 1;

        /* SIGCHLD stays blocked and pending: a recorder's own children
         * (a process group member) are not news. */
        wanted = all;
        sigdelset(&wanted, SIGCHLD);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&wanted, &si);

                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                rec.sig = sig;
                if (write(report_fd, &rec, sizeof(rec)) != (ssize_t) sizeof(rec))
                        return 1;
                if (sig == SIGTERM)
                        return 0;
        }
}

int test_signal_record_read(int fd, int timeout_ms, TestSignalRecord *ret) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int r;

        do
                r = poll(&pfd, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;

        /* Records are written whole (far below PIPE_BUF). */
        do
                n = read(fd, ret, sizeof(*ret));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != (ssize_t) sizeof(*ret))
                return -EIO;
        return 0;
}

/* --- Checks inside forked children ---------------------------------------
 *
 * g_assert in a forked child would not reach TAP. A child writes "FAIL
 * line N: ..." to child_report_fd and exits 1; "INFO ..." lines are passed
 * on with g_test_message(). The parent fails the test with the FAIL text. */

static int child_report_fd = -EBADF;

static void child_write(const char *prefix, const char *fmt, va_list ap) {
        char buf[512];
        int n, m;

        n = snprintf(buf, sizeof(buf), "%s ", prefix);
        m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
        n += MIN(m, (int) sizeof(buf) - n - 2);
        buf[n++] = '\n';
        (void) !write(child_report_fd, buf, n);
}

void test_child_info(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        child_write("INFO", fmt, ap);
        va_end(ap);
}

int test_child_fail(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        child_write("FAIL", fmt, ap);
        va_end(ap);
        return 1;
}

/* Run fn through run (a forked child, or pid 1 of a pid namespace) with the
 * report pipe set up, and fail the test unless it exited 0 without a FAIL
 * line. */
static void run_checked(const char *what, int (*run)(int (*fn)(void *), void *, void *), void *run_data,
                        int (*fn)(void *userdata), void *userdata) {
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;
        g_autoptr(GString) failures = g_string_new(NULL);
        int status;

        g_assert_no_errno(pipe2(report, O_CLOEXEC));
        child_report_fd = report[1];
        status = run(fn, userdata, run_data);
        child_report_fd = -EBADF;
        report[1] = safe_close(report[1]);

        /* Every process that held the write end is gone by now. */
        text = test_read_all(report[0]);
        g_assert_nonnull(text);
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                if (g_str_has_prefix(*l, "INFO "))
                        g_test_message("%s: %s", what, *l + 5);
                else if (g_str_has_prefix(*l, "FAIL "))
                        g_string_append_printf(failures, "%s%s", failures->len ? "; " : "", *l + 5);
        }

        if (status == -EOPNOTSUPP) {
                g_test_skip("pid_max is not per pid namespace on this kernel (Linux < 6.14): "
                            "PID reuse cannot be forced without shrinking the machine's pid_max");
                return;
        }
        if (status < 0)
                g_error("%s: could not set up the child: %s", what, g_strerror(-status));
        if (failures->len > 0)
                g_error("%s: %s", what, failures->str);
        if (WIFSIGNALED(status))
                g_error("%s: child killed by signal %d (%s)", what, WTERMSIG(status), strsignal(WTERMSIG(status)));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                g_error("%s: child exited with %d and no report", what, WEXITSTATUS(status));
}

static int run_in_pid_namespace(int (*fn)(void *), void *userdata, void *run_data) {
        return test_run_in_pid_namespace(TEST_PID_REUSE_PID_MAX, fn, userdata);
}

static int run_in_child(int (*fn)(void *), void *userdata, void *run_data) {
        return test_run_in_child(fn, userdata);
}

void test_run_in_pid_namespace_checked(const char *what, int (*fn)(void *userdata), void *userdata) {
        run_checked(what, run_in_pid_namespace, NULL, fn, userdata);
}

void test_run_in_child_checked(const char *what, int (*fn)(void *userdata), void *userdata) {
        run_checked(what, run_in_child, NULL, fn, userdata);
}

void test_proc_limit(pid_t pid, const char *name, char soft[static 32], char hard[static 32]) {
        g_autofree char *path = g_strdup_printf("/proc/%d/limits", (int) pid);
        g_autofree char *text = NULL;
        const char *line;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        line = strstr(text, name);
        g_assert_nonnull(line);
        g_assert_cmpint(sscanf(line + 26, "%31s %31s", soft, hard), ==, 2);
}

int test_proc_nice(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int) pid);
        g_autofree char *text = NULL;
        int nice;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        /* Field 19, counted after the ")" that ends comm (field 2). */
        const char *p = strrchr(text, ')');
        g_assert_nonnull(p);
        g_assert_cmpint(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %d", &nice), ==, 1);
        return nice;
}

int test_proc_int(pid_t pid, const char *file) {
        g_autofree char *path = g_strdup_printf("/proc/%d/%s", (int) pid, file);
        g_autofree char *text = NULL;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        return atoi(text);
}

bool test_have_capability(int cap) {
        g_autofree char *status = NULL;
        const char *p;

        g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
        p = strstr(status, "CapEff:");
        g_assert_nonnull(p);
        return (g_ascii_strtoull(p + strlen("CapEff:"), NULL, 16) >> cap) & 1;
}
