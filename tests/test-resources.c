/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A workload's rlimits, nice and oom_score_adj (issue 9), against the built
 * pidbrokerd on a private bus (daemon-harness.h), with the clients as real
 * unprivileged uids (nobody, daemon):
 *
 *  - by default they are the caller's own, read through its pidfd, never
 *    the daemon's (whose own are made to differ here: oom_score_adj -500,
 *    nice -3, a higher NOFILE);
 *  - a caller the bus names by pid only ("bus-pid-unpinned") gets its own
 *    only up to an unprivileged process's defaults;
 *  - more than the caller's (a hard limit above its own, a lower nice or
 *    oom_score_adj) asks org.pidbroker.spawn-privileged: refused for
 *    unprivileged callers, allowed for root; as much or less is plain spawn;
 *  - bad values are InvalidArgument, naming what is wrong;
 *  - the process-group signal scope reaches a pid-namespace workload, whose
 *    init shows in ps as pidbroker-init, leading its own group. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

#define ACTION_SPAWN_PRIVILEGED "org.pidbroker.spawn-privileged"

/* What the daemon has that no workload may get. */
#define DAEMON_OOM_SCORE_ADJ (-500)
#define DAEMON_NICE (-3)
#define DAEMON_NOFILE 30000

/* An unpinned caller's values count up to these (caller-resources.c). */
#define UNPINNED_NOFILE_HARD 524288

static const char *const SLEEP_ARGS[] = { "sleep", "60", NULL };

/* ---------- reading a process's resources from /proc ---------- */

/* A /proc file takes one write() in place, never a rename. */
static void write_oom_score_adj(pid_t pid, int value) {
        g_autofree char *path = g_strdup_printf("/proc/%d/oom_score_adj", (int) pid);
        g_autofree char *text = g_strdup_printf("%d", value);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        g_assert_no_errno(fd);
        g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t) strlen(text));
        close(fd);
}

/* "<prefix>nofile=S H", "...nproc=S H", "...nice=N", "...oom=N" lines for a process. */
static void print_resources(const char *prefix, pid_t pid) {
        char soft[32], hard[32];
        test_proc_limit(pid, "Max open files", soft, hard);
        printf("%snofile=%s %s\n", prefix, soft, hard);
        test_proc_limit(pid, "Max processes", soft, hard);
        printf("%snproc=%s %s\n", prefix, soft, hard);
        printf("%snice=%d\n%soom=%d\n", prefix, test_proc_nice(pid), prefix, test_proc_int(pid, "oom_score_adj"));
        fflush(stdout);
}

/* ---------- client side ---------- */

static GVariant *options_of(const char *const *kv_names, GVariant *const *values, size_t n) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        for (size_t i = 0; i < n; i++)
                g_variant_builder_add(&b, "{sv}", kv_names[i], values[i]);
        return g_variant_builder_end(&b);
}

static GVariant *rlimit_option(const char *name, guint64 soft, guint64 hard) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{s(tt)}"));
        g_variant_builder_add(&b, "{s(tt)}", name, soft, hard);
        return g_variant_builder_end(&b);
}

/* Spawn the sleeping helper with options; its pid, or 0 with *error set. */
static pid_t spawn_sleeper(GDBusConnection *c, GVariant *options, char **ret_path, GError **error) {
        int pidfd = -1;
        if (!spawn_full(c, argv_helper(SLEEP_ARGS), NULL, NULL, 0, options, ret_path, &pidfd, NULL, error))
                return 0;
        pid_t pid = fdinfo_pid(pidfd);
        close(pidfd);
        if (pid <= 0) {
                g_autofree char *code = NULL;
                int status;
                get_exit_status(c, *ret_path, &code, &status);
                g_error("the workload is gone already: %s %d", code, status);
        }
        return pid;
}

