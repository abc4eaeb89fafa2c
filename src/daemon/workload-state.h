/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Workloads that outlive the daemon's process. Three ways, one identity
 * rule (a workload comes back only when its pidfs id proves it is the same
 * process; otherwise it is "lost", never guessed):
 *
 *   - a crash or a restart: the per-workload records under
 *     <StateDirectory>/workloads (src/state), written before Spawn replies,
 *     rewritten at exit, removed at release. At start each is proven by
 *     open_by_handle_at() on its pidfs handle, or pidfd_open(pid) and the
 *     id;
 *   - under systemd, its fd store: every workload's pidfd is pushed as
 *     "w-<id>", so a workload that ended while the daemon was down still
 *     has its exit status (PIDFD_INFO_EXIT on that pidfd);
 *   - Reexecute(): the records and the pidfds, kept open across execve()
 *     in a memfd the new image gets with --deserialize=FD. It is still the
 *     parent of every workload, so no exit status is lost. */

#include <stdint.h>

#include "manager.h"

/* StateDirectory=: make and open <dir>/workloads (0700, ours); nothing when
 * it is "". Notes whether systemd's fd store is there (NOTIFY_SOCKET). */
int manager_state_open(Manager *m);

/* The record of w, written now (it only changes at exit). Logged and
 * returned on failure. 0 without a state directory. */
int workload_state_save(Workload *w);
/* Its pidfd to systemd's fd store, where there is one. */
void workload_state_push_fd(Workload *w);
/* Its record and fd store entry removed: released or forgotten. */
void workload_state_forget(Workload *w);

/* At start, before the bus name is taken: the workloads of the process
 * before us, from --deserialize=FD, the fd store and the records. */
int manager_readopt(Manager *m);

/* Reexecute(), once allowed and recorded under audit_seq (whose outcome is
 * written right before the execve()): new Spawns are refused
 * (Reexecuting), spawns under way are awaited, then the state is
 * serialised and the daemon's own binary executed. */
int manager_reexecute(Manager *m, uint64_t audit_seq);
