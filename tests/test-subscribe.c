/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The signals of workloads (org.pidbroker.Broker1(5)): PropertiesChanged
 * for State and ExitStatus, Broker1.Subscribe/Unsubscribe with
 * WorkloadNew/WorkloadRemoved, who hears what (never a broadcast), the
 * per-uid limit, subscriptions ending with their connection, and the
 * Python Gio example of examples/ run as nobody. On the private bus of
 * tests/daemon-harness.c, once per bus implementation. */

#include <errno.h>
#include <gio/gio.h>
#include <glib.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

/* ---------- what a connection hears ---------- */

/* Every signal of the broker a connection receives, as "Member(detail)"
 * per workload path. */
typedef struct Heard {
        GDBusConnection *c;
        guint id;
        GPtrArray *paths;   /* the workload each one is about */
        GPtrArray *events;
} Heard;

static void on_signal(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                      const char *member, GVariant *params, gpointer userdata) {
        Heard *h = userdata;
        const char *about = path;
        char *event;

        if (g_str_equal(member, "WorkloadNew") || g_str_equal(member, "WorkloadRemoved")) {
                guint64 id;
                g_variant_get(params, "(t&o)", &id, &about);
                g_autofree char *suffix = g_strdup_printf("/%" G_GUINT64_FORMAT, id);
                g_assert_true(g_str_has_suffix(about, suffix));
                event = g_strdup(member);
        } else if (g_str_equal(member, "InterfacesAdded") || g_str_equal(member, "InterfacesRemoved")) {
                g_variant_get_child(params, 0, "&o", &about);
                event = g_strdup(member);
        } else if (g_str_equal(member, "PropertiesChanged")) {
                g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
                const char *state = NULL, *code = NULL;
                gint32 status = -1;
                g_assert_true(g_variant_lookup(changed, "State", "&s", &state));
                g_assert_true(g_variant_lookup(changed, "ExitStatus", "(&si)", &code, &status));
                event = g_strdup_printf("PropertiesChanged(%s %s %d)", state, code, status);
        } else if (g_str_equal(member, "Exited")) {
                const char *code;
                gint32 status;
                g_variant_get(params, "(&si)", &code, &status);
                event = g_strdup_printf("Exited(%s %d)", code, status);
        } else
                event = g_strdup(member);
        g_ptr_array_add(h->paths, g_strdup(about));
        g_ptr_array_add(h->events, event);
}

static void heard_start(Heard *h, GDBusConnection *c) {
        h->c = c;
        h->paths = g_ptr_array_new_with_free_func(g_free);
        h->events = g_ptr_array_new_with_free_func(g_free);
        /* Every signal from the broker, whatever its path and interface. */
        h->id = g_dbus_connection_signal_subscribe(c, bus_dest(c), NULL, NULL, NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                   on_signal, h, NULL);
}

static void heard_stop(Heard *h) {
        g_dbus_connection_signal_unsubscribe(h->c, h->id);
        g_clear_pointer(&h->paths, g_ptr_array_unref);
        g_clear_pointer(&h->events, g_ptr_array_unref);
}

/* What was heard about path, comma-separated, in order. */
static char *heard_about(Heard *h, const char *path) {
        g_autoptr(GString) s = g_string_new(NULL);
        for (guint i = 0; i < h->paths->len; i++)
                if (g_str_equal(h->paths->pdata[i], path))
                        g_string_append_printf(s, "%s%s", s->len ? "," : "", (char *) h->events->pdata[i]);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

typedef struct Awaited {
        Heard *h;
        const char *path;
        const char *event;
} Awaited;

static bool heard_event(void *data) {
        Awaited *a = data;
        for (guint i = 0; i < a->h->paths->len; i++)
                if (g_str_equal(a->h->paths->pdata[i], a->path) && g_str_equal(a->h->events->pdata[i], a->event))
                        return true;
        return false;
}

static void heard_wait(Heard *h, const char *path, const char *event) {
        Awaited a = { h, path, event };
        iterate_until(heard_event, &a, 30000);
        if (!heard_event(&a)) {
                g_autofree char *got = heard_about(h, path);
                g_error("no %s for %s; heard: %s", event, path, got);
        }
}

/* Everything the broker sent c before now is dispatched: a call's reply
 * comes after every signal sent to c before it. */
static void heard_barrier(Heard *h) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(h->c, BROKER_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL, "()", &e);
        g_assert_no_error(e);
        while (g_main_context_iteration(NULL, FALSE))
                ;
}

