/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pidbrokerd's policy and audit trail, end to end (issue 4): every
 * privileged action an unprivileged caller may try is denied and recorded
 * once; a rules.d file granting a group GetFd; signals into other pid
 * namespaces; the audit log on a full filesystem; and a real polkitd
 * deciding. Same harness as test-daemon (daemon-harness.h), once per bus. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

#define TEST_GROUP "pidbroker-test-dbg"

/* The rule under test: members of the group may take fds out of processes
 * of their own uid. */
static const char test_rules[] =
        "# test-policy-daemon: GetFd for " TEST_GROUP " on same-uid targets\n"
        "[Rule]\n"
        "Action=org.pidbroker.getfd\n"
        "SubjectGroup=" TEST_GROUP "\n"
        "TargetUser=same\n"
        "Result=allow\n";

static const char *const NS_PID_MNT[] = { "pid", "mount", NULL };

static uint64_t self_ns(const char *name) {
        g_autofree char *p = g_strdup_printf("/proc/self/ns/%s", name);
        struct stat st;
        g_assert_cmpint(stat(p, &st), ==, 0);
        return st.st_ino;
}

/* ---------- client side ---------- */

static void expect_spawn_denied(GDBusConnection *c, GVariant *options, GDBusCallFlags flags, const char *error) {
        g_autoptr(GError) e = NULL;
        g_assert_false(spawn_full_flags(c, argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                                        options, flags, NULL, NULL, NULL, &e));
        assert_dbus_error(e, error);
}

/* Every privileged action, as nobody, against root's workload at path/pid:
 * each one denied. The count is printed for the test to compare with the
 * audit log. */
static int client_deny_all(GDBusConnection *c, const char *path, pid_t pid) {
        int pidfd = pidfd_open_or_die(pid);
        unsigned calls = 0;
        GVariantBuilder b;

        print_identity(c);

        /* 1: GetFd on another user's process. */
        g_autoptr(GError) e1 = NULL;
        g_assert_cmpint(broker_get_fd(c, pidfd, 0, &e1), ==, -1);
        assert_dbus_error(e1, ERR_DENIED);
        calls++;

        /* 2: Signal to another user's process. */
        g_autoptr(GError) e2 = NULL;
        g_assert_false(broker_signal(c, pidfd, SIGKILL, 0, &e2));
        assert_dbus_error(e2, ERR_DENIED);
        calls++;

        /* 3: Spawn as another user. */
        expect_spawn_denied(c, one_option("user", g_variant_new_uint32(0)), G_DBUS_CALL_FLAGS_NONE, ERR_DENIED);
        calls++;

        /* 4: Spawn with capabilities. */
        expect_spawn_denied(c, one_option("capabilities", g_variant_new_strv((const char *const[]) { "CAP_NET_RAW", NULL }, -1)),
                            G_DBUS_CALL_FLAGS_NONE, ERR_DENIED);
        calls++;

        /* 5: Spawn with a group the caller does not have. */
        expect_spawn_denied(c, one_option("groups", g_variant_new_parsed("[uint32 0]")), G_DBUS_CALL_FLAGS_NONE,
                            ERR_DENIED);
        calls++;

        /* 7: Spawn mapping the real root into a user namespace. */
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "namespaces", g_variant_new_strv((const char *const[]) { "user", NULL }, -1));
        g_variant_builder_add(&b, "{sv}", "user", g_variant_new_uint32(0));
        g_variant_builder_add(&b, "{sv}", "uid_map", g_variant_new_parsed("[(uint32 0, uint32 0, uint32 1)]"));
        expect_spawn_denied(c, g_variant_builder_end(&b), G_DBUS_CALL_FLAGS_NONE, ERR_DENIED);
        calls++;

        /* 7, 8, 9: Reading another user's workload, signalling it through
         * its object, taking its pidfd: it answers as one that does not
         * exist. */
        g_autoptr(GError) e8 = NULL;
        g_autoptr(GVariant) v = get_property(c, path, WORKLOAD_IFACE, "Argv", &e8);
        g_assert_null(v);
        assert_dbus_error(e8, ERR_UNKNOWN_OBJECT);
        calls++;

        g_autoptr(GError) e9 = NULL;
        g_autoptr(GVariant) r9 = call(c, path, WORKLOAD_IFACE, "Signal", g_variant_new("(iu)", SIGKILL, 0), NULL, &e9);
        g_assert_null(r9);
        assert_dbus_error(e9, ERR_UNKNOWN_OBJECT);
        calls++;

        g_autoptr(GError) e10 = NULL;
        g_autoptr(GVariant) r10 = call(c, path, WORKLOAD_IFACE, "GetPidfd", NULL, NULL, &e10);
        g_assert_null(r10);
        assert_dbus_error(e10, ERR_UNKNOWN_OBJECT);
        calls++;

        /* Not a denial to record: the listing just leaves it out. */
        g_assert_false(managed_objects_contain(c, path));

        close(pidfd);
        printf("calls=%u\n", calls);
        return 0;
}

/* GetFd on the caller's own workload: fd 5 is file, opened here. expect is
 * "allow" (then it must be the same open file) or "deny". */
static int client_getfd(GDBusConnection *c, const char *file, const char *expect) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd;
        guint64 id;

        print_identity(c);
        int f = open(file, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(f, >=, 0);
        FdMap fds[] = { { 5, f } };
        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "sleep", "60", NULL }), NULL, fds, 1, NULL,
                                 &path, &pidfd, &id, &e));
        printf("id=%" G_GUINT64_FORMAT "\n", id);

        int got = broker_get_fd(c, pidfd, 5, &e);
        if (g_str_equal(expect, "allow")) {
                g_assert_no_error(e);
                struct stat a, b;
                g_assert_cmpint(fstat(got, &a), ==, 0);
                g_assert_cmpint(fstat(f, &b), ==, 0);
                g_assert_cmpuint(a.st_ino, ==, b.st_ino);
                g_assert_cmpuint(a.st_dev, ==, b.st_dev);
                /* One open file, one offset: a seek through either moves both. */
                g_assert_cmpint(lseek(got, 7, SEEK_SET), ==, 7);
                g_assert_cmpint(lseek(f, 0, SEEK_CUR), ==, 7);
                char buf[3];
                g_assert_cmpint(read(f, buf, 3), ==, 3);
                g_assert_cmpmem(buf, 3, "789", 3);
                g_assert_cmpint(lseek(got, 0, SEEK_CUR), ==, 10);
                close(got);
        } else {
                g_assert_cmpint(got, ==, -1);
                assert_dbus_error(e, ERR_DENIED);
        }
        stop_and_release(c, path);
        close(pidfd);
        close(f);
        return 0;
}

