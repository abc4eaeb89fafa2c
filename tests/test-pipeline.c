/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The request pipeline without a bus daemon: the daemon's library serves
 * direct connections made of socketpairs in this process (root) and in a
 * child running as nobody, and an sd-bus client on the other end of each
 * calls every method. The manager's sd-event loop runs here, between the
 * calls, so every step is in order. Each case checks the reply (the error
 * name), the audit lines written, and that nothing was done on a refusal. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "bus-error.h"
#include "caller-resources.h"
#include "daemon-config.h"
#include "manager.h"
#include "missing-pidfd.h"
#include "test-util.h"
#include "workload.h"

#define NOBODY 65534

typedef struct Client {
        sd_bus *bus;
        const char *name;
} Client;

static struct {
        Config config;
        Manager *m;
        char *dir, *audit_path;
        size_t audit_off;
        Client root, nobody, anon;
        sd_bus *anon_server;      /* served without a PrivateConnection */
        pid_t nobody_pid;
        int nobody_hold;          /* closing it ends the nobody child */
        pid_t victim;             /* a root process with a pipe at victim_fd */
        int victim_pidfd, victim_fd;
        struct stat victim_fd_st;
        char *w_root, *w_nobody;  /* workload object paths */
} T = { .nobody_hold = -EBADF, .victim_pidfd = -EBADF };

/* ---- calls ---------------------------------------------------------------- */

typedef struct Call {
        bool done;
        sd_bus_message *reply;
} Call;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Call *c = userdata;
        c->reply = sd_bus_message_ref(reply);
        c->done = true;
        return 0;
}

static void call_start(Client *c, sd_bus_message *msg, Call *call) {
        *call = (Call) {};
        g_assert_cmpint(sd_bus_call_async(c->bus, NULL, msg, on_reply, call, 0), >=, 0);
}

static void call_finish(Call *call) {
        while (!call->done)
                g_assert_cmpint(sd_event_run(T.m->event, UINT64_MAX), >=, 0);
}

/* Run the loop until nothing is left to do right now. */
static void loop_settle(void) {
        while (sd_event_run(T.m->event, 0) > 0)
                ;
}

static sd_bus_message *call(Client *c, sd_bus_message *msg) {
        Call call;
        call_start(c, msg, &call);
        call_finish(&call);
        loop_settle(); /* the post-dispatch hook and any outcome line */
        return call.reply;
}

static sd_bus_message *new_call(Client *c, const char *path, const char *iface, const char *member) {
        sd_bus_message *msg = NULL;
        g_assert_cmpint(sd_bus_message_new_method_call(c->bus, &msg, NULL, path, iface, member), >=, 0);
        return msg;
}

static void assert_error(sd_bus_message *reply, const char *name) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        g_assert_nonnull(reply);
        if (!e || strcmp(e->name, name) != 0)
                g_error("expected %s, got %s (%s)", name, e ? e->name : "a method return", e ? e->message : "");
}

static void assert_ok(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e)
                g_error("expected a method return, got %s (%s)", e->name, e->message);
}

/* Spawn argv (no fds, no env) with options: "user" (u) when user != -1. */
static sd_bus_message *spawn_call(Client *c, const char *const *argv, uid_t user) {
        sd_bus_message *msg = new_call(c, BROKER_PATH, BROKER_INTERFACE, "Spawn");

        g_assert_cmpint(sd_bus_message_open_container(msg, 'a', "ay"), >=, 0);
        for (size_t i = 0; argv[i]; i++)
                g_assert_cmpint(sd_bus_message_append_array(msg, 'y', argv[i], strlen(argv[i])), >=, 0);
        g_assert_cmpint(sd_bus_message_close_container(msg), >=, 0);
        g_assert_cmpint(sd_bus_message_append(msg, "a{ss}a{uh}", 0, 0), >=, 0);
        if (user != (uid_t) -1)
                g_assert_cmpint(sd_bus_message_append(msg, "a{sv}", 1, "user", "u", (uint32_t) user), >=, 0);
        else
                g_assert_cmpint(sd_bus_message_append(msg, "a{sv}", 0), >=, 0);
        return msg;
}

static const char *const SLEEPER[] = { "/bin/sleep", "1000", NULL };

static sd_bus_message *broker_signal(Client *c, int pidfd, int sig, unsigned flags) {
        sd_bus_message *msg = new_call(c, BROKER_PATH, BROKER_INTERFACE, "Signal");
        g_assert_cmpint(sd_bus_message_append(msg, "hiu", pidfd, sig, flags), >=, 0);
        sd_bus_message *reply = call(c, msg);
        sd_bus_message_unref(msg);
        return reply;
}

