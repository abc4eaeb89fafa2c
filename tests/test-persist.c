/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Workloads that outlive the daemon's process (issue 9, "State that
 * survives"): the per-workload records, re-adoption after SIGKILL by pidfs
 * identity with PIDs forced to be reused by decoys, Reexecute() under a
 * spawn/exit churn, and systemd's fd store stood in for by the test. The
 * real daemon on a real bus, clients as root and as nobody. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "daemon-harness.h"
#include "pid-reuse.h"
#include "test-util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* ---------- small helpers ---------- */

static char *record_path(const char *state_dir, guint64 id) {
        return g_strdup_printf("%s/workloads/%" G_GUINT64_FORMAT, state_dir, id);
}

static char *read_record(const char *state_dir, guint64 id) {
        g_autofree char *p = record_path(state_dir, id);
        char *contents = NULL;
        if (!g_file_get_contents(p, &contents, NULL, NULL))
                return NULL;
        return contents;
}

static bool pidfd_alive(int pidfd) {
        return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

static void pidfd_kill(int pidfd, int sig) {
        g_assert_cmpint(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0), ==, 0);
}

static GVariant *sleeper(const char *secs) {
        return argv_helper((const char *const[]) { "sleep", secs, NULL });
}

/* A processes whose command line is the helper's "sleep <marker>". */
static unsigned count_sleepers(const char *marker) {
        g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
        const char *n;
        unsigned count = 0;

        while ((n = g_dir_read_name(d))) {
                g_autofree char *p = g_strdup_printf("/proc/%s/cmdline", n);
                g_autofree char *c = NULL;
                gsize len;

                if (!g_ascii_isdigit(n[0]) || !g_file_get_contents(p, &c, &len, NULL) || len == 0)
                        continue;
                /* argv[1] "sleep", argv[2] the marker. */
                const char *a1 = c + strlen(c) + 1;
                if (a1 < c + len && g_str_equal(a1, "sleep") && a1 + strlen(a1) + 1 < c + len &&
                    g_str_equal(a1 + strlen(a1) + 1, marker))
                        count++;
        }
        return count;
}

/* ---------- client side ---------- */

/* Spawn a watch_client workload, say where it is, hold the connection
 * until stdin closes. */
static int client_watch_spawn(GDBusConnection *c) {
        g_autofree char *path = NULL;
        g_autoptr(GError) e = NULL;
        guint64 id;

        g_assert_true(spawn_full(c, sleeper("1000"), NULL, NULL, 0, ns_options(NULL, true, 0), &path, NULL, &id, &e));
        g_assert_no_error(e);
        printf("path=%s\nid=%" G_GUINT64_FORMAT "\npid=%u\n", path, id, get_u32(c, path, "Pid"));
        fflush(stdout);
        g_free(read_all_fd(STDIN_FILENO));
        return 0;
}

#define ERR_REEXECUTING "org.pidbroker.Error.Reexecuting"

/* What a call in flight across a re-exec may get: the daemon's connection
 * went away before it read the call (NoReply), the name is between the
 * two images (ServiceUnknown, NameHasNoOwner), or a Spawn came while the
 * re-exec was pending (Reexecuting). All mean "try again". */
static const char *retryable_error(GError *e) {
        static const char *const names[] = {
                "org.freedesktop.DBus.Error.NoReply",
                "org.freedesktop.DBus.Error.ServiceUnknown",
                "org.freedesktop.DBus.Error.NameHasNoOwner",
                ERR_REEXECUTING,
        };
        g_autofree char *remote = e ? g_dbus_error_get_remote_error(e) : NULL;

        for (size_t i = 0; remote && i < G_N_ELEMENTS(names); i++)
                if (g_str_equal(remote, names[i]))
                        return names[i];
        return NULL;
}

typedef struct Retries {
        unsigned no_reply, service_unknown, reexecuting;
} Retries;

static bool count_retry(GError *e, Retries *r) {
        const char *name = retryable_error(e);

        if (!name)
                return false;
        if (g_str_has_suffix(name, "NoReply"))
                r->no_reply++;
        else if (g_str_equal(name, ERR_REEXECUTING))
                r->reexecuting++;
        else
                r->service_unknown++;
        g_usleep(5000);
        return true;
}

/* A workload method, retried across re-execs; NULL with *error set on any
 * other error. */
static GVariant *call_retrying(GDBusConnection *c, const char *path, const char *method, const char *reply_type,
                               Retries *retries, GError **error) {
        for (;;) {
                g_autoptr(GError) e = NULL;
                GVariant *r = call(c, path, WORKLOAD_IFACE, method, NULL, reply_type, &e);
                if (r)
                        return r;
                if (!count_retry(e, retries)) {
                        g_propagate_error(error, g_steal_pointer(&e));
                        return NULL;
                }
        }
}

/* Spawn "exit <i % 200>", Wait, check, Release, until stdin closes; a
 * line per workload ("ok <id> <status>" or "bad <id> <what>"), then the
 * retries. */