/* A workload of our own in a new pid namespace, signalled through
 * Broker1.Signal with its pidfd. */
static int client_signal_ns(GDBusConnection *c) {
        g_autofree char *path = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd, status;
        guint64 id;

        print_identity(c);
        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "sleep", "60", NULL }), NULL, NULL, 0,
                                 ns_options(NS_PID_MNT, false, 0), &path, &pidfd, &id, &e));
        g_assert_no_error(e);
        printf("id=%" G_GUINT64_FORMAT "\n", id);
        g_assert_true(broker_signal(c, pidfd, SIGTERM, 0, &e));
        g_assert_no_error(e);
        wait_workload(c, path, &code, &status);
        release_workload(c, path);
        close(pidfd);
        return 0;
}

/* Signal a process we get a pidfd for ourselves (anyone may): denied. */
static int client_signal_pid(GDBusConnection *c, pid_t pid) {
        g_autoptr(GError) e = NULL;
        int pidfd = pidfd_open_or_die(pid);

        print_identity(c);
        g_assert_false(broker_signal(c, pidfd, SIGTERM, 0, &e));
        assert_dbus_error(e, ERR_DENIED);
        close(pidfd);
        return 0;
}

/* Broker1.Signal(pidfd of pid, SIGTERM, PIDFD_SIGNAL_PROCESS_GROUP): expect
 * is "ok" or "denied". */
static int client_signal_group(GDBusConnection *c, pid_t pid, const char *expect) {
        g_autoptr(GError) e = NULL;
        int pidfd = pidfd_open_or_die(pid);

        print_identity(c);
        if (g_str_equal(expect, "ok")) {
                g_assert_true(broker_signal(c, pidfd, SIGTERM, 4 /* PIDFD_SIGNAL_PROCESS_GROUP */, &e));
                g_assert_no_error(e);
        } else {
                g_assert_false(broker_signal(c, pidfd, SIGTERM, 4 /* PIDFD_SIGNAL_PROCESS_GROUP */, &e));
                assert_dbus_error(e, ERR_DENIED);
        }
        close(pidfd);
        return 0;
}

/* With the audit log full, a denial is still the denial: nothing ran, and
 * the caller learns why it was refused. */
static int client_audit_failed(GDBusConnection *c, pid_t pid) {
        g_autoptr(GError) e = NULL;
        int pidfd = pidfd_open_or_die(pid);

        print_identity(c);
        g_assert_cmpint(broker_get_fd(c, pidfd, 0, &e), ==, -1);
        assert_dbus_error(e, ERR_DENIED);
        close(pidfd);
        return 0;
}

/* Under polkitd, as nobody with no authentication agent; root_path is a
 * workload of root's. */
static int client_polkit(GDBusConnection *c, const char *root_path) {
        g_autofree char *path = NULL, *path2 = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd, status;
        guint64 id;

        print_identity(c);

        /* "yes": polkit authorizes. */
        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0, NULL, &path,
                                 NULL, NULL, &e));
        g_assert_no_error(e);
        wait_workload(c, path, &code, &status);
        release_workload(c, path);

        /* auth_admin, no interaction allowed: polkit says a challenge would
         * do, so the caller is told to allow one. */
        GVariant *caps = one_option("capabilities", g_variant_new_strv((const char *const[]) { "CAP_NET_RAW", NULL }, -1));
        expect_spawn_denied(c, caps, G_DBUS_CALL_FLAGS_NONE, ERR_INTERACTIVE);
        /* Interaction allowed, but there is no agent to ask: denied. */
        caps = one_option("capabilities", g_variant_new_strv((const char *const[]) { "CAP_NET_RAW", NULL }, -1));
        expect_spawn_denied(c, caps, G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, ERR_DENIED);

        /* The own-workload half of signal-cross-namespace is ours. */
        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "sleep", "60", NULL }), NULL, NULL, 0,
                                 ns_options(NS_PID_MNT, false, 0), &path2, &pidfd, &id, &e));
        g_assert_no_error(e);
        printf("id=%" G_GUINT64_FORMAT "\n", id);

        /* getfd is auth_admin. */
        g_assert_cmpint(broker_get_fd(c, pidfd, 1, &e), ==, -1);
        assert_dbus_error(e, ERR_INTERACTIVE);
        g_clear_error(&e);

        g_assert_true(broker_signal(c, pidfd, SIGTERM, 0, &e));
        g_assert_no_error(e);
        g_free(code);
        wait_workload(c, path2, &code, &status);
        release_workload(c, path2);
        close(pidfd);

        /* Another user's workload: manage is auth_admin, and one the
         * caller may not see does not exist. */
        g_autoptr(GVariant) v = get_property(c, root_path, WORKLOAD_IFACE, "Argv", &e);
        g_assert_null(v);
        assert_dbus_error(e, ERR_UNKNOWN_OBJECT);
        return 0;
}

/* Hold a workload for the test to look at as another user: print its path,
 * wait for a line on stdin, then collect it (the test may have stopped it). */
static int client_hold(GDBusConnection *c) {
        g_autofree char *path = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int status;
        guint64 id;

        print_identity(c);
        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "sleep", "120", NULL }), NULL, NULL, 0, NULL,
                                 &path, NULL, &id, &e));
        g_assert_no_error(e);
        printf("path=%s\nid=%" G_GUINT64_FORMAT "\nwpid=%u\n", path, id, get_u32(c, path, "Pid"));
        fflush(stdout);
        g_free(read_line_fd(STDIN_FILENO, 60000));
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        wait_workload(c, path, &code, &status);
        release_workload(c, path);
        return 0;
}

static int client_spawn_denied(GDBusConnection *c) {
        print_identity(c);
        expect_spawn_denied(c, NULL, G_DBUS_CALL_FLAGS_NONE, ERR_DENIED);
        return 0;
}