/* Processes whose real uid is ours. */
static rlim_t count_own_processes(void) {
        g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
        const char *name;
        rlim_t n = 0;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *path = g_strdup_printf("/proc/%s", name);
                struct stat st;
                if (name[0] >= '0' && name[0] <= '9' && stat(path, &st) == 0 && st.st_uid == getuid())
                        n++;
        }
        return n;
}

/* The caller limits itself (the resources named in the lines it prints),
 * then spawns with no resource option: the workload's are printed. */
static int client_own_limits(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;

        /* 200, unless the uid has that many processes already (RLIMIT_NPROC
         * counts all of them, other programs' too): the workload's exec
         * would be refused. */
        rlim_t nproc = 200, others = count_own_processes();
        if (others >= 100)
                nproc = others + 200;
        g_assert_no_errno(setrlimit(RLIMIT_NOFILE, &(struct rlimit) { 64, 64 }));
        g_assert_no_errno(setrlimit(RLIMIT_NPROC, &(struct rlimit) { nproc, nproc }));
        printf("want_nproc=%llu %llu\n", (unsigned long long) nproc, (unsigned long long) nproc);
        g_assert_no_errno(setpriority(PRIO_PROCESS, 0, 7));
        write_oom_score_adj(getpid(), 250);
        print_identity(c);

        pid_t pid = spawn_sleeper(c, NULL, &path, &e);
        g_assert_no_error(e);
        print_resources("", pid);
        stop_and_release(c, path);
        return 0;
}

/* No change of its own: what the test gave this process (a negative nice
 * and oom_score_adj, a NOFILE hard limit above an unpinned caller's cap). */
static int client_inherited(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;

        print_identity(c);
        print_resources("caller_", getpid());
        pid_t pid = spawn_sleeper(c, NULL, &path, &e);
        g_assert_no_error(e);
        print_resources("", pid);
        stop_and_release(c, path);
        return 0;
}

/* key=ok (and the workload's values checked), or key=<D-Bus error name>. */
static void try_spawn(GDBusConnection *c, const char *key, const char *option, GVariant *value) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        pid_t pid = spawn_sleeper(c, options_of(&option, &value, 1), &path, &e);
        if (pid == 0) {
                g_autofree char *name = g_dbus_error_get_remote_error(e);
                printf("%s=%s\n%s_message=%s\n", key, name ?: "?", key, e->message);
        } else {
                g_autofree char *prefix = g_strdup_printf("%s_", key);
                printf("%s=ok\n", key);
                print_resources(prefix, pid);
                stop_and_release(c, path);
        }
        fflush(stdout);
}

/* Up to the caller's own is plain spawn; beyond it is privileged. */
static int client_beyond(GDBusConnection *c) {
        g_assert_no_errno(setrlimit(RLIMIT_NOFILE, &(struct rlimit) { 64, 4096 }));
        g_assert_no_errno(setpriority(PRIO_PROCESS, 0, 4));
        write_oom_score_adj(getpid(), 100);
        print_identity(c);

        try_spawn(c, "nofile_own_hard", "rlimits", rlimit_option("NOFILE", 4096, 4096));
        try_spawn(c, "nofile_lower", "rlimits", rlimit_option("nofile", 16, 32));
        try_spawn(c, "nofile_above", "rlimits", rlimit_option("NOFILE", 64, 4097));
        try_spawn(c, "nofile_infinity", "rlimits", rlimit_option("NOFILE", 64, UINT64_MAX));
        try_spawn(c, "nice_higher", "nice", g_variant_new_int32(9));
        try_spawn(c, "nice_own", "nice", g_variant_new_int32(4));
        try_spawn(c, "nice_lower", "nice", g_variant_new_int32(3));
        try_spawn(c, "oom_higher", "oom_score_adj", g_variant_new_int32(600));
        try_spawn(c, "oom_own", "oom_score_adj", g_variant_new_int32(100));
        try_spawn(c, "oom_lower", "oom_score_adj", g_variant_new_int32(99));
        /* This client is a process of its uid already: execve() refuses. */
        try_spawn(c, "nproc_exceeded", "rlimits", rlimit_option("NPROC", 0, 0));
        return 0;
}

