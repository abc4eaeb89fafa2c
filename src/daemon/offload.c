/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "macro.h"
#include "offload.h"
#include "sched-util.h"
#include "time-util.h"

/* Shared by the thread and the loop: whoever drops the last reference frees
 * it. The thread's reference goes when the loop has read the job back from
 * the completion pipe; the loop's when the job is done, timed out or
 * cancelled. */
struct OffloadJob {
        unsigned refs;            /* under the offload's lock */
        uid_t uid;
        OffloadFunc fn;
        void *data;
        void (*free_data)(void *data);
        OffloadDone done;
        void *userdata;
        int write_fd;             /* the completion pipe, shared */
        /* The loop's: while it awaits the job, on its offload's list. */
        Offload *offload;
        uint64_t deadline;        /* CLOCK_MONOTONIC */
        OffloadJob *prev, *next;
};

typedef struct UidCount {
        uid_t uid;
        unsigned n;
} UidCount;

struct Offload {
        sd_event_source *source;
        int pipe[2];
        unsigned max_per_uid, max_total;
        uint64_t timeout_usec;
        /* Running threads by uid, abandoned ones included: at most max_total
         * entries, so a linear scan is fine. */
        UidCount *counts;
        unsigned n_counts;
        unsigned total;
        /* The jobs the loop awaits, and one timer for all their deadlines:
         * armed for the earliest, and left armed when that job finishes in
         * time. Re-arming the kernel's timer at every job would cost more
         * than the wake-up for nothing, once per timeout at most. */
        OffloadJob *awaited;
        sd_event_source *watchdog;
};

static pthread_mutex_t offload_lock = PTHREAD_MUTEX_INITIALIZER;

static UidCount *count_for(Offload *o, uid_t uid) {
        for (unsigned i = 0; i < o->n_counts; i++)
                if (o->counts[i].uid == uid)
                        return &o->counts[i];
        return NULL;
}

unsigned offload_running(const Offload *o, uid_t uid) {
        UidCount *c = count_for((Offload *) o, uid);
        return c ? c->n : 0;
}

unsigned offload_total(const Offload *o) {
        return o->total;
}

bool offload_has_room(const Offload *o, uid_t uid) {
        return o->total < o->max_total && offload_running(o, uid) < o->max_per_uid;
}

static void count_drop(Offload *o, uid_t uid) {
        UidCount *c = count_for(o, uid);
        if (!c)
                return;
        o->total--;
        if (--c->n == 0)
                *c = o->counts[--o->n_counts];
}

/* Drop one reference; the last frees the job and, if the job never reported
 * back (abandoned), its data. Called with the lock held. */
static void job_unref_locked(OffloadJob *j) {
        if (--j->refs > 0)
                return;
        if (j->free_data && j->data)
                j->free_data(j->data);
        free(j);
}

/* Hand the job back to the loop. The pipe outlives every thread that may
 * write to it: offload_free() leaves it open while jobs run. */
static void job_report(OffloadJob *j) {
        ssize_t n;

        do
                n = write(j->write_fd, &j, sizeof j);
        while (n < 0 && errno == EINTR);
        if (n != sizeof j) {
                /* The loop cannot hear of it: forget it (a leak of one
                 * count, logged). */
                pthread_mutex_lock(&offload_lock);
                job_unref_locked(j);
                pthread_mutex_unlock(&offload_lock);
        }
}

/* Threads kept between jobs: creating one costs more than a spawn's whole
 * share of the daemon's time, and one of a lane keeps what its jobs left on
 * it. A few wait at once, each for a while; the rest exit. */
#define WORKER_IDLE_SEC 10
#define WORKERS_IDLE_MAX 8

typedef struct Worker Worker;
struct Worker {
        uint64_t lane;
        OffloadJob *job;        /* the next one; handed over under the lock */
        bool quit;
        pthread_cond_t wake;
        Worker *next_idle;
};

/* Under offload_lock. */
static Worker *idle_workers;
static unsigned n_idle_workers;

static void idle_remove_locked(Worker *w) {
        for (Worker **p = &idle_workers; *p; p = &(*p)->next_idle)
                if (*p == w) {
                        *p = w->next_idle;
                        n_idle_workers--;
                        return;
                }
}

static Worker *idle_take_locked(uint64_t lane) {
        for (Worker *w = idle_workers; w; w = w->next_idle)
                if (w->lane == lane) {
                        idle_remove_locked(w);
                        return w;
                }
        return NULL;
}

unsigned offload_idle(void) {
        unsigned n;

        pthread_mutex_lock(&offload_lock);
        n = n_idle_workers;
        pthread_mutex_unlock(&offload_lock);
        return n;
}

