/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Workload units, end to end (org.pidbroker.Broker1(5), "Units and
 * states"): each workload in a cgroup of its own under the daemon's
 * delegated test cgroup (daemon-harness.h), Stop taking down a whole tree
 * that ignores SIGTERM, kill_mode=process, the stopping state, units
 * removed when workloads are released or forgotten, and the cgroup limits
 * (NotSupported where the controller is missing, as on hosts whose cgroup2
 * has no controllers). Clients run as nobody and as daemon; root checks
 * the cgroup file system behind them. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "daemon-harness.h"
#include "test-util.h"

#define ERR_NOT_SUPPORTED "org.pidbroker.Error.NotSupported"

/* A tree that ignores SIGTERM: sh and a sleep it started (SIG_IGN is
 * inherited across exec), then a second sleep once the first is gone. */
static const char *const TREE[] = { "/bin/sh", "-c", "trap '' TERM; /bin/sleep 600 & wait; /bin/sleep 600", NULL };
/* The main process exits 3 and leaves a sleep that ignores SIGTERM. */
static const char *const QUITTER[] = { "/bin/sh", "-c", "exit 4", NULL };
static const char *const LEAVER[] = { "/bin/sh", "-c", "trap '' TERM; /bin/sleep 600 & exit 3", NULL };

#define STOP_TIMEOUT_SHORT_USEC 300000ULL
#define STOP_TIMEOUT_LONG_USEC 600000000ULL

static const struct {
        const char *option, *controller, *file;
        guint64 value;
        const char *written;
} LIMITS[] = {
        { "memory_max", "memory", "memory.max", 64 << 20, "67108864" },
        { "pids_max", "pids", "pids.max", 32, "32" },
        { "cpu_weight", "cpu", "cpu.weight", 50, "50" },
        { "io_weight", "io", "io.weight", 50, "default 50" },
};

/* ---------- client side ---------- */

static void print_line(const char *key, const char *value) {
        printf("%s=%s\n", key, value);
        fflush(stdout);
}

/* Stop or Wait on a workload: "code status". */
static char *exit_call(GDBusConnection *c, const char *path, const char *method) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(c, bus_dest(c), path, WORKLOAD_IFACE, method, NULL,
                                                            G_VARIANT_TYPE("(si)"), G_DBUS_CALL_FLAGS_NONE, 120000,
                                                            NULL, &e);
        const char *code;
        gint32 status;

        g_assert_no_error(e);
        g_variant_get(r, "(&si)", &code, &status);
        return g_strdup_printf("%s %d", code, status);
}

/* "tree MODE [watch]": the tree with kill_mode MODE ("default": none
 * given); prints path, cgroup and pid; then, on "go", Stop; on "go",
 * Release. With watch: watch_client, and the client leaves at once. */
static int client_tree(GDBusConnection *c, const char *mode, bool watch) {
        g_autofree char *path = NULL, *cg = NULL, *state = NULL;
        g_autoptr(GError) e = NULL;
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "stop_timeout_usec", g_variant_new_uint64(STOP_TIMEOUT_SHORT_USEC));
        if (!g_str_equal(mode, "default"))
                g_variant_builder_add(&b, "{sv}", "kill_mode", g_variant_new_string(mode));
        if (watch)
                g_variant_builder_add(&b, "{sv}", "watch_client", g_variant_new_boolean(TRUE));
        g_assert_true(spawn_full(c, argv_variant(TREE, true), NULL, NULL, 0, g_variant_builder_end(&b), &path, NULL,
                                 NULL, &e));
        g_assert_no_error(e);
        cg = get_str(c, path, "ControlGroup");
        g_autofree char *pid = g_strdup_printf("%u", get_u32(c, path, "Pid"));
        print_line("path", path);
        print_line("cgroup", cg);
        print_line("pid", pid);
        if (watch)
                return 0; /* the daemon stops it when we are gone */

        g_free(read_line_fd(STDIN_FILENO, 60000));
        g_autofree char *stop = exit_call(c, path, "Stop");
        state = get_str(c, path, "State");
        print_line("stop", stop);
        print_line("state", state);

        g_free(read_line_fd(STDIN_FILENO, 60000));
        release_workload(c, path);
        print_line("released", "yes");
        return 0;
}

/* "stopping": LEAVER; once Exited came, the workload is stopping, cannot be
 * released, and its Wait answers only when the test has killed the sleep
 * left in its unit. */