/* A pid-namespace workload and the process-group scope: the init leads
 * the group, so the group signal reaches the workload. */
static int client_group_signal(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd = -1;

        print_identity(c);
        g_assert_true(spawn_full(c, argv_helper(SLEEP_ARGS), NULL, NULL, 0,
                                 ns_options((const char *const[]) { "pid", NULL }, false, 0), &path, &pidfd, NULL, &e));
        g_assert_no_error(e);
        printf("init_pid=%d\n", fdinfo_pid(pidfd));
        fflush(stdout);
        /* The test looks at the init in ps while it runs. */
        g_autofree char *go = read_line_fd(STDIN_FILENO, 30000);
        g_assert_cmpstr(go, ==, "signal");

        g_autoptr(GError) e2 = NULL;
        gboolean ok = broker_signal(c, pidfd, SIGTERM, 4 /* PIDFD_SIGNAL_PROCESS_GROUP */, &e2);
        g_autofree char *name = ok ? NULL : g_dbus_error_get_remote_error(e2);
        printf("signal=%s\n", ok ? "ok" : name ?: "?");
        g_autofree char *code = NULL;
        int status;
        if (!ok)
                stop_and_release(c, path);
        else {
                wait_workload(c, path, &code, &status);
                printf("exit=%s %d\n", code, status);
                release_workload(c, path);
        }
        close(pidfd);
        fflush(stdout);
        return 0;
}

