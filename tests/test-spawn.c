/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The spawn engine against the real kernel: every property of the workload
 * is observed from inside it, by tests/test-helper, through a pipe. */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cap-ng.h>

#include "missing-pidfd.h"
#include "namespace.h"
#include "process.h"
#include "seccomp-profile.h"
#include "spawn.h"
#include "spawn-validate.h"
#include "test-util.h"

typedef struct Run {
        int exit_status; /* wait status encoding */
        char *out;       /* what the workload wrote to fd 1 */
        char *err;       /* ... and to fd 2 */
        Process process;
        SpawnMethod method;
} Run;

static void run_clear(Run *r) {
        g_free(r->out);
        g_free(r->err);
        process_done(&r->process);
}

static int siginfo_to_status(const siginfo_t *si) {
        if (si->si_code == CLD_EXITED)
                return (si->si_status & 0xff) << 8;
        return si->si_status & 0x7f;
}

/* Spawn req with stdout/stderr on pipes (unless the request maps them),
 * collect the output and the workload's wait status. Returns spawn_run()'s
 * result; on success fills *run. */
static int run_request(SpawnRequest *req, Run *run, SpawnStep *ret_step) {
        int out[2], err[2];
        FdMapping maps[16];
        size_t n = 0;
        Spawned s = SPAWNED_NULL;
        siginfo_t si = {};
        bool has1 = false, has2 = false;
        int r;

        g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(err, O_CLOEXEC), ==, 0);
        for (size_t i = 0; i < req->n_fds; i++) {
                has1 = has1 || req->fds[i].target == 1;
                has2 = has2 || req->fds[i].target == 2;
                maps[n++] = req->fds[i];
        }
        if (!has1)
                maps[n++] = (FdMapping) { .target = 1, .fd = out[1] };
        if (!has2)
                maps[n++] = (FdMapping) { .target = 2, .fd = err[1] };
        const FdMapping *saved = req->fds;
        size_t saved_n = req->n_fds;
        req->fds = maps;
        req->n_fds = n;

        r = spawn_run(req, &s, ret_step);
        req->fds = saved;
        req->n_fds = saved_n;
        close(out[1]);
        close(err[1]);
        if (r < 0) {
                close(out[0]);
                close(err[0]);
                return r;
        }

        *run = (Run) { .method = s.method };
        run->out = test_read_all(out[0]);
        run->err = test_read_all(err[0]);
        close(out[0]);
        close(err[0]);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        run->exit_status = siginfo_to_status(&si);
        if (s.has_init) {
                int status;
                /* The init's report is the workload's own status. */
                g_assert_cmpint(spawn_read_exit_status(&s, &status), ==, 0);
                run->exit_status = status;
        }
        run->process = s.process;
        s.process = PROCESS_NULL;
        spawned_done(&s);
        return 0;
}

static char *helper_argv0;

static void request_helper(SpawnRequest *req, char **argv) {
        spawn_request_init(req);
        argv[0] = helper_argv0;
        req->argv = argv;
        static char *empty_env[] = { NULL };
        req->env = empty_env;
        req->uid = 0;
        req->gid = 0;
}

static void test_exit_code(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE3);
        char *argv[] = { NULL, (char *) "exit", (char *) "7", NULL };
        SpawnRequest req;
        Run run;

        request_helper(&req, argv);
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_true(WIFEXITED(run.exit_status));
        g_assert_cmpint(WEXITSTATUS(run.exit_status), ==, 7);
        /* The pidfd came from creation, with a pidfs identity. */
        g_assert_cmpint(run.method, ==, SPAWN_METHOD_CLONE3);
        g_assert_cmpint(run.process.fd, >=, 0);
        g_assert_cmpuint(run.process.id, !=, 0);
        run_clear(&run);
}

static void test_missing_binary(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { (char *) "/nonexistent/binary", NULL };
        char *env[] = { NULL };
        SpawnRequest req;
        SpawnStep step;
        Run run;
        unsigned before = test_count_open_fds();

        spawn_request_init(&req);
        req.argv = argv;
        req.env = env;
        g_assert_cmpint(run_request(&req, &run, &step), ==, -ENOENT);
        g_assert_cmpstr(spawn_step_to_string(step), ==, "exec");
        /* Not a workload that "exits 127": an error, reaped, nothing left open. */
        g_assert_cmpuint(test_count_open_fds(), ==, before);
}

static void test_validation(void) {
        char *abs_argv[] = { (char *) "/bin/true", NULL };
        char *rel_argv[] = { (char *) "true", NULL };
        char *empty_argv[] = { NULL };
        char *ok_env[] = { (char *) "A=1", NULL };
        char *noname_env[] = { (char *) "=1", NULL };
        char *noeq_env[] = { (char *) "A", NULL };
        FdMapping dup_fds[] = { { 1, 0 }, { 1, 0 } };
        FdMapping big_fd[] = { { 5000, 0 } };
        FdMapping neg_fd[] = { { -1, 0 } };
        IdMapping overlap[] = { { 0, 1000, 10 }, { 5, 2000, 10 } };
        IdMapping empty_range[] = { { 0, 1000, 0 } };
        IdMapping overflow[] = { { 0xfffffff0u, 0, 0x20 } };
        IdMapping ok_map[] = { { 0, 1000, 1 } };
        SpawnRequest r;
        const char *reason = NULL;

#define EXPECT_INVALID(setup)                                                   \
        do {                                                                    \
                spawn_request_init(&r);                                         \
                r.argv = abs_argv;                                              \
                r.env = ok_env;                                                 \
                setup;                                                          \
                reason = NULL;                                                  \
                g_assert_cmpint(spawn_request_validate(&r, &reason), ==, -EINVAL); \
                g_assert_nonnull(reason);                                       \
                g_test_message("rejected: %s", reason);                         \
        } while (0)

        spawn_request_init(&r);
        r.argv = abs_argv;
        r.env = ok_env;
        g_assert_cmpint(spawn_request_validate(&r, &reason), ==, 0);

        EXPECT_INVALID(r.argv = empty_argv);
        EXPECT_INVALID(r.argv = NULL);
        EXPECT_INVALID(r.argv = rel_argv);
        EXPECT_INVALID(r.env = noname_env);
        EXPECT_INVALID(r.env = noeq_env);
        EXPECT_INVALID((r.fds = dup_fds, r.n_fds = 2));
        EXPECT_INVALID((r.fds = big_fd, r.n_fds = 1));
        EXPECT_INVALID((r.fds = neg_fd, r.n_fds = 1));
        EXPECT_INVALID(r.cwd = "relative/dir");
        EXPECT_INVALID(r.namespaces = UINT64_C(1) << 40);
        /* Maps need a user namespace, and must be sane. */
        EXPECT_INVALID((r.uid_map = ok_map, r.n_uid_map = 1));
        EXPECT_INVALID((r.namespaces = 1 << NAMESPACE_USER, r.uid_map = overlap, r.n_uid_map = 2));
        EXPECT_INVALID((r.namespaces = 1 << NAMESPACE_USER, r.uid_map = empty_range, r.n_uid_map = 1));
        EXPECT_INVALID((r.namespaces = 1 << NAMESPACE_USER, r.gid_map = overflow, r.n_gid_map = 1));
        EXPECT_INVALID((r.namespaces = 1 << NAMESPACE_USER, r.uid = 5, r.uid_map = ok_map, r.n_uid_map = 1));
        EXPECT_INVALID(r.hostname = "box");
        EXPECT_INVALID((r.namespaces = 1 << NAMESPACE_UTS, r.hostname = ""));
        EXPECT_INVALID(r.uid = (uid_t) -1);
        EXPECT_INVALID(r.umask = 01000);
        EXPECT_INVALID(r.rlimits_set = UINT32_C(1) << RLIMIT_NLIMITS);
        EXPECT_INVALID((r.rlimits_set = 1 << RLIMIT_NOFILE, r.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 65, 64 }));
        EXPECT_INVALID((r.nice_set = true, r.nice = 20));
        EXPECT_INVALID((r.nice_set = true, r.nice = -21));
        EXPECT_INVALID((r.oom_score_adj_set = true, r.oom_score_adj = 1001));
        EXPECT_INVALID((r.oom_score_adj_set = true, r.oom_score_adj = -1001));