static int client_stopping(GDBusConnection *c) {
        ExitedLog log = { .paths = g_ptr_array_new_with_free_func(g_free) };
        g_autofree char *path = NULL, *cg = NULL, *state = NULL, *code = NULL;
        g_autoptr(GError) e = NULL, e2 = NULL;
        int status;
        guint64 id;

        guint sub = g_dbus_connection_signal_subscribe(c, bus_dest(c), WORKLOAD_IFACE, "Exited", NULL, NULL,
                                                       G_DBUS_SIGNAL_FLAGS_NONE, on_exited, &log, NULL);
        g_assert_true(spawn_full(c, argv_variant(LEAVER, true), NULL, NULL, 0,
                                 one_option("stop_timeout_usec", g_variant_new_uint64(STOP_TIMEOUT_LONG_USEC)), &path,
                                 NULL, &id, &e));
        g_assert_no_error(e);
        iterate_until(exited_log_has, &log, 30000);
        g_assert_true(exited_seen(&log, path));
        g_assert_cmpstr(log.code, ==, "exited");
        g_assert_cmpint(log.status, ==, 3);

        /* Exited says the main process is gone; the unit is not empty. */
        state = get_str(c, path, "State");
        g_assert_cmpstr(state, ==, "stopping");
        get_exit_status(c, path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 3);
        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Release", NULL, NULL, &e2);
        g_assert_null(r);
        assert_dbus_error(e2, ERR_INVALID);

        cg = get_str(c, path, "ControlGroup");
        g_autofree char *ids = g_strdup_printf("%" G_GUINT64_FORMAT, id);
        print_line("path", path);
        print_line("cgroup", cg);
        print_line("id", ids);
        print_line("state", state);

        /* Answered once the test has emptied the unit. */
        g_autofree char *waited = exit_call(c, path, "Wait");
        g_free(state);
        state = get_str(c, path, "State");
        print_line("wait", waited);
        print_line("state", state);
        release_workload(c, path);
        g_dbus_connection_signal_unsubscribe(c, sub);
        g_ptr_array_unref(log.paths);
        g_free(log.code);
        return 0;
}

static GVariant *spawn_options_with(const char *key, GVariant *value, const char *key2, GVariant *value2) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", key, value);
        if (key2)
                g_variant_builder_add(&b, "{sv}", key2, value2);
        return g_variant_builder_end(&b);
}

/* Spawn a sleep with options (fd, if >= 0, as handle 0): the error, or
 * NULL and the workload's path. */
static GError *spawn_sleeper(GDBusConnection *c, GVariant *options, int fd, char **ret_path) {
        g_autoptr(GUnixFDList) in = g_unix_fd_list_new();
        GError *e = NULL;

        if (fd >= 0)
                g_assert_cmpint(g_unix_fd_list_append(in, fd, NULL), ==, 0);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, bus_dest(c), BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}@a{uh}@a{sv})",
                              argv_variant((const char *const[]) { "/bin/sleep", "600", NULL }, true),
                              g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                              g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0), options),
                G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 30000, in, NULL, NULL, &e);
        if (r && ret_path)
                g_variant_get(r, "(oht)", ret_path, NULL, NULL);
        return e;
}

static bool broker_feature(GDBusConnection *c, const char *name, char **ret_detail) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) features = get_property(c, BROKER_PATH, BROKER_IFACE, "Features", &e);
        g_assert_no_error(e);
        for (gsize i = 0; i < g_variant_n_children(features); i++) {
                const char *n, *detail;
                gboolean avail;
                g_variant_get_child(features, i, "(&sb&s)", &n, &avail, &detail);
                if (g_str_equal(n, name)) {
                        if (ret_detail)
                                *ret_detail = g_strdup(detail);
                        return avail;
                }
        }
        g_error("no feature %s", name);
}

/* "limits MOUNT": each limit is written where Features says its controller
 * is enabled, NotSupported naming it where not; bad values and kill modes,
 * and unit options with the cgroup option, are InvalidArgument. */
