/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Integration tests for pidbrokerd: the D-Bus API of org.pidbroker.Broker1(5) on a
 * private system-like bus (dbus-daemon or dbus-broker, --bus=), with clients
 * as root and as unprivileged users (daemon-harness.h), and at the end the
 * audit trail of everything the suite did. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

/* ---------- client side: this binary as an unprivileged D-Bus client ---------- */

/* Spawn into pid+mount+net namespaces; check the pidfd against the object;
 * see the exit by polling the pidfd; check ExitStatus and Exited. */
static void client_check_one(GDBusConnection *c, const char *const *argv, const char *want_code, int want_status) {
        ExitedLog log = { .paths = g_ptr_array_new_with_free_func(g_free) };
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd = -1;
        guint64 id;

        guint sub = g_dbus_connection_signal_subscribe(c, bus_dest(c), WORKLOAD_IFACE, "Exited", NULL, NULL,
                                                       G_DBUS_SIGNAL_FLAGS_NONE, on_exited, &log, NULL);
        g_assert_true(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, ns_options(NS_PID_MNT_NET, false, 0),
                                 &path, &pidfd, &id, &e));
        g_assert_no_error(e);

        /* The pidfd names the workload: same pid, same pidfs inode. */
        guint32 pid = get_u32(c, path, "Pid");
        g_assert_cmpuint(get_u64(c, path, "Id"), ==, id);
        g_assert_cmpuint(fd_inode(pidfd), ==, id);
        int fdpid = fdinfo_pid(pidfd);
        g_assert_true(fdpid == (int) pid || fdpid == -1); /* -1 once reaped */
        g_assert_cmpuint(get_u32(c, path, "OwnerUid"), ==, getuid());
        g_assert_cmpuint(get_u32(c, path, "User"), ==, getuid());

        /* New namespaces, not ours. */
        g_autoptr(GVariant) ns = get_property(c, path, WORKLOAD_IFACE, "Namespaces", &e);
        g_assert_no_error(e);
        static const char *const names[] = { "pid", "mount", "net" };
        static const char *const proc_names[] = { "pid", "mnt", "net" };
        for (size_t i = 0; i < 3; i++) {
                guint64 nsid = 0;
                g_assert_true(g_variant_lookup(ns, names[i], "t", &nsid));
                g_autofree char *p = g_strdup_printf("/proc/self/ns/%s", proc_names[i]);
                struct stat st;
                g_assert_cmpint(stat(p, &st), ==, 0);
                g_assert_cmpuint(nsid, !=, st.st_ino);
        }

        /* The exit is the pidfd becoming readable. */
        g_assert_true(fd_readable_within(pidfd, 20000));

        g_autofree char *code = NULL;
        int status;
        wait_workload(c, path, &code, &status);
        g_assert_cmpstr(code, ==, want_code);
        g_assert_cmpint(status, ==, want_status);
        g_autofree char *code2 = NULL;
        get_exit_status(c, path, &code2, &status);
        g_assert_cmpstr(code2, ==, want_code);
        g_assert_cmpint(status, ==, want_status);
        g_autofree char *state = get_str(c, path, "State");
        g_assert_cmpstr(state, ==, "exited");

        iterate_until(exited_log_has, &log, 5000);
        g_assert_true(exited_seen(&log, path));
        g_assert_cmpstr(log.code, ==, want_code);
        g_assert_cmpint(log.status, ==, want_status);

        g_dbus_connection_signal_unsubscribe(c, sub);
        release_workload(c, path);
        g_assert_false(managed_objects_contain(c, path));
        close(pidfd);
        g_ptr_array_unref(log.paths);
        g_free(log.code);
}

static int client_spawn_ns(GDBusConnection *c) {
        const char *h = test_helper_path();
        client_check_one(c, (const char *const[]) { h, "sleep", "1", NULL }, "exited", 0);
        client_check_one(c, (const char *const[]) { h, "exit", "7", NULL }, "exited", 7);
        client_check_one(c, (const char *const[]) { h, "kill-self", "15", NULL }, "killed", SIGTERM);
        return 0;
}

/* Spawn a long sleeper, report it, wait for the test to say go, clean up. */
static int client_hold(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd;
        guint64 id;

        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "120", NULL }, false),
                                 NULL, NULL, 0, ns_options(NS_PID_MNT_NET, false, 0), &path, &pidfd, &id, &e));
        printf("%s %u\n", path, get_u32(c, path, "Pid"));
        fflush(stdout);

        g_autofree char *go = read_line_fd(STDIN_FILENO, 60000);
        /* The intruder changed nothing. */
        g_autofree char *state = get_str(c, path, "State");
        g_assert_cmpstr(state, ==, "running");
        g_assert_cmpint(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0), ==, 0);
        stop_and_release(c, path);
        return 0;
}

/* Another user: must neither see nor signal the workload at path/pid. */
static int client_intrude(GDBusConnection *c, const char *path, pid_t pid) {
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL, e5 = NULL;

        g_assert_false(managed_objects_contain(c, path));

        g_autoptr(GVariant) v = get_property(c, path, WORKLOAD_IFACE, "Argv", &e1);
        g_assert_null(v);
        g_assert_nonnull(e1);

        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Signal", g_variant_new("(iu)", SIGKILL, 0), NULL, &e2);
        g_assert_null(r);
        g_assert_nonnull(e2);

        g_autoptr(GVariant) r2 = call(c, path, WORKLOAD_IFACE, "GetPidfd", NULL, NULL, &e3);
        g_assert_null(r2);
        g_assert_nonnull(e3);

        /* Introspection of the parent lists no node for it. */
        g_autoptr(GVariant) x = call(c, WORKLOAD_PREFIX, "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                                     "(s)", &e4);
        g_assert_no_error(e4);
        const char *xml;
        g_variant_get(x, "(&s)", &xml);
        g_assert_null(strstr(xml, strrchr(path, '/') + 1));

        /* A pidfd anyone can open gives no right to signal through the broker. */
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        g_assert_cmpint(pidfd, >=, 0);
        g_autoptr(GUnixFDList) fl = g_unix_fd_list_new_from_array(&pidfd, 1);
        g_autoptr(GVariant) r3 = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Signal", g_variant_new("(hiu)", 0, SIGKILL, 0), NULL,
                G_DBUS_CALL_FLAGS_NONE, 30000, fl, NULL, NULL, &e5);
        g_assert_null(r3);
        assert_dbus_error(e5, ERR_DENIED);
        return 0;
}

/* watch_client: spawn, report the pid, then wait to be killed. */
static int client_watch(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd;

        int p[2];

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap fds[] = { { 1, p[1] } };
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "ignore-term", "300", NULL }, true),
                                 NULL, fds, 1, ns_options(NULL, true, 1000000), &path, &pidfd, NULL, &e));
        close(p[1]);
        /* Only once SIGTERM is ignored does the escalation have to follow. */
        g_autofree char *ready = read_line_fd(p[0], 20000);
        g_assert_cmpstr(ready, ==, "ready");
        printf("%u\n", get_u32(c, path, "Pid"));
        fflush(stdout);
        pause();
        return 0;
}

