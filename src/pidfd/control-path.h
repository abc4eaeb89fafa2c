/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which handles pidbroker may use: a site setting (ControlPath= in
 * pidbroker.conf) that the daemon passes down to each call that makes a
 * handle (process_from_pid(), SpawnRequest.control_path). The lower layers
 * keep no copy of it. */

#include <stdbool.h>

typedef enum ControlPath {
        CONTROL_PATH_AUTO,   /* pidfds where the kernel has them, legacy otherwise */
        CONTROL_PATH_PIDFD,  /* pidfds only: no legacy handle is ever made (-EOPNOTSUPP) */
        CONTROL_PATH_LEGACY, /* bare pids everywhere (comparison runs) */
        _CONTROL_PATH_MAX,
} ControlPath;

const char *control_path_to_string(ControlPath c); /* "auto", "pidfd", "legacy" */
int control_path_from_string(const char *s);

/* Whether a bare-pid handle may be made when pidfds are missing. */
static inline bool control_path_allows_legacy(ControlPath c) {
        return c != CONTROL_PATH_PIDFD;
}