static int client_churn(GDBusConnection *c) {
        Retries retries = {};
        unsigned n = 0, bad = 0;

        g_assert_cmpint(fcntl(STDIN_FILENO, F_SETFL, O_NONBLOCK), ==, 0);
        printf("started\n");
        fflush(stdout);
        for (;; n++) {
                g_autofree char *path = NULL, *expected = g_strdup_printf("%u", n % 200);
                g_autoptr(GError) e = NULL;
                guint64 id = 0;
                char b;

                if (read(STDIN_FILENO, &b, 1) == 0)
                        break;
                while (!spawn_full(c, argv_helper((const char *const[]) { "exit", expected, NULL }), NULL, NULL, 0,
                                   NULL, &path, NULL, &id, &e)) {
                        if (!count_retry(e, &retries))
                                g_error("Spawn: %s", e->message);
                        g_clear_error(&e);
                }
                g_autoptr(GVariant) w = call_retrying(c, path, "Wait", "(si)", &retries, &e);
                if (!w) {
                        printf("bad %" G_GUINT64_FORMAT " Wait: %s\n", id, e->message);
                        bad++;
                        continue;
                }
                const char *code;
                gint32 status;
                g_variant_get(w, "(&si)", &code, &status);
                if (!g_str_equal(code, "exited") || status != (gint32) (n % 200)) {
                        printf("bad %" G_GUINT64_FORMAT " (%s, %d), expected (exited, %u)\n", id, code, status, n % 200);
                        bad++;
                } else
                        printf("ok %" G_GUINT64_FORMAT " %d\n", id, status);
                g_autoptr(GVariant) rel = call_retrying(c, path, "Release", "()", &retries, &e);
                /* A Release the old image did, answered just before its
                 * exec, is never lost; a retried one finds it gone. */
                if (!rel && !g_str_has_suffix(e->message, "Unknown object") &&
                    !strstr(e->message, "UnknownObject"))
                        g_error("Release: %s", e->message);
        }
        printf("spawned=%u\nbad=%u\nno_reply=%u\nservice_unknown=%u\nreexecuting=%u\n", n, bad, retries.no_reply,
               retries.service_unknown, retries.reexecuting);
        return 0;
}

static int scenario_reuse(const char *dir, const char *exe);

