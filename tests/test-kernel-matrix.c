/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Simulated kernels at the daemon level: the built pidbrokerd started behind
 * a seccomp filter (tests/seccomp-exec) that takes one pidfd primitive away,
 * answering ENOSYS, then EPERM. For each, the daemon must start, publish the
 * feature as missing, log one warning naming it and the fallback, leave no
 * child of its probes, take the documented fallback, label its metrics, and
 * still give spawn, Stop and Wait their true exit statuses without leaving a
 * zombie. Under ControlPath=pidfd it must refuse to start when the missing
 * primitive is one the pidfd path needs.
 *
 * One bus (dbus-daemon): nothing here depends on the bus implementation. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

#define ERR_NOT_SUPPORTED "org.pidbroker.Error.NotSupported"

typedef struct MatrixCase {
        const char *name;
        const char *blocks[4];   /* seccomp-exec cases, NULL-terminated */
        Feature feature;         /* the feature whose warning and Features entry are checked */
        const char *fallback;    /* words the warning must hold: the fallback taken */
        const char *also_warned; /* the start of one more warning, said once; NULL: none */
        bool legacy_spawn;       /* workloads are bare pids (no pidfd from clone3, clone or pidfd_open) */
        bool signal_fallback;    /* signals to workloads go by kill() */
        bool getfd_missing;      /* GetFd is NotSupported */
        bool pidfd_path_needs;   /* ControlPath=pidfd refuses to start without it */
} MatrixCase;

static const MatrixCase matrix_cases[] = {
        { "clone3", { "clone3" }, FEATURE_CLONE3, "clone(CLONE_PIDFD)" },
        { "clone-CLONE_PIDFD", { "clone-CLONE_PIDFD" }, FEATURE_CLONE_PIDFD, "fork and pidfd_open" },
        { "pidfd_open", { "pidfd_open" }, FEATURE_PIDFD_OPEN, "legacy adapter", .pidfd_path_needs = true },
        { "pidfd_send_signal", { "pidfd_send_signal" }, FEATURE_PIDFD_SEND_SIGNAL, "kill()",
          .signal_fallback = true, .pidfd_path_needs = true },
        { "waitid-P_PIDFD", { "waitid-P_PIDFD" }, FEATURE_WAITID_PIDFD, "waitid(P_PID)", .pidfd_path_needs = true },
        { "pidfd_getfd", { "pidfd_getfd" }, FEATURE_PIDFD_GETFD, "GetFd is NotSupported", .getfd_missing = true },
        { "PIDFD_GET_INFO", { "PIDFD_GET_INFO" }, FEATURE_PIDFD_GET_INFO, "/proc" },
        { "SO_PEERPIDFD", { "SO_PEERPIDFD" }, FEATURE_SO_PEERPIDFD, "pinned by pid" },
        /* No pidfd for a child at all: the legacy PID path for workloads. */
        { "every-child-pidfd", { "clone3", "clone-CLONE_PIDFD", "pidfd_open" }, FEATURE_PIDFD_OPEN, "legacy adapter",
          .also_warned = "No pidfd for new workloads",
          .legacy_spawn = true, .signal_fallback = true, .pidfd_path_needs = true },
};

static const int matrix_errnos[] = { ENOSYS, EPERM };

typedef struct MatrixRun {
        const MatrixCase *c;
        int err;
} MatrixRun;

static MatrixRun matrix_runs[G_N_ELEMENTS(matrix_cases) * G_N_ELEMENTS(matrix_errnos)];

static const char *seccomp_exec(void) {
        const char *p = g_getenv("PIDBROKER_SECCOMP_EXEC");
        g_assert_nonnull(p);
        return p;
}

