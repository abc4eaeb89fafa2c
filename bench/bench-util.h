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

/* The machine may be shared: a figure means little without its load. */
void print_load(const char *when);
