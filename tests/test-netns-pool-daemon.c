/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The pool of ready network namespaces (src/spawn/netns-pool.h) in the
 * built pidbrokerd: workloads spawned into pid+mount+net namespaces each
 * have a network namespace no live one shares, and however many are
 * spawned, the pool costs the daemon NETNS_POOL_SIZE fds and no process. */

#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "netns-pool.h"
#include "test-util.h"

static guint64 workload_namespace(const char *path, const char *name) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) ns = get_property(root_bus(), path, WORKLOAD_IFACE, "Namespaces", &e);
        guint64 id = 0;

        g_assert_no_error(e);
        g_assert_true(g_variant_lookup(ns, name, "t", &id));
        return id;
}

static char *spawn_with_namespaces(const char *const *args) {
        g_autoptr(GError) e = NULL;
        char *path = NULL;
        int pidfd = -1;
        guint64 id;

        g_assert_true(spawn_full(root_bus(), argv_helper(args), NULL, NULL, 0, ns_options(NS_PID_MNT_NET, false, 0),
                                 &path, &pidfd, &id, &e));
        g_assert_no_error(e);
        close(pidfd);
        return path;
}

/* Nothing of the workloads is left, and of the pool its fds alone. */
static void assert_pool_alone_left(unsigned fds_before) {
        unsigned want = fds_before + NETNS_POOL_SIZE;

        for (int i = 0; i < 100 && (count_children(T.daemon_pid) > 0 || count_fds(T.daemon_pid) != want); i++)
                g_usleep(20000);
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);
        g_assert_cmpuint(count_children(T.daemon_pid), ==, 0);
        g_assert_cmpuint(count_fds(T.daemon_pid), ==, want);
}

static void test_pool(void) {
        static const char *const sleep30[] = { "sleep", "30", NULL };
        static const char *const exit0[] = { "exit", "0", NULL };
        char *live[3];
        guint64 net[G_N_ELEMENTS(live)];
        struct stat own;

        g_assert_cmpint(stat("/proc/self/ns/net", &own), ==, 0);
        g_assert_cmpuint(count_children(T.daemon_pid), ==, 0);
        /* A workload without namespaces first: the daemon knows our
         * connection now (one fd), and nothing is made ahead yet. */
        g_autofree char *plain = NULL;
        g_autofree char *plain_code = NULL;
        g_autoptr(GError) e = NULL;
        int pidfd = -1, plain_status;
        guint64 id;
        g_assert_true(spawn_full(root_bus(), argv_helper(exit0), NULL, NULL, 0, NULL, &plain, &pidfd, &id, &e));
        g_assert_no_error(e);
        close(pidfd);
        wait_workload(root_bus(), plain, &plain_code, &plain_status);
        release_workload(root_bus(), plain);
        unsigned fds_before = count_fds_settled(T.daemon_pid);

        for (size_t i = 0; i < G_N_ELEMENTS(live); i++) {
                live[i] = spawn_with_namespaces(sleep30);
                net[i] = workload_namespace(live[i], "net");
                g_assert_cmpuint(net[i], !=, 0);
                g_assert_cmpuint(net[i], !=, own.st_ino);
                for (size_t j = 0; j < i; j++)
                        g_assert_cmpuint(net[i], !=, net[j]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(live); i++) {
                stop_and_release(root_bus(), live[i]);
                g_free(live[i]);
        }
        assert_pool_alone_left(fds_before);

        /* Bounded: more spawns leave the same. */
        for (int i = 0; i < 8; i++) {
                g_autofree char *path = spawn_with_namespaces(exit0);
                g_autofree char *code = NULL;
                int status;

                g_assert_cmpuint(workload_namespace(path, "net"), !=, own.st_ino);
                wait_workload(root_bus(), path, &code, &status);
                g_assert_cmpstr(code, ==, "exited");
                g_assert_cmpint(status, ==, 0);
                release_workload(root_bus(), path);
        }
        assert_pool_alone_left(fds_before);
}

static void register_tests(void) {
        add_test("pool", test_pool);
}

static int client_main(int argc, char *argv[]) {
        return 1;
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "netns-pool-daemon" };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
