/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Seccomp profiles: parsing, and what the compiled BPF does once a forked
 * child loads it the way the post-clone child does (no_new_privs, then one
 * seccomp syscall). Filters are only ever installed in children. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "seccomp-profile.h"
#include "test-util.h"

/* Child exit codes above any check index. */
#define CHILD_LOAD_FAILED 100
#define CHILD_EXEC_FAILED 101

#define TEST_REQUIRE_SECCOMP()                                              \
        do {                                                                \
                TEST_SKIP_UNDER_VALGRIND("answers seccomp(2) with ENOSYS"); \
                if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {                \
                        g_test_skip("kernel lacks seccomp");                \
                        return;                                             \
                }                                                           \
        } while (0)

/* What the post-clone child does: no libseccomp, no allocation. */
static int load_filter(const SeccompProfile *p) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p->prog) < 0)
                return -errno;
        return 0;
}

static SeccompProfile *load_shipped(const char *name) {
        SeccompProfile *p = NULL;
        unsigned line = 0;
        int r;

        r = seccomp_profile_load(seccomp_profile_dir(), name, &p, &line);
        if (r < 0)
                g_error("loading %s/%s.seccomp: %s (line %u)",
                        seccomp_profile_dir(), name, g_strerror(-r), line);
        return p;
}

/* Exit code 0, or CHILD_LOAD_FAILED, or 1 + the index of the failed check
 * in the NULL-terminated checks. */
static void assert_child_ok(int status, const char *const *checks) {
        int code;

        if (WIFSIGNALED(status))
                g_error("child killed by signal %d", WTERMSIG(status));
        g_assert_true(WIFEXITED(status));
        code = WEXITSTATUS(status);
        if (code == 0)
                return;
        if (code == CHILD_LOAD_FAILED)
                g_error("child could not load the filter");
        for (int i = 0; checks[i]; i++)
                if (i == code - 1)
                        g_error("child check failed: %s", checks[i]);
        g_error("child exited with %d", code);
}

static bool fails_with_enosys(long r) {
        return r < 0 && errno == ENOSYS;
}

static bool reaches_kernel(long r) {
        return r >= 0 || errno != ENOSYS;
}

static void test_shipped_profiles_load(void) {
        static const char *const names[] = { "default", "strict" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_seccomp_profile_ SeccompProfile *p = load_shipped(names[i]);

                g_assert_cmpstr(p->name, ==, names[i]);
                g_assert_nonnull(p->prog.filter);
                g_assert_cmpuint(p->prog.len, >, 0);
                g_assert_cmpuint(p->prog.len, <=, BPF_MAXINSNS);
                g_test_message("%s: %u BPF instructions", names[i], p->prog.len);
        }
}

static const char *const default_checks[] = {
        "kexec_load -> ENOSYS",
        "init_module -> ENOSYS",
        "bpf -> ENOSYS",
        "keyctl -> ENOSYS",
        "perf_event_open -> ENOSYS",
        "userfaultfd -> ENOSYS",
        "io_uring_setup -> ENOSYS",
        "open_by_handle_at -> ENOSYS",
        "swapon -> ENOSYS",
        "getpid works",
        NULL,
};

static int child_default(void *userdata) {
        if (load_filter(userdata) < 0)
                return CHILD_LOAD_FAILED;

        /* Arguments that would fail differently (EBADF, EFAULT, EINVAL,
         * EPERM) if the call reached the kernel. */
        if (!fails_with_enosys(syscall(SYS_kexec_load, 0, 0, NULL, 0)))
                return 1;
        if (!fails_with_enosys(syscall(SYS_init_module, NULL, 0, NULL)))
                return 2;
        if (!fails_with_enosys(syscall(SYS_bpf, -1, NULL, 0)))
                return 3;
        if (!fails_with_enosys(syscall(SYS_keyctl, -1, 0, 0, 0, 0)))
                return 4;
        if (!fails_with_enosys(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)))
                return 5;
        if (!fails_with_enosys(syscall(SYS_userfaultfd, -1)))
                return 6;
        if (!fails_with_enosys(syscall(SYS_io_uring_setup, 0, NULL)))
                return 7;
        if (!fails_with_enosys(syscall(SYS_open_by_handle_at, -1, NULL, 0)))
                return 8;
        if (!fails_with_enosys(syscall(SYS_swapon, NULL, 0)))
                return 9;
        if (syscall(SYS_getpid) != getpid() || getpid() <= 1)
                return 10;
        return 0;
}