/* true: a job was handed to us; false: time to exit. */
static bool worker_wait(Worker *w) {
        struct timespec deadline;
        bool handed;

        (void) clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += WORKER_IDLE_SEC;
        pthread_mutex_lock(&offload_lock);
        if (n_idle_workers >= WORKERS_IDLE_MAX || w->quit) {
                pthread_mutex_unlock(&offload_lock);
                return false;
        }
        w->next_idle = idle_workers;
        idle_workers = w;
        n_idle_workers++;
        while (!w->job && !w->quit)
                if (pthread_cond_timedwait(&w->wake, &offload_lock, &deadline) == ETIMEDOUT)
                        break;
        handed = w->job;
        if (!handed)
                idle_remove_locked(w);
        pthread_mutex_unlock(&offload_lock);
        return handed;
}

static void *worker_main(void *p) {
        Worker *w = p;

        /* As the loop's (pidbrokerd.c): back on a CPU as soon as a child
         * it waited for has exec'd. */
        (void) sched_short_slice(SCHED_SLICE_NSEC);

        do {
                OffloadJob *j = w->job;

                w->job = NULL;
                j->fn(j->data);
                job_report(j);
        } while (worker_wait(w));
        pthread_cond_destroy(&w->wake);
        free(w);
        return NULL;
}

/* A new thread for lane, starting with job j. Called with the lock held. */
static int worker_start_locked(uint64_t lane, OffloadJob *j) {
        pthread_condattr_t cattr;
        pthread_attr_t attr;
        pthread_t thread;
        Worker *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Worker) { .lane = lane, .job = j };
        if (pthread_condattr_init(&cattr) != 0) {
                free(w);
                return -ENOMEM;
        }
        (void) pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
        r = -pthread_cond_init(&w->wake, &cattr);
        pthread_condattr_destroy(&cattr);
        if (r < 0) {
                free(w);
                return r;
        }

        /* Small stacks: a job is a loop of syscalls. */
        r = -pthread_attr_init(&attr);
        if (r == 0) {
                (void) pthread_attr_setstacksize(&attr, 256 * 1024);
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = -pthread_create(&thread, &attr, worker_main, w);
                pthread_attr_destroy(&attr);
        }
        if (r < 0) {
                pthread_cond_destroy(&w->wake);
                free(w);
        }
        return r;
}

static void job_unwatch(OffloadJob *j) {
        if (!j->offload)
                return;
        LIST_REMOVE(j->offload->awaited, j);
        j->offload = NULL;
}

/* The loop lets go of a job before its thread reported back: the thread
 * frees it (and its data) when it does. */
static void job_abandon(OffloadJob *j) {
        job_unwatch(j);
        j->done = NULL;
        pthread_mutex_lock(&offload_lock);
        job_unref_locked(j);
        pthread_mutex_unlock(&offload_lock);
}

static void watchdog_arm(Offload *o) {
        uint64_t next = UINT64_MAX;

        for (OffloadJob *j = o->awaited; j; j = j->next)
                if (j->deadline < next)
                        next = j->deadline;
        if (next == UINT64_MAX)
                return;
        (void) sd_event_source_set_time(o->watchdog, next);
        (void) sd_event_source_set_enabled(o->watchdog, SD_EVENT_ONESHOT);
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        Offload *o = userdata;
        uint64_t now_usec = now(CLOCK_MONOTONIC);

        /* From the start each time: done() may start or cancel jobs. */
        for (;;) {
                OffloadJob *due = NULL;

                for (OffloadJob *j = o->awaited; j && !due; j = j->next)
                        if (j->deadline <= now_usec)
                                due = j;
                if (!due)
                        break;

                OffloadDone done = due->done;
                void *ud = due->userdata;
                log_warning("A blocking operation for uid %u did not finish in time; abandoning it.",
                            (unsigned) due->uid);
                job_abandon(due);
                if (done)
                        done(-ETIMEDOUT, NULL, ud);
        }
        watchdog_arm(o);
        return 0;
}

static int on_job_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Offload *o = userdata;

        for (;;) {
                OffloadJob *j;
                ssize_t n = read(fd, &j, sizeof j);
                if (n != sizeof j)
                        return 0;

                OffloadDone done = j->done;
                void *data = NULL, *ud = j->userdata;

                pthread_mutex_lock(&offload_lock);
                count_drop(o, j->uid);
                if (done) {
                        /* In time: the data goes to the callback. */
                        data = j->data;
                        j->data = NULL;
                        job_unwatch(j);
                        j->refs--; /* the loop's reference */
                }
                job_unref_locked(j); /* the thread's */
                pthread_mutex_unlock(&offload_lock);

                if (done)
                        done(0, data, ud);
        }
}

