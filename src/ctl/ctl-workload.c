/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The verbs on workloads that exist: list, status, signal, stop, wait,
 * release, and monitor for their events. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl-workload-info.h"
#include "ctl.h"
#include "json.h"
#include "pidfd-util.h"

/* ---- list ---- */

int verb_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        WorkloadInfo *list = NULL;
        size_t n = 0;
        int r;

        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = workload_info_list(bus, &list, &n);
        if (r < 0)
                return r;

        if (arg.json) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                fputc(',', stdout);
                        workload_info_write_json(stdout, &list[i]);
                }
                fputs("]\n", stdout);
        } else {
                /* Column widths from the content; COMMAND is last and never cut. */
                int wid = 2, wpid = 3, wuser = 4, wstate = 5;
                char buf[64];

                for (size_t i = 0; i < n; i++) {
                        wid = MAX(wid, snprintf(buf, sizeof buf, "%" PRIu64, list[i].id));
                        wpid = MAX(wpid, snprintf(buf, sizeof buf, "%" PRIu32, list[i].pid));
                        wuser = MAX(wuser, (int) strlen(format_uid(list[i].user, buf, sizeof buf)));
                        wstate = MAX(wstate, (int) strlen(workload_info_describe_state(&list[i], buf, sizeof buf)));
                }
                printf("%-*s %*s %-*s %-*s %s\n", wid, "ID", wpid, "PID", wuser, "USER", wstate, "STATE", "COMMAND");
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *cmdline = workload_info_command_line(&list[i]);
                        char user[64], state[64];

                        printf("%-*" PRIu64 " %*" PRIu32 " %-*s %-*s %s\n", wid, list[i].id, wpid, list[i].pid,
                               wuser, format_uid(list[i].user, user, sizeof user),
                               wstate, workload_info_describe_state(&list[i], state, sizeof state),
                               cmdline ?: "");
                }
                if (isatty(STDOUT_FILENO))
                        printf("\n%zu workload%s listed.\n", n, n == 1 ? "" : "s");
        }

        workload_info_free_array(list, n);
        return fflush(stdout) == 0 ? 0 : ctl_error(-errno, NULL, "Failed to write the list");
}

/* ---- status ---- */

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        WorkloadInfo info = {};
        int r;

        r = ctl_workload_path(argv[0], &path);
        if (r < 0)
                return r;
        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = workload_info_get(bus, path, &info);
        if (r < 0)
                return r;
        if (arg.json) {
                workload_info_write_json(stdout, &info);
                fputc('\n', stdout);
        } else
                workload_info_write_status(stdout, &info);
        workload_info_done(&info);
        return 0;
}

/* ---- signal ---- */

/* A handle on the workload ID (an id or object path). Usage errors are
 * reported. */
static int open_workload(const char *id_or_path, pidbroker_workload **ret) {
        _cleanup_free_ char *path = NULL;
        pidbroker_client *client;
        int r;

        r = ctl_workload_path(id_or_path, &path);
        if (r < 0)
                return r;
        r = ctl_connect_client(&client);
        if (r < 0)
                return r;
        r = pidbroker_workload_open_path(client, path, ret);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to open %s", path);
        return 0;
}