static int client_main(int argc, char *argv[]) {
        /* argv: self --client SCENARIO [ARGS...]; a last "direct=PATH"
         * connects to the direct socket instead of the bus. */
        const char *scenario = argv[2], *direct = NULL;
        if (argc >= 4 && g_str_has_prefix(argv[argc - 1], "direct=")) {
                direct = argv[argc - 1] + strlen("direct=");
                argc--;
        }
        g_autoptr(GDBusConnection) c = client_connect(direct);

        if (g_str_equal(scenario, "deny-all") && argc == 5)
                return client_deny_all(c, argv[3], atoi(argv[4]));
        if (g_str_equal(scenario, "getfd") && argc == 5)
                return client_getfd(c, argv[3], argv[4]);
        if (g_str_equal(scenario, "signal-ns"))
                return client_signal_ns(c);
        if (g_str_equal(scenario, "signal-pid") && argc == 4)
                return client_signal_pid(c, atoi(argv[3]));
        if (g_str_equal(scenario, "signal-group") && argc == 5)
                return client_signal_group(c, atoi(argv[3]), argv[4]);
        if (g_str_equal(scenario, "audit-failed") && argc == 4)
                return client_audit_failed(c, atoi(argv[3]));
        if (g_str_equal(scenario, "polkit") && argc == 4)
                return client_polkit(c, argv[3]);
        if (g_str_equal(scenario, "spawn-denied"))
                return client_spawn_denied(c);
        if (g_str_equal(scenario, "hold"))
                return client_hold(c);
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ---------- test side ---------- */

/* The one record of action among recs. */
static GVariant *record_of(GPtrArray *recs, const char *action) {
        GVariant *found = NULL;
        for (guint i = 0; i < recs->len; i++)
                if (g_str_equal(jv_str(recs->pdata[i], "action"), action)) {
                        if (found)
                                g_error("more than one %s record", action);
                        found = recs->pdata[i];
                }
        if (!found)
                g_error("no %s record", action);
        return found;
}

static void dump_record(GVariant *rec) {
        g_autofree char *s = g_variant_print(rec, FALSE);
        g_test_message("record: %s", s);
}

static bool gids_contain(GVariant *rec, gint64 gid) {
        GVariant *a = jv_get(rec, "subject.gids");
        g_assert_nonnull(a);
        g_assert_true(g_variant_is_of_type(a, G_VARIANT_TYPE("av")));
        for (gsize i = 0; i < g_variant_n_children(a); i++) {
                g_autoptr(GVariant) boxed = g_variant_get_child_value(a, i);
                g_autoptr(GVariant) v = g_variant_get_variant(boxed);
                if (g_variant_get_int64(v) == gid)
                        return true;
        }
        return false;
}

/* The subject part every record of an unprivileged bus client carries. */
static void assert_subject(GVariant *rec, uid_t uid, const char *name, pid_t pid) {
        if (g_test_verbose())
                dump_record(rec);
        g_assert_cmpint(jv_int(rec, "subject.uid"), ==, uid);
        g_assert_cmpint(jv_int(rec, "subject.pid"), ==, pid);
        g_assert_true(gids_contain(rec, uid == UID_NOBODY ? 65534 : uid));
        g_assert_cmpint(jv_int(rec, "subject.pidns"), ==, (gint64) self_ns("pid"));
        g_assert_cmpint(jv_int(rec, "subject.userns"), ==, (gint64) self_ns("user"));
        g_assert_cmpint(jv_int(rec, "subject.pidfd_id"), >, 0);
        /* comm: the test binary's name, as the kernel cuts it (15 bytes). */
        g_autofree char *base = g_path_get_basename(self_exe);
        g_autofree char *comm = g_strndup(base, 15);
        g_assert_cmpstr(jv_str(rec, "subject.comm"), ==, comm);
        if (name && *name) {
                g_assert_cmpstr(jv_str(rec, "subject.bus_name"), ==, name);
                /* Neither bus here offers ProcessFD (dbus-daemon 1.14,
                 * dbus-broker 33): the pid is pinned after the fact. */
                const char *id = jv_str(rec, "subject.identity");
                g_assert_true(g_str_equal(id, "bus-pid-unpinned") || g_str_equal(id, "bus-processfd"));
        } else {
                g_assert_null(jv_str(rec, "subject.bus_name"));
                g_assert_cmpstr(jv_str(rec, "subject.identity"), ==, "peer-pidfd");
        }
        g_assert_cmpstr(jv_str(rec, "control_path"), ==, "pidfd");
}

static void assert_denied(GVariant *rec, GPtrArray *lines, const char *action, const char *rule) {
        g_assert_cmpstr(jv_str(rec, "action"), ==, action);
        g_assert_cmpstr(jv_str(rec, "decision"), ==, "deny");
        g_assert_cmpstr(jv_str(rec, "result"), ==, "denied");
        if (rule)
                g_assert_cmpstr(jv_str(rec, "rule"), ==, rule);
        g_autofree char *outcome = audit_outcome_of(lines, jv_int(rec, "seq"));
        g_assert_null(outcome);
}

static void assert_allowed(GVariant *rec, GPtrArray *lines, const char *action, const char *rule,
                           const char *want_outcome) {
        g_assert_cmpstr(jv_str(rec, "action"), ==, action);
        g_assert_cmpstr(jv_str(rec, "decision"), ==, "allow");
        g_assert_cmpstr(jv_str(rec, "result"), ==, "pending");
        if (rule)
                g_assert_cmpstr(jv_str(rec, "rule"), ==, rule);
        g_autofree char *outcome = audit_outcome_of(lines, jv_int(rec, "seq"));
        g_assert_cmpstr(outcome, ==, want_outcome);
}

/* A target that is the workload id/pid (both in our pid namespace). */
static void assert_target_workload(GVariant *rec, pid_t pid, guint64 id, uid_t uid) {
        g_assert_cmpint(jv_int(rec, "target.pid"), ==, pid);
        g_assert_cmpint(jv_int(rec, "target.pidfd_id"), ==, (gint64) id);
        g_assert_cmpint(jv_int(rec, "target.workload_id"), ==, (gint64) id);
        g_assert_cmpint(jv_int(rec, "target.uid"), ==, uid);
        g_assert_cmpint(jv_int(rec, "target.pidns"), >, 0);
        g_assert_cmpint(jv_int(rec, "target.userns"), >, 0);
}

static void spawn_root_sleeper(const char *const *ns, const FdMap *fds, size_t n_fds, char **ret_path, int *ret_pidfd,
                               guint64 *ret_id, pid_t *ret_pid) {
        g_autoptr(GError) e = NULL;
        g_assert_true(spawn_full(root_bus(), argv_helper((const char *const[]) { "sleep", "120", NULL }), NULL, fds,
                                 n_fds, ns ? ns_options(ns, false, 0) : NULL, ret_path, ret_pidfd, ret_id, &e));
        g_assert_no_error(e);
        *ret_pid = (pid_t) get_u32(root_bus(), *ret_path, "Pid");
}

/* As nobody, every privileged action against root's workload: each denied,
 * each exactly one record that says what was tried. */
static void test_denials_audited(void) {
        g_autofree char *path = NULL;
        int pidfd;
        guint64 id;
        pid_t pid;

        spawn_root_sleeper(NULL, NULL, 0, &path, &pidfd, &id, &pid);
        g_autofree char *spid = g_strdup_printf("%d", (int) pid);
        gint64 seq0 = audit_last_seq();

        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "deny-all", path, spid, NULL });
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *cpid = client_output_get(out, "pid");
        g_autofree char *calls = client_output_get(out, "calls");

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) all = audit_records_since(seq0, NULL, 0);
        g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, 0);
        g_assert_cmpuint(mine->len, ==, (guint) atoi(calls));
        g_assert_cmpuint(all->len, ==, mine->len);

        static const struct {
                const char *action;
                bool workload;   /* target is root's workload */
                uid_t target_uid;
                int signal;      /* -1: null */
                int target_fd;   /* -1: null */
        } want[] = {
                { "org.pidbroker.getfd", true, 0, -1, 0 },
                { "org.pidbroker.signal-other-user", true, 0, SIGKILL, -1 },
                { "org.pidbroker.spawn-as-user", false, 0, -1, -1 },
                { "org.pidbroker.spawn-privileged", false, UID_NOBODY, -1, -1 },
                { "org.pidbroker.spawn-as-user", false, UID_NOBODY, -1, -1 },
                { "org.pidbroker.spawn-as-user", false, 0, -1, -1 },
                { "org.pidbroker.manage", true, 0, -1, -1 },
                { "org.pidbroker.manage", true, 0, -1, -1 },
                { "org.pidbroker.manage", true, 0, -1, -1 },
        };
        g_assert_cmpuint(mine->len, ==, G_N_ELEMENTS(want));
        for (guint i = 0; i < mine->len; i++) {
                GVariant *rec = mine->pdata[i];

                assert_subject(rec, UID_NOBODY, name, atoi(cpid));
                assert_denied(rec, lines, want[i].action, "default:auth_admin");
                if (want[i].workload)
                        assert_target_workload(rec, pid, id, want[i].target_uid);
                else {
                        /* A spawn: no process yet, only the user it would run as. */
                        g_assert_true(jv_is_null(jv_get(rec, "target.pid")));
                        g_assert_true(jv_is_null(jv_get(rec, "target.pidfd_id")));
                        g_assert_cmpint(jv_int(rec, "target.uid"), ==, want[i].target_uid);
                }
                if (want[i].signal >= 0)
                        g_assert_cmpint(jv_int(rec, "details.signal"), ==, want[i].signal);
                else
                        g_assert_true(jv_is_null(jv_get(rec, "details.signal")));
                if (want[i].target_fd >= 0) {
                        g_assert_cmpint(jv_int(rec, "details.target_fd"), ==, want[i].target_fd);
                        /* Denied before anything was taken: no fd, no type. */
                        g_assert_true(jv_is_null(jv_get(rec, "details.fd_type")));
                } else
                        g_assert_true(jv_is_null(jv_get(rec, "details.target_fd")));
        }

        /* Nothing happened to the workload. */
        g_assert_false(fd_readable_within(pidfd, 0));
        stop_and_release(root_bus(), path);
        close(pidfd);
}

