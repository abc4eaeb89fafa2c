/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Spawn(aay argv, a{ss} env, a{uh} fds, a{sv} options) read off the message
 * into owned storage, with the checks that need no policy: types of every
 * option (an unknown key or a wrong variant type is an error, never ignored),
 * env names, embedded NULs, and the size and fd limits. The fds stay owned
 * by the message. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "cgroup.h"
#include "daemon-config.h"
#include "spawn.h"
#include "unit.h"

/* What a Spawn asks, read into the engine's own request (whose pointers
 * are owned here), plus what only the daemon uses. Options not given keep
 * the engine's defaults (spawn_request_init()); user, group and groups
 * default to the caller's, filled in by the handler. */
typedef struct SpawnArgs {
        SpawnRequest req;
        bool has_user, has_group, has_groups;
        char *seccomp;           /* profile name; NULL: DefaultSeccompProfile= */
        bool watch_client;
        bool has_stop_timeout;
        uint64_t stop_timeout_usec;
        KillMode kill_mode;      /* default cgroup */
        bool has_kill_mode;
        CgroupLimits limits;     /* written to the workload's unit before clone */
        bool require_pidfd;      /* refuse rather than run a workload without a pidfd */
} SpawnArgs;

void spawn_args_init(SpawnArgs *a);
void spawn_args_done(SpawnArgs *a);

int spawn_args_parse(sd_bus_message *m, const Config *config, SpawnArgs *ret, sd_bus_error *error);

/* The name of the i-th Spawn option the daemon accepts, NULL past the last:
 * for tests that every option is reachable from the clients. */
const char *spawn_args_option_name(size_t i);