static int client_limits(GDBusConnection *c, const char *mount) {
        for (size_t i = 0; i < G_N_ELEMENTS(LIMITS); i++) {
                g_autofree char *feature = g_strconcat("cgroup_", LIMITS[i].controller, NULL);
                g_autofree char *path = NULL;
                g_autoptr(GError) e = spawn_sleeper(c, one_option(LIMITS[i].option, g_variant_new_uint64(LIMITS[i].value)),
                                                 -1, &path);

                if (broker_feature(c, feature, NULL)) {
                        g_assert_no_error(e);
                        g_autofree char *cg = get_str(c, path, "ControlGroup");
                        g_autofree char *file = g_strconcat(mount, cg, "/", LIMITS[i].file, NULL);
                        g_autofree char *contents = NULL;
                        g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
                        g_assert_cmpstr(g_strchomp(contents), ==, LIMITS[i].written);
                        stop_and_release(c, path);
                        print_line(LIMITS[i].option, "written");
                } else {
                        assert_dbus_error(e, ERR_NOT_SUPPORTED);
                        g_assert_nonnull(strstr(e->message, LIMITS[i].option));
                        g_autofree char *named = g_strdup_printf("the %s controller", LIMITS[i].controller);
                        g_assert_nonnull(strstr(e->message, named));
                        print_line(LIMITS[i].option, "not-supported");
                }
        }

        static const struct {
                const char *option;
                guint64 value;
        } bad[] = { { "pids_max", 0 }, { "cpu_weight", 0 }, { "cpu_weight", 10001 }, { "io_weight", 0 },
                    { "io_weight", 20000 } };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) e = spawn_sleeper(c, one_option(bad[i].option, g_variant_new_uint64(bad[i].value)), -1,
                                                 NULL);
                assert_dbus_error(e, ERR_INVALID);
        }
        g_autoptr(GError) e1 = spawn_sleeper(c, one_option("kill_mode", g_variant_new_string("control-group")), -1, NULL);
        assert_dbus_error(e1, ERR_INVALID);
        g_autoptr(GError) e2 = spawn_sleeper(c, one_option("kill_mode", g_variant_new_uint32(0)), -1, NULL);
        assert_dbus_error(e2, ERR_INVALID);
        g_autoptr(GError) e3 = spawn_sleeper(c, one_option("memory_max", g_variant_new_int64(1)), -1, NULL);
        assert_dbus_error(e3, ERR_INVALID);

        /* The cgroup option gives no unit of our own to kill or limit. */
        int dirfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(dirfd, >=, 0);
        g_autoptr(GError) e4 = spawn_sleeper(c, spawn_options_with("cgroup", g_variant_new_handle(0), "kill_mode",
                                                                g_variant_new_string("cgroup")),
                                          dirfd, NULL);
        assert_dbus_error(e4, ERR_INVALID);
        g_autoptr(GError) e5 = spawn_sleeper(c, spawn_options_with("cgroup", g_variant_new_handle(0), "pids_max",
                                                                g_variant_new_uint64(10)),
                                          dirfd, NULL);
        assert_dbus_error(e5, ERR_INVALID);
        close(dirfd);
        print_line("invalid", "refused");
        return 0;
}

/* "caller-cgroup DIR": the tree started in DIR (the cgroup option, a
 * directory delegated to us); prints path, pid and ControlGroup; on "go",
 * Stop, then Release. */
static int client_caller_cgroup(GDBusConnection *c, const char *dir) {
        g_autofree char *path = NULL;
        g_autoptr(GUnixFDList) in = g_unix_fd_list_new();
        g_autoptr(GError) e = NULL;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(g_unix_fd_list_append(in, fd, NULL), ==, 0);
        close(fd);
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                c, bus_dest(c), BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", argv_variant(TREE, true),
                              g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                              g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0),
                              spawn_options_with("cgroup", g_variant_new_handle(0), "stop_timeout_usec",
                                                 g_variant_new_uint64(STOP_TIMEOUT_SHORT_USEC))),
                G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 30000, in, NULL, NULL, &e);
        g_assert_no_error(e);
        g_variant_get(r, "(oht)", &path, NULL, NULL);
        g_autofree char *cg = get_str(c, path, "ControlGroup");
        g_autofree char *pid = g_strdup_printf("%u", get_u32(c, path, "Pid"));
        print_line("path", path);
        print_line("pid", pid);
        print_line("cgroup", cg);

        g_free(read_line_fd(STDIN_FILENO, 60000));
        g_autofree char *stop = exit_call(c, path, "Stop");
        release_workload(c, path);
        print_line("stop", stop);
        print_line("released", "yes");
        return 0;
}

/* "exits": a workload that ends on its own and leaves nothing; prints its
 * cgroup and what Wait answered, then on "go" Releases it. */
static int client_exits(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;

        g_assert_true(spawn_full(c, argv_variant(QUITTER, true), NULL, NULL, 0, NULL, &path, NULL, NULL, &e));
        g_assert_no_error(e);
        g_autofree char *cg = get_str(c, path, "ControlGroup");
        g_autofree char *waited = exit_call(c, path, "Wait");
        print_line("cgroup", cg);
        print_line("wait", waited);

        g_free(read_line_fd(STDIN_FILENO, 60000));
        release_workload(c, path);
        print_line("released", "yes");
        return 0;
}