static int client_main(int argc, char *argv[]) {
        const char *scenario = argv[2];
        /* [ARG]: the direct socket's path, for a pinned caller (SO_PEERPIDFD). */
        g_autoptr(GDBusConnection) c = client_connect(argc >= 4 ? argv[3] : NULL);

        if (g_str_equal(scenario, "own-limits"))
                return client_own_limits(c);
        if (g_str_equal(scenario, "inherited"))
                return client_inherited(c);
        if (g_str_equal(scenario, "beyond"))
                return client_beyond(c);
        if (g_str_equal(scenario, "group-signal"))
                return client_group_signal(c);
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ---------- test side ---------- */

/* Lowering an oom_score_adj below its floor and raising a hard limit
 * need it; some containers' root lacks it. */
static bool have_sys_resource(void) {
        return test_have_capability(CAP_SYS_RESOURCE);
}

/* The daemon's own values, unlike any a caller here has: a workload that
 * got them would show. Where root lacks CAP_SYS_RESOURCE, the daemon's
 * oom_score_adj and NOFILE stay as they are (0 and this process's, still
 * unlike the callers'): it could give no caller less than its own
 * oom_score_adj, nor more than its own hard limits. */
static void daemon_state_differs(void) {
        g_assert_no_errno(setpriority(PRIO_PROCESS, (id_t) T.daemon_pid, DAEMON_NICE));
        g_assert_cmpint(test_proc_nice(T.daemon_pid), ==, DAEMON_NICE);
        if (!have_sys_resource()) {
                g_test_message("no CAP_SYS_RESOURCE: the daemon keeps oom_score_adj %d",
                               test_proc_int(T.daemon_pid, "oom_score_adj"));
                return;
        }
        write_oom_score_adj(T.daemon_pid, DAEMON_OOM_SCORE_ADJ);
        g_assert_no_errno(prlimit(T.daemon_pid, RLIMIT_NOFILE, &(struct rlimit) { DAEMON_NOFILE, DAEMON_NOFILE }, NULL));
        g_assert_cmpint(test_proc_int(T.daemon_pid, "oom_score_adj"), ==, DAEMON_OOM_SCORE_ADJ);
}

/* The subject.identity of the client's Spawn record. */
static char *spawn_identity(gint64 seq0, const char *out) {
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *pid = client_output_get(out, "pid");
        g_autoptr(GPtrArray) recs = audit_records_since(seq0, name, atoi(pid));
        for (guint i = 0; i < recs->len; i++)
                if (g_str_equal(jv_str(recs->pdata[i], "action"), "org.pidbroker.spawn"))
                        return g_strdup(jv_str(recs->pdata[i], "subject.identity"));
        g_error("no spawn record of %s", name);
}

static void assert_output(const char *out, const char *key, const char *want) {
        g_autofree char *v = client_output_get(out, key);
        g_assert_cmpstr(v, ==, want);
}

/* Each unprivileged uid, on the bus and on the direct socket. */
#define N_CALLERS 4
static uid_t caller_uid(size_t i) {
        return i % 2 == 0 ? UID_NOBODY : UID_DAEMON;
}
static const char *caller_socket(size_t i) {
        return i < 2 ? NULL : T.private_socket;
}

/* The caller's limits, set by itself: exactly those, pinned or not. */
static void test_own_limits(void) {
        daemon_state_differs();
        for (size_t i = 0; i < N_CALLERS; i++) {
                uid_t uid = caller_uid(i);
                gint64 seq0 = audit_last_seq();
                g_autofree char *out = client_run(uid, (const char *const[]) { "own-limits", caller_socket(i), NULL });
                g_test_message("uid %u:\n%s", (unsigned) uid, out);
                g_autofree char *identity = spawn_identity(seq0, out);
                g_test_message("identity %s", identity);
                assert_output(out, "nofile", "64 64");
                g_autofree char *want_nproc = client_output_get(out, "want_nproc");
                assert_output(out, "nproc", want_nproc);
                assert_output(out, "nice", "7");
                assert_output(out, "oom", "250");
        }
}

/* What a process was given that it could not take itself (root lowered
 * its nice, and with CAP_SYS_RESOURCE its oom_score_adj, and raised its
 * NOFILE, before it dropped to its uid): its workload gets the same when
 * the caller is pinned; an unpinned caller's count only up to an
 * unprivileged process's defaults. */
static void test_inherited(void) {
        bool sys_resource = have_sys_resource();
        struct rlimit saved_nofile;
        int saved_nice, saved_oom = test_proc_int(getpid(), "oom_score_adj");

        daemon_state_differs();
        errno = 0;
        saved_nice = getpriority(PRIO_PROCESS, 0);
        g_assert_cmpint(errno, ==, 0);
        g_assert_no_errno(getrlimit(RLIMIT_NOFILE, &saved_nofile));

        for (size_t i = 0; i < N_CALLERS; i++) {
                uid_t uid = caller_uid(i);
                gint64 seq0 = audit_last_seq();

                /* The client is forked from this thread: it inherits them. */
                g_assert_no_errno(setpriority(PRIO_PROCESS, 0, -2));
                if (sys_resource) {
                        write_oom_score_adj(getpid(), -100);
                        g_assert_no_errno(setrlimit(RLIMIT_NOFILE, &(struct rlimit) { 1024, 600000 }));
                }
                GSubprocess *p = client_start(uid, (const char *const[]) { "inherited", caller_socket(i), NULL });
                g_assert_no_errno(setpriority(PRIO_PROCESS, 0, saved_nice));
                if (sys_resource) {
                        write_oom_score_adj(getpid(), saved_oom);
                        g_assert_no_errno(setrlimit(RLIMIT_NOFILE, &saved_nofile));
                }
                g_autofree char *out = read_all_fd(client_stdout_fd(p));
                client_finish(p);
                g_object_unref(p);

                g_test_message("uid %u:\n%s", (unsigned) uid, out);
                g_autofree char *caller_nofile = client_output_get(out, "caller_nofile");
                g_autofree char *caller_oom = client_output_get(out, "caller_oom");
                assert_output(out, "caller_nice", "-2");
                if (sys_resource) {
                        g_assert_cmpstr(caller_nofile, ==, "1024 600000");
                        g_assert_cmpstr(caller_oom, ==, "-100");
                }
                g_autofree char *identity = spawn_identity(seq0, out);
                g_test_message("identity %s", identity);
                if (g_str_equal(identity, "bus-pid-unpinned")) {
                        g_autofree char *nofile = g_strdup_printf("1024 %d", UNPINNED_NOFILE_HARD);
                        assert_output(out, "nofile", sys_resource ? nofile : caller_nofile);
                        assert_output(out, "nice", "0");
                        assert_output(out, "oom", sys_resource ? "0" : caller_oom);
                } else {
                        g_assert_true(g_str_equal(identity, "bus-processfd") || g_str_equal(identity, "peer-pidfd"));
                        assert_output(out, "nofile", caller_nofile);
                        assert_output(out, "nice", "-2");
                        assert_output(out, "oom", caller_oom);
                }
        }
}

static void assert_denied_privileged(const char *out, const char *key) {
        assert_output(out, key, ERR_DENIED);
        g_autofree char *k = g_strdup_printf("%s_message", key);
        g_autofree char *message = client_output_get(out, k);
        g_assert_nonnull(strstr(message, ACTION_SPAWN_PRIVILEGED));
}

static void test_beyond_caller(void) {
        daemon_state_differs();
        for (size_t i = 0; i < 2; i++) {
                uid_t uid = i == 0 ? UID_NOBODY : UID_DAEMON;
                gint64 seq0 = audit_last_seq();
                g_autofree char *out = client_run(uid, (const char *const[]) { "beyond", NULL });
                g_test_message("uid %u:\n%s", (unsigned) uid, out);

                /* As much as the caller has, or less: plain spawn, and given. */
                assert_output(out, "nofile_own_hard", "ok");
                assert_output(out, "nofile_own_hard_nofile", "4096 4096");
                assert_output(out, "nofile_own_hard_nice", "4");
                assert_output(out, "nofile_own_hard_oom", "100");
                assert_output(out, "nofile_lower", "ok");
                assert_output(out, "nofile_lower_nofile", "16 32");
                assert_output(out, "nice_higher", "ok");
                assert_output(out, "nice_higher_nice", "9");
                assert_output(out, "nice_own", "ok");
                assert_output(out, "nice_own_nofile", "64 4096");
                assert_output(out, "oom_higher", "ok");
                assert_output(out, "oom_higher_oom", "600");
                assert_output(out, "oom_own", "ok");
                assert_output(out, "oom_own_oom", "100");

                /* A limit the workload is over already fails its exec, and
                 *    says so: it is no workload that exits 127. */
                assert_output(out, "nproc_exceeded", ERR_SPAWN_FAILED);
                g_autofree char *nproc_message = client_output_get(out, "nproc_exceeded_message");
                g_assert_nonnull(strstr(nproc_message, "exec failed"));
                g_assert_nonnull(strstr(nproc_message, "EAGAIN"));

                /* More: spawn-privileged, auth_admin, denied. */
                assert_denied_privileged(out, "nofile_above");
                assert_denied_privileged(out, "nofile_infinity");
                assert_denied_privileged(out, "nice_lower");
                assert_denied_privileged(out, "oom_lower");

                g_autofree char *name = client_output_get(out, "name");
                g_autoptr(GPtrArray) recs = audit_records_since(seq0, name, 0);
                unsigned denials = 0;
                for (guint j = 0; j < recs->len; j++)
                        if (g_str_equal(jv_str(recs->pdata[j], "decision"), "deny")) {
                                g_assert_cmpstr(jv_str(recs->pdata[j], "action"), ==, ACTION_SPAWN_PRIVILEGED);
                                denials++;
                        }
                g_assert_cmpuint(denials, ==, 4);
        }
}

/* Whether root's last Spawn was allowed as spawn-privileged. */
static void assert_allowed_privileged(GDBusConnection *c, gint64 seq0) {
        g_autoptr(GPtrArray) recs = audit_records_since(seq0, g_dbus_connection_get_unique_name(c), 0);
        g_assert_cmpuint(recs->len, >=, 1);
        g_assert_cmpstr(jv_str(recs->pdata[0], "action"), ==, ACTION_SPAWN_PRIVILEGED);
        g_assert_cmpstr(jv_str(recs->pdata[0], "decision"), ==, "allow");
        g_assert_cmpstr(jv_str(recs->pdata[0], "rule"), ==, "default:auth_admin:root");
}

/* Root may: spawn-privileged's default lets root through. What the kernel
 * then refuses a daemon without CAP_SYS_RESOURCE fails at its step. */
static void test_beyond_caller_root(void) {
        GDBusConnection *c = root_bus();
        struct rlimit own;
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        char soft[32], hard[32];

        daemon_state_differs();
        g_assert_no_errno(getrlimit(RLIMIT_NOFILE, &own));
        g_assert_cmpuint(own.rlim_max, <, 40000);

        gint64 seq0 = audit_last_seq();
        const char *nice = "nice";
        GVariant *v = g_variant_new_int32(-7);
        pid_t pid = spawn_sleeper(c, options_of(&nice, &v, 1), &path, &e);
        g_assert_no_error(e);
        g_assert_cmpint(test_proc_nice(pid), ==, -7);
        stop_and_release(c, path);
        assert_allowed_privileged(c, seq0);

        const char *names[] = { "rlimits", "oom_score_adj" };
        for (size_t i = 0; i < 2; i++) {
                g_autofree char *p = NULL;
                g_autoptr(GError) e2 = NULL;
                GVariant *value = i == 0 ? rlimit_option("NOFILE", 1000, 40000) : g_variant_new_int32(-600);
                seq0 = audit_last_seq();
                pid = spawn_sleeper(c, options_of(&names[i], &value, 1), &p, &e2);
                assert_allowed_privileged(c, seq0);
                if (!have_sys_resource()) {
                        g_test_message("%s: %s", names[i], e2->message);
                        assert_dbus_error(e2, ERR_SPAWN_FAILED);
                        g_assert_nonnull(strstr(e2->message, i == 0 ? "rlimits failed" : "oom-score-adj failed"));
                        continue;
                }
                g_assert_no_error(e2);
                test_proc_limit(pid, "Max open files", soft, hard);
                if (i == 0) {
                        g_assert_cmpstr(soft, ==, "1000");
                        g_assert_cmpstr(hard, ==, "40000");
                } else
                        g_assert_cmpint(test_proc_int(pid, "oom_score_adj"), ==, -600);
                stop_and_release(c, p);
        }

        /* Root's own, with nothing asked: not the daemon's. */
        g_autofree char *path2 = NULL;
        pid = spawn_sleeper(c, NULL, &path2, &e);
        g_assert_no_error(e);
        test_proc_limit(pid, "Max open files", soft, hard);
        g_autofree char *own_hard = g_strdup_printf("%llu", (unsigned long long) own.rlim_max);
        g_assert_cmpstr(hard, ==, own_hard);
        g_assert_cmpint(test_proc_int(pid, "oom_score_adj"), !=, DAEMON_OOM_SCORE_ADJ);
        g_assert_cmpint(test_proc_int(pid, "oom_score_adj"), ==, test_proc_int(getpid(), "oom_score_adj"));
        stop_and_release(c, path2);
}

static void expect_invalid(const char *option, GVariant *value, const char *needle) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        g_assert_cmpint(spawn_sleeper(root_bus(), options_of(&option, &value, 1), &path, &e), ==, 0);
        g_test_message("%s: %s", option, e->message);
        assert_dbus_error(e, ERR_INVALID);
        g_assert_nonnull(strstr(e->message, needle));
}

