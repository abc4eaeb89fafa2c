/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgroup v2 units for workloads: the subtree the daemon owns, one directory
 * per workload under it, and what the daemon does to a whole unit (signal,
 * kill, watch, remove, limit). Knows nothing of D-Bus. Every function returns
 * -errno.
 *
 * Paths named here are relative to the cgroup2 mount, as /proc/<pid>/cgroup
 * shows them ("/pidbroker/w-1f…"). Every file operation on a unit goes
 * through its directory fd, never through a path that could be swapped. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "control-path.h"
#include "macro.h"

/* The controllers a workload's limits need. */
typedef enum CgroupController {
        CGROUP_CONTROLLER_CPU,
        CGROUP_CONTROLLER_IO,
        CGROUP_CONTROLLER_MEMORY,
        CGROUP_CONTROLLER_PIDS,
        _CGROUP_CONTROLLER_MAX,
} CgroupController;

#define CGROUP_CONTROLLER_BIT(c) (1U << (c))
#define CGROUP_CONTROLLERS_ALL ((1U << _CGROUP_CONTROLLER_MAX) - 1)

/* "cpu", "io", "memory", "pids". */
const char *cgroup_controller_to_string(CgroupController c);
int cgroup_controller_from_string(const char *s);

/* Mount point of the cgroup2 hierarchy, from /proc/self/mountinfo (never
 * assumed): "/sys/fs/cgroup" on a unified host, "/sys/fs/cgroup/unified" on
 * a hybrid one. -ENOMEDIUM when no cgroup2 is mounted. */
int cgroup_find_mount(char **ret);
/* The calling process's cgroup2 path, from the "0::" line of
 * /proc/self/cgroup. -ENOMEDIUM without one. */
int cgroup_get_own(char **ret);

typedef struct CgroupSubtree {
        char *mount;          /* cgroup2 mount point */
        char *path;           /* the subtree, relative to the mount */
        int fd;               /* O_DIRECTORY of the subtree */
        unsigned controllers; /* CGROUP_CONTROLLER_BITs enabled for its children */
        bool moved_to_leaf;   /* we moved ourselves into <path>/supervisor */
} CgroupSubtree;

#define CGROUP_SUBTREE_NULL ((CgroupSubtree) { .fd = -EBADF })

/* The leaf the daemon moves itself into when it owns a delegated cgroup. */
#define CGROUP_SUPERVISOR_LEAF "supervisor"
/* The directory the daemon creates when its own cgroup is not delegated
 * to it (the root cgroup, as on a hybrid host without systemd). */
#define CGROUP_SUBTREE_NAME "pidbroker"

/* Find or make the subtree workloads go under:
 *  - own cgroup delegated to us (systemd's Delegate=yes marks it with the
 *    trusted.delegate xattr, or `delegated` says so): move this process into
 *    <own>/supervisor, so that by the no-internal-processes rule <own> may
 *    enable controllers for its children, and use <own>. After a re-exec we
 *    already sit in <own>/supervisor: then use its parent.
 *  - otherwise (the root cgroup, or a cgroup that is not ours): make
 *    <own>/pidbroker and use it; this process stays where it is.
 * Then enable in the subtree's cgroup.subtree_control each of memory, pids,
 * cpu and io that its cgroup.controllers offers; a controller that cannot be
 * enabled is left out of ->controllers, not an error. */
int cgroup_subtree_open(CgroupSubtree *ret, bool delegated);
/* The same at an explicit mount and own path (tests; a daemon told where). */
int cgroup_subtree_open_at(CgroupSubtree *ret, const char *mount, const char *own, bool delegated);
void cgroup_subtree_done(CgroupSubtree *s);

/* Write "+name" to dirfd's cgroup.subtree_control for each name (of any
 * controller, NULL-terminated list) that dirfd's cgroup.controllers lists.
 * Returns the number enabled. -EBUSY when the cgroup has processes of its
 * own (the no-internal-processes rule). */
int cgroup_enable_controllers(int dirfd, const char *const *names);
/* Whether a controller name appears in dirfd's file (cgroup.controllers,
 * cgroup.subtree_control): 1 or 0. */
int cgroup_file_lists_controller(int dirfd, const char *file, const char *name);

typedef struct CgroupUnit {
        char *path;  /* relative to the mount: the ControlGroup property */
        int fd;      /* O_DIRECTORY|O_CLOEXEC: for CLONE_INTO_CGROUP and every operation */
        uint64_t id; /* the directory's inode: the cgroup id PIDFD_GET_INFO reports */
} CgroupUnit;