static int client_main(int argc, char *argv[]) {
        const char *scenario = argv[2];
        g_autoptr(GDBusConnection) c = client_connect(NULL);

        if (g_str_equal(scenario, "tree") && argc >= 4)
                return client_tree(c, argv[3], argc >= 5 && g_str_equal(argv[4], "watch"));
        if (g_str_equal(scenario, "stopping"))
                return client_stopping(c);
        if (g_str_equal(scenario, "exits"))
                return client_exits(c);
        if (g_str_equal(scenario, "limits") && argc >= 4)
                return client_limits(c, argv[3]);
        if (g_str_equal(scenario, "caller-cgroup") && argc >= 4)
                return client_caller_cgroup(c, argv[3]);
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ---------- test side (root) ---------- */

#define REQUIRE_UNITS()                                                                     \
        do {                                                                                \
                if (!T.cgroup) {                                                            \
                        g_test_skip("no cgroup2 hierarchy: the daemon runs without units"); \
                        return;                                                             \
                }                                                                           \
        } while (0)

static const uid_t CLIENT_UIDS[] = { UID_NOBODY, UID_DAEMON };

static char *unit_file(const char *cg, const char *file) {
        return g_strconcat(T.cgroup_mount, cg, file ? "/" : NULL, file, NULL);
}

static bool unit_exists(const char *cg) {
        g_autofree char *dir = unit_file(cg, NULL);
        return g_file_test(dir, G_FILE_TEST_IS_DIR);
}

/* The pids in the unit's cgroup.procs. */
static GArray *unit_pids(const char *cg) {
        g_autofree char *file = unit_file(cg, "cgroup.procs");
        g_autofree char *contents = NULL;
        GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));

        g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        for (char **l = lines; *l; l++)
                if (**l) {
                        pid_t p = (pid_t) atoi(*l);
                        g_array_append_val(pids, p);
                }
        return pids;
}

static bool unit_populated(const char *cg) {
        g_autofree char *file = unit_file(cg, "cgroup.events");
        g_autofree char *contents = NULL;
        g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
        return strstr(contents, "populated 1") != NULL;
}

/* The "0::" line of /proc/<pid>/cgroup; NULL once it has gone. */
static char *proc_cgroup(pid_t pid) {
        g_autofree char *file = g_strdup_printf("/proc/%d/cgroup", (int) pid);
        g_autofree char *contents = NULL;
        if (!g_file_get_contents(file, &contents, NULL, NULL))
                return NULL;
        const char *l = strstr(contents, "0::");
        g_assert_nonnull(l);
        return g_strndup(l + 3, strcspn(l + 3, "\n"));
}

static void wait_unit_gone(const char *cg) {
        for (int i = 0; i < 3000 && unit_exists(cg); i++)
                g_usleep(10000);
        g_assert_false(unit_exists(cg));
}

/* The tree's processes, pinned by pidfd, once sh has started the first
 * sleep: two of them, each in the unit. */
static GArray *pin_tree(const char *cg) {
        GArray *pidfds = g_array_new(FALSE, FALSE, sizeof(int));

        for (int i = 0; i < 3000; i++) {
                g_autoptr(GArray) pids = unit_pids(cg);
                if (pids->len >= 2) {
                        g_assert_cmpuint(pids->len, ==, 2);
                        for (guint k = 0; k < pids->len; k++) {
                                pid_t p = g_array_index(pids, pid_t, k);
                                int fd = pidfd_open_or_die(p);
                                g_autofree char *where = proc_cgroup(p);
                                g_assert_cmpstr(where, ==, cg);
                                g_array_append_val(pidfds, fd);
                        }
                        return pidfds;
                }
                g_usleep(10000);
        }
        g_error("the tree never had two processes in %s", cg);
}

/* A workload's unit is its own: a new directory below the daemon's test
 * cgroup, beside the leaf the daemon moved itself into; its main process
 * pid (if > 0) is in it. */
static void assert_own_unit(const char *cg, pid_t pid) {
        g_autofree char *prefix = g_strconcat(T.cgroup, "/" CGROUP_UNIT_PREFIX, NULL);
        g_autofree char *leaf = g_strconcat(T.cgroup, "/" CGROUP_SUPERVISOR_LEAF, NULL);
        g_autofree char *daemon_cg = proc_cgroup(T.daemon_pid);

        g_assert_true(g_str_has_prefix(cg, prefix));
        g_assert_cmpuint(strlen(cg), ==, strlen(prefix) + 16);
        g_assert_cmpstr(daemon_cg, ==, leaf);
        if (pid > 0) {
                g_autofree char *main_cg = proc_cgroup(pid);
                g_assert_cmpstr(main_cg, ==, cg);
        }
}