/* rules.d grants the test group getfd on same-uid targets: a member gets
 * the very open file its workload has, a non-member is denied. */
static void test_getfd_group_rule(void) {
        g_autofree char *file = write_data_file();
        g_autofree char *rules = g_build_filename(T.rules_dir, "50-test.rules", NULL);
        gint64 seq0 = audit_last_seq();

        /* The group comes from the caller's process (supplementary groups
         * the bus reports), not from /etc/group, which lists no members. */
        g_autofree char *out = client_run_groups(UID_NOBODY, &T.test_gid, 1,
                                                 (const char *const[]) { "getfd", file, "allow", NULL });
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *cpid = client_output_get(out, "pid");
        g_autofree char *sid = client_output_get(out, "id");

        g_autofree char *out2 = client_run(UID_DAEMON, (const char *const[]) { "getfd", file, "deny", NULL });
        g_autofree char *name2 = client_output_get(out2, "name");
        g_autofree char *cpid2 = client_output_get(out2, "pid");
        g_autofree char *sid2 = client_output_get(out2, "id");

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autofree char *want_fd_type = g_strdup_printf("file:%s", file);

        g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, 0);
        GVariant *rec = record_of(mine, "org.pidbroker.getfd");
        assert_subject(rec, UID_NOBODY, name, atoi(cpid));
        g_assert_true(gids_contain(rec, T.test_gid));
        assert_allowed(rec, lines, "org.pidbroker.getfd", NULL, "ok");
        g_autofree char *want_rule = g_strdup_printf("%s:2", rules); /* the line of [Rule] */
        g_assert_cmpstr(jv_str(rec, "rule"), ==, want_rule);
        g_assert_cmpint(jv_int(rec, "target.workload_id"), ==, g_ascii_strtoll(sid, NULL, 10));
        g_assert_cmpint(jv_int(rec, "target.uid"), ==, UID_NOBODY);
        g_assert_cmpint(jv_int(rec, "details.target_fd"), ==, 5);
        /* Known once taken, after the record: in the outcome. */
        g_assert_true(jv_is_null(jv_get(rec, "details.fd_type")));
        g_autofree char *fd_type = audit_outcome_field(lines, jv_int(rec, "seq"), "fd_type");
        g_assert_cmpstr(fd_type, ==, want_fd_type);

        g_autoptr(GPtrArray) theirs = audit_records_since(seq0, name2, 0);
        GVariant *rec2 = record_of(theirs, "org.pidbroker.getfd");
        assert_subject(rec2, UID_DAEMON, name2, atoi(cpid2));
        g_assert_false(gids_contain(rec2, T.test_gid));
        assert_denied(rec2, lines, "org.pidbroker.getfd", "default:auth_admin");
        g_assert_cmpint(jv_int(rec2, "target.workload_id"), ==, g_ascii_strtoll(sid2, NULL, 10));
        /* Denied before the fd was taken: nothing of it is known. */
        g_assert_true(jv_is_null(jv_get(rec2, "details.fd_type")));
}

/* Signals into other pid namespaces: into your own workload, allowed (the
 * built-in rule) and recorded with both namespace ids, over the bus and the
 * direct socket; into root's, denied. */
