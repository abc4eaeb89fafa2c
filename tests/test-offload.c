/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Blocking jobs off the loop (src/daemon/offload.h): done() runs once, on
 * the loop, with the job's data; the limits per uid and in all; a finished
 * thread waits for the next job of its own lane and no other, so what a job
 * left on its thread (a seccomp filter, for spawns) never reaches a job of
 * another lane; freeing the offload lets idle threads go. */

#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "macro.h"
#include "offload.h"

typedef struct Job {
        pid_t tid;
        char name_before[16]; /* the thread's name as the job found it */
        const char *set_name; /* left on the thread, if set */
        int hold_fd;          /* read until EOF first, if >= 0 */
} Job;

typedef struct Done {
        unsigned calls;
        int r;
        Job *job;
} Done;

static void job_run(void *p) {
        Job *j = p;
        char b;

        if (j->hold_fd >= 0)
                while (read(j->hold_fd, &b, 1) > 0)
                        ;
        j->tid = gettid();
        (void) prctl(PR_GET_NAME, j->name_before, 0, 0, 0);
        if (j->set_name)
                (void) prctl(PR_SET_NAME, j->set_name, 0, 0, 0);
}

static void job_done(int r, void *data, void *userdata) {
        Done *d = userdata;

        d->calls++;
        d->r = r;
        d->job = data;
}

static unsigned threads(void) {
        g_autoptr(GDir) d = g_dir_open("/proc/self/task", 0, NULL);
        unsigned n = 0;

        g_assert_nonnull(d);
        while (g_dir_read_name(d))
                n++;
        return n;
}

static void wait_for(sd_event *e, Done *d) {
        for (int i = 0; i < 500 && d->calls == 0; i++)
                g_assert_cmpint(sd_event_run(e, 10000), >=, 0);
        g_assert_cmpuint(d->calls, ==, 1);
}

/* A thread is kept once it reported back and went to wait. */
static void wait_idle(unsigned n) {
        for (int i = 0; i < 5000 && offload_idle() != n; i++)
                g_usleep(1000);
        g_assert_cmpuint(offload_idle(), ==, n);
}

/* Run one job on lane to its end; its thread's id and name as found. */
static Job run_one(Offload *o, sd_event *e, uint64_t lane, const char *set_name) {
        Job *j = g_new0(Job, 1), result;
        Done d = {};

        *j = (Job) { .set_name = set_name, .hold_fd = -1 };
        g_assert_cmpint(offload_start(o, 1000, lane, job_run, j, g_free, job_done, &d, NULL), ==, 0);
        wait_for(e, &d);
        g_assert_cmpint(d.r, ==, 0);
        g_assert_true(d.job == j);
        result = *j;
        g_free(j);
        return result;
}

static void test_lanes(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Offload *o = NULL;

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(offload_new(e, 4, 16, 10 * G_USEC_PER_SEC, &o), ==, 0);
        unsigned before = threads();

        /* A job of lane 7 marks its thread; the next one of lane 7 finds
         * the same thread, marked. */
        Job first = run_one(o, e, 7, "lane-7");
        g_assert_cmpint(first.tid, !=, gettid());
        wait_idle(1);
        Job again = run_one(o, e, 7, NULL);
        g_assert_cmpint(again.tid, ==, first.tid);
        g_assert_cmpstr(again.name_before, ==, "lane-7");
        wait_idle(1);

        /* Lane 0 never gets that thread, idle as it is. */
        Job plain = run_one(o, e, 0, NULL);
        g_assert_cmpint(plain.tid, !=, first.tid);
        g_assert_cmpstr(plain.name_before, !=, "lane-7");
        wait_idle(2);
        g_assert_cmpuint(threads(), ==, before + 2);
        Job plain_again = run_one(o, e, 0, NULL);
        g_assert_cmpint(plain_again.tid, ==, plain.tid);
        wait_idle(2);

        /* Freed, the offload lets its idle threads go at once. */
        o = offload_free(o);
        g_assert_null(o);
        g_assert_cmpuint(offload_idle(), ==, 0);
        for (int i = 0; i < 5000 && threads() != before; i++)
                g_usleep(1000);
        g_assert_cmpuint(threads(), ==, before);
}

