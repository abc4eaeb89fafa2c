/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "authorize.h"
#include "bus-error.h"
#include "feature.h"
#include "heap-trim.h"
#include "legacy.h"
#include "hashmap-u64.h"
#include "list.h"
#include "log.h"
#include "time-util.h"
#include "request.h"
#include "workload.h"
#include "workload-state.h"

/* Exec results before exit notifications: a child that exec'd and exited at
 * once must be answered as "spawned" before it is reported as "exited". */
#define PRIORITY_EXEC_STATUS (-10)
#define PRIORITY_EXIT 0

Workload *workload_find(Manager *m, uint64_t id) {
        Workload *w = u64map_get(&m->workloads_by_id, id);
        return w && workload_is_listed(w) ? w : NULL;
}

int workload_set_id(Workload *w, uint64_t id) {
        char *path;
        int r;

        if (asprintf(&path, WORKLOAD_PATH_PREFIX "/%" PRIu64, id) < 0)
                return -ENOMEM;
        r = u64map_put(&w->manager->workloads_by_id, id, w);
        if (r < 0) {
                free(path);
                return r;
        }
        w->id = id;
        free(w->path);
        w->path = path;
        return 0;
}

/* What w counts as for its owner's uid: live, unreleased (exited, its
 * owner still connected, so it stays until released), or nothing (kept
 * for ExitRetentionSec at most, or failed). */
static WorkloadCount workload_count_wanted(const Workload *w) {
        if (workload_state_is_live(w->state))
                return WORKLOAD_COUNT_LIVE;
        if (w->state == WORKLOAD_EXITED && !w->owner_gone)
                return WORKLOAD_COUNT_UNRELEASED;
        return WORKLOAD_COUNT_NONE;
}

static unsigned *user_counter(UserCounts *c, WorkloadCount what) {
        return what == WORKLOAD_COUNT_LIVE ? &c->live : &c->unreleased;
}

/* Move w to the count it belongs in now (or to none, as it goes). */
static void workload_count_as(Workload *w, WorkloadCount what) {
        Manager *m = w->manager;
        UserCounts *c = u64map_get(&m->users, w->owner_uid);

        if (what == w->counted_as)
                return;
        if (w->counted_as != WORKLOAD_COUNT_NONE && c)
                (*user_counter(c, w->counted_as))--;
        w->counted_as = WORKLOAD_COUNT_NONE;

        if (what != WORKLOAD_COUNT_NONE) {
                if (!c) {
                        c = calloc(1, sizeof *c);
                        /* Out of memory: w is not counted, which errs on
                         * the side of allowing. */
                        if (!c || u64map_put(&m->users, w->owner_uid, c) < 0) {
                                free(c);
                                return;
                        }
                }
                (*user_counter(c, what))++;
                w->counted_as = what;
        }
        if (c && c->live == 0 && c->unreleased == 0)
                free(u64map_remove(&m->users, w->owner_uid));
}

/* Every state change goes through here: the per-uid counts follow it, and
 * a change between two exported states is announced (PropertiesChanged). */
void workload_set_state(Workload *w, WorkloadState state) {
        bool published = w->state != state && workload_state_to_string(w->state) && workload_state_to_string(state);

        w->state = state;
        workload_count_as(w, workload_count_wanted(w));
        if (published)
                (void) workload_send_properties_changed(w);
}

static void workload_waiter_done(Workload *w, sd_bus_message *msg) {
        (void) owner_waiter_count(w->manager, msg, -1);
        sd_bus_message_unref(msg);
}

/* Its exit has been seen: workload_exited() disarms the exit watch first.
 * Until it has also marked the workload exited (it takes a late exec result
 * in between, which may stop a watch_client workload whose owner left), the
 * state still says running, but the process is reaped: nothing may be
 * signalled (its pid may be reused on the legacy path) and no stop timer
 * armed (workload_exited() has already disarmed them). */
static bool workload_reaped(const Workload *w) {
        return w->state == WORKLOAD_EXITED || !w->pidfd_source;
}

/* The daemon signals a workload on its owner's behalf (watch_client, the
 * SIGKILL of a stop timeout): recorded as org.pidbroker.signal with the
 * owner as subject, whose process we do not have (it may be long gone), and
 * rule "daemon:<why>". */
static int workload_audit_own_signal(Workload *w, int sig, const char *rule, uint64_t *ret_seq) {
        AuditRecord rec = AUDIT_RECORD_NULL;
        AuditTarget target;
        Caller owner = CALLER_NULL;
        Target t;

        owner.uid = w->owner_uid;
        target_from_workload(w, &owner, &CALLER_FACTS_NULL, &t);
        t.signal = sig;
        t.flags = 0;
        target_to_audit(&t, &target, &rec.details);

        rec.action = action_to_string(ACTION_SIGNAL);
        rec.decision = AUDIT_DECISION_ALLOW;
        rec.rule = rule;
        rec.subject.uid = w->owner_uid;
        rec.subject.bus_name = w->owner_name;
        rec.target = &target;
        rec.control_path = t.control_path;
        return manager_audit(w->manager, &rec, ret_seq);
}