static void test_cross_namespace_signal(void) {
        const char *const variants[][2] = { { "signal-ns", NULL }, { "signal-ns", "direct" } };

        for (size_t v = 0; v < G_N_ELEMENTS(variants); v++) {
                g_autofree char *direct = variants[v][1] ? g_strdup_printf("direct=%s", T.private_socket) : NULL;
                gint64 seq0 = audit_last_seq();
                g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { variants[v][0], direct, NULL });
                g_autofree char *name = client_output_get(out, "name");
                g_autofree char *cpid = client_output_get(out, "pid");
                g_autofree char *sid = client_output_get(out, "id");

                g_autoptr(GPtrArray) lines = audit_lines();
                g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, atoi(cpid));
                GVariant *rec = record_of(mine, "org.pidbroker.signal-cross-namespace");
                assert_subject(rec, UID_NOBODY, name, atoi(cpid));
                assert_allowed(rec, lines, "org.pidbroker.signal-cross-namespace", "builtin:own-workload", "ok");
                g_assert_cmpint(jv_int(rec, "target.workload_id"), ==, g_ascii_strtoll(sid, NULL, 10));
                g_assert_cmpint(jv_int(rec, "target.uid"), ==, UID_NOBODY);
                g_assert_cmpint(jv_int(rec, "details.signal"), ==, SIGTERM);
                /* Both namespaces, and they differ. */
                gint64 spidns = jv_int(rec, "subject.pidns"), tpidns = jv_int(rec, "target.pidns");
                g_assert_cmpint(spidns, >, 0);
                g_assert_cmpint(tpidns, >, 0);
                g_assert_cmpint(spidns, !=, tpidns);
                g_assert_cmpint(jv_int(rec, "subject.userns"), ==, jv_int(rec, "target.userns"));
        }

        /* Root's process in another pid namespace. */
        g_autofree char *path = NULL;
        int pidfd;
        guint64 id;
        pid_t pid;
        spawn_root_sleeper(NS_PID_MNT, NULL, 0, &path, &pidfd, &id, &pid);
        g_autofree char *spid = g_strdup_printf("%d", (int) pid);
        gint64 seq0 = audit_last_seq();
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "signal-pid", spid, NULL });
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *cpid = client_output_get(out, "pid");

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, 0);
        g_assert_cmpuint(mine->len, ==, 1);
        GVariant *rec = mine->pdata[0];
        assert_subject(rec, UID_NOBODY, name, atoi(cpid));
        /* Other user first: the first action that denies is named. */
        assert_denied(rec, lines, "org.pidbroker.signal-other-user", "default:auth_admin");
        assert_target_workload(rec, pid, id, 0);
        g_assert_cmpint(jv_int(rec, "details.signal"), ==, SIGTERM);
        g_assert_cmpint(jv_int(rec, "subject.pidns"), !=, jv_int(rec, "target.pidns"));

        g_assert_false(fd_readable_within(pidfd, 0));
        stop_and_release(root_bus(), path);
        close(pidfd);
}

/* A process in process group pgid (0: a new group it leads), running as
 * uid (and gid = uid), waiting for a signal. Returns once it is there. */
static pid_t fork_group_member(pid_t pgid, uid_t uid) {
        sigset_t all;
        int p[2];
        char c;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Between fork and _exit: syscalls only (GDBus threads). */
                sigemptyset(&all);
                if (sigprocmask(SIG_SETMASK, &all, NULL) < 0 || signal(SIGTERM, SIG_DFL) == SIG_ERR ||
                    setpgid(0, pgid) < 0 || setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0 || write(p[1], "x", 1) != 1)
                        _exit(125);
                for (;;)
                        pause();
        }
        close(p[1]);
        g_assert_cmpint(read(p[0], &c, 1), ==, 1);
        close(p[0]);
        g_assert_cmpint(getpgid(pid), ==, pgid == 0 ? pid : pgid);
        return pid;
}

static bool child_running(pid_t pid) {
        return waitpid(pid, NULL, WNOHANG) == 0;
}

static int child_reap(pid_t pid) {
        int status;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

/* PIDFD_SIGNAL_PROCESS_GROUP reaches every member of the group the target
 * leads, with the daemon's credentials: a group of nobody's that holds a
 * process of another uid (a command run by sudo without a pty stays in its
 * caller's group) is another user's business, as kill(2) would say for that
 * member. A group of nobody's own is nobody's. */
static void test_signal_process_group(void) {
        /* A leader of nobody's and a member of uid 1's (real and saved). */
        pid_t leader = fork_group_member(0, UID_NOBODY);
        pid_t foreign = fork_group_member(leader, UID_DAEMON);
        g_autofree char *sleader = g_strdup_printf("%d", (int) leader);
        gint64 seq0 = audit_last_seq();
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "signal-group", sleader, "denied", NULL });
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *cpid = client_output_get(out, "pid");

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, 0);
        g_assert_cmpuint(mine->len, ==, 1);
        GVariant *rec = mine->pdata[0];
        assert_subject(rec, UID_NOBODY, name, atoi(cpid));
        assert_denied(rec, lines, "org.pidbroker.signal-other-user", "default:auth_admin");
        g_assert_cmpint(jv_int(rec, "target.pid"), ==, leader);
        /* The uid the policy weighed: the foreign member's. */
        g_assert_cmpint(jv_int(rec, "target.uid"), ==, UID_DAEMON);
        g_assert_cmpint(jv_int(rec, "details.signal"), ==, SIGTERM);
        g_assert_cmpint(jv_int(rec, "details.flags"), ==, 4);

        /* Nobody was signalled. */
        g_usleep(200000);
        g_assert_true(child_running(foreign));
        g_assert_true(child_running(leader));
        kill(foreign, SIGKILL);
        kill(leader, SIGKILL);
        g_assert_cmpint(child_reap(foreign), ==, SIGKILL);
        g_assert_cmpint(child_reap(leader), ==, SIGKILL);

        /* Only nobody's processes in the group: allowed, and all get it.
         * Over the direct socket, where the caller is pinned: over a bus
         * with no ProcessFD its namespaces prove nothing (DESIGN §3), so
         * a process that is not its workload counts as in another
         * namespace. */
        pid_t leader2 = fork_group_member(0, UID_NOBODY);
        pid_t member2 = fork_group_member(leader2, UID_NOBODY);
        g_autofree char *sleader2 = g_strdup_printf("%d", (int) leader2);
        g_autofree char *direct = g_strdup_printf("direct=%s", T.private_socket);
        seq0 = audit_last_seq();
        g_autofree char *out2 = client_run(UID_NOBODY,
                                           (const char *const[]) { "signal-group", sleader2, "ok", direct, NULL });
        g_autofree char *name2 = client_output_get(out2, "name");
        g_assert_cmpint(child_reap(member2), ==, SIGTERM);
        g_assert_cmpint(child_reap(leader2), ==, SIGTERM);

        g_autoptr(GPtrArray) lines2 = audit_lines();
        g_autofree char *cpid2 = client_output_get(out2, "pid");
        g_autoptr(GPtrArray) mine2 = audit_records_since(seq0, name2, atoi(cpid2));
        g_assert_cmpuint(mine2->len, ==, 1);
        assert_allowed(mine2->pdata[0], lines2, "org.pidbroker.signal", NULL, "ok");
        g_assert_cmpint(jv_int(mine2->pdata[0], "target.pid"), ==, leader2);
        g_assert_cmpint(jv_int(mine2->pdata[0], "details.flags"), ==, 4);
}

