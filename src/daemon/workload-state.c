/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bus-error.h"
#include "feature.h"
#include "log.h"
#include "offload.h"
#include "request.h"
#include "time-util.h"
#include "workload.h"
#include "workload-state.h"

#define FD_STORE_PREFIX "w-"
#define SERIALIZE_MAGIC "pidbroker-reexec 1"
/* Spawns still waiting for their exec result when Reexecute() came are
 * awaited this long, checked this often; then they are killed (their
 * callers get SpawnFailed), so that no child is unknown to the new image. */
#define REEXEC_DRAIN_USEC (10 * 1000000ULL)
#define REEXEC_POLL_USEC (5 * 1000ULL)

int manager_state_open(Manager *m) {
        const char *dir = m->config->state_directory;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        m->fd_store = getenv("NOTIFY_SOCKET") != NULL;
        if (!dir || !*dir) {
                log_info("No StateDirectory=: workloads are not re-adopted after a restart.");
                return 0;
        }
        if (asprintf(&path, "%s/workloads", dir) < 0)
                return log_oom();
        /* The directory also holds the direct socket: 0755. Its records
         * name owners and argv: 0700. */
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create the state directory %s: %m", dir);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", path);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", path);
        /* Whoever may write here decides what the daemon re-adopts. */
        if (st.st_uid != geteuid() || (st.st_mode & 0022))
                return log_error_errno(-EPERM, "%s is not ours alone (uid %u, mode %04o): refusing to use it.", path,
                                       (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
        m->state_fd = TAKE_FD(fd);
        return 0;
}

int workload_state_save(Workload *w) {
        WorkloadRecord rec;
        int r;

        if (w->manager->state_fd < 0)
                return 0;
        workload_to_record(w, &rec);
        r = workload_record_write(w->manager->state_fd, &rec);
        if (r < 0)
                return log_error_errno(r, "Failed to write the state record of workload %" PRIu64 ": %m", w->id);
        return 0;
}

/* One datagram to systemd's notify socket: it never waits for systemd, as
 * long as systemd reads its socket. */
void workload_state_push_fd(Workload *w) {
        char msg[64];
        int r;

        if (!w->manager->fd_store || w->spawned.process.fd < 0)
                return;
        snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=" FD_STORE_PREFIX "%" PRIu64, w->id);
        r = sd_pid_notify_with_fds(0, false, msg, &w->spawned.process.fd, 1);
        if (r <= 0)
                log_warning_errno(r ?: -ENOTCONN, "Failed to store the pidfd of workload %" PRIu64
                                                  " with the service manager: %m", w->id);
}

static void fd_store_remove(Manager *m, uint64_t id) {
        if (m->fd_store)
                (void) sd_notifyf(false, "FDSTOREREMOVE=1\nFDNAME=" FD_STORE_PREFIX "%" PRIu64, id);
}

void workload_state_forget(Workload *w) {
        int r;

        fd_store_remove(w->manager, w->id);
        if (w->manager->state_fd < 0)
                return;
        r = workload_record_remove(w->manager->state_fd, w->id);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the state record of workload %" PRIu64 ": %m", w->id);
}

/* ---- Re-adoption -------------------------------------------------------- */

/* The pidfds systemd kept for us, by workload id. */
typedef struct StoredFd {
        uint64_t id;
        int fd;
} StoredFd;

typedef struct FdStore {
        StoredFd *fds;
        size_t n;
} FdStore;

static void fd_store_done(FdStore *s) {
        for (size_t i = 0; i < s->n; i++)
                safe_close(s->fds[i].fd);
        free(s->fds);
        *s = (FdStore) {};
}

static int fd_store_take(Manager *m, FdStore *ret) {
        char **names = NULL;
        int n;

        n = sd_listen_fds_with_names(true, &names);
        if (n <= 0)
                return n;
        ret->fds = calloc((size_t) n, sizeof *ret->fds);
        if (!ret->fds) {
                for (int i = 0; i < n; i++)
                        safe_close(SD_LISTEN_FDS_START + i);
                strv_free(names);
                return log_oom();
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names ? names[i] : NULL;
                char *end;
                uint64_t id;

                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                errno = 0;
                id = name && strncmp(name, FD_STORE_PREFIX, strlen(FD_STORE_PREFIX)) == 0 ?
                             strtoull(name + strlen(FD_STORE_PREFIX), &end, 10) : 0;
                if (id == 0 || errno != 0 || *end) {
                        log_warning("Ignoring fd %d (%s) from the service manager.", fd, name ?: "unnamed");
                        safe_close(fd);
                        continue;
                }
                ret->fds[ret->n++] = (StoredFd) { .id = id, .fd = fd };
        }
        strv_free(names);
        log_info("The service manager kept %zu workload pidfds for us.", ret->n);
        return 0;
}

/* The stored pidfd of id, taken out of s; -EBADF when there is none. */
static int fd_store_pop(FdStore *s, uint64_t id) {
        for (size_t i = 0; i < s->n; i++)
                if (s->fds[i].id == id && s->fds[i].fd >= 0)
                        return TAKE_FD(s->fds[i].fd);
        return -EBADF;
}

/* A pidfd kept for us (fd store, re-exec), proven to be rec's by its pidfs
 * id. A live (or not yet reaped) process comes back as it is; a reaped one
 * only for its exit status, which is set in rec. -ESRCH: not rec's, or
 * nothing to learn from it. fd is taken. */
static int process_from_kept_pidfd(int fd, WorkloadRecord *rec, Process *ret) {
        _cleanup_close_ int pidfd = fd;
        Process p = PROCESS_NULL;
        uint64_t id = 0;
        int ws, r;

        if (pidfd_get_id(pidfd, &id) < 0 || id != rec->id)
                return -ESRCH;
        r = process_from_pidfd_dup(&p, pidfd);
        if (r >= 0) {
                *ret = p;
                return 0;
        }
        if (r != -ESRCH)
                return r;
        /* Reaped (by us before a re-exec, or by someone else while we were
         * away): PIDFD_INFO_EXIT still has its status. */
        p = (Process) { .pid = rec->pid, .fd = pidfd, .id = rec->id };
        r = process_get_exit_status(&p, &ws);
        if (r < 0)
                return -ESRCH;
        workload_status_from_wait_status(ws, &rec->exit_code, &rec->exit_status);
        TAKE_FD(pidfd);
        *ret = p;
        return 0;
}

/* One record: proven and adopted, or adopted as lost. kept_fd (taken):
 * its pidfd from the fd store or the previous image, or -EBADF. */
static int readopt_one(Manager *m, WorkloadRecord *rec, int kept_fd, int status_fd, bool stopping) {
        _cleanup_close_ int sfd = status_fd;
        _cleanup_process_ Process p = PROCESS_NULL;
        bool was_running = !rec->exit_code;
        Workload *w;
        int r = -ESRCH;

        if (kept_fd >= 0)
                r = process_from_kept_pidfd(kept_fd, rec, &p);
        if (r < 0 && !rec->exit_code) {
                /* Only the pidfs id proves identity: a pid alone may name
                 * someone else by now. */
                r = process_from_pidfs_handle(&p, rec->handle.size > 0 ? &rec->handle : NULL, rec->pid, rec->id);
                if (r < 0 && r != -ESRCH)
                        log_warning_errno(r, "Cannot prove workload %" PRIu64 " (pid %d) is the same process: %m",
                                          rec->id, (int) rec->pid);
        }
        if (!feature_available(FEATURE_PIDFS))
                m->next_counter_id = MAX(m->next_counter_id, rec->id);

        r = workload_adopt(m, rec, &p, &sfd, stopping, &w);
        if (r < 0)
                return log_error_errno(r, "Failed to re-adopt workload %" PRIu64 ": %m", rec->id);
        /* The status came from a pidfd the fd store kept: on record now. */
        if (was_running && rec->exit_code)
                (void) workload_state_save(w);
        return 0;
}

/* The memfd a Reexecute() left: a header, then per workload one line
 * "workload <pidfd> <status fd> <stopping> <size>" and its record. */
static int deserialize(Manager *m, int fd, FdStore *store) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;
        const char *p, *end;
        unsigned long long counter;
        int r;

        for (;;) {
                if (greedy_realloc((void **) &buf, &allocated, size + 65536, 1) < 0)
                        return log_oom();
                /* One byte left for the NUL that makes sscanf() safe. */
                ssize_t n = pread(fd, buf + size, allocated - size - 1, (off_t) size);
                if (n < 0)
                        return log_error_errno(-errno, "Failed to read the serialised state: %m");
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        buf[size] = '\0';
        p = buf;
        end = buf + size;
        if (size < strlen(SERIALIZE_MAGIC "\n") || memcmp(p, SERIALIZE_MAGIC "\n", strlen(SERIALIZE_MAGIC "\n")) != 0)
                return log_error_errno(-EBADMSG, "The serialised state is not ours.");
        p += strlen(SERIALIZE_MAGIC "\n");
        if (memchr(p, '\0', (size_t) (end - p)) || sscanf(p, "next-counter-id %llu\n", &counter) != 1)
                return log_error_errno(-EBADMSG, "The serialised state has no counter.");
        m->next_counter_id = counter;
        p = memchr(p, '\n', (size_t) (end - p));
        if (!p)
                return log_error_errno(-EBADMSG, "The serialised state is truncated.");
        p++;

        while (p < end) {
                _cleanup_(workload_record_done) WorkloadRecord rec = {};
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *reason = NULL;
                int pidfd, status_fd, stopping;
                size_t len;

                if (!nl || sscanf(p, "workload %d %d %d %zu\n", &pidfd, &status_fd, &stopping, &len) != 4 ||
                    len > (size_t) (end - nl - 1))
                        return log_error_errno(-EBADMSG, "Malformed entry in the serialised state.");
                p = nl + 1;
                r = workload_record_parse(p, len, &rec, &reason);
                p += len;
                /* Our own fds only: above stdio, and close-on-exec from now on. */
                if (pidfd >= 0 && (pidfd < 3 || pidfd == fd || fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0))
                        pidfd = -EBADF;
                if (status_fd >= 0 && (status_fd < 3 || status_fd == fd || fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0))
                        status_fd = -EBADF;
                if (r < 0) {
                        log_error("Malformed workload record in the serialised state: %s", reason ?: "?");
                        safe_close(pidfd);
                        safe_close(status_fd);
                        continue;
                }
                /* The fd store has the same pidfd: ours is the one to use. */
                safe_close(fd_store_pop(store, rec.id));
                (void) readopt_one(m, &rec, pidfd, status_fd, stopping > 0);
        }
        return 0;
}

int manager_readopt(Manager *m) {
        _cleanup_(fd_store_done) FdStore store = {};
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n_ids = 0;
        unsigned n = m->n_workloads;
        int r;

        r = fd_store_take(m, &store);
        if (r < 0)
                return r;

        if (m->config->deserialize_fd >= 0) {
                int fd = m->config->deserialize_fd;

                m->config->deserialize_fd = -EBADF;
                m->reexecuted = true;
                /* Whatever could not be taken from it is still in the
                 * records below (and still our child). */
                (void) deserialize(m, fd, &store);
                safe_close(fd);
        }

        if (m->state_fd >= 0) {
                r = workload_record_list(m->state_fd, &ids, &n_ids);
                if (r < 0)
                        return log_error_errno(r, "Failed to list the workload records: %m");
        }
        for (size_t i = 0; i < n_ids; i++) {
                _cleanup_(workload_record_done) WorkloadRecord rec = {};
                const char *reason = NULL;

                if (workload_find(m, ids[i]))
                        continue; /* came back from the previous image */
                r = workload_record_read(m->state_fd, ids[i], &rec, &reason);
                if (r == -EBADMSG) {
                        /* Nothing can be proven with it: gone, with a reason. */
                        log_error("Removing the malformed workload record %" PRIu64 ": %s", ids[i], reason ?: "?");
                        (void) workload_record_remove(m->state_fd, ids[i]);
                        continue;
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to read the workload record %" PRIu64 ": %m", ids[i]);
                        continue;
                }
                (void) readopt_one(m, &rec, fd_store_pop(&store, rec.id), -EBADF, false);
        }

        /* Pidfds of workloads with no record left: nothing to give back. */
        for (size_t i = 0; i < store.n; i++)
                if (store.fds[i].fd >= 0)
                        fd_store_remove(m, store.fds[i].id);

        if (m->n_workloads > n)
                log_info("Re-adopted %u workloads.", m->n_workloads - n);
        return 0;
}

/* ---- Re-execution ------------------------------------------------------- */

static bool workload_is_settled(const Workload *w) {
        return w->state != WORKLOAD_SPAWNING && w->state != WORKLOAD_FAILED;
}

static int serialize(Manager *m, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        fd = memfd_create("pidbroker-state", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, SERIALIZE_MAGIC "\nnext-counter-id %" PRIu64 "\n", m->next_counter_id);
        for (Workload *w = m->workloads; w && r >= 0; w = w->next) {
                _cleanup_free_ char *text = NULL;
                WorkloadRecord rec;
                size_t len;

                if (!workload_is_listed(w))
                        continue;
                workload_to_record(w, &rec);
                r = workload_record_format(&rec, &text, &len);
                if (r < 0)
                        break;
                fprintf(f, "workload %d %d %d %zu\n%s", w->spawned.process.fd >= 0 ? w->spawned.process.fd : -1,
                        w->spawned.status_fd >= 0 ? w->spawned.status_fd : -1, w->stopping, len, text);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        for (size_t off = 0; off < size;) {
                ssize_t n = write(fd, buf + off, size - off);
                if (n < 0)
                        return negative_errno();
                off += (size_t) n;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Every fd the new image takes over: kept open across execve(), or (undo)
 * closed on exec again. */
static void set_inherited(Manager *m, int memfd, bool inherit) {
        int flags = inherit ? 0 : FD_CLOEXEC;

        (void) fcntl(memfd, F_SETFD, flags);
        for (Workload *w = m->workloads; w; w = w->next) {
                if (!workload_is_listed(w))
                        continue;
                if (w->spawned.process.fd >= 0)
                        (void) fcntl(w->spawned.process.fd, F_SETFD, flags);
                if (w->spawned.status_fd >= 0)
                        (void) fcntl(w->spawned.status_fd, F_SETFD, flags);
        }
}

static int reexec_now(Manager *m) {
        _cleanup_close_ int memfd = -EBADF;
        _cleanup_free_ char **argv = NULL;
        char arg[64];
        size_t n = 0;
        int r;

        r = serialize(m, &memfd);
        if (r < 0)
                return log_error_errno(r, "Failed to serialise the state for the re-exec: %m");
        snprintf(arg, sizeof arg, "--deserialize=%d", memfd);
        argv = calloc(strv_length(m->argv) + 2, sizeof(char *));
        if (!argv)
                return log_oom();
        for (char **a = m->argv; a && *a; a++)
                if (strncmp(*a, "--deserialize=", strlen("--deserialize=")) != 0)
                        argv[n++] = *a;
        argv[n++] = arg;

        set_inherited(m, memfd, true);
        /* After execve() nothing of this image can write it. */
        manager_audit_outcome(m, m->reexec_audit_seq, 0);
        m->reexec_audit_seq = 0;
        /* The name free for the new image (which also queues for it): until
         * it is back, callers get ServiceUnknown, and retry. The reply to
         * Reexecute() goes out first. */
        if (m->bus) {
                (void) sd_bus_flush(m->bus);
                (void) sd_bus_release_name(m->bus, BROKER_BUS_NAME);
                (void) sd_bus_flush(m->bus);
        }
        for (PrivateConnection *c = m->connections; c; c = c->next)
                (void) sd_bus_flush(c->bus);
        log_info("Re-executing with %u workloads.", m->n_workloads);

        execve("/proc/self/exe", argv, environ);
        r = negative_errno();
        set_inherited(m, memfd, false);
        if (m->bus)
                (void) sd_bus_request_name(m->bus, BROKER_BUS_NAME, 0);
        return log_error_errno(r, "Failed to re-execute /proc/self/exe, carrying on: %m");
}

/* Children that never got their exec result in time: killed and reaped
 * here, so the new image has no child it does not know. */
static void reexec_kill_unsettled(Manager *m) {
        Workload *next;

        /* Calls still waiting are answered Reexecuting, and retried: the
         * child of a spawn made off the loop that no workload took yet goes
         * with its job (killed and reaped). */
        while (m->pending) {
                (void) sd_bus_reply_method_errorf(m->pending->msg, BUS_ERROR_REEXECUTING,
                                                  "The daemon re-executed before this call was answered; try again.");
                request_free(m->pending);
        }

        for (Workload *w = m->workloads; w; w = next) {
                siginfo_t si;

                next = w->next;
                if (workload_is_settled(w))
                        continue;
                log_warning("Spawn of %s still unsettled at re-exec, killing it.", w->argv[0]);
                if (w->spawn_message)
                        (void) sd_bus_reply_method_errorf(w->spawn_message, BUS_ERROR_SPAWN_FAILED,
                                                          "The daemon re-executed before the exec result came.");
                (void) process_signal(&w->spawned.process, SIGKILL, 0);
                (void) process_wait(&w->spawned.process, WEXITED, &si);
                workload_free(w);
        }
}

static int on_reexec_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool settled = true;

        for (Workload *w = m->workloads; w; w = w->next)
                if (!workload_is_settled(w))
                        settled = false;
        /* A spawn off the loop (broker-bus.c) has a child and no workload yet. */
        if (offload_total(m->offload) > 0)
                settled = false;
        if (!settled && usec < m->reexec_deadline) {
                (void) sd_event_source_set_time_relative(s, REEXEC_POLL_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        reexec_kill_unsettled(m);
        (void) reexec_now(m);
        /* Still here: the exec failed. Serve on. */
        manager_audit_outcome(m, m->reexec_audit_seq, -ENOEXEC);
        m->reexec_audit_seq = 0;
        m->reexecuting = false;
        m->reexec_timer = sd_event_source_disable_unref(m->reexec_timer);
        return 0;
}

int manager_reexecute(Manager *m, uint64_t audit_seq) {
        int r;

        if (m->reexecuting)
                return -EALREADY;
        r = sd_event_add_time_relative(m->event, &m->reexec_timer, CLOCK_MONOTONIC, 0, 0, on_reexec_timer, m);
        if (r < 0)
                return r;
        m->reexec_deadline = now(CLOCK_MONOTONIC) + REEXEC_DRAIN_USEC;
        m->reexecuting = true;
        m->reexec_audit_seq = audit_seq;
        return 0;
}
