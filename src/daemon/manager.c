/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "authorize.h"
#include "feature.h"
#include "heap-trim.h"
#include "legacy.h"
#include "log.h"
#include "time-util.h"
#include "identity-cache.h"
#include "offload.h"
#include "owner-track.h"
#include "visibility.h"
#include "manager.h"
#include "request.h"
#include "unit.h"
#include "subscription.h"
#include "workload.h"
#include "workload-state.h"

int manager_new(Config *config, Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->config = config;
        m->private_fd = -EBADF;
        m->state_fd = -EBADF;
        m->cgroup_subtree = CGROUP_SUBTREE_NULL;
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Pending decisions first: their callbacks must not run on a
         * half-freed manager. */
        request_dispatch_done(m);
        while (m->pending)
                request_free(m->pending);

        while (m->workloads)
                workload_free(m->workloads);
        while (m->subscribers)
                subscriber_free(m->subscribers);
        while (m->connections)
                private_connection_free(m->connections);
        owners_free(m);
        u64map_done(&m->workloads_by_id);
        u64map_done(&m->users);
        m->authority = authority_free(m->authority);
        m->audit_flush_timer = sd_event_source_disable_unref(m->audit_flush_timer);
        if (m->audit)
                (void) audit_flush_suppressed(m->audit, now(CLOCK_MONOTONIC));
        m->audit = audit_log_free(m->audit);
        m->offload = offload_free(m->offload);
        m->identities = identity_cache_free(m->identities);
        manager_close_units(m);
        heap_trim_done(m);
        m->reexec_timer = sd_event_source_disable_unref(m->reexec_timer);
        safe_close(m->state_fd);

        sd_event_source_disable_unref(m->private_source);
        safe_close(m->private_fd);
        if (m->bus)
                sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);

        for (size_t i = 0; i < m->n_seccomp_profiles; i++)
                seccomp_profile_free(m->seccomp_profiles[i]);
        free(m->seccomp_profiles);

        free(m);
        return NULL;
}

PrivateConnection *manager_find_connection(Manager *m, sd_bus *bus) {
        for (PrivateConnection *c = m->connections; c; c = c->next)
                if (c->bus == bus)
                        return c;
        return NULL;
}

const char *manager_control_path(Manager *m) {
        if (m->config->control_path == CONTROL_PATH_LEGACY)
                return "legacy_pid";
        /* New workloads get a pidfd from clone3, clone or pidfd_open, the
         * first that works; only with none of them are they bare pids. */
        if (!feature_available(FEATURE_CLONE3) && !feature_available(FEATURE_CLONE_PIDFD) &&
            !feature_available(FEATURE_PIDFD_OPEN))
                return "legacy_pid";
        return "pidfd";
}

unsigned manager_count_workloads(Manager *m, uid_t owner) {
        const UserCounts *c = u64map_get(&m->users, owner);
        return c ? c->live : 0;
}

unsigned manager_count_unreleased(Manager *m, uid_t owner) {
        const UserCounts *c = u64map_get(&m->users, owner);
        return c ? c->unreleased : 0;
}

int manager_audit(Manager *m, const AuditRecord *rec, uint64_t *ret_seq) {
        int r;

        r = audit_begin(m->audit, rec, ret_seq);
        if (r < 0)
                return log_error_errno(r, "Failed to write the audit record for %s, refusing: %m", rec->action);
        return 0;
}

int manager_audit_denial(Manager *m, const AuditRecord *rec) {
        int r;

        r = audit_deny(m->audit, rec, now(CLOCK_MONOTONIC), NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to write the denial record for %s: %m", rec->action);
        return 0;
}

void manager_audit_outcome_fd_type(Manager *m, uint64_t seq, int result, const char *fd_type) {
        char buf[AUDIT_RESULT_MAX];
        int r;

        if (seq == 0)
                return;
        r = audit_outcome_fd_type(m->audit, seq, audit_result_from_errno(result, buf), fd_type);
        if (r < 0)
                log_error_errno(r, "Failed to write the outcome of audit record %" PRIu64 ": %m", seq);
}

void manager_audit_outcome(Manager *m, uint64_t seq, int result) {
        int r;

        if (seq == 0)
                return;
        /* After the fact: the operation ran and cannot be undone. The record
         * line stays "pending", which is what a reader sees. */
        r = audit_outcome_errno(m->audit, seq, result);
        if (r < 0)
                log_error_errno(r, "Failed to write the outcome of audit record %" PRIu64 ": %m", seq);
}

int manager_get_seccomp_profile(Manager *m, const char *name, const SeccompProfile **ret) {
        if (strcmp(name, "none") == 0) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i < m->n_seccomp_profiles; i++)
                if (strcmp(m->seccomp_profiles[i]->name, name) == 0) {
                        *ret = m->seccomp_profiles[i];
                        return 0;
                }
        return -ENOENT;
}