/* Fill the audit log's filesystem to the last byte. */
static char *fill_audit_fs(void) {
        return test_fill_fs(T.audit_dir);
}

/* A pidfd polls readable once its process exited: no pidfd_send_signal(),
 * which valgrind does not know. */
static bool pidfd_alive(int pidfd) {
        return !fd_readable_within(pidfd, 0);
}

/* No record, no operation: with the log's filesystem full, GetFd, Signal,
 * Spawn and Stop are refused with AuditFailed (a denial stays a denial),
 * nothing is done,
 * and the daemon serves again once there is room. */
static void test_audit_fail_closed(void) {
        g_autofree char *path = NULL, *file = write_data_file();
        g_autoptr(GError) e = NULL;
        int pidfd, f;
        guint64 id;
        pid_t pid;

        f = open(file, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(f, >=, 0);
        FdMap fds[] = { { 5, f } };
        spawn_root_sleeper(NULL, fds, 1, &path, &pidfd, &id, &pid);
        g_autofree char *spid = g_strdup_printf("%d", (int) pid);

        g_autofree char *filler = fill_audit_fs();
        /* The log's last page may still take a record or two, and records
         * differ in size (a Spawn record is shorter than a Signal record):
         * probe with both until neither fits. A Spawn that still fits is
         * correct behaviour; it is waited for and released. */
        int probes = 0;
        for (;; probes++) {
                g_autofree char *probe = NULL;
                g_assert_cmpint(probes, <, 64);
                g_clear_error(&e);
                bool signal_fits = broker_signal(root_bus(), pidfd, 0, 0, &e);
                if (!signal_fits)
                        assert_dbus_error(e, ERR_AUDIT_FAILED);
                g_clear_error(&e);
                bool spawn_fits = spawn_full(root_bus(), argv_helper((const char *const[]) { "exit", "0", NULL }),
                                             NULL, NULL, 0, NULL, &probe, NULL, NULL, &e);
                if (spawn_fits) {
                        g_autofree char *code = NULL;
                        int status;
                        wait_workload(root_bus(), probe, &code, &status);
                        release_workload(root_bus(), probe);
                } else
                        assert_dbus_error(e, ERR_AUDIT_FAILED);
                if (!signal_fits && !spawn_fits)
                        break;
        }
        g_test_message("audit log full after %d probes", probes);
        g_autofree char *before = NULL;
        gsize before_len;
        g_assert_true(g_file_get_contents(T.audit_log, &before, &before_len, NULL));

        g_clear_error(&e);
        g_assert_cmpint(broker_get_fd(root_bus(), pidfd, 5, &e), ==, -1);
        assert_dbus_error(e, ERR_AUDIT_FAILED);

        g_clear_error(&e);
        g_assert_false(broker_signal(root_bus(), pidfd, SIGKILL, 0, &e));
        assert_dbus_error(e, ERR_AUDIT_FAILED);

        g_clear_error(&e);
        g_autoptr(GVariant) r = call(root_bus(), path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_null(r);
        assert_dbus_error(e, ERR_AUDIT_FAILED);

        g_clear_error(&e);
        g_autofree char *spawned = NULL;
        g_assert_false(spawn_full(root_bus(), argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                                  NULL, &spawned, NULL, NULL, &e));
        assert_dbus_error(e, ERR_AUDIT_FAILED);

        g_free(client_run(UID_NOBODY, (const char *const[]) { "audit-failed", spid, NULL }));

        /* Nothing was done: the target lives, no workload was added, no
         * byte was added to the log, and the daemon answers. */
        g_usleep(200000);
        g_assert_true(pidfd_alive(pidfd));
        g_autofree char *state = get_str(root_bus(), path, "State");
        g_assert_cmpstr(state, ==, "running");
        g_autofree char *after = NULL;
        gsize after_len;
        g_assert_true(g_file_get_contents(T.audit_log, &after, &after_len, NULL));
        g_assert_cmpuint(after_len, ==, before_len);
        g_assert_cmpint(kill(T.daemon_pid, 0), ==, 0);

        /* Room again: the same calls work, and are recorded. */
        g_assert_cmpint(unlink(filler), ==, 0);
        gint64 seq0 = audit_last_seq();
        g_clear_error(&e);
        int got = broker_get_fd(root_bus(), pidfd, 5, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(fd_inode(got), ==, fd_inode(f));
        close(got);
        g_assert_true(broker_signal(root_bus(), pidfd, SIGTERM, 0, &e));
        g_assert_no_error(e);
        g_autofree char *code = NULL;
        int status;
        wait_workload(root_bus(), path, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        release_workload(root_bus(), path);

        g_autoptr(GPtrArray) lines = audit_lines(); /* every line still JSON */
        g_autoptr(GPtrArray) recs = audit_records_since(seq0, NULL, 0);
        g_assert_cmpuint(recs->len, ==, 2);
        assert_allowed(recs->pdata[0], lines, "org.pidbroker.getfd", "default:auth_admin:root", "ok");
        /* Root's own workload, asked as in another namespace (root on the
         * bus is unpinned too): allowed by the built-in rule. */
        assert_allowed(recs->pdata[1], lines, "org.pidbroker.signal-cross-namespace", "builtin:own-workload", "ok");
        close(pidfd);
        close(f);
}

static const char *policy_backend(void) {
        static char buf[32];
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "PolicyBackend", &e);
        g_assert_no_error(e);
        g_strlcpy(buf, g_variant_get_string(v, NULL), sizeof buf);
        return buf;
}

typedef struct AsyncSpawn {
        bool done;
        GError *error;
} AsyncSpawn;

static void on_async_spawn(GObject *src, GAsyncResult *res, gpointer userdata) {
        AsyncSpawn *a = userdata;
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(src), NULL, res,
                                                                                &a->error);
        a->done = true;
}

static bool async_done(void *data) {
        return ((AsyncSpawn *) data)->done;
}

/* A real polkitd decides: root is authorized, nobody gets "yes" actions
 * only (no agent to ask), the own-workload rule stays pidbroker's, the
 * direct socket has no bus name to ask about, a polkitd that does not
 * answer times out into a deny while others are served, and a polkitd that
 * is gone means deny. */
static void test_polkit(void) {
        if (!g_file_test("/usr/lib/polkit-1/polkitd", G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip("polkitd is not installed (/usr/lib/polkit-1/polkitd)");
                return;
        }
        g_autoptr(GError) e = NULL;

        polkitd_start();
        daemon_restart((const char *const[]) { "--polkit-timeout-sec=2", "--max-pending-per-connection=2", NULL });
        /* PolicyBackend=auto (the configuration file) finds polkitd. */
        g_assert_cmpstr(policy_backend(), ==, "polkit");
        gint64 seq0 = audit_last_seq();

        /* Root: auth_admin is root's. */
        g_autofree char *path = NULL, *code = NULL;
        int status;
        g_assert_true(spawn_full(root_bus(), argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                                 one_option("capabilities", g_variant_new_strv((const char *const[]) { "CAP_NET_RAW", NULL }, -1)),
                                 &path, NULL, NULL, &e));
        g_assert_no_error(e);
        wait_workload(root_bus(), path, &code, &status);
        release_workload(root_bus(), path);

        g_autofree char *path2 = NULL;
        int pidfd;
        guint64 id;
        pid_t pid;
        spawn_root_sleeper(NULL, NULL, 0, &path2, &pidfd, &id, &pid);
        int got = broker_get_fd(root_bus(), pidfd, 1, &e);
        g_assert_no_error(e);
        close(got);
        stop_and_release(root_bus(), path2);
        close(pidfd);

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) root_recs = audit_records_since(seq0, g_dbus_connection_get_unique_name(root_bus()), 0);
        assert_allowed(record_of(root_recs, "org.pidbroker.spawn-privileged"), lines, "org.pidbroker.spawn-privileged",
                       "polkit:authorized", "ok");
        GVariant *grec = record_of(root_recs, "org.pidbroker.getfd");
        assert_allowed(grec, lines, "org.pidbroker.getfd", "polkit:authorized", "ok");
        g_autofree char *gtype = audit_outcome_field(lines, jv_int(grec, "seq"), "fd_type");
        g_assert_cmpstr(gtype, ==, "chardev:/dev/null");

        /* Nobody, without an agent. */
        g_autofree char *rpath = NULL;
        int rpidfd;
        guint64 rid;
        pid_t rpid;
        spawn_root_sleeper(NULL, NULL, 0, &rpath, &rpidfd, &rid, &rpid);
        seq0 = audit_last_seq();
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "polkit", rpath, NULL });
        g_autofree char *name = client_output_get(out, "name");
        g_autofree char *cpid = client_output_get(out, "pid");
        g_autoptr(GPtrArray) lines2 = audit_lines();
        g_autoptr(GPtrArray) mine = audit_records_since(seq0, name, 0);
        static const struct {
                const char *action, *decision, *rule;
        } want[] = {
                { "org.pidbroker.spawn", "allow", "polkit:authorized" },
                { "org.pidbroker.spawn-privileged", "deny", "polkit:challenge" },
                { "org.pidbroker.spawn-privileged", "deny", "polkit:challenge" },
                { "org.pidbroker.spawn", "allow", "polkit:authorized" },
                { "org.pidbroker.getfd", "deny", "polkit:challenge" },
                { "org.pidbroker.signal-cross-namespace", "allow", "builtin:own-workload" },
                { "org.pidbroker.manage", "deny", "polkit:challenge" },
        };
        g_assert_cmpuint(mine->len, ==, G_N_ELEMENTS(want));
        for (guint i = 0; i < mine->len; i++) {
                assert_subject(mine->pdata[i], UID_NOBODY, name, atoi(cpid));
                if (g_str_equal(want[i].decision, "deny"))
                        assert_denied(mine->pdata[i], lines2, want[i].action, want[i].rule);
                else
                        assert_allowed(mine->pdata[i], lines2, want[i].action, want[i].rule, "ok");
        }

        stop_and_release(root_bus(), rpath);
        close(rpidfd);

        /* Root reads nobody's workload: manage goes to polkitd, and the call
         * waits for the answer before the object tree sees it. */
        g_autoptr(GSubprocess) holder = client_start(UID_NOBODY, (const char *const[]) { "hold", NULL });
        g_autofree char *hout = client_read_lines(holder, 5);
        g_autofree char *hpath = client_output_get(hout, "path");
        g_autoptr(GVariant) argv_prop = get_property(root_bus(), hpath, WORKLOAD_IFACE, "Argv", &e);
        g_assert_no_error(e);
        g_assert_cmpuint(g_variant_n_children(argv_prop), ==, 3);
        g_assert_true(managed_objects_contain(root_bus(), hpath));
        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(holder), "go\n", 3, NULL, NULL, NULL));
        client_finish(holder);

        /* The direct socket: no bus name for polkit, so no. */
        seq0 = audit_last_seq();
        g_autofree char *direct = g_strdup_printf("direct=%s", T.private_socket);
        g_autofree char *out2 = client_run(UID_NOBODY, (const char *const[]) { "spawn-denied", direct, NULL });
        g_autofree char *cpid2 = client_output_get(out2, "pid");
        g_autoptr(GPtrArray) lines3 = audit_lines();
        g_autoptr(GPtrArray) direct_recs = audit_records_since(seq0, "", atoi(cpid2));
        g_assert_cmpuint(direct_recs->len, ==, 1);
        assert_subject(direct_recs->pdata[0], UID_NOBODY, NULL, atoi(cpid2));
        assert_denied(direct_recs->pdata[0], lines3, "org.pidbroker.spawn", "polkit:no-bus-name");

        /* polkitd stops answering: the check times out (2 s) into a deny,
         * and the daemon serves others meanwhile. A third call while two
         * wait is refused at once (MaxPendingPerConnection=2), and that
         * refusal is recorded too. */
        g_assert_cmpint(kill(T.polkitd_pid, SIGSTOP), ==, 0);
        gint64 seq_hang = audit_last_seq();
        AsyncSpawn a[3] = {};
        uint64_t t0 = now_ms();
        for (int i = 0; i < 3; i++) {
                GVariant *argv = argv_helper((const char *const[]) { "exit", "0", NULL });
                g_dbus_connection_call_with_unix_fd_list(
                        root_bus(), BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn",
                        g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", argv,
                                      g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                                      g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0),
                                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
                        G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 30000, NULL, NULL, on_async_spawn, &a[i]);
        }
        iterate_until(async_done, &a[2], 1000);
        g_assert_true(a[2].done);
        assert_dbus_error(a[2].error, ERR_LIMIT);
        g_assert_nonnull(strstr(a[2].error->message, "MaxPendingPerConnection"));
        g_clear_error(&a[2].error);
        g_assert_cmpuint(now_ms() - t0, <, 1000);
        g_assert_false(a[0].done);
        g_assert_false(a[1].done);
        uint64_t t1 = now_ms();
        g_assert_cmpstr(policy_backend(), ==, "polkit"); /* served while the check hangs */
        g_assert_cmpuint(now_ms() - t1, <, 1000);
        for (int i = 0; i < 2; i++) {
                iterate_until(async_done, &a[i], 10000);
                g_assert_true(a[i].done);
                assert_dbus_error(a[i].error, ERR_DENIED);
                g_clear_error(&a[i].error);
        }
        g_assert_cmpuint(now_ms() - t0, >=, 1800);
        g_assert_cmpint(kill(T.polkitd_pid, SIGCONT), ==, 0);
        g_autoptr(GPtrArray) recs4 = audit_records();
        g_assert_cmpint(audit_last_seq(), ==, seq_hang + 3); /* the refusal, the two timeouts */
        GVariant *trec = recs4->pdata[recs4->len - 1];
        g_assert_cmpstr(jv_str(trec, "action"), ==, "org.pidbroker.spawn");
        g_assert_cmpstr(jv_str(trec, "rule"), ==, "polkit:timeout");

        /* polkitd gone: deny, for root too. */
        polkitd_stop();
        g_clear_error(&e);
        g_assert_false(spawn_full(root_bus(), argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                                  NULL, NULL, NULL, NULL, &e));
        assert_dbus_error(e, ERR_DENIED);
        g_autoptr(GPtrArray) recs5 = audit_records();
        g_assert_cmpstr(jv_str(recs5->pdata[recs5->len - 1], "rule"), ==, "polkit:unavailable");
        g_free(client_run(UID_NOBODY, (const char *const[]) { "spawn-denied", NULL }));

        /* PolicyBackend=polkit asked for explicitly, polkitd absent: the
         * daemon starts, and denies. */
        daemon_restart((const char *const[]) { "--policy-backend=polkit", NULL });
        g_assert_cmpstr(policy_backend(), ==, "polkit");
        g_clear_error(&e);
        g_assert_false(spawn_full(root_bus(), argv_helper((const char *const[]) { "exit", "0", NULL }), NULL, NULL, 0,
                                  NULL, NULL, NULL, NULL, &e));
        assert_dbus_error(e, ERR_DENIED);

        /* Back to what the other tests expect. */
        daemon_restart(NULL);
        g_assert_cmpstr(policy_backend(), ==, "embedded");
}

