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

int verb_signal(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
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
                r = ctl_workload_path(argv[0], &path);
                if (r < 0)
                        return r;
                sigstr = argc > 1 ? argv[1] : NULL;
        }
        if (sigstr) {
                sig = signal_from_string(sigstr);
                if (sig < 0)
                        return ctl_usage_error("'%s' is not a signal (try TERM, KILL, HUP, 9, RTMIN+1)", sigstr);
        }

        r = ctl_connect(&bus);
        if (r < 0)
                return r;

        if (arg.has_pid) {
                _cleanup_close_ int pidfd = -EBADF;

                /* Pin the process here, so the broker acts on exactly the
                 * process we named, even if its PID is reused meanwhile. */
                pidfd = sys_pidfd_open(arg.pid, 0);
                if (pidfd < 0) {
                        if (pidfd == -ESRCH) {
                                sd_bus_error e = SD_BUS_ERROR_NULL;
                                sd_bus_error_setf(&e, "org.pidbroker.Error.NoSuchProcess", "No process with PID %d",
                                                  (int) arg.pid);
                                r = ctl_error(-ESRCH, &e, "pidfd_open(%d)", (int) arg.pid);
                                sd_bus_error_free(&e);
                                return r;
                        }
                        return ctl_error(pidfd, NULL, "Failed to open a pidfd for PID %d", (int) arg.pid);
                }
                r = sd_bus_call_method(bus, ctl_destination(), BROKER_PATH, BROKER_INTERFACE, "Signal", &error, NULL,
                                       "hiu", pidfd, (int32_t) sig, (uint32_t) arg.scope);
                if (r < 0)
                        return ctl_error(r, &error, "Failed to send %s to PID %d",
                                         signal_to_string(sig, signame, sizeof signame), (int) arg.pid);
                ctl_debug("sent %s to PID %d", signal_to_string(sig, signame, sizeof signame), (int) arg.pid);
                return 0;
        }

        r = sd_bus_call_method(bus, ctl_destination(), path, WORKLOAD_INTERFACE, "Signal", &error, NULL, "iu",
                               (int32_t) sig, (uint32_t) arg.scope);
        if (r < 0)
                return ctl_error(r, &error, "Failed to send %s to %s", signal_to_string(sig, signame, sizeof signame),
                                 path);
        ctl_debug("sent %s to %s", signal_to_string(sig, signame, sizeof signame), path);
        return 0;
}

/* ---- stop, wait, release ---- */

/* Call a Workload1 method replying (s code, i status), with no timeout. */
static int call_exit_method(const char *id, const char *method, int *ret_exit) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        const char *code;
        int32_t status;
        char sig[32];
        int r;

        r = ctl_workload_path(id, &path);
        if (r < 0)
                return r;
        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, ctl_destination(), path, WORKLOAD_INTERFACE, method);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to build the %s call", method);
        r = ctl_call(bus, m, UINT64_MAX, &error, &reply);
        if (r < 0)
                return ctl_error(r, &error, "%s of %s failed", method, path);
        r = sd_bus_message_read(reply, "si", &code, &status);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to parse the reply of %s", method);

        if (strcmp(code, "exited") == 0)
                ctl_debug("%s exited with code %d", path, (int) status);
        else
                ctl_debug("%s %s by %s", path, code, signal_to_string(status, sig, sizeof sig));
        *ret_exit = ctl_exit_code(code, status);
        return 0;
}

int verb_stop(int argc, char *argv[]) {
        int code;

        return call_exit_method(argv[0], "Stop", &code);
}

int verb_wait(int argc, char *argv[]) {
        int code, r;

        r = call_exit_method(argv[0], "Wait", &code);
        if (r < 0)
                return ctl_usage_error_seen() ? r : EXIT_CTL_FAILED;
        return code;
}

int verb_release(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = ctl_workload_path(argv[0], &path);
        if (r < 0)
                return r;
        r = ctl_connect(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, ctl_destination(), path, WORKLOAD_INTERFACE, "Release", &error, NULL, NULL);
        if (r < 0)
                return ctl_error(r, &error, "Failed to release %s", path);
        return 0;
}