#undef EXPECT_INVALID

        g_assert_true(env_name_is_valid("PATH"));
        g_assert_false(env_name_is_valid(""));
        g_assert_false(env_name_is_valid("A=B"));
        g_assert_false(env_name_is_valid(NULL));
        g_assert_true(env_assignment_is_valid("A="));
        g_assert_true(env_assignment_is_valid("A=B=C"));
        g_assert_false(env_assignment_is_valid("=B"));
        g_assert_false(env_assignment_is_valid("AB"));
        g_assert_false(env_assignment_is_valid(NULL));

        g_assert_cmpint(capability_from_name("CAP_NET_ADMIN"), ==, CAP_NET_ADMIN);
        g_assert_cmpint(capability_from_name("cap_sys_admin"), ==, CAP_SYS_ADMIN);
        g_assert_cmpint(capability_from_name("Net_Raw"), ==, CAP_NET_RAW);
        g_assert_cmpint(capability_from_name("net_bind_service"), ==, CAP_NET_BIND_SERVICE);
        g_assert_cmpint(capability_from_name("CAP_MADE_UP"), ==, -EINVAL);
        g_assert_cmpint(capability_from_name("CAP_"), ==, -EINVAL);
        g_assert_cmpint(capability_from_name(""), ==, -EINVAL);
        g_assert_cmpint(capability_from_name(NULL), ==, -EINVAL);
        g_assert_cmpint(capability_from_name("cap_net_admin_and_a_name_much_longer_than_any_capability_has_xx"), ==,
                        -EINVAL);
        /* Every capability this kernel has goes back from its name. */
        for (int cap = 0; cap <= capability_last_cap(); cap++) {
                const char *name = capng_capability_to_name((unsigned) cap);
                g_autofree char *upper = name ? g_ascii_strup(name, -1) : NULL;

                if (!name) {
                        g_test_message("libcap-ng has no name for capability %d", cap);
                        continue;
                }
                g_assert_cmpint(capability_from_name(name), ==, cap);
                g_assert_cmpint(capability_from_name(upper), ==, cap);
        }
        g_assert_cmpint(namespace_from_name("network"), ==, -EINVAL);

        /* spawn_start() refuses what validate refuses, before any clone. */
        spawn_request_init(&r);
        r.argv = rel_argv;
        r.env = ok_env;
        Spawned s = SPAWNED_NULL;
        g_assert_cmpint(spawn_start(&r, &s), ==, -EINVAL);
}

/* Each namespace type on its own: the workload's /proc/self/ns inodes differ
 * from ours for exactly the requested type. */
static void test_namespaces(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_CLONE3);

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                char *argv[] = { NULL, (char *) "ns", NULL };
                SpawnRequest req;
                Run run;

                request_helper(&req, argv);
                req.namespaces = UINT64_C(1) << t;
                g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
                g_assert_cmpint(run.exit_status, ==, 0);

                g_auto(GStrv) lines = g_strsplit(run.out, "\n", -1);
                unsigned seen = 0;
                for (char **l = lines; *l && **l; l++) {
                        char name[32];
                        unsigned long long ino;
                        uint64_t ours;
                        g_assert_cmpint(sscanf(*l, "%31s %llu", name, &ino), ==, 2);
                        int u = -1;
                        for (NamespaceType k = 0; k < _NAMESPACE_MAX; k++)
                                if (strcmp(namespace_proc_name(k), name) == 0)
                                        u = (int) k;
                        g_assert_cmpint(u, >=, 0);
                        g_assert_cmpint(namespace_id_from_proc(0, (NamespaceType) u, &ours), ==, 0);
                        if ((NamespaceType) u == t)
                                g_assert_cmpuint(ino, !=, ours);
                        else
                                g_assert_cmpuint(ino, ==, ours);
                        seen++;
                }
                g_assert_cmpuint(seen, ==, _NAMESPACE_MAX);
                g_test_message("namespace %s: separate", namespace_name(t));
                run_clear(&run);
        }
}

static unsigned long long status_field(const char *status, const char *key) {
        const char *p = strstr(status, key);
        g_assert_nonnull(p);
        p += strlen(key);
        return strtoull(p, NULL, 16);
}

static unsigned long long status_dec(const char *status, const char *key) {
        const char *p = strstr(status, key);
        g_assert_nonnull(p);
        return strtoull(p + strlen(key), NULL, 10);
}

/* Kept capabilities, no_new_privs and seccomp, read from inside. */
static void test_credentials(void) {
        TEST_REQUIRE_ROOT();
        TEST_SKIP_UNDER_VALGRIND("answers seccomp(2) with ENOSYS: the child cannot load the profile");
        char *argv[] = { NULL, (char *) "status", NULL };
        gid_t groups[] = { 100, 65534 };
        SpawnRequest req;
        Run run;
        _cleanup_seccomp_profile_ SeccompProfile *profile = NULL;

        g_assert_cmpint(seccomp_profile_load(seccomp_profile_dir(), "default", &profile, NULL), ==, 0);

        request_helper(&req, argv);
        req.uid = 65534;
        req.gid = 65534;
        req.groups = groups;
        req.n_groups = 2;
        req.capabilities = UINT64_C(1) << CAP_NET_BIND_SERVICE;
        req.seccomp = profile;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpint(run.exit_status, ==, 0);
        g_test_message("%s", run.out);
        g_assert_nonnull(strstr(run.out, "Uid:\t65534\t65534\t65534\t65534"));
        g_assert_nonnull(strstr(run.out, "Gid:\t65534\t65534\t65534\t65534"));
        g_assert_nonnull(strstr(run.out, "Groups:\t100 65534"));
        unsigned long long want = 1ULL << CAP_NET_BIND_SERVICE;
        g_assert_cmphex(status_field(run.out, "CapEff:\t"), ==, want);
        g_assert_cmphex(status_field(run.out, "CapPrm:\t"), ==, want);
        g_assert_cmphex(status_field(run.out, "CapAmb:\t"), ==, want);
        g_assert_cmphex(status_field(run.out, "CapBnd:\t"), ==, want);
        g_assert_cmpuint(status_dec(run.out, "NoNewPrivs:\t"), ==, 1);
        g_assert_cmpuint(status_dec(run.out, "Seccomp:\t"), ==, 2);
        run_clear(&run);

        /* Root with no capabilities kept is root without power, for good:
         * the bounding set is empty, so exec cannot bring them back. */
        request_helper(&req, argv);
        req.no_new_privileges = false;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmphex(status_field(run.out, "CapEff:\t"), ==, 0);
        g_assert_cmphex(status_field(run.out, "CapPrm:\t"), ==, 0);
        g_assert_cmphex(status_field(run.out, "CapBnd:\t"), ==, 0);
        g_assert_cmpuint(status_dec(run.out, "NoNewPrivs:\t"), ==, 0);
        g_assert_cmpuint(status_dec(run.out, "Seccomp:\t"), ==, 0);
        run_clear(&run);
}

/* A kept capability must be in the bounding set the workload gets: one the
 * daemon lacks, or dropped after the engine first read the set, fails the
 * spawn at the bounding-set step instead of being silently left out. */