static const char *const default_allowed_checks[] = {
        "ptrace reaches the kernel",
        "process_vm_readv reaches the kernel",
        "pidfd_getfd reaches the kernel",
        "unshare reaches the kernel",
        "setns reaches the kernel",
        "mount reaches the kernel",
        "umount2 reaches the kernel",
        "pivot_root reaches the kernel",
        "fsopen reaches the kernel",
        "seccomp reaches the kernel",
        NULL,
};

/* What sandboxes and debuggers call is left to the kernel's own checks:
 * each call fails, but not with ENOSYS. */
static int child_default_allowed(void *userdata) {
        if (load_filter(userdata) < 0)
                return CHILD_LOAD_FAILED;

        if (!reaches_kernel(syscall(SYS_ptrace, PTRACE_PEEKDATA, 0, 0, 0)))
                return 1;
        if (!reaches_kernel(syscall(SYS_process_vm_readv, 0, NULL, 0, NULL, 0, 0)))
                return 2;
        if (!reaches_kernel(syscall(SYS_pidfd_getfd, -1, -1, 0)))
                return 3;
        if (!reaches_kernel(syscall(SYS_unshare, 0)))
                return 4;
        if (!reaches_kernel(syscall(SYS_setns, -1, 0)))
                return 5;
        if (!reaches_kernel(syscall(SYS_mount, NULL, NULL, NULL, 0, NULL)))
                return 6;
        if (!reaches_kernel(syscall(SYS_umount2, NULL, 0)))
                return 7;
        if (!reaches_kernel(syscall(SYS_pivot_root, NULL, NULL)))
                return 8;
        if (!reaches_kernel(syscall(SYS_fsopen, NULL, 0)))
                return 9;
        if (!reaches_kernel(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, NULL)))
                return 10;
        return 0;
}

static void test_default_denies(void) {
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        int status;

        TEST_REQUIRE_SECCOMP();
        p = load_shipped("default");

        status = test_run_in_child(child_default, p);
        g_assert_cmpint(status, >=, 0);
        assert_child_ok(status, default_checks);
}

static void test_default_allows_sandboxes_and_debuggers(void) {
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        int status;

        TEST_REQUIRE_SECCOMP();
        p = load_shipped("default");

        status = test_run_in_child(child_default_allowed, p);
        g_assert_cmpint(status, >=, 0);
        assert_child_ok(status, default_allowed_checks);
}

#if defined(__x86_64__)
static int child_x32(void *userdata) {
        /* A kill makes a core dump; not here. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (load_filter(userdata) < 0)
                return CHILD_LOAD_FAILED;

        /* bpf through the x32 numbering must not slip past the
         * denylist: the bad-arch action kills. */
        (void) syscall(0x40000000 | SYS_bpf, -1, NULL, 0);
        return 0;
}

static void test_default_kills_x32(void) {
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        int status;

        TEST_REQUIRE_SECCOMP();
        p = load_shipped("default");

        status = test_run_in_child(child_x32, p);
        g_assert_cmpint(status, >=, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_LOAD_FAILED)
                g_error("child could not load the filter");
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGSYS);
}
#endif

static const char *const strict_checks[] = {
        "socket -> ENOSYS",
        "ptrace -> ENOSYS",
        "getpid works",
        NULL,
};

static int child_strict(void *userdata) {
        if (load_filter(userdata) < 0)
                return CHILD_LOAD_FAILED;

        if (!fails_with_enosys(socket(AF_INET, SOCK_STREAM, 0)))
                return 1;
        if (!fails_with_enosys(syscall(SYS_ptrace, PTRACE_PEEKDATA, 0, 0, 0)))
                return 2;
        if (syscall(SYS_getpid) != getpid())
                return 3;
        return 0;
}

static void test_strict_denies(void) {
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        int status;

        TEST_REQUIRE_SECCOMP();
        p = load_shipped("strict");

        status = test_run_in_child(child_strict, p);
        g_assert_cmpint(status, >=, 0);
        assert_child_ok(status, strict_checks);
}

/* fork + exec argv under the filter, as uid and gid 65534 if as_nobody (the
 * way a workload runs: no capabilities, no supplementary groups); returns
 * its stdout and puts its wait status in *ret_status. */