/* Root acting on nobody's workload goes through org.pidbroker.manage: its
 * Signal and its Stop are recorded with the rule that allowed them. */
static void test_manage_other_users_workload(void) {
        g_autoptr(GSubprocess) holder = client_start(UID_NOBODY, (const char *const[]) { "hold", NULL });
        g_autofree char *out = client_read_lines(holder, 5);
        g_autofree char *path = client_output_get(out, "path");
        g_autofree char *sid = client_output_get(out, "id");
        g_autofree char *swpid = client_output_get(out, "wpid");
        g_autoptr(GError) e = NULL;
        gint64 seq0 = audit_last_seq();

        g_assert_true(managed_objects_contain(root_bus(), path));
        g_assert_cmpuint(get_u32(root_bus(), path, "OwnerUid"), ==, UID_NOBODY);
        g_autoptr(GVariant) r = call(root_bus(), path, WORKLOAD_IFACE, "Signal", g_variant_new("(iu)", 0, 0), NULL, &e);
        g_assert_no_error(e);
        g_autoptr(GVariant) r2 = call(root_bus(), path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(holder), "go\n", 3, NULL, NULL, NULL));
        client_finish(holder);

        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GPtrArray) mine = audit_records_since(seq0, g_dbus_connection_get_unique_name(root_bus()), 0);
        g_assert_cmpuint(mine->len, ==, 2);
        /* Both signal-other-user and, for a caller the bus could not pin,
         * signal-cross-namespace are asked; the record names the last. */
        assert_allowed(mine->pdata[0], lines, "org.pidbroker.signal-cross-namespace", "default:auth_admin:root", "ok");
        assert_allowed(mine->pdata[1], lines, "org.pidbroker.manage", "default:auth_admin:root", "ok");
        for (guint i = 0; i < 2; i++) {
                assert_target_workload(mine->pdata[i], atoi(swpid), g_ascii_strtoull(sid, NULL, 10), UID_NOBODY);
                g_assert_cmpint(jv_int(mine->pdata[i], "details.signal"), ==, i == 0 ? 0 : SIGTERM);
                g_assert_cmpint(jv_int(mine->pdata[i], "subject.uid"), ==, 0);
        }
}

