/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libpidbroker against the real pidbrokerd on the private test bus of
 * tests/daemon-harness.c: examples/spawn-wait-stop.c built with nothing but
 * `pkg-config --cflags --libs libpidbroker` and run as root and as nobody,
 * then the library's calls one by one in this process (root): the options
 * builder, the error mapping, async wait and stop on sd-event, a lost
 * connection, GetFd and Signal by pidfd, Subscribe. Nothing but TAP on stdout. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "pidbroker.h"
#include "test-util.h"

static pidbroker_client *lib_connect(void) {
        pidbroker_client *c = NULL;

        g_assert_cmpint(pidbroker_connect_address(T.address, &c), ==, 0);
        return c;
}

static void drop_to_nobody(gpointer data) {
        if (setgroups(0, NULL) < 0 || setresgid(UID_NOBODY, UID_NOBODY, UID_NOBODY) < 0 ||
            setresuid(UID_NOBODY, UID_NOBODY, UID_NOBODY) < 0)
                _exit(124);
}

static char *kv(const char *out, const char *key) {
        return client_output_get(out, key);
}

/* ---------- the pkg-config program ---------- */

static const char *example_binary(void) {
        static char *bin = NULL;
        g_autofree char *cflags = NULL, *err = NULL, *cmd = NULL, *out = NULL;
        g_autofree char *src = g_build_filename(g_getenv("PIDBROKER_SOURCE_ROOT"), "examples", "spawn-wait-stop.c", NULL);
        g_autofree char *built = g_build_filename(T.dir, "spawn-wait-stop", NULL);
        const char *pc_path = g_getenv("LIBPIDBROKER_PKG_CONFIG_PATH");
        int status;

        if (bin)
                return bin;
        g_assert_nonnull(pc_path);
        /* The build line a user types, with meson's uninstalled .pc file. */
        /* Plus the sanitizer flags of a sanitized build (only then). */
        cmd = g_strdup_printf("env PKG_CONFIG_PATH=%s sh -c 'cc -Wall -Werror %s -o %s %s "
                              "$(pkg-config --cflags --libs libpidbroker)'",
                              pc_path, g_getenv("LIBPIDBROKER_EXTRA_CFLAGS") ?: "", built, src);
        g_test_message("$ %s", cmd);
        g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
        g_test_message("%s%s", out, err);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        bin = g_strdup(test_public_copy(built));
        return bin;
}

static char *run_example(bool nobody, const char *const *args, int *ret_exit) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_auto(GStrv) envp = g_get_environ();
        g_autofree char *lib = g_build_filename(g_getenv("LIBPIDBROKER_DIR"), "libpidbroker.so.0", NULL);
        g_autofree char *libdir = g_path_get_dirname(test_public_copy(lib));
        g_autofree char *err = NULL;
        char *out = NULL;
        int status;

        g_ptr_array_add(argv, (char *) example_binary());
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        envp = g_environ_setenv(envp, "DBUS_SYSTEM_BUS_ADDRESS", T.address, TRUE);
        envp = g_environ_setenv(envp, "LD_LIBRARY_PATH", libdir, TRUE);
        g_assert_true(g_spawn_sync("/", (char **) argv->pdata, envp, G_SPAWN_DEFAULT, nobody ? drop_to_nobody : NULL,
                                   NULL, &out, &err, &status, NULL));
        g_test_message("%s: exit %d\nstdout:\n%s\nstderr:\n%s", nobody ? "nobody" : "root", status, out, err);
        *ret_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return out;
}