static void workload_spawn_outcome(Workload *w, int result) {
        manager_audit_outcome(w->manager, w->spawn_audit_seq, result);
        w->spawn_audit_seq = 0;
}

static void workload_close_process(Workload *w) {
        /* Not spawned_done(): a workload freed while still running (daemon
         * shutdown) is left running, never killed on the way out. */
        process_done(&w->spawned.process);
        w->spawned.status_fd = safe_close(w->spawned.status_fd);
}

Workload *workload_free(Workload *w) {
        if (!w)
                return NULL;

        Manager *m = w->manager;
        LIST_REMOVE(m->workloads, w);
        m->n_workloads--;
        workload_count_as(w, WORKLOAD_COUNT_NONE);
        if (w->id != 0 && u64map_get(&m->workloads_by_id, w->id) == w)
                u64map_remove(&m->workloads_by_id, w->id);
        owner_track_remove(w);
        heap_trim_note_release(m);

        sd_event_source_disable_unref(w->pidfd_source);
        sd_event_source_disable_unref(w->status_source);
        sd_event_source_disable_unref(w->kill_timer);
        sd_event_source_disable_unref(w->retention_timer);
        sd_event_source_disable_unref(w->audit_retry_timer);
        sd_event_source_disable_unref(w->unit_events);

        sd_bus_message_unref(w->spawn_message);
        for (size_t i = 0; i < w->n_waiters; i++)
                workload_waiter_done(w, w->waiters[i]);
        free(w->waiters);

        sd_bus_unref(w->owner_bus);
        free(w->owner_name);

        workload_close_process(w);
        cgroup_unit_done(&w->unit);
        strv_free(w->argv);
        free(w->path);
        free(w);
        return NULL;
}

/* For good: those who saw its object hear it go, its state record goes,
 * and its unit too, now or once empty. (workload_free() alone, at shutdown, leaves running
 * workloads their units.) */
static void workload_forget(Workload *w) {
        if (workload_is_listed(w)) {
                workload_state_forget(w);
                (void) workload_send_interfaces_removed(w);
        }
        manager_forget_unit(w->manager, &w->unit);
        workload_free(w);
}

const char *workload_state_to_string(WorkloadState s) {
        switch (s) {
        case WORKLOAD_RUNNING:
                return "running";
        case WORKLOAD_STOPPING:
                return "stopping";
        case WORKLOAD_EXITED:
                return "exited";
        case WORKLOAD_LOST:
                return "lost";
        default:
                return NULL;
        }
}

static int on_retention_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Workload *w = userdata;
        log_debug("Workload %" PRIu64 ": exit status retention ended, forgetting it.", w->id);
        workload_forget(w);
        return 0;
}

static void workload_arm_retention(Workload *w) {
        if (w->retention_timer || (w->state != WORKLOAD_EXITED && w->state != WORKLOAD_LOST) || !w->owner_gone)
                return;
        int r = sd_event_add_time_relative(w->manager->event, &w->retention_timer, CLOCK_MONOTONIC,
                                           w->manager->config->exit_retention_usec, 0, on_retention_timeout, w);
        if (r < 0) {
                log_warning_errno(r, "Failed to arm retention timer, forgetting workload %" PRIu64 " now: %m", w->id);
                workload_forget(w);
        }
}

static void status_from_siginfo(const siginfo_t *si, const char **code, int *status) {
        switch (si->si_code) {
        case CLD_EXITED:
                *code = "exited";
                *status = si->si_status;
                break;
        case CLD_DUMPED:
                *code = "dumped";
                *status = si->si_status;
                break;
        default:
                *code = "killed";
                *status = si->si_status;
        }
}

void workload_status_from_wait_status(int ws, const char **code, int *status) {
        if (WIFEXITED(ws)) {
                *code = "exited";
                *status = WEXITSTATUS(ws);
        } else if (WIFSIGNALED(ws) && WCOREDUMP(ws)) {
                *code = "dumped";
                *status = WTERMSIG(ws);
        } else {
                *code = "killed";
                *status = WTERMSIG(ws);
        }
}

int workload_reply_exit(Workload *w, sd_bus_message *msg) {
        return sd_bus_reply_method_return(msg, "si", w->exit_code, w->exit_status);
}

static void workload_exec_result(Workload *w);
static int workload_stop_as(Workload *w, sd_bus_message *reply_to, uint64_t audit_seq, const char *rule);

/* Whether Stop, and the end of the main process, take the whole unit. */
static bool workload_kills_unit(const Workload *w) {
        return w->kill_mode == KILL_MODE_CGROUP && w->unit.path;
}

/* Main process gone and, with kill_mode=cgroup, unit empty: Wait and Stop
 * are answered. The retention timer is the caller's to arm, last: w may
 * be gone after it. */
