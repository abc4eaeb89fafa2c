/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Network namespaces made ahead of demand (src/spawn/netns-pool.c): each
 * one fresh and handed to one workload only, the pool refilled and bounded,
 * and nothing of it left behind. */

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "namespace.h"
#include "netns-pool.h"
#include "process.h"
#include "spawn.h"
#include "test-util.h"

static char *helper_argv0;
static uint64_t own[_NAMESPACE_MAX];

static void request_helper(SpawnRequest *req, char **argv, uint64_t namespaces) {
        static char *empty_env[] = { NULL };

        spawn_request_init(req);
        argv[0] = helper_argv0;
        req->argv = argv;
        req->env = empty_env;
        req->namespaces = namespaces;
}

/* In a child that joined the namespace of nsfd: is it as the kernel makes
 * a new one, with lo alone, and lo down? 0 when it is, else what differs. */
static int netns_freshness(int nsfd) {
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                char line[512];
                int n_ifaces = 0, lo = 0;
                struct ifreq ifr = {};

                if (setns(nsfd, CLONE_NEWNET) < 0)
                        _exit(10);
                /* /proc/self/net is the namespace of the reader. */
                FILE *f = fopen("/proc/self/net/dev", "re");
                if (!f)
                        _exit(11);
                for (int i = 0; fgets(line, sizeof line, f); i++) {
                        char name[64];
                        if (i < 2 || sscanf(line, " %63[^:]:", name) != 1)
                                continue;
                        n_ifaces++;
                        lo += strcmp(name, "lo") == 0;
                }
                fclose(f);
                if (n_ifaces != 1 || lo != 1)
                        _exit(1);
                int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (sock < 0)
                        _exit(12);
                strcpy(ifr.ifr_name, "lo");
                if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                        _exit(13);
                _exit(ifr.ifr_flags & IFF_UP ? 2 : 0);
        }
        int status;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int open_netns_of(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/ns/net", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static bool id_in(uint64_t id, const uint64_t *ids, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

/* No child of ours left, running or zombie: the pool keeps no process. */
static void assert_no_children(void) {
        siginfo_t si = {};
        g_assert_cmpint(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL), ==, -1);
        g_assert_cmpint(errno, ==, ECHILD);
}

static void test_fill_take(void) {
        TEST_REQUIRE_ROOT();
        uint64_t ids[NETNS_POOL_SIZE];
        int fds[NETNS_POOL_SIZE];

        netns_pool_drain();
        g_assert_cmpuint(netns_pool_count(), ==, 0);
        g_assert_cmpint(netns_pool_fill(), ==, NETNS_POOL_SIZE);
        g_assert_cmpint(netns_pool_fill(), ==, 0); /* bounded */
        g_assert_cmpuint(netns_pool_count(), ==, NETNS_POOL_SIZE);
        assert_no_children();

        for (size_t i = 0; i < NETNS_POOL_SIZE; i++) {
                struct stat st;
                g_assert_cmpint(netns_pool_take(&fds[i], &ids[i]), ==, 0);
                g_assert_cmpint(fstat(fds[i], &st), ==, 0);
                g_assert_cmpuint(st.st_ino, ==, ids[i]);
                g_assert_cmpuint(ids[i], !=, own[NAMESPACE_NET]);
                g_assert_false(id_in(ids[i], ids, i));
                g_assert_cmpint(netns_freshness(fds[i]), ==, 0);
        }
        int fd = -EBADF;
        uint64_t id = 0;
        g_assert_cmpint(netns_pool_take(&fd, &id), ==, -EAGAIN);
        g_assert_cmpint(fd, ==, -EBADF);
        for (size_t i = 0; i < NETNS_POOL_SIZE; i++)
                close(fds[i]);
}

/* Workloads get a ready namespace each, one nobody else has: the pool's
 * before the spawn, fresh, and gone from the pool, which is full again. */
static void test_spawn_from_pool(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);
        char *argv[] = { NULL, (char *) "sleep", (char *) "30", NULL };
        uint64_t namespaces = (UINT64_C(1) << NAMESPACE_PID) | (UINT64_C(1) << NAMESPACE_MOUNT) |
                              (UINT64_C(1) << NAMESPACE_NET);
        Spawned s[3] = { SPAWNED_NULL, SPAWNED_NULL, SPAWNED_NULL };

        netns_pool_drain();
        g_assert_cmpint(netns_pool_fill(), ==, NETNS_POOL_SIZE);
        for (size_t i = 0; i < G_N_ELEMENTS(s); i++) {
                uint64_t ready[NETNS_POOL_SIZE], after[NETNS_POOL_SIZE];
                size_t n_ready = netns_pool_ids(ready, NETNS_POOL_SIZE);
                SpawnRequest req;
                uint64_t id;

                g_assert_cmpuint(n_ready, ==, NETNS_POOL_SIZE);
                request_helper(&req, argv, namespaces);
                g_assert_cmpint(spawn_run(&req, &s[i], NULL), ==, 0);
                g_assert_true(id_in(s[i].namespaces[NAMESPACE_NET], ready, n_ready));
                g_assert_cmpint(namespace_id_from_proc(s[i].process.pid, NAMESPACE_NET, &id), ==, 0);
                g_assert_cmpuint(id, ==, s[i].namespaces[NAMESPACE_NET]);
                for (size_t j = 0; j < i; j++)
                        g_assert_cmpuint(id, !=, s[j].namespaces[NAMESPACE_NET]);

                /* Refilled, and never with what a workload has. */
                g_assert_cmpuint(netns_pool_ids(after, NETNS_POOL_SIZE), ==, NETNS_POOL_SIZE);
                for (size_t j = 0; j <= i; j++)
                        g_assert_false(id_in(s[j].namespaces[NAMESPACE_NET], after, NETNS_POOL_SIZE));

                int nsfd = open_netns_of(s[i].process.pid);
                g_assert_cmpint(netns_freshness(nsfd), ==, 0);
                close(nsfd);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(s); i++) {
                siginfo_t si;
                g_assert_cmpint(process_signal(&s[i].process, SIGKILL, 0), ==, 0);
                g_assert_cmpint(process_wait(&s[i].process, WEXITED, &si), ==, 0);
                spawned_done(&s[i]);
        }
}