/* The client's next two lines are key1=want1 and key2=want2. */
static void expect_lines(GSubprocess *p, const char *key1, const char *want1, const char *key2, const char *want2) {
        g_autofree char *out = client_read_lines(p, 2);
        g_autofree char *v1 = client_output_get(out, key1);
        g_autofree char *v2 = client_output_get(out, key2);
        g_assert_cmpstr(v1, ==, want1);
        g_assert_cmpstr(v2, ==, want2);
}

static void send_go(GSubprocess *p) {
        g_assert_true(g_output_stream_write_all(g_subprocess_get_stdin_pipe(p), "go\n", 3, NULL, NULL, NULL));
}

static void check_stop_tree(uid_t uid, const char *mode) {
        g_autoptr(GSubprocess) p = client_start(uid, (const char *const[]) { "tree", mode, NULL });
        g_autofree char *out = client_read_lines(p, 3);
        g_autofree char *path = client_output_get(out, "path");
        g_autofree char *cg = client_output_get(out, "cgroup");
        g_autofree char *pid = client_output_get(out, "pid");
        bool whole = !g_str_equal(mode, "process");

        g_test_message("uid %u, kill_mode %s: %s in %s", (unsigned) uid, mode, path, cg);
        assert_own_unit(cg, (pid_t) atoi(pid));
        g_autoptr(GArray) pidfds = pin_tree(cg);

        send_go(p);
        /* sh ignores SIGTERM: only the kill at the stop timeout ends it. */
        expect_lines(p, "stop", "killed 9", "state", "exited");

        int sleep_fd = -1;
        for (guint i = 0; i < pidfds->len; i++) {
                int fd = g_array_index(pidfds, int, i);
                if (whole)
                        /* Nothing of the tree is left when Stop replies. */
                        g_assert_true(fd_readable_within(fd, 0));
                else if (!fd_readable_within(fd, 0))
                        sleep_fd = fd;
        }
        if (whole) {
                /* Empty, or gone already: a unit found empty when its main
                 * process exits is removed then, as systemd's scopes are. */
                if (unit_exists(cg)) {
                        g_assert_false(unit_populated(cg));
                        g_autoptr(GArray) left = unit_pids(cg);
                        g_assert_cmpuint(left->len, ==, 0);
                }
        } else {
                /* kill_mode=process: the main process only; the sleep lives
                 * on in the unit. */
                g_assert_cmpint(sleep_fd, >=, 0);
                g_autofree char *where = proc_cgroup(fdinfo_pid(sleep_fd));
                g_assert_cmpstr(where, ==, cg);
        }

        send_go(p);
        g_autofree char *out3 = client_read_lines(p, 1);
        g_assert_cmpstr(out3, ==, "released=yes\n");
        client_finish(p);
        if (whole) {
                /* Released: the unit is gone with it. */
                g_assert_false(unit_exists(cg));
        } else {
                /* Still populated: it stays until the sleep is gone too. */
                g_assert_true(unit_exists(cg));
                g_assert_cmpint(syscall(SYS_pidfd_send_signal, sleep_fd, SIGKILL, NULL, 0), ==, 0);
                wait_unit_gone(cg);
        }
        for (guint i = 0; i < pidfds->len; i++)
                close(g_array_index(pidfds, int, i));
}

/* The daemon holds as many fds as before (units, their cgroup.events
 * watches, lingering units: all closed), once its clients are gone. */
static void assert_daemon_fds(unsigned before) {
        unsigned after = 0;
        for (int i = 0; i < 100; i++) {
                after = count_fds(T.daemon_pid);
                if (after == before)
                        break;
                g_usleep(50000);
        }
        g_assert_cmpuint(after, ==, before);
}

static void test_stop_kills_tree(void) {
        REQUIRE_UNITS();
        unsigned fds = count_fds(T.daemon_pid);
        for (size_t i = 0; i < G_N_ELEMENTS(CLIENT_UIDS); i++) {
                check_stop_tree(CLIENT_UIDS[i], "default");
                check_stop_tree(CLIENT_UIDS[i], "cgroup");
        }
        assert_daemon_fds(fds);
}