static void check_example_output(const char *out) {
        g_autofree char *id = kv(out, "id"), *pid = kv(out, "pid"), *path = kv(out, "path");
        g_autofree char *wait = kv(out, "wait"), *code = kv(out, "wait_code"), *stop = kv(out, "stop");
        g_autofree char *after = kv(out, "signal_after_stop"), *async = kv(out, "async");
        g_autofree char *relative = kv(out, "relative_path");
        g_autofree char *expected_path = g_strdup_printf(WORKLOAD_PREFIX "/%s", id);
        g_autofree char *hello = g_strdup_printf("hello from %s\n", pid);
        g_autofree char *err_invalid = g_strdup_printf("%d " ERR_INVALID, -EINVAL);

        g_assert_cmpstr(path, ==, expected_path);
        /* The pid the library read off the pidfd is the one the workload saw. */
        g_assert_cmpint(atoi(pid), >, 0);
        g_assert_nonnull(strstr(out, hello));
        g_assert_cmpstr(wait, ==, "exited 5");
        g_assert_cmpstr(code, ==, "5");
        g_assert_cmpstr(stop, ==, "killed 15");
        /* An exited workload is gone: NoSuchProcess, mapped to -ESRCH. */
        g_assert_true(g_str_has_prefix(after, "-3 "));
        g_assert_cmpstr(async, ==, "exited 7");
        g_assert_cmpstr(relative, ==, err_invalid);
}

static void test_pkg_config_program(void) {
        g_autofree char *root_out = NULL, *nobody_out = NULL, *direct_out = NULL;
        g_autofree char *direct = g_strdup_printf("--direct=%s", T.private_socket);
        int exit_code;

        root_out = run_example(false, (const char *const[]) { "5", NULL }, &exit_code);
        g_assert_cmpint(exit_code, ==, 0);
        check_example_output(root_out);

        nobody_out = run_example(true, (const char *const[]) { "5", NULL }, &exit_code);
        g_assert_cmpint(exit_code, ==, 0);
        check_example_output(nobody_out);

        direct_out = run_example(false, (const char *const[]) { direct, "5", NULL }, &exit_code);
        g_assert_cmpint(exit_code, ==, 0);
        check_example_output(direct_out);
}

/* ---------- the library in this process ---------- */

static pidbroker_spawn *helper_spawn(const char *const *args) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        pidbroker_spawn *s = NULL;

        g_ptr_array_add(argv, (char *) test_helper_path());
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);
        g_assert_cmpint(pidbroker_spawn_new(&s), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_argv(s, (const char *const *) argv->pdata), ==, 0);
        return s;
}

#define HELPER_SPAWN(...) helper_spawn((const char *const[]) { __VA_ARGS__, NULL })

/* Spawn s with fd 1 on a pipe; wait; return what it wrote. */
static char *spawn_and_read(pidbroker_client *c, pidbroker_spawn *s, pidbroker_exit_status *ret_status) {
        pidbroker_workload *w = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        int p[2];
        char *out;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_fd(s, 1, p[1]), ==, 0);
        close(p[1]);
        if (pidbroker_spawn_call(c, s, &w, &e) < 0)
                g_error("Spawn: %s: %s", e.name, e.message);
        pidbroker_spawn_free(s);      /* drops our copy of the write end */
        out = test_read_all(p[0]);
        close(p[0]);
        g_assert_cmpint(pidbroker_workload_wait(w, ret_status, &e), ==, 0);
        g_assert_cmpint(pidbroker_workload_release(w, &e), ==, 0);
        pidbroker_workload_unref(w);
        return out;
}