#define CGROUP_UNIT_NULL ((CgroupUnit) { .fd = -EBADF })

void cgroup_unit_done(CgroupUnit *u);
static inline void cgroup_unit_donep(CgroupUnit *u) {
        cgroup_unit_done(u);
}
#define _cleanup_cgroup_unit_ _cleanup_(cgroup_unit_donep)

/* Workload directories are named "w-" + 16 hex digits from getrandom(),
 * made before clone: the workload's id (its pidfs inode) exists only after
 * clone, and cgroup2 refuses rename(). The name stays for the unit's life;
 * the daemon records it beside the id. */
#define CGROUP_UNIT_PREFIX "w-"
int cgroup_unit_create(const CgroupSubtree *s, CgroupUnit *ret);
/* Make (mode 0755) or open a unit with this name under the subtree. -EEXIST
 * if create and it exists; -EINVAL for a name that is not one path
 * component. */
int cgroup_unit_create_named(const CgroupSubtree *s, const char *name, CgroupUnit *ret);
/* Open an existing unit (re-adoption after a restart). -ENOENT if gone. */
int cgroup_unit_open(const CgroupSubtree *s, const char *name, CgroupUnit *ret);

/* cgroup.kill = 1: SIGKILL to every process, including ones forking right
 * now. -EOPNOTSUPP before Linux 5.14. */
int cgroup_unit_kill(const CgroupUnit *u);
/* sig to every process in the unit's cgroup.procs, and in those of any
 * sub-cgroups the workload made. Each pid is pinned with a pidfd and checked
 * to be in this unit before it is signalled, so a pid that exited and was
 * reused is never hit. Passes repeat until one finds nobody new (children
 * forked meanwhile). cp: how pids are pinned (ControlPath=). Returns the
 * number of processes signalled; *ret_fallback (may be NULL): whether any
 * went by kill() to the daemon's own child, the fallback where
 * pidfd_send_signal() is missing (and a non-child cannot be signalled: the
 * timeout's cgroup.kill reaches it). */
int cgroup_unit_signal_all(const CgroupUnit *u, int sig, ControlPath cp, bool *ret_fallback);
/* 1 while any process is in the unit (or below), 0 when empty. */
int cgroup_unit_is_populated(const CgroupUnit *u);
/* A new fd on cgroup.events: the kernel wakes POLLPRI (EPOLLPRI in
 * sd_event_add_io) each time "populated" or "frozen" changes. Read it with
 * cgroup_events_read_populated(). The caller owns the fd. */
int cgroup_unit_open_events(const CgroupUnit *u);
/* "populated" read through an fd of cgroup_unit_open_events(): 1 or 0.
 * Read the file through the fd that is watched (not with
 * cgroup_unit_is_populated()): until then kernfs keeps reporting POLLPRI
 * on it. */
int cgroup_events_read_populated(int events_fd);
/* rmdir the unit, and first any (empty) sub-cgroups the workload made;
 * -EBUSY while populated. On success u is released. */
int cgroup_unit_remove(CgroupUnit *u);
/* Controllers enabled for this unit (its cgroup.controllers). */
int cgroup_unit_controllers(const CgroupUnit *u, unsigned *ret);

typedef enum CgroupLimit {
        CGROUP_LIMIT_MEMORY_MAX, /* memory.max, bytes; UINT64_MAX: "max" */
        CGROUP_LIMIT_PIDS_MAX,   /* pids.max; UINT64_MAX: "max" */
        CGROUP_LIMIT_CPU_WEIGHT, /* cpu.weight, 1..10000 */
        CGROUP_LIMIT_IO_WEIGHT,  /* io.weight, 1..10000 */
        _CGROUP_LIMIT_MAX,
} CgroupLimit;

typedef struct CgroupLimits {
        unsigned set; /* bit (1 << CgroupLimit) per value to write */
        uint64_t value[_CGROUP_LIMIT_MAX];
} CgroupLimits;

/* "memory_max", "pids_max", "cpu_weight", "io_weight" (the option names). */
const char *cgroup_limit_to_string(CgroupLimit l);
CgroupController cgroup_limit_controller(CgroupLimit l);

/* -EINVAL with *ret_reason for a value out of range. */
int cgroup_limits_validate(const CgroupLimits *l, const char **ret_reason);
/* Write every set limit. -EOPNOTSUPP (and *ret_missing, if given, the first
 * limit concerned) when its controller is not enabled for the unit: nothing
 * is written then, never a silent no-op. */
int cgroup_unit_set_limits(const CgroupUnit *u, const CgroupLimits *l, CgroupLimit *ret_missing);