static GDBusConnection *bus_connect(void) {
        g_autoptr(GError) e = NULL;
        GDBusConnection *c = g_dbus_connection_new_for_address_sync(
                T.address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &e);
        g_assert_no_error(e);
        return c;
}

static GDBusConnection *direct_connect(void) {
        g_autoptr(GError) e = NULL;
        g_autofree char *addr = g_strdup_printf("unix:path=%s", T.private_socket);
        GDBusConnection *c = g_dbus_connection_new_for_address_sync(addr, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                                    NULL, NULL, &e);
        g_assert_no_error(e);
        return c;
}

static gboolean broker_call0(GDBusConnection *c, const char *method, GError **error) {
        g_autoptr(GVariant) r = call(c, BROKER_PATH, BROKER_IFACE, method, NULL, "()", error);
        return r != NULL;
}

static void subscribe(GDBusConnection *c) {
        g_autoptr(GError) e = NULL;
        g_assert_true(broker_call0(c, "Subscribe", &e));
        g_assert_no_error(e);
}

static void unsubscribe(GDBusConnection *c) {
        g_autoptr(GError) e = NULL;
        g_assert_true(broker_call0(c, "Unsubscribe", &e));
        g_assert_no_error(e);
}

/* Spawn "exit status" on c, wait for it and release it: a workload that
 * comes and goes, with every signal it has. */
static char *workload_come_and_go(GDBusConnection *c, int status) {
        g_autofree char *st = g_strdup_printf("%d", status);
        g_autofree char *path = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int got;

        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "exit", st, NULL }), NULL, NULL, 0, NULL,
                                 &path, NULL, NULL, &e));
        g_assert_no_error(e);
        wait_workload(c, path, &code, &got);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(got, ==, status);
        release_workload(c, path);
        return g_steal_pointer(&path);
}

/* Every signal of a workload that exits with status, in order, as a
 * subscriber hears them; the owner hears them without the first and the
 * last. */
static char *all_events(int status) {
        return g_strdup_printf("WorkloadNew,InterfacesAdded,PropertiesChanged(exited exited %d),Exited(exited %d),"
                               "InterfacesRemoved,WorkloadRemoved", status, status);
}

static char *owner_events(int status) {
        return g_strdup_printf("InterfacesAdded,PropertiesChanged(exited exited %d),Exited(exited %d),"
                               "InterfacesRemoved", status, status);
}

/* A workload of root's comes and goes: h hears all of it. */
static char *assert_hears_all(Heard *h, int status) {
        g_autofree char *want = all_events(status);
        char *path = workload_come_and_go(root_bus(), status);
        heard_wait(h, path, "WorkloadRemoved");
        g_autofree char *got = heard_about(h, path);
        g_assert_cmpstr(got, ==, want);
        return path;
}

/* ---------- client side: this binary as nobody ---------- */

/* Subscribe; say so; once told, report what was heard of others'
 * workloads, then spawn one of its own and report what was heard of it. */
static int client_subscribe(GDBusConnection *c) {
        Heard h = {};

        heard_start(&h, c);
        subscribe(c);
        printf("subscribed\n");
        fflush(stdout);

        g_autofree char *go = read_line_fd(STDIN_FILENO, 60000);
        heard_barrier(&h);
        printf("foreign=%u\n", h.events->len);

        g_autofree char *path = workload_come_and_go(c, 7);
        heard_wait(&h, path, "WorkloadRemoved");
        g_autofree char *own = heard_about(&h, path);
        printf("path=%s\nown=%s\n", path, own);
        fflush(stdout);
        heard_stop(&h);
        return 0;
}