static void test_spawn_options(void) {
        pidbroker_client *c = lib_connect();
        pidbroker_exit_status st;
        g_autofree char *cwd = NULL, *umask_out = NULL, *env = NULL, *host = NULL, *sid = NULL, *status = NULL;
        g_autofree char *gids = NULL;
        pidbroker_spawn *s;

        s = HELPER_SPAWN("cwd");
        g_assert_cmpint(pidbroker_spawn_set_cwd(s, "/tmp"), ==, 0);
        cwd = spawn_and_read(c, s, &st);
        g_assert_cmpstr(cwd, ==, "/tmp\n");
        g_assert_cmpint(st.kind, ==, PIDBROKER_EXIT_EXITED);

        s = HELPER_SPAWN("umask");
        g_assert_cmpint(pidbroker_spawn_set_umask(s, 027), ==, 0);
        umask_out = spawn_and_read(c, s, &st);
        g_assert_cmpstr(umask_out, ==, "0027\n");

        s = HELPER_SPAWN("env");
        g_assert_cmpint(pidbroker_spawn_set_environment(s, (const char *const[]) { "A=1", "B=2", NULL }), ==, 0);
        g_assert_cmpint(pidbroker_spawn_setenv(s, "A", "one"), ==, 0);
        env = spawn_and_read(c, s, &st);
        g_assert_cmpstr(env, ==, "A=one\nB=2\n");

        s = HELPER_SPAWN("hostname");
        g_assert_cmpint(pidbroker_spawn_add_namespace(s, "uts"), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_hostname(s, "lib-test"), ==, 0);
        host = spawn_and_read(c, s, &st);
        g_assert_cmpstr(host, ==, "lib-test\n");

        /* setsid false: the workload leads no session of its own. */
        s = HELPER_SPAWN("sid");
        g_assert_cmpint(pidbroker_spawn_set_setsid(s, false), ==, 0);
        sid = spawn_and_read(c, s, &st);
        {
                g_auto(GStrv) f = g_strsplit(g_strstrip(sid), " ", -1);
                g_assert_cmpstr(f[0], !=, f[1]);
        }

        s = HELPER_SPAWN("status");
        g_assert_cmpint(pidbroker_spawn_set_user(s, UID_NOBODY), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_group(s, UID_NOBODY), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_groups(s, (const gid_t[]) { 1, 2 }, 2), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_no_new_privileges(s, true), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_seccomp(s, "strict"), ==, 0);
        status = spawn_and_read(c, s, &st);
        g_assert_nonnull(strstr(status, "Uid:\t65534\t65534\t65534\t65534\n"));
        g_assert_nonnull(strstr(status, "Groups:\t1 2"));
        g_assert_nonnull(strstr(status, "NoNewPrivs:\t1\n"));
        g_assert_nonnull(strstr(status, "Seccomp:\t2\n"));

        /* A user namespace with a map: root inside is nobody outside. */
        s = HELPER_SPAWN("status");
        g_assert_cmpint(pidbroker_spawn_add_namespace(s, "user"), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_user(s, 0), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_group(s, 0), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_groups(s, NULL, 0), ==, 0);
        g_assert_cmpint(pidbroker_spawn_add_uid_map(s, 0, UID_NOBODY, 1), ==, 0);
        g_assert_cmpint(pidbroker_spawn_add_gid_map(s, 0, UID_NOBODY, 1), ==, 0);
        gids = spawn_and_read(c, s, &st);
        g_assert_nonnull(strstr(gids, "Uid:\t0\t0\t0\t0\n"));

        pidbroker_client_unref(c);
}

static void test_builder_errors(void) {
        pidbroker_client *c = lib_connect();
        pidbroker_workload *w = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        pidbroker_spawn *s = NULL;
        int fds_before = (int) test_count_open_fds();

        g_assert_cmpint(pidbroker_spawn_new(&s), ==, 0);
        /* Checked here, before any call. */
        g_assert_cmpint(pidbroker_spawn_add_namespace(s, "mnt"), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_add_namespace(s, "mount"), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_cwd(s, "relative"), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_set_kill_mode(s, "mixed"), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_set_kill_mode(s, "process"), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_umask(s, 01000), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_setenv(s, "A=B", "x"), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_set_environment(s, (const char *const[]) { "=x", NULL }), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_set_rlimit(s, "NOFILE", 10, 5), ==, -EINVAL);
        g_assert_cmpint(pidbroker_spawn_set_fd(s, 5, -1), ==, -EBADF);
        g_assert_cmpint(pidbroker_spawn_set_fd(s, 5, 0), ==, 0);
        g_assert_cmpint(pidbroker_spawn_set_fd(s, 5, 1), ==, 0); /* replaces, closes the first copy */

        /* No argv: a local error, no name. */
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, -EINVAL);
        g_assert_null(e.name);
        g_assert_nonnull(e.message);
        pidbroker_error_free(&e);
        pidbroker_spawn_free(s);
        g_assert_cmpint((int) test_count_open_fds(), ==, fds_before);
        pidbroker_client_unref(c);
}