static void workload_mark_exited(Workload *w) {
        workload_set_state(w, WORKLOAD_EXITED);
        w->unit_events = sd_event_source_disable_unref(w->unit_events);
        w->kill_timer = sd_event_source_disable_unref(w->kill_timer);
        w->audit_retry_timer = sd_event_source_disable_unref(w->audit_retry_timer);

        for (size_t i = 0; i < w->n_waiters; i++) {
                int r = workload_reply_exit(w, w->waiters[i]);
                if (r < 0)
                        log_debug_errno(r, "Failed to answer a waiter of workload %" PRIu64 ": %m", w->id);
                workload_waiter_done(w, w->waiters[i]);
        }
        w->waiters = (free(w->waiters), NULL);
        w->n_waiters = 0;
}

static int on_unit_events(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;
        int r = cgroup_events_read_populated(fd);

        if (r > 0)
                return 0;
        if (r < 0)
                log_warning_errno(r, "Cannot read cgroup.events of workload %" PRIu64 ", taking it as empty: %m",
                                  w->id);
        else {
                log_debug("Workload %" PRIu64 ": its cgroup is empty.", w->id);
                (void) unit_remove_if_empty(w->manager, &w->unit);
        }
        workload_mark_exited(w);
        workload_arm_retention(w);
        return 0;
}

/* The main process is gone, processes it started are left in the unit:
 * "stopping" until the unit is empty. They are stopped as Stop stops a
 * workload (SIGTERM now, cgroup.kill at the stop timeout), unless a stop
 * is under way already. 0 when the unit turned out empty. */
static int workload_stop_leftovers(Workload *w) {
        int r;

        /* Nearly always empty by now: one rmdir then, and no fd held (a
         * burst of exits would hold two each while they are checked). */
        if (unit_remove_if_empty(w->manager, &w->unit) == 0)
                return 0;

        r = unit_reopen(w->manager, &w->unit);
        if (r >= 0)
                r = unit_watch_events(w->manager, cgroup_unit_open_events(&w->unit), on_unit_events, w,
                                      &w->unit_events);
        if (r >= 0)
                r = cgroup_events_read_populated(sd_event_source_get_io_fd(w->unit_events));
        if (r < 0) {
                /* Not watched, so not waited for: but nothing is left behind. */
                log_warning_errno(r, "Cannot watch the cgroup of workload %" PRIu64 ", killing what is left: %m",
                                  w->id);
                (void) cgroup_unit_kill(&w->unit);
                return 0;
        }
        if (r == 0) {
                /* Emptied since the rmdir above. */
                w->unit_events = sd_event_source_disable_unref(w->unit_events);
                (void) unit_remove_if_empty(w->manager, &w->unit);
                return 0;
        }

        workload_set_state(w, WORKLOAD_STOPPING);
        log_info("Workload %" PRIu64 ": main process gone, its cgroup %s still has processes.", w->id, w->unit.path);
        if (!w->stopping)
                (void) workload_stop_as(w, NULL, 0, "daemon:main-exited");
        return 1;
}

static void workload_exited(Workload *w, const char *code, int status) {
        w->pidfd_source = sd_event_source_disable_unref(w->pidfd_source);

        if (w->state == WORKLOAD_SPAWNING) {
                /* Exit seen before the exec result: take the result first. */
                workload_exec_result(w);
        }
        if (w->state != WORKLOAD_RUNNING) {
                /* A failed spawn, now reaped. */
                workload_forget(w);
                return;
        }

        w->exit_code = code;
        w->exit_status = status;
        w->exited_usec = now(CLOCK_REALTIME);
        workload_set_state(w, WORKLOAD_EXITED);
        w->status_source = sd_event_source_disable_unref(w->status_source);
        w->spawned.status_fd = safe_close(w->spawned.status_fd);

        log_info("Workload %" PRIu64 " (pid %d) %s with %d.", w->id, (int) w->spawned.process.pid, code, status);
        /* A restart then reports the status instead of a lost workload. */
        (void) workload_state_save(w);

        /* The Exited signal tells of the main process: sent now, whatever
         * is left in the unit. */
        if (workload_kills_unit(w) && workload_stop_leftovers(w) > 0) {
                if (!w->owner_gone)
                        (void) workload_send_exited(w);
                return;
        }
        workload_mark_exited(w);
        if (!w->owner_gone)
                (void) workload_send_exited(w);
        workload_arm_retention(w);
}

/* Its exit status cannot be known: the process is gone, and nothing says
 * how it ended. Never guessed. */
static void workload_lost(Workload *w) {
        w->pidfd_source = sd_event_source_disable_unref(w->pidfd_source);
        w->kill_timer = sd_event_source_disable_unref(w->kill_timer);
        w->audit_retry_timer = sd_event_source_disable_unref(w->audit_retry_timer);
        w->status_source = sd_event_source_disable_unref(w->status_source);
        /* The pid stays for the record (a restart finds it lost again);
         * the Pid property says 0. */
        pid_t pid = w->spawned.process.pid;
        workload_close_process(w);
        w->spawned.process.pid = pid;
        workload_set_state(w, WORKLOAD_LOST);
        log_warning("Workload %" PRIu64 " is lost: its exit status cannot be read.", w->id);

        for (size_t i = 0; i < w->n_waiters; i++) {
                (void) sd_bus_reply_method_errorf(w->waiters[i], BUS_ERROR_NO_SUCH_PROCESS,
                                                  "Workload %" PRIu64 " is lost: its exit status is unknown.", w->id);
                workload_waiter_done(w, w->waiters[i]);
        }
        w->waiters = (free(w->waiters), NULL);
        w->n_waiters = 0;
        workload_arm_retention(w);
}