static void test_kill_mode_process(void) {
        REQUIRE_UNITS();
        unsigned fds = count_fds(T.daemon_pid);
        for (size_t i = 0; i < G_N_ELEMENTS(CLIENT_UIDS); i++)
                check_stop_tree(CLIENT_UIDS[i], "process");
        assert_daemon_fds(fds);
}

/* The owner leaves: the same whole-unit stop. The unit goes once it is
 * empty, and the workload when it is forgotten, with its pidfd
 * (ExitRetentionSec=1 in the test daemon). */
static void test_watch_client_stops_unit(void) {
        REQUIRE_UNITS();
        unsigned fds = count_fds(T.daemon_pid);
        for (size_t i = 0; i < G_N_ELEMENTS(CLIENT_UIDS); i++) {
                g_autofree char *out = client_run(CLIENT_UIDS[i], (const char *const[]) { "tree", "default", "watch", NULL });
                g_autofree char *cg = client_output_get(out, "cgroup");
                /* Its processes may be gone already: the client left. */
                assert_own_unit(cg, 0);
                wait_unit_gone(cg);
        }
        assert_daemon_fds(fds);
}

static bool stopping_audited(gint64 since, guint64 id) {
        g_autoptr(GPtrArray) recs = audit_records_since(since, NULL, 0);
        for (guint i = 0; i < recs->len; i++) {
                GVariant *rec = recs->pdata[i];
                if (g_strcmp0(jv_str(rec, "rule"), "daemon:main-exited") == 0 &&
                    (guint64) jv_int(rec, "target.workload_id") == id && jv_int(rec, "details.signal") == SIGTERM)
                        return true;
        }
        return false;
}

/* A unit found empty when its main process exits goes at once, as
 * systemd's scopes do: before the workload is released, with no fd of the
 * daemon's left for it. */
static void test_empty_unit_goes_at_exit(void) {
        REQUIRE_UNITS();
        unsigned fds = count_fds(T.daemon_pid);
        for (size_t i = 0; i < G_N_ELEMENTS(CLIENT_UIDS); i++) {
                g_autoptr(GSubprocess) p = client_start(CLIENT_UIDS[i], (const char *const[]) { "exits", NULL });
                g_autofree char *out = client_read_lines(p, 2);
                g_autofree char *cg = client_output_get(out, "cgroup");
                g_autofree char *waited = client_output_get(out, "wait");
                g_assert_cmpstr(waited, ==, "exited 4");
                g_assert_false(unit_exists(cg));

                send_go(p);
                g_autofree char *out2 = client_read_lines(p, 1);
                g_assert_cmpstr(out2, ==, "released=yes\n");
                client_finish(p);
        }
        assert_daemon_fds(fds);
}

static void test_stopping_state(void) {
        REQUIRE_UNITS();
        unsigned fds = count_fds(T.daemon_pid);
        for (size_t i = 0; i < G_N_ELEMENTS(CLIENT_UIDS); i++) {
                gint64 since = audit_last_seq();
                g_autoptr(GSubprocess) p = client_start(CLIENT_UIDS[i], (const char *const[]) { "stopping", NULL });
                g_autofree char *out = client_read_lines(p, 4);
                g_autofree char *cg = client_output_get(out, "cgroup");
                g_autofree char *id = client_output_get(out, "id");
                g_autofree char *state = client_output_get(out, "state");
                g_assert_cmpstr(state, ==, "stopping");

                /* What holds the unit: the sleep, which ignored the SIGTERM
                 * the daemon sent it (recorded) when sh exited. */
                g_autoptr(GArray) pids = unit_pids(cg);
                g_assert_cmpuint(pids->len, ==, 1);
                int fd = pidfd_open_or_die(g_array_index(pids, pid_t, 0));
                g_assert_true(stopping_audited(since, g_ascii_strtoull(id, NULL, 10)));
                g_assert_cmpint(syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0), ==, 0);
                close(fd);

                expect_lines(p, "wait", "exited 3", "state", "exited");
                client_finish(p);
                g_assert_false(unit_exists(cg));
        }
        assert_daemon_fds(fds);
}

static void test_limits(void) {
        REQUIRE_UNITS();
        unsigned fds = count_fds(T.daemon_pid);
        for (size_t i = 0; i < G_N_ELEMENTS(CLIENT_UIDS); i++) {
                g_autofree char *out = client_run(CLIENT_UIDS[i], (const char *const[]) { "limits", T.cgroup_mount, NULL });
                for (size_t k = 0; k < G_N_ELEMENTS(LIMITS); k++) {
                        g_autofree char *v = client_output_get(out, LIMITS[k].option);
                        g_test_message("uid %u: %s %s", (unsigned) CLIENT_UIDS[i], LIMITS[k].option, v);
                }
                g_autofree char *invalid = client_output_get(out, "invalid");
                g_assert_cmpstr(invalid, ==, "refused");
        }
        assert_daemon_fds(fds);
}