static char *run_filtered(const SeccompProfile *p, bool as_nobody, const char *const *argv, int *ret_status) {
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        g_autofree char *out = NULL;
        int pipefd[2];
        pid_t pid;

        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        rfd = pipefd[0];
        wfd = pipefd[1];

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                if (dup2(wfd, STDOUT_FILENO) < 0)
                        _exit(CHILD_EXEC_FAILED);
                if (as_nobody && (chdir("/") < 0 || setgroups(0, NULL) < 0 ||
                                  setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
                        _exit(CHILD_EXEC_FAILED);
                if (load_filter(p) < 0)
                        _exit(CHILD_LOAD_FAILED);
                execv(argv[0], (char *const *) argv);
                _exit(CHILD_EXEC_FAILED);
        }

        wfd = safe_close(wfd);
        out = test_read_all(rfd);
        g_assert_nonnull(out);

        while (waitpid(pid, ret_status, 0) < 0)
                g_assert_cmpint(errno, ==, EINTR);

        return TAKE_PTR(out);
}

static char *run_shell_filtered(const SeccompProfile *p, const char *script, int *ret_status) {
        return run_filtered(p, false, (const char *const[]) { "/bin/sh", "-c", script, NULL }, ret_status);
}

/* Runs argv under the default profile as nobody and wants exit 0 and, when
 * want_out is set, that stdout. */
static void assert_runs_as_nobody(const char *const *argv, const char *want_out) {
        _cleanup_seccomp_profile_ SeccompProfile *p = load_shipped("default");
        g_autofree char *out = NULL;
        int status;

        out = run_filtered(p, true, argv, &status);
        g_test_message("%s: %s", argv[0], out);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        if (want_out)
                g_assert_cmpstr(out, ==, want_out);
}

static void test_default_ptrace_own_child(void) {
        TEST_REQUIRE_SECCOMP();
        assert_runs_as_nobody((const char *const[]) { test_helper_path(), "ptrace-child", NULL }, "ok\n");
}

static void test_default_userns_mount(void) {
        TEST_REQUIRE_SECCOMP();
        assert_runs_as_nobody((const char *const[]) { test_helper_path(), "userns-mount", NULL }, "ok\n");
}

static void test_default_bwrap(void) {
        g_autofree char *bwrap = g_find_program_in_path("bwrap");

        TEST_REQUIRE_SECCOMP();
        if (!bwrap) {
                g_test_skip("bwrap not installed (Debian package bubblewrap)");
                return;
        }
        assert_runs_as_nobody((const char *const[]) { bwrap, "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev",
                                                      "--proc", "/proc", "true", NULL },
                              NULL);
}

static void test_strict_runs_shell(void) {
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        g_autofree char *out = NULL;
        int status;

        TEST_REQUIRE_SECCOMP();
        p = load_shipped("strict");

        out = run_shell_filtered(p, "echo ok", &status);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_cmpstr(out, ==, "ok\n");
}

static void test_strict_runs_pipeline(void) {
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        g_autofree char *out = NULL;
        int status;

        TEST_REQUIRE_SECCOMP();
        p = load_shipped("strict");

        /* A pipeline and a dynamically linked coreutils binary. */
        out = run_shell_filtered(p, "echo hi | cat; ls /", &status);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_true(g_str_has_prefix(out, "hi\n"));
        g_assert_nonnull(strstr(out, "\nproc\n"));
}

static void test_bad_names(void) {
        static const char *const names[] = { "../x", "", "A B", "a/b", ".", "Default", "x.seccomp" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                SeccompProfile *p = NULL;

                g_assert_cmpint(seccomp_profile_load(seccomp_profile_dir(), names[i], &p, NULL), ==, -EINVAL);
                g_assert_null(p);
        }
}

static void test_unknown_profile(void) {
        SeccompProfile *p = NULL;
        unsigned line = 42;

        g_assert_cmpint(seccomp_profile_load(seccomp_profile_dir(), "no-such-profile", &p, &line), ==, -ENOENT);
        g_assert_null(p);
        g_assert_cmpuint(line, ==, 0);
}

static void test_profile_dir(void) {
        g_autofree char *saved = g_strdup(g_getenv("PIDBROKER_SECCOMP_DIR"));

        g_assert_true(g_setenv("PIDBROKER_SECCOMP_DIR", "/somewhere", TRUE));
        g_assert_cmpstr(seccomp_profile_dir(), ==, "/somewhere");
        g_unsetenv("PIDBROKER_SECCOMP_DIR");
        g_assert_cmpstr(seccomp_profile_dir(), ==, PIDBROKER_SECCOMP_DIR);

        if (saved)
                g_setenv("PIDBROKER_SECCOMP_DIR", saved, TRUE);
}

/* Writes <dir>/<name>.seccomp. */
static void write_profile(const char *dir, const char *name, const char *text) {
        g_autofree char *path = g_strdup_printf("%s/%s.seccomp", dir, name);
        g_autoptr(GError) error = NULL;

        g_assert_true(g_file_set_contents(path, text, -1, &error));
        g_assert_no_error(error);
}

static void remove_tree(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *n;

        while (d && (n = g_dir_read_name(d))) {
                g_autofree char *path = g_build_filename(dir, n, NULL);
                g_assert_cmpint(g_unlink(path), ==, 0);
        }
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_malformed(void) {
        static const struct {
                const char *name;
                const char *text;
                unsigned line;
        } cases[] = {
                { "unknown-directive", "default allow\nfrobnicate ptrace\n", 2 },
                { "default-twice", "# comment\ndefault allow\ndefault allow\n", 3 },
                { "default-after-default-and-rule", "default allow\ndeny ptrace\n\ndefault deny\n", 4 },
                { "default-after-rule", "\n# c\ndeny ptrace\ndefault allow\n", 4 },
                { "deny-without-name", "default deny\nallow read\n  deny   # nothing\n", 3 },
                { "allow-without-name", "default deny\nallow\n", 2 },
                { "bad-default", "default maybe\n", 1 },
                { "trailing-word", "default allow\ndeny ptrace now\n", 2 },
                { "bad-syscall-name", "default allow\ndeny ../ptrace\n", 2 },
                { "conflict", "default allow\ndeny ptrace\nallow ptrace\n", 3 },
                { "no-default", "# c\ndeny ptrace\ndeny bpf\n", 2 },
                { "empty", "# nothing here\n", 0 },
        };
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp("test-seccomp-XXXXXX", &error);

        g_assert_no_error(error);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SeccompProfile *p = NULL;
                unsigned line = 1000;
                int r;

                write_profile(dir, cases[i].name, cases[i].text);
                r = seccomp_profile_load(dir, cases[i].name, &p, &line);
                g_test_message("%s: %d line %u", cases[i].name, r, line);
                g_assert_cmpint(r, ==, -EINVAL);
                g_assert_cmpuint(line, ==, cases[i].line);
                g_assert_null(p);
        }

        remove_tree(dir);
}

static int child_unknown_skipped(void *userdata) {
        if (load_filter(userdata) < 0)
                return CHILD_LOAD_FAILED;
        if (!fails_with_enosys(syscall(SYS_ptrace, PTRACE_PEEKDATA, 0, 0, 0)))
                return 1;
        if (syscall(SYS_getpid) != getpid())
                return 2;
        return 0;
}

static void test_unknown_syscall_skipped(void) {
        static const char *const checks[] = { "ptrace -> ENOSYS", "getpid works", NULL };
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp("test-seccomp-XXXXXX", &error);
        _cleanup_seccomp_profile_ SeccompProfile *p = NULL;
        unsigned line = 1000;
        int status;

        g_assert_no_error(error);

        /* Also: comments after a rule, indentation, CRLF, a rule that
         * restates the default, a duplicate rule. */
        write_profile(dir, "skip",
                      "# leading comment\n"
                      "  default allow   # trailing comment\n"
                      "deny made_up_syscall\n"
                      "allow getpid\n"
                      "deny\tptrace\r\n"
                      "deny ptrace\n");
        g_assert_cmpint(seccomp_profile_load(dir, "skip", &p, &line), ==, 0);
        g_assert_cmpuint(line, ==, 0);
        g_assert_nonnull(p);
        remove_tree(dir);

        TEST_REQUIRE_SECCOMP();
        status = test_run_in_child(child_unknown_skipped, p);
        g_assert_cmpint(status, >=, 0);
        assert_child_ok(status, checks);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/seccomp-profile/shipped-profiles-load", test_shipped_profiles_load);
        g_test_add_func("/seccomp-profile/default-denies", test_default_denies);
        g_test_add_func("/seccomp-profile/default-allows-sandboxes-and-debuggers",
                        test_default_allows_sandboxes_and_debuggers);
        g_test_add_func("/seccomp-profile/default-ptrace-own-child", test_default_ptrace_own_child);
        g_test_add_func("/seccomp-profile/default-userns-mount", test_default_userns_mount);
        g_test_add_func("/seccomp-profile/default-bwrap", test_default_bwrap);
#if defined(__x86_64__)
        g_test_add_func("/seccomp-profile/default-kills-x32", test_default_kills_x32);
#endif
        g_test_add_func("/seccomp-profile/strict-denies", test_strict_denies);
        g_test_add_func("/seccomp-profile/strict-runs-shell", test_strict_runs_shell);
        g_test_add_func("/seccomp-profile/strict-runs-pipeline", test_strict_runs_pipeline);
        g_test_add_func("/seccomp-profile/bad-names", test_bad_names);
        g_test_add_func("/seccomp-profile/unknown-profile", test_unknown_profile);
        g_test_add_func("/seccomp-profile/profile-dir", test_profile_dir);
        g_test_add_func("/seccomp-profile/malformed", test_malformed);
        g_test_add_func("/seccomp-profile/unknown-syscall-skipped", test_unknown_syscall_skipped);

        return g_test_run();
}
