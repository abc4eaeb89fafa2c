/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A workload: one spawned process tracked from spawn_start() until its exit
 * status is released. Exit is seen by an sd-event io source on the pidfd and
 * collected with waitid(P_PIDFD); zombies are never left. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "caller.h"
#include "cgroup.h"
#include "manager.h"
#include "namespace.h"
#include "owner-track.h"
#include "spawn.h"
#include "strv.h"
#include "unit.h"
#include "workload-record.h"

typedef enum WorkloadState {
        WORKLOAD_SPAWNING, /* cloned, exec result not yet known: invisible */
        WORKLOAD_RUNNING,
        WORKLOAD_STOPPING, /* main process gone, its cgroup not yet empty */
        WORKLOAD_EXITED,
        WORKLOAD_LOST,     /* found in the state after a crash, but not proven to be the same process */
        WORKLOAD_FAILED,   /* exec failed: invisible, waits only to be reaped */
} WorkloadState;

/* The State property: "running", "stopping", "exited", "lost"; NULL for
 * the states that are never exported. */
const char *workload_state_to_string(WorkloadState s);

/* Which of its owner's UserCounts (manager.h) a workload is in. */
typedef enum WorkloadCount {
        WORKLOAD_COUNT_NONE,
        WORKLOAD_COUNT_LIVE,
        WORKLOAD_COUNT_UNRELEASED,
} WorkloadCount;

typedef struct WorkloadOptions {
        uid_t user;
        bool watch_client;
        uint64_t stop_timeout_usec;
        KillMode kill_mode;       /* KILL_MODE_PROCESS when it has no unit */
        uint64_t audit_seq;       /* the Spawn's audit record, completed with the exec result */
} WorkloadOptions;

struct Workload {
        Manager *manager;
        Workload *next, *prev;

        Spawned spawned;
        uint64_t id;
        char *path;
        char **argv;
        CgroupUnit unit;          /* the workload's own cgroup; fd -EBADF: none */

        uid_t owner_uid;
        uid_t user;
        sd_bus *owner_bus;        /* the connection Exited goes to */
        char *owner_name;         /* unique name; NULL on the direct socket */
        Owner *owner;             /* owner-track.h; NULL once gone */
        Workload *owner_next, *owner_prev;
        bool owner_gone;

        bool watch_client;
        uint64_t stop_timeout_usec;
        bool stopping;
        KillMode kill_mode;
        const char *stop_rule;    /* the audit rule of a stop of the daemon's own, while it waits to be recorded */
        uint64_t spawn_audit_seq;  /* 0 once its outcome is written */

        WorkloadState state;      /* changed by workload_set_state() only */
        WorkloadCount counted_as;
        const char *exit_code;    /* "exited", "killed", "dumped"; "" while running */
        int exit_status;
        uint64_t exited_usec;

        uint64_t namespaces[_NAMESPACE_MAX]; /* nsfs inodes, 0 = unknown */
        uint64_t created_usec;

        sd_event_source *pidfd_source;
        sd_event_source *status_source;
        sd_event_source *kill_timer;
        sd_event_source *retention_timer;
        sd_event_source *audit_retry_timer; /* a stop that could not be recorded yet */
        sd_event_source *unit_events;    /* cgroup.events while stopping: the unit emptying */

        sd_bus_message *spawn_message;   /* the Spawn call, answered once exec is known */
        sd_bus_message **waiters;        /* Wait and Stop calls, answered once exited */
        size_t n_waiters;
};

/* Bring back a workload the daemon had before a crash, a restart or a
 * re-exec, with its id, path, owner and argv from rec. p is its process,
 * proven to be rec's (taken; PROCESS_NULL when it could not be): without
 * one, a workload rec says exited comes back exited, any other comes back
 * lost. A process that is no child of ours (after a crash) has its exit
 * status read through PIDFD_INFO_EXIT once reaped. status_fd (taken; may
 * be -EBADF) is a pidbroker init's channel kept across a re-exec; stopping:
 * a Stop was under way (the SIGKILL timer starts again). The owner's bus
 * name is tracked again: a watch_client workload whose owner is gone is
 * stopped. */
int workload_adopt(Manager *m, const WorkloadRecord *rec, Process *p, int *status_fd, bool stopping,
                   Workload **ret);

/* Take over a freshly started child (spawned is moved out) and await its exec
 * result; the Spawn call msg is answered from the event loop, or by
 * workload_spawn_settle(). argv is moved. */
int workload_new(Manager *m, const Caller *caller, sd_bus_message *msg, Spawned *spawned, char ***argv,
                 const WorkloadOptions *opts, Workload **ret);
/* The exec result, when spawn_start() knew it already (a child that shared
 * our memory): act on it and answer the Spawn call now, once the caller has
 * finished setting the workload up. Otherwise the event loop does, later. */
