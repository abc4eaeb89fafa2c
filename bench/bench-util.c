/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "missing-pidfd.h"

const char *bench_name = "bench";

void die(int r, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", bench_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(r < 0 ? -r : r));
        exit(EXIT_FAILURE);
}

void die_bus(int r, const sd_bus_error *e, const char *what) {
        if (e && sd_bus_error_is_set(e)) {
                fprintf(stderr, "%s: %s: %s: %s\n", bench_name, what, e->name, e->message);
                exit(EXIT_FAILURE);
        }
        die(r, "%s", what);
}

uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

double ms_since(uint64_t start) {
        return (double) (now_ns() - start) / 1e6;
}

static double time_op(void (*op)(void *), void *userdata) {
        uint64_t t = now_ns();
        op(userdata);
        return ms_since(t);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

Stats stats_of(double *v, size_t n) {
        if (n == 0)
                return (Stats) {};
        qsort(v, n, sizeof *v, cmp_double);
        return (Stats) { .p50 = v[n / 2], .p99 = v[n * 99 / 100 < n ? n * 99 / 100 : n - 1], .max = v[n - 1],
                         .valid = true };
}

Stats measure_prepared(unsigned n, void (*prepare)(void *), void (*op)(void *), void *userdata) {
        double *v = calloc(n, sizeof *v);
        if (!v)
                die(ENOMEM, "calloc");
        for (unsigned i = 0; i < (n < 20 ? 1 : 20); i++) {
                if (prepare)
                        prepare(userdata);
                op(userdata);
        }
        for (unsigned i = 0; i < n; i++) {
                if (prepare)
                        prepare(userdata);
                v[i] = time_op(op, userdata);
        }
        Stats s = stats_of(v, n);
        free(v);
        return s;
}

Stats measure(unsigned n, void (*op)(void *), void *userdata) {
        return measure_prepared(n, NULL, op, userdata);
}

void measure_interleaved(unsigned n, void (*op_a)(void *), void *a, Stats *ret_a, void (*op_b)(void *), void *b,
                         Stats *ret_b) {
        double *va = calloc(n, sizeof *va), *vb = calloc(n, sizeof *vb);
        if (!va || !vb)
                die(ENOMEM, "calloc");
        /* A handful of calls (a smoke run) warms up with one pair only. */
        uint64_t warm_end = now_ns() + (n < 20 ? 0 : 300 * 1000000ULL);
        for (unsigned i = 0; i < (n < 20 ? 1 : 20) || now_ns() < warm_end; i++) {
                op_a(a);
                op_b(b);
        }
        for (unsigned i = 0; i < n; i++) {
                va[i] = time_op(op_a, a);
                vb[i] = time_op(op_b, b);
        }
        *ret_a = stats_of(va, n);
        *ret_b = stats_of(vb, n);
        free(va);
        free(vb);
}

void wait_readable(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        int r;

        do
                r = poll(&p, 1, 30000);
        while (r < 0 && errno == EINTR);
        if (r <= 0)
                die(r < 0 ? errno : ETIMEDOUT, "poll on a pidfd");
}

void exec_true(void *userdata) {
        execve("/bin/true", (char *[]) { (char *) "/bin/true", NULL }, (char *[]) { NULL });
        _exit(127);
}

void local_clone_round_trip(uint64_t flags, _noreturn_ void (*child)(void *), void *userdata) {
        int pidfd = -1;
        struct pb_clone_args args = {
                .flags = CLONE_PIDFD | flags,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        siginfo_t si;

        pid_t pid = (pid_t) syscall(__NR_clone3, &args, sizeof args);
        if (pid < 0)
                die(errno, "clone3");
        if (pid == 0)
                child(userdata);
        wait_readable(pidfd);
        if (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                die(errno, "waitid");
        close(pidfd);
        /* A child that failed did not do what is being timed. */
        if (si.si_code != CLD_EXITED || si.si_status != 0)
                die(EIO, "the child failed (code %d, status %d)", si.si_code, si.si_status);
}

/* All CPUs' time since boot, and the idle part of it (idle + iowait), in
 * clock ticks. */
static bool cpu_ticks(uint64_t *ret_total, uint64_t *ret_idle) {
        unsigned long long t[8];
        char line[512];
        FILE *f = fopen("/proc/stat", "re");
        bool ok;

        if (!f)
                return false;
        ok = fgets(line, sizeof line, f) &&
             sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3], &t[4], &t[5],
                    &t[6], &t[7]) == 8;
        fclose(f);
        if (!ok)
                return false;
        /* user nice system idle iowait irq softirq steal; guest time is
         * counted in user already. */
        *ret_total = 0;
        for (size_t i = 0; i < 8; i++)
                *ret_total += t[i];
        *ret_idle = t[3] + t[4];
        return true;
}

/* On an idle 2-core machine a 250 ms window reads 96-100% idle (a clock
 * tick is 2% of it); the kernel destroying network namespaces or tearing
 * down processes on one core reads 40-70%. The margin is for the light
 * jobs of others on a shared machine. */
#define SETTLE_WINDOW_US (250 * 1000)
#define SETTLE_IDLE_SHARE 0.85

void settle(double timeout_s) {
        uint64_t end = now_ns() + (uint64_t) (timeout_s * 1e9);
        uint64_t total0, idle0, total1, idle1;

        if (timeout_s <= 0 || !cpu_ticks(&total0, &idle0))
                return;
        for (;;) {
                usleep(SETTLE_WINDOW_US);
                if (!cpu_ticks(&total1, &idle1))
                        return;
                if (total1 > total0 && (double) (idle1 - idle0) >= SETTLE_IDLE_SHARE * (double) (total1 - total0))
                        return;
                if (now_ns() >= end)
                        break;
                total0 = total1;
                idle0 = idle1;
        }
        printf("machine not idle after %g s, measuring anyway\n", timeout_s);
}

void print_load(const char *when) {
        double l[3];
        if (getloadavg(l, 3) == 3)
                printf("Load average %s: %.2f %.2f %.2f\n", when, l[0], l[1], l[2]);
}