static void test_invalid(void) {
        GVariantBuilder b;

        expect_invalid("rlimits", rlimit_option("FILES", 1, 1), "Unknown rlimit 'FILES'");
        expect_invalid("rlimits", rlimit_option("NOFILE", 65, 64), "soft limit 65 above hard limit 64");
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{s(tt)}"));
        g_variant_builder_add(&b, "{s(tt)}", "NOFILE", (guint64) 64, (guint64) 64);
        g_variant_builder_add(&b, "{s(tt)}", "rlimit_nofile", (guint64) 32, (guint64) 64);
        expect_invalid("rlimits", g_variant_builder_end(&b), "NOFILE given twice");
        expect_invalid("rlimits", g_variant_new_uint64(64), "must have type 'a{s(tt)}'");
        expect_invalid("nice", g_variant_new_int32(20), "nice must be -20..19");
        expect_invalid("nice", g_variant_new_int32(-21), "nice must be -20..19");
        expect_invalid("nice", g_variant_new_uint32(1), "must have type 'i'");
        expect_invalid("oom_score_adj", g_variant_new_int32(1001), "oom_score_adj must be -1000..1000");
        expect_invalid("oom_score_adj", g_variant_new_int32(-1001), "oom_score_adj must be -1000..1000");
}

/* PIDFD_SIGNAL_PROCESS_GROUP on a --ns=pid workload, as its unprivileged
 * owner: the init runs setsid() before it forks the workload, so it leads
 * the session and the group, and in ps it is pidbroker-init. */