/* pidbrokerd --features parses the whole configuration first: values
 * strtod()/strtoull() would take (NaN, whose conversion to usec is undefined,
 * " -1" as 2^64-1, hex) must be refused. */
static int pidbrokerd_features_exit(const char *flag) {
        const char *argv[] = { g_getenv("PIDBROKERD"), "--features", "--config=/dev/null", flag, NULL };
        g_autoptr(GError) e = NULL;
        int status = -1;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                   NULL, NULL, NULL, NULL, &status, &e));
        g_assert_no_error(e);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_config_rejects_bad_values(void) {
        static const char *const bad[] = {
                "--stop-timeout-sec=nan", "--polkit-timeout-sec=nan", "--exit-retention-sec=inf",
                "--stop-timeout-sec=0x10", "--stop-timeout-sec= 5", "--max-argv-bytes= -1",
                "--max-env-bytes=+1",
        };

        g_assert_cmpint(pidbrokerd_features_exit("--stop-timeout-sec=0.5"), ==, EXIT_SUCCESS);
        g_assert_cmpint(pidbrokerd_features_exit("--max-argv-bytes=4096"), ==, EXIT_SUCCESS);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_test_message("%s", bad[i]);
                g_assert_cmpint(pidbrokerd_features_exit(bad[i]), ==, EXIT_FAILURE);
        }
}

static void register_tests(void) {
        add_test("denials-audited", test_denials_audited);
        add_test("getfd-group-rule", test_getfd_group_rule);
        add_test("cross-namespace-signal", test_cross_namespace_signal);
        add_test("signal-process-group", test_signal_process_group);
        add_test("manage-other-users-workload", test_manage_other_users_workload);
        add_test("audit-fail-closed", test_audit_fail_closed);
        add_test("polkit", test_polkit);
        add_test("config-rejects-bad-values", test_config_rejects_bad_values);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = {
                .suite = "policy-daemon",
                .rules = test_rules,
                .test_group = TEST_GROUP,
                .audit_tmpfs_size = "2m",
        };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