static int client_main(int argc, char *argv[]) {
        const char *scenario = argv[2];

        if (g_str_equal(scenario, "reuse-scenario") && argc == 5)
                return scenario_reuse(argv[3], argv[4]);
        if (g_str_equal(scenario, "exec") && argc >= 4) {
                g_autoptr(GError) e = NULL;
                int status;
                g_assert_true(g_spawn_sync(NULL, argv + 3, NULL, G_SPAWN_CHILD_INHERITS_STDIN | G_SPAWN_STDOUT_TO_DEV_NULL,
                                           NULL, NULL, NULL, NULL, &status, &e));
                g_assert_no_error(e);
                printf("exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                return 0;
        }

        g_autoptr(GDBusConnection) c = client_connect(NULL);
        if (g_str_equal(scenario, "watch-spawn"))
                return client_watch_spawn(c);
        if (g_str_equal(scenario, "churn"))
                return client_churn(c);
        if (g_str_equal(scenario, "reexecute")) {
                g_autoptr(GError) e = NULL;
                g_autoptr(GVariant) r = call(c, BROKER_PATH, BROKER_IFACE, "Reexecute", NULL, "()", &e);
                g_autofree char *remote = e ? g_dbus_error_get_remote_error(e) : NULL;
                printf("result=%s\n", remote ?: "ok");
                return 0;
        }
        g_printerr("unknown scenario %s\n", scenario);
        return 2;
}

/* ---------- records ---------- */

static char *state_dir(void) {
        return g_build_filename(T.dir, "state", NULL);
}

/* A record is on disk when Spawn replies, says the exit status once the
 * workload exited, and is gone once it is released. */
static void test_record_lifecycle(void) {
        g_autofree char *dir = state_dir(), *path = NULL;
        g_autoptr(GError) e = NULL;
        guint64 id;

        g_assert_true(spawn_full(T.root, sleeper("1000"), NULL, NULL, 0, NULL, &path, NULL, &id, &e));
        g_assert_no_error(e);
        g_autofree char *running = read_record(dir, id);
        g_assert_nonnull(running);
        g_test_message("record:\n%s", running);
        g_assert_true(g_str_has_prefix(running, "pidbroker-workload 2\n"));
        g_autofree char *idline = g_strdup_printf("\nid %" G_GUINT64_FORMAT "\n", id);
        g_assert_nonnull(strstr(running, idline));
        g_assert_nonnull(strstr(running, "\nexit-code -\n"));
        g_assert_nonnull(strstr(running, "\nhandle fe "));

        g_autoptr(GVariant) r = call(T.root, path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        g_autofree char *exited = read_record(dir, id);
        g_assert_nonnull(strstr(exited, "\nexit-code killed\nexit-status 15\n"));

        release_workload(T.root, path);
        g_autofree char *gone = read_record(dir, id);
        g_assert_null(gone);
}

/* A record that cannot be written refuses the spawn, and the child is
 * killed and reaped: no orphan, no zombie, no temporary file. */
static void test_record_write_failure(void) {
        g_autofree char *dir = g_build_filename(T.dir, "state-full", NULL);
        g_autofree char *arg = g_strdup_printf("--state-directory=%s", dir);
        g_autofree char *wdir = g_build_filename(dir, "workloads", NULL);
        g_autoptr(GError) e = NULL;
        const char *extra[] = { arg, NULL };

        g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
        g_assert_cmpint(mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755"), ==, 0);
        g_assert_cmpint(g_mkdir(wdir, 0700), ==, 0);
        g_free(test_fill_fs(dir));
        daemon_restart(extra);

        g_assert_false(spawn_full(T.root, sleeper("987"), NULL, NULL, 0, NULL, NULL, NULL, NULL, &e));
        assert_dbus_error(e, ERR_SPAWN_FAILED);
        g_test_message("%s", e->message);
        g_assert_nonnull(strstr(e->message, "state record failed"));
        g_assert_nonnull(strstr(e->message, "ENOSPC"));
        /* The kill is sent before the reply; the reap follows at once. */
        for (int i = 0; i < 200 && (count_sleepers("987") > 0 || count_zombie_children(T.daemon_pid) > 0); i++)
                g_usleep(10000);
        g_assert_cmpuint(count_sleepers("987"), ==, 0);
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);
        g_autoptr(GDir) d = g_dir_open(wdir, 0, NULL);
        g_assert_null(g_dir_read_name(d));

        daemon_restart(NULL);
        g_assert_cmpint(umount2(dir, MNT_DETACH), ==, 0);
}

/* ---------- crash under forced PID reuse ---------- */

#define REUSE_PID_MAX 1000
#define REUSE_WORKLOADS 40
#define REUSE_KILLED 28   /* the first ones die while the daemon is down */
#define REUSE_DECOYS 20   /* and the pids of the first of those get decoys */
#define REUSE_PID_PATH 10 /* records of the first ones lose their handle: pidfd_open + id */

typedef struct SpawnedWorkload {
        char *path;
        guint64 id;
        pid_t pid;
        int pidfd;
} SpawnedWorkload;

/* Fork until each of the n target pids is a decoy that pauses until
 * killed; the other children are reaped at once, so the counter wraps.
 * Every child checks its own pid: gaps (live processes) do not matter.
 * Returns the number of forks. */
static unsigned fork_decoys(const pid_t *targets, size_t n, pid_t *ret) {
        unsigned forks = 0;
        size_t found = 0;

        fflush(stderr);
        while (found < n && forks < 20 * REUSE_PID_MAX) {
                pid_t p = fork();
                bool target = false;

                g_assert_cmpint(p, >=, 0);
                if (p == 0) {
                        pid_t self = getpid();
                        for (size_t i = 0; i < n; i++)
                                if (targets[i] == self)
                                        for (;;)
                                                pause();
                        _exit(0);
                }
                forks++;
                for (size_t i = 0; i < n; i++)
                        if (targets[i] == p) {
                                ret[i] = p;
                                found++;
                                target = true;
                        }
                if (!target)
                        g_assert_cmpint(waitpid(p, NULL, 0), ==, p);
        }
        g_assert_cmpuint(found, ==, n);
        return forks;
}

/* Replace a record's "handle ..." line by "handle -". */
static void record_drop_handle(const char *sdir, guint64 id) {
        g_autofree char *p = record_path(sdir, id);
        g_autofree char *c = NULL;
        g_autoptr(GError) e = NULL;

        g_assert_true(g_file_get_contents(p, &c, NULL, &e));
        char *h = strstr(c, "\nhandle ");
        g_assert_nonnull(h);
        char *eol = strchr(h + 1, '\n');
        g_autofree char *n = g_strdup_printf("%.*s\nhandle -%s", (int) (h - c), c, eol);
        /* CONSISTENT: GLib 2.74 writes NONE in place without truncating. */
        g_assert_true(g_file_set_contents_full(p, n, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e));
}

static void wait_reaped(pid_t pid, int *ret_status) {
        g_assert_cmpint(waitpid(pid, ret_status, 0), ==, pid);
}

/* Pid 1 of a pid namespace with pid_max REUSE_PID_MAX: start a daemon,
 * spawn workloads over the direct socket (the bus lives outside the
 * namespace, so its pids mean nothing to a daemon inside), SIGKILL the
 * daemon, kill some workloads and put decoys at their pids, start the
 * daemon again, and count. Prints to stderr only: stdout is the test's
 * TAP. */
static int scenario_reuse(const char *dir, const char *exe) {
        g_autofree char *sdir = g_build_filename(dir, "state-reuse", NULL);
        g_autofree char *state_arg = g_strdup_printf("--state-directory=%s", sdir);
        /* Lost workloads of a gone owner (direct socket) are kept for
         * ExitRetentionSec=: long enough for the checks below. */
        const char *extra[] = { state_arg, "--max-workloads-per-user=64", "--exit-retention-sec=600", NULL };
        SpawnedWorkload w[REUSE_WORKLOADS];
        g_autoptr(GDBusConnection) c = NULL;
        g_autoptr(GError) e = NULL;
        pid_t decoys[REUSE_DECOYS];
        unsigned wrong = 0, readopted = 0, lost = 0, decoys_alive = 0;
        char *code = NULL;
        int status;

        self_exe = exe;
        T.dir = g_strdup(dir);
        T.address = g_strdup(g_getenv("DBUS_SYSTEM_BUS_ADDRESS"));
        T.private_socket = g_build_filename(dir, "private-reuse", NULL);
        T.daemon_log = g_build_filename(dir, "daemon-reuse.log", NULL);
        T.rules_dir = g_build_filename(dir, "rules.d", NULL);
        T.audit_log = g_build_filename(dir, "audit", "audit.jsonl", NULL);

        /* Pids below PID_RESERVED are never handed out again: burn them
         * (no thread exists yet to mind the forks). */
        for (;;) {
                pid_t p = fork();
                g_assert_cmpint(p, >=, 0);
                if (p == 0)
                        _exit(0);
                g_assert_cmpint(waitpid(p, NULL, 0), ==, p);
                if (p >= PID_RESERVED + 10)
                        break;
        }

        /* The bus only to see the daemon's name come. */
        T.root = g_dbus_connection_new_for_address_sync(
                T.address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &e);
        g_assert_no_error(e);
        daemon_start(extra);
        c = client_connect(T.private_socket);

        for (size_t i = 0; i < REUSE_WORKLOADS; i++) {
                (void) spawn_full(c, sleeper("1000"), NULL, NULL, 0, NULL, &w[i].path, &w[i].pidfd, &w[i].id, &e);
                g_assert_no_error(e);
                w[i].pid = (pid_t) get_u32(c, w[i].path, "Pid");
                g_assert_cmpint(w[i].pid, >=, PID_RESERVED);
        }

        /* The crash. Its children are ours now (we are pid 1). */
        g_assert_cmpint(kill(T.daemon_pid, SIGKILL), ==, 0);
        wait_reaped(T.daemon_pid, &status);
        T.daemon_pid = 0;
        g_clear_object(&c);
        for (int i = 0; i < 200 && name_has_owner(T.root, BROKER_NAME); i++)
                g_usleep(20000);

        for (size_t i = 0; i < REUSE_KILLED; i++) {
                pidfd_kill(w[i].pidfd, SIGKILL);
                wait_reaped(w[i].pid, &status);
                if (i < REUSE_PID_PATH)
                        record_drop_handle(sdir, w[i].id);
        }
        /* Decoys at the dead pids. */
        pid_t targets[REUSE_DECOYS];
        for (size_t i = 0; i < REUSE_DECOYS; i++)
                targets[i] = w[i].pid;
        unsigned forks = fork_decoys(targets, REUSE_DECOYS, decoys);
        g_printerr("reuse: %d decoys at the pids of dead workloads after %u forks\n", REUSE_DECOYS, forks);

        daemon_start(extra);
        c = client_connect(T.private_socket);

        for (size_t i = 0; i < REUSE_WORKLOADS; i++) {
                g_autofree char *state = get_str(c, w[i].path, "State");
                guint32 pid = get_u32(c, w[i].path, "Pid");
                bool dead = i < REUSE_KILLED;

                g_assert_cmpuint(get_u64(c, w[i].path, "Id"), ==, w[i].id);
                if (dead && (!g_str_equal(state, "lost") || pid != 0))
                        wrong++;
                if (!dead && (!g_str_equal(state, "running") || pid != (guint32) w[i].pid))
                        wrong++;
                g_printerr("workload %" G_GUINT64_FORMAT " pid %d: %s (%s%s)\n", w[i].id, (int) w[i].pid, state,
                           dead ? (i < REUSE_DECOYS ? "dead, pid reused by a decoy" : "dead") : "alive",
                           i < REUSE_PID_PATH ? ", record without a handle" : "");
                if (dead)
                        lost++;
                else
                        readopted++;
        }
        for (size_t i = 0; i < REUSE_DECOYS; i++) {
                siginfo_t si = {};
                if (waitid(P_PID, (id_t) decoys[i], &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0)
                        decoys_alive++;
                else
                        wrong++;
        }

        /* Lost: no wait, no signal, no Stop; Release forgets it. */
        for (size_t i = 0; i < REUSE_KILLED; i++) {
                g_autoptr(GError) le = NULL;
                g_autoptr(GVariant) r1 = call(c, w[i].path, WORKLOAD_IFACE, "Wait", NULL, "(si)", &le);
                assert_dbus_error(le, ERR_NOSUCH);
                g_clear_error(&le);
                g_autoptr(GVariant) r2 = call(c, w[i].path, WORKLOAD_IFACE, "Signal", g_variant_new("(iu)", SIGKILL, 0),
                                              "()", &le);
                assert_dbus_error(le, ERR_NOSUCH);
                g_clear_error(&le);
                g_autoptr(GVariant) r3 = call(c, w[i].path, WORKLOAD_IFACE, "Stop", NULL, "(si)", &le);
                assert_dbus_error(le, ERR_NOSUCH);
                release_workload(c, w[i].path);
                g_autofree char *rec = read_record(sdir, w[i].id);
                g_assert_null(rec);
        }

        /* A re-adopted workload is no child of the new daemon: its status
         * comes through PIDFD_INFO_EXIT once we (its reaper) reaped it. */
        size_t a = REUSE_KILLED;
        pidfd_kill(w[a].pidfd, SIGTERM);
        wait_reaped(w[a].pid, &status);
        wait_workload(c, w[a].path, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        g_free(code);

        /* Decoys untouched to the end. */
        for (size_t i = 0; i < REUSE_DECOYS; i++) {
                siginfo_t si = {};
                g_assert_cmpint(waitid(P_PID, (id_t) decoys[i], &si, WEXITED | WNOHANG | WNOWAIT), ==, 0);
                g_assert_cmpint(si.si_pid, ==, 0);
        }

        g_printerr("reuse: %u re-adopted, %u lost (%d with pids reused by decoys, %d proven by pid and id only), "
                   "%u decoys untouched, %u wrong adoptions\n",
                   readopted, lost, REUSE_DECOYS, REUSE_PID_PATH, decoys_alive, wrong);
        g_assert_cmpuint(wrong, ==, 0);
        g_clear_object(&c);
        daemon_stop();
        for (size_t i = 0; i < REUSE_WORKLOADS; i++) {
                g_free(w[i].path);
                if (w[i].pidfd >= 0)
                        close(w[i].pidfd);
        }
        return 0;
}

static int exec_scenario(void *userdata) {
        char **argv = userdata;
        execv(argv[0], argv);
        return 127;
}

static void test_crash_pid_reuse(void) {
        PidReuseError err = {};
        const char *argv[] = { self_exe, "--client", "reuse-scenario", T.dir, self_exe, NULL };
        int r;

        /* The scenario's daemon takes the bus name. */
        daemon_stop();
        r = pid_reuse_run(REUSE_PID_MAX, exec_scenario, (void *) argv, &err);
        daemon_start(NULL);
        if (r == -EOPNOTSUPP) {
                g_test_skip("pid_max is not per pid namespace (Linux < 6.14)");
                return;
        }
        if (r < 0)
                g_error("pid_reuse_run: %s: %s", err.step ?: "?", g_strerror(err.err));
        g_assert_true(WIFEXITED(r));
        g_assert_cmpint(WEXITSTATUS(r), ==, 0);
}

/* SIGKILL of the daemon, then a restart, on the system bus: live
 * workloads come back with the same ids and paths, an exited one with its
 * status, one that died while the daemon was down is lost (nothing kept
 * its status), and a watch_client workload is stopped when its owner,
 * still connected across the restart, leaves. We are a subreaper: the
 * orphans are ours to reap, when we choose. */
static void test_crash_readopt(void) {
        g_autofree char *p_live = NULL, *p_dead = NULL, *p_exited = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        int fd_live, fd_dead, status;
        guint64 id_live, id_dead;

        g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1), ==, 0);
        (void) spawn_full(T.root, sleeper("1000"), NULL, NULL, 0, NULL, &p_live, &fd_live, &id_live, &e);
        g_assert_no_error(e);
        (void) spawn_full(T.root, sleeper("1000"), NULL, NULL, 0, NULL, &p_dead, &fd_dead, &id_dead, &e);
        g_assert_no_error(e);
        (void) spawn_full(T.root, argv_helper((const char *const[]) { "exit", "7", NULL }), NULL, NULL, 0, NULL,
                          &p_exited, NULL, NULL, &e);
        g_assert_no_error(e);
        wait_workload(T.root, p_exited, &code, &status);
        g_clear_pointer(&code, g_free);
        pid_t live_pid = (pid_t) get_u32(T.root, p_live, "Pid"), dead_pid = (pid_t) get_u32(T.root, p_dead, "Pid");

        g_autoptr(GSubprocess) watcher = client_start(UID_NOBODY, (const char *const[]) { "watch-spawn", NULL });
        g_autofree char *out = client_read_lines(watcher, 3);
        g_autofree char *watch_path = client_output_get(out, "path");
        g_autofree char *watch_pid_s = client_output_get(out, "pid");
        pid_t watch_pid = atoi(watch_pid_s);
        int watch_pidfd = pidfd_open_or_die(watch_pid);
        /* Its owner leaves while the daemon is down. */
        g_autoptr(GSubprocess) leaver = client_start(UID_NOBODY, (const char *const[]) { "watch-spawn", NULL });
        g_autofree char *out2 = client_read_lines(leaver, 3);
        g_autofree char *left_pid_s = client_output_get(out2, "pid");
        pid_t left_pid = atoi(left_pid_s);
        int left_pidfd = pidfd_open_or_die(left_pid);

        g_assert_cmpint(kill(T.daemon_pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(T.daemon_pid, &status, 0), ==, T.daemon_pid);
        T.daemon_pid = 0;
        for (int i = 0; i < 200 && name_has_owner(T.root, BROKER_NAME); i++)
                g_usleep(20000);
        pidfd_kill(fd_dead, SIGKILL);
        wait_reaped(dead_pid, &status);
        g_assert_true(g_output_stream_close(g_subprocess_get_stdin_pipe(leaver), NULL, NULL));
        client_finish(leaver);
        g_assert_true(pidfd_alive(left_pidfd));

        daemon_start(NULL);
        /* Its owner's name is gone: stopped at re-adoption. */
        g_assert_true(fd_readable_within(left_pidfd, 30000));
        wait_reaped(left_pid, &status);
        g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        close(left_pidfd);
        g_assert_cmpuint(get_u64(T.root, p_live, "Id"), ==, id_live);
        g_assert_cmpuint(get_u32(T.root, p_live, "Pid"), ==, (guint32) live_pid);
        g_autofree char *s_live = get_str(T.root, p_live, "State");
        g_assert_cmpstr(s_live, ==, "running");
        g_autofree char *s_dead = get_str(T.root, p_dead, "State");
        g_assert_cmpstr(s_dead, ==, "lost");
        get_exit_status(T.root, p_exited, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 7);
        g_clear_pointer(&code, g_free);
        g_assert_true(managed_objects_contain(T.root, p_live));
        g_autoptr(GVariant) argv = get_property(T.root, p_live, WORKLOAD_IFACE, "Argv", &e);
        g_assert_no_error(e);
        g_assert_cmpuint(g_variant_n_children(argv), ==, 3);

        /* Exit through PIDFD_INFO_EXIT once we reaped it. */
        pidfd_kill(fd_live, SIGTERM);
        wait_reaped(live_pid, &status);
        wait_workload(T.root, p_live, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGTERM);
        g_clear_pointer(&code, g_free);

        /* watch_client across the restart. */
        g_autofree char *s_watch = get_str(T.root, watch_path, "State");
        g_assert_cmpstr(s_watch, ==, "running");
        g_assert_true(g_output_stream_close(g_subprocess_get_stdin_pipe(watcher), NULL, NULL));
        client_finish(watcher);
        g_assert_true(fd_readable_within(watch_pidfd, 30000));
        wait_reaped(watch_pid, &status);
        g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

        release_workload(T.root, p_live);
        release_workload(T.root, p_dead);
        release_workload(T.root, p_exited);
        close(fd_live);
        close(fd_dead);
        close(watch_pidfd);
        g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 0), ==, 0);
}

/* ---------- Reexecute ---------- */

static char *broker_owner(void) {
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(T.root, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                            "org.freedesktop.DBus", "GetNameOwner",
                                                            g_variant_new("(s)", BROKER_NAME), G_VARIANT_TYPE("(s)"),
                                                            G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
        char *owner = NULL;
        if (r)
                g_variant_get(r, "(s)", &owner);
        return owner;
}

/* Reexecute() as root, then wait for the new image on the bus: the same
 * process, a new connection. */
static void reexecute(void) {
        g_autofree char *before = broker_owner();
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) r = call(T.root, BROKER_PATH, BROKER_IFACE, "Reexecute", NULL, "()", &e);
        g_assert_no_error(e);

        for (int i = 0; i < 1000; i++) {
                g_autofree char *now = broker_owner();
                if (now && !g_str_equal(now, before))
                        break;
                g_assert_cmpint(waitpid(T.daemon_pid, NULL, WNOHANG), ==, 0);
                g_usleep(10000);
        }
        g_autofree char *after = broker_owner();
        g_assert_nonnull(after);
        g_assert_cmpstr(after, !=, before);
}

/* Every workload keeps its id, path, state and status across the re-exec;
 * the daemon stays the parent (Stop and exit statuses as before), a
 * watch_client owner is still followed, and the call is the admin's only,
 * recorded either way. */
static void test_reexecute(void) {
        g_autofree char *p_run = NULL, *p_exited = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        guint64 id_run;
        int fd_run, status;
        pid_t daemon_pid = T.daemon_pid;

        (void) spawn_full(T.root, sleeper("1000"), NULL, NULL, 0, NULL, &p_run, &fd_run, &id_run, &e);
        g_assert_no_error(e);
        (void) spawn_full(T.root, argv_helper((const char *const[]) { "exit", "9", NULL }), NULL, NULL, 0, NULL,
                          &p_exited, NULL, NULL, &e);
        g_assert_no_error(e);
        wait_workload(T.root, p_exited, &code, &status);
        g_clear_pointer(&code, g_free);
        guint32 pid_run = get_u32(T.root, p_run, "Pid");

        g_autoptr(GSubprocess) watcher = client_start(UID_NOBODY, (const char *const[]) { "watch-spawn", NULL });
        g_autofree char *out = client_read_lines(watcher, 3);
        g_autofree char *watch_path = client_output_get(out, "path");
        g_autofree char *watch_pid = client_output_get(out, "pid");
        int watch_pidfd = pidfd_open_or_die(atoi(watch_pid));

        /* nobody may not. */
        g_autofree char *denied = client_run(UID_NOBODY, (const char *const[]) { "reexecute", NULL });
        g_autofree char *result = client_output_get(denied, "result");
        g_assert_cmpstr(result, ==, ERR_DENIED);

        reexecute();
        reexecute();
        g_assert_cmpint(T.daemon_pid, ==, daemon_pid);

        g_assert_cmpuint(get_u64(T.root, p_run, "Id"), ==, id_run);
        g_assert_cmpuint(get_u32(T.root, p_run, "Pid"), ==, pid_run);
        g_autofree char *state = get_str(T.root, p_run, "State");
        g_assert_cmpstr(state, ==, "running");
        get_exit_status(T.root, p_exited, &code, &status);
        g_assert_cmpstr(code, ==, "exited");
        g_assert_cmpint(status, ==, 9);
        g_clear_pointer(&code, g_free);

        /* Still the parent: GetPidfd hands out the same process, Stop
         * replies with the status waitid() gave. */
        g_autoptr(GVariant) r = call(T.root, p_run, WORKLOAD_IFACE, "Stop", NULL, "(si)", &e);
        g_assert_no_error(e);
        const char *c;
        gint32 st;
        g_variant_get(r, "(&si)", &c, &st);
        g_assert_cmpstr(c, ==, "killed");
        g_assert_cmpint(st, ==, SIGTERM);
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);

        g_assert_true(g_output_stream_close(g_subprocess_get_stdin_pipe(watcher), NULL, NULL));
        client_finish(watcher);
        g_assert_true(fd_readable_within(watch_pidfd, 30000));
        for (int i = 0; i < 200; i++) {
                g_autofree char *now = get_str(T.root, watch_path, "State");
                if (g_strcmp0(now, "exited") == 0)
                        break;
                g_usleep(10000);
        }
        g_autofree char *wstate = get_str(T.root, watch_path, "State");
        g_assert_cmpstr(wstate, ==, "exited");

        /* Recorded: two allows with their outcomes, one denial. */
        g_autoptr(GPtrArray) recs = audit_records();
        unsigned allowed = 0, denials = 0;
        for (guint i = 0; i < recs->len; i++) {
                if (g_strcmp0(jv_str(recs->pdata[i], "action"), "org.pidbroker.manage-daemon") != 0)
                        continue;
                if (g_str_equal(jv_str(recs->pdata[i], "decision"), "allow"))
                        allowed++;
                else
                        denials++;
        }
        g_assert_cmpuint(allowed, ==, 2);
        g_assert_cmpuint(denials, ==, 1);

        release_workload(T.root, p_run);
        release_workload(T.root, p_exited);
        close(fd_run);
        close(watch_pidfd);
}

