/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The spawn engine: argv + env + fd map + options in, a running workload and
 * its pidfd (from clone3) out. spawn_start() returns as soon as the child
 * exists; the exec result arrives later on status_fd, so an event loop never
 * waits for a child's exec. Knows nothing of D-Bus. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "namespace.h"
#include "process.h"
#include "seccomp-profile.h"

/* The kernel's limit of lines per uid_map/gid_map file. */
#define SPAWN_MAX_ID_MAPS 340

typedef struct IdMapping {
        uint32_t inside, outside, count;
} IdMapping;

typedef struct FdMapping {
        int target; /* fd number in the workload */
        int fd;     /* fd in the caller; the caller keeps ownership */
} FdMapping;

typedef struct SpawnRequest {
        char **argv;          /* NULL-terminated; argv[0] absolute unless exe_fd >= 0 */
        char **env;           /* NULL-terminated "NAME=value": the whole environment */
        const FdMapping *fds; /* unmapped 0/1/2 become /dev/null; nothing else is inherited */
        size_t n_fds;
        const char *cwd;      /* NULL: "/" */
        uid_t uid;
        gid_t gid;
        const gid_t *groups;  /* supplementary groups, exactly these */
        size_t n_groups;
        uint64_t namespaces;  /* bit (1 << NamespaceType) per namespace to create */
        const IdMapping *uid_map, *gid_map; /* user namespace; default: uid/gid onto themselves */
        size_t n_uid_map, n_gid_map;
        const char *hostname; /* needs a uts namespace */
        uint64_t capabilities;   /* bit per CAP_* number kept; 0: none */
        bool no_new_privileges;
        const SeccompProfile *seccomp; /* NULL: no filter (the "none" profile) */
        int cgroup_fd;        /* cgroup2 directory for CLONE_INTO_CGROUP, -EBADF: none. Without
                               * clone3 the parent moves the child there before it may go on. */
        int exe_fd;           /* executable for execveat(AT_EMPTY_PATH), -EBADF: argv[0] */
        mode_t umask;
        bool setsid;
        bool controlling_tty; /* fd 0, a terminal, becomes the controlling terminal (needs setsid) */
        ControlPath control_path; /* which child handles may be made: the site's ControlPath= */
        /* Never a child that shares our memory, which spawn_start() waits
         * for until it execs (spawn_would_share()): set by a caller that
         * must not block, on the event loop. */
        bool copy_child;
        /* Resources, applied as root before the identity change. The daemon
         * fills them from the caller's own (process_get_rlimits() etc.),
         * never leaving the workload its own. Raising a hard rlimit or
         * lowering oom_score_adj needs CAP_SYS_RESOURCE. */
        struct rlimit rlimits[RLIMIT_NLIMITS];
        uint32_t rlimits_set; /* bit (1 << RLIMIT_*) per entry of rlimits to apply */
        bool nice_set;
        int nice;             /* -20..19 */
        bool oom_score_adj_set;
        int oom_score_adj;    /* -1000..1000 */
} SpawnRequest;

/* Defaults as org.pidbroker.Broker1(5) states them; argv/env/uid/gid are left to fill. */
void spawn_request_init(SpawnRequest *req);

/* -EINVAL with *ret_reason (static string) for a request that cannot run:
 * empty argv, relative argv[0], bad env names, duplicate or out-of-range
 * target fds, bad id maps, a hostname without a uts namespace, an unknown
 * rlimit or one whose soft limit exceeds its hard one, nice or
 * oom_score_adj out of range, ... */
int spawn_request_validate(const SpawnRequest *req, const char **ret_reason);

/* How the child was created: each step of the fallback chain is taken only
 * when the previous one is missing. */
typedef enum SpawnMethod {
        SPAWN_METHOD_CLONE3,          /* clone3(CLONE_PIDFD) */
        SPAWN_METHOD_CLONE_PIDFD,     /* clone(CLONE_PIDFD) */
        SPAWN_METHOD_FORK_PIDFD_OPEN, /* fork + pidfd_open while unreaped */
        SPAWN_METHOD_LEGACY,          /* fork, bare pid */
        _SPAWN_METHOD_MAX,
} SpawnMethod;

const char *spawn_method_to_string(SpawnMethod m);
int spawn_method_from_string(const char *s);

typedef struct Spawned {
        Process process;  /* the workload handle; in a new pid namespace, its init */
        int status_fd;    /* read end of the exec-status channel */
        SpawnMethod method;
        bool has_init;    /* a pidbroker init runs as pid 1 in front of the workload */
        /* nsfs inode per NamespaceType, 0 where unknown. Those it was given
         * are read from its pidfd right after clone, or, if it was gone by
         * then (after which nothing can read them), from the ids it wrote
         * first thing; in a new user namespace, while it waits for its id
         * maps. The others are the daemon's own. */
        uint64_t namespaces[_NAMESPACE_MAX];
        /* When spawn_start() failed: the parent's step that did (see
         * SpawnStep), SPAWN_STEP_NONE for a refused request. */
        int failed_step;
        /* A child that shared our memory had exec'd or exited when
         * spawn_start() returned: its result, read by
         * spawn_read_exec_status(); status_fd is then -EBADF. */
        bool exec_known;
        int exec_error; /* 0, or the failed step's -errno */
        int exec_step;
} Spawned;

#define SPAWNED_NULL ((Spawned) { .process = PROCESS_NULL, .status_fd = -EBADF })

void spawned_done(Spawned *s);

/* Steps of the child's setup, named in a failed spawn's error; then those
 * the parent takes around clone (Spawned.failed_step). */
