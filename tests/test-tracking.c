/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Clients tracked per connection, against the built pidbrokerd on a private
 * bus (daemon-harness.h):
 *
 *  1. 10,000 live workloads of one unprivileged client (see below);
 *  2. MaxWorkloadsPerUser counts live workloads, and exited ones only while
 *     a connected owner has not released them;
 *  3. Release of a workload whose exit the kernel has signalled but the
 *     daemon has not taken yet;
 *  4. the daemon exits, non-zero and saying why, when its bus goes.
 *
 * 10,000 live workloads of one unprivileged client (nobody), on a bus with
 * the stock limits (tests/bus/system-bus.conf.in sets none: dbus-daemon's
 * built-in system-bus defaults, 512 match rules per connection among them,
 * and dbus-broker's stock quotas). The daemon tracks its clients per
 * connection, so the number of workloads costs it no bus resource: it keeps
 * its name, lists all of them, then stops and releases all of them, and no
 * workload process is left.
 *
 * Raised for this test only, on the daemon's side: MaxWorkloadsPerUser
 * (10,000 live ones) and RLIMIT_NOFILE (one pidfd per live workload). The
 * client closes each pidfd it receives. Spawns, stops and releases are
 * pipelined: PIPELINE_DEPTH calls in flight, under the bus's stock
 * max_replies_per_connection (128). The times are reported, not asserted. */

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

#define N_WORKLOADS 10000

/* PIDBROKER_TRACKING_WORKLOADS lowers the count where the daemon is slow
 * (the sanitizer run); anything above 541 still shows the name is kept. */
static unsigned n_workloads(void) {
        const char *e = g_getenv("PIDBROKER_TRACKING_WORKLOADS");
        return e ? (unsigned) g_ascii_strtoull(e, NULL, 10) : N_WORKLOADS;
}
#define PIPELINE_DEPTH 32
/* argv[1] of every workload: how the test finds them in /proc. */
#define SLEEP_MARK "7254321"

/* ---------- client side ---------- */

typedef struct Pipeline {
        GDBusConnection *c;
        GPtrArray *paths;   /* workloads spawned */
        unsigned next;      /* next call to start */
        unsigned total;     /* calls to make */
        unsigned in_flight;
        unsigned done, failed;
        char *first_error;
        bool stop;          /* spawn: stop at the first error */
} Pipeline;

static void pipeline_fail(Pipeline *p, GError *e) {
        p->failed++;
        if (!p->first_error)
                p->first_error = g_dbus_error_get_remote_error(e) ?: g_strdup(e->message);
        p->stop = true;
}

static void on_spawned(GObject *source, GAsyncResult *res, gpointer userdata) {
        Pipeline *p = userdata;
        g_autoptr(GUnixFDList) out = NULL;
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) reply =
                g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(source), &out, res, &e);

        p->in_flight--;
        if (!reply) {
                pipeline_fail(p, e);
                return;
        }
        /* The pidfd is closed with the list: the client keeps none. */
        const char *path;
        g_variant_get(reply, "(&oht)", &path, NULL, NULL);
        g_ptr_array_add(p->paths, g_strdup(path));
        p->done++;
}

static void spawn_one(Pipeline *p) {
        const char *const argv[] = { "/bin/sleep", SLEEP_MARK, NULL };
        GVariantBuilder fb;

        g_variant_builder_init(&fb, G_VARIANT_TYPE("a{uh}"));
        g_dbus_connection_call_with_unix_fd_list(
                p->c, BROKER_NAME, BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}a{uh}@a{sv})", argv_variant(argv, false),
                              g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0), &fb,
                              g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
                G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 60000, NULL, NULL, on_spawned, p);
}

static void on_released(GObject *source, GAsyncResult *res, gpointer userdata) {
        Pipeline *p = userdata;
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &e);

        p->in_flight--;
        if (reply)
                p->done++;
        else
                pipeline_fail(p, e);
}