/* Every profile is compiled once, at start: a request only picks one. */
static int manager_load_seccomp_profiles(Manager *m) {
        const char *dir = seccomp_profile_dir();
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d) {
                log_warning_errno(-errno, "Cannot open seccomp profile directory %s: %m", dir);
                return 0;
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l <= 8 || strcmp(de->d_name + l - 8, ".seccomp") != 0)
                        continue;

                char name[256];
                unsigned line = 0;
                SeccompProfile *p = NULL;
                snprintf(name, sizeof name, "%.*s", (int) (l - 8), de->d_name);
                int r = seccomp_profile_load(dir, name, &p, &line);
                if (r < 0) {
                        log_error_errno(r, "Failed to load seccomp profile %s/%s (line %u): %m", dir, de->d_name, line);
                        continue;
                }
                SeccompProfile **n = reallocarray(m->seccomp_profiles, m->n_seccomp_profiles + 1, sizeof *n);
                if (!n) {
                        seccomp_profile_free(p);
                        closedir(d);
                        return log_oom();
                }
                m->seccomp_profiles = n;
                m->seccomp_profiles[m->n_seccomp_profiles++] = p;
                log_debug("Loaded seccomp profile %s.", name);
        }
        closedir(d);

        const SeccompProfile *def;
        if (manager_get_seccomp_profile(m, "default", &def) < 0)
                log_warning("No \"default\" seccomp profile in %s: spawns without a seccomp option will fail.", dir);
        return 0;
}

int manager_register_objects(Manager *m, sd_bus *bus) {
        int r;

        r = visibility_attach(m, bus);
        if (r < 0)
                return r;
        r = broker_register_objects(m, bus);
        if (r < 0)
                return r;
        return workload_register_objects(m, bus);
}

/* A request lives for its dispatch only, unless it awaits an answer:
 * nothing of the caller (its pidfd above all) outlasts the call. */
static int on_post_dispatch(sd_event_source *s, void *userdata) {
        request_dispatch_done(userdata);
        private_connections_dispatch_new(userdata);
        return 0;
}

/* Connections whose identity is kept at once: past it the cache starts
 * over (each entry costs two fds: the caller's pidfd and its /proc comm). */
#define IDENTITY_CACHE_MAX 1024

/* Suppressed denials are summed up in one record each period at the
 * latest, so a flood that stopped is not left uncounted. */
#define AUDIT_FLUSH_USEC (5 * 1000000ULL)

static int on_audit_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        r = audit_flush_suppressed(m->audit, now(CLOCK_MONOTONIC));
        if (r < 0)
                log_error_errno(r, "Failed to write the summary of suppressed denials: %m");
        (void) sd_event_source_set_time_relative(s, AUDIT_FLUSH_USEC);
        return 0;
}

/* Without its bus connection or its name the daemon serves nobody and
 * cannot learn that clients leave: it exits, to be started again, and its
 * workloads are adopted again (they are left running). */
static void manager_bus_lost(Manager *m, const char *why) {
        if (m->bus_lost)
                return;
        m->bus_lost = true;
        log_error("%s: exiting, to be restarted.", why);
        (void) sd_event_exit(m->event, EXIT_FAILURE);
}

/* The daemon's one watch on bus names. A unique name gone is a client
 * gone (owner-track.h). Our own well-known name taken from us is the bus
 * lost. */
static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner, *unique = NULL;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] == ':' && new_owner[0] == '\0')
                owner_client_gone(m, m->bus, name);
        else if (strcmp(name, BROKER_BUS_NAME) == 0 && sd_bus_get_unique_name(m->bus, &unique) >= 0 &&
                 strcmp(old_owner, unique) == 0 && strcmp(new_owner, unique) != 0)
                manager_bus_lost(m, "Lost the bus name " BROKER_BUS_NAME);
        return 0;
}

static int on_bus_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        manager_bus_lost(userdata, "Disconnected from the system bus");
        return 0;
}