static void test_group_signal_pid_namespace(void) {
        for (size_t i = 0; i < 2; i++) {
                uid_t uid = i == 0 ? UID_NOBODY : UID_DAEMON;
                GSubprocess *p = client_start(uid, (const char *const[]) { "group-signal", NULL });
                g_autofree char *head = client_read_lines(p, 3);
                g_autofree char *init_text = client_output_get(head, "init_pid");
                pid_t init = atoi(init_text);
                g_assert_cmpint(init, >, 0);

                g_autofree char *comm_path = g_strdup_printf("/proc/%d/comm", (int) init);
                g_autofree char *cmdline_path = g_strdup_printf("/proc/%d/cmdline", (int) init);
                g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", (int) init);
                g_autofree char *comm = NULL, *cmdline = NULL, *stat = NULL;
                g_assert_true(g_file_get_contents(comm_path, &comm, NULL, NULL));
                g_assert_true(g_file_get_contents(cmdline_path, &cmdline, NULL, NULL));
                g_assert_true(g_file_get_contents(stat_path, &stat, NULL, NULL));
                g_assert_cmpstr(g_strchomp(comm), ==, "pidbroker-init");
                g_assert_cmpstr(cmdline, ==, "pidbroker-init");
                int pgrp, session;
                g_assert_cmpint(sscanf(strrchr(stat, ')') + 2, "%*c %*d %d %d", &pgrp, &session), ==, 2);
                g_assert_cmpint(pgrp, ==, init);
                g_assert_cmpint(session, ==, init);

                g_autoptr(GOutputStream) in = g_object_ref(g_subprocess_get_stdin_pipe(p));
                g_assert_true(g_output_stream_write_all(in, "signal\n", 7, NULL, NULL, NULL));
                g_autofree char *out = read_all_fd(client_stdout_fd(p));
                client_finish(p);
                g_object_unref(p);
                g_test_message("uid %u:\n%s%s", (unsigned) uid, head, out);
                assert_output(out, "signal", "ok");
                g_autofree char *want = g_strdup_printf("killed %d", SIGTERM);
                assert_output(out, "exit", want);
        }
}

static void register_tests(void) {
        add_test("own-limits", test_own_limits);
        add_test("inherited", test_inherited);
        add_test("beyond-caller", test_beyond_caller);
        add_test("beyond-caller-root", test_beyond_caller_root);
        add_test("invalid", test_invalid);
        add_test("group-signal-pid-namespace", test_group_signal_pid_namespace);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "resources" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
