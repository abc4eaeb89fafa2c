/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `run`: build Broker1.Spawn from the command line, and with --wait sit on the
 * returned pidfd until the workload exits, forwarding our signals to it
 * through the broker. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <systemd/sd-event.h>
#include <unistd.h>

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

static int append_bytestring(sd_bus_message *m, const char *s) {
        return sd_bus_message_append_array(m, 'y', s, strlen(s));
}

static int append_env(sd_bus_message *m, char **env) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **e = env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));

                if (!name)
                        return -ENOMEM;
                r = sd_bus_message_append(m, "{ss}", name, eq + 1);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

static int append_fds(sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{uh}");
        if (r < 0)
                return r;
        /* stdin, stdout, stderr pass through unless --fd replaced them. */
        for (int target = 0; target <= 2; target++) {
                bool overridden = false;

                for (size_t i = 0; i < arg.n_fds; i++)
                        overridden = overridden || arg.fds[i].target == target;
                if (overridden || !fd_is_open(target))
                        continue;
                r = sd_bus_message_append(m, "{uh}", (uint32_t) target, target);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < arg.n_fds; i++) {
                r = sd_bus_message_append(m, "{uh}", (uint32_t) arg.fds[i].target, arg.fds[i].fd);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_strv_option(sd_bus_message *m, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, l);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* The supplementary groups of another user, from the user database. */
static int append_user_groups(sd_bus_message *m, uid_t uid, gid_t gid) {
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;
        int r;

        r = user_groups(uid, gid, &groups, &n);
        if (r == -ESRCH)
                n = 0; /* unknown user: no supplementary groups, never ours */
        else if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", "groups");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', "au");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(m, 'u', groups ?: (gid_t[]) { 0 }, n * sizeof(gid_t));
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_options(sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

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
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "cwd");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "ay");
                if (r >= 0)
                        r = append_bytestring(m, abs);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }

        if (arg.user) {
                uid_t uid;
                gid_t gid;

                r = get_user_creds(arg.user, &uid, &gid);
                if (r < 0)
                        return ctl_usage_error("--user=%s: no such user", arg.user);
                r = sd_bus_message_append(m, "{sv}", "user", "u", (uint32_t) uid);
                if (r < 0)
                        return r;
                /* Like runuser: another user gets its own group and groups. */
                if (!arg.group && gid != (gid_t) -1) {
                        r = sd_bus_message_append(m, "{sv}", "group", "u", (uint32_t) gid);
                        if (r < 0)
                                return r;
                }
                if (uid != getuid()) {
                        r = append_user_groups(m, uid, gid != (gid_t) -1 ? gid : getgid());
                        if (r < 0)
                                return r;
                }
        }
        if (arg.group) {
                gid_t gid;

                r = get_group_creds(arg.group, &gid);
                if (r < 0)
                        return ctl_usage_error("--group=%s: no such group", arg.group);
                r = sd_bus_message_append(m, "{sv}", "group", "u", (uint32_t) gid);
                if (r < 0)
                        return r;
        }
        if (arg.namespaces) {
                r = append_strv_option(m, "namespaces", arg.namespaces);
                if (r < 0)
                        return r;
        }
        if (arg.capabilities) {
                r = append_strv_option(m, "capabilities", arg.capabilities);
                if (r < 0)
                        return r;
        }
        if (arg.seccomp) {
                r = sd_bus_message_append(m, "{sv}", "seccomp", "s", arg.seccomp);
                if (r < 0)
                        return r;
        }
        if (arg.watch) {
                r = sd_bus_message_append(m, "{sv}", "watch_client", "b", 1);
                if (r < 0)
                        return r;
        }
        if (arg.has_stop_timeout) {
                r = sd_bus_message_append(m, "{sv}", "stop_timeout_usec", "t", arg.stop_timeout_usec);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* The workload's pid in our pid namespace, from the pidfd; 0 if it has none
 * here, -1 if it is already gone. */
static pid_t pidfd_get_pid(int pidfd) {
        char path[64], line[256];
        _cleanup_fclose_ FILE *f = NULL;
        long pid = 0;
        bool found = false;

        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "Pid: %ld", &pid) == 1) {
                        found = true;
                        break;
                }
        return found ? (pid_t) pid : 0;
}