/* pidbrokerctl daemon-reexec: root's returns once the new image is on the
 * bus; nobody's is denied and fails. */
static void test_ctl_daemon_reexec(void) {
        const char *ctl = g_getenv("PIDBROKERCTL");
        g_autofree char *before = broker_owner(), *err = NULL;
        g_autoptr(GError) e = NULL;
        int status;

        g_assert_nonnull(ctl);
        const char *argv[] = { ctl, "daemon-reexec", NULL };
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err, &status, &e));
        g_assert_no_error(e);
        g_test_message("root: %s", err);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        g_autofree char *after = broker_owner();
        g_assert_nonnull(after);
        g_assert_cmpstr(after, !=, before);

        g_autofree char *ctl_copy = g_strdup(test_public_copy(ctl));
        g_autofree char *out = client_run(UID_NOBODY, (const char *const[]) { "exec", ctl_copy, "daemon-reexec", NULL });
        g_autofree char *code = client_output_get(out, "exit");
        g_assert_cmpstr(code, !=, "0");
        g_autofree char *same = broker_owner();
        g_assert_cmpstr(same, ==, after);
}

/* A Stop under way at the re-exec: the SIGTERM went out before, the new
 * image arms the SIGKILL timer again, and the Stop caller, who got NoReply,
 * finds the workload killed. */