static int spawn_without_cap(void *userdata) {
        int cap = GPOINTER_TO_INT(userdata);
        char *argv[] = { NULL, (char *) "status", NULL };
        SpawnRequest req;
        SpawnStep step;
        Run run;

        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                return 10;
        request_helper(&req, argv);
        req.capabilities = UINT64_C(1) << cap;
        if (run_request(&req, &run, &step) != -EPERM || step != SPAWN_STEP_BOUNDING_SET)
                return 11;
        /* Nothing kept: every other capability is dropped all the same. */
        request_helper(&req, argv);
        if (run_request(&req, &run, NULL) < 0)
                return 12;
        bool empty = status_field(run.out, "CapBnd:\t") == 0;
        run_clear(&run);
        return empty ? 0 : 13;
}

static void test_bounding_set(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "status", NULL };
        SpawnRequest req;
        Run run;

        /* The engine reads the set now, with CAP_SYS_NICE still in it. */
        request_helper(&req, argv);
        req.capabilities = UINT64_C(1) << CAP_SYS_NICE;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmphex(status_field(run.out, "CapBnd:\t"), ==, UINT64_C(1) << CAP_SYS_NICE);
        run_clear(&run);

        int status = test_run_in_child(spawn_without_cap, GINT_TO_POINTER(CAP_SYS_NICE));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void on_sigusr2(int sig) {
}

/* Ignored signals stay ignored across exec: the workload must not inherit
 * the daemon's. Caught ones are reset by exec itself, and before it in the
 * child (checked by the absence of any in SigCgt at the exec'd helper). */
static void test_signal_dispositions(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "status", NULL };
        struct sigaction ign = { .sa_handler = SIG_IGN }, handler = { .sa_handler = on_sigusr2 };
        struct sigaction old_usr1, old_usr2, old_rtmax;
        SpawnRequest req;
        Run run;

        g_assert_cmpint(sigaction(SIGUSR1, &ign, &old_usr1), ==, 0);
        g_assert_cmpint(sigaction(SIGRTMAX, &ign, &old_rtmax), ==, 0);
        g_assert_cmpint(sigaction(SIGUSR2, &handler, &old_usr2), ==, 0);
        request_helper(&req, argv);
        int r = run_request(&req, &run, NULL);
        g_assert_cmpint(sigaction(SIGUSR1, &old_usr1, NULL), ==, 0);
        g_assert_cmpint(sigaction(SIGRTMAX, &old_rtmax, NULL), ==, 0);
        g_assert_cmpint(sigaction(SIGUSR2, &old_usr2, NULL), ==, 0);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmphex(status_field(run.out, "SigIgn:\t"), ==, 0);
        g_assert_cmphex(status_field(run.out, "SigCgt:\t"), ==, 0);
        g_assert_cmphex(status_field(run.out, "SigBlk:\t"), ==, 0);
        run_clear(&run);
}

static void test_seccomp_denies(void) {
        TEST_REQUIRE_ROOT();
        TEST_SKIP_UNDER_VALGRIND("answers seccomp(2) with ENOSYS: the child cannot load the profile");
        _cleanup_seccomp_profile_ SeccompProfile *profile = NULL;
        char nr_bpf[16], nr_keyctl[16], nr_getfd[16], nr_getpid[16];
        char *argv[] = { NULL, (char *) "syscall", NULL, NULL };
        /* Zero arguments: pidfd_getfd, left to debuggers, reaches the
         * kernel, which refuses fd 0 as a pidfd. */
        const struct {
                char *nr;
                const char *expect;
        } cases[] = { { nr_bpf, "ENOSYS" }, { nr_keyctl, "ENOSYS" }, { nr_getfd, "EBADF" }, { nr_getpid, "ok" } };

        snprintf(nr_bpf, sizeof nr_bpf, "%d", SYS_bpf);
        snprintf(nr_keyctl, sizeof nr_keyctl, "%d", SYS_keyctl);
        snprintf(nr_getfd, sizeof nr_getfd, "%d", __NR_pidfd_getfd);
        snprintf(nr_getpid, sizeof nr_getpid, "%d", SYS_getpid);
        g_assert_cmpint(seccomp_profile_load(seccomp_profile_dir(), "default", &profile, NULL), ==, 0);

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                SpawnRequest req;
                Run run;
                request_helper(&req, argv);
                argv[2] = cases[i].nr;
                req.uid = 65534;
                req.gid = 65534;
                req.seccomp = profile;
                g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
                g_assert_cmpstr(g_strstrip(run.out), ==, cases[i].expect);
                run_clear(&run);
        }
}

/* A thread that took a profile's filter (the daemon's spawn threads): its
 * children are born under it, load no second copy, and still get every
 * set-up step done under it: identity, no_new_privs, an init. */
static void *seccomp_inherited_thread(void *p) {
        const SeccompProfile *profile = p;
        char nr_keyctl[16];
        char *status_argv[] = { NULL, (char *) "status", NULL };
        char *syscall_argv[] = { NULL, (char *) "syscall", nr_keyctl, NULL };
        SpawnRequest req;
        Run run;

        g_assert_cmpint(spawn_thread_take_filter(profile), ==, 0);
        g_assert_cmpint(spawn_thread_take_filter(profile), ==, 0);
        g_autofree char *self = NULL;
        g_assert_true(g_file_get_contents("/proc/thread-self/status", &self, NULL, NULL));
        g_assert_cmpuint(status_dec(self, "Seccomp_filters:\t"), ==, 1);

        request_helper(&req, status_argv);
        req.uid = 65534;
        req.gid = 65534;
        req.seccomp = profile;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpint(run.exit_status, ==, 0);
        g_assert_nonnull(strstr(run.out, "Uid:\t65534\t65534\t65534\t65534"));
        g_assert_cmpuint(status_dec(run.out, "NoNewPrivs:\t"), ==, 1);
        g_assert_cmpuint(status_dec(run.out, "Seccomp:\t"), ==, 2);
        g_assert_cmpuint(status_dec(run.out, "Seccomp_filters:\t"), ==, 1);
        run_clear(&run);

        snprintf(nr_keyctl, sizeof nr_keyctl, "%d", SYS_keyctl);
        request_helper(&req, syscall_argv);
        req.uid = 65534;
        req.gid = 65534;
        req.seccomp = profile;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpstr(g_strstrip(run.out), ==, "ENOSYS");
        run_clear(&run);

        /* A copy with an init in new namespaces: born under it too. */
        request_helper(&req, status_argv);
        req.uid = 65534;
        req.gid = 65534;
        req.seccomp = profile;
        req.namespaces = (UINT64_C(1) << NAMESPACE_PID) | (UINT64_C(1) << NAMESPACE_MOUNT);
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpint(run.exit_status, ==, 0);
        g_assert_cmpuint(status_dec(run.out, "Seccomp_filters:\t"), ==, 1);
        run_clear(&run);

        /* Anything else would be born under a filter it did not ask for. */
        Spawned s = SPAWNED_NULL;
        request_helper(&req, status_argv);
        req.seccomp = NULL;
        g_assert_cmpint(spawn_start(&req, &s), ==, -EXDEV);
        return NULL;
}