int verb_signal(int argc, char *argv[]) {
        _cleanup_(pidbroker_workload_unrefp) pidbroker_workload *w = NULL;
        _cleanup_(pidbroker_error_free) pidbroker_error error = PIDBROKER_ERROR_NULL;
        const char *sigstr = NULL;
        char signame[32];
        int sig = SIGTERM, r;

        if (arg.has_pid) {
                if (argc > 1)
                        return ctl_usage_error("signal --pid PID takes only a signal; see 'pidbrokerctl signal --help'");
                sigstr = argc > 0 ? argv[0] : NULL;
        } else {
                if (argc < 1)
                        return ctl_usage_error("signal needs a workload ID or --pid PID; see 'pidbrokerctl signal --help'");
                sigstr = argc > 1 ? argv[1] : NULL;
        }
        if (sigstr) {
                /* 0 probes whether it is alive, as kill -0 does. */
                sig = strcmp(sigstr, "0") == 0 ? 0 : signal_from_string(sigstr);
                if (sig < 0)
                        return ctl_usage_error("'%s' is not a signal (try TERM, KILL, HUP, 9, RTMIN+1, 0)", sigstr);
        }
        if (sig == 0)
                snprintf(signame, sizeof signame, "signal 0");
        else
                signal_to_string(sig, signame, sizeof signame);

        if (arg.has_pid) {
                _cleanup_close_ int pidfd = -EBADF;
                pidbroker_client *client;

                r = ctl_connect_client(&client);
                if (r < 0)
                        return r;
                /* Pin the process here, so the broker acts on exactly the
                 * process we named, even if its PID is reused meanwhile. */
                pidfd = sys_pidfd_open(arg.pid, 0);
                if (pidfd < 0) {
                        if (pidfd == -ESRCH) {
                                pidbroker_error gone = { .name = (char *) PIDBROKER_ERROR_NO_SUCH_PROCESS };
                                char msg[64];

                                snprintf(msg, sizeof msg, "No process with PID %d", (int) arg.pid);
                                gone.message = msg;
                                return ctl_lib_error(-ESRCH, &gone, "pidfd_open(%d)", (int) arg.pid);
                        }
                        return ctl_error(pidfd, NULL, "Failed to open a pidfd for PID %d", (int) arg.pid);
                }
                r = pidbroker_signal_pidfd(client, pidfd, sig, arg.scope, &error);
                if (r < 0)
                        return ctl_lib_error(r, &error, "Failed to send %s to PID %d", signame, (int) arg.pid);
                ctl_debug("sent %s to PID %d", signame, (int) arg.pid);
                return 0;
        }

        r = open_workload(argv[0], &w);
        if (r < 0)
                return r;
        r = pidbroker_workload_signal(w, sig, arg.scope, &error);
        if (r < 0)
                return ctl_lib_error(r, &error, "Failed to send %s to %s", signame, pidbroker_workload_get_path(w));
        ctl_debug("sent %s to %s", signame, pidbroker_workload_get_path(w));
        return 0;
}

/* ---- stop, wait, release ---- */

/* Stop or Wait, which reply at exit, with no timeout. */
static int call_exit_method(const char *id, bool stop, int *ret_exit) {
        _cleanup_(pidbroker_workload_unrefp) pidbroker_workload *w = NULL;
        _cleanup_(pidbroker_error_free) pidbroker_error error = PIDBROKER_ERROR_NULL;
        pidbroker_exit_status st;
        char sig[32];
        int r;

        r = open_workload(id, &w);
        if (r < 0)
                return r;
        r = stop ? pidbroker_workload_stop(w, &st, &error) : pidbroker_workload_wait(w, &st, &error);
        if (r < 0)
                return ctl_lib_error(r, &error, "%s of %s failed", stop ? "Stop" : "Wait",
                                     pidbroker_workload_get_path(w));

        if (st.kind == PIDBROKER_EXIT_EXITED)
                ctl_debug("%s exited with code %d", pidbroker_workload_get_path(w), st.status);
        else
                ctl_debug("%s %s by %s", pidbroker_workload_get_path(w), pidbroker_exit_kind_to_string(st.kind),
                          signal_to_string(st.status, sig, sizeof sig));
        *ret_exit = pidbroker_exit_status_to_code(&st);
        return 0;
}

int verb_stop(int argc, char *argv[]) {
        int code;

        return call_exit_method(argv[0], true, &code);
}

int verb_wait(int argc, char *argv[]) {
        int code, r;

        r = call_exit_method(argv[0], false, &code);
        if (r < 0)
                return ctl_usage_error_seen() ? r : EXIT_CTL_FAILED;
        return code;
}

int verb_release(int argc, char *argv[]) {
        _cleanup_(pidbroker_workload_unrefp) pidbroker_workload *w = NULL;
        _cleanup_(pidbroker_error_free) pidbroker_error error = PIDBROKER_ERROR_NULL;
        int r;

        r = open_workload(argv[0], &w);
        if (r < 0)
                return r;
        r = pidbroker_workload_release(w, &error);
        if (r < 0)
                return ctl_lib_error(r, &error, "Failed to release %s", pidbroker_workload_get_path(w));
        return 0;
}
