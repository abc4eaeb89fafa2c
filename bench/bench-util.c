/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"

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

/* Runs op n times after a short warm-up; each run's wall clock in ms. */
Stats measure(unsigned n, void (*op)(void *), void *userdata) {
        double *v = calloc(n, sizeof *v);
        if (!v)
                die(ENOMEM, "calloc");
        for (unsigned i = 0; i < (n < 20 ? 1 : 20); i++)
                op(userdata);
        for (unsigned i = 0; i < n; i++) {
                uint64_t t = now_ns();
                op(userdata);
                v[i] = ms_since(t);
        }
        Stats s = stats_of(v, n);
        free(v);
        return s;
}

void print_load(const char *when) {
        double l[3];
        if (getloadavg(l, 3) == 3)
                printf("Load average %s: %.2f %.2f %.2f\n", when, l[0], l[1], l[2]);
}