/* Stop, then Release once Stop answered (the workload is dead by then). */
static void on_stopped(GObject *source, GAsyncResult *res, gpointer userdata) {
        Pipeline *p = userdata;
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &e);
        const char *path = g_object_get_data(G_OBJECT(res), "path");

        if (!reply) {
                p->in_flight--;
                pipeline_fail(p, e);
                return;
        }
        g_assert_nonnull(path);
        g_dbus_connection_call(p->c, BROKER_NAME, path, WORKLOAD_IFACE, "Release", NULL, NULL,
                               G_DBUS_CALL_FLAGS_NONE, 60000, NULL, on_released, p);
}

typedef struct StopCall {
        Pipeline *p;
        const char *path;
} StopCall;

static void on_stopped_call(GObject *source, GAsyncResult *res, gpointer userdata) {
        StopCall *s = userdata;
        g_object_set_data(G_OBJECT(res), "path", (gpointer) s->path);
        on_stopped(source, res, s->p);
        g_free(s);
}

static void stop_one(Pipeline *p) {
        StopCall *s = g_new0(StopCall, 1);
        s->p = p;
        s->path = p->paths->pdata[p->next - 1];
        g_dbus_connection_call(p->c, BROKER_NAME, s->path, WORKLOAD_IFACE, "Stop", NULL, G_VARIANT_TYPE("(si)"),
                               G_DBUS_CALL_FLAGS_NONE, 60000, NULL, on_stopped_call, s);
}

/* Keep PIPELINE_DEPTH calls in flight until total are done or one failed. */
static void pipeline_run(Pipeline *p, void (*start)(Pipeline *p)) {
        p->next = p->done = p->failed = 0;
        p->stop = false;
        for (;;) {
                while (!p->stop && p->in_flight < PIPELINE_DEPTH && p->next < p->total) {
                        p->next++;
                        p->in_flight++;
                        start(p);
                }
                if (p->in_flight == 0 && (p->stop || p->next >= p->total))
                        break;
                g_main_context_iteration(NULL, TRUE);
        }
}

static void print_result(const char *what, Pipeline *p, uint64_t t0) {
        printf("%s=%u failed=%u error=%s ms=%" G_GUINT64_FORMAT "\n", what, p->done, p->failed,
               p->first_error ?: "none", now_ms() - t0);
        fflush(stdout);
        g_clear_pointer(&p->first_error, g_free);
}

/* Listed on the client's own ObjectManager. */
static unsigned count_listed(GDBusConnection *c) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(c, BROKER_NAME, BROKER_PATH,
                                                            "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                                            NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"),
                                                            G_DBUS_CALL_FLAGS_NONE, 120000, NULL, &e);
        if (!r) {
                g_printerr("GetManagedObjects: %s\n", e->message);
                return 0;
        }
        g_autoptr(GVariant) objs = g_variant_get_child_value(r, 0);
        return (unsigned) g_variant_n_children(objs);
}

static int client_many(unsigned n) {
        g_autoptr(GDBusConnection) c = client_connect(NULL);
        Pipeline p = { .c = c, .paths = g_ptr_array_new_with_free_func(g_free), .total = n };
        uint64_t t0;

        print_identity(c);
        t0 = now_ms();
        pipeline_run(&p, spawn_one);
        print_result("spawned", &p, t0);

        t0 = now_ms();
        unsigned listed = count_listed(c);
        printf("listed=%u ms=%" G_GUINT64_FORMAT "\n", listed, now_ms() - t0);
        fflush(stdout);

        /* The test looks at the processes and the daemon meanwhile. */
        g_autofree char *go = read_line_fd(STDIN_FILENO, 600000);
        g_assert_cmpstr(go, ==, "go");

        p.total = p.paths->len;
        t0 = now_ms();
        pipeline_run(&p, stop_one);
        print_result("released", &p, t0);
        printf("left=%u\n", count_listed(c));
        fflush(stdout);
        g_ptr_array_unref(p.paths);
        return 0;
}

