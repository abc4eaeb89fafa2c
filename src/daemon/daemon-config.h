/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pidbrokerd's settings: built-in defaults, then /etc/pidbroker/pidbroker.conf
 * (optional; parsed with inih), then command-line flags, each overriding the
 * one before. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "legacy.h"
#include "log.h"

typedef enum PolicyBackend {
        POLICY_BACKEND_AUTO,
        POLICY_BACKEND_EMBEDDED,
        POLICY_BACKEND_POLKIT,
        _POLICY_BACKEND_MAX,
} PolicyBackend;

const char *policy_backend_to_string(PolicyBackend b);
int policy_backend_from_string(const char *s);

typedef struct Config {
        char *config_file;          /* NULL: the default path, missing is fine */
        bool config_file_explicit;  /* --config= given: the file must exist */

        ControlPath control_path;
        PolicyBackend policy_backend;
        char *policy_actions_file;  /* the polkit .policy file; NULL: the installed one */
        char **policy_rules_dirs;   /* NULL: /etc/pidbroker/rules.d, /usr/share/pidbroker/rules.d */
        uint64_t polkit_timeout_usec; /* a CheckAuthorization not answered by then is a deny */
        char *audit_log;
        char *private_socket;       /* "" disables the direct socket */
        /* Workload records go to <state_directory>/workloads; "" disables
         * them (no re-adoption after a restart). */
        char *state_directory;
        uint64_t stop_timeout_usec;
        uint64_t exit_retention_usec; /* keep an exited workload after its owner left */
        unsigned max_workloads_per_user;
        unsigned max_fds_per_call;
        size_t max_argv_bytes;
        size_t max_env_bytes;
        unsigned max_env_entries;   /* variables in one Spawn: each costs a parse on the loop */
        unsigned max_connections;   /* direct-socket connections at once */
        /* Wait and Stop calls pending on one running workload: each holds its
         * message until the exit, and nothing else bounds them (the direct
         * socket has no bus limit on pending replies). */
        unsigned max_waiters_per_workload;
        /* Connections of one uid subscribed at once (Broker1.Subscribe):
         * each costs a signal per workload event. */
        unsigned max_subscriptions_per_user;
        /* Calls of one connection, and of one uid, waiting at once for a
         * polkit decision or a blocking operation: each holds its message
         * (and its fds) until answered. */
        unsigned max_pending_per_connection;
        unsigned max_pending_per_user;
        /* Blocking operations (a /proc walk, a syscall on a client's fd) run
         * off the event loop: at most this many at once per uid and in all,
         * stalled ones included, each given up after the timeout. */
        unsigned max_blocking_per_user;
        unsigned max_blocking;
        uint64_t blocking_timeout_usec;
        /* Direct socket: connections per uid, and how long a connection may
         * take to finish the D-Bus authentication. */
        unsigned max_connections_per_user;
        uint64_t auth_timeout_usec;
        /* Denial records per uid: a burst, refilled at a rate; past it one
         * summary record stands for the suppressed ones. */
        unsigned audit_denial_burst;
        unsigned audit_denials_per_sec;
        /* The seccomp profile of a Spawn that names none. */
        char *default_seccomp_profile;
        LogTarget log_target;
        int log_level;

        bool show_features;         /* --features: print the probe table and exit */
        /* --deserialize=FD: the state a Reexecute() left, in a memfd;
         * -EBADF when starting afresh. */
        int deserialize_fd;
} Config;

#define PIDBROKER_DEFAULT_CONFIG_FILE PIDBROKER_SYSCONFDIR "/pidbroker.conf"
#define PIDBROKER_DEFAULT_PRIVATE_SOCKET "/run/pidbroker/private"
#define PIDBROKER_DEFAULT_AUDIT_LOG "/var/log/pidbroker/audit.jsonl"
#define PIDBROKER_DEFAULT_STATE_DIRECTORY "/run/pidbroker"

void config_init(Config *c);
void config_done(Config *c);

/* 0 to run, 1 to exit successfully (--help, --version), -errno on error. */
int config_parse_argv(Config *c, int argc, char *argv[]);
