/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The legacy PID path, kept in this one adapter: bare kill()/waitid(P_PID)
 * on a number the kernel may recycle. It exists for kernels without pidfds
 * and for the PID-reuse comparison. Whether it may be used is the caller's
 * ControlPath: under ControlPath=pidfd, process_from_pid() and spawn_start()
 * never make a legacy handle, and without one nothing here is reached. */

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "process.h"

#include "control-path.h"

/* "pidfd" or "legacy_pid", as the D-Bus ControlPath property says. */
const char *process_control_path(const Process *p);

/* A legacy handle: pid only. -ESRCH if no such pid exists right now. Asks
 * no ControlPath: callers that have one use process_from_pid(). */
int legacy_process_from_pid(Process *ret, pid_t pid);
int legacy_signal(pid_t pid, int sig);
int legacy_wait(pid_t pid, int options, siginfo_t *ret);