static void test_seccomp_inherited(void) {
        TEST_REQUIRE_ROOT();
        TEST_SKIP_UNDER_VALGRIND("answers seccomp(2) with ENOSYS: the thread cannot load the profile");
        _cleanup_seccomp_profile_ SeccompProfile *profile = NULL, *strict = NULL;
        pthread_t t;

        g_assert_cmpint(seccomp_profile_load(seccomp_profile_dir(), "default", &profile, NULL), ==, 0);
        g_assert_cmpint(seccomp_profile_load(seccomp_profile_dir(), "strict", &strict, NULL), ==, 0);
        g_assert_true(profile->inheritable);
        /* An allowlist refuses what the set-up needs: loaded by the child. */
        g_assert_false(strict->inheritable);
        g_assert_cmpint(spawn_thread_take_filter(strict), ==, -EOPNOTSUPP);

        g_assert_cmpint(pthread_create(&t, NULL, seccomp_inherited_thread, profile), ==, 0);
        g_assert_cmpint(pthread_join(t, NULL), ==, 0);

        /* This thread took nothing: its children load the filter. */
        g_autofree char *self = NULL;
        g_assert_true(g_file_get_contents("/proc/thread-self/status", &self, NULL, NULL));
        g_assert_cmpuint(status_dec(self, "Seccomp_filters:\t"), ==, 0);
}

static void test_fd_map(void) {
        TEST_REQUIRE_ROOT();
        char *sh[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo to-stdout; echo to-stderr >&2", NULL };
        char *fds_argv[] = { NULL, (char *) "fds", NULL };
        int a[2], b[2];
        SpawnRequest req;
        Run run;

        /* Swap: the workload's stdout is our pipe b, its stderr pipe a. */
        g_assert_cmpint(pipe2(a, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(b, O_CLOEXEC), ==, 0);
        FdMapping swap[] = { { 1, b[1] }, { 2, a[1] } };
        request_helper(&req, sh);
        sh[0] = (char *) "/bin/sh";
        req.fds = swap;
        req.n_fds = 2;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        close(a[1]);
        close(b[1]);
        g_autofree char *on_a = test_read_all(a[0]);
        g_autofree char *on_b = test_read_all(b[0]);
        g_assert_cmpstr(on_b, ==, "to-stdout\n");
        g_assert_cmpstr(on_a, ==, "to-stderr\n");
        close(a[0]);
        close(b[0]);
        run_clear(&run);

        /* An fd open in the parent without CLOEXEC does not reach the child;
         * a mapped one arrives at its number, high targets included. */
        int leak = open("/dev/null", O_RDONLY);
        g_assert_cmpint(leak, >=, 0);
        int extra = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        FdMapping high[] = { { 9, extra } };
        request_helper(&req, fds_argv);
        req.fds = high;
        req.n_fds = 1;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpstr(run.out, ==, "0\n1\n2\n9\n");
        run_clear(&run);
        close(leak);
        close(extra);
}

static void test_environment_and_setup(void) {
        TEST_REQUIRE_ROOT();
        char *env[] = { (char *) "ONLY=this", (char *) "EMPTY=", NULL };
        char *argv[] = { NULL, NULL, NULL };
        SpawnRequest req;
        Run run;

        request_helper(&req, argv);
        argv[1] = (char *) "env";
        req.env = env;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpstr(run.out, ==, "ONLY=this\nEMPTY=\n");
        run_clear(&run);

        request_helper(&req, argv);
        argv[1] = (char *) "cwd";
        req.cwd = "/tmp";
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpstr(run.out, ==, "/tmp\n");
        run_clear(&run);

        request_helper(&req, argv);
        argv[1] = (char *) "umask";
        req.umask = 0077;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpstr(run.out, ==, "0077\n");
        run_clear(&run);

        /* setsid (the default): session id == pid. */
        request_helper(&req, argv);
        argv[1] = (char *) "sid";
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        int sid, pid, pgid;
        g_assert_cmpint(sscanf(run.out, "%d %d %d", &sid, &pid, &pgid), ==, 3);
        g_assert_cmpint(sid, ==, pid);
        g_assert_cmpint(pgid, ==, pid);
        run_clear(&run);

        request_helper(&req, argv);
        argv[1] = (char *) "hostname";
        req.namespaces = 1 << NAMESPACE_UTS;
        req.hostname = "pidbroker-test";
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpstr(run.out, ==, "pidbroker-test\n");
        run_clear(&run);
}

static void test_cwd_failure(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "cwd", NULL };
        SpawnRequest req;
        SpawnStep step;
        Run run;

        request_helper(&req, argv);
        req.cwd = "/nonexistent-directory";
        g_assert_cmpint(run_request(&req, &run, &step), ==, -ENOENT);
        g_assert_cmpint(step, ==, SPAWN_STEP_CWD);

        /* The workload's user must be able to enter it. */
        g_autofree char *dir = g_dir_make_tmp("pidbroker-cwd-XXXXXX", NULL);
        g_assert_cmpint(chmod(dir, 0700), ==, 0);
        request_helper(&req, argv);
        req.uid = req.gid = 65534;
        req.cwd = dir;
        g_assert_cmpint(run_request(&req, &run, &step), ==, -EACCES);
        g_assert_cmpint(step, ==, SPAWN_STEP_CWD);
        rmdir(dir);
}

/* Until exec the child still holds whatever the daemon had open; a
 * "/proc/self/fd/N" cwd or argv[0] must not reach any of it (runc's
 * CVE-2024-21626 class): a directory the workload's user cannot reach by
 * path, and an executable, both open in the "daemon" (this process). */
static void test_daemon_fds_unreachable(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "cwd", NULL };
        char path[64];
        SpawnRequest req;
        SpawnStep step;
        Run run;

        g_autofree char *outer = g_dir_make_tmp("pidbroker-fdleak-XXXXXX", NULL);
        g_autofree char *inner = g_build_filename(outer, "inner", NULL);
        g_assert_cmpint(chmod(outer, 0700), ==, 0);
        g_assert_cmpint(mkdir(inner, 0755), ==, 0);
        int dir_fd = open(inner, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(dir_fd, >=, 0);

        request_helper(&req, argv);
        req.uid = req.gid = 65534;
        snprintf(path, sizeof path, "/proc/self/fd/%d", dir_fd);
        req.cwd = path;
        g_assert_cmpint(run_request(&req, &run, &step), ==, -ENOENT);
        g_assert_cmpint(step, ==, SPAWN_STEP_CWD);

        int exe = open(helper_argv0, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(exe, >=, 0);
        char *exe_argv[] = { path, (char *) "exit", (char *) "0", NULL };
        request_helper(&req, exe_argv);
        exe_argv[0] = path; /* request_helper() set it to the helper's path */
        snprintf(path, sizeof path, "/proc/self/fd/%d", exe);
        g_assert_cmpint(run_request(&req, &run, &step), ==, -ENOENT);
        g_assert_cmpint(step, ==, SPAWN_STEP_EXEC);

        close(exe);
        close(dir_fd);
        rmdir(inner);
        rmdir(outer);
}

static void test_user_namespace(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "status", NULL };
        IdMapping uids[] = { { 0, 100000, 65536 } };
        IdMapping gids[] = { { 0, 100000, 65536 } };
        SpawnRequest req;
        Run run;

        /* Default map: the workload's ids onto themselves. */
        request_helper(&req, argv);
        req.namespaces = 1 << NAMESPACE_USER;
        req.uid = req.gid = 1000;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_nonnull(strstr(run.out, "Uid:\t1000\t1000\t1000\t1000"));
        run_clear(&run);

        /* A range map: root inside is 100000 outside. */
        request_helper(&req, argv);
        req.namespaces = (1 << NAMESPACE_USER) | (1 << NAMESPACE_PID) | (1 << NAMESPACE_MOUNT);
        req.uid_map = uids;
        req.n_uid_map = 1;
        req.gid_map = gids;
        req.n_gid_map = 1;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_nonnull(strstr(run.out, "Uid:\t0\t0\t0\t0"));
        ProcessInfo info;
        /* The init is reaped by now; its identity stayed the outside uid. */
        g_assert_cmpint(process_get_info(&run.process, &info), ==, -ESRCH);
        run_clear(&run);
}

static void test_pid_namespace_init(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);
        char *argv[] = { NULL, NULL, NULL, NULL };
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si;
        int status;
        int out[2];

        /* Exit codes pass through the init. */
        Run run;
        request_helper(&req, argv);
        argv[1] = (char *) "exit";
        argv[2] = (char *) "9";
        req.namespaces = (1 << NAMESPACE_PID) | (1 << NAMESPACE_MOUNT);
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_true(WIFEXITED(run.exit_status));
        g_assert_cmpint(WEXITSTATUS(run.exit_status), ==, 9);
        run_clear(&run);

        /* As pid 1 the workload would ignore SIGTERM; behind our init it
         * dies of it, and the init reaps the orphans it leaves. */
        g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
        FdMapping fds[] = { { 1, out[1] } };
        request_helper(&req, argv);
        argv[1] = (char *) "fork-orphans";
        argv[2] = (char *) "5";
        req.namespaces = (1 << NAMESPACE_PID) | (1 << NAMESPACE_MOUNT);
        req.fds = fds;
        req.n_fds = 1;
        g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);
        close(out[1]);
        g_assert_true(s.has_init);
        char buf[16] = {};
        g_assert_cmpint(read(out[0], buf, sizeof buf - 1), >, 0);
        g_assert_cmpstr(buf, ==, "forked\n");

        /* The orphans exit after 100 ms; then the init has one child left. */
        g_autofree char *children_path = g_strdup_printf("/proc/%d/task/%d/children", s.process.pid, s.process.pid);
        g_autofree char *children = NULL;
        for (int i = 0; i < 100; i++) {
                g_free(children);
                g_assert_true(g_file_get_contents(children_path, &children, NULL, NULL));
                if (strchr(g_strstrip(children), ' ') == NULL && children[0] != '\0')
                        break;
                g_usleep(20 * 1000);
        }
        g_assert_null(strchr(children, ' '));
        g_autofree char *stat_path = g_strdup_printf("/proc/%s/stat", children);
        g_autofree char *stat = NULL;
        g_assert_true(g_file_get_contents(stat_path, &stat, NULL, NULL));
        g_assert_null(strstr(stat, ") Z "));

        g_assert_cmpint(process_signal(&s.process, SIGTERM, 0), ==, 0);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(spawn_read_exit_status(&s, &status), ==, 0);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGTERM);
        /* The workload's pid is gone with the namespace. */
        g_assert_cmpint(kill(atoi(children), 0), ==, -1);
        close(out[0]);
        spawned_done(&s);
}