typedef struct WaitState {
        sd_bus *bus;
        const char *path;
        sd_event_source *pidfd_source;
        sd_bus_slot *wait_slot;
        int exit_code;
        bool done;
} WaitState;

static int on_release_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        WaitState *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                ctl_debug("Release of %s failed: %s", s->path, e->message);
        return sd_event_exit(sd_bus_get_event(s->bus), 0);
}

static int on_wait_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        WaitState *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *code;
        int32_t status;
        int r;

        s->wait_slot = sd_bus_slot_unref(s->wait_slot);
        s->done = true;
        if (e) {
                ctl_error(-sd_bus_error_get_errno(e) ?: -EIO, e, "Failed to wait for %s", s->path);
                s->exit_code = EXIT_CTL_FAILED;
        } else {
                r = sd_bus_message_read(reply, "si", &code, &status);
                if (r < 0) {
                        ctl_error(r, NULL, "Failed to parse the exit status of %s", s->path);
                        s->exit_code = EXIT_CTL_FAILED;
                } else {
                        char sig[32];

                        s->exit_code = ctl_exit_code(code, status);
                        if (strcmp(code, "exited") == 0)
                                ctl_debug("workload exited with code %d", (int) status);
                        else
                                ctl_debug("workload %s by %s", code, signal_to_string(status, sig, sizeof sig));
                        /* The status is ours now: the broker need not keep
                         * the workload. */
                        r = sd_bus_call_method_async(s->bus, NULL, ctl_destination(), s->path, WORKLOAD_INTERFACE,
                                                     "Release", on_release_reply, s, NULL);
                        if (r >= 0)
                                return 0;
                }
        }
        return sd_event_exit(sd_bus_get_event(s->bus), 0);
}

static int call_wait_async(WaitState *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (s->wait_slot || s->done)
                return 0;
        r = sd_bus_message_new_method_call(s->bus, &m, ctl_destination(), s->path, WORKLOAD_INTERFACE, "Wait");
        if (r < 0)
                return r;
        /* Wait answers at exit, however long that takes. */
        return sd_bus_call_async(s->bus, &s->wait_slot, m, on_wait_reply, s, UINT64_MAX);
}

static int on_pidfd(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        WaitState *s = userdata;
        int r;

        /* The kernel says it exited; the broker has the status. */
        s->pidfd_source = sd_event_source_disable_unref(s->pidfd_source);
        ctl_debug("pidfd readable: workload has exited");
        r = call_wait_async(s);
        if (r < 0) {
                ctl_error(r, NULL, "Failed to ask for the exit status");
                s->exit_code = EXIT_CTL_FAILED;
                return sd_event_exit(sd_event_source_get_event(source), 0);
        }
        return 0;
}

static int on_signal_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* A workload that is already gone is fine: its exit is coming. */
        if (e && arg.verbose > 0)
                ctl_error(-EIO, e, "Failed to forward the signal");
        return 0;
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        WaitState *s = userdata;
        char sig[32];
        int r;

        ctl_debug("forwarding %s to the workload", signal_to_string((int) si->ssi_signo, sig, sizeof sig));
        r = sd_bus_call_method_async(s->bus, NULL, ctl_destination(), s->path, WORKLOAD_INTERFACE, "Signal",
                                     on_signal_reply, s, "iu", (int32_t) si->ssi_signo, (uint32_t) 0);
        if (r < 0)
                ctl_error(r, NULL, "Failed to forward the signal");
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        WaitState *s = userdata;

        ctl_error(-ECONNRESET, NULL, "Lost the connection to the broker; the exit status of %s is unknown", s->path);
        s->exit_code = EXIT_CTL_FAILED;
        return sd_event_exit(sd_bus_get_event(s->bus), 0);
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };

/* Blocked from before Spawn on: a ^C that comes while the broker is still
 * spawning is held, then forwarded to the workload, never lost with it. The
 * event loop takes them from a signalfd. */
static int block_forwarded_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&mask, forwarded[i]);
        return sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
}