void workload_spawn_settle(Workload *w);
Workload *workload_free(Workload *w);

/* A listed workload by id, in constant time. */
Workload *workload_find(Manager *m, uint64_t id);
/* Give w its id and object path, and index it by id; -EEXIST when another
 * workload has the id. */
int workload_set_id(Workload *w, uint64_t id);
/* Every change of w->state goes through here. The per-uid counts follow it
 * (manager_count_workloads()), from whatever w was counted as before. A
 * change between exported states is published: PropertiesChanged with
 * State and ExitStatus, to the owner and the subscribers that see the
 * workload; so set exit_code and exit_status before the state they come
 * with. Entering the first exported state publishes nothing: the workload
 * appears with it (InterfacesAdded). */
void workload_set_state(Workload *w, WorkloadState state);
/* Live: its process may still run, so it counts against
 * MaxWorkloadsPerUser. */
static inline bool workload_state_is_live(WorkloadState s) {
        return s == WORKLOAD_SPAWNING || s == WORKLOAD_RUNNING || s == WORKLOAD_STOPPING;
}
/* "/org/pidbroker/Broker1/workload/<id>" → id; -EINVAL for anything else. */
int workload_id_from_path(const char *path, uint64_t *ret);
/* Exported: running or exited, not spawning or failed. Who may see it is
 * visibility.h's business. */
static inline bool workload_is_listed(const Workload *w) {
        return workload_state_to_string(w->state) != NULL;
}

/* Whether a Stop now sends SIGTERM (no stop under way, and something left
 * to signal). */
bool workload_stop_signals(const Workload *w);
/* SIGTERM, then SIGKILL after the stop timeout: with kill_mode=cgroup to
 * every process of the unit (SIGKILL by cgroup.kill), else to the main
 * process. reply_to (may be NULL) is answered with (s, i) once the workload
 * has exited: its main process is gone, and with kill_mode=cgroup its unit
 * is empty (the state is "stopping" in between). audit_seq is the record a
 * Stop caller's SIGTERM was written under; 0 when the daemon stops it on the
 * owner's behalf (watch_client), in which case the record is written here,
 * and when it cannot be, the stop waits and retries (nothing unrecorded). */
int workload_stop(Workload *w, sd_bus_message *reply_to, uint64_t audit_seq);
/* Answer msg with (s, i) once exited (now, if exited already); -EUSERS when
 * MaxWaitersPerWorkload calls are pending already. */
int workload_add_waiter(Workload *w, sd_bus_message *msg);
/* A client went away: the Wait and Stop calls it had pending on any
 * workload are dropped (the workloads carry on). sender NULL: every call
 * that came over bus (a direct connection). */
void workloads_drop_waiters_of(Manager *m, sd_bus *bus, const char *sender);
/* Whether one more Wait or Stop may be added (always, once exited). */
bool workload_waiter_room(const Workload *w);
/* Forget an exited (or lost) workload, its state record too. */
void workload_release(Workload *w);
/* What the state record of w holds, pointing into w (valid while w is
 * unchanged). */
void workload_to_record(const Workload *w, WorkloadRecord *ret);
/* The exit, if the kernel has it but the event loop has not seen it yet,
 * taken now: true when w has exited (by now). */
bool workload_collect_exit(Workload *w);

/* Workload1 on the bus (workload-bus.c). Each signal goes to the owner's
 * connection and to the subscribers that see the workload (subscription.h),
 * addressed to each: never broadcast. */
int workload_register_objects(Manager *m, sd_bus *bus);
int workload_send_exited(Workload *w);
int workload_send_properties_changed(Workload *w);
/* InterfacesAdded, and WorkloadNew to the subscribers. */
int workload_send_interfaces_added(Workload *w);
/* InterfacesRemoved, and WorkloadRemoved to the subscribers. */
int workload_send_interfaces_removed(Workload *w);
int workload_reply_exit(Workload *w, sd_bus_message *msg);
/* A waitpid() status as ExitStatus says it: ("exited", code), ("killed",
 * sig), ("dumped", sig). */
void workload_status_from_wait_status(int ws, const char **code, int *status);

/* Broker1 on the bus (broker-bus.c). */
int broker_register_objects(Manager *m, sd_bus *bus);
/* Signal numbers and flags both interfaces accept: InvalidArgument or
 * NotSupported in *error otherwise. */
int signal_check_args(int sig, unsigned flags, sd_bus_error *error);
/* Signal on either interface, steps 2 to 7 of the pipeline (request.h) once
 * the caller is identified and the arguments read: the target p as the
 * policy and the record see it, decide, record, send, reply. Returns what a
 * method handler returns. */
int handle_signal(Request *r, const Process *p, int sig, unsigned flags, sd_bus_error *error);

/* The owner's connection went away: watch_client workloads are stopped,
 * exited ones kept for the retention time only. */
void workload_owner_gone(Workload *w);