/* The init leads the session and process group the workload shares, so
 * the process-group scope on its pidfd reaches the workload; in ps it is
 * named as the init, not as the daemon it was cloned from. */
static void test_pid_namespace_group(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SIGNAL_SCOPE);
        char *argv[] = { NULL, (char *) "sleep", (char *) "30", NULL };
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si;
        int status;

        request_helper(&req, argv);
        req.uid = 65534;
        req.gid = 65534;
        req.namespaces = (1 << NAMESPACE_PID) | (1 << NAMESPACE_MOUNT);
        g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);
        g_assert_true(s.has_init);
        pid_t init = s.process.pid;

        char comm[PROCESS_COMM_MAX];
        g_assert_cmpint(process_get_comm(&s.process, comm), ==, 0);
        g_assert_cmpstr(comm, ==, "pidbroker-init");
        g_autofree char *cmdline_path = g_strdup_printf("/proc/%d/cmdline", init);
        g_autofree char *cmdline = NULL;
        gsize len;
        g_assert_true(g_file_get_contents(cmdline_path, &cmdline, &len, NULL));
        g_assert_cmpstr(cmdline, ==, "pidbroker-init");

        g_autofree char *children_path = g_strdup_printf("/proc/%d/task/%d/children", init, init);
        g_autofree char *children = NULL;
        g_assert_true(g_file_get_contents(children_path, &children, NULL, NULL));
        pid_t workload = atoi(children);
        g_assert_cmpint(workload, >, 0);
        g_assert_cmpint(getsid(init), ==, init);
        g_assert_cmpint(getpgid(init), ==, init);
        g_assert_cmpint(getsid(workload), ==, init);
        g_assert_cmpint(getpgid(workload), ==, init);

        g_assert_cmpint(process_signal(&s.process, SIGTERM, PIDFD_SIGNAL_PROCESS_GROUP), ==, 0);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(spawn_read_exit_status(&s, &status), ==, 0);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGTERM);
        spawned_done(&s);
}

/* Spawned.namespaces names the child's namespaces even when it exits at
 * once: the new ones from its pidfd or its own report, the rest our own. */
static void test_namespace_ids(void) {
        TEST_REQUIRE_ROOT();
        char *quick[] = { NULL, (char *) "exit", (char *) "0", NULL };
        char *slow[] = { NULL, (char *) "sleep", (char *) "30", NULL };
        uint64_t requested = (1 << NAMESPACE_PID) | (1 << NAMESPACE_MOUNT) | (1 << NAMESPACE_NET) |
                             (1 << NAMESPACE_UTS);
        uint64_t own[_NAMESPACE_MAX];

        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++)
                g_assert_cmpint(namespace_id_from_proc(0, t, &own[t]), ==, 0);

        for (int round = 0; round < 3; round++) {
                SpawnRequest req;
                Spawned s = SPAWNED_NULL;
                siginfo_t si;

                request_helper(&req, round == 2 ? slow : quick);
                req.namespaces = round == 0 ? 0 : requested;
                g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);
                for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                        g_assert_cmpuint(s.namespaces[t], !=, 0);
                        if (req.namespaces & (UINT64_C(1) << t))
                                g_assert_cmpuint(s.namespaces[t], !=, own[t]);
                        else
                                g_assert_cmpuint(s.namespaces[t], ==, own[t]);
                }
                /* While it runs, they are what /proc says. */
                if (round == 2)
                        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++) {
                                uint64_t id;
                                g_assert_cmpint(namespace_id_from_proc(s.process.pid, t, &id), ==, 0);
                                g_assert_cmpuint(s.namespaces[t], ==, id);
                        }
                (void) process_signal(&s.process, SIGKILL, 0);
                g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
                spawned_done(&s);
        }
}