static sd_bus_message *broker_getfd(Client *c, int pidfd, int target_fd) {
        sd_bus_message *msg = new_call(c, BROKER_PATH, BROKER_INTERFACE, "GetFd");
        g_assert_cmpint(sd_bus_message_append(msg, "hi", pidfd, target_fd), >=, 0);
        sd_bus_message *reply = call(c, msg);
        sd_bus_message_unref(msg);
        return reply;
}

static sd_bus_message *workload_call(Client *c, const char *path, const char *member, const char *types, ...) {
        sd_bus_message *msg = new_call(c, path, WORKLOAD_INTERFACE, member);
        if (types) {
                va_list ap;
                va_start(ap, types);
                g_assert_cmpint(sd_bus_message_appendv(msg, types, ap), >=, 0);
                va_end(ap);
        }
        sd_bus_message *reply = call(c, msg);
        sd_bus_message_unref(msg);
        return reply;
}

/* ---- the audit log -------------------------------------------------------- */

/* The lines written since the last call. */
static char **audit_take(void) {
        g_autofree char *all = NULL;
        gsize n;

        g_assert_true(g_file_get_contents(T.audit_path, &all, &n, NULL));
        g_assert_cmpuint(n, >=, T.audit_off);
        char *fresh = all + T.audit_off;
        T.audit_off = n;
        if (!*fresh)
                return g_new0(char *, 1);
        g_assert_true(g_str_has_suffix(fresh, "\n"));
        fresh[strlen(fresh) - 1] = '\0';
        return g_strsplit(fresh, "\n", -1);
}

static void assert_has(const char *line, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void assert_has(const char *line, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *want = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!strstr(line, want))
                g_error("audit line lacks %s: %s", want, line);
}

static void assert_no_records(void) {
        g_auto(GStrv) lines = audit_take();
        if (lines[0])
                g_error("expected no audit line, got %s", lines[0]);
}

/* One denial record, and nothing else. */
static void assert_denial(const char *action, const char *rule, uid_t uid) {
        g_auto(GStrv) lines = audit_take();
        g_assert_cmpuint(g_strv_length(lines), ==, 1);
        assert_has(lines[0], "\"type\":\"record\",\"action\":\"%s\",\"decision\":\"deny\",\"rule\":\"%s\"", action,
                   rule);
        if (uid != (uid_t) -1)
                assert_has(lines[0], "\"subject\":{\"uid\":%u,", (unsigned) uid);
        else
                assert_has(lines[0], "\"subject\":{\"uid\":null,");
}

/* An allow record and its outcome line, and nothing else. */
static void assert_allow(const char *action, const char *rule, uid_t uid, const char *result) {
        g_auto(GStrv) lines = audit_take();
        g_assert_cmpuint(g_strv_length(lines), ==, 2);
        assert_has(lines[0], "\"type\":\"record\",\"action\":\"%s\",\"decision\":\"allow\",\"rule\":\"%s\"", action,
                   rule);
        assert_has(lines[0], "\"subject\":{\"uid\":%u,", (unsigned) uid);
        const char *seq = strstr(lines[0], "\"seq\":");
        g_assert_nonnull(seq);
        g_autofree char *seq_field = g_strndup(seq, strcspn(seq, ","));
        assert_has(lines[1], "%s,\"type\":\"outcome\",\"result\":\"%s\"", seq_field, result);
}

/* The log's file system full: a filler takes every free block, then calls
 * that record (a sig-0 Signal of root's) fill the log's last page until one
 * fails. Returns the filler, to remove. */
static char *audit_fill(void) {
        char *filler = test_fill_fs(T.dir);

        for (unsigned probes = 0;; probes++) {
                g_assert_cmpuint(probes, <, 256);
                sd_bus_message *reply = broker_signal(&T.root, T.victim_pidfd, 0, 0);
                bool failed = sd_bus_message_is_method_error(reply, BUS_ERROR_AUDIT_FAILED);
                sd_bus_message_unref(reply);
                if (failed)
                        break;
        }
        g_strfreev(audit_take());
        return filler;
}

static void audit_unfill(char *filler) {
        g_assert_cmpint(unlink(filler), ==, 0);
        g_free(filler);
        g_strfreev(audit_take());
}

/* ---- processes ------------------------------------------------------------ */