static void test_reexecute_while_stopping(void) {
        g_autofree char *path = NULL, *code = NULL, *ready = NULL;
        g_autoptr(GError) e = NULL;
        int p[2], status;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        FdMap fds[] = { { 1, p[1] } };
        (void) spawn_full(T.root, argv_helper((const char *const[]) { "ignore-term", "1000", NULL }), NULL, fds, 1,
                          ns_options(NULL, false, 1500000), &path, NULL, NULL, &e);
        g_assert_no_error(e);
        close(p[1]);
        ready = read_line_fd(p[0], 30000);
        g_assert_cmpstr(ready, ==, "ready");
        close(p[0]);

        /* Stop, not waited for; the Reexecute behind it on the same
         * connection is read after it. */
        g_dbus_connection_call(T.root, BROKER_NAME, path, WORKLOAD_IFACE, "Stop", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
                               -1, NULL, NULL, NULL);
        reexecute();
        wait_workload(T.root, path, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGKILL);
        release_workload(T.root, path);
}

#define CHURN_REEXECS 5

/* A client spawns short workloads in a loop and waits for each, while the
 * daemon re-executes again and again: every Spawn that returned an id gets
 * that workload's own exit status, none is lost. */
static void test_reexecute_churn(void) {
        g_autoptr(GSubprocess) churn = client_start(UID_NOBODY, (const char *const[]) { "churn", NULL });
        g_autofree char *started = client_read_lines(churn, 1);
        g_assert_cmpstr(started, ==, "started\n");

        for (int i = 0; i < CHURN_REEXECS; i++) {
                g_usleep(100000);
                reexecute();
        }
        g_usleep(100000);
        g_assert_true(g_output_stream_close(g_subprocess_get_stdin_pipe(churn), NULL, NULL));
        g_autofree char *out = read_all_fd(client_stdout_fd(churn));
        client_finish(churn);

        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        unsigned ok = 0;
        for (char **l = lines; *l; l++) {
                if (g_str_has_prefix(*l, "bad "))
                        g_error("%s", *l);
                if (g_str_has_prefix(*l, "ok "))
                        ok++;
        }
        g_autofree char *spawned = client_output_get(out, "spawned");
        g_autofree char *no_reply = client_output_get(out, "no_reply");
        g_autofree char *unknown = client_output_get(out, "service_unknown");
        g_autofree char *reexecuting = client_output_get(out, "reexecuting");
        g_autofree char *summary = g_strdup_printf(
                "churn: %s workloads over %d re-execs, %u with their exit status, %d without; retried: %s NoReply, "
                "%s ServiceUnknown, %s Reexecuting",
                spawned, CHURN_REEXECS, ok, atoi(spawned) - (int) ok, no_reply, unknown, reexecuting);
        g_test_message("%s", summary);
        g_printerr("%s\n", summary);
        g_assert_cmpuint(ok, ==, (unsigned) atoi(spawned));
        g_assert_cmpuint(ok, >, 0);
        g_assert_cmpuint(count_zombie_children(T.daemon_pid), ==, 0);
}