static const char *spawn_error(GDBusConnection *c, const char *const *argv, char **ret_path) {
        static char name[256];
        g_autoptr(GError) e = NULL;
        int fd = -1;

        if (spawn_full(c, argv_variant(argv, false), NULL, NULL, 0, NULL, ret_path, &fd, NULL, &e)) {
                close(fd);
                return "ok";
        }
        g_autofree char *remote = g_dbus_error_get_remote_error(e);
        g_strlcpy(name, remote ?: e->message, sizeof name);
        return name;
}

static void stop_workload(GDBusConnection *c, const char *path) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
}

/* TEST_MAX_WORKLOADS live ones fill the limit; a stopped one frees its
 * slot; exited ones not released fill it too, until released. */
static int client_limits(void) {
        g_autoptr(GDBusConnection) c = client_connect(NULL);
        const char *const sleep_argv[] = { "/bin/sleep", "600", NULL };
        char *paths[TEST_MAX_WORKLOADS + 4] = {};
        unsigned n = 0;

        for (; n < TEST_MAX_WORKLOADS; n++)
                g_assert_cmpstr(spawn_error(c, sleep_argv, &paths[n]), ==, "ok");
        printf("over_live=%s\n", spawn_error(c, sleep_argv, NULL));

        stop_workload(c, paths[0]);
        const char *after_stop = spawn_error(c, sleep_argv, &paths[n]);
        printf("after_stop=%s\n", after_stop);
        fflush(stdout);
        if (g_str_equal(after_stop, "ok"))
                n++;

        /* All exited now, none released. */
        for (unsigned i = 1; i < n; i++)
                stop_workload(c, paths[i]);
        printf("over_unreleased=%s\n", spawn_error(c, sleep_argv, NULL));
        release_workload(c, paths[0]);
        release_workload(c, paths[1]);
        printf("after_release=%s\n", spawn_error(c, sleep_argv, &paths[n]));
        stop_workload(c, paths[n]);
        n++;
        fflush(stdout);
        /* Gone without releasing the rest: kept for ExitRetentionSec. */
        for (unsigned i = 0; i < n; i++)
                g_free(paths[i]);
        return 0;
}

/* After a client left exited workloads behind: the limit is free. */
static int client_fill(void) {
        g_autoptr(GDBusConnection) c = client_connect(NULL);
        const char *const sleep_argv[] = { "/bin/sleep", "600", NULL };
        char *paths[TEST_MAX_WORKLOADS] = {};
        unsigned ok = 0;

        for (unsigned i = 0; i < TEST_MAX_WORKLOADS; i++)
                if (g_str_equal(spawn_error(c, sleep_argv, &paths[i]), "ok"))
                        ok++;
        printf("spawned=%u\n", ok);
        fflush(stdout);
        for (unsigned i = 0; i < TEST_MAX_WORKLOADS; i++)
                if (paths[i]) {
                        stop_and_release(c, paths[i]);
                        g_free(paths[i]);
                }
        return 0;
}

static int client_main(int argc, char *argv[]) {
        if (argc == 3 && g_str_equal(argv[2], "limits"))
                return client_limits();
        if (argc == 3 && g_str_equal(argv[2], "fill"))
                return client_fill();
        if (argc == 4 && g_str_equal(argv[2], "many"))
                return client_many((unsigned) g_ascii_strtoull(argv[3], NULL, 10));
        g_printerr("unknown client scenario\n");
        return 2;
}

/* ---------- test side ---------- */

/* Processes whose command line is "/bin/sleep SLEEP_MARK"; with kill, each
 * is sent SIGKILL (what a failed run left behind). */
static unsigned workload_processes(bool kill_them) {
        static const char want[] = "/bin/sleep\0" SLEEP_MARK;
        g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
        const char *name;
        unsigned n = 0;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                char path[64], buf[64];
                if (name[0] < '0' || name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/cmdline", name);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                ssize_t l = read(fd, buf, sizeof buf);
                close(fd);
                if (l != (ssize_t) sizeof want || memcmp(buf, want, sizeof want) != 0)
                        continue;
                n++;
                if (kill_them)
                        (void) kill((pid_t) atoi(name), SIGKILL);
        }
        return n;
}

static unsigned output_uint(const char *line, const char *key) {
        g_autofree char *v = client_output_get(line, key);
        g_assert_nonnull(v);
        return (unsigned) g_ascii_strtoull(v, NULL, 10);
}