static void test_into_cgroup(void) {
        TEST_REQUIRE_ROOT();
        TEST_REQUIRE_FEATURE(FEATURE_PIDFD_SEND_SIGNAL);
        TEST_REQUIRE_FEATURE(FEATURE_CLONE_INTO_CGROUP);
        const char *roots[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
        const char *root = NULL;
        char *argv[] = { NULL, (char *) "sleep", (char *) "5", NULL };
        struct statfs sfs;

        for (size_t i = 0; i < G_N_ELEMENTS(roots) && !root; i++)
                if (statfs(roots[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
                        root = roots[i];
        g_assert_nonnull(root);

        g_autofree char *name = g_strdup_printf("pidbroker-test-%d", getpid());
        g_autofree char *dir = g_build_filename(root, name, NULL);
        g_assert_cmpint(mkdir(dir, 0755), ==, 0);
        int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(cgfd, >=, 0);

        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si;
        request_helper(&req, argv);
        req.cgroup_fd = cgfd;
        g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);
        g_autofree char *procs_path = g_build_filename(dir, "cgroup.procs", NULL);
        g_autofree char *procs = NULL;
        g_assert_true(g_file_get_contents(procs_path, &procs, NULL, NULL));
        g_assert_cmpint(atoi(procs), ==, s.process.pid);
        ProcessInfo info;
        struct stat st;
        g_assert_cmpint(fstat(cgfd, &st), ==, 0);
        if (feature_available(FEATURE_PIDFD_GET_INFO)) {
                g_assert_cmpint(process_get_info(&s.process, &info), ==, 0);
                g_assert_cmpuint(info.cgroup_id, ==, st.st_ino);
        }
        g_assert_cmpint(process_signal(&s.process, SIGKILL, 0), ==, 0);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        spawned_done(&s);
        close(cgfd);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

#define TEST_SPAWN_LONELY_UID 48879

/* A workload gets exactly the requested rlimits, nice and oom_score_adj,
 * as an unprivileged user, in and outside a pid namespace. */
static void test_resources(void) {
        TEST_REQUIRE_ROOT();
        /* The child sets RLIMIT_NOFILE before exec, still under valgrind. */
        TEST_SKIP_UNDER_VALGRIND("keeps fds of its own above RLIMIT_NOFILE and refuses to lower it below them");
        char *argv[] = { NULL, (char *) "sleep", (char *) "30", NULL };
        char soft[32], hard[32];
        uint64_t ns_sets[] = { 0, (1 << NAMESPACE_PID) | (1 << NAMESPACE_MOUNT) };

        for (size_t i = 0; i < G_N_ELEMENTS(ns_sets); i++) {
                SpawnRequest req;
                Spawned s = SPAWNED_NULL;
                siginfo_t si;

                request_helper(&req, argv);
                /* nproc counts every process of the uid: one that nothing
                 * else on the machine runs as (nobody may have thousands). */
                req.uid = TEST_SPAWN_LONELY_UID;
                req.gid = TEST_SPAWN_LONELY_UID;
                req.namespaces = ns_sets[i];
                req.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 64, 64 };
                req.rlimits[RLIMIT_NPROC] = (struct rlimit) { 200, 300 };
                req.rlimits[RLIMIT_CORE] = (struct rlimit) { 0, RLIM_INFINITY };
                req.rlimits_set = (1 << RLIMIT_NOFILE) | (1 << RLIMIT_NPROC) | (1 << RLIMIT_CORE);
                req.nice_set = true;
                req.nice = 5;
                req.oom_score_adj_set = true;
                req.oom_score_adj = 300;
                g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);

                /* The workload itself: the init's child in a pid namespace. */
                pid_t pid = s.process.pid;
                if (s.has_init) {
                        g_autofree char *children = NULL;
                        g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/children", pid, pid);
                        g_assert_true(g_file_get_contents(path, &children, NULL, NULL));
                        pid = atoi(children);
                        g_assert_cmpint(pid, >, 0);
                }
                test_proc_limit(pid, "Max open files", soft, hard);
                g_assert_cmpstr(soft, ==, "64");
                g_assert_cmpstr(hard, ==, "64");
                test_proc_limit(pid, "Max processes", soft, hard);
                g_assert_cmpstr(soft, ==, "200");
                g_assert_cmpstr(hard, ==, "300");
                test_proc_limit(pid, "Max core file size", soft, hard);
                g_assert_cmpstr(soft, ==, "0");
                g_assert_cmpstr(hard, ==, "unlimited");
                g_assert_cmpint(test_proc_nice(pid), ==, 5);
                g_assert_cmpint(test_proc_int(pid, "oom_score_adj"), ==, 300);

                g_assert_cmpint(process_signal(&s.process, SIGKILL, 0), ==, 0);
                g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
                spawned_done(&s);
        }
}

/* No process may raise RLIMIT_NOFILE's hard limit above fs.nr_open, root
 * with CAP_SYS_RESOURCE included: the step fails and says which. */
static void test_resources_refused(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "exit", (char *) "0", NULL };
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        SpawnStep step = SPAWN_STEP_NONE;

        request_helper(&req, argv);
        req.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 64, RLIM_INFINITY };
        req.rlimits_set = 1 << RLIMIT_NOFILE;
        g_assert_cmpint(spawn_run(&req, &s, &step), ==, -EPERM);
        g_assert_cmpint(step, ==, SPAWN_STEP_RLIMITS);
        g_assert_cmpstr(spawn_step_to_string(step), ==, "rlimits");
        spawned_done(&s);
}

/* A uid with more processes than the workload's RLIMIT_NPROC: the kernel
 * refuses the execve (EAGAIN, as set*uid() only marks the excess), and
 * that is a failed spawn at step exec, never a workload that exits 127. */
static void test_nproc_exceeded(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { NULL, (char *) "exit", (char *) "0", NULL };
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        SpawnStep step = SPAWN_STEP_NONE;

        /* One process of the uid already: the limit 0 is exceeded. */
        int ready[2];
        g_assert_no_errno(pipe2(ready, O_CLOEXEC));
        pid_t other = fork();
        g_assert_cmpint(other, >=, 0);
        if (other == 0) {
                if (setresgid(TEST_SPAWN_LONELY_UID, TEST_SPAWN_LONELY_UID, TEST_SPAWN_LONELY_UID) < 0 ||
                    setresuid(TEST_SPAWN_LONELY_UID, TEST_SPAWN_LONELY_UID, TEST_SPAWN_LONELY_UID) < 0)
                        _exit(1);
                close(ready[1]);
                pause();
                _exit(0);
        }
        close(ready[1]);
        char b;
        g_assert_cmpint(read(ready[0], &b, 1), ==, 0);
        close(ready[0]);

        request_helper(&req, argv);
        req.uid = TEST_SPAWN_LONELY_UID;
        req.gid = TEST_SPAWN_LONELY_UID;
        req.rlimits[RLIMIT_NPROC] = (struct rlimit) { 0, 0 };
        req.rlimits_set = 1 << RLIMIT_NPROC;
        int r = spawn_run(&req, &s, &step);
        kill(other, SIGKILL);
        g_assert_cmpint(waitpid(other, NULL, 0), ==, other);
        g_test_message("spawn_run: %d step %s", r, spawn_step_to_string(step));
        g_assert_cmpint(r, ==, -EAGAIN);
        g_assert_cmpint(step, ==, SPAWN_STEP_EXEC);
        spawned_done(&s);
}

static void test_rlimit_names(void) {
        g_assert_cmpint(spawn_rlimit_from_name("NOFILE"), ==, RLIMIT_NOFILE);
        g_assert_cmpint(spawn_rlimit_from_name("nofile"), ==, RLIMIT_NOFILE);
        g_assert_cmpint(spawn_rlimit_from_name("RLIMIT_NOFILE"), ==, RLIMIT_NOFILE);
        g_assert_cmpint(spawn_rlimit_from_name("rlimit_rttime"), ==, RLIMIT_RTTIME);
        g_assert_cmpint(spawn_rlimit_from_name("FILES"), ==, -EINVAL);
        g_assert_cmpint(spawn_rlimit_from_name("RLIMIT_"), ==, -EINVAL);
        g_assert_cmpint(spawn_rlimit_from_name(""), ==, -EINVAL);
        g_assert_cmpint(spawn_rlimit_from_name(NULL), ==, -EINVAL);
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                g_assert_cmpint(spawn_rlimit_from_name(spawn_rlimit_to_name(i)), ==, i);
        g_assert_null(spawn_rlimit_to_name(RLIMIT_NLIMITS));
        g_assert_null(spawn_rlimit_to_name(-1));
}

static void own_rlimits(struct rlimit l[RLIMIT_NLIMITS]) {
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                g_assert_no_errno(getrlimit((__rlimit_resource_t) i, &l[i]));
}

