/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's state: one sd-event loop, the system bus connection, the
 * direct-socket connections, and the workloads. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "caller.h"
#include "cgroup.h"
#include "daemon-config.h"
#include "hashmap-u64.h"
#include "metrics.h"
#include "seccomp-profile.h"

typedef struct Manager Manager;
typedef struct Workload Workload;
typedef struct PrivateConnection PrivateConnection;
typedef struct Subscriber Subscriber;
typedef struct Request Request;
typedef struct Authority Authority;
typedef struct Offload Offload;
typedef struct IdentityCache IdentityCache;
typedef struct Owner Owner;
typedef struct LingeringUnit LingeringUnit;

#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_INTERFACE "org.pidbroker.Broker1"
#define BROKER_BUS_NAME "org.pidbroker.Broker1"
#define WORKLOAD_PATH_PREFIX "/org/pidbroker/Broker1/workload"
#define WORKLOAD_INTERFACE "org.pidbroker.Workload1"

/* A peer on the direct socket: its own sd-bus server connection, with the
 * identity read from the socket when it was accepted. */
struct PrivateConnection {
        Manager *manager;
        PrivateConnection *next, *prev;
        sd_bus *bus;
        Caller caller;
        bool authenticated;         /* the D-Bus authentication is done */
        sd_event_source *auth_timer; /* AuthTimeoutSec: closes it if not */
        sd_event_source *kick;       /* dispatches what came with the authentication */
};

struct Manager {
        Config *config;
        sd_event *event;
        sd_bus *bus;

        int private_fd;
        sd_event_source *private_source;
        PrivateConnection *connections;
        unsigned n_connections;
        unsigned n_connections_authenticating;

        Workload *workloads;
        unsigned n_workloads;
        U64Map workloads_by_id;   /* listed ones, by id */
        U64Map users;             /* UserCounts by owner uid */
        U64Map owners;            /* clients by connection (owner-track.h) */
        bool bus_lost;            /* the system bus connection or our name is gone: exit */
        CgroupSubtree cgroup_subtree; /* where workload units go; fd -EBADF: none */
        int cgroup_subtree_error;     /* why there is none */
        LingeringUnit *lingering_units; /* units of forgotten workloads, removed once empty (unit.h) */

        Subscriber *subscribers;  /* Broker1.Subscribe (subscription.h) */
        unsigned n_subscribers;

        Metrics metrics;

        Authority *authority;     /* the policy backend (authorize.h) */
        AuditLog *audit;          /* the audit trail (src/audit) */
        sd_event_source *audit_flush_timer;
        Offload *offload;         /* blocking work off the loop (offload.h) */
        IdentityCache *identities; /* callers on the system bus, by unique name */

        /* The request pipeline (request.h): the request of the message
         * being dispatched, and those waiting for a decision or a job. */
        Request *current;
        Request *pending;
        unsigned n_pending;

        SeccompProfile **seccomp_profiles;
        size_t n_seccomp_profiles;

        uint64_t next_counter_id; /* workload ids where pidfs is missing */

        /* Returning the heap after a mass release (heap-trim.h). */
        sd_event_source *heap_trim_timer;
        unsigned heap_high_water;
        /* State that outlives this process (workload-state.h). */
        int state_fd;             /* <StateDirectory>/workloads; -EBADF: no records */
        bool fd_store;            /* NOTIFY_SOCKET: pidfds go to systemd's fd store too */
        char **argv;              /* how we were started, for Reexecute (not owned) */
        bool reexecuting;         /* Reexecute() accepted: new Spawns are refused */
        bool reexecuted;          /* this image took over from --deserialize= */
        uint64_t reexec_audit_seq;
        uint64_t reexec_deadline;  /* CLOCK_MONOTONIC: unsettled spawns are killed then */
        sd_event_source *reexec_timer;
};

int manager_new(Config *config, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}

/* Everything but the transports: the event loop and its signals, the
 * seccomp profiles, the policy, the audit log, the blocking-work pool. */
int manager_setup(Manager *m);
/* manager_setup(), then connect, register the objects, take the name, open
 * the direct socket. */
int manager_start(Manager *m);
int manager_run(Manager *m);

/* Register every object of org.pidbroker.Broker1(5) on a connection. */
int manager_register_objects(Manager *m, sd_bus *bus);

PrivateConnection *manager_find_connection(Manager *m, sd_bus *bus);

/* "pidfd" or "legacy_pid": the path this daemon runs new workloads on. */
const char *manager_control_path(Manager *m);

/* A seccomp profile loaded at start; NULL for "none"; -ENOENT if unknown. */
int manager_get_seccomp_profile(Manager *m, const char *name, const SeccompProfile **ret);

/* The workloads of a uid, kept up to date as they change state
 * (workload_set_state()): live ones (spawning, running, stopping), and
 * exited ones its connected clients have not released yet. */
typedef struct UserCounts {
        unsigned live;
        unsigned unreleased;
} UserCounts;
unsigned manager_count_workloads(Manager *m, uid_t owner);
unsigned manager_count_unreleased(Manager *m, uid_t owner);

/* Append an audit record (audit_begin()); a failure is logged and returned:
 * the caller must then refuse the operation (AuditFailed). */
int manager_audit(Manager *m, const AuditRecord *rec, uint64_t *ret_seq);
/* A denial, within the subject's denial budget (a suppressed one is no
 * failure); a write failure is logged and returned. */
int manager_audit_denial(Manager *m, const AuditRecord *rec);
/* The outcome line (0 or -errno of the operation); failures are logged. */
void manager_audit_outcome(Manager *m, uint64_t seq, int result);
void manager_audit_outcome_fd_type(Manager *m, uint64_t seq, int result, const char *fd_type);

/* The private-socket listener (private-socket.c). */
int private_socket_open(Manager *m);
/* Serve a connected socket (taken, closed on failure) as a direct
 * connection, its peer identified from the socket. */
int private_connection_add(Manager *m, int fd);
void private_connection_free(PrivateConnection *c);
/* After each dispatch: connections whose authentication just finished get
 * the calls that came with it dispatched (sd-bus read them along with the
 * authentication, and no new input would wake it for them). */
void private_connections_dispatch_new(Manager *m);