static void test_ten_thousand_workloads(void) {
        unsigned count = n_workloads();
        g_autofree char *max_wl = g_strdup_printf("--max-workloads-per-user=%u", count);
        const char *extra[] = { max_wl, "--log-level=info", NULL };
        g_autofree char *n = g_strdup_printf("%u", count);

        daemon_restart(extra);
        g_assert_cmpuint(workload_processes(false), ==, 0);

        g_autoptr(GSubprocess) client = client_start(UID_NOBODY, (const char *const[]) { "many", n, NULL });
        g_autofree char *ident = client_read_lines(client, 2);
        g_autofree char *spawned = read_line_fd(client_stdout_fd(client), 600000);
        g_test_message("%s: %s", ident, spawned);
        g_autofree char *spawned_kv = g_strdelimit(g_strdup(spawned), " ", '\n');
        g_autofree char *listed = read_line_fd(client_stdout_fd(client), 600000);
        g_test_message("%s", listed);
        g_autofree char *listed_kv = g_strdelimit(g_strdup(listed), " ", '\n');

        bool named = name_has_owner(T.root, BROKER_NAME);
        unsigned running = workload_processes(false);
        unsigned daemon_fds = count_fds(T.daemon_pid);
        g_test_message("daemon owns its name: %s; %u workload processes; %u daemon fds", named ? "yes" : "no",
                       running, daemon_fds);

        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(client), "go\n", 3, NULL, NULL, NULL));
        g_autofree char *released = read_line_fd(client_stdout_fd(client), 600000);
        g_autofree char *left = read_line_fd(client_stdout_fd(client), 600000);
        g_test_message("%s; %s", released, left);
        g_autofree char *released_kv = g_strdelimit(g_strdup(released), " ", '\n');
        client_finish(client);
        unsigned left_running = workload_processes(true);

        g_assert_true(named);
        g_autofree char *err = client_output_get(spawned_kv, "error");
        g_assert_cmpstr(err, ==, "none");
        g_assert_cmpuint(output_uint(spawned_kv, "spawned"), ==, count);
        g_assert_cmpuint(output_uint(listed_kv, "listed"), ==, count);
        g_assert_cmpuint(running, ==, count);
        g_assert_cmpuint(output_uint(released_kv, "released"), ==, count);
        g_assert_cmpuint(output_uint(released_kv, "failed"), ==, 0);
        g_assert_cmpstr(left, ==, "left=0");
        g_assert_cmpuint(left_running, ==, 0);
        g_assert_true(name_has_owner(T.root, BROKER_NAME));
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);
        /* Every pidfd closed again (the count is the same as at start, give
         * or take the client's bus connection). */
        g_assert_cmpuint(count_fds(T.daemon_pid), <, 64);
}

static void test_limit_counts_live(void) {
        /* Exited workloads of gone clients kept long enough to count, if
         * they did. */
        const char *extra[] = { "--exit-retention-sec=600", NULL };
        daemon_restart(extra);

        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "limits", NULL });
        g_test_message("%s", out);
        g_autofree char *over_live = client_output_get(out, "over_live");
        g_autofree char *after_stop = client_output_get(out, "after_stop");
        g_autofree char *over_unreleased = client_output_get(out, "over_unreleased");
        g_autofree char *after_release = client_output_get(out, "after_release");
        g_assert_cmpstr(over_live, ==, ERR_LIMIT);
        g_assert_cmpstr(after_stop, ==, "ok");
        g_assert_cmpstr(over_unreleased, ==, ERR_LIMIT);
        g_assert_cmpstr(after_release, ==, "ok");

        /* The first client left TEST_MAX_WORKLOADS exited workloads that
         * are kept for the retention time: they do not count. */
        g_autofree char *out2 = client_run(UID_NOBODY, (const char *const[]) { "fill", NULL });
        g_autofree char *spawned = client_output_get(out2, "spawned");
        g_assert_cmpint(atoi(spawned), ==, TEST_MAX_WORKLOADS);
        daemon_restart(NULL);
}