/* Reap w if it has exited: true when it had (and w may be freed, or lost,
 * then). */
static bool workload_try_reap(Workload *w) {
        siginfo_t si = {};
        const char *code;
        int status, ws, r, k;

        r = process_wait(&w->spawned.process, WEXITED | WNOHANG, &si);
        metrics_count_wait(&w->manager->metrics, r);
        metrics_count_operation(&w->manager->metrics, &w->spawned.process);
        if (r == -EAGAIN || (r >= 0 && si.si_pid == 0))
                return false; /* not yet */
        if (r < 0) {
                /* Not our child: re-adopted after a crash, its parent is now
                 * some reaper (or someone else reaped it). The kernel keeps
                 * the status for pidfd holders once it is reaped; until
                 * then, wait for the reap (EPOLLHUP), not for readability,
                 * which stays on. */
                k = process_get_exit_status(&w->spawned.process, &ws);
                if (k == -ENODATA && r == -ECHILD) {
                        (void) sd_event_source_set_io_events(w->pidfd_source, EPOLLHUP | EPOLLET);
                        return false;
                }
                if (k < 0) {
                        log_warning_errno(r, "waitid() on workload %" PRIu64 " failed: %m", w->id);
                        workload_lost(w);
                        return true;
                }
                workload_status_from_wait_status(ws, &code, &status);
        } else
                status_from_siginfo(&si, &code, &status);

        /* Behind a pidbroker init, the init's own status says only how the
         * init ended; the workload's comes over the status channel. */
        if (w->spawned.has_init && w->spawned.status_fd >= 0 && spawn_read_exit_status(&w->spawned, &ws) >= 0)
                workload_status_from_wait_status(ws, &code, &status);

        workload_exited(w, code, status);
        return true;
}

/* Workload pidfds are watched edge-triggered. While anything is pending,
 * sd-event polls for more at every turn of its loop, and the kernel polls
 * each ready level-triggered fd again at every such call: 10,000 workloads
 * ending at once, each readable until its turn, cost 10,000 squared polls
 * (9 s of the loop here). An edge is reported once. */
#define PIDFD_EVENTS (EPOLLIN | EPOLLET)

static int on_pidfd_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;
        uint32_t events;

        /* Not taken: armed again for what it waits for now (the reap, for
         * a workload not our child), which reports it at once if that
         * came already. */
        if (!workload_try_reap(w) && w->pidfd_source == s && sd_event_source_get_io_events(s, &events) >= 0)
                (void) sd_event_source_set_io_events(s, events);
        return 0;
}

bool workload_collect_exit(Workload *w) {
        /* Only where the exit watch is the pidfd: a legacy child is
         * reaped by sd-event's own SIGCHLD handling. */
        if (w->state == WORKLOAD_RUNNING && w->pidfd_source && w->spawned.process.fd >= 0)
                (void) workload_try_reap(w);
        return w->state == WORKLOAD_EXITED;
}

static int on_legacy_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Workload *w = userdata;
        const char *code;
        int status;

        metrics_count_wait(&w->manager->metrics, 0);
        metrics_count_operation(&w->manager->metrics, &w->spawned.process);
        status_from_siginfo(si, &code, &status);
        workload_exited(w, code, status);
        return 0;
}

/* Namespaces are fixed at clone time: the spawn engine read them then
 * (Spawned.namespaces says how). */
static void workload_read_namespaces(Workload *w) {
        memcpy(w->namespaces, w->spawned.namespaces, sizeof w->namespaces);
}

static uint64_t workload_pick_id(Workload *w) {
        uint64_t id = w->spawned.process.id;

        if (id == 0 && w->spawned.process.fd >= 0)
                (void) pidfd_get_id(w->spawned.process.fd, &id);
        /* Without pidfs a broker-lifetime counter stands in (Features says so). */
        while (id == 0 || u64map_get(&w->manager->workloads_by_id, id))
                id = ++w->manager->next_counter_id;
        return id;
}

