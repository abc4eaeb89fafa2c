/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "legacy.h"
#include "string-table.h"

static const char *const control_path_table[_CONTROL_PATH_MAX] = {
        [CONTROL_PATH_AUTO] = "auto",
        [CONTROL_PATH_PIDFD] = "pidfd",
        [CONTROL_PATH_LEGACY] = "legacy",
};

DEFINE_STRING_TABLE_LOOKUP(control_path, ControlPath);

const char *process_control_path(const Process *p) {
        return process_is_legacy(p) ? "legacy_pid" : "pidfd";
}

int legacy_process_from_pid(Process *ret, pid_t pid) {
        if (pid <= 0)
                return -EINVAL;
        /* Existence now says nothing about who the number names later:
         * that is exactly the weakness this path is kept to demonstrate. */
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return -ESRCH;
        *ret = (Process) { .pid = pid, .fd = -EBADF, .id = 0 };
        return 0;
}

int legacy_signal(pid_t pid, int sig) {
        if (pid <= 0)
                return -EINVAL;
        if (kill(pid, sig) < 0)
                return negative_errno();
        return 0;
}

int legacy_wait(pid_t pid, int options, siginfo_t *ret) {
        siginfo_t si = {};

        if (pid <= 0)
                return -EINVAL;
        if (waitid(P_PID, (id_t) pid, &si, options | WEXITED) < 0)
                return negative_errno();
        if (si.si_pid == 0)
                return -EAGAIN;
        if (ret)
                *ret = si;
        return 0;
}
