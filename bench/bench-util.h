/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the broker benchmarks share: dying with a reason, the clock, and
 * percentiles of a series of timings. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* Prefix of every message: the program's name. */
extern const char *bench_name;

_noreturn_ _printf_(2, 3) void die(int r, const char *fmt, ...);
/* The D-Bus error when there is one, else r. */
_noreturn_ void die_bus(int r, const sd_bus_error *e, const char *what);

uint64_t now_ns(void);
double ms_since(uint64_t start);

typedef struct Stats {
        double p50, p99, max; /* ms */
        bool valid;
} Stats;

/* Sorts v. */
Stats stats_of(double *v, size_t n);

/* Runs op n times after a short warm-up; each run's wall clock in ms. */
Stats measure(unsigned n, void (*op)(void *), void *userdata);
/* The same, with prepare run before each op and outside its time. */
Stats measure_prepared(unsigned n, void (*prepare)(void *), void (*op)(void *), void *userdata);
/* Two short ops measured call by call in turn, a then b, n times each,
 * after a warm-up of 20 pairs and at least 300 ms: whatever the machine
 * does meanwhile (which CPU each process wakes on, another job) falls on
 * both, so their ratio holds from run to run, where two series taken one
 * after the other gave anything from 1.3x to 3x, and the first few hundred
 * calls on a new connection ran slower than the rest. */
void measure_interleaved(unsigned n, void (*op_a)(void *), void *a, Stats *ret_a, void (*op_b)(void *), void *b,
                         Stats *ret_b);

/* Polls a pidfd until it is readable (the process exited). */
void wait_readable(int pidfd);

/* A child's body: execs /bin/true. */
_noreturn_ void exec_true(void *userdata);

/* The local floor's round trip: clone3(CLONE_PIDFD | flags), the child
 * runs child(userdata), the parent polls the pidfd until it is readable
 * and reaps. After a raw clone3 the child may make system calls only. */
void local_clone_round_trip(uint64_t flags, _noreturn_ void (*child)(void *), void *userdata);

/* Waits until the whole machine has been idle for a short window, for at
 * most timeout_s (0: not at all): what one figure leaves behind (processes
 * torn down, network namespaces destroyed by the kernel's workqueue) must
 * not be measured as part of the next. Prints a line when the timeout was
 * hit. */
void settle(double timeout_s);

/* bench-ns-floor's requests, from bench-broker: what the kernel alone
 * costs for the process structure of a namespaced Spawn. The answer is a
 * Stats. */
typedef enum NsFloor {
        NS_FLOOR_INIT,          /* an init that vforks the workload, no namespaces */
        NS_FLOOR_NAMESPACES,    /* the same in new pid, mount and net namespaces */
        NS_FLOOR_READY_NET,     /* new pid and mount, a network namespace made ahead */
        _NS_FLOOR_MAX,
} NsFloor;

typedef struct NsFloorRequest {
        uint32_t variant;       /* NsFloor */
        uint32_t iterations;
} NsFloorRequest;

/* The machine may be shared: a figure means little without its load. */
void print_load(const char *when);