static void test_error_mapping(void) {
        pidbroker_client *c = lib_connect();
        pidbroker_workload *w = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        pidbroker_spawn *s;
        int pidfd;

        /* An unknown capability: InvalidArgument, -EINVAL. */
        s = HELPER_SPAWN("exit", "0");
        g_assert_cmpint(pidbroker_spawn_add_capability(s, "no_such_cap"), ==, 0);
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, -EINVAL);
        g_assert_cmpstr(e.name, ==, ERR_INVALID);
        pidbroker_spawn_free(s);
        pidbroker_error_free(&e);

        /* controlling_tty needs a terminal as fd 0. */
        s = HELPER_SPAWN("exit", "0");
        g_assert_cmpint(pidbroker_spawn_set_controlling_tty(s, true), ==, 0);
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, -EINVAL);
        g_assert_cmpstr(e.name, ==, ERR_INVALID);
        g_assert_nonnull(strstr(e.message, "controlling_tty"));
        pidbroker_spawn_free(s);
        pidbroker_error_free(&e);

        /* A failed exec: SpawnFailed, -ENOEXEC. */
        s = helper_spawn((const char *const[]) { NULL });
        g_assert_cmpint(pidbroker_spawn_set_argv(s, (const char *const[]) { "/nonexistent/program", NULL }), ==, 0);
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, -ENOEXEC);
        g_assert_cmpstr(e.name, ==, ERR_SPAWN_FAILED);
        pidbroker_spawn_free(s);
        pidbroker_error_free(&e);

        /* A workload that does not exist: sd-bus's UnknownObject. */
        g_assert_cmpint(pidbroker_workload_open(c, 999999, &w), ==, 0);
        g_assert_cmpstr(pidbroker_workload_get_path(w), ==, WORKLOAD_PREFIX "/999999");
        g_assert_cmpint(pidbroker_workload_get_pidfd(w), ==, -EBADF);
        g_assert_cmpint(pidbroker_workload_signal(w, SIGTERM, 0, &e), ==, -EBADR);
        g_assert_cmpstr(e.name, ==, ERR_UNKNOWN_OBJECT);
        pidbroker_error_free(&e);
        w = pidbroker_workload_unref(w);

        /* A pidfd of a process that is gone: NoSuchProcess, -ESRCH. */
        {
                pid_t pid = fork();
                g_assert_cmpint(pid, >=, 0);
                if (pid == 0)
                        _exit(0);
                pidfd = pidfd_open_or_die(pid);
                g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        }
        g_assert_cmpint(pidbroker_signal_pidfd(c, pidfd, SIGTERM, 0, &e), ==, -ESRCH);
        g_assert_cmpstr(e.name, ==, ERR_NOSUCH);
        pidbroker_error_free(&e);
        close(pidfd);

        pidbroker_client_unref(c);
}

typedef struct AsyncResult {
        int calls;
        int r;
        pidbroker_exit_status st;
        char *error_name;
} AsyncResult;

static void on_exit_cb(pidbroker_workload *w, int r, const pidbroker_exit_status *st, const pidbroker_error *e,
                       void *userdata) {
        AsyncResult *a = userdata;

        a->calls++;
        a->r = r;
        if (st)
                a->st = *st;
        g_free(a->error_name);
        a->error_name = g_strdup(e ? e->name : NULL);
}

static void run_until_called(sd_event *event, AsyncResult *a) {
        while (a->calls == 0)
                g_assert_cmpint(sd_event_run(event, 30 * G_USEC_PER_SEC), >=, 0);
}