static void workload_exec_succeeded(Workload *w) {
        Manager *m = w->manager;
        int r;

        r = workload_set_id(w, workload_pick_id(w));
        if (r < 0) {
                workload_spawn_outcome(w, r);
                (void) sd_bus_reply_method_errorf(w->spawn_message, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
                (void) process_signal(&w->spawned.process, SIGKILL, 0);
                workload_set_state(w, WORKLOAD_FAILED);
                return;
        }
        workload_set_state(w, WORKLOAD_RUNNING);

        /* On record before anyone hears of it: a crash right after the reply
         * must not leave a workload nobody can re-adopt. Without the record
         * there is no workload: the child is killed, and reaped by the exit
         * watch, which frees us. */
        r = workload_state_save(w);
        if (r < 0) {
                workload_set_state(w, WORKLOAD_FAILED);
                workload_spawn_outcome(w, r);
                m->metrics.spawns_failed++;
                (void) sd_bus_reply_method_errorf(w->spawn_message, BUS_ERROR_SPAWN_FAILED,
                                                  "state record failed: %s (%s, errno %d)", strerror(-r),
                                                  strerrorname_np(-r) ?: "?", -r);
                w->spawn_message = sd_bus_message_unref(w->spawn_message);
                (void) process_signal(&w->spawned.process, SIGKILL, 0);
                return;
        }
        workload_state_push_fd(w);
        workload_spawn_outcome(w, 0);
        m->metrics.spawns_ok++;
        metrics_count_operation(&m->metrics, &w->spawned.process);

        log_info("Spawned workload %" PRIu64 " (pid %d, %s, %s) for uid %u: %s", w->id,
                 (int) w->spawned.process.pid, spawn_method_to_string(w->spawned.method),
                 process_control_path(&w->spawned.process), (unsigned) w->owner_uid, w->argv[0]);

        if (w->spawned.process.fd >= 0)
                r = sd_bus_reply_method_return(w->spawn_message, "oht", w->path, w->spawned.process.fd, w->id);
        else {
                /* Legacy PID path: there is no pidfd to hand out. */
                _cleanup_close_ int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                log_warning("Workload %" PRIu64 " runs on the legacy PID path; replying without a pidfd.", w->id);
                r = sd_bus_reply_method_return(w->spawn_message, "oht", w->path, null_fd, w->id);
        }
        if (r < 0)
                log_debug_errno(r, "Failed to send the Spawn reply for workload %" PRIu64 ": %m", w->id);
        w->spawn_message = sd_bus_message_unref(w->spawn_message);

        (void) workload_send_interfaces_added(w);

        /* When the exit was seen first (workload_exited() is taking this
         * result), the process is reaped and workload_stop() signals only
         * what is left in its unit (kill_mode=cgroup). */
        if (w->owner_gone && w->watch_client)
                (void) workload_stop(w, NULL, 0);
}

static void workload_exec_failed(Workload *w, int err, SpawnStep step) {
        Manager *m = w->manager;
        const char *name = strerrorname_np(abs(err));

        workload_set_state(w, WORKLOAD_FAILED);
        workload_spawn_outcome(w, -abs(err));
        m->metrics.spawns_failed++;
        log_info("Spawn of %s for uid %u failed at step %s: %s", w->argv[0], (unsigned) w->owner_uid,
                 spawn_step_to_string(step), strerror(abs(err)));
        (void) sd_bus_reply_method_errorf(w->spawn_message, BUS_ERROR_SPAWN_FAILED, "%s failed: %s (%s, errno %d)",
                                          spawn_step_to_string(step), strerror(abs(err)), name ?: "?", abs(err));
        w->spawn_message = sd_bus_message_unref(w->spawn_message);
        /* The child is exiting; the exit watch reaps it and frees us. */
}

static void workload_exec_result(Workload *w) {
        SpawnStep step = SPAWN_STEP_NONE;
        int r;

        r = spawn_read_exec_status(&w->spawned, &step);
        if (r > 0 && w->state == WORKLOAD_SPAWNING && w->pidfd_source)
                return; /* spurious wakeup */
        if (r > 0)
                r = -EIO; /* the child is gone without a word */
        w->status_source = sd_event_source_disable_unref(w->status_source);
        /* Without an init nothing more comes down the channel: one fd per
         * live workload, its pidfd. */
        if (r == 0 && !w->spawned.has_init)
                w->spawned.status_fd = safe_close(w->spawned.status_fd);
        if (r == 0)
                workload_exec_succeeded(w);
        else
                workload_exec_failed(w, r, step);
}

static int on_exec_status(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        workload_exec_result(userdata);
        return 0;
}

void workload_spawn_settle(Workload *w) {
        if (w->spawned.exec_known)
                workload_exec_result(w);
}

void workload_owner_gone(Workload *w) {
        if (w->owner_gone)
                return;
        owner_track_remove(w);
        w->owner_gone = true;
        workload_count_as(w, workload_count_wanted(w));
        w->owner_bus = sd_bus_unref(w->owner_bus);

        log_debug("Owner of workload %" PRIu64 " disconnected.", w->id);
        /* A workload still spawning is stopped (and the stop recorded) as
         * soon as its exec result is in: workload_exec_succeeded(). */
        if (w->watch_client && w->state == WORKLOAD_RUNNING)
                (void) workload_stop(w, NULL, 0);
        workload_arm_retention(w);
}

int workload_new(Manager *m, const Caller *caller, sd_bus_message *msg, Spawned *spawned, char ***argv,
                 const WorkloadOptions *opts, Workload **ret) {
        Workload *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Workload) {
                .manager = m,
                .spawned = *spawned,
                .owner_uid = caller->uid,
                .user = opts->user,
                .watch_client = opts->watch_client,
                .stop_timeout_usec = opts->stop_timeout_usec,
                .kill_mode = opts->kill_mode,
                .spawn_audit_seq = opts->audit_seq,
                .unit = CGROUP_UNIT_NULL,
                .state = WORKLOAD_SPAWNING,
                .exit_code = "",
                .created_usec = now(CLOCK_REALTIME),
        };
        *spawned = SPAWNED_NULL;
        w->argv = TAKE_PTR(*argv);
        w->spawn_message = sd_bus_message_ref(msg);

        LIST_PREPEND(m->workloads, w);
        m->n_workloads++;
        workload_set_state(w, WORKLOAD_SPAWNING);

        /* The caller's connection, not the workload, is what the bus
         * watches: one match for every client (owner-track.h). */
        r = owner_track_add(m, sd_bus_message_get_bus(msg), caller->bus_name, w);
        if (r < 0)
                goto fail;

        workload_read_namespaces(w);

        if (w->spawned.process.fd >= 0) {
                r = sd_event_add_io(m->event, &w->pidfd_source, w->spawned.process.fd, PIDFD_EVENTS, on_pidfd_readable, w);
                if (r < 0)
                        goto fail;
        } else {
                r = sd_event_add_child(m->event, &w->pidfd_source, w->spawned.process.pid, WEXITED, on_legacy_child, w);
                if (r < 0)
                        goto fail;
        }
        (void) sd_event_source_set_priority(w->pidfd_source, PRIORITY_EXIT);

        /* A result known already is taken by workload_spawn_settle(). */
        if (!w->spawned.exec_known) {
                r = sd_event_add_io(m->event, &w->status_source, w->spawned.status_fd, EPOLLIN, on_exec_status, w);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_priority(w->status_source, PRIORITY_EXEC_STATUS);
        }

        if (ret)
                *ret = w;
        return 0;

fail:
        /* Hand the child back so the caller kills and reaps it. */
        *spawned = w->spawned;
        w->spawned = SPAWNED_NULL;
        *argv = TAKE_PTR(w->argv);
        workload_free(w);
        return r;
}

