/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process-group.h"
#include "process.h"

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Field 5 (pgrp) of /proc/<pid>/stat. comm (field 2) may hold spaces and
 * parentheses: parse after its last ')'. */
static int proc_pgrp(pid_t pid, pid_t *ret) {
        char path[64], buf[512];
        const char *p;
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        int pgrp;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        if (n == 0)
                return -ESRCH; /* gone while we read */
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %*c %*d %d", &pgrp) != 1)
                return -EIO;
        *ret = pgrp;
        return 0;
}

/* Only the group's members matter; each is pinned with a pidfd before its
 * credentials are read, and its pgrp read again after that (the pid seen in
 * the scan may have been reused by then: the pinned process must be the one
 * in the group). A member that exits meanwhile is no concern.
 *
 * What remains is a race no check before the signal can close: between this
 * scan and pidfd_send_signal() a process may join the group (setpgid: only
 * the process itself, or its parent before it execs; a child a member forks
 * is born in the group with that member's uids) or change its uids (only the
 * process itself, by set*uid() or by executing a setuid program). Whoever
 * does it acts on its own process or child: a privileged process that moves
 * into the group or drops to the caller's uid has put itself in the
 * caller's reach; a process of the caller's that executes a setuid program
 * in that window is signalled as if it had not yet. */
int process_group_foreign_member(pid_t pgid, uid_t caller_uid, pid_t *ret_pid, uid_t *ret_uid) {
        _cleanup_(closedirp) DIR *d = NULL;
        pid_t found_pid = 0;
        uid_t found_uid = (uid_t) -1;
        struct dirent *de;
        int k;

        if (pgid <= 0 || caller_uid == (uid_t) -1)
                return -EINVAL;
        d = opendir("/proc");
        if (!d)
                return -errno;
        for (;;) {
                _cleanup_process_ Process p = PROCESS_NULL;
                ProcessInfo info;
                pid_t pid, pgrp;
                char *end;
                long l;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                errno = 0;
                l = strtol(de->d_name, &end, 10);
                if (errno != 0 || *end != '\0' || l <= 0 || l > INT_MAX)
                        continue;
                pid = (pid_t) l;

                k = proc_pgrp(pid, &pgrp);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                if (pgrp != pgid)
                        continue;

                /* pidfd_open() itself, whatever the control path: signal
                 * scopes need a kernel that has it, and no pin, no fact. */
                /* Signal scopes need a kernel with pidfds: no pin, no fact. */
                k = process_from_pid(&p, pid, CONTROL_PATH_PIDFD);
                if (k == -ESRCH)
                        continue; /* gone, or the pid now names a thread */
                if (k < 0)
                        return k;
                k = process_get_info(&p, &info);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                /* The pinned process, still alive under this pid, in the group. */
                k = proc_pgrp(pid, &pgrp);
                if (k == -ESRCH)
                        continue;
                if (k < 0)
                        return k;
                if (process_check_alive(&p) < 0 || pgrp != pgid)
                        continue;

                /* kill(2): an unprivileged sender may signal a process whose
                 * real or saved uid is the sender's real or effective uid. */
                if (info.ruid == caller_uid || info.suid == caller_uid)
                        continue;
                if (found_pid == 0 || (found_uid != 0 && info.ruid == 0)) {
                        found_pid = pid;
                        found_uid = info.ruid;
                }
        }

        if (found_pid == 0)
                return 0;
        *ret_pid = found_pid;
        *ret_uid = found_uid;
        return 1;
}