static void test_limits(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Offload *o = NULL;
        Done d[2] = {};
        int hold[2];

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(offload_new(e, 1, 16, 10 * G_USEC_PER_SEC, &o), ==, 0);
        g_assert_cmpint(pipe2(hold, O_CLOEXEC), ==, 0);

        Job *held = g_new0(Job, 1);
        *held = (Job) { .hold_fd = hold[0] };
        g_assert_cmpint(offload_start(o, 1000, 0, job_run, held, g_free, job_done, &d[0], NULL), ==, 0);
        g_assert_cmpuint(offload_running(o, 1000), ==, 1);
        g_assert_false(offload_has_room(o, 1000));
        g_assert_true(offload_has_room(o, 1001));

        /* The uid's one job runs: the next is refused, its data not taken. */
        Job second = { .hold_fd = -1 };
        g_assert_cmpint(offload_start(o, 1000, 0, job_run, &second, NULL, job_done, &d[1], NULL), ==, -EUSERS);
        g_assert_cmpuint(d[1].calls, ==, 0);

        close(hold[1]);
        wait_for(e, &d[0]);
        g_assert_true(d[0].job == held);
        g_free(d[0].job);
        g_assert_cmpuint(offload_running(o, 1000), ==, 0);
        g_assert_cmpuint(offload_total(o), ==, 0);
        close(hold[0]);
        offload_free(o);
}

/* A job past its deadline: done() hears -ETIMEDOUT without the data, and
 * the thread frees the data whenever it returns. */
static void test_timeout(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Offload *o = NULL;
        Done d = {};
        int hold[2];

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(offload_new(e, 4, 16, 50 * 1000, &o), ==, 0);
        g_assert_cmpint(pipe2(hold, O_CLOEXEC), ==, 0);
        Job *held = g_new0(Job, 1);
        *held = (Job) { .hold_fd = hold[0] };
        g_assert_cmpint(offload_start(o, 1000, 0, job_run, held, g_free, job_done, &d, NULL), ==, 0);
        wait_for(e, &d);
        g_assert_cmpint(d.r, ==, -ETIMEDOUT);
        g_assert_null(d.job);
        /* Abandoned, it still counts until its thread returns. */
        g_assert_cmpuint(offload_running(o, 1000), ==, 1);
        close(hold[1]);
        for (int i = 0; i < 500 && offload_running(o, 1000) > 0; i++)
                g_assert_cmpint(sd_event_run(e, 10000), >=, 0);
        g_assert_cmpuint(offload_running(o, 1000), ==, 0);
        g_assert_cmpuint(d.calls, ==, 1);
        close(hold[0]);
        offload_free(o);
}

/* One timer serves every deadline: armed for the first job, which ends in
 * time, it still ends a later job that stalls, at that job's own deadline. */
static void test_timeout_after_another(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Offload *o = NULL;
        Done quick = {}, stalled = {};
        int hold[2];

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(offload_new(e, 4, 16, 100 * 1000, &o), ==, 0);
        g_assert_cmpint(pipe2(hold, O_CLOEXEC), ==, 0);

        Job *first = g_new0(Job, 1);
        *first = (Job) { .hold_fd = -1 };
        g_assert_cmpint(offload_start(o, 1000, 0, job_run, first, g_free, job_done, &quick, NULL), ==, 0);
        wait_for(e, &quick);
        g_assert_cmpint(quick.r, ==, 0);
        g_free(quick.job);

        g_usleep(30 * 1000);
        Job *held = g_new0(Job, 1);
        *held = (Job) { .hold_fd = hold[0] };
        uint64_t start = g_get_monotonic_time();
        g_assert_cmpint(offload_start(o, 1000, 0, job_run, held, g_free, job_done, &stalled, NULL), ==, 0);
        wait_for(e, &stalled);
        g_assert_cmpint(stalled.r, ==, -ETIMEDOUT);
        /* Not at the first job's deadline: at its own. */
        g_assert_cmpint(g_get_monotonic_time() - start, >=, 100 * 1000);

        close(hold[1]);
        for (int i = 0; i < 500 && offload_running(o, 1000) > 0; i++)
                g_assert_cmpint(sd_event_run(e, 10000), >=, 0);
        g_assert_cmpuint(offload_running(o, 1000), ==, 0);
        close(hold[0]);
        offload_free(o);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/offload/lanes", test_lanes);
        g_test_add_func("/offload/limits", test_limits);
        g_test_add_func("/offload/timeout", test_timeout);
        g_test_add_func("/offload/timeout-after-another", test_timeout_after_another);
        return g_test_run();
}
