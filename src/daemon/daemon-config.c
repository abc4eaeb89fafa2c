/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "audit.h"
#include "daemon-config.h"
#include "parse-util.h"
#include "strv.h"

static const char *const policy_backend_table[_POLICY_BACKEND_MAX] = {
        [POLICY_BACKEND_AUTO] = "auto",
        [POLICY_BACKEND_EMBEDDED] = "embedded",
        [POLICY_BACKEND_POLKIT] = "polkit",
};

const char *policy_backend_to_string(PolicyBackend b) {
        return b >= 0 && b < _POLICY_BACKEND_MAX ? policy_backend_table[b] : NULL;
}

int policy_backend_from_string(const char *s) {
        for (int i = 0; i < _POLICY_BACKEND_MAX; i++)
                if (s && strcmp(s, policy_backend_table[i]) == 0)
                        return i;
        return -EINVAL;
}

void config_init(Config *c) {
        *c = (Config) {
                .control_path = CONTROL_PATH_AUTO,
                .policy_backend = POLICY_BACKEND_AUTO,
                .polkit_timeout_usec = 25 * 1000000ULL,
                .stop_timeout_usec = 10 * 1000000ULL,
                .exit_retention_usec = 60 * 1000000ULL,
                .max_workloads_per_user = 64,
                .max_fds_per_call = 16,
                .max_argv_bytes = 128 * 1024,
                .max_env_bytes = 128 * 1024,
                .max_env_entries = 1024,
                .max_connections = 256,
                .max_waiters_per_workload = 64,
                .max_subscriptions_per_user = 16,
                .max_pending_per_connection = 32,
                .max_pending_per_user = 64,
                /* A session manager starts applications in parallel, each
                 * Spawn a blocking job while its child shares our memory. */
                .max_blocking_per_user = 16,
                .max_blocking = 64,
                .blocking_timeout_usec = 5 * 1000000ULL,
                .max_connections_per_user = 16,
                .auth_timeout_usec = 5 * 1000000ULL,
                .audit_denial_burst = AUDIT_DENIAL_BURST_DEFAULT,
                .audit_denials_per_sec = AUDIT_DENIAL_PER_SECOND_DEFAULT,
                .log_target = LOG_TARGET_AUTO,
                .log_level = LOG_INFO,
                .deserialize_fd = -EBADF,
        };
}

void config_done(Config *c) {
        free(c->config_file);
        free(c->policy_actions_file);
        strv_free(c->policy_rules_dirs);
        free(c->audit_log);
        free(c->private_socket);
        free(c->state_directory);
        free(c->default_seccomp_profile);
}