/* Spawn a workload, see it exit, and leave without releasing it. */
static int client_leave(GDBusConnection *c) {
        g_autofree char *path = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int status;

        g_assert_true(spawn_full(c, argv_helper((const char *const[]) { "exit", "2", NULL }), NULL, NULL, 0, NULL,
                                 &path, NULL, NULL, &e));
        g_assert_no_error(e);
        wait_workload(c, path, &code, &status);
        printf("path=%s\n", path);
        return 0;
}

static int client_main(int argc, char *argv[]) {
        const char *scenario = argv[2];
        g_autoptr(GDBusConnection) c = client_connect(NULL);

        if (g_str_equal(scenario, "subscribe"))
                return client_subscribe(c);
        if (g_str_equal(scenario, "leave"))
                return client_leave(c);
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ---------- tests ---------- */

/* A subscriber that does not own the workload hears all of it, in order:
 * the PropertiesChanged of the exit before Exited. The owner, not
 * subscribed, hears its own workload's signals but not WorkloadNew and
 * WorkloadRemoved; a connection neither owner nor subscriber hears
 * nothing, though it listens to every signal of the broker. */
static void test_subscriber_hears_all(void) {
        g_autoptr(GDBusConnection) sub = bus_connect(), other = bus_connect();
        Heard hs = {}, ho = {}, hx = {};

        heard_start(&hs, sub);
        heard_start(&ho, root_bus());
        heard_start(&hx, other);
        subscribe(sub);

        g_autofree char *path = assert_hears_all(&hs, 3);

        heard_barrier(&ho);
        g_autofree char *o = heard_about(&ho, path), *want = owner_events(3);
        g_assert_cmpstr(o, ==, want);

        heard_barrier(&hx);
        g_assert_cmpuint(hx.events->len, ==, 0);

        unsubscribe(sub);
        heard_stop(&hs);
        heard_stop(&ho);
        heard_stop(&hx);
}

/* The owner subscribed hears each of its workload's signals once. */
static void test_owner_subscribed_hears_once(void) {
        Heard h = {};

        heard_start(&h, root_bus());
        subscribe(root_bus());
        g_free(assert_hears_all(&h, 4));
        unsubscribe(root_bus());
        heard_stop(&h);
}

/* Subscribing twice is one subscription; Unsubscribe ends it, and again is
 * no error. */
static void test_subscribe_idempotent(void) {
        g_autoptr(GDBusConnection) sub = bus_connect();
        Heard h = {};

        heard_start(&h, sub);
        subscribe(sub);
        subscribe(sub);
        g_free(assert_hears_all(&h, 0));

        unsubscribe(sub);
        g_autofree char *p2 = workload_come_and_go(root_bus(), 0);
        heard_barrier(&h);
        g_autofree char *s2 = heard_about(&h, p2);
        g_assert_cmpstr(s2, ==, "");
        unsubscribe(sub);
        heard_stop(&h);
}

/* nobody subscribed hears nothing of root's workloads (manage is not
 * nobody's), all of its own; root subscribed (manage is root's) hears
 * nobody's too. */
static void check_subscriber_sees_what_it_may(void) {
        g_autoptr(GDBusConnection) sub = bus_connect();
        Heard h = {};

        heard_start(&h, sub);
        subscribe(sub);

        g_autoptr(GSubprocess) client = client_start(UID_NOBODY, (const char *const[]) { "subscribe", NULL });
        g_autofree char *ready = client_read_lines(client, 1);
        g_assert_cmpstr(ready, ==, "subscribed\n");

        g_free(assert_hears_all(&h, 1));
        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(client), "go\n", 3, NULL, NULL, NULL));

        g_autofree char *out = client_read_lines(client, 3);
        client_finish(client);
        g_autofree char *foreign = client_output_get(out, "foreign");
        g_autofree char *npath = client_output_get(out, "path");
        g_autofree char *own = client_output_get(out, "own"), *want = all_events(7);
        g_assert_cmpstr(foreign, ==, "0");
        g_assert_cmpstr(own, ==, want);

        heard_wait(&h, npath, "WorkloadRemoved");
        g_autofree char *s = heard_about(&h, npath);
        g_assert_cmpstr(s, ==, want);
        unsubscribe(sub);
        heard_stop(&h);
}