/* What an unprivileged caller may not do. */
static int client_unprivileged_denials(GDBusConnection *c) {
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
        const char *const argv[] = { test_helper_path(), "exit", "0", NULL };
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "capabilities", g_variant_new_strv((const char *const[]) { "CAP_NET_RAW", NULL }, -1));
        g_assert_false(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, g_variant_builder_end(&b), NULL, NULL, NULL, &e1));
        assert_dbus_error(e1, ERR_DENIED);

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "user", g_variant_new_uint32(0));
        g_assert_false(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, g_variant_builder_end(&b), NULL, NULL, NULL, &e2));
        assert_dbus_error(e2, ERR_DENIED);

        /* Unfiltered, without no_new_privileges, as yourself with no
         * capabilities: nothing you could not run directly, so allowed. */
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "seccomp", g_variant_new_string("none"));
        g_variant_builder_add(&b, "{sv}", "no_new_privileges", g_variant_new_boolean(false));
        g_assert_true(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, g_variant_builder_end(&b), NULL, NULL, NULL, &e3));
        g_assert_no_error(e3);

        /* GetFd is root's (policy comes later). */
        int self = (int) syscall(SYS_pidfd_open, getpid(), 0);
        g_autoptr(GUnixFDList) fl = g_unix_fd_list_new_from_array(&self, 1);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "GetFd", g_variant_new("(hi)", 0, 0), NULL,
                G_DBUS_CALL_FLAGS_NONE, 30000, fl, NULL, NULL, &e4);
        assert_dbus_error(e4, ERR_DENIED);
        return 0;
}

/* Signal your own workload through Broker1.Signal with its pidfd. */
static int client_signal_own(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd;

        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "60", NULL }, true),
                                 NULL, NULL, 0, NULL, &path, &pidfd, NULL, &e));
        g_autoptr(GUnixFDList) fl = g_unix_fd_list_new_from_array((int[]) { dup(pidfd) }, 1);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Signal", g_variant_new("(hiu)", 0, SIGUSR1, 0), NULL,
                G_DBUS_CALL_FLAGS_NONE, 30000, fl, NULL, NULL, &e);
        g_assert_no_error(e);
        g_autofree char *code = NULL;
        int status;
        wait_workload(c, path, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGUSR1);

        /* The pidfd promise: a dead target is NoSuchProcess. */
        g_autoptr(GError) e2 = NULL;
        g_autoptr(GUnixFDList) fl2 = g_unix_fd_list_new_from_array(&pidfd, 1);
        g_autoptr(GVariant) r2 = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Signal", g_variant_new("(hiu)", 0, SIGTERM, 0), NULL,
                G_DBUS_CALL_FLAGS_NONE, 30000, fl2, NULL, NULL, &e2);
        assert_dbus_error(e2, ERR_NOSUCH);
        release_workload(c, path);
        return 0;
}

/* Up to the per-user limit, and no further. */
static int client_limit(GDBusConnection *c) {
        char *paths[TEST_MAX_WORKLOADS];
        const char *const argv[] = { test_helper_path(), "sleep", "60", NULL };

        for (int i = 0; i < TEST_MAX_WORKLOADS; i++) {
                g_autoptr(GError) e = NULL;
                int pidfd;
                g_assert_true(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, NULL, &paths[i], &pidfd, NULL, &e));
                close(pidfd);
        }
        g_autoptr(GError) e = NULL;
        g_assert_false(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, NULL, NULL, NULL, NULL, &e));
        assert_dbus_error(e, ERR_LIMIT);

        for (int i = 0; i < TEST_MAX_WORKLOADS; i++) {
                stop_and_release(c, paths[i]);
                g_free(paths[i]);
        }
        /* Room again. */
        g_autofree char *path = NULL;
        g_autoptr(GError) e2 = NULL;
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "exit", "0", NULL }, true),
                                 NULL, NULL, 0, NULL, &path, NULL, NULL, &e2));
        g_autofree char *code = NULL;
        int status;
        wait_workload(c, path, &code, &status);
        release_workload(c, path);
        return 0;
}

/* Over the direct socket: identity from the socket itself. */
static int client_direct(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd;
        guint64 id;
        ExitedLog log = { .paths = g_ptr_array_new_with_free_func(g_free) };

        g_assert_null(g_dbus_connection_get_unique_name(c));
        guint sub = g_dbus_connection_signal_subscribe(c, NULL, WORKLOAD_IFACE, "Exited", NULL, NULL,
                                                       G_DBUS_SIGNAL_FLAGS_NONE, on_exited, &log, NULL);
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "exit", "3", NULL }, true),
                                 NULL, NULL, 0, ns_options(NS_PID_MNT_NET, false, 0), &path, &pidfd, &id, &e));
        g_assert_no_error(e);
        g_assert_cmpuint(fd_inode(pidfd), ==, id);
        g_assert_cmpuint(get_u32(c, path, "OwnerUid"), ==, getuid());
        g_autofree char *code = NULL;
        int status;
        wait_workload(c, path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 3);
        iterate_until(exited_log_has, &log, 5000);
        g_assert_true(exited_seen(&log, path));
        g_dbus_connection_signal_unsubscribe(c, sub);
        release_workload(c, path);
        g_ptr_array_unref(log.paths);
        g_free(log.code);
        printf("%" G_GUINT64_FORMAT "\n", id);
        fflush(stdout);
        return 0;
}

/* Spawn with the defaults and print the workload's "Gid:" line. */
static int client_print_gid(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int p[2];

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap fds[] = { { 1, p[1] } };
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "status", NULL }, true),
                                 NULL, fds, 1, NULL, &path, NULL, NULL, &e));
        g_assert_no_error(e);
        close(p[1]);
        g_autofree char *out = read_all_fd(p[0]);
        close(p[0]);
        g_autofree char *code = NULL;
        int status;
        wait_workload(c, path, &code, &status);
        release_workload(c, path);
        const char *gid = strstr(out, "Gid:");
        g_assert_nonnull(gid);
        printf("%.*s\n", (int) strcspn(gid, "\n"), gid);
        return 0;
}

/* Spawn argv with no options (the site's default seccomp profile, no
 * capabilities, no_new_privileges) and want exit 0. */
static int client_default_profile_runs(GDBusConnection *c, const char *const *argv) {
        g_autofree char *path = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int status;

        g_assert_true(spawn_full(c, argv_variant(argv, true), NULL, NULL, 0, NULL, &path, NULL, NULL, &e));
        g_assert_no_error(e);
        wait_workload(c, path, &code, &status);
        g_test_message("%s: %s %d", argv[0], code, status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 0);
        release_workload(c, path);
        return 0;
}

