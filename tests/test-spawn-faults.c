/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Spawn's error paths after the call was accepted, against the built
 * pidbrokerd: the exec fails (ENOENT, EACCES), an id map cannot be
 * written, the cgroup fd names a cgroup that is gone, and the daemon runs
 * out of file descriptors in the middle (its RLIMIT_NOFILE lowered from
 * here with prlimit(2), then raised again). Each gives a named error, and
 * afterwards the daemon has no child, no zombie and no fd more than before.
 *
 * One bus (dbus-daemon): the paths are the daemon's own. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-util.h"

#define ERR_NOT_SUPPORTED "org.pidbroker.Error.NotSupported"
#define CGROUP2_ROOT "/sys/fs/cgroup/unified"

typedef struct Baseline {
        unsigned fds;
        guint64 spawns_ok;
} Baseline;

/* A first call caches our connection's identity (one pidfd); then the
 * daemon's fds and children are counted. */
static Baseline baseline(void) {
        g_autoptr(GError) e = NULL;
        int p[2];

        /* Refused for its argument, after the caller was identified. */
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_false(broker_signal(root_bus(), p[0], 0, 0, &e));
        assert_dbus_error(e, ERR_INVALID);
        close(p[0]);
        close(p[1]);
        g_assert_cmpuint(count_children(T.daemon_pid), ==, 0);
        return (Baseline) { .fds = count_fds_settled(T.daemon_pid), .spawns_ok = broker_metric("spawns.ok") };
}

/* Nothing is left of a failed spawn: no workload, no child, no zombie,
 * no fd. */
static void assert_nothing_left(const Baseline *b) {
        for (int i = 0; i < 100 && (count_children(T.daemon_pid) > 0 || count_fds(T.daemon_pid) != b->fds); i++)
                g_usleep(20000);
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);
        g_assert_cmpuint(count_children(T.daemon_pid), ==, 0);
        g_assert_cmpuint(count_fds(T.daemon_pid), ==, b->fds);
        g_assert_cmpuint(broker_metric("spawns.ok"), ==, b->spawns_ok);
}

/* Spawn that must fail with error name, its message holding each of words. */
static void spawn_fails(GVariant *argv, GVariant *options, const char *name, const char *const *words) {
        g_autoptr(GError) e = NULL;
        g_autofree char *path = NULL;
        guint64 id;
        int pidfd = -1;

        g_assert_false(spawn_full(root_bus(), argv, NULL, NULL, 0, options, &path, &pidfd, &id, &e));
        g_test_message("%s", e->message);
        assert_dbus_error(e, name);
        for (; words && *words; words++)
                if (!strstr(e->message, *words))
                        g_error("\"%s\" is not in: %s", *words, e->message);
}

static void test_exec_enoent(void) {
        const char *argv[] = { "/nonexistent/pidbroker-test-program", NULL };
        const char *words[] = { "exec", "ENOENT", NULL };
        Baseline b = baseline();

        spawn_fails(argv_variant(argv, true), NULL, ERR_SPAWN_FAILED, words);
        assert_nothing_left(&b);
}

static void test_exec_eacces(void) {
        g_autofree char *file = g_build_filename(T.dir, "not-executable", NULL);
        const char *argv[] = { file, NULL };
        const char *words[] = { "exec", "EACCES", NULL };
        g_autoptr(GError) e = NULL;
        Baseline b = baseline();

        g_assert_true(g_file_set_contents_full(file, "#!/bin/sh\nexit 0\n", -1, G_FILE_SET_CONTENTS_NONE, 0644, &e));
        spawn_fails(argv_variant(argv, true), NULL, ERR_SPAWN_FAILED, words);
        assert_nothing_left(&b);
}

/* A cgroup2 directory that was removed after it was opened: still a
 * cgroup2 directory to fstatfs(), but nothing can enter it. */