static void test_inherit_resources(void) {
        bool privileged = test_have_capability(CAP_SYS_RESOURCE);
        struct rlimit caller[RLIMIT_NLIMITS];
        SpawnRequest req;
        int own_adj = test_proc_int(getpid(), "oom_score_adj");

        g_test_message("CAP_SYS_RESOURCE %s, oom_score_adj %d", privileged ? "held" : "missing", own_adj);
        own_rlimits(caller);
        caller[RLIMIT_NOFILE] = (struct rlimit) { 64, 64 };
        spawn_request_init(&req);
        g_assert_cmpint(spawn_request_inherit_resources(&req, caller, 5, 300 > own_adj ? 300 : own_adj), ==, 0);
        g_assert_cmpuint(req.rlimits_set, ==, (1U << RLIMIT_NLIMITS) - 1);
        g_assert_cmpmem(req.rlimits, sizeof req.rlimits, caller, sizeof caller);
        g_assert_true(req.nice_set && req.nice == 5);
        g_assert_true(req.oom_score_adj_set);

        /* More than this process may give. */
        own_rlimits(caller);
        if (caller[RLIMIT_NOFILE].rlim_max != RLIM_INFINITY) {
                rlim_t own_hard = caller[RLIMIT_NOFILE].rlim_max;
                caller[RLIMIT_NOFILE] = (struct rlimit) { own_hard + 1, own_hard + 1 };
                spawn_request_init(&req);
                int clamped = spawn_request_inherit_resources(&req, caller, 0, own_adj);
                if (privileged) {
                        g_assert_cmpint(clamped, ==, 0);
                        g_assert_cmpuint(req.rlimits[RLIMIT_NOFILE].rlim_max, ==, own_hard + 1);
                } else {
                        g_assert_cmpint(clamped, ==, 1 << RLIMIT_NOFILE);
                        g_assert_cmpuint(req.rlimits[RLIMIT_NOFILE].rlim_cur, ==, own_hard);
                        g_assert_cmpuint(req.rlimits[RLIMIT_NOFILE].rlim_max, ==, own_hard);
                }
        }
        own_rlimits(caller);
        if (own_adj > -1000) {
                spawn_request_init(&req);
                int clamped = spawn_request_inherit_resources(&req, caller, 0, own_adj - 1);
                g_assert_cmpint(clamped, ==, privileged ? 0 : SPAWN_CLAMPED_OOM_SCORE_ADJ);
                g_assert_cmpint(req.oom_score_adj, ==, privileged ? own_adj - 1 : own_adj);
        }

        /* What the request sets stays as asked; only the rest is the caller's. */
        own_rlimits(caller);
        spawn_request_init(&req);
        req.rlimits[RLIMIT_NPROC] = (struct rlimit) { 7, 9 };
        req.rlimits_set = 1 << RLIMIT_NPROC;
        req.nice_set = true;
        req.nice = 11;
        req.oom_score_adj_set = true;
        req.oom_score_adj = 900;
        g_assert_cmpint(spawn_request_inherit_resources(&req, caller, 3, own_adj), ==, 0);
        g_assert_cmpuint(req.rlimits_set, ==, (1U << RLIMIT_NLIMITS) - 1);
        g_assert_cmpuint(req.rlimits[RLIMIT_NPROC].rlim_cur, ==, 7);
        g_assert_cmpuint(req.rlimits[RLIMIT_NPROC].rlim_max, ==, 9);
        g_assert_cmpmem(&req.rlimits[RLIMIT_NOFILE], sizeof(struct rlimit), &caller[RLIMIT_NOFILE], sizeof(struct rlimit));
        g_assert_cmpint(req.nice, ==, 11);
        g_assert_cmpint(req.oom_score_adj, ==, 900);
}

static void test_resources_beyond_caller(void) {
        struct rlimit caller[RLIMIT_NLIMITS];
        const char *what = NULL;
        SpawnRequest req;

        own_rlimits(caller);
        caller[RLIMIT_NOFILE] = (struct rlimit) { 64, 128 };
        spawn_request_init(&req);
        spawn_request_inherit_resources(&req, caller, 5, 300);
        req.oom_score_adj = 300; /* whatever this process could give */
        g_assert_false(spawn_resources_beyond_caller(&req, caller, 5, 300, &what));

        /* Up to the caller's hard limit, and nicer, is the caller's right. */
        req.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 128, 128 };
        req.nice = 10;
        req.oom_score_adj = 500;
        g_assert_false(spawn_resources_beyond_caller(&req, caller, 5, 300, &what));

        req.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 64, 129 };
        g_assert_true(spawn_resources_beyond_caller(&req, caller, 5, 300, &what));
        g_assert_cmpstr(what, ==, "an rlimit above the caller's hard limit");
        /* Unless that limit is not asked for at all. */
        req.rlimits_set &= ~(1U << RLIMIT_NOFILE);
        g_assert_false(spawn_resources_beyond_caller(&req, caller, 5, 300, &what));

        req.nice = 4;
        g_assert_true(spawn_resources_beyond_caller(&req, caller, 5, 300, &what));
        g_assert_cmpstr(what, ==, "a nice value below the caller's");
        req.nice_set = false;
        req.oom_score_adj = 299;
        g_assert_true(spawn_resources_beyond_caller(&req, caller, 5, 300, &what));
        g_assert_cmpstr(what, ==, "an oom_score_adj below the caller's");
}

/* End to end below the daemon: a caller with limits of its own, read
 * through its pidfd, hands exactly those to its workload: the two
 * /proc/<pid>/limits are the same text. */
static void test_resources_from_caller(void) {
        TEST_REQUIRE_ROOT();
        /* The caller lowers its RLIMIT_NOFILE, still under valgrind. */
        TEST_SKIP_UNDER_VALGRIND("keeps fds of its own above RLIMIT_NOFILE and refuses to lower it below them");
        char *argv[] = { NULL, (char *) "sleep", (char *) "30", NULL };
        _cleanup_close_pair_ int ready[2] = { -EBADF, -EBADF }, release[2] = { -EBADF, -EBADF };
        struct rlimit caller[RLIMIT_NLIMITS];
        Process p = PROCESS_NULL;
        Spawned s = SPAWNED_NULL;
        SpawnRequest req;
        siginfo_t si;
        int nice, adj;
        char c;

        g_assert_no_errno(pipe2(ready, O_CLOEXEC));
        g_assert_no_errno(pipe2(release, O_CLOEXEC));
        pid_t pid = fork();
        g_assert_no_errno(pid);
        if (pid == 0) {
                struct rlimit nofile = { 64, 64 }, core = { 0, 0 }, stack = { 4 << 20, 16 << 20 };
                close(release[1]);
                close(ready[0]);
                int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &core) < 0 ||
                    setrlimit(RLIMIT_STACK, &stack) < 0 || setpriority(PRIO_PROCESS, 0, 7) < 0 || fd < 0 ||
                    write(fd, "250", 3) != 3 || setresuid(65534, 65534, 65534) < 0)
                        _exit(1);
                if (write(ready[1], "R", 1) != 1 || read(release[0], &c, 1) < 0)
                        _exit(2);
                _exit(0);
        }
        ready[1] = safe_close(ready[1]);
        release[0] = safe_close(release[0]);
        g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
        g_assert_cmpint(process_from_pid(&p, pid, CONTROL_PATH_AUTO), ==, 0);
        g_assert_cmpint(process_get_rlimits(&p, caller), ==, 0);
        g_assert_cmpint(process_get_nice(&p, &nice), ==, 0);
        g_assert_cmpint(process_get_oom_score_adj(&p, &adj), ==, 0);
        g_assert_cmpint(nice, ==, 7);
        g_assert_cmpint(adj, ==, 250);

        request_helper(&req, argv);
        req.uid = TEST_SPAWN_LONELY_UID;
        req.gid = TEST_SPAWN_LONELY_UID;
        g_assert_cmpint(spawn_request_inherit_resources(&req, caller, nice, adj), ==, 0);
        g_assert_cmpint(spawn_run(&req, &s, NULL), ==, 0);

        g_autofree char *caller_path = g_strdup_printf("/proc/%d/limits", pid);
        g_autofree char *workload_path = g_strdup_printf("/proc/%d/limits", s.process.pid);
        g_autofree char *caller_limits = NULL, *workload_limits = NULL;
        g_assert_true(g_file_get_contents(caller_path, &caller_limits, NULL, NULL));
        g_assert_true(g_file_get_contents(workload_path, &workload_limits, NULL, NULL));
        g_assert_cmpstr(workload_limits, ==, caller_limits);
        g_assert_cmpint(test_proc_nice(s.process.pid), ==, 7);
        g_assert_cmpint(test_proc_int(s.process.pid, "oom_score_adj"), ==, 250);

        g_assert_cmpint(process_signal(&s.process, SIGKILL, 0), ==, 0);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        spawned_done(&s);
        release[1] = safe_close(release[1]);
        g_assert_cmpint(process_wait(&p, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_status, ==, 0);
        process_done(&p);
}