static int client_main(int argc, char *argv[]) {
        /* argv: self --client SCENARIO [ARGS...] */
        const char *scenario = argv[2];
        if (g_str_equal(scenario, "print-gid") && argc >= 4) {
                /* GLib ignores DBUS_SYSTEM_BUS_ADDRESS in a process whose
                 * real and effective ids differ: connect by address. */
                g_autoptr(GError) e = NULL;
                g_autoptr(GDBusConnection) b = g_dbus_connection_new_for_address_sync(
                        argv[3],
                        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                        NULL, NULL, &e);
                g_assert_no_error(e);
                return client_print_gid(b);
        }
        g_autoptr(GDBusConnection) c = client_connect(g_str_equal(scenario, "direct") ? argv[3] : NULL);

        if (g_str_equal(scenario, "spawn-ns"))
                return client_spawn_ns(c);
        if (g_str_equal(scenario, "hold"))
                return client_hold(c);
        if (g_str_equal(scenario, "intrude") && argc >= 5)
                return client_intrude(c, argv[3], atoi(argv[4]));
        if (g_str_equal(scenario, "watch"))
                return client_watch(c);
        if (g_str_equal(scenario, "denials"))
                return client_unprivileged_denials(c);
        if (g_str_equal(scenario, "signal-own"))
                return client_signal_own(c);
        if (g_str_equal(scenario, "limit"))
                return client_limit(c);
        if (g_str_equal(scenario, "direct"))
                return client_direct(c);
        if (g_str_equal(scenario, "default-profile-runs"))
                return client_default_profile_runs(c, (const char *const *) argv + 3);
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ----- tests ----- */

static void test_properties(void) {
        GDBusConnection *c = root_bus();
        g_autoptr(GError) e = NULL;

        g_autoptr(GVariant) version = get_property(c, BROKER_PATH, BROKER_IFACE, "Version", &e);
        g_assert_no_error(e);
        g_assert_cmpstr(g_variant_get_string(version, NULL), !=, "");

        g_autoptr(GVariant) features = get_property(c, BROKER_PATH, BROKER_IFACE, "Features", &e);
        g_assert_no_error(e);
        /* The kernel's 17, then cgroup_units and a cgroup_<controller> for
         * each of the 4 limits (test-units checks those). */
        g_assert_cmpuint(g_variant_n_children(features), ==, 17 + 5);
        static const char *const expected[] = { "pidfd_open", "clone3", "waitid_pidfd", "pidfs", "so_peerpidfd",
                                                "pidfd_get_info", "close_range" };
        for (size_t i = 0; i < G_N_ELEMENTS(expected); i++) {
                bool found = false;
                for (gsize j = 0; j < g_variant_n_children(features); j++) {
                        const char *name, *detail;
                        gboolean avail;
                        g_variant_get_child(features, j, "(&sb&s)", &name, &avail, &detail);
                        if (g_str_equal(name, expected[i])) {
                                found = true;
                                /* This machine (6.18) has all of them: nothing may skip. */
                                g_assert_true(avail);
                        }
                }
                g_assert_true(found);
        }

        g_autoptr(GVariant) cp = get_property(c, BROKER_PATH, BROKER_IFACE, "ControlPath", &e);
        g_assert_no_error(e);
        g_assert_cmpstr(g_variant_get_string(cp, NULL), ==, "pidfd");
        g_autoptr(GVariant) pb = get_property(c, BROKER_PATH, BROKER_IFACE, "PolicyBackend", &e);
        g_assert_no_error(e);
        g_assert_cmpstr(g_variant_get_string(pb, NULL), ==, "embedded");

        g_autoptr(GVariant) metrics = get_property(c, BROKER_PATH, BROKER_IFACE, "Metrics", &e);
        g_assert_no_error(e);
        static const char *const keys[] = { "spawns.ok", "spawns.failed", "control_path.pidfd",
                                            "control_path.legacy_pid", "signal_result.ok", "signal_result.esrch",
                                            "signal_result.eperm", "signal_result.fallback", "wait_result.exited",
                                            "wait_result.eagain", "wait_result.echild", "wait_result.error" };
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                guint64 v;
                g_assert_true(g_variant_lookup(metrics, keys[i], "t", &v));
        }
}

static GDBusInterfaceInfo *served_interface(const char *path, const char *iface) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(root_bus(), path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                                     "(s)", &e);
        g_assert_no_error(e);
        const char *xml;
        g_variant_get(r, "(&s)", &xml);
        g_autoptr(GDBusNodeInfo) n = g_dbus_node_info_new_for_xml(xml, &e);
        g_assert_no_error(e);
        for (GDBusInterfaceInfo **i = n->interfaces; i && *i; i++)
                if (!g_str_has_prefix((*i)->name, "org.freedesktop.DBus."))
                        g_assert_cmpstr((*i)->name, ==, iface);
        GDBusInterfaceInfo *i = g_dbus_node_info_lookup_interface(n, iface);
        g_assert_nonnull(i);
        return g_dbus_interface_info_ref(i);
}

static char *args_signature(GDBusArgInfo **args) {
        GString *s = g_string_new(NULL);
        for (; args && *args; args++)
                g_string_append(s, (*args)->signature);
        return g_string_free(s, FALSE);
}

static const char *emits_changed_signal(GDBusPropertyInfo *p) {
        return g_dbus_annotation_info_lookup(p->annotations, "org.freedesktop.DBus.Property.EmitsChangedSignal")
                       ?: "true";
}

static void compare_interfaces(GDBusInterfaceInfo *want, GDBusInterfaceInfo *got) {
        guint n = 0;
        for (GDBusMethodInfo **m = want->methods; m && *m; m++, n++) {
                GDBusMethodInfo *g = g_dbus_interface_info_lookup_method(got, (*m)->name);
                if (!g)
                        g_error("%s.%s is in the XML but not served", want->name, (*m)->name);
                g_autofree char *wi = args_signature((*m)->in_args), *gi = args_signature(g->in_args);
                g_autofree char *wo = args_signature((*m)->out_args), *go = args_signature(g->out_args);
                g_assert_cmpstr(wi, ==, gi);
                g_assert_cmpstr(wo, ==, go);
        }
        guint k = 0;
        for (GDBusMethodInfo **m = got->methods; m && *m; m++)
                k++;
        g_assert_cmpuint(n, ==, k);

        n = k = 0;
        for (GDBusSignalInfo **s = want->signals; s && *s; s++, n++) {
                GDBusSignalInfo *g = g_dbus_interface_info_lookup_signal(got, (*s)->name);
                g_assert_nonnull(g);
                g_autofree char *w = args_signature((*s)->args), *gs = args_signature(g->args);
                g_assert_cmpstr(w, ==, gs);
        }
        for (GDBusSignalInfo **s = got->signals; s && *s; s++)
                k++;
        g_assert_cmpuint(n, ==, k);

        n = k = 0;
        for (GDBusPropertyInfo **p = want->properties; p && *p; p++, n++) {
                GDBusPropertyInfo *g = g_dbus_interface_info_lookup_property(got, (*p)->name);
                if (!g)
                        g_error("property %s.%s is in the XML but not served", want->name, (*p)->name);
                g_assert_cmpstr((*p)->signature, ==, g->signature);
                g_assert_cmpint((*p)->flags, ==, g->flags);
                /* What a GDBusProxy caches and updates: no annotation is "true". */
                g_assert_cmpstr(emits_changed_signal(*p), ==, emits_changed_signal(g));
        }
        for (GDBusPropertyInfo **p = got->properties; p && *p; p++)
                k++;
        g_assert_cmpuint(n, ==, k);
}

static void test_introspection_matches_xml(void) {
        g_autofree char *xml_path = g_build_filename(g_getenv("PIDBROKER_SOURCE_ROOT"), "dbus",
                                                     "org.pidbroker.Broker1.xml", NULL);
        g_autofree char *xml = NULL;
        g_autoptr(GError) e = NULL;

        g_assert_true(g_file_get_contents(xml_path, &xml, NULL, &e));
        g_autoptr(GDBusNodeInfo) want = g_dbus_node_info_new_for_xml(xml, &e);
        g_assert_no_error(e);
        g_assert_nonnull(g_dbus_node_info_lookup_interface(want, BROKER_IFACE));
        g_assert_nonnull(g_dbus_node_info_lookup_interface(want, WORKLOAD_IFACE));

        GDBusInterfaceInfo *broker = served_interface(BROKER_PATH, BROKER_IFACE);
        compare_interfaces(g_dbus_node_info_lookup_interface(want, BROKER_IFACE), broker);
        g_dbus_interface_info_unref(broker);

        g_autofree char *path = NULL;
        int pidfd;
        g_assert_true(spawn_full(root_bus(), argv_variant((const char *const[]) { test_helper_path(), "sleep", "30", NULL }, true),
                                 NULL, NULL, 0, NULL, &path, &pidfd, NULL, &e));
        GDBusInterfaceInfo *wl = served_interface(path, WORKLOAD_IFACE);
        compare_interfaces(g_dbus_node_info_lookup_interface(want, WORKLOAD_IFACE), wl);
        g_dbus_interface_info_unref(wl);
        stop_and_release(root_bus(), path);
        close(pidfd);

        /* The ObjectManager lives on the manager object. */
        g_autoptr(GVariant) r = call(root_bus(), BROKER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                     NULL, "(a{oa{sa{sv}}})", &e);
        g_assert_no_error(e);
}