static int wait_for_workload(sd_bus *bus, const char *path, int pidfd) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *disconnect_slot = NULL;
        WaitState s = { .bus = bus, .path = path, .exit_code = EXIT_CTL_FAILED };
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to allocate an event loop");

        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++) {
                r = sd_event_add_signal(event, NULL, forwarded[i], on_signal, &s);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to watch signals");
        }

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to attach the bus to the event loop");
        r = sd_bus_match_signal(bus, &disconnect_slot, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, &s);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to watch the connection");

        /* Wait on the pidfd: no bus traffic while the workload runs. Where it
         * cannot be polled, Wait on the bus from the start. */
        r = pidfd >= 0 ? sd_event_add_io(event, &s.pidfd_source, pidfd, EPOLLIN, on_pidfd, &s) : -EBADF;
        if (r < 0) {
                ctl_debug("cannot poll the pidfd (%s): waiting through the broker", strerror(-r));
                r = call_wait_async(&s);
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to call Wait on %s", path);
        }

        r = sd_event_loop(event);
        s.pidfd_source = sd_event_source_disable_unref(s.pidfd_source);
        s.wait_slot = sd_bus_slot_unref(s.wait_slot);
        (void) sd_bus_detach_event(bus);
        if (r < 0)
                return ctl_error(r, NULL, "Event loop failed");
        return s.exit_code;
}

int verb_run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *exe = NULL, *path = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        const char *reply_path;
        uint64_t id;
        pid_t pid;
        int fd, r;

        /* --watch stops the workload when we go; going at once makes no sense. */
        if (arg.watch)
                arg.wait = true;

        r = build_env(&env);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to build the environment"), EXIT_CTL_FAILED;

        /* The broker does no PATH search: resolve here, with the PATH the
         * workload will have (or ours). */
        r = find_executable(argv[0], env_get(env, "PATH") ?: getenv("PATH"), &exe);
        if (r < 0) {
                ctl_error(r, NULL, r == -ENOENT ? "Cannot find %s in $PATH" : "Cannot execute %s", argv[0]);
                return r == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
        }
        ctl_debug("executable: %s", exe);

        if (arg.wait) {
                r = block_forwarded_signals();
                if (r < 0)
                        return ctl_error(r, NULL, "Failed to block signals"), EXIT_CTL_FAILED;
        }

        r = ctl_connect(&bus);
        if (r < 0)
                return EXIT_CTL_FAILED;

        r = sd_bus_message_new_method_call(bus, &m, ctl_destination(), BROKER_PATH, BROKER_INTERFACE, "Spawn");
        if (r < 0)
                goto build_failed;
        r = sd_bus_message_open_container(m, 'a', "ay");
        if (r < 0)
                goto build_failed;
        for (int i = 0; i < argc; i++) {
                r = append_bytestring(m, i == 0 ? exe : argv[i]);
                if (r < 0)
                        goto build_failed;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                goto build_failed;
        r = append_env(m, env);
        if (r < 0)
                goto build_failed;
        r = append_fds(m);
        if (r < 0)
                goto build_failed;
        r = append_options(m);
        if (r < 0) {
                if (ctl_usage_error_seen())
                        return r;
                goto build_failed;
        }

        r = ctl_call(bus, m, SPAWN_TIMEOUT_USEC, &error, &reply);
        if (r < 0) {
                ctl_error(r, &error, "Failed to spawn %s", exe);
                return sd_bus_error_has_name(&error, "org.pidbroker.Error.SpawnFailed") ? EXIT_CANNOT_INVOKE
                                                                                          : EXIT_CTL_FAILED;
        }

        r = sd_bus_message_read(reply, "oht", &reply_path, &fd, &id);
        if (r < 0)
                return ctl_error(r, NULL, "Failed to parse the Spawn reply"), EXIT_CTL_FAILED;
        path = strdup(reply_path);
        if (!path)
                return ctl_error(-ENOMEM, NULL, "Out of memory"), EXIT_CTL_FAILED;
        /* The reply owns fd; keep our own copy, above 2 and close-on-exec. */
        pidfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (pidfd < 0)
                ctl_debug("could not keep the pidfd: %m");
        pid = pidfd >= 0 ? pidfd_get_pid(pidfd) : 0;
        if (pid <= 0) {
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

        reply = sd_bus_message_unref(reply); /* drops the reply's copy of the pidfd */
        r = wait_for_workload(bus, path, pidfd);
        return r < 0 ? EXIT_CTL_FAILED : r;

build_failed:
        ctl_error(r, NULL, "Failed to build the Spawn call");
        return EXIT_CTL_FAILED;
}
