/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The legacy PID path, kept in this one adapter: bare kill()/waitid(P_PID)
 * on a number the kernel may recycle. It exists for kernels without pidfds
 * and for the PID-reuse comparison; ControlPath=pidfd refuses it entirely. */

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "process.h"

typedef enum ControlPath {
        CONTROL_PATH_AUTO,   /* pidfds where the kernel has them, legacy otherwise */
        CONTROL_PATH_PIDFD,  /* pidfds only: legacy operations fail -EOPNOTSUPP */
        CONTROL_PATH_LEGACY, /* bare pids everywhere (comparison runs) */
        _CONTROL_PATH_MAX,
} ControlPath;

const char *control_path_to_string(ControlPath c); /* "auto", "pidfd", "legacy" */
int control_path_from_string(const char *s);

void control_path_set(ControlPath c);
ControlPath control_path_get(void);
/* Whether legacy operations may run at all. */
bool legacy_allowed(void);
/* "pidfd" or "legacy_pid", as the D-Bus ControlPath property says. */
const char *process_control_path(const Process *p);

/* A legacy handle: pid only. -EOPNOTSUPP under ControlPath=pidfd, -ESRCH if
 * no such pid exists right now. */
int legacy_process_from_pid(Process *ret, pid_t pid);
int legacy_signal(pid_t pid, int sig);
int legacy_wait(pid_t pid, int options, siginfo_t *ret);