static void test_cgroup_gone(void) {
        g_autofree char *dir = g_strdup_printf(CGROUP2_ROOT "/pidbroker-test-gone-%d", (int) getpid());
        const char *exit0[] = { "exit", "0", NULL };
        /* CLONE_INTO_CGROUP into a removed cgroup: the kernel says ENOENT. */
        const char *words[] = { "clone failed", "ENOENT", NULL };
        g_autoptr(GError) e = NULL;
        Baseline b = baseline();
        int fd;

        if (access(CGROUP2_ROOT "/cgroup.procs", F_OK) < 0) {
                g_test_skip("no cgroup2 hierarchy at " CGROUP2_ROOT);
                return;
        }
        g_assert_cmpint(mkdir(dir, 0755), ==, 0);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(rmdir(dir), ==, 0);

        g_autoptr(GUnixFDList) fl = g_unix_fd_list_new();
        g_assert_cmpint(g_unix_fd_list_append(fl, fd, NULL), ==, 0);
        close(fd);
        GVariant *opts = one_option("cgroup", g_variant_new_handle(0));
        g_autoptr(GVariant) r = g_dbus_connection_call_with_unix_fd_list_sync(
                root_bus(), bus_dest(root_bus()), BROKER_PATH, BROKER_IFACE, "Spawn",
                g_variant_new("(@aay@a{ss}@a{uh}@a{sv})", argv_helper(exit0), g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0),
                              g_variant_new_array(G_VARIANT_TYPE("{uh}"), NULL, 0), opts),
                G_VARIANT_TYPE("(oht)"), G_DBUS_CALL_FLAGS_NONE, 30000, fl, NULL, NULL, &e);
        g_assert_null(r);
        g_test_message("%s", e->message);
        assert_dbus_error(e, ERR_SPAWN_FAILED);
        for (const char *const *w = words; *w; w++)
                g_assert_nonnull(strstr(e->message, *w));
        assert_nothing_left(&b);
}

static void set_nofile(pid_t pid, rlim_t soft) {
        struct rlimit old, new;
        g_assert_cmpint(prlimit(pid, RLIMIT_NOFILE, NULL, &old), ==, 0);
        new = (struct rlimit) { .rlim_cur = soft, .rlim_max = old.rlim_max };
        g_assert_cmpint(prlimit(pid, RLIMIT_NOFILE, &new, NULL), ==, 0);
}

static GVariant *userns_options(void) {
        GVariantBuilder ns;
        g_variant_builder_init(&ns, G_VARIANT_TYPE("as"));
        g_variant_builder_add(&ns, "s", "user");
        return one_option("namespaces", g_variant_builder_end(&ns));
}

static void spawn_and_wait(GVariant *options) {
        const char *exit0[] = { "exit", "0", NULL };
        g_autoptr(GError) e = NULL;
        g_autofree char *path = NULL, *code = NULL;
        guint64 id;
        int pidfd = -1, status;

        g_assert_true(spawn_full(root_bus(), argv_helper(exit0), NULL, NULL, 0, options, &path, &pidfd, &id, &e));
        g_assert_no_error(e);
        wait_workload(root_bus(), path, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 0);
        release_workload(root_bus(), path);
        close(pidfd);
}

/* RLIMIT_NOFILE from just at what the daemon uses to a few above: a spawn
 * runs out of fds at one step or another (its pipes, /dev/null, the
 * pidfd, /proc/<pid>/uid_map, the child's fd shuffle, the reply). Each
 * attempt gets a named error saying which step ran out, or succeeds; the
 * limit is raised again after each, and then nothing is left over. The
 * steps that failed go into steps (name → count). */