static void test_exe_fd(void) {
        TEST_REQUIRE_ROOT();
        char *argv[] = { (char *) "whatever-name", (char *) "exit", (char *) "3", NULL };
        SpawnRequest req;
        Run run;

        int exe = open(helper_argv0, O_PATH | O_CLOEXEC);
        g_assert_cmpint(exe, >=, 0);
        request_helper(&req, argv);
        argv[0] = (char *) "whatever-name";
        req.exe_fd = exe;
        g_assert_cmpint(run_request(&req, &run, NULL), ==, 0);
        g_assert_cmpint(WEXITSTATUS(run.exit_status), ==, 3);
        run_clear(&run);
        close(exe);
}

/* Many children can be in flight, each one's result its own: on its own
 * channel, or, from a child that shared our memory, known when spawn_start()
 * returned. */
static void test_many_in_flight(void) {
        TEST_REQUIRE_ROOT();
        enum { N = 16 };
        Spawned s[N];
        char *ok_argv[] = { NULL, (char *) "exit", (char *) "0", NULL };
        char *bad_argv[] = { (char *) "/nonexistent", NULL };
        unsigned before = test_count_open_fds();

        for (int i = 0; i < N; i++) {
                SpawnRequest req;
                request_helper(&req, ok_argv);
                if (i % 2)
                        req.argv = bad_argv;
                s[i] = SPAWNED_NULL;
                g_assert_cmpint(spawn_start(&req, &s[i]), ==, 0);
        }
        for (int i = N - 1; i >= 0; i--) {
                SpawnStep step;
                siginfo_t si;
                struct pollfd p = { .fd = s[i].status_fd, .events = POLLIN };
                g_assert_true(s[i].exec_known != (s[i].status_fd >= 0));
                if (!s[i].exec_known)
                        g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
                int r = spawn_read_exec_status(&s[i], &step);
                if (i % 2) {
                        g_assert_cmpint(r, ==, -ENOENT);
                        g_assert_cmpint(step, ==, SPAWN_STEP_EXEC);
                } else
                        g_assert_cmpint(r, ==, 0);
                g_assert_cmpint(process_wait(&s[i].process, WEXITED, &si), ==, 0);
                spawned_done(&s[i]);
        }
        g_assert_cmpuint(test_count_open_fds(), ==, before);
}

/* A plain spawn's child shares our fd table until it takes its own (and
 * our memory, on x86-64 without AddressSanitizer): what it closes and dups
 * there must not touch ours. Our fds far above the passed ones (where the
 * workloads' pidfds live) never reach it, and the pidfd it returns is kept
 * up there when the fd limit leaves room. */
static void test_shared_child(void) {
        TEST_REQUIRE_ROOT();
        char *fds_argv[] = { NULL, (char *) "fds", NULL };
        struct rlimit nofile;
        SpawnRequest req;
        Spawned s = SPAWNED_NULL;
        siginfo_t si;
        int out[2];

        g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &nofile), ==, 0);
        if (nofile.rlim_cur < 2048) {
                g_test_skip("RLIMIT_NOFILE below 2048: no room for high fds");
                return;
        }
        int low = open("/dev/null", O_RDONLY); /* without CLOEXEC */
        g_assert_cmpint(low, >=, 0);
        int high = fcntl(low, F_DUPFD, 1500);
        g_assert_cmpint(high, >=, 1500);
        g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
        FdMapping map[] = { { 1, out[1] }, { 7, low } };
        request_helper(&req, fds_argv);
        req.fds = map;
        req.n_fds = G_N_ELEMENTS(map);
        g_assert_cmpint(spawn_start(&req, &s), ==, 0);
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
        g_assert_true(s.exec_known);
#endif
        g_assert_cmpint(spawn_read_exec_status(&s, NULL), ==, 0);
        close(out[1]);
        g_autofree char *listing = test_read_all(out[0]);
        close(out[0]);
        g_assert_cmpstr(listing, ==, "0\n1\n2\n7\n");
        g_assert_cmpint(s.process.fd, >=, 1024);
        g_assert_cmpint(process_wait(&s.process, WEXITED, &si), ==, 0);
        g_assert_cmpint(si.si_status, ==, 0);
        spawned_done(&s);

        /* Ours are all still open, at their numbers. */
        g_assert_cmpint(fcntl(low, F_GETFD), ==, 0);
        g_assert_cmpint(fcntl(high, F_GETFD), ==, 0);
        g_assert_cmpint(fcntl(out[0], F_GETFD), <, 0);
        close(high);
        close(low);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        helper_argv0 = g_strdup(test_helper_path());

        g_test_add_func("/spawn/exit-code", test_exit_code);
        g_test_add_func("/spawn/missing-binary", test_missing_binary);
        g_test_add_func("/spawn/validation", test_validation);
        g_test_add_func("/spawn/namespaces", test_namespaces);
        g_test_add_func("/spawn/credentials", test_credentials);
        g_test_add_func("/spawn/bounding-set", test_bounding_set);
        g_test_add_func("/spawn/signal-dispositions", test_signal_dispositions);
        g_test_add_func("/spawn/seccomp", test_seccomp_denies);
        g_test_add_func("/spawn/seccomp-inherited", test_seccomp_inherited);
        g_test_add_func("/spawn/fd-map", test_fd_map);
        g_test_add_func("/spawn/environment-and-setup", test_environment_and_setup);
        g_test_add_func("/spawn/cwd-failure", test_cwd_failure);
        g_test_add_func("/spawn/daemon-fds-unreachable", test_daemon_fds_unreachable);
        g_test_add_func("/spawn/user-namespace", test_user_namespace);
        g_test_add_func("/spawn/pid-namespace-init", test_pid_namespace_init);
        g_test_add_func("/spawn/pid-namespace-group", test_pid_namespace_group);
        g_test_add_func("/spawn/namespace-ids", test_namespace_ids);
        g_test_add_func("/spawn/into-cgroup", test_into_cgroup);
        g_test_add_func("/spawn/resources", test_resources);
        g_test_add_func("/spawn/resources-refused", test_resources_refused);
        g_test_add_func("/spawn/nproc-exceeded", test_nproc_exceeded);
        g_test_add_func("/spawn/rlimit-names", test_rlimit_names);
        g_test_add_func("/spawn/inherit-resources", test_inherit_resources);
        g_test_add_func("/spawn/resources-beyond-caller", test_resources_beyond_caller);
        g_test_add_func("/spawn/resources-from-caller", test_resources_from_caller);
        g_test_add_func("/spawn/exe-fd", test_exe_fd);
        g_test_add_func("/spawn/many-in-flight", test_many_in_flight);
        g_test_add_func("/spawn/shared-child", test_shared_child);
        return g_test_run();
}
