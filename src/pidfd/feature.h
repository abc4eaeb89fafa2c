/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel feature probe. Each feature is probed on its own by trying it (never
 * by parsing the kernel version), once, and the answer is cached. Callers that
 * find a feature missing at run time (a seccomp filter installed after the
 * probe, say) report it with feature_mark_missing() so the next caller takes
 * the fallback at once. */

#include <stdbool.h>

typedef enum Feature {
        FEATURE_PIDFD_OPEN,
        FEATURE_PIDFD_SEND_SIGNAL,
        FEATURE_CLONE3,
        FEATURE_CLONE_PIDFD,
        FEATURE_WAITID_PIDFD,
        FEATURE_PIDFD_GETFD,
        FEATURE_PIDFD_NONBLOCK,
        FEATURE_PIDFD_THREAD,
        FEATURE_PIDFD_SIGNAL_SCOPE,
        FEATURE_PIDFS,
        FEATURE_PIDFD_GET_INFO,
        FEATURE_PIDFD_INFO_EXIT,
        FEATURE_PIDFD_NAMESPACE_IOCTLS,
        FEATURE_PIDFS_FILE_HANDLES,
        FEATURE_SO_PEERPIDFD,
        FEATURE_CLONE_INTO_CGROUP,
        FEATURE_CLOSE_RANGE,
        _FEATURE_MAX,
} Feature;

/* The feature's public name, e.g. "clone3". */
const char *feature_name(Feature f);
/* Parse a name back; -EINVAL when unknown. */
int feature_from_name(const char *name);

/* Probe (once) and answer. */
bool feature_available(Feature f);
/* One line saying what the probe saw, e.g. "clone3() returned a pidfd". */
const char *feature_detail(Feature f);

/* Probe every feature now (the daemon calls this at start). */
void feature_probe_all(void);
/* Record that a feature turned out missing while in use. */
void feature_mark_missing(Feature f, int err);
/* Forget every cached answer (tests, after installing a seccomp filter). */
void feature_reset(void);

/* The one place that decides whether an errno means "the kernel (or a
 * seccomp filter in front of it) does not have this": ENOSYS, EPERM from
 * seccomp, ENOTTY and EOPNOTSUPP for unknown ioctls and socket options.
 * Pass a negative or positive errno. Only call it where EPERM cannot be a
 * real permission denial. */
bool errno_is_not_supported(int err);