/* seccomp-exec ERRNO CASE... -- */
static GPtrArray *wrapper_argv(const MatrixCase *c, int err) {
        GPtrArray *w = g_ptr_array_new();
        g_ptr_array_add(w, (char *) seccomp_exec());
        g_ptr_array_add(w, (char *) strerrorname_np(err));
        for (size_t i = 0; c->blocks[i]; i++)
                g_ptr_array_add(w, (char *) c->blocks[i]);
        g_ptr_array_add(w, (char *) "--");
        g_ptr_array_add(w, NULL);
        return w;
}

static goffset file_size(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The daemon's log from offset on. */
static char *log_since(goffset offset) {
        g_autofree char *all = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(T.daemon_log, &all, &len, NULL));
        g_assert_cmpint((goffset) len, >=, offset);
        return g_strdup(all + offset);
}

/* Start the daemon behind the filter; only warnings and worse are logged,
 * so every line about a feature is a warning. Returns where its log starts. */
static goffset daemon_start_blocked(const MatrixCase *c, int err, const char *const *extra) {
        g_autoptr(GPtrArray) w = wrapper_argv(c, err);
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        goffset offset;

        daemon_stop();
        offset = file_size(T.daemon_log);
        g_ptr_array_add(args, (char *) "--log-level=warning");
        for (const char *const *a = extra; a && *a; a++)
                g_ptr_array_add(args, (char *) *a);
        g_ptr_array_add(args, NULL);
        T.daemon_wrapper = (const char *const *) w->pdata;
        daemon_start((const char *const *) args->pdata);
        T.daemon_wrapper = NULL;
        return offset;
}

static char *broker_control_path(void) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "ControlPath", &e);
        g_assert_no_error(e);
        return g_variant_dup_string(v, NULL);
}

static void assert_feature_missing(Feature f, int err) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) features = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "Features", &e);
        bool found = false;

        g_assert_no_error(e);
        for (gsize i = 0; i < g_variant_n_children(features); i++) {
                const char *name, *detail;
                gboolean avail;
                g_variant_get_child(features, i, "(&sb&s)", &name, &avail, &detail);
                if (!g_str_equal(name, feature_name(f)))
                        continue;
                found = true;
                g_assert_false(avail);
                /* The detail says why: the errno the filter answered. */
                g_assert_nonnull(strstr(detail, strerrorname_np(err)));
        }
        g_assert_true(found);
}

/* Exactly one line holds needle, and it holds fallback. */
static void assert_one_line(const char *log, const char *needle, const char *fallback) {
        g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
        unsigned n = 0;

        for (char **l = lines; *l; l++)
                if (strstr(*l, needle)) {
                        n++;
                        g_test_message("%s", *l);
                        g_assert_nonnull(strstr(*l, fallback));
                }
        if (n != 1)
                g_error("%u lines say \"%s\" in:\n%s", n, needle, log);
}

/* Exactly one line names the feature as missing, and it names the fallback. */
static void assert_one_warning(const char *log, Feature f, const char *fallback) {
        g_autofree char *needle = g_strdup_printf("Kernel feature %s is missing", feature_name(f));
        assert_one_line(log, needle, fallback);
}

/* Children the daemon has not reaped yet may still be on their way out:
 * give a reap that follows a reply a moment. */
static void assert_no_children(pid_t pid) {
        for (int i = 0; i < 100 && count_children(pid) > 0; i++)
                g_usleep(20000);
        g_assert_cmpuint(count_zombie_children(pid), ==, 0);
        g_assert_cmpuint(count_children(pid), ==, 0);
}

/* "fd -> target" lines of pid's open fds, for a message when they differ. */
static char *describe_fds(pid_t pid) {
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        GString *s = g_string_new(NULL);
        const char *n;

        while (d && (n = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, n, NULL);
                g_autofree char *target = g_file_read_link(p, NULL);
                g_string_append_printf(s, " %s->%s", n, target ?: "?");
        }
        return g_string_free(s, FALSE);
}

/* Back to the fds it had before: what the calls opened is closed again. */
static void assert_fds_back_to(pid_t pid, unsigned before, const char *before_desc) {
        for (int i = 0; i < 100 && count_fds(pid) != before; i++)
                g_usleep(20000);
        if (count_fds(pid) != before) {
                g_autofree char *now = describe_fds(pid);
                g_error("%u fds before:%s\n%u now:%s", before, before_desc, count_fds(pid), now);
        }
}

