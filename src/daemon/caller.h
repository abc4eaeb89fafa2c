/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who is calling, taken when the message arrives and never defaulted:
 *  - system bus: uid and groups from the bus driver (GetConnectionCredentials,
 *    never /proc), the process from its ProcessFD when the bus offers one,
 *    else pinned with pidfd_open(ProcessID), re-checked against the uid and
 *    the sender's still-live connection, and marked "bus-pid-unpinned";
 *  - direct socket: SO_PEERCRED + SO_PEERPIDFD of the accepted socket.
 * A caller that cannot be identified (disconnected, gone) is refused. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "process.h"

typedef enum CallerIdentity {
        CALLER_IDENTITY_PEER_PIDFD,       /* SO_PEERPIDFD on the direct socket */
        CALLER_IDENTITY_BUS_PROCESSFD,    /* GetConnectionCredentials' ProcessFD */
        CALLER_IDENTITY_BUS_PID_UNPINNED, /* ProcessID pinned after the fact */
        _CALLER_IDENTITY_MAX,
} CallerIdentity;

/* "peer-pidfd", "bus-processfd", "bus-pid-unpinned" as the audit record says. */
const char *caller_identity_to_string(CallerIdentity i);

typedef struct Caller {
        uid_t uid;
        gid_t gid;          /* primary group */
        gid_t *groups;      /* supplementary groups */
        size_t n_groups;
        Process process;    /* the calling process */
        CallerIdentity identity;
        char *bus_name;     /* unique name on the bus; NULL on the direct socket */
        /* The process's pid namespace (nsfs inode, 0 unknown), read once when
         * it is identified: a process never changes its pid namespace
         * (setns() and unshare() move only its future children), so this
         * holds for as long as the process does, and a cached Caller keeps
         * it for its connection's life. */
        uint64_t pidns;
        /* The process's /proc/<pid>/comm, open (process_open_comm()): its
         * comm can change any time, so it is read per request, but with one
         * pread() instead of an open, a read and a re-check of the pin. -1
         * when it could not be opened (then read the long way). */
        int comm_fd;
} Caller;

#define CALLER_NULL ((Caller) { .uid = (uid_t) -1, .gid = (gid_t) -1, .process = PROCESS_NULL, .comm_fd = -EBADF })

void caller_done(Caller *c);
int caller_copy(Caller *ret, const Caller *c);

/* Identify the sender of a message on a bus with a bus driver. Errors are
 * set in *error (AccessDenied for a caller that is gone or cannot be pinned). */
int caller_from_bus_message(sd_bus_message *m, ControlPath cp, Caller *ret, sd_bus_error *error);

/* Identify the peer of an accepted direct-socket connection. */
int caller_from_socket(int fd, ControlPath cp, Caller *ret);

/* What the policy and the audit record need beyond the identity, read once
 * when the request arrives (the pid namespace is the Caller's own). Derived from the caller's process handle: for a
 * "bus-pid-unpinned" caller they describe the process that had the bus's pid
 * and uid when we looked, which is why the policy treats them as unpinned. */
typedef struct CallerFacts {
        gid_t *gids;                     /* primary group first, then the supplementary ones, no duplicates */
        size_t n_gids;
        char comm[PROCESS_COMM_MAX];     /* "" when unknown */
        uint64_t pidns, userns;          /* nsfs inodes; 0 when unknown */
} CallerFacts;

#define CALLER_FACTS_NULL ((CallerFacts) {})

/* Never fails for a missing fact (it stays unknown); -ENOMEM only. */
int caller_facts_read(const Caller *c, CallerFacts *ret);
void caller_facts_done(CallerFacts *f);

static inline bool caller_is_pinned(const Caller *c) {
        return c->identity == CALLER_IDENTITY_PEER_PIDFD || c->identity == CALLER_IDENTITY_BUS_PROCESSFD;
}

/* "uid=1000 pid=4242 identity=bus-processfd bus=:1.42" for logs. */
const char *caller_describe(const Caller *c, char *buf, size_t size);

/* Whether the caller is root: the bus-provided uid only. */
static inline bool caller_is_root(const Caller *c) {
        return c->uid == 0;
}