static void test_subscriber_sees_what_it_may(void) {
        check_subscriber_sees_what_it_may();
}

/* The same with polkitd deciding: root's Subscribe waits for its answer
 * (auth_admin, root's), nobody's gets "challenge", no agent: its own
 * workloads only, and no error. */
static void test_subscribe_polkit(void) {
        if (!g_file_test("/usr/lib/polkit-1/polkitd", G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip("polkitd is not installed (/usr/lib/polkit-1/polkitd)");
                return;
        }
        polkitd_start();
        daemon_restart(NULL);
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) backend = get_property(root_bus(), BROKER_PATH, BROKER_IFACE, "PolicyBackend", &e);
        g_assert_no_error(e);
        g_assert_cmpstr(g_variant_get_string(backend, NULL), ==, "polkit");

        check_subscriber_sees_what_it_may();

        polkitd_stop();
        daemon_restart(NULL);
}

/* An exited workload whose owner left is forgotten after
 * ExitRetentionSec (1 s here): its subscribers hear it go. */
static void test_retention_end_heard(void) {
        g_autoptr(GDBusConnection) sub = bus_connect();
        Heard h = {};

        heard_start(&h, sub);
        subscribe(sub);
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "leave", NULL });
        g_autofree char *path = client_output_get(out, "path");
        heard_wait(&h, path, "WorkloadRemoved");
        g_autofree char *s = heard_about(&h, path), *want = all_events(2);
        g_assert_cmpstr(s, ==, want);
        unsubscribe(sub);
        heard_stop(&h);
}

/* Subscribe until it succeeds: a connection that went away frees its
 * place once the daemon has heard of it. */
static void subscribe_eventually(GDBusConnection *c) {
        for (int i = 0; i < 1000; i++) {
                g_autoptr(GError) e = NULL;
                if (broker_call0(c, "Subscribe", &e))
                        return;
                assert_dbus_error(e, ERR_LIMIT);
                g_usleep(10000);
        }
        g_error("the subscription of a closed connection was kept");
}

static void subscribe_refused(GDBusConnection *c) {
        g_autoptr(GError) e = NULL;
        g_assert_false(broker_call0(c, "Subscribe", &e));
        assert_dbus_error(e, ERR_LIMIT);
        g_assert_nonnull(strstr(e->message, "MaxSubscriptionsPerUser"));
}

/* MaxSubscriptionsPerUser connections of a uid, on the bus and the direct
 * socket alike; one more is refused; a subscription ends with its
 * connection. A direct-socket subscriber hears a bus client's workload. */
static void test_limit_and_disconnect(void) {
        daemon_restart((const char *const[]) { "--max-subscriptions-per-user=2", NULL });

        GDBusConnection *a = bus_connect(), *b = bus_connect();
        g_autoptr(GDBusConnection) c = bus_connect(), e = bus_connect();
        subscribe(a);
        subscribe(b);
        subscribe_refused(c);
        subscribe(a); /* again: still one */

        g_assert_true(g_dbus_connection_close_sync(b, NULL, NULL));
        g_object_unref(b);
        subscribe_eventually(c);
        unsubscribe(a);
        g_object_unref(a);

        GDBusConnection *d = direct_connect();
        Heard h = {};
        heard_start(&h, d);
        subscribe(d);
        subscribe_refused(e);
        g_free(assert_hears_all(&h, 5));
        heard_stop(&h);

        g_assert_true(g_dbus_connection_close_sync(d, NULL, NULL));
        g_object_unref(d);
        subscribe_eventually(e);

        daemon_restart(NULL);
}