#define AUDIT_RETRY_USEC (1000000ULL)

static int on_kill_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Workload *w = userdata;
        bool whole_unit = workload_kills_unit(w);
        uint64_t seq;
        int r;

        w->kill_timer = sd_event_source_disable_unref(w->kill_timer);
        /* Gone meanwhile: no SIGKILL to send or record. */
        if (whole_unit ? w->state == WORKLOAD_EXITED : workload_reaped(w))
                return 0;
        r = workload_audit_own_signal(w, SIGKILL, "daemon:stop-timeout", &seq);
        if (r < 0) {
                /* Nothing runs unrecorded, the daemon's own escalation
                 * included: try again until the record can be written. */
                r = sd_event_add_time_relative(w->manager->event, &w->kill_timer, CLOCK_MONOTONIC, AUDIT_RETRY_USEC, 0,
                                               on_kill_timeout, w);
                if (r < 0)
                        log_error_errno(r, "Cannot retry the SIGKILL of workload %" PRIu64 ": %m", w->id);
                return 0;
        }
        log_info("Workload %" PRIu64 " did not stop within %" PRIu64 " ms, %s.", w->id, w->stop_timeout_usec / 1000,
                 whole_unit ? "killing its cgroup" : "sending SIGKILL");
        /* cgroup.kill reaches every process, those forking right now too. */
        if (whole_unit) {
                r = unit_reopen(w->manager, &w->unit);
                if (r >= 0)
                        r = cgroup_unit_kill(&w->unit);
        } else
                r = process_signal(&w->spawned.process, SIGKILL, 0);
        metrics_count_signal(&w->manager->metrics, &w->spawned.process, r);
        manager_audit_outcome(w->manager, seq, r);
        if (r < 0 && r != -ESRCH)
                log_warning_errno(r, "Failed to SIGKILL workload %" PRIu64 ": %m", w->id);
        return 0;
}

static int on_audit_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Workload *w = userdata;

        w->audit_retry_timer = sd_event_source_disable_unref(w->audit_retry_timer);
        (void) workload_stop_as(w, NULL, 0, w->stop_rule);
        return 0;
}

void workloads_drop_waiters_of(Manager *m, sd_bus *bus, const char *sender) {
        for (Workload *w = m->workloads; w; w = w->next) {
                size_t k = 0;

                for (size_t i = 0; i < w->n_waiters; i++) {
                        sd_bus_message *msg = w->waiters[i];
                        const char *s = sd_bus_message_get_sender(msg);

                        if (sd_bus_message_get_bus(msg) == bus && (!sender || (s && strcmp(s, sender) == 0)))
                                workload_waiter_done(w, msg);
                        else
                                w->waiters[k++] = msg;
                }
                w->n_waiters = k;
        }
}

bool workload_waiter_room(const Workload *w) {
        return w->state == WORKLOAD_EXITED || w->n_waiters < w->manager->config->max_waiters_per_workload;
}