static void test_async(void) {
        pidbroker_client *c = lib_connect();
        pidbroker_workload *w = NULL, *sleeper = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        AsyncResult a = {}, b = {};
        sd_event *event = NULL;
        pidbroker_spawn *s;

        s = HELPER_SPAWN("sleep", "600");
        g_assert_cmpint(pidbroker_spawn_call(c, s, &sleeper, &e), ==, 0);
        pidbroker_spawn_free(s);
        /* No loop yet. */
        g_assert_cmpint(pidbroker_workload_wait_async(sleeper, on_exit_cb, &a), ==, -ENXIO);

        g_assert_cmpint(sd_event_new(&event), ==, 0);
        g_assert_cmpint(pidbroker_client_attach_event(c, event, 0), ==, 0);

        /* A wait that is cancelled never calls back. */
        g_assert_cmpint(pidbroker_workload_wait_async(sleeper, on_exit_cb, &a), ==, 0);
        g_assert_cmpint(pidbroker_workload_wait_async(sleeper, on_exit_cb, &a), ==, -EBUSY);
        g_assert_cmpint(pidbroker_client_detach_event(c), ==, -EBUSY);
        g_assert_cmpint(pidbroker_workload_cancel(sleeper), ==, 1);

        /* Stop on the loop. */
        g_assert_cmpint(pidbroker_workload_stop_async(sleeper, on_exit_cb, &b), ==, 0);
        run_until_called(event, &b);
        g_assert_cmpint(b.r, ==, 0);
        g_assert_cmpint(b.st.kind, ==, PIDBROKER_EXIT_KILLED);
        g_assert_cmpint(b.st.status, ==, SIGTERM);
        g_assert_cmpint(a.calls, ==, 0);
        g_assert_cmpint(pidbroker_workload_release(sleeper, NULL), ==, 0);

        /* Wait on the loop: the pidfd, then Wait. */
        s = HELPER_SPAWN("exit", "3");
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, 0);
        pidbroker_spawn_free(s);
        g_assert_cmpint(pidbroker_workload_wait_async(w, on_exit_cb, &a), ==, 0);
        run_until_called(event, &a);
        g_assert_cmpint(a.r, ==, 0);
        g_assert_cmpint(a.st.kind, ==, PIDBROKER_EXIT_EXITED);
        g_assert_cmpint(a.st.status, ==, 3);
        g_assert_cmpint(pidbroker_exit_status_to_code(&a.st), ==, 3);
        g_assert_cmpint(pidbroker_workload_release(w, NULL), ==, 0);

        /* The last reference cancels. */
        a.calls = 0;
        g_assert_cmpint(pidbroker_workload_wait_async(w, on_exit_cb, &a), ==, 0);
        w = pidbroker_workload_unref(w);
        g_assert_cmpint(sd_event_run(event, 100 * 1000), >=, 0);
        g_assert_cmpint(a.calls, ==, 0);

        pidbroker_workload_unref(sleeper);
        g_assert_cmpint(pidbroker_client_detach_event(c), ==, 0);
        pidbroker_client_unref(c);
        sd_event_unref(event);
        g_free(a.error_name);
        g_free(b.error_name);
}

/* A wait on the pidfd learns that the broker went away at once, not at the
 * workload's exit. */