static void test_spawn_unprivileged_namespaces(void) {
        ExitedLog log = { .paths = g_ptr_array_new_with_free_func(g_free) };
        /* Root listens to every Exited it may receive: it must get none of
         * the unprivileged owner's. */
        guint sub = g_dbus_connection_signal_subscribe(root_bus(), NULL, WORKLOAD_IFACE, "Exited", NULL, NULL,
                                                       G_DBUS_SIGNAL_FLAGS_NONE, on_exited, &log, NULL);
        g_assert_true(name_has_owner(root_bus(), BROKER_NAME)); /* round trip: AddMatch is in */

        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "spawn-ns", NULL });

        iterate_until(NULL, NULL, 500);
        g_assert_cmpuint(log.paths->len, ==, 0);
        g_dbus_connection_signal_unsubscribe(root_bus(), sub);
        g_ptr_array_unref(log.paths);
        g_free(log.code);
}

typedef struct WaitState {
        int done;
        char *code[2];
        int status[2];
} WaitState;

static void on_wait_reply(GObject *src, GAsyncResult *res, gpointer userdata) {
        WaitState *w = userdata;
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &e);
        g_assert_no_error(e);
        g_variant_get(r, "(si)", &w->code[w->done], &w->status[w->done]);
        w->done++;
}

static bool both_done(void *data) {
        return ((WaitState *) data)->done == 2;
}

static void test_wait(void) {
        GDBusConnection *c = root_bus();
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        WaitState w = {};
        int pidfd;

        g_autofree char *quick = NULL;
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "exit", "0", NULL }, true), NULL,
                                 NULL, 0, NULL, &quick, NULL, NULL, &e)); /* exits at once */
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "1", NULL }, true), NULL,
                                 NULL, 0, NULL, &path, &pidfd, NULL, &e));
        g_autofree char *state = get_str(c, path, "State");
        g_assert_cmpstr(state, ==, "running");
        g_autofree char *code0 = NULL;
        int st0;
        get_exit_status(c, path, &code0, &st0);
        g_assert_cmpstr(code0, ==, "");
        g_assert_cmpint(st0, ==, 0);

        /* Two waiters on a running workload. */
        for (int i = 0; i < 2; i++)
                g_dbus_connection_call(c, BROKER_NAME, path, WORKLOAD_IFACE, "Wait", NULL, G_VARIANT_TYPE("(si)"),
                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_wait_reply, &w);
        iterate_until(both_done, &w, 20000);
        g_assert_cmpint(w.done, ==, 2);
        for (int i = 0; i < 2; i++) {
                g_assert_cmpstr(w.code[i], ==, "exited");
                g_assert_cmpint(w.status[i], ==, 0);
                g_free(w.code[i]);
        }
        g_assert_true(fd_readable_within(pidfd, 0));

        /* And on an exited one: at once. */
        uint64_t t0 = now_ms();
        g_autofree char *code = NULL;
        int status;
        wait_workload(c, path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpuint(now_ms() - t0, <, 2000);
        release_workload(c, path);
        g_autofree char *qc = NULL;
        wait_workload(c, quick, &qc, &status);
        g_assert_cmpstr(qc, ==, "exited");
        release_workload(c, quick);
        close(pidfd);
}

/* One Wait or Stop call on a running workload: its reply or its error. */
typedef struct WaitSlot {
        bool answered;
        char *code;
        int status;
        GError *error;
} WaitSlot;

static void on_wait_slot_reply(GObject *src, GAsyncResult *res, gpointer userdata) {
        WaitSlot *s = userdata;
        g_autoptr(GVariant) r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &s->error);
        if (r)
                g_variant_get(r, "(si)", &s->code, &s->status);
        s->answered = true;
}

static bool slot_answered(void *data) {
        return ((WaitSlot *) data)->answered;
}

static bool slots_answered(void *data) {
        WaitSlot *s = data;
        for (int i = 0; i < TEST_MAX_WAITERS; i++)
                if (!s[i].answered)
                        return false;
        return true;
}

/* Waiters are bounded (MaxWaitersPerWorkload, TEST_MAX_WAITERS here): the
 * one past the limit is refused at once, a Stop too (without a signal), and
 * the others are all answered at the exit, leaving nothing behind. */
static void test_wait_limit(void) {
        GDBusConnection *c = root_bus();
        WaitSlot slots[TEST_MAX_WAITERS + 1] = {};
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL, e2 = NULL;
        int pidfd;

        g_autoptr(GVariant) warm = get_property(c, BROKER_PATH, BROKER_IFACE, "Metrics", NULL);
        unsigned before = count_fds(T.daemon_pid);

        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "120", NULL }, true),
                                 NULL, NULL, 0, NULL, &path, &pidfd, NULL, &e));
        g_assert_no_error(e);

        /* Sent in order on one connection, so handled in order: the last
         * one finds the list full. */
        for (int i = 0; i < TEST_MAX_WAITERS + 1; i++)
                g_dbus_connection_call(c, BROKER_NAME, path, WORKLOAD_IFACE, "Wait", NULL, G_VARIANT_TYPE("(si)"),
                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_wait_slot_reply, &slots[i]);
        iterate_until(slot_answered, &slots[TEST_MAX_WAITERS], 10000);
        g_assert_true(slots[TEST_MAX_WAITERS].answered);
        assert_dbus_error(slots[TEST_MAX_WAITERS].error, ERR_LIMIT);
        g_assert_nonnull(strstr(slots[TEST_MAX_WAITERS].error->message, "MaxWaitersPerWorkload"));
        for (int i = 0; i < TEST_MAX_WAITERS; i++)
                g_assert_false(slots[i].answered);

        /* Stop is a waiter too: refused, and it sent nothing. */
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e2);
        g_assert_null(r);
        assert_dbus_error(e2, ERR_LIMIT);
        g_assert_false(fd_readable_within(pidfd, 200));
        g_autofree char *state = get_str(c, path, "State");
        g_assert_cmpstr(state, ==, "running");

        /* The exit answers every waiter. */
        g_autoptr(GVariant) r2 = call(c, path, WORKLOAD_IFACE, "Signal", g_variant_new("(iu)", SIGTERM, 0), NULL, &e);
        g_assert_no_error(e);
        iterate_until(slots_answered, slots, 20000);
        for (int i = 0; i < TEST_MAX_WAITERS; i++) {
                g_assert_true(slots[i].answered);
                g_assert_no_error(slots[i].error);
                g_assert_cmpstr(slots[i].code, ==, "killed");
                g_assert_cmpint(slots[i].status, ==, SIGTERM);
                g_free(slots[i].code);
        }
        g_clear_error(&slots[TEST_MAX_WAITERS].error);
        release_workload(c, path);
        close(pidfd);

        unsigned after = 0;
        for (int i = 0; i < 50; i++) {
                after = count_fds(T.daemon_pid);
                if (after == before)
                        break;
                g_usleep(100000);
        }
        g_assert_cmpuint(after, ==, before);
}

