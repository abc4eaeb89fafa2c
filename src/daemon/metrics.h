/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The counters by control path and result, published as the Metrics property (a{st}).
 * Keys are "<label>.<value>": control_path.pidfd, signal_result.esrch,
 * wait_result.exited, spawns.ok, ... Every key is always present. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "process.h"

typedef enum SignalResult {
        SIGNAL_RESULT_OK,
        SIGNAL_RESULT_ESRCH,
        SIGNAL_RESULT_EPERM,
        SIGNAL_RESULT_FALLBACK, /* delivered on the legacy PID path */
        _SIGNAL_RESULT_MAX,
} SignalResult;

typedef enum WaitResult {
        WAIT_RESULT_EXITED,
        WAIT_RESULT_EAGAIN,
        WAIT_RESULT_ECHILD,
        WAIT_RESULT_ERROR,
        _WAIT_RESULT_MAX,
} WaitResult;

typedef struct Metrics {
        uint64_t spawns_ok, spawns_failed;
        uint64_t control_path_pidfd, control_path_legacy;
        uint64_t signal_result[_SIGNAL_RESULT_MAX];
        uint64_t wait_result[_WAIT_RESULT_MAX];
} Metrics;

/* One operation on p: counts its control path. */
void metrics_count_operation(Metrics *m, const Process *p);
/* The outcome r (0 or -errno) of a signal to p. */
void metrics_count_signal(Metrics *m, const Process *p, int r);
/* The outcome r (0 or -errno) of a waitid on p. */
void metrics_count_wait(Metrics *m, int r);

int metrics_append(sd_bus_message *reply, const Metrics *m);