static char *spawn_helper(const char *const *args, int *ret_pidfd) {
        g_autoptr(GError) e = NULL;
        char *path = NULL;
        guint64 id;

        g_assert_true(spawn_full(root_bus(), argv_helper(args), NULL, NULL, 0, NULL, &path, ret_pidfd, &id, &e));
        g_assert_no_error(e);
        return path;
}

static bool is_dev_null(int fd) {
        struct stat st;
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        return S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

/* The Spawn reply's pidfd slot: a pidfd, or /dev/null on the legacy path. */
static void check_reply_pidfd(const MatrixCase *c, int fd) {
        if (c->legacy_spawn) {
                g_assert_true(is_dev_null(fd));
        } else {
                g_assert_false(is_dev_null(fd));
                g_assert_cmpint(fdinfo_pid(fd), !=, 0);
        }
}

/* require_pidfd: refused on the legacy path, before anything runs. */
static void check_require_pidfd(const MatrixCase *c) {
        const char *exit0[] = { "exit", "0", NULL };
        g_autoptr(GError) e = NULL;
        g_autofree char *path = NULL, *code = NULL;
        guint64 ok_before = broker_metric("spawns.ok"), id;
        int pidfd = -1, status;
        gboolean ok;

        ok = spawn_full(root_bus(), argv_helper(exit0), NULL, NULL, 0,
                        one_option("require_pidfd", g_variant_new_boolean(TRUE)), &path, &pidfd, &id, &e);
        if (c->legacy_spawn) {
                g_assert_false(ok);
                assert_dbus_error(e, ERR_NOT_SUPPORTED);
                g_assert_cmpuint(broker_metric("spawns.ok"), ==, ok_before);
                assert_no_children(T.daemon_pid);
                return;
        }
        g_assert_no_error(e);
        g_assert_true(ok);
        check_reply_pidfd(c, pidfd);
        wait_workload(root_bus(), path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 0);
        release_workload(root_bus(), path);
        close(pidfd);
}

/* A process of the test's, not the daemon's: signalled through its pidfd. */
static void check_signal_non_child(const MatrixCase *c) {
        const char *argv[] = { test_helper_path(), "sleep", "3600", NULL };
        g_autoptr(GError) e = NULL;
        GPid pid;
        int status, pidfd;

        g_assert_true(g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &e));
        g_assert_no_error(e);
        pidfd = pidfd_open_or_die(pid);
        if (c->feature == FEATURE_PIDFD_SEND_SIGNAL) {
                /* kill() would be safe for the daemon's own unreaped children only. */
                g_assert_false(broker_signal(root_bus(), pidfd, SIGTERM, 0, &e));
                assert_dbus_error(e, ERR_NOT_SUPPORTED);
                g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
                g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
                g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        } else {
                g_assert_true(broker_signal(root_bus(), pidfd, SIGTERM, 0, &e));
                g_assert_no_error(e);
                g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
                g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        }
        close(pidfd);
}

/* Signal 0 to ourselves: NotSupported without pidfd_send_signal, since we
 * are not the daemon's child. */
static void warm_up(void) {
        g_autoptr(GError) e = NULL;
        int self = pidfd_open_or_die(getpid());
        (void) broker_signal(root_bus(), self, 0, 0, &e);
        close(self);
}

static void check_getfd(const MatrixCase *c, pid_t workload_pid) {
        g_autoptr(GError) e = NULL;
        /* Our own pidfd of the workload: on the legacy path the Spawn reply
         * has none to give. */
        int pidfd = pidfd_open_or_die(workload_pid);
        int fd = broker_get_fd(root_bus(), pidfd, 1, &e);

        if (c->getfd_missing) {
                g_assert_cmpint(fd, <, 0);
                assert_dbus_error(e, ERR_NOT_SUPPORTED);
        } else {
                g_assert_no_error(e);
                g_assert_cmpint(fd, >=, 0);
                close(fd);
        }
        close(pidfd);
}

