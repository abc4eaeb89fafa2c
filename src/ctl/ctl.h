/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pidbrokerctl's shared state and the verbs. Every verb talks to the broker
 * through the public D-Bus API of org.pidbroker.Broker1(5) only: through
 * libpidbroker (Spawn, the workload calls, Signal, GetFd), or on its sd-bus
 * connection for what the library does not wrap (listing, properties),
 * except `audit`, which reads the audit log file. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "pidbroker.h"

#define BROKER_BUS_NAME "org.pidbroker.Broker1"
#define BROKER_PATH "/org/pidbroker/Broker1"
#define BROKER_INTERFACE "org.pidbroker.Broker1"
#define WORKLOAD_PATH_PREFIX "/org/pidbroker/Broker1/workload/"
#define WORKLOAD_INTERFACE "org.pidbroker.Workload1"

#define DEFAULT_PRIVATE_SOCKET "/run/pidbroker/private"
#define DEFAULT_AUDIT_LOG "/var/log/pidbroker/audit.jsonl"

/* Exit codes of the verbs that otherwise exit with a workload's status
 * (run --wait, wait), in env(1)/timeout(1) style. */
#define EXIT_CTL_FAILED 125    /* pidbrokerctl or the broker failed */
#define EXIT_CANNOT_INVOKE 126 /* found but not executable / exec failed */
#define EXIT_NOT_FOUND 127     /* command not found on PATH */
#define EXIT_USAGE 2

typedef enum BusTransport {
        TRANSPORT_SYSTEM,
        TRANSPORT_DIRECT,
        TRANSPORT_ADDRESS,
} BusTransport;

typedef enum SignalScope {
        SCOPE_DEFAULT = 0,
        SCOPE_THREAD = 1,   /* PIDFD_SIGNAL_THREAD */
        SCOPE_PROCESS = 2,  /* PIDFD_SIGNAL_THREAD_GROUP */
        SCOPE_GROUP = 4,    /* PIDFD_SIGNAL_PROCESS_GROUP */
} SignalScope;

typedef struct FdArg {
        int target;
        int fd;        /* owned */
} FdArg;

typedef struct Args {
        BusTransport transport;
        const char *address;     /* --address=, or --direct's socket path */
        bool json;
        bool quiet;
        int verbose;

        /* run */
        char **namespaces;
        const char *user;
        const char *group;
        char **capabilities;
        const char *seccomp;
        char **env;              /* --env= as given */
        bool clear_env;
        const char *cwd;
        FdArg *fds;
        size_t n_fds;
        bool watch;
        bool has_stop_timeout;
        uint64_t stop_timeout_usec;
        bool wait;
        const char *hostname;
        char **uid_map;          /* INSIDE:OUTSIDE:COUNT as given */
        char **gid_map;
        int umask;               /* -1: not given */
        int setsid;              /* -1: not given, else 0/1 */
        int no_new_privileges;   /* -1: not given, else 0/1 */
        const char *cgroup;      /* a cgroup2 directory, opened here */
        const char *exe;         /* --exe=PATH: the executable, opened here */
        const char *groups;      /* --groups=G[,G...]; "" for none */
        char **properties;       /* -p NAME=VALUE, and the flags spelt as them */
        bool pty;
        bool require_pidfd;
        bool shell;

        /* signal, getfd */
        bool has_pid;
        pid_t pid;
        unsigned scope;

        /* audit */
        const char *audit_log;
        const char *action;
        bool has_uid;
        uid_t uid;
        bool has_since;
        uint64_t since_usec;
        bool has_until;
        uint64_t until_usec;
        const char *decision;
        const char *result;
        const char *workload;
        bool follow;
} Args;

extern Args arg;

static inline void pidbroker_spawn_freep(pidbroker_spawn **s) {
        *s = pidbroker_spawn_free(*s);
}

static inline void pidbroker_workload_unrefp(pidbroker_workload **w) {
        *w = pidbroker_workload_unref(*w);
}

/* Report an error in the one-line form "pidbrokerctl: <name>: <message>".
 * A D-Bus error keeps its name; a local failure reads
 * "pidbrokerctl: <context>: <strerror>". Returns r (negative). */
int ctl_error(int r, const sd_bus_error *error, const char *format, ...) _printf_(3, 4);
/* The same for a libpidbroker call: its error's name, or ours. */
int ctl_lib_error(int r, const pidbroker_error *error, const char *format, ...) _printf_(3, 4);
/* A local failure that needs no errno text: "pidbrokerctl: <message>". */
int ctl_plain_error(int r, const char *format, ...) _printf_(2, 3);
/* A usage mistake: "pidbrokerctl: <message>". Returns -EINVAL. */
int ctl_usage_error(const char *format, ...) _printf_(1, 2);
/* Whether ctl_usage_error() was called: the process then exits 2. */
bool ctl_usage_error_seen(void);
void ctl_debug(const char *format, ...) _printf_(1, 2);

/* Connect as --system/--direct/--address say, once per run; the client stays
 * ours until ctl_disconnect(). Errors are reported. */
int ctl_connect_client(pidbroker_client **ret);
/* The same connection's sd-bus (a new reference), for what the library
 * does not wrap. */
int ctl_connect(sd_bus **ret);
void ctl_disconnect(void);
/* The broker's well-known name, or NULL on a peer-to-peer connection. */
const char *ctl_destination(void);

/* A workload id (decimal) or object path → object path. */
int ctl_workload_path(const char *id_or_path, char **ret);

/* Walk an a{sv} of properties: for each, read_one is called inside the
 * variant with the property's name and signature; it reads the value or
 * skips it (sd_bus_message_skip). */
typedef int (*ctl_property_reader)(sd_bus_message *m, const char *name, const char *sig, void *userdata);
int ctl_read_properties(sd_bus_message *m, ctl_property_reader read_one, void *userdata);
/* Read an "s" into *ret, replacing what was there. */
int ctl_read_string(sd_bus_message *m, char **ret);

/* Exit code for an ExitStatus: the code, or 128+signal. */
int ctl_exit_code(const char *code, int status);

int verb_run(int argc, char *argv[]);
int verb_list(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_signal(int argc, char *argv[]);
int verb_stop(int argc, char *argv[]);
int verb_wait(int argc, char *argv[]);
int verb_release(int argc, char *argv[]);
int verb_monitor(int argc, char *argv[]);
int verb_getfd(int argc, char *argv[]);
int verb_features(int argc, char *argv[]);
int verb_metrics(int argc, char *argv[]);
int verb_audit(int argc, char *argv[]);
int verb_daemon_reexec(int argc, char *argv[]);