/* ---------- systemd's fd store, stood in for ---------- */

#define STORE_MAX 16

/* What the daemon pushed to our NOTIFY_SOCKET: name → fd. */
typedef struct FdStore {
        int sock;
        char *names[STORE_MAX];
        int fds[STORE_MAX];
        size_t n;
        unsigned removed;
} FdStore;

static void store_drop(FdStore *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (g_str_equal(s->names[i], name)) {
                        g_free(s->names[i]);
                        close(s->fds[i]);
                        s->names[i] = s->names[--s->n];
                        s->fds[i] = s->fds[s->n];
                        s->removed++;
                        return;
                }
}

/* Every datagram waiting: FDSTORE=1 with its fd, FDSTOREREMOVE=1, READY=1. */
static void store_drain(FdStore *s) {
        for (;;) {
                char buf[4096];
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred))];
                } control = {};
                struct iovec iov = { buf, sizeof buf - 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof control };
                ssize_t n = recvmsg(s->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                int fd = -1;

                if (n < 0 && errno == EAGAIN)
                        return;
                g_assert_cmpint(n, >=, 0);
                buf[n] = '\0';
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                g_assert_cmpuint(c->cmsg_len, ==, CMSG_LEN(sizeof(int)));
                                memcpy(&fd, CMSG_DATA(c), sizeof fd);
                        }
                const char *name = strstr(buf, "FDNAME=");
                g_autofree char *nm = name ? g_strndup(name + 7, strcspn(name + 7, "\n")) : NULL;
                if (strstr(buf, "FDSTORE=1")) {
                        g_assert_nonnull(nm);
                        g_assert_cmpint(fd, >=, 0);
                        g_assert_cmpuint(s->n, <, STORE_MAX);
                        s->names[s->n] = g_steal_pointer(&nm);
                        s->fds[s->n++] = fd;
                } else if (strstr(buf, "FDSTOREREMOVE=1")) {
                        g_assert_nonnull(nm);
                        store_drop(s, nm);
                } else
                        g_assert_cmpint(fd, <, 0);
        }
}

