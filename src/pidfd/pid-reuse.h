/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Forcing PID reuse, for the tests and pidbroker-chaos: pid_max is per pid
 * namespace since Linux 6.14, so in a pid namespace of its own with a small
 * pid_max the kernel hands numbers out again after a few hundred forks.
 * After the wrap it starts again at PID_RESERVED (300), not at 1, so only a
 * pid >= 300 is ever handed out twice. */

#include <sys/types.h>

#define PID_RESERVED 300

/* The step of pid_reuse_run() that failed, and how. */
typedef struct PidReuseError {
        const char *step; /* static string */
        int err;          /* positive errno */
} PidReuseError;

/* Run fn as pid 1 of a new pid namespace, in a new mount namespace with a
 * fresh /proc (not propagated back) and the given pid_max; the caller keeps
 * its own namespaces. Returns the wait status of that pid 1 (its exit code
 * is fn's return value), or -errno with *ret_error saying which step failed:
 * -EOPNOTSUPP when pid_max turns out to be one global value (before 6.14; it
 * is probed by a change of one, undone at once, so the machine's pid_max is
 * never shrunk). When fn returns, the kernel kills what is left in the
 * namespace. Needs root. */
int pid_reuse_run(unsigned pid_max, int (*fn)(void *userdata), void *userdata, PidReuseError *ret_error);

/* Fork children that _exit(0) at once and are reaped at once, until a fork
 * returns target again. That child runs fn(userdata), _exit()s with its
 * return value, and is left unreaped. Returns target (forks used in
 * *ret_forks), -EBUSY when max_forks forks did not bring target back, or
 * -errno. Call it only where nothing else forks or reaps. */
pid_t pid_fork_until(pid_t target, unsigned max_forks, int (*fn)(void *userdata), void *userdata,
                     unsigned *ret_forks);