static void test_lost_connection(void) {
        pidbroker_client *c = NULL;
        pidbroker_workload *w = NULL, *again = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        pidbroker_exit_status st;
        AsyncResult a = {};
        sd_event *event = NULL;
        pidbroker_spawn *s;
        uint64_t id;

        g_assert_cmpint(pidbroker_connect_direct(T.private_socket, &c), ==, 0);
        g_assert_null(pidbroker_client_get_destination(c));
        s = HELPER_SPAWN("sleep", "600");
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, 0);
        pidbroker_spawn_free(s);
        id = pidbroker_workload_get_id(w);
        g_assert_cmpint(sd_event_new(&event), ==, 0);
        g_assert_cmpint(pidbroker_client_attach_event(c, event, 0), ==, 0);
        g_assert_cmpint(pidbroker_workload_wait_async(w, on_exit_cb, &a), ==, 0);

        daemon_restart(NULL);
        run_until_called(event, &a);
        g_assert_cmpint(a.r, ==, -ECONNRESET);
        g_assert_null(a.error_name);
        g_assert_cmpint(pidbroker_workload_wait_async(w, on_exit_cb, &a), ==, -ENOTCONN);
        pidbroker_workload_unref(w);
        pidbroker_client_detach_event(c);
        pidbroker_client_unref(c);
        sd_event_unref(event);
        g_free(a.error_name);

        /* The workload outlived the broker; a new connection stops it by
         * its pidfd, as the restarted broker knows it by its record or not
         * at all: stop whichever way works. */
        c = lib_connect();
        g_assert_cmpint(pidbroker_workload_open(c, id, &again), ==, 0);
        if (pidbroker_workload_stop(again, &st, &e) < 0) {
                g_test_message("workload %" PRIu64 " after restart: %s", id, e.name);
                pidbroker_error_free(&e);
        }
        pidbroker_workload_unref(again);
        pidbroker_client_unref(c);
}

static void test_getfd_and_signal(void) {
        pidbroker_client *c = lib_connect();
        pidbroker_workload *w = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        pidbroker_exit_status st;
        pidbroker_spawn *s;
        struct stat a, b;
        int p[2], fd = -1;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        s = HELPER_SPAWN("sleep", "600");
        g_assert_cmpint(pidbroker_spawn_set_fd(s, 7, p[0]), ==, 0);
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, 0);
        pidbroker_spawn_free(s);
        g_assert_cmpint(pidbroker_workload_get_pid(w), >, 0);

        g_assert_cmpint(pidbroker_getfd(c, pidbroker_workload_get_pidfd(w), 7, &fd, &e), ==, 0);
        g_assert_cmpint(fstat(fd, &a), ==, 0);
        g_assert_cmpint(fstat(p[0], &b), ==, 0);
        g_assert_cmpint(a.st_ino, ==, b.st_ino);
        close(fd);
        close(p[0]);
        close(p[1]);

        /* 0 probes; then a signal by pidfd, not by workload path. */
        g_assert_cmpint(pidbroker_workload_signal(w, 0, 0, &e), ==, 0);
        g_assert_cmpint(pidbroker_signal_pidfd(c, pidbroker_workload_get_pidfd(w), SIGKILL, 0, &e), ==, 0);
        g_assert_cmpint(pidbroker_workload_wait(w, &st, &e), ==, 0);
        g_assert_cmpint(st.kind, ==, PIDBROKER_EXIT_KILLED);
        g_assert_cmpint(st.status, ==, SIGKILL);
        g_assert_cmpint(pidbroker_exit_status_to_code(&st), ==, 128 + SIGKILL);
        g_assert_cmpint(pidbroker_workload_get_pid(w), ==, -ESRCH);
        g_assert_cmpint(pidbroker_workload_fetch_pidfd(w, &e), ==, 0);
        g_assert_cmpint(pidbroker_workload_release(w, &e), ==, 0);
        pidbroker_workload_unref(w);
        pidbroker_client_unref(c);
}

typedef struct WorkloadEvent {
        pidbroker_workload_event event;
        uint64_t id;
        char *path;
} WorkloadEvent;

static void on_workload_event(pidbroker_client *c, pidbroker_workload_event event, uint64_t id,
                              const char *path, void *userdata) {
        GArray *events = userdata;
        WorkloadEvent ev = { event, id, g_strdup(path) };

        g_array_append_val(events, ev);
}

/* The first event of id after *from, waiting on the loop for it. */
static const WorkloadEvent *next_event_of(sd_event *event, GArray *events, size_t *from, uint64_t id) {
        for (;;) {
                for (; *from < events->len; (*from)++) {
                        const WorkloadEvent *ev = &g_array_index(events, WorkloadEvent, *from);
                        if (ev->id == id) {
                                (*from)++;
                                return ev;
                        }
                }
                g_assert_cmpint(sd_event_run(event, 30 * G_USEC_PER_SEC), >, 0);
        }
}

