/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `run`: build Broker1.Spawn from the command line, and with --wait sit on the
 * returned pidfd until the workload exits, forwarding our signals to it
 * through the broker. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "ctl-pty.h"
#include "ctl-util.h"
#include "ctl.h"
#include "json.h"

extern char **environ;

/* How long Spawn may take: the broker answers once exec succeeded, and a
 * polkit agent may be asking a person first. */
#define SPAWN_TIMEOUT_USEC (300 * USEC_PER_SEC)

/* Set NAME=VALUE in env (replacing NAME), or with just NAME copy it from our
 * own environment (absent: nothing). */
static int env_set(char ***env, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        _cleanup_free_ char *owned = NULL;
        size_t namelen;

        if (!eq) {
                const char *v = getenv(assignment);
                if (!v)
                        return 0;
                if (asprintf(&owned, "%s=%s", assignment, v) < 0)
                        return -ENOMEM;
                assignment = owned;
                eq = strchr(assignment, '=');
        }
        namelen = (size_t) (eq - assignment);

        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, assignment, namelen + 1) == 0) {
                        char *copy = strdup(assignment);
                        if (!copy)
                                return -ENOMEM;
                        free(*e);
                        *e = copy;
                        return 0;
                }
        return strv_extend(env, assignment);
}

static const char *env_get(char **env, const char *name) {
        size_t len = strlen(name);

        for (char **e = env; e && *e; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        return NULL;
}

/* The workload's environment: ours (unless --clear-env), then --env. */
static int build_env(char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        if (!arg.clear_env)
                for (char **e = environ; e && *e; e++) {
                        /* The broker refuses these; the rest still runs. */
                        if (!env_assignment_is_valid(*e))
                                continue;
                        r = env_set(&env, *e);
                        if (r < 0)
                                return r;
                }
        for (char **e = arg.env; e && *e; e++) {
                r = env_set(&env, *e);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

/* pty_slave: the terminal of --pty, or -EBADF. */
static int add_fds(pidbroker_spawn *s, int pty_slave) {
        int r;

        /* stdin, stdout, stderr pass through (or get the pty) unless --fd
         * replaced them. */
        for (int target = 0; target <= 2; target++) {
                bool overridden = false;

                for (size_t i = 0; i < arg.n_fds; i++)
                        overridden = overridden || arg.fds[i].target == target;
                if (overridden || (pty_slave < 0 && !fd_is_open(target)))
                        continue;
                r = pidbroker_spawn_set_fd(s, target, pty_slave >= 0 ? pty_slave : target);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < arg.n_fds; i++) {
                r = pidbroker_spawn_set_fd(s, arg.fds[i].target, arg.fds[i].fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* -v shows which Spawn options go out (and a test checks that every option
 * of the broker has a flag). */
static int sent(int r, const char *key) {
        if (r >= 0)
                ctl_debug("Spawn option: %s", key);
        return r;
}

/* The supplementary groups of another user, from the user database. */
static int set_user_groups(pidbroker_spawn *s, uid_t uid, gid_t gid) {
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;
        int r;

        r = user_groups(uid, gid, &groups, &n);
        if (r == -ESRCH)
                n = 0; /* unknown user: no supplementary groups, never ours */
        else if (r < 0)
                return r;
        return sent(pidbroker_spawn_set_groups(s, groups, n), "groups");
}

static int parse_limit_value(const char *s, uint64_t *ret) {
        if (strcmp(s, "infinity") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_size(s, ret);
}

static int parse_int_range(const char *s, int min, int max, int *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || v < min || v > max)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

static int property_memory_max(pidbroker_spawn *s, const char *name, const char *value) {
        uint64_t v;
        return parse_limit_value(value, &v) < 0 ? -EINVAL : pidbroker_spawn_set_memory_max(s, v);
}

static int property_tasks_max(pidbroker_spawn *s, const char *name, const char *value) {
        uint64_t v;
        return parse_limit_value(value, &v) < 0 ? -EINVAL : pidbroker_spawn_set_pids_max(s, v);
}

static int property_weight(pidbroker_spawn *s, const char *name, const char *value) {
        int v;

        /* cgroup v2's range, as systemd's CPUWeight= and IOWeight= take it. */
        if (parse_int_range(value, 1, 10000, &v) < 0)
                return -EINVAL;
        return strcmp(name, "CPUWeight") == 0 ? pidbroker_spawn_set_cpu_weight(s, (uint64_t) v)
                                              : pidbroker_spawn_set_io_weight(s, (uint64_t) v);
}

static int property_nice(pidbroker_spawn *s, const char *name, const char *value) {
        int v;
        return parse_int_range(value, -20, 19, &v) < 0 ? -EINVAL : pidbroker_spawn_set_nice(s, v);
}

static int property_oom_score_adjust(pidbroker_spawn *s, const char *name, const char *value) {
        int v;
        return parse_int_range(value, -1000, 1000, &v) < 0 ? -EINVAL : pidbroker_spawn_set_oom_score_adj(s, v);
}

static int property_kill_mode(pidbroker_spawn *s, const char *name, const char *value) {
        return pidbroker_spawn_set_kill_mode(s, value);
}

/* LimitNOFILE=SOFT[:HARD]: one value sets both, as in systemd. */
static int property_limit(pidbroker_spawn *s, const char *name, const char *value) {
        _cleanup_free_ char *soft_str = NULL;
        const char *colon = strchr(value, ':');
        uint64_t soft, hard;

        if (!name[5] || strspn(name + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(name + 5))
                return -EINVAL;
        soft_str = colon ? strndup(value, (size_t) (colon - value)) : strdup(value);
        if (!soft_str)
                return -ENOMEM;
        if (parse_limit_value(soft_str, &soft) < 0)
                return -EINVAL;
        if (!colon)
                hard = soft;
        else if (parse_limit_value(colon + 1, &hard) < 0)
                return -EINVAL;
        return pidbroker_spawn_set_rlimit(s, name + 5, soft, hard);
}

/* -p NAME=VALUE: systemd's names for the resource options. */
static const struct {
        const char *name;        /* "Limit" matches every Limit*= */
        const char *key;         /* the Spawn option */
        const char *expected;
        int (*set)(pidbroker_spawn *s, const char *name, const char *value);
} properties[] = {
        { "MemoryMax", "memory_max", "bytes with K, M, G, T suffixes, or infinity", property_memory_max },
        { "TasksMax", "pids_max", "a number or infinity", property_tasks_max },
        { "CPUWeight", "cpu_weight", "1...10000", property_weight },
        { "IOWeight", "io_weight", "1...10000", property_weight },
        { "Nice", "nice", "-20...19", property_nice },
        { "OOMScoreAdjust", "oom_score_adj", "-1000...1000", property_oom_score_adjust },
        { "KillMode", "kill_mode", "cgroup or process", property_kill_mode },
        { "Limit", "rlimits", "SOFT[:HARD], each a number or infinity", property_limit },
};

static int set_property(pidbroker_spawn *s, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        _cleanup_free_ char *name = strndup(assignment, (size_t) (eq - assignment));
        int r;

        if (!name)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(properties); i++) {
                bool limit = strcmp(properties[i].name, "Limit") == 0;

                if (limit ? strncmp(name, "Limit", 5) != 0 : strcmp(name, properties[i].name) != 0)
                        continue;
                r = properties[i].set(s, name, eq + 1);
                if (r == -EINVAL)
                        return ctl_usage_error("%s: expected %s%s", assignment, limit ? "Limit<RLIMIT name>=" : "",
                                               properties[i].expected);
                return sent(r, properties[i].key);
        }
        return ctl_usage_error("%s: unknown property (MemoryMax=, TasksMax=, CPUWeight=, IOWeight=, Nice=, "
                               "OOMScoreAdjust=, KillMode=, LimitNOFILE= and the other Limit*=)", assignment);
}

/* --uid-map=INSIDE:OUTSIDE:COUNT */
static int add_id_map(pidbroker_spawn *s, bool uid, const char *line) {
        unsigned inside, outside, count;
        char end;

        if (sscanf(line, "%u:%u:%u%c", &inside, &outside, &count, &end) != 3 || count == 0)
                return ctl_usage_error("--%s-map=%s: expected INSIDE:OUTSIDE:COUNT, e.g. 0:100000:65536",
                                       uid ? "uid" : "gid", line);
        return sent(uid ? pidbroker_spawn_add_uid_map(s, inside, outside, count)
                        : pidbroker_spawn_add_gid_map(s, inside, outside, count),
                    uid ? "uid_map" : "gid_map");
}

/* --groups=G[,G...] by name or number; "" for none. */
static int set_groups(pidbroker_spawn *s, const char *list) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        size_t n;
        int r;

        r = strv_extend_split(&names, list, ", ");
        if (r < 0)
                return r;
        n = strv_length(names);
        gids = calloc(n + 1, sizeof(gid_t));
        if (!gids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (get_group_creds(names[i], &gids[i]) < 0)
                        return ctl_usage_error("--groups: %s: no such group", names[i]);
        return sent(pidbroker_spawn_set_groups(s, gids, n), "groups");
}

/* A path opened here and passed as an fd option. */
static int set_fd_option(pidbroker_spawn *s, const char *flag, const char *path, int flags,
                         int (*set)(pidbroker_spawn *s, int fd), const char *key) {
        _cleanup_close_ int fd = open(path, flags | O_CLOEXEC);

        if (fd < 0)
                return ctl_error(-errno, NULL, "%s=%s", flag, path);
        return sent(set(s, fd), key);
}

/* The options of the command line, into s. Usage errors are reported. */
static int set_options(pidbroker_spawn *s) {
        int r;

        if (arg.cwd) {
                _cleanup_free_ char *abs = NULL, *cwd = NULL;

                if (arg.cwd[0] == '/')
                        abs = strdup(arg.cwd);
                else {
                        /* Relative to where pidbrokerctl runs, not to the workload's "/". */
                        cwd = getcwd(NULL, 0);
                        if (!cwd)
                                return -errno;
                        if (asprintf(&abs, "%s/%s", cwd, arg.cwd) < 0)
                                abs = NULL;
                }
                if (!abs)
                        return -ENOMEM;
                r = sent(pidbroker_spawn_set_cwd(s, abs), "cwd");
                if (r < 0)
                        return r;
        }

        if (arg.user) {
                uid_t uid;
                gid_t gid;

                r = get_user_creds(arg.user, &uid, &gid);
                if (r < 0)
                        return ctl_usage_error("--user=%s: no such user", arg.user);
                r = sent(pidbroker_spawn_set_user(s, uid), "user");
                if (r < 0)
                        return r;
                /* Like runuser: another user gets its own group and groups. */
                if (!arg.group && gid != (gid_t) -1) {
                        r = sent(pidbroker_spawn_set_group(s, gid), "group");
                        if (r < 0)
                                return r;
                }
                if (uid != getuid() && !arg.groups) {
                        r = set_user_groups(s, uid, gid != (gid_t) -1 ? gid : getgid());
                        if (r < 0)
                                return r;
                }
        }
        if (arg.group) {
                gid_t gid;

                r = get_group_creds(arg.group, &gid);
                if (r < 0)
                        return ctl_usage_error("--group=%s: no such group", arg.group);
                r = sent(pidbroker_spawn_set_group(s, gid), "group");
                if (r < 0)
                        return r;
        }
        if (arg.groups) {
                r = set_groups(s, arg.groups);
                if (r < 0)
                        return r;
        }
        for (char **n = arg.namespaces; n && *n; n++) {
                r = sent(pidbroker_spawn_add_namespace(s, *n), "namespaces");
                if (r < 0)
                        return ctl_usage_error("--ns=%s: not a namespace (user pid mount net ipc uts cgroup time)", *n);
        }
        for (char **c = arg.capabilities; c && *c; c++) {
                r = sent(pidbroker_spawn_add_capability(s, *c), "capabilities");
                if (r < 0)
                        return r;
        }
        if (arg.seccomp) {
                r = sent(pidbroker_spawn_set_seccomp(s, arg.seccomp), "seccomp");
                if (r < 0)
                        return r;
        }
        if (arg.watch) {
                r = sent(pidbroker_spawn_set_watch_client(s, true), "watch_client");
                if (r < 0)
                        return r;
        }
        if (arg.has_stop_timeout) {
                r = sent(pidbroker_spawn_set_stop_timeout(s, arg.stop_timeout_usec), "stop_timeout_usec");
                if (r < 0)
                        return r;
        }
        if (arg.hostname) {
                r = sent(pidbroker_spawn_set_hostname(s, arg.hostname), "hostname");
                if (r < 0)
                        return ctl_usage_error("--hostname=%s: not a host name", arg.hostname);
        }
        for (char **m = arg.uid_map; m && *m; m++) {
                r = add_id_map(s, true, *m);
                if (r < 0)
                        return r;
        }
        for (char **m = arg.gid_map; m && *m; m++) {
                r = add_id_map(s, false, *m);
                if (r < 0)
                        return r;
        }
        if (arg.umask >= 0) {
                r = sent(pidbroker_spawn_set_umask(s, (mode_t) arg.umask), "umask");
                if (r < 0)
                        return r;
        }
        if (arg.setsid >= 0) {
                r = sent(pidbroker_spawn_set_setsid(s, arg.setsid), "setsid");
                if (r < 0)
                        return r;
        }
        if (arg.no_new_privileges >= 0) {
                r = sent(pidbroker_spawn_set_no_new_privileges(s, arg.no_new_privileges), "no_new_privileges");
                if (r < 0)
                        return r;
        }
        if (arg.cgroup) {
                r = set_fd_option(s, "--cgroup", arg.cgroup, O_RDONLY | O_DIRECTORY, pidbroker_spawn_set_cgroup_fd,
                                  "cgroup");
                if (r < 0)
                        return r;
        }
        if (arg.exe) {
                /* execveat() needs only the path, not read access. */
                r = set_fd_option(s, "--exe", arg.exe, O_PATH, pidbroker_spawn_set_exe_fd, "exe_fd");
                if (r < 0)
                        return r;
        }
        for (char **p = arg.properties; p && *p; p++) {
                r = set_property(s, *p);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct WaitState {
        sd_event *event;
        pidbroker_workload *workload;
        Pty *pty;
        int exit_code;
} WaitState;

static void on_exit_status(pidbroker_workload *w, int r, const pidbroker_exit_status *st,
                           const pidbroker_error *error, void *userdata) {
        WaitState *s = userdata;
        char sig[32];

        if (r < 0) {
                if (r == -ECONNRESET && error && !error->name)
                        ctl_error(r, NULL, "Lost the connection to the broker; the exit status of %s is unknown",
                                  pidbroker_workload_get_path(w));
                else
                        ctl_lib_error(r, error, "Failed to wait for %s", pidbroker_workload_get_path(w));
                s->exit_code = EXIT_CTL_FAILED;
        } else {
                s->exit_code = pidbroker_exit_status_to_code(st);
                if (arg.json) {
                        /* The same "exit" object as status --json has. */
                        fputc('{', stdout);
                        json_write_key(stdout, "id", true);
                        printf("%" PRIu64, pidbroker_workload_get_id(w));
                        json_write_key(stdout, "path", false);
                        json_write_string(stdout, pidbroker_workload_get_path(w));
                        json_write_key(stdout, "exit", false);
                        fputc('{', stdout);
                        json_write_key(stdout, "code", true);
                        json_write_string(stdout, pidbroker_exit_kind_to_string(st->kind));
                        json_write_key(stdout, "status", false);
                        printf("%d}", st->status);
                        json_write_key(stdout, "exit_code", false);
                        printf("%d}\n", s->exit_code);
                        fflush(stdout);
                }
                if (st->kind == PIDBROKER_EXIT_EXITED)
                        ctl_debug("workload exited with code %d", st->status);
                else
                        ctl_debug("workload %s by %s", pidbroker_exit_kind_to_string(st->kind),
                                  signal_to_string(st->status, sig, sizeof sig));
                /* The status is ours now: the broker need not keep the
                 * workload. Still inside the loop: the bus is open. */
                pidbroker_error e = PIDBROKER_ERROR_NULL;
                if (pidbroker_workload_release(w, &e) < 0)
                        ctl_debug("Release of %s failed: %s", pidbroker_workload_get_path(w), e.message ?: "?");
                pidbroker_error_free(&e);
        }
        (void) sd_event_exit(s->event, 0);
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        WaitState *s = userdata;
        pidbroker_error error = PIDBROKER_ERROR_NULL;
        char sig[32];
        int r;

        if (s->pty && si->ssi_signo == SIGWINCH) {
                /* Ours changed: the kernel tells the workload's foreground. */
                pty_copy_window_size(s->pty);
                return 0;
        }
        ctl_debug("forwarding %s to the workload", signal_to_string((int) si->ssi_signo, sig, sizeof sig));
        r = pidbroker_workload_signal(s->workload, (int) si->ssi_signo, 0, &error);
        /* A workload that is already gone is fine: its exit is coming. */
        if (r < 0 && arg.verbose > 0)
                ctl_lib_error(r, &error, "Failed to forward the signal");
        pidbroker_error_free(&error);
        return 0;
}

/* Every signal a process can catch goes on to the workload, except SIGCHLD
 * (about our own children) and the faults the kernel raises in us: a
 * SIGSEGV of ours is no message for the workload. */
static bool signal_is_forwarded(int sig) {
        switch (sig) {
        case SIGKILL: case SIGSTOP: case SIGCHLD:
        case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS:
                return false;
        default:
                return true;
        }
}

static void forwarded_signals(sigset_t *ret) {
        sigemptyset(ret);
        for (int sig = 1; sig <= SIGRTMAX; sig++)
                /* sigaddset() refuses the real-time signals libc keeps. */
                if (signal_is_forwarded(sig) && (sig < 32 || sig >= SIGRTMIN))
                        (void) sigaddset(ret, sig);
}

/* Blocked from before Spawn on: a ^C that comes while the broker is still
 * spawning is held, then forwarded to the workload, never lost with it. The
 * event loop takes them from a signalfd. */
static int block_forwarded_signals(void) {
        sigset_t mask;

        forwarded_signals(&mask);
        return sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
}

static int wait_for_workload(pidbroker_client *client, pidbroker_workload *w, Pty *pty) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        WaitState s = { .workload = w, .pty = pty, .exit_code = EXIT_CTL_FAILED };
        sigset_t mask;
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to allocate an event loop");
        s.event = event;

        forwarded_signals(&mask);
        for (int sig = 1; sig <= SIGRTMAX; sig++) {
                if (sigismember(&mask, sig) <= 0)
                        continue;
                r = sd_event_add_signal(event, NULL, sig, on_signal, &s);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to watch signal %d", sig);
        }

        r = pidbroker_client_attach_event(client, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to attach the bus to the event loop");
        /* The library waits on the pidfd: no bus traffic while it runs. */
        r = pidbroker_workload_wait_async(w, on_exit_status, &s);
        if (r < 0) {
                (void) pidbroker_client_detach_event(client);
                return ctl_error(r, NULL, "Failed to wait for %s", pidbroker_workload_get_path(w));
        }

        if (pty) {
                r = pty_attach(pty, event);
                if (r < 0) {
                        (void) pidbroker_workload_cancel(w);
                        (void) pidbroker_client_detach_event(client);
                        return ctl_error(r, NULL, "Failed to relay the terminal");
                }
        }

        r = sd_event_loop(event);
        if (pty) {
                pty_drain(pty);
                pty_done(pty);
        }
        (void) pidbroker_workload_cancel(w);
        (void) pidbroker_client_detach_event(client);
        if (r < 0)
                return ctl_error(r, NULL, "Event loop failed");
        return s.exit_code;
}

int verb_run(int argc, char *argv[]) {
        _cleanup_(pidbroker_spawn_freep) pidbroker_spawn *spawn = NULL;
        _cleanup_(pidbroker_workload_unrefp) pidbroker_workload *w = NULL;
        _cleanup_strv_free_ char **env = NULL, **spawn_argv = NULL;
        _cleanup_free_ char *exe = NULL;
        _cleanup_(pty_done) Pty pty = { .master = -EBADF, .slave = -EBADF };
        char *shell_argv[2] = {};
        pidbroker_error error = PIDBROKER_ERROR_NULL;
        pidbroker_client *client;
        const char *path;
        uint64_t id;
        pid_t pid;
        int r;

        /* --watch stops the workload when we go, --pty relays its terminal:
         * going at once makes no sense. */
        if (arg.watch || arg.pty)
                arg.wait = true;

        if (arg.shell) {
                struct passwd *pw = getpwuid(getuid());

                if (argc > 0)
                        return ctl_usage_error("--shell runs your shell; give a CMD without it");
                shell_argv[0] = pw && pw->pw_shell && pw->pw_shell[0] == '/' ? pw->pw_shell : (char *) "/bin/sh";
                argc = 1;
                argv = shell_argv;
        } else if (argc == 0)
                return ctl_usage_error("run needs a CMD (or --shell); see 'pidbrokerctl run --help'");

        r = build_env(&env);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to build the environment"), EXIT_CTL_FAILED;

        /* The broker does no PATH search: resolve here, with the PATH the
         * workload will have (or ours). */
        if (arg.exe)
                /* --exe gives the executable; CMD is only its argv[0]. */
                r = (exe = strdup(argv[0])) ? 0 : -ENOMEM;
        else
                r = find_executable(argv[0], env_get(env, "PATH") ?: getenv("PATH"), &exe);
        if (r < 0) {
                if (r == -ENOENT && !strchr(argv[0], '/'))
                        ctl_plain_error(r, "%s: command not found in $PATH", argv[0]);
                else if (r == -ENOENT)
                        ctl_error(r, NULL, "%s", argv[0]);
                else
                        ctl_error(r, NULL, "Cannot execute %s", argv[0]);
                return r == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
        }
        ctl_debug("executable: %s", exe);

        r = pidbroker_spawn_new(&spawn);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to allocate the Spawn options"), EXIT_CTL_FAILED;
        r = strv_extend(&spawn_argv, exe);
        for (int i = 1; r >= 0 && i < argc; i++)
                r = strv_extend(&spawn_argv, argv[i]);
        if (r >= 0)
                r = pidbroker_spawn_set_argv(spawn, (const char *const *) spawn_argv);
        if (r >= 0)
                r = pidbroker_spawn_set_environment(spawn, (const char *const *) env);
        if (r >= 0 && arg.pty) {
                r = pty_open(&pty);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to allocate a pseudo-terminal"), EXIT_CTL_FAILED;
                r = sent(pidbroker_spawn_set_controlling_tty(spawn, true), "controlling_tty");
        }
        if (r >= 0 && arg.require_pidfd)
                r = sent(pidbroker_spawn_set_require_pidfd(spawn, true), "require_pidfd");
        if (r >= 0)
                r = add_fds(spawn, pty.slave);
        if (r >= 0)
                r = set_options(spawn);
        if (r < 0) {
                if (ctl_usage_error_seen())
                        return r;
                return ctl_error(r, NULL, "Failed to build the Spawn call"), EXIT_CTL_FAILED;
        }

        if (arg.wait) {
                r = block_forwarded_signals();
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to block signals"), EXIT_CTL_FAILED;
        }

        r = ctl_connect_client(&client);
        if (r < 0)
                return EXIT_CTL_FAILED;

        r = pidbroker_spawn_call(client, spawn, &w, &error);
        if (r < 0) {
                ctl_lib_error(r, &error, "Failed to spawn %s", exe);
                r = error.name && strcmp(error.name, PIDBROKER_ERROR_SPAWN_FAILED) == 0 ? EXIT_CANNOT_INVOKE
                                                                                        : EXIT_CTL_FAILED;
                pidbroker_error_free(&error);
                return r;
        }
        /* Our copies of the fds go: the workload has its own. */
        spawn = pidbroker_spawn_free(spawn);
        path = pidbroker_workload_get_path(w);
        id = pidbroker_workload_get_id(w);
        pid = pidbroker_workload_get_pid(w);
        if (pid <= 0) {
                sd_bus *bus = pidbroker_client_get_bus(client);
                uint32_t p = 0;
                /* Not in our pid namespace, or gone already: the broker's view. */
                if (sd_bus_get_property_trivial(bus, ctl_destination(), path, WORKLOAD_INTERFACE, "Pid", NULL, 'u', &p) >= 0)
                        pid = (pid_t) p;
        }

        if (!arg.wait || arg.verbose > 0) {
                FILE *out = arg.wait ? stderr : stdout;

                if (arg.json) {
                        fputc('{', out);
                        json_write_key(out, "id", true);
                        fprintf(out, "%" PRIu64, id);
                        json_write_key(out, "pid", false);
                        fprintf(out, "%d", (int) pid);
                        json_write_key(out, "path", false);
                        json_write_string(out, path);
                        fputs("}\n", out);
                } else if (arg.quiet)
                        fprintf(out, "%" PRIu64 "\n", id);
                else
                        fprintf(out, "Running as workload %" PRIu64 " (pid %d): %s\n", id, (int) pid, path);
                fflush(out);
        }
        if (!arg.wait)
                return 0;

        r = wait_for_workload(client, w, arg.pty ? &pty : NULL);
        return r < 0 ? EXIT_CTL_FAILED : r;
}