/* Wait calls of a client that went away are dropped with it: they do not
 * keep counting against MaxWaitersPerWorkload, so the owner's Stop from
 * another connection still goes through. */
static void test_abandoned_waits(void) {
        GDBusConnection *c = root_bus();
        WaitSlot slots[TEST_MAX_WAITERS] = {};
        g_autofree char *path = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd, status;

        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "120", NULL }, true),
                                 NULL, NULL, 0, NULL, &path, &pidfd, NULL, &e));
        g_assert_no_error(e);

        g_autoptr(GDBusConnection) other = g_dbus_connection_new_for_address_sync(
                g_getenv("DBUS_SYSTEM_BUS_ADDRESS"),
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL,
                NULL, &e);
        g_assert_no_error(e);
        for (int i = 0; i < TEST_MAX_WAITERS; i++)
                g_dbus_connection_call(other, BROKER_NAME, path, WORKLOAD_IFACE, "Wait", NULL, G_VARIANT_TYPE("(si)"),
                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_wait_slot_reply, &slots[i]);
        /* Every Wait in: a call sent after them on the same connection is
         * answered after them. */
        g_autoptr(GVariant) sync = g_dbus_connection_call_sync(other, BROKER_NAME, path,
                                                               "org.freedesktop.DBus.Properties", "Get",
                                                               g_variant_new("(ss)", WORKLOAD_IFACE, "State"), NULL,
                                                               G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &e);
        g_assert_no_error(e);
        g_assert_true(g_dbus_connection_close_sync(other, NULL, &e));
        g_assert_no_error(e);
        /* Closing fails the calls here, each with an error of its own. */
        iterate_until(slots_answered, slots, 10000);
        for (int i = 0; i < TEST_MAX_WAITERS; i++) {
                g_assert_true(slots[i].answered);
                g_assert_nonnull(slots[i].error);
                g_clear_error(&slots[i].error);
        }

        /* The bus tells the daemon; until then a Stop may still find the
         * list full. */
        g_autoptr(GVariant) r = NULL;
        for (int i = 0; i < 100 && !r; i++) {
                g_clear_error(&e);
                r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
                if (!r)
                        g_usleep(50000);
        }
        g_assert_no_error(e);
        g_assert_nonnull(r);
        g_variant_get(r, "(si)", &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        release_workload(c, path);
        close(pidfd);
}

static void test_stop_escalation(void) {
        GDBusConnection *c = root_bus();
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int p[2], pidfd;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap fds[] = { { 1, p[1] } };
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "ignore-term", "120", NULL }, true),
                                 NULL, fds, 1, ns_options(NS_PID_MNT_NET, false, 1000000), &path, &pidfd, NULL, &e));
        g_assert_no_error(e);
        close(p[1]);
        g_autofree char *ready = read_line_fd(p[0], 20000);
        g_assert_cmpstr(ready, ==, "ready");

        uint64_t t0 = now_ms();
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        uint64_t took = now_ms() - t0;
        const char *code;
        gint32 status;
        g_variant_get(r, "(&si)", &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGKILL);
        g_assert_cmpuint(took, >=, 900);
        g_assert_cmpuint(took, <, 8000);
        g_assert_true(fd_readable_within(pidfd, 0));
        release_workload(c, path);
        close(pidfd);
        close(p[0]);

        /* A workload that honours SIGTERM stops at once, with SIGTERM. */
        g_autofree char *path2 = NULL;
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "120", NULL }, true),
                                 NULL, NULL, 0, ns_options(NULL, false, 5000000), &path2, NULL, NULL, &e));
        t0 = now_ms();
        g_autoptr(GVariant) r2 = call(c, path2, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        g_variant_get(r2, "(&si)", &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        g_assert_cmpuint(now_ms() - t0, <, 4000);
        release_workload(c, path2);
}

static void test_other_user_cannot_see_or_signal(void) {
        g_autoptr(GSubprocess) owner = client_start(UID_NOBODY, (const char *const[]) { "hold", NULL });
        g_autofree char *line = read_line_fd(client_stdout_fd(owner), 30000);
        g_auto(GStrv) parts = g_strsplit(line, " ", 2);
        g_assert_nonnull(parts[0]);
        g_assert_nonnull(parts[1]);
        g_assert_true(g_str_has_prefix(parts[0], WORKLOAD_PREFIX "/"));

        /* Root sees it (the manage view). */
        g_assert_true(managed_objects_contain(root_bus(), parts[0]));

        g_autofree char *out = client_run(UID_DAEMON, (const char *const[]) { "intrude", parts[0], parts[1], NULL });

        GOutputStream *in = g_subprocess_get_stdin_pipe(owner);
        g_assert_true(g_output_stream_write_all(in, "go\n", 3, NULL, NULL, NULL));
        client_finish(owner);
}

static char *spawn_and_collect(const char *const *argv, const FdMap *fds, size_t n, int read_fd) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        g_assert_true(spawn_full(root_bus(), argv_variant(argv, true), NULL, fds, n, NULL, &path, NULL, NULL, &e));
        g_assert_no_error(e);
        g_autofree char *code = NULL;
        int status;
        wait_workload(root_bus(), path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 0);
        release_workload(root_bus(), path);
        return read_fd >= 0 ? read_all_fd(read_fd) : NULL;
}