static void test_matrix(gconstpointer data) {
        const MatrixRun *run = data;
        const MatrixCase *c = run->c;
        const char *exit7[] = { "exit", "7", NULL }, *sleep_args[] = { "sleep", "3600", NULL };
        g_autofree char *log = NULL, *fds_desc = NULL, *code = NULL, *exit_path = NULL, *stop_path = NULL, *cp = NULL;
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) stopped = NULL;
        guint64 legacy_before, pidfd_before, fallback_before, ok_before, exited_before;
        unsigned fds_before;
        goffset offset;
        int status, pidfd_exit = -1, pidfd_stop = -1;
        const char *s;

        /* The test's own pidfds of a workload and of a process of its own. */
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN);
        offset = daemon_start_blocked(c, run->err, NULL);

        /* It started; the probes left nothing behind. */
        g_assert_cmpuint(count_children(T.daemon_pid), ==, 0);
        assert_feature_missing(c->feature, run->err);
        log = log_since(offset);
        assert_one_warning(log, c->feature, c->fallback);
        if (c->also_warned)
                assert_one_line(log, c->also_warned, "/dev/null");

        cp = broker_control_path();
        g_assert_cmpstr(cp, ==, c->legacy_spawn ? "legacy_pid" : "pidfd");

        /* A first call: from here on the daemon keeps our connection's
         * identity (one pidfd), and the baselines are taken after it. */
        warm_up();
        fds_before = count_fds_settled(T.daemon_pid);
        fds_desc = describe_fds(T.daemon_pid);
        legacy_before = broker_metric("control_path.legacy_pid");
        pidfd_before = broker_metric("control_path.pidfd");
        fallback_before = broker_metric("signal_result.fallback");
        ok_before = broker_metric("signal_result.ok");
        exited_before = broker_metric("wait_result.exited");

        /* exit 7 comes back as it is. */
        exit_path = spawn_helper(exit7, &pidfd_exit);
        check_reply_pidfd(c, pidfd_exit);
        g_free(cp);
        cp = get_str(root_bus(), exit_path, "ControlPath");
        g_assert_cmpstr(cp, ==, c->legacy_spawn ? "legacy_pid" : "pidfd");
        wait_workload(root_bus(), exit_path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 7);
        release_workload(root_bus(), exit_path);
        check_require_pidfd(c);

        /* Stop: SIGTERM, through the pidfd or kill(). */
        stop_path = spawn_helper(sleep_args, &pidfd_stop);
        check_getfd(c, (pid_t) get_u32(root_bus(), stop_path, "Pid"));
        stopped = call(root_bus(), stop_path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        g_variant_get(stopped, "(&si)", &s, &status);
        g_assert_cmpstr(s, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        g_free(code);
        wait_workload(root_bus(), stop_path, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        release_workload(root_bus(), stop_path);
        close(pidfd_exit);
        close(pidfd_stop);

        check_signal_non_child(c);

        /* The labels say which path was taken. */
        g_assert_cmpuint(broker_metric("wait_result.exited"), >=, exited_before + 2);
        if (c->legacy_spawn) {
                g_assert_cmpuint(broker_metric("control_path.legacy_pid"), >, legacy_before);
        } else {
                g_assert_cmpuint(broker_metric("control_path.legacy_pid"), ==, legacy_before);
                g_assert_cmpuint(broker_metric("control_path.pidfd"), >, pidfd_before);
        }
        if (c->signal_fallback) {
                g_assert_cmpuint(broker_metric("signal_result.fallback"), >=, fallback_before + 1);
        } else {
                g_assert_cmpuint(broker_metric("signal_result.fallback"), ==, fallback_before);
                g_assert_cmpuint(broker_metric("signal_result.ok"), >=, ok_before + 2);
        }

        /* No zombie, no child, no fd left. */
        assert_no_children(T.daemon_pid);
        assert_fds_back_to(T.daemon_pid, fds_before, fds_desc);
}

/* ControlPath=pidfd: refuses to start without a primitive the pidfd path
 * needs, starts and serves on the pidfd path otherwise. */
static void test_control_path_pidfd(gconstpointer data) {
        const MatrixCase *c = data;
        const char *extra[] = { "--control-path=pidfd", NULL };

        if (c->pidfd_path_needs) {
                g_autoptr(GPtrArray) argv = wrapper_argv(c, ENOSYS);
                g_autoptr(GError) e = NULL;
                g_autofree char *out = NULL, *err = NULL;
                int status;

                g_ptr_array_remove_index(argv, argv->len - 1);
                g_ptr_array_add(argv, (char *) g_getenv("PIDBROKERD"));
                g_ptr_array_add(argv, (char *) "--control-path=pidfd");
                g_ptr_array_add(argv, (char *) "--log-target=stderr");
                g_ptr_array_add(argv, NULL);
                g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                           &err, &status, &e));
                g_assert_no_error(e);
                g_test_message("%s", err);
                g_assert_true(WIFEXITED(status));
                g_assert_cmpint(WEXITSTATUS(status), !=, 0);
                g_assert_nonnull(strstr(err, "refusing to start"));
        } else {
                const char *exit7[] = { "exit", "7", NULL };
                g_autofree char *path = NULL, *code = NULL, *cp = NULL;
                int status, pidfd = -1;

                daemon_start_blocked(c, ENOSYS, extra);
                cp = broker_control_path();
                g_assert_cmpstr(cp, ==, "pidfd");
                path = spawn_helper(exit7, &pidfd);
                wait_workload(root_bus(), path, &code, &status);
                g_assert_cmpstr(code, ==, "exited");
                g_assert_cmpint(status, ==, 7);
                release_workload(root_bus(), path);
                close(pidfd);
                assert_no_children(T.daemon_pid);
        }
}