int offload_new(sd_event *event, unsigned max_per_uid, unsigned max_total, uint64_t timeout_usec, Offload **ret) {
        Offload *o;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->pipe[0] = o->pipe[1] = -EBADF;
        o->max_per_uid = max_per_uid;
        o->max_total = max_total;
        o->timeout_usec = timeout_usec;
        o->counts = calloc(max_total > 0 ? max_total : 1, sizeof(UidCount));
        if (!o->counts || pipe2(o->pipe, O_CLOEXEC) < 0) {
                r = o->counts ? -errno : -ENOMEM;
                goto fail;
        }
        /* Only the loop's end is non-blocking: a thread waits for room. */
        if (fcntl(o->pipe[0], F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &o->source, o->pipe[0], EPOLLIN, on_job_finished, o);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(event, &o->watchdog, CLOCK_MONOTONIC, UINT64_MAX, 0, on_watchdog, o);
        if (r >= 0)
                r = sd_event_source_set_enabled(o->watchdog, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        *ret = o;
        return 0;
fail:
        sd_event_source_disable_unref(o->watchdog);
        sd_event_source_disable_unref(o->source);
        safe_close(o->pipe[0]);
        safe_close(o->pipe[1]);
        free(o->counts);
        free(o);
        return r;
}

/* Idle threads exit now rather than after their wait. */
static void workers_release(void) {
        pthread_mutex_lock(&offload_lock);
        for (Worker *w = idle_workers; w; w = w->next_idle) {
                w->quit = true;
                pthread_cond_signal(&w->wake);
        }
        idle_workers = NULL;
        n_idle_workers = 0;
        pthread_mutex_unlock(&offload_lock);
}

Offload *offload_free(Offload *o) {
        if (!o)
                return NULL;
        o->source = sd_event_source_disable_unref(o->source);
        o->watchdog = sd_event_source_disable_unref(o->watchdog);
        while (o->awaited)
                job_unwatch(o->awaited);
        workers_release();
        if (o->total > 0) {
                /* Threads still running write to the pipe when they return:
                 * leave it (and them) to the process's exit. */
                log_debug("%u blocking operations still running at exit.", o->total);
                return NULL;
        }
        safe_close(o->pipe[0]);
        safe_close(o->pipe[1]);
        free(o->counts);
        free(o);
        return NULL;
}

int offload_start(Offload *o, uid_t uid, uint64_t lane, OffloadFunc fn, void *data, void (*free_data)(void *data),
                  OffloadDone done, void *userdata, OffloadJob **ret) {
        OffloadJob *j;
        UidCount *c;
        Worker *w;
        int r;

        if (o->total >= o->max_total || offload_running(o, uid) >= o->max_per_uid)
                return -EUSERS;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (OffloadJob) {
                .refs = 2, /* the loop's and the thread's */
                .uid = uid,
                .fn = fn,
                .data = data,
                .free_data = free_data,
                .done = done,
                .userdata = userdata,
                .write_fd = o->pipe[1],
        };

        pthread_mutex_lock(&offload_lock);
        w = idle_take_locked(lane);
        if (w) {
                w->job = j;
                pthread_cond_signal(&w->wake);
                r = 0;
        } else
                r = worker_start_locked(lane, j);
        if (r == 0) {
                c = count_for(o, uid);
                if (!c) {
                        c = &o->counts[o->n_counts++];
                        *c = (UidCount) { .uid = uid };
                }
                c->n++;
                o->total++;
        }
        pthread_mutex_unlock(&offload_lock);
        if (r < 0) {
                free(j); /* data not taken */
                return r;
        }

        /* The clock, not the loop's idea of now: that is from before this
         * iteration's work. */
        uint64_t now_usec = now(CLOCK_MONOTONIC);
        int enabled = SD_EVENT_OFF;
        j->deadline = o->timeout_usec > UINT64_MAX - now_usec ? UINT64_MAX - 1 : now_usec + o->timeout_usec;
        j->offload = o;
        LIST_PREPEND(o->awaited, j);
        /* Armed already, it fires no later than this deadline: every job
         * gets the same timeout. */
        (void) sd_event_source_get_enabled(o->watchdog, &enabled);
        if (enabled == SD_EVENT_OFF)
                watchdog_arm(o);
        if (ret)
                *ret = j;
        return 0;
}

void offload_cancel(OffloadJob *j) {
        if (j)
                job_abandon(j);
}