/* Features names the subtree and says which controllers the units have,
 * as the subtree's cgroup.subtree_control does. */
static void test_features(void) {
        REQUIRE_UNITS();
        GDBusConnection *c = root_bus();
        g_autofree char *detail = NULL;
        g_autofree char *subtree = g_strconcat(T.cgroup_mount, T.cgroup, NULL);

        g_assert_true(broker_feature(c, "cgroup_units", &detail));
        g_assert_nonnull(strstr(detail, subtree));
        for (size_t i = 0; i < G_N_ELEMENTS(LIMITS); i++) {
                g_autofree char *feature = g_strconcat("cgroup_", LIMITS[i].controller, NULL);
                g_autofree char *d = NULL;
                g_autofree char *control = g_build_filename(subtree, "cgroup.subtree_control", NULL);
                g_autofree char *contents = NULL;
                g_assert_true(g_file_get_contents(control, &contents, NULL, NULL));
                g_auto(GStrv) enabled = g_strsplit_set(g_strchomp(contents), " ", -1);
                g_assert_cmpint(broker_feature(c, feature, &d), ==,
                                g_strv_contains((const char *const *) enabled, LIMITS[i].controller));
                g_assert_nonnull(strstr(d, LIMITS[i].option));
        }
}

/* A spawn that fails (exec) or is refused leaves no unit behind. */
static void test_failed_spawn_leaves_no_unit(void) {
        REQUIRE_UNITS();
        GDBusConnection *c = root_bus();
        g_autoptr(GPtrArray) before = daemon_units();
        g_autoptr(GError) e = NULL, e2 = NULL;

        g_assert_false(spawn_full(c, argv_variant((const char *const[]) { "/nonexistent/program", NULL }, true), NULL,
                                  NULL, 0, NULL, NULL, NULL, NULL, &e));
        assert_dbus_error(e, ERR_SPAWN_FAILED);
        g_assert_false(spawn_full(c, argv_variant((const char *const[]) { "/bin/true", NULL }, true), NULL, NULL, 0,
                                  one_option("cpu_weight", g_variant_new_uint64(0)), NULL, NULL, NULL, &e2));
        assert_dbus_error(e2, ERR_INVALID);

        /* The failed child is reaped and its unit removed from the loop. */
        g_autoptr(GPtrArray) after = NULL;
        for (int i = 0; i < 3000; i++) {
                g_clear_pointer(&after, g_ptr_array_unref);
                after = daemon_units();
                if (after->len == before->len)
                        break;
                g_usleep(10000);
        }
        g_assert_cmpuint(after->len, ==, before->len);
}

/* The first child of pid, from /proc (0 while it has none). */
static pid_t first_child(pid_t pid) {
        g_autofree char *file = g_strdup_printf("/proc/%d/task/%d/children", (int) pid, (int) pid);
        g_autofree char *contents = NULL;
        if (!g_file_get_contents(file, &contents, NULL, NULL))
                return 0;
        return (pid_t) atoi(contents);
}

/* The cgroup option keeps its meaning: the workload is born in the
 * caller's directory (here one delegated to nobody, so no privilege is
 * asked), gets no unit of ours, and Stop ends its main process only:
 * the directory is the caller's, and may hold anything. */
static void test_caller_cgroup(void) {
        REQUIRE_UNITS();
        g_autofree char *cg = g_strconcat(T.cgroup, "-caller", NULL);
        g_autofree char *dir = unit_file(cg, NULL);

        g_assert_no_errno(mkdir(dir, 0755));
        g_assert_no_errno(chown(dir, UID_NOBODY, 65534));
        g_autofree char *procs = unit_file(cg, "cgroup.procs");
        g_assert_no_errno(chown(procs, UID_NOBODY, 65534));

        g_autoptr(GSubprocess) p = client_start(UID_NOBODY, (const char *const[]) { "caller-cgroup", dir, NULL });
        g_autofree char *out = client_read_lines(p, 3);
        g_autofree char *pid = client_output_get(out, "pid");
        g_autofree char *own = client_output_get(out, "cgroup");
        pid_t main_pid = (pid_t) atoi(pid), child = 0;
        g_assert_cmpstr(own, ==, "");
        g_autofree char *where = proc_cgroup(main_pid);
        g_assert_cmpstr(where, ==, cg);
        for (int i = 0; i < 3000 && (child = first_child(main_pid)) == 0; i++)
                g_usleep(10000);
        g_assert_cmpint(child, >, 0);
        int child_fd = pidfd_open_or_die(child);

        send_go(p);
        expect_lines(p, "stop", "killed 9", "released", "yes");
        client_finish(p);
        /* The main process only: its child lives on, in the caller's cgroup. */
        g_assert_false(fd_readable_within(child_fd, 0));
        g_autofree char *child_cg = proc_cgroup(child);
        g_assert_cmpstr(child_cg, ==, cg);
        g_assert_cmpint(syscall(SYS_pidfd_send_signal, child_fd, SIGKILL, NULL, 0), ==, 0);
        g_assert_true(fd_readable_within(child_fd, 30000));
        close(child_fd);
        for (int i = 0; i < 3000 && unit_populated(cg); i++)
                g_usleep(10000);
        g_assert_no_errno(rmdir(dir));
}

