/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The namespace types pidbroker can create and report, with the three names
 * each goes by: the Spawn option name, the /proc/<pid>/ns entry, the clone
 * flag, and the PIDFD_GET_*_NAMESPACE ioctl. */

#include <stdint.h>

typedef enum NamespaceType {
        NAMESPACE_USER,
        NAMESPACE_PID,
        NAMESPACE_MOUNT,
        NAMESPACE_NET,
        NAMESPACE_IPC,
        NAMESPACE_UTS,
        NAMESPACE_CGROUP,
        NAMESPACE_TIME,
        _NAMESPACE_MAX,
} NamespaceType;

/* "user", "pid", "mount", "net", "ipc", "uts", "cgroup", "time" */
const char *namespace_name(NamespaceType t);
/* -EINVAL for an unknown name. */
int namespace_from_name(const char *name);
/* "user", "pid", "mnt", "net", ... as in /proc/<pid>/ns/ */
const char *namespace_proc_name(NamespaceType t);
uint64_t namespace_clone_flag(NamespaceType t);
unsigned long namespace_pidfd_ioctl(NamespaceType t);

/* nsfs inode of /proc/<pid>/ns/<name> (pid 0 = self); -errno on failure. */
int namespace_id_from_proc(int pid, NamespaceType t, uint64_t *ret);