static bool pidfd_alive(int pidfd) {
        return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

static Workload *workload_by_path(const char *path) {
        for (Workload *w = T.m->workloads; w; w = w->next)
                if (strcmp(w->path, path) == 0)
                        return w;
        return NULL;
}

static bool workload_running(const char *path) {
        Workload *w = workload_by_path(path);
        g_assert_nonnull(w);
        return w->state == WORKLOAD_RUNNING && pidfd_alive(w->spawned.process.fd);
}

/* ---- connections ---------------------------------------------------------- */

static void client_open(Client *c, const char *name, int fd) {
        c->name = name;
        g_assert_cmpint(sd_bus_new(&c->bus), >=, 0);
        g_assert_cmpint(sd_bus_set_fd(c->bus, fd, fd), >=, 0);
        g_assert_cmpint(sd_bus_set_anonymous(c->bus, 1), >=, 0);
        g_assert_cmpint(sd_bus_negotiate_fds(c->bus, 1), >=, 0);
        g_assert_cmpint(sd_bus_start(c->bus), >=, 0);
        g_assert_cmpint(sd_bus_attach_event(c->bus, T.m->event, 0), >=, 0);
}

static void socketpair_checked(int sv[2]) {
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), ==, 0);
}

/* A child that drops to nobody makes the socketpair, so the kernel records
 * it (SO_PEERCRED, SO_PEERPIDFD) as the peer of both ends; it hands both
 * over and lives on until T.nobody_hold closes, or (!stay) exits and is
 * reaped before this returns. */
static void nobody_connect(int ret[2], bool stay) {
        int chan[2], hold[2];
        char c = 0;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(2 * sizeof(int))];
        } u = {};
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &u, .msg_controllen = sizeof u };

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan), ==, 0);
        g_assert_cmpint(pipe2(hold, O_CLOEXEC), ==, 0);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int sv[2];

                close(hold[1]);
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0 ||
                    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                        _exit(1);
                struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
                h->cmsg_level = SOL_SOCKET;
                h->cmsg_type = SCM_RIGHTS;
                h->cmsg_len = CMSG_LEN(2 * sizeof(int));
                memcpy(CMSG_DATA(h), sv, sizeof sv);
                if (sendmsg(chan[1], &mh, 0) != 1)
                        _exit(1);
                if (!stay)
                        _exit(0);
                while (read(hold[0], &c, 1) > 0)
                        ;
                _exit(0);
        }
        close(chan[1]);
        close(hold[0]);

        g_assert_cmpint(recvmsg(chan[0], &mh, MSG_CMSG_CLOEXEC), ==, 1);
        struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
        g_assert_nonnull(h);
        g_assert_cmpint(h->cmsg_type, ==, SCM_RIGHTS);
        memcpy(ret, CMSG_DATA(h), 2 * sizeof(int));
        close(chan[0]);
        if (!stay) {
                close(hold[1]);
                g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
                return;
        }
        T.nobody_pid = pid;
        T.nobody_hold = hold[1];
}

/* A root process holding a pipe at a known fd, for Signal and GetFd. */
static void victim_start(void) {
        int p[2];

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        T.victim = fork();
        g_assert_cmpint(T.victim, >=, 0);
        if (T.victim == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                safe_close(T.nobody_hold); /* the nobody child ends when we do */
                for (;;)
                        pause();
        }
        T.victim_fd = p[0];
        g_assert_cmpint(fstat(p[0], &T.victim_fd_st), ==, 0);
        close(p[0]);
        close(p[1]);
        T.victim_pidfd = (int) syscall(SYS_pidfd_open, T.victim, 0);
        g_assert_cmpint(T.victim_pidfd, >=, 0);
}