static void fd_sweep(GVariant *(*options)(void), GHashTable *steps) {
        const char *exit0[] = { "exit", "0", NULL };
        struct rlimit saved;
        Baseline b = baseline();
        unsigned failed = 0, succeeded = 0;

        g_assert_cmpint(prlimit(T.daemon_pid, RLIMIT_NOFILE, NULL, &saved), ==, 0);
        for (unsigned extra = 0; extra <= 10; extra++) {
                g_autoptr(GError) e = NULL;
                g_autofree char *path = NULL, *code = NULL;
                guint64 id;
                int pidfd = -1, status;

                set_nofile(T.daemon_pid, b.fds + extra);
                if (spawn_full(root_bus(), argv_helper(exit0), NULL, NULL, 0, options ? options() : NULL, &path,
                               &pidfd, &id, &e)) {
                        succeeded++;
                        set_nofile(T.daemon_pid, saved.rlim_cur);
                        g_test_message("RLIMIT_NOFILE %u + %u: spawned", b.fds, extra);
                        wait_workload(root_bus(), path, &code, &status);
                        g_assert_cmpstr(code, ==, "exited");
                        g_assert_cmpint(status, ==, 0);
                        release_workload(root_bus(), path);
                        close(pidfd);
                } else {
                        g_autofree char *remote = g_dbus_error_get_remote_error(e);
                        const char *msg = strstr(e->message, ": ") ? strstr(e->message, ": ") + 2 : e->message;
                        const char *end = strstr(msg, " failed: ");

                        set_nofile(T.daemon_pid, saved.rlim_cur);
                        failed++;
                        g_test_message("RLIMIT_NOFILE %u + %u: %s: %s", b.fds, extra, remote ?: "(local)", msg);
                        /* Before anything is spawned (the caller's limits are read
                         * through /proc), a limit of the daemon's own. */
                        const char *step_name = "before-spawn";
                        g_autofree char *step = NULL;
                        if (g_strcmp0(remote, "org.pidbroker.Error.LimitExceeded") == 0)
                                g_assert_nonnull(strstr(msg, "Too many open files"));
                        else {
                                /* The daemon's own error, naming the step and EMFILE. */
                                g_assert_cmpstr(remote, ==, ERR_SPAWN_FAILED);
                                g_assert_nonnull(strstr(msg, "EMFILE"));
                                g_assert_nonnull(end);
                                step_name = step = g_strndup(msg, (gsize) (end - msg));
                        }
                        g_hash_table_replace(steps, g_strdup(step_name),
                                             GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(steps, step_name)) + 1));
                }
                for (int i = 0; i < 100 && (count_fds(T.daemon_pid) != b.fds || count_children(T.daemon_pid) > 0); i++)
                        g_usleep(20000);
                g_assert_cmpuint(count_fds(T.daemon_pid), ==, b.fds);
                g_assert_cmpuint(count_children(T.daemon_pid), ==, 0);
                g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);
        }
        /* The lowest limits hit something, the highest nothing. */
        g_assert_cmpuint(failed, >, 0);
        g_assert_cmpuint(succeeded, >, 0);

        /* Recovered: with the limit back, spawns work and nothing is left. */
        spawn_and_wait(options ? options() : NULL);
        assert_nothing_left(&(Baseline) { .fds = b.fds, .spawns_ok = broker_metric("spawns.ok") });
}

static void test_fd_exhaustion(void) {
        g_autoptr(GHashTable) steps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        fd_sweep(NULL, steps);
        /* The first fd a spawn takes: /dev/null for the child (prepare), or,
         * where that is all it needs before clone, the pidfd (clone). */
        g_assert_true(g_hash_table_contains(steps, "prepare") || g_hash_table_contains(steps, "clone"));
}

/* The id map write fails after the child exists and waits in its new user
 * namespace: 340 lines (the most the kernel takes) that are valid one by
 * one but together longer than the page the kernel reads a map write
 * into (EINVAL). */
static void test_id_map_write_fails(void) {
        const char *exit0[] = { "exit", "0", NULL };
        const char *words[] = { "uid-map failed", "EINVAL", NULL };
        GVariantBuilder opts, map, ns;
        Baseline b = baseline();

        g_variant_builder_init(&ns, G_VARIANT_TYPE("as"));
        g_variant_builder_add(&ns, "s", "user");
        g_variant_builder_init(&map, G_VARIANT_TYPE("a(uuu)"));
        g_variant_builder_add(&map, "(uuu)", 0, 0, 1);
        for (guint32 i = 1; i < 340; i++)
                g_variant_builder_add(&map, "(uuu)", 1000000000 + i, 1000000000 + i, 1);
        g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&opts, "{sv}", "namespaces", g_variant_builder_end(&ns));
        g_variant_builder_add(&opts, "{sv}", "uid_map", g_variant_builder_end(&map));
        spawn_fails(argv_helper(exit0), g_variant_builder_end(&opts), ERR_SPAWN_FAILED, words);
        assert_nothing_left(&b);
}

/* The same sweep for a spawn into a new user namespace, whose id maps the
 * parent writes while the child waits. */
static void test_fd_exhaustion_userns(void) {
        g_autoptr(GHashTable) steps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        fd_sweep(userns_options, steps);
        g_assert_true(g_hash_table_contains(steps, "prepare"));
}

static void register_tests(void) {
        add_test("exec-enoent", test_exec_enoent);
        add_test("exec-eacces", test_exec_eacces);
        add_test("id-map-write-fails", test_id_map_write_fails);
        add_test("cgroup-gone", test_cgroup_gone);
        add_test("fd-exhaustion", test_fd_exhaustion);
        add_test("fd-exhaustion-userns", test_fd_exhaustion_userns);
}

static int client_main(int argc, char *argv[]) {
        return 1;
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "spawn-faults" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