/* Without a usable cgroup2 (here: hidden under a tmpfs in the test's mount
 * namespace, which the daemon shares) the daemon runs without units: one
 * warning, Features says so, the limits are NotSupported, and Stop ends the
 * main process only. */
static void test_without_cgroup2(void) {
        REQUIRE_UNITS();
        GDBusConnection *c = root_bus();
        g_autofree char *saved = g_steal_pointer(&T.cgroup);
        g_autofree char *detail = NULL, *path = NULL;
        g_autoptr(GError) e = NULL;

        g_assert_no_errno(mount("tmpfs", T.cgroup_mount, "tmpfs", 0, "size=64k,mode=0755"));
        daemon_restart(NULL);

        g_assert_false(broker_feature(c, "cgroup_units", &detail));
        g_assert_nonnull(strstr(detail, "Stop ends the main process only"));
        for (size_t i = 0; i < G_N_ELEMENTS(LIMITS); i++) {
                g_autofree char *feature = g_strconcat("cgroup_", LIMITS[i].controller, NULL);
                g_assert_false(broker_feature(c, feature, NULL));
        }
        g_autoptr(GError) el = spawn_sleeper(c, one_option("pids_max", g_variant_new_uint64(10)), -1, NULL);
        assert_dbus_error(el, ERR_NOT_SUPPORTED);
        g_assert_nonnull(strstr(el->message, "no cgroup of their own"));

        g_assert_true(spawn_full(c, argv_variant(TREE, true), NULL, NULL, 0,
                                 one_option("stop_timeout_usec", g_variant_new_uint64(STOP_TIMEOUT_SHORT_USEC)), &path,
                                 NULL, NULL, &e));
        g_assert_no_error(e);
        g_autofree char *cg = get_str(c, path, "ControlGroup");
        g_assert_cmpstr(cg, ==, "");
        pid_t main_pid = (pid_t) get_u32(c, path, "Pid"), child = 0;
        for (int i = 0; i < 3000 && (child = first_child(main_pid)) == 0; i++)
                g_usleep(10000);
        g_assert_cmpint(child, >, 0);
        int child_fd = pidfd_open_or_die(child);

        g_autoptr(GVariant) r = call(c, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        const char *code;
        gint32 status;
        g_variant_get(r, "(&si)", &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGKILL);
        /* The main process only: its child lives on. */
        g_assert_false(fd_readable_within(child_fd, 0));
        g_assert_cmpint(syscall(SYS_pidfd_send_signal, child_fd, SIGKILL, NULL, 0), ==, 0);
        close(child_fd);
        release_workload(c, path);

        g_assert_no_errno(umount2(T.cgroup_mount, 0));
        T.cgroup = g_steal_pointer(&saved);
        daemon_restart(NULL);
        g_assert_true(broker_feature(c, "cgroup_units", NULL));
}

static void register_tests(void) {
        add_test("stop-kills-tree", test_stop_kills_tree);
        add_test("kill-mode-process", test_kill_mode_process);
        add_test("watch-client-stops-unit", test_watch_client_stops_unit);
        add_test("empty-unit-goes-at-exit", test_empty_unit_goes_at_exit);
        add_test("stopping-state", test_stopping_state);
        add_test("limits", test_limits);
        add_test("features", test_features);
        add_test("failed-spawn-leaves-no-unit", test_failed_spawn_leaves_no_unit);
        add_test("caller-cgroup", test_caller_cgroup);
        add_test("without-cgroup2", test_without_cgroup2);
}

int main(int argc, char *argv[]) {
        HarnessOptions opts = { .suite = "/units" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
