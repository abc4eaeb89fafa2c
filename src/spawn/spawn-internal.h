/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the parent half (spawn.c) and the post-clone child
 * (spawn-child.c). Everything the child uses is prepared here by the parent:
 * the child allocates nothing and calls nothing of glibc that could. */

#include <stdint.h>

#include "spawn.h"

/* One record on the exec-status channel. */
typedef enum StatusKind {
        STATUS_EXEC_FAILED = 1, /* step + err: setup or exec failed */
        STATUS_EXEC_OK = 2,     /* the init saw its workload exec */
        STATUS_EXITED = 3,      /* the init's workload exited: status */
        STATUS_NAMESPACE = 4,   /* on the namespace pipe, the id of a namespace of ours:
                                 * step = NamespaceType, err:status = its high:low 32 bits */
} StatusKind;

typedef struct StatusRecord {
        int32_t kind;
        int32_t step;
        int32_t err;
        int32_t status;
} StatusRecord;

typedef struct ChildContext {
        const SpawnRequest *req;
        int status_fd;      /* write end of the exec-status channel, CLOEXEC */
        int parent_sync_fd; /* read end: one byte once the parent wrote the uid/gid maps and moved
                             * us into the cgroup (without clone3); -EBADF when it has nothing to do */
        bool userns;        /* born in a new user namespace, with its groups set already */
        int namespaces_fd;  /* write end of a pipe for the ids of our new namespaces, or -EBADF */
        uint64_t report_namespaces; /* bit per NamespaceType whose id goes there */
        int netns_fd;       /* a ready network namespace to join (netns-pool.h), or -EBADF */
        int devnull_fd;     /* for unmapped 0/1/2 */
        int max_target;     /* highest fd number the workload receives (>= 2) */
        int cap_last_cap;
        uint64_t bounding_set;   /* bit per capability in the daemon's bounding set */
        uint64_t reset_signals;  /* bit (sig - 1) per signal not at SIG_DFL in the daemon */
        bool with_init;     /* new pid namespace: pid 1 is our init */
        bool mount_proc;    /* pid + mount namespace: a /proc that shows the new pid namespace */
        /* A child sharing the daemon's memory (CLONE_VM): its result goes
         * here, not down status_fd; NULL otherwise. */
        StatusRecord *result;
        bool shares_fd_table; /* CLONE_FILES: unshare it first, copying fds below fd_table_end */
        bool filter_inherited; /* born under req->seccomp, from our thread (spawn_thread_take_filter()) */
        int fd_table_end;
} ChildContext;

/* The post-clone child: never returns. */
_noreturn_ void spawn_child(const ChildContext *c);