/* ControlPath=legacy by the site's choice: Spawn replies carry /dev/null,
 * require_pidfd is NotSupported, and exit statuses still hold. */
static void test_site_legacy(void) {
        static const MatrixCase legacy = { "site-legacy", .legacy_spawn = true };
        const char *extra[] = { "--control-path=legacy", NULL };
        const char *exit7[] = { "exit", "7", NULL };
        g_autofree char *path = NULL, *code = NULL;
        int pidfd = -1, status;

        daemon_restart(extra);
        path = spawn_helper(exit7, &pidfd);
        check_reply_pidfd(&legacy, pidfd);
        wait_workload(root_bus(), path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 7);
        release_workload(root_bus(), path);
        close(pidfd);
        check_require_pidfd(&legacy);
        assert_no_children(T.daemon_pid);
}

static void register_tests(void) {
        add_test("site-legacy", test_site_legacy);
        for (size_t i = 0; i < G_N_ELEMENTS(matrix_cases); i++) {
                for (size_t j = 0; j < G_N_ELEMENTS(matrix_errnos); j++) {
                        MatrixRun *m = &matrix_runs[i * G_N_ELEMENTS(matrix_errnos) + j];
                        g_autofree char *name = NULL;

                        *m = (MatrixRun) { &matrix_cases[i], matrix_errnos[j] };
                        name = g_strdup_printf("%s/%s", matrix_cases[i].name, strerrorname_np(matrix_errnos[j]));
                        add_test_data(name, m, test_matrix);
                }
        }
        for (size_t i = 0; i < G_N_ELEMENTS(matrix_cases); i++) {
                g_autofree char *name = g_strdup_printf("control-path-pidfd/%s", matrix_cases[i].name);
                add_test_data(name, &matrix_cases[i], test_control_path_pidfd);
        }
}

static int client_main(int argc, char *argv[]) {
        return 1;
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "kernel-matrix" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