static void test_fd_map(void) {
        int a[2], b[2];
        const char *h = test_helper_path();

        /* stdout to a, stderr to b: "print X 2" lands in b only. */
        g_assert_cmpint(pipe2(a, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(b, O_CLOEXEC), ==, 0);
        FdMap m1[] = { { 1, a[1] }, { 2, b[1] } };
        g_free(spawn_and_collect((const char *const[]) { h, "print", "to-stderr", "2", NULL }, m1, 2, -1));
        close(a[1]);
        close(b[1]);
        g_autofree char *ra = read_all_fd(a[0]), *rb = read_all_fd(b[0]);
        g_assert_cmpstr(ra, ==, "");
        g_assert_cmpstr(rb, ==, "to-stderr");
        close(a[0]);
        close(b[0]);

        /* Swapped: the target numbers are honoured, not the order. */
        g_assert_cmpint(pipe2(a, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(b, O_CLOEXEC), ==, 0);
        FdMap m2[] = { { 2, a[1] }, { 1, b[1] } };
        g_free(spawn_and_collect((const char *const[]) { h, "print", "to-stdout", "1", NULL }, m2, 2, -1));
        close(a[1]);
        close(b[1]);
        g_autofree char *ra2 = read_all_fd(a[0]), *rb2 = read_all_fd(b[0]);
        g_assert_cmpstr(ra2, ==, "");
        g_assert_cmpstr(rb2, ==, "to-stdout");
        close(a[0]);
        close(b[0]);

        /* Nothing else is inherited: fds 0, 1, 2 and the mapped 7. */
        g_assert_cmpint(pipe2(a, O_CLOEXEC), ==, 0);
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        FdMap m3[] = { { 1, a[1] }, { 7, null_fd } };
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        g_assert_true(spawn_full(root_bus(), argv_variant((const char *const[]) { h, "fds", NULL }, false), NULL, m3, 2,
                                 NULL, &path, NULL, NULL, &e));
        close(a[1]);
        close(null_fd);
        g_autofree char *fds = read_all_fd(a[0]);
        g_assert_cmpstr(fds, ==, "0\n1\n2\n7\n");
        close(a[0]);
        g_autofree char *code = NULL;
        int status;
        wait_workload(root_bus(), path, &code, &status);
        release_workload(root_bus(), path);

        /* env is the whole environment. */
        g_assert_cmpint(pipe2(a, O_CLOEXEC), ==, 0);
        GVariantBuilder eb;
        g_variant_builder_init(&eb, G_VARIANT_TYPE("a{ss}"));
        g_variant_builder_add(&eb, "{ss}", "FOO", "bar=baz");
        FdMap m4[] = { { 1, a[1] } };
        g_autofree char *path2 = NULL;
        g_assert_true(spawn_full(root_bus(), argv_variant((const char *const[]) { h, "env", NULL }, true),
                                 g_variant_builder_end(&eb), m4, 1, NULL, &path2, NULL, NULL, &e));
        close(a[1]);
        g_autofree char *env = read_all_fd(a[0]);
        g_assert_cmpstr(env, ==, "FOO=bar=baz\n");
        close(a[0]);
        g_autofree char *code2 = NULL;
        wait_workload(root_bus(), path2, &code2, &status);
        release_workload(root_bus(), path2);
}

/* Argv and cwd are taken with or without a trailing NUL; Argv comes back
 * with one on each element, so GLib reads it as bytestrings. */
static void test_argv_bytestrings(void) {
        const char *const argv[] = { test_helper_path(), "cwd", "", "x y", NULL };

        for (int nul = 0; nul <= 1; nul++) {
                g_autofree char *path = NULL, *code = NULL;
                g_autoptr(GError) e = NULL;
                GVariant *cwd;
                int p[2], status;

                if (nul)
                        cwd = g_variant_new_bytestring("/tmp");
                else
                        cwd = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "/tmp", 4, 1);
                g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
                FdMap m[] = { { 1, p[1] } };
                g_assert_true(spawn_full(root_bus(), argv_variant(argv, nul), NULL, m, 1, one_option("cwd", cwd),
                                         &path, NULL, NULL, &e));
                g_assert_no_error(e);
                close(p[1]);

                g_autoptr(GVariant) v = get_property(root_bus(), path, WORKLOAD_IFACE, "Argv", &e);
                g_assert_no_error(e);
                g_assert_cmpuint(g_variant_n_children(v), ==, 4);
                for (gsize i = 0; i < g_variant_n_children(v); i++) {
                        g_autoptr(GVariant) el = g_variant_get_child_value(v, i);
                        gsize n;
                        const char *bytes = g_variant_get_fixed_array(el, &n, 1);
                        g_assert_cmpuint(n, ==, strlen(argv[i]) + 1);
                        g_assert_cmpint(bytes[n - 1], ==, '\0');
                }
                g_autofree const char **got = g_variant_get_bytestring_array(v, NULL);
                g_assert_true(g_strv_equal(got, argv));

                g_autofree char *out = read_all_fd(p[0]);
                close(p[0]);
                g_assert_cmpstr(out, ==, "/tmp\n");
                wait_workload(root_bus(), path, &code, &status);
                g_assert_cmpstr(code, ==, "exited");
                g_assert_cmpint(status, ==, 0);
                release_workload(root_bus(), path);
        }
}

static void test_watch_client(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN); /* the test's own pidfd of the client */
        g_autoptr(GSubprocess) client = client_start(UID_NOBODY, (const char *const[]) { "watch", NULL });
        g_autofree char *line = read_line_fd(client_stdout_fd(client), 30000);
        pid_t pid = atoi(line);
        g_assert_cmpint(pid, >, 0);
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        g_assert_cmpint(pidfd, >=, 0);
        g_assert_false(fd_readable_within(pidfd, 0));

        /* The workload ignores SIGTERM: the escalation (1 s) must follow. */
        uint64_t t0 = now_ms();
        g_subprocess_force_exit(client);
        g_assert_true(g_subprocess_wait(client, NULL, NULL));
        g_assert_true(fd_readable_within(pidfd, 15000));
        g_assert_cmpuint(now_ms() - t0, >=, 800);
        close(pidfd);
}

typedef struct BadSpawn {
        const char *name;
        const char *error;
} BadSpawn;

static void expect_spawn_error(const char *what, GVariant *argv, GVariant *env, const FdMap *fds, size_t n,
                               GVariant *options, const char *error) {
        g_autoptr(GError) e = NULL;
        g_test_message("bad input: %s", what);
        g_assert_false(spawn_full(root_bus(), argv, env, fds, n, options, NULL, NULL, NULL, &e));
        assert_dbus_error(e, error);
}

static void expect_signal_error(const char *what, int fd, int sig, guint32 flags, const char *error) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GUnixFDList) fl = g_unix_fd_list_new();
        g_assert_cmpint(g_unix_fd_list_append(fl, fd, NULL), ==, 0);
        g_test_message("bad input: %s", what);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                root_bus(), BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Signal", g_variant_new("(hiu)", 0, sig, flags),
                NULL, G_DBUS_CALL_FLAGS_NONE, 30000, fl, NULL, NULL, &e);
        g_assert_null(r);
        assert_dbus_error(e, error);
}

