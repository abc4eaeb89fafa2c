/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The raw pidfd and process-creation syscalls, the only place pidbroker
 * calls them by number. Each returns -errno (errno is kept as well, for the
 * callers that probe with it). glibc 2.36 wraps some of these, but not
 * clone3, and the raw form keeps us independent of which libc built us.
 * Unused arguments are passed at full register width. Header-only: the
 * client uses them without linking the pidfd layer, and the post-clone
 * child may call them (they allocate nothing). */

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

#include "macro.h"
#include "missing-pidfd.h"

static inline int sys_pidfd_open(pid_t pid, unsigned flags) {
        return RET_NERRNO(syscall(__NR_pidfd_open, pid, flags));
}

/* info NULL: as kill() would send it. */
static inline int sys_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags) {
        return RET_NERRNO(syscall(__NR_pidfd_send_signal, pidfd, sig, info, flags));
}

/* A duplicate of the target's fd, with ptrace-read rights on it. */
static inline int sys_pidfd_getfd(int pidfd, int fd, unsigned flags) {
        return RET_NERRNO(syscall(__NR_pidfd_getfd, pidfd, fd, flags));
}

static inline int sys_close_range(unsigned first, unsigned last, unsigned flags) {
        return RET_NERRNO(syscall(__NR_close_range, first, last, flags));
}

/* Returns twice like fork(): the pid in the parent, 0 in the child. */
static inline pid_t sys_clone3(struct pb_clone_args *args, size_t size) {
        return RET_NERRNO(syscall(__NR_clone3, args, size));
}

/* clone() without a new stack behaves like fork(); flags carry the exit
 * signal (SIGCHLD) too. CLONE_PIDFD stores the pidfd through the parent_tid
 * argument, third everywhere but s390. */
static inline pid_t sys_clone(unsigned long flags, int *pidfd) {
#if defined(__s390x__) || defined(__s390__)
        return RET_NERRNO(syscall(__NR_clone, 0UL, flags, pidfd, NULL, 0UL));
#else
        return RET_NERRNO(syscall(__NR_clone, flags, 0UL, pidfd, NULL, 0UL));
#endif
}
