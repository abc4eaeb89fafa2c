/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "missing-pidfd.h"
#include "namespace.h"

static const struct {
        const char *name;      /* Spawn option */
        const char *proc_name; /* /proc/<pid>/ns/ entry */
        uint64_t clone_flag;
        unsigned long pidfd_ioctl;
} namespace_table[_NAMESPACE_MAX] = {
        [NAMESPACE_USER]   = { "user",   "user",   CLONE_NEWUSER,   PIDFD_GET_USER_NAMESPACE },
        [NAMESPACE_PID]    = { "pid",    "pid",    CLONE_NEWPID,    PIDFD_GET_PID_NAMESPACE },
        [NAMESPACE_MOUNT]  = { "mount",  "mnt",    CLONE_NEWNS,     PIDFD_GET_MNT_NAMESPACE },
        [NAMESPACE_NET]    = { "net",    "net",    CLONE_NEWNET,    PIDFD_GET_NET_NAMESPACE },
        [NAMESPACE_IPC]    = { "ipc",    "ipc",    CLONE_NEWIPC,    PIDFD_GET_IPC_NAMESPACE },
        [NAMESPACE_UTS]    = { "uts",    "uts",    CLONE_NEWUTS,    PIDFD_GET_UTS_NAMESPACE },
        [NAMESPACE_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP, PIDFD_GET_CGROUP_NAMESPACE },
        [NAMESPACE_TIME]   = { "time",   "time",   CLONE_NEWTIME,   PIDFD_GET_TIME_NAMESPACE },
};

static bool namespace_type_valid(NamespaceType t) {
        return (int) t >= 0 && t < _NAMESPACE_MAX;
}

const char *namespace_name(NamespaceType t) {
        return namespace_type_valid(t) ? namespace_table[t].name : NULL;
}

int namespace_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        for (NamespaceType t = 0; t < _NAMESPACE_MAX; t++)
                if (strcmp(namespace_table[t].name, name) == 0)
                        return t;
        return -EINVAL;
}

const char *namespace_proc_name(NamespaceType t) {
        return namespace_type_valid(t) ? namespace_table[t].proc_name : NULL;
}

uint64_t namespace_clone_flag(NamespaceType t) {
        return namespace_type_valid(t) ? namespace_table[t].clone_flag : 0;
}

unsigned long namespace_pidfd_ioctl(NamespaceType t) {
        return namespace_type_valid(t) ? namespace_table[t].pidfd_ioctl : 0;
}

int namespace_id_from_proc(int pid, NamespaceType t, uint64_t *ret) {
        char path[64];
        struct stat st;

        if (pid < 0 || !namespace_type_valid(t) || !ret)
                return -EINVAL;

        if (pid == 0)
                snprintf(path, sizeof(path), "/proc/self/ns/%s", namespace_table[t].proc_name);
        else
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, namespace_table[t].proc_name);

        /* stat() follows the magic link to the nsfs inode: its number is the
         * namespace id, the same one PIDFD_GET_*_NAMESPACE's fd reports. */
        if (stat(path, &st) < 0)
                return negative_errno();

        *ret = (uint64_t) st.st_ino;
        return 0;
}