static void setup(void) {
        g_autofree char *rules_dir = NULL, *rules = NULL, *actions = NULL;
        const char *src = g_getenv("PIDBROKER_SOURCE_ROOT");
        int sv[2];

        g_assert_nonnull(src);
        /* A private tmpfs for the log, small enough to fill. */
        g_assert_cmpint(unshare(CLONE_NEWNS), ==, 0);
        g_assert_cmpint(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), ==, 0);
        T.dir = g_strdup("/tmp/pb-pipeline-XXXXXX");
        g_assert_nonnull(g_mkdtemp(T.dir));
        g_assert_cmpint(mount("tmpfs", T.dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=0755"), ==, 0);
        T.audit_path = g_build_filename(T.dir, "audit.jsonl", NULL);
        rules_dir = g_build_filename(T.dir, "rules.d", NULL);
        g_assert_cmpint(mkdir(rules_dir, 0755), ==, 0);
        rules = g_build_filename(rules_dir, "50-test.rules", NULL);
        g_assert_true(g_file_set_contents(rules,
                                          "[Rule]\n"
                                          "Action=org.pidbroker.signal\n"
                                          "SubjectUser=nobody\n"
                                          "Signal=SIGUSR2\n"
                                          "Result=deny\n", -1, NULL));
        actions = g_build_filename(src, "policy", "org.pidbroker.policy", NULL);

        config_init(&T.config);
        free(T.config.audit_log);
        T.config.audit_log = strdup(T.audit_path);
        free(T.config.private_socket);
        T.config.private_socket = strdup("");
        T.config.policy_backend = POLICY_BACKEND_EMBEDDED;
        T.config.policy_actions_file = strdup(actions);
        T.config.policy_rules_dirs = calloc(2, sizeof(char *));
        T.config.policy_rules_dirs[0] = strdup(rules_dir);
        T.config.default_seccomp_profile = strdup("default"); /* as config_parse_argv() sets it */
        T.config.max_waiters_per_workload = 1;
        T.config.audit_denial_burst = 10000; /* every denial here is recorded */

        g_assert_cmpint(manager_new(&T.config, &T.m), >=, 0);
        g_assert_cmpint(manager_setup(T.m), >=, 0);

        socketpair_checked(sv);
        g_assert_cmpint(private_connection_add(T.m, sv[0]), >=, 0);
        client_open(&T.root, "root", sv[1]);

        nobody_connect(sv, true);
        g_assert_cmpint(private_connection_add(T.m, sv[0]), >=, 0);
        client_open(&T.nobody, "nobody", sv[1]);

        /* The objects served on a connection that is no direct connection
         * of the manager's and has no bus driver: nothing says who the peer
         * is, so every call is one whose caller cannot be identified. */
        sd_id128_t id;
        socketpair_checked(sv);
        g_assert_cmpint(sd_id128_randomize(&id), >=, 0);
        g_assert_cmpint(sd_bus_new(&T.anon_server), >=, 0);
        g_assert_cmpint(sd_bus_set_fd(T.anon_server, sv[0], sv[0]), >=, 0);
        g_assert_cmpint(sd_bus_set_server(T.anon_server, 1, id), >=, 0);
        g_assert_cmpint(sd_bus_set_anonymous(T.anon_server, 1), >=, 0);
        g_assert_cmpint(sd_bus_negotiate_fds(T.anon_server, 1), >=, 0);
        g_assert_cmpint(manager_register_objects(T.m, T.anon_server), >=, 0);
        g_assert_cmpint(sd_bus_start(T.anon_server), >=, 0);
        g_assert_cmpint(sd_bus_attach_event(T.anon_server, T.m->event, 0), >=, 0);
        client_open(&T.anon, "anon", sv[1]);

        victim_start();
        loop_settle();
        g_strfreev(audit_take());
}

static void teardown(void) {
        if (T.victim > 0) {
                (void) kill(T.victim, SIGKILL);
                (void) waitpid(T.victim, NULL, 0);
        }
        safe_close(T.victim_pidfd);
        sd_bus_flush_close_unref(T.root.bus);
        sd_bus_flush_close_unref(T.nobody.bus);
        sd_bus_flush_close_unref(T.anon.bus);
        sd_bus_close_unref(T.anon_server);
        /* The workloads still running: a daemon leaves them to the next
         * one; a test kills them, and removes their units. */
        for (Workload *w = T.m->workloads; w; w = w->next) {
                siginfo_t si;
                (void) process_signal(&w->spawned.process, SIGKILL, 0);
                (void) process_wait(&w->spawned.process, WEXITED, &si);
                manager_forget_unit(T.m, &w->unit);
        }
        T.m = manager_free(T.m);
        config_done(&T.config);
        safe_close(T.nobody_hold);
        if (T.nobody_pid > 0)
                (void) waitpid(T.nobody_pid, NULL, 0);
        (void) umount2(T.dir, MNT_DETACH);
        (void) rmdir(T.dir);
        g_free(T.dir);
        g_free(T.audit_path);
        g_free(T.w_root);
        g_free(T.w_nobody);
}

/* ---- identity on the direct socket -------------------------------------- */

/* A peer that exited and was reaped before its connection is served: the
 * kernel still names it (SO_PEERCRED, and SO_PEERPIDFD of a dead process),
 * but it cannot be pinned, so the connection is never served and no call
 * of it reaches the pipeline (nothing to record: no request exists). */
static void test_identity_direct(void) {
        unsigned before = T.m->n_connections;
        int sv[2];

        nobody_connect(sv, false);
        g_assert_cmpint(private_connection_add(T.m, sv[0]), <, 0);
        g_assert_cmpuint(T.m->n_connections, ==, before);
        safe_close(sv[1]);
        loop_settle();
        assert_no_records();
}

/* ---- Broker1.Spawn ------------------------------------------------------- */

static char *spawn_ok(Client *c, const char *const *argv) {
        sd_bus_message *msg = spawn_call(c, argv, (uid_t) -1);
        sd_bus_message *reply = call(c, msg);
        const char *path;
        int pidfd;
        uint64_t id;

        assert_ok(reply);
        g_assert_cmpint(sd_bus_message_read(reply, "oht", &path, &pidfd, &id), >=, 0);
        g_assert_true(pidfd_alive(pidfd));
        char *ret = g_strdup(path);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(msg);
        return ret;
}

static void spawn_refused(Client *c, const char *const *argv, uid_t user, const char *error) {
        unsigned before = T.m->n_workloads;
        sd_bus_message *msg = spawn_call(c, argv, user);
        sd_bus_message *reply = call(c, msg);

        assert_error(reply, error);
        g_assert_cmpuint(T.m->n_workloads, ==, before); /* nothing was created */
        sd_bus_message_unref(reply);
        sd_bus_message_unref(msg);
}

static void test_spawn(void) {
        /* identity */
        spawn_refused(&T.anon, SLEEPER, (uid_t) -1, BUS_ERROR_ACCESS_DENIED);
        assert_denial("org.pidbroker.spawn", "refused:identity", (uid_t) -1);

        /* bad args: an empty argv */
        spawn_refused(&T.nobody, (const char *const[]) { NULL }, (uid_t) -1, BUS_ERROR_INVALID_ARGUMENT);
        assert_denial("org.pidbroker.spawn", "refused:InvalidArgument", NOBODY);

        /* deny: nobody asking for root is spawn-as-user, auth_admin */
        spawn_refused(&T.nobody, SLEEPER, 0, BUS_ERROR_ACCESS_DENIED);
        assert_denial("org.pidbroker.spawn-as-user", "default:auth_admin", NOBODY);

        /* audit write fails */
        char *filler = audit_fill();
        spawn_refused(&T.root, SLEEPER, (uid_t) -1, BUS_ERROR_AUDIT_FAILED);
        audit_unfill(filler);

        /* allow, for both users: their workloads serve the Workload1 cases */
        T.w_root = spawn_ok(&T.root, SLEEPER);
        assert_allow("org.pidbroker.spawn", "default:yes", 0, "ok");
        T.w_nobody = spawn_ok(&T.nobody, SLEEPER);
        assert_allow("org.pidbroker.spawn", "default:yes", NOBODY, "ok");

        /* limit: MaxWorkloadsPerUser reached */
        T.config.max_workloads_per_user = 1;
        spawn_refused(&T.nobody, SLEEPER, (uid_t) -1, BUS_ERROR_LIMIT_EXCEEDED);
        T.config.max_workloads_per_user = 64;
        assert_denial("org.pidbroker.spawn", "refused:LimitExceeded", NOBODY);
}

/* ---- Broker1.GetFd ------------------------------------------------------- */

static void getfd_refused(Client *c, int target_fd, const char *error) {
        sd_bus_message *reply = broker_getfd(c, T.victim_pidfd, target_fd);
        assert_error(reply, error); /* an error carries no fd */
        sd_bus_message_unref(reply);
}

static void test_getfd(void) {
        getfd_refused(&T.anon, T.victim_fd, BUS_ERROR_ACCESS_DENIED);
        assert_denial("org.pidbroker.getfd", "refused:identity", (uid_t) -1);

        getfd_refused(&T.root, -1, BUS_ERROR_INVALID_ARGUMENT);
        assert_denial("org.pidbroker.getfd", "refused:InvalidArgument", 0);

        getfd_refused(&T.nobody, T.victim_fd, BUS_ERROR_ACCESS_DENIED);
        assert_denial("org.pidbroker.getfd", "default:auth_admin", NOBODY);

        char *filler = audit_fill();
        getfd_refused(&T.root, T.victim_fd, BUS_ERROR_AUDIT_FAILED);
        audit_unfill(filler);

        sd_bus_message *reply = broker_getfd(&T.root, T.victim_pidfd, T.victim_fd);
        struct stat st;
        int fd;
        assert_ok(reply);
        g_assert_cmpint(sd_bus_message_read(reply, "h", &fd), >=, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, T.victim_fd_st.st_ino);
        g_assert_cmpuint(st.st_dev, ==, T.victim_fd_st.st_dev);
        sd_bus_message_unref(reply);
        assert_allow("org.pidbroker.getfd", "default:auth_admin:root", 0, "ok");
}

/* ---- Workload1 ------------------------------------------------------------ */

static void assert_exit(sd_bus_message *reply, const char *code, int status) {
        const char *c;
        int st;
        assert_ok(reply);
        g_assert_cmpint(sd_bus_message_read(reply, "si", &c, &st), >=, 0);
        g_assert_cmpstr(c, ==, code);
        g_assert_cmpint(st, ==, status);
}

static void workload_refused(Client *c, const char *path, const char *member, const char *error, const char *types,
                             int a, unsigned b) {
        sd_bus_message *reply = types ? workload_call(c, path, member, types, a, b) :
                                        workload_call(c, path, member, NULL);
        assert_error(reply, error);
        sd_bus_message_unref(reply);
        g_assert_true(workload_running(path)); /* not signalled, not stopped */
}

static void release(Client *c, const char *path) {
        sd_bus_message *reply = workload_call(c, path, "Release", NULL);
        assert_ok(reply);
        sd_bus_message_unref(reply);
}

static void wait_exited(const char *path) {
        while (workload_by_path(path)->state == WORKLOAD_RUNNING)
                g_assert_cmpint(sd_event_run(T.m->event, UINT64_MAX), >=, 0);
        loop_settle();
}

static char *rule_origin(void) {
        return g_strdup_printf("%s/rules.d/50-test.rules:1", T.dir);
}

static void test_workload_signal(void) {
        g_autofree char *origin = rule_origin();

        /* identity: an object no identified caller may see */
        workload_refused(&T.anon, T.w_nobody, "Signal", BUS_ERROR_UNKNOWN_OBJECT, "iu", SIGKILL, 0);
        assert_no_records();

        workload_refused(&T.nobody, T.w_nobody, "Signal", BUS_ERROR_INVALID_ARGUMENT, "iu", 999, 0);
        assert_denial("org.pidbroker.signal", "refused:InvalidArgument", NOBODY);

        T.config.max_pending_per_connection = 0;
        workload_refused(&T.nobody, T.w_nobody, "Signal", BUS_ERROR_LIMIT_EXCEEDED, "iu", SIGKILL,
                         PIDFD_SIGNAL_PROCESS_GROUP);
        T.config.max_pending_per_connection = 32;
        assert_denial("org.pidbroker.signal", "refused:LimitExceeded", NOBODY);

        /* deny, own workload: the rules.d rule */
        workload_refused(&T.nobody, T.w_nobody, "Signal", BUS_ERROR_ACCESS_DENIED, "iu", SIGUSR2, 0);
        assert_denial("org.pidbroker.signal", origin, NOBODY);

        /* deny, another user's: not even visible */
        workload_refused(&T.nobody, T.w_root, "Signal", BUS_ERROR_UNKNOWN_OBJECT, "iu", SIGKILL, 0);
        assert_denial("org.pidbroker.manage", "default:auth_admin", NOBODY);

        char *filler = audit_fill();
        workload_refused(&T.nobody, T.w_nobody, "Signal", BUS_ERROR_AUDIT_FAILED, "iu", SIGKILL, 0);
        audit_unfill(filler);

        /* allow, another user's (root) */
        sd_bus_message *reply = workload_call(&T.root, T.w_nobody, "Signal", "iu", 0, 0);
        assert_ok(reply);
        sd_bus_message_unref(reply);
        assert_allow("org.pidbroker.signal-other-user", "default:auth_admin:root", 0, "ok");

        /* allow, own: it dies of it */
        reply = workload_call(&T.nobody, T.w_nobody, "Signal", "iu", SIGKILL, 0);
        assert_ok(reply);
        sd_bus_message_unref(reply);
        assert_allow("org.pidbroker.signal", "default:yes", NOBODY, "ok");
        wait_exited(T.w_nobody);
        g_assert_cmpstr(workload_by_path(T.w_nobody)->exit_code, ==, "killed");
        g_strfreev(audit_take()); /* the exit record */
        release(&T.nobody, T.w_nobody);
}

static void test_workload_wait_stop(void) {
        g_autofree char *w = spawn_ok(&T.nobody, SLEEPER);
        g_autofree char *w2 = NULL;
        Call waiting;

        g_strfreev(audit_take());

        /* identity */
        workload_refused(&T.anon, w, "Wait", BUS_ERROR_UNKNOWN_OBJECT, NULL, 0, 0);
        workload_refused(&T.anon, w, "Stop", BUS_ERROR_UNKNOWN_OBJECT, NULL, 0, 0);
        assert_no_records();

        /* bad args: sd-bus checks the signature before any handler runs */
        workload_refused(&T.nobody, w, "Wait", SD_BUS_ERROR_INVALID_ARGS, "iu", 1, 0);
        workload_refused(&T.nobody, w, "Stop", SD_BUS_ERROR_INVALID_ARGS, "iu", 1, 0);
        assert_no_records();

        /* deny: another user's workload */
        workload_refused(&T.nobody, T.w_root, "Wait", BUS_ERROR_UNKNOWN_OBJECT, NULL, 0, 0);
        assert_denial("org.pidbroker.manage", "default:auth_admin", NOBODY);
        workload_refused(&T.nobody, T.w_root, "Stop", BUS_ERROR_UNKNOWN_OBJECT, NULL, 0, 0);
        assert_denial("org.pidbroker.manage", "default:auth_admin", NOBODY);

        /* allow, another user's: root waits (nothing to record) */
        sd_bus_message *msg = new_call(&T.root, w, WORKLOAD_INTERFACE, "Wait");
        call_start(&T.root, msg, &waiting);
        sd_bus_message_unref(msg);
        loop_settle();
        g_assert_false(waiting.done);
        assert_no_records();

        /* limit: MaxWaitersPerWorkload=1 is taken */
        workload_refused(&T.nobody, w, "Wait", BUS_ERROR_LIMIT_EXCEEDED, NULL, 0, 0);
        assert_denial("org.pidbroker.signal", "refused:LimitExceeded", NOBODY);
        workload_refused(&T.nobody, w, "Stop", BUS_ERROR_LIMIT_EXCEEDED, NULL, 0, 0);
        assert_denial("org.pidbroker.signal", "refused:LimitExceeded", NOBODY);

        T.config.max_waiters_per_workload = 2;
        char *filler = audit_fill();
        workload_refused(&T.nobody, w, "Stop", BUS_ERROR_AUDIT_FAILED, NULL, 0, 0);
        audit_unfill(filler);

        /* allow, own: Stop answers at the exit, and so does root's Wait */
        msg = new_call(&T.nobody, w, WORKLOAD_INTERFACE, "Stop");
        sd_bus_message *reply = call(&T.nobody, msg);
        sd_bus_message_unref(msg);
        assert_exit(reply, "killed", SIGTERM);
        sd_bus_message_unref(reply);
        call_finish(&waiting);
        assert_exit(waiting.reply, "killed", SIGTERM);
        sd_bus_message_unref(waiting.reply);
        {
                g_auto(GStrv) lines = audit_take();
                g_assert_cmpuint(g_strv_length(lines), >=, 2);
                assert_has(lines[0], "\"action\":\"org.pidbroker.signal\",\"decision\":\"allow\",\"rule\":\"daemon:owner\"");
                assert_has(lines[0], "\"subject\":{\"uid\":%u,", NOBODY);
                assert_has(lines[1], "\"type\":\"outcome\",\"result\":\"ok\"");
        }
        release(&T.nobody, w);
        T.config.max_waiters_per_workload = 1;

        /* allow, another user's: root stops nobody's workload */
        w2 = spawn_ok(&T.nobody, SLEEPER);
        g_strfreev(audit_take());
        reply = workload_call(&T.root, w2, "Stop", NULL);
        assert_exit(reply, "killed", SIGTERM);
        sd_bus_message_unref(reply);
        {
                g_auto(GStrv) lines = audit_take();
                g_assert_cmpuint(g_strv_length(lines), >=, 2);
                assert_has(lines[0], "\"action\":\"org.pidbroker.manage\",\"decision\":\"allow\","
                           "\"rule\":\"default:auth_admin:root\"");
                assert_has(lines[0], "\"subject\":{\"uid\":0,");
                assert_has(lines[1], "\"type\":\"outcome\",\"result\":\"ok\"");
        }
        release(&T.root, w2);
}

/* ---- Broker1.Signal ------------------------------------------------------- */

static void broker_signal_refused(Client *c, int sig, unsigned flags, const char *error) {
        sd_bus_message *reply = broker_signal(c, T.victim_pidfd, sig, flags);
        assert_error(reply, error);
        sd_bus_message_unref(reply);
        g_assert_true(pidfd_alive(T.victim_pidfd)); /* not signalled */
}

static void test_broker_signal(void) {
        broker_signal_refused(&T.anon, SIGKILL, 0, BUS_ERROR_ACCESS_DENIED);
        assert_denial("org.pidbroker.signal", "refused:identity", (uid_t) -1);

        broker_signal_refused(&T.root, 999, 0, BUS_ERROR_INVALID_ARGUMENT);
        assert_denial("org.pidbroker.signal", "refused:InvalidArgument", 0);

        /* limit: a group-scoped signal waits for a /proc walk, and no call
         * of this connection may wait (below what the configuration allows,
         * to be refused without a race) */
        T.config.max_pending_per_connection = 0;
        broker_signal_refused(&T.root, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP, BUS_ERROR_LIMIT_EXCEEDED);
        T.config.max_pending_per_connection = 32;
        assert_denial("org.pidbroker.signal", "refused:LimitExceeded", 0);

        broker_signal_refused(&T.nobody, SIGKILL, 0, BUS_ERROR_ACCESS_DENIED);
        assert_denial("org.pidbroker.signal-other-user", "default:auth_admin", NOBODY);

        char *filler = audit_fill();
        broker_signal_refused(&T.root, SIGKILL, 0, BUS_ERROR_AUDIT_FAILED);
        audit_unfill(filler);

        sd_bus_message *reply = broker_signal(&T.root, T.victim_pidfd, SIGKILL, 0);
        siginfo_t si = {};
        assert_ok(reply);
        sd_bus_message_unref(reply);
        assert_allow("org.pidbroker.signal", "default:yes", 0, "ok");
        g_assert_cmpint(waitid(P_PID, T.victim, &si, WEXITED), ==, 0);
        g_assert_cmpint(si.si_code, ==, CLD_KILLED);
        g_assert_cmpint(si.si_status, ==, SIGKILL);
        T.victim = 0;
}

/* The caller's resources (caller-resources.h), read through its pidfd:
 * this process's own, as they are when pinned; capped at an unprivileged
 * process's defaults when not. */
static void test_caller_resources(void) {
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        struct rlimit own[RLIMIT_NLIMITS];
        CallerResources res;
        errno = 0;
        int saved_nice = getpriority(PRIO_PROCESS, 0);
        g_assert_cmpint(errno, ==, 0);

        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                g_assert_no_errno(getrlimit((__rlimit_resource_t) i, &own[i]));
        g_assert_cmpint(process_from_pid(&c.process, getpid(), CONTROL_PATH_PIDFD), ==, 0);
        /* Better than an unprivileged process starts with. */
        g_assert_no_errno(setpriority(PRIO_PROCESS, 0, -4));

        c.identity = CALLER_IDENTITY_PEER_PIDFD;
        g_assert_cmpint(caller_resources_read(&c, &res), ==, 0);
        g_assert_false(res.capped);
        g_assert_cmpmem(res.rlimits, sizeof res.rlimits, own, sizeof own);
        g_assert_cmpint(res.nice, ==, -4);
        g_assert_cmpint(res.oom_score_adj, ==, test_proc_int(getpid(), "oom_score_adj"));

        c.identity = CALLER_IDENTITY_BUS_PID_UNPINNED;
        g_assert_cmpint(caller_resources_read(&c, &res), ==, 0);
        g_assert_true(res.capped);
        g_assert_cmpint(res.nice, ==, 0);
        g_assert_no_errno(setpriority(PRIO_PROCESS, 0, saved_nice));

        /* The cap itself, on values this process may lack the privilege to take. */
        CallerResources r = { .nice = 5, .oom_score_adj = -100 };
        memcpy(r.rlimits, own, sizeof own);
        r.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 600000, 600000 };
        r.rlimits[RLIMIT_RTPRIO] = (struct rlimit) { 0, 50 };
        r.rlimits[RLIMIT_NPROC] = (struct rlimit) { 123, 456 };
        r.rlimits[RLIMIT_CORE] = (struct rlimit) { 0, RLIM_INFINITY };
        r.rlimits[RLIMIT_MEMLOCK] = (struct rlimit) { 4096, 8192 };
        caller_resources_cap(&r);
        g_assert_cmpuint(r.rlimits[RLIMIT_NOFILE].rlim_cur, ==, 524288);
        g_assert_cmpuint(r.rlimits[RLIMIT_NOFILE].rlim_max, ==, 524288);
        g_assert_cmpuint(r.rlimits[RLIMIT_RTPRIO].rlim_max, ==, 0);
        g_assert_cmpuint(r.rlimits[RLIMIT_NPROC].rlim_cur, ==, 123);
        g_assert_cmpuint(r.rlimits[RLIMIT_NPROC].rlim_max, ==, 456);
        g_assert_cmpuint(r.rlimits[RLIMIT_CORE].rlim_max, ==, RLIM_INFINITY);
        g_assert_cmpuint(r.rlimits[RLIMIT_MEMLOCK].rlim_max, ==, 8192);
        g_assert_cmpint(r.nice, ==, 5);
        g_assert_cmpint(r.oom_score_adj, ==, 0);
}

static void test_skip(void) {
        g_test_skip("needs root: callers of other uids, a private mount namespace");
}

static void test_skip_valgrind(void) {
        g_test_skip("under valgrind, which answers pidfd_open with ENOSYS: the callers and the victim are pinned "
                    "by pidfds of the test's own");
}

int main(int argc, char *argv[]) {
        int r;

        g_test_init(&argc, &argv, NULL);
        if (geteuid() != 0) {
                g_test_add_func("/pipeline/skip", test_skip);
                return g_test_run();
        }
        if (test_under_valgrind()) {
                g_test_add_func("/pipeline/skip", test_skip_valgrind);
                return g_test_run();
        }
        setup();
        g_test_add_func("/pipeline/identity-direct", test_identity_direct);
        g_test_add_func("/pipeline/spawn", test_spawn);
        g_test_add_func("/pipeline/getfd", test_getfd);
        g_test_add_func("/pipeline/workload-signal", test_workload_signal);
        g_test_add_func("/pipeline/workload-wait-stop", test_workload_wait_stop);
        g_test_add_func("/pipeline/broker-signal", test_broker_signal);
        g_test_add_func("/pipeline/caller-resources", test_caller_resources);
        r = g_test_run();
        teardown();
        return r;
}
