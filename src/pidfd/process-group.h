/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* PIDFD_SIGNAL_PROCESS_GROUP reaches every member of the process group
 * whose id is the target's pid, each checked by the kernel against the
 * sender's credentials. For a sender acting for caller_uid (the daemon, as
 * root): find a member kill(2) would not let the caller signal, i.e. whose
 * real and saved uid both differ from caller_uid. 1 with *ret_pid, *ret_uid
 * (uid 0 preferred where there are several), 0 when there is none, -errno
 * when the group cannot be read. Walks all of /proc: linear in the number
 * of processes, so never on an event loop. */
int process_group_foreign_member(pid_t pgid, uid_t caller_uid, pid_t *ret_pid, uid_t *ret_uid);