int workload_add_waiter(Workload *w, sd_bus_message *msg) {
        if (w->state == WORKLOAD_EXITED)
                return workload_reply_exit(w, msg);
        if (w->state == WORKLOAD_LOST)
                return -ESRCH; /* no exit status will ever come */
        /* Each waiter pins its message until the exit, and on the direct
         * socket no bus limits pending replies: bounded here
         * (MaxWaitersPerWorkload). */
        if (!workload_waiter_room(w))
                return -EUSERS;

        sd_bus_message **n = reallocarray(w->waiters, w->n_waiters + 1, sizeof *n);
        if (!n)
                return -ENOMEM;
        w->waiters = n;
        /* Counted for its client, so that the client leaving drops it. */
        int r = owner_waiter_count(w->manager, msg, +1);
        if (r < 0)
                return r;
        w->waiters[w->n_waiters++] = sd_bus_message_ref(msg);
        return 0;
}

bool workload_stop_signals(const Workload *w) {
        if (w->stopping)
                return false;
        /* Stopping, but the stop of the leftovers not yet recorded. */
        if (w->state == WORKLOAD_STOPPING)
                return true;
        return w->state == WORKLOAD_RUNNING && !workload_reaped(w);
}

/* SIGTERM to what is to be stopped: the unit's processes or the main one. */
static int workload_send_sigterm(Workload *w) {
        int r;

        if (!workload_kills_unit(w))
                return process_signal(&w->spawned.process, SIGTERM, 0);
        bool fallback;
        r = unit_reopen(w->manager, &w->unit);
        if (r < 0)
                return r;
        r = cgroup_unit_signal_all(&w->unit, SIGTERM, w->manager->config->control_path, &fallback);
        if (r < 0)
                return r;
        log_debug("Workload %" PRIu64 ": SIGTERM to %d processes of its cgroup.", w->id, r);
        /* 1, as process_signal() says it: the metrics count the fallback. */
        return r == 0 ? -ESRCH : fallback ? 1 : 0;
}

static int workload_stop_as(Workload *w, sd_bus_message *reply_to, uint64_t audit_seq, const char *rule) {
        int r;

        if (w->state == WORKLOAD_EXITED)
                return reply_to ? workload_reply_exit(w, reply_to) : 0;
        if (w->state == WORKLOAD_LOST)
                return -ESRCH;

        if (reply_to) {
                r = workload_add_waiter(w, reply_to);
                if (r < 0)
                        return r;
        }
        /* A reaped process is answered by workload_exited() (reply_to is a
         * waiter now): no SIGTERM, no record of one, no SIGKILL timer. With
         * kill_mode=cgroup, what is left in the unit is stopped all the
         * same. */
        if (w->stopping || (!workload_kills_unit(w) && workload_reaped(w)))
                return 0;

        if (audit_seq == 0) {
                if (w->audit_retry_timer)
                        return 0; /* already waiting for room in the log */
                r = workload_audit_own_signal(w, SIGTERM, rule, &audit_seq);
                if (r < 0) {
                        w->stop_rule = rule;
                        r = sd_event_add_time_relative(w->manager->event, &w->audit_retry_timer, CLOCK_MONOTONIC,
                                                       AUDIT_RETRY_USEC, 0, on_audit_retry, w);
                        if (r < 0)
                                log_error_errno(r, "Cannot retry stopping workload %" PRIu64 ": %m", w->id);
                        return 0;
                }
        }
        /* A caller's recorded Stop supersedes a pending retry of ours. */
        w->audit_retry_timer = sd_event_source_disable_unref(w->audit_retry_timer);
        w->stopping = true;

        log_info("Stopping workload %" PRIu64 " (pid %d, kill mode %s).", w->id, (int) w->spawned.process.pid,
                 kill_mode_to_string(workload_kills_unit(w) ? KILL_MODE_CGROUP : KILL_MODE_PROCESS));
        r = workload_send_sigterm(w);
        metrics_count_signal(&w->manager->metrics, &w->spawned.process, r);
        manager_audit_outcome(w->manager, audit_seq, r);
        if (r < 0 && r != -ESRCH)
                log_warning_errno(r, "Failed to SIGTERM workload %" PRIu64 ": %m", w->id);

        r = sd_event_add_time_relative(w->manager->event, &w->kill_timer, CLOCK_MONOTONIC, w->stop_timeout_usec, 0,
                                       on_kill_timeout, w);
        if (r < 0) {
                /* No timer, no grace period. */
                log_warning_errno(r, "Failed to arm the stop timer, killing now: %m");
                return on_kill_timeout(NULL, 0, w);
        }
        return 0;
}

int workload_stop(Workload *w, sd_bus_message *reply_to, uint64_t audit_seq) {
        return workload_stop_as(w, reply_to, audit_seq, "daemon:watch-client");
}

void workload_release(Workload *w) {
        log_debug("Workload %" PRIu64 " released.", w->id);
        workload_forget(w);
}