static void test_bad_input(void) {
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_OPEN); /* a pidfd of the test itself */
        const char *h = test_helper_path();
        int p[2];

        /* Let exit-status retention of earlier clients run out (1 s). */
        g_usleep(1500000);
        /* Warm-up: whatever a first call allocates for good. */
        g_autoptr(GVariant) warm = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "Metrics", NULL);
        unsigned before = count_fds(T.daemon_pid);

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap two[] = { { 1, p[1] }, { 2, p[1] } };
        const char *const ok_argv[] = { h, "exit", "0", NULL };

        expect_spawn_error("empty argv", argv_variant((const char *const[]) { NULL }, true), NULL, two, 2, NULL, ERR_INVALID);
        expect_spawn_error("relative path", argv_variant((const char *const[]) { "test-helper", "exit", "0", NULL }, true),
                           NULL, two, 2, NULL, ERR_INVALID);
        expect_spawn_error("unknown option key", argv_variant(ok_argv, true), NULL, two, 2,
                           one_option("frobnicate", g_variant_new_boolean(TRUE)), ERR_INVALID);
        expect_spawn_error("wrong option type", argv_variant(ok_argv, true), NULL, two, 2,
                           one_option("cwd", g_variant_new_string("/")), ERR_INVALID);
        expect_spawn_error("wrong option type (watch_client as string)", argv_variant(ok_argv, true), NULL, two, 2,
                           one_option("watch_client", g_variant_new_string("yes")), ERR_INVALID);
        expect_spawn_error("unknown namespace", argv_variant(ok_argv, true), NULL, two, 2,
                           one_option("namespaces", g_variant_new_strv((const char *const[]) { "pid", "bogus", NULL }, -1)),
                           ERR_INVALID);
        expect_spawn_error("unknown seccomp profile", argv_variant(ok_argv, true), NULL, two, 2,
                           one_option("seccomp", g_variant_new_string("no-such-profile")), ERR_INVALID);

        GVariantBuilder eb;
        g_variant_builder_init(&eb, G_VARIANT_TYPE("a{ss}"));
        g_variant_builder_add(&eb, "{ss}", "A=B", "c");
        expect_spawn_error("env name with =", argv_variant(ok_argv, true), g_variant_builder_end(&eb), two, 2, NULL,
                           ERR_INVALID);
        g_variant_builder_init(&eb, G_VARIANT_TYPE("a{ss}"));
        g_variant_builder_add(&eb, "{ss}", "", "c");
        expect_spawn_error("empty env name", argv_variant(ok_argv, true), g_variant_builder_end(&eb), two, 2, NULL,
                           ERR_INVALID);

        FdMap dup_target[] = { { 1, p[1] }, { 1, p[0] } };
        expect_spawn_error("duplicate target fd", argv_variant(ok_argv, true), NULL, dup_target, 2, NULL, ERR_INVALID);

        GVariantBuilder ab;
        g_variant_builder_init(&ab, G_VARIANT_TYPE("aay"));
        g_variant_builder_add_value(&ab, g_variant_new_bytestring(h));
        g_variant_builder_add_value(&ab, g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "a\0b", 3, 1));
        expect_spawn_error("NUL inside an argument", g_variant_builder_end(&ab), NULL, two, 2, NULL, ERR_INVALID);

        FdMap many[TEST_MAX_FDS + 1];
        for (int i = 0; i < TEST_MAX_FDS + 1; i++)
                many[i] = (FdMap) { (guint32) (3 + i), p[1] };
        expect_spawn_error("too many fds", argv_variant(ok_argv, true), NULL, many, TEST_MAX_FDS + 1, NULL, ERR_LIMIT);

        expect_spawn_error("exec of a missing file", argv_variant((const char *const[]) { "/nonexistent/binary", NULL }, true),
                           NULL, two, 2, NULL, ERR_SPAWN_FAILED);

        int self = (int) syscall(SYS_pidfd_open, getpid(), 0);
        g_assert_cmpint(self, >=, 0);
        expect_signal_error("non-pidfd fd to Signal", p[0], 0, 0, ERR_INVALID);
        expect_signal_error("signal out of range", self, 99, 0, ERR_INVALID);
        expect_signal_error("negative signal", self, -1, 0, ERR_INVALID);
        expect_signal_error("two scope flags", self, 0, 3, ERR_INVALID);
        expect_signal_error("unknown flag", self, 0, 8, ERR_INVALID);
        close(self);
        close(p[0]);
        close(p[1]);

        /* The failed spawn's child is reaped, and every fd is back. */
        unsigned after = 0;
        for (int i = 0; i < 50; i++) {
                after = count_fds(T.daemon_pid);
                if (after == before && count_zombie_children(T.daemon_pid) == 0)
                        break;
                g_usleep(100000);
        }
        g_assert_cmpuint(after, ==, before);
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);

        /* And it still serves. */
        g_free(spawn_and_collect(ok_argv, NULL, 0, -1));
}

static void test_unprivileged_denials(void) {
        g_free(client_run(UID_NOBODY, (const char *const[]) { "denials", NULL }));
}

static void test_signal_own_workload(void) {
        g_free(client_run(UID_NOBODY, (const char *const[]) { "signal-own", NULL }));
}

/* The default profile lets a workload sandbox itself and debug its own
 * children (issue 8, privilege model). */
static void test_default_profile_nested_sandbox(void) {
        g_autofree char *bwrap = g_find_program_in_path("bwrap");

        if (!bwrap) {
                g_test_skip("bwrap not installed (Debian package bubblewrap)");
                return;
        }
        g_free(client_run(UID_NOBODY, (const char *const[]) { "default-profile-runs", bwrap, "--unshare-all", "--ro-bind",
                                                              "/", "/", "--dev", "/dev", "--proc", "/proc", "true", NULL }));
}

static void test_default_profile_debugger(void) {
        g_free(client_run(UID_NOBODY,
                          (const char *const[]) { "default-profile-runs", test_helper_path(), "ptrace-child", NULL }));
}

static void test_limit_per_user(void) {
        g_free(client_run(UID_DAEMON, (const char *const[]) { "limit", NULL }));
}

/* A client whose effective gid is not its own (the process the bus names
 * runs a setgid program, the connection shared with another process) does
 * not lend that gid to the workload: the default group is the real one. */
static void setgid_client_setup(gpointer data) {
        /* Async-signal-safe calls only: between fork and exec. rgid nogroup,
         * egid 5 ("tty"), as under a setgid-tty program run by nobody. */
        if (setgroups(0, NULL) < 0 || setresgid(65534, 5, 5) < 0 || setresuid(65534, 65534, 65534) < 0)
                _exit(127);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* LeakSanitizer's hook (sanitizer/lsan_interface.h), unused without
 * -Db_sanitize. The print-gid client above execs with rgid != egid, so the
 * kernel makes it non-dumpable; LSan's exit-time check ptraces the process,
 * fails, and exits 1 ("LeakSanitizer has encountered a fatal error"). Skip
 * the check in that client only. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) {
        return getegid() != getgid();
}

static void test_default_group_is_real_gid(void) {
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_autoptr(GError) e = NULL;

        g_subprocess_launcher_set_child_setup(l, setgid_client_setup, NULL, NULL);
        g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(
                l, (const char *const[]) { self_exe, "--client", "print-gid", T.address, NULL }, &e);
        g_assert_no_error(e);
        g_autofree char *out = read_all_fd(client_stdout_fd(p));
        client_finish(p);
        /* Real, effective, saved, fs: all the real gid, none the 5. */
        g_assert_nonnull(strstr(out, "Gid:\t65534\t65534\t65534\t65534"));
}

static void test_direct_socket(void) {
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "direct", T.private_socket, NULL });
        g_assert_cmpuint(g_ascii_strtoull(out, NULL, 10), >, 0);

        g_autofree char *log = NULL;
        g_assert_true(g_file_get_contents(T.daemon_log, &log, NULL, NULL));
        g_assert_nonnull(strstr(log, "Direct connection from uid=65534"));
        g_assert_nonnull(strstr(log, "identity=peer-pidfd"));
}

static void test_get_fd(void) {
        GDBusConnection *c = root_bus();
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        int p[2], pidfd;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap fds[] = { { 5, p[1] } };
        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "30", NULL }, true), NULL,
                                 fds, 1, NULL, &path, &pidfd, NULL, &e));
        g_autoptr(GUnixFDList) in = g_unix_fd_list_new_from_array((int[]) { dup(pidfd) }, 1);
        g_autoptr(GUnixFDList) out = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "GetFd", g_variant_new("(hi)", 0, 5), G_VARIANT_TYPE("(h)"),
                G_DBUS_CALL_FLAGS_NONE, 30000, in, &out, NULL, &e);
        g_assert_no_error(e);
        gint32 h;
        g_variant_get(r, "(h)", &h);
        int got = g_unix_fd_list_get(out, h, NULL);
        g_assert_cmpuint(fd_inode(got), ==, fd_inode(p[1]));
        close(got);

        /* A target fd the workload does not have. */
        g_autoptr(GError) e2 = NULL;
        g_autoptr(GUnixFDList) in2 = g_unix_fd_list_new_from_array((int[]) { dup(pidfd) }, 1);
        g_autoptr(GVariant) r2 = g_dbus_connection_call_with_unix_fd_list_sync(
                c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "GetFd", g_variant_new("(hi)", 0, 77), G_VARIANT_TYPE("(h)"),
                G_DBUS_CALL_FLAGS_NONE, 30000, in2, NULL, NULL, &e2);
        assert_dbus_error(e2, ERR_INVALID);

        stop_and_release(c, path);
        close(pidfd);
        close(p[0]);
        close(p[1]);
}