static void drop_to_nobody(gpointer data) {
        /* Between fork and exec: syscalls only. */
        if (setgroups(0, NULL) < 0 || setresgid(UID_NOBODY, UID_NOBODY, UID_NOBODY) < 0 ||
            setresuid(UID_NOBODY, UID_NOBODY, UID_NOBODY) < 0)
                _exit(124);
}

/* The Gio example (examples/spawn-watch.py), as nobody: stdout on a
 * pipe, the pidfd watched with GLib.unix_fd_add_full, State seen to change
 * to exited by PropertiesChanged on a Gio.DBusProxy, Argv read with
 * get_bytestring_array(). */
static void test_gio_example(void) {
        const char *python = g_getenv("PIDBROKER_PYTHON3");
        g_autofree char *src = g_build_filename(g_getenv("PIDBROKER_SOURCE_ROOT"), "examples", "spawn-watch.py", NULL);
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) e = NULL;
        int status;

        g_assert_nonnull(python);
        const char *probe_argv[] = { python, "-c", "import gi; gi.require_version('Gio', '2.0')", NULL };
        if (!g_spawn_sync(NULL, (char **) probe_argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                          &status, NULL) ||
            !g_spawn_check_wait_status(status, NULL)) {
                g_test_skip("PyGObject (python3-gi) is not installed");
                return;
        }

        /* Kept: the copy lives as long as the test program. */
        static const char *script = NULL;
        if (!script)
                script = test_public_copy(src);
        /* A hung example fails the test instead of stalling the suite. */
        const char *argv[] = { "timeout", "120", python, script, "--input=hello from stdin", "--", "/bin/cat", NULL };
        char **envp = g_environ_setenv(g_get_environ(), "DBUS_SYSTEM_BUS_ADDRESS", T.address, TRUE);
        envp = g_environ_setenv(envp, "PATH", "/usr/bin:/bin", TRUE);
        g_assert_true(g_spawn_sync("/", (char **) argv, envp, G_SPAWN_SEARCH_PATH, drop_to_nobody, NULL, &out, &err,
                                   &status, &e));
        g_strfreev(envp);
        g_assert_no_error(e);
        g_test_message("spawn-watch.py: status %d\nstdout:\n%s\nstderr:\n%s", status, out, err);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        g_assert_nonnull(strstr(out, "argv: ['/bin/cat']\n"));
        g_assert_nonnull(strstr(out, "OwnerUid: 65534\n"));
        g_assert_nonnull(strstr(out, "State: running\n"));
        g_assert_nonnull(strstr(out, "stdout: hello from stdin\n"));
        g_assert_nonnull(strstr(out, "pidfd: readable\n"));
        g_assert_nonnull(strstr(out, "State: exited (PropertiesChanged)\n"));
        g_assert_nonnull(strstr(out, "ExitStatus: exited 0\n"));
        g_assert_nonnull(strstr(out, "released\n"));
}

static void register_tests(void) {
        add_test("subscriber-hears-all", test_subscriber_hears_all);
        add_test("owner-subscribed-hears-once", test_owner_subscribed_hears_once);
        add_test("subscribe-idempotent", test_subscribe_idempotent);
        add_test("subscriber-sees-what-it-may", test_subscriber_sees_what_it_may);
        add_test("subscribe-polkit", test_subscribe_polkit);
        add_test("retention-end-heard", test_retention_end_heard);
        add_test("limit-and-disconnect", test_limit_and_disconnect);
        add_test("gio-example", test_gio_example);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "subscribe" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
