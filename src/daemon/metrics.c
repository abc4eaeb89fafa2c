/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>

#include "legacy.h"
#include "metrics.h"

void metrics_count_operation(Metrics *m, const Process *p) {
        if (process_is_legacy(p))
                m->control_path_legacy++;
        else
                m->control_path_pidfd++;
}

void metrics_count_signal(Metrics *m, const Process *p, int r) {
        metrics_count_operation(m, p);
        if (r == -ESRCH)
                m->signal_result[SIGNAL_RESULT_ESRCH]++;
        else if (r == -EPERM)
                m->signal_result[SIGNAL_RESULT_EPERM]++;
        else if (r >= 0)
                /* 1: kill() to our own child, without pidfd_send_signal(). */
                m->signal_result[process_is_legacy(p) || r == 1 ? SIGNAL_RESULT_FALLBACK : SIGNAL_RESULT_OK]++;
}

void metrics_count_wait(Metrics *m, int r) {
        if (r >= 0)
                m->wait_result[WAIT_RESULT_EXITED]++;
        else if (r == -EAGAIN)
                m->wait_result[WAIT_RESULT_EAGAIN]++;
        else if (r == -ECHILD)
                m->wait_result[WAIT_RESULT_ECHILD]++;
        else
                m->wait_result[WAIT_RESULT_ERROR]++;
}

int metrics_append(sd_bus_message *reply, const Metrics *m) {
        static const char *const signal_names[_SIGNAL_RESULT_MAX] = { "ok", "esrch", "eperm", "fallback" };
        static const char *const wait_names[_WAIT_RESULT_MAX] = { "exited", "eagain", "echild", "error" };
        char key[64];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{st}{st}{st}{st}",
                                  "spawns.ok", m->spawns_ok,
                                  "spawns.failed", m->spawns_failed,
                                  "control_path.pidfd", m->control_path_pidfd,
                                  "control_path.legacy_pid", m->control_path_legacy);
        if (r < 0)
                return r;
        for (int i = 0; i < _SIGNAL_RESULT_MAX; i++) {
                snprintf(key, sizeof key, "signal_result.%s", signal_names[i]);
                r = sd_bus_message_append(reply, "{st}", key, m->signal_result[i]);
                if (r < 0)
                        return r;
        }
        for (int i = 0; i < _WAIT_RESULT_MAX; i++) {
                snprintf(key, sizeof key, "wait_result.%s", wait_names[i]);
                r = sd_bus_message_append(reply, "{st}", key, m->wait_result[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}