static void test_release(void) {
        GDBusConnection *c = root_bus();
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL, e2 = NULL;

        g_assert_true(spawn_full(c, argv_variant((const char *const[]) { test_helper_path(), "sleep", "30", NULL }, true), NULL,
                                 NULL, 0, NULL, &path, NULL, NULL, &e));
        g_assert_true(managed_objects_contain(c, path));
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Release", NULL, NULL, &e2);
        assert_dbus_error(e2, ERR_INVALID);
        stop_and_release(c, path);
        g_assert_false(managed_objects_contain(c, path));
}

typedef struct Concurrent {
        int done;
        GPtrArray *paths;
} Concurrent;

static void on_spawn_reply(GObject *src, GAsyncResult *res, gpointer userdata) {
        Concurrent *cc = userdata;
        g_autoptr(GError) e = NULL;
        g_autoptr(GUnixFDList) out = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(src), &out, res, &e);
        g_assert_no_error(e);
        const char *path;
        gint32 h;
        guint64 id;
        g_variant_get(r, "(&oht)", &path, &h, &id);
        for (guint i = 0; i < cc->paths->len; i++)
                g_assert_cmpstr(cc->paths->pdata[i], !=, path);
        g_ptr_array_add(cc->paths, g_strdup(path));
        cc->done++;
}

static bool all_spawned(void *data) {
        return ((Concurrent *) data)->done == TEST_MAX_WORKLOADS - 1;
}

/* Spawns in flight at once (as many as the per-user limit allows), each answered after its own exec: the loop
 * never waits for one child while others are pending. */
static void test_concurrent_spawns(void) {
        Concurrent cc = { .paths = g_ptr_array_new_with_free_func(g_free) };

        for (int i = 0; i < TEST_MAX_WORKLOADS - 1; i++) {
                GVariant *argv = argv_variant((const char *const[]) { test_helper_path(), "sleep", "1", NULL }, true);
                g_dbus_connection_call_with_unix_fd_list(
                        root_bus(), BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn",
                        g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", argv, g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                                      g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0),
                                      ns_options(NS_PID_MNT_NET, false, 0)),
                        G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 30000, NULL, NULL, on_spawn_reply, &cc);
        }
        iterate_until(all_spawned, &cc, 20000);
        g_assert_cmpint(cc.done, ==, TEST_MAX_WORKLOADS - 1);
        for (guint i = 0; i < cc.paths->len; i++) {
                g_autofree char *code = NULL;
                int status;
                wait_workload(root_bus(), cc.paths->pdata[i], &code, &status);
                g_assert_cmpstr(code, ==, "exited");
                release_workload(root_bus(), cc.paths->pdata[i]);
        }
        g_ptr_array_unref(cc.paths);
}

static guint64 metric(GVariant *metrics, const char *key) {
        guint64 v = 0;
        g_assert_true(g_variant_lookup(metrics, key, "t", &v));
        return v;
}

/* Last: the audit log holds everything the suite did. Every line is JSON,
 * record seqs are consecutive, every allowed record has exactly one outcome
 * and every outcome a record, and the log accounts for every spawn and every
 * signal the daemon counted. */
static void test_audit_trail(void) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) metrics = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "Metrics", &e);
        g_assert_no_error(e);
        g_autoptr(GPtrArray) lines = audit_lines();
        g_autoptr(GHashTable) outcomes = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
        guint64 spawns_ok = 0, signals = 0, records = 0, denials = 0;
        gint64 last_seq = 0;

        for (guint i = 0; i < lines->len; i++) {
                GVariant *l = lines->pdata[i];
                if (g_strcmp0(jv_str(l, "type"), "outcome") == 0) {
                        gint64 *k = g_new(gint64, 1);
                        *k = jv_int(l, "seq");
                        g_assert_false(g_hash_table_contains(outcomes, k));
                        g_hash_table_insert(outcomes, k, g_strdup(jv_str(l, "result")));
                }
        }
        for (guint i = 0; i < lines->len; i++) {
                GVariant *l = lines->pdata[i];
                if (g_strcmp0(jv_str(l, "type"), "record") != 0)
                        continue;
                gint64 seq = jv_int(l, "seq");
                if (last_seq != 0)
                        g_assert_cmpint(seq, ==, last_seq + 1);
                last_seq = seq;
                records++;

                const char *action = jv_str(l, "action"), *decision = jv_str(l, "decision");
                const char *result = jv_str(l, "result"), *outcome = g_hash_table_lookup(outcomes, &seq);
                g_assert_true(g_str_has_prefix(action, "org.pidbroker."));
                g_assert_nonnull(jv_str(l, "rule"));
                g_assert_nonnull(jv_get(l, "subject.uid"));
                g_assert_false(jv_is_null(jv_get(l, "subject.uid")));
                if (g_str_equal(decision, "deny")) {
                        g_assert_cmpstr(result, ==, "denied");
                        g_assert_null(outcome);
                        denials++;
                        continue;
                }
                g_assert_cmpstr(decision, ==, "allow");
                g_assert_cmpstr(result, ==, "pending");
                if (!outcome)
                        g_error("audit record %" G_GINT64_FORMAT " (%s) has no outcome", seq, action);
                if (g_str_has_prefix(action, "org.pidbroker.spawn") && g_str_equal(outcome, "ok"))
                        spawns_ok++;
                if (!jv_is_null(jv_get(l, "details.signal")) &&
                    (g_str_equal(outcome, "ok") || g_str_equal(outcome, "esrch") || g_str_equal(outcome, "eperm")))
                        signals++;
        }
        g_hash_table_remove_all(outcomes);

        g_test_message("audit: %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " denials", records, denials);
        g_assert_cmpuint(records, >, 0);
        g_assert_cmpuint(denials, >, 0);
        g_assert_cmpuint(spawns_ok, ==, metric(metrics, "spawns.ok"));
        g_assert_cmpuint(signals, ==, metric(metrics, "signal_result.ok") + metric(metrics, "signal_result.esrch") +
                                          metric(metrics, "signal_result.eperm") +
                                          metric(metrics, "signal_result.fallback"));
}

static void register_tests(void) {
        add_test("properties", test_properties);
        add_test("introspection-matches-xml", test_introspection_matches_xml);
        add_test("spawn-unprivileged-namespaces", test_spawn_unprivileged_namespaces);
        add_test("wait", test_wait);
        add_test("wait-limit", test_wait_limit);
        add_test("abandoned-waits", test_abandoned_waits);
        add_test("concurrent-spawns", test_concurrent_spawns);
        add_test("stop-escalation", test_stop_escalation);
        add_test("other-user-cannot-see-or-signal", test_other_user_cannot_see_or_signal);
        add_test("fd-map", test_fd_map);
        add_test("argv-bytestrings", test_argv_bytestrings);
        add_test("watch-client", test_watch_client);
        add_test("unprivileged-denials", test_unprivileged_denials);
        add_test("signal-own-workload", test_signal_own_workload);
        add_test("default-profile-nested-sandbox", test_default_profile_nested_sandbox);
        add_test("default-profile-debugger", test_default_profile_debugger);
        add_test("limit-per-user", test_limit_per_user);
        add_test("direct-socket", test_direct_socket);
        add_test("default-group-is-real-gid", test_default_group_is_real_gid);
        add_test("get-fd", test_get_fd);
        add_test("release", test_release);
        add_test("bad-input", test_bad_input);
        add_test("audit-trail", test_audit_trail);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "daemon" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