static int parse_unsigned(const char *s, unsigned *ret) {
        uint64_t v;
        if (parse_u64_strict(s, &v) < 0 || v > UINT_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* Seconds, with an optional fraction: "10", "0.5". */
static int parse_sec(const char *s, uint64_t *ret_usec) {
        char *end;
        /* A digit first: strtod() also takes " -1", "nan", "inf" and hex. */
        if (!s || *s < '0' || *s > '9' || strpbrk(s, "xX"))
                return -EINVAL;
        errno = 0;
        double d = strtod(s, &end);
        /* Written so that a NaN fails too: its conversion below is undefined. */
        if (errno != 0 || *end || !(d >= 0 && d <= 1e9))
                return -EINVAL;
        *ret_usec = (uint64_t) (d * 1e6);
        return 0;
}

static int set_string(char **p, const char *v) {
        char *n = strdup(v);
        if (!n)
                return -ENOMEM;
        free(*p);
        *p = n;
        return 0;
}

/* "DIR[:DIR...]", highest precedence first, as a NULL-terminated list.
 * Empty entries are dropped, so "" means no rules directory at all. */
static int set_dirs(char ***p, const char *v) {
        char *copy = strdup(v), *state = NULL, **l = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        l = calloc(1, sizeof(char *));
        if (!l)
                goto oom;
        for (char *d = strtok_r(copy, ":", &state); d; d = strtok_r(NULL, ":", &state)) {
                char **nl = reallocarray(l, n + 2, sizeof(char *));
                if (!nl)
                        goto oom;
                l = nl;
                l[n] = strdup(d);
                if (!l[n])
                        goto oom;
                l[++n] = NULL;
        }
        free(copy);
        strv_free(*p);
        *p = l;
        return 0;
oom:
        free(copy);
        strv_free(l);
        return -ENOMEM;
}

/* One setting by its config-file name; flags map onto the same names. */
static int config_set(Config *c, const char *key, const char *value) {
        uint64_t u64;
        int r;

        if (strcasecmp(key, "ControlPath") == 0) {
                r = control_path_from_string(value);
                if (r < 0)
                        return -EINVAL;
                c->control_path = r;
        } else if (strcasecmp(key, "PolicyBackend") == 0) {
                r = policy_backend_from_string(value);
                if (r < 0)
                        return -EINVAL;
                c->policy_backend = r;
        } else if (strcasecmp(key, "PolicyActionsFile") == 0)
                return set_string(&c->policy_actions_file, value);
        else if (strcasecmp(key, "PolicyRulesDirs") == 0)
                return set_dirs(&c->policy_rules_dirs, value);
        else if (strcasecmp(key, "PolkitTimeoutSec") == 0) {
                r = parse_sec(value, &c->polkit_timeout_usec);
                if (r < 0 || c->polkit_timeout_usec == 0)
                        return -EINVAL;
        } else if (strcasecmp(key, "AuditLog") == 0)
                return set_string(&c->audit_log, value);
        else if (strcasecmp(key, "PrivateSocket") == 0)
                return set_string(&c->private_socket, value);
        else if (strcasecmp(key, "StateDirectory") == 0) {
                /* Absolute, or "" for none. */
                if (value[0] != '\0' && value[0] != '/')
                        return -EINVAL;
                return set_string(&c->state_directory, value);
        }
        else if (strcasecmp(key, "StopTimeoutSec") == 0)
                return parse_sec(value, &c->stop_timeout_usec);
        else if (strcasecmp(key, "ExitRetentionSec") == 0)
                return parse_sec(value, &c->exit_retention_usec);
        else if (strcasecmp(key, "MaxWorkloadsPerUser") == 0)
                return parse_unsigned(value, &c->max_workloads_per_user);
        else if (strcasecmp(key, "MaxFdsPerCall") == 0)
                return parse_unsigned(value, &c->max_fds_per_call);
        else if (strcasecmp(key, "MaxConnections") == 0)
                return parse_unsigned(value, &c->max_connections);
        else if (strcasecmp(key, "MaxWaitersPerWorkload") == 0)
                return parse_unsigned(value, &c->max_waiters_per_workload);
        else if (strcasecmp(key, "MaxSubscriptionsPerUser") == 0)
                return parse_unsigned(value, &c->max_subscriptions_per_user);
        else if (strcasecmp(key, "MaxPendingPerConnection") == 0)
                return parse_unsigned(value, &c->max_pending_per_connection);
        else if (strcasecmp(key, "MaxEnvEntries") == 0)
                return parse_unsigned(value, &c->max_env_entries);
        else if (strcasecmp(key, "MaxPendingPerUser") == 0)
                return parse_unsigned(value, &c->max_pending_per_user);
        else if (strcasecmp(key, "MaxBlockingPerUser") == 0)
                return parse_unsigned(value, &c->max_blocking_per_user);
        else if (strcasecmp(key, "MaxBlocking") == 0)
                return parse_unsigned(value, &c->max_blocking);
        else if (strcasecmp(key, "BlockingTimeoutSec") == 0)
                return parse_sec(value, &c->blocking_timeout_usec);
        else if (strcasecmp(key, "MaxConnectionsPerUser") == 0)
                return parse_unsigned(value, &c->max_connections_per_user);
        else if (strcasecmp(key, "AuthTimeoutSec") == 0)
                return parse_sec(value, &c->auth_timeout_usec);
        else if (strcasecmp(key, "AuditDenialBurst") == 0)
                return parse_unsigned(value, &c->audit_denial_burst);
        else if (strcasecmp(key, "AuditDenialsPerSec") == 0)
                return parse_unsigned(value, &c->audit_denials_per_sec);
        else if (strcasecmp(key, "DefaultSeccompProfile") == 0)
                return set_string(&c->default_seccomp_profile, value);
        else if (strcasecmp(key, "MaxArgvBytes") == 0) {
                if (parse_u64_strict(value, &u64) < 0 || u64 > SIZE_MAX)
                        return -EINVAL;
                c->max_argv_bytes = u64;
        } else if (strcasecmp(key, "MaxEnvBytes") == 0) {
                if (parse_u64_strict(value, &u64) < 0 || u64 > SIZE_MAX)
                        return -EINVAL;
                c->max_env_bytes = u64;
        } else if (strcasecmp(key, "LogTarget") == 0) {
                r = log_target_from_string(value);
                if (r < 0)
                        return -EINVAL;
                c->log_target = r;
        } else if (strcasecmp(key, "LogLevel") == 0) {
                r = log_parse_level(value);
                if (r < 0)
                        return -EINVAL;
                c->log_level = r;
        } else
                return -ENOENT;
        return 0;
}

typedef struct IniState {
        Config *config;
        const char *path;
        int error;
} IniState;

static int config_ini_handler(void *user, const char *section, const char *name, const char *value) {
        IniState *st = user;

        /* Keys may stand before any section or in [Broker], systemd-style. */
        if (section[0] && strcasecmp(section, "Broker") != 0) {
                log_warning("%s: unknown section [%s], ignoring.", st->path, section);
                return 1;
        }
        int r = config_set(st->config, name, value);
        if (r == -ENOENT)
                log_warning("%s: unknown key %s, ignoring.", st->path, name);
        else if (r == -ENOMEM) {
                st->error = r;
                return 0;
        } else if (r < 0) {
                log_error("%s: invalid value for %s: %s", st->path, name, value);
                st->error = -EINVAL;
                return 0;
        }
        return 1;
}

static int config_load_file(Config *c) {
        const char *path = c->config_file ?: PIDBROKER_DEFAULT_CONFIG_FILE;
        FILE *f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !c->config_file_explicit)
                        return 0; /* the file is optional */
                return log_error_errno(-errno, "Failed to open %s: %m", path);
        }

        IniState st = { .config = c, .path = path };
        int r = ini_parse_file(f, config_ini_handler, &st);
        fclose(f);
        if (st.error < 0)
                return st.error;
        if (r > 0)
                return log_error_errno(-EINVAL, "%s:%d: syntax error.", path, r);
        if (r < 0)
                return log_error_errno(-EIO, "Failed to parse %s.", path);
        return 0;
}