static void on_release_reply(GObject *source, GAsyncResult *res, gpointer userdata) {
        GError **e = userdata;
        g_autoptr(GVariant) r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, e);
        if (r)
                *e = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NONE, "ok");
}

static bool error_set(void *data) {
        return *(GError **) data != NULL;
}

/* The client saw its pidfd readable and releases at once, before the
 * daemon's loop took the exit: the daemon, stopped meanwhile, finds the
 * Release first in its queue, then the exit. */
static void test_release_before_exit_processed(void) {
        const char *const argv[] = { "/bin/sleep", "600", NULL };
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        GError *reply = NULL;
        int pidfd = -1;

        daemon_restart(NULL);
        g_assert_true(spawn_full(T.root, argv_variant(argv, false), NULL, NULL, 0, NULL, &path, &pidfd, NULL, &e));
        g_assert_no_error(e);

        g_assert_cmpint(kill(T.daemon_pid, SIGSTOP), ==, 0);
        g_dbus_connection_call(T.root, BROKER_NAME, path, WORKLOAD_IFACE, "Release", NULL, G_VARIANT_TYPE("()"),
                               G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_release_reply, &reply);
        g_dbus_connection_flush_sync(T.root, NULL, NULL);
        /* On its way through the bus into the daemon's socket. */
        g_usleep(200 * 1000);
        g_assert_cmpint(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), ==, 0);
        g_assert_true(fd_readable_within(pidfd, 10000));
        g_assert_cmpint(kill(T.daemon_pid, SIGCONT), ==, 0);

        iterate_until(error_set, &reply, 30000);
        g_assert_nonnull(reply);
        g_test_message("Release: %s", reply->message);
        g_assert_cmpstr(reply->message, ==, "ok");
        g_error_free(reply);
        g_assert_false(managed_objects_contain(T.root, path));
        close(pidfd);
}

/* The bus goes away: the daemon says so and exits non-zero, leaving its
 * workloads running (they are adopted again on restart). */
static void test_bus_lost_exits(void) {
        const char *const argv[] = { "/bin/sleep", SLEEP_MARK, NULL };
        g_autoptr(GError) e = NULL;
        int pidfd = -1, status = 0;
        pid_t r = 0;

        daemon_restart(NULL);
        g_assert_true(spawn_full(T.root, argv_variant(argv, false), NULL, NULL, 0, NULL, NULL, &pidfd, NULL, &e));
        g_assert_no_error(e);

        g_assert_cmpint(kill(T.bus_pid, SIGTERM), ==, 0);
        g_assert_cmpint(waitpid(T.bus_pid, NULL, 0), ==, T.bus_pid);
        T.bus_pid = 0;
        for (int i = 0; i < 500 && r == 0; i++) {
                r = waitpid(T.daemon_pid, &status, WNOHANG);
                if (r == 0)
                        g_usleep(20000);
        }
        g_assert_cmpint(r, ==, T.daemon_pid);
        T.daemon_pid = 0;
        g_test_message("pidbrokerd exit status %d", status);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 0);

        g_autofree char *log = NULL;
        g_assert_true(g_file_get_contents(T.daemon_log, &log, NULL, NULL));
        g_assert_nonnull(strstr(log, "Disconnected from the system bus: exiting, to be restarted."));

        /* Left running, then ended here. */
        g_assert_false(fd_readable_within(pidfd, 0));
        g_assert_cmpint(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), ==, 0);
        close(pidfd);
}

static void register_tests(void) {
        add_test("limit-counts-live", test_limit_counts_live);
        add_test("release-before-exit-processed", test_release_before_exit_processed);
        add_test("ten-thousand-workloads", test_ten_thousand_workloads);
        /* Last: it takes the bus down. */
        add_test("bus-lost-exits", test_bus_lost_exits);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = {
                .suite = "tracking",
                /* Two records per spawn and two per stop. */
                .audit_tmpfs_size = "128m",
        };

        /* One pidfd per live workload in the daemon, which inherits this:
         * the soft limit up to the hard one. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
