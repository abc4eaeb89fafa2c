/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The daemon's threads: the shortest slice EEVDF grants. */
#define SCHED_SLICE_NSEC (100 * 1000)

/* Ask the scheduler (EEVDF, Linux 6.12+) for a short slice for the calling
 * thread, keeping SCHED_OTHER and its nice value: its share of the CPU is
 * the same, but when it wakes it no longer waits for a busy CPU's current
 * task to use up a default slice (about a millisecond). Threads and
 * processes it starts get the default again (SCHED_FLAG_RESET_ON_FORK). 0,
 * or -errno (-EINVAL on older kernels, which leave the thread as it was). */
static inline int sched_short_slice(uint64_t slice_nsec) {
        /* <linux/sched/types.h> clashes with glibc's <sched.h>: the
         * SCHED_ATTR_SIZE_VER0 layout, as the kernel defines it. */
        struct {
                uint32_t size;
                uint32_t sched_policy;
                uint64_t sched_flags;
                int32_t sched_nice;
                uint32_t sched_priority;
                uint64_t sched_runtime;
                uint64_t sched_deadline;
                uint64_t sched_period;
        } attr = {
                .size = sizeof attr,
                .sched_policy = SCHED_OTHER,
                .sched_flags = SCHED_FLAG_RESET_ON_FORK,
                .sched_runtime = slice_nsec,
        };

        /* The slice goes with the nice value (SCHED_FLAG_KEEP_PARAMS would
         * keep the old slice too): ours, as it is. */
        errno = 0;
        attr.sched_nice = getpriority(PRIO_PROCESS, 0);
        if (errno != 0)
                return -errno;

        return syscall(SYS_sched_setattr, 0, &attr, 0) < 0 ? -errno : 0;
}