/* In a new user namespace the network namespace must be the new user
 * namespace's: a ready one (the daemon's user namespace owns it) is not
 * used. */
static void test_user_namespace_not_pooled(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "sleep", (char *) "30", NULL };
        uint64_t ready[NETNS_POOL_SIZE], after[NETNS_POOL_SIZE];
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si;

        netns_pool_drain();
        g_assert_cmpint(netns_pool_fill(), ==, NETNS_POOL_SIZE);
        g_assert_cmpuint(netns_pool_ids(ready, NETNS_POOL_SIZE), ==, NETNS_POOL_SIZE);
        request_helper(&req, argv, (UINT64_C(1) << NAMESPACE_USER) | (UINT64_C(1) << NAMESPACE_NET));
        g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);
        g_assert_cmpuint(s.namespaces[NAMESPACE_NET], !=, 0);
        g_assert_cmpuint(s.namespaces[NAMESPACE_NET], !=, own[NAMESPACE_NET]);
        g_assert_false(id_in(s.namespaces[NAMESPACE_NET], ready, NETNS_POOL_SIZE));
        g_assert_cmpuint(netns_pool_ids(after, NETNS_POOL_SIZE), ==, NETNS_POOL_SIZE);
        g_assert_cmpmem(ready, sizeof ready, after, sizeof after);

        (void) process_signal(&s.process, SIGKILL, 0);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        spawned_done(&s);
}

/* Workloads that exit at once, with and without an init: every namespace
 * is named (the child may be gone before its pidfd is asked), the net one
 * no longer the pool's, and afterwards the pool holds its few fds and no
 * process. (An id may come back once its namespace is freed: nsfs inode
 * numbers are reused, so only live ones are compared.) */
static void test_quick_exit_no_leak(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "exit", (char *) "0", NULL };
        uint64_t ready[NETNS_POOL_SIZE];

        netns_pool_drain();
        unsigned before = test_count_open_fds();
        for (size_t i = 0; i < 40; i++) {
                uint64_t namespaces = (UINT64_C(1) << NAMESPACE_MOUNT) | (UINT64_C(1) << NAMESPACE_NET) |
                                      (UINT64_C(1) << NAMESPACE_UTS);
                SpawnRequest req;
                Spawned s = SPAWNED_NULL;
                siginfo_t si;

                if (i % 2)
                        namespaces |= UINT64_C(1) << NAMESPACE_PID;
                request_helper(&req, argv, namespaces);
                g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);
                for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                        g_assert_cmpuint(s.namespaces[t], !=, 0);
                        if (namespaces & (UINT64_C(1) << t))
                                g_assert_cmpuint(s.namespaces[t], !=, own[t]);
                        else
                                g_assert_cmpuint(s.namespaces[t], ==, own[t]);
                }
                size_t n_ready = netns_pool_ids(ready, NETNS_POOL_SIZE);
                g_assert_false(id_in(s.namespaces[NAMESPACE_NET], ready, n_ready));
                g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
                g_assert_cmpint(si.si_code, ==, CLD_EXITED);
                g_assert_cmpint(si.si_status, ==, 0);
                spawned_done(&s);
        }
        g_assert_cmpuint(netns_pool_count(), ==, NETNS_POOL_SIZE);
        g_assert_cmpuint(test_count_open_fds(), ==, before + NETNS_POOL_SIZE);
        assert_no_children();
        netns_pool_drain();
        g_assert_cmpuint(test_count_open_fds(), ==, before);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        helper_argv0 = g_strdup(test_helper_path());
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++)
                g_assert_cmpint(namespace_id_from_proc(0, t, &own[t]), ==, 0);

        g_test_add_func("/netns-pool/fill-take", test_fill_take);
        g_test_add_func("/netns-pool/spawn-from-pool", test_spawn_from_pool);
        g_test_add_func("/netns-pool/user-namespace-not-pooled", test_user_namespace_not_pooled);
        g_test_add_func("/netns-pool/quick-exit-no-leak", test_quick_exit_no_leak);
        return g_test_run();
}
