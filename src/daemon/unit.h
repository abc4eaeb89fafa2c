/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Workload units (src/cgroup/cgroup.h) as the daemon uses them: the subtree
 * found at setup, a unit made and limited for each Spawn before clone,
 * their controllers in Features, and units that outlive their workload
 * (kill_mode=process leaves what the main process started running) removed
 * once they are empty. */

#include <systemd/sd-bus.h>

#include "cgroup.h"
#include "manager.h"

/* How Stop (and watch_client, and the end of the main process) treats the
 * workload: the whole unit, or the main process alone. A workload without
 * a unit of its own is always stopped by process. */
typedef enum KillMode {
        KILL_MODE_CGROUP,
        KILL_MODE_PROCESS,
        _KILL_MODE_MAX,
} KillMode;

const char *kill_mode_to_string(KillMode k);
int kill_mode_from_string(const char *s);

/* The subtree workload units go under (cgroup_subtree_open()); without a
 * usable cgroup2, one warning and none: workloads then have no unit. */
void manager_open_units(Manager *m);
/* Lingering units are let go (their directories stay); the subtree is
 * closed. */
void manager_close_units(Manager *m);

/* A unit for a Spawn, with its limits written, before clone: *ret is
 * CGROUP_UNIT_NULL when the daemon has no subtree (and no limits are
 * asked). -EOPNOTSUPP with *ret_missing when a limit's controller is not
 * enabled; nothing is left behind on failure. */
int unit_create_for_spawn(Manager *m, const CgroupLimits *limits, CgroupUnit *ret, CgroupLimit *ret_missing);
/* Whether every limit asked has its controller enabled in the subtree:
 * checked before the policy and the record; *ret_missing names the first
 * that has not. */
bool unit_limits_supported(Manager *m, const CgroupLimits *limits, CgroupLimit *ret_missing);

/* org.pidbroker.Error.NotSupported naming the limit and its controller. */
int unit_limit_not_supported(Manager *m, CgroupLimit l, sd_bus_error *error);

/* A live workload holds one fd, its pidfd: its unit's directory fd is
 * closed once it is born in it (path and id kept), and opened again, and
 * checked to be the same directory, when the unit is acted on. */
void unit_close_fd(CgroupUnit *u);
int unit_reopen(Manager *m, CgroupUnit *u);
/* Remove u's directory if it is empty, by its name under the subtree and
 * without opening it: 0 (its fd closed, its path kept for the record), or
 * -EBUSY while processes or sub-cgroups are left, or -errno. */
int unit_remove_if_empty(Manager *m, CgroupUnit *u);

/* Remove u's directory now if it is empty, else once it is (watched on
 * cgroup.events). u is taken in either case. */
void manager_forget_unit(Manager *m, CgroupUnit *u);

/* Watch fd (of cgroup_unit_open_events(), taken) for changes of
 * "populated"; the callback reads it with cgroup_events_read_populated(). */
int unit_watch_events(Manager *m, int fd, sd_event_io_handler_t callback, void *userdata, sd_event_source **ret);

/* Features entries beyond the kernel's: cgroup_units and cgroup_<controller>. */
int unit_append_features(Manager *m, sd_bus_message *reply);