static void help(void) {
        printf("pidbrokerd [OPTIONS...]\n\n"
               "The pidbroker daemon: spawns workloads into new namespaces and hands\n"
               "their pidfds to D-Bus clients.\n\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show the version\n"
               "     --features                Print the kernel feature probe and exit\n"
               "     --config=PATH             Configuration file (default %s)\n"
               "     --control-path=auto|pidfd|legacy\n"
               "     --policy-backend=auto|embedded|polkit\n"
               "     --policy-actions=PATH     polkit .policy file with the actions\n"
               "     --rules-dir=DIR[:DIR...]  Embedded rules directories, first wins\n"
               "     --polkit-timeout-sec=SEC  Deny when polkit has not answered by then\n"
               "     --audit-log=PATH\n"
               "     --private-socket=PATH     Direct socket (\"\" disables it)\n"
               "     --state-directory=DIR     Workload records for re-adoption (\"\" disables them)\n"
               "     --stop-timeout-sec=SEC    SIGTERM→SIGKILL escalation\n"
               "     --exit-retention-sec=SEC  Keep exit status after the owner left\n"
               "     --max-workloads-per-user=N\n"
               "     --max-fds-per-call=N\n"
               "     --max-argv-bytes=N\n"
               "     --max-env-bytes=N\n"
               "     --max-connections=N       Direct-socket connections\n"
               "     --max-waiters-per-workload=N\n"
               "                               Wait/Stop calls pending on one workload\n"
               "     --max-subscriptions-per-user=N\n"
               "                               Connections of one uid subscribed to events\n"
               "     --max-pending-per-connection=N\n"
               "                               Calls of one client awaiting an answer\n"
               "     --max-env-entries=N       Variables in one Spawn's environment\n"
               "     --max-pending-per-user=N  Calls of one uid awaiting an answer\n"
               "     --max-blocking-per-user=N Blocking operations of one uid at once\n"
               "     --max-blocking=N          Blocking operations at once\n"
               "     --blocking-timeout-sec=SEC\n"
               "     --max-connections-per-user=N\n"
               "                               Direct-socket connections of one uid\n"
               "     --auth-timeout-sec=SEC    Direct-socket authentication deadline\n"
               "     --audit-denial-burst=N    Denial records of one uid in a burst\n"
               "     --audit-denials-per-sec=N Denial records of one uid per second\n"
               "     --default-seccomp-profile=NAME\n"
               "     --log-target=auto|journal|stderr\n"
               "     --log-level=LEVEL\n"
               "     --deserialize=FD          Take over the state Reexecute() left (internal)\n",
               PIDBROKER_DEFAULT_CONFIG_FILE);
}