static int on_name_lost(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name;

        if (sd_bus_message_read(msg, "s", &name) >= 0 && strcmp(name, BROKER_BUS_NAME) == 0)
                manager_bus_lost(userdata, "Lost the bus name " BROKER_BUS_NAME);
        return 0;
}

/* SIGHUP: logrotate renamed the audit log. */
static int on_reopen_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        int r = audit_log_reopen(m->audit);
        if (r < 0)
                log_error_errno(r, "Failed to reopen the audit log %s, keeping the old file: %m", audit_log_path(m->audit));
        else
                log_info("Reopened the audit log %s.", audit_log_path(m->audit));
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        log_info("Received SIG%s, exiting.", sigabbrev_np((int) si->ssi_signo) ?: "?");
        return sd_event_exit(m->event, 0);
}

int manager_setup(Manager *m) {
        sigset_t ss;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* sd-event signal and child sources need the signals blocked
         * (SIGCHLD: legacy-path workloads, which have no pidfd to watch).
         * The spawn engine resets the mask in the child. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGHUP);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reopen_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = sd_event_add_post(m->event, NULL, on_post_dispatch, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the post-dispatch hook: %m");

        r = manager_load_seccomp_profiles(m);
        if (r < 0)
                return r;

        /* Nothing is served without a policy and an audit trail. */
        r = authority_new(m->config, &m->authority);
        if (r < 0)
                return r;
        r = audit_log_open(m->config->audit_log, 0, &m->audit);
        if (r < 0)
                return log_error_errno(r, "Failed to open the audit log %s: %m", m->config->audit_log);

        r = audit_log_set_denial_budget(m->audit, m->config->audit_denial_burst, m->config->audit_denials_per_sec);
        if (r < 0)
                return log_error_errno(r, "Failed to set the audit denial budget: %m");
        r = sd_event_add_time_relative(m->event, &m->audit_flush_timer, CLOCK_MONOTONIC, AUDIT_FLUSH_USEC, 0,
                                       on_audit_flush, m);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the audit flush timer: %m");

        r = manager_state_open(m);
        if (r < 0)
                return r;

        r = offload_new(m->event, m->config->max_blocking_per_user, m->config->max_blocking,
                        m->config->blocking_timeout_usec, &m->offload);
        if (r < 0)
                return log_error_errno(r, "Failed to set up blocking operations: %m");
        log_info("Audit log %s (last record %" PRIu64 ").", audit_log_path(m->audit), audit_log_last_seq(m->audit));

        manager_open_units(m);
        return 0;
}

int manager_start(Manager *m) {
        int r;

        r = manager_setup(m);
        if (r < 0)
                return r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        (void) sd_bus_set_description(m->bus, "system-bus");
        r = sd_bus_attach_event(m->bus, m->event, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = identity_cache_new(IDENTITY_CACHE_MAX, &m->identities);
        if (r < 0)
                return log_oom();
        r = sd_bus_match_signal(m->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "NameOwnerChanged", on_name_owner_changed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch bus names: %m");
        /* Both come to us whatever the matches: local, and unicast. */
        r = sd_bus_match_signal(m->bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_bus_disconnected, m);
        if (r >= 0)
                r = sd_bus_match_signal(m->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameLost", on_name_lost, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the bus connection: %m");

        r = authority_start(m->authority, m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to start the policy backend: %m");

        r = manager_register_objects(m, m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register the bus objects: %m");

        /* Before the name: a client that sees it finds its workloads back. */
        r = manager_readopt(m);
        if (r < 0)
                return r;

        if (m->config->private_socket && m->config->private_socket[0]) {
                r = private_socket_open(m);
                if (r < 0)
                        return r;
        }

        /* The name last: a client that sees it finds everything ready. */
        /* After a re-exec the old image's connection may not be gone from
         * the bus yet: wait in the queue behind it. */
        r = sd_bus_request_name(m->bus, BROKER_BUS_NAME, m->reexecuted ? SD_BUS_NAME_QUEUE : 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s: %m", BROKER_BUS_NAME);

        heap_trim_after_start();

        /* Under systemd (Type=notify); nothing without NOTIFY_SOCKET. */
        (void) sd_notify(false, "READY=1");
        log_info("pidbrokerd ready: control path %s, policy %s, direct socket %s.", manager_control_path(m),
                 authority_backend(m->authority),
                 m->config->private_socket && m->config->private_socket[0] ? m->config->private_socket : "off");
        return 0;
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (m->bus_lost)
                return -ENOTCONN;
        return 0;
}