static bool store_has(FdStore *s, guint64 id) {
        g_autofree char *name = g_strdup_printf("w-%" G_GUINT64_FORMAT, id);
        for (int i = 0; i < 500; i++) {
                store_drain(s);
                for (size_t k = 0; k < s->n; k++)
                        if (g_str_equal(s->names[k], name))
                                return true;
                g_usleep(10000);
        }
        return false;
}

/* The daemon pushes each workload's pidfd to NOTIFY_SOCKET and takes it
 * out at release; after SIGKILL and a restart with those pidfds as
 * LISTEN_FDS, the exit status of a workload that ended while it was down
 * comes back through PIDFD_INFO_EXIT: exited, not lost. */
static void test_fd_store(void) {
        g_autofree char *sock_path = g_build_filename(T.dir, "notify", NULL);
        g_autofree char *p_dead = NULL, *p_live = NULL, *p_released = NULL, *code = NULL;
        g_autoptr(GError) e = NULL;
        guint64 id_dead, id_live, id_released;
        int fd_dead, fd_live, status;
        FdStore store = {};
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        store.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(store.sock, >=, 0);
        g_strlcpy(sa.sun_path, sock_path, sizeof sa.sun_path);
        g_assert_cmpint(bind(store.sock, (struct sockaddr *) &sa, sizeof sa), ==, 0);

        g_setenv("NOTIFY_SOCKET", sock_path, TRUE);
        daemon_restart(NULL);
        g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1), ==, 0);

        (void) spawn_full(T.root, sleeper("1000"), NULL, NULL, 0, NULL, &p_dead, &fd_dead, &id_dead, &e);
        g_assert_no_error(e);
        (void) spawn_full(T.root, sleeper("1000"), NULL, NULL, 0, NULL, &p_live, &fd_live, &id_live, &e);
        g_assert_no_error(e);
        (void) spawn_full(T.root, argv_helper((const char *const[]) { "exit", "3", NULL }), NULL, NULL, 0, NULL,
                          &p_released, NULL, &id_released, &e);
        g_assert_no_error(e);
        g_assert_true(store_has(&store, id_dead));
        g_assert_true(store_has(&store, id_live));
        g_assert_true(store_has(&store, id_released));
        wait_workload(T.root, p_released, &code, &status);
        g_clear_pointer(&code, g_free);
        release_workload(T.root, p_released);
        for (int i = 0; i < 500 && store.removed == 0; i++) {
                store_drain(&store);
                g_usleep(10000);
        }
        g_assert_cmpuint(store.removed, ==, 1);
        g_assert_cmpuint(store.n, ==, 2);

        /* The crash; the workload dies and is reaped (by us) meanwhile. */
        pid_t dead_pid = (pid_t) get_u32(T.root, p_dead, "Pid");
        g_assert_cmpint(kill(T.daemon_pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(T.daemon_pid, &status, 0), ==, T.daemon_pid);
        T.daemon_pid = 0;
        for (int i = 0; i < 200 && name_has_owner(T.root, BROKER_NAME); i++)
                g_usleep(20000);
        pidfd_kill(fd_dead, SIGKILL);
        wait_reaped(dead_pid, &status);

        /* Restarted as systemd would: the stored fds from 3 on. */
        GString *names = g_string_new(NULL);
        for (size_t i = 0; i < store.n; i++)
                g_string_append_printf(names, "%s%s", i ? ":" : "", store.names[i]);
        g_autofree char *n_fds = g_strdup_printf("%zu", store.n);
        g_setenv("LISTEN_FDS", n_fds, TRUE);
        g_setenv("LISTEN_FDNAMES", names->str, TRUE);
        daemon_start_with_fds(NULL, store.fds, store.n);
        g_unsetenv("LISTEN_FDS");
        g_unsetenv("LISTEN_FDNAMES");
        g_string_free(names, TRUE);

        g_autofree char *s_dead = get_str(T.root, p_dead, "State");
        g_assert_cmpstr(s_dead, ==, "exited");
        get_exit_status(T.root, p_dead, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        g_assert_cmpint(status, ==, SIGKILL);
        g_clear_pointer(&code, g_free);
        g_autofree char *sdir = state_dir();
        g_autofree char *record = read_record(sdir, id_dead);
        g_assert_nonnull(strstr(record, "\nexit-code killed\nexit-status 9\n"));
        g_autofree char *s_live = get_str(T.root, p_live, "State");
        g_assert_cmpstr(s_live, ==, "running");

        pidfd_kill(fd_live, SIGTERM);
        wait_reaped((pid_t) get_u32(T.root, p_live, "Pid"), &status);
        wait_workload(T.root, p_live, &code, &status);
        g_assert_cmpstr(code, ==, "killed");
        release_workload(T.root, p_dead);
        release_workload(T.root, p_live);
        for (int i = 0; i < 500 && store.n > 0; i++) {
                store_drain(&store);
                g_usleep(10000);
        }
        g_assert_cmpuint(store.n, ==, 0);

        g_unsetenv("NOTIFY_SOCKET");
        daemon_restart(NULL);
        g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 0), ==, 0);
        close(store.sock);
        close(fd_dead);
        close(fd_live);
}

static void register_tests(void) {
        add_test("record-lifecycle", test_record_lifecycle);
        add_test("record-write-failure", test_record_write_failure);
        add_test("crash-readopt", test_crash_readopt);
        add_test("crash-pid-reuse", test_crash_pid_reuse);
        add_test("reexecute", test_reexecute);
        add_test("reexecute-while-stopping", test_reexecute_while_stopping);
        add_test("reexecute-churn", test_reexecute_churn);
        add_test("ctl-daemon-reexec", test_ctl_daemon_reexec);
        add_test("fd-store", test_fd_store);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = {
                .suite = "persist",
        };
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