void workload_to_record(const Workload *w, WorkloadRecord *ret) {
        /* Stopping: the main process's status is known already. */
        bool exited = (w->state == WORKLOAD_EXITED || w->state == WORKLOAD_STOPPING) && w->exit_code &&
                      w->exit_code[0];

        *ret = (WorkloadRecord) {
                .id = w->id,
                .pid = w->spawned.process.pid,
                .owner_uid = w->owner_uid,
                .owner_name = w->owner_name,
                .user = w->user,
                .watch_client = w->watch_client,
                .stop_timeout_usec = w->stop_timeout_usec,
                .created_usec = w->created_usec,
                .has_init = w->spawned.has_init,
                .cgroup = w->unit.fd >= 0 ? w->unit.path : NULL,
                .exit_code = exited ? w->exit_code : NULL,
                .exit_status = exited ? w->exit_status : 0,
                .argv = w->argv,
        };
        memcpy(ret->namespaces, w->namespaces, sizeof ret->namespaces);
        /* Without one, a restart can still prove it by pidfd_open(pid) and
         * the id. */
        if (process_get_pidfs_handle(&w->spawned.process, &ret->handle) < 0)
                ret->handle = (PidfsHandle) {};
}

/* The last path component of a unit's path: its name under the subtree. */
static const char *unit_name(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

int workload_adopt(Manager *m, const WorkloadRecord *rec, Process *p, int *status_fd, bool stopping,
                   Workload **ret) {
        Workload *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Workload) {
                .manager = m,
                .spawned = SPAWNED_NULL,
                .owner_uid = rec->owner_uid,
                .user = rec->user,
                .watch_client = rec->watch_client,
                .stop_timeout_usec = rec->stop_timeout_usec,
                .unit = CGROUP_UNIT_NULL,
                .exit_code = "",
                .created_usec = rec->created_usec,
        };
        LIST_PREPEND(m->workloads, w);
        m->n_workloads++;
        w->spawned.has_init = rec->has_init;
        memcpy(w->namespaces, rec->namespaces, sizeof w->namespaces);

        r = workload_set_id(w, rec->id);
        if (r < 0)
                goto fail;
        r = strv_copy(rec->argv, &w->argv);
        if (r < 0)
                goto fail;
        if (rec->owner_name) {
                w->owner_name = strdup(rec->owner_name);
                if (!w->owner_name) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (rec->cgroup && m->cgroup_subtree.fd >= 0) {
                r = cgroup_unit_open(&m->cgroup_subtree, unit_name(rec->cgroup), &w->unit);
                if (r < 0)
                        log_warning_errno(r, "Cannot reopen the cgroup %s of workload %" PRIu64 ": %m", rec->cgroup,
                                          w->id);
                /* One fd per live workload: opened again when acted on. */
                unit_close_fd(&w->unit);
        }

        if (rec->exit_code) {
                w->exit_code = rec->exit_code;
                w->exit_status = rec->exit_status;
                /* Kept for GetPidfd, when it came back. */
                w->spawned.process = *p;
                *p = PROCESS_NULL;
                if (!process_is_set(&w->spawned.process))
                        w->spawned.process.pid = rec->pid;
                /* Its main process was gone: what it left in its unit is
                 * stopped again, and waited for. */
                workload_set_state(w, WORKLOAD_EXITED);
                if (workload_kills_unit(w))
                        (void) workload_stop_leftovers(w);
        } else if (process_is_set(p) && p->fd >= 0) {
                workload_set_state(w, WORKLOAD_RUNNING);
                w->spawned.process = *p;
                w->spawned.process.fd = spawn_fd_keep_high(w->spawned.process.fd);
                *p = PROCESS_NULL;
                if (status_fd && *status_fd >= 0 && rec->has_init)
                        w->spawned.status_fd = TAKE_FD(*status_fd);
                r = sd_event_add_io(m->event, &w->pidfd_source, w->spawned.process.fd, PIDFD_EVENTS, on_pidfd_readable, w);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_priority(w->pidfd_source, PRIORITY_EXIT);
        } else {
                workload_set_state(w, WORKLOAD_LOST);
                w->spawned.process.pid = rec->pid;
        }

        log_info("Re-adopted workload %" PRIu64 " (pid %d) of uid %u: %s.", w->id, (int) rec->pid,
                 (unsigned) w->owner_uid, workload_state_to_string(w->state));

        if (stopping && w->state == WORKLOAD_RUNNING) {
                /* The SIGTERM went out before the re-exec: only the SIGKILL
                 * timer is left to arm, with the full timeout. */
                w->stopping = true;
                r = sd_event_add_time_relative(m->event, &w->kill_timer, CLOCK_MONOTONIC, w->stop_timeout_usec, 0,
                                               on_kill_timeout, w);
                if (r < 0)
                        log_warning_errno(r, "Failed to arm the stop timer of workload %" PRIu64 ": %m", w->id);
        }

        /* The owner's connection: the same unique name, if still on the
         * bus; a direct-socket connection never survives us. */
        r = w->owner_name && m->bus ? owner_track_add(m, m->bus, w->owner_name, w) : -ENXIO;
        if (r < 0) {
                log_info_errno(r, "Owner %s of workload %" PRIu64 " is gone: %m", w->owner_name ?: "(direct)", w->id);
                workload_owner_gone(w);
        }

        if (ret)
                *ret = w;
        return 0;

fail:
        workload_free(w);
        return r;
}