typedef enum SpawnStep {
        SPAWN_STEP_NONE,
        SPAWN_STEP_PARENT_WAIT,
        SPAWN_STEP_SIGNALS,
        SPAWN_STEP_HOSTNAME,
        SPAWN_STEP_MOUNT_PROC,
        SPAWN_STEP_SETSID,
        SPAWN_STEP_CONTROLLING_TTY,
        SPAWN_STEP_FDS,
        SPAWN_STEP_CWD,
        SPAWN_STEP_OOM_SCORE_ADJ,
        SPAWN_STEP_RLIMITS,
        SPAWN_STEP_NICE,
        SPAWN_STEP_GROUPS,
        SPAWN_STEP_GID,
        SPAWN_STEP_UID,
        SPAWN_STEP_BOUNDING_SET,
        SPAWN_STEP_CAPABILITIES,
        SPAWN_STEP_NO_NEW_PRIVS,
        SPAWN_STEP_INIT_FORK,
        SPAWN_STEP_SECCOMP,
        SPAWN_STEP_EXEC,
        SPAWN_STEP_PREPARE,        /* the parent's pipes and /dev/null */
        SPAWN_STEP_CLONE,
        SPAWN_STEP_UID_MAP,
        SPAWN_STEP_SETGROUPS_DENY,
        SPAWN_STEP_GID_MAP,
        SPAWN_STEP_CGROUP_ATTACH,
        SPAWN_STEP_RELEASE,        /* telling the waiting child to go on */
        SPAWN_STEP_PIDFS_ID,
        SPAWN_STEP_NET_NAMESPACE,  /* joining a ready network namespace */
        _SPAWN_STEP_MAX,
} SpawnStep;

const char *spawn_step_to_string(SpawnStep s);

/* Create the child. On success the caller owns *ret and must await the exec
 * result with spawn_read_exec_status() once status_fd is readable. On
 * failure ret->failed_step names the step, the child (if any) is reaped and
 * nothing of ret needs freeing.
 * -EOPNOTSUPP when every creation path is missing or refused
 * (req->control_path pidfd); -EINVAL for an invalid request. */
int spawn_start(const SpawnRequest *req, Spawned *ret);

/* Whether spawn_start() makes req's child share our memory and fd table
 * until it execs (where it can: a plain spawn, on x86-64, with clone3), and
 * so does not return before the child has exec'd or exited. Whatever the
 * child does first (a chdir or an exec on a file system its caller serves,
 * a SIGSTOP from its own user) may take that long: such a spawn belongs
 * off an event loop. */
bool spawn_would_share(const SpawnRequest *req);

/* Put p's seccomp filter on the calling thread, for good: every child it
 * spawns afterwards is born under the filter and loads none of its own,
 * which is most of what a spawn costs the kernel. Only for a thread that
 * spawns nothing but p's workloads (spawn_start() refuses others there with
 * -EXDEV) and is never the loop's; the daemon keeps such threads per
 * profile (offload.h's lanes, named by p->digest). 0 when the thread is
 * under p's filter; -EOPNOTSUPP for a profile that is not inheritable. */
int spawn_thread_take_filter(const SeccompProfile *p);

/* A long-lived fd (a workload's pidfd, spawn_start()'s own included) moved
 * above the fds a spawn passes, where a child sharing our fd table does not
 * copy it. Returns the fd to use: the moved one, or fd itself where the fd
 * limit leaves no room up there. */
int spawn_fd_keep_high(int fd);

/* Read the exec result: 0 once exec succeeded; the child's -errno and
 * *ret_step when a setup step failed (the child is then exiting: reap it).
 * 1 if status_fd is non-blocking and nothing arrived yet: not -EAGAIN, which
 * is what a step may fail with (execve() over RLIMIT_NPROC). */
int spawn_read_exec_status(Spawned *s, SpawnStep *ret_step);

/* In a new pid namespace, the init reports the workload's wait status on
 * status_fd just before it exits. After the pidfd became readable:
 * 0 and the status (waitpid() encoding), or -ENODATA. */
int spawn_read_exit_status(Spawned *s, int *ret_status);

/* spawn_start() + spawn_read_exec_status(), blocking: tests and tools. On a
 * failed exec the child is reaped and *ret_step set. */
int spawn_run(const SpawnRequest *req, Spawned *ret, SpawnStep *ret_step);

/* "NOFILE", "nofile" or "RLIMIT_NOFILE" → RLIMIT_NOFILE (the names of
 * systemd's Limit*= settings); -EINVAL for anything else. */
int spawn_rlimit_from_name(const char *name);
/* RLIMIT_NOFILE → "NOFILE"; NULL when out of range. */
const char *spawn_rlimit_to_name(int resource);

/* Fill req's rlimits, nice and oom_score_adj that the request does not set
 * with the caller's own (process_get_rlimits(), process_get_nice(),
 * process_get_oom_score_adj()); what it sets stays as asked. Where this process lacks CAP_SYS_RESOURCE,
 * a hard limit above its own and an oom_score_adj below its own cannot be
 * given: those get its own values instead. Returns the mask of what was
 * clamped: bit (1 << RLIMIT_*) per rlimit, SPAWN_CLAMPED_OOM_SCORE_ADJ. */
#define SPAWN_CLAMPED_OOM_SCORE_ADJ (1 << RLIMIT_NLIMITS)
int spawn_request_inherit_resources(SpawnRequest *req, const struct rlimit caller[static RLIMIT_NLIMITS], int nice,
                                    int oom_score_adj);
/* Whether req asks for more than the caller has: a hard rlimit above the
 * caller's, a nice or oom_score_adj below the caller's. That is the
 * org.pidbroker.spawn-privileged action; *ret_what says which. */
bool spawn_resources_beyond_caller(const SpawnRequest *req, const struct rlimit caller[static RLIMIT_NLIMITS],
                                   int nice, int oom_score_adj, const char **ret_what);
