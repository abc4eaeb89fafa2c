/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one process handle type: a pid pinned by a pidfd, with the pidfs inode
 * as its identity. A handle with fd < 0 is on the legacy PID path (legacy.h)
 * and only ever comes out of it. Every function returns -errno. */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "control-path.h"
#include "macro.h"
#include "namespace.h"

typedef struct Process {
        pid_t pid;   /* in our pid namespace, for logs and the D-Bus Pid property */
        int fd;      /* pidfd, -EBADF on the legacy path */
        uint64_t id; /* pidfs inode: the identity; 0 where pidfs is missing */
} Process;

#define PROCESS_NULL ((Process) { .pid = 0, .fd = -EBADF, .id = 0 })

void process_done(Process *p);
static inline void process_donep(Process *p) {
        process_done(p);
}
#define _cleanup_process_ _cleanup_(process_donep)

static inline bool process_is_set(const Process *p) {
        return p && p->pid > 0;
}
static inline bool process_is_legacy(const Process *p) {
        return p->fd < 0;
}

/* Pin a pid with pidfd_open(). A pid that does not name a live thread-group
 * leader is -ESRCH. Falls back to the legacy adapter only when pidfd_open is
 * missing and cp allows it (-EOPNOTSUPP under CONTROL_PATH_PIDFD);
 * CONTROL_PATH_LEGACY always makes a legacy handle. */
int process_from_pid(Process *ret, pid_t pid, ControlPath cp);
/* Take ownership of a pidfd (closed on failure too). -EBADF if it is not a
 * pidfd; a pidfd of a reaped process gives -ESRCH. */
int process_from_pidfd(Process *ret, int pidfd);
/* Same, on a dup of a pidfd the caller keeps (an sd-bus message's fd). */
int process_from_pidfd_dup(Process *ret, int pidfd);
/* Same, without a dup: *ret names the process while pidfd stays open, and
 * pidfd stays the caller's (an sd-bus message's fd, for the one dispatch of
 * the message): never process_done() it. */
int process_borrow_pidfd(Process *ret, int pidfd);
/* Duplicate a handle (the pidfd is dup'ed). */
int process_copy(Process *ret, const Process *p);

/* A pidfs file handle (name_to_handle_at on a pidfd): bytes that name one
 * process for as long as the system is up, to be stored across a restart of
 * the daemon. Type 0xfe, 8 bytes (the inode) on 64-bit kernels. */
#define PIDFS_HANDLE_MAX 32
typedef struct PidfsHandle {
        int type;
        unsigned size;
        uint8_t bytes[PIDFS_HANDLE_MAX];
} PidfsHandle;

/* -EOPNOTSUPP without pidfs file handles (before 6.14) or on the legacy path. */
int process_get_pidfs_handle(const Process *p, PidfsHandle *ret);
/* Re-open a process recorded as (handle, pid, id) by a daemon before its
 * restart: open_by_handle_at(FD_PIDFS_ROOT) (6.17), else pidfd_open(pid);
 * either way the result's pidfs id must equal id. -ESRCH when the process is
 * gone or the pid names someone else now ("lost": never guessed);
 * -EOPNOTSUPP when nothing can prove it (no pidfs). h may be NULL (pid only). */
int process_from_pidfs_handle(Process *ret, const PidfsHandle *h, pid_t pid, uint64_t id);
/* The pid-only half: pidfd_open(pid) and the id check. */
int process_from_pid_checked(Process *ret, pid_t pid, uint64_t id);

/* True when a and b name the same process: by pidfs id when both have one,
 * else by pid while both pidfds still resolve to it. */
bool process_same(const Process *a, const Process *b);

/* 0 while the pidfd names a live process, -ESRCH once it has exited. */
int process_check_alive(const Process *p);

/* pidfd_send_signal(). flags are PIDFD_SIGNAL_*; -EOPNOTSUPP when the kernel
 * has no signal scopes, -EINVAL for more than one scope. -ESRCH when the
 * process is gone: the signal never reaches anyone else. Where the kernel
 * (or a seccomp filter) has no pidfd_send_signal(), our own children still
 * get it through kill(), which their unreaped pid makes safe: 1 then;
 * anyone else's process is -EOPNOTSUPP. */
