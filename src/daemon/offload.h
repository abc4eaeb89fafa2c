/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Blocking work off the event loop: a /proc walk, a syscall on an fd a
 * client handed us (a FUSE- or FIFO-backed file can stall fstat() for as
 * long as its server likes). Each job runs on a thread of its own (kept
 * for a next one: below) and has a deadline; when the deadline passes
 * first, the loop is told -ETIMEDOUT and the thread is abandoned: it frees
 * its data whenever it returns. A stalled fd so stalls only the request
 * that brought it, and the number of jobs one uid may have running
 * (stalled ones included) is bounded, as is the total.
 *
 * A thread that finished its job waits a while for the next one instead of
 * exiting, and takes only jobs of its own lane: a job may change its
 * thread for good (a spawn job puts its seccomp filter on it, for every
 * child made there to be born with), and a lane names that state. Lane 0
 * is for jobs that leave their thread as they found it. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct Offload Offload;
typedef struct OffloadJob OffloadJob;

/* Runs on the job's thread: plain syscalls on data, nothing of the daemon's. */
typedef void (*OffloadFunc)(void *data);
/* On the loop: r is 0 (data holds the result, and now belongs to the
 * callback) or -ETIMEDOUT (data stays with the abandoned thread: NULL). */
typedef void (*OffloadDone)(int r, void *data, void *userdata);

int offload_new(sd_event *event, unsigned max_per_uid, unsigned max_total, uint64_t timeout_usec, Offload **ret);
/* Jobs still running are abandoned (their threads free their data). */
Offload *offload_free(Offload *o);

/* Start fn(data) for uid, on an idle thread of lane if there is one.
 * -EUSERS when uid (or everyone) has as many jobs running as allowed; data
 * is then not taken. Otherwise data belongs to the job and done() runs
 * exactly once, unless the job is cancelled first. */
int offload_start(Offload *o, uid_t uid, uint64_t lane, OffloadFunc fn, void *data, void (*free_data)(void *data),
                  OffloadDone done, void *userdata, OffloadJob **ret);
/* done() will not run; the thread finishes on its own and frees its data. */
void offload_cancel(OffloadJob *j);

/* Jobs running for uid (abandoned ones included). */
unsigned offload_running(const Offload *o, uid_t uid);
/* Jobs running, for every uid (abandoned ones included). */
unsigned offload_total(const Offload *o);
/* Threads waiting for a job, of every lane. */
unsigned offload_idle(void);
/* Whether offload_start() for uid would find room now. */
bool offload_has_room(const Offload *o, uid_t uid);