static void test_subscribe(void) {
        pidbroker_client *c = lib_connect();
        pidbroker_workload *w = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        g_autoptr(GArray) events = g_array_new(false, false, sizeof(WorkloadEvent));
        const WorkloadEvent *ev;
        pidbroker_exit_status st;
        sd_event *event = NULL;
        pidbroker_spawn *s;
        size_t seen = 0, len;
        uint64_t id;

        g_assert_cmpint(sd_event_new(&event), ==, 0);
        g_assert_cmpint(pidbroker_client_attach_event(c, event, 0), ==, 0);
        g_assert_cmpint(pidbroker_subscribe(c, NULL, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(pidbroker_subscribe(c, on_workload_event, events, &e), ==, 0);
        g_assert_cmpint(pidbroker_subscribe(c, on_workload_event, events, &e), ==, -EBUSY);
        pidbroker_error_free(&e);

        s = HELPER_SPAWN("exit", "0");
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, 0);
        pidbroker_spawn_free(s);
        id = pidbroker_workload_get_id(w);

        ev = next_event_of(event, events, &seen, id);
        g_assert_cmpint(ev->event, ==, PIDBROKER_WORKLOAD_NEW);
        g_assert_cmpstr(ev->path, ==, pidbroker_workload_get_path(w));

        g_assert_cmpint(pidbroker_workload_wait(w, &st, &e), ==, 0);
        g_assert_cmpint(st.kind, ==, PIDBROKER_EXIT_EXITED);
        g_assert_cmpint(pidbroker_workload_release(w, &e), ==, 0);
        ev = next_event_of(event, events, &seen, id);
        g_assert_cmpint(ev->event, ==, PIDBROKER_WORKLOAD_REMOVED);
        g_assert_cmpstr(ev->path, ==, pidbroker_workload_get_path(w));
        pidbroker_workload_unref(w);

        /* After Unsubscribe the handler hears nothing, and subscribing again works. */
        g_assert_cmpint(pidbroker_unsubscribe(c, &e), ==, 0);
        len = events->len;
        s = HELPER_SPAWN("exit", "0");
        g_assert_cmpint(pidbroker_spawn_call(c, s, &w, &e), ==, 0);
        pidbroker_spawn_free(s);
        g_assert_cmpint(pidbroker_workload_wait(w, &st, &e), ==, 0);
        g_assert_cmpint(pidbroker_workload_release(w, &e), ==, 0);
        pidbroker_workload_unref(w);
        while (sd_event_run(event, 0) > 0)
                ;
        g_assert_cmpuint(events->len, ==, len);
        g_assert_cmpint(pidbroker_subscribe(c, on_workload_event, events, &e), ==, 0);

        for (size_t i = 0; i < events->len; i++)
                g_free(g_array_index(events, WorkloadEvent, i).path);
        pidbroker_client_detach_event(c);
        pidbroker_client_unref(c);
        sd_event_unref(event);
}

static int client_main(int argc, char *argv[]) {
        g_printerr("test-libpidbroker has no --client scenarios\n");
        return 2;
}

static void register_tests(void) {
        add_test("pkg-config-program", test_pkg_config_program);
        add_test("spawn-options", test_spawn_options);
        add_test("builder-errors", test_builder_errors);
        add_test("error-mapping", test_error_mapping);
        add_test("async", test_async);
        add_test("getfd-and-signal", test_getfd_and_signal);
        add_test("subscribe", test_subscribe);
        add_test("lost-connection", test_lost_connection);
}

int main(int argc, char *argv[]) {
        static const HarnessOptions opts = { .suite = "libpidbroker" };

        if (!g_getenv("LIBPIDBROKER_PKG_CONFIG_PATH") && !(argc >= 2 && g_str_equal(argv[1], "--client"))) {
                g_printerr("LIBPIDBROKER_PKG_CONFIG_PATH is not set (meson test sets it)\n");
                return 77;
        }
        return harness_main(argc, argv, &opts, client_main, register_tests);
}