int process_signal(const Process *p, int sig, unsigned flags);

/* pidfd_getfd(): a copy of the target's fd target_fd, close-on-exec.
 * -EBADF when it has no such fd, -ESRCH when it is gone, -EOPNOTSUPP on the
 * legacy path or without the syscall, -EPERM without ptrace rights. */
int process_getfd(const Process *p, int target_fd);

/* waitid(P_PIDFD). options: WEXITED plus WNOHANG and/or WNOWAIT.
 * 0 and *ret filled once exited; -EAGAIN while running under WNOHANG;
 * -ECHILD when the process is not our child (or already reaped). */
int process_wait(const Process *p, int options, siginfo_t *ret);

typedef enum ProcessInfoSource {
        PROCESS_INFO_PIDFD_IOCTL,
        PROCESS_INFO_PROC,
} ProcessInfoSource;

typedef struct ProcessInfo {
        pid_t pid, ppid;
        uid_t ruid, euid, suid;
        gid_t rgid, egid;
        uint64_t cgroup_id;   /* 0 when unknown */
        ProcessInfoSource source;
} ProcessInfo;

/* PIDFD_GET_INFO; /proc/<pid>/status where the ioctl is missing, re-checked
 * against the pidfd so a recycled pid is never described. */
int process_get_info(const Process *p, ProcessInfo *ret);
/* After the reap: the exit status from PIDFD_INFO_EXIT. -ENODATA while the
 * process has not been reaped, -EOPNOTSUPP without the kernel feature. */
int process_get_exit_status(const Process *p, int *ret_status);

/* Namespace ids (nsfs inodes) of the target: PIDFD_GET_*_NAMESPACE, or
 * /proc/<pid>/ns re-checked against the pidfd. */
int process_namespace_id(const Process *p, NamespaceType t, uint64_t *ret);

/* The process's comm (/proc/<pid>/comm, at most 15 bytes plus NUL), re-checked
 * against the pidfd so a recycled pid is never described. Informational
 * only: any process can set its own comm. */
#define PROCESS_COMM_MAX 16
int process_get_comm(const Process *p, char ret[static PROCESS_COMM_MAX]);
/* Its comm and its user namespace (0 when that cannot be read) at once,
 * both re-checked against the pidfd by one check. */
int process_get_comm_userns(const Process *p, char ret_comm[static PROCESS_COMM_MAX], uint64_t *ret_userns);
/* /proc/<pid>/comm opened for reading again and again (a caller's, kept for
 * its connection's life): an open /proc file stays bound to the process it
 * was opened for, so once the pin is checked after the open, a later read
 * can only describe p (or fail with ESRCH once it is reaped), never a
 * process that got its pid since. Returns the fd. */
int process_open_comm(const Process *p);
/* p's comm now, from the fd process_open_comm() gave: one pread(). */
int process_read_comm_fd(int fd, char ret[static PROCESS_COMM_MAX]);

/* The process's cgroup2 path (the "0::" line of /proc/<pid>/cgroup),
 * re-checked against the pidfd. -ENOMEDIUM without cgroup2. */
int process_get_cgroup_path(const Process *p, char **ret);

/* The process's resource limits, every RLIMIT_* (prlimit(2); where that is
 * refused for another user's process without CAP_SYS_RESOURCE,
 * /proc/<pid>/limits), re-checked against the pidfd. */
int process_get_rlimits(const Process *p, struct rlimit ret[static RLIMIT_NLIMITS]);
/* Its nice value (-20..19), getpriority(2) re-checked against the pidfd. */
int process_get_nice(const Process *p, int *ret);
/* Its /proc/<pid>/oom_score_adj (-1000..1000), re-checked. */
int process_get_oom_score_adj(const Process *p, int *ret);

/* pidfs inode of a pidfd; -EOPNOTSUPP without pidfs. */
int pidfd_get_id(int pidfd, uint64_t *ret);
/* The pid a pidfd names, from /proc/self/fdinfo: -ESRCH once reaped. */
int pidfd_get_pid(int pidfd, pid_t *ret);
