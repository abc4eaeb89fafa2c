/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libpidbroker in a few calls: spawn a command with stdout mapped, wait for
 * it, spawn another and stop it, then wait for a third on an sd-event loop.
 * Built with nothing but pkg-config:
 *
 *   cc -o spawn-wait-stop spawn-wait-stop.c $(pkg-config --cflags --libs libpidbroker)
 *   ./spawn-wait-stop [--direct[=SOCKET]] CODE
 *
 * Prints key=value lines: the ids, pids and exit statuses it saw. */

#include <errno.h>
#include <inttypes.h>
#include <pidbroker.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, int r, const pidbroker_error *e) {
        fprintf(stderr, "%s: %s%s%s (%s)\n", what, e && e->name ? e->name : "", e && e->name ? ": " : "",
                e && e->message ? e->message : "", strerror(-r));
        return 1;
}

static void print_exit(const char *key, const pidbroker_exit_status *st) {
        printf("%s=%s %d\n", key, pidbroker_exit_kind_to_string(st->kind), st->status);
}

/* Spawn argv with our stdout as its stdout (and stderr), and stdin_fd, if
 * not negative, as its stdin. */
static int spawn(pidbroker_client *c, const char *const *argv, int stdin_fd, pidbroker_workload **ret,
                 pidbroker_error *e) {
        pidbroker_spawn *s = NULL;
        int r;

        r = pidbroker_spawn_new(&s);
        if (r >= 0)
                r = pidbroker_spawn_set_argv(s, argv);
        if (r >= 0 && stdin_fd >= 0)
                r = pidbroker_spawn_set_fd(s, 0, stdin_fd);
        if (r >= 0)
                r = pidbroker_spawn_setenv(s, "PATH", "/usr/bin:/bin");
        if (r >= 0)
                r = pidbroker_spawn_set_fd(s, 1, STDOUT_FILENO);
        if (r >= 0)
                r = pidbroker_spawn_set_fd(s, 2, STDERR_FILENO);
        if (r >= 0)
                r = pidbroker_spawn_set_stop_timeout(s, 5 * 1000000);
        if (r >= 0)
                r = pidbroker_spawn_call(c, s, ret, e);
        pidbroker_spawn_free(s);
        return r;
}

static void on_exit_async(pidbroker_workload *w, int r, const pidbroker_exit_status *st, const pidbroker_error *e,
                          void *userdata) {
        int *result = userdata;

        if (r < 0) {
                *result = fail("wait_async", r, e);
                return;
        }
        print_exit("async", st);
        *result = 0;
}

int main(int argc, char *argv[]) {
        pidbroker_client *c = NULL;
        pidbroker_workload *w = NULL, *sleeper = NULL, *bad = NULL;
        pidbroker_error e = PIDBROKER_ERROR_NULL;
        pidbroker_exit_status st;
        sd_event *event = NULL;
        const char *code;
        char script[64];
        int async_result = -1, go[2], r;

        if (argc == 3 && strncmp(argv[1], "--direct", 8) == 0) {
                r = pidbroker_connect_direct(argv[1][8] == '=' ? argv[1] + 9 : NULL, &c);
                code = argv[2];
        } else if (argc == 2) {
                r = pidbroker_connect_system(&c);
                code = argv[1];
        } else {
                fprintf(stderr, "usage: %s [--direct[=SOCKET]] CODE\n", argv[0]);
                return 2;
        }
        if (r < 0)
                return fail("connect", r, NULL);

        /* 1. Spawn and wait. It exits once we close its stdin, so that its
         * pid is still there to read off the pidfd. */
        if (pipe(go) < 0)
                return fail("pipe", -errno, NULL);
        snprintf(script, sizeof script, "echo hello from $$; read x; exit %d", atoi(code));
        r = spawn(c, (const char *const[]) { "/bin/sh", "-c", script, NULL }, go[0], &w, &e);
        if (r < 0)
                return fail("spawn", r, &e);
        close(go[0]);
        printf("id=%" PRIu64 "\npid=%d\npath=%s\n", pidbroker_workload_get_id(w), (int) pidbroker_workload_get_pid(w),
               pidbroker_workload_get_path(w));
        fflush(stdout);
        close(go[1]);
        r = pidbroker_workload_wait(w, &st, &e);
        if (r < 0)
                return fail("wait", r, &e);
        print_exit("wait", &st);
        printf("wait_code=%d\n", pidbroker_exit_status_to_code(&st));
        (void) pidbroker_workload_release(w, NULL);

        /* 2. Spawn and stop. */
        r = spawn(c, (const char *const[]) { "/bin/sleep", "600", NULL }, -1, &sleeper, &e);
        if (r < 0)
                return fail("spawn sleep", r, &e);
        printf("sleeper_pid=%d\n", (int) pidbroker_workload_get_pid(sleeper));
        r = pidbroker_workload_stop(sleeper, &st, &e);
        if (r < 0)
                return fail("stop", r, &e);
        print_exit("stop", &st);
        r = pidbroker_workload_signal(sleeper, 0, 0, &e);
        printf("signal_after_stop=%d %s\n", r, e.name ?: "");
        pidbroker_error_free(&e);
        (void) pidbroker_workload_release(sleeper, NULL);

        /* 3. Wait on an event loop: the pidfd, then Wait. */
        r = sd_event_new(&event);
        if (r >= 0)
                r = pidbroker_client_attach_event(c, event, 0);
        if (r < 0)
                return fail("event loop", r, NULL);
        r = spawn(c, (const char *const[]) { "/bin/sh", "-c", "sleep 0.2; exit 7", NULL }, -1, &bad, &e);
        if (r < 0)
                return fail("spawn async", r, &e);
        r = pidbroker_workload_wait_async(bad, on_exit_async, &async_result);
        if (r < 0)
                return fail("wait_async", r, NULL);
        while (async_result < 0) {
                r = sd_event_run(event, UINT64_MAX);
                if (r < 0)
                        return fail("sd_event_run", r, NULL);
        }
        (void) pidbroker_workload_release(bad, NULL);
        bad = pidbroker_workload_unref(bad);

        /* 4. An error: the broker wants an absolute path. */
        r = spawn(c, (const char *const[]) { "sleep", "1", NULL }, -1, &bad, &e);
        printf("relative_path=%d %s\n", r, e.name ?: "");

        pidbroker_error_free(&e);
        pidbroker_workload_unref(w);
        pidbroker_workload_unref(sleeper);
        pidbroker_client_detach_event(c);
        pidbroker_client_unref(c);
        sd_event_unref(event);
        return async_result;
}