int config_parse_argv(Config *c, int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_FEATURES,
                ARG_CONFIG,
                ARG_DESERIALIZE,
                ARG_SETTING, /* every flag below maps to a config key */
        };
        static const struct {
                const char *flag, *key;
        } settings[] = {
                { "control-path", "ControlPath" },
                { "policy-backend", "PolicyBackend" },
                { "policy-actions", "PolicyActionsFile" },
                { "rules-dir", "PolicyRulesDirs" },
                { "polkit-timeout-sec", "PolkitTimeoutSec" },
                { "audit-log", "AuditLog" },
                { "private-socket", "PrivateSocket" },
                { "state-directory", "StateDirectory" },
                { "stop-timeout-sec", "StopTimeoutSec" },
                { "exit-retention-sec", "ExitRetentionSec" },
                { "max-workloads-per-user", "MaxWorkloadsPerUser" },
                { "max-fds-per-call", "MaxFdsPerCall" },
                { "max-argv-bytes", "MaxArgvBytes" },
                { "max-env-bytes", "MaxEnvBytes" },
                { "max-connections", "MaxConnections" },
                { "max-waiters-per-workload", "MaxWaitersPerWorkload" },
                { "max-subscriptions-per-user", "MaxSubscriptionsPerUser" },
                { "max-pending-per-connection", "MaxPendingPerConnection" },
                { "max-env-entries", "MaxEnvEntries" },
                { "max-pending-per-user", "MaxPendingPerUser" },
                { "max-blocking-per-user", "MaxBlockingPerUser" },
                { "max-blocking", "MaxBlocking" },
                { "blocking-timeout-sec", "BlockingTimeoutSec" },
                { "max-connections-per-user", "MaxConnectionsPerUser" },
                { "auth-timeout-sec", "AuthTimeoutSec" },
                { "audit-denial-burst", "AuditDenialBurst" },
                { "audit-denials-per-sec", "AuditDenialsPerSec" },
                { "default-seccomp-profile", "DefaultSeccompProfile" },
                { "log-target", "LogTarget" },
                { "log-level", "LogLevel" },
        };
        struct option options[ELEMENTSOF(settings) + 6] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "features", no_argument, NULL, ARG_FEATURES },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "deserialize", required_argument, NULL, ARG_DESERIALIZE },
        };
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                options[5 + i] = (struct option) { settings[i].flag, required_argument, NULL, ARG_SETTING + (int) i };

        int opt, r;

        /* Pass 1: what decides which file to read. */
        opterr = 1;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("pidbrokerd %s\n", PIDBROKER_VERSION);
                        return 1;
                case ARG_FEATURES:
                        c->show_features = true;
                        break;
                case ARG_CONFIG:
                        r = set_string(&c->config_file, optarg);
                        if (r < 0)
                                return r;
                        c->config_file_explicit = true;
                        break;
                case ARG_DESERIALIZE: {
                        unsigned fd;
                        if (parse_unsigned(optarg, &fd) < 0 || fd < 3 || fd > INT_MAX) {
                                log_error("Invalid value for --deserialize: %s", optarg);
                                return -EINVAL;
                        }
                        c->deserialize_fd = (int) fd;
                        break;
                }
                case '?':
                        return -EINVAL;
                default:
                        break;
                }
        if (optind < argc) {
                log_error("Unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }

        r = config_load_file(c);
        if (r < 0)
                return r;

        /* Pass 2: flags override the file. */
        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (opt < ARG_SETTING)
                        continue;
                size_t i = (size_t) (opt - ARG_SETTING);
                r = config_set(c, settings[i].key, optarg);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        log_error("Invalid value for --%s: %s", settings[i].flag, optarg);
                        return -EINVAL;
                }
        }

        if (!c->audit_log && set_string(&c->audit_log, PIDBROKER_DEFAULT_AUDIT_LOG) < 0)
                return log_oom();
        if (!c->private_socket && set_string(&c->private_socket, PIDBROKER_DEFAULT_PRIVATE_SOCKET) < 0)
                return log_oom();
        if (!c->state_directory && set_string(&c->state_directory, PIDBROKER_DEFAULT_STATE_DIRECTORY) < 0)
                return log_oom();
        if (!c->default_seccomp_profile && set_string(&c->default_seccomp_profile, "default") < 0)
                return log_oom();
        if (c->max_fds_per_call == 0 || c->max_workloads_per_user == 0 || c->max_waiters_per_workload == 0 ||
            c->max_pending_per_connection == 0 || c->max_pending_per_user == 0 || c->max_blocking_per_user == 0 ||
            c->max_blocking == 0 || c->max_connections_per_user == 0 || c->max_subscriptions_per_user == 0)
                return log_error_errno(-EINVAL, "Limits must be at least 1.");
        return 0;
}
